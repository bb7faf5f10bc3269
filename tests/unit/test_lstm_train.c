/* test_lstm_train.c — the training loop end to end on a fixed toy problem: the class
 * of a sequence is which of 6 marker tokens it holds, anywhere among random filler
 * tokens after front padding.  Checks the stated accuracy, that the returned weights
 * are the best epoch's, the learning curves, determinism for a seed, Ctrl-C,
 * refusal of bad input, and a diverged run.
 */
#include "unit.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "model/lstm.h"
#include "model/train.h"
#include "tests/unit/unit_toy.h"

/* Stated goal: at least 95% validation accuracy within 15 epochs. */
#define TOY_ACCURACY 0.95

static double accuracy(const struct lstm_params *p, const struct toy *d, int from, int n)
{
    float *probs = malloc((size_t)n * NC * sizeof(float));
    assert_int_equal(lstm_predict(p, d->tok + from * T, n, T, probs), 0);
    int right = 0;
    for (int i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < NC; k++) if (probs[i * NC + k] > probs[i * NC + best]) best = k;
        right += d->tg[(from + i) * NC + best] == 1;
    }
    free(probs);
    return (double)right / n;
}

static void test_toy_problem(void **state)
{
    (void)state;
    static struct toy d;
    make_toy(&d);
    struct train_data tr = { NTRAIN, T, d.tok, d.tg }, va = { NVAL, T, d.tok + NTRAIN * T, d.tg + NTRAIN * NC };
    char csv[64], svg[64];
    snprintf(csv, sizeof csv, "/tmp/test_lstm_train.%d.csv", (int)getpid());
    snprintf(svg, sizeof svg, "/tmp/test_lstm_train.%d.svg", (int)getpid());
    struct train_config cfg = toy_config();
    cfg.curves_csv = csv; cfg.curves_svg = svg;
    struct lstm_params p;
    assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 1), 0);
    struct train_result res;
    assert_int_equal(lstm_train(&p, &cfg, &tr, &va, &res, stdout), 0);
    printf("toy problem: best val_acc %.4f at epoch %d of %d\n", res.best_val_acc, res.best_epoch, res.epochs_run);
    assert_true(res.best_val_acc >= TOY_ACCURACY);
    /* The weights returned are the best epoch's: they score exactly its accuracy. */
    assert_true(fabs(accuracy(&p, &d, NTRAIN, NVAL) - res.best_val_acc) < 1e-9);
    assert_false(res.interrupted);
    /* ... and bit for bit the weights of a run stopped right after that epoch. */
    struct train_config upto = toy_config();
    upto.max_epochs = res.best_epoch;
    struct lstm_params q;
    struct train_result res2;
    assert_int_equal(lstm_params_init(&q, V, D, HID, NC, 1), 0);
    assert_int_equal(lstm_train(&q, &upto, &tr, &va, &res2, NULL), 0);
    assert_int_equal(res2.epochs_run, res.best_epoch);
    assert_memory_equal(p.E, q.E, (size_t)V * D * sizeof(float));
    assert_memory_equal(p.Wx, q.Wx, (size_t)D * 4 * HID * sizeof(float));
    assert_memory_equal(p.Wh, q.Wh, (size_t)HID * 4 * HID * sizeof(float));
    assert_memory_equal(p.Wd, q.Wd, (size_t)HID * NC * sizeof(float));
    lstm_params_free(&q);

    /* Curves: a header and one row per epoch; an SVG with one polyline per series. */
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    char line[256];
    int rows = 0;
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "epoch,loss,accuracy,val_loss,val_accuracy,seconds\n");
    while (fgets(line, sizeof line, f)) {
        int e; double l, a, vl, vac;
        assert_int_equal(sscanf(line, "%d,%lf,%lf,%lf,%lf", &e, &l, &a, &vl, &vac), 5);
        assert_int_equal(e, ++rows);
        assert_true(l > 0 && a >= 0 && a <= 1 && vl > 0 && vac >= 0 && vac <= 1);
    }
    fclose(f);
    assert_int_equal(rows, res.epochs_run);
    f = fopen(svg, "r");
    assert_non_null(f);
    int polylines = 0, closed = 0;
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "<polyline")) polylines++;
        if (strstr(line, "</svg>")) closed = 1;
    }
    fclose(f);
    assert_int_equal(polylines, 4);
    assert_true(closed);
    remove(csv); remove(svg);
    lstm_params_free(&p);
}

/* The study's dropout (0.8 spatial, input and recurrent) on the toy problem, with 512
 * embedding channels (a sequence keeps about 20 of them) and two threads: still at
 * least 95% validation accuracy. */
