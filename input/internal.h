/* internal.h — what the input readers share (defined in row.c); not for use outside input/. */
#ifndef RABULK_INPUT_INTERNAL_H
#define RABULK_INPUT_INTERNAL_H

#include "input/input.h"
#include <stdbool.h>
#include <stddef.h>

#define INPUT_LINE_MAX (64 * 1024) /* longer physical lines are invalid rows */

/* Column aliases, matched case-insensitively (DESIGN section 4). */
extern const char *const input_collection_keys[];
extern const char *const input_upn_keys[];
extern const char *const input_state_keys[];
extern const char *const input_avd_collection_keys[];
extern const char *const input_group_keys[];
bool input_key_is(const char *name, size_t len, const char *const *keys);
/* The index of name in keys (case-insensitive), or -1. */
int input_key_rank(const char *name, size_t len, const char *const *keys);
/* A collection read from a column or key called `key`: Get-AzWvdUserSession
 * writes Name as "hostpool/sessionhost/id", whose host pool is the first
 * part. Returns the length to use. */
size_t input_collection_len(const char *coll, size_t len, const char *key);

/* Validates and hands one row to fn; fields are NUL-terminated but len is
 * authoritative (an embedded NUL makes the row invalid). reason, when not
 * NULL, marks the row invalid without further checks. coll NULL means the
 * row has no collection at all ("" is an empty one). */
int input_emit(const struct input_opts *o, input_row_fn fn, void *arg, long line, const char *coll,
	       size_t coll_len, const char *upn, size_t upn_len, const char *state,
	       const char *group, const char *reason);
/* The same, for a row that carries extra cells (see struct input_row). */
int input_emit_extra(const struct input_opts *o, input_row_fn fn, void *arg, struct input_row *r,
		     size_t coll_len, size_t upn_len);

#endif
