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
#include "input/csvin.h"
#include "input/internal.h"
#include "input/jsonin.h"
#include "input/utf16.h"
#include "lib/err.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	if (looks_like_header(line, len))
		return INPUT_CSV;
	/* Cells and no '@': a CSV header, whose missing user column csvin names */
	bool cells = memchr(line, ',', len) || memchr(line, ';', len) || memchr(line, '\t', len);
	return cells && line[i] != '#' && !memchr(line, '@', len) ? INPUT_CSV : INPUT_LINES;
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
	return input_emit(o, fn, arg, lineno, coll, strlen(coll), line + a, b - a, NULL, NULL,
			  NULL);
}

#define READ_CHUNK (64 * 1024)

/* Buffered raw bytes of one file: lines for the line formats, chunks for
 * JSON arrays (whose "line" may be 100 MB long).
 *
 * A file with a descriptor is read with read(2), which hands over what is
 * there, so a row written to a pipe reaches the engine at once instead of
 * when 64 KiB have gathered. Before a read that could block (anything but
 * a regular file) the reader polls the descriptor together with
 * o->wake_fd: when that one is readable and the input is not, the reader
 * gives up with ERR_CLOSED, so a stop never waits on a silent producer.
 * Streams without a descriptor (fmemopen) are read with fread. */
struct reader {
	FILE *f;
	int fd;	     /* fileno(f), or -1 */
	int wake_fd; /* -1: never give up waiting */
	bool poll;   /* a read could block: poll first */
	char *buf;   /* READ_CHUNK bytes, UTF-8 */
	size_t pos, len;
	bool eof;
	char *line; /* INPUT_LINE_MAX + 1 bytes */
	long lineno;
	bool too_long;
	unsigned char delim; /* named by a "sep=" line, or 0 */
	/* UTF-16 input (a BOM said so): raw bytes, transcoded into buf */
	bool utf16;
	struct utf16 u;
	unsigned char *raw; /* READ_CHUNK bytes */
	size_t raw_pos, raw_len;
	bool raw_eof;
};

static void reader_init(struct reader *r, FILE *f, int wake_fd)
{
	struct stat st;
	r->f = f;
	r->fd = fileno(f);
	r->wake_fd = wake_fd;
	r->poll = r->fd >= 0 && wake_fd >= 0 && !(fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode));
}

/* Reads what is available into dst (n bytes); returns the bytes read, 0 at
 * end of file, ERR_IO on a read error, ERR_CLOSED when woken while the
 * input had nothing to give. */
static long read_bytes(struct reader *r, void *dst, size_t n)
{
	if (r->fd < 0) {
		size_t got = fread(dst, 1, n, r->f);
		return got == 0 && ferror(r->f) ? ERR_IO : (long)got;
	}
	for (;;) {
		if (r->poll) {
			struct pollfd p[2] = {{r->fd, POLLIN, 0}, {r->wake_fd, POLLIN, 0}};
			if (poll(p, 2, -1) < 0) {
				if (errno == EINTR)
					continue;
				return ERR_IO;
			}
			if (!p[0].revents && p[1].revents)
				return ERR_CLOSED;
		}
		ssize_t got = read(r->fd, dst, n);
		if (got >= 0)
			return (long)got;
		if (errno != EINTR && errno != EAGAIN)
			return ERR_IO;
	}
}

/* UTF-16: decodes raw bytes into buf[len..cap), reading more raw bytes
 * when none are left; 0 only at the end of the input. */
static long transcode(struct reader *r, size_t cap)
{
	for (;;) {
		size_t used, n = utf16_decode(&r->u, r->raw + r->raw_pos, r->raw_len - r->raw_pos,
					      &used, r->buf + r->len, cap - r->len);
		r->raw_pos += used;
		if (n > 0)
			return (long)n;
		if (r->raw_eof)
			return (long)utf16_finish(&r->u, r->buf + r->len);
		long got = read_bytes(r, r->raw, READ_CHUNK);
		if (got < 0)
			return got;
		r->raw_pos = 0, r->raw_len = (size_t)got;
		r->raw_eof = got == 0;
	}
}

/* Reads what is available into buf[len..cap), as UTF-8. */
static long read_some(struct reader *r, size_t cap)
{
	return r->utf16 ? transcode(r, cap) : read_bytes(r, r->buf + r->len, cap - r->len);
}

/* A UTF-16 BOM at the start: the bytes read so far after it become the
 * first raw bytes to transcode. */
static int start_utf16(struct reader *r, int bom)
{
	if (!(r->raw = malloc(READ_CHUNK)))
		return ERR_NOMEM;
	r->utf16 = true, r->u.big_endian = bom == 'B';
	r->raw_len = r->len - r->pos - 2, r->raw_pos = 0;
	memcpy(r->raw, r->buf + r->pos + 2, r->raw_len);
	r->raw_eof = r->eof;
	r->pos = r->len = 0, r->eof = false;
	return 0;
}

