/* fuzz_csv.c — libFuzzer: the CSV reader (libcsv, strict, our recovery). */
#include "tests/fuzz/fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_input(data, size, INPUT_CSV);
}
