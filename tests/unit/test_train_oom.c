/* test_train_oom.c — `nbstage train` when a cell's source cannot be copied (out of
 * memory, model/trainread.c's copies of a line's source and of the one joined by id):
 * said as such, not as a bad line or a label without a source; and when the table of
 * sources that finds duplicates cannot be had (model/trainsplit.c): said, not trained
 * on with the duplicates kept.  malloc and calloc are this binary's own, failing for
 * one size when asked. */
#include "tests/unit/unit.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/commands.h"

/* malloc, failing for N == malloc_fails_for after malloc_fails_skip such calls;
 * otherwise the real one (this binary's definition is the one everything links to). */
static size_t malloc_fails_for, malloc_fails_skip;

void *malloc(size_t n)
{
    if (malloc_fails_for && n == malloc_fails_for) {
        if (malloc_fails_skip) {
            malloc_fails_skip--;
        } else {
            errno = ENOMEM;
            return NULL;
        }
    }
    static void *(*real)(size_t);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "malloc");
    return real(n);
}

/* calloc (unit_calloc.h) fails for NMEMB == calloc_fails_nmemb elements of 8 bytes (the
 * dedupe's two tables). */
static size_t calloc_fails_nmemb;
static int dedupe_tables(size_t nmemb, size_t size) { return nmemb == calloc_fails_nmemb && size == 8; }
#include "tests/unit/unit_calloc.h"

static char dir[64];

/* The source, as JSON: a list of two lines of 300,000 and 300,001 bytes, copied into
 * one malloc of 600,002 bytes (jansson and getline ask for no such size). */
#define SOURCE_BYTES 600001
static void put_source(FILE *f)
{
    fputs("[\"", f);
    for (int i = 0; i < 300000; i++) fputc('a', f);
    fputs("\", \"", f);
    for (int i = 0; i < 300001; i++) fputc('b', f);
    fputs("\"]", f);
}

/* DIR/NAME with one JSON line: PREFIX, then the source when WITH_SOURCE, then "}". */
static void put_line(const char *name, const char *prefix, int with_source, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(prefix, f);
    if (with_source) {
        fputs(", \"source\": ", f);
        put_source(f);
    }
    fputs("}\n", f);
    assert_int_equal(fclose(f), 0);
}

/* Runs `nbstage train ARGV` with malloc failing for the source's copy after SKIP such
 * copies; its exit code, its stderr in *ERR (malloc'd). */
static int train(char **err, int argc, char **argv, size_t skip)
{
    char path[128];
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    malloc_fails_for = SOURCE_BYTES + 1, malloc_fails_skip = skip;
    int rc = cmd_train(argc, argv);
    malloc_fails_for = 0;
    fflush(stderr);
    dup2(saved, 2);
    close(fd);
    close(saved);
    *err = unit_read_file(path, NULL);
    unlink(path);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/nbstage-test-train-oom-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unit_rm_rf(dir);
    return 0;
}

/* --cells: the line was said to need a string "id" and a "source". */
static void a_cells_source_that_cannot_be_copied(void **state)
{
    (void)state;
    char cells[128], weak[128], out[128], *err;
    put_line("cells.jsonl", "{\"id\": \"nb#0\", \"notebook\": \"nb\"", 1, cells, sizeof cells);
    put_line("weak.jsonl", "{\"id\": \"nb#0\", \"stage\": \"train\"", 0, weak, sizeof weak);
    snprintf(out, sizeof out, "%s/m.nbsm", dir);
    char *argv[] = {"train", "-q", weak, "--cells", cells, "-o", out, NULL};
    int rc = train(&err, 7, argv, 0);
    if (!strstr(err, "nbstage train: out of memory\n")) fail_msg("%s", err);
    assert_null(strstr(err, "needs a string"));
    assert_int_equal(rc, EXIT_USAGE);
    free(err);
}

