/* run.c — one bulk run as the user sees it: options to a job, rows from the
 * input files, the report, the summary and the exit code.
 *
 * The flow itself (reader thread, workers, writer loop, stops, leftovers)
 * is the pipeline's (engine/pipeline.c). This file gives it a source (the
 * input files, or drain's rows built in memory) and a sink (the report
 * writer), and decides, row by row, what the pipeline need not send:
 * invalid rows, other shards, duplicates, rows already done in a resumed
 * report, and everything under --dry-run.
 *
 * Signals: the first SIGINT/SIGTERM/SIGHUP stops taking rows and lets
 * in-flight requests finish (bounded by --timeout); a second one abandons
 * them too (their rows end not_attempted, still one row each); a third one
 * ends the process. The first also gives up a --token-command under way
 * (token.c asks run_signalled() while it runs): before the first token, the
 * run sends nothing and reports every row not_attempted. */
#include "cli/run.h"
#include "cli/setup.h"
#include "engine/engine.h"
#include "engine/item.h"
#include "engine/pipeline.h"
#include "input/dedup.h"
#include "input/validate.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/pairkey.h"
#include "output/metrics.h"
#include "output/progress.h"
#include "output/resume.h"
#include "output/summary.h"
#include "output/writer.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Atomic, not volatile sig_atomic_t: workers read it too, through
 * run_signalled() while a --token-command runs. Lock-free, so the handler
 * may use it. The one process-wide state: signals are process-wide. */
static atomic_int signals_seen;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "signals_seen must be lock-free");

static void on_signal(int sig)
{
	if (atomic_fetch_add(&signals_seen, 1) > 1) {
		signal(sig, SIG_DFL);
		raise(sig);
	}
}

/* One run: options, credentials, the report, the pipeline. */
struct run {
	const struct args *o;
	struct args opts; /* o points here */
	struct setup set;
	struct writer *writer;
	bool extras_set;       /* the report's extra columns are decided */
	struct resume *resume; /* --resume */
	struct pipeline *pipeline;
	struct pipeline_sink sink;
	struct pipeline_opts popts;
	_Atomic(char *) extra_header; /* --keep-columns: the first CSV header's other names */
	char report_path[256];
	int64_t t0;
	/* the progress line */
	bool progress;
	int64_t progress_at;	/* when it was last drawn (monotonic ms) */
	uint64_t rows_expected; /* lines in the input files; 0: unknown */
	uint64_t rows_before;	/* report rows written by earlier passes */
	/* the source of the pass under way */
	enum service_op op;
	struct dedup *dedup; /* NULL with --no-dedup */
	/* --dry-run of a lookup service: the collections a run would list, and
	 * the rows that name their session (reader thread, then main) */
	struct dedup *dry_pools;
	uint64_t dry_lists, dry_direct;
	int input_rc;
	char input_err[512];
	const char *reading;	/* the input file the reader is in */
	unsigned invalid_named; /* invalid rows named on stderr, all passes */
};

/* ---- what need not be sent --------------------------------------------- */

#define INVALID_NAMED_MAX 10

/* The first invalid rows are named on stderr as well, with their file (the
 * report has the line and the reason but not the file); the rest are
 * counted in the summary. Not with --quiet. */
static void name_invalid(struct run *c, const struct input_row *row)
{
	if (c->o->quiet || c->invalid_named >= INVALID_NAMED_MAX)
		return;
	fprintf(stderr, "rabulk: '%s': line %ld: %s (reported invalid)\n", c->reading, row->line,
		row->reason);
	if (++c->invalid_named == INVALID_NAMED_MAX)
		fprintf(stderr, "rabulk: more invalid rows are named in the report only\n");
}

/* --shard K/N: the pair's stable key (pairkey_hash) picks its shard, so every
 * row, valid or not, belongs to exactly one of N runs over the same list. */
static bool other_shard(const struct args *o, const char *collection, const char *upn)
{
	return o->shard_n > 1 &&
	       pairkey_hash(collection, upn) % (uint64_t)o->shard_n != (uint64_t)(o->shard_k - 1);
}

