/* The imapd parser tests' driver: feeds input in a chosen chunking and writes what the parser
 * returned as one line of text, so a case is an input and the transcript it must give. */
#ifndef HALYARD_TEST_IMAPD_FEED_H
#define HALYARD_TEST_IMAPD_FEED_H

#include <stddef.h>

#include "imapd-parse.h"

struct feed_case {
    const char *in;
    size_t len;
    const char *expect;
};

/* A case from string literals (the input may hold NUL). */
#define FEED_CASE(in, out)                                                                         \
    {                                                                                              \
        in, sizeof(in) - 1, out                                                                    \
    }

/* Chunkings: the whole input in one call, one byte per call, or pseudo-random 1..17 octets
 * from a seed >= 2. */
#define FEED_WHOLE 0u
#define FEED_BYTES 1u
#define FEED_SEEDS 24u

/* The transcript (malloc'd): results joined by " | ". A command is "tag NAME args" with atoms
 * as they are, quoted strings in quotes, literals as {N}data or ~{N}data, lists in
 * parentheses, streamed literals as <streamed N>; "+" is a continuation request; "stream N
 * [+] [~] arg I" and "data ..." a streamed literal (data of a stream the command then fails
 * is left out: the caller throws it away); an error is its reply line, "(close)" after it
 * when the connection is to be closed; "(busy)" ends an unfinished command. */
char *feed_transcript(const struct imap_parser_limits *limits, const struct imap_stream_rule *rules,
                      const char *in, size_t len, unsigned chunking);

/* Runs every case in every chunking and fails on the first transcript that differs. */
void feed_check_cases(const struct feed_case *cases, size_t n,
                      const struct imap_parser_limits *limits,
                      const struct imap_stream_rule *rules);

#endif
