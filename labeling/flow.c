/* flow.c — which names of a notebook hold a model's results or what a train cell
 * made, which a cell assigns that are not live after it or that a modelling cell
 * reads, and which of the notebook's own helpers a cell calls (flow.h).
 *
 * Reads the code view (comments gone, strings reduced to their quotes) statement by
 * statement with a small scanner of Python names: no parse tree, since a notebook's
 * cells are often not valid Python on their own and a name's role shows in the
 * characters around it (`.` before an attribute, `(` after a call, one `=` after an
 * assignment's target or a keyword argument).
 */
#include "labeling/flow.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "labeling/stage.h"
#include "nbformat/pysrc.h"

/* ---------------------------------------------------------------- scanning names */

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int name_start(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}
static int name_char(unsigned char c) { return name_start(c) || is_digit(c); }

struct word {
    const char *s;
    size_t len;
    int attr;   /* after a '.': an attribute or method, not a name of its own */
    int call;   /* followed by '(' */
    int assign; /* followed by one '=' (a target, or a keyword argument) */
};

/* The next name of S[*I..END) into W; 0 at the end.  Numbers (`1e5`, `0x1f`) are
 * skipped whole, so their letters are not names. */
static int next_word(const char *s, size_t *i, size_t end, struct word *w)
{
    size_t k = *i;
    while (k < end) {
        unsigned char c = (unsigned char)s[k];
        if (is_digit(c)) { /* a number, letters and all */
            while (k < end && (name_char((unsigned char)s[k]) || s[k] == '.')) k++;
            continue;
        }
        if (!name_start(c)) { k++; continue; }
        size_t a = k;
        while (k < end && name_char((unsigned char)s[k])) k++;
        size_t p = a;
        while (p > 0 && (s[p - 1] == ' ' || s[p - 1] == '\t')) p--;
        size_t q = k;
        while (q < end && (s[q] == ' ' || s[q] == '\t')) q++;
        *w = (struct word){ s + a, k - a, p > 0 && s[p - 1] == '.', q < end && s[q] == '(',
                            q < end && s[q] == '=' && (q + 1 >= end || s[q + 1] != '=') };
        *i = k;
        return 1;
    }
    *i = end;
    return 0;
}

static int word_is(const struct word *w, const char *name)
{
    return strlen(name) == w->len && memcmp(w->s, name, w->len) == 0;
}

static int word_in(const struct word *w, const char *const *list)
{
    for (; *list; list++)
        if (word_is(w, *list)) return 1;
    return 0;
}

static int word_ends(const struct word *w, const char *tail)
{
    size_t n = strlen(tail);
    return w->len > n && memcmp(w->s + w->len - n, tail, n) == 0;
}

/* Whether W names a constant (`FIG_SIZE`, `BATCH_SIZE`, `TRAIN_DIR`): two or more
 * characters, no lower-case letter. */
static int word_constant(const struct word *w)
{
    if (w->len < 2) return 0;
    int letter = 0;
    for (size_t i = 0; i < w->len; i++) {
        unsigned char c = (unsigned char)w->s[i];
        if ((c >= 'a' && c <= 'z') || c >= 0x80) return 0;
        letter |= c >= 'A' && c <= 'Z';
    }
    return letter;
}

static const char *const keywords[] = {
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
    "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
    "return", "try", "while", "with", "yield", "self", "cls", NULL,
};

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

/* ---------------------------------------------------------------- the name set */

void flow_init(struct flow *f) { memset(f, 0, sizeof *f); }

static void flow_clear(struct flow *f)
{
    for (size_t i = 0; i < f->n; i++) free(f->names[i]);
    f->n = 0;
}

void flow_free(struct flow *f)
{
    flow_clear(f);
    free(f->names);
    free(f->len);
    free(f->hash);
    free(f->kind);
    memset(f, 0, sizeof *f);
}

static unsigned name_hash(const char *s, size_t len)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static long flow_find_hashed(const struct flow *f, const char *s, size_t len, unsigned h)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->hash[i] == h && f->len[i] == len && memcmp(f->names[i], s, len) == 0) return (long)i;
    return -1;
}

static long flow_find(const struct flow *f, const char *s, size_t len)
{
    return f->n ? flow_find_hashed(f, s, len, name_hash(s, len)) : -1;
}

/* Adds S[0..LEN) as holding KIND (FLOW_RESULTS, FLOW_TRAINED); a name held already
 * holds both. */
