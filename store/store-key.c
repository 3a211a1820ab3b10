/* Keys and records of index.tcb. Keys are a type byte and big-endian numbers so that Tokyo
 * Cabinet's lexical order groups each mailbox's records and sorts them by UID or MODSEQ. */
#include <stdlib.h>
#include <string.h>

#include "store-key.h"

size_t store_key_singleton(unsigned char *k, enum store_key_type type)
{
    k[0] = (unsigned char)type;
    return 1;
}

size_t store_key_mailbox(unsigned char *k, uint32_t id)
{
    k[0] = STORE_KEY_MAILBOX;
    store_be32_put(k + 1, id);
    return 5;
}

size_t store_key_msg(unsigned char *k, enum store_key_type type, uint32_t id, uint32_t uid)
{
    k[0] = (unsigned char)type;
    store_be32_put(k + 1, id);
    if (uid == 0)
        return 5;
    store_be32_put(k + 5, uid);
    return 9;
}

size_t store_key_modseq(unsigned char *k, enum store_key_type type, uint32_t id, uint64_t modseq,
                        uint32_t uid)
{
    k[0] = (unsigned char)type;
    store_be32_put(k + 1, id);
    store_be64_put(k + 5, modseq);
    store_be32_put(k + 13, uid);
    return 17;
}

void store_key_name(struct store_buf *b, enum store_key_type type, const char *name)
{
    b->len = 0;
    store_buf_u8(b, (uint8_t)type);
    store_buf_adds(b, name);
}

void store_key_id_str(struct store_buf *b, enum store_key_type type, uint32_t id, const char *s)
{
    b->len = 0;
    store_buf_u8(b, (uint8_t)type);
    store_buf_u32(b, id);
    store_buf_adds(b, s);
}

/* Every record starts with a version byte so a later format can be told apart. */
static bool rec_version_ok(struct store_rd *r)
{
    return store_rd_u8(r) == STORE_RECORD_VERSION;
}

void store_rec_counters_put(struct store_buf *b, const struct store_counters *c)
{
    b->len = 0;
    store_buf_u8(b, STORE_RECORD_VERSION);
    store_buf_u32(b, c->next_mailbox_id);
    store_buf_u32(b, c->last_uidvalidity);
}

bool store_rec_counters_get(const void *v, size_t len, struct store_counters *c)
{
    struct store_rd r = {v, len, false};

    if (!rec_version_ok(&r))
        return false;
    c->next_mailbox_id = store_rd_u32(&r);
    c->last_uidvalidity = store_rd_u32(&r);
    return !r.bad;
}

void store_rec_usage_put(struct store_buf *b, const struct store_usage *u)
{
    b->len = 0;
    store_buf_u8(b, STORE_RECORD_VERSION);
    store_buf_u64(b, u->bytes);
    store_buf_u64(b, u->messages);
}

bool store_rec_usage_get(const void *v, size_t len, struct store_usage *u)
{
    struct store_rd r = {v, len, false};

    if (!rec_version_ok(&r))
        return false;
    u->bytes = store_rd_u64(&r);
    u->messages = store_rd_u64(&r);
    return !r.bad;
}

void store_rec_mailbox_put(struct store_buf *b, const struct store_mailbox *mb)
{
    b->len = 0;
    store_buf_u8(b, STORE_RECORD_VERSION);
    store_buf_u32(b, mb->uidvalidity);
    store_buf_u32(b, mb->uidnext);
    store_buf_u32(b, mb->recent_uid);
    store_buf_u64(b, mb->highestmodseq);
    store_buf_u32(b, mb->messages);
    store_buf_u32(b, mb->unseen);
    store_buf_u32(b, mb->deleted);
    store_buf_u64(b, mb->bytes);
    store_buf_str(b, mb->name);
    store_buf_str(b, mb->keywords);
}

bool store_rec_mailbox_get(const void *v, size_t len, uint32_t id, struct store_mailbox *mb)
{
    struct store_rd r = {v, len, false};

    memset(mb, 0, sizeof(*mb));
    if (!rec_version_ok(&r))
        return false;
    mb->id = id;
    mb->uidvalidity = store_rd_u32(&r);
    mb->uidnext = store_rd_u32(&r);
    mb->recent_uid = store_rd_u32(&r);
    mb->highestmodseq = store_rd_u64(&r);
    mb->messages = store_rd_u32(&r);
    mb->unseen = store_rd_u32(&r);
    mb->deleted = store_rd_u32(&r);
    mb->bytes = store_rd_u64(&r);
    mb->name = store_rd_str(&r, false);
    mb->keywords = store_rd_str(&r, false);
    if (r.bad || r.left != 0 || mb->name == NULL || mb->keywords == NULL) {
        store_mailbox_clear(mb);
        return false;
    }
    return true;
}

