/* Netscape's private extensions that Sun's server announced: NETSCAPE (capability X-NETSCAPE)
 * names the server's version and the user's account page; XSERVERINFO names web pages for
 * account, mailing-list and filter management. Both only read configuration. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "halyard-build.h"
#include "imapd-args.h"
#include "imapd.h"

/* str as an IMAP string (quoted, or a literal when it cannot be), or NIL when empty. */
static void sun_put_nstring(struct imap_session *s, const char *str)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    if (str == NULL || *str == '\0') {
        conn_puts(s->conn, "NIL");
        return;
    }
    f = open_memstream(&buf, &len);
    if (f == NULL) {
        conn_puts(s->conn, "NIL");
        return;
    }
    imap_out_string(f, str, strlen(str));
    if (fclose(f) == 0)
        conn_write(s->conn, buf, len);
    else
        conn_puts(s->conn, "NIL");
    free(buf);
}

static const char *sun_conf(struct imap_session *s, const char *name)
{
    return conf_str(server_conf(conn_server(s->conn)), name);
}

/* Netscape Messenger sends NETSCAPE after login; it reads VERSION and ACCOUNT-URL as astrings. */
void imap_cmd_netscape(struct imap_session *s, struct imap_cmd **cmd)
{
    const char *url = sun_conf(s, "service.imap.accounturl");

    if (!imap_no_args(s, *cmd))
        return;
    conn_puts(s->conn, "* OK [NETSCAPE]\r\n* VERSION ");
    sun_put_nstring(s, HALYARD_VERSION);
    conn_puts(s->conn, "\r\n");
    if (url[0] != '\0') {
        conn_puts(s->conn, "* ACCOUNT-URL ");
        sun_put_nstring(s, url);
        conn_puts(s->conn, "\r\n");
    }
    imap_reply_tagged(s, *cmd, "OK", "NETSCAPE completed");
}

static const struct {
    const char *item, *param;
} sun_xserverinfo_items[] = {
    {"MANAGEACCOUNTURL", "service.imap.manageaccounturl"},
    {"MANAGELISTSURL", "service.imap.managelistsurl"},
    {"MANAGEFILTERSURL", "service.imap.managefiltersurl"},
};
#define SUN_NITEMS (sizeof(sun_xserverinfo_items) / sizeof(sun_xserverinfo_items[0]))

static int sun_xserverinfo_find(const struct imap_arg *a)
{
    const char *name;

    if (!imap_arg_get_atom(a, &name))
        return -1;
    for (size_t i = 0; i < SUN_NITEMS; i++)
        if (strcasecmp(name, sun_xserverinfo_items[i].item) == 0)
            return (int)i;
    return -1;
}

/* "XSERVERINFO" 1*(SP item): each item asked, in order, with its URL (NIL when not set), as
 * Mozilla's parser reads them (an nstring after each name). */
void imap_cmd_xserverinfo(struct imap_session *s, struct imap_cmd **cmd)
{
    const struct imap_arg *a;

    if ((*cmd)->nargs == 0) {
        imap_reply_tagged(
            s, *cmd, "BAD",
            "Usage: XSERVERINFO MANAGEACCOUNTURL|MANAGELISTSURL|MANAGEFILTERSURL ...");
        return;
    }
    for (a = (*cmd)->args; a != NULL; a = a->next) {
        if (sun_xserverinfo_find(a) < 0) {
            imap_reply_tagged(s, *cmd, "BAD",
                              "Unknown XSERVERINFO item (MANAGEACCOUNTURL, MANAGELISTSURL and "
                              "MANAGEFILTERSURL are known)");
            return;
        }
    }
    conn_puts(s->conn, "* XSERVERINFO");
    for (a = (*cmd)->args; a != NULL; a = a->next) {
        int i = sun_xserverinfo_find(a);
        conn_printf(s->conn, " %s ", sun_xserverinfo_items[i].item);
        sun_put_nstring(s, sun_conf(s, sun_xserverinfo_items[i].param));
    }
    conn_puts(s->conn, "\r\n");
    imap_reply_tagged(s, *cmd, "OK", "XSERVERINFO completed");
}
