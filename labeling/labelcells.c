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
            snprintf(where, sizeof where, "%s:%d", base ? base + 1 : path, rs->rules[k].line);
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
            char where[4096];
            if (env && *env) /* it was set: say what is wrong with it, not to set it */
                fprintf(stderr, "nbstage label: NBSTAGE_RULES=%s: cannot read: %s\n", env, strerror(errno));
            else
                fprintf(stderr, "nbstage label: no default rule file: %s is missing (reinstall nbstage, set "
                                "NBSTAGE_RULES, or give --no-default-rules --rules FILE)\n",
                        share_file_expected("rules.txt", where, sizeof where));
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
    fprintf(stderr, "nbstage label: %s%s%s%s\n", via, via_value, *via ? ": " : "", err);
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
            fprintf(stderr, "nbstage label: %s:%d: rule %s voted on no cell (its patterns matched none, or a "
                            "stronger rule held the vote wherever they did)\n", lfs->rules.paths[r->file - 1],
                    r->line, r->name);
    }
}

/* A posterior lm_predict labeled with that is not a distribution is our bug: said, and
 * nothing written (a NaN was once written 0.0000 for every stage, stage null).  0 when
 * it is one. */
static int bad_posterior(const char *id, const double *p)
{
    if (weak_is_distribution(p)) return 0;
    fprintf(stderr, "nbstage label: internal error: the label model's probabilities for %s are not a "
            "distribution (", id);
    for (int k = 0; k < N_STAGES; k++) fprintf(stderr, "%s%s %g", k ? ", " : "", stage_key[k], p[k]);
    fprintf(stderr, "); no labels written\n");
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

int label_cells(const struct label_opts *o)
{
    struct lfset lfs;
    if (load_rules(o, &lfs) < 0) return EXIT_USAGE;
    int rc = EXIT_USAGE, m = lfs.n;
    struct label_cell *cells = NULL;
    size_t n = 0, n_sub = 0, total = 0;
    signed char *votes = NULL;
    struct lf_cellinfo *info = NULL;
    long *pat = NULL;
    int *lm_pred = NULL, *mv_pred = NULL, *gold_ix = NULL, *lm_all = NULL;
    const struct gold_row **gold_rows = NULL; /* [n] for the report's lines on the labels' doubt */
    int gave_up_lfs = 0;
    struct lfvote_gave_up gu = {0};
    uint64_t *ns = NULL; /* --profile: nanoseconds per LF */
    double *pproba = NULL, *sproba = NULL;
    int *ppred = NULL, *spred = NULL;
    struct lm_stats st;
    struct label_model model;
    struct gold gold;
    memset(&st, 0, sizeof st);
    memset(&model, 0, sizeof model);
    memset(&gold, 0, sizeof gold);
    FILE *out = NULL, *rep = NULL;
    struct outfile oo = {0}, ro = {0};
    char err[NB_ERROR_MAX];

    if (o->gold && gold_load(&gold, o->gold, err, sizeof err) < 0) {
        fprintf(stderr, "nbstage label: %s\n", err);
        goto out;
    }
    FILE *in = stdin;
    const char *inname = o->input ? o->input : "<stdin>";
    if (o->input && !(in = fopen(o->input, "r"))) {
        char why[512];
        fprintf(stderr, "nbstage label: %s: cannot open: %s\n", o->input, nb_path_strerror(o->input, errno, why, sizeof why));
        goto out;
    }
    double t0 = nb_now();
    size_t skipped = 0;
    int rd = cells_read(in, inname, &cells, &n, &skipped);
    total = n;
    if (in != stdin) fclose(in);
    if (rd < 0) goto out;
    /* No cell to label is the input's error, as train's and eval's: said, and nothing
     * written.  Before, the wrong file given (classify's output) replaced the weak
     * labels already in -o with an empty file. */
    if (n == 0) {
        fprintf(stderr, "nbstage label: %s: no cells (the JSON Lines `nbstage ingest` writes: one "
                        "code cell a line, with an \"id\" and a \"source\"); nothing written\n", inname);
        goto out;
    }
    size_t first = 0, second = 0;
    const char *clash = NULL;
    int cl = cells_id_clash(cells, n, &first, &second, &clash);
    if (cl < 0) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    if (cl) {
        fprintf(stderr, "nbstage label: %s:%zu and %zu: one id, two sources (%s): a weak label could go with "
                        "either; ids must be unique, as one `nbstage ingest` run of their common folder gives them\n",
                inname, first, second, clash);
        goto out;
    }
    if (o->gold) {
        /* Scoring asked for that cannot happen is the --gold argument's error, as a
         * bad row of it is, and as `eval` says it (exit 2): said before the work,
         * nothing written.  Rows labeled none are left out of scoring, as eval's. */
        size_t labeled_rows = 0, found = 0;
        for (size_t i = 0; i < gold.n; i++) labeled_rows += gold.rows[i].label != STAGE_NONE;
        struct gold_seen seen;
        if (gold_seen_init(&seen, &gold) < 0) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
        int met = 0;
        for (size_t i = 0; i < n; i++) {
            const struct gold_row *g = gold_find(&gold, cells[i].id);
            if (!g || g->label == STAGE_NONE) continue;
            /* the same cell twice is scored once (another cell under the id was refused
             * above) */
            size_t seen_at;
            if ((met = gold_seen_add(&seen, &gold, g, cells[i].line, cells[i].src, cells[i].src_len, &seen_at)) < 0)
                break;
            found += met == 0;
        }
        gold_seen_free(&seen, &gold);
        if (met < 0) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
        if (labeled_rows == 0) { /* empty, the header alone, or only `none` rows */
            fprintf(stderr, "nbstage label: %s: no cell labeled with a stage\n", o->gold);
            goto out;
        }
        if (found == 0) {
            fprintf(stderr, "nbstage label: none of the %zu hand-labeled cells of %s is in %s\n",
                    labeled_rows, o->gold, inname);
            if (n) gold_mismatch_hint(stderr, "nbstage label", &gold, cells[0].id);
            goto out;
        }
        if (found < labeled_rows)
            fprintf(stderr, "nbstage label: %zu of %zu hand-labeled cells are not in %s\n",
                    labeled_rows - found, labeled_rows, inname);
    }
    if (o->statements) {
        int added = cells_add_statements(&cells, n, &n_sub);
        total = n + n_sub;
        if (added < 0) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    }
    double t1 = nb_now();

    votes = malloc((total ? total : 1) * (size_t)m);
    info = calloc(total ? total : 1, sizeof *info);
    pat = malloc((n ? n : 1) * sizeof *pat);
    lm_pred = malloc((n ? n : 1) * sizeof *lm_pred);
    mv_pred = malloc((n ? n : 1) * sizeof *mv_pred);
    lm_all = malloc((n ? n : 1) * sizeof *lm_all);
    if (o->profile) ns = calloc((size_t)m, sizeof *ns);
    if (!votes || !info || !pat || !lm_pred || !mv_pred || !lm_all || lm_stats_init(&st, m) < 0 ||
        (o->profile && !ns)) {
        fprintf(stderr, "nbstage label: out of memory\n");
        goto out;
    }
    if (lfvote_gave_up_init(&gu, m) < 0 ||
        lfvote_all(&lfs, cells, total, o->jobs, votes, info, &gu, ns) < 0) {
        fprintf(stderr, "nbstage label: out of memory while voting\n");
        goto out;
    }
    gave_up_lfs = lfvote_say_gave_up(&lfs, &gu, cells, total);
    if (!o->quiet) say_idle_rules(&lfs, votes, total, o->no_default ? 1 : 2);
    /* Context LFs and pattern counts, in input (notebook) order.  (A second round
     * taking the previous cell's stage from a first fit of the label model instead of
     * its votes was tried: no better on the development labels.) */
    if (context_votes(&lfs, cells, n, total, o->jobs, votes, info, &st, pat)) {
        fprintf(stderr, "nbstage label: out of memory\n");
        goto out;
    }
    struct lm_options lo;
    lm_options_default(&lo);
    lo.threads = o->jobs;
    lo.no_abstain_evidence = lfs.silent;
    double t2 = nb_now();
    if (lm_fit(&model, &st, &lo) < 0) { fprintf(stderr, "nbstage label: out of memory in the fit\n"); goto out; }
    double t3 = nb_now();
    /* predict once per distinct pattern */
    pproba = malloc((st.n ? st.n : 1) * LM_K * sizeof *pproba);
    ppred = malloc((st.n ? st.n : 1) * sizeof *ppred);
    if (!pproba || !ppred) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    for (size_t p = 0; p < st.n; p++)
        ppred[p] = lm_predict(&model, st.pat + p * (size_t)m, pproba + p * LM_K);
    for (size_t i = 0; i < n; i++)
        if (ppred[pat[i]] >= 0 && bad_posterior(cells[i].id, pproba + (size_t)pat[i] * LM_K)) goto out;
    /* The statements, by the cells' model.  One voted only stages no cell was voted
     * (its classes have prior 0 in that model) is not labeled (lm_predict): the model
     * could only have put it, with certainty, in a stage none of its votes names. */
    sproba = malloc((n_sub ? n_sub : 1) * LM_K * sizeof *sproba);
    spred = malloc((n_sub ? n_sub : 1) * sizeof *spred);
    if (!sproba || !spred) { fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
    size_t sub_unknown = 0;
    for (size_t k = 0; k < n_sub; k++) {
        const signed char *v = votes + (n + k) * (size_t)m;
        int any = 0;
        for (int j = 0; j < m; j++) any |= v[j] >= 0;
        spred[k] = lm_predict(&model, v, sproba + k * LM_K);
        sub_unknown += any && spred[k] < 0;
        if (spred[k] >= 0 && bad_posterior(cells[n + k].id, sproba + k * LM_K)) goto out;
    }

    out = o->output ? labelout_open(&oo, o->output, "labels") : stdout;
    if (!out) goto out;
    size_t labeled = 0, unsure = 0, sub = n, sub_labeled = 0;
    for (size_t i = 0; i < n; i++) {
        const double *pr = pproba + (size_t)pat[i] * LM_K;
        int voted = ppred[pat[i]] >= 0;
        lm_all[i] = ppred[pat[i]];
        lm_pred[i] = voted && pr[ppred[pat[i]]] >= o->min_conf && !weak_top_tied(pr, ppred[pat[i]])
                         ? ppred[pat[i]] : -1;
        unsure += voted && lm_pred[i] < 0;
        mv_pred[i] = lm_majority_vote(votes + i * (size_t)m, m);
        labeled += lm_pred[i] >= 0;
        weak_write_cell(out, &cells[i], &lfs, votes + i * (size_t)m, lm_pred[i], voted, pr);
        for (; sub < total && cells[sub].parent == i; sub++) { /* its statements follow it */
            const signed char *v = votes + sub * (size_t)m;
            const double *spr = sproba + (sub - n) * LM_K;
            int best = spred[sub - n];
            int stage = best >= 0 && spr[best] >= o->min_conf && !weak_top_tied(spr, best) ? best : -1;
            sub_labeled += stage >= 0;
            weak_write_cell(out, &cells[sub], &lfs, v, stage, best >= 0, spr);
        }
    }
    /* -o is committed at the end, with the report (labelout_flush) */
    if (out == stdout && nb_stdout_flush("nbstage label")) goto out;
    out = NULL;
    double t4 = nb_now();

    if (o->gold) {
        gold_ix = malloc((n ? n : 1) * sizeof *gold_ix);
        gold_rows = malloc((n ? n : 1) * sizeof *gold_rows);
        unsigned char *scored = calloc(gold.n ? gold.n : 1, 1);
        if (!gold_ix || !gold_rows || !scored) { free(scored); fprintf(stderr, "nbstage label: out of memory\n"); goto out; }
        size_t dup = 0;
        for (size_t i = 0; i < n; i++) {
            const struct gold_row *g = gold_find(&gold, cells[i].id);
            /* a hand label scores one cell: an id met again (CELLS twice, cat a b)
             * is labeled but not scored again, as eval counts it */
            if (g && scored[g - gold.rows]++) { g = NULL; dup++; }
            gold_ix[i] = g ? g->label : GOLD_MISSING;
            gold_rows[i] = g;
        }
        free(scored);
        if (dup)
            fprintf(stderr, "nbstage label: %s: %zu hand-labeled id%s met again, each scored once against "
                            "--gold (duplicate ids ignored)\n", inname, dup, dup == 1 ? "" : "s");
    }
    /* A report to a file (--report) is written before the outputs are committed, so
     * that they are committed together; one to stderr after, so that a reader of
     * stderr gone (`2>&1 | head`) cannot end the run before the labels are in place. */
    int want_analysis = !o->quiet || o->report || o->gold, want_report = want_analysis || o->profile;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            if (labelout_flush(&oo) < 0 || labelout_flush(&ro) < 0) goto out;
            if (o->svg && gold_ix) { /* written and committed by metrics, before the report and the labels */
                struct confusion c;
                memset(&c, 0, sizeof c);
                for (size_t i = 0; i < n; i++) if (gold_ix[i] >= 0) confusion_add(&c, gold_ix[i], lm_pred[i]);
                if (metrics_write_confusion_svg(o->svg, &c, "nbstage label: label model vs hand labels", err,
                                                sizeof err) < 0) {
                    fprintf(stderr, "nbstage label: %s\n", err);
                    goto out;
                }
            }
            if (labelout_commit(&ro) < 0 || labelout_commit(&oo) < 0) goto out;
        }
        if (!want_report || (pass == 0) != (o->report != NULL)) continue;
        rep = o->report ? labelout_open(&ro, o->report, "report") : stderr;
        if (!rep) goto out;
        if (!want_analysis) { /* -q --profile: the times alone, as its help says */
            if (ns) print_profile(rep, &lfs, ns, total, o->jobs < 1 ? 1 : o->jobs > 8 ? 8 : o->jobs);
            rep = NULL;
            continue;
        }
        fprintf(rep, "nbstage label: %zu cells, %d LFs (%zu rules + %d built-ins), %zu distinct vote patterns\n",
                n, m, lfs.rules.n, N_LF_BUILTINS, st.n);
        fprintf(rep, "nbstage label: %zu cells labeled (%.1f%%), %zu unlabeled (%zu of them voted on, but the "
                "label model's confidence is below --min-confidence %.2f, or its best stages tie)\n", labeled,
                n ? 100.0 * labeled / n : 0.0, n - labeled, unsure, o->min_conf);
        if (o->statements)
            fprintf(rep, "nbstage label: --statements: %zu statements of cells with two or more, written as cells of "
                    "their own; %zu labeled%s", n_sub, sub_labeled, sub_unknown ? "" : "\n");
        if (o->statements && sub_unknown)
            fprintf(rep, "; %zu voted on but unlabeled: their votes name only stages no cell was voted, "
                    "of which the label model fitted on the cells knows nothing\n", sub_unknown);
        fprintf(rep, "nbstage label: read %.2f s, LFs %.2f s, fit %.3f s, predict+write %.2f s\n\n",
                t1 - t0, t2 - t1, t3 - t2, t4 - t3);
        if (ns) print_profile(rep, &lfs, ns, total, o->jobs < 1 ? 1 : o->jobs > 8 ? 8 : o->jobs);
        struct lf_report r = {
            .m = m, .name = lfs.name, .stage = lfs.stage, .level = lfs.level, .silent = lfs.silent, .n = n,
            .votes = votes, .gold = gold_ix, .gold_rows = gold_rows, .lm_pred = lm_pred, .mv_pred = mv_pred,
            .model = &model, .lm_pred_all = lm_all, .min_conf = o->min_conf,
        };
        if (lf_report_print(rep, &r)) {
            fprintf(stderr, "nbstage label: out of memory\n");
            goto out;
        }
        rep = NULL;
    }
    rc = skipped || gave_up_lfs ? EXIT_FINDINGS : EXIT_OK;
out:
    outfile_abort(&oo); /* (nothing once committed) */
    outfile_abort(&ro);
    cells_free(cells, total);
    free(votes); free(info); free(pat); free(lm_pred); free(mv_pred); free(gold_ix); free(lm_all);
    free(gold_rows);
    free(pproba); free(ppred); free(sproba); free(spred);
    lm_stats_free(&st);
    lm_free(&model);
    gold_free(&gold);
    lfvote_gave_up_free(&gu);
    free(ns);
    lfset_free(&lfs);
    return rc;
}
