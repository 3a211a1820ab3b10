/* Reading msg.conf: the administrator's overrides on top of the parameter table's defaults. */
#ifndef HALYARD_CONF_H
#define HALYARD_CONF_H

#include <stdbool.h>

#include "params.h"

#define CONF_DEFAULT_PATH SYSCONFDIR "/halyard/msg.conf"

struct conf;

/* Loads path (a missing file means "all defaults"). Every line is validated against the table;
 * on any error returns -1 with a message naming file, line and parameter in err_r (caller
 * frees) and nothing in conf_r. */
int conf_load(const char *path, struct conf **conf_r, char **err_r);

/* An all-defaults configuration (never fails). */
struct conf *conf_defaults(void);

void conf_free(struct conf **conf);

/* Values: the override from msg.conf or the table default. name must be in the table (an
 * unknown name aborts: it is a programming error). The _host variants look for
 * <name>.<host> first for PARAM_HOST_SUFFIX rows. Strings belong to conf. */
const char *conf_str(const struct conf *conf, const char *name);
const char *conf_str_host(const struct conf *conf, const char *name, const char *host);
long conf_int(const struct conf *conf, const char *name);
long conf_int_host(const struct conf *conf, const char *name, const char *host);
bool conf_bool(const struct conf *conf, const char *name);

/* Whether msg.conf sets name (exactly that name, host suffix included). */
bool conf_is_set(const struct conf *conf, const char *name);

/* Iterates the explicitly set entries in file order (names in the table's spelling, host
 * suffixes in lower case); *iter starts at 0; returns false at the end. */
bool conf_next(const struct conf *conf, size_t *iter, const char **name_r, const char **value_r);

/* Validates value for name and sets it (replacing an earlier setting). Returns 0, or -1 with a
 * message naming the parameter in err_r (caller frees) and conf unchanged. */
int conf_set(struct conf *conf, const char *name, const char *value, char **err_r);

enum conf_line_kind {
    CONF_LINE_NONE,  /* blank or # comment */
    CONF_LINE_ENTRY, /* name = value */
    CONF_LINE_ERROR,
};

/* Splits one msg.conf line (without its newline; a trailing \r is ignored): `name = value`,
 * value bare (to the end of the line, blanks trimmed) or double-quoted with \" and \\ escapes.
 * A pure function, shared with configutil. For CONF_LINE_ENTRY name_r and value_r are malloc'd
 * (caller frees); for CONF_LINE_ERROR why_r is a static reason. */
enum conf_line_kind conf_parse_line(const char *line, char **name_r, char **value_r,
                                    const char **why_r);

/* value as msg.conf writes it: bare, or quoted when it is empty or has a blank, '#' or '"'
 * (which a bare value could not carry back). Caller frees; NULL only when out of memory. */
char *conf_format_value(const char *value);

#endif
