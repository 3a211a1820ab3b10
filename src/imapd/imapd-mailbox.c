/* Mailbox commands (RFC 3501 6.3): SELECT, EXAMINE, CLOSE, UNSELECT (RFC 3691), CREATE,
 * DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST, LSUB, STATUS, NAMESPACE (RFC 2342). Each
 * checks its syntax on the loop and does its store work on the pool. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd-args.h"
#include "imapd-mutf7.h"
#include "imapd.h"

void imap_selected_clear(struct imap_selected *sel)
{
    imap_flagcopy_leave(sel);
    imap_flagcopy_clear(&sel->flags);
    free(sel->owner);
    free(sel->name);
    free(sel->uids);
    memset(sel, 0, sizeof(*sel));
}

/* The one reply for a store failure. */
void imap_out_store_error(FILE *out, const struct imap_cmd *cmd, const struct store_error *e)
{
    switch (e->code) {
    case STORE_ENOTFOUND:
        imap_out_tagged(out, cmd, "NO", "[NONEXISTENT] No such mailbox");
        break;
    case STORE_EEXIST:
        imap_out_tagged(out, cmd, "NO", "[ALREADYEXISTS] Mailbox exists");
        break;
    case STORE_ECHILDREN:
        imap_out_tagged(out, cmd, "NO", "[HASCHILDREN] Delete the mailboxes inside it first");
        break;
    case STORE_EQUOTA:
        imap_out_tagged(out, cmd, "NO", "[OVERQUOTA] Quota exceeded");
        break;
    case STORE_EINVAL:
        imap_out_tagged(out, cmd, "NO", "[CANNOT] %s", e->msg);
        break;
    case STORE_ENOSPC:
    case STORE_EBUSY:
        imap_out_tagged(out, cmd, "NO", "[UNAVAILABLE] Try again later");
        break;
    default:
        imap_out_tagged(out, cmd, "NO", "[SERVERBUG] Internal error");
        break;
    }
}

/* The mailbox argument at n, UTF-8; writes BAD and returns NULL when it is not one. */
static const char *imap_mailbox_arg(const struct imap_cmd *cmd, unsigned n, FILE *out)
{
    const char *name, *why = "Missing mailbox name";
    const struct imap_arg *arg = imap_arg_at(cmd->args, n);

    if (arg != NULL && imap_arg_get_mailbox(arg, cmd->arena, &name, &why) == 0)
        return name;
    imap_out_tagged(out, cmd, "BAD", "%s", why);
    return NULL;
}

char *imap_fmt_u32(char *p, uint32_t v)
{
    char tmp[10];
    size_t n = 0;

    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

char *imap_fmt_flags(char *p, uint32_t flags, const char *keywords, size_t kwlen, bool recent)
{
    static const struct {
        uint32_t bit;
        const char *name;
        size_t len;
    } names[] = {
#define FLAG(bit, name) {bit, name, sizeof(name) - 1}
        FLAG(STORE_FLAG_ANSWERED, "\\Answered"), FLAG(STORE_FLAG_FLAGGED, "\\Flagged"),
        FLAG(STORE_FLAG_DELETED, "\\Deleted"),   FLAG(STORE_FLAG_SEEN, "\\Seen"),
        FLAG(STORE_FLAG_DRAFT, "\\Draft"),
#undef FLAG
    };
    char *start = p;

    *p++ = '(';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (flags & names[i].bit) {
            if (p > start + 1)
                *p++ = ' ';
            memcpy(p, names[i].name, names[i].len);
            p += names[i].len;
        }
    }
    /* \Recent belongs to this session (RFC 3501 2.3.2) */
    if (recent) {
        if (p > start + 1)
            *p++ = ' ';
        memcpy(p, "\\Recent", sizeof("\\Recent") - 1);
        p += sizeof("\\Recent") - 1;
    }
    if (kwlen > 0) {
        if (p > start + 1)
            *p++ = ' ';
        memcpy(p, keywords, kwlen);
        p += kwlen;
    }
    *p++ = ')';
    return p;
}

/* Formatted into a buffer and written at once: FETCH and STORE over a large mailbox write one
 * flag list per message, and a stdio call per flag was a good part of their time. */
void imap_out_flags(FILE *out, uint32_t flags, const char *keywords, bool recent)
{
    size_t kwlen = keywords != NULL ? strlen(keywords) : 0;
    char buf[IMAP_FLAGS_FMT_MAX + 256];

    if (kwlen > 256) { /* many keywords: the system flags formatted, then the keywords */
        char *p = imap_fmt_flags(buf, flags, NULL, 0, recent) - 1;
        if (p > buf + 1)
            *p++ = ' ';
        fwrite(buf, 1, (size_t)(p - buf), out);
        fwrite(keywords, 1, kwlen, out);
        fputc(')', out);
        return;
    }
    fwrite(buf, 1, (size_t)(imap_fmt_flags(buf, flags, keywords, kwlen, recent) - buf), out);
}

