/* The pure half of the LDAP directory: search filters (RFC 4515) and the Sun attribute values
 * read from an entry. No I/O, so every rule has a table-driven test. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth-ldap.h"

size_t auth_ldap_escape(const char *value, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
        bool esc = *p == '*' || *p == '(' || *p == ')' || *p == '\\' || *p >= 0x80;
        if (o + (esc ? 3 : 1) >= size)
            return 0;
        if (esc) {
            out[o++] = '\\';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 0xf];
        } else {
            out[o++] = (char)*p;
        }
    }
    if (o >= size)
        return 0;
    out[o] = '\0';
    return o;
}

/* An attribute description as RFC 4512 section 1.4 writes a descriptor: a letter, then
 * letters, digits and hyphens. */
static bool attr_valid(const char *a)
{
    if (!isalpha((unsigned char)a[0]))
        return false;
    for (const char *p = a; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) && *p != '-')
            return false;
    return true;
}

int auth_ldap_filter(const struct auth_ldap_key *keys, size_t n, char *out, size_t size)
{
    char esc[3 * AUTH_LDAP_VALUE_MAX + 1];
    size_t o = 0;
    int w;

    if (n == 0 || size == 0)
        return -1;
    if (n > 1) {
        if (size < 3)
            return -1;
        out[o++] = '(';
        out[o++] = '|';
    }
    for (size_t i = 0; i < n; i++) {
        if (!attr_valid(keys[i].attr) || strlen(keys[i].value) > AUTH_LDAP_VALUE_MAX ||
            auth_ldap_escape(keys[i].value, esc, sizeof(esc)) == 0)
            return -1;
        w = snprintf(out + o, size - o, "(%s=%s)", keys[i].attr, esc);
        if (w < 0 || (size_t)w >= size - o)
            return -1;
        o += (size_t)w;
    }
    if (n > 1) {
        if (o + 2 > size)
            return -1;
        out[o++] = ')';
        out[o] = '\0';
    }
    return 0;
}

bool auth_ldap_status_parse(const char *value, enum store_user_status *status_r)
{
    if (strcasecmp(value, "overquota") == 0) {
        *status_r = STORE_USER_ACTIVE;
        return true;
    }
    for (int s = 0; s <= STORE_USER_STATUS_LAST; s++)
        if (strcasecmp(value, store_user_status_name((enum store_user_status)s)) == 0) {
            *status_r = (enum store_user_status)s;
            return true;
        }
    return false;
}

uint64_t auth_ldap_quota_parse(const char *value)
{
    char *end;
    unsigned long long v;

    if (value == NULL || !isdigit((unsigned char)value[0]))
        return 0; /* absent, "-1" (Sun's "no quota") or malformed */
    errno = 0;
    v = strtoull(value, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    return (uint64_t)v;
}
