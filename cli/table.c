/*
 * cli/table.c - aligned tables that fit the screen.
 *
 * What: a tiny table builder: describe columns, add rows of cells, render
 * to a string no wider than a given number of columns.
 *
 * Why: `gossamer members` and `gossamer peers` must stay readable on an
 * 80-column terminal (or a pasted ticket) no matter how long node names,
 * label sets or IPv6 endpoints get.  Fitting works in three steps, chosen
 * so the most useful information survives:
 *   1. start from natural widths (widest cell or header per column);
 *   2. narrow SHRINK columns one column at a time, always the one furthest
 *      above its minimum (the minimum encodes how much of a column is
 *      worth keeping: an endpoint needs more than a label list); cells that no longer fit are
 *      elided at the end with an ellipsis, so a reader sees that text was
 *      cut (nothing is silently dropped);
 *   3. if the minimums still do not fit, leave out optional columns
 *      (highest drop number first) and start over from natural widths.
 * As a last resort every line is clipped at the width, so the promise
 * "never wider than W" holds for any input.
 *
 * Trade-offs: widths are counted in code points (see fmt.c); colour is
 * applied per cell after padding has been computed on the plain text, so
 * alignment never depends on escape sequences.  The renderer builds one
 * string, which keeps it trivially unit-testable.
 */
#include "common/array.h"
#include "cli/table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/fmt.h"

struct cell {
	char *text;
	const char *sgr;
};

struct column {
	char *header;
	unsigned flags;
	size_t min;
	int drop;
};

struct gcli_table {
	size_t ncols;
	struct column *cols;
	size_t nrows, cap;
	struct cell *cells; /* nrows * ncols */
};

struct gcli_table *gcli_table_new(size_t ncols)
{
	if (ncols == 0)
		return NULL;
	struct gcli_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols;
	t->cols = calloc(ncols, sizeof(*t->cols));
	if (!t->cols) {
		free(t);
		return NULL;
	}
	return t;
}

void gcli_table_free(struct gcli_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncols; i++)
		free(t->cols[i].header);
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i].text);
	free(t->cells);
	free(t->cols);
	free(t);
}

int gcli_table_column(struct gcli_table *t, size_t i, const char *header, unsigned flags,
		      size_t min_width, int drop)
{
	if (!t || i >= t->ncols)
		return -EINVAL;
	char *h = gcli_sanitize(header);
	if (!h)
		return -ENOMEM;
	free(t->cols[i].header);
	t->cols[i].header = h;
	t->cols[i].flags = flags;
	t->cols[i].min = min_width ? min_width : 1;
	t->cols[i].drop = drop;
	return 0;
}

int gcli_table_add_row(struct gcli_table *t)
{
	if (!t)
		return -EINVAL;
	/* one element of the growth rule is one row of ncols cells */
	int r = gsc_grow(&t->cells, &t->cap, t->nrows + 1, t->ncols * sizeof(struct cell));
	if (r < 0)
		return r;
	memset(&t->cells[t->nrows * t->ncols], 0, t->ncols * sizeof(struct cell));
	return (int)t->nrows++;
}

int gcli_table_set(struct gcli_table *t, size_t row, size_t col, const char *text, const char *sgr)
{
	if (!t || row >= t->nrows || col >= t->ncols)
		return -EINVAL;
	char *s = gcli_sanitize(text);
	if (!s)
		return -ENOMEM;
	struct cell *c = &t->cells[row * t->ncols + col];
	free(c->text);
	c->text = s;
	c->sgr = sgr;
	return 0;
}

size_t gcli_table_rows(const struct gcli_table *t)
{
	return t ? t->nrows : 0;
}

static const char *cell_text(const struct gcli_table *t, size_t r, size_t c)
{
	const char *s = t->cells[r * t->ncols + c].text;
	return s ? s : "";
}

#define SEP 2 /* blanks between columns */

static size_t sep_after(const struct gcli_table *t, size_t c)
{
	return (t->cols[c].flags & GCLI_COL_TIGHT) ? 1 : SEP;
}

static size_t total_width(const struct gcli_table *t, const size_t *w, const bool *vis)
{
	size_t sum = 0;
	long last = -1;
	for (size_t c = 0; c < t->ncols; c++) {
		if (!vis[c])
			continue;
		if (last >= 0)
			sum += sep_after(t, (size_t)last);
		sum += w[c];
		last = (long)c;
	}
	return sum;
}

static void natural_widths(const struct gcli_table *t, size_t *w)
{
	for (size_t c = 0; c < t->ncols; c++) {
		w[c] = gcli_text_width(t->cols[c].header ? t->cols[c].header : "");
		for (size_t r = 0; r < t->nrows; r++) {
			size_t cw = gcli_text_width(cell_text(t, r, c));
			if (cw > w[c])
				w[c] = cw;
		}
	}
}

