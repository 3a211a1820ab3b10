/* SASL for IMAP AUTHENTICATE and POP AUTH through GNU SASL (libgsasl): PLAIN, LOGIN,
 * SCRAM-SHA-256, SCRAM-SHA-256-PLUS (TLS channel binding) and EXTERNAL (a TLS client certificate
 * mapped to a user). One exchange is a struct auth_sasl; auth_sasl_step() blocks (it checks
 * passwords, reads the store or the directory) and so runs on a pool thread, one step at a time.
 * The choices are written down in docs/decisions.md ("SASL and certificate login"). */
#ifndef HALYARD_AUTH_SASL_H
#define HALYARD_AUTH_SASL_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"

enum auth_mech {
    AUTH_MECH_PLAIN,
    AUTH_MECH_LOGIN,
    AUTH_MECH_SCRAM,      /* SCRAM-SHA-256 (RFC 7677) */
    AUTH_MECH_SCRAM_PLUS, /* SCRAM-SHA-256-PLUS: bound to the TLS session */
    AUTH_MECH_EXTERNAL,   /* RFC 4422 appendix A: the TLS client certificate */
};
#define AUTH_MECH_COUNT 5

/* The mechanisms that send or prove a password (plaintextmincipher governs them). */
#define AUTH_MECHS_PASSWORD                                                                        \
    ((1u << AUTH_MECH_PLAIN) | (1u << AUTH_MECH_LOGIN) | (1u << AUTH_MECH_SCRAM) |                 \
     (1u << AUTH_MECH_SCRAM_PLUS))

/* What a connection has, for which mechanisms it may use and for the exchange itself. Strings
 * are copied by auth_sasl_new. */
struct auth_sasl_setup {
    struct store *store;
    const struct conf *conf;
    bool password_ok;             /* plaintextmincipher allows password mechanisms here */
    bool proxy_ok;                /* an authorisation identity may name another user (IMAP) */
    bool has_peer;                /* peer is filled (mailAllowedServiceAccess is checked) */
    struct auth_peer peer;        /* its service string must outlive the exchange */
    const char *cb_unique;        /* base64 tls-unique of the TLS session (RFC 5929), or NULL */
    const char *cb_exporter;      /* base64 tls-exporter (RFC 9266), or NULL */
    const struct auth_cert *cert; /* a client certificate the CA list verified, or NULL */
};

/* A verified client certificate, as the TLS layer reads its subject. */
struct auth_cert {
    const char *subject; /* RFC 4514 text, for the journal */
    const char *uid;     /* the subject's UID (0.9.2342.19200300.100.1.1), or NULL */
    const char *email;   /* the subject's emailAddress (1.2.840.113549.1.9.1, Sun's "e"), or NULL */
    const char *cn;      /* the subject's CN, or NULL */
};

/* "PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS", "EXTERNAL". */
const char *auth_mech_name(enum auth_mech mech);
/* Case-insensitive; false for a mechanism Halyard does not know. */
bool auth_mech_parse(const char *name, size_t len, enum auth_mech *mech_r);

/* The mechanisms this connection may use (bit 1u << mech): password mechanisms when
 * password_ok and libgsasl has them, -PLUS only with channel-binding data, EXTERNAL only with a
 * verified certificate. Advertise them in this order (enum order). */
unsigned auth_sasl_mechs(const struct auth_sasl_setup *setup);

/* Why mech may not be used here (a fixed text for the protocol's refusal), or NULL. */
const char *auth_sasl_refusal(const struct auth_sasl_setup *setup, enum auth_mech mech);

struct auth_sasl;

/* Starts an exchange (not blocking). NULL when out of memory or libgsasl refuses. */
struct auth_sasl *auth_sasl_new(enum auth_mech mech, const struct auth_sasl_setup *setup);
void auth_sasl_free(struct auth_sasl **sasl);

enum auth_sasl_rc {
    AUTH_SASL_CHALLENGE, /* send *out_r (base64, maybe "") as a challenge and wait */
    AUTH_SASL_DONE,      /* reply is filled; on AUTH_OK *out_r may hold the server's final
                            data (base64), sent as a challenge that the client answers empty */
    AUTH_SASL_MALFORMED, /* the client's response does not parse: a protocol error (BAD) */
};

