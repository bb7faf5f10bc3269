/* test_tag.c — the tagging rules (model/tagging.c) and the in-order thread pool
 * (model/workers.c): adding, replacing and removing tags, the change kinds --check
 * and --dry-run report, reading and stripping the kernel's tag outputs, a whole
 * notebook tagged with a real (small, untrained) model twice, and delivery order. */
#include "tests/unit/unit.h"
#include "tests/unit/unit_model.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/stage_output.h"
#include "model/tagging.h"
#include "model/workers.h"
#include "nbformat/notebook.h"
#include "nbformat/pysrc.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j) fail_msg("bad test JSON: %s", e.text);
    return j;
}

static json_t *code_cell(const char *src, const char *metadata)
{
    json_t *c = json_pack("{s:s, s:n, s:o, s:[], s:s}", "cell_type", "code", "execution_count",
                          "metadata", parse(metadata), "outputs", "source", src);
    assert_non_null(c);
    return c;
}

/* The cell's metadata in canonical JSON, for exact comparisons. */
static char *meta_text(const json_t *cell)
{
    return json_dumps(json_object_get(cell, "metadata"), JSON_COMPACT | JSON_SORT_KEYS);
}

static void assert_meta(const json_t *cell, const char *want)
{
    char *got = meta_text(cell);
    json_t *w = parse(want);
    char *wtext = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
    if (strcmp(got, wtext)) fail_msg("metadata\n got: %s\nwant: %s", got, wtext);
    free(got);
    free(wtext);
    json_decref(w);
}

static void test_round(void **state)
{
    (void)state;
    assert_true(tag_round(0.93149) == 0.931);
    assert_true(tag_round(0.9996) == 1.0);
    assert_true(tag_round(1.7) == 1.0);
    assert_true(tag_round(-0.2) == 0.0);
    assert_true(tag_round(NAN) == 0.0);
    /* every rounded value prints short and reads back as the same double */
    for (int i = 0; i <= 100000; i++) {
        double p = tag_round((double)i / 100000.0 + 1e-7);
        json_t *arr = json_pack("[f]", p);
        size_t len;
        char *s = nb_dumps(arr, &len);
        assert_true(len <= 12); /* "[\n 0.123\n]\n" */
        json_t *back = json_loads(s, 0, NULL);
        assert_true(json_real_value(json_array_get(back, 0)) == p);
        json_decref(back);
        json_decref(arr);
        free(s);
    }
}

static void test_apply_adds_and_replaces(void **state)
{
    (void)state;
    struct cell_tag train = {STAGE_TRAIN, 0.93, "m1"};
    json_t *c = code_cell("model.fit(X, y)", "{}");
    assert_int_equal(tag_compare(c, &train), TAG_MISSING);
    assert_int_equal(tag_apply(c, &train), 0);
    assert_meta(c, "{\"tags\": [\"stage:train\"], \"workflow_stage\": {\"stage\": \"train\", "
                   "\"confidence\": 0.93, \"model\": \"m1\"}}");
    assert_int_equal(tag_compare(c, &train), TAG_SAME);
    json_decref(c);

    /* an older stage tag is replaced where it stood; other tags and keys are kept */
    c = code_cell("model.fit(X, y)",
                  "{\"collapsed\": true, \"tags\": [\"a\", \"stage:prep\", \"b\", \"stage:load\"],"
                  " \"workflow_stage\": {\"stage\": \"prep\", \"confidence\": 0.5, \"model\": "
                  "\"m0\"}}");
    assert_int_equal(tag_compare(c, &train), TAG_STALE);
    assert_int_equal(tag_apply(c, &train), 0);
    assert_meta(c, "{\"collapsed\": true, \"tags\": [\"a\", \"stage:train\", \"b\"], "
                   "\"workflow_stage\": {\"stage\": \"train\", \"confidence\": 0.93, "
                   "\"model\": \"m1\"}}");
    assert_int_equal(tag_compare(c, &train), TAG_SAME);
    json_decref(c);

    /* "tags" that is not a list is the user's: never replaced (it was, by a list of the
     * stage tag alone); tag refuses such a notebook first (tag_tags_not_a_list_of_strings) */
    c = code_cell("x", "{\"tags\": \"mine\"}");
    assert_int_equal(tag_apply(c, &train), -1);
    assert_meta(c, "{\"tags\": \"mine\"}");
    json_decref(c);
}

