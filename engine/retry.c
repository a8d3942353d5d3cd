/* retry.c — exponential backoff with full jitter (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"): the wait is uniform between zero and
 * the exponential ceiling, which spreads a thundering herd of retries out
 * instead of synchronising it. A server's Retry-After is a floor, never
 * shortened by jitter. Every request rabulk makes goes by this one policy:
 * the engine's rows (worker.c) and the few GETs of `rabulk sessions`,
 * `result` and drain's listings (cli/fetch.c).
 *
 * But a floor only up to a point: a server that answers `Retry-After:
 * 99999999`, a date in 2100 or an int64-max retry-after-ms would otherwise
 * hold the row, and through the shared pause every row, for years. Parsing
 * saturates (RETRY_AFTER_MAX_MS), and retry_wait_limit() says how long a
 * request may wait at all: what --retry-max-time leaves it, or 10 minutes.
 * A longer wait is refused: the row fails as Throttled with the wait in its
 * message, the way a person would give up on a service that says "come
 * back in three years", and the pause is not raised for it. */
#define _XOPEN_SOURCE 700 /* strptime */
#include "engine/retry.h"
#include "service/service.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

_Static_assert(RETRY_AFTER_MAX_MS <= LONG_MAX / 4, "waits in ms must fit a long with room to add");

long retry_delay_ms(const struct retry_policy *p, int attempts, double rnd, long retry_after_ms)
{
	long ceiling = p->base_ms;
	for (int i = 1; i < attempts && ceiling < p->cap_ms; i++)
		ceiling *= 2;
	if (ceiling > p->cap_ms)
		ceiling = p->cap_ms;
	long d = (long)(rnd * (double)ceiling);
	return d < retry_after_ms ? retry_after_ms : d;
}

bool retry_allowed(const struct retry_policy *p, int attempts, int64_t first_ms, int64_t now_ms,
		   long delay_ms)
{
	if (attempts > p->retries)
		return false;
	return p->max_time_ms <= 0 || now_ms + delay_ms - first_ms <= p->max_time_ms;
}

long retry_wait_limit(const struct retry_policy *p, int64_t first_ms, int64_t now_ms)
{
	if (p->max_time_ms <= 0)
		return RETRY_WAIT_MAX_MS;
	int64_t left = p->max_time_ms - (now_ms - first_ms);
	return left > 0 ? (long)left : 0;
}

/* n units and the rest in sub-units, "27 h 47 min", or "2 h" when none. */
static void two_units(char *dst, size_t cap, long ms, long unit, const char *name, long sub,
		      const char *sub_name)
{
	long n = (ms + sub / 2) / sub, per = unit / sub;
	if (n % per)
		snprintf(dst, cap, "%ld %s %ld %s", n / per, name, n % per, sub_name);
	else
		snprintf(dst, cap, "%ld %s", n / per, name);
}

void retry_wait_text(char *dst, size_t cap, long ms)
{
	const long s = 1000, min = 60 * s, h = 60 * min, day = 24 * h;
	if (ms >= RETRY_AFTER_MAX_MS)
		snprintf(dst, cap, "at least %ld days", RETRY_AFTER_MAX_MS / day);
	else if (ms < s)
		snprintf(dst, cap, "%ld ms", ms);
	else if (ms < 2 * min)
		snprintf(dst, cap, "%ld s", (ms + s / 2) / s);
	else if (ms < 2 * h)
		two_units(dst, cap, ms, min, "min", s, "s");
	else if (ms < 2 * day)
		two_units(dst, cap, ms, h, "h", min, "min");
	else
		snprintf(dst, cap, "%ld days", (ms + day / 2) / day);
}

void retry_refusal(char *dst, size_t cap, const struct retry_policy *p, long wait_ms, long limit_ms,
		   const char *header)
{
	char wait[32], limit[32];
	retry_wait_text(wait, sizeof(wait), wait_ms);
	retry_wait_text(limit, sizeof(limit), limit_ms);
	if (p->max_time_ms > 0)
		snprintf(dst, cap,
			 "the service asked to wait %s (%s), more than the %s --retry-max-time "
			 "leaves this row",
			 wait, header, limit);
	else
		snprintf(dst, cap,
			 "the service asked to wait %s (%s), more than the %s a row may wait "
			 "without --retry-max-time",
			 wait, header, limit);
}

/* Digits, then nothing but white space: the number, saturated at max (a
 * server may send any number of digits); -1 for anything else. */
static long parse_uint(const char *s, long max)
{
	long v = 0;
	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		int d = *s - '0';
		v = v > (max - d) / 10 ? max : v * 10 + d;
	}
	while (isspace((unsigned char)*s))
		s++;
	return *s ? -1 : v;
}

long retry_after_parse(const char *name, const char *value, int64_t now_unix_ms)
{
	if (strcasecmp(name, "retry-after-ms") == 0 || strcasecmp(name, "x-ms-retry-after-ms") == 0)
		return parse_uint(value, RETRY_AFTER_MAX_MS);
	if (strcasecmp(name, "retry-after") != 0)
		return -1;
	long v = parse_uint(value, RETRY_AFTER_MAX_MS / 1000);
	if (v >= 0)
		return v * 1000;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	int64_t at_s = (int64_t)timegm(&tm);
	if (at_s - now_unix_ms / 1000 > RETRY_AFTER_MAX_MS / 1000)
		return RETRY_AFTER_MAX_MS;
	int64_t at = at_s * 1000;
	return at > now_unix_ms ? (long)(at - now_unix_ms) : 0;
}

void retry_after_init(struct retry_after *ra)
{
	ra->ms = -1, ra->precise = false, ra->header = NULL;
}

void retry_after_header(struct retry_after *ra, const char *line, size_t len, int64_t now_unix_ms)
{
	static const char *const ms_names[] = {"retry-after-ms", "x-ms-retry-after-ms"};
	char v[64];
	long ms;
	for (size_t i = 0; i < sizeof(ms_names) / sizeof(ms_names[0]); i++)
		if (service_header_value(line, len, ms_names[i], v, sizeof(v)) &&
		    (ms = retry_after_parse(ms_names[i], v, 0)) >= 0)
			ra->ms = ms, ra->precise = true, ra->header = ms_names[i];
	if (!ra->precise && service_header_value(line, len, "retry-after", v, sizeof(v))) {
		ra->ms = retry_after_parse("retry-after", v, now_unix_ms);
		ra->header = "Retry-After";
	}
}

uint64_t retry_random_u64(uint64_t *state)
{
	uint64_t x = *state; /* xorshift64* */
	x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
	*state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

double retry_random(uint64_t *state)
{
	return (double)(retry_random_u64(state) >> 11) / 9007199254740992.0;
}
