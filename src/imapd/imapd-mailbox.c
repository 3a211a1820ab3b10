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

void imap_out_flags(FILE *out, uint32_t flags, const char *keywords, bool recent)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {{STORE_FLAG_ANSWERED, "\\Answered"},
                 {STORE_FLAG_FLAGGED, "\\Flagged"},
                 {STORE_FLAG_DELETED, "\\Deleted"},
                 {STORE_FLAG_SEEN, "\\Seen"},
                 {STORE_FLAG_DRAFT, "\\Draft"}};
    const char *sep = "";

    fputc('(', out);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (flags & names[i].bit) {
            fprintf(out, "%s%s", sep, names[i].name);
            sep = " ";
        }
    }
    /* \Recent belongs to this session (RFC 3501 2.3.2) */
    if (recent) {
        fprintf(out, "%s\\Recent", sep);
        sep = " ";
    }
    if (keywords != NULL && keywords[0] != '\0')
        fprintf(out, "%s%s", sep, keywords);
    fputc(')', out);
}

static void select_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    bool examine = cmd->name_len == 7; /* EXAMINE */
    const char *name = imap_mailbox_arg(cmd, 0, out);
    struct store *st = imapd_store();
    struct store_mailbox mb;
    struct store_msg *msgs = NULL;
    struct store_error err;
    size_t n = 0;
    uint32_t first_recent = 0, unseen = 0;

    if (name == NULL)
        return;
    /* a SELECT that fails leaves no mailbox selected (RFC 3501 6.3.1) */
    imap_selected_clear(&s->sel);
    s->state = IMAP_STATE_AUTH;
    if (store_mailbox_get(st, s->user, name, &mb, &err) != STORE_OK ||
        store_msg_list(st, s->user, mb.id, 1, 0, &msgs, &n, &err) != STORE_OK ||
        (!examine &&
         store_mailbox_take_recent(st, s->user, mb.id, &first_recent, &err) != STORE_OK)) {
        imap_out_store_error(out, cmd, &err);
        return;
    }
    s->sel.uids = calloc(n + 1, sizeof(*s->sel.uids));
    s->sel.name = strdup(name);
    if (s->sel.uids == NULL || s->sel.name == NULL) {
        imap_selected_clear(&s->sel);
        imap_out_tagged(out, cmd, "NO", "[SERVERBUG] Out of memory");
        goto out;
    }
    uint32_t recent = 0;
    for (size_t i = 0; i < n; i++) {
        s->sel.uids[i] = msgs[i].uid;
        if (!(msgs[i].flags & STORE_FLAG_SEEN) && unseen == 0)
            unseen = (uint32_t)i + 1;
        recent += first_recent != 0 && msgs[i].uid >= first_recent;
    }
    s->sel.n = n;
    s->sel.id = mb.id;
    s->sel.uidvalidity = mb.uidvalidity;
    s->sel.uidnext = mb.uidnext;
    s->sel.modseq = mb.highestmodseq;
    s->sel.readonly = examine;
    s->sel.first_recent = first_recent;
    s->state = IMAP_STATE_SELECTED;
    fprintf(out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s%s)\r\n",
            mb.keywords[0] ? " " : "", mb.keywords);
    fprintf(out, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
                 "Flags permitted\r\n");
    fprintf(out, "* %zu EXISTS\r\n* %u RECENT\r\n", n, recent);
    if (unseen != 0)
        fprintf(out, "* OK [UNSEEN %u] First unseen\r\n", unseen);
    fprintf(out, "* OK [UIDVALIDITY %u] UIDs valid\r\n* OK [UIDNEXT %u] Predicted next UID\r\n",
            mb.uidvalidity, mb.uidnext);
    imap_out_tagged(out, cmd, "OK", "[%s] %s completed", examine ? "READ-ONLY" : "READ-WRITE",
                    examine ? "EXAMINE" : "SELECT");
out:
    store_mailbox_clear(&mb);
    store_msg_list_free(&msgs, n);
}

void imap_cmd_select(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, select_work);
}

