/* retry.h — when to try a request again. A pure module: it never reads a
 * clock or sleeps; callers pass the time and a random number in. */
#ifndef RABULK_RETRY_H
#define RABULK_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest wait a server may ask of a row when --retry-max-time is not
 * given: a longer Retry-After fails the row as Throttled (README, rabulk(1)). */
#define RETRY_WAIT_MAX_MS (10L * 60 * 1000)
/* Parsed waits saturate here (100 years), so that any wait plus a clock
 * reading stays far inside 64 bits whatever a server sends. */
#define RETRY_AFTER_MAX_MS (100L * 365 * 24 * 3600 * 1000)

struct retry_policy {
	int retries;	  /* retries after the first attempt (--retries, default 6) */
	long base_ms;	  /* 500 */
	long cap_ms;	  /* 60000 */
	long max_time_ms; /* --retry-max-time; 0 = no limit */
};

/* Delay before the next attempt after `attempts` attempts so far:
 * exponential backoff with full jitter, rnd * min(cap, base * 2^(attempts-1))
 * with rnd in [0,1), then at least retry_after_ms (the server's Retry-After,
 * -1 when absent). */
long retry_delay_ms(const struct retry_policy *p, int attempts, double rnd, long retry_after_ms);

/* May another attempt start `delay_ms` from now? False once `attempts`
 * exceeds the retries or the attempt would start after max_time from
 * first_ms. Times are the caller's monotonic milliseconds. */
bool retry_allowed(const struct retry_policy *p, int attempts, int64_t first_ms, int64_t now_ms,
		   long delay_ms);

/* The longest wait a row that first tried at first_ms may accept at now_ms:
 * what --retry-max-time leaves of its budget (0 once spent), or without it
 * RETRY_WAIT_MAX_MS. A server asking for more is refused: the row fails as
 * Throttled, and its wait pauses nobody else either. */
long retry_wait_limit(const struct retry_policy *p, int64_t first_ms, int64_t now_ms);

/* Why a wait of wait_ms asked by `header` ("Retry-After", "retry-after-ms",
 * ...) was refused, limit_ms being retry_wait_limit(), for the report:
 * "the service asked to wait 1157 days (Retry-After), more than the 9 s
 * --retry-max-time leaves this row", or without --retry-max-time "... more
 * than the 10 min a row may wait without --retry-max-time". Into dst,
 * truncated to cap. */
void retry_refusal(char *dst, size_t cap, const struct retry_policy *p, long wait_ms, long limit_ms,
		   const char *header);

/* A wait in words, rounded: "850 ms", "42 s", "10 min 1 s", "27 h 47
 * min", "1157 days"; at RETRY_AFTER_MAX_MS "at least 36500 days". Into dst,
 * truncated to cap. */
void retry_wait_text(char *dst, size_t cap, long ms);

/* Parses a throttling header into milliseconds from now: "Retry-After"
 * (delta seconds or an HTTP date, against now_unix_ms), "retry-after-ms"
 * and "x-ms-retry-after-ms". Saturates at RETRY_AFTER_MAX_MS; a date in the
 * past is 0. Returns -1 when the value does not parse. */
long retry_after_parse(const char *name, const char *value, int64_t now_unix_ms);

/* The throttling headers of one answer, read line by line as they come. */
struct retry_after {
	long ms;	    /* the wait asked for (saturated, see above); -1: none */
	bool precise;	    /* it came from retry-after-ms or x-ms-retry-after-ms */
	const char *header; /* the header it came from, for messages; NULL: none */
};
/* No wait asked for yet: call before each answer. */
void retry_after_init(struct retry_after *ra);
/* Reads one header line ("Name: value\r\n", len bytes, as libcurl's header
 * callback gets it). retry-after-ms and x-ms-retry-after-ms are precise and
 * win over Retry-After (seconds, or an HTTP date against now_unix_ms), as in
 * Azure's own SDKs; other lines are ignored. Whether the wait is acceptable
 * is retry_wait_limit()'s question, asked by the caller. */
void retry_after_header(struct retry_after *ra, const char *line, size_t len, int64_t now_unix_ms);

/* The jitter: a uniform number in [0,1) from a caller-owned xorshift64*
 * state (never 0; seed it per thread), which it advances. */
double retry_random(uint64_t *state);
/* The next 64 random bits of the same generator (request ids, not secrets). */
uint64_t retry_random_u64(uint64_t *state);

#endif
