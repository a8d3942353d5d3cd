/* progress.c — see progress.h. The rate is the whole run's average, so the
 * ETA does not jump around with each burst of completions. */
#include "output/progress.h"

#include <stdio.h>

void progress_line(char *dst, size_t cap, const struct summary *s, uint64_t done, uint64_t total,
		   bool total_known, double elapsed_s)
{
	double rate = elapsed_s > 0 ? (double)done / elapsed_s : 0;
	size_t n = 0;
	int w = snprintf(dst, cap, "rabulk: %llu/%llu%s rows  %.0f/s", (unsigned long long)done,
			 (unsigned long long)total, total_known ? "" : "+", rate);
	n = w > 0 && (size_t)w < cap ? (size_t)w : cap - 1;
	if (total_known && rate > 0 && total >= done) {
		long eta = (long)((double)(total - done) / rate + 0.5);
		w = snprintf(dst + n, cap - n, "  ETA %ld:%02ld", eta / 60, eta % 60);
		n += w > 0 && (size_t)w < cap - n ? (size_t)w : 0;
	}
	for (int i = 0; i < STATUS_COUNT && n + 1 < cap; i++) {
		if (!s->count[i])
			continue;
		w = snprintf(dst + n, cap - n, " %s %llu", item_status_name((enum item_status)i),
			     (unsigned long long)s->count[i]);
		n += w > 0 && (size_t)w < cap - n ? (size_t)w : 0;
	}
}
