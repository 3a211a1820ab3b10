/* SORT's pure half (RFC 5256): criteria, keys from the ENVELOPE the store computed at delivery,
 * base subjects, and the comparison. GMime decodes RFC 2047 words and parses Date. */
#include "imapd-sort.h"

#include <gmime/gmime.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd-args.h"

static pthread_once_t imap_sort_gmime_once = PTHREAD_ONCE_INIT;

static void imap_sort_gmime_start(void)
{
    g_mime_init();
}

void imap_sort_init(void)
{
    pthread_once(&imap_sort_gmime_once, imap_sort_gmime_start);
}

/* ---- criteria ---- */

int imap_sort_criteria_parse(const struct imap_arg *arg, struct imap_sort_criterion *crit_r,
                             const char **why_r)
{
    static const struct {
        const char *name;
        enum imap_sort_key key;
    } keys[] = {
        {"ARRIVAL", IMAP_SORT_ARRIVAL}, {"CC", IMAP_SORT_CC},     {"DATE", IMAP_SORT_DATE},
        {"FROM", IMAP_SORT_FROM},       {"SIZE", IMAP_SORT_SIZE}, {"SUBJECT", IMAP_SORT_SUBJECT},
        {"TO", IMAP_SORT_TO},
    };
    const struct imap_arg *it;
    unsigned count;
    int n = 0;
    bool reverse = false;

    if (!imap_arg_get_list(arg, &it, &count) || count == 0) {
        *why_r = "Sort criteria must be a parenthesised list of sort keys";
        return -1;
    }
    for (; it != NULL && count-- > 0; it = it->next) {
        const char *atom;
        size_t i;
        if (!imap_arg_get_atom(it, &atom)) {
            *why_r = "Sort criteria must be sort keys (atoms)";
            return -1;
        }
        /* sort-criterion = ["REVERSE" SP] sort-key: one REVERSE, then a key */
        if (strcasecmp(atom, "REVERSE") == 0 && !reverse) {
            reverse = true;
            continue;
        }
        for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (strcasecmp(atom, keys[i].name) == 0)
                break;
        if (i == sizeof(keys) / sizeof(keys[0])) {
            *why_r = reverse ? "REVERSE must be followed by a sort key" : "Unknown sort key";
            return -1;
        }
        if (n == IMAP_SORT_CRITERIA_MAX) {
            *why_r = "Too many sort criteria";
            return -1;
        }
        crit_r[n].key = keys[i].key;
        crit_r[n++].reverse = reverse;
        reverse = false;
    }
    if (reverse) {
        *why_r = "REVERSE must be followed by a sort key";
        return -1;
    }
    return n;
}

bool imap_sort_needs_envelope(const struct imap_sort_criterion *crit, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (crit[i].key != IMAP_SORT_ARRIVAL && crit[i].key != IMAP_SORT_SIZE)
            return true;
    return false;
}

bool imap_sort_charset_ok(const char *charset)
{
    return strcasecmp(charset, "UTF-8") == 0 || strcasecmp(charset, "US-ASCII") == 0;
}

/* ---- base subject (RFC 5256 section 2.1) ---- */

/* subj-blob = "[" *BLOBCHAR "]" *WSP; its length at p, 0 when none. As Dovecot does, any octet
 * but the brackets counts as BLOBCHAR, so UTF-8 inside a blob does not keep it. */
