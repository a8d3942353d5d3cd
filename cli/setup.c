/* setup.c — from options and profile to a ready job.
 *
 * Kept apart from run.c so that every command that sends (the bulk
 * operations and `rabulk sessions`) resolves credentials and endpoints the
 * same way. Precedence, highest first: the command line, the environment,
 * the profile. Secrets never come from argv: tokens come from a file, a
 * command, RABULK_ACCESS_TOKEN or the profile; the certificate password
 * from RABULK_CERT_PASSWORD or a file. Plain http is for loopback only. */
#include "cli/setup.h"
#include "service/avd.h"
#include "service/remoteapp.h"
#include "lib/units.h"
#include "engine/cert.h"
#include "lib/err.h"
#include "engine/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

static bool loopback_url(const char *url)
{
	static const char *const hosts[] = {"127.", "localhost:", "localhost/", "[::1]"};
	const char *rest = !strncasecmp(url, "http://", 7)    ? url + 7
			   : !strncasecmp(url, "https://", 8) ? url + 8
							      : NULL;
	for (size_t i = 0; rest && i < sizeof(hosts) / sizeof(hosts[0]); i++)
		if (strncasecmp(rest, hosts[i], strlen(hosts[i])) == 0)
			return true;
	return rest && strcasecmp(rest, "localhost") == 0;
}

/* ---- profile --------------------------------------------------------- */

/* --profile, else $RABULK_PROFILE, else the default file if there is one.
 * An implicit default profile without the --subscription asked for is
 * ignored (the option wins); an explicit one is an error. */
static int load_profile(struct setup *s, const struct args *o, bool *loaded, char *err, size_t n)
{
	const char *path = o->profile, *env = getenv("RABULK_PROFILE"), *home = getenv("HOME");
	char def[4096];
	struct stat st;
	bool implicit = !path && !(env && *env);
	if (!path)
		path = env && *env ? env : NULL;
	if (!path && home) {
		snprintf(def, sizeof(def), "%s/.config/rabulk/AzureProfile.json", home);
		path = stat(def, &st) == 0 ? def : NULL;
	}
	*loaded = false;
	if (!path)
		return 0;
	int rc = profile_load(path, o->subscription, &s->profile, err, n);
	if (rc == ERR_NOENT && implicit) {
		profile_release(&s->profile);
		memset(&s->profile, 0, sizeof(s->profile));
		err[0] = '\0';
		return 0;
	}
	*loaded = rc == 0;
	return rc;
}

/* ---- credentials ----------------------------------------------------- */

static int cert_password(struct setup *s, const struct args *o, char *err, size_t n)
{
	const char *env = getenv("RABULK_CERT_PASSWORD");
	char buf[1024];
	if (o->cert_password_file) {
		if (token_read_file(o->cert_password_file, buf, sizeof(buf), err, n) < 0)
			return ERR_INVAL;
		s->cert_password = strdup(buf);
		explicit_bzero(buf, sizeof(buf));
		return s->cert_password ? 0 : ERR_NOMEM;
	}
	if (env && !(s->cert_password = strdup(env)))
		return ERR_NOMEM;
	return 0;
}

static int use_cert(struct setup *s, const struct args *o, bool profiled, char *err, size_t n)
{
	struct cert_info ci;
	int rc = cert_password(s, o, err, n);
	if (rc == 0)
		rc = cert_load(o->cert, o->key, s->cert_password, &ci, err, n);
	if (rc < 0)
		return rc;
	if (profiled && s->profile.account == PROFILE_CERTIFICATE &&
	    !cert_thumbprint_equal(ci.thumbprint, s->profile.account_id)) {
		snprintf(err, n,
			 "certificate '%s' has thumbprint %s, but the profile's account for "
			 "subscription %s is %s",
			 o->cert, ci.thumbprint, s->subscription, s->profile.account_id);
		return ERR_INVAL;
	}
	if (ci.days_left < 7)
		fprintf(stderr,
			"rabulk: warning: certificate '%s' expires in %d day%s: renew it "
			"and upload it to the subscription\n",
			o->cert, ci.days_left, ci.days_left == 1 ? "" : "s");
	if (o->verbose)
		fprintf(stderr, "rabulk: management certificate %s (%s, thumbprint %s)\n", o->cert,
			ci.subject, ci.thumbprint);
	s->job.cert = o->cert;
	s->job.cert_type = ci.pkcs12 ? "P12" : "PEM";
	s->job.key = o->key;
	s->job.key_password = s->cert_password;
	return 0;
}

