/* The IMAP command table and the commands of the connection itself (RFC 3501 section 6.1):
 * CAPABILITY, NOOP, LOGOUT, STARTTLS, ID, ENABLE; and the capability list. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "halyard-build.h"
#include "imapd-args.h"
#include "imapd.h"

bool imap_no_args(struct imap_session *s, const struct imap_cmd *cmd)
{
    if (cmd->nargs == 0)
        return true;
    conn_printf(s->conn, "%.*s BAD %.*s takes no arguments\r\n", (int)cmd->tag_len, cmd->tag,
                (int)cmd->name_len, cmd->name);
    return false;
}

static void cmd_capability(struct imap_session *s, struct imap_cmd **cmd)
{
    if (!imap_no_args(s, *cmd))
        return;
    conn_puts(s->conn, "* CAPABILITY ");
    imap_capability_write(s);
    conn_puts(s->conn, "\r\n");
    imap_reply_tagged(s, *cmd, "OK", "CAPABILITY completed");
}

static void cmd_noop(struct imap_session *s, struct imap_cmd **cmd)
{
    if (!imap_no_args(s, *cmd))
        return;
    if (s->state == IMAP_STATE_SELECTED) /* a chance to report other sessions' changes */
        imap_cmd_check(s, cmd);
    else
        imap_reply_tagged(s, *cmd, "OK", "NOOP completed");
}

static void cmd_logout(struct imap_session *s, struct imap_cmd **cmd)
{
    if (!imap_no_args(s, *cmd))
        return;
    /* before the reply, so that the client's next session finds the copy this one leaves */
    imap_flagcopy_leave(&s->sel);
    conn_puts(s->conn, "* BYE Logging out\r\n");
    imap_reply_tagged(s, *cmd, "OK", "LOGOUT completed");
    s->state = IMAP_STATE_LOGOUT;
    conn_close(s->conn);
}

static void cmd_starttls(struct imap_session *s, struct imap_cmd **cmd)
{
    if (!imap_no_args(s, *cmd))
        return;
    if (conn_tls_active(s->conn)) {
        imap_reply_tagged(s, *cmd, "BAD", "TLS is already active");
        return;
    }
    if (!server_tls_configured(conn_server(s->conn))) {
        imap_reply_tagged(s, *cmd, "BAD", "STARTTLS is not available: no certificate configured");
        return;
    }
    imap_reply_tagged(s, *cmd, "OK", "Begin TLS negotiation now");
    conn_starttls(s->conn);
}

/* RFC 2971: the server says who it is; what the client says is only logged. */
static void cmd_id(struct imap_session *s, struct imap_cmd **cmd)
{
    conn_printf(s->conn, "* ID (\"name\" \"%s\" \"version\" \"%s\")\r\n", "Halyard",
                HALYARD_VERSION);
    imap_reply_tagged(s, *cmd, "OK", "ID completed");
}

/* Extensions a client may turn on with ENABLE (RFC 5161 section 3.1), NULL-terminated: none
 * yet, as CONDSTORE, QRESYNC and UTF8=ACCEPT are not implemented. An extension added here
 * needs its session flag set in cmd_enable and its name in the CAPABILITY list. */
static const char *const imap_enableable[] = {NULL};

/* RFC 3501 section 9: capability = ("AUTH=" auth-type) / atom; both are plain atoms. */
static bool imap_is_capability(const char *name)
{
    for (const char *p = name; *p != '\0'; p++)
        if (!imap_is_atom_char((unsigned char)*p))
            return false;
    return true;
}

/* RFC 5161: "ENABLE" 1*(SP capability); names the server does not know are ignored, and only
 * what this command newly enabled is listed in "* ENABLED". */
static void cmd_enable(struct imap_session *s, struct imap_cmd **cmd)
{
    const struct imap_arg *a;
    const char *name;

    if ((*cmd)->nargs == 0) {
        imap_reply_tagged(s, *cmd, "BAD", "Usage: ENABLE capability ...");
        return;
    }
    for (a = (*cmd)->args; a != NULL; a = a->next) {
        if (!imap_arg_get_atom(a, &name) || !imap_is_capability(name)) {
            imap_reply_tagged(s, *cmd, "BAD", "ENABLE takes capability names (atoms)");
            return;
        }
    }
    conn_puts(s->conn, "* ENABLED");
    for (a = (*cmd)->args; a != NULL; a = a->next) {
        imap_arg_get_atom(a, &name);
        for (size_t i = 0; imap_enableable[i] != NULL; i++)
            if (strcasecmp(name, imap_enableable[i]) == 0)
                conn_printf(s->conn, " %s", imap_enableable[i]);
    }
    conn_puts(s->conn, "\r\n");
    imap_reply_tagged(s, *cmd, "OK", "ENABLE completed");
}

