/* test_cellchain.c — which cell the kernel reads each executed cell after
 * (kernel/cellchain.h): the cell run before it; a cell run again (the same cellId, or
 * without ids the same code) after what it was read after the last time; after an
 * abort, the last cell that started; code without history after the last cell. */
#include "tests/unit/unit.h"

#include "kernel/cellchain.h"

struct run {
    struct cellchain *c;
    struct chain_cell *cells[16];
    int n;
};

/* Asks for CODE (cell id ID), checks it is read after WANT (NULL: nothing) and keeps
 * its record; returns its index. */
static int ask(struct run *r, const char *id, const char *code, const char *want)
{
    const char *before;
    size_t blen;
    struct chain_cell *cell = cellchain_ask(r->c, id, code, strlen(code), &before, &blen);
    assert_non_null(cell);
    if (!want) {
        assert_null(before);
        assert_int_equal(blen, 0);
    } else {
        assert_non_null(before);
        assert_int_equal(blen, strlen(want));
        assert_memory_equal(before, want, blen);
    }
    r->cells[r->n] = cell;
    return r->n++;
}

static void start(struct run *r) { r->c = cellchain_new(); assert_non_null(r->c); }

static void end(struct run *r)
{
    for (int i = 0; i < r->n; i++) chain_cell_free(r->cells[i]);
    cellchain_free(r->c);
}

/* asks, each started at once, as cells run one by one */
static int run1(struct run *r, const char *id, const char *code, const char *want)
{
    int k = ask(r, id, code, want);
    cellchain_started(r->c, r->cells[k]);
    return k;
}

static void each_cell_after_the_one_before(void **state)
{
    (void)state;
    struct run r = {0};
    start(&r);
    const char *code;
    size_t len;
    cellchain_last(r.c, &code, &len);
    assert_null(code);
    run1(&r, "", "import pandas as pd", NULL);
    run1(&r, "", "df = pd.read_csv('a.csv')", "import pandas as pd");
    run1(&r, "", "df.head()", "df = pd.read_csv('a.csv')");
    /* code without history is read after the last cell, and moves nothing */
    cellchain_last(r.c, &code, &len);
    assert_int_equal(len, strlen("df.head()"));
    assert_memory_equal(code, "df.head()", len);
    run1(&r, "", "df.describe()", "df.head()");
    end(&r);
}

static void a_cell_run_again_is_read_as_the_last_time(void **state)
{
    (void)state;
    struct run r = {0};
    start(&r);
    /* without ids: the same code */
    run1(&r, "", "model.fit(X, y)", NULL);
    run1(&r, "", "result", "model.fit(X, y)");
    run1(&r, "", "result", "model.fit(X, y)");
    run1(&r, "", "result", "model.fit(X, y)");
    run1(&r, "", "other", "result");
    /* with ids: the same cell, edited */
    run1(&r, "c1", "df = load()", "other");
    run1(&r, "c2", "df.head()", "df = load()");
    run1(&r, "c2", "df.head(10)", "df = load()");
    run1(&r, "c2", "df.tail(10)", "df = load()");
    run1(&r, "c3", "df.tail(10)", "df.tail(10)"); /* the same code in another cell */
    /* one side without an id: the code decides */
    run1(&r, "", "df.tail(10)", "df.tail(10)");
    run1(&r, "", "x", "df.tail(10)");
    end(&r);
}

static void after_an_abort_the_last_cell_that_started(void **state)
{
    (void)state;
    struct run r = {0};
    start(&r);
    /* Run All: a, b run; c fails; d and e were queued behind it and are aborted */
    run1(&r, "a", "import numpy as np", NULL);
    run1(&r, "b", "x = np.load('x.npy')", "import numpy as np");
    int c = ask(&r, "c", "model.fit(x)", "x = np.load('x.npy')");
    int d = ask(&r, "d", "pred = model.predict(x)", "model.fit(x)");
    int e = ask(&r, "e", "score(pred)", "pred = model.predict(x)");
    cellchain_started(r.c, r.cells[c]);
    cellchain_aborted(r.c, r.cells[d]); /* not the last asked: nothing yet */
    cellchain_aborted(r.c, r.cells[e]);
    /* the failing cell, fixed and run again: as it was read the first time */
    run1(&r, "c", "model = fit(x)", "x = np.load('x.npy')");
    run1(&r, "d", "pred = model.predict(x)", "model = fit(x)");
    /* without ids the fixed cell is new code: read after the cell that failed */
    struct run s = {0};
    start(&s);
    run1(&s, "", "a = 1", NULL);
    int f = ask(&s, "", "b = a / 0", "a = 1");
    int g = ask(&s, "", "c = b", "b = a / 0");
    cellchain_started(s.c, s.cells[f]);
    cellchain_aborted(s.c, s.cells[g]);
    run1(&s, "", "b = a / 1", "b = a / 0");
    /* the same code again after an abort: as it was read */
    int h = ask(&s, "", "d = 4", "b = a / 1");
    cellchain_aborted(s.c, s.cells[h]); /* never started; b = a / 1 ran last */
    run1(&s, "", "b = a / 1", "b = a / 0");
    end(&s);
    end(&r);
}

static void an_abort_with_nothing_run_leaves_no_predecessor(void **state)
{
    (void)state;
    struct run r = {0};
    start(&r);
    int a = ask(&r, "", "1/0", NULL);
    int b = ask(&r, "", "y = 2", "1/0");
    cellchain_aborted(r.c, r.cells[a]); /* not the last asked */
    cellchain_aborted(r.c, r.cells[b]);
    run1(&r, "", "z = 3", NULL);
    /* a record that started is never an abort's, nor started twice */
    int z = r.n - 1;
    cellchain_aborted(r.c, r.cells[z]);
    cellchain_started(r.c, r.cells[z]);
    int w = ask(&r, "", "w = 4", "z = 3");
    cellchain_aborted(r.c, r.cells[w]); /* back to z = 3, the last that started */
    run1(&r, "", "v = 5", "z = 3");
    end(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_cell_after_the_one_before),
        cmocka_unit_test(a_cell_run_again_is_read_as_the_last_time),
        cmocka_unit_test(after_an_abort_the_last_cell_that_started),
        cmocka_unit_test(an_abort_with_nothing_run_leaves_no_predecessor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
