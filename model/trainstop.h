/* trainstop.h — Ctrl-C, SIGTERM and SIGHUP during `nbstage train`'s epochs.
 *
 * Owns: the stop flag lstm_train reads after each batch (model/train.h: the batch
 * finished, the best weights kept), set by SIGINT, SIGTERM or SIGHUP (a batch
 * scheduler's time limit, or a closed terminal, should keep the best epoch as Ctrl-C
 * does); the handlers set for the
 * epochs alone, only where the signal is not ignored (nbformat/sigcatch.h), a second
 * signal acting as usual (SA_RESETHAND), after removing the temporary of a file being
 * written (nbformat/outfile.h), the handlers before restored after.
 */
#ifndef NBSTAGE_TRAINSTOP_H
#define NBSTAGE_TRAINSTOP_H

#include <signal.h>
#include <stdatomic.h>

struct trainstop { struct sigaction old_int, old_term, old_hup; };

/* Clears the stop flag, sets the handlers (the ones before saved in TS); the flag,
 * for train_config.stop. */
atomic_int *trainstop_catch(struct trainstop *ts);

/* Restores the handlers TS saved. */
void trainstop_release(const struct trainstop *ts);

#endif
