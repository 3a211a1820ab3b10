/* The delivery journal: deliveries commit into it and are seen at once by readers (which fold
 * it in), a torn tail is cut off, records the index already has are skipped, quota counts what
 * the journal holds, a journal past its bound asks for a fold, and one nobody folds is folded
 * by the delivery that passes the hard bound. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store-journal.h"
#include "store-test.h"

static const char *msg = "From: a@example.org\nSubject: j\n\nbody\n";

static char *journal_of(struct store *st, const char *user)
{
    char *home = store_path_home(st, user), *path = store_journal_path(home);

    free(home);
    return path;
}

static off_t file_size(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static uint32_t messages_in(struct store *st, const char *user, const char *name)
{
    struct store_mailbox mb;
    struct store_error err;
    uint32_t n;

    assert_int_equal(store_mailbox_get(st, user, name, &mb, &err), STORE_OK);
    n = mb.messages;
    store_mailbox_clear(&mb);
    return n;
}

/* The first delivery makes the index; later ones go to the journal. A reader sees them without
 * writing anything; a fold moves them into the index and empties the journal. */
static void test_commit_and_fold(void **state)
{
    struct store *st = test_store_new();
    char *jpath = journal_of(st, "jane"), *ipath;
    struct store_error err;
    struct stat before, after;
    uint32_t uid;

    for (uint32_t i = 1; i <= 3; i++) {
        assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, &uid), STORE_OK);
        assert_int_equal(uid, i);
    }
    assert_true(file_size(jpath) > 0);
    ipath = strdup(jpath);
    strcpy(strrchr(ipath, '.'), ".tcb");
    assert_int_equal(stat(ipath, &before), 0);
    assert_int_equal(messages_in(st, "jane", "INBOX"), 3);
    assert_int_equal(stat(ipath, &after), 0);
    assert_true(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
                before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    assert_true(file_size(jpath) > 0);
    assert_int_equal(store_fold(st, "jane", &err), STORE_OK);
    assert_int_equal(file_size(jpath), 0);
    assert_int_equal(messages_in(st, "jane", "INBOX"), 3);
    free(ipath);
    char *body = test_body_read(st, "jane", test_mailbox_id(st, "jane", "INBOX"), 3);
    assert_string_equal(body, "From: a@example.org\r\nSubject: j\r\n\r\nbody\r\n");
    free(body);
    free(jpath);
    test_store_free(&st);
}

/* What a reader sees of journalled deliveries (its shadow fold) is exactly what the index holds
 * after the real fold: the same messages in UID order among those already folded, the same
 * MODSEQs, counters and changes. */
