/* Opening the store a msg.conf names: for daemons (already the service user) and for the
 * command-line tools an administrator runs as root. */
#ifndef HALYARD_STORE_CONF_H
#define HALYARD_STORE_CONF_H

#include <stdbool.h>

#include "conf.h"
#include "store.h"

/* Opens store.partition.primary.path with local.store.locktimeout applied. */
enum store_err store_open_conf(const struct conf *conf, struct store **st_r,
                               struct store_error *err);

/* For daemons, from their on_config: opens *st on the first call; later calls (reloads)
 * re-apply the REFRESHABLE store parameters. A changed store path takes a restart:
 * *path_changed_r says so. */
enum store_err store_conf_refresh(struct store **st, const struct conf *conf, bool *path_changed_r,
                                  struct store_error *err);

/* Re-applies the REFRESHABLE store parameters (after a reload). */
void store_apply_conf(struct store *st, const struct conf *conf);

/* For tools: when run as root, first become the owner of the store root, so that files the
 * tool creates stay usable by the daemons. With create, a missing root is made for
 * local.serveruser (when that user exists). Then as store_open_conf. */
enum store_err store_open_admin(const struct conf *conf, bool create, struct store **st_r,
                                struct store_error *err);

#endif
