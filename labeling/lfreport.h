/* lfreport.h — the LF analysis: how each labeling function behaves on a corpus.
 *
 * Owns: the per-LF table (stage, level, coverage, overlaps, conflicts, and with hand
 * labels its empirical accuracy beside the label model's estimate; a note under it
 * for a one-stage LF that votes on every item, labelmodel.h, and for each pair of
 * LFs voting alike on 99% of the items either votes on), and the summary
 * of the label model against majority vote (accuracy, coverage, classification
 * report, confusion matrix) when hand labels are given.
 */
#ifndef NBSTAGE_LFREPORT_H
#define NBSTAGE_LFREPORT_H

#include <stddef.h>
#include <stdio.h>

#include "labeling/gold.h"
#include "labeling/labelmodel.h"

#define GOLD_MISSING (-2) /* the item has no hand label */
#define LF_NO_VOTES (-2)  /* stage[j] of a --votes column that never votes: printed '-' */

struct lf_report {
    int m;                        /* LFs */
    const char *const *name;      /* [m] */
    const int *stage;             /* [m]; STAGE_NONE for "any", LF_NO_VOTES for '-' */
    const int *level;             /* [m] or NULL */
    const unsigned char *silent;  /* [m] or NULL: 1 for an LF whose abstains weigh nothing
                                     (lfset.h), its level printed with a '*' */
    size_t n;                     /* items */
    const signed char *votes;     /* [n][m] */
    const int *gold;              /* [n] stage, STAGE_NONE ("none"), GOLD_MISSING; or NULL */
    const struct gold_row *const *gold_rows; /* [n] each item's hand-label row (NULL where none), or NULL */
    const int *lm_pred;           /* [n] label model, -1 = unlabeled */
    const int *lm_pred_all;       /* [n] the label at --min-confidence 0 (a tie still
                                     withheld: weaklabel.h's weak_label), or NULL */
    double min_conf;
    const int *mv_pred;           /* [n] majority vote (ties unlabeled), -1 = unlabeled */
    const struct label_model *model;
    int table_only;               /* the table (gold columns included), not the gold summary */
};

/* 0, or -1 when out of memory (nothing more printed: the caller fails, and commits no
 * report file). */
int lf_report_print(FILE *to, const struct lf_report *r);

#endif
