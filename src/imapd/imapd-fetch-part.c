/* Where a FETCH section lies in a body file: the MIME tree walked by its boundaries exactly as
 * the store's BODYSTRUCTURE walks it (store/store-mime.c), so BODY[n] has the octet count
 * BODYSTRUCTURE gave; read line by line in bounded rounds, never the whole file at once. */
#include <errno.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imapd-fetch.h"
#include "store-mime.h"

#define PART_HEADER_KEPT 65536 /* header octets kept to read Content-Type and friends from */
#define PART_LINE_SEEN   1024  /* of a longer line, the start is enough to judge it */

/* A line reader over [pos, end) of a file. */
struct part_reader {
    int fd;
    uint64_t end;
    uint64_t off; /* file offset of buf[0] */
    size_t len, pos;
    char buf[IMAP_FETCH_CHUNK];
    char longline[PART_LINE_SEEN];
    int err;
};

/* One line: its file offset and length (with its LF), the octets visible (all of a line that
 * fits the buffer, else its start), and whether it ends in CRLF. */
struct part_line {
    uint64_t start, full;
    const char *p;
    size_t n;
    bool crlf;
};

static void reader_init(struct part_reader *r, int fd, uint64_t start, uint64_t end)
{
    r->fd = fd;
    r->end = end;
    r->off = start;
    r->len = r->pos = 0;
    r->err = 0;
}

/* Reads more after buf[len); returns the octets read (0 at the end of the range). */
static size_t reader_fill(struct part_reader *r)
{
    uint64_t at = r->off + r->len;
    size_t want = sizeof(r->buf) - r->len;
    ssize_t n;

    if (at >= r->end || want == 0)
        return 0;
    if (want > r->end - at)
        want = (size_t)(r->end - at);
    do
        n = pread(r->fd, r->buf + r->len, want, (off_t)at);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        r->err = n < 0 ? errno : EIO; /* the file is shorter than its record says */
        return 0;
    }
    r->len += (size_t)n;
    return (size_t)n;
}

static bool reader_line(struct part_reader *r, struct part_line *l)
{
    if (r->off + r->pos >= r->end || r->err != 0)
        return false;
    for (;;) {
        char *nl = memchr(r->buf + r->pos, '\n', r->len - r->pos);
        if (nl != NULL) {
            size_t k = (size_t)(nl - r->buf);
            *l = (struct part_line){r->off + r->pos, k + 1 - r->pos, r->buf + r->pos,
                                    k + 1 - r->pos, k > r->pos && nl[-1] == '\r'};
            r->pos = k + 1;
            return true;
        }
        if (r->pos > 0) {
            memmove(r->buf, r->buf + r->pos, r->len - r->pos);
            r->off += r->pos;
            r->len -= r->pos;
            r->pos = 0;
        }
        if (r->len == sizeof(r->buf))
            break; /* a line longer than the buffer */
        if (reader_fill(r) == 0) {
            if (r->err != 0 || r->len == 0)
                return r->len > 0;
            /* the last line, without LF */
            *l = (struct part_line){r->off, r->len, r->buf, r->len,
                                    r->len > 1 && r->buf[r->len - 2] == '\r'};
            r->pos = r->len;
            return true;
        }
    }
    /* keep the start of the long line, then read on to its end */
    memcpy(r->longline, r->buf, sizeof(r->longline));
    uint64_t start = r->off;
    char last = r->buf[r->len - 1];
    for (;;) {
        r->off += r->len;
        r->len = 0;
        if (reader_fill(r) == 0) {
            if (r->err != 0)
                return false;
            *l = (struct part_line){start, r->off - start, r->longline, sizeof(r->longline), false};
            return true;
        }
        char *nl = memchr(r->buf, '\n', r->len);
        if (nl != NULL) {
            size_t k = (size_t)(nl - r->buf);
            bool crlf = k > 0 ? nl[-1] == '\r' : last == '\r';
            r->pos = k + 1;
            *l = (struct part_line){start, r->off + r->pos - start, r->longline,
                                    sizeof(r->longline), crlf};
            return true;
        }
        last = r->buf[r->len - 1];
    }
}

/* ---- one MIME entity ---- */

enum node_kind { NODE_LEAF, NODE_MULTIPART, NODE_RFC822 };

