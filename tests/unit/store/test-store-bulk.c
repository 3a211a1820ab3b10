/* Bulk changes (STORE_TX_BULK): a STORE on many messages is made on a copy of the index that is
 * fsynced and renamed over it. The result must be exactly what a transaction gives, the file
 * must not grow with each one, a crash before the rename must leave the index as it was, and
 * deliveries from another process meanwhile (which may open the file a bulk change is about to
 * replace) must all land, each at a unique UID. */
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

#include "store-private.h"
#include "store-test.h"

#define MESSAGES   300
#define DELIVERIES 60
#define CRASH_EXIT 77
#define USER       "bulk"

static void fill(struct store *st, int n)
{
    char text[128];

    for (int i = 0; i < n; i++) {
        snprintf(text, sizeof(text), "Subject: m%d\n\nbody %d\n", i, i);
        assert_int_equal(test_deliver(st, USER, NULL, text, NULL, NULL), STORE_OK);
    }
}

static char *index_path(struct store *st)
{
    return store_path_index(st, USER);
}

static off_t file_size(const char *path)
{
    struct stat sb;

    assert_int_equal(stat(path, &sb), 0);
    return sb.st_size;
}

static bool copy_left(struct store *st)
{
    char *path = index_path(st), copy[4096];
    bool left;

    snprintf(copy, sizeof(copy), "%s.bulk", path);
    left = access(copy, F_OK) == 0;
    free(path);
    return left;
}

/* STORE op flag on UIDs 1..n; returns how many messages the answer covers. */
static size_t store_all(struct store *st, uint32_t id, uint32_t n, enum store_flag_op op)
{
    uint32_t *uids = malloc(n * sizeof(*uids));
    struct store_flag_update up = {op, STORE_FLAG_SEEN, NULL, 0};
    struct store_msg *res;
    struct store_error err;
    size_t nres;

    for (uint32_t i = 0; i < n; i++)
        uids[i] = i + 1;
    assert_int_equal(store_flags_update(st, USER, id, uids, n, &up, &res, &nres, NULL, NULL, &err),
                     STORE_OK);
    for (size_t i = 0; i < nres; i++)
        assert_int_equal(res[i].flags & STORE_FLAG_SEEN,
                         op == STORE_FLAGS_ADD ? STORE_FLAG_SEEN : 0);
    store_msg_list_free(&res, nres);
    free(uids);
    return nres;
}

static void mailbox_get(struct store *st, uint32_t id, struct store_mailbox *mb)
{
    struct store_error err;

    assert_int_equal(store_mailbox_get_id(st, USER, id, mb, &err), STORE_OK);
}

static void test_bulk_store(void **state)
{
    struct store *st = test_store_new();
    char *path;
    struct store_mailbox mb;
    struct store_msg *changed;
    uint32_t *gone, id;
    size_t nchanged, ngone;
    struct store_error err;
    uint64_t before;
    off_t size0;

    (void)state;
    fill(st, MESSAGES);
    id = test_mailbox_id(st, USER, "INBOX");
    path = index_path(st);
    assert_true(store_tx_bulk_worth(path, MESSAGES));
    mailbox_get(st, id, &mb);
    before = mb.highestmodseq;
    store_mailbox_clear(&mb);

    assert_int_equal(store_all(st, id, MESSAGES, STORE_FLAGS_ADD), MESSAGES);
    assert_false(copy_left(st));
    mailbox_get(st, id, &mb);
    assert_int_equal(mb.messages, MESSAGES);
    assert_int_equal(mb.unseen, 0);
    assert_int_equal(mb.highestmodseq, before + 1); /* one MODSEQ for the whole STORE */
    store_mailbox_clear(&mb);
    assert_int_equal(
        store_msg_changes(st, USER, id, before, &changed, &nchanged, &gone, &ngone, &err),
        STORE_OK);
    assert_int_equal(nchanged, MESSAGES);
    assert_int_equal(ngone, 0);
    for (size_t i = 0; i < nchanged; i++)
        assert_int_equal(changed[i].modseq, before + 1);
    store_msg_list_free(&changed, nchanged);
    free(gone);

    /* Tokyo Cabinet's free-block pool survives the copy: repeated rewrites reuse space. */
    size0 = file_size(path);
    for (int i = 0; i < 10; i++) {
        store_all(st, id, MESSAGES, STORE_FLAGS_REMOVE);
        store_all(st, id, MESSAGES, STORE_FLAGS_ADD);
    }
    assert_true(file_size(path) < 2 * size0);
    mailbox_get(st, id, &mb);
    assert_int_equal(mb.unseen, 0);
    assert_int_equal(mb.highestmodseq, before + 21);
    store_mailbox_clear(&mb);
    free(path);
    test_store_free(&st);
}

