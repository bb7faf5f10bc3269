/* test_flow.c — which names hold a model's results, followed through a notebook
 * (labeling/flow.h): what gives a name the mark, what takes it away, what counts as
 * reading it, and flow_mark over cells and their statements. */
#include "unit.h"

#include "labeling/cellread.h"
#include "labeling/flow.h"
#include "labeling/pytoken.h"
#include "labeling/stage.h"

/* Runs CELLS (NULL-terminated) through one flow; returns a string of 0/1, one per
 * cell: whether it read results (whole or not: test_a_column_of_results). */
static const char *reads_of(const char *const *cells)
{
    static char out[64];
    struct flow f;
    flow_init(&f);
    size_t i = 0;
    for (; cells[i]; i++) {
        struct pyview v;
        assert_int_equal(pyview_make(&v, cells[i], strlen(cells[i])), 0);
        int r = flow_step(&f, &v, 0);
        assert_true(r == 0 || r == FLOW_RESULTS || r == (FLOW_RESULTS | FLOW_WHOLE));
        out[i] = (char)('0' + (r & FLOW_RESULTS));
        pyview_free(&v);
    }
    out[i] = 0;
    flow_free(&f);
    return out;
}

#define READS(...) reads_of((const char *const[]){ __VA_ARGS__, NULL })

static void test_results_give_the_mark(void **state)
{
    (void)state;
    /* predictions, scores, metrics, fitted attributes, a Keras history */
    assert_string_equal(READS("preds = model.predict(X_test)", "plt.scatter(y_test, preds)"), "01");
    assert_string_equal(READS("p = clf.predict_proba(X)[:, 1]", "sns.histplot(p)"), "01");
    assert_string_equal(READS("acc = accuracy_score(y, p)", "print(acc)"), "01");
    assert_string_equal(READS("s = metrics.f1_score(y, p)", "s"), "01");
    assert_string_equal(READS("results = model.evaluate(X, y)", "print(f'loss {results[0]}')"), "01");
    assert_string_equal(READS("fpr, tpr, _ = roc_curve(y, p)", "plt.plot(fpr, tpr)"), "01");
    assert_string_equal(READS("sizes, tr, te = learning_curve(m, X, y)", "plt.plot(sizes, te.mean(1))"), "01");
    assert_string_equal(READS("imp = rf.feature_importances_", "imp"), "11");
    assert_string_equal(READS("history = model.fit(X, y, epochs=3)", "plt.plot(history.history['loss'])"), "01");
    assert_string_equal(READS("hist = model.fit_generator(gen)", "hist"), "01");
    /* one's own prediction helper, called as a function, returns predictions */
    assert_string_equal(READS("sub = predict(test_loader)", "len(sub)"), "01");
    assert_string_equal(READS("p = make_predictions(m, X)", "r = run_inference(paths)", "print(p, r)"), "001");
    assert_string_equal(READS("d = predictors(X)", "d"), "00");
    assert_string_equal(READS("df = predict_gender(df)", "df.head()"), "00");
    /* a fitted attribute is read as results where it stands, too */
    assert_string_equal(READS("print(clf.coef_)", "gmm.means_", "km.labels_[:10]", "df.labels"), "1110");
    /* a fit kept under another name is the fitted model, not results */
    assert_string_equal(READS("model = model.fit(X, y)", "model"), "00");
    assert_string_equal(READS("model.fit(X, y)", "model"), "00");
}

