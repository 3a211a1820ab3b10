/* store-dump: a test helper that prints one line per message of a user's mailbox through the
 * store API - "UID SIZE MESSAGE-ID" - so protocol tests can check exactly what was filed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "store.h"

/* The Message-ID header's value from the first 16 KB of the body file, or "-". */
static void dump_message_id(int fd, char *out, size_t size)
{
    char buf[16384];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

    snprintf(out, size, "-");
    if (n <= 0)
        return;
    buf[n] = '\0';
    for (char *line = buf; line != NULL && *line != '\r' && *line != '\n';) {
        char *next = strstr(line, "\r\n");
        if (next != NULL)
            *next = '\0';
        if (strncasecmp(line, "Message-ID:", 11) == 0) {
            const char *v = line + 11;
            v += strspn(v, " \t");
            snprintf(out, size, "%s", v);
            return;
        }
        line = next != NULL ? next + 2 : NULL;
    }
}

int main(int argc, char **argv)
{
    struct store *st;
    struct store_mailbox mb;
    struct store_msg *msgs;
    struct store_error err;
    size_t n;

    if (argc != 4) {
        fprintf(stderr, "usage: store-dump STORE-ROOT USER MAILBOX\n");
        return 2;
    }
    if (store_open(argv[1], &st, &err) != STORE_OK ||
        store_mailbox_get(st, argv[2], argv[3], &mb, &err) != STORE_OK ||
        store_msg_list(st, argv[2], mb.id, 1, 0, &msgs, &n, &err) != STORE_OK) {
        fprintf(stderr, "store-dump: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        char id[512];
        int fd;
        if (store_msg_open(st, argv[2], &msgs[i], &fd, &err) != STORE_OK) {
            fprintf(stderr, "store-dump: UID %u: %s\n", msgs[i].uid, err.msg);
            return 1;
        }
        dump_message_id(fd, id, sizeof(id));
        close(fd);
        printf("%u %llu %s\n", msgs[i].uid, (unsigned long long)msgs[i].size, id);
    }
    store_msg_list_free(&msgs, n);
    store_mailbox_clear(&mb);
    store_close(&st);
    return 0;
}
