/* args.h — the command line, parsed into options. */
#ifndef RABULK_ARGS_H
#define RABULK_ARGS_H

#include "engine/api.h"
#include "input/input.h"
#include <stdbool.h>

#define ARGS_MAX_INPUTS 256

struct options {
	const char *command; /* "disconnect", "logoff", "message", "sessions" */
	enum api_op op;
	bool list;		/* rabulk sessions: inputs[] are collection names */
	const char *state;	/* sessions --state */
	const char *out_format; /* sessions --format: csv, json or ndjson */
	const char *inputs[ARGS_MAX_INPUTS];
	int ninputs;
	struct input_opts input;
	const char *endpoint, *subscription, *ns, *token_file, *report, *cacert, *text;
	const char *emulator_seed;
	bool insecure, no_wait, quiet, verbose, yes, emulator, help, version, dry_run, no_dedup;
	int concurrency, threads, retries;
	long timeout_ms, poll_interval_ms, poll_timeout_ms, retry_max_time_ms;
};

/* Fills o from argv (argv[1] is the subcommand) and the environment
 * (RABULK_NAMESPACE). Returns 0, or ERR_INVAL with err set to a message
 * for the user. Not thread-safe (getopt). */
int args_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);
/* "250ms", "30s", "10m", "1h", or plain seconds; returns 0 or ERR_INVAL. */
int args_duration(const char *s, long *ms);
/* The usage text, in man-page syntax. */
const char *args_usage(void);

#endif
