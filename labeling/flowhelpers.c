/* flowhelpers.c — which of the notebook's own helpers a cell calls, and their stage
 * (flow_mark_helpers; see flow.h), with the scanner of flowscan.h.
 */
#include "labeling/flow.h"

#include <stdlib.h>
#include <string.h>

#include "labeling/flowscan.h"
#include "labeling/stage.h"
#include "nbformat/pysrc.h"

/* The name S[A..E) of a top-level `def NAME(`, or 0. */
static size_t def_name(const char *s, size_t a, size_t z, size_t *e)
{
    if (z - a < 5 || memcmp(s + a, "def", 3) != 0 || (s[a + 3] != ' ' && s[a + 3] != '\t')) return 0;
    size_t k = a + 4;
    while (k < z && (s[k] == ' ' || s[k] == '\t')) k++;
    if (k >= z || !name_start((unsigned char)s[k])) return 0;
    *e = k;
    while (*e < z && name_char((unsigned char)s[*e])) (*e)++;
    return k;
}

/* Whether NAME[0..LEN) names a loader (`read_train_test_data`, `load_images`): it reads
 * data whatever else its defining cell does (guide rule 3), so a call of it is no run of
 * an evaluate helper.  `load_model`, `load_weights` and `load_learner` load a model. */
static int loader_name(const char *name, size_t len)
{
    static const char *const verbs[] = {"load_", "read_", "fetch_", "download_"};
    static const char *const models[] = {"model", "weights", "learner"};
    for (size_t v = 0; v < sizeof verbs / sizeof *verbs; v++) {
        size_t n = strlen(verbs[v]);
        if (len <= n || memcmp(name, verbs[v], n) != 0) continue;
        for (size_t m = 0; m < sizeof models / sizeof *models; m++) {
            size_t k = strlen(models[m]);
            if (len - n >= k && memcmp(name + n, models[m], k) == 0) return 0;
        }
        return 1;
    }
    return 0;
}

/* Whether S[A..Z) is one plain call `NAME(...)` and nothing else; its name ends at *E. */
static int bare_call(const char *s, size_t a, size_t z, size_t *e)
{
    if (a >= z || !name_start((unsigned char)s[a])) return 0;
    size_t k = a;
    while (k < z && name_char((unsigned char)s[k])) k++;
    *e = k;
    while (k < z && (s[k] == ' ' || s[k] == '\t')) k++;
    if (k >= z || s[k] != '(') return 0;
    int depth = 0;
    for (; k < z; k++) {
        if (s[k] == '(' || s[k] == '[' || s[k] == '{') depth++;
        else if ((s[k] == ')' || s[k] == ']' || s[k] == '}') && --depth == 0) break;
    }
    return k + 1 == z; /* the call's ')' ends the statement */
}

/* The helper of DEFS that statement S[A..Z) runs, `name(...)` or `targets = name(...)`
 * (`_, score = train_model(train, valid)`), or -1; its name is S[*NA..*NE). */
static long helper_called(const struct flow *defs, const char *s, size_t a, size_t z, size_t *na, size_t *ne)
{
    size_t e, op = flow_plain_assignment(s, a, z);
    if (op)
        for (a = op + 1; a < z && (s[a] == ' ' || s[a] == '\t');) a++;
    *na = a, *ne = a;
    if (!bare_call(s, a, z, &e)) return -1;
    *ne = e;
    return flow_find(defs, s + a, e - a);
}

/* Whether S[A..Z) holds WORD, ignoring case. */
static int has_word_ci(const char *s, size_t a, size_t z, const char *word)
{
    size_t n = strlen(word);
    for (size_t k = a; k + n <= z; k++) {
        size_t i = 0;
        while (i < n && (s[k + i] | 0x20) == word[i]) i++;
        if (i == n) return 1;
    }
    return 0;
}

/* Whether a helper named S[A..E) draws or displays (`display_batch_of_images`,
 * `plot_bands`, `plotMovingAverage`, `show_images`). */
static int display_name(const char *s, size_t a, size_t e)
{
    static const char *const heads[] = {"display", "plot", "show", "visuali", "draw"};
    for (size_t h = 0; h < sizeof heads / sizeof *heads; h++) {
        size_t n = strlen(heads[h]);
        if (e - a >= n && has_word_ci(s, a, a + n, heads[h])) return 1;
    }
    return 0;
}

/* A helper's kind is its stage + 1, and this bit when its body works a model
 * (`plotKNN` fits a KNeighborsClassifier and draws its regions) or reads a training
 * history (`def plot_perf(name)` drawing `historys[name].history['loss']`). */
#define HELPER_WORKS_MODEL 0x40

/* Whether the definition S[A..Z) fits, predicts or transforms with a model, or reads
 * what training recorded. */
