/* readership: the administrator's view of shared folders with the command line of Sun's
 * readership where it fits: -s sets an ACL entry (SETACL for any owner), -l lists what each
 * identifier was given, and with no option each shared folder is counted. Folders are named
 * Sun's way, user/OWNER/FOLDER. Sun counts the users who read a folder lately; Halyard keeps no
 * per-user read data, so the count is of the identifiers that may read it (right r). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "halyard-build.h"
#include "imapd-rights.h"
#include "store-conf.h"
#include "store.h"

static void readership_usage(FILE *f)
{
    fputs("usage: readership [-f msg.conf]                  shared folders and how many may "
          "read each\n"
          "       readership [-f msg.conf] -l               each identifier's shared folders\n"
          "       readership [-f msg.conf] -s user/OWNER/FOLDER IDENTIFIER RIGHTS\n"
          "                                             set an ACL entry (RFC 4314 letters\n"
          "                                             lrswipkxtea; \"\" removes it)\n"
          "  Exit status: 0 done, 1 refused or failed, 2 usage error.\n",
          f);
}

static int readership_fail(const struct store_error *err)
{
    fprintf(stderr, "readership: %s\n", err->msg);
    return 1;
}

/* An owner's mailboxes and ACL entries, read once. */
struct owner_view {
    struct store_mailbox *mbs;
    size_t nmbs;
    struct store_acl *acl;
    size_t nacl;
};

static int owner_load(struct store *st, const char *owner, struct owner_view *v)
{
    struct store_error err;

    memset(v, 0, sizeof(*v));
    if (store_acl_list(st, owner, 0, &v->acl, &v->nacl, &err) != STORE_OK ||
        store_mailbox_list(st, owner, NULL, &v->mbs, &v->nmbs, &err) != STORE_OK) {
        fprintf(stderr, "readership: %s: %s\n", owner, err.msg);
        return -1;
    }
    return 0;
}

static void owner_free(struct owner_view *v)
{
    store_mailbox_list_free(&v->mbs, v->nmbs);
    store_acl_list_free(&v->acl, v->nacl);
}

static const char *owner_name_of(const struct owner_view *v, uint32_t id)
{
    for (size_t i = 0; i < v->nmbs; i++)
        if (v->mbs[i].id == id)
            return v->mbs[i].name;
    return NULL;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* With no option: each mailbox that has ACL entries, with the number of identifiers (negative
 * ones aside) that hold r on it. */
static int readership_count(struct store *st, char **owners, size_t n)
{
    char **sorted = calloc(n + 1, sizeof(*sorted));
    int rc = 0;

    if (sorted == NULL)
        return 1;
    memcpy(sorted, owners, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), str_cmp);
    for (size_t i = 0; i < n; i++) {
        struct owner_view v;
        if (i > 0 && strcmp(sorted[i], sorted[i - 1]) == 0)
            continue;
        if (owner_load(st, sorted[i], &v) < 0) {
            rc = 1;
            continue;
        }
        for (size_t m = 0; m < v.nmbs; m++) {
            unsigned readers = 0, entries = 0;
            for (size_t a = 0; a < v.nacl; a++) {
                unsigned mask = 0;
                char bad;
                if (v.acl[a].mailbox_id != v.mbs[m].id || v.acl[a].identifier[0] == '-')
                    continue;
                entries++;
                if (imap_rights_parse(v.acl[a].rights, strlen(v.acl[a].rights), &mask, &bad) &&
                    (mask & IMAP_RIGHT_R))
                    readers++;
            }
            if (entries > 0)
                printf("user/%s/%s %u\n", sorted[i], v.mbs[m].name, readers);
        }
        owner_free(&v);
    }
    free(sorted);
    return rc;
}

