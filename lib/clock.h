/* clock.h — the two clocks rabulk reads: monotonic for waiting, wall for
 * reports. Only the engine's loops and the writer read them; the deciding
 * modules (retry) take time as an argument. Thread-safe. */
#ifndef RABULK_CLOCK_H
#define RABULK_CLOCK_H

#include <stddef.h>
#include <stdint.h>

int64_t clock_mono_ms(void);
int64_t clock_wall_ms(void);
/* "2026-11-24T08:56:34.123Z" into dst (at least 25 bytes); "" for 0. */
void clock_iso8601(char *dst, size_t cap, int64_t unix_ms);

#endif