/* PERMANENTFLAGS: the flags this user may change (RFC 4314 4), none in a read-only mailbox. */
static void select_out_permanent(FILE *out, bool readonly, unsigned rights)
{
    uint32_t flags = readonly ? 0 : imap_rights_flags(rights);

    fputs("* OK [PERMANENTFLAGS (", out);
    if (flags == (imap_rights_flags(IMAP_RIGHTS_ALL))) {
        fputs("\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*", out);
    } else {
        const char *sep = "";
        static const struct {
            uint32_t bit;
            const char *name;
        } names[] = {{STORE_FLAG_ANSWERED, "\\Answered"},
                     {STORE_FLAG_FLAGGED, "\\Flagged"},
                     {STORE_FLAG_DELETED, "\\Deleted"},
                     {STORE_FLAG_SEEN, "\\Seen"},
                     {STORE_FLAG_DRAFT, "\\Draft"}};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (flags & names[i].bit) {
                fprintf(out, "%s%s", sep, names[i].name);
                sep = " ";
            }
        if (!readonly && (rights & IMAP_RIGHT_W)) /* keywords need w */
            fprintf(out, "%s\\*", sep);
    }
    fputs(")] Flags permitted\r\n", out);
}

static void select_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    bool examine = cmd->name_len == 7; /* EXAMINE */
    const char *name = imap_mailbox_arg(cmd, 0, out);
    struct store *st = imapd_store();
    struct imap_mbox m;
    struct store_mailbox *mb = &m.mb;
    struct imap_flagcopy *fc = &s->sel.flags;
    struct store_error err;
    uint32_t first_recent = 0, unseen = 0;

    if (name == NULL)
        return;
    /* a SELECT that fails leaves no mailbox selected (RFC 3501 6.3.1) */
    imap_selected_clear(&s->sel);
    s->state = IMAP_STATE_AUTH;
    /* RFC 4314 4: SELECT and EXAMINE need r */
    if (imap_mbox_open(s, cmd, name, IMAP_RIGHT_R, false, &m, out) < 0)
        return;
    bool shared = strcmp(m.owner, s->user) != 0;
    s->sel.name = strdup(mb->name);
    s->sel.owner = strdup(m.owner);
    if (s->sel.name == NULL || s->sel.owner == NULL) {
        imap_selected_clear(&s->sel);
        imap_out_tagged(out, cmd, "NO", "[SERVERBUG] Out of memory");
        goto out;
    }
    s->sel.id = mb->id;
    s->sel.uidvalidity = mb->uidvalidity;
    /* the messages: a copy an earlier session left brought up to date, or read whole (after
     * mb was: every change up to its HIGHESTMODSEQ is in) */
    imap_flagcopy_take(fc, m.owner, mb->id, mb->uidvalidity);
    /* \Recent belongs to the owner's sessions: another user's look does not take it away */
    if (imap_flagcopy_refresh(s, mb->highestmodseq, &err) != STORE_OK ||
        (!examine && !shared &&
         store_mailbox_take_recent(st, m.owner, mb->id, &first_recent, &err) != STORE_OK)) {
        imap_selected_clear(&s->sel);
        imap_out_store_error(out, cmd, &err);
        goto out;
    }
    size_t n = fc->n;
    s->sel.uids = fc->valid ? calloc(n + 1, sizeof(*s->sel.uids)) : NULL;
    if (s->sel.uids == NULL) {
        imap_selected_clear(&s->sel);
        imap_out_tagged(out, cmd, "NO", "[SERVERBUG] Out of memory");
        goto out;
    }
    uint32_t recent = 0;
    for (size_t i = 0; i < n; i++) {
        s->sel.uids[i] = fc->v[i].uid;
        if (!(fc->v[i].flags & STORE_FLAG_SEEN) && unseen == 0)
            unseen = (uint32_t)i + 1;
        recent += first_recent != 0 && fc->v[i].uid >= first_recent;
    }
    s->sel.n = n;
    s->sel.uidnext = mb->uidnext;
    s->sel.modseq = mb->highestmodseq;
    s->sel.shared = shared;
    s->sel.rights = m.rights;
    /* RFC 4314 5.2: without i, e and the flag rights a SELECT is read-only */
    s->sel.readonly = examine || !imap_rights_writable(m.rights);
    s->sel.first_recent = first_recent;
    s->state = IMAP_STATE_SELECTED;
    fprintf(out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s%s)\r\n",
            mb->keywords[0] ? " " : "", mb->keywords);
    select_out_permanent(out, s->sel.readonly && !examine, m.rights);
    fprintf(out, "* %zu EXISTS\r\n* %u RECENT\r\n", n, recent);
    if (unseen != 0)
        fprintf(out, "* OK [UNSEEN %u] First unseen\r\n", unseen);
    fprintf(out, "* OK [UIDVALIDITY %u] UIDs valid\r\n* OK [UIDNEXT %u] Predicted next UID\r\n",
            mb->uidvalidity, mb->uidnext);
    imap_out_tagged(out, cmd, "OK", "[%s] %s completed",
                    s->sel.readonly ? "READ-ONLY" : "READ-WRITE", examine ? "EXAMINE" : "SELECT");
