/* quota.c — the quota pacer (see quota.h): spend the burst, measure the
 * refill, settle at it above a reserve.
 *
 * The level. Per bucket the pacer predicts what is left: every send takes
 * one off, time adds the measured refill (never above the largest value
 * seen, the bucket's size once it has been full). Each answer sets the
 * level again from what the service said, less what the service may not
 * have counted yet: the requests we sent after that one (in flight, or
 * answered but counted later), and the earlier ones still in flight (a
 * request overtaken on the way is counted after it). Tickets (the bucket's
 * send count when a request went) make this exact whatever order the
 * answers come back in: a bitmap of the last QUOTA_TRACK tickets says which
 * are still in flight. The estimate errs low by the requests counted before
 * the answer's own, and by the refill between the service's count and the
 * answer's arrival (not credited): an offset, which costs nothing while the
 * bucket is not full. How much may have been taken off twice is kept as
 * `doubt`. An answer to a request older than the one the level was last set
 * from may lower the level (the service counted it later than its number
 * says) but never raises it (a newer count already says more). One case
 * stays open: an earlier request counted after a later one and answered
 * before it. The margin below covers those.
 *
 * Sending. A request goes when the level, after taking it, stays at or
 * above reserve + QUOTA_GUARD + the square root of the requests in flight
 * (the more in flight, the more the service may have counted in an order
 * the level does not know; measured on simulations with 16 to 64 in flight,
 * this keeps the bucket above the reserve where a fixed guard did not). The
 * reserve never exceeds QUOTA_RESERVE_MAX of the largest value seen: a
 * bucket kept nearly full wastes its refill, and its refill cannot be
 * measured. A full bucket is therefore spent at once (the burst, down to
 * the reserve), after which requests go as fast as the refill lifts the
 * level over the line: the refill rate. Waiting is free as long as the
 * bucket is not full (the tokens are still there when we come back), so the
 * pacer may err slow but never fast.
 *
 * The refill. Between an answer A and a later one B (by ticket), the
 * service refilled at least remaining(B) - remaining(A) + the sends from A
 * to B, net of what other clients of the subscription took: exactly the
 * rate we may spend at. A sample spans at least QUOTA_WINDOW_MS of send
 * times, or four smoothed round trips if that is longer (the service counts
 * a request somewhere between its send and its answer, so send times are a
 * fair clock only over spans that dwarf the round trip; a short span is all
 * rounding and jitter). A sample over which the bucket may have been full
 * (the remaining at B plus our sends come within two of the largest value
 * seen) is dropped: a full bucket wastes refill. Samples are averaged with
 * time constant QUOTA_SMOOTH_MS, so a change of limits (or another client
 * starting) is followed within seconds, while answers keep setting the
 * level in between; no single sample moves the average more than halfway.
 * The answers kept for sampling sit in a small ring, spaced at least an
 * eighth of a span apart, so that it always reaches back a few spans at any
 * request rate.
 *
 * Another client draining the bucket shows as a lower level at the next
 * answer (we wait) and as a lower net refill (we pace slower). When nothing
 * refills at all (net refill 0: others take it all) the level still grows
 * at QUOTA_MIN_REFILL; and once nothing is in flight and the service has
 * said nothing for QUOTA_PROBE_MS, one request goes to look (a probe),
 * provided the level plus its doubt says the bucket is not empty: the only
 * way to see it refill again when the other client stops, or to correct a
 * level that in-flight corrections left far too low. Probes eat into the
 * reserve, which is what a reserve is for; against a client that takes more
 * than the refill they may meet a 429 now and then.
 *
 * Waits are capped at one second (QUOTA_RECHECK_MS): an answer that comes
 * meanwhile may say there is more, and the caller asks again. */
#include "engine/quota.h"
#include "lib/err.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const names[] = {
#define QUOTA_BUCKET_NAME_(name, text) text,
    QUOTA_BUCKET_MAP(QUOTA_BUCKET_NAME_)
#undef QUOTA_BUCKET_NAME_
};

