/* adam.c — the Adam update rule (Keras' formulation, see adam.h).
 *
 * The loop is written branch-free over contiguous arrays so the compiler can
 * vectorise it: the dense embedding update (8000 x 512 weights every mini-batch, as
 * Keras does it) is memory-bound and is the largest loop of a training step.
 */
#include "model/adam.h"

#include <math.h>

void adam_init(struct adam *a, double lr)
{
    a->lr = lr; a->beta1 = 0.9; a->beta2 = 0.999; a->eps = 1e-7;
    a->step = 0; a->lr_t = 0;
}

void adam_begin_step(struct adam *a)
{
    a->step++;
    a->lr_t = a->lr * sqrt(1 - pow(a->beta2, (double)a->step)) / (1 - pow(a->beta1, (double)a->step));
}

void adam_update(const struct adam *a, float *restrict w, const float *restrict g,
                 float *restrict m, float *restrict v, size_t n)
{
    const float b1 = (float)a->beta1, b2 = (float)a->beta2, c1 = (float)(1 - a->beta1),
                c2 = (float)(1 - a->beta2), lr = (float)a->lr_t, eps = (float)a->eps;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi; v[i] = vi;
        w[i] -= lr * mi / (sqrtf(vi) + eps);
    }
}
