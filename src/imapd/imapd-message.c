/* Message commands of the selected state (RFC 3501 6.4): STORE, EXPUNGE, CHECK (and NOOP's
 * report of other sessions' changes), COPY / MOVE, and their UID forms (UID FETCH goes to
 * imapd-fetch.c, UID SEARCH to imapd-search.c, UID SORT to imapd-sort-cmd.c). Work runs on the
 * pool and reads the store; replies are built in memory. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd-args.h"
#include "imapd-seqset.h"
#include "imapd.h"

const struct imap_arg *imap_args_of(const struct imap_cmd *cmd, bool *uid_r)
{
    *uid_r = cmd->name_len == 3 && strncasecmp(cmd->name, "UID", 3) == 0;
    return *uid_r ? cmd->args->next : cmd->args;
}

uint32_t imap_seq_of(const struct imap_session *s, uint32_t uid)
{
    size_t lo = 0, hi = s->sel.n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->sel.uids[mid] == uid)
            return (uint32_t)mid + 1;
        if (s->sel.uids[mid] < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

int imap_set_uids(struct imap_session *s, const struct imap_cmd *cmd, const struct imap_arg *arg,
                  bool uid, uint32_t **uids_r, size_t *n_r, FILE *out)
{
    const char *atom, *why = "Bad sequence set";
    struct imap_seqset set;

    *uids_r = NULL;
    *n_r = 0;
    if (!imap_arg_get_atom(arg, &atom) ||
        imap_seqset_parse(atom, strlen(atom), cmd->arena, &set, &why) != 0) {
        imap_out_tagged(out, cmd, "BAD", "%s", why);
        return -1;
    }
    imap_seqset_resolve(&set,
                        uid ? (s->sel.n ? s->sel.uids[s->sel.n - 1] : 0) : (uint32_t)s->sel.n);
    *uids_r = calloc(s->sel.n + 1, sizeof(**uids_r));
    if (*uids_r == NULL)
        return -1;
    for (size_t i = 0; i < s->sel.n; i++)
        if (imap_seqset_contains(&set, uid ? s->sel.uids[i] : (uint32_t)i + 1))
            (*uids_r)[(*n_r)++] = s->sel.uids[i];
    /* RFC 3501 6.4.8: a sequence number beyond the mailbox is an error, a UID never is */
    if (!uid && set.count > 0 && set.ranges[set.count - 1].hi > s->sel.n) {
        imap_out_tagged(out, cmd, "BAD", "No such message (sequence number beyond %zu)", s->sel.n);
        free(*uids_r);
        *uids_r = NULL;
        return -1;
    }
    return 0;
}

/* A flag list or a single flag: system flags into *flags_r, keywords space-separated. */
bool imap_parse_flag_list(const struct imap_arg *arg, uint32_t *flags_r, char **keywords_r)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } sys[] = {{"\\Seen", STORE_FLAG_SEEN},       {"\\Answered", STORE_FLAG_ANSWERED},
               {"\\Flagged", STORE_FLAG_FLAGGED}, {"\\Deleted", STORE_FLAG_DELETED},
               {"\\Draft", STORE_FLAG_DRAFT},     {"\\Recent", 0}};
    const struct imap_arg *first = arg;
    unsigned count = 1;
    char *kw = NULL;
    size_t kwlen = 0;
    FILE *k = open_memstream(&kw, &kwlen);

    if (k == NULL)
        return false;
    if (!imap_arg_get_list(arg, &first, &count))
        first = arg;
    *flags_r = 0;
    for (const struct imap_arg *it = first; it != NULL && count-- > 0; it = it->next) {
        const char *atom;
        bool known = false;
        if (!imap_arg_get_atom(it, &atom)) {
            fclose(k);
            free(kw);
            return false;
        }
        for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]) && !known; i++) {
            if (strcasecmp(atom, sys[i].name) == 0) {
                *flags_r |= sys[i].bit;
                known = true;
            }
        }
        if (!known && atom[0] == '\\') { /* an unknown system flag cannot be stored */
            fclose(k);
            free(kw);
            return false;
        }
        if (!known)
            fprintf(k, "%s%s", ftell(k) > 0 ? " " : "", atom);
    }
    fclose(k);
    *keywords_r = kw;
    return true;
}

