/* test_avd.c — Azure Virtual Desktop's protocol (service/avd.c), against
 * the live recordings and the spec's examples, and by hand.
 *
 * The recordings (../shared/conformance/avd-recordings, RABULK_AVD_RECORDINGS
 * overrides) are read at test time, never copied. For every recorded
 * exchange:
 *  - what we would send: the same method, path and query (api-version ours,
 *    first, force=true after it on a DELETE) and a JSON-equal body, built
 *    from names read out of the recorded URI; recorded request ids are
 *    v4 UUIDs our formatter gives back byte for byte;
 *  - what came back: every answer classified, every list parsed (sessions,
 *    host names as spelled, ids, UPNs), every SessionHost read, and the
 *    ARM bucket each call draws from is the one whose remaining-count
 *    header came back.
 * The spec's examples (../shared/conformance/avd-spec-examples,
 * RABULK_AVD_SPEC overrides) give paths by template and the spec's list
 * shape (name "1", no nextLink). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "service/avd.h"
#include "lib/err.h"
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *recordings_dir(void)
{
	const char *d = getenv("RABULK_AVD_RECORDINGS");
	return d ? d : "../shared/conformance/avd-recordings";
}

static const char *spec_dir(void)
{
	const char *d = getenv("RABULK_AVD_SPEC");
	return d ? d : "../shared/conformance/avd-spec-examples";
}

/* Reads a whole file; caller owns the result. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open '%s'", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static cJSON *load(const char *dir, const char *name)
{
	char path[1024];
	size_t n;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *buf = slurp(path, &n);
	cJSON *root = cJSON_ParseWithLength(buf, n);
	free(buf);
	assert_non_null(root);
	return root;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* The first value of a recorded header (values are arrays), or NULL. */
static const char *header(const cJSON *msg, const char *group, const char *name)
{
	const cJSON *v;
	cJSON_ArrayForEach(v, cJSON_GetObjectItemCaseSensitive(msg, group))
	{
		if (strcasecmp(v->string, name) == 0)
			return cJSON_GetArrayItem(v, 0)->valuestring;
	}
	return NULL;
}

/* Splits an absolute URL on our endpoint into path and query (no '?'). */
static void split_url(const char *url, char *path, size_t pcap, char *query, size_t qcap)
{
	size_t m = strlen(AVD_ENDPOINT);
	assert_int_equal(strncmp(url, AVD_ENDPOINT, m), 0);
	const char *q = strchr(url, '?');
	assert_non_null(q);
	snprintf(path, pcap, "%.*s", (int)(q - url - m), url + m);
	snprintf(query, qcap, "%s", q + 1);
}

/* ---- the recordings --------------------------------------------------- */

struct tally {
	int files, entries, pool_lists, host_lists, disconnects, logoffs, messages, drains,
	    session_gets, host_gets, request_ids;
	int ok, no_session, lists, sessions, hosts;
	int last_allow; /* the last PATCH's allowNewSession */
};

/* Hex digits of a UUID back to its 16 bytes. */
static void uuid_bytes(const char *uuid, unsigned char b[16])
{
	for (int i = 0, k = 0; i < 16; k++) {
		if (uuid[k] == '-')
			continue;
		unsigned v;
		assert_int_equal(sscanf(uuid + k, "%2x", &v), 1);
		b[i++] = (unsigned char)v;
		k++;
	}
}

static void check_request_id(const cJSON *req, struct tally *t)
{
	const char *id = header(req, "Headers", AVD_CLIENT_REQUEST_ID_HEADER);
	unsigned char b[16];
	char ours[40];
	if (!id) /* the recorder kept no headers for requests with a body */
		return;
	uuid_bytes(id, b);
	assert_int_equal(avd_request_id(ours, sizeof(ours), b), 36);
	assert_string_equal(ours, id);
	t->request_ids++;
}

/* Builds what the recorded request asked for and compares method, path,
 * query and body. Returns the call made, or -1 for a request rabulk never
 * sends (a session host's own session list). */
static int check_request(const cJSON *req, struct tally *t)
{
	char path[1024], query[256], sub[257], rg[257], hp[257], sh[257], id[257], rest[512];
	char url[2048], our_path[1024], our_query[256], body[512];
	const char *method = str(req, "Method");
	int used = 0, call = -1;
	enum avd_call built = AVD_DISCONNECT;
	struct avd_session_ref ref;
	const char *why = NULL;

	check_request_id(req, t);
	split_url(str(req, "RequestUri"), path, sizeof(path), query, sizeof(query));
	/* the query is api-version alone, whatever version the test ran with */
	assert_int_equal(strncmp(query, "api-version=", 12), 0);
	assert_null(strchr(query, '&'));
	assert_int_equal(sscanf(path,
				"/subscriptions/%256[^/]/resourceGroups/%256[^/]/providers/"
				"Microsoft.DesktopVirtualization/hostPools/%256[^/]%n",
				sub, rg, hp, &used),
			 3);
	snprintf(rest, sizeof(rest), "%s", path + used);
	memset(&ref, 0, sizeof(ref));
	snprintf(ref.pool.subscription, sizeof(ref.pool.subscription), "%s", sub);
	snprintf(ref.pool.resource_group, sizeof(ref.pool.resource_group), "%s", rg);
	snprintf(ref.pool.host_pool, sizeof(ref.pool.host_pool), "%s", hp);
	body[0] = '\0';

	if (strcmp(rest, "/userSessions") == 0) {
		assert_string_equal(method, "GET");
		assert_true(avd_url_sessions(url, sizeof(url), AVD_ENDPOINT, &ref.pool) > 0);
		call = AVD_LIST_SESSIONS, t->pool_lists++;
	} else if (sscanf(rest, "/sessionHosts/%256[^/]/userSessions/%256[^/]%n", sh, id, &used) ==
		   2) {
		const char *action = rest + used;
		snprintf(ref.session_host, sizeof(ref.session_host), "%s", sh);
		snprintf(ref.id, sizeof(ref.id), "%s", id);
		/* our parser reads the same names out of the recorded path */
		char resource[1024];
		struct avd_session_ref back;
		snprintf(resource, sizeof(resource), "%.*s", (int)(strlen(path) - strlen(action)),
			 path);
		assert_int_equal(avd_parse_session_address(resource, NULL, NULL, &back, &why), 0);
		assert_memory_equal(&back, &ref, sizeof(ref));
		if (strcmp(action, "/disconnect") == 0) {
			call = built = AVD_DISCONNECT, t->disconnects++;
		} else if (strcmp(action, "/sendMessage") == 0) {
			const cJSON *rec = cJSON_Parse(str(req, "Content"));
			assert_non_null(rec);
			assert_true(avd_session_request(url, sizeof(url), body, sizeof(body),
							AVD_ENDPOINT, &ref, AVD_MESSAGE,
							str(rec, "messageTitle"),
							str(rec, "messageBody")) > 0);
			cJSON *ours = cJSON_Parse(body);
			assert_true(cJSON_Compare(rec, ours, 1));
			cJSON_Delete(ours);
			cJSON_Delete((cJSON *)rec);
			call = AVD_MESSAGE, t->messages++;
		} else {
			/* a logoff, or Get-AzWvdUserSession reading the resource a logoff deletes
			 */
			assert_string_equal(action, "");
			call = strcmp(method, "GET") == 0 ? -2 : AVD_LOGOFF;
			built = AVD_LOGOFF;
			if (call == AVD_LOGOFF)
				t->logoffs++;
			else
				t->session_gets++;
		}
		if (call != AVD_MESSAGE)
			assert_int_equal(avd_session_request(url, sizeof(url), body, sizeof(body),
							     AVD_ENDPOINT, &ref, built, NULL, NULL),
					 0);
	} else if (sscanf(rest, "/sessionHosts/%256[^/]%n", sh, &used) == 1 && !rest[used]) {
		assert_true(avd_url_session_host(url, sizeof(url), AVD_ENDPOINT, &ref.pool, sh) >
			    0);
		if (strcmp(method, "PATCH") == 0) {
			const cJSON *rec = cJSON_Parse(str(req, "Content"));
			const cJSON *allow = cJSON_GetObjectItem(
			    cJSON_GetObjectItem(rec, "properties"), "allowNewSession");
			assert_true(cJSON_IsBool(allow));
			assert_true(avd_drain_body(body, sizeof(body), cJSON_IsTrue(allow)) > 0);
			cJSON *ours = cJSON_Parse(body);
			assert_true(cJSON_Compare(rec, ours, 1));
			cJSON_Delete(ours);
			cJSON_Delete((cJSON *)rec);
			assert_string_equal(header(req, "ContentHeaders", "Content-Type"),
					    AVD_CONTENT_TYPE);
			call = AVD_DRAIN, t->drains++;
		} else {
			call = -2, t->host_gets++;
		}
	} else {
		assert_string_equal(method, "GET");
		assert_int_equal(sscanf(rest, "/sessionHosts/%256[^/]/userSessions%n", sh, &used),
				 1);
		assert_string_equal(rest + used, "");
		t->host_lists++;
		return -1;
	}
	if (call >= 0)
		assert_string_equal(method, avd_method((enum avd_call)call));
	if (call == AVD_MESSAGE)
		assert_string_equal(header(req, "ContentHeaders", "Content-Type"),
				    AVD_CONTENT_TYPE);
	split_url(url, our_path, sizeof(our_path), our_query, sizeof(our_query));
	assert_string_equal(our_path, path);
	assert_string_equal(our_query, built == AVD_LOGOFF ? "api-version=" AVD_API_VERSION
							     "&force=true"
							   : "api-version=" AVD_API_VERSION);
	return call;
}

