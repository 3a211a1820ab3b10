/* mailuser's parts: reading a password without echo, the size syntax, and the commands. */
#ifndef HALYARD_MAILUSER_H
#define HALYARD_MAILUSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

/* Exit statuses: refused or failed (a message on stderr), and a usage error. */
#define MAILUSER_EXIT_FAIL  1
#define MAILUSER_EXIT_USAGE 2

#define MAILUSER_PASSWORD_MAX 4096

/* Reads a password: one line from stdin when from_stdin, else twice from /dev/tty with echo
 * off (both must agree). Returns a malloc'd string the caller wipes with
 * mailuser_password_free, or NULL with a reason in why_r (static). */
char *mailuser_password_read(const char *user, bool from_stdin, const char **why_r);
void mailuser_password_free(char **password);

/* "1048576", "100K", "20M", "2G", "1T" (powers of 1024); false on anything else. */
bool mailuser_parse_size(const char *s, uint64_t *v_r);

/* PBKDF2 iterations of the SCRAM-SHA-256 keys add and passwd store (local.auth.scramiterations;
 * 0: none). */
void mailuser_set_scram_iterations(unsigned long iter);

/* Runs a command (argv[0] is its name) on st; returns the exit status. Messages go to out and
 * errors to errout. */
int mailuser_run(struct store *st, int argc, char **argv, FILE *out, FILE *errout);

#endif
