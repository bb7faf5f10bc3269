/* metrics.h — scoring predicted stages against true ones.
 *
 * Owns: the confusion matrix, accuracy, per-class precision/recall/F1 and macro-F1,
 * the classification report in scikit-learn's text layout, the confusion matrix as
 * text and as an SVG picture.  Used by `nbstage label --gold` and `nbstage eval`.
 */
#ifndef NBSTAGE_METRICS_H
#define NBSTAGE_METRICS_H

#include <stdio.h>

#include "labeling/stage.h"

struct confusion {
    long m[N_STAGES][N_STAGES]; /* m[true][predicted] */
    long unlabeled;             /* items with a true label but no prediction */
    long unlabeled_of[N_STAGES]; /* the same, by true label */
};

void confusion_add(struct confusion *c, int truth, int predicted); /* predicted may be STAGE_NONE */
long confusion_total(const struct confusion *c);                  /* predicted items */
double confusion_accuracy(const struct confusion *c);             /* over predicted items */
double confusion_coverage(const struct confusion *c);             /* predicted / all */
double confusion_macro_f1(const struct confusion *c);               /* over predicted items */
/* Macro-F1 with items without a prediction counted as misses of their true class:
 * sklearn's f1_score(y, p, average="macro") with "no prediction" a label of its own,
 * left out of the average (labels = the stages in y or p). */
double confusion_macro_f1_all(const struct confusion *c);
/* scikit-learn's classification_report(digits=3) layout, stage keys as names; one
 * line saying so instead when no item has a prediction. */
void metrics_print_report(FILE *to, const struct confusion *c);
/* The notes that go with the report where sklearn warns (UndefinedMetricWarning): a
 * class shown with no predicted items has precision 0.0 by convention, one with no
 * true items recall 0.0.  Nothing when there is none. */
void metrics_print_undefined(FILE *to, const struct confusion *c);
void metrics_print_confusion(FILE *to, const struct confusion *c);
/* The confusion matrix as an SVG picture in PATH, written atomically (outfile: the
 * old file stays as it was on any error).  0, or -1 with "PATH: reason" in ERR. */
int metrics_write_confusion_svg(const char *path, const struct confusion *c, const char *title,
                                char *err, size_t errlen);

#endif
