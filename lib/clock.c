/* clock.c — clock_gettime wrappers and the report's timestamp format. */
#include "lib/clock.h"

#include <stdio.h>
#include <time.h>

static int64_t read_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t clock_mono_ms(void)
{
	return read_ms(CLOCK_MONOTONIC);
}

int64_t clock_wall_ms(void)
{
	return read_ms(CLOCK_REALTIME);
}

void clock_iso8601(char *dst, size_t cap, int64_t unix_ms)
{
	struct tm tm;
	time_t secs = (time_t)(unix_ms / 1000);
	if (unix_ms <= 0 || !gmtime_r(&secs, &tm)) {
		if (cap)
			dst[0] = '\0';
		return;
	}
	snprintf(dst, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(unix_ms % 1000));
}
