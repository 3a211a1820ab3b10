/* Listings, parameter help, the default msg.conf and the Markdown parameter list, all printed
 * from the one table so that none of them can drift from what the daemons accept. */
#include <stdlib.h>
#include <string.h>

#include "cu-dropin.h"
#include "cu-show.h"
#include "halyard-build.h"

static const struct {
    unsigned bit;
    const char *name;
} cu_reader_names[] = {
    {READER_IMAPD, "imapd"},           {READER_POPD, "popd"}, {READER_MSHTTPD, "mshttpd"},
    {READER_LMTPD, "lmtpd"},           {READER_ENPD, "enpd"}, {READER_STORE, "store"},
    {READER_CONFIGUTIL, "configutil"},
};

static void cu_put_readers(FILE *f, unsigned readers)
{
    const char *sep = "";

    for (size_t i = 0; i < sizeof(cu_reader_names) / sizeof(cu_reader_names[0]); i++) {
        if (readers & cu_reader_names[i].bit) {
            fprintf(f, "%s%s", sep, cu_reader_names[i].name);
            sep = ", ";
        }
    }
}

static const char *cu_mark(const struct param *p)
{
    return (p->flags & PARAM_REFRESHABLE) ? " [REFRESHABLE]" : " [NOT REFRESHABLE]";
}

static void cu_put_value(FILE *f, const char *value)
{
    char *text = conf_format_value(value);

    fputs(text != NULL ? text : value, f);
    free(text);
}

char *cu_show_dropin(const struct param *p)
{
    char *text = NULL;

    switch (p->dropin) {
    case DROPIN_NONE:
        return strdup("");
    case DROPIN_LISTEN:
        if (asprintf(&text, "ListenStream= of %s", p->unit) < 0)
            return NULL;
        return text;
    case DROPIN_ENABLE:
        if (asprintf(&text, "systemctl enable/disable %s", p->unit) < 0)
            return NULL;
        return text;
    case DROPIN_ENV:
        if (asprintf(&text, "Environment=%s= of %s", p->envname, p->unit) < 0)
            return NULL;
        return text;
    case DROPIN_RWPATHS:
        if (asprintf(&text, "ReadWritePaths= of %s", p->unit) < 0)
            return NULL;
        return text;
    }
    return NULL;
}

static int cu_cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool cu_has_prefix(const char *name, const char *prefix)
{
    return prefix == NULL || strncmp(name, prefix, strlen(prefix)) == 0;
}

/* Names to list: set ones, and with all every table row too; sorted, each once. */
static const char **cu_names(const struct conf *conf, bool all, const char *prefix, size_t *n_r)
{
    size_t iter = 0, n = 0, cap = param_count + 1;
    const char *name, *value;
    const char **names;

    while (conf_next(conf, &iter, &name, &value))
        cap++;
    names = calloc(cap, sizeof(*names));
    if (names == NULL)
        abort();
    for (size_t i = 0; all && i < param_count; i++) {
        if (cu_has_prefix(param_table[i].name, prefix))
            names[n++] = param_table[i].name;
    }
    iter = 0;
    while (conf_next(conf, &iter, &name, &value)) {
        /* With all, a plain row is already listed; only host-suffixed names are new. */
        if (cu_has_prefix(name, prefix) && !(all && strcmp(param_find(name)->name, name) == 0))
            names[n++] = name;
    }
    qsort(names, n, sizeof(*names), cu_cmp_names);
    *n_r = n;
    return names;
}

static void cu_show_line(FILE *f, const struct conf *conf, const char *name, bool defaults,
                         bool marks)
{
    const struct param *p = param_find(name);
    const char *value = conf_str(conf, name);

    fprintf(f, "%s = ", name);
    if ((p->flags & PARAM_SECRET) && value[0] != '\0')
        fputs(CU_SECRET_MASK, f);
    else
        cu_put_value(f, value);
    if (defaults && conf_is_set(conf, name)) {
        fputs(" (default ", f);
        cu_put_value(f, p->def);
        fputc(')', f);
    }
    fprintf(f, "%s\n", marks ? cu_mark(p) : "");
}

void cu_show_set(FILE *f, const struct conf *conf, const char *prefix, bool marks)
{
    size_t n;
    const char **names = cu_names(conf, false, prefix, &n);

    for (size_t i = 0; i < n; i++)
        cu_show_line(f, conf, names[i], false, marks);
    free(names);
}

void cu_show_all(FILE *f, const struct conf *conf, const char *prefix, bool marks)
{
    size_t n;
    const char **names = cu_names(conf, true, prefix, &n);

    for (size_t i = 0; i < n; i++)
        cu_show_line(f, conf, names[i], true, marks);
    free(names);
}

