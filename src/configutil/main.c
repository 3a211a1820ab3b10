/* configutil: Sun's command line for msg.conf (show, set, clear, list, import), plus the
 * systemd side: drop-ins for what the units own, then daemon-reload, enable, reload, restart. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cu-apply.h"
#include "cu-doc.h"
#include "cu-dropin.h"
#include "cu-show.h"
#include "halyard-build.h"

/* Exit statuses: refused or failed before writing anything, and written but systemd not (fully)
 * updated. */
#define CU_EXIT_REFUSED 1
#define CU_EXIT_APPLY   2

struct cu_opts {
    const char *file, *option, *value, *prefix, *import, *root;
    bool defaults, marks, verbose, no_apply, template, markdown, man;
    char *path;  /* the msg.conf to use */
    bool system; /* path is the system msg.conf, so drop-ins and systemctl follow it */
};

static const char cu_usage[] =
    "usage: configutil [-f FILE] [--root DIR] [--no-apply] [-V] [-o OPTION [-v VALUE]]\n"
    "       configutil [-f FILE] [-p PREFIX] [-H] [-m]\n"
    "       configutil [-f FILE] [--root DIR] [--no-apply] [-V] -i FILE|-\n"
    "       configutil --template | --markdown | --man\n"
    "  (none)       list what msg.conf sets          -o OPTION    show one value\n"
    "  -o O -v V    check, then set O to V           -v \"\"        clear O (back to its default)\n"
    "  -p PREFIX    list only names starting so      -H           list every parameter with its\n"
    "  -m           mark [REFRESHABLE] / [NOT ...]                default (with -o: its help)\n"
    "  -i FILE      import `name = value` lines, all or nothing (an empty value clears)\n"
    "  -f FILE      edit FILE only (no drop-ins, no systemctl); default " CONF_DEFAULT_PATH "\n"
    "  --root DIR   edit DIR" CONF_DEFAULT_PATH " and DIR/etc/systemd/system; only\n"
    "               `systemctl --root` enable/disable\n"
    "  --no-apply   write msg.conf and drop-ins, run no systemctl     -V  show what is run\n";

enum { CU_OPT_ROOT = 256, CU_OPT_NO_APPLY, CU_OPT_TEMPLATE, CU_OPT_MARKDOWN, CU_OPT_MAN };

static int cu_parse_args(int argc, char **argv, struct cu_opts *o)
{
    static const struct option longopts[] = {
        {"root", required_argument, NULL, CU_OPT_ROOT},
        {"no-apply", no_argument, NULL, CU_OPT_NO_APPLY},
        {"template", no_argument, NULL, CU_OPT_TEMPLATE},
        {"markdown", no_argument, NULL, CU_OPT_MARKDOWN},
        {"man", no_argument, NULL, CU_OPT_MAN},
        {"verbose", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "f:o:v:p:Hmi:Vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            o->file = optarg;
            break;
        case 'o':
            o->option = optarg;
            break;
        case 'v':
            o->value = optarg;
            break;
        case 'p':
            o->prefix = optarg;
            break;
        case 'H':
            o->defaults = true;
            break;
        case 'm':
            o->marks = true;
            break;
        case 'i':
            o->import = optarg;
            break;
        case 'V':
            o->verbose = true;
            break;
        case CU_OPT_ROOT:
            o->root = optarg;
            break;
        case CU_OPT_NO_APPLY:
            o->no_apply = true;
            break;
        case CU_OPT_TEMPLATE:
            o->template = true;
            break;
        case CU_OPT_MARKDOWN:
            o->markdown = true;
            break;
        case CU_OPT_MAN:
            o->man = true;
            break;
        case 'h':
            fputs(cu_usage, stdout);
            exit(0);
        default:
            return -1;
        }
    }
    if (optind != argc || (o->value != NULL && o->option == NULL) ||
        (o->import != NULL && o->option != NULL)) {
        return -1;
    }
    if (o->file != NULL)
        o->path = strdup(o->file);
    else if (asprintf(&o->path, "%s%s", o->root != NULL ? o->root : "", CONF_DEFAULT_PATH) < 0)
        o->path = NULL;
    if (o->path == NULL)
        return -1;
    o->system = o->file == NULL;
    return 0;
}

/* Read-only: one value, a listing, or a parameter's help. */
static int cu_show(const struct cu_opts *o)
{
    struct cu_doc *doc;
    struct conf *conf;
    char *err, *problem;
    const struct param *p = NULL;

    if (o->option != NULL && (p = param_find(o->option)) == NULL) {
        fprintf(stderr, "configutil: %s: unknown parameter\n", o->option);
        return CU_EXIT_REFUSED;
    }
    if (cu_doc_read(o->path, &doc, &err) < 0) {
        fprintf(stderr, "configutil: %s\n", err);
        free(err);
        return CU_EXIT_REFUSED;
    }
    conf = cu_doc_conf(doc, o->path, &problem);
    if (problem != NULL)
        fprintf(stderr, "configutil: warning: %s (daemons refuse to start)\n", problem);
    if (p != NULL && o->defaults) {
        char *canon = param_canonical_name(p, o->option);

        cu_show_param(stdout, conf, p, canon != NULL ? canon : p->name);
        free(canon);
    } else if (p != NULL) {
        const char *host =
            strlen(o->option) > strlen(p->name) ? o->option + strlen(p->name) + 1 : NULL;

        printf("%s%s\n", conf_str_host(conf, p->name, host),
               o->marks ? ((p->flags & PARAM_REFRESHABLE) ? " [REFRESHABLE]" : " [NOT REFRESHABLE]")
                        : "");
    } else if (o->defaults) {
        cu_show_all(stdout, conf, o->prefix, o->marks);
    } else {
        cu_show_set(stdout, conf, o->prefix, o->marks);
    }
    free(problem);
    conf_free(&conf);
    cu_doc_free(&doc);
    return fflush(stdout) == 0 ? 0 : CU_EXIT_REFUSED;
}

