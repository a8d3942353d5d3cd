/* csvin.h — the CSV reader (libcsv, strict), fed one physical line at a
 * time by input.c; see csvin.c for how records spanning lines and broken
 * quotes are handled. Not for use outside input/. */
#ifndef RABULK_CSVIN_H
#define RABULK_CSVIN_H

#include "input/internal.h"

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

#endif
