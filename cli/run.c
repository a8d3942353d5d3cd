/* run.c — wires one run together and decides its exit code.
 *
 *   reader thread ──items──▶ in queue ──▶ engine workers ──▶ out queue ──▶ this thread: report
 *
 * The reader turns input rows into items: invalid rows go straight to the
 * out queue, valid ones to the engine. This thread is the only writer of the
 * report. Every item ends on the out queue exactly once, whatever stops the
 * run: rows the engine never took are drained from the in queue as
 * not_attempted, and once the in queue is closed the reader sends the rest
 * of its file to the report the same way.
 *
 * Signals: the first SIGINT/SIGTERM stops taking rows and lets in-flight
 * requests finish (bounded by --timeout); a second one abandons them too
 * (their rows end not_attempted, still one row each); a third one ends the
 * process. The first also gives up a --token-command under way (token.c
 * asks run_signalled() while it runs): before the first token, the run
 * sends nothing and reports every row not_attempted; during a refresh, the
 * rows waiting for it end as at any stop. */
#include "cli/run.h"
#include "cli/setup.h"
#include "emulator/emu.h"
#include "lib/clock.h"
#include "engine/engine.h"
#include "lib/err.h"
#include "engine/item.h"
#include "input/dedup.h"
#include "lib/pairkey.h"
#include "output/metrics.h"
#include "output/progress.h"
#include "output/resume.h"
#include "output/summary.h"
#include "output/writer.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OUT_QUEUE 4096
#define PUMP_BATCH 4096	     /* rows written per turn of the writer loop, at most */
#define READER_GRACE_MS 2000 /* after a stop, how long the reader may read on */
#define ORDER_WINDOW 16384   /* --ordered: rows read and not yet written, at most */

/* Atomic, not volatile sig_atomic_t: workers read it too, through
 * run_signalled() while a --token-command runs. Lock-free, so the handler
 * may use it. */
static atomic_int signals_seen;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "signals_seen must be lock-free");

static void on_signal(int sig)
{
	if (atomic_fetch_add(&signals_seen, 1) > 1) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
}

struct sink {
	struct writer *w;
	bool extras_set;
};

/* One run: options, credentials, the report; and the pass under way. */
struct ctx {
	const struct options *o;
	struct options opts; /* o points here; a pass may change op and text */
	struct setup set;
	struct sink sink;
	struct resume *resume;	      /* --resume */
	uint64_t seq;		      /* rows read so far, for --ordered */
	atomic_ullong rows_read;      /* the same, for the progress line */
	uint64_t rows_expected;	      /* lines in the input files; 0: unknown */
	bool progress;		      /* a progress line on stderr */
	int64_t progress_at;	      /* when it was last drawn (monotonic ms) */
	int64_t pass_t0;	      /* when the current pass began */
	uint64_t rows_before;	      /* report rows written by earlier passes */
	_Atomic(char *) extra_header; /* --keep-columns: the first CSV header's other names */
	enum stop_reason stopped;     /* the first pass that stopped early */
	struct engine_stats stats;    /* summed over passes */
	int input_rc;
	char input_err[512];
	char report_path[256];
	int64_t t0;

	/* the current pass */
	FILE **files;
	const char **names;
	int nfiles;
	struct queue *in, *out;
	struct engine *engine;
	struct dedup *dedup; /* NULL with --no-dedup */
	atomic_bool reader_done;
	atomic_bool abandon; /* the reader must stop at its next row */
	int wake[2];	     /* written when the run stops: wakes a reader on a silent input */
	const char *reading; /* the input file the reader is in */
	/* --ordered: the reader waits while `window` rows are read and unwritten */
	pthread_mutex_t order_lock;
	pthread_cond_t order_cond;
	uint64_t window, unwritten;
	uint64_t flushed;	/* rows of this pass written (not held) */
	unsigned invalid_named; /* invalid rows named on stderr, all passes */
};

/* ---- the reader thread ----------------------------------------------- */

#define INVALID_NAMED_MAX 10

/* The first invalid rows are named on stderr as well, with their file (the
 * report has the line and the reason but not the file); the rest are
 * counted in the summary. Not with --quiet. */