static size_t subj_blob(const char *p, const char *e)
{
    const char *q = p + 1;

    if (p >= e || *p != '[')
        return 0;
    while (q < e && *q != '[' && *q != ']')
        q++;
    if (q >= e || *q != ']')
        return 0;
    for (q++; q < e && *q == ' ';)
        q++;
    return (size_t)(q - p);
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" */
static size_t subj_refwd(const char *p, const char *e)
{
    const char *q = p;

    if (e - q >= 2 && strncasecmp(q, "re", 2) == 0) {
        q += 2;
    } else if (e - q >= 2 && strncasecmp(q, "fw", 2) == 0) {
        q += 2;
        if (q < e && (*q == 'd' || *q == 'D'))
            q++;
    } else {
        return 0;
    }
    while (q < e && *q == ' ')
        q++;
    q += subj_blob(q, e);
    if (q >= e || *q != ':')
        return 0;
    return (size_t)(q + 1 - p);
}

/* subj-leader = (*subj-blob subj-refwd) / WSP */
static size_t subj_leader(const char *p, const char *e)
{
    const char *q = p;
    size_t n;

    if (p < e && *p == ' ')
        return 1;
    while ((n = subj_blob(q, e)) > 0)
        q += n;
    n = subj_refwd(q, e);
    return n > 0 ? (size_t)(q - p) + n : 0;
}

char *imap_sort_base_subject(const char *raw)
{
    char *dec, *s;
    const char *b, *e;
    size_t o = 0;

    imap_sort_init();
    /* (1) RFC 2047 words to UTF-8; tabs and line ends to spaces; runs of spaces to one */
    dec = raw != NULL ? g_mime_utils_header_decode_text(NULL, raw) : NULL;
    s = malloc(dec != NULL ? strlen(dec) + 1 : 1);
    if (s == NULL) {
        g_free(dec);
        return NULL;
    }
    for (const char *p = dec; p != NULL && *p != '\0'; p++) {
        char c = *p == '\t' || *p == '\r' || *p == '\n' ? ' ' : *p;
        if (c != ' ' || o == 0 || s[o - 1] != ' ')
            s[o++] = c;
    }
    s[o] = '\0';
    g_free(dec);
    b = s;
    e = s + o;
    for (;;) {
        /* (2) trailing subj-trailer = "(fwd)" / WSP, as often as it matches */
        for (;;) {
            if (e > b && e[-1] == ' ')
                e--;
            else if (e - b >= 5 && strncasecmp(e - 5, "(fwd)", 5) == 0)
                e -= 5;
            else
                break;
        }
        /* (3)-(5) leading subj-leader, and a subj-blob when something is left after it */
        for (;;) {
            size_t n = subj_leader(b, e);
            if (n == 0 && (n = subj_blob(b, e)) > 0 && b + n >= e)
                n = 0;
            if (n == 0)
                break;
            b += n;
        }
        /* (6) subj-fwd = "[fwd:" subj-base "]", the base not empty: unwrap, start over */
        if (e - b >= 6 && strncasecmp(b, "[fwd:", 5) == 0 && e[-1] == ']' &&
            strspn(b + 5, " ") < (size_t)(e - b - 6)) {
            b += 5;
            e--;
            continue;
        }
        break;
    }
    memmove(s, b, (size_t)(e - b));
    s[e - b] = '\0';
    return s;
}

/* ---- ENVELOPE text ---- */

struct env_reader {
    const char *p;
    bool bad;
};

static void env_space(struct env_reader *r)
{
    while (*r->p == ' ')
        r->p++;
}

/* An nstring: NULL for NIL (or on error, with r->bad set), else a malloc'd copy. */
static char *env_nstring(struct env_reader *r)
{
    const char *q;
    char *out, *o;

    env_space(r);
    if (r->bad)
        return NULL;
    if (strncasecmp(r->p, "NIL", 3) == 0) {
        r->p += 3;
        return NULL;
    }
    if (*r->p == '"') {
        for (q = r->p + 1; *q != '\0' && *q != '"'; q++)
            if (*q == '\\' && q[1] != '\0')
                q++;
        if (*q != '"' || (out = malloc((size_t)(q - r->p))) == NULL) {
            r->bad = true;
            return NULL;
        }
        o = out;
        for (const char *p = r->p + 1; p < q; p++) {
            if (*p == '\\')
                p++;
            *o++ = *p;
        }
        *o = '\0';
        r->p = q + 1;
        return out;
    }
    if (*r->p == '{') {
        char *end;
        unsigned long len = strtoul(r->p + 1, &end, 10);
        if (end == r->p + 1 || strncmp(end, "}\r\n", 3) != 0 || len > 1u << 24 ||
            strnlen(end + 3, len) != len || (out = malloc(len + 1)) == NULL) {
            r->bad = true;
            return NULL;
        }
        memcpy(out, end + 3, len);
        out[len] = '\0';
        r->p = end + 3 + len;
        return out;
    }
    r->bad = true;
    return NULL;
}

static void env_expect(struct env_reader *r, char c)
{
    env_space(r);
    if (!r->bad && *r->p == c)
        r->p++;
    else
        r->bad = true;
}

/* An address list (or NIL): the addr-mailbox of its first address, "" when that has none,
 * NULL when the list has no address. Group markers (host NIL) are not addresses. */
static char *env_first_mailbox(struct env_reader *r)
{
    char *found = NULL;

    env_space(r);
    if (strncasecmp(r->p, "NIL", 3) == 0) {
        r->p += 3;
        return NULL;
    }
    env_expect(r, '(');
    while (!r->bad) {
        env_space(r);
        if (*r->p == ')') {
            r->p++;
            break;
        }
        env_expect(r, '(');
        char *name = env_nstring(r), *adl = env_nstring(r), *mailbox = env_nstring(r);
        char *host = env_nstring(r);
        env_expect(r, ')');
        if (found == NULL && host != NULL && !r->bad) {
            found = mailbox != NULL ? mailbox : strdup("");
            mailbox = NULL;
        }
        free(name);
        free(adl);
        free(mailbox);
        free(host);
    }
    if (r->bad) {
        free(found);
        return NULL;
    }
    return found;
}

static char *str_or_empty(char *s)
{
    return s != NULL ? s : strdup("");
}

int imap_sort_msg_from_envelope(struct imap_sort_msg *m, const char *envelope)
{
    struct env_reader r = {envelope != NULL ? envelope : "", false};
    char *date = NULL, *subject = NULL, *addr[5] = {NULL}; /* from sender reply-to to cc */

    imap_sort_init();
    m->date = m->arrival;
    env_expect(&r, '(');
    date = env_nstring(&r);
    subject = env_nstring(&r);
    for (size_t i = 0; i < 5 && !r.bad; i++)
        addr[i] = env_first_mailbox(&r);
    if (!r.bad && date != NULL) {
        GDateTime *dt = g_mime_utils_header_decode_date(date);
        if (dt != NULL) {
            m->date = g_date_time_to_unix(dt);
            g_date_time_unref(dt);
        }
    }
    m->subject = imap_sort_base_subject(r.bad ? NULL : subject);
    m->from = str_or_empty(r.bad ? NULL : addr[0]);
    m->to = str_or_empty(r.bad ? NULL : addr[3]);
    m->cc = str_or_empty(r.bad ? NULL : addr[4]);
    if (!r.bad) /* handed over */
        addr[0] = addr[3] = addr[4] = NULL;
    for (size_t i = 0; i < 5; i++)
        free(addr[i]);
    free(date);
    free(subject);
    if (m->subject == NULL || m->from == NULL || m->to == NULL || m->cc == NULL) {
        imap_sort_msg_clear(m);
        return -1;
    }
    return r.bad ? -1 : 0;
}

void imap_sort_msg_clear(struct imap_sort_msg *m)
{
    free(m->from);
    free(m->to);
    free(m->cc);
    free(m->subject);
    m->from = m->to = m->cc = m->subject = NULL;
}

/* ---- ordering ---- */

int imap_sort_casemap_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'a' && x <= 'z')
            x -= 'a' - 'A';
        if (y >= 'a' && y <= 'z')
            y -= 'a' - 'A';
        if (x != y || x == '\0')
            return x < y ? -1 : x > y;
    }
}

