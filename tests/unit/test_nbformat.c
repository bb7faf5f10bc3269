/* test_nbformat.c — the notebook library: canonical writer, reader errors, lenient
 * reading (NB_LENIENT), v3 upgrade, split/rejoin lines, cell access, atomic save, the
 * walker (hidden files and folders skipped, .ipynb in any case), long error messages,
 * the progress bar. */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "nbformat/nbinternal.h"
#include "nbformat/notebook.h"
#include "nbformat/progress.h"

/* ---------------------------------------------------------------- helpers */

static json_t *read_str(const char *s, int flags, nb_error *err)
{
    return nb_read_mem(s, strlen(s), "t.ipynb", flags, err);
}

/* ---------------------------------------------------------------- the writer */

/* Expected bytes printed by Python: json.dumps(d, indent=1, sort_keys=True,
 * ensure_ascii=False) + "\n". */
static void dumps_like_python(void **state)
{
    (void)state;
    const char *in =
        "{\"z\": [1.0, 1e-05, 0.0001, 1e16, 1e15, -0.0, 0.1, 5e-324, 1.7976931348623157e308,"
        " 123456789.123, 1e22, 2.5e-05, 100, -7, 9223372036854775807],"
        " \"a\": {\"\\u00e9\": \"x\\u0000\\u001f\\u007f\\\"\\\\\\n\\r\\t\\b\\f/\\u2028\\ud83d\\ude00\","
        " \"b\": [], \"c\": {}, \"A\": [null, true, false, [[]]]}, \"Z\": \"\"}";
    const char *want =
        "{\n \"Z\": \"\",\n \"a\": {\n  \"A\": [\n   null,\n   true,\n   false,\n   [\n    []\n"
        "   ]\n  ],\n  \"b\": [],\n  \"c\": {},\n  \"\xc3\xa9\": \"x\\u0000\\u001f\x7f\\\"\\\\"
        "\\n\\r\\t\\b\\f/\xe2\x80\xa8\xf0\x9f\x98\x80\"\n },\n \"z\": [\n  1.0,\n  1e-05,\n"
        "  0.0001,\n  1e+16,\n  1000000000000000.0,\n  -0.0,\n  0.1,\n  5e-324,\n"
        "  1.7976931348623157e+308,\n  123456789.123,\n  1e+22,\n  2.5e-05,\n  100,\n  -7,\n"
        "  9223372036854775807\n ]\n}\n";
    json_error_t je;
    json_t *v = json_loads(in, JSON_ALLOW_NUL, &je);
    assert_non_null(v);
    size_t n;
    char *out = nb_dumps(v, &n);
    assert_non_null(out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    free(out);
    json_decref(v);
}

/* Every double printed must read back as itself (shortness against Python is checked
 * in tests/integration/test_nbformat_python.py). */
static void floats_round_trip(void **state)
{
    (void)state;
    unsigned long long x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17; /* xorshift64 */
        double d;
        memcpy(&d, &x, sizeof d);
        if (d != d || d - d != 0) continue; /* NaN, inf */
        json_t *v = json_pack("[f]", d);
        char *s = nb_dumps(v, NULL);
        json_t *back = json_loads(s, 0, NULL);
        assert_non_null(back);
        json_t *r = json_array_get(back, 0);
        assert_true(json_is_real(r));
        assert_memory_equal(&d, &(double){json_real_value(r)}, sizeof d);
        free(s);
        json_decref(v);
        json_decref(back);
    }
}

/* Powers of two, where the interval of decimals that read back is narrower below the
 * value than above: there the correctly rounded 16-digit form misses and Python's
 * repr is its upper neighbour (the last digit one more), not 17 digits.  Expected
 * strings from Python's repr(). */
