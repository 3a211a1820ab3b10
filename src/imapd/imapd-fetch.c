/* FETCH and UID FETCH (RFC 3501 6.4.5, RFC 3516 BINARY): each message's attributes are
 * formatted on a pool thread in rounds of a few messages; body sections are located in the body
 * file and either copied in (small ones) or left as stretches the event loop streams from the
 * file as the client reads (imapd-fetch-stream.c). The next round is made only when the last
 * has gone out, so replies keep their order and no thread waits for a slow client. */
#include <errno.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "imapd-args.h"
#include "imapd-fetch.h"
#include "imapd.h"

/* A section of at most this many stored octets is copied into the reply; a larger one streams. */
#define IMAP_FETCH_INLINE (64u * 1024)
/* A round ends once its formatted text reaches this size or it holds this many open files. */
#define IMAP_FETCH_ROUND_TEXT  (256u * 1024)
#define IMAP_FETCH_ROUND_FILES 16

static void imap_out_internaldate(FILE *out, const struct store_msg *m)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)(m->internaldate + (int64_t)m->tzoff * 60);
    struct tm tm;
    int off = m->tzoff < 0 ? -m->tzoff : m->tzoff;

    gmtime_r(&t, &tm);
    fprintf(out, "\"%02d-%s-%04d %02d:%02d:%02d %c%02d%02d\"", tm.tm_mday, months[tm.tm_mon],
            tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, m->tzoff < 0 ? '-' : '+', off / 60,
            off % 60);
}

enum {
    F_FLAGS = 1 << 0,
    F_UID = 1 << 1,
    F_INTERNALDATE = 1 << 2,
    F_SIZE = 1 << 3,
    F_ENVELOPE = 1 << 4,
    F_BODYSTRUCTURE = 1 << 5,
    F_BODY = 1 << 6,
    F_RFC822 = 1 << 7,
    F_RFC822_HEADER = 1 << 8,
    F_RFC822_TEXT = 1 << 9,
    F_XSENDER = 1 << 10,
};

#define IMAP_FETCH_SECTIONS_MAX 32

struct imap_fetch {
    unsigned items;
    struct imap_section sections[IMAP_FETCH_SECTIONS_MAX];
    const char *names[IMAP_FETCH_SECTIONS_MAX]; /* the atom as the client wrote it */
    unsigned nsections;
    bool sets_seen;
};

/* Parses one fetch attribute into f; returns false after writing BAD. */
static bool imap_fetch_item(const struct imap_cmd *cmd, const char *atom, struct imap_fetch *f,
                            FILE *out)
{
    static const struct {
        const char *name;
        unsigned bits;
    } simple[] = {
        {"FLAGS", F_FLAGS},
        {"UID", F_UID},
        {"INTERNALDATE", F_INTERNALDATE},
        {"RFC822.SIZE", F_SIZE},
        {"ENVELOPE", F_ENVELOPE},
        {"BODYSTRUCTURE", F_BODYSTRUCTURE},
        {"BODY", F_BODY},
        {"RFC822", F_RFC822},
        {"RFC822.HEADER", F_RFC822_HEADER},
        {"RFC822.TEXT", F_RFC822_TEXT},
        {"XSENDER", F_XSENDER},
        {"ALL", F_FLAGS | F_INTERNALDATE | F_SIZE | F_ENVELOPE},
        {"FAST", F_FLAGS | F_INTERNALDATE | F_SIZE},
        {"FULL", F_FLAGS | F_INTERNALDATE | F_SIZE | F_ENVELOPE | F_BODY},
    };
    const char *why = "Bad fetch attribute";
    int r;

    for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
        if (strcasecmp(atom, simple[i].name) == 0) {
            f->items |= simple[i].bits;
            f->sets_seen |= (simple[i].bits & (F_RFC822 | F_RFC822_TEXT)) != 0;
            return true;
        }
    }
    if (f->nsections == IMAP_FETCH_SECTIONS_MAX) {
        imap_out_tagged(out, cmd, "BAD", "Too many body sections in one FETCH");
        return false;
    }
    r = imap_section_parse(atom, strlen(atom), cmd->arena, &f->sections[f->nsections], &why);
    if (r != 1) {
        imap_out_tagged(out, cmd, "BAD", "%s: %s", why, atom);
        return false;
    }
    struct imap_section *sec = &f->sections[f->nsections];
    /* RFC 3516 4.1: BINARY sets \Seen as BODY does */
    f->sets_seen |= sec->item == IMAP_FETCH_BODY || sec->item == IMAP_FETCH_BINARY;
    f->names[f->nsections++] = atom;
    return true;
}

