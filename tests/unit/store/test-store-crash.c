/* Crashes in the middle of a write, stood in for by _exit() at the store's fault points in a
 * child process: after link before the journal record, after the record before its fdatasync,
 * inside a first delivery's index commit, inside a fold of the journal, and inside a COPY's
 * commit. Afterwards no record lacks its body file, nothing half-done is visible, what was
 * committed is there exactly once, and the next write reuses the UID over an orphan file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store-private.h"
#include "store-test.h"

#define CRASH_STATUS 77

static const char *crash_point;

static void crash_here(const char *point)
{
    if (strcmp(point, crash_point) == 0)
        _exit(CRASH_STATUS);
}

/* Every message record has its body file. */
static void assert_no_dangling(struct store *st, const char *user)
{
    struct store_mailbox *mbs;
    struct store_msg *msgs;
    struct store_error err;
    size_t nmb, n;
    int fd;

    assert_int_equal(store_mailbox_list(st, user, NULL, &mbs, &nmb, &err), STORE_OK);
    for (size_t i = 0; i < nmb; i++) {
        assert_int_equal(store_msg_list(st, user, mbs[i].id, 1, 0, &msgs, &n, &err), STORE_OK);
        assert_int_equal(n, mbs[i].messages);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(store_msg_open(st, user, &msgs[k], &fd, &err), STORE_OK);
            close(fd);
        }
        store_msg_list_free(&msgs, n);
    }
    store_mailbox_list_free(&mbs, nmb);
}

/* Runs a delivery of text in a child that dies at point; the child must really die there. */
static void deliver_crashing(struct store *st, const char *point, const char *text)
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        crash_point = point;
        store_fault_hook = crash_here;
        test_deliver(st, "victim", NULL, text, NULL, NULL);
        _exit(0); /* the point was never reached */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CRASH_STATUS);
}

static void check_crash_at(const char *point)
{
    struct store *st = test_store_new();
    struct store_error err;
    struct store_mailbox mb;
    struct store_usage before, after;
    struct store_msg m;
    uint32_t uid;

    assert_int_equal(test_deliver(st, "victim", NULL, "Subject: kept\n\nkept\n", NULL, &uid),
                     STORE_OK);
    assert_int_equal(uid, 1);
    assert_int_equal(store_usage_get(st, "victim", &before, &err), STORE_OK);

    deliver_crashing(st, point, "Subject: lost\n\nlost\n");

    /* the half-done delivery is invisible: no record, same UIDNEXT, same usage */
    assert_int_equal(store_mailbox_get(st, "victim", "INBOX", &mb, &err), STORE_OK);
    assert_int_equal(mb.uidnext, 2);
    assert_int_equal(mb.messages, 1);
    assert_int_equal(store_msg_get(st, "victim", mb.id, 2, &m, &err), STORE_ENOTFOUND);
    assert_int_equal(store_usage_get(st, "victim", &after, &err), STORE_OK);
    assert_true(after.bytes == before.bytes && after.messages == before.messages);
    assert_no_dangling(st, "victim");
    /* at most an orphan file was left, under the UID that was never committed */
    char *home = store_path_home(st, "victim"), *orphan = store_path_body(home, mb.id, 2);
    assert_int_equal(access(orphan, F_OK), 0);

    /* the next delivery takes that UID over the orphan, with its own content */
    assert_int_equal(test_deliver(st, "victim", NULL, "Subject: next\n\nnext\n", NULL, &uid),
                     STORE_OK);
    assert_int_equal(uid, 2);
    char *body = test_body_read(st, "victim", mb.id, 2);
    assert_string_equal(body, "Subject: next\r\n\r\nnext\r\n");
    free(body);
    body = test_body_read(st, "victim", mb.id, 1);
    assert_string_equal(body, "Subject: kept\r\n\r\nkept\r\n");
    free(body);
    assert_no_dangling(st, "victim");
    free(orphan);
    free(home);
    store_mailbox_clear(&mb);
    test_store_free(&st);
}

/* The body is linked into place, the index not yet written. */
static void test_crash_after_link(void **state)
{
    check_crash_at("deliver-linked");
}

