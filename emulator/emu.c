/* emu.c — the RemoteApp management API, emulated.
 *
 * libmicrohttpd runs the server (epoll, a small thread pool). Requests are
 * routed on the raw URI as the client sent it (taken from MHD's URI-log
 * hook, before MHD decodes anything), so the request log shows exactly
 * what went over the wire and percent-encoded segments are decoded once,
 * by us, per segment.
 *
 * State is a vector of sessions indexed by a hash table on
 * lower(collection) "\n" lower(upn), under one mutex; a session that is
 * logged off stays in the vector with state NONE so its operation counts
 * survive. Operations are not stored at all: the tracking id *is* the
 * operation (creation time, session index, kind, outcome and a check
 * value packed into the GUID's 16 bytes), so a million operations cost no
 * memory and an unknown or forged id is answered 404.
 *
 * Bodies and headers follow the recordings in shared/conformance: 202 with
 * x-remoteapp-operation-tracking-id, operationResults as pretty JSON with
 * CRLF, the XML-wrapped JSON 404 for a missing collection. */
#include "emulator/emu.h"
#include "emulator/auth.h"
#include "emulator/faults.h"
#include "emulator/opid.h"
#include "emulator/remoteapp.h"
#include "emulator/reply.h"
#include "emulator/route.h"
#include "emulator/rng.h"
#include "emulator/state.h"
#include "service/remoteapp.h"
#include "lib/array.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/heap.h"
#include "input/input.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BODY_MAX (64 * 1024)

struct emu {
	struct emu_config c;
	struct MHD_Daemon *d;
	struct auth auth; /* and the HTTPS material */
	struct rng rng;
	struct state *state; /* its lock also guards the stats */
	uint64_t requests, by_class[6];
	atomic_ullong connections; /* accepted so far */
	pthread_mutex_t log_lock;
	char **log;
	size_t nlog, log_cap, log_dropped;
	struct faults *faults;
};

/* One request: what the URI-log hook saw, and the body as it arrives. */
struct req {
	char *uri;
	char *body;
	size_t body_len;
	bool body_too_big;
	bool seen; /* the headers-only first call is over */
	int64_t arrival_ms;
	bool waiting; /* suspended; `reply` is ready for when it resumes */
	struct reply reply;
};

int emu_add_collection(struct emu *e, const char *collection)
{
	state_lock(e->state);
	int rc = state_add_collection(e->state, collection);
	state_unlock(e->state);
	return rc;
}

int emu_add_session(struct emu *e, const char *collection, const char *upn, const char *state)
{
	enum state_status st;
	if (state_status_parse(state, &st) < 0)
		return ERR_INVAL;
	state_lock(e->state);
	int rc = state_add_session(e->state, collection, upn, st);
	state_unlock(e->state);
	return rc;
}

/* ---- /_emulator/: observability -------------------------------------- */

static void admin_state(struct emu *e, struct reply *r)
{
	cJSON *root = cJSON_CreateObject(), *colls = cJSON_AddArrayToObject(root, "collections");
	cJSON *arr = cJSON_AddArrayToObject(root, "sessions");
	for (size_t i = 0; i < state_ncollections(e->state); i++)
		cJSON_AddItemToArray(colls, cJSON_CreateString(state_collection(e->state, i)));
	for (size_t i = 0; i < state_nsessions(e->state); i++) {
		const struct state_session *s = state_session(e->state, i);
		cJSON *o = cJSON_CreateObject(), *ops;
		cJSON_AddStringToObject(o, "collection", s->collection);
		cJSON_AddStringToObject(o, "upn", s->upn);
		cJSON_AddStringToObject(o, "state", state_status_name(s->status));
		ops = cJSON_AddObjectToObject(o, "operations");
		for (int k = 0; k < STATE_OPS; k++)
			cJSON_AddNumberToObject(ops, remoteapp_op_path((enum service_op)k),
						s->ops[k]);
		cJSON_AddItemToArray(arr, o);
	}
	r->status = 200, r->ctype = "application/json";
	r->body = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
}