const char *quota_bucket_name(enum quota_bucket b)
{
	return (unsigned)b < QUOTA_BUCKETS ? names[b] : "?";
}

int quota_bucket_parse(const char *name, enum quota_bucket *b)
{
	for (int i = 0; name && i < QUOTA_BUCKETS; i++)
		if (strcasecmp(name, names[i]) == 0) {
			*b = (enum quota_bucket)i;
			return 0;
		}
	return ERR_INVAL;
}

/* ---- the headers ------------------------------------------------------ */

/* Does [s, s+n) start with word, ignoring ASCII case? */
static bool starts(const char *s, size_t n, const char *word)
{
	size_t m = strlen(word);
	return n >= m && strncasecmp(s, word, m) == 0;
}

int quota_header_parse(const char *line, size_t len, enum quota_bucket *b, bool *global,
		       int64_t *value)
{
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return ERR_NOENT;
	const char *p = line;
	size_t n = (size_t)(colon - line);
	if (!starts(p, n, QUOTA_HEADER_PREFIX))
		return ERR_NOENT;
	p += strlen(QUOTA_HEADER_PREFIX), n -= strlen(QUOTA_HEADER_PREFIX);
	bool g = starts(p, n, QUOTA_HEADER_GLOBAL);
	if (g)
		p += strlen(QUOTA_HEADER_GLOBAL), n -= strlen(QUOTA_HEADER_GLOBAL);
	int which = -1;
	for (int i = 0; i < QUOTA_BUCKETS; i++)
		if (n == strlen(names[i]) && strncasecmp(p, names[i], n) == 0)
			which = i;
	if (which < 0)
		return ERR_NOENT;

	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	bool negative = v < end && *v == '-';
	if (negative)
		v++;
	if (v == end)
		return ERR_PARSE;
	int64_t x = 0;
	bool big = false;
	for (const char *c = v; c < end; c++) {
		if (*c < '0' || *c > '9')
			return ERR_PARSE;
		if (!big && (x = x * 10 + (*c - '0')) > QUOTA_VALUE_MAX)
			big = true;
	}
	if (big || (negative && x > 0))
		return ERR_RANGE;
	*b = (enum quota_bucket)which;
	*global = g;
	*value = x;
	return 0;
}

void quota_headers_init(struct quota_headers *h)
{
	for (int i = 0; i < QUOTA_BUCKETS; i++)
		h->remaining[i] = -1;
}

void quota_headers_line(struct quota_headers *h, const char *line, size_t len)
{
	enum quota_bucket b;
	bool global;
	int64_t v;
	if (quota_header_parse(line, len, &b, &global, &v) != 0)
		return;
	if (h->remaining[b] < 0 || v < h->remaining[b])
		h->remaining[b] = v;
}

/* ---- the reserve ------------------------------------------------------ */

int quota_parse_reserve(const char *text, struct quota_reserve *out)
{
	if (!text || !*text)
		return ERR_INVAL;
	size_t n = strlen(text);
	bool percent = text[n - 1] == '%';
	if (percent)
		n--;
	if (n == 0 || n > 32)
		return ERR_INVAL;
	char buf[33];
	memcpy(buf, text, n);
	buf[n] = '\0';
	bool dot = false;
	for (size_t i = 0; i < n; i++) { /* digits, and one '.' for a percentage */
		if (buf[i] == '.' && percent && !dot && i > 0 && i + 1 < n)
			dot = true;
		else if (buf[i] < '0' || buf[i] > '9')
			return ERR_INVAL;
	}
	double v = strtod(buf, NULL);
	if (percent ? v > 100 : v > (double)QUOTA_VALUE_MAX)
		return ERR_INVAL;
	out->value = v;
	out->percent = percent;
	return 0;
}

/* ---- the pacer -------------------------------------------------------- */

void quota_init(struct quota *q, struct quota_reserve reserve)
{
	memset(q, 0, sizeof *q);
	q->reserve = reserve;
	for (int i = 0; i < QUOTA_BUCKETS; i++) {
		struct quota_meter *m = &q->m[i];
		m->anchor = -1;
		m->refill = -1;
		m->blocked_since = -1;
	}
}

