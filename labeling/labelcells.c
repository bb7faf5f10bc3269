/* labelcells.c — `nbstage label` on cells: LF votes, the label model, weak labels.
 *
 * Owns: the cells mode, from the rules to the exit code.  Loads the rules (the
 * default file, then each --rules file, and the built-ins), reads the cells
 * (cellread.c; with --statements, each top-level statement of a cell added after
 * them), checks that --gold can score before any work, votes with the LF set in
 * parallel (lfvote.c), adds the context LFs in notebook order, counts the vote
 * patterns, fits the label model on whole cells and writes one JSON line per cell in
 * input order, each statement of a cell after it (weaklabel.c; a statement voted only
 * stages no cell was voted is left unlabeled, labelmodel.h).  A posterior that is not
 * a distribution is an internal error: said, nothing written.  The LF analysis goes
 * to stderr or --report, scored against --gold hand labels when given (with --svg,
 * the confusion matrix; with --profile, the time each LF took).  -o and --report are
 * committed together once everything is
 * written (labelout.c); a report to stderr comes after the labels are in place.
 * Exit 1 when input lines were skipped or PCRE2 gave up on a rule.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labeling/cellread.h"
#include "labeling/flow.h"
#include "labeling/gold.h"
#include "labeling/labelcmd.h"
#include "labeling/labelmodel.h"
#include "labeling/labelout.h"
#include "labeling/lfreport.h"
#include "labeling/lfset.h"
#include "labeling/lfvote.h"
#include "labeling/metrics.h"
#include "labeling/rules.h"
#include "labeling/stage.h"
#include "labeling/weaklabel.h"
#include "model/commands.h"
#include "nbformat/clock.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"
#include "nbformat/sharefile.h"

/* --profile: the LFs that took the longest, with where each is defined, its time in
 * all threads together, its share and its cost per cell; the rest summed. */
enum { PROFILE_SHOWN = 25 };

static void print_profile(FILE *rep, const struct lfset *lfs, const uint64_t *ns, size_t items,
                          int threads)
{
    int m = lfs->n, *order = malloc((size_t)m * sizeof *order);
    if (!order) return;
    uint64_t total = 0;
    for (int k = 0; k < m; k++) {
        order[k] = k;
        total += ns[k];
    }
    for (int a = 1; a < m; a++) /* slowest first; insertion sort: a few hundred LFs */
        for (int b = a; b > 0 && ns[order[b]] > ns[order[b - 1]]; b--) {
            int t = order[b];
            order[b] = order[b - 1];
            order[b - 1] = t;
        }
    fprintf(rep, "LF time (--profile): %.2f s matching in %d thread%s, over %zu cells%s; each LF's own\n"
            "time, the clock read between two LFs (some 20-40 ns a read, counted in the LFs')\n",
            total * 1e-9, threads, threads == 1 ? "" : "s", items, items ? "" : " (nothing to time)");
    fprintf(rep, "  %-32s %-8s %-24s %8s %7s %8s\n", "LF", "stage", "defined at", "time s", "share",
            "us/cell");
    const struct ruleset *rs = &lfs->rules;
    uint64_t rest = 0;
    int shown = 0;
    for (int i = 0; i < m; i++) {
        int k = order[i];
        if (!ns[k]) continue; /* context LFs: not matched */
        if (shown == PROFILE_SHOWN) {
            rest += ns[k];
            continue;
        }
        char where[512];
        if ((size_t)k < rs->n) {
            const char *path = rs->paths[rs->rules[k].file - 1], *base = strrchr(path, '/');
            char file[NB_SHOWN_MAX]; /* a rule file's name, as messages show it */
            snprintf(where, sizeof where, "%s:%d", nb_shown(base ? base + 1 : path, file, sizeof file),
                     rs->rules[k].line);
        } else {
            snprintf(where, sizeof where, "built-in");
        }
        fprintf(rep, "  %-32s %-8s %-24s %8.3f %6.1f%% %8.2f\n", lfs->name[k],
                lfs->stage[k] >= 0 ? stage_key[lfs->stage[k]] : "any", where, ns[k] * 1e-9,
                total ? 100.0 * ns[k] / total : 0.0, items ? ns[k] * 1e-3 / items : 0.0);
        shown++;
    }
    if (rest) fprintf(rep, "  %-32s %-8s %-24s %8.3f %6.1f%%\n", "(the others)", "", "", rest * 1e-9,
                      total ? 100.0 * rest / total : 0.0);
    fputc('\n', rep);
    free(order);
}

