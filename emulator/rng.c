/* rng.c — splitmix64 over a secret and a counter (see rng.h).
 *
 * A counter through a good mixer is as random as the emulator needs, takes
 * no lock (one atomic add a draw) and gives distinct values by construction,
 * so ids never collide however many threads draw them. */
#include "emulator/rng.h"

#include <stdio.h>

void rng_init(struct rng *r, uint64_t seed)
{
	r->secret = rng_mix(seed);
	atomic_init(&r->seq, 0);
}

uint64_t rng_mix(uint64_t x)
{
	x ^= x >> 30, x *= 0xBF58476D1CE4E5B9ULL;
	x ^= x >> 27, x *= 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

uint64_t rng_next(struct rng *r)
{
	return rng_mix(r->secret ^ atomic_fetch_add(&r->seq, 1));
}

double rng_unit(struct rng *r)
{
	return (double)(rng_next(r) >> 11) / 9007199254740992.0; /* 53 bits / 2^53 */
}

void rng_guid(struct rng *r, char *dst, bool dashes)
{
	uint64_t a = rng_next(r);
	uint64_t b = rng_mix(a ^ 0x5bd1e995);
	if (dashes)
		sprintf(dst, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(a >> 32),
			(unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xfff,
			(unsigned)((b >> 48) & 0x3fff) | 0x8000,
			(unsigned long long)(b & 0xffffffffffffULL));
	else
		sprintf(dst, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}
