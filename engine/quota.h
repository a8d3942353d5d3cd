/* quota.h — pacing by the quota a service says is left (DESIGN.md section
 * 10), as a pure state machine.
 *
 * ARM counts reads, writes and deletes in token buckets (a burst, refilled
 * at a steady rate) and reports what is left in every answer's
 * x-ms-ratelimit-remaining-subscription-<bucket> header. The pacer spends
 * the burst, measures the refill, settles at it when the bucket nears the
 * reserve it keeps for other clients, and so never lets the bucket run dry.
 *
 * Nothing here reads a clock, sleeps or locks: callers pass `now` in
 * monotonic milliseconds. Like the rate limiter (ratelimit.h), the engine
 * keeps one struct quota for the run and wraps every call in its flow
 * mutex; unit tests drive it with made-up time. Not thread-safe by itself.
 *
 * The protocol, per request of bucket b, under the caller's lock:
 *   w = quota_wait(q, b, now);      0: go now; else ask again in w ms
 *   t = quota_spend(q, b, now);     record the send, keep t with the request
 *   ... the answer comes ...
 *   quota_answer(q, &t, remaining, now);   once per ticket, whatever came
 *   (on a 429 of that bucket, also quota_throttled(q, b, retry_after_ms, now))
 * `--rate` stays a separate ceiling (ratelimit.h): a request goes when both
 * say so. */
#ifndef RABULK_QUOTA_H
#define RABULK_QUOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The buckets, with the name ARM's headers and avd_quota_bucket() use.
 * Another service's buckets? Add a line: quota_bucket_name() and
 * quota_bucket_parse() follow; its own header parser feeds quota_answer(). */
#define QUOTA_BUCKET_MAP(X)                                                                        \
	X(READS, "reads")                                                                          \
	X(WRITES, "writes")                                                                        \
	X(DELETES, "deletes")

enum quota_bucket {
#define QUOTA_BUCKET_ENUM_(name, text) QUOTA_##name,
	QUOTA_BUCKET_MAP(QUOTA_BUCKET_ENUM_)
#undef QUOTA_BUCKET_ENUM_
	    QUOTA_BUCKETS
};

/* "reads", "writes", "deletes" (static); "?" out of range. Thread-safe. */
const char *quota_bucket_name(enum quota_bucket b);
/* The bucket of a name as avd_quota_bucket() gives it (any case). Returns 0
 * or ERR_INVAL. Thread-safe. */
int quota_bucket_parse(const char *name, enum quota_bucket *b);

/* ---- the headers ------------------------------------------------------ */

#define QUOTA_HEADER_PREFIX "x-ms-ratelimit-remaining-subscription-"
#define QUOTA_HEADER_GLOBAL "global-"
/* Larger values are refused as junk (ARM's buckets hold hundreds). */
#define QUOTA_VALUE_MAX 1000000000LL

/* Reads one header line ("Name: value\r\n", len bytes, as libcurl's header
 * callback gets it). For x-ms-ratelimit-remaining-subscription-<bucket>
 * and x-ms-ratelimit-remaining-subscription-global-<bucket> (any case)
 * returns 0 with the bucket, whether it is the -global- one, and the value
 * (0..QUOTA_VALUE_MAX, decimal digits only). Returns ERR_NOENT for any
 * other header, ERR_PARSE for one of these six with a value that is not a
 * number, ERR_RANGE for a negative one or one above QUOTA_VALUE_MAX.
 * Pure and thread-safe. */
int quota_header_parse(const char *line, size_t len, enum quota_bucket *b, bool *global,
		       int64_t *value);

/* What one answer said, collected line by line as retry_after does: per
 * bucket the smaller of the plain and -global- values (the one that binds
 * first), -1 when the answer said nothing of that bucket. Junk values are
 * ignored. Caller-owned value. */
struct quota_headers {
	int64_t remaining[QUOTA_BUCKETS];
};
/* Nothing seen yet: call before each answer. Thread-safe (h is the
 * caller's, one per answer). */
void quota_headers_init(struct quota_headers *h);
/* Reads one header line (as quota_header_parse()); others are ignored.
 * Thread-safe as quota_headers_init(). */
void quota_headers_line(struct quota_headers *h, const char *line, size_t len);

/* ---- the reserve ------------------------------------------------------ */

/* What the pacer leaves in each bucket for other clients of the
 * subscription: a count, or a share of the largest remaining value seen in
 * that bucket (the bucket's size, once it has been seen full). */
struct quota_reserve {
	double value;
	bool percent; /* value is a percentage (0..100) */
};
#define QUOTA_RESERVE_DEFAULT ((struct quota_reserve){.value = 10, .percent = true})

/* Parses --quota-reserve: "N" (a count, 0..QUOTA_VALUE_MAX) or "N%"
 * (0..100, decimals allowed). Returns 0 or ERR_INVAL. Thread-safe. */
int quota_parse_reserve(const char *text, struct quota_reserve *out);

/* ---- the pacer -------------------------------------------------------- */

/* Everything from here on changes or reads a struct quota the caller
 * owns: not thread-safe, the caller locks (the engine's flow mutex, as for
 * its rate limiters).
 *
 * Tunables, in one place; quota.c's opening comment says why each is so.
 * A request goes while the level after it stays at or above the reserve +
 * QUOTA_GUARD + the square root of the requests in flight. */