out:
    imap_mbox_close(&m);
}

void imap_cmd_select(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, select_work);
}

static void close_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    struct store_error err;

    /* CLOSE expunges silently (RFC 3501 6.4.2), only with e (RFC 4314 4); UNSELECT does not
     * (RFC 3691) */
    if (cmd->name_len == 5 && !s->sel.readonly && (s->sel.rights & IMAP_RIGHT_E) &&
        store_expunge(imapd_store(), s->sel.owner, s->sel.id, NULL, 0, NULL, NULL, &err) !=
            STORE_OK &&
        err.code != STORE_ENOTFOUND) {
        imap_out_store_error(out, cmd, &err);
        return;
    }
    imap_selected_clear(&s->sel);
    s->state = IMAP_STATE_AUTH;
    imap_out_tagged(out, cmd, "OK", "%.*s completed", (int)cmd->name_len, cmd->name);
}

void imap_cmd_close(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, close_work);
}

void imap_cmd_unselect(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, close_work);
}

/* RFC 4466 create-params as RFC 6154 3 uses them: "(USE (\Sent ...))". Writes the canonical
 * attributes to use_r ("" when none); false after writing the BAD or NO. */
static bool create_params(const struct imap_cmd *cmd, char *use_r, size_t size, FILE *out)
{
    const struct imap_arg *p, *attr;
    const char *name;
    unsigned count;

    use_r[0] = '\0';
    if (cmd->nargs == 1)
        return true;
    if (cmd->nargs != 2 || !imap_arg_get_list(cmd->args->next, &p, &count) || count == 0) {
        imap_out_tagged(out, cmd, "BAD", "Usage: CREATE mailbox [(USE (attributes))]");
        return false;
    }
    for (; p != NULL; p = p->next->next) {
        if (!imap_arg_get_atom(p, &name) || strcasecmp(name, "USE") != 0) {
            imap_out_tagged(out, cmd, "BAD", "Unknown CREATE parameter (USE is known)");
            return false;
        }
        if (p->next == NULL || !imap_arg_get_list(p->next, &attr, &count)) {
            imap_out_tagged(out, cmd, "BAD", "USE takes a list of special-use attributes");
            return false;
        }
        for (; attr != NULL; attr = attr->next) {
            size_t len = strlen(use_r);
            if (!imap_arg_get_atom(attr, &name) || name[0] != '\\') {
                imap_out_tagged(out, cmd, "BAD", "USE takes a list of special-use attributes");
                return false;
            }
            size_t nlen = strlen(name);
            if (len + nlen + 2 > size) {
                imap_out_tagged(out, cmd, "BAD", "Too many special-use attributes");
                return false;
            }
            if (len > 0)
                use_r[len++] = ' ';
            memcpy(use_r + len, name, nlen + 1);
        }
    }
    /* RFC 6154 3: an attribute the server does not support is NO [USEATTR] */
    if (use_r[0] != '\0' && !store_specialuse_canon(use_r, use_r)) {
        imap_out_tagged(out, cmd, "NO",
                        "[USEATTR] Supported special-use attributes are \\All "
                        "\\Archive \\Drafts \\Flagged \\Junk \\Sent \\Trash, "
                        "each once");
        return false;
    }
    return true;
}

/* The name of name's parent (caller frees), NULL at the top level. */
static char *mailbox_parent(const char *name)
{
    const char *slash = strrchr(name, '/');

    return slash != NULL ? strndup(name, (size_t)(slash - name)) : NULL;
}

/* RFC 4314 4: creating a mailbox in another user's store needs k on its parent (the top level
 * of a store is its owner's alone). Opens the parent of m into parent (also for the user's own
 * mailboxes, whose ACL a new mailbox inherits); 0 when it may go ahead, -1 after the NO. */
