/* emu.c — the emulator's lifecycle and its libmicrohttpd glue: emu.h's
 * public API, which rabulk-emulator and `rabulk --emulator` share.
 *
 * libmicrohttpd runs the server (epoll, a small thread pool). Requests are
 * routed on the raw URI as the client sent it (taken from MHD's URI-log
 * hook, before MHD decodes anything), so the request log shows exactly what
 * went over the wire. One request, once its body is in:
 *
 *   faults_pick (API requests only)
 *   -> under the state lock: /_emulator/ (admin.c) or the first service
 *      whose routes take the path (remoteapp.c, avd.c), else 404
 *   -> admin_record: counted, and logged when it is an API request
 *   -> answered now, or held (latency, stall) until faults' timer resumes it
 *
 * The work is done before any wait, so a delayed answer reports the state
 * as it was when the request arrived. The other modules: state (sessions),
 * avdstate and avdseed (AVD's pools, hosts and sessions), opid (tracking
 * ids), rng (ids and dice), reply (bodies), route (parsing, the service
 * table), auth (TLS, tokens, client certificates). */
#include "emulator/emu.h"
#include "emulator/admin.h"
#include "emulator/armquota.h"
#include "emulator/auth.h"
#include "emulator/avd.h"
#include "emulator/avdseed.h"
#include "emulator/avdstate.h"
#include "emulator/faults.h"
#include "emulator/idp.h"
#include "emulator/remoteapp.h"
#include "emulator/reply.h"
#include "emulator/route.h"
#include "emulator/rng.h"
#include "emulator/state.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "input/input.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_MAX (64 * 1024)