/* The shipped rules (unless --no-default-rules), each --rules file over them, and the
 * built-ins.  -1 with the reason said (file:line for a bad rule). */
static int load_rules(const struct label_opts *o, struct lfset *lfs)
{
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    rs.reserved = lfset_builtin_names();
    char err[NB_ERROR_MAX], path[4096];
    const char *via = "", *via_value = ""; /* where the file was named, when not given */
    if (!o->no_default) {
        if (rules_default_path(path, sizeof path) < 0) {
            const char *env = getenv("NBSTAGE_RULES");
            if (env && *env) /* it was set: say what is wrong with it, not to set it */
                nb_say(stderr, "nbstage label: NBSTAGE_RULES=%s: %s", env, strerror(errno));
            else
                nb_say(stderr, "nbstage label: no default rule file: %s",
                       share_file_missing("rules.txt", "set NBSTAGE_RULES, or give --no-default-rules --rules FILE",
                                          err, sizeof err));
            return -1;
        }
        if (ruleset_load_file(&rs, path, err, sizeof err) < 0) {
            /* a variable set long ago: named, as a file it cannot read names it */
            const char *env = getenv("NBSTAGE_RULES");
            if (env && *env) via = "NBSTAGE_RULES=", via_value = env;
            goto bad;
        }
    }
    for (int i = 0; i < o->n_rules; i++) {
        if (!strcmp(o->rules[i], "-")) { /* standard input is the cells' alone, as --gold says */
            fprintf(stderr, "nbstage label: --rules -: rules are read from a file, not standard input "
                            "(./- names a file called -)\n");
            ruleset_free(&rs);
            return -1;
        }
        if (ruleset_load_file(&rs, o->rules[i], err, sizeof err) < 0) goto bad;
    }
    if (lfset_init(lfs, &rs) < 0) { ruleset_free(&rs); fprintf(stderr, "nbstage label: out of memory\n"); return -1; }
    return 0;
bad:
    nb_say(stderr, "nbstage label: %s%s%s%s", via, via_value, *via ? ": " : "", err);
    ruleset_free(&rs);
    return -1;
}

/* A rule of the user's own files, those --rules gives (FIRST_OWN: the first of them
 * in the ruleset, 2 after the default one, 1 with --no-default-rules), that voted on
 * no cell: said with its file and line, once each.  (The default file, NBSTAGE_RULES'
 * too, is most often the shipped rules or a copy: on a small input most of its ~150
 * rules vote on nothing, and saying each would bury the rest.)  In the LF
 * table it is one 0.00% row among ~150.  Its patterns matched no cell (a '#' in one
 * starts a comment, a word misspelt), or wherever they matched a stronger rule of the
 * cell held the vote (a hint or show rule under a job rule): the message says both. */
static void say_idle_rules(const struct lfset *lfs, const signed char *votes, size_t total, int first_own)
{
    int m = lfs->n;
    for (size_t j = 0; j < lfs->rules.n; j++) {
        const struct rule *r = &lfs->rules.rules[j];
        if (r->file < first_own) continue;
        size_t i = 0;
        while (i < total && votes[i * (size_t)m + j] < 0) i++;
        if (i == total)
            nb_say(stderr, "nbstage label: %s:%d: rule %s voted on no cell (its patterns matched none, or a "
                           "stronger rule held the vote wherever they did)", lfs->rules.paths[r->file - 1],
                   r->line, r->name);
    }
}

/* A posterior lm_predict labeled with that is not a distribution is our bug: said, and
 * nothing written (a NaN was once written 0.0000 for every stage, stage null).  0 when
 * it is one. */
static int bad_posterior(const char *id, const double *p)
{
    if (weak_is_distribution(p)) return 0;
    char probs[N_STAGES * 40] = "";
    for (int k = 0, n = 0; k < N_STAGES; k++)
        n += snprintf(probs + n, sizeof probs - (size_t)n, "%s%s %g", k ? ", " : "", stage_key[k], p[k]);
    nb_say(stderr, "nbstage label: internal error: the label model's probabilities for %s are not a "
                   "distribution (%s); no labels written", id, probs); /* (ID escaped, as every name) */
    return -1;
}

