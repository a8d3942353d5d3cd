/* test_validate.c — the cmdlet's collection and UPN rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "input/validate.h"
#include <string.h>

#define OK_COLL(s) assert_null(validate_collection(s, strlen(s)))
#define BAD_COLL(s) assert_non_null(validate_collection(s, strlen(s)))
#define OK_UPN(s) assert_null(validate_upn(s, strlen(s)))
#define BAD_UPN(s) assert_non_null(validate_upn(s, strlen(s)))

static void collections(void **state)
{
	OK_COLL("simple");
	OK_COLL("abc");
	OK_COLL("A234567890123"); /* 13 characters */
	OK_COLL("Caf\xc3\xa9");	  /* U+00E9 is in \x7F-\uFFFF */
	BAD_COLL("ab");
	BAD_COLL("A2345678901234");
	BAD_COLL("1abc");
	BAD_COLL("my-coll");
	BAD_COLL("my coll");
	BAD_COLL("..");
	BAD_COLL("ab\xf0\x9f\x98\x80"); /* U+1F600 is past \uFFFF */
	BAD_COLL("");
}

static void upns(void **state)
{
	OK_UPN("yadavb@hotmail.com");
	OK_UPN("first.last@sub.contoso.co.uk");
	OK_UPN("a\\b@x.com");
	OK_UPN("j\xc3\xb6rg@m\xc3\xbcller.de");
	BAD_UPN("nodomain");
	BAD_UPN("@x.com");
	BAD_UPN("a@com");
	BAD_UPN("a@x..com");
	BAD_UPN("a@x.com.");
	BAD_UPN("a b@x.com");
	BAD_UPN("a@b@x.com");
	BAD_UPN("a/b@x.com");
	BAD_UPN("a@x_y.com");
	BAD_UPN("a@x.c(m");
	BAD_UPN("a,b@x.com");
	BAD_UPN("a@x.com\xc2\xa0"); /* NO-BREAK SPACE is \s in .NET */
}

static void fields(void **state)
{
	char big[1100];
	memset(big, 'a', sizeof(big));
	assert_string_equal(validate_field("", 0), "empty field");
	assert_string_equal(validate_field(big, 1025), "field longer than 1024 bytes");
	assert_null(validate_field(big, 1024));
	assert_string_equal(validate_field("a\x01"
					   "b",
					   3),
			    "control character");
	assert_string_equal(validate_field("ab\0cd", 5), "embedded NUL character");
	assert_string_equal(validate_field("a\xff", 2), "invalid UTF-8");
	assert_string_equal(validate_field("\xc0\xaf", 2), "invalid UTF-8");	  /* overlong '/' */
	assert_string_equal(validate_field("\xed\xa0\x80", 3), "invalid UTF-8");  /* surrogate */
	assert_string_equal(validate_field("\xe2\x82", 2), "invalid UTF-8");	  /* truncated */
	assert_string_equal(validate_field("a\xc2\x85", 3), "control character"); /* C1 NEL */
	assert_string_equal(validate_upn("a@x.com\0evil", 12), "embedded NUL character");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(collections),
	    cmocka_unit_test(upns),
	    cmocka_unit_test(fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
