/* mailuser: manage the store's embedded user table (the default when no LDAP host is set).
 * Finds the store through msg.conf and runs as the store's owner when started as root. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "halyard-build.h"
#include "mailuser.h"
#include "store-conf.h"

static const char usage[] =
    "usage: mailuser [-f msg.conf] COMMAND [OPTIONS] [NAME]\n"
    "  add NAME [--password-stdin | --no-password] [--status S] [--inet-status S]\n"
    "           [--quota-bytes N] [--quota-messages N] [--services RULES]\n"
    "                                                       add a user and its INBOX\n"
    "  passwd NAME [--password-stdin | --no-password]       set or remove the password\n"
    "  del NAME [--keep-mail]                              delete the user (and its mail)\n"
    "  list                                                 list users and their status\n"
    "  show NAME                                            show a user, its quota and usage\n"
    "  set NAME [--status S] [--inet-status S] [--quota-bytes N] [--quota-messages N]\n"
    "           [--services RULES]                          change a user\n"
    "  -f FILE  msg.conf naming store.partition.primary.path; default " CONF_DEFAULT_PATH "\n"
    "  The password is asked twice on the terminal, or read as one line from standard input\n"
    "  with --password-stdin. --status (mailUserStatus): active, inactive, disabled, deleted,\n"
    "  removed, hold; --inet-status (inetUserStatus): active, inactive, deleted; the first\n"
    "  that is not active decides. Sizes take K, M, G, T; 0 means unlimited. RULES:\n"
    "  mailAllowedServiceAccess syntax (\"+imaps,pops:ALL$+imap:192.0.2.0/24\"), checked and\n"
    "  stored as given; \"\" allows every service from everywhere. With a password, add and\n"
    "  passwd also store its SCRAM-SHA-256 keys (local.auth.scramiterations; 0: none).\n"
    "  Exit status: 0 done, 1 refused or failed, 2 usage error.\n";

int main(int argc, char **argv)
{
    const char *file = CONF_DEFAULT_PATH;
    struct conf *conf = NULL;
    struct store *st = NULL;
    struct store_error err;
    char *cerr = NULL;
    int c, rc;

    while ((c = getopt(argc, argv, "+f:h")) != -1) {
        switch (c) {
        case 'f':
            file = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return MAILUSER_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(usage, stderr);
        return MAILUSER_EXIT_USAGE;
    }
    if (conf_load(file, &conf, &cerr) != 0) {
        fprintf(stderr, "mailuser: %s\n", cerr);
        free(cerr);
        return MAILUSER_EXIT_FAIL;
    }
    /* only add may bring a store into being; the others have nothing to work on without one */
    if (store_open_admin(conf, strcmp(argv[optind], "add") == 0, &st, &err) != STORE_OK) {
        fprintf(stderr, "mailuser: %s%s\n", err.msg,
                err.code == STORE_ENOTFOUND ? " (mailuser add creates it)" : "");
        conf_free(&conf);
        return MAILUSER_EXIT_FAIL;
    }
    mailuser_set_scram_iterations((unsigned long)conf_int(conf, "local.auth.scramiterations"));
    rc = mailuser_run(st, argc - optind, argv + optind, stdout, stderr);
    store_close(&st);
    conf_free(&conf);
    return rc;
}
