/* fetch.c — concurrent GETs on one multi handle (see fetch.h). */
#include "cli/fetch.h"
#include "engine/err.h"
#include "engine/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (64 * 1024 * 1024)
#define IN_FLIGHT 32
#define URL_MAX 4096

struct one {
	CURL *easy;
	struct fetch_result *r;
	unsigned token_gen;
	bool reauthed, too_big;
	char errbuf[CURL_ERROR_SIZE];
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct one *o = arg;
	struct fetch_result *r = o->r;
	size_t len = size * n;
	char *p;
	if (r->len + len > BODY_MAX || !(p = realloc(r->body, r->len + len + 1))) {
		o->too_big = true;
		return 0;
	}
	memcpy(p + r->len, data, len);
	r->body = p, r->len += len;
	p[r->len] = '\0';
	return len;
}

static int start(CURLM *m, struct one *o, const struct job *job, const char *url,
		 struct curl_slist *headers, char *token)
{
	if (!o->easy && !(o->easy = curl_easy_init()))
		return ERR_NOMEM;
	http_setup(o->easy, job);
	curl_easy_setopt(o->easy, CURLOPT_URL, url);
	curl_easy_setopt(o->easy, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(o->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(o->easy, CURLOPT_WRITEDATA, o);
	curl_easy_setopt(o->easy, CURLOPT_PRIVATE, o);
	curl_easy_setopt(o->easy, CURLOPT_ERRORBUFFER, o->errbuf);
	http_sync_token(o->easy, job, &o->token_gen, token);
	o->r->len = 0;
	return curl_multi_add_handle(m, o->easy) == CURLM_OK ? 0 : ERR_NOMEM;
}

/* A finished transfer: true when it must go again (401, new token). */
static bool finished(struct one *o, CURLcode rc, const struct job *job)
{
	struct fetch_result *r = o->r;
	curl_easy_getinfo(o->easy, CURLINFO_RESPONSE_CODE, &r->http);
	if (rc != CURLE_OK) {
		r->http = 0;
		snprintf(r->err, sizeof(r->err), "%s",
			 o->too_big	? "answer larger than 64 MiB"
			 : o->errbuf[0] ? o->errbuf
					: curl_easy_strerror(rc));
		return false;
	}
	if (job->token)
		token_answered(job->token, o->token_gen, r->http);
	if (r->http == 401 && job->token && !o->reauthed &&
	    token_refresh(job->token, o->token_gen) == 0) {
		o->reauthed = true;
		return true;
	}
	return false;
}

static int fetch_all(const struct job *job, char *const *urls, int n, struct fetch_result *out)
{
	CURLM *m = curl_multi_init();
	struct one *ones = calloc((size_t)n + 1, sizeof(*ones));
	struct curl_slist *headers = http_headers(false);
	char *token = job->token ? malloc(TOKEN_MAX) : NULL;
	int rc = m && ones && headers && (!job->token || token) ? 0 : ERR_NOMEM;
	int next = 0, active = 0;
	memset(out, 0, sizeof(*out) * (size_t)n);
	for (int i = 0; rc == 0 && i < n; i++)
		ones[i].r = &out[i];
	while (rc == 0 && (next < n || active > 0)) {
		while (rc == 0 && next < n && active < IN_FLIGHT)
			if ((rc = start(m, &ones[next], job, urls[next], headers, token)) == 0)
				next++, active++;
		int running, left;
		curl_multi_perform(m, &running);
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(m, &left))) {
			struct one *o;
			if (msg->msg != CURLMSG_DONE)
				continue;
			CURLcode cc = msg->data.result;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&o);
			curl_multi_remove_handle(m, o->easy);
			active--;
			if (finished(o, cc, job) &&
			    start(m, o, job, urls[o - ones], headers, token) == 0)
				active++;
		}
		if (active > 0)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	for (int i = 0; ones && i < n; i++)
		if (ones[i].easy) {
			curl_multi_remove_handle(m, ones[i].easy);
			curl_easy_cleanup(ones[i].easy);
		}
	if (token)
		explicit_bzero(token, TOKEN_MAX);
	free(token);
	free(ones);
	curl_slist_free_all(headers);
	if (m)
		curl_multi_cleanup(m);
	return rc;
}

struct fetch_result *fetch_each(const struct job *job, fetch_url_fn url, const char *const *names,
				int n)
{
	char **urls = calloc((size_t)n + 1, sizeof(char *));
	struct fetch_result *res = calloc((size_t)n + 1, sizeof(*res));
	int rc = urls && res ? 0 : ERR_NOMEM;
	for (int i = 0; rc == 0 && i < n; i++) {
		if (!(urls[i] = malloc(URL_MAX)))
			rc = ERR_NOMEM;
		else if (url(urls[i], URL_MAX, &job->target, names[i]) < 0)
			rc = ERR_INVAL;
		if (rc == ERR_INVAL)
			fprintf(stderr, "rabulk: cannot make a request URL of '%s'\n", names[i]);
	}
	if (rc == 0)
		rc = fetch_all(job, urls, n, res);
	for (int i = 0; urls && i < n; i++)
		free(urls[i]);
	free(urls);
	if (rc < 0) {
		fetch_free(res, n);
		return NULL;
	}
	return res;
}

void fetch_free(struct fetch_result *r, int n)
{
	for (int i = 0; r && i < n; i++)
		free(r[i].body);
	free(r);
}
