/* The SEARCH program parser (RFC 3501 section 9, search-key): a pure function of the parsed
 * arguments that builds a tree of keys in the command's arena, with nesting bounded. */
#include "imapd-search.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "imapd-arena.h"
#include "imapd-args.h"

struct search_parser {
    struct imap_arena *a;
    unsigned depth_max, nkeys;
    const char *why, *what;
};

enum key_arg { ARG_NONE, ARG_STRING, ARG_DATE, ARG_NUMBER, ARG_KEYWORD, ARG_HEADER };

/* Every key of RFC 3501 6.4.4 but NOT, OR, UID, sequence sets and lists, which nest. */
static const struct {
    const char *name;
    enum imap_search_kind kind;
    enum key_arg arg;
    enum imap_search_flag flag; /* FLAG */
    bool want;                  /* FLAG; KEYWORD: false for UNKEYWORD */
    const char *field;          /* HEADER */
} search_keys[] = {
    {"ALL", IMAP_SK_ALL, ARG_NONE, 0, false, NULL},
    {"ANSWERED", IMAP_SK_FLAG, ARG_NONE, IMAP_SF_ANSWERED, true, NULL},
    {"BCC", IMAP_SK_HEADER, ARG_STRING, 0, false, "BCC"},
    {"BEFORE", IMAP_SK_BEFORE, ARG_DATE, 0, false, NULL},
    {"BODY", IMAP_SK_BODY, ARG_STRING, 0, false, NULL},
    {"CC", IMAP_SK_HEADER, ARG_STRING, 0, false, "CC"},
    {"DELETED", IMAP_SK_FLAG, ARG_NONE, IMAP_SF_DELETED, true, NULL},
    {"DRAFT", IMAP_SK_FLAG, ARG_NONE, IMAP_SF_DRAFT, true, NULL},
    {"FLAGGED", IMAP_SK_FLAG, ARG_NONE, IMAP_SF_FLAGGED, true, NULL},
    {"FROM", IMAP_SK_HEADER, ARG_STRING, 0, false, "FROM"},
    {"HEADER", IMAP_SK_HEADER, ARG_HEADER, 0, false, NULL},
    {"KEYWORD", IMAP_SK_KEYWORD, ARG_KEYWORD, 0, true, NULL},
    {"LARGER", IMAP_SK_LARGER, ARG_NUMBER, 0, false, NULL},
    {"NEW", IMAP_SK_RECENT, ARG_NONE, 0, false, NULL}, /* RECENT UNSEEN, built below */
    {"OLD", IMAP_SK_RECENT, ARG_NONE, 0, false, NULL}, /* NOT RECENT, built below */
    {"ON", IMAP_SK_ON, ARG_DATE, 0, false, NULL},
    {"RECENT", IMAP_SK_RECENT, ARG_NONE, 0, false, NULL},
    {"SEEN", IMAP_SK_FLAG, ARG_NONE, IMAP_SF_SEEN, true, NULL},
    {"SENTBEFORE", IMAP_SK_SENTBEFORE, ARG_DATE, 0, false, NULL},
    {"SENTON", IMAP_SK_SENTON, ARG_DATE, 0, false, NULL},
    {"SENTSINCE", IMAP_SK_SENTSINCE, ARG_DATE, 0, false, NULL},
    {"SINCE", IMAP_SK_SINCE, ARG_DATE, 0, false, NULL},
    {"SMALLER", IMAP_SK_SMALLER, ARG_NUMBER, 0, false, NULL},
    {"SUBJECT", IMAP_SK_HEADER, ARG_STRING, 0, false, "SUBJECT"},
    {"TEXT", IMAP_SK_TEXT, ARG_STRING, 0, false, NULL},
    {"TO", IMAP_SK_HEADER, ARG_STRING, 0, false, "TO"},
    {"UNANSWERED", IMAP_SK_FLAG, ARG_NONE, IMAP_SF_ANSWERED, false, NULL},
    {"UNDELETED", IMAP_SK_FLAG, ARG_NONE, IMAP_SF_DELETED, false, NULL},
    {"UNDRAFT", IMAP_SK_FLAG, ARG_NONE, IMAP_SF_DRAFT, false, NULL},
    {"UNFLAGGED", IMAP_SK_FLAG, ARG_NONE, IMAP_SF_FLAGGED, false, NULL},
    {"UNKEYWORD", IMAP_SK_KEYWORD, ARG_KEYWORD, 0, false, NULL},
    {"UNSEEN", IMAP_SK_FLAG, ARG_NONE, IMAP_SF_SEEN, false, NULL},
};

