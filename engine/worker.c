/* worker.c — one thread, one curl multi handle, many rows at once.
 *
 * A worker owns a fixed set of slots (an easy handle and a response buffer
 * each, reused for every request: connections stay alive in the multi
 * handle's pool) and two sets of rows waiting without a slot: a min-heap
 * of rows waiting for a time (a retry after its backoff, the next poll of
 * an accepted operation), and the rows a 401 refused, waiting for a token
 * newer than the one they were sent with. Waiting rows hold no slot, so
 * slow operations and a slow token command do not eat the concurrency
 * budget, and the other rows keep going meanwhile.
 *
 * The loop: start waiting items that are due, fill free slots from the input
 * queue, then block in evloop_turn() until a socket is ready, the
 * nearest due time, or a wakeup (a push into an empty input queue, a
 * token fetch that ended, or a stop). Nothing sleeps, and nothing waits
 * for a token: the token's own thread fetches it (token.c), and wakes
 * every worker when it is done. Each finished request is classified by
 * the service and the item either waits again, or is finished onto the
 * output queue.
 *
 * Every item taken from the input queue leaves on the output queue exactly
 * once: finish() is the only way out, and the stop path goes through it. */
#include "engine/flow.h"
#include "engine/worker.h"
#include "lib/array.h"
#include "lib/clock.h"
#include "engine/evloop.h"
#include "lib/err.h"
#include "lib/heap.h"
#include "engine/http.h"
#include "engine/item.h"
#include "engine/lookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESP_MAX (64 * 1024)	 /* response bytes kept; the rest is dropped */
#define LIST_RESP_MAX (32 << 20) /* a session list's page may be larger */
#define URL_MAX 4096
#define IDLE_WAIT_MS 100 /* longest block: how soon a stop is noticed */
#define REFUSED_MAX 16	 /* connection failures re-sent at once per row */
#define REAUTH_MAX 3	 /* 401s a row may answer with a new token */

struct slot {
	CURL *easy;
	struct item *it;
	char *resp;
	size_t resp_len, resp_cap;
	const char *op_id_header;	      /* the service's: where the operation id comes */
	char tracking[SERVICE_OP_ID_MAX + 2]; /* a byte over the cap: a longer id shows */
	char request_id[48];
	struct retry_after ra;	 /* what the throttling headers asked */
	struct quota_headers qh; /* what the answer said of the quota left */
	struct quota_ticket qt;	 /* the quota this request spent (paced runs) */
	bool qt_held;
	bool refused;	    /* the connection failed the request: send again at once */
	bool unconnected;   /* no connection was made: the request surely never left */
	struct http_id id;  /* the service's request-id header, before the others */
	unsigned token_gen; /* generation of the bearer token set on easy */
	char errbuf[CURL_ERROR_SIZE];
};

struct worker {
	struct engine_shared *sh;
	const struct engine_job *job;
	CURLM *multi;
	struct evloop *ev;
	struct curl_slist *post_headers, *get_headers;
	struct curl_slist *empty_post_headers; /* a POST without a body: no Content-Type */
	struct slot *slots;
	int nslots, *free_idx, nfree;
	struct heap waiting;	 /* items by due time, earliest first */
	struct item **for_token; /* items a 401 refused, until a newer token (auth_gen) */
	size_t nfor_token, for_token_cap;
	atomic_bool token_news; /* the token's thread ended a fetch since we last looked */
	struct item **for_pool; /* lookup rows whose collection is being listed */
	size_t nfor_pool, for_pool_cap;
	atomic_bool pool_news; /* a list ended since we last looked */
	int max_items;
	int bucket[2]; /* the quota bucket of an operation and of a list page; -1: none */
	bool input_done;
	uint64_t rng;
	struct engine_stats stats;
	char *body;
	size_t body_cap;
	char *token; /* TOKEN_MAX bytes when the job has a token */
	char url[URL_MAX];
};

/* ---- libcurl callbacks ----------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct slot *s = arg;
	size_t len = size * n, max = s->it->phase == ITEM_LIST ? LIST_RESP_MAX : RESP_MAX;
	if (s->resp_len + len > s->resp_cap && s->resp_cap < max) {
		size_t cap =
		    s->resp_cap * 2 > s->resp_len + len ? s->resp_cap * 2 : s->resp_len + len;
		char *grown = realloc(s->resp, cap < max ? cap : max);
		if (grown)
			s->resp = grown, s->resp_cap = cap < max ? cap : max;
	}
	size_t room = s->resp_cap - s->resp_len, keep = len < room ? len : room;
	memcpy(s->resp + s->resp_len, data, keep);
	s->resp_len += keep;
	return len;
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
	struct slot *s = arg;
	size_t len = size * n;
	if (service_header_value(line, len, s->op_id_header, s->tracking, sizeof(s->tracking)) ||
	    service_header_value(line, len, "x-ms-request-id", s->request_id,
				 sizeof(s->request_id)))
		return len;
	retry_after_header(&s->ra, line, len, clock_wall_ms());
	quota_headers_line(&s->qh, line, len);
	return len;
}

/* ---- set-up ---------------------------------------------------------- */

static int slot_init(struct worker *w, struct slot *s)
{
	const struct engine_job *job = w->job;
	if (!(s->resp = malloc(RESP_MAX)) || !(s->easy = curl_easy_init()))
		return ERR_NOMEM;
	s->resp_cap = RESP_MAX;
	CURL *e = s->easy;
	curl_easy_setopt(e, CURLOPT_PRIVATE, s);
	s->op_id_header = job->service->op_id_header;
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(e, CURLOPT_SHARE, w->sh->share);
	evloop_easy(w->ev, e);
	http_setup(e, job);
	return 0;
}

