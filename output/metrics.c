/* metrics.c — --metrics-file: the run's figures as Prometheus text.
 *
 * A scheduled run (cron, a systemd timer) is watched the way Prometheus
 * watches batch jobs: the node exporter's textfile collector reads every
 * *.prom file of a folder at each scrape, so rabulk writes its figures there
 * once, at the end of a run, stopped or not. The file always holds a whole
 * run: it is written to a temporary file in the same folder, then renamed
 * over the old one (the collector would otherwise read half a file, and two
 * runs' lines appended would be duplicate series).
 *
 * Every figure is a gauge of the last run (a counter would have to grow
 * across runs, and each run starts from zero), named rabulk_last_run_*,
 * labelled with operation, service and shard so that several scheduled jobs
 * can be told apart; latency is a summary (quantiles, _sum, _count). Rows
 * are listed for every status, zeros included, so that an alert on
 * rabulk_last_run_rows{status="failed"} > 0 never loses its series.
 *
 * "Last successful run older than a day" needs the time of the last run
 * that ended with exit code 0, which the run that just failed does not know:
 * it is carried over from the file being replaced (same labels), so
 * rabulk_last_success_timestamp_seconds survives failed runs. */
#include "output/metrics.h"
#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_MAX 65536 /* of the old file, for the last success: ours are ~3 KiB */

struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = o->full ? 0 : vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

/* A label value as the format wants it: \ " and newline escaped. */
static void put_value(struct out *o, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			put(o, "\\%c", *v);
		else if (*v == '\n')
			put(o, "\\n");
		else
			put(o, "%c", *v);
	}
}

/* operation="…",service="…",shard="…" */
static void put_labels(struct out *o, const struct metrics_run *m)
{
	put(o, "operation=\"");
	put_value(o, m->operation);
	put(o, "\",service=\"");
	put_value(o, m->service);
	put(o, "\",shard=\"");
	put_value(o, m->shard);
	put(o, "\"");
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{labels[,extra]} value */
static void sample(struct out *o, const struct metrics_run *m, const char *name, const char *extra,
		   const char *value_fmt, ...)
{
	va_list ap;
	char value[64];
	va_start(ap, value_fmt);
	vsnprintf(value, sizeof(value), value_fmt, ap);
	va_end(ap);
	put(o, "%s{", name);
	put_labels(o, m);
	put(o, "%s%s} %s\n", extra ? "," : "", extra ? extra : "", value);
}

static double seconds(int64_t ms)
{
	return (double)ms / 1000.0;
}

static void gauge(struct out *o, const struct metrics_run *m, const char *name, const char *help,
		  unsigned long long v)
{
	family(o, name, "gauge", help);
	sample(o, m, name, NULL, "%llu", v);
}

static void gauge_s(struct out *o, const struct metrics_run *m, const char *name, const char *help,
		    double v)
{
	family(o, name, "gauge", help);
	sample(o, m, name, NULL, "%.3f", v);
}

int metrics_format(char *buf, size_t cap, const struct metrics_run *m)
{
	struct out o = {buf, cap, 0, cap == 0};
	const struct summary *s = m->summary;
	const struct engine_stats *st = m->stats;
	double secs = seconds(m->elapsed_ms);

	family(&o, "rabulk_last_run_rows", "gauge", "Report rows of the last run, by status.");
	for (int i = 0; i < STATUS_COUNT; i++) {
		char status[64];
		snprintf(status, sizeof(status), "status=\"%s\"",
			 item_status_name((enum item_status)i));
		sample(&o, m, "rabulk_last_run_rows", status, "%llu",
		       (unsigned long long)s->count[i]);
	}
	gauge(&o, m, "rabulk_last_run_requests", "Operation requests sent, retries included.",
	      st->requests);
	gauge(&o, m, "rabulk_last_run_polls", "Operation result polls sent.", st->polls);
	gauge(&o, m, "rabulk_last_run_retries", "Retries of requests and polls.", st->retries);
	gauge(&o, m, "rabulk_last_run_throttled_responses",
	      "Throttling answers received (HTTP 429 or 503).", st->throttled);
	gauge_s(&o, m, "rabulk_last_run_paused_seconds",
		"Time every worker was paused by a Retry-After.", seconds(st->paused_ms));
	gauge_s(&o, m, "rabulk_last_run_quota_wait_seconds",
		"Time requests waited for the service's quota to refill (avd).",
		seconds(st->quota_wait_ms));
	gauge(&o, m, "rabulk_last_run_list_pages", "Session-list pages fetched (avd).", st->lists);
	gauge_s(&o, m, "rabulk_last_run_duration_seconds", "How long the last run took.", secs);
	gauge_s(&o, m, "rabulk_last_run_rows_per_second", "Report rows per second of the run.",
		secs > 0 ? (double)s->rows / secs : 0.0);

	static const double quantiles[] = {0.5, 0.9, 0.99};
	family(&o, "rabulk_last_run_latency_seconds", "summary",
	       "Latency of the rows answered: first request to final answer.");
	for (size_t i = 0; i < sizeof(quantiles) / sizeof(quantiles[0]); i++) {
		char q[32];
		snprintf(q, sizeof(q), "quantile=\"%g\"", quantiles[i]);
		sample(&o, m, "rabulk_last_run_latency_seconds", q, "%.3f",
		       seconds(summary_percentile(s, quantiles[i])));
	}
	sample(&o, m, "rabulk_last_run_latency_seconds_sum", NULL, "%.3f",
	       seconds((int64_t)s->sum_ms));
	sample(&o, m, "rabulk_last_run_latency_seconds_count", NULL, "%llu",
	       (unsigned long long)s->timed);
	gauge_s(&o, m, "rabulk_last_run_latency_max_seconds", "The longest row latency.",
		seconds(s->max_ms));

	family(&o, "rabulk_last_run_exit_code", "gauge",
	       "Exit code of the last run: 0 all ok, 1 rows failed, invalid or pending, "
	       "2 usage, 3 stopped early, 4 internal error.");
	sample(&o, m, "rabulk_last_run_exit_code", NULL, "%d", m->exit_code);
	gauge_s(&o, m, "rabulk_last_run_timestamp_seconds", "When the last run ended (Unix time).",
		seconds(m->end_ms));
	gauge_s(&o, m, "rabulk_last_success_timestamp_seconds",
		"When the last run with exit code 0 ended (Unix time; 0: none yet).",
		seconds(m->success_ms));
	return o.full ? ERR_TOOBIG : (int)o.len;
}

int64_t metrics_last_success(const char *text, const struct metrics_run *m)
{
	char key[512];
	struct out o = {key, sizeof(key), 0, false};
	put(&o, "rabulk_last_success_timestamp_seconds{");
	put_labels(&o, m);
	put(&o, "} ");
	if (o.full)
		return 0;
	for (const char *p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		char *end;
		if (strncmp(p, key, o.len) != 0)
			continue;
		double v = strtod(p + o.len, &end);
		return end != p + o.len && v > 0 && v < 1e12 ? (int64_t)(v * 1000.0 + 0.5) : 0;
	}
	return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return ERR_IO;
		p += w, n -= (size_t)w;
	}
	return 0;
}

