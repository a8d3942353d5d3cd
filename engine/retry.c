/* retry.c — exponential backoff with full jitter (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"): the wait is uniform between zero and
 * the exponential ceiling, which spreads a thundering herd of retries out
 * instead of synchronising it. A server's Retry-After is a floor, never
 * shortened by jitter. */
#define _XOPEN_SOURCE 700 /* strptime */
#include "engine/retry.h"

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