static void admin_stats(struct emu *e, struct reply *r)
{
	static const char *const names[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
	cJSON *root = cJSON_CreateObject(), *by = cJSON_AddObjectToObject(root, "responses");
	cJSON_AddNumberToObject(root, "requests", (double)e->requests);
	for (int i = 0; i < 6; i++)
		cJSON_AddNumberToObject(by, names[i], (double)e->by_class[i]);
	cJSON_AddNumberToObject(root, "sessions", (double)state_nsessions(e->state));
	cJSON_AddNumberToObject(root, "connections", (double)atomic_load(&e->connections));
	pthread_mutex_lock(&e->log_lock);
	cJSON_AddNumberToObject(root, "log_entries", (double)e->nlog);
	cJSON_AddNumberToObject(root, "log_dropped", (double)e->log_dropped);
	pthread_mutex_unlock(&e->log_lock);
	r->status = 200, r->ctype = "application/json";
	r->body = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
}

static void admin_log(struct emu *e, struct reply *r)
{
	size_t n = 3;
	pthread_mutex_lock(&e->log_lock);
	for (size_t i = 0; i < e->nlog; i++)
		n += strlen(e->log[i]) + 2;
	char *out = malloc(n), *o = out;
	if (out) {
		*o++ = '[';
		for (size_t i = 0; i < e->nlog; i++) {
			o += sprintf(o, "%s%s\n", i ? "," : "", e->log[i]);
		}
		*o++ = ']', *o = '\0';
	}
	pthread_mutex_unlock(&e->log_lock);
	r->status = out ? 200 : 500, r->ctype = "application/json";
	r->body = out;
}

static void admin_reset(struct emu *e, struct reply *r)
{
	state_reset_ops(e->state);
	e->requests = 0;
	memset(e->by_class, 0, sizeof(e->by_class));
	pthread_mutex_lock(&e->log_lock);
	for (size_t i = 0; i < e->nlog; i++)
		free(e->log[i]);
	e->nlog = e->log_dropped = 0;
	pthread_mutex_unlock(&e->log_lock);
	r->status = 200, r->ctype = "application/json", r->body = strdup("{}");
}

/* A fresh bearer token, as an identity provider would issue one. */
static void admin_token(struct emu *e, const char *query, struct reply *r)
{
	r->status = 200, r->ctype = "text/plain";
	r->body = auth_issue(&e->auth, route_query_has(query, "opaque=1"), clock_wall_ms());
}

static void admin(struct emu *e, const char *method, const char *what, const char *query,
		  struct reply *r)
{
	bool get = strcmp(method, "GET") == 0;
	if (get && strcmp(what, "token") == 0)
		admin_token(e, query, r);
	else if (get && strcmp(what, "state") == 0)
		admin_state(e, r);
	else if (get && strcmp(what, "stats") == 0)
		admin_stats(e, r);
	else if (get && strcmp(what, "log") == 0)
		admin_log(e, r);
	else if (strcmp(method, "POST") == 0 && strcmp(what, "reset") == 0)
		admin_reset(e, r);
	else
		reply_rdfe(r, 404, "ResourceNotFound", "Unknown emulator endpoint.");
}

/* ---- the request log ------------------------------------------------- */

static enum MHD_Result add_header(void *arg, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	cJSON_AddStringToObject(arg, key, value ? value : "");
	return MHD_YES;
}

static void log_request(struct emu *e, struct MHD_Connection *c, const char *method,
			const struct req *q, int status, const char *fault)
{
	char when[32];
	const char *qm = strchr(q->uri, '?');
	cJSON *o = cJSON_CreateObject();
	clock_iso8601(when, sizeof(when), q->arrival_ms);
	cJSON_AddStringToObject(o, "time", when);
	cJSON_AddNumberToObject(o, "t_ms", (double)q->arrival_ms);
	cJSON_AddStringToObject(o, "method", method);
	char *path = strndup(q->uri, qm ? (size_t)(qm - q->uri) : strlen(q->uri));
	cJSON_AddStringToObject(o, "path", path ? path : "");
	free(path);
	cJSON_AddStringToObject(o, "query", qm ? qm + 1 : "");
	MHD_get_connection_values(c, MHD_HEADER_KIND, add_header,
				  cJSON_AddObjectToObject(o, "headers"));
	char *body = strndup(q->body ? q->body : "", q->body_len);
	cJSON_AddStringToObject(o, "body", body ? body : "");
	free(body);
	cJSON_AddNumberToObject(o, "status", status);
	if (fault)
		cJSON_AddStringToObject(o, "fault", fault);
	char *line = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!line)
		return;
	pthread_mutex_lock(&e->log_lock);
	if (e->nlog < e->c.log_max &&
	    array_grow((void **)&e->log, &e->log_cap, e->nlog + 1, sizeof(char *), 1024) == 0) {
		e->log[e->nlog++] = line;
		line = NULL;
	} else {
		e->log_dropped++;
	}
	pthread_mutex_unlock(&e->log_lock);
	free(line);
}

