/* Sending one round of a FETCH reply on the event loop as the client reads it: formatted text
 * in pieces, and body stretches read from their files IMAP_FETCH_CHUNK octets at a time through
 * their filter (style.md practice 9), so a large body never sits in memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imapd-fetch.h"
#include "imapd.h"

void imap_fetch_batch_free(struct imap_fetch_batch **b)
{
    if (*b == NULL)
        return;
    for (size_t i = 0; i < (*b)->nfds; i++)
        close((*b)->fds[i]);
    free((*b)->fds);
    free((*b)->segs);
    free((*b)->text);
    free((*b)->io);
    free(*b);
    *b = NULL;
}

/* The next piece of one stretch: 1 when more is to come, 0 at its end, -1 when it fails. */
static int fetch_seg_send(struct imap_session *s, struct imap_fetch_seg *g, char *in)
{
    char *out = in + IMAP_FETCH_CHUNK;
    size_t o = 0;
    ssize_t n = 0;

    if (g->off < g->end) {
        size_t want =
            g->end - g->off < IMAP_FETCH_CHUNK ? (size_t)(g->end - g->off) : IMAP_FETCH_CHUNK;
        do
            n = pread(g->fd, in, want, (off_t)g->off);
        while (n < 0 && errno == EINTR);
        if (n <= 0) { /* the file shrank or failed: the literal cannot be completed */
            conn_warning(s->conn, "FETCH: reading a message failed: %s",
                         n < 0 ? strerror(errno) : "file shorter than recorded");
            return -1;
        }
        g->off += (size_t)n;
        o = imap_filter_step(&g->filter, in, (size_t)n, out);
    }
    if (g->off >= g->end)
        o += imap_filter_finish(&g->filter, out + o);
    /* the partial range applies to what the filter makes */
    size_t skip = g->skip < o ? (size_t)g->skip : o;
    g->skip -= skip;
    size_t k = o - skip < g->left ? o - skip : (size_t)g->left;
    if (k > 0 && conn_write(s->conn, out + skip, k) < 0)
        return -1;
    g->left -= k;
    if (g->left == 0)
        return 0;
    if (g->off >= g->end) {
        conn_warning(s->conn, "FETCH: a message changed under a literal");
        return -1;
    }
    return 1;
}

int imap_fetch_batch_send(struct imap_session *s, struct imap_fetch_batch *b)
{
    size_t upto = b->cur < b->nsegs ? b->segs[b->cur].text_end : b->len;

    if (b->sent < upto) {
        size_t k = upto - b->sent < IMAP_FETCH_CHUNK ? upto - b->sent : IMAP_FETCH_CHUNK;
        if (conn_write(s->conn, b->text + b->sent, k) < 0)
            return -1;
        b->sent += k;
        return 1;
    }
    if (b->cur == b->nsegs)
        return 0;
    if (b->io == NULL &&
        (b->io = malloc(IMAP_FETCH_CHUNK + IMAP_FILTER_OUT_MAX(IMAP_FETCH_CHUNK))) == NULL) {
        conn_close(s->conn);
        return -1;
    }
    /* the skipped start of a partial, or fields not asked for, make no output: read on, since
     * a round that writes nothing ends the drain loop */
    struct imap_fetch_seg *g = &b->segs[b->cur];
    uint64_t before = g->left;
    int rc;
    do
        rc = fetch_seg_send(s, g, b->io);
    while (rc == 1 && g->left == before);
    if (rc < 0) {
        conn_close(s->conn); /* a literal that cannot be completed ends the connection */
        return -1;
    }
    if (rc == 0)
        b->cur++;
    return 1;
}
