/* reconstruct's view of a home on disk: mailbox directories named by id, their sidecars and
 * body files named by UID, and the homes under the store root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-mime.h"
#include "store-reconstruct-private.h"

void *store_rc_grow(void *v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return v;
    *cap = *cap ? *cap * 2 : 16;
    v = realloc(v, *cap * size);
    if (v == NULL)
        abort();
    return v;
}

/* qsort and bsearch, which must not be handed a NULL array even when it is empty. */
void store_rc_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

void *store_rc_search(const void *key, const void *base, size_t n, size_t size,
                      int (*cmp)(const void *, const void *))
{
    return n > 0 ? bsearch(key, base, n, size, cmp) : NULL;
}

/* A decimal UID as the store writes it: no sign, no leading zero, 1..UINT32_MAX. */
static bool disk_parse_uid(const char *s, uint32_t *uid_r)
{
    uint64_t v = 0;

    if (*s < '1' || *s > '9')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > UINT32_MAX)
            return false;
    }
    *uid_r = (uint32_t)v;
    return true;
}

/* Eight lower-case hex digits, not zero. */
static bool disk_parse_id(const char *s, uint32_t *id_r)
{
    uint32_t v = 0;

    if (strlen(s) != 8)
        return false;
    for (int i = 0; i < 8; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            v = v << 4 | (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v << 4 | (uint32_t)(c - 'a' + 10);
        else
            return false;
    }
    *id_r = v;
    return v != 0;
}

/* "halyard-mailbox 1", "uidvalidity N", "name X": anything else leaves name NULL. */
static void disk_read_sidecar(const char *dirpath, struct store_rc_dir *d)
{
    char *path = store_path_join(dirpath, "mailbox"), *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long uv = 0;
    bool magic = false, have_uv = false;
    char *name = NULL;
    FILE *f = fopen(path, "re");

    free(path);
    if (f == NULL)
        return;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n')
            line[--len] = '\0';
        if (strcmp(line, "halyard-mailbox 1") == 0)
            magic = true;
        else if (strncmp(line, "uidvalidity ", 12) == 0 && sscanf(line + 12, "%lu", &uv) == 1)
            have_uv = uv > 0 && uv <= UINT32_MAX;
        else if (strncmp(line, "name ", 5) == 0 && name == NULL &&
                 (name = strdup(line + 5)) == NULL)
            abort();
    }
    free(line);
    fclose(f);
    if (magic && have_uv && name != NULL && *name != '\0') {
        d->name = name;
        d->uidvalidity = (uint32_t)uv;
    } else {
        free(name);
    }
}

