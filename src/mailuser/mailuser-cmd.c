/* mailuser's commands over the embedded user table: add, passwd, del, list, show, set. Each
 * checks its whole command line before it changes anything. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "auth-sasl.h"
#include "mailuser.h"
#include "store-user.h"

struct cmd_opts {
    const char *name;
    bool password_stdin, no_password, keep_mail;
    unsigned fields; /* STORE_USER_SET_* given on the command line */
    struct store_user u;
};

enum {
    OPT_PASSWORD_STDIN = 256,
    OPT_NO_PASSWORD,
    OPT_QUOTA_BYTES,
    OPT_QUOTA_MESSAGES,
    OPT_SERVICES,
    OPT_STATUS,
    OPT_INET_STATUS,
    OPT_KEEP_MAIL,
};

/* Which options each command takes. */
#define TAKES_PASSWORD 0x1u
#define TAKES_ATTRS    0x2u
#define TAKES_KEEP     0x4u

static int cmd_parse(int argc, char **argv, unsigned takes, struct cmd_opts *o, FILE *errout)
{
    static const struct option longopts[] = {
        {"password-stdin", no_argument, NULL, OPT_PASSWORD_STDIN},
        {"no-password", no_argument, NULL, OPT_NO_PASSWORD},
        {"quota-bytes", required_argument, NULL, OPT_QUOTA_BYTES},
        {"quota-messages", required_argument, NULL, OPT_QUOTA_MESSAGES},
        {"services", required_argument, NULL, OPT_SERVICES},
        {"status", required_argument, NULL, OPT_STATUS},
        {"inet-status", required_argument, NULL, OPT_INET_STATUS},
        {"keep-mail", no_argument, NULL, OPT_KEEP_MAIL},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 0; /* 0, not 1: GNU getopt then also forgets main()'s scan */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        unsigned need = c == OPT_PASSWORD_STDIN || c == OPT_NO_PASSWORD ? TAKES_PASSWORD
                        : c == OPT_KEEP_MAIL                            ? TAKES_KEEP
                                                                        : TAKES_ATTRS;

        if (c == '?' || !(takes & need)) {
            fprintf(errout, "mailuser %s: unknown or misplaced option %s\n", argv[0],
                    argv[optind - 1]);
            return MAILUSER_EXIT_USAGE;
        }
        switch (c) {
        case OPT_PASSWORD_STDIN:
            o->password_stdin = true;
            break;
        case OPT_NO_PASSWORD:
            o->no_password = true;
            break;
        case OPT_KEEP_MAIL:
            o->keep_mail = true;
            break;
        case OPT_QUOTA_BYTES:
            if (!mailuser_parse_size(optarg, &o->u.quota_bytes)) {
                fprintf(errout,
                        "mailuser: --quota-bytes wants a size such as 500M (0: no limit)\n");
                return MAILUSER_EXIT_USAGE;
            }
            o->fields |= STORE_USER_SET_QUOTA_BYTES;
            break;
        case OPT_QUOTA_MESSAGES: {
            char *end;
            o->u.quota_messages = strtoull(optarg, &end, 10);
            if (*optarg < '0' || *optarg > '9' || *end != '\0') {
                fprintf(errout, "mailuser: --quota-messages wants a count (0: no limit)\n");
                return MAILUSER_EXIT_USAGE;
            }
            o->fields |= STORE_USER_SET_QUOTA_MESSAGES;
            break;
        }
        case OPT_SERVICES: {
            /* refused here rather than at the next login, which would fail closed */
            struct access_rules *rules;
            struct access_error err;
            if (access_rules_parse(optarg, strlen(optarg), ACCESS_SYNTAX_RULES, true, &rules,
                                   &err) < 0) {
                fprintf(errout,
                        "mailuser: --services \"%s\": %s at byte %zu\n"
                        "  (mailAllowedServiceAccess: +|-services:clients rules separated by $, "
                        "e.g. \"+imaps,pops:ALL$+imap:192.0.2.0/24\")\n",
                        optarg, err.why, err.offset);
                return MAILUSER_EXIT_USAGE;
            }
            access_rules_free(&rules);
            o->u.services = optarg;
            o->fields |= STORE_USER_SET_SERVICES;
            break;
        }
        case OPT_STATUS:
            if (!store_user_status_parse(optarg, &o->u.status)) {
                fprintf(errout, "mailuser: --status (mailUserStatus) is one of active, inactive, "
                                "disabled, deleted, removed, hold\n");
                return MAILUSER_EXIT_USAGE;
            }
            o->fields |= STORE_USER_SET_STATUS;
            break;
        case OPT_INET_STATUS:
            if (!store_user_status_parse(optarg, &o->u.inet_status) ||
                !store_user_inet_status_valid(o->u.inet_status)) {
                fprintf(errout, "mailuser: --inet-status (inetUserStatus) is one of active, "
                                "inactive, deleted\n");
                return MAILUSER_EXIT_USAGE;
            }
            o->fields |= STORE_USER_SET_INET_STATUS;
            break;
        }
    }
    if (o->password_stdin && o->no_password) {
        fprintf(errout, "mailuser: --password-stdin and --no-password exclude each other\n");
        return MAILUSER_EXIT_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(errout, "mailuser %s: expected exactly one user name\n", argv[0]);
        return MAILUSER_EXIT_USAGE;
    }
    o->name = argv[optind];
    return 0;
}

