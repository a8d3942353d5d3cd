/* dedup.h — remembers which (collection, UPN) pairs a run has seen.
 *
 * Stores the 64-bit key of each pair (lib/pairkey.h), not the pair: at most 16 bytes per
 * distinct pair once past the first thousand, and it grows in steps of
 * about 1/128 of its size, never doubling at once. Two different pairs
 * share a hash with probability about n^2 / 2^65 (3e-6 at ten million
 * pairs); such a pair would be reported `duplicate` without being sent.
 * Not thread-safe: the reader thread owns it. */
#ifndef RABULK_DEDUP_H
#define RABULK_DEDUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dedup;

/* Caller owns the result; NULL when out of memory. */
struct dedup *dedup_new(void);
void dedup_free(struct dedup *d);
/* Records the pair; returns 1 if it was seen before, 0 if new, ERR_NOMEM.
 * Case-insensitive (ASCII) on both collection and UPN. */
int dedup_check(struct dedup *d, const char *collection, const char *upn);
/* Was the pair recorded? Does not record it. */
bool dedup_has(const struct dedup *d, const char *collection, const char *upn);
/* Bytes the table uses. */
size_t dedup_bytes(const struct dedup *d);

#endif