static int create_parent(struct imap_session *s, const struct imap_cmd *cmd,
                         const struct imap_mbox *m, struct imap_mbox *parent, FILE *out)
{
    char *pname = mailbox_parent(m->name), *client;
    int rc = 0;

    memset(parent, 0, sizeof(*parent));
    if (m->kind == IMAP_NAME_SHARED && pname == NULL) {
        imap_out_noperm(out, cmd, IMAP_RIGHT_K);
        rc = -1;
    } else if (m->kind == IMAP_NAME_SHARED) {
        if (asprintf(&client, IMAP_SHARED_PREFIX "%s/%s", m->owner, pname) < 0)
            abort();
        rc = imap_mbox_open(s, cmd, client, IMAP_RIGHT_K, false, parent, out);
        free(client);
    } else if (pname != NULL) { /* the user's own: a missing parent is made by the store */
        struct store_error err;
        if (store_mailbox_get(imapd_store(), m->owner, pname, &parent->mb, &err) != STORE_OK)
            memset(&parent->mb, 0, sizeof(parent->mb));
    }
    free(pname);
    return rc;
}

/* A new mailbox starts with its parent's ACL (so a shared tree stays shared); best effort:
 * the mailbox exists whatever happens here. */
static void create_inherit(struct imap_session *s, const char *owner, uint32_t parent_id,
                           const char *name)
{
    struct store_mailbox mb;
    struct store_acl *acl;
    struct store_error err;
    size_t n;

    if (parent_id == 0 ||
        store_acl_list(imapd_store(), owner, parent_id, &acl, &n, &err) != STORE_OK)
        return;
    if (n > 0 && store_mailbox_get(imapd_store(), owner, name, &mb, &err) == STORE_OK) {
        for (size_t i = 0; i < n; i++)
            if (store_acl_set(imapd_store(), owner, mb.id, acl[i].identifier, acl[i].rights,
                              &err) != STORE_OK)
                conn_warning(s->conn, "CREATE %s: ACL of the parent not copied: %s", name, err.msg);
        store_mailbox_clear(&mb);
    }
    store_acl_list_free(&acl, n);
}

static void create_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    const char *name = imap_mailbox_arg(cmd, 0, out);
    struct store_mailbox mb;
    struct store_error err;
    struct imap_mbox m, parent = {0};
    char use[128];

    if (name == NULL || !create_params(cmd, use, sizeof(use), out))
        return;
    /* a trailing separator says children will follow (RFC 3501 6.3.3): the name is without it */
    char *copy = strdup(name);
    size_t len = copy != NULL ? strlen(copy) : 0;
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    if (copy == NULL) {
        imap_out_tagged(out, cmd, "NO", "[SERVERBUG] Out of memory");
        return;
    }
    imap_mbox_resolve(s, copy, &m);
    if (m.kind == IMAP_NAME_LEVEL || m.kind == IMAP_NAME_NONE) {
        imap_out_tagged(out, cmd, "NO",
                        "[CANNOT] \"" IMAP_SHARED_ROOT "\" holds other users' mailboxes");
        free(copy);
        return;
    }
    if (create_parent(s, cmd, &m, &parent, out) < 0) {
        free(copy);
        return;
    }
    if (store_mailbox_create(imapd_store(), m.owner, m.name, &err) != STORE_OK) {
        imap_out_store_error(out, cmd, &err);
        goto out;
    }
    create_inherit(s, m.owner, parent.mb.id, m.name);
    /* the attributes go in a second commit; should it fail, the mailbox goes again */
    if (use[0] != '\0') {
        enum store_err rc = store_mailbox_get(imapd_store(), m.owner, m.name, &mb, &err);
        if (rc == STORE_OK) {
            rc = store_annotation_set(imapd_store(), m.owner, mb.id, STORE_SPECIALUSE_ENTRY, use,
                                      &err);
            store_mailbox_clear(&mb);
        }
        if (rc != STORE_OK) {
            struct store_error ignored;
            store_mailbox_delete(imapd_store(), m.owner, m.name, &ignored);
            imap_out_store_error(out, cmd, &err);
            goto out;
        }
    }
    imap_out_tagged(out, cmd, "OK", "CREATE completed");
out:
    imap_mbox_close(&parent);
    free(copy);
}

void imap_cmd_create(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, create_work);
}

static void delete_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    const char *name = imap_mailbox_arg(cmd, 0, out);
    struct store_error err;
    struct imap_mbox m;

    if (name == NULL)
        return;
    if (strcmp(name, "INBOX") == 0) {
        imap_out_tagged(out, cmd, "NO", "[CANNOT] INBOX cannot be deleted");
        return;
    }
    /* RFC 4314 4: DELETE needs x */
    if (imap_mbox_open(s, cmd, name, IMAP_RIGHT_X, false, &m, out) < 0)
        return;
    if (s->state == IMAP_STATE_SELECTED && strcmp(s->sel.owner, m.owner) == 0 &&
        s->sel.id == m.mb.id)
        imap_out_tagged(out, cmd, "NO", "[INUSE] Close the mailbox before deleting it");
    else if (store_mailbox_delete(imapd_store(), m.owner, m.mb.name, &err) != STORE_OK)
        imap_out_store_error(out, cmd, &err);
    else
        imap_out_tagged(out, cmd, "OK", "DELETE completed");
    imap_mbox_close(&m);
}

