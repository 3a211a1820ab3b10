/* SEARCH and UID SEARCH (RFC 3501 6.4.4), and the evaluation SORT shares: the program parsed
 * by imapd-search-parse.c is checked against the session's view, then matched message by
 * message in up to four passes, cheapest first (the record, the header fields the MIME record
 * keeps, the header block, the body), so a message that fails a cheap key never has its body
 * file read. Bodies stream through GMime's decoders in chunks; nothing holds a whole message. */
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imapd-search.h"
#include "imapd.h"
#include "store-hfield.h"

/* Octets read from a body per step. */
#define IMAP_SEARCH_CHUNK (64u * 1024)
/* Octets of a header block searched by HEADER, FROM, ..., SENT* and TEXT: the same bound as
 * the copy delivery keeps (store-hfield.h), so both see the same fields. */
#define IMAP_SEARCH_HEADER_MAX STORE_HFIELD_BLOCK_MAX
/* MIME records (their header fields only) read per store call for HEADER keys on the fields
 * they keep: about 150 octets each. */
#define IMAP_SEARCH_HFIELDS_BATCH 4096
/* MIME nesting followed by BODY and TEXT (as the store's own walk, store-mime.h). */
#define IMAP_SEARCH_MIME_DEPTH 32

enum tri { TRI_NO, TRI_YES, TRI_MAYBE };

struct imap_search_run {
    struct imap_session *s;
    struct imap_search_program prog;
    struct imap_search_matcher *matchers; /* by key index: HEADER, BODY and TEXT needles */
    signed char *hfield_ids;              /* by key index: HEADER's store_hfield_id, or -1 */
    struct store_mime_set hfields;        /* the MIME records' header fields, a batch at a time */
    char *chunk;                          /* IMAP_SEARCH_CHUNK octets, for BODY and TEXT */
};

/* What has been read of one message so far. */
struct search_msg {
    struct imap_search_run *run;
    const struct store_msg *m;
    uint32_t seq;
    int fd; /* -1 until opened */
    bool open_done, hdr_done, sent_done, mime_done, hf_done;
    const struct store_mime *hf; /* the MIME record's header fields; NULL: none */
    char *hdr;
    size_t hlen;
    int32_t sent_day;
    GMimeStream *stream;
    GMimeMessage *mime;
};

static const uint32_t flag_bits[] = {
    [IMAP_SF_SEEN] = STORE_FLAG_SEEN,       [IMAP_SF_ANSWERED] = STORE_FLAG_ANSWERED,
    [IMAP_SF_FLAGGED] = STORE_FLAG_FLAGGED, [IMAP_SF_DELETED] = STORE_FLAG_DELETED,
    [IMAP_SF_DRAFT] = STORE_FLAG_DRAFT,
};

/* ---- reading the message ---- */

static bool msg_open(struct search_msg *x)
{
    if (!x->open_done) {
        x->open_done = true;
        if (store_msg_open(imapd_store(), x->run->s->sel.owner, x->m, &x->fd, NULL) != STORE_OK)
            x->fd = -1;
    }
    return x->fd >= 0;
}

static bool msg_header(struct search_msg *x)
{
    if (x->hdr_done)
        return x->hdr != NULL;
    x->hdr_done = true;
    if (!msg_open(x))
        return false;
    size_t want = x->m->header_size <= x->m->size ? x->m->header_size : (size_t)x->m->size;
    want = want < IMAP_SEARCH_HEADER_MAX ? want : IMAP_SEARCH_HEADER_MAX;
    x->hdr = malloc(want + 1);
    if (x->hdr == NULL)
        return false;
    while (x->hlen < want) {
        ssize_t n = pread(x->fd, x->hdr + x->hlen, want - x->hlen, (off_t)x->hlen);
        if (n <= 0)
            break;
        x->hlen += (size_t)n;
    }
    x->hdr[x->hlen] = '\0';
    return true;
}

/* The message parsed by GMime over its file: parts' contents stay in the file (the parser
 * keeps offsets, not octets, on a seekable stream). */
