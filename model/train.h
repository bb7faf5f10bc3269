/* train.h — training the end model: mini-batches, spatial/input/recurrent dropout,
 * categorical cross-entropy, Adam, early stopping that restores the best weights,
 * learning curves.  The caller (cmd_train, through trainrun.c) prepares token sequences
 * and targets, splits off the validation set and writes the model file.
 */
#ifndef NBSTAGE_TRAIN_H
#define NBSTAGE_TRAIN_H

#include <stdatomic.h>
#include <stdio.h>

#include "model/lstm.h"

struct train_config {
    float spatial_dropout;   /* SpatialDropout1D rate (study: 0.8) */
    float dropout;           /* LSTM input dropout (study: 0.8) */
    float recurrent_dropout; /* LSTM recurrent dropout (study: 0.8) */
    float lr;                /* Adam learning rate (Keras default 0.001) */
    int batch;               /* 256 in the study */
    int max_epochs;          /* 15 */
    int patience;            /* early stopping on validation accuracy: 7 */
    unsigned long seed;      /* everything random derives from it */
    int threads;             /* our threads, each a share of every batch (and of the
                              * validation set), OpenBLAS single-threaded in each;
                              * 0 = as many as OpenBLAS has */
    const char *curves_csv;  /* per-epoch loss/accuracy, train and validation; may be NULL */
    const char *curves_svg;  /* the same as a plot; may be NULL */
    const char *checkpoint;  /* the run's state written here after every epoch, and read
                              * back at the start when it is there (model/checkpoint.h);
                              * may be NULL */
    atomic_int *stop;        /* set (by a SIGINT handler) to stop after this batch */
};

/* N sequences of SEQ_LEN token ids (front-padded with 0), with targets as N x classes
 * probabilities (one-hot or the label model's soft labels). */
struct train_data {
    int n;
    int seq_len;
    const int *tokens;
    const float *targets;
};

struct train_result {
    int epochs_run;
    int best_epoch;      /* 1-based */
    double best_val_acc;
    double best_val_loss;
    int interrupted;     /* stopped by cfg->stop */
    int diverged;        /* stopped at an epoch that left non-finite weights or losses
                          * (not counted in epochs_run, never the best) */
    int curves_failed;   /* a curves file could not be written (said on stderr): no
                          * more were written, training went on */
    int resumed_from;    /* the epoch cfg->checkpoint had reached, 0: a fresh run */
    int checkpoint_failed; /* cfg->checkpoint could not be written (said on stderr): no
                            * more were tried, training went on */
    int checkpoint_refused; /* cfg->checkpoint could not be resumed (said on stderr):
                             * lstm_train returned -1 before any epoch */
};

/* Keras' initialisers: uniform(-0.05, 0.05) embedding, Glorot-uniform kernel,
 * orthogonal recurrent kernel, zero biases but forget gate 1, Glorot-uniform dense.
 * Allocates P's arrays.  -1 when out of memory. */
int lstm_params_init(struct lstm_params *p, int vocab, int embed, int hidden, int classes,
                     unsigned long seed);
void lstm_params_free(struct lstm_params *p);

/* Trains P in place; on return P holds the weights of the best validation epoch (the
 * initial ones when a diverged first epoch left none, see train_result.diverged).
 * With cfg->checkpoint, a checkpoint of this run found there is resumed (P's weights
 * are then the checkpoint's), and one is written after every epoch.  One progress
 * line per epoch to PROGRESS (may be NULL).  -1 on error (said on stderr; a
 * checkpoint that cannot be resumed is one). */
int lstm_train(struct lstm_params *p, const struct train_config *cfg,
               const struct train_data *train, const struct train_data *val,
               struct train_result *res, FILE *progress);

/* Class probabilities (N x classes) for N sequences, no dropout: the reference
 * path for evaluation and tests (inference in model.c uses the precomputed table). */
int lstm_predict(const struct lstm_params *p, const int *tokens, int n, int seq_len, float *probs);

#endif
