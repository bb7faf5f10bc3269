/* train.c — the training loop (model/train.h): shuffled mini-batches, Keras' dropout
 * masks, Adam on every block, per-epoch validation, early stopping on validation
 * accuracy that restores the best weights, Ctrl-C, progress lines, learning curves.
 *
 * A diverged epoch (non-finite weights or losses) ends the run without counting.
 *
 * Randomness: one xoshiro stream seeded from cfg->seed gives the batch order and the
 * masks, so a seed reproduces a run on a given OpenBLAS thread count.
 *
 * The embedding's Adam update is dense, like Keras': every row's moments decay and
 * every row moves each step, not only the rows of the batch's tokens.  (A lazy,
 * rows-only update would be cheaper but is a different optimiser.)
 */
#include "model/train.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__SSE2__)
#include <xmmintrin.h>
#define MXCSR_FTZ 0x8000 /* results that would be denormal are zero */
#define MXCSR_DAZ 0x0040 /* denormal inputs are read as zero */
#endif

#include "model/adam.h"
#include "model/checkpoint.h"
#include "model/curves.h"
#include "model/lstm.h"
#include "model/version.h"
#include "nbformat/clock.h"
#include "nbformat/notebook.h"

static int argmax(const float *v, int n)
{
    int k = 0;
    for (int i = 1; i < n; i++) if (v[i] > v[k]) k = i;
    return k;
}

/* Checks a data set against the model: -1 with a message on ERRF otherwise. */
static int check_data(const char *what, const struct train_data *d, const struct lstm_params *p,
                      int seq_len, FILE *errf)
{
    if (d->n < 0 || d->seq_len != seq_len || (d->n > 0 && (!d->tokens || !d->targets))) {
        nb_say(errf, "nbstage train: %s data: bad shape (n %d, sequence length %d, expected %d)",
               what, d->n, d->seq_len, seq_len);
        return -1;
    }
    for (size_t i = 0; i < (size_t)d->n * d->seq_len; i++)
        if (d->tokens[i] < 0 || d->tokens[i] >= p->vocab) {
            nb_say(errf, "nbstage train: %s data: sequence %zu has token id %d outside 0..%d",
                   what, i / d->seq_len + 1, d->tokens[i], p->vocab - 1);
            return -1;
        }
    for (size_t i = 0; i < (size_t)d->n * p->classes; i++)
        if (!(d->targets[i] >= 0 && d->targets[i] <= 1)) {
            nb_say(errf, "nbstage train: %s data: sequence %zu has target %g outside [0, 1]",
                   what, i / p->classes + 1, d->targets[i]);
            return -1;
        }
    return 0;
}

/* Mean cross-entropy (Keras' clipping) and accuracy of P on D. */
static int evaluate(const struct lstm_params *p, const struct train_data *d, float *probs,
                    int threads, double *loss, double *acc)
{
    if (lstm_predict_threads(p, d->tokens, d->n, d->seq_len, probs, threads) < 0) return -1;
    int C = p->classes, right = 0;
    double l = 0;
    for (int i = 0; i < d->n; i++) {
        const float *pr = probs + (size_t)i * C, *tg = d->targets + (size_t)i * C;
        for (int k = 0; k < C; k++) {
            double q = pr[k] < 1e-7f ? 1e-7 : pr[k] > 1 - 1e-7f ? 1 - 1e-7 : pr[k];
            l -= tg[k] * log(q);
        }
        right += argmax(pr, C) == argmax(tg, C);
    }
    *loss = d->n ? l / d->n : NAN;
    *acc = d->n ? (double)right / d->n : NAN;
    return 0;
}

/* 1 when every weight of P is a finite number. */
static int params_finite(const struct lstm_params *p)
{
    size_t G = lstm_gates(p);
    const struct { const float *v; size_t n; } blocks[] = {
        {p->E, (size_t)p->vocab * p->embed}, {p->Wx, (size_t)p->embed * G}, {p->Wh, (size_t)p->hidden * G},
        {p->b, G}, {p->Wd, (size_t)p->hidden * p->classes}, {p->bd, (size_t)p->classes},
    };
    for (size_t k = 0; k < sizeof blocks / sizeof blocks[0]; k++) {
        float acc = 0; /* x * 0 is NaN exactly when x is not finite */
        for (size_t i = 0; i < blocks[k].n; i++) acc += blocks[k].v[i] * 0.0f;
        if (acc != 0) return 0;
    }
    return 1;
}

