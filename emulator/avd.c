/* avd.c — the Azure Virtual Desktop routes (see avd.h).
 *
 * A request passes the checks in the order ARM makes them, each failing
 * with ARM's own code and words:
 *
 *   the bearer token        401 AuthenticationFailed / InvalidAuthenticationToken /
 *                           ExpiredAuthenticationToken (auth.c decides)
 *   api-version             400 MissingApiVersionParameter / InvalidApiVersionParameter
 *   ARM's quota buckets     429 SubscriptionRequestsThrottled with Retry-After (--arm-quota)
 *   the subscription        404 SubscriptionNotFound (only with --subscription)
 *   the caller's role       403 AuthorizationFailed (--avd-forbid), naming the action
 *   the resource group      404 ResourceGroupNotFound
 *   the host pool           404 ResourceNotFound
 *
 * then the provider's own answers: a session host that is not spelled
 * exactly as it was created is 404 "Session host does not exist" (our
 * words: none is recorded), a session that is not there 404 in the
 * recorded shape {"error":{"code":"404","message":"ActivityId: <guid>
 * Error: ..."}} — "User session ID not found" for the actions (recorded
 * for sendMessage), "User session does not exist" for GET and DELETE
 * (recorded for the GET after a logoff).
 *
 * Every answer carries the headers the recordings show (x-ms-request-id
 * echoing x-ms-client-request-id, correlation and routing ids, and the
 * provider's meaningless X-Rate-Limit-* trio). Bodies are compact JSON, as
 * ARM sends them. Faults, latency and the throttle are the glue's (faults.c)
 * and reach AVD requests as they reach RemoteApp's. */
#include "emulator/avd.h"
#include "emulator/armquota.h"
#include "emulator/auth.h"
#include "emulator/avdstate.h"
#include "emulator/reply.h"
#include "emulator/rng.h"
#include "service/avd.h"
#include "lib/clock.h"
#include "lib/err.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_PAGE_SIZE 50
#define MAX_PAGE_SIZE 1000
#define PRINCIPAL "9f2a1c4e-5b7d-4e3f-8a6b-0c1d2e3f4a5b" /* the caller ARM names in a 403 */
#define SESSIONS_ACTION "Microsoft.DesktopVirtualization/hostpools/sessionhosts/usersessions/"
#define HOSTS_ACTION "Microsoft.DesktopVirtualization/hostpools/sessionhosts/"

static const char *const api_versions[] = {AVD_API_VERSION, "2025-03-01-preview", "2024-04-03"};
#define API_VERSIONS AVD_API_VERSION ",2025-03-01-preview,2024-04-03"

/* The calls, by path shape and method. The order matters: resolve() looks
 * up a session host from GET_HOST on and a session from GET_SESSION on, and
 * forbidden() takes LIST_HOSTS .. PATCH_HOST as the session-host calls. */
enum call {
	LIST_POOL_SESSIONS, /* GET P/userSessions */
	LIST_HOSTS,	    /* GET P/sessionHosts */
	GET_HOST,	    /* GET P/sessionHosts/{sh} */
	PATCH_HOST,	    /* PATCH P/sessionHosts/{sh} */
	LIST_HOST_SESSIONS, /* GET P/sessionHosts/{sh}/userSessions */
	GET_SESSION,	    /* GET .../userSessions/{id} */
	LOGOFF,		    /* DELETE .../userSessions/{id} */
	DISCONNECT,	    /* POST .../userSessions/{id}/disconnect */
	MESSAGE,	    /* POST .../userSessions/{id}/sendMessage */
};

/* What ARM checks the caller's role for, by enum call. */
static const char *const actions[] = {
    [LIST_POOL_SESSIONS] = SESSIONS_ACTION "read",
    [LIST_HOSTS] = HOSTS_ACTION "read",
    [GET_HOST] = HOSTS_ACTION "read",
    [PATCH_HOST] = HOSTS_ACTION "write",
    [LIST_HOST_SESSIONS] = SESSIONS_ACTION "read",
    [GET_SESSION] = SESSIONS_ACTION "read",
    [LOGOFF] = SESSIONS_ACTION "delete",
    [DISCONNECT] = SESSIONS_ACTION "disconnect/action",
    [MESSAGE] = SESSIONS_ACTION "sendMessage/action",
};

