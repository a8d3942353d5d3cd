/* args.c — getopt_long over the DESIGN section 3 options.
 *
 * The options are one table (`table` below): getopt_long's list is made from
 * it, and so are the options part of --help and, through complete.c, the
 * bash and zsh completion scripts. Each row says which commands take the
 * option, how --help names its value and, for a value from a fixed set, the
 * set. The table does not restrict what getopt accepts (every command parses
 * every option, as before); it tells completion what fits where.
 *
 * Every option is parsed and range-checked here, so the rest of the program
 * sees only sane values; durations take units (wrk's habit). Secrets are
 * never options: a token comes from --token-file, --token-command,
 * RABULK_ACCESS_TOKEN or the profile; a certificate password from
 * RABULK_CERT_PASSWORD or --cert-password-file. */
#include "cli/args.h"
#include "engine/credential.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/units.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_head[] =
    "usage: rabulk disconnect [options] [INPUT...]\n"
    "       rabulk logoff     [options] [--yes] [INPUT...]\n"
    "       rabulk message    --text TEXT [options] [INPUT...]\n"
    "       rabulk sessions   [--state S] [--format csv|json|ndjson] [options] COLLECTION...\n"
    "       rabulk result     [options] TRACKING_ID...\n"
    "       rabulk drain      --message TEXT --grace D [--remind D,D...]\n"
    "                         [--then logoff|disconnect] [--exclude FILE] [options] COLLECTION...\n"
    "       rabulk undrain    --service avd [--input DRAIN_REPORT] [options] HOSTPOOL...\n"
    "       rabulk report merge [--input FILE] REPORT...  > merged.csv\n"
    "       rabulk --help | --version | --completion bash|zsh\n"
    "\n"
    "INPUT is a CSV, NDJSON or plain-UPN file, or - for standard input (the default\n"
    "when standard input is not a terminal).\n"
    "\n"
    "options:\n";

static const char usage_tail[] =
    "\n"
    "Durations take a unit: 250ms, 30s, 10m, 1h (plain numbers are seconds).\n"
    "exit: 0 all ok, 1 some rows failed or invalid, 2 usage error (nothing sent),\n"
    "      3 run stopped early (report complete, resumable), 4 internal error\n";

static int whole(const char *opt, const char *s, int lo, int hi, int *out, char *err, size_t n)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end || v < lo || v > hi) {
		snprintf(err, n, "bad %s '%s': want a whole number from %d to %d", opt, s, lo, hi);
		return ERR_INVAL;
	}
	*out = (int)v;
	return 0;
}

static int duration(const char *opt, const char *s, long *out, char *err, size_t n)
{
	if (units_duration(s, out) == 0)
		return 0;
	snprintf(err, n, "bad %s '%s': want a duration such as 500ms, 30s or 5m", opt, s);
	return ERR_INVAL;
}

static int rate(const char *opt, const char *s, double *out, char *err, size_t n)
{
	if (units_rate(s, out) == 0)
		return 0;
	snprintf(err, n, "bad %s '%s': want a rate such as 200/s, 600/m or 1000/h", opt, s);
	return ERR_INVAL;
}

/* "0.1" or "10%" */
static int fraction(const char *s, double *out, char *err, size_t n)
{
	char *end;
	double v = strtod(s, &end);
	if (end != s && strcmp(end, "%") == 0)
		v /= 100, end++;
	if (end == s || *end || v < 0 || v > 1) {
		snprintf(err, n, "bad --halt-error-rate '%s': want a fraction such as 0.1 or 10%%",
			 s);
		return ERR_INVAL;
	}
	*out = v;
	return 0;
}

/* "K/N" (1-based), or "auto": Kubernetes Indexed Jobs (JOB_COMPLETION_INDEX,
 * 0-based, with --shards N) or Slurm arrays (SLURM_ARRAY_TASK_ID from
 * SLURM_ARRAY_TASK_MIN, and SLURM_ARRAY_TASK_COUNT or --shards). */
static int shard(struct args *o, const char *arg, char *err, size_t n)
{
	int k, total;
	char extra;
	if (strcmp(arg, "auto") == 0) {
		o->shard_auto = true;
		return 0;
	}
	if (sscanf(arg, "%d/%d%c", &k, &total, &extra) != 2 || total < 1 || k < 1 || k > total) {
		snprintf(err, n, "bad --shard '%s': want K/N with 1 <= K <= N, or auto", arg);
		return ERR_INVAL;
	}
	o->shard_k = k, o->shard_n = total;
	return 0;
}

static long env_number(const char *name, long fallback)
{
	const char *v = getenv(name);
	char *end;
	long x = v && *v ? strtol(v, &end, 10) : fallback;
	return v && *v && *end ? -1 : x;
}

