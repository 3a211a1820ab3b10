/* Other users' mailboxes (RFC 4314 ACLs, RFC 2342's other users' namespace): a client's name
 * resolved to an owner and the owner's name, the session's rights on it checked with the one
 * NO each missing right gets, the shared mailboxes LIST shows, and the owner's quota for what
 * goes in. Runs on the pool. */
#include <stdlib.h>
#include <string.h>

#include "auth-ldap.h"
#include "imapd.h"

void imap_mbox_resolve(const struct imap_session *s, const char *name, struct imap_mbox *m)
{
    const char *owner, *rest;
    size_t len;
    char buf[STORE_USER_MAX + 1];

    memset(m, 0, sizeof(*m));
    m->kind = imap_name_split(name, &owner, &len, &rest);
    m->name = rest;
    snprintf(m->owner, sizeof(m->owner), "%s", s->user);
    if (m->kind == IMAP_NAME_PERSONAL) {
        m->rights = IMAP_RIGHTS_ALL;
        return;
    }
    if (owner == NULL)
        return;
    if (len <= STORE_USER_MAX) {
        memcpy(buf, owner, len);
        buf[len] = '\0';
    }
    if (len > STORE_USER_MAX || store_user_canon(buf, m->owner, NULL) != STORE_OK) {
        m->kind = IMAP_NAME_NONE; /* no user can have that name */
        snprintf(m->owner, sizeof(m->owner), "%s", s->user);
        return;
    }
    /* the user's own mailboxes seen through the shared namespace are just that */
    if (m->kind == IMAP_NAME_SHARED && strcmp(m->owner, s->user) == 0) {
        m->kind = IMAP_NAME_PERSONAL;
        m->rights = IMAP_RIGHTS_ALL;
        m->via_shared = true;
    }
}

enum store_err imap_rights_get(struct imap_session *s, const char *owner, uint32_t id,
                               unsigned *rights_r, struct store_error *err)
{
    struct store_acl *acl;
    size_t n;
    enum store_err rc;

    if (strcmp(owner, s->user) == 0) { /* the owner always has every right */
        *rights_r = IMAP_RIGHTS_ALL;
        return STORE_OK;
    }
    *rights_r = 0;
    rc = store_acl_list(imapd_store(), owner, id, &acl, &n, err);
    if (rc == STORE_OK)
        *rights_r = imap_rights_effective(acl, n, id, s->user);
    store_acl_list_free(&acl, n);
    return rc;
}

void imap_out_noperm(FILE *out, const struct imap_cmd *cmd, unsigned need)
{
    char letters[16];

    imap_rights_format(need, false, letters);
    imap_out_tagged(out, cmd, "NO", "[NOPERM] Permission denied: this needs the %s right%s",
                    letters, strlen(letters) > 1 ? "s" : "");
}

static void mbox_missing(FILE *out, const struct imap_cmd *cmd, bool trycreate)
{
    if (trycreate) /* RFC 3501 6.3.11, 6.4.7: the client may CREATE it */
        imap_out_tagged(out, cmd, "NO", "[TRYCREATE] No such mailbox");
    else
        imap_out_tagged(out, cmd, "NO", "[NONEXISTENT] No such mailbox");
}

int imap_mbox_open(struct imap_session *s, const struct imap_cmd *cmd, const char *name,
                   unsigned need, bool trycreate, struct imap_mbox *m, FILE *out)
{
    struct store_error err;

    imap_mbox_resolve(s, name, m);
    if (m->kind == IMAP_NAME_LEVEL || m->kind == IMAP_NAME_NONE) {
        mbox_missing(out, cmd, trycreate);
        return -1;
    }
    if (store_mailbox_get(imapd_store(), m->owner, m->name, &m->mb, &err) != STORE_OK ||
        imap_rights_get(s, m->owner, m->mb.id, &m->rights, &err) != STORE_OK) {
        if (err.code == STORE_ENOTFOUND)
            mbox_missing(out, cmd, trycreate);
        else
            imap_out_store_error(out, cmd, &err);
        store_mailbox_clear(&m->mb);
        return -1;
    }
    /* RFC 4314 6: a mailbox the user may not look up is answered as one that does not exist */
    if (need == IMAP_NEED_ANY ? m->rights == 0 : (m->rights & need) != need) {
        if (m->rights & IMAP_RIGHT_L)
            imap_out_noperm(out, cmd, need & ~m->rights);
        else
            mbox_missing(out, cmd, trycreate);
        store_mailbox_clear(&m->mb);
        return -1;
    }
    return 0;
}

void imap_out_mbox(FILE *out, const struct imap_mbox *m)
{
    char *name;

    if (m->kind != IMAP_NAME_SHARED && !m->via_shared) {
        imap_out_mailbox(out, m->mb.name);
        return;
    }
    if (asprintf(&name, IMAP_SHARED_PREFIX "%s/%s", m->owner, m->mb.name) < 0)
        abort();
    imap_out_mailbox(out, name);
    free(name);
}

void imap_mbox_close(struct imap_mbox *m)
{
    store_mailbox_clear(&m->mb);
}

