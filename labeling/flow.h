/* flow.h — which names of a notebook hold a model's results, cell after cell, and
 * which names a cell assigns that nothing after it reads, or that a modelling cell
 * reads.
 *
 * Owns: the data-flow evidence of the built-in LFs model_output, unkept_change,
 * feeds_model and helper_call (lfset.h; the middle two at flow_mark_kept below, the
 * last at flow_mark_helpers).  A cell
 * sees only its own code, so `plt.plot(history.history['loss'])` says "training
 * curve" by its words while `plt.scatter(y_test, preds)` or `print(results[1])` does
 * not: what `preds` and `results` hold was decided cells earlier.  The labeling
 * guide calls plots and prints of a model's outputs evaluate (rules 2 and 4), and
 * the rules, reading the plot, call them explore.  So the names are followed through
 * the notebook in order:
 *   - a name assigned from a model's results holds them: a prediction or score call
 *     (`.predict(`, `.predict_proba(`, `.evaluate(`, `.score(`, `cross_val_score(`,
 *     any `*_score(`, `confusion_matrix(`, `classification_report(`, `roc_curve(`,
 *     ...), a fitted attribute (`.coef_`, `.feature_importances_`, `.cv_results_`,
 *     ...), or a Keras history (`history = model.fit(...)`);
 *   - so does a name assigned from one that holds them (`cm_norm = cm / cm.sum(1)`),
 *     and a list or dict filled with them (`scores.append(...)`, `res[name] = ...`);
 *     but not a frame whose missing values a model filled in (`df.loc[df.x.isna(),
 *     'x'] = m.predict(...)`: imputation, the frame stays data);
 *   - so does a submission frame written out or filled at a cell's top level
 *     (`sub.to_csv(...)`, `submission['target'] = p`), whatever made the predictions;
 *     the competition's sample file looked at before that is data;
 *   - a name plainly reassigned from anything else no longer does;
 *   - a name a cell the rules call train assigns at top level holds what training
 *     made (`w, b = train(X, y)`, `theta = res.x`, `svm_model = SVC().fit(X, y)`;
 *     not a column or attribute it sets, `train['y'] = ...`, nor the data rebound
 *     from itself, `df = df.fillna(0)`, which are data, nor a
 *     constant it sets, `FIG_SIZE = (12, 8)`, `TRAIN_FILES = glob(...)`, a setting
 *     unless a model is built into it, `ANN = MLPClassifier()`, or training fills it,
 *     `METRICS = {'loss': []}`),
 *     a second kind: a later look at it inspects a trained model (the guide's
 *     evaluate: "uses a trained model", "model interpretation"); it does not pass on
 *     to names derived from it, and model_output asks more of a cell that reads only
 *     this kind (lfset.h).
 * A cell (or statement) "reads results" when one of its statements reads such a name,
 * assigned before that statement, or a fitted attribute itself (`print(clf.coef_)`);
 * a name only bound again beside others (`X, y = make_moons()`, `fig, ax =
 * plt.subplots()`) is not read when it held only what a train cell made.
 * The second kind, measured on the label files (2026-12-02): of the cells it changed
 * where the labels were read, 38 right and 17 wrong; held-out 81.7% -> 82.0%.  Passed
 * on to derived names and counted on cells no rule voted on, it broke more than it
 * fixed there (dev -0.4).
 * Measured on the label files (tests/labels): of the cells the rules called explore
 * and that read results, the labelers called 21 of 21 evaluate on the tune file.
 */
#ifndef NBSTAGE_FLOW_H
#define NBSTAGE_FLOW_H

#include <stddef.h>

#include "labeling/cellread.h"
#include "labeling/pytoken.h"

/* The names that hold a model's results at some point of a notebook: at most
 * FLOW_MAX_NAMES at once (a notebook that gives results to more keeps the ones it
 * named first, until they are reassigned), so that no notebook, however long or
 * strange, makes a cell cost more than FLOW_MAX_NAMES compares a name. */
#define FLOW_MAX_NAMES 256
/* FLOW_WHOLE beside FLOW_RESULTS: the name holds results as a whole (`preds =
 * m.predict(X)`, `scores`), not a frame that only gained a column of them
 * (`df['pred'] = preds`), nor what is derived from such a frame */
enum { FLOW_RESULTS = 1, FLOW_TRAINED = 2, FLOW_WHOLE = 4 }; /* what a name holds; bits */
struct flow {
    char **names;           /* NUL-terminated */
    size_t *len;
    unsigned *hash;
    unsigned char *kind;    /* FLOW_RESULTS, FLOW_TRAINED or both */
    size_t n, cap;
};

void flow_init(struct flow *f);
void flow_free(struct flow *f);

