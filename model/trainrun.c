/* trainrun.c — `nbstage train`'s run, from the inputs to the model file.
 *
 * Owns: the order of the run (--cells read, the weak labels read and joined
 * (trainread.c), duplicates dropped, the class cap, the split by notebook
 * (trainsplit.c), the vocabulary and the two sets (trainsets.c), the parameters,
 * lstm_train (model/train.c: the epochs, their progress lines and the learning
 * curves) with Ctrl-C caught (trainstop.c), the model written (trainsave.c)); the
 * log lines before training (what was left out and why, the classes before the cap,
 * the sets, the kernels and threads); and the refusals of data, each said with its
 * reasons, exit 2, no model made: weak labels without a source named even with -q,
 * cells of one stage (all of them, or the training ones after the split: the model
 * would know that stage alone), fewer than 2 usable cells, no training cell left by
 * the split, a run stopped (Ctrl-C, SIGTERM, SIGHUP) before its first epoch ended, or one
 * that diverged in its first epoch (train.h: non-finite weights are never kept).
 * Stopped later, the best weights so far are written.
 */
#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "labeling/stage.h"
#include "model/commands.h"
#include "model/lstm.h"
#include "model/tokenizer.h"
#include "model/train.h"
#include "model/traincmd.h"
#include "model/trainread.h"
#include "model/trainsave.h"
#include "model/trainsets.h"
#include "model/trainsplit.h"
#include "model/trainstop.h"
#include "model/vocab.h"
#include "nbformat/notebook.h"

/* " (OUT left as it was)" when OUT is there to be left, else "": said when no model is
 * written, so that a user does not look for an earlier model that never was. */
static const char *kept_note(const char *out, char *buf, size_t len)
{
    struct stat st;
    if (lstat(out, &st) < 0) return "";
    snprintf(buf, len, " (%s left as it was)", out);
    return buf;
}

/* After the model is written: a run that ended (its epochs, early stopping, a
 * divergence) has no more use for its checkpoint, which is removed, as Keras'
 * BackupAndRestore removes its own; a stopped one keeps it, and is told how to go
 * on.  -1 when it could not be removed (said): the same command would otherwise
 * take it for a run to resume. */
static int checkpoint_settle(const struct train_opts *o, const struct train_result *res, FILE *log)
{
    const char *ckpt = o->cfg.checkpoint;
    if (res->interrupted) {
        struct stat st;
        if (log && stat(ckpt, &st) == 0)
            nb_say(log, "nbstage train: the same command resumes the run from %s", ckpt);
        return 0;
    }
    /* through a symlink the checkpoints were written to its target: that is the file
     * to remove (the link, left dangling, is where the next run writes again) */
    char target[PATH_MAX];
    const char *file = realpath(ckpt, target) ? target : ckpt;
    if (unlink(file) < 0 && errno != ENOENT) {
        nb_say(stderr, "nbstage train: %s is written, but its finished run's checkpoint %s cannot be removed "
                       "(%s): remove it before training again with the same inputs and options, or the run "
                       "resumes from it", o->out, file, strerror(errno));
        return -1;
    }
    return 0;
}

/* One run: its options, what its steps hand each other, and what they allocated (freed
 * by trainrun_free); a member is zeroed until its step fills it. */
struct trainrun_state {
    const struct train_opts *o;
    FILE *log;                  /* stderr, NULL with -q */
    struct train_srcmap map;    /* --cells, until the weak labels are joined to it */
    struct train_cells cv;      /* the cells with their labels */
    struct weak_stats ws;       /* the lines left out, and why */
    size_t labels_kept;         /* the labels read, before duplicates are dropped */
    size_t dups;                /* duplicates dropped */
    long counts[N_STAGES];      /* the classes before the cap */
    long capped;                /* cells over the class cap */
    char changed[64];           /* ", N of a changed source" for the messages, or "" */
    unsigned char *is_val;      /* per cell: in a validation notebook */
    size_t nval;                /* validation cells */
    struct vocab v;
    struct train_data td, vd;   /* the training and validation sets */
    int *ttok, *vtok;           /* their words and targets */
    float *ttgt, *vtgt;
    struct lstm_params p;
    struct train_result res;
};

