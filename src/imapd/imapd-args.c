/* Getters over the parser's argument tree: which argument kinds make an atom, a string, an
 * astring, an nstring, a list or a mailbox name (RFC 3501 section 9). */
#include "imapd-args.h"

#include <strings.h>

#include "imapd-arena.h"
#include "imapd-mutf7.h"

const struct imap_arg *imap_arg_at(const struct imap_arg *first, unsigned n)
{
    while (first != NULL && n-- > 0)
        first = first->next;
    return first;
}

bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r)
{
    if (arg == NULL || arg->type != IMAP_ARG_ATOM)
        return false;
    *str_r = arg->str;
    return true;
}

bool imap_arg_get_string(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
    if (arg == NULL || arg->literal8 ||
        (arg->type != IMAP_ARG_QUOTED && arg->type != IMAP_ARG_LITERAL))
        return false;
    *str_r = arg->str;
    *len_r = arg->len;
    return true;
}

bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
    if (arg != NULL && (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL)) {
        for (size_t i = 0; i < arg->len; i++) {
            unsigned char c = (unsigned char)arg->str[i];
            if (!imap_is_atom_char(c) && c != ']')
                return false;
        }
        *str_r = arg->str;
        *len_r = arg->len;
        return true;
    }
    return imap_arg_get_string(arg, str_r, len_r);
}

bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r, size_t *len_r)
{
    if (arg != NULL && arg->type == IMAP_ARG_NIL) {
        *str_r = NULL;
        *len_r = 0;
        return true;
    }
    return imap_arg_get_string(arg, str_r, len_r);
}

bool imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **first_r,
                       unsigned *count_r)
{
    if (arg == NULL || arg->type != IMAP_ARG_LIST)
        return false;
    *first_r = arg->list;
    *count_r = arg->count;
    return true;
}

int imap_arg_get_mailbox(const struct imap_arg *arg, struct imap_arena *a, const char **name_r,
                         const char **error_r)
{
    const char *s;
    size_t len, out_len;
    char *out;

    if (!imap_arg_get_astring(arg, &s, &len)) {
        *error_r = imap_text_mailbox_missing;
        return -1;
    }
    if (len == 5 && strncasecmp(s, "INBOX", 5) == 0) {
        *name_r = "INBOX";
        return 0;
    }
    out = imap_arena_alloc(a, IMAP_MUTF7_DECODE_MAX(len));
    if (out == NULL) {
        *error_r = imap_text_nomem;
        return -1;
    }
    if (imap_mutf7_decode(s, len, out, IMAP_MUTF7_DECODE_MAX(len), &out_len) < 0) {
        *error_r = imap_text_mailbox_mutf7;
        return -1;
    }
    *name_r = out;
    return 0;
}