static int shard_from_env(struct args *o, char *err, size_t n)
{
	long idx = env_number("JOB_COMPLETION_INDEX", -1), total = o->shard_n_opt;
	if (idx >= 0) {
		o->shard_k = (int)idx + 1;
	} else if ((idx = env_number("SLURM_ARRAY_TASK_ID", -1)) >= 0) {
		o->shard_k = (int)(idx - env_number("SLURM_ARRAY_TASK_MIN", 0)) + 1;
		if (!total)
			total = (int)env_number("SLURM_ARRAY_TASK_COUNT", 0);
	} else {
		snprintf(err, n,
			 "--shard auto: neither JOB_COMPLETION_INDEX nor "
			 "SLURM_ARRAY_TASK_ID is set");
		return ERR_INVAL;
	}
	if (total < 1 || o->shard_k < 1 || o->shard_k > total) {
		snprintf(err, n, "--shard auto: index %d of %ld shards (give --shards N)",
			 o->shard_k, total);
		return ERR_INVAL;
	}
	o->shard_n = (int)total;
	return 0;
}

/* --text-file: the whole file (a trailing newline dropped) is the message. */
static int text_file(struct args *o, const char *path, char *err, size_t n)
{
	static char text[ARGS_TEXT_MAX + 1];
	FILE *f = fopen(path, "r");
	size_t len = f ? fread(text, 1, sizeof(text), f) : 0;
	if (!f || len > ARGS_TEXT_MAX) {
		snprintf(err, n, "--text-file '%s': %s", path,
			 f ? "longer than 4096 bytes" : strerror(errno));
		if (f)
			fclose(f);
		return ERR_INVAL;
	}
	fclose(f);
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	text[len] = '\0';
	o->text = text;
	return 0;
}

/* --remind 5m,1m: times left at which connected users are warned again. */
static int remind(struct args *o, const char *arg, char *err, size_t n)
{
	char buf[256], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", arg);
	o->nremind = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		long ms;
		if (o->nremind == 8 || units_duration(t, &ms) < 0 || ms <= 0) {
			snprintf(err, n, "bad --remind '%s': want up to 8 durations, such as 5m,1m",
				 arg);
			return ERR_INVAL;
		}
		o->remind_ms[o->nremind++] = ms;
	}
	for (int i = 1; i < o->nremind; i++) /* longest first */
		for (int j = i; j > 0 && o->remind_ms[j] > o->remind_ms[j - 1]; j--) {
			long t = o->remind_ms[j];
			o->remind_ms[j] = o->remind_ms[j - 1], o->remind_ms[j - 1] = t;
		}
	return 0;
}

static void defaults(struct args *o)
{
	const char *ns = getenv("RABULK_NAMESPACE"), *svc = getenv("RABULK_SERVICE");
	memset(o, 0, sizeof(*o));
	o->avd = svc && strcmp(svc, "avd") == 0;
	o->quota_reserve = QUOTA_RESERVE_DEFAULT;
	o->ns = ns && *ns ? ns : "remoteapp";
	o->concurrency = 64;
	o->retries = 6;
	o->timeout_ms = 30000;
	o->poll_interval_ms = 1000;
	o->poll_timeout_ms = 300000;
	o->burst = 1;
	o->halt_error_rate = 2; /* off */
	o->then = SERVICE_DISCONNECT;
	o->progress = -1;
}

enum {
	O_ENDPOINT = 256,
	O_SUBSCRIPTION,
	O_NAMESPACE,
	O_TOKEN_FILE,
	O_CACERT,
	O_INSECURE,
	O_COLLECTION,
	O_FORMAT,
	O_CONCURRENCY,
	O_THREADS,
	O_RETRIES,
	O_RETRY_MAX_TIME,
	O_TIMEOUT,
	O_NO_WAIT,
	O_POLL_INTERVAL,
	O_POLL_TIMEOUT,
	O_REPORT,
	O_EMULATOR,
	O_EMULATOR_SEED,
	O_YES,
	O_TEXT,
	O_QUIET,
	O_VERBOSE,
	O_VERSION,
	O_STATE,
	O_DRY_RUN,
	O_NO_DEDUP,
	O_KEEP_COLUMNS,
	O_RATE,
	O_BURST,
	O_POLL_RATE,
	O_HALT,
	O_DEADLINE,
	O_RESUME,
	O_ORDERED,
	O_SUMMARY_JSON,
	O_SHARD,
	O_SHARDS,
	O_INPUT,
	O_PROFILE,
	O_CERT,
	O_KEY,
	O_CERT_PASSWORD_FILE,
	O_TOKEN_COMMAND,
	O_TEXT_FILE,
	O_MESSAGE,
	O_GRACE,
	O_REMIND,
	O_THEN,
	O_EXCLUDE,
	O_PROGRESS,
	O_NO_PROGRESS,
	O_METRICS_FILE,
	O_CREDENTIAL,
	O_CLOUD,
	O_COMPLETION,
	O_SERVICE,
	O_UNDRAIN,
	O_QUOTA_RESERVE,
	O_RESOURCE_GROUP,
	O_TITLE,
};

