/* test_emu_avd.c — the emulator's AVD side read by rabulk's own AVD client
 * code (service/avd.c): an in-process emulator seeded through emu.h's C API
 * (what `rabulk --emulator --service avd` will use), its lists parsed and
 * followed page by page with avd_parse_sessions() and
 * avd_next_link_allowed(), its URLs built by avd_url_*(), and its errors
 * classified by avd_classify(): a session that went away is no_session, a
 * misspelled session host or a missing pool is a failure, a 403 stops. */
#include "emulator/emu.h"
#include "service/avd.h"
#include "lib/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct buf {
	char *p;
	size_t n;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	char *p = realloc(b->p, b->n + size * n + 1);
	assert_non_null(p);
	memcpy(p + b->n, data, size * n);
	b->p = p, b->n += size * n;
	p[b->n] = '\0';
	return size * n;
}

/* One request; returns the status, the body in *out (caller frees). */
static long request(const char *method, const char *url, const char *body, struct buf *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	long status = 0;
	*out = (struct buf){0};
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	else if (strcmp(method, "POST") == 0)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (!out->p)
		out->p = calloc(1, 1);
	return status;
}

static enum service_verdict verdict(long status, const struct buf *b)
{
	struct service_error e;
	avd_parse_error(b->p, b->n, &e);
	return avd_classify((int)status, &e);
}

struct seen {
	int n;
	char host[8][64], id[8][16], upn[8][64];
};

static int on_session(void *arg, const struct avd_session *s)
{
	struct seen *v = arg;
	assert_true(v->n < 8);
	snprintf(v->host[v->n], sizeof(v->host[0]), "%s", s->session_host);
	snprintf(v->id[v->n], sizeof(v->id[0]), "%s", s->id);
	snprintf(v->upn[v->n], sizeof(v->upn[0]), "%s", s->upn);
	v->n++;
	return 0;
}

static struct emu *start(unsigned forbid, char *endpoint, size_t cap)
{
	struct emu_config c = {.avd_page_size = 2, .avd_forbid = forbid};
	char err[256];
	struct emu *e = emu_new(&c, err, sizeof(err));
	if (!e)
		fail_msg("emu_new: %s", err);
	snprintf(endpoint, cap, "http://127.0.0.1:%d", emu_port(e));
	assert_int_equal(emu_avd_add_session(e, "rg1", "Pool1", "SH-a.contoso.com", "ann@x", NULL),
			 0);
	assert_int_equal(
	    emu_avd_add_session(e, "rg1", "Pool1", "SH-a.contoso.com", "bob@x", "disconnected"), 0);
	assert_int_equal(emu_avd_add_session(e, "rg1", "Pool1", "sh-b", "ann@x", "Active"), 0);
	assert_int_equal(emu_avd_add_session(e, "rg1", "Pool1", "sh-b", "x@x", "Sleeping"),
			 ERR_INVAL);
	return e;
}

