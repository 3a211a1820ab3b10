/* Reading msg.conf into the administrator's overrides, and answering values from them or from
 * the table's defaults. Every line is validated at load, so a daemon never runs on a bad value. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"

struct conf_entry {
    char *name; /* canonical: the table's spelling, host suffix in lower case */
    char *value;
    const struct param *param;
    unsigned line; /* 0 when set through conf_set */
};

struct conf {
    struct conf_entry *entries;
    size_t count, cap;
};

static void *conf_xalloc(void *p)
{
    /* The interface promises conf_defaults never fails; out of memory at start-up is fatal. */
    if (p == NULL)
        abort();
    return p;
}

struct conf *conf_defaults(void)
{
    return conf_xalloc(calloc(1, sizeof(struct conf)));
}

void conf_free(struct conf **conf)
{
    if (*conf == NULL)
        return;
    for (size_t i = 0; i < (*conf)->count; i++) {
        free((*conf)->entries[i].name);
        free((*conf)->entries[i].value);
    }
    free((*conf)->entries);
    free(*conf);
    *conf = NULL;
}

static struct conf_entry *conf_find_entry(const struct conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->count; i++) {
        if (strcasecmp(conf->entries[i].name, name) == 0)
            return &conf->entries[i];
    }
    return NULL;
}

/* Adds or replaces; takes ownership of canon and value. */
static int conf_put(struct conf *conf, const struct param *p, char *canon, char *value,
                    unsigned line)
{
    struct conf_entry *e = conf_find_entry(conf, canon);

    if (e != NULL) {
        free(e->value);
        free(canon);
        e->value = value;
        return 0;
    }
    if (conf->count == conf->cap) {
        size_t cap = conf->cap == 0 ? 16 : conf->cap * 2;
        struct conf_entry *entries = realloc(conf->entries, cap * sizeof(*entries));

        if (entries == NULL) {
            free(canon);
            free(value);
            return -1;
        }
        conf->entries = entries;
        conf->cap = cap;
    }
    conf->entries[conf->count++] = (struct conf_entry){canon, value, p, line};
    return 0;
}

/* Checks name and value; on success returns the row and the canonical name (caller frees). */
static const struct param *conf_check(const char *name, const char *value, char **canon_r,
                                      char **err_r)
{
    const struct param *p = param_find(name);

    if (p == NULL) {
        if (asprintf(err_r, "%s: unknown parameter", name) < 0)
            *err_r = NULL;
        return NULL;
    }
    if (!param_validate(p, name, value, err_r))
        return NULL;
    *canon_r = param_canonical_name(p, name);
    if (*canon_r == NULL) {
        *err_r = strdup("out of memory");
        return NULL;
    }
    return p;
}

int conf_set(struct conf *conf, const char *name, const char *value, char **err_r)
{
    char *canon, *copy;
    const struct param *p = conf_check(name, value, &canon, err_r);

    if (p == NULL)
        return -1;
    copy = strdup(value);
    if (copy == NULL || conf_put(conf, p, canon, copy, 0) < 0) {
        if (copy == NULL)
            free(canon);
        *err_r = strdup("out of memory");
        return -1;
    }
    return 0;
}

/* One line of the file; returns 0 or -1 with the message (without the file:line prefix). */
static int conf_load_line(struct conf *conf, const char *text, unsigned line, char **err_r)
{
    char *name, *value, *canon;
    const char *why;
    const struct param *p;
    const struct conf_entry *prev;

    switch (conf_parse_line(text, &name, &value, &why)) {
    case CONF_LINE_NONE:
        return 0;
    case CONF_LINE_ERROR:
        *err_r = strdup(why);
        return -1;
    case CONF_LINE_ENTRY:
        break;
    }
    p = conf_check(name, value, &canon, err_r);
    prev = p != NULL ? conf_find_entry(conf, canon) : NULL;
    if (prev != NULL) {
        /* Two lines for one parameter is an editing accident; which one wins is a guess. */
        if (asprintf(err_r, "%s: set again (first at line %u)", canon, prev->line) < 0)
            *err_r = NULL;
        free(canon);
        p = NULL;
    }
    free(name);
    if (p == NULL) {
        free(value);
        return -1;
    }
    if (conf_put(conf, p, canon, value, line) < 0) {
        *err_r = strdup("out of memory");
        return -1;
    }
    return 0;
}

