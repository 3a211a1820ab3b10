/* POP3's exclusive maildrop (RFC 1939 section 8, RFC 2449 [IN-USE]): an flock on a file in the
 * user's home, held for the whole POP session. IMAP sessions never take it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "store-private.h"

enum store_err store_maildrop_lock(struct store *st, const char *user, int *fd_r,
                                   struct store_error *err)
{
    char canon[STORE_USER_MAX + 1];
    enum store_err rc;
    char *home, *path;
    int fd;

    *fd_r = -1;
    rc = store_user_canon(user, canon, err);
    if (rc == STORE_OK)
        rc = store_home_ensure(st, canon, err);
    if (rc != STORE_OK)
        return rc;
    home = store_path_home(st, canon);
    path = home != NULL ? store_path_join(home, "pop.lock") : NULL;
    free(home);
    if (path == NULL)
        return store_fail(err, STORE_EIO, "out of memory");
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = store_fail(err, STORE_EIO, "%s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    free(path);
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return store_fail(err, STORE_EBUSY, "%s: maildrop in use by another POP session",
                              canon);
        return store_fail(err, STORE_EIO, "%s: maildrop lock: %s", canon, strerror(e));
    }
    *fd_r = fd;
    return STORE_OK;
}
