/* fetch.h — a handful of GETs at once: session lists and operation results.
 *
 * `rabulk sessions`, `rabulk result` and `rabulk drain` read a few dozen
 * resources, not millions of rows: one curl multi handle, every request in
 * flight together, bodies kept whole, a 401 answered by one token refresh.
 * Results come back in the order asked for, whatever order they finish in. */
#ifndef RABULK_FETCH_H
#define RABULK_FETCH_H

#include "engine/engine.h"

struct fetch_result {
	long http;     /* 0: no answer (err holds why) */
	char *body;    /* heap, NUL-terminated, may be empty */
	size_t len;
	char err[256]; /* transport error, or "" */
};

/* GETs urls[0..n) with the job's credentials and settings; fills out[i]
 * for urls[i]. Returns 0, or ERR_NOMEM. Free each body with free(). */
int fetch_all(const struct job *job, char *const *urls, int n, struct fetch_result *out);
void fetch_release(struct fetch_result *r, int n);

#endif