/* A weak label's own source, or the one joined from --cells: the label was counted as
 * one without a source and left out ("1 of 1 weak labels have no source"), the rest
 * trained on. */
static void a_weak_labels_source_that_cannot_be_copied(void **state)
{
    (void)state;
    char cells[128], weak[128], out[128], *err;
    snprintf(out, sizeof out, "%s/m.nbsm", dir);
    put_line("weak.jsonl", "{\"id\": \"nb#0\", \"stage\": \"train\"", 1, weak, sizeof weak);
    char *argv[] = {"train", "-q", weak, "-o", out, NULL};
    int rc = train(&err, 5, argv, 0);
    if (!strstr(err, "nbstage train: out of memory\n")) fail_msg("%s", err);
    assert_null(strstr(err, "no source"));
    assert_int_equal(rc, EXIT_USAGE);
    free(err);

    /* joined by id: --cells' copy is made (the first), the join's is not */
    put_line("cells.jsonl", "{\"id\": \"nb#0\", \"notebook\": \"nb\"", 1, cells, sizeof cells);
    put_line("weak.jsonl", "{\"id\": \"nb#0\", \"stage\": \"train\"", 0, weak, sizeof weak);
    char *argv2[] = {"train", "-q", weak, "--cells", cells, "-o", out, NULL};
    rc = train(&err, 7, argv2, 1);
    if (!strstr(err, "nbstage train: out of memory\n")) fail_msg("%s", err);
    assert_null(strstr(err, "no source"));
    assert_int_equal(rc, EXIT_USAGE);
    free(err);
    assert_int_equal(access(out, F_OK), -1);
}

/* Duplicates could not be looked for (trainsplit_dedupe's table, 16 slots for 4
 * cells, out of memory): it dropped none and said nothing, and the model was trained
 * with them (exit 0).  Now refused as train's other allocation failures are. */
static void the_duplicates_table_that_cannot_be_had(void **state)
{
    (void)state;
    char weak[128], out[128], path[128], *err;
    snprintf(weak, sizeof weak, "%s/dup.jsonl", dir);
    snprintf(out, sizeof out, "%s/dup.nbsm", dir);
    FILE *f = fopen(weak, "wb");
    assert_non_null(f);
    fputs("{\"id\": \"a#0\", \"notebook\": \"a\", \"stage\": \"imports\", \"source\": \"import os\"}\n"
          "{\"id\": \"a#1\", \"notebook\": \"a\", \"stage\": \"train\", \"source\": \"m.fit(x)\"}\n"
          "{\"id\": \"b#0\", \"notebook\": \"b\", \"stage\": \"imports\", \"source\": \"import os\"}\n"
          "{\"id\": \"b#1\", \"notebook\": \"b\", \"stage\": \"train\", \"source\": \"m.fit(y)\"}\n", f);
    assert_int_equal(fclose(f), 0);
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    char *argv[] = {"train", "-q", weak, "-o", out, "--epochs", "1", "--embed", "4", "--hidden", "4",
                    "--val-split", "0", NULL};
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 2);
    calloc_fails_nmemb = 16;
    calloc_fails = dedupe_tables;
    int rc = cmd_train(13, argv);
    calloc_fails_nmemb = 0;
    calloc_fails = NULL;
    fflush(stderr);
    dup2(saved, 2);
    close(fd);
    close(saved);
    err = unit_read_file(path, NULL);
    unlink(path);
    if (!strstr(err, "nbstage train: out of memory\n")) fail_msg("exit %d: %s", rc, err);
    assert_int_equal(rc, EXIT_USAGE);
    assert_int_equal(access(out, F_OK), -1);
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_cells_source_that_cannot_be_copied),
        cmocka_unit_test(a_weak_labels_source_that_cannot_be_copied),
        cmocka_unit_test(the_duplicates_table_that_cannot_be_had),
    };
    return cmocka_run_group_tests_name("train_oom", tests, setup, teardown);
}
