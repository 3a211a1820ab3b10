/* Helpers for the store tests: temporary store roots, delivery of literal messages and reading
 * a body back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "store-private.h"
#include "store-test.h"

struct store *test_store_new(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir;
    struct store *st;
    struct store_error err;

    if (asprintf(&dir, "%s/halyard-store-test.XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
        abort();
    assert_non_null(mkdtemp(dir));
    assert_int_equal(store_open(dir, &st, &err), STORE_OK);
    free(dir);
    return st;
}

void test_store_free(struct store **st)
{
    if (*st == NULL)
        return;
    assert_int_equal(store_remove_tree(store_root(*st), NULL), STORE_OK);
    store_close(st);
}

enum store_err test_deliver(struct store *st, const char *user, const char *mailbox,
                            const char *text, const struct store_limits *limits, uint32_t *uid_r)
{
    struct store_spool *sp;
    struct store_delivery d = {0};
    struct store_error err;
    enum store_err rc;

    assert_int_equal(store_spool_create(st, &sp, &err), STORE_OK);
    assert_int_equal(store_spool_write(sp, text, strlen(text), &err), STORE_OK);
    assert_int_equal(store_spool_finish(sp, 0, 0, &err), STORE_OK);
    d.spool = sp;
    d.user = user;
    d.mailbox = mailbox;
    if (limits != NULL)
        d.limits = *limits;
    rc = store_deliver(st, &d, 1);
    assert_int_equal(rc, d.err.code);
    if (uid_r != NULL)
        *uid_r = d.uid;
    store_spool_free(&sp);
    return rc;
}

uint32_t test_mailbox_id(struct store *st, const char *user, const char *name)
{
    struct store_mailbox mb;
    struct store_error err;
    uint32_t id;

    assert_int_equal(store_mailbox_get(st, user, name, &mb, &err), STORE_OK);
    id = mb.id;
    store_mailbox_clear(&mb);
    return id;
}

char *test_body_read(struct store *st, const char *user, uint32_t mailbox_id, uint32_t uid)
{
    struct store_msg m;
    struct store_error err;
    char *buf;
    int fd;
    ssize_t n;

    assert_int_equal(store_msg_get(st, user, mailbox_id, uid, &m, &err), STORE_OK);
    assert_int_equal(store_msg_open(st, user, &m, &fd, &err), STORE_OK);
    buf = calloc(1, m.size + 1);
    assert_non_null(buf);
    n = read(fd, buf, m.size + 1);
    assert_int_equal(n, (ssize_t)m.size);
    close(fd);
    store_msg_clear(&m);
    return buf;
}

void test_copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ssize_t n;

    assert_true(in >= 0 && out >= 0);
    while ((n = read(in, buf, sizeof(buf))) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}