static const struct args_command commands[] = {
    {"disconnect", ARGS_DISCONNECT, "INPUT", "disconnect the sessions of the users listed"},
    {"logoff", ARGS_LOGOFF, "INPUT", "log the users listed off (unsaved work is lost)"},
    {"message", ARGS_MESSAGE, "INPUT", "send a message to the users listed"},
    {"sessions", ARGS_SESSIONS, "COLLECTION", "list the sessions of collections"},
    {"result", ARGS_RESULT, "TRACKING_ID", "the status of operations"},
    {"drain", ARGS_DRAIN, "COLLECTION", "warn, wait, then disconnect or log off"},
    {"undrain", ARGS_DRAIN, "HOSTPOOL", "avd: open drained session hosts again"},
    {"report merge", ARGS_MERGE, "REPORT", "merge shard reports into one"},
    {NULL, 0, NULL, NULL}};

/* In --help's order. Adding an option: a row here (and in man/rabulk.1,
 * which a test checks), a case in option(). */
static const struct args_option table[] = {
    {"profile", O_PROFILE, ARGS_CALL, "FILE", NULL,
     "Azure PowerShell profile (AzureProfile.json)\n"
     "[$RABULK_PROFILE, ~/.config/rabulk/AzureProfile.json]"},
    {"service", O_SERVICE, ARGS_CALL, "NAME", "remoteapp avd",
     "remoteapp or avd (Azure Virtual Desktop) [$RABULK_SERVICE or remoteapp]"},
    {"quota-reserve", O_QUOTA_RESERVE, ARGS_RUN, "N|N%|off", NULL,
     "of the quota the service says is left, keep this much\n"
     "for others (avd) [10% of the most seen; off: do not pace]"},
    {"resource-group", O_RESOURCE_GROUP, ARGS_CALL, "RG", NULL,
     "avd: resource group of host pools named without one"},
    {"subscription", O_SUBSCRIPTION, ARGS_CALL, "ID|NAME", NULL,
     "subscription (by name: from the profile) [profile default]"},
    {"endpoint", O_ENDPOINT, ARGS_CALL, "URL", NULL,
     "service endpoint [profile, https://management.core.windows.net]"},
    {"namespace", O_NAMESPACE, ARGS_CALL, "NS", NULL,
     "service namespace [$RABULK_NAMESPACE or remoteapp]"},
    {"cert", O_CERT, ARGS_CALL, "FILE", NULL,
     "management certificate: PEM (with --key) or PKCS#12"},
    {"key", O_KEY, ARGS_CALL, "FILE", NULL, "the PEM certificate's private key [in --cert]"},
    {"cert-password-file", O_CERT_PASSWORD_FILE, ARGS_CALL, "FILE", NULL,
     "password of the key or PKCS#12 [$RABULK_CERT_PASSWORD]"},
    {"token-file", O_TOKEN_FILE, ARGS_CALL, "FILE", NULL,
     "bearer token file, mode 0600, re-read when it changes"},
    {"token-command", O_TOKEN_COMMAND, ARGS_CALL, "CMD", NULL,
     "prints a bearer token; run again before it expires\n"
     "[$RABULK_ACCESS_TOKEN, the profile's AccessToken]"},
    {"credential", O_CREDENTIAL, ARGS_CALL, "NAME",
     "env workload managed-identity azure-cli token-file token-command auto",
     "the one token source to use: env (AZURE_CLIENT_SECRET or\n"
     "AZURE_CLIENT_CERTIFICATE_PATH), workload, managed-identity,\n"
     "azure-cli, token-file, token-command; auto: the chain\n"
     "[the first found, in that order after the token options]"},
    {"cloud", O_CLOUD, ARGS_CALL, "NAME", "AzureCloud AzureUSGovernment AzureChinaCloud",
     "Entra ID authority and endpoints: AzureCloud,\n"
     "AzureUSGovernment or AzureChinaCloud [AzureCloud]"},
    {"cacert", O_CACERT, ARGS_CALL, "FILE", NULL, "extra CA certificates (PEM)"},
    {"insecure", O_INSECURE, ARGS_CALL, NULL, NULL,
     "skip TLS verification (loopback endpoints only)"},
    {"collection", O_COLLECTION, ARGS_SEND | ARGS_MERGE, "NAME", NULL,
     "collection for rows without one"},
    {"format", O_FORMAT, ARGS_SEND | ARGS_DRAIN | ARGS_MERGE, "FMT", "csv json ndjson lines",
     "csv, json, ndjson or lines [sniffed]\n"
     "sessions: the output's, csv, json or ndjson [csv]"},
    {"format", O_FORMAT, ARGS_SESSIONS, "FMT", "csv json ndjson", NULL},
    {"no-dedup", O_NO_DEDUP, ARGS_SEND, NULL, NULL, "send repeated (collection, UPN) pairs again"},
    {"keep-columns", O_KEEP_COLUMNS, ARGS_SEND, NULL, NULL,
     "copy the input CSV's other columns into the report"},
    {"dry-run", O_DRY_RUN, ARGS_CALL, NULL, NULL,
     "read, validate and report (status planned); send nothing"},
    {"concurrency", O_CONCURRENCY, ARGS_RUN, "N", NULL, "requests in flight [64]"},
    {"threads", O_THREADS, ARGS_RUN, "N", NULL,
     "worker threads [CPUs up to 8, one per 256 in flight]"},
    {"rate", O_RATE, ARGS_RUN, "N[/s|/m|/h]", NULL,
     "operation requests per second, all threads [unlimited]"},
    {"burst", O_BURST, ARGS_RUN, "N", NULL, "requests that may go at once under --rate [1]"},
    {"poll-rate", O_POLL_RATE, ARGS_RUN, "N[/s|/m|/h]", NULL,
     "operation polls per second [4x --rate]"},
    {"halt-error-rate", O_HALT, ARGS_RUN, "P", NULL,
     "stop when over P of the last 100 rows failed (0.1, 10%)"},
    {"deadline", O_DEADLINE, ARGS_RUN, "TIME", NULL,
     "start nothing after TIME (2026-11-24T22:00:00Z, 22:00, +30m)"},
    {"shard", O_SHARD, ARGS_SEND, "K/N", NULL,
     "only the rows of shard K of N (stable hash of collection, UPN);\n"
     "auto: K from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID"},
    {"shards", O_SHARDS, ARGS_SEND, "N", NULL,
     "with --shard auto: how many [SLURM_ARRAY_TASK_COUNT]"},
    {"retries", O_RETRIES, ARGS_CALL, "N", NULL, "retries per request (row, poll, listing) [6]"},
    {"retry-max-time", O_RETRY_MAX_TIME, ARGS_CALL, "D", NULL,
     "give up retrying a row or listing after D, and on a longer\n"
     "Retry-After [no limit; a Retry-After over 10m fails it]"},
    {"timeout", O_TIMEOUT, ARGS_CALL, "D", NULL, "one request's time limit [30s]"},
    {"no-wait", O_NO_WAIT, ARGS_RUN, NULL, NULL,
     "do not poll operation results (status submitted)"},
    {"poll-interval", O_POLL_INTERVAL, ARGS_RUN, "D", NULL,
     "time between polls of an operation [1s]"},
    {"poll-timeout", O_POLL_TIMEOUT, ARGS_RUN, "D", NULL, "give up polling after D [5m]"},
    {"report", O_REPORT, ARGS_RUN, "FILE", NULL,
     "report: .csv, .json or .ndjson; - for stdout\n"
     "[rabulk-OP-TIMESTAMP.csv, or the --resume file]"},
    {"resume", O_RESUME, ARGS_SEND, "REPORT", NULL,
     "skip rows ok in REPORT, poll its accepted ones, send the rest"},
    {"ordered", O_ORDERED, ARGS_RUN, NULL, NULL, "write report rows in input order"},
    {"summary-json", O_SUMMARY_JSON, ARGS_RUN, "FILE", NULL, "also write the summary as JSON"},
    {"metrics-file", O_METRICS_FILE, ARGS_RUN, "FILE", NULL,
     "at the end, the run's figures for Prometheus (node exporter's\n"
     "textfile collector), replaced atomically"},
    {"input", O_INPUT, ARGS_MERGE | ARGS_DRAIN, "FILE", NULL,
     "report merge: the input, whose every pair a report must have;\n"
     "undrain: the drain's report (each host gets its old value back)"},
    {"undrain", O_UNDRAIN, ARGS_DRAIN, NULL, NULL, "drain --undrain: as rabulk undrain"},
    {"emulator", O_EMULATOR, ARGS_CALL, NULL, NULL,
     "run against an embedded emulator (sessions for every row)"},
    {"emulator-seed", O_EMULATOR_SEED, ARGS_CALL, "FILE", NULL,
     "seed the embedded emulator from a CSV instead"},
    {"yes", O_YES, ARGS_LOGOFF | ARGS_DRAIN, NULL, NULL, "logoff without asking"},
    {"text", O_TEXT, ARGS_MESSAGE, "TEXT", NULL, "the message, for rabulk message"},
    {"text-file", O_TEXT_FILE, ARGS_MESSAGE, "FILE", NULL, "the message, from a file"},
    {"title", O_TITLE, ARGS_MESSAGE, "TEXT", NULL, "avd: the message's title [none]"},
    {"state", O_STATE, ARGS_SESSIONS, "S", "Connected Active Disconnected",
     "sessions: only those in state S (Connected also matches Active)"},
    {"message", O_MESSAGE, ARGS_DRAIN, "TEXT", NULL,
     "drain: the warning sent to connected users ({left}: time left)"},
    {"grace", O_GRACE, ARGS_DRAIN, "D", NULL, "drain: how long users get before the action"},
    {"remind", O_REMIND, ARGS_DRAIN, "D,D...", NULL,
     "drain: warn again when this much time is left (5m,1m)"},
    {"then", O_THEN, ARGS_DRAIN, "OP", "disconnect logoff",
     "drain: logoff or disconnect what is left [disconnect]"},
    {"exclude", O_EXCLUDE, ARGS_DRAIN, "FILE", NULL,
     "drain: users (UPNs, or collection and UPN) to leave alone"},
    {"progress", O_PROGRESS, ARGS_RUN, NULL, NULL,
     "progress line on stderr [on when stderr is a terminal]"},
    {"no-progress", O_NO_PROGRESS, ARGS_RUN, NULL, NULL, "no progress line"},
    {"quiet", O_QUIET, ARGS_RUN, NULL, NULL, "no summary, progress or invalid rows on stderr"},
    {"verbose", O_VERBOSE, ARGS_CALL, NULL, NULL,
     "credentials in use, every exchange as curl -v shows it\n"
     "(Authorization blanked)"},
    {"help", 'h', ARGS_ALL | ARGS_TOP, NULL, NULL, "this text"},
    {"version", O_VERSION, ARGS_TOP, NULL, NULL, "print the version"},
    {"completion", O_COMPLETION, ARGS_TOP, "SHELL", "bash zsh",
     "print the completion script for bash or zsh"},
    {NULL, 0, 0, NULL, NULL, NULL}};