static void test_toy_problem_study_dropout(void **state)
{
    (void)state;
    static struct toy d;
    make_toy(&d);
    struct train_data tr = { NTRAIN, T, d.tok, d.tg }, va = { NVAL, T, d.tok + NTRAIN * T, d.tg + NTRAIN * NC };
    struct train_config cfg = toy_config();
    cfg.spatial_dropout = cfg.dropout = cfg.recurrent_dropout = 0.8f;
    cfg.threads = 2;
    cfg.patience = 5;
    struct lstm_params p;
    assert_int_equal(lstm_params_init(&p, V, 512, 32, NC, 1), 0);
    struct train_result res;
    assert_int_equal(lstm_train(&p, &cfg, &tr, &va, &res, stdout), 0);
    printf("toy problem, study dropout: best val_acc %.4f at epoch %d of %d\n", res.best_val_acc, res.best_epoch,
           res.epochs_run);
    assert_true(res.best_val_acc >= TOY_ACCURACY);
    lstm_params_free(&p);
}

/* Same seed, same thread count: the same weights, bit for bit. */
static void test_deterministic(void **state)
{
    (void)state;
    static struct toy d;
    make_toy(&d);
    struct train_data tr = { 200, T, d.tok, d.tg }, va = { 50, T, d.tok + NTRAIN * T, d.tg + NTRAIN * NC };
    struct train_config cfg = toy_config();
    cfg.max_epochs = 2;
    struct lstm_params p, q;
    struct train_result res;
    assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 5), 0);
    assert_int_equal(lstm_params_init(&q, V, D, HID, NC, 5), 0);
    assert_int_equal(lstm_train(&p, &cfg, &tr, &va, &res, NULL), 0);
    assert_int_equal(lstm_train(&q, &cfg, &tr, &va, &res, NULL), 0);
    assert_memory_equal(p.E, q.E, (size_t)V * D * sizeof(float));
    assert_memory_equal(p.Wh, q.Wh, (size_t)HID * 4 * HID * sizeof(float));
    assert_memory_equal(p.Wd, q.Wd, (size_t)HID * NC * sizeof(float));
    /* Two threads: reproducible too, and close to the one-thread run (float rounding
     * of differently split products aside). */
    struct lstm_params a2, b2;
    struct train_config cfg2 = cfg;
    cfg2.threads = 2;
    assert_int_equal(lstm_params_init(&a2, V, D, HID, NC, 5), 0);
    assert_int_equal(lstm_params_init(&b2, V, D, HID, NC, 5), 0);
    assert_int_equal(lstm_train(&a2, &cfg2, &tr, &va, &res, NULL), 0);
    assert_int_equal(lstm_train(&b2, &cfg2, &tr, &va, &res, NULL), 0);
    assert_memory_equal(a2.E, b2.E, (size_t)V * D * sizeof(float));
    assert_memory_equal(a2.Wx, b2.Wx, (size_t)D * 4 * HID * sizeof(float));
    assert_memory_equal(a2.Wh, b2.Wh, (size_t)HID * 4 * HID * sizeof(float));
    for (int i = 0; i < D * 4 * HID; i++) assert_true(fabsf(a2.Wx[i] - p.Wx[i]) < 1e-3f);
    lstm_params_free(&a2);
    lstm_params_free(&b2);
#if defined(__SSE2__)
    /* Denormals are flushed for the run only (train.c): the caller's floating-point
     * environment is as it was, and with two threads the run still matches itself. */
    unsigned csr = _mm_getcsr();
    assert_int_equal(lstm_params_init(&a2, V, D, HID, NC, 5), 0);
    assert_int_equal(lstm_train(&a2, &cfg2, &tr, &va, &res, NULL), 0);
    assert_int_equal(_mm_getcsr(), csr);
    assert_int_equal(csr & 0x8040, 0);
    lstm_params_free(&a2);
#endif
    /* Another seed trains differently. */
    lstm_params_free(&q);
    assert_int_equal(lstm_params_init(&q, V, D, HID, NC, 5), 0);
    cfg.seed = 43;
    assert_int_equal(lstm_train(&q, &cfg, &tr, &va, &res, NULL), 0);
    assert_true(memcmp(p.Wx, q.Wx, (size_t)D * 4 * HID * sizeof(float)) != 0);
    lstm_params_free(&p);
    lstm_params_free(&q);
}

