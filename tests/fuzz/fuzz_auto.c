/* fuzz_auto.c — libFuzzer: sniffing as a user meets it (no --format): BOMs
 * and UTF-16 transcoding, #TYPE and sep= lines, then whichever reader the
 * first line picks. */
#include "tests/fuzz/fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_input(data, size, INPUT_AUTO);
}
