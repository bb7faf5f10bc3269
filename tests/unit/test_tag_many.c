/* test_tag_many.c — a cell with tens of thousands of stage: tags or tag outputs
 * (model/tagging.c): they are removed, the rest kept in order, in one pass.  Each
 * json_array_remove moved the array's whole tail, and a cell with 400,000 stage: tags
 * took 15 s to tag: json_array_remove is this binary's own here, counting the elements
 * each call moves, so that the test asserts a count, not a time. */
#include "tests/unit/unit.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "model/stage_output.h"
#include "model/tagging.h"

static size_t moved; /* elements the removals moved down */

/* jansson's, after counting what it moves (this binary's definition is the one
 * tagging.c links to). */
int json_array_remove(json_t *array, size_t index)
{
    static int (*real)(json_t *, size_t);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "json_array_remove");
    size_t n = json_array_size(array);
    if (index + 1 < n) moved += n - index - 1;
    return real(array, index);
}

#define N 20000

/* A code cell whose tags are "keep<i>" and "stage:load" by turns, N in all. */
static json_t *cell_with_stage_tags(void)
{
    json_t *tags = json_array();
    char buf[32];
    for (int i = 0; i < N; i++) {
        snprintf(buf, sizeof buf, i % 2 ? "keep%d" : "stage:load", i / 2);
        json_array_append_new(tags, json_string(buf));
    }
    json_t *c = json_pack("{s:s, s:n, s:{s:o}, s:[], s:s}", "cell_type", "code",
                          "execution_count", "metadata", "tags", tags, "outputs", "source",
                          "model.fit(X, y)");
    assert_non_null(c);
    return c;
}

/* TAGS is FIRST (NULL for none), then keep0 ... keep<N/2 - 1>. */
static void assert_kept_in_order(const json_t *tags, const char *first)
{
    size_t off = first ? 1 : 0;
    assert_int_equal(json_array_size(tags), N / 2 + off);
    if (first) assert_string_equal(json_string_value(json_array_get(tags, 0)), first);
    char buf[32];
    for (size_t i = 0; i < N / 2; i++) {
        snprintf(buf, sizeof buf, "keep%zu", i);
        assert_string_equal(json_string_value(json_array_get(tags, i + off)), buf);
    }
}

static void many_stage_tags_replaced_in_one_pass(void **state)
{
    (void)state;
    json_t *c = cell_with_stage_tags();
    struct cell_tag train = {STAGE_TRAIN, 0.93, "m1"};
    assert_int_equal(tag_compare(c, &train), TAG_STALE);
    moved = 0;
    assert_int_equal(tag_apply(c, &train), 0);
    /* the new tag where the first stage: tag was, every other tag kept in order */
    assert_kept_in_order(json_object_get(json_object_get(c, "metadata"), "tags"), "stage:train");
    assert_int_equal(tag_compare(c, &train), TAG_SAME);
    /* one element moved at most once: the old removals moved ~75,000,000 */
    assert_true(moved <= N);
    json_decref(c);

    /* a blank cell loses them all, its other tags kept */
    c = cell_with_stage_tags();
    struct cell_tag none = {STAGE_NONE, 0, "m1"};
    moved = 0;
    assert_int_equal(tag_apply(c, &none), 0);
    assert_kept_in_order(json_object_get(json_object_get(c, "metadata"), "tags"), NULL);
    assert_true(moved <= N);
    json_decref(c);
}

static void many_tag_outputs_stripped_in_one_pass(void **state)
{
    (void)state;
    json_t *outs = json_array();
    char buf[64];
    for (int i = 0; i < N; i++) {
        if (i % 2) {
            snprintf(buf, sizeof buf, "line %d\n", i / 2);
            json_array_append_new(outs, json_pack("{s:s, s:s, s:s}", "output_type", "stream",
                                                  "name", "stdout", "text", buf));
        } else {
            json_array_append_new(outs, json_pack("{s:s, s:{s:{s:s, s:f}}, s:{}}", "output_type",
                                                  "display_data", "data", STAGE_MIME, "stage",
                                                  "train", "confidence", 0.9, "metadata"));
        }
    }
    json_t *c = json_pack("{s:s, s:n, s:{}, s:o, s:s}", "cell_type", "code", "execution_count",
                          "metadata", "outputs", outs, "source", "model.fit(X, y)");
    assert_non_null(c);
    moved = 0;
    assert_int_equal(tag_strip_outputs(c), N / 2);
    assert_int_equal(json_array_size(outs), N / 2);
    for (size_t i = 0; i < N / 2; i++) {
        snprintf(buf, sizeof buf, "line %zu\n", i);
        json_t *o = json_array_get(outs, i);
        assert_string_equal(json_string_value(json_object_get(o, "output_type")), "stream");
        assert_string_equal(json_string_value(json_object_get(o, "text")), buf);
    }
    assert_true(moved <= N);
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(many_stage_tags_replaced_in_one_pass),
        cmocka_unit_test(many_tag_outputs_stripped_in_one_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