static bool msg_mime(struct search_msg *x)
{
    if (x->mime_done)
        return x->mime != NULL;
    x->mime_done = true;
    if (!msg_open(x))
        return false;
    x->stream = g_mime_stream_fs_new_with_bounds(x->fd, 0, (gint64)x->m->size);
    if (x->stream == NULL)
        return false;
    g_mime_stream_fs_set_owner(GMIME_STREAM_FS(x->stream), FALSE);
    GMimeParser *parser = g_mime_parser_new_with_stream(x->stream);
    g_mime_parser_set_persist_stream(parser, TRUE);
    x->mime = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    return x->mime != NULL;
}

static void msg_clear(struct search_msg *x)
{
    if (x->mime != NULL)
        g_object_unref(x->mime);
    if (x->stream != NULL)
        g_object_unref(x->stream);
    if (x->fd >= 0)
        close(x->fd);
    free(x->hdr);
}

/* ---- text ---- */

/* Whether "name: value" (name NULL: the value alone), the value unfolded and its RFC 2047
 * words decoded to UTF-8, holds the needle. */
static bool field_match(struct imap_search_matcher *mt, const char *name, size_t name_len,
                        const char *raw, size_t raw_len)
{
    char *v = store_hfield_decode(raw, raw_len); /* as delivery decoded the fields it keeps */

    if (v == NULL)
        return false;
    imap_search_matcher_reset(mt);
    if (name != NULL) {
        imap_search_matcher_feed(mt, name, name_len);
        imap_search_matcher_feed(mt, ": ", 2);
    }
    imap_search_matcher_feed(mt, v, strlen(v));
    free(v);
    return imap_search_matcher_end(mt);
}

static bool gmime_headers_match(struct imap_search_matcher *mt, GMimeObject *obj)
{
    GMimeHeaderList *list = g_mime_object_get_header_list(obj);
    int n = list != NULL ? g_mime_header_list_get_count(list) : 0;

    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
        const char *name = g_mime_header_get_name(h), *raw = g_mime_header_get_raw_value(h);
        if (name != NULL && raw != NULL && field_match(mt, name, strlen(name), raw, strlen(raw)))
            return true;
    }
    return false;
}

/* One leaf part's content, decoded from its Content-Transfer-Encoding and converted from its
 * charset to UTF-8, fed through the matcher a chunk at a time. */
static bool part_match(struct search_msg *x, struct imap_search_matcher *mt, GMimePart *part)
{
    GMimeDataWrapper *w = g_mime_part_get_content(part);
    GMimeStream *raw = w != NULL ? g_mime_data_wrapper_get_stream(w) : NULL;
    GMimeContentEncoding enc;
    const char *charset;
    ssize_t n;

    if (raw == NULL)
        return false;
    g_mime_stream_reset(raw);
    GMimeStream *f = g_mime_stream_filter_new(raw);
    enc = g_mime_data_wrapper_get_encoding(w);
    if (enc == GMIME_CONTENT_ENCODING_BASE64 || enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE ||
        enc == GMIME_CONTENT_ENCODING_UUENCODE) {
        GMimeFilter *dec = g_mime_filter_basic_new(enc, FALSE);
        g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), dec);
        g_object_unref(dec);
    }
    charset = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
    if (charset != NULL && strcasecmp(charset, "utf-8") != 0 &&
        strcasecmp(charset, "us-ascii") != 0) {
        GMimeFilter *conv = g_mime_filter_charset_new(charset, "UTF-8");
        if (conv != NULL) { /* NULL: iconv does not know it; the octets are searched as they are */
            g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), conv);
            g_object_unref(conv);
        }
    }
    imap_search_matcher_reset(mt);
    while (!mt->found && (n = g_mime_stream_read(f, x->run->chunk, IMAP_SEARCH_CHUNK)) > 0)
        imap_search_matcher_feed(mt, x->run->chunk, (size_t)n);
    g_object_unref(f);
    return imap_search_matcher_end(mt);
}

/* The text parts of obj (text/... and parts without a type), and the header fields of
 * embedded messages. Other parts (images, archives) hold no text to search. */
