/* summary.h — counts per status and latency percentiles for the run.
 *
 * Fed by the report writer, one item at a time; printed at the end. The
 * latency histogram is log-linear (32 sub-buckets per power of two, ~3%
 * resolution) so memory is fixed however many rows there are. Not
 * thread-safe: one writer. */
#ifndef RABULK_SUMMARY_H
#define RABULK_SUMMARY_H

#include "engine/item.h"
#include <stdio.h>

#define SUMMARY_BUCKETS 1280

struct summary {
	uint64_t count[STATUS_COUNT];
	uint64_t rows, timed;
	uint64_t buckets[SUMMARY_BUCKETS];
	int64_t max_ms;
	uint64_t sum_ms; /* of the timed rows' latencies (Prometheus' _sum) */
};

void summary_init(struct summary *s);
void summary_add(struct summary *s, const struct item *it);
/* The latency (ms, bucket lower bound) below which fraction q of timed rows
 * fall; 0 when none. */
int64_t summary_percentile(const struct summary *s, double q);
/* Rows with status class c. */
uint64_t summary_class(const struct summary *s, enum item_class c);

#endif
