/* pairkey.c — the stable 64-bit key of a (collection, UPN) pair (see pairkey.h). */
#include "lib/pairkey.h"

#include <ctype.h>

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 0x100000001B3ULL;
	return h;
}

uint64_t pairkey_hash(const char *collection, const char *upn)
{
	uint64_t h = fnv(0xCBF29CE484222325ULL, collection);
	h = (h ^ 0x1F) * 0x100000001B3ULL; /* a separator no name holds */
	h = fnv(h, upn);
	h ^= h >> 33, h *= 0xFF51AFD7ED558CCDULL; /* MurmurHash3's fmix64 */
	h ^= h >> 33, h *= 0xC4CEB9FE1A85EC53ULL;
	h ^= h >> 33;
	return h ? h : 1;
}