/* Refills the buffer when empty; returns the bytes available, 0 at end of
 * file, or read_some's error. */
static long fill(struct reader *r)
{
	if (r->pos < r->len)
		return (long)(r->len - r->pos);
	if (r->eof)
		return 0;
	r->pos = r->len = 0;
	long n = read_some(r, READ_CHUNK);
	if (n < 0)
		return n;
	r->len = (size_t)n;
	r->eof = n == 0;
	return n;
}

/* Reads on until the buffer holds a whole line from pos (or is full, or
 * the input ended), so that sniffing sees the first line entire. */
static long fill_line(struct reader *r)
{
	while (!r->eof && !memchr(r->buf + r->pos, '\n', r->len - r->pos)) {
		if (r->pos) {
			memmove(r->buf, r->buf + r->pos, r->len - r->pos);
			r->len -= r->pos, r->pos = 0;
		}
		if (READ_CHUNK - r->len < 4) /* full (transcoding needs 4 bytes of room) */
			break;
		long n = read_some(r, READ_CHUNK);
		if (n < 0)
			return n;
		r->len += (size_t)n;
		r->eof = n == 0;
	}
	return (long)(r->len - r->pos);
}

static void keep_bytes(struct reader *r, size_t *n, const char *p, size_t len)
{
	size_t room = INPUT_LINE_MAX - *n, keep = len < room ? len : room;
	memcpy(r->line + *n, p, keep);
	*n += keep;
	r->too_long |= keep < len;
}

/* Reads the next physical line (with its terminator) into r->line; returns
 * its length, 0 at end of file, ERR_IO on a read error. Lines end in LF,
 * CRLF or a lone CR (old Mac files). A line over the cap sets too_long and
 * keeps what fits. Bytes after a NUL are kept. */
static long next_line(struct reader *r)
{
	size_t n = 0;
	long avail;
	bool any = false, cr = false;
	r->too_long = false;
	while ((avail = fill(r)) > 0) {
		const char *p = r->buf + r->pos;
		if (cr) { /* a CR ended the line; take a LF right after it too */
			if (*p == '\n')
				keep_bytes(r, &n, p, 1), r->pos++;
			break;
		}
		size_t i = 0;
		while (i < (size_t)avail && p[i] != '\n' && p[i] != '\r')
			i++;
		size_t take = i < (size_t)avail ? i + 1 : (size_t)avail;
		keep_bytes(r, &n, p, take);
		r->pos += take, any = true;
		if (i < (size_t)avail && p[i] == '\n')
			break;
		cr = i < (size_t)avail;
	}
	if (avail < 0)
		return avail;
	if (!any)
		return 0;
	r->line[n] = '\0';
	r->lineno++;
	return (long)n;
}

/* Skips blank lines; returns 1 at the first other byte, else fill's 0 or error. */
static int skip_blank(struct reader *r)
{
	for (;;) {
		long avail = fill(r);
		if (avail <= 0)
			return (int)avail;
		while (r->pos < r->len && isspace((unsigned char)r->buf[r->pos])) {
			char ch = r->buf[r->pos];
			if (ch == '\n' ||
			    (ch == '\r' && (r->pos + 1 == r->len || r->buf[r->pos + 1] != '\n')))
				r->lineno++;
			r->pos++;
		}
		if (r->pos < r->len)
			return 1;
	}
}

/* A first line that is not data: PowerShell 5.1 Export-Csv's "#TYPE
 * Namespace.Class", or Excel's "sep=;" naming the delimiter. */
