/* avd.c — Azure Virtual Desktop's ARM protocol as pure functions.
 *
 * Addresses. A row names a host pool or a session in a few written forms
 * (a resource id, "rg/hp", a bare name with a default resource group,
 * "hp/sh/id"); they are split at '/' and each part is checked once, here,
 * for what would make an unsafe or wrong path (empty, ".", "..", control
 * characters, too long to keep whole). Names are kept as written: ARM's ids
 * are not percent-encoded, and the live service spells its segment names in
 * lower case ("resourcegroups", "hostpools") while requests use camel case,
 * so fixed segment names are compared without regard to case.
 *
 * Requests. URLs are built by hand into caller buffers, every name escaped
 * with service_escape_segment() (which also refuses "." and "..", since
 * libcurl would collapse "/../"); bodies are written by hand, strings
 * escaped with service_json_string(). The query is api-version first, then
 * force=true for a logoff, as the recordings and the Az module send it.
 *
 * Answers. Lists and errors are parsed with cJSON. A list is checked whole
 * (the object, its value array, its nextLink) before the first callback, so
 * a malformed page never half-reaches the caller. A session's host and id
 * come from its resource id, as the service spelled them: ARM matches the
 * session host name on the way back, and "name" in the spec's examples is
 * only the id ("1"), not "hp/sh/id" as live.
 *
 * Retries. Disconnect, logoff, drain and the GETs are idempotent; a message
 * is not (it pops up again), so avd_retry_safe() narrows RETRY for it to
 * answers that prove the request did no work. */
#include "service/avd.h"
#include "lib/err.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- what a request is ----------------------------------------------- */

enum avd_call avd_call_of(enum service_op op)
{
	switch (op) {
	case SERVICE_LOGOFF:
		return AVD_LOGOFF;
	case SERVICE_MESSAGE:
		return AVD_MESSAGE;
	case SERVICE_DRAIN:
	case SERVICE_UNDRAIN:
		return AVD_DRAIN;
	case SERVICE_DISCONNECT:
		break;
	}
	return AVD_DISCONNECT;
}

const char *avd_method(enum avd_call c)
{
	switch (c) {
	case AVD_LIST_SESSIONS:
	case AVD_LIST_HOSTS:
		return "GET";
	case AVD_LOGOFF:
		return "DELETE";
	case AVD_DRAIN:
		return "PATCH";
	case AVD_DISCONNECT:
	case AVD_MESSAGE:
		break;
	}
	return "POST";
}

const char *avd_quota_bucket(enum avd_call c)
{
	switch (c) {
	case AVD_LIST_SESSIONS:
	case AVD_LIST_HOSTS:
		return "reads";
	case AVD_LOGOFF:
		return "deletes";
	case AVD_DISCONNECT:
	case AVD_MESSAGE:
	case AVD_DRAIN:
		break;
	}
	return "writes";
}

const char *avd_role(enum avd_call c)
{
	return c == AVD_DRAIN || c == AVD_LIST_HOSTS ? AVD_ROLE_HOSTS : AVD_ROLE_SESSIONS;
}

/* ---- addresses ------------------------------------------------------- */

const char *avd_validate_host_pool(const char *s, size_t len)
{
	if (len < 3 || len > 64)
		return "host pool name must be 3 to 64 characters";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || (c && strchr("@.-_ ", c));
		if (!ok)
			return "host pool name may hold only letters, digits, spaces and '@', '.', "
			       "'-', '_'";
	}
	return NULL;
}

#define PARTS_MAX 12 /* a user session's resource id */

struct parts {
	const char *s[PARTS_MAX];
	size_t len[PARTS_MAX];
	size_t n;
};

/* Splits text at '/'; false when it has more than PARTS_MAX parts. */
static bool split(const char *text, struct parts *p)
{
	p->n = 0;
	for (const char *s = text;;) {
		const char *e = strchr(s, '/');
		if (p->n == PARTS_MAX)
			return false;
		p->s[p->n] = s;
		p->len[p->n++] = e ? (size_t)(e - s) : strlen(s);
		if (!e)
			return true;
		s = e + 1;
	}
}

