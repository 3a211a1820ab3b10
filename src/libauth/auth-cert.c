/* Certificate login: a TLS client certificate that local.tls.cafile verified names its account
 * by a subject component (local.certmap.components: uid, e, cn), used as a login ID or put into
 * an LDAP filter (local.certmap.searchfilter). What the account may then do is decided as for
 * a login with a right password. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth-ldap.h"
#include "auth-sasl.h"

const char *auth_certmap_value(const char *components, const struct auth_cert *cert,
                               const char **value_r)
{
    const char *p = components;

    *value_r = NULL;
    while (*p != '\0') {
        size_t len = strcspn(p, ", \t");
        const char *v = NULL, *name = NULL;
        if (len == 3 && strncasecmp(p, "uid", 3) == 0)
            v = cert->uid, name = "uid";
        else if (len == 1 && (p[0] == 'e' || p[0] == 'E'))
            v = cert->email, name = "e";
        else if (len == 2 && strncasecmp(p, "cn", 2) == 0)
            v = cert->cn, name = "cn";
        if (v != NULL && v[0] != '\0') {
            *value_r = v;
            return name;
        }
        p += len;
        p += strspn(p, ", \t");
    }
    return NULL;
}

int auth_certmap_filter(const char *tmpl, const char *value, char *out, size_t size)
{
    size_t o = 0;

    if (value[0] == '\0' || size == 0)
        return -1;
    for (const char *p = tmpl; *p != '\0'; p++) {
        if (*p == '%' && p[1] == 's') {
            size_t n = auth_ldap_escape(value, out + o, size - o);
            if (n == 0)
                return -1;
            o += n;
            p++;
            continue;
        }
        if (*p == '%' && p[1] != '%')
            return -1;
        if (*p == '%')
            p++;
        if (o + 1 >= size)
            return -1;
        out[o++] = *p;
    }
    out[o] = '\0';
    return 0;
}

/* With local.certmap.searchfilter: the one entry the filter finds. */
static void auth_certificate_ldap(struct store *st, const struct conf *conf, const char *tmpl,
                                  const char *value, struct auth_peer *peer,
                                  struct auth_reply *reply)
{
    char filter[AUTH_LDAP_FILTER_MAX];
    struct auth_ldap_user lu;

    if (auth_certmap_filter(tmpl, value, filter, sizeof(filter)) < 0) {
        reply->result = AUTH_TEMPFAIL;
        snprintf(reply->detail, sizeof(reply->detail),
                 "local.certmap.searchfilter cannot be made into a filter for \"%.64s\"", value);
        return;
    }
    switch (auth_ldap_find_filter(conf, filter, &lu, reply->detail, sizeof(reply->detail))) {
    case AUTH_LDAP_OK:
        break;
    case AUTH_LDAP_TEMPFAIL:
        reply->result = AUTH_TEMPFAIL;
        return;
    default:
        reply->result = AUTH_FAILED;
        return;
    }
    /* the entry's first uid is its name: look it up as a login would, so the rules, status and
     * mailHost decide the same way */
    char name[STORE_USER_MAX + 1];
    snprintf(name, sizeof(name), "%s", lu.u.name);
    auth_ldap_user_clear(&lu);
    auth_account(st, conf, name, peer, reply, NULL);
}

void auth_certificate(struct store *st, const struct conf *conf, const struct auth_cert *cert,
                      struct auth_peer *peer, struct auth_reply *reply)
{
    const char *value,
        *comp = auth_certmap_value(conf_str(conf, "local.certmap.components"), cert, &value);
    const char *tmpl = conf_str(conf, "local.certmap.searchfilter");

    memset(reply, 0, sizeof(*reply));
    reply->result = AUTH_FAILED;
    if (comp == NULL) {
        snprintf(reply->detail, sizeof(reply->detail),
                 "certificate \"%.120s\" has none of the subject components %.40s", cert->subject,
                 conf_str(conf, "local.certmap.components"));
        return;
    }
    if (tmpl[0] != '\0') {
        if (!auth_ldap_enabled(conf)) {
            reply->result = AUTH_TEMPFAIL;
            snprintf(reply->detail, sizeof(reply->detail),
                     "local.certmap.searchfilter is set but local.ugldaphost is not");
            return;
        }
        auth_certificate_ldap(st, conf, tmpl, value, peer, reply);
    } else {
        auth_account(st, conf, value, peer, reply, NULL);
    }
    char why[STORE_ERRMSG_MAX];
    snprintf(why, sizeof(why), "%s", reply->detail);
    snprintf(reply->detail, sizeof(reply->detail), "certificate \"%.100s\" (%s=%.48s): %.80s",
             cert->subject, comp, value, why);
}
