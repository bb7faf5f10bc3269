/* test_checkpoint.c — lstm_train with a checkpoint (model/checkpoint.h), on the toy
 * problem: a run stopped after an epoch and resumed ends with the weights and the
 * result of a run never stopped, bit for bit; --epochs may be raised on resuming;
 * another run's checkpoint, a damaged one and one past --epochs are refused and left
 * as they are; a checkpoint that cannot be written is said and training goes on.
 *
 * The stop is made where a user's Ctrl-C lands between epochs, without timing: the
 * progress stream is a cookie stream that raises the stop flag when it is handed the
 * line of epoch STOP_AFTER.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/checkpoint.h"
#include "model/lstm.h"
#include "model/train.h"
#include "tests/unit/unit_toy.h"

enum { EPOCHS = 6, STOP_AFTER = 3 };

static struct toy d;
static struct train_data tr, va;

/* ---- a progress stream that stops the run after a given epoch's line ----------- */

struct stopper { atomic_int *stop; char when[32]; };

static ssize_t stopper_write(void *c, const char *buf, size_t n)
{
    struct stopper *s = c;
    if (n >= strlen(s->when) && !strncmp(buf, s->when, strlen(s->when))) atomic_store(s->stop, 1);
    return (ssize_t)n;
}

/* A line-buffered stream: each progress line reaches stopper_write whole. */
static FILE *stop_after(struct stopper *s, atomic_int *flag, int epoch)
{
    s->stop = flag;
    snprintf(s->when, sizeof s->when, "epoch %d/", epoch);
    FILE *f = fopencookie(s, "w", (cookie_io_functions_t){.write = stopper_write});
    assert_non_null(f);
    setvbuf(f, NULL, _IOLBF, 0);
    return f;
}

/* ---- runs ------------------------------------------------------------------------ */

static char ckpt[64];

static struct train_config config(int epochs, const char *checkpoint)
{
    struct train_config c = toy_config();
    c.max_epochs = epochs;
    c.patience = 100; /* every epoch runs: the stop and the resume, not early stopping, are tested */
    c.checkpoint = checkpoint;
    return c;
}

/* A run of CFG from weights of seed INIT_SEED; P and RES its outcome; PROGRESS may be NULL. */
static int run(struct train_config cfg, unsigned long init_seed, struct lstm_params *p, struct train_result *res,
               FILE *progress)
{
    assert_int_equal(lstm_params_init(p, V, D, HID, NC, init_seed), 0);
    return lstm_train(p, &cfg, &tr, &va, res, progress);
}

static int setup(void **state)
{
    (void)state;
    make_toy(&d);
    tr = (struct train_data){NTRAIN, T, d.tok, d.tg};
    va = (struct train_data){NVAL, T, d.tok + NTRAIN * T, d.tg + NTRAIN * NC};
    snprintf(ckpt, sizeof ckpt, "/tmp/test_checkpoint.%d", (int)getpid());
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(ckpt);
    return 0;
}

static void assert_same_result(const struct train_result *a, const struct train_result *b)
{
    assert_int_equal(a->epochs_run, b->epochs_run);
    assert_int_equal(a->best_epoch, b->best_epoch);
    assert_memory_equal(&a->best_val_acc, &b->best_val_acc, sizeof a->best_val_acc);
    assert_memory_equal(&a->best_val_loss, &b->best_val_loss, sizeof a->best_val_loss);
    assert_false(a->interrupted || b->interrupted);
}

/* A run of EPOCHS epochs with PATIENCE, stopped after epoch STOP_AT and resumed from
 * weights of another seed (the checkpoint's must replace them): the weights and the
 * result of the same run unstopped. */
