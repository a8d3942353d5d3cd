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
/* One page of list i: sets next to the next page's URL ("" on the last);
 * returns 0 or a negative error (ERR_PARSE: unreadable). */
typedef int (*sessions_page_fn)(void *arg, int i, const char *body, size_t len, char *next,
				size_t next_cap);
/* Every page of n lists at once, round after round while nextLink leads
 * on (and points at the endpoint); url[i] is list i's first page (heap, or
 * NULL when it has none: counted as a failure), taken and freed. A list
 * that cannot be had is named (names[i]) on stderr and counted. Returns
 * that count or a negative error. */
int sessions_pages(const struct engine_job *job, const char *const *names, char **url, int n,
		   sessions_page_fn page, void *arg);
/* Connected or Active: the service used both for a live session. */
bool sessions_connected(const char *state);

#endif
