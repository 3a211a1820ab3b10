/* The command parser's byte loop: the per-command state and its arena, line length and CRLF,
 * literal data in blocks, and skipping to the end of a command after an error. */
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "imapd-parse-private.h"

const struct imap_parser_limits imap_parser_limits_default = {
    /* RFC 7162 section 4: clients SHOULD keep a command line within 8192 octets */
    .line_max = 8192,
    /* LOGIN, SEARCH and mailbox-name strings; RFC 7888 section 4 lets a server bound them */
    .literal_max = 65536,
    /* APPEND's message: service.lmtp.maxmessagesize's default (RFC 7889 APPENDLIMIT) */
    .stream_max = 52428800,
    /* RFC 7888 section 4 option 1 (read and discard) up to this, option 2 (BYE) beyond */
    .discard_max = 104857600,
    /* RFC 3501 sets no bound; SEARCH keys and flag lists nest a few levels at most */
    .depth_max = 32,
    .args_max = 1024,
};

struct imap_parser {
    const struct imap_parser_limits *limits;
    const struct imap_stream_rule *rules;
    struct parse_state *st; /* NULL between commands */
};

/* Holds the state, a short command's arguments and tokens without a second chunk. */
#define PARSE_ARENA_FIRST 1024

struct imap_parser *imap_parser_new(const struct imap_parser_limits *limits,
                                    const struct imap_stream_rule *rules)
{
    struct imap_parser *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->limits = limits;
    p->rules = rules;
    return p;
}

static void parse_state_free(struct imap_parser *p)
{
    struct imap_arena *a = p->st != NULL ? p->st->arena : NULL;

    p->st = NULL; /* the state lives in its own arena */
    imap_arena_free(&a);
}

void imap_parser_free(struct imap_parser **p)
{
    if (p == NULL || *p == NULL)
        return;
    parse_state_free(*p);
    free(*p);
    *p = NULL;
}

bool imap_parser_busy(const struct imap_parser *p)
{
    return p->st != NULL;
}

void imap_cmd_free(struct imap_cmd **cmd)
{
    struct imap_arena *a = *cmd != NULL ? (*cmd)->arena : NULL;

    *cmd = NULL; /* the command lives in its own arena */
    imap_arena_free(&a);
}

static struct parse_state *parse_state_new(struct imap_parser *p)
{
    struct imap_arena *a = imap_arena_new(PARSE_ARENA_FIRST);
    struct parse_state *st = a != NULL ? imap_arena_alloc(a, sizeof(*st)) : NULL;

    if (st == NULL) {
        imap_arena_free(&a);
        return NULL;
    }
    st->arena = a;
    st->limits = p->limits;
    st->rules = p->rules;
    st->cmd.arena = a;
    st->pos = PS_TAG;
    st->tail = &st->cmd.args;
    st->count = &st->cmd.nargs;
    st->stream_from = UINT_MAX;
    return st;
}

enum parse_step parse_fail(struct parse_state *st, enum imap_parse_error_kind kind,
                           enum imap_syntax_error syntax)
{
    if (!st->failed) {
        st->failed = true;
        st->err.kind = kind;
        st->err.syntax = syntax;
        if (kind == IMAP_PERR_LINE)
            st->err.limit = st->limits->line_max;
        else if (kind == IMAP_PERR_DEPTH)
            st->err.limit = st->limits->depth_max;
        else if (kind == IMAP_PERR_ARGS)
            st->err.limit = st->limits->args_max;
    }
    st->pos = PS_DISCARD;
    return STEP_AGAIN;
}

static enum parse_step parse_fatal(struct parse_state *st, enum imap_parse_error_kind kind)
{
    memset(&st->err, 0, sizeof(st->err));
    st->err.kind = kind;
    st->err.close = true;
    st->failed = st->fatal = true;
    st->silent = false;
    return STEP_RESULT;
}

