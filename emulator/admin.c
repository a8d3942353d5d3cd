/* admin.c — the /_emulator/ endpoints, the request log and the counters
 * (see admin.h).
 *
 * A log entry is printed to its JSON line when the request is answered, so
 * GET /_emulator/log only joins lines under the lock, and the log keeps no
 * pointer into a request that is gone. One lock guards the log and the
 * counters; lock order: the state's, then this one. */
#include "emulator/admin.h"
#include "emulator/armquota.h"
#include "emulator/auth.h"
#include "emulator/avdstate.h"
#include "emulator/reply.h"
#include "emulator/state.h"
#include "service/remoteapp.h"
#include "lib/array.h"
#include "lib/clock.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { NCLASSES = 6 }; /* 1xx .. 5xx, other */

struct admin {
	pthread_mutex_t lock; /* the log and the request counters */
	char **log;	      /* JSON lines, owned */
	size_t nlog, log_cap, log_max, log_dropped;
	uint64_t requests, by_class[NCLASSES];
	atomic_ullong connections; /* accepted so far */
};

struct admin *admin_new(size_t log_max)
{
	struct admin *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	pthread_mutex_init(&a->lock, NULL);
	a->log_max = log_max;
	atomic_init(&a->connections, 0);
	return a;
}

static void clear_log(struct admin *a)
{
	for (size_t i = 0; i < a->nlog; i++)
		free(a->log[i]);
	a->nlog = a->log_dropped = 0;
}