/* The reserve in requests: never so large that nothing could go. */
static double reserve_of(const struct quota *q, const struct quota_meter *m)
{
	double r = q->reserve.percent ? q->reserve.value / 100 * m->largest : q->reserve.value;
	double most = QUOTA_RESERVE_MAX * m->largest;
	if (most > m->largest - 1 - QUOTA_GUARD)
		most = m->largest - 1 - QUOTA_GUARD;
	if (r > most)
		r = most;
	return r > 0 ? r : 0;
}

/* The level a request needs before it goes. */
static double threshold_of(const struct quota *q, const struct quota_meter *m)
{
	return reserve_of(q, m) + 1 + QUOTA_GUARD;
}

static double pace_of(const struct quota_meter *m)
{
	return m->refill > QUOTA_MIN_REFILL ? m->refill : QUOTA_MIN_REFILL;
}

/* Lets time refill the level up to now (never above the bucket's size,
 * nor back in time: threads take their clock readings before the lock). */
static void advance(const struct quota *q, struct quota_meter *m, int64_t now)
{
	if (now <= m->at)
		return;
	double top = m->largest, line = threshold_of(q, m);
	if (top < line)
		top = line;
	if (m->level < top) {
		m->level += pace_of(m) * (double)(now - m->at) / 1000;
		if (m->level > top)
			m->level = top;
	}
	m->at = now;
}

static bool flying(const struct quota_meter *m, int64_t seq)
{
	return seq >= m->oldest && seq < m->sent &&
	       (m->flying[(seq % QUOTA_TRACK) / 64] >> (seq % 64) & 1);
}

static void land(struct quota_meter *m, int64_t seq)
{
	if (flying(m, seq))
		m->in_flight--;
	m->flying[(seq % QUOTA_TRACK) / 64] &= ~((uint64_t)1 << (seq % 64));
}

/* The square root of n >= 0, near enough (Newton; no libm). */
static double root(double n)
{
	double x = n > 1 ? n : 1;
	for (int i = 0; i < 20; i++)
		x = (x + n / x) / 2;
	return n > 0 ? x : 0;
}

/* Moves `oldest` past the tickets no longer in flight. */
static void settle(struct quota_meter *m)
{
	while (m->oldest < m->sent && !flying(m, m->oldest))
		m->oldest++;
}

static void close_span(struct quota_meter *m, int64_t now)
{
	if (m->blocked_since < 0)
		return;
	if (now > m->blocked_since)
		m->waited_ms += now - m->blocked_since;
	m->blocked_since = -1;
}

static int64_t span_of(const struct quota_meter *m);

int64_t quota_wait(struct quota *q, enum quota_bucket b, int64_t now_ms)
{
	if ((unsigned)b >= QUOTA_BUCKETS)
		return 0;
	struct quota_meter *m = &q->m[b];
	if (!m->seen)
		return 0;
	advance(q, m, now_ms);
	int64_t w = 0;
	/* the more in flight, the more the service may have counted in an
	 * order the level does not know: a margin that grows with it */
	double line = threshold_of(q, m) + root((double)m->in_flight);
	if (now_ms < m->hold_until) {
		w = m->hold_until - now_ms;
	} else if (m->level < line) {
		w = (int64_t)((line - m->level) / pace_of(m) * 1000) + 1; /* rounded up */
		/* a probe: nothing in flight, nothing heard for a while, and
		 * not empty unless every doubt was warranted */
		if (m->oldest == m->sent &&
		    (m->refill < 0 || m->level + m->doubt >= 1 + QUOTA_GUARD)) {
			/* before the refill is known: as soon as a sample can span
			 * the time since the last answer, even into a bucket that
			 * looked empty (it grows at QUOTA_MIN_REFILL until then:
			 * another client that emptied it at the start kept us
			 * waiting 15 s) */
			int64_t probe =
			    m->heard_ms - now_ms + (m->refill < 0 ? span_of(m) : QUOTA_PROBE_MS);
			if (probe < w)
				w = probe > 0 ? probe : 0;
		}
	}
	if (w > QUOTA_RECHECK_MS)
		w = QUOTA_RECHECK_MS;
	if (w <= 0) {
		close_span(m, now_ms);
		return 0;
	}
	if (m->blocked_since < 0)
		m->blocked_since = now_ms;
	return w;
}

