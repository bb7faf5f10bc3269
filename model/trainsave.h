/* trainsave.h — the model file `nbstage train` writes, with its provenance.
 *
 * Owns: the description the file carries (eval prints it): the date, SOURCE_DATE_EPOCH's
 * when set (a reproducible file) else now's; the cells trained and validated on; the
 * weak file's path whole; the settings, epochs, best epoch and val_acc (or that there
 * was no validation set); interrupted or diverged.  Writing the file through
 * model/modelfile.h, and the log line that says it was written.
 */
#ifndef NBSTAGE_TRAINSAVE_H
#define NBSTAGE_TRAINSAVE_H

#include <stddef.h>
#include <stdio.h>

#include "model/lstm.h"
#include "model/train.h"
#include "model/traincmd.h"
#include "model/vocab.h"

/* Writes P and V to O->out: 0, and "nbstage train: wrote ..." to LOG (may be NULL); or -1
 * with the reason said on stderr. */
int trainsave_model(const struct train_opts *o, const struct lstm_params *p, const struct vocab *v,
                    size_t ntrain, size_t nval, const struct train_result *res, FILE *log);

#endif
