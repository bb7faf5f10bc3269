/* gold.h — hand-label files (the labeling guide's TSV format).
 *
 * Owns: reading `cell_id label secondary confidence note` files (LF or CRLF, a
 * leading UTF-8 byte-order mark skipped, as spreadsheets save them; UTF-16, their
 * "Unicode Text", refused by name), looking a cell id up, and saying what the ids
 * look like when none matches.  A cell listed twice counts once when both rows give
 * the same label, and is an error when they differ.
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

#endif
