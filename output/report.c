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

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROW_MAX (16 * 1024)

struct report {
	FILE *f;
	bool is_stdout;
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
	if (fputs(REPORT_HEADER "\n", r->f) < 0 || fflush(r->f) != 0) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		report_close(r);
		return NULL;
	}
	return r;
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
		int rc = report_csv_cell(dst, cap, &n, cells[i].s, cells[i].guard, i == ncells - 1);
		if (rc < 0)
			return rc;
	}
	dst[n] = '\0';
	return (int)n;
}

int report_write(struct report *r, const struct item *it)
{
	int n = report_format_csv(r->row, sizeof(r->row), it);
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
	int rc = sync_file(r);
	if (!r->is_stdout && fclose(r->f) != 0)
		rc = ERR_IO;
	free(r);
	return rc;
}