/* A per-sequence, per-channel dropout mask with the 1/(1 - rate) scale folded in. */
static float keep(struct lstm_rng *r, float rate)
{
    if (rate <= 0) return 1.0f;
    return lstm_rng_uniform(r) >= rate ? 1.0f / (1.0f - rate) : 0.0f;
}

static void draw_masks(struct lstm_rng *r, const struct train_config *cfg, struct lstm_work *w,
                       int B, int D, int H)
{
    w->use_in_mask = cfg->spatial_dropout > 0 || cfg->dropout > 0;
    w->use_rec_mask = cfg->recurrent_dropout > 0;
    if (w->use_in_mask)
        for (size_t i = 0; i < (size_t)B * D; i++)
            w->in_mask[i] = keep(r, cfg->spatial_dropout) * keep(r, cfg->dropout);
    if (w->use_rec_mask)
        for (size_t i = 0; i < (size_t)B * H; i++) w->rec_mask[i] = keep(r, cfg->recurrent_dropout);
}

/* A run's state: what a checkpoint keeps (model/checkpoint.h), and its buffers. */
struct trainer {
    struct lstm_params grad, m, v, best;
    struct lstm_work *work;
    int *order, *btok;
    float *btarget, *probs;
    struct curve_point *curve;
    struct lstm_rng rng;  /* the batch order's shuffles and the dropout masks */
    struct adam opt;
    /* early stopping */
    int wait, have_best;
    double best_score;    /* val_acc, or the epoch without a validation set */
    int nthreads;
    const char *curves_csv, *curves_svg; /* NULL once one could not be written */
    int saved_epoch;      /* the last epoch the checkpoint holds, 0: none */
};

static void trainer_free(struct trainer *t)
{
    lstm_params_free(&t->grad); lstm_params_free(&t->m); lstm_params_free(&t->v);
    lstm_params_free(&t->best);
    lstm_work_free(t->work);
    free(t->order); free(t->btok); free(t->btarget); free(t->probs); free(t->curve);
}

static int alloc_like(struct lstm_params *dst, const struct lstm_params *p)
{
    memset(dst, 0, sizeof *dst);
    dst->vocab = p->vocab; dst->embed = p->embed; dst->hidden = p->hidden; dst->classes = p->classes;
    return lstm_params_alloc(dst);
}

struct adam_job { const struct adam *a; struct lstm_params *p; struct trainer *t; };

/* One thread's share: its slice of the embedding, and thread 0 also the small blocks. */
static void adam_part(void *ctx, int part, int nparts)
{
    struct adam_job *j = ctx;
    struct lstm_params *p = j->p;
    struct trainer *t = j->t;
    size_t rows = (size_t)p->vocab, D = (size_t)p->embed, G = lstm_gates(p);
    size_t lo = rows * part / nparts * D, hi = rows * (part + 1) / nparts * D;
    adam_update(j->a, p->E + lo, t->grad.E + lo, t->m.E + lo, t->v.E + lo, hi - lo);
    if (part != 0) return;
    adam_update(j->a, p->Wx, t->grad.Wx, t->m.Wx, t->v.Wx, (size_t)p->embed * G);
    adam_update(j->a, p->Wh, t->grad.Wh, t->m.Wh, t->v.Wh, (size_t)p->hidden * G);
    adam_update(j->a, p->b, t->grad.b, t->m.b, t->v.b, G);
    adam_update(j->a, p->Wd, t->grad.Wd, t->m.Wd, t->v.Wd, (size_t)p->hidden * p->classes);
    adam_update(j->a, p->bd, t->grad.bd, t->m.bd, t->v.bd, (size_t)p->classes);
}

/* Denormal floats.  Gradients and states that decay towards zero during an epoch become
 * denormal, and an operation on one takes a microcode assist on many x86 cores: on a
 * Xeon of model 167 (2026-12-02) an epoch of the default model took 190-250 s against
 * 75-80 s on other hosts, and a 146k-cell epoch 40.8 s against 28.4 s with them flushed
 * (the same loss and accuracy to four places).  For the run they are flushed to zero
 * (FTZ) and read as zero (DAZ); the threads lstm_parallel starts inherit the setting
 * (pthread_create copies the floating-point environment). */
