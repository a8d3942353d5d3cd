/* report.c — report rows, written as they complete: CSV, JSON or NDJSON by
 * the file's extension.
 *
 * Every format writes one row per line, each line ending in '\n' the
 * moment it is written, so after a crash at most the last line is torn, and
 * a line without its '\n' is exactly that torn tail. JSON keeps the rule:
 *
 *   [
 *   {"line":2,...}
 *   ,{"line":3,...}
 *   ]
 *
 * is a valid array after a clean stop and a readable sequence of lines after
 * an unclean one. Appending (--resume into the same file) first cuts a torn
 * tail and, for JSON, the closing bracket.
 *
 * Cells are quoted RFC 4180 style when they hold a comma, quote, CR, LF or
 * edge white space. The error_code and error_message cells come from the
 * server and may start with = + - @ (or tab/CR), which spreadsheets run as
 * formulas: those get a leading apostrophe (OWASP "CSV injection"). The
 * identity cells (collection, upn) are never altered, so a later --resume
 * can match them byte for byte.
 *
 * No control character (C0, DEL) reaches a cell raw: an ESC from a server's
 * message, a request id or an invalid input row would run as an escape
 * sequence in the terminal that shows the report, and a CR or LF would
 * break the one-row-per-line rule that crash recovery relies on. CSV cells
 * write them as JSON does (\n, \t, \u001b, \u007f; not reversible, but
 * only server text and invalid rows can hold them: validation refuses them
 * in identity cells, and service_op_id_problem() in tracking ids). cJSON
 * escapes C0 itself; DEL, which it leaves, is escaped after it. */
#include "output/report.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "input/input.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ROW_MAX (64 * 1024) /* every cell at its cap, every byte escaped to 6 */

struct report {
	FILE *f;
	enum report_format format;
	bool is_stdout, header_done, any_row;
	bool sessions; /* the "sessions" column */
	char *extra_names;
	int64_t last_sync;
	char row[ROW_MAX];
};

enum report_format report_format_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (dot && strcasecmp(dot, ".json") == 0)
		return REPORT_JSON;
	if (dot && strcasecmp(dot, ".ndjson") == 0)
		return REPORT_NDJSON;
	return REPORT_CSV;
}

/* fsyncs the folder holding path, so a new file's name survives a crash. */
static void sync_dir(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	int fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Where the line holding buf[i] starts (buf[0..] is the file from `from`). */
static off_t line_start(const char *buf, ssize_t i, off_t from)
{
	while (i >= 0 && buf[i] != '\n')
		i--;
	return from + i + 1;
}

/* For appending: cuts a torn last line (one without its '\n') and, for
 * JSON, the closing "]" line; notes whether a header and rows are there.
 * Rows are far shorter than the 64 KiB looked at. Returns 0 or ERR_IO. */
static int trim_tail(struct report *r, int fd)
{
	char buf[65536];
	off_t end = lseek(fd, 0, SEEK_END), keep = end;
	if (end < 0)
		return ERR_IO;
	if (end > 0) {
		off_t from = end > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) : 0;
		ssize_t n = pread(fd, buf, (size_t)(end - from), from);
		if (n <= 0)
			return ERR_IO;
		if (buf[n - 1] != '\n')
			keep = line_start(buf, n - 1, from);
		if (r->format == REPORT_JSON && keep > from + 1) {
			off_t last = line_start(buf, keep - from - 2, from);
			if (buf[last - from] == ']')
				keep = last;
		}
		if (keep != end && ftruncate(fd, keep) != 0)
			return ERR_IO;
	}
	r->header_done = keep > 0;
	r->any_row = keep > 2; /* JSON: more than "[\n" */
	return lseek(fd, 0, SEEK_END) < 0 ? ERR_IO : 0;
}

