/* metrics.h — a run's figures for Prometheus, through the node exporter's
 * textfile collector (--metrics-file). */
#ifndef RABULK_METRICS_H
#define RABULK_METRICS_H

#include "engine/engine.h"
#include "output/summary.h"

#include <stddef.h>
#include <stdint.h>

/* What one run did; every pointer borrowed for the call. */
struct metrics_run {
	const char *operation; /* the command: disconnect, logoff, message, drain */
	const char *service;   /* "remoteapp" */
	const char *shard;     /* "2/4", or "" for a run that is not sharded */
	const struct summary *summary;
	const struct engine_stats *stats;
	int64_t elapsed_ms; /* the run's duration */
	int exit_code;	    /* the process's */
	int64_t end_ms;	    /* when it ended, Unix ms */
	int64_t success_ms; /* the last run with exit code 0, Unix ms; 0: none known */
};

/* Formats m in the Prometheus text exposition format (version 0.0.4) into
 * buf, NUL-terminated. Returns the length, or ERR_TOOBIG when cap is short
 * (4 KiB is plenty). Pure; thread-safe. */
int metrics_format(char *buf, size_t cap, const struct metrics_run *m);

/* The rabulk_last_success_timestamp_seconds of text (a file metrics_format
 * wrote) for m's labels, in Unix ms; 0 when it has none. Pure. */
int64_t metrics_last_success(const char *text, const struct metrics_run *m);

/* Replaces path with len bytes of data atomically: a temporary file in the
 * same folder (not named *.prom, so the collector never reads it half
 * written), mode 0644 (the node exporter runs as another user), fsync,
 * rename over path, fsync of the folder. Nothing is left behind on failure.
 * Returns 0, or ERR_IO with errno set. Thread-safe. */
int metrics_write_atomic(const char *path, const char *data, size_t len);

/* --metrics-file: formats m (its success_ms is the end time when the exit
 * code is 0, else carried over from the file path holds) and writes it to
 * path with metrics_write_atomic(). Returns 0, or ERR_IO with a message for
 * the user in err. Not thread-safe (static buffers): once, at a run's end. */
int metrics_write(const char *path, const struct metrics_run *m, char *err, size_t errlen);

#endif
