/* fetch.h — a handful of GETs at once: session lists and operation results.
 *
 * `rabulk sessions`, `rabulk result` and `rabulk drain` read a few dozen
 * resources, not millions of rows: one curl multi handle, every request in
 * flight together, bodies kept whole. Each request follows the same retry
 * policy as a bulk row (engine/retry.h): 408, 429, 5xx and transport errors
 * are tried again after a backoff with jitter and at least the server's
 * Retry-After, within --retries and --retry-max-time; a 429 or 503 with
 * Retry-After holds back every request of the fetch; a 401 is answered by
 * one token refresh. Results come back in the order asked for, whatever
 * order they finish in. */
#ifndef RABULK_FETCH_H
#define RABULK_FETCH_H

#include "engine/engine.h"

struct fetch_result {
	long http;  /* the last answer; 0: none (err holds why) */
	char *body; /* heap, NUL-terminated, may be empty */
	size_t len;
	int attempts;  /* requests sent, retries included */
	bool gave_up;  /* the last answer was worth a retry, but the retries were spent */
	char err[256]; /* transport error, or "" */
	struct service_error error; /* the last answer's error body, as the service parses it */
	char refused[160];	    /* a Retry-After longer than allowed, in words, or "" */
	char request_id[48];	    /* the answer's x-ms-request-id, or "" */
};

/* Builds a resource's URL from its name (a service's sessions_url or result_url). */
typedef int (*fetch_url_fn)(char *dst, size_t cap, const struct service_target *t,
			    const char *name);

/* GETs the resource named names[i] for each i < n, all at once, with the
 * job's credentials, settings and retry policy. Returns once every
 * resource has its final answer: an array of n results in the order of
 * names (free with fetch_free), or NULL: out of memory, or a name url()
 * refuses (said on stderr). Each call has its own multi handle; call
 * curl_global_init() first. */
struct fetch_result *fetch_each(const struct engine_job *job, fetch_url_fn url,
				const char *const *names, int n);
void fetch_free(struct fetch_result *r, int n);

/* The same for requests with a body (AVD's PATCH of a session host): method
 * to urls[i] (absolute) with bodies[i] (JSON), all at once, with the same
 * retry policy. NULL when out of memory. */
struct fetch_result *fetch_send(const struct engine_job *job, const char *method,
				const char *const *urls, const char *const *bodies, int n);

/* Why a result is not a 200, in words for the user: "HTTP 503 ServerBusy:
 * <message>" or the transport error, then " (gave up after N attempts)"
 * when the retries ran out. Writes at most cap bytes, terminated. */
void fetch_describe(const struct fetch_result *r, char *dst, size_t cap);

#endif