/* One request on its way through. */
struct call_ctx {
	const struct route_ctx *x;
	const struct route_request *q;
	struct reply *r;
	char activity[40]; /* x-ms-correlation-id, the ActivityId of the provider's errors */
	enum call call;
	int pool, host, session; /* indices, once found */
};

/* ---- answers --------------------------------------------------------- */

/* Takes ownership of root: compact JSON, as ARM prints it. */
static void answer_json(struct reply *r, int status, cJSON *root)
{
	char *s = root ? cJSON_PrintUnformatted(root) : NULL;
	reply_take(r, s ? status : 500, "application/json; charset=utf-8", s);
	cJSON_Delete(root);
}

/* ARM's {"error":{"code":..,"message":..}}. */
static void arm_error(struct reply *r, int status, const char *code, const char *message)
{
	cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
	cJSON_AddStringToObject(e, "code", code);
	cJSON_AddStringToObject(e, "message", message);
	answer_json(r, status, root);
}

/* The provider's own 404: code "404", the ActivityId in the message. */
static void provider_404(struct call_ctx *k, const char *what)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "ActivityId: %s Error: %s", k->activity, what);
	arm_error(k->r, 404, "404", msg);
}

/* The headers every recorded answer carries. With --arm-quota, over_quota()
 * adds the x-ms-ratelimit-remaining-subscription-<bucket> pair. */
static void arm_headers(struct call_ctx *k)
{
	const char *client =
	    MHD_lookup_connection_value(k->q->conn, MHD_HEADER_KIND, AVD_CLIENT_REQUEST_ID_HEADER);
	char id[40], routing[96], when[24];
	time_t now = (time_t)(clock_wall_ms() / 1000);
	struct tm tm;
	bool echo = client && *client && strlen(client) < REPLY_HEADER_MAX;
	for (const char *p = client; echo && *p; p++)
		echo = isprint((unsigned char)*p);
	rng_guid(k->x->rng, id, true);
	reply_header(k->r, "x-ms-request-id", echo ? client : id);
	rng_guid(k->x->rng, id, true);
	reply_header(k->r, "x-ms-correlation-request-id", id);
	strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
	snprintf(routing, sizeof(routing), "EMULATOR:%s:%s", when, id);
	reply_header(k->r, "x-ms-routing-request-id", routing);
	rng_guid(k->x->rng, k->activity, true);
	reply_header(k->r, "x-ms-correlation-id", k->activity);
	reply_header(k->r, "X-Rate-Limit-Limit", "0");
	reply_header(k->r, "X-Rate-Limit-Remaining", "9223372036854775807");
	reply_header(k->r, "X-Rate-Limit-Reset", "0");
	reply_header(k->r, "Pragma", "no-cache");
	reply_header(k->r, "Expires", "-1");
}

/* A stable GUID-shaped id for a name (objectId, virtualMachineId). */
static void name_guid(const char *salt, const char *name, char out[37])
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = salt; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)tolower((unsigned char)*p)) * 1099511628211ull;
	uint64_t a = rng_mix(h), b = rng_mix(h ^ 0x9e3779b97f4a7c15ull);
	snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
		 0x8000 | ((unsigned)(b >> 48) & 0x3fff),
		 (unsigned long long)(b & 0xffffffffffffull));
}

static cJSON *system_data(const char *created_at)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNullToObject(o, "createdBy");
	cJSON_AddNullToObject(o, "createdByType");
	cJSON_AddStringToObject(o, "createdAt", created_at);
	cJSON_AddNullToObject(o, "lastModifiedBy");
	cJSON_AddNullToObject(o, "lastModifiedByType");
	cJSON_AddNullToObject(o, "lastModifiedAt");
	return o;
}

/* A UserSession as the recordings show it; systemData null in a pool's
 * list, an object elsewhere (as recorded). */
