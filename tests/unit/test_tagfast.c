/* test_tagfast.c — the fast path of `nbstage tag` (model/tagfast.c, nbformat/
 * canonscan.c) against the jansson path it replaces (nb_read_mem + tag_notebook +
 * nb_dumps): whenever the fast path takes a notebook, jansson must read it, nb_dumps
 * must give its bytes back (it was canonical), and the new bytes and the tag_result
 * (counts, and per-cell changes for --dry-run) must be identical.  Run over the shared
 * notebooks (tagged, then re-tagged by another model: stale and refreshed tags), over
 * hand-made edge cases, over layouts it must leave to jansson, and under random
 * damage. */
#include "tests/unit/unit.h"
#include "tests/unit/unit_model.h"
#include "tests/unit/unit_tagdiff.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/classcache.h"
#include "model/tagfast.h"
#include "model/tagging.h"
#include "nbformat/canonscan.h"
#include "nbformat/nbinternal.h"
#include "nbformat/notebook.h"

#if defined(__SANITIZE_ADDRESS__)
#define STRIDE 23 /* a sample of the corpus under ASan (every notebook otherwise) */
#define RETAG_STRIDE 1
#define MUTATIONS 2000
#else
#define STRIDE 1
#define RETAG_STRIDE 4 /* of those, the ones re-tagged by a second model */
#define MUTATIONS 20000
#endif

static struct tagfast tf;

/* Both paths over BUF (tests/unit/unit_tagdiff.h).  1 when the fast path took it (and
 * agreed), 0 when it left it to jansson.  The new bytes go to *OUT (malloc'd) when OUT
 * is not NULL. */
static int differential(const char *buf, size_t len, const struct tag_options *opt,
                        char **out, size_t *outlen)
{
    return unit_tag_differential(&tf, buf, len, opt, out, outlen);
}

/* A real model file with random weights (the stages it gives are arbitrary, which is
 * all a differential test needs), named differently from the default model. */
static nbs_model *small_model(void) { return unit_small_model(11, "test_tagfast"); }

/* ---------------------------------------------------------------- hand-made cases */

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j) fail_msg("bad test JSON: %s (%s)", e.text, text);
    return j;
}

/* A canonical notebook (nb_dumps) of code cells with these sources and metadata
 * (NULL: no metadata member at all), a markdown cell in between. */
static char *notebook(const char *const *src, const char *const *meta, size_t n, size_t *len)
{
    json_t *cells = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_pack("{s:s, s:n, s:[], s:s}", "cell_type", "code", "execution_count",
                              "outputs", "source", src[i]);
        if (meta[i]) json_object_set_new(c, "metadata", parse(meta[i]));
        json_array_append_new(cells, c);
        if (i == 1) /* a markdown cell's tags, not a stage (tag would remove one) */
            json_array_append_new(cells, json_pack("{s:s, s:{s:[s]}, s:s}", "cell_type",
                                                   "markdown", "metadata", "tags",
                                                   "stage", "source", "# x"));
    }
    json_t *nb = json_pack("{s:o, s:{s:{s:s}}, s:i, s:i}", "cells", cells, "metadata",
                           "kernelspec", "name", "python3", "nbformat", 4, "nbformat_minor", 5);
    char *s = nb_dumps(nb, len);
    json_decref(nb);
    return s;
}

static const char *const edge_src[] = {
    "model.fit(x, y)",
    "df = pd.read_csv('x')\ndf.head()",
    "",
    "# only a comment\n   # another",
    "print(df.shape)",
    "import pandas as pd",
    "plt.plot(x)",
    "x = 1",
    "y = 2",
    "np.mean(x)",
    "df.describe()",
    "model.predict(x)",
    "",
    "# c",
    "x",
    "y",
    "z",
};

