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
#include "emulator/emu.h"
#include "engine/clock.h"
#include "engine/engine.h"
#include "engine/err.h"
#include "engine/item.h"
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
	struct job job;
	FILE *files[ARGS_MAX_INPUTS];
	struct queue *in, *out;
	struct engine *engine;
	struct emu *emu;
	bool seed_from_input;
	atomic_bool reader_done;
	int input_rc;
	char input_err[512];
	char endpoint[256];
	char *token;
};

/* ---- the reader thread ----------------------------------------------- */

static int on_row(void *arg, const struct row *row)
{
	struct ctx *c = arg;
	struct item *it = item_new(row->line, c->job.op, row->collection, row->upn);
	if (!it)
		return ERR_NOMEM;
	if (row->reason) {
		item_set_error(it, STATUS_INVALID, "InvalidInput", row->reason);
	} else {
		if (c->seed_from_input && emu_add_session(c->emu, row->collection, row->upn, NULL))
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

static bool loopback_url(const char *url)
{
	static const char *const hosts[] = {"http://127.", "http://localhost:", "http://localhost/",
					    "http://[::1]"};
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (strncasecmp(url, hosts[i], strlen(hosts[i])) == 0)
			return true;
	return strcasecmp(url, "http://localhost") == 0;
}

/* The token from --token-file (owner-only, as ssh insists for keys) or
 * RABULK_ACCESS_TOKEN; caller owns *out. */
static int read_token(const struct options *o, char **out, char *err, size_t n)
{
	const char *env = getenv("RABULK_ACCESS_TOKEN");
	struct stat st;
	char buf[16384];
	*out = NULL;
	if (!o->token_file) {
		if (env && *env && !(*out = strdup(env)))
			return ERR_NOMEM;
		return 0;
	}
	FILE *f = fopen(o->token_file, "r");
	if (!f || fstat(fileno(f), &st) != 0) {
		snprintf(err, n, "cannot open '%s': %s", o->token_file, strerror(errno));
		goto fail;
	}
	if ((st.st_mode & 077) || st.st_uid != geteuid()) {
		snprintf(err, n, "token file '%s' must be yours and not readable by others (chmod 600)",
			 o->token_file);
		goto fail;
	}
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	fclose(f);
	if (!buf[0]) {
		snprintf(err, n, "token file '%s' is empty", o->token_file);
		return ERR_INVAL;
	}
	return (*out = strdup(buf)) ? 0 : ERR_NOMEM;
fail:
	if (f)
		fclose(f);
	return ERR_INVAL;
}

static int start_emulator(struct ctx *c, char *err, size_t n)
{
	struct emu_config ec = {0};
	ec.ns = c->o->ns;
	if (!(c->emu = emu_new(&ec, err, n)))
		return ERR_IO;
	if (c->o->emulator_seed) {
		if (emu_seed_file(c->emu, c->o->emulator_seed, err, n) < 0)
			return ERR_INVAL;
	} else {
		c->seed_from_input = true;
	}
	snprintf(c->endpoint, sizeof(c->endpoint), "http://127.0.0.1:%d", emu_port(c->emu));
	c->job.target.endpoint = c->endpoint;
	if (!c->job.target.subscription)
		c->job.target.subscription = "00000000-0000-0000-0000-000000000000";
	return 0;
}

static int set_target(struct ctx *c, char *err, size_t n)
{
	const struct options *o = c->o;
	snprintf(c->endpoint, sizeof(c->endpoint), "%s", o->endpoint);
	size_t len = strlen(c->endpoint);
	while (len > 0 && c->endpoint[len - 1] == '/')
		c->endpoint[--len] = '\0';
	if (strncasecmp(c->endpoint, "https://", 8) != 0 && !loopback_url(c->endpoint)) {
		snprintf(err, n, "bad --endpoint '%s': want https:// (http:// only for loopback)",
			 o->endpoint);
		return ERR_INVAL;
	}
	if (o->insecure && !loopback_url(c->endpoint) &&
	    strncasecmp(c->endpoint, "https://127.", 12) != 0 &&
	    strncasecmp(c->endpoint, "https://localhost", 17) != 0) {
		snprintf(err, n, "--insecure is only allowed for loopback endpoints");
		return ERR_INVAL;
	}
	c->job.target.endpoint = c->endpoint;
	c->job.target.subscription = o->subscription;
	c->job.target.ns = o->ns;
	if (o->emulator)
		return start_emulator(c, err, n);
	if (!o->subscription) {
		snprintf(err, n, "no subscription: use --subscription ID (or --emulator to try it out)");
		return ERR_INVAL;
	}
	return 0;
}

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

static void build_job(struct ctx *c)
{
	const struct options *o = c->o;
	struct job *j = &c->job;
	j->op = o->op;
	j->message = o->text;
	j->token = c->token;
	j->cacert = o->cacert;
	j->insecure = o->insecure;
	j->no_wait = o->no_wait;
	j->concurrency = o->concurrency;
	j->threads = o->threads;
	j->timeout_ms = o->timeout_ms;
	j->poll_interval_ms = o->poll_interval_ms;
	j->poll_timeout_ms = o->poll_timeout_ms;
	j->retry = (struct retry_policy){o->retries, 500, 60000, o->retry_max_time_ms};
	j->verbose = o->verbose;
}

/* ---- the writer loop ------------------------------------------------- */

struct sink {
	struct report *report;
	struct summary sum;
	int rc; /* first report error */
};

static void emit(struct sink *s, struct item *it)
{
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
	while (queue_pop(c->out, &p, n ? 0 : wait_ms) == 0 && n < 4096) {
		emit(s, p);
		n++;
	}
	if (s->rc == 0 && report_tick(s->report, clock_mono_ms()) < 0)
		s->rc = ERR_IO;
	return n;
}

static void watch_signals(struct ctx *c)
{
	if (signals_seen && engine_stop_reason(c->engine) == STOP_NONE) {
		engine_stop(c->engine, STOP_SIGNAL);
		fprintf(stderr, "rabulk: stopping: finishing requests in flight (again to quit now)\n");
	}
}

static void write_all(struct ctx *c, struct sink *s)
{
	void *p;
	while (!engine_done(c->engine) && s->rc == 0) {
		watch_signals(c);
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
	if (s->timed)
		fprintf(stderr, "; latency p50 %lld ms, p90 %lld ms, p99 %lld ms, max %lld ms",
			(long long)summary_percentile(s, 0.50), (long long)summary_percentile(s, 0.90),
			(long long)summary_percentile(s, 0.99), (long long)s->max_ms);
	fprintf(stderr, "\nrabulk: report: %s\n", report_path);
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
	struct sink s = {0};
	pthread_t reader;
	char err[512];
	int64_t t0 = clock_mono_ms();

	summary_init(&s.sum);
	if (!(s.report = report_open(report_path, err, sizeof(err)))) {
		fprintf(stderr, "rabulk: %s\n", err);
		return EXIT_USAGE;
	}
	if (engine_start(c->engine) < 0 || pthread_create(&reader, NULL, reader_main, c) != 0) {
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
	build_job(&c);
	if (read_token(&o, &c.token, err, sizeof(err)) < 0 || set_target(&c, err, sizeof(err)) < 0 ||
	    open_inputs(&c, err, sizeof(err)) < 0)
		goto out;
	c.job.token = c.token;
	if (!(c.in = queue_new((size_t)o.concurrency * 2)) || !(c.out = queue_new(OUT_QUEUE)) ||
	    !(c.engine = engine_new(&c.job, c.in, c.out, err, sizeof(err)))) {
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
	emu_free(c.emu);
	free(c.token);
	curl_global_cleanup();
	return rc;
}