static void test_the_mark_flows_and_ends(void **state)
{
    (void)state;
    /* derived from results: results */
    assert_string_equal(READS("cm = confusion_matrix(y, p)", "cm_norm = cm / cm.sum(axis=1)", "sns.heatmap(cm_norm)"),
                        "011");
    /* a list filled with them, in a loop */
    assert_string_equal(READS("scores = []\nfor k in ks:\n    scores.append(cross_val_score(m, X, y).mean())",
                              "plt.plot(ks, scores)"),
                        "01");
    assert_string_equal(READS("res = {}\nfor n, m in models:\n    res[n] = m.score(X, y)", "pd.Series(res).plot()"),
                        "01");
    /* a column of predictions marks its frame; another column does not unmark it */
    assert_string_equal(READS("test['y'] = model.predict(X_test)", "test['id'] = 1", "test.head()"), "011");
    /* missing values a model filled in, through a mask made before: imputation, data;
     * a mask of another kind, or every row, is a column of results */
    assert_string_equal(READS("nan = df.x.isnull()\ny = lr.predict(X)\ndf.loc[nan, 'x'] = y", "df.head()"), "10");
    assert_string_equal(READS("va = df.t == 3\ny = lr.predict(X)\ndf.loc[va, 'p'] = y", "df.head()"), "11");
    assert_string_equal(READS("y = lr.predict(X)\ndf.loc[:, 'p'] = y", "df.head()"), "11");
    /* plainly reassigned from something else: no longer results */
    assert_string_equal(READS("preds = model.predict(X)", "preds = [1, 2]", "print(preds)"), "000");
    /* an annotated assignment is an assignment */
    assert_string_equal(READS("p: np.ndarray = m.predict(X)", "p"), "01");
    /* += keeps what was there */
    assert_string_equal(READS("total = cross_val_score(m, X, y)", "total += 1", "total"), "011");
    /* self and cls are never marked */
    assert_string_equal(READS("self.p = m.predict(X)", "self.q"), "00");
}

static void test_what_reading_is(void **state)
{
    (void)state;
    const char *give = "preds = model.predict(X)";
    /* an attribute of something else, a keyword argument, a comment, a string, a
     * number's letters, a comparison: not a read ... */
    assert_string_equal(READS(give, "obj.preds"), "00");
    assert_string_equal(READS(give, "f(preds=3)"), "00");
    assert_string_equal(READS(give, "# preds"), "00");
    assert_string_equal(READS(give, "print('preds')"), "00");
    assert_string_equal(READS("e5 = m.score(X, y)", "x = 1e5"), "00");
    assert_string_equal(READS(give, "preds2 = 1"), "00");
    /* ... while a comparison, a subscript and an f-string's field are */
    assert_string_equal(READS(give, "print((preds == y).mean())"), "01");
    assert_string_equal(READS(give, "preds[:10]"), "01");
    assert_string_equal(READS(give, "print(f'{preds.mean():.2f}')"), "01");
    /* statement by statement: a cell's own results count from its next statement on,
     * and a name it reassigns first is no longer results */
    assert_string_equal(READS("preds = model.predict(X)\nplt.plot(preds)"), "1");
    assert_string_equal(READS(give, "preds = df['y']\nsns.histplot(preds)"), "00");
    assert_string_equal(READS(give, "preds = preds[:10]"), "01");
}

/* A frame that gained a column of results holds results, but not as a whole
 * (FLOW_WHOLE): nor does what is derived from it; a name made from whole results
 * does.  The parts of a split of such a frame are data. */
static void test_a_column_of_results(void **state)
{
    (void)state;
    static const char *const steps[][2] = {
        { "preds = m.predict(X_test)", "" },
        { "df['pred'] = preds", "RW" },
        { "df.head()", "R" },
        { "sub = df[df.pred > 0]\nsub.shape", "R" },
        { "errs = preds - y_test\nerrs.mean()", "RW" },
        /* a split of such a frame is data for a new model (Counter(y_tr) explores it);
         * a split of whole results is results still */
        { "age = sub['age']\nX_tr, X_te, y_tr, y_te = train_test_split(sub, age)", "R" },
        { "Counter(y_tr)\nX_te.head()", "" },
        { "p_a, p_b = train_test_split(preds)", "RW" },
        { "p_b.mean()", "RW" },
        { "scores = []\nscores.append(accuracy_score(y, p))", "" },
        { "plt.plot(scores)", "RW" },
    };
    struct flow f;
    flow_init(&f);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        struct pyview v;
        assert_int_equal(pyview_make(&v, steps[i][0], strlen(steps[i][0])), 0);
        int r = flow_step(&f, &v, 0);
        pyview_free(&v);
        int want = (strchr(steps[i][1], 'R') ? FLOW_RESULTS : 0) | (strchr(steps[i][1], 'W') ? FLOW_WHOLE : 0);
        if (r != want) fail_msg("step %zu (%s): %d, want %d", i, steps[i][0], r, want);
    }
    flow_free(&f);
}