static unsigned denormals_off(void)
{
#if defined(__SSE2__)
    unsigned old = _mm_getcsr();
    _mm_setcsr(old | MXCSR_FTZ | MXCSR_DAZ);
    return old;
#else
    return 0;
#endif
}

static void denormals_restore(unsigned old)
{
#if defined(__SSE2__)
    _mm_setcsr(old);
#else
    (void)old;
#endif
}

/* The caller's stop flag, set from a signal handler on any thread. */
static int stop_requested(const struct train_config *cfg)
{
    return cfg->stop && atomic_load_explicit(cfg->stop, memory_order_relaxed);
}

/* The curves of T's first EPOCHS epochs.  A side output: one that cannot be written
 * (a full disk, its folder removed, a FIFO's open cut short by Ctrl-C) is said once
 * and dropped, and the epochs, which may have taken hours, go on to a model. */
static void write_curves(struct trainer *t, int epochs, struct train_result *res, FILE *errf)
{
    char err[4200];
    if ((t->curves_csv && curves_write_csv(t->curves_csv, t->curve, epochs, err, sizeof err) < 0) ||
        (t->curves_svg && curves_write_svg(t->curves_svg, t->curve, epochs, err, sizeof err) < 0)) {
        nb_say(errf, "nbstage train: %s; no more learning curves are written, training goes on", err);
        res->curves_failed = 1;
        t->curves_csv = t->curves_svg = NULL;
    }
}

/* What computes this run: another nbstage, or OpenBLAS's kernels for another CPU,
 * gives a resumed run other bytes than the unstopped run's. */
static void made_by(char *buf, size_t len)
{
    snprintf(buf, len, "nbstage %s, OpenBLAS %s", NBSTAGE_VERSION, openblas_get_corename());
}

/* The checkpoint's view of T, P and RES at the end of EPOCH. */
static struct checkpoint_state state_now(struct trainer *t, struct lstm_params *p, int epoch,
                                         const struct train_result *res)
{
    struct checkpoint_state cs = {
        .epoch = epoch, .wait = t->wait, .have_best = t->have_best, .best_epoch = res->best_epoch,
        .threads = t->nthreads, .adam_step = t->opt.step, .best_score = t->best_score,
        .best_val_acc = res->best_val_acc, .best_val_loss = res->best_val_loss, .order = t->order,
        .curve = t->curve, .p = p, .m = &t->m, .v = &t->v, .best = &t->best};
    memcpy(cs.rng, t->rng.s, sizeof cs.rng);
    made_by(cs.made_by, sizeof cs.made_by);
    return cs;
}

/* The run from cfg->checkpoint, when it holds one of RUN: T, P and RES as they stood
 * at its epoch's end, the curves so far written again.  The first epoch to run (1
 * without a checkpoint), or -1 when it cannot be resumed (said). */
static int resume(struct trainer *t, struct lstm_params *p, const struct train_config *cfg,
                  const struct checkpoint_run *run, int has_val, struct train_result *res, FILE *progress,
                  FILE *errf)
{
    char err[4200];
    struct checkpoint_state cs = {.order = t->order, .curve = t->curve, .p = p, .m = &t->m, .v = &t->v,
                                  .best = &t->best};
    int got = checkpoint_read(cfg->checkpoint, run, cfg->max_epochs, &cs, err, sizeof err);
    if (got < 0) {
        nb_say(errf, "nbstage train: %s", err);
        res->checkpoint_refused = 1;
        return -1;
    }
    if (!got) return 1;
    t->wait = cs.wait;
    t->have_best = cs.have_best;
    t->best_score = cs.best_score;
    t->opt.step = cs.adam_step;
    memcpy(t->rng.s, cs.rng, sizeof t->rng.s);
    t->saved_epoch = cs.epoch;
    res->resumed_from = res->epochs_run = cs.epoch;
    res->best_epoch = cs.best_epoch;
    res->best_val_acc = cs.best_val_acc;
    res->best_val_loss = cs.best_val_loss;
    if (progress) { /* the line whole, in one write(2) on stderr (nb_line_begin) */
        struct nb_line line;
        FILE *to = nb_line_begin(&line, progress);
        fputs("resuming from ", to);
        nb_put_shown(to, cfg->checkpoint, strlen(cfg->checkpoint)); /* as nb_say shows paths */
        fprintf(to, ": %d of %d epochs done", cs.epoch, cfg->max_epochs);
        if (t->have_best && has_val)
            fprintf(to, ", best epoch %d (val_acc %.4f)", res->best_epoch, res->best_val_acc);
        char now[sizeof cs.made_by];
        made_by(now, sizeof now);
        if (cs.threads != t->nthreads)
            fprintf(to, "; %d thread%s where the run had %d: a sound training, but not the bytes an "
                        "unstopped run makes", t->nthreads, t->nthreads == 1 ? "" : "s", cs.threads);
        else if (strcmp(now, cs.made_by))
            fprintf(to, "; %s where the run had %s: a sound training, but not the bytes an unstopped run "
                        "makes", now, cs.made_by);
        fputc('\n', to);
        nb_line_end(&line);
        fflush(progress);
    }
    /* a run resumed with no epoch left (its model could not be written) has its
     * curves all the same */
    write_curves(t, cs.epoch, res, errf);
    return cs.epoch + 1;
}

