/* reportin.c — report rows back into items.
 *
 * CSV reports go through rabulk's own CSV input reader with every other
 * column kept (collection and upn are its identity columns); the header
 * names say which kept cell is which. JSON and NDJSON reports are one
 * object per line (report.c), after a "[" or "," for JSON. */
#include "output/reportin.h"
#include "lib/err.h"
#include "input/input.h"
#include "output/report.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const columns[] = {"line",	    "operation",     "status",	 "http_status",
				      "error_code", "error_message", "attempts", "tracking_id",
				      "request_id", "sessions"};
enum {
	C_LINE,
	C_OP,
	C_STATUS,
	C_HTTP,
	C_CODE,
	C_MSG,
	C_ATTEMPTS,
	C_TRACK,
	C_REQ,
	C_SESSIONS, /* --service avd's */
	C_COUNT
};

struct ctx {
	reportin_fn fn;
	void *arg;
	int col[C_COUNT]; /* CSV: where each column is among the kept cells; -1 unknown */
	bool mapped;
};

static int status_parse(const char *name, enum item_status *st)
{
	for (int i = 0; i < STATUS_COUNT; i++)
		if (strcmp(name, item_status_name((enum item_status)i)) == 0) {
			*st = (enum item_status)i;
			return 0;
		}
	return ERR_INVAL;
}

/* Fills an item from the column texts; returns 0 or ERR_INVAL. */
static int make_item(struct item *it, const char *cells[C_COUNT])
{
	if (service_op_parse(cells[C_OP], &it->op) < 0 ||
	    status_parse(cells[C_STATUS], &it->status) < 0)
		return ERR_INVAL;
	it->line = strtol(cells[C_LINE], NULL, 10);
	it->http_status = (int)strtol(cells[C_HTTP], NULL, 10);
	it->attempts = (int)strtol(cells[C_ATTEMPTS], NULL, 10);
	snprintf(it->error_code, sizeof(it->error_code), "%s", cells[C_CODE]);
	snprintf(it->error_message, sizeof(it->error_message), "%s", cells[C_MSG]);
	/* an id too long to hold whole is no id: cut, it would poll another */
	if (strlen(cells[C_TRACK]) < sizeof(it->tracking_id))
		snprintf(it->tracking_id, sizeof(it->tracking_id), "%s", cells[C_TRACK]);
	snprintf(it->request_id, sizeof(it->request_id), "%s", cells[C_REQ]);
	if (cells[C_SESSIONS][0] && !(it->sessions = strdup(cells[C_SESSIONS])))
		return ERR_NOMEM;
	return 0;
}

static int emit(struct ctx *c, const char *coll, const char *upn, const char *cells[C_COUNT])
{
	struct item *it = item_new(0, SERVICE_DISCONNECT, coll, upn, NULL);
	int rc = 0;
	if (!it)
		return ERR_NOMEM;
	if (make_item(it, cells) == 0)
		rc = c->fn(c->arg, it);
	item_free(it);
	return rc;
}

/* The i-th INPUT_EXTRA_SEP-separated cell of list, into dst. */
static void cell_at(const char *list, int i, char *dst, size_t cap)
{
	dst[0] = '\0';
	for (; i >= 0 && list; i--)
		list = input_extra_next(list, dst, cap);
	if (i >= 0)
		dst[0] = '\0'; /* fewer cells than i + 1 */
}

static void map_columns(struct ctx *c, const char *header)
{
	char name[64];
	for (int k = 0; k < C_COUNT; k++)
		c->col[k] = -1;
	for (int i = 0; i < 256; i++) {
		cell_at(header, i, name, sizeof(name));
		for (int k = 0; k < C_COUNT; k++)
			if (strcmp(name, columns[k]) == 0)
				c->col[k] = i;
	}
	c->mapped = true;
}

static int csv_row(void *arg, const struct input_row *row)
{
	struct ctx *c = arg;
	char buf[C_COUNT][INPUT_EXTRA_MAX + 1];
	const char *cells[C_COUNT];
	if (!row->extra)
		return 0;
	if (!c->mapped) {
		map_columns(c, row->extra_header);
		if (c->col[C_OP] < 0 || c->col[C_STATUS] < 0)
			return ERR_PARSE;
	}
	/* an invalid input row keeps its text; a torn or ragged line is skipped */
	if (row->reason && strncmp(row->reason, "expected ", 9) == 0)
		return 0;
	for (int k = 0; k < C_COUNT; k++) {
		buf[k][0] = '\0';
		if (c->col[k] >= 0)
			cell_at(row->extra, c->col[k], buf[k], sizeof(buf[k]));
		cells[k] = buf[k];
	}
	return emit(c, row->collection, row->upn, cells);
}

static const char *text(const cJSON *o, const char *k, char *num, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (cJSON_IsNumber(v)) {
		snprintf(num, cap, "%.0f", v->valuedouble);
		return num;
	}
	return cJSON_IsString(v) ? v->valuestring : "";
}

static int json_lines(struct ctx *c, FILE *f)
{
	char *line = NULL, num[C_COUNT][32], scratch[32];
	size_t cap = 0;
	int rc = 0;
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		char *p = line;
		while (*p == ' ' || *p == '[' || *p == ',')
			p++;
		cJSON *o = *p == '{' ? cJSON_Parse(p) : NULL;
		if (cJSON_IsObject(o)) {
			const char *cells[C_COUNT];
			for (int k = 0; k < C_COUNT; k++)
				cells[k] = text(o, columns[k], num[k], sizeof(num[k]));
			rc = emit(c, text(o, "collection", scratch, sizeof(scratch)),
				  text(o, "upn", scratch, sizeof(scratch)), cells);
		}
		cJSON_Delete(o);
	}
	free(line);
	return rc;
}

int reportin_read(const char *path, reportin_fn fn, void *arg, char *err, size_t errlen)
{
	struct ctx c = {.fn = fn, .arg = arg};
	FILE *f = fopen(path, "r");
	int rc;
	if (!f) {
		snprintf(err, errlen, "cannot open '%s': %s", path, strerror(errno));
		return ERR_IO;
	}
	if (report_format_of(path) == REPORT_CSV) {
		struct input_opts o = {.format = INPUT_CSV, .keep_columns = true};
		rc = input_read(f, path, &o, csv_row, &c, err, errlen);
	} else {
		rc = json_lines(&c, f);
	}
	fclose(f);
	if (rc == ERR_PARSE && !strstr(err, path))
		snprintf(err, errlen, "'%s' is not a rabulk report (no operation or status column)",
			 path);
	else if (rc == ERR_NOMEM)
		snprintf(err, errlen, "out of memory reading '%s'", path);
	return rc;
}
