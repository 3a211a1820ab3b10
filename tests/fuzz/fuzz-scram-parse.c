/* libFuzzer target for the SCRAM secret reader: any bytes as a stored secret or a userPassword
 * value; what parses must print back in RFC 5803 form and parse again to the same secret. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth-sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct auth_scram_secret s, again;
    char *text = malloc(size + 1), out[512];

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (auth_scram_parse(text, &s) == 0) {
        assert(s.iter > 0 && s.iter <= AUTH_SCRAM_ITER_MAX);
        assert(strlen(s.stored_key) == AUTH_SCRAM_KEY_B64_LEN);
        assert(auth_scram_format(&s, out, sizeof(out)) == 0);
        assert(auth_scram_parse(out, &again) == 0 && memcmp(&s, &again, sizeof(s)) == 0);
    }
    free(text);
    return 0;
}