struct seen {
	int n;
	char sh[4][64], id[4][16], upn[4][64], state[4][32];
};

static int note_session(void *arg, const struct avd_session *s)
{
	struct seen *seen = arg;
	assert_true(seen->n < 4);
	snprintf(seen->sh[seen->n], sizeof(seen->sh[0]), "%s", s->session_host);
	snprintf(seen->id[seen->n], sizeof(seen->id[0]), "%s", s->id);
	snprintf(seen->upn[seen->n], sizeof(seen->upn[0]), "%s", s->upn);
	snprintf(seen->state[seen->n], sizeof(seen->state[0]), "%s", s->state);
	assert_string_equal(s->host_pool, "alecbUserSessionHP");
	assert_string_equal(s->resource_group, "alecbUserSessionTests");
	assert_string_equal(s->app_type, "Desktop");
	assert_true(s->create_time[0] != '\0');
	assert_non_null(strstr(s->resource_id, "/usersessions/"));
	seen->n++;
	return 0;
}

static const char *upn_of(const char *id)
{
	return strcmp(id, "2") == 0   ? "pwshtest2@wvdtesttenant.onmicrosoft.com"
	       : strcmp(id, "3") == 0 ? "admin@wvdtesttenant.onmicrosoft.com"
	       : strcmp(id, "5") == 0 ? "pwshtest1@wvdtesttenant.onmicrosoft.com"
				      : "?";
}

/* A SessionHost's fields, copied (the callback's strings are borrowed). */
struct host_copy {
	char pool[64], name[64], status[32];
	int allow, sessions;
};

static int note_host(void *arg, const struct avd_session_host *h)
{
	struct host_copy *c = arg;
	snprintf(c->pool, sizeof(c->pool), "%s", h->host_pool);
	snprintf(c->name, sizeof(c->name), "%s", h->name);
	snprintf(c->status, sizeof(c->status), "%s", h->status);
	c->allow = h->allow_new_session;
	c->sessions = h->sessions;
	return 0;
}

static void check_answer(const cJSON *req, const cJSON *resp, int call, struct tally *t)
{
	int status = cJSON_GetObjectItem(resp, "StatusCode")->valueint;
	const char *body = str(resp, "Content"), *method = str(req, "Method");
	const char *uri = str(req, "RequestUri");
	struct service_error e;
	char bucket[96];

	avd_parse_error(status >= 300 ? body : "", status >= 300 ? strlen(body) : 0, &e);
	if (call >= 0) { /* the remaining count of the bucket the call draws from */
		snprintf(bucket, sizeof(bucket), "x-ms-ratelimit-remaining-subscription-%s",
			 avd_quota_bucket((enum avd_call)call));
		assert_non_null(header(resp, "Headers", bucket));
	}
	if (status == 404) {
		assert_string_equal(e.code, "404");
		assert_non_null(strstr(e.message, "ActivityId: "));
		assert_true(avd_details_no_session(e.message));
		assert_int_equal(avd_classify(status, &e), SERVICE_V_NO_SESSION);
		t->no_session++;
		return;
	}
	assert_int_equal(avd_classify(status, &e), SERVICE_V_OK);
	t->ok++;
	if (call == AVD_DISCONNECT || call == AVD_MESSAGE || call == AVD_LOGOFF) {
		/* 200 or 204, and nothing to read */
		assert_true(status == (call == AVD_LOGOFF ? 204 : 200));
		assert_string_equal(body, "");
	} else if (strstr(uri, "/sessionHosts/") && !strstr(uri, "/userSessions")) {
		struct host_copy h;
		assert_int_equal(avd_parse_session_host(body, strlen(body), note_host, &h), 0);
		assert_string_equal(h.pool, "zhongjie-automated2");
		assert_string_equal(h.name, "auto2-0");
		assert_string_equal(h.status, "Available");
		assert_int_equal(h.sessions, 0);
		/* the PATCH answer shows the new value already, and the GET after it too */
		if (strcmp(method, "PATCH") == 0)
			t->last_allow = strstr(str(req, "Content"), "true") != NULL;
		assert_int_equal(h.allow, t->last_allow);
		t->hosts++;
	} else if (strstr(uri, "userSessions?")) { /* a list */
		struct seen seen;
		struct avd_page page;
		memset(&seen, 0, sizeof(seen));
		assert_int_equal(avd_parse_sessions(body, strlen(body), note_session, &seen, &page),
				 0);
		assert_int_equal(page.items, (unsigned)seen.n);
		assert_int_equal(page.skipped, 0);
		assert_string_equal(page.next_link, ""); /* "nextLink":null */
		for (int i = 0; i < seen.n; i++) {
			assert_string_equal(seen.sh[i], "userSess-sh-0"); /* as spelled */
			assert_string_equal(seen.upn[i], upn_of(seen.id[i]));
			assert_string_equal(seen.state[i], "Disconnected");
		}
		if (call == AVD_LIST_SESSIONS) { /* the pool's own order: 3, 5, 2 */
			assert_int_equal(seen.n, 3);
			assert_string_equal(seen.id[0], "3");
			assert_string_equal(seen.id[1], "5");
			assert_string_equal(seen.id[2], "2");
		} else if (seen.n) {
			assert_int_equal(seen.n, 3);
			assert_string_equal(seen.id[0], "2");
		}
		t->lists++, t->sessions += seen.n;
	} else { /* one UserSession: an object, not a list */
		struct avd_page page;
		assert_string_equal(method, "GET");
		assert_int_equal(avd_parse_sessions(body, strlen(body), note_session, NULL, &page),
				 ERR_PARSE);
		assert_non_null(strstr(body, "\"userPrincipalName\":\""));
	}
}

static void recordings(void **state)
{
	DIR *d = opendir(recordings_dir());
	struct dirent *de;
	struct tally t;
	memset(&t, 0, sizeof(t));
	if (!d)
		fail_msg("cannot open '%s'", recordings_dir());
	while ((de = readdir(d))) {
		if (!strstr(de->d_name, ".Recording.json"))
			continue;
		cJSON *root = load(recordings_dir(), de->d_name), *e;
		cJSON_ArrayForEach(e, root)
		{
			const cJSON *req = cJSON_GetObjectItem(e, "Request");
			const cJSON *resp = cJSON_GetObjectItem(e, "Response");
			int call = check_request(req, &t);
			check_answer(req, resp, call, &t);
			t.entries++;
		}
		cJSON_Delete(root);
		t.files++;
	}
	closedir(d);
	print_message("%d recordings, %d exchanges: %d sessions in %d lists, %d request ids\n",
		      t.files, t.entries, t.sessions, t.lists, t.request_ids);
	assert_int_equal(t.files, 8);
	assert_int_equal(t.entries, 17);
	assert_int_equal(t.pool_lists, 2);
	assert_int_equal(t.host_lists, 3);
	assert_int_equal(t.disconnects, 1);
	assert_int_equal(t.logoffs, 1);
	assert_int_equal(t.messages, 2);
	assert_int_equal(t.drains, 2);
	assert_int_equal(t.session_gets, 4);
	assert_int_equal(t.host_gets, 2);
	assert_int_equal(t.no_session, 2);
	assert_int_equal(t.ok, 15);
	assert_int_equal(t.lists, 5);
	assert_int_equal(t.sessions, 12);
	assert_int_equal(t.hosts, 4);
	assert_int_equal(t.request_ids, 13);
}

/* ---- the spec's examples ---------------------------------------------- */

/* The path of the operation whose x-ms-examples names file, with the
 * example's parameters put in; *method set to its (upper-case) method. */
