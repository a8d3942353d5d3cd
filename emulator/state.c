/* state.c — collections and sessions (see state.h).
 *
 * Sessions live in one vector, indexed by an open-addressing hash table on
 * lower(collection) "\n" lower(upn); collections likewise on lower(name).
 * Records are never removed, so an index is a stable name for a session:
 * what the tracking ids carry. One mutex guards it all: a request's work
 * is a few lookups, far shorter than its trip through the network. */
#include "emulator/state.h"
#include "lib/array.h"
#include "lib/clock.h"
#include "lib/err.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct tslot {
	char *key; /* owned; NULL = empty */
	uint32_t idx;
};

/* A string -> index map; the capacity is a power of two, at most half full. */
struct table {
	struct tslot *slots;
	size_t cap, len;
};

struct state {
	pthread_mutex_t lock;
	struct state_session *sessions;
	size_t nsessions, sessions_cap;
	struct table by_pair, collections;
	char **collection_names;
	size_t ncollections, collections_cap;
};

static const char *const status_names[] = {"None", "Connected", "Active", "Disconnected"};

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* lower(a) "\n" lower(b), ASCII folding only; caller owns the result. */
static char *make_key(const char *a, const char *b)
{
	size_t la = strlen(a), lb = b ? strlen(b) : 0;
	char *k = malloc(la + lb + 2);
	if (!k)
		return NULL;
	for (size_t i = 0; i < la; i++)
		k[i] = (char)tolower((unsigned char)a[i]);
	k[la] = '\0';
	if (b) {
		k[la] = '\n';
		for (size_t i = 0; i <= lb; i++)
			k[la + 1 + i] = (char)tolower((unsigned char)b[i]);
	}
	return k;
}

static bool table_find(const struct table *t, const char *key, uint32_t *idx)
{
	if (!t->cap)
		return false;
	for (size_t i = hash_str(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		if (!t->slots[i].key)
			return false;
		if (strcmp(t->slots[i].key, key) == 0) {
			*idx = t->slots[i].idx;
			return true;
		}
	}
}

static void table_place(struct tslot *slots, size_t cap, char *key, uint32_t idx)
{
	size_t i = hash_str(key) & (cap - 1);
	while (slots[i].key)
		i = (i + 1) & (cap - 1);
	slots[i].key = key, slots[i].idx = idx;
}

/* Takes ownership of key. Returns 0 or ERR_NOMEM (key freed). */
static int table_put(struct table *t, char *key, uint32_t idx)
{
	if ((t->len + 1) * 2 > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		struct tslot *s = calloc(cap, sizeof(*s));
		if (!s) {
			free(key);
			return ERR_NOMEM;
		}
		for (size_t i = 0; i < t->cap; i++)
			if (t->slots[i].key)
				table_place(s, cap, t->slots[i].key, t->slots[i].idx);
		free(t->slots);
		t->slots = s, t->cap = cap;
	}
	table_place(t->slots, t->cap, key, idx);
	t->len++;
	return 0;
}

static void table_release(struct table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].key);
	free(t->slots);
}

struct state *state_new(void)
{
	struct state *st = calloc(1, sizeof(*st));
	if (st)
		pthread_mutex_init(&st->lock, NULL);
	return st;
}

void state_free(struct state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nsessions; i++) {
		free(st->sessions[i].collection);
		free(st->sessions[i].upn);
	}
	for (size_t i = 0; i < st->ncollections; i++)
		free(st->collection_names[i]);
	table_release(&st->by_pair);
	table_release(&st->collections);
	free(st->sessions);
	free(st->collection_names);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

void state_lock(struct state *st)
{
	pthread_mutex_lock(&st->lock);
}

void state_unlock(struct state *st)
{
	pthread_mutex_unlock(&st->lock);
}

const char *state_status_name(enum state_status s)
{
	return status_names[s];
}

int state_status_parse(const char *name, enum state_status *s)
{
	if (!name || !*name) {
		*s = STATE_CONNECTED;
		return 0;
	}
	for (int i = STATE_CONNECTED; i <= STATE_DISCONNECTED; i++) {
		if (strcasecmp(name, status_names[i]) == 0) {
			*s = (enum state_status)i;
			return 0;
		}
	}
	return ERR_INVAL;
}

int state_add_collection(struct state *st, const char *name)
{
	uint32_t idx;
	char *k = make_key(name, NULL), *copy = NULL;
	if (!k)
		return ERR_NOMEM;
	if (table_find(&st->collections, k, &idx)) {
		free(k);
		return 0;
	}
	if (array_grow((void **)&st->collection_names, &st->collections_cap, st->ncollections + 1,
		       sizeof(char *), 1024) < 0 ||
	    !(copy = strdup(name))) {
		free(k);
		return ERR_NOMEM;
	}
	if (table_put(&st->collections, k, (uint32_t)st->ncollections) < 0) {
		free(copy);
		return ERR_NOMEM;
	}
	st->collection_names[st->ncollections++] = copy;
	return 0;
}

bool state_has_collection(const struct state *st, const char *name)
{
	uint32_t idx;
	char *k = make_key(name, NULL);
	bool found = k && table_find(&st->collections, k, &idx);
	free(k);
	return found;
}

size_t state_ncollections(const struct state *st)
{
	return st->ncollections;
}

const char *state_collection(const struct state *st, size_t i)
{
	return st->collection_names[i];
}

int state_add_session(struct state *st, const char *collection, const char *upn,
		      enum state_status status)
{
	struct state_session *s;
	int rc = state_add_collection(st, collection);
	if (rc < 0)
		return rc;
	if (!(s = state_pair(st, collection, upn)))
		return ERR_NOMEM;
	s->status = status;
	s->logon_ms = clock_wall_ms();
	return 0;
}

struct state_session *state_pair(struct state *st, const char *collection, const char *upn)
{
	uint32_t idx;
	char *k = make_key(collection, upn);
	if (!k)
		return NULL;
	if (table_find(&st->by_pair, k, &idx)) {
		free(k);
		return &st->sessions[idx];
	}
	if (array_grow((void **)&st->sessions, &st->sessions_cap, st->nsessions + 1,
		       sizeof(struct state_session), 1024)) {
		free(k);
		return NULL;
	}
	struct state_session *s = &st->sessions[st->nsessions];
	memset(s, 0, sizeof(*s));
	if (!(s->collection = strdup(collection)) || !(s->upn = strdup(upn)) ||
	    table_put(&st->by_pair, k, (uint32_t)st->nsessions) < 0) {
		free(s->collection);
		free(s->upn);
		return NULL;
	}
	st->nsessions++;
	return s;
}

size_t state_nsessions(const struct state *st)
{
	return st->nsessions;
}

struct state_session *state_session(struct state *st, size_t i)
{
	return &st->sessions[i];
}

uint32_t state_index(const struct state *st, const struct state_session *s)
{
	return (uint32_t)(s - st->sessions);
}

void state_reset_ops(struct state *st)
{
	for (size_t i = 0; i < st->nsessions; i++)
		memset(st->sessions[i].ops, 0, sizeof(st->sessions[i].ops));
}