/* One step (blocking). in: the client's base64 response, NULL for none yet (the command came
 * without an initial response); "" is an empty response. *out_r is malloc'd or NULL. */
enum auth_sasl_rc auth_sasl_step(struct auth_sasl *sasl, const char *in, size_t len, char **out_r,
                                 struct auth_reply *reply);

/* Who the client said it is (authentication identity, or the certificate's subject), for the
 * journal; "" before the client said. */
const char *auth_sasl_id(const struct auth_sasl *sasl);
enum auth_mech auth_sasl_mech(const struct auth_sasl *sasl);

/* --- certificate login --- */

/* Maps a verified certificate to its account (local.certmap.components, and
 * local.certmap.searchfilter with LDAP) and decides like a login whose password was right:
 * access rules, status, mailHost. Blocking. */
void auth_certificate(struct store *st, const struct conf *conf, const struct auth_cert *cert,
                      struct auth_peer *peer, struct auth_reply *reply);

/* --- SCRAM secrets (RFC 5802 / 7677) --- */

#define AUTH_SCRAM_SALT_MAX    64       /* bytes of salt accepted */
#define AUTH_SCRAM_ITER_MAX    10000000 /* iterations accepted (the client computes them) */
#define AUTH_SCRAM_KEY_B64_LEN 44       /* base64 of a SHA-256 key */

struct auth_scram_secret {
    unsigned long iter;
    char salt[(AUTH_SCRAM_SALT_MAX + 2) / 3 * 4 + 1]; /* base64 */
    char stored_key[AUTH_SCRAM_KEY_B64_LEN + 1];      /* base64 */
    char server_key[AUTH_SCRAM_KEY_B64_LEN + 1];      /* base64 */
};

/* Reads a SCRAM-SHA-256 secret: RFC 5803's "SCRAM-SHA-256$iter:salt$StoredKey:ServerKey" (as
 * the user table keeps it, also after a "{SCRAM-SHA-256}" scheme prefix), or Dovecot's and
 * `gsasl --mkpasswd`'s "{SCRAM-SHA-256}iter,salt,StoredKey,ServerKey[,SaltedPassword]" (the
 * last field ignored). Pure. Returns 0, or -1 for anything else (other hashes, bad base64,
 * keys that are not 32 bytes, 0 or over AUTH_SCRAM_ITER_MAX iterations). */
int auth_scram_parse(const char *text, struct auth_scram_secret *secret_r);

/* The RFC 5803 text of secret (for the user table). Returns 0, or -1 when out is too small. */
int auth_scram_format(const struct auth_scram_secret *secret, char *out, size_t size);

/* Derives a SCRAM-SHA-256 secret from password (SASLprep'd, RFC 4013) with a fresh 16-byte
 * salt and iter iterations; *text_r (malloc'd) is its RFC 5803 text. Returns 0, or -1 with a
 * static reason (a password SASLprep refuses, such as one with control characters). */
int auth_scram_make(const char *password, unsigned long iter, char **text_r, const char **why_r);

/* Whether SASLprep (RFC 4013), which GNU SASL applies to PLAIN and LOGIN passwords, changes or
 * refuses password: then those mechanisms cannot match a hash of it as typed (the IMAP LOGIN
 * command and POP3 USER/PASS still do). */
bool auth_saslprep_changes(const char *password);

/* --- pure helpers --- */

/* Base64 (RFC 4648, padded) of len bytes into out; returns the text length, or 0 when out
 * (size bytes, with the NUL) is too small. */
size_t auth_base64_encode(const unsigned char *in, size_t len, char *out, size_t size);

/* The value a certificate offers under components (a comma or blank separated list of "uid",
 * "e", "cn", tried in order): *value_r is the first present, the return its component name;
 * NULL when none is present (or the list names none). */
const char *auth_certmap_value(const char *components, const struct auth_cert *cert,
                               const char **value_r);

/* tmpl (an LDAP filter) with each "%s" replaced by value escaped for a filter (RFC 4515) and
 * "%%" by "%". Returns 0, or -1 for another '%' sequence, an empty value or when out is too
 * small. */
int auth_certmap_filter(const char *tmpl, const char *value, char *out, size_t size);

#endif
