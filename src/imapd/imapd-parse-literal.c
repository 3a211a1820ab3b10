/* The parser's literals: announcement checks against the limits, octets kept or streamed,
 * and, after an error, skipping to the end of the command without running a literal's data. */
#include <string.h>

#include "imapd-parse-private.h"

/* RFC 7888 section 4 option 2: a non-synchronising literal too large even to read and throw
 * away ends the connection. */
static enum parse_step parse_fail_unskippable(struct parse_state *st, uint64_t size)
{
    parse_fatal(st, IMAP_PERR_TOOBIG);
    st->err.limit = st->limits->discard_max;
    st->err.size = size;
    return STEP_RESULT;
}

/* A literal announced by a failed command: a synchronising one is never sent, so the command
 * is over; a non-synchronising one is on its way and is skipped. */
enum parse_step parse_literal_skip(struct parse_state *st, uint64_t size, bool sync)
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
enum parse_step parse_discard(struct parse_state *st, unsigned char c)
{
    if (c != '\n')
        return STEP_NEXT;
    if (st->tail_literal && st->tail_plus)
        return parse_literal_skip(st, st->tail_size, false);
    return parse_end(st, IMAP_PARSE_ERROR);
}

/* Follows the line's last bytes so a skipped line's "{N}" / "{N+}" / "~{N}" is still seen. */
void parse_tail_track(struct parse_state *st, unsigned char c)
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

/* Literal octets kept in the arena. Returns how many of len were used. */
size_t parse_literal_data(struct parse_state *st, const char *data, size_t len)
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

size_t parse_skip(struct parse_state *st, size_t len)
{
    size_t n = st->skip_left < len ? (size_t)st->skip_left : len;

    st->skip_left -= n;
    if (st->skip_left == 0)
        st->pos = PS_DISCARD;
    return n;
}

/* Streamed literal octets: handed out where they lie in the caller's buffer. */
enum imap_parse_result parse_stream_data(struct parse_state *st, const char *data, size_t len,
                                         size_t *used_r, struct imap_parse_out *out)
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