/* The links are durable, the journal record not yet written. */
static void test_crash_before_commit(void **state)
{
    check_crash_at("deliver-commit");
}

/* The journal record is written but not yet synced: a process crash keeps the page cache, so
 * the delivery is there (exactly once) although nobody was told so. */
static void test_crash_journal_unsynced(void **state)
{
    struct store *st = test_store_new();
    struct store_error err;
    struct store_mailbox mb;
    uint32_t uid;

    assert_int_equal(test_deliver(st, "victim", NULL, "Subject: kept\n\nkept\n", NULL, &uid),
                     STORE_OK);
    deliver_crashing(st, "journal-written", "Subject: kept too\n\nkept too\n");
    assert_int_equal(store_mailbox_get(st, "victim", "INBOX", &mb, &err), STORE_OK);
    assert_int_equal(mb.messages, 2);
    assert_int_equal(mb.uidnext, 3);
    char *body = test_body_read(st, "victim", mb.id, 2);
    assert_string_equal(body, "Subject: kept too\r\n\r\nkept too\r\n");
    free(body);
    assert_int_equal(test_deliver(st, "victim", NULL, "Subject: next\n\nnext\n", NULL, &uid),
                     STORE_OK);
    assert_int_equal(uid, 3);
    assert_no_dangling(st, "victim");
    store_mailbox_clear(&mb);
    test_store_free(&st);
}

/* A user's first delivery commits its INBOX in a transaction of its own; dying right at
 * tcbdbtrancommit there leaves nothing, and the next delivery starts afresh. */
static void test_crash_at_first_commit(void **state)
{
    struct store *st = test_store_new();
    struct store_error err;
    struct store_mailbox mb;
    uint32_t uid;

    deliver_crashing(st, "tx-commit", "Subject: lost\n\nlost\n");
    assert_int_equal(store_mailbox_get(st, "victim", "INBOX", &mb, &err), STORE_ENOTFOUND);
    assert_int_equal(test_deliver(st, "victim", NULL, "Subject: first\n\nfirst\n", NULL, &uid),
                     STORE_OK);
    assert_int_equal(uid, 1);
    assert_int_equal(store_mailbox_get(st, "victim", "INBOX", &mb, &err), STORE_OK);
    assert_int_equal(mb.messages, 1);
    assert_no_dangling(st, "victim");
    store_mailbox_clear(&mb);
    test_store_free(&st);
}

/* A fold that dies at its commit (a small index is folded on a copy: before the rename; a
 * large one in a transaction: the WAL undoes it): the journal still holds every delivery, and
 * the next reader folds them in, each once. */
static void crash_in_fold(const char *point)
{
    struct store *st = test_store_new();
    struct store_error err;
    struct store_mailbox mb;
    struct store_usage usage;
    pid_t pid;
    int status;

    for (int i = 0; i < 4; i++)
        assert_int_equal(test_deliver(st, "victim", NULL, "Subject: m\n\nm\n", NULL, NULL),
                         STORE_OK);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        crash_point = point;
        store_fault_hook = crash_here;
        store_fold(st, "victim", &err);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CRASH_STATUS);
    assert_int_equal(store_mailbox_get(st, "victim", "INBOX", &mb, &err), STORE_OK);
    assert_int_equal(mb.messages, 4);
    assert_int_equal(mb.uidnext, 5);
    assert_int_equal(store_usage_get(st, "victim", &usage, &err), STORE_OK);
    assert_int_equal(usage.messages, 4);
    /* folding again changes nothing */
    assert_int_equal(store_fold(st, "victim", &err), STORE_OK);
    store_mailbox_clear(&mb);
    assert_int_equal(store_mailbox_get(st, "victim", "INBOX", &mb, &err), STORE_OK);
    assert_int_equal(mb.messages, 4);
    assert_no_dangling(st, "victim");
    store_mailbox_clear(&mb);
    test_store_free(&st);
}

static void test_crash_in_fold(void **state)
{
    crash_in_fold("bulk-synced");
}

