/* The IMAP command parser (RFC 3501 section 9, RFC 7888 LITERAL+, RFC 3516 literal8): a pure
 * function of bytes. imapd feeds it from the connection's input buffer; the tests byte by byte.
 *
 * One parser per connection. Between commands it holds no buffer (its struct is three
 * pointers); the first byte of a command allocates an arena (imapd-arena.h) in which the
 * argument tree is built, and a finished command takes that arena with it:
 *
 *   imap_parser_feed(p, data, len, &used, &out) consumes a prefix of data and returns
 *     NEED_MORE     all of data was used; feed more when it arrives (partial state is kept)
 *     CONTINUE      a synchronising literal was accepted: send "+ Ready for literal data",
 *                   then keep feeding (the client sends the literal only after that)
 *     STREAM_BEGIN  a literal of a streaming command starts (see struct imap_stream_rule):
 *                   out.stream says its size and kind, out.cmd shows the arguments so far.
 *                   To accept a synchronising one, send the continuation; to refuse it, call
 *                   imap_parser_stream_refuse() and write the reply yourself.
 *     STREAM_DATA   out.data/out.data_len: the next bytes of that literal, pointing into the
 *                   buffer just fed (use them before it changes)
 *     DONE          out.cmd is a whole command, now the caller's: imap_cmd_free() it
 *     ERROR         out.error: the command is over and must get one reply
 *                   (imap_parse_error_reply()); if out.error.close, close the connection
 *                   after it. A streamed literal begun in this command must be thrown away.
 *   Each call returns at most one result; every result but NEED_MORE may leave bytes unused,
 *   which belong to the next call (so STARTTLS can stop reading after its own command).
 *
 * Errors are reported when the client's command is over: a syntax error or a limit hit in
 * mid-line makes the parser skip to the end of the command line, still honouring a
 * non-synchronising literal announced at the end of a skipped line (RFC 7888 section 4: its
 * octets are read and discarded), so a literal's contents are never taken for commands.
 */
#ifndef HALYARD_IMAPD_PARSE_H
#define HALYARD_IMAPD_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct imap_arena;

#define IMAP_TAG_MAX 64

/* Every limit is a parameter of the parser; imap_parser_limits_default has the values. */
struct imap_parser_limits {
    size_t line_max;      /* octets of command text, CRLFs included, literal data excluded */
    uint64_t literal_max; /* literal octets held in memory, summed over one command */
    uint64_t stream_max;  /* octets of one streamed literal (an APPEND message) */
    uint64_t discard_max; /* an over-limit non-synchronising literal up to this size is read
                             and thrown away; a larger one closes the connection */
    unsigned depth_max;   /* nesting of parenthesised lists */
    unsigned args_max;    /* arguments of one command, counted at every level */
};

extern const struct imap_parser_limits imap_parser_limits_default;

/* A command whose top-level literals from argument first_arg on (0-based) are handed out in
 * chunks instead of being kept: APPEND's message (RFC 3501 6.3.11, literal8 per RFC 3516). */
struct imap_stream_rule {
    const char *name; /* command name, compared case-insensitively */
    unsigned first_arg;
};

enum imap_arg_type {
    IMAP_ARG_ATOM,     /* ASTRING-CHARs, plus list-wildcards and a leading '\' (flags); in a
                          fetch attribute (BODY[, BINARY[...) a bracketed part may hold SP,
                          parentheses and quoted strings: "BODY[HEADER.FIELDS (TO)]<0.10>" */
    IMAP_ARG_NIL,      /* the atom NIL (any case); str is still its text, for astrings */
    IMAP_ARG_QUOTED,   /* a quoted string, escapes removed */
    IMAP_ARG_LITERAL,  /* {N} or {N+}, or with literal8 set ~{N} (may contain NUL) */
    IMAP_ARG_LIST,     /* ( ... ) */
    IMAP_ARG_STREAMED, /* a literal handed out by STREAM_DATA; size is its length */
};

/* One argument. Strings are NUL-terminated (len excludes the NUL; a literal8 may hold NULs). */
struct imap_arg {
    enum imap_arg_type type;
    bool literal8;
    struct imap_arg *next; /* the next sibling, NULL after the last */
    const char *str;       /* ATOM, NIL, QUOTED, LITERAL */
    size_t len;
    struct imap_arg *list; /* LIST: the first element, NULL when empty */
    unsigned count;        /* LIST: number of elements */
    uint64_t size;         /* STREAMED */
};

struct imap_cmd {
    const char *tag;
    size_t tag_len;
    const char *name;
    size_t name_len;
    struct imap_arg *args;    /* the first top-level argument, NULL when none */
    unsigned nargs;           /* top-level arguments */
    struct imap_arena *arena; /* owns the command and everything it points to */
};

enum imap_parse_result {
    IMAP_PARSE_NEED_MORE,
    IMAP_PARSE_CONTINUE,
    IMAP_PARSE_STREAM_BEGIN,
    IMAP_PARSE_STREAM_DATA,
    IMAP_PARSE_DONE,
    IMAP_PARSE_ERROR,
};

