/* progress.h — the one-line progress display on a terminal.
 *
 *   rabulk: 4,200/10,000 rows  812/s  ETA 0:07  succeeded 4180 failed 20
 *
 * Pure formatting; run.c decides when (every 250 ms, only on a terminal,
 * never with --quiet) and where. */
#ifndef RABULK_PROGRESS_H
#define RABULK_PROGRESS_H

#include "output/summary.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* done rows of total (total_known false while the input is still being
 * read: total is then what has been read so far) in elapsed seconds; the
 * counts per status come from s. */
void progress_line(char *dst, size_t cap, const struct summary *s, uint64_t done, uint64_t total,
		   bool total_known, double elapsed_s);

/* The rows the input files hold, for the ETA: their lines, less a first
 * line without '@' (a header), counted with pread so no reader's position
 * moves; 0 when one is not a regular file. */
uint64_t progress_estimate_rows(FILE **files, int n);

#endif
