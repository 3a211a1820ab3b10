/* Matching a client against parsed access rules, in the order Sun's documents give (allow
 * rules first, first match wins), and the reverse-then-forward DNS lookup behind name rules. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "access-private.h"

int access_peer_from_sockaddr(struct access_peer *peer, const struct sockaddr *sa, socklen_t len)
{
    memset(peer, 0, sizeof(*peer));
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        peer->family = AF_INET;
        memcpy(peer->addr, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        /* a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d: rules see IPv4 */
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            peer->family = AF_INET;
            memcpy(peer->addr, &a->s6_addr[12], 4);
        } else {
            peer->family = AF_INET6;
            memcpy(peer->addr, a, 16);
        }
        return 0;
    }
    return -1;
}

int access_peer_from_text(struct access_peer *peer, const char *text)
{
    struct sockaddr_storage ss = {0};

    if (inet_pton(AF_INET, text, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        ss.ss_family = AF_INET;
        return access_peer_from_sockaddr(peer, (struct sockaddr *)&ss, sizeof(struct sockaddr_in));
    }
    if (inet_pton(AF_INET6, text, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        ss.ss_family = AF_INET6;
        return access_peer_from_sockaddr(peer, (struct sockaddr *)&ss, sizeof(struct sockaddr_in6));
    }
    return -1;
}

void access_peer_addr_text(const struct access_peer *peer, char *buf, size_t size)
{
    char text[INET6_ADDRSTRLEN];

    if (inet_ntop(peer->family, peer->addr, text, sizeof(text)) == NULL)
        snprintf(text, sizeof(text), "unknown");
    snprintf(buf, size, "%s", text);
}

static bool access_addr_equal(const struct access_peer *peer, const struct sockaddr *sa,
                              socklen_t len)
{
    struct access_peer other;

    return access_peer_from_sockaddr(&other, sa, len) == 0 && other.family == peer->family &&
           memcmp(other.addr, peer->addr, peer->family == AF_INET ? 4 : 16) == 0;
}

void access_resolve_dns(struct access_peer *peer)
{
    struct sockaddr_storage ss = {0};
    socklen_t len;
    char host[NI_MAXHOST];
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
    size_t n;

    peer->name_state = ACCESS_NAME_NONE;
    peer->name[0] = '\0';
    if (peer->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        memcpy(&sin->sin_addr, peer->addr, 4);
        len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        memcpy(&sin6->sin6_addr, peer->addr, 16);
        len = sizeof(*sin6);
    }
    if (getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), NULL, 0, NI_NAMEREQD) != 0)
        return;
    n = strlen(host);
    if (n > 0 && host[n - 1] == '.')
        host[--n] = '\0';
    if (n == 0 || n > ACCESS_NAME_MAX)
        return;
    for (size_t i = 0; i < n; i++)
        peer->name[i] = (char)tolower((unsigned char)host[i]);
    peer->name[n] = '\0';
    /* forward confirmation: a reverse zone anyone controls must not vouch for a name */
    peer->name_state = ACCESS_NAME_SPOOFED;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return;
    for (ai = res; ai != NULL; ai = ai->ai_next)
        if (access_addr_equal(peer, ai->ai_addr, ai->ai_addrlen)) {
            peer->name_state = ACCESS_NAME_OK;
            break;
        }
    freeaddrinfo(res);
}

/* The name state, looking the name up first when that has not happened. */
static enum access_name_state access_name(struct access_peer *peer, access_resolve_fn *resolve)
{
    if (peer->name_state == ACCESS_NAME_UNRESOLVED) {
        if (resolve == NULL)
            return ACCESS_NAME_NONE;
        resolve(peer);
    }
    return peer->name_state;
}

static bool access_item_match(const struct access_rules *r, const struct access_item *it,
                              struct access_peer *peer, access_resolve_fn *resolve)
{
    size_t n, len;
    const char *pat;

