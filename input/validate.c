/* validate.c — the cmdlet's validation rules, by hand rather than by regex.
 *
 * The cmdlet's patterns are .NET regular expressions over UTF-16 text, so we
 * decode UTF-8 to code points first (refusing overlong forms, surrogates and
 * anything past U+10FFFF) and then walk the pattern's structure directly:
 * it is short, and a hand-written walk has no regex engine's corner cases.
 * ".NET \s" is Unicode white space, listed in is_space(). */
#include "input/validate.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Decodes one UTF-8 sequence at s[0..len); returns its length, 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	size_t n;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xE0) == 0xC0) {
		n = 2, *cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		n = 3, *cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		n = 4, *cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		*cp = (*cp << 6) | (s[i] & 0x3F);
	}
	if (*cp < min[n] || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF))
		return 0;
	return n;
}

static bool is_control(uint32_t c)
{
	return c < 0x20 || (c >= 0x7F && c <= 0x9F);
}

static bool is_space(uint32_t c)
{
	return c == ' ' || (c >= 0x09 && c <= 0x0D) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
	       (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
	       c == 0x205F || c == 0x3000;
}

const char *validate_field(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t cp;
	if (len == 0)
		return "empty field";
	if (len > VALIDATE_FIELD_MAX)
		return "field longer than 1024 bytes";
	for (size_t i = 0, n; i < len; i += n) {
		if (!(n = utf8_decode(p + i, len - i, &cp)))
			return "invalid UTF-8";
		if (cp == 0)
			return "embedded NUL character";
		if (is_control(cp))
			return "control character";
	}
	return NULL;
}

const char *validate_collection(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *why = validate_field(s, len);
	size_t count = 0;
	uint32_t cp;

	if (why)
		return why;
	if (!((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')))
		return "collection name must start with a letter";
	for (size_t i = 0, n; i < len; i += n, count++) {
		n = utf8_decode(p + i, len - i, &cp);
		bool ascii_ok = cp < 0x80 && ((cp >= 'A' && cp <= 'Z') ||
					      (cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9'));
		if (!ascii_ok && !(cp >= 0x7F && cp <= 0xFFFF))
			return "collection name may hold only letters and digits";
	}
	if (count < 3 || count > 13)
		return "collection name must be 3 to 13 characters";
	return NULL;
}

static bool in_set(uint32_t c, const char *set)
{
	return c < 0x80 && c != 0 && strchr(set, (int)c) != NULL;
}

const char *validate_upn(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	const char *why = validate_field(s, len);
	size_t local = 0, label = 0, labels = 0;
	bool at = false;
	uint32_t cp;

	if (why)
		return why;
	for (size_t i = 0, n; i < len; i += n) {
		n = utf8_decode(p + i, len - i, &cp);
		if (is_space(cp))
			return "UPN must not contain white space";
		if (!at) {
			if (cp == '@') {
				if (local == 0)
					return "UPN has no user name before '@'";
				at = true;
			} else if (in_set(cp, "\"/[]:;|=,+*?<>")) {
				return "UPN user name has a character not allowed";
			} else {
				local++;
			}
		} else if (cp == '.') {
			if (label == 0)
				return "UPN domain has an empty label";
			labels++, label = 0;
		} else if (in_set(cp, ",~:@#$%^&'(){}_")) {
			return "UPN domain has a character not allowed";
		} else {
			label++;
		}
	}
	if (!at)
		return "UPN must contain '@'";
	if (label == 0)
		return "UPN domain has an empty label";
	if (labels < 1)
		return "UPN domain needs at least one dot";
	return NULL;
}