static int flow_add(struct flow *f, const char *s, size_t len, int kind)
{
    unsigned h = name_hash(s, len);
    long at = flow_find_hashed(f, s, len, h);
    if (at >= 0) {
        f->kind[at] |= (unsigned char)kind;
        return 0;
    }
    if (f->n == FLOW_MAX_NAMES) return 0;
    if (f->n == f->cap) {
        size_t nc = f->cap ? 2 * f->cap : 8;
        char **p = realloc(f->names, nc * sizeof *p);
        if (p) f->names = p;
        size_t *l = p ? realloc(f->len, nc * sizeof *l) : NULL;
        if (l) f->len = l;
        unsigned *hh = l ? realloc(f->hash, nc * sizeof *hh) : NULL;
        if (hh) f->hash = hh;
        unsigned char *k = hh ? realloc(f->kind, nc) : NULL;
        if (!k) return -1;
        f->kind = k;
        f->cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c) return -1;
    memcpy(c, s, len);
    c[len] = 0;
    f->names[f->n] = c;
    f->len[f->n] = len;
    f->kind[f->n] = (unsigned char)kind;
    f->hash[f->n++] = h;
    return 0;
}

static void flow_drop(struct flow *f, const char *s, size_t len)
{
    long i = flow_find(f, s, len);
    if (i < 0) return;
    free(f->names[i]);
    f->n--;
    f->names[i] = f->names[f->n];
    f->len[i] = f->len[f->n];
    f->hash[i] = f->hash[f->n];
    f->kind[i] = f->kind[f->n];
}

static int flow_copy(struct flow *dst, const struct flow *src)
{
    flow_clear(dst);
    for (size_t i = 0; i < src->n; i++)
        if (flow_add(dst, src->names[i], src->len[i], src->kind[i]) < 0) return -1;
    return 0;
}

/* ---------------------------------------------------------------- statements */

/* What S[A..Z) reads of the names F holds (names, not attributes, keyword arguments or
 * targets): FLOW_RESULTS, FLOW_TRAINED, both, or 0. */
static int span_reads(const struct flow *f, const char *s, size_t a, size_t z)
{
    if (f->n == 0) return 0;
    struct word w;
    int kinds = 0;
    for (size_t i = a; next_word(s, &i, z, &w);) {
        long k = !w.attr && !w.assign ? flow_find(f, w.s, w.len) : -1;
        if (k >= 0) kinds |= f->kind[k];
    }
    return kinds;
}