static const char *const edge_meta[] = {
    "{}",
    "{\"tags\": [\"mine\", \"stage:bogus\"]}",
    /* blank cells losing a stale tag, keeping the other tags */
    "{\"tags\": [\"a\", \"stage:load\", \"b\"], \"workflow_stage\": {\"confidence\": 0.5, "
    "\"model\": \"m\", \"stage\": \"load\"}}",
    "{\"tags\": [\"stage:load\"], \"workflow_stage\": {\"stage\": \"load\"}}",
    /* stale: another stage, several stage tags, disagreeing halves */
    "{\"a\": 1, \"collapsed\": false, \"tags\": [\"stage:load\", \"x\", \"stage:prep\"], "
    "\"workflow_stage\": {\"confidence\": 0.5, \"model\": \"m\", \"stage\": \"prep\"}, "
    "\"zzz\": {\"nested\": [1, 2.5, null]}}",
    "{\"ta\": 2, \"tags\": [\"t\"], \"tags_x\": 1, \"workflow_stage\": 7}",
    "{\"tags\": [], \"workflow_stage\": {\"confidence\": 1, \"model\": \"m\", \"stage\": \"zzz\","
    " \"x\": true}}",
    "{\"tags\": [\"1\", \"stage:train\", \"stage:loadx\"]}",
    "{\"scrolled\": true}",
    "{\"ExecuteTime\": {\"end_time\": \"2020\"}, \"b\": [], \"c\": {}}",
    "{\"workflow_stage\": {\"confidence\": 0.25, \"model\": \"other\", \"stage\": \"explore\"}}",
    "{\"tags\": [\"stage:explore\"]}",
    /* blank, with nothing to lose / with an empty tag list / without metadata */
    "{\"tags\": [\"keep\"]}",
    "{\"tags\": [], \"workflow_stage\": null}",
    NULL,
    "{\"tags\": [\"stage:evaluate\", \"stage:evaluate\"]}",
    "{\"tags\": [\"z\"], \"workflow_stage\": {}}",
};

enum { N_EDGE = sizeof edge_src / sizeof edge_src[0] };

static void edge_cases(void **state)
{
    (void)state;
    _Static_assert(sizeof edge_meta / sizeof edge_meta[0] == N_EDGE, "one metadata per cell");
    nbs_model *m = small_model();
    struct tag_options opt = {.model = m, .record = 1, .count_lines = 1};
    size_t len, len2, len3;
    /* without metadata, a cell needing a tag is left to jansson ... */
    char *buf = notebook(edge_src, edge_meta, N_EDGE, &len);
    assert_int_equal(differential(buf, len, &opt, NULL, NULL), 0);
    free(buf);
    /* ... as is a cell whose tags are not all strings (tag refuses the notebook there,
     * tag_tags_not_a_list_of_strings; the splice added its tag to the list) */
    {
        const char *meta[2] = {"{\"tags\": [\"a\", 1]}", "{}"}, *code[2] = {"import os", "x = 1"};
        char *odd = notebook(code, meta, 2, &len);
        assert_int_equal(differential(odd, len, &opt, NULL, NULL), 0);
        json_t *nb = parse(odd);
        assert_int_equal(tag_tags_not_a_list_of_strings(nb, NULL), 0);
        json_decref(nb);
        free(odd);
    }
    /* ... as is a markdown or raw cell that may carry a stage (tag removes it) */
    {
        const char *meta[2] = {"{}", "{}"}, *code[2] = {"import os", "x = 1"};
        char *plain = notebook(code, meta, 2, &len);
        assert_int_equal(differential(plain, len, &opt, NULL, NULL), 1);
        const char *marks[] = {"[\n     \"stage:load\"\n    ]", "[\n     \"mine\",\n     \"stage:x\"\n    ]"};
        for (size_t k = 0; k < 2; k++) {
            char *at = strstr(plain, "[\n     \"stage\"\n    ]"), marked[4096];
            assert_non_null(at);
            snprintf(marked, sizeof marked, "%.*s%s%s", (int)(at - plain), plain, marks[k],
                     at + strlen("[\n     \"stage\"\n    ]"));
            assert_int_equal(differential(marked, strlen(marked), &opt, NULL, NULL), 0);
        }
        free(plain);
    }
    /* ... a blank one is not */
    const char *src[N_EDGE];
    memcpy(src, edge_src, sizeof src);
    src[14] = "   ";
    buf = notebook(src, edge_meta, N_EDGE, &len);
    char *once, *twice;
    assert_int_equal(differential(buf, len, &opt, &once, &len2), 1);
    /* every kind of change happened, the blank cells lost their tags */
    struct tag_result r;
    int changed;
    assert_int_equal(tagfast_notebook(&tf, buf, len, &opt, 1, &r, &changed), 0);
    assert_true(changed && r.missing && r.stale && r.removed);
    assert_int_equal(r.blank, 5);
    tag_result_free(&r);
    assert_non_null(strstr(once, "    \"tags\": [\n     \"a\",\n     \"b\"\n    ]"));
    /* a second run: nothing changes, to the byte, with or without the cache */
    assert_int_equal(differential(once, len2, &opt, &twice, &len3), 1);
    assert_int_equal(len2, len3);
    assert_memory_equal(once, twice, len2);
    struct classcache *cache = classcache_new(m);
    struct tag_options cached = opt;
    cached.cache = cache;
    assert_int_equal(differential(buf, len, &cached, NULL, NULL), 1);
    assert_int_equal(differential(buf, len, &cached, NULL, NULL), 1);
    long hits, misses;
    classcache_stats(cache, &hits, &misses);
    assert_true(hits > misses);
    classcache_free(cache);
    /* refreshed: same stages, another confidence (rewritten by hand) */
    char *p = strstr(once, "\"confidence\": 0.");
    assert_non_null(p);
    p[strlen("\"confidence\": 0.")] = p[strlen("\"confidence\": 0.")] == '1' ? '2' : '1';
    assert_int_equal(tagfast_notebook(&tf, once, len2, &opt, 1, &r, &changed), 0);
    assert_int_equal(r.refreshed, 1);
    assert_int_equal(r.missing + r.stale + r.removed, 0);
    tag_result_free(&r);
    assert_int_equal(differential(once, len2, &opt, NULL, NULL), 1);
    free(once);
    free(twice);
    free(buf);
    /* "tags" that is not a list, even on a blank cell: not for this path (tag refuses
     * the notebook on the jansson path: the stage tag would replace the user's value) */
    const char *bad[] = {"{\"tags\": \"not a list\"}", "{\"tags\": {\"a\": 1}}", "{\"tags\": null}"};
    for (size_t k = 0; k < 3; k++)
        for (size_t at = 0; at < 2; at++) {
            const char *meta[2] = {"{}", "{}"}, *two[2] = {"model.fit(x, y)", "# blank"};
            meta[at] = bad[k];
            buf = notebook(two, meta, 2, &len);
            assert_int_equal(tagfast_notebook(&tf, buf, len, &opt, 1, &r, &changed), 1);
            free(buf);
        }
    model_free(m);
}

