/* Mailbox operations against a real index: CREATE with superiors, DELETE refusals, RENAME with
 * inferiors and INBOX's rule, LIST patterns, UIDVALIDITY of recreated names, subscriptions,
 * ACLs, annotations and the commit hook's mailbox events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "store-private.h"
#include "store-test.h"

/* The names LIST "" "*" would show, joined by spaces. */
static char *names(struct store *st, const char *user, const char *pattern)
{
    struct store_mailbox *mbs;
    struct store_error err;
    struct store_buf b = {0};
    size_t n;

    assert_int_equal(store_mailbox_list(st, user, pattern, &mbs, &n, &err), STORE_OK);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            store_buf_addc(&b, ' ');
        store_buf_adds(&b, mbs[i].name);
    }
    store_mailbox_list_free(&mbs, n);
    return store_buf_steal(&b);
}

static void assert_names(struct store *st, const char *pattern, const char *want)
{
    char *got = names(st, "alice", pattern);

    assert_string_equal(got, want);
    free(got);
}

static int setup(void **state)
{
    struct store *st = test_store_new();
    struct store_error err;

    assert_int_equal(store_home_ensure(st, "alice", &err), STORE_OK);
    *state = st;
    return 0;
}

static int teardown(void **state)
{
    struct store *st = *state;

    test_store_free(&st);
    return 0;
}

static void test_home_has_inbox(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_mailbox mb;

    assert_names(st, NULL, "INBOX");
    assert_int_equal(store_home_exists(st, "ALICE", &err), STORE_OK);
    assert_int_equal(store_home_exists(st, "bob", &err), STORE_ENOTFOUND);
    /* a second ensure changes nothing */
    assert_int_equal(store_mailbox_get(st, "alice", "inbox", &mb, &err), STORE_OK);
    uint32_t uv = mb.uidvalidity;
    store_mailbox_clear(&mb);
    assert_int_equal(store_home_ensure(st, "alice", &err), STORE_OK);
    assert_int_equal(store_mailbox_get(st, "alice", "INBOX", &mb, &err), STORE_OK);
    assert_int_equal(mb.uidvalidity, uv);
    assert_int_equal(mb.uidnext, 1);
    store_mailbox_clear(&mb);
    /* a user without a home has no mailboxes and no usage */
    char *none = names(st, "bob", NULL);
    assert_string_equal(none, "");
    free(none);
    assert_int_equal(store_mailbox_get(st, "bob", "INBOX", &mb, &err), STORE_ENOTFOUND);
}

static void test_create_with_superiors(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_mailbox mb;
    struct stat sb;

    assert_int_equal(store_mailbox_create(st, "alice", "a/b/c", &err), STORE_OK);
    assert_names(st, NULL, "INBOX a a/b a/b/c");
    assert_int_equal(store_mailbox_create(st, "alice", "a/b", &err), STORE_EEXIST);
    assert_int_equal(store_mailbox_create(st, "alice", "inbox", &err), STORE_EEXIST);
    assert_int_equal(store_mailbox_create(st, "alice", "inbox/Sub", &err), STORE_OK);
    assert_names(st, NULL, "INBOX INBOX/Sub a a/b a/b/c");
    assert_int_equal(store_mailbox_create(st, "alice", "bad//name", &err), STORE_EINVAL);
    assert_int_equal(store_mailbox_create(st, "alice", "x*", &err), STORE_EINVAL);
    /* each mailbox has its directory and its sidecar, named by id */
    assert_int_equal(store_mailbox_get(st, "alice", "a/b/c", &mb, &err), STORE_OK);
    char *home = store_path_home(st, "alice"), *dir = store_path_mailbox_dir(home, mb.id);
    char *side = store_path_join(dir, "mailbox");
    assert_int_equal(stat(side, &sb), 0);
    FILE *f = fopen(side, "r");
    char line[256], want[64];
    assert_non_null(f);
    snprintf(want, sizeof(want), "uidvalidity %u\n", mb.uidvalidity);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_string_equal(line, "halyard-mailbox 1\n");
    assert_non_null(fgets(line, sizeof(line), f));
    assert_string_equal(line, want);
    assert_non_null(fgets(line, sizeof(line), f));
    assert_string_equal(line, "name a/b/c\n");
    fclose(f);
    free(side);
    free(dir);
    free(home);
    store_mailbox_clear(&mb);
}

