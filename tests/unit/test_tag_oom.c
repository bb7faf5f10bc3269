/* test_tag_oom.c — classifying when memory runs out: an answer that could not be had
 * (MODEL_NO_MEMORY) is never taken for a blank cell (tag removed a cell's tag and saved
 * the file, exit 0), never kept in the memo, fails the notebook on both of tag's paths,
 * and a batch whose working room cannot be had still answers every ask (a second ask
 * of the same text got nothing: a crash in tag, or a stage from an earlier notebook).
 * malloc is this binary's own, failing when asked.  The shipped model (it reads each
 * cell after its predecessor, the text whose buffer fails here). */
#include "tests/unit/unit.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "model/classcache.h"
#include "model/model.h"
#include "model/tagbatch.h"
#include "model/tagfast.h"
#include "model/tagging.h"
#include "nbformat/canonscan.h"
#include "nbformat/notebook.h"

/* The next malloc of at least malloc_fails_from bytes fails (0: none does); every one
 * while malloc_fails_all. */
static size_t malloc_fails_from;
static int malloc_fails_all;

void *malloc(size_t n)
{
    if (malloc_fails_all) {
        errno = ENOMEM;
        return NULL;
    }
    if (malloc_fails_from && n >= malloc_fails_from) {
        malloc_fails_from = 0;
        errno = ENOMEM;
        return NULL;
    }
    static void *(*real)(size_t);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "malloc");
    return real(n);
}

static nbs_model *model;

/* A cell of code of about 3,000 bytes: its context text needs a buffer of its own
 * (model_classify_after's and classcache's stack holds 2,048). */
static char long_cell[4096];

static int setup(void **state)
{
    (void)state;
    char why[256];
    model = model_load("share/default.nbsm", why, sizeof why);
    size_t at = 0;
    while (at + 60 < 3000)
        at += (size_t)snprintf(long_cell + at, sizeof long_cell - at,
                               "df['c%zu'] = df['a'].fillna(0) * 2 + df['b'].mean()\n", at);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    model_free(model);
    return 0;
}

static void no_memory_is_no_blank_answer(void **state)
{
    (void)state;
    if (!model || !model_reads_context(model)) skip();
    size_t len = strlen(long_cell);
    float probs[N_STAGES], p;
    int want = model_classify_after(model, NULL, 0, long_cell, len, probs);
    assert_true(want >= 0);
    malloc_fails_from = 2048;
    assert_int_equal(model_classify_after(model, NULL, 0, long_cell, len, probs), MODEL_NO_MEMORY);

    struct classcache *c = classcache_new(model);
    assert_non_null(c);
    malloc_fails_from = 2048;
    assert_int_equal(classcache_classify_after(c, NULL, 0, long_cell, len, &p), MODEL_NO_MEMORY);
    /* and nothing kept: asked again, the real answer */
    assert_int_equal(classcache_classify_after(c, NULL, 0, long_cell, len, &p), want);
    classcache_free(c);
}

/* Both of tag's ways through a notebook fail it, rather than remove the cell's tag. */
static void no_memory_fails_the_notebook(void **state)
{
    (void)state;
    if (!model || !model_reads_context(model)) skip();
    json_t *nb = json_pack("{s:[{s:s, s:n, s:{s:[s]}, s:[], s:s}], s:{}, s:i, s:i}", "cells",
                           "cell_type", "code", "execution_count", "metadata", "tags", "stage:prep",
                           "outputs", "source", long_cell, "metadata", "nbformat", 4, "nbformat_minor", 5);
    assert_non_null(nb);
    struct tag_options opt = {.model = model};
    struct tag_result res;
    malloc_fails_from = 2048;
    assert_int_not_equal(tag_notebook(nb, &opt, &res), 0); /* the jansson path */
    tag_result_free(&res);

    size_t len;
    char *buf = nb_dumps(nb, &len);
    json_decref(nb);
    assert_non_null(buf);
    struct tagfast tf = {0};
    int changed;
    assert_int_equal(tagfast_scan(&tf.scan, buf, len, &opt), 0);
    malloc_fails_from = 2048;
    assert_int_equal(tagfast_classify(&tf, buf, len, &opt, 1, &res, &changed), -1); /* the fast path */
    tagfast_free(&tf);
    free(buf);
}

/* tagbatch_run without room for its passes answers one cell at a time: the second ask
 * of a text (a follower of the first) is answered too. */
