/* X-ANNOTATEMORE: GETANNOTATION and SETANNOTATION of draft-daboo-imap-annotatemore-08, the
 * draft Sun's server and old Cyrus clients speak (it became RFC 5464 METADATA). An entry E with
 * attribute value.priv is the store's annotation /private E, value.shared is /shared E; the
 * mailbox "" is the server (the user level). size.priv / size.shared are read-only lengths. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imapd-arena.h"
#include "imapd-args.h"
#include "imapd-mutf7.h"
#include "imapd.h"

/* A value longer than this is refused with the draft's TOOBIG response code. */
#define ANNOTATE_VALUE_MAX (64u * 1024)

static const char *const annotate_attrs[] = {"value.priv", "value.shared", "size.priv",
                                             "size.shared"};
#define ANNOTATE_NATTRS 4

/* The draft's wildcards (section 4.1): '*' matches any run of characters, '%' any run without
 * '/'. Attribute names compare without regard to case, entries exactly. */
static bool annotate_match(const char *pat, const char *str, bool nocase)
{
    for (; *pat != '\0'; pat++, str++) {
        if (*pat == '*' || *pat == '%') {
            for (const char *t = str;; t++) {
                if (annotate_match(pat + 1, t, nocase))
                    return true;
                if (*t == '\0' || (*pat == '%' && *t == '/'))
                    return false;
            }
        }
        if (*str == '\0' || (nocase ? strncasecmp(pat, str, 1) != 0 : *pat != *str))
            return false;
    }
    return *str == '\0';
}

/* An entry name (section 3.2, no wildcards): '/' then components, no empty one, no control
 * characters. */
static bool annotate_entry_valid(const char *e, size_t len)
{
    if (len < 2 || e[0] != '/' || e[len - 1] == '/' || strlen(e) != len)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)e[i];
        if (c < 0x20 || c == 0x7f || c == '*' || c == '%' || (c == '/' && e[i + 1] == '/'))
            return false;
    }
    return true;
}

/* An astring, or a parenthesised non-empty list of them (entries / attribs): an array in the
 * command's arena, NULL-terminated; NULL when the argument is neither. */
static const char **annotate_strings(const struct imap_cmd *cmd, const struct imap_arg *arg)
{
    const struct imap_arg *first = arg;
    unsigned count = 1;
    const char **v;
    size_t len;

    if (arg != NULL && arg->type == IMAP_ARG_LIST) {
        first = arg->list;
        count = arg->count;
        if (count == 0)
            return NULL;
    }
    v = imap_arena_alloc(cmd->arena, (count + 1) * sizeof(*v));
    if (v == NULL)
        return NULL;
    for (unsigned i = 0; i < count; i++, first = first->next) {
        if (!imap_arg_get_astring(first, &v[i], &len) || strlen(v[i]) != len)
            return NULL;
    }
    v[count] = NULL;
    return v;
}

/* The mailbox argument: "" (the server), a name, or with wildcards a pattern (GETANNOTATION
 * takes a list-mailbox). UTF-8 in the arena; NULL after BAD. */
static const char *annotate_mailbox(const struct imap_cmd *cmd, bool *pattern_r, FILE *out)
{
    const char *str, *why = imap_text_mailbox_missing;
    size_t len, olen;
    char *utf8;

    *pattern_r = false;
    if (imap_arg_get_atom(cmd->args, &str) && strpbrk(str, "%*") != NULL) {
        len = strlen(str);
        utf8 = imap_arena_alloc(cmd->arena, IMAP_MUTF7_DECODE_MAX(len));
        if (utf8 == NULL ||
            imap_mutf7_decode(str, len, utf8, IMAP_MUTF7_DECODE_MAX(len), &olen) < 0) {
            imap_out_tagged(out, cmd, "BAD", "%s", imap_text_mailbox_mutf7);
            return NULL;
        }
        *pattern_r = true;
        return utf8;
    }
    if (imap_arg_get_astring(cmd->args, &str, &len) && len == 0)
        return "";
    if (imap_arg_get_mailbox(cmd->args, cmd->arena, &str, &why) < 0) {
        imap_out_tagged(out, cmd, "BAD", "%s", why);
        return NULL;
    }
    return str;
}