/* The data-flow evidence (flow.h) and the context LFs (lfset_context) added to the
 * VOTES of CELLS[0..N) (whole cells, in notebook order) and of their statements
 * CELLS[N..TOTAL), and the cells' vote patterns counted into ST (PAT[i]: cell i's).
 * 0, or -1 when out of memory. */
static int context_votes(const struct lfset *lfs, const struct label_cell *cells, size_t n, size_t total,
                         int jobs, signed char *votes, struct lf_cellinfo *info, struct lm_stats *st, long *pat)
{
    int m = lfs->n, rc = -1;
    unsigned char *results = malloc(total ? total : 1); /* per row: reads a model's results */
    unsigned char *trained = malloc(n ? n : 1);   /* per cell: its rules call it train */
    unsigned char *modelling = malloc(n ? n : 1); /* its rules call it prep, train or evaluate */
    unsigned char *stage1 = malloc(n ? n : 1);    /* 1 + its rules' majority stage, or 0 */
    unsigned char *helpers = malloc(n ? n : 1);   /* 1 + the stage of the helpers it only calls, or 0 */
    unsigned char *kept = malloc(n ? n : 1);      /* FLOW_UNKEPT, FLOW_FEEDS_MODEL or 0 */
    unsigned char *fits = malloc(n ? n : 1);      /* its rules call it prep or train (or it fits) */
    unsigned char *kept_fit = malloc(n ? n : 1);  /* as kept, the readers only prep or train cells */
    if (!results || !trained || !modelling || !stage1 || !helpers || !kept || !fits || !kept_fit) goto out;
    /* the flow's cells that train (model_output) and that model (feeds_model's readers),
     * by their rules' majority */
    for (size_t i = 0; i < n; i++) {
        int s = lfset_rule_majority(lfs, votes + i * (size_t)m);
        trained[i] = s == STAGE_TRAIN;
        stage1[i] = (unsigned char)(s + 1);
        modelling[i] = s == STAGE_PREP || s == STAGE_TRAIN || s == STAGE_EVALUATE;
        fits[i] = s == STAGE_PREP || s == STAGE_TRAIN;
        if (s == STAGE_EVALUATE) {
            int f = flow_fits_model(cells[i].src, cells[i].src_len);
            if (f < 0) goto out;
            fits[i] = (unsigned char)f;
        }
    }
    if (flow_mark(cells, n, total, trained, jobs, results) < 0 ||
        flow_mark_kept(cells, n, modelling, jobs, kept) < 0 || flow_mark_kept(cells, n, fits, jobs, kept_fit) < 0 ||
        flow_mark_helpers(cells, n, stage1, jobs, helpers) < 0)
        goto out;
    for (size_t i = 0; i < n; i++) {
        signed char *v = votes + i * (size_t)m;
        struct lf_context ctx = {.prev_stage = STAGE_NONE, .next_stage = STAGE_NONE, .reads_results = results[i],
                                 .unkept = kept[i] == FLOW_UNKEPT, .feeds_model = kept[i] == FLOW_FEEDS_MODEL,
                                 .helper_stage = (int)(helpers[i] & FLOW_HELPER_STAGE) - 1,
                                 .calls_evaluate = !!(helpers[i] & FLOW_CALLS_EVALUATE),
                                 .feeds_evaluate_only = kept[i] == FLOW_FEEDS_MODEL && kept_fit[i] != FLOW_FEEDS_MODEL};
        if (i > 0 && cells_same_notebook(&cells[i], &cells[i - 1]))
            ctx.prev_stage = lf_majority(v - m, m);
        if (i + 1 < n && cells_same_notebook(&cells[i], &cells[i + 1]))
            ctx.next_stage = lfset_rule_majority(lfs, v + m);
        lfset_context(lfs, &info[i], &ctx, v);
        if ((pat[i] = lm_stats_add(st, v, 1.0)) < 0) goto out;
    }
    /* A statement has no neighbours: the context LFs see none, but for model_output,
     * which follows the names from the notebook's first cell up to the statement.
     * Statements are labeled by the model fitted on whole cells, not fitted on: they
     * leave the cells' labels as they are without --statements. */
    for (size_t i = n; i < total; i++) {
        struct lf_context ctx = {.prev_stage = STAGE_NONE, .next_stage = STAGE_NONE, .reads_results = results[i],
                                 .helper_stage = STAGE_NONE};
        lfset_context(lfs, &info[i], &ctx, votes + i * (size_t)m);
    }
    rc = 0;
out:
    free(results); free(trained); free(modelling); free(stage1); free(helpers); free(kept); free(fits); free(kept_fit);
    return rc;
}