int emu_parse_faults(struct emu_config *c, const char *spec)
{
	return faults_parse(c, spec);
}

/* ---- libmicrohttpd glue ---------------------------------------------- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct req *q = calloc(1, sizeof(*q));
	if (q) {
		q->uri = strdup(uri);
		q->arrival_ms = clock_wall_ms();
	}
	return q;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct emu *e = cls;
	(void)c, (void)socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&e->connections, 1);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *q = *req_cls;
	if (q) {
		free(q->uri);
		free(q->body);
		reply_release(&q->reply);
		free(q);
	}
	*req_cls = NULL;
}

static bool append_body(struct req *q, const char *data, size_t n)
{
	if (q->body_len + n > BODY_MAX) {
		q->body_too_big = true;
		return true;
	}
	char *b = realloc(q->body, q->body_len + n + 1);
	if (!b)
		return false;
	memcpy(b + q->body_len, data, n);
	q->body = b, q->body_len += n;
	b[q->body_len] = '\0';
	return true;
}

/* Services the glue offers API requests to, in turn (route.h). */
static const struct route_service *const services[] = {&remoteapp_routes};

static void route(struct emu *e, struct MHD_Connection *c, const char *method, struct req *q,
		  struct reply *r)
{
	struct route_ctx x = {&e->c, e->state, &e->auth, &e->rng};
	struct route_request rq = {
	    .conn = c, .method = method, .body = q->body, .body_len = q->body_len};
	char *uri = strdup(q->uri);
	if (!uri) {
		reply_rdfe(r, 500, "InternalError", "out of memory");
		return;
	}
	int rc = route_parse(&rq, uri);
	bool served = false;
	if (q->body_too_big)
		reply_rdfe(r, 413, "RequestEntityTooLarge", "The request body is too large.");
	else if (rc < 0)
		reply_not_found(r);
	else if (rq.nseg == 2 && strcmp(rq.seg[0], "_emulator") == 0)
		admin(e, method, rq.seg[1], rq.query, r);
	else {
		for (size_t i = 0; i < sizeof(services) / sizeof(services[0]) && !served; i++)
			served = services[i]->serve(&x, &rq, r);
		if (!served)
			reply_not_found(r);
	}
	free(uri);
}

