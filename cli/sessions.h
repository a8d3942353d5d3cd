/* sessions.h — `rabulk sessions COLLECTION...`, and the listing drain uses. */
#ifndef RABULK_SESSIONS_H
#define RABULK_SESSIONS_H

#include "cli/args.h"
#include "engine/engine.h"

/* Lists the sessions of o->inputs (collection names) on stdout in
 * o->out_format; returns the exit code. */
int sessions_run(const struct args *o);

typedef int (*sessions_fn)(void *arg, const char *collection, const struct service_session *s);
/* Lists every collection at once and calls fn for each session, collection
 * by collection in the order given. A collection that cannot be listed is
 * said on stderr and counted. Returns that count, or a negative error
 * (ERR_NOMEM, or fn's own). */
int sessions_list(const struct engine_job *job, const char *const *collections, int n,
		  sessions_fn fn, void *arg);
/* Connected or Active: the service used both for a live session. */
bool sessions_connected(const char *state);

#endif
