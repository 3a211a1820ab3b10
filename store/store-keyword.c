/* Keyword sets: space-separated IMAP flag-keywords, matched without regard to case and kept
 * in the spelling first seen, as clients expect PERMANENTFLAGS to echo their own words. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store-tx.h"

struct kw_list {
    char **w;
    size_t n, cap;
};

static bool kw_has(const struct kw_list *l, const char *w, size_t len)
{
    for (size_t i = 0; i < l->n; i++)
        if (strlen(l->w[i]) == len && strncasecmp(l->w[i], w, len) == 0)
            return true;
    return false;
}

static void kw_push(struct kw_list *l, const char *w, size_t len)
{
    if (kw_has(l, w, len))
        return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->w = realloc(l->w, l->cap * sizeof(*l->w));
        if (l->w == NULL)
            abort();
    }
    l->w[l->n] = strndup(w, len);
    if (l->w[l->n] == NULL)
        abort();
    l->n++;
}

static void kw_split(struct kw_list *l, const char *s)
{
    while (s != NULL && *s) {
        size_t len;

        s += strspn(s, " ");
        len = strcspn(s, " ");
        if (len > 0)
            kw_push(l, s, len);
        s += len;
    }
}

static char *kw_join(struct kw_list *l)
{
    struct store_buf b = {0};

    for (size_t i = 0; i < l->n; i++) {
        if (i > 0)
            store_buf_addc(&b, ' ');
        store_buf_adds(&b, l->w[i]);
        free(l->w[i]);
    }
    free(l->w);
    l->w = NULL;
    l->n = l->cap = 0;
    return b.len ? store_buf_steal(&b) : NULL;
}

char *store_kw_apply(const char *cur, enum store_flag_op op, const char *words)
{
    struct kw_list out = {0}, rm = {0};

    switch (op) {
    case STORE_FLAGS_REPLACE:
        kw_split(&out, words);
        break;
    case STORE_FLAGS_ADD:
        kw_split(&out, cur);
        kw_split(&out, words);
        break;
    case STORE_FLAGS_REMOVE: {
        struct kw_list all = {0};

        kw_split(&all, cur);
        kw_split(&rm, words);
        for (size_t i = 0; i < all.n; i++)
            if (!kw_has(&rm, all.w[i], strlen(all.w[i])))
                kw_push(&out, all.w[i], strlen(all.w[i]));
        free(kw_join(&all));
        free(kw_join(&rm));
        break;
    }
    }
    return kw_join(&out);
}

void store_kw_union(char **set, const char *add)
{
    struct kw_list l = {0};
    char *joined;

    if (add == NULL || *add == '\0')
        return;
    kw_split(&l, *set);
    kw_split(&l, add);
    joined = kw_join(&l);
    free(*set);
    *set = joined ? joined : strdup("");
    if (*set == NULL)
        abort();
}

bool store_kw_equal(const char *a, const char *b)
{
    struct kw_list la = {0}, lb = {0};
    bool eq;

    kw_split(&la, a);
    kw_split(&lb, b);
    eq = la.n == lb.n;
    for (size_t i = 0; eq && i < la.n; i++)
        eq = kw_has(&lb, la.w[i], strlen(la.w[i]));
    free(kw_join(&la));
    free(kw_join(&lb));
    return eq;
}

/* flag-keyword = atom (RFC 3501 9): no atom-specials, and not a \system flag. */
bool store_kw_valid(const char *words)
{
    if (words == NULL)
        return true;
    for (const unsigned char *p = (const unsigned char *)words; *p; p++) {
        if (*p == ' ')
            continue;
        if (*p <= 0x20 || *p >= 0x7f || strchr("(){%*\"\\]", *p) != NULL)
            return false;
    }
    return strlen(words) <= 4096;
}