static void test_list_patterns(void **state)
{
    struct store *st = *state;
    struct store_error err;

    assert_int_equal(store_mailbox_create(st, "alice", "Work/Projects/X", &err), STORE_OK);
    assert_int_equal(store_mailbox_create(st, "alice", "Workshop", &err), STORE_OK);
    assert_names(st, "%", "INBOX Work Workshop");
    assert_names(st, "Work/%", "Work/Projects");
    assert_names(st, "Work/*", "Work/Projects Work/Projects/X");
    assert_names(st, "Work*", "Work Work/Projects Work/Projects/X Workshop");
    assert_names(st, "inbox", "INBOX");
    assert_names(st, "nothing", "");
}

static void test_delete_rules(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_mailbox mb;
    uint32_t uv;

    assert_int_equal(store_mailbox_delete(st, "alice", "INBOX", &err), STORE_EINVAL);
    assert_int_equal(store_mailbox_delete(st, "alice", "inbox", &err), STORE_EINVAL);
    assert_int_equal(store_mailbox_delete(st, "alice", "nope", &err), STORE_ENOTFOUND);
    assert_int_equal(store_mailbox_create(st, "alice", "p/q", &err), STORE_OK);
    assert_int_equal(store_mailbox_delete(st, "alice", "p", &err), STORE_ECHILDREN);
    assert_int_equal(test_deliver(st, "alice", "p/q", "Subject: x\n\nbody\n", NULL, NULL),
                     STORE_OK);
    assert_int_equal(store_mailbox_get(st, "alice", "p/q", &mb, &err), STORE_OK);
    uv = mb.uidvalidity;
    char *home = store_path_home(st, "alice"), *dir = store_path_mailbox_dir(home, mb.id);
    store_mailbox_clear(&mb);
    assert_int_equal(store_mailbox_delete(st, "alice", "p/q", &err), STORE_OK);
    struct stat sb;
    assert_int_not_equal(stat(dir, &sb), 0); /* its files went with it */
    free(dir);
    free(home);
    assert_int_equal(store_mailbox_delete(st, "alice", "p", &err), STORE_OK);
    assert_names(st, NULL, "INBOX");
    /* quota usage followed the deleted message */
    struct store_usage usage;
    assert_int_equal(store_usage_get(st, "alice", &usage, &err), STORE_OK);
    assert_true(usage.bytes == 0 && usage.messages == 0);
    /* a recreated name gets a greater UIDVALIDITY (RFC 3501 2.3.1.1) */
    assert_int_equal(store_mailbox_create(st, "alice", "p/q", &err), STORE_OK);
    assert_int_equal(store_mailbox_get(st, "alice", "p/q", &mb, &err), STORE_OK);
    assert_true(mb.uidvalidity > uv);
    assert_int_equal(mb.uidnext, 1);
    assert_int_equal(mb.messages, 0);
    store_mailbox_clear(&mb);
}

static void test_rename_with_inferiors(void **state)
{
    struct store *st = *state;
    struct store_error err;
    uint32_t id_a, id_ab;

    assert_int_equal(store_mailbox_create(st, "alice", "a/b", &err), STORE_OK);
    assert_int_equal(store_mailbox_create(st, "alice", "z", &err), STORE_OK);
    id_a = test_mailbox_id(st, "alice", "a");
    id_ab = test_mailbox_id(st, "alice", "a/b");
    assert_int_equal(store_mailbox_rename(st, "alice", "a", "n/m", &err), STORE_OK);
    assert_names(st, NULL, "INBOX n n/m n/m/b z");
    /* ids (and so messages, ACLs, selected sessions) follow the rename */
    assert_int_equal(test_mailbox_id(st, "alice", "n/m"), id_a);
    assert_int_equal(test_mailbox_id(st, "alice", "n/m/b"), id_ab);
    assert_int_equal(store_mailbox_rename(st, "alice", "z", "n/m", &err), STORE_EEXIST);
    assert_int_equal(store_mailbox_rename(st, "alice", "nope", "y", &err), STORE_ENOTFOUND);
    assert_int_equal(store_mailbox_rename(st, "alice", "n/m", "n/m/b/c", &err), STORE_EINVAL);
    assert_int_equal(store_mailbox_rename(st, "alice", "z", "INBOX", &err), STORE_EEXIST);
    assert_int_equal(store_mailbox_rename(st, "alice", "z", "bad/", &err), STORE_EINVAL);
    assert_names(st, NULL, "INBOX n n/m n/m/b z");
}

