/* token.c — fetching, checking and refreshing the bearer token.
 *
 * Fetching a token may take seconds (az runs python, which asks Entra ID),
 * so no worker ever does it: a token that can be refreshed (a file, a
 * command) has a thread of its own, the refresher, and it alone fetches
 * once the run has its first token. It fetches for two reasons:
 *
 *  - ahead of time: a JWT's exp minus a margin of a quarter of its
 *    lifetime, at most two minutes (a 60-minute Azure AD token is
 *    refreshed two minutes early, a 4-second test token one second early),
 *    and a token file checked once a second and re-read when its inode,
 *    size or mtime changed. The current token is still good meanwhile;
 *  - after a 401: token_renew(gen) asks for a token newer than gen and
 *    returns at once. However many requests got that 401, generation gen
 *    is fetched for once; then it is settled: a newer token, or none (the
 *    source failed or gave the same token, or gen itself was brought by a
 *    401 and refused before the service ever accepted it: the
 *    credentials are wrong, no expiry is that quick), or given up (the
 *    run is being interrupted).
 *
 * When a fetch ends the refresher calls the wakers (each worker's event
 * loop) and the rows waiting on a 401 ask again. The workers read the
 * generation without a lock and copy the token only when it changed.
 *
 * State lives under one mutex, never held while fetching (the fetch runs
 * with `fetching` set, so there is one at a time); `gen`, `due_ms` and
 * `accepted_gen` are also atomics for the lock-free reads. Lock order: the
 * token's lock alone; the wakers run under it and take no lock.
 *
 * The command is run with fork and exec, not popen(): in a process group of
 * its own, with a time limit, a cap on its output, and a way for the caller
 * to give it up (a signal), each of which kills the whole group. A command
 * that hangs (a login prompt no one sees, a network that drops packets) would
 * otherwise hang the run, and its children would outlive rabulk. */
#include "engine/token.h"
#include "engine/credential.h"
#include "lib/clock.h"
#include "lib/err.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define FILE_CHECK_MS 1000
#define MARGIN_MAX_MS 120000
#define RETRY_MS 1000	  /* after a failed or useless early refresh */
#define STOP_CHECK_MS 100 /* how often a running command asks src->stop() */
#define IDLE_MS 1000	  /* longest sleep of the refresher: the wall clock may jump */
#define WAKERS_MAX 64

extern char **environ;

struct token {
	struct token_source src;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a refresh asked for, a fetch ended, closing (monotonic) */
	pthread_t refresher;
	bool threaded;	     /* the refresher runs: the source can give another token */
	atomic_bool closing; /* token_free(): the refresher ends, a fetch is given up */
	bool fetching;
	char value[TOKEN_MAX];
	int64_t exp_ms;	    /* 0: unknown */
	int64_t refresh_ms; /* when to fetch a new one ahead of exp */
	struct stat file_id;
	atomic_uint gen;
	atomic_llong due_ms; /* next token_maintain() with work to do */
	/* Generations start at 1, so 0 means none in the four below. */
	unsigned asked_gen;	  /* a 401 asked for a token newer than this one */
	unsigned failed_gen;	  /* a 401 refresh of this generation gave nothing new */
	unsigned stopped_gen;	  /* a 401 refresh of this generation was given up */
	unsigned after_401_gen;	  /* the generation a 401 refresh installed */
	atomic_uint accepted_gen; /* the newest generation the service accepted */
	struct {
		token_wake_fn *fn;
		void *arg;
	} wakers[WAKERS_MAX];
	int nwakers;
};

/* ---- JWT ------------------------------------------------------------- */

static int b64url_value(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' || c == '+' ? 62 : c == '_' || c == '/' ? 63 : -1;
}

