/* Record-level work inside a user's transaction: mailbox, message and usage records, the
 * modseq index and tombstones, and the per-mailbox sidecar file reconstruct reads. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store-tx.h"

enum store_err store_mbx_lookup(struct store_tx *tx, const char *canon, uint32_t *id_r,
                                struct store_error *err)
{
    struct store_buf k = {0};
    void *v;
    size_t len;
    enum store_err rc;

    store_key_name(&k, STORE_KEY_NAME, canon);
    rc = store_tx_get(tx, k.data, k.len, &v, &len, err);
    store_buf_free(&k);
    if (rc == STORE_ENOTFOUND)
        return store_fail(err, STORE_ENOTFOUND, "no mailbox %s", canon);
    if (rc != STORE_OK)
        return rc;
    if (len != 4) {
        free(v);
        return store_fail(err, STORE_EIO, "index: malformed name record for %s", canon);
    }
    *id_r = store_be32_get(v);
    free(v);
    return STORE_OK;
}

enum store_err store_mbx_load(struct store_tx *tx, uint32_t id, struct store_mailbox *mb,
                              struct store_error *err)
{
    unsigned char k[STORE_KEY_FIXED_MAX];
    void *v;
    size_t len;
    enum store_err rc = store_tx_get(tx, k, store_key_mailbox(k, id), &v, &len, err);

    memset(mb, 0, sizeof(*mb));
    if (rc == STORE_ENOTFOUND)
        return store_fail(err, STORE_ENOTFOUND, "no mailbox with id %u", id);
    if (rc != STORE_OK)
        return rc;
    if (!store_rec_mailbox_get(v, len, id, mb))
        rc = store_fail(err, STORE_EIO, "index: malformed mailbox record %u", id);
    free(v);
    return rc;
}

enum store_err store_mbx_save(struct store_tx *tx, const struct store_mailbox *mb,
                              struct store_error *err)
{
    unsigned char k[STORE_KEY_FIXED_MAX];
    struct store_buf v = {0};
    enum store_err rc;

    store_rec_mailbox_put(&v, mb);
    rc = store_tx_put(tx, k, store_key_mailbox(k, mb->id), v.data, v.len, err);
    store_buf_free(&v);
    return rc;
}

static enum store_err counters_load(struct store_tx *tx, struct store_counters *c,
                                    struct store_error *err)
{
    unsigned char k[1];
    void *v;
    size_t len;
    enum store_err rc =
        store_tx_get(tx, k, store_key_singleton(k, STORE_KEY_COUNTERS), &v, &len, err);

    if (rc == STORE_ENOTFOUND) { /* a new index */
        c->next_mailbox_id = 1;
        c->last_uidvalidity = 0;
        return STORE_OK;
    }
    if (rc != STORE_OK)
        return rc;
    if (!store_rec_counters_get(v, len, c))
        rc = store_fail(err, STORE_EIO, "index: malformed counters record");
    free(v);
    return rc;
}

enum store_err store_sidecar_write(const char *home, const struct store_mailbox *mb,
                                   struct store_error *err)
{
    char *dir = store_path_mailbox_dir(home, mb->id);
    char *tmp = store_path_join(dir, "mailbox.tmp"), *final = store_path_join(dir, "mailbox");
    enum store_err rc = STORE_OK;
    FILE *f = fopen(tmp, "we");

    if (f == NULL) {
        rc = store_fail_errno(err, errno, "create %s", tmp);
        goto out;
    }
    fprintf(f, "halyard-mailbox 1\nuidvalidity %u\nname %s\n", mb->uidvalidity, mb->name);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        rc = store_fail_errno(err, errno, "write %s", tmp);
        fclose(f);
        goto out;
    }
    if (fclose(f) != 0) {
        rc = store_fail_errno(err, errno, "write %s", tmp);
        goto out;
    }
    if (rename(tmp, final) != 0)
        rc = store_fail_errno(err, errno, "rename %s", tmp);
    else
        rc = store_fsync_dir(dir, err);
