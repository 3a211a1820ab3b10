/* Changes made through the journal: STORE, EXPUNGE and the \Recent marker commit as journal
 * records. Readers see them at once and exactly as the fold leaves the index (flags, MODSEQs,
 * counters, tombstones, usage); the index file is not written until the fold; an expunge
 * unlinks its bodies at once, and a delivery expunged before the fold still takes its UID;
 * records applied again after a fold whose reset was lost change nothing. */
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

#define USER "carl"

/* What a client can see of INBOX. */
struct view {
    struct store_msg *msgs;
    size_t n;
    struct store_mailbox mb;
    struct store_usage usage;
    struct store_msg *changed;
    size_t nchanged;
    uint32_t *gone;
    size_t ngone;
};

static struct view view_of(struct store *st, uint32_t id, uint64_t since)
{
    struct view v;
    struct store_error err;

    assert_int_equal(store_msg_list(st, USER, id, 1, 0, &v.msgs, &v.n, &err), STORE_OK);
    assert_int_equal(store_mailbox_get_id(st, USER, id, &v.mb, &err), STORE_OK);
    assert_int_equal(store_usage_get(st, USER, &v.usage, &err), STORE_OK);
    assert_int_equal(
        store_msg_changes(st, USER, id, since, &v.changed, &v.nchanged, &v.gone, &v.ngone, &err),
        STORE_OK);
    return v;
}

static void view_free(struct view *v)
{
    store_msg_list_free(&v->msgs, v->n);
    store_msg_list_free(&v->changed, v->nchanged);
    store_mailbox_clear(&v->mb);
    free(v->gone);
}

static void assert_same_msgs(const struct store_msg *a, size_t na, const struct store_msg *b,
                             size_t nb)
{
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].uid, b[i].uid);
        assert_int_equal(a[i].flags, b[i].flags);
        assert_int_equal(a[i].modseq, b[i].modseq);
        assert_int_equal(a[i].size, b[i].size);
        assert_true(store_kw_equal(a[i].keywords, b[i].keywords));
    }
}

static void assert_same_view(const struct view *a, const struct view *b)
{
    assert_same_msgs(a->msgs, a->n, b->msgs, b->n);
    assert_same_msgs(a->changed, a->nchanged, b->changed, b->nchanged);
    assert_int_equal(a->ngone, b->ngone);
    for (size_t i = 0; i < a->ngone; i++)
        assert_int_equal(a->gone[i], b->gone[i]);
    assert_int_equal(a->mb.messages, b->mb.messages);
    assert_int_equal(a->mb.unseen, b->mb.unseen);
    assert_int_equal(a->mb.deleted, b->mb.deleted);
    assert_int_equal(a->mb.uidnext, b->mb.uidnext);
    assert_int_equal(a->mb.recent_uid, b->mb.recent_uid);
    assert_int_equal(a->mb.highestmodseq, b->mb.highestmodseq);
    assert_int_equal(a->mb.bytes, b->mb.bytes);
    assert_int_equal(a->usage.messages, b->usage.messages);
    assert_int_equal(a->usage.bytes, b->usage.bytes);
}

static void deliver_n(struct store *st, int n)
{
    char text[128];
    static int serial;

    for (int i = 0; i < n; i++) {
        snprintf(text, sizeof(text), "Subject: c%d\n\nbody %d\n", serial, serial);
        serial++;
        assert_int_equal(test_deliver(st, USER, NULL, text, NULL, NULL), STORE_OK);
    }
}

/* STORE on one message; returns the MODSEQ the answer gave it. */
static uint64_t flag(struct store *st, uint32_t id, uint32_t uid, enum store_flag_op op,
                     uint32_t flags, const char *keywords)
{
    struct store_flag_update up = {op, flags, keywords, 0};
    struct store_error err;
    struct store_msg *res;
    size_t n;
    uint64_t modseq;

    assert_int_equal(store_flags_update(st, USER, id, &uid, 1, &up, &res, &n, NULL, NULL, &err),
                     STORE_OK);
    assert_int_equal(n, 1);
    modseq = res[0].modseq;
    store_msg_list_free(&res, n);
    return modseq;
}

