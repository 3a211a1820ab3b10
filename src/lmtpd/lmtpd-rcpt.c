/* Recipient resolution for lmtpd: an address becomes a store user and an optional +detail
 * folder; the user's status decides between accepting, deferring and refusing. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth-ldap.h"
#include "auth.h"
#include "lmtpd.h"
#include "store-user.h"

/* Sun's account status for delivery: inactive defers, disabled / deleted / removed refuse,
 * hold accepts. */
static void lmtpd_status(struct lmtpd_rcpt *r, const struct store_user *u)
{
    switch (store_user_effective_status(u)) {
    case STORE_USER_ACTIVE:
    case STORE_USER_HOLD:
        r->accepted = true;
        r->limits = (struct store_limits){.bytes = u->quota_bytes, .messages = u->quota_messages};
        break;
    case STORE_USER_INACTIVE:
        snprintf(r->reply, sizeof(r->reply), "450 4.2.1 <%s> mailbox temporarily disabled",
                 r->addr);
        break;
    case STORE_USER_DISABLED:
    case STORE_USER_DELETED:
    case STORE_USER_REMOVED:
        snprintf(r->reply, sizeof(r->reply), "550 5.2.1 <%s> mailbox disabled", r->addr);
        break;
    }
}

/* Looks up one candidate name. Returns 1 when the address is settled (accepted or refused),
 * 0 when there is no such user and the next candidate may be tried. */
static int lmtpd_try_user(struct store *st, struct lmtpd_rcpt *r, const char *name)
{
    struct store_user u;
    struct store_error err;
    enum store_err rc;

    if (store_user_canon(name, r->user, &err) != STORE_OK)
        return 0;
    rc = store_user_get(st, r->user, &u, &err);
    if (rc == STORE_ENOTFOUND)
        return 0;
    if (rc != STORE_OK) {
        snprintf(r->reply, sizeof(r->reply),
                 rc == STORE_EBUSY ? "452 4.3.1 <%s> mailbox busy, try again later"
                                   : "451 4.3.0 <%s> cannot look up the recipient",
                 r->addr);
        return 1;
    }
    lmtpd_status(r, &u);
    store_user_clear(&u);
    return 1;
}

/* The LDAP directory: one search by mail, mailAlternateAddress, then uid (the whole address,
 * then - in the default domain - the local part); the mailbox is the entry's store name. */
static void lmtpd_try_ldap(const struct conf *conf, struct lmtpd_rcpt *r, const char *full,
                           const char *local, bool local_too)
{
    struct auth_ldap_key keys[] = {
        {"mail", full}, {"mailAlternateAddress", full}, {"uid", full}, {"uid", local}};
    struct auth_ldap_user lu;

    switch (auth_ldap_find(conf, keys, local_too ? 4 : 3, &lu, r->detail, sizeof(r->detail))) {
    case AUTH_LDAP_OK:
        r->detail[0] = '\0';
        break;
    case AUTH_LDAP_TEMPFAIL:
        snprintf(r->reply, sizeof(r->reply),
                 "451 4.4.3 <%s> directory unavailable, try again "
                 "later",
                 r->addr);
        r->user[0] = '\0';
        return;
    default:
        snprintf(r->reply, sizeof(r->reply), "550 5.1.1 <%s> no such user here", r->addr);
        r->user[0] = '\0';
        return;
    }
    snprintf(r->user, sizeof(r->user), "%s", lu.u.name);
    if (!auth_mailhost_is_local(conf, lu.mailhost)) {
        snprintf(r->reply, sizeof(r->reply), "550 5.1.6 <%s> mailbox is on another host", r->addr);
        snprintf(r->detail, sizeof(r->detail), "mailHost is %s, not this host", lu.mailhost);
    } else {
        lmtpd_status(r, &lu.u);
    }
    auth_ldap_user_clear(&lu);
}

void lmtpd_rcpt_resolve(struct store *st, const struct conf *conf, struct lmtpd_rcpt *r)
{
    const char *at = strrchr(r->addr, '@');
    const char *defdomain = conf_str(conf, "service.defaultdomain");
    char local[LMTP_PATH_MAX + 1], full[LMTP_PATH_MAX + 1];
    size_t llen;

    r->accepted = false;
    r->folder[0] = '\0';
    r->detail[0] = '\0';
    if (at == NULL || at == r->addr) {
        snprintf(r->reply, sizeof(r->reply), "550 5.1.3 <%s> bad recipient address", r->addr);
        return;
    }
    /* user+detail@domain: the detail names a folder (RFC 5233 subaddressing) */
    llen = (size_t)(at - r->addr);
    memcpy(local, r->addr, llen);
    local[llen] = '\0';
    char *plus = strchr(local, '+');
    if (plus != NULL && plus != local) {
        snprintf(r->folder, sizeof(r->folder), "%s", plus + 1);
        *plus = '\0';
    }
    /* the whole address first (users named by mail address), then the local part alone when
     * the domain is the default one (or none is configured: a single-domain server) */
    snprintf(full, sizeof(full), "%s%s", local, at);
    if (auth_ldap_enabled(conf)) {
        lmtpd_try_ldap(conf, r, full, local,
                       *defdomain == '\0' || strcasecmp(at + 1, defdomain) == 0);
        return;
    }
    if (lmtpd_try_user(st, r, full))
        return;
    if ((*defdomain == '\0' || strcasecmp(at + 1, defdomain) == 0) && lmtpd_try_user(st, r, local))
        return;
    r->user[0] = '\0';
    snprintf(r->reply, sizeof(r->reply), "550 5.1.1 <%s> no such user here", r->addr);
}
