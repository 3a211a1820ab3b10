/* reconstruct: checks users' indexes against their message files and repairs them, or rebuilds
 * an unreadable index from the files, in the spirit of Sun's reconstruct. One line per finding,
 * then one summary line per user. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "halyard-build.h"
#include "store-conf.h"
#include "store-reconstruct.h"

enum reconstruct_exit { RECONSTRUCT_CLEAN = 0, RECONSTRUCT_PROBLEMS = 1, RECONSTRUCT_ERROR = 2 };

static void reconstruct_usage(FILE *f)
{
    fputs("usage: reconstruct [-f msg.conf] [-n | -R] -a\n"
          "       reconstruct [-f msg.conf] [-n | -R] USER...\n"
          "  Checks each user's index against the message files and repairs what is wrong; an\n"
          "  index that cannot be read is rebuilt from the files (flags and keywords are lost).\n"
          "  -a  every user with a mail folder     -n  check and report only, change nothing\n"
          "  -R  rebuild from the files even when the index reads (the old one is kept)\n"
          "  Output: one line per problem (USER: MAILBOX: UID N: what (what was done)), then\n"
          "  USER: clean, or USER: N problems (repaired | not repaired).\n"
          "  Exit status: 0 clean, 1 problems found (repaired unless -n), 2 usage error or a\n"
          "  user that could not be checked.\n",
          f);
}

static bool reconstruct_finished;

/* Tokyo Cabinet ends the process with exit(1) when a damaged page asks it for an absurd amount
 * of memory; 1 would read as "problems found". */
static void reconstruct_guard(void)
{
    if (reconstruct_finished)
        return;
    fflush(stdout);
    fputs("reconstruct: stopped by a fatal error in the index library; the index is damaged, "
          "rebuild it with -R\n",
          stderr);
    _exit(RECONSTRUCT_ERROR);
}

static void reconstruct_print(const struct store_rc_finding *f, void *ctx)
{
    printf("%s: ", f->user);
    if (f->mailbox != NULL)
        printf("%s: ", f->mailbox);
    if (f->uid != 0)
        printf("UID %" PRIu32 ": ", f->uid);
    fputs(f->text, stdout);
    if (f->action != NULL)
        printf(" (%s)", f->action);
    putchar('\n');
}

struct share_report {
    const char *user;
    bool repair;
};

static void reconstruct_share_print(const char *id, bool added, void *ctx)
{
    const struct share_report *r = ctx;

    printf("%s: sharing index: %s %s (%s)\n", r->user, id,
           added ? "has an ACL entry but is not listed" : "is listed without an ACL entry",
           !r->repair ? "not repaired"
           : added    ? "added"
                      : "dropped");
}

/* One user: findings, the summary line, and this user's exit status. The store's sharing index
 * (lright.tcb) is brought in line with the user's ACLs after the index itself. */
static int reconstruct_one(struct store *st, const char *user, const struct store_rc_options *opt)
{
    struct store_error err;
    struct share_report sr = {.user = user, .repair = opt->repair};
    unsigned problems, shares;

    if (store_reconstruct_user(st, user, opt, &problems, &err) != STORE_OK) {
        fflush(stdout);
        fprintf(stderr, "reconstruct: %s: %s\n", user, err.msg);
        return RECONSTRUCT_ERROR;
    }
    /* an index found unreadable and left so (-n) has no ACLs to compare: its findings say it */
    if (store_share_sync(st, user, opt->repair, reconstruct_share_print, &sr, &shares, &err) !=
        STORE_OK) {
        if (problems == 0) {
            fflush(stdout);
            fprintf(stderr, "reconstruct: %s: %s\n", user, err.msg);
            return RECONSTRUCT_ERROR;
        }
        shares = 0;
    }
    problems += shares;
    if (problems == 0) {
        printf("%s: clean\n", user);
        return RECONSTRUCT_CLEAN;
    }
    printf("%s: %u problem%s (%s)\n", user, problems, problems == 1 ? "" : "s",
           opt->repair ? "repaired" : "not repaired");
    return RECONSTRUCT_PROBLEMS;
}

int main(int argc, char **argv)
{
    const char *conf_path = CONF_DEFAULT_PATH;
    struct store_rc_options opt = {.repair = true, .report = reconstruct_print};
    struct conf *conf = NULL;
    struct store *st = NULL;
    struct store_error err;
    char *cerr = NULL, **users = NULL;
    size_t nusers = 0;
    bool all = false;
    int opt_c, status = RECONSTRUCT_CLEAN, one;

    while ((opt_c = getopt(argc, argv, "f:anRh")) != -1) {
        switch (opt_c) {
        case 'f':
            conf_path = optarg;
            break;
        case 'a':
            all = true;
            break;
        case 'n':
            opt.repair = false;
            break;
        case 'R':
            opt.rebuild = true;
            break;
        case 'h':
            reconstruct_usage(stdout);
            return RECONSTRUCT_CLEAN;
        default:
            reconstruct_usage(stderr);
            return RECONSTRUCT_ERROR;
        }
    }
    if (all == (optind < argc) || (opt.rebuild && !opt.repair)) {
        reconstruct_usage(stderr);
        return RECONSTRUCT_ERROR;
    }
    if (conf_load(conf_path, &conf, &cerr) < 0) {
        fprintf(stderr, "reconstruct: %s\n", cerr ? cerr : "cannot read the configuration");
        free(cerr);
        return RECONSTRUCT_ERROR;
    }
    atexit(reconstruct_guard);
    if (store_open_admin(conf, false, &st, &err) != STORE_OK ||
        (all && store_reconstruct_list_users(st, &users, &nusers, &err) != STORE_OK)) {
        fprintf(stderr, "reconstruct: %s\n", err.msg);
        status = RECONSTRUCT_ERROR;
        goto out;
    }
    for (size_t i = 0; all && i < nusers; i++)
        if ((one = reconstruct_one(st, users[i], &opt)) > status)
            status = one;
    for (int i = optind; !all && i < argc; i++)
        if ((one = reconstruct_one(st, argv[i], &opt)) > status)
            status = one;
out:
    store_strings_free(&users, nusers);
    store_close(&st);
    conf_free(&conf);
    reconstruct_finished = true;
    return status;
}
