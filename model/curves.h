/* curves.h — learning curves of a training run: loss and accuracy per epoch, train
 * and validation, as a CSV table and as an SVG plot (two panels, like the study's
 * convergence graphs).
 */
#ifndef NBSTAGE_CURVES_H
#define NBSTAGE_CURVES_H

#include <stddef.h>

struct curve_point {
    int epoch;          /* 1-based */
    double loss, acc;   /* training, averaged over the epoch's batches */
    double val_loss, val_acc;  /* NAN when there is no validation set */
    double seconds;
};

/* Each writes the whole file atomically (temporary file, then rename) so that the
 * curves of an interrupted run are complete up to the last epoch.  -1 with
 * "PATH: reason" in ERR on failure. */
int curves_write_csv(const char *path, const struct curve_point *pts, int n, char *err, size_t errlen);
int curves_write_svg(const char *path, const struct curve_point *pts, int n, char *err, size_t errlen);

#endif
