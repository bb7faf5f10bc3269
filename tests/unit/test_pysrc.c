/* test_pysrc.c — comments versus strings versus code; the stage table. */
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <string.h>

#include "labeling/stage.h"
#include "nbformat/pysrc.h"

static void check_strip(const char *in, const char *want)
{
    size_t n;
    char *out = pysrc_strip_comments(in, strlen(in), &n);
    assert_non_null(out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    free(out);
}

static void strips_comments_not_strings(void **state)
{
    (void)state;
    check_strip("x = 1  # model.fit(X)\ny = 2", "x = 1  \ny = 2");
    check_strip("s = '# not a comment'  # a comment", "s = '# not a comment'  ");
    check_strip("s = \"a\\\"#b\" # c", "s = \"a\\\"#b\" ");
    check_strip("d = '''\n# inside\n''' # out\n", "d = '''\n# inside\n''' \n");
    check_strip("p = rb'#x' + f\"{a}#\"", "p = rb'#x' + f\"{a}#\"");
    check_strip("# only\n# comments", "\n");
    check_strip("bar'#'#c", "bar'#'");
    check_strip("s = 'unterminated # x\ny = 1 # z", "s = 'unterminated # x\ny = 1 ");
}

static void blank_cells(void **state)
{
    (void)state;
    assert_true(pysrc_is_blank("", 0));
    assert_true(pysrc_is_blank("  \n\t\n", 5));
    assert_true(pysrc_is_blank("# a\n  # b\n", 10));
    assert_false(pysrc_is_blank("# a\nx", 5));
    assert_false(pysrc_is_blank("%matplotlib inline", 18));
}

static void stage_keys(void **state)
{
    (void)state;
    assert_int_equal(stage_from_key("load"), STAGE_LOAD);
    assert_int_equal(stage_from_key("imports"), STAGE_IMPORTS);
    assert_int_equal(stage_from_key("none"), STAGE_NONE);
    assert_int_equal(stage_from_key("nope"), -2);
    for (int s = 0; s < N_STAGES; s++) assert_int_equal(stage_from_key(stage_key[s]), s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strips_comments_not_strings),
        cmocka_unit_test(blank_cells),
        cmocka_unit_test(stage_keys),
    };
    return cmocka_run_group_tests_name("pysrc", tests, NULL, NULL);
}
