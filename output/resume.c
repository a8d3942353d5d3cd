/* resume.c — reads an earlier report into a table of pair states.
 *
 * The table keys are dedup_hash(collection, UPN) mixed with the operation:
 * 16-byte slots (key, state, index of the tracking id), open addressing,
 * grown at half full. Tracking ids (only for accepted rows) live in one
 * growing arena of fixed 40-byte strings.
 *
 * The journal a crashed run left (REPORT.journal.ndjson) is read first, so
 * the report's final rows win over its accepted ones.
 *
 * CSV reports are read with rabulk's own CSV input reader, keeping the
 * other columns; JSON and NDJSON reports are one object per line (see
 * report.c), so a torn last line simply fails to parse. */
#include "output/resume.h"
#include "engine/err.h"
#include "input/dedup.h"
#include "input/input.h"
#include "output/report.h"
#include "output/writer.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TRACK_LEN 40

struct slot {
	uint64_t key; /* 0 = empty */
	uint32_t track;
	uint8_t state;
};

struct resume {
	struct slot *slots;
	size_t cap, len;
	char (*tracks)[TRACK_LEN];
	size_t ntracks, tracks_cap;
	/* while loading a CSV report: where its columns are among the extras */
	int op_col, status_col, track_col;
};

static uint64_t key_of(const char *collection, const char *upn, enum api_op op)
{
	uint64_t k = dedup_hash(collection, upn) ^ ((uint64_t)(op + 1) * 0x9E3779B97F4A7C15ULL);
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

static enum resume_state state_of(const char *status)
{
	static const struct {
		const char *status;
		enum resume_state state;
	} map[] = {{"succeeded", RESUME_OK},	   {"submitted", RESUME_OK},
		   {"no_session", RESUME_OK},	   {"skipped", RESUME_OK},
		   {"accepted", RESUME_ACCEPTED}, {"failed", RESUME_AGAIN},
		   {"not_attempted", RESUME_AGAIN}};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(status, map[i].status) == 0)
			return map[i].state;
	return RESUME_NEW; /* invalid, duplicate, planned: nothing to say */
}

static int add(struct resume *r, const char *coll, const char *upn, const char *op_name,
	       const char *status, const char *tracking)
{
	enum api_op op;
	enum resume_state st = state_of(status);
	if (st == RESUME_NEW || api_op_parse(op_name, &op) < 0)
		return 0;
	if (st == RESUME_ACCEPTED && !tracking[0])
		st = RESUME_AGAIN; /* cannot poll without an id */
	if ((r->len + 1) * 2 > r->cap && grow(r) < 0)
		return ERR_NOMEM;
	uint64_t key = key_of(coll, upn, op);
	struct slot *s = find(r, key);
	if (!s->key)
		r->len++;
	s->key = key, s->state = (uint8_t)st;
	if (st == RESUME_ACCEPTED) {
		if (r->ntracks == r->tracks_cap) {
			size_t cap = r->tracks_cap ? r->tracks_cap * 2 : 256;
			void *p = realloc(r->tracks, cap * TRACK_LEN);
			if (!p)
				return ERR_NOMEM;
			r->tracks = p, r->tracks_cap = cap;
		}
		snprintf(r->tracks[r->ntracks], TRACK_LEN, "%s", tracking);
		s->track = (uint32_t)r->ntracks++;
	}
	return 0;
}

/* The i-th INPUT_EXTRA_SEP-separated cell of list into dst. */
static void cell_at(const char *list, int i, char *dst, size_t cap)
{
	for (; i > 0 && list; i--)
		if ((list = strchr(list, INPUT_EXTRA_SEP)))
			list++;
	size_t n = list ? strcspn(list, "\x1f") : 0;
	snprintf(dst, cap, "%.*s", (int)n, list ? list : "");
}

static int index_of(const char *header, const char *name)
{
	char cell[64];
	for (int i = 0; i < 64; i++) {
		cell_at(header, i, cell, sizeof(cell));
		if (strcmp(cell, name) == 0)
			return i;
	}
	return -1;
}

static int csv_row(void *arg, const struct row *row)
{
	struct resume *r = arg;
	char op[32], status[32], track[TRACK_LEN];
	if (row->reason || !row->extra)
		return 0; /* a torn line, or an invalid input row */
	if (r->op_col < 0) {
		r->op_col = index_of(row->extra_header, "operation");
		r->status_col = index_of(row->extra_header, "status");
		r->track_col = index_of(row->extra_header, "tracking_id");
		if (r->op_col < 0 || r->status_col < 0 || r->track_col < 0)
			return ERR_PARSE;
	}
	cell_at(row->extra, r->op_col, op, sizeof(op));
	cell_at(row->extra, r->status_col, status, sizeof(status));
	cell_at(row->extra, r->track_col, track, sizeof(track));
	return add(r, row->collection, row->upn, op, status, track);
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

/* JSON and NDJSON reports: one object per line, after "[" or ",". */
static int load_lines(struct resume *r, FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (rc == 0 && (n = getline(&line, &cap, f)) > 0) {
		char *p = line;
		while (*p == ' ' || *p == '[' || *p == ',')
			p++;
		cJSON *o = *p == '{' ? cJSON_Parse(p) : NULL;
		if (cJSON_IsObject(o))
			rc = add(r, str(o, "collection"), str(o, "upn"), str(o, "operation"),
				 str(o, "status"), str(o, "tracking_id"));
		cJSON_Delete(o);
	}
	free(line);
	return rc;
}

/* The journal a crashed run left beside its report: its accepted rows,
 * superseded by any final row the report has for the same pair. */
static int load_journal(struct resume *r, const char *path)
{
	char jpath[4096];
	writer_journal_path(path, jpath, sizeof(jpath));
	FILE *f = fopen(jpath, "r");
	if (!f)
		return 0;
	int rc = load_lines(r, f);
	fclose(f);
	return rc;
}

struct resume *resume_load(const char *path, char *err, size_t errlen)
{
	struct resume *r = calloc(1, sizeof(*r));
	FILE *f = fopen(path, "r");
	int rc = ERR_NOMEM;
	if (!f) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		free(r);
		return NULL;
	}
	if (r && grow(r) == 0 && (rc = load_journal(r, path)) == 0) {
		r->op_col = -1;
		if (report_format_of(path) == REPORT_CSV) {
			struct input_opts o = {.format = INPUT_CSV, .keep_columns = true};
			rc = input_read(f, path, &o, csv_row, r, err, errlen);
		} else {
			rc = load_lines(r, f);
		}
	}
	fclose(f);
	if (rc < 0) {
		if (rc == ERR_PARSE && !strstr(err, path))
			snprintf(err, errlen, "'%s' is not a rabulk report (no operation, status or "
					      "tracking_id column)",
				 path);
		else if (rc == ERR_NOMEM)
			snprintf(err, errlen, "out of memory reading '%s'", path);
		resume_free(r);
		return NULL;
	}
	return r;
}

enum resume_state resume_lookup(const struct resume *r, const char *collection, const char *upn,
				enum api_op op, const char **tracking_id)
{
	const struct slot *s = find(r, key_of(collection, upn, op));
	if (!s->key)
		return RESUME_NEW;
	if (s->state == RESUME_ACCEPTED)
		*tracking_id = r->tracks[s->track];
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