struct node {
    uint64_t start, end; /* the entity */
    uint64_t he, bs;     /* its header lines end at he; its body starts at bs */
    enum node_kind kind;
    bool digest; /* multipart/digest: parts default to message/rfc822 */
    enum imap_cte cte;
    char *boundary;
    int depth;
};

/* The first field called name in hdr, unfolded and trimmed; NULL when absent (caller frees). */
static char *header_get(const char *h, size_t len, const char *name)
{
    size_t nlen = strlen(name), p = 0;

    while (p < len) {
        const char *nl = memchr(h + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - h) + 1 : len;
        if (e - p > nlen && h[p] != ' ' && h[p] != '\t' && h[p + nlen] == ':' &&
            strncasecmp(h + p, name, nlen) == 0) {
            char *v = malloc(len - p + 1);
            size_t o = 0, q = p + nlen + 1;
            if (v == NULL)
                return NULL;
            for (;;) {
                for (; q < e; q++)
                    if (h[q] != '\r' && h[q] != '\n')
                        v[o++] = h[q];
                if (e >= len || (h[e] != ' ' && h[e] != '\t'))
                    break;
                nl = memchr(h + e, '\n', len - e);
                e = nl ? (size_t)(nl - h) + 1 : len;
            }
            while (o > 0 && (v[o - 1] == ' ' || v[o - 1] == '\t'))
                o--;
            v[o] = '\0';
            size_t lead = strspn(v, " \t");
            memmove(v, v + lead, o - lead + 1);
            return v;
        }
        p = e;
    }
    return NULL;
}

static enum imap_cte cte_of(const char *v)
{
    size_t n;

    if (v == NULL)
        return IMAP_CTE_IDENTITY;
    n = strcspn(v, " \t(;");
    if (n == 0)
        return IMAP_CTE_IDENTITY;
    if (n == 6 && strncasecmp(v, "base64", 6) == 0)
        return IMAP_CTE_BASE64;
    if (n == 16 && strncasecmp(v, "quoted-printable", 16) == 0)
        return IMAP_CTE_QP;
    if ((n == 4 && strncasecmp(v, "7bit", 4) == 0) || (n == 4 && strncasecmp(v, "8bit", 4) == 0) ||
        (n == 6 && strncasecmp(v, "binary", 6) == 0))
        return IMAP_CTE_IDENTITY;
    return IMAP_CTE_UNKNOWN;
}

static void node_clear(struct node *n)
{
    free(n->boundary);
    n->boundary = NULL;
}

/* Reads the entity's header: where it ends, its type (as store-mime.c's part() decides it). */
static int node_read(struct part_reader *r, int fd, uint64_t start, uint64_t end,
                     bool default_message, int depth, struct node *n)
{
    struct part_line l;
    char *hdr = malloc(PART_HEADER_KEPT);
    size_t hlen = 0;

    *n = (struct node){.start = start, .end = end, .he = end, .bs = end, .depth = depth};
    if (hdr == NULL)
        return -1;
    reader_init(r, fd, start, end);
    while (reader_line(r, &l)) {
        if ((l.full == 1 && l.p[0] == '\n') || (l.full == 2 && l.p[0] == '\r' && l.p[1] == '\n')) {
            n->he = l.start;
            n->bs = l.start + l.full;
            break;
        }
        size_t k = l.n < PART_HEADER_KEPT - hlen ? l.n : PART_HEADER_KEPT - hlen;
        memcpy(hdr + hlen, l.p, k);
        hlen += k;
    }
    if (r->err != 0) {
        free(hdr);
        return -1;
    }
    char *ctv = header_get(hdr, hlen, "content-type");
    char *enc = header_get(hdr, hlen, "content-transfer-encoding");
    GMimeContentType *ct = ctv && *ctv ? g_mime_content_type_parse(NULL, ctv) : NULL;
    const char *type = "text", *sub = "plain", *bnd = NULL;
    if (ct != NULL) {
        type = g_mime_content_type_get_media_type(ct);
        sub = g_mime_content_type_get_media_subtype(ct);
        if (type == NULL || sub == NULL) {
            type = "text";
            sub = "plain";
        }
        bnd = g_mime_content_type_get_parameter(ct, "boundary");
    } else if (default_message) {
        type = "message";
        sub = "rfc822";
    }
    n->cte = cte_of(enc);
    if (ct != NULL && strcasecmp(type, "multipart") == 0 && bnd != NULL && *bnd != '\0' &&
        depth < STORE_MIME_MAX_DEPTH) {
        n->kind = NODE_MULTIPART;
        n->digest = strcasecmp(sub, "digest") == 0;
        n->boundary = strdup(bnd);
    } else if (strcasecmp(type, "message") == 0 && strcasecmp(sub, "rfc822") == 0 &&
               n->cte != IMAP_CTE_BASE64 && n->cte != IMAP_CTE_QP && depth < STORE_MIME_MAX_DEPTH) {
        n->kind = NODE_RFC822;
    }
    if (ct != NULL)
        g_object_unref(ct);
    free(ctv);
    free(enc);
    free(hdr);
    return n->kind == NODE_MULTIPART && n->boundary == NULL ? -1 : 0;
}

