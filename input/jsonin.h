/* jsonin.h — the JSON readers (cJSON): NDJSON a line at a time, and JSON
 * arrays (or streams of objects) split into elements as bytes arrive. Not
 * for use outside input/. */
#ifndef RABULK_JSONIN_H
#define RABULK_JSONIN_H

#include "input/internal.h"

/* NDJSON (jsonin.c): one object per line. */
int jsonin_line(const char *line, size_t len, long lineno, const struct input_opts *o,
		input_row_fn fn, void *arg);
/* Is the first line of text a lone "{" (white space aside)? */
bool jsonin_is_open_brace_line(const char *text, size_t len);

/* A JSON array of objects, or a stream of (pretty-printed) objects, split
 * into elements as bytes arrive so that memory stays flat; each element is
 * a row whose line is the line where it starts. first_line: where the text
 * starts. */
struct jsonin_array;
struct jsonin_array *jsonin_array_new(const char *name, const struct input_opts *o, input_row_fn fn,
				      void *arg, long first_line);
int jsonin_array_feed(struct jsonin_array *j, const char *p, size_t n, char *msg, size_t msglen);
int jsonin_array_finish(struct jsonin_array *j, char *msg, size_t msglen);
void jsonin_array_free(struct jsonin_array *j);

#endif