static void spec_path(const cJSON *spec, const char *file, const cJSON *params, char *dst,
		      size_t cap, char *method)
{
	char ref[256];
	const cJSON *path, *op, *ex;
	method[0] = '\0';
	snprintf(ref, sizeof(ref), "./examples/%s", file);
	cJSON_ArrayForEach(path, cJSON_GetObjectItem(spec, "paths"))
	{
		cJSON_ArrayForEach(op, path)
		{
			cJSON_ArrayForEach(ex, cJSON_GetObjectItem(op, "x-ms-examples"))
			{
				if (strcmp(str(ex, "$ref"), ref) != 0)
					continue;
				size_t n = 0;
				for (const char *p = path->string; *p && n + 1 < cap;) {
					const char *close = *p == '{' ? strchr(p, '}') : NULL;
					if (!close) {
						dst[n++] = *p++;
						continue;
					}
					char name[64];
					snprintf(name, sizeof(name), "%.*s", (int)(close - p - 1),
						 p + 1);
					n += (size_t)snprintf(dst + n, cap - n, "%s",
							      str(params, name));
					p = close + 1;
				}
				dst[n] = '\0';
				for (int i = 0; op->string[i] && i < 7; i++)
					method[i] = (char)(op->string[i] & ~0x20),
					method[i + 1] = 0;
				return;
			}
		}
	}
	fail_msg("no operation names %s", file);
}

static void example_request(const cJSON *spec, const char *file, enum avd_call call)
{
	cJSON *ex = load(spec_dir(), file);
	const cJSON *p = cJSON_GetObjectItem(ex, "parameters");
	char want[1024], method[8], url[2048], body[512], path[1024], query[256];
	struct avd_session_ref ref;
	memset(&ref, 0, sizeof(ref));
	snprintf(ref.pool.subscription, sizeof(ref.pool.subscription), "%s",
		 str(p, "subscriptionId"));
	snprintf(ref.pool.resource_group, sizeof(ref.pool.resource_group), "%s",
		 str(p, "resourceGroupName"));
	snprintf(ref.pool.host_pool, sizeof(ref.pool.host_pool), "%s", str(p, "hostPoolName"));
	snprintf(ref.session_host, sizeof(ref.session_host), "%s", str(p, "sessionHostName"));
	snprintf(ref.id, sizeof(ref.id), "%s", str(p, "userSessionId"));
	assert_string_equal(str(p, "api-version"), AVD_API_VERSION);
	spec_path(spec, file, p, want, sizeof(want), method);
	assert_string_equal(method, avd_method(call));
	switch (call) {
	case AVD_LIST_SESSIONS:
		assert_true(avd_url_sessions(url, sizeof(url), AVD_ENDPOINT, &ref.pool) > 0);
		break;
	case AVD_LIST_HOSTS:
		assert_true(avd_url_session_hosts(url, sizeof(url), AVD_ENDPOINT, &ref.pool) > 0);
		break;
	case AVD_DRAIN: {
		const cJSON *allow = cJSON_GetObjectItem(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(p, "sessionHost"), "properties"),
		    "allowNewSession");
		assert_true(cJSON_IsBool(allow)); /* the field our body sets, where we set it */
		assert_true(avd_url_session_host(url, sizeof(url), AVD_ENDPOINT, &ref.pool,
						 ref.session_host) > 0);
		break;
	}
	default: {
		const cJSON *msg = cJSON_GetObjectItem(p, "sendMessage");
		int n =
		    avd_session_request(url, sizeof(url), body, sizeof(body), AVD_ENDPOINT, &ref,
					call, str(msg, "messageTitle"), str(msg, "messageBody"));
		assert_true(n >= 0);
		if (msg) {
			cJSON *ours = cJSON_Parse(body);
			assert_true(cJSON_Compare(msg, ours, 1));
			cJSON_Delete(ours);
		} else {
			assert_int_equal(n, 0);
		}
		/* force is the spec's one boolean query parameter; true on a logoff */
		const cJSON *force = cJSON_GetObjectItem(p, "force");
		assert_int_equal(cJSON_IsTrue(force), call == AVD_LOGOFF);
	}
	}
	split_url(url, path, sizeof(path), query, sizeof(query));
	assert_string_equal(path, want);
	assert_string_equal(query, call == AVD_LOGOFF ? "api-version=2025-10-10&force=true"
						      : "api-version=2025-10-10");
	cJSON_Delete(ex);
}

struct spec_seen {
	int n;
	const char *host;
};

static int spec_session(void *arg, const struct avd_session *s)
{
	struct spec_seen *seen = arg;
	char id[8];
	snprintf(id, sizeof(id), "%d", ++seen->n);
	assert_string_equal(s->id, id); /* from the resource id: the spec's name is "1" too */
	assert_string_equal(s->session_host, "sessionHost1.microsoft.com");
	assert_string_equal(s->host_pool, "hostPool1");
	assert_string_equal(s->resource_group, "resourceGroup1");
	assert_string_equal(s->upn, "user1@microsoft.com");
	assert_string_equal(s->state, "Active");
	return 0;
}

static int spec_host(void *arg, const struct avd_session_host *h)
{
	struct spec_seen *seen = arg;
	/* the second example's id drops a dot its name has: the id is what we address */
	assert_string_equal(h->name, seen->n++ == 0 ? "sessionHost1.microsoft.com"
						    : "sessionHost2microsoft.com");
	assert_int_equal(h->allow_new_session, 1);
	assert_int_equal(h->sessions, 1);
	assert_string_equal(h->status, "Available");
	return 0;
}

static void spec_examples(void **state)
{
	cJSON *spec = load(spec_dir(), "desktopvirtualization.json");
	example_request(spec, "UserSession_ListByHostPool.json", AVD_LIST_SESSIONS);
	example_request(spec, "SessionHost_List.json", AVD_LIST_HOSTS);
	example_request(spec, "UserSession_Disconnect_Post.json", AVD_DISCONNECT);
	example_request(spec, "UserSession_Delete.json", AVD_LOGOFF);
	example_request(spec, "UserSession_SendMessage_Post.json", AVD_MESSAGE);
	example_request(spec, "SessionHost_Update.json", AVD_DRAIN);
	cJSON_Delete(spec);

	static const char *const lists[] = {"UserSession_ListByHostPool.json",
					    "UserSession_List.json"};
	for (size_t i = 0; i < 2; i++) {
		cJSON *ex = load(spec_dir(), lists[i]);
		char *body = cJSON_PrintUnformatted(cJSON_GetObjectItem(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(ex, "responses"), "200"), "body"));
		struct spec_seen seen = {0, NULL};
		struct avd_page page;
		assert_int_equal(avd_parse_sessions(body, strlen(body), spec_session, &seen, &page),
				 0);
		assert_int_equal(seen.n, 2);
		assert_string_equal(page.next_link, ""); /* absent in the spec's shape */
		free(body);
		cJSON_Delete(ex);
	}
	cJSON *ex = load(spec_dir(), "SessionHost_List.json");
	char *body = cJSON_PrintUnformatted(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(ex, "responses"), "200"), "body"));
	struct spec_seen seen = {0, NULL};
	struct avd_page page;
	assert_int_equal(avd_parse_session_hosts(body, strlen(body), spec_host, &seen, &page), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(page.items, 2);
	free(body);
	cJSON_Delete(ex);
}

/* ---- by hand ----------------------------------------------------------- */

#define SUB "6738509d-84ed-4ad6-974a-7dc4e3c34146"
#define POOL_PATH                                                                                  \
	AVD_ENDPOINT "/subscriptions/" SUB "/resourceGroups/zhongjie-rg-wus/providers/"            \
		     "Microsoft.DesktopVirtualization/hostPools/zhongjie-automated"

static struct avd_session_ref recorded_session(void)
{
	struct avd_session_ref r;
	memset(&r, 0, sizeof(r));
	strcpy(r.pool.subscription, SUB);
	strcpy(r.pool.resource_group, "zhongjie-rg-wus");
	strcpy(r.pool.host_pool, "zhongjie-automated");
	strcpy(r.session_host, "auto-0");
	strcpy(r.id, "2");
	return r;
}

