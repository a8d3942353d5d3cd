/* avd.h — Azure Virtual Desktop (ARM provider Microsoft.DesktopVirtualization)
 * as pure functions: addresses, request URLs and bodies, list and error
 * parsing, what an answer means, and the table service_avd (service.h).
 *
 * No I/O, no clock, no libcurl, no allocation that outlives a call: every
 * function here is thread-safe. DESIGN.md section 8 says what is sent; the
 * recordings in ../shared/conformance/avd-recordings (live traffic) and the
 * spec examples beside them are the ground truth, checked by
 * tests/unit/test_avd.c.
 *
 * With P = {endpoint}/subscriptions/{sub}/resourceGroups/{rg}/providers/
 * Microsoft.DesktopVirtualization/hostPools/{hp}, every URL ends in
 * ?api-version=2025-10-10:
 *
 *   list a pool's sessions   GET    P/userSessions                 (paged: nextLink)
 *   list a pool's hosts      GET    P/sessionHosts                 (paged: nextLink)
 *   disconnect               POST   P/sessionHosts/{sh}/userSessions/{id}/disconnect
 *   logoff                   DELETE P/sessionHosts/{sh}/userSessions/{id}?..&force=true
 *   message                  POST   P/sessionHosts/{sh}/userSessions/{id}/sendMessage
 *   drain (undrain)          PATCH  P/sessionHosts/{sh}  {"properties":{"allowNewSession":false}}
 *
 * All are synchronous: a 2xx is final, nothing is polled.
 *
 * What the engine will need (service_avd says polled = false, lookup =
 * true, and the method per operation; the engine refuses a lookup service
 * until it can do the following):
 *  - a lookup before the action: a (host pool, UPN) row waits, holding no
 *    slot, until its pool's session list is there (all pages, once per pass
 *    and pool: avd_url_sessions(), avd_parse_sessions(), follow
 *    avd_page.next_link while avd_next_link_allowed() says the token may go
 *    there), then matches UPNs without regard to case;
 *  - a fan-out: one row, 0..n sessions (avd_acts_on() picks them), one
 *    request each (avd_session_request()), the row's status the worst of
 *    them; the report names the session host and id acted on;
 *  - rows that name a session directly (a user-session resource id, or a
 *    Name "hostpool/sessionhost/id" with a resource group) skip the lookup:
 *    avd_parse_session_address();
 *  - an x-ms-client-request-id per request (avd_request_id() from random
 *    bytes), echoed by ARM as x-ms-request-id (the report's request_id);
 *  - the retry exception for sendMessage: avd_retry_safe();
 *  - pacing by x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}:
 *    avd_quota_bucket() says which one a request draws from;
 *  - on 403, the role to name: avd_role(). */
#ifndef RABULK_AVD_H
#define RABULK_AVD_H

#include "service/service.h"
#include <stdbool.h>
#include <stddef.h>

#define AVD_API_VERSION "2025-10-10"
#define AVD_ENDPOINT "https://management.azure.com" /* the public cloud's */
#define AVD_PROVIDER "Microsoft.DesktopVirtualization"
#define AVD_ACCEPT "application/json"
#define AVD_CONTENT_TYPE "application/json"
#define AVD_CLIENT_REQUEST_ID_HEADER "x-ms-client-request-id"
#define AVD_ROLE_SESSIONS "Desktop Virtualization User Session Operator"
#define AVD_ROLE_HOSTS "Desktop Virtualization Session Host Operator"

/* Longest subscription, resource group, host pool, session host or session
 * id kept, in bytes. Longer ones are refused, never cut: a cut name
 * addresses some other resource or none. (ARM's own limits are lower: 90
 * for a resource group, 64 for a host pool, 48 for a session host.) */
#define AVD_NAME_MAX 256
/* Longest nextLink kept (a longer one is refused: the list would be cut). */
#define AVD_LINK_MAX 4096

/* The requests rabulk sends. */
enum avd_call {
	AVD_LIST_SESSIONS, /* GET P/userSessions */
	AVD_LIST_HOSTS,	   /* GET P/sessionHosts */
	AVD_DISCONNECT,	   /* POST .../userSessions/{id}/disconnect */
	AVD_LOGOFF,	   /* DELETE .../userSessions/{id}?api-version=..&force=true */
	AVD_MESSAGE,	   /* POST .../userSessions/{id}/sendMessage */
	AVD_DRAIN,	   /* PATCH P/sessionHosts/{sh} (also undrain) */
};

/* A host pool: where P points. Caller-owned value. */
struct avd_pool {
	char subscription[AVD_NAME_MAX + 1];
	char resource_group[AVD_NAME_MAX + 1];
	char host_pool[AVD_NAME_MAX + 1];
};

/* One user session: P/sessionHosts/{session_host}/userSessions/{id}. */
struct avd_session_ref {
	struct avd_pool pool;
	char session_host[AVD_NAME_MAX + 1];
	char id[AVD_NAME_MAX + 1];
};

