/* test_lstm_reference.c — the C forward pass against an independent NumPy one
 * (tests/reference/lstm_ref.py, float64, run with /usr/bin/python3 or $PYTHON) on
 * random weights and tokens: class probabilities and the last hidden state agree
 * within 1e-5, without dropout (training forward and the table-lookup prediction) and
 * with Keras-style dropout masks, at a small size and at the study's (8000 x 512,
 * LSTM 64, 6 classes, 120 steps).
 */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/lstm.h"
#include "model/train.h"

#define TOLERANCE 1e-5

static const char *python(void)
{
    const char *p = getenv("PYTHON");
    return p && *p ? p : "/usr/bin/python3";
}

static void put(FILE *f, const void *a, size_t n, size_t size)
{
    assert_int_equal(fwrite(a, size, n, f), n);
}

/* Writes the case, runs the reference, reads its probabilities and hidden states. */
static void run_reference(const struct lstm_params *p, const int *tok, int B, int T,
                          const struct lstm_work *masks, double *probs, double *h)
{
    char in[64], out[64], cmd[512];
    snprintf(in, sizeof in, "/tmp/lstm_ref_in.%d.bin", (int)getpid());
    snprintf(out, sizeof out, "/tmp/lstm_ref_out.%d.bin", (int)getpid());
    FILE *f = fopen(in, "wb");
    assert_non_null(f);
    int head[7] = { p->vocab, p->embed, p->hidden, p->classes, B, T, masks != NULL };
    size_t G = lstm_gates(p);
    put(f, head, 7, sizeof(int));
    put(f, p->E, (size_t)p->vocab * p->embed, sizeof(float));
    put(f, p->Wx, (size_t)p->embed * G, sizeof(float));
    put(f, p->Wh, (size_t)p->hidden * G, sizeof(float));
    put(f, p->b, G, sizeof(float));
    put(f, p->Wd, (size_t)p->hidden * p->classes, sizeof(float));
    put(f, p->bd, (size_t)p->classes, sizeof(float));
    put(f, tok, (size_t)B * T, sizeof(int));
    if (masks) {
        put(f, masks->in_mask, (size_t)B * p->embed, sizeof(float));
        put(f, masks->rec_mask, (size_t)B * p->hidden, sizeof(float));
    }
    assert_int_equal(fclose(f), 0);
    snprintf(cmd, sizeof cmd, "%s tests/reference/lstm_ref.py %s %s", python(), in, out);
    int rc = system(cmd);
    if (rc != 0) fail_msg("reference failed (%d): %s", rc, cmd);
    f = fopen(out, "rb");
    assert_non_null(f);
    assert_int_equal(fread(probs, sizeof(double), (size_t)B * p->classes, f), (size_t)B * p->classes);
    assert_int_equal(fread(h, sizeof(double), (size_t)B * p->hidden, f), (size_t)B * p->hidden);
    fclose(f);
    remove(in);
    remove(out);
}

static double max_diff(const float *a, const double *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

static void compare(int vocab, int embed, int hidden, int B, int T, int with_masks)
{
    struct lstm_params p;
    assert_int_equal(lstm_params_init(&p, vocab, embed, hidden, 6, 17), 0);
    struct lstm_rng r;
    lstm_rng_seed(&r, 23);
    /* Spread the weights beyond the initialisers' so gates and softmax saturate unevenly. */
    for (size_t i = 0; i < (size_t)vocab * embed; i++) p.E[i] *= 8;
    for (size_t i = 0; i < lstm_gates(&p); i++) p.b[i] += (float)(lstm_rng_uniform(&r) - 0.5);
    for (int i = 0; i < hidden * 6; i++) p.Wd[i] *= 3;
    for (int i = 0; i < 6; i++) p.bd[i] = (float)(lstm_rng_uniform(&r) - 0.5);
    int *tok = malloc((size_t)B * T * sizeof(int));
    for (int s = 0; s < B; s++)     /* front padding of varying length, then tokens */
        for (int t = 0; t < T; t++)
            tok[s * T + t] = t < s * T / (2 * B) ? 0 : 1 + (int)(lstm_rng_next(&r) % (uint64_t)(vocab - 1));

    struct lstm_work *w = lstm_work_new(&p, B, T);
    assert_non_null(w);
    if (with_masks) {
        w->use_in_mask = w->use_rec_mask = 1;
        for (int i = 0; i < B * embed; i++)
            w->in_mask[i] = (lstm_rng_uniform(&r) < 0.5 ? 0.0f : 2.0f) * (lstm_rng_uniform(&r) < 0.2 ? 0.0f : 1.25f);
        for (int i = 0; i < B * hidden; i++) w->rec_mask[i] = lstm_rng_uniform(&r) < 0.3 ? 0.0f : 1.0f / 0.7f;
    }
    lstm_forward(&p, w, tok, B, NULL);
    double *probs = malloc((size_t)B * 6 * sizeof(double)), *h = malloc((size_t)B * hidden * sizeof(double));
    run_reference(&p, tok, B, T, with_masks ? w : NULL, probs, h);
    double dp = max_diff(w->probs, probs, (size_t)B * 6), dh = max_diff(w->hlast, h, (size_t)B * hidden);
    printf("vs NumPy (vocab %d, embed %d, hidden %d, batch %d, T %d%s): max |dp| %.2e, max |dh| %.2e\n",
           vocab, embed, hidden, B, T, with_masks ? ", dropout masks" : "", dp, dh);
    assert_true(dp <= TOLERANCE);
    assert_true(dh <= TOLERANCE);
    double spread = 0;   /* the case must not be degenerate: probabilities far from uniform */
    for (int i = 0; i < B * 6; i++) spread = fmax(spread, fabs(probs[i] - 1.0 / 6));
    assert_true(spread > 0.05);
    if (!with_masks) {
        float *pp = malloc((size_t)B * 6 * sizeof(float));
        assert_int_equal(lstm_predict(&p, tok, B, T, pp), 0);
        double dq = max_diff(pp, probs, (size_t)B * 6);
        printf("  lstm_predict: max |dp| %.2e\n", dq);
        assert_true(dq <= TOLERANCE);
        free(pp);
    }
    free(probs); free(h); free(tok);
    lstm_work_free(w);
    lstm_params_free(&p);
}

static void test_small(void **state) { (void)state; compare(300, 64, 16, 7, 120, 0); }
static void test_small_masks(void **state) { (void)state; compare(300, 64, 16, 7, 120, 1); }
static void test_study_size(void **state) { (void)state; compare(8000, 512, 64, 80, 120, 0); }
static void test_study_size_masks(void **state) { (void)state; compare(8000, 512, 64, 5, 120, 1); }

int main(void)
{
    if (access("tests/reference/lstm_ref.py", R_OK) != 0) {
        fprintf(stderr, "test_lstm_reference: run from the repository root (tests/reference/lstm_ref.py)\n");
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small),
        cmocka_unit_test(test_small_masks),
        cmocka_unit_test(test_study_size),
        cmocka_unit_test(test_study_size_masks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