/* The checkpoint at the end of EPOCH.  As the curves: one that cannot be written is
 * said once and no more are tried, and the run goes on. */
static void save_checkpoint(struct trainer *t, struct lstm_params *p, const struct train_config *cfg,
                            const struct checkpoint_run *run, int epoch, struct train_result *res, FILE *errf)
{
    char err[4200];
    struct checkpoint_state cs = state_now(t, p, epoch, res);
    if (checkpoint_write(cfg->checkpoint, run, &cs, err, sizeof err) == 0) {
        t->saved_epoch = epoch;
        return;
    }
    res->checkpoint_failed = 1;
    if (t->saved_epoch)
        nb_say(errf, "nbstage train: %s; no more checkpoints are written, training goes on (a stop resumes from epoch "
                     "%d, the last one written)", err, t->saved_epoch);
    else
        nb_say(errf, "nbstage train: %s; no checkpoints are written, training goes on (a stop cannot be resumed)",
               err);
}

/* One lstm_train call: what it was given, the settings derived from them, and the
 * trainer its steps share (trainer_free frees it; a member is zeroed until its step
 * fills it). */
struct train_run {
    struct lstm_params *p;
    const struct train_config *cfg;
    const struct train_data *train, *val;
    struct train_result *res;
    FILE *progress, *errf;
    int has_val;          /* a validation set with sequences */
    int T;                /* the sequences' length */
    int B;                /* a batch's sequences: cfg->batch, at most the training set */
    int blas_threads;     /* OpenBLAS's threads before the run, given back after it */
    unsigned mxcsr;       /* the floating-point settings before the run (denormals_off) */
    struct trainer t;
    struct checkpoint_run run; /* the run's identity in its checkpoint (cfg->checkpoint) */
};

/* The settings and both data sets checked against the model; -1 said on errf. */
static int check_run(struct train_run *r)
{
    const struct train_config *cfg = r->cfg;
    if (!r->train || r->train->n < 1 || r->train->seq_len < 1) {
        fprintf(r->errf, "nbstage train: no training sequences\n");
        return -1;
    }
    r->T = r->train->seq_len;
    if (cfg->batch < 1 || cfg->max_epochs < 1 || cfg->patience < 0 || !(cfg->lr > 0) ||
        !(cfg->spatial_dropout >= 0 && cfg->spatial_dropout < 1) ||
        !(cfg->dropout >= 0 && cfg->dropout < 1) ||
        !(cfg->recurrent_dropout >= 0 && cfg->recurrent_dropout < 1)) {
        fprintf(r->errf, "nbstage train: bad settings (batch %d, epochs %d, patience %d, lr %g, dropout %g/%g/%g)\n",
                cfg->batch, cfg->max_epochs, cfg->patience, cfg->lr, cfg->spatial_dropout,
                cfg->dropout, cfg->recurrent_dropout);
        return -1;
    }
    r->has_val = r->val && r->val->n > 0;
    if (check_data("training", r->train, r->p, r->T, r->errf) < 0 ||
        (r->has_val && check_data("validation", r->val, r->p, r->T, r->errf) < 0))
        return -1;
    return 0;
}

