/* test_avdseed.c — the emulator's AVD seeding: the generator spreads users
 * over hosts as avdseed.h says, and the CSV reader takes its columns in any
 * order and case, names resource groups either way, and refuses what it
 * cannot read with the line. */
#include "emulator/avdseed.h"
#include "lib/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void generate(void **state)
{
	char err[256];
	struct avdstate *st = avdstate_new();
	assert_int_equal(avdseed_generate(st, "rg1/Pool One:3:12", 0, err, sizeof(err)), 0);
	assert_int_equal(avdstate_npools(st), 1);
	assert_string_equal(avdstate_pool(st, 0)->name, "Pool One");
	assert_int_equal(avdstate_nhosts(st), 3);
	assert_int_equal(avdstate_nsessions(st), 12);
	/* 11 users, one session each, round robin; user5 and user10 Disconnected */
	for (size_t i = 0; i < 11; i++) {
		const struct avdstate_session *s = avdstate_session(st, i);
		char upn[32];
		snprintf(upn, sizeof(upn), "user%zu@contoso.com", i + 1);
		assert_string_equal(s->upn, upn);
		assert_int_equal(s->host, i % 3);
		assert_int_equal(s->status, (i + 1) % 5 ? AVDSTATE_ACTIVE : AVDSTATE_DISCONNECTED);
	}
	/* then user1 again, on the next host */
	const struct avdstate_session *x = avdstate_session(st, 11);
	assert_string_equal(x->upn, "user1@contoso.com");
	assert_string_equal(avdstate_host(st, x->host)->name, "Host-1");
	assert_int_equal(x->id, 5); /* Host-1 had 2, 5, 8, 11 */
	assert_int_equal(avdseed_generate(st, "rg2/Empty:2:0", 0, err, sizeof(err)), 0);
	assert_int_equal(avdstate_nhosts(st), 5);
	const char *bad[] = {"Pool1:3:12", "/Pool1:3:12", "rg/:3:12",  "rg/P:0:12",
			     "rg/P:3",	   "rg/P:3:x",	  "rg/P:3:-1", "rg/P:3:4:5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(avdseed_generate(st, bad[i], 0, err, sizeof(err)), ERR_INVAL);
		assert_non_null(strstr(err, "RG/HOSTPOOL:HOSTS:SESSIONS"));
	}
	avdstate_free(st);
}

/* Writes text to a temporary file; caller unlinks and frees the name. */
static char *temp_csv(const char *text)
{
	char *path = strdup("/tmp/test_avdseed_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static int seed(struct avdstate *st, const char *text, char *err, size_t errlen)
{
	char *path = temp_csv(text);
	int rc = avdseed_file(st, path, 0, err, errlen);
	unlink(path);
	free(path);
	return rc;
}

static void csv(void **state)
{
	char err[256];
	struct avdstate *st = avdstate_new();
	assert_int_equal(seed(st,
			      "upn,ResourceGroupName,hostpoolname,State,SessionHostName\r\n"
			      "a@x,rg1,P1,disconnected,\"Host, One\"\r\n"
			      "\r\n"
			      "b@x,,rg9/P2,,h2\r\n"
			      "c@x,,P3,Active,h3\r\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(avdstate_nsessions(st), 3);
	assert_string_equal(avdstate_host(st, 0)->name, "Host, One");
	assert_int_equal(avdstate_session(st, 0)->status, AVDSTATE_DISCONNECTED);
	assert_string_equal(avdstate_pool(st, 1)->resource_group, "rg9");
	assert_string_equal(avdstate_pool(st, 1)->name, "P2");
	assert_string_equal(avdstate_pool(st, 2)->resource_group, AVDSEED_DEFAULT_RG);

	assert_int_equal(seed(st, "HostPool,SessionHost\nP,h\n", err, sizeof(err)), ERR_INVAL);
	assert_non_null(strstr(err, "line 1"));
	assert_non_null(strstr(err, "UserPrincipalName"));
	assert_int_equal(seed(st,
			      "HostPool,SessionHost,UserPrincipalName,SessionState\n"
			      "P,h,u@x,Active\nP,h,v@x,Sleeping\n",
			      err, sizeof(err)),
			 ERR_INVAL);
	assert_non_null(strstr(err, "line 3"));
	assert_non_null(strstr(err, "SessionState"));
	assert_int_equal(
	    seed(st, "HostPool,SessionHost,UserPrincipalName\nP,,u@x\n", err, sizeof(err)),
	    ERR_INVAL);
	assert_int_equal(
	    seed(st, "HostPool,SessionHost,UserPrincipalName\n\"P,h,u@x\n", err, sizeof(err)),
	    ERR_INVAL);
	assert_int_equal(seed(st, "", err, sizeof(err)), ERR_INVAL);
	assert_int_equal(avdseed_file(st, "/nonexistent/x.csv", 0, err, sizeof(err)), ERR_IO);
	assert_non_null(strstr(err, "cannot open '/nonexistent/x.csv'"));
	avdstate_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(generate),
	    cmocka_unit_test(csv),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
