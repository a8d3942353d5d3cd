/* test_auth.c — tokens (JWT exp, file and command sources, refresh after a
 * 401, the token's own refresher thread), AzureProfile.json selection,
 * thumbprint comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "engine/cert.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "engine/profile.h"
#include "engine/token.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* {"alg":"none"} . {"sub":"x","exp":<exp>} . sig, encoded by hand. */
static void make_jwt(char *dst, size_t cap, long long exp)
{
	static const char tbl[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char json[128], enc[256];
	int n = snprintf(json, sizeof(json), "{\"sub\":\"x\",\"exp\":%lld}", exp), k = 0;
	for (int i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)json[i] << 16 |
			     (i + 1 < n ? (unsigned char)json[i + 1] << 8 : 0) |
			     (i + 2 < n ? (unsigned char)json[i + 2] : 0);
		enc[k++] = tbl[v >> 18 & 63], enc[k++] = tbl[v >> 12 & 63];
		if (i + 1 < n)
			enc[k++] = tbl[v >> 6 & 63];
		if (i + 2 < n)
			enc[k++] = tbl[v & 63];
	}
	enc[k] = '\0';
	snprintf(dst, cap, "eyJhbGciOiJub25lIn0.%s.c2ln", enc);
}

static void jwt_exp_is_read(void **state)
{
	char jwt[512];
	int64_t exp = 0;
	make_jwt(jwt, sizeof(jwt), 1795000000LL);
	assert_int_equal(token_jwt_exp(jwt, &exp), 0);
	assert_int_equal(exp, 1795000000LL);
	assert_int_equal(token_jwt_exp("opaque-token", &exp), ERR_PARSE);
	assert_int_equal(token_jwt_exp("a.b", &exp), ERR_PARSE);
	assert_int_equal(token_jwt_exp("a.!!!.c", &exp), ERR_PARSE);
	assert_int_equal(token_jwt_exp("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln", &exp),
			 ERR_PARSE); /* {"sub":"x"}: no exp */
}

static char dir[] = "/tmp/rabulk-auth-XXXXXX";

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[256], tmp[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(tmp, mode);
	assert_int_equal(rename(tmp, path), 0);
}

static void file_token_is_reread_when_it_changes(void **state)
{
	char path[256], err[256], buf[TOKEN_MAX];
	snprintf(path, sizeof(path), "%s/token", dir);
	write_file("token", "first\n", 0600);
	struct token_source src = {.file = path};
	struct token *t = token_new(&src, err, sizeof(err));
	assert_non_null(t);
	unsigned g1 = token_copy(t, buf, sizeof(buf));
	assert_string_equal(buf, "first");
	token_maintain(t, clock_wall_ms()); /* not due yet: nothing read */
	assert_int_equal(token_generation(t), g1);
	write_file("token", "second\n", 0600);
	token_maintain(t, clock_wall_ms() + 1500);
	unsigned g2 = token_copy(t, buf, sizeof(buf));
	assert_string_equal(buf, "second");
	assert_int_not_equal(g1, g2);
	/* A 401 with the old generation: the newer token is already there. */
	assert_int_equal(token_refresh(t, g1), 0);
	/* A 401 with the current one and an unchanged file: nothing new. */
	assert_int_equal(token_refresh(t, g2), ERR_AUTH);
	assert_int_equal(token_refresh(t, g2), ERR_AUTH);
	token_free(t);

	write_file("token", "shared\n", 0644);
	assert_null(token_new(&src, err, sizeof(err)));
	assert_non_null(strstr(err, "chmod 600"));
}