static void name_invalid(struct ctx *c, const struct row *row)
{
	if (c->o->quiet || c->invalid_named >= INVALID_NAMED_MAX)
		return;
	fprintf(stderr, "rabulk: '%s': line %ld: %s (reported invalid)\n", c->reading, row->line,
		row->reason);
	if (++c->invalid_named == INVALID_NAMED_MAX)
		fprintf(stderr, "rabulk: more invalid rows are named in the report only\n");
}

/* --shard K/N: the pair's stable hash (pairkey_hash) picks its shard, so every
 * row, valid or not, belongs to exactly one of N runs over the same list. */
static bool other_shard(const struct options *o, const struct row *row)
{
	return o->shard_n > 1 && pairkey_hash(row->collection, row->upn) % (uint64_t)o->shard_n !=
				     (uint64_t)(o->shard_k - 1);
}

/* --ordered holds rows that finish ahead of a slower one: the reader waits
 * while the window is full, so memory never grows with the input. */
static void wait_for_window(struct ctx *c)
{
	pthread_mutex_lock(&c->order_lock);
	while (c->unwritten >= c->window && !atomic_load(&c->abandon))
		pthread_cond_wait(&c->order_cond, &c->order_lock);
	c->unwritten++;
	pthread_mutex_unlock(&c->order_lock);
}

static void rows_written(struct ctx *c, uint64_t n)
{
	pthread_mutex_lock(&c->order_lock);
	c->unwritten = n > c->unwritten ? 0 : c->unwritten - n;
	pthread_cond_signal(&c->order_cond);
	pthread_mutex_unlock(&c->order_lock);
}

static int on_row(void *arg, const struct row *row)
{
	struct ctx *c = arg;
	if (atomic_load(&c->abandon))
		return ERR_CLOSED;
	if (other_shard(c->o, row))
		return 0;
	if (c->o->ordered)
		wait_for_window(c);
	struct item *it = item_new(row->line, c->set.job.op, row->collection, row->upn, row->extra);
	if (!it)
		return ERR_NOMEM;
	if (row->extra_header && !atomic_load(&c->extra_header)) {
		char *copy = strdup(row->extra_header);
		if (!copy) {
			item_free(it);
			return ERR_NOMEM;
		}
		atomic_store(&c->extra_header, copy);
	}
	int seen = c->dedup && !row->reason ? dedup_check(c->dedup, row->collection, row->upn) : 0;
	if (seen < 0) {
		item_free(it);
		return seen;
	}
	const char *tracking = NULL;
	enum resume_state was =
	    c->resume && !row->reason && !seen
		? resume_lookup(c->resume, row->collection, row->upn, c->set.job.op, &tracking)
		: RESUME_NEW;
	it->seq = c->seq++;
	atomic_fetch_add(&c->rows_read, 1);
	if (row->reason) {
		name_invalid(c, row);
		item_set_error(it, STATUS_INVALID, "InvalidInput", row->reason);
	} else if (seen) {
		item_set_error(it, STATUS_DUPLICATE, NULL,
			       "same collection and UPN as an earlier row");
	} else if (was == RESUME_OK) {
		item_set_error(it, STATUS_SKIPPED, NULL, "already done in the resumed report");
	} else if (c->o->dry_run) {
		it->status = STATUS_PLANNED;
	} else {
		if (c->set.seed_from_input &&
		    emu_add_session(c->set.emu, row->collection, row->upn, NULL))
			return ERR_NOMEM;
		if (was == RESUME_ACCEPTED) { /* poll it: it was sent, its result is unknown */
			it->phase = ITEM_POLL, it->resumed = true;
			snprintf(it->tracking_id, sizeof(it->tracking_id), "%s", tracking);
		}
		if (queue_push(c->in, it) == 0)
			return 0;
		it->status = STATUS_NOT_ATTEMPTED;
	}
	return queue_push(c->out, it) == 0 ? 0 : (item_free(it), 0);
}

