/* test_jsonload_oom.c — a JSON text parsed while memory runs out is refused, never read
 * with a byte missing.  jansson's lexer ignores a failed allocation while it collects a
 * string (strbuffer_append_byte), and returned the value with that byte dropped: a
 * notebook read so had a character less in a cell, and `tag` would have saved it.
 * malloc is this binary's own: the Nth call from the moment malloc_fails_in is set
 * fails, for every N up to the number a whole parse takes.  The documents' values are
 * strings without escapes: in a number or after a backslash, the same failure can trip
 * an assertion of jansson's own, an abort (jsonload.h). */
#include "tests/unit/unit.h"
#include "tests/unit/unit_malloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nbformat/jsonload.h"
#include "nbformat/notebook.h"


/* A notebook whose cells' sources are long enough for jansson's buffers to grow many
 * times, with non-ASCII text in them. */
static char *notebook_text(void)
{
    size_t cap = 1 << 16, n = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    n += (size_t)snprintf(s + n, cap - n, "{\"cells\": [");
    for (int c = 0; c < 3; c++) {
        n += (size_t)snprintf(s + n, cap - n, "%s{\"cell_type\": \"code\", \"metadata\": {}, "
                              "\"outputs\": [], \"source\": \"", c ? ", " : "");
        for (int k = 0; k < 40 * (c + 1); k++)
            n += (size_t)snprintf(s + n, cap - n, "df_%d = pd.read_csv('caf\xc3\xa9.csv'); ", k);
        n += (size_t)snprintf(s + n, cap - n, "\", \"execution_count\": null}");
    }
    snprintf(s + n, cap - n, "], \"metadata\": {\"kernelspec\": {\"name\": \"python3\"}}, "
                             "\"nbformat\": 4, \"nbformat_minor\": 5}");
    return s;
}

/* Every allocation of a parse failed in turn: each time no value, and "out of memory". */
static void a_parse_without_memory_is_refused_not_damaged(void **state)
{
    (void)state;
    char *text = notebook_text();
    size_t len = strlen(text);
    json_error_t je;
    json_t *want = nb_json_loadb(text, len, 0, &je);
    assert_non_null(want);
    int failures = 0;
    for (int k = 1; k < 100000; k++) {
        malloc_fails_in = k;
        json_t *got = nb_json_loadb(text, len, 0, &je);
        int failed = malloc_fails_in == 0;
        malloc_fails_in = 0;
        if (!failed) { /* the parse took fewer than K allocations: all were tried */
            assert_true(json_equal(got, want));
            json_decref(got);
            break;
        }
        failures++;
        if (got) fail_msg("allocation %d failed, and the parse returned a value%s", k,
                          json_equal(got, want) ? "" : " with bytes missing");
        assert_true(nb_json_error_is_memory(&je));
        assert_string_equal(je.text, "out of memory");
    }
    assert_true(failures > 50); /* the strings' buffers grew: the case looked for was met */
    json_decref(want);
    free(text);
}

/* The notebook reader, likewise: no notebook, or the whole one. */
static void a_notebook_read_without_memory_is_refused_not_damaged(void **state)
{
    (void)state;
    char *text = notebook_text();
    size_t len = strlen(text);
    nb_error err;
    json_t *want = nb_read_mem(text, len, "n.ipynb", 0, &err);
    assert_non_null(want);
    for (int k = 1; k < 100000; k++) {
        malloc_fails_in = k;
        json_t *got = nb_read_mem(text, len, "n.ipynb", 0, &err);
        int failed = malloc_fails_in == 0;
        malloc_fails_in = 0;
        if (got) assert_true(json_equal(got, want));
        else assert_true(failed);
        json_decref(got);
        if (!failed) break;
    }
    json_decref(want);
    free(text);
}

/* A JSON Lines record that jansson refuses (NaN) and the lenient copy reads: out of
 * memory in either attempt, or for the copy, is said so, not as the first attempt's
 * "invalid token". */
static void a_lenient_read_without_memory_says_so(void **state)
{
    (void)state;
    char line[4096];
    int n = snprintf(line, sizeof line, "{\"id\": \"a#1\", \"score\": NaN, \"source\": \"");
    for (int k = 0; k < 60; k++) n += snprintf(line + n, sizeof line - (size_t)n, "x_%d = 1; ", k);
    snprintf(line + n, sizeof line - (size_t)n, "\"}");
    json_error_t je;
    json_t *want = nb_json_loadb_lenient(line, strlen(line), JSON_ALLOW_NUL, &je);
    assert_non_null(want);
    for (int k = 1; k < 100000; k++) {
        malloc_fails_in = k;
        json_t *got = nb_json_loadb_lenient(line, strlen(line), JSON_ALLOW_NUL, &je);
        int failed = malloc_fails_in == 0;
        malloc_fails_in = 0;
        if (!failed) {
            assert_true(json_equal(got, want));
            json_decref(got);
            break;
        }
        assert_null(got);
        if (!nb_json_error_is_memory(&je)) fail_msg("allocation %d failed: said \"%s\"", k, je.text);
    }
    json_decref(want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_parse_without_memory_is_refused_not_damaged),
        cmocka_unit_test(a_notebook_read_without_memory_is_refused_not_damaged),
        cmocka_unit_test(a_lenient_read_without_memory_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
