/* libFuzzer target for imapd's command parser: any bytes, fed whole and again in chunks the
 * input chooses; both runs must give the same results, every result must keep its promises,
 * and every parsed argument goes through the sequence-set, section and mailbox-name code. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "imapd-arena.h"
#include "imapd-args.h"
#include "imapd-mutf7.h"
#include "imapd-parse.h"
#include "imapd-section.h"
#include "imapd-seqset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct imap_parser_limits small = {
    .line_max = 64,
    .literal_max = 32,
    .stream_max = 48,
    .discard_max = 96,
    .depth_max = 4,
    .args_max = 12,
};

static const struct imap_stream_rule rules[] = {{"APPEND", 1}, {NULL, 0}};

struct run {
    const struct imap_parser_limits *limits;
    struct imap_parser *p;
    uint64_t hash;      /* of every result, chunking-independent */
    uint8_t data[4096]; /* the current stream's first octets, hashed unless its command fails */
    size_t data_len, data_total;
    bool closed;
};

static void run_hash(struct run *r, const void *p, size_t n)
{
    const uint8_t *b = p;

    for (size_t i = 0; i < n; i++)
        r->hash = (r->hash ^ b[i]) * 0x100000001b3ull;
}

static void run_hash_u64(struct run *r, uint64_t v)
{
    run_hash(r, &v, sizeof(v));
}

/* Mailbox names decode only from canonical modified UTF-7, so encoding gives them back. */
static void check_mailbox(const struct imap_arg *arg, struct imap_arena *a)
{
    const char *name, *error, *s;
    size_t len, n;
    char out[IMAP_MUTF7_ENCODE_MAX(256)];

    if (imap_arg_get_mailbox(arg, a, &name, &error) < 0 || strcmp(name, "INBOX") == 0)
        return;
    assert(imap_arg_get_astring(arg, &s, &len));
    if (len > 256)
        return;
    assert(imap_mutf7_encode(name, strlen(name), out, sizeof(out), &n) == 0);
    assert(n == len && memcmp(out, s, len) == 0);
}

/* UTF-8 that encodes must decode back to itself. */
static void check_utf8(const char *s, size_t len)
{
    char enc[IMAP_MUTF7_ENCODE_MAX(256)], dec[IMAP_MUTF7_DECODE_MAX(IMAP_MUTF7_ENCODE_MAX(256))];
    size_t en, dn;

    if (len > 256 || imap_mutf7_encode(s, len, enc, sizeof(enc), &en) < 0)
        return;
    assert(en < sizeof(enc));
    assert(imap_mutf7_decode(enc, en, dec, sizeof(dec), &dn) == 0);
    assert(dn == len && memcmp(dec, s, len) == 0);
}

static void check_atom(const char *s, size_t len, struct imap_arena *a)
{
    struct imap_seqset set;
    struct imap_section sec;
    const char *error;

    if (imap_seqset_parse(s, len, a, &set, &error) == 0) {
        assert(set.count > 0);
        imap_seqset_resolve(&set, (uint32_t)len * 7);
        for (size_t i = 0; i < set.count; i++) {
            assert(set.ranges[i].lo <= set.ranges[i].hi);
            assert(i == 0 || set.ranges[i].lo > set.ranges[i - 1].hi + 1);
            assert(imap_seqset_contains(&set, set.ranges[i].lo));
            assert(imap_seqset_contains(&set, set.ranges[i].hi));
        }
    }
    if (imap_section_parse(s, len, a, &sec, &error) == 1) {
        assert(sec.item <= IMAP_FETCH_BINARY_SIZE && sec.text <= IMAP_SECTION_MIME);
        for (unsigned i = 0; i < sec.nparts; i++)
            assert(sec.parts[i] > 0);
        for (unsigned i = 0; i < sec.nfields; i++)
            assert(sec.fields[i][0] != '\0');
        assert(!sec.partial || sec.length > 0);
    }
}

/* Walks a tree: counts, NUL-termination and the limits; hashes its shape and contents. */
static unsigned check_args(struct run *r, const struct imap_arg *arg, unsigned count,
                           unsigned depth, struct imap_arena *a)
{
    unsigned seen = 0, total = 0;

    assert(depth <= r->limits->depth_max);
    for (; arg != NULL; arg = arg->next, seen++, total++) {
        run_hash_u64(r, arg->type);
        run_hash_u64(r, arg->literal8);
        switch (arg->type) {
        case IMAP_ARG_ATOM:
        case IMAP_ARG_NIL:
            assert(arg->len > 0 && strlen(arg->str) == arg->len);
            check_atom(arg->str, arg->len, a);
            break;
        case IMAP_ARG_QUOTED:
            assert(strlen(arg->str) == arg->len);
            check_utf8(arg->str, arg->len);
            break;
        case IMAP_ARG_LITERAL:
            assert(arg->str[arg->len] == '\0');
            assert(arg->literal8 || strlen(arg->str) == arg->len);
            break;
        case IMAP_ARG_LIST:
            total += check_args(r, arg->list, arg->count, depth + 1, a);
            break;
        case IMAP_ARG_STREAMED:
            run_hash_u64(r, arg->size);
            assert(arg->size <= r->limits->stream_max);
            break;
        }
        if (arg->type != IMAP_ARG_LIST && arg->type != IMAP_ARG_STREAMED)
            run_hash(r, arg->str, arg->len);
        check_mailbox(arg, a);
    }
    assert(seen == count);
    return total;
}

