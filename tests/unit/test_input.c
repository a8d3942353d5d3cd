/* test_input.c — CSV, NDJSON and plain-line input, through input_read(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/err.h"
#include "input/input.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seen {
	int n;
	char text[16][160]; /* "line|collection|upn|reason-or-ok" */
};

static int collect(void *arg, const struct input_row *r)
{
	struct seen *s = arg;
	if (s->n < 16)
		snprintf(s->text[s->n], sizeof(s->text[0]), "%ld|%s|%s|%s", r->line, r->collection,
			 r->upn, r->reason ? r->reason : "ok");
	s->n++;
	return 0;
}

static int read_str(const char *data, size_t len, enum input_format fmt, const char *coll,
		    struct seen *s, char *msg)
{
	FILE *f = fmemopen((void *)data, len, "r");
	struct input_opts o = {.format = fmt, .collection = coll};
	memset(s, 0, sizeof(*s));
	msg[0] = '\0';
	int rc = input_read(f, "t.csv", &o, collect, s, msg, 256);
	fclose(f);
	return rc;
}

#define READ(data, fmt, coll) read_str(data, sizeof(data) - 1, fmt, coll, &s, msg)

static void csv_aliases_any_order_and_case(void **state)
{
	struct seen s;
	char msg[256];
	assert_int_equal(READ("upn,Extra,COLLECTION\nuser1@x.com,zz,Apps\n", INPUT_AUTO, NULL), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.text[0], "2|Apps|user1@x.com|ok");
	assert_int_equal(READ("Name;UserPrincipalName\nApps;a@x.com\n", INPUT_AUTO, NULL), 0);
	assert_string_equal(s.text[0], "2|Apps|a@x.com|ok");
	assert_int_equal(READ("User\tCollectionName\na@x.com\tApps\n", INPUT_AUTO, NULL), 0);
	assert_string_equal(s.text[0], "2|Apps|a@x.com|ok");
}

static void csv_bom_crlf_quotes_newlines(void **state)
{
	struct seen s;
	char msg[256];
	assert_int_equal(READ("\xEF\xBB\xBF"
			      "CollectionName,UserUpn\r\n\"Apps\",\"a@x.com\"\r\n"
			      "Apps,\"multi\nline@x.com\"\r\nApps,c@x.com\r\n",
			      INPUT_AUTO, NULL),
			 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.text[0], "2|Apps|a@x.com|ok");
	assert_string_equal(s.text[1], "3|Apps|multi\nline@x.com|control character");
	assert_string_equal(s.text[2], "5|Apps|c@x.com|ok");
}

static void csv_bad_rows_do_not_stop_the_file(void **state)
{
	struct seen s;
	char msg[256];
	assert_int_equal(READ("CollectionName,UserUpn\nApps\nApps,x\"y@x.com\nApps,ok@x.com\n"
			      "Apps,b@x.com,extra\n",
			      INPUT_AUTO, NULL),
			 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.text[0], "2|Apps||expected 2 fields, found 1");
	assert_string_equal(s.text[1], "3|Apps||malformed CSV (stray or unbalanced quote)");
	assert_string_equal(s.text[2], "4|Apps|ok@x.com|ok");
	assert_string_equal(s.text[3], "5|Apps|b@x.com|expected 2 fields, found 3");
}

/* "CollectionName,UserUpn\n" + first + n copies of each (a %d in it). */
static char *csv_of(const char *first, const char *each, int n, size_t *len)
{
	char *data = malloc(64 + strlen(first) + (size_t)n * (strlen(each) + 12)), *p = data;
	p += sprintf(p, "CollectionName,UserUpn\n%s", first);
	for (int i = 0; i < n; i++)
		p += sprintf(p, each, i);
	*len = (size_t)(p - data);
	return data;
}

/* A quote left open gives up its first line only: the lines it swallowed
 * are read again, whether the file ends or the record outgrows 1 MiB
 * (one long quoted field, or many short ones). */
