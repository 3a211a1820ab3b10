/* deliver: pipe delivery for MTAs without LMTP (Postfix pipe(8), procmail-style setups). The
 * message comes on standard input, the recipients on the command line; the exit status follows
 * sysexits.h so the MTA bounces (67) or retries (75). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "notify.h"
#include "conf.h"
#include "halyard-build.h"
#include "lmtpd.h"
#include "store-conf.h"

static void deliver_usage(FILE *f)
{
    fputs("usage: deliver [-f msg.conf] [-m MAILBOX] [-s SENDER] ADDRESS...\n"
          "  Reads one message from standard input and files it for each ADDRESS (a user name\n"
          "  or user+detail@domain, as LMTP resolves it) in MAILBOX (default: the +detail folder,\n"
          "  else INBOX). -s records the envelope sender as Return-Path.\n"
          "  Exit status: 0 delivered to all, 67 an unknown recipient, 75 try again later,\n"
          "  64 usage error.\n",
          f);
}

/* The worst outcome decides: a temporary failure (retry everything) beats an unknown user. */
static int deliver_status(const char *reply, int status)
{
    if (reply[0] == '4')
        return EX_TEMPFAIL;
    if (reply[0] == '5' && status == EX_OK)
        return strncmp(reply, "550 5.1.1", 9) == 0 ? EX_NOUSER : EX_TEMPFAIL;
    return status;
}

int main(int argc, char **argv)
{
    const char *conf_path = CONF_DEFAULT_PATH, *mailbox = NULL, *sender = NULL;
    struct conf *conf = NULL;
    struct store *st = NULL;
    struct store_spool *spool = NULL;
    struct store_error err;
    struct lmtpd_rcpt *rcpts = NULL;
    char *cerr = NULL;
    int opt, status = EX_OK;
    unsigned n;

    while ((opt = getopt(argc, argv, "f:m:s:h")) != -1) {
        switch (opt) {
        case 'f':
            conf_path = optarg;
            break;
        case 'm':
            mailbox = optarg;
            break;
        case 's':
            sender = optarg;
            break;
        case 'h':
            deliver_usage(stdout);
            return EX_OK;
        default:
            deliver_usage(stderr);
            return EX_USAGE;
        }
    }
    n = (unsigned)(argc - optind);
    if (n == 0 || n > LMTPD_MAX_RCPTS) {
        deliver_usage(stderr);
        return EX_USAGE;
    }
    if (conf_load(conf_path, &conf, &cerr) < 0) {
        fprintf(stderr, "deliver: %s\n", cerr ? cerr : "cannot read the configuration");
        free(cerr);
        return EX_TEMPFAIL;
    }
    rcpts = calloc(n, sizeof(*rcpts));
    if (rcpts == NULL || store_open_admin(conf, false, &st, &err) != STORE_OK ||
        store_spool_create(st, &spool, &err) != STORE_OK) {
        fprintf(stderr, "deliver: %s\n", rcpts == NULL ? "out of memory" : err.msg);
        status = EX_TEMPFAIL;
        goto out;
    }
    notify_configure(st, conf, "deliver");
    if (sender != NULL) {
        char line[LMTP_PATH_MAX + 32];
        int len = snprintf(line, sizeof(line), "Return-Path: <%s>\r\n", sender);
        if (len < 0 || (size_t)len >= sizeof(line) ||
            store_spool_write(spool, line, (size_t)len, &err) != STORE_OK) {
            fprintf(stderr, "deliver: bad sender or spool failure\n");
            status = EX_TEMPFAIL;
            goto out;
        }
    }
    if (store_spool_write_fd(spool, STDIN_FILENO, &err) != STORE_OK ||
        store_spool_finish(spool, 0, 0, &err) != STORE_OK) {
        fprintf(stderr, "deliver: cannot spool the message: %s\n", err.msg);
        status = EX_TEMPFAIL;
        goto out;
    }
    /* a bare user name is an address in the default domain (any domain when none is set) */
    const char *domain = conf_str(conf, "service.defaultdomain");
    for (unsigned i = 0; i < n; i++) {
        const char *a = argv[optind + i];
        bool bare = strchr(a, '@') == NULL;
        snprintf(rcpts[i].addr, sizeof(rcpts[i].addr), "%s%s%s", a, bare ? "@" : "",
                 bare ? (*domain != '\0' ? domain : "localhost") : "");
        lmtpd_rcpt_resolve(st, conf, &rcpts[i]);
        if (rcpts[i].accepted && mailbox != NULL)
            snprintf(rcpts[i].folder, sizeof(rcpts[i].folder), "%s", mailbox);
    }
    lmtpd_deliver(st, spool, rcpts, n);
    for (unsigned i = 0; i < n; i++) {
        /* the message is already safe; a failed fold is left to the next reader */
        if (rcpts[i].fold_due && store_fold(st, rcpts[i].user, &err) != STORE_OK)
            fprintf(stderr, "deliver: folding the journal of %s: %s\n", rcpts[i].user, err.msg);
        status = deliver_status(rcpts[i].reply, status);
        if (rcpts[i].reply[0] != '2')
            fprintf(stderr, "deliver: %s%s%s%s\n", rcpts[i].reply,
                    rcpts[i].detail[0] != '\0' ? " (" : "", rcpts[i].detail,
                    rcpts[i].detail[0] != '\0' ? ")" : "");
    }
out:
    free(rcpts);
    store_spool_free(&spool);
    store_close(&st);
    conf_free(&conf);
    return status;
}
