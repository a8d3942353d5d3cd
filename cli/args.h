/* args.h — the command line, parsed into options. */
#ifndef RABULK_ARGS_H
#define RABULK_ARGS_H

#include "service/service.h"
#include "input/input.h"
#include <stdbool.h>
#include <stdint.h>

#define ARGS_MAX_INPUTS 256
#define ARGS_TEXT_MAX 4096 /* longest message */

struct options {
	const char *command; /* "disconnect", "logoff", "message", "sessions" */
	enum service_op op;
	bool list;	     /* rabulk sessions: inputs[] are collection names */
	bool merge;	     /* rabulk report merge: inputs[] are reports */
	bool result;	     /* rabulk result: inputs[] are tracking ids */
	bool drain;	     /* rabulk drain: inputs[] are collection names */
	const char *exclude; /* drain --exclude FILE */
	long grace_ms;	     /* drain --grace */
	long remind_ms[8];   /* drain --remind, as time left, longest first */
	int nremind;
	enum service_op then;	 /* drain --then: SERVICE_DISCONNECT or SERVICE_LOGOFF */
	int progress;		 /* --progress 1, --no-progress 0, default -1: on a terminal */
	const char *merge_input; /* report merge --input FILE */
	int shard_k, shard_n;	 /* --shard K/N, 1-based; n = 0: all rows */
	int shard_n_opt;	 /* --shards N, for --shard auto */
	bool shard_auto;
	const char *state;	/* sessions --state */
	const char *out_format; /* sessions --format: csv, json or ndjson */
	const char *inputs[ARGS_MAX_INPUTS];
	int ninputs;
	struct input_opts input;
	const char *endpoint; /* NULL: the profile's, else the public one */
	const char *subscription, *ns, *report, *cacert, *text;
	const char *profile, *cert, *key, *cert_password_file, *token_file, *token_command;
	const char *emulator_seed;
	const char *resume;	  /* --resume REPORT */
	const char *summary_json; /* --summary-json FILE */
	bool ordered;
	bool insecure, no_wait, quiet, verbose, yes, emulator, help, version, dry_run, no_dedup;
	int concurrency, threads, retries;
	long timeout_ms, poll_interval_ms, poll_timeout_ms, retry_max_time_ms;
	double rate, burst, poll_rate; /* per second; 0 = unlimited */
	double halt_error_rate;	       /* 0..1; > 1 = off */
	int64_t deadline_ms;	       /* wall clock, Unix ms; 0 = none */
};

/* Fills o from argv (argv[1] is the subcommand) and the environment
 * (RABULK_NAMESPACE). Returns 0, or ERR_INVAL with err set to a message
 * for the user. Not thread-safe (getopt). */
int args_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);
/* The usage text, in man-page syntax. */
const char *args_usage(void);

#endif
