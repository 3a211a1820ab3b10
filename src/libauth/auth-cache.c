/* The login cache: which (user, password, stored hash) triples this process verified lately,
 * kept as HMAC-SHA-256 digests under a key that never leaves the process, so a repeated login
 * skips the deliberately slow crypt(3) and the cache never holds a password. */
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "auth.h"

/* 4096 entries of 48 bytes in sets of 4: room for the users of a busy process, 192 KiB. */
#define CACHE_SETS 1024
#define CACHE_WAYS 4

struct cache_entry {
    unsigned char digest[32];
    uint64_t user;   /* hash of the user name, to forget a user's entries */
    int64_t expires; /* CLOCK_MONOTONIC seconds; 0: empty */
};

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cache_entry (*cache)[CACHE_WAYS];
static unsigned char cache_key[32];
static bool cache_broken;

static int64_t now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static uint64_t user_hash(const char *user)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)user; *p != '\0'; p++)
        h = (h ^ *p) * 1099511628211u;
    return h;
}

/* Called with cache_mu held: the table and its key, made on first use. */
static bool cache_ready(void)
{
    if (cache != NULL)
        return true;
    if (cache_broken)
        return false;
    if (getrandom(cache_key, sizeof(cache_key), 0) != (ssize_t)sizeof(cache_key) ||
        (cache = calloc(CACHE_SETS, sizeof(*cache))) == NULL) {
        cache_broken = true; /* no cache: every login hashes */
        return false;
    }
    return true;
}

/* The digest of user NUL password NUL hash; false when the HMAC fails. */
static bool cache_digest(const char *user, const char *password, const char *hash,
                         unsigned char out[32])
{
    size_t ul = strlen(user), pl = strlen(password), hl = strlen(hash), n = ul + pl + hl + 2;
    unsigned char *buf = malloc(n);
    int rc;

    if (buf == NULL)
        return false;
    memcpy(buf, user, ul + 1);
    memcpy(buf + ul + 1, password, pl + 1);
    memcpy(buf + ul + pl + 2, hash, hl);
    rc = gnutls_hmac_fast(GNUTLS_MAC_SHA256, cache_key, sizeof(cache_key), buf, n, out);
    explicit_bzero(buf, n);
    free(buf);
    return rc == 0;
}

static bool digest_equal(const unsigned char *a, const unsigned char *b)
{
    unsigned char diff = 0;

    for (size_t i = 0; i < 32; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

bool auth_cache_check(const char *user, const char *password, const char *hash, unsigned ttl)
{
    unsigned char d[32];
    bool hit = false;

    if (ttl == 0 || hash == NULL)
        return false;
    pthread_mutex_lock(&cache_mu);
    if (cache_ready() && cache_digest(user, password, hash, d)) {
        struct cache_entry *set = cache[(d[0] | (unsigned)d[1] << 8) % CACHE_SETS];
        int64_t now = now_s();
        for (int i = 0; i < CACHE_WAYS; i++)
            if (set[i].expires > now && digest_equal(set[i].digest, d))
                hit = true;
    }
    pthread_mutex_unlock(&cache_mu);
    return hit;
}

void auth_cache_store(const char *user, const char *password, const char *hash, unsigned ttl)
{
    unsigned char d[32];

    if (ttl == 0 || hash == NULL)
        return;
    pthread_mutex_lock(&cache_mu);
    if (cache_ready() && cache_digest(user, password, hash, d)) {
        struct cache_entry *set = cache[(d[0] | (unsigned)d[1] << 8) % CACHE_SETS], *victim = set;
        for (int i = 0; i < CACHE_WAYS; i++) {
            if (digest_equal(set[i].digest, d)) {
                victim = &set[i];
                break;
            }
            if (set[i].expires < victim->expires)
                victim = &set[i]; /* the one that expires first (or an empty one) */
        }
        memcpy(victim->digest, d, sizeof(d));
        victim->user = user_hash(user);
        victim->expires = now_s() + (int64_t)ttl;
    }
    pthread_mutex_unlock(&cache_mu);
}

void auth_cache_forget(const char *user)
{
    uint64_t u = user_hash(user);

    pthread_mutex_lock(&cache_mu);
    if (cache != NULL)
        for (size_t s = 0; s < CACHE_SETS; s++)
            for (int i = 0; i < CACHE_WAYS; i++)
                if (cache[s][i].user == u)
                    memset(&cache[s][i], 0, sizeof(cache[s][i]));
    pthread_mutex_unlock(&cache_mu);
}