static bool part_is(const struct parts *p, size_t i, const char *name)
{
	return p->len[i] == strlen(name) && strncasecmp(p->s[i], name, p->len[i]) == 0;
}

static int fail(const char **why, const char *phrase, int code)
{
	if (why)
		*why = phrase;
	return code;
}

/* Copies part i into dst (AVD_NAME_MAX + 1 bytes) after the checks every
 * name gets, whatever it names. */
static int take(char *dst, const struct parts *p, size_t i, const char **why)
{
	const char *s = p->s[i];
	size_t n = p->len[i];
	if (n == 0)
		return fail(why, "has an empty part", ERR_INVAL);
	if (n > AVD_NAME_MAX)
		return fail(why, "has a part longer than 256 bytes", ERR_TOOBIG);
	if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return fail(why, "has a '.' or '..' part", ERR_INVAL);
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)s[k] < 0x20 || s[k] == 0x7F)
			return fail(why, "holds control characters", ERR_INVAL);
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

/* Copies a default (NULL: "") into dst; ERR_TOOBIG if it cannot be kept. */
static int take_default(char *dst, const char *def, const char **why)
{
	if (!def)
		def = "";
	if (strlen(def) > AVD_NAME_MAX)
		return fail(why, "has a part longer than 256 bytes", ERR_TOOBIG);
	strcpy(dst, def);
	return 0;
}

/* Reads a resource id: the 8 parts (after the leading '/') of a host pool,
 * the 10 of a session host or the 12 of a user session. Fixed segment names
 * and the provider in any case. */
static int parse_resource_id(const char *text, size_t want, struct avd_session_ref *out,
			     const char **why, const char *not_it)
{
	static const char *const names[] = {"subscriptions", "resourceGroups", "providers",
					    "hostPools",     "sessionHosts",   "userSessions"};
	struct parts p;
	int r;
	if (text[0] != '/' || !split(text + 1, &p) || p.n != want || !part_is(&p, 5, AVD_PROVIDER))
		return fail(why, not_it, ERR_INVAL);
	for (size_t i = 0; i < want; i += 2)
		if (!part_is(&p, i, names[i / 2]))
			return fail(why, not_it, ERR_INVAL);
	if ((r = take(out->pool.subscription, &p, 1, why)) < 0 ||
	    (r = take(out->pool.resource_group, &p, 3, why)) < 0 ||
	    (r = take(out->pool.host_pool, &p, 7, why)) < 0 ||
	    (want >= 10 && (r = take(out->session_host, &p, 9, why)) < 0) ||
	    (want == 12 && (r = take(out->id, &p, 11, why)) < 0))
		return r;
	return 0;
}

static int check_pool(const struct avd_pool *p, const char **why)
{
	const char *bad = avd_validate_host_pool(p->host_pool, strlen(p->host_pool));
	if (bad)
		return fail(why, bad, ERR_INVAL);
	if (!p->resource_group[0])
		return fail(why,
			    "has no resource group (give --resource-group, a ResourceGroupName "
			    "column, or write resourceGroup/hostPool)",
			    ERR_INVAL);
	return 0;
}

int avd_parse_pool_address(const char *text, const char *default_sub, const char *default_rg,
			   struct avd_pool *out, const char **why)
{
	struct avd_session_ref ref;
	struct parts p;
	int r;

