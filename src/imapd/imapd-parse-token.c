/* The parser's text states: tag, command name, atoms (with the bracketed part of fetch
 * attributes), quoted strings, lists and literal announcements, one byte at a time. */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "imapd-parse-private.h"

bool imap_is_atom_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

bool imap_is_tag_char(unsigned char c)
{
    return (imap_is_atom_char(c) || c == ']') && c != '+';
}

/* What an atom argument may hold after its first byte: ASTRING-CHAR and list-wildcards (LIST
 * patterns, "1:*"); a leading '\' (flags) is allowed only first. */
static bool token_is_atom_byte(unsigned char c)
{
    return imap_is_atom_char(c) || c == ']' || c == '%' || c == '*';
}

static enum parse_step token_put(struct parse_state *st, unsigned char c)
{
    if (st->tok_len + 1 >= st->tok_cap) {
        size_t cap = st->tok_cap > 0 ? st->tok_cap * 2 : 32;
        char *tok = imap_arena_grow(st->arena, st->tok, st->tok_cap, cap);
        if (tok == NULL)
            return parse_fail_nomem(st);
        st->tok = tok;
        st->tok_cap = cap;
    }
    st->tok[st->tok_len++] = (char)c;
    return STEP_NEXT;
}

/* Ends the token: a NUL-terminated string in the arena, the token buffer free for the next. */
static char *token_take(struct parse_state *st, size_t *len_r)
{
    char *s;

    if (st->tok == NULL) { /* an empty token still needs its NUL */
        if (token_put(st, '\0') != STEP_NEXT)
            return NULL;
        st->tok_len = 0;
    }
    s = st->tok;
    s[st->tok_len] = '\0';
    *len_r = st->tok_len;
    st->tok = NULL;
    st->tok_len = st->tok_cap = 0;
    return s;
}

static enum parse_step token_bad_byte(struct parse_state *st, unsigned char c)
{
    return parse_fail(st, IMAP_PERR_SYNTAX, c == 0 ? IMAP_SYN_NUL : IMAP_SYN_ATOM_CHAR);
}

static enum parse_step token_tag(struct parse_state *st, unsigned char c)
{
    size_t len;

    if (imap_is_tag_char(c) && st->tok_len < IMAP_TAG_MAX)
        return token_put(st, c);
    if (st->tok_len == 0 || (c != ' ' && c != '\n'))
        return parse_fail(st, IMAP_PERR_TAG, IMAP_SYN_NONE);
    st->cmd.tag = token_take(st, &len);
    if (st->cmd.tag == NULL)
        return STEP_AGAIN;
    st->cmd.tag_len = len;
    if (c == '\n')
        return parse_fail(st, IMAP_PERR_COMMAND, IMAP_SYN_NONE);
    st->pos = PS_NAME;
    return STEP_NEXT;
}

static void token_find_stream_rule(struct parse_state *st, const struct imap_stream_rule *rules)
{
    st->stream_from = UINT_MAX;
    for (; rules != NULL && rules->name != NULL; rules++) {
        if (strcasecmp(rules->name, st->cmd.name) == 0) {
            st->stream_from = rules->first_arg;
            return;
        }
    }
}

static enum parse_step token_name(struct parse_state *st, unsigned char c)
{
    size_t len;

    if (imap_is_atom_char(c))
        return token_put(st, c);
    if (st->tok_len == 0 || (c != ' ' && c != '\n'))
        return parse_fail(st, IMAP_PERR_COMMAND, IMAP_SYN_NONE);
    st->cmd.name = token_take(st, &len);
    if (st->cmd.name == NULL)
        return STEP_AGAIN;
    st->cmd.name_len = len;
    token_find_stream_rule(st, st->rules);
    st->pos = PS_ARG;
    return c == '\n' ? parse_line_end(st) : STEP_NEXT;
}

static enum parse_step token_list_open(struct parse_state *st)
{
    struct imap_arg *arg;
    struct parse_frame *f;