static void close_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    struct store_error err;

    /* CLOSE expunges silently (RFC 3501 6.4.2); UNSELECT does not (RFC 3691) */
    if (cmd->name_len == 5 && !s->sel.readonly &&
        store_expunge(imapd_store(), s->user, s->sel.id, NULL, 0, NULL, NULL, &err) != STORE_OK &&
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

static void create_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    const char *name = imap_mailbox_arg(cmd, 0, out);
    struct store_mailbox mb;
    struct store_error err;
    char use[128];

    if (name == NULL || !create_params(cmd, use, sizeof(use), out))
        return;
    /* a trailing separator says children will follow (RFC 3501 6.3.3): the name is without it */
    char *copy = strdup(name);
    size_t len = copy != NULL ? strlen(copy) : 0;
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    if (copy == NULL || store_mailbox_create(imapd_store(), s->user, copy, &err) != STORE_OK) {
        if (copy == NULL)
            err = (struct store_error){.code = STORE_EIO};
        imap_out_store_error(out, cmd, &err);
        free(copy);
        return;
    }
    /* the attributes go in a second commit; should it fail, the mailbox goes again */
    if (use[0] != '\0') {
        enum store_err rc = store_mailbox_get(imapd_store(), s->user, copy, &mb, &err);
        if (rc == STORE_OK) {
            rc = store_annotation_set(imapd_store(), s->user, mb.id, STORE_SPECIALUSE_ENTRY, use,
                                      &err);
            store_mailbox_clear(&mb);
        }
        if (rc != STORE_OK) {
            struct store_error ignored;
            store_mailbox_delete(imapd_store(), s->user, copy, &ignored);
            imap_out_store_error(out, cmd, &err);
            free(copy);
            return;
        }
    }
    imap_out_tagged(out, cmd, "OK", "CREATE completed");
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

    if (name == NULL)
        return;
    if (strcmp(name, "INBOX") == 0) {
        imap_out_tagged(out, cmd, "NO", "[CANNOT] INBOX cannot be deleted");
        return;
    }
    if (s->state == IMAP_STATE_SELECTED && strcmp(s->sel.name, name) == 0) {
        imap_out_tagged(out, cmd, "NO", "[INUSE] Close the mailbox before deleting it");
        return;
    }
    if (store_mailbox_delete(imapd_store(), s->user, name, &err) != STORE_OK)
        imap_out_store_error(out, cmd, &err);
    else
        imap_out_tagged(out, cmd, "OK", "DELETE completed");
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

    if (to == NULL)
        return;
    if (store_mailbox_rename(imapd_store(), s->user, from, to, &err) != STORE_OK)
        imap_out_store_error(out, cmd, &err);
    else
        imap_out_tagged(out, cmd, "OK", "RENAME completed");
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

    if (name == NULL)
        return;
    if (store_subscribe(imapd_store(), s->user, name, on, &err) != STORE_OK)
        imap_out_store_error(out, cmd, &err);
    else
        imap_out_tagged(out, cmd, "OK", "%s completed", on ? "SUBSCRIBE" : "UNSUBSCRIBE");
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

static void list_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    struct list_req r = {0};
    struct store_mailbox *mbs = NULL;
    struct store_annotation *su = NULL;
    struct store_error err;
    size_t n = 0, nsu = 0;

    if (!list_parse(cmd, &r, out))
        return;
    const char *what = r.lsub ? "LSUB" : "LIST";
    if (r.npatterns == 1 && r.patterns[0][0] == '\0') { /* the delimiter (RFC 3501 6.3.8) */
        fprintf(out, "* %s (\\Noselect) \"/\" \"\"\r\n", what);
        imap_out_tagged(out, cmd, "OK", "%s completed", what);
        list_req_free(&r);
        return;
    }
    if (store_mailbox_list(imapd_store(), s->user, NULL, &mbs, &n, &err) != STORE_OK ||
        (!r.lsub && imap_specialuse_list(s, &su, &nsu, &err) != STORE_OK)) {
        imap_out_store_error(out, cmd, &err);
        store_mailbox_list_free(&mbs, n);
        list_req_free(&r);
        return;
    }
    char **subs = NULL;
    size_t nsubs = 0;
    if (r.lsub && store_subscriptions_list(imapd_store(), s->user, &subs, &nsubs, &err) != STORE_OK)
        nsubs = 0;
    for (size_t i = 0; i < (r.lsub ? nsubs : n); i++) {
        const char *name = r.lsub ? subs[i] : mbs[i].name;
        bool match = false;
        for (size_t k = 0; k < r.npatterns && !match; k++)
            match = store_name_match(r.patterns[k], name);
        if (!match)
            continue;
        /* RFC 6154 2: the attributes a mailbox carries (stored as RFC 6154 4's annotation) */
        const char *use = r.lsub ? NULL : list_specialuse(su, nsu, mbs[i].id);
        if (r.only_specialuse && use == NULL)
            continue;
        size_t len = strlen(name);
        bool children = false, exists = !r.lsub;
        for (size_t j = 0; j < n; j++) {
            children |= strncmp(mbs[j].name, name, len) == 0 && mbs[j].name[len] == '/';
            exists |= strcmp(mbs[j].name, name) == 0;
        }
        fprintf(out, "* %s (%s%s%s%s) \"/\" ", what, children ? "\\HasChildren" : "\\HasNoChildren",
                exists ? "" : " \\NonExistent", use != NULL ? " " : "", use != NULL ? use : "");
        imap_out_mailbox(out, name);
        fputs("\r\n", out);
    }
    imap_out_tagged(out, cmd, "OK", "%s completed", what);
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
    struct store_mailbox mb;
    struct store_error err;

    if (name == NULL)
        return;
    if (cmd->nargs != 2 || !imap_arg_get_list(cmd->args->next, &items, &count) || count == 0) {
        imap_out_tagged(out, cmd, "BAD", "Usage: STATUS mailbox (items)");
        return;
    }
    if (store_mailbox_get(imapd_store(), s->user, name, &mb, &err) != STORE_OK) {
        imap_out_store_error(out, cmd, &err);
        return;
    }
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
    store_mailbox_clear(&mb);
}

void imap_cmd_status(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, status_work);
}

/* one personal namespace, no shared or other users' ones (yet) */
const char imap_namespace_line[] = "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n";

void imap_cmd_namespace(struct imap_session *s, struct imap_cmd **cmd)
{
    conn_puts(s->conn, imap_namespace_line);
    imap_reply_tagged(s, *cmd, "OK", "NAMESPACE completed");
}
