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
	long http;  /* 0: no answer (err holds why) */
	char *body; /* heap, NUL-terminated, may be empty */
	size_t len;
	char err[256]; /* transport error, or "" */
};

/* Builds a resource's URL from its name (api_url_sessions, api_url_result). */
typedef int (*fetch_url_fn)(char *dst, size_t cap, const struct api_target *t, const char *name);

/* GETs the resource named names[i] for each i < n, all at once, with the
 * job's credentials and settings. Returns an array of n results in the
 * order of names (free with fetch_free), or NULL: out of memory, or a name
 * url() refuses (said on stderr). */
struct fetch_result *fetch_each(const struct job *job, fetch_url_fn url, const char *const *names,
				int n);
void fetch_free(struct fetch_result *r, int n);

#endif