/* Whether S[A..Z) reads a fitted model's attribute (`clf.coef_`, `km.labels_`). */
static int span_reads_fitted(const char *s, size_t a, size_t z)
{
    struct word w;
    for (size_t i = a; next_word(s, &i, z, &w);)
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
    for (size_t i = a; next_word(s, &i, z, &w);) {
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
    for (size_t i = a; next_word(s, &i, z, &w);)
        if (w.call && w.attr && (word_is(&w, "fit") || word_is(&w, "fit_generator"))) return 1;
    return 0;
}

/* Whether S[I..END) calls `.isna()` or `.isnull()`. */
static int finds_missing(const char *s, size_t i, size_t end)
{
    struct word w;
    while (next_word(s, &i, end, &w))
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
        if (starts && depth <= 1 && !word_in(&w, keywords) && !setting) {
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
    for (size_t i = a; next_word(s, &i, z, &w);)
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
    if (!next_word(s, &i, op, &t) || t.attr || next_word(s, &i, op, &w)) return 0;
    if (!next_word(s, &j, z, &w) || w.attr || w.call || w.len != t.len || memcmp(w.s, t.s, t.len) != 0) return 0;
    while (j < z && (s[j] == ' ' || s[j] == '\t')) j++;
    return j < z && (s[j] == '.' || s[j] == '[') && !span_fits(s, r, z);
}

/* Whether S[A..Z) builds or fits a model: a class called (`MLPClassifier(`,
 * `keras.Sequential(`) or a fit, as `ANN = MLPClassifier(...)` names a model in
 * capitals, not a setting. */
static int span_constructs(const char *s, size_t a, size_t z)
{
    struct word w;
    for (size_t i = a; next_word(s, &i, z, &w);)
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
    for (size_t i = a; next_word(s, &i, z, &v);)
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
    if (!next_word(s, &i, z, &w) || w.attr || w.s != s + a || !word_submission(&w)) return 0;
    size_t q = i;
    while (q < z && (s[q] == ' ' || s[q] == '\t')) q++;
    if (q < z && s[q] == '.') {
        size_t j = q;
        if (!next_word(s, &j, z, &m)) return 0;
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
        for (size_t i = a; next_word(s, &i, op, &w);)
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

/* Cells [LO, HI) (whole notebooks) and their statements, rows [ST, ST_HI). */
struct mark_job {
    const struct label_cell *cells;
    size_t lo, hi, st, st_hi;
    unsigned char *out;
    enum { PASS_RESULTS, PASS_KEPT, PASS_HELPERS } pass; /* flow_mark's, _kept's, _helpers' */
    const unsigned char *in; /* the pass's per-cell input: trained, modelling, stage + 1 */
    int rc;
};

static int kept_range(const struct label_cell *cells, size_t lo, size_t hi,
                      const unsigned char *modelling, unsigned char *out);
static int helpers_range(const struct label_cell *cells, size_t from, size_t to, const unsigned char *stage1,
                         unsigned char *out);

static void *mark_range(void *arg)
{
    struct mark_job *j = arg;
    if (j->pass == PASS_KEPT) {
        j->rc = kept_range(j->cells, j->lo, j->hi, j->in, j->out);
        return NULL;
    }
    if (j->pass == PASS_HELPERS) {
        j->rc = helpers_range(j->cells, j->lo, j->hi, j->in, j->out);
        return NULL;
    }
    const struct label_cell *cells = j->cells;
    struct flow f, before;
    flow_init(&f);
    flow_init(&before);
    j->rc = -1;
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
    j->rc = 0;
out:
    flow_free(&f);
    flow_free(&before);
    return NULL;
}

/* The first row of CELLS[N..TOTAL) whose parent is I or later (they are in their
 * parents' order). */
static size_t first_statement_of(const struct label_cell *cells, size_t n, size_t total, size_t i)
{
    size_t a = n, b = total;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (cells[m].parent < i) a = m + 1;
        else b = m;
    }
    return a;
}

/* PASS (with its per-cell input IN) over whole notebooks on up to JOBS threads. */
static int mark_all(const struct label_cell *cells, size_t n, size_t total, int jobs, unsigned char *out,
                    int pass, const unsigned char *in)
{
    enum { MAX_JOBS = 8 };
    struct mark_job jb[MAX_JOBS];
    pthread_t th[MAX_JOBS];
    int started[MAX_JOBS] = {0};
    if (jobs < 1) jobs = 1;
    if (jobs > MAX_JOBS) jobs = MAX_JOBS;
    /* a block of about n / jobs cells per thread, each moved on to a notebook's first
     * cell: the names flow within a notebook, so a notebook stays on one thread */
    size_t per = (n + (size_t)jobs - 1) / (size_t)jobs, lo = 0;
    for (int t = 0; t < jobs; t++) {
        size_t hi = t + 1 == jobs ? n : per * (size_t)(t + 1);
        if (hi < lo) hi = lo;
        if (hi > n) hi = n;
        while (hi > lo && hi < n && cells_same_notebook(&cells[hi], &cells[hi - 1])) hi++;
        jb[t] = (struct mark_job){ cells, lo, hi, first_statement_of(cells, n, total, lo),
                                   first_statement_of(cells, n, total, hi), out, pass, in, 0 };
        lo = hi;
    }
    /* (statements always follow their cells; a row that does not is left unread) */
    for (size_t st = first_statement_of(cells, n, total, n); st < total; st++) out[st] = 0;
    for (int t = 1; t < jobs; t++)
        if (jb[t].lo < jb[t].hi && pthread_create(&th[t], NULL, mark_range, &jb[t]) == 0) started[t] = 1;
        else mark_range(&jb[t]);
    mark_range(&jb[0]);
    int rc = jb[0].rc;
    for (int t = 1; t < jobs; t++) {
        if (started[t]) pthread_join(th[t], NULL);
        if (jb[t].rc < 0) rc = -1;
    }
    return rc;
}

int flow_mark(const struct label_cell *cells, size_t n, size_t total, const unsigned char *trained, int jobs,
              unsigned char *out)
{
    return mark_all(cells, n, total, jobs, out, PASS_RESULTS, trained);
}

/* ------------------------------------------------------- changes kept and not kept */

/* The names live after a point of a notebook: read by a later statement before any
 * statement rebinds them, and whether one of those readers is a modelling cell's
 * (feeds).  An open-addressing set of names copied into one buffer; a name rebound is
 * flagged dead, not removed.  Emptied between notebooks. */
struct liveset {
    size_t *slot;          /* [cap] 1 + entry, or 0 */
    size_t cap, n;
    size_t *off, *len;     /* [n] the entry's name in buf */
    unsigned char *live;   /* [n] */
    unsigned char *feeds;  /* [n] read, while live, by a statement of a modelling cell */
    size_t ecap;
    char *buf;
    size_t used, room;
};

static void liveset_clear(struct liveset *r)
{
    if (r->slot) memset(r->slot, 0, r->cap * sizeof *r->slot);
    r->n = r->used = 0;
}

static void liveset_free(struct liveset *r)
{
    free(r->slot);
    free(r->off);
    free(r->len);
    free(r->live);
    free(r->feeds);
    free(r->buf);
}

/* The entry of S[0..LEN), or -1. */
static long liveset_find(const struct liveset *r, const char *s, size_t len)
{
    if (!r->n) return -1;
    for (size_t i = name_hash(s, len) & (r->cap - 1);; i = (i + 1) & (r->cap - 1)) {
        if (!r->slot[i]) return -1;
        size_t e = r->slot[i] - 1;
        if (r->len[e] == len && memcmp(r->buf + r->off[e], s, len) == 0) return (long)e;
    }
}

static int liveset_is_live(const struct liveset *r, const char *s, size_t len)
{
    long e = liveset_find(r, s, len);
    return e >= 0 && r->live[e];
}

static int liveset_feeds(const struct liveset *r, const char *s, size_t len)
{
    long e = liveset_find(r, s, len);
    return e >= 0 && r->live[e] && r->feeds[e];
}

/* Marks S[0..LEN) read (LIVE; by a modelling cell's statement: FEEDS) or rebound
 * (dead); a dead name not in the set stays out. */
static int liveset_mark(struct liveset *r, const char *s, size_t len, int live, int feeds)
{
    long f = liveset_find(r, s, len);
    if (f >= 0 || !live) {
        if (f >= 0) {
            r->feeds[f] = (unsigned char)(live && (feeds || (r->live[f] && r->feeds[f])));
            r->live[f] = (unsigned char)live;
        }
        return 0;
    }
    if (r->n == r->ecap) {
        size_t nc = r->ecap ? 2 * r->ecap : 256;
        size_t *o = realloc(r->off, nc * sizeof *o);
        if (o) r->off = o;
        size_t *l = o ? realloc(r->len, nc * sizeof *l) : NULL;
        if (l) r->len = l;
        unsigned char *v = l ? realloc(r->live, nc) : NULL;
        if (v) r->live = v;
        unsigned char *fd = v ? realloc(r->feeds, nc) : NULL;
        if (!fd) return -1;
        r->feeds = fd;
        r->ecap = nc;
    }
    if (2 * (r->n + 1) > r->cap) { /* grow to keep the table at most half full */
        size_t nc = r->cap ? 2 * r->cap : 512, *ns = calloc(nc, sizeof *ns);
        if (!ns) return -1;
        for (size_t e = 0; e < r->n; e++) {
            size_t k = name_hash(r->buf + r->off[e], r->len[e]) & (nc - 1);
            while (ns[k]) k = (k + 1) & (nc - 1);
            ns[k] = e + 1;
        }
        free(r->slot);
        r->slot = ns;
        r->cap = nc;
    }
    if (r->used + len > r->room) {
        size_t nr = r->room ? 2 * r->room : 4096;
        while (nr < r->used + len) nr *= 2;
        char *nb = realloc(r->buf, nr);
        if (!nb) return -1;
        r->buf = nb;
        r->room = nr;
    }
    memcpy(r->buf + r->used, s, len);
    size_t e = r->n++;
    r->off[e] = r->used;
    r->len[e] = len;
    r->live[e] = 1;
    r->feeds[e] = (unsigned char)(feeds != 0);
    r->used += len;
    size_t k = name_hash(s, len) & (r->cap - 1);
    while (r->slot[k]) k = (k + 1) & (r->cap - 1);
    r->slot[k] = e + 1;
    return 0;
}

/* Handles a plot keeps (`fig, ax = plt.subplots()`, `g = sns.FacetGrid(...)`): not
 * data, so not a change kept or not. */
static int plot_handle(const char *s, size_t len)
{
    static const char *const handles[] = { "_", "f", "g", "p", "plt", "axs", "axes", NULL };
    for (const char *const *h = handles; *h; h++)
        if (strlen(*h) == len && memcmp(*h, s, len) == 0) return 1;
    return (len >= 3 && memcmp(s, "fig", 3) == 0) || (len >= 2 && memcmp(s, "ax", 2) == 0 &&
            (len == 2 || is_digit((unsigned char)s[2]) || s[2] == '_'));
}

/* Calls EACH(ARG, name, len, plain) for every name that starts a target of the
 * assignment S[A..OP) (`a`, `a, b`, `(a, b)`, `a[i]`, `a.b`), until one returns
 * nonzero, which is returned; PLAIN when the target is the name itself (rebound), not
 * its subscript or attribute. */
static int each_target(void *arg, const char *s, size_t a, size_t op,
                       int (*each)(void *, const char *, size_t, int))
{
    int depth = 0;
    for (size_t k = a; k < op;) {
        char c = s[k];
        if (c == '(' || c == '[') { depth++; k++; continue; }
        if (c == ')' || c == ']') { if (depth > 0) depth--; k++; continue; }
        if (!name_start((unsigned char)c) || (k > a && (name_char((unsigned char)s[k - 1]) || s[k - 1] == '.'))) {
            k++;
            continue;
        }
        size_t e = k;
        while (e < op && name_char((unsigned char)s[e])) e++;
        size_t q = e;
        while (q < op && (s[q] == ' ' || s[q] == '\t')) q++;
        int plain = q >= op || s[q] == ',' || s[q] == ')' || s[q] == ']';
        struct word w = { s + k, e - k, 0, 0, 0 };
        if (depth <= 1 && !word_in(&w, keywords)) {
            int rc = each(arg, s + k, e - k, plain);
            if (rc) return rc;
        }
        /* past this target's subscripts and attributes */
        int d = 0;
        k = e;
        while (k < op && (d > 0 || (s[k] != ',' && s[k] != ')' && s[k] != ']'))) {
            if (s[k] == '(' || s[k] == '[') d++;
            else if ((s[k] == ')' || s[k] == ']') && d > 0) d--;
            k++;
        }
    }
    return 0;
}

/* The first '=' of a plain assignment S[A..Z) (not `+=` and the like), or 0. */
static size_t plain_assignment(const char *s, size_t a, size_t z)
{
    size_t eq;
    if (pysrc_assignments(s + a, z - a, &eq, 1) == 0) return 0;
    size_t op = a + eq;
    return op > a && !strchr("+-*/%&|^<>@:", s[op - 1]) ? op : 0;
}

struct assigned {
    const struct liveset *live;
    const char *end;        /* the code view's end */
    int any;                /* a name assigned that is not live */
    int columns;            /* a live frame's column set by name (`df['r'] = ...`) */
};

/* Whether S[0..LEN), a target's name, is followed (up to END) by one subscript that
 * is a string literal alone and then by the assignment's `=`: a column set by its
 * name (`df['ratio'] = a / b`, in the code view `df[''] = a / b`). */
static int column_target(const char *s, size_t len, const char *end)
{
    const char *p = s + len;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p >= end || *p++ != '[') return 0;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (end - p < 2 || (p[0] != '"' && p[0] != '\'') || p[1] != p[0]) return 0;
    p += 2;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    if (p >= end || *p++ != ']') return 0;
    while (p < end && (*p == ' ' || *p == '\t')) p++;
    return p < end && *p == '=' && (p + 1 >= end || p[1] != '=');
}

/* 1 (stop) when the target is live after the cell: a change kept.  A live frame's
 * column set by name is left to columns_unread (the frame lives on, the column may
 * not). */
static int target_live(void *arg, const char *s, size_t len, int plain)
{
    struct assigned *t = arg;
    (void)plain;
    if (plot_handle(s, len)) return 0;
    if (liveset_is_live(t->live, s, len)) {
        if (plain || !column_target(s, len, t->end)) return 1;
        t->columns = 1;
        return 0;
    }
    t->any = 1;
    return 0;
}

static int target_rebound(void *arg, const char *s, size_t len, int plain)
{
    return plain ? liveset_mark(arg, s, len, 0, 0) : 0;
}

/* Whether V's top-level statements assign at least one name (not a plot's handle),
 * none that is live after V, and change nothing in place: 1; 2 when the only live
 * targets are columns set by name (`df['r'] = ...` of a frame read later), for
 * columns_unread to judge; else 0.  `df.loc[m, 'r'] = ...` assigns df: the frame is
 * what is kept. */
static int assigns_only_dead(const struct pyview *v, const struct liveset *r)
{
    struct assigned t = { r, v->code + v->code_len, 0, 0 };
    for (size_t i = 0; i < v->n_stmts; i++) {
        if (v->stmts[i].indent != 0) continue;
        const char *s = v->code;
        size_t a = v->stmts[i].start, z = v->stmts[i].end;
        if (memmem(s + a, z - a, "inplace", 7)) return 0; /* `df.drop(c, inplace=True)` keeps */
        size_t op = plain_assignment(s, a, z);
        if (!op) continue;
        if (each_target(&t, s, a, op, target_live)) return 0;
    }
    return t.columns ? 2 : t.any;
}

/* Whether SRC[0..LEN) names the column NAME[0..N): quoted whole (`'ratio'`, `"ratio"`)
 * or as an attribute (`df.ratio`, not `df.ratios` nor the method `s.str.len()`). */
static int names_column(const char *src, size_t len, const char *name, size_t n)
{
    for (const char *p = src, *end = src + len; p < end;) {
        const char *q = memmem(p, (size_t)(end - p), name, n);
        if (!q) return 0;
        const char *e = q + n;
        if (q > src && (q[-1] == '\'' || q[-1] == '"') && e < end && *e == q[-1]) return 1;
        if (q > src && q[-1] == '.' && (e >= end || (!name_char((unsigned char)*e) && *e != '('))) return 1;
        p = q + 1;
    }
    return 0;
}

/* Whether every column cell I sets by name at top level in its source (lines
 * `df['ratio'] = ...` at column 0) is new, named by no earlier cell of the notebook
 * CELLS[LO, HI), and read by no later one: columns made only for what the cell itself
 * does with them (the guide's rule 2, a change not kept; `df['len'] = df.text.str.len()`
 * then `sns.histplot(df['len'])`).  A column named before or rewritten from itself
 * (`df['x'] = df['x'].astype(int)`), or named after, is kept; a cell where none is found is too. */
static int columns_unread(const struct label_cell *cells, size_t lo, size_t hi, size_t i)
{
    const char *s = cells[i].src, *end = s + cells[i].src_len;
    int found = 0;
    for (const char *ln = s; ln < end;) {
        const char *nl = memchr(ln, '\n', (size_t)(end - ln));
        const char *le = nl ? nl : end, *p = ln;
        if (p < le && name_start((unsigned char)*p)) {
            while (p < le && name_char((unsigned char)*p)) p++;
            while (p < le && (*p == ' ' || *p == '\t')) p++;
            if (p < le && *p == '[') {
                p++;
                while (p < le && (*p == ' ' || *p == '\t')) p++;
                char quote = p < le ? *p : 0;
                if (quote != '\'' && quote != '"') quote = 0;
                const char *c = quote ? p + 1 : p, *ce = c;
                if (quote)
                    while (ce < le && *ce != quote && *ce != '\\') ce++;
                const char *q = ce < le ? ce + 1 : le;
                while (q < le && (*q == ' ' || *q == '\t')) q++;
                if (quote && ce < le && *ce == quote && ce > c && q < le && *q == ']') {
                    q++;
                    while (q < le && (*q == ' ' || *q == '\t')) q++;
                    if (q < le && *q == '=' && (q + 1 >= le || q[1] != '=')) {
                        size_t n = (size_t)(ce - c);
                        /* the column rewritten from itself (`df['x'] = df['x'].astype(int)`) was there before */
                        if (names_column(q + 1, (size_t)(le - q - 1), c, n)) return 0;
                        for (size_t j = lo; j < hi; j++)
                            if (j != i && names_column(cells[j].src, cells[j].src_len, c, n)) return 0;
                        found = 1;
                    }
                }
            }
        }
        ln = nl ? nl + 1 : end;
    }
    return found;
}

/* 1 (stop) when the target, live after the cell, is read by a modelling cell. */
static int target_feeds(void *arg, const char *s, size_t len, int plain)
{
    (void)plain;
    return !plot_handle(s, len) && liveset_feeds(arg, s, len);
}

/* Whether one of V's top-level statements assigns a name (not a plot's handle) that a
 * modelling cell reads after V before anything rebinds it: a change kept for the
 * model. */
static int assigns_for_model(const struct pyview *v, const struct liveset *r)
{
    for (size_t i = 0; i < v->n_stmts; i++) {
        if (v->stmts[i].indent != 0) continue;
        size_t a = v->stmts[i].start, op = plain_assignment(v->code, a, v->stmts[i].end);
        if (op && each_target((void *)r, v->code, a, op, target_feeds)) return 1;
    }
    return 0;
}

/* Takes V's top-level statements last to first (each with the indented ones under
 * it): the names a statement rebinds die, then the names it reads come alive, read by
 * a modelling cell when MODELLING. */
static int live_before(struct liveset *r, const struct pyview *v, int modelling)
{
    for (size_t hi = v->n_stmts; hi > 0;) {
        size_t lo = hi - 1;
        while (lo > 0 && v->stmts[lo].indent != 0) lo--;
        const char *s = v->code;
        size_t a = v->stmts[lo].start, z = v->stmts[hi - 1].end;
        size_t op = v->stmts[lo].indent == 0 ? plain_assignment(s, a, v->stmts[lo].end) : 0;
        if (op && each_target(r, s, a, op, target_rebound) < 0) return -1;
        struct word w;
        for (size_t k = a; next_word(s, &k, z, &w);)
            if (!w.attr && !w.assign && liveset_mark(r, w.s, w.len, 1, modelling) < 0) return -1;
        hi = lo;
    }
    return 0;
}

/* Cells [FROM, TO): whole notebooks. */
static int kept_range(const struct label_cell *cells, size_t from, size_t to,
                      const unsigned char *modelling, unsigned char *out)
{
    struct liveset r = {0};
    int rc = -1;
    for (size_t hi = to; hi > from;) {
        size_t lo = hi - 1; /* the notebook of cells [lo, hi) */
        while (lo > from && cells_same_notebook(&cells[lo - 1], &cells[hi - 1])) lo--;
        liveset_clear(&r);
        for (size_t i = hi; i-- > lo;) {
            /* a cell alone (no notebook, or a notebook of one cell) says nothing of
             * what is read after it */
            if (!cells[i].notebook || hi - lo == 1) { out[i] = 0; continue; }
            struct pyview v;
            if (pyview_make(&v, cells[i].src, cells[i].src_len) < 0) goto out;
            int dead = assigns_only_dead(&v, &r);
            if (dead == 2) dead = columns_unread(cells, lo, hi, i);
            out[i] = (unsigned char)(dead ? FLOW_UNKEPT
                                     : assigns_for_model(&v, &r) ? FLOW_FEEDS_MODEL : 0);
            int bad = live_before(&r, &v, modelling && modelling[i]);
            pyview_free(&v);
            if (bad < 0) goto out;
        }
        hi = lo;
    }
    rc = 0;
out:
    liveset_free(&r);
    return rc;
}

int flow_mark_kept(const struct label_cell *cells, size_t n, const unsigned char *modelling, int jobs,
                   unsigned char *out)
{
    return mark_all(cells, n, n, jobs, out, PASS_KEPT, modelling);
}

/* ---------------------------------------------------------------- fitting cells */

int flow_fits_model(const char *src, size_t len)
{
    static const char *const verbs[] = {"fit", "fit_generator", "train"};
    struct pyview v;
    if (pyview_make(&v, src, len) < 0) return -1;
    int fits = 0;
    struct word w;
    for (size_t k = 0; !fits && next_word(v.code, &k, v.code_len, &w);) {
        if (!w.attr || !w.call) continue;
        for (size_t j = 0; j < sizeof verbs / sizeof *verbs; j++)
            fits |= w.len == strlen(verbs[j]) && memcmp(w.s, verbs[j], w.len) == 0;
    }
    pyview_free(&v);
    return fits;
}

/* ---------------------------------------------------------------- helpers called */

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
    size_t e, op = plain_assignment(s, a, z);
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

int flow_mark_helpers(const struct label_cell *cells, size_t n, const unsigned char *stage1, int jobs,
                      unsigned char *out)
{
    return mark_all(cells, n, n, jobs, out, PASS_HELPERS, stage1);
}
