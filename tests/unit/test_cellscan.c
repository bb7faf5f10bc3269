/* test_cellscan.c — ingest's byte scanner against the jansson reader: whenever the
 * scanner accepts a notebook, nb_read_mem must accept it too and give the same code
 * cells; on the real notebooks the scanner must accept them all (else ingest is slow). */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "nbformat/cellscan.h"
#include "nbformat/jsonbytes.h"
#include "nbformat/notebook.h"

#if defined(__SANITIZE_ADDRESS__)
#define STRIDE 8
#define MUTATIONS 3000
#else
#define STRIDE 1
#define MUTATIONS 30000
#endif

static struct cellscan scan;

/* The scan of an exact heap copy of BUF: under ASan, a read one byte past the end
 * (which a literal's NUL or a stack buffer's next byte would hide) is an error. */
static int scan_exact(const char *buf, size_t len)
{
    char *exact = malloc(len ? len : 1);
    assert_non_null(exact);
    memcpy(exact, buf, len);
    int rc = cellscan_run(&scan, exact + (len ? 0 : 1), len);
    free(exact);
    return rc;
}

/* 1 when the scanner took BUF (and agreed with jansson), 0 when it fell back. */
static int differential(const char *buf, size_t len)
{
    if (scan_exact(buf, len)) return 0; /* its cells are copies: the bytes may go */
    nb_error err;
    json_t *nb = nb_read_mem(buf, len, "diff", NB_ALLOW_V3, &err);
    if (!nb) fail_msg("scanner accepted what jansson refuses: %s", err.msg);
    size_t k = 0, n = nb_cell_count(nb);
    for (size_t i = 0; i < n; i++) {
        json_t *cell = nb_cell(nb, i);
        const char *t = nb_cell_type(cell);
        if (!t || strcmp(t, "code")) continue;
        if (k >= scan.n) fail_msg("scanner found %zu code cells, jansson more", scan.n);
        size_t sl;
        char *src = nb_cell_source(cell, &sl);
        const struct cellscan_cell *c = &scan.cells[k];
        if (c->len != sl || memcmp(scan.text.p + c->off, src, sl))
            fail_msg("code cell %zu: sources differ", k);
        json_t *ec = json_object_get(cell, "execution_count");
        assert_int_equal(c->has_count, json_is_integer(ec));
        if (c->has_count) assert_int_equal(c->count, json_integer_value(ec));
        free(src);
        k++;
    }
    assert_int_equal(k, scan.n);
    json_decref(nb);
    return 1;
}

static int diff_str(const char *s) { return differential(s, strlen(s)); }

