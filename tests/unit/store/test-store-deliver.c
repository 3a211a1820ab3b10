/* Messages through the public API: spooling (CRLF, byte-at-a-time), UID allocation, quota
 * accounting across delivery, expunge, copy and move, flags with MODSEQ and UNCHANGEDSINCE,
 * changes since a MODSEQ, multi-recipient delivery by hard link, and the commit hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "store-private.h"
#include "store-hfield.h"
#include "store-test.h"

static const char msg_a[] = "From: a@example.com\nSubject: A\n\nalpha\n";

static int setup(void **state)
{
    *state = test_store_new();
    return 0;
}

static int teardown(void **state)
{
    struct store *st = *state;

    test_store_free(&st);
    return 0;
}

static struct store_mailbox mailbox(struct store *st, const char *user, const char *name)
{
    struct store_mailbox mb;
    struct store_error err;

    assert_int_equal(store_mailbox_get(st, user, name, &mb, &err), STORE_OK);
    return mb;
}

/* Line ends come out as CRLF however the input is cut. */
static void test_spool_crlf(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"a\nb\n", "a\r\nb\r\n"},
        {"a\r\nb\r\n", "a\r\nb\r\n"},
        {"a\r\n\nb", "a\r\n\r\nb"},
        {"\n", "\r\n"},
        {"lone\rcr\n", "lone\rcr\r\n"},
        {"no end", "no end"},
        {"", ""},
    };
    struct store *st = *state;
    struct store_error err;

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        /* chunk 0: all at once; chunk 1: byte at a time; chunk 2: pairs */
        for (size_t chunk = 0; chunk < 3; chunk++) {
            struct store_spool *sp;
            struct store_delivery d = {.user = "u"};
            size_t len = strlen(cases[i].in), step = chunk == 0 ? len + 1 : chunk;

            assert_int_equal(store_spool_create(st, &sp, &err), STORE_OK);
            for (size_t off = 0; off < len; off += step)
                assert_int_equal(store_spool_write(sp, cases[i].in + off,
                                                   len - off < step ? len - off : step, &err),
                                 STORE_OK);
            assert_int_equal(store_spool_finish(sp, 0, 0, &err), STORE_OK);
            assert_int_equal(store_spool_size(sp), strlen(cases[i].out));
            assert_int_equal(store_spool_write(sp, "x", 1, &err), STORE_EINVAL);
            d.spool = sp;
            assert_int_equal(store_deliver(st, &d, 1), STORE_OK);
            store_spool_free(&sp);
            char *body = test_body_read(st, "u", d.mailbox_id, d.uid);
            assert_string_equal(body, cases[i].out);
            free(body);
        }
    }
}

