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
 * requests finish (bounded by --timeout); a second one ends the process. */
#include "cli/run.h"
#include "cli/setup.h"
#include "emulator/emu.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/err.h"
#include "engine/item.h"
#include "input/dedup.h"
#include "output/report.h"
#include "output/summary.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define OUT_QUEUE 4096
#define READER_GRACE_MS 2000 /* after a stop, how long to wait for a blocked reader */

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
	if (signals_seen++ > 0) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
}

struct ctx {
	const struct options *o;
	struct setup set;
	FILE *files[ARGS_MAX_INPUTS];
	struct queue *in, *out;
	struct engine *engine;
	struct dedup *dedup; /* NULL with --no-dedup */
	_Atomic(char *) extra_header; /* --keep-columns: the first CSV header's other names */
	atomic_bool reader_done;
	int input_rc;
	char input_err[512];
};

/* ---- the reader thread ----------------------------------------------- */

static int on_row(void *arg, const struct row *row)
{
	struct ctx *c = arg;
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
	if (row->reason) {
		item_set_error(it, STATUS_INVALID, "InvalidInput", row->reason);
	} else if (seen) {
		item_set_error(it, STATUS_DUPLICATE, NULL, "same collection and UPN as an earlier row");
	} else if (c->o->dry_run) {
		it->status = STATUS_PLANNED;
	} else {
		if (c->set.seed_from_input && emu_add_session(c->set.emu, row->collection, row->upn, NULL))
			return ERR_NOMEM;
		if (queue_push(c->in, it) == 0)
			return 0;
		it->status = STATUS_NOT_ATTEMPTED;
	}
	return queue_push(c->out, it) == 0 ? 0 : (item_free(it), 0);
}

static void *reader_main(void *arg)
{
	struct ctx *c = arg;
	for (int i = 0; i < c->o->ninputs && c->input_rc == 0; i++) {
		const char *name = strcmp(c->o->inputs[i], "-") == 0 ? "<stdin>" : c->o->inputs[i];
		c->input_rc = input_read(c->files[i], name, &c->o->input, on_row, c,
					 c->input_err, sizeof(c->input_err));
		if (c->input_rc < 0 && !c->input_err[0])
			snprintf(c->input_err, sizeof(c->input_err), "reading '%s': %s", name,
				 err_str(c->input_rc));
	}
	if (c->input_rc < 0)
		engine_stop(c->engine, STOP_INTERNAL);
	queue_close(c->in);
	atomic_store(&c->reader_done, true);
	return NULL;
}

/* ---- set-up ---------------------------------------------------------- */

static int open_inputs(struct ctx *c, char *err, size_t n)
{
	for (int i = 0; i < c->o->ninputs; i++) {
		const char *path = c->o->inputs[i];
		if (strcmp(path, "-") == 0) {
			c->files[i] = stdin;
		} else if (!(c->files[i] = fopen(path, "r"))) {
			snprintf(err, n, "cannot open '%s': %s", path, strerror(errno));
			return ERR_IO;
		}
	}
	return 0;
}

static void close_inputs(struct ctx *c)
{
	for (int i = 0; i < c->o->ninputs; i++)
		if (c->files[i] && c->files[i] != stdin)
			fclose(c->files[i]);
}

/* ---- the writer loop ------------------------------------------------- */

#define HALT_WINDOW 100

struct sink {
	struct report *report;
	struct summary sum;
	bool window[HALT_WINDOW]; /* the last sent rows: failed or not */
	int wfill, wpos, wfailed;
	int rc; /* first report error */
	_Atomic(char *) *extra_header; /* set by the reader before its first row */
	bool rows_written;
};

/* --halt-error-rate: the share of failures among the last 100 rows that
 * were sent. Returns true when it is over the limit. */