	memset(out, 0, sizeof(*out));
	if (text[0] == '/') {
		if ((r = parse_resource_id(text, 8, &ref, why, "is not a host-pool resource id")) <
		    0)
			return r;
		*out = ref.pool;
		return check_pool(out, why);
	}
	if (!split(text, &p) || p.n > 4)
		return fail(why, "is not a host pool, resourceGroup/hostPool or a resource id",
			    ERR_INVAL);
	if (p.n >= 3)
		return fail(why, "names a user session (hostpool/sessionhost/id), not a host pool",
			    ERR_INVAL);
	if ((r = take_default(out->subscription, default_sub, why)) < 0)
		return r;
	if (p.n == 2 && (r = take(out->resource_group, &p, 0, why)) < 0)
		return r;
	if (p.n == 1 && (r = take_default(out->resource_group, default_rg, why)) < 0)
		return r;
	if ((r = take(out->host_pool, &p, p.n - 1, why)) < 0)
		return r;
	return check_pool(out, why);
}

int avd_parse_session_address(const char *text, const char *default_sub, const char *default_rg,
			      struct avd_session_ref *out, const char **why)
{
	struct parts p;
	int r;

	memset(out, 0, sizeof(*out));
	if (text[0] == '/') {
		if ((r = parse_resource_id(text, 12, out, why,
					   "is not a user-session resource id")) < 0)
			return r;
		return check_pool(&out->pool, why);
	}
	if (!split(text, &p) || p.n < 3 || p.n > 4)
		return fail(why, "is not hostpool/sessionhost/id or a user-session resource id",
			    ERR_INVAL);
	size_t k = p.n - 3; /* resourceGroup/hostpool/sessionhost/id: 1 */
	if ((r = take_default(out->pool.subscription, default_sub, why)) < 0 ||
	    (r = k ? take(out->pool.resource_group, &p, 0, why)
		   : take_default(out->pool.resource_group, default_rg, why)) < 0 ||
	    (r = take(out->pool.host_pool, &p, k, why)) < 0 ||
	    (r = take(out->session_host, &p, k + 1, why)) < 0 ||
	    (r = take(out->id, &p, k + 2, why)) < 0)
		return r;
	return check_pool(&out->pool, why);
}

/* ---- requests -------------------------------------------------------- */

static int put_text(char *dst, size_t cap, size_t *n, const char *text)
{
	size_t len = strlen(text);
	if (*n + len + 1 > cap)
		return ERR_TOOBIG;
	memcpy(dst + *n, text, len + 1);
	*n += len;
	return 0;
}

/* Appends "<dir>/<escaped seg>". */
static int put_segment(char *dst, size_t cap, size_t *n, const char *dir, const char *seg)
{
	int r;
	if ((r = put_text(dst, cap, n, dir)) < 0 || (r = put_text(dst, cap, n, "/")) < 0)
		return r;
	if ((r = service_escape_segment(dst + *n, cap - *n, seg)) < 0)
		return r;
	*n += (size_t)r;
	return 0;
}

/* "{endpoint}/subscriptions/{sub}/resourceGroups/{rg}/providers/.../hostPools/{hp}" */
static int put_pool(char *dst, size_t cap, size_t *n, const char *endpoint,
		    const struct avd_pool *p)
{
	int r;
	*n = 0;
	if ((r = put_text(dst, cap, n, endpoint)) < 0 ||
	    (r = put_segment(dst, cap, n, "/subscriptions", p->subscription)) < 0 ||
	    (r = put_segment(dst, cap, n, "/resourceGroups", p->resource_group)) < 0 ||
	    (r = put_segment(dst, cap, n, "/providers", AVD_PROVIDER)) < 0 ||
	    (r = put_segment(dst, cap, n, "/hostPools", p->host_pool)) < 0)
		return r;
	return 0;
}

static int put_query(char *dst, size_t cap, size_t *n, const char *extra)
{
	int r;
	if ((r = put_text(dst, cap, n, "?api-version=" AVD_API_VERSION)) < 0 ||
	    (r = put_text(dst, cap, n, extra)) < 0)
		return r;
	return (int)*n;
}

int avd_url_sessions(char *dst, size_t cap, const char *endpoint, const struct avd_pool *p)
{
	size_t n;
	int r;
	if ((r = put_pool(dst, cap, &n, endpoint, p)) < 0 ||
	    (r = put_text(dst, cap, &n, "/userSessions")) < 0)
		return r;
	return put_query(dst, cap, &n, "");
}