/* Notebooks jansson reads but that are not canonical (or that the fast path leaves
 * alone on purpose): all must go to jansson. */
static void other_layouts_fall_back(void **state)
{
    (void)state;
    nbs_model *m = small_model();
    struct tag_options opt = {.model = m};
    const char *src[] = {"model.fit(x, y)", "x = 1"};
    const char *meta[] = {"{}", "{\"a\": \"b\"}"};
    size_t len;
    char *canon = notebook(src, meta, 2, &len);
    assert_int_equal(differential(canon, len, &opt, NULL, NULL), 1);
    /* each: a piece of the canonical text and what replaces it */
    static const struct { const char *from, *to; } edits[] = {
        {"\"a\": \"b\"", "\"a\": \"\\/\""},          /* an escape Python does not write */
        {"\"a\": \"b\"", "\"a\": \"\\u0062\""},
        {"\"a\": \"b\"", "\"a\": \"\\u001F\""},      /* uppercase hex */
        {"\"a\": \"b\"", "\"a\": \"\\u000a\""},      /* \n has a short form */
        {"\"a\": \"b\"", "\"a\": 1E5"},
        {"\"a\": \"b\"", "\"a\": 1.50"},
        {"\"a\": \"b\"", "\"a\": 100000.0e0"},
        {"\"a\": \"b\"", "\"a\": -0"},
        {"\"a\": \"b\"", "\"a\": 1234567890123456789"},
        {"\"a\": \"b\"", "\"a\":\"b\""},
        {"\"a\": \"b\"", "\"a\" : \"b\""},
        {"\"a\": \"b\"", "\"b\": 1, \"a\": 2"},     /* unsorted (and one line) */
        {"\"a\": \"b\"", "\"tags\": [\"x\\ty\"]"},  /* escaped tag: jansson's job */
        {"\"kernelspec\"", "\"k\\u0065rnelspec\""},  /* escaped key */
        {"\n \"nbformat\": 4", "\n  \"nbformat\": 4"},
        {"\n \"nbformat\": 4", "\n\t\"nbformat\": 4"},
        {"\"nbformat\": 4", "\"nbformat\": 3"},
        {"\"cell_type\": \"code\"", "\"cell_type\": \"c\\u006fde\""},
        {"}\n", "}"},
        {"}\n", "}\n\n"},
        {"}\n", "} \n"},
        {"\n", "\r\n"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        const char *at = strstr(canon, edits[i].from);
        if (!at) fail_msg("edit %zu: '%s' not found", i, edits[i].from);
        if (!strcmp(edits[i].from, "}\n")) at = canon + len - 2;
        char buf[4096];
        size_t pre = (size_t)(at - canon), fl = strlen(edits[i].from), tl = strlen(edits[i].to);
        assert_true(len - fl + tl < sizeof buf);
        memcpy(buf, canon, pre);
        memcpy(buf + pre, edits[i].to, tl);
        memcpy(buf + pre + tl, at + fl, len - pre - fl);
        size_t n = len - fl + tl;
        struct tag_result r;
        int changed;
        if (tagfast_notebook(&tf, buf, n, &opt, 1, &r, &changed) != 1)
            fail_msg("edit %zu (%s) taken by the fast path", i, edits[i].to);
        tag_result_free(&r);
    }
    /* --from-outputs and --strip-tag-outputs read outputs: always jansson's */
    struct tag_options fo = {.model = m, .from_outputs = 1}, so = {.model = m, .strip_outputs = 1};
    assert_int_equal(differential(canon, len, &fo, NULL, NULL), 0);
    assert_int_equal(differential(canon, len, &so, NULL, NULL), 0);
    /* reals in Python's repr are canonical */
    static const char *reals[] = {"0.5", "1e-05", "1.5e+300", "-0.0", "100000.0", "1e+16",
                                  "0.0001", "123456789.123"};
    for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "{\"a\": %s}", reals[i]);
        const char *meta2[] = {"{}", text};
        size_t n;
        char *b = notebook(src, meta2, 2, &n);
        if (!differential(b, n, &opt, NULL, NULL)) fail_msg("real %s refused", reals[i]);
        free(b);
    }
    free(canon);
    model_free(m);
}

