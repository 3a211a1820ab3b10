/* Error codes and messages: every failure leaves one code and one line for the protocol layer
 * to turn into exactly one reply. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store-private.h"

const char *store_err_name(enum store_err code)
{
    switch (code) {
    case STORE_OK:
        return "ok";
    case STORE_ENOTFOUND:
        return "not found";
    case STORE_EEXIST:
        return "already exists";
    case STORE_ECHILDREN:
        return "has inferior mailboxes";
    case STORE_EQUOTA:
        return "over quota";
    case STORE_ENOSPC:
        return "disk full";
    case STORE_EBUSY:
        return "busy";
    case STORE_EIO:
        return "I/O error";
    case STORE_EINVAL:
        return "invalid";
    case STORE_EDENIED:
        return "denied";
    }
    return "unknown error";
}

void store_ok(struct store_error *err)
{
    if (err != NULL) {
        err->code = STORE_OK;
        err->msg[0] = '\0';
    }
}

enum store_err store_fail(struct store_error *err, enum store_err code, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL) {
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

enum store_err store_fail_errno(struct store_error *err, int errnum, const char *what, ...)
{
    enum store_err code = STORE_EIO;
    char buf[STORE_ERRMSG_MAX];
    va_list ap;

    switch (errnum) {
    case ENOENT:
        code = STORE_ENOTFOUND;
        break;
    case ENOSPC:
    case EDQUOT:
        code = STORE_ENOSPC;
        break;
    case EEXIST:
        code = STORE_EEXIST;
        break;
    default:
        break;
    }
    va_start(ap, what);
    vsnprintf(buf, sizeof(buf), what, ap);
    va_end(ap);
    return store_fail(err, code, "%s: %s", buf, strerror(errnum));
}
