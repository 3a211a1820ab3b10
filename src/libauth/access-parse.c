/* Parser for Sun's access rules (mailAllowedServiceAccess) and filters (domainallowed): a pure
 * function of its bytes, so mailuser and configutil refuse a bad text before a daemon sees it. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access-private.h"

static const struct {
    const char *name;
    unsigned bit;
} access_services[] = {
    {"imap", ACCESS_SVC_IMAP}, {"imaps", ACCESS_SVC_IMAPS}, {"pop", ACCESS_SVC_POP},
    {"pops", ACCESS_SVC_POPS}, {"http", ACCESS_SVC_HTTP},   {"https", ACCESS_SVC_HTTPS},
    {"smtp", ACCESS_SVC_SMTP}, {"smtps", ACCESS_SVC_SMTPS}, {"smime", ACCESS_SVC_SMIME},
    {"pop3", ACCESS_SVC_POP},  {"pop3s", ACCESS_SVC_POPS},
};

unsigned access_service_bit(const char *name)
{
    for (size_t i = 0; i < sizeof(access_services) / sizeof(*access_services); i++)
        if (strcasecmp(name, access_services[i].name) == 0)
            return access_services[i].bit;
    return 0;
}

/* One parse in progress. */
struct access_parser {
    struct access_rules *r;
    const char *text; /* r->text */
    struct access_error *err;
};

static int access_fail(struct access_parser *p, const char *at, const char *why)
{
    p->err->why = why;
    p->err->offset = (size_t)(at - p->text);
    return -1;
}

static bool access_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Separators inside a list: Sun writes commas, tcp wrappers blanks; both are accepted. */
static bool access_sep(char c)
{
    return c == ',' || access_blank(c);
}

static bool access_word_is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

static bool access_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.';
}

/* Calls token(p, start, len, level, arg) for each item of the list [s, e), counting EXCEPTs. */
typedef int access_token_fn(struct access_parser *p, const char *s, size_t len, unsigned level,
                            void *arg);

static int access_list(struct access_parser *p, const char *s, const char *e,
                       access_token_fn *token, void *arg, uint8_t *levels_r)
{
    unsigned level = 0, in_level = 0;
    const char *last_except = NULL;

    for (;;) {
        while (s < e && access_sep(*s))
            s++;
        if (s == e)
            break;
        const char *t = s;
        while (s < e && !access_sep(*s))
            s++;
        size_t len = (size_t)(s - t);
        if (access_word_is(t, len, "EXCEPT")) {
            if (in_level == 0)
                return access_fail(p, t, "EXCEPT needs a list before it");
            if (++level == ACCESS_EXCEPT_MAX)
                return access_fail(p, t, "too many EXCEPTs in one list");
            in_level = 0;
            last_except = t;
            continue;
        }
        if (token(p, t, len, level, arg) < 0)
            return -1;
        in_level++;
    }
    if (in_level == 0)
        return access_fail(p, last_except != NULL ? last_except : e,
                           last_except != NULL ? "EXCEPT needs a list after it" : "empty list");
    *levels_r = (uint8_t)(level + 1);
    return 0;
}

static int access_service_token(struct access_parser *p, const char *s, size_t len, unsigned level,
                                void *arg)
{
    struct access_rule *rule = arg;
    char name[8];
    unsigned bit = 0;

    if (access_word_is(s, len, "ALL") || access_word_is(s, len, "*")) {
        bit = ACCESS_SVC_ALL;
    } else if (memchr(s, '@', len) != NULL) {
        return access_fail(p, s, "service@host is not supported");
    } else if (len < sizeof(name)) {
        memcpy(name, s, len);
        name[len] = '\0';
        bit = access_service_bit(name);
    }
    if (bit == 0)
        return access_fail(p, s,
                           "unknown service (imap, imaps, pop, pops, http, https, smtp, smtps, "
                           "smime, ALL or *)");
    rule->svc[level] |= bit;
    return 0;
}

static struct access_item *access_item_new(struct access_parser *p, const char *at)
{
    struct access_rules *r = p->r;

    if (r->nitems == r->items_cap) {
        size_t cap = r->items_cap ? r->items_cap * 2 : 8;
        struct access_item *items = realloc(r->items, cap * sizeof(*items));
        if (items == NULL) {
            access_fail(p, at, "out of memory");
            return NULL;
        }
        r->items = items;
        r->items_cap = cap;
    }
    struct access_item *it = &r->items[r->nitems++];
    memset(it, 0, sizeof(*it));
    return it;
}

static void access_mask_prefix(unsigned char *mask, unsigned bits)
{
    memset(mask, 0, 16);
    for (unsigned i = 0; i < bits; i++)
        mask[i / 8] |= (unsigned char)(0x80u >> (i % 8));
}

