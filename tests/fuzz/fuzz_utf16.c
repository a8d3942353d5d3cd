/* fuzz_utf16.c — libFuzzer: the UTF-16 transcoder alone. The first byte
 * picks the byte order and the output room per call (4..67 bytes), so
 * every split of units and surrogate pairs across calls is tried; the
 * output must be the same as one call over the whole input, and never
 * more than 2 bytes of UTF-8 per input byte. */
#include "input/utf16.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t decode_all(const uint8_t *in, size_t n, bool be, size_t room, char *out)
{
	struct utf16 u = {.big_endian = be};
	size_t o = 0, i = 0;
	while (i < n) {
		size_t used;
		o += utf16_decode(&u, in + i, n - i, &used, out + o, room);
		i += used;
	}
	return o + utf16_finish(&u, out + o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	bool be = data[0] & 1;
	size_t room = 4 + (data[0] >> 2);
	const uint8_t *in = data + 1;
	size_t n = size - 1;
	char *a = malloc(2 * n + 8), *b = malloc(2 * n + 8);
	size_t na = decode_all(in, n, be, room, a);
	size_t nb = decode_all(in, n, be, 2 * n + 8, b);
	if (na != nb || memcmp(a, b, na) != 0 || na > 2 * n + 2)
		abort();
	free(a);
	free(b);
	return 0;
}
