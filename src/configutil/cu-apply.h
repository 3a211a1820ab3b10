/* What configutil asks systemd to do after msg.conf changed: a plan computed from the values
 * before and after (pure, unit-tested), then carried out with systemctl. */
#ifndef HALYARD_CU_APPLY_H
#define HALYARD_CU_APPLY_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"
#include "cu-dropin.h"

#define CU_PLAN_MAX 64

enum cu_action {
    CU_DAEMON_RELOAD,  /* systemctl daemon-reload (unit empty) */
    CU_STOP,           /* stop a service whose socket moves, so it lets go of the old port */
    CU_SOCKET_RESTART, /* try-restart a socket so it listens where its drop-in says */
    CU_ENABLE,         /* enable --now a socket */
    CU_DISABLE,        /* disable --now a socket */
    CU_SETTLE,         /* a service that lost or gained a socket: try-restart it if one of its
                          sockets is enabled or active, else stop it */
    CU_RESTART,        /* try-restart: a NOT REFRESHABLE parameter changed */
    CU_RELOAD,         /* try-reload-or-restart: only REFRESHABLE parameters changed */
};

struct cu_step {
    enum cu_action action;
    char unit[CU_UNIT_NAME_MAX];
};

struct cu_plan {
    struct cu_step steps[CU_PLAN_MAX];
    size_t count;
};

/* The services that read a parameter with these readers (READER_STORE means every store-host
 * daemon); copies up to max names into units and returns how many. */
size_t cu_reader_services(unsigned readers, char units[][CU_UNIT_NAME_MAX], size_t max);

/* The sockets (DROPIN_LISTEN / DROPIN_ENABLE units) whose rows the service reads. */
size_t cu_service_sockets(const char *service, char units[][CU_UNIT_NAME_MAX], size_t max);

/* The plan for going from before to after (explicitly set values of both); dropins_changed says
 * whether any drop-in file was rewritten. Order: daemon-reload; stop the services whose sockets
 * move or get enabled; restart the moved sockets; enable/disable sockets; settle the services
 * that lost a socket; then restart or reload every other service that reads a changed
 * parameter, each service once with the strongest action it needs. */
void cu_plan_build(const struct conf *before, const struct conf *after, bool dropins_changed,
                   struct cu_plan *plan);

/* Carries the plan out with systemctl. root NULL: the live system, skipping units systemd does
 * not know; otherwise only `systemctl --root=DIR enable/disable` for sockets whose unit file
 * exists there. verbose prints each command on stderr. Every step is tried; returns 0, or -1
 * with err_r listing the failures (caller frees). */
int cu_plan_run(const struct cu_plan *plan, const char *root, bool verbose, char **err_r);

#endif