int avd_url_session_hosts(char *dst, size_t cap, const char *endpoint, const struct avd_pool *p)
{
	size_t n;
	int r;
	if ((r = put_pool(dst, cap, &n, endpoint, p)) < 0 ||
	    (r = put_text(dst, cap, &n, "/sessionHosts")) < 0)
		return r;
	return put_query(dst, cap, &n, "");
}

int avd_url_session_host(char *dst, size_t cap, const char *endpoint, const struct avd_pool *p,
			 const char *session_host)
{
	size_t n;
	int r;
	if ((r = put_pool(dst, cap, &n, endpoint, p)) < 0 ||
	    (r = put_segment(dst, cap, &n, "/sessionHosts", session_host)) < 0)
		return r;
	return put_query(dst, cap, &n, "");
}

int avd_url_session(char *dst, size_t cap, const char *endpoint, const struct avd_session_ref *s,
		    enum avd_call c)
{
	const char *tail, *extra = "";
	size_t n;
	int r;
	switch (c) {
	case AVD_DISCONNECT:
		tail = "/disconnect";
		break;
	case AVD_LOGOFF:
		tail = "", extra = "&force=true";
		break;
	case AVD_MESSAGE:
		tail = "/sendMessage";
		break;
	default:
		return ERR_INVAL;
	}
	if ((r = put_pool(dst, cap, &n, endpoint, &s->pool)) < 0 ||
	    (r = put_segment(dst, cap, &n, "/sessionHosts", s->session_host)) < 0 ||
	    (r = put_segment(dst, cap, &n, "/userSessions", s->id)) < 0 ||
	    (r = put_text(dst, cap, &n, tail)) < 0)
		return r;
	return put_query(dst, cap, &n, extra);
}

static int put_json_string(char *dst, size_t cap, size_t *n, const char *s)
{
	int r = service_json_string(dst + *n, cap - *n, s ? s : "");
	if (r < 0)
		return r;
	*n += (size_t)r;
	return 0;
}

int avd_message_body(char *dst, size_t cap, const char *title, const char *message)
{
	size_t n = 0;
	int r;
	if ((r = put_text(dst, cap, &n, "{\"messageTitle\":\"")) < 0 ||
	    (r = put_json_string(dst, cap, &n, title)) < 0 ||
	    (r = put_text(dst, cap, &n, "\",\"messageBody\":\"")) < 0 ||
	    (r = put_json_string(dst, cap, &n, message)) < 0 ||
	    (r = put_text(dst, cap, &n, "\"}")) < 0)
		return r;
	return (int)n;
}

int avd_drain_body(char *dst, size_t cap, bool allow_new_session)
{
	size_t n = 0;
	int r = put_text(dst, cap, &n,
			 allow_new_session ? "{\"properties\":{\"allowNewSession\":true}}"
					   : "{\"properties\":{\"allowNewSession\":false}}");
	return r < 0 ? r : (int)n;
}

int avd_session_request(char *url, size_t url_cap, char *body, size_t body_cap,
			const char *endpoint, const struct avd_session_ref *s, enum avd_call c,
			const char *title, const char *message)
{
	int r = avd_url_session(url, url_cap, endpoint, s, c);
	if (r < 0)
		return r;
	if (c == AVD_MESSAGE)
		return avd_message_body(body, body_cap, title, message);
	if (body_cap < 1)
		return ERR_TOOBIG;
	body[0] = '\0';
	return 0;
}

int avd_request_id(char *dst, size_t cap, const unsigned char random[16])
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	if (cap < 37)
		return ERR_TOOBIG;
	for (int i = 0; i < 16; i++) {
		unsigned char b = random[i];
		if (i == 6)
			b = (unsigned char)((b & 0x0F) | 0x40); /* version 4 */
		else if (i == 8)
			b = (unsigned char)((b & 0x3F) | 0x80); /* variant 10xx */
		if (i == 4 || i == 6 || i == 8 || i == 10)
			dst[n++] = '-';
		dst[n++] = hex[b >> 4];
		dst[n++] = hex[b & 15];
	}
	dst[n] = '\0';
	return (int)n;
}

