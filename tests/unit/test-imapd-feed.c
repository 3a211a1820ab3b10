/* The parser tests' driver: feeds a case's input in one piece, byte by byte or in random
 * chunks, checks what every result promises, and writes the results as a transcript. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test-imapd-feed.h"

struct text {
    char *buf;
    size_t len, cap;
};

static void text_put(struct text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->buf = realloc(t->buf, t->cap);
        assert_non_null(t->buf);
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void text_puts(struct text *t, const char *s)
{
    text_put(t, s, strlen(s));
}

static void text_printf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_printf(struct text *t, const char *fmt, ...)
{
    char buf[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    text_puts(t, buf);
}

/* Bytes as they are, except non-printable ones as \xNN (and '"', '\' inside quotes). */
static void text_bytes(struct text *t, const char *s, size_t n, bool quoted)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c > 0x7e)
            text_printf(t, "\\x%02x", c);
        else if (quoted && (c == '"' || c == '\\'))
            text_printf(t, "\\%c", c);
        else
            text_put(t, (const char *)&c, 1);
    }
}

static void text_args(struct text *t, const struct imap_arg *arg, unsigned count)
{
    unsigned seen = 0;

    for (; arg != NULL; arg = arg->next, seen++) {
        if (seen > 0)
            text_puts(t, " ");
        switch (arg->type) {
        case IMAP_ARG_ATOM:
        case IMAP_ARG_NIL:
            assert_int_equal(strlen(arg->str), arg->len);
            text_bytes(t, arg->str, arg->len, false);
            break;
        case IMAP_ARG_QUOTED:
            assert_int_equal(strlen(arg->str), arg->len);
            text_puts(t, "\"");
            text_bytes(t, arg->str, arg->len, true);
            text_puts(t, "\"");
            break;
        case IMAP_ARG_LITERAL:
            assert_int_equal(arg->str[arg->len], '\0');
            text_printf(t, "%s{%zu}", arg->literal8 ? "~" : "", arg->len);
            text_bytes(t, arg->str, arg->len, false);
            break;
        case IMAP_ARG_LIST:
            text_puts(t, "(");
            text_args(t, arg->list, arg->count);
            text_puts(t, ")");
            break;
        case IMAP_ARG_STREAMED:
            text_printf(t, "<streamed%s %ju>", arg->literal8 ? "8" : "", (uintmax_t)arg->size);
            break;
        }
    }
    assert_int_equal(seen, count);
}

struct feed_run {
    struct imap_parser *p;
    struct text t;
    struct text data; /* streamed octets not yet written out */
    uint64_t stream_offset;
    bool streaming, closed, first;
};

static void feed_event(struct feed_run *r, const char *s)
{
    if (!r->first)
        text_puts(&r->t, " | ");
    r->first = false;
    text_puts(&r->t, s);
}

static void feed_flush_data(struct feed_run *r)
{
    if (r->data.len == 0)
        return;
    feed_event(r, "data ");
    text_bytes(&r->t, r->data.buf, r->data.len, false);
    r->data.len = 0;
}

