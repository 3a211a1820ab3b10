/* Header fields as SEARCH sees them (store-hfield.h), the half that needs GMime: a value
 * decoded as SEARCH matches it, and the hfields part of the MIME record built at delivery. */
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>

#include "store-hfield.h"
#include "store-mime.h"
#include "store-private.h"

char *store_hfield_decode(const char *raw, size_t len)
{
    char *unfolded = malloc(len + 1), *decoded, *v;

    if (unfolded == NULL)
        return NULL;
    store_hfield_unfold(raw, len, unfolded);
    store_gmime_init();
    decoded = g_mime_utils_header_decode_text(NULL, unfolded);
    if (decoded == NULL)
        return unfolded;
    v = strdup(decoded);
    g_free(decoded);
    free(unfolded);
    return v;
}

/* Lists every occurrence of field id in hdr[0..len) into out (entries only); false, with
 * nothing written, when one is not valid UTF-8 (GMime would then guess a charset from the
 * locale, which need not be imapd's) or the values pass STORE_HFIELD_FIELD_MAX. */
static bool hfield_collect(const char *hdr, size_t len, int id, struct store_buf *out)
{
    size_t pos = 0, start = out->len, total = 0;
    struct store_hfield f;

    while (store_hfield_next(hdr, len, &pos, &f)) {
        if (store_hfield_id(f.name, f.name_len) != id)
            continue;
        char *v = g_utf8_validate(f.value, (gssize)f.value_len, NULL)
                      ? store_hfield_decode(f.value, f.value_len)
                      : NULL;
        size_t n = v != NULL ? strlen(v) : 0;
        if (v == NULL || (total += n) > STORE_HFIELD_FIELD_MAX) {
            free(v);
            out->len = start;
            return false;
        }
        store_buf_u8(out, (uint8_t)id);
        store_buf_u16(out, (uint16_t)n);
        store_buf_add(out, v, n);
        free(v);
    }
    return true;
}

void store_hfields_compute(const char *msg, size_t len, size_t header_size, struct store_buf *out)
{
    size_t hlen = header_size < len ? header_size : len, at = out->len;
    uint8_t covered = 0;

    /* the block imapd reads (imapd-search.c msg_header), so both walks meet the same fields */
    hlen = hlen < STORE_HFIELD_BLOCK_MAX ? hlen : STORE_HFIELD_BLOCK_MAX;
    store_buf_u8(out, 0);
    for (int id = 0; id < STORE_HF_COUNT; id++)
        if (hfield_collect(msg, hlen, id, out))
            covered |= (uint8_t)(1u << id);
    out->data[at] = covered;
}