/* The trainer's buffers for the run's threads, batch and validation set; -1 said
 * (out of memory), what was allocated freed. */
static int trainer_alloc(struct train_run *r)
{
    struct lstm_params *p = r->p;
    struct trainer *t = &r->t;
    int C = p->classes, T = r->T;
    /* Our threads split each batch (and the validation set) by sequences and call
     * OpenBLAS single-threaded: two levels of threads on few cores only fight. */
    r->blas_threads = openblas_get_num_threads();
    int nthreads = r->cfg->threads > 0 ? r->cfg->threads : r->blas_threads;
    if (nthreads > LSTM_MAX_THREADS) nthreads = LSTM_MAX_THREADS;

    int B = r->B = r->cfg->batch < r->train->n ? r->cfg->batch : r->train->n;
    memset(t, 0, sizeof *t);
    int nval = r->has_val ? r->val->n : 0;
    if (alloc_like(&t->grad, p) < 0 || alloc_like(&t->m, p) < 0 || alloc_like(&t->v, p) < 0 ||
        alloc_like(&t->best, p) < 0 || !(t->work = lstm_work_new(p, B, T)) ||
        lstm_work_set_threads(t->work, p, nthreads) < 0 ||
        !(t->order = malloc((size_t)r->train->n * sizeof(int))) ||
        !(t->btok = malloc((size_t)B * T * sizeof(int))) ||
        !(t->btarget = malloc((size_t)B * C * sizeof(float))) ||
        !(t->probs = malloc(((size_t)nval + 1) * C * sizeof(float))) ||
        !(t->curve = calloc((size_t)r->cfg->max_epochs, sizeof *t->curve))) {
        fprintf(r->errf, "nbstage train: out of memory\n");
        trainer_free(t);
        return -1;
    }
    t->nthreads = nthreads;
    return 0;
}

/* The trainer at the start of a fresh run (the initial weights as the best so far, the
 * seeded stream, the order unshuffled, Adam at step 0), OpenBLAS single-threaded and
 * denormals off until trainer_end. */
static void trainer_start(struct train_run *r)
{
    struct trainer *t = &r->t;
    const struct train_config *cfg = r->cfg;
    lstm_params_copy(&t->best, r->p);
    openblas_set_num_threads(1);
    r->mxcsr = denormals_off();

    lstm_rng_seed(&t->rng, (uint64_t)cfg->seed ^ 0x5eed7a11c0ffeeULL);
    for (int i = 0; i < r->train->n; i++) t->order[i] = i;
    adam_init(&t->opt, cfg->lr);
    t->best_score = -1;
    t->curves_csv = cfg->curves_csv;
    t->curves_svg = cfg->curves_svg;
}

/* The first epoch to run: 1, or the one after cfg->checkpoint's, the trainer as it
 * stood then; -1 when the checkpoint cannot be resumed (said). */
static int first_epoch(struct train_run *r)
{
    if (!r->cfg->checkpoint) return 1;
    checkpoint_run_of(&r->run, r->cfg, r->p, r->train, r->has_val ? r->val : NULL);
    return resume(&r->t, r->p, r->cfg, &r->run, r->has_val, r->res, r->progress, r->errf);
}

/* An epoch's sums over the batches trained. */
struct epoch_sums {
    double loss;  /* each batch's mean loss times its sequences */
    long right;   /* sequences whose most likely class is the target's */
    long seen;    /* sequences trained */
};

/* The training set's order shuffled for the epoch (Fisher-Yates on the run's stream). */
static void shuffle_order(struct trainer *t, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(lstm_rng_next(&t->rng) % (uint64_t)(i + 1)), tmp = t->order[i];
        t->order[i] = t->order[j]; t->order[j] = tmp;
    }
}

/* One step: the NB sequences from the order's position S gathered into a batch, their
 * masks drawn, forward and backward, Adam on every block; the batch added to E. */
