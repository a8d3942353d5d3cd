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
#define PRETTY_NL "\r\n"

enum state { ST_NONE, ST_CONNECTED, ST_ACTIVE, ST_DISCONNECTED };
static const char *const state_names[] = {"None", "Connected", "Active", "Disconnected"};
enum kind { K_DISCONNECT, K_LOGOFF, K_MESSAGE, K_COUNT };
static const char *const kind_paths[] = {"disconnect", "logoff", "sendMessage"};
static const char *const kind_desc[] = {"DisconnectSessionCommand", "LogoffSessionCommand",
					"SendMessageCommand"};
static const char *const kind_verb[] = {"Disconnect", "Logoff", "SendMessage"};

struct session {
	char *collection, *upn;
	enum state state;
	int64_t logon_ms;
	uint32_t ops[K_COUNT];
};

struct tslot {
	char *key; /* owned; NULL = empty */
	uint32_t idx;
};

struct table {
	struct tslot *slots;
	size_t cap, len;
};

struct emu {
	struct emu_config c;
	struct MHD_Daemon *d;
	struct emu_auth auth;
	char *pem_cert, *pem_key, *pem_ca; /* HTTPS */
	uint64_t secret;
	atomic_uint_fast64_t seq; /* makes every generated id distinct */
	pthread_mutex_t lock; /* sessions, collections, stats; lock order: lock, then log_lock */
	struct session *sessions;
	size_t nsessions, sessions_cap;
	struct table by_pair, collections;
	char **collection_names;
	size_t ncollections, collections_cap;
	uint64_t requests, by_class[6];
	atomic_ullong connections; /* accepted so far */
	pthread_mutex_t log_lock;
	char **log;
	size_t nlog, log_cap, log_dropped;
	double bucket;	      /* --throttle tokens, under lock */
	int64_t bucket_at_us; /* when `bucket` was last filled */
	/* the resume timer; lock order: timer_lock alone */
	pthread_t timer;
	bool timer_started, timer_stop;
	pthread_mutex_t timer_lock;
	pthread_cond_t timer_cv;
	struct heap timers; /* suspended connections by resume time */
};

struct reply {
	int status;
	const char *ctype;
	char *body; /* owned, may be NULL */
	char tracking[40];
	long retry_after_ms; /* > 0: send Retry-After / retry-after-ms */
	const char *fault;   /* a fault's name, for the log */
};

/* One request: what the URI-log hook saw, and the body as it arrives. */
struct req {
	char *uri;
	char *body;
	size_t body_len;
	bool body_too_big;
	bool seen; /* the headers-only first call is over */
	int64_t arrival_ms;
	bool waiting;	      /* suspended; `reply` is ready for when it resumes */
	bool close, truncate; /* faults: no answer at all, or a cut body */
	struct reply reply;
};

/* ---- small helpers --------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30, x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 27, x *= 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* lower(a) "\n" lower(b), ASCII folding only; caller owns the result. */
static char *make_key(const char *a, const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	char *k = malloc(la + lb + 2);
	if (!k)
		return NULL;
	for (size_t i = 0; i < la; i++)
		k[i] = (char)tolower((unsigned char)a[i]);
	k[la] = '\0';
	if (b) {
		k[la] = '\n';
		for (size_t i = 0; i <= lb; i++)
			k[la + 1 + i] = (char)tolower((unsigned char)b[i]);
	}
	return k;
}

static bool table_find(const struct table *t, const char *key, uint32_t *idx)
{
	if (!t->cap)
		return false;
	for (size_t i = hash_str(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (!t->slots[i].key)
			return false;
		if (strcmp(t->slots[i].key, key) == 0) {
			*idx = t->slots[i].idx;
			return true;
		}
	}
}

static void table_place(struct tslot *slots, size_t cap, char *key, uint32_t idx)
{
	size_t i = hash_str(key) & (cap - 1);
	while (slots[i].key)
		i = (i + 1) & (cap - 1);
	slots[i].key = key, slots[i].idx = idx;
}

/* Takes ownership of key. Returns 0 or ERR_NOMEM (key freed). */
static int table_put(struct table *t, char *key, uint32_t idx)
{
	if ((t->len + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct tslot *s = calloc(cap, sizeof(*s));
		if (!s) {
			free(key);
			return ERR_NOMEM;
		}
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i].key)
				table_place(s, cap, t->slots[i].key, t->slots[i].idx);
		free(t->slots);
		t->slots = s, t->cap = cap;
	}
	table_place(t->slots, t->cap, key, idx);
	t->len++;
	return 0;
}

