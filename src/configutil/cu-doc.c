/* Reading, editing and atomically rewriting msg.conf for configutil. The administrator's
 * comments and layout survive every rewrite; only the lines of changed parameters move. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cu-doc.h"

static void cu_line_clear(struct cu_line *l)
{
    free(l->text);
    free(l->canon);
    free(l->value);
    free(l->why);
}

void cu_doc_free(struct cu_doc **doc)
{
    if (*doc == NULL)
        return;
    for (size_t i = 0; i < (*doc)->count; i++)
        cu_line_clear(&(*doc)->lines[i]);
    free((*doc)->lines);
    free(*doc);
    *doc = NULL;
}

/* Appends a line; takes ownership of its strings (freed on failure too). */
static int cu_doc_append(struct cu_doc *doc, struct cu_line line)
{
    if (doc->count == doc->cap) {
        size_t cap = doc->cap == 0 ? 32 : doc->cap * 2;
        struct cu_line *lines = realloc(doc->lines, cap * sizeof(*lines));

        if (lines == NULL) {
            cu_line_clear(&line);
            return -1;
        }
        doc->lines = lines;
        doc->cap = cap;
    }
    doc->lines[doc->count++] = line;
    return 0;
}

/* Splits text into a line; an entry of a known parameter gets canon and value, and the first
 * problem with it (syntax, unknown name, bad value) goes to why. */
static struct cu_line cu_line_parse(char *text)
{
    struct cu_line line = {.text = text};
    char *name, *value;
    const char *why;
    const struct param *p;

    switch (conf_parse_line(text, &name, &value, &why)) {
    case CONF_LINE_NONE:
        return line;
    case CONF_LINE_ERROR:
        line.why = strdup(why);
        return line;
    case CONF_LINE_ENTRY:
        break;
    }
    p = param_find(name);
    if (p == NULL) {
        if (asprintf(&line.why, "%s: unknown parameter", name) < 0)
            line.why = NULL;
    } else {
        line.canon = param_canonical_name(p, name);
        line.value = value;
        value = NULL;
        param_validate(p, name, line.value, &line.why);
    }
    free(name);
    free(value);
    return line;
}

/* Reads every line of f into doc; with strict, problems are collected in err_r. */
static int cu_doc_load(FILE *f, const char *path, struct cu_doc *doc, bool strict, char **err_r)
{
    char *text = NULL;
    size_t size = 0, errs_len = 0;
    unsigned lineno = 0;
    FILE *errs = NULL;
    int ret = 0;

    *err_r = NULL;
    if (strict && (errs = open_memstream(err_r, &errs_len)) == NULL)
        return -1;
    while (getline(&text, &size, f) >= 0) {
        char *copy;

        lineno++;
        text[strcspn(text, "\n")] = '\0';
        copy = strdup(text);
        if (copy == NULL || cu_doc_append(doc, cu_line_parse(copy)) < 0) {
            ret = -1;
            break;
        }
        const struct cu_line *l = &doc->lines[doc->count - 1];

        /* In an import an empty value clears, so only its name has to be right. */
        if (strict && l->why != NULL && !(l->canon != NULL && l->value[0] == '\0')) {
            fprintf(errs, "%s%s:%u: %s", ret < 0 ? "\n" : "", path, lineno, l->why);
            ret = -1;
        }
    }
    free(text);
    if (strict && fclose(errs) != 0)
        ret = -1;
    return ret;
}

int cu_doc_read(const char *path, struct cu_doc **doc_r, char **err_r)
{
    FILE *f = fopen(path, "re");
    struct cu_doc *doc;

    *err_r = NULL;
    if (f == NULL && errno != ENOENT) {
        if (asprintf(err_r, "%s: %s", path, strerror(errno)) < 0)
            *err_r = NULL;
        return -1;
    }
    doc = calloc(1, sizeof(*doc));
    if (doc == NULL) {
        *err_r = strdup("out of memory");
        if (f != NULL)
            fclose(f);
        return -1;
    }
    if (f != NULL) {
        int ret = cu_doc_load(f, path, doc, false, err_r);
        bool failed = ferror(f) || ret < 0;

        fclose(f);
        if (failed) {
            if (asprintf(err_r, "%s: read error", path) < 0)
                *err_r = NULL;
            cu_doc_free(&doc);
            return -1;
        }
    }
    *doc_r = doc;
    return 0;
}

