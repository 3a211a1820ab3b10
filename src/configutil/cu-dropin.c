/* Rendering and writing the configutil drop-ins. Rendering is a pure function of the explicitly
 * set values, so the files say exactly what an administrator changed and nothing else. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu-doc.h"
#include "cu-dropin.h"

#define CU_UNIT_DIR "/etc/systemd/system"

bool cu_unit_listed(const char *list, const char *unit)
{
    size_t len = strlen(unit);

    for (const char *s = list; s != NULL && *s != '\0';) {
        size_t wlen = strcspn(s, " ");

        if (wlen == len && strncmp(s, unit, len) == 0)
            return true;
        s += wlen;
        s += strspn(s, " ");
    }
    return false;
}

size_t cu_table_units(unsigned kinds, char units[][CU_UNIT_NAME_MAX], size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < param_count; i++) {
        const struct param *p = &param_table[i];

        if (p->unit == NULL || !(kinds & (1u << p->dropin)))
            continue;
        for (const char *s = p->unit; *s != '\0';) {
            size_t len = strcspn(s, " ");
            bool seen = false;

            for (size_t j = 0; j < n && !seen; j++)
                seen = strlen(units[j]) == len && strncmp(units[j], s, len) == 0;
            if (!seen && n < max && len < CU_UNIT_NAME_MAX) {
                memcpy(units[n], s, len);
                units[n++][len] = '\0';
            }
            s += len;
            s += strspn(s, " ");
        }
    }
    return n;
}

/* systemd expands %-specifiers in every unit setting and unquotes C-style inside "...". */
static void cu_put_unit_value(FILE *f, const char *prefix, const char *value, bool quote)
{
    if (quote)
        fputc('"', f);
    for (const char *s = prefix; *s != '\0'; s++)
        fputc(*s, f);
    for (const char *s = value; *s != '\0'; s++) {
        if (*s == '%')
            fputc('%', f);
        else if (quote && (*s == '"' || *s == '\\'))
            fputc('\\', f);
        fputc(*s, f);
    }
    if (quote)
        fputc('"', f);
    fputc('\n', f);
}

static bool cu_dropin_applies(const struct conf *conf, const struct param *p, const char *unit,
                              enum param_dropin kind)
{
    return p->dropin == kind && cu_unit_listed(p->unit, unit) && conf_is_set(conf, p->name);
}

static void cu_render_socket(FILE *f, const struct conf *conf, const char *unit)
{
    bool started = false;

    for (size_t i = 0; i < param_count; i++) {
        const struct param *p = &param_table[i];

        if (!cu_dropin_applies(conf, p, unit, DROPIN_LISTEN))
            continue;
        /* The empty assignment drops the shipped unit's ListenStream= first. */
        if (!started)
            fputs("[Socket]\nListenStream=\n", f);
        started = true;
        fprintf(f, "ListenStream=%s\n", conf_str(conf, p->name));
    }
}

static void cu_render_service(FILE *f, const struct conf *conf, const char *unit)
{
    bool started = false;

    for (size_t i = 0; i < param_count; i++) {
        const struct param *p = &param_table[i];
        const char *value = conf_str(conf, p->name);
        char *assign = NULL;

        if (!cu_dropin_applies(conf, p, unit, DROPIN_ENV) &&
            !cu_dropin_applies(conf, p, unit, DROPIN_RWPATHS))
            continue;
        if (!started)
            fputs("[Service]\n", f);
        started = true;
        if (p->dropin == DROPIN_ENV) {
            fputs("Environment=", f);
            if (asprintf(&assign, "%s=", p->envname) < 0)
                abort();
            cu_put_unit_value(f, assign, value, true);
            free(assign);
        } else {
            /* Paths are a space-separated list there, so one with blanks must be quoted. */
            fputs("ReadWritePaths=", f);
            cu_put_unit_value(f, "", value, strpbrk(value, " \t\"\\") != NULL);
        }
    }
}

int cu_dropin_render(const struct conf *conf, const char *unit, char **text_r)
{
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);

    *text_r = NULL;
    if (f == NULL)
        return -1;
    cu_render_socket(f, conf, unit);
    cu_render_service(f, conf, unit);
    if (fclose(f) != 0) {
        free(body);
        return -1;
    }
    if (len > 0 && asprintf(text_r, "%s%s", CU_DROPIN_HEADER, body) < 0) {
        *text_r = NULL;
        free(body);
        return -1;
    }
    free(body);
    return 0;
}

/* The current text of path, or NULL when it does not exist; -1 on other errors. */
static int cu_read_small(const char *path, char **text_r)
{
    FILE *f = fopen(path, "re");
    size_t len = 0;
    FILE *out;
    int c;

    *text_r = NULL;
    if (f == NULL)
        return errno == ENOENT ? 0 : -1;
    out = open_memstream(text_r, &len);
    if (out == NULL) {
        fclose(f);
        return -1;
    }
    while ((c = getc(f)) != EOF)
        putc(c, out);
    fclose(out);
    fclose(f);
    return 0;
}

static int cu_dropin_sync_unit(const struct conf *conf, const char *root, const char *unit,
                               bool *changed_r, char **err_r)
{
    char *dir = NULL, *path = NULL, *want = NULL, *have = NULL;
    int ret = -1;

    if (asprintf(&dir, "%s%s/%s.d", root, CU_UNIT_DIR, unit) < 0) {
        dir = NULL;
        goto oom;
    }
    if (asprintf(&path, "%s/%s", dir, CU_DROPIN_NAME) < 0) {
        path = NULL;
        goto oom;
    }
    if (cu_dropin_render(conf, unit, &want) < 0)
        goto oom;
    if (cu_read_small(path, &have) < 0) {
        if (asprintf(err_r, "%s: %s", path, strerror(errno)) < 0)
            *err_r = NULL;
        goto out;
    }
    ret = 0;
    if (want == NULL && have != NULL) {
        ret = unlink(path);
        if (ret < 0 && asprintf(err_r, "%s: %s", path, strerror(errno)) < 0)
            *err_r = NULL;
        (void)rmdir(dir); /* only when empty: an administrator's own drop-ins stay */
        *changed_r = true;
    } else if (want != NULL && (have == NULL || strcmp(want, have) != 0)) {
        ret = cu_write_atomic(path, want, 0644, err_r);
        *changed_r = true;
    }
    goto out;
oom:
    *err_r = strdup("out of memory");
out:
    free(dir);
    free(path);
    free(want);
    free(have);
    return ret;
}

int cu_dropin_sync(const struct conf *conf, const char *root, bool *changed_r, char **err_r)
{
    char units[CU_UNITS_MAX][CU_UNIT_NAME_MAX];
    size_t n = cu_table_units(CU_DROPIN_FILE_KINDS, units, CU_UNITS_MAX);

    *changed_r = false;
    *err_r = NULL;
    for (size_t i = 0; i < n; i++) {
        if (cu_dropin_sync_unit(conf, root, units[i], changed_r, err_r) < 0)
            return -1;
    }
    return 0;
}
