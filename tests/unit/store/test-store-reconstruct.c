/* reconstruct on a readable index: each kind of damage is found by a check that changes nothing,
 * repaired by a second run that keeps flags, keywords, MODSEQs, UIDs and UIDVALIDITY, and gone
 * in a third; and reconstruct waits for the index lock like every writer. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store-hfield.h"
#include "rc-test.h"
#include "store-test.h"
#include "store-tx.h"

#define USER "alice"

static int setup(void **state)
{
    struct store *st = test_store_new();
    struct store_flag_update seen = {STORE_FLAGS_ADD, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, "$Work",
                                     0};
    struct store_flag_update del = {STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL, 0};
    struct store_error err;
    uint32_t uid1 = 1, uid3 = 3;
    char text[128];

    for (int i = 1; i <= 3; i++) {
        snprintf(text, sizeof(text), "Message-ID: <i%d@test>\nSubject: in %d\n\nbody %d\n", i, i,
                 i);
        assert_int_equal(test_deliver(st, USER, NULL, text, NULL, NULL), STORE_OK);
    }
    assert_int_equal(store_mailbox_create(st, USER, "Box", &err), STORE_OK);
    for (int i = 1; i <= 2; i++) {
        snprintf(text, sizeof(text), "Message-ID: <b%d@test>\nSubject: box %d\n\nbody\n", i, i);
        assert_int_equal(test_deliver(st, USER, "Box", text, NULL, NULL), STORE_OK);
    }
    uint32_t inbox = test_mailbox_id(st, USER, "INBOX");
    assert_int_equal(
        store_flags_update(st, USER, inbox, &uid1, 1, &seen, NULL, NULL, NULL, NULL, &err),
        STORE_OK);
    assert_int_equal(
        store_flags_update(st, USER, inbox, &uid3, 1, &del, NULL, NULL, NULL, NULL, &err),
        STORE_OK);
    /* the tests tamper with index.tcb itself: nothing may wait in the journal */
    assert_int_equal(store_fold(st, USER, &err), STORE_OK);
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    struct store *st = *state;

    test_store_free(&st);
    return 0;
}

static struct store_mailbox mailbox(struct store *st, const char *name)
{
    struct store_mailbox mb;
    struct store_error err;

    assert_int_equal(store_mailbox_get(st, USER, name, &mb, &err), STORE_OK);
    return mb;
}

/* Every message of `before` that is in `after` has kept flags, keywords, MODSEQ and size. */
static void assert_kept(const struct store_msg *before, size_t nb, const struct store_msg *after,
                        size_t na)
{
    for (size_t i = 0; i < nb; i++)
        for (size_t j = 0; j < na; j++) {
            if (before[i].uid != after[j].uid)
                continue;
            assert_int_equal(before[i].flags, after[j].flags);
            assert_int_equal(before[i].modseq, after[j].modseq);
            assert_int_equal(before[i].internaldate, after[j].internaldate);
            assert_true(store_kw_equal(before[i].keywords, after[j].keywords));
        }
}

static void assert_clean(struct store *st)
{
    struct rc_log log;

    rc_run(st, USER, false, &log);
    for (size_t i = 0; i < log.n; i++)
        print_message("left: %s %u %s\n", log.v[i].mailbox, log.v[i].uid, log.v[i].text);
    assert_int_equal(log.n, 0);
}

/* Runs fn inside the user's index transaction, for tests that damage records on purpose. */
static void tamper(struct store *st, store_tx_fn *fn, void *ctx)
{
    char *index = rc_index(st, USER);
    struct store_error err;

    assert_int_equal(store_tx_run(st, index, STORE_TX_WRITE, fn, ctx, &err), STORE_OK);
    free(index);
}

static void test_clean_store(void **state)
{
    struct store *st = *state;
    struct rc_log log;
    size_t n0, n1;
    struct store_msg *before = rc_msgs(st, USER, "INBOX", &n0), *after;

    assert_clean(st);
    rc_run(st, USER, true, &log);
    assert_int_equal(log.n, 0);
    after = rc_msgs(st, USER, "INBOX", &n1);
    assert_int_equal(n0, n1);
    assert_kept(before, n0, after, n1);
    store_msg_list_free(&before, n0);
    store_msg_list_free(&after, n1);
}

