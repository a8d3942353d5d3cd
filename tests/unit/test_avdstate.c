/* test_avdstate.c — the emulator's AVD world: names match as ARM matches
 * them, ids count per host, actions change state and count, and paging by
 * cursor sees every live session once even when the state changes between
 * pages. */
#include "emulator/avdstate.h"
#include "lib/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

static void names_and_ids(void **state)
{
	struct avdstate *st = avdstate_new();
	assert_non_null(st);
	int a = avdstate_add_session(st, "RG1", "Pool", "Host-0", "u1@contoso.com", AVDSTATE_ACTIVE,
				     1000);
	int b = avdstate_add_session(st, "rg1", "POOL", "Host-0", "u2@contoso.com",
				     AVDSTATE_DISCONNECTED, 2000);
	int c = avdstate_add_session(st, "rg1", "pool", "Host-1", "u1@contoso.com", AVDSTATE_ACTIVE,
				     3000);
	assert_true(a == 0 && b == 1 && c == 2);
	assert_int_equal(avdstate_npools(st), 1); /* pools and groups: any case */
	assert_string_equal(avdstate_pool(st, 0)->resource_group, "RG1");
	assert_string_equal(avdstate_pool(st, 0)->name, "Pool");
	assert_int_equal(avdstate_nhosts(st), 2);
	assert_int_equal(avdstate_session(st, 0)->id, 1); /* ids count per host */
	assert_int_equal(avdstate_session(st, 1)->id, 2);
	assert_int_equal(avdstate_session(st, 2)->id, 1);
	assert_int_equal(avdstate_host(st, 0)->live, 2);
	assert_true(avdstate_host(st, 0)->allow_new_session);

	assert_true(avdstate_has_resource_group(st, "rG1"));
	assert_false(avdstate_has_resource_group(st, "rg2"));
	assert_int_equal(avdstate_find_pool(st, "rg1", "pOOl"), 0);
	assert_int_equal(avdstate_find_pool(st, "rg2", "Pool"), ERR_NOENT);
	assert_int_equal(avdstate_find_host(st, 0, "Host-1"), 1);
	assert_int_equal(avdstate_find_host(st, 0, "host-1"), ERR_NOENT); /* exact */
	assert_int_equal(avdstate_find_host(st, 1, "Host-1"), ERR_NOENT); /* another pool */
	assert_int_equal(avdstate_find_session(st, 0, "2"), 1);
	assert_int_equal(avdstate_find_session(st, 1, "1"), 2);
	assert_int_equal(avdstate_find_session(st, 1, "2"), ERR_NOENT);
	assert_int_equal(avdstate_find_session(st, 0, "02"), ERR_NOENT);
	assert_int_equal(avdstate_find_session(st, 0, "+1"), ERR_NOENT);
	assert_int_equal(avdstate_find_session(st, 0, ""), ERR_NOENT);
	assert_int_equal(avdstate_find_session(st, 0, "99999999999"), ERR_NOENT);
	/* adding is idempotent for pools and hosts */
	assert_int_equal(avdstate_add_pool(st, "RG1", "pool"), 0);
	assert_int_equal(avdstate_add_host(st, 0, "Host-0", 0), 0);
	assert_int_equal(avdstate_add_host(st, 0, "HOST-0", 0), 2);
	avdstate_free(st);
	avdstate_free(NULL);
}

static void status_names(void **state)
{
	enum avdstate_status s;
	assert_int_equal(avdstate_status_parse(NULL, &s), 0);
	assert_int_equal(s, AVDSTATE_ACTIVE);
	assert_int_equal(avdstate_status_parse("disconnected", &s), 0);
	assert_int_equal(s, AVDSTATE_DISCONNECTED);
	assert_int_equal(avdstate_status_parse("userprofilediskmounted", &s), 0);
	assert_string_equal(avdstate_status_name(s), "UserProfileDiskMounted");
	assert_int_equal(avdstate_status_parse("Connected", &s), ERR_INVAL);
	assert_string_equal(avdstate_status_name(AVDSTATE_LOGOFF), "LogOff");
}

