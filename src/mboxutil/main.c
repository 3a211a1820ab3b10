/* mboxutil: list (with ACLs), create, delete and rename mailboxes and show quota use, with the
 * command line of Sun's mboxutil where it fits (-l, -x, -c, -d, -r, -p, -q). Mailboxes are
 * named either with -u USER and a mailbox name, or Sun's way as user/USER/MAILBOX. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "halyard-build.h"
#include "store-conf.h"
#include "store-user.h"
#include "store.h"

static void mboxutil_usage(FILE *f)
{
    fputs("usage: mboxutil [-f msg.conf] -l [-x] [-u USER] [-p PATTERN]\n"
          "                                             list mailboxes (-x: with their ACLs)\n"
          "       mboxutil [-f msg.conf] -c MAILBOX [-u USER] [--special-use ATTRS]\n"
          "                                                     create; ATTRS are RFC 6154's\n"
          "       mboxutil [-f msg.conf] -d MAILBOX [-u USER]        delete (with its messages)\n"
          "       mboxutil [-f msg.conf] -r OLD NEW [-u USER]        rename\n"
          "       mboxutil [-f msg.conf] -q [-u USER]                quota and usage\n"
          "  MAILBOX is a name with -u USER, or user/USER/NAME. PATTERN uses IMAP's * and %.\n"
          "  Exit status: 0 done, 1 refused or failed, 2 usage error.\n",
          f);
}

/* Splits "user/USER/NAME" when no -u was given. */
static int mboxutil_split(const char *arg, const char *user, char **user_r, char **name_r)
{
    if (user != NULL) {
        *user_r = strdup(user);
        *name_r = strdup(arg);
        return 0;
    }
    if (strncmp(arg, "user/", 5) != 0 || strchr(arg + 5, '/') == NULL) {
        fprintf(stderr, "mboxutil: %s: name the user with -u or write user/USER/MAILBOX\n", arg);
        return -1;
    }
    const char *slash = strchr(arg + 5, '/');
    *user_r = strndup(arg + 5, (size_t)(slash - arg - 5));
    *name_r = strdup(slash + 1);
    return 0;
}

static int mboxutil_fail(const struct store_error *err)
{
    fprintf(stderr, "mboxutil: %s\n", err->msg);
    return 1;
}

/* Sun's -x: after the name, the owner with every right, then the ACL's entries (RFC 4314). */
static void mboxutil_acl(const char *owner, const struct store_acl *acl, size_t n, uint32_t id)
{
    printf("  %s lrswipkxtea", owner);
    for (size_t i = 0; i < n; i++)
        if (acl[i].mailbox_id == id)
            printf(" %s %s", acl[i].identifier, acl[i].rights);
}

/* One user's mailboxes, named user/USER/NAME when prefix is set. */
static int mboxutil_list_user(struct store *st, const char *user, const char *pattern, bool prefix,
                              bool with_acl)
{
    struct store_mailbox *mbs;
    struct store_acl *acl = NULL;
    size_t n, nacl = 0;
    struct store_error err;

    if (store_mailbox_list(st, user, pattern, &mbs, &n, &err) != STORE_OK ||
        (with_acl && store_acl_list(st, user, 0, &acl, &nacl, &err) != STORE_OK)) {
        store_mailbox_list_free(&mbs, n);
        return mboxutil_fail(&err);
    }
    for (size_t i = 0; i < n; i++) {
        printf("%8" PRIu32 " %12" PRIu64 " %10" PRIu32 " %8" PRIu32 "  %s%s%s%s", mbs[i].messages,
               mbs[i].bytes, mbs[i].uidvalidity, mbs[i].uidnext, prefix ? "user/" : "",
               prefix ? user : "", prefix ? "/" : "", mbs[i].name);
        if (with_acl)
            mboxutil_acl(user, acl, nacl, mbs[i].id);
        putchar('\n');
    }
    store_acl_list_free(&acl, nacl);
    store_mailbox_list_free(&mbs, n);
    return 0;
}

static int mboxutil_list(struct store *st, const char *user, const char *pattern, bool with_acl)
{
    struct store_user *users;
    size_t nusers;
    struct store_error err;
    int rc = 0;

    printf("%8s %12s %10s %8s  %s%s\n", "msgs", "bytes", "uidvalid", "uidnext", "mailbox",
           with_acl ? "  acl" : "");
    if (user != NULL)
        return mboxutil_list_user(st, user, pattern, false, with_acl);
    if (store_user_list(st, &users, &nusers, &err) != STORE_OK)
        return mboxutil_fail(&err);
    for (size_t u = 0; u < nusers; u++)
        if (mboxutil_list_user(st, users[u].name, pattern, true, with_acl) != 0)
            rc = 1;
    store_user_list_free(&users, nusers);
    return rc;
}

static int mboxutil_quota(struct store *st, const char *user)
{
    struct store_user u;
    struct store_usage use;
    struct store_error err;

    if (store_user_get(st, user, &u, &err) != STORE_OK ||
        store_usage_get(st, u.name, &use, &err) != STORE_OK)
        return mboxutil_fail(&err);
    printf("user %s\n", u.name);
    printf("  storage  %" PRIu64 " bytes of %s%" PRIu64 "\n", use.bytes,
           u.quota_bytes ? "" : "unlimited ", u.quota_bytes);
    printf("  messages %" PRIu64 " of %s%" PRIu64 "\n", use.messages,
           u.quota_messages ? "" : "unlimited ", u.quota_messages);
    store_user_clear(&u);
    return 0;
}

