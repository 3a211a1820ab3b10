/* The key and record formats of index.tcb (layout in store/README.md). Pure functions: they
 * touch no file, so the tests and reconstruct use them directly. */
#ifndef HALYARD_STORE_KEY_H
#define HALYARD_STORE_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "store-private.h"

/* The first byte of every key. Numbers after it are big-endian, so Tokyo Cabinet's default
 * lexical order is numeric order and a mailbox's records are one contiguous range. */
enum store_key_type {
    STORE_KEY_COUNTERS = 'C',     /* "C" -> next mailbox id, last UIDVALIDITY */
    STORE_KEY_USAGE = 'U',        /* "U" -> quota usage */
    STORE_KEY_NAME = 'N',         /* 'N' name -> mailbox id */
    STORE_KEY_MAILBOX = 'B',      /* 'B' id -> mailbox record */
    STORE_KEY_MESSAGE = 'M',      /* 'M' id uid -> message record (small, hot) */
    STORE_KEY_MIME = 'E',         /* 'E' id uid -> ENVELOPE / BODYSTRUCTURE (cold) */
    STORE_KEY_MODSEQ = 'S',       /* 'S' id modseq uid -> "" (changes since) */
    STORE_KEY_EXPUNGED = 'X',     /* 'X' id modseq uid -> "" (QRESYNC VANISHED) */
    STORE_KEY_SUBSCRIPTION = 'R', /* 'R' name -> "" */
    STORE_KEY_ACL = 'A',          /* 'A' id identifier -> rights */
    STORE_KEY_ANNOTATION = 'T',   /* 'T' id entry -> value (id 0: user level) */
};

/* Longest fixed-size key: type, id, modseq, uid. */
#define STORE_KEY_FIXED_MAX 17

size_t store_key_singleton(unsigned char *k, enum store_key_type type);
size_t store_key_mailbox(unsigned char *k, uint32_t id);
/* STORE_KEY_MESSAGE or STORE_KEY_MIME; uid 0 gives the prefix of the mailbox (5 bytes). */
size_t store_key_msg(unsigned char *k, enum store_key_type type, uint32_t id, uint32_t uid);
/* STORE_KEY_MODSEQ or STORE_KEY_EXPUNGED. */
size_t store_key_modseq(unsigned char *k, enum store_key_type type, uint32_t id, uint64_t modseq,
                        uint32_t uid);
/* 'N' / 'R' followed by the name bytes; ACL and annotation keys: type, id, then the string. */
void store_key_name(struct store_buf *b, enum store_key_type type, const char *name);
void store_key_id_str(struct store_buf *b, enum store_key_type type, uint32_t id, const char *s);

/* ---- records ---- */

#define STORE_RECORD_VERSION 1

struct store_counters {
    uint32_t next_mailbox_id; /* starts at 1; ids are never reused */
    uint32_t last_uidvalidity;
};

void store_rec_counters_put(struct store_buf *b, const struct store_counters *c);
/* Returns false when the value is malformed. */
bool store_rec_counters_get(const void *v, size_t len, struct store_counters *c);

void store_rec_usage_put(struct store_buf *b, const struct store_usage *u);
bool store_rec_usage_get(const void *v, size_t len, struct store_usage *u);

/* Mailbox record: every field of struct store_mailbox except id (it is in the key). */
void store_rec_mailbox_put(struct store_buf *b, const struct store_mailbox *mb);
bool store_rec_mailbox_get(const void *v, size_t len, uint32_t id, struct store_mailbox *mb);

/* Message record: every field of struct store_msg except uid (in the key). */
void store_rec_msg_put(struct store_buf *b, const struct store_msg *m);
bool store_rec_msg_get(const void *v, size_t len, uint32_t uid, struct store_msg *m);

/* MIME record: version 1 holds ENVELOPE, BODYSTRUCTURE and BODY; version 2 (written when
 * mime->hfields is set) adds the hfields part (store-hfield.h) after them. Both read back. */
#define STORE_MIME_RECORD_VERSION 2
void store_rec_mime_put(struct store_buf *b, const struct store_mime *mime);
bool store_rec_mime_get(const void *v, size_t len, struct store_mime *mime);
/* Only where the hfields part lies in the record (*part_r NULL for a version 1 record); the
 * rest is checked for its framing but not copied. */
bool store_rec_mime_hfields_at(const void *v, size_t len, const unsigned char **part_r,
                               size_t *part_len_r);

#endif
