/* avdstate.h — the emulator's Azure Virtual Desktop world: host pools (in
 * resource groups), their session hosts, and the user sessions on each.
 *
 * Pure: no clock (times are arguments), no lock, no I/O. The emulator keeps
 * one beside the RemoteApp state and guards it with the same lock
 * (state_lock(), state.h); every function here wants that lock held, except
 * avdstate_new(), avdstate_free() and the status names.
 *
 * Names follow ARM: resource group and host pool match without regard to
 * (ASCII) case and keep the spelling they were first added with; a session
 * host's name matches exactly (the service spells it, clients send it back
 * as spelled). A session's id is a small integer per session host, counted
 * from 1, as AVD numbers them.
 *
 * Records are never removed: a logged-off session is marked gone, so its
 * index stays a stable name, its counters survive for /_emulator/state, and
 * a second logoff of it can be told from a first. Indices returned by the
 * add and find functions stay valid for the state's life; pointers returned
 * by the getters are borrowed until the next add. */
#ifndef RABULK_EMU_AVDSTATE_H
#define RABULK_EMU_AVDSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The spec's SessionState values, in the spec's order. */
enum avdstate_status {
	AVDSTATE_UNKNOWN,
	AVDSTATE_ACTIVE,
	AVDSTATE_DISCONNECTED,
	AVDSTATE_PENDING,
	AVDSTATE_LOGOFF,
	AVDSTATE_PROFILE_MOUNTED, /* "UserProfileDiskMounted" */
};

/* What a request asked of a session, for its counters. */
enum avdstate_op { AVDSTATE_OP_DISCONNECT, AVDSTATE_OP_LOGOFF, AVDSTATE_OP_MESSAGE };

struct avdstate_pool {
	char *resource_group, *name; /* as first added; owned by the state */
};

struct avdstate_host {
	uint32_t pool;
	char *name; /* owned by the state */
	bool allow_new_session;
	uint32_t live;	  /* sessions on it that are not gone */
	uint32_t next_id; /* the id its next session gets */
	int64_t created_ms;
};

struct avdstate_session {
	uint32_t host;
	uint32_t id;
	char *upn; /* owned by the state */
	enum avdstate_status status;
	bool gone; /* logged off: no longer listed, 404 to every request */
	int64_t created_ms;
	/* Requests received for this session, by enum avdstate_op, counted
	 * whether or not the session was still there (a logoff of a gone
	 * session counts too: "acted on at most once" is checkable). */
	uint32_t ops[3];
	char last_title[128], last_message[256]; /* the latest message, cut to fit */
};

struct avdstate;

/* An empty state. Caller owns the result; NULL when out of memory. */
struct avdstate *avdstate_new(void);
/* avdstate_free(NULL) is a no-op. */
void avdstate_free(struct avdstate *st);

/* The spec's name of s ("Active", "UserProfileDiskMounted"). Static. */
const char *avdstate_status_name(enum avdstate_status s);
/* Parses a SessionState name, any case; NULL or "" is Active. Returns 0 or
 * ERR_INVAL. */
int avdstate_status_parse(const char *name, enum avdstate_status *s);

/* Adds a host pool (idempotent). Returns its index, or ERR_NOMEM. */
int avdstate_add_pool(struct avdstate *st, const char *resource_group, const char *host_pool);
/* Adds a session host to pool (idempotent; new hosts allow new sessions).
 * Returns its index, or ERR_NOMEM. */
int avdstate_add_host(struct avdstate *st, uint32_t pool, const char *name, int64_t now_ms);
/* Adds a session for upn on session host sh of pool rg/hp (both created as
 * needed), with the host's next id, created at now_ms. A user may hold any
 * number of sessions. Returns the session's index, or ERR_NOMEM. */
int avdstate_add_session(struct avdstate *st, const char *resource_group, const char *host_pool,
			 const char *session_host, const char *upn, enum avdstate_status status,
			 int64_t now_ms);

/* True when some host pool lives in this resource group (any case). */
bool avdstate_has_resource_group(const struct avdstate *st, const char *resource_group);
/* The pool's index, or ERR_NOENT (ERR_NOMEM when out of memory). */
int avdstate_find_pool(const struct avdstate *st, const char *resource_group,
		       const char *host_pool);
/* The index of pool's host spelled exactly name, or ERR_NOENT. */
int avdstate_find_host(const struct avdstate *st, uint32_t pool, const char *name);
/* The index of host's session whose id is the decimal text id (gone ones
 * included), or ERR_NOENT (also for text that is not such a number). */
int avdstate_find_session(const struct avdstate *st, uint32_t host, const char *id);

size_t avdstate_npools(const struct avdstate *st);
size_t avdstate_nhosts(const struct avdstate *st);
size_t avdstate_nsessions(const struct avdstate *st);
const struct avdstate_pool *avdstate_pool(const struct avdstate *st, size_t i);
struct avdstate_host *avdstate_host(struct avdstate *st, size_t i);
struct avdstate_session *avdstate_session(struct avdstate *st, size_t i);

/* One request for session i: counts it, then, unless the session is gone,
 * does it: disconnect makes it Disconnected, logoff makes it gone, a
 * message is kept as its latest (title and body may be NULL). Returns 0,
 * or ERR_NOENT when the session is gone (nothing done but the count). */
int avdstate_act(struct avdstate *st, size_t i, enum avdstate_op op, const char *title,
		 const char *message);
/* Zeroes every session's counters (sessions and states stay). */
void avdstate_reset_ops(struct avdstate *st);

/* A page of a list, by cursor: the indices of up to max sessions that are
 * not gone, of pool (and of host when host >= 0), from index *cursor on,
 * in the order they were added, into out. *cursor becomes where the next
 * page starts, or 0 when this is the last page. A cursor stays right when
 * sessions are added or logged off between pages (ARM's skip tokens are
 * opaque; this one is an index). Returns how many were written. */
size_t avdstate_page_sessions(const struct avdstate *st, uint32_t pool, long host, size_t *cursor,
			      size_t max, size_t *out);
/* The same for pool's session hosts. */
size_t avdstate_page_hosts(const struct avdstate *st, uint32_t pool, size_t *cursor, size_t max,
			   size_t *out);

#endif