/* The rights a flag change needs (RFC 4314 4): s for \Seen, t for \Deleted, w for the rest. */
static unsigned store_need(uint32_t flags, const char *keywords)
{
    unsigned need = 0;

    if (flags & STORE_FLAG_SEEN)
        need |= IMAP_RIGHT_S;
    if (flags & STORE_FLAG_DELETED)
        need |= IMAP_RIGHT_T;
    if ((flags & ~(STORE_FLAG_SEEN | STORE_FLAG_DELETED)) || (keywords && keywords[0]))
        need |= IMAP_RIGHT_W;
    return need;
}

/* The words of set that are not in drop (caller frees; NULL when none). */
static char *keywords_minus(const char *set, const char *drop)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);

    if (f == NULL)
        return NULL;
    for (const char *p = set; p != NULL && *p != '\0';) {
        size_t wl = strcspn(p, " ");
        bool dropped = false;
        for (const char *q = drop; q != NULL && *q != '\0' && !dropped;) {
            size_t ql = strcspn(q, " ");
            dropped = ql == wl && strncasecmp(p, q, wl) == 0;
            q += ql + (q[ql] == ' ');
        }
        if (!dropped)
            fprintf(f, "%s%.*s", ftell(f) > 0 ? " " : "", (int)wl, p);
        p += wl + (p[wl] == ' ');
    }
    fclose(f);
    if (out != NULL && out[0] == '\0') {
        free(out);
        out = NULL;
    }
    return out;
}

/* STORE within the user's rights on the selected mailbox: RFC 4314 4 asks that a STORE not
 * fail while the user may change one of the flags it names, so the others are left as they
 * are; with none of them, NO [NOPERM]. 0 done (*result_r as store_flags_update gives it), 1 a
 * store error in err, -1 after the NO. */
static int store_flags_allowed(struct imap_session *s, const struct imap_cmd *cmd,
                               const uint32_t *uids, size_t n, const struct store_flag_update *up,
                               struct store_msg **result_r, size_t *nresult_r,
                               struct store_error *err, FILE *out)
{
    uint32_t allowed = imap_rights_flags(s->sel.rights);
    bool kw_ok = (s->sel.rights & IMAP_RIGHT_W) != 0;
    unsigned need = store_need(up->flags, up->keywords);
    struct store_flag_update add = *up, del = *up;
    struct store_mailbox mb = {0};
    char *drop = NULL;
    int rc = 0;

    if (n == 0)
        return 0;
    if (allowed == imap_rights_flags(IMAP_RIGHTS_ALL) && kw_ok)
        return store_flags_update(imapd_store(), s->sel.owner, s->sel.id, uids, n, up, result_r,
                                  nresult_r, NULL, NULL, err) == STORE_OK
                   ? 0
                   : 1;
    if (up->op != STORE_FLAGS_REPLACE ? (need & s->sel.rights) == 0 && need != 0
                                      : allowed == 0 && !kw_ok) {
        imap_out_noperm(out, cmd, need != 0 ? need : IMAP_RIGHT_W);
        return -1;
    }
    add.flags = up->flags & allowed;
    add.keywords = kw_ok ? up->keywords : NULL;
    if (up->op != STORE_FLAGS_REPLACE)
        return store_flags_update(imapd_store(), s->sel.owner, s->sel.id, uids, n, &add, result_r,
                                  nresult_r, NULL, NULL, err) == STORE_OK
                   ? 0
                   : 1;
    /* FLAGS (...) with some rights: add what is named, take away the rest of what may change */
    add.op = STORE_FLAGS_ADD;
    del.op = STORE_FLAGS_REMOVE;
    del.flags = allowed & ~up->flags;
    del.keywords = NULL;
    if (kw_ok) {
        if (store_mailbox_get_id(imapd_store(), s->sel.owner, s->sel.id, &mb, err) != STORE_OK)
            return 1;
        del.keywords = drop = keywords_minus(mb.keywords, up->keywords);
    }
    if (store_flags_update(imapd_store(), s->sel.owner, s->sel.id, uids, n, &add, NULL, NULL, NULL,
                           NULL, err) != STORE_OK ||
        store_flags_update(imapd_store(), s->sel.owner, s->sel.id, uids, n, &del, result_r,
                           nresult_r, NULL, NULL, err) != STORE_OK)
        rc = 1;
    free(drop);
    store_mailbox_clear(&mb);
    return rc;
}