/* The labels' ids without a source, and those of a changed source, named even with -q. */
static void say_left_out(const struct trainrun_state *s)
{
    const struct train_opts *o = s->o;
    const struct weak_stats *ws = &s->ws;
    /* A --cells file from another ingest (or a stale one) would otherwise train on
     * whatever part of the labels it happens to cover.  Each line, made of its ids, is
     * written whole (nb_line_begin), in one write(2). */
    struct nb_line line;
    if (ws->no_source) {
        FILE *to = nb_line_begin(&line, stderr);
        fprintf(to, "nbstage train: %zu of %zu weak labels have no source%s", ws->no_source, ws->lines,
                o->cells ? " in " : "; give --cells");
        if (o->cells) nb_put_shown(to, o->cells, strlen(o->cells)); /* paths and ids, as nb_say shows them */
        fputs(" (", to);
        for (size_t i = 0; i < sizeof ws->missing / sizeof *ws->missing && ws->missing[i]; i++) {
            if (i) fputs(", ", to);
            nb_put_shown(to, ws->missing[i], strlen(ws->missing[i]));
        }
        fprintf(to, "%s): left out\n", ws->no_source > sizeof ws->missing / sizeof *ws->missing ? ", ..." : "");
        nb_line_end(&line);
    }
    /* The notebooks changed since label ran, and the labels left would teach the
     * stages of cells that are not there. */
    if (ws->changed) {
        FILE *to = nb_line_begin(&line, stderr);
        fprintf(to, "nbstage train: %zu of %zu weak labels were made from another source than ",
                ws->changed, ws->lines);
        nb_put_shown(to, o->cells, strlen(o->cells));
        fputs(" has (", to);
        for (size_t i = 0; i < sizeof ws->changed_ids / sizeof *ws->changed_ids && ws->changed_ids[i]; i++) {
            if (i) fputs(", ", to);
            nb_put_shown(to, ws->changed_ids[i], strlen(ws->changed_ids[i]));
        }
        fprintf(to, "%s): left out; the notebooks changed since `nbstage label` ran: label them again\n",
                ws->changed > sizeof ws->changed_ids / sizeof *ws->changed_ids ? ", ..." : "");
        nb_line_end(&line);
    }
}

/* --cells read, the weak labels read and joined to it, what was left out said, and
 * --cells freed (the cells have their sources); -1 said. */
static int read_labels(struct trainrun_state *s)
{
    const struct train_opts *o = s->o;
    struct train_srcmap *map = &s->map;
    if (o->cells && trainread_sources(o->cells, map)) return -1;
    if (o->context && map->disorder_line) {
        nb_say(stderr, "nbstage train: %s:%zu: cell index %lld after %lld of the same notebook: --context reads "
                       "each cell after the line before it, so --cells must keep ingest's order (not sorted "
                       "or shuffled)", o->cells, map->disorder_line, map->disorder_ix, map->disorder_after);
        return -1;
    }
    if (trainread_weak(o->weak, o->min_conf, o->soft, o->context, map, &s->cv, &s->ws)) return -1;
    s->labels_kept = s->cv.n;
    say_left_out(s);
    trainread_free(map->v, map->n);
    *map = (struct train_srcmap){0};
    return 0;
}

/* Duplicates dropped and the class cap applied, the classes before it counted; then
 * the cells refused when they are of one stage or fewer than 2, with every reason a
 * line was left out, as the log line gives them; -1 said. */
