/* test_report.c — CSV report rows: columns, quoting, formula guard, file mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/err.h"
#include "output/report.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct item *sample(void)
{
	struct item *it = item_new(7, SERVICE_DISCONNECT, "Apps", "a@x.com", NULL);
	it->status = STATUS_SUCCEEDED;
	it->http_status = 202;
	it->attempts = 2;
	snprintf(it->tracking_id, sizeof(it->tracking_id), "91036d3c");
	snprintf(it->request_id, sizeof(it->request_id), "735ecb04");
	it->started_ms = 1422788360000; /* 2015-02-01T10:59:20.000Z */
	it->finished_ms = 1422788361234;
	return it;
}

static void header_has_design_columns(void **state)
{
	assert_string_equal(REPORT_HEADER,
			    "line,collection,upn,operation,status,http_status,error_code,"
			    "error_message,attempts,tracking_id,request_id,started_at,finished_at,"
			    "latency_ms");
}

static void row_columns(void **state)
{
	char row[1024];
	struct item *it = sample();
	assert_true(report_format_csv(row, sizeof(row), it) > 0);
	assert_string_equal(row, "7,Apps,a@x.com,disconnect,succeeded,202,,,2,91036d3c,735ecb04,"
				 "2015-02-01T10:59:20.000Z,2015-02-01T10:59:21.234Z,1234\n");
	item_free(it);
}

static void quoting_and_formula_guard(void **state)
{
	char row[1024];
	struct item *it = item_new(3, SERVICE_MESSAGE, "Apps", "=cmd@x.com", NULL);
	item_set_error(it, STATUS_FAILED, "-Bad", "=HYPERLINK(\"x\"), said \"no\"");
	assert_true(report_format_csv(row, sizeof(row), it) > 0);
	/* identity cells verbatim, free text guarded and quoted */
	assert_string_equal(row, "3,Apps,=cmd@x.com,message,failed,,'-Bad,"
				 "\"'=HYPERLINK(\"\"x\"\"), said \"\"no\"\"\",0,,,,,\n");
	item_free(it);
}

