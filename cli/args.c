/* args.c — getopt_long over the DESIGN section 3 options.
 *
 * Every option is parsed and range-checked here, so the rest of the program
 * sees only sane values; durations take units (wrk's habit). Secrets are
 * never options: a token comes from --token-file, --token-command,
 * RABULK_ACCESS_TOKEN or the profile; a certificate password from
 * RABULK_CERT_PASSWORD or --cert-password-file. */
#include "cli/args.h"
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

static const char usage[] =
    "usage: rabulk disconnect [options] [INPUT...]\n"
    "       rabulk logoff     [options] [--yes] [INPUT...]\n"
    "       rabulk message    --text TEXT [options] [INPUT...]\n"
    "       rabulk sessions   [--state S] [--format csv|json|ndjson] [options] COLLECTION...\n"
    "       rabulk result     [options] TRACKING_ID...\n"
    "       rabulk drain      --message TEXT --grace D [--remind D,D...]\n"
    "                         [--then logoff|disconnect] [--exclude FILE] [options] COLLECTION...\n"
    "       rabulk report merge [--input FILE] REPORT...  > merged.csv\n"
    "       rabulk --help | --version\n"
    "\n"
    "INPUT is a CSV, NDJSON or plain-UPN file, or - for standard input (the default\n"
    "when standard input is not a terminal).\n"
    "\n"
    "options:\n"
    "  --profile FILE         Azure PowerShell profile (AzureProfile.json)\n"
    "                         [$RABULK_PROFILE, ~/.config/rabulk/AzureProfile.json]\n"
    "  --subscription ID|NAME subscription (by name: from the profile) [profile default]\n"
    "  --endpoint URL         service endpoint [profile, https://management.core.windows.net]\n"
    "  --namespace NS         service namespace [$RABULK_NAMESPACE or remoteapp]\n"
    "  --cert FILE            management certificate: PEM (with --key) or PKCS#12\n"
    "  --key FILE             the PEM certificate's private key [in --cert]\n"
    "  --cert-password-file FILE  password of the key or PKCS#12 [$RABULK_CERT_PASSWORD]\n"
    "  --token-file FILE      bearer token file, mode 0600, re-read when it changes\n"
    "  --token-command CMD    prints a bearer token; run again before it expires\n"
    "                         [$RABULK_ACCESS_TOKEN, the profile's AccessToken]\n"
    "  --cacert FILE          extra CA certificates (PEM)\n"
    "  --insecure             skip TLS verification (loopback endpoints only)\n"
    "  --collection NAME      collection for rows without one\n"
    "  --format FMT           csv, json, ndjson or lines [sniffed]\n"
    "  --no-dedup             send repeated (collection, UPN) pairs again\n"
    "  --keep-columns         copy the input CSV's other columns into the report\n"
    "  --dry-run              read, validate and report (status planned); send nothing\n"
    "  --concurrency N        requests in flight [64]\n"
    "  --threads N            worker threads [CPUs up to 8, one per 256 in flight]\n"
    "  --rate N[/s|/m|/h]     operation requests per second, all threads [unlimited]\n"
    "  --burst N              requests that may go at once under --rate [1]\n"
    "  --poll-rate N[/s|/m|/h] operation polls per second [4x --rate]\n"
    "  --halt-error-rate P    stop when over P of the last 100 rows failed (0.1, 10%)\n"
    "  --deadline TIME        start nothing after TIME (2026-11-24T22:00:00Z, 22:00, +30m)\n"
    "  --shard K/N            only the rows of shard K of N (stable hash of collection, UPN)\n"
    "  --shard auto [--shards N]  K from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID\n"
    "  --retries N            retries per request (row, poll, listing) [6]\n"
    "  --retry-max-time D     give up retrying a row or listing after D, and on a longer\n"
    "                         Retry-After [no limit; a Retry-After over 10m fails it]\n"
    "  --timeout D            one request's time limit [30s]\n"
    "  --no-wait              do not poll operation results (status submitted)\n"
    "  --poll-interval D      time between polls of an operation [1s]\n"
    "  --poll-timeout D       give up polling after D [5m]\n"
    "  --report FILE          report: .csv, .json or .ndjson; - for stdout\n"
    "                         [rabulk-OP-TIMESTAMP.csv, or the --resume file]\n"
    "  --resume REPORT        skip rows ok in REPORT, poll its accepted ones, send the rest\n"
    "  --ordered              write report rows in input order\n"
    "  --summary-json FILE    also write the summary as JSON\n"
    "  --emulator             run against an embedded emulator (sessions for every row)\n"
    "  --emulator-seed FILE   seed the embedded emulator from a CSV instead\n"
    "  --yes                  logoff without asking\n"
    "  --text TEXT            the message, for rabulk message\n"
    "  --text-file FILE       the message, from a file\n"
    "  --message TEXT         drain: the warning sent to connected users ({left}: time left)\n"
    "  --grace D              drain: how long users get before the action\n"
    "  --remind D,D...        drain: warn again when this much time is left (5m,1m)\n"
    "  --then OP              drain: logoff or disconnect what is left [disconnect]\n"
    "  --exclude FILE         drain: users (UPNs, or collection and UPN) to leave alone\n"
    "  --progress             progress line on stderr [on when stderr is a terminal]\n"
    "  --no-progress          no progress line\n"
    "  --quiet                no summary, progress or invalid rows on stderr\n"
    "  --verbose              credentials in use, every exchange as curl -v shows it\n"
    "                         (Authorization blanked)\n"
    "  -h, --help             this text\n"
    "  --version              print the version\n"
    "\n"
    "Durations take a unit: 250ms, 30s, 10m, 1h (plain numbers are seconds).\n"
    "exit: 0 all ok, 1 some rows failed or invalid, 2 usage error (nothing sent),\n"
    "      3 run stopped early (report complete, resumable), 4 internal error\n";

