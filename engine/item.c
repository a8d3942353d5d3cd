/* item.c — the row record that flows from reader to engine to report. */
#include "engine/item.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum item_class cls;
} statuses[] = {
#define STATUS_ROW_(name, text, cls) {text, cls},
    STATUS_MAP(STATUS_ROW_)
#undef STATUS_ROW_
};

const char *item_status_name(enum item_status s)
{
	return statuses[s].name;
}

enum item_class item_status_class(enum item_status s)
{
	return statuses[s].cls;
}

struct item *item_new(long line, enum service_op op, const char *collection, const char *upn,
		      const char *extra)
{
	size_t lc = strlen(collection) + 1, lu = strlen(upn) + 1,
	       le = extra ? strlen(extra) + 1 : 0;
	struct item *it = calloc(1, sizeof(*it) + lc + lu + le);
	if (!it)
		return NULL;
	it->line = line;
	it->op = op;
	it->collection = it->text;
	it->upn = it->text + lc;
	memcpy(it->collection, collection, lc);
	memcpy(it->upn, upn, lu);
	if (extra) {
		it->extra = it->text + lc + lu;
		memcpy(it->extra, extra, le);
	}
	return it;
}

void item_free(struct item *it)
{
	if (!it)
		return;
	free(it->sessions);
	free(it->fan);
	free(it->link);
	free(it);
}

bool item_worse(enum item_status a, enum item_status b)
{
	static const int rank[STATUS_COUNT] = {
	    [STATUS_SUCCEEDED] = 0,	[STATUS_SUBMITTED] = 0, [STATUS_PLANNED] = 0,
	    [STATUS_NO_SESSION] = 1,	[STATUS_SKIPPED] = 1,	[STATUS_DUPLICATE] = 1,
	    [STATUS_NOT_ATTEMPTED] = 2, [STATUS_ACCEPTED] = 3,	[STATUS_INVALID] = 4,
	    [STATUS_FAILED] = 4,
	};
	return rank[a] > rank[b];
}

struct item *item_clone(const struct item *it)
{
	struct item *c = item_new(it->line, it->op, it->collection, it->upn, it->extra);
	if (!c)
		return NULL;
	char *coll = c->collection, *upn = c->upn, *extra = c->extra;
	size_t head = offsetof(struct item, collection);
	memcpy(c, it, head); /* every field before the string pointers */
	c->collection = coll, c->upn = upn, c->extra = extra;
	if (it->sessions && !(c->sessions = strdup(it->sessions))) {
		item_free(c);
		return NULL;
	}
	return c;
}

void item_left_over(struct item *it, const char *code, const char *message)
{
	item_set_error(it, it->phase == ITEM_POLL ? STATUS_ACCEPTED : STATUS_NOT_ATTEMPTED, code,
		       message);
}

void item_set_error(struct item *it, enum item_status s, const char *code, const char *message)
{
	it->status = s;
	if (code)
		snprintf(it->error_code, sizeof(it->error_code), "%s", code);
	if (message)
		snprintf(it->error_message, sizeof(it->error_message), "%s", message);
}
