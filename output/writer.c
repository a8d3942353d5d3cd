/* writer.c — report rows from finished items, in completion or input order.
 *
 * --ordered keeps a min-heap of items by input sequence number and writes
 * the run of consecutive numbers starting at the next expected one; the
 * heap only holds what arrived ahead of a slower row (bounded by what the
 * engine holds at once, plus rows that skip the engine — invalid, duplicate,
 * skipped — queued behind it).
 *
 * Journal rows (status accepted, written when a 202 arrives) go to a side
 * file, REPORT.journal.ndjson, so that the report itself keeps exactly one
 * row per input row. After a crash --resume reads both and polls what the
 * journal says was accepted; a run that closes its report removes the
 * journal, since every row then has its final row in the report.
 *
 * Report rows are written in batches (see writer_new); journal rows one by
 * one. */
#include "output/writer.h"
#include "lib/err.h"
#include "lib/heap.h"
#include "output/report.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct writer {
	struct writer_opts o;
	struct report *report;
	struct report *journal; /* opened with the first journal row */
	char journal_path[4096];
	struct summary sum;
	bool window[WRITER_WINDOW]; /* the last rows sent: failed or not */
	int wfill, wpos, wfailed;
	bool halted;
	int rc, err_no;	  /* the report's */
	int jrc;	  /* the journal's: stops the run, but rows still reach the report */
	struct heap held; /* --ordered: items by input sequence */
	uint64_t next_seq;
};

struct writer *writer_new(const struct writer_opts *o, char *err, size_t errlen)
{
	struct writer *w = calloc(1, sizeof(*w));
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	w->o = *o;
	summary_init(&w->sum);
	writer_journal_path(o->path, w->journal_path, sizeof(w->journal_path));
	if (!(w->report = report_open(o->path, o->append, err, errlen))) {
		free(w);
		return NULL;
	}
	if (o->sessions)
		report_with_sessions(w->report);
	/* Report rows reach the kernel in blocks and at every writer_tick()
	 * (each turn of the writer loop): one write per batch instead of one
	 * per row. A kill -9 loses only rows of the current turn, whose pairs a
	 * resume sends again (at least once). The journal stays row-buffered:
	 * an accepted operation must be on disk before anyone could resume. */
	return w;
}

int writer_set_extra_columns(struct writer *w, const char *names)
{
	return report_set_extra_columns(w->report, names);
}

static bool over_limit(struct writer *w, const struct item *it)
{
	if (it->attempts == 0 || w->o.halt > 1)
		return false;
	bool failed = it->status == STATUS_FAILED;
	if (w->wfill == WRITER_WINDOW)
		w->wfailed -= w->window[w->wpos];
	else
		w->wfill++;
	w->window[w->wpos] = failed;
	w->wfailed += failed;
	w->wpos = (w->wpos + 1) % WRITER_WINDOW;
	return w->wfill == WRITER_WINDOW && (double)w->wfailed / WRITER_WINDOW > w->o.halt;
}

/* Writes one row (unless the report already failed) and frees it. */
static void write_row(struct writer *w, struct item *it)
{
	if (w->rc == 0 && report_write(w->report, it) < 0) {
		w->err_no = errno ? errno : EIO;
		w->rc = ERR_IO;
	}
	item_free(it);
}

/* --ordered: holds it until every row before it is written. */
static int in_order(struct writer *w, struct item *it)
{
	if (heap_push(&w->held, (int64_t)it->seq, it) < 0) {
		item_free(it);
		return w->rc = ERR_NOMEM;
	}
	while (w->held.len && heap_top(&w->held) <= (int64_t)w->next_seq) {
		write_row(w, heap_pop(&w->held));
		w->next_seq++;
	}
	return w->rc;
}

void writer_journal_path(const char *report, char *dst, size_t cap)
{
	snprintf(dst, cap, "%s.journal.ndjson", report);
}

/* A journal row: to the side file, so the report keeps one row per input
 * row. Without a file to resume from (stdout), there is nothing to do. */
static void journal_row(struct writer *w, struct item *it)
{
	char err[256];
	if (strcmp(w->o.path, "-") != 0 && w->jrc == 0 && !w->journal) {
		if ((w->journal = report_open(w->journal_path, true, err, sizeof(err))))
			report_row_buffered(w->journal);
		else
			w->err_no = errno ? errno : EIO, w->jrc = ERR_IO;
	}
	if (w->journal && w->jrc == 0 && report_write(w->journal, it) < 0)
		w->err_no = errno ? errno : EIO, w->jrc = ERR_IO;
	item_free(it);
}

int writer_put(struct writer *w, struct item *it)
{
	if (it->journal) {
		journal_row(w, it);
		return w->rc ? w->rc : w->jrc;
	}
	bool halt = over_limit(w, it) && !w->halted;
	w->halted |= halt;
	summary_add(&w->sum, it);
	if (w->o.ordered)
		in_order(w, it);
	else
		write_row(w, it);
	return w->rc ? w->rc : w->jrc ? w->jrc : halt ? WRITER_HALT : 0;
}

int writer_tick(struct writer *w, int64_t now)
{
	if (w->rc == 0 && report_tick(w->report, now) < 0)
		w->err_no = errno, w->rc = ERR_IO;
	if (w->jrc == 0 && w->journal && report_tick(w->journal, now) < 0)
		w->err_no = errno, w->jrc = ERR_IO;
	return w->rc ? w->rc : w->jrc;
}

int writer_close(struct writer *w)
{
	while (w->held.len) /* rows whose predecessors never came (a stop) */
		write_row(w, heap_pop(&w->held));
	int rc = report_close(w->report);
	w->report = NULL;
	if (rc < 0 && w->rc == 0)
		w->err_no = errno, w->rc = ERR_IO;
	/* Every row now has its final row in the report: the journal has served. */
	report_close(w->journal);
	w->journal = NULL;
	if (w->rc == 0)
		unlink(w->journal_path);
	return w->rc ? w->rc : w->jrc;
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	while (w->held.len)
		item_free(heap_pop(&w->held));
	report_close(w->report);
	report_close(w->journal);
	heap_release(&w->held);
	free(w);
}

const struct summary *writer_summary(const struct writer *w)
{
	return &w->sum;
}

size_t writer_held(const struct writer *w)
{
	return w->held.len;
}

int writer_window_failures(const struct writer *w)
{
	return w->wfailed;
}

int writer_errno(const struct writer *w)
{
	return w->err_no;
}