static int choose_cells(struct trainrun_state *s)
{
    const struct train_opts *o = s->o;
    const struct weak_stats *ws = &s->ws;
    s->dups = o->dedupe ? trainsplit_dedupe(&s->cv) : 0;
    if (s->dups == (size_t)-1) { fprintf(stderr, "nbstage train: out of memory\n"); return -1; }
    s->capped = trainsplit_cap(&s->cv, o->cap, o->cfg.seed, s->counts);
    if (s->capped < 0) { fprintf(stderr, "nbstage train: out of memory\n"); return -1; }
    /* One stage among the usable cells (before the cap, which keeps at least one cell
     * of each): a model that can only ever answer it, trained without a word.
     * Refused, as scikit-learn refuses data of one class, with what left the others out. */
    int only = trainsplit_one_stage(s->counts);
    if (ws->changed) snprintf(s->changed, sizeof s->changed, ", %zu of a changed source", ws->changed);
    if (only >= 0 && s->counts[only] >= 2) {
        nb_say(stderr, "nbstage train: %s: every one of the %ld usable cells has the stage %s: a classifier "
                       "needs at least 2 stages to learn (%zu lines: %zu abstained, %zu without source%s%s, %zu "
                       "blank or comment-only, %zu below --min-confidence, %zu duplicates)",
               o->weak, s->counts[only], stage_key[only], ws->lines, ws->abstained, ws->no_source,
               ws->no_source && !o->cells ? "; give --cells" : "", s->changed, ws->blank, ws->low_conf, s->dups);
        return -1;
    }
    if (s->cv.n < 2) {
        nb_say(stderr, "nbstage train: %s: %zu usable cells, 2 needed (%zu lines: %zu abstained, %zu without "
                       "source%s%s, %zu blank or comment-only, %zu below --min-confidence, %zu duplicates)",
               o->weak, s->cv.n, ws->lines, ws->abstained, ws->no_source,
               ws->no_source && !o->cells ? "; give --cells" : "", s->changed, ws->blank, ws->low_conf, s->dups);
        return -1;
    }
    return 0;
}

/* The cells split by notebook into training and validation; -1 said when no training
 * cell is left, or those left are of one stage. */
static int split_cells(struct trainrun_state *s)
{
    const struct train_opts *o = s->o;
    const struct train_cells *cv = &s->cv;
    s->is_val = calloc(cv->n, 1);
    if (!s->is_val) { fprintf(stderr, "nbstage train: out of memory\n"); return -1; }
    s->nval = o->val_split > 0 ? trainsplit_by_notebook(&s->cv, o->val_split, o->cfg.seed, s->is_val) : 0;
    if (s->nval == (size_t)-1) { fprintf(stderr, "nbstage train: out of memory\n"); return -1; }
    if (s->nval == cv->n) { fprintf(stderr, "nbstage train: no training cells left after the split\n"); return -1; }
    /* The split takes whole notebooks: those of the other stages may all have gone to
     * validation, and the training cells, of one stage, would teach only it. */
    long tcounts[N_STAGES] = {0};
    for (size_t i = 0; i < cv->n; i++) tcounts[cv->v[i].stage] += !s->is_val[i];
    int only = trainsplit_one_stage(tcounts);
    if (only >= 0) {
        nb_say(stderr, "nbstage train: %s: after the validation split, the %zu training cells all have the stage "
                       "%s (the validation notebooks hold the other stages): a classifier needs at least 2 to "
                       "learn; try another --seed or --val-split 0", o->weak, cv->n - s->nval, stage_key[only]);
        return -1;
    }
    return 0;
}

/* The vocabulary, of the training cells; -1 said (out of memory). */
static int make_vocab(struct trainrun_state *s)
{
    const struct train_opts *o = s->o;
    if (trainsets_vocab(&s->cv, s->is_val, o->vocab, o->assign_words ? TOKENIZE_ASSIGN_WORDS : 0, o->oov_word,
                        &s->v)) {
        fprintf(stderr, "nbstage train: out of memory\n");
        return -1;
    }
    s->v.context = o->context; /* the sources above are already the texts it reads */
    return 0;
}