static void urls_by_hand(void **state)
{
	struct avd_session_ref r = recorded_session();
	char url[1024], body[64];
	assert_int_equal(avd_url_sessions(url, sizeof(url), AVD_ENDPOINT, &r.pool),
			 (int)strlen(POOL_PATH "/userSessions?api-version=2025-10-10"));
	assert_string_equal(url, POOL_PATH "/userSessions?api-version=2025-10-10");
	assert_true(avd_url_session_hosts(url, sizeof(url), AVD_ENDPOINT, &r.pool) > 0);
	assert_string_equal(url, POOL_PATH "/sessionHosts?api-version=2025-10-10");
	assert_true(avd_url_session_host(url, sizeof(url), AVD_ENDPOINT, &r.pool, "auto-0") > 0);
	assert_string_equal(url, POOL_PATH "/sessionHosts/auto-0?api-version=2025-10-10");
	assert_true(avd_url_session(url, sizeof(url), AVD_ENDPOINT, &r, AVD_DISCONNECT) > 0);
	assert_string_equal(
	    url, POOL_PATH "/sessionHosts/auto-0/userSessions/2/disconnect?api-version=2025-10-10");
	assert_true(avd_url_session(url, sizeof(url), AVD_ENDPOINT, &r, AVD_LOGOFF) > 0);
	assert_string_equal(
	    url, POOL_PATH "/sessionHosts/auto-0/userSessions/2?api-version=2025-10-10&force=true");
	assert_true(avd_url_session(url, sizeof(url), AVD_ENDPOINT, &r, AVD_MESSAGE) > 0);
	assert_string_equal(
	    url,
	    POOL_PATH "/sessionHosts/auto-0/userSessions/2/sendMessage?api-version=2025-10-10");
	/* the pool's calls are not a session's */
	assert_int_equal(avd_url_session(url, sizeof(url), AVD_ENDPOINT, &r, AVD_DRAIN), ERR_INVAL);
	assert_int_equal(avd_session_request(url, sizeof(url), body, sizeof(body), AVD_ENDPOINT, &r,
					     AVD_LIST_SESSIONS, NULL, NULL),
			 ERR_INVAL);
	/* disconnect and logoff send no body */
	strcpy(body, "stale");
	assert_int_equal(avd_session_request(url, sizeof(url), body, sizeof(body), AVD_ENDPOINT, &r,
					     AVD_DISCONNECT, "t", "m"),
			 0);
	assert_string_equal(body, "");
	assert_int_equal(avd_session_request(url, sizeof(url), body, 0, AVD_ENDPOINT, &r,
					     AVD_LOGOFF, NULL, NULL),
			 ERR_TOOBIG);
	/* another cloud, or the emulator */
	assert_true(avd_url_sessions(url, sizeof(url), "http://127.0.0.1:8080", &r.pool) > 0);
	assert_int_equal(strncmp(url, "http://127.0.0.1:8080/subscriptions/" SUB "/", 59), 0);
}

static void names_are_escaped(void **state)
{
	struct avd_session_ref r = recorded_session();
	char url[1024];
	strcpy(r.pool.host_pool, "my pool@x");
	strcpy(r.session_host, "a/../../b?c#d");
	strcpy(r.id, "%2e");
	assert_true(avd_url_session(url, sizeof(url), AVD_ENDPOINT, &r, AVD_LOGOFF) > 0);
	assert_non_null(strstr(url, "/hostPools/my%20pool%40x/sessionHosts/a%2F..%2F..%2Fb%3Fc%23d/"
				    "userSessions/%252e?api-version=2025-10-10&force=true"));
	strcpy(r.pool.resource_group, "r\xc3\xa9sum\xc3\xa9");
	assert_true(avd_url_sessions(url, sizeof(url), AVD_ENDPOINT, &r.pool) > 0);
	assert_non_null(strstr(url, "/resourceGroups/r%C3%A9sum%C3%A9/providers/"));
}

static void bad_names_are_refused(void **state)
{
	static const char *const bad[] = {"", ".", "..", "a\r\nX-Evil: 1", "a\n"};
	struct avd_session_ref r;
	char url[1024];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = recorded_session();
		strcpy(r.id, bad[i]);
		assert_int_equal(avd_url_session(url, sizeof(url), AVD_ENDPOINT, &r, AVD_MESSAGE),
				 ERR_INVAL);
		r = recorded_session();
		strcpy(r.session_host, bad[i]);
		assert_int_equal(
		    avd_url_session_host(url, sizeof(url), AVD_ENDPOINT, &r.pool, r.session_host),
		    ERR_INVAL);
		r = recorded_session();
		strcpy(r.pool.subscription, bad[i]);
		assert_int_equal(avd_url_sessions(url, sizeof(url), AVD_ENDPOINT, &r.pool),
				 ERR_INVAL);
	}
	/* every buffer too small by any amount: refused, never cut or overrun */
	r = recorded_session();
	int full = avd_url_session(url, sizeof(url), AVD_ENDPOINT, &r, AVD_LOGOFF);
	assert_true(full > 0);
	for (int cap = 0; cap <= full; cap++) {
		char *small = malloc((size_t)cap + 1);
		assert_int_equal(avd_url_session(small, (size_t)cap, AVD_ENDPOINT, &r, AVD_LOGOFF),
				 ERR_TOOBIG);
		free(small);
	}
	char *exact = malloc((size_t)full + 1);
	assert_int_equal(avd_url_session(exact, (size_t)full + 1, AVD_ENDPOINT, &r, AVD_LOGOFF),
			 full);
	assert_string_equal(exact, url);
	free(exact);
}

static void bodies(void **state)
{
	char body[256];
	assert_int_equal(avd_message_body(body, sizeof(body), "title", "apple"),
			 (int)strlen("{\"messageTitle\":\"title\",\"messageBody\":\"apple\"}"));
	assert_string_equal(body, "{\"messageTitle\":\"title\",\"messageBody\":\"apple\"}");
	assert_true(avd_message_body(body, sizeof(body), "Say \"hi\"", "a\\b\nc\x01\xc3\xa9") > 0);
	assert_string_equal(body, "{\"messageTitle\":\"Say \\\"hi\\\"\",\"messageBody\":"
				  "\"a\\\\b\\u000ac\\u0001\xc3\xa9\"}");
	cJSON *back = cJSON_Parse(body);
	assert_string_equal(str(back, "messageBody"), "a\\b\nc\x01\xc3\xa9");
	cJSON_Delete(back);
	assert_true(avd_message_body(body, sizeof(body), NULL, NULL) > 0);
	assert_string_equal(body, "{\"messageTitle\":\"\",\"messageBody\":\"\"}");
	int full = avd_message_body(body, sizeof(body), "t\"", "m\n");
	for (int cap = 0; cap <= full; cap++)
		assert_int_equal(avd_message_body(body, (size_t)cap, "t\"", "m\n"), ERR_TOOBIG);
	assert_int_equal(avd_drain_body(body, sizeof(body), false),
			 (int)strlen("{\"properties\":{\"allowNewSession\":false}}"));
	assert_string_equal(body, "{\"properties\":{\"allowNewSession\":false}}");
	assert_true(avd_drain_body(body, sizeof(body), true) > 0);
	assert_string_equal(body, "{\"properties\":{\"allowNewSession\":true}}");
	assert_int_equal(avd_drain_body(body, 10, false), ERR_TOOBIG);

	/* the shared escaper itself */
	assert_int_equal(service_json_string(body, sizeof(body), ""), 0);
	assert_string_equal(body, "");
	assert_int_equal(service_json_string(body, 0, ""), ERR_TOOBIG);
	assert_int_equal(service_json_string(body, sizeof(body), "\x1f\x7f"), 7);
	assert_string_equal(body, "\\u001f\x7f");
}

static void message_body_is_big_enough(void **state)
{
	/* a message as long as an input field can be, all of it escaped */
	size_t n = 1024, cap = 64 + 6 * 2 * n;
	char *text = malloc(n + 1), *body = malloc(cap);
	memset(text, '\n', n);
	text[n] = '\0';
	int len = avd_message_body(body, cap, text, text);
	assert_int_equal(len,
			 (int)(strlen("{\"messageTitle\":\"\",\"messageBody\":\"\"}") + 2 * 6 * n));
	cJSON *back = cJSON_Parse(body);
	assert_string_equal(str(back, "messageBody"), text);
	cJSON_Delete(back);
	free(text);
	free(body);
}

