/* test_train_early_stop.c — lstm_train's early stopping, as Keras' EarlyStopping(
 * monitor="val_accuracy", patience, restore_best_weights=True): only a strictly
 * better val_acc is an improvement (a tie is not), an improvement starts the patience
 * over, the run stops at the PATIENCE-th epoch in a row without one (the first with
 * patience 0), and the result names the best epoch with its val_acc and val_loss.
 * test_lstm_train.c's toy run improved until its last epoch or so, so none of this
 * was checked: a mutation audit (helper 102) found '>' -> '>=', the deleted or
 * changed 'wait = 0', the deleted best_val_loss and '++wait' -> '--wait' alive.
 */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/lstm.h"
#include "model/train.h"
#include "tests/unit/unit_toy.h"

/* Mean cross-entropy (Keras' clipping) and accuracy of P on N validation sequences. */
static void score(const struct lstm_params *p, const struct toy *d, int n, double *loss, double *acc)
{
    float *probs = malloc((size_t)n * NC * sizeof(float));
    assert_non_null(probs);
    assert_int_equal(lstm_predict(p, d->tok + NTRAIN * T, n, T, probs), 0);
    double l = 0;
    int right = 0;
    for (int i = 0; i < n; i++) {
        const float *pr = probs + (size_t)i * NC, *tg = d->tg + (size_t)(NTRAIN + i) * NC;
        int best = 0, cls = 0;
        for (int k = 0; k < NC; k++) {
            double q = pr[k] < 1e-7f ? 1e-7 : pr[k] > 1 - 1e-7f ? 1 - 1e-7 : pr[k];
            l -= tg[k] * log(q);
            if (pr[k] > pr[best]) best = k;
            if (tg[k] > tg[cls]) cls = k;
        }
        right += best == cls;
    }
    free(probs);
    *loss = l / n;
    *acc = (double)right / n;
}

/* The val_accuracy column of a curves CSV; how many rows. */
static int read_val_acc(const char *csv, double *acc, int cap)
{
    FILE *f = fopen(csv, "r");
    assert_non_null(f);
    char line[256];
    int rows = 0;
    assert_non_null(fgets(line, sizeof line, f));
    while (rows < cap && fgets(line, sizeof line, f)) {
        int e; double l, a, vl;
        assert_int_equal(sscanf(line, "%d,%lf,%lf,%lf,%lf", &e, &l, &a, &vl, &acc[rows]), 5);
        assert_int_equal(e, ++rows);
    }
    fclose(f);
    return rows;
}

/* A learning rate too small to move any prediction: every epoch's val_acc ties the
 * first's.  A tie is no improvement, so epoch 1 stays the best and the run stops after
 * PATIENCE more epochs (1 with patience 0), its weights (and val_loss) returned. */
static void test_a_tie_is_no_improvement(void **state)
{
    (void)state;
    static struct toy d;
    make_toy(&d);
    struct train_data tr = { 100, T, d.tok, d.tg }, va = { 50, T, d.tok + NTRAIN * T, d.tg + NTRAIN * NC };
    char csv[64];
    snprintf(csv, sizeof csv, "/tmp/test_train_early_stop.%d.csv", (int)getpid());
    for (int patience = 0; patience <= 3; patience++) {
        struct train_config cfg = toy_config();
        cfg.lr = 1e-30f;
        cfg.max_epochs = 8;
        cfg.patience = patience;
        cfg.curves_csv = csv;
        struct lstm_params p;
        struct train_result res;
        assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 3), 0);
        assert_int_equal(lstm_train(&p, &cfg, &tr, &va, &res, NULL), 0);
        double acc[16];
        int rows = read_val_acc(csv, acc, 16);
        for (int e = 1; e < rows; e++) assert_true(acc[e] == acc[0]);   /* the premise: ties */
        printf("patience %d: %d epochs, best %d\n", patience, res.epochs_run, res.best_epoch);
        assert_int_equal(res.epochs_run, 1 + (patience > 0 ? patience : 1));
        assert_int_equal(rows, res.epochs_run);
        assert_int_equal(res.best_epoch, 1);
        assert_false(res.interrupted);
        double loss, a;
        score(&p, &d, 50, &loss, &a);
        assert_true(res.best_val_acc == a);
        assert_true(fabs(res.best_val_loss - loss) <= 1e-9 * loss);
        lstm_params_free(&p);
    }
    remove(csv);
}

/* A real run whose val_acc stalls and then improves again: epochs run, best epoch and
 * best val_acc are Keras' rule replayed on its own curve, and the weights returned are
 * bit for bit those of a run stopped right after the best epoch, scoring its val_acc
 * and val_loss. */
static void test_patience_starts_over_after_an_improvement(void **state)
{
    (void)state;
    static struct toy d;
    make_toy(&d);
    struct train_data tr = { 100, T, d.tok, d.tg }, va = { NVAL, T, d.tok + NTRAIN * T, d.tg + NTRAIN * NC };
    char csv[64];
    snprintf(csv, sizeof csv, "/tmp/test_train_early_stop.%d.csv", (int)getpid());
    struct train_config cfg = toy_config();
    cfg.spatial_dropout = cfg.dropout = cfg.recurrent_dropout = 0.3f;   /* a noisy curve */
    cfg.patience = 3;
    cfg.max_epochs = 30;
    cfg.curves_csv = csv;
    struct lstm_params p;
    struct train_result res;
    assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 1), 0);
    assert_int_equal(lstm_train(&p, &cfg, &tr, &va, &res, stdout), 0);
    double acc[32];
    int rows = read_val_acc(csv, acc, 32);
    remove(csv);
    assert_int_equal(rows, res.epochs_run);
    /* Keras' rule on the curve. */
    double best = -1;
    int best_epoch = 0, wait = 0, stop = 0, restarts = 0;   /* stop: where the rule stops */
    for (int e = 1; e <= rows; e++) {
        if (acc[e - 1] > best) {
            restarts += wait > 0;
            best = acc[e - 1]; best_epoch = e; wait = 0;
        } else if (++wait >= cfg.patience) { stop = e; break; }
    }
    printf("%d epochs, best %d, %d stalls ended by an improvement\n", rows, best_epoch, restarts);
    assert_true(restarts > 0);   /* the premise: the patience started over at least once */
    assert_int_equal(stop, rows);   /* stopped by the rule, where the rule stops */
    assert_int_equal(res.best_epoch, best_epoch);
    assert_true(fabs(res.best_val_acc - best) < 5e-7);   /* the CSV's 6 decimals */
    double loss, a;
    score(&p, &d, NVAL, &loss, &a);
    assert_true(res.best_val_acc == a);
    assert_true(fabs(res.best_val_loss - loss) <= 1e-9 * loss);
    struct train_config upto = cfg;
    upto.curves_csv = NULL;
    upto.max_epochs = res.best_epoch;
    struct lstm_params q;
    struct train_result res2;
    assert_int_equal(lstm_params_init(&q, V, D, HID, NC, 1), 0);
    assert_int_equal(lstm_train(&q, &upto, &tr, &va, &res2, NULL), 0);
    assert_same_weights(&p, &q);
    lstm_params_free(&q);
    lstm_params_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_tie_is_no_improvement),
        cmocka_unit_test(test_patience_starts_over_after_an_improvement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
