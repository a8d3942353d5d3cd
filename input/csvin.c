/* csvin.c — CSV input through libcsv, one physical line at a time.
 *
 * libcsv is a push parser: we feed it bytes and it calls us at the end of
 * each field and record. Feeding it line by line lets us know the line on
 * which each record starts, even when a quoted field spans lines.
 *
 * The first record is the header: the collection, user and state columns
 * are found by their aliases, in any order and case; the delimiter is
 * sniffed from it among ',' ';' and tab. Afterwards only those three
 * fields are copied (libcsv's bytes live in its own buffer), each capped at
 * VALIDATE_FIELD_MAX + 1 bytes so an over-long field is seen as such.
 *
 * libcsv runs in strict mode. A malformed record (stray quote) becomes an
 * invalid row and the parser restarts at the next line. The physical lines
 * of a record still open are held, so when it turns out malformed only its
 * first line is given up and the lines after it are read again: a quote
 * left open on line 3 costs line 3, not the rest of the file. libcsv's own
 * buffer and the held lines are capped at 1 MiB, so an unterminated quote
 * cannot eat memory either. */
#include "input/csvin.h"
#include "input/validate.h"
#include "lib/array.h"
#include "lib/err.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

#define CSV_BUF_MAX (1024 * 1024)

/* A queue of physical lines: line[head, head + open) were fed to libcsv
 * and make up the record still open; line[head + open, n) wait to be fed
 * again after a malformed record gave them back. */
struct held_line {
	size_t off, len;
	long lineno;
};

struct held {
	char *bytes;
	size_t used, cap;
	struct held_line *line;
	size_t head, open, n, ncap;
};

struct field {
	char text[VALIDATE_FIELD_MAX + 2];
	size_t len; /* real length, may exceed what text holds */
	bool set;
};

struct csvin {
	struct csv_parser p;
	const char *name;
	struct input_opts o;
	input_row_fn fn;
	void *arg;
	int rc;		   /* first nonzero callback result */
	int header_fields; /* 0 until the header is read */
	int coll_col, upn_col, state_col, group_col;
	int coll_rank;			  /* which of input_collection_keys names coll_col */
	unsigned char delim, given_delim; /* given: by a "sep=" line, else 0 */
	int nfields;			  /* fields seen in the current record */
	long rec_line;
	bool at_start;
	struct field coll, upn, state, group;
	char extra[INPUT_EXTRA_MAX + 1], extra_header[INPUT_EXTRA_MAX + 1];
	size_t extra_len, extra_header_len;
	char names[INPUT_EXTRA_MAX + 1]; /* the header's cells, INPUT_EXTRA_SEP-joined */
	size_t names_len;
	char *msg;
	size_t msglen;
	int fatal;
	struct held held; /* lines of the open record, then lines to read again */
};

static void *capped_realloc(void *p, size_t size)
{
	return size > CSV_BUF_MAX ? NULL : realloc(p, size);
}

static int space_only(unsigned char c)
{
	return c == ' ';
}

