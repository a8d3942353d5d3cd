/* pairkey.h — the stable 64-bit key of a (collection, UPN) pair: what
 * de-duplication stores, what --shard divides by, what --resume and report
 * merge match rows on. FNV-1a 64 over the ASCII-lowercased collection, a
 * 0x1F byte and the lowercased UPN, then MurmurHash3's 64-bit finaliser;
 * never 0. It depends only on the pair, so it is the same across runs,
 * machines and versions (shards of one list made on four machines fit). */
#ifndef RABULK_PAIRKEY_H
#define RABULK_PAIRKEY_H

#include <stdint.h>

uint64_t pairkey_hash(const char *collection, const char *upn);

#endif
