/* avdstate.c — host pools, session hosts and user sessions (see avdstate.h).
 *
 * Three vectors (pools, hosts, sessions), each record pointing up by index,
 * and one open-addressing hash table from a string key to an index:
 *
 *   "p\n" lower(rg) "\n" lower(hp)   a pool
 *   "g\n" lower(rg)                  a resource group (index unused)
 *   "h\n" pool "\n" name             a session host, spelled exactly
 *   "s\n" host "\n" id               a session
 *
 * One table keeps the code short; the prefixes keep the kinds apart. Lists
 * walk the session vector from a cursor: a pool's listing is one pass over
 * the sessions added after its first, whatever the page size. */
#include "emulator/avdstate.h"
#include "lib/array.h"
#include "lib/err.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct slot {
	char *key; /* owned; NULL = empty */
	uint32_t idx;
};

struct avdstate {
	struct avdstate_pool *pools;
	struct avdstate_host *hosts;
	struct avdstate_session *sessions;
	size_t npools, pools_cap, nhosts, hosts_cap, nsessions, sessions_cap;
	struct slot *slots; /* the table: a power of two, at most half full */
	size_t cap, len;
};

static const char *const status_names[] = {"Unknown", "Active", "Disconnected",
					   "Pending", "LogOff", "UserProfileDiskMounted"};

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static bool find(const struct avdstate *st, const char *key, uint32_t *idx)
{
	if (!st->cap)
		return false;
	for (size_t i = hash_str(key) & (st->cap - 1);; i = (i + 1) & (st->cap - 1)) {
		if (!st->slots[i].key)
			return false;
		if (strcmp(st->slots[i].key, key) == 0) {
			*idx = st->slots[i].idx;
			return true;
		}
	}
}

static void place(struct slot *slots, size_t cap, char *key, uint32_t idx)
{
	size_t i = hash_str(key) & (cap - 1);
	while (slots[i].key)
		i = (i + 1) & (cap - 1);
	slots[i].key = key, slots[i].idx = idx;
}

/* Takes ownership of key (freed on failure). Returns 0 or ERR_NOMEM. */
static int put(struct avdstate *st, char *key, uint32_t idx)
{
	if (!key)
		return ERR_NOMEM;
	if ((st->len + 1) * 2 > st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 256;
		struct slot *s = calloc(cap, sizeof(*s));
		if (!s) {
			free(key);
			return ERR_NOMEM;
		}
		for (size_t i = 0; i < st->cap; i++)
			if (st->slots[i].key)
				place(s, cap, st->slots[i].key, st->slots[i].idx);
		free(st->slots);
		st->slots = s, st->cap = cap;
	}
	place(st->slots, st->cap, key, idx);
	st->len++;
	return 0;
}

/* The keys; caller owns the result, NULL when out of memory. */
static char *lower_key(const char *kind, const char *a, const char *b)
{
	size_t n = strlen(kind) + strlen(a) + (b ? strlen(b) + 1 : 0) + 2;
	char *k = malloc(n);
	if (!k)
		return NULL;
	snprintf(k, n, "%s\n%s%s%s", kind, a, b ? "\n" : "", b ? b : "");
	for (char *p = k; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return k;
}

static char *index_key(const char *kind, uint32_t up, const char *name)
{
	size_t n = strlen(name) + 24;
	char *k = malloc(n);
	if (k)
		snprintf(k, n, "%s\n%u\n%s", kind, up, name);
	return k;
}

struct avdstate *avdstate_new(void)
{
	return calloc(1, sizeof(struct avdstate));
}

void avdstate_free(struct avdstate *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->npools; i++) {
		free(st->pools[i].resource_group);
		free(st->pools[i].name);
	}
	for (size_t i = 0; i < st->nhosts; i++)
		free(st->hosts[i].name);
	for (size_t i = 0; i < st->nsessions; i++)
		free(st->sessions[i].upn);
	for (size_t i = 0; i < st->cap; i++)
		free(st->slots[i].key);
	free(st->slots);
	free(st->pools);
	free(st->hosts);
	free(st->sessions);
	free(st);
}

