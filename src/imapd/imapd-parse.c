/* The command parser's byte loop: the per-command state and its arena, line length and CRLF,
 * errors, and handing results out; literals and skipping are in imapd-parse-literal.c. */
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

enum parse_step parse_fatal(struct parse_state *st, enum imap_parse_error_kind kind)
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

enum parse_step parse_end(struct parse_state *st, enum imap_parse_result result)
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
    st->skip_left = st->lit_left; /* within stream_max, so readable whatever discard_max is */
    st->pos = st->lit_left > 0 ? PS_SKIP : PS_DISCARD;
}
