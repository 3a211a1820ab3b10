/* Typed views of a parsed command's arguments (imapd-parse.h), for the commands' syntax
 * checks: each getter returns false when the argument is missing or of another kind. */
#ifndef HALYARD_IMAPD_ARGS_H
#define HALYARD_IMAPD_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "imapd-parse.h"

/* The nth argument of a list that starts at first (0-based), NULL past its end. */
const struct imap_arg *imap_arg_at(const struct imap_arg *first, unsigned n);

/* An atom (not NIL): command keywords, fetch attributes, flags, sequence sets. */
bool imap_arg_get_atom(const struct imap_arg *arg, const char **str_r);

/* A quoted string or a literal (not a literal8, which may hold NUL). */
bool imap_arg_get_string(const struct imap_arg *arg, const char **str_r, size_t *len_r);

/* An astring: a string, or an atom of ASTRING-CHARs only (NIL is one: the name "NIL"). */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r, size_t *len_r);

/* An nstring: NIL (*str_r = NULL) or a string. */
bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r, size_t *len_r);

/* A parenthesised list: its first element (NULL when empty) and length. */
bool imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **first_r,
                       unsigned *count_r);

/* A mailbox name (an astring in modified UTF-7) as UTF-8 in a, with INBOX in any case made
 * "INBOX" (RFC 3501 section 5.1). Returns 0, or -1 with *error_r set to the BAD text. */
int imap_arg_get_mailbox(const struct imap_arg *arg, struct imap_arena *a, const char **name_r,
                         const char **error_r);

#endif
