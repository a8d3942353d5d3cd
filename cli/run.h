/* run.h — bulk runs: input -> engine -> report, and their exit code.
 *
 * run() is one bulk command. Commands made of several phases (drain) open
 * a run, feed it one pass per phase (each its own operation, all into one
 * report), and close it. */
#ifndef RABULK_RUN_H
#define RABULK_RUN_H

#include "cli/args.h"
#include "engine/engine.h"
#include "engine/item.h"
#include <stdio.h>

/* Exit codes (DESIGN section 2). */
enum { EXIT_ALL_OK = 0, EXIT_SOME_FAILED = 1, EXIT_USAGE = 2, EXIT_STOPPED = 3, EXIT_INTERNAL = 4 };

/* Runs the job the options describe; returns the process exit code. */
int run(const struct args *o);

struct run;
/* Sets up credentials, the endpoint and the report; installs the signal
 * handlers. NULL (with the reason on stderr and *exit_status set) on failure. */
struct run *run_open(const struct args *o, int *exit_status);
/* One (collection, UPN) pair of a list built in memory; borrowed. */
struct run_target {
	const char *collection, *upn;
};
/* Sends op (text: the message) for each of rows[0..n); rows go to the run's
 * report (lines 2.. as if the list had a header). Returns why the run
 * stopped (STOP_NONE: it did not); once stopped, later passes send nothing. */
enum stop_reason run_pass(struct run *c, enum service_op op, const char *text,
			  const struct run_target *rows, size_t n);
/* Writes a row decided outside the pipeline (drain's session hosts) to the
 * run's report and summary; takes it. Returns 0 or a negative error. */
int run_record(struct run *c, struct item *it);
/* The run's job: target, credentials, transport settings. */
const struct engine_job *run_job(const struct run *c);
/* Marks the run stopped early (a signal during drain's wait). */
void run_stop(struct run *c, enum stop_reason why);
/* Why the run stopped early (STOP_NONE: it has not); a signal while the
 * first token was fetched stops it before anything is sent. */
enum stop_reason run_stopped(const struct run *c);
/* Asks a yes/no question on the terminal; false (after saying --yes is
 * needed) when stdin or stderr is not a terminal. */
bool run_ask(const char *question);
/* True once SIGINT or SIGTERM arrived. */
bool run_signalled(void);
/* Closes the report, prints the summary (when `report`), frees c; returns
 * the exit code. */
int run_close(struct run *c, bool report);

#endif