static const char *const flag_names[] = {
    [IMAP_SF_SEEN] = "SEEN",       [IMAP_SF_ANSWERED] = "ANSWERED", [IMAP_SF_FLAGGED] = "FLAGGED",
    [IMAP_SF_DELETED] = "DELETED", [IMAP_SF_DRAFT] = "DRAFT",
};

static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool imap_search_charset_ok(const char *charset, size_t len)
{
    return (len == 5 && strncasecmp(charset, "UTF-8", 5) == 0) ||
           (len == 8 && strncasecmp(charset, "US-ASCII", 8) == 0);
}

/* ---- dates ---- */

int32_t imap_search_days_from_civil(int year, unsigned month, unsigned day)
{
    /* H. Hinnant's days_from_civil: March-based years make the leap day the last one */
    int y = year - (month <= 2);
    int era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + (int32_t)doe - 719468;
}

int32_t imap_search_day_of(int64_t t)
{
    int64_t d = t / 86400;

    if (t % 86400 < 0) /* floor, for times before 1970 */
        d--;
    if (d > INT32_MAX)
        return INT32_MAX;
    if (d < INT32_MIN)
        return INT32_MIN;
    return (int32_t)d;
}

static void civil_from_days(int32_t z, int *y_r, unsigned *m_r, unsigned *d_r)
{
    int64_t zz = (int64_t)z + 719468;
    int64_t era = (zz >= 0 ? zz : zz - 146096) / 146097;
    unsigned doe = (unsigned)(zz - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *d_r = doy - (153 * mp + 2) / 5 + 1;
    *m_r = mp < 10 ? mp + 3 : mp - 9;
    *y_r = (int)(yoe + era * 400) + (*m_r <= 2);
}

int imap_search_parse_date(const char *s, size_t len, int32_t *day_r)
{
    static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t i = 0;
    unsigned day = 0, month, year = 0;

    /* date-day = 1*2DIGIT */
    while (i < len && i < 2 && s[i] >= '0' && s[i] <= '9')
        day = day * 10 + (unsigned)(s[i++] - '0');
    if (i == 0 || i + 9 != len || s[i] != '-' || s[i + 4] != '-')
        return -1;
    for (month = 0; month < 12; month++)
        if (strncasecmp(s + i + 1, month_names[month], 3) == 0)
            break;
    if (month == 12)
        return -1;
    for (size_t k = i + 5; k < len; k++) {
        if (s[k] < '0' || s[k] > '9')
            return -1;
        year = year * 10 + (unsigned)(s[k] - '0');
    }
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day == 0 || day > mdays[month] || (month == 1 && day == 29 && !leap))
        return -1;
    *day_r = imap_search_days_from_civil((int)year, month + 1, day);
    return 0;
}

/* ---- the parser ---- */

static struct imap_search_key *key_new(struct search_parser *p, enum imap_search_kind kind)
{
    struct imap_search_key *k = imap_arena_alloc(p->a, sizeof(*k));

    if (k == NULL) {
        p->why = imap_text_nomem;
        p->what = NULL;
        return NULL;
    }
    k->kind = kind;
    k->index = p->nkeys++;
    switch (kind) {
    case IMAP_SK_HEADER:
    case IMAP_SK_SENTBEFORE:
    case IMAP_SK_SENTON:
    case IMAP_SK_SENTSINCE:
        k->cost = IMAP_SEARCH_COST_HEADER;
        break;
    case IMAP_SK_BODY:
    case IMAP_SK_TEXT:
        k->cost = IMAP_SEARCH_COST_BODY;
        break;
    default:
        k->cost = IMAP_SEARCH_COST_RECORD;
        break;
    }
    return k;
}

/* Appends child to parent's operands, keeping parent's cost the dearest of them. */
static void key_add(struct imap_search_key *parent, struct imap_search_key **last,
                    struct imap_search_key *child)
{
    if (*last == NULL)
        parent->child = child;
    else
        (*last)->next = child;
    *last = child;
    if (child->cost > parent->cost)
        parent->cost = child->cost;
}

static void *parse_fail(struct search_parser *p, const char *why, const char *what)
{
    p->why = why;
    p->what = what;
    return NULL;
}

static struct imap_search_key *parse_key(struct search_parser *p, const struct imap_arg **argp,
                                         unsigned depth);

