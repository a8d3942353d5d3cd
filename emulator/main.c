/* main.c — rabulk-emulator: the emu library as a stand-alone server.
 *
 * Binds 127.0.0.1 only. Prints the port (and writes it to --port-file,
 * atomically, so a test harness can wait for the file) and serves until
 * SIGINT or SIGTERM. */
#include "emulator/emu.h"
#include "lib/units.h"
#include "lib/err.h"

#include <getopt.h>
#include <sys/resource.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rabulk-emulator [--port N] [--port-file FILE] [--seed FILE]... [--generate NAME:N]...\n"
    "                       [--subscription ID] [--namespace NS] [--token TOKEN] [--token-ttl D]\n"
    "                       [--token-skew D]\n"
    "                       [--tls-cert PEM --tls-key PEM [--client-ca PEM]]\n"
    "                       [--op-delay MS] [--no-session 202|404] [--threads N] [--log-max N]\n"
    "                       [--idle-timeout S]\n"
    "                       [--latency MS[:JITTER]] [--throttle N/s] [--retry-after D]\n"
    "                       [--fault 429=P,503=P,500=P,reset=P,stall=P,truncate=P]\n";

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

static void die(const char *what, const char *arg)
{
	fprintf(stderr, "rabulk-emulator: %s '%s'\n%s", what, arg, usage);
	exit(2);
}

/* "MS" or "MS:JITTER" */
static void latency(struct emu_config *c, const char *s)
{
	char *end;
	c->latency_ms = strtol(s, &end, 10);
	c->jitter_ms = *end == ':' ? strtol(end + 1, &end, 10) : 0;
	if (end == s || *end || c->latency_ms < 0 || c->jitter_ms < 0)
		die("bad --latency", s);
}

static long number(const char *opt, const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end || v < 0) {
		fprintf(stderr, "rabulk-emulator: bad %s '%s': want a whole number\n", opt, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"port", required_argument, 0, 'p'},
	    {"port-file", required_argument, 0, 'P'},
	    {"seed", required_argument, 0, 's'},
	    {"generate", required_argument, 0, 'g'},
	    {"subscription", required_argument, 0, 'S'},
	    {"namespace", required_argument, 0, 'n'},
	    {"token", required_argument, 0, 't'},
	    {"op-delay", required_argument, 0, 'd'},
	    {"no-session", required_argument, 0, 'N'},
	    {"threads", required_argument, 0, 'T'},
	    {"log-max", required_argument, 0, 'L'},
	    {"help", no_argument, 0, 'h'},
	    {"latency", required_argument, 0, 'l'},
	    {"fault", required_argument, 0, 'f'},
	    {"throttle", required_argument, 0, 'r'},
	    {"retry-after", required_argument, 0, 'R'},
	    {"token-ttl", required_argument, 0, 'E'},
	    {"tls-cert", required_argument, 0, 'C'},
	    {"tls-key", required_argument, 0, 'K'},
	    {"client-ca", required_argument, 0, 'A'},
	    {"idle-timeout", required_argument, 0, 'I'},
	    {"token-skew", required_argument, 0, 'W'},
	    {0, 0, 0, 0},
	};
	struct emu_config c = {0};
	const char *port_file = NULL, *seeds[64], *gens[64];
	int nseeds = 0, ngens = 0, opt;
	char err[512];

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			c.port = (int)number("--port", optarg);
			break;
		case 'P':
			port_file = optarg;
			break;
		case 's':
			if (nseeds < 64)
				seeds[nseeds++] = optarg;
			break;
		case 'g':
			if (ngens < 64)
				gens[ngens++] = optarg;
			break;
		case 'S':
			c.subscription = optarg;
			break;
		case 'n':
			c.ns = optarg;
			break;
		case 't':
			c.token = optarg;
			break;
		case 'd':
			c.op_delay_ms = number("--op-delay", optarg);
			break;
		case 'N':
			c.no_session_404 = strcmp(optarg, "404") == 0;
			break;
		case 'T':
			c.threads = (int)number("--threads", optarg);
			break;
		case 'L':
			c.log_max = (size_t)number("--log-max", optarg);
			break;
		case 'I':
			c.idle_timeout_s = (unsigned)number("--idle-timeout", optarg);
			break;
		case 'l':
			latency(&c, optarg);
			break;
		case 'f':
			if (emu_parse_faults(&c, optarg) < 0)
				die("bad --fault", optarg);
			break;
		case 'r':
			if (units_rate(optarg, &c.throttle) < 0)
				die("bad --throttle", optarg);
			break;
		case 'R':
			if (units_duration(optarg, &c.retry_after_ms) < 0)
				die("bad --retry-after", optarg);
			break;
		case 'E':
			if (units_duration(optarg, &c.token_ttl_ms) < 0 || c.token_ttl_ms <= 0)
				die("bad --token-ttl", optarg);
			break;
		case 'W':
			if (units_duration(optarg, &c.token_skew_ms) < 0)
				die("bad --token-skew", optarg);
			break;
		case 'C':
			c.tls_cert = optarg;
			break;
		case 'K':
			c.tls_key = optarg;
			break;
		case 'A':
			c.client_ca = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* before MHD's threads inherit the mask */
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl; /* one descriptor per client connection */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	struct emu *e = emu_new(&c, err, sizeof(err));
	if (!e) {
		fprintf(stderr, "rabulk-emulator: %s\n", err);
		return 2;
	}
	for (int i = 0; i < nseeds; i++)
		if (emu_seed_file(e, seeds[i], err, sizeof(err)) < 0)
			goto fail;
	for (int i = 0; i < ngens; i++)
		if (emu_generate(e, gens[i], err, sizeof(err)) < 0)
			goto fail;
	int port = emu_port(e);
	if (port_file && write_port_file(port_file, port) < 0) {
		emu_free(e);
		return 2;
	}
	fprintf(stderr, "rabulk-emulator: listening on %s://127.0.0.1:%d\n", emu_scheme(e), port);
	int sig;
	sigwait(&set, &sig);
	emu_free(e);
	return 0;
fail:
	fprintf(stderr, "rabulk-emulator: %s\n", err);
	emu_free(e);
	return 2;
}
