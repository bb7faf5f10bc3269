/* gold.h — hand-label files (the labeling guide's TSV format).
 *
 * Owns: reading `cell_id label secondary confidence note` files (LF or CRLF, a
 * leading UTF-8 byte-order mark skipped, as spreadsheets save them; UTF-16, their
 * "Unicode Text", refused by name), looking a cell id up, and saying what the ids
 * look like when none matches.  A cell listed twice counts once when both rows give
 * the same label, and is an error when they differ.  And which hand labels have
 * scored a cell (gold_seen): one label scores one cell.
 * Used by `nbstage label --gold` and `nbstage eval --gold`.
 */
#ifndef NBSTAGE_GOLD_H
#define NBSTAGE_GOLD_H

#include <stddef.h>
#include <stdio.h>

struct gold_row {
    char *cell_id;
    int label;      /* stage id, or STAGE_NONE for "none" (left out of scoring) */
    int secondary;  /* stage id, or STAGE_NONE when empty/none */
    char confidence; /* 'h', 'm', 'l' or 0 */
    size_t line;     /* in the file, from 1 */
};

struct gold {
    struct gold_row *rows; /* sorted by cell_id */
    size_t n;
};

/* Reads PATH.  On error (a bad row, a cell labeled twice differently) returns -1 and
 * writes "path:line: reason" into ERR. */
int gold_load(struct gold *g, const char *path, char *err, size_t errlen);
/* The row for CELL_ID, or NULL. */
const struct gold_row *gold_find(const struct gold *g, const char *cell_id);
void gold_free(struct gold *g);
/* When no cell id matches a label's: a line "WHO: the hand labels' ids look like
 * '<the file's first>', the cells' like 'CELL_ID' (...)" to TO, as ids relative to
 * another folder than ingest's are the usual cause. */
void gold_mismatch_hint(FILE *to, const char *who, const struct gold *g, const char *cell_id);

/* One hand label scores one cell.  An id met again with the same source is the same
 * cell given twice (CELLS named twice, `cat a a`): scored once.  With another source
 * it is another cell under the same id (two ingest outputs joined with cat, each
 * PATH's ids relative to it), and the label could go with either: the caller refuses
 * it, as `train` refuses the same join. */
struct gold_seen {
    size_t *line; /* [g->n] where the row's cell was met first, 0: not yet */
    char **src;   /* [g->n] its source (NULL: none given) */
    size_t *len;
};
int gold_seen_init(struct gold_seen *s, const struct gold *g); /* -1: out of memory */
/* ROW's cell met at LINE with source SRC[0..LEN) (SRC NULL: none to compare).
 * Returns 0 the first time, 1 met again with the same source (or with none to
 * compare), 2 met again with another source (*FIRST: the line it was met first on),
 * -1 out of memory. */
int gold_seen_add(struct gold_seen *s, const struct gold *g, const struct gold_row *row, size_t line,
                  const char *src, size_t len, size_t *first);
int gold_seen_met(const struct gold_seen *s, size_t i); /* row I has scored a cell */
/* The row labeled with a stage that has scored no cell and comes first in the file, or
 * NULL: the one a "N of M ... are not in CELLS" message names, as an id mistyped or
 * relative to another folder is not found by its count alone. */
const struct gold_row *gold_first_unmet(const struct gold_seen *s, const struct gold *g);
void gold_seen_free(struct gold_seen *s, const struct gold *g);

#endif
