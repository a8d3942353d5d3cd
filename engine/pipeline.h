/* pipeline.h — one run's flow: rows from a source, through the engine's
 * workers, to a sink, in passes.
 *
 *   source (reader thread) ──rows──▶ in queue ──▶ workers ──▶ out queue ──▶ sink (caller's thread)
 *
 * A source is a callback that hands rows over with pipeline_row(): the
 * input files, rows built in memory (drain), or anything else; rows decided
 * before sending (invalid, duplicate, skipped, planned) go straight to the
 * sink. Every row handed over reaches the sink exactly once, whatever stops
 * the run: what the engine never took, or left unfinished, ends by
 * item_left_over()'s rule. The sink is the caller's (the report writer):
 * the pipeline knows only its three functions, so data flows one way.
 *
 * Stops: a signal counter the caller's handler increments (1: stop taking
 * rows and finish what is in flight; 2: abandon that too), --deadline, a
 * sink that says halt, a source that fails, or pipeline_stop(). Once
 * stopped, later passes send nothing (their rows still reach the sink).
 * The reader is always joined before a pass returns: one waiting on a
 * silent input is woken through pipeline_wake_fd(). */
#ifndef RABULK_PIPELINE_H
#define RABULK_PIPELINE_H

#include "engine/engine.h"
#include "engine/item.h"
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define PIPELINE_HALT 1 /* a sink's put(): too many rows failed, stop the run */

/* Where finished rows go: the caller's, borrowed until pipeline_free(). */
struct pipeline_sink {
	/* Takes an item (and its ownership): 0, PIPELINE_HALT, or a negative
	 * error (the run stops at once). */
	int (*put)(void *arg, struct item *it);
	/* Each turn of the writer loop: flush what is due; 0 or a negative error. */
	int (*tick)(void *arg, int64_t now_ms);
	/* Rows put so far, not counting rows held back (--ordered). */
	uint64_t (*written)(void *arg);
	void *arg;
};

/* What a run tells the user; all may be NULL. Called from the caller's thread. */
struct pipeline_events {
	/* The run stopped (why), or abandons what is in flight (abandon). */
	void (*stopping)(void *arg, enum stop_reason why, bool abandon);
	/* Each turn of the writer loop (rows handed over this pass, whether
	 * the source has finished, ms since the pass began); and end = true
	 * once when the pass is over. */
	void (*progress)(void *arg, uint64_t rows_read, bool source_done, int64_t pass_ms,
			 bool end);
	void *arg;
};

struct pipeline_opts {
	bool no_send;		   /* --dry-run: no worker starts (rows come planned) */
	bool ordered;		   /* the sink keeps input order: bound what it holds */
	int64_t deadline_ms;	   /* wall clock: start nothing after it; 0: none */
	const atomic_int *signals; /* signals seen (the caller's handler counts), or NULL */
	struct pipeline_events events;
};

/* A row as a source hands it over; strings borrowed for the call. */
struct pipeline_row {
	long line;
	const char *collection, *upn;
	const char *extra; /* --keep-columns cells, or NULL */
	/* STATUS_COUNT: to be sent. Any other: decided already (invalid,
	 * duplicate, skipped, planned), with code and message (may be NULL). */
	enum item_status status;
	const char *code, *message;
	const char *op_id; /* to be polled, not sent (a resumed accepted row), or NULL */
};

struct pipeline;

/* Reads rows and hands each to pipeline_row(p, ...); returns 0 or a
 * negative error (the run then stops: nothing more is sent). Runs on the
 * pipeline's reader thread. */
typedef int (*pipeline_source_fn)(void *arg, struct pipeline *p);

/* Caller owns the result; NULL when out of memory. The job, sink and opts
 * are borrowed until pipeline_free(). */
struct pipeline *pipeline_new(const struct engine_job *job, const struct pipeline_sink *sink,
			      const struct pipeline_opts *o);
void pipeline_free(struct pipeline *p);

/* One pass: op (message: its text) for every row source hands over.
 * Returns why the run stopped (STOP_NONE: it did not). err gets a reason
 * when the pass could not start (STOP_INTERNAL). */
enum stop_reason pipeline_pass(struct pipeline *p, enum service_op op, const char *message,
			       pipeline_source_fn source, void *arg, char *err, size_t errlen);

/* From a source: hands one row over. 0, ERR_NOMEM, or ERR_CLOSED when the
 * pipeline reads no more (the source should return). May wait: --ordered
 * bounds the rows held behind a slow one. */
int pipeline_row(struct pipeline *p, const struct pipeline_row *row);
/* For a source that waits on its input: readable once the pass stops. */
int pipeline_wake_fd(const struct pipeline *p);

/* Marks the run stopped (before or between passes: a signal during drain's wait). */
void pipeline_stop(struct pipeline *p, enum stop_reason why);
/* Why the run stopped, STOP_NONE when it has not. */
enum stop_reason pipeline_stopped(const struct pipeline *p);
/* The engine's figures, summed over the passes so far. */
void pipeline_stats(const struct pipeline *p, struct engine_stats *out);

#endif
