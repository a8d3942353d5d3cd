/* token.h — the bearer token every worker sends, kept fresh.
 *
 * One token object per run, shared by all workers. It comes from a file
 * (re-read when the file changes), a command (run again before the token
 * expires, and once after a 401), or a fixed value (RABULK_ACCESS_TOKEN or
 * the profile's AccessToken account). A token that can be refreshed has a
 * thread of its own that does the fetching, so that no worker ever waits
 * for a command: workers read the generation number without a lock, copy
 * the token only when it changed, and after a 401 ask for a newer one
 * (token_renew) and are woken when it is there (token_add_waker). The
 * token is never printed: error messages name its source, not its value. */
#ifndef RABULK_TOKEN_H
#define RABULK_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct credential_config;

#define TOKEN_MAX 16384 /* longest token accepted, terminator included */
/* How long --token-command may run unless told (the CLI reads
 * RABULK_TOKEN_COMMAND_TIMEOUT); then its process group is killed. */
#define TOKEN_COMMAND_TIMEOUT_MS 30000

/* Asked every 100 ms while --token-command runs: true gives the fetch up
 * (the command's process group is killed, ERR_STOPPED). It means "the run
 * is being interrupted": cli/run.c passes run_signalled(), and a worker
 * whose rows wait for a 401 refresh given up this way stops the run as for
 * a signal. Called from any thread (the token's own, mostly). */
typedef bool token_stop_fn(void);

struct token_source {
	const char *file;	 /* --token-file: owner-only, re-read when it changes */
	const char *command;	 /* --token-command: run by /bin/sh, first line of stdout */
	long command_timeout_ms; /* the command is killed after this; 0: TOKEN_COMMAND_TIMEOUT_MS */
	token_stop_fn *stop;	 /* NULL: only the time limit ends a command early */
	const char *value;	 /* a fixed token */
	const char *what;	 /* where the fixed value came from, for messages */
	/* Entra ID (credential.h): fetched on the token's thread, refreshed
	 * before the expiry its answer gives (else the JWT's exp) and after a
	 * 401. Borrowed until token_free(). */
	const struct credential_config *credential;
};

struct token;

/* Called by the token's thread when a fetch has ended (see token_add_waker). */
typedef void token_wake_fn(void *arg);

/* Fetches the first token, in the caller's thread, and starts the thread
 * that refreshes it when the source can give another (a file, a command).
 * Caller owns the result; NULL with err set when the source fails, the
 * file is readable by others, or a JWT has expired. The command fails when
 * it exits non-zero, prints nothing, prints more than TOKEN_MAX - 1 bytes
 * or outlives its time limit, and is given up when src->stop says so: then
 * the caller's src->stop() is true. The source's strings are borrowed
 * until token_free(). */
struct token *token_new(const struct token_source *src, char *err, size_t errlen);
/* Stops the token's thread (a command under way is killed) and frees t.
 * token_free(NULL) is a no-op. */
void token_free(struct token *t);

/* The current token's generation: it changes whenever the token does.
 * Lock-free; workers call it before every request. */
unsigned token_generation(const struct token *t);
/* Copies the current token (at most cap bytes, terminated) and returns
 * its generation. Thread-safe. */
unsigned token_copy(struct token *t, char *dst, size_t cap);
/* Registers fn(arg), called whenever the token's thread has ended a fetch
 * (a new token, or a refresh that gave nothing or was given up): then
 * token_renew() has news for whoever it told ERR_AGAIN. fn runs on the
 * token's thread with the token's lock held: it must be quick and take
 * no lock (evloop_wake() writes to an eventfd). At most 64 wakers.
 * Returns 0 or ERR_RANGE. Thread-safe. */
int token_add_waker(struct token *t, token_wake_fn *fn, void *arg);
/* Unregisters fn(arg); once this returns, it is not running and will not
 * be called again. No-op when not registered. Thread-safe. */
void token_remove_waker(struct token *t, token_wake_fn *fn, void *arg);
/* A request sent with generation gen got HTTP status http (0: none). Any
 * answer but 401 and 403 shows the service accepts that token. Lock-free. */
void token_answered(struct token *t, unsigned gen, long http);
/* A request sent with generation gen was answered 401. Never waits for a
 * fetch: returns 0 when a newer token is ready (any refresh's), ERR_AGAIN
 * when one is being fetched (this call may have asked for it; the wakers
 * are called when the fetch ends: ask again then), ERR_AUTH when the
 * source cannot give one (a fixed token, a failed command, the same token
 * again) or when gen is a token a 401 brought that was refused before the
 * service ever accepted it (the credentials are wrong: no expiry is that
 * quick). Each generation is fetched for at most once however many 401s
 * it gets, so a run survives any number of expiries but refreshes only
 * once for a token refused outright. ERR_STOPPED when the source's stop
 * callback gave the fetch up (asked again once the stop is over, that
 * generation is fetched for again). Thread-safe; holds the token's lock
 * only to read and record state. */
int token_renew(struct token *t, unsigned gen);
/* token_renew() that waits for the fetch instead of answering ERR_AGAIN,
 * for a caller with nothing else to do meanwhile (the tests); never from
 * a worker or fetch.c. Thread-safe. */
int token_refresh(struct token *t, unsigned gen);
/* Does the early refresh now if it is due at now_wall_ms: before a JWT's
 * exp, or when the token file changed (checked once a second). The
 * token's thread calls it as time passes; tests call it with made-up time.
 * Cheap when nothing is due; otherwise it fetches in the caller's thread
 * (one fetch at a time: none when one is under way). A failed refresh is
 * tried again a second later. Thread-safe. */
void token_maintain(struct token *t, int64_t now_wall_ms);
/* A one-line description for --verbose: source, JWT expiry; never the value. */
void token_describe(struct token *t, char *dst, size_t cap);

/* The exp claim (Unix seconds) of a JWT; ERR_PARSE when tok is not a JWT
 * or has no numeric exp. */
int token_jwt_exp(const char *tok, int64_t *exp_s);
/* Reads the first line of a secret file into dst, refusing a file that is
 * not the caller's or that others can read (as ssh does with keys). */
int token_read_file(const char *path, char *dst, size_t cap, char *err, size_t errlen);

#endif