struct emu {
	struct emu_config c;
	struct MHD_Daemon *d;
	struct auth auth; /* and the HTTPS material */
	struct rng rng;
	struct state *state;
	struct avdstate *avd; /* guarded by the state's lock */
	struct admin *admin;
	struct faults *faults;
	struct idp *idp;	/* NULL unless c.idp */
	struct armquota *quota; /* --arm-quota; NULL: off; guarded by the state's lock */
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

int emu_avd_add_session(struct emu *e, const char *rg, const char *hp, const char *session_host,
			const char *upn, const char *state)
{
	enum avdstate_status st;
	if (avdstate_status_parse(state, &st) < 0)
		return ERR_INVAL;
	state_lock(e->state);
	int rc = avdstate_add_session(e->avd, rg, hp, session_host, upn, st, clock_wall_ms());
	state_unlock(e->state);
	return rc < 0 ? rc : 0;
}

int emu_avd_seed_file(struct emu *e, const char *path, char *err, size_t errlen)
{
	state_lock(e->state);
	int rc = avdseed_file(e->avd, path, clock_wall_ms(), err, errlen);
	state_unlock(e->state);
	return rc;
}

int emu_avd_generate(struct emu *e, const char *spec, char *err, size_t errlen)
{
	state_lock(e->state);
	int rc = avdseed_generate(e->avd, spec, clock_wall_ms(), err, errlen);
	state_unlock(e->state);
	return rc;
}

int emu_parse_avd_forbid(const char *spec, unsigned *bits)
{
	char word[16];
	*bits = 0;
	for (const char *p = spec; *p;) {
		size_t n = strcspn(p, ",");
		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		if (strcmp(word, "sessions") == 0)
			*bits |= EMU_AVD_FORBID_SESSIONS;
		else if (strcmp(word, "hosts") == 0)
			*bits |= EMU_AVD_FORBID_HOSTS;
		else if (strcmp(word, "none") != 0 || n >= sizeof(word))
			return ERR_INVAL;
		p += n + (p[n] == ',');
	}
	return 0;
}

int emu_parse_faults(struct emu_config *c, const char *spec)
{
	return faults_parse(c, spec);
}

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
		admin_connection(e->admin);
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
static const struct route_service *const services[] = {&idp_routes, &remoteapp_routes, &avd_routes};

/* Fills r for q, with the state locked. */
static void route(struct emu *e, const struct route_request *q, int parsed, bool too_big,
		  struct reply *r)
{
	struct route_ctx x = {.c = &e->c,
			      .state = e->state,
			      .avd = e->avd,
			      .auth = &e->auth,
			      .rng = &e->rng,
			      .idp = e->idp,
			      .quota = e->quota};
	bool served = false;
	if (parsed == ERR_NOMEM)
		reply_rdfe(r, 500, "InternalError", "out of memory");
	else if (too_big)
		reply_rdfe(r, 413, "RequestEntityTooLarge", "The request body is too large.");
	else if (parsed < 0)
		reply_not_found(r);
	else if (!admin_serve(e->admin, &x, q, r)) {
		for (size_t i = 0; i < sizeof(services) / sizeof(services[0]) && !served; i++)
			served = services[i]->serve(&x, q, r);
		if (!served)
			reply_not_found(r);
	}
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
	if (!reply_header_value(r, "x-ms-request-id"))
		MHD_add_response_header(resp, "x-ms-request-id", request_id);
	for (int i = 0; i < r->nheaders; i++)
		MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
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
	struct route_request rq = {.conn = c,
				   .method = method,
				   .uri = q->uri,
				   .arrival_ms = q->arrival_ms,
				   .body = q->body,
				   .body_len = q->body_len};
	bool api = strncmp(q->uri, "/_emulator/", 11) != 0;
	if (!api || faults_pick(e->faults, r)) {
		int parsed = route_parse(&rq);
		state_lock(e->state);
		route(e, &rq, parsed, q->body_too_big, r);
		state_unlock(e->state);
	}
	admin_record(e->admin, &rq, r, api);
	route_release(&rq);
	int64_t d = api ? faults_delay_ms(e->faults, r) : 0;
	if (d != 0) {
		q->waiting = true;
		faults_hold(e->faults, c, d);
		return MHD_YES;
	}
	return r->close ? MHD_NO : send_reply(e, c, q);
}

const char *emu_scheme(const struct emu *e)
{
	return e->auth.pem_cert ? "https" : "http";
}

struct emu *emu_new(const struct emu_config *c, char *err, size_t errlen)
{
	struct emu *e = calloc(1, sizeof(*e));
	struct sockaddr_in addr;
	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->c = *c;
	if (!e->c.ns)
		e->c.ns = "remoteapp";
	if (e->c.threads < 1)
		e->c.threads = 2;
	if (!e->c.log_max)
		e->c.log_max = 200000;
	if (!(e->state = state_new()) || !(e->avd = avdstate_new()) ||
	    !(e->admin = admin_new(e->c.log_max))) {
		snprintf(err, errlen, "out of memory");
		emu_free(e);
		return NULL;
	}
	rng_init(&e->rng, (uint64_t)clock_wall_ms() ^ (uint64_t)(uintptr_t)e);
	if (e->c.arm_quota) {
		struct armquota_spec spec;
		const char *why = NULL;
		if (armquota_parse(e->c.arm_quota, &spec, &why) < 0) {
			snprintf(err, errlen,
				 "bad --arm-quota '%s': %s (want BUCKET=BURST:RATE,... e.g. "
				 "reads=250:25,writes=200:10,deletes=200:10)",
				 e->c.arm_quota, why);
			emu_free(e);
			return NULL;
		}
		if (!(e->quota = armquota_new(&spec))) {
			snprintf(err, errlen, "out of memory");
			emu_free(e);
			return NULL;
		}
	}
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
	if (e->c.idp && !(e->idp = idp_new(&e->c, err, errlen))) {
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
	admin_free(e->admin);
	state_free(e->state);
	avdstate_free(e->avd);
	armquota_free(e->quota);
	auth_release(&e->auth);
	idp_free(e->idp);
	free(e);
}

struct seed_ctx {
	struct emu *e;
	const char *path;
	char *err;
	size_t errlen;
};

static int seed_row(void *arg, const struct input_row *row)
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
