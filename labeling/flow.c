/* flow.c — which names of a notebook hold a model's results or what a train cell
 * made (flow_step, flow_mark), and whether a cell fits a model (flow_fits_model); see
 * flow.h.  The names kept and not kept are flowkept.c's, the helpers called
 * flowhelpers.c's; the scanner and name set they share are flowscan.c's.
 *
 * Reads the code view (comments gone, strings reduced to their quotes) statement by
 * statement with a small scanner of Python names: no parse tree, since a notebook's
 * cells are often not valid Python on their own and a name's role shows in the
 * characters around it (`.` before an attribute, `(` after a call, one `=` after an
 * assignment's target or a keyword argument).
 */
#include "labeling/flow.h"

#include <stdlib.h>
#include <string.h>

#include "labeling/flowscan.h"
#include "nbformat/pysrc.h"

/* Calls whose value is a model's results: methods of a fitted model ... */
static const char *const result_methods[] = {
    "predict", "predict_proba", "predict_log_proba", "decision_function", "fit_predict",
    "evaluate", "score", NULL,
};
/* ... and functions (sklearn.metrics and model_selection; any `*_score` too). */
static const char *const result_functions[] = {
    "cross_val_score", "cross_val_predict", "cross_validate", "confusion_matrix",
    "classification_report", "roc_curve", "precision_recall_curve", "auc",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "log_loss", "silhouette_samples", "learning_curve", "validation_curve", "permutation_importance", NULL,
};
/* Attributes a fit leaves on a model (and a Keras History's `.history`). */
static const char *const result_attributes[] = {
    "coef_", "intercept_", "feature_importances_", "cv_results_", "best_score_", "labels_",
    "inertia_", "cluster_centers_", "history", "oob_score_", "means_", "weights_",
    "covariances_", "support_vectors_", NULL,
};

/* ---------------------------------------------------------------- statements */

/* What S[A..Z) reads of the names F holds (names, not attributes, keyword arguments or
 * targets): FLOW_RESULTS, FLOW_TRAINED, both, or 0. */
static int span_reads(const struct flow *f, const char *s, size_t a, size_t z)
{
    if (f->n == 0) return 0;
    struct word w;
    int kinds = 0;
    for (size_t i = a; flow_next_word(s, &i, z, &w);) {
        long k = !w.attr && !w.assign ? flow_find(f, w.s, w.len) : -1;
        if (k >= 0) kinds |= f->kind[k];
    }
    return kinds;
}

/* Whether S[A..Z) reads a fitted model's attribute (`clf.coef_`, `km.labels_`). */
static int span_reads_fitted(const char *s, size_t a, size_t z)
{
    struct word w;
    for (size_t i = a; flow_next_word(s, &i, z, &w);)
        if (!w.call && w.attr && word_in(&w, result_attributes)) return 1;
    return 0;
}

/* Whether W names one's own prediction helper, called as a function of its own
 * (`sub = predict(test_loader)`, `preds = make_predictions(model, X)`,
 * `out = run_inference(paths)`): what it returns is predictions, as a model's
 * `.predict(` does. */
static int word_own_predict(const struct word *w)
{
    static const char *const heads[] = { "predict", "inference", NULL };
    static const char *const tails[] = { "_predict", "_predictions", "_preds", "_inference", NULL };
    /* (not `predict_gender(df)`, `predict_age(row)`: a helper that derives a feature
     * from the data, whose frame stays data) */
    if (word_in(w, heads)) return 1;
    for (const char *const *t = tails; *t; t++)
        if (word_ends(w, *t)) return 1;
    return 0;
}

/* Whether S[A..Z) computes a model's results itself: a prediction, score or metric
 * call (a model's method, or one's own prediction helper), or a fitted attribute. */
static int span_makes_results(const char *s, size_t a, size_t z)
{
    struct word w;
    for (size_t i = a; flow_next_word(s, &i, z, &w);) {
        if (w.call && w.attr && word_in(&w, result_methods)) return 1;
        if (w.call && !w.attr && word_own_predict(&w)) return 1;
        if (w.call && (word_in(&w, result_functions) || word_ends(&w, "_score"))) return 1;
    }
    return span_reads_fitted(s, a, z);
}