    switch ((enum access_kind)it->kind) {
    case ACCESS_K_ALL:
        return true;
    case ACCESS_K_NET:
        if (it->family != peer->family)
            return false;
        n = peer->family == AF_INET ? 4 : 16;
        for (size_t i = 0; i < n; i++)
            if ((peer->addr[i] & it->mask[i]) != it->net[i])
                return false;
        return true;
    case ACCESS_K_LOCAL:
        return access_name(peer, resolve) == ACCESS_NAME_OK && strchr(peer->name, '.') == NULL;
    case ACCESS_K_KNOWN:
        return access_name(peer, resolve) == ACCESS_NAME_OK;
    case ACCESS_K_UNKNOWN:
        return access_name(peer, resolve) != ACCESS_NAME_OK;
    case ACCESS_K_SPOOFER:
        return access_name(peer, resolve) == ACCESS_NAME_SPOOFED;
    case ACCESS_K_NAME:
    case ACCESS_K_SUFFIX:
        if (access_name(peer, resolve) != ACCESS_NAME_OK)
            return false;
        pat = r->text + it->name_off;
        len = it->name_len;
        n = strlen(peer->name);
        if (it->kind == ACCESS_K_NAME)
            return n == len && strncasecmp(peer->name, pat, len) == 0;
        return n > len && strncasecmp(peer->name + n - len, pat, len) == 0;
    }
    return false;
}

/* list1 EXCEPT list2 EXCEPT list3 is list1 EXCEPT (list2 EXCEPT list3): from the right. */
static bool access_clients_match(const struct access_rules *r, const struct access_rule *rule,
                                 struct access_peer *peer, access_resolve_fn *resolve)
{
    bool m = false;

    for (int level = rule->nclient - 1; level >= 0; level--) {
        bool any = false;
        for (uint32_t i = rule->first; i < rule->first + rule->count && !any; i++)
            if (r->items[i].level == level)
                any = access_item_match(r, &r->items[i], peer, resolve);
        m = any && !m;
    }
    return m;
}

static bool access_service_match(const struct access_rule *rule, unsigned bit)
{
    bool m = false;

    for (int level = rule->nsvc - 1; level >= 0; level--)
        m = (rule->svc[level] & bit) != 0 && !m;
    return m;
}

void access_check(const struct access_rules *const *sets, size_t nsets, const char *service,
                  struct access_peer *peer, access_resolve_fn *resolve,
                  struct access_result *result)
{
    unsigned bit = access_service_bit(service);
    bool have_allow = false, have_deny = false;

    /* Sun: "Allow filters are processed before Deny filters"; "the search stops at the first
     * match"; no match grants, "except in the case where there are allow filters but no deny
     * filters" (Administration Guide 23.7.1, Schema Reference: mailAllowedServiceAccess). */
    for (int pass = 0; pass < 2; pass++) {
        bool allow = pass == 0;
        for (size_t s = 0; s < nsets; s++) {
            const struct access_rules *r = sets[s];
            for (size_t i = 0; r != NULL && i < r->nrules; i++) {
                const struct access_rule *rule = &r->rules[i];
                if (rule->allow != allow)
                    continue;
                have_allow |= allow;
                have_deny |= !allow;
                if (!access_service_match(rule, bit) ||
                    !access_clients_match(r, rule, peer, resolve))
                    continue;
                *result = (struct access_result){
                    .verdict = allow ? ACCESS_ALLOW : ACCESS_DENY,
                    .rule_text = r->text + rule->text_off,
                    .rule_len = rule->text_len,
                    .rule_index = (unsigned)i + 1,
                    .reason = allow ? "allowed by a rule" : "denied by a rule",
                };
                return;
            }
        }
    }
    if (have_allow && !have_deny)
        *result = (struct access_result){
            .verdict = ACCESS_DENY,
            .reason = "no allow rule matches (allow rules only: everything else is denied)"};
    else
        *result = (struct access_result){.verdict = ACCESS_ALLOW, .reason = "no rule matches"};
}