static bool body_walk(struct search_msg *x, struct imap_search_matcher *mt, GMimeObject *obj,
                      unsigned depth)
{
    if (obj == NULL || depth > IMAP_SEARCH_MIME_DEPTH)
        return false;
    if (GMIME_IS_MULTIPART(obj)) {
        int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
        for (int i = 0; i < n; i++)
            if (body_walk(x, mt, g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), depth + 1))
                return true;
        return false;
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (inner == NULL)
            return false;
        return gmime_headers_match(mt, GMIME_OBJECT(inner)) ||
               body_walk(x, mt, g_mime_message_get_mime_part(inner), depth + 1);
    }
    if (GMIME_IS_PART(obj)) {
        GMimeContentType *ct = g_mime_object_get_content_type(obj);
        if (ct != NULL && !g_mime_content_type_is_type(ct, "text", "*"))
            return false;
        return part_match(x, mt, GMIME_PART(obj));
    }
    return false;
}

static enum tri eval_body(struct search_msg *x, struct imap_search_matcher *mt)
{
    if (!msg_mime(x))
        return TRI_NO;
    return body_walk(x, mt, g_mime_message_get_mime_part(x->mime), 0) ? TRI_YES : TRI_NO;
}

/* HEADER (field set) or the header part of TEXT (field NULL: every field as "name: value"). */
static enum tri eval_header(struct search_msg *x, struct imap_search_matcher *mt, const char *field)
{
    struct store_hfield f;
    size_t pos = 0, flen = field != NULL ? strlen(field) : 0;

    if (!msg_header(x))
        return TRI_NO;
    while (store_hfield_next(x->hdr, x->hlen, &pos, &f)) {
        if (field != NULL && (f.name_len != flen || strncasecmp(f.name, field, flen) != 0))
            continue;
        if (mt->nlen == 0) /* HEADER name "": every message that has the field */
            return TRI_YES;
        if (field_match(mt, field != NULL ? NULL : f.name, f.name_len, f.value, f.value_len))
            return TRI_YES;
    }
    return TRI_NO;
}

/* The message's MIME record (its header fields only), read IMAP_SEARCH_HFIELDS_BATCH at a time;
 * NULL when it has none. */
static const struct store_mime *msg_hfields(struct search_msg *x)
{
    struct imap_search_run *run = x->run;

    if (!x->hf_done) {
        x->hf_done = true;
        x->hf = store_mime_set_next(imapd_store(), run->s->sel.owner, run->s->sel.id, x->m->uid, 0,
                                    IMAP_SEARCH_HFIELDS_BATCH, &run->hfields);
    }
    return x->hf;
}

/* HEADER on a field the MIME record keeps (store-hfield.h): every occurrence of it in the
 * header block, decoded as field_match decodes, so the answer is the block's. MAYBE when the
 * record has no such copy (written before it was kept, or the field too long or not UTF-8). */
static enum tri eval_hfields(struct search_msg *x, struct imap_search_matcher *mt, int id)
{
    enum store_hfield_id fid;
    const char *v;
    size_t pos = 0, vlen;

    if (msg_hfields(x) == NULL || !store_hfields_covers(x->hf->hfields, x->hf->hfields_len, id))
        return TRI_MAYBE;
    while (store_hfields_next(x->hf->hfields, x->hf->hfields_len, &pos, &fid, &v, &vlen)) {
        if ((int)fid != id)
            continue;
        if (mt->nlen == 0)
            return TRI_YES;
        imap_search_matcher_reset(mt);
        imap_search_matcher_feed(mt, v, vlen);
        if (imap_search_matcher_end(mt))
            return TRI_YES;
    }
    return TRI_NO;
}

/* The Date: field's date in its own zone; without a usable one the INTERNALDATE's, as SORT
 * does (RFC 5256 section 2.2). */