static void agrees_on_tricky_notebooks(void **state)
{
    (void)state;
    /* accepted, with escapes, odd types and unsorted keys */
    assert_true(diff_str(
        "{\"nbformat\": 4, \"nbformat_minor\": 5, \"metadata\": {\"a\": {\"b\": [1, 2.5e-3, -0,"
        " true, false, null, \"x\"]}}, \"cells\": ["
        " {\"source\": [\"caf\\u00e9 \\ud83d\\ude00\\n\", \"\\u0000\\/\\\"\\\\\\b\\f\\r\\t\"],"
        "  \"cell_type\": \"code\", \"execution_count\": 12, \"metadata\": {}, \"outputs\": []},"
        " {\"cell_type\": \"markdown\", \"source\": \"# no\", \"metadata\": {}},"
        " {\"cell_type\": \"code\", \"source\": null, \"execution_count\": 1.0},"
        " {\"cell_type\": \"code\", \"execution_count\": null},"
        " {\"cell_type\": \"raw\", \"source\": []},"
        " {\"cell_type\": \"code\", \"source\": \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\","
        "  \"execution_count\": -999999999999999999}]}"));
    assert_int_equal(scan.n, 4);
    assert_true(diff_str("{\"cells\": [], \"nbformat\": 4}"));
    assert_true(diff_str(" \n\t{\"cells\":[],\"nbformat\":4} \r\n"));

    /* what the scanner leaves to jansson (some valid, most not) */
    static const char *fallback[] = {
        "", "{}", "[]", "{\"cells\": [", "{\"nbformat\": 4, \"cells\": [}",
        "{\"nbformat\": 4, \"cells\": [], \"s\": \"\xff\"}",
        "{\"nbformat\": 4, \"cells\": [], \"s\": \"\xc0\x80\"}",
        "{\"nbformat\": 4, \"cells\": [], \"s\": \"\xed\xa0\x80\"}",
        "{\"nbformat\": 4, \"cells\": [], \"s\": \"\xf4\x90\x80\x80\"}",
        "{\"nbformat\": 4, \"cells\": [], \"s\": \"\xe2\x82\"}",
        "\xef\xbb\xbf{\"nbformat\": 4, \"cells\": []}",
        "{\"nbformat\": 4, \"cells\": [], \"n\": 123456789012345678901234567890}",
        "{\"nbformat\": 4, \"cells\": [], \"n\": 1234567890123456789}",
        "{\"nbformat\": 4, \"cells\": [], \"n\": NaN}",
        "{\"nbformat\": 4, \"cells\": [], \"n\": 1e999}",
        "{\"nbformat\": 4, \"cells\": [], \"n\": 01}",
        "{\"nbformat\": 4, \"cells\": [], \"n\": 1.}",
        "{\"nbformat\": 4, \"cells\": [], \"n\": -}",
        "{\"nbformat\": 4, \"cells\": [], \"n\": .5}",
        "{\"nbformat\": 4, \"cells\": [], \"n\": truex}",
        "{\"nbformat\": 4, \"cells\": [], \"s\": \"\\ud800\"}",
        "{\"nbformat\": 4, \"cells\": [], \"s\": \"\\udc00\"}",
        "{\"nbformat\": 4, \"cells\": [], \"s\": \"\\ud800\\u0041\"}",
        "{\"nbformat\": 4, \"cells\": [], \"s\": \"\\x\"}",
        "{\"nbformat\": 4, \"cells\": [], \"s\": \"a\tb\"}",
        "{\"nbformat\": 4, \"cells\": [], \"cells\": []}",
        "{\"nbformat\": 4, \"cells\": [], \"m\": {\"a\": 1, \"b\": {}, \"a\": 2}}",
        "{\"nbformat\": 4, \"cells\": [], \"m\": {\"\\u0061\": 1}}",
        "{\"nbformat\": 4, \"cells\": [1, 2,]}",
        "{\"nbformat\": 4, \"cells\": [],}",
        "{\"nbformat\": 4, \"cells\": []} x",
        "{\"nbformat\": 4.0, \"cells\": []}",
        "{\"nbformat\": 3, \"worksheets\": [{\"cells\": []}]}",
        "{\"nbformat\": 5, \"cells\": []}",
        "{\"nbformat\": 4}",
        "{\"nbformat\": 4, \"cells\": [{}]}",
        "{\"nbformat\": 4, \"cells\": [{\"cell_type\": 1}]}",
        "{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"code\", \"source\": [1]}]}",
        "{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"code\", \"source\": 7}]}",
        "{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"code\", \"metadata\": []}]}",
        "{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"code\", \"outputs\": {}}]}",
        "{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"c\\u006fde\"}]}",
        "{\"nbformat\": 4, \"cells\": [], \"metadata\": 3}",
    };
    for (size_t i = 0; i < sizeof fallback / sizeof fallback[0]; i++)
        if (scan_exact(fallback[i], strlen(fallback[i])) == 0)
            fail_msg("case %zu accepted: %s", i, fallback[i]);

    /* nesting deeper than the scanner goes: left to jansson, never a crash */
    static char deep[4096 * 2 + 64];
    size_t n = 0;
    n += (size_t)sprintf(deep, "{\"nbformat\": 4, \"cells\": [], \"m\": ");
    for (int i = 0; i < 4000; i++) deep[n++] = '[';
    for (int i = 0; i < 4000; i++) deep[n++] = ']';
    deep[n++] = '}';
    assert_int_equal(cellscan_run(&scan, deep, n), -1);
}

/* Random damage to a small notebook: every version the scanner takes, jansson must
 * take the same way. */
