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

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/checkpoint.h"
#include "model/lstm.h"
#include "model/modelfile.h"
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
    /* one target, or one token, of one training sequence changed (other weak labels;
     * the same cells read after their predecessors, --context) */
    static struct toy other;
    memcpy(&other, &d, sizeof other);
    other.tg[5 * NC] = 1 - other.tg[5 * NC];
    struct train_data tr2 = {NTRAIN, T, other.tok, other.tg};
    assert_refused(config(EPOCHS, ckpt), &tr2, bytes, len);
    memcpy(&other, &d, sizeof other);
    other.tok[7 * T + T - 1] = other.tok[7 * T + T - 1] % (V - 1) + 1;
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

/* ---- checkpoint_read directly: what it says ------------------------------------- */

static struct lstm_params sets[4];
static int order[NTRAIN];
static struct curve_point curve[EPOCHS];

/* checkpoint_read of ckpt as a run R would, up to EPOCHS epochs: its result, and ERR. */
static int read_as(const struct checkpoint_run *r, char *err, size_t len)
{
    for (int i = 0; i < 4; i++) {
        lstm_params_free(&sets[i]);
        sets[i] = (struct lstm_params){.vocab = V, .embed = D, .hidden = HID, .classes = NC};
        assert_int_equal(lstm_params_alloc(&sets[i]), 0);
    }
    struct checkpoint_state s = {.order = order, .curve = curve, .p = &sets[0], .m = &sets[1], .v = &sets[2],
                                 .best = &sets[3]};
    err[0] = 0;
    return checkpoint_read(ckpt, r, EPOCHS, &s, err, len);
}

static void assert_said(const struct checkpoint_run *r, const char *what)
{
    char err[1024];
    assert_int_equal(read_as(r, err, sizeof err), -1);
    if (!strstr(err, what)) fail_msg("'%s' does not say '%s'", err, what);
    assert_non_null(strstr(err, ckpt));
}

/* The run the toy checkpoints are of (config(.., ckpt), the toy's sets). */
static struct checkpoint_run toy_run(void)
{
    struct checkpoint_run r;
    struct lstm_params p = {.vocab = V, .embed = D, .hidden = HID, .classes = NC};
    struct train_config c = config(EPOCHS, ckpt);
    checkpoint_run_of(&r, &c, &p, &tr, &va);
    return r;
}

/* Each setting that differs is named, with both values. */
static void test_what_differs_is_said(void **state)
{
    (void)state;
    size_t len;
    free(two_epochs_checkpoint(&len));
    struct checkpoint_run want = toy_run(), r;
    char err[1024];
    assert_int_equal(read_as(&want, err, sizeof err), 1);
    assert_int_equal(order[0] >= 0, 1);
    const struct { size_t off; const char *said; } ints[] = {
        {offsetof(struct checkpoint_run, n_train), "training cells 600 there, 601 here"},
        {offsetof(struct checkpoint_run, n_val), "validation cells 200 there, 201 here"},
        {offsetof(struct checkpoint_run, seq_len), "--seq-len 20 there, 21 here"},
        {offsetof(struct checkpoint_run, vocab), "vocabulary rows 40 there, 41 here"},
        {offsetof(struct checkpoint_run, embed), "--embed 16 there, 17 here"},
        {offsetof(struct checkpoint_run, hidden), "--hidden 16 there, 17 here"},
        {offsetof(struct checkpoint_run, classes), "classes 6 there, 7 here"},
        {offsetof(struct checkpoint_run, batch), "--batch 32 there, 33 here"},
        {offsetof(struct checkpoint_run, patience), "--patience 100 there, 101 here"},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        r = want;
        (*(int32_t *)((char *)&r + ints[i].off))++;
        assert_said(&r, ints[i].said);
    }
    r = want; r.lr = 0.02f; assert_said(&r, "--lr 0.01 there, 0.02 here");
    r = want; r.spatial_dropout = 0.5f; assert_said(&r, "--spatial-dropout 0.1 there, 0.5 here");
    r = want; r.dropout = 0.5f; assert_said(&r, "--dropout 0.1 there, 0.5 here");
    r = want; r.recurrent_dropout = 0.5f; assert_said(&r, "--recurrent-dropout 0.1 there, 0.5 here");
    r = want; r.seed = 7; assert_said(&r, "--seed 42 there, 7 here");
    for (int k = 0; k < 4; k++) {
        r = want;
        r.data_crc[k] ^= 1;
        assert_said(&r, k < 2 ? "other training cells or targets" : "other validation cells or targets");
    }
}

/* The header's marks, a damaged byte of the settings or of the epoch count (said to
 * be damaged, not another run's or past --epochs), and numbers no run can have in a
 * file whose checksums were made to match (by hand). */
