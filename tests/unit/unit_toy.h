/* unit_toy.h — the training tests' fixed toy problem: the class of a sequence is which
 * of 6 marker tokens (ids 1..6) it holds, anywhere among random filler tokens after
 * front padding.  NTRAIN training then NVAL validation sequences of T tokens, one-hot
 * targets; the same for every run (seed 2024); and the training settings they use.  test_lstm_train.c and
 * test_train_early_stop.c train on it.
 */
#ifndef NBSTAGE_UNIT_TOY_H
#define NBSTAGE_UNIT_TOY_H

#include "model/lstm.h"
#include "model/train.h"

enum { V = 40, D = 16, HID = 16, NC = 6, T = 20, NTRAIN = 600, NVAL = 200 };

struct toy { int tok[(NTRAIN + NVAL) * T]; float tg[(NTRAIN + NVAL) * NC]; };

static inline void make_toy(struct toy *d)
{
    struct lstm_rng r;
    lstm_rng_seed(&r, 2024);
    for (int s = 0; s < NTRAIN + NVAL; s++) {
        int len = 4 + (int)(lstm_rng_next(&r) % (T - 3)), cls = (int)(lstm_rng_next(&r) % NC);
        int *tk = d->tok + s * T, pos = T - len + (int)(lstm_rng_next(&r) % len);
        for (int t = 0; t < T; t++)
            tk[t] = t < T - len ? 0 : 1 + NC + (int)(lstm_rng_next(&r) % (V - 1 - NC));
        tk[pos] = 1 + cls;   /* markers are ids 1..6 */
        for (int k = 0; k < NC; k++) d->tg[s * NC + k] = k == cls;
    }
}

/* Small dropouts, Adam at 0.01, batch 32, at most 15 epochs, patience 4, seed 42, one
 * thread: the toy run reaches test_lstm_train.c's stated accuracy with them. */
static inline struct train_config toy_config(void)
{
    struct train_config c = { 0 };
    c.spatial_dropout = 0.1f; c.dropout = 0.1f; c.recurrent_dropout = 0.1f;
    c.lr = 0.01f; c.batch = 32; c.max_epochs = 15; c.patience = 4; c.seed = 42; c.threads = 1;
    return c;
}

/* Every weight of P and Q (toy sizes) equal, bit for bit. */
static inline void assert_same_weights(const struct lstm_params *p, const struct lstm_params *q)
{
    assert_memory_equal(p->E, q->E, (size_t)V * D * sizeof(float));
    assert_memory_equal(p->Wx, q->Wx, (size_t)D * 4 * HID * sizeof(float));
    assert_memory_equal(p->Wh, q->Wh, (size_t)HID * 4 * HID * sizeof(float));
    assert_memory_equal(p->b, q->b, (size_t)4 * HID * sizeof(float));
    assert_memory_equal(p->Wd, q->Wd, (size_t)HID * NC * sizeof(float));
    assert_memory_equal(p->bd, q->bd, (size_t)NC * sizeof(float));
}

#endif
