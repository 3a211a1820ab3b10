/* SCRAM-SHA-256 secrets (RFC 5802, 7677): the salt, iteration count, StoredKey and ServerKey a
 * server keeps instead of the password, in RFC 5803's text form for the user table, and the
 * forms LDAP directories hold in userPassword. */
#include <gsasl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "auth-sasl.h"

#define SCRAM_NAME     "SCRAM-SHA-256"
#define SCRAM_SALT_NEW 16

/* Copies a base64 field of len bytes into out (size bytes) when it decodes to between min and
 * max bytes. */
static bool field_b64(const char *p, size_t len, size_t min, size_t max, char *out, size_t size)
{
    unsigned char bin[AUTH_SCRAM_SALT_MAX + 1];
    long n;

    if (len == 0 || len >= size)
        return false;
    n = auth_base64_decode(p, len, bin, sizeof(bin));
    if (n < 0 || (size_t)n < min || (size_t)n > max)
        return false;
    memcpy(out, p, len);
    out[len] = '\0';
    return true;
}

static bool field_iter(const char *p, size_t len, unsigned long *iter_r)
{
    unsigned long v = 0;

    if (len == 0 || len > 9 || p[0] == '0')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(p[i] - '0');
    }
    if (v > AUTH_SCRAM_ITER_MAX)
        return false;
    *iter_r = v;
    return true;
}

/* Splits text at the separators seps (one per field boundary, in order) into at most nf fields;
 * returns how many fields there are, or 0 when a separator is missing or there are more. */
static size_t fields_split(const char *text, const char *seps, const char *f[], size_t len[],
                           size_t nf)
{
    size_t n = 0;
    const char *p = text;

    for (;;) {
        const char *end = n < strlen(seps) ? strchr(p, seps[n]) : NULL;
        if (n == nf)
            return 0;
        f[n] = p;
        if (end == NULL) {
            len[n] = strlen(p);
            return n + 1;
        }
        len[n++] = (size_t)(end - p);
        p = end + 1;
    }
}

int auth_scram_parse(const char *text, struct auth_scram_secret *secret_r)
{
    const char *f[5];
    size_t len[5], n;
    static const char scheme[] = "{" SCRAM_NAME "}";

    memset(secret_r, 0, sizeof(*secret_r));
    if (strncasecmp(text, scheme, sizeof(scheme) - 1) == 0) {
        text += sizeof(scheme) - 1;
        /* Dovecot and gsasl --mkpasswd: iter,salt,StoredKey,ServerKey[,SaltedPassword] */
        if (strncasecmp(text, SCRAM_NAME "$", sizeof(SCRAM_NAME)) != 0) {
            n = fields_split(text, ",,,,,", f, len, 5);
            if (n < 4)
                return -1;
            goto check;
        }
    }
    /* RFC 5803: SCRAM-SHA-256$iter:salt$StoredKey:ServerKey */
    if (strncasecmp(text, SCRAM_NAME "$", sizeof(SCRAM_NAME)) != 0)
        return -1;
    n = fields_split(text + sizeof(SCRAM_NAME), ":$:", f, len, 4);
    if (n != 4)
        return -1;
check:
    if (!field_iter(f[0], len[0], &secret_r->iter) ||
        !field_b64(f[1], len[1], 1, AUTH_SCRAM_SALT_MAX, secret_r->salt, sizeof(secret_r->salt)) ||
        !field_b64(f[2], len[2], 32, 32, secret_r->stored_key, sizeof(secret_r->stored_key)) ||
        !field_b64(f[3], len[3], 32, 32, secret_r->server_key, sizeof(secret_r->server_key))) {
        memset(secret_r, 0, sizeof(*secret_r));
        return -1;
    }
    return 0;
}

int auth_scram_format(const struct auth_scram_secret *secret, char *out, size_t size)
{
    int n = snprintf(out, size, SCRAM_NAME "$%lu:%s$%s:%s", secret->iter, secret->salt,
                     secret->stored_key, secret->server_key);

    return n < 0 || (size_t)n >= size ? -1 : 0;
}

bool auth_saslprep_changes(const char *password)
{
    char *out = NULL;
    bool changed = gsasl_saslprep(password, GSASL_ALLOW_UNASSIGNED, &out, NULL) != GSASL_OK ||
                   strcmp(out, password) != 0;

    if (out != NULL) {
        explicit_bzero(out, strlen(out));
        gsasl_free(out);
    }
    return changed;
}

int auth_scram_make(const char *password, unsigned long iter, char **text_r, const char **why_r)
{
    unsigned char salt[SCRAM_SALT_NEW];
    char salted[32], client_key[32], server_key[32], stored_key[32];
    struct auth_scram_secret s = {.iter = iter};
    char text[256];
    int rc;

    *text_r = NULL;
    if (iter == 0 || iter > AUTH_SCRAM_ITER_MAX) {
        *why_r = "iteration count out of range";
        return -1;
    }
    if (getrandom(salt, sizeof(salt), 0) != (ssize_t)sizeof(salt)) {
        *why_r = "no random bytes for the salt";
        return -1;
    }
    /* SASLprep is applied inside, as a client does (RFC 5802 section 2.2) */
    rc = gsasl_scram_secrets_from_password(GSASL_HASH_SHA256, password, (unsigned)iter,
                                           (const char *)salt, sizeof(salt), salted, client_key,
                                           server_key, stored_key);
    explicit_bzero(salted, sizeof(salted));
    explicit_bzero(client_key, sizeof(client_key));
    if (rc != GSASL_OK) {
        *why_r = rc == GSASL_SASLPREP_ERROR
                     ? "the password is not valid for SCRAM (SASLprep refuses it: RFC 4013)"
                     : "SCRAM key derivation failed";
        return -1;
    }
    auth_base64_encode(salt, sizeof(salt), s.salt, sizeof(s.salt));
    auth_base64_encode((unsigned char *)stored_key, 32, s.stored_key, sizeof(s.stored_key));
    auth_base64_encode((unsigned char *)server_key, 32, s.server_key, sizeof(s.server_key));
    explicit_bzero(server_key, sizeof(server_key));
    explicit_bzero(stored_key, sizeof(stored_key));
    if (auth_scram_format(&s, text, sizeof(text)) < 0 || (*text_r = strdup(text)) == NULL) {
        *why_r = "out of memory";
        return -1;
    }
    explicit_bzero(&s, sizeof(s));
    explicit_bzero(text, sizeof(text));
    return 0;
}