#define NOPTIONS (sizeof(table) / sizeof(table[0]))

const struct args_option *args_table(void)
{
	return table;
}

const struct args_command *args_commands(void)
{
	return commands;
}

/* getopt_long's list: a row per name, from the table. */
static const struct option *longopts(void)
{
	static struct option list[NOPTIONS];
	size_t n = 0;
	if (list[0].name)
		return list;
	for (const struct args_option *t = table; t->name; t++) {
		bool seen = false;
		for (size_t i = 0; i < n && !seen; i++)
			seen = strcmp(list[i].name, t->name) == 0;
		if (!seen)
			list[n++] = (struct option){
			    t->name, t->arg ? required_argument : no_argument, NULL, t->id};
	}
	return list;
}

#define HELP_COLUMN 25 /* where the text of an option's help starts */

static void append(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
	if (*len + n >= cap) /* cannot happen: the text is a fixed size, well under cap */
		n = cap - 1 - *len;
	memcpy(buf + *len, s, n);
	*len += n;
	buf[*len] = '\0';
}

const char *args_usage(void)
{
	static char text[16384];
	static const char indent[HELP_COLUMN + 1] = "                         ";
	size_t len = 0;
	if (text[0])
		return text;
	append(text, sizeof(text), &len, usage_head, strlen(usage_head));
	for (const struct args_option *t = table; t->name; t++) {
		char opt[128];
		if (!t->help)
			continue; /* a second row of an option already shown */
		int w = snprintf(opt, sizeof(opt), "  %s--%s%s%s", t->id == 'h' ? "-h, " : "",
				 t->name, t->arg ? " " : "", t->arg ? t->arg : "");
		append(text, sizeof(text), &len, opt, strlen(opt));
		append(text, sizeof(text), &len, indent, w < HELP_COLUMN ? HELP_COLUMN - w : 1);
		for (const char *h = t->help, *nl; *h; h = nl + 1) {
			nl = strchr(h, '\n');
			append(text, sizeof(text), &len, h, nl ? (size_t)(nl - h + 1) : strlen(h));
			if (!nl)
				break;
			append(text, sizeof(text), &len, indent, HELP_COLUMN);
		}
		append(text, sizeof(text), &len, "\n", 1);
	}
	append(text, sizeof(text), &len, usage_tail, strlen(usage_tail));
	return text;
}

