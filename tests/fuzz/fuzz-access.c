/* libFuzzer target for the access-rule parser and matcher: any bytes as mailAllowedServiceAccess
 * rules and as a filter; what parses is matched against a few clients with a fake resolver. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "access.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_resolve(struct access_peer *peer)
{
    peer->name_state = peer->addr[3] & 1 ? ACCESS_NAME_OK : ACCESS_NAME_SPOOFED;
    strcpy(peer->name, peer->addr[3] & 2 ? "host.example.com" : "localhost");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const addrs[] = {"127.0.0.1", "192.0.2.3", "::1", "2001:db8::2"};
    static const char *const services[] = {"imap", "pops", "https", "x"};

    for (int syntax = 0; syntax < 2; syntax++) {
        struct access_rules *r;
        struct access_error err;
        if (access_rules_parse((const char *)data, size, (enum access_syntax)syntax, syntax == 1,
                               &r, &err) < 0) {
            assert(r == NULL && err.why != NULL && err.offset <= size);
            continue;
        }
        for (size_t i = 0; i < 4; i++) {
            struct access_peer peer;
            struct access_result res;
            const struct access_rules *sets[] = {r, NULL};
            assert(access_peer_from_text(&peer, addrs[i]) == 0);
            access_check(sets, 2, services[i], &peer, i < 2 ? fuzz_resolve : NULL, &res);
            assert(res.reason != NULL);
            if (res.rule_text != NULL)
                assert(res.rule_index >= 1 && res.rule_index <= access_rules_count(r) &&
                       res.rule_len > 0);
        }
        access_rules_free(&r);
    }
    return 0;
}