void admin_free(struct admin *a)
{
	if (!a)
		return;
	clear_log(a);
	free(a->log);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* Takes ownership of root: a compact JSON answer. */
static void answer(struct reply *r, cJSON *root)
{
	reply_take(r, 200, "application/json", cJSON_PrintUnformatted(root));
	cJSON_Delete(root);
}

/* "avd": {"hostPools":[...], "sessionHosts":[...], "userSessions":[...]},
 * every record ever added (logged-off sessions too, "gone": true), so a
 * test can check that each session was acted on at most once. */
static void avd_state(const struct route_ctx *x, cJSON *root)
{
	static const char *const op_keys[] = {[AVDSTATE_OP_DISCONNECT] = "disconnect",
					      [AVDSTATE_OP_LOGOFF] = "logoff",
					      [AVDSTATE_OP_MESSAGE] = "sendMessage"};
	struct avdstate *st = x->avd;
	cJSON *avd = cJSON_AddObjectToObject(root, "avd"), *o, *ops;
	cJSON *pools = cJSON_AddArrayToObject(avd, "hostPools");
	cJSON *hosts = cJSON_AddArrayToObject(avd, "sessionHosts");
	cJSON *sessions = cJSON_AddArrayToObject(avd, "userSessions");
	for (size_t i = 0; i < avdstate_npools(st); i++) {
		const struct avdstate_pool *p = avdstate_pool(st, i);
		cJSON_AddItemToArray(pools, o = cJSON_CreateObject());
		cJSON_AddStringToObject(o, "resourceGroup", p->resource_group);
		cJSON_AddStringToObject(o, "name", p->name);
	}
	for (size_t i = 0; i < avdstate_nhosts(st); i++) {
		const struct avdstate_host *h = avdstate_host(st, i);
		const struct avdstate_pool *p = avdstate_pool(st, h->pool);
		cJSON_AddItemToArray(hosts, o = cJSON_CreateObject());
		cJSON_AddStringToObject(o, "resourceGroup", p->resource_group);
		cJSON_AddStringToObject(o, "hostPool", p->name);
		cJSON_AddStringToObject(o, "name", h->name);
		cJSON_AddBoolToObject(o, "allowNewSession", h->allow_new_session);
		cJSON_AddNumberToObject(o, "sessions", h->live);
	}
	for (size_t i = 0; i < avdstate_nsessions(st); i++) {
		const struct avdstate_session *s = avdstate_session(st, i);
		const struct avdstate_host *h = avdstate_host(st, s->host);
		const struct avdstate_pool *p = avdstate_pool(st, h->pool);
		cJSON_AddItemToArray(sessions, o = cJSON_CreateObject());
		cJSON_AddStringToObject(o, "resourceGroup", p->resource_group);
		cJSON_AddStringToObject(o, "hostPool", p->name);
		cJSON_AddStringToObject(o, "sessionHost", h->name);
		cJSON_AddNumberToObject(o, "id", s->id);
		cJSON_AddStringToObject(o, "upn", s->upn);
		cJSON_AddStringToObject(o, "state", avdstate_status_name(s->status));
		cJSON_AddBoolToObject(o, "gone", s->gone);
		ops = cJSON_AddObjectToObject(o, "operations");
		for (int k = 0; k < 3; k++)
			cJSON_AddNumberToObject(ops, op_keys[k], s->ops[k]);
		if (s->ops[AVDSTATE_OP_MESSAGE]) {
			cJSON *m = cJSON_AddObjectToObject(o, "lastMessage");
			cJSON_AddStringToObject(m, "title", s->last_title);
			cJSON_AddStringToObject(m, "body", s->last_message);
		}
	}
}

static void get_state(const struct route_ctx *x, struct reply *r)
{
	cJSON *root = cJSON_CreateObject(), *colls = cJSON_AddArrayToObject(root, "collections");
	cJSON *arr = cJSON_AddArrayToObject(root, "sessions");
	for (size_t i = 0; i < state_ncollections(x->state); i++)
		cJSON_AddItemToArray(colls, cJSON_CreateString(state_collection(x->state, i)));
	for (size_t i = 0; i < state_nsessions(x->state); i++) {
		const struct state_session *s = state_session(x->state, i);
		cJSON *o = cJSON_CreateObject(), *ops;
		cJSON_AddStringToObject(o, "collection", s->collection);
		cJSON_AddStringToObject(o, "upn", s->upn);
		cJSON_AddStringToObject(o, "state", state_status_name(s->status));
		ops = cJSON_AddObjectToObject(o, "operations");
		/* keyed by RemoteApp's path words ("sendMessage"), as tests read them */
		for (int k = 0; k < STATE_OPS; k++)
			cJSON_AddNumberToObject(ops, remoteapp_op_path((enum service_op)k),
						s->ops[k]);
		cJSON_AddItemToArray(arr, o);
	}
	avd_state(x, root);
	answer(r, root);
}

static void get_stats(struct admin *a, const struct route_ctx *x, struct reply *r)
{
	static const char *const names[NCLASSES] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
	cJSON *root = cJSON_CreateObject(), *by = cJSON_AddObjectToObject(root, "responses");
	pthread_mutex_lock(&a->lock);
	cJSON_AddNumberToObject(root, "requests", (double)a->requests);
	for (int i = 0; i < NCLASSES; i++)
		cJSON_AddNumberToObject(by, names[i], (double)a->by_class[i]);
	cJSON_AddNumberToObject(root, "sessions", (double)state_nsessions(x->state));
	cJSON_AddNumberToObject(root, "connections", (double)atomic_load(&a->connections));
	cJSON_AddNumberToObject(root, "log_entries", (double)a->nlog);
	cJSON_AddNumberToObject(root, "log_dropped", (double)a->log_dropped);
	pthread_mutex_unlock(&a->lock);
	if (x->quota) { /* "arm_quota": {"reads": {"allowed":..,"throttled":..,"early":..}, ..} */
		cJSON *q = cJSON_AddObjectToObject(root, "arm_quota"), *o;
		for (int b = 0; b < ARMQUOTA_BUCKETS; b++) {
			struct armquota_stats st;
			armquota_stats(x->quota, (enum armquota_bucket)b, &st);
			o = cJSON_AddObjectToObject(q,
						    armquota_bucket_name((enum armquota_bucket)b));
			cJSON_AddNumberToObject(o, "allowed", (double)st.allowed);
			cJSON_AddNumberToObject(o, "throttled", (double)st.throttled);
			cJSON_AddNumberToObject(o, "early", (double)st.early);
		}
	}
	answer(r, root);
}

/* The log as one JSON array, an entry a line. */
static void get_log(struct admin *a, struct reply *r)
{
	size_t n = 3;
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < a->nlog; i++)
		n += strlen(a->log[i]) + 2;
	char *out = malloc(n), *o = out;
	if (out) {
		*o++ = '[';
		for (size_t i = 0; i < a->nlog; i++)
			o += sprintf(o, "%s%s\n", i ? "," : "", a->log[i]);
		*o++ = ']', *o = '\0';
	}
	pthread_mutex_unlock(&a->lock);
	reply_take(r, out ? 200 : 500, "application/json", out);
}