static void store_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    bool uid, silent;
    const struct imap_arg *args = imap_args_of(cmd, &uid);
    const char *item;
    struct store_flag_update up = {0};
    uint32_t *uids = NULL;
    size_t n;
    char *keywords = NULL;
    struct store_msg *result = NULL;
    size_t nresult = 0;
    struct store_error err;

    if (args == NULL || args->next == NULL || args->next->next == NULL ||
        args->next->next->next != NULL || !imap_arg_get_atom(args->next, &item)) {
        imap_out_tagged(out, cmd, "BAD", "Usage: STORE set (+|-)FLAGS[.SILENT] (flags)");
        return;
    }
    size_t ilen = strlen(item);
    silent = ilen > 7 && strcasecmp(item + ilen - 7, ".SILENT") == 0;
    if (silent)
        ilen -= 7;
    if (ilen == 5 && strncasecmp(item, "FLAGS", 5) == 0)
        up.op = STORE_FLAGS_REPLACE;
    else if (ilen == 6 && strncasecmp(item, "+FLAGS", 6) == 0)
        up.op = STORE_FLAGS_ADD;
    else if (ilen == 6 && strncasecmp(item, "-FLAGS", 6) == 0)
        up.op = STORE_FLAGS_REMOVE;
    else {
        imap_out_tagged(out, cmd, "BAD", "Unknown STORE item");
        return;
    }
    if (!imap_parse_flag_list(args->next->next, &up.flags, &keywords)) {
        imap_out_tagged(out, cmd, "BAD", "Bad flag list");
        return;
    }
    up.keywords = keywords;
    if (s->sel.readonly) {
        imap_out_tagged(out, cmd, "NO", "[READ-ONLY] Mailbox is read-only");
        free(keywords);
        return;
    }
    if (imap_set_uids(s, cmd, args, uid, &uids, &n, out) < 0) {
        free(keywords);
        return;
    }
    int rc = store_flags_allowed(s, cmd, uids, n, &up, &result, &nresult, &err, out);
    if (rc < 0) {
        ; /* the NO is out */
    } else if (rc > 0) {
        imap_out_store_error(out, cmd, &err);
    } else {
        for (size_t i = 0; i < nresult && !silent; i++) {
            fprintf(out, "* %u FETCH (", imap_seq_of(s, result[i].uid));
            if (uid)
                fprintf(out, "UID %u ", result[i].uid);
            fputs("FLAGS ", out);
            imap_out_flags(out, result[i].flags, result[i].keywords,
                           s->sel.first_recent != 0 && result[i].uid >= s->sel.first_recent);
            fputs(")\r\n", out);
        }
        /* this session's own change needs no second report, unless others' lie between */
        uint64_t top = 0;
        for (size_t i = 0; i < nresult; i++)
            top = result[i].modseq > top ? result[i].modseq : top;
        if (top == s->sel.modseq + 1)
            s->sel.modseq = top;
        imap_flagcopy_stored(&s->sel.flags, result, nresult);
        imap_out_tagged(out, cmd, "OK", "%sSTORE completed", uid ? "UID " : "");
    }
    store_msg_list_free(&result, nresult);
    free(uids);
    free(keywords);
}

void imap_cmd_store(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, store_work);
}

/* Drops uid from the session's view, answering "* seq EXPUNGE". */
static void imap_forget(struct imap_session *s, uint32_t uid, FILE *out)
{
    uint32_t seq = imap_seq_of(s, uid);

    if (seq == 0)
        return;
    fprintf(out, "* %u EXPUNGE\r\n", seq);
    memmove(&s->sel.uids[seq - 1], &s->sel.uids[seq], (s->sel.n - seq) * sizeof(uint32_t));
    s->sel.n--;
}