static void wake(void *arg)
{
	evloop_wake(arg);
}

/* Called by whichever worker ended a list, with the table's lock held. */
static void pool_wake(void *arg)
{
	struct worker *w = arg;
	atomic_store(&w->pool_news, true);
	evloop_wake(w->ev);
}

/* Called by the token's thread, with its lock held, when a fetch ended. */
static void token_wake(void *arg)
{
	struct worker *w = arg;
	atomic_store(&w->token_news, true);
	evloop_wake(w->ev);
}

struct worker *worker_new(struct engine_shared *sh, int id, int max_active, int max_items)
{
	struct worker *w = calloc(1, sizeof(*w));
	const struct engine_job *job = sh->job;
	if (!w)
		return NULL;
	w->sh = sh, w->job = job;
	w->nslots = max_active, w->max_items = max_items;
	w->rng = (uint64_t)clock_wall_ms() * 2654435761u + (uint64_t)id * 0x9E3779B97F4A7C15u + 1;
	w->body_cap = 64 + 6 * (1024 + (job->message ? strlen(job->message) : 0));
	for (int list = 0; list < 2; list++) {
		enum quota_bucket b;
		const char *name = sh->paced ? job->service->quota_bucket(job->op, list) : NULL;
		w->bucket[list] = name && quota_bucket_parse(name, &b) == 0 ? (int)b : -1;
	}
	if (!(w->multi = curl_multi_init()) || !(w->ev = evloop_new(w->multi)) ||
	    !(w->slots = calloc(w->nslots, sizeof(*w->slots))) ||
	    !(w->free_idx = calloc(w->nslots, sizeof(int))) || !(w->body = malloc(w->body_cap)) ||
	    (job->token && !(w->token = malloc(TOKEN_MAX))) ||
	    !(w->post_headers = http_headers(job->service, true)) ||
	    !(w->get_headers = http_headers(job->service, false)) ||
	    !(w->empty_post_headers = http_headers(job->service, false)) ||
	    !curl_slist_append(w->empty_post_headers, "Content-Type:"))
		goto fail;
	/* Slots get their handle and buffer when first used (slot_init): the
	 * free list is a stack, so --concurrency 65536 for 100 rows costs 100. */
	for (int i = 0; i < w->nslots; i++)
		w->free_idx[w->nfree++] = w->nslots - 1 - i;
	if (queue_add_waker(sh->in, wake, w->ev) < 0 ||
	    (job->token && token_add_waker(job->token, token_wake, w) < 0) ||
	    (sh->lookup && lookup_add_waker(sh->lookup, pool_wake, w) < 0))
		goto fail;
	return w;
fail:
	worker_free(w);
	return NULL;
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	if (w->job->token) /* first: the token's thread may be about to wake us */
		token_remove_waker(w->job->token, token_wake, w);
	for (int i = 0; w->slots && i < w->nslots; i++) {
		if (w->slots[i].easy)
			curl_easy_cleanup(w->slots[i].easy);
		free(w->slots[i].resp);
	}
	if (w->multi)
		curl_multi_cleanup(w->multi);
	evloop_free(w->ev); /* after the multi: closing its connections calls back */
	curl_slist_free_all(w->post_headers);
	curl_slist_free_all(w->get_headers);
	curl_slist_free_all(w->empty_post_headers);
	free(w->slots);
	free(w->free_idx);
	heap_release(&w->waiting);
	free(w->for_token);
	free(w->for_pool);
	free(w->body);
	if (w->token)
		explicit_bzero(w->token, TOKEN_MAX);
	free(w->token);
	free(w);
}

void worker_stats(const struct worker *w, struct engine_stats *sum)
{
	sum->requests += w->stats.requests;
	sum->polls += w->stats.polls;
	sum->lists += w->stats.lists;
	sum->retries += w->stats.retries;
}

/* ---- the life of an item --------------------------------------------- */

static int active(const struct worker *w)
{
	return w->nslots - w->nfree;
}

/* Items that hold no slot: waiting for a time, a token or a list. */
static int waiting(const struct worker *w)
{
	return (int)w->waiting.len + (int)w->nfor_token + (int)w->nfor_pool;
}

static bool stopping(const struct worker *w)
{
	return atomic_load(&w->sh->stop) != STOP_NONE;
}

static void list_end(struct worker *w, struct item *list, bool ok);

static void finish(struct worker *w, struct item *it)
{
	if (it->phase == ITEM_LIST) { /* not a row: a list given up (a stop, an error) */
		list_end(w, it, false);
		return;
	}
	it->finished_ms = clock_wall_ms();
	if (queue_push(w->sh->out, it) < 0)
		item_free(it); /* the writer is gone: the process is exiting */
}

/* Writes the tracking id to the report now, as an `accepted` row that the
 * final row will supersede: after a crash, --resume polls this operation
 * instead of sending it again. */
static void journal(struct worker *w, const struct item *it)
{
	struct item *j = item_clone(it);
	if (!j)
		return; /* the final row still comes; only crash-safety is lost */
	j->status = STATUS_ACCEPTED;
	j->journal = true;
	finish(w, j);
}

/* Puts an item aside until `due`; when the run is stopping it is finished
 * instead: an unsent retry as not_attempted, an unpolled operation as
 * accepted (its tracking id lets a resume poll it). */
static void park(struct worker *w, struct item *it, int64_t due)
{
	if (stopping(w)) {
		item_left_over(it, NULL, NULL);
		finish(w, it);
		return;
	}
	it->due = due;
	if (heap_push(&w->waiting, due, it) < 0) { /* out of memory: the row still ends */
		item_left_over(it, "OutOfMemory", "cannot wait for a retry");
		finish(w, it);
	}
}

static double random_unit(struct worker *w)
{
	return retry_random(&w->rng);
}

