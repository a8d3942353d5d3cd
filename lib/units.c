/* units.c — durations, rates and times as people write them (see units.h). */
#include "lib/units.h"
#include "lib/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int units_duration(const char *s, long *ms)
{
	char *end;
	double v = strtod(s, &end);
	double scale = 1000;
	if (end == s || v < 0)
		return ERR_INVAL;
	if (strcmp(end, "ms") == 0)
		scale = 1;
	else if (strcmp(end, "s") == 0 || *end == '\0')
		scale = 1000;
	else if (strcmp(end, "m") == 0)
		scale = 60000;
	else if (strcmp(end, "h") == 0)
		scale = 3600000;
	else
		return ERR_INVAL;
	if (v * scale > 1e12)
		return ERR_INVAL;
	*ms = (long)(v * scale);
	return 0;
}

int units_rate(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || !(v > 0) || v > 1e7)
		return ERR_INVAL;
	if (*end == '\0' || strcmp(end, "/s") == 0)
		*out = v;
	else if (strcmp(end, "/m") == 0)
		*out = v / 60;
	else if (strcmp(end, "/h") == 0)
		*out = v / 3600;
	else
		return ERR_INVAL;
	return 0;
}

int units_deadline(const char *s, int64_t now_ms, int64_t *out)
{
	struct tm tm;
	long ms;
	int hh, mm, ss = 0, n = 0, off_h, off_m;
	char sign;
	memset(&tm, 0, sizeof(tm));
	if (s[0] == '+' && units_duration(s + 1, &ms) == 0) {
		*out = now_ms + ms;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &hh, &mm,
		   &ss, &n) == 6) {
		tm.tm_year -= 1900, tm.tm_mon -= 1, tm.tm_hour = hh, tm.tm_min = mm, tm.tm_sec = ss;
		int64_t t = (int64_t)timegm(&tm) * 1000;
		if (strcmp(s + n, "Z") == 0) {
			*out = t;
			return 0;
		}
		if (sscanf(s + n, "%c%2d:%2d", &sign, &off_h, &off_m) == 3 &&
		    (sign == '+' || sign == '-')) {
			int64_t off = ((int64_t)off_h * 60 + off_m) * 60000;
			*out = sign == '+' ? t - off : t + off;
			return 0;
		}
		return ERR_INVAL;
	}
	if ((sscanf(s, "%2d:%2d:%2d%n", &hh, &mm, &ss, &n) == 3 ||
	     sscanf(s, "%2d:%2d%n", &hh, &mm, &n) == 2) &&
	    !s[n] && hh < 24 && mm < 60 && ss < 60) {
		time_t now = (time_t)(now_ms / 1000);
		localtime_r(&now, &tm);
		tm.tm_hour = hh, tm.tm_min = mm, tm.tm_sec = ss, tm.tm_isdst = -1;
		*out = (int64_t)mktime(&tm) * 1000;
		return 0;
	}
	return ERR_INVAL;
}
