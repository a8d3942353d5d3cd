/* ratelimit.c — GCRA reservations and windowed AIMD.
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

void ratelimit_set_rate(struct ratelimit *rl, double rate)
{
	rl->rate = rate > 0 ? rate : 0; /* the TAT already holds every reservation made */
}

bool ratelimit_reserve(struct ratelimit *rl, int64_t now_us, int64_t horizon_us, int64_t *at)
{
	if (rl->rate <= 0) {
		*at = now_us;
		return true;
	}
	double t = 1e6 / (rl->rate * (1 - RATELIMIT_HEADROOM)), tau = (rl->burst - 1) * t;
	int64_t slot = (int64_t)((double)rl->tat - tau);
	if (slot > now_us + horizon_us) {
		*at = slot - horizon_us;
		return false;
	}
	rl->tat = (rl->tat > now_us ? rl->tat : now_us) + (int64_t)t;
	*at = slot > now_us ? slot : now_us;
	return true;
}

void aimd_init(struct aimd *a, double ceiling, int64_t now_us)
{
	a->ceiling = ceiling;
	a->floor = ceiling < 1 ? ceiling : 1;
	a->rate = ceiling;
	a->window = now_us;
	a->answers = a->throttled = 0;
}

/* Closes the window: the rate for the next one. */
static bool judge(struct aimd *a)
{
	double r = a->rate;
	if (a->answers && (double)a->throttled >= AIMD_CUT_SHARE * a->answers)
		r = r / 2 < a->floor ? a->floor : r / 2;
	else if (a->answers && !a->throttled)
		r = r + a->ceiling / 20 > a->ceiling ? a->ceiling : r + a->ceiling / 20;
	bool changed = r != a->rate;
	a->rate = r;
	a->answers = a->throttled = 0;
	return changed;
}

bool aimd_answer(struct aimd *a, bool throttled, int64_t now_us)
{
	bool changed = false;
	if (now_us - a->window >= 1000000) {
		changed = judge(a);
		a->window = now_us;
	}
	a->answers++;
	a->throttled += throttled;
	return changed;
}
