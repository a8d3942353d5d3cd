/* fetch.c — concurrent GETs on one multi handle (see fetch.h).
 *
 * Each resource is a `struct one`: waiting (for its first start, for a
 * place among the IN_FLIGHT, or for the time of its next try), in flight,
 * or done. A finished request is judged as the worker judges a row's:
 * the service's classify() says whether the answer is worth another try, and
 * retry_delay_ms() and retry_allowed() say when and whether, from --retries,
 * --retry-max-time and the server's Retry-After (engine/retry.c: one policy
 * for every request rabulk makes). A throttled answer's Retry-After holds
 * back every request of this fetch, as the engine's pause holds back every
 * worker. Waiting takes no place in flight and blocks nothing: the loop
 * keeps driving the multi handle, and its poll timeout is the nearest time
 * a waiting resource is due, so one resource's backoff never delays
 * another's answer. A resource a 401 refused waits the same way for a newer
 * token, which the token's own thread fetches (token_renew()); its waker
 * ends the poll when the fetch is over.
 *
 * Bounded: a resource is done after at most --retries + 1 requests, plus
 * one sent again with a refreshed token after a 401; each request ends
 * within --timeout, and each wait within the backoff cap or what
 * retry_wait_limit() allows (a longer Retry-After ends the request). */
#include "cli/fetch.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "engine/http.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (64 * 1024 * 1024)
#define IN_FLIGHT 32
#define URL_MAX 4096
#define IDLE_WAIT_MS 1000 /* longest poll: libcurl's own timers still wake it sooner */

enum one_state { ONE_WAITING, ONE_ACTIVE, ONE_DONE };

struct one {
	CURL *easy;
	struct fetch_result *r;
	const char *url;
	const char *body; /* with fetch->method */
	enum one_state state;
	int64_t due;	  /* ONE_WAITING: monotonic ms it may start (0: now) */
	int64_t first_ms; /* when its first request started, for --retry-max-time */
	unsigned token_gen;
	bool reauthed, too_big;
	bool for_token;	   /* ONE_WAITING for a token newer than token_gen */
	struct http_id id; /* a fresh request id per request, where the service sends one */
	struct retry_after ra;
	char errbuf[CURL_ERROR_SIZE];
};

struct fetch {
	const struct engine_job *job;
	CURLM *multi;
	struct curl_slist *headers, *body_headers;
	const char *method; /* NULL: GET */
	char *token;	    /* TOKEN_MAX bytes when the job has a token */
	struct one *ones;
	int n, active, left; /* resources; in flight; not done */
	int64_t pause_until; /* monotonic ms: nothing starts before (Retry-After) */
	uint64_t rng;
	atomic_bool token_news; /* the token's thread ended a fetch since we last looked */
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

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
	struct one *o = arg;
	if (!service_header_value(line, size * n, "x-ms-request-id", o->r->request_id,
				  sizeof(o->r->request_id)))
		retry_after_header(&o->ra, line, size * n, clock_wall_ms());
	return size * n;
}