static void test_reader_sees_what_fold_makes(void **state)
{
    struct store *st = test_store_new();
    struct store_msg *seen = NULL, *folded = NULL, *changed = NULL;
    size_t nseen = 0, nfolded = 0, nchanged = 0, ngone = 0;
    struct store_mailbox mb_seen, mb_folded;
    uint32_t id, *gone = NULL;
    struct store_error err;

    for (int i = 0; i < 3; i++)
        assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, NULL), STORE_OK);
    assert_int_equal(store_fold(st, "jane", &err), STORE_OK);
    assert_int_equal(store_mailbox_get(st, "jane", "INBOX", &mb_seen, &err), STORE_OK);
    uint64_t since = mb_seen.highestmodseq;
    store_mailbox_clear(&mb_seen);
    for (int i = 0; i < 4; i++) /* 4..7 stay in the journal */
        assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, NULL), STORE_OK);
    id = test_mailbox_id(st, "jane", "INBOX");
    assert_int_equal(store_msg_list(st, "jane", id, 1, 0, &seen, &nseen, &err), STORE_OK);
    assert_int_equal(store_mailbox_get(st, "jane", "INBOX", &mb_seen, &err), STORE_OK);
    assert_int_equal(
        store_msg_changes(st, "jane", id, since, &changed, &nchanged, &gone, &ngone, &err),
        STORE_OK);
    assert_int_equal(nchanged, 4);
    assert_int_equal(ngone, 0);
    assert_int_equal(changed[0].uid, 4);
    assert_int_equal(changed[3].uid, 7);
    assert_int_equal(changed[3].modseq, since + 4);
    assert_int_equal(store_fold(st, "jane", &err), STORE_OK);
    assert_int_equal(store_msg_list(st, "jane", id, 1, 0, &folded, &nfolded, &err), STORE_OK);
    assert_int_equal(store_mailbox_get(st, "jane", "INBOX", &mb_folded, &err), STORE_OK);
    assert_int_equal(nseen, 7);
    assert_int_equal(nfolded, 7);
    for (size_t i = 0; i < nseen; i++) {
        assert_int_equal(seen[i].uid, i + 1);
        assert_int_equal(seen[i].uid, folded[i].uid);
        assert_int_equal(seen[i].modseq, folded[i].modseq);
        assert_int_equal(seen[i].size, folded[i].size);
    }
    assert_int_equal(mb_seen.uidnext, mb_folded.uidnext);
    assert_int_equal(mb_seen.highestmodseq, mb_folded.highestmodseq);
    assert_int_equal(mb_seen.messages, mb_folded.messages);
    assert_int_equal(mb_seen.unseen, mb_folded.unseen);
    store_mailbox_clear(&mb_seen);
    store_mailbox_clear(&mb_folded);
    store_msg_list_free(&seen, nseen);
    store_msg_list_free(&folded, nfolded);
    store_msg_list_free(&changed, nchanged);
    free(gone);
    test_store_free(&st);
}

/* Bytes of a crashed appender at the end are cut off by the next delivery, never read as a
 * record. */
static void test_torn_tail(void **state)
{
    struct store *st = test_store_new();
    char *jpath = journal_of(st, "jane");
    uint32_t uid;
    int fd;

    assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, &uid), STORE_OK);
    assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, &uid), STORE_OK);
    off_t whole = file_size(jpath);
    fd = open(jpath, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "HJN1\0\0\0\x40garbage", 15), 15);
    close(fd);
    assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, &uid), STORE_OK);
    assert_int_equal(uid, 3);
    assert_true(file_size(jpath) > whole);
    assert_int_equal(messages_in(st, "jane", "INBOX"), 3);
    free(jpath);
    test_store_free(&st);
}

/* A fold whose reset of the journal was lost leaves records the index has: the next fold skips
 * them by UID, so nothing appears twice. */
static void test_stale_records_skipped(void **state)
{
    struct store *st = test_store_new();
    char *jpath = journal_of(st, "jane"), *saved;
    struct store_usage usage;
    struct store_error err;

    assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, NULL), STORE_OK);
    assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, NULL), STORE_OK);
    assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, NULL), STORE_OK);
    assert_true(asprintf(&saved, "%s.saved", jpath) > 0);
    test_copy_file(jpath, saved);
    assert_int_equal(store_fold(st, "jane", &err), STORE_OK);
    assert_int_equal(file_size(jpath), 0);
    test_copy_file(saved, jpath); /* as if the truncation never reached the disk */
    assert_int_equal(messages_in(st, "jane", "INBOX"), 3);
    assert_int_equal(store_usage_get(st, "jane", &usage, &err), STORE_OK);
    assert_int_equal(usage.messages, 3);
    /* and new deliveries continue after them */
    uint32_t uid;
    assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, &uid), STORE_OK);
    assert_int_equal(uid, 4);
    assert_int_equal(messages_in(st, "jane", "INBOX"), 4);
    unlink(saved);
    free(saved);
    free(jpath);
    test_store_free(&st);
}