/* The same in a transaction (an index past the size folded on a copy). */
static void test_crash_in_fold_tx(void **state)
{
    off_t was = store_fold_copy_max;

    store_fold_copy_max = 0;
    crash_in_fold("tx-commit");
    store_fold_copy_max = was;
}

/* A COPY that dies before its commit leaves the target as it was. */
static void test_crash_in_copy(void **state)
{
    struct store *st = test_store_new();
    struct store_error err;
    struct store_mailbox mb;
    struct store_copy_result res;
    uint32_t uid = 1;
    pid_t pid;
    int status;

    assert_int_equal(test_deliver(st, "victim", NULL, "Subject: c\n\nc\n", NULL, NULL), STORE_OK);
    assert_int_equal(store_mailbox_create(st, "victim", "Box", &err), STORE_OK);
    uint32_t inbox = test_mailbox_id(st, "victim", "INBOX"),
             box = test_mailbox_id(st, "victim", "Box");
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        crash_point = "tx-commit";
        store_fault_hook = crash_here;
        store_copy(st, "victim", inbox, &uid, 1, box, NULL, true, NULL, &err);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CRASH_STATUS);
    assert_int_equal(store_mailbox_get(st, "victim", "Box", &mb, &err), STORE_OK);
    assert_int_equal(mb.messages, 0);
    assert_int_equal(mb.uidnext, 1);
    store_mailbox_clear(&mb);
    assert_int_equal(store_mailbox_get(st, "victim", "INBOX", &mb, &err), STORE_OK);
    assert_int_equal(mb.messages, 1); /* the MOVE's expunge did not happen either */
    store_mailbox_clear(&mb);
    assert_no_dangling(st, "victim");
    assert_int_equal(store_copy(st, "victim", inbox, &uid, 1, box, NULL, true, &res, &err),
                     STORE_OK);
    assert_int_equal(res.dst_uids[0], 1);
    store_copy_result_clear(&res);
    char *body = test_body_read(st, "victim", box, 1);
    assert_string_equal(body, "Subject: c\r\n\r\nc\r\n");
    free(body);
    assert_no_dangling(st, "victim");
    test_store_free(&st);
}

/* What a crashed receiver leaves in tmp/ goes once it is old enough; live spools stay. */
static void test_tmp_sweep(void **state)
{
    struct store *st = test_store_new();
    struct store_spool *old, *young;
    struct store_error err;
    unsigned removed;

    assert_int_equal(store_spool_create(st, &old, &err), STORE_OK);
    assert_int_equal(store_spool_write(old, "x\n", 2, &err), STORE_OK);
    char *gone = store_path_join(store_root(st), "tmp/removed.olduser.1");
    assert_int_equal(store_mkdirs(gone, &err), STORE_OK);
    sleep(2);
    assert_int_equal(store_spool_create(st, &young, &err), STORE_OK);
    assert_int_equal(store_tmp_sweep(st, 1, &removed, &err), STORE_OK);
    assert_int_equal(removed, 2);
    assert_int_not_equal(access(gone, F_OK), 0);
    /* the young spool still works end to end */
    assert_int_equal(store_spool_write(young, "Subject: y\n\ny\n", 14, &err), STORE_OK);
    assert_int_equal(store_spool_finish(young, 0, 0, &err), STORE_OK);
    struct store_delivery d = {.spool = young, .user = "sweeper"};
    assert_int_equal(store_deliver(st, &d, 1), STORE_OK);
    store_spool_free(&young);
    store_spool_free(&old);
    assert_int_equal(store_tmp_sweep(st, 0, &removed, &err), STORE_OK);
    assert_int_equal(removed, 0);
    free(gone);
    test_store_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_after_link),      cmocka_unit_test(test_crash_before_commit),
        cmocka_unit_test(test_crash_in_fold_tx),      cmocka_unit_test(test_crash_journal_unsynced),
        cmocka_unit_test(test_crash_at_first_commit), cmocka_unit_test(test_crash_in_fold),
        cmocka_unit_test(test_crash_in_copy),         cmocka_unit_test(test_tmp_sweep),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
