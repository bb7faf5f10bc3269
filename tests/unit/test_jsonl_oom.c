/* test_jsonl_oom.c — a JSON Lines reader whose getline(3) cannot grow its line (out of
 * memory) fails, and does not stop as at the end of the file: glibc before 2.37 sets
 * no error flag then, and `label` (labeling/cellread.c) and `train` (model/trainread.c)
 * went on with the lines before it, exit 0.  realloc is this binary's own (getline
 * grows its line with it), failing for getline's sizes from realloc_fails_from up.
 * And label's LF analysis without memory for its tables (calloc, unit_calloc.h), and a
 * read with each of its mallocs failed in turn (unit_malloc.h). */
#include "tests/unit/unit.h"
#include "tests/unit/unit_malloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "labeling/cellread.h"
#include "labeling/labelmodel.h"
#include "labeling/lfreport.h"
#include "model/trainread.h"

static size_t realloc_fails_from; /* 0: none fails */

/* getline's sizes alone: glibc's getdelim starts a line at 120 bytes and doubles it
 * (jansson's buffers, also grown by realloc, are powers of two) */
void *realloc(void *p, size_t n)
{
    if (realloc_fails_from && n >= realloc_fails_from && n % 120 == 0) {
        errno = ENOMEM;
        return NULL;
    }
    static void *(*real)(void *, size_t);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "realloc");
    return real(p, n);
}

/* DIR/NAME: two short lines, one of 300,000 bytes of source, two short lines. */
static void write_lines(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 5; i++) {
        fprintf(f, "{\"id\": \"n.ipynb#%d\", \"notebook\": \"n.ipynb\", \"stage\": \"load\", "
                   "\"source\": \"", i);
        for (int k = 0; i == 2 && k < 30000; k++) fputs("x = 1 + 2\\n", f);
        fputs("df = pd.read_csv('a.csv')\"}\n", f);
    }
    assert_int_equal(fclose(f), 0);
}

static void a_line_that_cannot_be_read_is_no_end_of_file(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("jsonl-oom"), path[512];
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    write_lines(path);

    FILE *f = fopen(path, "r");
    struct label_cell *cells;
    size_t n, skipped = 0;
    assert_int_equal(cells_read(f, path, &cells, &n, &skipped), 0); /* all five */
    assert_int_equal(n, 5);
    cells_free(cells, n);
    rewind(f);
    realloc_fails_from = 100000;
    int rc = cells_read(f, path, &cells, &n, &skipped);
    realloc_fails_from = 0;
    assert_int_equal(rc, -1);
    cells_free(cells, n);
    fclose(f);

    struct train_cells out = {0};
    struct weak_stats st = {0};
    struct train_srcmap map = {0};
    realloc_fails_from = 100000;
    rc = trainread_weak(path, 0.0, 0, 0, &map, &out, &st);
    realloc_fails_from = 0;
    assert_int_equal(rc, -1);
    trainread_free(out.v, out.n);
    unit_rm_rf(dir);
    free(dir);
}

/* Each allocation of a read failed in turn (jansson's among them): every cell read
 * whole, or the read fails.  A line jansson could not parse for want of memory was
 * "skipped, not a JSON object: out of memory", and label went on without the cell. */
static void a_line_parsed_without_memory_fails_the_read(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("jsonl-oom-parse"), path[512];
    snprintf(path, sizeof path, "%s/cells.jsonl", dir);
    FILE *w = fopen(path, "w");
    assert_non_null(w);
    for (int i = 0; i < 3; i++) {
        fprintf(w, "{\"id\": \"n.ipynb#%d\", \"notebook\": \"n.ipynb\", \"source\": \"", i);
        for (int k = 0; k < 300; k++) fprintf(w, "x_%d = read_csv('a.csv'); ", k);
        fputs("\"}\n", w);
    }
    assert_int_equal(fclose(w), 0);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    struct label_cell *cells;
    size_t n, skipped = 0;
    int failures = 0;
    for (int k = 1; k < 100000; k++) {
        rewind(f);
        skipped = 0;
        malloc_fails_in = k;
        int rc = cells_read(f, path, &cells, &n, &skipped);
        int failed = malloc_fails_in == 0;
        malloc_fails_in = 0;
        if (rc == 0) {
            assert_int_equal(n, 3);
            assert_int_equal(skipped, 0);
        }
        cells_free(cells, n);
        if (!failed) break;
        failures += rc != 0;
    }
    assert_true(failures > 10);
    fclose(f);
    unit_rm_rf(dir);
    free(dir);
}

/* The LF analysis that cannot have its tables says so (-1) and prints nothing more:
 * it printed "lf report: out of memory" into the report, which label committed as the
 * report, exit 0. */
static int every_calloc(size_t nmemb, size_t size) { (void)nmemb, (void)size; return 1; }
#include "tests/unit/unit_calloc.h"

static void a_report_without_memory_is_a_failure(void **state)
{
    (void)state;
    const char *name[1] = {"lf"};
    int stage[1] = {0};
    signed char votes[2] = {0, -1};
    struct label_model model;
    memset(&model, 0, sizeof model);
    struct lf_report r = {.m = 1, .name = name, .stage = stage, .n = 2, .votes = votes, .model = &model,
                          .table_only = 1};
    char buf[4096];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    assert_non_null(f);
    calloc_fails = every_calloc;
    int rc = lf_report_print(f, &r);
    calloc_fails = NULL;
    long said = ftell(f);
    fclose(f);
    assert_int_equal(rc, -1);
    assert_int_equal(said, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_line_that_cannot_be_read_is_no_end_of_file),
        cmocka_unit_test(a_report_without_memory_is_a_failure),
        cmocka_unit_test(a_line_parsed_without_memory_fails_the_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