static void test_body_missing(void **state)
{
    struct store *st = *state;
    struct store_mailbox mb = mailbox(st, "INBOX"), after_mb;
    struct store_usage use0, use1;
    struct store_msg m, *before, *after, *changed;
    struct store_error err;
    struct rc_log log;
    uint32_t *gone;
    size_t n0, n1, nchanged, ngone;
    char *body = rc_body(st, USER, mb.id, 2);

    before = rc_msgs(st, USER, "INBOX", &n0);
    assert_int_equal(store_usage_get(st, USER, &use0, &err), STORE_OK);
    assert_int_equal(unlink(body), 0);

    rc_run(st, USER, false, &log);
    assert_int_equal(log.problems, 1);
    assert_non_null(rc_find(&log, STORE_RC_BODY_MISSING, "INBOX", 2));
    assert_int_equal(store_msg_get(st, USER, mb.id, 2, &m, &err), STORE_OK); /* untouched */
    store_msg_clear(&m);

    rc_run(st, USER, true, &log);
    assert_int_equal(log.problems, 1);
    assert_non_null(rc_find(&log, STORE_RC_BODY_MISSING, "INBOX", 2));
    assert_int_equal(store_msg_get(st, USER, mb.id, 2, &m, &err), STORE_ENOTFOUND);
    after = rc_msgs(st, USER, "INBOX", &n1);
    assert_int_equal(n1, 2);
    assert_kept(before, n0, after, n1);
    after_mb = mailbox(st, "INBOX");
    assert_int_equal(after_mb.messages, 2);
    assert_int_equal(after_mb.uidvalidity, mb.uidvalidity);
    assert_int_equal(after_mb.uidnext, mb.uidnext);
    assert_int_equal(store_usage_get(st, USER, &use1, &err), STORE_OK);
    assert_int_equal(use1.messages, use0.messages - 1);
    assert_int_equal(use1.bytes, use0.bytes - before[1].size);
    /* clients learn it as an expunge */
    assert_int_equal(
        store_msg_changes(st, USER, mb.id, 0, &changed, &nchanged, &gone, &ngone, &err), STORE_OK);
    assert_int_equal(nchanged, 2);
    assert_int_equal(ngone, 1);
    assert_int_equal(gone[0], 2);
    assert_clean(st);
    free(gone);
    store_msg_list_free(&changed, nchanged);
    store_msg_list_free(&before, n0);
    store_msg_list_free(&after, n1);
    store_mailbox_clear(&mb);
    store_mailbox_clear(&after_mb);
    free(body);
}

static void crash_at_link(const char *point)
{
    if (strcmp(point, "deliver-linked") == 0)
        _exit(77);
}

