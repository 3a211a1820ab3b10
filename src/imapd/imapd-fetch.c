/* FETCH and UID FETCH (RFC 3501 6.4.5): the attributes of each message, formatted on a pool
 * thread. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "imapd-args.h"
#include "imapd-section.h"
#include "imapd.h"

/* Messages larger than this are not served by FETCH yet: bodies are read into memory here
 * until the streaming FETCH of the IMAP issue lands. */
#define IMAP_FETCH_BODY_MAX (64u * 1024 * 1024)

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
    if (sec->item != IMAP_FETCH_BODY && sec->item != IMAP_FETCH_BODY_PEEK) {
        imap_out_tagged(out, cmd, "NO", "[CANNOT] BINARY fetches are not supported yet");
        return false;
    }
    if (sec->nparts > 0) {
        imap_out_tagged(out, cmd, "NO", "[CANNOT] MIME part sections are not supported yet");
        return false;
    }
    f->sets_seen |= sec->item == IMAP_FETCH_BODY;
    f->names[f->nsections++] = atom;
    return true;
}

/* The header lines of hdr named (or, with not, not named) in sec->fields, then CRLF. */
static void imap_header_fields(FILE *out, const char *hdr, size_t len,
                               const struct imap_section *sec, bool not )
{
    size_t i = 0;

    while (i < len) {
        size_t end = i;
        /* a field runs to a line end not followed by a continuation (space or tab) */
        for (;;) {
            const char *nl = memchr(hdr + end, '\n', len - end);
            end = nl != NULL ? (size_t)(nl - hdr) + 1 : len;
            if (end >= len || (hdr[end] != ' ' && hdr[end] != '\t'))
                break;
        }
        const char *colon = memchr(hdr + i, ':', end - i);
        if (colon != NULL) {
            size_t nlen = (size_t)(colon - (hdr + i));
            bool named = false;
            for (unsigned k = 0; k < sec->nfields && !named; k++)
                named = strlen(sec->fields[k]) == nlen &&
                        strncasecmp(sec->fields[k], hdr + i, nlen) == 0;
            if (named != not )
                fwrite(hdr + i, 1, end - i, out);
        }
        i = end;
    }
    fputs("\r\n", out);
}

/* The name a body section goes back under: as asked, without .PEEK, <o.l> as <o>. */
static void imap_out_section_name(FILE *out, const char *atom, const struct imap_section *sec)
{
    const char *peek = strcasestr(atom, ".PEEK");
    const char *end = strchr(atom, ']');

    if (peek != NULL && peek < strchr(atom, '[')) {
        fwrite(atom, 1, (size_t)(peek - atom), out);
        atom = peek + 5;
    }
    fwrite(atom, 1, (size_t)(end - atom) + 1, out);
    if (sec->partial)
        fprintf(out, "<%u>", sec->offset);
}

static void imap_out_literal(FILE *out, const char *data, size_t len)
{
    fprintf(out, "{%zu}\r\n", len);
    fwrite(data, 1, len, out);
}

/* Reads a message's body file; NULL when it cannot. */
static char *imap_read_body(struct imap_session *s, const struct store_msg *m)
{
    struct store_error err;
    char *buf;
    int fd;

    if (m->size > IMAP_FETCH_BODY_MAX ||
        store_msg_open(imapd_store(), s->user, m, &fd, &err) != STORE_OK)
        return NULL;
    buf = malloc(m->size + 1);
    if (buf != NULL && pread(fd, buf, m->size, 0) != (ssize_t)m->size) {
        free(buf);
        buf = NULL;
    }
    close(fd);
    return buf;
}