/* EXPUNGE of every \Deleted message, many of them: bulk too, with tombstones and usage. */
static void test_bulk_expunge(void **state)
{
    struct store *st = test_store_new();
    struct store_flag_update up = {STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL, 0};
    uint32_t uids[MESSAGES], *gone, *expunged, id;
    struct store_msg *changed;
    struct store_mailbox mb;
    struct store_usage usage;
    struct store_error err;
    size_t nchanged, ngone, nexpunged;
    uint64_t before;
    char *path, *body;

    (void)state;
    fill(st, MESSAGES);
    id = test_mailbox_id(st, USER, "INBOX");
    path = index_path(st);
    for (uint32_t i = 0; i < MESSAGES; i++)
        uids[i] = i + 1;
    /* all but the last */
    assert_int_equal(
        store_flags_update(st, USER, id, uids, MESSAGES - 1, &up, NULL, NULL, NULL, NULL, &err),
        STORE_OK);
    mailbox_get(st, id, &mb);
    before = mb.highestmodseq;
    store_mailbox_clear(&mb);
    assert_true(store_tx_bulk_worth(path, 4 * (MESSAGES - 1)));
    assert_int_equal(store_expunge(st, USER, id, NULL, 0, &expunged, &nexpunged, &err), STORE_OK);
    assert_int_equal(nexpunged, MESSAGES - 1);
    free(expunged);
    assert_false(copy_left(st));
    mailbox_get(st, id, &mb);
    assert_int_equal(mb.messages, 1);
    assert_int_equal(mb.deleted, 0);
    assert_int_equal(mb.highestmodseq, before + 1);
    store_mailbox_clear(&mb);
    assert_int_equal(
        store_msg_changes(st, USER, id, before, &changed, &nchanged, &gone, &ngone, &err),
        STORE_OK);
    assert_int_equal(nchanged, 0);
    assert_int_equal(ngone, MESSAGES - 1);
    store_msg_list_free(&changed, nchanged);
    free(gone);
    assert_int_equal(store_usage_get(st, USER, &usage, &err), STORE_OK);
    assert_int_equal(usage.messages, 1);
    body = test_body_read(st, USER, id, MESSAGES);
    assert_non_null(strstr(body, "body 299"));
    free(body);
    free(path);
    test_store_free(&st);
}

static const char *crash_point;

static void crash_here(const char *point)
{
    if (strcmp(point, crash_point) == 0)
        _exit(CRASH_EXIT);
}

static void test_bulk_crash(void **state)
{
    struct store *st = test_store_new();
    struct store_mailbox mb;
    uint32_t id;
    int status;
    pid_t pid;

    (void)state;
    fill(st, MESSAGES);
    id = test_mailbox_id(st, USER, "INBOX");
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        crash_point = "bulk-synced";
        store_fault_hook = crash_here;
        store_all(st, id, MESSAGES, STORE_FLAGS_ADD);
        _exit(0); /* the crash point was never reached */
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CRASH_EXIT);
    assert_true(copy_left(st)); /* the synced copy, never renamed */
    mailbox_get(st, id, &mb);
    assert_int_equal(mb.unseen, MESSAGES); /* nothing of the STORE is visible */
    store_mailbox_clear(&mb);

    assert_int_equal(store_all(st, id, MESSAGES, STORE_FLAGS_ADD), MESSAGES);
    assert_false(copy_left(st));
    mailbox_get(st, id, &mb);
    assert_int_equal(mb.unseen, 0);
    store_mailbox_clear(&mb);
    test_store_free(&st);
}

/* Another process delivers while this one rewrites the index again and again. */
static void test_bulk_beside_deliveries(void **state)
{
    struct store *st = test_store_new();
    struct store_msg *msgs;
    struct store_error err;
    uint32_t id;
    size_t n;
    int status;
    pid_t pid;

    (void)state;
    fill(st, MESSAGES);
    id = test_mailbox_id(st, USER, "INBOX");
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char text[128];
        for (int i = 0; i < DELIVERIES; i++) {
            snprintf(text, sizeof(text), "Subject: late %d\n\nlate %d\n", i, i);
            if (test_deliver(st, USER, NULL, text, NULL, NULL) != STORE_OK)
                _exit(1);
        }
        _exit(0);
    }
    for (int i = 0; i < 20; i++)
        store_all(st, id, MESSAGES, i % 2 ? STORE_FLAGS_REMOVE : STORE_FLAGS_ADD);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    assert_int_equal(store_msg_list(st, USER, id, 1, 0, &msgs, &n, &err), STORE_OK);
    assert_int_equal(n, MESSAGES + DELIVERIES);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(msgs[i].uid, i + 1); /* unique and dense */
        char *body = test_body_read(st, USER, id, msgs[i].uid);
        char want[32];
        snprintf(want, sizeof(want), i < MESSAGES ? "body %zu" : "late %zu",
                 i < MESSAGES ? i : i - MESSAGES);
        assert_non_null(strstr(body, want));
        free(body);
    }
    store_msg_list_free(&msgs, n);
    test_store_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bulk_store),
        cmocka_unit_test(test_bulk_expunge),
        cmocka_unit_test(test_bulk_crash),
        cmocka_unit_test(test_bulk_beside_deliveries),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
