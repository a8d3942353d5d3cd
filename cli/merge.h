/* merge.h — `rabulk report merge REPORT...`: one report from the reports of
 * several shards (or several resumed runs). */
#ifndef RABULK_MERGE_H
#define RABULK_MERGE_H

#include "cli/args.h"

/* Writes the merged CSV report to stdout; returns the exit code (1 when a
 * pair appears in two reports, or --input has a pair no report has). */
int merge_run(const struct args *o);

#endif
