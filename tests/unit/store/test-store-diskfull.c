/* A full file system (a small tmpfs in a private mount namespace): delivery fails with
 * STORE_ENOSPC, not a generic I/O error, and what was already stored stays whole and usable;
 * once room is made, delivery works again. Skipped where mounting is not permitted. */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cmocka.h>

#include "store-private.h"
#include "store-test.h"

static char *tiny_root;

/* A 512 KiB tmpfs only this process sees. */
static bool tiny_mount(void)
{
    char dir[] = "/tmp/halyard-diskfull.XXXXXX";

    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return false;
    if (mkdtemp(dir) == NULL)
        return false;
    if (mount("tmpfs", dir, "tmpfs", 0, "size=512k") != 0) {
        rmdir(dir);
        return false;
    }
    tiny_root = strdup(dir);
    return tiny_root != NULL;
}

static enum store_err deliver_big(struct store *st, struct store_error *err_r)
{
    static char msg[24000];
    struct store_spool *sp;
    struct store_delivery d = {.user = "full"};
    enum store_err rc;

    memset(msg, 'a', sizeof(msg) - 1);
    memcpy(msg, "Subject: fill\r\n\r\n", 17);
    rc = store_spool_create(st, &sp, err_r);
    if (rc != STORE_OK)
        return rc;
    rc = store_spool_write(sp, msg, strlen(msg), err_r);
    if (rc == STORE_OK)
        rc = store_spool_finish(sp, 0, 0, err_r);
    if (rc == STORE_OK) {
        d.spool = sp;
        rc = store_deliver(st, &d, 1);
        *err_r = d.err;
    }
    store_spool_free(&sp);
    return rc;
}

static void test_disk_full(void **state)
{
    struct store *st;
    struct store_error err;
    struct store_mailbox mb;
    struct store_msg *msgs;
    size_t n, stored = 0;
    enum store_err rc = STORE_OK;

    if (!tiny_mount())
        skip();
    char *root = store_path_join(tiny_root, "store");
    assert_int_equal(store_open(root, &st, &err), STORE_OK);
    assert_int_equal(store_home_ensure(st, "full", &err), STORE_OK);
    /* ballast outside the store, for the administrator to remove later */
    char *ballast = store_path_join(tiny_root, "ballast");
    FILE *f = fopen(ballast, "w");
    static char zeros[128 * 1024];
    assert_non_null(f);
    assert_int_equal(fwrite(zeros, 1, sizeof(zeros), f), sizeof(zeros));
    assert_int_equal(fclose(f), 0);
    while (stored < 100 && (rc = deliver_big(st, &err)) == STORE_OK)
        stored++;
    assert_true(stored > 0 && stored < 100);
    assert_int_equal(rc, STORE_ENOSPC);
    assert_non_null(strstr(err.msg, "No space") ? err.msg : strstr(err.msg, "full"));

    /* The mailbox stays readable while the disk is full. Deliveries still in the journal
     * (which needs room to be folded into the index) may be out of sight until there is. */
    assert_int_equal(store_mailbox_get(st, "full", "INBOX", &mb, &err), STORE_OK);
    assert_true(mb.messages <= stored);
    store_mailbox_clear(&mb);

    /* once the administrator makes room, everything committed before is there, whole, each
     * record with its file */
    assert_int_equal(unlink(ballast), 0);
    assert_int_equal(store_mailbox_get(st, "full", "INBOX", &mb, &err), STORE_OK);
    assert_int_equal(mb.messages, stored);
    assert_int_equal(store_msg_list(st, "full", mb.id, 1, 0, &msgs, &n, &err), STORE_OK);
    assert_int_equal(n, stored);
    for (size_t i = 0; i < n; i++) {
        char *body = test_body_read(st, "full", mb.id, msgs[i].uid);
        assert_int_equal(strlen(body), msgs[i].size);
        assert_true(strncmp(body, "Subject: fill\r\n", 15) == 0);
        free(body);
    }

    /* and expunge and delivery work again */
    struct store_flag_update del = {STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL, 0};
    assert_int_equal(
        store_flags_update(st, "full", mb.id, &msgs[0].uid, 1, &del, NULL, NULL, NULL, NULL, &err),
        STORE_OK);
    assert_int_equal(store_expunge(st, "full", mb.id, NULL, 0, NULL, NULL, &err), STORE_OK);
    assert_int_equal(deliver_big(st, &err), STORE_OK);
    store_msg_list_free(&msgs, n);
    store_mailbox_clear(&mb);
    assert_int_equal(store_mailbox_get(st, "full", "INBOX", &mb, &err), STORE_OK);
    assert_int_equal(mb.messages, stored);
    assert_int_equal(mb.uidnext, stored + 2);
    store_mailbox_clear(&mb);
    store_close(&st);
    free(root);
    free(ballast);
    umount(tiny_root);
    rmdir(tiny_root);
    free(tiny_root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_disk_full),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
