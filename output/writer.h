/* writer.h — the one thread that turns finished items into report rows.
 *
 * Owns the report, the summary, the --halt-error-rate window and, with
 * --ordered, a reorder buffer. Journal rows (accepted, superseded later) go
 * at once to REPORT.journal.ndjson and are never counted. Not thread-safe:
 * one writer. */
#ifndef RABULK_WRITER_H
#define RABULK_WRITER_H

#include "engine/item.h"
#include "output/summary.h"
#include <stdbool.h>

#define WRITER_HALT 1 /* writer_put(): the failure share just crossed the limit */
#define WRITER_WINDOW 100

struct writer_opts {
	const char *path; /* report; "-" for stdout */
	bool append;	  /* --resume into the same file */
	bool ordered;	  /* rows in input order (item->seq from 0) */
	double halt;	  /* --halt-error-rate, > 1 = off */
	bool sessions;	  /* the report's "sessions" column (--service avd) */
};

struct writer;

/* Opens the report. Caller owns the result; NULL with err set. */
struct writer *writer_new(const struct writer_opts *o, char *err, size_t errlen);
/* Names extra columns (see report_set_extra_columns); before the first row. */
int writer_set_extra_columns(struct writer *w, const char *names);
/* Takes ownership of it. Returns 0, WRITER_HALT once when over --halt-
 * error-rate, or ERR_IO / ERR_NOMEM after which nothing more is written
 * (writer_errno() says why). */
int writer_put(struct writer *w, struct item *it);
/* Flushes, and fsyncs once a second. Returns 0 or ERR_IO. */
int writer_tick(struct writer *w, int64_t now_mono_ms);
/* Writes what --ordered still holds, closes the report. Returns 0 or ERR_IO. */
int writer_close(struct writer *w);
void writer_free(struct writer *w);

/* The journal's path for a report: REPORT.journal.ndjson. */
void writer_journal_path(const char *report, char *dst, size_t cap);

const struct summary *writer_summary(const struct writer *w);
/* Failures among the last WRITER_WINDOW rows sent. */
/* --ordered: rows put but held back behind a slower one. */
size_t writer_held(const struct writer *w);
int writer_window_failures(const struct writer *w);
/* errno of the first report error, 0 if none. */
int writer_errno(const struct writer *w);

#endif