enum mboxutil_action { ACT_NONE, ACT_LIST, ACT_CREATE, ACT_DELETE, ACT_RENAME, ACT_QUOTA };

int main(int argc, char **argv)
{
    const char *conf_path = CONF_DEFAULT_PATH, *user = NULL, *pattern = NULL, *arg = NULL;
    const char *use = NULL; /* --special-use */
    bool with_acl = false;  /* -x */
    enum mboxutil_action act = ACT_NONE;
    struct conf *conf = NULL;
    struct store *st = NULL;
    struct store_error err;
    char *cerr = NULL, *u = NULL, *name = NULL, *u2 = NULL, *name2 = NULL;
    int opt, rc = 1;

    static const struct option longopts[] = {{"special-use", required_argument, NULL, 'S'},
                                             {NULL, 0, NULL, 0}};
    while ((opt = getopt_long(argc, argv, "f:lc:d:r:qu:p:xh", longopts, NULL)) != -1) {
        enum mboxutil_action next = ACT_NONE;
        switch (opt) {
        case 'S':
            use = optarg;
            continue;
        case 'f':
            conf_path = optarg;
            continue;
        case 'u':
            user = optarg;
            continue;
        case 'p':
            pattern = optarg;
            continue;
        case 'x':
            with_acl = true;
            continue;
        case 'l':
            next = ACT_LIST;
            break;
        case 'q':
            next = ACT_QUOTA;
            break;
        case 'c':
            next = ACT_CREATE, arg = optarg;
            break;
        case 'd':
            next = ACT_DELETE, arg = optarg;
            break;
        case 'r':
            next = ACT_RENAME, arg = optarg;
            break;
        case 'h':
            mboxutil_usage(stdout);
            return 0;
        default:
            mboxutil_usage(stderr);
            return 2;
        }
        if (act != ACT_NONE) {
            fputs("mboxutil: give one of -l, -c, -d, -r, -q\n", stderr);
            return 2;
        }
        act = next;
    }
    if (act == ACT_NONE || (act == ACT_RENAME) != (optind + 1 == argc) ||
        (act != ACT_RENAME && optind != argc) || (act == ACT_QUOTA && user == NULL) ||
        (with_acl && act != ACT_LIST)) {
        mboxutil_usage(stderr);
        return 2;
    }
    /* RFC 6154 4: the attributes are the mailbox's /private/specialuse annotation */
    char *use_canon = use != NULL ? strdup(use) : NULL;
    if (use != NULL &&
        (act != ACT_CREATE || use_canon == NULL || !store_specialuse_canon(use, use_canon))) {
        fprintf(stderr, "mboxutil: --special-use goes with -c and takes RFC 6154 attributes "
                        "(\\All \\Archive \\Drafts \\Flagged \\Junk \\Sent \\Trash)\n");
        free(use_canon);
        return 2;
    }
    if (conf_load(conf_path, &conf, &cerr) < 0) {
        fprintf(stderr, "mboxutil: %s\n", cerr ? cerr : "cannot read the configuration");
        free(cerr);
        return 1;
    }
    if (store_open_admin(conf, false, &st, &err) != STORE_OK) {
        mboxutil_fail(&err);
        goto out;
    }
    switch (act) {
    case ACT_LIST:
        rc = mboxutil_list(st, user, pattern, with_acl);
        break;
    case ACT_QUOTA:
        rc = mboxutil_quota(st, user);
        break;
    case ACT_CREATE:
    case ACT_DELETE:
    case ACT_RENAME:
        if (mboxutil_split(arg, user, &u, &name) < 0)
            break;
        if (act == ACT_CREATE) {
            /* a mailbox belongs to a known user; the folder is made on first use */
            struct store_user su = {0};
            struct store_mailbox mb = {0};
            if (store_user_get(st, u, &su, &err) != STORE_OK ||
                store_home_ensure(st, su.name, &err) != STORE_OK ||
                store_mailbox_create(st, su.name, name, &err) != STORE_OK ||
                (use_canon != NULL &&
                 (store_mailbox_get(st, su.name, name, &mb, &err) != STORE_OK ||
                  store_annotation_set(st, su.name, mb.id, STORE_SPECIALUSE_ENTRY, use_canon,
                                       &err) != STORE_OK))) {
                rc = mboxutil_fail(&err);
            } else {
                rc = 0;
            }
            store_mailbox_clear(&mb);
            store_user_clear(&su);
        } else if (act == ACT_DELETE) {
            rc = store_mailbox_delete(st, u, name, &err) == STORE_OK ? 0 : mboxutil_fail(&err);
        } else {
            if (mboxutil_split(argv[optind], user, &u2, &name2) < 0)
                break;
            if (strcmp(u, u2) != 0) {
                fprintf(stderr, "mboxutil: a mailbox cannot move to another user\n");
                break;
            }
            rc = store_mailbox_rename(st, u, name, name2, &err) == STORE_OK ? 0
                                                                            : mboxutil_fail(&err);
        }
        break;
    case ACT_NONE:
        break;
    }
out:
    free(use_canon);
    free(u);
    free(name);
    free(u2);
    free(name2);
    store_close(&st);
    conf_free(&conf);
    return rc;
}