/* Keys from first on, to the end of their list, as operands of an AND. */
static struct imap_search_key *parse_and(struct search_parser *p, const struct imap_arg *first,
                                         unsigned depth)
{
    struct imap_search_key *and = key_new(p, IMAP_SK_AND), *last = NULL;

    if (and == NULL)
        return NULL;
    for (const struct imap_arg *a = first; a != NULL;) {
        struct imap_search_key *k = parse_key(p, &a, depth);
        if (k == NULL)
            return NULL;
        key_add(and, &last, k);
    }
    return and;
}

/* The operand of NOT or OR, one level deeper. */
static struct imap_search_key *parse_operand(struct search_parser *p, const struct imap_arg **argp,
                                             unsigned depth, const char *key)
{
    if (*argp == NULL)
        return parse_fail(p, imap_text_search_missing, key);
    if (depth + 1 > p->depth_max)
        return parse_fail(p, imap_text_search_depth, NULL);
    return parse_key(p, argp, depth + 1);
}

static bool parse_number(const char *s, uint64_t *n_r)
{
    uint64_t n = 0;

    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || n > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return false;
        n = n * 10 + (uint64_t)(*s - '0');
    }
    *n_r = n;
    return true;
}

/* The argument(s) of a table key into k; false after parse_fail. */
static bool parse_key_arg(struct search_parser *p, const struct imap_arg **argp, size_t t,
                          struct imap_search_key *k)
{
    const char *name = search_keys[t].name, *s;
    size_t len;

    switch (search_keys[t].arg) {
    case ARG_NONE:
        return true;
    case ARG_HEADER:
        if (!imap_arg_get_astring(*argp, &s, &len) || strlen(s) != len || len == 0)
            return parse_fail(p, imap_text_search_argument, name);
        k->field = s;
        *argp = (*argp)->next;
        __attribute__((fallthrough)); /* then the string */
    case ARG_STRING:
        if (!imap_arg_get_astring(*argp, &k->str, &k->len))
            return parse_fail(p, imap_text_search_argument, name);
        break;
    case ARG_DATE:
        if (!imap_arg_get_astring(*argp, &s, &len))
            return parse_fail(p, imap_text_search_argument, name);
        if (imap_search_parse_date(s, len, &k->day) < 0)
            return parse_fail(p, imap_text_search_date, NULL);
        break;
    case ARG_NUMBER:
        if (!imap_arg_get_atom(*argp, &s) || !parse_number(s, &k->number))
            return parse_fail(p, imap_text_search_number, name);
        break;
    case ARG_KEYWORD:
        if (!imap_arg_get_atom(*argp, &k->str))
            return parse_fail(p, imap_text_search_argument, name);
        k->len = strlen(k->str);
        break;
    }
    *argp = (*argp)->next;
    return true;
}

/* KEYWORD \Seen and the like: the system flag itself (clients send them). */
static struct imap_search_key *keyword_as_flag(struct search_parser *p, struct imap_search_key *k,
                                               bool want)
{
    for (size_t f = 0; f < sizeof(flag_names) / sizeof(flag_names[0]); f++) {
        if (strcasecmp(k->str + 1, flag_names[f]) == 0) {
            k->kind = IMAP_SK_FLAG;
            k->flag = (enum imap_search_flag)f;
            k->want = want;
            return k;
        }
    }
    if (strcasecmp(k->str, "\\Recent") == 0) {
        k->kind = IMAP_SK_RECENT;
        if (want)
            return k;
        struct imap_search_key *not = key_new(p, IMAP_SK_NOT);
        if (not != NULL)
            not ->child = k;
        return not ;
    }
    return parse_fail(p, imap_text_search_keyword, NULL);
}