    if (st->depth >= st->limits->depth_max)
        return parse_fail(st, IMAP_PERR_DEPTH, IMAP_SYN_NONE);
    arg = parse_arg_new(st, IMAP_ARG_LIST);
    if (arg == NULL)
        return STEP_AGAIN;
    f = imap_arena_alloc(st->arena, sizeof(*f));
    if (f == NULL)
        return parse_fail_nomem(st);
    f->list = arg;
    f->tail = st->tail;
    f->count = st->count;
    f->up = st->frame;
    st->frame = f;
    st->tail = &arg->list;
    st->count = &arg->count;
    st->depth++;
    return STEP_NEXT;
}

static enum parse_step token_list_close(struct parse_state *st)
{
    struct parse_frame *f = st->frame;

    if (f == NULL)
        return parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_UNEXPECTED_CLOSE);
    st->tail = f->tail;
    st->count = f->count;
    st->frame = f->up;
    st->depth--;
    st->pos = PS_AFTER_ARG;
    return STEP_NEXT;
}

/* Between arguments: SP, ')' and the line end are for both PS_ARG and PS_AFTER_ARG. */
static enum parse_step token_separator(struct parse_state *st, unsigned char c)
{
    switch (c) {
    case ' ':
        st->pos = PS_ARG; /* runs of SP are taken as one, as most servers do */
        return STEP_NEXT;
    case ')':
        return token_list_close(st);
    case '\n':
        return parse_line_end(st);
    default:
        return parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_SPACE);
    }
}

static enum parse_step token_arg(struct parse_state *st, unsigned char c)
{
    st->bracket_used = false;
    switch (c) {
    case ' ':
    case ')':
    case '\n':
        return token_separator(st, c);
    case '(':
        return token_list_open(st);
    case '"':
        st->pos = PS_QUOTED;
        return STEP_NEXT;
    case '~':
        st->pos = PS_TILDE;
        return STEP_NEXT;
    case '{':
        st->lit8 = false;
        st->lit_size = 0;
        st->lit_digits = st->lit_plus = false;
        st->pos = PS_LIT_SIZE;
        return STEP_NEXT;
    default:
        if (!token_is_atom_byte(c) && c != '\\')
            return token_bad_byte(st, c);
        st->pos = PS_ATOM;
        return token_put(st, c);
    }
}

static enum parse_step token_string_end(struct parse_state *st, enum imap_arg_type type)
{
    struct imap_arg *arg;
    size_t len;
    char *s = token_take(st, &len);

    if (s == NULL)
        return STEP_AGAIN;
    if (type == IMAP_ARG_ATOM && len == 3 && strncasecmp(s, "NIL", 3) == 0)
        type = IMAP_ARG_NIL;
    arg = parse_arg_new(st, type);
    if (arg == NULL)
        return STEP_AGAIN;
    arg->str = s;
    arg->len = len;
    st->pos = PS_AFTER_ARG;
    return STEP_NEXT;
}

/* FETCH attributes whose "[...]" may hold SP and parentheses (RFC 3501 6.4.5, RFC 3516). */
static bool token_is_section_item(const char *s, size_t len)
{
    static const char *const items[] = {"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK",
                                        "BINARY.SIZE"};

    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
        if (strlen(items[i]) == len && strncasecmp(s, items[i], len) == 0)
            return true;
    return false;
}

static enum parse_step token_atom(struct parse_state *st, unsigned char c)
{
    if (c == ' ' || c == ')' || c == '\n') {
        enum parse_step step = token_string_end(st, IMAP_ARG_ATOM);
        return step == STEP_NEXT ? STEP_AGAIN : step; /* the separator is PS_AFTER_ARG's */
    }
    if (!token_is_atom_byte(c))
        return token_bad_byte(st, c);
    if (c == '[' && !st->bracket_used && token_is_section_item(st->tok, st->tok_len)) {
        st->bracket_used = true;
        st->pos = PS_BRACKET;
    }
    return token_put(st, c);
}

