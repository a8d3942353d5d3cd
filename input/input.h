/* input.h — streams (collection, UPN) rows from CSV, NDJSON or plain lines.
 *
 * One call reads one file to its end and hands every row to a callback,
 * valid or not: an invalid row carries its reason and is never dropped.
 * Memory is bounded (one line, one CSV record), whatever the input size. */
#ifndef RABULK_INPUT_H
#define RABULK_INPUT_H

#include <stdbool.h>
#include <stdio.h>

enum input_format { INPUT_AUTO, INPUT_CSV, INPUT_JSON, INPUT_NDJSON, INPUT_LINES };

/* One input row, borrowed until the callback returns. */
struct input_row {
	long line;		/* 1-based line where the row starts */
	const char *collection; /* never NULL ("" when missing) */
	const char *upn;	/* never NULL */
	const char *state;	/* a State column/key when present, else NULL */
	const char *group;	/* avd: a ResourceGroupName column/key, else NULL */
	const char *reason;	/* NULL when valid, else why the row is invalid */
	/* --keep-columns (CSV): the other cells and the header's names for them,
	 * each list joined by INPUT_EXTRA_SEP; NULL otherwise. */
	const char *extra, *extra_header;
};

#define INPUT_EXTRA_SEP '\x1f' /* ASCII unit separator; never kept inside a cell */
#define INPUT_EXTRA_MAX 4096   /* bytes of extra cells kept per row */

/* Copies the first cell of an INPUT_EXTRA_SEP-joined list into dst
 * (truncated to cap - 1) and returns the rest of the list, or NULL when
 * that was the last cell. Thread-safe. */
const char *input_extra_next(const char *list, char *dst, size_t cap);

/* The row's collection with its group (avd's ResourceGroupName) before it,
 * "group/collection", written into buf; the collection itself when there is
 * no group, the collection is a resource id ('/'), or buf is too small. */
const char *input_row_collection(const struct input_row *r, char *buf, size_t cap);

/* Called once per row; a nonzero return stops reading and is returned. */
typedef int (*input_row_fn)(void *arg, const struct input_row *row);

struct input_opts {
	enum input_format format; /* INPUT_AUTO sniffs */
	const char *collection;	  /* for rows without one; may be NULL */
	bool keep_columns;	  /* CSV: pass the other columns along */
	/* Azure Virtual Desktop's addressing: an Id column names a session and
	 * is preferred to the others, a Name "hostpool/host/id" is kept whole
	 * (it names a session), ResourceGroupName is passed as the row's group,
	 * and the collection is not held to RemoteApp's name rule (the service
	 * checks the address). */
	bool avd;
	/* > 0: a descriptor that becomes readable when the caller stops; a read
	 * that would wait on a silent input then returns ERR_CLOSED. 0: none
	 * (descriptor 0 is standard input, never a wake-up). */
	int wake_fd;
};

/* "csv" "json" "ndjson" "lines" (and "auto"); returns 0 or ERR_INVAL. */
int input_format_parse(const char *name, enum input_format *f);

/* Reads f (named name in messages) to its end, handing each row over as
 * soon as it is complete (a pipe is never waited on to fill a buffer).
 * Returns 0, the callback's nonzero value, ERR_CLOSED when o->wake_fd woke
 * it (msg untouched), or a negative error with msg set to something like
 * "'users.csv': line 1: no user column (UserUpn, Upn, UserPrincipalName or User)".
 * Not thread-safe per f; separate calls may run in separate threads. */
int input_read(FILE *f, const char *name, const struct input_opts *o, input_row_fn fn, void *arg,
	       char *msg, size_t msglen);

#endif