static void test_uid_allocation(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_mailbox mb;
    struct store_flag_update del = {STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL, 0};
    uint32_t uid, uv, inbox, *gone;
    size_t ngone;

    for (uint32_t i = 1; i <= 5; i++) {
        assert_int_equal(test_deliver(st, "alice", NULL, msg_a, NULL, &uid), STORE_OK);
        assert_int_equal(uid, i);
    }
    mb = mailbox(st, "alice", "INBOX");
    inbox = mb.id;
    uv = mb.uidvalidity;
    assert_int_equal(mb.uidnext, 6);
    assert_int_equal(mb.messages, 5);
    store_mailbox_clear(&mb);

    /* expunging the highest UID does not make it available again */
    uint32_t five = 5, three = 3;
    assert_int_equal(
        store_flags_update(st, "alice", inbox, &five, 1, &del, NULL, NULL, NULL, NULL, &err),
        STORE_OK);
    assert_int_equal(store_expunge(st, "alice", inbox, NULL, 0, &gone, &ngone, &err), STORE_OK);
    assert_int_equal(ngone, 1);
    assert_int_equal(gone[0], 5);
    free(gone);
    assert_int_equal(test_deliver(st, "alice", NULL, msg_a, NULL, &uid), STORE_OK);
    assert_int_equal(uid, 6);
    /* UID EXPUNGE of a message without \Deleted does nothing */
    assert_int_equal(store_expunge(st, "alice", inbox, &three, 1, &gone, &ngone, &err), STORE_OK);
    assert_int_equal(ngone, 0);
    free(gone);
    assert_int_equal(
        store_flags_update(st, "alice", inbox, &three, 1, &del, NULL, NULL, NULL, NULL, &err),
        STORE_OK);
    assert_int_equal(store_expunge(st, "alice", inbox, &three, 1, NULL, NULL, &err), STORE_OK);
    assert_int_equal(test_deliver(st, "alice", NULL, msg_a, NULL, &uid), STORE_OK);
    assert_int_equal(uid, 7);

    mb = mailbox(st, "alice", "INBOX");
    assert_int_equal(mb.uidvalidity, uv); /* stable through all of it */
    assert_int_equal(mb.uidnext, 8);
    assert_int_equal(mb.messages, 5);
    store_mailbox_clear(&mb);

    struct store_msg *msgs;
    size_t n;
    static const uint32_t want[] = {1, 2, 4, 6, 7};
    assert_int_equal(store_msg_list(st, "alice", inbox, 1, 0, &msgs, &n, &err), STORE_OK);
    assert_int_equal(n, 5);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(msgs[i].uid, want[i]);
    store_msg_list_free(&msgs, n);
    assert_int_equal(store_msg_list(st, "alice", inbox, 2, 6, &msgs, &n, &err), STORE_OK);
    assert_int_equal(n, 3);
    assert_int_equal(msgs[0].uid, 2);
    assert_int_equal(msgs[2].uid, 6);
    store_msg_list_free(&msgs, n);
    /* the expunged body files are gone */
    char *home = store_path_home(st, "alice"), *p = store_path_body(home, inbox, 5);
    assert_int_not_equal(access(p, F_OK), 0);
    free(p);
    free(home);
    assert_int_equal(store_msg_list(st, "alice", 999, 1, 0, &msgs, &n, &err), STORE_ENOTFOUND);
}

static void test_quota(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_usage usage;
    size_t size = strlen(msg_a) + 4; /* four LF became CRLF */
    struct store_limits lim = {.bytes = 3 * size, .messages = 0};
    struct store_flag_update del = {STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL, 0};
    uint32_t uid, inbox, one = 1;

    for (int i = 0; i < 3; i++)
        assert_int_equal(test_deliver(st, "q", NULL, msg_a, &lim, &uid), STORE_OK);
    assert_int_equal(test_deliver(st, "q", NULL, msg_a, &lim, &uid), STORE_EQUOTA);
    assert_int_equal(uid, 0);
    assert_int_equal(store_usage_get(st, "q", &usage, &err), STORE_OK);
    assert_int_equal(usage.bytes, 3 * size);
    assert_int_equal(usage.messages, 3);

    /* expunge gives the room back */
    inbox = test_mailbox_id(st, "q", "INBOX");
    assert_int_equal(
        store_flags_update(st, "q", inbox, &one, 1, &del, NULL, NULL, NULL, NULL, &err), STORE_OK);
    assert_int_equal(store_expunge(st, "q", inbox, NULL, 0, NULL, NULL, &err), STORE_OK);
    assert_int_equal(store_usage_get(st, "q", &usage, &err), STORE_OK);
    assert_int_equal(usage.bytes, 2 * size);
    assert_int_equal(test_deliver(st, "q", NULL, msg_a, &lim, &uid), STORE_OK);

    /* copy counts in full and is all or nothing */
    assert_int_equal(store_mailbox_create(st, "q", "Saved", &err), STORE_OK);
    uint32_t saved = test_mailbox_id(st, "q", "Saved"), two[] = {2, 3};
    struct store_limits big = {.bytes = 10 * size, .messages = 5};
    assert_int_equal(store_copy(st, "q", inbox, two, 2, saved, &lim, false, NULL, &err),
                     STORE_EQUOTA);
    assert_int_equal(store_copy(st, "q", inbox, two, 2, saved, &big, false, NULL, &err), STORE_OK);
    assert_int_equal(store_usage_get(st, "q", &usage, &err), STORE_OK);
    assert_int_equal(usage.bytes, 5 * size);
    assert_int_equal(usage.messages, 5);
    /* the message-count limit */
    assert_int_equal(test_deliver(st, "q", NULL, msg_a, &big, &uid), STORE_EQUOTA);
    assert_int_equal(store_copy(st, "q", inbox, &two[0], 1, saved, &big, false, NULL, &err),
                     STORE_EQUOTA);
    /* a move changes nothing in usage, even at the limit */
    assert_int_equal(store_copy(st, "q", inbox, two, 2, saved, &big, true, NULL, &err), STORE_OK);
    assert_int_equal(store_usage_get(st, "q", &usage, &err), STORE_OK);
    assert_int_equal(usage.messages, 5);
    assert_int_equal(usage.bytes, 5 * size);
    struct store_mailbox mb = mailbox(st, "q", "Saved");
    assert_int_equal(mb.messages, 4);
    assert_int_equal(mb.bytes, 4 * size);
    store_mailbox_clear(&mb);
    mb = mailbox(st, "q", "INBOX");
    assert_int_equal(mb.messages, 1);
    store_mailbox_clear(&mb);
}

