/* internal.h — what the input readers share; not for use outside input/. */
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
int input_emit(input_row_fn fn, void *arg, long line, const char *coll, size_t coll_len,
	       const char *upn, size_t upn_len, const char *state, const char *reason);
/* The same, for a row that carries extra cells (see struct row). */
int input_emit_extra(input_row_fn fn, void *arg, struct row *r, size_t coll_len, size_t upn_len);

/* CSV (csvin.c): header row first, then records, fed one physical line at a time. */
struct csvin;
/* delim: named by the input ("sep=;"), or 0 to sniff it from the header. */
struct csvin *csvin_new(const char *name, const struct input_opts *o, unsigned char delim,
			input_row_fn fn, void *arg);
int csvin_line(struct csvin *c, const char *line, size_t len, long lineno, char *msg,
	       size_t msglen);
bool csvin_header_read(const struct csvin *c);
int csvin_finish(struct csvin *c, char *msg, size_t msglen);
void csvin_free(struct csvin *c);

/* NDJSON (jsonin.c): one object per line. */
int jsonin_line(const char *line, size_t len, long lineno, const struct input_opts *o,
		input_row_fn fn, void *arg);
/* Is the first line of text a lone "{" (white space aside)? */
bool jsonin_is_open_brace_line(const char *text, size_t len);

/* A JSON array of objects, or a stream of (pretty-printed) objects, split
 * into elements as bytes arrive so that memory stays flat; each element is
 * a row whose line is the line where it starts. first_line: where the text
 * starts. */
struct jsonarr;
struct jsonarr *jsonarr_new(const char *name, const struct input_opts *o, input_row_fn fn,
			    void *arg, long first_line);
int jsonarr_feed(struct jsonarr *j, const char *p, size_t n, char *msg, size_t msglen);
int jsonarr_finish(struct jsonarr *j, char *msg, size_t msglen);
void jsonarr_free(struct jsonarr *j);

#endif
