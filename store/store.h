/* The message store: per-user Tokyo Cabinet index plus immutable body files (store/README.md has
 * the on-disk layout). Every daemon and tool reaches mail only through this API. */
#ifndef HALYARD_STORE_H
#define HALYARD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Errors. Every function that can fail returns one of these and, when err is not NULL, fills
 * err with the same code and a one-line message (no secrets, no trailing newline). */
enum store_err {
    STORE_OK = 0,
    STORE_ENOTFOUND, /* user, mailbox or message does not exist */
    STORE_EEXIST,    /* mailbox or user already exists */
    STORE_ECHILDREN, /* mailbox has inferior mailboxes (IMAP [HASCHILDREN]) */
    STORE_EQUOTA,    /* the user's storage or message-count quota would be exceeded */
    STORE_ENOSPC,    /* the file system is full (ENOSPC) or its disk quota hit (EDQUOT) */
    STORE_EBUSY,     /* the index stayed locked past the retry bound (try again later) */
    STORE_EIO,       /* any other system or Tokyo Cabinet failure */
    STORE_EINVAL,    /* bad argument: name syntax, INBOX rules, UID space exhausted */
    STORE_EDENIED,   /* password check failed */
};

#define STORE_ERRMSG_MAX 256

struct store_error {
    enum store_err code;
    char msg[STORE_ERRMSG_MAX];
};

/* A short fixed name for code ("not found", "over quota", ...). */
const char *store_err_name(enum store_err code);

/* ---- The store handle ------------------------------------------------------------------- */

struct store;

/* Opens the store rooted at root (the parameter store.partition.primary.path), creating root,
 * root/tmp and root/user when missing. The handle holds no file or lock: it may be shared by
 * all threads of a process once the store_set_* calls are done. */
enum store_err store_open(const char *root, struct store **st_r, struct store_error *err);
void store_close(struct store **st);
const char *store_root(const struct store *st);

/* How long one call may wait for an index lock (retrying with back-off) before failing with
 * STORE_EBUSY. Default STORE_LOCK_TIMEOUT_MS. */
#define STORE_LOCK_TIMEOUT_MS 5000
void store_set_lock_timeout(struct store *st, unsigned ms);

/* ---- Commit hook ------------------------------------------------------------------------ */

enum store_change_kind {
    STORE_CHANGE_NEW,     /* messages delivered, appended, copied or moved in */
    STORE_CHANGE_FLAGS,   /* flags or keywords changed */
    STORE_CHANGE_EXPUNGE, /* messages removed */
    STORE_CHANGE_MAILBOX_CREATE,
    STORE_CHANGE_MAILBOX_DELETE,
    STORE_CHANGE_MAILBOX_RENAME,
};

/* One committed change. Everything points into memory that lives only during the hook call. */
struct store_change {
    enum store_change_kind kind;
    const char *user;        /* canonical (lower-case) user name */
    const char *mailbox;     /* mailbox name after the change */
    const char *old_mailbox; /* RENAME: the name before; otherwise NULL */
    uint32_t mailbox_id, uidvalidity, uidnext;
    uint64_t modseq;   /* the mailbox's HIGHESTMODSEQ after the change */
    uint32_t messages; /* counts after the change */
    uint32_t unseen, deleted;
    const uint32_t *uids; /* NEW, FLAGS, EXPUNGE: the UIDs concerned, ascending */
    size_t nuids;
    bool appended;     /* NEW: put there by a client (APPEND, COPY, MOVE), not delivered */
    uint32_t flags_on; /* FLAGS: the STORE_FLAG_* some message gained */
};

typedef void store_hook_fn(const struct store_change *change, void *ctx);

/* hook runs after every committed change, on the thread that made it, after the index lock is
 * released (so it may call the store). One call per mailbox touched. NULL removes it. */
void store_set_commit_hook(struct store *st, store_hook_fn *hook, void *ctx);

/* ---- Names ------------------------------------------------------------------------------ */

/* Mailbox names use '/' as hierarchy separator and are stored byte for byte as given (modified
 * UTF-7 is the IMAP layer's business). A valid name is 1..STORE_NAME_MAX bytes, has no empty
 * component (no leading, trailing or doubled '/'), no control character and no '%' or '*'.
 * A first component spelt "inbox" in any case is INBOX. */
#define STORE_NAME_MAX 1000

