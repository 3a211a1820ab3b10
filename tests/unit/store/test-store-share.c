/* Sharing between users: ACL identifiers kept in lower case, the ACLs of every mailbox at once,
 * the sharing index (lright) following grants and removals and brought back in line with the
 * ACLs (reconstruct), and COPY from one user's mailbox into another's (records, keywords, MIME
 * and body carried over, the target's quota all or nothing). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store-test.h"

static int setup(void **state)
{
    struct store *st = test_store_new();
    struct store_error err;

    assert_int_equal(store_home_ensure(st, "alice", &err), STORE_OK);
    assert_int_equal(store_home_ensure(st, "bob", &err), STORE_OK);
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    struct store *st = *state;

    test_store_free(&st);
    return 0;
}

static void owners_are(struct store *st, const char *id, const char *want)
{
    const char *ids[] = {id};
    char **owners, got[256] = "";
    size_t n;
    struct store_error err;

    assert_int_equal(store_share_owners(st, ids, 1, &owners, &n, &err), STORE_OK);
    for (size_t i = 0; i < n; i++)
        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "", owners[i]);
    store_strings_free(&owners, n);
    assert_string_equal(got, want);
}

static void test_acl_every_mailbox(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_acl *acl;
    size_t n;

    assert_int_equal(store_mailbox_create(st, "alice", "A", &err), STORE_OK);
    assert_int_equal(store_mailbox_create(st, "alice", "B", &err), STORE_OK);
    uint32_t a = test_mailbox_id(st, "alice", "A"), b = test_mailbox_id(st, "alice", "B");
    assert_int_equal(store_acl_set(st, "alice", b, "Bob", "lr", &err), STORE_OK);
    assert_int_equal(store_acl_set(st, "alice", a, "-CAROL", "r", &err), STORE_OK);
    assert_int_equal(store_acl_set(st, "alice", a, "anyone", "l", &err), STORE_OK);
    assert_int_equal(store_acl_list(st, "alice", 0, &acl, &n, &err), STORE_OK);
    assert_int_equal(n, 3); /* by mailbox id, then identifier; identifiers in lower case */
    assert_int_equal(acl[0].mailbox_id, a);
    assert_string_equal(acl[0].identifier, "-carol");
    assert_int_equal(acl[1].mailbox_id, a);
    assert_string_equal(acl[1].identifier, "anyone");
    assert_int_equal(acl[2].mailbox_id, b);
    assert_string_equal(acl[2].identifier, "bob");
    assert_string_equal(acl[2].rights, "lr");
    store_acl_list_free(&acl, n);
    assert_int_equal(store_acl_list(st, "alice", b, &acl, &n, &err), STORE_OK);
    assert_int_equal(n, 1);
    assert_int_equal(acl[0].mailbox_id, b);
    store_acl_list_free(&acl, n);
    /* a user without a folder has none */
    assert_int_equal(store_acl_list(st, "nobody", 0, &acl, &n, &err), STORE_OK);
    assert_int_equal(n, 0);
}

static void test_share_index(void **state)
{
    struct store *st = *state;
    struct store_error err;
    char **ids, **owners;
    size_t n;

    owners_are(st, "bob", ""); /* no index yet */
    assert_int_equal(store_mailbox_create(st, "alice", "A", &err), STORE_OK);
    assert_int_equal(store_mailbox_create(st, "alice", "B", &err), STORE_OK);
    assert_int_equal(store_mailbox_create(st, "bob", "C", &err), STORE_OK);
    uint32_t a = test_mailbox_id(st, "alice", "A"), b = test_mailbox_id(st, "alice", "B");
    uint32_t c = test_mailbox_id(st, "bob", "C");
    assert_int_equal(store_acl_set(st, "alice", a, "carol", "lr", &err), STORE_OK);
    assert_int_equal(store_acl_set(st, "alice", b, "carol", "l", &err), STORE_OK);
    assert_int_equal(store_acl_set(st, "bob", c, "CAROL", "lrs", &err), STORE_OK);
    assert_int_equal(store_acl_set(st, "bob", c, "anyone", "l", &err), STORE_OK);
    assert_int_equal(store_acl_set(st, "bob", c, "-dave", "l", &err), STORE_OK);
    owners_are(st, "carol", "alice bob");
    owners_are(st, "anyone", "bob");
    owners_are(st, "-dave", ""); /* negative entries grant nothing to look for */
    /* several identifiers: each owner once */
    const char *both[] = {"carol", "anyone"};
    assert_int_equal(store_share_owners(st, both, 2, &owners, &n, &err), STORE_OK);
    assert_int_equal(n, 2);
    store_strings_free(&owners, n);
    /* an owner stays while any entry names the identifier */
    assert_int_equal(store_acl_set(st, "alice", a, "carol", NULL, &err), STORE_OK);
    owners_are(st, "carol", "alice bob");
    assert_int_equal(store_acl_set(st, "alice", b, "carol", "", &err), STORE_OK);
    owners_are(st, "carol", "bob");
    /* every pair, for the administrator */
    assert_int_equal(store_share_list(st, &ids, &owners, &n, &err), STORE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], "anyone");
    assert_string_equal(owners[0], "bob");
    assert_string_equal(ids[1], "carol");
    assert_string_equal(owners[1], "bob");
    store_strings_free(&ids, n);
    store_strings_free(&owners, n);
    /* a deleted mailbox leaves a stale entry: a hint the ACLs overrule */
    assert_int_equal(store_mailbox_delete(st, "bob", "C", &err), STORE_OK);
    owners_are(st, "carol", "bob");
}

