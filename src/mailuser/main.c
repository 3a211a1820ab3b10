/* mailuser: manage the store's embedded user table (the default when no LDAP host is set).
 * Finds the store through msg.conf and runs as the store's owner when started as root. */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "halyard-build.h"
#include "mailuser.h"

static const char usage[] =
    "usage: mailuser [-f msg.conf] COMMAND [OPTIONS] [NAME]\n"
    "  add NAME [--password-stdin | --no-password] [--status S] [--quota-bytes N]\n"
    "           [--quota-messages N] [--services RULES]   add a user and its INBOX\n"
    "  passwd NAME [--password-stdin | --no-password]       set or remove the password\n"
    "  del NAME [--keep-mail]                              delete the user (and its mail)\n"
    "  list                                                 list users and their status\n"
    "  show NAME                                            show a user, its quota and usage\n"
    "  set NAME [--status S] [--quota-bytes N] [--quota-messages N] [--services RULES]\n"
    "  -f FILE  msg.conf naming store.partition.primary.path; default " CONF_DEFAULT_PATH "\n"
    "  The password is asked twice on the terminal, or read as one line from standard input\n"
    "  with --password-stdin. Status: active, inactive, disabled, hold. Sizes take K, M, G, T;\n"
    "  0 means unlimited. RULES: mailAllowedServiceAccess syntax, stored as given.\n"
    "  Exit status: 0 done, 1 refused or failed, 2 usage error.\n";

/* Files the store creates must belong to the daemons' user, so root works as the owner of the
 * store root (or as local.serveruser, who then gets a new root). */
static int drop_to_store_owner(const char *root, const struct conf *conf)
{
    struct stat sb;
    struct passwd *pw;
    uid_t uid;
    gid_t gid;

    if (geteuid() != 0)
        return 0;
    if (stat(root, &sb) == 0) {
        if (sb.st_uid == 0)
            return 0; /* a root-owned store (development): stay root */
        uid = sb.st_uid;
        gid = sb.st_gid;
    } else {
        pw = getpwnam(conf_str(conf, "local.serveruser"));
        if (pw == NULL)
            return 0; /* no service user on this machine: the store will be root's */
        uid = pw->pw_uid;
        gid = pw->pw_gid;
        char *p = strdup(root);
        for (char *s = p + 1; p != NULL && *s; s++) {
            if (*s != '/')
                continue;
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
        if (p == NULL || (mkdir(root, 0750) != 0 && errno != EEXIST) ||
            chown(root, uid, gid) != 0) {
            fprintf(stderr, "mailuser: cannot create the store %s: %s\n", root, strerror(errno));
            free(p);
            return -1;
        }
        free(p);
    }
    if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        fprintf(stderr, "mailuser: cannot switch to the store's owner: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

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
    const char *root = conf_str(conf, "store.partition.primary.path");
    struct stat sb;
    /* Only add may bring a store into being; the others have nothing to work on without one. */
    if (strcmp(argv[optind], "add") != 0 && stat(root, &sb) != 0) {
        fprintf(stderr, "mailuser: no store at %s (mailuser add creates it)\n", root);
        conf_free(&conf);
        return MAILUSER_EXIT_FAIL;
    }
    if (drop_to_store_owner(root, conf) != 0) {
        conf_free(&conf);
        return MAILUSER_EXIT_FAIL;
    }
    if (store_open(root, &st, &err) != STORE_OK) {
        fprintf(stderr, "mailuser: store %s: %s\n", root, err.msg);
        conf_free(&conf);
        return MAILUSER_EXIT_FAIL;
    }
    rc = mailuser_run(st, argc - optind, argv + optind, stdout, stderr);
    store_close(&st);
    conf_free(&conf);
    return rc;
}