/* The value of annotation "/private" E or "/shared" E of one mailbox in the list, or NULL. */
static const char *annotate_find(const struct store_annotation *an, size_t n, uint32_t id,
                                 const char *scope, const char *entry)
{
    size_t slen = strlen(scope);

    for (size_t i = 0; i < n; i++)
        if (an[i].mailbox_id == id && strncmp(an[i].entry, scope, slen) == 0 &&
            strcmp(an[i].entry + slen, entry) == 0)
            return an[i].value;
    return NULL;
}

static int annotate_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The ANNOTATION lines of one mailbox: each entry name (without its scope) that an entry
 * specifier matches, with the asked attributes that have a value. */
static void annotate_out_mailbox(const struct store_annotation *an, size_t n, uint32_t id,
                                 const char *mailbox, const char **entries, const char **attribs,
                                 FILE *out)
{
    const char **names = calloc(n + 1, sizeof(*names));
    size_t nn = 0;

    if (names == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        const char *e = an[i].entry;
        if (an[i].mailbox_id != id)
            continue;
        if (strncmp(e, "/private/", 9) == 0)
            names[nn++] = e + 8;
        else if (strncmp(e, "/shared/", 8) == 0)
            names[nn++] = e + 7;
    }
    qsort(names, nn, sizeof(*names), annotate_cmp);
    for (size_t i = 0; i < nn; i++) {
        bool asked = false;
        if (i > 0 && strcmp(names[i], names[i - 1]) == 0)
            continue;
        for (size_t j = 0; entries[j] != NULL && !asked; j++)
            asked = annotate_match(entries[j], names[i], false);
        if (!asked)
            continue;
        const char *priv = annotate_find(an, n, id, "/private", names[i]);
        const char *shared = annotate_find(an, n, id, "/shared", names[i]);
        const char *vals[ANNOTATE_NATTRS] = {priv, shared, priv, shared};
        const char *sep = "";
        for (size_t k = 0; k < ANNOTATE_NATTRS; k++) {
            bool want = false;
            if (vals[k] == NULL)
                continue;
            for (size_t j = 0; attribs[j] != NULL && !want; j++) {
                size_t alen = strlen(attribs[j]);
                /* "value" stands for value.priv and value.shared (section 3.3) */
                want = annotate_match(attribs[j], annotate_attrs[k], true) ||
                       (strncasecmp(attribs[j], annotate_attrs[k], alen) == 0 &&
                        annotate_attrs[k][alen] == '.');
            }
            if (!want)
                continue;
            if (*sep == '\0') {
                fputs("* ANNOTATION ", out);
                if (*mailbox == '\0')
                    fputs("\"\"", out);
                else
                    imap_out_mailbox(out, mailbox);
                fputc(' ', out);
                imap_out_string(out, names[i], strlen(names[i]));
                fputs(" (", out);
            }
            fprintf(out, "%s\"%s\" ", sep, annotate_attrs[k]);
            if (k < 2)
                imap_out_string(out, vals[k], strlen(vals[k]));
            else
                fprintf(out, "\"%zu\"", strlen(vals[k]));
            sep = " ";
        }
        if (*sep != '\0')
            fputs(")\r\n", out);
    }
    free(names);
}