enum parse_step parse_fail_nomem(struct parse_state *st)
{
    return parse_fatal(st, IMAP_PERR_NOMEM);
}

/* RFC 7888 section 4 option 2: a non-synchronising literal too large even to read and throw
 * away ends the connection. */
static enum parse_step parse_fail_unskippable(struct parse_state *st, uint64_t size)
{
    parse_fatal(st, IMAP_PERR_TOOBIG);
    st->err.limit = st->limits->discard_max;
    st->err.size = size;
    return STEP_RESULT;
}

struct imap_arg *parse_arg_new(struct parse_state *st, enum imap_arg_type type)
{
    struct imap_arg *arg;

    if (st->nargs >= st->limits->args_max) {
        parse_fail(st, IMAP_PERR_ARGS, IMAP_SYN_NONE);
        return NULL;
    }
    arg = imap_arena_alloc(st->arena, sizeof(*arg));
    if (arg == NULL) {
        parse_fail_nomem(st);
        return NULL;
    }
    arg->type = type;
    *st->tail = arg;
    st->tail = &arg->next;
    (*st->count)++;
    st->nargs++;
    return arg;
}

static enum parse_step parse_end(struct parse_state *st, enum imap_parse_result result)
{
    st->result = result;
    return STEP_RESULT;
}

enum parse_step parse_line_end(struct parse_state *st)
{
    if (st->frame != NULL)
        return parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_MISSING_CLOSE);
    return parse_end(st, IMAP_PARSE_DONE);
}

/* A literal announced by a failed command: a synchronising one is never sent, so the command
 * is over; a non-synchronising one is on its way and is skipped. */
static enum parse_step parse_literal_skip(struct parse_state *st, uint64_t size, bool sync)
{
    if (sync)
        return parse_end(st, IMAP_PARSE_ERROR);
    if (size > st->limits->discard_max)
        return parse_fail_unskippable(st, size);
    st->skip_left = size;
    st->pos = size > 0 ? PS_SKIP : PS_DISCARD;
    return STEP_NEXT;
}

static enum parse_step parse_literal_too_big(struct parse_state *st, uint64_t limit)
{
    if (!st->failed) {
        parse_fail(st, IMAP_PERR_TOOBIG, IMAP_SYN_NONE);
        st->err.limit = limit;
        st->err.size = st->lit_size;
        st->err.sync = !st->lit_plus;
    }
    return parse_literal_skip(st, st->lit_size, !st->lit_plus);
}

enum parse_step parse_literal_start(struct parse_state *st)
{
    const struct imap_parser_limits *l = st->limits;
    bool sync = !st->lit_plus;
    bool stream = st->frame == NULL && st->cmd.nargs >= st->stream_from;
    uint64_t n = st->lit_size;
    struct imap_arg *arg;

    if (stream ? n > l->stream_max : n > l->literal_max - st->literal_held)
        return parse_literal_too_big(st, stream ? l->stream_max : l->literal_max);
    arg = parse_arg_new(st, stream ? IMAP_ARG_STREAMED : IMAP_ARG_LITERAL);
    if (arg == NULL)
        return st->fatal ? STEP_RESULT : parse_literal_skip(st, n, sync);
    arg->literal8 = st->lit8;
    st->lit_left = n;
    if (stream) {
        arg->size = n;
        st->stream = (struct imap_stream){
            .size = n, .arg_index = st->cmd.nargs - 1, .sync = sync, .literal8 = st->lit8};
        st->pos = n > 0 ? PS_STREAM_DATA : PS_AFTER_ARG;
        return parse_end(st, IMAP_PARSE_STREAM_BEGIN);
    }
    st->lit_buf = imap_arena_alloc(st->arena, (size_t)n + 1);
    if (st->lit_buf == NULL)
        return parse_fail_nomem(st);
    arg->str = st->lit_buf;
    arg->len = (size_t)n;
    st->literal_held += n;
    st->pos = n > 0 ? PS_LIT_DATA : PS_AFTER_ARG;
    return sync ? parse_end(st, IMAP_PARSE_CONTINUE) : STEP_NEXT;
}

