/* test_api.c — URL building, escaping, bodies, response and error parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "service/remoteapp.h"
#include "lib/err.h"
#include <string.h>

static const struct service_target target = {"https://management.core.windows.net",
					     "30da001a-1a9e-48a1-8b77-e5abcfe38bdc", "rdst15"};

static void url_matches_recording(void **state)
{
	char url[512];
	assert_true(remoteapp_url_op(url, sizeof(url), &target, "simple", SERVICE_DISCONNECT) > 0);
	assert_string_equal(url, "https://management.core.windows.net/30da001a-1a9e-48a1-8b77-"
				 "e5abcfe38bdc/services/rdst15/collections/simple/sessions/"
				 "disconnect?api-version=2014-09-01");
	assert_true(remoteapp_url_op(url, sizeof(url), &target, "mycoll", SERVICE_MESSAGE) > 0);
	assert_non_null(strstr(url, "/collections/mycoll/sessions/sendMessage?api-version="));
	assert_true(remoteapp_url_sessions(url, sizeof(url), &target, "simple") > 0);
	assert_non_null(strstr(url, "/collections/simple/sessions?api-version=2014-09-01"));
	assert_true(remoteapp_url_result(url, sizeof(url), &target,
					 "91036d3c-9a24-44be-9051-b72e462a0f89") > 0);
	assert_non_null(strstr(url, "/services/rdst15/operationResults/"
				    "91036d3c-9a24-44be-9051-b72e462a0f89?api-version=2014-09-01"));
}

static void segments_are_percent_encoded(void **state)
{
	char seg[64], url[512];
	assert_int_equal(service_escape_segment(seg, sizeof(seg), "a@b/c d?e#f%"), 24);
	assert_string_equal(seg, "a%40b%2Fc%20d%3Fe%23f%25");
	assert_int_equal(service_escape_segment(seg, sizeof(seg), "Az09-._~"), 8);
	assert_string_equal(seg, "Az09-._~");
	assert_int_equal(service_escape_segment(seg, sizeof(seg), "\xc3\xa9"), 6);
	assert_string_equal(seg, "%C3%A9");
	/* input can never change the path */
	assert_true(remoteapp_url_op(url, sizeof(url), &target, "x/../../admin", SERVICE_LOGOFF) >
		    0);
	assert_non_null(strstr(url, "/collections/x%2F..%2F..%2Fadmin/sessions/logoff?"));
}

static void bad_segments_are_refused(void **state)
{
	char seg[64], url[512];
	assert_int_equal(service_escape_segment(seg, sizeof(seg), "."), ERR_INVAL);
	assert_int_equal(service_escape_segment(seg, sizeof(seg), ".."), ERR_INVAL);
	assert_int_equal(service_escape_segment(seg, sizeof(seg), ""), ERR_INVAL);
	assert_int_equal(service_escape_segment(seg, sizeof(seg), "a\r\nX-Evil: 1"), ERR_INVAL);
	assert_int_equal(service_escape_segment(seg, 4, "abcdef"), ERR_TOOBIG);
	assert_int_equal(remoteapp_url_op(url, sizeof(url), &target, "..", SERVICE_DISCONNECT),
			 ERR_INVAL);
	assert_int_equal(remoteapp_url_op(url, 40, &target, "simple", SERVICE_DISCONNECT),
			 ERR_TOOBIG);
}

static void body_is_escaped_json(void **state)
{
	char body[256];
	assert_int_equal(remoteapp_body(body, sizeof(body), "yadavb@hotmail.com", NULL), 32);
	assert_string_equal(body, "{\"UserUpn\":\"yadavb@hotmail.com\"}");
	assert_true(remoteapp_body(body, sizeof(body), "a\\b\"c@x.com", "Hey\nthere!\x01") > 0);
	assert_string_equal(body, "{\"UserUpn\":\"a\\\\b\\\"c@x.com\",\"Message\":"
				  "\"Hey\\u000athere!\\u0001\"}");
	assert_int_equal(remoteapp_body(body, 16, "yadavb@hotmail.com", NULL), ERR_TOOBIG);
}

static void result_status_any_case(void **state)
{
	struct service_opresult r;
	const char *ok = "{\r\n  \"Description\": \"DisconnectSessionCommand\",\r\n  "
			 "\"ErrorDetails\": \"done\",\r\n  \"Status\": \"Success\"\r\n}";
	assert_int_equal(remoteapp_parse_result(ok, strlen(ok), &r), 0);
	assert_int_equal(r.status, SERVICE_OP_SUCCESS);
	assert_string_equal(r.description, "DisconnectSessionCommand");
	assert_string_equal(r.details, "done");
	const char *pend = "{\"status\":\"inprogress\"}";
	assert_int_equal(remoteapp_parse_result(pend, strlen(pend), &r), 0);
	assert_int_equal(r.status, SERVICE_OP_INPROGRESS);
	const char *odd = "{\"Status\":\"Weird\"}";
	assert_int_equal(remoteapp_parse_result(odd, strlen(odd), &r), ERR_PARSE);
	assert_int_equal(remoteapp_parse_result("[1,2]", 5, &r), ERR_PARSE);
	assert_int_equal(remoteapp_parse_result("{\"Status\":", 10, &r), ERR_PARSE);
}