/* canonscan's verdict on one real against Python's repr of the double it reads as. */
static void real_verdict(const char *real)
{
    char nb[256], repr[64], *end;
    snprintf(nb, sizeof nb, "{\n \"cells\": [],\n \"metadata\": {\n  \"a\": %s\n },\n"
             " \"nbformat\": 4\n}\n", real);
    double x = strtod(real, &end);
    nb_float_repr(x, repr, sizeof repr);
    int canonical = !strcmp(repr, real) && !isinf(x);
    struct canonscan s = {0};
    int took = canonscan_run(&s, nb, strlen(nb)) == 0;
    canonscan_free(&s);
    if (took != canonical) fail_msg("real %s: scanner says %d, repr is %s", real, took, repr);
}

static void reals_as_python_writes_them(void **state)
{
    (void)state;
    static const char *fixed[] = {"0.0", "-0.0", "0.00", "0.5", "0.50", "0.0001", "0.00001",
                                  "120.0", "120.00", "12.5", "-12.5", "1.05", "10.50",
                                  "1000000000000000.0", "10000000000000000.0",
                                  "100000000000000000.0", "1234567890123456.0",
                                  "123456789012345.6", "0.1234567890123456789", "1e-05",
                                  "1e+16", "1e16", "1E+16", "1.5e+300", "1e400", "1e-400",
                                  "5e-324", "2.5e-05", "0.1", "0.30000000000000004",
                                  /* 39, 40 and 41 bytes: longer than any repr, around the
                                   * scanner's buffer for strtod (40) */
                                  "1.0000000000000000000000000000000000001",
                                  "1.00000000000000000000000000000000000001",
                                  "1.000000000000000000000000000000000000001"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) real_verdict(fixed[i]);
    /* random digit strings, point and exponent anywhere */
    unsigned long long x = 0x243f6a8885a308d3ULL;
    for (int it = 0; it < MUTATIONS; it++) {
        char r[48];
        size_t n = 0;
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        if (x & 1) r[n++] = '-';
        int digits = 1 + (int)((x >> 8) % 19), dot = (int)((x >> 16) % (unsigned)digits);
        for (int d = 0; d < digits; d++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            /* zeros often: they make the cases */
            r[n++] = (char)((x % 3 == 0) ? '0' : '0' + (int)((x >> 12) % 10));
            if (d == dot) r[n++] = '.';
        }
        if (r[n - 1] == '.') r[n++] = '0';
        if ((r[0] == '0' || (r[0] == '-' && r[1] == '0')) && r[(r[0] == '-') + 1] != '.')
            continue; /* a leading zero: not JSON */
        if ((x >> 30) % 4 == 0) n += (size_t)sprintf(r + n, "e%+03d", (int)((x >> 33) % 41) - 20);
        r[n] = 0;
        real_verdict(r);
    }
}