/* The changes to make, checked before the lock is taken: a list of (canonical name, value or
 * NULL to clear). */
static int cu_changes(const struct cu_opts *o, struct cu_doc **changes_r)
{
    struct cu_doc *changes;
    char *err = NULL, *canon;
    const struct param *p;

    if (o->import != NULL) {
        if (cu_doc_read_import(o->import, changes_r, &err) == 0)
            return 0;
        /* One problem per line, each prefixed like every other message. */
        for (char *line = err, *next; line != NULL && *line != '\0'; line = next) {
            next = strchr(line, '\n');
            if (next != NULL)
                *next++ = '\0';
            fprintf(stderr, "configutil: %s\n", line);
        }
        fputs("configutil: nothing imported\n", stderr);
        free(err);
        return -1;
    }
    p = param_find(o->option);
    if (p == NULL) {
        fprintf(stderr, "configutil: %s: unknown parameter\n", o->option);
        return -1;
    }
    if (o->value[0] != '\0' && !param_validate(p, o->option, o->value, &err)) {
        fprintf(stderr, "configutil: %s\n", err != NULL ? err : "out of memory");
        free(err);
        return -1;
    }
    changes = calloc(1, sizeof(*changes));
    canon = param_canonical_name(p, o->option);
    if (changes == NULL || canon == NULL || cu_doc_set(changes, canon, o->value) < 0) {
        fputs("configutil: out of memory\n", stderr);
        cu_doc_free(&changes);
        free(canon);
        return -1;
    }
    free(canon);
    *changes_r = changes;
    return 0;
}

/* Drop-ins and systemctl after msg.conf was written. */
static int cu_follow(const struct cu_opts *o, const struct conf *before, const struct conf *after)
{
    struct cu_plan plan;
    bool changed;
    char *err = NULL;

    if (cu_dropin_sync(after, o->root != NULL ? o->root : "", &changed, &err) < 0) {
        fprintf(stderr, "configutil: msg.conf written, but drop-ins not: %s\n", err);
        free(err);
        return CU_EXIT_APPLY;
    }
    if (o->no_apply)
        return 0;
    cu_plan_build(before, after, changed, &plan);
    if (cu_plan_run(&plan, o->root, o->verbose, &err) < 0) {
        fprintf(stderr, "configutil: msg.conf written, but systemd not fully updated:\n%s\n",
                err != NULL ? err : "out of memory");
        free(err);
        return CU_EXIT_APPLY;
    }
    return 0;
}

static int cu_edit_locked(const struct cu_opts *o, const struct cu_doc *changes)
{
    struct cu_doc *doc;
    struct conf *before, *after;
    char *err, *problem;
    int ret = 0, changed = 0;

    if (cu_doc_read(o->path, &doc, &err) < 0) {
        fprintf(stderr, "configutil: %s\n", err);
        free(err);
        return CU_EXIT_REFUSED;
    }
    before = cu_doc_conf(doc, o->path, &problem);
    free(problem);
    for (size_t i = 0; i < changes->count && changed >= 0; i++) {
        const struct cu_line *l = &changes->lines[i];
        int r =
            l->canon == NULL ? 0 : cu_doc_set(doc, l->canon, l->value[0] != '\0' ? l->value : NULL);

        changed = r < 0 ? -1 : changed | r;
    }
    if (changed < 0) {
        fputs("configutil: out of memory\n", stderr);
        ret = CU_EXIT_REFUSED;
    } else if (changed > 0 && cu_doc_write(doc, o->path, &err) < 0) {
        fprintf(stderr, "configutil: %s\n", err != NULL ? err : "out of memory");
        free(err);
        ret = CU_EXIT_REFUSED;
    }
    after = cu_doc_conf(doc, o->path, &problem);
    if (problem != NULL)
        fprintf(stderr, "configutil: warning: %s (daemons refuse to start)\n", problem);
    if (ret == 0 && changed > 0 && o->system)
        ret = cu_follow(o, before, after);
    free(problem);
    conf_free(&before);
    conf_free(&after);
    cu_doc_free(&doc);
    return ret;
}

static int cu_edit(const struct cu_opts *o)
{
    struct cu_doc *changes;
    char *err;
    int lock, ret;

    if (cu_changes(o, &changes) < 0)
        return CU_EXIT_REFUSED;
    /* One lock over read, write, drop-ins and systemctl: a second run waits and then starts
     * from this one's result, so neither update is lost and systemd ends in the last state. */
    lock = cu_doc_lock(o->path, &err);
    if (lock < 0) {
        fprintf(stderr, "configutil: %s\n", err != NULL ? err : "out of memory");
        free(err);
        cu_doc_free(&changes);
        return CU_EXIT_REFUSED;
    }
    ret = cu_edit_locked(o, changes);
    close(lock);
    cu_doc_free(&changes);
    return ret;
}

int main(int argc, char **argv)
{
    struct cu_opts o = {0};
    int ret;

    if (cu_parse_args(argc, argv, &o) < 0) {
        fputs(cu_usage, stderr);
        free(o.path);
        return CU_EXIT_REFUSED;
    }
    if (o.template)
        cu_show_template(stdout);
    else if (o.markdown)
        cu_show_markdown(stdout);
    else if (o.man)
        cu_show_man(stdout);
    if (o.template || o.markdown || o.man)
        ret = fflush(stdout) == 0 ? 0 : CU_EXIT_REFUSED;
    else if (o.value != NULL || o.import != NULL)
        ret = cu_edit(&o);
    else
        ret = cu_show(&o);
    free(o.path);
    return ret;
}