static void csv_open_quote_gives_back_its_lines(void **state)
{
	static const struct {
		int n;
		const char *each, *first_reason, *last;
	} t[] = {
	    {30000, "Apps,u%d@x.com\n", "malformed CSV (stray or unbalanced quote)", "ok"},
	    {90000, "Apps,u%d@x.com\n", "record larger than 1 MiB (a quote left open?)", "ok"},
	    {300000, "\",\"%d\n", "record larger than 1 MiB (a quote left open?)", "malformed CSV"},
	};
	struct seen s;
	char msg[256];
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		size_t len;
		char *data = csv_of("Apps,\"a@x.com\n", t[i].each, t[i].n, &len);
		assert_int_equal(read_str(data, len, INPUT_AUTO, NULL, &s, msg), 0);
		assert_int_equal(s.n, 1 + t[i].n);
		assert_int_equal(atoi(s.text[0]), 2);
		assert_non_null(strstr(s.text[0], t[i].first_reason));
		assert_int_equal(atoi(s.text[15]), 2 + 15);
		assert_non_null(strstr(s.text[15], t[i].last));
		free(data);
	}
}

static void csv_default_collection_and_header_errors(void **state)
{
	struct seen s;
	char msg[256];
	assert_int_equal(READ("UserUpn\na@x.com\n", INPUT_AUTO, "Apps"), 0);
	assert_string_equal(s.text[0], "2|Apps|a@x.com|ok");
	assert_int_equal(READ("UserUpn\na@x.com\n", INPUT_AUTO, NULL), ERR_PARSE);
	assert_non_null(strstr(msg, "'t.csv': line 1: no collection column"));
	assert_int_equal(READ("Collection,Mail\nApps,a@x.com\n", INPUT_CSV, NULL), ERR_PARSE);
	assert_non_null(strstr(msg, "'t.csv': line 1: the header names no user column (it has: "
				    "Collection, Mail; a user column is UserUpn"));
	/* sniffed: cells and no '@' on the first line are a header, not UPNs */
	assert_int_equal(READ("Coll,Login\nApps,a@x.com\n", INPUT_AUTO, NULL), ERR_PARSE);
	assert_non_null(strstr(msg, "no user column (it has: Coll, Login;"));
}

static void ndjson_rows(void **state)
{
	struct seen s;
	char msg[256];
	assert_int_equal(READ("{\"CollectionName\":\"Apps\",\"UserUpn\":\"a@x.com\"}\n\n"
			      "{\"collection\":\"Apps\",\"upn\":5}\n"
			      "not json\n"
			      "{\"UserUpn\":\"b@x.com\",\"State\":\"Connected\"}\n"
			      "{\"Collection\":\"Apps\",\"UserUpn\":\"c@x.com\\u0000evil\"}\n",
			      INPUT_AUTO, "Dflt"),
			 0);
	assert_int_equal(s.n, 5);
	assert_string_equal(s.text[0], "1|Apps|a@x.com|ok");
	assert_string_equal(s.text[1], "3|Apps||UserUpn is not a string");
	assert_string_equal(s.text[2], "4|||not a JSON object (NDJSON wants one object per line)");
	assert_string_equal(s.text[3], "5|Dflt|b@x.com|ok");
	assert_string_equal(s.text[4], "6|Apps|c@x.com|embedded NUL character");
}

static void plain_lines(void **state)
{
	struct seen s;
	char msg[256];
	assert_int_equal(
	    READ("# users\na@x.com\n\n  b@x.com  \r\nnot-an-upn\n", INPUT_AUTO, "Apps"), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.text[0], "2|Apps|a@x.com|ok");
	assert_string_equal(s.text[1], "4|Apps|b@x.com|ok");
	assert_string_equal(s.text[2], "5|Apps|not-an-upn|UPN must contain '@'");
	assert_int_equal(READ("a@x.com\n", INPUT_AUTO, NULL), ERR_INVAL);
	assert_non_null(strstr(msg, "needs --collection"));
}

static void long_line_is_one_invalid_row(void **state)
{
	struct seen s;
	char msg[256];
	size_t n = 100000;
	char *data = malloc(n + 64);
	strcpy(data, "UserUpn\n");
	memset(data + 8, 'a', n);
	strcpy(data + 8 + n, "\nb@x.com\n");
	assert_int_equal(read_str(data, strlen(data), INPUT_AUTO, "Apps", &s, msg), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[0], "2|||line longer than 64 KiB");
	assert_string_equal(s.text[1], "3|Apps|b@x.com|ok");
	free(data);
}

