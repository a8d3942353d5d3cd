/* faults.c — injected faults, the throttle and the resume timer (see
 * faults.h).
 *
 * The dice: one uniform draw per request against the stacked
 * probabilities, so "429=0.05,503=0.02" gives 5 % 429 and 2 % 503, never
 * both. The throttle comes first and is exact: a token bucket holding one
 * second's worth, refilled continuously; when it is empty the 429's
 * Retry-After is the wait for the next token (unless --retry-after says).
 *
 * The timer: a heap of suspended connections by resume time, one thread
 * waiting on a condition variable for the earliest. A stall is due "never"
 * (INT64_MAX) and is resumed only when the emulator stops. */
#include "emulator/faults.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/heap.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct faults {
	const struct emu_config *c;
	struct rng *rng;
	/* --throttle; lock order: bucket_lock alone */
	pthread_mutex_t bucket_lock;
	double bucket;	      /* tokens */
	int64_t bucket_at_us; /* when `bucket` was last filled */
	/* the resume timer; lock order: timer_lock alone */
	pthread_t timer;
	bool timer_stop;
	pthread_mutex_t timer_lock;
	pthread_cond_t timer_cv;
	struct heap timers; /* suspended connections by resume time */
};

int faults_parse(struct emu_config *c, const char *spec)
{
	static const struct {
		const char *name;
		size_t off;
	} kinds[] = {{"429", offsetof(struct emu_config, p429)},
		     {"503", offsetof(struct emu_config, p503)},
		     {"500", offsetof(struct emu_config, p500)},
		     {"reset", offsetof(struct emu_config, preset)},
		     {"stall", offsetof(struct emu_config, pstall)},
		     {"truncate", offsetof(struct emu_config, ptruncate)}};
	char buf[512], *save = NULL;
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		size_t i = 0;
		if (!eq)
			return ERR_INVAL;
		*eq = '\0';
		double p = strtod(eq + 1, &end);
		while (i < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kinds[i].name, tok) != 0)
			i++;
		if (i == sizeof(kinds) / sizeof(kinds[0]) || *end || p < 0 || p > 1)
			return ERR_INVAL;
		*(double *)((char *)c + kinds[i].off) = p;
	}
	return 0;
}

static void *timer_main(void *arg)
{
	struct faults *f = arg;
	pthread_mutex_lock(&f->timer_lock);
	while (!f->timer_stop || f->timers.len) {
		if (f->timers.len && (f->timer_stop || heap_top(&f->timers) <= clock_mono_ms())) {
			struct MHD_Connection *c = heap_pop(&f->timers);
			pthread_mutex_unlock(&f->timer_lock);
			MHD_resume_connection(c);
			pthread_mutex_lock(&f->timer_lock);
		} else if (!f->timers.len) {
			pthread_cond_wait(&f->timer_cv, &f->timer_lock);
		} else {
			struct timespec ts;
			int64_t wait = heap_top(&f->timers) - clock_mono_ms();
			if (wait > 100) /* a stall's due is "never": see timer_stop now and then */
				wait = 100;
			clock_gettime(CLOCK_REALTIME, &ts);
			int64_t ns = ts.tv_nsec + wait * 1000000;
			ts.tv_sec += ns / 1000000000, ts.tv_nsec = ns % 1000000000;
			pthread_cond_timedwait(&f->timer_cv, &f->timer_lock, &ts);
		}
	}
	pthread_mutex_unlock(&f->timer_lock);
	return NULL;
}

struct faults *faults_new(const struct emu_config *c, struct rng *rng, char *err, size_t errlen)
{
	struct faults *f = calloc(1, sizeof(*f));
	if (!f) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	f->c = c, f->rng = rng;
	f->bucket = c->throttle;
	f->bucket_at_us = clock_mono_ms() * 1000;
	pthread_mutex_init(&f->bucket_lock, NULL);
	pthread_mutex_init(&f->timer_lock, NULL);
	pthread_cond_init(&f->timer_cv, NULL);
	if (pthread_create(&f->timer, NULL, timer_main, f) != 0) {
		snprintf(err, errlen, "cannot start a thread");
		f->timer_stop = true; /* nothing to join */
		faults_free(f);
		return NULL;
	}
	return f;
}

