/* report.h — the CSV report: one row per input row, as rows complete.
 *
 * Written by one thread (the caller's). Rows are flushed to the kernel as
 * they are written and the file is fsynced at least every second
 * (report_tick) and at close. Not thread-safe: one writer. */
#ifndef RABULK_REPORT_H
#define RABULK_REPORT_H

#include "engine/item.h"
#include <stdio.h>

#define REPORT_HEADER                                                                              \
	"line,collection,upn,operation,status,http_status,error_code,error_message,attempts,"      \
	"tracking_id,request_id,started_at,finished_at,latency_ms"

struct report;

enum report_format { REPORT_CSV, REPORT_JSON, REPORT_NDJSON };

/* By extension: .json, .ndjson, anything else CSV. */
enum report_format report_format_of(const char *path);

/* Creates path (mode 0600; "-" is standard output, CSV) and fsyncs its
 * folder; with append, keeps what is there (cutting a torn last line) and
 * adds to it. The header is written with the first row (or at close), so
 * that extra columns can join it. Caller owns the result; NULL with err
 * set ("cannot create 'x': ..."). */
struct report *report_open(const char *path, bool append, char *err, size_t errlen);
/* Hands each row to the kernel as it is written (call before the first):
 * a kill -9 then loses at most the row being written, never a buffer of
 * finished ones (the journal). Without it rows are written in blocks and
 * at each report_tick(). */
void report_row_buffered(struct report *r);
/* Names extra columns (INPUT_EXTRA_SEP-joined, copied) to follow the
 * standard ones; only before the first row. Returns 0 or ERR_NOMEM. */
int report_set_extra_columns(struct report *r, const char *names);
/* Adds the column "sessions" after the standard ones (before extra
 * columns): the sessions a row acted on, "sessionhost/id;..." (--service
 * avd). Only before the first row. */
void report_with_sessions(struct report *r);
/* Appends one row. Returns 0 or ERR_IO (errno says why). */
int report_write(struct report *r, const struct item *it);
/* Flushes, and fsyncs when a second has passed since the last fsync. */
int report_tick(struct report *r, int64_t now_mono_ms);
/* Flushes, fsyncs and closes. Returns 0 or ERR_IO. report_close(NULL) is 0. */
int report_close(struct report *r);

/* Appends one CSV cell at dst + *n, then ',' or (last) '\n', leaving room
 * for a NUL after it; quoted when it holds , " CR LF or edge spaces; with
 * guard, a leading = + - @ tab CR gets an apostrophe; control characters
 * (C0, DEL) are written as JSON escapes them (\n, \u001b), never raw.
 * Returns 0 or ERR_TOOBIG (nothing written). Thread-safe. */
int report_csv_cell(char *dst, size_t cap, size_t *n, const char *s, bool guard, bool last);
/* Writes cells[0..ncells) to f as one CSV row (report_csv_cell's quoting and,
 * with guard, its formula guard on every cell). Returns 0, or ERR_TOOBIG
 * when the row is over 8 KiB (then nothing is written). */
int report_csv_write(FILE *f, const char *const *cells, int ncells, bool guard);

/* Formats one CSV row (with "\n") into dst; returns its length or ERR_TOOBIG.
 * Free-text cells that a spreadsheet would run as a formula get a leading
 * quote; identity cells are verbatim. Thread-safe. */
int report_format_csv(char *dst, size_t cap, const struct item *it);
/* The same, with the sessions cell after the standard ones when sessions is set. */
int report_format_csv_with(char *dst, size_t cap, const struct item *it, bool sessions);

#endif
