/* fuzz_validate.c — libFuzzer: the cmdlet's validation rules, on raw bytes
 * with embedded NULs, as input_emit() calls them (pointer and length). */
#include "input/validate.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so reading one byte past the end is caught */
	char *s = malloc(size ? size : 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	const char *a = validate_collection(s, size);
	const char *b = validate_upn(s, size);
	if ((a && !*a) || (b && !*b))
		abort(); /* a reason is never empty */
	free(s);
	return 0;
}
