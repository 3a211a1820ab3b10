/* Walks a message's MIME tree by its own boundaries (so every part's octet and line counts are
 * exact offsets into the body file) and uses GMime to parse the header fields it meets. */
#include <gmime/gmime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store-mime.h"
#include "store-private.h"

enum part_default { DEFAULT_TEXT, DEFAULT_MESSAGE };

/* The BODYSTRUCTURE text (with extension data) and the BODY text (without) grow together. */
struct mime_out {
    struct store_buf bs, body;
    const char *b; /* the message */
};

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

static void gmime_start(void)
{
    g_mime_init();
}

void store_gmime_init(void)
{
    pthread_once(&gmime_once, gmime_start);
}

/* ---- header blocks ---- */

static size_t line_end(const char *b, size_t p, size_t end)
{
    const char *q = memchr(b + p, '\n', end - p);

    return q ? (size_t)(q - b) + 1 : end;
}

/* Splits [start, end) into the header block [start, *hend) and the body [*bstart, end). */
static void split_headers(const char *b, size_t start, size_t end, size_t *hend, size_t *bstart)
{
    size_t p = start, e;

    while (p < end) {
        e = line_end(b, p, end);
        if ((e - p == 1 && b[p] == '\n') || (e - p == 2 && b[p] == '\r' && b[p + 1] == '\n')) {
            *hend = p;
            *bstart = e;
            return;
        }
        p = e;
    }
    *hend = *bstart = end; /* no blank line: all header */
}

/* The first field called name, unfolded and trimmed (RFC 5322 2.2.3); NULL when absent. */
static char *header_get(const char *b, size_t hs, size_t he, const char *name)
{
    size_t nlen = strlen(name), p = hs, e, v;
    struct store_buf out = {0};

    while (p < he) {
        e = line_end(b, p, he);
        if (e - p > nlen && b[p] != ' ' && b[p] != '\t' && b[p + nlen] == ':' &&
            strncasecmp(b + p, name, nlen) == 0)
            break;
        p = e;
    }
    if (p >= he)
        return NULL;
    v = p + nlen + 1;
    do {
        for (; v < e; v++)
            if (b[v] != '\r' && b[v] != '\n')
                store_buf_addc(&out, b[v]);
        v = e;
        e = line_end(b, v, he);
    } while (v < he && (b[v] == ' ' || b[v] == '\t'));
    store_buf_addc(&out, '\0');
    char *s = (char *)out.data, *t = s + strspn(s, " \t");
    size_t n = strlen(t);
    while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    memmove(s, t, n);
    s[n] = '\0';
    return s;
}

/* ---- IMAP strings ---- */

static void imap_string(struct store_buf *o, const char *s, size_t len)
{
    bool quotable = len < 1024;

    for (size_t i = 0; quotable && i < len; i++)
        quotable = s[i] > 0 && (unsigned char)s[i] < 0x80 && s[i] != '\r' && s[i] != '\n';
    if (!quotable) {
        store_buf_printf(o, "{%zu}\r\n", len);
        store_buf_add(o, s, len);
        return;
    }
    store_buf_addc(o, '"');
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            store_buf_addc(o, '\\');
        store_buf_addc(o, s[i]);
    }
    store_buf_addc(o, '"');
}

static void imap_nstring(struct store_buf *o, const char *s)
{
    if (s == NULL)
        store_buf_adds(o, "NIL");
    else
        imap_string(o, s, strlen(s));
}

static void both_adds(struct mime_out *o, const char *s)
{
    store_buf_adds(&o->bs, s);
    store_buf_adds(&o->body, s);
}

static void both_nstring(struct mime_out *o, const char *s)
{
    imap_nstring(&o->bs, s);
    imap_nstring(&o->body, s);
}

/* ---- ENVELOPE ---- */

static void address_one(struct store_buf *o, InternetAddress *ia)
{
    const char *name = internet_address_get_name(ia), *addr, *at;
    char *enc = NULL;
    bool ascii = true;

    if (name != NULL && *name == '\0')
        name = NULL;
    for (const char *p = name; p && *p; p++)
        ascii = ascii && (unsigned char)*p < 0x80;
    /* GMime hands names back decoded; ENVELOPE carries them as RFC 2047 words. */
    if (!ascii)
        name = enc = g_mime_utils_header_encode_phrase(NULL, name, "utf-8");
    store_buf_addc(o, '(');
    imap_nstring(o, name);
    store_buf_adds(o, " NIL ");
    addr = internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia));
    at = addr ? strrchr(addr, '@') : NULL;
    if (addr == NULL || *addr == '\0')
        store_buf_adds(o, "NIL \"\"");
    else if (at == NULL) {
        imap_string(o, addr, strlen(addr));
        store_buf_adds(o, " \"\"");
    } else {
        imap_string(o, addr, (size_t)(at - addr));
        store_buf_addc(o, ' ');
        imap_string(o, at + 1, strlen(at + 1));
    }
    store_buf_addc(o, ')');
    g_free(enc);
}

