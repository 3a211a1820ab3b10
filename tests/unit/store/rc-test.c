/* Helpers for the reconstruct tests: a report callback that keeps findings, paths into a home,
 * mailbox snapshots and whole-file reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "rc-test.h"
#include "store-private.h"

static void rc_keep(const struct store_rc_finding *f, void *ctx)
{
    struct rc_log *log = ctx;
    struct rc_seen *s;

    assert_true(log->n < RC_LOG_MAX);
    s = &log->v[log->n++];
    s->kind = f->kind;
    s->note = f->note;
    s->acted = f->action != NULL;
    snprintf(s->mailbox, sizeof(s->mailbox), "%s", f->mailbox ? f->mailbox : "");
    s->uid = f->uid;
    snprintf(s->text, sizeof(s->text), "%s", f->text);
}

enum store_err rc_try(struct store *st, const char *user, const struct store_rc_options *opt,
                      struct rc_log *log)
{
    struct store_rc_options o = *opt;
    struct store_error err;
    enum store_err rc;

    memset(log, 0, sizeof(*log));
    o.report = rc_keep;
    o.ctx = log;
    rc = store_reconstruct_user(st, user, &o, &log->problems, &err);
    if (rc != STORE_OK)
        print_message("reconstruct: %s\n", err.msg);
    return rc;
}

void rc_run(struct store *st, const char *user, bool repair, struct rc_log *log)
{
    struct store_rc_options opt = {.repair = repair};
    unsigned problems = 0;

    assert_int_equal(rc_try(st, user, &opt, log), STORE_OK);
    for (size_t i = 0; i < log->n; i++) {
        problems += !log->v[i].note;
        /* a check only reports; a repair says what it did about every problem */
        assert_true(log->v[i].note || log->v[i].acted == repair);
    }
    assert_int_equal(problems, log->problems);
}

size_t rc_count(const struct rc_log *log, enum store_rc_kind kind)
{
    size_t n = 0;

    for (size_t i = 0; i < log->n; i++)
        n += log->v[i].kind == kind;
    return n;
}

const struct rc_seen *rc_find(const struct rc_log *log, enum store_rc_kind kind,
                              const char *mailbox, uint32_t uid)
{
    for (size_t i = 0; i < log->n; i++)
        if (log->v[i].kind == kind &&
            (mailbox == NULL || strcmp(log->v[i].mailbox, mailbox) == 0) &&
            (uid == 0 || log->v[i].uid == uid))
            return &log->v[i];
    return NULL;
}

char *rc_home(struct store *st, const char *user)
{
    return store_path_home(st, user);
}

char *rc_body(struct store *st, const char *user, uint32_t mailbox_id, uint32_t uid)
{
    char *home = store_path_home(st, user), *p = store_path_body(home, mailbox_id, uid);

    free(home);
    return p;
}

char *rc_index(struct store *st, const char *user)
{
    return store_path_index(st, user);
}

struct store_msg *rc_msgs(struct store *st, const char *user, const char *mailbox, size_t *n_r)
{
    struct store_mailbox mb;
    struct store_msg *msgs;
    struct store_error err;

    assert_int_equal(store_mailbox_get(st, user, mailbox, &mb, &err), STORE_OK);
    assert_int_equal(store_msg_list(st, user, mb.id, 1, 0, &msgs, n_r, &err), STORE_OK);
    store_mailbox_clear(&mb);
    return msgs;
}

char *rc_slurp(const char *path, size_t *len_r)
{
    FILE *f = fopen(path, "rb");
    struct stat sb;
    char *buf;

    if (f == NULL)
        return NULL;
    assert_int_equal(fstat(fileno(f), &sb), 0);
    buf = calloc(1, (size_t)sb.st_size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)sb.st_size, f), (size_t)sb.st_size);
    fclose(f);
    *len_r = (size_t)sb.st_size;
    return buf;
}
