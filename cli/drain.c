/* drain.c — rabulk drain: warn, wait, act; what admins do before maintenance.
 *
 *   list sessions ─▶ message the connected ─▶ wait --grace (reminders at
 *   --remind, each to whoever is still connected) ─▶ list again ─▶
 *   disconnect (or log off) what is left
 *
 * Every phase is a pass of the ordinary bulk pipeline (run.c, pipeline.c)
 * over the (collection, UPN) pairs listed, held in memory (never a CSV
 * round trip), so rate limits, retries, polling and the report behave
 * exactly as for `rabulk message` and `rabulk disconnect`; all passes write
 * into one report, its operation column telling the phases apart. Users in
 * --exclude are never touched; users who left during the grace period are
 * not in the second listing, so nothing is sent for them. */
#include "cli/drain.h"
#include "cli/avddrain.h"
#include "cli/run.h"
#include "cli/sessions.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "input/dedup.h"
#include "lib/array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- who is there ---------------------------------------------------- */

struct targets {
	const struct dedup *exclude; /* (collection, UPN), or ("", UPN) for any collection */
	bool connected_only;
	struct run_target *rows; /* built in memory, strings in `text` */
	char **text;		 /* one allocation per pair: collection NUL upn NUL */
	size_t n, rows_cap, text_cap;
	unsigned long excluded;
};

static void free_targets(struct targets *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->text[i]);
	free(t->rows);
	free(t->text);
}

static bool excluded(const struct dedup *ex, const char *collection, const char *upn)
{
	return ex && (dedup_has(ex, collection, upn) || dedup_has(ex, "", upn));
}

static int add_target(void *arg, const char *collection, const struct service_session *s)
{
	struct targets *t = arg;
	if (t->connected_only && !sessions_connected(s->state))
		return 0;
	if (excluded(t->exclude, collection, s->upn)) {
		t->excluded++;
		return 0;
	}
	if (s->resource_id && s->resource_id[0]) /* AVD: that very session, no lookup */
		collection = s->resource_id;
	size_t lc = strlen(collection) + 1, lu = strlen(s->upn) + 1;
	char *text = malloc(lc + lu);
	if (!text ||
	    array_grow((void **)&t->rows, &t->rows_cap, t->n + 1, sizeof(*t->rows), 64) < 0 ||
	    array_grow((void **)&t->text, &t->text_cap, t->n + 1, sizeof(*t->text), 64) < 0) {
		free(text);
		return ERR_NOMEM;
	}
	memcpy(text, collection, lc);
	memcpy(text + lc, s->upn, lu);
	t->text[t->n] = text;
	t->rows[t->n++] = (struct run_target){text, text + lc};
	return 0;
}

/* Lists the collections into t: the users to act on. False when a
 * collection could not be listed (t is then empty). */
static bool list_targets(struct run *c, const struct args *o, struct targets *t)
{
	int failures = sessions_list(run_job(c), o->inputs, o->ninputs, add_target, t);
	if (failures != 0) {
		fprintf(stderr, "rabulk: drain: %s: stopping\n",
			failures > 0 ? "a collection could not be listed" : "out of memory");
		free_targets(t);
		return false;
	}
	if (t->excluded && o->verbose)
		fprintf(stderr, "rabulk: drain: %lu excluded\n", t->excluded);
	return true;
}

/* ---- --exclude ------------------------------------------------------- */

static int exclude_row(void *arg, const struct input_row *row)
{
	/* "*" stands for "any collection": a plain list of UPNs. */
	const char *coll = strcmp(row->collection, "*") == 0 ? "" : row->collection;
	return row->upn[0] && dedup_check(arg, coll, row->upn) < 0 ? ERR_NOMEM : 0;
}

