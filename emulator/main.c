/* main.c — rabulk-emulator: the emu library as a stand-alone server.
 *
 * Serves RemoteApp and Azure Virtual Desktop at once (their paths do not
 * overlap). Binds 127.0.0.1 only. Prints the port (and writes it to --port-file,
 * atomically, so a test harness can wait for the file) and serves until
 * SIGINT or SIGTERM.
 *
 * The options are one table: each row's name, argument, help line and
 * setter (with what it sets) make getopt_long's array, the --help text and
 * the parsing, so an option cannot be parsed without being documented. */
#include "emulator/emu.h"
#include "lib/units.h"
#include "lib/err.h"

#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MAX_LIST 64 /* each of --seed, --generate, --avd-seed and --generate-avd */

/* A repeatable option's arguments. */
struct list {
	const char *v[MAX_LIST];
	int n;
};

/* What the command line says. Whole numbers are read into longs, then
 * copied into c's fields (of several types) once every option is read. */
struct opts {
	struct emu_config c;
	long port, threads, log_max, idle_timeout_s, page_size;
	const char *port_file;
	struct list seeds, gens, avd_seeds, avd_gens;
	struct list idp_clients, idp_certs, idp_federated;
	bool idp;
};

/* Sets what dst points to from an option's argument. Returns NULL, or what
 * the argument should have been ("want a whole number"). */
typedef const char *(*opt_set_fn)(void *dst, const char *arg);

/* One option: its row makes its getopt_long entry, its --help line and its
 * parsing (the shape of git's parse-options). */
struct opt {
	const char *name;
	const char *arg; /* the argument's name in --help; NULL: none */
	const char *help;
	opt_set_fn set; /* NULL: --help */
	void *dst;	/* what set() fills, of the type set() names */
};

static const char want_whole[] = "want a whole number";

/* const char * */
static const char *set_text(void *dst, const char *arg)
{
	*(const char **)dst = arg;
	return NULL;
}

/* long, a whole number up to INT_MAX */
static const char *set_count(void *dst, const char *arg)
{
	char *end;
	long v = strtol(arg, &end, 10);
	if (*arg == '\0' || *end || v < 0 || v > INT_MAX)
		return want_whole;
	*(long *)dst = v;
	return NULL;
}

/* long, 0 to 65535 */
static const char *set_port(void *dst, const char *arg)
{
	if (set_count(dst, arg) || *(long *)dst > 65535)
		return "want a port number (0: any free port)";
	return NULL;
}

/* struct list */
static const char *add_to_list(void *dst, const char *arg)
{
	struct list *l = dst;
	if (l->n == MAX_LIST)
		return "too many: at most 64";
	l->v[l->n++] = arg;
	return NULL;
}

/* bool */
static const char *set_flag(void *dst, const char *arg)
{
	*(bool *)dst = true;
	return NULL;
}

/* long ms */
static const char *set_duration(void *dst, const char *arg)
{
	return units_duration(arg, dst) < 0 ? "want a duration, e.g. 2s" : NULL;
}

/* long ms, over 0 */
static const char *set_ttl(void *dst, const char *arg)
{
	if (set_duration(dst, arg) || *(long *)dst <= 0)
		return "want a duration over 0, e.g. 5m";
	return NULL;
}

/* double, per second */
static const char *set_rate(void *dst, const char *arg)
{
	return units_rate(arg, dst) < 0 ? "want a rate, e.g. 100/s" : NULL;
}

/* bool: "404" or "202" */
static const char *set_no_session(void *dst, const char *arg)
{
	*(bool *)dst = strcmp(arg, "404") == 0;
	return strcmp(arg, "404") == 0 || strcmp(arg, "202") == 0 ? NULL : "want 202 or 404";
}

/* struct emu_config: "MS" or "MS:JITTER" */
static const char *set_latency(void *dst, const char *arg)
{
	struct emu_config *c = dst;
	char *end;
	c->latency_ms = strtol(arg, &end, 10);
	c->jitter_ms = *end == ':' ? strtol(end + 1, &end, 10) : 0;
	if (end == arg || *end || c->latency_ms < 0 || c->jitter_ms < 0)
		return "want MS or MS:JITTER, e.g. 20:5";
	return NULL;
}

/* struct emu_config */
static const char *set_fault(void *dst, const char *arg)
{
	if (emu_parse_faults(dst, arg) < 0)
		return "want KIND=P,... with KIND 429, 503, 500, reset, stall or truncate "
		       "and P from 0 to 1";
	return NULL;
}

/* unsigned: EMU_AVD_FORBID_* bits */
static const char *set_forbid(void *dst, const char *arg)
{
	return emu_parse_avd_forbid(arg, dst) < 0 ? "want sessions, hosts or sessions,hosts" : NULL;
}

/* long, 1 to 1000 */
static const char *set_page_size(void *dst, const char *arg)
{
	if (set_count(dst, arg) || *(long *)dst < 1 || *(long *)dst > 1000)
		return "want a whole number from 1 to 1000";
	return NULL;
}

