/* What configutil prints: listings of msg.conf, the parameter help, the default msg.conf and
 * the Markdown parameter list. All of it comes from the table; nothing is written here. */
#ifndef HALYARD_CU_SHOW_H
#define HALYARD_CU_SHOW_H

#include <stdbool.h>
#include <stdio.h>

#include "conf.h"

#define CU_SECRET_MASK "********"

/* The parameters conf sets, sorted, one `name = value` line each (secrets masked), those whose
 * name starts with prefix (NULL: all); marks appends [REFRESHABLE] / [NOT REFRESHABLE]. */
void cu_show_set(FILE *f, const struct conf *conf, const char *prefix, bool marks);

/* Every parameter (and every host-suffixed one conf sets), sorted, with its current value and,
 * when set, its default: `name = value (default D)`. */
void cu_show_all(FILE *f, const struct conf *conf, const char *prefix, bool marks);

/* Everything the table says about p, and name's current value. */
void cu_show_param(FILE *f, const struct conf *conf, const struct param *p, const char *name);

/* The default msg.conf: a header, then every parameter commented out at its default, each
 * under its help line. */
void cu_show_template(FILE *f);

/* docs/parameters.md's generated table. */
void cu_show_markdown(FILE *f);

/* configutil(8) in roff. */
void cu_show_man(FILE *f);

/* The text of a parameter's drop-in ("ListenStream= of halyard-imap.socket"), "" for none;
 * caller frees (NULL when out of memory). */
char *cu_show_dropin(const struct param *p);

#endif