/* One run of the cells mode: what its steps hand each other, all freed together
 * (label_run_free; a member is zeroed until its step fills it). */
struct label_run {
    struct lfset lfs;
    struct gold gold;                   /* --gold's hand labels */
    const char *inname;                 /* the input, or <stdin> */
    struct label_cell *cells;           /* [total]: the n cells read, then their n_sub statements */
    size_t n, n_sub, total, skipped;    /* skipped: input lines that were not a cell */
    signed char *votes;                 /* [total][m] */
    struct lf_cellinfo *info;           /* [total] */
    long *pat;                          /* [n]: each cell's vote pattern in st */
    int *lm_pred, *mv_pred, *lm_all;    /* [n]: the weak label, the majority vote, the label at --min-confidence 0 */
    int *gold_ix;                       /* [n] --gold: the hand label scored, or GOLD_MISSING */
    const struct gold_row **gold_rows;  /* [n] for the report's lines on the labels' doubt */
    double *pproba, *sproba;            /* [st.n][LM_K] per pattern, [n_sub][LM_K] per statement */
    int *ppred, *spred;                 /* lm_predict's stage for each, -1 none */
    struct lm_stats st;
    struct label_model model;
    struct lfvote_gave_up gu;
    int gave_up_lfs;                    /* LFs PCRE2 gave up on (exit 1) */
    uint64_t *ns;                       /* --profile: nanoseconds per LF */
    size_t labeled, unsure, sub_labeled, sub_unknown; /* the report's counts */
    struct outfile oo, ro;              /* -o and --report, committed together */
    double t0, t1, t2, t3, t4;          /* read, LFs, fit, predict+write: the report's times */
};

static void label_run_free(struct label_run *r)
{
    outfile_abort(&r->oo); /* (nothing once committed) */
    outfile_abort(&r->ro);
    cells_free(r->cells, r->total);
    free(r->votes); free(r->info); free(r->pat); free(r->lm_pred); free(r->mv_pred); free(r->gold_ix);
    free(r->lm_all); free(r->gold_rows);
    free(r->pproba); free(r->ppred); free(r->sproba); free(r->spred);
    lm_stats_free(&r->st);
    lm_free(&r->model);
    gold_free(&r->gold);
    lfvote_gave_up_free(&r->gu);
    free(r->ns);
    lfset_free(&r->lfs);
}

/* The cells of the input (the file named, or standard input), the read timed from t0.
 * An input with no cell, or with one id on two sources, is refused here, before any
 * work.  -1 with the reason said. */
static int read_cells(const struct label_opts *o, struct label_run *r)
{
    FILE *in = stdin;
    r->inname = o->input ? o->input : "<stdin>";
    char why[PATH_MAX + 64];
    if (o->input && !(in = nb_fopen_input(o->input, "a JSON Lines file", why, sizeof why))) {
        nb_say(stderr, "nbstage label: %s: %s", o->input, why);
        return -1;
    }
    r->t0 = nb_now();
    int rd = cells_read(in, r->inname, &r->cells, &r->n, &r->skipped);
    r->total = r->n; /* the cells read so far are freed on failure too */
    if (in != stdin) fclose(in);
    if (rd < 0) return -1;
    /* No cell to label is the input's error, as train's and eval's: said, and nothing
     * written.  Before, the wrong file given (classify's output) replaced the weak
     * labels already in -o with an empty file. */
    if (r->n == 0) {
        nb_say(stderr, "nbstage label: %s: no cells (the JSON Lines `nbstage ingest` writes: one "
                       "code cell a line, with an \"id\" and a \"source\"); nothing written", r->inname);
        return -1;
    }
    size_t first = 0, second = 0;
    const char *clash = NULL;
    int cl = cells_id_clash(r->cells, r->n, &first, &second, &clash);
    if (cl < 0) { fprintf(stderr, "nbstage label: out of memory\n"); return -1; }
    if (cl) {
        nb_say(stderr, "nbstage label: %s:%zu and %zu: one id, two sources (%s): a weak label could go with "
                       "either; ids must be unique, as one `nbstage ingest` run of their common folder gives them",
               r->inname, first, second, clash);
        return -1;
    }
    return 0;
}

