/* cellread.h — the cells `nbstage label` labels, as read from JSON Lines.
 *
 * Owns: reading `nbstage ingest`'s lines ("id" and "source", a string or nbformat's
 * list of lines; "notebook" and "index" when there), skipping and naming each line
 * that is not a cell (file:line; a byte-order mark named as such); the top-level
 * statements --statements adds after the cells, each a cell of its own; whether two
 * cells are neighbours in one notebook (for the context LFs).
 */
#ifndef NBSTAGE_CELLREAD_H
#define NBSTAGE_CELLREAD_H

#include <stddef.h>
#include <stdio.h>

struct label_cell {
    char *id, *notebook, *src;
    size_t src_len;
    int index;              /* -1 when absent */
    int statement;          /* --statements: one top-level statement of a cell, written with its source */
    size_t parent;          /* a statement's cell */
    size_t line;            /* in the file read, from 1 (0: a statement, written by label) */
};

/* Reads every line of F (NAME in messages) into *OUT, *N_OUT cells; a line that is
 * not a cell is said on stderr and counted in *SKIPPED.  -1 with a message when out
 * of memory or on a read error (the cells read so far are in *OUT all the same). */
int cells_read(FILE *f, const char *name, struct label_cell **out, size_t *n_out, size_t *skipped);

/* --statements: appends, after the N cells read, one cell per top-level statement of
 * every cell that has two or more (pysrc_blocks), in the order of the cells they come
 * from; *N_SUB gets how many.  -1 when out of memory. */
int cells_add_statements(struct label_cell **cells, size_t n, size_t *n_sub);

/* One id given to two different sources (two ingest outputs joined with cat, each
 * PATH's ids relative to it): 1 with the two lines in *FIRST < *SECOND and the id in
 * *ID, the clash with the earliest first line; 0 when there is none (the same cell
 * twice is harmless); -1 when out of memory.  Why refused: a weak label written for
 * the id could go with either cell (train refuses the join, eval and label --gold
 * too), and the rules that read a cell's neighbours would take two notebooks for one. */
int cells_id_clash(const struct label_cell *c, size_t n, size_t *first, size_t *second, const char **id);

/* Whether A and B name the same notebook (a cell without one has no neighbours). */
int cells_same_notebook(const struct label_cell *a, const struct label_cell *b);

void cells_free(struct label_cell *c, size_t n);

#endif
