/* reportin.h — reads a rabulk report (CSV, JSON or NDJSON by extension)
 * back into items, one per row: for --resume and `rabulk report merge`.
 *
 * A torn last line (a crash while writing it) is skipped, and so is any row
 * that does not parse as a report row. Not thread-safe per call. */
#ifndef RABULK_REPORTIN_H
#define RABULK_REPORTIN_H

#include "engine/item.h"
#include <stddef.h>

/* Called per row with an item borrowed until it returns (status and op
 * parsed; unknown ones skip the row; a tracking id longer than
 * SERVICE_OP_ID_MAX is left empty, never cut). A nonzero return stops the
 * reading. */
typedef int (*reportin_fn)(void *arg, const struct item *it);

/* Returns 0, fn's nonzero value, or a negative error with err set. */
int reportin_read(const char *path, reportin_fn fn, void *arg, char *err, size_t errlen);

#endif
