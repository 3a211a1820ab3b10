/* reconstruct without a usable index: a garbled, empty or deleted index.tcb is rebuilt from the
 * body files with every message at its UID, its INTERNALDATE and its bytes; names come from the
 * sidecars, UIDVALIDITYs are new; the rebuild holds the index lock and survives its own crash. */
#include <dirent.h>
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

#include "rc-test.h"
#include "store-private.h"
#include "store-test.h"

#define USER         "bob"
#define CRASH_STATUS 77

static const char *const boxes[] = {"INBOX", "Work", "Work/Sub"};
#define NBOXES (sizeof(boxes) / sizeof(*boxes))

/* What must survive a rebuild: per mailbox, each UID with its date, size and bytes. */
struct snap {
    struct store_msg *msgs[NBOXES];
    size_t n[NBOXES];
    char **bodies[NBOXES];
    uint32_t uidvalidity[NBOXES];
};

static int setup(void **state)
{
    struct store *st = test_store_new();
    struct store_flag_update flag = {STORE_FLAGS_ADD, STORE_FLAG_SEEN | STORE_FLAG_DELETED, "$Done",
                                     0};
    struct store_error err;
    uint32_t uid5 = 5, uids[] = {1, 2};
    char text[128];

    for (int i = 1; i <= 5; i++) {
        snprintf(text, sizeof(text), "Message-ID: <r%d@test>\nSubject: r %d\n\nbody %d\n", i, i, i);
        assert_int_equal(test_deliver(st, USER, NULL, text, NULL, NULL), STORE_OK);
    }
    assert_int_equal(store_mailbox_create(st, USER, "Work/Sub", &err), STORE_OK);
    assert_int_equal(test_deliver(st, USER, "Work", "Subject: w\n\nw\n", NULL, NULL), STORE_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(test_deliver(st, USER, "Work/Sub", "Subject: s\n\ns\n", NULL, NULL),
                         STORE_OK);
    uint32_t inbox = test_mailbox_id(st, USER, "INBOX");
    assert_int_equal(
        store_flags_update(st, USER, inbox, uids, 2, &flag, NULL, NULL, NULL, NULL, &err),
        STORE_OK);
    /* the highest UID expunged: nothing on disk remembers it */
    assert_int_equal(
        store_flags_update(st, USER, inbox, &uid5, 1, &flag, NULL, NULL, NULL, NULL, &err),
        STORE_OK);
    assert_int_equal(store_expunge(st, USER, inbox, &uid5, 1, NULL, NULL, &err), STORE_OK);
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    struct store *st = *state;

    test_store_free(&st);
    return 0;
}

static void snap_take(struct store *st, struct snap *s)
{
    struct store_mailbox mb;
    struct store_error err;

    for (size_t b = 0; b < NBOXES; b++) {
        assert_int_equal(store_mailbox_get(st, USER, boxes[b], &mb, &err), STORE_OK);
        s->uidvalidity[b] = mb.uidvalidity;
        s->msgs[b] = rc_msgs(st, USER, boxes[b], &s->n[b]);
        s->bodies[b] = calloc(s->n[b] + 1, sizeof(char *));
        for (size_t i = 0; i < s->n[b]; i++)
            s->bodies[b][i] = test_body_read(st, USER, mb.id, s->msgs[b][i].uid);
        store_mailbox_clear(&mb);
    }
}

static void snap_free(struct snap *s)
{
    for (size_t b = 0; b < NBOXES; b++) {
        store_strings_free(&s->bodies[b], s->n[b]);
        store_msg_list_free(&s->msgs[b], s->n[b]);
    }
}

/* Every message is back at its UID with its date and bytes, without flags; UIDNEXT follows the
 * highest UID found; UIDVALIDITY is new; every mailbox is subscribed. */
static void snap_assert_rebuilt(struct store *st, const struct snap *s)
{
    struct store_mailbox mb;
    struct store_error err;
    char **subs;
    size_t nsubs;

    for (size_t b = 0; b < NBOXES; b++) {
        size_t n;
        struct store_msg *msgs = rc_msgs(st, USER, boxes[b], &n);
        assert_int_equal(store_mailbox_get(st, USER, boxes[b], &mb, &err), STORE_OK);
        assert_int_equal(n, s->n[b]);
        assert_int_equal(mb.messages, n);
        assert_int_equal(mb.unseen, n);
        assert_true(mb.uidvalidity > s->uidvalidity[b]);
        assert_int_equal(mb.uidnext, n ? msgs[n - 1].uid + 1 : 1);
        for (size_t i = 0; i < n; i++) {
            char *body = test_body_read(st, USER, mb.id, msgs[i].uid);
            assert_int_equal(msgs[i].uid, s->msgs[b][i].uid);
            assert_int_equal(msgs[i].internaldate, s->msgs[b][i].internaldate);
            assert_int_equal(msgs[i].size, s->msgs[b][i].size);
            assert_int_equal(msgs[i].header_size, s->msgs[b][i].header_size);
            assert_int_equal(msgs[i].flags, 0);
            assert_null(msgs[i].keywords);
            assert_string_equal(body, s->bodies[b][i]);
            free(body);
        }
        store_msg_list_free(&msgs, n);
        store_mailbox_clear(&mb);
    }
    assert_int_equal(store_subscriptions_list(st, USER, &subs, &nsubs, &err), STORE_OK);
    assert_int_equal(nsubs, NBOXES);
    store_strings_free(&subs, nsubs);
}

static void assert_clean(struct store *st)
{
    struct rc_log log;

    rc_run(st, USER, false, &log);
    for (size_t i = 0; i < log.n; i++)
        print_message("left: %s %u %s\n", log.v[i].mailbox, log.v[i].uid, log.v[i].text);
    assert_int_equal(log.n, 0);
}

static void garble_header(struct store *st)
{
    char *index = rc_index(st, USER);
    int fd = open(index, O_WRONLY);

    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "not a cabinet at all", 20, 0), 20);
    close(fd);
    /* Damage advances no generation: a handle this process kept from an earlier read would go
     * on serving what it had. The tests stand for a daemon that opens the file after. */
    store_tx_forget(st, index);
    free(index);
}

