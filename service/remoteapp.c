/* remoteapp.c — the RemoteApp wire protocol as pure functions.
 *
 * Paths are built by hand into caller buffers: every segment that can come
 * from input is percent-encoded here, and the segments "." and ".." are
 * refused, because libcurl would collapse "/../" and change the path. Bodies
 * are escaped by hand too (no allocation per row). Responses are parsed with
 * cJSON; errors come in three shapes, recorded or documented:
 *
 *   404 <string xmlns="...">{"Code":"CollectionDoesNotExist","Message":..}</string>
 *   4xx <Error><Code>..</Code><Message>..</Message></Error>         (classic RDFE)
 *   4xx {"error":{"code":"..","message":".."}}                      (newer Azure)
 */
#include "service/remoteapp.h"
#include "lib/err.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The path segment of each session operation, in enum service_op's order
 * (drain and undrain are AVD's, on session hosts: RemoteApp has none). */
static const char *const op_paths[] = {"disconnect", "logoff", "sendMessage"};
_Static_assert(sizeof(op_paths) / sizeof(op_paths[0]) == SERVICE_MESSAGE + 1,
	       "one path per operation");

const char *remoteapp_op_path(enum service_op op)
{
	return op <= SERVICE_MESSAGE ? op_paths[op] : "";
}

/* Appends the escaped segment "/seg" at dst + *n. */
static int put_segment(char *dst, size_t cap, size_t *n, const char *seg)
{
	if (*n + 2 > cap)
		return ERR_TOOBIG;
	dst[(*n)++] = '/';
	int r = service_escape_segment(dst + *n, cap - *n, seg);
	if (r < 0)
		return r;
	*n += (size_t)r;
	return 0;
}

static int put_text(char *dst, size_t cap, size_t *n, const char *text)
{
	size_t len = strlen(text);
	if (*n + len + 1 > cap)
		return ERR_TOOBIG;
	memcpy(dst + *n, text, len + 1);
	*n += len;
	return 0;
}

/* "{endpoint}/{sub}/services/{ns}" */
static int put_base(char *dst, size_t cap, size_t *n, const struct service_target *t)
{
	int r;
	*n = 0;
	if ((r = put_text(dst, cap, n, t->endpoint)) < 0 ||
	    (r = put_segment(dst, cap, n, t->subscription)) < 0 ||
	    (r = put_text(dst, cap, n, "/services")) < 0 ||
	    (r = put_segment(dst, cap, n, t->ns)) < 0)
		return r;
	return 0;
}

static int build_url(char *dst, size_t cap, const struct service_target *t, const char *dir,
		     const char *name, const char *tail)
{
	size_t n;
	int r;
	if ((r = put_base(dst, cap, &n, t)) < 0 || (r = put_text(dst, cap, &n, dir)) < 0 ||
	    (r = put_segment(dst, cap, &n, name)) < 0 || (r = put_text(dst, cap, &n, tail)) < 0 ||
	    (r = put_text(dst, cap, &n, "?api-version=" REMOTEAPP_VERSION)) < 0)
		return r;
	return (int)n;
}

int remoteapp_url_op(char *dst, size_t cap, const struct service_target *t, const char *collection,
		     enum service_op op)
{
	char tail[32];
	if (op > SERVICE_MESSAGE)
		return ERR_INVAL;
	snprintf(tail, sizeof(tail), "/sessions/%s", op_paths[op]);
	return build_url(dst, cap, t, "/collections", collection, tail);
}

int remoteapp_url_sessions(char *dst, size_t cap, const struct service_target *t,
			   const char *collection)
{
	return build_url(dst, cap, t, "/collections", collection, "/sessions");
}

int remoteapp_url_result(char *dst, size_t cap, const struct service_target *t,
			 const char *tracking_id)
{
	return build_url(dst, cap, t, "/operationResults", tracking_id, "");
}

/* Appends s as the inside of a JSON string (service_json_string). */
static int put_json_string(char *dst, size_t cap, size_t *n, const char *s)
{
	int r = service_json_string(dst + *n, cap - *n, s);
	if (r < 0)
		return r;
	*n += (size_t)r;
	return 0;
}

int remoteapp_body(char *dst, size_t cap, const char *upn, const char *message)
{
	size_t n = 0;
	int r;
	if ((r = put_text(dst, cap, &n, "{\"UserUpn\":\"")) < 0 ||
	    (r = put_json_string(dst, cap, &n, upn)) < 0)
		return r;
	if (message && ((r = put_text(dst, cap, &n, "\",\"Message\":\"")) < 0 ||
			(r = put_json_string(dst, cap, &n, message)) < 0))
		return r;
	if ((r = put_text(dst, cap, &n, "\"}")) < 0)
		return r;
	return (int)n;
}

/* Copies a cJSON string member (any key case) into dst; "" when absent. */
static void copy_member(const cJSON *obj, const char *key, char *dst, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItem(obj, key);
	dst[0] = '\0';
	if (cJSON_IsString(v))
		snprintf(dst, cap, "%s", v->valuestring);
}

int remoteapp_parse_result(const char *body, size_t len, struct service_opresult *out)
{
	static const struct {
		const char *name;
		enum service_opstatus status;
	} names[] = {{"Succeeded", SERVICE_OP_SUCCESS}}; /* besides service_opstatus_name()'s */
	char status[32];
	cJSON *root = cJSON_ParseWithLength(body, len);

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return ERR_PARSE;
	}
	copy_member(root, "Status", status, sizeof(status));
	copy_member(root, "Description", out->description, sizeof(out->description));
	copy_member(root, "ErrorDetails", out->details, sizeof(out->details));
	cJSON_Delete(root);
	for (int s = SERVICE_OP_PENDING; s <= SERVICE_OP_FAILED; s++)
		if (strcasecmp(status, service_opstatus_name((enum service_opstatus)s)) == 0)
			out->status = (enum service_opstatus)s;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(status, names[i].name) == 0)
			out->status = names[i].status;
	return out->status == SERVICE_OP_UNKNOWN ? ERR_PARSE : 0;
}

