/* Checking a value against its table row, and the syntax checks rows point at. Every message
 * names the parameter and says what it accepts, because an administrator reads it. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "access.h"
#include "ens-access.h"
#include "params.h"

#define PARAM_VALUE_MAX 4096 /* bytes; a msg.conf line is meant to be read by a person */
#define PARAM_HOST_MAX  253  /* RFC 1035 section 2.3.4, without the trailing dot */
#define PARAM_LABEL_MAX 63
#define PARAM_USER_MAX  32 /* useradd's limit */

static const char *const param_bool_words[][2] = {
    {"yes", "no"},
    {"1", "0"},
    {"true", "false"},
    {"on", "off"},
};

int param_parse_bool(const char *value)
{
    for (size_t i = 0; i < sizeof(param_bool_words) / sizeof(param_bool_words[0]); i++) {
        if (strcasecmp(value, param_bool_words[i][0]) == 0)
            return 1;
        if (strcasecmp(value, param_bool_words[i][1]) == 0)
            return 0;
    }
    return -1;
}

/* Decimal only: a leading zero is not octal here, and no blanks or signs other than '-'. */
static bool param_parse_long(const char *value, long *n_r)
{
    char *end;

    if (value[0] == '\0' || isspace((unsigned char)value[0]) || value[0] == '+')
        return false;
    errno = 0;
    *n_r = strtol(value, &end, 10);
    return errno == 0 && *end == '\0';
}

static const char *param_describe_check(bool (*check)(const char *, const char **))
{
    if (check == param_check_host)
        return "a host name or address";
    if (check == param_check_login_separator)
        return "one punctuation character other than @ . - _, or empty";
    if (check == param_check_user)
        return "a user name";
    if (check == param_check_enp_url)
        return "an event key enp://host/path";
    if (check == param_check_tls_priority)
        return "a GnuTLS priority string";
    if (check == param_check_certmap_components)
        return "subject components uid, e, cn separated by commas";
    if (check == param_check_certmap_filter)
        return "an LDAP filter with %s for the component's value, or empty";
    if (check == ens_access_check)
        return "[+-]addr|mask items separated by ;";
    if (check == access_filter_check)
        return "service-list:client-list filters separated by $";
    return "one line of text";
}

char *param_describe(const struct param *p)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f;

    switch (p->type) {
    case PARAM_BOOL:
        return strdup("a boolean (yes/no, 1/0, true/false, on/off)");
    case PARAM_INT:
        if (asprintf(&text, "an integer in %ld..%ld", p->min, p->max) < 0)
            return NULL;
        return text;
    case PARAM_PATH:
        return strdup(p->def[0] == '\0' ? "an absolute path, or empty" : "an absolute path");
    case PARAM_ENUM:
        f = open_memstream(&text, &len);
        if (f == NULL)
            return NULL;
        fputs("one of", f);
        for (size_t i = 0; p->enumvals[i] != NULL; i++)
            fprintf(f, "%s %s", i == 0 ? "" : ",", p->enumvals[i]);
        if (fclose(f) != 0) {
            free(text);
            return NULL;
        }
        return text;
    case PARAM_STRING:
        break;
    }
    return strdup(param_describe_check(p->check));
}

/* what reads on from the value ("is not ...") or, for a check's reason, follows a colon. */
static bool param_fail(char **err_r, const char *name, const char *value, const char *what)
{
    const char *sep = strncmp(what, "is ", 3) == 0 ? " " : ": ";

    if (asprintf(err_r, "%s: \"%s\"%s%s", name, value, sep, what) < 0)
        *err_r = NULL;
    return false;
}

static bool param_fail_not(char **err_r, const struct param *p, const char *name, const char *value)
{
    char *what = param_describe(p);
    char *text = NULL;

    if (what == NULL || asprintf(&text, "is not %s", what) < 0)
        text = NULL;
    param_fail(err_r, name, value, text != NULL ? text : "is not valid");
    free(text);
    free(what);
    return false;
}

static bool param_has_control(const char *value)
{
    for (const unsigned char *s = (const unsigned char *)value; *s != '\0'; s++) {
        if (*s < 0x20 || *s == 0x7f)
            return true;
    }
    return false;
}

static bool param_validate_type(const struct param *p, const char *name, const char *value,
                                char **err_r)
{
    long n;

    switch (p->type) {
    case PARAM_BOOL:
        if (param_parse_bool(value) < 0)
            return param_fail_not(err_r, p, name, value);
        return true;
    case PARAM_INT:
        if (!param_parse_long(value, &n) || n < p->min || n > p->max)
            return param_fail_not(err_r, p, name, value);
        return true;
    case PARAM_PATH:
        if (value[0] != '/' && !(value[0] == '\0' && p->def[0] == '\0'))
            return param_fail_not(err_r, p, name, value);
        return true;
    case PARAM_ENUM:
        for (size_t i = 0; p->enumvals[i] != NULL; i++) {
            if (strcmp(value, p->enumvals[i]) == 0)
                return true;
        }
        return param_fail_not(err_r, p, name, value);
    case PARAM_STRING:
        break;
    }
    return true;
}