static void test_missing_mailbox(void **state)
{
    struct store *st = *state;
    struct store_spool *sp;
    struct store_error err;
    struct store_delivery d[2] = {
        {.user = "m", .mailbox = "Lists"},
        {.user = "m", .mailbox = "Lists", .fallback_inbox = true},
    };

    assert_int_equal(store_spool_create(st, &sp, &err), STORE_OK);
    assert_int_equal(store_spool_write(sp, msg_a, strlen(msg_a), &err), STORE_OK);
    assert_int_equal(store_spool_finish(sp, 0, 0, &err), STORE_OK);
    d[0].spool = d[1].spool = sp;
    assert_int_equal(store_deliver(st, d, 2), STORE_ENOTFOUND);
    assert_int_equal(d[0].err.code, STORE_ENOTFOUND);
    assert_int_equal(d[1].err.code, STORE_OK);
    assert_int_equal(d[1].mailbox_id, test_mailbox_id(st, "m", "INBOX"));
    assert_int_equal(d[1].uid, 1);
    store_spool_free(&sp);
}

/* One spool, several recipients: every body is a link to the same inode. */
static void test_multi_recipient(void **state)
{
    struct store *st = *state;
    struct store_spool *sp;
    struct store_error err;
    struct store_limits tiny = {.bytes = 10};
    struct store_delivery d[4] = {
        {.user = "r1"},
        {.user = "R2"},
        {.user = "r1", .mailbox = "inbox"},
        {.user = "r3", .limits = tiny},
    };
    struct stat sb[3];

    assert_int_equal(store_spool_create(st, &sp, &err), STORE_OK);
    assert_int_equal(store_spool_write(sp, msg_a, strlen(msg_a), &err), STORE_OK);
    assert_int_equal(store_spool_finish(sp, 0, 0, &err), STORE_OK);
    for (int i = 0; i < 4; i++)
        d[i].spool = sp;
    assert_int_equal(store_deliver(st, d, 4), STORE_EQUOTA);
    assert_int_equal(d[0].err.code, STORE_OK);
    assert_int_equal(d[1].err.code, STORE_OK);
    assert_int_equal(d[2].err.code, STORE_OK);
    assert_int_equal(d[3].err.code, STORE_EQUOTA);
    assert_int_equal(d[0].uid, 1);
    assert_int_equal(d[2].uid, 2);
    assert_int_equal(d[1].uid, 1);
    store_spool_free(&sp);
    const char *users[] = {"r1", "r2", "r1"};
    for (int i = 0; i < 3; i++) {
        char *home = store_path_home(st, users[i]);
        char *p = store_path_body(home, d[i].mailbox_id, d[i].uid);
        assert_int_equal(stat(p, &sb[i]), 0);
        free(p);
        free(home);
    }
    assert_true(sb[0].st_ino == sb[1].st_ino && sb[1].st_ino == sb[2].st_ino);
    assert_int_equal(sb[0].st_nlink, 3); /* the spool's own name is gone */
    struct store_usage usage;
    assert_int_equal(store_usage_get(st, "r3", &usage, &err), STORE_OK);
    assert_int_equal(usage.messages, 0);
}