static void lists_and_actions_as_the_client_reads_them(void **state)
{
	char endpoint[64], url[AVD_LINK_MAX + 1], body[256];
	struct avd_pool pool;
	struct avd_page page;
	struct seen seen = {0};
	struct buf b;
	int pages = 0;
	struct emu *e = start(0, endpoint, sizeof(endpoint));
	assert_int_equal(avd_parse_pool_address("rg1/Pool1", "sub-1", NULL, &pool, NULL), 0);
	assert_true(avd_url_sessions(url, sizeof(url), endpoint, &pool) > 0);
	do { /* two a page: 2, then 1 */
		assert_int_equal(request("GET", url, NULL, &b), 200);
		assert_int_equal(avd_parse_sessions(b.p, b.n, on_session, &seen, &page), 0);
		free(b.p);
		assert_int_equal(page.skipped, 0);
		pages++;
		if (page.next_link[0]) {
			assert_true(avd_next_link_allowed(page.next_link, endpoint));
			snprintf(url, sizeof(url), "%s", page.next_link);
		}
	} while (page.next_link[0] && pages < 10);
	assert_int_equal(pages, 2);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.host[0], "SH-a.contoso.com"); /* spelled as created */
	assert_string_equal(seen.id[1], "2");
	assert_string_equal(seen.host[2], "sh-b");
	assert_string_equal(seen.id[2], "1");
	assert_string_equal(seen.upn[2], "ann@x");

	/* act on the sessions the list named, with the client's own requests */
	struct avd_session_ref ref = {.pool = pool};
	snprintf(ref.session_host, sizeof(ref.session_host), "%s", seen.host[0]);
	snprintf(ref.id, sizeof(ref.id), "%s", seen.id[0]);
	int blen = avd_session_request(url, sizeof(url), body, sizeof(body), endpoint, &ref,
				       AVD_MESSAGE, "Maintenance", "please log off");
	assert_true(blen > 0);
	assert_int_equal(request("POST", url, body, &b), 200);
	assert_int_equal(verdict(200, &b), SERVICE_V_OK);
	free(b.p);
	assert_true(avd_session_request(url, sizeof(url), body, sizeof(body), endpoint, &ref,
					AVD_LOGOFF, NULL, NULL) >= 0);
	assert_int_equal(request("DELETE", url, NULL, &b), 204);
	free(b.p);
	long st = request("DELETE", url, NULL, &b); /* again: gone */
	assert_int_equal(verdict(st, &b), SERVICE_V_NO_SESSION);
	free(b.p);
	assert_true(avd_session_request(url, sizeof(url), body, sizeof(body), endpoint, &ref,
					AVD_DISCONNECT, NULL, NULL) >= 0);
	st = request("POST", url, NULL, &b);
	assert_int_equal(st, 404);
	assert_non_null(strstr(b.p, "User session ID not found"));
	assert_int_equal(verdict(st, &b), SERVICE_V_NO_SESSION);
	free(b.p);

	/* the session host spelled otherwise: a failure, never no_session */
	snprintf(ref.session_host, sizeof(ref.session_host), "sh-a.contoso.com");
	snprintf(ref.id, sizeof(ref.id), "2");
	assert_true(avd_session_request(url, sizeof(url), body, sizeof(body), endpoint, &ref,
					AVD_DISCONNECT, NULL, NULL) >= 0);
	st = request("POST", url, NULL, &b);
	assert_int_equal(st, 404);
	assert_int_equal(verdict(st, &b), SERVICE_V_FAILED);
	free(b.p);

	/* drain, as the client builds it, and read the answer with its parser */
	assert_true(avd_url_session_host(url, sizeof(url), endpoint, &pool, "sh-b") > 0);
	assert_true(avd_drain_body(body, sizeof(body), false) > 0);
	assert_int_equal(request("PATCH", url, body, &b), 200);
	free(b.p);

	/* a pool that does not exist: a failure */
	assert_int_equal(avd_parse_pool_address("rg1/Nope", "sub-1", NULL, &pool, NULL), 0);
	assert_true(avd_url_sessions(url, sizeof(url), endpoint, &pool) > 0);
	st = request("GET", url, NULL, &b);
	assert_int_equal(st, 404);
	assert_int_equal(verdict(st, &b), SERVICE_V_FAILED);
	free(b.p);
	emu_free(e);
}

static void forbidden_stops(void **state)
{
	char endpoint[64], url[AVD_LINK_MAX + 1];
	struct avd_pool pool;
	struct buf b;
	struct emu *e = start(EMU_AVD_FORBID_SESSIONS, endpoint, sizeof(endpoint));
	assert_int_equal(avd_parse_pool_address("rg1/Pool1", "sub-1", NULL, &pool, NULL), 0);
	assert_true(avd_url_sessions(url, sizeof(url), endpoint, &pool) > 0);
	long st = request("GET", url, NULL, &b);
	assert_int_equal(st, 403);
	assert_int_equal(verdict(st, &b), SERVICE_V_FORBIDDEN);
	assert_non_null(strstr(b.p, "AuthorizationFailed"));
	free(b.p);
	emu_free(e);
	unsigned bits;
	assert_int_equal(emu_parse_avd_forbid("sessions,hosts", &bits), 0);
	assert_int_equal(bits, EMU_AVD_FORBID_SESSIONS | EMU_AVD_FORBID_HOSTS);
	assert_int_equal(emu_parse_avd_forbid("none", &bits), 0);
	assert_int_equal(bits, 0);
	assert_int_equal(emu_parse_avd_forbid("users", &bits), ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lists_and_actions_as_the_client_reads_them),
	    cmocka_unit_test(forbidden_stops),
	};
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