/* A submission frame written out or filled holds the predictions, however they were
 * made; the competition's sample file looked at before that is data, and so are
 * columns derived from the frame itself, a value of a frame cut from the data, and
 * Meta Kaggle's table of submissions. */
static void test_a_submission_frame(void **state)
{
    (void)state;
    /* looked at before it is filled: data; after: the model's results */
    assert_string_equal(READS("submission = pd.read_csv('sample_submission.csv')", "submission.head()",
                              "submission['target'] = net_outputs", "submission.head()"),
                        "0001");
    assert_string_equal(READS("sub = pd.DataFrame({'id': ids, 'label': labels})\nsub.to_csv('s.csv')", "sub.head()",
                              "len(sub)"),
                        "011");
    assert_string_equal(READS("final_sub.to_csv('submission.csv')", "final_sub.describe()"), "01");
    assert_string_equal(READS("submission_df = run_all(test)", "submission_df.to_csv('submission.csv')",
                              "len(submission_df)"),
                        "001");
    assert_string_equal(READS("sample_sub.EAP = probs[:, 0]", "sample_sub"), "01");
    assert_string_equal(READS("finalSubmission.to_csv('s.csv')", "finalSubmission"), "01");
    /* bound again from the sample file: data again */
    assert_string_equal(READS("sub.to_csv('a.csv')", "sub = pd.read_csv('sample_submission.csv')", "sub.head()"),
                        "000");
    /* a column derived from the frame itself; a value of a frame cut from the data; a
     * plural (Meta Kaggle's Submissions.csv); the columns renamed; a word that only
     * starts with sub */
    assert_string_equal(READS("sample_sub['lead'] = sample_sub['id'].str.split('_').str[2]", "sample_sub.head()"),
                        "00");
    assert_string_equal(READS("df_sub['Age'].loc[1] = 100", "df_sub.mean()"), "00");
    assert_string_equal(READS("submissions['IsScored'] = scored", "submissions.head()"), "00");
    assert_string_equal(READS("sub.columns = ['id', 'y']", "sub.head()"), "00");
    assert_string_equal(READS("subset.to_csv('part.csv')", "subset.head()"), "00");
    /* inside a function: a local name, not the notebook's */
    assert_string_equal(READS("def save(sub):\n    sub.to_csv('s.csv')", "sub.head()"), "00");
}

/* At most FLOW_MAX_NAMES names at once: a notebook naming results in more keeps the
 * first ones (so no notebook makes a cell cost more than that many compares a name). */
static void test_names_are_bounded(void **state)
{
    (void)state;
    struct flow f;
    flow_init(&f);
    char src[64];
    for (int i = 0; i < FLOW_MAX_NAMES + 50; i++) {
        struct pyview v;
        snprintf(src, sizeof src, "r%d = m.predict(X)", i);
        assert_int_equal(pyview_make(&v, src, strlen(src)), 0);
        assert_int_equal(flow_step(&f, &v, 0), 0);
        pyview_free(&v);
    }
    assert_int_equal(f.n, FLOW_MAX_NAMES);
    const struct { const char *src; int reads; } probe[] = {
        {"print(r0)", 1}, {"print(r255)", 1}, {"print(r256)", 0}, {"print(r299)", 0},
        {"r0 = 1", 0}, {"r256 = m.score(X, y)", 0}, {"print(r256)", 1},
    };
    for (size_t k = 0; k < sizeof probe / sizeof probe[0]; k++) {
        struct pyview v;
        assert_int_equal(pyview_make(&v, probe[k].src, strlen(probe[k].src)), 0);
        int r = flow_step(&f, &v, 0);
        pyview_free(&v);
        if ((r & FLOW_RESULTS) != probe[k].reads) fail_msg("%s: reads %d", probe[k].src, r);
    }
    flow_free(&f);
}