void store_rec_msg_put(struct store_buf *b, const struct store_msg *m)
{
    b->len = 0;
    store_buf_u8(b, STORE_RECORD_VERSION);
    store_buf_u32(b, m->flags);
    store_buf_u64(b, (uint64_t)m->internaldate);
    store_buf_u32(b, (uint32_t)m->tzoff);
    store_buf_u64(b, m->size);
    store_buf_u64(b, m->modseq);
    store_buf_u32(b, m->header_size);
    store_buf_u32(b, m->body_mailbox);
    store_buf_u32(b, m->body_uid);
    store_buf_str(b, m->keywords);
}

/* The fixed part of a message record: version, flags, INTERNALDATE, zone, size, MODSEQ,
 * header size, body mailbox and UID, keyword length. */
#define MSG_REC_FIXED (1 + 4 + 8 + 4 + 8 + 8 + 4 + 4 + 4 + 4)

/* Decoded field by field at fixed offsets: a SELECT or FETCH over a large mailbox decodes one
 * record per message, so this avoids the bounds-checked reader's call per field. */
bool store_rec_msg_get(const void *v, size_t len, uint32_t uid, struct store_msg *m)
{
    const unsigned char *p = v;
    uint32_t kwlen;

    memset(m, 0, sizeof(*m));
    if (len < MSG_REC_FIXED || p[0] != STORE_RECORD_VERSION)
        return false;
    kwlen = store_be32_get(p + 45);
    if (len - MSG_REC_FIXED != kwlen)
        return false;
    m->uid = uid;
    m->flags = store_be32_get(p + 1);
    m->internaldate = (int64_t)store_be64_get(p + 5);
    m->tzoff = (int32_t)store_be32_get(p + 13);
    m->size = store_be64_get(p + 17);
    m->modseq = store_be64_get(p + 25);
    m->header_size = store_be32_get(p + 33);
    m->body_mailbox = store_be32_get(p + 37);
    m->body_uid = store_be32_get(p + 41);
    if (kwlen > 0) {
        m->keywords = malloc((size_t)kwlen + 1);
        if (m->keywords == NULL)
            abort();
        memcpy(m->keywords, p + MSG_REC_FIXED, kwlen);
        m->keywords[kwlen] = '\0';
    }
    return true;
}

void store_rec_mime_put(struct store_buf *b, const struct store_mime *mime)
{
    b->len = 0;
    store_buf_u8(b, mime->hfields != NULL ? STORE_MIME_RECORD_VERSION : STORE_RECORD_VERSION);
    store_buf_str(b, mime->envelope);
    store_buf_str(b, mime->bodystructure);
    store_buf_str(b, mime->body);
    if (mime->hfields != NULL) {
        store_buf_u32(b, (uint32_t)mime->hfields_len);
        store_buf_add(b, mime->hfields, mime->hfields_len);
    }
}

/* The hfields part of a version 2 record as a new buffer (NUL-terminated, for the strings'
 * sake); a version 1 record has none. */
static void rec_mime_hfields(struct store_rd *r, uint8_t version, struct store_mime *mime)
{
    const unsigned char *p;

    if (version != STORE_MIME_RECORD_VERSION)
        return;
    p = store_rd_blob(r, &mime->hfields_len);
    if (p == NULL)
        return;
    mime->hfields = malloc(mime->hfields_len + 1);
    if (mime->hfields == NULL)
        abort();
    memcpy(mime->hfields, p, mime->hfields_len);
    mime->hfields[mime->hfields_len] = '\0';
}

bool store_rec_mime_get(const void *v, size_t len, struct store_mime *mime)
{
    struct store_rd r = {v, len, false};
    uint8_t version = store_rd_u8(&r);

    memset(mime, 0, sizeof(*mime));
    if (version != STORE_RECORD_VERSION && version != STORE_MIME_RECORD_VERSION)
        return false;
    mime->envelope = store_rd_str(&r, false);
    mime->bodystructure = store_rd_str(&r, false);
    mime->body = store_rd_str(&r, false);
    rec_mime_hfields(&r, version, mime);
    if (r.bad || r.left != 0) {
        store_mime_clear(mime);
        return false;
    }
    return true;
}

bool store_rec_mime_hfields_at(const void *v, size_t len, const unsigned char **part_r,
                               size_t *part_len_r)
{
    struct store_rd r = {v, len, false};
    uint8_t version = store_rd_u8(&r);
    size_t skip;

    *part_r = NULL;
    *part_len_r = 0;
    if (version != STORE_RECORD_VERSION && version != STORE_MIME_RECORD_VERSION)
        return false;
    for (int i = 0; i < 3; i++) /* ENVELOPE, BODYSTRUCTURE, BODY */
        store_rd_blob(&r, &skip);
    if (version == STORE_MIME_RECORD_VERSION)
        *part_r = store_rd_blob(&r, part_len_r);
    if (r.bad || r.left != 0) {
        *part_r = NULL;
        *part_len_r = 0;
        return false;
    }
    return true;
}
