/* lfreport.c — the LF analysis table and the label-model summary (see lfreport.h). */
#include "labeling/lfreport.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "labeling/labeldoubt.h"
#include "labeling/metrics.h"
#include "labeling/rules.h"
#include "labeling/stage.h"

static const char *level_name(int l)
{
    return l == LF_JOB ? "job" : l == LF_SHOW ? "show" : l == LF_HINT ? "hint" : l == LF_CONTEXT ? "ctx" : "-";
}

/* An LF that votes one stage on every item is fitted as firing alike whatever the
 * stage (labelmodel.h): its vote is no evidence, yet it makes every item voted, so an
 * item only it votes on is labeled from the prior and the other LFs' abstains, where
 * with no vote it would be left unlabeled.  Said, since it is easy to write by mistake
 * (a pattern that matches anything).  One that votes several stages still says
 * something by which it votes. */
static void say_everywhere(FILE *to, const struct lf_report *r, const long *cov, const long *alone)
{
    for (int j = 0; j < r->m && r->n > 0; j++) {
        int one = r->model ? r->model->lf_stage[j] >= 0 : r->stage[j] >= 0;
        if (!one || (size_t)cov[j] != r->n) continue;
        fprintf(to, "note: %s votes on every item, so its vote is next to no evidence (the label model fits it "
                    "as firing whatever the stage); the %ld items only it votes on are labeled from the prior and "
                    "the other LFs' abstains, where with no vote they would be left unlabeled\n", r->name[j], alone[j]);
    }
}

/* Two LFs that vote alike, the same stage on the same items, break the label model's
 * assumption that LFs vote independently given the stage (labelmodel.h, as Snorkel's
 * LabelModel without declared dependencies): it counts their evidence twice.  A pair
 * is named when both vote the same on at least DUP_AGREE of the items either votes
 * on (which also means coverages within 1%); the first DUP_SAY pairs, then how many
 * more.  The cost is the pairs of LFs voting on each item, a few per cell. */
#define DUP_AGREE_PCT 99
#define DUP_SAY 10

static size_t pair_ix(int a, int b, int m) /* a < b: the upper triangle, row by row */
{
    return (size_t)a * (size_t)(2 * m - a - 1) / 2 + (size_t)(b - a - 1);
}

static int say_duplicates(FILE *to, const struct lf_report *r, const long *cov)
{
    int m = r->m, rc = -1;
    size_t np = (size_t)m * (size_t)(m - 1) / 2;
    long *both = calloc(np ? np : 1, sizeof *both), *same = calloc(np ? np : 1, sizeof *same);
    int *on = malloc((size_t)m * sizeof *on);
    if (!both || !same || !on) goto out;
    for (size_t i = 0; i < r->n; i++) {
        const signed char *v = r->votes + i * (size_t)m;
        int k = 0;
        for (int j = 0; j < m; j++) if (v[j] >= 0) on[k++] = j;
        for (int x = 0; x < k; x++)
            for (int y = x + 1; y < k; y++) {
                size_t ix = pair_ix(on[x], on[y], m);
                both[ix]++;
                same[ix] += v[on[x]] == v[on[y]];
            }
    }
    long said = 0;
    for (int a = 0; a < m; a++)
        for (int b = a + 1; b < m; b++) {
            size_t ix = pair_ix(a, b, m);
            long either = cov[a] + cov[b] - both[ix];
            if (either == 0 || 100 * same[ix] < DUP_AGREE_PCT * either) continue;
            if (said++ < DUP_SAY)
                fprintf(to, "duplicates: %s and %s vote alike on %.1f%% of the %ld items either votes on: "
                            "the label model counts their evidence twice\n",
                        r->name[a], r->name[b], 100.0 * same[ix] / either, either);
        }
    if (said > DUP_SAY) fprintf(to, "duplicates: and %ld more pairs\n", said - DUP_SAY);
    rc = 0;
out:
    free(both); free(same); free(on);
    return rc;
}

/* What the table says of each LF, counted in one pass over the items; [m] each. */
struct lf_counts {
    long *cov, *ovl, *cfl; /* items voted on, with another LF's vote too, with another stage's */
    long *gn, *gok;        /* hand-labeled items voted on, and voted right */
    long *alone;           /* items only it votes on */
    double *post;          /* a several-stage LF's summed posteriors of the stage it voted */
    size_t covered, scored; /* items with a vote, items with a hand label (not "none") */
};

/* -1 when out of memory (what was allocated then freed by counts_free). */
static int counts_alloc(struct lf_counts *c, int m)
{
    memset(c, 0, sizeof *c);
    c->cov = calloc((size_t)m, sizeof *c->cov), c->ovl = calloc((size_t)m, sizeof *c->ovl);
    c->cfl = calloc((size_t)m, sizeof *c->cfl), c->gn = calloc((size_t)m, sizeof *c->gn);
    c->gok = calloc((size_t)m, sizeof *c->gok), c->alone = calloc((size_t)m, sizeof *c->alone);
    c->post = calloc((size_t)m, sizeof *c->post);
    return c->cov && c->ovl && c->cfl && c->gn && c->gok && c->alone && c->post ? 0 : -1;
}

