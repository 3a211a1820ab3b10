/* The msg.conf line syntax: `name = value`, value bare or double-quoted. Kept apart from the
 * reader because configutil parses and writes the same lines while keeping the comments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static const char *conf_skip_blanks(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static bool conf_is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* Reads a quoted value starting after its opening quote, up to end. */
static char *conf_unquote(const char *s, const char *end, const char **why_r)
{
    char *value = malloc((size_t)(end - s) + 1);
    size_t len = 0;

    if (value == NULL) {
        *why_r = "out of memory";
        return NULL;
    }
    for (; s < end && *s != '"'; s++) {
        if (*s == '\\') {
            if (s + 1 == end || (s[1] != '"' && s[1] != '\\')) {
                *why_r = "only \\\" and \\\\ may follow a backslash in a quoted value";
                free(value);
                return NULL;
            }
            s++;
        }
        value[len++] = *s;
    }
    if (s == end) {
        *why_r = "the quoted value has no closing quote";
        free(value);
        return NULL;
    }
    /* The caller trimmed trailing blanks, so the quote must end the line. */
    if (s + 1 != end) {
        *why_r = "text after the closing quote";
        free(value);
        return NULL;
    }
    value[len] = '\0';
    return value;
}

enum conf_line_kind conf_parse_line(const char *line, char **name_r, char **value_r,
                                    const char **why_r)
{
    const char *name = conf_skip_blanks(line), *name_end, *s, *end = line + strlen(line);
    char *value;

    while (end > name && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    if (name == end || *name == '#')
        return CONF_LINE_NONE;
    for (name_end = name; name_end < end && conf_is_name_char(*name_end); name_end++)
        ;
    if (name_end == name || *conf_skip_blanks(name_end) != '=') {
        *why_r = "expected name = value";
        return CONF_LINE_ERROR;
    }
    s = conf_skip_blanks(conf_skip_blanks(name_end) + 1);
    if (s < end && *s == '"') {
        value = conf_unquote(s + 1, end, why_r);
    } else {
        value = strndup(s, (size_t)(end - s));
        if (value == NULL)
            *why_r = "out of memory";
    }
    if (value == NULL)
        return CONF_LINE_ERROR;
    *name_r = strndup(name, (size_t)(name_end - name));
    if (*name_r == NULL) {
        free(value);
        *why_r = "out of memory";
        return CONF_LINE_ERROR;
    }
    *value_r = value;
    return CONF_LINE_ENTRY;
}

char *conf_format_value(const char *value)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    if (value[0] != '\0' && strpbrk(value, " \t#\"") == NULL)
        return strdup(value);
    f = open_memstream(&text, &len);
    if (f == NULL)
        return NULL;
    fputc('"', f);
    for (const char *s = value; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