/* Failures of the connection, not of the row: a server going away (HTTP/2
 * GOAWAY: nginx does it every keepalive_requests, 1,000 by default) leaves
 * the requests in flight on a dead connection (CURLE_SEND_ERROR, "Connection
 * died" after libcurl's own attempts), and libcurl 7.88 fails a share of
 * multiplexed streams (CURLE_HTTP2_STREAM) on which the server and h2load
 * see no error. Those go again at once on another connection, without a
 * backoff and without spending a retry; a few may have been processed,
 * which is harmless by design (at least once). At most REFUSED_MAX per row,
 * then the retry policy takes over. */
static bool resend_refused(struct worker *w, struct slot *s, struct item *it, int64_t now)
{
	if (!s->refused || it->refused >= REFUSED_MAX)
		return false;
	it->refused++;
	if (it->phase != ITEM_POLL)
		it->attempts--; /* prepare() counts it again */
	if (it->fan && it->phase == ITEM_SEND)
		it->fan->tries--;
	park(w, it, now);
	return true;
}

/* Schedules another try after a backoff, at least the service's
 * Retry-After; false when the row cannot wait: its retries or
 * --retry-max-time are spent (it keeps its last error), or the service asked
 * for longer than the row may still wait (retry_wait_limit: then the error
 * says Throttled and how long; flow_answer() paused nobody for it). */
static bool retry_later(struct worker *w, struct slot *s, struct item *it, int tries, int64_t now)
{
	const struct retry_policy *p = &w->job->retry;
	long limit = retry_wait_limit(p, it->first_try, now);
	if (s->ra.ms > limit) {
		char why[sizeof(it->error_message)];
		retry_refusal(why, sizeof(why), p, s->ra.ms, limit, s->ra.header);
		item_set_error(it, it->status, "Throttled", why);
		return false;
	}
	long delay = retry_delay_ms(p, tries, random_unit(w), s->ra.ms);
	if (!retry_allowed(p, tries, it->first_try, now, delay))
		return false;
	w->stats.retries++;
	park(w, it, now + delay);
	return true;
}

static struct curl_slist *headers(struct worker *w, struct slot *s, struct curl_slist *fixed)
{
	return http_with_id(w->job->service, &w->rng, &s->id, fixed);
}

static int prepare(struct worker *w, struct slot *s, struct item *it)
{
	const struct engine_job *job = w->job;
	const struct service *svc = job->service;
	struct item_fanout *f = it->fan;
	int n;
	if (it->phase == ITEM_POLL || it->phase == ITEM_LIST) {
		if (it->phase == ITEM_LIST)
			snprintf(w->url, sizeof(w->url), "%s", it->link), it->attempts++;
		else if (svc->result_url(w->url, sizeof(w->url), &job->target, it->tracking_id) < 0)
			return ERR_INVAL;
		curl_easy_setopt(s->easy, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, NULL);
		curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, headers(w, s, w->get_headers));
		if (it->phase == ITEM_LIST)
			w->stats.lists++;
		else
			w->stats.polls++;
	} else {
		if (f) { /* the session being acted on */
			strcpy(f->addr.session_host, f->t[f->cur].session_host);
			strcpy(f->addr.id, f->t[f->cur].id);
		}
		n = f ? svc->session_request(w->url, sizeof(w->url), w->body, w->body_cap,
					     &job->target, job->op, &f->addr, job->title,
					     job->message)
		      : svc->op_request(w->url, sizeof(w->url), w->body, w->body_cap, &job->target,
					job->op, it->collection, it->upn, job->message);
		if (n < 0)
			return ERR_INVAL;
		bool body = n > 0 || !svc->op_method || !strcmp(svc->op_method(job->op), "POST");
		if (body) {
			curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)n);
			curl_easy_setopt(s->easy, CURLOPT_COPYPOSTFIELDS, w->body);
		} else {
			curl_easy_setopt(s->easy, CURLOPT_HTTPGET, 1L);
		}
		/* An operation that must not be sent twice (AVD's message pops up)
		 * gets a connection of its own: libcurl sends a request again by
		 * itself when a reused connection dies before any answer. */
		curl_easy_setopt(
		    s->easy, CURLOPT_FRESH_CONNECT,
		    svc->retry_safe && !svc->retry_safe(job->op, 0, false, false) ? 1L : 0L);
		/* POST unless the service says otherwise (AVD's logoff is a DELETE) */
		curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST,
				 svc->op_method ? svc->op_method(job->op) : NULL);
		curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER,
				 headers(w, s,
					 n > 0 || !f ? w->post_headers
					 : body	     ? w->empty_post_headers
						     : w->get_headers));
		it->attempts++;
		if (f)
			f->tries++;
		w->stats.requests++;
	}
	curl_easy_setopt(s->easy, CURLOPT_URL, w->url);
	http_sync_token(s->easy, job, &s->token_gen, w->token);
	return 0;
}

/* Rate and pause: may this item go now? If not, it waits (holding its
 * reserved slot) and false is returned. A reservation made before a pause
 * began is given up for a new one after it, so a pause ends in a trickle at
 * the configured rate, not a burst. */
static bool gate(struct worker *w, struct item *it, int64_t now, struct quota_ticket *qt,
		 bool *paced)
{
	int64_t pause = atomic_load(&w->sh->pause_until), at;
	if (!it->reserved || now < pause) {
		it->reserved = flow_reserve(w->sh, it->phase != ITEM_SEND, now, &at);
		if (at < pause)
			at = pause;
		if (!it->reserved || at > now) {
			park(w, it, at);
			return false;
		}
	}
	it->reserved = false;
	/* and the service's quota: a request waits, holding nothing, while
	 * the pacer says the bucket must refill (polls are not counted) */
	int b = it->phase == ITEM_POLL ? -1 : w->bucket[it->phase == ITEM_LIST];
	long wait = b >= 0 ? flow_quota_take(w->sh, (enum quota_bucket)b, now, qt) : 0;
	if (wait > 0) {
		park(w, it, now + wait);
		return false;
	}
	*paced = b >= 0;
	return true;
}

