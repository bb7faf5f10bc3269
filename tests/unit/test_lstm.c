/* test_lstm.c — proofs for the LSTM numerics: the hand-written backward pass of every
 * parameter block against central finite differences (with dropout masks on and soft
 * targets), Keras' initialisers, Adam's rule, and prediction equal to the training
 * forward pass without dropout.
 *
 * Tolerance: the model runs in float, so the finite differences use a step of 1e-2
 * on a loss summed in double; a gradient entry passes when
 *     |analytic - numeric| <= 2e-2 * max(|analytic|, |numeric|) + 2e-4
 * (the absolute term covers entries near zero, where float rounding of the loss,
 * about 1e-7 / 2e-2 = 5e-6, dominates).  The largest relative error of each block is
 * printed.
 */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "model/adam.h"
#include "model/lstm.h"
#include "model/train.h"

enum { V = 20, D = 8, HID = 5, NC = 6, T = 7, NB = 3 };

static void random_batch(struct lstm_rng *r, int *tok, float *tg)
{
    for (int i = 0; i < NB * T; i++) tok[i] = (int)(lstm_rng_next(r) % V);
    tok[0] = tok[1] = 0;  /* front padding, as the tokenizer makes it */
    for (int b = 0; b < NB; b++) {   /* soft targets summing to 1 */
        double s = 0;
        for (int k = 0; k < NC; k++) { tg[b * NC + k] = (float)lstm_rng_uniform(r) + 0.05f; s += tg[b * NC + k]; }
        for (int k = 0; k < NC; k++) tg[b * NC + k] = (float)(tg[b * NC + k] / s);
    }
}

struct block { const char *name; float *w, *g; size_t n; };

static void gradcheck(int hid, int with_masks)
{
    struct lstm_params p, g;
    assert_int_equal(lstm_params_init(&p, V, D, hid, NC, 7), 0);
    /* Larger biases and dense weights than the initialisers give, so that every gate
     * and the softmax are away from their flat regions and every block matters. */
    struct lstm_rng r;
    lstm_rng_seed(&r, 99);
    for (int i = 0; i < 4 * hid; i++) p.b[i] += (float)(lstm_rng_uniform(&r) - 0.5);
    for (int i = 0; i < NC; i++) p.bd[i] = (float)(lstm_rng_uniform(&r) - 0.5);
    for (int i = 0; i < V * D; i++) p.E[i] *= 10;
    memset(&g, 0, sizeof g);
    g.vocab = V; g.embed = D; g.hidden = hid; g.classes = NC;
    assert_int_equal(lstm_params_alloc(&g), 0);

    struct lstm_work *w = lstm_work_new(&p, NB, T);
    assert_non_null(w);
    int tok[NB * T];
    float tg[NB * NC];
    random_batch(&r, tok, tg);
    if (with_masks) {
        /* Keras-style masks: zeros and 1/(1-rate) scales, one per sequence and channel. */
        w->use_in_mask = w->use_rec_mask = 1;
        for (int i = 0; i < NB * D; i++) w->in_mask[i] = lstm_rng_uniform(&r) < 0.3 ? 0.0f : 1.0f / 0.7f;
        for (int i = 0; i < NB * hid; i++) w->rec_mask[i] = lstm_rng_uniform(&r) < 0.3 ? 0.0f : 1.0f / 0.7f;
        if (with_masks == 2)   /* sequence 0 keeps one recurrent unit, sequence 1 none, 2 all */
            for (int j = 0; j < hid; j++) {
                w->rec_mask[j] = j == 1 ? 1.0f / 0.7f : 0.0f;
                w->rec_mask[hid + j] = 0.0f;
                w->rec_mask[2 * hid + j] = 1.0f / 0.7f;
            }
    }
    lstm_forward(&p, w, tok, NB, tg);
    lstm_backward(&p, w, tg, &g);

    struct block blocks[] = {
        { "E", p.E, g.E, (size_t)V * D },        { "Wx", p.Wx, g.Wx, (size_t)D * 4 * hid },
        { "Wh", p.Wh, g.Wh, (size_t)hid * 4 * hid }, { "b", p.b, g.b, 4 * (size_t)hid },
        { "Wd", p.Wd, g.Wd, (size_t)hid * NC },  { "bd", p.bd, g.bd, NC },
    };
    const float h = 1e-2f;
    for (size_t k = 0; k < sizeof blocks / sizeof *blocks; k++) {
        struct block *bl = &blocks[k];
        double worst = 0, gmax = 0;
        for (size_t i = 0; i < bl->n; i++) {
            float keep = bl->w[i];
            bl->w[i] = keep + h;
            double lp = lstm_forward(&p, w, tok, NB, tg);
            bl->w[i] = keep - h;
            double lm = lstm_forward(&p, w, tok, NB, tg);
            bl->w[i] = keep;
            double num = (lp - lm) / (2.0 * h), ana = bl->g[i];
            double scale = fmax(fabs(num), fabs(ana));
            if (scale > gmax) gmax = scale;
            if (scale > 1e-3 && fabs(num - ana) / scale > worst) worst = fabs(num - ana) / scale;
            if (fabs(num - ana) > 2e-2 * scale + 2e-4)
                fail_msg("%s[%zu]: analytic %.6g, numeric %.6g", bl->name, i, ana, num);
        }
        /* A block whose gradient is all zero would prove nothing. */
        assert_true(gmax > 1e-3);
        printf("gradcheck hidden %d%s %-2s: %zu entries, max relative error %.2e (max |grad| %.3g)\n",
               hid, with_masks ? " (dropout masks)" : "", bl->name, bl->n, worst, gmax);
    }
    lstm_work_free(w);
    lstm_params_free(&p);
    lstm_params_free(&g);
}