out:
    free(dir);
    free(tmp);
    free(final);
    return rc;
}

/* Whether a mailbox directory holds anything but its sidecar. */
static bool store_dir_holds_messages(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    bool found = false;

    if (d == NULL)
        return errno != ENOENT; /* cannot look: assume the worst */
    while (!found && (e = readdir(d)) != NULL)
        found = strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
                strncmp(e->d_name, "mailbox", 7) != 0;
    closedir(d);
    return found;
}

enum store_err store_mbx_new(struct store_tx *tx, const struct store_userctx *u, const char *canon,
                             struct store_mailbox *mb_r, struct store_error *err)
{
    struct store_counters c;
    struct store_buf k = {0}, v = {0};
    unsigned char idbuf[4];
    enum store_err rc;
    uint32_t now = (uint32_t)time(NULL);
    char *dir;

    memset(mb_r, 0, sizeof(*mb_r));
    rc = counters_load(tx, &c, err);
    if (rc != STORE_OK)
        return rc;
    if (c.next_mailbox_id == UINT32_MAX)
        return store_fail(err, STORE_EINVAL, "mailbox ids exhausted");
    mb_r->id = c.next_mailbox_id++;
    /* UIDVALIDITY only ever grows within a user (RFC 3501 2.3.1.1: a recreated name must get a
     * greater one); the clock keeps it plausible across a rebuilt index. */
    mb_r->uidvalidity = now > c.last_uidvalidity ? now : c.last_uidvalidity + 1;
    c.last_uidvalidity = mb_r->uidvalidity;
    mb_r->uidnext = 1;
    mb_r->highestmodseq = 1;
    mb_r->name = strdup(canon);
    mb_r->keywords = strdup("");
    if (mb_r->name == NULL || mb_r->keywords == NULL)
        abort();

    /* The directory exists before the record that names it. One left by a crash with this id
     * was never committed, so it holds at most its sidecar: nothing can have been delivered into
     * a mailbox that was never committed. A directory with messages in it means the index was
     * lost (deleted, or replaced by an empty one): clearing it would destroy mail, so refuse and
     * leave the home to reconstruct. */
    dir = store_path_mailbox_dir(u->home, mb_r->id);
    if (mkdir(dir, 0750) != 0) {
        if (errno != EEXIST)
            rc = store_fail_errno(err, errno, "mkdir %s", dir);
        else if (store_dir_holds_messages(dir))
            rc = store_fail(err, STORE_EIO,
                            "%s holds messages the index does not know (index lost?): run "
                            "reconstruct %s",
                            dir, u->user);
        else if ((rc = store_remove_tree(dir, err)) == STORE_OK && mkdir(dir, 0750) != 0)
            rc = store_fail_errno(err, errno, "mkdir %s", dir);
    }
    free(dir);
    if (rc == STORE_OK)
        rc = store_sidecar_write(u->home, mb_r, err);
    if (rc == STORE_OK)
        rc = store_fsync_dir(u->home, err);

    if (rc == STORE_OK) {
        store_rec_counters_put(&v, &c);
        k.len = 0;
        store_buf_u8(&k, STORE_KEY_COUNTERS);
        rc = store_tx_put(tx, k.data, k.len, v.data, v.len, err);
    }
    if (rc == STORE_OK) {
        store_key_name(&k, STORE_KEY_NAME, canon);
        store_be32_put(idbuf, mb_r->id);
        rc = store_tx_put(tx, k.data, k.len, idbuf, 4, err);
    }
    if (rc == STORE_OK)
        rc = store_mbx_save(tx, mb_r, err);
    store_buf_free(&k);
    store_buf_free(&v);
    if (rc != STORE_OK)
        store_mailbox_clear(mb_r);
    return rc;
}

enum store_err store_usage_load(struct store_tx *tx, struct store_usage *usage,
                                struct store_error *err)
{
    unsigned char k[1];
    void *v;
    size_t len;
    enum store_err rc = store_tx_get(tx, k, store_key_singleton(k, STORE_KEY_USAGE), &v, &len, err);