static void usage(FILE *f, const struct opt *opts, size_t n)
{
	fputs(
	    "usage: rabulk-emulator [--port N] [--port-file FILE] [--seed FILE]... "
	    "[--generate NAME:N]...\n"
	    "                       [--avd-seed FILE]... [--generate-avd RG/HP:HOSTS:SESSIONS]... "
	    "[options]\n"
	    "\n"
	    "options:\n",
	    f);
	for (size_t i = 0; i < n; i++) {
		char left[64];
		snprintf(left, sizeof(left), "%s--%s%s%s", opts[i].set ? "" : "-h, ", opts[i].name,
			 opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
		fprintf(f, "  %-24s %s\n", left, opts[i].help);
	}
	fputs("\nDurations take a unit: 250ms, 30s, 10m, 1h (plain numbers are seconds).\n", f);
}

#define OPT_BASE 256 /* getopt_long's value for opts[i] is OPT_BASE + i */

/* Fills o from argv. Returns 0, 1 after printing --help, or ERR_INVAL
 * (said on stderr). */
static int parse(int argc, char **argv, struct opts *o)
{
	struct emu_config *c = &o->c;
	/* Adding an option? Also add it to man/rabulk-emulator.1 (a test compares). */
	const struct opt opts[] = {
	    {"port", "N", "port on 127.0.0.1 (0: any free port)", set_port, &o->port},
	    {"port-file", "FILE", "write the port to FILE once listening (atomically)", set_text,
	     &o->port_file},
	    {"seed", "FILE", "sessions from a CSV: CollectionName,UserUpn[,State]", add_to_list,
	     &o->seeds},
	    {"generate", "NAME:N",
	     "collection NAME with sessions user1@contoso.com .. userN@contoso.com", add_to_list,
	     &o->gens},
	    {"avd-seed", "FILE",
	     "AVD sessions from a CSV: HostPool,SessionHost,UserPrincipalName"
	     "[,SessionState,ResourceGroup]",
	     add_to_list, &o->avd_seeds},
	    {"generate-avd", "RG/HP:H:S",
	     "AVD host pool HP in RG, session hosts Host-0 .. Host-(H-1), S sessions of "
	     "user1@contoso.com .. spread over them",
	     add_to_list, &o->avd_gens},
	    {"page-size", "N", "AVD list items per page (nextLink for more) [50]", set_page_size,
	     &o->page_size},
	    {"avd-forbid", "WHAT",
	     "AVD calls on sessions, hosts or sessions,hosts answer 403 AuthorizationFailed",
	     set_forbid, &c->avd_forbid},
	    {"arm-quota", "SPEC",
	     "ARM's buckets per subscription and caller, e.g. reads=250:25,writes=200:10,"
	     "deletes=200:10 (BURST:RATE/s; global-writes=B:R sizes the subscription's): "
	     "remaining headers, 429 with Retry-After",
	     set_text, &c->arm_quota},
	    {"subscription", "ID", "serve only this subscription [any]", set_text,
	     &c->subscription},
	    {"namespace", "NS", "the namespace segment [remoteapp]", set_text, &c->ns},
	    {"token", "TOKEN", "accept this bearer token", set_text, &c->token},
	    {"token-ttl", "D", "accept tokens from GET /_emulator/token for D", set_ttl,
	     &c->token_ttl_ms},
	    {"token-skew", "D",
	     "each request's front end runs up to D ahead: an issued token is refused by a "
	     "growing share of requests in the D before it expires",
	     set_duration, &c->token_skew_ms},
	    {"idp", NULL,
	     "issue tokens as Entra ID and managed identity endpoints do (any --idp-* "
	     "implies it); API requests then need one",
	     set_flag, &o->idp},
	    {"idp-client", "ID:SECRET", "register a client (app) and its secret", add_to_list,
	     &o->idp_clients},
	    {"idp-client-cert", "ID:PEM", "register a client's certificate (client assertions)",
	     add_to_list, &o->idp_certs},
	    {"idp-federated", "ID",
	     "a client that may sign in with a token from GET /_emulator/token (workload "
	     "identity)",
	     add_to_list, &o->idp_federated},
	    {"idp-identity-header", "SECRET",
	     "serve App Service's GET /msi/token, checking X-IDENTITY-HEADER", set_text,
	     &c->idp_identity_header},
	    {"tls-cert", "PEM", "serve HTTPS with this certificate (with --tls-key)", set_text,
	     &c->tls_cert},
	    {"tls-key", "PEM", "the server's private key", set_text, &c->tls_key},
	    {"client-ca", "PEM", "accept management certificates issued by this CA", set_text,
	     &c->client_ca},
	    {"op-delay", "MS", "operations stay Pending this long [0]", set_count, &c->op_delay_ms},
	    {"no-session", "202|404", "a user without a session: 202 then Failed, or 404 [202]",
	     set_no_session, &c->no_session_404},
	    {"threads", "N", "server threads [2]", set_count, &o->threads},
	    {"log-max", "N", "requests kept for /_emulator/log [200000]", set_count, &o->log_max},
	    {"idle-timeout", "S", "close a connection idle this many seconds [120]", set_count,
	     &o->idle_timeout_s},
	    {"latency", "MS[:JITTER]", "answer every API request after MS +- JITTER ms",
	     set_latency, c},
	    {"fault", "SPEC", "misbehave with odds P: 429=P,503=P,500=P,reset=P,stall=P,truncate=P",
	     set_fault, c},
	    {"throttle", "N/s", "answer 429 with Retry-After past this rate", set_rate,
	     &c->throttle},
	    {"retry-after", "D", "Retry-After on 429 and 503 [1s, or the throttle's wait]",
	     set_duration, &c->retry_after_ms},
	    {"help", NULL, "this text", NULL, NULL},
	};
	enum { N = sizeof(opts) / sizeof(opts[0]) };
	struct option longopts[N + 1];
	int ch;

	memset(longopts, 0, sizeof(longopts));
	for (size_t i = 0; i < N; i++)
		longopts[i] =
		    (struct option){opts[i].name, opts[i].arg ? required_argument : no_argument,
				    NULL, OPT_BASE + (int)i};
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		const struct opt *op = ch >= OPT_BASE ? &opts[ch - OPT_BASE] : NULL;
		const char *bad;
		if (ch == 'h' || (op && !op->set)) {
			usage(stdout, opts, N);
			return 1;
		}
		if (!op) {
			fprintf(stderr,
				"rabulk-emulator: unknown or incomplete option '%s' (see "
				"rabulk-emulator --help)\n",
				argv[optind - 1]);
			return ERR_INVAL;
		}
		if ((bad = op->set(op->dst, optarg))) {
			fprintf(stderr, "rabulk-emulator: bad --%s '%s': %s\n", op->name, optarg,
				bad);
			return ERR_INVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"rabulk-emulator: unexpected argument '%s' (see rabulk-emulator --help)\n",
			argv[optind]);
		return ERR_INVAL;
	}
	c->idp_clients = o->idp_clients.v, c->n_idp_clients = o->idp_clients.n;
	c->idp_certs = o->idp_certs.v, c->n_idp_certs = o->idp_certs.n;
	c->idp_federated = o->idp_federated.v, c->n_idp_federated = o->idp_federated.n;
	c->idp = o->idp || o->idp_clients.n || o->idp_certs.n || o->idp_federated.n ||
		 c->idp_identity_header;
	c->port = (int)o->port, c->threads = (int)o->threads;
	c->log_max = (size_t)o->log_max, c->idle_timeout_s = (unsigned)o->idle_timeout_s;
	c->avd_page_size = (int)o->page_size;
	return 0;
}