static void test_flags_and_modseq(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_mailbox mb;
    struct store_msg *res, *changed;
    uint32_t *modified, *expunged, uids[] = {1, 2, 3, 42};
    size_t nres, nmod, nchanged, nexp;
    uint64_t base;

    for (int i = 0; i < 3; i++)
        assert_int_equal(test_deliver(st, "f", NULL, msg_a, NULL, NULL), STORE_OK);
    mb = mailbox(st, "f", "INBOX");
    uint32_t id = mb.id;
    base = mb.highestmodseq;
    assert_int_equal(mb.unseen, 3);
    store_mailbox_clear(&mb);

    struct store_flag_update seen = {STORE_FLAGS_ADD, STORE_FLAG_SEEN, "$Work", 0};
    assert_int_equal(
        store_flags_update(st, "f", id, uids, 2, &seen, &res, &nres, &modified, &nmod, &err),
        STORE_OK);
    assert_int_equal(nres, 2);
    assert_int_equal(nmod, 0);
    assert_int_equal(res[0].flags, STORE_FLAG_SEEN);
    assert_string_equal(res[0].keywords, "$Work");
    assert_true(res[0].modseq == base + 1 && res[1].modseq == base + 1);
    store_msg_list_free(&res, nres);
    free(modified);
    mb = mailbox(st, "f", "INBOX");
    assert_int_equal(mb.unseen, 1);
    assert_true(mb.highestmodseq == base + 1);
    assert_string_equal(mb.keywords, "$Work");
    store_mailbox_clear(&mb);

    /* a no-op STORE leaves MODSEQ alone */
    assert_int_equal(store_flags_update(st, "f", id, uids, 1, &seen, NULL, NULL, NULL, NULL, &err),
                     STORE_OK);
    mb = mailbox(st, "f", "INBOX");
    assert_true(mb.highestmodseq == base + 1);
    store_mailbox_clear(&mb);

    /* UNCHANGEDSINCE refuses messages changed after it (RFC 7162 3.1.3) */
    struct store_flag_update flag = {STORE_FLAGS_ADD, STORE_FLAG_FLAGGED, NULL, base};
    assert_int_equal(
        store_flags_update(st, "f", id, uids, 4, &flag, &res, &nres, &modified, &nmod, &err),
        STORE_OK);
    assert_int_equal(nmod, 2);
    assert_int_equal(modified[0], 1);
    assert_int_equal(modified[1], 2);
    assert_int_equal(nres, 3); /* 42 does not exist */
    assert_int_equal(res[2].uid, 3);
    assert_int_equal(res[2].flags, STORE_FLAG_FLAGGED);
    store_msg_list_free(&res, nres);
    free(modified);

    /* REPLACE and REMOVE, keywords without regard to case */
    struct store_flag_update repl = {STORE_FLAGS_REPLACE, STORE_FLAG_ANSWERED | STORE_FLAG_DELETED,
                                     "$a $b", 0};
    struct store_flag_update rm = {STORE_FLAGS_REMOVE, STORE_FLAG_ANSWERED, "$A", 0};
    assert_int_equal(
        store_flags_update(st, "f", id, &uids[1], 1, &repl, NULL, NULL, NULL, NULL, &err),
        STORE_OK);
    assert_int_equal(
        store_flags_update(st, "f", id, &uids[1], 1, &rm, &res, &nres, NULL, NULL, &err), STORE_OK);
    assert_int_equal(res[0].flags, STORE_FLAG_DELETED);
    assert_string_equal(res[0].keywords, "$b");
    store_msg_list_free(&res, nres);
    struct store_flag_update bad = {STORE_FLAGS_ADD, 0, "\\Seen", 0};
    assert_int_equal(store_flags_update(st, "f", id, uids, 1, &bad, NULL, NULL, NULL, NULL, &err),
                     STORE_EINVAL);
    mb = mailbox(st, "f", "INBOX");
    assert_int_equal(mb.deleted, 1);
    assert_int_equal(mb.unseen, 2); /* REPLACE dropped \Seen from 2 */
    store_mailbox_clear(&mb);

    /* what changed since base + 1: messages 2 and 3; after an expunge of 2, 2 is vanished */
    assert_int_equal(
        store_msg_changes(st, "f", id, base + 1, &changed, &nchanged, &expunged, &nexp, &err),
        STORE_OK);
    assert_int_equal(nchanged, 2);
    assert_int_equal(changed[0].uid, 2);
    assert_int_equal(changed[1].uid, 3);
    assert_int_equal(nexp, 0);
    store_msg_list_free(&changed, nchanged);
    free(expunged);
    assert_int_equal(store_expunge(st, "f", id, NULL, 0, NULL, NULL, &err), STORE_OK);
    assert_int_equal(
        store_msg_changes(st, "f", id, base + 1, &changed, &nchanged, &expunged, &nexp, &err),
        STORE_OK);
    assert_int_equal(nchanged, 1);
    assert_int_equal(changed[0].uid, 3);
    assert_int_equal(nexp, 1);
    assert_int_equal(expunged[0], 2);
    store_msg_list_free(&changed, nchanged);
    free(expunged);

    /* bounded: the same within the bound, with HIGHESTMODSEQ; past it nothing listed */
    uint64_t highest = 0;
    bool over = true;
    mb = mailbox(st, "f", "INBOX");
    assert_int_equal(store_msg_changes_max(st, "f", id, base + 1, 1, &changed, &nchanged, &expunged,
                                           &nexp, &highest, &over, &err),
                     STORE_OK);
    assert_false(over);
    assert_int_equal(nchanged, 1);
    assert_int_equal(changed[0].uid, 3);
    assert_int_equal(nexp, 1);
    assert_true(highest == mb.highestmodseq);
    store_msg_list_free(&changed, nchanged);
    free(expunged);
    assert_int_equal(store_msg_changes_max(st, "f", id, 0, 1, &changed, &nchanged, &expunged, &nexp,
                                           &highest, &over, &err),
                     STORE_OK);
    assert_true(over);
    assert_true(changed == NULL && nchanged == 0 && expunged == NULL && nexp == 0);
    assert_true(highest == mb.highestmodseq);
    store_mailbox_clear(&mb);
}

