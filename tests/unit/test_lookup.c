/* test_lookup.c — one pass's session lists: listed once, matched by UPN
 * without regard to case, in list order; waiters woken when a list ends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "engine/lookup.h"

static int wakes;
static void wake(void *arg)
{
	wakes++;
}

struct seen {
	char hosts[8][32], ids[8][16];
	int n;
};

static int collect(void *arg, const struct lookup_session *s)
{
	struct seen *v = arg;
	snprintf(v->hosts[v->n], sizeof(v->hosts[0]), "%s", s->session_host);
	snprintf(v->ids[v->n++], sizeof(v->ids[0]), "%s", s->id);
	return 0;
}

static void add(struct lookup_pool *p, const char *upn, const char *host, const char *id)
{
	struct lookup_session s = {upn, host, id, "Active"};
	assert_int_equal(lookup_add(p, &s), 0);
}

static void listed_once_and_matched_ignoring_case(void **state)
{
	struct lookup *l = lookup_new();
	bool first;
	wakes = 0;
	assert_int_equal(lookup_add_waker(l, wake, NULL), 0);
	struct lookup_pool *p =
	    lookup_pool(l, "/subscriptions/s/resourceGroups/RG/x/hostPools/HP", &first);
	assert_true(first);
	/* the same pool spelled in another case is the same list, not a second one */
	assert_ptr_equal(
	    lookup_pool(l, "/subscriptions/s/resourcegroups/rg/x/hostpools/hp", &first), p);
	assert_false(first);
	assert_int_equal(lookup_state(l, p), LOOKUP_LISTING);
	add(p, "b@contoso.com", "Host-1", "7");
	add(p, "A@Contoso.com", "Host-0", "3");
	add(p, "a@contoso.com", "host-2", "1"); /* same user, another host, spelled as listed */
	add(p, "c@contoso.com", "Host-0", "4");
	assert_int_equal(lookup_count(p), 4);
	lookup_ready(l, p);
	assert_int_equal(wakes, 1);
	assert_int_equal(lookup_state(l, p), LOOKUP_READY);

	struct seen v = {0};
	assert_int_equal(lookup_match(p, "a@CONTOSO.COM", collect, &v), 2);
	assert_int_equal(v.n, 2); /* list order kept among a user's sessions */
	assert_string_equal(v.hosts[0], "Host-0");
	assert_string_equal(v.ids[0], "3");
	assert_string_equal(v.hosts[1], "host-2");
	assert_int_equal(lookup_match(p, "nobody@contoso.com", collect, &v), 0);
	assert_int_equal(lookup_match(p, "c@contoso.com", NULL, NULL), 1);
	lookup_free(l);
}

static void a_failed_list_keeps_its_error(void **state)
{
	struct lookup *l = lookup_new();
	bool first;
	struct lookup_pool *p = lookup_pool(l, "rg/missing", &first);
	lookup_failed(l, p, 404, "ResourceNotFound", "The Resource ... was not found.");
	int http;
	const char *code, *msg;
	assert_int_equal(lookup_state(l, p), LOOKUP_FAILED);
	lookup_error(p, &http, &code, &msg);
	assert_int_equal(http, 404);
	assert_string_equal(code, "ResourceNotFound");
	assert_string_equal(msg, "The Resource ... was not found.");
	lookup_free(l);
}

static void many_pools_and_sessions(void **state)
{
	struct lookup *l = lookup_new();
	struct lookup_pool *pools[300];
	char key[64], upn[64], id[16];
	bool first;
	for (int i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "rg/hp%d", i);
		pools[i] = lookup_pool(l, key, &first);
		assert_true(first);
	}
	for (int i = 0; i < 20000; i++) {
		snprintf(upn, sizeof(upn), "user%d@contoso.com", i);
		snprintf(id, sizeof(id), "%d", i);
		add(pools[i % 300], upn, "h", id);
	}
	for (int i = 0; i < 300; i++)
		lookup_ready(l, pools[i]);
	for (int i = 0; i < 20000; i += 97) {
		struct seen v = {0};
		snprintf(upn, sizeof(upn), "USER%d@contoso.com", i);
		assert_int_equal(lookup_match(pools[i % 300], upn, collect, &v), 1);
		snprintf(id, sizeof(id), "%d", i);
		assert_string_equal(v.ids[0], id);
		assert_int_equal(lookup_match(pools[(i + 1) % 300], upn, NULL, NULL), 0);
	}
	lookup_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(listed_once_and_matched_ignoring_case),
	    cmocka_unit_test(a_failed_list_keeps_its_error),
	    cmocka_unit_test(many_pools_and_sessions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