/* Whether mask is a run of ones followed by zeros over n bytes. */
static bool access_mask_contiguous(const unsigned char *mask, size_t n)
{
    bool zero = false;

    for (size_t i = 0; i < n * 8; i++) {
        bool one = mask[i / 8] & (0x80u >> (i % 8));
        if (one && zero)
            return false;
        zero |= !one;
    }
    return true;
}

static bool access_parse_addr(const char *s, size_t len, int *family_r, unsigned char *addr)
{
    char buf[64];

    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    memset(addr, 0, 16);
    if (inet_pton(AF_INET, buf, addr) == 1) {
        *family_r = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, buf, addr) == 1) {
        *family_r = AF_INET6;
        return true;
    }
    return false;
}

/* "n", "n.n", "n.n.n" followed by a dot: the tcp-wrappers address prefix. */
static bool access_parse_v4_prefix(const char *s, size_t len, struct access_item *it)
{
    unsigned octets = 0, value = 0, digits = 0;

    if (len < 2 || s[len - 1] != '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (digits == 0 || octets == 3)
                return false;
            it->net[octets++] = (unsigned char)value;
            value = digits = 0;
        } else if (isdigit((unsigned char)s[i]) && digits < 3) {
            value = value * 10 + (unsigned)(s[i] - '0');
            digits++;
            if (value > 255)
                return false;
        } else {
            return false;
        }
    }
    it->family = AF_INET;
    access_mask_prefix(it->mask, octets * 8);
    return true;
}

/* address, [address], address/mask, address/prefix, [address]/prefix */
static int access_parse_net(struct access_parser *p, const char *s, size_t len,
                            struct access_item *it)
{
    const char *slash = memchr(s, '/', len);
    const char *a = s;
    size_t alen = slash != NULL ? (size_t)(slash - s) : len;
    int family;

    if (alen >= 2 && a[0] == '[' && a[alen - 1] == ']') {
        a++;
        alen -= 2;
        if (memchr(a, ':', alen) == NULL)
            return access_fail(p, s, "brackets are for IPv6 addresses");
    }
    if (!access_parse_addr(a, alen, &family, it->net))
        return access_fail(p, s, "bad address");
    it->family = (uint8_t)family;
    size_t n = family == AF_INET ? 4 : 16;
    if (slash == NULL) {
        access_mask_prefix(it->mask, (unsigned)n * 8);
        return 0;
    }
    const char *m = slash + 1;
    size_t mlen = (size_t)(s + len - m);
    if (mlen > 0 && mlen <= 3 && strspn(m, "0123456789") >= mlen) {
        unsigned bits = 0;
        for (size_t i = 0; i < mlen; i++)
            bits = bits * 10 + (unsigned)(m[i] - '0');
        if (bits > n * 8)
            return access_fail(p, m, "prefix length too long for the address");
        access_mask_prefix(it->mask, bits);
    } else {
        int mfamily;
        if (!access_parse_addr(m, mlen, &mfamily, it->mask))
            return access_fail(p, m,
                               "bad mask (a dotted mask such as 255.255.255.0, or a "
                               "prefix length)");
        if (mfamily != family)
            return access_fail(p, m, "address and mask are of different families");
        if (!access_mask_contiguous(it->mask, n))
            return access_fail(p, m, "the mask is not contiguous");
    }
    for (size_t i = 0; i < n; i++)
        if (it->net[i] & ~it->mask[i])
            return access_fail(p, s, "the address has bits set outside the mask");
    return 0;
}

static int access_client_token(struct access_parser *p, const char *s, size_t len, unsigned level,
                               void *arg)
{
    static const struct {
        const char *word;
        enum access_kind kind;
    } words[] = {
        {"ALL", ACCESS_K_ALL},     {"*", ACCESS_K_ALL},           {"LOCAL", ACCESS_K_LOCAL},
        {"KNOWN", ACCESS_K_KNOWN}, {"UNKNOWN", ACCESS_K_UNKNOWN}, {"DNSSPOOFER", ACCESS_K_SPOOFER},
    };
    struct access_rule *rule = arg;
    struct access_item *it = access_item_new(p, s);

    if (it == NULL)
        return -1;
    rule->count++;
    it->level = (uint8_t)level;
    for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++) {
        if (access_word_is(s, len, words[i].word)) {
            it->kind = (uint8_t)words[i].kind;
            p->r->need_name |= access_kind_needs_name(it->kind);
            return 0;
        }
    }
    if (s[0] == '@')
        return access_fail(p, s, "netgroups (@group) are not supported");
    if (memchr(s, '@', len) != NULL)
        return access_fail(p, s, "user@host patterns are not supported");
    if (memchr(s, '*', len) != NULL || memchr(s, '?', len) != NULL)
        return access_fail(p, s, "wildcards inside a name are not supported (use .domain)");
    it->kind = ACCESS_K_NET;
    if (access_parse_v4_prefix(s, len, it))
        return 0;
    if (s[0] == '[' || memchr(s, ':', len) != NULL || memchr(s, '/', len) != NULL ||
        (s[0] != '.' && strspn(s, "0123456789.") >= len))
        return access_parse_net(p, s, len, it);
    /* a host name, or a .domain suffix */
    it->kind = s[0] == '.' ? ACCESS_K_SUFFIX : ACCESS_K_NAME;
    if (len > ACCESS_NAME_MAX + (s[0] == '.'))
        return access_fail(p, s, "host name too long");
    if (len == 1 && s[0] == '.')
        return access_fail(p, s, "a domain pattern needs a name after the dot");
    for (size_t i = 0; i < len; i++)
        if (!access_name_char(s[i]))
            return access_fail(p, s + i, "bad character in a host name");
    if (s[len - 1] == '.')
        return access_fail(p, s, "bad address prefix or host name ending in a dot");
    it->name_off = (uint16_t)(s - p->text);
    it->name_len = (uint16_t)len;
    p->r->need_name = true;
    return 0;
}