/* Takes V's statements in order: what they read of the names F holds (set by an
 * earlier cell or an earlier statement of V; a fitted attribute read counts as
 * results), while its assignments go into F (every top-level one when V is a train
 * cell's code: TRAINED, but for a `train_test_split`'s parts, which are data).
 * FLOW_RESULTS, FLOW_TRAINED, both or 0; -1 when out of memory. */
int flow_step(struct flow *f, const struct pyview *v, int trained);

/* For CELLS[0..N), in notebook order, and the statements after them (CELLS[N..TOTAL),
 * --statements, in their parents' order): OUT[i] = what row i reads (flow_step), the
 * names followed from the notebook's first cell (a statement: from its cell's first
 * statement, as if the statements before it ran).  TRAINED[i] (the caller's, for cells
 * 0..N: the rules call cell i train; NULL: none) as flow_step's.  Up to JOBS threads (1
 * to 8), each on whole notebooks.  -1 when out of memory. */
int flow_mark(const struct label_cell *cells, size_t n, size_t total, const unsigned char *trained, int jobs,
              unsigned char *out);

/* What flow_mark_kept says of a cell (one of them, or 0). */
enum { FLOW_UNKEPT = 1, FLOW_FEEDS_MODEL = 2 };

/* For CELLS[0..N), in notebook order, whether each cell's change is kept, and by whom:
 *   - OUT[i] = FLOW_UNKEPT when cell i assigns names at top level (a frame's column
 *     counts as the frame; a plot's handles, `fig, ax`, do not), changes nothing in
 *     place (`inplace=True`), and none of those names is live after it: no later
 *     statement of its notebook reads one before another rebinds it (`t = df.b` then
 *     `print(t)` reads its own t).  A frame that lives on counts as not kept where
 *     the cell only sets new columns of it by name that no other cell of the notebook
 *     names (`df['len'] = df.text.str.len()` to draw it, 'len' never named again;
 *     measured 2026-12-03: read gold +19 -6, 20 of 25 corpus cells right).  A change
 *     not kept (the guide's rule 2), the evidence of the built-in LF unkept_change
 *     (lfset.h).
 *   - OUT[i] = FLOW_FEEDS_MODEL when one name cell i assigns at top level is read,
 *     while live, by a statement of a cell that MODELLING marks (the caller's: cells
 *     whose rules call them prep, train or evaluate; NULL: none).  Data derived and
 *     kept for the model (the guide's prep: "derives new data for modelling"), the
 *     evidence of the built-in LF feeds_model.
 * The notebook is walked backwards, statement by statement: a plain top-level
 * assignment kills its targets, then every name the statement (with the lines
 * indented under it) reads comes alive (names in the code view, not attributes or
 * keyword arguments), fed to a model if its cell is a modelling one or it already
 * was.  A notebook's last cell is marked as any other (nothing reads it), but a cell
 * alone (no notebook, or one cell) is not.  Up to JOBS threads (1 to 8), each on whole
 * notebooks.  -1 when out of memory. */
int flow_mark_kept(const struct label_cell *cells, size_t n, const unsigned char *modelling, int jobs,
                   unsigned char *out);

/* Whether the code of SRC[0..LEN) fits a model: calls a method `.fit(`, `.fit_generator(`
 * or `.train(` (not a transformer's `.fit_transform(`, nor `.fit_resample(`).  A cell the
 * rules call evaluate that fits (`clf.fit(feats, y)` then scored) reads the names it
 * fits on as a model does, while one that only writes or shows predictions does not
 * (model_output, lfset.c).  1, 0, or -1 when out of memory. */
int flow_fits_model(const char *src, size_t len);

/* For CELLS[0..N), in notebook order: OUT[i] = 1 + the stage of the helpers cell i
 * calls, or 0.  A cell all of whose top-level statements are plain calls `name(...)`
 * (or `targets = name(...)`) of functions defined (`def name(`) at top level by earlier
 * cells of its notebook, all of one stage, explore or evaluate: a cell that runs one's
 * own plotting helper does the helper's job (the guide's rule 3 labels the helper by
 * what it is for).  Plus FLOW_CALLS_EVALUATE where any top-level statement so calls an
 * evaluate helper, whatever else the cell does (evaluate_call, lfset.h).  STAGE1[j] is
 * 1 + the stage of cell j (its rules' majority), 0 for none; a function takes the stage
 * of the cell that last defined it.  Up to JOBS threads (1 to 8), each on whole
 * notebooks.  -1 when out of memory. */
enum { FLOW_HELPER_STAGE = 0x0f, FLOW_CALLS_EVALUATE = 0x10 }; /* OUT[i]'s two parts */
int flow_mark_helpers(const struct label_cell *cells, size_t n, const unsigned char *stage1, int jobs,
                      unsigned char *out);

#endif