static void test_orphan_files(void **state)
{
    struct store *st = *state;
    struct store_mailbox mb = mailbox(st, "INBOX");
    struct store_error err;
    struct rc_log log;
    uint32_t uid3 = 3, uid;
    int status;
    char *body3 = rc_body(st, USER, mb.id, 3), *body4 = rc_body(st, USER, mb.id, 4), *keep;
    pid_t pid = fork();

    /* a delivery that died between its link and its commit */
    assert_true(pid >= 0);
    if (pid == 0) {
        store_fault_hook = crash_at_link;
        test_deliver(st, USER, NULL, "Subject: lost\n\nlost\n", NULL, NULL);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(WEXITSTATUS(status), 77);
    assert_int_equal(access(body4, F_OK), 0);
    /* an EXPUNGE that committed but never unlinked */
    if (asprintf(&keep, "%s.keep", body3) < 0)
        abort();
    assert_int_equal(link(body3, keep), 0);
    assert_int_equal(store_expunge(st, USER, mb.id, &uid3, 1, NULL, NULL, &err), STORE_OK);
    assert_int_equal(rename(keep, body3), 0);

    rc_run(st, USER, false, &log);
    assert_int_equal(log.problems, 2);
    assert_non_null(rc_find(&log, STORE_RC_ORPHAN_NEW, "INBOX", 4));
    assert_non_null(rc_find(&log, STORE_RC_ORPHAN_EXPUNGED, "INBOX", 3));
    assert_int_equal(access(body4, F_OK), 0);
    rc_run(st, USER, true, &log);
    assert_int_equal(log.problems, 2);
    assert_int_equal(access(body4, F_OK), -1);
    assert_int_equal(access(body3, F_OK), -1);
    assert_clean(st);
    assert_int_equal(test_deliver(st, USER, NULL, "Subject: next\n\nn\n", NULL, &uid), STORE_OK);
    assert_int_equal(uid, 4);
    free(keep);
    free(body3);
    free(body4);
    store_mailbox_clear(&mb);
}

struct drop_ctx {
    uint32_t id;
    struct store_msg m;
};

static enum store_err drop_records(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct drop_ctx *c = vctx;
    unsigned char k[STORE_KEY_FIXED_MAX];

    store_tx_del(tx, k, store_key_msg(k, STORE_KEY_MESSAGE, c->id, c->m.uid), err);
    store_tx_del(tx, k, store_key_msg(k, STORE_KEY_MIME, c->id, c->m.uid), err);
    return store_tx_del(tx, k, store_key_modseq(k, STORE_KEY_MODSEQ, c->id, c->m.modseq, c->m.uid),
                        err);
}

/* A file under UIDNEXT with neither record nor tombstone comes back rather than going. */
static void test_record_missing(void **state)
{
    struct store *st = *state;
    struct store_mailbox mb = mailbox(st, "INBOX"), after;
    struct drop_ctx c = {.id = mb.id};
    struct store_error err;
    struct store_msg m;
    struct rc_log log;

    assert_int_equal(store_msg_get(st, USER, mb.id, 1, &c.m, &err), STORE_OK);
    tamper(st, drop_records, &c);
    rc_run(st, USER, false, &log);
    assert_int_equal(log.problems, 3);
    assert_non_null(rc_find(&log, STORE_RC_RECORD_MISSING, "INBOX", 1));
    assert_non_null(rc_find(&log, STORE_RC_COUNTS, "INBOX", 0));
    assert_non_null(rc_find(&log, STORE_RC_USAGE, NULL, 0));
    rc_run(st, USER, true, &log);
    assert_int_equal(store_msg_get(st, USER, mb.id, 1, &m, &err), STORE_OK);
    assert_int_equal(m.flags, 0); /* what the file cannot say is gone */
    assert_int_equal(m.size, c.m.size);
    assert_int_equal(m.internaldate, c.m.internaldate);
    assert_true(m.modseq > mb.highestmodseq);
    after = mailbox(st, "INBOX");
    assert_int_equal(after.messages, 3);
    assert_int_equal(after.unseen, 3);
    assert_clean(st);
    store_msg_clear(&m);
    store_msg_clear(&c.m);
    store_mailbox_clear(&mb);
    store_mailbox_clear(&after);
}

static enum store_err skew_counters(struct store_tx *tx, void *vctx, struct store_error *err)
{
    uint32_t id = *(uint32_t *)vctx;
    struct store_mailbox mb;
    struct store_usage use;
    unsigned char k[STORE_KEY_FIXED_MAX];
    struct store_buf name = {0};
    enum store_err rc = store_mbx_load(tx, id, &mb, err);

    assert_int_equal(rc, STORE_OK);
    mb.messages += 5;
    mb.unseen = 0;
    mb.uidnext = 2;
    mb.highestmodseq = 1;
    assert_int_equal(store_mbx_save(tx, &mb, err), STORE_OK);
    assert_int_equal(store_usage_load(tx, &use, err), STORE_OK);
    use.bytes += 1000;
    assert_int_equal(store_usage_save(tx, &use, err), STORE_OK);
    store_key_name(&name, STORE_KEY_NAME, "Box"); /* Box can no longer be found by name */
    assert_int_equal(store_tx_del(tx, name.data, name.len, err), STORE_OK);
    store_tx_put(tx, k, store_key_msg(k, STORE_KEY_MESSAGE, 0x77, 1), "x", 1, err); /* stray */
    store_buf_free(&name);
    store_mailbox_clear(&mb);
    return STORE_OK;
}

static void test_counters_names_sidecar(void **state)
{
    struct store *st = *state;
    struct store_mailbox mb = mailbox(st, "INBOX"), box = mailbox(st, "Box"), after;
    struct store_usage use;
    struct store_error err;
    struct rc_log log;
    size_t n0, n1, len;
    struct store_msg *before = rc_msgs(st, USER, "INBOX", &n0), *msgs;
    char *home = rc_home(st, USER), *side, *text;
    FILE *f;

    tamper(st, skew_counters, &mb.id);
    if (asprintf(&side, "%s/%08x/mailbox", home, box.id) < 0)
        abort();
    f = fopen(side, "w");
    assert_non_null(f);
    fputs("halyard-mailbox 1\nuidvalidity 7\nname Other\n", f);
    fclose(f);

    rc_run(st, USER, false, &log);
    assert_non_null(rc_find(&log, STORE_RC_COUNTS, "INBOX", 0));
    assert_non_null(rc_find(&log, STORE_RC_UIDNEXT, "INBOX", 0));
    assert_non_null(rc_find(&log, STORE_RC_MODSEQ, "INBOX", 0));
    assert_non_null(rc_find(&log, STORE_RC_USAGE, NULL, 0));
    assert_non_null(rc_find(&log, STORE_RC_NAMES, "Box", 0));
    assert_non_null(rc_find(&log, STORE_RC_SIDECAR, "Box", 0));
    assert_non_null(rc_find(&log, STORE_RC_STALE, NULL, 0));
    assert_int_equal(log.problems, 7);

    rc_run(st, USER, true, &log);
    assert_int_equal(log.problems, 7);
    after = mailbox(st, "INBOX");
    assert_int_equal(after.messages, 3);
    assert_int_equal(after.unseen, 2);
    assert_int_equal(after.deleted, 1);
    assert_int_equal(after.bytes, mb.bytes);
    assert_int_equal(after.uidnext, 4);
    assert_true(after.highestmodseq >= mb.highestmodseq);
    assert_int_equal(after.uidvalidity, mb.uidvalidity);
    assert_int_equal(store_usage_get(st, USER, &use, &err), STORE_OK);
    assert_int_equal(use.bytes, mb.bytes + box.bytes);
    store_mailbox_clear(&after);
    after = mailbox(st, "Box");
    assert_int_equal(after.id, box.id);
    text = rc_slurp(side, &len);
    assert_non_null(strstr(text, "name Box\n"));
    msgs = rc_msgs(st, USER, "INBOX", &n1);
    assert_kept(before, n0, msgs, n1);
    assert_clean(st);
    free(text);
    free(side);
    free(home);
    store_msg_list_free(&before, n0);
    store_msg_list_free(&msgs, n1);
    store_mailbox_clear(&mb);
    store_mailbox_clear(&box);
    store_mailbox_clear(&after);
}

static enum store_err drop_mime(struct store_tx *tx, void *vctx, struct store_error *err)
{
    unsigned char k[STORE_KEY_FIXED_MAX];

    return store_tx_del(tx, k, store_key_msg(k, STORE_KEY_MIME, *(uint32_t *)vctx, 2), err);
}

static void test_size_and_mime(void **state)
{
    struct store *st = *state;
    struct store_mailbox mb = mailbox(st, "INBOX");
    struct store_error err;
    struct store_mime mime;
    struct store_msg m;
    struct rc_log log;
    struct stat sb;
    char *body1 = rc_body(st, USER, mb.id, 1);
    int fd = open(body1, O_WRONLY | O_APPEND);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "more\r\n", 6), 6);
    close(fd);
    tamper(st, drop_mime, &mb.id);
    rc_run(st, USER, false, &log);
    assert_int_equal(log.problems, 2);
    assert_non_null(rc_find(&log, STORE_RC_BODY_SIZE, "INBOX", 1));
    assert_non_null(rc_find(&log, STORE_RC_MIME, "INBOX", 2));
    rc_run(st, USER, true, &log);
    assert_int_equal(stat(body1, &sb), 0);
    assert_int_equal(store_msg_get(st, USER, mb.id, 1, &m, &err), STORE_OK);
    assert_int_equal(m.size, (uint64_t)sb.st_size);
    assert_int_equal(m.flags, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED);
    assert_int_equal(store_msg_get_mime(st, USER, mb.id, 2, &mime, &err), STORE_OK);
    assert_non_null(strstr(mime.envelope, "\"in 2\""));
    /* recomputed as delivery computes it: with the header fields SEARCH reads */
    assert_true(store_hfields_covers(mime.hfields, mime.hfields_len, STORE_HF_SUBJECT));
    assert_clean(st);
    store_mime_clear(&mime);
    store_msg_clear(&m);
    store_mailbox_clear(&mb);
    free(body1);
}

