/* setup.c — from options to a ready job: token, endpoint, emulator.
 *
 * Kept apart from run.c so that every command that sends (the bulk
 * operations and `rabulk sessions`) checks credentials and endpoints the
 * same way: the token never comes from argv, a token file must be private,
 * plain http is for loopback only. */
#include "cli/setup.h"
#include "engine/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static bool loopback_url(const char *url)
{
	static const char *const hosts[] = {"http://127.", "http://localhost:", "http://localhost/",
					    "http://[::1]"};
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (strncasecmp(url, hosts[i], strlen(hosts[i])) == 0)
			return true;
	return strcasecmp(url, "http://localhost") == 0;
}

/* The token from --token-file (owner-only, as ssh insists for keys) or
 * RABULK_ACCESS_TOKEN; caller owns *out. */
static int read_token(const struct options *o, char **out, char *err, size_t n)
{
	const char *env = getenv("RABULK_ACCESS_TOKEN");
	struct stat st;
	char buf[16384];
	*out = NULL;
	if (!o->token_file) {
		if (env && *env && !(*out = strdup(env)))
			return ERR_NOMEM;
		return 0;
	}
	FILE *f = fopen(o->token_file, "r");
	if (!f || fstat(fileno(f), &st) != 0) {
		snprintf(err, n, "cannot open '%s': %s", o->token_file, strerror(errno));
		goto fail;
	}
	if ((st.st_mode & 077) || st.st_uid != geteuid()) {
		snprintf(err, n, "token file '%s' must be yours and not readable by others (chmod 600)",
			 o->token_file);
		goto fail;
	}
	size_t len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[len] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	fclose(f);
	if (!buf[0]) {
		snprintf(err, n, "token file '%s' is empty", o->token_file);
		return ERR_INVAL;
	}
	return (*out = strdup(buf)) ? 0 : ERR_NOMEM;
fail:
	if (f)
		fclose(f);
	return ERR_INVAL;
}

static int start_emulator(struct setup *c, const struct options *o, char *err, size_t n)
{
	struct emu_config ec = {0};
	ec.ns = o->ns;
	if (!(c->emu = emu_new(&ec, err, n)))
		return ERR_IO;
	if (o->emulator_seed) {
		if (emu_seed_file(c->emu, o->emulator_seed, err, n) < 0)
			return ERR_INVAL;
	} else {
		c->seed_from_input = true;
	}
	snprintf(c->endpoint, sizeof(c->endpoint), "http://127.0.0.1:%d", emu_port(c->emu));
	c->job.target.endpoint = c->endpoint;
	if (!c->job.target.subscription)
		c->job.target.subscription = "00000000-0000-0000-0000-000000000000";
	return 0;
}

static int set_target(struct setup *c, const struct options *o, char *err, size_t n)
{
	snprintf(c->endpoint, sizeof(c->endpoint), "%s", o->endpoint);
	size_t len = strlen(c->endpoint);
	while (len > 0 && c->endpoint[len - 1] == '/')
		c->endpoint[--len] = '\0';
	if (strncasecmp(c->endpoint, "https://", 8) != 0 && !loopback_url(c->endpoint)) {
		snprintf(err, n, "bad --endpoint '%s': want https:// (http:// only for loopback)",
			 o->endpoint);
		return ERR_INVAL;
	}
	if (o->insecure && !loopback_url(c->endpoint) &&
	    strncasecmp(c->endpoint, "https://127.", 12) != 0 &&
	    strncasecmp(c->endpoint, "https://localhost", 17) != 0) {
		snprintf(err, n, "--insecure is only allowed for loopback endpoints");
		return ERR_INVAL;
	}
	c->job.target.endpoint = c->endpoint;
	c->job.target.subscription = o->subscription;
	c->job.target.ns = o->ns;
	if (o->emulator)
		return start_emulator(c, o, err, n);
	if (!o->subscription && !o->dry_run) {
		snprintf(err, n, "no subscription: use --subscription ID (or --emulator to try it out)");
		return ERR_INVAL;
	}
	return 0;
}

static void build_job(struct setup *c, const struct options *o)
{
	struct job *j = &c->job;
	j->op = o->op;
	j->message = o->text;
	j->token = c->token;
	j->cacert = o->cacert;
	j->insecure = o->insecure;
	j->no_wait = o->no_wait;
	j->concurrency = o->concurrency;
	j->threads = o->threads;
	j->timeout_ms = o->timeout_ms;
	j->poll_interval_ms = o->poll_interval_ms;
	j->poll_timeout_ms = o->poll_timeout_ms;
	j->retry = (struct retry_policy){o->retries, 500, 60000, o->retry_max_time_ms};
	j->rate = o->rate;
	j->burst = o->burst;
	j->poll_rate = o->poll_rate;
	j->verbose = o->verbose;
}

int setup_init(struct setup *s, const struct options *o, char *err, size_t errlen)
{
	int rc;
	memset(s, 0, sizeof(*s));
	build_job(s, o);
	if ((rc = read_token(o, &s->token, err, errlen)) < 0)
		return rc;
	s->job.token = s->token;
	return set_target(s, o, err, errlen);
}

void setup_release(struct setup *s)
{
	emu_free(s->emu);
	free(s->token);
	s->emu = NULL, s->token = NULL;
}