static int option(struct args *o, int c, const char *arg, char *err, size_t n)
{
	switch (c) {
	case O_ENDPOINT:
		o->endpoint = arg;
		return 0;
	case O_SUBSCRIPTION:
		o->subscription = arg;
		return 0;
	case O_NAMESPACE:
		o->ns = arg;
		return 0;
	case O_SERVICE:
		if (strcmp(arg, "avd") != 0 && strcmp(arg, "remoteapp") != 0) {
			snprintf(err, n, "bad --service '%s': want remoteapp or avd", arg);
			return ERR_INVAL;
		}
		o->avd = strcmp(arg, "avd") == 0;
		return 0;
	case O_RESOURCE_GROUP:
		o->resource_group = arg;
		return 0;
	case O_TITLE:
		o->title = arg;
		return 0;
	case O_TOKEN_FILE:
		o->token_file = arg;
		return 0;
	case O_TOKEN_COMMAND:
		o->token_command = arg;
		return 0;
	case O_TEXT_FILE:
		return text_file(o, arg, err, n);
	case O_CREDENTIAL: {
		enum credential_kind k;
		if (strcmp(arg, "token-file") == 0 || strcmp(arg, "token-command") == 0 ||
		    credential_pick_parse(arg, &k) == 0) {
			o->credential = arg;
			return 0;
		}
		snprintf(err, n,
			 "bad --credential '%s': want env, workload, managed-identity, azure-cli, "
			 "token-file, token-command or auto",
			 arg);
		return ERR_INVAL;
	}
	case O_CLOUD:
		if (credential_cloud_find(arg)) {
			o->cloud = arg;
			return 0;
		}
		snprintf(err, n,
			 "bad --cloud '%s': want AzureCloud, AzureUSGovernment or AzureChinaCloud",
			 arg);
		return ERR_INVAL;
	case O_MESSAGE:
		o->text = arg;
		return 0;
	case O_GRACE:
		return duration("--grace", arg, &o->grace_ms, err, n);
	case O_REMIND:
		return remind(o, arg, err, n);
	case O_EXCLUDE:
		o->exclude = arg;
		return 0;
	case O_PROGRESS:
		o->progress = 1;
		return 0;
	case O_NO_PROGRESS:
		o->progress = 0;
		return 0;
	case O_QUOTA_RESERVE:
		if (strcmp(arg, "off") == 0) {
			o->no_quota = true;
			return 0;
		}
		if (quota_parse_reserve(arg, &o->quota_reserve) == 0)
			return 0;
		snprintf(err, n, "bad --quota-reserve '%s': want a count, a percentage or off",
			 arg);
		return ERR_INVAL;
	case O_UNDRAIN:
		o->undrain = true;
		return 0;
	case O_THEN:
		o->then_given = true;
		if (service_op_parse(arg, &o->then) == 0 &&
		    (o->then == SERVICE_LOGOFF || o->then == SERVICE_DISCONNECT))
			return 0;
		snprintf(err, n, "bad --then '%s': want logoff or disconnect", arg);
		return ERR_INVAL;
	case O_PROFILE:
		o->profile = arg;
		return 0;
	case O_CERT:
		o->cert = arg;
		return 0;
	case O_KEY:
		o->key = arg;
		return 0;
	case O_CERT_PASSWORD_FILE:
		o->cert_password_file = arg;
		return 0;
	case O_CACERT:
		o->cacert = arg;
		return 0;
	case O_INSECURE:
		o->insecure = true;
		return 0;
	case O_COLLECTION:
		o->input.collection = arg;
		return 0;
	case O_FORMAT:
		if (o->list &&
		    (!strcmp(arg, "csv") || !strcmp(arg, "json") || !strcmp(arg, "ndjson"))) {
			o->out_format = arg;
			return 0;
		}
		if (!o->list && input_format_parse(arg, &o->input.format) == 0)
			return 0;
		snprintf(err, n, "bad --format '%s': want %s", arg,
			 o->list ? "csv, json or ndjson" : "csv, json, ndjson or lines");
		return ERR_INVAL;
	case O_CONCURRENCY:
		return whole("--concurrency", arg, 1, 65536, &o->concurrency, err, n);
	case O_THREADS:
		return whole("--threads", arg, 1, 64, &o->threads, err, n);
	case O_RETRIES:
		return whole("--retries", arg, 0, 100, &o->retries, err, n);
	case O_RETRY_MAX_TIME:
		return duration("--retry-max-time", arg, &o->retry_max_time_ms, err, n);
	case O_TIMEOUT:
		return duration("--timeout", arg, &o->timeout_ms, err, n);
	case O_NO_WAIT:
		o->no_wait = true;
		return 0;
	case O_POLL_INTERVAL:
		return duration("--poll-interval", arg, &o->poll_interval_ms, err, n);
	case O_POLL_TIMEOUT:
		return duration("--poll-timeout", arg, &o->poll_timeout_ms, err, n);
	case O_REPORT:
		o->report = arg;
		return 0;
	case O_EMULATOR:
		o->emulator = true;
		return 0;
	case O_EMULATOR_SEED:
		o->emulator = true, o->emulator_seed = arg;
		return 0;
	case O_YES:
		o->yes = true;
		return 0;
	case O_TEXT:
		o->text = arg;
		return 0;
	case O_QUIET:
		o->quiet = true;
		return 0;
	case O_VERBOSE:
		o->verbose = true;
		return 0;
	case O_VERSION:
		o->version = true;
		return 0;
	case O_STATE:
		o->state = arg;
		return 0;
	case O_DRY_RUN:
		o->dry_run = true;
		return 0;
	case O_NO_DEDUP:
		o->no_dedup = true;
		return 0;
	case O_KEEP_COLUMNS:
		o->input.keep_columns = true;
		return 0;
	case O_RESUME:
		o->resume = arg;
		return 0;
	case O_SHARD:
		return shard(o, arg, err, n);
	case O_SHARDS:
		return whole("--shards", arg, 1, 100000, &o->shard_n_opt, err, n);
	case O_INPUT:
		o->merge_input = arg;
		return 0;
	case O_ORDERED:
		o->ordered = true;
		return 0;
	case O_SUMMARY_JSON:
		o->summary_json = arg;
		return 0;
	case O_METRICS_FILE:
		o->metrics_file = arg;
		return 0;
	case O_COMPLETION:
		if (strcmp(arg, "bash") == 0 || strcmp(arg, "zsh") == 0) {
			o->completion = arg;
			return 0;
		}
		snprintf(err, n, "bad --completion '%s': want bash or zsh", arg);
		return ERR_INVAL;
	case O_RATE:
		return rate("--rate", arg, &o->rate, err, n);
	case O_POLL_RATE:
		return rate("--poll-rate", arg, &o->poll_rate, err, n);
	case O_BURST: {
		int b;
		if (whole("--burst", arg, 1, 1000000, &b, err, n) < 0)
			return ERR_INVAL;
		o->burst = b;
		return 0;
	}
	case O_HALT:
		return fraction(arg, &o->halt_error_rate, err, n);
	case O_DEADLINE:
		if (units_deadline(arg, clock_wall_ms(), &o->deadline_ms) == 0)
			return 0;
		snprintf(err, n, "bad --deadline '%s': want 2026-11-24T22:00:00Z, 22:00 or +30m",
			 arg);
		return ERR_INVAL;
	case 'h':
		o->help = true;
		return 0;
	}
	snprintf(err, n, "unknown option (see rabulk --help)");
	return ERR_INVAL;
}