static void command_runs_again_after_401_once_per_generation_while_tokens_work(void **state)
{
	char cmd[512], err[256], buf[TOKEN_MAX];
	/* Prints tok-1, tok-2, ... counting its runs in a file. */
	snprintf(cmd, sizeof(cmd),
		 "n=$(cat %s/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s/n; echo tok-$n",
		 dir, dir);
	struct token_source src = {.command = cmd};
	struct token *t = token_new(&src, err, sizeof(err));
	assert_non_null(t);
	unsigned g1 = token_copy(t, buf, sizeof(buf));
	assert_string_equal(buf, "tok-1");
	assert_int_equal(token_refresh(t, g1), 0);
	assert_int_equal(token_refresh(t, g1), 0); /* no second run for the same 401 wave */
	unsigned g2 = token_copy(t, buf, sizeof(buf));
	assert_string_equal(buf, "tok-2");
	assert_int_not_equal(g1, g2);
	/* tok-2 worked (a 401 or 403 would not say so), then expired: refreshed
	 * again, as often as that happens */
	token_answered(t, g2, 403);
	token_answered(t, g2, 202);
	assert_int_equal(token_refresh(t, g2), 0);
	unsigned g3 = token_copy(t, buf, sizeof(buf));
	assert_string_equal(buf, "tok-3");
	token_answered(t, g3, 401);
	/* tok-3 was refused before it ever worked: the credentials, not an
	 * expiry; the command is not run again */
	assert_int_equal(token_refresh(t, g3), ERR_AUTH);
	assert_int_equal(token_refresh(t, g3), ERR_AUTH);
	assert_int_equal(token_copy(t, buf, sizeof(buf)), g3);
	token_free(t);

	struct token_source bad = {.command = "exit 3"};
	assert_null(token_new(&bad, err, sizeof(err)));
	assert_non_null(strstr(err, "exit status 3"));
	struct token_source quiet = {.command = "true"};
	assert_null(token_new(&quiet, err, sizeof(err)));
	assert_non_null(strstr(err, "no token"));
}

static void jwt_is_refreshed_ahead_of_exp(void **state)
{
	char cmd[1024], jwt[512], err[256], buf[TOKEN_MAX];
	int64_t now = clock_wall_ms();
	make_jwt(jwt, sizeof(jwt), now / 1000 + 400); /* 400 s left: refresh a quarter early */
	snprintf(cmd, sizeof(cmd), "echo %s", jwt);
	struct token_source src = {.command = cmd};
	struct token *t = token_new(&src, err, sizeof(err));
	assert_non_null(t);
	unsigned g = token_generation(t);
	snprintf(cmd, sizeof(cmd), "echo fresh"); /* what the next run prints */
	token_maintain(t, now + 200 * 1000);	  /* 200 s left: not yet */
	assert_int_equal(token_generation(t), g);
	token_maintain(t, now + 310 * 1000); /* 90 s left: due */
	token_copy(t, buf, sizeof(buf));
	assert_string_equal(buf, "fresh");
	token_free(t);

	make_jwt(jwt, sizeof(jwt), now / 1000 - 10);
	struct token_source fixed = {.value = jwt, .what = "RABULK_ACCESS_TOKEN"};
	assert_null(token_new(&fixed, err, sizeof(err)));
	assert_non_null(strstr(err, "expired"));
	struct token_source ok = {.value = "opaque", .what = "RABULK_ACCESS_TOKEN"};
	t = token_new(&ok, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(token_refresh(t, token_generation(t)), ERR_AUTH);
	token_free(t);
}

/* The command runs alone: its own process group, stdin /dev/null, and
 * none of our descriptors but stdout (a pipe) and stderr. */
static void command_runs_in_its_own_group_without_our_descriptors(void **state)
{
	char err[256], buf[TOKEN_MAX], want[64];
	int fd = open("/dev/null", O_RDONLY); /* not close-on-exec, as curl's sockets */
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 77), 77);
	struct token_source src = {
	    .command =
		"fd=closed; [ -e /proc/self/fd/77 ] && fd=inherited; "
		"pg=$(cut -d' ' -f5 /proc/$$/stat); [ \"$pg\" = $$ ] && pg=own; "
		"echo \"$fd:$(readlink /proc/$$/fd/0):$pg:$(cut -d' ' -f5 /proc/$PPID/stat)\""};
	struct token *t = token_new(&src, err, sizeof(err));
	close(77), close(fd);
	assert_non_null(t);
	token_copy(t, buf, sizeof(buf));
	snprintf(want, sizeof(want), "closed:/dev/null:own:%d", (int)getpgrp());
	assert_string_equal(buf, want);
	token_free(t);
}