static void test_orphan_directory(void **state)
{
    struct store *st = *state;
    struct rc_log log;
    char *home = rc_home(st, USER), *dir, *file;

    if (asprintf(&dir, "%s/000000ff", home) < 0 || asprintf(&file, "%s/1", dir) < 0)
        abort();
    assert_int_equal(mkdir(dir, 0750), 0);
    fclose(fopen(file, "w"));
    rc_run(st, USER, false, &log);
    assert_int_equal(log.problems, 1);
    assert_non_null(rc_find(&log, STORE_RC_DIR_ORPHAN, NULL, 0));
    assert_int_equal(access(file, F_OK), 0);
    rc_run(st, USER, true, &log);
    assert_int_equal(access(dir, F_OK), -1);
    assert_clean(st);
    free(file);
    free(dir);
    free(home);
}

static enum store_err garble_usage(struct store_tx *tx, void *vctx, struct store_error *err)
{
    unsigned char k[1];

    return store_tx_put(tx, k, store_key_singleton(k, STORE_KEY_USAGE), "\x09junk", 5, err);
}

static void test_usage_unreadable(void **state)
{
    struct store *st = *state;
    struct store_mailbox inbox = mailbox(st, "INBOX"), box = mailbox(st, "Box");
    struct store_usage use;
    struct store_error err;
    struct rc_log log;

    tamper(st, garble_usage, NULL);
    assert_int_equal(store_usage_get(st, USER, &use, &err), STORE_EIO);
    rc_run(st, USER, false, &log);
    assert_int_equal(log.problems, 1);
    assert_non_null(rc_find(&log, STORE_RC_USAGE, NULL, 0));
    rc_run(st, USER, true, &log);
    assert_int_equal(store_usage_get(st, USER, &use, &err), STORE_OK);
    assert_int_equal(use.messages, 5);
    assert_int_equal(use.bytes, inbox.bytes + box.bytes);
    assert_clean(st);
    store_mailbox_clear(&inbox);
    store_mailbox_clear(&box);
}