static void test_rename_inbox(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_mailbox mb;
    uint32_t old_inbox = test_mailbox_id(st, "alice", "INBOX"), uid;

    assert_int_equal(store_mailbox_create(st, "alice", "INBOX/kept", &err), STORE_OK);
    assert_int_equal(test_deliver(st, "alice", NULL, "Subject: 1\n\none\n", NULL, &uid), STORE_OK);
    assert_int_equal(store_mailbox_rename(st, "alice", "inbox", "Old/Mail", &err), STORE_OK);
    /* the messages moved with the old INBOX; a new empty INBOX exists; INBOX's inferiors stay */
    assert_names(st, NULL, "INBOX INBOX/kept Old Old/Mail");
    assert_int_equal(store_mailbox_get(st, "alice", "Old/Mail", &mb, &err), STORE_OK);
    assert_int_equal(mb.id, old_inbox);
    assert_int_equal(mb.messages, 1);
    store_mailbox_clear(&mb);
    assert_int_equal(store_mailbox_get(st, "alice", "INBOX", &mb, &err), STORE_OK);
    assert_int_not_equal(mb.id, old_inbox);
    assert_int_equal(mb.messages, 0);
    store_mailbox_clear(&mb);
    char *body = test_body_read(st, "alice", old_inbox, uid);
    assert_string_equal(body, "Subject: 1\r\n\r\none\r\n");
    free(body);
}

struct events {
    char log[4096];
};

static void record_event(const struct store_change *c, void *ctx)
{
    static const char *const kinds[] = {"new", "flags", "expunge", "create", "delete", "rename"};
    struct events *ev = ctx;
    size_t len = strlen(ev->log);

    snprintf(ev->log + len, sizeof(ev->log) - len, "%s%s %s %s%s", len ? "; " : "", kinds[c->kind],
             c->user, c->old_mailbox ? c->old_mailbox : "", c->old_mailbox ? ">" : "");
    len = strlen(ev->log);
    snprintf(ev->log + len, sizeof(ev->log) - len, "%s", c->mailbox);
}

static void test_hook_mailbox_events(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct events ev = {""};

    store_set_commit_hook(st, record_event, &ev);
    assert_int_equal(store_mailbox_create(st, "alice", "x/y", &err), STORE_OK);
    assert_int_equal(store_mailbox_rename(st, "alice", "x", "w", &err), STORE_OK);
    assert_int_equal(store_mailbox_delete(st, "alice", "w/y", &err), STORE_OK);
    assert_int_equal(store_mailbox_create(st, "alice", "w", &err), STORE_EEXIST);
    assert_string_equal(ev.log, "create alice x; create alice x/y; rename alice x/y>w/y; "
                                "rename alice x>w; delete alice w/y");
    ev.log[0] = '\0';
    assert_int_equal(store_home_ensure(st, "Carol", &err), STORE_OK);
    assert_int_equal(store_home_ensure(st, "carol", &err), STORE_OK);
    assert_string_equal(ev.log, "create carol INBOX");
    store_set_commit_hook(st, NULL, NULL);
}