static void test_a_damaged_header_or_state_is_said_to_be(void **state)
{
    (void)state;
    size_t len;
    unsigned char *good = two_epochs_checkpoint(&len), *bad = malloc(len);
    assert_non_null(bad);
    struct checkpoint_run want = toy_run();
    const struct { size_t at; unsigned char x; const char *said; } cases[] = {
        {0, 'X', "not an nbstage training checkpoint"},
        {8, 9, "checkpoint format version 9, this nbstage reads 1"},
        {12, 0x05, "written on a machine of the other byte order"},
        {16, 0x01, "checksum mismatch"},              /* n_train */
        {16 + 76 + 3, 0x01, "checksum mismatch"},     /* the epoch's high byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(bad, good, len);
        bad[cases[i].at] = cases[i].at < 8 ? cases[i].x : bad[cases[i].at] ^ cases[i].x;
        if (cases[i].at == 8) bad[8] = 9, bad[9] = bad[10] = bad[11] = 0;
        spit(ckpt, bad, len);
        assert_said(&want, cases[i].said);
    }
    /* early stopping's count at INT_MAX, with both checksums made again */
    memcpy(bad, good, len);
    int32_t wait = INT32_MAX;
    const size_t numbers = 16 + 76, head_crc = numbers + 84 + 48;
    memcpy(bad + numbers + 4, &wait, sizeof wait);
    uint32_t crc = modelfile_crc32c(bad, head_crc);
    memcpy(bad + head_crc, &crc, sizeof crc);
    crc = modelfile_crc32c(bad, len - 4);
    memcpy(bad + len - 4, &crc, sizeof crc);
    spit(ckpt, bad, len);
    assert_said(&want, "corrupted (the state's numbers)");
    free(bad);
    free(good);
    for (int i = 0; i < 4; i++) lstm_params_free(&sets[i]);
}

/* The progress lines of a resumed run of CFG (from weights of seed 1). */
static char *resumed_progress(struct train_config cfg)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    assert_non_null(f);
    struct lstm_params p;
    struct train_result r;
    assert_int_equal(run(cfg, 1, &p, &r, f), 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(r.resumed_from, 2);
    lstm_params_free(&p);
    return text;
}

/* Another thread count, or a checkpoint computed by another nbstage or OpenBLAS's
 * kernels for another CPU: resumed (a sound training), and said not to give the
 * unstopped run's bytes. */
static void test_a_resume_on_other_threads_or_code_is_said(void **state)
{
    (void)state;
    size_t len;
    unsigned char *good = two_epochs_checkpoint(&len);
    struct train_config c = config(EPOCHS, ckpt);
    c.threads = 2;
    char *said = resumed_progress(c);
    if (!strstr(said, "; 2 threads where the run had 1: a sound training, but not the bytes"))
        fail_msg("%s", said);
    free(said);

    const size_t made_by = 16 + 76 + 84, head_crc = made_by + 48;
    char other[48] = "nbstage 0.0.1, OpenBLAS Prescott";
    memcpy(good + made_by, other, sizeof other);
    uint32_t crc = modelfile_crc32c(good, head_crc);
    memcpy(good + head_crc, &crc, sizeof crc);
    crc = modelfile_crc32c(good, len - 4);
    memcpy(good + len - 4, &crc, sizeof crc);
    spit(ckpt, good, len);
    said = resumed_progress(config(EPOCHS, ckpt));
    if (!strstr(said, "where the run had nbstage 0.0.1, OpenBLAS Prescott: a sound training")) fail_msg("%s", said);
    free(said);
    free(good);
}

/* A checkpoint at --epochs already (the run's model could not be written): resumed
 * with no epoch to run, to the run's weights and result, its curves written.  And a
 * resumed run stopped before its first epoch ends: the checkpoint's best weights,
 * not "interrupted in epoch 1". */
static void test_a_run_resumed_at_its_end_or_stopped_at_once(void **state)
{
    (void)state;
    struct lstm_params whole, p;
    struct train_result rw, r;
    assert_int_equal(run(config(2, NULL), 1, &whole, &rw, NULL), 0);
    free(two_epochs_checkpoint(&(size_t){0}));
    char csv[sizeof ckpt + 8];
    snprintf(csv, sizeof csv, "%s.csv", ckpt);
    unlink(csv);
    struct train_config c = config(2, ckpt);
    c.curves_csv = csv;
    assert_int_equal(run(c, 99, &p, &r, NULL), 0);
    assert_int_equal(r.resumed_from, 2);
    assert_same_result(&rw, &r);
    assert_same_weights(&whole, &p);
    lstm_params_free(&p);
    size_t n;
    char *rows = unit_read_file(csv, &n);
    assert_non_null(rows);
    assert_non_null(strstr(rows, "\n1,"));
    assert_non_null(strstr(rows, "\n2,"));
    free(rows);
    unlink(csv);

    atomic_int stop = 1;
    c = config(EPOCHS, ckpt);
    c.stop = &stop;
    assert_int_equal(run(c, 99, &p, &r, NULL), 0);
    assert_true(r.interrupted);
    assert_int_equal(r.resumed_from, 2);
    assert_int_equal(r.epochs_run, 2);
    assert_int_equal(r.best_epoch, rw.best_epoch);
    assert_same_weights(&whole, &p);
    lstm_params_free(&p);
    lstm_params_free(&whole);
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
        cmocka_unit_test(test_what_differs_is_said),
        cmocka_unit_test(test_a_damaged_header_or_state_is_said_to_be),
        cmocka_unit_test(test_a_run_resumed_at_its_end_or_stopped_at_once),
        cmocka_unit_test(test_a_resume_on_other_threads_or_code_is_said),
        cmocka_unit_test(test_a_checkpoint_that_cannot_be_written_leaves_training_going),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