static cJSON *user_session(struct call_ctx *k, size_t i, bool with_system_data)
{
	struct avdstate *st = k->x->avd;
	const struct avdstate_session *s = avdstate_session(st, i);
	const struct avdstate_host *h = avdstate_host(st, s->host);
	const struct avdstate_pool *p = avdstate_pool(st, h->pool);
	char *buf, when[32], guid[37];
	size_t n = strlen(k->q->seg[1]) + strlen(p->resource_group) + 2 * strlen(p->name) +
		   2 * strlen(h->name) + strlen(s->upn) + 256;
	cJSON *o = cJSON_CreateObject(), *props;
	if (!o || !(buf = malloc(n)))
		return o;
	snprintf(buf, n, "%s/%s/%u", p->name, h->name, s->id);
	cJSON_AddStringToObject(o, "name", buf);
	snprintf(buf, n,
		 "/subscriptions/%s/resourcegroups/%s/providers/" AVD_PROVIDER
		 "/hostpools/%s/sessionhosts/%s/usersessions/%u",
		 k->q->seg[1], p->resource_group, p->name, h->name, s->id);
	cJSON_AddStringToObject(o, "id", buf);
	cJSON_AddStringToObject(
	    o, "type", "Microsoft.DesktopVirtualization/hostpools/sessionhosts/usersessions");
	props = cJSON_AddObjectToObject(o, "properties");
	clock_iso8601(when, sizeof(when), s->created_ms);
	cJSON_AddStringToObject(props, "createTime", when);
	cJSON_AddStringToObject(props, "userPrincipalName", s->upn);
	cJSON_AddStringToObject(props, "sessionState", avdstate_status_name(s->status));
	cJSON_AddStringToObject(props, "applicationType", "Desktop");
	snprintf(buf, n, "AzureAD\\%.*s", (int)strcspn(s->upn, "@"), s->upn);
	cJSON_AddStringToObject(props, "activeDirectoryUserName", buf);
	name_guid("user", s->upn, guid);
	cJSON_AddStringToObject(props, "objectId", guid);
	if (with_system_data)
		cJSON_AddItemToObject(o, "systemData", system_data(when));
	else
		cJSON_AddNullToObject(o, "systemData");
	free(buf);
	return o;
}