static struct label_cell cell(const char *nb, const char *src, int statement, size_t parent)
{
    return (struct label_cell){ (char *)"id", (char *)nb, (char *)src, strlen(src), 0, statement, parent, 0 };
}

static void test_mark_cells_and_statements(void **state)
{
    (void)state;
    struct label_cell c[] = {
        cell("a.ipynb", "p = m.predict(X)\nplt.plot(p)", 0, 0),       /* reads p after making it */
        cell("a.ipynb", "plt.hist(p)", 0, 0),
        cell("b.ipynb", "plt.hist(p)", 0, 0), /* another notebook: p is not its */
        cell("b.ipynb", "p = 3\nq = m.score(X, y)", 0, 0),
        /* --statements: each statement after its cell's earlier statements */
        cell("a.ipynb", "p = m.predict(X)", 1, 0),
        cell("a.ipynb", "plt.plot(p)", 1, 0),
        cell("b.ipynb", "p = 3", 1, 3),
        cell("b.ipynb", "q = m.score(X, y)", 1, 3),
    };
    unsigned char out[8];
    memset(out, 9, sizeof out);
    assert_int_equal(flow_mark(c, 4, 8, NULL, 1, out), 0);
    const unsigned char W = FLOW_RESULTS | FLOW_WHOLE;
    const unsigned char want[8] = { W, W, 0, 0, 0, W, 0, 0 };
    assert_memory_equal(out, want, sizeof want);
    /* no statements at all */
    memset(out, 9, sizeof out);
    assert_int_equal(flow_mark(c, 4, 4, NULL, 1, out), 0);
    assert_memory_equal(out, want, 4);
    /* on several threads: the same marks, however the notebooks are shared out (a
     * block boundary inside a.ipynb moves on to b.ipynb; more threads than notebooks) */
    for (int jobs = 2; jobs <= 9; jobs++) {
        memset(out, 9, sizeof out);
        assert_int_equal(flow_mark(c, 4, 8, NULL, jobs, out), 0);
        assert_memory_equal(out, want, sizeof want);
    }
}

/* What a train cell assigns at top level holds its model (FLOW_TRAINED): read later,
 * it is that kind; it does not pass on to names derived from it; a plain rebinding
 * ends it; results and a trained name read together are both; a constant it sets
 * (`FIG_SIZE`) does not. */