static int works_model(const char *s, size_t a, size_t z)
{
    static const char *const words[] = {".fit(", ".predict", "model", "transform(", ".score(", "history"};
    for (size_t w = 0; w < sizeof words / sizeof *words; w++)
        if (has_word_ci(s, a, z, words[w])) return 1;
    return 0;
}

/* Whether the call S[A..Z) passes a model or its results (`show_predictions(model, X)`,
 * `display_generated_samples(ds, monet_generator)`): a display helper shown a batch of
 * data only (`display_batch_of_images(next(iter(ds)))`) looks at the data. */
static int passes_results(const char *s, size_t a, size_t z)
{
    static const char *const words[] = {"model", "pred", "clf", "estimator", "generator", "history",
                                        "learner", "result", "score", "net", "forecast", "fit", "pca", "kmeans"};
    for (size_t w = 0; w < sizeof words / sizeof *words; w++)
        if (has_word_ci(s, a, z, words[w])) return 1;
    return 0;
}

/* The stage of the helper of DEFS that statement S[A..Z) runs, as this call uses it, or -1
 * when it runs none. */
static int call_stage(const struct flow *defs, const char *s, size_t a, size_t z)
{
    size_t na, ne;
    long h = helper_called(defs, s, a, z, &na, &ne);
    if (h < 0) return -1;
    int stage = (defs->kind[h] & ~HELPER_WORKS_MODEL) - 1;
    if (stage != STAGE_EVALUATE) return stage;
    /* a display helper of an evaluate cell (the TPU starters define
     * `display_batch_of_images(batch, predictions=None)` there) that fits or predicts
     * nothing itself, shown data only */
    if (!(defs->kind[h] & HELPER_WORKS_MODEL) && display_name(s, na, ne) && !passes_results(s, ne, z))
        return STAGE_EXPLORE;
    /* a scoring helper whose result is kept as the best setting
     * (`best_c = printing_Kfold_scores(X, y)`) tunes (guide rule 2) */
    if (na > a && has_word_ci(s, a, na, "best")) return STAGE_TRAIN;
    return stage;
}

/* Cells [FROM, TO): whole notebooks.  The helpers' stages ride in a flow's kinds
 * (stage + 1). */
static int helpers_range(const struct label_cell *cells, size_t from, size_t to, const unsigned char *stage1,
                         unsigned char *out)
{
    struct flow defs;
    flow_init(&defs);
    int rc = -1;
    for (size_t i = from; i < to; i++) {
        if (i == from || !cells_same_notebook(&cells[i], &cells[i - 1])) flow_clear(&defs);
        out[i] = 0;
        struct pyview v;
        if (pyview_make(&v, cells[i].src, cells[i].src_len) < 0) goto out;
        int called = -1, calls = 1, any = 0, evaluates = 0;
        for (size_t k = 0; k < v.n_stmts; k++) {
            if (v.stmts[k].indent != 0) continue;
            int s = call_stage(&defs, v.code, v.stmts[k].start, v.stmts[k].end);
            if (s < 0 || (called >= 0 && s != called)) calls = 0;
            evaluates |= s == STAGE_EVALUATE;
            called = s;
            any = 1;
        }
        if (calls && any && (called == STAGE_EXPLORE || called == STAGE_EVALUATE || called == STAGE_TRAIN))
            out[i] = (unsigned char)(called + 1);
        if (evaluates) out[i] |= FLOW_CALLS_EVALUATE;
        /* then this cell's definitions, each standing for the cell's stage (a loader for load) */
        for (size_t k = 0; k < v.n_stmts && stage1[i] > 0; k++) {
            size_t e, a = v.stmts[k].indent == 0 ? def_name(v.code, v.stmts[k].start, v.stmts[k].end, &e) : 0;
            if (!a) continue;
            flow_drop(&defs, v.code + a, e - a); /* redefined: the newer stands */
            unsigned char stage = loader_name(v.code + a, e - a) ? STAGE_LOAD + 1 : stage1[i];
            size_t body = k + 1; /* the body: the statements up to the next top-level one */
            while (body < v.n_stmts && v.stmts[body].indent != 0) body++;
            if (works_model(v.code, v.stmts[k].start, v.stmts[body - 1].end)) stage |= HELPER_WORKS_MODEL;
            if (flow_add(&defs, v.code + a, e - a, stage) < 0) { pyview_free(&v); goto out; }
        }
        pyview_free(&v);
    }
    rc = 0;
out:
    flow_free(&defs);
    return rc;
}

static int helpers_job(const struct flow_job *j)
{
    return helpers_range(j->cells, j->lo, j->hi, j->in, j->out);
}

int flow_mark_helpers(const struct label_cell *cells, size_t n, const unsigned char *stage1, int jobs,
                      unsigned char *out)
{
    return flow_mark_all(cells, n, n, jobs, out, helpers_job, stage1);
}
