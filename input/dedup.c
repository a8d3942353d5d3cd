/* dedup.c — an open-addressing set of 64-bit pair hashes.
 *
 * Linear probing; the table grows by half when three quarters full, so
 * right after growing it is half full: 8-byte slots, at most 16 bytes per
 * pair at any size (doubling at half full would reach 32). The capacity is
 * then not a power of two, so a slot is chosen by multiply-shift
 * ((h * cap) >> 64, Lemire's "fastrange") rather than by a mask. 0 marks an
 * empty slot, so a hash of 0 is stored as 1. */
#include "input/dedup.h"
#include "engine/err.h"

#include <ctype.h>
#include <stdlib.h>

struct dedup {
	uint64_t *slots;
	size_t cap, len;
};

struct dedup *dedup_new(void)
{
	struct dedup *d = calloc(1, sizeof(*d));
	if (!d || !(d->slots = calloc(1024, sizeof(uint64_t)))) {
		free(d);
		return NULL;
	}
	d->cap = 1024;
	return d;
}

void dedup_free(struct dedup *d)
{
	if (!d)
		return;
	free(d->slots);
	free(d);
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 0x100000001B3ULL;
	return h;
}

uint64_t dedup_hash(const char *collection, const char *upn)
{
	uint64_t h = fnv(0xCBF29CE484222325ULL, collection);
	h = (h ^ 0x1F) * 0x100000001B3ULL; /* a separator no name holds */
	h = fnv(h, upn);
	h ^= h >> 33, h *= 0xFF51AFD7ED558CCDULL; /* MurmurHash3's fmix64 */
	h ^= h >> 33, h *= 0xC4CEB9FE1A85EC53ULL;
	h ^= h >> 33;
	return h ? h : 1;
}

/* The slot holding h, or the empty slot where it would go. */
static size_t probe(const uint64_t *slots, size_t cap, uint64_t h)
{
	size_t i = (size_t)(((unsigned __int128)h * cap) >> 64);
	while (slots[i] && slots[i] != h)
		i = i + 1 == cap ? 0 : i + 1;
	return i;
}

static bool insert(uint64_t *slots, size_t cap, uint64_t h)
{
	size_t i = probe(slots, cap, h);
	if (slots[i] == h)
		return false;
	slots[i] = h;
	return true;
}

static int grow(struct dedup *d)
{
	size_t cap = d->cap + d->cap / 2;
	uint64_t *s = calloc(cap, sizeof(uint64_t));
	if (!s)
		return ERR_NOMEM;
	for (size_t i = 0; i < d->cap; i++)
		if (d->slots[i])
			insert(s, cap, d->slots[i]);
	free(d->slots);
	d->slots = s, d->cap = cap;
	return 0;
}

bool dedup_has(const struct dedup *d, const char *collection, const char *upn)
{
	uint64_t h = dedup_hash(collection, upn);
	return d->cap && d->slots[probe(d->slots, d->cap, h)] == h;
}

int dedup_check(struct dedup *d, const char *collection, const char *upn)
{
	if ((d->len + 1) * 4 > d->cap * 3 && grow(d) < 0)
		return ERR_NOMEM;
	if (!insert(d->slots, d->cap, dedup_hash(collection, upn)))
		return 1;
	d->len++;
	return 0;
}

size_t dedup_bytes(const struct dedup *d)
{
	return d->cap * sizeof(uint64_t);
}