static int32_t msg_sent_day(struct search_msg *x)
{
    struct store_hfield f;
    size_t pos = 0;

    if (x->sent_done)
        return x->sent_day;
    x->sent_done = true;
    x->sent_day = imap_search_day_of(x->m->internaldate + (int64_t)x->m->tzoff * 60);
    while (msg_header(x) && store_hfield_next(x->hdr, x->hlen, &pos, &f)) {
        if (f.name_len != 4 || strncasecmp(f.name, "Date", 4) != 0)
            continue;
        char *v = malloc(f.value_len + 1);
        if (v == NULL)
            break;
        store_hfield_unfold(f.value, f.value_len, v);
        GDateTime *dt = g_mime_utils_header_decode_date(v);
        free(v);
        if (dt != NULL) {
            int y, mo, d;
            g_date_time_get_ymd(dt, &y, &mo, &d);
            x->sent_day = imap_search_days_from_civil(y, (unsigned)mo, (unsigned)d);
            g_date_time_unref(dt);
        }
        break;
    }
    return x->sent_day;
}

static bool has_keyword(const char *keywords, const char *kw, size_t len)
{
    for (const char *p = keywords; p != NULL && *p != '\0';) {
        size_t n = strcspn(p, " ");
        if (n == len && strncasecmp(p, kw, len) == 0)
            return true;
        p += n;
        p += *p == ' ';
    }
    return false;
}

static enum tri tri_of(bool b)
{
    return b ? TRI_YES : TRI_NO;
}

/* Kleene's three-valued logic: a key dearer than level is MAYBE until a later pass. */
static enum tri eval(struct search_msg *x, const struct imap_search_key *k,
                     enum imap_search_cost level)
{
    const struct store_msg *m = x->m;
    struct imap_search_matcher *mt = &x->run->matchers[k->index];
    enum tri r, c;

    switch (k->kind) {
    case IMAP_SK_AND:
    case IMAP_SK_OR: {
        enum tri stop = k->kind == IMAP_SK_AND ? TRI_NO : TRI_YES;
        r = k->kind == IMAP_SK_AND ? TRI_YES : TRI_NO;
        for (const struct imap_search_key *op = k->child; op != NULL; op = op->next) {
            if ((c = eval(x, op, level)) == stop)
                return stop;
            if (c == TRI_MAYBE)
                r = TRI_MAYBE;
        }
        return r;
    }
    case IMAP_SK_NOT:
        c = eval(x, k->child, level);
        return c == TRI_MAYBE ? TRI_MAYBE : tri_of(c == TRI_NO);
    default:
        break;
    }
    if (k->cost > level)
        return TRI_MAYBE;
    int32_t day = imap_search_day_of(m->internaldate + (int64_t)m->tzoff * 60);
    switch (k->kind) {
    case IMAP_SK_ALL:
        return TRI_YES;
    case IMAP_SK_FLAG:
        return tri_of(((m->flags & flag_bits[k->flag]) != 0) == k->want);
    case IMAP_SK_KEYWORD:
        return tri_of(has_keyword(m->keywords, k->str, k->len));
    case IMAP_SK_RECENT:
        return tri_of(x->run->s->sel.first_recent != 0 && m->uid >= x->run->s->sel.first_recent);
    case IMAP_SK_SEQSET:
        return tri_of(imap_seqset_contains(&k->set, x->seq));
    case IMAP_SK_UIDSET:
        return tri_of(imap_seqset_contains(&k->set, m->uid));
    case IMAP_SK_LARGER:
        return tri_of(m->size > k->number);
    case IMAP_SK_SMALLER:
        return tri_of(m->size < k->number);
    case IMAP_SK_BEFORE:
        return tri_of(day < k->day);
    case IMAP_SK_ON:
        return tri_of(day == k->day);
    case IMAP_SK_SINCE:
        return tri_of(day >= k->day);
    case IMAP_SK_SENTBEFORE:
        return tri_of(msg_sent_day(x) < k->day);
    case IMAP_SK_SENTON:
        return tri_of(msg_sent_day(x) == k->day);
    case IMAP_SK_SENTSINCE:
        return tri_of(msg_sent_day(x) >= k->day);
    case IMAP_SK_HEADER:
        if (k->cost == IMAP_SEARCH_COST_INDEX &&
            (r = eval_hfields(x, mt, x->run->hfield_ids[k->index])) != TRI_MAYBE)
            return r;
        if (level < IMAP_SEARCH_COST_HEADER)
            return TRI_MAYBE;
        return eval_header(x, mt, k->field);
    case IMAP_SK_BODY:
        return mt->nlen == 0 ? TRI_YES : eval_body(x, mt);
    case IMAP_SK_TEXT:
        if (mt->nlen == 0 || eval_header(x, mt, NULL) == TRI_YES)
            return TRI_YES;
        return eval_body(x, mt);
    default:
        return TRI_NO;
    }
}