static int access_rule_parse(struct access_parser *p, const char *s, const char *e,
                             enum access_syntax syntax, bool allow)
{
    struct access_rules *r = p->r;
    struct access_rule *rule;
    const char *colon;

    while (s < e && access_blank(*s))
        s++;
    while (e > s && access_blank(e[-1]))
        e--;
    if (s == e)
        return access_fail(p, s, "empty rule (two '$' in a row, or a '$' at an end)");
    if (r->nrules == ACCESS_RULES_MAX)
        return access_fail(p, s, "too many rules");
    rule = &r->rules[r->nrules];
    memset(rule, 0, sizeof(*rule));
    rule->text_off = (uint16_t)(s - p->text);
    rule->text_len = (uint16_t)(e - s);
    rule->first = (uint32_t)r->nitems;
    if (syntax == ACCESS_SYNTAX_RULES) {
        if (*s != '+' && *s != '-')
            return access_fail(p, s, "a rule starts with + (allow) or - (deny)");
        rule->allow = *s == '+';
        s++;
    } else {
        rule->allow = allow;
        if (*s == '+' || *s == '-')
            return access_fail(p, s, "a filter has no + or -: the parameter says which it is");
    }
    colon = memchr(s, ':', (size_t)(e - s));
    if (colon == NULL)
        return access_fail(p, s, "a rule is service-list:client-list (no ':')");
    if (access_list(p, s, colon, access_service_token, rule, &rule->nsvc) < 0 ||
        access_list(p, colon + 1, e, access_client_token, rule, &rule->nclient) < 0)
        return -1;
    r->nrules++;
    return 0;
}

int access_rules_parse(const char *text, size_t len, enum access_syntax syntax, bool allow,
                       struct access_rules **rules_r, struct access_error *err)
{
    struct access_parser p = {.err = err};
    struct access_rules *r;
    const char *s, *end;

    *rules_r = NULL;
    err->why = NULL;
    err->offset = 0;
    if (len > ACCESS_TEXT_MAX) {
        err->why = "too long";
        err->offset = ACCESS_TEXT_MAX;
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)text[i] < 0x20 && text[i] != '\t') {
            err->why = "control character";
            err->offset = i;
            return -1;
        }
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL || (r->text = malloc(len + 1)) == NULL ||
        (r->rules = calloc(ACCESS_RULES_MAX, sizeof(*r->rules))) == NULL) {
        access_rules_free(&r);
        err->why = "out of memory";
        return -1;
    }
    memcpy(r->text, text, len);
    r->text[len] = '\0';
    p.r = r;
    p.text = r->text;
    s = r->text;
    end = r->text + len;
    while (s < end && access_blank(*s))
        s++;
    if (s < end) {
        for (;;) {
            const char *dollar = memchr(s, '$', (size_t)(end - s));
            const char *e = dollar != NULL ? dollar : end;
            if (access_rule_parse(&p, s, e, syntax, allow) < 0) {
                access_rules_free(&r);
                return -1;
            }
            if (dollar == NULL)
                break;
            s = dollar + 1;
        }
    }
    *rules_r = r;
    return 0;
}

void access_rules_free(struct access_rules **rules)
{
    struct access_rules *r = *rules;

    if (r == NULL)
        return;
    free(r->text);
    free(r->rules);
    free(r->items);
    free(r);
    *rules = NULL;
}

bool access_rules_need_name(const struct access_rules *rules)
{
    return rules != NULL && rules->need_name;
}

size_t access_rules_count(const struct access_rules *rules)
{
    return rules != NULL ? rules->nrules : 0;
}

bool access_filter_check(const char *value, const char **why_r)
{
    struct access_rules *r;
    struct access_error err;

    if (access_rules_parse(value, strlen(value), ACCESS_SYNTAX_FILTER, true, &r, &err) < 0) {
        *why_r = err.why;
        return false;
    }
    access_rules_free(&r);
    return true;
}