const char *args_usage(void)
{
	return usage;
}

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
static int shard(struct options *o, const char *arg, char *err, size_t n)
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

static int shard_from_env(struct options *o, char *err, size_t n)
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
static int text_file(struct options *o, const char *path, char *err, size_t n)
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
static int remind(struct options *o, const char *arg, char *err, size_t n)
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

static void defaults(struct options *o)
{
	const char *ns = getenv("RABULK_NAMESPACE");
	memset(o, 0, sizeof(*o));
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
	O_NO_PROGRESS
};

static const struct option longopts[] = {
    {"endpoint", required_argument, 0, O_ENDPOINT},
    {"subscription", required_argument, 0, O_SUBSCRIPTION},
    {"namespace", required_argument, 0, O_NAMESPACE},
    {"token-file", required_argument, 0, O_TOKEN_FILE},
    {"token-command", required_argument, 0, O_TOKEN_COMMAND},
    {"text-file", required_argument, 0, O_TEXT_FILE},
    {"message", required_argument, 0, O_MESSAGE},
    {"grace", required_argument, 0, O_GRACE},
    {"remind", required_argument, 0, O_REMIND},
    {"then", required_argument, 0, O_THEN},
    {"exclude", required_argument, 0, O_EXCLUDE},
    {"progress", no_argument, 0, O_PROGRESS},
    {"no-progress", no_argument, 0, O_NO_PROGRESS},
    {"profile", required_argument, 0, O_PROFILE},
    {"cert", required_argument, 0, O_CERT},
    {"key", required_argument, 0, O_KEY},
    {"cert-password-file", required_argument, 0, O_CERT_PASSWORD_FILE},
    {"cacert", required_argument, 0, O_CACERT},
    {"insecure", no_argument, 0, O_INSECURE},
    {"collection", required_argument, 0, O_COLLECTION},
    {"format", required_argument, 0, O_FORMAT},
    {"concurrency", required_argument, 0, O_CONCURRENCY},
    {"threads", required_argument, 0, O_THREADS},
    {"retries", required_argument, 0, O_RETRIES},
    {"retry-max-time", required_argument, 0, O_RETRY_MAX_TIME},
    {"timeout", required_argument, 0, O_TIMEOUT},
    {"no-wait", no_argument, 0, O_NO_WAIT},
    {"poll-interval", required_argument, 0, O_POLL_INTERVAL},
    {"poll-timeout", required_argument, 0, O_POLL_TIMEOUT},
    {"report", required_argument, 0, O_REPORT},
    {"emulator", no_argument, 0, O_EMULATOR},
    {"emulator-seed", required_argument, 0, O_EMULATOR_SEED},
    {"yes", no_argument, 0, O_YES},
    {"text", required_argument, 0, O_TEXT},
    {"quiet", no_argument, 0, O_QUIET},
    {"verbose", no_argument, 0, O_VERBOSE},
    {"state", required_argument, 0, O_STATE},
    {"dry-run", no_argument, 0, O_DRY_RUN},
    {"no-dedup", no_argument, 0, O_NO_DEDUP},
    {"keep-columns", no_argument, 0, O_KEEP_COLUMNS},
    {"rate", required_argument, 0, O_RATE},
    {"burst", required_argument, 0, O_BURST},
    {"poll-rate", required_argument, 0, O_POLL_RATE},
    {"halt-error-rate", required_argument, 0, O_HALT},
    {"deadline", required_argument, 0, O_DEADLINE},
    {"resume", required_argument, 0, O_RESUME},
    {"ordered", no_argument, 0, O_ORDERED},
    {"summary-json", required_argument, 0, O_SUMMARY_JSON},
    {"shard", required_argument, 0, O_SHARD},
    {"shards", required_argument, 0, O_SHARDS},
    {"input", required_argument, 0, O_INPUT},
    {"help", no_argument, 0, 'h'},
    {"version", no_argument, 0, O_VERSION},
    {0, 0, 0, 0}};

static int option(struct options *o, int c, const char *arg, char *err, size_t n)
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
	case O_TOKEN_FILE:
		o->token_file = arg;
		return 0;
	case O_TOKEN_COMMAND:
		o->token_command = arg;
		return 0;
	case O_TEXT_FILE:
		return text_file(o, arg, err, n);
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
	case O_THEN:
		if (service_op_parse(arg, &o->then) == 0 && o->then != SERVICE_MESSAGE)
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

static int check(struct options *o, char *err, size_t n)
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
	if (o->drain && (!o->text || !*o->text || o->grace_ms <= 0 || o->ninputs == 0)) {
		snprintf(err, n, "rabulk drain needs --message TEXT, --grace D and a COLLECTION");
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

int args_parse(int argc, char **argv, struct options *o, char *err, size_t n)
{
	int c;
	defaults(o);
	if (argc < 2 || argv[1][0] == '-') {
		o->help =
		    argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
		o->version = argc >= 2 && strcmp(argv[1], "--version") == 0;
		if (o->help || o->version)
			return 0;
		snprintf(err, n, "no command: want disconnect, logoff or message");
		return ERR_INVAL;
	}
	o->command = argv[1];
	o->list = strcmp(o->command, "sessions") == 0;
	o->result = strcmp(o->command, "result") == 0;
	o->drain = strcmp(o->command, "drain") == 0;
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
	    service_op_parse(o->command, &o->op) < 0) {
		snprintf(err, n,
			 "unknown command '%s': want disconnect, logoff, message, sessions, "
			 "result or drain",
			 o->command);
		return ERR_INVAL;
	}
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
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