/* Steps 1-3 of the essay above: fill w[] and vis[]. */
static void fit(const struct gcli_table *t, size_t width, size_t *w, bool *vis)
{
	for (size_t c = 0; c < t->ncols; c++)
		vis[c] = true;
	for (;;) {
		natural_widths(t, w);
		if (width == 0)
			return;
		while (total_width(t, w, vis) > width) {
			size_t best = t->ncols;
			for (size_t c = 0; c < t->ncols; c++) {
				if (!vis[c] || !(t->cols[c].flags & GCLI_COL_SHRINK) ||
				    w[c] <= t->cols[c].min)
					continue;
				/* the column furthest above its minimum gives first */
				if (best == t->ncols ||
				    w[c] - t->cols[c].min > w[best] - t->cols[best].min)
					best = c;
			}
			if (best == t->ncols)
				break;
			w[best]--;
		}
		if (total_width(t, w, vis) <= width)
			return;
		/* drop the optional column with the highest drop number */
		size_t victim = t->ncols;
		for (size_t c = 0; c < t->ncols; c++)
			if (vis[c] && t->cols[c].drop > 0 &&
			    (victim == t->ncols || t->cols[c].drop > t->cols[victim].drop))
				victim = c;
		if (victim == t->ncols)
			return; /* lines are clipped while rendering */
		vis[victim] = false;
	}
}

struct out {
	FILE *f;
	size_t col;   /* display columns written on this line */
	size_t limit; /* 0 = none */
};

/* Write text (display width tw) honouring the line limit. */
static void put(struct out *o, const char *s, const char *ellipsis)
{
	size_t w = gcli_text_width(s);
	if (o->limit && o->col + w > o->limit) {
		size_t room = o->limit > o->col ? o->limit - o->col : 0;
		char *e = gcli_elide(s, room, ellipsis);
		if (e) {
			fputs(e, o->f);
			o->col += gcli_text_width(e);
			free(e);
		}
		return;
	}
	fputs(s, o->f);
	o->col += w;
}

static void pad(struct out *o, size_t n)
{
	while (n--) {
		if (o->limit && o->col >= o->limit)
			return;
		fputc(' ', o->f);
		o->col++;
	}
}

static void render_line(const struct gcli_table *t, struct out *o, const size_t *w, const bool *vis,
			long row, const struct gcli_render_opts *opts, const char *ellipsis)
{
	size_t last = 0;
	for (size_t c = 0; c < t->ncols; c++)
		if (vis[c])
			last = c;
	o->col = 0;
	size_t pending = 0; /* blanks owed before the next non-empty output */
	for (size_t c = 0; c < t->ncols; c++) {
		if (!vis[c])
			continue;
		const char *raw = row < 0 ? (t->cols[c].header ? t->cols[c].header : "")
					  : cell_text(t, (size_t)row, c);
		const char *sgr =
		    row < 0 ? (opts->color ? "1" : NULL) : t->cells[(size_t)row * t->ncols + c].sgr;
		char *txt = gcli_elide(raw, w[c], ellipsis);
		if (!txt)
			return;
		size_t tw = gcli_text_width(txt);
		size_t lpad = (t->cols[c].flags & GCLI_COL_RIGHT) ? w[c] - tw : 0;
		size_t rpad = w[c] - tw - lpad;
		if (tw > 0) {
			pad(o, pending + lpad);
			pending = 0;
			bool colored = opts->color && sgr && (!o->limit || o->col < o->limit);
			if (colored)
				fprintf(o->f, "\033[%sm", sgr);
			put(o, txt, ellipsis);
			if (colored)
				fputs("\033[0m", o->f);
		} else {
			pending += lpad;
		}
		free(txt);
		if (c != last)
			pending += rpad + sep_after(t, c);
	}
}

/* One line through a scratch buffer, so blanks left by clipping at the
 * width can be trimmed (no line ends in a blank). */
static int emit_line(const struct gcli_table *t, FILE *f, const size_t *w, const bool *vis,
		     long row, const struct gcli_render_opts *opts, const char *ellipsis)
{
	char *line = NULL;
	size_t len = 0;
	FILE *lf = open_memstream(&line, &len);
	if (!lf)
		return -ENOMEM;
	struct out o = {.f = lf, .limit = opts->width};
	render_line(t, &o, w, vis, row, opts, ellipsis);
	if (fclose(lf) != 0) {
		free(line);
		return -ENOMEM;
	}
	while (len > 0 && line[len - 1] == ' ')
		len--;
	fwrite(line, 1, len, f);
	fputc('\n', f);
	free(line);
	return 0;
}

char *gcli_table_render(const struct gcli_table *t, const struct gcli_render_opts *opts)
{
	if (!t || !opts)
		return NULL;
	const char *ellipsis = opts->ellipsis ? opts->ellipsis : "~";
	char *buf = NULL;
	size_t len = 0;
	size_t *w = calloc(t->ncols, sizeof(*w));
	bool *vis = calloc(t->ncols, sizeof(*vis));
	FILE *f = NULL;
	if (!w || !vis)
		goto out;
	fit(t, opts->width, w, vis);
	f = open_memstream(&buf, &len);
	if (!f)
		goto out;
	int rc = emit_line(t, f, w, vis, -1, opts, ellipsis);
	for (size_t r = 0; r < t->nrows && !rc; r++)
		rc = emit_line(t, f, w, vis, (long)r, opts, ellipsis);
	if (fclose(f) != 0 || rc) {
		free(buf);
		buf = NULL;
	}
	f = NULL;
out:
	free(w);
	free(vis);
	return buf;
}
