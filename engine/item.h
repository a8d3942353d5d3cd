/* item.h — one input row on its way through the engine to the report.
 *
 * The reader makes an item per row, the engine fills in what happened, the
 * report writer writes it and frees it: ownership moves along with the item
 * through the queues, one owner at a time. */
#ifndef RABULK_ITEM_H
#define RABULK_ITEM_H

#include "service/service.h"
#include <stdbool.h>
#include <stdint.h>

/* Adding a status? Add it here; item_status_name() and item_status_class() follow. */
#define STATUS_MAP(X)                                                                              \
	X(SUCCEEDED, "succeeded", CLASS_OK)                                                        \
	X(SUBMITTED, "submitted", CLASS_OK)                                                        \
	X(NO_SESSION, "no_session", CLASS_OK)                                                      \
	X(FAILED, "failed", CLASS_FAILURE)                                                         \
	X(INVALID, "invalid", CLASS_FAILURE)                                                       \
	X(DUPLICATE, "duplicate", CLASS_SKIPPED)                                                   \
	X(SKIPPED, "skipped", CLASS_SKIPPED)                                                       \
	X(NOT_ATTEMPTED, "not_attempted", CLASS_PENDING)                                           \
	X(PLANNED, "planned", CLASS_OK)                                                            \
	X(ACCEPTED, "accepted", CLASS_PENDING)

enum item_status {
#define STATUS_ENUM_(name, text, cls) STATUS_##name,
	STATUS_MAP(STATUS_ENUM_)
#undef STATUS_ENUM_
	    STATUS_COUNT
};

enum item_class { CLASS_OK, CLASS_FAILURE, CLASS_SKIPPED, CLASS_PENDING };

const char *item_status_name(enum item_status s);
enum item_class item_status_class(enum item_status s);

struct item {
	long line;
	enum service_op op;
	enum item_status status;
	int http_status; /* last HTTP status, 0 if none */
	int attempts;	 /* requests that carried the operation (not polls) */
	char tracking_id[SERVICE_OP_ID_MAX + 1]; /* whole or empty, never cut */
	char request_id[48];
	char error_code[64];
	char error_message[256];
	int64_t started_ms, finished_ms; /* wall clock, Unix ms; 0 = never sent */

	/* engine bookkeeping, not reported */
	int phase;	       /* ITEM_SEND or ITEM_POLL */
	int64_t due;	       /* monotonic ms: not before */
	int64_t first_try;     /* monotonic ms of the first request */
	int64_t poll_deadline; /* monotonic ms */
	unsigned auth_gen;     /* the token generation a 401 refused: waits for a newer one */
	int poll_errors;
	int refused;   /* requests a dying connection failed, sent again at once */
	int reauths;   /* 401s answered by sending again with a new token */
	bool reserved; /* holds a rate-limiter slot at `due` */
	bool resumed;  /* came from --resume as accepted: polled, not sent */
	bool journal;  /* an intermediate `accepted` row; the final row follows */
	uint64_t seq;  /* input order, for --ordered */

	char *collection; /* point into text[] */
	char *upn;
	char *extra; /* --keep-columns cells (INPUT_EXTRA_SEP-joined) in text[], or NULL */
	/* A lookup service's row (AVD): the sessions acted on, "host/id;host/id",
	 * for the report (NULL: none); and the engine's record of them. */
	char *sessions;
	struct item_fanout *fan;
	void *pool; /* the session list it waits for, or that a list item fetches */
	char *link; /* a list item's next page */
	char text[];
};

/* One session a row acts on. */
struct item_target {
	char session_host[SERVICE_NAME_MAX + 1];
	char id[SERVICE_NAME_MAX + 1];
};

/* A lookup row's sessions, acted on one after the other; the row's status
 * is the worst of theirs (item_worse()). */
struct item_fanout {
	struct service_address addr;
	int n, cur;	/* targets; the one being acted on */
	int tries;	/* requests for the current one */
	bool matched;	/* the list had sessions of the user (maybe none to act on) */
	int worst_http; /* the worst outcome so far: */
	enum item_status worst;
	char worst_code[64], worst_message[256];
	struct item_target t[];
};

/* True when status a is worse for a row than b: failed, then accepted,
 * not_attempted, no_session, succeeded. */
bool item_worse(enum item_status a, enum item_status b);

enum {
	ITEM_SEND,
	ITEM_POLL,
	ITEM_LIST
}; /* ITEM_LIST: an engine's own list request, never reported */

/* A new item for one row; strings are copied (extra may be NULL). Caller
 * owns the result; NULL when out of memory. */
struct item *item_new(long line, enum service_op op, const char *collection, const char *upn,
		      const char *extra);
void item_free(struct item *it);
/* A copy (for a journal row). Caller owns the result; NULL when out of memory. */
struct item *item_clone(const struct item *it);

/* The rule for a row a stopped run leaves over: not_attempted when nothing
 * of it was sent, accepted when it was sent and only its poll is missing
 * (its tracking id lets --resume poll it). code and message as below. */
void item_left_over(struct item *it, const char *code, const char *message);
/* Sets the final status with code and message (either may be NULL). */
void item_set_error(struct item *it, enum item_status s, const char *code, const char *message);

#endif
