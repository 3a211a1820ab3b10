/* Reader handles kept between transactions (store-index.c): a process that has read an index
 * must see every change another process commits after, whether made in a transaction, by a
 * fold of the journal, or by a bulk change that replaces the file; and a handle is never used
 * while a writer holds the file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store-private.h"
#include "store-test.h"

#define USER "kept"

/* Runs fn(st) in a child process, which must succeed. */
static void in_child(struct store *st, void (*fn)(struct store *))
{
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        fn(st);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static size_t mailboxes(struct store *st)
{
    struct store_mailbox *mbs;
    struct store_error err;
    size_t n;

    assert_int_equal(store_mailbox_list(st, USER, NULL, &mbs, &n, &err), STORE_OK);
    store_mailbox_list_free(&mbs, n);
    return n;
}

static uint32_t unseen(struct store *st)
{
    struct store_mailbox mb;
    struct store_error err;
    uint32_t n;

    assert_int_equal(store_mailbox_get(st, USER, "INBOX", &mb, &err), STORE_OK);
    n = mb.unseen;
    store_mailbox_clear(&mb);
    return n;
}

static void create_box(struct store *st)
{
    struct store_error err;

    if (store_mailbox_create(st, USER, "Made elsewhere", &err) != STORE_OK)
        _exit(1);
}

static void seen_and_fold(struct store *st)
{
    struct store_flag_update up = {STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0};
    struct store_error err;
    uint32_t uid = 1, id;
    struct store_mailbox mb;

    if (store_mailbox_get(st, USER, "INBOX", &mb, &err) != STORE_OK)
        _exit(1);
    id = mb.id;
    store_mailbox_clear(&mb);
    if (store_flags_update(st, USER, id, &uid, 1, &up, NULL, NULL, NULL, NULL, &err) != STORE_OK ||
        store_fold(st, USER, &err) != STORE_OK)
        _exit(1);
}

static void all_seen_in_bulk(struct store *st)
{
    struct store_flag_update up = {STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0};
    struct store_error err;
    struct store_mailbox mb;
    uint32_t uids[400];

    for (uint32_t i = 0; i < 400; i++)
        uids[i] = i + 1;
    if (store_mailbox_get(st, USER, "INBOX", &mb, &err) != STORE_OK)
        _exit(1);
    if (store_flags_update(st, USER, mb.id, uids, 400, &up, NULL, NULL, NULL, NULL, &err) !=
        STORE_OK)
        _exit(1);
    store_mailbox_clear(&mb);
}

static void test_other_process_changes_seen(void **state)
{
    struct store *st = test_store_new();
    char text[64], *index;
    struct store_error err;

    (void)state;
    for (int i = 0; i < 400; i++) {
        snprintf(text, sizeof(text), "Subject: %d\n\nx\n", i);
        assert_int_equal(test_deliver(st, USER, NULL, text, NULL, NULL), STORE_OK);
    }
    assert_int_equal(store_fold(st, USER, &err), STORE_OK);
    index = store_path_index(st, USER);

    assert_int_equal(mailboxes(st), 1); /* read: the handle is kept */
    in_child(st, create_box);           /* a transaction */
    assert_int_equal(mailboxes(st), 2);

    assert_int_equal(unseen(st), 400);
    in_child(st, seen_and_fold); /* through the journal, then folded into the file */
    assert_int_equal(unseen(st), 399);

    assert_true(store_tx_bulk_worth(index, 400));
    in_child(st, all_seen_in_bulk); /* a new file renamed over the one read */
    assert_int_equal(unseen(st), 0);

    free(index);
    test_store_free(&st);
}

/* A writer in this process, then a read: the writer cannot open the path while a handle is
 * kept for it (Tokyo Cabinet opens a path once per process), so it must have been closed. */
static void test_writer_in_this_process(void **state)
{
    struct store *st = test_store_new();
    struct store_error err;

    (void)state;
    assert_int_equal(test_deliver(st, USER, NULL, "Subject: a\n\nx\n", NULL, NULL), STORE_OK);
    for (int i = 0; i < 5; i++) {
        char name[32];
        assert_int_equal(mailboxes(st), (size_t)i + 1);
        snprintf(name, sizeof(name), "Box%d", i);
        assert_int_equal(store_mailbox_create(st, USER, name, &err), STORE_OK);
    }
    assert_int_equal(mailboxes(st), 6);
    test_store_free(&st);
}

/* More users than handles kept: the oldest are closed, every read still right. */
static void test_many_users(void **state)
{
    struct store *st = test_store_new();
    struct store_error err;
    char user[32];

    (void)state;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 40; i++) {
            struct store_mailbox mb;
            snprintf(user, sizeof(user), "u%02d", i);
            if (round == 0)
                assert_int_equal(test_deliver(st, user, NULL, "Subject: a\n\nx\n", NULL, NULL),
                                 STORE_OK);
            assert_int_equal(store_mailbox_get(st, user, "INBOX", &mb, &err), STORE_OK);
            assert_int_equal(mb.messages, 1);
            store_mailbox_clear(&mb);
        }
    test_store_free(&st);
}