/* Decodes base64url (no padding needed) into dst; returns the length or -1. */
static long b64url_decode(const char *s, size_t len, char *dst, size_t cap)
{
	unsigned acc = 0;
	int bits = 0;
	size_t n = 0;
	for (size_t i = 0; i < len && s[i] != '='; i++) {
		int v = b64url_value((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (unsigned)v, bits += 6;
		if (bits >= 8) {
			if (n + 1 >= cap)
				return -1;
			bits -= 8;
			dst[n++] = (char)(acc >> bits & 0xFF);
		}
	}
	dst[n] = '\0';
	return (long)n;
}

int token_jwt_exp(const char *tok, int64_t *exp_s)
{
	const char *a = strchr(tok, '.'), *b = a ? strchr(a + 1, '.') : NULL;
	char payload[8192];
	if (!b || b - a - 1 <= 0 ||
	    b64url_decode(a + 1, (size_t)(b - a - 1), payload, sizeof(payload)) < 0)
		return ERR_PARSE;
	cJSON *root = cJSON_Parse(payload);
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(root, "exp");
	int rc = cJSON_IsNumber(exp) && exp->valuedouble > 0 ? 0 : ERR_PARSE;
	if (rc == 0)
		*exp_s = (int64_t)exp->valuedouble;
	cJSON_Delete(root);
	return rc;
}

/* ---- sources --------------------------------------------------------- */

static void first_line(char *s)
{
	s[strcspn(s, "\r\n")] = '\0';
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

static int read_private(FILE *f, const char *path, struct stat *st, char *dst, size_t cap,
			char *err, size_t n)
{
	if (fstat(fileno(f), st) != 0) {
		snprintf(err, n, "cannot read '%s': %s", path, strerror(errno));
		return ERR_IO;
	}
	/* Yours and private (as ssh wants keys), or root's and shared with
	 * your group only: a Kubernetes secret mounted with fsGroup. */
	bool mine = st->st_uid == geteuid() && !(st->st_mode & 077);
	bool roots = st->st_uid == 0 && !(st->st_mode & 027);
	if (!mine && !roots) {
		snprintf(err, n, "'%s' must be yours and not readable by others (chmod 600 '%s')",
			 path, path);
		return ERR_INVAL;
	}
	size_t len = fread(dst, 1, cap - 1, f);
	dst[len] = '\0';
	if (len == cap - 1 && !feof(f)) {
		snprintf(err, n, "'%s' is longer than %zu bytes", path, cap - 1);
		return ERR_TOOBIG;
	}
	first_line(dst);
	if (!dst[0]) {
		snprintf(err, n, "'%s' is empty", path);
		return ERR_INVAL;
	}
	return 0;
}

static int read_file_id(const char *path, char *dst, size_t cap, struct stat *st, char *err,
			size_t n)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, n, "cannot open '%s': %s", path, strerror(errno));
		return ERR_IO;
	}
	int rc = read_private(f, path, st, dst, cap, err, n);
	fclose(f);
	return rc;
}

int token_read_file(const char *path, char *dst, size_t cap, char *err, size_t n)
{
	struct stat st;
	return read_file_id(path, dst, cap, &st, err, n);
}

/* ---- --token-command ------------------------------------------------ */

/* The child, between fork() and exec: async-signal-safe calls only (the
 * parent has threads). Its own process group, so that one kill() ends sh
 * and whatever it started (az runs python); stdin /dev/null; stdout the
 * pipe; stderr ours, so the command's complaints are seen; no other
 * descriptor of ours (sockets, the report, the inputs: few are
 * close-on-exec). SIGPIPE back to the default we ignore. If rabulk dies
 * while it runs (kill -9, a third Ctrl-C), the kernel kills sh. */
static _Noreturn void exec_command(const char *cmd, int out, pid_t parent, long max_fd)
{
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)cmd, NULL};
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int null;
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sigaction(SIGPIPE, &dfl, NULL);
	if (out <= STDERR_FILENO && (out = fcntl(out, F_DUPFD, STDERR_FILENO + 1)) < 0)
		_exit(127);
	if ((null = open("/dev/null", O_RDONLY)) < 0 || dup2(null, STDIN_FILENO) < 0 ||
	    dup2(out, STDOUT_FILENO) < 0)
		_exit(127);
