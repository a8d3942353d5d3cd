/* dedup.c — an open-addressing set of 64-bit pair hashes.
 *
 * Linear probing; a table grows by half when three quarters full, so
 * right after growing it is half full: 8-byte slots, at most 16 bytes per
 * pair (doubling at half full would reach 32). The capacity is then not a
 * power of two, so a slot is chosen by multiply-shift ((h * cap) >> 64,
 * Lemire's "fastrange") rather than by a mask. 0 marks an empty slot, so a
 * hash of 0 is stored as 1.
 *
 * The set is 64 such tables, chosen by a hash's top bits, each growing on
 * its own: while one is rehashed its old and new arrays coexist, so the
 * peak is the set plus 1/64 of it rather than 2.5 times it (19 MiB instead
 * of 11.5 at a million pairs). */
#include "input/dedup.h"
#include "lib/pairkey.h"
#include "lib/err.h"

#include <ctype.h>
#include <stdlib.h>

#define PARTS 64 /* chosen by a hash's top 6 bits */
#define PART_MIN 16

struct part {
	uint64_t *slots;
	size_t cap, len;
};

struct dedup {
	struct part part[PARTS];
};

struct dedup *dedup_new(void)
{
	return calloc(1, sizeof(struct dedup));
}

void dedup_free(struct dedup *d)
{
	for (int i = 0; d && i < PARTS; i++)
		free(d->part[i].slots);
	free(d);
}

/* The slot holding h, or the empty slot where it would go. The top bits
 * chose the part, so the slot is chosen by the bits below them. */
static size_t probe(const uint64_t *slots, size_t cap, uint64_t h)
{
	size_t i = (size_t)(((unsigned __int128)(h << 6) * cap) >> 64);
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

static int grow(struct part *p)
{
	size_t cap = p->cap ? p->cap + p->cap / 2 : PART_MIN;
	uint64_t *s = calloc(cap, sizeof(uint64_t));
	if (!s)
		return ERR_NOMEM;
	for (size_t i = 0; i < p->cap; i++)
		if (p->slots[i])
			insert(s, cap, p->slots[i]);
	free(p->slots);
	p->slots = s, p->cap = cap;
	return 0;
}

bool dedup_has(const struct dedup *d, const char *collection, const char *upn)
{
	uint64_t h = pairkey_hash(collection, upn);
	const struct part *p = &d->part[h >> 58];
	return p->cap && p->slots[probe(p->slots, p->cap, h)] == h;
}

int dedup_check(struct dedup *d, const char *collection, const char *upn)
{
	uint64_t h = pairkey_hash(collection, upn);
	struct part *p = &d->part[h >> 58];
	if ((p->len + 1) * 4 > p->cap * 3 && grow(p) < 0)
		return ERR_NOMEM;
	if (!insert(p->slots, p->cap, h))
		return 1;
	p->len++;
	return 0;
}

size_t dedup_bytes(const struct dedup *d)
{
	size_t n = 0;
	for (int i = 0; i < PARTS; i++)
		n += d->part[i].cap * sizeof(uint64_t);
	return n;
}
