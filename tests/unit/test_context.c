/* test_context.c — the text a context model reads (model/context.h): Python's
 * definition of the experiment that chose it ("\n".join(the last 3 code lines of the
 * predecessor) + "\n" + word + "\n" + cell), a blank cell read alone, the cursor and
 * the trail skipping blank and comment-only cells as ingest does, the trail's notebooks
 * and its pointers' lifetime, and the two-step form equal to the one-call form. */
#include "tests/unit/unit.h"

#include "model/context.h"

/* The text for SRC after PREV (NULL: none), as a fresh string. */
static char *text_of(const char *prev, const char *src)
{
    char *buf = NULL;
    size_t cap = 0;
    size_t n = context_text(prev, prev ? strlen(prev) : 0, src, strlen(src), &buf, &cap);
    assert_true(n != (size_t)-1);
    assert_int_equal(n, strlen(buf));
    /* the two-step form gives the same bytes */
    struct context_plan pl;
    assert_int_equal(context_plan(&pl, prev, prev ? strlen(prev) : 0, src, strlen(src)), n);
    char *two = malloc(n + 1);
    context_plan_put(&pl, two, prev, src, strlen(src));
    assert_string_equal(two, buf);
    free(two);
    return buf;
}

static void expect(const char *prev, const char *src, const char *want)
{
    char *got = text_of(prev, src);
    assert_string_equal(got, want);
    free(got);
}

static void the_last_three_code_lines_then_the_word(void **state)
{
    (void)state;
    /* the first cell: the word alone before it */
    expect(NULL, "df.head()", "nbstagectx\ndf.head()");
    /* fewer than three lines: all of them */
    expect("import pandas as pd", "df.head()", "import pandas as pd\nnbstagectx\ndf.head()");
    /* blank lines, comment lines (indented too) and a trailing newline are not code lines */
    expect("a = 1\nb = 2\n\n# note\nc = 3\n   # indented note\n  d = 4\n\n", "x",
           "b = 2\nc = 3\n  d = 4\nnbstagectx\nx");
    /* a line with a comment after code is a code line, kept whole, white space too */
    expect("model.fit(X, y)  # go\t", "score", "model.fit(X, y)  # go\t\nnbstagectx\nscore");
    /* '\r' is white space to strip(), and stays in the line */
    expect("a = 1\r\n\r\nb = 2\r\n", "y", "a = 1\r\nb = 2\r\nnbstagectx\ny");
    /* a lone '\r' (old Mac line ends) ends a line, as Python reads it */
    expect("a = 1\rb = 2\r# note\rc = 3\rd = 4\r", "x", "b = 2\nc = 3\nd = 4\nnbstagectx\nx");
    /* a predecessor with no code line still gives its '\n' (Python: "" + "\n") */
    expect("# only a comment\n\n", "y", "\nnbstagectx\ny");
    expect("", "y", "\nnbstagectx\ny");
    /* more than three: the last three, in order */
    expect("l1\nl2\nl3\nl4\nl5", "z", "l3\nl4\nl5\nnbstagectx\nz");
}

static void a_blank_cell_is_read_alone(void **state)
{
    (void)state;
    expect("df = pd.read_csv('x.csv')", "", "");
    expect("df = pd.read_csv('x.csv')", "  # just a note\n\n", "  # just a note\n\n");
    expect(NULL, "\n", "\n");
}

static void the_buffer_grows_and_is_reused(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t cap = 0;
    char big[5000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    size_t n = context_text("p = 1", 5, big, strlen(big), &buf, &cap);
    assert_int_equal(n, strlen("p = 1\nnbstagectx\n") + strlen(big));
    assert_true(cap > n);
    char *same = buf;
    assert_int_equal(context_text(NULL, 0, "q", 1, &buf, &cap), strlen("nbstagectx\nq"));
    assert_ptr_equal(buf, same); /* room enough: not reallocated */
    assert_string_equal(buf, "nbstagectx\nq");
    free(buf);
}

static void the_cursor_skips_blank_and_comment_only_cells(void **state)
{
    (void)state;
    const char *cells[] = {"import numpy as np", "", "# a heading in code\n", "x = np.zeros(3)", "  \n", "x.sum()"};
    const char *want[] = {NULL, "import numpy as np", "import numpy as np", "import numpy as np",
                          "x = np.zeros(3)", "x = np.zeros(3)"};
    struct context_cursor cur = {0};
    for (size_t i = 0; i < sizeof cells / sizeof *cells; i++) {
        const char *prev;
        size_t plen;
        context_next(&cur, cells[i], strlen(cells[i]), &prev, &plen);
        if (!want[i]) assert_null(prev);
        else {
            assert_ptr_equal(prev, want[i] == cells[0] ? cells[0] : cells[3]);
            assert_int_equal(plen, strlen(want[i]));
        }
    }
    assert_false(context_counts("", 0));
    assert_false(context_counts("# x\n   # y", 10));
    assert_true(context_counts("'# not a comment'", 17));
}

static void the_trail_copies_and_starts_again_at_each_notebook(void **state)
{
    (void)state;
    struct context_trail t = {0};
    const char *prev;
    size_t plen;
    char src[32];
    strcpy(src, "a = 1");
    assert_int_equal(context_trail_next(&t, 7, src, strlen(src), &prev, &plen), 0);
    assert_null(prev);
    strcpy(src, "b = 2"); /* the caller's buffer is reused: the trail kept its own copy */
    assert_int_equal(context_trail_next(&t, 7, src, strlen(src), &prev, &plen), 0);
    assert_string_equal(prev, "a = 1");
    assert_int_equal(plen, 5);
    const char *held = prev;
    assert_int_equal(context_trail_next(&t, 7, "# note", 6, &prev, &plen), 0); /* not kept */
    assert_string_equal(prev, "b = 2");
    assert_string_equal(held, "a = 1"); /* still valid: only the next call may reuse it */
    assert_int_equal(context_trail_next(&t, 7, "c", 1, &prev, &plen), 0);
    assert_string_equal(prev, "b = 2");
    /* another notebook, then group 0 (one of its own each time) */
    assert_int_equal(context_trail_next(&t, 8, "d", 1, &prev, &plen), 0);
    assert_null(prev);
    assert_int_equal(context_trail_next(&t, 0, "e", 1, &prev, &plen), 0);
    assert_null(prev);
    assert_int_equal(context_trail_next(&t, 0, "f", 1, &prev, &plen), 0);
    assert_null(prev);
    context_trail_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_last_three_code_lines_then_the_word),
        cmocka_unit_test(a_blank_cell_is_read_alone),
        cmocka_unit_test(the_buffer_grows_and_is_reused),
        cmocka_unit_test(the_cursor_skips_blank_and_comment_only_cells),
        cmocka_unit_test(the_trail_copies_and_starts_again_at_each_notebook),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