#ifdef SYS_close_range
	if (syscall(SYS_close_range, STDERR_FILENO + 1, ~0U, 0) == 0)
		max_fd = 0;
#endif
	for (int fd = STDERR_FILENO + 1; fd < max_fd; fd++)
		close(fd);
	execve("/bin/sh", argv, environ);
	_exit(127);
}

/* Starts the command; its stdout is read from *out (caller closes it). */
static int spawn(const char *cmd, pid_t *pid, int *out, char *err, size_t n)
{
	struct rlimit rl;
	long max_fd = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
			  ? (long)rl.rlim_cur
			  : 1L << 20;
	int fds[2];
	if (pipe(fds) != 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) != 0) {
		snprintf(err, n, "cannot run --token-command: %s", strerror(errno));
		return ERR_IO;
	}
	pid_t parent = getpid();
	if ((*pid = fork()) < 0) {
		snprintf(err, n, "cannot run --token-command: %s", strerror(errno));
		close(fds[0]), close(fds[1]);
		return ERR_IO;
	}
	if (*pid == 0)
		exec_command(cmd, fds[1], parent, max_fd);
	setpgid(*pid, *pid); /* as the child does: whichever runs first; kill() needs it */
	close(fds[1]);
	*out = fds[0];
	return 0;
}

/* Kills the command's process group and reaps sh (the rest of the group
 * is reparented to init, which reaps it). */
static void kill_command(pid_t pid)
{
	if (kill(-pid, SIGKILL) != 0)
		kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Whether a command must end now: ERR_STOPPED (the caller's stop, or
 * token_free()) or ERR_AUTH (past its deadline), with err set; else 0 and,
 * in *wait_ms, how long to wait before asking again. */
/* One run of a command: --token-command's, or the Azure CLI's. */
struct command {
	const char *cmd;
	const char *what; /* for messages: "--token-command" */
	long limit_ms;
	bool whole; /* the whole output, not its first line */
};

static int must_end(const struct token *t, const struct command *c, int64_t deadline, int *wait_ms,
		    char *err, size_t n)
{
	const struct token_source *src = &t->src;
	int64_t left = deadline - clock_mono_ms();
	if ((src->stop && src->stop()) || atomic_load(&t->closing)) {
		snprintf(err, n, "interrupted while %s was running", c->what);
		return ERR_STOPPED;
	}
	if (left <= 0) {
		snprintf(err, n, "%s timed out after %g s", c->what, (double)c->limit_ms / 1000.0);
		return ERR_AUTH;
	}
	*wait_ms = left < STOP_CHECK_MS ? (int)left : STOP_CHECK_MS;
	return 0;
}

/* Reads the command's stdout to EOF into dst (cap bytes, terminated). */
static int read_output(const struct token *t, const struct command *c, int fd, int64_t deadline,
		       char *dst, size_t cap, char *err, size_t n)
{
	size_t len = 0;
	int wait_ms, rc;
	for (;;) {
		if ((rc = must_end(t, c, deadline, &wait_ms, err, n)) < 0)
			return rc;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, wait_ms) <= 0)
			continue; /* a signal (never restarted) or the slice is over */
		ssize_t got = read(fd, dst + len, cap - len); /* one byte more than fits */
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(err, n, "reading %s's output: %s", c->what, strerror(errno));
			return ERR_IO;
		}
		if (got == 0)
			break;
		if ((len += (size_t)got) >= cap) {
			snprintf(err, n, "%s printed more than %zu bytes", c->what, cap - 1);
			return ERR_TOOBIG;
		}
	}
	dst[len] = '\0';
	return 0;
}

/* Waits for sh to exit after it closed its stdout. */
static int reap(const struct token *t, const struct command *c, pid_t pid, int64_t deadline,
		int *status, char *err, size_t n)
{
	int wait_ms, rc, nap = 1;
	pid_t got;
	while ((got = waitpid(pid, status, WNOHANG)) != pid) {
		if (got < 0 && errno != EINTR) {
			snprintf(err, n, "%s: %s", c->what, strerror(errno));
			return ERR_IO;
		}
		if ((rc = must_end(t, c, deadline, &wait_ms, err, n)) < 0)
			return rc;
		poll(NULL, 0, nap < wait_ms ? nap : wait_ms);
		nap = nap < 50 ? nap * 2 : 50;
	}
	return 0;
}