static void table_release(struct table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].key);
	free(t->slots);
}

/* ---- state (call with e->lock held) ---------------------------------- */

static bool has_collection(struct emu *e, const char *name)
{
	uint32_t idx;
	char *k = make_key(name, NULL);
	bool found = k && table_find(&e->collections, k, &idx);
	free(k);
	return found;
}

static int add_collection_locked(struct emu *e, const char *name)
{
	uint32_t idx;
	char *k = make_key(name, NULL), *copy = NULL;
	if (!k)
		return ERR_NOMEM;
	if (table_find(&e->collections, k, &idx)) {
		free(k);
		return 0;
	}
	if (array_grow((void **)&e->collection_names, &e->collections_cap, e->ncollections + 1,
		       sizeof(char *), 1024) < 0 ||
	    !(copy = strdup(name))) {
		free(k);
		return ERR_NOMEM;
	}
	if (table_put(&e->collections, k, (uint32_t)e->ncollections) < 0) {
		free(copy);
		return ERR_NOMEM;
	}
	e->collection_names[e->ncollections++] = copy;
	return 0;
}

/* The session record for a pair, created (state NONE) when absent. */
static struct session *pair_locked(struct emu *e, const char *coll, const char *upn)
{
	uint32_t idx;
	char *k = make_key(coll, upn);
	if (!k)
		return NULL;
	if (table_find(&e->by_pair, k, &idx)) {
		free(k);
		return &e->sessions[idx];
	}
	if (array_grow((void **)&e->sessions, &e->sessions_cap, e->nsessions + 1,
		       sizeof(struct session), 1024)) {
		free(k);
		return NULL;
	}
	struct session *s = &e->sessions[e->nsessions];
	memset(s, 0, sizeof(*s));
	if (!(s->collection = strdup(coll)) || !(s->upn = strdup(upn)) ||
	    table_put(&e->by_pair, k, (uint32_t)e->nsessions) < 0) {
		free(s->collection);
		free(s->upn);
		return NULL;
	}
	e->nsessions++;
	return s;
}

static int parse_state(const char *name, enum state *st)
{
	if (!name || !*name) {
		*st = ST_CONNECTED;
		return 0;
	}
	for (int i = ST_CONNECTED; i <= ST_DISCONNECTED; i++) {
		if (strcasecmp(name, state_names[i]) == 0) {
			*st = (enum state)i;
			return 0;
		}
	}
	return ERR_INVAL;
}

int emu_add_collection(struct emu *e, const char *collection)
{
	pthread_mutex_lock(&e->lock);
	int rc = add_collection_locked(e, collection);
	pthread_mutex_unlock(&e->lock);
	return rc;
}

int emu_add_session(struct emu *e, const char *collection, const char *upn, const char *state)
{
	enum state st;
	struct session *s;
	int rc;
	if (parse_state(state, &st) < 0)
		return ERR_INVAL;
	pthread_mutex_lock(&e->lock);
	if ((rc = add_collection_locked(e, collection)) == 0) {
		if ((s = pair_locked(e, collection, upn))) {
			s->state = st;
			s->logon_ms = clock_wall_ms();
		} else {
			rc = ERR_NOMEM;
		}
	}
	pthread_mutex_unlock(&e->lock);
	return rc;
}

/* ---- tracking ids: the operation, packed into a GUID ----------------- */

struct op {
	int64_t created_ms;
	uint32_t session;
	enum kind kind;
	bool failed; /* the user had no session */
};

static uint16_t op_check(const struct emu *e, const unsigned char *b)
{
	uint64_t x = e->secret;
	for (int i = 0; i < 14; i++)
		x = mix64(x ^ b[i]);
	return (uint16_t)x;
}

static void op_encode(struct emu *e, const struct op *op, char *dst)
{
	unsigned char b[16];
	uint64_t noise = mix64(e->secret ^ atomic_fetch_add(&e->seq, 1));
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(op->created_ms >> (40 - 8 * i));
	for (int i = 0; i < 4; i++)
		b[6 + i] = (unsigned char)(op->session >> (24 - 8 * i));
	b[10] = (unsigned char)(op->kind << 4 | op->failed);
	b[11] = (unsigned char)noise, b[12] = (unsigned char)(noise >> 8);
	b[13] = (unsigned char)(noise >> 16);
	uint16_t c = op_check(e, b);
	b[14] = (unsigned char)(c >> 8), b[15] = (unsigned char)c;
	sprintf(dst, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		b[14], b[15]);
}