static const char *string_member(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItem(obj, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

int remoteapp_parse_sessions(const char *body, size_t len, service_session_fn fn, void *arg)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	const cJSON *el;
	int rc = 0;
	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return ERR_PARSE;
	}
	cJSON_ArrayForEach(el, root)
	{
		struct service_session s = {.upn = string_member(el, "UserUpn"),
					    .state = string_member(el, "State"),
					    .logon_time = string_member(el, "LogonTimeUtc")};
		if (s.upn[0] && (rc = fn(arg, &s)) != 0)
			break;
	}
	cJSON_Delete(root);
	return rc;
}

/* Finds needle in the first len bytes of hay (which need not end in NUL). */
static const char *find(const char *hay, size_t len, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; m <= len && i <= len - m; i++)
		if (memcmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

/* Decodes the five XML entities and decimal/hex character references
 * (ASCII only) from src[0..len) into dst; returns the decoded length. */
static size_t xml_unescape(char *dst, size_t cap, const char *src, size_t len)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {
	    {"&quot;", '"'}, {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&apos;", '\''}};
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < cap;) {
		size_t used = 0;
		if (src[i] == '&') {
			for (size_t e = 0; e < sizeof(ents) / sizeof(ents[0]) && !used; e++) {
				size_t el = strlen(ents[e].ent);
				if (i + el <= len && memcmp(src + i, ents[e].ent, el) == 0) {
					dst[n++] = ents[e].c;
					used = el;
				}
			}
		}
		if (!used)
			dst[n++] = src[i++];
		else
			i += used;
	}
	dst[n] = '\0';
	return n;
}

/* The text between <tag> and </tag>, entity-decoded, into dst. */
static bool xml_element(const char *body, size_t len, const char *tag, char *dst, size_t cap)
{
	char open[32], close[32];
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	const char *a = find(body, len, open);
	if (!a)
		return false;
	a += strlen(open);
	const char *b = find(a, len - (size_t)(a - body), close);
	if (!b)
		return false;
	xml_unescape(dst, cap, a, (size_t)(b - a));
	return true;
}

/* {"Code","Message"} or {"error":{"code","message"}}, keys in any case. */
static bool json_error(const char *text, size_t len, struct service_error *out)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *obj = root, *inner = cJSON_GetObjectItem(root, "error");
	if (cJSON_IsObject(inner))
		obj = inner;
	if (cJSON_IsObject(obj)) {
		copy_member(obj, "Code", out->code, sizeof(out->code));
		copy_member(obj, "Message", out->message, sizeof(out->message));
	}
	cJSON_Delete(root);
	return out->code[0] || out->message[0];
}