/* Sorted by name for the binary search. */
static const struct imap_command imap_commands[] = {
    {"APPEND", imap_cmd_append, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"AUTHENTICATE", imap_cmd_authenticate, IMAP_STATE_NOT_AUTH},
    {"CAPABILITY", cmd_capability, IMAP_STATE_ANY},
    {"CHECK", imap_cmd_check, IMAP_STATE_SELECTED},
    {"CLOSE", imap_cmd_close, IMAP_STATE_SELECTED},
    {"COPY", imap_cmd_copy, IMAP_STATE_SELECTED},
    {"CREATE", imap_cmd_create, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"DELETE", imap_cmd_delete, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"DELETEACL", imap_cmd_acl, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"ENABLE", cmd_enable, IMAP_STATE_AUTH}, /* RFC 5161 3.1: before any SELECT */
    {"EXAMINE", imap_cmd_select, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"EXPUNGE", imap_cmd_expunge, IMAP_STATE_SELECTED},
    {"FETCH", imap_cmd_fetch, IMAP_STATE_SELECTED},
    {"GETACL", imap_cmd_acl, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"GETANNOTATION", imap_cmd_getannotation, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"GETQUOTA", imap_cmd_getquota, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"GETQUOTAROOT", imap_cmd_getquotaroot, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"ID", cmd_id, IMAP_STATE_ANY},
    {"IDLE", imap_cmd_idle, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"LANGUAGE", imap_cmd_language, IMAP_STATE_ANY}, /* RFC 5255 3.2: any state */
    {"LIST", imap_cmd_list, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"LISTRIGHTS", imap_cmd_acl, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"LOGIN", imap_cmd_login, IMAP_STATE_NOT_AUTH},
    {"LOGOUT", cmd_logout, IMAP_STATE_ANY},
    {"LSUB", imap_cmd_list, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"MOVE", imap_cmd_copy, IMAP_STATE_SELECTED},
    {"MYRIGHTS", imap_cmd_acl, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"NAMESPACE", imap_cmd_namespace, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"NETSCAPE", imap_cmd_netscape, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"NOOP", cmd_noop, IMAP_STATE_ANY},
    {"RENAME", imap_cmd_rename, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"SEARCH", imap_cmd_search, IMAP_STATE_SELECTED},
    {"SELECT", imap_cmd_select, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"SETACL", imap_cmd_acl, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"SETANNOTATION", imap_cmd_setannotation, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"SETQUOTA", imap_cmd_setquota, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"SORT", imap_cmd_sort, IMAP_STATE_SELECTED},
    {"STARTTLS", cmd_starttls, IMAP_STATE_NOT_AUTH},
    {"STATUS", imap_cmd_status, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"STORE", imap_cmd_store, IMAP_STATE_SELECTED},
    {"SUBSCRIBE", imap_cmd_subscribe, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"UID", imap_cmd_uid, IMAP_STATE_SELECTED},
    {"UNSELECT", imap_cmd_unselect, IMAP_STATE_SELECTED},
    {"UNSUBSCRIBE", imap_cmd_subscribe, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
    {"XSERVERINFO", imap_cmd_xserverinfo, IMAP_STATE_AUTH | IMAP_STATE_SELECTED},
};

const struct imap_command *imap_command_find(const char *name, size_t len)
{
    size_t lo = 0, hi = sizeof(imap_commands) / sizeof(imap_commands[0]);

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *cand = imap_commands[mid].name;
        int cmp = strncasecmp(name, cand, len);
        if (cmp == 0 && cand[len] != '\0')
            cmp = -1;
        if (cmp == 0)
            return &imap_commands[mid];
        if (cmp < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

/* Only what is implemented is announced; the seed's full set grows with the IMAP issue. */
void imap_capability_write(struct imap_session *s)
{
    /* ENABLE before login too: clients such as imaplib read only the greeting's list */
    conn_puts(s->conn, "IMAP4 IMAP4rev1 LITERAL+ ID ENABLE LANGUAGE");
    if (imap_idle_enabled())
        conn_puts(s->conn, " IDLE");
    if (s->state == IMAP_STATE_NOT_AUTH) {
        conn_puts(s->conn, " SASL-IR");
        if (server_tls_configured(conn_server(s->conn)) && !conn_tls_active(s->conn))
            conn_puts(s->conn, " STARTTLS");
        imap_auth_capability_write(s);
        return;
    }
    conn_puts(s->conn, " NAMESPACE UNSELECT CHILDREN MOVE UIDPLUS SORT BINARY QUOTA ACL RIGHTS=texk"
                       " X-ANNOTATEMORE SPECIAL-USE CREATE-SPECIAL-USE XSENDER X-NETSCAPE"
                       " XSERVERINFO");
}

void imap_reply_tagged(struct imap_session *s, const struct imap_cmd *cmd, const char *status,
                       const char *text)
{
    conn_printf(s->conn, "%.*s %s %s\r\n", (int)cmd->tag_len, cmd->tag, status, text);
}
