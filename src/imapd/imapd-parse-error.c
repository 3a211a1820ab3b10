/* The replies and journal lines for command-parser errors, and the texts of the syntax
 * helpers: what a client sees when a command breaks the syntax or one of the parser's limits. */
#include <inttypes.h>
#include <stdio.h>

#include "imapd-parse.h"

static const char *const syntax_texts[] = {
    [IMAP_SYN_NONE] = "Invalid command syntax",
    [IMAP_SYN_ATOM_CHAR] = "Invalid character in atom",
    [IMAP_SYN_NUL] = "NUL octet in command",
    [IMAP_SYN_SPACE] = "Missing space between arguments",
    [IMAP_SYN_UNEXPECTED_CLOSE] = "Unexpected ')'",
    [IMAP_SYN_MISSING_CLOSE] = "Missing ')'",
    [IMAP_SYN_QUOTED_EOL] = "CR or LF in quoted string",
    [IMAP_SYN_QUOTED_ESC] = "Invalid escape in quoted string",
    [IMAP_SYN_LITERAL_SIZE] = "Invalid literal size",
    [IMAP_SYN_LITERAL_EOL] = "Literal size not followed by CRLF",
    [IMAP_SYN_LITERAL_NUL] = "NUL octet in literal (use literal8)",
    [IMAP_SYN_BRACKET] = "Missing ']'",
    [IMAP_SYN_BARE_CR] = "CR not followed by LF",
};
_Static_assert(sizeof(syntax_texts) / sizeof(syntax_texts[0]) == IMAP_SYN_BARE_CR + 1,
               "every syntax error has a text");

const char imap_text_seqset_invalid[] = "Invalid sequence set";
const char imap_text_seqset_zero[] = "Invalid sequence number 0";
const char imap_text_seqset_big[] = "Sequence number too large";
const char imap_text_section_invalid[] = "Invalid section in fetch attribute";
const char imap_text_section_partial[] = "Invalid partial range in fetch attribute";
const char imap_text_section_size_partial[] = "BINARY.SIZE takes no partial range";
const char imap_text_mailbox_missing[] = "Missing or invalid mailbox name";
const char imap_text_mailbox_mutf7[] = "Mailbox name is not valid modified UTF-7";
const char imap_text_nomem[] = "Out of memory";
const char imap_text_search_none[] = "Missing search keys";
const char imap_text_search_charset[] = "Missing charset";
const char imap_text_search_badcharset[] = "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset";
const char imap_text_search_unknown[] = "Unknown search key";
const char imap_text_search_not_key[] = "Expected a search key, not a string";
const char imap_text_search_argument[] = "Missing or invalid argument to search key";
const char imap_text_search_missing[] = "Missing operand of search key";
const char imap_text_search_date[] = "Invalid date (expected d-Mon-yyyy, such as 1-Feb-2024)";
const char imap_text_search_number[] = "Invalid number for search key";
const char imap_text_search_keyword[] = "KEYWORD takes a keyword or a system flag";
const char imap_text_search_empty[] = "Empty list of search keys";
const char imap_text_search_depth[] = "Search keys nested too deeply";

size_t imap_parse_error_reply(const struct imap_parse_error *e, char *buf, size_t size)
{
    const char *tag = e->tag[0] != '\0' ? e->tag : "*";
    uintmax_t limit = e->limit;
    int n = 0;

    switch (e->kind) {
    case IMAP_PERR_TAG:
        n = snprintf(buf, size, "* BAD Missing or invalid tag\r\n");
        break;
    case IMAP_PERR_COMMAND:
        n = snprintf(buf, size, "%s BAD Missing or invalid command name\r\n", tag);
        break;
    case IMAP_PERR_SYNTAX:
        n = snprintf(buf, size, "%s BAD %s\r\n", tag, syntax_texts[e->syntax]);
        break;
    case IMAP_PERR_LINE:
        n = snprintf(buf, size, "%s BAD Command line too long (limit %ju octets)\r\n", tag, limit);
        break;
    case IMAP_PERR_TOOBIG:
        if (e->close)
            n = snprintf(buf, size, "* BYE [TOOBIG] Literal too big to skip (limit %ju octets)\r\n",
                         limit);
        else
            n = snprintf(buf, size, "%s %s [TOOBIG] Literal too big (limit %ju octets)\r\n", tag,
                         e->sync ? "NO" : "BAD", limit);
        break;
    case IMAP_PERR_DEPTH:
        n = snprintf(buf, size, "%s BAD Lists nested too deeply (limit %ju)\r\n", tag, limit);
        break;
    case IMAP_PERR_ARGS:
        n = snprintf(buf, size, "%s BAD Too many arguments (limit %ju)\r\n", tag, limit);
        break;
    case IMAP_PERR_NOMEM:
        n = snprintf(buf, size, "* BYE [UNAVAILABLE] Out of memory\r\n");
        break;
    }
    if (n < 0)
        n = 0;
    return (size_t)n < size ? (size_t)n : (size > 0 ? size - 1 : 0);
}

bool imap_parse_error_journal(const struct imap_parse_error *e, char *buf, size_t size)
{
    uintmax_t limit = e->limit, lit = e->size;

    switch (e->kind) {
    case IMAP_PERR_LINE:
        snprintf(buf, size, "command line over %ju octets", limit);
        return true;
    case IMAP_PERR_TOOBIG:
        if (e->close)
            snprintf(buf, size, "literal of %ju octets over %ju, too big to skip: closing", lit,
                     limit);
        else
            snprintf(buf, size, "literal of %ju octets over the limit of %ju %s", lit, limit,
                     e->sync ? "refused" : "read and discarded");
        return true;
    case IMAP_PERR_DEPTH:
        snprintf(buf, size, "lists nested deeper than %ju", limit);
        return true;
    case IMAP_PERR_ARGS:
        snprintf(buf, size, "more than %ju arguments in a command", limit);
        return true;
    case IMAP_PERR_NOMEM:
        snprintf(buf, size, "out of memory parsing a command");
        return true;
    default:
        return false;
    }
}