static int disk_file_cmp(const void *a, const void *b)
{
    const struct store_rc_file *x = a, *y = b;

    return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static enum store_err disk_scan_dir(const char *home, struct store_rc_dir *d,
                                    struct store_error *err)
{
    char *dirpath = store_path_mailbox_dir(home, d->id);
    DIR *dh = opendir(dirpath);
    struct dirent *de;
    struct stat sb;
    size_t cap = 0;
    uint32_t uid;

    if (dh == NULL) {
        enum store_err rc = store_fail_errno(err, errno, "open %s", dirpath);
        free(dirpath);
        return rc;
    }
    disk_read_sidecar(dirpath, d);
    while ((de = readdir(dh)) != NULL) {
        if (!disk_parse_uid(de->d_name, &uid) ||
            fstatat(dirfd(dh), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
            continue;
        d->files = store_rc_grow(d->files, &cap, d->nfiles, sizeof(*d->files));
        d->files[d->nfiles++] =
            (struct store_rc_file){uid, (uint64_t)sb.st_size, (int64_t)sb.st_mtime};
    }
    closedir(dh);
    free(dirpath);
    store_rc_sort(d->files, d->nfiles, sizeof(*d->files), disk_file_cmp);
    return STORE_OK;
}

static int disk_dir_cmp(const void *a, const void *b)
{
    const struct store_rc_dir *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

enum store_err store_rc_scan_disk(const char *home, struct store_rc_disk *disk,
                                  struct store_error *err)
{
    DIR *dh = opendir(home);
    struct dirent *de;
    struct stat sb;
    size_t cap = 0;
    uint32_t id;
    enum store_err rc = STORE_OK;

    memset(disk, 0, sizeof(*disk));
    if (dh == NULL)
        return store_fail_errno(err, errno, "open %s", home);
    while ((de = readdir(dh)) != NULL) {
        if (!disk_parse_id(de->d_name, &id) ||
            fstatat(dirfd(dh), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(sb.st_mode))
            continue;
        disk->dirs = store_rc_grow(disk->dirs, &cap, disk->n, sizeof(*disk->dirs));
        disk->dirs[disk->n++] = (struct store_rc_dir){.id = id};
    }
    closedir(dh);
    store_rc_sort(disk->dirs, disk->n, sizeof(*disk->dirs), disk_dir_cmp);
    for (size_t i = 0; rc == STORE_OK && i < disk->n; i++) {
        rc = disk_scan_dir(home, &disk->dirs[i], err);
        disk->nfiles += disk->dirs[i].nfiles;
    }
    if (rc != STORE_OK)
        store_rc_disk_free(disk);
    return rc;
}

void store_rc_disk_free(struct store_rc_disk *disk)
{
    for (size_t i = 0; i < disk->n; i++) {
        free(disk->dirs[i].name);
        free(disk->dirs[i].files);
    }
    free(disk->dirs);
    memset(disk, 0, sizeof(*disk));
}

struct store_rc_dir *store_rc_find_dir(const struct store_rc_disk *disk, uint32_t id)
{
    struct store_rc_dir key = {.id = id};

    return store_rc_search(&key, disk->dirs, disk->n, sizeof(*disk->dirs), disk_dir_cmp);
}

const struct store_rc_file *store_rc_find_file(const struct store_rc_dir *dir, uint32_t uid)
{
    struct store_rc_file key = {.uid = uid};

    if (dir == NULL)
        return NULL;
    return store_rc_search(&key, dir->files, dir->nfiles, sizeof(*dir->files), disk_file_cmp);
}

enum store_err store_rc_read_mime(const char *path, struct store_mime *mime_r,
                                  uint32_t *header_size_r, uint64_t *size_r,
                                  struct store_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    void *map = NULL;

    memset(mime_r, 0, sizeof(*mime_r));
    if (fd < 0)
        return store_fail_errno(err, errno, "open %s", path);
    if (fstat(fd, &sb) != 0) {
        enum store_err rc = store_fail_errno(err, errno, "stat %s", path);
        close(fd);
        return rc;
    }
    /* mapped, not read: the parser wants the bytes at once, the page cache already has them */
    if (sb.st_size > 0 &&
        (map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED) {
        enum store_err rc = store_fail_errno(err, errno, "map %s", path);
        close(fd);
        return rc;
    }
    close(fd);
    store_mime_compute(map ? map : "", (size_t)sb.st_size, mime_r, header_size_r);
    if (map != NULL)
        munmap(map, (size_t)sb.st_size);
    *size_r = (uint64_t)sb.st_size;
    return STORE_OK;
}

static int disk_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* user/<hh>/<name>: a home is a directory whose name is a canonical user name. */
enum store_err store_reconstruct_list_users(struct store *st, char ***users_r, size_t *n_r,
                                            struct store_error *err)
{
    char *top = store_path_join(st->root, "user"), *bucket;
    char canon[STORE_USER_MAX + 1];
    DIR *dh = opendir(top), *bh;
    struct dirent *de, *ue;
    size_t n = 0, cap = 0;
    char **v = NULL;

    *users_r = NULL;
    *n_r = 0;
    if (dh == NULL) {
        enum store_err rc = errno == ENOENT ? STORE_OK : store_fail_errno(err, errno, "%s", top);
        free(top);
        return rc;
    }
    while ((de = readdir(dh)) != NULL) {
        if (strlen(de->d_name) != 2 || de->d_name[0] == '.')
            continue;
        bucket = store_path_join(top, de->d_name);
        if ((bh = opendir(bucket)) != NULL) {
            while ((ue = readdir(bh)) != NULL) {
                if (store_user_canon(ue->d_name, canon, NULL) != STORE_OK ||
                    strcmp(canon, ue->d_name) != 0)
                    continue;
                v = store_rc_grow(v, &cap, n, sizeof(*v));
                if ((v[n++] = strdup(canon)) == NULL)
                    abort();
            }
            closedir(bh);
        }
        free(bucket);
    }
    closedir(dh);
    free(top);
    store_rc_sort(v, n, sizeof(*v), disk_name_cmp);
    *users_r = v;
    *n_r = n;
    return STORE_OK;
}