/* How many index.tcb.broken.* files the home holds. */
static int count_kept(struct store *st)
{
    char *home = rc_home(st, USER);
    DIR *d = opendir(home);
    struct dirent *de;
    int n = 0;

    assert_non_null(d);
    while ((de = readdir(d)) != NULL)
        n +=
            strncmp(de->d_name, "index.tcb.broken.", 17) == 0 && strstr(de->d_name, ".wal") == NULL;
    closedir(d);
    free(home);
    return n;
}

static void test_garbled_index(void **state)
{
    struct store *st = *state;
    struct store_mailbox inbox;
    struct store_error err;
    struct rc_log log;
    struct snap s = {0};
    size_t len0, len1;
    uint32_t uid;
    char *index = rc_index(st, USER), *before, *after;

    snap_take(st, &s);
    garble_header(st);
    before = rc_slurp(index, &len0);

    rc_run(st, USER, false, &log); /* -n: says so, touches nothing */
    assert_int_equal(log.n, 1);
    assert_int_equal(log.v[0].kind, STORE_RC_INDEX_UNREADABLE);
    assert_non_null(strstr(log.v[0].text, "3 mailbox directories with 8 body files"));
    after = rc_slurp(index, &len1);
    assert_true(len0 == len1 && memcmp(before, after, len0) == 0);
    assert_int_equal(count_kept(st), 0);
    free(after);

    rc_run(st, USER, true, &log);
    assert_int_equal(log.problems, 1);
    assert_non_null(rc_find(&log, STORE_RC_INDEX_UNREADABLE, NULL, 0));
    for (size_t b = 0; b < NBOXES; b++)
        assert_non_null(rc_find(&log, STORE_RC_REBUILT, boxes[b], 0));
    assert_non_null(rc_find(&log, STORE_RC_LOST, NULL, 0));
    snap_assert_rebuilt(st, &s);
    assert_int_equal(count_kept(st), 1);
    assert_int_equal(store_mailbox_get(st, USER, "INBOX", &inbox, &err), STORE_OK);
    assert_int_equal(inbox.uidnext, 5); /* UID 5 was expunged, hence the new UIDVALIDITY */
    assert_clean(st);
    assert_int_equal(test_deliver(st, USER, NULL, "Subject: after\n\na\n", NULL, &uid), STORE_OK);
    assert_int_equal(uid, 5);
    store_mailbox_clear(&inbox);
    snap_free(&s);
    free(before);
    free(index);
}

