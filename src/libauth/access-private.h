/* The parsed form of access rules, shared by access-parse.c and access-match.c only. */
#ifndef HALYARD_ACCESS_PRIVATE_H
#define HALYARD_ACCESS_PRIVATE_H

#include <stdint.h>

#include "access.h"

enum access_kind {
    ACCESS_K_ALL,
    ACCESS_K_LOCAL,   /* a known name without a dot */
    ACCESS_K_KNOWN,   /* name and address known */
    ACCESS_K_UNKNOWN, /* name unknown (none, or not confirmed) */
    ACCESS_K_SPOOFER, /* DNSSPOOFER: the name's forward lookup lacks the address */
    ACCESS_K_NAME,    /* host name, whole */
    ACCESS_K_SUFFIX,  /* .domain: the name ends with it */
    ACCESS_K_NET,     /* address, address/mask, address/prefix, or "192.168." */
};

struct access_item {
    uint8_t kind;                /* enum access_kind */
    uint8_t family;              /* ACCESS_K_NET: AF_INET or AF_INET6 */
    uint8_t level;               /* how many EXCEPTs precede it in its list */
    uint16_t name_off, name_len; /* ACCESS_K_NAME / SUFFIX: in access_rules.text */
    unsigned char net[16], mask[16];
};

struct access_rule {
    bool allow;
    uint8_t nsvc;                    /* levels of the service list */
    unsigned svc[ACCESS_EXCEPT_MAX]; /* enum access_service bits per level */
    uint8_t nclient;                 /* levels of the client list */
    uint32_t first, count;           /* its client items in access_rules.items */
    uint16_t text_off, text_len;     /* the rule's own text, trimmed */
};

struct access_rules {
    char *text; /* a copy of the parsed text */
    struct access_rule *rules;
    size_t nrules;
    struct access_item *items;
    size_t nitems, items_cap;
    bool need_name;
};

static inline bool access_kind_needs_name(uint8_t kind)
{
    return kind != ACCESS_K_ALL && kind != ACCESS_K_NET;
}

#endif
