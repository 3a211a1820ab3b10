/* imapd's session state and command table. */
#ifndef HALYARD_IMAPD_H
#define HALYARD_IMAPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "imapd-parse.h"
#include "imapd-rights.h"
#include "server.h"
#include "store.h"

/* RFC 3501 section 3 states, as a bit set so a command can name where it is valid. */
enum imap_state {
    IMAP_STATE_NOT_AUTH = 1u << 0,
    IMAP_STATE_AUTH = 1u << 1,
    IMAP_STATE_SELECTED = 1u << 2,
    IMAP_STATE_LOGOUT = 1u << 3,
};
#define IMAP_STATE_ANY (IMAP_STATE_NOT_AUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

/* A copy of the selected mailbox's messages' flags (imapd-flagcopy.c): every message of the
 * mailbox as of MODSEQ modseq, ascending UID, whether or not the session's view has it yet. */
struct imap_flagrec {
    uint32_t uid, flags;
    char *keywords; /* owned; NULL when none */
};
struct imap_flagcopy {
    struct imap_flagrec *v;
    size_t n;
    uint64_t modseq; /* every change up to this MODSEQ is in */
    bool valid;
};

/* The selected mailbox as this session knows it: sequence numbers map to UIDs. Every store
 * call on it goes to its owner's store (another user's for a shared mailbox). */
struct imap_selected {
    uint32_t id, uidvalidity, uidnext;
    char *owner;     /* canonical user whose store holds it */
    char *name;      /* UTF-8, the name in the owner's store */
    bool shared;     /* owner is not the session's user */
    unsigned rights; /* the session's RFC 4314 rights on it (all for its own) */
    bool readonly;
    uint32_t *uids; /* uids[seq - 1], ascending */
    size_t n;
    uint32_t first_recent; /* UIDs from here on are \Recent for this session */
    uint64_t modseq;       /* flag changes up to this MODSEQ have been reported */
    struct imap_flagcopy flags;
};

struct imap_idle_key;
struct imap_login;

struct imap_session {
    struct conn *conn;
    enum imap_state state;
    struct imap_parser *parser; /* holds nothing between commands */
    char *user;                 /* after login */
    struct store_limits limits;
    struct imap_selected sel; /* valid in IMAP_STATE_SELECTED */
    unsigned failures, commands;
    struct imap_login *sasl; /* AUTHENTICATE waiting for the client's next response */
    /* APPEND: the message literal being received */
    struct store_spool *append_spool;
    struct store_error append_err;
    bool append_failed;
    /* IDLE (imapd-idle.c): the command until DONE, the process's list of idlers */
    struct imap_cmd *idle_cmd;
    struct imap_session *idle_prev, *idle_next;
    struct imap_idle_key *idle_key;
    bool idle_syncing, idle_again;
    struct imap_fetch_run *fetch; /* a FETCH whose reply is being made or sent (imapd-fetch.c) */
};

/* A handler may take *cmd for itself (an asynchronous command) by setting it to NULL; what is
 * left there is freed when the handler returns. */
typedef void imap_handler(struct imap_session *s, struct imap_cmd **cmd);

struct imap_command {
    const char *name;
    imap_handler *handler;
    unsigned states; /* enum imap_state bits where the command is valid */
};

/* Finds a command by name (case-insensitive); NULL when unknown. */
const struct imap_command *imap_command_find(const char *name, size_t len);

/* Writes the capability list (without "* CAPABILITY ") for this session's state. */
void imap_capability_write(struct imap_session *s);

/* BAD "takes no arguments" unless cmd has none. */
bool imap_no_args(struct imap_session *s, const struct imap_cmd *cmd);

/* Replies. */
void imap_reply_tagged(struct imap_session *s, const struct imap_cmd *cmd, const char *status,
                       const char *text);

/* --- commands that touch the store run on the pool (imapd-job.c) --- */

/* Blocking work for one command: writes untagged lines and the tagged reply to out. */
typedef void imap_work_fn(struct imap_session *s, const struct imap_cmd *cmd, FILE *out);

/* Runs work on a pool thread with input paused; its output is sent when it ends. Takes *cmd. */
void imap_run(struct imap_session *s, struct imap_cmd **cmd, imap_work_fn *work);

/* Writes "TAG STATUS text" to out. */
void imap_out_tagged(FILE *out, const struct imap_cmd *cmd, const char *status, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));

/* The process's store (main.c). */
struct store *imapd_store(void);