static int check(struct args *o, char *err, size_t n)
{
	if (o->timeout_ms < 1) {
		snprintf(err, n, "bad --timeout: must be more than 0");
		return ERR_INVAL;
	}
	if (o->rate > 0 && o->poll_rate == 0)
		o->poll_rate = 4 * o->rate;
	if (o->op == SERVICE_MESSAGE && !o->drain && (!o->text || !*o->text)) {
		snprintf(err, n, "rabulk message needs --text TEXT or --text-file FILE");
		return ERR_INVAL;
	}
	if (o->undrain && (!o->avd || o->ninputs == 0)) {
		snprintf(err, n, "rabulk undrain is for --service avd, and needs a HOSTPOOL");
		return ERR_INVAL;
	}
	if (o->drain && o->avd && !o->then_given)
		o->then = SERVICE_LOGOFF; /* what AVD admins do before maintenance */
	if (o->drain && !o->undrain &&
	    (!o->text || !*o->text || o->grace_ms <= 0 || o->ninputs == 0)) {
		snprintf(err, n, "rabulk drain needs --message TEXT, --grace D and a COLLECTION");
		return ERR_INVAL;
	}
	o->input.avd = o->avd;
	if (o->avd && o->result) {
		snprintf(err, n,
			 "rabulk result is not for --service avd: its operations are "
			 "synchronous, the report already says how each ended");
		return ERR_INVAL;
	}
	if (!o->avd && (o->resource_group || o->title)) {
		snprintf(err, n, "--resource-group and --title are for --service avd");
		return ERR_INVAL;
	}
	if (o->result && o->ninputs == 0) {
		snprintf(err, n, "rabulk result needs at least one TRACKING_ID");
		return ERR_INVAL;
	}
	if (!o->drain && (o->exclude || o->grace_ms || o->nremind)) {
		snprintf(err, n, "--exclude, --grace and --remind are for rabulk drain");
		return ERR_INVAL;
	}
	if (o->shard_auto && shard_from_env(o, err, n) < 0)
		return ERR_INVAL;
	if (o->merge && o->ninputs == 0) {
		snprintf(err, n, "rabulk report merge needs at least one REPORT");
		return ERR_INVAL;
	}
	if (o->list && o->ninputs == 0) {
		snprintf(err, n, "rabulk sessions needs at least one COLLECTION");
		return ERR_INVAL;
	}
	if (!o->list && o->state) {
		snprintf(err, n, "--state is only for rabulk sessions");
		return ERR_INVAL;
	}
	if (o->token_file && o->token_command) {
		snprintf(err, n, "--token-file and --token-command: give one");
		return ERR_INVAL;
	}
	if (o->credential && ((!strcmp(o->credential, "token-file") && !o->token_file) ||
			      (!strcmp(o->credential, "token-command") && !o->token_command))) {
		snprintf(err, n, "--credential %s needs --%s", o->credential, o->credential);
		return ERR_INVAL;
	}
	if (o->credential && strncmp(o->credential, "token-", 6) != 0 &&
	    (o->token_file || o->token_command)) {
		snprintf(err, n, "--credential %s: drop --token-file and --token-command",
			 o->credential);
		return ERR_INVAL;
	}
	if ((o->key || o->cert_password_file) && !o->cert) {
		snprintf(err, n, "%s needs --cert", o->key ? "--key" : "--cert-password-file");
		return ERR_INVAL;
	}
	if (o->op != SERVICE_MESSAGE && !o->drain && o->text) {
		snprintf(err, n, "--text is only for rabulk message (--message for drain)");
		return ERR_INVAL;
	}
	return 0;
}