static void command_has_a_time_limit_and_an_output_cap(void **state)
{
	char err[256], cmd[256], buf[TOKEN_MAX];
	int64_t t0 = clock_mono_ms();
	struct token_source slow = {.command = "sleep 5; echo late", .command_timeout_ms = 300};
	assert_null(token_new(&slow, err, sizeof(err)));
	assert_string_equal(err, "--token-command timed out after 0.3 s");
	assert_true(clock_mono_ms() - t0 < 2000);
	/* also when it closed its stdout but does not exit */
	struct token_source lingering = {.command = "echo tok; exec >&-; sleep 5",
					 .command_timeout_ms = 300};
	assert_null(token_new(&lingering, err, sizeof(err)));
	assert_non_null(strstr(err, "timed out"));

	snprintf(cmd, sizeof(cmd), "head -c %d /dev/zero | tr '\\0' x", TOKEN_MAX - 1);
	struct token_source fits = {.command = cmd};
	struct token *t = token_new(&fits, err, sizeof(err));
	assert_non_null(t);
	token_copy(t, buf, sizeof(buf));
	assert_int_equal(strlen(buf), TOKEN_MAX - 1);
	token_free(t);
	snprintf(cmd, sizeof(cmd), "head -c %d /dev/zero | tr '\\0' x", TOKEN_MAX);
	assert_null(token_new(&fits, err, sizeof(err)));
	assert_string_equal(err, "--token-command printed more than 16383 bytes");
	struct token_source huge = {.command = "yes"}; /* never ends by itself */
	assert_null(token_new(&huge, err, sizeof(err)));
	assert_non_null(strstr(err, "printed more than"));

	struct token_source killed = {.command = "kill -TERM $$"};
	assert_null(token_new(&killed, err, sizeof(err)));
	assert_non_null(strstr(err, "killed by signal 15"));
}

static atomic_bool stop_now;

static bool stop_requested(void)
{
	return atomic_load(&stop_now);
}

static void *stop_soon(void *arg)
{
	nanosleep(&(struct timespec){0, 300 * 1000000L}, NULL);
	atomic_store(&stop_now, true);
	return NULL;
}

/* Dead, or a zombie nobody reaped yet (init's business, not ours). */
static bool gone(const char *pid_file)
{
	char path[512], stat[256] = "";
	FILE *f = fopen(pid_file, "r");
	int pid = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &pid), 1);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (int i = 0; i < 100; i++) { /* SIGKILL is quick, not instant */
		if (!(f = fopen(path, "r")))
			return true;
		char *got = fgets(stat, sizeof(stat), f);
		fclose(f);
		char *state = got ? strrchr(stat, ')') : NULL;
		if (state && state[1] == ' ' && state[2] == 'Z')
			return true;
		nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
	}
	return false;
}

/* The caller's stop gives up a command under way: its whole process group
 * is killed, and the generation is not taken for refused credentials. */
static void command_is_given_up_when_the_caller_stops(void **state)
{
	char cmd[512], err[256], buf[TOKEN_MAX], child[300], sh[300];
	pthread_t th;
	snprintf(child, sizeof(child), "%s/child.pid", dir);
	snprintf(sh, sizeof(sh), "%s/sh.pid", dir);
	snprintf(cmd, sizeof(cmd), "echo tok-1");
	struct token_source src = {.command = cmd, .stop = stop_requested};
	struct token *t = token_new(&src, err, sizeof(err));
	assert_non_null(t);
	unsigned g1 = token_generation(t);

	snprintf(cmd, sizeof(cmd), "echo $$ > %s; sleep 30 & echo $! > %s; wait", sh, child);
	assert_int_equal(pthread_create(&th, NULL, stop_soon, NULL), 0);
	int64_t t0 = clock_mono_ms();
	assert_int_equal(token_refresh(t, g1), ERR_STOPPED);
	assert_true(clock_mono_ms() - t0 < 2000);
	pthread_join(th, NULL);
	assert_true(gone(sh));
	assert_true(gone(child));
	assert_int_equal(token_refresh(t, g1), ERR_STOPPED); /* still stopping: not even started */

	atomic_store(&stop_now, false);
	snprintf(cmd, sizeof(cmd), "echo tok-2");
	assert_int_equal(token_refresh(t, g1), 0);
	token_copy(t, buf, sizeof(buf));
	assert_string_equal(buf, "tok-2");
	token_free(t);

	atomic_store(&stop_now, true);
	assert_null(token_new(&src, err, sizeof(err)));
	assert_string_equal(err, "interrupted while --token-command was running");
	atomic_store(&stop_now, false);
}

