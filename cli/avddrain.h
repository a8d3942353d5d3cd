/* avddrain.h — drain mode on AVD session hosts, for rabulk drain and undrain. */
#ifndef RABULK_AVDDRAIN_H
#define RABULK_AVDDRAIN_H

#include "cli/args.h"
#include "cli/run.h"

/* Lists the session hosts of the host pools o->inputs and sets each one's
 * allowNewSession: false (drain: a host already closed is left alone), or
 * for undrain the value the drain's report (o->merge_input, --input)
 * recorded for it, else true. One report row per host, operation "drain"
 * or "undrain", its sessions column "host=value" (drain: the value before,
 * which undrain restores). Returns the number of hosts or pools that
 * failed, or a negative error. */
int avddrain_hosts(struct run *c, const struct args *o, bool drain);

#endif