/* hidden 5: the plain-C cell; 12: the vector cell on 8 units and plain C on 4. */
static void test_gradcheck_plain(void **state) { (void)state; gradcheck(HID, 0); }
static void test_gradcheck_dropout(void **state) { (void)state; gradcheck(HID, 1); }
static void test_gradcheck_vector_cell(void **state) { (void)state; gradcheck(12, 0); }
static void test_gradcheck_vector_cell_dropout(void **state) { (void)state; gradcheck(12, 1); }
/* The recurrent mask's edges: a sequence with one kept unit and one with none (the
 * per-sequence dW_h's early return was tested only for none: a mutation audit, helper
 * 102, found 'if (r == 0) return' -> 'r == 1' alive). */
static void test_gradcheck_recurrent_mask_edges(void **state) { (void)state; gradcheck(HID, 2); }

/* The embedding gradient touches only the batch's rows, and clearing them leaves it zero. */
static void test_sparse_embedding_grad(void **state)
{
    (void)state;
    struct lstm_params p, g;
    assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 3), 0);
    memset(&g, 0, sizeof g);
    g.vocab = V; g.embed = D; g.hidden = HID; g.classes = NC;
    assert_int_equal(lstm_params_alloc(&g), 0);
    struct lstm_work *w = lstm_work_new(&p, NB, T);
    int tok[NB * T];
    float tg[NB * NC];
    for (int i = 0; i < NB * T; i++) tok[i] = i % 4;   /* rows 0..3 only */
    for (int i = 0; i < NB * NC; i++) tg[i] = i % NC == 0;
    lstm_forward(&p, w, tok, NB, tg);
    lstm_backward(&p, w, tg, &g);
    for (int v = 0; v < V; v++) {
        double s = 0;
        for (int d = 0; d < D; d++) s += fabs(g.E[v * D + d]);
        if (v < 4) assert_true(s > 0); else assert_true(s == 0);
    }
    lstm_grad_clear_rows(&p, w, &g);
    for (int i = 0; i < V * D; i++) assert_true(g.E[i] == 0);
    lstm_work_free(w);
    lstm_params_free(&p);
    lstm_params_free(&g);
}