/* A Keras History: `hist = model.fit(...)`, `history = model.fit_generator(...)`. */
static int span_fits(const char *s, size_t a, size_t z)
{
    struct word w;
    for (size_t i = a; flow_next_word(s, &i, z, &w);)
        if (w.call && w.attr && (word_is(&w, "fit") || word_is(&w, "fit_generator"))) return 1;
    return 0;
}

/* Whether S[I..END) calls `.isna()` or `.isnull()`. */
static int finds_missing(const char *s, size_t i, size_t end)
{
    struct word w;
    while (flow_next_word(s, &i, end, &w))
        if (w.call && w.attr && (word_is(&w, "isna") || word_is(&w, "isnull"))) return 1;
    return 0;
}

/* Whether S[0..Q) assigns the name S[N..N+LEN) at a line's start from a line that finds
 * missing values (`nan_rows = df.x.isnull()`). */
static int mask_of_missing(const char *s, size_t q, size_t n, size_t len)
{
    for (size_t k = 0; k + len < q; k++) {
        if ((k > 0 && s[k - 1] != '\n') || memcmp(s + k, s + n, len) != 0 || name_char((unsigned char)s[k + len]))
            continue;
        size_t e = k + len;
        while (e < q && (s[e] == ' ' || s[e] == '\t')) e++;
        if (e + 1 >= q || s[e] != '=' || s[e + 1] == '=') continue;
        size_t eol = e;
        while (eol < q && s[eol] != '\n') eol++;
        if (finds_missing(s, e + 1, eol)) return 1;
    }
    return 0;
}

/* Whether the target at S[Q..Z), past its name, selects the rows whose values are
 * missing (`.loc[df['x'].isna(), 'x']`, `[df.x.isnull()]`, or `.loc[nan_rows, 'x']`
 * where the cell made `nan_rows = df.x.isnull()` before). */
static int fills_missing(const char *s, size_t q, size_t z)
{
    if (q >= z || (s[q] != '.' && s[q] != '[')) return 0;
    if (z - q > 5 && memcmp(s + q, ".loc[", 5) == 0) {
        size_t k = q + 5;
        while (k < z && (s[k] == ' ' || s[k] == '\t')) k++;
        size_t n = k;
        while (k < z && name_char((unsigned char)s[k])) k++;
        size_t len = k - n;
        while (k < z && (s[k] == ' ' || s[k] == '\t')) k++;
        if (len && name_start((unsigned char)s[n]) && k < z && s[k] == ',' && mask_of_missing(s, q, n, len)) return 1;
    }
    return finds_missing(s, q, z);
}

/* Marks (GIVES) or unmarks the targets of S[A..Z) (`a`, `a, b`, `(a, b)`, `a[i]`,
 * `a.b`): a subscript or attribute target only ever gains the mark, since the rest of
 * the object is what it was.  SETTINGS: a constant's name (`FIG_SIZE`) is not marked. */
static int take_targets(struct flow *f, const char *s, size_t a, size_t z, int gives, int plain_op, int settings)
{
    int depth = 0;
    for (size_t k = a; k < z;) {
        char c = s[k];
        if (c == '(' || c == '[') { depth++; k++; continue; }
        if (c == ')' || c == ']') { if (depth > 0) depth--; k++; continue; }
        if (!name_start((unsigned char)c) || (k > a && name_char((unsigned char)s[k - 1]))) { k++; continue; }
        size_t e = k;
        while (e < z && name_char((unsigned char)s[e])) e++;
        size_t p = k;
        while (p > a && (s[p - 1] == ' ' || s[p - 1] == '\t' || s[p - 1] == '*')) p--;
        int starts = p == a || s[p - 1] == ',' || s[p - 1] == '(' || s[p - 1] == '[';
        size_t q = e;
        while (q < z && (s[q] == ' ' || s[q] == '\t')) q++;
        int plain = q >= z || s[q] == ',' || s[q] == ')' || s[q] == ']';
        struct word w = { s + k, e - k, 0, 0, 0 };
        /* a constant (`FIG_SIZE`, `TRAIN_DIR`) is a setting, never what training made */
        int setting = settings && word_constant(&w);
        if (starts && depth <= 1 && !word_in(&w, flow_keywords) && !setting) {
            /* a column or attribute a train cell sets (`train['y'] = ...`) is data,
             * not what training made; nor do missing values filled in by a model
             * (`df.loc[df.x.isna(), 'x'] = preds`, imputation) make a frame its results */
            if (gives && (plain || gives != FLOW_TRAINED) && !((gives & FLOW_RESULTS) && fills_missing(s, q, z))) {
                if (flow_add(f, s + k, e - k, plain ? gives : gives & ~FLOW_WHOLE) < 0) return -1;
            } else if (!gives && plain && plain_op) {
                flow_drop(f, s + k, e - k);
            }
        }
        /* skip the rest of this target: its subscript or attribute chain */
        k = e;
        int d = 0;
        while (k < z && (d > 0 || (s[k] != ',' && s[k] != ')' && s[k] != ']'))) {
            if (s[k] == '(' || s[k] == '[') d++;
            else if ((s[k] == ')' || s[k] == ']') && d > 0) d--;
            k++;
        }
    }
    return 0;
}

