/* The store as msg.conf configures it. Tools started as root switch to the store's owner before
 * touching it: a root-owned index or body file would lock the daemons out of a user's mail. */
#include "store-conf.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static enum store_err store_conf_fail(struct store_error *err, enum store_err code,
                                      const char *what, const char *root)
{
    if (err != NULL) {
        err->code = code;
        snprintf(err->msg, sizeof(err->msg), "%s %s: %s", what, root, strerror(errno));
    }
    return code;
}

void store_apply_conf(struct store *st, const struct conf *conf)
{
    store_set_lock_timeout(st, (unsigned)conf_int(conf, "local.store.locktimeout"));
}

enum store_err store_open_conf(const struct conf *conf, struct store **st_r,
                               struct store_error *err)
{
    enum store_err rc = store_open(conf_str(conf, "store.partition.primary.path"), st_r, err);

    if (rc == STORE_OK)
        store_apply_conf(*st_r, conf);
    return rc;
}

enum store_err store_conf_refresh(struct store **st, const struct conf *conf, bool *path_changed_r,
                                  struct store_error *err)
{
    *path_changed_r = false;
    if (*st == NULL)
        return store_open_conf(conf, st, err);
    *path_changed_r = strcmp(store_root(*st), conf_str(conf, "store.partition.primary.path")) != 0;
    store_apply_conf(*st, conf);
    return STORE_OK;
}

/* mkdir -p of root's parents (0755) and root itself (0750) for uid:gid. */
static int store_conf_make_root(const char *root, uid_t uid, gid_t gid)
{
    char *p = strdup(root);

    if (p == NULL)
        return -1;
    for (char *s = p + 1; *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        mkdir(p, 0755);
        *s = '/';
    }
    free(p);
    if (mkdir(root, 0750) != 0 && errno != EEXIST)
        return -1;
    return chown(root, uid, gid);
}

enum store_err store_open_admin(const struct conf *conf, bool create, struct store **st_r,
                                struct store_error *err)
{
    const char *root = conf_str(conf, "store.partition.primary.path");
    struct stat sb;
    uid_t uid;
    gid_t gid;

    *st_r = NULL;
    if (stat(root, &sb) != 0) {
        if (!create)
            return store_conf_fail(err, STORE_ENOTFOUND, "no store at", root);
    }
    if (geteuid() == 0) {
        if (stat(root, &sb) == 0) {
            uid = sb.st_uid;
            gid = sb.st_gid;
        } else {
            struct passwd *pw = getpwnam(conf_str(conf, "local.serveruser"));
            /* no service user on this machine (development): the store stays root's */
            uid = pw != NULL ? pw->pw_uid : 0;
            gid = pw != NULL ? pw->pw_gid : 0;
            if (store_conf_make_root(root, uid, gid) != 0)
                return store_conf_fail(err, STORE_EIO, "cannot create the store", root);
        }
        if (uid != 0 && (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0))
            return store_conf_fail(err, STORE_EIO, "cannot become the owner of", root);
    }
    return store_open_conf(conf, st_r, err);
}
