/* Deciding which systemctl actions a change of msg.conf needs. Pure: the same two
 * configurations always give the same plan, which is what the unit tests pin down. */
#include <string.h>

#include "cu-apply.h"

static const struct {
    unsigned reader;
    const char *services;
} cu_reader_map[] = {
    {READER_IMAPD, "halyard-imapd.service"},
    {READER_POPD, "halyard-popd.service"},
    {READER_MSHTTPD, "halyard-mshttpd.service"},
    {READER_LMTPD, "halyard-lmtpd.service"},
    {READER_ENPD, "halyard-enpd.service"},
    /* The store library runs inside every store-host daemon. */
    {READER_STORE, "halyard-imapd.service halyard-popd.service halyard-lmtpd.service"},
};

static size_t cu_add_unique(char units[][CU_UNIT_NAME_MAX], size_t n, size_t max, const char *name,
                            size_t len)
{
    for (size_t i = 0; i < n; i++) {
        if (strlen(units[i]) == len && strncmp(units[i], name, len) == 0)
            return n;
    }
    if (n == max || len >= CU_UNIT_NAME_MAX)
        return n;
    memcpy(units[n], name, len);
    units[n][len] = '\0';
    return n + 1;
}

size_t cu_reader_services(unsigned readers, char units[][CU_UNIT_NAME_MAX], size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < sizeof(cu_reader_map) / sizeof(cu_reader_map[0]); i++) {
        if (!(readers & cu_reader_map[i].reader))
            continue;
        for (const char *s = cu_reader_map[i].services; *s != '\0';) {
            size_t len = strcspn(s, " ");

            n = cu_add_unique(units, n, max, s, len);
            s += len;
            s += strspn(s, " ");
        }
    }
    return n;
}

static bool cu_is_socket_row(const struct param *p)
{
    return p->dropin == DROPIN_LISTEN || p->dropin == DROPIN_ENABLE;
}

size_t cu_service_sockets(const char *service, char units[][CU_UNIT_NAME_MAX], size_t max)
{
    char services[CU_UNITS_MAX][CU_UNIT_NAME_MAX];
    size_t n = 0;

    for (size_t i = 0; i < param_count; i++) {
        const struct param *p = &param_table[i];
        size_t ns;
        bool reads = false;

        if (!cu_is_socket_row(p))
            continue;
        ns = cu_reader_services(p->readers, services, CU_UNITS_MAX);
        for (size_t j = 0; j < ns && !reads; j++)
            reads = strcmp(services[j], service) == 0;
        if (reads)
            n = cu_add_unique(units, n, max, p->unit, strlen(p->unit));
    }
    return n;
}

static struct cu_step *cu_plan_find(struct cu_plan *plan, const char *unit)
{
    for (size_t i = 0; i < plan->count; i++) {
        if (strcmp(plan->steps[i].unit, unit) == 0)
            return &plan->steps[i];
    }
    return NULL;
}

static void cu_plan_add(struct cu_plan *plan, enum cu_action action, const char *unit)
{
    struct cu_step *step;

    for (size_t i = 0; i < plan->count; i++) {
        if (plan->steps[i].action == action && strcmp(plan->steps[i].unit, unit) == 0)
            return;
    }
    /* CU_PLAN_MAX covers every unit the table names several times over. */
    if (plan->count == CU_PLAN_MAX || strlen(unit) >= CU_UNIT_NAME_MAX)
        return;
    step = &plan->steps[plan->count++];
    step->action = action;
    strcpy(step->unit, unit);
}

static bool cu_value_changed(const struct conf *a, const struct conf *b, const char *name)
{
    if (!conf_is_set(b, name))
        return true;
    return strcmp(conf_str(a, name), conf_str(b, name)) != 0;
}

/* The rows with a name whose explicit setting differs between before and after. */
static size_t cu_changed_rows(const struct conf *before, const struct conf *after,
                              const struct param **rows, size_t max)
{
    const struct conf *confs[2][2] = {{before, after}, {after, before}};
    size_t n = 0;

    for (size_t k = 0; k < 2; k++) {
        size_t iter = 0;
        const char *name, *value;

        while (conf_next(confs[k][0], &iter, &name, &value)) {
            const struct param *p = param_find(name);
            bool seen = false;

            if (!cu_value_changed(confs[k][0], confs[k][1], name))
                continue;
            for (size_t i = 0; i < n && !seen; i++)
                seen = rows[i] == p;
            if (!seen && n < max)
                rows[n++] = p;
        }
    }
    return n;
}

/* Adds action on every service of p's readers. */
static void cu_plan_services(struct cu_plan *plan, const struct param *p, enum cu_action action)
{
    char services[CU_UNITS_MAX][CU_UNIT_NAME_MAX];
    size_t ns = cu_reader_services(p->readers, services, CU_UNITS_MAX);

    for (size_t j = 0; j < ns; j++) {
        struct cu_step *prev = cu_plan_find(plan, services[j]);

        /* A service already stopped or settled starts again with every new value; a reload
         * gives way to a restart. */
        if (prev == NULL)
            cu_plan_add(plan, action, services[j]);
        else if (prev->action == CU_RELOAD && action == CU_RESTART)
            prev->action = CU_RESTART;
    }
}

void cu_plan_build(const struct conf *before, const struct conf *after, bool dropins_changed,
                   struct cu_plan *plan)
{
    const struct param *rows[256];
    size_t n = cu_changed_rows(before, after, rows, sizeof(rows) / sizeof(rows[0]));

    plan->count = 0;
    if (dropins_changed)
        cu_plan_add(plan, CU_DAEMON_RELOAD, "");
    /* systemd refuses to start a socket whose service is running ("Socket service already
     * active, refusing"), and a running service keeps the listeners it was given: so a moved or
     * newly enabled socket needs its service stopped first. The next connection starts the
     * service again with every socket. */
    for (size_t i = 0; i < n; i++) {
        if (rows[i]->dropin == DROPIN_LISTEN ||
            (rows[i]->dropin == DROPIN_ENABLE && conf_bool(after, rows[i]->name)))
            cu_plan_services(plan, rows[i], CU_STOP);
    }
    for (size_t i = 0; i < n; i++) {
        if (rows[i]->dropin == DROPIN_LISTEN)
            cu_plan_add(plan, CU_SOCKET_RESTART, rows[i]->unit);
    }
    for (size_t i = 0; i < n; i++) {
        if (rows[i]->dropin == DROPIN_ENABLE)
            cu_plan_add(plan, conf_bool(after, rows[i]->name) ? CU_ENABLE : CU_DISABLE,
                        rows[i]->unit);
    }
    for (size_t i = 0; i < n; i++) {
        if (rows[i]->dropin == DROPIN_ENABLE && !conf_bool(after, rows[i]->name))
            cu_plan_services(plan, rows[i], CU_SETTLE);
    }
    for (size_t i = 0; i < n; i++) {
        const struct param *p = rows[i];
        /* What a unit file says (environment, namespaces) only changes with a new process. */
        bool restart = !(p->flags & PARAM_REFRESHABLE) || p->dropin == DROPIN_ENV ||
                       p->dropin == DROPIN_RWPATHS;

        if (!cu_is_socket_row(p))
            cu_plan_services(plan, p, restart ? CU_RESTART : CU_RELOAD);
    }
}