/* --gold: whether it can score the cells read.  Scoring asked for that cannot happen
 * is the --gold argument's error, as a bad row of it is, and as `eval` says it (exit
 * 2): said before the work, nothing written (-1).  Rows labeled none are left out of
 * scoring, as eval's; the hand-labeled cells missing from the input are said. */
static int check_gold_scorable(const struct label_opts *o, const struct label_run *r)
{
    const struct gold *gold = &r->gold;
    size_t labeled_rows = 0, found = 0;
    for (size_t i = 0; i < gold->n; i++) labeled_rows += gold->rows[i].label != STAGE_NONE;
    struct gold_seen seen;
    if (gold_seen_init(&seen, gold) < 0) { fprintf(stderr, "nbstage label: out of memory\n"); return -1; }
    int met = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct label_cell *c = &r->cells[i];
        const struct gold_row *g = gold_find(gold, c->id);
        if (!g || g->label == STAGE_NONE) continue;
        /* the same cell twice is scored once (another cell under the id was refused
         * by read_cells) */
        size_t seen_at;
        if ((met = gold_seen_add(&seen, gold, g, c->line, c->src, c->src_len, &seen_at)) < 0)
            break;
        found += met == 0;
    }
    const struct gold_row *unmet = met < 0 ? NULL : gold_first_unmet(&seen, gold);
    gold_seen_free(&seen, gold);
    if (met < 0) { fprintf(stderr, "nbstage label: out of memory\n"); return -1; }
    if (labeled_rows == 0) { /* empty, the header alone, or only `none` rows */
        nb_say(stderr, "nbstage label: %s: no cell labeled with a stage", o->gold);
        return -1;
    }
    if (found == 0) {
        nb_say(stderr, "nbstage label: none of the %zu hand-labeled cells of %s is in %s",
               labeled_rows, o->gold, r->inname);
        if (r->n) gold_mismatch_hint(stderr, "nbstage label", gold, r->cells[0].id);
        return -1;
    }
    if (found < labeled_rows && unmet)
        nb_say(stderr, "nbstage label: %zu of %zu hand-labeled cells are not in %s (the first, %s:%zu: %s)",
               labeled_rows - found, labeled_rows, r->inname, o->gold, unmet->line, unmet->cell_id);
    return 0;
}

/* --statements: each cell's top-level statements appended after the cells (total
 * counts them at once, so that those appended are freed on failure too).  -1 said
 * when out of memory. */
static int add_statements(const struct label_opts *o, struct label_run *r)
{
    if (!o->statements) return 0;
    int added = cells_add_statements(&r->cells, r->n, &r->n_sub);
    r->total = r->n + r->n_sub;
    if (added < 0) { fprintf(stderr, "nbstage label: out of memory\n"); return -1; }
    return 0;
}

/* The arrays sized by the cells (the votes, the patterns, the labels for the report,
 * --profile's times) and the pattern counts, all before the work.  -1 said when out of
 * memory. */
static int alloc_votes(const struct label_opts *o, struct label_run *r)
{
    int m = r->lfs.n;
    size_t n = r->n, total = r->total;
    r->votes = malloc((total ? total : 1) * (size_t)m);
    r->info = calloc(total ? total : 1, sizeof *r->info);
    r->pat = malloc((n ? n : 1) * sizeof *r->pat);
    r->lm_pred = malloc((n ? n : 1) * sizeof *r->lm_pred);
    r->mv_pred = malloc((n ? n : 1) * sizeof *r->mv_pred);
    r->lm_all = malloc((n ? n : 1) * sizeof *r->lm_all);
    if (o->profile) r->ns = calloc((size_t)m, sizeof *r->ns);
    if (!r->votes || !r->info || !r->pat || !r->lm_pred || !r->mv_pred || !r->lm_all ||
        lm_stats_init(&r->st, m) < 0 || (o->profile && !r->ns)) {
        fprintf(stderr, "nbstage label: out of memory\n");
        return -1;
    }
    return 0;
}

/* The LF votes on every cell and statement, in parallel; the LFs PCRE2 gave up on said
 * (even with -q), the user's rules that voted on no cell said (not with -q); then the
 * context LFs and the cells' vote patterns.  -1 said when out of memory. */