/* rabulk --help, --version or --completion SHELL: the options of no command. */
static int no_command(int argc, char **argv, struct args *o, char *err, size_t n)
{
	int c;
	optind = 1;
	opterr = 0;
	while (argc >= 2 && (c = getopt_long(argc, argv, "h", longopts(), NULL)) != -1) {
		bool top = false;
		for (const struct args_option *t = table; t->name && !top; t++)
			top = t->id == c && (t->commands & ARGS_TOP);
		if (c == '?' && optopt == O_COMPLETION) {
			snprintf(err, n, "--completion needs a shell: bash or zsh");
			return ERR_INVAL;
		}
		if (!top)
			break;
		if (option(o, c, optarg, err, n) < 0)
			return ERR_INVAL;
	}
	if (o->help || o->version || o->completion)
		return 0;
	snprintf(err, n, "no command: want disconnect, logoff or message");
	return ERR_INVAL;
}

int args_parse(int argc, char **argv, struct args *o, char *err, size_t n)
{
	int c;
	defaults(o);
	if (argc < 2 || argv[1][0] == '-')
		return no_command(argc, argv, o, err, n);
	o->command = argv[1];
	o->list = strcmp(o->command, "sessions") == 0;
	o->result = strcmp(o->command, "result") == 0;
	o->undrain = strcmp(o->command, "undrain") == 0;
	o->drain = strcmp(o->command, "drain") == 0 || o->undrain;
	if (o->drain)
		o->op = SERVICE_MESSAGE;
	if (strcmp(o->command, "report") == 0) {
		if (argc < 3 || strcmp(argv[2], "merge") != 0) {
			snprintf(err, n, "rabulk report: want 'rabulk report merge REPORT...'");
			return ERR_INVAL;
		}
		o->merge = true;
		argv++, argc--; /* "merge" becomes the command word */
	}
	o->out_format = "csv";
	if (!o->list && !o->merge && !o->result && !o->drain &&
	    (service_op_parse(o->command, &o->op) < 0 || o->op > SERVICE_MESSAGE)) {
		snprintf(err, n,
			 "unknown command '%s': want disconnect, logoff, message, sessions, "
			 "result or drain",
			 o->command);
		return ERR_INVAL;
	}
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts(), NULL)) != -1) {
		if (c == '?') {
			snprintf(err, n, "unknown or incomplete option '%s' (see rabulk --help)",
				 argv[optind - 1]);
			return ERR_INVAL;
		}
		if (option(o, c, optarg, err, n) < 0)
			return ERR_INVAL;
	}
	for (; optind < argc; optind++) {
		if (o->ninputs == ARGS_MAX_INPUTS) {
			snprintf(err, n, "too many inputs (at most %d)", ARGS_MAX_INPUTS);
			return ERR_INVAL;
		}
		o->inputs[o->ninputs++] = argv[optind];
	}
	return check(o, err, n);
}
