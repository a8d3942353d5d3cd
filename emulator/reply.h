/* reply.h — what the emulator answers one request with, and the body shapes
 * the recordings show.
 *
 * A route fills a struct reply; the libmicrohttpd glue (emu.c) sends it,
 * adding the headers every answer carries. Bodies are built here so every
 * route writes an error the same way the service did:
 *
 *   RDFE      <Error xmlns="..."><Code>..</Code><Message>..</Message></Error>
 *   wrapped   <string xmlns="...">{"Code":..,"Message":..,"ActivityId":..}</string>
 *   JSON      pretty-printed with CRLF and two-space indents
 *
 * Out of memory leaves the body NULL: the status still goes out. */
#ifndef RABULK_EMU_REPLY_H
#define RABULK_EMU_REPLY_H

#include "emulator/opid.h"

#include <cjson/cJSON.h>
#include <stdbool.h>

#define REPLY_MAX_HEADERS 16
#define REPLY_HEADER_MAX 128 /* a value's bytes kept, with its NUL */

/* A header a route adds to its answer (reply_header()). */
struct reply_header {
	const char *name; /* static */
	char value[REPLY_HEADER_MAX];
};

struct reply {
	int status;
	const char *ctype; /* static */
	char *body;	   /* owned, may be NULL */
	/* An operation's id, sent under each header of op_id_headers (static,
	 * NULL-ended) when op_id[0] is set. */
	char op_id[OPID_LEN + 1];
	const char *const *op_id_headers;
	long retry_after_ms; /* > 0: send Retry-After / retry-after-ms */
	const char *fault;   /* a fault's name, for the log; static */
	bool close;	     /* faults: no answer at all, the connection is dropped */
	bool truncate;	     /* faults: the answer's body is cut short */
	/* Headers a route adds (AVD's ARM headers; ARM quota buckets will add
	 * their x-ms-ratelimit-remaining-* here too). An x-ms-request-id here
	 * replaces the random one the glue sends otherwise. */
	struct reply_header headers[REPLY_MAX_HEADERS];
	int nheaders;
};

/* The classic RDFE error. */
void reply_rdfe(struct reply *r, int status, const char *code, const char *message);
/* 404 ResourceNotFound "The requested resource was not found.": a path no
 * route knows. */
void reply_not_found(struct reply *r);
/* The recorded shape of the 404 for a missing collection and of the
 * service's own errors: a JSON error, serialized into an XML string.
 * activity_id is the ActivityId the body names. */
void reply_wrapped(struct reply *r, int status, const char *code, const char *message,
		   const char *activity_id);
/* root as the service printed JSON (application/json; charset=utf-8). */
void reply_json(struct reply *r, int status, const cJSON *root);
/* Takes ownership of body (NULL: none), a compact answer of the emulator's
 * own (/_emulator/). */
void reply_take(struct reply *r, int status, const char *ctype, char *body);
/* Adds a header to r's answer: name is static, value copied (cut to
 * REPLY_HEADER_MAX - 1 bytes). Past REPLY_MAX_HEADERS it is dropped. */
void reply_header(struct reply *r, const char *name, const char *value);
/* The value of a header added with reply_header() (name in any case), or
 * NULL. Borrowed from r. */
const char *reply_header_value(const struct reply *r, const char *name);
/* Frees the body. */
void reply_release(struct reply *r);

#endif
