/* avdseed.c — the AVD world from a CSV file or a generator spec (see
 * avdseed.h).
 *
 * The CSV is read with libcsv (strict), the whole file in 64 KiB reads;
 * each field is copied as it arrives (libcsv's bytes are its own), and a
 * record is applied when it ends. This is a test fixture's reader, not
 * rabulk's input module: it knows only the columns above. */
#include "emulator/avdseed.h"
#include "lib/err.h"

#include <csv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum col { C_POOL, C_HOST, C_UPN, C_STATE, C_RG, NCOLS };

/* Header names, any case, by column. */
static const char *const col_names[NCOLS][3] = {
    {"HostPool", "HostPoolName", NULL},		  {"SessionHost", "SessionHostName", NULL},
    {"UserPrincipalName", "UserUpn", "Upn"},	  {"SessionState", "State", NULL},
    {"ResourceGroup", "ResourceGroupName", NULL},
};

#define CELL_MAX 512

struct reader {
	struct avdstate *st;
	const char *path;
	int64_t now_ms;
	char *err;
	size_t errlen;
	int rc;
	long record; /* 1: the header */
	int field;
	int pos[NCOLS]; /* each column's field number, -1 when absent */
	char cell[NCOLS][CELL_MAX + 1];
	bool too_long;
};

static void on_field(void *data, size_t len, void *arg)
{
	struct reader *r = arg;
	int f = r->field++;
	if (r->rc)
		return;
	if (r->record == 1) {
		for (int c = 0; c < NCOLS; c++)
			for (int k = 0; k < 3 && col_names[c][k]; k++)
				if (r->pos[c] < 0 && strlen(col_names[c][k]) == len &&
				    strncasecmp(data, col_names[c][k], len) == 0)
					r->pos[c] = f;
		return;
	}
	for (int c = 0; c < NCOLS; c++) {
		if (r->pos[c] != f)
			continue;
		if (len > CELL_MAX)
			r->too_long = true;
		else
			memcpy(r->cell[c], data, len), r->cell[c][len] = '\0';
	}
}

static int fail(struct reader *r, int rc, const char *why)
{
	snprintf(r->err, r->errlen, "'%s': line %ld: %s", r->path, r->record, why);
	return rc;
}

/* Applies one record. */
static int apply(struct reader *r)
{
	enum avdstate_status status;
	char rg[CELL_MAX + 1];
	const char *pool = r->cell[C_POOL], *slash = strchr(pool, '/');
	if (r->too_long)
		return fail(r, ERR_INVAL, "a cell is longer than 512 bytes");
	if (!*pool || !*r->cell[C_HOST] || !*r->cell[C_UPN])
		return fail(r, ERR_INVAL, "want a host pool, a session host and a user");
	if (avdstate_status_parse(r->cell[C_STATE], &status) < 0)
		return fail(r, ERR_INVAL, "unknown SessionState (want Active, Disconnected, ...)");
	if (slash) {
		snprintf(rg, sizeof(rg), "%.*s", (int)(slash - pool), pool);
		pool = slash + 1;
	} else {
		snprintf(rg, sizeof(rg), "%s", *r->cell[C_RG] ? r->cell[C_RG] : AVDSEED_DEFAULT_RG);
	}
	if (!*rg || !*pool)
		return fail(r, ERR_INVAL, "an empty resource group or host pool");
	if (avdstate_add_session(r->st, rg, pool, r->cell[C_HOST], r->cell[C_UPN], status,
				 r->now_ms) < 0)
		return fail(r, ERR_NOMEM, "out of memory");
	return 0;
}

static void on_record(int c, void *arg)
{
	struct reader *r = arg;
	if (!r->rc && r->record == 1) {
		for (int k = 0; k < C_STATE && !r->rc; k++)
			if (r->pos[k] < 0)
				r->rc = fail(r, ERR_INVAL,
					     "want columns HostPool,SessionHost,UserPrincipalName"
					     "[,SessionState,ResourceGroup]");
	} else if (!r->rc && r->field > 0) {
		r->rc = apply(r);
	}
	r->record++;
	r->field = 0;
	r->too_long = false;
	memset(r->cell, 0, sizeof(r->cell));
}

