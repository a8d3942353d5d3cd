/* route.h — a request as the emulator's routes see it, and the shape of a
 * service's routes.
 *
 * The glue (emu.c) parses the raw URI once into decoded path segments and
 * the query, takes the state lock, and offers the request to each service
 * in turn (remoteapp.h, avd.h: a service is its own file and one line in
 * the glue's list). A service answers the paths it owns and declines the
 * rest, which end as 404 ResourceNotFound. */
#ifndef RABULK_EMU_ROUTE_H
#define RABULK_EMU_ROUTE_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct armquota;
struct auth;
struct avdstate;
struct emu_config;
struct idp;
struct reply;
struct rng;
struct state;

#define ROUTE_MAX_SEGS                                                                             \
	16 /* AVD's deepest: P/sessionHosts/{sh}/userSessions/{id}/disconnect is 13 */

struct route_request {
	struct MHD_Connection *conn; /* its headers and TLS session */
	const char *method;
	const char *uri; /* path and query as sent, never decoded: what the log shows */
	int64_t arrival_ms;
	char *seg[ROUTE_MAX_SEGS]; /* the path's segments, each percent-decoded once */
	int nseg;
	const char *query; /* raw, what follows '?'; "" when none */
	const char *body;  /* may be NULL when body_len is 0 */
	size_t body_len;
	char *buf; /* owned: what seg and query point into */
};

/* What routes work with; all borrowed for the emulator's life. */
struct route_ctx {
	const struct emu_config *c;
	struct state *state;  /* locked by the glue around every route */
	struct avdstate *avd; /* AVD's world (avdstate.h), under the same lock */
	const struct auth *auth;
	struct rng *rng;
	const struct idp *idp;	/* the identity provider's registrations; NULL: off */
	struct armquota *quota; /* ARM's buckets (--arm-quota), under the same lock; NULL: off */
};

/* A service's routes: fills r and returns true for a request on one of its
 * paths, returns false (r untouched) for any other. Called with the state
 * locked, from libmicrohttpd's threads. */
struct route_service {
	const char *name; /* "remoteapp" */
	bool (*serve)(const struct route_ctx *x, const struct route_request *q, struct reply *r);
};

/* Splits a copy of q->uri into q's segments and query. Returns 0, ERR_NOMEM,
 * or ERR_TOOBIG when there are more than ROUTE_MAX_SEGS segments (q holds
 * the first ones, undecoded). Call route_release() whatever it returns. */
int route_parse(struct route_request *q);
/* Frees the copy route_parse() made. */
void route_release(struct route_request *q);
/* True when the query holds the parameter exactly ("name=value" or a bare
 * "name"), as sent: no decoding. */
bool route_query_has(const char *query, const char *param);
/* True for this method (exact, as HTTP methods are). */
bool route_method(const struct route_request *q, const char *method);

#endif