void imap_sel_refresh(struct imap_session *s)
{
    struct store_error err;
    unsigned rights;

    if (s->state != IMAP_STATE_SELECTED || !s->sel.shared)
        return;
    /* a change of the ACL counts from the next command on (an unreadable ACL keeps the old) */
    if (imap_rights_get(s, s->sel.owner, s->sel.id, &rights, &err) == STORE_OK)
        s->sel.rights = rights;
}

bool imap_sel_check(struct imap_session *s, const struct imap_cmd *cmd, unsigned need, FILE *out)
{
    if ((s->sel.rights & need) == need)
        return true;
    imap_out_noperm(out, cmd, need & ~s->sel.rights);
    return false;
}

static void shared_push(struct imap_shared_box **v, size_t *n, size_t *cap, char *name,
                        unsigned rights)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        *v = realloc(*v, *cap * sizeof(**v));
        if (*v == NULL)
            abort();
    }
    (*v)[(*n)++] = (struct imap_shared_box){.name = name, .rights = rights};
}

enum store_err imap_shared_list(struct imap_session *s, struct imap_shared_box **v_r, size_t *n_r,
                                struct store_error *err)
{
    const char *ids[3] = {s->user, "anyone", NULL};
    char anydom[STORE_USER_MAX + 8], **owners = NULL;
    const char *at = strchr(s->user, '@');
    size_t nids = 2, nowners = 0, cap = 0;
    enum store_err rc;

    *v_r = NULL;
    *n_r = 0;
    if (at != NULL) { /* Sun's anyone@domain */
        snprintf(anydom, sizeof(anydom), "anyone@%s", at + 1);
        ids[nids++] = anydom;
    }
    rc = store_share_owners(imapd_store(), ids, nids, &owners, &nowners, err);
    for (size_t o = 0; rc == STORE_OK && o < nowners; o++) {
        struct store_mailbox *mbs = NULL;
        struct store_acl *acl = NULL;
        size_t nmbs = 0, nacl = 0;
        struct store_error e;
        if (strcmp(owners[o], s->user) == 0)
            continue;
        /* one owner that cannot be read now leaves only its own mailboxes out */
        if (store_acl_list(imapd_store(), owners[o], 0, &acl, &nacl, &e) != STORE_OK ||
            (nacl > 0 &&
             store_mailbox_list(imapd_store(), owners[o], NULL, &mbs, &nmbs, &e) != STORE_OK)) {
            if (e.code != STORE_ENOTFOUND)
                conn_warning(s->conn, "LIST: mailboxes shared by %s: %s", owners[o], e.msg);
        }
        for (size_t i = 0; i < nmbs; i++) {
            unsigned rights = imap_rights_effective(acl, nacl, mbs[i].id, s->user);
            char *name;
            if (!(rights & IMAP_RIGHT_L))
                continue;
            if (asprintf(&name, IMAP_SHARED_PREFIX "%s/%s", owners[o], mbs[i].name) < 0)
                abort();
            shared_push(v_r, n_r, &cap, name, rights);
        }
        store_mailbox_list_free(&mbs, nmbs);
        store_acl_list_free(&acl, nacl);
    }
    store_strings_free(&owners, nowners);
    if (rc != STORE_OK)
        imap_shared_list_free(v_r, *n_r);
    return rc;
}

void imap_shared_list_free(struct imap_shared_box **v, size_t n)
{
    if (*v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free((*v)[i].name);
    free(*v);
    *v = NULL;
}

int imap_owner_limits(struct imap_session *s, const char *owner, struct store_limits *limits_r,
                      const struct imap_cmd *cmd, FILE *out)
{
    const struct conf *conf = server_conf(conn_server(s->conn));
    struct store_error err;
    char detail[STORE_ERRMSG_MAX];

    if (strcmp(owner, s->user) == 0) {
        *limits_r = s->limits;
        return 0;
    }
    /* the owner's quota, from the directory the owner logs in with */
    if (auth_ldap_enabled(conf)) {
        struct auth_ldap_key key = {"uid", owner};
        struct auth_ldap_user lu = {0};
        switch (auth_ldap_find(conf, &key, 1, &lu, detail, sizeof(detail))) {
        case AUTH_LDAP_OK:
            *limits_r = (struct store_limits){lu.u.quota_bytes, lu.u.quota_messages};
            auth_ldap_user_clear(&lu);
            return 0;
        case AUTH_LDAP_TEMPFAIL:
            conn_warning(s->conn, "quota of %s: %s", owner, detail);
            imap_out_tagged(out, cmd, "NO", "[UNAVAILABLE] Try again later");
            return -1;
        default:
            break;
        }
    } else {
        struct store_user u;
        if (store_user_get(imapd_store(), owner, &u, &err) == STORE_OK) {
            *limits_r = (struct store_limits){u.quota_bytes, u.quota_messages};
            store_user_clear(&u);
            return 0;
        }
        if (err.code != STORE_ENOTFOUND) {
            imap_out_store_error(out, cmd, &err);
            return -1;
        }
    }
    /* a store left by an account the directory no longer has takes nothing new */
    imap_out_tagged(out, cmd, "NO", "[CANNOT] The owner of this mailbox has no account");
    return -1;
}