/* The name a body section goes back under: as asked, without .PEEK, <o.l> as <o>. */
static void imap_out_section_name(FILE *out, const char *atom, const struct imap_section *sec)
{
    const char *peek = strcasestr(atom, ".PEEK");
    const char *end = strrchr(atom, ']');

    if (peek != NULL && peek < strchr(atom, '[')) {
        fwrite(atom, 1, (size_t)(peek - atom), out);
        atom = peek + 5;
    }
    fwrite(atom, 1, (size_t)(end - atom) + 1, out);
    if (sec->partial)
        fprintf(out, "<%u>", sec->offset);
}

/* A FETCH in flight (s->fetch): the command, what it asks, and how far its rounds have got. */
struct imap_fetch_run {
    struct imap_session *s;
    struct imap_cmd *cmd;
    struct imap_fetch f;
    bool uid, started, finished;
    bool copy; /* the messages come from the session's flag copy, not msgs */
    struct store_msg *msgs;
    size_t nm, next;
    uint32_t *uids;
    size_t n, k;
    size_t seqpos; /* fetch_seq: where in the session's view the last message was */
    struct imap_fetch_batch *batch; /* the round being made, then sent */
    bool in_job;
    struct store_mime_set mimes; /* ENVELOPE / BODYSTRUCTURE / BODY, FETCH_MIME_BATCH at a time */
};

#define FETCH_MIME_BATCH 256

/* One body item of one message, planned before anything of the message is written. */
struct fetch_piece {
    const struct imap_section *sec; /* NULL for RFC822, RFC822.HEADER, RFC822.TEXT */
    const char *label;
    struct imap_part_loc loc;
    uint64_t total, skip, left; /* filter output: all of it, dropped, sent */
    bool nul;                   /* it holds NUL: BINARY sends a literal8 */
};

static void fetch_filter_init(struct imap_filter *fl, const struct fetch_piece *p)
{
    imap_filter_init(fl, p->loc.filter, p->loc.raw_prefix, p->sec ? p->sec->fields : NULL,
                     p->sec ? p->sec->nfields : 0);
}

/* Runs the piece's filter over its octets: counts the output (and NULs), or, with out, writes
 * the output's window [skip, skip + left) there. -1 on a read error. */
static int fetch_filter_pass(int fd, struct fetch_piece *p, FILE *out)
{
    struct imap_filter fl;
    char *in = malloc(IMAP_FETCH_CHUNK), *o = malloc(IMAP_FILTER_OUT_MAX(IMAP_FETCH_CHUNK));
    uint64_t off = p->loc.start, skip = p->skip, left = p->left, total = 0;
    int rc = 0;

    if (in == NULL || o == NULL) {
        rc = -1;
        goto out;
    }
    fetch_filter_init(&fl, p);
    while (off < p->loc.end || off == p->loc.end) {
        size_t k = 0;
        ssize_t n = 0;
        if (off < p->loc.end) {
            size_t want =
                p->loc.end - off < IMAP_FETCH_CHUNK ? (size_t)(p->loc.end - off) : IMAP_FETCH_CHUNK;
            do
                n = pread(fd, in, want, (off_t)off);
            while (n < 0 && errno == EINTR);
            if (n <= 0) {
                rc = -1;
                goto out;
            }
            off += (size_t)n;
            k = imap_filter_step(&fl, in, (size_t)n, o);
        }
        if (off == p->loc.end)
            k += imap_filter_finish(&fl, o + k);
        total += k;
        if (out == NULL) {
            p->nul = p->nul || memchr(o, '\0', k) != NULL;
        } else {
            size_t sk = skip < k ? (size_t)skip : k;
            size_t w = k - sk < left ? k - sk : (size_t)left;
            skip -= sk;
            fwrite(o + sk, 1, w, out);
            left -= w;
            if (left == 0)
                break;
        }
        if (off == p->loc.end)
            break;
    }
    if (out == NULL)
        p->total = total;
out:
    free(in);
    free(o);
    return rc;
}