static void test_copy_move(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct store_copy_result res;
    struct store_msg m;
    struct store_mime mime;
    uint32_t uids[] = {2, 1, 77};
    struct store_flag_update fl = {STORE_FLAGS_ADD, STORE_FLAG_FLAGGED, "$Keep", 0};

    assert_int_equal(test_deliver(st, "c", NULL, "Subject: one\n\n1\n", NULL, NULL), STORE_OK);
    assert_int_equal(test_deliver(st, "c", NULL, "Subject: two\n\n2\n", NULL, NULL), STORE_OK);
    assert_int_equal(store_mailbox_create(st, "c", "Box", &err), STORE_OK);
    uint32_t inbox = test_mailbox_id(st, "c", "INBOX"), box = test_mailbox_id(st, "c", "Box");
    assert_int_equal(store_flags_update(st, "c", inbox, uids, 1, &fl, NULL, NULL, NULL, NULL, &err),
                     STORE_OK);
    assert_int_equal(store_copy(st, "c", inbox, uids, 3, box, NULL, false, &res, &err), STORE_OK);
    assert_int_equal(res.n, 2);
    assert_int_equal(res.src_uids[0], 1);
    assert_int_equal(res.dst_uids[0], 1);
    assert_int_equal(res.src_uids[1], 2);
    assert_int_equal(res.dst_uids[1], 2);
    struct store_mailbox mb = mailbox(st, "c", "Box");
    assert_int_equal(res.uidvalidity, mb.uidvalidity);
    store_mailbox_clear(&mb);
    store_copy_result_clear(&res);
    /* flags, keywords, date and the cached structure travel with the copy */
    assert_int_equal(store_msg_get(st, "c", box, 2, &m, &err), STORE_OK);
    assert_int_equal(m.flags, STORE_FLAG_FLAGGED);
    assert_string_equal(m.keywords, "$Keep");
    store_msg_clear(&m);
    assert_int_equal(store_msg_get_mime(st, "c", box, 2, &mime, &err), STORE_OK);
    assert_non_null(strstr(mime.envelope, "\"two\""));
    store_mime_clear(&mime);
    char *body = test_body_read(st, "c", box, 1);
    assert_string_equal(body, "Subject: one\r\n\r\n1\r\n");
    free(body);

    /* MOVE: new UIDs in the target, the source expunged */
    assert_int_equal(store_copy(st, "c", inbox, uids, 1, box, NULL, true, &res, &err), STORE_OK);
    assert_int_equal(res.n, 1);
    assert_int_equal(res.dst_uids[0], 3);
    store_copy_result_clear(&res);
    assert_int_equal(store_msg_get(st, "c", inbox, 2, &m, &err), STORE_ENOTFOUND);
    body = test_body_read(st, "c", box, 3);
    assert_string_equal(body, "Subject: two\r\n\r\n2\r\n");
    free(body);
    mb = mailbox(st, "c", "INBOX");
    assert_int_equal(mb.messages, 1);
    store_mailbox_clear(&mb);
    /* copying into the same mailbox makes a new message */
    assert_int_equal(store_copy(st, "c", box, uids, 1, box, NULL, false, &res, &err), STORE_OK);
    assert_int_equal(res.dst_uids[0], 4);
    store_copy_result_clear(&res);
    assert_int_equal(store_copy(st, "c", inbox, uids, 1, 4242, NULL, false, NULL, &err),
                     STORE_ENOTFOUND);
}