static void address_list(struct store_buf *o, InternetAddressList *l)
{
    for (int i = 0; i < internet_address_list_length(l); i++) {
        InternetAddress *ia = internet_address_list_get_address(l, i);

        if (INTERNET_ADDRESS_IS_GROUP(ia)) {
            /* RFC 3501 7.4.2: a group is a start marker with its name, then its members,
             * then an end marker. */
            store_buf_adds(o, "(NIL NIL ");
            imap_nstring(o, internet_address_get_name(ia) ? internet_address_get_name(ia) : "");
            store_buf_adds(o, " NIL)");
            address_list(o, internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia)));
            store_buf_adds(o, "(NIL NIL NIL NIL)");
        } else if (INTERNET_ADDRESS_IS_MAILBOX(ia)) {
            address_one(o, ia);
        }
    }
}

/* Writes the address list of value, or NIL; returns whether it wrote any address. */
static bool addresses(struct store_buf *o, const char *value)
{
    InternetAddressList *l = value && *value ? internet_address_list_parse(NULL, value) : NULL;
    bool any = l != NULL && internet_address_list_length(l) > 0;

    if (any) {
        store_buf_addc(o, '(');
        address_list(o, l);
        store_buf_addc(o, ')');
    } else {
        store_buf_adds(o, "NIL");
    }
    if (l != NULL)
        g_object_unref(l);
    return any;
}

static void envelope(struct store_buf *o, const char *b, size_t hs, size_t he)
{
    static const char *const plain1[] = {"date", "subject"};
    static const char *const addr[] = {"to", "cc", "bcc"};
    static const char *const plain2[] = {"in-reply-to", "message-id"};
    struct store_buf from = {0};
    char *v;

    store_buf_addc(o, '(');
    for (size_t i = 0; i < 2; i++) {
        v = header_get(b, hs, he, plain1[i]);
        imap_nstring(o, v);
        store_buf_addc(o, ' ');
        free(v);
    }
    v = header_get(b, hs, he, "from");
    addresses(&from, v);
    free(v);
    store_buf_add(o, from.data, from.len);
    /* Sender and Reply-To default to From when absent or empty (RFC 3501 7.4.2). */
    for (size_t i = 0; i < 2; i++) {
        struct store_buf t = {0};

        v = header_get(b, hs, he, i == 0 ? "sender" : "reply-to");
        store_buf_addc(o, ' ');
        if (addresses(&t, v))
            store_buf_add(o, t.data, t.len);
        else
            store_buf_add(o, from.data, from.len);
        store_buf_free(&t);
        free(v);
    }
    for (size_t i = 0; i < 3; i++) {
        v = header_get(b, hs, he, addr[i]);
        store_buf_addc(o, ' ');
        addresses(o, v);
        free(v);
    }
    for (size_t i = 0; i < 2; i++) {
        v = header_get(b, hs, he, plain2[i]);
        store_buf_addc(o, ' ');
        imap_nstring(o, v);
        free(v);
    }
    store_buf_addc(o, ')');
    store_buf_free(&from);
}

/* ---- BODYSTRUCTURE ---- */

static size_t count_lines(const char *b, size_t s, size_t e)
{
    size_t n = 0;

    for (const char *p = b + s; (p = memchr(p, '\n', (size_t)(b + e - p))) != NULL; p++)
        n++;
    if (e > s && b[e - 1] != '\n')
        n++;
    return n;
}