/* "GETANNOTATION" SP list-mailbox SP entries SP attribs */
static void getannotation_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    const char *mailbox, **entries, **attribs;
    bool pattern;
    struct store_annotation *an = NULL;
    struct store_mailbox *mbs = NULL, one = {0};
    struct store_error err;
    size_t n = 0, nmbs = 0;

    if (cmd->nargs != 3) {
        imap_out_tagged(out, cmd, "BAD", "Usage: GETANNOTATION mailbox entries attributes");
        return;
    }
    if ((mailbox = annotate_mailbox(cmd, &pattern, out)) == NULL)
        return;
    entries = annotate_strings(cmd, cmd->args->next);
    attribs = annotate_strings(cmd, cmd->args->next->next);
    if (entries == NULL || attribs == NULL) {
        imap_out_tagged(out, cmd, "BAD",
                        "GETANNOTATION takes an entry or a list of entries, "
                        "then an attribute or a list of attributes");
        return;
    }
    for (size_t i = 0; entries[i] != NULL; i++) {
        if (entries[i][0] != '/' && entries[i][0] != '*' && entries[i][0] != '%') {
            imap_out_tagged(out, cmd, "BAD", "Annotation entries start with '/': %s", entries[i]);
            return;
        }
    }
    if (pattern) {
        if (store_mailbox_list(imapd_store(), s->user, mailbox, &mbs, &nmbs, &err) != STORE_OK)
            goto fail;
    } else if (*mailbox != '\0') {
        if (store_mailbox_get(imapd_store(), s->user, mailbox, &one, &err) != STORE_OK)
            goto fail;
    }
    if (store_annotation_list(imapd_store(), s->user, 0, true, &an, &n, &err) != STORE_OK)
        goto fail;
    if (pattern) {
        for (size_t i = 0; i < nmbs; i++)
            annotate_out_mailbox(an, n, mbs[i].id, mbs[i].name, entries, attribs, out);
    } else {
        annotate_out_mailbox(an, n, one.id, mailbox, entries, attribs, out);
    }
    imap_out_tagged(out, cmd, "OK", "GETANNOTATION completed");
    goto done;
fail:
    imap_out_store_error(out, cmd, &err);
done:
    store_annotation_list_free(&an, n);
    store_mailbox_list_free(&mbs, nmbs);
    store_mailbox_clear(&one);
}

void imap_cmd_getannotation(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, getannotation_work);
}

/* One change SETANNOTATION asks for. */
struct annotate_set {
    const char *entry; /* the store's: "/private" or "/shared" then the client's entry */
    const char *value; /* NULL removes */
};

/* setentryatt = entry SP "(" setattrib-value *(SP setattrib-value) ")", appended to *sets.
 * Returns NULL, or the BAD text. */
static const char *annotate_parse_entry(const struct imap_cmd *cmd, const struct imap_arg *e,
                                        const struct imap_arg *list, struct annotate_set *sets,
                                        size_t *nsets, size_t max)
{
    const char *entry, *attr, *value;
    size_t elen, alen, vlen;
    const struct imap_arg *a;

    if (!imap_arg_get_astring(e, &entry, &elen) || !annotate_entry_valid(entry, elen))
        return "Annotation entries are names such as /comment (no wildcards)";
    if (list == NULL || list->type != IMAP_ARG_LIST || list->count == 0 || list->count % 2 != 0)
        return "Usage: SETANNOTATION mailbox entry (attribute value ...)";
    for (a = list->list; a != NULL; a = a->next->next) {
        if (!imap_arg_get_astring(a, &attr, &alen) || !imap_arg_get_nstring(a->next, &value, &vlen))
            return "Usage: SETANNOTATION mailbox entry (attribute value ...)";
        bool priv = strcasecmp(attr, "value.priv") == 0;
        if (!priv && strcasecmp(attr, "value.shared") != 0)
            return "SETANNOTATION sets the attributes value.priv and value.shared";
        if (value != NULL && strlen(value) != vlen)
            return "Annotation values cannot hold NUL";
        if (*nsets == max)
            return "Too many annotations in one command";
        char *full = imap_arena_alloc(cmd->arena, elen + 9);
        if (full == NULL)
            return imap_text_nomem;
        strcpy(full, priv ? "/private" : "/shared");
        strcat(full, entry);
        sets[*nsets].entry = full;
        sets[*nsets].value = value;
        (*nsets)++;
    }
    return NULL;
}

#define ANNOTATE_SETS_MAX 64