/* Checks name and returns its canonical spelling in *canon_r (caller frees). STORE_EINVAL. */
enum store_err store_name_canon(const char *name, char **canon_r, struct store_error *err);

/* IMAP LIST matching: '*' matches anything, '%' anything but '/'. INBOX is matched without
 * regard to case. */
bool store_name_match(const char *pattern, const char *name);

/* User names: 1..STORE_USER_MAX bytes of [A-Za-z0-9._@-], not starting with '.' or '-'; they
 * are case-insensitive and kept in lower case. canon_r must hold STORE_USER_MAX + 1 bytes. */
#define STORE_USER_MAX 128
enum store_err store_user_canon(const char *user, char *canon_r, struct store_error *err);

/* ---- A user's mail (home) --------------------------------------------------------------- */

/* Creates the user's folder and INBOX when missing (idempotent, cheap when they exist).
 * Delivery calls it itself; IMAP/POP call it at login. */
enum store_err store_home_ensure(struct store *st, const char *user, struct store_error *err);

/* Whether the user's folder exists (STORE_OK) or not (STORE_ENOTFOUND). */
enum store_err store_home_exists(struct store *st, const char *user, struct store_error *err);

/* Deletes every mailbox and message of the user (the folder is renamed away first, so a
 * concurrent reader sees all or nothing). */
enum store_err store_home_remove(struct store *st, const char *user, struct store_error *err);

struct store_usage {
    uint64_t bytes, messages; /* sum of RFC822.SIZE and count over all mailboxes */
};

/* Current quota usage; a user without a folder uses nothing. */
enum store_err store_usage_get(struct store *st, const char *user, struct store_usage *usage_r,
                               struct store_error *err);

/* Quota limits come from the user directory (the embedded user table or LDAP mailQuota), so
 * callers pass them in; 0 means unlimited. */
struct store_limits {
    uint64_t bytes, messages;
};

/* ---- Mailboxes -------------------------------------------------------------------------- */

struct store_mailbox {
    uint32_t id; /* never reused within a user; stable across RENAME */
    uint32_t uidvalidity, uidnext;
    uint32_t recent_uid; /* UIDs above this are \Recent (see store_mailbox_take_recent) */
    uint64_t highestmodseq;
    uint32_t messages, unseen, deleted; /* deleted: messages with \Deleted */
    uint64_t bytes;
    char *name;     /* owned */
    char *keywords; /* owned; keywords used in this mailbox, space-separated, "" when none */
};

/* Frees the strings of mb (not mb itself) and zeroes it. */
void store_mailbox_clear(struct store_mailbox *mb);
void store_mailbox_list_free(struct store_mailbox **mbs, size_t n);

/* Lookup by name (canonicalised here) or by id. STORE_ENOTFOUND when absent. */
enum store_err store_mailbox_get(struct store *st, const char *user, const char *name,
                                 struct store_mailbox *mb_r, struct store_error *err);
enum store_err store_mailbox_get_id(struct store *st, const char *user, uint32_t id,
                                    struct store_mailbox *mb_r, struct store_error *err);

/* Creates name and any missing superior mailboxes (RFC 3501 6.3.3). STORE_EEXIST when name
 * exists. */
enum store_err store_mailbox_create(struct store *st, const char *user, const char *name,
                                    struct store_error *err);

/* Deletes name with its messages. INBOX cannot be deleted (STORE_EINVAL); a mailbox with
 * inferiors is refused with STORE_ECHILDREN (delete them first). */
enum store_err store_mailbox_delete(struct store *st, const char *user, const char *name,
                                    struct store_error *err);

/* RFC 3501 RENAME: inferiors follow, missing superiors of to are created; renaming INBOX moves
 * its messages to `to` and leaves a new empty INBOX (inferiors of INBOX stay). STORE_EEXIST if
 * `to` exists, STORE_EINVAL if `to` is inside `from`. */
enum store_err store_mailbox_rename(struct store *st, const char *user, const char *from,
                                    const char *to, struct store_error *err);

/* Mailboxes whose names match pattern (NULL: all), sorted by name bytes. *mbs_r is owned by
 * the caller (store_mailbox_list_free); a user without a folder has none. */
enum store_err store_mailbox_list(struct store *st, const char *user, const char *pattern,
                                  struct store_mailbox **mbs_r, size_t *n_r,
                                  struct store_error *err);