static void counts_free(struct lf_counts *c)
{
    free(c->cov); free(c->ovl); free(c->cfl); free(c->gn); free(c->gok); free(c->alone); free(c->post);
}

/* A several-stage LF's firing is not in the model (labelmodel.h): P(right | votes)
 * from its confusion rows alone weighs the classes by their prior, not by where it
 * fires (0.48 for an LF always right).  Its estimate is the model's posterior of the
 * stage it voted, averaged over the items it voted on: here summed over item V's. */
static void add_posteriors(struct lf_counts *c, const struct lf_report *r, const signed char *v)
{
    int m = r->m, several = 0;
    for (int j = 0; j < m && !several; j++) several = v[j] >= 0 && r->stage[j] == STAGE_NONE;
    if (!several || !r->model) return;
    double p[LM_K];
    lm_predict(r->model, v, p); /* all 0 where it cannot say: counts as wrong */
    for (int j = 0; j < m; j++)
        if (v[j] >= 0 && v[j] < LM_K && r->stage[j] == STAGE_NONE) c->post[j] += p[(int)v[j]];
}

/* Item I's votes, and its hand label, counted for each LF voting on it. */
static void count_item(struct lf_counts *c, const struct lf_report *r, size_t i)
{
    int m = r->m;
    const signed char *v = r->votes + i * (size_t)m;
    int nv = 0, first = -1, mixed = 0;
    for (int j = 0; j < m; j++) {
        if (v[j] < 0) continue;
        nv++;
        if (first < 0) first = v[j];
        else if (v[j] != first) mixed = 1;
    }
    if (nv) c->covered++;
    int g = r->gold ? r->gold[i] : GOLD_MISSING;
    if (g >= 0) c->scored++;
    add_posteriors(c, r, v);
    for (int j = 0; j < m; j++) {
        if (v[j] < 0) continue;
        c->cov[j]++;
        if (nv > 1) c->ovl[j]++;
        else c->alone[j]++;
        if (mixed) {
            for (int k = 0; k < m; k++)
                if (v[k] >= 0 && v[k] != v[j]) { c->cfl[j]++; break; }
        }
        if (g >= 0) { c->gn[j]++; if (v[j] == g) c->gok[j]++; }
    }
}

/* The name column as wide as the longest name: a rule of one's own may take up to
 * 127 characters, and a longer one than the shipped rules' 26 pushed its row's
 * columns out of line. */
static int name_width(const struct lf_report *r)
{
    int w = 26;
    for (int j = 0; j < r->m; j++) {
        size_t l = strlen(r->name[j]);
        if (l > (size_t)w) w = l > 200 ? 200 : (int)l;
    }
    return w;
}

/* LF J's row of the table, W the name column's width; 1 when it is silent. */
static int print_row(FILE *to, const struct lf_report *r, const struct lf_counts *c, int j, int w)
{
    double dn = r->n ? (double)r->n : 1.0;
    char level[8];
    int silent = r->silent && r->silent[j];
    snprintf(level, sizeof level, "%s%s", r->level ? level_name(r->level[j]) : "-", silent ? "*" : "");
    fprintf(to, "%-*s %-9s %-5s %7.2f%% %7.2f%% %8.2f%%", w, r->name[j],
            r->stage[j] >= 0 ? stage_key[r->stage[j]] : r->stage[j] == LF_NO_VOTES ? "-" : "any",
            level, 100.0 * c->cov[j] / dn, 100.0 * c->ovl[j] / dn, 100.0 * c->cfl[j] / dn);
    /* an LF that never voted has no estimate, only its prior's (0.667) */
    if (r->model && c->cov[j])
        fprintf(to, " %9.3f", r->stage[j] == STAGE_NONE ? c->post[j] / c->cov[j] : lm_lf_accuracy(r->model, j));
    else if (r->model) fprintf(to, " %9s", "-");
    if (r->gold) {
        if (c->gn[j]) fprintf(to, " %6ld %8.3f", c->gn[j], (double)c->gok[j] / c->gn[j]);
        else fprintf(to, " %6ld %8s", 0L, "-");
    }
    fprintf(to, "\n");
    return silent;
}

/* The coverage line, then the per-LF table (its columns as the options give them). */
static void print_table(FILE *to, const struct lf_report *r, const struct lf_counts *c)
{
    double dn = r->n ? (double)r->n : 1.0;
    fprintf(to, "LF analysis: %zu items, %zu with at least one vote (%.1f%%)\n", r->n, c->covered,
            100.0 * c->covered / dn);
    int w = name_width(r);
    fprintf(to, "%-*s %-9s %-5s %8s %8s %8s", w, "lf", "stage", "level", "coverage", "overlaps", "conflicts");
    if (r->model) fprintf(to, " %9s", "est.acc");
    if (r->gold) fprintf(to, " %6s %8s", "gold.n", "gold.acc");
    fprintf(to, "\n");
    int any_silent = 0;
    for (int j = 0; j < r->m; j++) any_silent |= print_row(to, r, c, j, w);
    if (any_silent) fprintf(to, "(*: silent, its abstains are no evidence against its stage)\n");
}

