/* ratelimit.c — GCRA reservations and AIMD.
 *
 * GCRA keeps one number, the theoretical arrival time (TAT) of the next
 * request. With T = 1/rate and tau = (burst - 1) * T, a request arriving at
 * `now` may go at max(now, TAT - tau), and TAT moves on by T from
 * max(now, TAT). Idle time therefore builds up credit, but never more than
 * `burst` requests' worth, and over any window of length W at most
 * burst + W * rate requests go: the property the rate test checks against
 * the emulator's log. */
#include "engine/ratelimit.h"

void ratelimit_init(struct ratelimit *rl, double rate, double burst)
{
	rl->rate = rate > 0 ? rate : 0;
	rl->burst = burst >= 1 ? burst : 1;
	rl->tat = 0;
}

void ratelimit_set_rate(struct ratelimit *rl, double rate, int64_t now_us)
{
	(void)now_us; /* the TAT already holds every reservation made */
	rl->rate = rate > 0 ? rate : 0;
}

int64_t ratelimit_reserve(struct ratelimit *rl, int64_t now_us)
{
	if (rl->rate <= 0)
		return now_us;
	double t = 1e6 / rl->rate, tau = (rl->burst - 1) * t;
	int64_t base = rl->tat > now_us ? rl->tat : now_us;
	int64_t at = (int64_t)((double)rl->tat - tau);
	rl->tat = base + (int64_t)t;
	return at > now_us ? at : now_us;
}

void aimd_init(struct aimd *a, double ceiling, int64_t now_us)
{
	a->ceiling = ceiling;
	a->floor = ceiling < 1 ? ceiling : 1;
	a->rate = ceiling;
	a->last_cut = now_us - 1000000;
	a->last_grow = now_us;
}

bool aimd_throttled(struct aimd *a, int64_t now_us)
{
	if (now_us - a->last_cut < 1000000)
		return false;
	a->last_cut = a->last_grow = now_us;
	double r = a->rate / 2;
	a->rate = r < a->floor ? a->floor : r;
	return true;
}

bool aimd_clean(struct aimd *a, int64_t now_us)
{
	if (a->rate >= a->ceiling || now_us - a->last_grow < 1000000)
		return false;
	a->last_grow = now_us;
	a->rate += a->ceiling / 20;
	if (a->rate > a->ceiling)
		a->rate = a->ceiling;
	return true;
}
