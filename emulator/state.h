/* state.h — the emulator's world: collections and their sessions, behind
 * one lock.
 *
 * A pair (collection, UPN) has one record for the emulator's life: logging
 * off sets it to STATE_NONE rather than removing it, so its operation counts
 * survive and its index stays valid (tracking ids carry the index, opid.h).
 * Names match case-insensitively (ASCII), as the service did.
 *
 * Locking: state_new(), state_free(), state_lock(), state_unlock() and the
 * status names are free to call; every other function wants the caller to
 * hold state_lock(), and pointers it returns are borrowed until the lock is
 * released or a record is added (state_pair(), state_add_session()). */
#ifndef RABULK_EMU_STATE_H
#define RABULK_EMU_STATE_H

#include "service/service.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum state_status { STATE_NONE, STATE_CONNECTED, STATE_ACTIVE, STATE_DISCONNECTED };

#define STATE_OPS (SERVICE_MESSAGE + 1) /* every enum service_op */

struct state_session {
	char *collection, *upn; /* as first seen; owned by the state */
	enum state_status status;
	int64_t logon_ms;
	uint32_t ops[STATE_OPS]; /* operations received, by enum service_op */
};

struct state;

/* An empty state. Caller owns the result; NULL when out of memory. */
struct state *state_new(void);
/* Frees st and every record. state_free(NULL) is a no-op. */
void state_free(struct state *st);
/* The one lock (held briefly: one request's work). Lock order: the state,
 * then the admin log's lock (admin.h). */
void state_lock(struct state *st);
void state_unlock(struct state *st);

/* "None", "Connected", "Active", "Disconnected". Static. */
const char *state_status_name(enum state_status s);
/* Parses a status name (any case); NULL or "" is STATE_CONNECTED. Returns 0
 * or ERR_INVAL ("None" is not a status a session can be seeded with). */
int state_status_parse(const char *name, enum state_status *s);

/* Adds a collection; idempotent. Returns 0 or ERR_NOMEM. */
int state_add_collection(struct state *st, const char *name);
bool state_has_collection(const struct state *st, const char *name);
size_t state_ncollections(const struct state *st);
/* The i-th collection's name, as first added. */
const char *state_collection(const struct state *st, size_t i);

/* Adds (or resets) a session: its collection too, the status, logon now.
 * Returns 0 or ERR_NOMEM. */
int state_add_session(struct state *st, const char *collection, const char *upn,
		      enum state_status status);
/* The record of a pair, created (STATE_NONE, no operations) when absent;
 * NULL when out of memory. */
struct state_session *state_pair(struct state *st, const char *collection, const char *upn);
/* Records so far, and the i-th (i < state_nsessions()). */
size_t state_nsessions(const struct state *st);
struct state_session *state_session(struct state *st, size_t i);
/* A record's index, what state_session() takes back. */
uint32_t state_index(const struct state *st, const struct state_session *s);
/* Zeroes every record's operation counts (sessions and statuses stay). */
void state_reset_ops(struct state *st);

#endif
