/* opid.h — an operation's tracking id, which *is* the operation.
 *
 * The emulator stores no operations: the creation time, the session's
 * index, the operation and its outcome are packed into the GUID's 16 bytes
 * with a check value keyed by the process's secret, so a million operations
 * cost no memory and an unknown or forged id is simply one that does not
 * decode. */
#ifndef RABULK_EMU_OPID_H
#define RABULK_EMU_OPID_H

#include "emulator/rng.h"
#include "service/service.h"

#include <stdbool.h>
#include <stdint.h>

#define OPID_LEN 36 /* a GUID with dashes */

struct opid {
	int64_t created_ms; /* wall clock; 48 bits are kept */
	uint32_t session;   /* the session's index in the state (state.h) */
	enum service_op op;
	bool failed; /* the user had no session */
};

/* Writes op's id into dst (OPID_LEN + 1 bytes); two calls never give the
 * same id. Thread-safe. */
void opid_encode(struct rng *r, const struct opid *op, char *dst);
/* True, with op filled, when id is one opid_encode() made with r's secret.
 * The session index is as encoded: the caller checks it against the
 * state. Thread-safe. */
bool opid_decode(const struct rng *r, const char *id, struct opid *op);

#endif
