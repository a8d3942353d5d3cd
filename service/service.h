/* service.h — what the engine knows of a remote-desktop service: a table of
 * pure functions (build a request, classify an answer, parse an operation's
 * result or a session list) and the vocabulary they share.
 *
 * The worker, the fetch client and the command line call a service only
 * through `struct service`; no service's constant or URL shape lives in
 * engine/. Adding a service means a new table in service/, the emulator's
 * routes and tests, not a change to the worker. Everything here is pure and
 * thread-safe. */
#ifndef RABULK_SERVICE_H
#define RABULK_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

/* Longest tracking id kept (the service's are 36-byte GUIDs): reports,
 * journals and --resume hold ids whole up to this; a longer one is refused,
 * never cut, since a cut id polls some other operation or none. */
#define SERVICE_OP_ID_MAX 256

/* The operations, with the report's name for each. Adding one? Add a line;
 * service_op_name() and service_op_parse() follow. */
#define SERVICE_OP_MAP(X)                                                                          \
	X(DISCONNECT, "disconnect")                                                                \
	X(LOGOFF, "logoff")                                                                        \
	X(MESSAGE, "message")                                                                      \
	X(DRAIN, "drain")     /* a session host closed to new sessions (AVD drain) */              \
	X(UNDRAIN, "undrain") /* and opened again */

enum service_op {
#define SERVICE_OP_ENUM_(name, text) SERVICE_##name,
	SERVICE_OP_MAP(SERVICE_OP_ENUM_)
#undef SERVICE_OP_ENUM_
};

/* Where requests go. Borrowed strings; endpoint has no trailing slash. */
struct service_target {
	const char *endpoint;
	const char *subscription;
	const char *ns;
};

/* "disconnect", "logoff", "message": the report's operation column. */
const char *service_op_name(enum service_op op);
/* Parses an service_op_name() back; returns 0 or ERR_INVAL. */
int service_op_parse(const char *name, enum service_op *op);

/* Percent-encodes one path segment into dst (RFC 3986 unreserved pass).
 * Returns the encoded length, ERR_INVAL for an empty segment, "." or "..",
 * or one holding CR or LF, ERR_TOOBIG when dst is too small. */
int service_escape_segment(char *dst, size_t cap, const char *seg);

/* Writes s as the inside of a JSON string into dst: '"' and '\\' escaped,
 * control characters as \u00XX, everything else as it is. Returns the
 * length written (dst NUL-terminated), or ERR_TOOBIG when dst is too small. */
int service_json_string(char *dst, size_t cap, const char *s);

/* An operation's state as its result says, with the name `rabulk result`
 * prints. Adding one? Add a line; service_opstatus_name() follows. */
#define SERVICE_OPSTATUS_MAP(X)                                                                    \
	X(UNKNOWN, "Unknown")                                                                      \
	X(PENDING, "Pending")                                                                      \
	X(INPROGRESS, "InProgress")                                                                \
	X(SUCCESS, "Success")                                                                      \
	X(FAILED, "Failed")

enum service_opstatus {
#define SERVICE_OPSTATUS_ENUM_(name, text) SERVICE_OP_##name,
	SERVICE_OPSTATUS_MAP(SERVICE_OPSTATUS_ENUM_)
#undef SERVICE_OPSTATUS_ENUM_
};
/* "Unknown", "Pending", "InProgress", "Success", "Failed". */
const char *service_opstatus_name(enum service_opstatus s);

struct service_opresult {
	enum service_opstatus status;
	char description[64];
	char details[512];
};

/* One session of a list-sessions answer; strings borrowed for the callback. */
struct service_session {
	const char *upn, *state, *logon_time;
	/* a lookup service's (AVD) sessions only; NULL otherwise */
	const char *session_host, *id, *app_type, *resource_id;
};
typedef int (*service_session_fn)(void *arg, const struct service_session *s);

struct service_error {
	char code[64];
	char message[256];
};

/* What one HTTP answer to a session operation means for its row. */
enum service_verdict {
	SERVICE_V_OK,		/* 2xx */
	SERVICE_V_NO_SESSION,	/* 404 about the user, not the collection */
	SERVICE_V_FAILED,	/* permanent: 400, 404 collection, 409, other 4xx */
	SERVICE_V_RETRY,	/* 408, 429, 500, 502, 503, 504, transport errors */
	SERVICE_V_UNAUTHORIZED, /* 401: refresh the token once, then stop the run */
	SERVICE_V_FORBIDDEN,	/* 403: stop the run */
};

/* Why a tracking id cannot be polled and recorded whole, or NULL when it
 * can: "is empty", "is longer than 256 bytes" (SERVICE_OP_ID_MAX), "holds
 * control characters" (C0 or DEL: they would reach a report or a terminal),
 * "is not a path segment" ("." or ".."). The phrase is static. */
const char *service_op_id_problem(const char *id);

/* The verdict every service shares for an HTTP status (0: a transport
 * error): 2xx OK; 408, 429, 500, 502, 503, 504 and 0 worth a retry; 401;
 * 403; anything else a failure, or no session when user_missing (the
 * service's reading of the answer: "this user has no session there"). */
enum service_verdict service_verdict_of(int http_status, bool user_missing);
/* An error body no parser understood: its first 200 bytes as the message,
 * control characters blanked, cut on a UTF-8 boundary. */
