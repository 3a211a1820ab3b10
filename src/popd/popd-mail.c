/* POP3's transaction and update states (RFC 1939 sections 5 and 6): listings, RETR and TOP
 * streamed from the body file with dot-stuffing, deletions only at QUIT. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "popd.h"

#define POPD_CHUNK 65536 /* body bytes read per round of output */

/* The message a number argument names, or NULL after replying -ERR. */
static struct pop_msg *popd_msg_arg(struct pop_session *s, const struct pop_arg *arg)
{
    unsigned long n = pop_parse_number(arg, s->nmsgs);

    if (n == 0 || s->msgs[n - 1].deleted) {
        conn_puts(s->conn, "-ERR No such message\r\n");
        return NULL;
    }
    return &s->msgs[n - 1];
}

/* UIDL: the IMAP UID and UIDVALIDITY of INBOX, in Dovecot's default form (%08Xu%08Xv), so
 * clients moving from Dovecot do not download everything again. */
static void popd_write_uidl(struct pop_session *s, unsigned long n, const char *prefix)
{
    conn_printf(s->conn, "%s%lu %08X%08X\r\n", prefix, n, (unsigned)s->msgs[n - 1].uid,
                (unsigned)s->uidvalidity);
}

static void popd_stat(struct pop_session *s)
{
    unsigned long count = 0;
    unsigned long long octets = 0;

    for (unsigned long i = 0; i < s->nmsgs; i++) {
        if (!s->msgs[i].deleted) {
            count++;
            octets += s->msgs[i].size;
        }
    }
    conn_printf(s->conn, "+OK %lu %llu\r\n", count, octets);
}

static void popd_list(struct pop_session *s, const struct pop_cmd *cmd, bool uidl)
{
    if (cmd->nargs == 1) {
        struct pop_msg *m = popd_msg_arg(s, &cmd->args[0]);
        if (m == NULL)
            return;
        unsigned long n = (unsigned long)(m - s->msgs) + 1;
        if (uidl)
            popd_write_uidl(s, n, "+OK ");
        else
            conn_printf(s->conn, "+OK %lu %llu\r\n", n, (unsigned long long)m->size);
        return;
    }
    conn_puts(s->conn, uidl ? "+OK Unique-ID listing follows\r\n" : "+OK Scan listing follows\r\n");
    for (unsigned long i = 0; i < s->nmsgs; i++) {
        if (s->msgs[i].deleted)
            continue;
        if (uidl)
            popd_write_uidl(s, i + 1, "");
        else
            conn_printf(s->conn, "%lu %llu\r\n", i + 1, (unsigned long long)s->msgs[i].size);
    }
    conn_puts(s->conn, ".\r\n");
}

static void popd_stream_end(struct pop_session *s)
{
    if (!s->at_bol)
        conn_puts(s->conn, "\r\n");
    conn_puts(s->conn, ".\r\n");
    close(s->body_fd);
    s->body_fd = -1;
    conn_set_busy(s->conn, false);
}

/* Copies in[0..n) to out with dot-stuffing (RFC 1939 section 3: a line that starts with '.'
 * gets another), keeping the line state across chunks; stops where TOP's lines run out.
 * Returns the input octets used; *o_r gets the output octets, at most 2 n (a line is at
 * least one octet and grows by at most one). */
static size_t popd_stuff(struct pop_session *s, const char *in, size_t n, char *out, size_t *o_r)
{
    const char *p = in, *end = in + n, *run = in; /* run: input not yet copied */
    size_t o = 0;

    while (p < end) {
        if (s->at_bol) {
            if (!s->in_header && s->top_lines == 0)
                break;
            if (*p == '.') { /* copy what came before, then the extra dot */
                memcpy(out + o, run, (size_t)(p - run));
                o += (size_t)(p - run);
                out[o++] = '.';
                run = p;
            }
            s->at_bol = false;
            s->line_len = 0;
        }
        if (!s->in_header && s->top_lines < 0) {
            /* RETR's body: only a '.' after a line end matters, so jump from one to the next */
            const char *hit = memmem(p, (size_t)(end - p), "\n.", 2);
            if (hit == NULL) {
                p = end;
                s->at_bol = end[-1] == '\n';
                break;
            }
            p = hit + 1;
            s->at_bol = true;
            continue;
        }
        /* the header, or TOP's body: line by line, as lines are counted */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        s->line_len =
            s->line_len + len > 3 ? 3 : s->line_len + (unsigned)len; /* only <= 2 counts */
        p += len;
        if (nl == NULL)
            break;
        s->at_bol = true;
        if (s->in_header && s->line_len <= 2) /* "\r\n": the header's end */
            s->in_header = false;
        else if (!s->in_header && s->top_lines > 0)
            s->top_lines--;
    }
    memcpy(out + o, run, (size_t)(p - run));
    o += (size_t)(p - run);
    *o_r = o;
    return (size_t)(p - in);
}

