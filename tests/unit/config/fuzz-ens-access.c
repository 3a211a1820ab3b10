/* libFuzzer target for ENS_ACCESS lists: any bytes as a list; a parsed list never exceeds its
 * bound, and matching it against a few clients never reads outside the rules. */
#include <arpa/inet.h>
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ens-access.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char v4[4] = {127, 0, 0, 1};
    static const unsigned char v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    static const unsigned char mapped[16] = {[10] = 0xff, [11] = 0xff, 10, 0, 0, 1};
    struct ens_access_rule rules[ENS_ACCESS_MAX];
    char *text = strndup((const char *)data, size);
    const char *why = NULL;
    int n;

    if (text == NULL)
        return 0;
    n = ens_access_parse(text, rules, ENS_ACCESS_MAX, &why);
    assert(n <= ENS_ACCESS_MAX);
    if (n < 0) {
        assert(why != NULL);
    } else {
        assert(n > 0);
        (void)ens_access_allows(rules, (size_t)n, AF_INET, v4);
        (void)ens_access_allows(rules, (size_t)n, AF_INET6, v6);
        (void)ens_access_allows(rules, (size_t)n, AF_INET6, mapped);
    }
    free(text);
    return 0;
}
