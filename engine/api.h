/* api.h — the RemoteApp management wire protocol, as pure functions.
 *
 * Builds request URLs and bodies and parses what the service answers; no I/O,
 * no clock, no libcurl. The recordings in shared/conformance are the ground
 * truth for everything here. All functions are thread-safe. */
#ifndef RABULK_API_H
#define RABULK_API_H

#include <stdbool.h>
#include <stddef.h>

#define API_VERSION "2014-09-01"    /* the api-version query parameter */
#define API_MS_VERSION "2014-08-01" /* the x-ms-version header: differs, both exact */
#define API_ACCEPT "application/json; charset=utf-8"
#define API_CONTENT_TYPE "application/json; charset=utf-8"
#define API_TRACKING_HEADER "x-remoteapp-operation-tracking-id"
/* Longest tracking id kept (the service's are 36-byte GUIDs): reports,
 * journals and --resume hold ids whole up to this; a longer one is refused,
 * never cut, since a cut id polls some other operation or none. */
#define API_TRACKING_MAX 256
#define API_COLLECTION_MISSING "CollectionDoesNotExist"

enum api_op { API_DISCONNECT, API_LOGOFF, API_MESSAGE };

/* Where requests go. Borrowed strings; endpoint has no trailing slash. */
struct api_target {
	const char *endpoint;
	const char *subscription;
	const char *ns;
};

/* "disconnect", "logoff", "message": the report's operation column. */
const char *api_op_name(enum api_op op);
/* Parses an api_op_name() back; returns 0 or ERR_INVAL. */
int api_op_parse(const char *name, enum api_op *op);

/* Percent-encodes one path segment into dst (RFC 3986 unreserved pass).
 * Returns the encoded length, ERR_INVAL for an empty segment, "." or "..",
 * or one holding CR or LF, ERR_TOOBIG when dst is too small. */
int api_escape_segment(char *dst, size_t cap, const char *seg);

/* {endpoint}/{sub}/services/{ns}/collections/{collection}/sessions/{op}?api-version=...
 * Returns the URL length or a negative error as api_escape_segment(). */
int api_url_op(char *dst, size_t cap, const struct api_target *t, const char *collection,
	       enum api_op op);
/* .../collections/{collection}/sessions?api-version=... */
int api_url_sessions(char *dst, size_t cap, const struct api_target *t, const char *collection);
/* .../services/{ns}/operationResults/{tracking_id}?api-version=... */
int api_url_result(char *dst, size_t cap, const struct api_target *t, const char *tracking_id);

/* {"UserUpn":"<upn>"} or, with message non-NULL, {"UserUpn":..,"Message":..},
 * JSON-escaped. Returns the length or ERR_TOOBIG. */
int api_body(char *dst, size_t cap, const char *upn, const char *message);

/* Operation result: {"Description","ErrorDetails","Status"}. */
enum api_opstatus {
	API_OP_UNKNOWN,
	API_OP_PENDING,
	API_OP_INPROGRESS,
	API_OP_SUCCESS,
	API_OP_FAILED
};
struct api_opresult {
	enum api_opstatus status;
	char description[64];
	char details[512];
};
/* Parses an operationResults body; Status is matched case-insensitively.
 * Returns 0, or ERR_PARSE when the body is not such an object. */
int api_parse_result(const char *body, size_t len, struct api_opresult *out);

/* One session of a list-sessions answer; strings borrowed for the callback. */
struct api_session {
	const char *upn, *state, *logon_time;
};
typedef int (*api_session_fn)(void *arg, const struct api_session *s);
/* Calls fn for each element of a sessions JSON array (elements without a
 * string UserUpn are skipped). Returns 0, fn's nonzero value, or ERR_PARSE
 * when the body is not a JSON array. */
int api_parse_sessions(const char *body, size_t len, api_session_fn fn, void *arg);

/* Code and message of an error body in any of the three shapes the service
 * uses (XML-wrapped JSON, RDFE <Error>, Azure {"error":{}}); otherwise code
 * is empty and message holds the first 200 bytes of the body, control
 * characters blanked. Never fails. */
struct api_error {
	char code[64];
	char message[256];
};
void api_parse_error(const char *body, size_t len, struct api_error *out);

/* What one HTTP answer to a session operation means for its row. */
enum api_verdict {
	API_V_OK,	    /* 2xx */
	API_V_NO_SESSION,   /* 404 about the user, not the collection */
	API_V_FAILED,	    /* permanent: 400, 404 collection, 409, other 4xx */
	API_V_RETRY,	    /* 408, 429, 500, 502, 503, 504, transport errors */
	API_V_UNAUTHORIZED, /* 401: refresh the token once, then stop the run */
	API_V_FORBIDDEN,    /* 403: stop the run */
};
/* Why a tracking id cannot be polled and recorded whole, or NULL when it
 * can: "is empty", "is longer than 256 bytes" (API_TRACKING_MAX), "holds
 * control characters" (C0 or DEL: they would reach a report or a terminal),
 * "is not a path segment" ("." or ".."). The phrase is static. */
const char *api_tracking_problem(const char *id);

/* Classifies an HTTP status (0 = transport error) with its parsed error. */
enum api_verdict api_classify(int http_status, const struct api_error *e);
/* True for the answers that mean "slow down" (429, 503): with a Retry-After
 * they pause every request of the run, not only the one answered. */
bool api_throttled(int http_status);

/* True when a Failed operation's details say the user had no session. */
bool api_details_no_session(const char *details);

/* When a header line "Name: value\r\n" has the given name (any case), copies
 * the trimmed value into dst (truncated to cap-1) and returns true. */
bool api_header_value(const char *line, size_t len, const char *name, char *dst, size_t cap);

#endif
