/* jsonin.c — JSON input: NDJSON lines, and JSON arrays streamed element by
 * element, each object parsed with cJSON.
 *
 * Keys are the CSV column aliases; cJSON's object lookup is already
 * case-insensitive. cJSON decodes "\u0000" into a NUL inside the string
 * without telling us the decoded length, so a raw "\u0000" escape in the
 * element marks the row invalid before it can hide the rest of a field.
 *
 * Arrays are never parsed whole: a small state machine follows strings,
 * escapes and bracket depth byte by byte and cuts the text at the commas
 * between top-level elements, so a 200 MB array costs one element's worth
 * of memory (capped at JSONIN_ELEMENT_MAX). The same machine splits a
 * stream of top-level objects, which is what ConvertTo-Json writes for a
 * single session. */
#include "input/jsonin.h"
#include "lib/err.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONIN_ELEMENT_MAX (1024 * 1024)

/* True when the raw text holds an unescaped \u0000 escape. */
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

/* The first of keys the object has (keys are in order of preference). */
static const cJSON *member(const cJSON *obj, const char *const *keys, const char **key)
{
	for (; *keys; keys++) {
		const cJSON *v = cJSON_GetObjectItem(obj, *keys);
		if (v) {
			*key = *keys;
			return v;
		}
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

/* One JSON object's text -> one row. */
static int object_row(const char *s, size_t len, long line, const struct input_opts *o,
		      input_row_fn fn, void *arg, const char *not_object)
{
	const char *why = NULL, *coll, *upn, *state, *group;
	cJSON *obj = cJSON_ParseWithLength(s, len);
	int rc;
	if (!cJSON_IsObject(obj)) {
		cJSON_Delete(obj);
		return input_emit(o, fn, arg, line, NULL, 0, NULL, 0, NULL, NULL, not_object);
	}
	const char *coll_key = NULL, *key;
	coll =
	    text(member(obj, o->avd ? input_avd_collection_keys : input_collection_keys, &coll_key),
		 &why, "collection is not a string");
	upn = text(member(obj, input_upn_keys, &key), &why, "UserUpn is not a string");
	/* State is not needed to act: ConvertTo-Json writes the enum as a number */
	const cJSON *st = member(obj, input_state_keys, &key);
	state = cJSON_IsString(st) ? st->valuestring : NULL;
	const cJSON *g = o->avd ? member(obj, input_group_keys, &key) : NULL;
	group = cJSON_IsString(g) && g->valuestring[0] ? g->valuestring : NULL;
	if (coll && !o->avd) { /* cut in place: the string is cJSON's own copy */
		((char *)coll)[input_collection_len(coll, strlen(coll), coll_key)] = '\0';
	}
	if (!coll)
		coll = o->collection;
	if (!why && !upn)
		why = "no UserUpn key";
	if (!why && has_nul_escape(s, len))
		why = "embedded NUL character";
	rc = input_emit(o, fn, arg, line, coll, coll ? strlen(coll) : 0, upn, upn ? strlen(upn) : 0,
			state, group, why);
	cJSON_Delete(obj);
	return rc;
}

int jsonin_line(const char *line, size_t len, long lineno, const struct input_opts *o,
		input_row_fn fn, void *arg)
{
	size_t i = 0;
	while (i < len && isspace((unsigned char)line[i]))
		i++;
	if (i == len)
		return 0;
	return object_row(line, len, lineno, o, fn, arg,
			  "not a JSON object (NDJSON wants one object per line)");
}

bool jsonin_is_open_brace_line(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == len || s[i++] != '{')
		return false;
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
		i++;
	return i == len || s[i] == '\n';
}

/* ---- streaming arrays ------------------------------------------------ */

enum { J_START, J_BETWEEN, J_ELEMENT, J_END };

struct jsonin_array {
	const char *name;
	struct input_opts o;
	input_row_fn fn;
	void *arg;
	int state;
	bool array; /* '[' seen: elements are separated by commas */
	int depth;  /* brackets open inside the current element */
	bool in_str, esc, too_big;
	char *elem;
	size_t len;
	long line;	/* the line being fed, from 1 */
	long elem_line; /* the line where the current element starts */
};

struct jsonin_array *jsonin_array_new(const char *name, const struct input_opts *o, input_row_fn fn,
				      void *arg, long first_line)
{
	struct jsonin_array *j = calloc(1, sizeof(*j));
	if (!j || !(j->elem = malloc(JSONIN_ELEMENT_MAX))) {
		free(j);
		return NULL;
	}
	j->name = name, j->o = *o, j->fn = fn, j->arg = arg, j->line = first_line;
	return j;
}

void jsonin_array_free(struct jsonin_array *j)
{
	if (!j)
		return;
	free(j->elem);
	free(j);
}

static int end_element(struct jsonin_array *j, const char *reason)
{
	int rc;
	if (j->too_big)
		reason = "JSON element larger than 1 MiB";
	if (reason)
		rc = input_emit(&j->o, j->fn, j->arg, j->elem_line, NULL, 0, NULL, 0, NULL, NULL,
				reason);
	else
		rc = object_row(j->elem, j->len, j->elem_line, &j->o, j->fn, j->arg,
				"not a JSON object (the array must hold objects)");
	j->len = 0, j->depth = 0, j->too_big = false;
	j->state = J_BETWEEN;
	return rc;
}

static void keep(struct jsonin_array *j, char c)
{
	if (j->len < JSONIN_ELEMENT_MAX)
		j->elem[j->len++] = c;
	else
		j->too_big = true;
}

/* One byte inside an element; returns 1 when the element ended before c,
 * 2 when it ended with c, else 0. */
static int element_byte(struct jsonin_array *j, char c)
{
	if (j->in_str) {
		keep(j, c);
		if (j->esc)
			j->esc = false;
		else if (c == '\\')
			j->esc = true;
		else if (c == '"')
			j->in_str = false;
		return 0;
	}
	if (j->depth == 0 && (c == ',' || c == ']') && j->array)
		return 1;
	keep(j, c);
	if (c == '"')
		j->in_str = true;
	else if (c == '{' || c == '[')
		j->depth++;
	else if ((c == '}' || c == ']') && --j->depth <= 0 && !j->array)
		return 2;
	return 0;
}

static int between_byte(struct jsonin_array *j, char c, char *msg, size_t msglen)
{
	if (isspace((unsigned char)c) || (j->array && c == ','))
		return 0;
	if (j->array && c == ']') {
		j->state = J_END;
		return 0;
	}
	j->state = J_ELEMENT;
	j->elem_line = j->line;
	return element_byte(j, c) == 2 ? end_element(j, NULL) : 0;
}

int jsonin_array_feed(struct jsonin_array *j, const char *p, size_t n, char *msg, size_t msglen)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char c = p[i];
		switch (j->state) {
		case J_START:
			if (isspace((unsigned char)c))
				break;
			j->array = c == '[';
			j->state = J_BETWEEN;
			if (!j->array)
				rc = between_byte(j, c, msg, msglen);
			break;
		case J_BETWEEN:
			rc = between_byte(j, c, msg, msglen);
			break;
		case J_ELEMENT: {
			int end = element_byte(j, c);
			if (end)
				rc = end_element(j, NULL);
			if (end == 1 && c == ']')
				j->state = J_END;
			break;
		}
		case J_END:
			if (!isspace((unsigned char)c)) {
				rc = input_emit(&j->o, j->fn, j->arg, j->line, NULL, 0, NULL, 0,
						NULL, NULL, "data after the end of the JSON array");
				j->state = -1; /* ignore the rest */
			}
			break;
		}
		j->line += c == '\n'; /* after: an element starting here starts on this line */
	}
	return rc;
}

int jsonin_array_finish(struct jsonin_array *j, char *msg, size_t msglen)
{
	if (j->state == J_ELEMENT)
		return end_element(j, "truncated JSON (the file ends inside this element)");
	if (j->state == J_BETWEEN && j->array)
		return input_emit(&j->o, j->fn, j->arg, j->line, NULL, 0, NULL, 0, NULL, NULL,
				  "truncated JSON array (no closing ']')");
	return 0;
}