/* After an error: the command ends with its line, unless a non-synchronising literal closes
 * the line, whose octets (and the line after them) still belong to it (RFC 7888 section 4). */
static enum parse_step parse_discard(struct parse_state *st, unsigned char c)
{
    if (c != '\n')
        return STEP_NEXT;
    if (st->tail_literal && st->tail_plus)
        return parse_literal_skip(st, st->tail_size, false);
    return parse_end(st, IMAP_PARSE_ERROR);
}

/* Follows the line's last bytes so a skipped line's "{N}" / "{N+}" / "~{N}" is still seen. */
static void parse_tail_track(struct parse_state *st, unsigned char c)
{
    if (c == '\n') {
        st->tail_literal = st->tail_state == TAIL_CLOSE || st->tail_state == TAIL_CR;
        st->tail_state = TAIL_NONE;
    } else if (c == '{') {
        st->tail_state = TAIL_OPEN;
        st->tail_size = 0;
        st->tail_plus = false;
    } else if ((st->tail_state == TAIL_OPEN || st->tail_state == TAIL_SIZE) && c >= '0' &&
               c <= '9') {
        unsigned d = (unsigned)(c - '0');
        st->tail_size = st->tail_size > (UINT64_MAX - d) / 10 ? UINT64_MAX : st->tail_size * 10 + d;
        st->tail_state = TAIL_SIZE;
    } else if (st->tail_state == TAIL_SIZE && c == '+') {
        st->tail_state = TAIL_PLUS;
        st->tail_plus = true;
    } else if ((st->tail_state == TAIL_SIZE || st->tail_state == TAIL_PLUS) && c == '}') {
        st->tail_state = TAIL_CLOSE;
    } else if (st->tail_state == TAIL_CLOSE && c == '\r') {
        st->tail_state = TAIL_CR;
    } else {
        st->tail_state = TAIL_NONE;
    }
}

static enum parse_step parse_text_byte(struct parse_state *st, unsigned char c)
{
    enum parse_step step = STEP_AGAIN;

    parse_tail_track(st, c);
    if (!st->failed && ++st->line_len > st->limits->line_max)
        parse_fail(st, IMAP_PERR_LINE, IMAP_SYN_NONE);
    /* CRLF ends a line; a bare LF is taken too, a bare CR is not */
    if (st->pos != PS_DISCARD && st->pos != PS_QUOTED && st->pos != PS_QUOTED_ESC) {
        if (st->cr) {
            st->cr = false;
            if (c != '\n')
                parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_BARE_CR);
        } else if (c == '\r') {
            st->cr = true;
            return STEP_NEXT;
        }
    }
    while (step == STEP_AGAIN && !st->fatal)
        step = st->pos == PS_DISCARD ? parse_discard(st, c) : parse_token_step(st, c);
    return step;
}

/* Literal octets kept in the arena. Returns how many of len were used. */
static size_t parse_literal_data(struct parse_state *st, const char *data, size_t len)
{
    size_t n = st->lit_left < len ? (size_t)st->lit_left : len;

    memcpy(st->lit_buf, data, n);
    st->lit_buf += n;
    st->lit_left -= n;
    if (!st->lit8 && memchr(data, '\0', n) != NULL) {
        parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_LITERAL_NUL);
        parse_literal_skip(st, st->lit_left, false);
    } else if (st->lit_left == 0) {
        st->pos = PS_AFTER_ARG;
    }
    return n;
}

static size_t parse_skip(struct parse_state *st, size_t len)
{
    size_t n = st->skip_left < len ? (size_t)st->skip_left : len;

    st->skip_left -= n;
    if (st->skip_left == 0)
        st->pos = PS_DISCARD;
    return n;
}

