/* test_conformance.c — the recorded exchanges with the live service, both ways.
 *
 * For every entry of every file in shared/conformance/remoteapp-recordings/:
 *  - what we would send: api.c builds the same path and query from the
 *    recorded subscription, namespace and collection, and a JSON-equal body;
 *  - what came back: every recorded response is understood (tracking id
 *    from the 202's headers, operation status, the XML-wrapped 404, the
 *    session list).
 * The over-the-wire half (real headers, captured by the emulator) is
 * tests/integration/conformance.py. RABULK_RECORDINGS overrides the folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "service/remoteapp.h"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *dir(void)
{
	const char *d = getenv("RABULK_RECORDINGS");
	return d ? d : "../shared/conformance/remoteapp-recordings";
}

static cJSON *load(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	cJSON *root = cJSON_ParseWithLength(buf, (size_t)n);
	free(buf);
	assert_non_null(root);
	return root;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* segs of "/sub/services/ns/collections/c/sessions/op?..." */
static void check_request(const cJSON *e, const char *sub)
{
	char uri[1024], path[512], url[1024], body[512], ns[64], coll[64], tail[64];
	const char *method = str(e, "RequestMethod");
	snprintf(uri, sizeof(uri), "%s", str(e, "RequestUri"));
	struct service_target t = {"", sub, ns};
	int n = sscanf(uri, "/%*[^/]/services/%63[^/]/%511[^?]", ns, path);
	assert_int_equal(n, 2);
	if (strncmp(path, "operationResults/", 17) == 0) {
		assert_string_equal(method, "GET");
		assert_true(remoteapp_url_result(url, sizeof(url), &t, path + 17) > 0);
	} else if (sscanf(path, "collections/%63[^/]/sessions/%63s", coll, tail) == 2) {
		enum service_op op = strcmp(tail, "disconnect") == 0 ? SERVICE_DISCONNECT
				     : strcmp(tail, "logoff") == 0   ? SERVICE_LOGOFF
								     : SERVICE_MESSAGE;
		assert_string_equal(method, "POST");
		assert_true(remoteapp_url_op(url, sizeof(url), &t, coll, op) > 0);
		cJSON *rec = cJSON_Parse(str(e, "RequestBody"));
		const char *msg = str(rec, "Message");
		assert_true(
		    remoteapp_body(body, sizeof(body), str(rec, "UserUpn"), *msg ? msg : NULL) > 0);
		cJSON *ours = cJSON_Parse(body);
		assert_true(cJSON_Compare(rec, ours, 1));
		cJSON_Delete(rec);
		cJSON_Delete(ours);
	} else {
		assert_int_equal(sscanf(path, "collections/%63[^/]/sessions", coll), 1);
		assert_string_equal(method, "GET");
		assert_true(remoteapp_url_sessions(url, sizeof(url), &t, coll) > 0);
	}
	assert_string_equal(url, uri);
	const cJSON *h = cJSON_GetObjectItem(e, "RequestHeaders");
	assert_string_equal(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(h, "x-ms-version"), 0)->valuestring,
	    REMOTEAPP_MS_VERSION);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(h, "Accept"), 0)->valuestring,
			    REMOTEAPP_ACCEPT);
}

static int count_session(void *arg, const struct service_session *s)
{
	(*(int *)arg)++;
	assert_non_null(strchr(s->upn, '@'));
	assert_true(s->state[0] != '\0');
	return 0;
}

static void check_response(const cJSON *e)
{
	int status = cJSON_GetObjectItem(e, "StatusCode")->valueint;
	const char *body = str(e, "ResponseBody"), *uri = str(e, "RequestUri");
	struct service_error err;
	remoteapp_parse_error(body, strlen(body), &err);
	if (status == 202) {
		char line[256], v[48];
		const cJSON *h = cJSON_GetObjectItem(e, "ResponseHeaders");
		const char *id =
		    cJSON_GetArrayItem(cJSON_GetObjectItem(h, REMOTEAPP_TRACKING_HEADER), 0)
			->valuestring;
		snprintf(line, sizeof(line), "%s: %s\r\n", REMOTEAPP_TRACKING_HEADER, id);
		assert_true(service_header_value(line, strlen(line), REMOTEAPP_TRACKING_HEADER, v,
						 sizeof(v)));
		assert_string_equal(v, id);
		assert_int_equal(remoteapp_classify(status, &err), SERVICE_V_OK);
	} else if (status == 404) {
		assert_string_equal(err.code, REMOTEAPP_COLLECTION_MISSING);
		assert_non_null(strstr(err.message, "does not exist"));
		assert_int_equal(remoteapp_classify(status, &err), SERVICE_V_FAILED);
	} else if (strstr(uri, "/operationResults/")) {
		struct service_opresult r;
		assert_int_equal(remoteapp_parse_result(body, strlen(body), &r), 0);
		assert_true(r.status == SERVICE_OP_PENDING || r.status == SERVICE_OP_SUCCESS);
		assert_false(remoteapp_details_no_session(r.details));
	} else {
		int n = 0;
		assert_int_equal(remoteapp_parse_sessions(body, strlen(body), count_session, &n),
				 0);
		assert_true(n >= 0);
	}
}

static void recordings(void **state)
{
	DIR *d = opendir(dir());
	struct dirent *de;
	int files = 0, entries = 0;
	assert_non_null(d);
	while ((de = readdir(d))) {
		char path[1024];
		if (!strstr(de->d_name, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir(), de->d_name);
		cJSON *root = load(path), *e;
		const char *sub = str(cJSON_GetObjectItem(root, "Variables"), "SubscriptionId");
		cJSON_ArrayForEach(e, cJSON_GetObjectItem(root, "Entries"))
		{
			check_request(e, sub);
			check_response(e);
			entries++;
		}
		cJSON_Delete(root);
		files++;
	}
	closedir(d);
	print_message("%d recordings, %d exchanges\n", files, entries);
	assert_true(files >= 3);
	assert_true(entries >= 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(recordings)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
