/* traincmd.h — what `nbstage train` (cmd_train.c: its options, their checks and the
 * dispatch) hands the run (trainrun.c).
 *
 * Owns: the options as parsed and checked (the outputs checked writable and distinct
 * from each other and from the inputs, the curves' two file names made, '-' given as
 * trainread_stdin), and SOURCE_DATE_EPOCH as read and checked before any work.
 */
#ifndef NBSTAGE_TRAINCMD_H
#define NBSTAGE_TRAINCMD_H

#include <time.h>

#include "model/train.h"

struct train_opts {
    const char *weak, *cells, *out, *curves;
    struct train_config cfg;
    int cap, soft, dedupe, vocab, seq_len, embed, hidden, quiet, assign_words, oov_word, context,
        round_recurrent;
    double val_split, min_conf;
    int have_sde;     /* SOURCE_DATE_EPOCH set: the model's date is sde_time, not now */
    time_t sde_time;
};

/* The run: the inputs read and joined, the sets made, the refusals said, training,
 * the model written.  The exit code (model/commands.h). */
int trainrun(const struct train_opts *o);

#endif