/* Locates and measures every body item of m. 1 when planned, 0 after writing a tagged NO. */
static int fetch_plan(struct imap_fetch_run *run, const struct store_msg *m, int fd,
                      struct fetch_piece *pieces, size_t *np_r, FILE *out)
{
    const struct imap_fetch *f = &run->f;
    uint64_t hs = m->header_size <= m->size ? m->header_size : m->size;
    static const struct {
        unsigned bit;
        const char *label;
    } whole[] = {
        {F_RFC822, "RFC822"}, {F_RFC822_HEADER, "RFC822.HEADER"}, {F_RFC822_TEXT, "RFC822.TEXT"}};
    size_t np = 0;

    for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++) {
        if (!(f->items & whole[i].bit))
            continue;
        struct fetch_piece *p = &pieces[np++];
        *p = (struct fetch_piece){.label = whole[i].label};
        p->loc = (struct imap_part_loc){.found = true, .filter = IMAP_FILTER_RAW};
        p->loc.start = whole[i].bit == F_RFC822_TEXT ? hs : 0;
        p->loc.end = whole[i].bit == F_RFC822_HEADER ? hs : m->size;
    }
    for (unsigned i = 0; i < f->nsections; i++) {
        const struct imap_section *sec = &f->sections[i];
        struct fetch_piece *p = &pieces[np++];
        *p = (struct fetch_piece){.sec = sec, .label = f->names[i]};
        if (imap_part_locate(fd, m->size, hs, sec, &p->loc) < 0)
            return -1;
        if (sec->item >= IMAP_FETCH_BINARY && p->loc.found && p->loc.cte == IMAP_CTE_UNKNOWN) {
            /* RFC 3516 4.3 */
            imap_out_tagged(out, run->cmd, "NO",
                            "[UNKNOWN-CTE] Cannot decode the transfer encoding of UID %u", m->uid);
            return 0;
        }
    }
    for (size_t i = 0; i < np; i++) {
        struct fetch_piece *p = &pieces[i];
        bool binary = p->sec && p->sec->item >= IMAP_FETCH_BINARY;
        p->total = p->loc.end - p->loc.start;
        if ((p->loc.filter != IMAP_FILTER_RAW || binary) && fetch_filter_pass(fd, p, NULL) < 0)
            return -1;
        p->left = p->total;
        if (p->sec && p->sec->partial) {
            p->skip = p->sec->offset < p->total ? p->sec->offset : p->total;
            p->left = p->total - p->skip < p->sec->length ? p->total - p->skip : p->sec->length;
        }
    }
    *np_r = np;
    return 1;
}

/* Writes a planned piece's data after its literal's announcement: copied, or left to stream. */
static int fetch_piece_out(struct imap_fetch_run *run, int fd, bool *fd_kept, struct fetch_piece *p,
                           FILE *out)
{
    struct imap_fetch_batch *b = run->batch;

    if (p->left == 0)
        return 0;
    if (p->loc.end - p->loc.start <= IMAP_FETCH_INLINE)
        return fetch_filter_pass(fd, p, out);
    struct imap_fetch_seg *segs = realloc(b->segs, (b->nsegs + 1) * sizeof(*segs));
    if (segs == NULL)
        return -1;
    b->segs = segs;
    if (!*fd_kept) {
        int *fds = realloc(b->fds, (b->nfds + 1) * sizeof(*fds));
        if (fds == NULL)
            return -1;
        b->fds = fds;
        b->fds[b->nfds++] = fd;
        *fd_kept = true;
    }
    fflush(out);
    struct imap_fetch_seg *g = &b->segs[b->nsegs++];
    *g = (struct imap_fetch_seg){.text_end = (size_t)ftell(out),
                                 .fd = fd,
                                 .off = p->loc.start,
                                 .end = p->loc.end,
                                 .skip = p->skip,
                                 .left = p->left};
    fetch_filter_init(&g->filter, p);
    if (p->loc.filter == IMAP_FILTER_RAW) { /* stored octets: the window is a file range */
        g->off += g->skip;
        g->end = g->off + g->left;
        g->skip = 0;
    }
    return 0;
}

/* The sequence number of uid in the session's view (0: not in it). Messages come in ascending
 * UID order, as the view is kept, so walking on from the last one costs one pass over the view
 * for the whole FETCH instead of a binary search per message. */