static void profile_default_and_by_name(void **state)
{
	struct profile p;
	char err[512];
	const char *path = "tests/data/profiles/tokens.json";
	assert_int_equal(profile_load(path, NULL, &p, err, sizeof(err)), 0);
	assert_string_equal(p.subscription, "30da001a-1a9e-48a1-8b77-e5abcfe38bdc");
	assert_string_equal(p.name, "Contoso Production");
	assert_int_equal(p.account, PROFILE_ACCESS_TOKEN); /* "Type": 3 */
	assert_string_equal(p.token, "@TOKEN@");
	assert_string_equal(p.endpoint, "@ENDPOINT@");
	profile_release(&p);
	assert_int_equal(profile_load(path, "contoso test", &p, err, sizeof(err)), 0);
	assert_string_equal(p.subscription, "11111111-2222-3333-4444-555555555555");
	assert_int_equal(p.account, PROFILE_USER);
	assert_null(p.token);
	profile_release(&p);
	assert_int_equal(
	    profile_load(path, "11111111-2222-3333-4444-555555555555", &p, err, sizeof(err)), 0);
	assert_string_equal(p.account_id, "admin@contoso.com");
	profile_release(&p);
	assert_int_equal(
	    profile_load("tests/data/profiles/certificate.json", NULL, &p, err, sizeof(err)), 0);
	assert_int_equal(p.account, PROFILE_CERTIFICATE);
	assert_string_equal(p.account_id, "@THUMBPRINT@");
	assert_string_equal(p.endpoint, "@ENDPOINT@"); /* the trailing '/' is gone */
	profile_release(&p);
}

