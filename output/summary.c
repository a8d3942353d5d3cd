/* summary.c — status counts and a log-linear latency histogram.
 *
 * Values below 64 ms get a bucket each; above, each power of two is split
 * into 32 equal buckets, so a percentile is exact to about 3% at any scale
 * (the idea of HdrHistogram, in a few lines). */
#include "output/summary.h"

#include <string.h>

static int bucket_of(int64_t v)
{
	if (v < 64)
		return v < 0 ? 0 : (int)v;
	int msb = 63 - __builtin_clzll((unsigned long long)v);
	int idx = 64 + (msb - 6) * 32 + (int)((v >> (msb - 5)) & 31);
	return idx < SUMMARY_BUCKETS ? idx : SUMMARY_BUCKETS - 1;
}

static int64_t bucket_floor(int idx)
{
	if (idx < 64)
		return idx;
	int msb = (idx - 64) / 32 + 6, sub = (idx - 64) % 32;
	return (int64_t)(32 + sub) << (msb - 5);
}

void summary_init(struct summary *s)
{
	memset(s, 0, sizeof(*s));
}

void summary_add(struct summary *s, const struct item *it)
{
	s->count[it->status]++;
	s->rows++;
	if (it->started_ms && it->finished_ms) {
		int64_t ms = it->finished_ms - it->started_ms;
		s->buckets[bucket_of(ms)]++;
		s->timed++;
		s->sum_ms += ms > 0 ? (uint64_t)ms : 0;
		if (ms > s->max_ms)
			s->max_ms = ms;
	}
}

int64_t summary_percentile(const struct summary *s, double q)
{
	uint64_t want = (uint64_t)(q * (double)s->timed), seen = 0;
	if (!s->timed)
		return 0;
	for (int i = 0; i < SUMMARY_BUCKETS; i++) {
		seen += s->buckets[i];
		if (seen > want || seen == s->timed)
			return bucket_floor(i);
	}
	return s->max_ms;
}

uint64_t summary_class(const struct summary *s, enum item_class c)
{
	uint64_t n = 0;
	for (int i = 0; i < STATUS_COUNT; i++)
		if (item_status_class((enum item_status)i) == c)
			n += s->count[i];
	return n;
}