static bool op_decode(const struct emu *e, const char *id, struct op *op)
{
	unsigned char b[16];
	int n = 0;
	if (strlen(id) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (id[i] != '-')
				return false;
			continue;
		}
		if (!isxdigit((unsigned char)id[i]) || !isxdigit((unsigned char)id[i + 1]))
			return false;
		char hex[3] = {id[i], id[i + 1], 0};
		b[n++] = (unsigned char)strtoul(hex, NULL, 16);
		i++;
	}
	if (op_check(e, b) != (uint16_t)(b[14] << 8 | b[15]) || (b[10] >> 4) >= K_COUNT)
		return false;
	op->created_ms = 0, op->session = 0;
	for (int i = 0; i < 6; i++)
		op->created_ms = op->created_ms << 8 | b[i];
	for (int i = 0; i < 4; i++)
		op->session = op->session << 8 | b[6 + i];
	op->kind = (enum kind)(b[10] >> 4);
	op->failed = b[10] & 1;
	return op->session < e->nsessions;
}

/* ---- replies --------------------------------------------------------- */

/* Escapes & < > for XML text; caller owns the result. */
static char *xml_escape(const char *s)
{
	size_t n = 1;
	for (const char *p = s; *p; p++)
		n += *p == '&' ? 5 : (*p == '<' || *p == '>') ? 4 : 1;
	char *out = malloc(n), *o = out;
	if (!out)
		return NULL;
	for (; *s; s++) {
		const char *rep = *s == '&'   ? "&amp;"
				  : *s == '<' ? "&lt;"
				  : *s == '>' ? "&gt;"
					      : NULL;
		if (rep)
			o += sprintf(o, "%s", rep);
		else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

static void new_guid(struct emu *e, char *dst, bool dashes)
{
	uint64_t a = mix64(e->secret ^ atomic_fetch_add(&e->seq, 1));
	uint64_t b = mix64(a ^ 0x5bd1e995);
	if (dashes)
		sprintf(dst, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
			(unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
			(unsigned)((b >> 48) & 0x3fff) | 0x8000,
			(unsigned long long)(b & 0xffffffffffffULL));
	else
		sprintf(dst, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

/* The recorded 404 shape: a JSON error inside a serialized XML string. */
static void reply_wrapped(struct emu *e, struct reply *r, int status, const char *code,
			  const char *message)
{
	char activity[40];
	cJSON *o = cJSON_CreateObject();
	new_guid(e, activity, true);
	cJSON_AddStringToObject(o, "Code", code);
	cJSON_AddStringToObject(o, "Message", message);
	cJSON_AddStringToObject(o, "ActivityId", activity);
	cJSON_AddNumberToObject(o, "errorClass", 0);
	char *json = cJSON_PrintUnformatted(o), *esc = json ? xml_escape(json) : NULL;
	size_t n = esc ? strlen(esc) + 100 : 0;
	r->status = status;
	r->ctype = "application/xml; charset=utf-8";
	if (esc && (r->body = malloc(n)))
		snprintf(r->body, n,
			 "<string xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/\">%s"
			 "</string>",
			 esc);
	free(esc);
	cJSON_free(json);
	cJSON_Delete(o);
}

/* The classic RDFE error shape. */
static void reply_rdfe(struct reply *r, int status, const char *code, const char *message)
{
	char *esc = xml_escape(message);
	size_t n = esc ? strlen(esc) + strlen(code) + 200 : 0;
	r->status = status;
	r->ctype = "application/xml; charset=utf-8";
	if (esc && (r->body = malloc(n)))
		snprintf(r->body, n,
			 "<Error xmlns=\"http://schemas.microsoft.com/windowsazure\" "
			 "xmlns:i=\"http://www.w3.org/2001/XMLSchema-instance\"><Code>%s</Code>"
			 "<Message>%s</Message></Error>",
			 code, esc);
	free(esc);
}

/* Pretty JSON with CRLF and two-space indents, as the service wrote it. */
static void reply_json(struct reply *r, int status, cJSON *root)
{
	char *s = cJSON_Print(root), *out = NULL;
	if (s && (out = malloc(strlen(s) * 3 + 1))) {
		char *o = out;
		bool line_start = false;
		for (const char *p = s; *p; p++) {
			if (*p == '\t') { /* indent tab -> two spaces, ":\t" -> ": " */
				*o++ = ' ';
				if (line_start)
					*o++ = ' ';
				continue;
			}
			line_start = *p == '\n';
			if (*p == '\n')
				*o++ = '\r';
			*o++ = *p;
		}
		*o = '\0';
	}
	cJSON_free(s);
	r->status = status;
	r->ctype = "application/json; charset=utf-8";
	r->body = out;
}

/* ---- the API --------------------------------------------------------- */

static void list_sessions(struct emu *e, const char *coll, struct reply *r)
{
	char when[32];
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < e->nsessions; i++) {
		struct session *s = &e->sessions[i];
		if (s->state == ST_NONE || strcasecmp(s->collection, coll) != 0)
			continue;
		cJSON *o = cJSON_CreateObject();
		clock_iso8601(when, sizeof(when), s->logon_ms);
		cJSON_AddStringToObject(o, "LogonTimeUtc", when);
		cJSON_AddStringToObject(o, "State", state_names[s->state]);
		cJSON_AddStringToObject(o, "UserUpn", s->upn);
		cJSON_AddItemToArray(arr, o);
	}
	reply_json(r, 200, arr);
	cJSON_Delete(arr);
}

/* POST .../sessions/{disconnect|logoff|sendMessage}: changes state now,
 * answers 202 with the operation's tracking id. */
static void session_op(struct emu *e, const char *coll, enum kind kind, const struct req *q,
		       struct reply *r)
{
	char msg[512];
	cJSON *body = cJSON_ParseWithLength(q->body ? q->body : "", q->body_len);
	const cJSON *upn = cJSON_GetObjectItem(body, "UserUpn");
	const cJSON *text = cJSON_GetObjectItem(body, "Message");

	if (!cJSON_IsString(upn) || (kind == K_MESSAGE && !cJSON_IsString(text))) {
		reply_wrapped(e, r, 400, "InvalidRequest",
			      kind == K_MESSAGE ? "The body needs UserUpn and Message"
						: "The body needs UserUpn");
		goto out;
	}
	struct session *s = pair_locked(e, coll, upn->valuestring);
	if (!s) {
		reply_rdfe(r, 500, "InternalError", "out of memory");
		goto out;
	}
	s->ops[kind]++;
	bool none = s->state == ST_NONE;
	if (none && e->c.no_session_404) {
		snprintf(msg, sizeof(msg), "No session for user '%s' in collection '%s'",
			 upn->valuestring, coll);
		reply_wrapped(e, r, 404, "SessionDoesNotExist", msg);
		goto out;
	}
	if (!none && kind == K_DISCONNECT)
		s->state = ST_DISCONNECTED;
	else if (!none && kind == K_LOGOFF)
		s->state = ST_NONE;
	struct op op = {clock_wall_ms(), (uint32_t)(s - e->sessions), kind, none};
	op_encode(e, &op, r->tracking);
	r->status = 202;
out:
	cJSON_Delete(body);
}

static void op_result(struct emu *e, const char *id, struct reply *r)
{
	struct op op;
	char details[1024];
	if (!op_decode(e, id, &op)) {
		reply_rdfe(r, 404, "ResourceNotFound", "The operation was not found.");
		return;
	}
	const struct session *s = &e->sessions[op.session];
	bool pending = clock_wall_ms() < op.created_ms + e->c.op_delay_ms;
	const char *status = pending ? "Pending" : op.failed ? "Failed" : "Success";
	char user[256];
	snprintf(user, sizeof(user), "%.*s", (int)strcspn(s->upn, "@"), s->upn);
	if (pending)
		details[0] = '\0';
	else if (op.failed)
		snprintf(details, sizeof(details),
			 "%s request for user: %s in RemoteApp Service: %s done with Result: "
			 "Description: , Status: Failed, Result: Failed, Details: No session found "
			 "for user %s.",
			 kind_verb[op.kind], s->upn, s->collection, s->upn);
	else
		snprintf(details, sizeof(details),
			 "%s request for user: %s in RemoteApp Service: %s done with Result: "
			 "Description: , Status: Success, Result: Success, Details: User: %s_000, "
			 "Success.",
			 kind_verb[op.kind], s->upn, s->collection, user);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "Description", kind_desc[op.kind]);
	cJSON_AddStringToObject(o, "ErrorDetails", details);
	cJSON_AddStringToObject(o, "Status", status);
	reply_json(r, 200, o);
	cJSON_Delete(o);
}

static void pct_decode(char *s)
{
	char *o = s;
	for (; *s; s++) {
		if (*s == '%' && isxdigit((unsigned char)s[1]) && isxdigit((unsigned char)s[2])) {
			char hex[3] = {s[1], s[2], 0};
			*o++ = (char)strtoul(hex, NULL, 16);
			s += 2;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

#define MAX_SEGS 10

/* Splits the raw path (in place) into decoded segments; returns the count,
 * or -1 when there are too many. */
static int split_path(char *path, char **segs)
{
	int n = 0;
	for (char *p = path; *p == '/';) {
		*p++ = '\0';
		if (n == MAX_SEGS)
			return -1;
		segs[n++] = p;
		p += strcspn(p, "/");
	}
	for (int i = 0; i < n; i++)
		pct_decode(segs[i]);
	return n;
}

static bool query_has(const char *query, const char *param)
{
	size_t m = strlen(param);
	for (const char *p = query; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
		if (strncmp(p, param, m) == 0 && (p[m] == '&' || p[m] == '\0'))
			return true;
	return false;
}

/* Uniform in [0, 1): faults, and --token-skew's clocks. */
static double unit_random(struct emu *e)
{
	return (double)(mix64(e->secret ^ atomic_fetch_add(&e->seq, 1)) >> 11) / 9007199254740992.0;
}

/* Rejects what the real front end rejected before routing. */
static bool refused(struct emu *e, struct MHD_Connection *c, const char *sub, struct reply *r)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-ms-version");
	const char *code, *message;
	if (!v || strcmp(v, REMOTEAPP_MS_VERSION) != 0) {
		reply_rdfe(r, 400, "MissingOrIncorrectVersionHeader",
			   "The versioning header is not specified or was specified incorrectly.");
		return true;
	}
	int status = emuauth_check(&e->auth, c, unit_random(e), &code, &message);
	if (!status && e->c.subscription && strcasecmp(sub, e->c.subscription) != 0)
		status = 403; /* the credential is not registered for this subscription */
	if (status)
		reply_rdfe(r, status, code, message);
	return status != 0;
}

static void api(struct emu *e, struct MHD_Connection *c, const char *method, char **seg, int n,
		const char *query, const struct req *q, struct reply *r)
{
	bool get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
	if (n < 4 || strcmp(seg[1], "services") != 0 || strcmp(seg[2], e->c.ns) != 0) {
		reply_rdfe(r, 404, "ResourceNotFound", "The requested resource was not found.");
		return;
	}
	if (refused(e, c, seg[0], r))
		return;
	if (!query_has(query, "api-version=" REMOTEAPP_VERSION)) {
		reply_rdfe(r, 400, "InvalidApiVersion",
			   "The api-version query is missing or wrong.");
		return;
	}
	if (n == 5 && get && strcmp(seg[3], "operationResults") == 0) {
		op_result(e, seg[4], r);
		return;
	}
	if (n < 6 || strcmp(seg[3], "collections") != 0 || strcmp(seg[5], "sessions") != 0 ||
	    n > 7 || (n == 6 && !get) || (n == 7 && !post)) {
		reply_rdfe(r, 404, "ResourceNotFound", "The requested resource was not found.");
		return;
	}
	if (!has_collection(e, seg[4])) {
		char msg[512];
		snprintf(msg, sizeof(msg), "Collection '%s' does not exist", seg[4]);
		reply_wrapped(e, r, 404, REMOTEAPP_COLLECTION_MISSING, msg);
		return;
	}
	if (n == 6) {
		list_sessions(e, seg[4], r);
		return;
	}
	for (int k = 0; k < K_COUNT; k++) {
		if (strcmp(seg[6], kind_paths[k]) == 0) {
			session_op(e, seg[4], (enum kind)k, q, r);
			return;
		}
	}
	reply_rdfe(r, 404, "ResourceNotFound", "The requested resource was not found.");
}

/* ---- /_emulator/: observability -------------------------------------- */

static void admin_state(struct emu *e, struct reply *r)
{
	cJSON *root = cJSON_CreateObject(), *colls = cJSON_AddArrayToObject(root, "collections");
	cJSON *arr = cJSON_AddArrayToObject(root, "sessions");
	for (size_t i = 0; i < e->ncollections; i++)
		cJSON_AddItemToArray(colls, cJSON_CreateString(e->collection_names[i]));
	for (size_t i = 0; i < e->nsessions; i++) {
		const struct session *s = &e->sessions[i];
		cJSON *o = cJSON_CreateObject(), *ops;
		cJSON_AddStringToObject(o, "collection", s->collection);
		cJSON_AddStringToObject(o, "upn", s->upn);
		cJSON_AddStringToObject(o, "state", state_names[s->state]);
		ops = cJSON_AddObjectToObject(o, "operations");
		for (int k = 0; k < K_COUNT; k++)
			cJSON_AddNumberToObject(ops, kind_paths[k], s->ops[k]);
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
	cJSON_AddNumberToObject(root, "sessions", (double)e->nsessions);
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
	for (size_t i = 0; i < e->nsessions; i++)
		memset(e->sessions[i].ops, 0, sizeof(e->sessions[i].ops));
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
	r->body = emuauth_issue(&e->auth, query_has(query, "opaque=1"), clock_wall_ms());
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

/* ---- faults ---------------------------------------------------------- */

int emu_parse_faults(struct emu_config *c, const char *spec)
{
	static const struct {
		const char *name;
		size_t off;
	} kinds[] = {{"429", offsetof(struct emu_config, p429)},
		     {"503", offsetof(struct emu_config, p503)},
		     {"500", offsetof(struct emu_config, p500)},
		     {"reset", offsetof(struct emu_config, preset)},
		     {"stall", offsetof(struct emu_config, pstall)},
		     {"truncate", offsetof(struct emu_config, ptruncate)}};
	char buf[512], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		size_t i = 0;
		if (!eq)
			return ERR_INVAL;
		*eq = '\0';
		double p = strtod(eq + 1, &end);
		while (i < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kinds[i].name, tok) != 0)
			i++;
		if (i == sizeof(kinds) / sizeof(kinds[0]) || *end || p < 0 || p > 1)
			return ERR_INVAL;
		*(double *)((char *)c + kinds[i].off) = p;
	}
	return 0;
}

/* --throttle: a token bucket (burst of one second's worth); on empty, the
 * wait until the next token. Call with e->lock held. */
static bool over_throttle(struct emu *e, long *wait_ms)
{
	int64_t now = clock_mono_ms() * 1000;
	double rate = e->c.throttle;
	if (rate <= 0)
		return false;
	e->bucket += (double)(now - e->bucket_at_us) * rate / 1e6;
	if (e->bucket > rate)
		e->bucket = rate;
	e->bucket_at_us = now;
	if (e->bucket >= 1) {
		e->bucket -= 1;
		return false;
	}
	*wait_ms = (long)((1 - e->bucket) * 1000 / rate) + 1;
	return true;
}

/* Decides a fault for one API request (e->lock held). Statuses are answered
 * here, without doing the work; reset and truncate do the work first. */
static const char *pick_fault(struct emu *e, struct req *q, struct reply *r)
{
	long wait;
	if (over_throttle(e, &wait)) {
		reply_rdfe(r, 429, "TooManyRequests", "The request rate is over the limit.");
		r->retry_after_ms = e->c.retry_after_ms ? e->c.retry_after_ms : wait;
		return "throttle";
	}
	double x = unit_random(e), acc = 0;
	const struct {
		double p;
		int status;
		const char *name;
	} f[] = {{e->c.p429, 429, "429"},   {e->c.p503, 503, "503"},
		 {e->c.p500, 500, "500"},   {e->c.preset, 0, "reset"},
		 {e->c.pstall, 0, "stall"}, {e->c.ptruncate, 0, "truncate"}};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (x >= (acc += f[i].p))
			continue;
		if (f[i].status) {
			reply_rdfe(r, f[i].status,
				   f[i].status == 500 ? "InternalError" : "ServerBusy",
				   "Injected fault.");
			r->retry_after_ms = f[i].status == 500	  ? 0
					    : e->c.retry_after_ms ? e->c.retry_after_ms
								  : 1000;
		}
		q->close = !strcmp(f[i].name, "reset") || !strcmp(f[i].name, "stall");
		q->truncate = !strcmp(f[i].name, "truncate");
		return f[i].name;
	}
	return NULL;
}

/* ---- the resume timer ------------------------------------------------- */

/* Schedules a suspended connection's resumption; once the emulator is
 * stopping (or memory runs out) it is resumed at once instead. */
static void timer_add(struct emu *e, int64_t due, struct MHD_Connection *c)
{
	pthread_mutex_lock(&e->timer_lock);
	bool now = e->timer_stop || heap_push(&e->timers, due, c) < 0;
	if (!now)
		pthread_cond_signal(&e->timer_cv);
	pthread_mutex_unlock(&e->timer_lock);
	if (now)
		MHD_resume_connection(c);
}

static void *timer_main(void *arg)
{
	struct emu *e = arg;
	pthread_mutex_lock(&e->timer_lock);
	while (!e->timer_stop || e->timers.len) {
		if (e->timers.len && (e->timer_stop || heap_top(&e->timers) <= clock_mono_ms())) {
			struct MHD_Connection *c = heap_pop(&e->timers);
			pthread_mutex_unlock(&e->timer_lock);
			MHD_resume_connection(c);
			pthread_mutex_lock(&e->timer_lock);
		} else if (!e->timers.len) {
			pthread_cond_wait(&e->timer_cv, &e->timer_lock);
		} else {
			struct timespec ts;
			int64_t wait = heap_top(&e->timers) - clock_mono_ms();
			if (wait > 100) /* a stall's due is "never": see timer_stop now and then */
				wait = 100;
			clock_gettime(CLOCK_REALTIME, &ts);
			int64_t ns = ts.tv_nsec + wait * 1000000;
			ts.tv_sec += ns / 1000000000, ts.tv_nsec = ns % 1000000000;
			pthread_cond_timedwait(&e->timer_cv, &e->timer_lock, &ts);
		}
	}
	pthread_mutex_unlock(&e->timer_lock);
	return NULL;
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
		free(q->reply.body);
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

static void route(struct emu *e, struct MHD_Connection *c, const char *method, struct req *q,
		  struct reply *r)
{
	char *segs[MAX_SEGS], *path = strdup(q->uri);
	if (!path) {
		reply_rdfe(r, 500, "InternalError", "out of memory");
		return;
	}
	char *qm = strchr(path, '?');
	const char *query = qm ? qm + 1 : "";
	if (qm)
		*qm = '\0';
	int n = split_path(path, segs);
	if (q->body_too_big)
		reply_rdfe(r, 413, "RequestEntityTooLarge", "The request body is too large.");
	else if (n == 2 && strcmp(segs[0], "_emulator") == 0)
		admin(e, method, segs[1], query, r);
	else if (n < 0)
		reply_rdfe(r, 404, "ResourceNotFound", "The requested resource was not found.");
	else
		api(e, c, method, segs, n, query, q, r);
	free(path);
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
	if (q->truncate) /* promise more than is sent: the client sees a cut body */
		resp = MHD_create_response_from_callback(len + 64, 1024, cut_short, NULL, NULL);
	else
		resp = MHD_create_response_from_buffer(len, r->body ? r->body : (void *)"",
						       r->body ? MHD_RESPMEM_MUST_FREE
							       : MHD_RESPMEM_PERSISTENT);
	if (!q->truncate)
		r->body = NULL; /* MHD owns it now */
	if (!resp)
		return MHD_NO;
	new_guid(e, request_id, false);
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	MHD_add_response_header(resp, "Server", "rabulk-emulator");
	MHD_add_response_header(resp, "x-ms-servedbyregion", "emulator");
	MHD_add_response_header(resp, "x-ms-request-id", request_id);
	if (r->ctype)
		MHD_add_response_header(resp, "Content-Type", r->ctype);
	if (r->tracking[0]) {
		MHD_add_response_header(resp, "x-clouddv-tracking-id", r->tracking);
		MHD_add_response_header(resp, REMOTEAPP_TRACKING_HEADER, r->tracking);
	}
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

/* The answer's delay: --latency +- --jitter; -1 for a stall (never). */
static int64_t delay_ms(struct emu *e, const struct req *q, const char *fault)
{
	if (fault && !strcmp(fault, "stall"))
		return -1;
	long d = e->c.latency_ms;
	if (e->c.jitter_ms)
		d += (long)((unit_random(e) * 2 - 1) * (double)e->c.jitter_ms);
	return d > 0 ? d : 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct emu *e = cls;
	struct req *q = *req_cls;
	struct reply *r;
	const char *fault = NULL;

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
		return q->close ? MHD_NO : send_reply(e, c, q);
	}
	r = &q->reply;
	*r = (struct reply){.status = 500};
	bool api = strncmp(q->uri, "/_emulator/", 11) != 0;
	pthread_mutex_lock(&e->lock);
	if (api)
		fault = pick_fault(e, q, r);
	if (!fault || q->truncate || (q->close && strcmp(fault, "stall") != 0))
		route(e, c, method, q, r);
	e->requests++;
	e->by_class[r->status >= 100 && r->status < 600 ? r->status / 100 - 1 : 5]++;
	pthread_mutex_unlock(&e->lock);
	r->fault = fault;
	if (api)
		log_request(e, c, method, q, r->status, fault);
	int64_t d = api ? delay_ms(e, q, fault) : 0;
	if (d != 0) {
		q->waiting = true;
		MHD_suspend_connection(c);
		timer_add(e, d < 0 ? INT64_MAX : clock_mono_ms() + d, c);
		return MHD_YES;
	}
	return q->close ? MHD_NO : send_reply(e, c, q);
}

/* ---- lifecycle ------------------------------------------------------- */

/* --tls-cert/--tls-key (HTTPS) and --client-ca (management certificates). */
static int load_tls(struct emu *e, char *err, size_t n)
{
	const char *files[] = {e->c.tls_cert, e->c.tls_key, e->c.client_ca};
	char **pems[] = {&e->pem_cert, &e->pem_key, &e->pem_ca};
	emuauth_init(&e->auth);
	e->auth.token = e->c.token;
	e->auth.token_ttl_ms = e->c.token_ttl_ms;
	e->auth.token_skew_ms = e->c.token_skew_ms;
	e->auth.client_ca = e->c.client_ca != NULL;
	if (!e->c.tls_cert != !e->c.tls_key || (e->c.client_ca && !e->c.tls_cert)) {
		snprintf(err, n,
			 "--tls-cert and --tls-key go together (and --client-ca needs them)");
		return ERR_INVAL;
	}
	for (int i = 0; i < 3; i++)
		if (files[i] && !(*pems[i] = emuauth_read_pem(files[i]))) {
			snprintf(err, n, "cannot read '%s'", files[i]);
			return ERR_IO;
		}
	return 0;
}

const char *emu_scheme(const struct emu *e)
{
	return e->pem_cert ? "https" : "http";
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
	e->secret = mix64((uint64_t)clock_wall_ms() ^ (uint64_t)(uintptr_t)e);
	pthread_mutex_init(&e->lock, NULL);
	pthread_mutex_init(&e->log_lock, NULL);
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)c->port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	e->bucket = e->c.throttle;
	e->bucket_at_us = clock_mono_ms() * 1000;
	pthread_mutex_init(&e->timer_lock, NULL);
	pthread_cond_init(&e->timer_cv, NULL);
	if (pthread_create(&e->timer, NULL, timer_main, e) != 0) {
		snprintf(err, errlen, "cannot start a thread");
		emu_free(e);
		return NULL;
	}
	e->timer_started = true;
	if (load_tls(e, err, errlen) < 0) {
		emu_free(e);
		return NULL;
	}
	struct MHD_OptionItem tls[] = {
	    {MHD_OPTION_HTTPS_MEM_CERT, 0, e->pem_cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, e->pem_key},
	    {e->pem_ca ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, e->pem_ca},
	    {MHD_OPTION_END, 0, NULL}};
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
			 (e->pem_cert ? MHD_USE_TLS : 0);
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
				MHD_OPTION_ARRAY, e->pem_cert ? tls : tls + 3,
				MHD_OPTION_END);
	/* clang-format on */
	if (!e->d) {
		snprintf(err, errlen, "cannot listen on 127.0.0.1:%d (port in use%s?)", c->port,
			 e->pem_cert ? ", or a bad TLS certificate or key" : "");
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
	if (e->timer_started) { /* resumes every suspended connection first */
		pthread_mutex_lock(&e->timer_lock);
		e->timer_stop = true;
		pthread_cond_signal(&e->timer_cv);
		pthread_mutex_unlock(&e->timer_lock);
		pthread_join(e->timer, NULL);
	}
	if (e->d)
		MHD_stop_daemon(e->d);
	if (e->timer_started) {
		pthread_mutex_destroy(&e->timer_lock);
		pthread_cond_destroy(&e->timer_cv);
	}
	heap_release(&e->timers);
	for (size_t i = 0; i < e->nsessions; i++) {
		free(e->sessions[i].collection);
		free(e->sessions[i].upn);
	}
	for (size_t i = 0; i < e->ncollections; i++)
		free(e->collection_names[i]);
	for (size_t i = 0; i < e->nlog; i++)
		free(e->log[i]);
	table_release(&e->by_pair);
	table_release(&e->collections);
	free(e->sessions);
	free(e->collection_names);
	free(e->log);
	pthread_mutex_destroy(&e->lock);
	pthread_mutex_destroy(&e->log_lock);
	free(e->pem_cert);
	free(e->pem_ca);
	if (e->pem_key)
		explicit_bzero(e->pem_key, strlen(e->pem_key));
	free(e->pem_key);
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
