/* fuzz_input.h — the shared body of the input fuzzers: bytes -> input_read(),
 * exactly as the reader thread calls it, with a callback that reads every
 * string of every row so the sanitizers see any overread. */
#ifndef RABULK_FUZZ_INPUT_H
#define RABULK_FUZZ_INPUT_H

#include "input/input.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int fuzz_row(void *arg, const struct input_row *r)
{
	size_t *total = arg;
	*total += strlen(r->collection) + strlen(r->upn) + (size_t)r->line;
	if (r->state)
		*total += strlen(r->state);
	if (r->reason)
		*total += strlen(r->reason);
	return 0;
}

static int fuzz_input(const uint8_t *data, size_t size, enum input_format format)
{
	char msg[512];
	size_t total = 0;
	struct input_opts o = {.format = format, .collection = "Dflt", .keep_columns = true};
	if (size == 0)
		return 0;
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	input_read(f, "fuzz", &o, fuzz_row, &total, msg, sizeof(msg));
	fclose(f);
	return 0;
}

#endif