/* ---- what a request is ----------------------------------------------- */

/* The call an operation makes: AVD_DISCONNECT, AVD_LOGOFF or AVD_MESSAGE. */
enum avd_call avd_call_of(enum service_op op);
/* "GET", "POST", "DELETE" or "PATCH" (static). */
const char *avd_method(enum avd_call c);
/* ARM's bucket the call draws from: "reads", "writes" or "deletes" (static),
 * as in x-ms-ratelimit-remaining-subscription-<bucket>. */
const char *avd_quota_bucket(enum avd_call c);
/* The built-in role a 403 on this call asks for (static): AVD_ROLE_HOSTS
 * for a drain and the session-host list, AVD_ROLE_SESSIONS otherwise. */
const char *avd_role(enum avd_call c);

/* ---- addresses ------------------------------------------------------- */

/* Why s[0..len) is not a host-pool name, or NULL when it is: 3 to 64 of
 * A-Za-z0-9 @ . - _ and space (the spec's HostPoolNameParameter). The
 * phrase is static, lower-case, for a report's error_message. */
const char *avd_validate_host_pool(const char *s, size_t len);

/* Reads a host pool as a row or the command line names it:
 *   /subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.DesktopVirtualization/hostPools/{hp}
 *       (segment and provider names in any case),
 *   {rg}/{hp},
 *   {hp} with default_rg (NULL or "" when there is none).
 * The subscription is default_sub (NULL: "") unless the resource id names
 * one. Names are kept as written, not decoded. Returns 0; ERR_INVAL with
 * *why (if why is not NULL) set to a static phrase when text is none of
 * these, holds an empty, ".", ".." or control-character part, names a
 * session ("hp/sh/id") or breaks the host-pool rule; ERR_TOOBIG when a
 * part is longer than AVD_NAME_MAX. */
int avd_parse_pool_address(const char *text, const char *default_sub, const char *default_rg,
			   struct avd_pool *out, const char **why);

/* Reads a user session as a row names it:
 *   .../hostPools/{hp}/sessionHosts/{sh}/userSessions/{id}, the resource id
 *       (ARM writes the segment names in lower case; any case is read),
 *   {hp}/{sh}/{id}, the Name Get-AzWvdUserSession writes, with default_rg
 *       (and default_sub) for the rest.
 * Returns and *why as avd_parse_pool_address(). */
int avd_parse_session_address(const char *text, const char *default_sub, const char *default_rg,
			      struct avd_session_ref *out, const char **why);

/* ---- requests -------------------------------------------------------- */

/* URLs. endpoint is borrowed, without a trailing slash. Every name is
 * percent-encoded (service_escape_segment). Each returns the URL's length,
 * ERR_INVAL for an empty, "." or ".." name or one holding CR or LF, or
 * ERR_TOOBIG when dst is too small. */
int avd_url_sessions(char *dst, size_t cap, const char *endpoint, const struct avd_pool *p);
int avd_url_session_hosts(char *dst, size_t cap, const char *endpoint, const struct avd_pool *p);
/* P/sessionHosts/{sh}: the drain's PATCH (and a GET of one host). */
int avd_url_session_host(char *dst, size_t cap, const char *endpoint, const struct avd_pool *p,
			 const char *session_host);
/* c is AVD_DISCONNECT, AVD_LOGOFF or AVD_MESSAGE (anything else: ERR_INVAL). */
int avd_url_session(char *dst, size_t cap, const char *endpoint, const struct avd_session_ref *s,
		    enum avd_call c);

/* {"messageTitle":"<title>","messageBody":"<message>"}, JSON-escaped; NULL
 * stands for "". Returns the length or ERR_TOOBIG. */
int avd_message_body(char *dst, size_t cap, const char *title, const char *message);
/* {"properties":{"allowNewSession":false}} (true with allow_new_session).
 * Returns the length or ERR_TOOBIG. */
int avd_drain_body(char *dst, size_t cap, bool allow_new_session);

/* The whole request for one session: URL as avd_url_session(), and for a
 * message the body as avd_message_body() (disconnect and logoff have none:
 * body is set to ""). Returns the body's length (0: send no body), or a
 * negative error as those do. The method is avd_method(c). */
int avd_session_request(char *url, size_t url_cap, char *body, size_t body_cap,
			const char *endpoint, const struct avd_session_ref *s, enum avd_call c,
			const char *title, const char *message);

/* Formats a version-4 UUID (RFC 4122: 8-4-4-4-12 lower-case hex, version
 * and variant bits set) from 16 random bytes the caller supplies, for
 * x-ms-client-request-id. Returns 36, or ERR_TOOBIG when cap < 37. */
int avd_request_id(char *dst, size_t cap, const unsigned char random[16]);

/* True when a nextLink may be requested with our token: it starts with
 * endpoint (scheme and host in any case; ":443" for https or ":80" for
 * http may follow a host given without a port) and then '/', and holds no
 * control character or space. Anything else would send the bearer token
 * to another host. */