/* Runs --token-command; the first line of its output is the token. Output
 * is read with poll() in slices of STOP_CHECK_MS, so that the time limit,
 * too much output and the caller's stop (a signal: it may land on any
 * thread, and restarts nothing here) each end it within a slice. */
static int run_command(const struct token *t, const struct command *c, char *dst, size_t cap,
		       char *err, size_t n)
{
	int64_t deadline = clock_mono_ms() + c->limit_ms;
	int status = 0, fd = -1, wait_ms;
	pid_t pid = -1;
	int rc = must_end(t, c, deadline, &wait_ms, err, n);
	if (rc == 0)
		rc = spawn(c->cmd, &pid, &fd, err, n);
	if (rc < 0)
		return rc;
	rc = read_output(t, c, fd, deadline, dst, cap, err, n);
	close(fd);
	if (rc == 0)
		rc = reap(t, c, pid, deadline, &status, err, n);
	if (rc < 0) {
		kill_command(pid);
		dst[0] = '\0';
		return rc;
	}
	if (!c->whole)
		first_line(dst);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			snprintf(err, n, "%s failed (killed by signal %d)", c->what,
				 WTERMSIG(status));
		else
			snprintf(err, n, "%s failed (exit status %d)", c->what,
				 WEXITSTATUS(status));
		return ERR_AUTH;
	}
	if (!dst[0]) {
		snprintf(err, n, "%s printed no token", c->what);
		return ERR_AUTH;
	}
	return 0;
}

/* credential.h's hooks: the Azure CLI runs as --token-command does. */
static int run_hook(void *arg, const char *cmd, const char *what, long limit_ms, char *dst,
		    size_t cap, char *err, size_t n)
{
	struct command c = {cmd, what, limit_ms, true};
	return run_command(arg, &c, dst, cap, err, n);
}

static bool stop_hook(void *arg)
{
	const struct token *t = arg;
	return (t->src.stop && t->src.stop()) || atomic_load(&((struct token *)t)->closing);
}

/* The source as messages name it (never the token). */
static const char *source_name(const struct token_source *src)
{
	return src->credential ? credential_kind_name(src->credential->kind)
	       : src->command  ? "--token-command"
	       : src->file     ? src->file
			       : src->what;
}

/* Reads t's source into dst (and the file's identity into st, the expiry
 * the source gave, else 0, into exp_ms). */
static int fetch(const struct token *t, char *dst, size_t cap, struct stat *st, int64_t *exp_ms,
		 char *err, size_t n)
{
	const struct token_source *src = &t->src;
	*exp_ms = 0;
	if (src->credential) {
		struct credential_hooks h = {run_hook, stop_hook, (void *)t};
		return credential_fetch(src->credential, &h, dst, cap, exp_ms, err, n);
	}
	if (src->command) {
		struct command c = {src->command, "--token-command",
				    src->command_timeout_ms ? src->command_timeout_ms
							    : TOKEN_COMMAND_TIMEOUT_MS,
				    false};
		return run_command(t, &c, dst, cap, err, n);
	}
	if (src->file)
		return read_file_id(src->file, dst, cap, st, err, n);
	snprintf(err, n, "%s cannot be refreshed", src->what ? src->what : "the token");
	return ERR_AUTH;
}

/* ---- state ----------------------------------------------------------- */

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* When token_maintain() next has work: a file check, or the early refresh. */
static int64_t next_due(const struct token *t, int64_t now)
{
	int64_t due = t->src.file ? now + FILE_CHECK_MS : INT64_MAX;
	return t->refresh_ms < due ? t->refresh_ms : due;
}

