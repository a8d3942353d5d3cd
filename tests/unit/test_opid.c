/* test_opid.c — the emulator's tracking ids: what goes in comes out, and
 * nothing else decodes. */
#include "emulator/opid.h"
#include "emulator/rng.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

static void round_trip(void **state)
{
	struct rng r;
	struct opid in = {1764000000123, 70000, SERVICE_MESSAGE, true}, out;
	char id[OPID_LEN + 1], again[OPID_LEN + 1];
	rng_init(&r, 42);
	opid_encode(&r, &in, id);
	assert_int_equal(strlen(id), OPID_LEN);
	assert_true(id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-');
	assert_true(opid_decode(&r, id, &out));
	assert_true(out.created_ms == in.created_ms);
	assert_int_equal(out.session, 70000);
	assert_int_equal(out.op, SERVICE_MESSAGE);
	assert_true(out.failed);
	opid_encode(&r, &in, again); /* the same operation twice: two ids */
	assert_string_not_equal(id, again);
	assert_true(opid_decode(&r, again, &out));
}

static void forgeries_do_not_decode(void **state)
{
	struct rng r, other;
	struct opid in = {1764000000123, 3, SERVICE_LOGOFF, false}, out;
	char id[OPID_LEN + 1];
	rng_init(&r, 42);
	rng_init(&other, 43);
	opid_encode(&r, &in, id);
	assert_false(opid_decode(&other, id, &out)); /* another emulator's */
	id[0] = id[0] == '0' ? '1' : '0';	     /* one digit changed */
	assert_false(opid_decode(&r, id, &out));
	assert_false(opid_decode(&r, "", &out));
	assert_false(opid_decode(&r, "00000000-0000-0000-0000-00000000000g", &out));
	assert_false(opid_decode(&r, "000000000000-0000-0000-0000-00000000", &out));
	assert_false(opid_decode(&r, "00000000-0000-0000-0000-0000000000000", &out));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(round_trip),
	    cmocka_unit_test(forgeries_do_not_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