static ssize_t cut_short(void *cls, uint64_t pos, char *buf, size_t max)
{
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* Queues q's reply; the body is handed to MHD (or freed). */
static enum MHD_Result send_reply(struct emu *e, struct MHD_Connection *c, struct req *q)
{
	struct reply *r = &q->reply;
	char request_id[40], ra[32];
	size_t len = r->body ? strlen(r->body) : 0;
	struct MHD_Response *resp;
	if (r->truncate) /* promise more than is sent: the client sees a cut body */
		resp = MHD_create_response_from_callback(len + 64, 1024, cut_short, NULL, NULL);
	else
		resp = MHD_create_response_from_buffer(len, r->body ? r->body : (void *)"",
						       r->body ? MHD_RESPMEM_MUST_FREE
							       : MHD_RESPMEM_PERSISTENT);
	if (!r->truncate)
		r->body = NULL; /* MHD owns it now */
	if (!resp)
		return MHD_NO;
	rng_guid(&e->rng, request_id, false);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "Server", "rabulk-emulator");
	MHD_add_response_header(resp, "x-ms-servedbyregion", "emulator");
	MHD_add_response_header(resp, "x-ms-request-id", request_id);
	if (r->ctype)
		MHD_add_response_header(resp, "Content-Type", r->ctype);
	for (const char *const *h = r->op_id_headers; r->op_id[0] && h && *h; h++)
		MHD_add_response_header(resp, *h, r->op_id);
	if (r->retry_after_ms > 0) {
		snprintf(ra, sizeof(ra), "%ld", (r->retry_after_ms + 999) / 1000);
		MHD_add_response_header(resp, "Retry-After", ra);
		if (r->retry_after_ms % 1000) {
			snprintf(ra, sizeof(ra), "%ld", r->retry_after_ms);
			MHD_add_response_header(resp, "retry-after-ms", ra);
		}
	}
	enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct emu *e = cls;
	struct req *q = *req_cls;
	struct reply *r;

	if (!q || !q->uri)
		return MHD_NO;
	if (!q->seen) { /* first call: headers only */
		q->seen = true;
		return MHD_YES;
	}
	if (*upload_size) {
		bool ok = append_body(q, upload, *upload_size);
		*upload_size = 0;
		return ok ? MHD_YES : MHD_NO;
	}
	if (q->waiting) { /* resumed after its delay */
		q->waiting = false;
		return q->reply.close ? MHD_NO : send_reply(e, c, q);
	}
	r = &q->reply;
	*r = (struct reply){.status = 500};
	bool api = strncmp(q->uri, "/_emulator/", 11) != 0;
	bool serve = !api || faults_pick(e->faults, r);
	state_lock(e->state);
	if (serve)
		route(e, c, method, q, r);
	e->requests++;
	e->by_class[r->status >= 100 && r->status < 600 ? r->status / 100 - 1 : 5]++;
	state_unlock(e->state);
	if (api)
		log_request(e, c, method, q, r->status, r->fault);
	int64_t d = api ? faults_delay_ms(e->faults, r) : 0;
	if (d != 0) {
		q->waiting = true;
		faults_hold(e->faults, c, d);
		return MHD_YES;
	}
	return r->close ? MHD_NO : send_reply(e, c, q);
}

/* ---- lifecycle ------------------------------------------------------- */

const char *emu_scheme(const struct emu *e)
{
	return e->auth.pem_cert ? "https" : "http";
}

