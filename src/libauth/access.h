/* Client access rules as Sun Messaging Server writes them: the per-user LDAP attribute
 * mailAllowedServiceAccess ("+imap,pop:ALL$-http:.example.com EXCEPT host.example.com") and the
 * server-wide filters service.<svc>.domainallowed / domainnotallowed ("imap: 192.0.2.0/24").
 * Parsing is a pure function of bytes; matching is pure once the client's host name is known.
 * The name is looked up only when a rule that is reached needs it. The evaluation order is
 * written down in docs/decisions.md (issue 6). */
#ifndef HALYARD_ACCESS_H
#define HALYARD_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#define ACCESS_TEXT_MAX   8192 /* bytes of one attribute or parameter value */
#define ACCESS_RULES_MAX  256  /* rules ('$'-separated) in one text */
#define ACCESS_EXCEPT_MAX 8    /* list1 EXCEPT list2 EXCEPT ...: lists in one service/client list */
#define ACCESS_NAME_MAX   253  /* RFC 1035 section 2.3.4, without the trailing dot */

/* Services a rule may name (Sun's list plus https). A session is "imaps"/"pops"/"https" when
 * TLS protects it at the time of the check. */
enum access_service {
    ACCESS_SVC_IMAP = 1u << 0,
    ACCESS_SVC_IMAPS = 1u << 1,
    ACCESS_SVC_POP = 1u << 2,
    ACCESS_SVC_POPS = 1u << 3,
    ACCESS_SVC_HTTP = 1u << 4,
    ACCESS_SVC_HTTPS = 1u << 5,
    ACCESS_SVC_SMTP = 1u << 6,
    ACCESS_SVC_SMTPS = 1u << 7,
    ACCESS_SVC_SMIME = 1u << 8,
    ACCESS_SVC_ALL = (1u << 9) - 1,
};

enum access_syntax {
    ACCESS_SYNTAX_RULES,  /* mailAllowedServiceAccess: each rule starts with + or - */
    ACCESS_SYNTAX_FILTER, /* domainallowed / domainnotallowed: no sign, the parameter gives it */
};

struct access_error {
    const char *why; /* static text */
    size_t offset;   /* byte of the text where the problem is */
};

struct access_rules;

/* Parses len bytes of text ('$'-separated rules; blanks around items are free). An empty or
 * all-blank text gives an empty rule set (every service from every client). For
 * ACCESS_SYNTAX_FILTER every rule gets the sign `allow`. Returns 0 and *rules_r (free with
 * access_rules_free), or -1 and err. */
int access_rules_parse(const char *text, size_t len, enum access_syntax syntax, bool allow,
                       struct access_rules **rules_r, struct access_error *err);
void access_rules_free(struct access_rules **rules);

/* Whether any rule has a client pattern that needs the client's host name (a name, .domain,
 * LOCAL, KNOWN, UNKNOWN, DNSSPOOFER). */
bool access_rules_need_name(const struct access_rules *rules);
size_t access_rules_count(const struct access_rules *rules);

/* "imap" -> ACCESS_SVC_IMAP, ...; 0 for a name no rule can mean. */
unsigned access_service_bit(const char *name);

/* What is known of the client. The address is always known; the name only after a lookup. */
enum access_name_state {
    ACCESS_NAME_UNRESOLVED, /* not looked up yet */
    ACCESS_NAME_NONE,       /* no reverse name (or the lookup failed) */
    ACCESS_NAME_OK,         /* reverse name whose forward lookup includes the address */
    ACCESS_NAME_SPOOFED,    /* reverse name whose forward lookup does not include the address */
};

struct access_peer {
    int family;             /* AF_INET or AF_INET6 (an IPv4-mapped IPv6 address is AF_INET) */
    unsigned char addr[16]; /* network order; 4 bytes for AF_INET */
    enum access_name_state name_state;
    char name[ACCESS_NAME_MAX + 1]; /* ACCESS_NAME_OK / SPOOFED: lower case, no trailing dot */
};

/* Fills peer from a socket address (name unresolved). Returns -1 for other families. */
int access_peer_from_sockaddr(struct access_peer *peer, const struct sockaddr *sa, socklen_t len);
/* From text ("192.0.2.1", "::1"); -1 when it is not an address. */
int access_peer_from_text(struct access_peer *peer, const char *text);
/* The address as text, for journal lines. */
void access_peer_addr_text(const struct access_peer *peer, char *buf, size_t size);

/* Sets peer->name_state (and name): reverse lookup, then forward confirmation. */
typedef void access_resolve_fn(struct access_peer *peer);
/* The real one (blocking: getnameinfo + getaddrinfo; run it on a pool thread). */
void access_resolve_dns(struct access_peer *peer);

enum access_verdict {
    ACCESS_ALLOW,
    ACCESS_DENY,
};

struct access_result {
    enum access_verdict verdict;
    /* the deciding rule, or NULL when none matched (then `reason` says why) */
    const char *rule_text;
    size_t rule_len;
    unsigned rule_index; /* 1-based position in its text */
    const char *reason;  /* static: "rule matched", "no rule matched", "only allow rules..." */
};

/* Decides whether `service` (a name for access_service_bit) may be used by peer under the rule
 * sets (several, e.g. domainallowed and domainnotallowed; NULL entries are skipped): allow rules
 * first, in order, then deny rules, in order; the first match decides. No match allows, except
 * when there are allow rules and no deny rules: then it denies. When a rule reached needs the
 * client's name and it is unresolved, resolve(peer) is called first (resolve NULL: the name
 * counts as unknown). */
void access_check(const struct access_rules *const *sets, size_t nsets, const char *service,
                  struct access_peer *peer, access_resolve_fn *resolve,
                  struct access_result *result);

/* A check hook for the parameter table (domainallowed / domainnotallowed): true when value
 * parses as filters; else false and a static reason. */
bool access_filter_check(const char *value, const char **why_r);

#endif