/* A SessionHost, the recorded shape with fewer health checks. */
static cJSON *session_host(struct call_ctx *k, size_t i)
{
	struct avdstate *st = k->x->avd;
	const struct avdstate_host *h = avdstate_host(st, i);
	const struct avdstate_pool *p = avdstate_pool(st, h->pool);
	char *buf, when[32], now[32], guid[37];
	size_t n = strlen(k->q->seg[1]) + strlen(p->resource_group) + 2 * strlen(p->name) +
		   2 * strlen(h->name) + 256;
	cJSON *o = cJSON_CreateObject(), *props, *checks, *c, *d;
	if (!o || !(buf = malloc(n)))
		return o;
	clock_iso8601(when, sizeof(when), h->created_ms);
	clock_iso8601(now, sizeof(now), clock_wall_ms());
	snprintf(buf, n, "%s/%s", p->name, h->name);
	cJSON_AddStringToObject(o, "name", buf);
	snprintf(buf, n,
		 "/subscriptions/%s/resourcegroups/%s/providers/" AVD_PROVIDER
		 "/hostpools/%s/sessionhosts/%s",
		 k->q->seg[1], p->resource_group, p->name, h->name);
	cJSON_AddStringToObject(o, "id", buf);
	cJSON_AddStringToObject(o, "type",
				"Microsoft.DesktopVirtualization/hostpools/sessionhosts");
	props = cJSON_AddObjectToObject(o, "properties");
	cJSON_AddNullToObject(props, "friendlyName");
	cJSON_AddStringToObject(props, "lastHeartBeat", now);
	cJSON_AddNullToObject(props, "statusTimestamp");
	cJSON_AddStringToObject(props, "lastUpdateTime", when);
	cJSON_AddNumberToObject(props, "sessions", h->live);
	cJSON_AddStringToObject(props, "agentVersion", "1.0.13229.200");
	cJSON_AddBoolToObject(props, "allowNewSession", h->allow_new_session);
	cJSON_AddNullToObject(props, "assignedUser");
	cJSON_AddStringToObject(props, "status", "Available");
	cJSON_AddStringToObject(props, "osVersion", "10.0.26100.7171");
	cJSON_AddStringToObject(props, "sxSStackVersion", "rdp-sxs251112650");
	cJSON_AddStringToObject(props, "updateState", "Succeeded");
	cJSON_AddStringToObject(props, "updateErrorMessage", "");
	checks = cJSON_AddArrayToObject(props, "sessionHostHealthCheckResults");
	cJSON_AddItemToArray(checks, c = cJSON_CreateObject());
	cJSON_AddStringToObject(c, "healthCheckName", "DomainJoinedCheck");
	cJSON_AddStringToObject(c, "healthCheckResult", "HealthCheckSucceeded");
	d = cJSON_AddObjectToObject(c, "additionalFailureDetails");
	cJSON_AddStringToObject(d, "message", "");
	cJSON_AddNumberToObject(d, "errorCode", 0);
	cJSON_AddStringToObject(d, "lastHealthCheckDateTime", now);
	snprintf(buf, n,
		 "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/"
		 "virtualMachines/%.*s",
		 k->q->seg[1], p->resource_group, (int)strcspn(h->name, "."), h->name);
	cJSON_AddStringToObject(props, "resourceId", buf);
	name_guid("vm", buf, guid);
	cJSON_AddStringToObject(props, "virtualMachineId", guid);
	name_guid("host", buf, guid);
	cJSON_AddStringToObject(props, "objectId", guid);
	cJSON_AddItemToObject(o, "systemData", system_data(when));
	free(buf);
	return o;
}

/* ---- the query --------------------------------------------------------- */