/* $RABULK_TOKEN_COMMAND_TIMEOUT: how long --token-command may run. */
static int command_timeout(long *ms, char *err, size_t n)
{
	const char *env = getenv("RABULK_TOKEN_COMMAND_TIMEOUT");
	*ms = TOKEN_COMMAND_TIMEOUT_MS;
	if (!env || !*env || (units_duration(env, ms) == 0 && *ms > 0))
		return 0;
	snprintf(err, n,
		 "bad RABULK_TOKEN_COMMAND_TIMEOUT '%s': want a duration such as 500ms, 30s or 5m",
		 env);
	return ERR_INVAL;
}

/* The token's audience: the service's (RemoteApp: the classic management
 * API's, in the cloud picked), whatever --endpoint says. A second service
 * (AVD: cloud->arm_audience) sets its own here. */
static const char *audience(const struct setup *s)
{
	return s->job.service == &service_avd ? s->cloud->arm_audience : s->cloud->classic_audience;
}

/* Whether the service takes nothing but a bearer token: AVD (ARM), unless
 * it is the embedded emulator. Then the whole chain is looked for, as with
 * --credential auto, and finding nothing is an error. RemoteApp also takes
 * management certificates, and its emulator may take no credential. */
static bool token_required(const struct setup *s)
{
	return s->job.service == &service_avd && !s->emu;
}

/* Entra ID's chain (DESIGN section 9, sources 2 to 5): picked with
 * --credential, or looked for when no other token source is given. Unless
 * --credential or the service asks for the whole chain, only the
 * environment's sources are looked for (no IMDS probe, no az), and finding
 * none means no token, as before. */
static int chain(struct setup *s, const struct args *o, struct token_source *src, char *err,
		 size_t n)
{
	enum credential_kind pick = CREDENTIAL_AUTO;
	bool full = o->credential != NULL || token_required(s);
	if (o->credential && credential_pick_parse(o->credential, &pick) < 0)
		return 0; /* token-file, token-command: checked by args */
	int rc = credential_select((const char *const *)environ, pick, s->cloud, audience(s), full,
				   &s->credential, err, n);
	if (rc < 0)
		return rc;
	if (s->credential.kind == CREDENTIAL_NONE) {
		if (!full)
			return 0;
		snprintf(err, n, "%s", s->credential.looked_for);
		return ERR_AUTH;
	}
	s->credential.cacert = o->cacert;
	src->credential = &s->credential;
	return 1;
}

/* Which token source, if any: options, then environment, then profile,
 * then Entra ID's chain. */