static void test_blank_loses_tag(void **state)
{
    (void)state;
    struct cell_tag none = {STAGE_NONE, 0, NULL};
    json_t *c = code_cell("# only a comment\n",
                          "{\"tags\": [\"stage:load\"], \"workflow_stage\": {\"stage\": "
                          "\"load\", \"confidence\": 0.9, \"model\": \"m\"}}");
    assert_int_equal(tag_compare(c, &none), TAG_REMOVE);
    assert_int_equal(tag_apply(c, &none), 0);
    assert_meta(c, "{}"); /* the list emptied by the removal goes too */
    assert_int_equal(tag_compare(c, &none), TAG_SAME);
    json_decref(c);

    c = code_cell("", "{\"tags\": [\"keep\", \"stage:load\"]}");
    assert_int_equal(tag_compare(c, &none), TAG_REMOVE);
    assert_int_equal(tag_apply(c, &none), 0);
    assert_meta(c, "{\"tags\": [\"keep\"]}");
    json_decref(c);

    /* an empty list the user had stays */
    c = code_cell("", "{\"tags\": []}");
    assert_int_equal(tag_compare(c, &none), TAG_SAME);
    assert_int_equal(tag_apply(c, &none), 0);
    assert_meta(c, "{\"tags\": []}");
    json_decref(c);
}

static void test_compare_kinds(void **state)
{
    (void)state;
    struct cell_tag want = {STAGE_EXPLORE, 0.8, "m"};
    const char *ws = "\"workflow_stage\": {\"stage\": \"explore\", \"confidence\": 0.8, "
                     "\"model\": \"m\"}";
    char buf[512];
    struct {
        const char *meta;
        enum tag_change kind;
    } cases[] = {
        {"{\"tags\": [\"stage:explore\"], %s}", TAG_SAME},
        {"{\"tags\": [\"stage:explore\", \"stage:explore\"], %s}", TAG_STALE},
        {"{\"tags\": [\"stage:train\"], %s}", TAG_STALE},
        {"{\"tags\": [\"stage:bogus\"], %s}", TAG_STALE},
        {"{%s}", TAG_STALE},                       /* metadata without its tag */
        {"{\"tags\": [\"stage:explore\"]}", TAG_STALE}, /* tag without metadata */
        {"{\"tags\": [\"other\"]}", TAG_MISSING},
        {"{\"tags\": [\"stage:explore\"], \"workflow_stage\": {\"stage\": \"explore\", "
         "\"confidence\": 0.7, \"model\": \"m\"}}", TAG_REFRESH},
        {"{\"tags\": [\"stage:explore\"], \"workflow_stage\": {\"stage\": \"explore\", "
         "\"confidence\": 0.8, \"model\": \"m2\"}}", TAG_REFRESH},
        {"{\"tags\": [\"stage:explore\"], \"workflow_stage\": {\"stage\": \"explore\", "
         "\"confidence\": 0.8, \"model\": \"m\", \"extra\": 1}}", TAG_REFRESH},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(buf, sizeof buf, cases[i].meta, ws);
        json_t *c = code_cell("df.describe()", buf);
        if (tag_compare(c, &want) != cases[i].kind)
            fail_msg("case %zu (%s): got %d, want %d", i, buf, tag_compare(c, &want),
                     cases[i].kind);
        assert_int_equal(tag_apply(c, &want), 0);
        assert_int_equal(tag_compare(c, &want), TAG_SAME);
        json_decref(c);
    }
    /* a confidence of 1.0 written 1, as JavaScript writes it (the kernel's tag saved by
     * Notebook 6): the same number, nothing to refresh */
    struct cell_tag sure = {STAGE_EXPLORE, 1.0, "m"};
    json_t *one = code_cell("df.describe()", "{\"tags\": [\"stage:explore\"], \"workflow_stage\": "
                                             "{\"stage\": \"explore\", \"confidence\": 1, \"model\": \"m\"}}");
    assert_int_equal(tag_compare(one, &sure), TAG_SAME);
    sure.confidence = 0.999;
    assert_int_equal(tag_compare(one, &sure), TAG_REFRESH);
    json_decref(one);
    /* TAG_KEEP leaves anything alone */
    struct cell_tag keep = {TAG_KEEP, 0, NULL};
    json_t *c = code_cell("x", "{\"tags\": [\"stage:train\", \"stage:load\"]}");
    assert_int_equal(tag_compare(c, &keep), TAG_SAME);
    assert_int_equal(tag_apply(c, &keep), 0);
    assert_meta(c, "{\"tags\": [\"stage:train\", \"stage:load\"]}");
    double conf;
    assert_int_equal(tag_current(c, &conf), STAGE_TRAIN);
    assert_true(conf == -1);
    json_decref(c);
}