static int vote_cells(const struct label_opts *o, struct label_run *r)
{
    if (lfvote_gave_up_init(&r->gu, r->lfs.n) < 0 ||
        lfvote_all(&r->lfs, r->cells, r->total, o->jobs, r->votes, r->info, &r->gu, r->ns) < 0) {
        fprintf(stderr, "nbstage label: out of memory while voting\n");
        return -1;
    }
    r->gave_up_lfs = lfvote_say_gave_up(&r->lfs, &r->gu, r->cells, r->total);
    if (!o->quiet) say_idle_rules(&r->lfs, r->votes, r->total, o->no_default ? 1 : 2);
    /* Context LFs and pattern counts, in input (notebook) order.  (A second round
     * taking the previous cell's stage from a first fit of the label model instead of
     * its votes was tried: no better on the development labels.) */
    if (context_votes(&r->lfs, r->cells, r->n, r->total, o->jobs, r->votes, r->info, &r->st, r->pat)) {
        fprintf(stderr, "nbstage label: out of memory\n");
        return -1;
    }
    return 0;
}

/* The label model fitted on the cells' vote patterns (the statements are not fitted
 * on), timed from t2 to t3.  -1 said when out of memory. */
static int fit_model(const struct label_opts *o, struct label_run *r)
{
    struct lm_options lo;
    lm_options_default(&lo);
    lo.threads = o->jobs;
    lo.no_abstain_evidence = r->lfs.silent;
    r->t2 = nb_now();
    if (label_fit(&r->model, &r->st, &lo) < 0) return -1;
    r->t3 = nb_now();
    return 0;
}

/* The model's posterior and stage for each distinct vote pattern, predicted once per
 * pattern (many cells share one), and each cell's posterior checked (bad_posterior).
 * -1 said: out of memory, or a posterior that is not a distribution. */
static int predict_patterns(struct label_run *r)
{
    int m = r->lfs.n;
    r->pproba = malloc((r->st.n ? r->st.n : 1) * LM_K * sizeof *r->pproba);
    r->ppred = malloc((r->st.n ? r->st.n : 1) * sizeof *r->ppred);
    if (!r->pproba || !r->ppred) { fprintf(stderr, "nbstage label: out of memory\n"); return -1; }
    double *pproba = r->pproba;
    int *ppred = r->ppred;
    const long *pat = r->pat;
    for (size_t p = 0; p < r->st.n; p++)
        ppred[p] = lm_predict(&r->model, r->st.pat + p * (size_t)m, pproba + p * LM_K);
    for (size_t i = 0; i < r->n; i++)
        if (ppred[pat[i]] >= 0 && bad_posterior(r->cells[i].id, pproba + (size_t)pat[i] * LM_K)) return -1;
    return 0;
}

/* The statements, by the cells' model.  One voted only stages no cell was voted (its
 * classes have prior 0 in that model) is not labeled (lm_predict): the model could
 * only have put it, with certainty, in a stage none of its votes names; sub_unknown
 * counts them for the report.  -1 said, as predict_patterns. */
static int predict_statements(struct label_run *r)
{
    int m = r->lfs.n;
    size_t n = r->n, n_sub = r->n_sub;
    r->sproba = malloc((n_sub ? n_sub : 1) * LM_K * sizeof *r->sproba);
    r->spred = malloc((n_sub ? n_sub : 1) * sizeof *r->spred);
    if (!r->sproba || !r->spred) { fprintf(stderr, "nbstage label: out of memory\n"); return -1; }
    double *sproba = r->sproba;
    int *spred = r->spred;
    for (size_t k = 0; k < n_sub; k++) {
        const signed char *v = r->votes + (n + k) * (size_t)m;
        int any = 0;
        for (int j = 0; j < m; j++) any |= v[j] >= 0;
        spred[k] = lm_predict(&r->model, v, sproba + k * LM_K);
        r->sub_unknown += any && spred[k] < 0;
        if (spred[k] >= 0 && bad_posterior(r->cells[n + k].id, sproba + k * LM_K)) return -1;
    }
    return 0;
}

/* The weak labels: one JSON line per cell in input order, its statements after it, to
 * -o (committed at the end, with the report: labelout_flush) or stdout.  A stage under
 * --min-confidence or tied with another is left unlabeled (weak_label); each cell's
 * label, majority vote and label at --min-confidence 0 are kept for the report, with
 * the counts.  -1 said. */
