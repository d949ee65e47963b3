/*
 * cli/table.h - aligned text tables that fit a given width.
 */
#ifndef GOSSAMER_CLI_TABLE_H
#define GOSSAMER_CLI_TABLE_H

#include <stdbool.h>
#include <stddef.h>

/* column flags */
#define GCLI_COL_RIGHT	0x1u /* right-align (numbers, sizes, ages) */
#define GCLI_COL_SHRINK 0x2u /* may be narrowed (cells elided) to fit */
#define GCLI_COL_TIGHT	0x4u /* one blank (not two) before the next column */

struct gcli_table;

struct gcli_table *gcli_table_new(size_t ncols);
void gcli_table_free(struct gcli_table *t);

/* Describe column i.  min_width: narrowest a SHRINK column gets (the
 * header may then be elided too).  drop: 0 = never dropped; otherwise the
 * column may be left out entirely when the table cannot fit, higher
 * numbers first. */
int gcli_table_column(struct gcli_table *t, size_t i, const char *header, unsigned flags,
		      size_t min_width, int drop);

/* Append an empty row; returns its index or a negative errno. */
int gcli_table_add_row(struct gcli_table *t);
/* Set a cell (copied and sanitised).  sgr: an ANSI SGR parameter string
 * such as "32" or "1;31" used when rendering with colour, or NULL. */
int gcli_table_set(struct gcli_table *t, size_t row, size_t col, const char *text, const char *sgr);
size_t gcli_table_rows(const struct gcli_table *t);

struct gcli_render_opts {
	size_t width;	      /* 0 = unlimited */
	bool color;	      /* emit SGR sequences */
	const char *ellipsis; /* NULL: "~" */
};

/* Render to a new NUL-terminated string (caller frees), one line per
 * row plus the header, each line '\n'-terminated, no trailing blanks.
 * Every line is at most opts->width display columns (escape sequences
 * not counted).  NULL on allocation failure. */
char *gcli_table_render(const struct gcli_table *t, const struct gcli_render_opts *opts);

#endif
