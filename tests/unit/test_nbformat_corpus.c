/* test_nbformat_corpus.c — the round trip on the real notebooks of ../shared: byte for
 * byte on every canonical file, JSON-equal on all, and `fmt`'s layout a fixed point.
 * Skipped when ../shared is absent.  Under the sanitizers every 8th file is read, to
 * keep the suite fast; the optimised build reads them all (and checks fmt on every
 * 4th corpus file). */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <string.h>

#include "nbformat/notebook.h"

#if defined(__SANITIZE_ADDRESS__)
#define STRIDE 8
#else
#define STRIDE 1
#endif

struct tally {
    long files, seen, canonical, json_equal, fixed_points;
    int need_canonical; /* every file must be canonical (the corpus) */
    int fmt_stride;     /* the fmt check on every Nth file read */
    char first_failure[NB_ERROR_MAX + 4096 + 16]; /* a reader's message and a path */
};

static void fail_once(struct tally *t, const char *what, const char *path)
{
    if (!t->first_failure[0]) snprintf(t->first_failure, sizeof t->first_failure, "%s: %s", what, path);
}

/* fmt's transformation: nbformat.write(nbformat.read()) */
static char *fmt_bytes(const char *buf, size_t len, size_t *out_len)
{
    nb_error err;
    json_t *nb = nb_read_mem(buf, len, "fmt", 0, &err);
    if (!nb) return NULL;
    nb_rejoin_lines(nb);
    nb_strip_transient(nb);
    nb_split_lines(nb);
    char *out = nb_dumps(nb, out_len);
    json_decref(nb);
    return out;
}

static int check_file(const char *path, const char *rel, void *ctx)
{
    struct tally *t = ctx;
    (void)rel;
    if (t->files++ % STRIDE) return 0;
    t->seen++;
    size_t len, n;
    char *buf = unit_read_file(path, &len);
    if (!buf) { fail_once(t, "unreadable", path); return 0; }
    nb_error err;
    json_t *nb = nb_read_mem(buf, len, path, 0, &err);
    if (!nb) { fail_once(t, err.msg, path); free(buf); return 0; }
    char *out = nb_dumps(nb, &n);
    json_t *back = NULL;
    if (n == len && !memcmp(out, buf, len)) {
        t->canonical++;
        t->json_equal++; /* the same bytes: the same JSON */
    } else {
        if (t->need_canonical) fail_once(t, "not byte-identical", path);
        /* JSON-equal: what we wrote parses to the tree we read */
        json_error_t je;
        back = json_loadb(out, n, JSON_ALLOW_NUL, &je);
        if (back && json_equal(nb, back)) t->json_equal++;
        else fail_once(t, "not JSON-equal", path);
    }

    /* fmt twice is fmt once */
    if ((t->seen - 1) % t->fmt_stride) goto done;
    size_t f1n, f2n;
    char *f1 = fmt_bytes(buf, len, &f1n);
    char *f2 = f1 ? fmt_bytes(f1, f1n, &f2n) : NULL;
    if (f2 && f1n == f2n && !memcmp(f1, f2, f1n)) t->fixed_points++;
    else fail_once(t, "fmt is not idempotent", path);
    free(f1);
    free(f2);
done:
    json_decref(back);
    free(out);
    json_decref(nb);
    free(buf);
    return 0;
}

static void corpus_round_trips_byte_for_byte(void **state)
{
    (void)state;
    const char *shared = unit_shared_dir();
    if (!shared) { skip(); return; }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/corpus", shared);
    struct tally t = {0};
    t.need_canonical = 1;
    t.fmt_stride = 4;
    assert_int_equal(nb_walk(dir, check_file, NULL, &t), 0);
    if (t.first_failure[0]) fail_msg("%s", t.first_failure);
    assert_true(t.files >= 5000); /* 5,382 when this was written */
    assert_int_equal(t.canonical, t.seen);
    assert_int_equal(t.json_equal, t.seen);
    assert_int_equal(t.fixed_points, (t.seen + 3) / 4);
}

static void notebooks_with_outputs_round_trip(void **state)
{
    (void)state;
    const char *shared = unit_shared_dir();
    if (!shared) { skip(); return; }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/notebooks-with-outputs", shared);
    struct tally t = {0};
    t.fmt_stride = 1;
    assert_int_equal(nb_walk(dir, check_file, NULL, &t), 0);
    if (t.first_failure[0]) fail_msg("%s", t.first_failure);
    assert_true(t.files >= 150);
    /* 121 of the 150 are canonical (shared/README.md); which ones is checked against
     * Python's json.dumps in tests/integration/test_nbformat_python.py */
    if (STRIDE == 1) assert_true(t.canonical >= 121);
    assert_int_equal(t.json_equal, t.seen);
    assert_int_equal(t.fixed_points, t.seen);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(corpus_round_trips_byte_for_byte),
        cmocka_unit_test(notebooks_with_outputs_round_trip),
    };
    return cmocka_run_group_tests_name("nbformat_corpus", tests, NULL, NULL);
}