static char *path_in_home(struct store *st, const char *name)
{
    char *home = store_path_home(st, USER), *p = store_path_join(home, name);

    free(home);
    return p;
}

static off_t size_of(const char *path)
{
    struct stat sb;

    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

static bool body_exists(struct store *st, uint32_t id, uint32_t uid)
{
    char *home = store_path_home(st, USER), *p = store_path_body(home, id, uid);
    bool there = access(p, F_OK) == 0;

    free(home);
    free(p);
    return there;
}

/* Flags, keywords, \Recent, an expunge and deliveries among them, all in the journal: the
 * reader's view before the fold is the index after it. */
static void test_seen_as_folded(void **state)
{
    struct store *st = test_store_new();
    char *jpath = path_in_home(st, "index.jnl"), *ipath = path_in_home(st, "index.tcb");
    struct store_error err;
    uint32_t id, first, *gone;
    size_t ngone;
    struct stat before, after;
    struct view shadow, folded;
    uint64_t since;

    (void)state;
    deliver_n(st, 6);
    id = test_mailbox_id(st, USER, "INBOX");
    assert_int_equal(store_fold(st, USER, &err), STORE_OK);
    assert_int_equal(store_mailbox_take_recent(st, USER, id, &first, &err), STORE_OK);
    assert_int_equal(first, 1);
    assert_int_equal(store_fold(st, USER, &err), STORE_OK);
    shadow = view_of(st, id, 0);
    since = shadow.mb.highestmodseq;
    view_free(&shadow);
    assert_int_equal(stat(ipath, &before), 0);

    flag(st, id, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN, "$Work");
    flag(st, id, 2, STORE_FLAGS_ADD, STORE_FLAG_SEEN | STORE_FLAG_FLAGGED, NULL);
    flag(st, id, 3, STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL);
    flag(st, id, 4, STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL);
    flag(st, id, 2, STORE_FLAGS_REMOVE, STORE_FLAG_FLAGGED, NULL);
    deliver_n(st, 2); /* 7, 8 */
    uint64_t told = flag(st, id, 7, STORE_FLAGS_REPLACE, STORE_FLAG_ANSWERED, "Later");
    assert_int_equal(store_expunge(st, USER, id, NULL, 0, &gone, &ngone, &err), STORE_OK);
    assert_int_equal(ngone, 2);
    assert_int_equal(gone[0], 3);
    free(gone);
    assert_false(body_exists(st, id, 3)); /* unlinked once the record was durable */
    assert_true(body_exists(st, id, 5));
    assert_int_equal(store_mailbox_take_recent(st, USER, id, &first, &err), STORE_OK);
    assert_int_equal(first, 7);

    assert_true(size_of(jpath) > 0);
    assert_int_equal(stat(ipath, &after), 0);
    assert_true(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
                before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
    shadow = view_of(st, id, since);
    assert_int_equal(shadow.n, 6);
    assert_int_equal(shadow.mb.unseen, 4);
    assert_int_equal(shadow.mb.deleted, 0);
    assert_int_equal(shadow.mb.recent_uid, 8);
    assert_int_equal(shadow.ngone, 2);

    assert_int_equal(store_fold(st, USER, &err), STORE_OK);
    assert_int_equal(size_of(jpath), 0);
    folded = view_of(st, id, since);
    assert_same_view(&shadow, &folded);
    assert_int_equal(folded.msgs[4].uid, 7);
    assert_int_equal(folded.msgs[4].modseq, told); /* what the STORE answered */
    view_free(&shadow);
    view_free(&folded);
    free(jpath);
    free(ipath);
    test_store_free(&st);
}

/* A message delivered and expunged before any fold still used its UID. */
static void test_expunged_delivery_keeps_uid(void **state)
{
    struct store *st = test_store_new();
    struct store_mailbox mb;
    struct store_error err;
    uint32_t id, uid, *gone;
    size_t ngone;

    (void)state;
    deliver_n(st, 3); /* 1 makes the index, 2 and 3 go to the journal */
    id = test_mailbox_id(st, USER, "INBOX");
    flag(st, id, 3, STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL);
    assert_int_equal(store_expunge(st, USER, id, NULL, 0, &gone, &ngone, &err), STORE_OK);
    assert_int_equal(ngone, 1);
    free(gone);
    assert_false(body_exists(st, id, 3));
    assert_int_equal(store_fold(st, USER, &err), STORE_OK);
    assert_int_equal(store_mailbox_get_id(st, USER, id, &mb, &err), STORE_OK);
    assert_int_equal(mb.uidnext, 4);
    assert_int_equal(mb.messages, 2);
    store_mailbox_clear(&mb);
    assert_int_equal(test_deliver(st, USER, NULL, "Subject: x\n\nx\n", NULL, &uid), STORE_OK);
    assert_int_equal(uid, 4);
    test_store_free(&st);
}

/* A fold whose journal reset was lost: the same records come back and change nothing, neither
 * in a reader's view nor in the next fold. */
static void test_replay_changes_nothing(void **state)
{
    struct store *st = test_store_new();
    char *jpath = path_in_home(st, "index.jnl"), *saved = path_in_home(st, "saved.jnl");
    struct store_error err;
    struct view first, again, refolded;
    uint32_t id, *gone, r;
    size_t ngone;

    (void)state;
    deliver_n(st, 5);
    id = test_mailbox_id(st, USER, "INBOX");
    flag(st, id, 1, STORE_FLAGS_ADD, STORE_FLAG_SEEN, "A B");
    flag(st, id, 2, STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL);
    assert_int_equal(store_expunge(st, USER, id, NULL, 0, &gone, &ngone, &err), STORE_OK);
    free(gone);
    assert_int_equal(store_mailbox_take_recent(st, USER, id, &r, &err), STORE_OK);
    test_copy_file(jpath, saved);
    assert_int_equal(store_fold(st, USER, &err), STORE_OK);
    first = view_of(st, id, 0);

    test_copy_file(saved, jpath);
    again = view_of(st, id, 0);
    assert_same_view(&first, &again);
    assert_int_equal(store_fold(st, USER, &err), STORE_OK);
    refolded = view_of(st, id, 0);
    assert_same_view(&first, &refolded);
    view_free(&first);
    view_free(&again);
    view_free(&refolded);
    free(jpath);
    free(saved);
    test_store_free(&st);
}

/* \Recent goes to the first session that looks, journal or not. */
static void test_recent(void **state)
{
    struct store *st = test_store_new();
    struct store_error err;
    uint32_t id, first;

    (void)state;
    deliver_n(st, 3);
    id = test_mailbox_id(st, USER, "INBOX");
    assert_int_equal(store_mailbox_take_recent(st, USER, id, &first, &err), STORE_OK);
    assert_int_equal(first, 1);
    assert_int_equal(store_mailbox_take_recent(st, USER, id, &first, &err), STORE_OK);
    assert_int_equal(first, 4);
    assert_int_equal(store_fold(st, USER, &err), STORE_OK);
    assert_int_equal(store_mailbox_take_recent(st, USER, id, &first, &err), STORE_OK);
    assert_int_equal(first, 4);
    deliver_n(st, 1);
    assert_int_equal(store_mailbox_take_recent(st, USER, id, &first, &err), STORE_OK);
    assert_int_equal(first, 4);
    assert_int_equal(store_mailbox_take_recent(st, USER, id, &first, &err), STORE_OK);
    assert_int_equal(first, 5);
    test_store_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seen_as_folded),
        cmocka_unit_test(test_expunged_delivery_keeps_uid),
        cmocka_unit_test(test_replay_changes_nothing),
        cmocka_unit_test(test_recent),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