static void file_is_private(void **state)
{
	char path[] = "/tmp/rabulk-test-XXXXXX", err[256], buf[512];
	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	struct report *r = report_open(path, false, err, sizeof(err));
	assert_non_null(r);
	struct item *it = sample();
	assert_int_equal(report_write(r, it), 0);
	assert_int_equal(report_close(r), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	FILE *f = fopen(path, "r");
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	assert_non_null(strstr(buf, REPORT_HEADER "\n7,Apps,a@x.com,"));
	unlink(path);
	item_free(it);
	assert_null(report_open("/nonexistent/dir/r.csv", false, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot create '/nonexistent/dir/r.csv'"));
}

static void extra_columns_follow(void **state)
{
	char row[1024];
	struct item *it = item_new(2, SERVICE_DISCONNECT, "Apps", "a@x.com", "IT\x1f=1+1\x1f");
	it->status = STATUS_PLANNED;
	assert_true(report_format_csv(row, sizeof(row), it) > 0);
	assert_string_equal(row, "2,Apps,a@x.com,disconnect,planned,,,,0,,,,,,IT,'=1+1,\n");
	item_free(it);
}

/* No control character reaches a CSV cell raw (a terminal would run an
 * escape sequence, a CR or LF would break one row per line): they are
 * written as JSON writes them. */
static void control_characters_are_escaped(void **state)
{
	char row[2048];
	struct item *it = item_new(4, SERVICE_DISCONNECT, "Apps", "bad\x1b[31m@x.com", NULL);
	item_set_error(it, STATUS_FAILED, "Bad\x01", "a\nb\r\x7f\tc\b\f\\");
	snprintf(it->request_id, sizeof(it->request_id), "r\x1b]0;x\x07");
	assert_true(report_format_csv(row, sizeof(row), it) > 0);
	assert_string_equal(row, "4,Apps,bad\\u001b[31m@x.com,disconnect,failed,,Bad\\u0001,"
				 "\"a\\nb\\r\\u007f\\tc\\b\\f\\\",0,,r\\u001b]0;x\\u0007,,,\n");
	/* the exact room: a row and its NUL fit; a byte short is refused, not cut */
	int n = report_format_csv(row, sizeof(row), it);
	assert_int_equal(report_format_csv(row, (size_t)n + 1, it), n);
	assert_int_equal(report_format_csv(row, (size_t)n, it), ERR_TOOBIG);
	item_free(it);
}

/* A tracking id is kept whole up to SERVICE_OP_ID_MAX bytes. */
static void long_tracking_id_is_whole(void **state)
{
	char row[2048], id[SERVICE_OP_ID_MAX + 1];
	memset(id, 'a', SERVICE_OP_ID_MAX);
	id[SERVICE_OP_ID_MAX] = '\0';
	struct item *it = sample();
	snprintf(it->tracking_id, sizeof(it->tracking_id), "%s", id);
	assert_int_equal(strlen(it->tracking_id), SERVICE_OP_ID_MAX);
	assert_true(report_format_csv(row, sizeof(row), it) > 0);
	assert_non_null(strstr(row, id));
	item_free(it);
}

static char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void spit(const char *path, const char *text, const char *mode)
{
	FILE *f = fopen(path, mode);
	fputs(text, f);
	fclose(f);
}

/* Writes n sample rows to path (appending or not). */
static void write_rows(const char *path, bool append, int n)
{
	char err[256];
	struct report *r = report_open(path, append, err, sizeof(err));
	assert_non_null(r);
	for (int i = 0; i < n; i++) {
		struct item *it = sample();
		it->line = i + 2;
		assert_int_equal(report_write(r, it), 0);
		item_free(it);
	}
	assert_int_equal(report_close(r), 0);
}

static int count(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void append_cuts_a_torn_tail(void **state)
{
	const char *paths[] = {"/tmp/rabulk-app.csv", "/tmp/rabulk-app.ndjson",
			       "/tmp/rabulk-app.json"};
	for (int i = 0; i < 3; i++) {
		unlink(paths[i]);
		write_rows(paths[i], true, 2); /* append to nothing: a new file */
		if (i == 2) {		       /* killed: no closing "]" was ever written */
			char copy[8192];
			snprintf(copy, sizeof(copy), "%s", slurp(paths[i]));
			assert_string_equal(copy + strlen(copy) - 2, "]\n");
			copy[strlen(copy) - 2] = '\0';
			spit(paths[i], copy, "w");
		}
		spit(paths[i], i == 0 ? "9,Apps,torn" : ",{\"line\":9,\"coll", "a");
		write_rows(paths[i], true, 1);
		const char *text = slurp(paths[i]);
		assert_int_equal(count(text, "a@x.com"), 3);
		assert_null(strstr(text, "torn"));
		assert_null(strstr(text, "\"coll\n"));
		if (i == 0)
			assert_int_equal(count(text, "line,collection"), 1);
		if (i == 2) {
			cJSON *root = cJSON_Parse(text);
			assert_int_equal(cJSON_GetArraySize(root), 3);
			cJSON_Delete(root);
		}
		unlink(paths[i]);
	}
}

static void json_stays_valid_when_appended(void **state)
{
	const char *path = "/tmp/rabulk-app2.json";
	unlink(path);
	write_rows(path, false, 2);
	write_rows(path, true, 2); /* reopened after a clean close: "]" removed, then added */
	cJSON *root = cJSON_Parse(slurp(path));
	assert_true(cJSON_IsArray(root));
	assert_int_equal(cJSON_GetArraySize(root), 4);
	cJSON *first = cJSON_GetArrayItem(root, 0);
	assert_string_equal(cJSON_GetObjectItem(first, "status")->valuestring, "succeeded");
	assert_int_equal(cJSON_GetObjectItem(first, "latency_ms")->valueint, 1234);
	cJSON_Delete(root);
	write_rows(path, false, 0); /* no rows: still an array */
	assert_string_equal(slurp(path), "[\n]\n");
	unlink(path);
}

/* cJSON escapes C0 but writes DEL raw: the report escapes it too, and the
 * text reads back exactly. */
static void json_escapes_every_control_character(void **state)
{
	const char *path = "/tmp/rabulk-ctl.ndjson";
	char err[256];
	unlink(path);
	struct report *r = report_open(path, false, err, sizeof(err));
	assert_non_null(r);
	struct item *it = sample();
	item_set_error(it, STATUS_FAILED, "X", "del\x7f esc\x1b nl\n end\x7f");
	assert_int_equal(report_write(r, it), 0);
	assert_int_equal(report_close(r), 0);
	const char *text = slurp(path);
	for (const char *p = text; *p; p++)
		assert_true(*p == '\n' || ((unsigned char)*p >= 0x20 && *p != 0x7F));
	assert_non_null(strstr(text, "del\\u007f esc\\u001b nl\\n end\\u007f"));
	cJSON *o = cJSON_Parse(text);
	assert_string_equal(cJSON_GetObjectItem(o, "error_message")->valuestring,
			    "del\x7f esc\x1b nl\n end\x7f");
	cJSON_Delete(o);
	item_free(it);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(header_has_design_columns),
	    cmocka_unit_test(row_columns),
	    cmocka_unit_test(quoting_and_formula_guard),
	    cmocka_unit_test(file_is_private),
	    cmocka_unit_test(extra_columns_follow),
	    cmocka_unit_test(append_cuts_a_torn_tail),
	    cmocka_unit_test(json_stays_valid_when_appended),
	    cmocka_unit_test(control_characters_are_escaped),
	    cmocka_unit_test(long_tracking_id_is_whole),
	    cmocka_unit_test(json_escapes_every_control_character),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