/* A second line for one parameter in an import is refused: which one was meant is a guess. */
static char *cu_doc_duplicate(const struct cu_doc *doc, const char *path)
{
    char *msg = NULL;

    for (size_t i = 0; i < doc->count; i++) {
        for (size_t j = 0; doc->lines[i].canon != NULL && j < i; j++) {
            if (doc->lines[j].canon != NULL &&
                strcmp(doc->lines[i].canon, doc->lines[j].canon) == 0) {
                if (asprintf(&msg, "%s:%zu: %s: set again (first at line %zu)", path, i + 1,
                             doc->lines[i].canon, j + 1) < 0)
                    msg = NULL;
                return msg != NULL ? msg : strdup("out of memory");
            }
        }
    }
    return NULL;
}

int cu_doc_read_import(const char *path, struct cu_doc **doc_r, char **err_r)
{
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "re");
    struct cu_doc *doc = calloc(1, sizeof(*doc));
    int ret;

    *err_r = NULL;
    if (doc == NULL || f == NULL) {
        if (asprintf(err_r, "%s: %s", path, strerror(errno)) < 0)
            *err_r = NULL;
        free(doc);
        return -1;
    }
    ret = cu_doc_load(f, is_stdin ? "(stdin)" : path, doc, true, err_r);
    if (ret == 0) {
        free(*err_r); /* the empty list of problems */
        *err_r = NULL;
    }
    if (ret == 0 && ferror(f)) {
        ret = -1;
        if (asprintf(err_r, "%s: read error", path) < 0)
            *err_r = NULL;
    }
    if (ret == 0 && (*err_r = cu_doc_duplicate(doc, path)) != NULL)
        ret = -1;
    if (!is_stdin)
        fclose(f);
    if (ret < 0) {
        if (*err_r == NULL)
            *err_r = strdup("out of memory");
        cu_doc_free(&doc);
        return -1;
    }
    *doc_r = doc;
    return 0;
}

const char *cu_doc_get(const struct cu_doc *doc, const char *canon)
{
    for (size_t i = 0; i < doc->count; i++) {
        if (doc->lines[i].canon != NULL && strcmp(doc->lines[i].canon, canon) == 0)
            return doc->lines[i].value;
    }
    return NULL;
}

static void cu_doc_remove(struct cu_doc *doc, size_t i)
{
    cu_line_clear(&doc->lines[i]);
    memmove(&doc->lines[i], &doc->lines[i + 1], (doc->count - i - 1) * sizeof(doc->lines[0]));
    doc->count--;
}

int cu_doc_set(struct cu_doc *doc, const char *canon, const char *value)
{
    int changed = 0;
    bool placed = value == NULL;

    for (size_t i = 0; i < doc->count;) {
        struct cu_line *l = &doc->lines[i];

        if (l->canon == NULL || strcmp(l->canon, canon) != 0) {
            i++;
            continue;
        }
        if (!placed && strcmp(l->value, value) == 0) {
            placed = true;
            i++;
            continue;
        }
        changed = 1;
        if (placed) {
            cu_doc_remove(doc, i);
            continue;
        }
        char *copy = strdup(value);

        if (copy == NULL)
            return -1;
        free(l->value);
        free(l->text);
        free(l->why);
        l->value = copy;
        l->text = NULL;
        l->why = NULL;
        placed = true;
        i++;
    }
    if (placed)
        return changed;
    struct cu_line line = {.canon = strdup(canon), .value = strdup(value)};

    if (line.canon == NULL || line.value == NULL) {
        cu_line_clear(&line);
        return -1;
    }
    return cu_doc_append(doc, line) < 0 ? -1 : 1;
}

struct conf *cu_doc_conf(const struct cu_doc *doc, const char *path, char **problem_r)
{
    struct conf *conf = conf_defaults();
    char *err = NULL;

    *problem_r = NULL;
    for (size_t i = 0; i < doc->count; i++) {
        const struct cu_line *l = &doc->lines[i];
        const char *why = l->why;

        if (why == NULL && l->canon != NULL && conf_set(conf, l->canon, l->value, &err) < 0)
            why = err != NULL ? err : "out of memory";
        if (why != NULL && *problem_r == NULL) {
            if (asprintf(problem_r, "%s:%zu: %s", path, i + 1, why) < 0)
                *problem_r = NULL;
        }
        free(err);
        err = NULL;
    }
    return conf;
}

int cu_mkdirs(const char *dir)
{
    char *copy = strdup(dir);
    int ret = 0;

    if (copy == NULL)
        return -1;
    for (char *s = copy + 1; ret == 0; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;

        *s = '\0';
        if (mkdir(copy, 0755) < 0 && errno != EEXIST)
            ret = -1;
        *s = saved;
        if (saved == '\0')
            break;
    }
    free(copy);
    return ret;
}