static int parser_init(struct csvin *c)
{
	if (csv_init(&c->p, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return ERR_NOMEM;
	csv_set_realloc_func(&c->p, capped_realloc);
	csv_set_delim(&c->p, c->delim);
	if (c->delim == '\t')
		csv_set_space_func(&c->p, space_only);
	return 0;
}

struct csvin *csvin_new(const char *name, const struct input_opts *o, unsigned char delim,
			input_row_fn fn, void *arg)
{
	struct csvin *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->name = name, c->o = *o, c->fn = fn, c->arg = arg, c->given_delim = delim;
	c->coll_col = c->upn_col = c->state_col = c->group_col = -1;
	c->at_start = true;
	return c;
}

void csvin_free(struct csvin *c)
{
	if (!c)
		return;
	if (c->delim)
		csv_free(&c->p);
	free(c->held.bytes);
	free(c->held.line);
	free(c);
}

static void keep(struct field *f, const char *s, size_t len)
{
	size_t n = len < sizeof(f->text) - 1 ? len : sizeof(f->text) - 1;
	memcpy(f->text, s, n);
	f->text[n] = '\0';
	f->len = len, f->set = true;
}

/* Appends one cell to an INPUT_EXTRA_SEP-joined list, capped; a separator
 * byte inside the cell becomes a space. */
static void add_extra(char *list, size_t *len, const char *s, size_t n)
{
	if (*len && *len < INPUT_EXTRA_MAX)
		list[(*len)++] = INPUT_EXTRA_SEP;
	for (size_t i = 0; i < n && *len < INPUT_EXTRA_MAX; i++)
		list[(*len)++] = s[i] == INPUT_EXTRA_SEP ? ' ' : s[i];
	list[*len] = '\0';
}

/* The header's columns: the collection column is the most preferred of
 * its aliases present (CollectionName over Name), the user column the
 * first alias present. */
static void header_field(struct csvin *c, const char *s, size_t len)
{
	int i = c->nfields,
	    rank = input_key_rank(s, len,
				  c->o.avd ? input_avd_collection_keys : input_collection_keys);
	add_extra(c->names, &c->names_len, s, len);
	if (rank >= 0 && (c->coll_col < 0 || rank < c->coll_rank))
		c->coll_col = i, c->coll_rank = rank;
	else if (c->upn_col < 0 && input_key_is(s, len, input_upn_keys))
		c->upn_col = i;
	if (c->state_col < 0 && c->upn_col != i && c->coll_col != i &&
	    input_key_is(s, len, input_state_keys))
		c->state_col = i;
	if (c->o.avd && c->group_col < 0 && input_key_is(s, len, input_group_keys))
		c->group_col = i;
}

/* --keep-columns: the names of the columns that are neither collection nor user. */
static void extra_names(struct csvin *c)
{
	char cell[INPUT_EXTRA_MAX + 1];
	const char *list = c->names;
	for (int i = 0; list; i++) {
		list = input_extra_next(list, cell, sizeof(cell));
		if (i != c->coll_col && i != c->upn_col)
			add_extra(c->extra_header, &c->extra_header_len, cell, strlen(cell));
	}
}

static void on_field(void *s, size_t len, void *data)
{
	struct csvin *c = data;
	if (!c->header_fields)
		header_field(c, s, len);
	else if (c->nfields == c->coll_col)
		keep(&c->coll, s, len);
	else if (c->nfields == c->upn_col)
		keep(&c->upn, s, len);
	else {
		if (c->nfields == c->state_col)
			keep(&c->state, s, len);
		if (c->nfields == c->group_col)
			keep(&c->group, s, len);
		if (c->o.keep_columns)
			add_extra(c->extra, &c->extra_len, s, len);
	}
	c->nfields++;
}

static int end_header(struct csvin *c)
{
	char seen[160];
	size_t n = 0;
	for (size_t i = 0; i < c->names_len && n + 2 < sizeof(seen); i++) {
		if (c->names[i] == INPUT_EXTRA_SEP)
			seen[n++] = ',', seen[n++] = ' ';
		else
			seen[n++] = c->names[i];
	}
	seen[n] = '\0';
	if (c->upn_col < 0) {
		snprintf(c->msg, c->msglen,
			 "'%s': line %ld: the header names no user column (it has: %s%s; a user "
			 "column is UserUpn, Upn, UserPrincipalName or User)",
			 c->name, c->rec_line, seen, n < c->names_len ? "..." : "");
		return ERR_PARSE;
	}
	if (c->coll_col < 0 && !c->o.collection) {
		snprintf(
		    c->msg, c->msglen,
		    "'%s': line %ld: no collection column (CollectionName, Collection, "
		    "HostPool, HostPoolName or Name; the header has: %s%s) and no --collection",
		    c->name, c->rec_line, seen, n < c->names_len ? "..." : "");
		return ERR_PARSE;
	}
	if (c->o.keep_columns)
		extra_names(c);
	c->header_fields = c->nfields;
	return 0;
}

static int end_record(struct csvin *c, const char *reason)
{
	char why[64];
	const char *coll = c->coll.set ? c->coll.text : c->o.collection;
	size_t coll_len = c->coll.set ? c->coll.len : (coll ? strlen(coll) : 0);
	if (c->coll_col >= 0 && !c->coll.set) /* a short row: the column is there, empty */
		coll = "", coll_len = 0;
	else if (c->coll.set && !c->o.avd) { /* Name as hostpool/host/id: the host pool */
		size_t kept =
		    c->coll.len < sizeof(c->coll.text) - 1 ? c->coll.len : sizeof(c->coll.text) - 1;
		size_t cut = input_collection_len(
		    coll, kept, input_collection_keys[c->coll_rank]); /* the bytes kept */
		if (cut < kept)
			coll_len = cut, c->coll.text[cut] = '\0';
	}

	if (!reason && c->nfields != c->header_fields) {
		snprintf(why, sizeof(why), "expected %d fields, found %d", c->header_fields,
			 c->nfields);
		reason = why;
	}
	struct input_row r = {c->rec_line,
			      coll,
			      c->upn.text,
			      c->state.set ? c->state.text : NULL,
			      c->group.set && c->group.len ? c->group.text : NULL,
			      reason,
			      c->o.keep_columns ? c->extra : NULL,
			      c->o.keep_columns ? c->extra_header : NULL};
	int rc = input_emit_extra(&c->o, c->fn, c->arg, &r, coll_len, c->upn.len);
	c->coll.set = c->upn.set = c->state.set = c->group.set = false;
	c->extra_len = 0, c->extra[0] = '\0';
	c->upn.text[0] = '\0', c->upn.len = 0;
	return rc;
}

static void on_record(int ch, void *data)
{
	struct csvin *c = data;
	if (c->rc || c->fatal)
		return;
	if (!c->header_fields)
		c->fatal = end_header(c);
	else
		c->rc = end_record(c, NULL);
	c->nfields = 0;
	c->at_start = true;
}

/* The header line picks the delimiter: the most frequent of , ; tab
 * outside quotes (',' on a tie). */
static unsigned char sniff_delim(const char *line, size_t len)
{
	size_t comma = 0, semi = 0, tab = 0;
	bool quoted = false;
	for (size_t i = 0; i < len; i++) {
		if (line[i] == '"')
			quoted = !quoted;
		else if (!quoted)
			comma += line[i] == ',', semi += line[i] == ';', tab += line[i] == '\t';
	}
	if (semi > comma && semi >= tab)
		return ';';
	return tab > comma ? '\t' : ',';
}

/* After a parse error: report the record, start a fresh parser. */
static int recover(struct csvin *c, const char *reason)
{
	if (!reason)
		reason = csv_error(&c->p) == CSV_ENOMEM
			     ? "field larger than 1 MiB"
			     : "malformed CSV (stray or unbalanced quote)";
	if (c->header_fields)
		c->rc = end_record(c, reason);
	c->extra_len = 0, c->extra[0] = '\0';
	csv_free(&c->p);
	c->nfields = 0, c->at_start = true;
	return parser_init(c);
}

/* Appends a line to the queue, first moving the live lines to the front. */
static int hold(struct held *h, const char *line, size_t len, long lineno)
{
	if (h->head) {
		size_t from = h->head < h->n ? h->line[h->head].off : h->used;
		memmove(h->bytes, h->bytes + from, h->used - from);
		memmove(h->line, h->line + h->head, (h->n - h->head) * sizeof(*h->line));
		h->n -= h->head, h->used -= from, h->head = 0;
		for (size_t i = 0; i < h->n; i++)
			h->line[i].off -= from;
	}
	if (array_grow((void **)&h->bytes, &h->cap, h->used + len, 1, 16) < 0 ||
	    array_grow((void **)&h->line, &h->ncap, h->n + 1, sizeof(*h->line), 16) < 0)
		return ERR_NOMEM;
	memcpy(h->bytes + h->used, line, len);
	h->line[h->n++] = (struct held_line){h->used, len, lineno};
	h->used += len;
	return 0;
}

static bool blank(const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	return len == 0;
}

bool csvin_header_read(const struct csvin *c)
{
	return c->header_fields > 0;
}

/* A header libcsv cannot parse ends the file: there is nothing to name
 * the columns by. */
static int bad_header(struct csvin *c, long lineno)
{
	snprintf(c->msg, c->msglen, "'%s': line %ld: malformed CSV header", c->name, lineno);
	return ERR_PARSE;
}

/* Feeds one physical line (held lines are not NUL-terminated) to libcsv:
 * 1 when it broke the record, 0 when not, < 0 when the header is broken. */
static int parse(struct csvin *c, const char *line, size_t len, long lineno)
{
	if (c->at_start && !blank(line, len)) /* libcsv skips blank lines */
		c->rec_line = lineno, c->at_start = false;
	if (csv_parse(&c->p, line, len, on_field, on_record, c) == len || c->fatal)
		return 0;
	return c->header_fields ? 1 : bad_header(c, lineno);
}

/* The line at the queue's open end was fed. A complete record lets go of
 * its lines; a broken one gives up its first line and gives back the rest
 * to be read again. */
static int settle(struct csvin *c, int broke)
{
	struct held *h = &c->held;
	const char *reason = NULL;
	size_t last = h->head + h->open;
	if (!broke && !c->at_start &&
	    h->line[last].off + h->line[last].len - h->line[h->head].off > CSV_BUF_MAX)
		broke = 1, reason = "record larger than 1 MiB (a quote left open?)";
	if (broke) {
		h->head++, h->open = 0;
		return recover(c, reason);
	}
	if (c->at_start)
		h->head = last + 1, h->open = 0;
	else
		h->open++;
	return 0;
}

static int status(const struct csvin *c)
{
	return c->fatal ? c->fatal : c->rc;
}

/* Feeds the queued lines not yet fed. */
static int pump(struct csvin *c)
{
	struct held *h = &c->held;
	int rc = 0;
	while (rc == 0 && !status(c) && h->head + h->open < h->n) {
		struct held_line l = h->line[h->head + h->open];
		if ((rc = parse(c, h->bytes + l.off, l.len, l.lineno)) >= 0)
			rc = settle(c, rc);
	}
	return rc < 0 ? rc : status(c);
}

int csvin_line(struct csvin *c, const char *line, size_t len, long lineno, char *msg, size_t msglen)
{
	struct held *h = &c->held;
	int rc;
	c->msg = msg, c->msglen = msglen;
	if (!c->delim) {
		c->delim = c->given_delim ? c->given_delim : sniff_delim(line, len);
		if ((rc = parser_init(c)) < 0)
			return rc;
	}
	if (h->head < h->n) /* a record is open: its lines are held */
		return (rc = hold(h, line, len, lineno)) < 0 ? rc : pump(c);
	if ((rc = parse(c, line, len, lineno)) < 0)
		return rc;
	if (rc)
		rc = recover(c, NULL);
	else if (!c->at_start && (rc = hold(h, line, len, lineno)) == 0)
		h->open = 1;
	return rc < 0 ? rc : status(c);
}

int csvin_finish(struct csvin *c, char *msg, size_t msglen)
{
	struct held *h = &c->held;
	int rc = 0;
	c->msg = msg, c->msglen = msglen;
	if (!c->delim)
		return 0;
	while (rc == 0 && !status(c) && csv_fini(&c->p, on_field, on_record, c) != 0) {
		if (c->fatal)
			break;
		if (!c->header_fields)
			return bad_header(c, c->rec_line);
		h->head += h->open ? 1 : 0, h->open = 0; /* read again after the first */
		if ((rc = recover(c, NULL)) == 0)
			rc = pump(c);
	}
	if (rc < 0)
		return rc;
	if (!c->fatal && !c->header_fields && c->upn_col < 0 && c->rec_line)
		return end_header(c);
	return status(c);
}