static void note_report(const char *id, bool added, void *ctx)
{
    char *log = ctx;

    snprintf(log + strlen(log), 256 - strlen(log), "%s%c%s", log[0] ? " " : "", added ? '+' : '-',
             id);
}

static void test_share_sync(void **state)
{
    struct store *st = *state;
    struct store_error err;
    char log[256] = "";
    unsigned changes;

    assert_int_equal(store_mailbox_create(st, "alice", "A", &err), STORE_OK);
    uint32_t a = test_mailbox_id(st, "alice", "A");
    assert_int_equal(store_acl_set(st, "alice", a, "bob", "lr", &err), STORE_OK);
    assert_int_equal(store_acl_set(st, "alice", a, "carol", "l", &err), STORE_OK);
    assert_int_equal(store_acl_set(st, "alice", a, "-dave", "l", &err), STORE_OK);
    assert_int_equal(store_share_sync(st, "alice", true, note_report, log, &changes, &err),
                     STORE_OK);
    assert_int_equal(changes, 0);
    /* the index lost (a crash between the two commits, or an index from before sharing) */
    char path[4096];
    snprintf(path, sizeof(path), "%s/lright.tcb", store_root(st));
    assert_int_equal(unlink(path), 0);
    owners_are(st, "bob", "");
    assert_int_equal(store_share_sync(st, "alice", false, note_report, log, &changes, &err),
                     STORE_OK);
    assert_int_equal(changes, 2);
    assert_string_equal(log, "+bob +carol");
    owners_are(st, "bob", ""); /* check only */
    log[0] = '\0';
    assert_int_equal(store_share_sync(st, "alice", true, note_report, log, &changes, &err),
                     STORE_OK);
    assert_int_equal(changes, 2);
    owners_are(st, "bob", "alice");
    owners_are(st, "carol", "alice");
    /* a pair no entry names any more (the mailbox deleted) goes */
    assert_int_equal(store_mailbox_delete(st, "alice", "A", &err), STORE_OK);
    log[0] = '\0';
    assert_int_equal(store_share_sync(st, "alice", true, note_report, log, &changes, &err),
                     STORE_OK);
    assert_string_equal(log, "-bob -carol");
    owners_are(st, "bob", "");
    assert_int_equal(store_share_sync(st, "alice", true, NULL, NULL, &changes, &err), STORE_OK);
    assert_int_equal(changes, 0);
}

static const char msg[] = "From: a@example.org\nSubject: shared\n\nbody\n";

static void test_copy_between(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_copy_result res;
    struct store_msg m;
    uint32_t uid;

    assert_int_equal(store_mailbox_create(st, "alice", "Project", &err), STORE_OK);
    uint32_t src = test_mailbox_id(st, "alice", "Project");
    for (int i = 0; i < 3; i++)
        assert_int_equal(test_deliver(st, "alice", "Project", msg, NULL, &uid), STORE_OK);
    struct store_flag_update up = {
        .op = STORE_FLAGS_ADD, .flags = STORE_FLAG_FLAGGED, .keywords = "$Work"};
    uint32_t two = 2;
    assert_int_equal(
        store_flags_update(st, "alice", src, &two, 1, &up, NULL, NULL, NULL, NULL, &err), STORE_OK);
    uint32_t inbox = test_mailbox_id(st, "bob", "INBOX");
    uint32_t uids[] = {3, 2, 9};
    assert_int_equal(store_copy_between(st, "alice", src, uids, 3, "bob", inbox, NULL, &res, &err),
                     STORE_OK);
    assert_int_equal(res.n, 2); /* absent UIDs skipped, ascending source order */
    assert_int_equal(res.src_uids[0], 2);
    assert_int_equal(res.dst_uids[0], 1);
    assert_int_equal(res.src_uids[1], 3);
    assert_int_equal(res.dst_uids[1], 2);
    store_copy_result_clear(&res);
    assert_int_equal(store_msg_get(st, "bob", inbox, 1, &m, &err), STORE_OK);
    assert_int_equal(m.flags, STORE_FLAG_FLAGGED);
    assert_string_equal(m.keywords, "$Work");
    store_msg_clear(&m);
    char *body = test_body_read(st, "bob", inbox, 2);
    assert_non_null(strstr(body, "Subject: shared"));
    free(body);
    struct store_usage use;
    assert_int_equal(store_usage_get(st, "bob", &use, &err), STORE_OK);
    assert_int_equal(use.messages, 2);
    struct store_mime mime;
    assert_int_equal(store_msg_get_mime(st, "bob", inbox, 2, &mime, &err), STORE_OK);
    assert_non_null(strstr(mime.envelope, "shared"));
    store_mime_clear(&mime);
    /* the target's quota, all or nothing */
    struct store_limits lim = {.messages = 3};
    assert_int_equal(store_copy_between(st, "alice", src, uids, 3, "bob", inbox, &lim, &res, &err),
                     STORE_EQUOTA);
    assert_int_equal(store_usage_get(st, "bob", &use, &err), STORE_OK);
    assert_int_equal(use.messages, 2);
    /* the same user on both sides is a plain COPY */
    assert_int_equal(store_copy_between(st, "alice", src, uids, 1, "alice", src, NULL, &res, &err),
                     STORE_OK);
    assert_int_equal(res.n, 1);
    assert_int_equal(res.dst_uids[0], 4);
    store_copy_result_clear(&res);
    /* nothing to copy: nothing written */
    uint32_t none = 77;
    assert_int_equal(store_copy_between(st, "alice", src, &none, 1, "bob", inbox, NULL, &res, &err),
                     STORE_OK);
    assert_int_equal(res.n, 0);
    store_copy_result_clear(&res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_acl_every_mailbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_share_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_share_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_between, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
