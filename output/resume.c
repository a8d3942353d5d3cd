/* resume.c — reads an earlier report into a table of pair states.
 *
 * The table keys are pairkey_hash(collection, UPN) mixed with the operation:
 * 16-byte slots (key, state, offset of the tracking id), open addressing,
 * grown at half full. Tracking ids (only for accepted rows) live whole, up
 * to SERVICE_OP_ID_MAX bytes, in one growing arena of NUL-terminated
 * strings (a GUID costs 37 bytes); an accepted row whose id is missing or
 * unusable (service_op_id_problem) has nothing to poll and is sent again.
 *
 * The journal a crashed run left (REPORT.journal.ndjson) is read first, so
 * the report's final rows win over its accepted ones. Both are read by
 * reportin.c, which skips a torn last line. */
#include "output/resume.h"
#include "lib/array.h"
#include "lib/err.h"
#include "lib/pairkey.h"
#include "output/reportin.h"
#include "output/writer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct slot {
	uint64_t key;	/* 0 = empty */
	uint32_t track; /* offset in tracks */
	uint8_t state;
};

struct resume {
	struct slot *slots;
	size_t cap, len;
	char *tracks; /* the arena; at most UINT32_MAX bytes */
	size_t tracks_len, tracks_cap;
};

uint64_t resume_key(const char *collection, const char *upn, enum service_op op)
{
	uint64_t k = pairkey_hash(collection, upn) ^ ((uint64_t)(op + 1) * 0x9E3779B97F4A7C15ULL);
	return k ? k : 1;
}

static struct slot *find(const struct resume *r, uint64_t key)
{
	for (size_t i = key & (r->cap - 1);; i = (i + 1) & (r->cap - 1))
		if (r->slots[i].key == key || !r->slots[i].key)
			return &r->slots[i];
}

static int grow(struct resume *r)
{
	struct resume bigger = *r;
	bigger.cap = r->cap ? r->cap * 2 : 1024;
	if (!(bigger.slots = calloc(bigger.cap, sizeof(struct slot))))
		return ERR_NOMEM;
	for (size_t i = 0; i < r->cap; i++)
		if (r->slots[i].key)
			*find(&bigger, r->slots[i].key) = r->slots[i];
	free(r->slots);
	r->slots = bigger.slots, r->cap = bigger.cap;
	return 0;
}

static enum resume_state state_of(enum item_status st)
{
	switch (st) {
	case STATUS_SUCCEEDED:
	case STATUS_SUBMITTED:
	case STATUS_NO_SESSION:
	case STATUS_SKIPPED:
		return RESUME_OK;
	case STATUS_ACCEPTED:
		return RESUME_ACCEPTED;
	case STATUS_FAILED:
	case STATUS_NOT_ATTEMPTED:
		return RESUME_AGAIN;
	default:
		return RESUME_NEW; /* invalid, duplicate, planned: nothing to say */
	}
}

static int add(void *arg, const struct item *it)
{
	struct resume *r = arg;
	enum resume_state st = state_of(it->status);
	if (st == RESUME_NEW)
		return 0;
	if (st == RESUME_ACCEPTED && service_op_id_problem(it->tracking_id))
		st = RESUME_AGAIN; /* cannot poll without an id */
	if ((r->len + 1) * 2 > r->cap && grow(r) < 0)
		return ERR_NOMEM;
	uint64_t key = resume_key(it->collection, it->upn, it->op);
	struct slot *s = find(r, key);
	if (!s->key)
		r->len++;
	s->key = key, s->state = (uint8_t)st;
	if (st == RESUME_ACCEPTED) {
		size_t len = strlen(it->tracking_id) + 1, need = r->tracks_len + len;
		if (need > UINT32_MAX ||
		    array_grow((void **)&r->tracks, &r->tracks_cap, need, 1, 16384) < 0)
			return ERR_NOMEM;
		memcpy(r->tracks + r->tracks_len, it->tracking_id, len);
		s->track = (uint32_t)r->tracks_len;
		r->tracks_len = need;
	}
	return 0;
}

struct resume *resume_load(const char *path, char *err, size_t errlen)
{
	struct resume *r = calloc(1, sizeof(*r));
	char jpath[4096];
	int rc = ERR_NOMEM;
	writer_journal_path(path, jpath, sizeof(jpath));
	if (r && grow(r) == 0) {
		/* the journal first, so that the report's final rows win */
		rc = access(jpath, F_OK) == 0 ? reportin_read(jpath, add, r, err, errlen) : 0;
		if (rc == 0)
			rc = reportin_read(path, add, r, err, errlen);
	}
	if (rc < 0) {
		if (rc == ERR_NOMEM)
			snprintf(err, errlen, "out of memory reading '%s'", path);
		resume_free(r);
		return NULL;
	}
	return r;
}

enum resume_state resume_lookup(const struct resume *r, const char *collection, const char *upn,
				enum service_op op, const char **tracking_id)
{
	const struct slot *s = find(r, resume_key(collection, upn, op));
	if (!s->key)
		return RESUME_NEW;
	if (s->state == RESUME_ACCEPTED)
		*tracking_id = r->tracks + s->track;
	return (enum resume_state)s->state;
}

size_t resume_size(const struct resume *r)
{
	return r->len;
}

void resume_free(struct resume *r)
{
	if (!r)
		return;
	free(r->slots);
	free(r->tracks);
	free(r);
}