/* The quota counts deliveries still in the journal. */
static void test_quota_counts_journal(void **state)
{
    struct store *st = test_store_new();
    struct store_limits two = {.messages = 2};

    assert_int_equal(test_deliver(st, "jane", NULL, msg, &two, NULL), STORE_OK);
    assert_int_equal(test_deliver(st, "jane", NULL, msg, &two, NULL), STORE_OK);
    assert_int_equal(test_deliver(st, "jane", NULL, msg, &two, NULL), STORE_EQUOTA);
    assert_int_equal(messages_in(st, "jane", "INBOX"), 2);
    test_store_free(&st);
}

/* Deliveries to several mailboxes of one user in the journal: each gets its own UIDs, and a
 * mailbox deleted in between takes its journalled messages with it. */
static void test_mailboxes_and_delete(void **state)
{
    struct store *st = test_store_new();
    struct store_error err;
    uint32_t uid;

    assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, &uid), STORE_OK);
    assert_int_equal(store_mailbox_create(st, "jane", "Lists", &err), STORE_OK);
    assert_int_equal(test_deliver(st, "jane", "Lists", msg, NULL, &uid), STORE_OK);
    assert_int_equal(uid, 1);
    assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, &uid), STORE_OK);
    assert_int_equal(uid, 2);
    assert_int_equal(test_deliver(st, "jane", "Lists", msg, NULL, &uid), STORE_OK);
    assert_int_equal(uid, 2);
    assert_int_equal(store_mailbox_delete(st, "jane", "Lists", &err), STORE_OK);
    assert_int_equal(messages_in(st, "jane", "INBOX"), 2);
    struct store_usage usage;
    assert_int_equal(store_usage_get(st, "jane", &usage, &err), STORE_OK);
    assert_int_equal(usage.messages, 2);
    test_store_free(&st);
}

/* A delivery with a long subject (a large ENVELOPE in its record); returns fold_due. */
static bool deliver_long(struct store *st, size_t n)
{
    struct store_spool *sp;
    struct store_delivery d = {.user = "jane"};
    struct store_error err;
    char text[512];

    snprintf(text, sizeof(text), "Subject: %zu %0400d\n\nx\n", n, 0);
    assert_int_equal(store_spool_create(st, &sp, &err), STORE_OK);
    assert_int_equal(store_spool_write(sp, text, strlen(text), &err), STORE_OK);
    assert_int_equal(store_spool_finish(sp, 0, 0, &err), STORE_OK);
    d.spool = sp;
    assert_int_equal(store_deliver(st, &d, 1), STORE_OK);
    store_spool_free(&sp);
    return d.fold_due;
}

/* Past the fold threshold a delivery says so; a journal nobody folds stops growing at the hard
 * bound, where a delivery folds it itself. */
static void test_fold_due_and_hard_bound(void **state)
{
    struct store *st = test_store_new();
    char *jpath = journal_of(st, "jane");
    bool due = false;
    size_t n = 0;

    assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, NULL), STORE_OK);
    while (!due && n < 10000) {
        due = deliver_long(st, n);
        n++;
    }
    assert_true(due);
    assert_true(file_size(jpath) > STORE_JOURNAL_FOLD_AT);
    /* nobody folds: the journal never passes the hard bound by more than one delivery */
    for (size_t i = 0; i < 40 * n && file_size(jpath) <= STORE_JOURNAL_HARD_MAX; i++)
        deliver_long(st, i);
    assert_true(file_size(jpath) > STORE_JOURNAL_HARD_MAX);
    assert_int_equal(test_deliver(st, "jane", NULL, msg, NULL, NULL), STORE_OK);
    assert_true(file_size(jpath) == 0);
    free(jpath);
    test_store_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_and_fold),
        cmocka_unit_test(test_reader_sees_what_fold_makes),
        cmocka_unit_test(test_torn_tail),
        cmocka_unit_test(test_stale_records_skipped),
        cmocka_unit_test(test_quota_counts_journal),
        cmocka_unit_test(test_mailboxes_and_delete),
        cmocka_unit_test(test_fold_due_and_hard_bound),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