/* EXPUNGE, and UID EXPUNGE (RFC 4315 2.1) which removes only the named \Deleted messages. */
static void expunge_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    bool uid;
    const struct imap_arg *args = imap_args_of(cmd, &uid);
    uint32_t *gone = NULL, *only = NULL;
    size_t ngone = 0, nonly = 0;
    struct store_error err;

    if (s->sel.readonly) {
        imap_out_tagged(out, cmd, "NO", "[READ-ONLY] Mailbox is read-only");
        return;
    }
    if (uid && (args == NULL || args->next != NULL)) {
        imap_out_tagged(out, cmd, "BAD", "Usage: UID EXPUNGE set");
        return;
    }
    if (!imap_sel_check(s, cmd, IMAP_RIGHT_E, out)) /* RFC 4314 4 */
        return;
    if (uid && imap_set_uids(s, cmd, args, true, &only, &nonly, out) < 0)
        return;
    if ((!uid || nonly > 0) && store_expunge(imapd_store(), s->sel.owner, s->sel.id, only, nonly,
                                             &gone, &ngone, &err) != STORE_OK) {
        imap_out_store_error(out, cmd, &err);
        free(only);
        return;
    }
    for (size_t i = 0; i < ngone; i++)
        imap_forget(s, gone[i], out);
    free(gone);
    free(only);
    imap_out_tagged(out, cmd, "OK", "%sEXPUNGE completed", uid ? "UID " : "");
}

void imap_cmd_expunge(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, expunge_work);
}

/* Reports changes (from store_msg_changes) the session has not seen: messages expunged
 * elsewhere, then flag changes of messages it knows as FETCH (FLAGS), then new ones as EXISTS
 * (RFC 3501 7.4.1 allows EXPUNGE here, at a command that is not FETCH, STORE or SEARCH).
 * Changes at or below the session's MODSEQ are skipped, so one list taken for the lowest MODSEQ
 * serves every session on the mailbox. */
void imap_sync_apply(struct imap_session *s, const struct store_msg *changed, size_t nchanged,
                     const uint32_t *gone, size_t ngone, FILE *out)
{
    uint32_t *grown = realloc(s->sel.uids, (s->sel.n + nchanged + 1) * sizeof(*grown));
    uint64_t top = s->sel.modseq;
    size_t added = 0;

    if (grown == NULL)
        return; /* nothing reported: the next sync asks again */
    s->sel.uids = grown;
    for (size_t i = 0; i < ngone; i++)
        imap_forget(s, gone[i], out);
    uint32_t last = s->sel.n ? s->sel.uids[s->sel.n - 1] : 0;
    for (size_t i = 0; i < nchanged; i++) {
        const struct store_msg *m = &changed[i];
        uint32_t seq;
        if (m->modseq <= s->sel.modseq)
            continue;
        if (m->modseq > top)
            top = m->modseq;
        if (m->uid > last) {
            s->sel.uids[s->sel.n + added++] = m->uid;
            continue;
        }
        if ((seq = imap_seq_of(s, m->uid)) == 0)
            continue;
        fprintf(out, "* %u FETCH (FLAGS ", seq);
        imap_out_flags(out, m->flags, m->keywords,
                       s->sel.first_recent != 0 && m->uid >= s->sel.first_recent);
        fputs(")\r\n", out);
    }
    s->sel.n += added;
    s->sel.modseq = top;
    if (added > 0)
        fprintf(out, "* %zu EXISTS\r\n", s->sel.n);
}

/* Brings the session's view up to date; the work is proportional to the changes since the
 * MODSEQ it last reported, not to the mailbox. */
