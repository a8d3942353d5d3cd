/* test_state.c — the emulator's sessions: pairs match in any case, records
 * keep their index and counts when logged off. */
#include "emulator/state.h"
#include "lib/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

static void pairs_match_in_any_case(void **state)
{
	struct state *st = state_new();
	assert_non_null(st);
	state_lock(st);
	assert_int_equal(state_add_session(st, "Apps", "Ann@Contoso.com", STATE_ACTIVE), 0);
	assert_true(state_has_collection(st, "APPS"));
	assert_false(state_has_collection(st, "Apps2"));
	struct state_session *s = state_pair(st, "apps", "ann@contoso.COM");
	assert_non_null(s);
	assert_int_equal(state_nsessions(st), 1);
	assert_string_equal(s->upn, "Ann@Contoso.com"); /* as first seen */
	assert_int_equal(s->status, STATE_ACTIVE);
	assert_int_equal(state_add_collection(st, "APPS"), 0); /* idempotent */
	assert_int_equal(state_ncollections(st), 1);
	assert_string_equal(state_collection(st, 0), "Apps");
	state_unlock(st);
	state_free(st);
}

static void records_stay(void **state)
{
	struct state *st = state_new();
	state_lock(st);
	struct state_session *s = state_pair(st, "Apps", "nobody@contoso.com");
	assert_non_null(s);
	assert_int_equal(s->status, STATE_NONE); /* made for an operation, no session */
	s->ops[SERVICE_LOGOFF]++;
	for (int i = 0; i < 3000; i++) { /* the vector and tables grow */
		char upn[32];
		snprintf(upn, sizeof(upn), "user%d@contoso.com", i);
		assert_int_equal(state_add_session(st, "Apps", upn, STATE_CONNECTED), 0);
	}
	s = state_pair(st, "Apps", "nobody@contoso.com");
	assert_int_equal(state_index(st, s), 0);
	assert_int_equal(s->ops[SERVICE_LOGOFF], 1);
	assert_int_equal(state_index(st, state_pair(st, "apps", "USER2999@contoso.com")), 3000);
	state_reset_ops(st);
	assert_int_equal(state_session(st, 0)->ops[SERVICE_LOGOFF], 0);
	state_unlock(st);
	state_free(st);
	state_free(NULL);
}

static void status_names(void **state)
{
	enum state_status s;
	assert_int_equal(state_status_parse(NULL, &s), 0);
	assert_int_equal(s, STATE_CONNECTED);
	assert_int_equal(state_status_parse("disconnected", &s), 0);
	assert_string_equal(state_status_name(s), "Disconnected");
	assert_int_equal(state_status_parse("None", &s), ERR_INVAL);
	assert_int_equal(state_status_parse("Away", &s), ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(pairs_match_in_any_case),
	    cmocka_unit_test(records_stay),
	    cmocka_unit_test(status_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
