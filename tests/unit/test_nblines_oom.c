/* test_nblines_oom.c — nbformat's layout passes (nbformat/nblines.c, `fmt --nbformat`
 * and `tag --nbformat`) when memory runs out at any of their allocations: they say so
 * (-1), and no text is lost either way.  A line whose copy failed was left out of the
 * list in silence, and fmt saved the notebook without it, exit 0.  And the language
 * read from a notebook's metadata bytes (nbformat/nblang.c), and nbformat 3's upgrade
 * (nbformat/nbv3.c), then.  malloc is this
 * binary's own, failing at the Nth call when asked. */
#include "tests/unit/unit.h"
#include "tests/unit/unit_malloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "nbformat/nbinternal.h"
#include "nbformat/nblang.h"
#include "nbformat/notebook.h"


static const char *const text = "import pandas as pd\ndf = pd.read_csv('a.csv')\ndf = df.dropna()\nmodel.fit(df)\n";

/* The text of FIELD (a string or a list of strings), joined. */
static char *joined(const json_t *field)
{
    if (json_is_string(field)) return strdup(json_string_value(field));
    size_t n;
    return nb_join_text(field, &n);
}

static json_t *notebook(int as_list)
{
    json_t *src = json_string(text);
    if (as_list) {
        json_t *nb = json_pack("{s:[{s:s, s:o}]}", "cells", "cell_type", "markdown", "source", src);
        assert_int_equal(nb_split_lines(nb), 0);
        return nb;
    }
    return json_pack("{s:[{s:s, s:o}]}", "cells", "cell_type", "markdown", "source", src);
}

static void no_line_is_lost_when_memory_runs_out(void **state)
{
    (void)state;
    int failures = 0;
    for (int pass = 0; pass < 2; pass++) { /* split, then rejoin */
        for (int nth = 1; nth <= 40; nth++) {
            json_t *nb = notebook(pass);
            assert_non_null(nb);
            malloc_fails_in = nth;
            int rc = pass ? nb_rejoin_lines(nb) : nb_split_lines(nb);
            int failed = malloc_fails_in == 0; /* the Nth malloc was made, and failed */
            malloc_fails_in = 0;
            if (failed) failures++;
            assert_int_equal(rc, failed ? -1 : 0); /* said when, and only when, it failed */
            char *got = joined(json_object_get(json_array_get(json_object_get(nb, "cells"), 0), "source"));
            assert_non_null(got);
            assert_string_equal(got, text);
            free(got);
            json_decref(nb);
        }
    }
    assert_true(failures > 4); /* the passes' own allocations were reached */
}

/* An R notebook's language, when memory runs out while it is read from the metadata's
 * bytes, is unknown (-1: the caller reads the notebook whole), never Python: tag
 * tagged such a notebook, ingest wrote its cells as Python training data. */
static void a_language_not_read_is_not_python(void **state)
{
    (void)state;
    const char *meta = "{\"kernelspec\": {\"display_name\": \"R\", \"language\": \"R\", \"name\": \"ir\"}, "
                       "\"language_info\": {\"name\": \"R\"}}";
    int failures = 0;
    for (int nth = 1; nth <= 20; nth++) {
        struct nb_lang lang;
        malloc_fails_in = nth;
        int rc = nb_lang_of_metadata(meta, strlen(meta), &lang);
        int failed = malloc_fails_in == 0;
        malloc_fails_in = 0;
        failures += failed;
        if (rc == 0) {
            assert_false(lang.python);
            assert_string_equal(lang.name, "r");
        } else {
            assert_int_equal(rc, -1);
            assert_true(failed);
        }
    }
    assert_true(failures > 0);
}

/* An nbformat 3 notebook upgraded when memory runs out at any allocation: it fails as
 * out of memory, or every cell is there with its source (a cell's source, or a whole
 * cell, was lost in silence, and ingest wrote the rest, exit 0). */
static void a_v3_upgrade_loses_no_cell(void **state)
{
    (void)state;
    char v3[4096];
    size_t at = (size_t)snprintf(v3, sizeof v3, "{\"nbformat\": 3, \"nbformat_minor\": 0, \"metadata\": {}, "
                                                    "\"worksheets\": [{\"cells\": [");
    for (int i = 0; i < 12; i++)
        at += (size_t)snprintf(v3 + at, sizeof v3 - at, "%s{\"cell_type\": \"code\", \"input\": \"x%d = %d\", "
                               "\"prompt_number\": %d, \"outputs\": [{\"output_type\": \"pyout\", "
                               "\"text\": \"%d\", \"prompt_number\": %d}]}",
                               i ? ", " : "", i, i, i, i, i);
    snprintf(v3 + at, sizeof v3 - at, "]}]}");
    int failures = 0;
    for (int nth = 1; nth <= 400; nth++) {
        json_t *nb = json_loads(v3, 0, NULL);
        assert_non_null(nb);
        nb_error err;
        malloc_fails_in = nth;
        int rc = nb_upgrade_v3(nb, "v3.ipynb", &err);
        int failed = malloc_fails_in == 0;
        malloc_fails_in = 0;
        failures += failed;
        if (rc) {
            assert_true(failed);
            assert_string_equal(err.msg, "v3.ipynb: out of memory");
        } else {
            json_t *cells = json_object_get(nb, "cells");
            assert_int_equal(json_array_size(cells), 12);
            for (int i = 0; i < 12; i++) {
                char want[32];
                snprintf(want, sizeof want, "x%d = %d", i, i);
                assert_string_equal(json_string_value(json_object_get(json_array_get(cells, (size_t)i), "source")),
                                    want);
            }
        }
        json_decref(nb);
    }
    assert_true(failures > 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_line_is_lost_when_memory_runs_out),
        cmocka_unit_test(a_language_not_read_is_not_python),
        cmocka_unit_test(a_v3_upgrade_loses_no_cell),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
