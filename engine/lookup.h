/* lookup.h — the session lists of one pass, for a service whose rows name
 * a collection to list first (AVD's host pools).
 *
 * Each collection is listed once per pass, by whichever worker first meets
 * a row of it; rows of a collection being listed wait, holding no slot,
 * until the list is there, and then find their sessions by UPN without
 * regard to case. The table holds only the collections the input names,
 * so its memory is bounded by their sessions. Thread-safe: the workers of
 * a pass share one table; a list ends (ready or failed) under the table's
 * lock, then every registered waker is called. */
#ifndef RABULK_LOOKUP_H
#define RABULK_LOOKUP_H

#include <stdbool.h>
#include <stddef.h>

enum lookup_state {
	LOOKUP_LISTING, /* a worker is listing it: rows wait */
	LOOKUP_READY,	/* listed: lookup_match() answers */
	LOOKUP_FAILED,	/* the list could not be had: rows fail with its error */
};

struct lookup;
struct lookup_pool;

/* A found session; strings borrowed for the callback. */
struct lookup_session {
	const char *upn, *session_host, *id, *state;
};
typedef void lookup_wake_fn(void *arg);
typedef int lookup_match_fn(void *arg, const struct lookup_session *s);

/* Caller owns the result; NULL when out of memory. */
struct lookup *lookup_new(void);
/* lookup_free(NULL) is a no-op. Call once no worker uses the table. */
void lookup_free(struct lookup *l);
/* Registers fn(arg), called (from the thread that ended a list, no lock
 * held by the caller but the table's) whenever a list ends. At most 64.
 * Returns 0 or ERR_RANGE. */
int lookup_add_waker(struct lookup *l, lookup_wake_fn *fn, void *arg);

/* The collection with this canonical key (any case), created LISTING when
 * new: then *first is true and the caller must list it and end with
 * lookup_ready() or lookup_failed(). NULL when out of memory. */
struct lookup_pool *lookup_pool(struct lookup *l, const char *key, bool *first);
/* Its state; the lock is taken, so a READY seen here is complete. */
enum lookup_state lookup_state(struct lookup *l, struct lookup_pool *p);

/* From the lister only, while LISTING: one session of the list. Returns 0 or ERR_NOMEM. */
int lookup_add(struct lookup_pool *p, const struct lookup_session *s);
/* Sessions added so far (for the lister's messages). */
size_t lookup_count(const struct lookup_pool *p);
/* Ends the list: it is complete. */
void lookup_ready(struct lookup *l, struct lookup_pool *p);
/* Ends the list: it cannot be had. http (0: none), code and message are
 * what a waiting row reports; copied. */
void lookup_failed(struct lookup *l, struct lookup_pool *p, int http, const char *code,
		   const char *message);
/* A failed list's error; strings live as long as the table. */
void lookup_error(const struct lookup_pool *p, int *http, const char **code, const char **message);

/* Calls fn for each session of a READY collection whose UPN equals upn
 * ignoring ASCII case, in list order. Returns the number of sessions
 * matched, or fn's nonzero value. */
int lookup_match(const struct lookup_pool *p, const char *upn, lookup_match_fn *fn, void *arg);

#endif