bool avd_next_link_allowed(const char *link, const char *endpoint)
{
	size_t m = strlen(endpoint);
	const char *host = strstr(endpoint, "://"), *rest = link + m;
	if (!host || strncasecmp(link, endpoint, m) != 0)
		return false;
	if (*rest == ':' && !strchr(host + 3, ':')) { /* the scheme's own port, written out */
		const char *port = strncasecmp(endpoint, "https://", 8) == 0 ? ":443" : ":80";
		if (strncmp(rest, port, strlen(port)) != 0)
			return false;
		rest += strlen(port);
	}
	if (*rest != '/')
		return false;
	for (const unsigned char *p = (const unsigned char *)link; *p; p++)
		if (*p <= 0x20 || *p == 0x7F)
			return false;
	return true;
}

/* ---- answers --------------------------------------------------------- */

/* Parses body[0..len) as one JSON value with nothing but white space after
 * it (cJSON alone would take "{...} trailing" for its first value). */
static cJSON *parse_whole(const char *body, size_t len)
{
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
	if (!root)
		return NULL;
	for (; end < body + len; end++) {
		if (!strchr(" \t\r\n", *end) || !*end) {
			cJSON_Delete(root);
			return NULL;
		}
	}
	return root;
}

static const char *string_member(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(obj, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* Checks a list answer whole and fills page; *value is its array. */
static int open_list(const cJSON *root, const cJSON **value, struct avd_page *page)
{
	const cJSON *next;
	memset(page, 0, sizeof(*page));
	if (!cJSON_IsObject(root))
		return ERR_PARSE;
	*value = cJSON_GetObjectItem(root, "value");
	next = cJSON_GetObjectItem(root, "nextLink");
	if (!cJSON_IsArray(*value) || (next && !cJSON_IsNull(next) && !cJSON_IsString(next)))
		return ERR_PARSE;
	if (cJSON_IsString(next)) {
		if (strlen(next->valuestring) > AVD_LINK_MAX)
			return ERR_TOOBIG;
		strcpy(page->next_link, next->valuestring);
	}
	return 0;
}

/* Session host and id from id, else from name "hp/sh/id". */
static bool session_of(const cJSON *el, struct avd_session_ref *ref)
{
	struct parts p;
	const char *id = string_member(el, "id"), *name = string_member(el, "name");
	if (parse_resource_id(id, 12, ref, NULL, "") == 0)
		return true;
	memset(ref, 0, sizeof(*ref));
	return split(name, &p) && p.n == 3 && take(ref->pool.host_pool, &p, 0, NULL) == 0 &&
	       take(ref->session_host, &p, 1, NULL) == 0 && take(ref->id, &p, 2, NULL) == 0;
}

int avd_parse_sessions(const char *body, size_t len, avd_session_fn fn, void *arg,
		       struct avd_page *page)
{
	cJSON *root = parse_whole(body, len);
	const cJSON *value = NULL, *el;
	int rc = open_list(root, &value, page);

	if (rc < 0)
		goto out_delete;
	cJSON_ArrayForEach(el, value)
	{
		struct avd_session_ref ref;
		memset(&ref, 0, sizeof(ref));
		if (!cJSON_IsObject(el) || !session_of(el, &ref)) {
			page->skipped++;
			continue;
		}
		const cJSON *props = cJSON_GetObjectItem(el, "properties");
		struct avd_session s = {
		    .subscription = ref.pool.subscription,
		    .resource_group = ref.pool.resource_group,
		    .host_pool = ref.pool.host_pool,
		    .session_host = ref.session_host,
		    .id = ref.id,
		    .upn = string_member(props, "userPrincipalName"),
		    .state = string_member(props, "sessionState"),
		    .app_type = string_member(props, "applicationType"),
		    .create_time = string_member(props, "createTime"),
		    .resource_id = string_member(el, "id"),
		};
		page->items++;
		if ((rc = fn(arg, &s)) != 0)
			break;
	}
out_delete:
	cJSON_Delete(root);
	return rc;
}

/* One SessionHost object to fn; false when it has no usable name. */
static bool host_of(const cJSON *el, avd_session_host_fn fn, void *arg, int *rc)
{
	struct avd_session_ref ref;
	struct parts p;
	const char *id = string_member(el, "id"), *name = string_member(el, "name");

	memset(&ref, 0, sizeof(ref));
	if (!cJSON_IsObject(el))
		return false;
	if (parse_resource_id(id, 10, &ref, NULL, "") < 0) {
		/* live "hp/sh"; the spec's examples write "sh" alone */
		memset(&ref, 0, sizeof(ref));
		if (!split(name, &p) || p.n > 2 ||
		    (p.n == 2 && take(ref.pool.host_pool, &p, 0, NULL) < 0) ||
		    take(ref.session_host, &p, p.n - 1, NULL) < 0)
			return false;
	}
	const cJSON *props = cJSON_GetObjectItem(el, "properties");
	const cJSON *allow = cJSON_GetObjectItem(props, "allowNewSession");
	const cJSON *sessions = cJSON_GetObjectItem(props, "sessions");
	struct avd_session_host h = {
	    .host_pool = ref.pool.host_pool,
	    .name = ref.session_host,
	    .allow_new_session = cJSON_IsBool(allow) ? cJSON_IsTrue(allow) : -1,
	    .sessions = cJSON_IsNumber(sessions) ? sessions->valueint : -1,
	    .status = string_member(props, "status"),
	    .resource_id = id,
	};
	*rc = fn(arg, &h);
	return true;
}

int avd_parse_session_hosts(const char *body, size_t len, avd_session_host_fn fn, void *arg,
			    struct avd_page *page)
{
	cJSON *root = parse_whole(body, len);
	const cJSON *value = NULL, *el;
	int rc = open_list(root, &value, page);

	if (rc < 0)
		goto out_delete;
	cJSON_ArrayForEach(el, value)
	{
		if (!host_of(el, fn, arg, &rc)) {
			page->skipped++;
			continue;
		}
		page->items++;
		if (rc != 0)
			break;
	}
out_delete:
	cJSON_Delete(root);
	return rc;
}

int avd_parse_session_host(const char *body, size_t len, avd_session_host_fn fn, void *arg)
{
	cJSON *root = parse_whole(body, len);
	int rc = 0;
	if (!host_of(root, fn, arg, &rc))
		rc = ERR_PARSE;
	cJSON_Delete(root);
	return rc;
}

/* Copies src into dst (cap bytes), cut on a UTF-8 character boundary. */
static void copy_utf8(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);
	if (n >= cap) {
		n = cap - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void copy_code(const cJSON *v, char *dst, size_t cap)
{
	if (cJSON_IsString(v))
		copy_utf8(dst, cap, v->valuestring);
	else if (cJSON_IsNumber(v))
		snprintf(dst, cap, "%.0f", v->valuedouble);
}

void avd_parse_error(const char *body, size_t len, struct service_error *out)
{
	memset(out, 0, sizeof(*out));
	if (!body || len == 0)
		return;
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *obj = root, *inner = cJSON_GetObjectItem(root, "error");
	if (cJSON_IsObject(inner))
		obj = inner;
	if (cJSON_IsObject(obj)) {
		copy_code(cJSON_GetObjectItem(obj, "code"), out->code, sizeof(out->code));
		const cJSON *m = cJSON_GetObjectItem(obj, "message");
		if (cJSON_IsString(m))
			copy_utf8(out->message, sizeof(out->message), m->valuestring);
	}
	cJSON_Delete(root);
	if (!out->code[0] && !out->message[0])
		service_error_excerpt(body, len, out);
}

bool avd_details_no_session(const char *details)
{
	bool session =
	    service_contains(details, "user session") || service_contains(details, "usersession");
	return session &&
	       (service_contains(details, "not found") || service_contains(details, "notfound") ||
		service_contains(details, "does not exist"));
}

enum service_verdict avd_classify(int http_status, const struct service_error *e)
{
	return service_verdict_of(http_status,
				  http_status == 404 && (avd_details_no_session(e->code) ||
							 avd_details_no_session(e->message)));
}

bool avd_retry_safe(enum avd_call c, int http_status, bool connect_error, bool retry_after)
{
	static const struct service_error none;
	if (c != AVD_MESSAGE)
		return avd_classify(http_status, &none) == SERVICE_V_RETRY;
	if (http_status == 0)
		return connect_error;
	return http_status == 429 || (http_status == 503 && retry_after);
}

bool avd_acts_on(enum service_op op, const char *state)
{
	switch (op) {
	case SERVICE_DISCONNECT:
		return strcasecmp(state, "Disconnected") != 0;
	case SERVICE_MESSAGE:
		return strcasecmp(state, "Active") == 0;
	case SERVICE_LOGOFF:
	case SERVICE_DRAIN:
	case SERVICE_UNDRAIN:
		break;
	}
	return true;
}

/* ---- the table ------------------------------------------------------- */

static const char *op_method(enum service_op op)
{
	return avd_method(avd_call_of(op));
}

static int op_request(char *url, size_t url_cap, char *body, size_t body_cap,
		      const struct service_target *t, enum service_op op, const char *collection,
		      const char *upn, const char *message)
{
	struct avd_session_ref ref;
	int r;
	if ((r = avd_parse_session_address(collection, t->subscription, t->ns, &ref, NULL)) < 0)
		return r;
	return avd_session_request(url, url_cap, body, body_cap, t->endpoint, &ref, avd_call_of(op),
				   "", message);
}

static int result_url(char *dst, size_t cap, const struct service_target *t, const char *op_id)
{
	return ERR_INVAL;
}

static int sessions_url(char *dst, size_t cap, const struct service_target *t,
			const char *collection)
{
	struct avd_pool p;
	int r = avd_parse_pool_address(collection, t->subscription, t->ns, &p, NULL);
	return r < 0 ? r : avd_url_sessions(dst, cap, t->endpoint, &p);
}

static int parse_result(const char *body, size_t len, struct service_opresult *out)
{
	memset(out, 0, sizeof(*out));
	return ERR_PARSE;
}

struct adapter {
	service_session_fn fn;
	void *arg;
};

static int adapt(void *arg, const struct avd_session *s)
{
	const struct adapter *a = arg;
	struct service_session one = {
	    .upn = s->upn, .state = s->state, .logon_time = s->create_time};
	return s->upn[0] ? a->fn(a->arg, &one) : 0;
}

static int parse_sessions(const char *body, size_t len, service_session_fn fn, void *arg)
{
	struct adapter a = {fn, arg};
	struct avd_page page;
	return avd_parse_sessions(body, len, adapt, &a, &page);
}

/* The canonical host pool: its resource id, names as written. */
static int pool_id(char *dst, size_t cap, const struct avd_pool *p)
{
	int n = snprintf(
	    dst, cap, "/subscriptions/%s/resourceGroups/%s/providers/" AVD_PROVIDER "/hostPools/%s",
	    p->subscription, p->resource_group, p->host_pool);
	return n < 0 || (size_t)n >= cap ? ERR_TOOBIG : n;
}

/* A session's address has 12 parts as a resource id, 3 or 4 otherwise. */
static bool names_session(const char *text)
{
	size_t slashes = 0;
	for (const char *c = text; *c; c++)
		slashes += *c == '/';
	return text[0] == '/' ? slashes == 12 : slashes == 2 || slashes == 3;
}

static int address(const struct service_target *t, const char *collection,
		   struct service_address *out, const char **why)
{
	struct avd_session_ref ref;
	const char *sub = t->subscription && t->subscription[0] ? t->subscription : NULL;
	bool session = names_session(collection);
	int r = session ? avd_parse_session_address(collection, sub, t->ns, &ref, why)
			: avd_parse_pool_address(collection, sub, t->ns, &ref.pool, why);
	if (r < 0)
		return r;
	if (!ref.pool.subscription[0])
		return fail(why, "has no subscription (give --subscription, or a resource id)",
			    ERR_INVAL);
	memset(out, 0, sizeof(*out));
	if (pool_id(out->pool, sizeof(out->pool), &ref.pool) < 0)
		return fail(why, "is too long", ERR_TOOBIG);
	if (session) {
		strcpy(out->session_host, ref.session_host);
		strcpy(out->id, ref.id);
	}
	return 0;
}

struct found_adapter {
	service_found_fn fn;
	void *arg;
};

static int adapt_found(void *arg, const struct avd_session *s)
{
	const struct found_adapter *a = arg;
	struct service_found one = {s->upn,	 s->session_host, s->id,	 s->state,
				    s->app_type, s->create_time,  s->resource_id};
	return a->fn(a->arg, &one);
}

static int parse_page(const char *body, size_t len, service_found_fn fn, void *arg, char *next,
		      size_t next_cap)
{
	struct found_adapter a = {fn, arg};
	struct avd_page page;
	int r = avd_parse_sessions(body, len, adapt_found, &a, &page);
	if (r == 0 && snprintf(next, next_cap, "%s", page.next_link) >= (int)next_cap)
		return ERR_TOOBIG;
	return r;
}

static int session_request(char *url, size_t url_cap, char *body, size_t body_cap,
			   const struct service_target *t, enum service_op op,
			   const struct service_address *a, const char *title, const char *message)
{
	struct avd_session_ref ref;
	int r = avd_parse_pool_address(a->pool, NULL, NULL, &ref.pool, NULL);
	if (r < 0)
		return r;
	if (strlen(a->session_host) > AVD_NAME_MAX || strlen(a->id) > AVD_NAME_MAX)
		return ERR_TOOBIG;
	strcpy(ref.session_host, a->session_host);
	strcpy(ref.id, a->id);
	return avd_session_request(url, url_cap, body, body_cap, t->endpoint, &ref, avd_call_of(op),
				   title, message);
}

static const char *quota_bucket(enum service_op op, bool list)
{
	return avd_quota_bucket(list ? AVD_LIST_SESSIONS : avd_call_of(op));
}

static const char *role(enum service_op op)
{
	return avd_role(avd_call_of(op));
}

static bool retry_safe(enum service_op op, int http_status, bool connect_error, bool retry_after)
{
	return avd_retry_safe(avd_call_of(op), http_status, connect_error, retry_after);
}

static const char *const headers[] = {"Accept: " AVD_ACCEPT, NULL};
static const char *const body_headers[] = {"Content-Type: " AVD_CONTENT_TYPE, NULL};

const struct service service_avd = {
    .name = "avd",
    .polled = false,
    .lookup = true,
    .op_method = op_method,
    .op_id_header = "",
    .headers = headers,
    .body_headers = body_headers,
    .op_request = op_request,
    .result_url = result_url,
    .sessions_url = sessions_url,
    .parse_result = parse_result,
    .parse_sessions = parse_sessions,
    .parse_error = avd_parse_error,
    .classify = avd_classify,
    .details_no_session = avd_details_no_session,
    .address = address,
    .parse_page = parse_page,
    .next_allowed = avd_next_link_allowed,
    .session_request = session_request,
    .acts_on = avd_acts_on,
    .retry_safe = retry_safe,
    .role = role,
    .quota_bucket = quota_bucket,
    .request_id_header = AVD_CLIENT_REQUEST_ID_HEADER,
    .request_id = avd_request_id,
};
