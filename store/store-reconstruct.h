/* reconstruct: checks a user's index against the body files and repairs it, or rebuilds it from
 * the body files alone when it cannot be read (store/README.md, "reconstruct"). */
#ifndef HALYARD_STORE_RECONSTRUCT_H
#define HALYARD_STORE_RECONSTRUCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* What a check can find. Each finding is one problem, except the notes, which say what a
 * rebuild from the body files did or could not keep. */
enum store_rc_kind {
    STORE_RC_INDEX_UNREADABLE, /* index.tcb cannot be read: rebuilt from the body files */
    STORE_RC_INDEX_MISSING,    /* no index.tcb in the home: rebuilt from the body files */
    STORE_RC_REBUILT,          /* note: a mailbox as the rebuild made it */
    STORE_RC_LOST,             /* note: what the body files could not give back */
    STORE_RC_SIDECAR_BAD,      /* rebuild: a mailbox directory without a usable sidecar */
    STORE_RC_NAME_CLASH,       /* rebuild: two directories claim one name */
    STORE_RC_BODY_MISSING,     /* a record whose body file is gone: record dropped */
    STORE_RC_BODY_SIZE,        /* body file length differs from RFC822.SIZE: record updated */
    STORE_RC_ORPHAN_NEW,       /* file at or above UIDNEXT (never committed): removed */
    STORE_RC_ORPHAN_EXPUNGED,  /* file of an expunged UID (unlink never happened): removed */
    STORE_RC_RECORD_MISSING,   /* file below UIDNEXT, no record, no tombstone: re-added */
    STORE_RC_RECORD_BAD,       /* a message record that cannot be parsed: dropped */
    STORE_RC_DIR_ORPHAN,       /* a mailbox directory without a mailbox record: removed */
    STORE_RC_DIR_MISSING,      /* a mailbox record without its directory: recreated */
    STORE_RC_COUNTS,           /* messages/unseen/deleted/bytes differ from the records */
    STORE_RC_UIDNEXT,          /* UIDNEXT not above every UID used */
    STORE_RC_MODSEQ,           /* HIGHESTMODSEQ below a MODSEQ in use */
    STORE_RC_KEYWORDS,         /* a message keyword missing from the mailbox's list */
    STORE_RC_MIME,             /* ENVELOPE/BODYSTRUCTURE record missing or unreadable */
    STORE_RC_MODSEQ_INDEX,     /* changes-since index entry missing or stale */
    STORE_RC_STALE,            /* records of a mailbox that does not exist */
    STORE_RC_NAMES,            /* name records disagree with the mailbox records */
    STORE_RC_SIDECAR,          /* sidecar missing or disagreeing with the index: rewritten */
    STORE_RC_USER_COUNTERS,    /* next mailbox id or last UIDVALIDITY behind what is used */
    STORE_RC_USAGE,            /* quota usage differs from the mailboxes' records */
    STORE_RC_REBUILD_ASKED,    /* note: rebuilt from the body files because opt->rebuild */
};

struct store_rc_finding {
    enum store_rc_kind kind;
    bool note;           /* REBUILT, LOST, REBUILD_ASKED: information, not a problem */
    const char *user;    /* canonical user name */
    const char *mailbox; /* NULL when about the user's index as a whole */
    uint32_t uid;        /* 0 when not about one message */
    const char *text;    /* what was found, e.g. "body file missing" */
    const char *action;  /* what was done, e.g. "record dropped"; NULL when only checking */
};

/* Called once per finding, in the order found. Everything lives only during the call. */
typedef void store_rc_report_fn(const struct store_rc_finding *f, void *ctx);

struct store_rc_options {
    bool repair;  /* false: look and report only, change nothing */
    bool rebuild; /* with repair: rebuild from the body files even when the index reads */
    store_rc_report_fn *report;
    void *ctx;
};

/* Checks user's index against the body files, repairing when opt->repair, under the user's
 * index lock like every writer (so daemons may run). A readable index keeps flags, keywords,
 * MODSEQs, UIDs and UIDVALIDITY; an unreadable or missing one is rebuilt from the body files
 * alone in a new file renamed into place (the broken one kept as index.tcb.broken.<time>).
 * *problems_r counts the findings that are not notes. STORE_ENOTFOUND when the user has no
 * mail folder, STORE_EBUSY when the index stayed locked, STORE_EIO and others on failure. */
enum store_err store_reconstruct_user(struct store *st, const char *user,
                                      const struct store_rc_options *opt, unsigned *problems_r,
                                      struct store_error *err);

/* Every user with a mail folder under the store root, sorted (for -a). *users_r is owned by the
 * caller (store_strings_free). */
enum store_err store_reconstruct_list_users(struct store *st, char ***users_r, size_t *n_r,
                                            struct store_error *err);

#endif