static uint32_t fetch_seq(struct imap_fetch_run *run, uint32_t uid)
{
    const struct imap_selected *sel = &run->s->sel;
    size_t i = run->seqpos;

    if (i > sel->n || (i < sel->n && sel->uids[i] > uid))
        return imap_seq_of(run->s, uid); /* not in order: look it up */
    while (i < sel->n && sel->uids[i] < uid)
        i++;
    run->seqpos = i;
    return i < sel->n && sel->uids[i] == uid ? (uint32_t)i + 1 : 0;
}

/* One message's "* n FETCH (...)" (seq: its sequence number). 1 when written, 0 after a tagged
 * NO, -1 on failure. */
static int fetch_message(struct imap_fetch_run *run, const struct store_msg *m, uint32_t seq,
                         FILE *out)
{
    struct imap_session *s = run->s;
    const struct imap_fetch *f = &run->f;
    static const struct store_mime none = {0};
    const struct store_mime *mime = &none;
    struct store_error err;
    struct fetch_piece pieces[IMAP_FETCH_SECTIONS_MAX + 3];
    size_t np = 0;
    int fd = -1, rc = 1;
    bool fd_kept = false,
         need_body = f->nsections > 0 || (f->items & (F_RFC822 | F_RFC822_HEADER | F_RFC822_TEXT));
    const char *sep = "";

    if ((f->items & (F_ENVELOPE | F_BODYSTRUCTURE | F_BODY)) &&
        (mime = store_mime_set_next(imapd_store(), s->sel.owner, s->sel.id, m->uid,
                                    run->uids[run->n - 1], FETCH_MIME_BATCH, &run->mimes)) == NULL)
        mime = &none;
    if (need_body && store_msg_open(imapd_store(), s->sel.owner, m, &fd, &err) != STORE_OK) {
        conn_warning(s->conn, "FETCH: UID %u cannot be read: %s", m->uid, err.msg);
        fd = -1;
    }
    if (fd >= 0 && (rc = fetch_plan(run, m, fd, pieces, &np, out)) <= 0) {
        if (rc < 0) /* a read error: the body items go out as NIL */
            np = 0;
        if (rc == 0)
            goto done;
        rc = 1;
        close(fd);
        fd = -1;
    }
    /* the start of the line, formatted here rather than by stdio: "UID n FLAGS (...)" for
     * every message is what clients ask most, of every message of large mailboxes */
    char head[64], *h = head;
#define PUT(lit) (memcpy(h, lit, sizeof(lit) - 1), h += sizeof(lit) - 1)
    PUT("* ");
    h = imap_fmt_u32(h, seq);
    PUT(" FETCH (");
    if ((f->items & F_UID) || run->uid) {
        PUT("UID ");
        h = imap_fmt_u32(h, m->uid);
        sep = " ";
    }
    if (f->items & F_FLAGS) {
        if (sep[0] != '\0')
            PUT(" ");
        PUT("FLAGS ");
        sep = " ";
    }
#undef PUT
    fwrite(head, 1, (size_t)(h - head), out);
    if (f->items & F_FLAGS)
        imap_out_flags(out, m->flags, m->keywords,
                       s->sel.first_recent != 0 && m->uid >= s->sel.first_recent);
#define SEP() (fputs(sep, out), sep = " ")
    if (f->items & F_INTERNALDATE) {
        SEP();
        fputs("INTERNALDATE ", out);
        imap_out_internaldate(out, m);
    }
    if (f->items & F_SIZE) {
        SEP();
        fprintf(out, "RFC822.SIZE %llu", (unsigned long long)m->size);
    }
    if (f->items & F_XSENDER) {
        /* Sun's XSENDER: the sender's SMTP AUTH identity. Only the MTA knows it and LMTP does
         * not pass it on, so it is unknown here: "" as Sun sent for mail without one */
        SEP();
        fputs("XSENDER \"\"", out);
    }
    if (f->items & F_ENVELOPE) {
        SEP();
        fprintf(out, "ENVELOPE %s", mime->envelope ? mime->envelope : "NIL");
    }
    if (f->items & F_BODYSTRUCTURE) {
        SEP();
        fprintf(out, "BODYSTRUCTURE %s", mime->bodystructure ? mime->bodystructure : "NIL");
    }
    if (f->items & F_BODY) {
        SEP();
        fprintf(out, "BODY %s", mime->body ? mime->body : "NIL");
    }
    if (fd < 0) { /* the body cannot be read: every body item is NIL */
        for (size_t i = 0; i < 3; i++) {
            static const unsigned bits[] = {F_RFC822, F_RFC822_HEADER, F_RFC822_TEXT};
            static const char *const labels[] = {"RFC822", "RFC822.HEADER", "RFC822.TEXT"};
            if (f->items & bits[i]) {
                SEP();
                fprintf(out, "%s NIL", labels[i]);
            }
        }
        for (unsigned i = 0; i < f->nsections; i++) {
            SEP();
            imap_out_section_name(out, f->names[i], &f->sections[i]);
            fputs(" NIL", out);
        }
    }
    for (size_t i = 0; i < np; i++) {
        struct fetch_piece *p = &pieces[i];
        SEP();
        if (p->sec == NULL) {
            fputs(p->label, out);
        } else if (p->sec->item == IMAP_FETCH_BINARY_SIZE) {
            imap_out_section_name(out, p->label, p->sec);
            fprintf(out, " %llu", (unsigned long long)p->total);
            continue;
        } else {
            imap_out_section_name(out, p->label, p->sec);
        }
        /* RFC 3516 4.2: decoded data with NUL goes as a literal8 */
        bool lit8 = p->sec && p->sec->item >= IMAP_FETCH_BINARY && p->nul;
        fprintf(out, " %s{%llu}\r\n", lit8 ? "~" : "", (unsigned long long)p->left);
        if (fetch_piece_out(run, fd, &fd_kept, p, out) < 0) {
            rc = -1;
            goto done;
        }
    }
#undef SEP
    fputs(")\r\n", out);
done:
    if (fd >= 0 && !fd_kept)
        close(fd);
    return rc;
}

