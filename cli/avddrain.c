/* avddrain.c — drain mode on AVD session hosts.
 *
 *   list the pools' session hosts (every page) ─▶ PATCH each one
 *   {"properties":{"allowNewSession":false}} ─▶ a report row per host
 *   with the value it had
 *
 * Before maintenance, rabulk drain --service avd closes the hosts first
 * (nobody new signs in), then messages, waits and logs off as drain.c does
 * for any service. After it, rabulk undrain puts back what the drain's
 * report recorded (a host that was closed before stays closed), or opens
 * every host when no report is given. The PATCHes go all at once through
 * fetch.c, with the retry policy of every other request. */
#include "cli/avddrain.h"
#include "cli/fetch.h"
#include "cli/sessions.h"
#include "lib/array.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "output/reportin.h"
#include "service/avd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct host {
	int pool; /* index into o->inputs */
	char name[AVD_NAME_MAX + 1];
	int allow; /* allowNewSession: 1, 0, -1 when not said */
};

struct hosts {
	struct host *v;
	size_t n, cap;
	int pool; /* the page being read */
	int rc;
};

static int add_host(void *arg, const struct avd_session_host *h)
{
	struct hosts *hs = arg;
	if (!h->name[0] || strlen(h->name) > AVD_NAME_MAX)
		return 0;
	if (array_grow((void **)&hs->v, &hs->cap, hs->n + 1, sizeof(*hs->v), 64) < 0)
		return ERR_NOMEM;
	struct host *x = &hs->v[hs->n++];
	x->pool = hs->pool;
	strcpy(x->name, h->name);
	x->allow = h->allow_new_session;
	return 0;
}

static int host_page(void *arg, int i, const char *body, size_t len, char *next, size_t cap)
{
	struct hosts *hs = arg;
	struct avd_page page;
	hs->pool = i;
	int rc = avd_parse_session_hosts(body, len, add_host, hs, &page);
	if (rc == 0 && snprintf(next, cap, "%s", page.next_link) >= (int)cap)
		rc = ERR_TOOBIG;
	return rc;
}

/* Every session host of the pools; returns the pools that could not be listed. */
static int list_hosts(const struct engine_job *job, const struct args *o, struct hosts *hs)
{
	char **url = calloc((size_t)o->ninputs + 1, sizeof(*url)), buf[4096];
	if (!url)
		return ERR_NOMEM;
	for (int i = 0; i < o->ninputs; i++) {
		struct avd_pool p;
		const char *why = "is not a host pool";
		if (avd_parse_pool_address(o->inputs[i], job->target.subscription, job->target.ns,
					   &p, &why) < 0 ||
		    avd_url_session_hosts(buf, sizeof(buf), job->target.endpoint, &p) < 0)
			fprintf(stderr, "rabulk: '%s' %s\n", o->inputs[i], why);
		else if (!(url[i] = strdup(buf)))
			return free(url), ERR_NOMEM;
	}
	int rc = sessions_pages(job, o->inputs, url, o->ninputs, host_page, hs);
	free(url);
	return rc;
}

/* ---- what the drain recorded ------------------------------------------ */

struct recorded {
	char **pool, **host; /* the drain rows' pool (as written) and host */
	bool *allow;
	size_t n, cap[3];
};

static int recorded_row(void *arg, const struct item *it)
{
	struct recorded *r = arg;
	const char *eq = it->sessions ? strrchr(it->sessions, '=') : NULL;
	if (it->op != SERVICE_DRAIN || !eq ||
	    (it->status != STATUS_SUCCEEDED && it->status != STATUS_SKIPPED))
		return 0;
	if (array_grow((void **)&r->pool, &r->cap[0], r->n + 1, sizeof(*r->pool), 16) < 0 ||
	    array_grow((void **)&r->host, &r->cap[1], r->n + 1, sizeof(*r->host), 16) < 0 ||
	    array_grow((void **)&r->allow, &r->cap[2], r->n + 1, sizeof(*r->allow), 16) < 0 ||
	    !(r->pool[r->n] = strdup(it->collection)))
		return ERR_NOMEM;
	if (!(r->host[r->n] = strndup(it->sessions, (size_t)(eq - it->sessions))))
		return free(r->pool[r->n]), ERR_NOMEM;
	r->allow[r->n++] = strcmp(eq + 1, "false") != 0; /* "true" or "unknown": open */
	return 0;
}

/* The value undrain gives a host: the recorded one, else true. */
static bool restored(const struct recorded *r, const char *pool, const char *host)
{
	for (size_t i = r->n; i-- > 0;) /* the latest drain row wins */
		if (!strcasecmp(r->pool[i], pool) && !strcmp(r->host[i], host))
			return r->allow[i];
	return true;
}

static void recorded_free(struct recorded *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->pool[i]), free(r->host[i]);
	free(r->pool), free(r->host), free(r->allow);
}