/* `name.append(...)`, `name.extend(...)` with results in the arguments. */
static int take_append(struct flow *f, const char *s, size_t a, size_t z)
{
    size_t e = a;
    if (e >= z || !name_start((unsigned char)s[e])) return 0;
    while (e < z && name_char((unsigned char)s[e])) e++;
    static const char *const fills[] = { ".append(", ".extend(", ".insert(", NULL };
    for (const char *const *m = fills; *m; m++) {
        size_t n = strlen(*m);
        if (e + n <= z && memcmp(s + e, *m, n) == 0) {
            if (span_makes_results(s, e + n, z) || (span_reads(f, s, e + n, z) & FLOW_RESULTS))
                return flow_add(f, s + a, e - a, FLOW_RESULTS | FLOW_WHOLE);
            return 0;
        }
    }
    return 0;
}

/* Whether S[A..Z) splits data (`train_test_split(X, y)`): its parts are data, not
 * what the train cell beside it made. */
static int span_splits(const char *s, size_t a, size_t z)
{
    struct word w;
    for (size_t i = a; flow_next_word(s, &i, z, &w);)
        if (w.call && word_is(&w, "train_test_split")) return 1;
    return 0;
}

/* Whether S[A..OP) is one plain name that S[R..Z) starts from, through an attribute
 * or a subscript (`df = df.fillna(0)`, `X = X[cols]`): the data rebound, changed,
 * beside a fit in a train cell, not what training made. */
static int span_rebinds_self(const char *s, size_t a, size_t op, size_t r, size_t z)
{
    struct word t, w;
    size_t i = a, j = r;
    if (!flow_next_word(s, &i, op, &t) || t.attr || flow_next_word(s, &i, op, &w)) return 0;
    if (!flow_next_word(s, &j, z, &w) || w.attr || w.call || w.len != t.len || memcmp(w.s, t.s, t.len) != 0) return 0;
    while (j < z && (s[j] == ' ' || s[j] == '\t')) j++;
    return j < z && (s[j] == '.' || s[j] == '[') && !span_fits(s, r, z);
}

/* Whether S[A..Z) builds or fits a model: a class called (`MLPClassifier(`,
 * `keras.Sequential(`) or a fit, as `ANN = MLPClassifier(...)` names a model in
 * capitals, not a setting. */
static int span_constructs(const char *s, size_t a, size_t z)
{
    struct word w;
    for (size_t i = a; flow_next_word(s, &i, z, &w);)
        if (w.call && w.s[0] >= 'A' && w.s[0] <= 'Z') return 1;
    return span_fits(s, a, z);
}

/* Whether S[A..Z) holds an empty list or dict (`[]`, `{'loss': []}`): what a
 * training loop fills, not a setting. */
static int span_empty_container(const char *s, size_t a, size_t z)
{
    for (size_t k = a; k < z; k++)
        if (s[k] == '[' || s[k] == '{') {
            size_t q = k + 1;
            while (q < z && (s[q] == ' ' || s[q] == '\t')) q++;
            if (q < z && s[q] == (s[k] == '[' ? ']' : '}')) return 1;
        }
    return 0;
}

/* Whether W names a submission frame (`sub`, `submission_df`, `final_sub`, `subm1`,
 * `finalSubmission`): one of its parts, split at '_' and digits, is sub, subm, submit or
 * submission, or the name holds "ubmission" (camel case).  Not a plural: Meta Kaggle's
 * table of `submissions` is data, and its columns are set as any frame's. */