/* Claims \Recent for this session: returns the first UID that is recent for the caller (all
 * UIDs >= it), and marks every current message as no longer recent for later sessions. */
enum store_err store_mailbox_take_recent(struct store *st, const char *user, uint32_t id,
                                         uint32_t *first_recent_r, struct store_error *err);

/* ---- Subscriptions, ACLs, annotations --------------------------------------------------- */

/* Subscriptions are names (a subscribed name need not exist, RFC 3501 6.3.6). */
enum store_err store_subscribe(struct store *st, const char *user, const char *name, bool on,
                               struct store_error *err);
enum store_err store_subscriptions_list(struct store *st, const char *user, char ***names_r,
                                        size_t *n_r, struct store_error *err);
void store_strings_free(char ***v, size_t n);

struct store_acl {
    uint32_t mailbox_id;
    char *identifier, *rights; /* owned */
};

/* rights NULL or "" removes identifier's entry. ACLs belong to the mailbox id (they follow a
 * RENAME and go with DELETE). Identifiers are kept in lower case (user names and "anyone" are
 * case-insensitive). Each change also updates the store's sharing index (store_share_owners). */
enum store_err store_acl_set(struct store *st, const char *user, uint32_t mailbox_id,
                             const char *identifier, const char *rights, struct store_error *err);
/* The entries of mailbox_id, or with mailbox_id 0 those of every mailbox of the user, ordered
 * by mailbox id then identifier bytes. A user without a folder has none. */
enum store_err store_acl_list(struct store *st, const char *user, uint32_t mailbox_id,
                              struct store_acl **acl_r, size_t *n_r, struct store_error *err);
void store_acl_list_free(struct store_acl **acl, size_t n);

/* Sharing index (Sun's lright): which owners gave an identifier an ACL entry on one of their
 * mailboxes, so that a user's LIST finds what others shared without reading every index. It is
 * a hint written after the owner's ACL commits: the owner's ACL decides, an owner listed for
 * nothing is dropped from it once store_acl_set removes the last entry (a crash between the
 * two commits leaves the share out of the index until the entry is set again). Owners of any
 * of ids (lower-case identifiers), sorted and unique; *owners_r is caller-owned
 * (store_strings_free). */
enum store_err store_share_owners(struct store *st, const char *const *ids, size_t nids,
                                  char ***owners_r, size_t *n_r, struct store_error *err);
/* Every (identifier, owner) pair of the index, for the administrator's tools: ids_r[i] shared
 * by owners_r[i], sorted by identifier then owner. Both caller-owned (store_strings_free). */
enum store_err store_share_list(struct store *st, char ***ids_r, char ***owners_r, size_t *n_r,
                                struct store_error *err);
/* Makes the index agree with owner's ACLs (reconstruct): report(id, added, ctx) for each
 * identifier the ACLs name and the index lacks (added true) or the index names and no entry
 * does (added false); with repair they are added or dropped. *changes_r counts them. */
typedef void store_share_report_fn(const char *id, bool added, void *ctx);
enum store_err store_share_sync(struct store *st, const char *owner, bool repair,
                                store_share_report_fn *report, void *ctx, unsigned *changes_r,
                                struct store_error *err);

/* Annotations / METADATA (RFC 5464): entry is e.g. "/private/comment"; mailbox_id 0 means the
 * user (server) level. value NULL removes. */
enum store_err store_annotation_set(struct store *st, const char *user, uint32_t mailbox_id,
                                    const char *entry, const char *value, struct store_error *err);
/* *value_r is owned by the caller; STORE_ENOTFOUND when unset. */
enum store_err store_annotation_get(struct store *st, const char *user, uint32_t mailbox_id,
                                    const char *entry, char **value_r, struct store_error *err);

struct store_annotation {
    uint32_t mailbox_id; /* 0: the user level */
    char *entry, *value; /* owned */
};

/* The annotations of mailbox_id (0: the user level), or with every_mailbox those of the user
 * level and of all mailboxes, ordered by mailbox id then entry bytes. *list_r is owned by the
 * caller (store_annotation_list_free); a user without a folder has none. */
enum store_err store_annotation_list(struct store *st, const char *user, uint32_t mailbox_id,
                                     bool every_mailbox, struct store_annotation **list_r,
                                     size_t *n_r, struct store_error *err);
void store_annotation_list_free(struct store_annotation **list, size_t n);

