/* remoteapp.c — the RemoteApp routes (see remoteapp.h).
 *
 * A session operation changes the state at once and answers 202 with a
 * tracking id that *is* the operation (opid.h); polling it answers Pending
 * until --op-delay has passed since, then Success, or Failed when the user
 * had no session (or, with --no-session 404, the operation is refused at
 * once). The checks run in the front end's order: the path's service and
 * namespace, then x-ms-version, then the credential and subscription, then
 * api-version, then the resource. */
#include "emulator/remoteapp.h"
#include "emulator/auth.h"
#include "emulator/opid.h"
#include "emulator/reply.h"
#include "emulator/rng.h"
#include "emulator/state.h"
#include "service/remoteapp.h"
#include "lib/clock.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The operation results' words, by enum service_op. */
static const char *const op_desc[] = {"DisconnectSessionCommand", "LogoffSessionCommand",
				      "SendMessageCommand"};
static const char *const op_verb[] = {"Disconnect", "Logoff", "SendMessage"};

/* A 202 carries the operation's id under both names the service used. */
static const char *const op_id_headers[] = {"x-clouddv-tracking-id", REMOTEAPP_TRACKING_HEADER,
					    NULL};

/* The service's own errors: reply_wrapped() with a fresh ActivityId. */
static void wrapped(const struct route_ctx *x, struct reply *r, int status, const char *code,
		    const char *message)
{
	char activity[OPID_LEN + 1];
	rng_guid(x->rng, activity, true);
	reply_wrapped(r, status, code, message, activity);
}

/* GET .../collections/{c}/sessions: the sessions that are logged on. */
static void list_sessions(const struct route_ctx *x, const char *coll, struct reply *r)
{
	char when[32];
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < state_nsessions(x->state); i++) {
		const struct state_session *s = state_session(x->state, i);
		if (s->status == STATE_NONE || strcasecmp(s->collection, coll) != 0)
			continue;
		cJSON *o = cJSON_CreateObject();
		clock_iso8601(when, sizeof(when), s->logon_ms);
		cJSON_AddStringToObject(o, "LogonTimeUtc", when);
		cJSON_AddStringToObject(o, "State", state_status_name(s->status));
		cJSON_AddStringToObject(o, "UserUpn", s->upn);
		cJSON_AddItemToArray(arr, o);
	}
	reply_json(r, 200, arr);
	cJSON_Delete(arr);
}

/* POST .../sessions/{disconnect|logoff|sendMessage}: changes state now,
 * answers 202 with the operation's tracking id. */
static void session_op(const struct route_ctx *x, const char *coll, enum service_op op,
		       const struct route_request *q, struct reply *r)
{
	char msg[512];
	cJSON *body = cJSON_ParseWithLength(q->body ? q->body : "", q->body_len);
	const cJSON *upn = cJSON_GetObjectItem(body, "UserUpn");
	const cJSON *text = cJSON_GetObjectItem(body, "Message");

	if (!cJSON_IsString(upn) || (op == SERVICE_MESSAGE && !cJSON_IsString(text))) {
		wrapped(x, r, 400, "InvalidRequest",
			op == SERVICE_MESSAGE ? "The body needs UserUpn and Message"
					      : "The body needs UserUpn");
		goto out;
	}
	struct state_session *s = state_pair(x->state, coll, upn->valuestring);
	if (!s) {
		reply_rdfe(r, 500, "InternalError", "out of memory");
		goto out;
	}
	s->ops[op]++;
	bool none = s->status == STATE_NONE;
	if (none && x->c->no_session_404) {
		snprintf(msg, sizeof(msg), "No session for user '%s' in collection '%s'",
			 upn->valuestring, coll);
		wrapped(x, r, 404, "SessionDoesNotExist", msg);
		goto out;
	}
	if (!none && op == SERVICE_DISCONNECT)
		s->status = STATE_DISCONNECTED;
	else if (!none && op == SERVICE_LOGOFF)
		s->status = STATE_NONE;
	struct opid id = {clock_wall_ms(), state_index(x->state, s), op, none};
	opid_encode(x->rng, &id, r->op_id);
	r->op_id_headers = op_id_headers;
	r->status = 202;
out:
	cJSON_Delete(body);
}

