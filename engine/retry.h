/* retry.h — when to try a request again. A pure module: it never reads a
 * clock or sleeps; callers pass the time and a random number in. */
#ifndef RABULK_RETRY_H
#define RABULK_RETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* Parses a throttling header into milliseconds from now: "Retry-After"
 * (delta seconds or an HTTP date, against now_unix_ms), "retry-after-ms"
 * and "x-ms-retry-after-ms". Returns -1 when the value does not parse. */
long retry_after_parse(const char *name, const char *value, int64_t now_unix_ms);

/* The throttling headers of one answer, read line by line as they come. */
#define RETRY_AFTER_MAX_MS (10L * 60 * 1000) /* a longer wait is taken as this */
struct retry_after {
	long ms;      /* the wait asked for, at most RETRY_AFTER_MAX_MS; -1: none */
	bool precise; /* it came from retry-after-ms or x-ms-retry-after-ms */
};
/* No wait asked for yet: call before each answer. */
void retry_after_init(struct retry_after *ra);
/* Reads one header line ("Name: value\r\n", len bytes, as libcurl's header
 * callback gets it). retry-after-ms and x-ms-retry-after-ms are precise and
 * win over Retry-After (seconds, or an HTTP date against now_unix_ms), as in
 * Azure's own SDKs; other lines are ignored. */
void retry_after_header(struct retry_after *ra, const char *line, size_t len, int64_t now_unix_ms);

/* The jitter: a uniform number in [0,1) from a caller-owned xorshift64*
 * state (never 0; seed it per thread), which it advances. */
double retry_random(uint64_t *state);

#endif