void remoteapp_parse_error(const char *body, size_t len, struct service_error *out)
{
	char inner[2048];
	const char *s;

	memset(out, 0, sizeof(*out));
	if (!body || len == 0)
		return;
	if ((s = find(body, len, "<string")) && (s = memchr(s, '>', len - (size_t)(s - body)))) {
		s++;
		const char *e = find(s, len - (size_t)(s - body), "</string>");
		size_t n = xml_unescape(inner, sizeof(inner), s, e ? (size_t)(e - s) : 0);
		if (json_error(inner, n, out))
			return;
		snprintf(out->message, sizeof(out->message), "%s", inner);
		if (out->message[0])
			return;
	}
	bool has_code = xml_element(body, len, "Code", out->code, sizeof(out->code));
	bool has_msg = xml_element(body, len, "Message", out->message, sizeof(out->message));
	if (has_code || has_msg)
		return;
	if (json_error(body, len, out))
		return;
	service_error_excerpt(body, len, out);
}

bool remoteapp_details_no_session(const char *details)
{
	static const char *const phrases[] = {
	    "no session",      "session not found",   "session does not exist",
	    "SessionNotFound", "SessionDoesNotExist", "not logged on"};
	for (size_t i = 0; i < sizeof(phrases) / sizeof(phrases[0]); i++)
		if (service_contains(details, phrases[i]))
			return true;
	return false;
}

enum service_verdict remoteapp_classify(int http_status, const struct service_error *e)
{
	/* a 404 for the collection is a failure; one about the user, no session */
	return service_verdict_of(http_status,
				  http_status == 404 &&
				      strcasecmp(e->code, REMOTEAPP_COLLECTION_MISSING) != 0 &&
				      (remoteapp_details_no_session(e->code) ||
				       remoteapp_details_no_session(e->message)));
}

static int op_request(char *url, size_t url_cap, char *body, size_t body_cap,
		      const struct service_target *t, enum service_op op, const char *collection,
		      const char *upn, const char *message)
{
	int rc = remoteapp_url_op(url, url_cap, t, collection, op);
	return rc < 0 ? rc
		      : remoteapp_body(body, body_cap, upn, op == SERVICE_MESSAGE ? message : NULL);
}

static const char *const headers[] = {"x-ms-version: " REMOTEAPP_MS_VERSION,
				      "Accept: " REMOTEAPP_ACCEPT, NULL};
static const char *const body_headers[] = {"Content-Type: " REMOTEAPP_CONTENT_TYPE, NULL};

const struct service service_remoteapp = {
    .name = "remoteapp",
    .polled = true,
    .op_id_header = REMOTEAPP_TRACKING_HEADER,
    .headers = headers,
    .body_headers = body_headers,
    .op_request = op_request,
    .result_url = remoteapp_url_result,
    .sessions_url = remoteapp_url_sessions,
    .parse_result = remoteapp_parse_result,
    .parse_sessions = remoteapp_parse_sessions,
    .parse_error = remoteapp_parse_error,
    .classify = remoteapp_classify,
    .details_no_session = remoteapp_details_no_session,
};
