/* test_trainsplit.c — model/trainsplit.c, until now reached by the unit tests only
 * through test_train_oom's allocation failures (a mutation audit, helper 102, left
 * every mutant of its split, cap and duplicate table alive): duplicates dropped after
 * their first appearance, in order; the per-class cap a function of the seed, order
 * kept, counts before the cap; the one-stage count; the validation split taking whole
 * notebooks, at least one, never the last, FRACTION of the cells, a function of the
 * seed.
 */
#include "unit.h"

#include "model/trainsplit.h"

static void add(struct train_cells *cv, const char *src, int stage, uint64_t group)
{
    if (cv->n == cv->cap) {
        cv->cap = cv->cap ? 2 * cv->cap : 16;
        cv->v = realloc(cv->v, cv->cap * sizeof *cv->v);
        assert_non_null(cv->v);
    }
    struct train_cell *c = &cv->v[cv->n];
    memset(c, 0, sizeof *c);
    char id[32];
    snprintf(id, sizeof id, "c%zu", cv->n);
    c->id = strdup(id);
    c->src = strdup(src);
    c->len = strlen(src);
    c->stage = stage;
    c->group = group;
    c->line = cv->n++;
}

static void test_dedupe_keeps_first_appearances_in_order(void **state)
{
    (void)state;
    struct train_cells cv = { 0 };
    char src[32];
    for (int i = 0; i < 100; i++) {   /* 37 sources, 100 cells: the table grows past 16 */
        snprintf(src, sizeof src, "x = %d", i % 37);
        add(&cv, src, 0, 1);
    }
    add(&cv, "x = 1", 0, 1);
    add(&cv, "x = 1 ", 0, 1);   /* a prefix is not a duplicate */
    add(&cv, "", 0, 1);
    add(&cv, "", 0, 1);
    assert_int_equal(trainsplit_dedupe(&cv), 63 + 1 + 1);
    assert_int_equal(cv.n, 37 + 2);
    for (int i = 0; i < 37; i++) {
        snprintf(src, sizeof src, "x = %d", i);
        assert_string_equal(cv.v[i].src, src);
        assert_int_equal(cv.v[i].line, i);   /* the first appearance kept */
    }
    assert_string_equal(cv.v[37].src, "x = 1 ");
    assert_string_equal(cv.v[38].src, "");
    assert_int_equal(cv.v[38].line, 102);
    trainread_free(cv.v, cv.n);
}

static void capped(uint64_t seed, int cap, unsigned char picked[100], long *dropped)
{
    struct train_cells cv = { 0 };
    /* stage 0: 50 cells, stage 1: 5, stage 3: 20, interleaved (10, 1, 4 in every 15) */
    for (int i = 0; i < 75; i++) add(&cv, "s", i % 15 < 10 ? 0 : i % 15 < 11 ? 1 : 3, 1);
    long counts[N_STAGES];
    *dropped = trainsplit_cap(&cv, cap, seed, counts);
    assert_int_equal(counts[0], 50);
    assert_int_equal(counts[1], 5);
    assert_int_equal(counts[2], 0);
    assert_int_equal(counts[3], 20);
    for (int k = 4; k < N_STAGES; k++) assert_int_equal(counts[k], 0);
    memset(picked, 0, 100);
    long per[N_STAGES] = { 0 };
    for (size_t i = 0; i < cv.n; i++) {
        if (i) assert_true(cv.v[i].line > cv.v[i - 1].line);   /* order kept */
        picked[cv.v[i].line] = 1;
        per[cv.v[i].stage]++;
    }
    long want0 = cap > 0 && cap < 50 ? cap : 50, want1 = cap > 0 && cap < 5 ? cap : 5,
         want3 = cap > 0 && cap < 20 ? cap : 20;
    assert_int_equal(per[0], want0);
    assert_int_equal(per[1], want1);
    assert_int_equal(per[3], want3);
    assert_int_equal(*dropped, 75 - want0 - want1 - want3);
    trainread_free(cv.v, cv.n);
}

static void test_cap_is_a_seeded_sample_per_class(void **state)
{
    (void)state;
    unsigned char a[100], b[100], c[100];
    long d;
    capped(1, 0, a, &d);
    assert_int_equal(d, 0);
    capped(1, -3, a, &d);
    assert_int_equal(d, 0);
    capped(1, 1, a, &d);
    capped(1, 10, a, &d);
    capped(1, 10, b, &d);
    assert_memory_equal(a, b, 100);   /* the same seed, the same sample */
    capped(2, 10, c, &d);
    assert_memory_not_equal(a, c, 75);   /* another seed, another sample */
    int first10 = 1, last10 = 0;         /* of stage 0: not its first 10 cells, nor its last */
    for (int i = 0; i < 10; i++) first10 &= a[i];
    for (int i = 60; i < 70; i++) last10 += a[i];
    assert_false(first10);
    assert_true(last10 < 10);
}

