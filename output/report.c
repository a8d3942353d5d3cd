/* report.c — CSV report rows, written as they complete.
 *
 * Cells are quoted RFC 4180 style when they hold a comma, quote, CR, LF or
 * edge white space. The error_code and error_message cells come from the
 * server and may start with = + - @ (or tab/CR), which spreadsheets run as
 * formulas: those get a leading apostrophe (OWASP "CSV injection"). The
 * identity cells (collection, upn) are never altered, so a later --resume
 * can match them byte for byte. */
#include "output/report.h"
#include "engine/clock.h"
#include "engine/err.h"
#include "input/input.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROW_MAX (32 * 1024)

struct report {
	FILE *f;
	bool is_stdout, header_done;
	char *extra_names;
	int64_t last_sync;
	char row[ROW_MAX];
};

struct report *report_open(const char *path, char *err, size_t errlen)
{
	struct report *r = calloc(1, sizeof(*r));
	int fd;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (strcmp(path, "-") == 0) {
		r->f = stdout, r->is_stdout = true;
	} else if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0 ||
		   !(r->f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(r);
		return NULL;
	}
	return r;
}

int report_set_extra_columns(struct report *r, const char *names)
{
	free(r->extra_names);
	return (r->extra_names = strdup(names)) ? 0 : ERR_NOMEM;
}

/* Appends the extra cells (INPUT_EXTRA_SEP-joined) as guarded CSV cells. */
static int extra_cells(char *dst, size_t cap, size_t *n, const char *list)
{
	char cell[INPUT_EXTRA_MAX + 1];
	while (list) {
		const char *sep = strchr(list, INPUT_EXTRA_SEP);
		size_t len = sep ? (size_t)(sep - list) : strlen(list);
		memcpy(cell, list, len);
		cell[len] = '\0';
		int rc = report_csv_cell(dst, cap, n, cell, true, !sep);
		if (rc < 0)
			return rc;
		list = sep ? sep + 1 : NULL;
	}
	return 0;
}

static int write_header(struct report *r)
{
	size_t n = strlen(REPORT_HEADER);
	memcpy(r->row, REPORT_HEADER, n);
	if (r->extra_names) {
		r->row[n++] = ',';
		if (extra_cells(r->row, sizeof(r->row), &n, r->extra_names) < 0)
			return ERR_TOOBIG;
	} else {
		r->row[n++] = '\n';
	}
	r->header_done = true;
	return fwrite(r->row, 1, n, r->f) == n ? 0 : ERR_IO;
}

int report_csv_cell(char *dst, size_t cap, size_t *n, const char *s, bool guard, bool last)
{
	size_t len = strlen(s);
	bool quote = len && (strpbrk(s, ",\"\r\n") || s[0] == ' ' || s[len - 1] == ' ');
	bool formula = guard && len && strchr("=+-@\t\r", s[0]);
	if (*n + 2 * len + 5 > cap)
		return ERR_TOOBIG;
	if (quote)
		dst[(*n)++] = '"';
	if (formula)
		dst[(*n)++] = '\'';
	for (; *s; s++) {
		if (*s == '"')
			dst[(*n)++] = '"';
		dst[(*n)++] = *s;
	}
	if (quote)
		dst[(*n)++] = '"';
	dst[(*n)++] = last ? '\n' : ',';
	return 0;
}

int report_format_csv(char *dst, size_t cap, const struct item *it)
{
	char line[24], http[16], attempts[16], started[32], finished[32], latency[24];
	size_t n = 0;
	snprintf(line, sizeof(line), "%ld", it->line);
	snprintf(http, sizeof(http), "%d", it->http_status);
	snprintf(attempts, sizeof(attempts), "%d", it->attempts);
	clock_iso8601(started, sizeof(started), it->started_ms);
	clock_iso8601(finished, sizeof(finished), it->finished_ms);
	latency[0] = '\0';
	if (it->started_ms && it->finished_ms)
		snprintf(latency, sizeof(latency), "%lld",
			 (long long)(it->finished_ms - it->started_ms));
	const struct {
		const char *s;
		bool guard;
	} cells[] = {{line, false},
		     {it->collection, false},
		     {it->upn, false},
		     {api_op_name(it->op), false},
		     {status_name(it->status), false},
		     {it->http_status ? http : "", false},
		     {it->error_code, true},
		     {it->error_message, true},
		     {attempts, false},
		     {it->tracking_id, false},
		     {it->request_id, false},
		     {started, false},
		     {finished, false},
		     {latency, false}};
	const size_t ncells = sizeof(cells) / sizeof(cells[0]);
	for (size_t i = 0; i < ncells; i++) {
		bool last = i == ncells - 1 && !it->extra;
		int rc = report_csv_cell(dst, cap, &n, cells[i].s, cells[i].guard, last);
		if (rc < 0)
			return rc;
	}
	if (it->extra) {
		int rc = extra_cells(dst, cap, &n, it->extra);
		if (rc < 0)
			return rc;
	}
	dst[n] = '\0';
	return (int)n;
}

int report_write(struct report *r, const struct item *it)
{
	int n;
	if (!r->header_done && (n = write_header(r)) < 0)
		return n;
	n = report_format_csv(r->row, sizeof(r->row), it);
	if (n < 0)
		return n;
	return fwrite(r->row, 1, (size_t)n, r->f) == (size_t)n ? 0 : ERR_IO;
}

static int sync_file(struct report *r)
{
	if (fflush(r->f) != 0)
		return ERR_IO;
	/* EINVAL: a pipe or /dev/null, which have nothing to sync */
	if (!r->is_stdout && fsync(fileno(r->f)) != 0 && errno != EINVAL)
		return ERR_IO;
	return 0;
}

int report_tick(struct report *r, int64_t now)
{
	if (fflush(r->f) != 0)
		return ERR_IO;
	if (now - r->last_sync < 1000)
		return 0;
	r->last_sync = now;
	return sync_file(r);
}

int report_close(struct report *r)
{
	if (!r)
		return 0;
	int rc = r->header_done ? 0 : write_header(r);
	if (sync_file(r) < 0)
		rc = ERR_IO;
	if (!r->is_stdout && fclose(r->f) != 0)
		rc = ERR_IO;
	free(r->extra_names);
	free(r);
	return rc;
}
