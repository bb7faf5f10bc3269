/* checkpoint.h — a training run's whole state at the end of an epoch, in a file, so
 * that a run stopped (Ctrl-C, a batch scheduler's SIGTERM at its time limit, a closed
 * terminal, a crash, a power cut) goes on where it was instead of starting over:
 * `nbstage train --checkpoint FILE` (Keras' BackupAndRestore callback does the same).
 *
 * Owns: the file's layout and its checks, and what makes a checkpoint this run's.
 * A checkpoint holds the weights, Adam's moments and step, the best epoch's weights
 * and early stopping's count, the random stream and the batch order as they stand,
 * and the learning curves so far: a resumed run then gives the model an uninterrupted
 * run gives, byte for byte (on the same -j; the tests check it).
 *
 * Why a file of its own and not the model: the model file keeps the embedding folded
 * into the LSTM's input kernel (model/modelfile.h), from which training cannot go on,
 * and none of the optimiser's state.
 *
 * A checkpoint is this run's when the run is the same: the same training and
 * validation sequences and targets (by their CRC-32C and counts: other weak labels,
 * cells, --cap, --val-split, --vocab, --seq-len, --context... make others), the same
 * layer sizes, batch, learning rate, dropouts, patience and seed.  --epochs may be
 * raised (a run that stopped early for want of time goes on further) and -j
 * may differ (the result is then a sound training, not the same bytes).  Anything
 * else is refused, with what differs, and the file left as it is.
 *
 * Layout (the host's byte order, which a marker checks): "NBSCKPT\n", the version,
 * the run's settings, the state's numbers and a CRC-32C of the bytes so far (so that
 * a damaged file is said to be damaged, not another run's or at another epoch), the
 * curves' points, the batch order, the four parameter sets (weights, Adam's m and v,
 * the best epoch's), and last a CRC-32C of every byte before it.  Written atomically
 * (nbformat/outfile.h), so a stop during a write leaves the last epoch's checkpoint
 * whole; the hidden temporary (tens of MB) a kill -9 during the write leaves is
 * removed by the next run that writes into the folder (nbformat/nbsave.c's sweep).
 */
#ifndef NBSTAGE_CHECKPOINT_H
#define NBSTAGE_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "model/curves.h"
#include "model/lstm.h"
#include "model/train.h"

/* What a run is: a checkpoint is resumed only by a run with the same. */
struct checkpoint_run {
    int32_t n_train, n_val, seq_len, vocab, embed, hidden, classes, batch, patience;
    float lr, spatial_dropout, dropout, recurrent_dropout;
    uint64_t seed;
    uint32_t data_crc[4]; /* training tokens, their targets, validation tokens, their targets */
};

/* Where training stands at the end of epoch EPOCH. */
struct checkpoint_state {
    int32_t epoch;        /* epochs done */
    int32_t wait;         /* early stopping: epochs in a row without a better val_acc */
    int32_t have_best, best_epoch;
    int32_t threads;      /* the run's threads: not the run's identity, but another
                           * count gives other bytes (said on resuming) */
    int64_t adam_step;
    double best_score;    /* what early stopping compares: val_acc, or the epoch
                           * without a validation set */
    double best_val_acc, best_val_loss;
    uint64_t rng[4];
    char made_by[48];     /* "nbstage VERSION, OpenBLAS CORE": what computed the run
                           * (another gives other bytes on resuming: said) */
    int *order;                /* n_train: the batch order, shuffled again each epoch */
    struct curve_point *curve; /* EPOCH points */
    struct lstm_params *p, *m, *v, *best; /* the weights, Adam's moments, the best epoch's */
};

/* R for a run of CFG on P's sizes over TRAIN and VAL (NULL or empty: none). */
void checkpoint_run_of(struct checkpoint_run *r, const struct train_config *cfg, const struct lstm_params *p,
                       const struct train_data *train, const struct train_data *val);

/* Writes R and S to PATH, atomically: 0, or -1 and "PATH: reason" in ERR (an older
 * checkpoint at PATH is then left as it was). */
int checkpoint_write(const char *path, const struct checkpoint_run *r, const struct checkpoint_state *s,
                     char *err, size_t errlen);

/* Whether PATH can be a checkpoint to resume, before a run reads its inputs: 0 when
 * there is no file (a fresh run) or it begins as this version's checkpoints do; -1
 * and "PATH: reason" in ERR when it is not a regular file (a FIFO would block the
 * run, /dev/null is no checkpoint), cannot be read, or is not one. */
int checkpoint_peek(const char *path, char *err, size_t errlen);

/* Reads PATH into S, whose arrays are the caller's: ORDER of R->n_train, CURVE of
 * MAX_EPOCHS points, and the four parameter sets allocated at R's sizes.  1 when read
 * (S filled); 0 when there is no file at PATH (a fresh run; S untouched); -1 and
 * "PATH: reason" in ERR when it cannot be read, is not a checkpoint, is truncated or
 * corrupted, is another run's (what differs is said), or is past MAX_EPOCHS epochs.
 * After -1, S's arrays may hold part of the file. */
int checkpoint_read(const char *path, const struct checkpoint_run *r, int max_epochs,
                    struct checkpoint_state *s, char *err, size_t errlen);

#endif