static const char *stage_output_json =
    "{\"output_type\": \"display_data\", \"data\": {\"text/plain\": \"stage: train (93%)\", "
    "\"" STAGE_MIME "\": {\"stage\": \"train\", \"confidence\": 0.93456, \"model\": "
    "\"nbstage-lstm-x\"}}, \"metadata\": {\"nbstage\": {\"stage\": \"train\", \"confidence\": "
    "0.93456, \"model\": \"nbstage-lstm-x\"}}}";

static void test_outputs(void **state)
{
    (void)state;
    json_t *c = code_cell("model.fit(X, y)", "{}");
    json_t *outs = json_object_get(c, "outputs");
    json_array_append_new(outs, parse("{\"output_type\": \"stream\", \"name\": \"stdout\", "
                                      "\"text\": \"Epoch 1\"}"));
    json_array_append_new(outs, parse(stage_output_json));
    json_array_append_new(outs, parse("{\"output_type\": \"display_data\", \"data\": "
                                      "{\"text/plain\": \"x\"}, \"metadata\": {}}"));
    /* tag outputs whose payload cannot be read (hand-edited): no stage from them, but
     * removed with the others; then a look-alike that is no tag output (a stream) */
    json_array_append_new(outs, parse("{\"output_type\": \"display_data\", \"data\": {\"" STAGE_MIME
                                      "\": {\"stage\": \"bogus\", \"confidence\": 0.5}}, "
                                      "\"metadata\": {}}"));
    json_array_append_new(outs, parse("{\"output_type\": \"display_data\", \"data\": {\"" STAGE_MIME
                                      "\": {\"stage\": \"load\", \"confidence\": 7}}, "
                                      "\"metadata\": {}}"));
    json_array_append_new(outs, parse("{\"output_type\": \"stream\", \"name\": \"stdout\", "
                                      "\"metadata\": {\"nbstage\": {\"stage\": \"load\", "
                                      "\"confidence\": 0.5}}, \"text\": \"\"}"));
    struct cell_tag want;
    assert_int_equal(tag_from_outputs(c, &want), 0);
    assert_int_equal(want.stage, STAGE_TRAIN);
    assert_true(want.confidence == 0.935);
    assert_string_equal(want.model, "nbstage-lstm-x");
    assert_int_equal(tag_strip_outputs(c), 3);
    assert_int_equal(json_array_size(outs), 3);
    assert_int_equal(tag_from_outputs(c, &want), -1);
    assert_int_equal(tag_strip_outputs(c), 0);
    json_decref(c);

    /* tag outputs, none readable: -2 (the cell keeps its tags, and tag says so) */
    c = code_cell("df.head()", "{}");
    json_array_append_new(json_object_get(c, "outputs"),
                          parse("{\"output_type\": \"display_data\", \"data\": {\"" STAGE_MIME
                                "\": \"{\\\"stage\\\": \\\"tra\"}, \"metadata\": {}}"));
    assert_int_equal(tag_from_outputs(c, &want), -2);
    assert_int_equal(tag_strip_outputs(c), 1);
    assert_int_equal(tag_from_outputs(c, &want), -1);
    json_decref(c);

    /* metadata.nbstage alone (a frontend that dropped the custom mime type) */
    c = code_cell("df.head()", "{}");
    json_array_append_new(json_object_get(c, "outputs"),
                          parse("{\"output_type\": \"display_data\", \"data\": {\"text/plain\": "
                                "\"stage: explore\"}, \"metadata\": {\"nbstage\": {\"stage\": "
                                "\"explore\", \"confidence\": 0.5}}}"));
    assert_int_equal(tag_from_outputs(c, &want), 0);
    assert_int_equal(want.stage, STAGE_EXPLORE);
    assert_string_equal(want.model, "nbstage-kernel");
    json_decref(c);
}