static void train_batch(struct train_run *r, int s, int nb, struct epoch_sums *e)
{
    struct lstm_params *p = r->p;
    struct trainer *t = &r->t;
    const struct train_data *train = r->train;
    int T = r->T, C = p->classes;
    for (int k = 0; k < nb; k++) {
        int src = t->order[s + k];
        memcpy(t->btok + (size_t)k * T, train->tokens + (size_t)src * T, (size_t)T * sizeof(int));
        memcpy(t->btarget + (size_t)k * C, train->targets + (size_t)src * C, (size_t)C * sizeof(float));
    }
    draw_masks(&t->rng, r->cfg, t->work, nb, p->embed, p->hidden);
    double l = lstm_forward(p, t->work, t->btok, nb, t->btarget);
    for (int k = 0; k < nb; k++)
        e->right += argmax(t->work->probs + (size_t)k * C, C) == argmax(t->btarget + (size_t)k * C, C);
    lstm_backward(p, t->work, t->btarget, &t->grad);
    adam_begin_step(&t->opt);
    struct adam_job aj = { &t->opt, p, t };
    lstm_parallel(t->nthreads, adam_part, &aj);
    lstm_grad_clear_rows(p, t->work, &t->grad);
    e->loss += l * nb;
    e->seen += nb;
}

/* The epoch's batches in the shuffled order, until the last or a stop. */
static void train_batches(struct train_run *r, struct epoch_sums *e)
{
    int n = r->train->n, B = r->B;
    for (int s = 0; s < n && !stop_requested(r->cfg); s += B)
        train_batch(r, s, n - s < B ? n - s : B, e);
}

/* 1 when a stop came before the epoch's last batch (said): a part-epoch, never
 * validated nor kept.  A stop that came during the last batch leaves the whole epoch
 * trained: it is validated and counted as any (it was thrown away, "interrupted after
 * 1740 of 1740 sequences"), and the next epoch stops before its first batch. */
static int interrupted(struct train_run *r, int epoch, const struct epoch_sums *e)
{
    if (!(stop_requested(r->cfg) && e->seen < r->train->n)) return 0;
    r->res->interrupted = 1;
    if (r->progress) fprintf(r->progress, "epoch %d/%d: interrupted after %ld of %d sequences\n",
                             epoch, r->cfg->max_epochs, e->seen, r->train->n);
    return 1;
}

/* The epoch's point of the curves: its training loss and accuracy from E, the
 * validation set's, and its seconds since T0; -1 said when out of memory. */
static int record_epoch(struct train_run *r, int epoch, const struct epoch_sums *e, double t0)
{
    struct curve_point *cp = &r->t.curve[epoch - 1];
    cp->epoch = epoch;
    cp->loss = e->loss / e->seen;
    cp->acc = (double)e->right / e->seen;
    cp->val_loss = cp->val_acc = NAN;
    if (r->has_val && evaluate(r->p, r->val, r->t.probs, r->t.nthreads, &cp->val_loss, &cp->val_acc) < 0) {
        fprintf(r->errf, "nbstage train: out of memory evaluating\n");
        return -1;
    }
    cp->seconds = nb_now() - t0;
    return 0;
}

/* 1 when the epoch diverged (said). Overflow, e.g. gradients exploding through many
 * padding steps of a small LSTM under strong recurrent dropout: this epoch's weights
 * are not numbers, so it ends the run and never counts as the best. */
static int diverged(struct train_run *r, const struct curve_point *cp)
{
    if (isfinite(cp->loss) && (!r->has_val || isfinite(cp->val_loss)) && params_finite(r->p)) return 0;
    r->res->diverged = 1;
    if (r->progress) fprintf(r->progress, "epoch %d/%d: diverged: the weights or losses are no longer finite "
                                          "numbers (a lower learning rate or less dropout may help)\n",
                             cp->epoch, r->cfg->max_epochs);
    return 1;
}

/* The epoch's progress line, whole in one write(2) (nb_line_begin). */
static void say_epoch(struct train_run *r, const struct curve_point *cp)
{
    if (!r->progress) return;
    struct nb_line line;
    FILE *to = nb_line_begin(&line, r->progress);
    fprintf(to, "epoch %d/%d: loss %.4f - acc %.4f", cp->epoch, r->cfg->max_epochs, cp->loss, cp->acc);
    if (r->has_val) fprintf(to, " - val_loss %.4f - val_acc %.4f", cp->val_loss, cp->val_acc);
    fprintf(to, " - %.1f s\n", cp->seconds);
    nb_line_end(&line);
    fflush(r->progress);
}

