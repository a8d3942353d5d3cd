/* result.c — rabulk result: one operationResults GET per tracking id, all at
 * once (each retried as a bulk row would be), answered as CSV. A tracking id
 * comes from a report's tracking_id column, so an `accepted` row can be
 * checked by hand:
 *   rabulk result 01a20d93-ddcc-0000-0000-002cd2ab4cbd */
#include "cli/result.h"
#include "cli/fetch.h"
#include "cli/run.h"
#include "cli/setup.h"
#include "lib/err.h"
#include "output/report.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>

static void print_row(const char *id, const char *status, const char *desc, const char *details)
{
	const char *cells[] = {id, status, desc, details};
	report_csv_write(stdout, cells, 4, true);
}

/* One answer; returns true when it is a known operation that did not fail. */
static bool print_result(const struct service *svc, const char *id, const struct fetch_result *r)
{
	struct service_opresult op;
	char why[512];
	if (r->http == 200 && svc->parse_result(r->body ? r->body : "", r->len, &op) == 0) {
		print_row(id, service_opstatus_name(op.status), op.description, op.details);
		return op.status != SERVICE_OP_FAILED;
	}
	fetch_describe(r, why, sizeof(why));
	print_row(id, r->http == 404 ? "NotFound" : "Unknown", "", why);
	return false;
}

int result_run(const struct args *o)
{
	struct setup set;
	char err[512] = "";
	int rc = EXIT_USAGE, bad = 0, n = o->ninputs;
	struct fetch_result *res = NULL;

	if (o->dry_run) {
		fprintf(stderr,
			"rabulk: dry run: would query %d operation%s (%d GET request%s, all at "
			"once); nothing sent\n",
			n, n == 1 ? "" : "s", n, n == 1 ? "" : "s");
		return EXIT_ALL_OK;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (setup_init(&set, o, NULL, err, sizeof(err)) < 0)
		goto out;
	rc = EXIT_INTERNAL;
	if (!(res = fetch_each(&set.job, set.job.service->result_url, o->inputs, n)))
		goto out;
	puts("TrackingId,Status,Description,ErrorDetails");
	for (int i = 0; i < n; i++)
		bad += !print_result(set.job.service, o->inputs[i], &res[i]);
	fflush(stdout);
	rc = bad ? EXIT_SOME_FAILED : EXIT_ALL_OK;
out:
	if (err[0])
		fprintf(stderr, "rabulk: %s\n", err);
	fetch_free(res, n);
	setup_release(&set);
	curl_global_cleanup();
	return rc;
}
