/* faults.h — the emulator misbehaving on purpose, as a real service under
 * load does: injected 429, 503 and 500 answers, connections reset or left
 * hanging, bodies cut short, a throttle (a token bucket answering 429 with
 * Retry-After), and answers delayed by --latency +- jitter.
 *
 * Only API requests get faults; /_emulator/ always answers at once. A
 * delayed answer's connection is suspended in libmicrohttpd and resumed by
 * this module's timer thread, so no server thread sleeps. */
#ifndef RABULK_EMU_FAULTS_H
#define RABULK_EMU_FAULTS_H

#include "emulator/emu.h"
#include "emulator/reply.h"
#include "emulator/rng.h"

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>

/* Parses "--fault" text such as "429=0.05,503=0.02,reset=0.01" into c's
 * probabilities (each from 0 to 1). Returns 0 or ERR_INVAL. */
int faults_parse(struct emu_config *c, const char *spec);

struct faults;

/* Starts the resume timer. c and rng are borrowed until faults_free().
 * Caller owns the result; NULL with err set when a thread cannot start. */
struct faults *faults_new(const struct emu_config *c, struct rng *rng, char *err, size_t errlen);
/* Resumes every held connection (stalls included) and stops the timer;
 * from then on faults_hold() resumes at once. Call before stopping the
 * daemon, so no connection stays suspended. */
void faults_stop(struct faults *f);
/* Frees f, once the daemon has stopped. faults_free(NULL) is a no-op. */
void faults_free(struct faults *f);

/* Decides one API request's fault into r: r->fault names it; 429, 503 and
 * 500 (and the throttle's 429) fill r as the answer; reset sets r->close,
 * truncate r->truncate, stall both r->close and the "never" delay. Returns
 * true when the request is still to be served (no fault, reset, truncate).
 * Thread-safe. */
bool faults_pick(struct faults *f, struct reply *r);
/* How long r's answer waits: --latency +- jitter in ms, or -1 (never) for a
 * stall. Thread-safe. */
int64_t faults_delay_ms(struct faults *f, const struct reply *r);
/* Suspends c and resumes it after delay_ms (-1: only at faults_stop()).
 * Thread-safe; call from c's own request callback. */
void faults_hold(struct faults *f, struct MHD_Connection *c, int64_t delay_ms);

#endif