void service_error_excerpt(const char *body, size_t len, struct service_error *out);
/* Does hay contain needle, ignoring ASCII case? */
bool service_contains(const char *hay, const char *needle);
/* True for the answers that mean "slow down" (429, 503): with a Retry-After
 * they pause every request of the run, not only the one answered. */
bool service_throttled(int http_status);

/* When a header line "Name: value\r\n" has the given name (any case), copies
 * the trimmed value into dst (truncated to cap-1) and returns true. */
bool service_header_value(const char *line, size_t len, const char *name, char *dst, size_t cap);

/* Longest canonical collection a lookup service keys its lists by, and
 * longest name of a session host or session id kept (longer: refused). */
#define SERVICE_ADDRESS_MAX 1024
#define SERVICE_NAME_MAX 256

/* What a row names, for a service that looks sessions up: a collection to
 * list (pool: canonical, the same text for every spelling of one
 * collection, ignoring case), or one session of it (session_host and id
 * set: the row needs no lookup). */
struct service_address {
	char pool[SERVICE_ADDRESS_MAX];
	char session_host[SERVICE_NAME_MAX + 1];
	char id[SERVICE_NAME_MAX + 1];
};

/* One session of a lookup list; strings borrowed for the callback. */
struct service_found {
	const char *upn, *session_host, *id, *state;
	const char *app_type, *create_time, *resource_id; /* "" when absent */
};
typedef int (*service_found_fn)(void *arg, const struct service_found *s);

/* A service: pure functions and the constants the engine needs. */
struct service {
	const char *name; /* "remoteapp" */
	/* An accepted operation answers with an id in op_id_header and is
	 * polled (RemoteApp); otherwise a 2xx is final (AVD). */
	bool polled;
	/* A row names a collection whose sessions must be listed first, then
	 * one request per session (AVD's host pools): the functions under
	 * "lookup services" below are set, op_request is not used. */
	bool lookup;
	/* The operation's HTTP method; NULL: every operation is a POST. */
	const char *(*op_method)(enum service_op op);
	const char *op_id_header; /* the answer header carrying an operation's id */
	/* Header lines sent with every request, and also with a body; NULL-ended. */
	const char *const *headers, *const *body_headers;
	/* The operation request for one row: URL into url, body into body.
	 * Returns the body's length, or a negative error (a bad segment). */
	int (*op_request)(char *url, size_t url_cap, char *body, size_t body_cap,
			  const struct service_target *t, enum service_op op,
			  const char *collection, const char *upn, const char *message);
	/* The URL that polls an operation by its id, and that lists a collection's sessions. */
	int (*result_url)(char *dst, size_t cap, const struct service_target *t, const char *op_id);
	int (*sessions_url)(char *dst, size_t cap, const struct service_target *t,
			    const char *collection);
	int (*parse_result)(const char *body, size_t len, struct service_opresult *out);
	int (*parse_sessions)(const char *body, size_t len, service_session_fn fn, void *arg);
	void (*parse_error)(const char *body, size_t len, struct service_error *out);
	enum service_verdict (*classify)(int http_status, const struct service_error *e);
	/* True when a Failed operation's details say the user had no session. */
	bool (*details_no_session)(const char *details);

	/* ---- lookup services ---- */
	/* Reads a row's collection (defaults from t: subscription, and t->ns
	 * as the default resource group). Returns 0, or a negative error with
	 * *why a static phrase ("has no resource group ..."). */
	int (*address)(const struct service_target *t, const char *collection,
		       struct service_address *out, const char **why);
	/* One page of a list (sessions_url() with a->pool gives the first):
	 * fn for each session, the next page's absolute URL into next ("" on
	 * the last). Returns 0, fn's nonzero value, or a negative error. */
	int (*parse_page)(const char *body, size_t len, service_found_fn fn, void *arg, char *next,
			  size_t next_cap);
	/* May a next-page URL be requested with our credentials? */
	bool (*next_allowed)(const char *link, const char *endpoint);
	/* The operation on one session: as op_request, for a->pool's session
	 * a->session_host / a->id; title goes with a message. */
	int (*session_request)(char *url, size_t url_cap, char *body, size_t body_cap,
			       const struct service_target *t, enum service_op op,
			       const struct service_address *a, const char *title,
			       const char *message);
	/* Does op act on a session in this state? */
	bool (*acts_on)(enum service_op op, const char *state);
	/* Whether an answer may be retried without risk of doing the operation
	 * twice where it shows (http 0: transport error, connect_error: the
	 * request surely never left); NULL: whenever classify() says RETRY. */
	bool (*retry_safe)(enum service_op op, int http_status, bool connect_error,
			   bool retry_after);
	/* The quota bucket a request draws from, as the service's remaining-
	 * quota headers name it ("reads", "writes", "deletes"; engine/quota.h),
	 * for an operation or (list) a session-list page; NULL: no quota. */
	const char *(*quota_bucket)(enum service_op op, bool list);
	/* The role a 403 asks for, to name when the run stops; NULL: none. */
	const char *(*role)(enum service_op op);
	/* A header sent with a fresh id on every request ("" or NULL: none),
	 * and the id's text from 16 random bytes. */
	const char *request_id_header;
	int (*request_id)(char *dst, size_t cap, const unsigned char random[16]);
};

#endif