void imap_sync(struct imap_session *s, FILE *out)
{
    struct store_msg *changed = NULL;
    uint32_t *gone = NULL;
    size_t nchanged = 0, ngone = 0;
    struct store_error err;

    imap_sel_refresh(s); /* RFC 4314 4: what a user may no longer read is not reported */
    if (!(s->sel.rights & IMAP_RIGHT_R) ||
        store_msg_changes(imapd_store(), s->sel.owner, s->sel.id, s->sel.modseq, &changed,
                          &nchanged, &gone, &ngone, &err) != STORE_OK)
        return;
    imap_sync_apply(s, changed, nchanged, gone, ngone, out);
    store_msg_list_free(&changed, nchanged);
    free(gone);
}

static void check_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    imap_sync(s, out);
    imap_out_tagged(out, cmd, "OK", "%.*s completed", (int)cmd->name_len, cmd->name);
}

void imap_cmd_check(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, check_work);
}

/* RFC 4314 4: copies keep only the flags the user may set in the target (s for \Seen, t for
 * \Deleted, w for the others and keywords). Best effort: the copies are made. */
static void copy_strip_flags(struct imap_session *s, const struct imap_mbox *dm,
                             const struct store_copy_result *res)
{
    uint32_t allowed = imap_rights_flags(dm->rights);
    struct store_flag_update up = {.op = STORE_FLAGS_REMOVE, .flags = STORE_FLAGS_ALL & ~allowed};
    struct store_mailbox mb = {0};
    struct store_error err;

    if (res->n == 0 || (up.flags == 0 && (dm->rights & IMAP_RIGHT_W)))
        return;
    if (!(dm->rights & IMAP_RIGHT_W) &&
        store_mailbox_get_id(imapd_store(), dm->owner, dm->mb.id, &mb, &err) == STORE_OK)
        up.keywords = mb.keywords;
    if (store_flags_update(imapd_store(), dm->owner, dm->mb.id, res->dst_uids, res->n, &up, NULL,
                           NULL, NULL, NULL, &err) != STORE_OK)
        conn_warning(s->conn, "COPY: flags the user may not set kept: %s", err.msg);
    store_mailbox_clear(&mb);
}

/* The source half of a MOVE between two stores: exactly uids go. */
static enum store_err copy_expunge_source(struct imap_session *s, const uint32_t *uids, size_t n,
                                          struct store_error *err)
{
    struct store_flag_update up = {.op = STORE_FLAGS_ADD, .flags = STORE_FLAG_DELETED};
    enum store_err rc = store_flags_update(imapd_store(), s->sel.owner, s->sel.id, uids, n, &up,
                                           NULL, NULL, NULL, NULL, err);

    return rc != STORE_OK
               ? rc
               : store_expunge(imapd_store(), s->sel.owner, s->sel.id, uids, n, NULL, NULL, err);
}