const char *avdstate_status_name(enum avdstate_status s)
{
	return status_names[s];
}

int avdstate_status_parse(const char *name, enum avdstate_status *s)
{
	if (!name || !*name) {
		*s = AVDSTATE_ACTIVE;
		return 0;
	}
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
		if (strcasecmp(name, status_names[i]) == 0) {
			*s = (enum avdstate_status)i;
			return 0;
		}
	}
	return ERR_INVAL;
}

int avdstate_add_pool(struct avdstate *st, const char *resource_group, const char *host_pool)
{
	uint32_t idx;
	char *k = lower_key("p", resource_group, host_pool), *g;
	if (!k)
		return ERR_NOMEM;
	if (find(st, k, &idx)) {
		free(k);
		return (int)idx;
	}
	if (array_grow((void **)&st->pools, &st->pools_cap, st->npools + 1, sizeof(*st->pools),
		       16) < 0) {
		free(k);
		return ERR_NOMEM;
	}
	struct avdstate_pool *p = &st->pools[st->npools];
	p->resource_group = strdup(resource_group);
	p->name = strdup(host_pool);
	if (!p->resource_group || !p->name) {
		free(k);
		goto out_free;
	}
	if (put(st, k, (uint32_t)st->npools) < 0)
		goto out_free;
	int added = (int)st->npools++;
	if (!(g = lower_key("g", resource_group, NULL)))
		return ERR_NOMEM;
	if (find(st, g, &idx))
		free(g);
	else if (put(st, g, 0) < 0)
		return ERR_NOMEM;
	return added;
out_free:
	free(p->resource_group);
	free(p->name);
	return ERR_NOMEM;
}

int avdstate_add_host(struct avdstate *st, uint32_t pool, const char *name, int64_t now_ms)
{
	uint32_t idx;
	char *k = index_key("h", pool, name);
	if (!k)
		return ERR_NOMEM;
	if (find(st, k, &idx)) {
		free(k);
		return (int)idx;
	}
	if (array_grow((void **)&st->hosts, &st->hosts_cap, st->nhosts + 1, sizeof(*st->hosts),
		       64) < 0) {
		free(k);
		return ERR_NOMEM;
	}
	struct avdstate_host *h = &st->hosts[st->nhosts];
	memset(h, 0, sizeof(*h));
	h->pool = pool;
	h->allow_new_session = true;
	h->next_id = 1;
	h->created_ms = now_ms;
	if (!(h->name = strdup(name))) {
		free(k);
		return ERR_NOMEM;
	}
	if (put(st, k, (uint32_t)st->nhosts) < 0) {
		free(h->name);
		return ERR_NOMEM;
	}
	return (int)st->nhosts++;
}

int avdstate_add_session(struct avdstate *st, const char *resource_group, const char *host_pool,
			 const char *session_host, const char *upn, enum avdstate_status status,
			 int64_t now_ms)
{
	int pool = avdstate_add_pool(st, resource_group, host_pool);
	int host = pool < 0 ? pool : avdstate_add_host(st, (uint32_t)pool, session_host, now_ms);
	char id[16];
	if (host < 0)
		return host;
	if (array_grow((void **)&st->sessions, &st->sessions_cap, st->nsessions + 1,
		       sizeof(*st->sessions), 1024) < 0)
		return ERR_NOMEM;
	struct avdstate_host *h = &st->hosts[host];
	struct avdstate_session *s = &st->sessions[st->nsessions];
	memset(s, 0, sizeof(*s));
	s->host = (uint32_t)host;
	s->id = h->next_id;
	s->status = status;
	s->created_ms = now_ms;
	snprintf(id, sizeof(id), "%u", s->id);
	if (!(s->upn = strdup(upn)))
		return ERR_NOMEM;
	if (put(st, index_key("s", (uint32_t)host, id), (uint32_t)st->nsessions) < 0) {
		free(s->upn);
		return ERR_NOMEM;
	}
	h->next_id++;
	h->live++;
	return (int)st->nsessions++;
}