static int word_submission(const struct word *w)
{
    static const char *const parts[] = { "sub", "subm", "submit", "submission", NULL };
    if (memmem(w->s, w->len, "ubmission", 9)) return !word_ends(w, "ubmissions");
    for (size_t i = 0; i < w->len;) {
        while (i < w->len && (w->s[i] == '_' || is_digit((unsigned char)w->s[i]))) i++;
        size_t a = i;
        while (i < w->len && w->s[i] != '_' && !is_digit((unsigned char)w->s[i])) i++;
        struct word p = { w->s + a, i - a, 0, 0, 0 };
        if (p.len && word_in(&p, parts)) return 1;
    }
    return 0;
}

/* Whether S[A..Z) reads the name W (not as an attribute). */
static int span_names(const char *s, size_t a, size_t z, const struct word *w)
{
    struct word v;
    for (size_t i = a; flow_next_word(s, &i, z, &v);)
        if (!v.attr && v.len == w->len && memcmp(v.s, w->s, w->len) == 0) return 1;
    return 0;
}

/* A submission frame written out or filled at a cell's top level (`sub.to_csv(...)`,
 * `submission['target'] = preds`, `sub.EAP = p`): it holds the predictions, whatever
 * made them (a helper, a network called, a loop), so a later look at it (`sub.head()`,
 * `len(submission_df)`) looks at a model's results (the guide's evaluate: "writing
 * predictions or a submission file"), while the competition's sample file looked at
 * before it is filled stays data.  A column derived from the frame itself
 * (`sample_sub['lead'] = sample_sub['id'].str.split('_')`, Meta Kaggle's
 * `submissions['PublicScore'] = submissions['PublicScore'].astype(float)`) is no
 * prediction. */
static int take_submission(struct flow *f, const char *s, size_t a, size_t z)
{
    struct word w, m;
    size_t i = a;
    if (!flow_next_word(s, &i, z, &w) || w.attr || w.s != s + a || !word_submission(&w)) return 0;
    size_t q = i;
    while (q < z && (s[q] == ' ' || s[q] == '\t')) q++;
    if (q < z && s[q] == '.') {
        size_t j = q;
        if (!flow_next_word(s, &j, z, &m)) return 0;
        if (!m.call) {
            /* an attribute set: `sub.EAP = p`, `sub.loc[:, 'y'] = p` (not the index or
             * columns renamed) */
            size_t eq;
            if (!word_is(&m, "columns") && !word_is(&m, "index") &&
                pysrc_assignments(s + a, z - a, &eq, 1) > 0 && a + eq > j && !span_names(s, a + eq + 1, z, &w))
                return flow_add(f, w.s, w.len, FLOW_RESULTS | FLOW_WHOLE);
            return 0;
        }
        static const char *const writes[] = { "to_csv", "to_parquet", "to_json", "to_excel", "to_feather", NULL };
        return word_in(&m, writes) ? flow_add(f, w.s, w.len, FLOW_RESULTS | FLOW_WHOLE) : 0;
    }
    /* a column set: `sub['target'] = preds` (one subscript: `df_sub['Age'].loc[1] = 100`
     * changes one value of a frame cut from the data) */
    size_t eq;
    if (q >= z || s[q] != '[' || pysrc_assignments(s + a, z - a, &eq, 1) == 0 || a + eq <= q ||
        strchr("=!<>", s[a + eq - 1]) || span_names(s, a + eq + 1, z, &w))
        return 0;
    int depth = 0;
    size_t k = q;
    for (; k < a + eq; k++) {
        if (s[k] == '[' || s[k] == '(') depth++;
        else if ((s[k] == ']' || s[k] == ')') && --depth == 0) break;
    }
    for (k++; k < a + eq && (s[k] == ' ' || s[k] == '\t'); k++) {}
    return k == a + eq ? flow_add(f, w.s, w.len, FLOW_RESULTS | FLOW_WHOLE) : 0;
}

/* TRAINED: a top-level statement of a cell the rules call train, whose names hold
 * the model it made or what its training gave (`w, b = train(X, y)`, `theta =
 * minimize(...).x`). */