static void request_ids(void **state)
{
	unsigned char zero[16] = {0}, ones[16], seq[16];
	char id[37];
	memset(ones, 0xFF, sizeof(ones));
	for (int i = 0; i < 16; i++)
		seq[i] = (unsigned char)(i * 17);
	assert_int_equal(avd_request_id(id, sizeof(id), zero), 36);
	assert_string_equal(id, "00000000-0000-4000-8000-000000000000");
	assert_int_equal(avd_request_id(id, sizeof(id), ones), 36);
	assert_string_equal(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
	assert_int_equal(avd_request_id(id, sizeof(id), seq), 36);
	assert_string_equal(id, "00112233-4455-4677-8899-aabbccddeeff");
	assert_int_equal(avd_request_id(id, 36, seq), ERR_TOOBIG);
}

static void next_links(void **state)
{
	const char *e = AVD_ENDPOINT;
	assert_true(avd_next_link_allowed(
	    "https://management.azure.com/subscriptions/s/resourceGroups/r/providers/"
	    "Microsoft.DesktopVirtualization/hostPools/h/userSessions?api-version=2025-10-10&"
	    "%24skiptoken=abc",
	    e));
	assert_true(avd_next_link_allowed("https://management.azure.com:443/subscriptions/x", e));
	assert_true(avd_next_link_allowed("HTTPS://Management.Azure.com/x", e));
	assert_false(avd_next_link_allowed("https://management.azure.com:8443/x", e));
	assert_false(avd_next_link_allowed("https://management.azure.com.evil.example/x", e));
	assert_false(avd_next_link_allowed("https://management.azure.com@evil.example/x", e));
	assert_false(avd_next_link_allowed("https://management.azure.com:443@evil.example/x", e));
	assert_false(avd_next_link_allowed("http://management.azure.com/x", e));
	assert_false(avd_next_link_allowed("https://management.azure.com", e));
	assert_false(avd_next_link_allowed("/subscriptions/x", e));
	assert_false(avd_next_link_allowed("", e));
	assert_false(avd_next_link_allowed("https://management.azure.com/x y", e));
	assert_false(avd_next_link_allowed("https://management.azure.com/x\r\nHost: evil", e));
	assert_true(
	    avd_next_link_allowed("http://127.0.0.1:8080/x?page=2", "http://127.0.0.1:8080"));
	assert_false(avd_next_link_allowed("http://127.0.0.1:8081/x", "http://127.0.0.1:8080"));
	assert_false(avd_next_link_allowed("http://127.0.0.1:80/x", "http://127.0.0.1:8080"));
	assert_true(avd_next_link_allowed("http://localhost:80/x", "http://localhost"));
	assert_false(avd_next_link_allowed("https://x/y", ""));
}

#define OK_POOL(s) assert_null(avd_validate_host_pool(s, strlen(s)))
#define BAD_POOL(s) assert_non_null(avd_validate_host_pool(s, strlen(s)))

static void host_pool_names(void **state)
{
	char big[80];
	OK_POOL("abc");
	OK_POOL("zhongjie-automated2");
	OK_POOL("my pool@x.y-z_1");
	OK_POOL("..."); /* the spec's pattern allows it; it is not "." or ".." */
	memset(big, 'a', sizeof(big));
	assert_null(avd_validate_host_pool(big, 64));
	assert_string_equal(avd_validate_host_pool(big, 65),
			    "host pool name must be 3 to 64 characters");
	BAD_POOL("ab");
	BAD_POOL("");
	BAD_POOL("a/b/c");
	BAD_POOL("h\xc3\xa9llo");
	BAD_POOL("tab\there");
	BAD_POOL("semi;colon");
	assert_non_null(avd_validate_host_pool("abc\0def", 7)); /* an embedded NUL */
}

#define LIVE_SESSION_ID                                                                            \
	"/subscriptions/dbedef25-184c-430f-b383-0eeb87c3205d/resourcegroups/"                      \
	"alecbUserSessionTests/"                                                                   \
	"providers/Microsoft.DesktopVirtualization/hostpools/alecbUserSessionHP/sessionhosts/"     \
	"userSess-sh-0/usersessions/3"

static void pool_addresses(void **state)
{
	struct avd_pool p;
	const char *why = NULL;
	assert_int_equal(avd_parse_pool_address("/subscriptions/S/resourceGroups/R/providers/"
						"Microsoft.DesktopVirtualization/hostPools/HP 1",
						"default-sub", "default-rg", &p, &why),
			 0);
	assert_string_equal(p.subscription, "S");
	assert_string_equal(p.resource_group, "R");
	assert_string_equal(p.host_pool, "HP 1");
	assert_int_equal(avd_parse_pool_address("/SUBSCRIPTIONS/S/resourcegroups/R/PROVIDERS/"
						"microsoft.desktopvirtualization/HOSTPOOLS/hp1",
						NULL, NULL, &p, &why),
			 0);
	assert_string_equal(p.host_pool, "hp1");
	assert_int_equal(avd_parse_pool_address("rg-1/pool1", "sub", "other", &p, &why), 0);
	assert_string_equal(p.subscription, "sub");
	assert_string_equal(p.resource_group, "rg-1");
	assert_string_equal(p.host_pool, "pool1");
	assert_int_equal(avd_parse_pool_address("pool1", "sub", "rg-2", &p, &why), 0);
	assert_string_equal(p.resource_group, "rg-2");
	assert_string_equal(p.host_pool, "pool1");
	assert_int_equal(avd_parse_pool_address("pool1", NULL, NULL, &p, NULL), ERR_INVAL);
	assert_int_equal(avd_parse_pool_address("pool1", "sub", "", &p, &why), ERR_INVAL);
	assert_non_null(strstr(why, "no resource group"));
	assert_int_equal(avd_parse_pool_address("hp/sh/3", "sub", "rg", &p, &why), ERR_INVAL);
	assert_non_null(strstr(why, "names a user session"));
	assert_int_equal(avd_parse_pool_address(LIVE_SESSION_ID, NULL, NULL, &p, &why), ERR_INVAL);
	assert_string_equal(why, "is not a host-pool resource id");
	assert_int_equal(avd_parse_pool_address("/subscriptions/S/resourceGroups/R/providers/"
						"Microsoft.Compute/hostPools/hp1",
						NULL, NULL, &p, &why),
			 ERR_INVAL);
	assert_int_equal(avd_parse_pool_address("/subscriptions/S/resourceGroups/R/providers/"
						"Microsoft.DesktopVirtualization/hostPools/hp1/",
						NULL, NULL, &p, &why),
			 ERR_INVAL);
	assert_int_equal(avd_parse_pool_address("rg/..", "s", NULL, &p, &why), ERR_INVAL);
	assert_string_equal(why, "has a '.' or '..' part");
	assert_int_equal(avd_parse_pool_address("../pool1", "s", NULL, &p, &why), ERR_INVAL);
	assert_int_equal(avd_parse_pool_address("rg//pool1", "s", NULL, &p, &why), ERR_INVAL);
	assert_int_equal(avd_parse_pool_address("", "s", "rg", &p, &why), ERR_INVAL);
	assert_int_equal(avd_parse_pool_address("rg/pool\x01", "s", NULL, &p, &why), ERR_INVAL);
	assert_int_equal(avd_parse_pool_address("rg/p", "s", NULL, &p, &why), ERR_INVAL);
	assert_string_equal(why, "host pool name must be 3 to 64 characters");
	assert_int_equal(avd_parse_pool_address("a/b/c/d/e/f/g/h/i/j/k/l/m/n", "s", "r", &p, &why),
			 ERR_INVAL);

	char big[400];
	memset(big, 'r', sizeof(big));
	strcpy(big + 300, "/pool1");
	assert_int_equal(avd_parse_pool_address(big, "s", NULL, &p, &why), ERR_TOOBIG);
	big[256] = '/', big[257] = '\0'; /* a 256-byte resource group is kept whole */
	strcat(big, "pool1");
	assert_int_equal(avd_parse_pool_address(big, "s", NULL, &p, &why), 0);
	assert_int_equal(strlen(p.resource_group), 256);
	memset(big, 's', 300);
	big[300] = '\0';
	assert_int_equal(avd_parse_pool_address("rg/pool1", big, NULL, &p, &why), ERR_TOOBIG);
}

static void session_addresses(void **state)
{
	struct avd_session_ref r;
	const char *why = NULL;
	char url[1024];
	assert_int_equal(avd_parse_session_address(LIVE_SESSION_ID, NULL, NULL, &r, &why), 0);
	assert_string_equal(r.pool.subscription, "dbedef25-184c-430f-b383-0eeb87c3205d");
	assert_string_equal(r.pool.resource_group, "alecbUserSessionTests");
	assert_string_equal(r.pool.host_pool, "alecbUserSessionHP");
	assert_string_equal(r.session_host, "userSess-sh-0");
	assert_string_equal(r.id, "3");
	/* sent back in the request's camel case, names as the service spelled them */
	assert_true(avd_url_session(url, sizeof(url), AVD_ENDPOINT, &r, AVD_DISCONNECT) > 0);
	assert_string_equal(url, AVD_ENDPOINT
			    "/subscriptions/dbedef25-184c-430f-b383-0eeb87c3205d/resourceGroups/"
			    "alecbUserSessionTests/providers/Microsoft.DesktopVirtualization/"
			    "hostPools/alecbUserSessionHP/sessionHosts/userSess-sh-0/userSessions/"
			    "3/disconnect?api-version=2025-10-10");

	assert_int_equal(avd_parse_session_address("alecbUserSessionHP/userSess-sh-0/3", "sub",
						   "alecbUserSessionTests", &r, &why),
			 0);
	assert_string_equal(r.pool.subscription, "sub");
	assert_string_equal(r.pool.resource_group, "alecbUserSessionTests");
	assert_string_equal(r.session_host, "userSess-sh-0");
	assert_string_equal(r.id, "3");
	assert_int_equal(avd_parse_session_address("hp1/sh/3", "sub", NULL, &r, &why), ERR_INVAL);
	assert_non_null(strstr(why, "no resource group"));
	assert_int_equal(avd_parse_session_address("rg/hp1", "sub", "rg", &r, &why), ERR_INVAL);
	assert_int_equal(avd_parse_session_address("hp1/sh/..", "sub", "rg", &r, &why), ERR_INVAL);
	assert_int_equal(avd_parse_session_address("hp1/sh/3/4", "sub", "rg", &r, &why), ERR_INVAL);
	assert_int_equal(avd_parse_session_address("hp1//3", "sub", "rg", &r, &why), ERR_INVAL);
	assert_int_equal(avd_parse_session_address("h/sh/3", "sub", "rg", &r, &why), ERR_INVAL);
	assert_int_equal(
	    avd_parse_session_address(LIVE_SESSION_ID "/disconnect", NULL, NULL, &r, &why),
	    ERR_INVAL);
	assert_string_equal(why, "is not a user-session resource id");
	assert_int_equal(avd_parse_session_address("/subscriptions/s/resourcegroups/r/providers/"
						   "Microsoft.DesktopVirtualization/hostpools/hp1/"
						   "applicationgroups/sh/usersessions/3",
						   NULL, NULL, &r, &why),
			 ERR_INVAL);
	assert_int_equal(avd_parse_session_address("/", NULL, NULL, &r, &why), ERR_INVAL);
	assert_int_equal(avd_parse_session_address("", NULL, NULL, &r, &why), ERR_INVAL);
}

struct collect {
	int n, stop_at;
	char last_sh[300], last_id[300], last_state[64], last_app[64], last_upn[64];
};

static int collect(void *arg, const struct avd_session *s)
{
	struct collect *c = arg;
	c->n++;
	snprintf(c->last_sh, sizeof(c->last_sh), "%s", s->session_host);
	snprintf(c->last_id, sizeof(c->last_id), "%s", s->id);
	snprintf(c->last_state, sizeof(c->last_state), "%s", s->state);
	snprintf(c->last_app, sizeof(c->last_app), "%s", s->app_type);
	snprintf(c->last_upn, sizeof(c->last_upn), "%s", s->upn);
	return c->n == c->stop_at ? 7 : 0;
}

static int parse(const char *body, struct collect *c, struct avd_page *page)
{
	memset(c, 0, sizeof(*c));
	return avd_parse_sessions(body, strlen(body), collect, c, page);
}

#define ONE_SESSION(state, app)                                                                    \
	"{\"name\":\"hp1/SH-A.contoso.com/12\",\"id\":\"/subscriptions/s/resourcegroups/r/"        \
	"providers/Microsoft.DesktopVirtualization/hostpools/hp1/sessionhosts/SH-A.contoso.com/"   \
	"usersessions/12\",\"properties\":{\"userPrincipalName\":\"u@x.com\",\"sessionState\":"    \
	"\"" state "\",\"applicationType\":\"" app "\"}}"

static void lists_by_hand(void **state)
{
	struct collect c;
	struct avd_page page;

	/* values outside the spec's enums pass as written */
	assert_int_equal(
	    parse("{\"value\":[" ONE_SESSION("Reconnecting", "Streaming") "],\"nextLink\":null}",
		  &c, &page),
	    0);
	assert_int_equal(c.n, 1);
	assert_string_equal(c.last_state, "Reconnecting");
	assert_string_equal(c.last_app, "Streaming");
	assert_string_equal(c.last_sh, "SH-A.contoso.com");
	assert_string_equal(c.last_id, "12");
	assert_string_equal(page.next_link, "");

	/* nextLink: a string is kept, absent or null ends the list */
	assert_int_equal(parse("{\"value\":[],\"nextLink\":\"https://management.azure.com/x?"
			       "%24skiptoken=a%2Bb\"}",
			       &c, &page),
			 0);
	assert_string_equal(page.next_link, "https://management.azure.com/x?%24skiptoken=a%2Bb");
	assert_int_equal(parse("{\"value\":[]}", &c, &page), 0);
	assert_string_equal(page.next_link, "");
	assert_int_equal(parse("{\"nextLink\":\"\",\"value\":[]}", &c, &page), 0);
	assert_string_equal(page.next_link, "");
	assert_int_equal(
	    parse("{\"value\":[" ONE_SESSION("Active", "Desktop") "],\"nextLink\":5}", &c, &page),
	    ERR_PARSE);
	assert_int_equal(c.n, 0); /* nothing reached the caller */

	/* a nextLink too long to keep is refused before any session is passed on */
	size_t n = AVD_LINK_MAX + 100;
	char *big = malloc(n + 1024);
	int k = snprintf(big, n + 1024,
			 "{\"value\":[" ONE_SESSION(
			     "Active", "Desktop") "],"
						  "\"nextLink\":\"https://management.azure.com/");
	memset(big + k, 'a', n);
	strcpy(big + k + n, "\"}");
	assert_int_equal(parse(big, &c, &page), ERR_TOOBIG);
	assert_int_equal(c.n, 0);
	free(big);

	/* not a list */
	static const char *const not_lists[] = {"",
						"null",
						"[]",
						"{}",
						"{\"value\":null}",
						"{\"value\":{}}",
						"{\"value\":\"x\"}",
						"{\"value\":[",
						"{\"value\":[]",
						"\xff\xfe{",
						"{\"value\":[]} trailing"};
	for (size_t i = 0; i < sizeof(not_lists) / sizeof(not_lists[0]); i++)
		assert_int_equal(parse(not_lists[i], &c, &page), ERR_PARSE);
	assert_int_equal(avd_parse_sessions(NULL, 0, collect, &c, &page), ERR_PARSE);

	/* elements that cannot be addressed are counted, not passed on */
	assert_int_equal(parse("{\"value\":[1,null,\"x\",{},{\"id\":\"/subscriptions/s\"},"
			       "{\"name\":\"only/two\"},{\"name\":\"hp1/sh/..\"},"
			       "{\"name\":\"hp1/sh-b/9\",\"properties\":{\"userPrincipalName\":"
			       "\"v@x.com\"}}," ONE_SESSION("Active", "RemoteApp") "]}",
			       &c, &page),
			 0);
	assert_int_equal(page.skipped, 7);
	assert_int_equal(page.items, 2);
	assert_int_equal(c.n, 2);
	/* the spec-shaped fallback: name "hp/sh/id" when there is no id */
	assert_int_equal(
	    parse("{\"value\":[{\"name\":\"hp1/sh-b/9\",\"properties\":null}]}", &c, &page), 0);
	assert_string_equal(c.last_sh, "sh-b");
	assert_string_equal(c.last_id, "9");
	assert_string_equal(c.last_upn, "");
	assert_string_equal(c.last_state, "");

	/* a nonzero callback value stops the walk and is returned */
	memset(&c, 0, sizeof(c));
	c.stop_at = 1;
	const char *two = "{\"value\":[" ONE_SESSION("Active", "Desktop") "," ONE_SESSION(
	    "Active", "Desktop") "]}";
	assert_int_equal(avd_parse_sessions(two, strlen(two), collect, &c, &page), 7);
	assert_int_equal(c.n, 1);

	/* a huge UPN and a huge session host: passed whole or skipped, never cut */
	size_t huge = 100000;
	char *body = malloc(huge + 512);
	k = snprintf(body, huge + 512,
		     "{\"value\":[{\"name\":\"a/b/1\",\"properties\":{\"userPrincipalName\":\"");
	memset(body + k, 'u', huge);
	strcpy(body + k + huge, "@x.com\"}}]}");
	memset(&c, 0, sizeof(c));
	assert_int_equal(avd_parse_sessions(body, strlen(body), collect, &c, &page), 0);
	assert_int_equal(c.n, 1);
	k = snprintf(body, huge + 512, "{\"value\":[{\"name\":\"a/");
	memset(body + k, 'h', 300);
	strcpy(body + k + 300, "/1\"}]}");
	assert_int_equal(parse(body, &c, &page), 0);
	assert_int_equal(c.n, 0);
	assert_int_equal(page.skipped, 1);
	free(body);
}

/* The recorded answer listing a host pool's sessions; caller owns it. */
static char *recorded_pool_list(void)
{
	cJSON *root = load(recordings_dir(), "Get-AzWvdUserSession.2024-04-03.Recording.json"), *e;
	char *body = NULL;
	cJSON_ArrayForEach(e, root)
	{
		if (strstr(e->string, "List HostPool Level"))
			body = strdup(str(cJSON_GetObjectItem(e, "Response"), "Content"));
	}
	cJSON_Delete(root);
	assert_non_null(body);
	return body;
}

/* Every prefix of a recorded list, and every byte of it flipped: an error
 * or an answer, never a crash (run under SANITIZER=address to mean it). */
static void lists_cut_and_flipped(void **state)
{
	char *body = recorded_pool_list();
	size_t len = strlen(body);
	struct collect c;
	struct avd_page page;
	for (size_t n = 0; n < len; n++) {
		char *cut = malloc(n ? n : 1); /* exact size: reading past it is caught */
		memcpy(cut, body, n);
		memset(&c, 0, sizeof(c));
		assert_int_equal(avd_parse_sessions(cut, n, collect, &c, &page), ERR_PARSE);
		assert_int_equal(c.n, 0);
		free(cut);
	}
	char *copy = malloc(len);
	for (size_t i = 0; i < len; i++) {
		memcpy(copy, body, len);
		copy[i] ^= 0x5A;
		memset(&c, 0, sizeof(c));
		int rc = avd_parse_sessions(copy, len, collect, &c, &page);
		assert_true(rc == 0 || rc == ERR_PARSE);
		assert_true(c.n <= 3);
		struct service_error err;
		avd_parse_error(copy, len, &err);
	}
	free(copy);
	free(body);
}

static void session_hosts_by_hand(void **state)
{
	struct host_copy h;
	struct avd_page page;
	const char *one = "{\"name\":\"hp1/sh-1\",\"properties\":{\"allowNewSession\":\"yes\"}}";
	assert_int_equal(avd_parse_session_host(one, strlen(one), note_host, &h), 0);
	assert_string_equal(h.pool, "hp1");
	assert_string_equal(h.name, "sh-1");
	assert_int_equal(h.allow, -1); /* not a boolean: unknown */
	assert_int_equal(h.sessions, -1);
	assert_string_equal(h.status, "");
	assert_int_equal(avd_parse_session_host("[]", 2, note_host, &h), ERR_PARSE);
	assert_int_equal(avd_parse_session_host("{}", 2, note_host, &h), ERR_PARSE);
	assert_int_equal(avd_parse_session_host("{", 1, note_host, &h), ERR_PARSE);
	const char *list = "{\"value\":[{\"name\":\"a/b/c\"},{\"name\":\"sh-2\",\"properties\":"
			   "{\"allowNewSession\":false,\"sessions\":3,\"status\":\"Draining\"}}],"
			   "\"nextLink\":\"https://management.azure.com/next\"}";
	assert_int_equal(avd_parse_session_hosts(list, strlen(list), note_host, &h, &page), 0);
	assert_int_equal(page.items, 1);
	assert_int_equal(page.skipped, 1);
	assert_string_equal(h.name, "sh-2");
	assert_string_equal(h.pool, "");
	assert_int_equal(h.allow, 0);
	assert_int_equal(h.sessions, 3);
	assert_string_equal(h.status, "Draining");
	assert_string_equal(page.next_link, "https://management.azure.com/next");
	assert_int_equal(avd_parse_session_hosts("{\"value\":7}", 11, note_host, &h, &page),
			 ERR_PARSE);
}

static void errors(void **state)
{
	struct service_error e;
	const char *arm = "{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"The client "
			  "'x' does not have authorization to perform action 'Microsoft."
			  "DesktopVirtualization/hostpools/sessionhosts/usersessions/disconnect/"
			  "action'\"}}";
	avd_parse_error(arm, strlen(arm), &e);
	assert_string_equal(e.code, "AuthorizationFailed");
	assert_non_null(strstr(e.message, "does not have authorization"));
	assert_int_equal(avd_classify(403, &e), SERVICE_V_FORBIDDEN);
	avd_parse_error("{\"Code\":\"BadRequest\",\"Message\":\"nope\"}", 38, &e);
	assert_string_equal(e.code, "BadRequest");
	assert_string_equal(e.message, "nope");
	avd_parse_error("{\"error\":{\"code\":404,\"message\":\"x\"}}", 37, &e);
	assert_string_equal(e.code, "404");
	avd_parse_error("<html><body>502\r\nBad Gateway</body></html>", 42, &e);
	assert_string_equal(e.code, "");
	assert_string_equal(e.message, "<html><body>502  Bad Gateway</body></html>");
	avd_parse_error("", 0, &e);
	assert_string_equal(e.code, "");
	assert_string_equal(e.message, "");
	avd_parse_error(NULL, 0, &e);
	assert_string_equal(e.message, "");
	avd_parse_error("{\"error\":\"flat\"}", 16, &e);
	assert_string_equal(e.message, "{\"error\":\"flat\"}");

	/* a long message is cut on a character boundary */
	char body[1200];
	int k = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"X\",\"message\":\"");
	for (int i = 0; i < 300; i++)
		k += snprintf(body + k, sizeof(body) - (size_t)k, "\xc3\xa9");
	k += snprintf(body + k, sizeof(body) - (size_t)k, "\"}}");
	avd_parse_error(body, (size_t)k, &e);
	assert_int_equal(strlen(e.message), 254);
	/* and an excerpt of a long raw body too */
	memset(body, 'x', 199);
	memcpy(body + 199, "\xc3\xa9 tail", 7);
	avd_parse_error(body, 206, &e);
	assert_int_equal(strlen(e.message), 199);
}