static void test_notebook_from_outputs(void **state)
{
    (void)state;
    json_t *nb = parse("{\"cells\": [], \"metadata\": {}, \"nbformat\": 4, \"nbformat_minor\": 5}");
    json_t *cells = json_object_get(nb, "cells");
    json_t *c0 = code_cell("model.fit(X, y)\nmodel.score(X, y)\n# done\n", "{}");
    json_array_append_new(json_object_get(c0, "outputs"), parse(stage_output_json));
    json_array_append_new(cells, c0);
    json_array_append_new(cells, parse("{\"cell_type\": \"markdown\", \"metadata\": {\"tags\": "
                                       "[\"stage:load\"]}, \"source\": \"# Title\"}"));
    json_array_append_new(cells, code_cell("df.head()", "{\"tags\": [\"stage:explore\"]}"));
    json_array_append_new(cells, code_cell("  \n# nothing\n", "{\"tags\": [\"stage:load\"]}"));
    struct tag_options opt = {.from_outputs = 1, .strip_outputs = 1, .record = 1, .count_lines = 1};
    struct tag_result res;
    assert_int_equal(tag_notebook(nb, &opt, &res), 0);
    assert_int_equal(res.code_cells, 3);
    assert_int_equal(res.tagged, 2);  /* the train cell, and the explore cell kept */
    assert_int_equal(res.kept, 1);
    assert_int_equal(res.blank, 1);
    assert_int_equal(res.missing, 1);
    assert_int_equal(res.removed, 1);
    assert_int_equal(res.outputs_stripped, 1);
    assert_int_equal(res.per_stage[STAGE_TRAIN], 1);
    assert_int_equal(res.per_stage[STAGE_EXPLORE], 1);
    assert_int_equal(res.lines[STAGE_TRAIN], 2);
    assert_int_equal(res.noncode_cleared, 1);
    assert_int_equal(tag_findings(&res), 3);
    assert_int_equal(res.n_changes, 2);
    assert_int_equal(res.changes[0].cell, 0);
    assert_int_equal(res.changes[0].kind, TAG_MISSING);
    assert_int_equal(res.changes[1].cell, 2); /* among the code cells, from 0 */
    assert_int_equal(res.changes[1].kind, TAG_REMOVE);
    assert_int_equal(res.changes[1].old_stage, STAGE_LOAD);
    tag_result_free(&res);
    /* the markdown cell had a stage (a code cell once): only code cells have one */
    assert_meta(json_array_get(cells, 1), "{}");
    assert_int_equal(json_array_size(json_object_get(json_array_get(cells, 0), "outputs")), 0);
    json_decref(nb);
}

static void test_notebook_with_model_twice(void **state)
{
    (void)state;
    nbs_model *m = unit_small_model(7, "test_tag"); /* random weights: the plumbing is what matters */
    json_t *nb = parse("{\"cells\": [], \"metadata\": {}, \"nbformat\": 4, \"nbformat_minor\": 5}");
    json_t *cells = json_object_get(nb, "cells");
    const char *srcs[] = {"import pandas as pd\nimport numpy as np", "df = pd.read_csv('x')",
                          "df.head()", "", "# comment", "model.fit(x, y)", "print(df.shape)",
                          "plt.plot(x)\nplt.show()"};
    for (size_t i = 0; i < sizeof srcs / sizeof srcs[0]; i++)
        json_array_append_new(cells, code_cell(srcs[i], i == 2 ? "{\"tags\": [\"mine\", "
                                                                 "\"stage:bogus\"]}"
                                                               : "{}"));
    struct tag_options opt = {.model = m};
    struct tag_result res;
    assert_int_equal(tag_notebook(nb, &opt, &res), 0);
    assert_int_equal(res.code_cells, 8);
    assert_int_equal(res.tagged, 6);
    assert_int_equal(res.blank, 2);
    assert_int_equal(res.missing, 5);
    assert_int_equal(res.stale, 1);
    long sum = 0;
    for (int s = 0; s < N_STAGES; s++) sum += res.per_stage[s];
    assert_int_equal(sum, 6);
    size_t len1, len2;
    char *once = nb_dumps(nb, &len1);
    /* every tagged cell: workflow_stage of this model, one stage tag agreeing with it */
    for (size_t i = 0; i < 8; i++) {
        json_t *cell = json_array_get(cells, i);
        double conf;
        int s = tag_current(cell, &conf);
        if (i == 3 || i == 4) {
            assert_int_equal(s, STAGE_NONE);
            continue;
        }
        assert_true(s >= 0);
        assert_true(conf >= 0 && conf <= 1 && conf == tag_round(conf));
        json_t *ws = json_object_get(json_object_get(cell, "metadata"), "workflow_stage");
        assert_string_equal(json_string_value(json_object_get(ws, "model")), model_name(m));
    }
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_object_get(json_array_get(cells, 2), "metadata"),
                                            "tags"), 0)),
                        "mine");
    tag_result_free(&res);
    /* the second run changes nothing, to the byte */
    assert_int_equal(tag_notebook(nb, &opt, &res), 0);
    assert_int_equal(res.missing + res.stale + res.removed + res.refreshed, 0);
    char *twice = nb_dumps(nb, &len2);
    assert_int_equal(len1, len2);
    assert_memory_equal(once, twice, len1);
    free(once);
    free(twice);
    tag_result_free(&res);
    json_decref(nb);
    model_free(m);
}

