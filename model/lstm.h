/* lstm.h — the end model's parameters and numerics (Embedding -> SpatialDropout1D ->
 * LSTM -> Dense softmax), forward and hand-written backward passes, Adam.
 *
 * Owns: parameter layout (shared by training, the model file and inference), the
 * batched forward/backward used in training.  Layout follows Keras so weights compare
 * one to one: gate order i, f, c, o; kernels stored input-major (row = input unit).
 */
#ifndef NBSTAGE_LSTM_H
#define NBSTAGE_LSTM_H

#include <stddef.h>

struct lstm_params {
    int vocab;    /* 8000: ids 1..vocab-1 are tokens, 0 is padding */
    int embed;    /* 512 */
    int hidden;   /* 64 */
    int classes;  /* 6 */
    float *E;     /* vocab x embed */
    float *Wx;    /* embed x 4*hidden  (Keras "kernel") */
    float *Wh;    /* hidden x 4*hidden (Keras "recurrent_kernel") */
    float *b;     /* 4*hidden */
    float *Wd;    /* hidden x classes */
    float *bd;    /* classes */
};

#endif