static void profile_errors_name_file_and_reason(void **state)
{
	struct profile p;
	char err[512];
	static const char *const cases[][2] = {
	    {"tests/data/profiles/missing-account.json", "not in Accounts"},
	    {"tests/data/profiles/no-default.json", "no default subscription"},
	    {"tests/data/profiles/unknown-environment.json", "not in Environments"},
	    {"tests/data/profiles/absent.json", "cannot read profile"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_true(profile_load(cases[i][0], NULL, &p, err, sizeof(err)) < 0);
		assert_non_null(strstr(err, cases[i][1]));
		assert_non_null(strstr(err, cases[i][0]));
		profile_release(&p);
	}
	assert_true(profile_load("tests/data/profiles/tokens.json", "nope", &p, err, sizeof(err)) <
		    0);
	assert_non_null(strstr(err, "no subscription 'nope'"));
	profile_release(&p);
}

static void thumbprints_compare_loosely(void **state)
{
	assert_true(cert_thumbprint_equal("a1b2c3", "A1B2C3"));
	assert_true(cert_thumbprint_equal("a1:b2:c3", "A1B2C3"));
	assert_true(cert_thumbprint_equal("A1 B2 C3", "a1b2c3"));
	assert_false(cert_thumbprint_equal("A1B2C3", "A1B2C4"));
	assert_false(cert_thumbprint_equal("A1B2C3", "A1B2C3D4"));
	assert_false(cert_thumbprint_equal("", "A1"));
}

static atomic_int wakeups;

static void count_wakeup(void *arg)
{
	atomic_fetch_add(&wakeups, 1);
}

/* Waits up to 5 s for a wakeup; true if one came. */
static bool woken(void)
{
	for (int i = 0; i < 500 && !atomic_load(&wakeups); i++)
		nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
	return atomic_load(&wakeups) > 0;
}

/* A 401 never waits for the command: token_renew() asks the token's
 * thread and answers at once; one fetch per generation however often it
 * is asked; the wakers are called when the fetch ends. */
static void renew_asks_the_token_thread_and_returns_at_once(void **state)
{
	char cmd[512], err[256], buf[TOKEN_MAX], runs[300];
	/* The first run answers at once, every later one after 0.5 s. */
	snprintf(cmd, sizeof(cmd),
		 "n=$(cat %s/slow-n 2>/dev/null || echo 0); n=$((n+1)); echo $n > %s/slow-n; "
		 "[ $n = 1 ] || sleep 0.5; echo slow-$n",
		 dir, dir);
	snprintf(runs, sizeof(runs), "%s/slow-n", dir);
	struct token_source src = {.command = cmd};
	struct token *t = token_new(&src, err, sizeof(err));
	assert_non_null(t);
	unsigned g1 = token_generation(t);
	atomic_store(&wakeups, 0);
	assert_int_equal(token_add_waker(t, count_wakeup, NULL), 0);
	int64_t t0 = clock_mono_ms();
	assert_int_equal(token_renew(t, g1), ERR_AGAIN);
	assert_int_equal(token_renew(t, g1), ERR_AGAIN); /* the same wave: asked once */
	assert_true(clock_mono_ms() - t0 < 300);
	assert_int_equal(token_generation(t), g1);
	assert_true(woken());
	assert_true(clock_mono_ms() - t0 >= 400);
	assert_int_equal(token_renew(t, g1), 0);
	unsigned g2 = token_copy(t, buf, sizeof(buf));
	assert_string_equal(buf, "slow-2");
	token_answered(t, g2, 200);

	/* A waker removed is not called again. */
	token_remove_waker(t, count_wakeup, NULL);
	atomic_store(&wakeups, 0);
	assert_int_equal(token_refresh(t, g2), 0);
	token_copy(t, buf, sizeof(buf));
	assert_string_equal(buf, "slow-3");
	assert_int_equal(atomic_load(&wakeups), 0);
	token_free(t);
	FILE *f = fopen(runs, "r");
	int n = 0;
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &n), 1);
	fclose(f);
	assert_int_equal(n, 3); /* the first token and one fetch per 401 wave */
}

/* The early refresh needs no caller either: the token's thread notices a
 * changed file by itself, and says so. */
static void token_thread_rereads_a_changed_file_by_itself(void **state)
{
	char path[256], err[256], buf[TOKEN_MAX];
	snprintf(path, sizeof(path), "%s/rotated", dir);
	write_file("rotated", "before\n", 0600);
	struct token_source src = {.file = path};
	struct token *t = token_new(&src, err, sizeof(err));
	assert_non_null(t);
	unsigned g1 = token_generation(t);
	atomic_store(&wakeups, 0);
	assert_int_equal(token_add_waker(t, count_wakeup, NULL), 0);
	write_file("rotated", "after\n", 0600);
	for (int i = 0; i < 300 && token_generation(t) == g1; i++)
		nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
	assert_int_not_equal(token_generation(t), g1);
	token_copy(t, buf, sizeof(buf));
	assert_string_equal(buf, "after");
	assert_true(woken());
	token_remove_waker(t, count_wakeup, NULL);
	token_free(t);
}

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(jwt_exp_is_read),
	    cmocka_unit_test(file_token_is_reread_when_it_changes),
	    cmocka_unit_test(command_runs_again_after_401_once_per_generation_while_tokens_work),
	    cmocka_unit_test(jwt_is_refreshed_ahead_of_exp),
	    cmocka_unit_test(command_runs_in_its_own_group_without_our_descriptors),
	    cmocka_unit_test(command_has_a_time_limit_and_an_output_cap),
	    cmocka_unit_test(command_is_given_up_when_the_caller_stops),
	    cmocka_unit_test(renew_asks_the_token_thread_and_returns_at_once),
	    cmocka_unit_test(token_thread_rereads_a_changed_file_by_itself),
	    cmocka_unit_test(profile_default_and_by_name),
	    cmocka_unit_test(profile_errors_name_file_and_reason),
	    cmocka_unit_test(thumbprints_compare_loosely),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