/* One search-key at *argp (with its arguments), advancing *argp past them. */
static struct imap_search_key *parse_key(struct search_parser *p, const struct imap_arg **argp,
                                         unsigned depth)
{
    const struct imap_arg *arg = *argp;
    const struct imap_arg *first;
    struct imap_search_key *k;
    const char *atom, *why;
    unsigned count;

    if (imap_arg_get_list(arg, &first, &count)) {
        if (count == 0)
            return parse_fail(p, imap_text_search_empty, NULL);
        if (depth + 1 > p->depth_max)
            return parse_fail(p, imap_text_search_depth, NULL);
        *argp = arg->next;
        return parse_and(p, first, depth + 1);
    }
    if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL)
        return parse_fail(p, imap_text_search_not_key, NULL);
    atom = arg->str;
    *argp = arg->next;
    for (size_t t = 0; t < sizeof(search_keys) / sizeof(search_keys[0]); t++) {
        if (strcasecmp(atom, search_keys[t].name) != 0)
            continue;
        if ((k = key_new(p, search_keys[t].kind)) == NULL)
            return NULL;
        k->flag = search_keys[t].flag;
        k->want = search_keys[t].want;
        k->field = search_keys[t].field;
        if (!parse_key_arg(p, argp, t, k))
            return NULL;
        if (k->kind == IMAP_SK_KEYWORD && k->str[0] == '\\')
            k = keyword_as_flag(p, k, k->want);
        if (k != NULL && k->kind == IMAP_SK_KEYWORD && !k->want) { /* UNKEYWORD */
            struct imap_search_key *not = key_new(p, IMAP_SK_NOT);
            if (not != NULL)
                not ->child = k;
            k = not ;
        }
        if (k != NULL && strcasecmp(atom, "NEW") == 0) {
            struct imap_search_key *and = key_new(p, IMAP_SK_AND), *last = NULL;
            struct imap_search_key *unseen = key_new(p, IMAP_SK_FLAG);
            if (and == NULL || unseen == NULL)
                return NULL;
            unseen->flag = IMAP_SF_SEEN;
            key_add(and, &last, k);
            key_add(and, &last, unseen);
            k = and;
        } else if (k != NULL && strcasecmp(atom, "OLD") == 0) {
            struct imap_search_key *not = key_new(p, IMAP_SK_NOT);
            if (not != NULL)
                not ->child = k;
            k = not ;
        }
        return k;
    }
    if (strcasecmp(atom, "NOT") == 0) {
        struct imap_search_key *not = key_new(p, IMAP_SK_NOT), *last = NULL;
        if (not == NULL || (k = parse_operand(p, argp, depth, "NOT")) == NULL)
            return NULL;
        key_add(not, &last, k);
        return not ;
    }
    if (strcasecmp(atom, "OR") == 0) {
        struct imap_search_key * or = key_new(p, IMAP_SK_OR), *last = NULL;
        for (int i = 0; i < 2; i++) {
            if (or == NULL || (k = parse_operand(p, argp, depth, "OR")) == NULL)
                return NULL;
            key_add(or, &last, k);
        }
        return or ;
    }
    bool uid = strcasecmp(atom, "UID") == 0;
    if (uid) {
        if (!imap_arg_get_atom(*argp, &atom))
            return parse_fail(p, imap_text_search_argument, "UID");
        *argp = (*argp)->next;
    } else if (!((atom[0] >= '0' && atom[0] <= '9') || atom[0] == '*')) {
        return parse_fail(p, imap_text_search_unknown, atom);
    }
    if ((k = key_new(p, uid ? IMAP_SK_UIDSET : IMAP_SK_SEQSET)) == NULL)
        return NULL;
    if (imap_seqset_parse(atom, strlen(atom), p->a, &k->set, &why) < 0)
        return parse_fail(p, why, NULL);
    return k;
}

enum imap_search_status imap_search_parse(const struct imap_arg *keys, bool charset_allowed,
                                          unsigned depth_max, struct imap_arena *a,
                                          struct imap_search_program *prog_r, const char **why_r,
                                          const char **what_r)
{
    struct search_parser p = {.a = a, .depth_max = depth_max};
    const char *atom, *charset = "US-ASCII";
    size_t charset_len = 8;

    memset(prog_r, 0, sizeof(*prog_r));
    *what_r = NULL;
    if (charset_allowed && imap_arg_get_atom(keys, &atom) && strcasecmp(atom, "CHARSET") == 0) {
        if (!imap_arg_get_astring(keys->next, &charset, &charset_len)) {
            *why_r = imap_text_search_charset;
            return IMAP_SEARCH_BAD;
        }
        keys = keys->next->next;
    }
    if (keys == NULL) {
        *why_r = imap_text_search_none;
        return IMAP_SEARCH_BAD;
    }
    prog_r->root = parse_and(&p, keys, 0);
    if (prog_r->root == NULL) {
        *why_r = p.why;
        *what_r = p.what;
        return IMAP_SEARCH_BAD;
    }
    prog_r->charset = charset;
    prog_r->nkeys = p.nkeys;
    if (strlen(charset) != charset_len || !imap_search_charset_ok(charset, charset_len))
        return IMAP_SEARCH_BADCHARSET;
    return IMAP_SEARCH_OK;
}

