/* sessions.c — rabulk sessions: list the sessions of collections.
 *
 * Every collection is fetched at once (fetch.c), each request retried as a
 * bulk row would be; a collection that still fails is named on stderr and
 * the others are listed. The output's columns are
 * CollectionName, UserUpn, State and LogonTimeUtc: exactly what the bulk
 * commands read, so
 *   rabulk sessions Apps --state Connected | rabulk disconnect -
 * works. --state Connected also matches Active (the service used both). */
#include "cli/sessions.h"
#include "cli/fetch.h"
#include "cli/run.h"
#include "cli/setup.h"
#include "lib/err.h"
#include "output/report.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool sessions_connected(const char *state)
{
	return !strcasecmp(state, "Connected") || !strcasecmp(state, "Active");
}

struct each {
	const char *collection;
	sessions_fn fn;
	void *arg;
};

static int each_session(void *arg, const struct service_session *s)
{
	struct each *e = arg;
	return e->fn(e->arg, e->collection, s);
}

static int as_is(char *dst, size_t cap, const struct service_target *t, const char *url)
{
	return snprintf(dst, cap, "%s", url) < (int)cap ? 0 : ERR_TOOBIG;
}

static int each_found(void *arg, const struct service_found *f)
{
	struct each *e = arg;
	struct service_session s = {f->upn, f->state,	 f->create_time, f->session_host,
				    f->id,  f->app_type, f->resource_id};
	return f->upn[0] ? e->fn(e->arg, e->collection, &s) : 0;
}

int sessions_pages(const struct engine_job *job, const char *const *names, char **url, int n,
		   sessions_page_fn page, void *arg)
{
	const struct service *svc = job->service;
	const char **pending = calloc((size_t)n + 1, sizeof(*pending));
	int *which = calloc((size_t)n + 1, sizeof(*which)), failures = 0, rc = 0;
	char next[4096];
	if (!pending || !which)
		rc = ERR_NOMEM;
	for (int i = 0; i < n; i++)
		failures += !url[i];
	for (;;) {
		int k = 0;
		for (int i = 0; rc == 0 && i < n; i++)
			if (url[i])
				which[k] = i, pending[k++] = url[i];
		if (k == 0)
			break;
		struct fetch_result *res = fetch_each(job, as_is, pending, k);
		if (!res) {
			rc = ERR_NOMEM;
			break;
		}
		for (int j = 0; j < k; j++) {
			int i = which[j], prc = 0;
			struct fetch_result *r = &res[j];
			char why[512];
			free(url[i]), url[i] = NULL;
			if (r->http != 200) {
				fetch_describe(r, why, sizeof(why));
				fprintf(stderr, "rabulk: '%s': %s\n", names[i], why);
			} else if ((prc = page(arg, i, r->body ? r->body : "", r->len, next,
					       sizeof(next))) == 0) {
				if (!next[0])
					continue;
				if (svc->next_allowed(next, job->target.endpoint)) {
					if (!(url[i] = strdup(next)))
						rc = ERR_NOMEM;
					continue;
				}
				fprintf(stderr,
					"rabulk: '%s': the list's nextLink points away from the "
					"endpoint: not followed with our credentials\n",
					names[i]);
			} else if (prc == ERR_PARSE || prc == ERR_TOOBIG) {
				fprintf(stderr, "rabulk: '%s': unreadable list\n", names[i]);
			} else if (rc == 0) {
				rc = prc;
			}
			failures++;
		}
		fetch_free(res, k);
	}
	for (int i = 0; i < n; i++)
		free(url[i]), url[i] = NULL;
	free(pending), free(which);
	return rc < 0 ? rc : failures;
}

struct pages {
	const char *const *colls;
	sessions_fn fn;
	void *arg;
	const struct service *job_service;
};

static int session_page(void *arg, int i, const char *body, size_t len, char *next, size_t cap)
{
	struct pages *p = arg;
	struct each e = {p->colls[i], p->fn, p->arg};
	return p->job_service->parse_page(body, len, each_found, &e, next, cap);
}

/* A lookup service's lists are paged (nextLink): every collection's next
 * page is fetched at once, round after round, so pages of different
 * collections interleave. */
static int list_pages(const struct engine_job *job, const char *const *colls, int n, sessions_fn fn,
		      void *arg)
{
	char **url = calloc((size_t)n + 1, sizeof(*url)), buf[4096];
	int failures = 0;
	if (!url)
		return ERR_NOMEM;
	for (int i = 0; i < n; i++) {
		if (job->service->sessions_url(buf, sizeof(buf), &job->target, colls[i]) < 0)
			fprintf(stderr, "rabulk: '%s': not a host pool this service can list\n",
				colls[i]);
		else if (!(url[i] = strdup(buf)))
			failures = ERR_NOMEM;
	}
	struct pages p = {colls, fn, arg, job->service};
	int rc = failures < 0 ? failures : sessions_pages(job, colls, url, n, session_page, &p);
	for (int i = 0; i < n; i++)
		free(url[i]);
	free(url);
	return rc;
}