static bool halt_check(struct sink *s, const struct item *it, double limit)
{
	if (it->attempts == 0 || limit > 1)
		return false;
	bool failed = it->status == STATUS_FAILED;
	if (s->wfill == HALT_WINDOW)
		s->wfailed -= s->window[s->wpos];
	else
		s->wfill++;
	s->window[s->wpos] = failed;
	s->wfailed += failed;
	s->wpos = (s->wpos + 1) % HALT_WINDOW;
	return s->wfill == HALT_WINDOW && (double)s->wfailed / HALT_WINDOW > limit;
}

static void emit(struct sink *s, struct item *it)
{
	char *names = atomic_load(s->extra_header);
	if (!s->rows_written && names && report_set_extra_columns(s->report, names) < 0)
		s->rc = ERR_NOMEM;
	s->rows_written = true;
	summary_add(&s->sum, it);
	if (s->rc == 0 && report_write(s->report, it) < 0)
		s->rc = ERR_IO;
	item_free(it);
}

/* Writes what is on the out queue; waits up to wait_ms for the first. */
static int pump(struct ctx *c, struct sink *s, int wait_ms)
{
	void *p;
	int n = 0;
	/* The count is tested first: an item popped and not written would be lost. */
	while (n < 4096 && queue_pop(c->out, &p, n ? 0 : wait_ms) == 0) {
		if (halt_check(s, p, c->o->halt_error_rate) &&
		    engine_stop_reason(c->engine) == STOP_NONE) {
			engine_stop(c->engine, STOP_HALT);
			fprintf(stderr, "rabulk: stopping: %d of the last %d rows failed (over "
					"--halt-error-rate)\n",
				s->wfailed, HALT_WINDOW);
		}
		emit(s, p);
		n++;
	}
	if (s->rc == 0 && report_tick(s->report, clock_mono_ms()) < 0)
		s->rc = ERR_IO;
	return n;
}

static void watch_stops(struct ctx *c)
{
	if (engine_stop_reason(c->engine) != STOP_NONE)
		return;
	if (signals_seen) {
		engine_stop(c->engine, STOP_SIGNAL);
		fprintf(stderr, "rabulk: stopping: finishing requests in flight (again to quit now)\n");
	} else if (c->o->deadline_ms && clock_wall_ms() >= c->o->deadline_ms) {
		engine_stop(c->engine, STOP_DEADLINE);
		fprintf(stderr, "rabulk: deadline reached: starting nothing more\n");
	}
}

static void write_all(struct ctx *c, struct sink *s)
{
	void *p;
	while (!engine_done(c->engine) && s->rc == 0) {
		watch_stops(c);
		pump(c, s, 100);
	}
	engine_join(c->engine);
	queue_close(c->in);
	while (queue_pop(c->in, &p, 0) == 0) {
		((struct item *)p)->status = STATUS_NOT_ATTEMPTED;
		emit(s, p);
	}
	int64_t give_up = clock_mono_ms() + READER_GRACE_MS;
	while (!atomic_load(&c->reader_done) &&
	       (engine_stop_reason(c->engine) == STOP_NONE || clock_mono_ms() < give_up))
		pump(c, s, 100);
	while (pump(c, s, 0) > 0)
		;
}

/* ---- the end --------------------------------------------------------- */