/* A stop request before the first batch ends: interrupted, weights untouched. */
static void test_stop(void **state)
{
    (void)state;
    static struct toy d;
    make_toy(&d);
    struct train_data tr = { 100, T, d.tok, d.tg };
    atomic_int stop = 1;
    struct train_config cfg = toy_config();
    cfg.stop = &stop;
    struct lstm_params p, q;
    struct train_result res;
    assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 5), 0);
    assert_int_equal(lstm_params_init(&q, V, D, HID, NC, 5), 0);
    assert_int_equal(lstm_train(&p, &cfg, &tr, NULL, &res, NULL), 0);
    assert_true(res.interrupted);
    assert_int_equal(res.epochs_run, 0);
    assert_memory_equal(p.Wx, q.Wx, (size_t)D * 4 * HID * sizeof(float));
    lstm_params_free(&p);
    lstm_params_free(&q);
}

/* Bad input is refused with -1, never read out of bounds. */
static void test_bad_input(void **state)
{
    (void)state;
    static struct toy d;
    make_toy(&d);
    struct lstm_params p;
    struct train_result res;
    assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 5), 0);
    struct train_config cfg = toy_config();
    struct train_data tr = { 10, T, d.tok, d.tg };
    d.tok[3] = V;
    assert_int_equal(lstm_train(&p, &cfg, &tr, NULL, &res, NULL), -1);
    d.tok[3] = -1;
    assert_int_equal(lstm_train(&p, &cfg, &tr, NULL, &res, NULL), -1);
    d.tok[3] = 0;
    d.tg[2] = NAN;
    assert_int_equal(lstm_train(&p, &cfg, &tr, NULL, &res, NULL), -1);
    d.tg[2] = 0;
    struct train_data wrong = { 10, T - 1, d.tok, d.tg };
    assert_int_equal(lstm_train(&p, &cfg, &tr, &wrong, &res, NULL), -1);
    cfg.dropout = 1.0f;
    assert_int_equal(lstm_train(&p, &cfg, &tr, NULL, &res, NULL), -1);
    cfg = toy_config();
    cfg.curves_csv = "/nonexistent-dir/curves.csv";
    cfg.max_epochs = 2;
    /* curves that cannot be written are said and dropped: the epochs go on */
    assert_int_equal(lstm_train(&p, &cfg, &tr, NULL, &res, NULL), 0);
    assert_int_equal(res.curves_failed, 1);
    assert_int_equal(res.epochs_run, 2);
    cfg.max_epochs = 1;
    struct train_data empty = { 0, T, d.tok, d.tg };
    assert_int_equal(lstm_train(&p, &cfg, &empty, NULL, &res, NULL), -1);
    lstm_params_free(&p);
}

/* A run whose numbers overflow (here an absurd learning rate; in practice a tiny
 * LSTM with strong recurrent dropout over long padded sequences, whose gradients
 * explode through the padding steps) stops at the first epoch that leaves
 * non-finite weights or losses: it is never taken as the best epoch, and with no
 * earlier epoch the weights go back to the initial ones (finite), not NaN ones that
 * the model file and classify's JSON would carry (`"confidence": nan`). */
static void test_diverged(void **state)
{
    (void)state;
    static struct toy d;
    make_toy(&d);
    struct train_data tr = { 200, T, d.tok, d.tg }, va = { 50, T, d.tok + NTRAIN * T, d.tg + NTRAIN * NC };
    for (int with_val = 0; with_val < 2; with_val++) {
        struct train_config cfg = toy_config();
        cfg.lr = 3e38f;
        cfg.max_epochs = 3;
        struct lstm_params p, q;
        struct train_result res;
        assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 5), 0);
        assert_int_equal(lstm_params_init(&q, V, D, HID, NC, 5), 0);
        assert_int_equal(lstm_train(&p, &cfg, &tr, with_val ? &va : NULL, &res, stdout), 0);
        assert_true(res.diverged);
        assert_false(res.interrupted);
        assert_int_equal(res.epochs_run, 0);
        assert_int_equal(res.best_epoch, 0);
        assert_same_weights(&p, &q);
        lstm_params_free(&p);
        lstm_params_free(&q);
    }
    /* A run that does not diverge says so. */
    struct train_config cfg = toy_config();
    cfg.max_epochs = 1;
    struct lstm_params p;
    struct train_result res;
    assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 5), 0);
    assert_int_equal(lstm_train(&p, &cfg, &tr, &va, &res, NULL), 0);
    assert_false(res.diverged);
    assert_int_equal(res.epochs_run, 1);
    lstm_params_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toy_problem),
        cmocka_unit_test(test_toy_problem_study_dropout),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_stop),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_diverged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