static int take_statement(struct flow *f, const char *s, size_t a, size_t z, int trained)
{
    /* the first assignment of the statement (nbformat/pysrc.h: outside brackets, not a
     * comparison); an augmented one's operator starts before its '=' */
    size_t eq;
    if (pysrc_assignments(s + a, z - a, &eq, 1) == 0) return take_append(f, s, a, z);
    size_t op = a + eq;
    while (op > a && strchr("+-*/%&|^<>@", s[op - 1])) op--;
    size_t oplen = a + eq + 1 - op;
    /* what is derived from results holds results; what a train cell made does not
     * pass on (`X_plot = np.linspace(...)` beside a fit is not the model) */
    int makes = span_makes_results(s, op + oplen, z), rd = span_reads(f, s, op + oplen, z);
    int gives = makes || (rd & FLOW_RESULTS) ? FLOW_RESULTS : 0;
    if (gives && (makes || (rd & FLOW_WHOLE))) gives |= FLOW_WHOLE;
    /* the parts of a split of a frame that only gained a column of results (`y =
     * picked['age']` of the rows a model picked, then `train_test_split(X, y)`) are
     * data for a new model, not the results (a split of whole results still is) */
    if (gives && !makes && !(rd & FLOW_WHOLE) && span_splits(s, op + oplen, z)) gives = 0;
    if (!gives && span_fits(s, op + oplen, z)) { /* hist = model.fit(...) */
        struct word w;
        for (size_t i = a; flow_next_word(s, &i, op, &w);)
            if (!w.attr && w.len >= 4 && memmem(w.s, w.len, "hist", 4)) gives = FLOW_RESULTS | FLOW_WHOLE;
    }
    if (!gives && trained && !span_splits(s, op + oplen, z) && !span_rebinds_self(s, a, op, op + oplen, z))
        gives = FLOW_TRAINED;
    /* nor are the constants a train cell also sets (`FIG_SIZE = (12, 12)`, `TARGET =
     * 'y'`, `TRAIN_FILES = glob(...)`): settings (the guide's rule 8), not a trained
     * model, unless a model is built into one (`ANN = MLPClassifier()`) or training
     * fills one (`METRICS = {'loss': []}`) */
    int settings = gives == FLOW_TRAINED && !span_constructs(s, op + oplen, z) &&
                   !span_empty_container(s, op + oplen, z);
    return take_targets(f, s, a, op, gives, oplen == 1, settings);
}

/* What the targets S[A..Z) of a plain assignment read of the names F holds: their
 * subscripts and the objects whose items or attributes they set (`df[m] = ...` reads
 * df and m), but not a name bound whole that held only what a train cell made (`X, y
 * = make_moons()`, `fig, ax = plt.subplots()` after a train cell set X and fig).  A
 * name that held results and is bound again (`rmse, w = fit_and_score(...)`) mostly
 * gets results again, so it counts. */
static int targets_read(const struct flow *f, const char *s, size_t a, size_t z)
{
    if (f->n == 0) return 0;
    enum { MAX_DEPTH = 32 };
    unsigned char sub[MAX_DEPTH]; /* per open bracket: a subscript (`df[`) or a call */
    int depth = 0, in_sub = 0, kinds = 0;
    for (size_t k = a; k < z;) {
        unsigned char c = (unsigned char)s[k];
        if (c == '(' || c == '[') {
            size_t p = k;
            while (p > a && (s[p - 1] == ' ' || s[p - 1] == '\t')) p--;
            int is_sub = p > a && (name_char((unsigned char)s[p - 1]) || s[p - 1] == ')' || s[p - 1] == ']');
            if (depth < MAX_DEPTH) sub[depth] = (unsigned char)is_sub;
            depth++;
            in_sub += is_sub;
            k++;
            continue;
        }
        if (c == ')' || c == ']') {
            if (depth > 0 && --depth < MAX_DEPTH) in_sub -= sub[depth];
            k++;
            continue;
        }
        if (is_digit(c) || !name_start(c) || (k > a && name_char((unsigned char)s[k - 1]))) { k++; continue; }
        size_t e = k;
        while (e < z && name_char((unsigned char)s[e])) e++;
        size_t p = k, q = e;
        while (p > a && (s[p - 1] == ' ' || s[p - 1] == '\t' || s[p - 1] == '*')) p--;
        while (q < z && (s[q] == ' ' || s[q] == '\t')) q++;
        int attr = p > a && s[p - 1] == '.';
        int bound = !in_sub && (p == a || s[p - 1] == ',' || s[p - 1] == '(' || s[p - 1] == '[') &&
                    (q >= z || s[q] == ',' || s[q] == ')' || s[q] == ']');
        int alone = q >= z; /* `x = ...`: bound, and never read */
        long at = !attr && !alone ? flow_find(f, s + k, e - k) : -1;
        if (at >= 0 && (!bound || (f->kind[at] & FLOW_RESULTS))) kinds |= f->kind[at];
        k = e;
    }
    return kinds;
}