bool avdstate_has_resource_group(const struct avdstate *st, const char *resource_group)
{
	uint32_t idx;
	char *k = lower_key("g", resource_group, NULL);
	bool found = k && find(st, k, &idx);
	free(k);
	return found;
}

int avdstate_find_pool(const struct avdstate *st, const char *resource_group, const char *host_pool)
{
	uint32_t idx;
	char *k = lower_key("p", resource_group, host_pool);
	int rc = !k ? ERR_NOMEM : find(st, k, &idx) ? (int)idx : ERR_NOENT;
	free(k);
	return rc;
}

int avdstate_find_host(const struct avdstate *st, uint32_t pool, const char *name)
{
	uint32_t idx;
	char *k = index_key("h", pool, name);
	int rc = !k ? ERR_NOMEM : find(st, k, &idx) ? (int)idx : ERR_NOENT;
	free(k);
	return rc;
}

int avdstate_find_session(const struct avdstate *st, uint32_t host, const char *id)
{
	uint32_t idx;
	char key[48];
	size_t n = strlen(id);
	/* the canonical decimal only: "03" or "+3" is no session's id */
	if (n == 0 || n > 10 || strspn(id, "0123456789") != n || (id[0] == '0' && n > 1))
		return ERR_NOENT;
	snprintf(key, sizeof(key), "s\n%u\n%s", host, id);
	return find(st, key, &idx) ? (int)idx : ERR_NOENT;
}

size_t avdstate_npools(const struct avdstate *st)
{
	return st->npools;
}

size_t avdstate_nhosts(const struct avdstate *st)
{
	return st->nhosts;
}

size_t avdstate_nsessions(const struct avdstate *st)
{
	return st->nsessions;
}

const struct avdstate_pool *avdstate_pool(const struct avdstate *st, size_t i)
{
	return &st->pools[i];
}

struct avdstate_host *avdstate_host(struct avdstate *st, size_t i)
{
	return &st->hosts[i];
}

struct avdstate_session *avdstate_session(struct avdstate *st, size_t i)
{
	return &st->sessions[i];
}

int avdstate_act(struct avdstate *st, size_t i, enum avdstate_op op, const char *title,
		 const char *message)
{
	struct avdstate_session *s = &st->sessions[i];
	s->ops[op]++;
	if (s->gone)
		return ERR_NOENT;
	switch (op) {
	case AVDSTATE_OP_DISCONNECT:
		s->status = AVDSTATE_DISCONNECTED;
		break;
	case AVDSTATE_OP_LOGOFF:
		s->gone = true;
		s->status = AVDSTATE_LOGOFF;
		st->hosts[s->host].live--;
		break;
	case AVDSTATE_OP_MESSAGE:
		snprintf(s->last_title, sizeof(s->last_title), "%s", title ? title : "");
		snprintf(s->last_message, sizeof(s->last_message), "%s", message ? message : "");
		break;
	}
	return 0;
}

void avdstate_reset_ops(struct avdstate *st)
{
	for (size_t i = 0; i < st->nsessions; i++)
		memset(st->sessions[i].ops, 0, sizeof(st->sessions[i].ops));
}

size_t avdstate_page_sessions(const struct avdstate *st, uint32_t pool, long host, size_t *cursor,
			      size_t max, size_t *out)
{
	size_t n = 0, i;
	for (i = *cursor; i < st->nsessions; i++) {
		const struct avdstate_session *s = &st->sessions[i];
		if (s->gone || st->hosts[s->host].pool != pool || (host >= 0 && s->host != host))
			continue;
		if (n == max)
			break;
		out[n++] = i;
	}
	*cursor = i < st->nsessions ? i : 0;
	return n;
}

size_t avdstate_page_hosts(const struct avdstate *st, uint32_t pool, size_t *cursor, size_t max,
			   size_t *out)
{
	size_t n = 0, i;
	for (i = *cursor; i < st->nhosts; i++) {
		if (st->hosts[i].pool != pool)
			continue;
		if (n == max)
			break;
		out[n++] = i;
	}
	*cursor = i < st->nhosts ? i : 0;
	return n;
}
