/* retry.c — exponential backoff with full jitter (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"): the wait is uniform between zero and
 * the exponential ceiling, which spreads a thundering herd of retries out
 * instead of synchronising it. A server's Retry-After is a floor, never
 * shortened by jitter. Every request rabulk makes goes by this one policy:
 * the engine's rows (worker.c) and the few GETs of `rabulk sessions`,
 * `result` and drain's listings (cli/fetch.c). */
#define _XOPEN_SOURCE 700 /* strptime */
#include "engine/retry.h"
#include "engine/api.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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

static long parse_uint(const char *s)
{
	char *end;
	if (!isdigit((unsigned char)*s))
		return -1;
	long v = strtol(s, &end, 10);
	while (isspace((unsigned char)*end))
		end++;
	return *end ? -1 : v;
}

long retry_after_parse(const char *name, const char *value, int64_t now_unix_ms)
{
	long v = parse_uint(value);
	if (strcasecmp(name, "retry-after-ms") == 0 || strcasecmp(name, "x-ms-retry-after-ms") == 0)
		return v;
	if (strcasecmp(name, "retry-after") != 0)
		return -1;
	if (v >= 0)
		return v * 1000;
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(value, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (!end || *end)
		return -1;
	int64_t at = (int64_t)timegm(&tm) * 1000;
	return at > now_unix_ms ? (long)(at - now_unix_ms) : 0;
}

void retry_after_init(struct retry_after *ra)
{
	ra->ms = -1, ra->precise = false;
}

void retry_after_header(struct retry_after *ra, const char *line, size_t len, int64_t now_unix_ms)
{
	static const char *const ms_names[] = {"retry-after-ms", "x-ms-retry-after-ms"};
	char v[64];
	long ms;
	for (size_t i = 0; i < sizeof(ms_names) / sizeof(ms_names[0]); i++)
		if (api_header_value(line, len, ms_names[i], v, sizeof(v)) &&
		    (ms = retry_after_parse(ms_names[i], v, 0)) >= 0)
			ra->ms = ms, ra->precise = true;
	if (!ra->precise && api_header_value(line, len, "retry-after", v, sizeof(v)))
		ra->ms = retry_after_parse("retry-after", v, now_unix_ms);
	if (ra->ms > RETRY_AFTER_MAX_MS) /* a broken server must not park a request for days */
		ra->ms = RETRY_AFTER_MAX_MS;
}

double retry_random(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
	*state = x;
	return (double)((x * 0x2545F4914F6CDD1DULL) >> 11) / 9007199254740992.0;
}
