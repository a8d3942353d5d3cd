/* progress.c — see progress.h. The rate is the whole run's average, so the
 * ETA does not jump around with each burst of completions. */
#include "output/progress.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Lines in a regular file, not counting a first line without '@' (a
 * header), read with pread so the reader's position is untouched; -1 when
 * the input is not a regular file. Only runs when a progress line is
 * shown: it makes the ETA an estimate of the right size (quoted newlines
 * and JSON arrays aside) at the cost of one quick pass over the file. */
static long long count_lines(FILE *f)
{
	struct stat st;
	static char buf[1 << 20];
	long long lines = 0;
	off_t off = 0;
	ssize_t n;
	bool header = false;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
		return -1;
	while ((n = pread(fileno(f), buf, sizeof(buf), off)) > 0) {
		if (off == 0) {
			char *nl = memchr(buf, '\n', (size_t)n);
			header = !memchr(buf, '@', nl ? (size_t)(nl - buf) : (size_t)n);
		}
		for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + n - p))); p++)
			lines++;
		if (buf[n - 1] != '\n' && off + n == st.st_size)
			lines++;
		off += n;
	}
	return lines - (header && lines > 0);
}

uint64_t progress_estimate_rows(FILE **files, int n)
{
	long long total = 0;
	for (int i = 0; i < n; i++) {
		long long lines = count_lines(files[i]);
		if (lines < 0)
			return 0;
		total += lines;
	}
	return (uint64_t)total;
}