/* The early refresh time of a token that expires at exp (0: unknown). */
static int64_t refresh_time(const struct token *t, int64_t exp, int64_t now)
{
	if (!exp || (!t->src.file && !t->src.command && !t->src.credential))
		return INT64_MAX;
	int64_t margin = (exp - now) / 4;
	int64_t at = exp - (margin > MARGIN_MAX_MS ? MARGIN_MAX_MS : margin);
	return at > now ? at : now + RETRY_MS; /* the source gave an old token */
}

/* Installs a fetched token; with t->lock held. Returns true when it differs. */
static bool install(struct token *t, const char *value, const struct stat *st, int64_t exp_ms,
		    int64_t now)
{
	bool changed = strcmp(value, t->value) != 0;
	int64_t exp_s;
	if (st)
		t->file_id = *st;
	if (changed) {
		snprintf(t->value, sizeof(t->value), "%s", value);
		/* The answer's expires_in/_on, or the JWT's exp: the earlier of the
		 * two when there are both (expires_in counts whole seconds from a
		 * moment the client does not know exactly). */
		t->exp_ms = token_jwt_exp(value, &exp_s) == 0 ? exp_s * 1000 : 0;
		if (exp_ms && (!t->exp_ms || exp_ms < t->exp_ms))
			t->exp_ms = exp_ms;
		atomic_fetch_add(&t->gen, 1);
	}
	t->refresh_ms = refresh_time(t, t->exp_ms, now);
	atomic_store(&t->due_ms, next_due(t, now));
	return changed;
}

static void *refresher_main(void *arg);

struct token *token_new(const struct token_source *src, char *err, size_t n)
{
	struct token *t = calloc(1, sizeof(*t));
	char *buf = malloc(TOKEN_MAX);
	struct stat st;
	pthread_condattr_t ca;
	int64_t now, exp_ms = 0;
	int rc = t && buf ? 0 : ERR_NOMEM;
	if (rc == 0) {
		t->src = *src;
		atomic_init(&t->closing, false);
	}
	if (rc == 0 && src->value)
		snprintf(buf, TOKEN_MAX, "%s", src->value);
	else if (rc == 0)
		rc = fetch(t, buf, TOKEN_MAX, &st, &exp_ms, err, n);
	if (rc < 0) {
		if (rc == ERR_NOMEM)
			snprintf(err, n, "out of memory");
		if (buf)
			explicit_bzero(buf, TOKEN_MAX);
		free(buf), free(t);
		return NULL;
	}
	now = clock_wall_ms(); /* the command may have taken seconds */
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->changed, &ca);
	pthread_condattr_destroy(&ca);
	install(t, buf, src->file ? &st : NULL, exp_ms, now);
	explicit_bzero(buf, TOKEN_MAX);
	free(buf);
	if (t->exp_ms && t->exp_ms <= now) {
		snprintf(err, n, "the token from %s expired %lld s ago", source_name(src),
			 (long long)((now - t->exp_ms) / 1000));
		token_free(t);
		return NULL;
	}
	if (src->file || src->command || src->credential) {
		if (pthread_create(&t->refresher, NULL, refresher_main, t) != 0) {
			snprintf(err, n, "cannot start a thread to refresh the token");
			token_free(t);
			return NULL;
		}
		t->threaded = true;
	}
	return t;
}

void token_free(struct token *t)
{
	if (!t)
		return;
	if (t->threaded) {
		pthread_mutex_lock(&t->lock);
		atomic_store(&t->closing, true); /* also ends a command under way */
		pthread_cond_broadcast(&t->changed);
		pthread_mutex_unlock(&t->lock);
		pthread_join(t->refresher, NULL);
	}
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->changed);
	explicit_bzero(t->value, sizeof(t->value));
	free(t);
}

unsigned token_generation(const struct token *t)
{
	return atomic_load(&((struct token *)t)->gen);
}

unsigned token_copy(struct token *t, char *dst, size_t cap)
{
	pthread_mutex_lock(&t->lock);
	snprintf(dst, cap, "%s", t->value);
	unsigned gen = atomic_load(&t->gen);
	pthread_mutex_unlock(&t->lock);
	return gen;
}