static void *reader_main(void *arg)
{
	struct ctx *c = arg;
	for (int i = 0; i < c->nfiles && c->input_rc == 0; i++) {
		const char *name = c->reading = c->names[i];
		struct input_opts io = c->o->input;
		io.wake_fd = c->wake[0];
		c->input_rc = input_read(c->files[i], name, &io, on_row, c, c->input_err,
					 sizeof(c->input_err));
		if (c->input_rc == ERR_CLOSED) /* stopped: the rows read are reported */
			break;
		if (c->input_rc < 0 && !c->input_err[0])
			snprintf(c->input_err, sizeof(c->input_err), "reading '%s': %s", name,
				 err_str(c->input_rc));
	}
	if (c->input_rc == ERR_CLOSED)
		c->input_rc = 0;
	if (c->input_rc < 0)
		engine_stop(c->engine, STOP_INTERNAL);
	queue_close(c->in);
	atomic_store(&c->reader_done, true);
	return NULL;
}

/* ---- set-up ---------------------------------------------------------- */

static int open_inputs(const struct options *o, FILE **files, const char **names, char *err,
		       size_t n)
{
	for (int i = 0; i < o->ninputs; i++) {
		const char *path = o->inputs[i];
		names[i] = strcmp(path, "-") == 0 ? "<stdin>" : path;
		if (strcmp(path, "-") == 0) {
			files[i] = stdin;
		} else if (!(files[i] = fopen(path, "r"))) {
			snprintf(err, n, "cannot open '%s': %s", path, strerror(errno));
			return ERR_IO;
		}
	}
	return 0;
}

static void close_inputs(FILE **files, int n)
{
	for (int i = 0; i < n; i++)
		if (files[i] && files[i] != stdin)
			fclose(files[i]);
}

/* ---- the writer loop ------------------------------------------------- */

/* Writes one item; reacts to a halt or a broken report by stopping the run. */
static void emit(struct ctx *c, struct sink *s, struct item *it)
{
	char *names = atomic_load(&c->extra_header);
	if (!s->extras_set && names)
		writer_set_extra_columns(s->w, names);
	s->extras_set = true;
	int rc = writer_put(s->w, it);
	if (rc == WRITER_HALT && engine_stop_reason(c->engine) == STOP_NONE) {
		engine_stop(c->engine, STOP_HALT);
		fprintf(stderr,
			"rabulk: stopping: %d of the last %d rows sent failed (over "
			"--halt-error-rate)\n",
			writer_window_failures(s->w), WRITER_WINDOW);
	} else if (rc < 0 && engine_stop_reason(c->engine) != STOP_INTERNAL) {
		engine_stop(c->engine, STOP_INTERNAL);
		engine_cancel(c->engine);
	}
}

/* Writes what is on the out queue; waits up to wait_ms for the first. */
static int pump(struct ctx *c, struct sink *s, int wait_ms)
{
	void *p;
	int n = 0;
	/* The count is tested first: an item popped and not written would be lost. */
	while (n < PUMP_BATCH && queue_pop(c->out, &p, n ? 0 : wait_ms) == 0) {
		emit(c, s, p);
		n++;
	}
	if (c->o->ordered && n) {
		uint64_t flushed = writer_summary(s->w)->rows - c->rows_before - writer_held(s->w);
		rows_written(c, flushed - c->flushed);
		c->flushed = flushed;
	}
	if (writer_tick(s->w, clock_mono_ms()) < 0)
		engine_stop(c->engine, STOP_INTERNAL);
	return n;
}

