/* rng.h — the emulator's one source of unpredictability: a per-process
 * secret and a counter, mixed with splitmix64's finaliser.
 *
 * Every value drawn is distinct (the counter never repeats) and cannot be
 * guessed from outside without the secret, which is all the emulator needs:
 * request and activity ids, the dice for faults and jitter, and the check
 * value that makes tracking ids unforgeable (opid.h). Not for cryptography. */
#ifndef RABULK_EMU_RNG_H
#define RABULK_EMU_RNG_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct rng {
	uint64_t secret;
	atomic_uint_fast64_t seq; /* draws so far */
};

/* Seeds r; anything that differs between processes will do. */
void rng_init(struct rng *r, uint64_t seed);
/* splitmix64's finaliser: a bijection that scatters every input bit. Pure. */
uint64_t rng_mix(uint64_t x);
/* A fresh 64-bit value. Thread-safe. */
uint64_t rng_next(struct rng *r);
/* A fresh double in [0, 1). Thread-safe. */
double rng_unit(struct rng *r);
/* A fresh id into dst: a version-4 GUID with dashes (36 characters), or 32
 * hex digits without. dst holds 37 bytes. Thread-safe. */
void rng_guid(struct rng *r, char *dst, bool dashes);

#endif