/* Lines of FETCH (UID FLAGS) from the flag copy are formatted into a buffer of this size, which
 * is written out whenever the next line might not fit. */
#define FETCH_COPY_BUF (16u * 1024)
#define FETCH_COPY_LINE_MAX                                                                        \
    (sizeof("* 4294967295 FETCH (UID 4294967295 FLAGS )\r\n") + IMAP_FLAGS_FMT_MAX)

/* A round of FETCH (UID FLAGS) from the session's flag copy: every line formatted here and
 * written a buffer at a time (a stdio call per item was most of the time of such a FETCH of a
 * large mailbox). Keywords too long for the buffer go through fetch_message. True when the
 * round is full before the last message. */
static bool fetch_copy_round(struct imap_fetch_run *run, FILE *out)
{
    const struct imap_selected *sel = &run->s->sel;
    const struct imap_flagcopy *fc = &sel->flags;
    bool want_uid = (run->f.items & F_UID) || run->uid, want_flags = run->f.items & F_FLAGS;
    long text = ftell(out);
    char *buf = malloc(FETCH_COPY_BUF), *p = buf;

    if (buf == NULL)
        return false; /* fetch_round goes on the slow way */
    while (run->next < fc->n && text < (long)IMAP_FETCH_ROUND_TEXT) {
        const struct imap_flagrec *r = &fc->v[run->next];
        while (run->k < run->n && run->uids[run->k] < r->uid)
            run->k++;
        if (run->k == run->n)
            break; /* past the last message asked for */
        uint32_t seq;
        if (run->uids[run->k] != r->uid || (seq = fetch_seq(run, r->uid)) == 0) {
            run->next++;
            continue;
        }
        size_t kwlen = r->keywords != NULL ? strlen(r->keywords) : 0;
        if ((size_t)(p - buf) + FETCH_COPY_LINE_MAX + kwlen > FETCH_COPY_BUF) {
            fwrite(buf, 1, (size_t)(p - buf), out);
            p = buf;
            if (FETCH_COPY_LINE_MAX + kwlen > FETCH_COPY_BUF)
                break; /* fetch_round writes this one */
        }
        char *line = p;
#define PUT(lit) (memcpy(p, lit, sizeof(lit) - 1), p += sizeof(lit) - 1)
        PUT("* ");
        p = imap_fmt_u32(p, seq);
        PUT(" FETCH (");
        if (want_uid) {
            PUT("UID ");
            p = imap_fmt_u32(p, r->uid);
        }
        if (want_flags) {
            if (want_uid)
                PUT(" ");
            PUT("FLAGS ");
            p = imap_fmt_flags(p, r->flags, r->keywords, kwlen,
                               sel->first_recent != 0 && r->uid >= sel->first_recent);
        }
        PUT(")\r\n");
#undef PUT
        text += p - line;
        run->next++;
    }
    fwrite(buf, 1, (size_t)(p - buf), out);
    free(buf);
    return text >= (long)IMAP_FETCH_ROUND_TEXT && run->next < fc->n;
}