/* RFC 6154 section 4: the entry that holds a mailbox's special-use attributes. A valid value is
 * a space-separated list of attributes RFC 6154 defines (\All \Archive \Drafts \Flagged \Junk
 * \Sent \Trash, in any case, each once). Says whether value is one and, when canon_r is not
 * NULL, writes its canonical spelling there (strlen(value) + 1 bytes). */
#define STORE_SPECIALUSE_ENTRY "/private/specialuse"
bool store_specialuse_canon(const char *value, char *canon_r);

/* ---- Messages --------------------------------------------------------------------------- */

/* System flags (\Recent is per session, see store_mailbox_take_recent). */
#define STORE_FLAG_SEEN     0x01u
#define STORE_FLAG_ANSWERED 0x02u
#define STORE_FLAG_FLAGGED  0x04u
#define STORE_FLAG_DELETED  0x08u
#define STORE_FLAG_DRAFT    0x10u
#define STORE_FLAGS_ALL     0x1fu

struct store_msg {
    uint32_t uid;
    uint32_t flags;       /* STORE_FLAG_* */
    int64_t internaldate; /* seconds since the epoch */
    int32_t tzoff;        /* INTERNALDATE's zone, minutes east of UTC */
    uint64_t size;        /* RFC822.SIZE: octets of the body file (CRLF line ends) */
    uint64_t modseq;
    uint32_t header_size;            /* octets of the header block, blank line included */
    uint32_t body_mailbox, body_uid; /* the body file: <mailbox id>/<uid> */
    char *keywords;                  /* owned; space-separated, NULL when none */
};

void store_msg_clear(struct store_msg *m);
void store_msg_list_free(struct store_msg **msgs, size_t n);

/* Messages of mailbox id with first_uid <= UID <= last_uid (last_uid 0: no bound), ascending. */
enum store_err store_msg_list(struct store *st, const char *user, uint32_t mailbox_id,
                              uint32_t first_uid, uint32_t last_uid, struct store_msg **msgs_r,
                              size_t *n_r, struct store_error *err);
enum store_err store_msg_get(struct store *st, const char *user, uint32_t mailbox_id, uint32_t uid,
                             struct store_msg *m_r, struct store_error *err);

/* What changed after modseq `since` (CONDSTORE / QRESYNC / IDLE): messages whose MODSEQ is
 * greater (ascending UID) and UIDs expunged after it (ascending). Both arrays caller-owned. */
enum store_err store_msg_changes(struct store *st, const char *user, uint32_t mailbox_id,
                                 uint64_t since, struct store_msg **changed_r, size_t *nchanged_r,
                                 uint32_t **expunged_r, size_t *nexpunged_r,
                                 struct store_error *err);
/* The same for keeping a copy of a mailbox's messages up to date: at most max changed messages
 * and at most max expunged UIDs (when more, STORE_OK with *over_r set and both lists empty:
 * read the whole list again), and in *highest_r the mailbox's HIGHESTMODSEQ in the same read,
 * which the lists bring such a copy up to (every later change gets a greater MODSEQ). */
enum store_err store_msg_changes_max(struct store *st, const char *user, uint32_t mailbox_id,
                                     uint64_t since, size_t max, struct store_msg **changed_r,
                                     size_t *nchanged_r, uint32_t **expunged_r, size_t *nexpunged_r,
                                     uint64_t *highest_r, bool *over_r, struct store_error *err);

/* ENVELOPE, BODYSTRUCTURE and BODY computed at delivery, as IMAP-ready text (strings that
 * cannot be quoted are literals with their CRLF), and the header fields SEARCH reads
 * (store-hfield.h; NULL in records written before they were kept). All owned by the caller. */
struct store_mime {
    char *envelope, *bodystructure, *body;
    unsigned char *hfields;
    size_t hfields_len;
};
void store_mime_clear(struct store_mime *mime);
enum store_err store_msg_get_mime(struct store *st, const char *user, uint32_t mailbox_id,
                                  uint32_t uid, struct store_mime *mime_r, struct store_error *err);

/* The MIME records of a mailbox's messages with first_uid <= UID <= last_uid (last_uid 0: no
 * bound), at most max of them, ascending, read in one transaction: what FETCH of ENVELOPE or
 * BODYSTRUCTURE over many messages needs instead of one read each. Owned by the caller
 * (store_mime_set_clear). store_mime_set_find looks uids up in ascending order (it remembers
 * where it was); NULL when the set does not hold uid. */