static enum service_verdict verdict(int http, const char *code, const char *message)
{
	struct service_error e;
	memset(&e, 0, sizeof(e));
	snprintf(e.code, sizeof(e.code), "%s", code);
	snprintf(e.message, sizeof(e.message), "%s", message);
	return avd_classify(http, &e);
}

static void classification(void **state)
{
	assert_int_equal(verdict(200, "", ""), SERVICE_V_OK);
	assert_int_equal(verdict(204, "", ""), SERVICE_V_OK);
	assert_int_equal(verdict(404, "404", "ActivityId: a Error: User session ID not found"),
			 SERVICE_V_NO_SESSION);
	assert_int_equal(verdict(404, "404", "ActivityId: a Error: User session does not exist"),
			 SERVICE_V_NO_SESSION);
	assert_int_equal(verdict(404, "UserSessionNotFound", ""), SERVICE_V_NO_SESSION);
	assert_int_equal(verdict(404, "404", "ActivityId: a Error: HostPool does not exist"),
			 SERVICE_V_FAILED);
	assert_int_equal(
	    verdict(404, "ResourceGroupNotFound", "Resource group 'r' could not be found."),
	    SERVICE_V_FAILED);
	assert_int_equal(
	    verdict(404, "ParentResourceNotFound", "Parent resource 'hp/sh' not found"),
	    SERVICE_V_FAILED);
	assert_int_equal(verdict(404, "", ""), SERVICE_V_FAILED);
	assert_int_equal(verdict(401, "InvalidAuthenticationToken", ""), SERVICE_V_UNAUTHORIZED);
	assert_int_equal(verdict(403, "AuthorizationFailed", ""), SERVICE_V_FORBIDDEN);
	static const int retry[] = {0, 408, 429, 500, 502, 503, 504};
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++)
		assert_int_equal(verdict(retry[i], "", ""), SERVICE_V_RETRY);
	static const int failed[] = {400, 405, 409, 412, 501, 505, 302, 100};
	for (size_t i = 0; i < sizeof(failed) / sizeof(failed[0]); i++)
		assert_int_equal(verdict(failed[i], "", ""), SERVICE_V_FAILED);
	assert_false(avd_details_no_session("Session host does not exist"));
	assert_false(avd_details_no_session(""));
}