void imap_cmd_delete(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, delete_work);
}

static void rename_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    const char *from = imap_mailbox_arg(cmd, 0, out);
    const char *to = from != NULL ? imap_mailbox_arg(cmd, 1, out) : NULL;
    struct store_error err;
    struct imap_mbox src, dst, parent = {0};

    if (to == NULL)
        return;
    /* RFC 4314 4: RENAME needs x on the mailbox and k on the new parent */
    if (imap_mbox_open(s, cmd, from, IMAP_RIGHT_X, false, &src, out) < 0)
        return;
    imap_mbox_resolve(s, to, &dst);
    if (dst.kind == IMAP_NAME_LEVEL || dst.kind == IMAP_NAME_NONE)
        imap_out_tagged(out, cmd, "NO",
                        "[CANNOT] \"" IMAP_SHARED_ROOT "\" holds other users' mailboxes");
    else if (strcmp(src.owner, dst.owner) != 0)
        imap_out_tagged(out, cmd, "NO", "[CANNOT] A mailbox cannot move to another user");
    else if (dst.kind == IMAP_NAME_SHARED && create_parent(s, cmd, &dst, &parent, out) < 0)
        ; /* the NO is out */
    else if (store_mailbox_rename(imapd_store(), src.owner, src.mb.name, dst.name, &err) !=
             STORE_OK)
        imap_out_store_error(out, cmd, &err);
    else
        imap_out_tagged(out, cmd, "OK", "RENAME completed");
    imap_mbox_close(&parent);
    imap_mbox_close(&src);
}

void imap_cmd_rename(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, rename_work);
}

static void subscribe_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    const char *name = imap_mailbox_arg(cmd, 0, out);
    bool on = cmd->name_len == 9; /* SUBSCRIBE */
    struct store_error err;
    struct imap_mbox m;
    char *owned = NULL, *canon;

    if (name == NULL)
        return;
    /* another user's mailbox is kept as LIST spells it: owner in lower case, INBOX in capitals */
    imap_mbox_resolve(s, name, &m);
    if (m.kind == IMAP_NAME_SHARED && store_name_canon(m.name, &canon, NULL) == STORE_OK) {
        if (asprintf(&owned, IMAP_SHARED_PREFIX "%s/%s", m.owner, canon) < 0)
            owned = NULL;
        free(canon);
    }
    if (store_subscribe(imapd_store(), s->user, owned != NULL ? owned : name, on, &err) != STORE_OK)
        imap_out_store_error(out, cmd, &err);
    else
        imap_out_tagged(out, cmd, "OK", "%s completed", on ? "SUBSCRIBE" : "UNSUBSCRIBE");
    free(owned);
}

void imap_cmd_subscribe(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, subscribe_work);
}

/* reference + pattern (RFC 3501 6.3.8), decoded from modified UTF-7; NULL after BAD. */
static char *imap_list_pattern(const struct imap_cmd *cmd, const struct imap_arg *ref_arg,
                               const struct imap_arg *pat_arg, FILE *out)
{
    const char *ref, *pat;
    size_t ref_len, pat_len, len;
    char *joined, *utf8;

    /* list-mailbox is an astring that may also hold the wildcards % and * (RFC 3501 9) */
    if (imap_arg_get_atom(pat_arg, &pat))
        pat_len = strlen(pat);
    else if (!imap_arg_get_astring(pat_arg, &pat, &pat_len))
        pat = NULL;
    if (!imap_arg_get_astring(ref_arg, &ref, &ref_len) || pat == NULL) {
        imap_out_tagged(out, cmd, "BAD", "Usage: %.*s reference pattern", (int)cmd->name_len,
                        cmd->name);
        return NULL;
    }
    if (asprintf(&joined, "%.*s%.*s", (int)ref_len, ref, (int)pat_len, pat) < 0)
        return NULL;
    utf8 = malloc(strlen(joined) * 4 + 1);
    if (utf8 == NULL ||
        imap_mutf7_decode(joined, strlen(joined), utf8, strlen(joined) * 4 + 1, &len) != 0) {
        imap_out_tagged(out, cmd, "BAD", "Pattern is not valid modified UTF-7");
        free(utf8);
        utf8 = NULL;
    }
    free(joined);
    return utf8;
}

