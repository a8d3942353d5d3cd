/* run.h — one bulk run: input -> engine -> report, and its exit code. */
#ifndef RABULK_RUN_H
#define RABULK_RUN_H

#include "cli/args.h"

/* Exit codes (DESIGN section 2). */
enum { EXIT_ALL_OK = 0, EXIT_SOME_FAILED = 1, EXIT_USAGE = 2, EXIT_STOPPED = 3, EXIT_INTERNAL = 4 };

/* Runs the job the options describe; returns the process exit code. */
int run(const struct options *o);

#endif