static void stop_and_resume(int epochs, int patience, int stop_at)
{
    unlink(ckpt);
    struct lstm_params whole, resumed;
    struct train_result rw, rs, rr;
    struct train_config c = config(epochs, NULL);
    c.patience = patience;
    assert_int_equal(run(c, 1, &whole, &rw, NULL), 0);
    assert_true(rw.epochs_run > stop_at);

    atomic_int stop = 0;
    struct stopper s;
    FILE *progress = stop_after(&s, &stop, stop_at);
    c.checkpoint = ckpt;
    c.stop = &stop;
    assert_int_equal(run(c, 1, &resumed, &rs, progress), 0);
    fclose(progress);
    assert_true(rs.interrupted);
    assert_int_equal(rs.epochs_run, stop_at);
    assert_int_equal(rs.resumed_from, 0);
    lstm_params_free(&resumed);

    c.stop = NULL;
    assert_int_equal(run(c, 99, &resumed, &rr, NULL), 0);
    assert_int_equal(rr.resumed_from, stop_at);
    assert_same_result(&rw, &rr);
    assert_same_weights(&whole, &resumed);
    lstm_params_free(&whole);
    lstm_params_free(&resumed);
}

/* Every epoch runs (the toy run's val_acc: 0.385, 0.78, 0.925, 0.865, 0.995, 0.995;
 * the best epoch 5, before the last): the weights, Adam's moments and step, the
 * random stream, the batch order and the best weights are carried over. */
static void test_a_resumed_run_ends_as_an_unstopped_one(void **state)
{
    (void)state;
    stop_and_resume(EPOCHS, 100, STOP_AFTER);
}

/* With patience 3 the toy run improves at epochs 5 and 8 (1.0) and stops at 11.
 * Stopped after 10, two epochs into its wait: a resumed run that counted its wait
 * again, or forgot its best val_acc, would stop later or keep another epoch.
 * Stopped after 7, the wait is two and then starts over. */
static void test_early_stopping_goes_on_where_it_was(void **state)
{
    (void)state;
    stop_and_resume(15, 3, 10);
    stop_and_resume(15, 3, 7);
}

/* A run of 3 epochs, then the same with --epochs 6 from its checkpoint (lstm_train
 * leaves it; `nbstage train` removes it once the model is written): the 6-epoch
 * run's weights. */
static void test_epochs_may_be_raised_on_resuming(void **state)
{
    (void)state;
    unlink(ckpt);
    struct lstm_params whole, p;
    struct train_result rw, r3, r6;
    assert_int_equal(run(config(EPOCHS, NULL), 1, &whole, &rw, NULL), 0);
    assert_int_equal(run(config(3, ckpt), 1, &p, &r3, NULL), 0);
    assert_int_equal(r3.epochs_run, 3);
    lstm_params_free(&p);
    assert_int_equal(run(config(EPOCHS, ckpt), 1, &p, &r6, NULL), 0);
    assert_int_equal(r6.resumed_from, 3);
    assert_same_result(&rw, &r6);
    assert_same_weights(&whole, &p);
    lstm_params_free(&whole);
    lstm_params_free(&p);
}

/* The checkpoint's bytes, and their length. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    unsigned char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const unsigned char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* A run of CFG that must be refused for its checkpoint, which it must leave as it
 * was (BYTES, LEN). */
static void assert_refused(struct train_config cfg, const struct train_data *train, const unsigned char *bytes,
                           size_t len)
{
    struct lstm_params p;
    struct train_result r;
    assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 1), 0);
    assert_int_equal(lstm_train(&p, &cfg, train, &va, &r, NULL), -1);
    lstm_params_free(&p);
    size_t n;
    unsigned char *now = slurp(cfg.checkpoint, &n);
    assert_int_equal(n, len);
    assert_memory_equal(now, bytes, len);
    free(now);
}

/* The checkpoint a run of 2 epochs leaves at ckpt: its bytes, and their length. */
static unsigned char *two_epochs_checkpoint(size_t *len)
{
    unlink(ckpt);
    struct lstm_params p;
    struct train_result r;
    assert_int_equal(run(config(2, ckpt), 1, &p, &r, NULL), 0);
    lstm_params_free(&p);
    return slurp(ckpt, len);
}