struct store_mime_set {
    bool hfields_only; /* store_mime_set_next: keep only each record's hfields (SEARCH); set
                        * it in the zeroed set before the first call (a clear zeroes it) */
    uint32_t first;    /* the range asked for starts here */
    uint32_t upto;     /* store_mime_set_next: the set holds every record up to this UID */
    uint32_t *uids;
    struct store_mime *mimes;
    size_t n, next;
    unsigned char *arena; /* hfields_only: the batch's hfields, where mimes[].hfields point */
};
enum store_err store_msg_mime_range(struct store *st, const char *user, uint32_t mailbox_id,
                                    uint32_t first_uid, uint32_t last_uid, size_t max,
                                    struct store_mime_set *set_r, struct store_error *err);
const struct store_mime *store_mime_set_find(struct store_mime_set *set, uint32_t uid);
/* For callers walking ascending UIDs up to last_uid (0: no bound): uid's record, reading the
 * next `batch` records from uid on when uid lies beyond what set holds (start from a zeroed
 * set). NULL when the message has none or its batch cannot be read (it then goes without). */
const struct store_mime *store_mime_set_next(struct store *st, const char *user,
                                             uint32_t mailbox_id, uint32_t uid, uint32_t last_uid,
                                             size_t batch, struct store_mime_set *set);
void store_mime_set_clear(struct store_mime_set *set);

/* Opens m's body file read-only (O_CLOEXEC) into *fd_r (caller closes). The file is immutable
 * and stays readable after a concurrent EXPUNGE unlinks it. */
enum store_err store_msg_open(struct store *st, const char *user, const struct store_msg *m,
                              int *fd_r, struct store_error *err);

enum store_flag_op { STORE_FLAGS_ADD, STORE_FLAGS_REMOVE, STORE_FLAGS_REPLACE };

struct store_flag_update {
    enum store_flag_op op;
    uint32_t flags;          /* STORE_FLAG_* */
    const char *keywords;    /* space-separated; NULL or "" for none */
    uint64_t unchangedsince; /* RFC 7162 UNCHANGEDSINCE; 0: unconditional */
};

/* STORE on uids (ascending or not; absent UIDs are skipped). Optional outputs, caller-owned:
 * *result_r every existing message of uids after the update; *modified_r the UIDs refused by
 * UNCHANGEDSINCE (RFC 7162 [MODIFIED]). Only messages that really changed get a new MODSEQ. */
enum store_err store_flags_update(struct store *st, const char *user, uint32_t mailbox_id,
                                  const uint32_t *uids, size_t nuids,
                                  const struct store_flag_update *up, struct store_msg **result_r,
                                  size_t *nresult_r, uint32_t **modified_r, size_t *nmodified_r,
                                  struct store_error *err);

/* Removes those of uids that carry \Deleted (uids NULL: every \Deleted message). *expunged_r
 * (ascending, caller-owned, may be NULL) lists what went. Body files are unlinked after the
 * commit. */
enum store_err store_expunge(struct store *st, const char *user, uint32_t mailbox_id,
                             const uint32_t *uids, size_t nuids, uint32_t **expunged_r,
                             size_t *nexpunged_r, struct store_error *err);

/* COPYUID data (RFC 4315): src_uids[i] became dst_uids[i] in the mailbox with uidvalidity. */
struct store_copy_result {
    uint32_t uidvalidity;
    uint32_t *src_uids, *dst_uids; /* owned; ascending src order */
    size_t n;
};
void store_copy_result_clear(struct store_copy_result *res);

/* COPY (move false) or MOVE (RFC 6851) of uids to mailbox dst_id, sharing bodies by hard link.
 * Flags, keywords and INTERNALDATE are kept. All or nothing: STORE_EQUOTA when limits would be
 * exceeded. Absent UIDs are skipped. res may be NULL. */
enum store_err store_copy(struct store *st, const char *user, uint32_t src_id, const uint32_t *uids,
                          size_t nuids, uint32_t dst_id, const struct store_limits *limits,
                          bool move, struct store_copy_result *res, struct store_error *err);

/* COPY from a mailbox of src_user into one of dst_user (a shared mailbox, RFC 4314): the bodies
 * are hard-linked between the two homes, flags, keywords and INTERNALDATE kept; all or nothing
 * against dst's limits. Messages expunged meanwhile from the source are skipped. The same user
 * on both sides is store_copy. res may be NULL. */
