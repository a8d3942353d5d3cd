/* engine.h — the worker pool that turns items into HTTP requests.
 *
 * N threads, each with its own curl multi handle, take items from the input
 * queue, send the operation, poll its result, retry what is worth retrying,
 * and put every item, finished, on the output queue: exactly once, whatever
 * happens. DNS and TLS sessions are shared between threads; nothing else is. */
#ifndef RABULK_ENGINE_H
#define RABULK_ENGINE_H

#include "service/service.h"
#include "lib/queue.h"
#include "engine/quota.h"
#include "engine/retry.h"
#include "engine/token.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What to do and how; built by the command line, borrowed by the engine
 * until engine_free(). */
struct engine_job {
	const struct service *service; /* what to send and what answers mean */
	enum service_op op;
	struct service_target target;
	const char *message;   /* for SERVICE_MESSAGE */
	const char *title;     /* its title, where the service has one (AVD); NULL: "" */
	struct token *token;   /* bearer token source, or NULL */
	const char *cert;      /* management certificate (TLS client), or NULL */
	const char *cert_type; /* "PEM" or "P12" */
	const char *key;       /* PEM key file, NULL: in cert */
	const char *key_password;
	const char *cacert;
	bool insecure;
	bool no_wait;
	int concurrency; /* requests in flight, all threads together */
	int threads;	 /* 0: engine_default_threads() */
	long timeout_ms; /* one request */
	long poll_interval_ms;
	long poll_timeout_ms;
	struct retry_policy retry;
	double rate;	  /* operation requests per second; 0 = unlimited */
	double burst;	  /* requests that may go at once (>= 1) */
	double poll_rate; /* operationResults per second; 0 = unlimited */
	/* --quota-reserve: what pacing by the service's quota leaves to others */
	struct quota_reserve quota_reserve;
	bool no_quota; /* --quota-reserve off: do not pace by quota headers */
	bool verbose;
};

/* Why a run stopped early. Adding one? Add a line; stop_name() follows. */
#define STOP_MAP(X)                                                                                \
	X(NONE, "")                                                                                \
	X(SIGNAL, "signal")                                                                        \
	X(AUTH, "auth")                                                                            \
	X(HALT, "halt")                                                                            \
	X(DEADLINE, "deadline")                                                                    \
	X(INTERNAL, "internal")

enum stop_reason {
#define STOP_ENUM_(name, text) STOP_##name,
	STOP_MAP(STOP_ENUM_)
#undef STOP_ENUM_
};

/* "signal", "auth", ... ("" for STOP_NONE): the summary's "stopped". */
const char *stop_name(enum stop_reason why);

struct engine_stats {
	uint64_t requests;		    /* operation requests sent, retries included */
	uint64_t polls;			    /* operationResults requests */
	uint64_t lists;			    /* session-list pages fetched (a lookup service's) */
	uint64_t retries;		    /* operation and poll retries scheduled */
	uint64_t throttled;		    /* 429/503 answers */
	int64_t paused_ms;		    /* time every worker spent paused by Retry-After */
	double rate_now;		    /* the adaptive send rate at the end (0: unlimited) */
	int64_t quota_wait_ms;		    /* time requests were held for the service's quota */
	bool quota_seen;		    /* the service reported its quota */
	double quota_refill[QUOTA_BUCKETS]; /* measured per second; < 0: not measured */
	int64_t quota_throttled[QUOTA_BUCKETS]; /* 429s of each bucket */
};

struct engine;

/* Raises the descriptor limit to the hard one; returns the concurrency that
 * fits it (concurrency itself, or less), keeping descriptors for the
 * report, journal, inputs and each worker thread. */
int engine_fit_descriptors(int concurrency, int threads, int inputs);
/* The soft descriptor limit (ulimit -n), or -1 when unlimited. */
long engine_descriptor_limit(void);

/* Worker threads for a run that does not say: see engine.c. */
int engine_default_threads(int cpus, int concurrency);

/* Caller owns the result; NULL with err set on failure. Queues are
 * borrowed until engine_free(): items come from `in`, go to `out`. */
struct engine *engine_new(const struct engine_job *job, struct queue *in, struct queue *out,
			  char *err, size_t errlen);
/* Starts the worker threads. Returns 0 or ERR_NOMEM. */
int engine_start(struct engine *e);
/* True once every worker has exited. Thread-safe. */
bool engine_done(struct engine *e);
/* Waits for every worker to exit. */
void engine_join(struct engine *e);
/* Asks the workers to take no more items: waiting ones are finished as
 * not_attempted (or accepted, when only their poll was waiting), in-flight
 * ones complete. The first reason sticks. Thread-safe and async-signal-safe. */
void engine_stop(struct engine *e, enum stop_reason r);
enum stop_reason engine_stop_reason(struct engine *e);
/* After engine_stop(): also abandon the requests in flight now (a second
 * Ctrl-C). Their rows end not_attempted (accepted when only the poll was
 * in flight). Thread-safe. */
void engine_cancel(struct engine *e);
/* Sums the workers' counters; call after engine_join(). */
void engine_stats(struct engine *e, struct engine_stats *out);
/* engine_free(NULL) is a no-op. Call after engine_join(). */
void engine_free(struct engine *e);

#endif