/* ---- the tree as text ---- */

struct dump {
    char *buf;
    size_t size, n;
};

static void __attribute__((format(printf, 2, 3))) dump_printf(struct dump *d, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vsnprintf(d->n < d->size ? d->buf + d->n : NULL, d->n < d->size ? d->size - d->n : 0, fmt,
                  ap);
    va_end(ap);
    if (r > 0)
        d->n += (size_t)r;
}

static void dump_string(struct dump *d, const char *s, size_t len)
{
    dump_printf(d, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            dump_printf(d, "\\x%02x", c);
        else
            dump_printf(d, "%c", c);
    }
    dump_printf(d, "\"");
}

static void dump_key(struct dump *d, const struct imap_search_key *k)
{
    static const char *const names[] = {
        [IMAP_SK_ALL] = "ALL",
        [IMAP_SK_AND] = "AND",
        [IMAP_SK_OR] = "OR",
        [IMAP_SK_NOT] = "NOT",
        [IMAP_SK_FLAG] = "FLAG",
        [IMAP_SK_KEYWORD] = "KEYWORD",
        [IMAP_SK_RECENT] = "RECENT",
        [IMAP_SK_SEQSET] = "SEQ",
        [IMAP_SK_UIDSET] = "UID",
        [IMAP_SK_LARGER] = "LARGER",
        [IMAP_SK_SMALLER] = "SMALLER",
        [IMAP_SK_BEFORE] = "BEFORE",
        [IMAP_SK_ON] = "ON",
        [IMAP_SK_SINCE] = "SINCE",
        [IMAP_SK_SENTBEFORE] = "SENTBEFORE",
        [IMAP_SK_SENTON] = "SENTON",
        [IMAP_SK_SENTSINCE] = "SENTSINCE",
        [IMAP_SK_HEADER] = "HEADER",
        [IMAP_SK_BODY] = "BODY",
        [IMAP_SK_TEXT] = "TEXT",
    };
    int y;
    unsigned m, day;

    switch (k->kind) {
    case IMAP_SK_ALL:
    case IMAP_SK_RECENT:
        dump_printf(d, "%s", names[k->kind]);
        return;
    case IMAP_SK_FLAG:
        dump_printf(d, "%s%s", k->want ? "" : "UN", flag_names[k->flag]);
        return;
    default:
        break;
    }
    dump_printf(d, "(%s", names[k->kind]);
    switch (k->kind) {
    case IMAP_SK_AND:
    case IMAP_SK_OR:
    case IMAP_SK_NOT:
        for (const struct imap_search_key *c = k->child; c != NULL; c = c->next) {
            dump_printf(d, " ");
            dump_key(d, c);
        }
        break;
    case IMAP_SK_KEYWORD:
        dump_printf(d, " %s", k->str);
        break;
    case IMAP_SK_SEQSET:
    case IMAP_SK_UIDSET:
        for (size_t i = 0; i < k->set.count; i++) {
            uint32_t lo = k->set.ranges[i].lo, hi = k->set.ranges[i].hi;
            dump_printf(d, "%s", i > 0 ? "," : " ");
            lo == IMAP_SEQ_STAR ? dump_printf(d, "*") : dump_printf(d, "%u", lo);
            dump_printf(d, ":");
            hi == IMAP_SEQ_STAR ? dump_printf(d, "*") : dump_printf(d, "%u", hi);
        }
        break;
    case IMAP_SK_LARGER:
    case IMAP_SK_SMALLER:
        dump_printf(d, " %llu", (unsigned long long)k->number);
        break;
    case IMAP_SK_HEADER:
        dump_printf(d, " ");
        dump_string(d, k->field, strlen(k->field));
        __attribute__((fallthrough));
    case IMAP_SK_BODY:
    case IMAP_SK_TEXT:
        dump_printf(d, " ");
        dump_string(d, k->str, k->len);
        break;
    default: /* dates */
        civil_from_days(k->day, &y, &m, &day);
        dump_printf(d, " %04d-%02u-%02u", y, m, day);
        break;
    }
    dump_printf(d, ")");
}

size_t imap_search_dump(const struct imap_search_key *k, char *buf, size_t size)
{
    struct dump d = {buf, size, 0};

    if (size > 0)
        buf[0] = '\0';
    dump_key(&d, k);
    return d.n;
}