#define QUOTA_GUARD 2.0	      /* tokens never planned, even with reserve 0 */
#define QUOTA_WINDOW_MS 1000  /* shortest span a refill sample covers (or 4 round trips) */
#define QUOTA_SMOOTH_MS 4000  /* time constant of the refill's average */
#define QUOTA_MIN_REFILL 0.2  /* per second: the level's growth when nothing refills */
#define QUOTA_PROBE_MS 5000   /* silence after which one request goes to look */
#define QUOTA_SAMPLES 32      /* answers remembered for refill samples */
#define QUOTA_RESERVE_MAX 0.5 /* of the largest value seen: the most a reserve holds back */
#define QUOTA_TRACK 4096      /* tickets tracked in flight (older ones: forgotten) */
#define QUOTA_RECHECK_MS 1000 /* the longest wait quota_wait() answers: ask again then */

/* One request's claim on a bucket: quota_spend() fills it, the caller keeps
 * it with the request and hands it back with the answer. */
struct quota_ticket {
	enum quota_bucket bucket;
	int64_t seq;	 /* this bucket's send count before it */
	int64_t sent_ms; /* when it was spent */
};

/* An answer remembered for refill samples. */
struct quota_sample {
	int64_t seq, sent_ms;
	double remaining;
};

/* One bucket's state. Visible for tests and quota_stats(); callers use the
 * functions. */
struct quota_meter {
	bool seen;	   /* a remaining value (or a 429) was seen */
	double level;	   /* predicted remaining at `at` (our sends taken off) */
	int64_t at;	   /* ms */
	double doubt;	   /* of what was taken off level, how much may have been counted */
	double largest;	   /* the largest remaining value seen */
	int64_t sent;	   /* requests spent so far: the next ticket's seq */
	int64_t anchor;	   /* seq of the answer `level` was last set from; -1 */
	int64_t in_flight; /* tickets spent, not yet answered (nor forgotten) */
	int64_t oldest;	   /* no ticket before this one is still in flight */
	uint64_t flying[QUOTA_TRACK / 64]; /* bit seq % QUOTA_TRACK: in flight */
	double refill;			   /* measured net refill per second; < 0: none yet */
	int64_t sample_ms;		   /* sent_ms of the answer behind the last sample */
	double rtt_ms;			   /* smoothed time from spend to answer; 0: none yet */
	struct quota_sample ring[QUOTA_SAMPLES];
	int ring_len, ring_head; /* ring_head: the next slot written */
	int64_t hold_until;	 /* after a 429: nothing goes before this */
	int64_t heard_ms;	 /* when the service last said something of it */
	int64_t blocked_since;	 /* a request has been held since; -1: none */
	int64_t waited_ms;	 /* closed held spans, summed */
	int64_t throttled;	 /* 429s reported by quota_throttled() */
	int strikes;		 /* 429s since an answer said what was left */
};

struct quota {
	struct quota_reserve reserve;
	struct quota_meter m[QUOTA_BUCKETS];
};

/* Every bucket unseen (no pacing until the service reports something). */
void quota_init(struct quota *q, struct quota_reserve reserve);

/* How long the next request of bucket b should wait, in ms: 0 to send now,
 * at most QUOTA_RECHECK_MS (an answer meanwhile may change it: ask again).
 * Never waits before the bucket's first remaining value has been seen. A
 * positive answer starts (or continues) a held span that quota_spend() or
 * a later 0 closes; the spans add up to quota_stats().waited_ms. */
int64_t quota_wait(struct quota *q, enum quota_bucket b, int64_t now_ms);

/* Records a request of bucket b sent now; returns its ticket. */
struct quota_ticket quota_spend(struct quota *q, enum quota_bucket b, int64_t now_ms);

/* Ticket t's request is over: call exactly once per ticket, whatever came
 * back (a 429, a transport error: remaining -1), or the pacer counts the
 * request in flight until QUOTA_TRACK later tickets push it out, and keeps
 * that much more in the bucket. remaining is what the answer said (the
 * smaller of the plain and -global- headers, quota_headers; -1: nothing).
 * Answers may come in any order: the value is taken as stale by every
 * request sent after t's and every earlier one still in flight; an answer
 * to a request older than the one the level was last set from may lower
 * the level, never raise it. A second answer to one ticket is ignored. */
void quota_answer(struct quota *q, const struct quota_ticket *t, int64_t remaining, int64_t now_ms);

/* A request of bucket b was refused with 429 (retry_after_ms: the service's
 * wait, -1 when absent). The bucket is taken as empty now, nothing of it
 * goes before the wait is over, and the refill estimate halves (it was too
 * high, or another client is draining the bucket). The engine pauses every
 * request on a 429 anyway; this keeps the pacer from spending straight
 * into the next one. */
void quota_throttled(struct quota *q, enum quota_bucket b, long retry_after_ms, int64_t now_ms);

/* What the summary shows of a bucket, at now_ms. */
struct quota_stats {
	bool seen;	   /* the service reported this bucket */
	int64_t sent;	   /* requests spent */
	int64_t waited_ms; /* wall time a request of this bucket was held */
	int64_t throttled; /* 429s fed to quota_throttled() */
	double refill;	   /* measured net refill per second; < 0: not measured */
	double largest;	   /* the largest remaining value seen */
	double reserve;	   /* the reserve kept, in requests */
	double remaining;  /* predicted remaining now */
};
void quota_stats(const struct quota *q, enum quota_bucket b, int64_t now_ms,
		 struct quota_stats *out);

#endif