/* The first round parses the command and reads the message list; every round formats
 * messages until the round is full. */
static void fetch_round(struct imap_fetch_run *run, FILE *out)
{
    struct imap_session *s = run->s;
    const struct imap_cmd *cmd = run->cmd;
    struct store_error err;

    if (!run->started) {
        const struct imap_arg *args = imap_args_of(cmd, &run->uid), *items = NULL;
        unsigned count = 1;

        run->started = true;
        run->finished = true; /* until the command checks out */
        imap_sel_refresh(s);  /* another user's mailbox: its ACL as it is now */
        if (args == NULL || args->next == NULL || args->next->next != NULL) {
            imap_out_tagged(out, cmd, "BAD", "Usage: FETCH set items");
            return;
        }
        if (!imap_arg_get_list(args->next, &items, &count))
            items = args->next;
        for (const struct imap_arg *it = items; it != NULL && count-- > 0; it = it->next) {
            const char *atom;
            if (!imap_arg_get_atom(it, &atom)) {
                imap_out_tagged(out, cmd, "BAD", "Bad fetch attribute");
                return;
            }
            if (!imap_fetch_item(cmd, atom, &run->f, out))
                return;
        }
        if (imap_set_uids(s, cmd, args, run->uid, &run->uids, &run->n, out) < 0 ||
            !imap_sel_check(s, cmd, IMAP_RIGHT_R, out)) /* RFC 4314 4 */
            return;
        /* UID and FLAGS alone come from the session's copy of the flags, which reads only
         * what changed since it was last brought up to date */
        bool flags_only = !(run->f.items & ~(F_UID | F_FLAGS)) && run->f.nsections == 0;
        enum store_err rc = STORE_OK;
        if (run->n > 0 && flags_only)
            rc = imap_flagcopy_refresh(s, 0, &err);
        run->copy = rc == STORE_OK && run->n > 0 && flags_only && s->sel.flags.valid;
        if (run->copy)
            run->next = imap_flagcopy_find(&s->sel.flags, run->uids[0]);
        else if (rc == STORE_OK && run->n > 0)
            rc = store_msg_list(imapd_store(), s->sel.owner, s->sel.id, run->uids[0],
                                run->uids[run->n - 1], &run->msgs, &run->nm, &err);
        if (rc != STORE_OK) {
            imap_out_store_error(out, cmd, &err);
            return;
        }
        /* BODY[], BINARY[] and RFC822 set \Seen in a read-write mailbox (RFC 3501 6.4.5) for
         * a user who may keep \Seen (RFC 4314 4: s) */
        if (run->f.sets_seen && !s->sel.readonly && (s->sel.rights & IMAP_RIGHT_S)) {
            struct store_flag_update up = {.op = STORE_FLAGS_ADD, .flags = STORE_FLAG_SEEN};
            uint32_t *unseen = calloc(run->nm + 1, sizeof(*unseen));
            size_t nu = 0;
            for (size_t i = 0; unseen != NULL && i < run->nm; i++)
                if (!(run->msgs[i].flags & STORE_FLAG_SEEN))
                    unseen[nu++] = run->msgs[i].uid;
            if (nu > 0 && store_flags_update(imapd_store(), s->sel.owner, s->sel.id, unseen, nu,
                                             &up, NULL, NULL, NULL, NULL, &err) == STORE_OK) {
                for (size_t i = 0; i < run->nm; i++)
                    run->msgs[i].flags |= STORE_FLAG_SEEN;
                run->f.items |= F_FLAGS;
            }
            free(unseen);
        }
        run->finished = false;
    }
    if (run->copy && fetch_copy_round(run, out))
        return;
    for (;;) {
        const struct store_msg *m;
        struct store_msg rec;
        if (run->copy) {
            if (run->next >= s->sel.flags.n)
                break;
            const struct imap_flagrec *r = &s->sel.flags.v[run->next++];
            rec = (struct store_msg){.uid = r->uid, .flags = r->flags, .keywords = r->keywords};
            m = &rec;
        } else {
            if (run->next >= run->nm)
                break;
            m = &run->msgs[run->next++];
        }
        while (run->k < run->n && run->uids[run->k] < m->uid)
            run->k++;
        if (run->k == run->n)
            break; /* past the last message asked for */
        uint32_t seq;
        if (run->uids[run->k] != m->uid || (seq = fetch_seq(run, m->uid)) == 0)
            continue;
        int rc = fetch_message(run, m, seq, out);
        if (rc == 0) {
            run->finished = true;
            return;
        }
        if (rc < 0) {
            imap_out_tagged(out, cmd, "NO", "[SERVERBUG] FETCH failed");
            run->finished = true;
            return;
        }
        if (ftell(out) >= (long)IMAP_FETCH_ROUND_TEXT || run->batch->nfds >= IMAP_FETCH_ROUND_FILES)
            return;
    }
    imap_out_tagged(out, cmd, "OK", "%sFETCH completed", run->uid ? "UID " : "");
    run->finished = true;
}

