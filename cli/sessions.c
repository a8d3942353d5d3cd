/* sessions.c — rabulk sessions: list the sessions of collections.
 *
 * One GET per collection, in order, on one easy handle (so one kept-alive
 * connection). The output's columns are CollectionName, UserUpn, State and
 * LogonTimeUtc: exactly what the bulk commands read, so
 *   rabulk sessions Apps --state Connected | rabulk disconnect -
 * works. --state Connected also matches Active (the service used both). */
#include "cli/sessions.h"
#include "cli/run.h"
#include "cli/setup.h"
#include "engine/err.h"
#include "engine/http.h"
#include "output/report.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_MAX (64 * 1024 * 1024)

struct buf {
	char *data;
	size_t len;
	bool too_big;
};

struct out {
	const struct options *o;
	const char *collection;
	unsigned long rows;
	unsigned token_gen;
	char token[TOKEN_MAX];
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t len = size * n;
	char *p;
	if (b->len + len > BODY_MAX || !(p = realloc(b->data, b->len + len + 1))) {
		b->too_big = true;
		return 0;
	}
	memcpy(p + b->len, data, len);
	b->data = p, b->len += len;
	return len;
}

static bool state_matches(const char *want, const char *state)
{
	bool connected = !strcasecmp(want, "Connected") || !strcasecmp(want, "Active");
	return !strcasecmp(want, state) ||
	       (connected && (!strcasecmp(state, "Connected") || !strcasecmp(state, "Active")));
}

static int print_session(void *arg, const struct api_session *s)
{
	struct out *out = arg;
	const char *fmt = out->o->out_format;
	if (out->o->state && !state_matches(out->o->state, s->state))
		return 0;
	if (strcmp(fmt, "csv") == 0) {
		char row[8192];
		size_t n = 0;
		const char *cells[] = {out->collection, s->upn, s->state, s->logon_time};
		for (int i = 0; i < 4; i++)
			if (report_csv_cell(row, sizeof(row), &n, cells[i], false, i == 3) < 0)
				return ERR_TOOBIG;
		fwrite(row, 1, n, stdout);
	} else {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "CollectionName", out->collection);
		cJSON_AddStringToObject(o, "UserUpn", s->upn);
		cJSON_AddStringToObject(o, "State", s->state);
		cJSON_AddStringToObject(o, "LogonTimeUtc", s->logon_time);
		char *text = cJSON_PrintUnformatted(o);
		bool array = strcmp(fmt, "json") == 0;
		printf("%s%s%s", array && out->rows ? ",\n" : "", text ? text : "", array ? "" : "\n");
		cJSON_free(text);
		cJSON_Delete(o);
	}
	out->rows++;
	return 0;
}

/* Lists one collection; returns 0 or -1 after saying why on stderr. */
static int list_one(CURL *easy, const struct job *job, struct out *out)
{
	char url[4096];
	struct buf b = {0};
	struct api_error e;
	long http = 0;
	int rc = -1;

	if (api_url_sessions(url, sizeof(url), &job->target, out->collection) < 0) {
		fprintf(stderr, "rabulk: bad collection name '%s'\n", out->collection);
		return -1;
	}
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &b);
	CURLcode cc;
	for (int tries = 0; tries < 2; tries++) { /* a 401 refreshes the token once */
		b.len = 0;
		http_sync_token(easy, job, &out->token_gen, out->token);
		cc = curl_easy_perform(easy);
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
		if (cc != CURLE_OK || http != 401 || !job->token ||
		    token_refresh(job->token, out->token_gen) < 0)
			break;
	}
	if (cc != CURLE_OK) {
		fprintf(stderr, "rabulk: '%s': %s\n", out->collection, curl_easy_strerror(cc));
	} else if (http != 200) {
		api_parse_error(b.data, b.len, &e);
		fprintf(stderr, "rabulk: '%s': HTTP %ld %s%s%s\n", out->collection, http, e.code,
			e.code[0] ? ": " : "", e.message);
	} else if (api_parse_sessions(b.data ? b.data : "", b.len, print_session, out) != 0) {
		fprintf(stderr, "rabulk: '%s': unreadable session list\n", out->collection);
	} else {
		rc = 0;
	}
	free(b.data);
	return rc;
}

int sessions_run(const struct options *o)
{
	struct setup set;
	static struct out out;
	char err[512] = "";
	int failures = 0, rc = EXIT_USAGE;
	CURL *easy = NULL;
	struct curl_slist *headers = NULL;

	out.o = o;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (setup_init(&set, o, err, sizeof(err)) < 0)
		goto out;
	rc = EXIT_INTERNAL;
	if (!(easy = curl_easy_init()) || !(headers = http_headers(false)))
		goto out;
	http_setup(easy, &set.job);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	if (strcmp(o->out_format, "csv") == 0)
		puts("CollectionName,UserUpn,State,LogonTimeUtc");
	else if (strcmp(o->out_format, "json") == 0)
		puts("[");
	for (int i = 0; i < o->ninputs; i++) {
		out.collection = o->inputs[i];
		failures += list_one(easy, &set.job, &out) < 0;
	}
	if (strcmp(o->out_format, "json") == 0)
		puts(out.rows ? "\n]" : "]");
	fflush(stdout);
	rc = failures ? EXIT_SOME_FAILED : EXIT_ALL_OK;
out:
	if (err[0])
		fprintf(stderr, "rabulk: %s\n", err);
	curl_slist_free_all(headers);
	if (easy)
		curl_easy_cleanup(easy);
	setup_release(&set);
	curl_global_cleanup();
	return rc;
}