static void test_code_lines(void **state)
{
    (void)state;
    const char *s = "import os\n\n# comment\nx = '#not a comment'  # but this is\n   \n\tprint(x)";
    assert_int_equal(tag_code_lines(s, strlen(s)), 3);
    assert_int_equal(tag_code_lines("", 0), 0);
    assert_int_equal(tag_code_lines("x", 1), 1);
    s = "s = '''\n\n'''\n";
    assert_int_equal(tag_code_lines(s, strlen(s)), 2);
    /* old Mac line ends (a lone '\r') end lines too; "\r\n" is one end */
    s = "# load\rx = 1\ry = 2\r";
    assert_int_equal(tag_code_lines(s, strlen(s)), 2);
    s = "# load\r\nx = 1\r\n\r\ny = 2\r\n";
    assert_int_equal(tag_code_lines(s, strlen(s)), 2);
    /* a line of Python's other white space (U+00A0 pasted from a web page, a full-width
     * U+3000) is no code, as a cell of it alone is blank (pysrc_is_blank): it counted */
    s = "x = 1\n\xc2\xa0\n\xe3\x80\x80 \n\t\xc2\xa0# c\ny = '\xc2\xa0'";
    assert_true(pysrc_is_blank("\xc2\xa0\n\xe3\x80\x80", 6));
    assert_int_equal(tag_code_lines(s, strlen(s)), 2);
}

/* ---- workers */

struct order_ctx {
    size_t n, next;
    int *runs;
    int bad_order;
    pthread_mutex_t lock;
};

static void job(size_t i, void *vctx)
{
    struct order_ctx *c = vctx;
    if (i % 7 == 0) usleep(200); /* some slow jobs, so completion order differs */
    pthread_mutex_lock(&c->lock);
    c->runs[i]++;
    pthread_mutex_unlock(&c->lock);
}

static void done(size_t i, void *vctx)
{
    struct order_ctx *c = vctx;
    if (i != c->next || c->runs[i] != 1) c->bad_order = 1;
    c->next++;
}

static void test_workers_in_order(void **state)
{
    (void)state;
    int threads[] = {1, 2, 4, 16};
    size_t sizes[] = {0, 1, 3, 1000};
    for (size_t t = 0; t < 4; t++)
        for (size_t k = 0; k < 4; k++) {
            struct order_ctx c = {.n = sizes[k], .runs = calloc(sizes[k] + 1, sizeof(int))};
            pthread_mutex_init(&c.lock, NULL);
            int used = workers_run(threads[t], c.n, job, done, &c);
            assert_true(used >= 1 && used <= threads[t]);
            assert_int_equal(c.next, c.n);
            assert_false(c.bad_order);
            pthread_mutex_destroy(&c.lock);
            free(c.runs);
        }
    assert_true(workers_default() >= 1);
}

/* The bound workers.h promises: job I starts only once delivery is within a window
 * (8 per thread) of it, also when delivery is woken in batches and is itself slow
 * (done sleeping now and then, so workers wait for room). */
struct bound_ctx {
    size_t delivered; /* read by the workers: atomics */
    size_t window;
    int over, bad_order;
};

static void bound_job(size_t i, void *vctx)
{
    struct bound_ctx *c = vctx;
    if (i >= __atomic_load_n(&c->delivered, __ATOMIC_ACQUIRE) + c->window)
        __atomic_store_n(&c->over, 1, __ATOMIC_RELAXED);
    if (i % 13 == 0) usleep(100);
}

static void bound_done(size_t i, void *vctx)
{
    struct bound_ctx *c = vctx;
    if (i != __atomic_load_n(&c->delivered, __ATOMIC_RELAXED)) c->bad_order = 1;
    if (i % 17 == 0) usleep(300);
    __atomic_store_n(&c->delivered, i + 1, __ATOMIC_RELEASE);
}

static void test_workers_window_bound(void **state)
{
    (void)state;
    int threads[] = {2, 3, 8};
    for (size_t t = 0; t < 3; t++) {
        struct bound_ctx c = {.window = (size_t)threads[t] * 8};
        workers_run(threads[t], 700, bound_job, bound_done, &c);
        assert_int_equal(c.delivered, 700);
        assert_false(c.bad_order);
        assert_false(__atomic_load_n(&c.over, __ATOMIC_RELAXED));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round),
        cmocka_unit_test(test_apply_adds_and_replaces),
        cmocka_unit_test(test_blank_loses_tag),
        cmocka_unit_test(test_compare_kinds),
        cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_notebook_from_outputs),
        cmocka_unit_test(test_notebook_with_model_twice),
        cmocka_unit_test(test_code_lines),
        cmocka_unit_test(test_workers_in_order),
        cmocka_unit_test(test_workers_window_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