/* Streamed literal octets: handed out where they lie in the caller's buffer. */
static enum imap_parse_result parse_stream_data(struct parse_state *st, const char *data,
                                                size_t len, size_t *used_r,
                                                struct imap_parse_out *out)
{
    size_t n = st->lit_left < len ? (size_t)st->lit_left : len;

    if (!st->lit8 && memchr(data, '\0', n) != NULL) {
        parse_fail(st, IMAP_PERR_SYNTAX, IMAP_SYN_LITERAL_NUL);
        parse_literal_skip(st, st->lit_left, false);
        *used_r = 0;
        return IMAP_PARSE_NEED_MORE;
    }
    out->cmd = &st->cmd;
    out->stream = st->stream;
    out->data = data;
    out->data_len = n;
    st->stream.offset += n;
    st->lit_left -= n;
    if (st->lit_left == 0)
        st->pos = PS_AFTER_ARG;
    *used_r = n;
    return IMAP_PARSE_STREAM_DATA;
}

/* A step asked for a result: hand it out, and end the command if it is over. */
static enum imap_parse_result parse_result(struct imap_parser *p, struct imap_parse_out *out)
{
    struct parse_state *st = p->st;

    if (st->fatal || st->result == IMAP_PARSE_ERROR) {
        bool silent = st->silent && !st->fatal;
        if (!silent) {
            out->error = st->err;
            if (st->cmd.tag != NULL)
                memcpy(out->error.tag, st->cmd.tag, st->cmd.tag_len + 1);
        }
        parse_state_free(p);
        return silent ? IMAP_PARSE_NEED_MORE : IMAP_PARSE_ERROR;
    }
    switch (st->result) {
    case IMAP_PARSE_DONE:
        out->cmd = &st->cmd;
        p->st = NULL; /* the command takes the arena */
        return IMAP_PARSE_DONE;
    case IMAP_PARSE_STREAM_BEGIN:
        out->cmd = &st->cmd;
        out->stream = st->stream;
        st->stream_fresh = true;
        return IMAP_PARSE_STREAM_BEGIN;
    default:
        return st->result;
    }
}

enum imap_parse_result imap_parser_feed(struct imap_parser *p, const char *data, size_t len,
                                        size_t *used_r, struct imap_parse_out *out)
{
    size_t i = 0;

    memset(out, 0, sizeof(*out));
    if (p->st != NULL)
        p->st->stream_fresh = false;
    while (i < len) {
        struct parse_state *st = p->st;
        enum parse_step step = STEP_NEXT;
        enum imap_parse_result r;
        size_t n;

        if (st == NULL) {
            st = p->st = parse_state_new(p);
            if (st == NULL) {
                out->error.kind = IMAP_PERR_NOMEM;
                out->error.close = true;
                *used_r = i;
                return IMAP_PARSE_ERROR;
            }
        }
        switch (st->pos) {
        case PS_LIT_DATA:
            i += parse_literal_data(st, data + i, len - i);
            break;
        case PS_SKIP:
            i += parse_skip(st, len - i);
            break;
        case PS_STREAM_DATA:
            r = parse_stream_data(st, data + i, len - i, &n, out);
            i += n;
            if (r != IMAP_PARSE_NEED_MORE) {
                *used_r = i;
                return r;
            }
            break;
        default:
            step = parse_text_byte(st, (unsigned char)data[i++]);
            break;
        }
        if (st->fatal || step == STEP_RESULT) {
            r = parse_result(p, out);
            if (r != IMAP_PARSE_NEED_MORE) {
                *used_r = i;
                return r;
            }
        }
    }
    *used_r = len;
    return IMAP_PARSE_NEED_MORE;
}

void imap_parser_stream_refuse(struct imap_parser *p)
{
    struct parse_state *st = p->st;

    assert(st != NULL && st->stream_fresh);
    if (st->stream.sync) {
        parse_state_free(p);
        return;
    }
    st->failed = st->silent = true;
    st->stream_fresh = false;
    parse_literal_skip(st, st->lit_left, false);
}
