/* result.c — rabulk result: one operationResults GET per tracking id, all at
 * once, answered as CSV. A tracking id comes from a report's tracking_id
 * column, so an `accepted` row can be checked by hand:
 *   rabulk result 01a20d93-ddcc-0000-0000-002cd2ab4cbd */
#include "cli/result.h"
#include "cli/fetch.h"
#include "cli/run.h"
#include "cli/setup.h"
#include "engine/err.h"
#include "output/report.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

static const char *const status_names[] = {"Unknown", "Pending", "InProgress", "Success", "Failed"};

static void print_row(const char *id, const char *status, const char *desc, const char *details)
{
	char row[2048];
	size_t n = 0;
	const char *cells[] = {id, status, desc, details};
	for (int i = 0; i < 4; i++)
		if (report_csv_cell(row, sizeof(row), &n, cells[i], true, i == 3) < 0)
			return;
	fwrite(row, 1, n, stdout);
}

/* One answer; returns true when it is a known operation that did not fail. */
static bool print_result(const char *id, const struct fetch_result *r)
{
	struct api_opresult op;
	struct api_error e;
	if (r->http == 200 && api_parse_result(r->body ? r->body : "", r->len, &op) == 0) {
		print_row(id, status_names[op.status], op.description, op.details);
		return op.status != API_OP_FAILED;
	}
	if (r->http == 0) {
		print_row(id, "Unknown", "", r->err);
		return false;
	}
	api_parse_error(r->body, r->len, &e);
	char why[400];
	snprintf(why, sizeof(why), "HTTP %ld %s%s%s", r->http, e.code, e.code[0] ? ": " : "",
		 e.message);
	print_row(id, r->http == 404 ? "NotFound" : "Unknown", "", why);
	return false;
}

int result_run(const struct options *o)
{
	struct setup set;
	char err[512] = "";
	int rc = EXIT_USAGE, bad = 0, n = o->ninputs;
	char **urls = NULL;
	struct fetch_result *res = NULL;

	if (o->dry_run) {
		fprintf(stderr, "rabulk: dry run: would query %d operation%s (%d GET request%s, all at "
				"once); nothing sent\n",
			n, n == 1 ? "" : "s", n, n == 1 ? "" : "s");
		return EXIT_ALL_OK;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (setup_init(&set, o, err, sizeof(err)) < 0)
		goto out;
	rc = EXIT_INTERNAL;
	if (!(urls = calloc((size_t)n, sizeof(char *))) || !(res = calloc((size_t)n, sizeof(*res))))
		goto out;
	for (int i = 0; i < n; i++) {
		if (!(urls[i] = malloc(4096)))
			goto out;
		if (api_url_result(urls[i], 4096, &set.job.target, o->inputs[i]) < 0) {
			snprintf(err, sizeof(err), "bad tracking id '%s'", o->inputs[i]);
			rc = EXIT_USAGE;
			goto out;
		}
	}
	if (fetch_all(&set.job, urls, n, res) < 0)
		goto out;
	puts("TrackingId,Status,Description,ErrorDetails");
	for (int i = 0; i < n; i++)
		bad += !print_result(o->inputs[i], &res[i]);
	fflush(stdout);
	rc = bad ? EXIT_SOME_FAILED : EXIT_ALL_OK;
out:
	if (err[0])
		fprintf(stderr, "rabulk: %s\n", err);
	for (int i = 0; urls && i < n; i++)
		free(urls[i]);
	if (res)
		fetch_release(res, n);
	free(urls);
	free(res);
	setup_release(&set);
	curl_global_cleanup();
	return rc;
}