static enum parse_step token_bracket(struct parse_state *st, unsigned char c)
{
    if (c == '\n')
        return parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_BRACKET);
    if (c < 0x20 || c > 0x7e)
        return token_bad_byte(st, c);
    if (st->pos == PS_BRACKET_ESC)
        st->pos = PS_BRACKET_QUOTED;
    else if (st->pos == PS_BRACKET_QUOTED && c == '\\')
        st->pos = PS_BRACKET_ESC;
    else if (c == '"')
        st->pos = st->pos == PS_BRACKET ? PS_BRACKET_QUOTED : PS_BRACKET;
    else if (c == ']' && st->pos == PS_BRACKET)
        st->pos = PS_ATOM;
    return token_put(st, c);
}

static enum parse_step token_tilde(struct parse_state *st, unsigned char c)
{
    if (c == '{') {
        st->lit8 = true;
        st->lit_size = 0;
        st->lit_digits = st->lit_plus = false;
        st->pos = PS_LIT_SIZE;
        return STEP_NEXT;
    }
    st->pos = PS_ATOM; /* "~" is an ATOM-CHAR too */
    token_put(st, '~');
    return STEP_AGAIN;
}

static enum parse_step token_quoted(struct parse_state *st, unsigned char c)
{
    if (c == '\r' || c == '\n')
        return parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_QUOTED_EOL);
    if (c == 0)
        return parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_NUL);
    if (st->pos == PS_QUOTED_ESC) {
        if (c != '"' && c != '\\')
            return parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_QUOTED_ESC);
        st->pos = PS_QUOTED;
        return token_put(st, c);
    }
    if (c == '\\') {
        st->pos = PS_QUOTED_ESC;
        return STEP_NEXT;
    }
    if (c == '"')
        return token_string_end(st, IMAP_ARG_QUOTED);
    return token_put(st, c); /* 8-bit too: UTF-8 search strings are common */
}

static enum parse_step token_literal_size(struct parse_state *st, unsigned char c)
{
    if (st->pos == PS_LIT_SIZE && c >= '0' && c <= '9') {
        unsigned d = (unsigned)(c - '0');
        /* saturate: a size past 2^64 is over every limit anyway */
        st->lit_size = st->lit_size > (UINT64_MAX - d) / 10 ? UINT64_MAX : st->lit_size * 10 + d;
        st->lit_digits = true;
        return STEP_NEXT;
    }
    if (st->pos == PS_LIT_SIZE && c == '+' && st->lit_digits) {
        st->lit_plus = true;
        st->pos = PS_LIT_PLUS;
        return STEP_NEXT;
    }
    if (c == '}' && st->lit_digits) {
        st->pos = PS_LIT_CLOSE;
        return STEP_NEXT;
    }
    return parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_LITERAL_SIZE);
}

enum parse_step parse_token_step(struct parse_state *st, unsigned char c)
{
    switch (st->pos) {
    case PS_TAG:
        return token_tag(st, c);
    case PS_NAME:
        return token_name(st, c);
    case PS_ARG:
        return token_arg(st, c);
    case PS_AFTER_ARG:
        return token_separator(st, c);
    case PS_ATOM:
        return token_atom(st, c);
    case PS_BRACKET:
    case PS_BRACKET_QUOTED:
    case PS_BRACKET_ESC:
        return token_bracket(st, c);
    case PS_TILDE:
        return token_tilde(st, c);
    case PS_QUOTED:
    case PS_QUOTED_ESC:
        return token_quoted(st, c);
    case PS_LIT_SIZE:
    case PS_LIT_PLUS:
        return token_literal_size(st, c);
    case PS_LIT_CLOSE:
        if (c == '\n')
            return parse_literal_start(st);
        return parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_LITERAL_EOL);
    default:
        return parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_NONE); /* not a text state */
    }
}