static bool resolved(struct worker *w, struct item *it, int64_t now);

static void row_done(struct worker *w, struct item *it, int64_t now);

static void start(struct worker *w, struct item *it, int64_t now)
{
	if (w->sh->lookup && it->phase == ITEM_SEND && !resolved(w, it, now))
		return;
	struct quota_ticket qt;
	bool paced = false;
	if (!gate(w, it, now, &qt, &paced))
		return;
	struct slot *s = &w->slots[w->free_idx[--w->nfree]];
	s->it = it;
	s->qt = qt, s->qt_held = paced;
	quota_headers_init(&s->qh);
	s->resp_len = 0, s->refused = s->unconnected = false;
	retry_after_init(&s->ra);
	s->tracking[0] = s->request_id[0] = s->errbuf[0] = '\0';
	if (!it->started_ms) { /* first request for this row (a resumed one polls first) */
		it->started_ms = clock_wall_ms();
		it->first_try = now;
		if (it->phase == ITEM_POLL)
			it->poll_deadline = now + w->job->poll_timeout_ms;
	}
	if ((!s->easy && slot_init(w, s) < 0) || prepare(w, s, it) < 0 ||
	    curl_multi_add_handle(w->multi, s->easy) != CURLM_OK) {
		w->free_idx[w->nfree++] = (int)(s - w->slots);
		s->it = NULL;
		if (s->qt_held) /* spent, never sent */
			flow_quota_answer(w->sh, &s->qt, &s->qh, 0, -1, now);
		s->qt_held = false;
		item_set_error(it, STATUS_FAILED, "InvalidRequest",
			       "cannot build the request URL or body");
		row_done(w, it, now);
	}
}

static void on_auth_error(struct worker *w, int http, const char *code, const char *message)
{
	int expected = STOP_NONE;
	const struct service *svc = w->job->service;
	if (!atomic_compare_exchange_strong(&w->sh->stop, &expected, STOP_AUTH))
		return;
	if (http == 403 && svc->role)
		fprintf(stderr,
			"rabulk: not allowed (HTTP 403 %s): the credentials need the role '%s' on "
			"the host pool (or above); stopping the run\n",
			code[0] ? code : "Forbidden", svc->role(w->job->op));
	else
		fprintf(stderr, "rabulk: authentication rejected (HTTP %d %s): stopping the run\n",
			http, code[0] ? code : message);
}

/* The wait of a row a 401 refused is over: rc is token_renew()'s answer.
 * 0, a newer token: the row goes again now. ERR_STOPPED, the fetch was
 * given up because the run is interrupted (token_stop_fn: a signal): that
 * stops the run here, before anyone can call it an auth failure, and the
 * row ends as any row waiting at a stop does (park()). Else no token will
 * come: the row ends with the 401's error (set before it waited) and the
 * run stops for authentication. */
static void token_settled(struct worker *w, struct item *it, int rc, int64_t now)
{
	if (rc == ERR_STOPPED) {
		int expected = STOP_NONE;
		atomic_compare_exchange_strong(&w->sh->stop, &expected, STOP_SIGNAL);
	}
	if (rc == 0 || rc == ERR_STOPPED) {
		park(w, it, now);
		return;
	}
	on_auth_error(w, 401, it->error_code, it->error_message);
	finish(w, it);
}

/* A 401: the token may have expired. The row gets its final error now, in
 * case no new token comes, and waits, holding no slot, for a token newer
 * than the one it was sent with; the other rows go on meanwhile. False
 * when it may not: a row whose send and polls span several expiries (a
 * slow run, short-lived tokens) may wait REAUTH_MAX times; token_renew()
 * says at once when the credentials themselves are refused. */
static bool reauth(struct worker *w, struct slot *s, struct item *it, int64_t now)
{
	int rc = it->reauths < REAUTH_MAX && w->job->token
		     ? token_renew(w->job->token, s->token_gen)
		     : ERR_AUTH;
	if (rc == ERR_AUTH)
		return false;
	if (rc != ERR_STOPPED)
		it->reauths++;
	if (rc != ERR_AGAIN) {
		token_settled(w, it, rc, now);
		return true;
	}
	it->auth_gen = s->token_gen; /* a stop meanwhile: drain() ends it */
	if (array_grow((void **)&w->for_token, &w->for_token_cap, w->nfor_token + 1,
		       sizeof(*w->for_token), 64) < 0) { /* out of memory: the row still ends */
		item_set_error(it, STATUS_NOT_ATTEMPTED, "OutOfMemory", "cannot wait for a token");
		finish(w, it);
		return true;
	}
	w->for_token[w->nfor_token++] = it;
	return true;
}

/* The token's thread ended a fetch: each row waiting for a token asks
 * again (token_renew() is cheap, and most rows share a generation). */
static void token_news(struct worker *w, int64_t now)
{
	size_t keep = 0;
	unsigned gen = 0;
	int rc = ERR_AGAIN;
	for (size_t i = 0; i < w->nfor_token; i++) {
		struct item *it = w->for_token[i];
		if (i == 0 || it->auth_gen != gen)
			gen = it->auth_gen, rc = token_renew(w->job->token, gen);
		if (rc == ERR_AGAIN)
			w->for_token[keep++] = it;
		else
			token_settled(w, it, rc, now);
	}
	w->nfor_token = keep;
}