/* Keras' initialisers: orthonormal recurrent rows, forget bias 1, Glorot limits. */
static void test_init(void **state)
{
    (void)state;
    struct lstm_params p;
    assert_int_equal(lstm_params_init(&p, 100, 32, 16, 6, 1), 0);
    int G = 64;
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            double dot = 0;
            for (int k = 0; k < G; k++) dot += (double)p.Wh[i * G + k] * p.Wh[j * G + k];
            assert_true(fabs(dot - (i == j)) < 1e-5);
        }
    for (int k = 0; k < G; k++) assert_true(p.b[k] == (k >= 16 && k < 32 ? 1.0f : 0.0f));
    double lim = sqrt(6.0 / (32 + 64)), seen = 0;
    for (int i = 0; i < 32 * G; i++) {
        assert_true(fabs(p.Wx[i]) <= lim);
        if (fabs(p.Wx[i]) > seen) seen = fabs(p.Wx[i]);
    }
    assert_true(seen > 0.9 * lim);   /* uniform over the whole range */
    for (int i = 0; i < 100 * 32; i++) assert_true(fabs(p.E[i]) <= 0.05);
    /* Same seed, same weights; another seed, others. */
    struct lstm_params q;
    assert_int_equal(lstm_params_init(&q, 100, 32, 16, 6, 1), 0);
    assert_memory_equal(p.Wh, q.Wh, 16 * G * sizeof(float));
    lstm_params_free(&q);
    assert_int_equal(lstm_params_init(&q, 100, 32, 16, 6, 2), 0);
    assert_true(memcmp(p.Wx, q.Wx, 32 * G * sizeof(float)) != 0);
    lstm_params_free(&q);
    lstm_params_free(&p);
}

/* Step S (from 1) of Keras' Adam (lr 0.01, betas 0.9 and 0.999, epsilon 1e-7 added
 * to sqrt(v) uncorrected) in double: the reference adam_update is checked against. */
static void adam_step_double(double *W, double *M, double *Vv, const float *gr, int n, int s)
{
    double lr_t = 0.01 * sqrt(1 - pow(0.999, s)) / (1 - pow(0.9, s));
    for (int i = 0; i < n; i++) {
        double gi = gr[i];
        M[i] = 0.9 * M[i] + 0.1 * gi;
        Vv[i] = 0.999 * Vv[i] + 0.001 * gi * gi;
        W[i] -= lr_t * M[i] / (sqrt(Vv[i]) + 1e-7);
    }
}

/* Adam against the rule computed in double for three steps, on 11 weights (the
 * 8-wide vector path and the scalar tail). */
static void test_adam(void **state)
{
    (void)state;
    enum { N = 11 };
    struct adam a;
    adam_init(&a, 0.01);
    float w[N], m[N] = { 0 }, v[N] = { 0 }, gr[N];
    double W[N], M[N] = { 0 }, Vv[N] = { 0 };
    for (int i = 0; i < N; i++) W[i] = w[i] = (float)(i - 5) * 0.25f;
    for (int s = 1; s <= 3; s++) {
        for (int i = 0; i < N; i++) gr[i] = (float)(((i * 7 + s * 3) % 11) - 5) * 0.1f * (float)s;
        adam_begin_step(&a);
        adam_update(&a, w, gr, m, v, N);
        adam_step_double(W, M, Vv, gr, N, s);
    }
    for (int i = 0; i < N; i++) assert_true(fabs(w[i] - W[i]) < 1e-6);
    /* Adam's first step moves a weight by about lr, whatever the gradient's size. */
    struct adam b;
    adam_init(&b, 0.01);
    float x[2] = { 0, 0 }, mx[2] = { 0 }, vx[2] = { 0 }, gx[2] = { 1e-3f, 1e3f };
    adam_begin_step(&b);
    adam_update(&b, x, gx, mx, vx, 2);
    for (int i = 0; i < 2; i++) assert_true(fabs(x[i] + 0.01) < 1e-4);
}

