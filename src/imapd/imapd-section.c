/* FETCH section atoms: "BODY.PEEK[1.2.HEADER.FIELDS (From "To")]<0.100>" into the item, part
 * path, section text, header field names and partial range that the fetch code works from. */
#include "imapd-section.h"

#include <string.h>
#include <strings.h>

#include "imapd-arena.h"
#include "imapd-parse.h"

struct section_cursor {
    const char *s;
    size_t len, i;
};

static bool section_keyword(struct section_cursor *c, const char *kw)
{
    size_t n = strlen(kw);

    if (c->len - c->i < n || strncasecmp(c->s + c->i, kw, n) != 0)
        return false;
    c->i += n;
    return true;
}

static bool section_char(struct section_cursor *c, char ch)
{
    if (c->i >= c->len || c->s[c->i] != ch)
        return false;
    c->i++;
    return true;
}

/* number (zero allowed) or nz-number, 32 bits. */
static bool section_number(struct section_cursor *c, bool nonzero, uint32_t *n_r)
{
    uint64_t n = 0;
    size_t start = c->i;

    while (c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
        n = n * 10 + (uint64_t)(c->s[c->i++] - '0');
        if (n > UINT32_MAX)
            return false;
    }
    if (c->i == start || (nonzero && n == 0))
        return false;
    *n_r = (uint32_t)n;
    return true;
}

static bool section_item(const char *s, size_t len, enum imap_fetch_body *item_r)
{
    static const struct {
        const char *name;
        enum imap_fetch_body item;
    } items[] = {
        {"BODY", IMAP_FETCH_BODY},
        {"BODY.PEEK", IMAP_FETCH_BODY_PEEK},
        {"BINARY", IMAP_FETCH_BINARY},
        {"BINARY.PEEK", IMAP_FETCH_BINARY_PEEK},
        {"BINARY.SIZE", IMAP_FETCH_BINARY_SIZE},
    };

    for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++) {
        if (strlen(items[i].name) == len && strncasecmp(s, items[i].name, len) == 0) {
            *item_r = items[i].item;
            return true;
        }
    }
    return false;
}

/* One header field name (astring without literals), stored in *name_r when a is not NULL. */
static bool section_field(struct section_cursor *c, struct imap_arena *a, const char **name_r)
{
    size_t start = c->i, n = 0;
    char *out = NULL;

    if (!section_char(c, '"')) {
        while (c->i < c->len && imap_is_atom_char((unsigned char)c->s[c->i]))
            c->i++;
        if (c->i == start)
            return false;
        if (a != NULL && (*name_r = imap_arena_strndup(a, c->s + start, c->i - start)) == NULL)
            return false;
        return true;
    }
    if (a != NULL && (out = imap_arena_alloc(a, c->len - start)) == NULL)
        return false;
    while (c->i < c->len && c->s[c->i] != '"') {
        if (c->s[c->i] == '\\' && ++c->i == c->len)
            return false;
        if (out != NULL)
            out[n++] = c->s[c->i];
        c->i++;
    }
    if (out != NULL)
        *name_r = out;
    return section_char(c, '"') && (c->i - start > 2);
}

/* " (name name ...)": counted when r->fields is NULL, else stored. */
static bool section_fields(struct section_cursor *c, struct imap_arena *a, struct imap_section *r)
{
    unsigned n = 0;

    if (!section_char(c, ' ') || !section_char(c, '('))
        return false;
    for (;;) {
        while (section_char(c, ' '))
            ;
        if (section_char(c, ')'))
            break;
        if (!section_field(c, r->fields != NULL ? a : NULL, r->fields ? &r->fields[n] : NULL))
            return false;
        n++;
        if (c->i < c->len && c->s[c->i] != ' ' && c->s[c->i] != ')')
            return false;
    }
    r->nfields = n;
    return n > 0;
}

static bool section_text(struct section_cursor *c, struct imap_arena *a, struct imap_section *r)
{
    if (section_keyword(c, "HEADER.FIELDS.NOT"))
        r->text = IMAP_SECTION_HEADER_FIELDS_NOT;
    else if (section_keyword(c, "HEADER.FIELDS"))
        r->text = IMAP_SECTION_HEADER_FIELDS;
    else if (section_keyword(c, "HEADER"))
        r->text = IMAP_SECTION_HEADER;
    else if (section_keyword(c, "TEXT"))
        r->text = IMAP_SECTION_TEXT;
    else if (r->nparts > 0 && section_keyword(c, "MIME"))
        r->text = IMAP_SECTION_MIME;
    else
        return false;
    if (r->text != IMAP_SECTION_HEADER_FIELDS && r->text != IMAP_SECTION_HEADER_FIELDS_NOT)
        return true;
    size_t start = c->i;
    if (!section_fields(c, a, r))
        return false;
    r->fields = imap_arena_alloc(a, r->nfields * sizeof(*r->fields));
    c->i = start;
    return r->fields != NULL && section_fields(c, a, r);
}

static bool section_parts(struct section_cursor *c, struct imap_arena *a, struct imap_section *r)
{
    size_t max = 1;

    for (size_t i = c->i; i < c->len && c->s[i] != ']'; i++)
        max += c->s[i] == '.';
    r->parts = imap_arena_alloc(a, max * sizeof(*r->parts));
    if (r->parts == NULL)
        return false;
    for (;;) {
        if (!section_number(c, true, &r->parts[r->nparts++]))
            return false;
        /* "1.2" goes on; "1.TEXT" leaves the '.' to the section text */
        if (c->i + 1 >= c->len || c->s[c->i] != '.' || c->s[c->i + 1] < '0' || c->s[c->i + 1] > '9')
            return true;
        c->i++;
    }
}

static int section_fail(const char **error_r, const char *text)
{
    *error_r = text;
    return -1;
}

int imap_section_parse(const char *s, size_t len, struct imap_arena *a, struct imap_section *r,
                       const char **error_r)
{
    const char *bracket = memchr(s, '[', len);
    struct section_cursor c = {s, len, 0};
    bool binary;

    memset(r, 0, sizeof(*r));
    if (bracket == NULL || !section_item(s, (size_t)(bracket - s), &r->item))
        return 0;
    binary = r->item >= IMAP_FETCH_BINARY;
    c.i = (size_t)(bracket - s) + 1;
    if (c.i < len && s[c.i] >= '0' && s[c.i] <= '9' && !section_parts(&c, a, r))
        return section_fail(error_r,
                            r->parts == NULL ? imap_text_nomem : imap_text_section_invalid);
    if (!binary && c.i < len && s[c.i] != ']') {
        if (r->nparts > 0 && !section_char(&c, '.'))
            return section_fail(error_r, imap_text_section_invalid);
        if (!section_text(&c, a, r))
            return section_fail(error_r, imap_text_section_invalid);
    }
    if (!section_char(&c, ']'))
        return section_fail(error_r, imap_text_section_invalid);
    if (c.i == len)
        return 1;
    if (r->item == IMAP_FETCH_BINARY_SIZE)
        return section_fail(error_r, imap_text_section_size_partial);
    r->partial = true;
    if (!section_char(&c, '<') || !section_number(&c, false, &r->offset) ||
        !section_char(&c, '.') || !section_number(&c, true, &r->length) || !section_char(&c, '>') ||
        c.i != len)
        return section_fail(error_r, imap_text_section_partial);
    return 1;
}