struct quota_ticket quota_spend(struct quota *q, enum quota_bucket b, int64_t now_ms)
{
	struct quota_ticket t = {.bucket = b, .seq = 0, .sent_ms = now_ms};
	if ((unsigned)b >= QUOTA_BUCKETS)
		return t;
	struct quota_meter *m = &q->m[b];
	t.seq = m->sent;
	for (; m->oldest <= t.seq - QUOTA_TRACK; m->oldest++) /* its slot is needed: forget it */
		land(m, m->oldest);
	m->flying[(t.seq % QUOTA_TRACK) / 64] |= (uint64_t)1 << (t.seq % 64);
	m->in_flight++;
	m->sent++;
	settle(m);
	if (m->seen) {
		advance(q, m, now_ms);
		m->level -= 1;
	}
	close_span(m, now_ms);
	return t;
}

/* The shortest span a sample covers: a second, or four round trips when
 * answers take longer (the service counts a request anywhere between its
 * send and its answer: the span must dwarf that). */
static int64_t span_of(const struct quota_meter *m)
{
	int64_t rtts = (int64_t)(4 * m->rtt_ms);
	return rtts > QUOTA_WINDOW_MS ? rtts : QUOTA_WINDOW_MS;
}

/* The newest remembered answer at least a span older than t, or NULL. */
static const struct quota_sample *reference(const struct quota_meter *m,
					    const struct quota_ticket *t)
{
	const struct quota_sample *best = NULL;
	int64_t span = span_of(m);
	for (int i = 0; i < m->ring_len; i++) {
		const struct quota_sample *s = &m->ring[i];
		if (s->seq < t->seq && s->sent_ms <= t->sent_ms - span &&
		    (!best || s->sent_ms > best->sent_ms))
			best = s;
	}
	return best;
}

/* Feeds the refill average from one answer, and remembers the answer. */
static void sample(struct quota_meter *m, const struct quota_ticket *t, double remaining)
{
	const struct quota_sample *ref = reference(m, t);
	if (ref && t->sent_ms > m->sample_ms) {
		double sends = (double)(t->seq - ref->seq);
		double secs = (double)(t->sent_ms - ref->sent_ms) / 1000;
		double r = (remaining - ref->remaining + sends) / secs;
		if (r < 0)
			r = 0;
		if (remaining + sends + 2 <= m->largest) { /* the bucket was never full */
			if (m->refill < 0) {
				m->refill = r;
			} else {
				double a = (double)(t->sent_ms - m->sample_ms) / QUOTA_SMOOTH_MS;
				m->refill += (a < 0.5 ? a : 0.5) * (r - m->refill);
			}
			m->sample_ms = t->sent_ms;
		} else if (r > m->refill) {
			/* it may have been full: the refill is at least this much
			 * (a bucket that refills faster than a span fills up at
			 * every look, and would never be measured otherwise) */
			m->refill = r;
			m->sample_ms = t->sent_ms;
		}
	}
	const struct quota_sample *last =
	    m->ring_len ? &m->ring[(m->ring_head + QUOTA_SAMPLES - 1) % QUOTA_SAMPLES] : NULL;
	if (!last || (t->seq > last->seq && t->sent_ms - last->sent_ms >= span_of(m) / 8)) {
		m->ring[m->ring_head] = (struct quota_sample){
		    .seq = t->seq, .sent_ms = t->sent_ms, .remaining = remaining};
		m->ring_head = (m->ring_head + 1) % QUOTA_SAMPLES;
		if (m->ring_len < QUOTA_SAMPLES)
			m->ring_len++;
	}
}