/* APPEND: initial flags, keywords and INTERNALDATE, the date also on the file. */
static void test_append(void **state)
{
    struct store *st = *state;
    struct store_spool *sp;
    struct store_error err;
    struct store_msg m;
    struct stat sb;
    struct store_delivery d = {
        .user = "ap", .mailbox = "INBOX", .flags = STORE_FLAG_SEEN, .keywords = "$Draft2"};

    assert_int_equal(store_spool_create(st, &sp, &err), STORE_OK);
    assert_int_equal(store_spool_write(sp, msg_a, strlen(msg_a), &err), STORE_OK);
    assert_int_equal(store_spool_finish(sp, 1000000000, 120, &err), STORE_OK);
    d.spool = sp;
    assert_int_equal(store_deliver(st, &d, 1), STORE_OK);
    store_spool_free(&sp);
    assert_int_equal(store_msg_get(st, "ap", d.mailbox_id, d.uid, &m, &err), STORE_OK);
    assert_int_equal(m.flags, STORE_FLAG_SEEN);
    assert_string_equal(m.keywords, "$Draft2");
    assert_true(m.internaldate == 1000000000);
    assert_int_equal(m.tzoff, 120);
    assert_int_equal(m.header_size, strlen("From: a@example.com\r\nSubject: A\r\n\r\n"));
    int fd;
    assert_int_equal(store_msg_open(st, "ap", &m, &fd, &err), STORE_OK);
    assert_int_equal(fstat(fd, &sb), 0);
    assert_true(sb.st_mtime == 1000000000);
    close(fd);
    store_msg_clear(&m);
    struct store_mailbox mb = mailbox(st, "ap", "INBOX");
    assert_int_equal(mb.unseen, 0);
    store_mailbox_clear(&mb);
    uint32_t first;
    assert_int_equal(store_mailbox_take_recent(st, "ap", d.mailbox_id, &first, &err), STORE_OK);
    assert_int_equal(first, 1);
    assert_int_equal(store_mailbox_take_recent(st, "ap", d.mailbox_id, &first, &err), STORE_OK);
    assert_int_equal(first, 2); /* nothing recent for a second session */
}

struct events {
    char log[1024];
};

static void record_event(const struct store_change *c, void *ctx)
{
    static const char *const kinds[] = {"new", "flags", "expunge", "create", "delete", "rename"};
    struct events *ev = ctx;
    size_t len = strlen(ev->log);

    len += (size_t)snprintf(ev->log + len, sizeof(ev->log) - len, "%s%s %s %u:", len ? "; " : "",
                            kinds[c->kind], c->mailbox, c->messages);
    for (size_t i = 0; i < c->nuids; i++)
        len += (size_t)snprintf(ev->log + len, sizeof(ev->log) - len, "%s%u", i ? "," : "",
                                c->uids[i]);
}

/* MIME records of a range in one read: bounded by max, ascending, skipping expunged UIDs, and
 * found in ascending order; the journalled ones included. */
