/* armquota.c — ARM's token buckets for the emulator (see armquota.h).
 *
 * A bucket is a token count and the time it was last refilled: refilling
 * is done lazily, when a request comes (tokens += rate * elapsed, capped at
 * the burst), so idle buckets cost nothing. The keys are kept in an array
 * searched linearly: the emulator serves a handful of subscriptions and
 * principals, and ARMQUOTA_KEYS_MAX bounds the worst case. A subscription's
 * global buckets live in an entry whose principal is empty, which is why
 * an empty principal is refused. */
#include "emulator/armquota.h"
#include "lib/err.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *armquota_bucket_name(enum armquota_bucket b)
{
	return quota_bucket_name((enum quota_bucket)b);
}

const char *armquota_header_name(enum armquota_bucket b, bool global)
{
	static const char *const plain[] = {
#define ARMQUOTA_HEADER_(name, text) "x-ms-ratelimit-remaining-subscription-" text,
	    ARMQUOTA_BUCKET_MAP(ARMQUOTA_HEADER_)
#undef ARMQUOTA_HEADER_
	};
	static const char *const shared[] = {
#define ARMQUOTA_GLOBAL_HEADER_(name, text) "x-ms-ratelimit-remaining-subscription-global-" text,
	    ARMQUOTA_BUCKET_MAP(ARMQUOTA_GLOBAL_HEADER_)
#undef ARMQUOTA_GLOBAL_HEADER_
	};
	if ((unsigned)b >= ARMQUOTA_BUCKETS)
		return NULL;
	return global ? shared[b] : plain[b];
}

int armquota_bucket_of_method(const char *method, enum armquota_bucket *b)
{
	static const struct {
		const char *method;
		enum armquota_bucket b;
	} map[] = {
	    {"GET", ARMQUOTA_READS},   {"HEAD", ARMQUOTA_READS},   {"PUT", ARMQUOTA_WRITES},
	    {"POST", ARMQUOTA_WRITES}, {"PATCH", ARMQUOTA_WRITES}, {"DELETE", ARMQUOTA_DELETES},
	};
	for (size_t i = 0; method && i < sizeof map / sizeof *map; i++)
		if (strcmp(method, map[i].method) == 0) {
			*b = map[i].b;
			return 0;
		}
	return ERR_INVAL;
}

/* ---- the spec --------------------------------------------------------- */

/* Reads a number from [s, end): digits, and one '.' with digits on both
 * sides when decimals are allowed. */
static bool number(const char *s, const char *end, bool decimals, double *out)
{
	char buf[32];
	size_t n = (size_t)(end - s);
	if (n == 0 || n >= sizeof buf)
		return false;
	bool dot = false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.' && decimals && !dot && i > 0 && i + 1 < n)
			dot = true;
		else if (s[i] < '0' || s[i] > '9')
			return false;
	}
	memcpy(buf, s, n);
	buf[n] = '\0';
	*out = strtod(buf, NULL);
	return true;
}

/* One "name=B:R" item in [s, end). */
static int item(const char *s, const char *end, struct armquota_spec *out, const char **why)
{
	const char *eq = memchr(s, '=', (size_t)(end - s));
	if (!eq) {
		*why = "an item is not bucket=burst:rate";
		return ERR_INVAL;
	}
	const char *name = s;
	size_t n = (size_t)(eq - s);
	struct armquota_limit *table = out->principal;
	if (n > 7 && strncasecmp(name, "global-", 7) == 0)
		table = out->global, name += 7, n -= 7;
	int b = -1;
	for (int i = 0; i < ARMQUOTA_BUCKETS; i++)
		if (n == strlen(quota_bucket_name((enum quota_bucket)i)) &&
		    strncasecmp(name, quota_bucket_name((enum quota_bucket)i), n) == 0)
			b = i;
	if (b < 0) {
		*why = "unknown bucket (reads, writes, deletes, or global- before one)";
		return ERR_INVAL;
	}
	if (table[b].set) {
		*why = "a bucket is given twice";
		return ERR_INVAL;
	}
	const char *colon = memchr(eq + 1, ':', (size_t)(end - eq - 1));
	if (!colon) {
		*why = "a bucket's value is not burst:rate";
		return ERR_INVAL;
	}
	double burst, rate;
	if (!number(eq + 1, colon, false, &burst) || burst < 1 || burst > ARMQUOTA_LIMIT_MAX) {
		*why = "a burst is not a whole number from 1 to 1000000000";
		return ERR_INVAL;
	}
	if (!number(colon + 1, end, true, &rate) || rate <= 0 || rate > ARMQUOTA_LIMIT_MAX) {
		*why = "a rate is not a number of tokens per second above 0";
		return ERR_INVAL;
	}
	table[b] = (struct armquota_limit){.set = true, .burst = burst, .rate = rate};
	return 0;
}

int armquota_parse(const char *text, struct armquota_spec *out, const char **why)
{
	const char *dummy;
	if (!why)
		why = &dummy;
	struct armquota_spec spec;
	memset(&spec, 0, sizeof spec);
	if (!text || !*text) {
		*why = "the quota spec is empty";
		return ERR_INVAL;
	}
	for (const char *s = text;;) {
		const char *end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		if (end == s) {
			*why = "an item is empty";
			return ERR_INVAL;
		}
		int rc = item(s, end, &spec, why);
		if (rc)
			return rc;
		if (!*end)
			break;
		s = end + 1;
	}
	*out = spec;
	return 0;
}