/* The label model's lines against the hand labels, by the labelers' doubt: on the
 * cells they were sure of, and so on. */
static void print_by_doubt(FILE *to, const struct lf_report *r, size_t scored)
{
    struct label_doubt d;
    memset(&d, 0, sizeof d);
    for (size_t i = 0; i < r->n; i++)
        if (r->gold[i] >= 0 && r->gold_rows[i]) label_doubt_add(&d, r->gold_rows[i], r->lm_pred[i]);
    label_doubt_print(to, &d, (long)scored, "  label model, ");
}

/* The fair comparison: the same cells, those majority vote labels (the label model at
 * --min-confidence 0). */
static void print_same_cells(FILE *to, const struct lf_report *r)
{
    long same = 0, lm_same = 0, mv_same = 0;
    for (size_t i = 0; i < r->n; i++) {
        if (r->gold[i] < 0 || r->mv_pred[i] < 0) continue;
        same++;
        const int *lp = r->lm_pred_all ? r->lm_pred_all : r->lm_pred;
        lm_same += lp[i] == r->gold[i];
        mv_same += r->mv_pred[i] == r->gold[i];
    }
    fprintf(to, "  on the %ld cells majority vote labels: label model %.3f, majority vote %.3f\n",
            same, same ? (double)lm_same / same : 0, same ? (double)mv_same / same : 0);
}

/* The label model and majority vote against the hand labels (SCORED of them):
 * accuracies, then the label model's classification report and confusion matrix. */
static void print_gold_summary(FILE *to, const struct lf_report *r, size_t scored)
{
    struct confusion lm, mv, all;
    memset(&lm, 0, sizeof lm);
    memset(&mv, 0, sizeof mv);
    memset(&all, 0, sizeof all);
    for (size_t i = 0; i < r->n; i++) {
        if (r->gold[i] < 0) continue;
        confusion_add(&lm, r->gold[i], r->lm_pred[i]);
        confusion_add(&mv, r->gold[i], r->mv_pred[i]);
        if (r->lm_pred_all) confusion_add(&all, r->gold[i], r->lm_pred_all[i]);
    }
    fprintf(to, "\nagainst %zu hand-labeled items (\"none\" left out):\n", scored);
    fprintf(to, "  label model    accuracy %.3f  coverage %.3f  macro-F1 %.3f  (%ld labeled; --min-confidence %.2f)\n",
            confusion_accuracy(&lm), confusion_coverage(&lm), confusion_macro_f1(&lm), confusion_total(&lm),
            r->min_conf);
    if (r->lm_pred_all)
        fprintf(to, "  label model    accuracy %.3f  coverage %.3f  macro-F1 %.3f  (%ld labeled; every voted cell "
                    "but ties, no --min-confidence)\n", confusion_accuracy(&all), confusion_coverage(&all),
                confusion_macro_f1(&all), confusion_total(&all));
    if (r->gold_rows) print_by_doubt(to, r, scored);
    fprintf(to, "  majority vote  accuracy %.3f  coverage %.3f  macro-F1 %.3f  (%ld labeled; ties unlabeled)\n",
            confusion_accuracy(&mv), confusion_coverage(&mv), confusion_macro_f1(&mv), confusion_total(&mv));
    print_same_cells(to, r);
    fprintf(to, "\nlabel model, classification report:\n");
    metrics_print_report(to, &lm);
    metrics_print_undefined(to, &lm); /* where sklearn warns, as eval says it */
    fprintf(to, "\nlabel model, confusion matrix (rows: hand label):\n");
    metrics_print_confusion(to, &lm);
}

int lf_report_print(FILE *to, const struct lf_report *r)
{
    struct lf_counts c;
    int rc = -1;
    if (counts_alloc(&c, r->m) < 0) goto out;
    for (size_t i = 0; i < r->n; i++) count_item(&c, r, i);
    print_table(to, r, &c);
    say_everywhere(to, r, c.cov, c.alone);
    if (say_duplicates(to, r, c.cov) < 0) goto out;
    if (r->model)
        fprintf(to, "\nlabel model: Dawid-Skene EM, %d iterations%s, mean log-likelihood %.4f\n",
                r->model->iterations, r->model->converged ? "" : " (the limit, not converged)", r->model->loglik);
    if (r->gold && !r->table_only) print_gold_summary(to, r, c.scored); /* else the table alone */
    rc = 0;
out:
    counts_free(&c);
    return rc;
}
