/* store-user-raw: a test helper that stores a user's mailAllowedServiceAccess text through the
 * store API without mailuser's syntax check, as an older table or a directory could hold it. */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store-user.h"

int main(int argc, char **argv)
{
    struct store *st;
    struct store_error err;
    struct store_user u = {0};

    if (argc != 4) {
        fprintf(stderr, "usage: store-user-raw STORE-ROOT USER RULES\n");
        return 2;
    }
    struct stat sb;
    /* as mailuser does: files written stay the store owner's */
    if (geteuid() == 0 &&
        (stat(argv[1], &sb) < 0 || setgid(sb.st_gid) < 0 || setuid(sb.st_uid) < 0)) {
        perror("store-user-raw: becoming the store's owner");
        return 1;
    }
    snprintf(u.name, sizeof(u.name), "%s", argv[2]);
    u.services = argv[3];
    if (store_open(argv[1], &st, &err) != STORE_OK ||
        store_user_set(st, &u, STORE_USER_SET_SERVICES, &err) != STORE_OK) {
        fprintf(stderr, "store-user-raw: %s\n", err.msg);
        return 1;
    }
    store_close(&st);
    return 0;
}