static void test_deleted_index(void **state)
{
    struct store *st = *state;
    struct rc_log log;
    struct snap s = {0};
    char *index = rc_index(st, USER);

    snap_take(st, &s);
    assert_int_equal(unlink(index), 0);
    rc_run(st, USER, false, &log);
    assert_int_equal(log.problems, 1);
    assert_int_equal(log.v[0].kind, STORE_RC_INDEX_MISSING);
    assert_int_equal(access(index, F_OK), -1);
    rc_run(st, USER, true, &log);
    assert_int_equal(log.problems, 1);
    assert_non_null(rc_find(&log, STORE_RC_INDEX_MISSING, NULL, 0));
    snap_assert_rebuilt(st, &s);
    assert_int_equal(count_kept(st), 0);
    assert_clean(st);
    snap_free(&s);
    free(index);
}

/* An index a crash left empty, and one that reads but is not believed (-R). */
static void test_empty_and_asked(void **state)
{
    struct store *st = *state;
    struct store_rc_options opt = {.repair = true, .rebuild = true};
    struct rc_log log;
    struct snap s = {0};
    char *index = rc_index(st, USER);

    snap_take(st, &s);
    assert_int_equal(truncate(index, 0), 0);
    rc_run(st, USER, true, &log);
    assert_non_null(rc_find(&log, STORE_RC_INDEX_UNREADABLE, NULL, 0));
    snap_assert_rebuilt(st, &s);
    snap_free(&s);

    snap_take(st, &s);
    assert_int_equal(rc_try(st, USER, &opt, &log), STORE_OK);
    assert_int_equal(log.problems, 0);
    assert_non_null(rc_find(&log, STORE_RC_REBUILD_ASKED, NULL, 0));
    snap_assert_rebuilt(st, &s);
    assert_int_equal(count_kept(st), 2);
    assert_clean(st);
    snap_free(&s);
    free(index);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Sidecars decide names: a directory without one and one that claims a taken name are filed
 * under Recovered/, an empty directory without one goes. */
static void test_sidecar_trouble(void **state)
{
    struct store *st = *state;
    struct store_mailbox sub, mb;
    struct store_error err;
    struct rc_log log;
    char *home = rc_home(st, USER), *path, *index = rc_index(st, USER), *name;
    char *src = NULL;
    uint32_t work = test_mailbox_id(st, USER, "Work");

    assert_int_equal(store_mailbox_get(st, USER, "Work/Sub", &sub, &err), STORE_OK);
    if (asprintf(&path, "%s/%08x/mailbox", home, sub.id) < 0)
        abort();
    assert_int_equal(unlink(path), 0);
    free(path);
    /* an older mailbox directory that claims "Work" too, with one message */
    if (asprintf(&path, "%s/000000f0", home) < 0)
        abort();
    assert_int_equal(mkdir(path, 0750), 0);
    free(path);
    if (asprintf(&path, "%s/000000f0/mailbox", home) < 0)
        abort();
    write_file(path, "halyard-mailbox 1\nuidvalidity 5\nname Work\n");
    free(path);
    if (asprintf(&path, "%s/000000f0/1", home) < 0 || asprintf(&src, "%s/%08x/1", home, sub.id) < 0)
        abort();
    assert_int_equal(link(src, path), 0);
    free(path);
    if (asprintf(&path, "%s/000000f1", home) < 0)
        abort();
    assert_int_equal(mkdir(path, 0750), 0);
    assert_int_equal(unlink(index), 0);

    rc_run(st, USER, true, &log);
    assert_int_equal(log.problems, 4);
    assert_non_null(rc_find(&log, STORE_RC_INDEX_MISSING, NULL, 0));
    assert_non_null(rc_find(&log, STORE_RC_SIDECAR_BAD, NULL, 0));
    assert_non_null(rc_find(&log, STORE_RC_NAME_CLASH, "Work", 0));
    assert_non_null(rc_find(&log, STORE_RC_DIR_ORPHAN, NULL, 0));
    assert_int_equal(access(path, F_OK), -1);
    if (asprintf(&name, "Recovered/%08x", sub.id) < 0)
        abort();
    assert_int_equal(store_mailbox_get(st, USER, name, &mb, &err), STORE_OK);
    assert_int_equal(mb.messages, 3);
    store_mailbox_clear(&mb);
    assert_int_equal(store_mailbox_get(st, USER, "Recovered/000000f0", &mb, &err), STORE_OK);
    assert_int_equal(mb.messages, 1);
    store_mailbox_clear(&mb);
    assert_int_equal(store_mailbox_get(st, USER, "Work", &mb, &err), STORE_OK);
    assert_int_equal(mb.messages, 1);
    assert_int_equal(mb.id, work); /* the newer of the two keeps the name */
    store_mailbox_clear(&mb);
    assert_int_equal(store_mailbox_get(st, USER, "Recovered", &mb, &err), STORE_OK);
    assert_non_null(rc_find(&log, STORE_RC_REBUILT, "Recovered", 0));
    assert_clean(st);
    store_mailbox_clear(&mb);
    store_mailbox_clear(&sub);
    free(name);
    free(src);
    free(path);
    free(index);
    free(home);
}

static const char *crash_point;

static void crash_here(const char *point)
{
    if (strcmp(point, crash_point) == 0)
        _exit(CRASH_STATUS);
}

static void rebuild_crashing(struct store *st, const char *point)
{
    struct rc_log log;
    pid_t pid = fork();
    int status;

    assert_true(pid >= 0);
    if (pid == 0) {
        struct store_rc_options opt = {.repair = true};
        crash_point = point;
        store_fault_hook = crash_here;
        rc_try(st, USER, &opt, &log);
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), CRASH_STATUS);
}