static void imap_fetch_one(struct imap_session *s, const struct imap_fetch *f, bool uid,
                           const struct store_msg *m, FILE *out)
{
    struct store_mime mime = {0};
    struct store_error err;
    char *body = NULL;
    const char *sep = "";
    bool need_body = f->nsections > 0 || (f->items & (F_RFC822 | F_RFC822_HEADER | F_RFC822_TEXT));

    if ((f->items & (F_ENVELOPE | F_BODYSTRUCTURE | F_BODY)) &&
        store_msg_get_mime(imapd_store(), s->user, s->sel.id, m->uid, &mime, &err) != STORE_OK)
        memset(&mime, 0, sizeof(mime));
    if (need_body)
        body = imap_read_body(s, m);
    fprintf(out, "* %u FETCH (", imap_seq_of(s, m->uid));
#define SEP() (fputs(sep, out), sep = " ")
    if ((f->items & F_UID) || uid) {
        SEP();
        fprintf(out, "UID %u", m->uid);
    }
    if (f->items & F_FLAGS) {
        SEP();
        fputs("FLAGS ", out);
        imap_out_flags(out, m->flags, m->keywords,
                       s->sel.first_recent != 0 && m->uid >= s->sel.first_recent);
    }
    if (f->items & F_INTERNALDATE) {
        SEP();
        fputs("INTERNALDATE ", out);
        imap_out_internaldate(out, m);
    }
    if (f->items & F_SIZE) {
        SEP();
        fprintf(out, "RFC822.SIZE %llu", (unsigned long long)m->size);
    }
    if (f->items & F_ENVELOPE) {
        SEP();
        fprintf(out, "ENVELOPE %s", mime.envelope ? mime.envelope : "NIL");
    }
    if (f->items & F_BODYSTRUCTURE) {
        SEP();
        fprintf(out, "BODYSTRUCTURE %s", mime.bodystructure ? mime.bodystructure : "NIL");
    }
    if (f->items & F_BODY) {
        SEP();
        fprintf(out, "BODY %s", mime.body ? mime.body : "NIL");
    }
    size_t hs = m->header_size <= m->size ? m->header_size : m->size;
    if (f->items & F_RFC822) {
        SEP();
        fputs("RFC822 ", out);
        body ? imap_out_literal(out, body, m->size) : (void)fputs("NIL", out);
    }
    if (f->items & F_RFC822_HEADER) {
        SEP();
        fputs("RFC822.HEADER ", out);
        body ? imap_out_literal(out, body, hs) : (void)fputs("NIL", out);
    }
    if (f->items & F_RFC822_TEXT) {
        SEP();
        fputs("RFC822.TEXT ", out);
        body ? imap_out_literal(out, body + hs, m->size - hs) : (void)fputs("NIL", out);
    }
    for (unsigned i = 0; i < f->nsections; i++) {
        const struct imap_section *sec = &f->sections[i];
        char *part = NULL;
        size_t plen = 0;
        SEP();
        imap_out_section_name(out, f->names[i], sec);
        fputc(' ', out);
        if (body == NULL) {
            fputs("NIL", out);
            continue;
        }
        FILE *pf = open_memstream(&part, &plen);
        if (pf == NULL) {
            fputs("NIL", out);
            continue;
        }
        switch (sec->text) {
        case IMAP_SECTION_HEADER:
            fwrite(body, 1, hs, pf);
            break;
        case IMAP_SECTION_TEXT:
            fwrite(body + hs, 1, m->size - hs, pf);
            break;
        case IMAP_SECTION_HEADER_FIELDS:
        case IMAP_SECTION_HEADER_FIELDS_NOT:
            imap_header_fields(pf, body, hs > 2 ? hs - 2 : hs, sec,
                               sec->text == IMAP_SECTION_HEADER_FIELDS_NOT);
            break;
        default:
            fwrite(body, 1, m->size, pf);
            break;
        }
        fclose(pf);
        size_t off = sec->partial ? (sec->offset < plen ? sec->offset : plen) : 0;
        size_t n = plen - off;
        if (sec->partial && sec->length < n)
            n = sec->length;
        imap_out_literal(out, part + off, n);
        free(part);
    }
#undef SEP
    fputs(")\r\n", out);
    free(body);
    store_mime_clear(&mime);
}

static void fetch_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    bool uid;
    const struct imap_arg *args = imap_args_of(cmd, &uid), *items = NULL;
    struct imap_fetch f = {0};
    unsigned count = 1;
    uint32_t *uids;
    size_t n;
    struct store_msg *msgs = NULL;
    struct store_error err;
    size_t nm = 0;

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
        if (!imap_fetch_item(cmd, atom, &f, out))
            return;
    }
    if (imap_set_uids(s, cmd, args, uid, &uids, &n, out) < 0)
        return;
    if (n > 0 && store_msg_list(imapd_store(), s->user, s->sel.id, uids[0], uids[n - 1], &msgs, &nm,
                                &err) != STORE_OK) {
        imap_out_store_error(out, cmd, &err);
        free(uids);
        return;
    }
    /* BODY[] and RFC822 set \Seen in a read-write mailbox (RFC 3501 6.4.5) */
    if (f.sets_seen && !s->sel.readonly) {
        struct store_flag_update up = {.op = STORE_FLAGS_ADD, .flags = STORE_FLAG_SEEN};
        uint32_t *unseen = calloc(nm + 1, sizeof(*unseen));
        size_t nu = 0;
        for (size_t i = 0; unseen != NULL && i < nm; i++)
            if (!(msgs[i].flags & STORE_FLAG_SEEN))
                unseen[nu++] = msgs[i].uid;
        if (nu > 0 && store_flags_update(imapd_store(), s->user, s->sel.id, unseen, nu, &up, NULL,
                                         NULL, NULL, NULL, &err) == STORE_OK) {
            for (size_t i = 0; i < nm; i++)
                msgs[i].flags |= STORE_FLAG_SEEN;
            f.items |= F_FLAGS;
        }
        free(unseen);
    }
    size_t k = 0;
    for (size_t i = 0; i < nm; i++) {
        while (k < n && uids[k] < msgs[i].uid)
            k++;
        if (k < n && uids[k] == msgs[i].uid && imap_seq_of(s, msgs[i].uid) != 0)
            imap_fetch_one(s, &f, uid, &msgs[i], out);
    }
    imap_out_tagged(out, cmd, "OK", "%sFETCH completed", uid ? "UID " : "");
    store_msg_list_free(&msgs, nm);
    free(uids);
}

void imap_cmd_fetch(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, fetch_work);
}