/* Random damage to a canonical notebook: whatever the fast path still takes must be
 * what jansson reads and writes the same way. */
static void agrees_under_mutation(void **state)
{
    (void)state;
    nbs_model *m = small_model();
    struct tag_options opt = {.model = m, .record = 1};
    const char *src[] = {"model.fit(x, y)", "df.head()\n# c", ""};
    /* the second split in two literals: parenthesised for clang's -Wstring-concatenation */
    const char *meta[] = {"{\"tags\": [\"a\", \"stage:prep\"]}",
                          ("{\"b\": [1.5, \"\\u00e9\\n\"], \"workflow_stage\": {\"confidence\": "
                           "0.5, \"model\": \"m\", \"stage\": \"load\"}}"),
                          "{\"tags\": [\"stage:load\"]}"};
    size_t n;
    char *base = notebook(src, meta, 3, &n);
    char buf[4096];
    assert_true(n + 16 < sizeof buf);
    unsigned long long x = 0x9e3779b97f4a7c15ULL;
    int accepted = 0;
    for (int it = 0; it < MUTATIONS; it++) {
        memcpy(buf, base, n);
        size_t len = n;
        int edits = 1 + (int)(x % 2);
        for (int e = 0; e < edits; e++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            size_t at = (size_t)(x >> 8) % len;
            static const char pool[] = "{}[]\",:\\u0123456789eE.-+ \n\ttrufalsnsg\x80\xc3\xa9\xff";
            switch (x % 4) {
            case 0: buf[at] = pool[(x >> 40) % (sizeof pool - 1)]; break;
            case 1: memmove(buf + at, buf + at + 1, len - at - 1); len--; break;
            case 2:
                memmove(buf + at + 1, buf + at, len - at);
                buf[at] = pool[(x >> 40) % (sizeof pool - 1)];
                len++;
                break;
            case 3: len = at + 1; break;
            }
        }
        accepted += differential(buf, len, &opt, NULL, NULL);
    }
    assert_true(accepted > 0); /* damage inside strings keeps it canonical */
    free(base);
    model_free(m);
}

/* ---------------------------------------------------------------- the shared notebooks */

struct walk {
    const struct tag_options *first, *second;
    long files, seen, fast, retagged, fast_second;
};

static int one_file(const char *path, const char *rel, void *ctx)
{
    struct walk *w = ctx;
    (void)rel;
    if (w->files++ % STRIDE) return 0;
    w->seen++;
    size_t n = 0;
    char *buf = unit_read_file(path, &n);
    assert_non_null(buf);
    char *out = NULL;
    size_t outlen;
    if (differential(buf, (size_t)n, w->first, &out, &outlen)) {
        w->fast++;
        if ((w->seen - 1) % RETAG_STRIDE) { /* re-tag a sample: keeps the test short */
            free(out);
            free(buf);
            return 0;
        }
        w->retagged++;
        /* re-tagged by another model: every tag refreshed or stale; then idempotent */
        char *again = NULL;
        size_t againlen;
        w->fast_second += differential(out, outlen, w->second, &again, &againlen);
        if (again) assert_int_equal(differential(again, againlen, w->second, NULL, NULL), 1);
        free(again);
    }
    free(out);
    free(buf);
    return 0;
}