/* A rebuild that dies before its rename leaves the broken file in place; daemons keep failing
 * on it rather than start over, and the next run finishes the job. */
static void test_crash_before_rename(void **state)
{
    struct store *st = *state;
    struct store_mailbox *mbs;
    struct store_error err;
    struct rc_log log;
    struct snap s = {0};
    size_t n, len0, len1;
    char *index = rc_index(st, USER), *before, *after;

    snap_take(st, &s);
    garble_header(st);
    before = rc_slurp(index, &len0);
    rebuild_crashing(st, "rebuild-built");
    after = rc_slurp(index, &len1);
    assert_true(len0 == len1 && memcmp(before, after, len0) == 0);
    assert_int_equal(store_mailbox_list(st, USER, NULL, &mbs, &n, &err), STORE_EIO);
    rc_run(st, USER, true, &log);
    assert_non_null(rc_find(&log, STORE_RC_INDEX_UNREADABLE, NULL, 0));
    snap_assert_rebuilt(st, &s);
    assert_clean(st);
    snap_free(&s);
    free(before);
    free(after);
    free(index);
}

/* With no index at all, a crashed rebuild leaves its placeholder, which a delivery refuses to
 * read instead of making a new index (and a new INBOX over the old one's directory). */
static void test_crash_leaves_placeholder(void **state)
{
    struct store *st = *state;
    struct rc_log log;
    struct snap s = {0};
    const struct rc_seen *f;
    char *index = rc_index(st, USER);

    snap_take(st, &s);
    assert_int_equal(unlink(index), 0);
    rebuild_crashing(st, "rebuild-locked");
    assert_int_equal(access(index, F_OK), 0);
    assert_int_equal(test_deliver(st, USER, NULL, "Subject: no\n\nno\n", NULL, NULL), STORE_EIO);
    rc_run(st, USER, true, &log);
    f = rc_find(&log, STORE_RC_INDEX_MISSING, NULL, 0);
    assert_non_null(f);
    assert_non_null(strstr(f->text, "placeholder"));
    assert_int_equal(count_kept(st), 0);
    snap_assert_rebuilt(st, &s);
    assert_clean(st);
    snap_free(&s);
    free(index);
}

static struct store *locked_store;
static int writer_status = -1;

/* While the rebuild holds the lock, another process's write waits and gives up. */
static void try_writer(const char *point)
{
    pid_t pid;

    if (strcmp(point, "rebuild-locked") != 0)
        return;
    pid = fork();
    if (pid == 0) {
        struct store_error err;
        store_fault_hook = NULL;
        store_set_lock_timeout(locked_store, 300);
        _exit(store_mailbox_create(locked_store, USER, "Meanwhile", &err));
    }
    if (pid > 0 && waitpid(pid, &writer_status, 0) != pid)
        writer_status = -1;
}

static void test_rebuild_holds_the_lock(void **state)
{
    struct store *st = *state;
    struct store_mailbox mb;
    struct store_error err;
    struct rc_log log;

    garble_header(st);
    locked_store = st;
    store_fault_hook = try_writer;
    rc_run(st, USER, true, &log);
    store_fault_hook = NULL;
    assert_true(WIFEXITED(writer_status));
    assert_int_equal(WEXITSTATUS(writer_status), STORE_EBUSY);
    assert_int_equal(store_mailbox_get(st, USER, "Meanwhile", &mb, &err), STORE_ENOTFOUND);
    assert_clean(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_garbled_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_and_asked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sidecar_trouble, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_before_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_leaves_placeholder, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rebuild_holds_the_lock, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