static bool preamble(const char *p, size_t n, unsigned char *delim)
{
	while (n && (p[n - 1] == '\r' || p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n >= 5 && strncasecmp(p, "#TYPE", 5) == 0 && (n == 5 || p[5] == ' '))
		return true;
	if (n == 5 && strncasecmp(p, "sep=", 4) == 0) {
		*delim = (unsigned char)p[4];
		return true;
	}
	return false;
}

/* Skips a BOM (UTF-8; UTF-16 is transcoded from here on), blank leading
 * lines and preamble lines; then sniffs the format from the first line. */
static int start(struct reader *r, enum input_format *f)
{
	long avail = fill_line(r);
	int bom = avail > 0 ? utf16_bom((const unsigned char *)r->buf, (size_t)avail) : 0;
	if (bom && ((avail = start_utf16(r, bom)) < 0 || (avail = fill_line(r)) < 0))
		return (int)avail;
	if (avail >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
		r->pos += 3;
	for (int preambles = 0;; preambles++) {
		int rc = skip_blank(r);
		if (rc <= 0)
			return rc;
		if ((avail = fill_line(r)) < 0)
			return (int)avail;
		const char *p = r->buf + r->pos, *e = memchr(p, '\n', r->len - r->pos);
		size_t n = e ? (size_t)(e - p) : r->len - r->pos;
		if (preambles == 2 || !preamble(p, n, &r->delim)) {
			if (*f == INPUT_AUTO)
				*f = r->delim ? INPUT_CSV : sniff(p, n);
			return 1;
		}
		if ((avail = next_line(r)) < 0)
			return (int)avail;
	}
}

/* ERR_CLOSED (woken: the caller stops) passes silently; the rest is named. */
static int read_error(long rc, const char *name, char *msg, size_t msglen)
{
	if (rc != ERR_CLOSED)
		snprintf(msg, msglen, "cannot read '%s': %s", name, strerror(errno));
	return (int)rc;
}

/* A JSON array (or a stream of objects), fed chunk by chunk. */
static int read_json(struct reader *r, const char *name, const struct input_opts *o,
		     input_row_fn fn, void *arg, char *msg, size_t msglen)
{
	struct jsonin_array *j = jsonin_array_new(name, o, fn, arg, r->lineno + 1);
	long avail;
	int rc = 0;
	if (!j)
		return ERR_NOMEM;
	while (rc == 0 && (avail = fill(r)) > 0) {
		rc = jsonin_array_feed(j, r->buf + r->pos, (size_t)avail, msg, msglen);
		r->pos += (size_t)avail;
	}
	if (rc == 0 && avail < 0)
		rc = read_error(avail, name, msg, msglen);
	if (rc == 0)
		rc = jsonin_array_finish(j, msg, msglen);
	jsonin_array_free(j);
	return rc;
}

static int read_lines(struct reader *r, const char *name, const struct input_opts *o,
		      input_row_fn fn, void *arg, char *msg, size_t msglen)
{
	struct csvin *csv = NULL;
	long len;
	int rc = 0;

	if (o->format == INPUT_LINES && !o->collection) {
		snprintf(msg, msglen, "'%s': line %ld: a plain list of UPNs needs --collection",
			 name, r->lineno + 1);
		return ERR_INVAL;
	}
	if (o->format == INPUT_CSV && !(csv = csvin_new(name, o, r->delim, fn, arg)))
		return ERR_NOMEM;
	while (rc == 0 && (len = next_line(r)) > 0) {
		if (r->too_long && csv && !csvin_header_read(csv)) {
			snprintf(
			    msg, msglen,
			    "'%s': line %ld: CSV header longer than 64 KiB (a header must name "
			    "its columns in one line of at most 64 KiB)",
			    name, r->lineno);
			rc = ERR_INVAL;
		} else if (r->too_long)
			rc = input_emit(o, fn, arg, r->lineno, NULL, 0, NULL, 0, NULL, NULL,
					"line longer than 64 KiB");
		else if (csv)
			rc = csvin_line(csv, r->line, (size_t)len, r->lineno, msg, msglen);
		else if (o->format == INPUT_NDJSON)
			rc = jsonin_line(r->line, (size_t)len, r->lineno, o, fn, arg);
		else
			rc = lines_line(r->line, (size_t)len, r->lineno, o, fn, arg);
	}
	if (rc == 0 && len < 0)
		rc = read_error(len, name, msg, msglen);
	if (csv) {
		if (rc == 0)
			rc = csvin_finish(csv, msg, msglen);
		csvin_free(csv);
	}
	return rc;
}

int input_read(FILE *f, const char *name, const struct input_opts *in, input_row_fn fn, void *arg,
	       char *msg, size_t msglen)
{
	struct reader r = {.buf = malloc(READ_CHUNK), .line = malloc(INPUT_LINE_MAX + 1)};
	struct input_opts o = *in;
	int rc = ERR_NOMEM;
	reader_init(&r, f, in->wake_fd > 0 ? in->wake_fd : -1);
	if (r.buf && r.line && (rc = start(&r, &o.format)) > 0) {
		/* A pretty-printed object (ConvertTo-Json of one session) opens
		 * with a line holding only "{"; NDJSON never does. */
		bool pretty = in->format == INPUT_AUTO && o.format == INPUT_NDJSON &&
			      jsonin_is_open_brace_line(r.buf + r.pos, r.len - r.pos);
		if (o.format == INPUT_JSON || pretty)
			rc = read_json(&r, name, &o, fn, arg, msg, msglen);
		else
			rc = read_lines(&r, name, &o, fn, arg, msg, msglen);
	} else if (rc < 0 && rc != ERR_NOMEM) {
		read_error(rc, name, msg, msglen);
	}
	free(r.buf);
	free(r.line);
	free(r.raw);
	return rc;
}