static char *cu_doc_text(const struct cu_doc *doc)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    bool ok = f != NULL;

    for (size_t i = 0; ok && i < doc->count; i++) {
        const struct cu_line *l = &doc->lines[i];
        char *value;

        if (l->text != NULL) {
            fprintf(f, "%s\n", l->text);
            continue;
        }
        value = conf_format_value(l->value);
        ok = value != NULL;
        if (ok)
            fprintf(f, "%s = %s\n", l->canon, value);
        free(value);
    }
    if (f != NULL && fclose(f) != 0)
        ok = false;
    if (!ok) {
        free(text);
        return NULL;
    }
    return text;
}

/* With mode -1 the new file takes over the old one's mode and owner, so the daemons' group can
 * still read it; a first file is 0640 with the directory's group (secrets live in it). */
static void cu_file_inherit(int fd, const char *path, const char *dir, int mode)
{
    struct stat st;

    if (mode >= 0) {
        (void)fchmod(fd, (mode_t)mode);
    } else if (stat(path, &st) == 0) {
        (void)fchmod(fd, st.st_mode & 07777);
        if (fchown(fd, st.st_uid, st.st_gid) < 0) {
            /* Not root: the file becomes ours, which is what an unprivileged user edits. */
        }
    } else if (stat(dir, &st) == 0) {
        (void)fchmod(fd, 0640);
        if (fchown(fd, (uid_t)-1, st.st_gid) < 0) {
            /* Not in that group: keep ours. */
        }
    }
}

static int cu_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int ret;

    if (fd < 0)
        return -1;
    ret = fsync(fd);
    close(fd);
    return ret;
}

static int cu_write_all(int fd, const char *text)
{
    size_t len = strlen(text);

    while (len > 0) {
        ssize_t n = write(fd, text, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

int cu_write_atomic(const char *path, const char *text, int mode, char **err_r)
{
    char *dcopy = strdup(path), *bcopy = strdup(path), *tmp = NULL;
    const char *dir, *step = "out of memory";
    int fd = -1, ret = -1;
    bool pending = false; /* the temp file exists and must not outlive a failure */

    if (dcopy == NULL || bcopy == NULL)
        goto out;
    dir = dirname(dcopy);
    if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, basename(bcopy)) < 0) {
        tmp = NULL;
        goto out;
    }
    step = "creating the directory";
    if (cu_mkdirs(dir) < 0)
        goto out;
    step = "creating a temporary file";
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        goto out;
    pending = true;
    cu_file_inherit(fd, path, dir, mode);
    step = "writing";
    if (cu_write_all(fd, text) < 0 || fsync(fd) < 0)
        goto out;
    step = "closing";
    ret = close(fd);
    fd = -1;
    if (ret < 0)
        goto out;
    step = "renaming";
    ret = rename(tmp, path);
    if (ret < 0)
        goto out;
    pending = false;
    step = "syncing the directory";
    ret = cu_sync_dir(dir);
out:
    if (ret < 0 && asprintf(err_r, "%s: %s: %s", path, step, strerror(errno)) < 0)
        *err_r = NULL;
    if (fd >= 0)
        close(fd);
    if (pending)
        unlink(tmp);
    free(tmp);
    free(dcopy);
    free(bcopy);
    return ret;
}

int cu_doc_write(const struct cu_doc *doc, const char *path, char **err_r)
{
    char *text = cu_doc_text(doc);
    int ret;

    if (text == NULL) {
        *err_r = strdup("out of memory");
        return -1;
    }
    ret = cu_write_atomic(path, text, -1, err_r);
    free(text);
    return ret;
}

int cu_doc_lock(const char *path, char **err_r)
{
    char *dcopy = strdup(path), *bcopy = strdup(path), *lockpath = NULL;
    const char *dir = dcopy != NULL ? dirname(dcopy) : NULL;
    int fd = -1;

    if (dir != NULL && bcopy != NULL &&
        asprintf(&lockpath, "%s/.%s.lock", dir, basename(bcopy)) >= 0) {
        if (cu_mkdirs(dir) == 0)
            fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        /* flock, not fcntl: the lock belongs to the open file, so it holds across our fork()s
         * of systemctl and is released whatever way we exit. */
        if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
            close(fd);
            fd = -1;
        }
        if (fd < 0 && asprintf(err_r, "%s: %s", lockpath, strerror(errno)) < 0)
            *err_r = NULL;
    } else {
        *err_r = strdup("out of memory");
    }
    free(lockpath);
    free(dcopy);
    free(bcopy);
    return fd;
}
