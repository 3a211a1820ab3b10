/* Parser and matcher for ENS_ACCESS lists. Pure functions of their input, so configutil can
 * refuse a bad list before enpd ever sees it, and enpd can match without allocating. */
#include <arpa/inet.h>
#include <string.h>

#include "ens-access.h"

/* Longest text one address or mask can have (an IPv6 address with an embedded IPv4 one). */
#define ENS_ADDR_TEXT_MAX 64

static const char *ens_skip_blanks(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

static const char *ens_trim_end(const char *start, const char *end)
{
    while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return end;
}

/* Reads one address of either family from [s, end) into family_r and bytes. */
static bool ens_parse_addr(const char *s, const char *end, int *family_r, unsigned char *bytes)
{
    char text[ENS_ADDR_TEXT_MAX];
    size_t len = (size_t)(end - s);

    if (len == 0 || len >= sizeof(text))
        return false;
    memcpy(text, s, len);
    text[len] = '\0';
    memset(bytes, 0, 16);
    if (inet_pton(AF_INET, text, bytes) == 1) {
        *family_r = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, text, bytes) == 1) {
        *family_r = AF_INET6;
        return true;
    }
    return false;
}

static bool ens_parse_item(const char *s, const char *end, struct ens_access_rule *rule,
                           const char **why_r)
{
    const char *bar;
    int mask_family;

    if (s == end) {
        *why_r = "empty item";
        return false;
    }
    if (*s != '+' && *s != '-') {
        *why_r = "an item must start with + (allow) or - (deny)";
        return false;
    }
    rule->allow = *s == '+';
    s++;
    bar = memchr(s, '|', (size_t)(end - s));
    if (bar == NULL) {
        *why_r = "an item needs addr|mask";
        return false;
    }
    if (!ens_parse_addr(s, bar, &rule->family, rule->addr)) {
        *why_r = "bad address";
        return false;
    }
    if (!ens_parse_addr(bar + 1, end, &mask_family, rule->mask)) {
        *why_r = "bad mask";
        return false;
    }
    if (mask_family != rule->family) {
        *why_r = "address and mask are of different families";
        return false;
    }
    return true;
}

int ens_access_parse(const char *text, struct ens_access_rule *rules, size_t max,
                     const char **why_r)
{
    const char *s = text;
    size_t n = 0;

    if (*ens_skip_blanks(text, text + strlen(text)) == '\0') {
        *why_r = "an empty list would refuse every client";
        return -1;
    }
    for (;;) {
        const char *semi = strchr(s, ';');
        const char *end = semi != NULL ? semi : s + strlen(s);
        const char *start = ens_skip_blanks(s, end);

        if (n == max) {
            *why_r = "too many items";
            return -1;
        }
        if (!ens_parse_item(start, ens_trim_end(start, end), &rules[n], why_r))
            return -1;
        n++;
        if (semi == NULL)
            break;
        s = semi + 1;
    }
    return (int)n;
}

static bool ens_rule_matches(const struct ens_access_rule *rule, int family,
                             const unsigned char *addr)
{
    size_t len = family == AF_INET ? 4 : 16;

    if (rule->family != family)
        return false;
    for (size_t i = 0; i < len; i++) {
        if ((addr[i] & rule->mask[i]) != (rule->addr[i] & rule->mask[i]))
            return false;
    }
    return true;
}

bool ens_access_allows(const struct ens_access_rule *rules, size_t n, int family, const void *addr)
{
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    const unsigned char *bytes = addr;

    if (family == AF_INET6 && memcmp(bytes, v4mapped, sizeof(v4mapped)) == 0) {
        family = AF_INET;
        bytes += sizeof(v4mapped);
    }
    for (size_t i = 0; i < n; i++) {
        if (ens_rule_matches(&rules[i], family, bytes))
            return rules[i].allow;
    }
    return false;
}

bool ens_access_check(const char *value, const char **why_r)
{
    struct ens_access_rule rules[ENS_ACCESS_MAX];

    return ens_access_parse(value, rules, ENS_ACCESS_MAX, why_r) >= 0;
}
