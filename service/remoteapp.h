/* remoteapp.h — the RemoteApp management wire protocol, as pure functions:
 * the table service_remoteapp (service.h) and the functions behind it.
 *
 * Builds request URLs and bodies and parses what the service answers; no I/O,
 * no clock, no libcurl. The recordings in shared/conformance are the ground
 * truth for everything here. All functions are thread-safe. */
#ifndef RABULK_REMOTEAPP_H
#define RABULK_REMOTEAPP_H

#include "service/service.h"
#include <stdbool.h>
#include <stddef.h>

#define REMOTEAPP_VERSION "2014-09-01"	  /* the api-version query parameter */
#define REMOTEAPP_MS_VERSION "2014-08-01" /* the x-ms-version header: differs, both exact */
#define REMOTEAPP_ACCEPT "application/json; charset=utf-8"
#define REMOTEAPP_CONTENT_TYPE "application/json; charset=utf-8"
#define REMOTEAPP_TRACKING_HEADER "x-remoteapp-operation-tracking-id"
#define REMOTEAPP_COLLECTION_MISSING "CollectionDoesNotExist"

/* The path word of an operation under .../sessions/: "disconnect", "logoff",
 * "sendMessage". Static. */
const char *remoteapp_op_path(enum service_op op);

/* {endpoint}/{sub}/services/{ns}/collections/{collection}/sessions/{op}?api-version=...
 * Returns the URL length or a negative error as service_escape_segment(). */
int remoteapp_url_op(char *dst, size_t cap, const struct service_target *t, const char *collection,
		     enum service_op op);
/* .../collections/{collection}/sessions?api-version=... */
int remoteapp_url_sessions(char *dst, size_t cap, const struct service_target *t,
			   const char *collection);
/* .../services/{ns}/operationResults/{tracking_id}?api-version=... */
int remoteapp_url_result(char *dst, size_t cap, const struct service_target *t,
			 const char *tracking_id);

/* {"UserUpn":"<upn>"} or, with message non-NULL, {"UserUpn":..,"Message":..},
 * JSON-escaped. Returns the length or ERR_TOOBIG. */
int remoteapp_body(char *dst, size_t cap, const char *upn, const char *message);

/* Parses an operationResults body; Status is matched case-insensitively.
 * Returns 0, or ERR_PARSE when the body is not such an object. */
int remoteapp_parse_result(const char *body, size_t len, struct service_opresult *out);

/* Calls fn for each element of a sessions JSON array (elements without a
 * string UserUpn are skipped). Returns 0, fn's nonzero value, or ERR_PARSE
 * when the body is not a JSON array. */
int remoteapp_parse_sessions(const char *body, size_t len, service_session_fn fn, void *arg);

/* Code and message of an error body in any of the three shapes the service
 * uses (XML-wrapped JSON, RDFE <Error>, Azure {"error":{}}); otherwise code
 * is empty and message holds the first 200 bytes of the body, control
 * characters blanked. Never fails. */
void remoteapp_parse_error(const char *body, size_t len, struct service_error *out);

/* Classifies an HTTP status (0 = transport error) with its parsed error. */
enum service_verdict remoteapp_classify(int http_status, const struct service_error *e);

/* True when a Failed operation's details say the user had no session. */
bool remoteapp_details_no_session(const char *details);

extern const struct service service_remoteapp;

#endif