    memset(usage, 0, sizeof(*usage));
    if (rc == STORE_ENOTFOUND)
        return STORE_OK;
    if (rc != STORE_OK)
        return rc;
    if (!store_rec_usage_get(v, len, usage))
        rc = store_fail(err, STORE_EIO, "index: malformed usage record");
    free(v);
    return rc;
}

enum store_err store_usage_save(struct store_tx *tx, const struct store_usage *usage,
                                struct store_error *err)
{
    unsigned char k[1];
    struct store_buf v = {0};
    enum store_err rc;

    store_rec_usage_put(&v, usage);
    rc = store_tx_put(tx, k, store_key_singleton(k, STORE_KEY_USAGE), v.data, v.len, err);
    store_buf_free(&v);
    return rc;
}

enum store_err store_msgrec_load(struct store_tx *tx, uint32_t id, uint32_t uid,
                                 struct store_msg *m, struct store_error *err)
{
    unsigned char k[STORE_KEY_FIXED_MAX];
    void *v;
    size_t len;
    enum store_err rc =
        store_tx_get(tx, k, store_key_msg(k, STORE_KEY_MESSAGE, id, uid), &v, &len, err);

    memset(m, 0, sizeof(*m));
    if (rc != STORE_OK)
        return rc;
    if (!store_rec_msg_get(v, len, uid, m))
        rc = store_fail(err, STORE_EIO, "index: malformed message record %u/%u", id, uid);
    free(v);
    return rc;
}

enum store_err store_msgrec_save(struct store_tx *tx, uint32_t id, const struct store_msg *m,
                                 uint64_t old_modseq, struct store_error *err)
{
    unsigned char k[STORE_KEY_FIXED_MAX];
    struct store_buf v = {0};
    enum store_err rc;

    store_rec_msg_put(&v, m);
    rc = store_tx_put(tx, k, store_key_msg(k, STORE_KEY_MESSAGE, id, m->uid), v.data, v.len, err);
    store_buf_free(&v);
    if (rc == STORE_OK && old_modseq != 0 && old_modseq != m->modseq)
        rc =
            store_tx_del(tx, k, store_key_modseq(k, STORE_KEY_MODSEQ, id, old_modseq, m->uid), err);
    if (rc == STORE_OK && old_modseq != m->modseq)
        rc = store_tx_put(tx, k, store_key_modseq(k, STORE_KEY_MODSEQ, id, m->modseq, m->uid), "",
                          0, err);
    return rc;
}

enum store_err store_msgrec_expunge(struct store_tx *tx, uint32_t id, const struct store_msg *m,
                                    uint64_t modseq, struct store_error *err)
{
    unsigned char k[STORE_KEY_FIXED_MAX];
    enum store_err rc;

    rc = store_tx_del(tx, k, store_key_msg(k, STORE_KEY_MESSAGE, id, m->uid), err);
    if (rc == STORE_OK)
        rc = store_tx_del(tx, k, store_key_msg(k, STORE_KEY_MIME, id, m->uid), err);
    if (rc == STORE_OK)
        rc = store_tx_del(tx, k, store_key_modseq(k, STORE_KEY_MODSEQ, id, m->modseq, m->uid), err);
    if (rc == STORE_OK)
        rc = store_tx_put(tx, k, store_key_modseq(k, STORE_KEY_EXPUNGED, id, modseq, m->uid), "", 0,
                          err);
    return rc;
}

void store_mbx_count_add(struct store_mailbox *mb, const struct store_msg *m)
{
    mb->messages++;
    mb->bytes += m->size;
    if (!(m->flags & STORE_FLAG_SEEN))
        mb->unseen++;
    if (m->flags & STORE_FLAG_DELETED)
        mb->deleted++;
}

void store_mbx_count_remove(struct store_mailbox *mb, const struct store_msg *m)
{
    mb->messages--;
    mb->bytes -= m->size;
    if (!(m->flags & STORE_FLAG_SEEN))
        mb->unseen--;
    if (m->flags & STORE_FLAG_DELETED)
        mb->deleted--;
}