/* The log lines before training (not with -q): what was left out and the cap, the
 * classes before it, the sets, the kernels and threads, the labels' probabilities
 * scaled, a validation set wanted and not made. */
static void say_data(const struct trainrun_state *s)
{
    const struct train_opts *o = s->o;
    const struct weak_stats *ws = &s->ws;
    FILE *log = s->log;
    if (!log) return;
    int used_threads = o->cfg.threads < LSTM_MAX_THREADS ? o->cfg.threads : LSTM_MAX_THREADS; /* train.c's cap */
    /* the three lines whole, in one write(2) (nb_line_begin) */
    struct nb_line line;
    FILE *to = nb_line_begin(&line, log);
    fprintf(to, "nbstage train: %zu weak labels: %zu abstained, %zu without source%s, %zu blank or comment-only, "
                 "%zu below confidence, %zu duplicates dropped, ",
            ws->lines, ws->abstained, ws->no_source, s->changed, ws->blank, ws->low_conf, s->dups);
    if (o->cap > 0) fprintf(to, "%ld over the class cap of %d\n", s->capped, o->cap);
    else fputs("no class cap\n", to);
    fprintf(to, "nbstage train: classes before the cap:");
    for (int k = 0; k < N_STAGES; k++) fprintf(to, " %s %ld", stage_key[k], s->counts[k]);
    /* soft targets from lines without probabilities (a user's own weak file) are
     * one-hot: said, so that the log does not claim the label model's */
    char one_hot[96] = "";
    if (o->soft && ws->no_probs == s->labels_kept)
        snprintf(one_hot, sizeof one_hot, " (no label gives probabilities: one-hot)");
    else if (o->soft && ws->no_probs)
        snprintf(one_hot, sizeof one_hot, " (one-hot for the %zu labels without probabilities)", ws->no_probs);
    fprintf(to, "\nnbstage train: %zu training cells, %zu validation cells (whole notebooks), vocabulary %d word%s%s%s, "
                 "%s targets%s%s; OpenBLAS %s kernels, %d thread%s\n", s->cv.n - s->nval, s->nval, s->v.n - 1,
            s->v.n - 1 == 1 ? "" : "s", o->assign_words ? " with assignment words" : "",
            o->oov_word ? (o->assign_words ? " and an out-of-vocabulary word" : " with an out-of-vocabulary word") : "",
            o->soft ? "soft" : "hard", one_hot, o->context ? ", each cell after its predecessor's last lines" : "",
            openblas_get_corename(), used_threads, used_threads == 1 ? "" : "s");
    nb_line_end(&line);
    if (ws->rescaled) /* the targets, and --min-confidence, read them scaled */
        nb_say(log, "nbstage train: %zu %s probabilities do not sum to 1 (the first, line %zu of %s, sums "
                    "to %g): each scaled to sum to 1", ws->rescaled, ws->rescaled == 1 ? "label's" : "labels'",
               ws->rescaled_line, o->weak, ws->rescaled_sum);
    if (o->val_split > 0 && s->nval == 0)
        fprintf(log, "nbstage train: no validation set: the cells are all from one notebook, which is never split "
                     "(no early stopping; the last epoch is kept)\n");
}

/* The two sets' sequences and targets, and the parameters initialised; -1 said (out of
 * memory). */
static int make_sets(struct trainrun_state *s)
{
    const struct train_opts *o = s->o;
    if (trainsets_make(&s->cv, s->is_val, 0, &s->v, o->seq_len, &s->td, &s->ttok, &s->ttgt) ||
        trainsets_make(&s->cv, s->is_val, 1, &s->v, o->seq_len, &s->vd, &s->vtok, &s->vtgt)) {
        fprintf(stderr, "nbstage train: out of memory\n");
        return -1;
    }
    /* The table has a row per id in use: a small vocabulary gives a small model. */
    int rows = s->v.n < o->vocab ? (s->v.n < 2 ? 2 : s->v.n) : o->vocab;
    if (lstm_params_init(&s->p, rows, o->embed, o->hidden, N_STAGES, o->cfg.seed)) {
        fprintf(stderr, "nbstage train: out of memory for the parameters\n");
        return -1;
    }
    return 0;
}