static int fail(FILE *errout, const char *cmd, const struct store_error *err)
{
    fprintf(errout, "mailuser %s: %s\n", cmd, err->msg[0] ? err->msg : store_err_name(err->code));
    return MAILUSER_EXIT_FAIL;
}

static unsigned long scram_iter = 4096;

void mailuser_set_scram_iterations(unsigned long iter)
{
    scram_iter = iter;
}

/* The SCRAM-SHA-256 keys of a password just set, beside its hash (a failure only warns: the
 * password works, SCRAM does not). */
static void scram_store(struct store *st, const char *cmd, const char *name, const char *password,
                        FILE *errout)
{
    struct store_error err;
    const char *why;
    char *text;

    if (password == NULL)
        return;
    if (auth_saslprep_changes(password))
        fprintf(errout,
                "mailuser %s: warning: SASLprep (RFC 4013) changes or refuses this password, so "
                "SASL PLAIN and LOGIN will not match it; the IMAP LOGIN command and POP3 "
                "USER/PASS will\n",
                cmd);
    if (scram_iter == 0)
        return;
    if (auth_scram_make(password, scram_iter, &text, &why) < 0) {
        fprintf(errout, "mailuser %s: warning: no SCRAM-SHA-256 keys for %s: %s\n", cmd, name, why);
        return;
    }
    if (store_user_set_scram(st, name, text, &err) != STORE_OK)
        fprintf(errout, "mailuser %s: warning: no SCRAM-SHA-256 keys for %s: %s\n", cmd, name,
                err.msg);
    store_user_hash_free(&text);
}

static int cmd_add(struct store *st, struct cmd_opts *o, FILE *out, FILE *errout)
{
    struct store_error err;
    struct store_user u = o->u;
    char *password = NULL;
    const char *why = NULL;
    int rc = 0;

    /* Check the name before asking for a password it would be wasted on. */
    if (store_user_canon(o->name, u.name, &err) != STORE_OK)
        return fail(errout, "add", &err);
    if (!o->no_password &&
        (password = mailuser_password_read(u.name, o->password_stdin, &why)) == NULL) {
        fprintf(errout, "mailuser add: %s\n", why);
        return MAILUSER_EXIT_FAIL;
    }
    if (!(o->fields & STORE_USER_SET_STATUS))
        u.status = STORE_USER_ACTIVE;
    if (!(o->fields & STORE_USER_SET_INET_STATUS))
        u.inet_status = STORE_USER_ACTIVE;
    if (store_user_add(st, &u, password, &err) != STORE_OK) {
        rc = fail(errout, "add", &err);
    } else if (store_home_ensure(st, u.name, &err) != STORE_OK) {
        rc = fail(errout, "add (creating the mail folder)", &err);
    } else {
        scram_store(st, "add", u.name, password, errout);
        fprintf(out, "added %s\n", u.name);
    }
    mailuser_password_free(&password);
    return rc;
}

static int cmd_passwd(struct store *st, struct cmd_opts *o, FILE *out, FILE *errout)
{
    struct store_error err;
    struct store_user u;
    char *password = NULL;
    const char *why = NULL;
    int rc = 0;

    /* An unknown user is reported before the password prompt. */
    if (store_user_get(st, o->name, &u, &err) != STORE_OK)
        return fail(errout, "passwd", &err);
    if (!o->no_password &&
        (password = mailuser_password_read(u.name, o->password_stdin, &why)) == NULL) {
        fprintf(errout, "mailuser passwd: %s\n", why);
        store_user_clear(&u);
        return MAILUSER_EXIT_FAIL;
    }
    if (store_user_passwd(st, u.name, password, &err) != STORE_OK) {
        rc = fail(errout, "passwd", &err);
    } else {
        scram_store(st, "passwd", u.name, password, errout);
        fprintf(out,
                o->no_password ? "removed the password of %s\n" : "changed the password of %s\n",
                u.name);
    }
    mailuser_password_free(&password);
    store_user_clear(&u);
    return rc;
}