/* Sends the next chunk, dot-stuffed; TOP stops after the header and top_lines body lines. */
void popd_stream_more(struct pop_session *s)
{
    char in[POPD_CHUNK], out[POPD_CHUNK * 2];
    size_t o = 0;
    ssize_t n;

    if (s->body_fd < 0)
        return;
    n = pread(s->body_fd, in, sizeof(in), (off_t)s->body_off);
    if (n < 0 && errno == EINTR)
        return;
    if (n < 0) {
        /* the status line is out: all that is left is to end the connection honestly */
        conn_warning(s->conn, "reading a message failed: %s", strerror(errno));
        close(s->body_fd);
        s->body_fd = -1;
        conn_close(s->conn);
        return;
    }
    s->body_off += popd_stuff(s, in, (size_t)n, out, &o);
    conn_write(s->conn, out, o);
    if (n == 0 || s->body_off >= s->body_size || (!s->in_header && s->top_lines == 0 && s->at_bol))
        popd_stream_end(s);
}

static void popd_retr(struct pop_session *s, const struct pop_cmd *cmd, bool top)
{
    struct store_error err;
    struct store_msg m = {0};
    long lines = -1;

    if (cmd->nargs != (top ? 2u : 1u)) {
        conn_puts(s->conn, top ? "-ERR Usage: TOP msg lines\r\n" : "-ERR Usage: RETR msg\r\n");
        return;
    }
    struct pop_msg *pm = popd_msg_arg(s, &cmd->args[0]);
    if (pm == NULL)
        return;
    if (top) {
        struct pop_arg a = cmd->args[1];
        lines = a.len == 1 && a.s[0] == '0' ? 0 : (long)pop_parse_number(&a, 1000000000UL);
        if (lines == 0 && !(a.len == 1 && a.s[0] == '0')) {
            conn_puts(s->conn, "-ERR Bad line count\r\n");
            return;
        }
    }
    /* body files are immutable and named at login: no index read per message */
    m.uid = pm->uid;
    m.size = pm->size;
    m.body_mailbox = pm->body_mailbox;
    m.body_uid = pm->body_uid;
    if (store_msg_open(popd_store(), s->user, &m, &s->body_fd, &err) != STORE_OK) {
        /* expunged by an IMAP session meanwhile (ENOENT), or the store is unwell */
        conn_notice(s->conn, "UID %u cannot be read: %s", pm->uid, err.msg);
        conn_puts(s->conn, err.code == STORE_ENOTFOUND ? "-ERR Message was removed meanwhile\r\n"
                                                       : "-ERR [SYS/TEMP] Cannot read message\r\n");
        return;
    }
    s->body_off = 0;
    s->body_size = pm->size;
    s->top_lines = lines;
    s->in_header = true;
    s->at_bol = true;
    if (!top)
        pm->retrieved = true;
    conn_printf(s->conn, "+OK %llu octets\r\n", (unsigned long long)pm->size);
    conn_set_busy(s->conn, true);
    popd_stream_more(s);
}

/* --- UPDATE: QUIT files what the session did --- */