/* A 2xx to the operation: keeps its tracking id, whole, and says whether
 * the row is to be polled. A 202 says only that the work was accepted, so
 * without an id that can be polled (missing, or one service_op_id_problem()
 * refuses: too long to keep whole, control characters) nothing proves it
 * ran: the row ends accepted with the reason (pending, exit 1; --resume
 * sends it again, having nothing to poll). A 200 or 204 without an id is
 * HTTP's word that the work is done. With --no-wait the row is submitted
 * either way, the reason noted when the id could not be kept. */
static bool tracked(struct worker *w, struct slot *s, struct item *it, int http)
{
	const char *why = service_op_id_problem(s->tracking);
	it->error_code[0] = it->error_message[0] = '\0';
	if (!w->job->service->polled) { /* synchronous: the 2xx is the outcome */
		it->status = STATUS_SUCCEEDED;
		return false;
	}
	if (!why) {
		snprintf(it->tracking_id, sizeof(it->tracking_id), "%s", s->tracking);
		if (!w->job->no_wait)
			return true;
	} else if (s->tracking[0] || http == 202) {
		char msg[sizeof(it->error_message)];
		if (s->tracking[0])
			snprintf(msg, sizeof(msg),
				 "%d with an %s that %s: the operation cannot be polled, its "
				 "outcome is unknown",
				 http, s->op_id_header, why);
		else
			snprintf(msg, sizeof(msg),
				 "%d without %s: the operation cannot be polled, its outcome is "
				 "unknown",
				 http, s->op_id_header);
		item_set_error(it, STATUS_ACCEPTED,
			       s->tracking[0] ? "BadTrackingId" : "NoTrackingId", msg);
	} else {
		it->status = STATUS_SUCCEEDED;
	}
	if (w->job->no_wait)
		it->status = STATUS_SUBMITTED;
	return false;
}

/* ---- lookup and fan-out (a service with lookup: AVD) ------------------ */

static void list_start(struct worker *w, struct lookup_pool *pool, const struct item_fanout *f,
		       const struct item *row, int64_t now)
{
	const struct engine_job *job = w->job;
	struct item *l = item_new(row->line, job->op, f->addr.pool, "", NULL);
	if (l) {
		l->phase = ITEM_LIST;
		l->pool = pool;
	}
	if (!l ||
	    job->service->sessions_url(w->url, sizeof(w->url), &job->target, f->addr.pool) < 0 ||
	    !(l->link = strdup(w->url))) {
		lookup_failed(w->sh->lookup, pool, 0, "InvalidRequest",
			      l ? "cannot build the session list's URL" : "out of memory");
		item_free(l);
		return;
	}
	start(w, l, now);
}

/* A list ended: complete (ok), or given up with the list item's error. */
static void list_end(struct worker *w, struct item *l, bool ok)
{
	if (ok)
		lookup_ready(w->sh->lookup, l->pool);
	else
		lookup_failed(w->sh->lookup, l->pool, l->http_status,
			      l->error_code[0] ? l->error_code : "NotListed",
			      l->error_message[0] ? l->error_message
						  : "the run stopped before the session list "
						    "was fetched");
	item_free(l);
}

static int add_found(void *arg, const struct service_found *f)
{
	struct lookup_session s = {f->upn, f->session_host, f->id, f->state};
	return f->upn[0] ? lookup_add(arg, &s) : 0;
}

/* A page of a list answered. */
static void listed(struct worker *w, struct slot *s, struct item *l, int http, int64_t now)
{
	const struct service *svc = w->job->service;
	struct service_error e;
	char next[URL_MAX];
	memset(&e, 0, sizeof(e));
	if (http)
		flow_answer(w->sh, service_throttled(http), s->ra.ms,
			    retry_wait_limit(&w->job->retry, l->first_try, now), now);
	l->http_status = http;
	if (http >= 200 && http < 300) {
		int rc =
		    svc->parse_page(s->resp, s->resp_len, add_found, l->pool, next, sizeof(next));
		if (rc == ERR_NOMEM) {
			item_set_error(l, STATUS_FAILED, "OutOfMemory",
				       "cannot keep the session list");
			list_end(w, l, false);
			return;
		}
		if (rc == 0 && !next[0]) {
			list_end(w, l, true);
			return;
		}
		if (rc == 0 && !svc->next_allowed(next, w->job->target.endpoint)) {
			item_set_error(l, STATUS_FAILED, "BadNextLink",
				       "the list's nextLink points away from the endpoint: not "
				       "followed with our credentials");
			list_end(w, l, false);
			return;
		}
		if (rc == 0) { /* the next page, with a fresh set of tries */
			free(l->link);
			l->link = strdup(next);
			l->attempts = 0, l->first_try = now;
			if (!l->link) {
				item_set_error(l, STATUS_FAILED, "OutOfMemory",
					       "cannot follow nextLink");
				list_end(w, l, false);
				return;
			}
			park(w, l, now);
			return;
		}
		/* a page cut short or garbled: fetched again (nothing of it was kept) */
		snprintf(e.message, sizeof(e.message), "unreadable session list page (%d bytes)",
			 (int)s->resp_len);
		item_set_error(l, STATUS_FAILED, "BadList", e.message);
		if (resend_refused(w, s, l, now) || retry_later(w, s, l, l->attempts, now))
			return;
		list_end(w, l, false);
		return;
	}
	if (http == 0)
		snprintf(e.message, sizeof(e.message), "%s", s->errbuf);
	else
		svc->parse_error(s->resp, s->resp_len, &e);
	item_set_error(l, STATUS_FAILED, e.code[0] ? e.code : NULL, e.message);
	switch (svc->classify(http, &e)) {
	case SERVICE_V_RETRY:
		if (resend_refused(w, s, l, now) || retry_later(w, s, l, l->attempts, now))
			return;
		break;
	case SERVICE_V_UNAUTHORIZED:
		if (reauth(w, s, l, now))
			return;
		/* fall through */
	case SERVICE_V_FORBIDDEN:
		on_auth_error(w, http, e.code, e.message);
		break;
	default:
		break;
	}
	list_end(w, l, false);
}