static void fetch_run_free(struct imap_fetch_run **run)
{
    if (*run == NULL)
        return;
    imap_fetch_batch_free(&(*run)->batch);
    imap_cmd_free(&(*run)->cmd);
    store_msg_list_free(&(*run)->msgs, (*run)->nm);
    store_mime_set_clear(&(*run)->mimes);
    free((*run)->uids);
    free(*run);
    *run = NULL;
}

static void fetch_job_work(void *arg)
{
    struct imap_fetch_run *run = arg;
    struct imap_fetch_batch *b = calloc(1, sizeof(*b));
    FILE *out;

    run->batch = b;
    if (b == NULL || (out = open_memstream(&b->text, &b->len)) == NULL) {
        run->finished = true;
        return;
    }
    __fsetlocking(out, FSETLOCKING_BYCALLER); /* this thread's alone: no lock per call */
    fetch_round(run, out);
    if (fclose(out) != 0) {
        imap_fetch_batch_free(&run->batch);
        run->finished = true;
    }
}

/* The session's reply is done: input may go on. */
static void fetch_end(struct imap_session *s)
{
    fetch_run_free(&s->fetch);
    conn_set_busy(s->conn, false);
}

static void fetch_job_done(void *arg)
{
    struct imap_fetch_run *run = arg;
    struct imap_session *s = run->s;

    run->in_job = false;
    if (run->batch == NULL) { /* out of memory: nothing of this round was sent */
        imap_reply_tagged(s, run->cmd, "NO", "[SERVERBUG] Out of memory");
        fetch_end(s);
        return;
    }
    imap_fetch_drain(s);
}

void imap_fetch_drain(struct imap_session *s)
{
    struct imap_fetch_run *run = s->fetch;

    int rc = 0;

    if (run == NULL || run->in_job)
        return;
    if (run->batch != NULL && (rc = imap_fetch_batch_send(s, run->batch)) > 0)
        return;
    imap_fetch_batch_free(&run->batch);
    if (run->finished || rc < 0 || conn_failed(s->conn)) {
        fetch_end(s);
        return;
    }
    run->in_job = true;
    if (conn_submit(s->conn, fetch_job_work, fetch_job_done, run) < 0) {
        run->in_job = false;
        imap_reply_tagged(s, run->cmd, "NO", "[UNAVAILABLE] Server busy; try again");
        fetch_end(s);
    }
}

void imap_fetch_abort(struct imap_session *s)
{
    fetch_run_free(&s->fetch);
}

void imap_cmd_fetch(struct imap_session *s, struct imap_cmd **cmd)
{
    struct imap_fetch_run *run = calloc(1, sizeof(*run));

    if (run == NULL) {
        imap_reply_tagged(s, *cmd, "NO", "[UNAVAILABLE] Server busy; try again");
        return;
    }
    run->s = s;
    run->cmd = *cmd;
    run->in_job = true;
    if (conn_submit(s->conn, fetch_job_work, fetch_job_done, run) < 0) {
        free(run);
        imap_reply_tagged(s, *cmd, "NO", "[UNAVAILABLE] Server busy; try again");
        return;
    }
    *cmd = NULL;
    s->fetch = run;
    /* pipelined commands wait until the whole reply has gone out */
    conn_set_busy(s->conn, true);
}