static void json_array_streamed(void **state)
{
	struct seen s;
	char msg[256];
	assert_int_equal(READ("[\r\n    {\r\n        \"LogonTimeUtc\":  \"2015-02-01\",\r\n"
			      "        \"State\":  \"Connected\",\r\n        \"UserUpn\":  "
			      "\"a@x.com\"\r\n    },\r\n  {\"UserUpn\":\"b]@x.com\",\"x\":[1,{}]},"
			      " 42, \"str\" ,{\"UserUpn\":\"c\\\"@x.com\"}]\n",
			      INPUT_AUTO, "Apps"),
			 0);
	assert_int_equal(s.n, 5);
	/* each element's line is the line where it starts, from 1 */
	assert_string_equal(s.text[0], "2|Apps|a@x.com|ok");
	assert_string_equal(s.text[1], "7|Apps|b]@x.com|UPN user name has a character not allowed");
	assert_string_equal(s.text[2], "7|||not a JSON object (the array must hold objects)");
	assert_string_equal(s.text[3], "7|||not a JSON object (the array must hold objects)");
	assert_string_equal(s.text[4],
			    "7|Apps|c\"@x.com|UPN user name has a character not allowed");
}

static void json_array_broken_ends(void **state)
{
	struct seen s;
	char msg[256];
	assert_int_equal(READ("[{\"UserUpn\":\"a@x.com\"}, {\"UserUpn\":\"b@x", INPUT_AUTO, "Apps"),
			 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[1], "1|||truncated JSON (the file ends inside this element)");
	assert_int_equal(
	    READ("[\n{\"UserUpn\":\"a@x.com\"},\n{\"UserUpn\":\"b@x", INPUT_AUTO, "Apps"), 0);
	assert_string_equal(s.text[1], "3|||truncated JSON (the file ends inside this element)");
	assert_int_equal(READ("[{\"UserUpn\":\"a@x.com\"}] trailing", INPUT_AUTO, "Apps"), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[1], "1|||data after the end of the JSON array");
	assert_int_equal(READ("[{\"UserUpn\":\"a@x.com\"},", INPUT_AUTO, "Apps"), 0);
	assert_string_equal(s.text[1], "1|||truncated JSON array (no closing ']')");
	assert_int_equal(READ("  [ ]  ", INPUT_AUTO, "Apps"), 0);
	assert_int_equal(s.n, 0);
}

static void json_pretty_object_stream(void **state)
{
	struct seen s;
	char msg[256];
	/* ConvertTo-Json of a single session writes one pretty object */
	assert_int_equal(READ("{\n  \"UserUpn\": \"a@x.com\",\n  \"State\": \"Active\"\n}\n"
			      "{\"UserUpn\": \"b@x.com\"}",
			      INPUT_AUTO, "Apps"),
			 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[0], "1|Apps|a@x.com|ok");
	assert_string_equal(s.text[1], "5|Apps|b@x.com|ok");
}

static void json_element_cap(void **state)
{
	struct seen s;
	char msg[256];
	size_t big = 2 * 1024 * 1024;
	char *data = malloc(big + 100);
	strcpy(data, "[{\"UserUpn\":\"");
	memset(data + 13, 'a', big);
	strcpy(data + 13 + big, "@x.com\"},{\"UserUpn\":\"b@x.com\"}]");
	assert_int_equal(read_str(data, strlen(data), INPUT_AUTO, "Apps", &s, msg), 0);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.text[0], "1|||JSON element larger than 1 MiB");
	assert_string_equal(s.text[1], "1|Apps|b@x.com|ok");
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(csv_aliases_any_order_and_case),
	    cmocka_unit_test(csv_bom_crlf_quotes_newlines),
	    cmocka_unit_test(csv_bad_rows_do_not_stop_the_file),
	    cmocka_unit_test(csv_open_quote_gives_back_its_lines),
	    cmocka_unit_test(csv_default_collection_and_header_errors),
	    cmocka_unit_test(ndjson_rows),
	    cmocka_unit_test(plain_lines),
	    cmocka_unit_test(long_line_is_one_invalid_row),
	    cmocka_unit_test(json_array_streamed),
	    cmocka_unit_test(json_array_broken_ends),
	    cmocka_unit_test(json_pretty_object_stream),
	    cmocka_unit_test(json_element_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
