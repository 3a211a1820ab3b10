/* Commands that touch the store: their work runs on a pool thread while the session's input
 * waits, writing the reply into a buffer the event loop then sends. Also the small writers
 * every reply uses (tagged lines, strings, mailbox names). */
#include <stdarg.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>

#include "imapd-mutf7.h"
#include "imapd.h"

struct imap_job {
    struct imap_session *s;
    struct imap_cmd *cmd;
    imap_work_fn *work;
    char *buf;
    size_t len;
};

static void imap_job_work(void *arg)
{
    struct imap_job *job = arg;
    FILE *out = open_memstream(&job->buf, &job->len);

    if (out == NULL)
        return;
    /* the stream is this thread's alone: no lock taken per call */
    __fsetlocking(out, FSETLOCKING_BYCALLER);
    imap_sel_refresh(job->s); /* another user's mailbox: its ACL as it is now */
    job->work(job->s, job->cmd, out);
    if (fclose(out) != 0) {
        free(job->buf);
        job->buf = NULL;
        job->len = 0;
    }
}

static void imap_job_done(void *arg)
{
    struct imap_job *job = arg;

    if (job->buf != NULL)
        conn_write(job->s->conn, job->buf, job->len);
    else
        imap_reply_tagged(job->s, job->cmd, "NO", "[SERVERBUG] Out of memory");
    free(job->buf);
    imap_cmd_free(&job->cmd);
    free(job);
}

void imap_run(struct imap_session *s, struct imap_cmd **cmd, imap_work_fn *work)
{
    struct imap_job *job = calloc(1, sizeof(*job));

    if (job == NULL) {
        imap_reply_tagged(s, *cmd, "NO", "[UNAVAILABLE] Server busy; try again");
        return;
    }
    *job = (struct imap_job){.s = s, .cmd = *cmd, .work = work};
    if (conn_submit(s->conn, imap_job_work, imap_job_done, job) < 0) {
        free(job);
        imap_reply_tagged(s, *cmd, "NO", "[UNAVAILABLE] Server busy; try again");
        return;
    }
    *cmd = NULL;
}

void imap_out_tagged(FILE *out, const struct imap_cmd *cmd, const char *status, const char *fmt,
                     ...)
{
    va_list ap;

    fprintf(out, "%.*s %s ", (int)cmd->tag_len, cmd->tag, status);
    va_start(ap, fmt);
    /* GCC with -fsanitize=undefined cannot see that fmt is never NULL here and warns */
    if (fmt != NULL)
        vfprintf(out, fmt, ap);
    va_end(ap);
    fputs("\r\n", out);
}

void imap_out_string(FILE *out, const char *s, size_t len)
{
    bool quotable = len < 1024;

    for (size_t i = 0; quotable && i < len; i++)
        quotable = s[i] != '\r' && s[i] != '\n' && s[i] != '\0' && (unsigned char)s[i] < 0x80;
    if (!quotable) {
        fprintf(out, "{%zu}\r\n", len);
        fwrite(s, 1, len, out);
        return;
    }
    fputc('"', out);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            fputc('\\', out);
        fputc(s[i], out);
    }
    fputc('"', out);
}

void imap_out_mailbox(FILE *out, const char *name)
{
    size_t len = strlen(name), olen;
    size_t cap = len * 4 + 16;
    char *enc = malloc(cap);

    /* RFC 3501 5.1.3: names go out in modified UTF-7 */
    if (enc != NULL && imap_mutf7_encode(name, len, enc, cap, &olen) == 0)
        imap_out_string(out, enc, olen);
    else
        imap_out_string(out, name, len);
    free(enc);
}
