/* fuzz_json.c — libFuzzer: JSON arrays, object streams and NDJSON; the first
 * byte picks the format, the rest is the input. */
#include "tests/fuzz/fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	return fuzz_input(data + 1, size - 1, data[0] & 1 ? INPUT_NDJSON : INPUT_JSON);
}
