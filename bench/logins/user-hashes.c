/* user-hashes: prints "name hash" for every user in a Halyard store's users.tcb, so that
 * bench/logins/run can give Dovecot's passwd-file the very yescrypt strings mailuser stored.
 * Reads the record as store/store-user.c writes it (rec_put): u8 version, u8 status, u64 quota
 * bytes, u64 quota messages, then the hash and the services as u32 big-endian length + bytes.
 * Opens the file as a reader (Tokyo Cabinet's shared lock); run it while no writer runs.
 *
 *   user-hashes STORE_ROOT/users.tcb
 *
 * Built by bench/logins/run with cc -O2 ... -ltokyocabinet. Exit 0 when every record decoded. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <tcbdb.h>

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int main(int argc, char **argv)
{
    TCBDB *bdb;
    BDBCUR *cur;
    int rc = 0, n = 0;

    if (argc != 2) {
        fputs("usage: user-hashes STORE_ROOT/users.tcb\n", stderr);
        return 2;
    }
    bdb = tcbdbnew();
    if (!tcbdbopen(bdb, argv[1], BDBOREADER)) {
        fprintf(stderr, "user-hashes: %s: %s\n", argv[1], tcbdberrmsg(tcbdbecode(bdb)));
        return 1;
    }
    cur = tcbdbcurnew(bdb);
    for (bool more = tcbdbcurfirst(cur); more; more = tcbdbcurnext(cur)) {
        int klen, vlen;
        const char *k = tcbdbcurkey3(cur, &klen);
        const unsigned char *v = tcbdbcurval3(cur, &vlen);
        if (k == NULL || v == NULL)
            break;
        /* 1 + 1 + 8 + 8 bytes before the hash's length */
        if (vlen < 22 || be32(v + 18) > (uint32_t)vlen - 22) {
            fprintf(stderr, "user-hashes: malformed record for %.*s\n", klen, k);
            rc = 1;
            continue;
        }
        uint32_t hl = be32(v + 18);
        if (hl == 0) {
            fprintf(stderr, "user-hashes: %.*s has no password\n", klen, k);
            rc = 1;
            continue;
        }
        printf("%.*s %.*s\n", klen, k, (int)hl, (const char *)v + 22);
        n++;
    }
    tcbdbcurdel(cur);
    tcbdbclose(bdb);
    tcbdbdel(bdb);
    if (n == 0) {
        fprintf(stderr, "user-hashes: no users in %s\n", argv[1]);
        rc = 1;
    }
    return rc;
}
