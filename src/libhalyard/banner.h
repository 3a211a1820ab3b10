/* Banner expansion, the seed's service.*.banner: %h host, %p protocol, %P product, %V version. */
#ifndef HALYARD_BANNER_H
#define HALYARD_BANNER_H

#include <stddef.h>

#define HALYARD_PRODUCT "Halyard"

/* Expands tmpl into a new string (caller frees): %h host, %p protocol, %P product, %V version,
 * %% a percent sign; any other %x is kept as written. Control characters are replaced by
 * spaces so a banner can never break the protocol's line framing. NULL only on ENOMEM. */
char *banner_expand(const char *tmpl, const char *host, const char *protocol, const char *product,
                    const char *version);

#endif
