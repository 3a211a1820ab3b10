/* Logging: structured journald entries under systemd, plain lines on stderr otherwise.
 * Every line can carry the session's fields (HALYARD_SESSION, HALYARD_CLIENT, HALYARD_USER). */
#ifndef HALYARD_LOG_H
#define HALYARD_LOG_H

#include <syslog.h>

struct log_ctx {
    const char *session; /* may be NULL */
    const char *client;  /* "addr:port", may be NULL */
    const char *user;    /* may be NULL until login */
};

/* Decides once where logs go: journald when stderr is the journal stream systemd gave us
 * (JOURNAL_STREAM, see systemd.exec(5)), else stderr. ident names the program. */
void log_init(const char *ident);

void log_ctx_msg(int prio, const struct log_ctx *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_err(...)     log_ctx_msg(LOG_ERR, NULL, __VA_ARGS__)
#define log_warning(...) log_ctx_msg(LOG_WARNING, NULL, __VA_ARGS__)
/* One line as a warning: for libraries that report through a function pointer. */
void log_warning_line(const char *line);
#define log_info(...)  log_ctx_msg(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_ctx_msg(LOG_DEBUG, NULL, __VA_ARGS__)

#endif