static int write_port_file(const char *path, int port)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "rabulk-emulator: cannot write '%s': %m\n", path);
		return ERR_IO;
	}
	return 0;
}

/* SIGINT and SIGTERM are waited for, not handled: blocked here, before
 * libmicrohttpd's threads start and inherit the mask. */
static void block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* One descriptor per client connection: as many as the hard limit allows. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* --seed files, then --generate specs, then AVD's likewise. Returns 0 or
 * an error with err set. */
static int seed(struct emu *e, const struct opts *o, char *err, size_t errlen)
{
	int rc = 0;
	for (int i = 0; i < o->seeds.n && rc == 0; i++)
		rc = emu_seed_file(e, o->seeds.v[i], err, errlen);
	for (int i = 0; i < o->gens.n && rc == 0; i++)
		rc = emu_generate(e, o->gens.v[i], err, errlen);
	for (int i = 0; i < o->avd_seeds.n && rc == 0; i++)
		rc = emu_avd_seed_file(e, o->avd_seeds.v[i], err, errlen);
	for (int i = 0; i < o->avd_gens.n && rc == 0; i++)
		rc = emu_avd_generate(e, o->avd_gens.v[i], err, errlen);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	struct emu *e;
	char err[512];
	sigset_t set;
	int sig, rc = parse(argc, argv, &o);

	if (rc != 0)
		return rc > 0 ? 0 : 2;
	block_signals(&set);
	raise_nofile();
	if (!(e = emu_new(&o.c, err, sizeof(err)))) {
		fprintf(stderr, "rabulk-emulator: %s\n", err);
		return 2;
	}
	if (seed(e, &o, err, sizeof(err)) < 0) {
		fprintf(stderr, "rabulk-emulator: %s\n", err);
		goto out_free;
	}
	if (o.port_file && write_port_file(o.port_file, emu_port(e)) < 0)
		goto out_free;
	fprintf(stderr, "rabulk-emulator: listening on %s://127.0.0.1:%d\n", emu_scheme(e),
		emu_port(e));
	sigwait(&set, &sig);
	emu_free(e);
	return 0;
out_free:
	emu_free(e);
	return 2;
}