static struct dedup *load_exclude(const struct args *o)
{
	char err[512] = "";
	struct input_opts io = o->input;
	io.collection = "*";
	FILE *f = fopen(o->exclude, "r");
	struct dedup *d = f ? dedup_new() : NULL;
	if (!f)
		snprintf(err, sizeof(err), "cannot open --exclude '%s'", o->exclude);
	else if (!d || input_read(f, o->exclude, &io, exclude_row, d, err, sizeof(err)) < 0) {
		dedup_free(d);
		d = NULL;
	}
	if (f)
		fclose(f);
	if (!d)
		fprintf(stderr, "rabulk: %s\n", err[0] ? err : "out of memory");
	return d;
}

/* ---- the message ----------------------------------------------------- */

static void say_left(char *dst, size_t cap, long ms)
{
	long s = (ms + 999) / 1000;
	if (s >= 120 && s % 60 == 0)
		snprintf(dst, cap, "%ld minutes", s / 60);
	else if (s >= 60 && s < 120 && s % 60 == 0)
		snprintf(dst, cap, "1 minute");
	else
		snprintf(dst, cap, "%ld second%s", s, s == 1 ? "" : "s");
}

/* The text with every "{left}" replaced by the time left. */
static void message_text(char *dst, size_t cap, const char *text, long left_ms)
{
	char left[32];
	size_t n = 0;
	say_left(left, sizeof(left), left_ms);
	for (const char *p = text; *p && n + 1 < cap;) {
		if (strncmp(p, "{left}", 6) == 0) {
			n += (size_t)snprintf(dst + n, cap - n, "%s", left);
			n = n < cap ? n : cap - 1;
			p += 6;
		} else {
			dst[n++] = *p++;
		}
	}
	dst[n] = '\0';
}

/* One phase: lists the collections again and sends op (text: the message)
 * to the users found, saying "rabulk: drain: LABEL: VERB N NOUNs" first.
 * False when the run stopped. */
static bool phase(struct run *c, const struct args *o, const struct dedup *ex, bool connected_only,
		  enum service_op op, const char *text, const char *label, const char *verb,
		  const char *noun)
{
	struct targets t = {ex, connected_only, NULL, NULL, 0, 0, 0, 0};
	if (run_stopped(c) != STOP_NONE) /* a signal while the first token was fetched */
		return false;
	if (!list_targets(c, o, &t)) {
		run_stop(c, run_signalled() ? STOP_SIGNAL : STOP_INTERNAL);
		return false;
	}
	if (!o->quiet)
		fprintf(stderr, "rabulk: drain: %s: %s %zu %s%s\n", label, verb, t.n, noun,
			t.n == 1 ? "" : "s");
	enum stop_reason why = t.n ? run_pass(c, op, text, t.rows, t.n) : STOP_NONE;
	free_targets(&t);
	return why == STOP_NONE;
}

/* Messages whoever is connected now; false when the run stopped. */
static bool warn(struct run *c, const struct args *o, const struct dedup *ex, long left_ms,
		 const char *label)
{
	char text[ARGS_TEXT_MAX + 64];
	message_text(text, sizeof(text), o->text, left_ms);
	/* AVD lists sessions, one per host a user is on: count what is acted on */
	return phase(c, o, ex, true, SERVICE_MESSAGE, text, label, "messaging",
		     o->avd ? "active session" : "connected user");
}

/* ---- waiting --------------------------------------------------------- */

static void countdown(long left_ms, bool tty)
{
	long s = (left_ms + 999) / 1000;
	if (tty)
		fprintf(stderr, "\r\033[Krabulk: drain: %ld:%02ld left", s / 60, s % 60);
}

/* Waits out the grace period, warning again at each --remind; false when
 * a signal (or a failed reminder) stopped it. */