/* Where the gradients are as small as epsilon (1e-7, added to sqrt(v) uncorrected),
 * epsilon sets the step: on 11 weights (the vector path and the scalar tail) two steps
 * against the rule in double, to 1e-3 of the step.  test_adam's gradients make
 * sqrt(v) a million times epsilon, so a mutation audit (helper 102) found eps 1e-7 ->
 * 5e-8 and the tail's 'sqrtf(vi) + eps' -> '- eps' alive. */
static void test_adam_epsilon(void **state)
{
    (void)state;
    enum { N = 11 };
    struct adam a;
    adam_init(&a, 0.01);
    float w[N] = { 0 }, m[N] = { 0 }, v[N] = { 0 }, gr[N];
    double W[N] = { 0 }, M[N] = { 0 }, Vv[N] = { 0 };
    for (int s = 1; s <= 2; s++) {
        for (int i = 0; i < N; i++) gr[i] = (float)(i + s) * 2e-8f;
        adam_begin_step(&a);
        adam_update(&a, w, gr, m, v, N);
        adam_step_double(W, M, Vv, gr, N, s);
    }
    for (int i = 0; i < N; i++)
        if (fabs(w[i] - W[i]) > 1e-3 * fabs(W[i])) fail_msg("w[%d] %.9g, expected %.9g", i, w[i], W[i]);
}

/* lstm_predict (table lookup path and gather path, one thread or three) equals the
 * forward pass. */
static void test_predict_matches_forward(void **state)
{
    (void)state;
    struct lstm_params p;
    assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 11), 0);
    struct lstm_rng r;
    lstm_rng_seed(&r, 5);
    enum { N = 70 };   /* 70 x 7 tokens > vocab: the table path; one sequence: the gather path */
    int tok[N * T];
    for (int i = 0; i < N * T; i++) tok[i] = (int)(lstm_rng_next(&r) % V);
    float probs[N * NC], one[NC];
    assert_int_equal(lstm_predict(&p, tok, N, T, probs), 0);
    struct lstm_work *w = lstm_work_new(&p, N, T);
    lstm_forward(&p, w, tok, N, NULL);
    for (int i = 0; i < N * NC; i++) assert_true(fabsf(probs[i] - w->probs[i]) < 1e-5f);
    assert_int_equal(lstm_predict(&p, tok + 5 * T, 1, T, one), 0);
    for (int k = 0; k < NC; k++) assert_true(fabsf(one[k] - w->probs[5 * NC + k]) < 1e-5f);
    double s = 0;
    for (int k = 0; k < NC; k++) s += one[k];
    assert_true(fabs(s - 1) < 1e-5);
    float probs3[N * NC];   /* over 3 threads: the same, up to float rounding */
    assert_int_equal(lstm_predict_threads(&p, tok, N, T, probs3, 3), 0);
    for (int i = 0; i < N * NC; i++) assert_true(fabsf(probs3[i] - probs[i]) < 1e-6f);
    tok[3] = V;   /* out of range: refused, not read */
    assert_int_equal(lstm_predict(&p, tok, N, T, probs), -1);
    tok[3] = 0;   /* anywhere: the last sequence's last token too (':770 n * seq_len -> n / seq_len' lived) */
    tok[N * T - 1] = V;
    assert_int_equal(lstm_predict(&p, tok, N, T, probs), -1);
    tok[N * T - 1] = -1;
    assert_int_equal(lstm_predict(&p, tok, N, T, probs), -1);
    tok[N * T - 1] = 0;
    assert_int_equal(lstm_predict(&p, tok, N, 0, probs), -1);   /* no steps */
    assert_int_equal(lstm_predict(&p, tok, N, T, probs), 0);
    lstm_work_free(w);
    lstm_params_free(&p);
}

/* Splitting a batch over threads gives the same gradients, up to float rounding
 * (OpenBLAS' kernels for a 3-row and a 9-row product may sum in another order; the
 * per-thread partial sums of dW_x are added in another order). */
