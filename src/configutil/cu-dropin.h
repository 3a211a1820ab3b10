/* Unit drop-ins rendered from msg.conf: the parameters systemd owns (ports, the ENS access
 * list, writable paths) become /etc/systemd/system/<unit>.d/50-configutil.conf. */
#ifndef HALYARD_CU_DROPIN_H
#define HALYARD_CU_DROPIN_H

#include <stdbool.h>
#include <stddef.h>

#include "conf.h"

#define CU_DROPIN_NAME   "50-configutil.conf"
#define CU_DROPIN_HEADER "# written by configutil from msg.conf; do not edit\n"
#define CU_UNITS_MAX     32 /* distinct units the table names */
#define CU_UNIT_NAME_MAX 64

/* Whether unit is one of the space-separated units in list. */
bool cu_unit_listed(const char *list, const char *unit);

/* Copies the units named by rows whose drop-in kind is in kinds (a bit set of 1u << enum
 * param_dropin), in table order, each once, into units; returns how many (at most max). */
size_t cu_table_units(unsigned kinds, char units[][CU_UNIT_NAME_MAX], size_t max);

/* The kinds that give a unit a drop-in file. */
#define CU_DROPIN_FILE_KINDS ((1u << DROPIN_LISTEN) | (1u << DROPIN_ENV) | (1u << DROPIN_RWPATHS))

/* The drop-in text for unit from the parameters conf sets explicitly (defaults live in the
 * shipped units), or NULL in text_r when it sets none. Returns 0, or -1 when out of memory. */
int cu_dropin_render(const struct conf *conf, const char *unit, char **text_r);

/* Makes the drop-in files under root ("" for the live system) match conf: writes changed ones
 * atomically, removes those with nothing to say. Stores in changed_r whether any file changed.
 * Returns 0, or -1 with err_r (caller frees). */
int cu_dropin_sync(const struct conf *conf, const char *root, bool *changed_r, char **err_r);

#endif