/* Decodes %XX in s[0..n) into dst (cap bytes, NUL-ended). */
static void decode(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = {s[i + 1], s[i + 2], 0};
			dst[o++] = (char)strtoul(hex, NULL, 16);
			i += 2;
		} else {
			dst[o++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	dst[o] = '\0';
}

/* The decoded value of query parameter name (matched decoded, any case)
 * into dst; false when absent. *at and *len (when at is not NULL) say
 * where the whole "name=value" sits in query. */
static bool query_get(const char *query, const char *name, char *dst, size_t cap, size_t *at,
		      size_t *len)
{
	char key[64];
	for (const char *p = query; *p;) {
		size_t n = strcspn(p, "&"), kn = strcspn(p, "=");
		kn = kn < n ? kn : n;
		decode(key, sizeof(key), p, kn);
		if (strcasecmp(key, name) == 0) {
			decode(dst, cap, p + kn + (kn < n), n - kn - (kn < n));
			if (at)
				*at = (size_t)(p - query), *len = n;
			return true;
		}
		p += n + (p[n] == '&');
	}
	return false;
}

/* ---- the checks -------------------------------------------------------- */

static bool ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

/* The call q's path and method make, or -1. Segment names in any case, as
 * ARM reads them. */
static int call_of(const struct route_request *q)
{
	char *const *seg = q->seg;
	int n = q->nseg;
	bool get = route_method(q, "GET");
	bool sessions = n >= 11 && ieq(seg[8], "sessionHosts") && ieq(seg[10], "userSessions");
	if (n == 9 && get && ieq(seg[8], "userSessions"))
		return LIST_POOL_SESSIONS;
	if (n == 9 && get && ieq(seg[8], "sessionHosts"))
		return LIST_HOSTS;
	if (n == 10 && ieq(seg[8], "sessionHosts"))
		return get ? GET_HOST : route_method(q, "PATCH") ? PATCH_HOST : -1;
	if (n == 11 && sessions && get)
		return LIST_HOST_SESSIONS;
	if (n == 12 && sessions)
		return get ? GET_SESSION : route_method(q, "DELETE") ? LOGOFF : -1;
	if (n == 13 && sessions && route_method(q, "POST"))
		return ieq(seg[12], "disconnect")    ? DISCONNECT
		       : ieq(seg[12], "sendMessage") ? MESSAGE
						     : -1;
	return -1;
}

/* The bearer token, as ARM answers for it. */
static bool unauthenticated(struct call_ctx *k)
{
	const char *code, *message;
	int status = auth_check(k->x->auth, k->q->conn, rng_unit(k->x->rng), &code, &message);
	if (!status)
		return false;
	const char *h = MHD_lookup_connection_value(k->q->conn, MHD_HEADER_KIND, "Authorization");
	if (!h || !*h)
		arm_error(k->r, 401, "AuthenticationFailed",
			  "Authentication failed. The 'Authorization' header is missing.");
	else if (status == 401)
		arm_error(k->r, 401, "ExpiredAuthenticationToken", message);
	else
		arm_error(k->r, 401, "InvalidAuthenticationToken", "The access token is invalid.");
	return true;
}

static bool bad_api_version(struct call_ctx *k)
{
	char v[64], msg[256];
	if (!query_get(k->q->query, "api-version", v, sizeof(v), NULL, NULL) || !*v) {
		arm_error(k->r, 400, "MissingApiVersionParameter",
			  "The api-version query parameter (?api-version=) is required for all "
			  "requests.");
		return true;
	}
	for (size_t i = 0; i < sizeof(api_versions) / sizeof(api_versions[0]); i++)
		if (strcmp(v, api_versions[i]) == 0)
			return false;
	snprintf(msg, sizeof(msg),
		 "The api-version '%s' is invalid. The supported versions are '%s'.", v,
		 API_VERSIONS);
	arm_error(k->r, 400, "InvalidApiVersionParameter", msg);
	return true;
}

/* The principal ARM's buckets are kept for: a GUID-shaped actor id made from
 * the bearer token (the emulator's tokens name no identity, so each token
 * is one principal), or "anonymous" without one. */
static void principal_of(struct call_ctx *k, char out[37])
{
	const char *h = MHD_lookup_connection_value(k->q->conn, MHD_HEADER_KIND, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
		snprintf(out, 37, "anonymous");
		return;
	}
	uint64_t x = 1469598103934665603ull; /* FNV-1a, case-sensitive as tokens are */
	for (const char *p = h + 7; *p; p++)
		x = (x ^ (unsigned char)*p) * 1099511628211ull;
	uint64_t a = rng_mix(x), b = rng_mix(x ^ 0x9e3779b97f4a7c15ull);
	snprintf(out, 37, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
		 (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
		 0x8000 | ((unsigned)(b >> 48) & 0x3fff),
		 (unsigned long long)(b & 0xffffffffffffull));
}

/* --arm-quota: takes a token from the bucket the method charges, for the
 * path's subscription (any case: one subscription) and the caller. The
 * answer, whatever it is, carries the remaining headers; over the limit it
 * is ARM's 429. A request armquota cannot keep (a name too long, too many
 * callers, out of memory) goes uncounted. */
static bool over_quota(struct call_ctx *k)
{
	enum armquota_bucket b;
	char sub[ARMQUOTA_NAME_MAX + 2], actor[37], num[24], msg[512];
	struct armquota_answer a;
	const char *s = k->q->seg[1];
	size_t n = strlen(s);
	if (!k->x->quota || armquota_bucket_of_method(k->q->method, &b) < 0 || n >= sizeof(sub))
		return false;
	for (size_t i = 0; i <= n; i++)
		sub[i] = (char)tolower((unsigned char)s[i]);
	principal_of(k, actor);
	int rc = armquota_take(k->x->quota, sub, actor, b, clock_mono_ms(), &a);
	if (rc != 0 && rc != ERR_AGAIN)
		return false;
	if (a.remaining >= 0) {
		snprintf(num, sizeof(num), "%lld", (long long)a.remaining);
		reply_header(k->r, armquota_header_name(b, false), num);
	}
	if (a.global_remaining >= 0) {
		snprintf(num, sizeof(num), "%lld", (long long)a.global_remaining);
		reply_header(k->r, armquota_header_name(b, true), num);
	}
	if (rc == 0)
		return false;
	/* ARM's words for its token-bucket throttle, as a live 429 shows them
	 * (an ARM GET answered 429 SubscriptionRequestsThrottled, quoted in the
	 * e2e test fixtures of github.com/Azure/ARO-HCP): "Number of 'read'
	 * requests for subscription '<sub>' actor '<object id>' exceeded. Please
	 * try again after '10' seconds after additional tokens are available.
	 * Refer to https://aka.ms/arm-throttling for additional information."
	 * The bucket is named in the singular ('read', 'write', 'delete'). */
	const char *name = armquota_bucket_name(b);
	snprintf(msg, sizeof(msg),
		 "Number of '%.*s' requests for subscription '%s' actor '%s' exceeded. Please try "
		 "again after '%ld' seconds after additional tokens are available. Refer to "
		 "https://aka.ms/arm-throttling for additional information.",
		 (int)strlen(name) - 1, name, s, actor, a.retry_after_s);
	arm_error(k->r, 429, "SubscriptionRequestsThrottled", msg);
	k->r->retry_after_ms = a.retry_after_s * 1000;
	return true;
}

/* --avd-forbid: the caller lacks the role for this call. */
static bool forbidden(struct call_ctx *k)
{
	unsigned bit = k->call <= PATCH_HOST && k->call != LIST_POOL_SESSIONS
			   ? EMU_AVD_FORBID_HOSTS
			   : EMU_AVD_FORBID_SESSIONS;
	if (!(k->x->c->avd_forbid & bit))
		return false;
	const char *qm = strchr(k->q->uri, '?');
	size_t n = qm ? (size_t)(qm - k->q->uri) : strlen(k->q->uri);
	if (k->call == DISCONNECT || k->call == MESSAGE) { /* the scope is the session */
		while (n > 0 && k->q->uri[n - 1] != '/')
			n--;
		n -= n > 0;
	}
	char *msg = malloc(n + 512);
	if (msg)
		snprintf(msg, n + 512,
			 "The client '%s' with object id '%s' does not have authorization to "
			 "perform action '%s' over scope '%.*s' or the scope is invalid. If access "
			 "was recently granted, please refresh your credentials.",
			 PRINCIPAL, PRINCIPAL, actions[k->call], (int)n, k->q->uri);
	arm_error(k->r, 403, "AuthorizationFailed", msg ? msg : "");
	free(msg);
	return true;
}

/* Resource group, host pool, session host, session: whichever the call
 * needs, into k; false with the 404 answered when one is missing. */
static bool resolve(struct call_ctx *k)
{
	char *const *seg = k->q->seg;
	char msg[1024];
	if (!avdstate_has_resource_group(k->x->avd, seg[3])) {
		snprintf(msg, sizeof(msg), "Resource group '%s' could not be found.", seg[3]);
		arm_error(k->r, 404, "ResourceGroupNotFound", msg);
		return false;
	}
	if ((k->pool = avdstate_find_pool(k->x->avd, seg[3], seg[7])) < 0) {
		snprintf(msg, sizeof(msg),
			 "The Resource '" AVD_PROVIDER "/hostPools/%s' under resource group '%s' "
			 "was not found. For more details please go to "
			 "https://aka.ms/ARMResourceNotFoundFix",
			 seg[7], seg[3]);
		arm_error(k->r, 404, "ResourceNotFound", msg);
		return false;
	}
	if (k->call < GET_HOST)
		return true;
	if ((k->host = avdstate_find_host(k->x->avd, (uint32_t)k->pool, seg[9])) < 0) {
		provider_404(k, "Session host does not exist");
		return false;
	}
	if (k->call < GET_SESSION)
		return true;
	k->session = avdstate_find_session(k->x->avd, (uint32_t)k->host, seg[11]);
	return true; /* a missing or gone session is the call's to answer */
}

/* ---- the calls --------------------------------------------------------- */

/* A page of sessions (host < 0: the pool's) or of session hosts. */
static void list(struct call_ctx *k, bool hosts, long host)
{
	const struct emu_config *c = k->x->c;
	char v[32], *end;
	size_t at = 0, len = 0, cursor = 0,
	       max = c->avd_page_size > 0 ? (size_t)c->avd_page_size : DEFAULT_PAGE_SIZE;
	if (query_get(k->q->query, "pageSize", v, sizeof(v), NULL, NULL)) {
		long ps = strtol(v, &end, 10);
		if (*v && !*end && ps > 0)
			max = ps > MAX_PAGE_SIZE ? MAX_PAGE_SIZE : (size_t)ps;
	}
	if (query_get(k->q->query, "$skiptoken", v, sizeof(v), &at, &len)) {
		unsigned long long t = strtoull(v, &end, 10);
		size_t limit = hosts ? avdstate_nhosts(k->x->avd) : avdstate_nsessions(k->x->avd);
		if (!*v || *end || t == 0 || t > limit) {
			arm_error(k->r, 400, "InvalidSkipToken", "The skip token is not valid.");
			return;
		}
		cursor = (size_t)t;
	}
	size_t *out = malloc(max * sizeof(*out)), n;
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "value");
	if (!out) {
		cJSON_Delete(root);
		arm_error(k->r, 500, "InternalServerError", "out of memory");
		return;
	}
	n = hosts ? avdstate_page_hosts(k->x->avd, (uint32_t)k->pool, &cursor, max, out)
		  : avdstate_page_sessions(k->x->avd, (uint32_t)k->pool, host, &cursor, max, out);
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, hosts ? session_host(k, out[i])
						: user_session(k, out[i], host >= 0));
	free(out);
	if (!cursor) {
		cJSON_AddNullToObject(root, "nextLink");
		answer_json(k->r, 200, root);
		return;
	}
	/* the request's own path and query, the skip token replaced */
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(k->q->conn, MHD_CONNECTION_INFO_DAEMON);
	const union MHD_DaemonInfo *di =
	    ci ? MHD_get_daemon_info(ci->daemon, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	const char *qm = strchr(k->q->uri, '?'), *query = k->q->query;
	size_t plen = qm ? (size_t)(qm - k->q->uri) : strlen(k->q->uri);
	size_t cap = strlen(k->q->uri) + 96;
	char *link = malloc(cap);
	if (link) {
		int o = snprintf(link, cap, "%s://127.0.0.1:%u%.*s?",
				 k->x->auth->pem_cert ? "https" : "http", di ? di->port : 0u,
				 (int)plen, k->q->uri);
		if (len) { /* the query without its old token (and the '&' after it) */
			size_t after = at + len + (query[at + len] == '&');
			o += snprintf(link + o, cap - (size_t)o, "%.*s%s", (int)at, query,
				      query + after);
		} else {
			o += snprintf(link + o, cap - (size_t)o, "%s", query);
		}
		if (o > 0 && link[o - 1] != '?' && link[o - 1] != '&')
			link[o++] = '&';
		snprintf(link + o, cap - (size_t)o, "%%24skiptoken=%zu", cursor);
	}
	cJSON_AddStringToObject(root, "nextLink", link ? link : "");
	free(link);
	answer_json(k->r, 200, root);
}

static void patch_host(struct call_ctx *k)
{
	cJSON *body = cJSON_ParseWithLength(k->q->body ? k->q->body : "", k->q->body_len);
	const cJSON *props = cJSON_GetObjectItemCaseSensitive(body, "properties");
	const cJSON *allow = cJSON_GetObjectItemCaseSensitive(props, "allowNewSession");
	if (!cJSON_IsObject(body) || (props && !cJSON_IsObject(props)) ||
	    (allow && !cJSON_IsBool(allow))) {
		cJSON_Delete(body);
		arm_error(k->r, 400, "InvalidRequestContent",
			  "The request content was invalid and could not be deserialized.");
		return;
	}
	if (allow)
		avdstate_host(k->x->avd, (size_t)k->host)->allow_new_session = cJSON_IsTrue(allow);
	cJSON_Delete(body);
	answer_json(k->r, 200, session_host(k, (size_t)k->host));
}

/* GET, DELETE, disconnect and sendMessage of one session. */
static void session_call(struct call_ctx *k)
{
	static const enum avdstate_op op_of[] = {[LOGOFF] = AVDSTATE_OP_LOGOFF,
						 [DISCONNECT] = AVDSTATE_OP_DISCONNECT,
						 [MESSAGE] = AVDSTATE_OP_MESSAGE};
	const char *gone = k->call == GET_SESSION || k->call == LOGOFF
			       ? "User session does not exist"
			       : "User session ID not found";
	cJSON *body = NULL;
	const cJSON *title = NULL, *text = NULL;
	if (k->call == MESSAGE && k->q->body_len) {
		body = cJSON_ParseWithLength(k->q->body, k->q->body_len);
		title = cJSON_GetObjectItemCaseSensitive(body, "messageTitle");
		text = cJSON_GetObjectItemCaseSensitive(body, "messageBody");
		if (!cJSON_IsObject(body) || (title && !cJSON_IsString(title)) ||
		    (text && !cJSON_IsString(text))) {
			cJSON_Delete(body);
			arm_error(k->r, 400, "InvalidRequestContent",
				  "The request content was invalid and could not be deserialized.");
			return;
		}
	}
	if (k->session < 0) {
		provider_404(k, gone);
	} else if (k->call == GET_SESSION) {
		if (avdstate_session(k->x->avd, (size_t)k->session)->gone)
			provider_404(k, gone);
		else
			answer_json(k->r, 200, user_session(k, (size_t)k->session, true));
	} else if (avdstate_act(k->x->avd, (size_t)k->session, op_of[k->call],
				cJSON_GetStringValue(title), cJSON_GetStringValue(text)) < 0) {
		provider_404(k, gone);
	} else {
		reply_take(k->r, k->call == LOGOFF ? 204 : 200, NULL, NULL);
	}
	cJSON_Delete(body);
}

/* /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DesktopVirtualization/
 * hostPools/{hp}/... */
static bool serve(const struct route_ctx *x, const struct route_request *q, struct reply *r)
{
	char *const *seg = q->seg;
	struct call_ctx k = {.x = x, .q = q, .r = r, .pool = -1, .host = -1, .session = -1};
	if (q->nseg < 8 || !ieq(seg[0], "subscriptions") || !ieq(seg[2], "resourceGroups") ||
	    !ieq(seg[4], "providers") || !ieq(seg[5], AVD_PROVIDER) || !ieq(seg[6], "hostPools"))
		return false;
	arm_headers(&k);
	if (unauthenticated(&k) || bad_api_version(&k) || over_quota(&k))
		return true;
	if (x->c->subscription && !ieq(seg[1], x->c->subscription)) {
		char msg[512];
		snprintf(msg, sizeof(msg), "The subscription '%s' could not be found.", seg[1]);
		arm_error(r, 404, "SubscriptionNotFound", msg);
		return true;
	}
	int call = call_of(q);
	if (call < 0) {
		char msg[512];
		snprintf(msg, sizeof(msg),
			 "The resource type could not be found in the namespace '" AVD_PROVIDER
			 "' for api version '%s'.",
			 AVD_API_VERSION);
		arm_error(r, 404, "InvalidResourceType", msg);
		return true;
	}
	k.call = (enum call)call;
	if (forbidden(&k) || !resolve(&k))
		return true;
	switch (k.call) {
	case LIST_POOL_SESSIONS:
		list(&k, false, -1);
		break;
	case LIST_HOSTS:
		list(&k, true, -1);
		break;
	case LIST_HOST_SESSIONS:
		list(&k, false, k.host);
		break;
	case GET_HOST:
		answer_json(r, 200, session_host(&k, (size_t)k.host));
		break;
	case PATCH_HOST:
		patch_host(&k);
		break;
	default:
		session_call(&k);
	}
	return true;
}

const struct route_service avd_routes = {.name = "avd", .serve = serve};