static int cmd_del(struct store *st, struct cmd_opts *o, FILE *out, FILE *errout)
{
    struct store_error err;
    char name[STORE_USER_MAX + 1];

    if (store_user_canon(o->name, name, &err) != STORE_OK ||
        store_user_del(st, name, &err) != STORE_OK)
        return fail(errout, "del", &err);
    if (!o->keep_mail && store_home_remove(st, name, &err) != STORE_OK &&
        err.code != STORE_ENOTFOUND)
        return fail(errout, "del (removing the mail)", &err);
    fprintf(out, o->keep_mail ? "deleted %s (mail kept)\n" : "deleted %s and its mail\n", name);
    return 0;
}

static void limit_print(FILE *out, const char *what, uint64_t v)
{
    if (v == 0)
        fprintf(out, "%s: unlimited\n", what);
    else
        fprintf(out, "%s: %llu\n", what, (unsigned long long)v);
}

static int cmd_show(struct store *st, struct cmd_opts *o, FILE *out, FILE *errout)
{
    struct store_error err;
    struct store_user u;
    struct store_usage usage;
    struct store_mailbox *mbs;
    size_t n;

    if (store_user_get(st, o->name, &u, &err) != STORE_OK)
        return fail(errout, "show", &err);
    fprintf(out, "name: %s\nstatus: %s\ninet-status: %s\npassword: %s\nscram: %s\n", u.name,
            store_user_status_name(u.status), store_user_status_name(u.inet_status),
            u.has_password ? "set (yescrypt)" : "none",
            u.has_scram ? "SCRAM-SHA-256 keys stored" : "none");
    limit_print(out, "quota.bytes", u.quota_bytes);
    limit_print(out, "quota.messages", u.quota_messages);
    fprintf(out, "services: %s\n", u.services[0] ? u.services : "(all)");
    if (store_usage_get(st, u.name, &usage, &err) == STORE_OK)
        fprintf(out, "used.bytes: %llu\nused.messages: %llu\n", (unsigned long long)usage.bytes,
                (unsigned long long)usage.messages);
    if (store_mailbox_list(st, u.name, NULL, &mbs, &n, &err) == STORE_OK) {
        fprintf(out, "mailboxes: %zu\n", n);
        store_mailbox_list_free(&mbs, n);
    }
    store_user_clear(&u);
    return 0;
}

static int cmd_set(struct store *st, struct cmd_opts *o, FILE *out, FILE *errout)
{
    struct store_error err;
    struct store_user u = o->u;

    if (o->fields == 0) {
        fprintf(errout, "mailuser set: nothing to set (--status, --inet-status, --quota-bytes, "
                        "--quota-messages, --services)\n");
        return MAILUSER_EXIT_USAGE;
    }
    if (store_user_canon(o->name, u.name, &err) != STORE_OK ||
        store_user_set(st, &u, o->fields, &err) != STORE_OK)
        return fail(errout, "set", &err);
    fprintf(out, "changed %s\n", u.name);
    return 0;
}

static int cmd_list(struct store *st, FILE *out, FILE *errout)
{
    struct store_error err;
    struct store_user *users;
    size_t n;

    if (store_user_list(st, &users, &n, &err) != STORE_OK)
        return fail(errout, "list", &err);
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s %s%s%s\n", users[i].name, store_user_status_name(users[i].status),
                users[i].inet_status != STORE_USER_ACTIVE ? " inet-status=" : "",
                users[i].inet_status != STORE_USER_ACTIVE
                    ? store_user_status_name(users[i].inet_status)
                    : "");
    store_user_list_free(&users, n);
    return 0;
}

int mailuser_run(struct store *st, int argc, char **argv, FILE *out, FILE *errout)
{
    static const struct {
        const char *name;
        unsigned takes;
        int (*run)(struct store *st, struct cmd_opts *o, FILE *out, FILE *errout);
    } cmds[] = {
        {"add", TAKES_PASSWORD | TAKES_ATTRS, cmd_add},
        {"passwd", TAKES_PASSWORD, cmd_passwd},
        {"del", TAKES_KEEP, cmd_del},
        {"show", 0, cmd_show},
        {"set", TAKES_ATTRS, cmd_set},
    };
    struct cmd_opts o = {0};
    int rc;

    if (argc < 1) {
        fprintf(errout, "mailuser: which command? (add, passwd, del, list, show, set)\n");
        return MAILUSER_EXIT_USAGE;
    }
    if (strcmp(argv[0], "list") == 0) {
        if (argc != 1) {
            fprintf(errout, "mailuser list: takes no arguments\n");
            return MAILUSER_EXIT_USAGE;
        }
        return cmd_list(st, out, errout);
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(*cmds); i++) {
        if (strcmp(argv[0], cmds[i].name) != 0)
            continue;
        rc = cmd_parse(argc, argv, cmds[i].takes, &o, errout);
        return rc != 0 ? rc : cmds[i].run(st, &o, out, errout);
    }
    fprintf(errout, "mailuser: unknown command %s (add, passwd, del, list, show, set)\n", argv[0]);
    return MAILUSER_EXIT_USAGE;
}