static int start(struct fetch *f, struct one *o, int64_t now)
{
	struct fetch_result *r = o->r;
	if (!o->easy) {
		if (!(o->easy = curl_easy_init()))
			return ERR_NOMEM;
		http_setup(o->easy, f->job);
		curl_easy_setopt(o->easy, CURLOPT_URL, o->url);
		curl_easy_setopt(o->easy, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(o->easy, CURLOPT_WRITEDATA, o);
		curl_easy_setopt(o->easy, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(o->easy, CURLOPT_HEADERDATA, o);
		curl_easy_setopt(o->easy, CURLOPT_PRIVATE, o);
		curl_easy_setopt(o->easy, CURLOPT_ERRORBUFFER, o->errbuf);
		if (f->method) {
			curl_easy_setopt(o->easy, CURLOPT_CUSTOMREQUEST, f->method);
			curl_easy_setopt(o->easy, CURLOPT_COPYPOSTFIELDS, o->body);
		}
		o->first_ms = now;
	}
	curl_easy_setopt(o->easy, CURLOPT_HTTPHEADER,
			 http_with_id(f->job->service, &f->rng, &o->id,
				      f->method ? f->body_headers : f->headers));
	http_sync_token(o->easy, f->job, &o->token_gen, f->token);
	r->http = 0, r->len = 0, r->err[0] = '\0';
	if (r->body)
		r->body[0] = '\0';
	o->too_big = false, o->errbuf[0] = '\0';
	retry_after_init(&o->ra);
	if (curl_multi_add_handle(f->multi, o->easy) != CURLM_OK)
		return ERR_NOMEM;
	r->attempts++;
	o->state = ONE_ACTIVE;
	f->active++;
	return 0;
}

static void wait_until(struct one *o, int64_t due)
{
	o->state = ONE_WAITING;
	o->due = due;
}

/* Called by the token's thread, with its lock held, when a fetch ended. */
static void token_wake(void *arg)
{
	struct fetch *f = arg;
	atomic_store(&f->token_news, true);
	curl_multi_wakeup(f->multi);
}

/* A resource is done: its last answer is its result. */
static void done_one(struct fetch *f, struct one *o)
{
	o->state = ONE_DONE;
	f->left--;
}

/* A request ended: the resource waits for its next try, or is done. */
static void finished(struct fetch *f, struct one *o, CURLcode cc, int64_t now)
{
	const struct engine_job *job = f->job;
	struct fetch_result *r = o->r;
	struct service_error e;
	long delay;
	int rc;

	curl_multi_remove_handle(f->multi, o->easy);
	f->active--;
	curl_easy_getinfo(o->easy, CURLINFO_RESPONSE_CODE, &r->http);
	if (cc != CURLE_OK) {
		r->http = 0;
		snprintf(r->err, sizeof(r->err), "%s",
			 o->too_big	? "answer larger than 64 MiB"
			 : o->errbuf[0] ? o->errbuf
					: curl_easy_strerror(cc));
	}
	if (job->token)
		token_answered(job->token, o->token_gen, r->http);
	/* A wait longer than the request may use is refused, as for a row */
	long limit = retry_wait_limit(&job->retry, o->first_ms, now);
	bool refused = o->ra.ms > limit;
	if (service_throttled((int)r->http) && o->ra.ms > 0 && !refused &&
	    now + o->ra.ms > f->pause_until)
		f->pause_until = now + o->ra.ms;
	memset(&e, 0, sizeof(e));
	if (r->http < 200 || r->http >= 300)
		job->service->parse_error(r->body, r->len, &e);
	r->error = e;
	switch (o->too_big ? SERVICE_V_FAILED : job->service->classify((int)r->http, &e)) {
	case SERVICE_V_UNAUTHORIZED: /* the token may have expired: once more with a new one */
		rc = job->token && !o->reauthed ? token_renew(job->token, o->token_gen) : ERR_AUTH;
		if (rc == 0 || rc == ERR_AGAIN) {
			o->reauthed = true;
			o->for_token = rc == ERR_AGAIN;
			wait_until(o, now);
			return;
		}
		break;
	case SERVICE_V_RETRY:
		if (refused) {
			retry_refusal(r->refused, sizeof(r->refused), &job->retry, o->ra.ms, limit,
				      o->ra.header);
			break;
		}
		delay = retry_delay_ms(&job->retry, r->attempts, retry_random(&f->rng), o->ra.ms);
		if (retry_allowed(&job->retry, r->attempts, o->first_ms, now, delay)) {
			wait_until(o, now + delay);
			return;
		}
		r->gave_up = true;
		break;
	default:
		break;
	}
	done_one(f, o);
}

/* Starts what is due and has a place; returns how long the loop may block
 * before something else is due. A resource waiting for a token asks again
 * when the token's thread has news: with no new token, its 401 stands. */
static long start_due(struct fetch *f, int64_t now, int *rc)
{
	int64_t next = now + IDLE_WAIT_MS;
	bool news = atomic_exchange(&f->token_news, false);
	for (int i = 0; *rc == 0 && i < f->n; i++) {
		struct one *o = &f->ones[i];
		if (o->state != ONE_WAITING)
			continue;
		if (o->for_token) {
			int got = news ? token_renew(f->job->token, o->token_gen) : ERR_AGAIN;
			if (got == ERR_AGAIN)
				continue;
			o->for_token = false;
			if (got < 0) {
				done_one(f, o);
				continue;
			}
		}
		int64_t at = o->due > f->pause_until ? o->due : f->pause_until;
		if (at > now) {
			next = at < next ? at : next;
		} else if (f->active < IN_FLIGHT) {
			*rc = start(f, o, now);
		}
		/* else: due but no place; a transfer ending wakes the poll */
	}
	return (long)(next - now);
}

static int run(struct fetch *f)
{
	int rc = 0, running, left;
	while (rc == 0 && f->left > 0) {
		long timeout = start_due(f, clock_mono_ms(), &rc);
		if (rc < 0)
			break;
		curl_multi_perform(f->multi, &running);
		CURLMsg *msg;
		while ((msg = curl_multi_info_read(f->multi, &left))) {
			struct one *o;
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&o);
			finished(f, o, msg->data.result, clock_mono_ms());
			timeout = 0; /* it may go again at once (a new token), or free a place */
		}
		if (f->left > 0 && timeout > 0)
			curl_multi_poll(f->multi, NULL, 0, (int)timeout, NULL);
	}
	return rc;
}

static int fetch_all(const struct engine_job *job, const char *method, const char *const *urls,
		     const char *const *bodies, int n, struct fetch_result *out)
{
	struct fetch f = {.job = job, .n = n, .left = n, .method = method};
	f.multi = curl_multi_init();
	f.ones = calloc((size_t)n + 1, sizeof(*f.ones));
	f.headers = http_headers(job->service, false);
	f.body_headers = http_headers(job->service, true);
	f.token = job->token ? malloc(TOKEN_MAX) : NULL;
	f.rng = (uint64_t)clock_wall_ms() * 2654435761u | 1;
	atomic_init(&f.token_news, false);
	int rc = f.multi && f.ones && f.headers && f.body_headers && (!job->token || f.token)
		     ? 0
		     : ERR_NOMEM;
	bool waker = rc == 0 && job->token && token_add_waker(job->token, token_wake, &f) == 0;
	if (rc == 0 && job->token && !waker)
		rc = ERR_RANGE;
	for (int i = 0; rc == 0 && i < n; i++) {
		f.ones[i].r = &out[i];
		f.ones[i].url = urls[i];
		f.ones[i].body = bodies ? bodies[i] : NULL;
	}
	if (rc == 0)
		rc = run(&f);
	if (waker) /* before the multi handle it wakes goes */
		token_remove_waker(job->token, token_wake, &f);
	for (int i = 0; f.ones && i < n; i++)
		if (f.ones[i].easy) {
			curl_multi_remove_handle(f.multi, f.ones[i].easy);
			curl_easy_cleanup(f.ones[i].easy);
		}
	if (f.token)
		explicit_bzero(f.token, TOKEN_MAX);
	free(f.token);
	free(f.ones);
	curl_slist_free_all(f.headers);
	curl_slist_free_all(f.body_headers);
	if (f.multi)
		curl_multi_cleanup(f.multi);
	return rc;
}

struct fetch_result *fetch_each(const struct engine_job *job, fetch_url_fn url,
				const char *const *names, int n)
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
		rc = fetch_all(job, NULL, (const char *const *)urls, NULL, n, res);
	for (int i = 0; urls && i < n; i++)
		free(urls[i]);
	free(urls);
	if (rc < 0) {
		fetch_free(res, n);
		return NULL;
	}
	return res;
}

struct fetch_result *fetch_send(const struct engine_job *job, const char *method,
				const char *const *urls, const char *const *bodies, int n)
{
	struct fetch_result *res = calloc((size_t)n + 1, sizeof(*res));
	if (res && fetch_all(job, method, urls, bodies, n, res) < 0) {
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

void fetch_describe(const struct fetch_result *r, char *dst, size_t cap)
{
	struct service_error e;
	int n;
	if (r->http == 0) {
		n = snprintf(dst, cap, "%s", r->err);
	} else {
		e = r->error;
		n = snprintf(dst, cap, "HTTP %ld%s%s%s%s", r->http, e.code[0] ? " " : "", e.code,
			     e.code[0] && e.message[0] ? ": "
			     : e.message[0]	       ? " "
						       : "",
			     e.message);
	}
	if (r->refused[0] && n >= 0 && (size_t)n < cap)
		n += snprintf(dst + n, cap - (size_t)n, " (%s)", r->refused);
	if (r->gave_up && n >= 0 && (size_t)n < cap)
		snprintf(dst + n, cap - (size_t)n, " (gave up after %d attempt%s)", r->attempts,
			 r->attempts == 1 ? "" : "s");
}
