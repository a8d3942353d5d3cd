/* row.c — what every input reader shares: the column (and key) names, and
 * the step that validates a row and hands it on (input_emit). The readers
 * (csvin.c, jsonin.c, input.c's plain lines) call down into this file; it
 * calls none of them. */
#include "input/internal.h"
#include "input/validate.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* In order of preference: a Get-AzWvdUserSession export has Name only */
const char *const input_collection_keys[] = {"CollectionName", "Collection", "HostPool",
					     "HostPoolName",   "Name",	     NULL};
const char *const input_upn_keys[] = {"UserUpn", "Upn", "UserPrincipalName", "User", NULL};
const char *const input_state_keys[] = {"State", NULL};
/* --service avd: a Get-AzWvdUserSession export's Id names the session */
const char *const input_avd_collection_keys[] = {
    "Id", "CollectionName", "Collection", "HostPool", "HostPoolName", "Name", NULL};
const char *const input_group_keys[] = {"ResourceGroupName", "ResourceGroup", NULL};

int input_key_rank(const char *name, size_t len, const char *const *keys)
{
	for (int i = 0; keys[i]; i++)
		if (strlen(keys[i]) == len && strncasecmp(name, keys[i], len) == 0)
			return i;
	return -1;
}

bool input_key_is(const char *name, size_t len, const char *const *keys)
{
	return input_key_rank(name, len, keys) >= 0;
}

size_t input_collection_len(const char *coll, size_t len, const char *key)
{
	const char *slash = strcasecmp(key, "Name") == 0 ? memchr(coll, '/', len) : NULL;
	return slash ? (size_t)(slash - coll) : len;
}

const char *input_extra_next(const char *list, char *dst, size_t cap)
{
	const char *sep = strchr(list, INPUT_EXTRA_SEP);
	size_t len = sep ? (size_t)(sep - list) : strlen(list);
	snprintf(dst, cap, "%.*s", (int)len, list);
	return sep ? sep + 1 : NULL;
}

const char *input_row_collection(const struct input_row *r, char *buf, size_t cap)
{
	if (!r->group || r->collection[0] == '/' ||
	    snprintf(buf, cap, "%s/%s", r->group, r->collection) >= (int)cap)
		return r->collection;
	return buf;
}

int input_emit_extra(const struct input_opts *o, input_row_fn fn, void *arg, struct input_row *r,
		     size_t coll_len, size_t upn_len)
{
	if (!r->reason)
		r->reason = !r->collection ? "no collection (add a CollectionName column or use "
					     "--collection)"
			    : o->avd	   ? validate_field(r->collection, coll_len)
					   : validate_collection(r->collection, coll_len);
	if (!r->reason)
		r->reason = validate_upn(r->upn, upn_len);
	if (!r->collection)
		r->collection = "";
	return fn(arg, r);
}

int input_emit(const struct input_opts *o, input_row_fn fn, void *arg, long line, const char *coll,
	       size_t coll_len, const char *upn, size_t upn_len, const char *state,
	       const char *group, const char *reason)
{
	struct input_row r = {line, coll, upn ? upn : "", state, group, reason, NULL, NULL};
	return input_emit_extra(o, fn, arg, &r, coll_len, upn_len);
}
