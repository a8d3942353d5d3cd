/* flow.h — flow control shared by every worker thread: the send and poll
 * rate limiters, the throttling pause, and the adaptive rate (flow.c).
 * State lives in struct engine_shared (worker.h); everything here is
 * thread-safe. */
#ifndef RABULK_FLOW_H
#define RABULK_FLOW_H

#include "engine/worker.h"
#include <stdbool.h>
#include <stdint.h>

/* Reserves a slot for the next operation request (poll false) or poll
 * (true): true with the send time in *at_ms (monotonic, >= now), or false
 * with the time to ask again. Thread-safe. */
bool flow_reserve(struct engine_shared *sh, bool poll, int64_t now_ms, int64_t *at_ms);
/* Counts an answer for the adaptive rate. A throttled one (429, 503) with
 * a Retry-After in ms (else -1) pauses every worker that long, provided the
 * row that got it may wait that long (limit_ms, retry_wait_limit()); a
 * longer wait pauses nobody. Thread-safe. */
void flow_answer(struct engine_shared *sh, bool throttled, long retry_after_ms, long limit_ms,
		 int64_t now_ms);

/* Pacing by the service's quota: how long a request of bucket b must wait
 * (0: it may go now, and it is counted: *t is its ticket, for
 * flow_quota_answer()). Thread-safe. */
long flow_quota_take(struct engine_shared *sh, enum quota_bucket b, int64_t now_ms,
		     struct quota_ticket *t);
/* What an answer to ticket t said of the quota left (h), and a 429 with its
 * Retry-After (ms, -1: none). Thread-safe. */
void flow_quota_answer(struct engine_shared *sh, const struct quota_ticket *t,
		       const struct quota_headers *h, int http, long retry_after_ms,
		       int64_t now_ms);

#endif