/* "--boundary" or "--boundary--" with optional trailing blanks (RFC 2046 5.1.1). */
static bool is_delimiter(const struct part_line *l, const char *bnd, size_t blen, bool *close)
{
    size_t q = 2 + blen;

    if (l->n < q || l->p[0] != '-' || l->p[1] != '-' || memcmp(l->p + 2, bnd, blen) != 0)
        return false;
    if (l->n < l->full)
        return false; /* a longer line than a delimiter with blanks ever is */
    *close = q + 1 < l->n && l->p[q] == '-' && l->p[q + 1] == '-';
    if (*close)
        q += 2;
    for (; q < l->n; q++)
        if (l->p[q] != ' ' && l->p[q] != '\t' && l->p[q] != '\r' && l->p[q] != '\n')
            return false;
    return true;
}

/* Part want (1-based) of multipart m: 1 with its range, 0 when m has fewer, -1 on error. */
static int multipart_nth(struct part_reader *r, const struct node *m, uint32_t want, uint64_t *s_r,
                         uint64_t *e_r)
{
    struct part_line l;
    size_t blen = strlen(m->boundary);
    uint64_t part_start = 0, prev_end = 0;
    bool in_part = false, close = false, prev_crlf = false;
    uint32_t count = 0;

    reader_init(r, r->fd, m->bs, m->end);
    while (!close && reader_line(r, &l)) {
        if (is_delimiter(&l, m->boundary, blen, &close)) {
            if (in_part && ++count == want) {
                /* the line break before a delimiter belongs to the delimiter */
                uint64_t pe = l.start;
                if (pe > part_start && prev_end == l.start) {
                    pe--;
                    if (pe > part_start && prev_crlf)
                        pe--;
                }
                *s_r = part_start;
                *e_r = pe;
                return 1;
            }
            in_part = !close;
            part_start = l.start + l.full;
        }
        prev_end = l.start + l.full;
        prev_crlf = l.crlf;
    }
    if (r->err != 0)
        return -1;
    if ((in_part && ++count == want) || (count == 0 && want == 1)) {
        /* no closing delimiter: the last part runs to the end; no part at all: an empty one
         * stands in, as in BODYSTRUCTURE */
        *s_r = in_part ? part_start : m->end;
        *e_r = m->end;
        return 1;
    }
    return 0;
}

/* Child want of n, in place: of a message (top level or encapsulated) when as_message, else
 * of a body part. 1 when found, 0 when not, -1 on error. */
static int node_child(struct part_reader *r, int fd, struct node *n, uint32_t want, bool as_message)
{
    uint64_t s, e;
    int rc;

    if (n->kind == NODE_RFC822 && !as_message) {
        struct node m;
        if (node_read(r, fd, n->bs, n->end, false, n->depth + 1, &m) < 0)
            return -1;
        node_clear(n);
        *n = m;
        return node_child(r, fd, n, want, true);
    }
    if (n->kind != NODE_MULTIPART)
        return as_message && want == 1; /* a message that is not multipart has a part 1 */
    rc = multipart_nth(r, n, want, &s, &e);
    if (rc <= 0)
        return rc;
    bool digest = n->digest;
    int depth = n->depth + 1;
    node_clear(n);
    return node_read(r, fd, s, e, digest, depth, n) < 0 ? -1 : 1;
}

int imap_part_locate(int fd, uint64_t size, uint64_t header_size, const struct imap_section *sec,
                     struct imap_part_loc *loc_r)
{
    bool binary = sec->item >= IMAP_FETCH_BINARY;
    struct part_reader *r;
    struct node n;
    int rc = 0;