static int token_source(struct setup *s, const struct args *o, bool profiled,
			struct token_source *src, char *err, size_t n)
{
	const char *env = getenv("RABULK_ACCESS_TOKEN");
	memset(src, 0, sizeof(*src));
	src->file = o->token_file, src->command = o->token_command;
	if (src->command && command_timeout(&src->command_timeout_ms, err, n) < 0)
		return ERR_INVAL;
	if (src->file || src->command)
		return 1;
	if (o->credential && strcmp(o->credential, "auto") != 0)
		return chain(s, o, src, err, n);
	if (env && *env) {
		src->value = env, src->what = "RABULK_ACCESS_TOKEN";
		return 1;
	}
	if (!profiled || o->cert)
		return o->cert && !o->credential ? 0 : chain(s, o, src, err, n);
	switch (s->profile.account) {
	case PROFILE_ACCESS_TOKEN:
		src->value = s->profile.token, src->what = "the profile's AccessToken account";
		return 1;
	case PROFILE_CERTIFICATE:
		snprintf(err, n,
			 "the profile's account for subscription %s is a management "
			 "certificate (thumbprint %s): give it with --cert FILE",
			 s->subscription, s->profile.account_id);
		return ERR_INVAL;
	default: {
		int rc = chain(s, o, src, err, n); /* a User account: Entra ID's chain, if set */
		if (rc != 0)
			return rc;
		snprintf(err, n,
			 "the profile's account '%s' (%s) needs a token: use --token-command "
			 "(e.g. 'az account get-access-token --query accessToken -o tsv') or "
			 "--token-file",
			 s->profile.account_id, profile_account_name(s->profile.account));
		return ERR_INVAL;
	}
	}
}

static int credentials(struct setup *s, const struct args *o, bool profiled, token_stop_fn *stop,
		       char *err, size_t n)
{
	struct token_source src;
	int rc = o->cert ? use_cert(s, o, profiled, err, n) : 0;
	if (rc == 0)
		rc = token_source(s, o, profiled, &src, err, n);
	if (rc <= 0)
		return rc;
	src.stop = stop;
	if (!(s->token = token_new(&src, err, n)))
		return stop && stop() ? ERR_STOPPED : ERR_AUTH;
	s->job.token = s->token;
	if (o->verbose && src.credential) {
		char what[512];
		credential_describe(src.credential, what, sizeof(what));
		fprintf(stderr, "rabulk: credential: %s\n", what);
	}
	if (o->verbose) {
		char what[256];
		token_describe(s->token, what, sizeof(what));
		fprintf(stderr, "rabulk: %s\n", what);
	}
	return 0;
}

/* ---- target ---------------------------------------------------------- */

/* --emulator: the embedded emulator gets a session for every row sent. */
static int seed_row(void *emu, const struct input_row *row)
{
	return emu_add_session(emu, row->collection, row->upn, NULL) ? ERR_NOMEM : 0;
}

/* --emulator --service avd: an active session for every host-pool row, on
 * one of two session hosts; rows naming a session are left as they are. */
static int seed_avd_row(void *arg, const struct input_row *row)
{
	struct setup *c = arg;
	struct service_address a;
	struct avd_pool p;
	char buf[SERVICE_ADDRESS_MAX];
	const char *coll = input_row_collection(row, buf, sizeof(buf));
	if (c->job.service->address(&c->job.target, coll, &a, NULL) < 0 || a.session_host[0] ||
	    avd_parse_pool_address(a.pool, NULL, NULL, &p, NULL) < 0)
		return 0;
	const char *host = strlen(row->upn) % 2 ? "Host-1" : "Host-0";
	return emu_avd_add_session(c->emu, p.resource_group, p.host_pool, host, row->upn, NULL) ==
		       ERR_NOMEM
		   ? ERR_NOMEM
		   : 0;
}

static int start_emulator(struct setup *c, const struct args *o, char *err, size_t n)
{
	struct emu_config ec = {0};
	ec.ns = o->ns;
	if (!(c->emu = emu_new(&ec, err, n)))
		return ERR_IO;
	snprintf(c->endpoint, sizeof(c->endpoint), "http://127.0.0.1:%d", emu_port(c->emu));
	c->job.target.endpoint = c->endpoint;
	if (!c->job.target.subscription)
		c->job.target.subscription = "00000000-0000-0000-0000-000000000000";
	if (o->emulator_seed) {
		if ((o->avd ? emu_avd_seed_file : emu_seed_file)(c->emu, o->emulator_seed, err, n) <
		    0)
			return ERR_INVAL;
	} else if (o->avd) {
		/* A host pool is listed once, when its first row comes: the
		 * sessions of the input files are all there before that. Rows
		 * from standard input are seeded as they are read (a pool
		 * listed before a row arrives does not show it). */
		for (int i = 0; i < o->ninputs; i++) {
			FILE *f = strcmp(o->inputs[i], "-") ? fopen(o->inputs[i], "r") : NULL;
			if (f)
				input_read(f, o->inputs[i], &o->input, seed_avd_row, c, err, n);
			if (f)
				fclose(f);
		}
		err[0] = '\0'; /* the run reads them again and says what is wrong */
		c->row_hook = seed_avd_row, c->row_hook_arg = c;
	} else {
		c->row_hook = seed_row, c->row_hook_arg = c->emu;
	}
	return 0;
}

