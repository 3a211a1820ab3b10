/* The one parameter table: every setting Halyard knows, with its type, default, bounds,
 * whether a reload picks it up, which daemons read it and which unit drop-in it becomes. */
#ifndef HALYARD_PARAMS_H
#define HALYARD_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

enum param_type {
    PARAM_BOOL,   /* yes/no, 1/0, true/false, on/off */
    PARAM_INT,    /* decimal integer in [min, max] */
    PARAM_STRING, /* any single-line text */
    PARAM_PATH,   /* absolute path, or empty */
    PARAM_ENUM,   /* one of enumvals */
};

/* Which programs read a parameter (bit set). */
enum param_reader {
    READER_IMAPD = 1u << 0,
    READER_POPD = 1u << 1,
    READER_MSHTTPD = 1u << 2,
    READER_LMTPD = 1u << 3,
    READER_ENPD = 1u << 4,
    READER_STORE = 1u << 5, /* the store library, in every store-host daemon and tool */
    READER_CONFIGUTIL = 1u << 6,
};

/* What a parameter becomes in systemd, besides its line in msg.conf. */
enum param_dropin {
    DROPIN_NONE,
    DROPIN_LISTEN,  /* [Socket] ListenStream=<value> in unit's drop-in */
    DROPIN_ENABLE,  /* systemctl enable/disable of unit */
    DROPIN_ENV,     /* [Service] Environment="<envname>=<value>" in unit's drop-in */
    DROPIN_RWPATHS, /* [Service] ReadWritePaths=<value> in each of unit's services */
};

enum param_flags {
    PARAM_REFRESHABLE = 1u << 0, /* SIGHUP (systemctl reload) applies it; else a restart */
    PARAM_HOST_SUFFIX = 1u << 1, /* may also be set as <name>.<hostname> */
    PARAM_SECRET = 1u << 2,      /* shown as ******** when listed */
};

struct param {
    const char *name;
    enum param_type type;
    const char *def;             /* default, in the same text form msg.conf uses */
    long min, max;               /* PARAM_INT bounds, inclusive */
    const char *const *enumvals; /* PARAM_ENUM: NULL-terminated */
    unsigned flags;
    unsigned readers;
    enum param_dropin dropin;
    const char *unit;    /* systemd unit(s) the drop-in applies to, space-separated */
    const char *envname; /* DROPIN_ENV: the variable name */
    const char *help;    /* one line */
    /* Extra syntax check beyond the type (NULL: none). Returns false with a static reason in
     * why_r when value is not acceptable. */
    bool (*check)(const char *value, const char **why_r);
};

extern const struct param param_table[];
extern const size_t param_count;

/* The table row for name (matched case-insensitively: Sun's documents spell some names in mixed
 * case), or for name with a trailing .<hostname> on PARAM_HOST_SUFFIX rows; NULL when unknown.
 * The suffix's syntax is checked by param_validate. */
const struct param *param_find(const char *name);

/* Checks value against p. Returns true when valid; otherwise false and a static-free message in
 * err_r (caller frees) that names the parameter and what it accepts. */
bool param_validate(const struct param *p, const char *name, const char *value, char **err_r);

/* Parses a PARAM_BOOL text; returns -1 when it is not a boolean. */
int param_parse_bool(const char *value);

/* The spelling msg.conf stores for name (which param_find matched to p): the table's name, plus
 * the host suffix in lower case. Caller frees; NULL only when out of memory. */
char *param_canonical_name(const struct param *p, const char *name);

/* What p accepts, for messages and listings ("an integer in 1..65535"). Caller frees. */
char *param_describe(const struct param *p);

/* Syntax checks used by table rows, exported for their tests. */
bool param_check_host(const char *value, const char **why_r);
bool param_check_login_separator(const char *value, const char **why_r);
bool param_check_user(const char *value, const char **why_r);
bool param_check_enp_url(const char *value, const char **why_r);
bool param_check_tls_priority(const char *value, const char **why_r);
bool param_check_certmap_components(const char *value, const char **why_r);
bool param_check_certmap_filter(const char *value, const char **why_r);

#endif
