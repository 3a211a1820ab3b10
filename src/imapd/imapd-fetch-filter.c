/* The filters between a body file and the wire: BINARY's transfer decoding (GMime's stateful
 * decoders, so input may come in any pieces) and HEADER.FIELDS[.NOT] as a line state machine,
 * so that neither needs the whole section in memory. */
#include <gmime/gmime.h>
#include <string.h>
#include <strings.h>

#include "imapd-fetch.h"

void imap_filter_init(struct imap_filter *f, enum imap_filter_kind kind, uint64_t raw_prefix,
                      const char *const *fields, unsigned nfields)
{
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->raw_left = raw_prefix;
    f->fields = fields;
    f->nfields = nfields;
    f->at_bol = true;
}

static bool filter_named(const struct imap_filter *f)
{
    for (unsigned k = 0; k < f->nfields; k++)
        if (strlen(f->fields[k]) == f->nlen && strncasecmp(f->fields[k], f->name, f->nlen) == 0)
            return true;
    return false;
}

/* A field runs from a line that does not start with SP or TAB to the next such line (RFC 5322
 * 2.2.3); its name is what comes before the colon. A line without a colon is dropped. */
static size_t filter_fields(struct imap_filter *f, const char *in, size_t n, char *out)
{
    bool not = f->kind == IMAP_FILTER_FIELDS_NOT;
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (f->at_bol) {
            f->at_bol = false;
            if (c != ' ' && c != '\t') { /* a new field (a continuation keeps the decision) */
                f->in_name = true;
                f->keep = false;
                f->nlen = 0;
            }
        }
        if (f->in_name) {
            if (c == ':' || f->nlen == sizeof(f->name)) {
                f->in_name = false;
                f->keep = filter_named(f) != not ;
                if (f->keep) {
                    memcpy(out + o, f->name, f->nlen);
                    o += f->nlen;
                }
            } else if (c == '\n') {
                f->in_name = false;
                f->keep = false;
            } else {
                f->name[f->nlen++] = c;
                continue;
            }
        }
        if (f->keep)
            out[o++] = c;
        if (c == '\n')
            f->at_bol = true;
    }
    return o;
}

size_t imap_filter_step(struct imap_filter *f, const char *in, size_t n, char *out)
{
    size_t o = 0;

    if (f->raw_left > 0) {
        size_t k = f->raw_left < n ? (size_t)f->raw_left : n;
        memcpy(out, in, k);
        f->raw_left -= k;
        in += k;
        n -= k;
        o = k;
    }
    switch (f->kind) {
    case IMAP_FILTER_RAW:
        memcpy(out + o, in, n);
        return o + n;
    case IMAP_FILTER_BASE64:
        return o + g_mime_encoding_base64_decode_step(
                       (const unsigned char *)in, n, (unsigned char *)out + o, &f->state, &f->save);
    case IMAP_FILTER_QP:
        return o + g_mime_encoding_quoted_decode_step(
                       (const unsigned char *)in, n, (unsigned char *)out + o, &f->state, &f->save);
    case IMAP_FILTER_FIELDS:
    case IMAP_FILTER_FIELDS_NOT:
        return o + filter_fields(f, in, n, out + o);
    }
    return o;
}

size_t imap_filter_finish(struct imap_filter *f, char *out)
{
    if (f->kind != IMAP_FILTER_FIELDS && f->kind != IMAP_FILTER_FIELDS_NOT)
        return 0;
    size_t o = 0;

    if (!f->at_bol && f->keep) { /* a last field without its line end gets one */
        memcpy(out, "\r\n", 2);
        o = 2;
    }
    /* RFC 3501 6.4.5: the subset of the header ends with its blank line */
    memcpy(out + o, "\r\n", 2);
    return o + 2;
}
