/* libFuzzer target for SEARCH's pure half: any bytes as the program of "a SEARCH ..." (through
 * the command parser, literals included) under a depth bound the input chooses, the tree
 * checked for its promises; the same bytes as a needle and a text for the chunked substring
 * search, which must agree with folding everything at once; and as a header block and as
 * the header-field part of a MIME record. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imapd-arena.h"
#include "imapd-parse.h"
#include "imapd-search.h"
#include "store-hfield.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks one subtree; returns its number of keys. */
static unsigned check_key(const struct imap_search_key *k, unsigned depth, unsigned depth_max,
                          unsigned nkeys, uint8_t *seen)
{
    unsigned n = 1, ops = 0;
    enum imap_search_cost cost = IMAP_SEARCH_COST_RECORD;

    /* NEW and UNKEYWORD add a level of their own under the client's nesting */
    assert(depth <= depth_max + 2);
    assert(k->index < nkeys && !seen[k->index]);
    seen[k->index] = 1;
    for (const struct imap_search_key *c = k->child; c != NULL; c = c->next, ops++) {
        n += check_key(c, depth + 1, depth_max, nkeys, seen);
        cost = c->cost > cost ? c->cost : cost;
    }
    switch (k->kind) {
    case IMAP_SK_AND:
        assert(ops > 0 && k->cost == cost);
        break;
    case IMAP_SK_OR:
        assert(ops == 2 && k->cost == cost);
        break;
    case IMAP_SK_NOT:
        assert(ops == 1 && k->cost == cost);
        break;
    case IMAP_SK_HEADER:
        assert(k->field != NULL && k->field[0] != '\0' && k->str != NULL);
        assert(k->cost == IMAP_SEARCH_COST_HEADER);
        break;
    case IMAP_SK_BODY:
    case IMAP_SK_TEXT:
        assert(k->str != NULL && k->cost == IMAP_SEARCH_COST_BODY);
        break;
    case IMAP_SK_KEYWORD:
        assert(k->str != NULL && k->str[0] != '\\');
        break;
    case IMAP_SK_SEQSET:
    case IMAP_SK_UIDSET:
        assert(k->set.count > 0);
        break;
    default:
        assert(ops == 0);
        break;
    }
    return n;
}

static void check_program(const struct imap_cmd *cmd, bool charset_allowed, unsigned depth_max)
{
    struct imap_search_program prog;
    const char *why, *what;
    char line[128];

    switch (
        imap_search_parse(cmd->args, charset_allowed, depth_max, cmd->arena, &prog, &why, &what)) {
    case IMAP_SEARCH_BAD:
        assert(why != NULL && why[0] != '\0');
        assert(what == NULL || what[0] != '\0');
        return;
    case IMAP_SEARCH_BADCHARSET:
    case IMAP_SEARCH_OK:
        break;
    }
    uint8_t *seen = calloc(prog.nkeys, 1);
    assert(seen != NULL && prog.root->kind == IMAP_SK_AND);
    assert(check_key(prog.root, 0, depth_max, prog.nkeys, seen) == prog.nkeys);
    free(seen);
    size_t n = imap_search_dump(prog.root, line, sizeof(line));
    assert(strlen(line) == (n < sizeof(line) ? n : sizeof(line) - 1));
}

static void fuzz_program(const uint8_t *data, size_t size, bool charset_allowed, unsigned depth_max)
{
    static const char head[] = "a SEARCH ";
    struct imap_parser *p = imap_parser_new(&imap_parser_limits_default, NULL);
    char *in = malloc(sizeof(head) - 1 + size + 2);
    size_t len = 0, off = 0;

    assert(p != NULL && in != NULL);
    memcpy(in, head, sizeof(head) - 1);
    len = sizeof(head) - 1;
    memcpy(in + len, data, size);
    len += size;
    memcpy(in + len, "\r\n", 2);
    len += 2;
    while (off < len) {
        struct imap_parse_out out;
        size_t used;
        enum imap_parse_result r = imap_parser_feed(p, in + off, len - off, &used, &out);
        off += used;
        if (r == IMAP_PARSE_DONE) {
            check_program(out.cmd, charset_allowed, depth_max);
            imap_cmd_free(&out.cmd);
        } else if (r == IMAP_PARSE_ERROR && out.error.close) {
            break;
        } else if (r == IMAP_PARSE_NEED_MORE) {
            break;
        }
    }
    imap_parser_free(&p);
    free(in);
}

/* Chunks the input chooses must find what the whole, folded at once, holds. */
static void fuzz_matcher(const char *needle, size_t nlen, const char *text, size_t tlen,
                         uint32_t seed)
{
    struct imap_search_matcher m;
    char *fn = malloc(2 * nlen + 1), *ft = malloc(2 * tlen + 1);
    size_t used, fnl, ftl;
    bool want;

    assert(fn != NULL && ft != NULL);
    fnl = imap_search_fold(needle, nlen, fn, &used, true);
    assert(used == nlen && fnl <= 2 * nlen);
    ftl = imap_search_fold(text, tlen, ft, &used, true);
    assert(used == tlen && ftl <= 2 * tlen);
    want = fnl == 0 || (ftl >= fnl && memmem(ft, ftl, fn, fnl) != NULL);
    assert(imap_search_matcher_init(&m, needle, nlen) == 0);
    for (size_t at = 0; at < tlen;) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 7;
        n = n < tlen - at ? n : tlen - at;
        imap_search_matcher_feed(&m, text + at, n);
        at += n;
    }
    assert(imap_search_matcher_end(&m) == want);
    imap_search_matcher_free(&m);
    free(fn);
    free(ft);
}

static void fuzz_header(const char *hdr, size_t len)
{
    struct store_hfield f;
    size_t pos = 0, last = 0;
    char *out = malloc(len + 1);

    assert(out != NULL);
    while (store_hfield_next(hdr, len, &pos, &f)) {
        assert(pos > last && pos <= len);
        assert(f.name >= hdr + last && f.value + f.value_len <= hdr + pos);
        assert(f.name + f.name_len < f.value);
        assert(store_hfield_unfold(f.value, f.value_len, out) <= f.value_len);
        last = pos;
    }
    assert(pos <= len);
    free(out);
}

/* The same bytes as the MIME record's header-field part: entries stay inside it. */
static void fuzz_hfields(const unsigned char *part, size_t len)
{
    enum store_hfield_id id;
    const char *v;
    size_t pos = 0, last = 0, vlen;

    (void)store_hfields_covers(part, len, STORE_HF_SUBJECT);
    while (store_hfields_next(part, len, &pos, &id, &v, &vlen)) {
        assert(pos > last && pos <= len && id < STORE_HF_COUNT);
        assert((const unsigned char *)v > part && (const unsigned char *)v + vlen == part + pos);
        last = pos;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned depth_max = data[0] & 0x80 ? IMAP_SEARCH_DEPTH_MAX : 1 + (data[0] & 7);
    bool charset_allowed = (data[0] & 0x40) == 0;
    size_t nlen = data[1] % 8 < size - 2 ? data[1] % 8 : size - 2;
    const char *rest = (const char *)data + 2;

    fuzz_program(data + 2, size - 2, charset_allowed, depth_max);
    fuzz_matcher(rest, nlen, rest + nlen, size - 2 - nlen, data[0] | (uint32_t)data[1] << 8);
    fuzz_header(rest, size - 2);
    fuzz_hfields((const unsigned char *)rest, size - 2);
    return 0;
}
