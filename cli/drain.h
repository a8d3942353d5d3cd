/* drain.h — `rabulk drain COLLECTION... --message TEXT --grace D`. */
#ifndef RABULK_DRAIN_H
#define RABULK_DRAIN_H

#include "cli/args.h"

/* Warns connected users, waits, reminds, then disconnects (or logs off)
 * whoever is left; one report. Returns the exit code. */
int drain_run(const struct args *o);

#endif