static int set_target(struct setup *c, const struct args *o, bool profiled, char *err, size_t n)
{
	const char *url = o->endpoint			       ? o->endpoint
			  : o->avd			       ? c->cloud->arm_endpoint
			  : profiled && c->profile.endpoint[0] ? c->profile.endpoint
							       : c->cloud->classic_endpoint;
	snprintf(c->endpoint, sizeof(c->endpoint), "%s", url);
	size_t len = strlen(c->endpoint);
	while (len > 0 && c->endpoint[len - 1] == '/')
		c->endpoint[--len] = '\0';
	if (strncasecmp(c->endpoint, "https://", 8) != 0 && !loopback_url(c->endpoint)) {
		snprintf(err, n, "bad endpoint '%s': want https:// (http:// only for loopback)",
			 url);
		return ERR_INVAL;
	}
	if (o->insecure && !loopback_url(c->endpoint)) {
		snprintf(err, n, "--insecure is only allowed for loopback endpoints");
		return ERR_INVAL;
	}
	if (o->insecure)
		fprintf(stderr, "rabulk: WARNING: --insecure: the server's certificate is NOT "
				"checked\n");
	snprintf(c->subscription, sizeof(c->subscription), "%s",
		 profiled	   ? c->profile.subscription
		 : o->subscription ? o->subscription
				   : "");
	c->job.service = o->avd ? &service_avd : &service_remoteapp;
	c->job.target.endpoint = c->endpoint;
	c->job.target.subscription = c->subscription[0] ? c->subscription : NULL;
	c->job.target.ns = o->avd ? o->resource_group : o->ns; /* AVD: the default group */
	if (o->emulator)
		return start_emulator(c, o, err, n);
	if (!c->job.target.subscription && !o->dry_run) {
		snprintf(err, n,
			 "no subscription: use --subscription ID or --profile FILE (or "
			 "--emulator to try it out)");
		return ERR_INVAL;
	}
	return 0;
}

static void build_job(struct setup *c, const struct args *o)
{
	struct engine_job *j = &c->job;
	j->op = o->op;
	j->message = o->text;
	j->title = o->title;
	j->quota_reserve = o->quota_reserve;
	j->no_quota = o->no_quota;
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

int setup_init(struct setup *s, const struct args *o, token_stop_fn *stop, char *err, size_t n)
{
	bool profiled = false;
	int rc;
	memset(s, 0, sizeof(*s));
	s->cloud = credential_cloud_find(o->cloud ? o->cloud : "AzureCloud");
	build_job(s, o);
	if (!o->emulator && (rc = load_profile(s, o, &profiled, err, n)) < 0)
		return rc;
	if ((rc = set_target(s, o, profiled, err, n)) < 0 || o->dry_run)
		return rc;
	if ((rc = credentials(s, o, profiled, stop, err, n)) < 0)
		return rc;
	return o->emulator ? 0 : http_preflight(&s->job, err, n);
}

void setup_release(struct setup *s)
{
	emu_free(s->emu);
	token_free(s->token);
	credential_config_release(&s->credential);
	profile_release(&s->profile);
	if (s->cert_password) {
		explicit_bzero(s->cert_password, strlen(s->cert_password));
		free(s->cert_password);
	}
	s->emu = NULL, s->token = NULL, s->cert_password = NULL;
}
