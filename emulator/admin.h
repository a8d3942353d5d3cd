/* admin.h — /_emulator/: what tests and benchmarks read back and reset.
 *
 *   GET  /_emulator/state   collections, sessions, per pair the operations received;
 *                           under "avd": host pools, session hosts (allowNewSession),
 *                           user sessions (state, gone, operations received)
 *   GET  /_emulator/log     every API request: method, raw path and query,
 *                           headers, body, arrival time, status, fault
 *   GET  /_emulator/stats   requests and answers by class, sessions,
 *                           connections, log size and drops; with --arm-quota,
 *                           "arm_quota": per bucket allowed, throttled (429s), early
 *   POST /_emulator/reset   zeroes the counts (RemoteApp's and AVD's) and empties the log
 *   GET  /_emulator/token   a fresh bearer token (?opaque=1: one whose expiry
 *                           cannot be read), as an identity provider issues
 *
 * It owns the request log and the counters every request adds to. */
#ifndef RABULK_EMU_ADMIN_H
#define RABULK_EMU_ADMIN_H

#include "emulator/route.h"

#include <stdbool.h>
#include <stddef.h>

struct admin;

/* Keeps at most log_max log entries (more are counted as dropped). Caller
 * owns the result; NULL when out of memory. */
struct admin *admin_new(size_t log_max);
/* admin_free(NULL) is a no-op. */
void admin_free(struct admin *a);

/* Serves /_emulator/{what}: true when q is such a path (r filled), false
 * for any other. Called with the state locked. Thread-safe. */
bool admin_serve(struct admin *a, const struct route_ctx *x, const struct route_request *q,
		 struct reply *r);
/* Counts one request by its answer r, and with log keeps its log entry.
 * Thread-safe; takes the admin lock (after the state's, when both). */
void admin_record(struct admin *a, const struct route_request *q, const struct reply *r, bool log);
/* Counts one accepted connection. Thread-safe, lock-free. */
void admin_connection(struct admin *a);

#endif