#define LIST_PATTERNS_MAX 16

/* What a LIST asks. Besides RFC 3501's form, the extended syntax of RFC 5258 as RFC 6154 uses
 * it: "LIST (SPECIAL-USE) ref pattern" lists only special-use mailboxes, and "RETURN
 * (SPECIAL-USE)" asks for their attributes (always sent); RETURN (CHILDREN) is accepted, the
 * child attributes being always sent too. LIST-EXTENDED itself is not announced, so no other
 * option is known. */
struct list_req {
    bool lsub, only_specialuse;
    char *patterns[LIST_PATTERNS_MAX];
    size_t npatterns;
};

static void list_req_free(struct list_req *r)
{
    for (size_t i = 0; i < r->npatterns; i++)
        free(r->patterns[i]);
    r->npatterns = 0;
}

/* An option list: each atom must be one of known (NULL-terminated); sets *specialuse when
 * SPECIAL-USE is there. false after BAD. */
static bool list_options(const struct imap_cmd *cmd, const struct imap_arg *arg,
                         const char *const *known, const char *what, bool *specialuse, FILE *out)
{
    const struct imap_arg *o;
    const char *name;
    unsigned count;

    if (!imap_arg_get_list(arg, &o, &count)) {
        imap_out_tagged(out, cmd, "BAD", "LIST %s options are a parenthesised list", what);
        return false;
    }
    for (; o != NULL; o = o->next) {
        size_t k;
        if (!imap_arg_get_atom(o, &name))
            name = "";
        for (k = 0; known[k] != NULL && strcasecmp(name, known[k]) != 0; k++)
            ;
        if (known[k] == NULL) {
            imap_out_tagged(out, cmd, "BAD", "Unknown LIST %s option (SPECIAL-USE is known)", what);
            return false;
        }
        *specialuse |= strcasecmp(name, "SPECIAL-USE") == 0;
    }
    return true;
}

static bool list_parse(const struct imap_cmd *cmd, struct list_req *r, FILE *out)
{
    static const char *const select_opts[] = {"SPECIAL-USE", NULL};
    static const char *const return_opts[] = {"SPECIAL-USE", "CHILDREN", NULL};
    const struct imap_arg *a = cmd->args, *ref, *pat;
    bool ret_specialuse = false;
    const char *word;

    r->lsub = (cmd->name[1] | 0x20) == 's';
    if (!r->lsub && a != NULL && a->type == IMAP_ARG_LIST) {
        if (!list_options(cmd, a, select_opts, "selection", &r->only_specialuse, out))
            return false;
        a = a->next;
    }
    ref = a;
    pat = a != NULL ? a->next : NULL;
    if (pat == NULL || (r->lsub && pat->next != NULL)) {
        imap_out_tagged(out, cmd, "BAD", "Usage: %.*s reference pattern", (int)cmd->name_len,
                        cmd->name);
        return false;
    }
    if (pat->next != NULL) {
        if (!imap_arg_get_atom(pat->next, &word) || strcasecmp(word, "RETURN") != 0 ||
            pat->next->next == NULL || pat->next->next->next != NULL) {
            imap_out_tagged(out, cmd, "BAD",
                            "Usage: LIST [(options)] reference pattern "
                            "[RETURN (options)]");
            return false;
        }
        if (!list_options(cmd, pat->next->next, return_opts, "return", &ret_specialuse, out))
            return false;
    }
    /* RFC 5258 3: several patterns in parentheses */
    const struct imap_arg *p = pat;
    unsigned count = 1;
    if (!r->lsub && pat->type == IMAP_ARG_LIST) {
        p = pat->list;
        count = pat->count;
        if (count == 0 || count > LIST_PATTERNS_MAX) {
            imap_out_tagged(out, cmd, "BAD", "LIST takes 1 to %d patterns", LIST_PATTERNS_MAX);
            return false;
        }
    }
    for (unsigned i = 0; i < count; i++, p = p->next) {
        if ((r->patterns[r->npatterns] = imap_list_pattern(cmd, ref, p, out)) == NULL) {
            list_req_free(r);
            return false;
        }
        r->npatterns++;
    }
    return true;
}

/* The special-use attributes of mailbox id in the list (NULL when it has none). */
static const char *list_specialuse(const struct store_annotation *su, size_t nsu, uint32_t id)
{
    for (size_t i = 0; i < nsu; i++)
        if (su[i].mailbox_id == id)
            return su[i].value;
    return NULL;
}

/* What LIST and LSUB can show: the user's mailboxes, the shared ones the user may look up, and
 * the levels above those (\Noselect). Sorted by name bytes. */