static int write_labels(const struct label_opts *o, struct label_run *r)
{
    FILE *out = o->output ? labelout_open(&r->oo, o->output, "labels") : stdout;
    if (!out) return -1;
    int m = r->lfs.n;
    size_t n = r->n, total = r->total;
    const struct label_cell *cells = r->cells;
    const signed char *votes = r->votes;
    const long *pat = r->pat;
    const double *pproba = r->pproba, *sproba = r->sproba;
    const int *ppred = r->ppred, *spred = r->spred;
    int *lm_pred = r->lm_pred, *mv_pred = r->mv_pred, *lm_all = r->lm_all;
    size_t labeled = 0, unsure = 0, sub = n, sub_labeled = 0;
    for (size_t i = 0; i < n; i++) {
        const double *pr = pproba + (size_t)pat[i] * LM_K;
        int voted = ppred[pat[i]] >= 0;
        lm_all[i] = weak_label(pr, ppred[pat[i]], 0.0);
        lm_pred[i] = weak_label(pr, ppred[pat[i]], o->min_conf);
        unsure += voted && lm_pred[i] < 0;
        mv_pred[i] = lm_majority_vote(votes + i * (size_t)m, m);
        labeled += lm_pred[i] >= 0;
        weak_write_cell(out, &cells[i], &r->lfs, votes + i * (size_t)m, lm_pred[i], voted, pr);
        for (; sub < total && cells[sub].parent == i; sub++) { /* its statements follow it */
            const signed char *v = votes + sub * (size_t)m;
            const double *spr = sproba + (sub - n) * LM_K;
            int best = spred[sub - n];
            int stage = weak_label(spr, best, o->min_conf);
            sub_labeled += stage >= 0;
            weak_write_cell(out, &cells[sub], &r->lfs, v, stage, best >= 0, spr);
        }
    }
    r->labeled = labeled, r->unsure = unsure, r->sub_labeled = sub_labeled;
    if (out == stdout && nb_stdout_flush("nbstage label")) return -1;
    return 0;
}

/* --gold: each cell's hand label to score against, and its row for the report.  A hand
 * label scores one cell: an id met again (CELLS twice, cat a b) is labeled but not
 * scored again, as eval counts it (said, with how many).  -1 said when out of memory. */
static int match_gold(struct label_run *r)
{
    size_t n = r->n;
    r->gold_ix = malloc((n ? n : 1) * sizeof *r->gold_ix);
    r->gold_rows = malloc((n ? n : 1) * sizeof *r->gold_rows);
    unsigned char *scored = calloc(r->gold.n ? r->gold.n : 1, 1);
    if (!r->gold_ix || !r->gold_rows || !scored) { free(scored); fprintf(stderr, "nbstage label: out of memory\n"); return -1; }
    size_t dup = 0;
    for (size_t i = 0; i < n; i++) {
        const struct gold_row *g = gold_find(&r->gold, r->cells[i].id);
        if (g && scored[g - r->gold.rows]++) { g = NULL; dup++; }
        r->gold_ix[i] = g ? g->label : GOLD_MISSING;
        r->gold_rows[i] = g;
    }
    free(scored);
    if (dup)
        nb_say(stderr, "nbstage label: %s: %zu hand-labeled id%s met again, each scored once against "
                       "--gold (duplicate ids ignored)", r->inname, dup, dup == 1 ? "" : "s");
    return 0;
}

/* The report, to --report (its temporary, committed with the labels) or stderr: with
 * -q --profile the LF times alone, as its help says; else the counts and times, the LF
 * times with --profile, and the LF analysis (lfreport.c), scored when --gold is given.
 * -1 said. */