static void test_what_training_made(void **state)
{
    (void)state;
    static const struct { const char *src; int trained, want; } steps[] = {
        { "svm_model = SVC().fit(X, y)\nscale = 2", 1, 0 },
        { "svm_model", 0, FLOW_TRAINED },
        { "print(scale * 3)", 0, FLOW_TRAINED },
        { "w = svm_model.coef_", 0, FLOW_RESULTS | FLOW_WHOLE | FLOW_TRAINED },
        { "plt.plot(w)", 0, FLOW_RESULTS | FLOW_WHOLE },
        { "copy = svm_model", 0, FLOW_TRAINED },
        { "print(copy)", 0, 0 },
        { "for k in ks:\n    m_k = fit_one(k)", 1, 0 },  /* indented: not top level */
        { "print(m_k)", 0, 0 },
        { "svm_model = 3", 0, 0 },
        { "svm_model", 0, 0 },
        { "train['y'] = np.where(a, 1, 2)\nm = XGBClassifier().fit(X, y)", 1, 0 }, /* a column */
        { "train['y'].hist()", 0, 0 },
        { "m", 0, FLOW_TRAINED },
        /* a constant a train cell sets is a setting, not its model; but a model or
         * a record training fills may be named in capitals */
        { "FIG_SIZE = (12, 8)\nTRAIN_FILES = tf.io.gfile.glob(PATH)\nANN = MLPClassifier()\n"
          "METRICS = {'loss': []}", 1, 0 },
        { "plt.figure(figsize=FIG_SIZE)", 0, 0 },
        { "show_batch(load_dataset(TRAIN_FILES))", 0, 0 },
        { "print(ANN.n_layers_)", 0, FLOW_TRAINED },
        { "plt.plot(METRICS['loss'])", 0, FLOW_TRAINED },
        /* names a train cell set, bound again together, are not read (`X, y =`), but
         * a subscript of a target is, and so is a name that held results */
        { "clf = SVC().fit(X_tr, y_tr)\nX = iris.data\nfig, ax = plt.subplots()", 1, 0 },
        { "X, y = make_moons(100)\nfig, ax = plt.subplots()\nax.scatter(X[:, 0], X[:, 1])", 0, 0 },
        { "a, b = clf, 2", 0, FLOW_TRAINED },
        { "rmse = mean_squared_error(y, p)", 0, 0 },
        { "rmse, w = fit_and_score(X, y)", 0, FLOW_RESULTS | FLOW_WHOLE },
    };
    struct flow f;
    flow_init(&f);
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        struct pyview v;
        assert_int_equal(pyview_make(&v, steps[i].src, strlen(steps[i].src)), 0);
        int r = flow_step(&f, &v, steps[i].trained);
        pyview_free(&v);
        if (r != steps[i].want) fail_msg("step %zu (%s): %d, want %d", i, steps[i].src, r, steps[i].want);
    }
    flow_free(&f);
    /* flow_mark passes TRAINED[i] to cell i and to its statements */
    struct label_cell c[] = {
        cell("t.ipynb", "net = train_net(X, y)", 0, 0),
        cell("t.ipynb", "plt.imshow(net.W1)", 0, 0),
        cell("t.ipynb", "plt.imshow(net.W1)", 1, 1),  /* cell 1's statement */
    };
    const unsigned char trained[] = { 1, 0 };
    unsigned char out[3];
    assert_int_equal(flow_mark(c, 2, 3, trained, 1, out), 0);
    assert_int_equal(out[0], 0);
    assert_int_equal(out[1], FLOW_TRAINED);
    assert_int_equal(out[2], FLOW_TRAINED);
    assert_int_equal(flow_mark(c, 2, 3, NULL, 1, out), 0);
    assert_int_equal(out[1], 0);
}

/* flow_mark_kept: a cell's names are kept when a later cell of its notebook reads
 * one of them before anything rebinds it. */