static void print_summary(const struct ctx *c, const struct summary *s, int64_t elapsed_ms,
			  const char *report_path)
{
	struct engine_stats st;
	double secs = (double)elapsed_ms / 1000.0;
	engine_stats(c->engine, &st);
	fprintf(stderr, "rabulk: %s: %llu rows in %.2f s (%.0f rows/s)\n", c->o->command,
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
		fprintf(stderr, "\nrabulk: latency p50 %lld ms, p90 %lld ms, p99 %lld ms, max %lld ms",
			(long long)summary_percentile(s, 0.50), (long long)summary_percentile(s, 0.90),
			(long long)summary_percentile(s, 0.99), (long long)s->max_ms);
	fputc('\n', stderr);
	if (c->o->dry_run)
		fprintf(stderr, "rabulk: dry run: %llu requests would be sent, none was\n",
			(unsigned long long)s->count[STATUS_PLANNED]);
	fprintf(stderr, "rabulk: report: %s\n", report_path);
}

static int exit_code(struct ctx *c, const struct sink *s)
{
	enum stop_reason why = engine_stop_reason(c->engine);
	if (s->rc < 0) {
		fprintf(stderr, "rabulk: cannot write the report: %s\n", strerror(errno));
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
	if (summary_class(&s->sum, CLASS_FAILURE) || summary_class(&s->sum, CLASS_PENDING))
		return EXIT_SOME_FAILED;
	return EXIT_ALL_OK;
}

static void default_report(char *dst, size_t n, const char *command)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(dst, n, "rabulk-%s-%s.csv", command, stamp);
}

static int execute(struct ctx *c, const char *report_path)
{
	struct sink s = {.extra_header = &c->extra_header};
	pthread_t reader;
	char err[512];
	int64_t t0 = clock_mono_ms();

	summary_init(&s.sum);
	if (!(s.report = report_open(report_path, false, err, sizeof(err)))) {
		fprintf(stderr, "rabulk: %s\n", err);
		return EXIT_USAGE;
	}
	if ((!c->o->dry_run && engine_start(c->engine) < 0) ||
	    pthread_create(&reader, NULL, reader_main, c) != 0) {
		fprintf(stderr, "rabulk: cannot start threads\n");
		exit(EXIT_INTERNAL);
	}
	write_all(c, &s);
	if (atomic_load(&c->reader_done))
		pthread_join(reader, NULL);
	else
		pthread_detach(reader); /* blocked on a silent pipe; exit ends it */
	if (report_close(s.report) < 0 && s.rc == 0)
		s.rc = ERR_IO;
	int rc = exit_code(c, &s);
	if (!c->o->quiet)
		print_summary(c, &s.sum, clock_mono_ms() - t0, report_path);
	return rc;
}

static bool confirmed(const struct options *o)
{
	char answer[16] = "";
	if (o->op != API_LOGOFF || o->yes)
		return true;
	FILE *tty = isatty(STDERR_FILENO) ? fopen("/dev/tty", "r") : NULL;
	if (!tty) {
		fprintf(stderr, "rabulk: logoff ends users' sessions and loses their unsaved work: "
				"add --yes to confirm\n");
		return false;
	}
	fprintf(stderr, "rabulk: log off every user listed in the input? [y/N] ");
	bool yes = fgets(answer, sizeof(answer), tty) && (answer[0] == 'y' || answer[0] == 'Y');
	fclose(tty);
	return yes;
}

int run(const struct options *opts)
{
	struct ctx c = {.o = opts};
	struct options o = *opts;
	char err[512] = "", report_path[256];
	int rc = EXIT_USAGE;

	c.o = &o;
	if (o.ninputs == 0) {
		if (isatty(STDIN_FILENO)) {
			fprintf(stderr, "rabulk: no input: give a file, or - for standard input\n");
			return EXIT_USAGE;
		}
		o.inputs[o.ninputs++] = "-";
	}
	if (!confirmed(&o))
		return EXIT_USAGE;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (setup_init(&c.set, &o, err, sizeof(err)) < 0 || open_inputs(&c, err, sizeof(err)) < 0)
		goto out;
	if (!(c.in = queue_new((size_t)o.concurrency * 2)) || !(c.out = queue_new(OUT_QUEUE)) ||
	    (!o.no_dedup && !(c.dedup = dedup_new())) ||
	    !(c.engine = engine_new(&c.set.job, c.in, c.out, err, sizeof(err)))) {
		rc = EXIT_INTERNAL;
		goto out;
	}
	if (!o.report)
		default_report(report_path, sizeof(report_path), o.command);
	else
		snprintf(report_path, sizeof(report_path), "%s", o.report);
	rc = execute(&c, report_path);
out:
	if (err[0])
		fprintf(stderr, "rabulk: %s\n", err);
	engine_free(c.engine);
	queue_free(c.in);
	queue_free(c.out);
	close_inputs(&c);
	dedup_free(c.dedup);
	free(atomic_load(&c.extra_header));
	setup_release(&c.set);
	curl_global_cleanup();
	return rc;
}