/* -l: "IDENTIFIER: user/OWNER/FOLDER RIGHTS" for each entry the sharing index leads to. */
static int readership_list(struct store *st, char **ids, char **owners, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        struct owner_view v;
        if (owner_load(st, owners[i], &v) < 0) {
            rc = 1;
            continue;
        }
        for (size_t a = 0; a < v.nacl; a++) {
            const char *name = owner_name_of(&v, v.acl[a].mailbox_id);
            if (name != NULL && strcmp(v.acl[a].identifier, ids[i]) == 0)
                printf("%s: user/%s/%s %s\n", ids[i], owners[i], name, v.acl[a].rights);
        }
        owner_free(&v);
    }
    return rc;
}

/* -s: the entry as SETACL makes it; the owner always has every right. */
static int readership_set(struct store *st, const char *folder, const char *id, const char *rights)
{
    struct store_mailbox mb;
    struct store_error err;
    char given[STORE_USER_MAX + 1], owner[STORE_USER_MAX + 1], canon[16], bad = 0;
    unsigned mask;
    const char *slash = strncmp(folder, "user/", 5) == 0 ? strchr(folder + 5, '/') : NULL;

    if (slash == NULL || (size_t)(slash - folder - 5) > STORE_USER_MAX) {
        fprintf(stderr, "readership: %s: write the folder as user/OWNER/FOLDER\n", folder);
        return 2;
    }
    memcpy(given, folder + 5, (size_t)(slash - folder - 5));
    given[slash - folder - 5] = '\0';
    if (!imap_rights_parse(rights, strlen(rights), &mask, &bad)) {
        fprintf(stderr,
                "readership: unknown right '%c' (rights are lrswipkxtea, and the "
                "obsolete c and d)\n",
                bad);
        return 2;
    }
    if (id[0] == '\0' || strcasecmp(id[0] == '-' ? id + 1 : id, given) == 0) {
        fprintf(stderr, "readership: %s: the owner of a folder always has all rights\n",
                id[0] ? id : "\"\"");
        return 1;
    }
    if (store_user_canon(given, owner, &err) != STORE_OK ||
        store_mailbox_get(st, owner, slash + 1, &mb, &err) != STORE_OK)
        return readership_fail(&err);
    imap_rights_format(mask, false, canon);
    enum store_err rc = store_acl_set(st, owner, mb.id, id, canon, &err);
    store_mailbox_clear(&mb);
    return rc == STORE_OK ? 0 : readership_fail(&err);
}

int main(int argc, char **argv)
{
    const char *conf_path = CONF_DEFAULT_PATH;
    bool list = false, set = false;
    struct conf *conf = NULL;
    struct store *st = NULL;
    struct store_error err;
    char *cerr = NULL, **ids = NULL, **owners = NULL;
    size_t n = 0;
    int opt, rc = 1;

    while ((opt = getopt(argc, argv, "f:lsh")) != -1) {
        switch (opt) {
        case 'f':
            conf_path = optarg;
            break;
        case 'l':
            list = true;
            break;
        case 's':
            set = true;
            break;
        case 'h':
            readership_usage(stdout);
            return 0;
        default:
            readership_usage(stderr);
            return 2;
        }
    }
    if ((list && set) || (set ? argc - optind != 3 : argc != optind)) {
        readership_usage(stderr);
        return 2;
    }
    if (conf_load(conf_path, &conf, &cerr) < 0) {
        fprintf(stderr, "readership: %s\n", cerr ? cerr : "cannot read the configuration");
        free(cerr);
        return 1;
    }
    if (store_open_admin(conf, false, &st, &err) != STORE_OK) {
        readership_fail(&err);
        goto out;
    }
    if (set) {
        rc = readership_set(st, argv[optind], argv[optind + 1], argv[optind + 2]);
        goto out;
    }
    if (store_share_list(st, &ids, &owners, &n, &err) != STORE_OK) {
        readership_fail(&err);
        goto out;
    }
    rc = list ? readership_list(st, ids, owners, n) : readership_count(st, owners, n);
out:
    store_strings_free(&ids, n);
    store_strings_free(&owners, n);
    store_close(&st);
    conf_free(&conf);
    return rc;
}
