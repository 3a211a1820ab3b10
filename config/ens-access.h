/* ENS_ACCESS lists, the access rule of the event notification daemon (enpd), kept from Sun's
 * ENS: "[+-]addr|mask" items separated by ';', e.g.
 * "+127.0.0.1|255.255.255.255;-10.0.0.0|255.0.0.0". */
#ifndef HALYARD_ENS_ACCESS_H
#define HALYARD_ENS_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#define ENS_ACCESS_MAX 64 /* rules in one list */

struct ens_access_rule {
    bool allow;
    int family; /* AF_INET or AF_INET6; addr and mask are of that family */
    unsigned char addr[16];
    unsigned char mask[16];
};

/* Parses text (a pure function: no name lookups). Blanks around items are allowed; an empty
 * list, an empty item, a missing sign or mask, a bad address or mask, or mixed families in one
 * item are errors. Returns the number of rules written to rules (at most max), or -1 with a
 * static reason in why_r. */
int ens_access_parse(const char *text, struct ens_access_rule *rules, size_t max,
                     const char **why_r);

/* Whether a client address (family + 4 or 16 bytes in network order) may connect: the first
 * rule whose addr matches under its mask decides; no matching rule refuses. An IPv4-mapped IPv6
 * address is matched as IPv4. */
bool ens_access_allows(const struct ens_access_rule *rules, size_t n, int family, const void *addr);

/* The table's check hook for local.enpd.access. */
bool ens_access_check(const char *value, const char **why_r);

#endif