static void agrees_under_mutation(void **state)
{
    (void)state;
    const char *base =
        "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"execution_count\": 3,\n"
        "   \"metadata\": {\"tags\": [\"a\"]},\n   \"outputs\": [],\n   \"source\": [\n"
        "    \"import os\\n\",\n    \"x = '\\u00e9' # c\"\n   ]\n  },\n  {\n"
        "   \"cell_type\": \"markdown\",\n   \"metadata\": {},\n   \"source\": \"t\"\n  }\n ],\n"
        " \"metadata\": {\"k\": 1.5e3},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n";
    size_t n = strlen(base);
    char buf[1024];
    unsigned long long x = 0x2545f4914f6cdd1dULL;
    int accepted = 0;
    for (int it = 0; it < MUTATIONS; it++) {
        memcpy(buf, base, n);
        size_t len = n;
        int edits = 1 + (int)(x % 3);
        for (int e = 0; e < edits; e++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            size_t at = (size_t)(x >> 8) % len;
            static const char pool[] = "{}[]\",:\\u0123456789eE.-+ \n\ttrufalsn\x80\xc3\xa9\xff";
            switch (x % 4) {
            case 0: buf[at] = pool[(x >> 40) % (sizeof pool - 1)]; break;      /* replace */
            case 1: memmove(buf + at, buf + at + 1, len - at - 1); len--; break; /* delete */
            case 2: if (len < sizeof buf - 1) {                                 /* insert */
                        memmove(buf + at + 1, buf + at, len - at);
                        buf[at] = pool[(x >> 40) % (sizeof pool - 1)];
                        len++;
                    }
                    break;
            case 3: len = at + 1; break;                                        /* truncate */
            }
        }
        accepted += differential(buf, len);
    }
    /* some damage is harmless (inside strings, whitespace): those must be taken */
    assert_true(accepted > 0);
}

struct tally { long files, seen, accepted; };

static int scan_file(const char *path, const char *rel, void *ctx)
{
    struct tally *t = ctx;
    (void)rel;
    if (t->files++ % STRIDE) return 0;
    t->seen++;
    size_t n = 0;
    char *buf = unit_read_file(path, &n);
    assert_non_null(buf);
    t->accepted += differential(buf, (size_t)n);
    free(buf);
    return 0;
}

static void takes_every_shared_notebook(void **state)
{
    (void)state;
    const char *shared = unit_shared_dir();
    if (!shared) { skip(); return; }
    static const char *dirs[] = {"corpus", "notebooks-with-outputs"};
    for (int d = 0; d < 2; d++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", shared, dirs[d]);
        struct tally t = {0};
        assert_int_equal(nb_walk(dir, scan_file, NULL, &t), 0);
        assert_true(t.seen > 0);
        if (t.accepted != t.seen)
            fail_msg("%s: the scanner fell back on %ld of %ld notebooks", dirs[d],
                     t.seen - t.accepted, t.seen);
    }
}

static int teardown(void **state)
{
    (void)state;
    cellscan_free(&scan);
    return 0;
}

/* json_skip_plain (SSE2, 16 bytes at a time) against the byte table: from every start
 * to every end of random buffers
 * with the stop bytes sparse or dense (quote, backslash, control, >= 0x80), each buffer
 * its own allocation of exactly its length, so a read past END would be out of it. */
static void skip_plain_matches_table(void **state)
{
    (void)state;
    unsigned long long r = 2024;
    for (int rep = 0; rep < 300; rep++) {
        size_t n = (size_t)(r % 200);
        unsigned char *buf = malloc(n ? n : 1);
        int sparse = rep % 3;
        for (size_t i = 0; i < n; i++) {
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            static const unsigned char stops[] = {'"', '\\', 0, 0x1f, 0x80, 0xc3, 0xff, '\n'};
            buf[i] = (r >> 20) % (sparse ? 90 : 4) ? (unsigned char)(0x20 + (r >> 8) % 0x60)
                                                   : stops[(r >> 32) % sizeof stops];
        }
        for (size_t from = 0; from <= n; from++)
            for (size_t to = from; to <= n; to += 1 + (to - from) / 8) {
                const unsigned char *want = buf + from;
                while (want < buf + to && json_plain[*want]) want++;
                assert_ptr_equal(json_skip_plain(buf + from, buf + to), want);
            }
        free(buf);
        r += (unsigned long long)rep;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(skip_plain_matches_table),
        cmocka_unit_test(agrees_on_tricky_notebooks),
        cmocka_unit_test(agrees_under_mutation),
        cmocka_unit_test(takes_every_shared_notebook),
    };
    return cmocka_run_group_tests_name("cellscan", tests, NULL, teardown);
}
