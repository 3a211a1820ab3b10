/* The login cache: a verified triple hits, anything else misses (another password, another
 * stored hash as after a password change, another user), a forgotten user misses, ttl 0 keeps
 * nothing, and an entry expires after its ttl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "auth.h"

static const char *h1 = "$y$j9T$abcdefgh$0123456789", *h2 = "$y$j9T$zyxwvuts$9876543210";

static void test_hit_and_misses(void **state)
{
    assert_false(auth_cache_check("alice", "secret", h1, 60));
    auth_cache_store("alice", "secret", h1, 60);
    assert_true(auth_cache_check("alice", "secret", h1, 60));
    assert_false(auth_cache_check("alice", "Secret", h1, 60));
    assert_false(auth_cache_check("alice", "secret", h2, 60)); /* password changed */
    assert_false(auth_cache_check("bob", "secret", h1, 60));
    assert_false(auth_cache_check("alice", "secret", NULL, 60));
    /* the boundary between the parts is part of the digest */
    auth_cache_store("ab", "c", h1, 60);
    assert_false(auth_cache_check("a", "bc", h1, 60));
}

static void test_forget(void **state)
{
    auth_cache_store("carol", "pw1", h1, 60);
    auth_cache_store("dave", "pw2", h1, 60);
    auth_cache_forget("carol");
    assert_false(auth_cache_check("carol", "pw1", h1, 60));
    assert_true(auth_cache_check("dave", "pw2", h1, 60));
}

static void test_ttl(void **state)
{
    auth_cache_store("erin", "pw", h1, 0);
    assert_false(auth_cache_check("erin", "pw", h1, 60));
    auth_cache_store("erin", "pw", h1, 1);
    assert_true(auth_cache_check("erin", "pw", h1, 1));
    assert_false(auth_cache_check("erin", "pw", h1, 0));
    sleep(2);
    assert_false(auth_cache_check("erin", "pw", h1, 1));
}

/* Many users: the table replaces entries, never answers wrongly. */
static void test_many(void **state)
{
    char user[32];

    for (int i = 0; i < 20000; i++) {
        snprintf(user, sizeof(user), "user%d", i);
        auth_cache_store(user, "pw", h1, 60);
    }
    snprintf(user, sizeof(user), "user%d", 19999);
    assert_true(auth_cache_check(user, "pw", h1, 60));
    assert_false(auth_cache_check(user, "px", h1, 60));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_and_misses),
        cmocka_unit_test(test_forget),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_many),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