/* lstm_train with Ctrl-C, SIGTERM and SIGHUP caught; -1 said when it failed, or ended
 * with no weights to write (stopped or diverged before its first epoch ended). */
static int train_model(struct trainrun_state *s)
{
    const struct train_opts *o = s->o;
    struct train_result *res = &s->res;
    char kept[4200];
    struct train_config cfg = o->cfg; /* with the stop flag */
    struct trainstop ts;
    cfg.stop = trainstop_catch(&ts);
    int tr = lstm_train(&s->p, &cfg, &s->td, s->nval ? &s->vd : NULL, res, s->log);
    trainstop_release(&ts);
    if (tr) { /* a checkpoint refused was said, and training never began */
        if (!res->checkpoint_refused) fprintf(stderr, "nbstage train: training failed\n");
        return -1;
    }
    /* Stopped before any epoch ended: the weights are a part-epoch's, never
     * validated; writing them would replace a user's earlier model with a worse one. */
    if (res->interrupted && res->epochs_run == 0) {
        nb_say(stderr, "nbstage train: interrupted in epoch 1, before any epoch ended: no model written%s",
               kept_note(o->out, kept, sizeof kept));
        return -1;
    }
    /* Diverged in the first epoch: no weights that are numbers to write. */
    if (res->diverged && res->epochs_run == 0) {
        nb_say(stderr, "nbstage train: training diverged in epoch 1 (weights or losses no longer finite "
                       "numbers; try a lower --lr or less dropout): no model written%s",
               kept_note(o->out, kept, sizeof kept));
        return -1;
    }
    return 0;
}

/* The model written, the checkpoint settled; -1 said when either failed, or the
 * learning curves were not written. */
static int write_model(struct trainrun_state *s)
{
    const struct train_opts *o = s->o;
    if (trainsave_model(o, &s->p, &s->v, s->cv.n - s->nval, s->nval, &s->res, s->log)) return -1;
    if (o->cfg.checkpoint && checkpoint_settle(o, &s->res, s->log)) return -1;
    /* The model is there, but a script must not take the run for whole. */
    if (s->res.curves_failed) {
        nb_say(stderr, "nbstage train: %s is written, but its learning curves are not (said above)", o->out);
        return -1;
    }
    return 0;
}

/* Frees what the run's steps allocated, wherever it ended. */
static void trainrun_free(struct trainrun_state *s)
{
    struct weak_stats *ws = &s->ws;
    for (size_t i = 0; i < sizeof ws->missing / sizeof *ws->missing; i++) free(ws->missing[i]);
    for (size_t i = 0; i < sizeof ws->changed_ids / sizeof *ws->changed_ids; i++) free(ws->changed_ids[i]);
    trainread_free(s->map.v, s->map.n);
    trainread_free(s->cv.v, s->cv.n);
    free(s->is_val);
    vocab_free(&s->v);
    lstm_params_free(&s->p);
    free(s->ttok); free(s->vtok); free(s->ttgt); free(s->vtgt);
}

int trainrun(const struct train_opts *o)
{
    struct trainrun_state s = {.o = o, .log = o->quiet ? NULL : stderr};
    /* A reader of the progress lines that went away (`| head`, a tee killed with its
     * terminal) must not throw the run away: the writes fail with EPIPE, unread, and
     * the model is still written. */
    signal(SIGPIPE, SIG_IGN);
    int rc = EXIT_USAGE;
    if (read_labels(&s) || choose_cells(&s) || split_cells(&s) || make_vocab(&s)) goto out;
    say_data(&s);
    if (make_sets(&s) || train_model(&s) || write_model(&s)) goto out;
    rc = EXIT_OK;
out:
    trainrun_free(&s);
    return rc;
}
