/* store-mime-v1: a test helper that rewrites every MIME record of a user's INBOX in the first
 * format (ENVELOPE, BODYSTRUCTURE, BODY; no copy of the header fields), as a store written
 * before that copy was kept holds them, so protocol tests can check SEARCH over both. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-key.h"
#include "store-tx.h"

struct v1_ctx {
    uint32_t id;
    struct store_buf *keys; /* the records' keys, then their new values */
    size_t n, cap;
};

static bool collect(const unsigned char *key, size_t klen, const unsigned char *val, size_t vlen,
                    void *vctx)
{
    struct v1_ctx *c = vctx;
    struct store_mime mime;

    if (!store_rec_mime_get(val, vlen, &mime))
        return true; /* left as it is */
    if (c->n + 2 > c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->keys = realloc(c->keys, c->cap * sizeof(*c->keys));
        if (c->keys == NULL)
            abort();
    }
    memset(&c->keys[c->n], 0, 2 * sizeof(*c->keys));
    store_buf_add(&c->keys[c->n], key, klen);
    free(mime.hfields);
    mime.hfields = NULL;
    store_rec_mime_put(&c->keys[c->n + 1], &mime);
    store_mime_clear(&mime);
    c->n += 2;
    return true;
}

static enum store_err rewrite(struct store_tx *tx, void *vctx, struct store_error *err)
{
    struct v1_ctx *c = vctx;
    unsigned char prefix[STORE_KEY_FIXED_MAX];
    size_t plen = store_key_msg(prefix, STORE_KEY_MIME, c->id, 0);
    enum store_err rc = store_tx_scan(tx, prefix, plen, prefix, plen, collect, c, err);

    for (size_t i = 0; rc == STORE_OK && i < c->n; i += 2)
        rc = store_tx_put(tx, c->keys[i].data, c->keys[i].len, c->keys[i + 1].data,
                          c->keys[i + 1].len, err);
    return rc;
}

int main(int argc, char **argv)
{
    struct store *st;
    struct store_error err;
    struct store_mailbox mb;
    struct store_userctx u;
    struct v1_ctx c = {0};
    struct stat sb;

    if (argc != 3) {
        fprintf(stderr, "usage: store-mime-v1 STORE-ROOT USER\n");
        return 2;
    }
    /* as mailuser does: files written stay the store owner's */
    if (geteuid() == 0 &&
        (stat(argv[1], &sb) < 0 || setgid(sb.st_gid) < 0 || setuid(sb.st_uid) < 0)) {
        perror("store-mime-v1: becoming the store's owner");
        return 1;
    }
    if (store_open(argv[1], &st, &err) != STORE_OK ||
        store_mailbox_get(st, argv[2], "INBOX", &mb, &err) != STORE_OK) {
        fprintf(stderr, "store-mime-v1: %s\n", err.msg);
        return 1;
    }
    c.id = mb.id;
    store_mailbox_clear(&mb);
    enum store_err rc = store_userctx_init(&u, st, argv[2], &err);
    if (rc == STORE_OK)
        rc = store_user_tx(&u, STORE_TX_WRITE, rewrite, &c, &err);
    store_userctx_free(&u);
    for (size_t i = 0; i < c.n; i++)
        store_buf_free(&c.keys[i]);
    free(c.keys);
    store_close(&st);
    if (rc != STORE_OK) {
        fprintf(stderr, "store-mime-v1: %s\n", err.msg);
        return 1;
    }
    printf("%zu\n", c.n / 2);
    return 0;
}