/* Another learning rate, seed, batch, patience or data: refused, the file kept. */
static void test_another_runs_checkpoint_is_refused(void **state)
{
    (void)state;
    size_t len;
    unsigned char *bytes = two_epochs_checkpoint(&len);
    struct train_config c = config(EPOCHS, ckpt);
    c.lr *= 2;
    assert_refused(c, &tr, bytes, len);
    c = config(EPOCHS, ckpt); c.seed++;
    assert_refused(c, &tr, bytes, len);
    c = config(EPOCHS, ckpt); c.batch++;
    assert_refused(c, &tr, bytes, len);
    c = config(EPOCHS, ckpt); c.patience++;
    assert_refused(c, &tr, bytes, len);
    c = config(EPOCHS, ckpt); c.recurrent_dropout = 0.2f;
    assert_refused(c, &tr, bytes, len);
    /* one target of one training sequence changed */
    static struct toy other;
    memcpy(&other, &d, sizeof other);
    other.tg[5 * NC] = 1 - other.tg[5 * NC];
    struct train_data tr2 = {NTRAIN, T, other.tok, other.tg};
    assert_refused(config(EPOCHS, ckpt), &tr2, bytes, len);
    /* ... and a run past its epochs: --epochs 1 for a checkpoint of 2 */
    assert_refused(config(1, ckpt), &tr, bytes, len);
    free(bytes);
}

/* Cut short at many lengths, a byte changed, a byte added, another file: refused
 * (under ASan: no read past what was there), the file as it was. */
static void test_a_damaged_checkpoint_is_refused(void **state)
{
    (void)state;
    size_t len;
    unsigned char *good = two_epochs_checkpoint(&len);
    unsigned char *bad = malloc(len + 1);
    assert_non_null(bad);
    for (size_t cut = 0; cut < len; cut += cut < 256 ? 1 : 997) {
        spit(ckpt, good, cut);
        assert_refused(config(EPOCHS, ckpt), &tr, good, cut);
    }
    for (size_t at = 0; at < len; at += len / 7) {
        memcpy(bad, good, len);
        bad[at] ^= 0x40;
        spit(ckpt, bad, len);
        assert_refused(config(EPOCHS, ckpt), &tr, bad, len);
    }
    memcpy(bad, good, len);
    bad[len] = 0;
    spit(ckpt, bad, len + 1);
    assert_refused(config(EPOCHS, ckpt), &tr, bad, len + 1);
    free(bad);
    free(good);
    /* a folder where the checkpoint should be */
    unlink(ckpt);
    assert_int_equal(mkdir(ckpt, 0700), 0);
    struct train_config c = config(EPOCHS, ckpt);
    struct lstm_params p;
    struct train_result r;
    assert_int_equal(lstm_params_init(&p, V, D, HID, NC, 1), 0);
    assert_int_equal(lstm_train(&p, &c, &tr, &va, &r, NULL), -1);
    lstm_params_free(&p);
    assert_int_equal(rmdir(ckpt), 0);
}

/* A checkpoint in a folder that is not there: said, not tried again, and every epoch
 * still runs, to the weights of a run without one. */
static void test_a_checkpoint_that_cannot_be_written_leaves_training_going(void **state)
{
    (void)state;
    struct lstm_params whole, p;
    struct train_result rw, r;
    assert_int_equal(run(config(3, NULL), 1, &whole, &rw, NULL), 0);
    assert_int_equal(run(config(3, "/nonexistent-folder-of-nbstage/ckpt"), 1, &p, &r, NULL), 0);
    assert_true(r.checkpoint_failed);
    assert_int_equal(r.epochs_run, 3);
    assert_same_weights(&whole, &p);
    lstm_params_free(&whole);
    lstm_params_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_resumed_run_ends_as_an_unstopped_one),
        cmocka_unit_test(test_early_stopping_goes_on_where_it_was),
        cmocka_unit_test(test_epochs_may_be_raised_on_resuming),
        cmocka_unit_test(test_another_runs_checkpoint_is_refused),
        cmocka_unit_test(test_a_damaged_checkpoint_is_refused),
        cmocka_unit_test(test_a_checkpoint_that_cannot_be_written_leaves_training_going),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
