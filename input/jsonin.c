/* jsonin.c — NDJSON input: one JSON object per line, parsed with cJSON.
 *
 * Keys are the CSV column aliases; cJSON's object lookup is already
 * case-insensitive. cJSON decodes "\u0000" into a NUL inside the string
 * without telling us the decoded length, so a raw "\u0000" escape in the
 * line marks the row invalid before it can hide the rest of a field. */
#include "input/internal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <string.h>

/* True when the raw line holds an unescaped \u0000 escape. */
static bool has_nul_escape(const char *s, size_t len)
{
	for (size_t i = 0; i + 6 <= len; i++) {
		if (s[i] != '\\')
			continue;
		if (s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
			return true;
		i++; /* skip the escaped character, so "\\u0000" is not one */
	}
	return false;
}

static const cJSON *member(const cJSON *obj, const char *const *keys)
{
	for (; *keys; keys++) {
		const cJSON *v = cJSON_GetObjectItem(obj, *keys);
		if (v)
			return v;
	}
	return NULL;
}

/* Picks one string field; sets *why when it is there but not a string. */
static const char *text(const cJSON *v, const char **why, const char *what)
{
	if (!v)
		return NULL;
	if (!cJSON_IsString(v)) {
		*why = what;
		return NULL;
	}
	return v->valuestring;
}

int jsonin_line(const char *line, size_t len, long lineno, const struct input_opts *o,
		input_row_fn fn, void *arg)
{
	const char *why = NULL, *coll, *upn, *state;
	size_t i = 0;
	int rc;

	while (i < len && isspace((unsigned char)line[i]))
		i++;
	if (i == len)
		return 0;
	cJSON *obj = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return input_emit(fn, arg, lineno, NULL, 0, NULL, 0, NULL,
				  "not a JSON object (NDJSON wants one object per line)");
	}
	coll = text(member(obj, input_collection_keys), &why, "collection is not a string");
	upn = text(member(obj, input_upn_keys), &why, "UserUpn is not a string");
	state = text(member(obj, input_state_keys), &why, "State is not a string");
	if (!coll)
		coll = o->collection;
	if (!why && !upn)
		why = "no UserUpn key";
	if (!why && has_nul_escape(line, len))
		why = "embedded NUL character";
	rc = input_emit(fn, arg, lineno, coll, coll ? strlen(coll) : 0, upn, upn ? strlen(upn) : 0,
			state, why);
	cJSON_Delete(obj);
	return rc;
}
