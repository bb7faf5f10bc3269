/* stagemap.h — a notebook's stage map, and its renderings.
 *
 * Owns: the map itself (the stage of each code cell in order, with its lines of code),
 * the per-stage counts and share of lines (rounded by largest remainder, so that the
 * shown shares total 100%), the compressed stage sequence ("imports > load > explore
 * x4 > prep x3 > train > evaluate"), and the three ways of showing it: text (one block
 * per cell, coloured on a terminal, a letter per stage otherwise, header, rows,
 * sequence and table fitted to the terminal's width), JSON for scripts, and SVG (a legend,
 * the sequence wrapped within the picture).  Knows nothing of files or models: the
 * command (cmd_summary.c; summarywindow.c) fills the map.
 */
#ifndef NBSTAGE_STAGEMAP_H
#define NBSTAGE_STAGEMAP_H

#include <jansson.h>
#include <stdio.h>

#include "labeling/stage.h"

#define STAGEMAP_BLANK STAGE_NONE /* empty or comment-only cell: no stage */
#define STAGEMAP_UNTAGGED (-2)    /* code, but no saved tag (summary --saved) */

struct stagemap_cell {
    int stage;         /* 0..N_STAGES-1, STAGEMAP_BLANK or STAGEMAP_UNTAGGED */
    double confidence; /* -1 when unknown */
    long lines;        /* lines of code (no comments, no blank lines) */
};

struct stagemap {
    char *name;  /* the notebook's path, as shown */
    char *model; /* where the stages came from (a model name, "saved tags") */
    struct stagemap_cell *cells;
    size_t n, cap;
    long counts[N_STAGES], lines[N_STAGES];
    long blank, untagged;
    long code_lines, staged_lines; /* all cells' lines; those of staged cells (sum of lines[]) */
};

/* NAME and MODEL are copied.  0, or -1 when out of memory. */
int stagemap_init(struct stagemap *m, const char *name, const char *model);
/* Appends the next code cell. */
int stagemap_add(struct stagemap *m, int stage, double confidence, long lines);
void stagemap_free(struct stagemap *m);

/* Stage runs in order, blank cells skipped: "imports > load > explore x4".  malloc'd;
 * "" for a notebook without staged cells; NULL when out of memory. */
char *stagemap_sequence(const struct stagemap *m);

/* The text map: header, blocks (ANSI colours when COLOR), sequence, table.  COLUMNS:
 * the terminal's width, or 0 (not a terminal).  The header is broken after a clause
 * where it would pass COLUMNS (the name kept whole on the first line); the blocks go
 * 60 a row, fewer (a multiple of 10, 10 at least) when COLUMNS is narrower; the
 * sequence is broken before a " > " where a line would pass COLUMNS; the table, 36
 * wide, closes up below 36 and drops its lines, then its cells column (19 at the
 * least).  The shares total 100.0% (when any line has a stage). */
void stagemap_print_text(FILE *out, const struct stagemap *m, int color, int columns);

/* {"notebook", "model", "code_cells", "blank", "untagged", "cells": [...],
 *  "stages": {key: {"cells", "lines", "share"}}, "sequence"}; the shares to 4
 *  decimals, totalling 1 (when any line has a stage); each of "cells" is
 *  {"index": the code cell's, from 0 (as in the cell ids path#index), "stage",
 *  "confidence", "lines"}.  New
 *  reference. */
json_t *stagemap_json(const struct stagemap *m);

/* One SVG picture with a legend and, per map, its name, rows of 60 blocks and its
 * sequence (broken into lines within the picture's width).  0, or -1 on a write
 * error (errno set). */
int stagemap_write_svg(FILE *out, const struct stagemap *maps, size_t n);

#endif