static void test_unkept_changes(void **state)
{
    (void)state;
    struct label_cell c[] = {
        cell("a.ipynb", "df = pd.read_csv(p)", 0, 0),                 /* df read below */
        cell("a.ipynb", "df['r'] = df.a / df.b\nplt.hist(df.r)", 0, 0), /* df read below, its new r never */
        cell("a.ipynb", "tmp = df[df.a > 3]\nfig, ax = plt.subplots()\nax.plot(tmp.a)", 0, 0),
        cell("a.ipynb", "fig, ax = plt.subplots()\nax.plot(df.a)", 0, 0), /* only handles */
        cell("a.ipynb", "log = np.log(df.a)\nplt.hist(log)", 0, 0), /* `x.log` is no read */
        cell("a.ipynb", "s = 0\nfor v in vals:\n    s += v", 0, 0),      /* s read below */
        cell("a.ipynb", "y = s * 2\nf(tmp=1)\nz.log = 3\ntmp = 4", 0, 0), /* none of these read tmp */
        cell("a.ipynb", "print(df.shape)", 0, 0),                         /* assigns nothing */
        cell("b.ipynb", "c = df.corr()\nsns.heatmap(c)\ndf.drop(columns=k, inplace=True)", 0, 0),
        cell("b.ipynb", "df = 1", 0, 0),       /* b's last cell: nothing later reads it */
        cell("c.ipynb", "w = 2", 0, 0),        /* a notebook of one cell: no later cells to know of */
        cell(NULL, "w = 2", 0, 0),             /* no notebook: the same */
        /* live, not merely named: a later cell that rebinds t before it reads it reads
         * its own t; one that reads it first (`t = t + 1`) keeps the earlier one */
        cell("d.ipynb", "t = df.a * 2\nplt.plot(t)", 0, 0),
        cell("d.ipynb", "t = df.b\nprint(t)", 0, 0),
        cell("d.ipynb", "u = t[0]\nplt.plot(u)", 0, 0),
        cell("d.ipynb", "u = u + 1\nv = 2", 0, 0),
        cell("d.ipynb", "print(u)", 0, 0),
    };
    const unsigned char want[] = { 0, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0 };
    unsigned char out[sizeof want];
    /* on several threads, the same marks: each thread takes whole notebooks */
    for (int jobs = 1; jobs <= 9; jobs++) {
        memset(out, 9, sizeof out);
        assert_int_equal(flow_mark_kept(c, sizeof want, NULL, jobs, out), 0);
        assert_memory_equal(out, want, sizeof want);
    }
}

/* flow_mark_kept: a column a cell makes by name in a frame that lives on is kept only
 * when another cell of the notebook names it (before: it was there already; after: it
 * is read), or the cell rewrites it from itself. */
static void test_unkept_columns(void **state)
{
    (void)state;
    struct label_cell c[] = {
        cell("g.ipynb", "df = pd.read_csv(p)\nprint(df['old'].mean())", 0, 0),
        cell("g.ipynb", "df['len'] = df.text.str.len()\nsns.histplot(df['len'])", 0, 0), /* only for its plot */
        cell("g.ipynb", "df['n'] = df.a + 1\nplt.hist(df.n)", 0, 0),          /* named below */
        cell("g.ipynb", "df['a'] = df['a'].astype(int)\nplt.hist(df.a)", 0, 0), /* rewritten from itself */
        cell("g.ipynb", "df['old'] = df.x * 2\nplt.plot(df.old)", 0, 0),       /* named above */
        cell("g.ipynb", "model.fit(df[['n']], y)", 0, 0),
    };
    const unsigned char want[] = { 0, FLOW_UNKEPT, 0, 0, 0, 0 };
    unsigned char out[sizeof want];
    for (int jobs = 1; jobs <= 2; jobs++) {
        memset(out, 9, sizeof out);
        assert_int_equal(flow_mark_kept(c, sizeof want, NULL, jobs, out), 0);
        assert_memory_equal(out, want, sizeof want);
    }
}

/* flow_mark_kept: kept for a model when a modelling cell reads the name while it is
 * still the one the cell assigned. */