/* COPY and MOVE (RFC 3501 6.4.7, RFC 6851), answered with COPYUID (RFC 4315). */
static void copy_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    bool uid;
    const struct imap_arg *args = imap_args_of(cmd, &uid);
    const char *verb = uid ? cmd->args->str : cmd->name;
    bool move = strncasecmp(verb, "MOVE", 4) == 0;
    const char *name, *why = "Missing mailbox name";
    struct imap_mbox dm;
    struct store_limits limits;
    struct store_copy_result res = {0};
    struct store_error err;
    uint32_t *uids;
    size_t n;

    if (args == NULL || args->next == NULL || args->next->next != NULL ||
        imap_arg_get_mailbox(args->next, cmd->arena, &name, &why) != 0) {
        imap_out_tagged(out, cmd, "BAD", "%s",
                        args && args->next ? why : "Usage: COPY set mailbox");
        return;
    }
    if (move && s->sel.readonly) {
        imap_out_tagged(out, cmd, "NO", "[READ-ONLY] Mailbox is read-only");
        return;
    }
    /* RFC 4314 4: r on the source (t and e too for MOVE, which expunges there), i on the
     * target; RFC 3501 6.4.7: a missing target is [TRYCREATE] */
    if (!imap_sel_check(s, cmd, IMAP_RIGHT_R | (move ? IMAP_RIGHT_T | IMAP_RIGHT_E : 0), out))
        return;
    if (imap_set_uids(s, cmd, args, uid, &uids, &n, out) < 0)
        return;
    if (imap_mbox_open(s, cmd, name, IMAP_RIGHT_I, true, &dm, out) < 0 ||
        imap_owner_limits(s, dm.owner, &limits, cmd, out) < 0) {
        imap_mbox_close(&dm);
        free(uids);
        return;
    }
    bool between = strcmp(dm.owner, s->sel.owner) != 0;
    if (n > 0 && (between ? store_copy_between(imapd_store(), s->sel.owner, s->sel.id, uids, n,
                                               dm.owner, dm.mb.id, &limits, &res, &err)
                          : store_copy(imapd_store(), s->sel.owner, s->sel.id, uids, n, dm.mb.id,
                                       &limits, move, &res, &err)) != STORE_OK) {
        imap_out_store_error(out, cmd, &err);
    } else {
        copy_strip_flags(s, &dm, &res);
        /* between two users' stores MOVE is a COPY, then \Deleted and EXPUNGE of exactly the
         * messages copied (RFC 6851 3.3 allows it not to be atomic) */
        if (move && between && res.n > 0 &&
            copy_expunge_source(s, res.src_uids, res.n, &err) != STORE_OK)
            conn_warning(s->conn, "MOVE: copied, but not removed from the source: %s", err.msg);
        char *copyuid = NULL;
        size_t clen = 0;
        FILE *c = open_memstream(&copyuid, &clen);
        for (size_t i = 0; c != NULL && i < res.n; i++)
            fprintf(c, "%s%u", i ? "," : "", res.src_uids[i]);
        if (c != NULL)
            fputs(" ", c);
        for (size_t i = 0; c != NULL && i < res.n; i++)
            fprintf(c, "%s%u", i ? "," : "", res.dst_uids[i]);
        if (c != NULL)
            fclose(c);
        if (move) {
            /* RFC 6851: COPYUID comes untagged, then the EXPUNGEs, then the tagged OK */
            if (res.n > 0 && copyuid != NULL)
                fprintf(out, "* OK [COPYUID %u %s] Moved\r\n", res.uidvalidity, copyuid);
            for (size_t i = 0; i < res.n; i++)
                imap_forget(s, res.src_uids[i], out);
            imap_out_tagged(out, cmd, "OK", "%sMOVE completed", uid ? "UID " : "");
        } else if (res.n > 0 && copyuid != NULL) {
            if (!between && dm.mb.id == s->sel.id) /* into the selected mailbox: EXISTS now */
                imap_sync(s, out);
            imap_out_tagged(out, cmd, "OK", "[COPYUID %u %s] %sCOPY completed", res.uidvalidity,
                            copyuid, uid ? "UID " : "");
        } else {
            imap_out_tagged(out, cmd, "OK", "%sCOPY completed", uid ? "UID " : "");
        }
        free(copyuid);
    }
    store_copy_result_clear(&res);
    imap_mbox_close(&dm);
    free(uids);
}

void imap_cmd_copy(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, copy_work);
}

void imap_cmd_uid(struct imap_session *s, struct imap_cmd **cmd)
{
    const char *sub;

    if ((*cmd)->nargs < 2 || !imap_arg_get_atom((*cmd)->args, &sub)) {
        imap_reply_tagged(s, *cmd, "BAD", "Usage: UID FETCH|STORE|SEARCH|SORT ...");
        return;
    }
    if (strcasecmp(sub, "FETCH") == 0)
        imap_cmd_fetch(s, cmd);
    else if (strcasecmp(sub, "STORE") == 0)
        imap_run(s, cmd, store_work);
    else if (strcasecmp(sub, "SEARCH") == 0)
        imap_cmd_search(s, cmd);
    else if (strcasecmp(sub, "SORT") == 0)
        imap_cmd_sort(s, cmd);
    else if (strcasecmp(sub, "COPY") == 0 || strcasecmp(sub, "MOVE") == 0)
        imap_run(s, cmd, copy_work);
    else if (strcasecmp(sub, "EXPUNGE") == 0)
        imap_run(s, cmd, expunge_work);
    else
        imap_reply_tagged(s, *cmd, "BAD", "Unknown or unsupported UID command");
}