static int count_match(void *arg, const struct lookup_session *s)
{
	return 0;
}

struct matching {
	const struct service *svc;
	struct item *it;
};

static int add_target(void *arg, const struct lookup_session *s)
{
	const struct matching *m = arg;
	struct item_fanout *f = m->it->fan;
	f->matched = true;
	if (!m->svc->acts_on(m->it->op, s->state))
		return 0;
	if (strlen(s->session_host) > SERVICE_NAME_MAX || strlen(s->id) > SERVICE_NAME_MAX)
		return 0; /* cannot be addressed whole: never cut */
	strcpy(f->t[f->n].session_host, s->session_host);
	strcpy(f->t[f->n].id, s->id);
	f->n++;
	return 0;
}

/* "host/id;host/id": the sessions a row acts on, for its report row. */
static int name_targets(struct item *it)
{
	const struct item_fanout *f = it->fan;
	size_t len = 1;
	for (int i = 0; i < f->n; i++)
		len += strlen(f->t[i].session_host) + strlen(f->t[i].id) + 2;
	free(it->sessions);
	if (!(it->sessions = malloc(len)))
		return ERR_NOMEM;
	size_t n = 0;
	for (int i = 0; i < f->n; i++)
		n += (size_t)sprintf(it->sessions + n, "%s%s/%s", i ? ";" : "",
				     f->t[i].session_host, f->t[i].id);
	it->sessions[n] = '\0';
	return 0;
}

/* The row's sessions from its collection's list: true when it has some to
 * act on; otherwise it is finished (no session, the list's error) or waits
 * for the list, holding no slot. */
static bool from_list(struct worker *w, struct item *it, int64_t now)
{
	struct lookup *lk = w->sh->lookup;
	enum lookup_state st = lookup_state(lk, it->pool);
	if (st == LOOKUP_LISTING) {
		if (array_grow((void **)&w->for_pool, &w->for_pool_cap, w->nfor_pool + 1,
			       sizeof(*w->for_pool), 64) < 0) {
			item_set_error(it, STATUS_NOT_ATTEMPTED, "OutOfMemory",
				       "cannot wait for the session list");
			finish(w, it);
			return false;
		}
		w->for_pool[w->nfor_pool++] = it;
		return false;
	}
	if (st == LOOKUP_FAILED) {
		const char *code, *message;
		lookup_error(it->pool, &it->http_status, &code, &message);
		item_set_error(it, STATUS_FAILED, code, message);
		finish(w, it);
		return false;
	}
	int n = lookup_match(it->pool, it->upn, count_match, NULL);
	struct item_fanout *f = realloc(it->fan, sizeof(*f) + (size_t)n * sizeof(f->t[0]));
	if (!f) {
		item_set_error(it, STATUS_NOT_ATTEMPTED, "OutOfMemory", "cannot keep the sessions");
		finish(w, it);
		return false;
	}
	it->fan = f;
	struct matching m = {w->job->service, it};
	lookup_match(it->pool, it->upn, add_target, &m);
	if (f->n == 0) {
		bool matched = f->matched;
		it->fan = NULL, free(f);
		item_set_error(it, STATUS_NO_SESSION, "NoSession",
			       !matched ? "the user has no session in the host pool"
			       : w->job->op == SERVICE_DISCONNECT
				   ? "every session of the user is disconnected already"
				   : "the user has no active session to message");
		finish(w, it);
		return false;
	}
	if (name_targets(it) < 0) {
		item_set_error(it, STATUS_NOT_ATTEMPTED, "OutOfMemory", "cannot keep the sessions");
		finish(w, it);
		return false;
	}
	return true;
}

/* May a lookup row be sent now? It reads its address once; a row naming a
 * session has its one target; a collection's row takes its sessions from
 * the list, starting that list when it is the first to need it. */
static bool resolved(struct worker *w, struct item *it, int64_t now)
{
	const struct engine_job *job = w->job;
	struct item_fanout *f = it->fan;
	if (f && f->n > 0)
		return true;
	if (!f) {
		const char *why = "is not understood";
		if (!(f = it->fan = calloc(1, sizeof(*f) + sizeof(f->t[0])))) {
			item_set_error(it, STATUS_NOT_ATTEMPTED, "OutOfMemory",
				       "cannot start the row");
			finish(w, it);
			return false;
		}
		f->worst = STATUS_SUCCEEDED;
		if (job->service->address(&job->target, it->collection, &f->addr, &why) < 0) {
			char msg[sizeof(it->error_message)];
			snprintf(msg, sizeof(msg), "collection '%.120s' %s", it->collection, why);
			item_set_error(it, STATUS_INVALID, "InvalidInput", msg);
			finish(w, it);
			return false;
		}
		if (f->addr.session_host[0]) { /* named directly: no list */
			strcpy(f->t[0].session_host, f->addr.session_host);
			strcpy(f->t[0].id, f->addr.id);
			f->n = 1;
			return name_targets(it) == 0 || (finish(w, it), false);
		}
	}
	if (!it->pool) {
		bool first;
		if (!(it->pool = lookup_pool(w->sh->lookup, f->addr.pool, &first))) {
			item_set_error(it, STATUS_NOT_ATTEMPTED, "OutOfMemory",
				       "cannot list sessions");
			finish(w, it);
			return false;
		}
		if (first)
			list_start(w, it->pool, f, it, now);
	}
	return from_list(w, it, now);
}