static void test_changes_kept_for_a_model(void **state)
{
    (void)state;
    struct label_cell c[] = {
        cell("e.ipynb", "cols = [k for k in df.columns if k != 'y']\nprint(cols)", 0, 0),
        cell("e.ipynb", "print(df[cols].shape)", 0, 0),
        cell("e.ipynb", "X = df[cols]", 0, 0),            /* modelling, and read by one */
        cell("e.ipynb", "m.fit(X, y)", 0, 0),             /* modelling; assigns nothing */
        cell("e.ipynb", "r = df.a\nprint(r)", 0, 0),      /* read below, not by a model */
        cell("e.ipynb", "r = r * 2", 0, 0),               /* reads r, rebinds it for... */
        cell("e.ipynb", "m.fit(r)", 0, 0),                /* ...this modelling cell */
        cell("e.ipynb", "s = df.b\nprint(s)", 0, 0),      /* never read: not kept at all */
        cell("f.ipynb", "z = df.c", 0, 0),                /* a plot's handle is no data: */
        cell("f.ipynb", "fig = plt.figure()\nz.plot()", 0, 0),
        cell("f.ipynb", "fig.savefig(z.name)", 0, 0),     /* a modelling cell (say) reads fig */
    };
    const unsigned char modelling[] = { 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1 };
    const unsigned char want[] = { FLOW_FEEDS_MODEL, 0, FLOW_FEEDS_MODEL, 0, 0, FLOW_FEEDS_MODEL, 0,
                                   FLOW_UNKEPT, FLOW_FEEDS_MODEL, 0, 0 };
    unsigned char out[sizeof want];
    for (int jobs = 1; jobs <= 4; jobs++) {
        memset(out, 9, sizeof out);
        assert_int_equal(flow_mark_kept(c, sizeof want, modelling, jobs, out), 0);
        assert_memory_equal(out, want, sizeof want);
    }
    /* no cell models: nothing is kept for one */
    assert_int_equal(flow_mark_kept(c, sizeof want, NULL, 1, out), 0);
    for (size_t i = 0; i < sizeof want; i++) assert_int_not_equal(out[i], FLOW_FEEDS_MODEL);
}

/* flow_mark_helpers: a cell of plain calls to one's own helpers takes their cell's
 * stage, explore or evaluate (its result kept or not); the latest definition stands;
 * anything else in the cell, a method call, a helper of another notebook or of a prep
 * cell, and it does not.  A
 * top-level plain call of an evaluate helper is marked (FLOW_CALLS_EVALUATE) whatever
 * else the cell holds. */
static void test_helpers_called(void **state)
{
    (void)state;
    struct label_cell c[] = {
        cell("h.ipynb", "def graph_by(k, cols):\n    plt.bar(cols, k)", 0, 0),   /* explore */
        cell("h.ipynb", "def score_of(m):\n    return m.score(X, y)", 0, 0),     /* evaluate */
        cell("h.ipynb", "def clean(df):\n    return df.dropna()", 0, 0),       /* prep */
        cell("h.ipynb", "graph_by('agent', cols)\ngraph_by(\n    'year', cols)", 0, 0),
        cell("h.ipynb", "score_of(model)", 0, 0),
        cell("h.ipynb", "graph_by('a', cols)\nscore_of(model)", 0, 0), /* two stages */
        cell("h.ipynb", "clean(df)", 0, 0),                             /* a prep helper */
        cell("h.ipynb", "x = graph_by('a', cols)", 0, 0),              /* its result kept */
        cell("h.ipynb", "graph_by('a', cols).show()", 0, 0),
        cell("h.ipynb", "for k in ks:\n    graph_by(k, cols)", 0, 0),
        cell("h.ipynb", "def graph_by(k):\n    return k", 0, 0),        /* redefined by a prep cell */
        cell("h.ipynb", "graph_by('a')", 0, 0),
        cell("h.ipynb", "m = SVC().fit(X, y)\nscore_of(m)", 0, 0),     /* evaluate helper called */
        cell("h.ipynb", "m = SVC()\nif a:\n    score_of(m)", 0, 0),  /* not at top level */
        cell("i.ipynb", "score_of(model)", 0, 0),                       /* another notebook */
    };
    const unsigned char stage1[] = { 1 + STAGE_EXPLORE, 1 + STAGE_EVALUATE, 1 + STAGE_PREP, 0, 0, 0, 0, 0, 0, 0,
                                     1 + STAGE_PREP, 0, 0, 0, 0 };
    const unsigned char E = FLOW_CALLS_EVALUATE;
    const unsigned char want[] = { 0, 0, 0, 1 + STAGE_EXPLORE, (1 + STAGE_EVALUATE) | E, E, 0, 1 + STAGE_EXPLORE, 0, 0,
                                   0, 0, E, 0, 0 };
    unsigned char out[sizeof want];
    for (int jobs = 1; jobs <= 4; jobs++) {
        memset(out, 9, sizeof out);
        assert_int_equal(flow_mark_helpers(c, sizeof want, stage1, jobs, out), 0);
        assert_memory_equal(out, want, sizeof want);
    }
}