void faults_stop(struct faults *f)
{
	bool join;
	pthread_mutex_lock(&f->timer_lock);
	join = !f->timer_stop;
	f->timer_stop = true;
	pthread_cond_signal(&f->timer_cv);
	pthread_mutex_unlock(&f->timer_lock);
	if (join)
		pthread_join(f->timer, NULL);
}

void faults_free(struct faults *f)
{
	if (!f)
		return;
	heap_release(&f->timers);
	pthread_mutex_destroy(&f->bucket_lock);
	pthread_mutex_destroy(&f->timer_lock);
	pthread_cond_destroy(&f->timer_cv);
	free(f);
}

/* --throttle: on an empty bucket, true with the wait until the next token. */
static bool over_throttle(struct faults *f, long *wait_ms)
{
	double rate = f->c->throttle;
	bool over = false;
	if (rate <= 0)
		return false;
	pthread_mutex_lock(&f->bucket_lock);
	int64_t now = clock_mono_ms() * 1000;
	f->bucket += (double)(now - f->bucket_at_us) * rate / 1e6;
	if (f->bucket > rate)
		f->bucket = rate;
	f->bucket_at_us = now;
	if (f->bucket >= 1) {
		f->bucket -= 1;
	} else {
		*wait_ms = (long)((1 - f->bucket) * 1000 / rate) + 1;
		over = true;
	}
	pthread_mutex_unlock(&f->bucket_lock);
	return over;
}

bool faults_pick(struct faults *f, struct reply *r)
{
	const struct emu_config *c = f->c;
	long wait;
	if (over_throttle(f, &wait)) {
		reply_rdfe(r, 429, "TooManyRequests", "The request rate is over the limit.");
		r->retry_after_ms = c->retry_after_ms ? c->retry_after_ms : wait;
		r->fault = "throttle";
		return false;
	}
	double x = rng_unit(f->rng), acc = 0;
	const struct {
		double p;
		int status;
		const char *name;
	} kinds[] = {{c->p429, 429, "429"},   {c->p503, 503, "503"},
		     {c->p500, 500, "500"},   {c->preset, 0, "reset"},
		     {c->pstall, 0, "stall"}, {c->ptruncate, 0, "truncate"}};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (x >= (acc += kinds[i].p))
			continue;
		r->fault = kinds[i].name;
		if (kinds[i].status) {
			reply_rdfe(r, kinds[i].status,
				   kinds[i].status == 500 ? "InternalError" : "ServerBusy",
				   "Injected fault.");
			r->retry_after_ms = kinds[i].status == 500 ? 0
					    : c->retry_after_ms	   ? c->retry_after_ms
								   : 1000;
			return false;
		}
		r->close = !strcmp(r->fault, "reset") || !strcmp(r->fault, "stall");
		r->truncate = !strcmp(r->fault, "truncate");
		return strcmp(r->fault, "stall") != 0;
	}
	return true;
}

int64_t faults_delay_ms(struct faults *f, const struct reply *r)
{
	if (r->fault && !strcmp(r->fault, "stall"))
		return -1;
	long d = f->c->latency_ms;
	if (f->c->jitter_ms)
		d += (long)((rng_unit(f->rng) * 2 - 1) * (double)f->c->jitter_ms);
	return d > 0 ? d : 0;
}

void faults_hold(struct faults *f, struct MHD_Connection *c, int64_t delay_ms)
{
	int64_t due = delay_ms < 0 ? INT64_MAX : clock_mono_ms() + delay_ms;
	MHD_suspend_connection(c);
	pthread_mutex_lock(&f->timer_lock);
	bool now = f->timer_stop || heap_push(&f->timers, due, c) < 0;
	if (!now)
		pthread_cond_signal(&f->timer_cv);
	pthread_mutex_unlock(&f->timer_lock);
	if (now) /* stopping, or out of memory: never leave c suspended */
		MHD_resume_connection(c);
}