static void error_xml_wrapped_json(void **state)
{
	struct service_error e;
	const char *b =
	    "<string xmlns=\"http://schemas.microsoft.com/2003/10/Serialization/\">"
	    "{\"Code\":\"CollectionDoesNotExist\",\"Message\":\"Collection 'mycoll' does "
	    "not exist\",\"ActivityId\":\"758e72ee\",\"errorClass\":0}</string>";
	remoteapp_parse_error(b, strlen(b), &e);
	assert_string_equal(e.code, "CollectionDoesNotExist");
	assert_string_equal(e.message, "Collection 'mycoll' does not exist");
	const char *esc = "<string xmlns=\"x\">{&quot;Code&quot;:&quot;A&amp;B&quot;}</string>";
	remoteapp_parse_error(esc, strlen(esc), &e);
	assert_string_equal(e.code, "A&B");
}

static void error_rdfe_xml(void **state)
{
	struct service_error e;
	const char *b = "<Error xmlns=\"http://schemas.microsoft.com/windowsazure\"><Code>"
			"AuthenticationFailed</Code><Message>The server failed &lt;here&gt;."
			"</Message></Error>";
	remoteapp_parse_error(b, strlen(b), &e);
	assert_string_equal(e.code, "AuthenticationFailed");
	assert_string_equal(e.message, "The server failed <here>.");
}

static void error_azure_json(void **state)
{
	struct service_error e;
	const char *b = "{\"error\":{\"code\":\"TooManyRequests\",\"message\":\"slow down\"}}";
	remoteapp_parse_error(b, strlen(b), &e);
	assert_string_equal(e.code, "TooManyRequests");
	assert_string_equal(e.message, "slow down");
}

static void error_other_keeps_200_bytes(void **state)
{
	struct service_error e;
	char body[400];
	memset(body, 'x', sizeof(body));
	body[0] = '\n';
	remoteapp_parse_error(body, sizeof(body), &e);
	assert_string_equal(e.code, "");
	assert_int_equal(strlen(e.message), 200);
	assert_int_equal(e.message[0], ' ');
	remoteapp_parse_error("", 0, &e);
	assert_string_equal(e.message, "");
	/* never split a UTF-8 sequence */
	memset(body, 'a', sizeof(body));
	memcpy(body + 199, "\xc3\xa9", 2);
	remoteapp_parse_error(body, sizeof(body), &e);
	assert_int_equal(strlen(e.message), 199);
}

static void classification(void **state)
{
	struct service_error none = {"", ""}, coll = {"CollectionDoesNotExist", "no"};
	struct service_error nos = {"SessionDoesNotExist", "No session for user"};
	assert_int_equal(remoteapp_classify(200, &none), SERVICE_V_OK);
	assert_int_equal(remoteapp_classify(202, &none), SERVICE_V_OK);
	assert_int_equal(remoteapp_classify(404, &coll), SERVICE_V_FAILED);
	assert_int_equal(remoteapp_classify(404, &nos), SERVICE_V_NO_SESSION);
	assert_int_equal(remoteapp_classify(404, &none), SERVICE_V_FAILED);
	assert_int_equal(remoteapp_classify(400, &none), SERVICE_V_FAILED);
	assert_int_equal(remoteapp_classify(409, &none), SERVICE_V_FAILED);
	assert_int_equal(remoteapp_classify(401, &none), SERVICE_V_UNAUTHORIZED);
	assert_int_equal(remoteapp_classify(403, &none), SERVICE_V_FORBIDDEN);
	int retry[] = {0, 408, 429, 500, 502, 503, 504};
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		assert_int_equal(remoteapp_classify(retry[i], &none), SERVICE_V_RETRY);
	assert_true(service_throttled(429) && service_throttled(503));
	assert_false(service_throttled(500) || service_throttled(0) || service_throttled(200));
	assert_true(remoteapp_details_no_session("... Details: No session found for user x."));
	assert_false(remoteapp_details_no_session("Details: User: yadavb_000, Success."));
}

static void header_values(void **state)
{
	char v[48];
	const char *h = "X-RemoteApp-Operation-Tracking-Id:  91036d3c-9a24 \r\n";
	assert_true(service_header_value(h, strlen(h), REMOTEAPP_TRACKING_HEADER, v, sizeof(v)));
	assert_string_equal(v, "91036d3c-9a24");
	assert_false(service_header_value(h, strlen(h), "x-ms-request-id", v, sizeof(v)));
	const char *p = "x-remoteapp-operation-tracking-idx: 1\r\n";
	assert_false(service_header_value(p, strlen(p), REMOTEAPP_TRACKING_HEADER, v, sizeof(v)));
}

/* A tracking id is polled and recorded whole, or not at all. */
static void tracking_ids(void **state)
{
	char id[SERVICE_OP_ID_MAX + 2];
	assert_null(service_op_id_problem("91036d3c-9a24-4d3a-8f5e-0a2b6c8d1e3f"));
	assert_string_equal(service_op_id_problem(""), "is empty");
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	assert_string_equal(service_op_id_problem(id), "is longer than 256 bytes");
	id[SERVICE_OP_ID_MAX] = '\0';
	assert_null(service_op_id_problem(id));
	assert_string_equal(service_op_id_problem("op\x1b[31m"), "holds control characters");
	assert_string_equal(service_op_id_problem("op\x7f"), "holds control characters");
	assert_string_equal(service_op_id_problem(".."), "is not a path segment");
	assert_null(service_op_id_problem("op 1/2%"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(url_matches_recording),
	    cmocka_unit_test(segments_are_percent_encoded),
	    cmocka_unit_test(bad_segments_are_refused),
	    cmocka_unit_test(body_is_escaped_json),
	    cmocka_unit_test(result_status_any_case),
	    cmocka_unit_test(error_xml_wrapped_json),
	    cmocka_unit_test(error_rdfe_xml),
	    cmocka_unit_test(error_azure_json),
	    cmocka_unit_test(error_other_keeps_200_bytes),
	    cmocka_unit_test(classification),
	    cmocka_unit_test(header_values),
	    cmocka_unit_test(tracking_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