static int write_report(const struct label_opts *o, struct label_run *r, int want_analysis)
{
    FILE *rep = o->report ? labelout_open(&r->ro, o->report, "report") : stderr;
    if (!rep) return -1;
    int m = r->lfs.n, threads = o->jobs < 1 ? 1 : o->jobs > 8 ? 8 : o->jobs; /* lfvote's */
    size_t n = r->n;
    if (!want_analysis) {
        if (r->ns) print_profile(rep, &r->lfs, r->ns, r->total, threads);
        return 0;
    }
    fprintf(rep, "nbstage label: %zu cells, %d LFs (%zu rules + %d built-ins), %zu distinct vote patterns\n",
            n, m, r->lfs.rules.n, N_LF_BUILTINS, r->st.n);
    fprintf(rep, "nbstage label: %zu cells labeled (%.1f%%), %zu unlabeled (%zu of them voted on, but the "
            "label model's confidence is below --min-confidence %.2f, or its best stages tie)\n", r->labeled,
            n ? 100.0 * r->labeled / n : 0.0, n - r->labeled, r->unsure, o->min_conf);
    if (o->statements)
        fprintf(rep, "nbstage label: --statements: %zu statements of cells with two or more, written as cells of "
                "their own; %zu labeled%s", r->n_sub, r->sub_labeled, r->sub_unknown ? "" : "\n");
    if (o->statements && r->sub_unknown)
        fprintf(rep, "; %zu voted on but unlabeled: their votes name only stages no cell was voted, "
                "of which the label model fitted on the cells knows nothing\n", r->sub_unknown);
    fprintf(rep, "nbstage label: read %.2f s, LFs %.2f s, fit %.3f s, predict+write %.2f s\n\n",
            r->t1 - r->t0, r->t2 - r->t1, r->t3 - r->t2, r->t4 - r->t3);
    if (r->ns) print_profile(rep, &r->lfs, r->ns, r->total, threads);
    struct lf_report lr = {
        .m = m, .name = r->lfs.name, .stage = r->lfs.stage, .level = r->lfs.level, .silent = r->lfs.silent,
        .n = n, .votes = r->votes, .gold = r->gold_ix, .gold_rows = r->gold_rows, .lm_pred = r->lm_pred,
        .mv_pred = r->mv_pred, .model = &r->model, .lm_pred_all = r->lm_all, .min_conf = o->min_conf,
    };
    if (lf_report_print(rep, &lr)) {
        fprintf(stderr, "nbstage label: out of memory\n");
        return -1;
    }
    return 0;
}

/* -o and --report flushed, then the --svg confusion matrix written (and committed by
 * metrics, before the report and the labels), then the report and the labels
 * committed.  -1 said. */
static int commit_outputs(const struct label_opts *o, struct label_run *r)
{
    if (labelout_flush(&r->oo) < 0 || labelout_flush(&r->ro) < 0) return -1;
    if (o->svg && r->gold_ix) {
        struct confusion c;
        char err[NB_ERROR_MAX];
        memset(&c, 0, sizeof c);
        for (size_t i = 0; i < r->n; i++) if (r->gold_ix[i] >= 0) confusion_add(&c, r->gold_ix[i], r->lm_pred[i]);
        if (metrics_write_confusion_svg(o->svg, &c, "nbstage label: label model vs hand labels", err,
                                        sizeof err) < 0) {
            nb_say(stderr, "nbstage label: %s", err);
            return -1;
        }
    }
    if (labelout_commit(&r->ro) < 0 || labelout_commit(&r->oo) < 0) return -1;
    return 0;
}

int label_cells(const struct label_opts *o)
{
    struct label_run r;
    memset(&r, 0, sizeof r);
    if (load_rules(o, &r.lfs) < 0) return EXIT_USAGE;
    int rc = EXIT_USAGE;
    char err[NB_ERROR_MAX];

    if (o->gold && gold_load(&r.gold, o->gold, err, sizeof err) < 0) {
        nb_say(stderr, "nbstage label: %s", err);
        goto out;
    }
    if (read_cells(o, &r) < 0 || (o->gold && check_gold_scorable(o, &r) < 0) || add_statements(o, &r) < 0)
        goto out;
    r.t1 = nb_now();
    if (alloc_votes(o, &r) < 0 || vote_cells(o, &r) < 0 || fit_model(o, &r) < 0 || predict_patterns(&r) < 0 ||
        predict_statements(&r) < 0 || write_labels(o, &r) < 0)
        goto out;
    r.t4 = nb_now();
    if (o->gold && match_gold(&r) < 0) goto out;
    /* A report to a file (--report) is written before the outputs are committed, so
     * that they are committed together; one to stderr after, so that a reader of
     * stderr gone (`2>&1 | head`) cannot end the run before the labels are in place. */
    int want_analysis = !o->quiet || o->report || o->gold, want_report = want_analysis || o->profile;
    if (want_report && o->report && write_report(o, &r, want_analysis) < 0) goto out;
    if (commit_outputs(o, &r) < 0) goto out;
    if (want_report && !o->report && write_report(o, &r, want_analysis) < 0) goto out;
    rc = r.skipped || r.gave_up_lfs ? EXIT_FINDINGS : EXIT_OK;
out:
    label_run_free(&r);
    return rc;
}
