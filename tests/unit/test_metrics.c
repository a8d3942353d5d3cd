/* test_metrics.c — the Prometheus text of a run, the last success carried
 * over, the atomic replacement. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/err.h"
#include "output/metrics.h"
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct summary sum;
static struct engine_stats stats = {.requests = 12,
				    .polls = 9,
				    .retries = 3,
				    .throttled = 2,
				    .paused_ms = 1500,
				    .quota_wait_ms = 2250,
				    .lists = 7};

static struct metrics_run run(int exit_code)
{
	struct item it = {0};
	summary_init(&sum);
	it.status = STATUS_SUCCEEDED, it.started_ms = 1000,
	it.finished_ms = 1256; /* 256 ms: a bucket's lower bound, exact */
	for (int i = 0; i < 8; i++)
		summary_add(&sum, &it);
	it.status = STATUS_FAILED, it.finished_ms = 3000;
	summary_add(&sum, &it);
	it.status = STATUS_INVALID, it.started_ms = it.finished_ms = 0;
	summary_add(&sum, &it);
	return (struct metrics_run){"disconnect", "remoteapp", "2/4",	      &sum, &stats,
				    5000,	  exit_code,   1796236210699, 0};
}

static void has(const char *text, const char *line)
{
	if (!strstr(text, line))
		fail_msg("missing: %s\n%s", line, text);
}

static void figures_and_labels(void **state)
{
	char buf[8192];
	struct metrics_run m = run(1);
	int n = metrics_format(buf, sizeof(buf), &m);
	assert_true(n > 0 && (size_t)n == strlen(buf));
	const char *l = "{operation=\"disconnect\",service=\"remoteapp\",shard=\"2/4\"";
	char want[512];
	snprintf(want, sizeof(want), "rabulk_last_run_rows%s,status=\"succeeded\"} 8\n", l);
	has(buf, want);
	snprintf(want, sizeof(want), "rabulk_last_run_rows%s,status=\"not_attempted\"} 0\n", l);
	has(buf, want);
	snprintf(want, sizeof(want), "rabulk_last_run_throttled_responses%s} 2\n", l);
	has(buf, want);
	snprintf(want, sizeof(want), "rabulk_last_run_paused_seconds%s} 1.500\n", l);
	has(buf, want);
	snprintf(want, sizeof(want), "rabulk_last_run_quota_wait_seconds%s} 2.250\n", l);
	has(buf, want);
	snprintf(want, sizeof(want), "rabulk_last_run_list_pages%s} 7\n", l);
	has(buf, want);
	snprintf(want, sizeof(want), "rabulk_last_run_rows_per_second%s} 2.000\n", l);
	has(buf, want);
	snprintf(want, sizeof(want), "rabulk_last_run_latency_seconds%s,quantile=\"0.5\"} 0.256\n",
		 l);
	has(buf, want);
	snprintf(want, sizeof(want), "rabulk_last_run_latency_seconds_count%s} 9\n", l);
	has(buf, want);
	snprintf(want, sizeof(want), "rabulk_last_run_latency_seconds_sum%s} 4.048\n", l);
	has(buf, want);
	snprintf(want, sizeof(want), "rabulk_last_run_exit_code%s} 1\n", l);
	has(buf, want);
	snprintf(want, sizeof(want), "rabulk_last_run_timestamp_seconds%s} 1796236210.699\n", l);
	has(buf, want);
	has(buf, "# TYPE rabulk_last_run_latency_seconds summary\n");
	has(buf, "# TYPE rabulk_last_run_exit_code gauge\n");
	assert_int_equal(buf[n - 1], '\n');
}

static void label_values_escaped(void **state)
{
	char buf[8192];
	struct metrics_run m = run(0);
	m.shard = "a\"b\\c\nd";
	assert_true(metrics_format(buf, sizeof(buf), &m) > 0);
	has(buf, "shard=\"a\\\"b\\\\c\\nd\"");
}

static void short_buffer_is_too_big(void **state)
{
	char buf[256];
	struct metrics_run m = run(0);
	assert_int_equal(metrics_format(buf, sizeof(buf), &m), ERR_TOOBIG);
	assert_int_equal(metrics_format(buf, 0, &m), ERR_TOOBIG);
}

/* The last success comes back from a file written for the same labels only. */
static void last_success_read_back(void **state)
{
	char buf[8192];
	struct metrics_run m = run(0);
	m.success_ms = 1796000000500;
	assert_true(metrics_format(buf, sizeof(buf), &m) > 0);
	assert_int_equal(metrics_last_success(buf, &m), 1796000000500);
	struct metrics_run other = m;
	other.shard = "3/4";
	assert_int_equal(metrics_last_success(buf, &other), 0);
	other = m, other.operation = "logoff";
	assert_int_equal(metrics_last_success(buf, &other), 0);
	assert_int_equal(metrics_last_success("", &m), 0);
	assert_int_equal(metrics_last_success("garbage\nrabulk_last_success_timestamp", &m), 0);
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;
	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void write_replaces_and_leaves_nothing(void **state)
{
	char dir[] = "/tmp/rabulk-metrics-XXXXXX", path[256], buf[64] = "";
	struct stat st1, st2;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rabulk.prom", dir);
	assert_int_equal(metrics_write_atomic(path, "first run, a longer text\n", 25), 0);
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(st1.st_mode & 0777, 0644);
	assert_int_equal(metrics_write_atomic(path, "second\n", 7), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st1.st_ino != st2.st_ino); /* a new file renamed over, not rewritten */
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f), 7);
	fclose(f);
	assert_string_equal(buf, "second\n");
	assert_int_equal(entries(dir), 1);

	char missing[300];
	snprintf(missing, sizeof(missing), "%s/no/such/folder.prom", dir);
	assert_int_equal(metrics_write_atomic(missing, "x\n", 2), ERR_IO);
	unlink(path);
	assert_int_equal(entries(dir), 0);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(figures_and_labels),
	    cmocka_unit_test(label_values_escaped),
	    cmocka_unit_test(short_buffer_is_too_big),
	    cmocka_unit_test(last_success_read_back),
	    cmocka_unit_test(write_replaces_and_leaves_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