static void param_list(struct store_buf *o, GMimeParamList *pl, bool default_charset)
{
    int n = pl ? g_mime_param_list_length(pl) : 0;

    if (n == 0 && !default_charset) {
        store_buf_adds(o, "NIL");
        return;
    }
    store_buf_addc(o, '(');
    if (n == 0)
        store_buf_adds(o, "\"charset\" \"us-ascii\"");
    for (int i = 0; i < n; i++) {
        GMimeParam *p = g_mime_param_list_get_parameter_at(pl, i);
        const char *name = g_mime_param_get_name(p), *value = g_mime_param_get_value(p);

        if (i > 0)
            store_buf_addc(o, ' ');
        imap_nstring(o, name ? name : "");
        store_buf_addc(o, ' ');
        imap_nstring(o, value ? value : "");
    }
    store_buf_addc(o, ')');
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc, the tail of every extension block. */
static void ext_tail(struct store_buf *o, const char *b, size_t hs, size_t he)
{
    char *dsp = header_get(b, hs, he, "content-disposition");
    char *lang = header_get(b, hs, he, "content-language");
    char *loc = header_get(b, hs, he, "content-location");
    GMimeContentDisposition *cd = dsp && *dsp ? g_mime_content_disposition_parse(NULL, dsp) : NULL;

    if (cd != NULL && g_mime_content_disposition_get_disposition(cd) != NULL) {
        store_buf_addc(o, '(');
        imap_nstring(o, g_mime_content_disposition_get_disposition(cd));
        store_buf_addc(o, ' ');
        param_list(o, g_mime_content_disposition_get_parameters(cd), false);
        store_buf_addc(o, ')');
    } else {
        store_buf_adds(o, "NIL");
    }
    store_buf_addc(o, ' ');
    if (lang == NULL || *lang == '\0') {
        store_buf_adds(o, "NIL");
    } else {
        /* One tag as a string, several as a list (RFC 3501 body-fld-lang). */
        size_t ntags = 1;
        for (const char *p = lang; *p; p++)
            ntags += *p == ',';
        if (ntags > 1)
            store_buf_addc(o, '(');
        for (char *tok, *save = NULL, *s = lang; (tok = strtok_r(s, ", \t", &save)) != NULL;
             s = NULL) {
            if (s == NULL)
                store_buf_addc(o, ' ');
            imap_nstring(o, tok);
        }
        if (ntags > 1)
            store_buf_addc(o, ')');
    }
    store_buf_addc(o, ' ');
    imap_nstring(o, loc && *loc ? loc : NULL);
    if (cd != NULL)
        g_object_unref(cd);
    free(dsp);
    free(lang);
    free(loc);
}

static void part(struct mime_out *o, size_t start, size_t end, enum part_default def, int depth);

/* Delimiter line "--boundary" or "--boundary--" with optional trailing blanks (RFC 2046 5.1.1). */
static bool is_delimiter(const char *b, size_t p, size_t e, const char *bnd, size_t blen,
                         bool *close)
{
    size_t q = p + 2 + blen;

    if (e - p < 2 + blen || b[p] != '-' || b[p + 1] != '-' || memcmp(b + p + 2, bnd, blen) != 0)
        return false;
    *close = q + 1 < e && b[q] == '-' && b[q + 1] == '-';
    if (*close)
        q += 2;
    for (; q < e; q++)
        if (b[q] != ' ' && b[q] != '\t' && b[q] != '\r' && b[q] != '\n')
            return false;
    return true;
}

static void multipart(struct mime_out *o, size_t hs, size_t he, size_t bs, size_t be,
                      GMimeContentType *ct, const char *bnd, int depth)
{
    const char *b = o->b, *sub = g_mime_content_type_get_media_subtype(ct);
    enum part_default def =
        strcasecmp(sub ? sub : "", "digest") == 0 ? DEFAULT_MESSAGE : DEFAULT_TEXT;
    size_t blen = strlen(bnd), p = bs, e, part_start = 0, nparts = 0;
    bool in_part = false, close = false;

    both_adds(o, "(");
    while (p < be && !close) {
        e = line_end(b, p, be);
        if (is_delimiter(b, p, e, bnd, blen, &close)) {
            if (in_part) {
                /* The line break before a delimiter belongs to the delimiter. */
                size_t pe = p;
                if (pe > part_start && b[pe - 1] == '\n')
                    pe--;
                if (pe > part_start && b[pe - 1] == '\r')
                    pe--;
                part(o, part_start, pe, def, depth + 1);
                nparts++;
            }
            in_part = !close;
            part_start = e;
        }
        p = e;
    }
    if (in_part) { /* no closing delimiter: the last part runs to the end */
        part(o, part_start, be, def, depth + 1);
        nparts++;
    }
    if (nparts == 0) /* the grammar needs one body; an empty text part stands in */
        part(o, be, be, DEFAULT_TEXT, depth + 1);
    both_adds(o, " ");
    both_nstring(o, sub ? sub : "mixed");
    store_buf_addc(&o->bs, ' ');
    param_list(&o->bs, g_mime_content_type_get_parameters(ct), false);
    store_buf_addc(&o->bs, ' ');
    ext_tail(&o->bs, b, hs, he);
    both_adds(o, ")");
}

static void leaf(struct mime_out *o, size_t hs, size_t he, size_t bs, size_t be,
                 GMimeContentType *ct, const char *type, const char *sub, int depth)
{
    const char *b = o->b;
    char *id = header_get(b, hs, he, "content-id");
    char *desc = header_get(b, hs, he, "content-description");
    char *enc = header_get(b, hs, he, "content-transfer-encoding");
    char *md5 = header_get(b, hs, he, "content-md5");
    bool text = strcasecmp(type, "text") == 0;
    bool encoded =
        enc && (strcasecmp(enc, "base64") == 0 || strcasecmp(enc, "quoted-printable") == 0);
    bool rfc822 = strcasecmp(type, "message") == 0 && strcasecmp(sub, "rfc822") == 0 && !encoded &&
                  depth < STORE_MIME_MAX_DEPTH;
    struct store_buf tmp = {0};

    both_adds(o, "(");
    both_nstring(o, type);
    both_adds(o, " ");
    both_nstring(o, sub);
    both_adds(o, " ");
    param_list(&tmp, ct ? g_mime_content_type_get_parameters(ct) : NULL, ct == NULL && text);
    both_adds(o, (const char *)tmp.data);
    both_adds(o, " ");
    both_nstring(o, id);
    both_adds(o, " ");
    both_nstring(o, desc);
    both_adds(o, " ");
    both_nstring(o, enc && *enc ? enc : "7BIT");
    tmp.len = 0;
    store_buf_printf(&tmp, " %zu", be - bs);
    both_adds(o, (const char *)tmp.data);
    if (rfc822) {
        size_t ihe, ibs;

        split_headers(b, bs, be, &ihe, &ibs);
        both_adds(o, " ");
        tmp.len = 0;
        envelope(&tmp, b, bs, ihe);
        both_adds(o, (const char *)tmp.data);
        both_adds(o, " ");
        part(o, bs, be, DEFAULT_TEXT, depth + 1);
    }
    if (text || rfc822) {
        tmp.len = 0;
        store_buf_printf(&tmp, " %zu", count_lines(b, bs, be));
        both_adds(o, (const char *)tmp.data);
    }
    store_buf_addc(&o->bs, ' ');
    imap_nstring(&o->bs, md5);
    store_buf_addc(&o->bs, ' ');
    ext_tail(&o->bs, b, hs, he);
    both_adds(o, ")");
    store_buf_free(&tmp);
    free(id);
    free(desc);
    free(enc);
    free(md5);
}

static void part(struct mime_out *o, size_t start, size_t end, enum part_default def, int depth)
{
    size_t he, bs;
    char *ctv;
    GMimeContentType *ct = NULL;
    const char *type = "text", *sub = "plain", *bnd;

    split_headers(o->b, start, end, &he, &bs);
    ctv = header_get(o->b, start, he, "content-type");
    if (ctv != NULL && *ctv != '\0')
        ct = g_mime_content_type_parse(NULL, ctv);
    if (ct != NULL) {
        type = g_mime_content_type_get_media_type(ct);
        sub = g_mime_content_type_get_media_subtype(ct);
        if (type == NULL || sub == NULL) {
            type = "text";
            sub = "plain";
        }
    } else if (def == DEFAULT_MESSAGE) {
        type = "message";
        sub = "rfc822";
    }
    bnd = ct ? g_mime_content_type_get_parameter(ct, "boundary") : NULL;
    if (ct != NULL && strcasecmp(type, "multipart") == 0 && bnd != NULL && *bnd != '\0' &&
        depth < STORE_MIME_MAX_DEPTH)
        multipart(o, start, he, bs, end, ct, bnd, depth);
    else
        leaf(o, start, he, bs, end, ct, type, sub, depth);
    if (ct != NULL)
        g_object_unref(ct);
    free(ctv);
}

void store_mime_compute(const char *buf, size_t len, struct store_mime *mime_r,
                        uint32_t *header_size_r)
{
    struct mime_out o = {{0}, {0}, buf};
    struct store_buf env = {0}, hf = {0};
    size_t he, bs;

    store_gmime_init();
    split_headers(buf, 0, len, &he, &bs);
    *header_size_r = bs > UINT32_MAX ? UINT32_MAX : (uint32_t)bs;
    envelope(&env, buf, 0, he);
    part(&o, 0, len, DEFAULT_TEXT, 0);
    mime_r->envelope = store_buf_steal(&env);
    mime_r->bodystructure = store_buf_steal(&o.bs);
    mime_r->body = store_buf_steal(&o.body);
    store_hfields_compute(buf, len, bs, &hf);
    mime_r->hfields_len = hf.len;
    mime_r->hfields = (unsigned char *)store_buf_steal(&hf);
}