/* "SETANNOTATION" SP mailbox SP (setentryatt / "(" setentryatt *(SP setentryatt) ")") */
static void setannotation_work(struct imap_session *s, const struct imap_cmd *cmd, FILE *out)
{
    struct annotate_set sets[ANNOTATE_SETS_MAX];
    size_t nsets = 0;
    const char *mailbox, *why = NULL;
    bool pattern;
    struct store_mailbox mb = {0};
    struct store_error err;
    const struct imap_arg *e;

    if (cmd->nargs != 2 && cmd->nargs != 3) {
        imap_out_tagged(out, cmd, "BAD",
                        "Usage: SETANNOTATION mailbox entry (attribute value ...)");
        return;
    }
    if ((mailbox = annotate_mailbox(cmd, &pattern, out)) == NULL)
        return;
    if (pattern) {
        imap_out_tagged(out, cmd, "BAD", "SETANNOTATION takes one mailbox, not a pattern");
        return;
    }
    e = cmd->args->next;
    if (cmd->nargs == 3) {
        why = annotate_parse_entry(cmd, e, e->next, sets, &nsets, ANNOTATE_SETS_MAX);
    } else if (e->type != IMAP_ARG_LIST || e->count == 0 || e->count % 2 != 0) {
        why = "Usage: SETANNOTATION mailbox (entry (attribute value ...) ...)";
    } else {
        for (e = e->list; e != NULL && why == NULL; e = e->next->next)
            why = annotate_parse_entry(cmd, e, e->next, sets, &nsets, ANNOTATE_SETS_MAX);
    }
    if (why != NULL) {
        imap_out_tagged(out, cmd, "BAD", "%s", why);
        return;
    }
    for (size_t i = 0; i < nsets; i++) {
        if (sets[i].value != NULL && strlen(sets[i].value) > ANNOTATE_VALUE_MAX) {
            imap_out_tagged(out, cmd, "NO",
                            "[ANNOTATEMORE TOOBIG] Annotation values are limited "
                            "to %u octets",
                            ANNOTATE_VALUE_MAX);
            return;
        }
        /* RFC 6154 4: the special-use entry holds only special-use attributes */
        if (strcmp(sets[i].entry, STORE_SPECIALUSE_ENTRY) == 0 && sets[i].value != NULL &&
            sets[i].value[0] != '\0') {
            char *canon = imap_arena_alloc(cmd->arena, strlen(sets[i].value) + 1);
            if (*mailbox == '\0' || canon == NULL ||
                !store_specialuse_canon(sets[i].value, canon)) {
                imap_out_tagged(out, cmd, "NO",
                                "[USEATTR] /specialuse takes special-use "
                                "attributes of a mailbox (\\All \\Archive "
                                "\\Drafts \\Flagged \\Junk \\Sent \\Trash)");
                return;
            }
            sets[i].value = canon;
        }
    }
    if (*mailbox != '\0' &&
        store_mailbox_get(imapd_store(), s->user, mailbox, &mb, &err) != STORE_OK) {
        imap_out_store_error(out, cmd, &err);
        return;
    }
    for (size_t i = 0; i < nsets; i++) {
        if (store_annotation_set(imapd_store(), s->user, mb.id, sets[i].entry, sets[i].value,
                                 &err) != STORE_OK) {
            imap_out_store_error(out, cmd, &err);
            store_mailbox_clear(&mb);
            return;
        }
    }
    store_mailbox_clear(&mb);
    imap_out_tagged(out, cmd, "OK", "SETANNOTATION completed");
}

void imap_cmd_setannotation(struct imap_session *s, struct imap_cmd **cmd)
{
    imap_run(s, cmd, setannotation_work);
}

enum store_err imap_specialuse_list(struct imap_session *s, struct store_annotation **list_r,
                                    size_t *n_r, struct store_error *err)
{
    enum store_err rc = store_annotation_list(imapd_store(), s->user, 0, true, list_r, n_r, err);
    size_t k = 0;

    for (size_t i = 0; rc == STORE_OK && i < *n_r; i++) {
        struct store_annotation *a = &(*list_r)[i];
        if (a->mailbox_id != 0 && strcmp(a->entry, STORE_SPECIALUSE_ENTRY) == 0) {
            (*list_r)[k++] = *a;
        } else {
            free(a->entry);
            free(a->value);
        }
    }
    if (rc == STORE_OK)
        *n_r = k;
    return rc;
}
