/* merge.c — rabulk report merge: many reports in, one CSV report out.
 *
 * Two passes over the reports (they are files, and the table must know a
 * pair's last row before writing anything). Pass one records, per
 * (collection, UPN, operation), the report and row that hold its last row:
 * within a report a later row supersedes an earlier one (a resumed run
 * appends), across reports the same pair twice is an error — shards never
 * overlap. Pass two writes each pair's last row, and every invalid or
 * duplicate row.
 * With --input, every valid pair of the input must be in some report.
 * The table holds 24 bytes per pair; rows are streamed. */
#include "cli/merge.h"
#include "cli/run.h"
#include "lib/err.h"
#include "input/dedup.h"
#include "output/report.h"
#include "output/reportin.h"
#include "output/resume.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COMPLAINTS 20

struct entry {
	uint64_t key; /* 0 = empty */
	uint32_t report, row;
};

struct merge {
	struct entry *tab;
	size_t cap, len;
	struct dedup *pairs; /* (collection, UPN) of every merged row, for --input */
	const struct args *o;
	uint32_t report, row; /* where the reading is */
	struct report *out;
	unsigned long overlaps, missing, written;
};

static uint64_t key_of(const struct item *it)
{
	return resume_key(it->collection, it->upn, it->op);
}

static struct entry *slot(struct merge *m, uint64_t key)
{
	size_t i = key & (m->cap - 1);
	while (m->tab[i].key && m->tab[i].key != key)
		i = (i + 1) & (m->cap - 1);
	return &m->tab[i];
}

static int grow(struct merge *m)
{
	struct merge big = *m;
	big.cap = m->cap ? m->cap * 2 : 4096;
	if (!(big.tab = calloc(big.cap, sizeof(struct entry))))
		return ERR_NOMEM;
	for (size_t i = 0; i < m->cap; i++)
		if (m->tab[i].key)
			*slot(&big, m->tab[i].key) = m->tab[i];
	free(m->tab);
	m->tab = big.tab, m->cap = big.cap;
	return 0;
}

/* invalid and duplicate rows are input rows in their own right, not a
 * pair's outcome: always written, never superseding */
static bool passes_through(const struct item *it)
{
	return it->status == STATUS_INVALID || it->status == STATUS_DUPLICATE;
}

static int first_pass(void *arg, const struct item *it)
{
	struct merge *m = arg;
	uint32_t row = m->row++;
	if (passes_through(it))
		return 0;
	if ((m->len + 1) * 2 > m->cap && grow(m) < 0)
		return ERR_NOMEM;
	struct entry *e = slot(m, key_of(it));
	if (e->key && e->report != m->report) {
		if (m->overlaps++ < MAX_COMPLAINTS)
			fprintf(stderr, "rabulk: report merge: %s in %s (%s) is in '%s' and '%s'\n",
				it->upn, it->collection, service_op_name(it->op),
				m->o->inputs[e->report], m->o->inputs[m->report]);
		return 0;
	}
	if (!e->key)
		m->len++;
	*e = (struct entry){key_of(it), m->report, row};
	return dedup_check(m->pairs, it->collection, it->upn) < 0 ? ERR_NOMEM : 0;
}

static int second_pass(void *arg, const struct item *it)
{
	struct merge *m = arg;
	uint32_t row = m->row++;
	if (!passes_through(it)) {
		const struct entry *e = slot(m, key_of(it));
		if (e->report != m->report || e->row != row)
			return 0; /* superseded, or another report's */
	}
	m->written++;
	return report_write(m->out, it);
}

static int each_report(struct merge *m, reportin_fn fn)
{
	char err[512];
	for (int i = 0; i < m->o->ninputs; i++) {
		m->report = (uint32_t)i, m->row = 0;
		if (reportin_read(m->o->inputs[i], fn, m, err, sizeof(err)) < 0) {
			fprintf(stderr, "rabulk: %s\n", err);
			return ERR_IO;
		}
	}
	return 0;
}

static int check_input_row(void *arg, const struct input_row *row)
{
	struct merge *m = arg;
	if (row->reason || dedup_check(m->pairs, row->collection, row->upn) != 0)
		return 0; /* invalid, or in a report (or repeated in the input) */
	if (m->missing++ < MAX_COMPLAINTS)
		fprintf(stderr, "rabulk: report merge: %s in %s (line %ld) is in no report\n",
			row->upn, row->collection, row->line);
	return 0;
}

static int check_input(struct merge *m)
{
	char err[512] = "";
	FILE *f = fopen(m->o->merge_input, "r");
	if (!f) {
		fprintf(stderr, "rabulk: cannot open '%s'\n", m->o->merge_input);
		return ERR_IO;
	}
	int rc =
	    input_read(f, m->o->merge_input, &m->o->input, check_input_row, m, err, sizeof(err));
	fclose(f);
	if (rc < 0)
		fprintf(stderr, "rabulk: %s\n", err);
	return rc;
}

int merge_run(const struct args *o)
{
	struct merge m = {.o = o};
	char err[512];
	int rc = EXIT_INTERNAL;
	if (!(m.pairs = dedup_new()) || grow(&m) < 0)
		goto out;
	if (each_report(&m, first_pass) < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (!(m.out = report_open("-", false, err, sizeof(err))) ||
	    each_report(&m, second_pass) < 0 || report_close(m.out) < 0) {
		m.out = NULL;
		goto out;
	}
	m.out = NULL;
	if (o->merge_input && check_input(&m) < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	fprintf(stderr, "rabulk: report merge: %lu rows from %d reports", m.written, o->ninputs);
	if (m.overlaps || m.missing)
		fprintf(stderr, "; %lu pairs in two reports, %lu input pairs in none", m.overlaps,
			m.missing);
	fputc('\n', stderr);
	rc = m.overlaps || m.missing ? EXIT_SOME_FAILED : EXIT_ALL_OK;
out:
	report_close(m.out);
	dedup_free(m.pairs);
	free(m.tab);
	return rc;
}