/* Lists ended: the rows waiting for them go on (to the heap: a slot may
 * not be free now). */
static void pool_news(struct worker *w, int64_t now)
{
	size_t keep = 0;
	for (size_t i = 0; i < w->nfor_pool; i++) {
		struct item *it = w->for_pool[i];
		if (lookup_state(w->sh->lookup, it->pool) == LOOKUP_LISTING)
			w->for_pool[keep++] = it;
		else
			park(w, it, now);
	}
	w->nfor_pool = keep;
}

/* A row's request reached its outcome (it->status and the error say
 * which): a lookup row keeps the worst of its sessions' and goes on to the
 * next session; any other row, and a lookup row's last session, is done. */
static void row_done(struct worker *w, struct item *it, int64_t now)
{
	struct item_fanout *f = it->fan;
	if (!f || f->n == 0) {
		finish(w, it);
		return;
	}
	if (!item_worse(f->worst, it->status)) {
		f->worst = it->status, f->worst_http = it->http_status;
		snprintf(f->worst_code, sizeof(f->worst_code), "%s", it->error_code);
		snprintf(f->worst_message, sizeof(f->worst_message), "%s", it->error_message);
	}
	if (++f->cur < f->n && it->status != STATUS_NOT_ATTEMPTED) {
		f->tries = 0;
		it->error_code[0] = it->error_message[0] = '\0';
		park(w, it, now); /* the next session; a stop meanwhile leaves it over */
		return;
	}
	it->status = f->worst, it->http_status = f->worst_http;
	snprintf(it->error_code, sizeof(it->error_code), "%s", f->worst_code);
	snprintf(it->error_message, sizeof(it->error_message), "%s", f->worst_message);
	finish(w, it);
}

static void sent(struct worker *w, struct slot *s, struct item *it, int http, int64_t now)
{
	const struct service *svc = w->job->service;
	struct service_error e;
	memset(&e, 0, sizeof(e));
	if (http == 0)
		snprintf(e.message, sizeof(e.message), "%s", s->errbuf);
	else if (http < 200 || http >= 300)
		svc->parse_error(s->resp, s->resp_len, &e);
	it->http_status = http;
	snprintf(it->request_id, sizeof(it->request_id), "%s", s->request_id);

	if (http)
		flow_answer(w->sh, service_throttled(http), s->ra.ms,
			    retry_wait_limit(&w->job->retry, it->first_try, now), now);
	switch (svc->classify(http, &e)) {
	case SERVICE_V_OK:
		if (!tracked(w, s, it, http))
			break;
		it->phase = ITEM_POLL;
		it->poll_deadline = now + w->job->poll_timeout_ms;
		journal(w, it);
		park(w, it, now + w->job->poll_interval_ms);
		return;
	case SERVICE_V_NO_SESSION:
		item_set_error(it, STATUS_NO_SESSION, e.code, e.message);
		break;
	case SERVICE_V_RETRY:
		item_set_error(it, STATUS_FAILED, e.code[0] ? e.code : NULL, e.message);
		if (svc->retry_safe &&
		    !svc->retry_safe(it->op, http, s->unconnected, s->ra.ms > 0)) {
			snprintf(it->error_message, sizeof(it->error_message),
				 "%.180s (not sent again: it may have reached the user)",
				 e.message[0] ? e.message : "no answer");
			break;
		}
		if (resend_refused(w, s, it, now) ||
		    retry_later(w, s, it, it->fan ? it->fan->tries : it->attempts, now))
			return;
		break;
	case SERVICE_V_UNAUTHORIZED:
		item_set_error(it, STATUS_FAILED, e.code, e.message);
		if (reauth(w, s, it, now))
			return;
		/* fall through */
	case SERVICE_V_FORBIDDEN:
		on_auth_error(w, http, e.code, e.message);
		/* fall through */
	case SERVICE_V_FAILED:
		item_set_error(it, STATUS_FAILED, e.code, e.message);
		break;
	}
	row_done(w, it, now);
}

static void polled(struct worker *w, struct slot *s, struct item *it, int http, int64_t now)
{
	const struct service *svc = w->job->service;
	struct service_opresult r;
	struct service_error e;
	memset(&e, 0, sizeof(e));

	if (http)
		flow_answer(w->sh, service_throttled(http), s->ra.ms,
			    retry_wait_limit(&w->job->retry, it->first_try, now), now);
	if (http == 200 && svc->parse_result(s->resp, s->resp_len, &r) == 0) {
		switch (r.status) {
		case SERVICE_OP_SUCCESS:
			item_set_error(it, STATUS_SUCCEEDED, "", "");
			break;
		case SERVICE_OP_FAILED:
			item_set_error(it,
				       svc->details_no_session(r.details) ? STATUS_NO_SESSION
									  : STATUS_FAILED,
				       "OperationFailed", r.details);
			break;
		default:
			if (now + w->job->poll_interval_ms <= it->poll_deadline) {
				park(w, it, now + w->job->poll_interval_ms);
				return;
			}
			item_set_error(it, STATUS_ACCEPTED, "PollTimeout",
				       "operation still pending after --poll-timeout");
		}
		finish(w, it);
		return;
	}
	if (http == 0)
		snprintf(e.message, sizeof(e.message), "%s", s->errbuf);
	else if (http == 200)
		snprintf(e.message, sizeof(e.message), "unreadable operation result");
	else
		svc->parse_error(s->resp, s->resp_len, &e);
	if (http == 404 && it->resumed) { /* the service forgot it: do it again */
		it->phase = ITEM_SEND, it->resumed = false, it->tracking_id[0] = '\0';
		park(w, it, now);
		return;
	}
	enum service_verdict v = http == 200 ? SERVICE_V_RETRY : svc->classify(http, &e);
	/* The operation was accepted; only its outcome is unknown. */
	item_set_error(it, v == SERVICE_V_FAILED ? STATUS_FAILED : STATUS_ACCEPTED,
		       e.code[0] ? e.code : "PollFailed", e.message);
	if (v == SERVICE_V_UNAUTHORIZED && reauth(w, s, it, now))
		return;
	if (v == SERVICE_V_RETRY &&
	    (resend_refused(w, s, it, now) || retry_later(w, s, it, ++it->poll_errors, now)))
		return;
	if (v == SERVICE_V_UNAUTHORIZED || v == SERVICE_V_FORBIDDEN)
		on_auth_error(w, http, e.code, e.message);
	finish(w, it);
}

