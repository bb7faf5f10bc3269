/* test_tagrun_budget.c — what a window of `nbstage tag` holds (model/tagrun.h,
 * "Memory"): its files and the scans copied into its read room, together within the
 * window's byte budget.  The notebooks here carry long tag lists, so each scan is
 * several times its file (a tag of a few letters, ~10 bytes of the file, is a 40-byte
 * member of the scan): with a budget of the files' bytes, files alone fit, files and
 * scans do not.  A run whose budget leaves notebooks to run_job (read, scanned and
 * classified at their save) writes the same bytes and counts the same as one that
 * read them all ahead, at -j 1 and -j 2. */
#include "tests/unit/unit.h"
#include "tests/unit/unit_model.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "model/classcache.h"
#include "model/tagrun.h"
#include "nbformat/notebook.h"

enum { NOTEBOOKS = 40, CELLS = 3, TAGS = 400 };

static nbs_model *model;
static char *dir; /* the tests' folder: one subfolder per run */

static int setup(void **state)
{
    (void)state;
    model = unit_small_model(7, "budget test");
    dir = unit_make_tmpdir("tagrun-budget");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unit_rm_rf(dir);
    free(dir);
    model_free(model);
    return 0;
}

/* Notebook I, canonical (nb_dumps: the fast path's), of CELLS code cells each
 * tagged with TAGS short tags (and a few more cells' worth for some, so that the
 * sizes differ). */
static char *notebook(int i, size_t *len)
{
    static const char *src[] = {"import pandas as pd\ndf = pd.read_csv(x)", "df.head()\nprint(df.shape)",
                                "model.fit(x, y)\nmodel.predict(x)", "plt.plot(x, y)"};
    json_t *cells = json_array();
    for (int c = 0; c < CELLS + i % 3; c++) {
        json_t *tags = json_array();
        for (int t = 0; t < TAGS; t++) {
            char tag[16];
            snprintf(tag, sizeof tag, "t%d", t % 10);
            json_array_append_new(tags, json_string(tag));
        }
        json_array_append_new(cells, json_pack("{s:s, s:n, s:{s:o}, s:[], s:s}", "cell_type", "code",
                                               "execution_count", "metadata", "tags", tags, "outputs",
                                               "source", src[(i + c) % 4]));
    }
    json_t *nb = json_pack("{s:o, s:{s:{s:s}}, s:i, s:i}", "cells", cells, "metadata", "kernelspec", "name",
                           "python3", "nbformat", 4, "nbformat_minor", 5);
    char *s = nb_dumps(nb, len);
    json_decref(nb);
    assert_non_null(s);
    return s;
}

/* DIR/NAME/nbII.ipynb for each notebook: their bytes written, their sum returned. */
static size_t write_notebooks(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(mkdir(path, 0755), 0);
    size_t total = 0;
    for (int i = 0; i < NOTEBOOKS; i++) {
        size_t len;
        char *nb = notebook(i, &len);
        snprintf(path, sizeof path, "%s/%s/nb%02d.ipynb", dir, name, i);
        unit_write_file(path, nb);
        total += len;
        free(nb);
    }
    return total;
}

/* The notebooks of DIR/NAME tagged in place by tagrun_all with JOBS threads and a
 * window's budget of WINDOW_BYTES (0: the default), quietly; its counts in *R. */
static void tag(const char *name, int jobs, long long window_bytes, struct tagrun *r)
{
    *r = (struct tagrun){.opt = {.model = model, .cache = classcache_new(model), .jobs = jobs, .quiet = 1},
                         .window_bytes = window_bytes};
    assert_non_null(r->opt.cache);
    r->jobs = calloc(NOTEBOOKS, sizeof *r->jobs);
    assert_non_null(r->jobs);
    for (int i = 0; i < NOTEBOOKS; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s/nb%02d.ipynb", dir, name, i);
        r->jobs[i].path = strdup(path); /* (freed by tagrun_all as each is reported) */
        assert_non_null(r->jobs[i].path);
    }
    r->n = NOTEBOOKS;
    tagrun_all(r);
    free(r->jobs);
    r->jobs = NULL;
    classcache_free(r->opt.cache);
}

/* Each notebook of DIR/A and DIR/B has the same bytes. */
static void same_notebooks(const char *a, const char *b)
{
    for (int i = 0; i < NOTEBOOKS; i++) {
        char pa[512], pb[512];
        snprintf(pa, sizeof pa, "%s/%s/nb%02d.ipynb", dir, a, i);
        snprintf(pb, sizeof pb, "%s/%s/nb%02d.ipynb", dir, b, i);
        size_t la, lb;
        char *x = unit_read_file(pa, &la), *y = unit_read_file(pb, &lb);
        assert_non_null(x), assert_non_null(y);
        assert_int_equal(la, lb);
        assert_memory_equal(x, y, la);
        free(x);
        free(y);
    }
}

static void same_counts(const struct tagrun *a, const struct tagrun *b)
{
    assert_int_equal(a->failed, b->failed);
    assert_int_equal(a->rewritten, b->rewritten);
    assert_int_equal(a->unchanged, b->unchanged);
    assert_int_equal(a->spliced, b->spliced);
    assert_int_equal(a->code_cells, b->code_cells);
    assert_int_equal(a->tagged, b->tagged);
    for (int s = 0; s < N_STAGES; s++) assert_int_equal(a->per_stage[s], b->per_stage[s]);
}

static void a_window_holds_its_files_and_scans_within_its_budget(void **state)
{
    (void)state;
    /* every notebook read ahead (one window: fewer than its 512 notebooks) */
    size_t files = write_notebooks("whole");
    struct tagrun whole;
    tag("whole", 2, 0, &whole);
    assert_int_equal(whole.failed, 0);
    assert_int_equal(whole.rewritten, NOTEBOOKS);
    assert_int_equal(whole.spliced, NOTEBOOKS); /* every one on the fast path */
    /* the room held the files and their scans, several times the files */
    assert_true(whole.window_held > 3 * files);
    /* a budget of the files' bytes: what the room holds, scans and all, stays within
     * it (a file charged with the 2 bytes past its end the room keeps for the read's
     * end); the rest of the window is done by run_job, to the same bytes and counts */
    for (int jobs = 1; jobs <= 2; jobs++) {
        char name[32];
        snprintf(name, sizeof name, "budget-j%d", jobs);
        assert_int_equal(write_notebooks(name), files);
        struct tagrun small;
        tag(name, jobs, (long long)files, &small);
        assert_true(small.window_held > 0);
        assert_true(small.window_held <= files);
        same_counts(&small, &whole);
        same_notebooks(name, "whole");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_window_holds_its_files_and_scans_within_its_budget),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
