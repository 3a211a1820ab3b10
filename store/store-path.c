/* Where things live under the store root, and the few directory operations the store needs
 * (mkdir -p, fsync of a directory, removal of a whole mailbox or home). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-private.h"

static char *path_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *path_printf(const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    return s;
}

/* Homes are spread over 256 directories by an FNV-1a hash of the name, so that no directory
 * holds every user of a large site. */
static unsigned user_bucket(const char *user)
{
    uint32_t h = 2166136261u;

    for (; *user; user++)
        h = (h ^ (unsigned char)*user) * 16777619u;
    return h & 0xff;
}

char *store_path_home(const struct store *st, const char *user_canon)
{
    return path_printf("%s/user/%02x/%s", st->root, user_bucket(user_canon), user_canon);
}

char *store_path_index(const struct store *st, const char *user_canon)
{
    return path_printf("%s/user/%02x/%s/index.tcb", st->root, user_bucket(user_canon), user_canon);
}

char *store_path_users(const struct store *st)
{
    return path_printf("%s/users.tcb", st->root);
}

char *store_path_tmp(const struct store *st)
{
    return path_printf("%s/tmp", st->root);
}

char *store_path_mailbox_dir(const char *home, uint32_t mailbox_id)
{
    return path_printf("%s/%08x", home, mailbox_id);
}

char *store_path_body(const char *home, uint32_t mailbox_id, uint32_t uid)
{
    return path_printf("%s/%08x/%u", home, mailbox_id, uid);
}

char *store_path_join(const char *a, const char *b)
{
    return path_printf("%s/%s", a, b);
}

enum store_err store_mkdirs(const char *path, struct store_error *err)
{
    char *p = strdup(path), *s;

    if (p == NULL)
        abort();
    for (s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0750) != 0 && errno != EEXIST) {
            enum store_err rc = store_fail_errno(err, errno, "mkdir %s", p);
            free(p);
            return rc;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    free(p);
    return STORE_OK;
}

enum store_err store_fsync_dir(const char *path, struct store_error *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    enum store_err rc = STORE_OK;

    if (fd < 0)
        return store_fail_errno(err, errno, "open %s", path);
    if (fsync(fd) != 0)
        rc = store_fail_errno(err, errno, "fsync %s", path);
    close(fd);
    return rc;
}

enum store_err store_remove_tree(const char *path, struct store_error *err)
{
    DIR *d = opendir(path);
    struct dirent *de;
    struct stat sb;
    enum store_err rc = STORE_OK;
    char *sub;

    if (d == NULL) {
        if (errno == ENOENT)
            return STORE_OK;
        if (errno == ENOTDIR)
            return unlink(path) == 0 ? STORE_OK : store_fail_errno(err, errno, "unlink %s", path);
        return store_fail_errno(err, errno, "opendir %s", path);
    }
    while (rc == STORE_OK && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        sub = store_path_join(path, de->d_name);
        if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
            rc = store_remove_tree(sub, err);
        else if (unlink(sub) != 0 && errno != ENOENT)
            rc = store_fail_errno(err, errno, "unlink %s", sub);
        free(sub);
    }
    closedir(d);
    if (rc == STORE_OK && rmdir(path) != 0 && errno != ENOENT)
        rc = store_fail_errno(err, errno, "rmdir %s", path);
    return rc;
}