static void a_batch_without_room_answers_every_ask(void **state)
{
    (void)state;
    if (!model) skip();
    struct classcache *c = classcache_new(model);
    struct tagbatch *b = tagbatch_new(model, c);
    assert_non_null(b);
    const char *src = "from sklearn.linear_model import LogisticRegression\n"
                      "clf = LogisticRegression().fit(X_train, y_train)\n";
    int s1 = 777, s2 = 777;
    float p1 = -1, p2 = -1, probs[N_STAGES];
    assert_int_equal(tagbatch_ask(b, src, strlen(src), &s1, &p1), 0);
    assert_int_equal(tagbatch_ask(b, src, strlen(src), &s2, &p2), 0);
    malloc_fails_from = 1; /* the first malloc of the run: its working room */
    tagbatch_run(b, 1);
    malloc_fails_from = 0;
    int want = model_classify(model, src, strlen(src), probs);
    assert_int_equal(s1, want);
    assert_int_equal(s2, want);
    assert_true(p2 == p1);
    tagbatch_free(b);
    classcache_free(c);
}

/* model_run_many with no memory at all for its groups runs each cell alone, on the
 * stack: the same states as with (a cell left unrun got an answer from its start
 * state, which tag wrote). */
static void a_run_without_memory_runs_each_cell_alone(void **state)
{
    (void)state;
    if (!model) skip();
    int H = model_hidden(model), L = model_seq_len(model);
    enum { CELLS = 3 };
    int ids[CELLS][120], n[CELLS] = {7, 40, 120};
    const int *rows[CELLS];
    if (L < 120 || H > 256) skip();
    for (int i = 0; i < CELLS; i++) {
        for (int t = 0; t < 120; t++) ids[i][t] = 1 + (i * 131 + t * 17) % (model_vocab_ids(model) - 1);
        rows[i] = ids[i];
    }
    static float h[2][CELLS * 256], c[2][CELLS * 256];
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < CELLS; i++) model_start_state(model, n[i], h[pass] + i * H, c[pass] + i * H);
        malloc_fails_all = pass; /* every allocation fails */
        model_run_many(model, rows, n, CELLS, h[pass], c[pass]);
        malloc_fails_all = 0;
    }
    for (int i = 0; i < CELLS; i++) {
        float p0[N_STAGES], p1[N_STAGES];
        assert_int_equal(model_output(model, h[1] + i * H, p1), model_output(model, h[0] + i * H, p0));
        assert_memory_equal(p0, p1, sizeof p0);
    }
}

/* A batch's answer MODEL_NO_MEMORY is no answer the memo keeps: the source is absent
 * again, and the next batch to ask claims it and answers it. */
static void the_memo_keeps_no_answer_that_was_not_had(void **state)
{
    (void)state;
    if (!model) skip();
    struct classcache *c = classcache_new(model);
    const char *src = "model.fit(X, y)\n";
    size_t len = strlen(src);
    float p = -1;
    uint32_t rec = CLASSCACHE_NO_REC, claimer;
    int first, second, none = MODEL_NO_MEMORY, real = 2;
    float zero = 0, prob = 0.5f;
    assert_int_equal(classcache_claim(c, &first, 0, src, len, &p, &rec, &claimer), CLASSCACHE_ABSENT);
    assert_int_not_equal(rec, CLASSCACHE_NO_REC);
    classcache_answer(c, &rec, &none, &zero, 1);
    assert_int_equal(classcache_lookup(c, src, len, &p), CLASSCACHE_ABSENT);
    rec = CLASSCACHE_NO_REC;
    assert_int_equal(classcache_claim(c, &second, 7, src, len, &p, &rec, &claimer), CLASSCACHE_ABSENT);
    assert_int_not_equal(rec, CLASSCACHE_NO_REC);
    classcache_answer(c, &rec, &real, &prob, 1);
    assert_int_equal(classcache_lookup(c, src, len, &p), real);
    assert_true(p == prob);
    classcache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_memory_is_no_blank_answer),
        cmocka_unit_test(no_memory_fails_the_notebook),
        cmocka_unit_test(a_batch_without_room_answers_every_ask),
        cmocka_unit_test(a_run_without_memory_runs_each_cell_alone),
        cmocka_unit_test(the_memo_keeps_no_answer_that_was_not_had),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
