/* resume.h — what an earlier report says about each (collection, UPN,
 * operation), for --resume.
 *
 * The last row for a pair wins (an `accepted` journal row is superseded by
 * the final one). invalid, duplicate and planned rows say nothing about
 * the pair and are ignored, as is a torn last line. Not thread-safe: loaded
 * before the run, then only read by the reader thread. */
#ifndef RABULK_RESUME_H
#define RABULK_RESUME_H

#include "service/remoteapp.h"
#include <stddef.h>
#include <stdint.h>

enum resume_state {
	RESUME_NEW,	 /* not in the report: send it */
	RESUME_OK,	 /* succeeded, submitted, no_session or skipped: skip it */
	RESUME_ACCEPTED, /* 202 received, result unknown: poll its tracking id */
	RESUME_AGAIN,	 /* failed or not_attempted: send it again */
};

struct resume;

/* Reads a report (CSV, JSON or NDJSON by extension), and the journal a
 * crashed run left beside it (REPORT.journal.ndjson). Caller owns the
 * result; NULL with err set when it cannot be read. */
struct resume *resume_load(const char *path, char *err, size_t errlen);
/* The pair's state; for RESUME_ACCEPTED, *tracking_id is set (borrowed
 * until resume_free). Matching ignores case, as de-duplication does. */
enum resume_state resume_lookup(const struct resume *r, const char *collection, const char *upn,
				enum service_op op, const char **tracking_id);
/* The 64-bit key of (collection, UPN, operation): pairkey_hash() of the pair
 * mixed with the operation, never 0. Also keys `rabulk report merge`. */
uint64_t resume_key(const char *collection, const char *upn, enum service_op op);
/* Pairs known. */
size_t resume_size(const struct resume *r);
void resume_free(struct resume *r);

#endif
