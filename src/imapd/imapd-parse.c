/* Command-line splitting for imapd (tag, command name, arguments). Pure: bytes in, result out;
 * the unit tests feed it byte by byte. */
#include "imapd-parse.h"

#include <string.h>

int imap_is_tag_char(unsigned char c)
{
    /* ATOM-CHAR excludes CTL, SP and atom-specials "(){%*\"\\]"; tags also exclude '+' */
    if (c <= 0x20 || c >= 0x7f)
        return 0;
    return strchr("(){%*\"\\+", c) == NULL;
}

static int imap_is_atom_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

enum imap_parse_result imap_parse_line(const char *data, size_t len, struct imap_cmd *cmd,
                                       size_t *consumed_r)
{
    const char *nl = memchr(data, '\n', len < IMAP_LINE_MAX ? len : IMAP_LINE_MAX);
    size_t line_len, i = 0;

    *consumed_r = 0;
    if (nl == NULL)
        return len >= IMAP_LINE_MAX ? IMAP_PARSE_TOO_LONG : IMAP_PARSE_NEED_MORE;
    *consumed_r = (size_t)(nl - data) + 1;
    line_len = (size_t)(nl - data);
    if (line_len > 0 && data[line_len - 1] == '\r')
        line_len--;

    memset(cmd, 0, sizeof(*cmd));
    while (i < line_len && imap_is_tag_char((unsigned char)data[i]))
        i++;
    if (i == 0 || i > IMAP_TAG_MAX || (i < line_len && data[i] != ' '))
        return IMAP_PARSE_BAD_TAG;
    cmd->tag = data;
    cmd->tag_len = i;
    if (i == line_len)
        return IMAP_PARSE_NO_COMMAND;
    i++; /* the space */
    size_t start = i;
    while (i < line_len && imap_is_atom_char((unsigned char)data[i]))
        i++;
    if (i == start || (i < line_len && data[i] != ' '))
        return IMAP_PARSE_NO_COMMAND;
    cmd->name = data + start;
    cmd->name_len = i - start;
    if (i < line_len)
        i++;
    cmd->args = data + i;
    cmd->args_len = line_len - i;
    return IMAP_PARSE_OK;
}
