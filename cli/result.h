/* result.h — `rabulk result TRACKING_ID...`: what became of operations. */
#ifndef RABULK_RESULT_H
#define RABULK_RESULT_H

#include "cli/args.h"

/* Prints TrackingId,Status,Description,ErrorDetails for each id (CSV on
 * stdout, in the order given); exit 0 when none Failed or was unknown. */
int result_run(const struct args *o);

#endif