/* --service avd: a ResourceGroupName cell goes before a host pool or
 * session named without one ("rg/hp", "rg/hp/host/id"); the service then
 * says whether the row's address can be acted on, and key gets the
 * canonical address (the pool's resource id, lower case, and the session
 * named), so that every spelling of one pool is one pool to --shard and to
 * the duplicate check. */
static const struct input_row *addressed(struct run *c, const struct input_row *row,
					 struct input_row *copy, char *buf, size_t cap,
					 char *why_buf, size_t why_cap, char *key, size_t key_cap)
{
	const struct service *svc = c->set.job.service;
	struct service_address a;
	const char *why = NULL;
	snprintf(key, key_cap, "%s", row->collection);
	if (!svc->lookup || row->reason)
		return row;
	*copy = *row;
	copy->collection = input_row_collection(row, buf, cap);
	if (svc->address(&c->set.job.target, copy->collection, &a, &why) < 0) {
		snprintf(why_buf, why_cap, "'%.200s' %s", copy->collection, why);
		copy->reason = why_buf;
		return copy;
	}
	snprintf(key, key_cap, "%s%s%s%s%s", a.pool, a.session_host[0] ? "/" : "", a.session_host,
		 a.id[0] ? "/" : "", a.id);
	for (char *k = key; *k; k++)
		*k = (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k);
	return copy;
}

/* --dry-run: counts what a lookup service's row would need. */
static int dry_count(struct run *c, const struct input_row *row)
{
	struct service_address a;
	const char *why;
	if (c->set.job.service->address(&c->set.job.target, row->collection, &a, &why) < 0)
		return 0;
	if (a.session_host[0]) {
		c->dry_direct++;
		return 0;
	}
	if (!c->dry_pools && !(c->dry_pools = dedup_new()))
		return ERR_NOMEM;
	int seen = dedup_check(c->dry_pools, a.pool, "");
	if (seen < 0)
		return seen;
	c->dry_lists += !seen;
	return 0;
}

/* One input row, from either source: decides what it needs and hands it to
 * the pipeline. Runs on the pipeline's reader thread. */
static int admit(void *arg, const struct input_row *in)
{
	struct run *c = arg;
	struct input_row own;
	char buf[SERVICE_ADDRESS_MAX], why[320],
	    key[SERVICE_ADDRESS_MAX + 2 * SERVICE_NAME_MAX + 4];
	const struct input_row *row =
	    addressed(c, in, &own, buf, sizeof(buf), why, sizeof(why), key, sizeof(key));
	struct pipeline_row pr = {
	    row->line, row->collection, row->upn, row->extra, STATUS_COUNT, NULL, NULL, NULL};
	if (other_shard(c->o, key, row->upn))
		return 0;
	if (row->extra_header && !atomic_load(&c->extra_header)) {
		char *copy = strdup(row->extra_header);
		if (!copy)
			return ERR_NOMEM;
		atomic_store(&c->extra_header, copy);
	}
	int seen = c->dedup && !row->reason ? dedup_check(c->dedup, key, row->upn) : 0;
	if (seen < 0)
		return seen;
	enum resume_state was =
	    c->resume && !row->reason && !seen
		? resume_lookup(c->resume, row->collection, row->upn, c->op, &pr.op_id)
		: RESUME_NEW;
	if (row->reason) {
		name_invalid(c, row);
		pr.status = STATUS_INVALID, pr.code = "InvalidInput", pr.message = row->reason;
	} else if (seen) {
		pr.status = STATUS_DUPLICATE,
		pr.message = "same collection and UPN as an earlier row";
	} else if (was == RESUME_OK) {
		pr.status = STATUS_SKIPPED, pr.message = "already done in the resumed report";
	} else if (c->o->dry_run) {
		pr.status = STATUS_PLANNED;
		if (c->set.job.service->lookup && dry_count(c, row) < 0)
			return ERR_NOMEM;
	} else {
		if (was != RESUME_ACCEPTED)
			pr.op_id = NULL;
		if (c->set.row_hook && c->set.row_hook(c->set.row_hook_arg, row) < 0)
			return ERR_NOMEM;
	}
	int rc = pipeline_row(c->pipeline, &pr);
	return rc == ERR_CLOSED ? rc : rc < 0 ? rc : 0;
}