static void done(struct worker *w, CURL *easy, CURLcode rc)
{
	struct slot *s;
	long http = 0;
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&s);
	if (rc == CURLE_OK)
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &http);
	else if (!s->errbuf[0])
		snprintf(s->errbuf, sizeof(s->errbuf), "%s", curl_easy_strerror(rc));
	s->refused = rc == CURLE_HTTP2_STREAM || rc == CURLE_HTTP2 || rc == CURLE_SEND_ERROR;
	s->unconnected = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST;
	if (w->job->token)
		token_answered(w->job->token, s->token_gen, http);
	if (s->qt_held) /* every ticket is answered, whatever came */
		flow_quota_answer(w->sh, &s->qt, &s->qh, (int)http, s->ra.ms, clock_mono_ms());
	s->qt_held = false;
	curl_multi_remove_handle(w->multi, easy);
	w->free_idx[w->nfree++] = (int)(s - w->slots);

	struct item *it = s->it;
	s->it = NULL;
	if (it->phase == ITEM_POLL)
		polled(w, s, it, (int)http, clock_mono_ms());
	else if (it->phase == ITEM_LIST)
		listed(w, s, it, (int)http, clock_mono_ms());
	else
		sent(w, s, it, (int)http, clock_mono_ms());
}

/* ---- the loop -------------------------------------------------------- */

/* Moves items from the input queue into free slots; timeout_ms as queue_pop. */
static void take_input(struct worker *w, int timeout_ms, int64_t now)
{
	void *p;
	while (!w->input_done && w->nfree > 0 && active(w) + waiting(w) < w->max_items) {
		int rc = queue_pop(w->sh->in, &p, timeout_ms);
		if (rc == ERR_CLOSED)
			w->input_done = true;
		if (rc < 0)
			return;
		start(w, p, now);
		timeout_ms = 0;
	}
}

/* A second Ctrl-C: every transfer in flight is abandoned now. */
static void cancel_active(struct worker *w)
{
	for (int i = 0; i < w->nslots; i++) {
		struct slot *s = &w->slots[i];
		if (!s->it)
			continue;
		curl_multi_remove_handle(w->multi, s->easy);
		if (s->qt_held)
			flow_quota_answer(w->sh, &s->qt, &s->qh, 0, -1, clock_mono_ms());
		s->qt_held = false;
		w->free_idx[w->nfree++] = i;
		struct item *it = s->it;
		s->it = NULL;
		item_left_over(it, "Cancelled",
			       "the run was interrupted while this request was in flight");
		finish(w, it);
	}
}

/* The run is stopping: nothing new starts; what waits is finished. */
static void drain(struct worker *w)
{
	void *p;
	while ((int)w->waiting.len > 0)
		park(w, (struct item *)heap_pop(&w->waiting), 0);
	for (size_t i = 0; i < w->nfor_token; i++)
		park(w, w->for_token[i], 0);
	w->nfor_token = 0;
	for (size_t i = 0; i < w->nfor_pool; i++)
		park(w, w->for_pool[i], 0);
	w->nfor_pool = 0;
	while (queue_pop(w->sh->in, &p, 0) == 0) {
		item_left_over(p, NULL, NULL);
		finish(w, p);
	}
}

static long next_wait(const struct worker *w, int64_t now)
{
	if ((int)w->waiting.len == 0)
		return IDLE_WAIT_MS;
	int64_t d = heap_top(&w->waiting) - now;
	return d < 0 ? 0 : d < IDLE_WAIT_MS ? (long)d : IDLE_WAIT_MS;
}

static void loop(struct worker *w)
{
	for (;;) {
		int64_t now = clock_mono_ms();
		if (stopping(w))
			drain(w);
		if (atomic_load(&w->sh->cancel))
			cancel_active(w);
		if (w->nfor_token > 0 && atomic_exchange(&w->token_news, false))
			token_news(w, now);
		if (w->nfor_pool > 0 && atomic_exchange(&w->pool_news, false))
			pool_news(w, now);
		while ((int)w->waiting.len > 0 && w->nfree > 0 && heap_top(&w->waiting) <= now)
			start(w, (struct item *)heap_pop(&w->waiting), now);
		if (!stopping(w))
			take_input(w, active(w) + waiting(w) == 0 ? IDLE_WAIT_MS : 0, now);
		if (active(w) + waiting(w) == 0 && (w->input_done || stopping(w)))
			return;

		int n;
		evloop_turn(w->ev, next_wait(w, clock_mono_ms()));
		CURLMsg *m;
		while ((m = curl_multi_info_read(w->multi, &n)))
			if (m->msg == CURLMSG_DONE)
				done(w, m->easy_handle, m->data.result);
	}
}

void *worker_main(void *arg)
{
	struct worker *w = arg;
	loop(w);
	atomic_fetch_sub(&w->sh->live, 1);
	/* Only a stopping run ends with input left: from now on the reader
	 * sends its rows straight to the report as not_attempted. */
	queue_close(w->sh->in);
	return NULL;
}
