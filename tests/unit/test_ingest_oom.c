/* test_ingest_oom.c — ingest's worker when a notebook does not fit in memory
 * (ingest.c's load): the notebook is refused and nothing else is harmed.  realloc is
 * this binary's own, failing from a size on when asked. */
#include "tests/unit/unit.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "nbformat/ingest.h"

/* realloc, failing for N bytes or more while realloc_fails_from is not 0; otherwise the
 * real one (this binary's definition is the one the library's objects link to). */
static size_t realloc_fails_from;

void *realloc(void *p, size_t n)
{
    if (realloc_fails_from && n >= realloc_fails_from) {
        errno = ENOMEM;
        return NULL;
    }
    static void *(*real)(void *, size_t);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "realloc");
    return real(p, n);
}

/* A notebook of one code cell of 1,000,000 bytes: its buffer doubles from 64 KB to
 * 1 MB, and fails at 512 KB under realloc_fails_from = 512 KB. */
static void write_big_notebook(const char *path)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("{\"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {}, \"cells\": ["
          "{\"cell_type\": \"code\", \"execution_count\": null, \"metadata\": {}, \"outputs\": [],"
          " \"source\": \"x = '", f);
    for (int i = 0; i < 1000000; i++) fputc('a', f);
    fputs("'\"}]}", f);
    assert_int_equal(fclose(f), 0);
}

struct got {
    char *error[2];
    size_t len[2];
};

static int sink(size_t i, const char *lines, size_t len, const char *error, void *ctx)
{
    (void)lines;
    struct got *g = ctx;
    assert_true(i < 2);
    g->error[i] = error ? strdup(error) : NULL;
    g->len[i] = len;
    return 0;
}

/* Standard input that does not fit was closed (fclose(stdin), where a notebook read
 * whole is not), whoever read it next. */
static void stdin_too_big_is_not_closed(void **state)
{
    (void)state;
    char *tmp = unit_make_tmpdir("ingest-oom");
    char path[128];
    snprintf(path, sizeof path, "%s/big.ipynb", tmp);
    write_big_notebook(path);
    int saved = dup(0), fd = open(path, O_RDONLY);
    assert_true(saved >= 0 && fd >= 0);
    assert_int_equal(dup2(fd, 0), 0);
    close(fd);
    clearerr(stdin);
    struct ingest_item items[] = {{"-", "-", NULL}};
    struct got g = {{NULL, NULL}, {0, 0}};
    struct ingest_stats st;
    memset(&st, 0, sizeof st);
    realloc_fails_from = 512 * 1024;
    int rc = ingest_run(items, 1, 1, sink, &g, &st);
    realloc_fails_from = 0;
    int open_after = fcntl(0, F_GETFD) != -1;
    assert_int_equal(dup2(saved, 0), 0);
    close(saved);
    clearerr(stdin);
    assert_int_equal(rc, 0);
    assert_non_null(g.error[0]);
    assert_string_equal(g.error[0], "<stdin>: out of memory");
    assert_true(open_after);
    free(g.error[0]);
    unit_rm_rf(tmp);
    free(tmp);
}

/* A notebook that did not fit left the worker's file buffer failed for good: every
 * notebook that worker read after it was 'out of memory' too. */
static void the_next_notebook_is_read(void **state)
{
    (void)state;
    char *tmp = unit_make_tmpdir("ingest-oom");
    char big[128], small[128];
    snprintf(big, sizeof big, "%s/big.ipynb", tmp);
    snprintf(small, sizeof small, "%s/small.ipynb", tmp);
    write_big_notebook(big);
    unit_write_file(small, "{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"code\", \"source\": \"df.head()\"}]}");
    struct ingest_item items[] = {{big, "big.ipynb", NULL}, {small, "small.ipynb", NULL}};
    struct got g = {{NULL, NULL}, {0, 0}};
    struct ingest_stats st;
    memset(&st, 0, sizeof st);
    realloc_fails_from = 512 * 1024;
    int rc = ingest_run(items, 2, 1, sink, &g, &st); /* one worker reads both */
    realloc_fails_from = 0;
    assert_int_equal(rc, 0);
    assert_non_null(g.error[0]);
    assert_non_null(strstr(g.error[0], "big.ipynb: out of memory"));
    if (g.error[1]) fail_msg("%s", g.error[1]);
    assert_true(g.len[1] > 0);
    free(g.error[0]);
    unit_rm_rf(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stdin_too_big_is_not_closed),
        cmocka_unit_test(the_next_notebook_is_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