/* ---- sources ------------------------------------------------------------ */

struct files {
	struct run *run;
	FILE **files;
	const char **names;
	int n;
};

/* The bulk commands' source: the input files, one after the other. */
static int read_files(void *arg, struct pipeline *p)
{
	struct files *f = arg;
	struct run *c = f->run;
	for (int i = 0; i < f->n && c->input_rc == 0; i++) {
		struct input_opts io = c->o->input;
		io.wake_fd = pipeline_wake_fd(p);
		c->reading = f->names[i];
		c->input_rc = input_read(f->files[i], f->names[i], &io, admit, c, c->input_err,
					 sizeof(c->input_err));
		if (c->input_rc == ERR_CLOSED) /* stopped: the rows read are reported */
			return c->input_rc = 0;
		if (c->input_rc < 0 && !c->input_err[0])
			snprintf(c->input_err, sizeof(c->input_err), "reading '%s': %s",
				 f->names[i], err_str(c->input_rc));
	}
	return c->input_rc;
}

struct list {
	struct run *run;
	const struct run_target *rows;
	size_t n;
};

/* drain's source: rows built in memory, numbered as lines 2.. (as if after
 * a header, so its reports read like a bulk command's over the same list). */
static int read_list(void *arg, struct pipeline *p)
{
	struct list *l = arg;
	l->run->reading = "drain";
	for (size_t i = 0; i < l->n; i++) {
		const struct run_target *t = &l->rows[i];
		struct input_row r = {(long)i + 2, t->collection, t->upn, NULL,
				      NULL,	   NULL,	  NULL,	  NULL};
		/* the service's own names, checked as an input file's would be (a
		 * lookup service's addresses: by the service, in admit()) */
		if (!l->run->set.job.service->lookup)
			r.reason = validate_collection(t->collection, strlen(t->collection));
		if (!r.reason)
			r.reason = validate_upn(t->upn, strlen(t->upn));
		int rc = admit(l->run, &r);
		if (rc == ERR_CLOSED)
			return 0;
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* ---- the sink: the report --------------------------------------------- */

static int sink_put(void *arg, struct item *it)
{
	struct run *c = arg;
	char *names = atomic_load(&c->extra_header);
	if (!c->extras_set && names)
		writer_set_extra_columns(c->writer, names);
	c->extras_set = true;
	int rc = writer_put(c->writer, it);
	return rc == WRITER_HALT ? PIPELINE_HALT : rc;
}

int run_record(struct run *c, struct item *it)
{
	int rc = sink_put(c, it);
	return rc == PIPELINE_HALT ? 0 : rc;
}

static int sink_tick(void *arg, int64_t now)
{
	return writer_tick(((struct run *)arg)->writer, now);
}

static uint64_t sink_written(void *arg)
{
	const struct writer *w = ((struct run *)arg)->writer;
	return writer_summary(w)->rows - writer_held(w);
}

/* ---- what the user sees while it runs ----------------------------------- */

static void on_stopping(void *arg, enum stop_reason why, bool abandon)
{
	struct run *c = arg;
	if (abandon)
		fprintf(stderr, "rabulk: abandoning requests in flight (again to quit now)\n");
	else if (why == STOP_SIGNAL)
		fprintf(stderr, "rabulk: stopping: finishing requests in flight (again to abandon "
				"them)\n");
	else if (why == STOP_DEADLINE)
		fprintf(stderr, "rabulk: deadline reached: starting nothing more\n");
	else if (why == STOP_HALT)
		fprintf(stderr,
			"rabulk: stopping: %d of the last %d rows sent failed (over "
			"--halt-error-rate)\n",
			writer_window_failures(c->writer), WRITER_WINDOW);
}

/* Redraws the progress line at most four times a second; `end` clears it. */
static void on_progress(void *arg, uint64_t read, bool source_done, int64_t pass_ms, bool end)
{
	struct run *c = arg;
	char line[512];
	int64_t now = clock_mono_ms();
	if (!c->progress || (!end && now - c->progress_at < 250))
		return;
	c->progress_at = now;
	if (end) {
		fputs("\r\033[K", stderr);
		return;
	}
	uint64_t total = read;
	bool known = source_done;
	if (!known && c->rows_expected)
		total = c->rows_expected > read ? c->rows_expected : read, known = true;
	const struct summary *s = writer_summary(c->writer);
	progress_line(line, sizeof(line), s, s->rows - c->rows_before, total, known,
		      (double)pass_ms / 1000.0);
	fprintf(stderr, "\r\033[K%s", line);
}

/* One pass of op over a source. */
static enum stop_reason pass(struct run *c, enum service_op op, const char *text,
			     pipeline_source_fn source, void *arg)
{
	char err[512] = "";
	c->op = op;
	c->rows_before = writer_summary(c->writer)->rows;
	if (!c->o->no_dedup && !(c->dedup = dedup_new())) {
		fprintf(stderr, "rabulk: out of memory\n");
		pipeline_stop(c->pipeline, STOP_INTERNAL);
		return STOP_INTERNAL;
	}
	enum stop_reason why = pipeline_pass(c->pipeline, op, text, source, arg, err, sizeof(err));
	if (err[0])
		fprintf(stderr, "rabulk: %s\n", err);
	dedup_free(c->dedup);
	c->dedup = NULL;
	return why;
}

/* ---- the end --------------------------------------------------------- */

/* --dry-run: what a real run would send, and how long --rate makes it. */
static void print_plan(const struct run *c, const struct args *o, uint64_t rows)
{
	if (c->set.job.service->lookup) {
		fprintf(stderr,
			"rabulk: dry run: %llu host pool%s would be listed first (every page, once "
			"each), then one %s request per session of the users of the other %llu "
			"row%s (how many sessions: known only from those lists, which a dry run "
			"does not fetch); %llu row%s name%s a session: as many requests. "
			"Nothing was sent.\n",
			(unsigned long long)c->dry_lists, c->dry_lists == 1 ? "" : "s", o->command,
			(unsigned long long)(rows - c->dry_direct),
			rows - c->dry_direct == 1 ? "" : "s", (unsigned long long)c->dry_direct,
			c->dry_direct == 1 ? "" : "s", c->dry_direct == 1 ? "s" : "");
		return;
	}
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

static void print_summary(const struct run *c, const struct summary *s, int64_t elapsed_ms,
			  const char *report_path)
{
	struct engine_stats st = {0};
	if (c->pipeline)
		pipeline_stats(c->pipeline, &st);
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
				fprintf(stderr, " %s %llu", item_status_name((enum item_status)i),
					(unsigned long long)s->count[i]);
		fputc('\n', stderr);
	}
	if (c->set.job.service->lookup)
		fprintf(stderr, "rabulk: %llu requests, %llu session-list pages, %llu retries",
			(unsigned long long)st.requests, (unsigned long long)st.lists,
			(unsigned long long)st.retries);
	else
		fprintf(stderr, "rabulk: %llu requests, %llu polls, %llu retries",
			(unsigned long long)st.requests, (unsigned long long)st.polls,
			(unsigned long long)st.retries);
	if (st.throttled)
		fprintf(stderr, "; throttled %llu times, paused %.1f s",
			(unsigned long long)st.throttled, (double)st.paused_ms / 1000.0);
	if (st.quota_seen) {
		fprintf(stderr, "; waited %.1f s for the service's quota (refill",
			(double)st.quota_wait_ms / 1000.0);
		for (int b = 0, n = 0; b < QUOTA_BUCKETS; b++)
			if (st.quota_refill[b] >= 0)
				fprintf(stderr, "%s %s %.1f/s", n++ ? "," : "",
					quota_bucket_name((enum quota_bucket)b),
					st.quota_refill[b]);
		fputc(')', stderr);
	}
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
		print_plan(c, c->o, s->count[STATUS_PLANNED]);
	fprintf(stderr, "rabulk: report: %s\n", report_path);
}

/* --summary-json: the same numbers as the text summary, for machines. */
static int summary_json(const struct run *c, const struct summary *s, int64_t elapsed_ms,
			int exit_status)
{
	struct engine_stats st = {0};
	if (c->pipeline)
		pipeline_stats(c->pipeline, &st);
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
		cJSON_AddNumberToObject(counts, item_status_name((enum item_status)i),
					(double)s->count[i]);
	cJSON_AddItemToObject(o, "status", counts);
	cJSON_AddNumberToObject(o, "requests", (double)st.requests);
	cJSON_AddNumberToObject(o, "polls", (double)st.polls);
	if (c->set.job.service->lookup)
		cJSON_AddNumberToObject(o, "list_pages", (double)st.lists);
	if (st.quota_seen) {
		cJSON *q = cJSON_AddObjectToObject(o, "quota");
		cJSON_AddNumberToObject(q, "wait_ms", (double)st.quota_wait_ms);
		for (int b = 0; b < QUOTA_BUCKETS; b++) {
			if (st.quota_refill[b] < 0)
				continue;
			cJSON *k =
			    cJSON_AddObjectToObject(q, quota_bucket_name((enum quota_bucket)b));
			cJSON_AddNumberToObject(k, "refill_per_s", st.quota_refill[b]);
			cJSON_AddNumberToObject(k, "throttled", (double)st.quota_throttled[b]);
		}
	}
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
	cJSON_AddStringToObject(o, "stopped", stop_name(run_stopped(c)));
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
static int metrics_file(const struct run *c, const struct summary *s, int64_t elapsed_ms,
			int exit_status)
{
	char shard[32] = "", err[512];
	struct engine_stats st = {0};
	if (c->pipeline)
		pipeline_stats(c->pipeline, &st);
	if (c->o->shard_n > 1)
		snprintf(shard, sizeof(shard), "%d/%d", c->o->shard_k, c->o->shard_n);
	struct metrics_run m = {
	    .operation = c->o->command,
	    .service = c->set.job.service ? c->set.job.service->name : "remoteapp",
	    .shard = shard,
	    .summary = s,
	    .stats = &st,
	    .elapsed_ms = elapsed_ms,
	    .exit_code = exit_status,
	    .end_ms = clock_wall_ms(),
	};
	if (metrics_write(c->o->metrics_file, &m, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "rabulk: %s\n", err);
	return ERR_IO;
}

static int exit_code(struct run *c, int report_rc)
{
	enum stop_reason why = run_stopped(c);
	const struct summary *sum = writer_summary(c->writer);
	if (report_rc < 0) {
		fprintf(stderr, "rabulk: cannot write the report: %s\n",
			strerror(writer_errno(c->writer)));
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

static void default_report(char *dst, size_t n, const struct args *o)
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

struct run *run_open(const struct args *o, int *exit_status)
{
	struct run *c = calloc(1, sizeof(*c));
	char err[512] = "";
	*exit_status = EXIT_INTERNAL;
	if (!c)
		return NULL;
	enum stop_reason stopped = STOP_NONE;
	c->opts = *o, c->o = &c->opts;
	*exit_status = EXIT_USAGE;
	int fit = engine_fit_descriptors(o->concurrency, o->threads, o->ninputs);
	if (fit < o->concurrency)
		fprintf(
		    stderr,
		    "rabulk: warning: --concurrency %d needs more descriptors than the limit of "
		    "%ld allows (ulimit -n): using concurrency %d\n",
		    o->concurrency, engine_descriptor_limit(), fit);
	c->opts.concurrency = fit;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal); /* a closed terminal or ssh session: stop as for SIGTERM */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = setup_init(&c->set, c->o, run_signalled, err, sizeof(err));
	if (rc == ERR_STOPPED) { /* no token, nothing sent: the report still lists every row */
		fprintf(stderr, "rabulk: stopping: %s\n", err);
		stopped = STOP_SIGNAL;
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
				 o->halt_error_rate, o->avd};
	if (!(c->writer = writer_new(&wo, err, sizeof(err))))
		goto fail;
	c->sink = (struct pipeline_sink){sink_put, sink_tick, sink_written, c};
	c->popts = (struct pipeline_opts){
	    o->dry_run, o->ordered, o->deadline_ms, &signals_seen, {on_stopping, on_progress, c}};
	if (!(c->pipeline = pipeline_new(&c->set.job, &c->sink, &c->popts))) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	pipeline_stop(c->pipeline, stopped);
	c->t0 = clock_mono_ms();
	c->progress = o->progress == 1 || (o->progress < 0 && !o->quiet && isatty(STDERR_FILENO));
	return c;
fail:
	fprintf(stderr, "rabulk: %s\n", err);
	run_close(c, false);
	return NULL;
}

enum stop_reason run_pass(struct run *c, enum service_op op, const char *text,
			  const struct run_target *rows, size_t n)
{
	struct list l = {c, rows, n};
	if (run_stopped(c) != STOP_NONE)
		return run_stopped(c);
	return pass(c, op, text, read_list, &l);
}

const struct engine_job *run_job(const struct run *c)
{
	return &c->set.job;
}

void run_stop(struct run *c, enum stop_reason why)
{
	pipeline_stop(c->pipeline, why);
}

enum stop_reason run_stopped(const struct run *c)
{
	return c->pipeline ? pipeline_stopped(c->pipeline) : STOP_NONE;
}

bool run_signalled(void)
{
	return atomic_load(&signals_seen) > 0;
}

int run_close(struct run *c, bool report)
{
	int rc = EXIT_USAGE;
	if (!c)
		return EXIT_INTERNAL;
	if (c->writer) {
		int report_rc = writer_close(c->writer);
		rc = exit_code(c, report_rc);
		int64_t elapsed = clock_mono_ms() - c->t0;
		if (report && !c->o->quiet)
			print_summary(c, writer_summary(c->writer), elapsed, c->report_path);
		if (report && c->o->summary_json &&
		    summary_json(c, writer_summary(c->writer), elapsed, rc) < 0 &&
		    rc < EXIT_STOPPED)
			rc = EXIT_INTERNAL;
		if (report && c->o->metrics_file &&
		    metrics_file(c, writer_summary(c->writer), elapsed, rc) < 0 &&
		    rc < EXIT_STOPPED)
			rc = EXIT_INTERNAL;
		writer_free(c->writer);
	}
	pipeline_free(c->pipeline);
	resume_free(c->resume);
	dedup_free(c->dry_pools);
	free(atomic_load(&c->extra_header));
	setup_release(&c->set);
	curl_global_cleanup();
	free(c);
	return rc;
}

static int open_inputs(const struct args *o, FILE **files, const char **names, char *err, size_t n)
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

static int count_row(void *arg, const struct input_row *row)
{
	*(unsigned long *)arg += !row->reason;
	return 0;
}

/* Valid rows in the input files, read once and rewound; 0 if unknown. */
static unsigned long count_rows(const struct args *o, FILE **files, const char **names)
{
	unsigned long n = 0;
	char err[256];
	for (int i = 0; i < o->ninputs; i++) {
		if (files[i] == stdin)
			return 0;
		int rc = input_read(files[i], names[i], &o->input, count_row, &n, err, sizeof(err));
		if (rc < 0 || lseek(fileno(files[i]), 0, SEEK_SET) != 0 ||
		    fseek(files[i], 0, SEEK_SET) != 0)
			return 0;
	}
	return n;
}

/* logoff asks first, with the number of users, unless --yes. */
static bool confirmed(const struct args *o, FILE **files, const char **names)
{
	char q[128];
	if (o->op != SERVICE_LOGOFF || o->yes || o->dry_run)
		return true;
	unsigned long n = isatty(STDIN_FILENO) ? count_rows(o, files, names) : 0;
	if (n)
		snprintf(q, sizeof(q), "log off %lu user%s listed in the input?", n,
			 n == 1 ? "" : "s");
	else
		snprintf(q, sizeof(q), "log off every user listed in the input?");
	return run_ask(q);
}

int run(const struct args *opts)
{
	struct args o = *opts;
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
	struct run *c = run_open(&o, &rc);
	if (c) {
		struct files f = {c, files, names, o.ninputs};
		if (c->progress)
			c->rows_expected = progress_estimate_rows(files, o.ninputs);
		pass(c, o.op, o.text, read_files, &f);
		rc = run_close(c, true);
	}
	close_inputs(files, o.ninputs);
	return rc;
}