static void watch_stops(struct ctx *c)
{
	static bool cancelled;
	if (atomic_load(&signals_seen) > 1 && !cancelled) {
		cancelled = true;
		engine_cancel(c->engine);
		fprintf(stderr, "rabulk: abandoning requests in flight (again to quit now)\n");
	}
	if (engine_stop_reason(c->engine) != STOP_NONE)
		return;
	if (atomic_load(&signals_seen)) {
		engine_stop(c->engine, STOP_SIGNAL);
		fprintf(stderr, "rabulk: stopping: finishing requests in flight (again to abandon "
				"them)\n");
	} else if (c->o->deadline_ms && clock_wall_ms() >= c->o->deadline_ms) {
		engine_stop(c->engine, STOP_DEADLINE);
		fprintf(stderr, "rabulk: deadline reached: starting nothing more\n");
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

static void estimate_rows(struct ctx *c)
{
	long long total = 0;
	for (int i = 0; i < c->nfiles; i++) {
		long long n = count_lines(c->files[i]);
		if (n < 0)
			return;
		total += n;
	}
	c->rows_expected = (uint64_t)total;
}

/* Redraws the progress line at most four times a second; `end` clears it. */
static void progress(struct ctx *c, bool end)
{
	char line[512];
	int64_t now = clock_mono_ms();
	if (!c->progress || (!end && now - c->progress_at < 250))
		return;
	c->progress_at = now;
	if (end) {
		fputs("\r\033[K", stderr);
		return;
	}
	uint64_t read = atomic_load(&c->rows_read), total = read;
	bool known = atomic_load(&c->reader_done);
	if (!known && c->rows_expected)
		total = c->rows_expected > read ? c->rows_expected : read, known = true;
	const struct summary *s = writer_summary(c->sink.w);
	progress_line(line, sizeof(line), s, s->rows - c->rows_before, known ? total : read, known,
		      (double)(now - c->pass_t0) / 1000.0);
	fprintf(stderr, "\r\033[K%s", line);
}

static void write_all(struct ctx *c, struct sink *s)
{
	void *p;
	while (!engine_done(c->engine)) {
		watch_stops(c);
		int n = pump(c, s, 100);
		progress(c, false);
		if (n > 0 && n < PUMP_BATCH) /* rows are flowing: let a batch gather */
			nanosleep(&(struct timespec){0, 1000000L}, NULL);
	}
	engine_join(c->engine);
	queue_close(c->in);
	while (queue_pop(c->in, &p, 0) == 0) {
		((struct item *)p)->status = STATUS_NOT_ATTEMPTED;
		emit(c, s, p);
	}
	/* A reader on a silent pipe wakes and ends; one with rows to read
	 * reports them not_attempted for a while, then stops at its next row.
	 * Either way it ends before anything it uses is freed. */
	if (write(c->wake[1], "", 1) < 0)
		atomic_store(&c->abandon, true);
	int64_t give_up = clock_mono_ms() + READER_GRACE_MS;
	while (!atomic_load(&c->reader_done)) {
		if (engine_stop_reason(c->engine) != STOP_NONE && clock_mono_ms() >= give_up &&
		    !atomic_exchange(&c->abandon, true))
			rows_written(c, 0); /* wakes a reader waiting for the --ordered window */
		pump(c, s, 100);
	}
	while (pump(c, s, 0) > 0)
		;
	progress(c, true);
	struct engine_stats st;
	engine_stats(c->engine, &st);
	c->stats.requests += st.requests, c->stats.polls += st.polls;
	c->stats.retries += st.retries, c->stats.throttled += st.throttled;
	c->stats.paused_ms += st.paused_ms, c->stats.rate_now = st.rate_now;
	if (c->stopped == STOP_NONE)
		c->stopped = engine_stop_reason(c->engine);
}

/* ---- the end --------------------------------------------------------- */

/* --dry-run: what a real run would send, and how long --rate makes it. */
static void print_plan(const struct options *o, uint64_t rows)
{
	fprintf(stderr, "rabulk: dry run: %llu %s request%s would be sent",
		(unsigned long long)rows, o->command, rows == 1 ? "" : "s");
	if (!o->no_wait)
		fprintf(stderr, ", then at least as many polls (every %.1f s per operation)",
			(double)o->poll_interval_ms / 1000.0);
	if (o->rate > 0) {
		long secs = (long)((double)rows / o->rate + 0.5);
		fprintf(stderr, "; at --rate %.0f/s that takes %ld:%02ld:%02ld", o->rate,
			secs / 3600, secs / 60 % 60, secs % 60);
	} else {
		fprintf(stderr, "; no --rate: as fast as %d requests in flight allow",
			o->concurrency);
	}
	fprintf(stderr, ". Nothing was sent.\n");
}

static void print_summary(const struct ctx *c, const struct summary *s, int64_t elapsed_ms,
			  const char *report_path)
{
	const struct engine_stats st = c->stats;
	double secs = (double)elapsed_ms / 1000.0;
	char shard[48] = "";
	if (c->o->shard_n > 1)
		snprintf(shard, sizeof(shard), " (shard %d/%d)", c->o->shard_k, c->o->shard_n);
	fprintf(stderr, "rabulk: %s%s: %llu rows in %.2f s (%.0f rows/s)\n", c->o->command, shard,
		(unsigned long long)s->rows, secs, secs > 0 ? (double)s->rows / secs : 0.0);
	if (s->rows) {
		fprintf(stderr, "rabulk:");
		for (int i = 0; i < STATUS_COUNT; i++)
			if (s->count[i])
				fprintf(stderr, " %s %llu", status_name((enum status)i),
					(unsigned long long)s->count[i]);
		fputc('\n', stderr);
	}
	fprintf(stderr, "rabulk: %llu requests, %llu polls, %llu retries",
		(unsigned long long)st.requests, (unsigned long long)st.polls,
		(unsigned long long)st.retries);
	if (st.throttled)
		fprintf(stderr, "; throttled %llu times, paused %.1f s",
			(unsigned long long)st.throttled, (double)st.paused_ms / 1000.0);
	fprintf(stderr, "; %.0f requests/s", secs > 0 ? (double)st.requests / secs : 0.0);
	if (st.rate_now > 0)
		fprintf(stderr, " (rate limit now %.0f/s)", st.rate_now);
	if (s->timed)
		fprintf(stderr,
			"\nrabulk: latency p50 %lld ms, p90 %lld ms, p99 %lld ms, "
			"max %lld ms",
			(long long)summary_percentile(s, 0.50),
			(long long)summary_percentile(s, 0.90),
			(long long)summary_percentile(s, 0.99), (long long)s->max_ms);
	fputc('\n', stderr);
	if (c->o->dry_run)
		print_plan(c->o, s->count[STATUS_PLANNED]);
	fprintf(stderr, "rabulk: report: %s\n", report_path);
}

static const char *const stop_names[] = {"", "signal", "auth", "halt", "deadline", "internal"};

/* --summary-json: the same numbers as the text summary, for machines. */
static int summary_json(const struct ctx *c, const struct summary *s, int64_t elapsed_ms,
			int exit_status)
{
	const struct engine_stats st = c->stats;
	cJSON *o = cJSON_CreateObject(), *counts = cJSON_CreateObject(),
	      *lat = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "operation", c->o->command);
	if (c->o->shard_n > 1) {
		char shard[32];
		snprintf(shard, sizeof(shard), "%d/%d", c->o->shard_k, c->o->shard_n);
		cJSON_AddStringToObject(o, "shard", shard);
	}
	cJSON_AddNumberToObject(o, "rows", (double)s->rows);
	for (int i = 0; i < STATUS_COUNT; i++)
		cJSON_AddNumberToObject(counts, status_name((enum status)i), (double)s->count[i]);
	cJSON_AddItemToObject(o, "status", counts);
	cJSON_AddNumberToObject(o, "requests", (double)st.requests);
	cJSON_AddNumberToObject(o, "polls", (double)st.polls);
	cJSON_AddNumberToObject(o, "retries", (double)st.retries);
	cJSON_AddNumberToObject(o, "throttled", (double)st.throttled);
	cJSON_AddNumberToObject(o, "paused_ms", (double)st.paused_ms);
	cJSON_AddNumberToObject(o, "elapsed_ms", (double)elapsed_ms);
	cJSON_AddNumberToObject(o, "requests_per_second",
				elapsed_ms ? (double)st.requests * 1000.0 / (double)elapsed_ms : 0);
	cJSON_AddNumberToObject(lat, "p50", (double)summary_percentile(s, 0.50));
	cJSON_AddNumberToObject(lat, "p90", (double)summary_percentile(s, 0.90));
	cJSON_AddNumberToObject(lat, "p99", (double)summary_percentile(s, 0.99));
	cJSON_AddNumberToObject(lat, "max", (double)s->max_ms);
	cJSON_AddItemToObject(o, "latency_ms", lat);
	cJSON_AddStringToObject(o, "stopped", stop_names[c->stopped]);
	cJSON_AddNumberToObject(o, "exit_status", exit_status);
	char *text = cJSON_Print(o);
	cJSON_Delete(o);
	FILE *f = text ? fopen(c->o->summary_json, "w") : NULL;
	int rc = f && fprintf(f, "%s\n", text) > 0 && fclose(f) == 0 ? 0 : ERR_IO;
	if (rc < 0)
		fprintf(stderr, "rabulk: cannot write '%s': %s\n", c->o->summary_json,
			strerror(errno));
	cJSON_free(text);
	return rc;
}

/* --metrics-file: the same numbers again, for Prometheus (metrics.c). */
static int metrics_file(const struct ctx *c, const struct summary *s, int64_t elapsed_ms,
			int exit_status)
{
	char shard[32] = "", err[512];
	if (c->o->shard_n > 1)
		snprintf(shard, sizeof(shard), "%d/%d", c->o->shard_k, c->o->shard_n);
	struct metrics_run m = {
	    .operation = c->o->command,
	    .service = "remoteapp", /* the one service there is */
	    .shard = shard,
	    .summary = s,
	    .stats = &c->stats,
	    .elapsed_ms = elapsed_ms,
	    .exit_code = exit_status,
	    .end_ms = clock_wall_ms(),
	};
	if (metrics_write(c->o->metrics_file, &m, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "rabulk: %s\n", err);
	return ERR_IO;
}

static int exit_code(struct ctx *c, const struct sink *s, int report_rc)
{
	enum stop_reason why = c->stopped;
	const struct summary *sum = writer_summary(s->w);
	if (report_rc < 0) {
		fprintf(stderr, "rabulk: cannot write the report: %s\n",
			strerror(writer_errno(s->w)));
		return EXIT_INTERNAL;
	}
	if (c->input_rc < 0) {
		fprintf(stderr, "rabulk: %s\n", c->input_err);
		return EXIT_USAGE;
	}
	if (why == STOP_INTERNAL)
		return EXIT_INTERNAL;
	if (why != STOP_NONE)
		return EXIT_STOPPED;
	if (summary_class(sum, CLASS_FAILURE) || summary_class(sum, CLASS_PENDING))
		return EXIT_SOME_FAILED;
	return EXIT_ALL_OK;
}

static void default_report(char *dst, size_t n, const struct options *o)
{
	char stamp[32], shard[32] = "";
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	if (o->shard_n > 1)
		snprintf(shard, sizeof(shard), "-shard%dof%d", o->shard_k, o->shard_n);
	snprintf(dst, n, "rabulk-%s-%s%s.csv", o->command, stamp, shard);
}

/* Is the report the --resume file itself? Then it is appended to. */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* ---- runs and passes -------------------------------------------------- */

/* One pass: the rows of files[] through a new engine into the open report. */
static int pass(struct ctx *c, FILE **files, const char **names, int nfiles)
{
	char err[512] = "";
	pthread_t reader;
	int rc = 0;
	c->files = files, c->names = names, c->nfiles = nfiles;
	atomic_store(&c->reader_done, false);
	atomic_store(&c->rows_read, 0);
	c->rows_expected = 0;
	c->pass_t0 = clock_mono_ms();
	c->rows_before = writer_summary(c->sink.w)->rows;
	atomic_store(&c->abandon, false);
	c->unwritten = c->flushed = 0;
	c->window = (uint64_t)c->o->concurrency * 4 > ORDER_WINDOW ? (uint64_t)c->o->concurrency * 4
								   : ORDER_WINDOW;
	if (c->progress)
		estimate_rows(c);
	if (pipe(c->wake) < 0 || fcntl(c->wake[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(c->wake[1], F_SETFD, FD_CLOEXEC) < 0) {
		fprintf(stderr, "rabulk: cannot make a pipe: %s\n", strerror(errno));
		return ERR_IO;
	}
	if (!(c->in = queue_new((size_t)c->o->concurrency * 2)) ||
	    !(c->out = queue_new(OUT_QUEUE)) || (!c->o->no_dedup && !(c->dedup = dedup_new())) ||
	    !(c->engine = engine_new(&c->set.job, c->in, c->out, err, sizeof(err)))) {
		fprintf(stderr, "rabulk: %s\n", err[0] ? err : "out of memory");
		rc = ERR_NOMEM;
		goto out;
	}
	if (c->stopped != STOP_NONE) /* before the first request: every row not_attempted */
		engine_stop(c->engine, c->stopped);
	if ((!c->o->dry_run && c->stopped == STOP_NONE && engine_start(c->engine) < 0) ||
	    pthread_create(&reader, NULL, reader_main, c) != 0) {
		fprintf(stderr, "rabulk: cannot start threads\n");
		exit(EXIT_INTERNAL);
	}
	write_all(c, &c->sink);
	pthread_join(reader, NULL);
out:
	close(c->wake[0]);
	close(c->wake[1]);
	engine_free(c->engine);
	queue_free(c->in);
	queue_free(c->out);
	dedup_free(c->dedup);
	c->engine = NULL, c->in = c->out = NULL, c->dedup = NULL;
	return rc;
}

/* Thousands of connections need thousands of descriptors: take the hard
 * limit (as nginx and Redis do). */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* Each request in flight holds a descriptor; the rest of the run needs some
 * too (report, journal, inputs, the emulator, and per worker thread its
 * epoll, wake-up and curl multi descriptors). With too few, --concurrency
 * is lowered to what fits, with a warning, so that the report and journal
 * can always be opened. */
#define FD_RESERVE_BASE 24
#define FD_RESERVE_PER_THREAD 6

static void fit_to_fd_limit(struct options *o)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN), limit = (long)rl.rlim_cur;
	int threads = o->threads ? o->threads : engine_default_threads((int)cpus, o->concurrency);
	long room = limit - FD_RESERVE_BASE - o->ninputs - (long)FD_RESERVE_PER_THREAD * threads;
	if (o->concurrency <= room)
		return;
	int fit = room > 1 ? (int)room : 1;
	threads = o->threads ? o->threads : engine_default_threads((int)cpus, fit);
	room = limit - FD_RESERVE_BASE - o->ninputs - (long)FD_RESERVE_PER_THREAD * threads;
	fit = room > 1 ? (int)room : 1;
	fprintf(stderr,
		"rabulk: warning: --concurrency %d needs more descriptors than the limit of %ld "
		"allows (ulimit -n): using concurrency %d\n",
		o->concurrency, limit, fit);
	o->concurrency = fit;
}

struct ctx *run_open(const struct options *o, int *exit_status)
{
	struct ctx *c = calloc(1, sizeof(*c));
	char err[512] = "";
	*exit_status = EXIT_INTERNAL;
	if (!c)
		return NULL;
	c->opts = *o, c->o = &c->opts;
	pthread_mutex_init(&c->order_lock, NULL);
	pthread_cond_init(&c->order_cond, NULL);
	*exit_status = EXIT_USAGE;
	raise_fd_limit();
	fit_to_fd_limit(&c->opts);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal); /* a closed terminal or ssh session: stop as for SIGTERM */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = setup_init(&c->set, c->o, run_signalled, err, sizeof(err));
	if (rc == ERR_STOPPED) { /* no token, nothing sent: the report still lists every row */
		fprintf(stderr, "rabulk: stopping: %s\n", err);
		c->stopped = STOP_SIGNAL;
	} else if (rc < 0) {
		goto fail;
	}
	if (o->resume && !(c->resume = resume_load(o->resume, err, sizeof(err))))
		goto fail;
	if (o->report)
		snprintf(c->report_path, sizeof(c->report_path), "%s", o->report);
	else if (o->resume)
		snprintf(c->report_path, sizeof(c->report_path), "%s", o->resume);
	else
		default_report(c->report_path, sizeof(c->report_path), o);
	struct writer_opts wo = {c->report_path, same_file(c->report_path, o->resume), o->ordered,
				 o->halt_error_rate};
	if (!(c->sink.w = writer_new(&wo, err, sizeof(err))))
		goto fail;
	c->t0 = clock_mono_ms();
	c->progress = o->progress == 1 || (o->progress < 0 && !o->quiet && isatty(STDERR_FILENO));
	return c;
fail:
	fprintf(stderr, "rabulk: %s\n", err);
	run_close(c, false);
	return NULL;
}

enum stop_reason run_pass(struct ctx *c, enum api_op op, const char *text, FILE *in,
			  const char *name)
{
	FILE *files[1] = {in};
	const char *names[1] = {name};
	c->opts.op = op, c->opts.text = text;
	c->opts.input.format = INPUT_CSV; /* the caller's list, whatever --format said */
	c->opts.input.keep_columns = false;
	c->set.job.op = op, c->set.job.message = text;
	if (c->stopped == STOP_NONE && pass(c, files, names, 1) < 0)
		c->stopped = STOP_INTERNAL;
	return c->stopped;
}

const struct job *run_job(const struct ctx *c)
{
	return &c->set.job;
}

void run_stop(struct ctx *c, enum stop_reason why)
{
	if (c->stopped == STOP_NONE)
		c->stopped = why;
}

enum stop_reason run_stopped(const struct ctx *c)
{
	return c->stopped;
}

bool run_signalled(void)
{
	return atomic_load(&signals_seen) > 0;
}

int run_close(struct ctx *c, bool report)
{
	int rc = EXIT_USAGE;
	if (!c)
		return EXIT_INTERNAL;
	if (c->sink.w) {
		int report_rc = writer_close(c->sink.w);
		rc = exit_code(c, &c->sink, report_rc);
		int64_t elapsed = clock_mono_ms() - c->t0;
		if (report && !c->o->quiet)
			print_summary(c, writer_summary(c->sink.w), elapsed, c->report_path);
		if (report && c->o->summary_json &&
		    summary_json(c, writer_summary(c->sink.w), elapsed, rc) < 0 &&
		    rc < EXIT_STOPPED)
			rc = EXIT_INTERNAL;
		if (report && c->o->metrics_file &&
		    metrics_file(c, writer_summary(c->sink.w), elapsed, rc) < 0 &&
		    rc < EXIT_STOPPED)
			rc = EXIT_INTERNAL;
		writer_free(c->sink.w);
	}
	resume_free(c->resume);
	free(atomic_load(&c->extra_header));
	setup_release(&c->set);
	curl_global_cleanup();
	pthread_mutex_destroy(&c->order_lock);
	pthread_cond_destroy(&c->order_cond);
	free(c);
	return rc;
}

bool run_ask(const char *question)
{
	char answer[16] = "";
	FILE *tty = isatty(STDIN_FILENO) && isatty(STDERR_FILENO) ? fopen("/dev/tty", "r") : NULL;
	if (!tty) {
		fprintf(stderr, "rabulk: logoff ends users' sessions and loses their unsaved work: "
				"add --yes to confirm\n");
		return false;
	}
	fprintf(stderr, "rabulk: %s [y/N] ", question);
	bool yes = fgets(answer, sizeof(answer), tty) && (answer[0] == 'y' || answer[0] == 'Y');
	fclose(tty);
	return yes;
}

static int count_row(void *arg, const struct row *row)
{
	*(unsigned long *)arg += !row->reason;
	return 0;
}

/* Valid rows in the input files, read once and rewound; 0 if unknown. */
static unsigned long count_rows(const struct options *o, FILE **files, const char **names)
{
	unsigned long n = 0;
	char err[256];
	for (int i = 0; i < o->ninputs; i++) {
		if (files[i] == stdin)
			return 0;
		int rc = input_read(files[i], names[i], &o->input, count_row, &n, err, sizeof(err));
		if (rc < 0 || fseek(files[i], 0, SEEK_SET) != 0)
			return 0;
	}
	return n;
}

/* logoff asks first, with the number of users, unless --yes. */
static bool confirmed(const struct options *o, FILE **files, const char **names)
{
	char q[128];
	if (o->op != API_LOGOFF || o->yes || o->dry_run)
		return true;
	unsigned long n = isatty(STDIN_FILENO) ? count_rows(o, files, names) : 0;
	if (n)
		snprintf(q, sizeof(q), "log off %lu user%s listed in the input?", n,
			 n == 1 ? "" : "s");
	else
		snprintf(q, sizeof(q), "log off every user listed in the input?");
	return run_ask(q);
}

int run(const struct options *opts)
{
	struct options o = *opts;
	FILE *files[ARGS_MAX_INPUTS] = {0};
	const char *names[ARGS_MAX_INPUTS];
	char err[512] = "";
	int rc;

	if (o.ninputs == 0) {
		if (isatty(STDIN_FILENO)) {
			fprintf(stderr, "rabulk: no input: give a file, or - for standard input\n");
			return EXIT_USAGE;
		}
		o.inputs[o.ninputs++] = "-";
	}
	if (open_inputs(&o, files, names, err, sizeof(err)) < 0 || !confirmed(&o, files, names)) {
		if (err[0])
			fprintf(stderr, "rabulk: %s\n", err);
		close_inputs(files, o.ninputs);
		return EXIT_USAGE;
	}
	struct ctx *c = run_open(&o, &rc);
	if (c && pass(c, files, names, o.ninputs) < 0)
		c->stopped = STOP_INTERNAL;
	if (c)
		rc = run_close(c, true);
	close_inputs(files, o.ninputs);
	return rc;
}
