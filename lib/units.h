/* units.h — durations, rates and times as people write them on a command
 * line: rabulk's options and the emulator's share them. Pure: nothing here
 * reads a clock (units_deadline takes "now"). */
#ifndef RABULK_UNITS_H
#define RABULK_UNITS_H

#include <stdint.h>

/* "250ms", "30s", "10m", "1h" or a plain number of seconds -> milliseconds.
 * Returns 0 or ERR_INVAL. */
int units_duration(const char *s, long *ms);
/* "N", "N/s", "N/m", "N/h" -> per second (> 0). Returns 0 or ERR_INVAL. */
int units_rate(const char *s, double *per_second);
/* "22:00" (local, today), "2026-11-24T22:00:00Z" (or +HH:MM) or "+30m"
 * (from now_ms) -> Unix ms. Returns 0 or ERR_INVAL. */
int units_deadline(const char *s, int64_t now_ms, int64_t *out);

#endif
