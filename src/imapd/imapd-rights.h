/* RFC 4314 rights and Sun's shared-folder names, as pure functions of their text: rights
 * strings to masks and back, a user's rights from a mailbox's ACL, what a set of rights allows
 * a SELECT and a STORE, and where a client's mailbox name points. No store, no socket. */
#ifndef HALYARD_IMAPD_RIGHTS_H
#define HALYARD_IMAPD_RIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* RFC 4314 2.1, in its order: right imap_rights[i] is bit i of a mask. */
extern const char imap_rights[];
#define IMAP_RIGHTS_ALL 0x7ffu
enum {
    IMAP_RIGHT_L = 1u << 0,  /* lookup: LIST shows it */
    IMAP_RIGHT_R = 1u << 1,  /* read: SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY from */
    IMAP_RIGHT_S = 1u << 2,  /* keep \Seen */
    IMAP_RIGHT_W = 1u << 3,  /* write the other flags and keywords */
    IMAP_RIGHT_I = 1u << 4,  /* insert: APPEND, COPY into */
    IMAP_RIGHT_P = 1u << 5,  /* post (mail to the mailbox; nothing in IMAP) */
    IMAP_RIGHT_K = 1u << 6,  /* create mailboxes inside it */
    IMAP_RIGHT_X = 1u << 7,  /* delete (and rename) it */
    IMAP_RIGHT_T = 1u << 8,  /* \Deleted */
    IMAP_RIGHT_E = 1u << 9,  /* expunge */
    IMAP_RIGHT_A = 1u << 10, /* administer: SETACL, DELETEACL, GETACL, LISTRIGHTS */
};
unsigned imap_right_bit(char c);

/* A rights string into a mask; the obsolete c and d stand for their members (RFC 4314 2.1.1,
 * as servers that use x for DELETE read them: c = k, d = xte). Returns false with *bad_r set
 * to the first letter that is no right. */
bool imap_rights_parse(const char *str, size_t len, unsigned *mask_r, char *bad_r);

/* The letters of mask in RFC order (out holds 16 bytes); with virtual, also c and d when one
 * of their members is set (RFC 4314 2.1.1: ACL and MYRIGHTS answers include them). */
void imap_rights_format(unsigned mask, bool virtual, char out[16]);

/* The rights user (canonical, lower case) holds from the entries of acl whose mailbox_id is
 * mailbox_id (RFC 4314 2): the union of the entries naming the user, "anyone" and Sun's
 * "anyone@domain" for the user's domain, less the union of the negative entries ("-" then
 * one of those identifiers). Identifiers compare without regard to case. The owner's rights
 * are the caller's business. */
unsigned imap_rights_effective(const struct store_acl *acl, size_t n, uint32_t mailbox_id,
                               const char *user);

/* RFC 4314 5.2: a SELECT is read-write when the user holds i, e or one of the rights that
 * change flags other users see (here s, w and t: every flag is shared). */
bool imap_rights_writable(unsigned mask);

/* The system flags (STORE_FLAG_*) a user with mask may set or clear (RFC 4314 4: \Seen needs
 * s, \Deleted t, the others w); keywords need w. */
uint32_t imap_rights_flags(unsigned mask);

/* ---- the shared-folder namespace (Sun's "Shared Folders/User/<owner>/<mailbox>") ---- */

#define IMAP_SHARED_ROOT   "Shared Folders"
#define IMAP_SHARED_PREFIX "Shared Folders/User/"

enum imap_name_kind {
    IMAP_NAME_PERSONAL, /* the user's own mailbox: name as given */
    IMAP_NAME_SHARED,   /* another user's: owner and the name in the owner's store */
    IMAP_NAME_LEVEL,    /* "Shared Folders", "Shared Folders/User", ".../<owner>": no mailbox */
    IMAP_NAME_NONE,     /* under "Shared Folders" but nothing there can exist */
};

/* Where name (UTF-8, as the client gave it) points: for IMAP_NAME_SHARED and an owner level,
 * the owner's name is at *owner_r (*owner_len_r bytes, as given: the caller canonicalises it)
 * and, for a mailbox, the name in the owner's store at *rest_r; for IMAP_NAME_PERSONAL
 * *rest_r is name. */
enum imap_name_kind imap_name_split(const char *name, const char **owner_r, size_t *owner_len_r,
                                    const char **rest_r);

/* Whether an IMAP LIST pattern can match a name under "Shared Folders" (so the shared
 * mailboxes need to be looked for). */
bool imap_pattern_reaches_shared(const char *pattern);

#endif