static void test_mime_range(void **state)
{
    struct store *st = *state;
    struct store_flag_update del = {STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL, 0};
    uint32_t two = 2, *gone;
    struct store_mime_set set;
    struct store_error err;
    size_t ngone;

    for (int i = 0; i < 6; i++)
        assert_int_equal(test_deliver(st, "alice", NULL, msg_a, NULL, NULL), STORE_OK);
    struct store_mailbox mb = mailbox(st, "alice", "INBOX");
    uint32_t id = mb.id;
    store_mailbox_clear(&mb);
    assert_int_equal(
        store_flags_update(st, "alice", id, &two, 1, &del, NULL, NULL, NULL, NULL, &err), STORE_OK);
    assert_int_equal(store_expunge(st, "alice", id, NULL, 0, &gone, &ngone, &err), STORE_OK);
    free(gone);
    assert_int_equal(test_deliver(st, "alice", NULL, msg_a, NULL, NULL), STORE_OK); /* UID 7 */
    assert_int_equal(store_msg_mime_range(st, "alice", id, 1, 6, 3, &set, &err), STORE_OK);
    assert_int_equal(set.n, 3);
    assert_int_equal(set.uids[0], 1);
    assert_int_equal(set.uids[1], 3); /* 2 was expunged */
    assert_int_equal(set.uids[2], 4);
    assert_non_null(store_mime_set_find(&set, 1));
    assert_null(store_mime_set_find(&set, 2));
    assert_non_null(store_mime_set_find(&set, 4));
    assert_non_null(strstr(store_mime_set_find(&set, 4)->envelope, "\"a\""));
    assert_null(store_mime_set_find(&set, 5)); /* beyond what was read */
    store_mime_set_clear(&set);
    assert_int_equal(store_msg_mime_range(st, "alice", id, 5, 0, 100, &set, &err), STORE_OK);
    assert_int_equal(set.n, 3);
    assert_int_equal(set.uids[2], 7);
    store_mime_set_clear(&set);
    /* walking up with store_mime_set_next, 2 records per read: every message is found */
    for (uint32_t uid = 1; uid <= 7; uid++) {
        const struct store_mime *mm = store_mime_set_next(st, "alice", id, uid, 7, 2, &set);
        if (uid == 2)
            assert_null(mm);
        else
            assert_true(mm != NULL && mm->envelope != NULL);
    }
    store_mime_set_clear(&set);
    /* SEARCH's walk: the header fields alone, from one buffer per batch */
    set.hfields_only = true;
    for (uint32_t uid = 1; uid <= 7; uid++) {
        const struct store_mime *mm = store_mime_set_next(st, "alice", id, uid, 7, 2, &set);
        assert_true(set.hfields_only);
        if (uid == 2) {
            assert_null(mm);
            continue;
        }
        assert_true(mm != NULL && mm->envelope == NULL && mm->hfields != NULL);
        assert_true(mm->hfields >= set.arena);
        assert_true(store_hfields_covers(mm->hfields, mm->hfields_len, STORE_HF_SUBJECT));
    }
    store_mime_set_clear(&set);
}

static void test_hook(void **state)
{
    struct store *st = *state;
    struct store_error err;
    struct events ev = {""};
    struct store_flag_update del = {STORE_FLAGS_ADD, STORE_FLAG_DELETED, NULL, 0};
    uint32_t uids[] = {2, 1};

    assert_int_equal(store_home_ensure(st, "h", &err), STORE_OK);
    store_set_commit_hook(st, record_event, &ev);
    assert_int_equal(test_deliver(st, "h", NULL, msg_a, NULL, NULL), STORE_OK);
    assert_int_equal(test_deliver(st, "h", NULL, msg_a, NULL, NULL), STORE_OK);
    uint32_t inbox = test_mailbox_id(st, "h", "INBOX");
    assert_int_equal(
        store_flags_update(st, "h", inbox, uids, 2, &del, NULL, NULL, NULL, NULL, &err), STORE_OK);
    assert_int_equal(
        store_flags_update(st, "h", inbox, uids, 2, &del, NULL, NULL, NULL, NULL, &err),
        STORE_OK); /* nothing changes: no event */
    assert_int_equal(store_expunge(st, "h", inbox, NULL, 0, NULL, NULL, &err), STORE_OK);
    assert_string_equal(ev.log, "new INBOX 1:1; new INBOX 2:2; flags INBOX 2:1,2; "
                                "expunge INBOX 0:1,2");
    /* the first delivery to a new user makes its INBOX in the same commit */
    ev.log[0] = '\0';
    assert_int_equal(test_deliver(st, "fresh", NULL, msg_a, NULL, NULL), STORE_OK);
    assert_string_equal(ev.log, "create INBOX 0:; new INBOX 1:1");
    store_set_commit_hook(st, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_spool_crlf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uid_allocation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_mailbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_recipient, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags_and_modseq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mime_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hook, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