/* What the statement S[A..Z) reads of the names F holds: its value, and its targets
 * as targets_read says. */
static int statement_reads(const struct flow *f, const char *s, size_t a, size_t z)
{
    size_t eq;
    if (pysrc_assignments(s + a, z - a, &eq, 1) == 0 || a + eq == a || strchr("+-*/%&|^<>@:!=", s[a + eq - 1]))
        return span_reads(f, s, a, z);
    return targets_read(f, s, a, a + eq) | span_reads(f, s, a + eq + 1, z);
}

int flow_step(struct flow *f, const struct pyview *v, int trained)
{
    int reads = 0;
    for (size_t i = 0; i < v->n_stmts; i++) {
        size_t a = v->stmts[i].start, z = v->stmts[i].end;
        reads |= statement_reads(f, v->code, a, z) | (span_reads_fitted(v->code, a, z) ? FLOW_RESULTS | FLOW_WHOLE : 0);
        if (take_statement(f, v->code, a, z, trained && v->stmts[i].indent == 0) < 0) return -1;
        if (v->stmts[i].indent == 0 && take_submission(f, v->code, a, z) < 0) return -1;
    }
    return reads;
}
/* ---------------------------------------------------------------- a whole input */

/* flow_mark's pass over one job's notebooks (flowscan.h): each cell after the ones
 * before it, each statement after its cell's statements before it. */
static int results_range(const struct flow_job *j)
{
    const struct label_cell *cells = j->cells;
    struct flow f, before;
    flow_init(&f);
    flow_init(&before);
    int rc = -1;
    size_t st = j->st; /* the next statement row */
    for (size_t i = j->lo; i < j->hi; i++) {
        if (i == j->lo || !cells_same_notebook(&cells[i], &cells[i - 1])) flow_clear(&f);
        struct pyview v;
        if (pyview_make(&v, cells[i].src, cells[i].src_len) < 0) goto out;
        int have_statements = st < j->st_hi && cells[st].parent == i;
        if (have_statements && flow_copy(&before, &f) < 0) { pyview_free(&v); goto out; }
        int trained = j->in && j->in[i];
        int r = flow_step(&f, &v, trained);
        pyview_free(&v);
        if (r < 0) goto out;
        j->out[i] = (unsigned char)r;
        /* this cell's statements, each after the ones before it */
        for (; st < j->st_hi && cells[st].parent == i; st++) {
            if (pyview_make(&v, cells[st].src, cells[st].src_len) < 0) goto out;
            r = flow_step(&before, &v, trained);
            pyview_free(&v);
            if (r < 0) goto out;
            j->out[st] = (unsigned char)r;
        }
    }
    rc = 0;
out:
    flow_free(&f);
    flow_free(&before);
    return rc;
}

int flow_mark(const struct label_cell *cells, size_t n, size_t total, const unsigned char *trained, int jobs,
              unsigned char *out)
{
    return flow_mark_all(cells, n, total, jobs, out, results_range, trained);
}

/* ---------------------------------------------------------------- fitting cells */

int flow_fits_model(const char *src, size_t len)
{
    static const char *const verbs[] = {"fit", "fit_generator", "train"};
    struct pyview v;
    if (pyview_make(&v, src, len) < 0) return -1;
    int fits = 0;
    struct word w;
    for (size_t k = 0; !fits && flow_next_word(v.code, &k, v.code_len, &w);) {
        if (!w.attr || !w.call) continue;
        for (size_t j = 0; j < sizeof verbs / sizeof *verbs; j++)
            fits |= w.len == strlen(verbs[j]) && memcmp(w.s, verbs[j], w.len) == 0;
    }
    pyview_free(&v);
    return fits;
}