static void floats_at_powers_of_two_like_python(void **state)
{
    (void)state;
    static const struct { double x; const char *repr; } cases[] = {
        {0x1.p-1017, "7.120236347223045e-307"},
        {0x1.p-695, "6.083493012144512e-210"},
        {0x1.p-296, "7.854549544476363e-90"},
        {0x1.p+172, "5.986310706507379e+51"},
        {0x1.p+534, "5.623642243178996e+160"},
        {-0x1.p+976, "-6.386688990511104e+293"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[64];
        nb_float_repr(cases[i].x, out, sizeof out);
        assert_string_equal(out, cases[i].repr);
    }
}

/* The writer's buffer grows by doubling from 4096 bytes and ends with a NUL after the
 * text: outputs whose length is around a power of two, and an indented line (the
 * second element) around it, are whole and terminated (under ASan, a write past the
 * buffer is an error). */
static void dumps_sizes_around_the_buffer_growth(void **state)
{
    (void)state;
    const size_t around[] = {4096, 8192, 16384};
    for (size_t a = 0; a < sizeof around / sizeof *around; a++)
        for (size_t sn = around[a] - 32; sn <= around[a] - 14; sn++) {
            char *str = malloc(sn + 1);
            assert_non_null(str);
            memset(str, 'x', sn);
            str[sn] = 0;
            json_t *v = json_pack("{s:[s,i]}", "a", str, 1);
            size_t n;
            char *out = nb_dumps(v, &n);
            assert_non_null(out);
            assert_int_equal(n, sn + 25);
            assert_int_equal(strlen(out), n);
            assert_memory_equal(out, "{\n \"a\": [\n  \"x", 14);
            assert_string_equal(out + 13 + sn, "\",\n  1\n ]\n}\n");
            free(out);
            free(str);
            json_decref(v);
        }
}

/* ---------------------------------------------------------------- the reader */

static void reads_v4_and_keeps_unknown_fields(void **state)
{
    (void)state;
    const char *s =
        "{\"cells\": [{\"cell_type\": \"code\", \"execution_count\": 3, \"metadata\": {},"
        " \"outputs\": [], \"source\": [\"import os\\n\", \"os.getcwd()\"], \"x-extra\": 1},"
        " {\"cell_type\": \"markdown\", \"metadata\": {}, \"source\": \"# T\"},"
        " {\"cell_type\": \"weird\", \"metadata\": {}},"
        " {\"cell_type\": \"code\", \"metadata\": {}, \"outputs\": [], \"source\": null}],"
        " \"metadata\": {\"kernelspec\": {\"name\": \"python3\"}}, \"nbformat\": 4,"
        " \"nbformat_minor\": 2, \"top-extra\": [1.5]}";
    nb_error err;
    json_t *nb = read_str(s, 0, &err);
    assert_non_null(nb);
    assert_int_equal(nb_cell_count(nb), 4);
    assert_string_equal(nb_cell_type(nb_cell(nb, 0)), "code");
    assert_string_equal(nb_cell_type(nb_cell(nb, 1)), "markdown");
    assert_null(nb_cell_type(nb_cell(nb, 2)));
    assert_null(nb_cell(nb, 4));
    size_t n;
    char *src = nb_cell_source(nb_cell(nb, 0), &n);
    assert_string_equal(src, "import os\nos.getcwd()");
    assert_int_equal(n, 21);
    free(src);
    src = nb_cell_source(nb_cell(nb, 1), &n);
    assert_string_equal(src, "# T");
    free(src);
    src = nb_cell_source(nb_cell(nb, 2), &n); /* no source at all */
    assert_string_equal(src, "");
    assert_int_equal(n, 0);
    free(src);
    src = nb_cell_source(nb_cell(nb, 3), &n); /* source: null */
    assert_string_equal(src, "");
    free(src);
    char *out = nb_dumps(nb, NULL);
    assert_non_null(strstr(out, "\"x-extra\": 1"));
    assert_non_null(strstr(out, "\"top-extra\": [\n  1.5\n ]"));
    assert_non_null(strstr(out, "\"source\": null"));
    free(out);
    json_decref(nb);
}

static void refuses_with_position_and_reason(void **state)
{
    (void)state;
    static const struct { const char *in, *want; int flags; } cases[] = {
        {"{\"cells\": [", "t.ipynb:1:", 0},                                /* truncated */
        {"", "t.ipynb", 0},                                                 /* empty */
        {"{\"nbformat\": 4, \"cells\": [}", "t.ipynb:1:", 0},              /* malformed */
        {"{\"nbformat\": 4, \"cells\": [], \"s\": \"\xff\"}", "invalid UTF-8", 0},
        {"{\"nbformat\": 4, \"cells\": [], \"s\": \"\xc3\"}", "invalid UTF-8", 0},
        {"\xef\xbb\xbf{\"nbformat\": 4, \"cells\": []}", "byte-order mark", 0},
        {"{\"nbformat\": 4, \"cells\": [], \"n\": 123456789012345678901234567890}",
         "beyond 64 bits", 0},
        {"{\"nbformat\": 4, \"cells\": [], \"n\": -9223372036854775809}", "beyond 64 bits", 0},
        {"{\"nbformat\": 4, \"cells\": [], \"n\": NaN}", "NaN/Infinity", 0},
        {"{\"nbformat\": 4, \"cells\": [], \"n\": -Infinity}", "NaN/Infinity", 0},
        {"{\"nbformat\": 4, \"cells\": [], \"n\": 1e999}", "too large", 0},
        {"{\"nbformat\": 4, \"cells\": [], \"s\": \"\\ud800\"}", "surrogate", 0},
        {"{\"nbformat\": 4, \"cells\": [], \"cells\": []}", "duplicate", 0},
        {"{\"nbformat\": 4, \"cells\": [], \"m\": {\"a\\u0000b\": 1}}", "\\u0000", 0},
        {"[1, 2]", "top level is not an object", 0},
        {"df = pd.read_csv(p)\n", "not a notebook, which is one JSON object ('[' or '{' expected near 'df')", 0},
        {"{\"id\": \"a#0\"}\n{\"id\": \"a#1\"}\n", ":2:1: more than one JSON object: JSON Lines", 0},
        {"{\"cells\": []}", "no \"nbformat\"", 0},
        {"{\"nbformat\": \"4\", \"cells\": []}", "not an integer", 0},
        {"{\"nbformat\": 2, \"cells\": []}", "nbformat 2 is not supported", NB_ALLOW_V3},
        {"{\"nbformat\": 3, \"worksheets\": []}",
         "nbformat 3 is not supported (only 4.x here; ingest, classify and summary read v3)", 0},
        {"{\"nbformat\": 5, \"cells\": []}", "nbformat 5 is not supported (only 4.x and 3 here)",
         NB_ALLOW_V3},
        {"{\"nbformat\": 5, \"cells\": []}", "nbformat 5 is not supported (only 4.x here)", 0},
        {"{\"nbformat\": 4}", "no \"cells\"", 0},
        {"{\"nbformat\": 4, \"cells\": {}}", "not a list", 0},
        {"{\"nbformat\": 4, \"cells\": [3]}", "cells[0] is not an object", 0},
        {"{\"nbformat\": 4, \"cells\": [{}]}", "cells[0] has no cell_type", 0},
        {"{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"code\", \"source\": [1]}]}",
         "#0: cells[0].source", 0},
        {"{\"nbformat\": 4, \"cells\": [], \"metadata\": []}", "metadata", 0},
        {"{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"code\", \"metadata\": []}]}",
         "#0: cells[0].metadata is not an object", 0},
        {"{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"markdown\", \"metadata\": []}]}",
         "t.ipynb: cells[0].metadata is not an object", 0},
        {("{\"nbformat\": 4, \"cells\": [{\"cell_type\": \"raw\"}, {\"cell_type\": \"code\", "
          "\"outputs\": {}}]}"),
         "#0: cells[1].outputs is not a list", 0},
        {"{\"nbformat\": 4, \"cells\": []} trailing", "t.ipynb:1:", 0},
        {"{\"nbformat\": 3, \"worksheets\": [{\"cells\": 5}]}", "worksheets[0].cells",
         NB_ALLOW_V3},
        /* jansson quotes the bytes near the error as they are: shown as '?' */
        {"{\"cells\": \"a\\\n", "t.ipynb:2:0: invalid escape near '\"a\\?'", 0},
        {"{\"cells\": \"a\\\x1b[2J", "invalid escape near '\"a\\?'", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nb_error err;
        json_t *nb = read_str(cases[i].in, cases[i].flags, &err);
        if (nb || !strstr(err.msg, cases[i].want))
            fail_msg("case %zu: got %s, error \"%s\", want \"%s\"", i, nb ? "a notebook" : "NULL",
                     nb ? "" : err.msg, cases[i].want);
        for (const char *c = err.msg; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f) fail_msg("case %zu: control character in \"%s\"", i, err.msg);
    }
}

/* A NUL byte outside any string (a file a crash left zero-filled, or with zeros after
 * its end) is not JSON, and is said so where it is: jansson's lexer takes it for the
 * end of the input, and said "'[' or '{' expected near end of file" of a 4 KiB file of
 * zeros, or "end of file expected near end of file" of a notebook followed by zeros. */
static void a_nul_byte_is_named_not_taken_for_the_end(void **state)
{
    (void)state;
    static const char nb[] = "{\"nbformat\": 4, \"cells\": []}";
    static char zeros[4096], tail[sizeof nb + 8], lead[sizeof nb + 3];
    memcpy(tail, nb, sizeof nb - 1);               /* the notebook, then zeros */
    memcpy(lead, " \n\0", 3);                       /* white space, a NUL, then it */
    memcpy(lead + 3, nb, sizeof nb - 1);
    static const char mid[] = "{\"nbformat\": 4,\0 \"cells\": []}"; /* between members */
    const struct { const char *buf; size_t len; const char *at; } cases[] = {
        {zeros, sizeof zeros, "t.ipynb:1:1: "},
        {tail, sizeof tail, "t.ipynb:1:29: "},
        {lead, sizeof lead, "t.ipynb:2:1: "},
        {mid, sizeof mid - 1, "t.ipynb:1:16: "},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nb_error err;
        json_t *t = nb_read_mem(cases[i].buf, cases[i].len, "t.ipynb", 0, &err);
        if (t || !strstr(err.msg, cases[i].at) || !strstr(err.msg, "NUL byte") ||
            strstr(err.msg, "end of file"))
            fail_msg("case %zu: got %s, error \"%s\"", i, t ? "a notebook" : "NULL", t ? "" : err.msg);
    }
    /* the end of the input itself is still the end of file */
    nb_error err;
    assert_null(nb_read_mem("{\"cells\": [", 11, "t.ipynb", 0, &err));
    assert_null(strstr(err.msg, "NUL byte"));
}

/* A notebook left with git's conflict markers is said to hold one, where jansson's
 * "invalid token near '<'" did not say why; a '<' that is no marker is not. */
static void a_conflict_marker_is_named(void **state)
{
    (void)state;
    static const char *const conflicted[] = {
        "{\n \"cells\": [\n<<<<<<< HEAD\n  1,\n=======\n  2,\n>>>>>>> other\n ]\n}\n",
        "{\n \"cells\": [\n  1\n<<<<<<< ours\n  ,2\n||||||| base\n=======\n>>>>>>> theirs\n]}",
        "{\"cells\": [],\r\n<<<<<<<\r\n\"nbformat\": 4}",
        "{\n<<<<<<<\n \"cells\": []\n=======\n \"cells\": [1]\n>>>>>>>\n}\n", /* bare */
        "{\n \"cells\": [],\n<<<<<<<", /* cut right after the marker */
    };
    for (size_t i = 0; i < sizeof conflicted / sizeof conflicted[0]; i++) {
        nb_error err;
        /* an exact copy: under ASan, nothing past its end is read */
        size_t len = strlen(conflicted[i]);
        char *exact = malloc(len);
        assert_non_null(exact);
        memcpy(exact, conflicted[i], len);
        json_t *t = nb_read_mem(exact, len, "t.ipynb", 0, &err);
        free(exact);
        if (t || !strstr(err.msg, "t.ipynb:") || !strstr(err.msg, ": a merge conflict marker"))
            fail_msg("case %zu: got %s, error \"%s\"", i, t ? "a notebook" : "NULL", t ? "" : err.msg);
    }
    static const char *const other[] = {"{\n<<< x\n}", "{\n<<<<<<<<\n}", "{\n <<<<<<< x\n}",
                                        "{\n<<<"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        nb_error err;
        size_t len = strlen(other[i]);
        char *exact = malloc(len);
        assert_non_null(exact);
        memcpy(exact, other[i], len);
        assert_null(nb_read_mem(exact, len, "t.ipynb", 0, &err));
        free(exact);
        if (strstr(err.msg, "conflict")) fail_msg("other %zu: \"%s\"", i, err.msg);
    }
}

/* A notebook saved as UTF-16 (Windows PowerShell 5's > and Out-File write it, with
 * its byte-order mark) or UTF-32 is said to be one, where jansson's "invalid UTF-8
 * (unable to decode byte 0xff)" did not say why and a UTF-16 file without the mark was
 * said to hold "a NUL byte ... (a crash can leave a file zero-filled)".  A file of
 * zeros, or a UTF-8 one with a NUL after white space, is still said as before. */
static void a_utf16_notebook_is_named(void **state)
{
    (void)state;
    static const char ascii[] = "{\"nbformat\": 4, \"cells\": []}\n";
    enum { N = sizeof ascii - 1 };
    static char le_bom[2 + 2 * N], be_bom[2 + 2 * N], le[2 * N], be[2 * N], le_ws[2 * N],
        u32le[4 + 4 * N], u32be[4 + 4 * N];
    memcpy(le_bom, "\xff\xfe", 2);
    memcpy(be_bom, "\xfe\xff", 2);
    memcpy(u32le, "\xff\xfe\0\0", 4);
    memcpy(u32be, "\0\0\xfe\xff", 4);
    for (size_t i = 0; i < N; i++) {
        le_bom[2 + 2 * i] = le[2 * i] = ascii[i];
        be_bom[3 + 2 * i] = be[2 * i + 1] = ascii[i];
        u32le[4 + 4 * i] = u32be[7 + 4 * i] = ascii[i];
    }
    le_ws[0] = '\n'; /* white space before the '{' */
    memcpy(le_ws + 2, le, sizeof le_ws - 2);
    const struct { const char *buf; size_t len; const char *want; } cases[] = {
        {le_bom, sizeof le_bom, "t.ipynb:1:1: UTF-16 text, not UTF-8"},
        {be_bom, sizeof be_bom, "t.ipynb:1:1: UTF-16 text, not UTF-8"},
        {le, sizeof le, "t.ipynb:1:1: UTF-16 text, not UTF-8"},
        {be, sizeof be, "t.ipynb:1:1: UTF-16 text, not UTF-8"},
        {le_ws, sizeof le_ws, "t.ipynb:1:1: UTF-16 text, not UTF-8"},
        {u32le, sizeof u32le, "t.ipynb:1:1: UTF-32 text, not UTF-8"},
        {u32be, sizeof u32be, "t.ipynb:1:1: UTF-32 text, not UTF-8"},
        {le_bom, 2, "t.ipynb:1:1: UTF-16 text, not UTF-8"}, /* the mark alone: empty text */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nb_error err;
        json_t *t = nb_read_mem(cases[i].buf, cases[i].len, "t.ipynb", 0, &err);
        if (t || !strstr(err.msg, cases[i].want) || !strstr(err.msg, "nbformat refuses it too"))
            fail_msg("case %zu: got %s, error \"%s\"", i, t ? "a notebook" : "NULL", t ? "" : err.msg);
    }
    static const char zeros[64], lead[] = " \n\0{}";
    nb_error err;
    assert_null(nb_read_mem(zeros, sizeof zeros, "t.ipynb", 0, &err));
    assert_null(strstr(err.msg, "UTF-"));
    assert_null(nb_read_mem(lead, sizeof lead - 1, "t.ipynb", 0, &err));
    assert_null(strstr(err.msg, "UTF-"));
    /* a NUL after a first byte that no notebook starts with: not taken for UTF-16 */
    assert_null(nb_read_mem("x\0{\0}\0", 6, "t.ipynb", 0, &err));
    assert_null(strstr(err.msg, "UTF-"));
    assert_null(nb_read_mem("\xff{}", 3, "t.ipynb", 0, &err)); /* one stray byte: UTF-8's fault */
    assert_non_null(strstr(err.msg, "invalid UTF-8"));
}

/* NB_LENIENT (ingest): what Python's json reads but jansson cannot hold is read as
 * null or U+FFFD; escaped backslashes, surrogate pairs and look-alikes inside strings
 * are left as they are.  Without the flag such a file is refused. */
static void lenient_reads_what_python_reads(void **state)
{
    (void)state;
    const char *s =
        "{\"nbformat\": 4, \"nbformat_minor\": 4, \"metadata\": {\"a\": [NaN, Infinity, -Infinity,"
        " 123456789012345678901234567890, -1e400, 1e-400, -9223372036854775808, 2.5],"
        " \"s\": \"\\ud800|\\udc00|\\ud83d\\ude00|\\\\udc00|NaN 1e400\", \"t\": \"\\udbff\"},"
        " \"cells\": [{\"cell_type\": \"code\", \"source\": [\"x\\ud800\"], \"metadata\": {}}]}";
    nb_error err;
    assert_null(read_str(s, 0, &err));
    json_t *nb = read_str(s, NB_LENIENT, &err);
    assert_non_null(nb);
    char *out = nb_dumps(json_object_get(nb, "metadata"), NULL);
    assert_string_equal(out,
        "{\n \"a\": [\n  null,\n  null,\n  null,\n  null,\n  null,\n  0.0,\n"
        "  -9223372036854775808,\n  2.5\n ],\n"
        " \"s\": \"\xef\xbf\xbd|\xef\xbf\xbd|\xf0\x9f\x98\x80|\\\\udc00|NaN 1e400\",\n"
        " \"t\": \"\xef\xbf\xbd\"\n}\n");
    free(out);
    char *src = nb_cell_source(nb_cell(nb, 0), NULL);
    assert_string_equal(src, "x\xef\xbf\xbd");
    free(src);
    json_decref(nb);
    /* malformed JSON still is, with the strict reader's position and reason */
    assert_null(read_str("{\"nbformat\": 4, \"cells\": [NaN,", NB_LENIENT, &err));
    assert_non_null(strstr(err.msg, "t.ipynb:1:"));
}

/* NB_LENIENT's copy judges each number on its own bytes (not on what a longer one
 * before it left in the scratch buffer), at any length (127, 128 and 129 bytes: around
 * that buffer's size), and keeps a surrogate pair whose high half is the last one
 * (\udbff\udfff is U+10FFFF). */
static void lenient_judges_each_number_alone(void **state)
{
    (void)state;
    char big[3][130];
    for (int k = 0; k < 3; k++) {
        memset(big[k], '9', (size_t)(127 + k));
        big[k][127 + k] = 0;
    }
    char s[1024];
    snprintf(s, sizeof s,
             "{\"nbformat\": 4, \"cells\": [], \"metadata\": {\"a\": [NaN,"
             " 1000000000000000000000000000000000000000.5, 123456789012345678901234567890,"
             " 10000000000000000000000000000000000000000.5, 9223372036854775807, %s, %s, %s],"
             " \"u\": \"\\udbff\\udfff\"}}",
             big[0], big[1], big[2]);
    nb_error err;
    json_t *nb = read_str(s, NB_LENIENT, &err);
    if (!nb) fail_msg("%s", err.msg);
    char *out = nb_dumps(json_object_get(nb, "metadata"), NULL);
    assert_string_equal(out, "{\n \"a\": [\n  null,\n  1e+39,\n  null,\n  1e+40,\n"
                             "  9223372036854775807,\n  null,\n  null,\n  null\n ],\n"
                             " \"u\": \"\xf4\x8f\xbf\xbf\"\n}\n");
    free(out);
    json_decref(nb);
}

static void reads_nul_in_strings_losslessly(void **state)
{
    (void)state;
    const char *s = "{\n \"cells\": [],\n \"metadata\": {\n  \"k\": \"a\\u0000b\"\n },\n"
                    " \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n";
    nb_error err;
    json_t *nb = read_str(s, 0, &err);
    assert_non_null(nb);
    size_t n;
    char *out = nb_dumps(nb, &n);
    assert_int_equal(n, strlen(s));
    assert_memory_equal(out, s, n);
    free(out);
    json_decref(nb);
}

static void upgrades_v3(void **state)
{
    (void)state;
    const char *s =
        "{\"metadata\": {\"name\": \"old\", \"signature\": \"sha\"}, \"nbformat\": 3,"
        " \"nbformat_minor\": 0, \"worksheets\": [{\"cells\": ["
        "  {\"cell_type\": \"heading\", \"level\": 2, \"metadata\": {}, \"source\": [\"Title\\n\", \"two\"]},"
        "  {\"cell_type\": \"code\", \"collapsed\": false, \"input\": [\"import numpy\\n\", \"x = 1\"],"
        "   \"language\": \"python\", \"metadata\": {}, \"prompt_number\": 7, \"outputs\": ["
        "    {\"output_type\": \"pyout\", \"prompt_number\": 7, \"text\": [\"1\"], \"metadata\": {}},"
        "    {\"output_type\": \"stream\", \"stream\": \"stderr\", \"text\": \"w\"},"
        "    {\"output_type\": \"pyerr\", \"ename\": \"E\", \"evalue\": \"v\", \"traceback\": []}]},"
        "  {\"cell_type\": \"code\", \"input\": \"\", \"language\": \"python\", \"outputs\": []}]},"
        " {\"cells\": [{\"cell_type\": \"markdown\", \"source\": \"second sheet\"}]}]}";
    nb_error err;
    json_t *nb = read_str(s, NB_ALLOW_V3, &err);
    if (!nb) fail_msg("%s", err.msg);
    assert_int_equal(json_integer_value(json_object_get(nb, "nbformat")), 4);
    assert_null(json_object_get(nb, "worksheets"));
    json_t *md = json_object_get(nb, "metadata");
    assert_null(json_object_get(md, "name"));
    assert_null(json_object_get(md, "signature"));
    assert_int_equal(json_integer_value(json_object_get(md, "orig_nbformat")), 3);
    assert_int_equal(nb_cell_count(nb), 4);
    json_t *h = nb_cell(nb, 0);
    assert_string_equal(nb_cell_type(h), "markdown");
    char *src = nb_cell_source(h, NULL);
    assert_string_equal(src, "## Title two");
    free(src);
    json_t *code = nb_cell(nb, 1);
    assert_string_equal(nb_cell_type(code), "code");
    src = nb_cell_source(code, NULL);
    assert_string_equal(src, "import numpy\nx = 1");
    free(src);
    assert_int_equal(json_integer_value(json_object_get(code, "execution_count")), 7);
    assert_null(json_object_get(code, "input"));
    assert_null(json_object_get(code, "language"));
    assert_true(json_is_false(json_object_get(json_object_get(code, "metadata"), "collapsed")));
    json_t *outs = json_object_get(code, "outputs");
    json_t *o0 = json_array_get(outs, 0);
    assert_string_equal(json_string_value(json_object_get(o0, "output_type")), "execute_result");
    assert_int_equal(json_integer_value(json_object_get(o0, "execution_count")), 7);
    assert_non_null(json_object_get(json_object_get(o0, "data"), "text/plain"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(outs, 1), "name")), "stderr");
    assert_string_equal(json_string_value(json_object_get(json_array_get(outs, 2), "output_type")),
                        "error");
    json_t *c2 = nb_cell(nb, 2);
    assert_true(json_is_null(json_object_get(c2, "execution_count")));
    assert_non_null(json_object_get(c2, "metadata"));
    src = nb_cell_source(nb_cell(nb, 3), NULL);
    assert_string_equal(src, "second sheet");
    free(src);
    json_decref(nb);
}

/* The parts of the v3 upgrade upgrades_v3 does not look at, as
 * nbformat.v4.convert.upgrade does them: display_data's metadata kept (its mime
 * aliases renamed) or made, its data's keys moved out of the output, application/json
 * given as a string parsed, a heading's last line break dropped, its level capped, 1
 * when missing, none when negative, html cells as markdown (raw ones
 * kept), collapsed moved out of the cell, orig_nbformat moved into the metadata (which
 * is made when missing), the result marked 4.4; and the malformed worksheets refused. */
static void upgrades_v3_details(void **state)
{
    (void)state;
    char levels[64 + sizeof " Deep"];
    const char *s =
        "{\"orig_nbformat\": 2, \"orig_nbformat_minor\": 1, \"nbformat\": 3,"
        " \"nbformat_minor\": 0, \"worksheets\": [{\"cells\": ["
        "  {\"cell_type\": \"heading\", \"level\": 65, \"source\": \"Deep\\n\"},"
        "  {\"cell_type\": \"code\", \"collapsed\": true, \"input\": \"x\", \"outputs\": ["
        "    {\"output_type\": \"display_data\", \"png\": \"AAA\","
        "     \"metadata\": {\"png\": {\"width\": 9}}},"
        "    {\"output_type\": \"display_data\", \"json\": \"{\\\"a\\\": 1}\"}]},"
        "  {\"cell_type\": \"html\", \"source\": \"<b>x</b>\"},"
        "  {\"cell_type\": \"raw\", \"source\": \"r\"},"
        "  {\"cell_type\": \"heading\", \"source\": \"Plain\"},"
        "  {\"cell_type\": \"heading\", \"level\": -3, \"source\": \"Neg\"}]}]}";
    nb_error err;
    json_t *nb = read_str(s, NB_ALLOW_V3, &err);
    if (!nb) fail_msg("%s", err.msg);
    assert_int_equal(json_integer_value(json_object_get(nb, "nbformat_minor")), 4);
    assert_null(json_object_get(nb, "orig_nbformat"));
    assert_null(json_object_get(nb, "orig_nbformat_minor"));
    json_t *md = json_object_get(nb, "metadata");
    assert_int_equal(json_integer_value(json_object_get(md, "orig_nbformat")), 2);
    assert_int_equal(json_integer_value(json_object_get(md, "orig_nbformat_minor")), 1);
    /* 64 '#' (the cap), a space, the line without its break */
    memset(levels, '#', 64);
    strcpy(levels + 64, " Deep");
    char *src = nb_cell_source(nb_cell(nb, 0), NULL);
    assert_string_equal(src, levels);
    free(src);
    json_t *code = nb_cell(nb, 1);
    assert_null(json_object_get(code, "collapsed"));
    assert_true(json_is_true(json_object_get(json_object_get(code, "metadata"), "collapsed")));
    json_t *outs = json_object_get(code, "outputs");
    json_t *o0 = json_array_get(outs, 0);
    json_t *png = json_object_get(json_object_get(o0, "data"), "image/png");
    assert_string_equal(json_string_value(png), "AAA");
    json_t *omd = json_object_get(o0, "metadata");
    json_t *width = json_object_get(json_object_get(omd, "image/png"), "width");
    assert_int_equal(json_integer_value(width), 9);
    assert_null(json_object_get(omd, "png"));
    assert_null(json_object_get(o0, "png")); /* moved into data, not copied */
    json_t *o1 = json_array_get(outs, 1);
    assert_true(json_is_object(json_object_get(o1, "metadata")));
    assert_int_equal(json_object_size(json_object_get(o1, "metadata")), 0);
    json_t *js = json_object_get(json_object_get(o1, "data"), "application/json");
    assert_int_equal(json_integer_value(json_object_get(js, "a")), 1);
    assert_string_equal(nb_cell_type(nb_cell(nb, 2)), "markdown");
    assert_string_equal(nb_cell_type(nb_cell(nb, 3)), "raw");
    /* no level: 1; a source with no line break (its bytes exactly fill the buffer) */
    src = nb_cell_source(nb_cell(nb, 4), NULL);
    assert_string_equal(src, "# Plain");
    free(src);
    assert_null(json_object_get(nb_cell(nb, 0), "level"));
    /* a negative level: no '#', as Python's "#" * level */
    src = nb_cell_source(nb_cell(nb, 5), NULL);
    assert_string_equal(src, " Neg");
    free(src);
    json_decref(nb);
    /* no metadata at all: made, with Python's defaults (orig_nbformat or 3: 0 is 3) */
    nb = read_str("{\"orig_nbformat\": 0, \"nbformat\": 3, \"nbformat_minor\": 0,"
                  " \"worksheets\": []}", NB_ALLOW_V3, &err);
    if (!nb) fail_msg("%s", err.msg);
    md = json_object_get(nb, "metadata");
    assert_int_equal(json_integer_value(json_object_get(md, "orig_nbformat")), 3);
    assert_true(json_is_integer(json_object_get(md, "orig_nbformat_minor")));
    assert_int_equal(json_integer_value(json_object_get(md, "orig_nbformat_minor")), 0);
    json_decref(nb);
    /* malformed worksheets: refused, saying where */
    const char *bad[][2] = {
        {"{\"nbformat\": 3, \"worksheets\": 3}", "worksheets is not a list"},
        {"{\"nbformat\": 3, \"nbformat_minor\": 0, \"metadata\": {}}", "no \"worksheets\" list"},
        {"{\"nbformat\": 3, \"worksheets\": [{\"cells\": 1}]}",
         "worksheets[0].cells is not a list"},
        {"{\"nbformat\": 3, \"worksheets\": [{\"cells\": []}, {\"cells\": [{}, 2]}]}",
         "worksheets[1].cells[1] is not an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        nb = read_str(bad[i][0], NB_ALLOW_V3, &err);
        if (nb) fail_msg("%s: read", bad[i][0]);
        if (!strstr(err.msg, bad[i][1])) fail_msg("%s: \"%s\"", bad[i][0], err.msg);
    }
}

/* ---------------------------------------------------------------- split / rejoin */

static void split_lines_like_python(void **state)
{
    (void)state;
    /* str.splitlines(True) on the same strings, from Python:
     *   "a\nb\r\nc\rd\ve\x1cf\xc2\x85g\u2028h" -> 8 pieces;  "" -> [];  "x\n" -> ["x\n"] */
    const char *s =
        "{\"nbformat\": 4, \"cells\": ["
        " {\"cell_type\": \"code\", \"source\": \"a\\nb\\r\\nc\\rd\\u000be\\u001cf\\u0085g\\u2028h\","
        "  \"outputs\": ["
        "   {\"output_type\": \"stream\", \"name\": \"stdout\", \"text\": \"x\\n\"},"
        "   {\"output_type\": \"display_data\", \"data\": {\"text/plain\": \"p\\nq\","
        "     \"image/png\": \"AAA\\nBBB\", \"application/json\": \"j\\nk\","
        "     \"image/svg+xml\": \"<s>\\n</s>\", \"application/javascript\": \"1;\\n2;\"}}]},"
        " {\"cell_type\": \"markdown\", \"source\": \"\","
        "  \"attachments\": {\"a.txt\": {\"text/plain\": \"u\\nv\"}}}]}";
    nb_error err;
    json_t *nb = read_str(s, 0, &err);
    assert_non_null(nb);
    nb_split_lines(nb);
    json_t *src = json_object_get(nb_cell(nb, 0), "source");
    static const char *want[] = {"a\n", "b\r\n", "c\r", "d\v", "e\x1c", "f\xc2\x85",
                                 "g\xe2\x80\xa8", "h"};
    assert_int_equal(json_array_size(src), 8);
    for (size_t i = 0; i < 8; i++) assert_string_equal(json_string_value(json_array_get(src, i)), want[i]);
    json_t *outs = json_object_get(nb_cell(nb, 0), "outputs");
    assert_int_equal(json_array_size(json_object_get(json_array_get(outs, 0), "text")), 1);
    json_t *data = json_object_get(json_array_get(outs, 1), "data");
    assert_int_equal(json_array_size(json_object_get(data, "text/plain")), 2);
    assert_true(json_is_string(json_object_get(data, "image/png")));
    assert_true(json_is_string(json_object_get(data, "application/json")));
    assert_int_equal(json_array_size(json_object_get(data, "image/svg+xml")), 2);
    assert_int_equal(json_array_size(json_object_get(data, "application/javascript")), 2);
    json_t *md = nb_cell(nb, 1);
    assert_true(json_is_array(json_object_get(md, "source")));
    assert_int_equal(json_array_size(json_object_get(md, "source")), 0);
    json_t *att = json_object_get(json_object_get(md, "attachments"), "a.txt");
    assert_int_equal(json_array_size(json_object_get(att, "text/plain")), 2);

    /* rejoin undoes it, except where Python's would not (application/json) */
    nb_rejoin_lines(nb);
    char *joined = nb_cell_source(nb_cell(nb, 0), NULL);
    assert_true(json_is_string(json_object_get(nb_cell(nb, 0), "source")));
    assert_string_equal(joined, "a\nb\r\nc\rd\ve\x1c" "f\xc2\x85g\xe2\x80\xa8h");
    free(joined);
    assert_true(json_is_string(json_object_get(data, "text/plain")));
    json_decref(nb);
}

static void strips_transient(void **state)
{
    (void)state;
    const char *s = "{\"nbformat\": 4, \"metadata\": {\"orig_nbformat\": 3, \"signature\": \"x\","
                    " \"keep\": 1}, \"cells\": [{\"cell_type\": \"code\", \"metadata\":"
                    " {\"trusted\": true, \"tags\": []}}]}";
    nb_error err;
    json_t *nb = read_str(s, 0, &err);
    nb_strip_transient(nb);
    json_t *md = json_object_get(nb, "metadata");
    assert_null(json_object_get(md, "orig_nbformat"));
    assert_null(json_object_get(md, "signature"));
    assert_non_null(json_object_get(md, "keep"));
    json_t *cmd = json_object_get(nb_cell(nb, 0), "metadata");
    assert_null(json_object_get(cmd, "trusted"));
    assert_non_null(json_object_get(cmd, "tags"));
    json_decref(nb);
}

/* ---------------------------------------------------------------- atomic save */

static int count_entries(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "ls -A '%s' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static void saves_atomically_keeping_mode(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("nbformat");
    char path[512], link[512];
    snprintf(path, sizeof path, "%s/nb.ipynb", dir);
    unit_write_file(path, "old contents\n");
    assert_int_equal(chmod(path, 0640), 0);
    nb_error err;
    assert_int_equal(nb_save_atomic(path, "new\n", 4, &err), 0);
    size_t n;
    char *s = unit_read_file(path, &n);
    assert_string_equal(s, "new\n");
    free(s);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    assert_int_equal(count_entries(dir), 1); /* no temporary left behind */

    /* through a symlink: the target changes, the link stays a link */
    snprintf(link, sizeof link, "%s/link.ipynb", dir);
    assert_int_equal(symlink("nb.ipynb", link), 0);
    assert_int_equal(nb_save_atomic(link, "via link\n", 9, &err), 0);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    s = unit_read_file(path, NULL);
    assert_string_equal(s, "via link\n");
    free(s);

    /* a new file gets the umask's mode */
    char fresh[512];
    snprintf(fresh, sizeof fresh, "%s/fresh.ipynb", dir);
    mode_t um = umask(022);
    assert_int_equal(nb_save_atomic(fresh, "x", 1, &err), 0);
    umask(um);
    assert_int_equal(stat(fresh, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    unit_rm_rf(dir);
    free(dir);
}

/* Deferred sync: the same file, mode and no temporary; durability from nb_sync_fs. */
static void deferred_sync_save(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("nbformat");
    char path[512];
    snprintf(path, sizeof path, "%s/nb.ipynb", dir);
    unit_write_file(path, "old contents\n");
    assert_int_equal(chmod(path, 0604), 0);
    nb_error err;
    int fd = nb_sync_fs_open(path, &err);
    assert_true(fd >= 0);
    assert_int_equal(nb_save_atomic_flags(path, "new\n", 4, NB_SAVE_DEFER_SYNC, &err), 0);
    char *s = unit_read_file(path, NULL);
    assert_string_equal(s, "new\n");
    free(s);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0604);
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(nb_sync_fs(fd, path, &err), 0);
    close(fd);

    /* a file we may not read: its folder serves; a missing folder: an error */
    assert_int_equal(chmod(path, 0), 0);
    fd = nb_sync_fs_open(path, &err);
    assert_true(fd >= 0);
    close(fd);
    snprintf(path, sizeof path, "%s/missing/nb.ipynb", dir);
    assert_int_equal(nb_sync_fs_open(path, &err), -1);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(nb_sync_fs(-1, "somewhere", &err), -1);
    assert_non_null(strstr(err.msg, "somewhere"));
    unit_rm_rf(dir);
    free(dir);
}

static void failed_save_leaves_original(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("nbformat");
    char path[512];
    snprintf(path, sizeof path, "%s/nb.ipynb", dir);
    unit_write_file(path, "original\n");

    /* a write that fails half-way: the file-size limit makes write() return EFBIG */
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 1000;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    static char big[100000];
    memset(big, 'x', sizeof big);
    nb_error err;
    int rc = nb_save_atomic(path, big, sizeof big, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err.msg, path));
    char *s = unit_read_file(path, NULL);
    assert_string_equal(s, "original\n");
    free(s);
    assert_int_equal(count_entries(dir), 1);

    /* a folder in the way, a missing folder */
    char sub[512];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    assert_int_equal(mkdir(sub, 0755), 0);
    assert_int_equal(nb_save_atomic(sub, "x", 1, &err), -1);
    assert_non_null(strstr(err.msg, "not a regular file"));
    snprintf(sub, sizeof sub, "%s/missing/nb.ipynb", dir);
    assert_int_equal(nb_save_atomic(sub, "x", 1, &err), -1);
    assert_non_null(strstr(err.msg, "missing"));

    /* a read-only file in a writable folder: rename() would replace it (even for
     * the owner, and for root whatever the mode), so the mode bits are asked first,
     * directly and through a symlink */
    assert_int_equal(chmod(path, 0444), 0);
    for (int flags = 0; flags <= 1; flags++) {
        assert_int_equal(nb_save_atomic_flags(path, "x", 1, flags ? NB_SAVE_DEFER_SYNC : 0, &err), -1);
        assert_non_null(strstr(err.msg, "read-only"));
    }
    char link[512];
    snprintf(link, sizeof link, "%s/link.ipynb", dir);
    assert_int_equal(symlink("nb.ipynb", link), 0);
    assert_int_equal(nb_save_atomic(link, "x", 1, &err), -1);
    assert_non_null(strstr(err.msg, "read-only"));
    s = unit_read_file(path, NULL);
    assert_string_equal(s, "original\n");
    free(s);
    assert_int_equal(count_entries(dir), 3); /* nb.ipynb, sub, link.ipynb: no temporary */
    unit_rm_rf(dir);
    free(dir);
}

static void read_file_errors_name_the_file(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("nbformat");
    char path[512];
    nb_error err;
    snprintf(path, sizeof path, "%s/absent.ipynb", dir);
    assert_null(nb_read_file(path, 0, &err));
    assert_non_null(strstr(err.msg, "absent.ipynb"));
    assert_non_null(strstr(err.msg, "No such file"));
    snprintf(path, sizeof path, "%s/empty.ipynb", dir);
    unit_write_file(path, "");
    assert_null(nb_read_file(path, 0, &err));
    assert_non_null(strstr(err.msg, "empty file"));
    snprintf(path, sizeof path, "%s/cut.ipynb", dir);
    unit_write_file(path, "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n");
    assert_null(nb_read_file(path, 0, &err));
    assert_non_null(strstr(err.msg, "cut.ipynb:5:"));
    assert_null(nb_read_file(dir, 0, &err)); /* as tag, fmt and summary say it */
    assert_non_null(strstr(err.msg, ": is a directory, not a notebook"));
    unit_rm_rf(dir);
    free(dir);
}

/* S is valid UTF-8 (nb_utf8_lossy would change nothing). */
static int valid_utf8(const char *s)
{
    char *v = nb_utf8_lossy(s);
    int ok = v && !strcmp(v, s);
    free(v);
    return ok;
}

/* A message naming a long path came out cut at 1,024 bytes, mid-character and without
 * its reason.  Any path the system opens comes out whole with its reason; a longer one
 * keeps its start and its end (the reason) with "..." between, cut between characters. */
/* nb_error_copy into buffers too small for both ends (under 16 bytes): the start of
 * the message, cut between characters (at most 3 bytes back, as a character is at most
 * 4), always terminated, nothing written past SIZE bytes. */
static void error_copy_into_tiny_buffers(void **state)
{
    (void)state;
    static const char *chars[] = {"e", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (size_t c = 0; c < sizeof chars / sizeof *chars; c++) {
        size_t cl = strlen(chars[c]);
        char msg[100];
        size_t n = 0;
        while (n + cl < 60) { memcpy(msg + n, chars[c], cl); n += cl; }
        msg[n] = 0;
        for (size_t size = 0; size < 16; size++) {
            char out[32];
            memset(out, '#', sizeof out);
            nb_error_copy(out, size, msg);
            for (size_t i = size; i < sizeof out; i++) assert_int_equal(out[i], '#');
            if (!size) continue;
            size_t want = (size - 1) / cl * cl; /* the whole characters that fit */
            assert_int_equal(out[want], 0);
            assert_memory_equal(out, msg, want);
        }
    }
    /* bytes that are not UTF-8 (continuation bytes only): 3 back at most, then cut */
    char junk[40], out[16];
    memset(junk, 0x80, sizeof junk - 1);
    junk[sizeof junk - 1] = 0;
    for (size_t size = 5; size < 16; size++) {
        nb_error_copy(out, size, junk);
        assert_int_equal(strlen(out), size - 4);
    }
}

static void long_messages_whole_or_marked(void **state)
{
    (void)state;
    nb_error err;
    static const char *chars[] = {"e", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (size_t c = 0; c < sizeof chars / sizeof *chars; c++) {
        size_t cl = strlen(chars[c]);
        for (size_t want = 4000; want <= 9000; want += 5000) { /* bytes of name */
            char *name = malloc(want + 16);
            size_t n = 0;
            while (n + cl <= want) { memcpy(name + n, chars[c], cl); n += cl; }
            strcpy(name + n, ".ipynb");
            assert_null(nb_read_mem("{", 1, name, 0, &err));
            size_t len = strlen(err.msg);
            assert_true(len < sizeof err.msg);
            assert_true(valid_utf8(err.msg));
            assert_non_null(strstr(err.msg, ".ipynb:1:")); /* the place and reason kept */
            assert_non_null(strstr(err.msg, "expected near end of file"));
            if (want < 4096) {
                assert_memory_equal(err.msg, name, strlen(name)); /* whole */
                assert_null(strstr(err.msg, "..."));
            } else {
                assert_non_null(strstr(err.msg, "..."));
                assert_memory_equal(err.msg, name, 1000);
            }
            free(name);
        }
        /* nb_error_copy into small buffers: every cut lands between characters */
        char msg[200], out[64];
        size_t n = 0;
        while (n + cl < 150) { memcpy(msg + n, chars[c], cl); n += cl; }
        strcpy(msg + n, ": reason");
        for (size_t size = 16; size <= sizeof out; size++) {
            nb_error_copy(out, size, msg);
            assert_true(strlen(out) < size);
            assert_true(valid_utf8(out));
            assert_non_null(strstr(out, "..."));
            assert_non_null(strstr(out, "reason"));
        }
        nb_error_copy(out, sizeof out, "short: reason");
        assert_string_equal(out, "short: reason");
        /* nb_error_fmt, the loaders' printf: the same cuts */
        for (size_t size = 16; size <= sizeof out; size++) {
            nb_error_fmt(out, size, "%.*s: %s%s", (int)n, msg, "rea", "son");
            assert_true(strlen(out) < size);
            assert_true(valid_utf8(out));
            assert_non_null(strstr(out, "..."));
            assert_non_null(strstr(out, "reason"));
        }
        nb_error_fmt(out, sizeof out, "%s: %s", "short", "reason");
        assert_string_equal(out, "short: reason");
    }
}

/* ---------------------------------------------------------------- walker */

struct seen { char list[2048]; };

static int note(const char *path, const char *rel, void *ctx)
{
    struct seen *s = ctx;
    (void)path;
    strcat(s->list, rel);
    strcat(s->list, ";");
    return 0;
}

static int stop_at_second(const char *path, const char *rel, void *ctx)
{
    int *n = ctx;
    (void)path; (void)rel;
    return ++*n == 2 ? 42 : 0;
}

static void on_no_error(const char *path, const char *reason, void *ctx)
{
    (void)ctx;
    fail_msg("walk error: %s: %s", path, reason);
}

static void walks_sorted_skipping_checkpoints(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("nbformat");
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mkdir -p b/.ipynb_checkpoints a/z .hidden B && "
             "touch b/2.ipynb b/10.ipynb b/.ipynb_checkpoints/2-checkpoint.ipynb a/z/x.ipynb "
             "a/notes.txt .hidden/h.ipynb B/c.ipynb top.ipynb && mkdir d.ipynb && "
             "ln -s a linked && ln -s top.ipynb alias.ipynb && ln -s u@h.1:2 '.#top.ipynb' && "
             "echo x > ._top.ipynb && touch a/.x.ipynb && mkdir .IPYNB_CHECKPOINTS && "
             "touch b/3.IPYNB b/4.Ipynb b/5.ipynb.txt .IPYNB_CHECKPOINTS/c.IPYNB", dir);
    assert_int_equal(system(cmd), 0);
    struct seen s = {{0}};
    assert_int_equal(nb_walk(dir, note, on_no_error, &s), 0);
    /* byte order: uppercase first; symlinked folders not followed, linked files are;
     * hidden files (an editor's dangling lock link, AppleDouble) skipped as folders are;
     * the suffix in any case */
    assert_string_equal(s.list, "B/c.ipynb;a/z/x.ipynb;alias.ipynb;b/10.ipynb;b/2.ipynb;"
                                "b/3.IPYNB;b/4.Ipynb;top.ipynb;");
    assert_true(nb_is_notebook_name("A.IPYNB") && nb_is_notebook_name("x/a.iPyNb"));
    assert_true(nb_is_notebook_name(".ipynb") && !nb_is_notebook_name("ipynb")); /* the suffix alone */
    assert_false(nb_is_notebook_name("a.ipynb.txt") || nb_is_notebook_name("ipynb"));

    /* a file argument: REL is its base name; a trailing slash changes nothing */
    char p[600];
    memset(&s, 0, sizeof s);
    snprintf(p, sizeof p, "%s/a/z/x.ipynb", dir);
    assert_int_equal(nb_walk(p, note, NULL, &s), 0);
    assert_string_equal(s.list, "x.ipynb;");
    memset(&s, 0, sizeof s);
    snprintf(p, sizeof p, "%s/a/", dir);
    nb_walk(p, note, NULL, &s);
    assert_string_equal(s.list, "z/x.ipynb;");

    int n = 0;
    assert_int_equal(nb_walk(dir, stop_at_second, NULL, &n), 42);
    assert_int_equal(n, 2);
    unit_rm_rf(dir);
    free(dir);
}

static int errors_seen;
static void on_walk_error(const char *path, const char *reason, void *ctx)
{
    (void)ctx;
    assert_non_null(strstr(path, "nope"));
    assert_non_null(reason);
    errors_seen++;
}

static void walk_reports_missing_path(void **state)
{
    (void)state;
    struct seen s = {{0}};
    errors_seen = 0;
    assert_int_equal(nb_walk("/tmp/nbstage-nope-does-not-exist", note, on_walk_error, &s), 0);
    assert_int_equal(errors_seen, 1);
    assert_string_equal(s.list, "");
}

/* What the walker hands FN and ON_ERROR: full paths joined with one '/' (a PATH given
 * with a trailing slash too), and every path it cannot look at named with the reason. */
struct walk_log { char text[8192]; };

static int log_path(const char *path, const char *rel, void *ctx)
{
    struct walk_log *l = ctx;
    snprintf(l->text + strlen(l->text), sizeof l->text - strlen(l->text), "%s|%s;", path, rel);
    return 0;
}

static void log_error(const char *path, const char *reason, void *ctx)
{
    struct walk_log *l = ctx;
    snprintf(l->text + strlen(l->text), sizeof l->text - strlen(l->text), "E %s: %s;", path, reason);
}

static void walk_names_paths_and_errors(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("nbwalk");
    char cmd[1024], want[4096];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && mkdir s && touch a.ipynb s/b.ipynb z.ipynb && ln -s nowhere gone.ipynb && "
             "ln -s self.ipynb self.ipynb && ln -s . loop && ln -s .. s/up", dir);
    assert_int_equal(system(cmd), 0);
    for (int slash = 0; slash < 2; slash++) {
        char p[600];
        snprintf(p, sizeof p, "%s%s", dir, slash ? "/" : "");
        struct walk_log l = {{0}};
        assert_int_equal(nb_walk(p, log_path, log_error, &l), 0);
        /* a dangling link (said as one, with its target) and a link to itself are named
         * with their reasons; the walk goes on after them; linked folders (a loop to
         * '.', to '..') are not followed */
        snprintf(want, sizeof want, "%s/a.ipynb|a.ipynb;E %s/gone.ipynb: %s;%s/s/b.ipynb|s/b.ipynb;"
                 "E %s/self.ipynb: %s;%s/z.ipynb|z.ipynb;",
                 dir, dir, "dangling symlink (its target nowhere does not exist)", dir, dir,
                 strerror(ELOOP), dir);
        assert_string_equal(l.text, want);
    }
    struct walk_log l = {{0}}; /* a PATH that is neither */
    assert_int_equal(nb_walk("/dev/null", log_path, log_error, &l), 0);
    assert_string_equal(l.text, "E /dev/null: not a regular file or folder;");
    unit_rm_rf(dir);
    free(dir);
}

/* A folder the walker finds but cannot open (here its path is longer than PATH_MAX) is
 * named with the reason, and its siblings are still walked. */
static void walk_names_a_folder_it_cannot_open(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("nbwalk");
    char name[201];
    memset(name, 'd', 200);
    name[200] = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    size_t depth = 0, plen = strlen(dir);
    while (plen < 4096) { /* only the last folder's path is beyond PATH_MAX (4096 with its NUL) */
        assert_int_equal(mkdirat(fd, name, 0755), 0);
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY);
        assert_true(next >= 0);
        close(fd);
        fd = next;
        plen += 201;
        depth++;
    }
    close(fd);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "touch '%s/zz.ipynb'", dir);
    assert_int_equal(system(cmd), 0);
    struct walk_log l = {{0}};
    assert_int_equal(nb_walk(dir, log_path, log_error, &l), 0);
    char *want = malloc(plen + 600), *w = want;
    w += sprintf(w, "E %s", dir);
    for (size_t k = 0; k < depth; k++) w += sprintf(w, "/%s", name);
    sprintf(w, ": %s;%s/zz.ipynb|zz.ipynb;", strerror(ENAMETOOLONG), dir);
    assert_string_equal(l.text, want);
    free(want);
    unit_rm_rf(dir);
    free(dir);
}