int token_add_waker(struct token *t, token_wake_fn *fn, void *arg)
{
	int rc = ERR_RANGE;
	pthread_mutex_lock(&t->lock);
	if (t->nwakers < WAKERS_MAX) {
		t->wakers[t->nwakers].fn = fn, t->wakers[t->nwakers].arg = arg;
		t->nwakers++, rc = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

void token_remove_waker(struct token *t, token_wake_fn *fn, void *arg)
{
	pthread_mutex_lock(&t->lock);
	for (int i = 0; i < t->nwakers; i++)
		if (t->wakers[i].fn == fn && t->wakers[i].arg == arg) {
			t->wakers[i] = t->wakers[--t->nwakers];
			break;
		}
	pthread_mutex_unlock(&t->lock);
}

/* A fetch ended and what it means is recorded: whoever waits looks again.
 * With t->lock held. */
static void settled(struct token *t)
{
	pthread_cond_broadcast(&t->changed);
	for (int i = 0; i < t->nwakers; i++)
		t->wakers[i].fn(t->wakers[i].arg);
}

/* Fetches with t->lock held on entry and exit, dropping it meanwhile;
 * *now moves on by the time the fetch took. Returns 1 when a different
 * token was installed, 0 when the source gave the same one, or a negative
 * error (said once on stderr, but for ERR_STOPPED: whoever stops the run
 * says why). */
static int fetch_unlocked(struct token *t, int64_t *now)
{
	char *buf = malloc(TOKEN_MAX), err[1024] = "";
	struct stat st;
	int64_t began = clock_mono_ms(), exp_ms = 0;
	t->fetching = true;
	pthread_mutex_unlock(&t->lock);
	int rc = buf ? fetch(t, buf, TOKEN_MAX, &st, &exp_ms, err, sizeof(err)) : ERR_NOMEM;
	pthread_mutex_lock(&t->lock);
	t->fetching = false;
	*now += clock_mono_ms() - began;
	if (rc == 0)
		rc = install(t, buf, t->src.file ? &st : NULL, exp_ms, *now) ? 1 : 0;
	else if (err[0] && rc != ERR_STOPPED)
		fprintf(stderr, "rabulk: refreshing the token: %s\n", err);
	if (buf)
		explicit_bzero(buf, TOKEN_MAX);
	free(buf);
	pthread_cond_broadcast(&t->changed); /* the refresher may wait for this fetch */
	return rc;
}

/* The early refresh, when due at now; with t->lock held. */
static void maintain_locked(struct token *t, int64_t now)
{
	struct stat st;
	if (t->fetching || now < atomic_load(&t->due_ms))
		return;
	/* A file is re-read when it changed; a command is run when it is time. */
	bool go = t->src.file ? stat(t->src.file, &st) != 0 || !same_file(&st, &t->file_id)
			      : now >= t->refresh_ms;
	atomic_store(&t->due_ms, now + RETRY_MS); /* nobody else tries meanwhile */
	if (!go) {
		atomic_store(&t->due_ms, next_due(t, now));
		return;
	}
	int rc = fetch_unlocked(t, &now);
	atomic_store(&t->due_ms, rc >= 0 ? next_due(t, now) : now + RETRY_MS);
	settled(t);
}

void token_maintain(struct token *t, int64_t now)
{
	if (now < atomic_load(&t->due_ms))
		return;
	pthread_mutex_lock(&t->lock);
	maintain_locked(t, now);
	pthread_mutex_unlock(&t->lock);
}

void token_answered(struct token *t, unsigned gen, long http)
{
	if (http < 200 || http == 401 || http == 403)
		return;
	unsigned old = atomic_load(&t->accepted_gen);
	while (old < gen && !atomic_compare_exchange_weak(&t->accepted_gen, &old, gen))
		;
}

/* token_renew() with t->lock held. */
static int renew_locked(struct token *t, unsigned gen)
{
	if (atomic_load(&t->gen) != gen)
		return 0;
	if (t->failed_gen == gen)
		return ERR_AUTH;
	if (t->after_401_gen == gen && atomic_load(&t->accepted_gen) < gen) {
		t->failed_gen = gen; /* refused from the start: not an expiry */
		return ERR_AUTH;
	}
	if (!t->threaded) { /* a fixed value: nothing to fetch again */
		fprintf(stderr, "rabulk: refreshing the token: %s cannot be refreshed\n",
			t->src.what ? t->src.what : "the token");
		t->failed_gen = gen;
		return ERR_AUTH;
	}
	if (t->stopped_gen == gen) {
		if (!t->src.stop || t->src.stop())
			return ERR_STOPPED;
		t->stopped_gen = 0; /* the stop is over (tests): fetch again */
	}
	if (t->asked_gen != gen) {
		t->asked_gen = gen;
		pthread_cond_broadcast(&t->changed);
	}
	return ERR_AGAIN;
}

int token_renew(struct token *t, unsigned gen)
{
	if (atomic_load(&t->gen) != gen)
		return 0;
	pthread_mutex_lock(&t->lock);
	int rc = renew_locked(t, gen);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int token_refresh(struct token *t, unsigned gen)
{
	int rc;
	pthread_mutex_lock(&t->lock);
	while ((rc = renew_locked(t, gen)) == ERR_AGAIN)
		pthread_cond_wait(&t->changed, &t->lock);
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* The refresher's answer to a 401 wave for gen, the current generation;
 * with t->lock held. Not marked failed when given up: the stop, not the
 * credentials, ended it. */
static void answer_401(struct token *t, unsigned gen)
{
	int64_t now = clock_wall_ms();
	int got = fetch_unlocked(t, &now);
	if (got == ERR_STOPPED)
		t->stopped_gen = gen;
	else if (atomic_load(&t->gen) != gen) /* ours, or an early refresh's meanwhile */
		t->after_401_gen = atomic_load(&t->gen);
	else /* the source failed, or gave the same token */
		t->failed_gen = gen;
	if (t->asked_gen == gen)
		t->asked_gen = 0;
	settled(t);
}

/* Waits on t->changed for at most ms (t->lock held). */
static void wait_changed(struct token *t, int64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t ns = ts.tv_nsec + ms * 1000000;
	ts.tv_sec += (time_t)(ns / 1000000000), ts.tv_nsec = (long)(ns % 1000000000);
	pthread_cond_timedwait(&t->changed, &t->lock, &ts);
}

/* The refresher thread: answers 401 waves, refreshes ahead of time, and
 * otherwise sleeps until one of those is due, at most IDLE_MS at a time. */
static void *refresher_main(void *arg)
{
	struct token *t = arg;
	pthread_mutex_lock(&t->lock);
	while (!atomic_load(&t->closing)) {
		unsigned gen = atomic_load(&t->gen);
		int64_t now = clock_wall_ms(), due = atomic_load(&t->due_ms);
		if (t->asked_gen && t->asked_gen != gen)
			t->asked_gen = 0; /* a newer token came meanwhile: its fetch woke them */
		if (t->fetching)	  /* token_maintain() in another thread */
			wait_changed(t, IDLE_MS);
		else if (t->asked_gen)
			answer_401(t, gen);
		else if (now >= due)
			maintain_locked(t, now);
		else
			wait_changed(t, due - now < IDLE_MS ? due - now : IDLE_MS);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

void token_describe(struct token *t, char *dst, size_t cap)
{
	char when[32] = "";
	pthread_mutex_lock(&t->lock);
	clock_iso8601(when, sizeof(when), t->exp_ms);
	snprintf(dst, cap, "bearer token from %s%s%s%s", source_name(&t->src),
		 t->exp_ms && t->src.credential ? " (expires "
		 : t->exp_ms			? " (JWT, expires "
						: " (not a JWT: refreshed only after a 401",
		 when, ")");
	pthread_mutex_unlock(&t->lock);
}
