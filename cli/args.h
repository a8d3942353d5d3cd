/* args.h — the command line, parsed into options.
 *
 * One table (args_table()) says, for every option, which commands take it,
 * what its value looks like and what --help says of it. getopt_long's list,
 * the options part of --help and the shell completions (complete.c) are all
 * made from it, and the man page is checked against --help, so an option
 * added to the table is in all of them. */
#ifndef RABULK_ARGS_H
#define RABULK_ARGS_H

#include "service/service.h"
#include "input/input.h"
#include "engine/quota.h"
#include <stdbool.h>
#include <stdint.h>

#define ARGS_MAX_INPUTS 256
#define ARGS_TEXT_MAX 4096 /* longest message */

struct args {
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
	bool then_given;	 /* else: disconnect, or logoff with --service avd */
	bool undrain;		 /* rabulk undrain, drain --undrain (avd) */
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
	bool avd;			    /* --service avd (else remoteapp) */
	struct quota_reserve quota_reserve; /* --quota-reserve N or N% */
	bool no_quota;			    /* --quota-reserve off */
	const char *resource_group;	    /* --resource-group: AVD rows' default */
	const char *title;		    /* --title: an AVD message's title */
	const char *profile, *cert, *key, *cert_password_file, *token_file, *token_command;
	const char *emulator_seed;
	const char *credential;	  /* --credential NAME, or NULL: the chain (DESIGN section 9) */
	const char *cloud;	  /* --cloud NAME, or NULL: AzureCloud */
	const char *resume;	  /* --resume REPORT */
	const char *summary_json; /* --summary-json FILE */
	const char *metrics_file; /* --metrics-file FILE */
	const char *completion;	  /* --completion SHELL: "bash" or "zsh" */
	bool ordered;
	bool insecure, no_wait, quiet, verbose, yes, emulator, help, version, dry_run, no_dedup;
	int concurrency, threads, retries;
	long timeout_ms, poll_interval_ms, poll_timeout_ms, retry_max_time_ms;
	double rate, burst, poll_rate; /* per second; 0 = unlimited */
	double halt_error_rate;	       /* 0..1; > 1 = off */
	int64_t deadline_ms;	       /* wall clock, Unix ms; 0 = none */
};

/* The commands, as bits of args_option.commands. ARGS_TOP is rabulk with no
 * command (rabulk --help, --version, --completion). */
enum {
	ARGS_DISCONNECT = 1 << 0,
	ARGS_LOGOFF = 1 << 1,
	ARGS_MESSAGE = 1 << 2,
	ARGS_SESSIONS = 1 << 3,
	ARGS_RESULT = 1 << 4,
	ARGS_DRAIN = 1 << 5,
	ARGS_MERGE = 1 << 6, /* report merge */
	ARGS_TOP = 1 << 7,
	/* the commands that read INPUT and send one request per row */
	ARGS_SEND = ARGS_DISCONNECT | ARGS_LOGOFF | ARGS_MESSAGE,
	/* the commands that run the pipeline: report, flow control, summary */
	ARGS_RUN = ARGS_SEND | ARGS_DRAIN,
	/* the commands that talk to the service: target, credentials, retries */
	ARGS_CALL = ARGS_RUN | ARGS_SESSIONS | ARGS_RESULT,
	ARGS_ALL = ARGS_CALL | ARGS_MERGE
};

/* One row of the option table. An option whose value set differs between
 * commands (--format) has a row per set; the first row of a name carries its
 * help. */
struct args_option {
	const char *name;   /* the long name, without the dashes */
	int id;		    /* getopt_long's val */
	unsigned commands;  /* ARGS_* bits: the commands that take it */
	const char *arg;    /* its value as --help shows it ("FILE", "N"); NULL: a flag.
			     * FILE and REPORT complete as file names, CMD as a command */
	const char *values; /* the whole set of values, space-separated (completion
			     * offers them); NULL: any value */
	const char *help;   /* --help's text; a '\n' starts an indented line */
};

/* One command: its words, its bit, what its operands are (as the usage line
 * names them: INPUT and REPORT complete as file names) and a one-line help. */
struct args_command {
	const char *name;
	unsigned bit;
	const char *operand;
	const char *help;
};

/* The option table and the command list, each ended by a row whose name is
 * NULL. Borrowed, static; thread-safe. */
const struct args_option *args_table(void);
const struct args_command *args_commands(void);

/* Fills o from argv (argv[1] is the subcommand) and the environment
 * (RABULK_NAMESPACE). Returns 0, or ERR_INVAL with err set to a message
 * for the user. Not thread-safe (getopt). */
int args_parse(int argc, char **argv, struct args *o, char *err, size_t errlen);
/* The usage text, in man-page syntax; its options part is made from the
 * table on the first call (not thread-safe until then). */
const char *args_usage(void);

#endif