static void post_reset(struct admin *a, const struct route_ctx *x, struct reply *r)
{
	state_reset_ops(x->state);
	avdstate_reset_ops(x->avd);
	pthread_mutex_lock(&a->lock);
	a->requests = 0;
	memset(a->by_class, 0, sizeof(a->by_class));
	clear_log(a);
	pthread_mutex_unlock(&a->lock);
	reply_take(r, 200, "application/json", strdup("{}"));
}

bool admin_serve(struct admin *a, const struct route_ctx *x, const struct route_request *q,
		 struct reply *r)
{
	if (q->nseg != 2 || strcmp(q->seg[0], "_emulator") != 0)
		return false;
	const char *what = q->seg[1];
	bool get = route_method(q, "GET");
	if (get && strcmp(what, "token") == 0)
		reply_take(
		    r, 200, "text/plain",
		    auth_issue(x->auth, route_query_has(q->query, "opaque=1"), clock_wall_ms()));
	else if (get && strcmp(what, "state") == 0)
		get_state(x, r);
	else if (get && strcmp(what, "stats") == 0)
		get_stats(a, x, r);
	else if (get && strcmp(what, "log") == 0)
		get_log(a, r);
	else if (route_method(q, "POST") && strcmp(what, "reset") == 0)
		post_reset(a, x, r);
	else
		reply_rdfe(r, 404, "ResourceNotFound", "Unknown emulator endpoint.");
	return true;
}

static enum MHD_Result add_header(void *arg, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	cJSON_AddStringToObject(arg, key, value ? value : "");
	return MHD_YES;
}

/* q's log entry as one JSON line; caller frees; NULL when out of memory. */
static char *entry(const struct route_request *q, const struct reply *r)
{
	char when[32];
	const char *qm = strchr(q->uri, '?');
	cJSON *o = cJSON_CreateObject();
	clock_iso8601(when, sizeof(when), q->arrival_ms);
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddNumberToObject(o, "t_ms", (double)q->arrival_ms);
	cJSON_AddStringToObject(o, "method", q->method);
	char *path = strndup(q->uri, qm ? (size_t)(qm - q->uri) : strlen(q->uri));
	cJSON_AddStringToObject(o, "path", path ? path : "");
	free(path);
	cJSON_AddStringToObject(o, "query", qm ? qm + 1 : "");
	MHD_get_connection_values(q->conn, MHD_HEADER_KIND, add_header,
				  cJSON_AddObjectToObject(o, "headers"));
	char *body = strndup(q->body ? q->body : "", q->body_len);
	cJSON_AddStringToObject(o, "body", body ? body : "");
	free(body);
	cJSON_AddNumberToObject(o, "status", r->status);
	if (r->fault)
		cJSON_AddStringToObject(o, "fault", r->fault);
	char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return line;
}

void admin_record(struct admin *a, const struct route_request *q, const struct reply *r, bool log)
{
	char *line = log ? entry(q, r) : NULL;
	int status = r->status;
	pthread_mutex_lock(&a->lock);
	a->requests++;
	a->by_class[status >= 100 && status < 600 ? status / 100 - 1 : NCLASSES - 1]++;
	if (line && a->nlog < a->log_max &&
	    array_grow((void **)&a->log, &a->log_cap, a->nlog + 1, sizeof(char *), 1024) == 0) {
		a->log[a->nlog++] = line;
		line = NULL;
	} else if (line) {
		a->log_dropped++;
	}
	pthread_mutex_unlock(&a->lock);
	free(line);
}

void admin_connection(struct admin *a)
{
	atomic_fetch_add(&a->connections, 1);
}