/* Many names in one folder (the name list grows past its first 64 slots): every
 * notebook once, in byte order. */
static void walk_many_names_in_one_folder(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("nbwalk");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cd '%s' && for i in $(seq 100 299); do touch $i.ipynb x$i; done", dir);
    assert_int_equal(system(cmd), 0);
    struct seen *s = calloc(1, sizeof *s);
    assert_non_null(s);
    int fds = unit_open_fds();
    assert_int_equal(nb_walk(dir, note, on_no_error, s), 0);
    assert_int_equal(unit_open_fds(), fds); /* the folder closed */
    char want[2048] = "";
    for (int i = 100; i < 300; i++) sprintf(want + strlen(want), "%d.ipynb;", i);
    assert_string_equal(s->list, want);
    free(s);
    unit_rm_rf(dir);
    free(dir);
}

/* Text shown to a terminal (nb_unctrl): C0 controls, DEL, UTF-8 C1 controls (two bytes)
 * and lone C1 bytes become one '?' each, newlines only when asked, the rest (a no-break
 * space, a lone 0xc2 at the end) as it is; to what is not a terminal, nb_show writes
 * the bytes as they are, and nb_say escapes them as on a terminal (nb_put_shown), a
 * line longer than its 1024-byte buffer whole. */
static void terminal_lines_shown_safely(void **state)
{
    (void)state;
    static const char in[] = "a\x01" "b\n\x1f \x7f" "c\xc2\x80" "d\xc2\x9f\xc2\xa0\xc2\x7f" "e\xc2";
    char *s = malloc(sizeof in - 1); /* no byte after it: under ASan, a read past the end fails */
    assert_non_null(s);
    memcpy(s, in, sizeof in - 1);
    size_t n = nb_unctrl(s, sizeof in - 1, 1);
    assert_int_equal(n, 17);
    assert_memory_equal(s, "a?b\n? ?c?d?\xc2\xa0\xc2?e\xc2", 17);
    memcpy(s, in, sizeof in - 1);
    n = nb_unctrl(s, sizeof in - 1, 0);
    assert_memory_equal(s, "a?b?? ?c?d?\xc2\xa0\xc2?e\xc2", 17);
    free(s);
    s = malloc(2); /* a lead byte at the very end, nothing removed before it */
    assert_non_null(s);
    memcpy(s, "x\xc2", 2);
    assert_int_equal(nb_unctrl(s, 2, 0), 2);
    assert_memory_equal(s, "x\xc2", 2);
    free(s);
    /* a lone C1 byte, not part of a UTF-8 sequence (0x9b opens an escape sequence on an
     * 8-bit terminal), becomes '?'; the same byte inside a valid sequence (U+00DB, the
     * euro sign, an emoji) and a Latin-1 letter (0xe9) stay */
    static const char c1[] = "a\x9b" "31m \xc3\x9b \xe2\x82\xac \xf0\x9f\x98\x80 \xe9\x9b";
    s = malloc(sizeof c1 - 1);
    assert_non_null(s);
    memcpy(s, c1, sizeof c1 - 1);
    assert_int_equal(nb_unctrl(s, sizeof c1 - 1, 0), sizeof c1 - 1);
    assert_memory_equal(s, "a?31m \xc3\x9b \xe2\x82\xac \xf0\x9f\x98\x80 \xe9?", sizeof c1 - 1);
    free(s);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    nb_show(f, in, sizeof in - 1);
    char long_name[3000];
    memset(long_name, 'p', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    nb_say(f, "%s: %s", long_name, "x\x01");
    assert_int_equal(fclose(f), 0);
    assert_int_equal(len, sizeof in - 1 + sizeof long_name - 1 + 8);
    assert_memory_equal(buf, in, sizeof in - 1);
    assert_memory_equal(buf + sizeof in - 1, long_name, sizeof long_name - 1);
    assert_memory_equal(buf + len - 8, ": x\\x01\n", 8);
    free(buf);
    assert_int_equal(nb_stdout_flush("test"), 0);
}

/* The bytes a text nb_shown gave stands for, into OUT: \\ \n \t \r \xHH read back, the
 * rest as it is; their count.  That every shown name reads back to its own bytes is
 * what makes the escaping unambiguous. */
static size_t unshow(const char *s, char *out)
{
    size_t n = 0;
    while (*s) {
        if (*s != '\\') { out[n++] = *s++; continue; }
        char c = s[1];
        assert_true(c == '\\' || c == 'n' || c == 't' || c == 'r' || c == 'x');
        if (c == 'x') {
            unsigned v;
            assert_int_equal(sscanf(s + 2, "%2x", &v), 1);
            out[n++] = (char)v;
            s += 4;
        } else {
            out[n++] = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : '\\';
            s += 2;
        }
    }
    return n;
}

/* A name holding ESC and one holding the four characters "\x1b" show differently, on
 * every path a name is shown by (nb_shown, nb_put_shown, nb_say's arguments). */
static void a_backslash_is_escaped_so_no_two_names_show_alike(void **state)
{
    (void)state;
    char b1[NB_SHOWN_MAX], b2[NB_SHOWN_MAX];
    const char *esc = nb_shown("d/\x1b.ipynb", b1, sizeof b1), *text = nb_shown("d/\\x1b.ipynb", b2, sizeof b2);
    assert_string_equal(esc, "d/\\x1b.ipynb");
    assert_string_equal(text, "d/\\\\x1b.ipynb");
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    assert_non_null(f);
    nb_put_shown(f, "\\", 1);
    nb_say(f, "%s|%s|%c", "d/\x1b.ipynb", "d/\\x1b.ipynb", '\\');
    assert_int_equal(fclose(f), 0);
    assert_string_equal(mem, "\\\\d/\\x1b.ipynb|d/\\\\x1b.ipynb|\\\\\n");
    free(mem);
}

/* nb_say writes its format's own text as it is (a backslash the program means, as in
 * "(\\w+\\s?)*", kept) and every conversion as printf does, a string's width counted
 * in what is shown; for arguments with nothing to escape, byte for byte snprintf's. */
static void say_formats_as_printf_does(void **state)
{
    (void)state;
    char *mem = NULL, want[512];
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    assert_non_null(f);
#define SAY_AS_PRINTF(...)                                  \
    do {                                                    \
        nb_say(f, __VA_ARGS__);                             \
        assert_int_equal(fflush(f), 0);                     \
        int n_ = snprintf(want, sizeof want, __VA_ARGS__);  \
        assert_int_equal(len, (size_t)n_ + 1);              \
        assert_memory_equal(mem, want, (size_t)n_);         \
        assert_int_equal(mem[n_], '\n');                    \
        rewind(f);                                          \
    } while (0)
    SAY_AS_PRINTF("plain text, no conversion");
    SAY_AS_PRINTF("nbstage tag: %s: %s", "d/caf\xc3\xa9 \xe6\x97\xa5.ipynb", "No such file or directory");
    SAY_AS_PRINTF("[%-8s|%8s|%.3s|%.*s|%*s|%-*s]", "ab", "cd", "efghij", 2, "klm", 5, "n", -4, "o");
    SAY_AS_PRINTF("%d %i %5d %-5d| %+d %05d %ld %lld %zu %u %x %X %o %#x", -3, 4, 42, 42, 7, -42, -5L,
                  1LL << 40, (size_t)123456789, 3000000000u, 255u, 255u, 8u, 255u);
    SAY_AS_PRINTF("%.1f %5.2f %g %.4f %e %%", 3.14159, 2.5, 1e-7, -0.5, 12345.678);
    SAY_AS_PRINTF("%c%c %hd %hhu %jd %td %zd", 'a', ' ', (short)-7, (unsigned char)200, (intmax_t)-9,
                  (ptrdiff_t)11, (ssize_t)-12);
    SAY_AS_PRINTF("catastrophic backtracking: (a+)+ or (\\w+\\s?)*; \\udcXX");
#undef SAY_AS_PRINTF
    /* an argument's escapes count in its width, as the reader sees them */
    nb_say(f, "[%6s|%-6s]", "\n", "a\\");
    assert_int_equal(fflush(f), 0);
    static const char shown[] = "[    \\n|a\\\\   ]\n";
    assert_int_equal(len, sizeof shown - 1);
    assert_memory_equal(mem, shown, len);
    assert_int_equal(fclose(f), 0);
    free(mem);
}

/* A name in a message (nb_shown, nb_put_shown, nb_say): control characters (C0, DEL,
 * C1 in UTF-8) and bytes that are not UTF-8 escaped, \n \t \r or \xHH, on any stream;
 * printable ASCII and valid UTF-8 as they are, so a normal name is the same pointer;
 * a name too long for the buffer cut visibly. */
static void names_in_messages_escaped(void **state)
{
    (void)state;
    static const struct { const char *in, *out; } cases[] = {
        {"plain/a b.ipynb", NULL},
        {"caf\xc3\xa9 \xe6\x97\xa5\xf0\x9f\x98\x80 \xc2\xa0.ipynb", NULL}, /* as it is */
        {"e\x1b[31mvil\nx\ty\rz\x7f", "e\\x1b[31mvil\\nx\\ty\\rz\\x7f"},
        {"a\xc2\x9b" "31m \x9b \xe9.ipynb", "a\\xc2\\x9b" "31m \\x9b \\xe9.ipynb"},
        {"\xed\xa0\x80 \xc0\xaf \xc3", "\\xed\\xa0\\x80 \\xc0\\xaf \\xc3"},
        /* a backslash doubled: the four characters \x1b are not ESC's escape */
        {"a\\x1b\\b\\", "a\\\\x1b\\\\b\\\\"},
        {"n\\\n\x1b\\x1b\xff\\", "n\\\\\\n\\x1b\\\\x1b\\xff\\\\"},
    };
    char buf[NB_SHOWN_MAX];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *got = nb_shown(cases[i].in, buf, sizeof buf);
        if (!cases[i].out) {
            assert_ptr_equal(got, cases[i].in);
        } else {
            assert_ptr_equal(got, buf);
            assert_string_equal(got, cases[i].out);
            size_t n = unshow(got, buf + 4096); /* the escapes name the bytes: no two names alike */
            assert_int_equal(n, strlen(cases[i].in));
            assert_memory_equal(buf + 4096, cases[i].in, n);
        }
        char *mem = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&mem, &len);
        assert_non_null(f);
        nb_put_shown(f, cases[i].in, strlen(cases[i].in));
        nb_say(f, "%s", cases[i].in);
        assert_int_equal(fclose(f), 0);
        const char *want = cases[i].out ? cases[i].out : cases[i].in;
        size_t w = strlen(want);
        assert_int_equal(len, 2 * w + 1);
        assert_memory_equal(mem, want, w);
        assert_memory_equal(mem + w, want, w);
        free(mem);
    }
    /* too long for the buffer: cut with "...", between whole escapes */
    char small[16];
    assert_string_equal(nb_shown("\x01\x02\x03\x04\x05", small, sizeof small), "\\x01\\x02\\x03...");
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    big[0] = '\n';
    const char *cut = nb_shown(big, small, sizeof small);
    assert_int_equal(strlen(cut), sizeof small - 1);
    assert_memory_equal(cut, "\\n", 2);
    assert_memory_equal(cut + strlen(cut) - 3, "...", 3);
    /* the part shown as it is (before the first escape) is cut between characters,
     * never inside one, and only when the rest does not fit: here all of it fits (11
     * bytes), where the text was cut inside the \xc3\xa9 and its lead byte written as
     * it is, a byte that is not UTF-8 shown raw */
    assert_string_equal(nb_shown("aaaaaaa\xc3\xa9\n", small, sizeof small), "aaaaaaa\xc3\xa9\\n");
    /* (too long: cut after the whole character) */
    assert_string_equal(nb_shown("aaaaaaa\xc3\xa9\x01\x02", small, sizeof small), "aaaaaaa\xc3\xa9...");
}

