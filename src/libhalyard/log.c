/* Logging to journald or stderr. The journal decision follows systemd.exec(5): stderr is
 * connected to the journal exactly when JOURNAL_STREAM names its device and inode. */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>
#include <unistd.h>

static const char *log_ident = "halyard";
static bool log_to_journal;

void log_init(const char *ident)
{
    const char *js = getenv("JOURNAL_STREAM");
    const char *force = getenv("HALYARD_LOG");
    struct stat st;
    unsigned long long dev, ino;

    log_ident = ident;
    log_to_journal = false;
    if (force != NULL) {
        log_to_journal = strcmp(force, "journal") == 0;
        return;
    }
    if (js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
        log_to_journal = st.st_dev == dev && st.st_ino == ino;
}

void log_ctx_msg(int prio, const struct log_ctx *ctx, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    const char *session = ctx != NULL && ctx->session != NULL ? ctx->session : "";
    const char *client = ctx != NULL && ctx->client != NULL ? ctx->client : "";
    const char *user = ctx != NULL && ctx->user != NULL ? ctx->user : "";

    if (log_to_journal) {
        sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=%s", log_ident,
                        "HALYARD_SESSION=%s", session, "HALYARD_CLIENT=%s", client,
                        "HALYARD_USER=%s", user, NULL);
        return;
    }
    if (ctx == NULL)
        fprintf(stderr, "%s[%d]: %s\n", log_ident, (int)getpid(), msg);
    else
        fprintf(stderr, "%s[%d]: %s (session=%s client=%s%s%s)\n", log_ident, (int)getpid(), msg,
                session, client, *user ? " user=" : "", user);
}

void log_warning_line(const char *line)
{
    log_warning("%s", line);
}