bool avd_next_link_allowed(const char *link, const char *endpoint);

/* ---- answers --------------------------------------------------------- */

/* One UserSession of a list, strings borrowed for the callback's duration.
 * session_host and id come from the last segments of the resource id,
 * spelled as the service spelled them: send them back as they are. Without
 * a usable id they come from name "hp/sh/id", and subscription and
 * resource_group are "". State and application type are passed as written,
 * values outside the spec's enums included; absent ones are "". */
struct avd_session {
	const char *subscription, *resource_group, *host_pool, *session_host, *id;
	const char *upn, *state, *app_type, *create_time;
	const char *resource_id; /* "id" as written, "" when absent */
};
typedef int (*avd_session_fn)(void *arg, const struct avd_session *s);

/* One SessionHost of a list (or a PATCH/GET answer). */
struct avd_session_host {
	const char *host_pool, *name; /* name: the id's last segment, as spelled */
	int allow_new_session;	      /* 1, 0, or -1 when absent */
	int sessions;		      /* -1 when absent */
	const char *status;	      /* "" when absent */
	const char *resource_id;
};
typedef int (*avd_session_host_fn)(void *arg, const struct avd_session_host *h);

/* Where a list answer goes on. */
struct avd_page {
	char next_link[AVD_LINK_MAX + 1]; /* "" when null, empty or absent: the last page */
	unsigned items;			  /* elements passed to the callback */
	unsigned skipped;		  /* elements without a usable id or name */
};

/* Parses {"value":[UserSession...],"nextLink":...}: calls fn for each
 * session (elements that are not objects, or whose id and name both fail
 * avd_parse_session_address(), are counted in page->skipped), and sets
 * page. Returns 0, fn's nonzero value (stopping there), ERR_PARSE when the
 * body is not such an object or nextLink is neither a string nor null, or
 * ERR_TOOBIG for a nextLink over AVD_LINK_MAX. */
int avd_parse_sessions(const char *body, size_t len, avd_session_fn fn, void *arg,
		       struct avd_page *page);
/* The same for {"value":[SessionHost...],"nextLink":...}. */
int avd_parse_session_hosts(const char *body, size_t len, avd_session_host_fn fn, void *arg,
			    struct avd_page *page);
/* One SessionHost object (the drain PATCH's answer): calls fn once.
 * Returns 0, fn's value, or ERR_PARSE. */
int avd_parse_session_host(const char *body, size_t len, avd_session_host_fn fn, void *arg);

/* ARM's {"error":{"code","message"}} (or a bare {"code","message"}; keys in
 * any case, a numeric code written out); otherwise code is empty and
 * message holds the first 200 bytes of the body, control characters
 * blanked. Never fails. */
void avd_parse_error(const char *body, size_t len, struct service_error *out);

/* True when an error's code or message says the user session is gone
 * ("User session ID not found", "User session does not exist"). A host
 * pool or session host that does not exist is not that. */
bool avd_details_no_session(const char *details);

/* What an answer means (0 = transport error): 2xx OK; 404 whose error says
 * the user session is gone NO_SESSION, any other 404 FAILED; 401
 * UNAUTHORIZED; 403 FORBIDDEN (name avd_role()); 0, 408, 429, 500, 502,
 * 503, 504 RETRY; anything else FAILED. */
enum service_verdict avd_classify(int http_status, const struct service_error *e);

/* Whether an answer may be retried without risk of doing the call twice
 * where it shows: for every call but AVD_MESSAGE, exactly when
 * avd_classify() says RETRY. A message pops up on the user's screen, so it
 * is retried only when it surely did not reach the service (http 0 with
 * connect_error: no connection was made, or the stream was refused unseen)
 * or the service said to wait (429, or 503 with retry_after). */
bool avd_retry_safe(enum avd_call c, int http_status, bool connect_error, bool retry_after);

/* Whether an operation acts on a session in this sessionState (any case):
 * disconnect every session not already "Disconnected", logoff every
 * session, message only "Active" ones. Unknown states: as not Disconnected
 * and not Active. */
bool avd_acts_on(enum service_op op, const char *state);

/* The table, where struct service fits:
 *  - op_request reads `collection` as a session address (resource id, or
 *    hp/sh/id with t->ns as the resource group) and builds disconnect or
 *    message (title ""); logoff is refused (ERR_INVAL: it is a DELETE and
 *    the worker only POSTs), as is a host pool (it needs a lookup);
 *  - sessions_url reads `collection` as a host pool (t->subscription and
 *    t->ns, the default resource group, fill what it leaves out);
 *  - parse_sessions passes upn, sessionState and createTime (no session
 *    host, id or nextLink: the lookup uses avd_parse_sessions());
 *  - result_url and parse_result refuse: there is nothing to poll;
 *  - op_id_header is "", which no header line matches: every 2xx is final. */
extern const struct service service_avd;

#endif