static void retries_and_roles(void **state)
{
	static const int retry[] = {0, 408, 429, 500, 502, 503, 504};
	for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
		assert_true(avd_retry_safe(AVD_DISCONNECT, retry[i], false, false));
		assert_true(avd_retry_safe(AVD_LOGOFF, retry[i], false, false));
		assert_true(avd_retry_safe(AVD_DRAIN, retry[i], false, false));
		assert_true(avd_retry_safe(AVD_LIST_SESSIONS, retry[i], false, false));
	}
	assert_false(avd_retry_safe(AVD_DISCONNECT, 404, true, true));
	assert_false(avd_retry_safe(AVD_LOGOFF, 200, false, false));
	/* a message: only when it surely did no work */
	assert_true(avd_retry_safe(AVD_MESSAGE, 0, true, false));
	assert_false(avd_retry_safe(AVD_MESSAGE, 0, false, false)); /* timed out mid-answer */
	assert_true(avd_retry_safe(AVD_MESSAGE, 429, false, false));
	assert_true(avd_retry_safe(AVD_MESSAGE, 429, false, true));
	assert_true(avd_retry_safe(AVD_MESSAGE, 503, false, true));
	assert_false(avd_retry_safe(AVD_MESSAGE, 503, false, false));
	static const int never[] = {408, 500, 502, 504, 404, 400, 200};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		assert_false(avd_retry_safe(AVD_MESSAGE, never[i], true, true));

	assert_string_equal(avd_role(AVD_DISCONNECT), AVD_ROLE_SESSIONS);
	assert_string_equal(avd_role(AVD_LOGOFF), AVD_ROLE_SESSIONS);
	assert_string_equal(avd_role(AVD_MESSAGE), AVD_ROLE_SESSIONS);
	assert_string_equal(avd_role(AVD_LIST_SESSIONS), AVD_ROLE_SESSIONS);
	assert_string_equal(avd_role(AVD_DRAIN), AVD_ROLE_HOSTS);
	assert_string_equal(avd_method(AVD_LIST_HOSTS), "GET");
	assert_string_equal(avd_method(AVD_DRAIN), "PATCH");
	assert_string_equal(avd_quota_bucket(AVD_DRAIN), "writes");
	assert_string_equal(avd_quota_bucket(AVD_LOGOFF), "deletes");
	assert_string_equal(avd_quota_bucket(AVD_LIST_HOSTS), "reads");
	assert_int_equal(avd_call_of(SERVICE_DISCONNECT), AVD_DISCONNECT);
	assert_int_equal(avd_call_of(SERVICE_LOGOFF), AVD_LOGOFF);
	assert_int_equal(avd_call_of(SERVICE_MESSAGE), AVD_MESSAGE);
}