/* The rename is durable once the folder is synced; a failure here loses
 * nothing that is not already in place, so it is not an error. */
static void sync_folder(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir] = '\0'; /* "/x" keeps its "/" */
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int metrics_write_atomic(const char *path, const char *data, size_t len)
{
	char tmp[4096];
	int saved;
	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return ERR_IO;
	}
	int fd = mkstemp(tmp);
	if (fd < 0)
		return ERR_IO;
	if (fchmod(fd, 0644) < 0 || write_all(fd, data, len) < 0 || fsync(fd) < 0)
		goto out_unlink;
	if (close(fd) < 0) {
		fd = -1;
		goto out_unlink;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto out_unlink;
	sync_folder(path);
	return 0;
out_unlink:
	saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
	return ERR_IO;
}

/* The file being replaced, NUL-terminated ("" when there is none). */
static void read_old(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
	buf[n] = '\0';
	if (f)
		fclose(f);
}

int metrics_write(const char *path, const struct metrics_run *m, char *err, size_t errlen)
{
	static char old[READ_MAX], text[16384];
	struct metrics_run run = *m;
	read_old(path, old, sizeof(old));
	run.success_ms = m->exit_code == 0 ? m->end_ms : metrics_last_success(old, m);
	int len = metrics_format(text, sizeof(text), &run);
	if (len < 0) {
		snprintf(err, errlen, "cannot write metrics '%s': %s", path, err_str(len));
		return ERR_IO;
	}
	if (metrics_write_atomic(path, text, (size_t)len) < 0) {
		snprintf(err, errlen, "cannot write metrics '%s': %s", path, strerror(errno));
		return ERR_IO;
	}
	return 0;
}