static void popd_update_work(void *arg)
{
    struct pop_session *s = arg;
    uint32_t *del = calloc(s->nmsgs + 1, sizeof(*del)), *seen = calloc(s->nmsgs + 1, sizeof(*seen));
    size_t ndel = 0, nseen = 0;
    struct store_flag_update up = {.op = STORE_FLAGS_ADD};

    s->rc = STORE_OK;
    if (del == NULL || seen == NULL) {
        s->rc = STORE_EIO;
        goto out;
    }
    for (unsigned long i = 0; i < s->nmsgs; i++) {
        if (s->msgs[i].deleted)
            del[ndel++] = s->msgs[i].uid;
        else if (s->msgs[i].retrieved && !s->msgs[i].seen) /* no write when nothing changes */
            seen[nseen++] = s->msgs[i].uid;
    }
    /* what POP retrieved shows as read in IMAP, as clients expect from a shared INBOX */
    if (nseen > 0) {
        up.flags = STORE_FLAG_SEEN;
        s->rc = store_flags_update(popd_store(), s->user, s->mailbox_id, seen, nseen, &up, NULL,
                                   NULL, NULL, NULL, &s->err);
    }
    if (ndel > 0 && s->rc == STORE_OK) {
        up.flags = STORE_FLAG_DELETED;
        s->rc = store_flags_update(popd_store(), s->user, s->mailbox_id, del, ndel, &up, NULL, NULL,
                                   NULL, NULL, &s->err);
        if (s->rc == STORE_OK)
            s->rc =
                store_expunge(popd_store(), s->user, s->mailbox_id, del, ndel, NULL, NULL, &s->err);
    }
out:
    free(del);
    free(seen);
}

static void popd_update_done(void *arg)
{
    struct pop_session *s = arg;
    unsigned long ndel = 0;

    for (unsigned long i = 0; i < s->nmsgs; i++)
        ndel += s->msgs[i].deleted;
    if (s->rc != STORE_OK) {
        conn_warning(s->conn, "QUIT: deletions not made: %s", s->err.msg);
        conn_puts(s->conn, "-ERR [SYS/TEMP] Some deleted messages not removed\r\n");
    } else {
        conn_info(s->conn, "logged out: %lu messages deleted", ndel);
        conn_printf(s->conn, "+OK Bye (%lu messages deleted)\r\n", ndel);
    }
    popd_maildrop_release(s);
    conn_close(s->conn);
}

void popd_update(struct pop_session *s)
{
    s->state = POP_UPDATE;
    if (conn_submit(s->conn, popd_update_work, popd_update_done, s) < 0) {
        conn_puts(s->conn, "-ERR [SYS/TEMP] Server busy; nothing deleted\r\n");
        popd_maildrop_release(s);
        conn_close(s->conn);
    }
}

void popd_maildrop_release(struct pop_session *s)
{
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    s->lock_fd = -1;
    if (s->body_fd >= 0)
        close(s->body_fd);
    s->body_fd = -1;
    free(s->msgs);
    s->msgs = NULL;
    s->nmsgs = 0;
}

bool popd_mail_command(struct pop_session *s, const struct pop_cmd *cmd)
{
    const char *k = cmd->keyword;

    if (strcmp(k, "STAT") == 0) {
        popd_stat(s);
    } else if (strcmp(k, "LIST") == 0 || strcmp(k, "UIDL") == 0) {
        if (cmd->nargs > 1)
            conn_printf(s->conn, "-ERR Usage: %s [msg]\r\n", k);
        else
            popd_list(s, cmd, k[0] == 'U');
    } else if (strcmp(k, "RETR") == 0 || strcmp(k, "TOP") == 0) {
        popd_retr(s, cmd, k[0] == 'T');
    } else if (strcmp(k, "DELE") == 0) {
        struct pop_msg *m = cmd->nargs == 1 ? popd_msg_arg(s, &cmd->args[0]) : NULL;
        if (cmd->nargs != 1)
            conn_puts(s->conn, "-ERR Usage: DELE msg\r\n");
        else if (m != NULL) {
            m->deleted = true;
            conn_printf(s->conn, "+OK Message %lu deleted\r\n", (unsigned long)(m - s->msgs) + 1);
        }
    } else if (strcmp(k, "RSET") == 0) {
        for (unsigned long i = 0; i < s->nmsgs; i++)
            s->msgs[i].deleted = false;
        popd_stat(s);
    } else if (strcmp(k, "NOOP") == 0) {
        conn_puts(s->conn, "+OK\r\n");
    } else {
        return false;
    }
    return true;
}