static void which_sessions(void **state)
{
	assert_true(avd_acts_on(SERVICE_DISCONNECT, "Active"));
	assert_true(avd_acts_on(SERVICE_DISCONNECT, "Pending"));
	assert_true(avd_acts_on(SERVICE_DISCONNECT, "SomethingNew"));
	assert_false(avd_acts_on(SERVICE_DISCONNECT, "Disconnected"));
	assert_false(avd_acts_on(SERVICE_DISCONNECT, "disconnected"));
	assert_true(avd_acts_on(SERVICE_LOGOFF, "Disconnected"));
	assert_true(avd_acts_on(SERVICE_LOGOFF, ""));
	assert_true(avd_acts_on(SERVICE_MESSAGE, "Active"));
	assert_true(avd_acts_on(SERVICE_MESSAGE, "ACTIVE"));
	assert_false(avd_acts_on(SERVICE_MESSAGE, "Disconnected"));
	assert_false(avd_acts_on(SERVICE_MESSAGE, "SomethingNew"));
	assert_false(avd_acts_on(SERVICE_MESSAGE, ""));
}

static int count_upn(void *arg, const struct service_session *s)
{
	(*(int *)arg)++;
	assert_non_null(strchr(s->upn, '@'));
	assert_string_equal(s->state, "Disconnected");
	assert_true(s->logon_time[0] != '\0');
	return 0;
}

static void the_table(void **state)
{
	const struct service *s = &service_avd;
	struct service_target t = {AVD_ENDPOINT, SUB, "zhongjie-rg-wus"};
	char url[1024], body[256], line[64], v[8];
	struct service_opresult r;

	assert_string_equal(s->name, "avd");
	assert_string_equal(s->headers[0], "Accept: application/json");
	assert_null(s->headers[1]);
	assert_string_equal(s->body_headers[0], "Content-Type: application/json");
	assert_null(s->body_headers[1]);
	/* no header carries an operation id: every 2xx is final */
	snprintf(line, sizeof(line), "x-ms-request-id: abc\r\n");
	assert_false(service_header_value(line, strlen(line), s->op_id_header, v, sizeof(v)));
	snprintf(line, sizeof(line), ": abc\r\n");
	assert_true(service_header_value(line, strlen(line), s->op_id_header, v, sizeof(v)));

	assert_int_equal(s->op_request(url, sizeof(url), body, sizeof(body), &t, SERVICE_DISCONNECT,
				       "zhongjie-automated/auto-0/2", "u@x.com", NULL),
			 0);
	assert_string_equal(
	    url, POOL_PATH "/sessionHosts/auto-0/userSessions/2/disconnect?api-version=2025-10-10");
	assert_true(s->op_request(url, sizeof(url), body, sizeof(body), &t, SERVICE_MESSAGE,
				  LIVE_SESSION_ID, "u@x.com", "hello") > 0);
	assert_string_equal(body, "{\"messageTitle\":\"\",\"messageBody\":\"hello\"}");
	assert_non_null(strstr(url, "/hostPools/alecbUserSessionHP/sessionHosts/userSess-sh-0/"
				    "userSessions/3/sendMessage?"));
	/* logoff: a DELETE with force=true and no body, by the table's method */
	assert_int_equal(s->op_request(url, sizeof(url), body, sizeof(body), &t, SERVICE_LOGOFF,
				       LIVE_SESSION_ID, "u@x.com", NULL),
			 0);
	assert_non_null(strstr(url, "/userSessions/3?api-version=2025-10-10&force=true"));
	assert_string_equal(s->op_method(SERVICE_LOGOFF), "DELETE");
	assert_string_equal(s->op_method(SERVICE_DISCONNECT), "POST");
	assert_false(s->polled);
	assert_true(s->lookup);
	assert_int_equal(s->op_request(url, sizeof(url), body, sizeof(body), &t, SERVICE_DISCONNECT,
				       "zhongjie-automated", "u@x.com", NULL),
			 ERR_INVAL);

	assert_true(s->sessions_url(url, sizeof(url), &t, "zhongjie-automated") > 0);
	assert_string_equal(url, POOL_PATH "/userSessions?api-version=2025-10-10");
	assert_true(s->sessions_url(url, sizeof(url), &t, "other-rg/pool1") > 0);
	assert_non_null(strstr(url, "/resourceGroups/other-rg/providers/"));
	assert_int_equal(s->sessions_url(url, sizeof(url), &t, "a/b/c"), ERR_INVAL);
	assert_int_equal(s->result_url(url, sizeof(url), &t, "anything"), ERR_INVAL);
	assert_int_equal(s->parse_result("{}", 2, &r), ERR_PARSE);

	char *list = recorded_pool_list();
	int n = 0;
	assert_int_equal(s->parse_sessions(list, strlen(list), count_upn, &n), 0);
	assert_int_equal(n, 3);
	free(list);
	assert_int_equal(s->parse_sessions("[]", 2, count_upn, &n), ERR_PARSE);
	assert_true(s->details_no_session("User session ID not found"));
	assert_int_equal(s->classify(404, &(struct service_error){"404", "User session does not "
									 "exist"}),
			 SERVICE_V_NO_SESSION);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(recordings),
	    cmocka_unit_test(spec_examples),
	    cmocka_unit_test(urls_by_hand),
	    cmocka_unit_test(names_are_escaped),
	    cmocka_unit_test(bad_names_are_refused),
	    cmocka_unit_test(bodies),
	    cmocka_unit_test(message_body_is_big_enough),
	    cmocka_unit_test(request_ids),
	    cmocka_unit_test(next_links),
	    cmocka_unit_test(host_pool_names),
	    cmocka_unit_test(pool_addresses),
	    cmocka_unit_test(session_addresses),
	    cmocka_unit_test(lists_by_hand),
	    cmocka_unit_test(lists_cut_and_flipped),
	    cmocka_unit_test(session_hosts_by_hand),
	    cmocka_unit_test(errors),
	    cmocka_unit_test(classification),
	    cmocka_unit_test(retries_and_roles),
	    cmocka_unit_test(which_sessions),
	    cmocka_unit_test(the_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
