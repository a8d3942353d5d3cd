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
 * invalid row and the parser restarts at the next line, so one bad row
 * never swallows the file; libcsv's own buffer is capped through its
 * realloc hook, so an unterminated quote cannot eat memory either. */
#include "input/internal.h"
#include "input/validate.h"
#include "engine/err.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

#define CSV_BUF_MAX (1024 * 1024)

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
	int rc;		    /* first nonzero callback result */
	int header_fields;  /* 0 until the header is read */
	int coll_col, upn_col, state_col;
	unsigned char delim;
	int nfields; /* fields seen in the current record */
	long rec_line;
	bool at_start;
	struct field coll, upn, state;
	char extra[INPUT_EXTRA_MAX + 1], extra_header[INPUT_EXTRA_MAX + 1];
	size_t extra_len, extra_header_len;
	char *msg;
	size_t msglen;
	int fatal;
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

struct csvin *csvin_new(const char *name, const struct input_opts *o, input_row_fn fn, void *arg)
{
	struct csvin *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->name = name, c->o = *o, c->fn = fn, c->arg = arg;
	c->coll_col = c->upn_col = c->state_col = -1;
	c->at_start = true;
	return c;
}

void csvin_free(struct csvin *c)
{
	if (!c)
		return;
	if (c->delim)
		csv_free(&c->p);
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

static void header_field(struct csvin *c, const char *s, size_t len)
{
	int i = c->nfields;
	if (c->coll_col < 0 && input_key_is(s, len, input_collection_keys))
		c->coll_col = i;
	else if (c->upn_col < 0 && input_key_is(s, len, input_upn_keys))
		c->upn_col = i;
	else if (c->o.keep_columns)
		add_extra(c->extra_header, &c->extra_header_len, s, len);
	if (c->state_col < 0 && c->upn_col != i && c->coll_col != i &&
	    input_key_is(s, len, input_state_keys))
		c->state_col = i;
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
		if (c->o.keep_columns)
			add_extra(c->extra, &c->extra_len, s, len);
	}
	c->nfields++;
}

static int end_header(struct csvin *c)
{
	if (c->upn_col < 0) {
		snprintf(c->msg, c->msglen,
			 "'%s': line %ld: no user column (UserUpn, Upn, UserPrincipalName or User)",
			 c->name, c->rec_line);
		return ERR_PARSE;
	}
	if (c->coll_col < 0 && !c->o.collection) {
		snprintf(c->msg, c->msglen,
			 "'%s': line %ld: no collection column (CollectionName, Collection or "
			 "Name) and no --collection",
			 c->name, c->rec_line);
		return ERR_PARSE;
	}
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

	if (!reason && c->nfields != c->header_fields) {
		snprintf(why, sizeof(why), "expected %d fields, found %d", c->header_fields,
			 c->nfields);
		reason = why;
	}
	struct row r = {c->rec_line, coll, c->upn.text, c->state.set ? c->state.text : NULL, reason,
			c->o.keep_columns ? c->extra : NULL,
			c->o.keep_columns ? c->extra_header : NULL};
	int rc = input_emit_extra(c->fn, c->arg, &r, coll_len, c->upn.len);
	c->coll.set = c->upn.set = c->state.set = false;
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
static int recover(struct csvin *c)
{
	int err = csv_error(&c->p);
	const char *reason = err == CSV_ENOMEM ? "field larger than 1 MiB"
					       : "malformed CSV (stray or unbalanced quote)";
	if (c->header_fields)
		c->rc = end_record(c, reason);
	c->extra_len = 0, c->extra[0] = '\0';
	csv_free(&c->p);
	c->nfields = 0, c->at_start = true;
	return parser_init(c);
}

int csvin_line(struct csvin *c, const char *line, size_t len, long lineno, char *msg, size_t msglen)
{
	int rc;
	c->msg = msg, c->msglen = msglen;
	if (!c->delim) {
		c->delim = sniff_delim(line, len);
		if ((rc = parser_init(c)) < 0)
			return rc;
	}
	if (c->at_start && len > strspn(line, "\r\n")) /* libcsv skips blank lines */
		c->rec_line = lineno, c->at_start = false;
	if (csv_parse(&c->p, line, len, on_field, on_record, c) != len && !c->fatal) {
		if (!c->header_fields) {
			snprintf(msg, msglen, "'%s': line %ld: malformed CSV header", c->name,
				 lineno);
			return ERR_PARSE;
		}
		if ((rc = recover(c)) < 0)
			return rc;
	}
	return c->fatal ? c->fatal : c->rc;
}

int csvin_finish(struct csvin *c, char *msg, size_t msglen)
{
	int rc;
	c->msg = msg, c->msglen = msglen;
	if (!c->delim)
		return 0;
	if (csv_fini(&c->p, on_field, on_record, c) != 0 && !c->fatal && (rc = recover(c)) < 0)
		return rc;
	if (!c->fatal && !c->header_fields && c->upn_col < 0 && c->rec_line)
		return end_header(c);
	return c->fatal ? c->fatal : c->rc;
}
