/* reconstruct for one user: check a readable index against the body files inside the user's
 * index transaction (repairing in the same transaction), or hand an unreadable one to the rebuild.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-reconstruct-private.h"

/* A rebuild that found the index changed under it starts over, this many times at most. */
#define RECONSTRUCT_ATTEMPTS 3

void store_rc_report(struct store_rc_run *run, enum store_rc_kind kind, const char *mailbox,
                     uint32_t uid, const char *action, const char *fmt, ...)
{
    char text[768];
    va_list ap;
    struct store_rc_finding f = {.kind = kind,
                                 .note = kind == STORE_RC_REBUILT || kind == STORE_RC_LOST ||
                                         kind == STORE_RC_REBUILD_ASKED,
                                 .user = run->u.user,
                                 .mailbox = mailbox,
                                 .uid = uid,
                                 .text = text,
                                 .action = run->opt->repair ? action : NULL};

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (!f.note)
        run->problems++;
    if (run->opt->report != NULL)
        run->opt->report(&f, run->opt->ctx);
}

struct user_check {
    struct store_rc_run *run;
    struct store_rc_index idx;
    struct store_rc_disk disk;
    bool ran;  /* the index opened */
    bool lost; /* and cannot be trusted: idx.why says why */
};

static enum store_err user_check_fn(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct user_check *c = vctx;
    enum store_err rc = store_rc_load_index(tx, &c->idx, err);

    c->ran = true;
    /* The files are listed under the index lock: no delivery links one meanwhile. */
    if (rc == STORE_OK)
        rc = store_rc_scan_disk(c->run->u.home, &c->disk, err);
    if (rc != STORE_OK)
        return rc;
    /* An index that knows no mailbox beside body files has lost them; trusting it would mean
     * removing every directory as a leftover. */
    if (!c->idx.lost && c->idx.nboxes == 0 && c->disk.nfiles > 0) {
        snprintf(c->idx.why, sizeof(c->idx.why),
                 "index holds no mailboxes, but the home holds %zu body files", c->disk.nfiles);
        c->idx.lost = true;
    }
    if (c->idx.lost) {
        c->lost = true;
        return store_fail(err, STORE_EIO, "%s", c->idx.why); /* aborts, nothing written */
    }
    return store_rc_check_index(tx, c->run, &c->idx, &c->disk, err);
}

/* One look at the index: STORE_OK when it was checked, or *lost_r with the finding and the
 * reason when it must be rebuilt (seen_r then holds what was at the path, *missing_r when
 * nothing was). */
static enum store_err user_check(struct store_rc_run *run, bool *lost_r, bool *missing_r,
                                 enum store_rc_kind *kind_r, struct stat *seen_r, char *why,
                                 size_t whylen, struct store_error *err)
{
    struct user_check c = {.run = run};
    enum store_err rc;

    *lost_r = *missing_r = false;
    *kind_r = STORE_RC_INDEX_UNREADABLE;
    if (stat(run->u.index, seen_r) != 0) {
        if (errno != ENOENT)
            return store_fail_errno(err, errno, "stat %s", run->u.index);
        *lost_r = *missing_r = true;
        *kind_r = STORE_RC_INDEX_MISSING;
        snprintf(why, whylen, "index.tcb missing");
        return STORE_OK;
    }
    if (run->opt->repair && run->opt->rebuild) { /* an index that reads but is not believed */
        *lost_r = true;
        *kind_r = STORE_RC_REBUILD_ASKED;
        snprintf(why, whylen, "rebuild from the body files asked for");
        return STORE_OK;
    }
    if (seen_r->st_size == 0) { /* a create that died before Tokyo Cabinet wrote its header */
        *lost_r = true;
        snprintf(why, whylen, "index.tcb is empty");
        return STORE_OK;
    }
    /* the file as it is now, not a handle this process kept from before (damage does not
     * advance the file's generation) */
    store_tx_forget(run->u.st, run->u.index);
    rc = store_user_tx(&run->u, run->opt->repair ? STORE_TX_WRITE : STORE_TX_READ, user_check_fn,
                       &c, err);
    /* Tokyo Cabinet refusing a file we may read and write means its content is broken. */
    if (rc == STORE_EIO && !c.ran && access(run->u.index, R_OK | W_OK) == 0) {
        c.lost = true;
        snprintf(c.idx.why, sizeof(c.idx.why), "%s", err != NULL ? err->msg : "cannot open");
    }
    if (rc == STORE_ENOTFOUND && !c.ran && access(run->u.index, F_OK) != 0) {
        *lost_r = *missing_r = true; /* removed since the stat above */
        *kind_r = STORE_RC_INDEX_MISSING;
        snprintf(why, whylen, "index.tcb missing");
        rc = STORE_OK;
    } else if (c.lost) {
        *lost_r = true;
        snprintf(why, whylen, "%s", c.idx.why);
        rc = stat(run->u.index, seen_r) == 0
                 ? STORE_OK
                 : store_fail_errno(err, errno, "stat %s", run->u.index);
    }
    store_rc_index_free(&c.idx);
    store_rc_disk_free(&c.disk);
    return rc;
}

enum store_err store_reconstruct_user(struct store *st, const char *user,
                                      const struct store_rc_options *opt, unsigned *problems_r,
                                      struct store_error *err)
{
    struct store_rc_run run = {.opt = opt};
    char why[STORE_ERRMSG_MAX];
    struct stat seen, sb;
    enum store_rc_kind kind;
    bool lost, missing, retry = true;
    enum store_err rc = store_userctx_init(&run.u, st, user, err);

    *problems_r = 0;
    if (rc != STORE_OK)
        return rc;
    if (stat(run.u.home, &sb) != 0 || !S_ISDIR(sb.st_mode))
        rc = store_fail(err, STORE_ENOTFOUND, "user %s has no mail folder", run.u.user);
    for (int attempt = 0; rc == STORE_OK && retry && attempt < RECONSTRUCT_ATTEMPTS; attempt++) {
        run.problems = 0;
        retry = false;
        rc = user_check(&run, &lost, &missing, &kind, &seen, why, sizeof(why), err);
        if (rc == STORE_OK && lost)
            rc = store_rc_rebuild(&run, kind, why, missing ? NULL : &seen, &retry, err);
    }
    if (rc == STORE_OK && retry)
        rc = store_fail(err, STORE_EBUSY, "%s: changed during every attempt to rebuild it",
                        run.u.index);
    *problems_r = run.problems;
    store_userctx_free(&run.u);
    return rc;
}