struct emu *emu_new(const struct emu_config *c, char *err, size_t errlen)
{
	struct emu *e = calloc(1, sizeof(*e));
	struct sockaddr_in addr;
	if (!e || !(e->state = state_new())) {
		snprintf(err, errlen, "out of memory");
		free(e);
		return NULL;
	}
	e->c = *c;
	if (!e->c.ns)
		e->c.ns = "remoteapp";
	if (e->c.threads < 1)
		e->c.threads = 2;
	if (!e->c.log_max)
		e->c.log_max = 200000;
	rng_init(&e->rng, (uint64_t)clock_wall_ms() ^ (uint64_t)(uintptr_t)e);
	pthread_mutex_init(&e->log_lock, NULL);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)c->port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (!(e->faults = faults_new(&e->c, &e->rng, err, errlen))) {
		emu_free(e);
		return NULL;
	}
	if (auth_init(&e->auth, &e->c, err, errlen) < 0) {
		emu_free(e);
		return NULL;
	}
	struct MHD_OptionItem tls[] = {
	    {MHD_OPTION_HTTPS_MEM_CERT, 0, e->auth.pem_cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, e->auth.pem_key},
	    {e->auth.pem_ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, e->auth.pem_ca},
	    {MHD_OPTION_END, 0, NULL}};
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
			 (e->auth.pem_cert ? MHD_USE_TLS : 0);
	unsigned idle_s = e->c.idle_timeout_s ? e->c.idle_timeout_s : 120u;
	/* one option and its arguments per line */
	/* clang-format off */
	e->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, e,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)e->c.threads,
				MHD_OPTION_CONNECTION_LIMIT, 16384u,
				MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, e,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, e,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, e,
				MHD_OPTION_ARRAY, e->auth.pem_cert ? tls : tls + 3,
				MHD_OPTION_END);
	/* clang-format on */
	if (!e->d) {
		snprintf(err, errlen, "cannot listen on 127.0.0.1:%d (port in use%s?)", c->port,
			 e->auth.pem_cert ? ", or a bad TLS certificate or key" : "");
		emu_free(e);
		return NULL;
	}
	return e;
}

int emu_port(const struct emu *e)
{
	const union MHD_DaemonInfo *i = MHD_get_daemon_info(e->d, MHD_DAEMON_INFO_BIND_PORT);
	return i ? i->port : -1;
}

void emu_free(struct emu *e)
{
	if (!e)
		return;
	if (e->faults) /* resumes every suspended connection first */
		faults_stop(e->faults);
	if (e->d)
		MHD_stop_daemon(e->d);
	faults_free(e->faults);
	for (size_t i = 0; i < e->nlog; i++)
		free(e->log[i]);
	state_free(e->state);
	free(e->log);
	pthread_mutex_destroy(&e->log_lock);
	auth_release(&e->auth);
	free(e);
}

/* ---- seeding --------------------------------------------------------- */

struct seed_ctx {
	struct emu *e;
	const char *path;
	char *err;
	size_t errlen;
};

static int seed_row(void *arg, const struct row *row)
{
	struct seed_ctx *s = arg;
	if (row->reason) {
		snprintf(s->err, s->errlen, "'%s': line %ld: %s", s->path, row->line, row->reason);
		return ERR_INVAL;
	}
	if (emu_add_session(s->e, row->collection, row->upn, row->state) < 0) {
		snprintf(s->err, s->errlen, "'%s': line %ld: unknown state '%s'", s->path,
			 row->line, row->state);
		return ERR_INVAL;
	}
	return 0;
}

int emu_seed_file(struct emu *e, const char *path, char *err, size_t errlen)
{
	struct seed_ctx s = {e, path, err, errlen};
	struct input_opts o = {.format = INPUT_CSV};
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open '%s': %m", path);
		return ERR_IO;
	}
	int rc = input_read(f, path, &o, seed_row, &s, err, errlen);
	fclose(f);
	return rc;
}

int emu_generate(struct emu *e, const char *spec, char *err, size_t errlen)
{
	char name[64], upn[64], *end;
	const char *colon = strrchr(spec, ':');
	long n = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || colon == spec || (size_t)(colon - spec) >= sizeof(name) || n < 0 || *end) {
		snprintf(err, errlen, "bad --generate '%s': want NAME:COUNT, e.g. Apps:10000",
			 spec);
		return ERR_INVAL;
	}
	snprintf(name, sizeof(name), "%.*s", (int)(colon - spec), spec);
	if (emu_add_collection(e, name) < 0)
		return ERR_NOMEM;
	for (long i = 1; i <= n; i++) {
		snprintf(upn, sizeof(upn), "user%ld@contoso.com", i);
		if (emu_add_session(e, name, upn, NULL) < 0)
			return ERR_NOMEM;
	}
	return 0;
}
