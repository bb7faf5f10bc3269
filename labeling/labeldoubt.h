/* labeldoubt.h — a classifier's accuracy by the hand labels' own doubt.
 *
 * Owns: counting hits by the confidence a hand label carries (the guide's h, m, l
 * column), and with the labeler's secondary stage also counted right; the two lines
 * `nbstage eval` and `nbstage label --gold` print under their accuracy.  The accuracy
 * on the cells the labeler was sure of tells a classifier's errors from the cells
 * two stages fit.  A cell without a prediction is a miss, as in the accuracy above.
 */
#ifndef NBSTAGE_LABELDOUBT_H
#define NBSTAGE_LABELDOUBT_H

#include <stdio.h>

#include "labeling/gold.h"

struct label_doubt {
    long n[3], right[3];  /* confidence h, m, l */
    long either;          /* right by its label or by its secondary */
    long with_secondary;  /* rows that name a secondary stage */
};

/* ROW is a scored hand label (a stage, not "none"); PRED a stage or -1 (none). */
void label_doubt_add(struct label_doubt *d, const struct gold_row *row, int pred);
/* Nothing for a file without those columns; each line begins with PREFIX. */
void label_doubt_print(FILE *to, const struct label_doubt *d, long scored, const char *prefix);

#endif