static void shared_notebooks(void **state)
{
    (void)state;
    const char *shared = unit_shared_dir();
    if (!shared) { skip(); return; }
    char err[512];
    nbs_model *def = model_load("share/default.nbsm", err, sizeof err);
    nbs_model *small = small_model();
    if (!def) def = small_model(); /* no shipped model here: two random ones */
    struct classcache *c1 = classcache_new(def), *c2 = classcache_new(small);
    struct tag_options first = {.model = def, .cache = c1, .record = 1};
    struct tag_options second = {.model = small, .cache = c2, .record = 1, .count_lines = 1};
    static const char *dirs[] = {"notebooks-with-outputs", "corpus"};
    for (int d = 0; d < 2; d++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/%s", shared, dirs[d]);
        struct walk w = {&first, &second, 0, 0, 0, 0, 0};
        assert_int_equal(nb_walk(dir, one_file, NULL, &w), 0);
        print_message("%s: %ld notebooks compared, %ld on the fast path; %ld re-tagged, %ld "
                      "on it\n", dirs[d], w.seen, w.fast, w.retagged, w.fast_second);
        assert_true(w.seen > 0);
        /* the corpus is canonical throughout: all of it must take the fast path */
        if (d == 1) assert_int_equal(w.fast, w.seen);
        assert_int_equal(w.fast_second, w.retagged);
    }
    classcache_free(c1);
    classcache_free(c2);
    model_free(def);
    model_free(small);
}

/* canonscan's decoded sources (string_decode: inline appends, the quote right after
 * an escape) against the sources themselves, through nb_dumps, as one string and as
 * lists of lines: random text of plain bytes, every escape Python writes (quote,
 * backslash, the short forms, \u00xx controls), UTF-8, lines ending in escapes. */
static void sources_decode_exactly(void **state)
{
    (void)state;
    static const char *const pieces[] = {"x = 1", "\n", "\"", "\\", "\t", "\r", "\b", "\f", "\x01",
                                         "\x1f", "\xc3\xa9", "\xe2\x82\xac", "'", "abc def ghi jkl",
                                         "\\n", "\n\n", "0123456789abcdef0123456789abcdef"};
    unsigned long long r = 77;
    for (int rep = 0; rep < 400; rep++) {
        char src[3][512];
        for (int c = 0; c < 3; c++) {
            size_t n = 0, want = (size_t)(r % 400);
            while (n < want) {
                r ^= r << 13; r ^= r >> 7; r ^= r << 17;
                const char *p = pieces[(r >> 16) % (sizeof pieces / sizeof pieces[0])];
                memcpy(src[c] + n, p, strlen(p));
                n += strlen(p);
            }
            src[c][n] = 0;
        }
        json_t *cells = json_array();
        for (int c = 0; c < 3; c++)
            json_array_append_new(cells, json_pack("{s:s, s:n, s:{}, s:[], s:s}", "cell_type", "code",
                                                   "execution_count", "metadata", "outputs", "source",
                                                   src[c]));
        json_t *nb = json_pack("{s:o, s:{}, s:i, s:i}", "cells", cells, "metadata", "nbformat", 4,
                               "nbformat_minor", 5);
        if (rep % 2) nb_split_lines(nb); /* lists of lines, as nbformat.write */
        size_t len;
        char *bytes = nb_dumps(nb, &len);
        json_decref(nb);
        struct canonscan s = {0};
        assert_int_equal(canonscan_run(&s, bytes, len), 0);
        assert_int_equal(s.n, 3);
        for (int c = 0; c < 3; c++) {
            assert_int_equal(s.cells[c].src_len, strlen(src[c]));
            assert_memory_equal(s.text.p + s.cells[c].src_off, src[c], strlen(src[c]) + 1);
        }
        canonscan_free(&s);
        free(bytes);
        r += (unsigned long long)rep;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sources_decode_exactly),
        cmocka_unit_test(edge_cases),
        cmocka_unit_test(other_layouts_fall_back),
        cmocka_unit_test(reals_as_python_writes_them),
        cmocka_unit_test(agrees_under_mutation),
        cmocka_unit_test(shared_notebooks),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tagfast_free(&tf);
    return rc;
}
