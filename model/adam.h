/* adam.h — the Adam optimiser, as Keras computes it.
 *
 * Owns: the step counter and the update rule.  Keras (TF2 optimizer_v2) folds the bias
 * corrections into the step size and adds epsilon to sqrt(v) uncorrected:
 *     lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
 *     m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *     w -= lr_t * m / (sqrt(v) + eps)
 * Defaults: lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-7.
 */
#ifndef NBSTAGE_ADAM_H
#define NBSTAGE_ADAM_H

#include <stddef.h>

struct adam {
    double lr, beta1, beta2, eps;
    long step;      /* updates done so far */
    double lr_t;    /* this step's corrected learning rate */
};

/* Keras' defaults with learning rate LR. */
void adam_init(struct adam *a, double lr);
/* Counts one more step and computes its lr_t: call once per mini-batch, before the
 * blocks' updates. */
void adam_begin_step(struct adam *a);
/* Updates N weights W with gradients G and moments M, V (zero-initialised). */
void adam_update(const struct adam *a, float *w, const float *g, float *m, float *v, size_t n);

#endif