/* x against the program in passes from the record up to max: a key the MIME record cannot
 * answer for this message waits for the header block's pass, past the program's own cost. */
static enum tri match_upto(struct search_msg *x, enum imap_search_cost max)
{
    enum tri r = TRI_MAYBE;

    for (unsigned level = IMAP_SEARCH_COST_RECORD; r == TRI_MAYBE && level <= max; level++)
        r = eval(x, x->run->prog.root, (enum imap_search_cost)level);
    msg_clear(x);
    return r;
}

bool imap_search_match(struct imap_search_run *run, const struct store_msg *m)
{
    struct search_msg x = {.run = run, .m = m, .seq = imap_seq_of(run->s, m->uid), .fd = -1};

    return x.seq != 0 && match_upto(&x, IMAP_SEARCH_COST_BODY) == TRI_YES;
}

/* ---- checking a program against the session ---- */

/* An operator's cost again, from its operands' (prepare lowers HEADER keys'). */
static void cost_of_operands(struct imap_search_key *k)
{
    k->cost = IMAP_SEARCH_COST_RECORD;
    for (const struct imap_search_key *op = k->child; op != NULL; op = op->next)
        if (op->cost > k->cost)
            k->cost = op->cost;
}

/* Resolves sequence sets against the view, folds the needles and lowers HEADER keys on the
 * fields the MIME record keeps to its cost; -1 after writing the reply. */
static int prepare(struct imap_search_run *run, const struct imap_cmd *cmd,
                   struct imap_search_key *k, FILE *out)
{
    struct imap_selected *sel = &run->s->sel;

    for (; k != NULL; k = k->next) {
        switch (k->kind) {
        case IMAP_SK_AND:
        case IMAP_SK_OR:
        case IMAP_SK_NOT:
            if (prepare(run, cmd, k->child, out) < 0)
                return -1;
            cost_of_operands(k);
            break;
        case IMAP_SK_SEQSET:
            /* a criterion, not an address: numbers beyond the mailbox match nothing, so the
             * common "SEARCH 1:* ..." works on an empty mailbox too (as in Dovecot and Cyrus) */
            imap_seqset_resolve(&k->set, (uint32_t)sel->n);
            break;
        case IMAP_SK_UIDSET:
            imap_seqset_resolve(&k->set, sel->n > 0 ? sel->uids[sel->n - 1] : 0);
            break;
        case IMAP_SK_HEADER:
            run->hfield_ids[k->index] = (signed char)store_hfield_id(k->field, strlen(k->field));
            if (run->hfield_ids[k->index] >= 0)
                k->cost = IMAP_SEARCH_COST_INDEX;
            __attribute__((fallthrough));
        case IMAP_SK_BODY:
        case IMAP_SK_TEXT:
            if (imap_search_matcher_init(&run->matchers[k->index], k->str, k->len) < 0) {
                imap_out_tagged(out, cmd, "NO", "[SERVERBUG] Out of memory");
                return -1;
            }
            break;
        default:
            break;
        }
    }
    return 0;
}

int imap_search_begin(struct imap_session *s, const struct imap_cmd *cmd,
                      const struct imap_arg *keys, bool charset_allowed,
                      struct imap_search_run **run_r, FILE *out)
{
    struct imap_search_program prog;
    struct imap_search_run *run;
    const char *why, *what;