static void threads_same_gradients(int with_masks)
{
    enum { BB = 9 };
    struct lstm_params p, g1, g3;
    assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 8), 0);
    memset(&g1, 0, sizeof g1);
    g1.vocab = V; g1.embed = D; g1.hidden = HID; g1.classes = NC;
    g3 = g1;
    assert_int_equal(lstm_params_alloc(&g1), 0);
    assert_int_equal(lstm_params_alloc(&g3), 0);
    struct lstm_rng r;
    lstm_rng_seed(&r, 4);
    int tok[BB * T];
    float tg[BB * NC];
    for (int i = 0; i < BB * T; i++) tok[i] = (int)(lstm_rng_next(&r) % V);
    for (int i = 0; i < BB * NC; i++) tg[i] = i % NC == i / NC % NC;
    struct lstm_work *w1 = lstm_work_new(&p, BB, T), *w3 = lstm_work_new(&p, BB, T);
    assert_int_equal(lstm_work_set_threads(w3, &p, 3), 0);
    struct lstm_work *ws[2] = { w1, w3 };
    for (int k = 0; k < 2 && with_masks; k++) {
        ws[k]->use_in_mask = ws[k]->use_rec_mask = 1;
        struct lstm_rng mr;
        lstm_rng_seed(&mr, 77);
        for (int i = 0; i < BB * D; i++) ws[k]->in_mask[i] = lstm_rng_uniform(&mr) < 0.5 ? 0.0f : 2.0f;
        for (int i = 0; i < BB * HID; i++) ws[k]->rec_mask[i] = lstm_rng_uniform(&mr) < 0.5 ? 0.0f : 2.0f;
    }
    double l1 = lstm_forward(&p, w1, tok, BB, tg), l3 = lstm_forward(&p, w3, tok, BB, tg);
    assert_true(fabs(l1 - l3) <= 1e-6 * l1);
    lstm_backward(&p, w1, tg, &g1);
    lstm_backward(&p, w3, tg, &g3);
    struct block blocks[] = {
        { "E", g1.E, g3.E, (size_t)V * D },        { "Wx", g1.Wx, g3.Wx, (size_t)D * 4 * HID },
        { "Wh", g1.Wh, g3.Wh, (size_t)HID * 4 * HID }, { "b", g1.b, g3.b, 4 * HID },
        { "Wd", g1.Wd, g3.Wd, (size_t)HID * NC },  { "bd", g1.bd, g3.bd, NC },
    };
    for (size_t k = 0; k < sizeof blocks / sizeof *blocks; k++) {
        double gmax = 0;
        for (size_t i = 0; i < blocks[k].n; i++) gmax = fmax(gmax, fabs(blocks[k].w[i]));
        for (size_t i = 0; i < blocks[k].n; i++)
            if (fabs(blocks[k].w[i] - blocks[k].g[i]) > 1e-5 * gmax)
                fail_msg("%s[%zu]: 1 thread %.9g, 3 threads %.9g", blocks[k].name, i, blocks[k].w[i], blocks[k].g[i]);
    }
    lstm_work_free(w1); lstm_work_free(w3);
    lstm_params_free(&p); lstm_params_free(&g1); lstm_params_free(&g3);
}

/* With masks: the per-sequence projection; without: the one batch product. */
static void test_threads_same_gradients(void **state) { (void)state; threads_same_gradients(1); }
static void test_threads_same_gradients_batch_path(void **state) { (void)state; threads_same_gradients(0); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradcheck_plain),
        cmocka_unit_test(test_gradcheck_dropout),
        cmocka_unit_test(test_gradcheck_vector_cell),
        cmocka_unit_test(test_gradcheck_vector_cell_dropout),
        cmocka_unit_test(test_gradcheck_recurrent_mask_edges),
        cmocka_unit_test(test_sparse_embedding_grad),
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_adam),
        cmocka_unit_test(test_adam_epsilon),
        cmocka_unit_test(test_predict_matches_forward),
        cmocka_unit_test(test_threads_same_gradients),
        cmocka_unit_test(test_threads_same_gradients_batch_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