struct list_entry {
    const char *name;
    uint32_t id;   /* the user's own mailboxes: for the special-use attributes; else 0 */
    bool noselect; /* a level: "Shared Folders", an owner, a mailbox the user may not see */
};

struct list_view {
    struct list_entry *v;
    size_t n, cap;
    char **owned; /* names made here */
    size_t nowned;
};

static void view_add(struct list_view *w, const char *name, uint32_t id, bool noselect)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->v = realloc(w->v, w->cap * sizeof(*w->v));
        if (w->v == NULL)
            abort();
    }
    w->v[w->n++] = (struct list_entry){.name = name, .id = id, .noselect = noselect};
}

static int view_cmp(const void *a, const void *b)
{
    const struct list_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c != 0 ? c : (int)x->noselect - (int)y->noselect; /* a mailbox before its level */
}

/* The first entry whose name is >= key. */
static size_t view_lower(const struct list_view *w, const char *key)
{
    size_t lo = 0, hi = w->n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(w->v[mid].name, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const struct list_entry *view_find(const struct list_view *w, const char *name)
{
    size_t i = view_lower(w, name);

    return i < w->n && strcmp(w->v[i].name, name) == 0 ? &w->v[i] : NULL;
}

static bool view_children(const struct list_view *w, const char *name)
{
    size_t len = strlen(name);
    char *key = malloc(len + 2);
    bool found;

    if (key == NULL)
        abort();
    memcpy(key, name, len);
    memcpy(key + len, "/", 2);
    size_t i = view_lower(w, key);
    found = i < w->n && strncmp(w->v[i].name, key, len + 1) == 0;
    free(key);
    return found;
}

/* Adds the shared mailboxes the user may look up, and every level above each. */
static void view_add_shared(struct list_view *w, struct imap_shared_box *sh, size_t nsh)
{
    for (size_t i = 0; i < nsh; i++) {
        view_add(w, sh[i].name, 0, false);
        for (char *p = sh[i].name; (p = strchr(p, '/')) != NULL; p++) {
            char *level = strndup(sh[i].name, (size_t)(p - sh[i].name));
            if (level == NULL)
                abort();
            w->owned = realloc(w->owned, (w->nowned + 1) * sizeof(*w->owned));
            if (w->owned == NULL)
                abort();
            w->owned[w->nowned++] = level;
            view_add(w, level, 0, true);
        }
    }
}

/* Sorts and keeps each name once (a mailbox rather than a level of the same name). */
static void view_finish(struct list_view *w)
{
    size_t n = 0;

    qsort(w->v, w->n, sizeof(*w->v), view_cmp);
    for (size_t i = 0; i < w->n; i++)
        if (n == 0 || strcmp(w->v[n - 1].name, w->v[i].name) != 0)
            w->v[n++] = w->v[i];
    w->n = n;
}

static void view_free(struct list_view *w)
{
    store_strings_free(&w->owned, w->nowned);
    free(w->v);
}

/* A mailbox of the user's own named under "Shared Folders" (made before that name meant the
 * other users' namespace) cannot be reached by its name, so LIST leaves it out. */
static bool list_reachable(const char *name)
{
    const char *owner, *rest;
    size_t len;

    return imap_name_split(name, &owner, &len, &rest) == IMAP_NAME_PERSONAL;
}

static void list_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    struct list_req r = {0};
    struct store_mailbox *mbs = NULL;
    struct store_annotation *su = NULL;
    struct imap_shared_box *sh = NULL;
    struct list_view w = {0};
    struct store_error err;
    size_t n = 0, nsu = 0, nsh = 0;
    char **subs = NULL;
    size_t nsubs = 0;

    if (!list_parse(cmd, &r, out))
        return;
    const char *what = r.lsub ? "LSUB" : "LIST";
    if (r.npatterns == 1 && r.patterns[0][0] == '\0') { /* the delimiter (RFC 3501 6.3.8) */
        fprintf(out, "* %s (\\Noselect) \"/\" \"\"\r\n", what);
        imap_out_tagged(out, cmd, "OK", "%s completed", what);
        list_req_free(&r);
        return;
    }
    if (r.lsub && store_subscriptions_list(imapd_store(), s->user, &subs, &nsubs, &err) != STORE_OK)
        nsubs = 0;
    /* other users' mailboxes are looked for only when a pattern can reach them */
    bool shared = false;
    for (size_t k = 0; k < r.npatterns; k++)
        shared |= imap_pattern_reaches_shared(r.patterns[k]);
    if (store_mailbox_list(imapd_store(), s->user, NULL, &mbs, &n, &err) != STORE_OK ||
        (!r.lsub && imap_specialuse_list(s, &su, &nsu, &err) != STORE_OK) ||
        (shared && imap_shared_list(s, &sh, &nsh, &err) != STORE_OK)) {
        imap_out_store_error(out, cmd, &err);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (list_reachable(mbs[i].name))
            view_add(&w, mbs[i].name, mbs[i].id, false);
    view_add_shared(&w, sh, nsh);
    view_finish(&w);
    for (size_t i = 0; i < (r.lsub ? nsubs : w.n); i++) {
        const char *name = r.lsub ? subs[i] : w.v[i].name;
        const struct list_entry *e = r.lsub ? view_find(&w, name) : &w.v[i];
        bool match = false;
        for (size_t k = 0; k < r.npatterns && !match; k++)
            match = store_name_match(r.patterns[k], name);
        if (!match)
            continue;
        /* RFC 6154 2: the attributes a mailbox carries (stored as RFC 6154 4's annotation) */
        const char *use = e != NULL && e->id != 0 ? list_specialuse(su, nsu, e->id) : NULL;
        if (r.only_specialuse && use == NULL)
            continue;
        bool children = view_children(&w, name);
        fprintf(out, "* %s (%s%s%s%s%s) \"/\" ", what,
                e != NULL && e->noselect ? "\\Noselect " : "",
                children ? "\\HasChildren" : "\\HasNoChildren", e == NULL ? " \\NonExistent" : "",
                use != NULL ? " " : "", use != NULL ? use : "");
        imap_out_mailbox(out, name);
        fputs("\r\n", out);
    }
    imap_out_tagged(out, cmd, "OK", "%s completed", what);
out:
    view_free(&w);
    imap_shared_list_free(&sh, nsh);
    store_strings_free(&subs, nsubs);
    store_mailbox_list_free(&mbs, n);
    store_annotation_list_free(&su, nsu);
    list_req_free(&r);
}

void imap_cmd_list(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, list_work);
}

static void status_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    const char *name = imap_mailbox_arg(cmd, 0, out);
    const struct imap_arg *items;
    unsigned count;
    struct imap_mbox m;

    if (name == NULL)
        return;
    if (cmd->nargs != 2 || !imap_arg_get_list(cmd->args->next, &items, &count) || count == 0) {
        imap_out_tagged(out, cmd, "BAD", "Usage: STATUS mailbox (items)");
        return;
    }
    /* RFC 4314 4: STATUS needs r */
    if (imap_mbox_open(s, cmd, name, IMAP_RIGHT_R, false, &m, out) < 0)
        return;
    const struct store_mailbox mb = m.mb;
    char *line = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&line, &len);
    bool bad = f == NULL;
    for (const struct imap_arg *it = items; f != NULL && it != NULL; it = it->next) {
        const char *item;
        if (!imap_arg_get_atom(it, &item)) {
            bad = true;
            break;
        }
        fputs(it == items ? "" : " ", f);
        if (strcasecmp(item, "MESSAGES") == 0)
            fprintf(f, "MESSAGES %u", mb.messages);
        else if (strcasecmp(item, "UNSEEN") == 0)
            fprintf(f, "UNSEEN %u", mb.unseen);
        else if (strcasecmp(item, "UIDNEXT") == 0)
            fprintf(f, "UIDNEXT %u", mb.uidnext);
        else if (strcasecmp(item, "UIDVALIDITY") == 0)
            fprintf(f, "UIDVALIDITY %u", mb.uidvalidity);
        else if (strcasecmp(item, "RECENT") == 0)
            fprintf(f, "RECENT %u",
                    mb.uidnext > mb.recent_uid + 1 && mb.messages > 0
                        ? (unsigned)(mb.uidnext - 1 - mb.recent_uid)
                        : 0u);
        else
            bad = true;
    }
    if (f != NULL)
        fclose(f);
    if (bad) {
        imap_out_tagged(out, cmd, "BAD", "Unknown STATUS item");
    } else {
        fputs("* STATUS ", out);
        imap_out_mailbox(out, name);
        fprintf(out, " (%s)\r\n", line);
        imap_out_tagged(out, cmd, "OK", "STATUS completed");
    }
    free(line);
    imap_mbox_close(&m);
}

void imap_cmd_status(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, status_work);
}

/* RFC 2342: the personal namespace and the other users' one, under Sun's "Shared Folders/User/"
 * (a shared mailbox of bob's is "Shared Folders/User/bob/<name>"); no shared namespace. */
const char imap_namespace_line[] =
    "* NAMESPACE ((\"\" \"/\")) ((\"" IMAP_SHARED_PREFIX "\" \"/\")) NIL\r\n";

void imap_cmd_namespace(struct imap_session *s, struct imap_cmd **cmd)
{
    conn_puts(s->conn, imap_namespace_line);
    imap_reply_tagged(s, *cmd, "OK", "NAMESPACE completed");
}
