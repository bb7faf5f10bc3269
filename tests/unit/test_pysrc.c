/* test_pysrc.c — comments versus strings versus code; the stage table. */
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <stdio.h>
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

/* WANT: the assignment offsets as "3,10" ("" for none). */
static void check_assign(const char *src, const char *want)
{
    size_t pos[16], n = pysrc_assignments(src, strlen(src), pos, 16);
    char got[256] = "";
    for (size_t i = 0; i < n && i < 16; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", i ? "," : "", pos[i]);
    if (strcmp(got, want) != 0) fail_msg("assignments(\"%s\"): got \"%s\", want \"%s\"", src, got, want);
}

static void finds_statement_assignments(void **state)
{
    (void)state;
    check_assign("df = df.dropna()", "3");
    check_assign("x=1\ny = 2", "1,6");
    check_assign("a = b = c", "2,6");
    check_assign("x == 1\nx != 1\nx <= 1\nx >= 1", "");       /* comparisons */
    check_assign("y += 2\nz <<= 1\nw >>= 1\nv //= 2", "3,11,19,27");
    check_assign("f(a=1)\nd = dict(k=[v for v in w if v == 1])", "9"); /* keyword args */
    check_assign("x = (1,\n     y == 2)\nz = 3", "2,23");     /* brackets span lines */
    check_assign("s = 'a=b' \"c=d\" '''e\nf=g'''", "2");   /* strings */
    check_assign("x = 1  # y = 2", "2");                      /* comments */
    check_assign("!pip install a==1 b=2\n  %time x = 1\nq = 1", "38"); /* shell, magics */
    check_assign("x: int = 5\ndef f(a=1, *, b=2) -> int: pass", "7");
    check_assign(")) x = 1", "5");                             /* unbalanced closers */
    check_assign("", "");
    size_t pos[2];
    assert_int_equal(pysrc_assignments("a=1\nb=1\nc=1", 11, pos, 2), 3); /* counts past CAP */
    assert_int_equal(pos[0], 1);
    assert_int_equal(pos[1], 5);
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
        cmocka_unit_test(finds_statement_assignments),
        cmocka_unit_test(stage_keys),
    };
    return cmocka_run_group_tests_name("pysrc", tests, NULL, NULL);
}
