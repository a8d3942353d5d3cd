/* lookup.c — the session lists of one pass: see lookup.h.
 *
 * A collection's sessions are kept as one allocation each ("upn\0host\0id\0
 * state\0") in an array, sorted by UPN (ignoring case, then list order)
 * once the list is complete, so a row finds its sessions by binary search. */
#include "engine/lookup.h"
#include "lib/array.h"
#include "lib/err.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BUCKETS 256
#define WAKERS_MAX 64

struct entry {
	char *text; /* upn, session host, id, state: each NUL-terminated */
	size_t order;
};

struct lookup_pool {
	struct lookup_pool *next; /* in its bucket */
	enum lookup_state state;
	struct entry *v;
	size_t n, cap;
	int http;
	char *code, *message;
	char key[];
};

struct lookup {
	pthread_mutex_t lock;
	struct lookup_pool *bucket[BUCKETS];
	struct {
		lookup_wake_fn *fn;
		void *arg;
	} wakers[WAKERS_MAX];
	int nwakers;
};

struct lookup *lookup_new(void)
{
	struct lookup *l = calloc(1, sizeof(*l));
	if (l)
		pthread_mutex_init(&l->lock, NULL);
	return l;
}

void lookup_free(struct lookup *l)
{
	if (!l)
		return;
	for (int b = 0; b < BUCKETS; b++)
		for (struct lookup_pool *p = l->bucket[b], *next; p; p = next) {
			next = p->next;
			for (size_t i = 0; i < p->n; i++)
				free(p->v[i].text);
			free(p->v);
			free(p->code);
			free(p->message);
			free(p);
		}
	pthread_mutex_destroy(&l->lock);
	free(l);
}

int lookup_add_waker(struct lookup *l, lookup_wake_fn *fn, void *arg)
{
	pthread_mutex_lock(&l->lock);
	int rc = l->nwakers < WAKERS_MAX ? 0 : ERR_RANGE;
	if (rc == 0)
		l->wakers[l->nwakers].fn = fn, l->wakers[l->nwakers++].arg = arg;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

static unsigned hash_nocase(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a over the lower-cased bytes */
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		h = (h ^ (c >= 'A' && c <= 'Z' ? c + 32 : c)) * 16777619u;
	}
	return h;
}

struct lookup_pool *lookup_pool(struct lookup *l, const char *key, bool *first)
{
	unsigned b = hash_nocase(key) % BUCKETS;
	struct lookup_pool *p;
	*first = false;
	pthread_mutex_lock(&l->lock);
	for (p = l->bucket[b]; p && strcasecmp(p->key, key) != 0; p = p->next)
		;
	if (!p && (p = calloc(1, sizeof(*p) + strlen(key) + 1))) {
		strcpy(p->key, key);
		p->state = LOOKUP_LISTING;
		p->next = l->bucket[b];
		l->bucket[b] = p;
		*first = true;
	}
	pthread_mutex_unlock(&l->lock);
	return p;
}

enum lookup_state lookup_state(struct lookup *l, struct lookup_pool *p)
{
	pthread_mutex_lock(&l->lock);
	enum lookup_state s = p->state;
	pthread_mutex_unlock(&l->lock);
	return s;
}

int lookup_add(struct lookup_pool *p, const struct lookup_session *s)
{
	size_t a = strlen(s->upn) + 1, b = strlen(s->session_host) + 1, c = strlen(s->id) + 1,
	       d = strlen(s->state) + 1;
	char *text = malloc(a + b + c + d);
	if (!text || array_grow((void **)&p->v, &p->cap, p->n + 1, sizeof(*p->v), 64) < 0) {
		free(text);
		return ERR_NOMEM;
	}
	memcpy(text, s->upn, a);
	memcpy(text + a, s->session_host, b);
	memcpy(text + a + b, s->id, c);
	memcpy(text + a + b + c, s->state, d);
	p->v[p->n].text = text;
	p->v[p->n].order = p->n;
	p->n++;
	return 0;
}

size_t lookup_count(const struct lookup_pool *p)
{
	return p->n;
}

static int by_upn(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	int c = strcasecmp(a->text, b->text);
	return c ? c : a->order < b->order ? -1 : a->order > b->order;
}

static void end(struct lookup *l, struct lookup_pool *p, enum lookup_state s)
{
	pthread_mutex_lock(&l->lock);
	p->state = s;
	for (int i = 0; i < l->nwakers; i++)
		l->wakers[i].fn(l->wakers[i].arg);
	pthread_mutex_unlock(&l->lock);
}

void lookup_ready(struct lookup *l, struct lookup_pool *p)
{
	qsort(p->v, p->n, sizeof(*p->v), by_upn);
	end(l, p, LOOKUP_READY);
}

void lookup_failed(struct lookup *l, struct lookup_pool *p, int http, const char *code,
		   const char *message)
{
	p->http = http;
	p->code = strdup(code ? code : "");
	p->message = strdup(message ? message : "");
	end(l, p, LOOKUP_FAILED);
}

void lookup_error(const struct lookup_pool *p, int *http, const char **code, const char **message)
{
	*http = p->http;
	*code = p->code ? p->code : "";
	*message = p->message ? p->message : "the session list could not be had";
}

int lookup_match(const struct lookup_pool *p, const char *upn, lookup_match_fn *fn, void *arg)
{
	size_t lo = 0, hi = p->n; /* the first entry not below upn */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcasecmp(p->v[mid].text, upn) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	int matched = 0;
	for (size_t i = lo; i < p->n && strcasecmp(p->v[i].text, upn) == 0; i++) {
		const char *t = p->v[i].text, *sh = t + strlen(t) + 1, *id = sh + strlen(sh) + 1;
		struct lookup_session s = {t, sh, id, id + strlen(id) + 1};
		int rc = fn ? fn(arg, &s) : 0;
		if (rc)
			return rc;
		matched++;
	}
	return matched;
}
