/* The parser's per-command state, shared by imapd-parse.c (the byte loop, lines, literals,
 * skipping after errors) and imapd-parse-token.c (tag, name, atoms, quoted strings, lists). */
#ifndef HALYARD_IMAPD_PARSE_PRIVATE_H
#define HALYARD_IMAPD_PARSE_PRIVATE_H

#include "imapd-arena.h"
#include "imapd-parse.h"

/* Where the parser is; the text states see one byte at a time, the data states blocks. */
enum parse_pos {
    PS_TAG,
    PS_NAME,
    PS_ARG,       /* an argument, ')', SP or the line end may come */
    PS_AFTER_ARG, /* SP, ')' or the line end must come */
    PS_ATOM,
    PS_BRACKET, /* inside the [...] of a fetch attribute atom */
    PS_BRACKET_QUOTED,
    PS_BRACKET_ESC,
    PS_TILDE, /* '~' opening an argument: literal8 or an atom */
    PS_QUOTED,
    PS_QUOTED_ESC,
    PS_LIT_SIZE,    /* "{" seen, digits may follow */
    PS_LIT_PLUS,    /* "{N+" seen, "}" must follow */
    PS_LIT_CLOSE,   /* "{N}" seen, CRLF must follow */
    PS_LIT_DATA,    /* literal octets kept in the arena */
    PS_STREAM_DATA, /* literal octets handed out */
    PS_DISCARD,     /* after an error: up to the end of the command */
    PS_SKIP,        /* after an error: literal octets read and thrown away */
};

/* The last bytes of the line, to spot "{N}" or "{N+}" right before its end. */
enum parse_tail {
    TAIL_NONE,
    TAIL_OPEN, /* "{" */
    TAIL_SIZE, /* "{" and digits */
    TAIL_PLUS,
    TAIL_CLOSE,
    TAIL_CR,
};

struct parse_frame {
    struct imap_arg *list;
    struct imap_arg **tail; /* of the enclosing level */
    unsigned *count;
    struct parse_frame *up;
};

struct parse_state {
    struct imap_arena *arena;
    const struct imap_parser_limits *limits;
    const struct imap_stream_rule *rules;
    struct imap_cmd cmd;
    enum parse_pos pos;
    size_t line_len;       /* command text octets so far */
    uint64_t literal_held; /* literal octets kept in the arena */
    unsigned nargs, depth;
    unsigned stream_from;   /* top-level literals from this index on stream; UINT_MAX: none */
    struct imap_arg **tail; /* where the next argument is linked in */
    unsigned *count;        /* ... and the count of its level */
    struct parse_frame *frame;
    /* the token being read */
    char *tok;
    size_t tok_len, tok_cap;
    bool bracket_used;
    bool cr; /* a CR was read; LF must follow */
    /* the literal being announced or read */
    uint64_t lit_size, lit_left;
    bool lit_digits, lit_plus, lit8, stream_fresh;
    char *lit_buf;
    struct imap_stream stream;
    /* the line's tail */
    enum parse_tail tail_state;
    uint64_t tail_size;
    bool tail_plus, tail_literal;
    enum imap_parse_result result; /* set by a step returning STEP_RESULT */
    /* the first error; the command ends when its text does */
    bool failed, silent, fatal;
    struct imap_parse_error err;
    uint64_t skip_left;
};

/* What a text-state step asks of the byte loop. */
enum parse_step {
    STEP_NEXT,  /* the byte was used; go on */
    STEP_AGAIN, /* the state changed; give it the same byte */
    STEP_RESULT /* the byte was used and st->result is to be returned */
};

/* Records the first error and starts discarding; returns STEP_AGAIN (the byte that caused it
 * may end the line). Out of memory is fatal: st->fatal, and the byte loop stops at once, so
 * a step may return anything after it. */
enum parse_step parse_fail(struct parse_state *st, enum imap_parse_error_kind kind,
                           enum imap_syntax_error syntax);
enum parse_step parse_fail_nomem(struct parse_state *st);

/* Links a new argument in at the current level; NULL after recording ARGS or NOMEM. */
struct imap_arg *parse_arg_new(struct parse_state *st, enum imap_arg_type type);

/* An error that ends the connection: the byte loop returns it at once. */
enum parse_step parse_fatal(struct parse_state *st, enum imap_parse_error_kind kind);

/* Ends the step with st->result = result. */
enum parse_step parse_end(struct parse_state *st, enum imap_parse_result result);

/* An LF outside quoted strings and literals, with no error so far. */
enum parse_step parse_line_end(struct parse_state *st);

/* The text states of imapd-parse-token.c. */
enum parse_step parse_token_step(struct parse_state *st, unsigned char c);

/* imapd-parse-literal.c: a literal's "}" was followed by LF. */
enum parse_step parse_literal_start(struct parse_state *st);

/* A literal of a failed command: a synchronising one is never sent (the command ends), a
 * non-synchronising one is skipped, or ends the connection over discard_max. */
enum parse_step parse_literal_skip(struct parse_state *st, uint64_t size, bool sync);

/* PS_DISCARD: up to the end of the command. */
enum parse_step parse_discard(struct parse_state *st, unsigned char c);

/* Follows every text byte, so a skipped line's closing literal is still seen. */
void parse_tail_track(struct parse_state *st, unsigned char c);

/* The data states; each returns the octets of data it used. */
size_t parse_literal_data(struct parse_state *st, const char *data, size_t len);
size_t parse_skip(struct parse_state *st, size_t len);
/* STREAM_DATA, or NEED_MORE with nothing used when the data fails the command. */
enum imap_parse_result parse_stream_data(struct parse_state *st, const char *data, size_t len,
                                         size_t *used_r, struct imap_parse_out *out);

#endif