static void test_subscriptions(void **state)
{
    struct store *st = *state;
    struct store_error err;
    char **subs;
    size_t n;

    assert_int_equal(store_subscribe(st, "alice", "inbox", true, &err), STORE_OK);
    assert_int_equal(store_subscribe(st, "alice", "Not/There", true, &err), STORE_OK);
    assert_int_equal(store_subscribe(st, "alice", "gone", true, &err), STORE_OK);
    assert_int_equal(store_subscribe(st, "alice", "gone", false, &err), STORE_OK);
    assert_int_equal(store_subscribe(st, "alice", "bad//", true, &err), STORE_EINVAL);
    assert_int_equal(store_subscriptions_list(st, "alice", &subs, &n, &err), STORE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(subs[0], "INBOX");
    assert_string_equal(subs[1], "Not/There");
    store_strings_free(&subs, n);
}

static void test_acl_and_annotations(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_acl *acl;
    size_t n;
    char *v;

    assert_int_equal(store_mailbox_create(st, "alice", "Shared", &err), STORE_OK);
    uint32_t id = test_mailbox_id(st, "alice", "Shared");
    assert_int_equal(store_acl_set(st, "alice", id, "bob", "lrs", &err), STORE_OK);
    assert_int_equal(store_acl_set(st, "alice", id, "anyone", "l", &err), STORE_OK);
    assert_int_equal(store_acl_set(st, "alice", id, "anyone", "", &err), STORE_OK);
    assert_int_equal(store_acl_set(st, "alice", 999, "bob", "l", &err), STORE_ENOTFOUND);
    assert_int_equal(store_acl_list(st, "alice", id, &acl, &n, &err), STORE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(acl[0].identifier, "bob");
    assert_string_equal(acl[0].rights, "lrs");
    store_acl_list_free(&acl, n);

    assert_int_equal(store_annotation_set(st, "alice", id, "/private/comment", "mine", &err),
                     STORE_OK);
    assert_int_equal(store_annotation_set(st, "alice", 0, "/private/vendor/x", "u", &err),
                     STORE_OK);
    assert_int_equal(store_annotation_set(st, "alice", id, "nope", "x", &err), STORE_EINVAL);
    assert_int_equal(store_annotation_get(st, "alice", id, "/private/comment", &v, &err), STORE_OK);
    assert_string_equal(v, "mine");
    free(v);
    assert_int_equal(store_annotation_get(st, "alice", 0, "/private/vendor/x", &v, &err), STORE_OK);
    assert_string_equal(v, "u");
    free(v);
    /* listing: one mailbox, the user level, or everything (by mailbox id, then entry) */
    struct store_annotation *an;
    assert_int_equal(store_annotation_set(st, "alice", id, "/private/specialuse", "\\Sent", &err),
                     STORE_OK);
    assert_int_equal(store_annotation_list(st, "alice", id, false, &an, &n, &err), STORE_OK);
    assert_int_equal(n, 2);
    assert_string_equal(an[0].entry, "/private/comment");
    assert_string_equal(an[1].entry, "/private/specialuse");
    assert_string_equal(an[1].value, "\\Sent");
    assert_int_equal(an[1].mailbox_id, id);
    store_annotation_list_free(&an, n);
    assert_int_equal(store_annotation_list(st, "alice", 0, false, &an, &n, &err), STORE_OK);
    assert_int_equal(n, 1);
    assert_string_equal(an[0].entry, "/private/vendor/x");
    store_annotation_list_free(&an, n);
    assert_int_equal(store_annotation_list(st, "alice", 0, true, &an, &n, &err), STORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(an[0].mailbox_id, 0);
    store_annotation_list_free(&an, n);
    assert_int_equal(store_annotation_list(st, "nobody", 0, true, &an, &n, &err), STORE_OK);
    assert_int_equal(n, 0);
    char canon[32];
    assert_true(store_specialuse_canon("\\Sent", NULL));
    assert_true(store_specialuse_canon("\\junk \\FLAGGED", canon));
    assert_string_equal(canon, "\\Junk \\Flagged");
    assert_false(store_specialuse_canon("", NULL));
    assert_false(store_specialuse_canon("\\Sent \\Sent", NULL));
    assert_false(store_specialuse_canon("\\Sent ", NULL));
    assert_false(store_specialuse_canon("\\Important", NULL));
    /* ACLs and annotations follow RENAME and go with DELETE */
    assert_int_equal(store_mailbox_rename(st, "alice", "Shared", "Common", &err), STORE_OK);
    assert_int_equal(store_acl_list(st, "alice", id, &acl, &n, &err), STORE_OK);
    assert_int_equal(n, 1);
    store_acl_list_free(&acl, n);
    assert_int_equal(store_mailbox_delete(st, "alice", "Common", &err), STORE_OK);
    assert_int_equal(store_annotation_get(st, "alice", id, "/private/comment", &v, &err),
                     STORE_ENOTFOUND);
    assert_int_equal(store_acl_list(st, "alice", id, &acl, &n, &err), STORE_OK);
    assert_int_equal(n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_home_has_inbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_with_superiors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_patterns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_with_inferiors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename_inbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook_mailbox_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscriptions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl_and_annotations, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