void cu_show_param(FILE *f, const struct conf *conf, const struct param *p, const char *name)
{
    char *accepts = param_describe(p), *dropin = cu_show_dropin(p);

    cu_show_line(f, conf, name, false, false);
    fprintf(f, "  %s\n  default: ", p->help);
    cu_put_value(f, p->def);
    fprintf(f, "\n  accepts: %s%s\n", accepts != NULL ? accepts : "?",
            (p->flags & PARAM_HOST_SUFFIX) ? "; may be set per back end as <name>.<host>" : "");
    fprintf(f, "  %s: a change means systemctl %s\n  read by: ", cu_mark(p) + 1,
            (p->flags & PARAM_REFRESHABLE) ? "reload" : "restart");
    cu_put_readers(f, p->readers);
    if (dropin != NULL && dropin[0] != '\0')
        fprintf(f, "\n  systemd: %s", dropin);
    fputc('\n', f);
    free(accepts);
    free(dropin);
}

void cu_show_template(FILE *f)
{
    fputs("# msg.conf: Halyard's configuration, holding only what an administrator set.\n"
          "# Every parameter is listed below, commented out at its default. Change values\n"
          "# with `configutil -o NAME -v VALUE` (and clear them with -v \"\"): it checks the\n"
          "# value, keeps this file's comments, writes the systemd drop-ins for ports, enabled\n"
          "# sockets and paths, and reloads or restarts what reads the parameter. After an\n"
          "# edit by hand, reload the daemons (REFRESHABLE) or restart them; a changed port or\n"
          "# path only reaches systemd through configutil.\n"
          "# Syntax: `name = value`; quote a value with blanks, # or \" as \"...\" (\\\" and \\\\\n"
          "# inside). Parameters marked per-host may also be set as NAME.<host>.\n",
          f);
    for (size_t i = 0; i < param_count; i++) {
        const struct param *p = &param_table[i];
        char *accepts = param_describe(p), *dropin = cu_show_dropin(p);

        fprintf(f, "\n# %s\n# %s;%s%s", p->help, accepts != NULL ? accepts : "?", cu_mark(p),
                (p->flags & PARAM_HOST_SUFFIX) ? " [per-host]" : "");
        if (dropin != NULL && dropin[0] != '\0')
            fprintf(f, "; systemd: %s", dropin);
        fprintf(f, "\n#%s = ", p->name);
        cu_put_value(f, p->def);
        fputc('\n', f);
        free(accepts);
        free(dropin);
    }
}

/* Markdown table cells: '|' would end the cell, and outside code '<' would open an HTML tag. */
static void cu_put_cell(FILE *f, const char *text, bool code)
{
    for (const char *s = text; *s != '\0'; s++) {
        if (*s == '|')
            fputc('\\', f);
        if (*s == '<' && !code)
            fputs("&lt;", f);
        else
            fputc(*s, f);
    }
}

/* Defaults under the build's state directory are shown as {localstatedir}, so the document
 * does not depend on the prefix it was generated with. */
static void cu_put_default_cell(FILE *f, const char *def)
{
    size_t len = strlen(LOCALSTATEDIR);

    fputc('`', f);
    if (def[0] == '\0') {
        fputs("\"\"", f);
    } else if (len > 0 && strncmp(def, LOCALSTATEDIR, len) == 0 && def[len] == '/') {
        fputs("{localstatedir}", f);
        cu_put_cell(f, def + len, true);
    } else {
        cu_put_cell(f, def, true);
    }
    fputc('`', f);
}

void cu_show_markdown(FILE *f)
{
    fputs("| parameter | default | accepts | on change | read by | systemd | meaning |\n"
          "|---|---|---|---|---|---|---|\n",
          f);
    for (size_t i = 0; i < param_count; i++) {
        const struct param *p = &param_table[i];
        char *accepts = param_describe(p), *dropin = cu_show_dropin(p);

        fprintf(f, "| `%s`%s | ", p->name, (p->flags & PARAM_HOST_SUFFIX) ? "[`.<host>`]" : "");
        cu_put_default_cell(f, p->def);
        fputs(" | ", f);
        cu_put_cell(f, accepts != NULL ? accepts : "?", false);
        fprintf(f, "%s | %s | ", (p->flags & PARAM_SECRET) ? " (secret: masked in listings)" : "",
                (p->flags & PARAM_REFRESHABLE) ? "reload" : "restart");
        cu_put_readers(f, p->readers);
        fputs(" | ", f);
        cu_put_cell(f, dropin != NULL ? dropin : "?", false);
        fputs(" | ", f);
        cu_put_cell(f, p->help, false);
        fputs(" |\n", f);
        free(accepts);
        free(dropin);
    }
}