enum store_err store_copy_between(struct store *st, const char *src_user, uint32_t src_id,
                                  const uint32_t *uids, size_t nuids, const char *dst_user,
                                  uint32_t dst_id, const struct store_limits *limits,
                                  struct store_copy_result *res, struct store_error *err);

/* ---- POP3 maildrop --------------------------------------------------------------------- */

/* Takes the user's exclusive POP maildrop lock (creating the home if needed) and returns its fd
 * in *fd_r; closing the fd releases it. STORE_EBUSY when another POP session holds it. */
enum store_err store_maildrop_lock(struct store *st, const char *user, int *fd_r,
                                   struct store_error *err);

/* ---- Delivery --------------------------------------------------------------------------- */

/* A message being received into root/tmp. Bare LF line ends are written as CRLF, so the file
 * holds exactly what IMAP serves and RFC822.SIZE is its length. */
struct store_spool;

enum store_err store_spool_create(struct store *st, struct store_spool **sp_r,
                                  struct store_error *err);
enum store_err store_spool_write(struct store_spool *sp, const void *buf, size_t len,
                                 struct store_error *err);
/* Copies everything readable from fd (e.g. a pipe from the MTA) into the spool. */
enum store_err store_spool_write_fd(struct store_spool *sp, int fd, struct store_error *err);

/* Ends the message: flush, set INTERNALDATE (0: now; tzoff minutes east of UTC), fsync, and
 * compute ENVELOPE/BODYSTRUCTURE once for every recipient. No write after this. */
enum store_err store_spool_finish(struct store_spool *sp, time_t internaldate, int tzoff,
                                  struct store_error *err);
uint64_t store_spool_size(const struct store_spool *sp);

/* Removes the tmp file (deliveries already made keep their links) and frees. */
void store_spool_free(struct store_spool **sp);

/* Removes what a crash left in root/tmp: spool files and half-removed homes whose last change
 * is older than max_age seconds (live spools of other processes are younger). *removed_r (may
 * be NULL) counts them. For lmtpd's start and for reconstruct. */
enum store_err store_tmp_sweep(struct store *st, unsigned max_age, unsigned *removed_r,
                               struct store_error *err);

struct store_delivery {
    /* in */
    struct store_spool *spool; /* finished */
    const char *user;
    const char *mailbox; /* NULL: INBOX */
    bool fallback_inbox; /* a missing mailbox means INBOX (LMTP +detail) */
    uint32_t flags;      /* initial flags and keywords (APPEND); 0 / NULL to deliver */
    const char *keywords;
    bool append; /* an IMAP APPEND rather than a delivery (the NEW event says so) */
    struct store_limits limits;
    /* out */
    struct store_error err;
    uint32_t mailbox_id, uidvalidity, uid;
    bool fold_due; /* the user's delivery journal has grown: call store_fold() (off the
                      path of the reply) */
};

/* Delivers each d[i] (any mix of spools, users and mailboxes): per user one commit, each body
 * hard-linked from its spool and its directory fsynced before it. The commit is one durable
 * record in the user's delivery journal, or an index transaction for a user's first delivery
 * (see store-journal.h). Each d[i]
 * gets its own outcome in d[i].err (STORE_EQUOTA and STORE_ENOTFOUND touch only that one; a
 * failed commit fails every delivery of that user). Returns STORE_OK when all succeeded, else
 * the code of the first failure. Creates a missing user folder. */
enum store_err store_deliver(struct store *st, struct store_delivery *d, size_t n);

/* Queues a fold of the user's journal for this process's fold thread (started at the first
 * request), so that whoever asked does not wait for it; a full queue drops the request (the
 * next writer folds anyway). A failure is described in one line to the function set with
 * store_set_fold_error (a daemon's log). Only
 * one store per process may use it; call it after any fork(). */
void store_fold_later(struct store *st, const char *user);
typedef void store_fold_error_fn(const char *line);
void store_set_fold_error(struct store *st, store_fold_error_fn *fn);

/* Folds the user's delivery journal into the index now. Any later access does it anyway; a
 * delivery agent calls this when fold_due says so, so that readers find the journal short. */
enum store_err store_fold(struct store *st, const char *user, struct store_error *err);

#endif