/* A display helper an evaluate cell defines is a look at the data where its body works
 * no model and the call passes none (the TPU starters' `display_batch(batch,
 * predictions=None)`), but one whose body draws a training history is evaluate
 * however it is called (`plot_perf('Xception')`). */
static void test_display_helpers(void **state)
{
    (void)state;
    struct label_cell c[] = {
        cell("d.ipynb", "def plot_perf(name):\n    h = historys[name]\n    plt.plot(h.history['loss'])", 0, 0),
        cell("d.ipynb", "def display_batch(batch, predictions=None):\n    plt.imshow(batch[0])", 0, 0),
        cell("d.ipynb", "plot_perf('Xception')", 0, 0),
        cell("d.ipynb", "display_batch(next(iter(ds)))", 0, 0),
        cell("d.ipynb", "display_batch(batch, preds)", 0, 0),
    };
    const unsigned char stage1[] = { 1 + STAGE_EVALUATE, 1 + STAGE_EVALUATE, 0, 0, 0 };
    const unsigned char E = FLOW_CALLS_EVALUATE;
    const unsigned char want[] = { 0, 0, (1 + STAGE_EVALUATE) | E, 1 + STAGE_EXPLORE, (1 + STAGE_EVALUATE) | E };
    unsigned char out[sizeof want];
    memset(out, 9, sizeof out);
    assert_int_equal(flow_mark_helpers(c, sizeof want, stage1, 1, out), 0);
    assert_memory_equal(out, want, sizeof want);
}

/* flow_fits_model: a cell that fits reads the names it fits on as a model does */
static void test_a_cell_that_fits(void **state)
{
    (void)state;
    const char *fits[] = {"clf.fit(feats, y)\nprint(accuracy_score(y_v, clf.predict(f_v)))",
                          "h = model.fit_generator(gen, epochs=3)", "bst = xgb_model.train(params, dtrain)",
                          "m = LogisticRegression().fit(X, y)"};
    for (size_t i = 0; i < sizeof fits / sizeof *fits; i++)
        assert_int_equal(flow_fits_model(fits[i], strlen(fits[i])), 1);
    /* a transformer fitted, a resampling, a call named fit, a comment or a string are no fit */
    const char *not_fits[] = {"X = scaler.fit_transform(X)", "X_r, y_r = sm.fit_resample(X, y)",
                              "fit(X, y)", "# clf.fit(X, y)\nsub.to_csv('s.csv')", "print('.fit(')",
                              "sub['y'] = preds\nsub.to_csv('submission.csv', index=False)"};
    for (size_t i = 0; i < sizeof not_fits / sizeof *not_fits; i++)
        assert_int_equal(flow_fits_model(not_fits[i], strlen(not_fits[i])), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results_give_the_mark),
        cmocka_unit_test(test_the_mark_flows_and_ends),
        cmocka_unit_test(test_what_reading_is),
        cmocka_unit_test(test_a_column_of_results),
        cmocka_unit_test(test_a_submission_frame),
        cmocka_unit_test(test_names_are_bounded),
        cmocka_unit_test(test_mark_cells_and_statements),
        cmocka_unit_test(test_what_training_made),
        cmocka_unit_test(test_unkept_changes),
        cmocka_unit_test(test_unkept_columns),
        cmocka_unit_test(test_changes_kept_for_a_model),
        cmocka_unit_test(test_helpers_called),
        cmocka_unit_test(test_display_helpers),
        cmocka_unit_test(test_a_cell_that_fits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