/* '-' (standard input) once at most, and alone where the notebook is written back. */
static void stdin_rule_refuses_two_dashes_and_company(void **state)
{
    (void)state;
    char *one[] = {"-"}, *two[] = {"-", "-"}, *mixed[] = {"a.ipynb", "-"}, *none[] = {"a", "b"};
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    int r1 = nb_stdin_rule("t", 1, one, 1), r2 = nb_stdin_rule("t", 2, two, 0),
        r3 = nb_stdin_rule("t", 2, mixed, 1), r4 = nb_stdin_rule("t", 2, mixed, 0),
        r5 = nb_stdin_rule("t", 2, none, 1);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(null);
    assert_int_equal(r1, 0);
    assert_int_equal(r2, -1);
    assert_int_equal(r3, -1);
    assert_int_equal(r4, 0);
    assert_int_equal(r5, 0);
}

static void utf8_lossy_keeps_valid_and_marks_the_rest(void **state)
{
    (void)state;
    static const struct { const char *in, *out; } cases[] = {
        {"plain/a b.ipynb", "plain/a b.ipynb"},
        {"caf\xc3\xa9/\xe6\x97\xa5\xf0\x9f\x98\x80.ipynb", "caf\xc3\xa9/\xe6\x97\xa5\xf0\x9f\x98\x80.ipynb"},
        {"caf\xe9.ipynb", "caf\xef\xbf\xbd.ipynb"},          /* Latin-1 */
        {"\xc3", "\xef\xbf\xbd"},                          /* cut short at the end */
        {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},          /* overlong '/' */
        {"\xed\xa0\x80x", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"}, /* a surrogate */
        {"\xff\xfe", "\xef\xbf\xbd\xef\xbf\xbd"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = nb_utf8_lossy(cases[i].in);
        assert_non_null(got);
        assert_string_equal(got, cases[i].out);
        json_t *j = json_string(got); /* jansson takes it as a string */
        assert_non_null(j);
        json_decref(j);
        free(got);
    }
}

static void json_path_loses_nothing(void **state)
{
    (void)state;
    /* each as Python writes json.dumps(os.fsdecode(name)) but for the non-ASCII text
     * that is valid UTF-8, kept as it is (ensure_ascii=False) */
    static const struct { const char *in, *out; } cases[] = {
        {"plain/a b.ipynb", "\"plain/a b.ipynb\""},
        {"caf\xc3\xa9/\xf0\x9f\x98\x80.ipynb", "\"caf\xc3\xa9/\xf0\x9f\x98\x80.ipynb\""},
        {"caf\xe9.ipynb", "\"caf\\udce9.ipynb\""},           /* Latin-1 */
        {"\xc3", "\"\\udcc3\""},                             /* cut short at the end */
        {"\xc0\xaf", "\"\\udcc0\\udcaf\""},                  /* overlong '/' */
        {"\xed\xa0\x80x", "\"\\udced\\udca0\\udc80x\""},     /* a surrogate */
        {"\xff\xfe", "\"\\udcff\\udcfe\""},
        {"q\"b\\\x01\x1b\n\t\x7f\xc2\x9b", "\"q\\\"b\\\\\\u0001\\u001b\\n\\t\x7f\xc2\x9b\""},
        {"", "\"\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = nb_json_path(cases[i].in);
        assert_non_null(got);
        assert_string_equal(got, cases[i].out);
        free(got);
    }
}

/* ---------------------------------------------------------------- progress */

static struct progress shared_bar;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) progress_add(&shared_bar, 1);
    return NULL;
}

static void progress_counts_across_threads(void **state)
{
    (void)state;
    progress_start(&shared_bar, "test", 4000, 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    assert_int_equal(shared_bar.done, 4000);
    progress_update(&shared_bar, 10); /* going back is ignored */
    assert_int_equal(shared_bar.done, 4000);
    progress_end(&shared_bar);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dumps_like_python),
        cmocka_unit_test(floats_round_trip),
        cmocka_unit_test(floats_at_powers_of_two_like_python),
        cmocka_unit_test(dumps_sizes_around_the_buffer_growth),
        cmocka_unit_test(reads_v4_and_keeps_unknown_fields),
        cmocka_unit_test(refuses_with_position_and_reason),
        cmocka_unit_test(a_nul_byte_is_named_not_taken_for_the_end),
        cmocka_unit_test(a_conflict_marker_is_named),
        cmocka_unit_test(a_utf16_notebook_is_named),
        cmocka_unit_test(reads_nul_in_strings_losslessly),
        cmocka_unit_test(lenient_reads_what_python_reads),
        cmocka_unit_test(lenient_judges_each_number_alone),
        cmocka_unit_test(upgrades_v3),
        cmocka_unit_test(upgrades_v3_details),
        cmocka_unit_test(split_lines_like_python),
        cmocka_unit_test(strips_transient),
        cmocka_unit_test(saves_atomically_keeping_mode),
        cmocka_unit_test(failed_save_leaves_original),
        cmocka_unit_test(deferred_sync_save),
        cmocka_unit_test(read_file_errors_name_the_file),
        cmocka_unit_test(long_messages_whole_or_marked),
        cmocka_unit_test(error_copy_into_tiny_buffers),
        cmocka_unit_test(walks_sorted_skipping_checkpoints),
        cmocka_unit_test(walk_reports_missing_path),
        cmocka_unit_test(walk_names_paths_and_errors),
        cmocka_unit_test(walk_names_a_folder_it_cannot_open),
        cmocka_unit_test(walk_many_names_in_one_folder),
        cmocka_unit_test(terminal_lines_shown_safely),
        cmocka_unit_test(stdin_rule_refuses_two_dashes_and_company),
        cmocka_unit_test(utf8_lossy_keeps_valid_and_marks_the_rest),
        cmocka_unit_test(json_path_loses_nothing),
        cmocka_unit_test(names_in_messages_escaped),
        cmocka_unit_test(a_backslash_is_escaped_so_no_two_names_show_alike),
        cmocka_unit_test(say_formats_as_printf_does),
        cmocka_unit_test(progress_counts_across_threads),
    };
    return cmocka_run_group_tests_name("nbformat", tests, NULL, NULL);
}
