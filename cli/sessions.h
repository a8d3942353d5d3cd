/* sessions.h — `rabulk sessions COLLECTION...`. */
#ifndef RABULK_SESSIONS_H
#define RABULK_SESSIONS_H

#include "cli/args.h"

/* Lists the sessions of o->inputs (collection names) on stdout in
 * o->out_format; returns the exit code. */
int sessions_run(const struct options *o);

#endif