/* ---- the PATCHes ------------------------------------------------------ */

static const char *value_name(int allow)
{
	return allow == 1 ? "true" : allow == 0 ? "false" : "unknown";
}

/* One report row for a host: what was asked and how it ended. */
static int host_row(struct run *c, const struct args *o, const struct host *h, long line,
		    enum service_op op, bool value, const struct fetch_result *r, int64_t t0)
{
	char cell[AVD_NAME_MAX + 16], why[512];
	struct item *it = item_new(line, op, o->inputs[h->pool], "", NULL);
	if (!it)
		return ERR_NOMEM;
	/* drain: the value before (undrain puts it back); undrain: the value set */
	snprintf(cell, sizeof(cell), "%s=%s", h->name,
		 op == SERVICE_DRAIN ? value_name(h->allow)
		 : value	     ? "true"
				     : "false");
	if (!(it->sessions = strdup(cell)))
		return item_free(it), ERR_NOMEM;
	it->started_ms = t0, it->finished_ms = clock_wall_ms();
	if (!r) {
		item_set_error(it, STATUS_SKIPPED, NULL, "already closed to new sessions");
	} else {
		it->http_status = (int)r->http, it->attempts = r->attempts;
		snprintf(it->request_id, sizeof(it->request_id), "%s", r->request_id);
		if (r->http >= 200 && r->http < 300) {
			it->status = STATUS_SUCCEEDED;
		} else {
			fetch_describe(r, why, sizeof(why));
			item_set_error(it, STATUS_FAILED, r->error.code[0] ? r->error.code : NULL,
				       why);
		}
	}
	return run_record(c, it);
}

int avddrain_hosts(struct run *c, const struct args *o, bool drain)
{
	const struct engine_job *job = run_job(c);
	struct hosts hs = {0};
	struct recorded rec = {0};
	char err[512] = "", buf[4096];
	enum service_op op = drain ? SERVICE_DRAIN : SERVICE_UNDRAIN;
	int failures = list_hosts(job, o, &hs), rc = 0;
	if (failures == 0 && !drain && o->merge_input &&
	    reportin_read(o->merge_input, recorded_row, &rec, err, sizeof(err)) < 0) {
		fprintf(stderr, "rabulk: undrain: %s\n", err);
		failures = ERR_INVAL;
	}
	char **urls = calloc(hs.n + 1, sizeof(*urls)), **bodies = calloc(hs.n + 1, sizeof(*bodies));
	size_t *which = calloc(hs.n + 1, sizeof(*which)), k = 0;
	bool *value = calloc(hs.n + 1, sizeof(*value));
	if (!urls || !bodies || !which || !value)
		rc = ERR_NOMEM;
	for (size_t i = 0; rc == 0 && failures >= 0 && i < hs.n; i++) {
		const struct host *h = &hs.v[i];
		struct avd_pool p;
		value[i] = drain ? false : restored(&rec, o->inputs[h->pool], h->name);
		if (drain && h->allow == 0)
			continue; /* closed already: nothing to send, nothing to undo */
		avd_parse_pool_address(o->inputs[h->pool], job->target.subscription, job->target.ns,
				       &p, NULL);
		if (avd_url_session_host(buf, sizeof(buf), job->target.endpoint, &p, h->name) < 0 ||
		    !(urls[k] = strdup(buf)) || !(bodies[k] = malloc(64)) ||
		    avd_drain_body(bodies[k], 64, value[i]) < 0) {
			rc = ERR_NOMEM;
			break;
		}
		which[k++] = i;
	}
	int64_t t0 = clock_wall_ms();
	struct fetch_result *res = rc == 0 && failures >= 0 && k
				       ? fetch_send(job, "PATCH", (const char *const *)urls,
						    (const char *const *)bodies, (int)k)
				       : NULL;
	if (k && !res && rc == 0 && failures >= 0)
		rc = ERR_NOMEM;
	for (size_t i = 0, j = 0; rc == 0 && failures >= 0 && i < hs.n; i++) {
		bool sent = j < k && which[j] == i;
		const struct fetch_result *r = sent ? &res[j++] : NULL;
		rc = host_row(c, o, &hs.v[i], (long)i + 2, op, value[i], r, t0);
		failures += r && (r->http < 200 || r->http >= 300);
	}
	if (!o->quiet && failures >= 0 && rc == 0)
		fprintf(stderr, "rabulk: %s: %s %zu session host%s of %d host pool%s\n",
			drain ? "drain" : "undrain", drain ? "closed" : "opened", k,
			k == 1 ? "" : "s", o->ninputs, o->ninputs == 1 ? "" : "s");
	fetch_free(res, (int)k);
	for (size_t i = 0; i < k; i++)
		free(urls[i]), free(bodies[i]);
	free(urls), free(bodies), free(which), free(value), free(hs.v);
	recorded_free(&rec);
	return rc < 0 ? rc : failures;
}