struct imap_sort_ctx {
    const struct imap_sort_criterion *crit;
    size_t n;
};

static int imap_sort_str(const char *a, const char *b)
{
    return imap_sort_casemap_cmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int imap_sort_cmp(const void *pa, const void *pb, void *arg)
{
    const struct imap_sort_msg *a = pa, *b = pb;
    const struct imap_sort_ctx *ctx = arg;

    for (size_t i = 0; i < ctx->n; i++) {
        int c = 0;
        switch (ctx->crit[i].key) {
        case IMAP_SORT_ARRIVAL:
            c = a->arrival < b->arrival ? -1 : a->arrival > b->arrival;
            break;
        case IMAP_SORT_DATE:
            c = a->date < b->date ? -1 : a->date > b->date;
            break;
        case IMAP_SORT_SIZE:
            c = a->size < b->size ? -1 : a->size > b->size;
            break;
        case IMAP_SORT_CC:
            c = imap_sort_str(a->cc, b->cc);
            break;
        case IMAP_SORT_FROM:
            c = imap_sort_str(a->from, b->from);
            break;
        case IMAP_SORT_TO:
            c = imap_sort_str(a->to, b->to);
            break;
        case IMAP_SORT_SUBJECT:
            c = imap_sort_str(a->subject, b->subject);
            break;
        }
        if (c != 0)
            return ctx->crit[i].reverse ? -c : c;
    }
    /* RFC 5256 section 3: exact matches stay in mailbox order, whatever REVERSE said */
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void imap_sort_msgs(struct imap_sort_msg *msgs, size_t n, const struct imap_sort_criterion *crit,
                    size_t ncrit)
{
    struct imap_sort_ctx ctx = {crit, ncrit};

    if (n > 1)
        qsort_r(msgs, n, sizeof(*msgs), imap_sort_cmp, &ctx);
}