static uint32_t flag_seen_in_child_uid = 2;

static void seen_in_journal(struct store *st)
{
    struct store_flag_update up = {STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0};
    struct store_error err;
    struct store_mailbox mb;

    if (store_mailbox_get(st, USER, "INBOX", &mb, &err) != STORE_OK)
        _exit(1);
    if (store_flags_update(st, USER, mb.id, &flag_seen_in_child_uid, 1, &up, NULL, NULL, NULL, NULL,
                           &err) != STORE_OK)
        _exit(1);
    store_mailbox_clear(&mb);
}

static uint64_t gen_of(struct store *st)
{
    char *index = store_path_index(st, USER), path[4096];
    unsigned char b[8] = {0};
    uint64_t v = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s.gen", index);
    free(index);
    f = fopen(path, "rb");
    if (f != NULL) {
        if (fread(b, 1, sizeof(b), f) != sizeof(b))
            memset(b, 0, sizeof(b));
        fclose(f);
    }
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

/* The journal as a read applied it is kept too (keyed by the index's generation and the
 * journal's length): changes journalled by another process after it are seen, and an appender
 * that overwrites a torn tail advances the generation. */
static void test_kept_shadow(void **state)
{
    struct store *st = test_store_new();
    struct store_flag_update up = {STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0};
    struct store_error err;
    struct store_mailbox mb;
    char *home, *jpath;
    uint32_t uid = 1;
    uint64_t gen;
    FILE *f;

    (void)state;
    for (int i = 0; i < 3; i++)
        assert_int_equal(test_deliver(st, USER, NULL, "Subject: a\n\nx\n", NULL, NULL), STORE_OK);
    assert_int_equal(store_fold(st, USER, &err), STORE_OK);
    assert_int_equal(store_mailbox_get(st, USER, "INBOX", &mb, &err), STORE_OK);
    assert_int_equal(
        store_flags_update(st, USER, mb.id, &uid, 1, &up, NULL, NULL, NULL, NULL, &err), STORE_OK);
    store_mailbox_clear(&mb);
    assert_int_equal(unseen(st), 2); /* applied and kept */
    assert_int_equal(unseen(st), 2); /* the kept one */
    in_child(st, seen_in_journal);
    assert_int_equal(unseen(st), 1);

    /* a torn tail, as a crashed appender leaves it, then an append over it */
    home = store_path_home(st, USER);
    jpath = store_path_join(home, "index.jnl");
    f = fopen(jpath, "ab");
    assert_non_null(f);
    fputs("torn", f);
    fclose(f);
    assert_int_equal(unseen(st), 1);
    gen = gen_of(st);
    flag_seen_in_child_uid = 3;
    in_child(st, seen_in_journal);
    assert_true(gen_of(st) > gen);
    assert_int_equal(unseen(st), 0);
    free(home);
    free(jpath);
    test_store_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_other_process_changes_seen),
        cmocka_unit_test(test_writer_in_this_process),
        cmocka_unit_test(test_many_users),
        cmocka_unit_test(test_kept_shadow),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