int sessions_list(const struct engine_job *job, const char *const *colls, int n, sessions_fn fn,
		  void *arg)
{
	if (job->service->lookup)
		return list_pages(job, colls, n, fn, arg);
	struct fetch_result *res = fetch_each(job, job->service->sessions_url, colls, n);
	int rc = res ? 0 : ERR_NOMEM, failures = 0;
	for (int i = 0; rc == 0 && i < n; i++) {
		struct fetch_result *r = &res[i];
		struct each each = {colls[i], fn, arg};
		char why[512];
		int prc = 0;
		if (r->http != 200) {
			fetch_describe(r, why, sizeof(why));
			fprintf(stderr, "rabulk: '%s': %s\n", colls[i], why);
		} else if ((prc = job->service->parse_sessions(r->body ? r->body : "", r->len,
							       each_session, &each)) == 0) {
			continue;
		} else if (prc == ERR_PARSE) {
			fprintf(stderr, "rabulk: '%s': unreadable session list\n", colls[i]);
		} else {
			rc = prc;
			break;
		}
		failures++;
	}
	fetch_free(res, n);
	return rc < 0 ? rc : failures;
}

/* ---- rabulk sessions ------------------------------------------------- */

struct out {
	const struct args *o;
	unsigned long rows;
};

static bool state_matches(const char *want, const char *state)
{
	return !strcasecmp(want, state) || (sessions_connected(want) && sessions_connected(state));
}

/* The columns, as the bulk commands read them back: RemoteApp's, and AVD's
 * (what Get-AzWvdUserSession shows; its Id names each session). */
static const char *const remoteapp_columns[] = {"CollectionName", "UserUpn", "State",
						"LogonTimeUtc"};
static const char *const avd_columns[] = {
    "HostPool",	    "SessionHost",     "SessionId",  "UserPrincipalName",
    "SessionState", "ApplicationType", "CreateTime", "Id"};

/* One session as a CSV row, a JSON array element or an NDJSON line. */
static int print_row(struct out *out, const char *const *names, const char *const *cells, int n)
{
	const char *fmt = out->o->out_format;
	if (strcmp(fmt, "csv") == 0)
		return report_csv_write(stdout, cells, n, false) < 0 ? ERR_TOOBIG : 0;
	cJSON *o = cJSON_CreateObject();
	for (int i = 0; i < n; i++)
		cJSON_AddStringToObject(o, names[i], cells[i]);
	char *text = cJSON_PrintUnformatted(o);
	bool array = strcmp(fmt, "json") == 0;
	printf("%s%s%s", array && out->rows ? ",\n" : "", text ? text : "", array ? "" : "\n");
	cJSON_free(text);
	cJSON_Delete(o);
	return 0;
}

static int print_session(void *arg, const char *collection, const struct service_session *s)
{
	struct out *out = arg;
	int rc;
	if (out->o->state && !state_matches(out->o->state, s->state))
		return 0;
	if (s->session_host) {
		const char *cells[] = {collection, s->session_host, s->id,	   s->upn,
				       s->state,   s->app_type,	    s->logon_time, s->resource_id};
		rc = print_row(out, avd_columns, cells, 8);
	} else {
		const char *cells[] = {collection, s->upn, s->state, s->logon_time};
		rc = print_row(out, remoteapp_columns, cells, 4);
	}
	out->rows += rc == 0;
	return rc;
}

int sessions_run(const struct args *o)
{
	struct setup set;
	struct out out = {o, 0};
	char err[512] = "";
	int rc = EXIT_USAGE;

	if (o->dry_run) {
		fprintf(stderr,
			"rabulk: dry run: would list %d collection%s (%d GET request%s, all "
			"at once); nothing sent\n",
			o->ninputs, o->ninputs == 1 ? "" : "s", o->ninputs,
			o->ninputs == 1 ? "" : "s");
		return EXIT_ALL_OK;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (setup_init(&set, o, NULL, err, sizeof(err)) < 0)
		goto out;
	if (strcmp(o->out_format, "csv") == 0 && o->avd)
		puts(
		    "HostPool,SessionHost,SessionId,UserPrincipalName,SessionState,ApplicationType,"
		    "CreateTime,Id");
	else if (strcmp(o->out_format, "csv") == 0)
		puts("CollectionName,UserUpn,State,LogonTimeUtc");
	else if (strcmp(o->out_format, "json") == 0)
		puts("[");
	int failures = sessions_list(&set.job, o->inputs, o->ninputs, print_session, &out);
	if (strcmp(o->out_format, "json") == 0)
		puts(out.rows ? "\n]" : "]");
	fflush(stdout);
	rc = failures < 0 ? EXIT_INTERNAL : failures ? EXIT_SOME_FAILED : EXIT_ALL_OK;
out:
	if (err[0])
		fprintf(stderr, "rabulk: %s\n", err);
	setup_release(&set);
	curl_global_cleanup();
	return rc;
}