bool param_validate(const struct param *p, const char *name, const char *value, char **err_r)
{
    const char *why;

    if (name == NULL)
        name = p->name;
    if (strlen(name) > strlen(p->name) && !param_check_host(name + strlen(p->name) + 1, &why)) {
        if (asprintf(err_r, "%s: \"%s\" is not a host name suffix: %s", name,
                     name + strlen(p->name) + 1, why) < 0)
            *err_r = NULL;
        return false;
    }
    if (strlen(value) > PARAM_VALUE_MAX) {
        if (asprintf(err_r, "%s: value is longer than %d bytes", name, PARAM_VALUE_MAX) < 0)
            *err_r = NULL;
        return false;
    }
    if (param_has_control(value)) {
        if (asprintf(err_r, "%s: value contains a control character", name) < 0)
            *err_r = NULL;
        return false;
    }
    if (!param_validate_type(p, name, value, err_r))
        return false;
    /* An empty value keeps meaning "off" for rows whose default is empty. */
    if (p->check != NULL && !(value[0] == '\0' && p->def[0] == '\0') && !p->check(value, &why))
        return param_fail(err_r, name, value, why);
    return true;
}

char *param_canonical_name(const struct param *p, const char *name)
{
    size_t base = strlen(p->name), len = strlen(name);
    char *canon = malloc(len + 1);

    if (canon == NULL)
        return NULL;
    memcpy(canon, p->name, base);
    for (size_t i = base; i <= len; i++)
        canon[i] = (char)tolower((unsigned char)name[i]);
    return canon;
}

static bool param_check_label(const char *s, size_t len)
{
    if (len == 0 || len > PARAM_LABEL_MAX || s[0] == '-' || s[len - 1] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    }
    return true;
}

bool param_check_host(const char *value, const char **why_r)
{
    unsigned char addr[16];
    const char *s = value;

    if (inet_pton(AF_INET, value, addr) == 1 || inet_pton(AF_INET6, value, addr) == 1)
        return true;
    *why_r = "is not a host name or address";
    if (strlen(value) > PARAM_HOST_MAX)
        return false;
    for (;;) {
        const char *dot = strchr(s, '.');
        size_t len = dot != NULL ? (size_t)(dot - s) : strlen(s);

        if (!param_check_label(s, len))
            return false;
        if (dot == NULL)
            return true;
        s = dot + 1;
    }
}

bool param_check_login_separator(const char *value, const char **why_r)
{
    unsigned char c = (unsigned char)value[0];

    if (value[0] == '\0') /* only '@' separates */
        return true;
    if (value[1] != '\0' || !ispunct(c) || strchr("@.-_\"\\", c) != NULL || c > 0x7e) {
        *why_r = "is not one punctuation character other than @ . - _ \" \\";
        return false;
    }
    return true;
}

bool param_check_user(const char *value, const char **why_r)
{
    size_t len = strlen(value);
    bool ok =
        len > 0 && len <= PARAM_USER_MAX && (islower((unsigned char)value[0]) || value[0] == '_');

    for (size_t i = 1; ok && i < len; i++) {
        unsigned char c = (unsigned char)value[i];

        ok = islower(c) || isdigit(c) || c == '_' || c == '-';
    }
    if (!ok)
        *why_r = "is not a user name ([a-z_][a-z0-9_-]*, at most 32 characters)";
    return ok;
}

bool param_check_enp_url(const char *value, const char **why_r)
{
    static const char scheme[] = "enp://";
    const char *host = value + sizeof(scheme) - 1;
    const char *slash;

    *why_r = "is not an event key of the form enp://host/path";
    if (strncmp(value, scheme, sizeof(scheme) - 1) != 0)
        return false;
    slash = strchr(host, '/');
    return slash != NULL && slash > host && slash[1] != '\0';
}

bool param_check_tls_priority(const char *value, const char **why_r)
{
    gnutls_priority_t prio;
    const char *errpos;

    if (gnutls_priority_init(&prio, value, &errpos) < 0) {
        *why_r = "is not a GnuTLS priority string";
        return false;
    }
    gnutls_priority_deinit(prio);
    return true;
}

bool param_check_certmap_components(const char *value, const char **why_r)
{
    const char *p = value + strspn(value, ", \t");
    bool any = false;

    while (*p != '\0') {
        size_t len = strcspn(p, ", \t");
        if (!((len == 3 && strncasecmp(p, "uid", 3) == 0) ||
              (len == 1 && (p[0] == 'e' || p[0] == 'E')) ||
              (len == 2 && strncasecmp(p, "cn", 2) == 0))) {
            *why_r = "names a subject component other than uid, e, cn";
            return false;
        }
        any = true;
        p += len;
        p += strspn(p, ", \t");
    }
    if (!any)
        *why_r = "names no subject component (uid, e, cn)";
    return any;
}

bool param_check_certmap_filter(const char *value, const char **why_r)
{
    size_t len = strlen(value);
    int depth = 0;
    bool has_value = false;

    if (len == 0)
        return true;
    *why_r = "is not an LDAP filter in parentheses with %s for the certificate's value";
    if (value[0] != '(' || value[len - 1] != ')')
        return false;
    for (size_t i = 0; i < len; i++) {
        if (value[i] == '(')
            depth++;
        else if (value[i] == ')' && --depth < 0)
            return false;
        else if (value[i] == '%') {
            if (value[i + 1] == 's')
                has_value = true;
            else if (value[i + 1] != '%')
                return false;
            i++;
        }
        if (depth == 0 && i + 1 < len)
            return false;
    }
    return depth == 0 && has_value;
}
