/* Reading a password for mailuser: from stdin for scripts, or from the terminal with echo off,
 * asked twice. The buffers are wiped before they are freed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "mailuser.h"

static int tty_fd = -1;
static struct termios tty_saved;

/* A signal while echo is off must not leave the terminal silent. */
static void tty_restore_and_die(int sig)
{
    if (tty_fd >= 0)
        tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads one line from fd into a fresh buffer, without the line end. NULL on EOF before any
 * byte, on a read error or when the line is too long. */
static char *read_line(int fd)
{
    char *buf = malloc(MAILUSER_PASSWORD_MAX + 2);
    size_t n = 0;
    ssize_t r;
    char c;

    if (buf == NULL)
        return NULL;
    for (;;) {
        r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == '\n')
            break;
        if (n > MAILUSER_PASSWORD_MAX) {
            explicit_bzero(buf, n);
            free(buf);
            return NULL;
        }
        buf[n++] = c;
    }
    if (r <= 0 && n == 0) {
        free(buf);
        return NULL;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    return buf;
}

static char *tty_ask(const char *prompt)
{
    struct termios quiet;
    char *line;

    if (write(tty_fd, prompt, strlen(prompt)) < 0)
        return NULL;
    quiet = tty_saved;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
    quiet.c_lflag |= ICANON;
    tcsetattr(tty_fd, TCSAFLUSH, &quiet);
    line = read_line(tty_fd);
    tcsetattr(tty_fd, TCSAFLUSH, &tty_saved);
    if (write(tty_fd, "\n", 1) < 0) {
        /* the newline is cosmetic */
    }
    return line;
}

char *mailuser_password_read(const char *user, bool from_stdin, const char **why_r)
{
    char prompt[256], *first, *second;
    void (*old_int)(int), (*old_term)(int), (*old_quit)(int);

    if (from_stdin) {
        first = read_line(STDIN_FILENO);
        if (first == NULL)
            *why_r = "no password on standard input (or longer than 4096 bytes)";
        return first;
    }
    tty_fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty_fd < 0 || tcgetattr(tty_fd, &tty_saved) != 0) {
        if (tty_fd >= 0)
            close(tty_fd);
        tty_fd = -1;
        *why_r = "no terminal to ask for the password (use --password-stdin)";
        return NULL;
    }
    old_int = signal(SIGINT, tty_restore_and_die);
    old_term = signal(SIGTERM, tty_restore_and_die);
    old_quit = signal(SIGQUIT, tty_restore_and_die);
    snprintf(prompt, sizeof(prompt), "New password for %s: ", user);
    first = tty_ask(prompt);
    second = first ? tty_ask("Retype the password: ") : NULL;
    signal(SIGINT, old_int);
    signal(SIGTERM, old_term);
    signal(SIGQUIT, old_quit);
    close(tty_fd);
    tty_fd = -1;
    if (first == NULL || second == NULL) {
        *why_r = "no password given";
        mailuser_password_free(&first);
        mailuser_password_free(&second);
        return NULL;
    }
    if (strcmp(first, second) != 0) {
        *why_r = "the two passwords differ";
        mailuser_password_free(&first);
        mailuser_password_free(&second);
        return NULL;
    }
    mailuser_password_free(&second);
    return first;
}

void mailuser_password_free(char **password)
{
    if (*password == NULL)
        return;
    explicit_bzero(*password, strlen(*password));
    free(*password);
    *password = NULL;
}

bool mailuser_parse_size(const char *s, uint64_t *v_r)
{
    char *end;
    unsigned long long v;
    unsigned shift = 0;

    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return false;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    case 't':
    case 'T':
        shift = 40;
        break;
    default:
        return false;
    }
    if (*end != '\0' && end[1] != '\0')
        return false;
    if (shift && v > (UINT64_MAX >> shift))
        return false;
    *v_r = (uint64_t)v << shift;
    return true;
}