void quota_answer(struct quota *q, const struct quota_ticket *t, int64_t remaining, int64_t now_ms)
{
	if ((unsigned)t->bucket >= QUOTA_BUCKETS)
		return;
	struct quota_meter *m = &q->m[t->bucket];
	if (!flying(m, t->seq))
		return; /* answered already, forgotten, or not a ticket of this pacer */
	int64_t before = 0, after = 0; /* earlier, later requests still in flight */
	for (int64_t s = m->oldest; s < m->sent; s++)
		if (flying(m, s))
			s<t->seq ? before++ : s> t->seq ? after++ : 0;
	land(m, t->seq);
	settle(m);
	if (now_ms >= t->sent_ms) {
		double rtt = (double)(now_ms - t->sent_ms);
		m->rtt_ms = m->rtt_ms > 0 ? m->rtt_ms + (rtt - m->rtt_ms) / 8 : rtt;
	}
	if (remaining < 0)
		return;
	m->strikes = 0;
	if (now_ms > m->heard_ms)
		m->heard_ms = now_ms;
	double rem = (double)remaining;
	if (rem > m->largest)
		m->largest = rem;
	/* what is left now: less what went after it, and what went before it
	 * but may have been counted after it; how much of that may have been
	 * counted already (answered later ones, earlier ones in flight) */
	double later = (double)(m->sent - 1 - t->seq);
	double level = rem - later - (double)before;
	double doubt = later - (double)after + (double)before;
	if (!m->seen || t->seq > m->anchor) {
		m->level = level;
		m->doubt = doubt;
		if (!m->seen || now_ms > m->at)
			m->at = now_ms;
		m->anchor = t->seq;
		m->seen = true;
	} else {
		advance(q, m, now_ms);
		if (level < m->level) {
			m->doubt += m->level - level;
			m->level = level;
		}
	}
	sample(m, t, rem);
}

void quota_throttled(struct quota *q, enum quota_bucket b, long retry_after_ms, int64_t now_ms)
{
	if ((unsigned)b >= QUOTA_BUCKETS)
		return;
	struct quota_meter *m = &q->m[b];
	m->seen = true;
	m->level = m->doubt = 0;
	if (now_ms > m->at)
		m->at = now_ms;
	m->anchor = m->sent - 1;
	if (now_ms > m->heard_ms)
		m->heard_ms = now_ms;
	/* ARM refuses a request that comes before its Retry-After is over
	 * with a new wait; two clients of one principal that each wait just
	 * their own Retry-After keep landing in each other's: each 429 in a
	 * row holds a Retry-After longer, up to QUOTA_PROBE_MS, so quiet
	 * spans open up (a single client loses one Retry-After at most) */
	long hold = retry_after_ms > 0 ? retry_after_ms : 1000;
	m->strikes++;
	if (m->strikes > 1) {
		hold *= m->strikes;
		if (hold > QUOTA_PROBE_MS && retry_after_ms < QUOTA_PROBE_MS)
			hold = QUOTA_PROBE_MS;
	}
	if (retry_after_ms > 0 || m->strikes > 1)
		if (now_ms + hold > m->hold_until)
			m->hold_until = now_ms + hold;
	if (m->refill > 0)
		m->refill /= 2;
	m->ring_len = m->ring_head = 0; /* refused requests took nothing: no sample spans them */
	m->throttled++;
}

void quota_stats(const struct quota *q, enum quota_bucket b, int64_t now_ms,
		 struct quota_stats *out)
{
	memset(out, 0, sizeof *out);
	if ((unsigned)b >= QUOTA_BUCKETS)
		return;
	struct quota_meter m = q->m[b];
	if (m.seen)
		advance(q, &m, now_ms);
	close_span(&m, now_ms);
	out->seen = m.seen;
	out->sent = m.sent;
	out->waited_ms = m.waited_ms;
	out->throttled = m.throttled;
	out->refill = m.refill;
	out->largest = m.largest;
	out->reserve = m.seen ? reserve_of(q, &m) : 0;
	out->remaining = m.level;
}