struct report *report_open(const char *path, bool append, char *err, size_t errlen)
{
	struct report *r = calloc(1, sizeof(*r));
	int fd = -1;
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->format = report_format_of(path);
	if (strcmp(path, "-") == 0) {
		r->f = stdout, r->is_stdout = true, r->format = REPORT_CSV;
		return r;
	}
	/* Never through a symbolic link (someone else's file could be
	 * overwritten), and always private, also when the file was there. */
	struct stat st;
	int flags = O_CREAT | O_CLOEXEC | O_NOFOLLOW | (append ? O_RDWR : O_WRONLY | O_TRUNC);
	if ((fd = open(path, flags, 0600)) < 0 || fstat(fd, &st) < 0 ||
	    (S_ISREG(st.st_mode) && (st.st_mode & 0777) != 0600 && fchmod(fd, 0600) < 0) ||
	    (append && trim_tail(r, fd) < 0) || !(r->f = fdopen(fd, append ? "a" : "w"))) {
		if (errno == ELOOP)
			snprintf(err, errlen,
				 "'%s' is a symbolic link: rabulk does not write a "
				 "report through one",
				 path);
		else
			snprintf(err, errlen, "cannot %s '%s': %s", append ? "append to" : "create",
				 path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(r);
		return NULL;
	}
	if (!append || !r->header_done)
		sync_dir(path);
	return r;
}

void report_row_buffered(struct report *r)
{
	setvbuf(r->f, NULL, _IOLBF, 0);
}

void report_with_sessions(struct report *r)
{
	r->sessions = true;
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
		list = input_extra_next(list, cell, sizeof(cell));
		int rc = report_csv_cell(dst, cap, n, cell, true, !list);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int write_header(struct report *r)
{
	r->header_done = true;
	if (r->format == REPORT_NDJSON)
		return 0;
	if (r->format == REPORT_JSON)
		return fputs("[\n", r->f) < 0 ? ERR_IO : 0;
	size_t n = strlen(REPORT_HEADER);
	memcpy(r->row, REPORT_HEADER, n);
	if (r->sessions)
		memcpy(r->row + n, ",sessions", 9), n += 9;
	if (r->extra_names) {
		r->row[n++] = ',';
		if (extra_cells(r->row, sizeof(r->row), &n, r->extra_names) < 0)
			return ERR_TOOBIG;
	} else {
		r->row[n++] = '\n';
	}
	return fwrite(r->row, 1, n, r->f) == n ? 0 : ERR_IO;
}

/* One row as a JSON object on one line, the CSV column names as keys. */
static char *json_row(const struct item *it, const char *extra_names, bool sessions)
{
	char started[32], finished[32];
	cJSON *o = cJSON_CreateObject();
	clock_iso8601(started, sizeof(started), it->started_ms);
	clock_iso8601(finished, sizeof(finished), it->finished_ms);
	cJSON_AddNumberToObject(o, "line", (double)it->line);
	cJSON_AddStringToObject(o, "collection", it->collection);
	cJSON_AddStringToObject(o, "upn", it->upn);
	cJSON_AddStringToObject(o, "operation", service_op_name(it->op));
	cJSON_AddStringToObject(o, "status", item_status_name(it->status));
	if (it->http_status)
		cJSON_AddNumberToObject(o, "http_status", it->http_status);
	else
		cJSON_AddNullToObject(o, "http_status");
	cJSON_AddStringToObject(o, "error_code", it->error_code);
	cJSON_AddStringToObject(o, "error_message", it->error_message);
	cJSON_AddNumberToObject(o, "attempts", it->attempts);
	cJSON_AddStringToObject(o, "tracking_id", it->tracking_id);
	cJSON_AddStringToObject(o, "request_id", it->request_id);
	cJSON_AddStringToObject(o, "started_at", started);
	cJSON_AddStringToObject(o, "finished_at", finished);
	if (it->started_ms && it->finished_ms)
		cJSON_AddNumberToObject(o, "latency_ms",
					(double)(it->finished_ms - it->started_ms));
	else
		cJSON_AddNullToObject(o, "latency_ms");
	if (sessions)
		cJSON_AddStringToObject(o, "sessions", it->sessions ? it->sessions : "");
	for (const char *n = extra_names, *v = it->extra; n && v;) {
		char key[256], val[INPUT_EXTRA_MAX + 1];
		n = input_extra_next(n, key, sizeof(key));
		v = input_extra_next(v, val, sizeof(val));
		cJSON_AddStringToObject(o, key, val);
	}
	char *text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

int report_csv_write(FILE *f, const char *const *cells, int ncells, bool guard)
{
	char row[8192];
	size_t n = 0;
	for (int i = 0; i < ncells; i++)
		if (report_csv_cell(row, sizeof(row), &n, cells[i], guard, i == ncells - 1) < 0)
			return ERR_TOOBIG;
	fwrite(row, 1, n, f);
	return 0;
}

static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7F;
}

/* How JSON writes a control character c: \b \t \n \f \r, else \u00XX.
 * Into esc (7 bytes); returns the length. */
static size_t control_escape(unsigned char c, char *esc)
{
	static const char named[][3] = {
	    ['\b'] = "\\b", ['\t'] = "\\t", ['\n'] = "\\n", ['\f'] = "\\f", ['\r'] = "\\r"};
	if (c < sizeof(named) / sizeof(named[0]) && named[c][0]) {
		memcpy(esc, named[c], 2);
		return 2;
	}
	return (size_t)snprintf(esc, 7, "\\u%04x", c);
}

/* What a byte asks of a CSV cell: nothing for most. */
enum { CELL_QUOTE = 1, CELL_COMMA = 2, CELL_CONTROL = 4, CELL_CRLF = 8 };
#define CC CELL_CONTROL
#define CL (CELL_CONTROL | CELL_CRLF)
/* clang-format off */
static const unsigned char cell_class[256] = {
    CC, CC, CC, CC, CC, CC, CC, CC, CC, CC, CL, CC, CC, CL, CC, CC, /* \n is 10, \r 13 */
    CC, CC, CC, CC, CC, CC, CC, CC, CC, CC, CC, CC, CC, CC, CC, CC,
    ['"'] = CELL_QUOTE, [','] = CELL_COMMA, [0x7F] = CC};
/* clang-format on */
#undef CC
#undef CL

int report_csv_cell(char *dst, size_t cap, size_t *n, const char *s, bool guard, bool last)
{
	/* One pass to size the cell; most cells need neither doubling nor escapes. */
	const unsigned char *u = (const unsigned char *)s;
	size_t len = 0, extra = 0;
	unsigned seen = 0;
	char esc[8];
	for (; u[len]; len++)
		seen |= cell_class[u[len]];
	if (seen & (CELL_QUOTE | CELL_CONTROL)) /* rare: count what grows */
		for (const unsigned char *p = u; *p; p++)
			extra += *p == '"' ? 1 : is_control(*p) ? control_escape(*p, esc) - 1 : 0;
	bool quote = len && (seen & (CELL_QUOTE | CELL_COMMA | CELL_CRLF) || s[0] == ' ' ||
			     s[len - 1] == ' ');
	bool formula = guard && len && strchr("=+-@\t\r", s[0]);
	size_t need = 1 + 2 * quote + formula + len + extra;
	if (*n + need + 1 > cap) /* and the NUL report_format_csv() ends with */
		return ERR_TOOBIG;
	if (quote)
		dst[(*n)++] = '"';
	if (formula)
		dst[(*n)++] = '\'';
	if (!extra) {
		memcpy(dst + *n, s, len);
		*n += len;
	} else {
		for (const unsigned char *p = u; *p; p++) {
			if (is_control(*p)) {
				size_t k = control_escape(*p, esc);
				memcpy(dst + *n, esc, k);
				*n += k;
				continue;
			}
			if (*p == '"')
				dst[(*n)++] = '"';
			dst[(*n)++] = (char)*p;
		}
	}
	if (quote)
		dst[(*n)++] = '"';
	dst[(*n)++] = last ? '\n' : ',';
	return 0;
}

int report_format_csv(char *dst, size_t cap, const struct item *it)
{
	return report_format_csv_with(dst, cap, it, false);
}

int report_format_csv_with(char *dst, size_t cap, const struct item *it, bool sessions)
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
		     {service_op_name(it->op), false},
		     {item_status_name(it->status), false},
		     {it->http_status ? http : "", false},
		     {it->error_code, true},
		     {it->error_message, true},
		     {attempts, false},
		     {it->tracking_id, false},
		     {it->request_id, false},
		     {started, false},
		     {finished, false},
		     {latency, false},
		     {it->sessions ? it->sessions : "", false}};
	const size_t ncells = sizeof(cells) / sizeof(cells[0]) - !sessions;
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
	if (r->format != REPORT_CSV) {
		char *text = json_row(it, r->extra_names, r->sessions);
		if (!text)
			return ERR_NOMEM;
		if (r->format == REPORT_JSON && r->any_row)
			fputc(',', r->f);
		/* DEL only occurs inside strings in cJSON's output: \u007f there
		 * is the same text, escaped */
		for (char *p = text, *del; *p; p = del + 1) {
			if (!(del = strchr(p, 0x7F))) {
				fputs(p, r->f);
				break;
			}
			fwrite(p, 1, (size_t)(del - p), r->f);
			fputs("\\u007f", r->f);
		}
		fputc('\n', r->f);
		cJSON_free(text);
		r->any_row = true;
		return ferror(r->f) ? ERR_IO : 0;
	}
	n = report_format_csv_with(r->row, sizeof(r->row), it, r->sessions);
	if (n < 0)
		return n;
	/* a row-buffered stream may fail inside fwrite and still count the bytes */
	return fwrite(r->row, 1, (size_t)n, r->f) == (size_t)n && !ferror(r->f) ? 0 : ERR_IO;
}

static int sync_file(struct report *r)
{
	if (fflush(r->f) != 0 || ferror(r->f))
		return ERR_IO;
	/* EINVAL: a pipe or /dev/null, which have nothing to sync */
	if (!r->is_stdout && fsync(fileno(r->f)) != 0 && errno != EINVAL)
		return ERR_IO;
	return 0;
}

int report_tick(struct report *r, int64_t now)
{
	if (fflush(r->f) != 0 || ferror(r->f))
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
	if (rc == 0 && r->format == REPORT_JSON && fputs("]\n", r->f) < 0)
		rc = ERR_IO;
	if (sync_file(r) < 0)
		rc = ERR_IO;
	if (!r->is_stdout && fclose(r->f) != 0)
		rc = ERR_IO;
	free(r->extra_names);
	free(r);
	return rc;
}