static void actions_count(void **state)
{
	struct avdstate *st = avdstate_new();
	avdstate_add_session(st, "rg", "hp", "h", "u@x", AVDSTATE_ACTIVE, 0);
	avdstate_add_session(st, "rg", "hp", "h", "v@x", AVDSTATE_ACTIVE, 0);
	struct avdstate_session *s = avdstate_session(st, 0);
	assert_int_equal(avdstate_act(st, 0, AVDSTATE_OP_DISCONNECT, NULL, NULL), 0);
	assert_int_equal(s->status, AVDSTATE_DISCONNECTED);
	assert_int_equal(avdstate_act(st, 0, AVDSTATE_OP_MESSAGE, "T", "hello"), 0);
	assert_string_equal(s->last_title, "T");
	assert_string_equal(s->last_message, "hello");
	assert_int_equal(avdstate_act(st, 0, AVDSTATE_OP_LOGOFF, NULL, NULL), 0);
	assert_true(s->gone);
	assert_int_equal(avdstate_host(st, 0)->live, 1);
	/* a gone session: counted, nothing done */
	assert_int_equal(avdstate_act(st, 0, AVDSTATE_OP_LOGOFF, NULL, NULL), ERR_NOENT);
	assert_int_equal(avdstate_act(st, 0, AVDSTATE_OP_MESSAGE, "x", "y"), ERR_NOENT);
	assert_int_equal(avdstate_host(st, 0)->live, 1);
	assert_int_equal(s->ops[AVDSTATE_OP_DISCONNECT], 1);
	assert_int_equal(s->ops[AVDSTATE_OP_LOGOFF], 2);
	assert_int_equal(s->ops[AVDSTATE_OP_MESSAGE], 2);
	assert_string_equal(s->last_message, "hello");
	/* the id is not reused: the next session on the host is 3 */
	assert_int_equal(avdstate_add_session(st, "rg", "hp", "h", "u@x", AVDSTATE_ACTIVE, 0), 2);
	assert_int_equal(avdstate_session(st, 2)->id, 3);
	assert_int_equal(avdstate_find_session(st, 0, "1"), 0); /* still found, gone */
	avdstate_reset_ops(st);
	assert_int_equal(s->ops[AVDSTATE_OP_LOGOFF], 0);
	assert_true(s->gone);
	avdstate_free(st);
}

static void paging(void **state)
{
	struct avdstate *st = avdstate_new();
	char upn[32];
	size_t out[8], cursor = 0, seen = 0, n;
	for (int i = 0; i < 20; i++) { /* two pools interleaved, two hosts each */
		snprintf(upn, sizeof(upn), "u%d@x", i);
		avdstate_add_session(st, "rg", i % 2 ? "odd" : "even", i % 4 < 2 ? "a" : "b", upn,
				     AVDSTATE_ACTIVE, 0);
	}
	int even = avdstate_find_pool(st, "rg", "even");
	/* 10 in "even", pages of 4: 4, 4, 2 */
	n = avdstate_page_sessions(st, (uint32_t)even, -1, &cursor, 4, out);
	assert_int_equal(n, 4);
	assert_int_not_equal(cursor, 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(out[i], 2 * (seen + i));
	seen += n;
	/* between pages: a session of page one goes, one of page three goes,
	 * and one is added: the cursor neither skips nor repeats */
	avdstate_act(st, 0, AVDSTATE_OP_LOGOFF, NULL, NULL);
	avdstate_act(st, 18, AVDSTATE_OP_LOGOFF, NULL, NULL);
	avdstate_add_session(st, "rg", "even", "a", "late@x", AVDSTATE_ACTIVE, 0);
	n = avdstate_page_sessions(st, (uint32_t)even, -1, &cursor, 4, out);
	assert_int_equal(n, 4);
	assert_int_equal(out[0], 8);
	assert_int_equal(out[3], 14);
	n = avdstate_page_sessions(st, (uint32_t)even, -1, &cursor, 4, out);
	assert_int_equal(n, 2); /* 16 and the late one (20); 18 is gone */
	assert_int_equal(out[0], 16);
	assert_int_equal(out[1], 20);
	assert_int_equal(cursor, 0);
	/* 9 live: a page of 9 is the last one, not followed by an empty one */
	size_t all[16];
	cursor = 0;
	assert_int_equal(avdstate_page_sessions(st, (uint32_t)even, -1, &cursor, 9, all), 9);
	assert_int_equal(cursor, 0);
	assert_int_equal(avdstate_page_sessions(st, (uint32_t)even, -1, &cursor, 8, all), 8);
	assert_int_not_equal(cursor, 0);
	assert_int_equal(avdstate_page_sessions(st, (uint32_t)even, -1, &cursor, 8, all), 1);
	assert_int_equal(cursor, 0);
	/* per host */
	int a = avdstate_find_host(st, (uint32_t)even, "a");
	cursor = 0;
	n = avdstate_page_sessions(st, (uint32_t)even, a, &cursor, 8, out);
	assert_int_equal(n, 5); /* 4, 8, 12, 16, 20 (0 gone) */
	assert_int_equal(cursor, 0);
	/* hosts */
	cursor = 0;
	n = avdstate_page_hosts(st, (uint32_t)even, &cursor, 1, out);
	assert_int_equal(n, 1);
	assert_int_not_equal(cursor, 0);
	n = avdstate_page_hosts(st, (uint32_t)even, &cursor, 1, out);
	assert_int_equal(n, 1);
	assert_string_equal(avdstate_host(st, out[0])->name, "b");
	assert_int_equal(cursor, 0);
	avdstate_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_and_ids),
	    cmocka_unit_test(status_names),
	    cmocka_unit_test(actions_count),
	    cmocka_unit_test(paging),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
