/* armquota.h — ARM's request quotas as the emulator keeps them (DESIGN.md
 * section 8, --arm-quota): token buckets per subscription, principal and
 * bucket (reads, writes, deletes), the remaining headers, 429 with
 * Retry-After, and a fresh 429 for a request that comes too early.
 *
 * The model. Each (subscription, principal) has one bucket per kind with
 * `burst` tokens, refilled continuously at `rate` per second up to the
 * burst; a request takes one token and its answer reports what is left
 * (whole tokens, rounded down) in x-ms-ratelimit-remaining-subscription-
 * <bucket>. Each subscription also has a second bucket per kind that every
 * principal of it draws from: its remaining is the -global- header. Its
 * size is the spec's global-<bucket> entry, or the principal bucket's when
 * there is none, so one principal sees both headers agree and two see the
 * global one fall twice as fast. A request goes when both buckets hold a
 * token, and takes one from each.
 *
 * Throttling. With either bucket empty the answer is 429 with Retry-After,
 * whole seconds (at least 1) until the empty one holds a token again, and
 * nothing is taken. That principal's bucket is then held until the wait is
 * over: a request of it that comes earlier gets a fresh 429 whose
 * Retry-After is at least the one it ignored (the wait starts over), as
 * ARM penalises clients that do not wait. Other principals are not held
 * (they were not told to wait), but see the empty global bucket too.
 *
 * Pure and not thread-safe: no clock (callers pass monotonic ms), no
 * lock; the emulator holds its state lock around every call. */
#ifndef RABULK_ARMQUOTA_H
#define RABULK_ARMQUOTA_H

#include "engine/quota.h"
#include <stdbool.h>
#include <stdint.h>

/* ARM's buckets are the ones rabulk's pacer reads (engine/quota.h): one
 * list of them, the names and the parser with it. */
#define ARMQUOTA_BUCKET_MAP QUOTA_BUCKET_MAP

enum armquota_bucket {
#define ARMQUOTA_BUCKET_ENUM_(name, text) ARMQUOTA_##name = QUOTA_##name,
	ARMQUOTA_BUCKET_MAP(ARMQUOTA_BUCKET_ENUM_)
#undef ARMQUOTA_BUCKET_ENUM_
	    ARMQUOTA_BUCKETS = QUOTA_BUCKETS
};

/* "reads", "writes", "deletes" (static); "?" out of range. */
const char *armquota_bucket_name(enum armquota_bucket b);
/* The bucket ARM charges an HTTP method to: GET and HEAD read; PUT, POST
 * and PATCH write; DELETE deletes. Returns 0 or ERR_INVAL (any other). */
int armquota_bucket_of_method(const char *method, enum armquota_bucket *b);

/* The header an answer carries a bucket's remaining in (static):
 * "x-ms-ratelimit-remaining-subscription-writes", or with global
 * "x-ms-ratelimit-remaining-subscription-global-writes"; NULL out of range. */
const char *armquota_header_name(enum armquota_bucket b, bool global);

/* Longest subscription or principal name kept, in bytes. */
#define ARMQUOTA_NAME_MAX 256
/* Most (subscription, principal) pairs and subscriptions kept at once: a
 * cap on memory whatever the clients send. */
#define ARMQUOTA_KEYS_MAX 4096
/* Largest burst and rate a spec may ask for. */
#define ARMQUOTA_LIMIT_MAX 1000000000.0

/* One bucket's size: burst tokens, refilled at rate per second; not set:
 * that kind is not limited (no header, never 429). */
struct armquota_limit {
	bool set;
	double burst, rate;
};

/* What --arm-quota says. Caller-owned value. */
struct armquota_spec {
	struct armquota_limit principal[ARMQUOTA_BUCKETS];
	struct armquota_limit global[ARMQUOTA_BUCKETS]; /* unset: as principal's */
};

/* Parses "reads=250:25,writes=200:10,deletes=200:10" (any subset, any
 * order; global-<bucket>=B:R sizes the per-subscription bucket). B is a
 * whole number of tokens (1..ARMQUOTA_LIMIT_MAX), R tokens per second
 * (decimals allowed, > 0). Returns 0, or ERR_INVAL with *why (if why is not
 * NULL) a static lower-case phrase: an empty spec or item, an unknown
 * bucket, a bucket given twice, a missing '=' or ':', a bad number. */
int armquota_parse(const char *text, struct armquota_spec *out, const char **why);

struct armquota;

/* Caller owns the result (armquota_free); NULL when out of memory. The
 * spec is copied. */
struct armquota *armquota_new(const struct armquota_spec *spec);
/* armquota_free(NULL) is a no-op. */
void armquota_free(struct armquota *q);

/* What one request's answer says. */
struct armquota_answer {
	int64_t remaining;	  /* x-ms-ratelimit-remaining-subscription-<b>; -1: none */
	int64_t global_remaining; /* ...-subscription-global-<b>; -1: none */
	long retry_after_s;	  /* a 429's Retry-After; 0 otherwise */
};

/* Charges one request of bucket b by principal in subscription sub (both
 * borrowed for the call) at now_ms. Returns 0 when it may be served (the
 * headers in *out), ERR_AGAIN when it is to be answered 429 (*out has the
 * Retry-After, and the remaining values to send with it), ERR_TOOBIG when
 * a name is longer than ARMQUOTA_NAME_MAX or ARMQUOTA_KEYS_MAX pairs are
 * already kept, ERR_NOMEM, or ERR_INVAL for a bad bucket or an empty (or
 * NULL) principal or subscription. A bucket kind
 * the spec does not limit always returns 0 with no headers. */
int armquota_take(struct armquota *q, const char *sub, const char *principal,
		  enum armquota_bucket b, int64_t now_ms, struct armquota_answer *out);

/* Counters per bucket kind, for /_emulator/stats. */
struct armquota_stats {
	uint64_t allowed;   /* requests let through */
	uint64_t throttled; /* 429s, the early ones included */
	uint64_t early;	    /* 429s for coming before the Retry-After was over */
};
void armquota_stats(const struct armquota *q, enum armquota_bucket b, struct armquota_stats *out);

#endif