static void run_result(struct run *r, enum imap_parse_result res, struct imap_parse_out *out,
                       const uint8_t *chunk, size_t len)
{
    char line[256];

    if (res == IMAP_PARSE_STREAM_DATA) {
        assert(out->data >= (const char *)chunk &&
               out->data + out->data_len <= (const char *)chunk + len);
        assert(out->data_len > 0 && out->stream.offset + out->data_len <= out->stream.size);
        size_t n = sizeof(r->data) - r->data_len;
        n = n < out->data_len ? n : out->data_len;
        memcpy(r->data + r->data_len, out->data, n);
        r->data_len += n;
        r->data_total += out->data_len;
        return;
    }
    if (res == IMAP_PARSE_NEED_MORE)
        return;
    if (res != IMAP_PARSE_ERROR) {
        run_hash(r, r->data, r->data_len);
        run_hash_u64(r, r->data_total);
    }
    r->data_len = r->data_total = 0;
    run_hash_u64(r, res);
    switch (res) {
    case IMAP_PARSE_STREAM_BEGIN:
        run_hash_u64(r, out->stream.size);
        run_hash_u64(r, out->stream.arg_index);
        assert(out->stream.size <= r->limits->stream_max);
        if (out->stream.size % 5 == 3) { /* the caller may refuse a stream (e.g. no mailbox) */
            imap_parser_stream_refuse(r->p);
            assert(imap_parser_busy(r->p) == !out->stream.sync);
        }
        break;
    case IMAP_PARSE_DONE:
        assert(out->cmd->tag_len > 0 && out->cmd->tag_len <= IMAP_TAG_MAX);
        assert(strlen(out->cmd->tag) == out->cmd->tag_len);
        assert(strlen(out->cmd->name) == out->cmd->name_len && out->cmd->name_len > 0);
        run_hash(r, out->cmd->tag, out->cmd->tag_len);
        run_hash(r, out->cmd->name, out->cmd->name_len);
        assert(check_args(r, out->cmd->args, out->cmd->nargs, 0, out->cmd->arena) <=
               r->limits->args_max);
        imap_cmd_free(&out->cmd);
        break;
    case IMAP_PARSE_ERROR: {
        size_t n = imap_parse_error_reply(&out->error, line, sizeof(line));
        assert(n > 2 && n < sizeof(line) - 1 && line[n - 2] == '\r' && line[n - 1] == '\n');
        assert(memchr(line, '\0', n) == NULL);
        run_hash(r, line, n);
        imap_parse_error_journal(&out->error, line, sizeof(line));
        r->closed = out->error.close;
        break;
    }
    default:
        break;
    }
}

static uint64_t run_feed(const struct imap_parser_limits *limits, const uint8_t *in, size_t len,
                         uint32_t seed)
{
    static struct run r;
    struct imap_parser *p = imap_parser_new(limits, rules);
    size_t pos = 0;

    r = (struct run){.limits = limits, .p = p, .hash = 0xcbf29ce484222325ull};
    assert(p != NULL);
    while (pos < len && !r.closed) {
        size_t n = len - pos;
        if (seed != 0) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 16) % (seed & 0x100 ? 3 : 40);
            n = n < len - pos ? n : len - pos;
        }
        for (size_t off = 0; off < n && !r.closed;) {
            struct imap_parse_out out;
            size_t used;
            enum imap_parse_result res =
                imap_parser_feed(p, (const char *)in + pos + off, n - off, &used, &out);
            assert(used <= n - off);
            assert(res != IMAP_PARSE_NEED_MORE || used == n - off);
            assert(res == IMAP_PARSE_NEED_MORE || used > 0 || out.error.close);
            if (res == IMAP_PARSE_DONE || res == IMAP_PARSE_ERROR)
                assert(!imap_parser_busy(p));
            run_result(&r, res, &out, in + pos + off, n - off);
            off += used;
        }
        pos += n;
    }
    /* the data of a stream whose command is unfinished is left out: how much of it was
     * handed out before a later octet fails it depends on the chunks */
    run_hash_u64(&r, imap_parser_busy(p));
    imap_parser_free(&p);
    return r.hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct imap_parser_limits *limits;
    uint32_t seed;

    if (size < 2)
        return 0;
    limits = data[0] & 1 ? &imap_parser_limits_default : &small;
    seed = data[1] | 1u;
    data += 2;
    size -= 2;
    assert(run_feed(limits, data, size, 0) == run_feed(limits, data, size, seed));
    return 0;
}
