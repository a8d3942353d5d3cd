/* input.c — reads an input file line by line, sniffs its format, and hands
 * each physical line to the format's reader.
 *
 * Every format rabulk reads is line-oriented (CSV records may span lines;
 * the CSV reader keeps that state), so one bounded line reader serves all:
 * a line longer than INPUT_LINE_MAX becomes an invalid row and the reader
 * skips to the next newline, so memory never depends on the input.
 *
 * Sniffing looks at the first non-blank line: '{' is NDJSON, '[' a JSON
 * array, a line naming a user column is a CSV header, anything else is a
 * plain list of UPNs. --format overrides. */
#include "input/input.h"
#include "input/internal.h"
#include "input/validate.h"
#include "engine/err.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const input_collection_keys[] = {"CollectionName", "Collection", "Name", NULL};
const char *const input_upn_keys[] = {"UserUpn", "Upn", "UserPrincipalName", "User", NULL};
const char *const input_state_keys[] = {"State", NULL};

bool input_key_is(const char *name, size_t len, const char *const *keys)
{
	for (; *keys; keys++)
		if (strlen(*keys) == len && strncasecmp(name, *keys, len) == 0)
			return true;
	return false;
}

int input_format_parse(const char *name, enum input_format *f)
{
	static const char *const names[] = {"auto", "csv", "json", "ndjson", "lines"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i]) == 0) {
			*f = (enum input_format)i;
			return 0;
		}
	}
	return ERR_INVAL;
}

int input_emit(input_row_fn fn, void *arg, long line, const char *coll, size_t coll_len,
	       const char *upn, size_t upn_len, const char *state, const char *reason)
{
	struct row r = {line, coll ? coll : "", upn ? upn : "", state, reason};
	if (!r.reason)
		r.reason = coll_len == 0 ? "no collection (add a CollectionName column or use "
					   "--collection)"
					 : validate_collection(coll, coll_len);
	if (!r.reason)
		r.reason = validate_upn(upn, upn_len);
	return fn(arg, &r);
}

/* Does this header line name a user column, split on any of , ; tab? */
static bool looks_like_header(const char *line, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || line[i] == ',' || line[i] == ';' || line[i] == '\t' ||
		    line[i] == '\r' || line[i] == '\n') {
			size_t a = start, b = i;
			while (a < b && (isspace((unsigned char)line[a]) || line[a] == '"'))
				a++;
			while (b > a && (isspace((unsigned char)line[b - 1]) || line[b - 1] == '"'))
				b--;
			if (input_key_is(line + a, b - a, input_upn_keys))
				return true;
			start = i + 1;
		}
	}
	return false;
}

static enum input_format sniff(const char *line, size_t len)
{
	size_t i = 0;
	while (i < len && isspace((unsigned char)line[i]))
		i++;
	if (i < len && line[i] == '{')
		return INPUT_NDJSON;
	if (i < len && line[i] == '[')
		return INPUT_JSON;
	return looks_like_header(line, len) ? INPUT_CSV : INPUT_LINES;
}

/* One UPN per line; '#' starts a comment line; blank lines are skipped. */
static int lines_line(char *line, size_t len, long lineno, const struct input_opts *o,
		      input_row_fn fn, void *arg)
{
	size_t a = 0, b = len;
	while (a < b && isspace((unsigned char)line[a]))
		a++;
	while (b > a && isspace((unsigned char)line[b - 1]))
		b--;
	if (a == b || line[a] == '#')
		return 0;
	line[b] = '\0';
	const char *coll = o->collection ? o->collection : "";
	return input_emit(fn, arg, lineno, coll, strlen(coll), line + a, b - a, NULL, NULL);
}

struct reader {
	FILE *f;
	char *buf; /* INPUT_LINE_MAX + 2 bytes */
	long lineno;
	bool too_long;
};

/* Reads the next physical line (with its '\n'); returns its length, 0 at
 * end of file, ERR_IO on a read error. A line over the cap sets too_long and
 * returns what fits after skipping the rest. Bytes after a NUL are kept. */
static long reader_next(struct reader *r)
{
	size_t n = 0;
	int c;
	r->too_long = false;
	while ((c = getc_unlocked(r->f)) != EOF) {
		if (n < INPUT_LINE_MAX)
			r->buf[n++] = (char)c;
		else
			r->too_long = true;
		if (c == '\n')
			break;
	}
	if (ferror(r->f))
		return ERR_IO;
	if (n == 0 && c == EOF)
		return 0;
	r->buf[n] = '\0';
	r->lineno++;
	return (long)n;
}

static int read_lines(struct reader *r, const char *name, const struct input_opts *in,
		      input_row_fn fn, void *arg, char *msg, size_t msglen)
{
	struct input_opts o = *in;
	struct csvin *csv = NULL;
	long len;
	int rc = 0;

	while (rc == 0 && (len = reader_next(r)) > 0) {
		char *line = r->buf;
		if (r->lineno == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0)
			line += 3, len -= 3;
		if (o.format == INPUT_AUTO) {
			bool blank = true;
			for (long i = 0; i < len && blank; i++)
				blank = isspace((unsigned char)line[i]);
			if (blank)
				continue;
			o.format = sniff(line, (size_t)len);
		}
		if (r->too_long) {
			rc = input_emit(fn, arg, r->lineno, NULL, 0, NULL, 0, NULL,
					"line longer than 64 KiB");
			continue;
		}
		switch (o.format) {
		case INPUT_CSV:
			if (!csv && !(csv = csvin_new(name, &o, fn, arg)))
				return ERR_NOMEM;
			rc = csvin_line(csv, line, (size_t)len, r->lineno, msg, msglen);
			break;
		case INPUT_NDJSON:
			rc = jsonin_line(line, (size_t)len, r->lineno, &o, fn, arg);
			break;
		case INPUT_LINES:
			if (!o.collection) {
				snprintf(msg, msglen,
					 "'%s': line %ld: a plain list of UPNs needs --collection",
					 name, r->lineno);
				return ERR_INVAL;
			}
			rc = lines_line(line, (size_t)len, r->lineno, &o, fn, arg);
			break;
		default:
			snprintf(msg, msglen,
				 "'%s': line %ld: JSON arrays are not supported yet: use NDJSON "
				 "(one object per line)",
				 name, r->lineno);
			return ERR_INVAL;
		}
	}
	if (rc == 0 && len < 0) {
		snprintf(msg, msglen, "cannot read '%s': %s", name, strerror(errno));
		rc = ERR_IO;
	}
	if (csv) {
		if (rc == 0)
			rc = csvin_finish(csv, msg, msglen);
		csvin_free(csv);
	}
	return rc;
}

int input_read(FILE *f, const char *name, const struct input_opts *o, input_row_fn fn, void *arg,
	       char *msg, size_t msglen)
{
	struct reader r = {f, malloc(INPUT_LINE_MAX + 2), 0, false};
	if (!r.buf)
		return ERR_NOMEM;
	int rc = read_lines(&r, name, o, fn, arg, msg, msglen);
	free(r.buf);
	return rc;
}