static void feed_result(struct feed_run *r, enum imap_parse_result res, struct imap_parse_out *out,
                        const char *chunk, size_t chunk_len)
{
    char line[512];

    if (res == IMAP_PARSE_ERROR)
        r->data.len = 0; /* a failed command's streamed data is thrown away */
    else if (res != IMAP_PARSE_STREAM_DATA && res != IMAP_PARSE_NEED_MORE)
        feed_flush_data(r);
    switch (res) {
    case IMAP_PARSE_NEED_MORE:
        break;
    case IMAP_PARSE_CONTINUE:
        feed_event(r, "+");
        break;
    case IMAP_PARSE_STREAM_BEGIN:
        snprintf(line, sizeof(line), "stream %ju%s%s arg %u", (uintmax_t)out->stream.size,
                 out->stream.sync ? "" : "+", out->stream.literal8 ? " ~" : "",
                 out->stream.arg_index);
        feed_event(r, line);
        assert_non_null(out->cmd);
        r->streaming = true;
        r->stream_offset = 0;
        break;
    case IMAP_PARSE_STREAM_DATA:
        assert_true(r->streaming);
        assert_true(out->data >= chunk && out->data + out->data_len <= chunk + chunk_len);
        assert_true(out->data_len > 0);
        assert_int_equal(out->stream.offset, r->stream_offset);
        r->stream_offset += out->data_len;
        assert_true(r->stream_offset <= out->stream.size);
        text_put(&r->data, out->data, out->data_len);
        break;
    case IMAP_PARSE_DONE:
        assert_false(imap_parser_busy(r->p));
        assert_int_equal(strlen(out->cmd->tag), out->cmd->tag_len);
        assert_int_equal(strlen(out->cmd->name), out->cmd->name_len);
        feed_event(r, out->cmd->tag);
        text_printf(&r->t, " %s", out->cmd->name);
        if (out->cmd->args != NULL)
            text_puts(&r->t, " ");
        text_args(&r->t, out->cmd->args, out->cmd->nargs);
        imap_cmd_free(&out->cmd);
        assert_null(out->cmd);
        r->streaming = false;
        break;
    case IMAP_PARSE_ERROR:
        assert_false(imap_parser_busy(r->p));
        r->streaming = false;
        size_t n = imap_parse_error_reply(&out->error, line, sizeof(line));
        assert_true(n > 2 && line[n - 2] == '\r' && line[n - 1] == '\n');
        line[n - 2] = '\0';
        feed_event(r, line);
        if (out->error.close) {
            text_puts(&r->t, " (close)");
            r->closed = true;
        }
        break;
    }
}

static size_t feed_chunk_size(unsigned chunking, unsigned *state, size_t left)
{
    size_t n;

    if (chunking == FEED_WHOLE)
        return left;
    if (chunking == FEED_BYTES)
        return 1;
    *state = *state * 1103515245u + 12345u;
    n = 1 + (*state >> 16) % 17;
    return n < left ? n : left;
}

char *feed_transcript(const struct imap_parser_limits *limits, const struct imap_stream_rule *rules,
                      const char *in, size_t len, unsigned chunking)
{
    struct feed_run r = {.p = imap_parser_new(limits, rules), .first = true};
    unsigned state = chunking;
    size_t pos = 0;

    assert_non_null(r.p);
    text_puts(&r.t, "");
    while (pos < len && !r.closed) {
        size_t n = feed_chunk_size(chunking, &state, len - pos);
        const char *chunk = in + pos;
        size_t off = 0;
        while (off < n && !r.closed) {
            struct imap_parse_out out;
            size_t used = 99999;
            enum imap_parse_result res = imap_parser_feed(r.p, chunk + off, n - off, &used, &out);
            assert_true(used <= n - off);
            if (res == IMAP_PARSE_NEED_MORE)
                assert_int_equal(used, n - off);
            else if (!out.error.close)
                assert_true(used > 0);
            feed_result(&r, res, &out, chunk + off, n - off);
            off += used;
        }
        pos += n;
    }
    feed_flush_data(&r);
    if (imap_parser_busy(r.p))
        feed_event(&r, "(busy)");
    imap_parser_free(&r.p);
    assert_null(r.p);
    free(r.data.buf);
    return r.t.buf;
}

void feed_check_cases(const struct feed_case *cases, size_t n,
                      const struct imap_parser_limits *limits, const struct imap_stream_rule *rules)
{
    for (size_t i = 0; i < n; i++) {
        for (unsigned chunking = 0; chunking < FEED_SEEDS; chunking++) {
            char *got = feed_transcript(limits, rules, cases[i].in, cases[i].len, chunking);
            if (strcmp(got, cases[i].expect) != 0) {
                print_error("case %zu, chunking %u:\n  input  ", i, chunking);
                for (size_t j = 0; j < cases[i].len && j < 200; j++) {
                    unsigned char c = (unsigned char)cases[i].in[j];
                    print_error(c < 0x20 || c > 0x7e ? "\\x%02x" : "%c", c);
                }
                print_error("\n  expect %s\n  got    %s\n", cases[i].expect, got);
                free(got);
                fail();
            }
            free(got);
        }
    }
}