static int conf_load_file(FILE *f, const char *path, struct conf *conf, char **err_r)
{
    char *text = NULL, *why = NULL;
    size_t size = 0;
    unsigned line = 0;
    int ret = 0;

    errno = 0;
    while (ret == 0 && getline(&text, &size, f) >= 0) {
        line++;
        text[strcspn(text, "\n")] = '\0';
        if (conf_load_line(conf, text, line, &why) < 0) {
            if (asprintf(err_r, "%s:%u: %s", path, line, why != NULL ? why : "out of memory") < 0)
                *err_r = NULL;
            ret = -1;
        }
    }
    if (ret == 0 && ferror(f)) {
        if (asprintf(err_r, "%s: %s", path, strerror(errno)) < 0)
            *err_r = NULL;
        ret = -1;
    }
    free(why);
    free(text);
    return ret;
}

int conf_load(const char *path, struct conf **conf_r, char **err_r)
{
    FILE *f = fopen(path, "re");
    struct conf *conf;
    int ret;

    *err_r = NULL;
    if (f == NULL && errno == ENOENT) {
        *conf_r = conf_defaults();
        return 0;
    }
    if (f == NULL) {
        if (asprintf(err_r, "%s: %s", path, strerror(errno)) < 0)
            *err_r = NULL;
        return -1;
    }
    conf = conf_defaults();
    ret = conf_load_file(f, path, conf, err_r);
    fclose(f);
    if (ret < 0) {
        conf_free(&conf);
        return -1;
    }
    *conf_r = conf;
    return 0;
}

static const struct param *conf_row(const char *name)
{
    const struct param *p = param_find(name);

    /* Asking for a parameter the table lacks is a programming error, not a configuration one. */
    if (p == NULL) {
        fprintf(stderr, "halyard: conf: unknown parameter %s\n", name);
        abort();
    }
    return p;
}

const char *conf_str(const struct conf *conf, const char *name)
{
    const struct param *p = conf_row(name);
    const struct conf_entry *e = conf_find_entry(conf, name);

    return e != NULL ? e->value : p->def;
}

const char *conf_str_host(const struct conf *conf, const char *name, const char *host)
{
    const struct param *p = conf_row(name);
    const struct conf_entry *e;
    char *full;

    if (host != NULL && host[0] != '\0' && (p->flags & PARAM_HOST_SUFFIX)) {
        if (asprintf(&full, "%s.%s", p->name, host) < 0)
            abort();
        e = conf_find_entry(conf, full);
        free(full);
        if (e != NULL)
            return e->value;
    }
    return conf_str(conf, name);
}

long conf_int(const struct conf *conf, const char *name)
{
    return strtol(conf_str(conf, name), NULL, 10);
}

long conf_int_host(const struct conf *conf, const char *name, const char *host)
{
    return strtol(conf_str_host(conf, name, host), NULL, 10);
}

bool conf_bool(const struct conf *conf, const char *name)
{
    return param_parse_bool(conf_str(conf, name)) == 1;
}

bool conf_is_set(const struct conf *conf, const char *name)
{
    return conf_find_entry(conf, name) != NULL;
}

bool conf_next(const struct conf *conf, size_t *iter, const char **name_r, const char **value_r)
{
    if (*iter >= conf->count)
        return false;
    *name_r = conf->entries[*iter].name;
    *value_r = conf->entries[*iter].value;
    (*iter)++;
    return true;
}