int avdseed_file(struct avdstate *st, const char *path, int64_t now_ms, char *err, size_t errlen)
{
	struct csv_parser p;
	char buf[65536];
	size_t n;
	struct reader *r = calloc(1, sizeof(*r));
	FILE *f = fopen(path, "r");
	int rc = 0;
	if (!f) {
		rc = ERR_IO;
		snprintf(err, errlen, "cannot open '%s': %m", path);
		goto out;
	}
	if (!r) {
		rc = ERR_NOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	*r = (struct reader){
	    .st = st, .path = path, .now_ms = now_ms, .err = err, .errlen = errlen, .record = 1};
	for (int c = 0; c < NCOLS; c++)
		r->pos[c] = -1;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		rc = ERR_NOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	while (!r->rc && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (csv_parse(&p, buf, n, on_field, on_record, r) != n && !r->rc)
			r->rc = fail(r, ERR_INVAL, csv_strerror(csv_error(&p)));
	if (!r->rc && csv_fini(&p, on_field, on_record, r) != 0 && !r->rc)
		r->rc = fail(r, ERR_INVAL, csv_strerror(csv_error(&p)));
	if (!r->rc && r->record == 1)
		r->rc = fail(r, ERR_INVAL, "empty: want a header row");
	csv_free(&p);
	rc = r->rc;
out:
	if (f)
		fclose(f);
	free(r);
	return rc;
}

int avdseed_generate(struct avdstate *st, const char *spec, int64_t now_ms, char *err,
		     size_t errlen)
{
	char rg[256], hp[256], host[64], upn[64], *end;
	const char *slash = strchr(spec, '/'), *c1 = slash ? strchr(slash, ':') : NULL;
	long hosts = c1 ? strtol(c1 + 1, &end, 10) : -1, sessions = -1;
	if (c1 && *end == ':')
		sessions = strtol(end + 1, &end, 10);
	if (!slash || slash == spec || c1 == slash + 1 || hosts < 1 || hosts > 100000 ||
	    sessions < 0 || sessions > 10000000 || *end || (size_t)(slash - spec) >= sizeof(rg) ||
	    (size_t)(c1 - slash - 1) >= sizeof(hp)) {
		snprintf(err, errlen,
			 "bad --generate-avd '%s': want RG/HOSTPOOL:HOSTS:SESSIONS, e.g. "
			 "rg1/Pool1:4:200",
			 spec);
		return ERR_INVAL;
	}
	snprintf(rg, sizeof(rg), "%.*s", (int)(slash - spec), spec);
	snprintf(hp, sizeof(hp), "%.*s", (int)(c1 - slash - 1), slash + 1);
	int pool = avdstate_add_pool(st, rg, hp);
	for (long h = 0; h < hosts && pool >= 0; h++) {
		snprintf(host, sizeof(host), "Host-%ld", h);
		if (avdstate_add_host(st, (uint32_t)pool, host, now_ms) < 0)
			pool = ERR_NOMEM;
	}
	long extra = sessions / 10, users = sessions - extra;
	for (long k = 1; k <= sessions && pool >= 0; k++) {
		long user = k <= users ? k : k - users;
		long h = k <= users ? (k - 1) % hosts : user % hosts;
		bool disconnected = k <= users && k % 5 == 0;
		snprintf(host, sizeof(host), "Host-%ld", h);
		snprintf(upn, sizeof(upn), "user%ld@contoso.com", user);
		if (avdstate_add_session(st, rg, hp, host, upn,
					 disconnected ? AVDSTATE_DISCONNECTED : AVDSTATE_ACTIVE,
					 now_ms) < 0)
			pool = ERR_NOMEM;
	}
	if (pool < 0) {
		snprintf(err, errlen, "out of memory");
		return ERR_NOMEM;
	}
	return 0;
}