/* What a SYNTAX error was about; the texts are in imapd-parse-error.c. */
enum imap_syntax_error {
    IMAP_SYN_NONE,
    IMAP_SYN_ATOM_CHAR, /* a byte that cannot be in an atom */
    IMAP_SYN_NUL,       /* NUL in command text */
    IMAP_SYN_SPACE,     /* two arguments not separated by SP */
    IMAP_SYN_UNEXPECTED_CLOSE,
    IMAP_SYN_MISSING_CLOSE,
    IMAP_SYN_QUOTED_EOL,   /* CR or LF inside a quoted string */
    IMAP_SYN_QUOTED_ESC,   /* a backslash not before '"' or '\' */
    IMAP_SYN_LITERAL_SIZE, /* "{" not followed by digits, an optional '+' and "}" */
    IMAP_SYN_LITERAL_EOL,  /* "}" not followed by CRLF */
    IMAP_SYN_LITERAL_NUL,  /* NUL in a literal that is not a literal8 (RFC 3516 section 4.4) */
    IMAP_SYN_BRACKET,      /* the line ended inside "[...]" */
    IMAP_SYN_BARE_CR,      /* CR not followed by LF (keep last) */
};

/* Each hit limit is its own kind, so imapd can log it; the replies are in imapd-parse-error.c. */
enum imap_parse_error_kind {
    IMAP_PERR_TAG,     /* * BAD Missing or invalid tag */
    IMAP_PERR_COMMAND, /* tag BAD Missing or invalid command name */
    IMAP_PERR_SYNTAX,  /* tag BAD <text of the syntax error> */
    IMAP_PERR_LINE,    /* line_max: tag BAD Command line too long */
    IMAP_PERR_TOOBIG,  /* literal_max / stream_max: NO [TOOBIG] for a synchronising
                          literal (never sent), BAD [TOOBIG] for a discarded one, BYE over
                          discard_max (RFC 7888 section 4, RFC 7889, RFC 4469 TOOBIG) */
    IMAP_PERR_DEPTH,   /* depth_max */
    IMAP_PERR_ARGS,    /* args_max */
    IMAP_PERR_NOMEM,   /* out of memory: BYE */
};

struct imap_parse_error {
    enum imap_parse_error_kind kind;
    enum imap_syntax_error syntax; /* SYNTAX: what was wrong */
    uint64_t limit;                /* the limit that was hit */
    uint64_t size;                 /* TOOBIG: the announced literal size */
    bool sync;                     /* TOOBIG: the literal was synchronising, so it was never sent */
    bool close;                    /* close the connection after the reply */
    char tag[IMAP_TAG_MAX + 1];    /* "" when there was no valid tag: the reply is untagged */
};

struct imap_stream {
    uint64_t size;      /* announced octets */
    uint64_t offset;    /* STREAM_DATA: position of out.data within the literal */
    unsigned arg_index; /* top-level argument index of the literal */
    bool sync;          /* synchronising: the client waits for a continuation */
    bool literal8;      /* ~{N}: binary content (RFC 3516) */
};

struct imap_parse_out {
    struct imap_cmd *cmd; /* DONE: owned by the caller; STREAM_*: borrowed, arguments so far */
    struct imap_stream stream;
    const char *data; /* STREAM_DATA */
    size_t data_len;
    struct imap_parse_error error; /* ERROR */
};

struct imap_parser;

/* limits and rules (NULL: no command streams; else ended by a NULL name) must outlive the
 * parser. Returns NULL when out of memory. */
struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits,
                                    const struct imap_stream_rule *rules);
void imap_parser_free(struct imap_parser **p);

enum imap_parse_result imap_parser_feed(struct imap_parser *p, const char *data, size_t len,
                                        size_t *used_r, struct imap_parse_out *out);

/* Right after STREAM_BEGIN: do not take this literal. A synchronising one ends the command
 * at once (the client sends nothing more for it); a non-synchronising one and the rest of its
 * command are skipped silently. No ERROR follows: the caller replies. out.cmd is gone. */
void imap_parser_stream_refuse(struct imap_parser *p);

/* True while a command is partly parsed (the parser then holds its arena). */
bool imap_parser_busy(const struct imap_parser *p);

/* Frees a command and its arena; sets *cmd to NULL. */
void imap_cmd_free(struct imap_cmd **cmd);

/* The complete reply line for an error, CRLF included, in buf (truncated to size). Returns
 * its length. */
size_t imap_parse_error_reply(const struct imap_parse_error *e, char *buf, size_t size);

/* The journal line for a hit limit in buf; false (nothing written) for plain syntax errors. */
bool imap_parse_error_journal(const struct imap_parse_error *e, char *buf, size_t size);

/* The BAD texts of the syntax helpers (sequence sets, FETCH sections, argument getters), kept
 * with the parser's own in imapd-parse-error.c. */
extern const char imap_text_seqset_invalid[], imap_text_seqset_zero[], imap_text_seqset_big[];
extern const char imap_text_section_invalid[], imap_text_section_partial[],
    imap_text_section_size_partial[];
extern const char imap_text_mailbox_missing[], imap_text_mailbox_mutf7[], imap_text_nomem[];
/* SEARCH (imapd-search-parse.c); a BAD names the key concerned after a colon where it helps */
extern const char imap_text_search_none[], imap_text_search_charset[],
    imap_text_search_badcharset[], imap_text_search_unknown[], imap_text_search_not_key[],
    imap_text_search_argument[], imap_text_search_missing[], imap_text_search_date[],
    imap_text_search_number[], imap_text_search_keyword[], imap_text_search_empty[],
    imap_text_search_depth[];

/* Whether c may appear in a tag: ASTRING-CHAR except '+' (RFC 3501 section 9). */
bool imap_is_tag_char(unsigned char c);
/* ATOM-CHAR: any CHAR except atom-specials (RFC 3501 section 9). */
bool imap_is_atom_char(unsigned char c);

#endif