static bool wait_grace(struct run *c, const struct args *o, const struct dedup *ex)
{
	bool tty = isatty(STDERR_FILENO) && !o->quiet && o->progress != 0;
	int64_t end = clock_mono_ms() + o->grace_ms;
	int next = 0;
	while (next < o->nremind && o->remind_ms[next] >= o->grace_ms)
		next++; /* a reminder at or before the start is the first message */
	for (;;) {
		long left = (long)(end - clock_mono_ms());
		if (run_signalled()) {
			if (tty)
				fputc('\n', stderr);
			fprintf(stderr,
				"rabulk: drain: interrupted during the grace period; nothing "
				"more is sent\n");
			run_stop(c, STOP_SIGNAL);
			return false;
		}
		if (left <= 0)
			break;
		if (next < o->nremind && left <= o->remind_ms[next]) {
			if (tty)
				fputc('\n', stderr);
			if (!warn(c, o, ex, o->remind_ms[next], "reminder"))
				return false;
			next++;
			continue;
		}
		countdown(left, tty);
		long nap = left % 1000 ? left % 1000 : 1000;
		if (next < o->nremind && left - o->remind_ms[next] < nap)
			nap = left - o->remind_ms[next];
		struct timespec ts = {nap / 1000, (nap % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (tty)
		fputs("\r\033[K", stderr);
	return true;
}

/* ---- the command ----------------------------------------------------- */

static void print_plan(const struct args *o)
{
	if (o->undrain) {
		fprintf(stderr,
			"rabulk: dry run: undrain of %d host pool%s: list the session hosts, then "
			"set each one's allowNewSession to %s; nothing sent\n",
			o->ninputs, o->ninputs == 1 ? "" : "s",
			o->merge_input ? "the value the drain's report recorded (else true)"
				       : "true");
		return;
	}
	fprintf(stderr, "rabulk: dry run: drain of %d %s%s:\n", o->ninputs,
		o->avd ? "host pool" : "collection", o->ninputs == 1 ? "" : "s");
	if (o->avd)
		fprintf(stderr, "  0. list the session hosts; close each to new sessions "
				"(allowNewSession=false), recording the value it had\n");
	fprintf(stderr, "  1. list sessions (%d GET request%s)\n", o->ninputs,
		o->ninputs == 1 ? "" : "s");
	fprintf(stderr, "  2. message every connected user%s\n",
		o->exclude ? " not in --exclude" : "");
	fprintf(stderr, "  3. wait %ld s", o->grace_ms / 1000);
	for (int i = 0; i < o->nremind; i++)
		fprintf(stderr, "%s%ld s left", i ? ", " : "; remind the still connected at ",
			o->remind_ms[i] / 1000);
	fprintf(stderr, "\n  4. list again; %s %s\n",
		o->then == SERVICE_LOGOFF ? "log off" : "disconnect",
		o->then == SERVICE_LOGOFF ? "every session left" : "the users still connected");
	if (o->rate > 0)
		fprintf(stderr, "  each phase sends at most %.0f requests/s\n", o->rate);
	fprintf(stderr, "rabulk: nothing sent\n");
}

/* Disconnects the connected users left, or logs off every session left. */
static bool act(struct run *c, const struct args *o, const struct dedup *ex)
{
	bool logoff = o->then == SERVICE_LOGOFF;
	return phase(c, o, ex, !logoff, o->then, NULL, "grace period over",
		     logoff ? "logging off" : "disconnecting", o->avd ? "session" : "user");
}

int drain_run(const struct args *o)
{
	struct dedup *ex = NULL;
	int rc;
	if (o->dry_run) {
		print_plan(o);
		return EXIT_ALL_OK;
	}
	if (o->then == SERVICE_LOGOFF && !o->yes && !o->undrain &&
	    !run_ask("drain: log off the users still signed in after the grace period?"))
		return EXIT_USAGE;
	if (o->exclude && !(ex = load_exclude(o)))
		return EXIT_USAGE;
	struct run *c = run_open(o, &rc);
	int closing = c && o->avd ? avddrain_hosts(c, o, !o->undrain) : 0;
	if (closing != 0 && !o->undrain) {
		fprintf(stderr, "rabulk: drain: %s: stopping before any message\n",
			closing > 0 ? "not every session host could be closed" : "out of memory");
		run_stop(c, STOP_INTERNAL);
	} else if (c && !o->undrain && warn(c, o, ex, o->grace_ms, "message") &&
		   wait_grace(c, o, ex)) {
		act(c, o, ex);
	}
	if (c)
		rc = run_close(c, true);
	dedup_free(ex);
	return rc;
}