static enum store_err hold_index(struct store_tx *tx, void *vctx, struct store_error *err)
{
    int *fds = vctx;
    char c = 0;

    if (write(fds[1], "x", 1) != 1 || read(fds[0], &c, 1) != 1)
        return STORE_EIO;
    return STORE_OK;
}

/* Like any writer, reconstruct waits for the index lock and gives up at the bound. */
static void test_waits_for_the_lock(void **state)
{
    struct store *st = *state;
    struct rc_log log;
    struct store_rc_options opt = {.repair = true};
    int up[2], down[2], status;
    char c;
    pid_t pid;

    assert_int_equal(pipe(up), 0);
    assert_int_equal(pipe(down), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fds[2] = {down[0], up[1]};
        char *index = rc_index(st, USER);
        _exit(store_tx_run(st, index, STORE_TX_WRITE, hold_index, fds, NULL) == STORE_OK ? 0 : 1);
    }
    assert_int_equal(read(up[0], &c, 1), 1);
    store_set_lock_timeout(st, 200);
    assert_int_equal(rc_try(st, USER, &opt, &log), STORE_EBUSY);
    assert_int_equal(log.n, 0);
    assert_int_equal(write(down[1], "x", 1), 1);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_int_equal(WEXITSTATUS(status), 0);
    store_set_lock_timeout(st, STORE_LOCK_TIMEOUT_MS);
    assert_clean(st);
    close(up[0]);
    close(up[1]);
    close(down[0]);
    close(down[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters_names_sidecar, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_and_mime, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphan_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_usage_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_waits_for_the_lock, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