    *loc_r = (struct imap_part_loc){.found = true, .filter = IMAP_FILTER_RAW};
    if (header_size > size)
        header_size = size;
    /* the plain forms need no reading: the store knows where the header ends */
    if (sec->nparts == 0 && !binary && sec->text != IMAP_SECTION_HEADER_FIELDS &&
        sec->text != IMAP_SECTION_HEADER_FIELDS_NOT) {
        loc_r->start = sec->text == IMAP_SECTION_TEXT ? header_size : 0;
        loc_r->end = sec->text == IMAP_SECTION_HEADER ? header_size : size;
        return 0;
    }
    /* HEADER.FIELDS of the message: only where its blank line starts needs a look */
    if (sec->nparts == 0 && !binary) {
        char t[3] = {0};
        size_t k = header_size < 3 ? (size_t)header_size : 3;
        if (k > 0 && pread(fd, t + 3 - k, k, (off_t)(header_size - k)) != (ssize_t)k)
            return -1;
        loc_r->end = header_size;
        /* a blank line starts the file or follows a LF (store-mime.c's split_headers) */
        if (t[2] == '\n' && t[1] == '\r' && (header_size == 2 || t[0] == '\n'))
            loc_r->end = header_size - 2;
        else if (t[2] == '\n' && (header_size == 1 || t[1] == '\n'))
            loc_r->end = header_size - 1;
        loc_r->filter =
            sec->text == IMAP_SECTION_HEADER_FIELDS ? IMAP_FILTER_FIELDS : IMAP_FILTER_FIELDS_NOT;
        return 0;
    }
    if ((r = malloc(sizeof(*r))) == NULL)
        return -1;
    r->fd = fd;
    if (node_read(r, fd, 0, size, false, 0, &n) < 0) {
        free(r);
        return -1;
    }
    for (unsigned i = 0; i < sec->nparts && rc >= 0; i++) {
        rc = node_child(r, fd, &n, sec->parts[i], i == 0);
        if (rc == 0) {
            loc_r->found = false;
            goto out;
        }
    }
    if (rc < 0)
        goto out;
    if (binary) {
        loc_r->cte = n.cte;
        loc_r->filter = n.cte == IMAP_CTE_BASE64 ? IMAP_FILTER_BASE64
                        : n.cte == IMAP_CTE_QP   ? IMAP_FILTER_QP
                                                 : IMAP_FILTER_RAW;
        /* BINARY[] is the message with its header as stored and its body decoded */
        loc_r->start = sec->nparts == 0 ? 0 : n.bs;
        loc_r->raw_prefix = sec->nparts == 0 ? n.bs : 0;
        loc_r->end = n.end;
        goto out;
    }
    if (sec->text == IMAP_SECTION_MIME) {
        loc_r->start = n.start;
        loc_r->end = n.bs;
        goto out;
    }
    if (sec->text == IMAP_SECTION_WHOLE) { /* a part's content */
        loc_r->start = n.bs;
        loc_r->end = n.end;
        goto out;
    }
    if (sec->nparts > 0) { /* HEADER, TEXT, FIELDS of an encapsulated message */
        struct node m;
        if (n.kind != NODE_RFC822) {
            loc_r->found = false;
            goto out;
        }
        if (node_read(r, fd, n.bs, n.end, false, n.depth + 1, &m) < 0) {
            rc = -1;
            goto out;
        }
        node_clear(&n);
        n = m;
    }
    switch (sec->text) {
    case IMAP_SECTION_HEADER:
        loc_r->start = n.start;
        loc_r->end = n.bs;
        break;
    case IMAP_SECTION_TEXT:
        loc_r->start = n.bs;
        loc_r->end = n.end;
        break;
    default: /* the header lines without the blank line; the filter adds one */
        loc_r->start = n.start;
        loc_r->end = n.he;
        loc_r->filter =
            sec->text == IMAP_SECTION_HEADER_FIELDS ? IMAP_FILTER_FIELDS : IMAP_FILTER_FIELDS_NOT;
        break;
    }
out:
    node_clear(&n);
    free(r);
    if (!loc_r->found)
        loc_r->start = loc_r->end = 0;
    return rc < 0 ? -1 : 0;
}