static void test_one_stage(void **state)
{
    (void)state;
    long counts[N_STAGES] = { 0 };
    assert_int_equal(trainsplit_one_stage(counts), -1);
    counts[N_STAGES - 1] = 3;
    assert_int_equal(trainsplit_one_stage(counts), N_STAGES - 1);
    counts[0] = 1;
    assert_int_equal(trainsplit_one_stage(counts), -1);
    counts[N_STAGES - 1] = 0;
    assert_int_equal(trainsplit_one_stage(counts), 0);
}

/* NB notebooks, notebook g (1-based) of g cells, cells interleaved. */
static void notebooks(struct train_cells *cv, int nb)
{
    memset(cv, 0, sizeof *cv);
    for (int round = 0; round < nb; round++)
        for (int g = 1; g <= nb; g++)
            if (round < g) add(cv, "s", 0, 1000 + (uint64_t)g);
}

static size_t split(const struct train_cells *cv, double fraction, uint64_t seed, unsigned char *is_val)
{
    memset(is_val, 0, cv->n);
    size_t nval = trainsplit_by_notebook(cv, fraction, seed, is_val);
    size_t count = 0;
    for (size_t i = 0; i < cv->n; i++) count += is_val[i];
    assert_int_equal(nval, count);
    /* whole notebooks */
    for (size_t i = 0; i < cv->n; i++)
        for (size_t j = 0; j < cv->n; j++)
            if (cv->v[i].group == cv->v[j].group) assert_int_equal(is_val[i], is_val[j]);
    return nval;
}

static void test_split_takes_whole_notebooks_by_seed(void **state)
{
    (void)state;
    struct train_cells cv;
    notebooks(&cv, 20);   /* 210 cells */
    unsigned char v1[210], v2[210];
    int differ = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        size_t want = (size_t)(0.2 * 210 + 0.5), n = split(&cv, 0.2, seed, v1);
        /* at least WANT, and the last notebook taken was needed to get there */
        assert_true(n >= want);
        int needed = 0;
        for (int g = 1; g <= 20; g++) {
            int in = 0;
            for (size_t i = 0; i < cv.n; i++) in |= cv.v[i].group == 1000 + (uint64_t)g && v1[i];
            if (in && n - (size_t)g < want) needed = 1;
        }
        assert_true(needed);
        assert_int_equal(split(&cv, 0.2, seed, v2), n);
        assert_memory_equal(v1, v2, 210);   /* a function of the seed */
        split(&cv, 0.2, seed + 1, v2);
        differ |= memcmp(v1, v2, 210) != 0;
    }
    assert_true(differ);   /* and of nothing else: other seeds, other notebooks */
    /* a fraction that rounds to no cell still takes one notebook */
    assert_true(split(&cv, 0.001, 3, v1) > 0);
    /* all of it: every notebook but one */
    size_t n = split(&cv, 1.0, 3, v1);
    int out = 0;
    for (int g = 1; g <= 20; g++) {
        int in = 0;
        for (size_t i = 0; i < cv.n; i++) in |= cv.v[i].group == 1000 + (uint64_t)g && v1[i];
        if (!in) { out++; assert_int_equal(n, 210 - (size_t)g); }
    }
    assert_int_equal(out, 1);
    trainread_free(cv.v, cv.n);
    /* one notebook: nothing validates; two: one of them */
    notebooks(&cv, 1);
    assert_int_equal(split(&cv, 0.5, 1, v1), 0);
    trainread_free(cv.v, cv.n);
    notebooks(&cv, 2);   /* sizes 1 and 2 */
    for (uint64_t seed = 1; seed <= 6; seed++) {
        n = split(&cv, 0.9, seed, v1);
        assert_true(n == 1 || n == 2);
    }
    trainread_free(cv.v, cv.n);
    /* notebooks of one cell: exactly FRACTION of the cells, rounded to the nearest */
    static unsigned char big[1000];
    struct train_cells one = { 0 };
    for (int i = 0; i < 1000; i++) add(&one, "s", 0, 5000 + (uint64_t)i);
    static const struct { int n; double fraction; size_t want; } round[] = {
        { 10, 0.25, 3 }, { 10, 0.24, 2 }, { 10, 0.35, 4 }, { 10, 0.04, 1 },
        { 1000, 0.0014955, 1 }, { 1000, 0.0015, 2 }, { 1000, 0.2, 200 },
    };
    for (size_t k = 0; k < sizeof round / sizeof *round; k++) {
        size_t n0 = one.n;
        one.n = (size_t)round[k].n;
        assert_int_equal(split(&one, round[k].fraction, 7, big), round[k].want);
        one.n = n0;
    }
    trainread_free(one.v, one.n);
    struct train_cells none = { 0 };
    assert_int_equal(trainsplit_by_notebook(&none, 0.2, 1, v1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dedupe_keeps_first_appearances_in_order),
        cmocka_unit_test(test_cap_is_a_seeded_sample_per_class),
        cmocka_unit_test(test_one_stage),
        cmocka_unit_test(test_split_takes_whole_notebooks_by_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