/* GET .../operationResults/{id} */
static void op_result(const struct route_ctx *x, const char *id, struct reply *r)
{
	struct opid op;
	char details[1024];
	if (!opid_decode(x->rng, id, &op) || op.session >= state_nsessions(x->state)) {
		reply_rdfe(r, 404, "ResourceNotFound", "The operation was not found.");
		return;
	}
	const struct state_session *s = state_session(x->state, op.session);
	bool pending = clock_wall_ms() < op.created_ms + x->c->op_delay_ms;
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
			 op_verb[op.op], s->upn, s->collection, s->upn);
	else
		snprintf(details, sizeof(details),
			 "%s request for user: %s in RemoteApp Service: %s done with Result: "
			 "Description: , Status: Success, Result: Success, Details: User: %s_000, "
			 "Success.",
			 op_verb[op.op], s->upn, s->collection, user);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "Description", op_desc[op.op]);
	cJSON_AddStringToObject(o, "ErrorDetails", details);
	cJSON_AddStringToObject(o, "Status", status);
	reply_json(r, 200, o);
	cJSON_Delete(o);
}

/* Rejects what the real front end rejected before routing. */
static bool refused(const struct route_ctx *x, const struct route_request *q, struct reply *r)
{
	const char *v = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, "x-ms-version");
	const char *code, *message;
	if (!v || strcmp(v, REMOTEAPP_MS_VERSION) != 0) {
		reply_rdfe(r, 400, "MissingOrIncorrectVersionHeader",
			   "The versioning header is not specified or was specified incorrectly.");
		return true;
	}
	int status = auth_check(x->auth, q->conn, rng_unit(x->rng), &code, &message);
	if (!status && x->c->subscription && strcasecmp(q->seg[0], x->c->subscription) != 0)
		status = 403; /* the credential is not registered for this subscription */
	if (status)
		reply_rdfe(r, status, code, message);
	return status != 0;
}

/* The operation whose path word is name; false for none. */
static bool op_by_path(const char *name, enum service_op *op)
{
	for (int k = 0; k < STATE_OPS; k++) {
		if (strcmp(name, remoteapp_op_path((enum service_op)k)) == 0) {
			*op = (enum service_op)k;
			return true;
		}
	}
	return false;
}

/* /{sub}/services/{ns}/operationResults/{id}
 * /{sub}/services/{ns}/collections/{c}/sessions[/{op}] */
static bool serve(const struct route_ctx *x, const struct route_request *q, struct reply *r)
{
	char *const *seg = q->seg;
	int n = q->nseg;
	bool get = route_method(q, "GET"), post = route_method(q, "POST");
	enum service_op op;
	if (n < 4 || strcmp(seg[1], "services") != 0 || strcmp(seg[2], x->c->ns) != 0)
		return false;
	if (refused(x, q, r))
		return true;
	if (!route_query_has(q->query, "api-version=" REMOTEAPP_VERSION)) {
		reply_rdfe(r, 400, "InvalidApiVersion",
			   "The api-version query is missing or wrong.");
		return true;
	}
	if (n == 5 && get && strcmp(seg[3], "operationResults") == 0) {
		op_result(x, seg[4], r);
		return true;
	}
	if (n < 6 || strcmp(seg[3], "collections") != 0 || strcmp(seg[5], "sessions") != 0 ||
	    n > 7 || (n == 6 && !get) || (n == 7 && !post)) {
		reply_not_found(r);
		return true;
	}
	if (!state_has_collection(x->state, seg[4])) {
		char msg[512];
		snprintf(msg, sizeof(msg), "Collection '%s' does not exist", seg[4]);
		wrapped(x, r, 404, REMOTEAPP_COLLECTION_MISSING, msg);
	} else if (n == 6) {
		list_sessions(x, seg[4], r);
	} else if (op_by_path(seg[6], &op)) {
		session_op(x, seg[4], op, q, r);
	} else {
		reply_not_found(r);
	}
	return true;
}

const struct route_service remoteapp_routes = {.name = "remoteapp", .serve = serve};
