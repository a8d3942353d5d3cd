/* service.c — the vocabulary every service shares (see service.h): operation
 * names, path-segment escaping, JSON string escaping, operation-id checks,
 * header values. */
#include "service/service.h"
#include "lib/err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define SERVICE_OP_ID_MAX_TEXT STR(SERVICE_OP_ID_MAX)

static const char *const op_names[] = {
#define SERVICE_OP_NAME_(name, text) text,
    SERVICE_OP_MAP(SERVICE_OP_NAME_)
#undef SERVICE_OP_NAME_
};

const char *service_opstatus_name(enum service_opstatus s)
{
	static const char *const names[] = {
#define SERVICE_OPSTATUS_NAME_(name, text) text,
	    SERVICE_OPSTATUS_MAP(SERVICE_OPSTATUS_NAME_)
#undef SERVICE_OPSTATUS_NAME_
	};
	return names[s];
}

const char *service_op_name(enum service_op op)
{
	return op_names[op];
}

int service_op_parse(const char *name, enum service_op *op)
{
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
		if (strcmp(name, op_names[i]) == 0) {
			*op = (enum service_op)i;
			return 0;
		}
	}
	return ERR_INVAL;
}

static bool unreserved(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int service_escape_segment(char *dst, size_t cap, const char *seg)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	if (!*seg || strcmp(seg, ".") == 0 || strcmp(seg, "..") == 0 || strpbrk(seg, "\r\n"))
		return ERR_INVAL;
	for (const unsigned char *p = (const unsigned char *)seg; *p; p++) {
		if (n + 4 > cap)
			return ERR_TOOBIG;
		if (unreserved(*p)) {
			dst[n++] = (char)*p;
		} else {
			dst[n++] = '%';
			dst[n++] = hex[*p >> 4];
			dst[n++] = hex[*p & 15];
		}
	}
	dst[n] = '\0';
	return (int)n;
}

int service_json_string(char *dst, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (n + 7 > cap)
			return ERR_TOOBIG;
		if (*p == '"' || *p == '\\') {
			dst[n++] = '\\';
			dst[n++] = (char)*p;
		} else if (*p < 0x20) {
			memcpy(dst + n, "\\u00", 4);
			dst[n + 4] = hex[*p >> 4];
			dst[n + 5] = hex[*p & 15];
			n += 6;
		} else {
			dst[n++] = (char)*p;
		}
	}
	if (n + 1 > cap)
		return ERR_TOOBIG;
	dst[n] = '\0';
	return (int)n;
}

const char *service_op_id_problem(const char *id)
{
	size_t n = strnlen(id, SERVICE_OP_ID_MAX + 1);
	if (n == 0)
		return "is empty";
	if (n > SERVICE_OP_ID_MAX)
		return "is longer than " SERVICE_OP_ID_MAX_TEXT " bytes";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20 || id[i] == 0x7F)
			return "holds control characters";
	if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return "is not a path segment";
	return NULL;
}

/* The first 200 bytes, control characters blanked, cut on a UTF-8 boundary. */
void service_error_excerpt(const char *body, size_t len, struct service_error *out)
{
	size_t n = len < 200 ? len : 200;
	while (n < len && n > 0 && ((unsigned char)body[n] & 0xC0) == 0x80)
		n--;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)body[i];
		out->message[i] = (c < 0x20 || c == 0x7F) ? ' ' : (char)c;
	}
	out->message[n] = '\0';
}

bool service_contains(const char *hay, const char *needle)
{
	size_t m = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, m) == 0)
			return true;
	return false;
}

enum service_verdict service_verdict_of(int http_status, bool user_missing)
{
	if (http_status >= 200 && http_status < 300)
		return SERVICE_V_OK;
	switch (http_status) {
	case 0:
	case 408:
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		return SERVICE_V_RETRY;
	case 401:
		return SERVICE_V_UNAUTHORIZED;
	case 403:
		return SERVICE_V_FORBIDDEN;
	}
	return user_missing ? SERVICE_V_NO_SESSION : SERVICE_V_FAILED;
}

bool service_throttled(int http_status)
{
	return http_status == 429 || http_status == 503;
}

bool service_header_value(const char *line, size_t len, const char *name, char *dst, size_t cap)
{
	size_t m = strlen(name);
	if (len <= m || line[m] != ':' || strncasecmp(line, name, m) != 0)
		return false;
	const char *v = line + m + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && isspace((unsigned char)end[-1]))
		end--;
	size_t n = (size_t)(end - v) < cap - 1 ? (size_t)(end - v) : cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return true;
}