/* Early stopping as Keras' EarlyStopping(monitor="val_accuracy", patience,
 * restore_best_weights=True): strictly better is an improvement, its weights kept as
 * the best.  Without a validation set every epoch counts as the best (the last
 * weights are kept).  1 when the patience ran out (said). */
static int early_stop(struct train_run *r, const struct curve_point *cp)
{
    struct trainer *t = &r->t;
    struct train_result *res = r->res;
    double score = r->has_val ? cp->val_acc : (double)cp->epoch;
    if (score > t->best_score) {
        t->best_score = score;
        t->wait = 0;
        t->have_best = 1;
        res->best_epoch = cp->epoch;
        res->best_val_acc = cp->val_acc;
        res->best_val_loss = cp->val_loss;
        lstm_params_copy(&t->best, r->p);
    } else if (++t->wait >= r->cfg->patience) {
        /* WAIT, not the patience: with --patience 0 (Keras' semantics: the first epoch
         * without a better val_acc stops, as with 1) this said "for 0 epochs" */
        if (r->progress) fprintf(r->progress, "early stopping: no better val_acc for %d epoch%s, best epoch %d\n",
                                 t->wait, t->wait == 1 ? "" : "s", res->best_epoch);
        return 1;
    }
    return 0;
}

enum { EPOCH_NEXT, EPOCH_LAST, EPOCH_FAILED };

/* One epoch trained, validated, said, drawn, weighed for early stopping and
 * checkpointed: EPOCH_NEXT to go on, EPOCH_LAST when the run ends with it (a stop,
 * divergence, early stopping), EPOCH_FAILED when out of memory (said). */
static int run_epoch(struct train_run *r, int epoch)
{
    double t0 = nb_now();
    struct epoch_sums e = {0};
    shuffle_order(&r->t, r->train->n);
    train_batches(r, &e);
    if (interrupted(r, epoch, &e)) return EPOCH_LAST;
    if (record_epoch(r, epoch, &e, t0) < 0) return EPOCH_FAILED;
    const struct curve_point *cp = &r->t.curve[epoch - 1];
    if (diverged(r, cp)) return EPOCH_LAST;
    r->res->epochs_run = epoch;
    say_epoch(r, cp);
    write_curves(&r->t, epoch, r->res, r->errf);
    if (early_stop(r, cp)) return EPOCH_LAST;
    if (r->cfg->checkpoint && !r->res->checkpoint_failed)
        save_checkpoint(&r->t, r->p, r->cfg, &r->run, epoch, r->res, r->errf);
    return EPOCH_NEXT;
}

/* The epochs from FIRST to the last or the run's end, then the best epoch's weights
 * into p; 0, or -1 when out of memory (said). */
static int train_epochs(struct train_run *r, int first)
{
    int status = 0;
    for (int epoch = first; epoch <= r->cfg->max_epochs; epoch++) {
        int e = run_epoch(r, epoch);
        if (e == EPOCH_FAILED) status = -1;
        if (e != EPOCH_NEXT) break;
    }
    /* Keep the best epoch's weights; an interruption before the first epoch ends keeps
     * the weights as they are, a first epoch that diverged the initial ones. */
    if (r->t.have_best || r->res->diverged) lstm_params_copy(r->p, &r->t.best);
    return status;
}

/* The trainer freed, the floating-point settings and OpenBLAS's threads as they were
 * (cfg->threads when it was given). */
static void trainer_end(struct train_run *r)
{
    trainer_free(&r->t);
    denormals_restore(r->mxcsr);
    openblas_set_num_threads(r->cfg->threads > 0 ? r->cfg->threads : r->blas_threads);
}

int lstm_train(struct lstm_params *p, const struct train_config *cfg,
               const struct train_data *train, const struct train_data *val,
               struct train_result *res, FILE *progress)
{
    struct train_run r = {.p = p, .cfg = cfg, .train = train, .val = val, .res = res,
                          .progress = progress, .errf = stderr};
    memset(res, 0, sizeof *res);
    res->best_val_acc = NAN; res->best_val_loss = NAN;
    if (check_run(&r) < 0 || trainer_alloc(&r) < 0) return -1;
    trainer_start(&r);
    int first = first_epoch(&r);
    int status = first < 0 ? -1 : train_epochs(&r, first);
    trainer_end(&r);
    return status;
}