/* ---- the buckets ------------------------------------------------------ */

struct bucket {
	double tokens;
	int64_t at;	    /* when tokens was last refilled */
	int64_t held_until; /* a 429 told this principal to wait until then */
	long last_retry_s;  /* that 429's Retry-After */
	bool started;	    /* tokens has been filled once */
};

struct key {
	char sub[ARMQUOTA_NAME_MAX + 1];
	char principal[ARMQUOTA_NAME_MAX + 1]; /* "": the subscription's global buckets */
	struct bucket b[ARMQUOTA_BUCKETS];
};

struct armquota {
	struct armquota_spec spec;
	struct key *keys;
	size_t len, cap;
	struct armquota_stats stats[ARMQUOTA_BUCKETS];
};

struct armquota *armquota_new(const struct armquota_spec *spec)
{
	struct armquota *q = calloc(1, sizeof *q);
	if (!q)
		return NULL;
	q->spec = *spec;
	for (int i = 0; i < ARMQUOTA_BUCKETS; i++)
		if (q->spec.principal[i].set && !q->spec.global[i].set)
			q->spec.global[i] = q->spec.principal[i];
	return q;
}

void armquota_free(struct armquota *q)
{
	if (!q)
		return;
	free(q->keys);
	free(q);
}

/* The index of (sub, principal)'s entry, made if new (which may move the
 * array: hold indexes, not pointers, across calls); or a negative error. */
static long find(struct armquota *q, const char *sub, const char *principal)
{
	for (size_t i = 0; i < q->len; i++)
		if (strcmp(q->keys[i].sub, sub) == 0 &&
		    strcmp(q->keys[i].principal, principal) == 0)
			return (long)i;
	if (q->len == ARMQUOTA_KEYS_MAX)
		return ERR_TOOBIG;
	if (q->len == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 8;
		struct key *k = realloc(q->keys, cap * sizeof *k);
		if (!k)
			return ERR_NOMEM;
		q->keys = k, q->cap = cap;
	}
	struct key *k = &q->keys[q->len];
	memset(k, 0, sizeof *k);
	strcpy(k->sub, sub);
	strcpy(k->principal, principal);
	return (long)q->len++;
}

static void refill(struct bucket *b, const struct armquota_limit *l, int64_t now)
{
	if (!b->started) {
		b->tokens = l->burst, b->at = now, b->started = true;
		return;
	}
	if (now <= b->at)
		return;
	b->tokens += l->rate * (double)(now - b->at) / 1000;
	if (b->tokens > l->burst)
		b->tokens = l->burst;
	b->at = now;
}

/* Whole seconds, at least one, until b holds a token. */
static long wait_s(const struct bucket *b, const struct armquota_limit *l)
{
	if (b->tokens >= 1)
		return 1;
	double s = (1 - b->tokens) / l->rate;
	long w = (long)s;
	if ((double)w < s)
		w++;
	return w > 0 ? w : 1;
}

int armquota_take(struct armquota *q, const char *sub, const char *principal,
		  enum armquota_bucket kind, int64_t now_ms, struct armquota_answer *out)
{
	out->remaining = out->global_remaining = -1;
	out->retry_after_s = 0;
	if ((unsigned)kind >= ARMQUOTA_BUCKETS)
		return ERR_INVAL;
	const struct armquota_limit *pl = &q->spec.principal[kind], *gl = &q->spec.global[kind];
	if (!pl->set && !gl->set) {
		q->stats[kind].allowed++;
		return 0;
	}
	if (!sub || !*sub || !principal || !*principal)
		return ERR_INVAL;
	if (strlen(sub) > ARMQUOTA_NAME_MAX || strlen(principal) > ARMQUOTA_NAME_MAX)
		return ERR_TOOBIG;
	long pi = find(q, sub, principal), gi = pi < 0 ? pi : find(q, sub, "");
	if (gi < 0)
		return (int)gi;
	struct bucket *p = &q->keys[pi].b[kind], *g = &q->keys[gi].b[kind];
	if (pl->set)
		refill(p, pl, now_ms);
	if (gl->set)
		refill(g, gl, now_ms);

	bool early = now_ms < p->held_until;
	bool p_empty = pl->set && p->tokens < 1, g_empty = gl->set && g->tokens < 1;
	if (!early && !p_empty && !g_empty) {
		if (pl->set)
			p->tokens -= 1, out->remaining = (int64_t)p->tokens;
		if (gl->set)
			g->tokens -= 1, out->global_remaining = (int64_t)g->tokens;
		q->stats[kind].allowed++;
		return 0;
	}
	long w = 1;
	if (p_empty)
		w = wait_s(p, pl);
	if (g_empty && wait_s(g, gl) > w)
		w = wait_s(g, gl);
	if (early && p->last_retry_s > w) /* the wait starts over */
		w = p->last_retry_s;
	p->held_until = now_ms + (int64_t)w * 1000;
	p->last_retry_s = w;
	if (pl->set)
		out->remaining = (int64_t)p->tokens;
	if (gl->set)
		out->global_remaining = (int64_t)g->tokens;
	out->retry_after_s = w;
	q->stats[kind].throttled++;
	q->stats[kind].early += early;
	return ERR_AGAIN;
}

void armquota_stats(const struct armquota *q, enum armquota_bucket b, struct armquota_stats *out)
{
	if ((unsigned)b >= ARMQUOTA_BUCKETS) {
		memset(out, 0, sizeof *out);
		return;
	}
	*out = q->stats[b];
}