    *run_r = NULL;
    switch (imap_search_parse(keys, charset_allowed, IMAP_SEARCH_DEPTH_MAX, cmd->arena, &prog, &why,
                              &what)) {
    case IMAP_SEARCH_OK:
        break;
    case IMAP_SEARCH_BADCHARSET:
        imap_out_tagged(out, cmd, "NO", "%s", imap_text_search_badcharset);
        return -1;
    case IMAP_SEARCH_BAD:
        if (why == imap_text_search_depth)
            imap_out_tagged(out, cmd, "BAD", "%s (limit %u)", why, IMAP_SEARCH_DEPTH_MAX);
        else if (what != NULL)
            imap_out_tagged(out, cmd, "BAD", "%s: %.64s", why, what);
        else
            imap_out_tagged(out, cmd, "BAD", "%s", why);
        return -1;
    }
    run = calloc(1, sizeof(*run));
    if (run != NULL) {
        run->s = s;
        run->prog = prog;
        run->matchers = calloc(prog.nkeys, sizeof(*run->matchers));
        run->hfield_ids = calloc(prog.nkeys, sizeof(*run->hfield_ids));
        run->hfields.hfields_only = true;
        if (prog.root->cost == IMAP_SEARCH_COST_BODY)
            run->chunk = malloc(IMAP_SEARCH_CHUNK);
    }
    if (run == NULL || run->matchers == NULL || run->hfield_ids == NULL ||
        (prog.root->cost == IMAP_SEARCH_COST_BODY && run->chunk == NULL)) {
        imap_out_tagged(out, cmd, "NO", "[SERVERBUG] Out of memory");
        imap_search_end(&run);
        return -1;
    }
    if (prepare(run, cmd, run->prog.root, out) < 0) {
        imap_search_end(&run);
        return -1;
    }
    *run_r = run;
    return 0;
}

void imap_search_end(struct imap_search_run **run)
{
    if (*run == NULL)
        return;
    for (unsigned i = 0; (*run)->matchers != NULL && i < (*run)->prog.nkeys; i++)
        imap_search_matcher_free(&(*run)->matchers[i]);
    free((*run)->matchers);
    free((*run)->hfield_ids);
    store_mime_set_clear(&(*run)->hfields);
    free((*run)->chunk);
    free(*run);
    *run = NULL;
}

/* ---- SEARCH over the view alone ---- */

/* Whether the view's UIDs and the MIME records' header fields answer k, with no flag, size,
 * date or file (*fields_r set when a header field is asked about). */
static bool keys_view_only(const struct imap_search_key *k, bool *fields_r)
{
    switch (k->kind) {
    case IMAP_SK_AND:
    case IMAP_SK_OR:
    case IMAP_SK_NOT:
        for (const struct imap_search_key *op = k->child; op != NULL; op = op->next)
            if (!keys_view_only(op, fields_r))
                return false;
        return true;
    case IMAP_SK_ALL:
    case IMAP_SK_RECENT:
    case IMAP_SK_SEQSET:
    case IMAP_SK_UIDSET:
        return true;
    case IMAP_SK_HEADER:
        *fields_r = true;
        return k->cost == IMAP_SEARCH_COST_INDEX;
    default:
        return false;
    }
}

bool imap_search_view_only(const struct imap_search_run *run)
{
    bool fields = false;

    /* without a field to read, listing the records is what tells expunged messages apart */
    return keys_view_only(run->prog.root, &fields) && fields;
}

int imap_search_match_bare(struct imap_search_run *run, uint32_t uid, uint32_t seq)
{
    struct store_msg bare = {.uid = uid};
    struct search_msg x = {.run = run, .m = &bare, .seq = seq, .fd = -1};
    enum tri r;

    /* the MIME record first, whatever the keys: a message without one may have been expunged
     * since the view was taken, which only the listed records tell (search_listed skips it) */
    if (msg_hfields(&x) == NULL)
        return -1;
    r = match_upto(&x, IMAP_SEARCH_COST_INDEX);
    return r == TRI_MAYBE ? -1 : r == TRI_YES;
}
