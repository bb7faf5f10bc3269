/* test_jsonlread.c — what label's and train's JSON Lines readers (labeling/cellread.c,
 * model/trainread.c) say about a line that is not JSON: one line on stderr, naming
 * file:line.  fuzz_jsonl found jansson's reason quoting the bytes near the error raw:
 * a string cut by a backslash and a newline ("n\<newline>) printed the reason over two
 * lines, the second naming no file; the quoted bytes are now shown with control
 * characters as '?'. */
#include "tests/unit/unit.h"

#include "labeling/cellread.h"
#include "model/trainread.h"

/* What FN(PATH) writes on stderr (malloc'd). */
static char *said_by(void (*fn)(const char *), const char *path)
{
    char out[] = "/tmp/nbstage-test-jsonlread-err-XXXXXX";
    unit_make_tmpfile(out);
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(out, "w");
    assert_non_null(f);
    dup2(fileno(f), 2);
    fn(path);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    fclose(f);
    char *s = unit_read_file(out, NULL);
    unlink(out);
    assert_non_null(s);
    return s;
}

static void read_cells(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    struct label_cell *cells;
    size_t n, skipped = 0;
    assert_int_equal(cells_read(f, "cells.jsonl", &cells, &n, &skipped), 0);
    fclose(f);
    assert_int_equal(n, 0);
    assert_int_equal(skipped, 1);
    cells_free(cells, n);
}

static void read_sources(const char *path)
{
    struct train_srcmap map = {0};
    assert_int_equal(trainread_sources(path, &map), -1);
    trainread_free(map.v, map.n);
}

static void read_weak(const char *path)
{
    struct train_srcmap map = {0};
    struct train_cells out = {0};
    struct weak_stats st = {0};
    assert_int_equal(trainread_weak(path, 0, 1, 0, &map, &out, &st), -1);
    trainread_free(out.v, out.n);
}

/* A line cut inside a string after a backslash: jansson's "invalid escape near '"n\
 * '", a newline and an escape character among the bytes it quotes. */
static void test_bad_line_said_on_one_line(void **state)
{
    (void)state;
    char path[] = "/tmp/nbstage-test-jsonlread-XXXXXX";
    unit_make_tmpfile(path);
    unit_write_file(path, "{\"id\": \"n\\\n");
    void (*readers[])(const char *) = {read_cells, read_sources, read_weak};
    for (size_t i = 0; i < sizeof readers / sizeof *readers; i++) {
        char *s = said_by(readers[i], path);
        char *nl = strchr(s, '\n');
        assert_non_null(nl);
        if (nl[1]) fail_msg("two lines said: %s", s);
        assert_non_null(strstr(s, ":1: "));
        assert_non_null(strstr(s, "invalid escape"));
        free(s);
    }
    unit_write_file(path, "{\"id\": \"\x1b]52;c;aGk=\x07\\q\"}\n");
    for (size_t i = 0; i < sizeof readers / sizeof *readers; i++) {
        char *s = said_by(readers[i], path);
        assert_null(strchr(s, '\x1b'));
        assert_null(strchr(s, '\x07'));
        assert_non_null(strstr(s, ":1: "));
        free(s);
    }
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_line_said_on_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