/* Writes s as an IMAP astring / quoted string or literal (RFC 3501 section 4.3). */
void imap_out_string(FILE *out, const char *s, size_t len);
/* A mailbox name (UTF-8) as the client sees it: modified UTF-7, quoted as needed. */
void imap_out_mailbox(FILE *out, const char *name);

/* imapd-login.c */
void imap_cmd_login(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_authenticate(struct imap_session *s, struct imap_cmd **cmd);
/* A continuation line while AUTHENTICATE waits; returns bytes used, 0 for more. */
ssize_t imap_sasl_input(struct imap_session *s, const char *data, size_t len);
/* Drops an AUTHENTICATE that waits for the client (the connection is closing). */
void imap_sasl_close(struct imap_session *s);
/* Writes " AUTH=..." for the SASL mechanisms this connection may use, or " LOGINDISABLED"
 * first when password login is not allowed (for the capability list before login). */
void imap_auth_capability_write(struct imap_session *s);
/* Whether password login is allowed on this connection (plaintextmincipher). */
bool imap_password_allowed(struct imap_session *s);

/* imapd-mailbox.c */
void imap_cmd_select(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_close(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_unselect(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_create(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_delete(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_rename(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_subscribe(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_list(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_status(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_namespace(struct imap_session *s, struct imap_cmd **cmd);
void imap_selected_clear(struct imap_selected *sel);
/* "(\\Seen \\Deleted kw)" with \\Recent when recent. */
void imap_out_flags(FILE *out, uint32_t flags, const char *keywords, bool recent);
/* Writes v in decimal at p (at most 10 characters, no NUL); returns the end. */
char *imap_fmt_u32(char *p, uint32_t v);
/* Writes the flag list imap_out_flags writes at p, which has room for IMAP_FLAGS_FMT_MAX
 * characters plus kwlen (keywords' length); returns the end. */
#define IMAP_FLAGS_FMT_MAX 64
char *imap_fmt_flags(char *p, uint32_t flags, const char *keywords, size_t kwlen, bool recent);
/* The one NO for a store failure. */
void imap_out_store_error(FILE *out, const struct imap_cmd *cmd, const struct store_error *e);

/* imapd-flagcopy.c. imap_flagcopy_set makes the copy from a whole list of the mailbox read
 * after modseq was current (taking the keywords, which it leaves NULL in msgs); without memory
 * it stays invalid. imap_flagcopy_refresh brings the selected mailbox's copy up to date, reading
 * what changed since, or the whole list when much did or there is no copy (floor: a MODSEQ
 * current before that read began, 0 if none is known); the copy may still be invalid afterwards
 * (no memory). imap_flagcopy_stored applies a STORE's result list (taking its keywords) when
 * it covers every message of the copy and nothing else changed since the copy. imap_flagcopy_leave
 * hands a large mailbox's copy to the process as a session leaves it, imap_flagcopy_take gives it
 * to the next session selecting it (an invalid copy when there is none). */
void imap_flagcopy_set(struct imap_flagcopy *fc, struct store_msg *msgs, size_t n, uint64_t modseq);
enum store_err imap_flagcopy_refresh(struct imap_session *s, uint64_t floor,
                                     struct store_error *err);
void imap_flagcopy_stored(struct imap_flagcopy *fc, struct store_msg *result, size_t n);
void imap_flagcopy_leave(struct imap_selected *sel);
void imap_flagcopy_take(struct imap_flagcopy *fc, const char *owner, uint32_t id,
                        uint32_t uidvalidity);
/* Index of the first record whose UID is >= uid (n when none). */
size_t imap_flagcopy_find(const struct imap_flagcopy *fc, uint32_t uid);
void imap_flagcopy_clear(struct imap_flagcopy *fc);

/* imapd-fetch.c: FETCH and UID FETCH */
void imap_cmd_fetch(struct imap_session *s, struct imap_cmd **cmd);

/* imapd-message.c */
void imap_cmd_store(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_expunge(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_uid(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_check(struct imap_session *s, struct imap_cmd **cmd);
/* Untagged EXPUNGE, FETCH (FLAGS) and EXISTS for what other sessions changed in the selected
 * mailbox since the last report (on a pool thread). */
void imap_sync(struct imap_session *s, FILE *out);
/* The reporting half of imap_sync, for a change list another session's look may have taken
 * (imapd-idle.c): lists from store_msg_changes with since at or below the session's MODSEQ. */
void imap_sync_apply(struct imap_session *s, const struct store_msg *changed, size_t nchanged,
                     const uint32_t *gone, size_t ngone, FILE *out);

/* IDLE (imapd-idle.c). imap_idle_configure takes the notify settings at start and reload;
 * imap_idle_enabled says whether the seed's rule lets IDLE be announced. While s->idle_cmd is
 * set, input goes to imap_idle_input (DONE); imap_idle_close forgets an idling session. */
void imap_idle_configure(struct server *srv, const struct conf *conf);
bool imap_idle_enabled(void);
void imap_cmd_idle(struct imap_session *s, struct imap_cmd **cmd);
ssize_t imap_idle_input(struct imap_session *s, const char *data, size_t len);
void imap_idle_close(struct imap_session *s);
void imap_cmd_copy(struct imap_session *s, struct imap_cmd **cmd);
/* A command's arguments after "UID" when it came as "UID FETCH ..." (uid_r set). */
const struct imap_arg *imap_args_of(const struct imap_cmd *cmd, bool *uid_r);
/* The UIDs a sequence set (or UID set) in arg names in this session's view, ascending (*uids_r
 * caller-owned); -1 after writing the BAD to out. */
int imap_set_uids(struct imap_session *s, const struct imap_cmd *cmd, const struct imap_arg *arg,
                  bool uid, uint32_t **uids_r, size_t *n_r, FILE *out);
/* Position (1-based) of uid in the session's view, 0 when absent. */
uint32_t imap_seq_of(const struct imap_session *s, uint32_t uid);
/* A flag list (or one flag): system flags and space-separated keywords (caller frees). */
bool imap_parse_flag_list(const struct imap_arg *arg, uint32_t *flags_r, char **keywords_r);

/* imapd-search.c, imapd-search-cmd.c: SEARCH and UID SEARCH, and the evaluation SORT uses too */
void imap_cmd_search(struct imap_session *s, struct imap_cmd **cmd);
struct imap_search_run;
/* Parses the search keys from keys on (with charset_allowed, a leading CHARSET astring first)
 * and checks them against the session's view. Returns 0 with *run_r set, or -1 after writing
 * the BAD or NO to out. */
int imap_search_begin(struct imap_session *s, const struct imap_cmd *cmd,
                      const struct imap_arg *keys, bool charset_allowed,
                      struct imap_search_run **run_r, FILE *out);
/* Whether m (a message of the selected mailbox) matches; reads its file only when a header or
 * body key decides. Not in the session's view: false. */
bool imap_search_match(struct imap_search_run *run, const struct store_msg *m);
/* Whether the program asks only about UIDs, sequence numbers, \Recent and header fields the
 * MIME records keep; then imap_search_match_bare answers for a message of the view from its
 * UID and sequence number alone: 1 or 0, or -1 when it needs the message's record (its MIME
 * record does not hold the field), for imap_search_match. */
bool imap_search_view_only(const struct imap_search_run *run);
int imap_search_match_bare(struct imap_search_run *run, uint32_t uid, uint32_t seq);
void imap_search_end(struct imap_search_run **run);

/* imapd-sort-cmd.c: SORT and UID SORT (RFC 5256) */
void imap_cmd_sort(struct imap_session *s, struct imap_cmd **cmd);

/* imapd-quota.c: GETQUOTAROOT, GETQUOTA, SETQUOTA (RFC 2087) */
void imap_cmd_getquotaroot(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_getquota(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_setquota(struct imap_session *s, struct imap_cmd **cmd);

/* imapd-acl.c: SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS (RFC 4314) */
void imap_cmd_acl(struct imap_session *s, struct imap_cmd **cmd);

/* imapd-share.c: other users' mailboxes (RFC 4314, RFC 2342) */

/* A mailbox the client named: its owner and the name in the owner's store. */
struct imap_mbox {
    enum imap_name_kind kind;
    char owner[STORE_USER_MAX + 1]; /* canonical; the session's user for a personal name */
    const char *name;               /* in the owner's store (points into the name given) */
    bool via_shared;                /* the user's own, named through the shared namespace */
    unsigned rights;                /* the session's rights on it (imap_mbox_open) */
    struct store_mailbox mb;        /* imap_mbox_open: the mailbox (imap_mbox_close) */
};
/* Resolves name without touching the store: kind, owner, name; rights all for a personal
 * name. A level or name under "Shared Folders" no user can have is IMAP_NAME_LEVEL / _NONE. */
void imap_mbox_resolve(const struct imap_session *s, const char *name, struct imap_mbox *m);
/* need for "any right at all" (MYRIGHTS) */
#define IMAP_NEED_ANY 0u
/* Looks up the mailbox the client named in its owner's store with the session's rights and
 * checks they hold every right of need (RFC 4314 4). Otherwise writes the one NO and returns
 * -1: [NOPERM] naming the missing rights when the user may look the mailbox up, else (RFC 4314
 * 6) what a missing mailbox gets, [NONEXISTENT] or with trycreate [TRYCREATE]. */
int imap_mbox_open(struct imap_session *s, const struct imap_cmd *cmd, const char *name,
                   unsigned need, bool trycreate, struct imap_mbox *m, FILE *out);
void imap_mbox_close(struct imap_mbox *m);
/* An opened mailbox's name as the client sees it, spelt as stored (imap_out_mailbox). */
void imap_out_mbox(FILE *out, const struct imap_mbox *m);
/* The session's rights on owner's mailbox id (every right on its own). */
enum store_err imap_rights_get(struct imap_session *s, const char *owner, uint32_t id,
                               unsigned *rights_r, struct store_error *err);
/* "NO [NOPERM] Permission denied: this needs the <letters> right(s)". */
void imap_out_noperm(FILE *out, const struct imap_cmd *cmd, unsigned need);
/* Re-reads the session's rights on a selected shared mailbox (before each command, so that a
 * changed ACL counts from the next command on). */
void imap_sel_refresh(struct imap_session *s);
/* Whether the session holds need on the selected mailbox; false after the [NOPERM]. */
bool imap_sel_check(struct imap_session *s, const struct imap_cmd *cmd, unsigned need, FILE *out);
/* The other users' mailboxes the session may look up (right l), named as the client sees them
 * ("Shared Folders/User/<owner>/<name>"), found through the store's sharing index. */
struct imap_shared_box {
    char *name; /* owned */
    unsigned rights;
};
enum store_err imap_shared_list(struct imap_session *s, struct imap_shared_box **v_r, size_t *n_r,
                                struct store_error *err);
void imap_shared_list_free(struct imap_shared_box **v, size_t n);
/* The quota limits of owner (the session's own for itself, else from the directory), for
 * what goes into owner's store; -1 after the NO. */
int imap_owner_limits(struct imap_session *s, const char *owner, struct store_limits *limits_r,
                      const struct imap_cmd *cmd, FILE *out);

/* imapd-annotate.c: GETANNOTATION, SETANNOTATION (draft-daboo-imap-annotatemore-08) */
void imap_cmd_getannotation(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_setannotation(struct imap_session *s, struct imap_cmd **cmd);
/* The special-use attributes of every mailbox of the user (RFC 6154), for LIST: *list_r as
 * store_annotation_list gives it, only STORE_SPECIALUSE_ENTRY entries kept. */
enum store_err imap_specialuse_list(struct imap_session *s, struct store_annotation **list_r,
                                    size_t *n_r, struct store_error *err);

/* imapd-language.c: LANGUAGE (RFC 5255) */
void imap_cmd_language(struct imap_session *s, struct imap_cmd **cmd);

/* imapd-sun.c: Netscape's NETSCAPE (X-NETSCAPE) and XSERVERINFO */
void imap_cmd_netscape(struct imap_session *s, struct imap_cmd **cmd);
void imap_cmd_xserverinfo(struct imap_session *s, struct imap_cmd **cmd);

/* The one NAMESPACE response (imapd-mailbox.c), CRLF included: NAMESPACE and LANGUAGE send it. */
extern const char imap_namespace_line[];

/* imapd-append.c */
extern const struct imap_stream_rule imap_stream_rules[];
void imap_cmd_append(struct imap_session *s, struct imap_cmd **cmd);
/* STREAM_BEGIN of APPEND's literal: false after replying when it is refused. */
bool imap_append_begin(struct imap_session *s, const struct imap_parse_out *out);
void imap_append_data(struct imap_session *s, const char *data, size_t len);
/* Throws away a message being received (a failed or ended command, a closed connection). */
void imap_append_drop(struct imap_session *s);
/* RFC 3501 date-time; 0 or -1. */
int imap_parse_datetime(const char *s, size_t len, time_t *t_r, int *tzoff_r);

#endif
