/* The spool file a message is received into, shared by the spool writer and delivery. */
#ifndef HALYARD_STORE_SPOOL_H
#define HALYARD_STORE_SPOOL_H

#include "store-private.h"

#define STORE_SPOOL_BUF 65536

struct store_spool {
    struct store *st;
    int fd;
    char *path; /* root/tmp/spool.XXXXXX */
    uint64_t size;
    bool last_cr; /* the last byte written was CR, so a following LF is already paired */
    bool finished;
    int64_t internaldate;
    int32_t tzoff;
    uint32_t header_size;
    struct store_mime mime;
    size_t blen;
    unsigned char buf[STORE_SPOOL_BUF];
};

#endif
