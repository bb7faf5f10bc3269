/* test_pysrc.c — comments versus strings versus code; the stage table. */
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "labeling/stage.h"
#include "nbformat/pysrc.h"

static void check_strip(const char *in, const char *want)
{
    size_t n;
    char *out = pysrc_strip_comments(in, strlen(in), &n);
    assert_non_null(out);
    assert_string_equal(out, want);
    assert_int_equal(n, strlen(want));
    free(out);
}

static void strips_comments_not_strings(void **state)
{
    (void)state;
    check_strip("x = 1  # model.fit(X)\ny = 2", "x = 1  \ny = 2");
    check_strip("s = '# not a comment'  # a comment", "s = '# not a comment'  ");
    check_strip("s = \"a\\\"#b\" # c", "s = \"a\\\"#b\" ");
    check_strip("d = '''\n# inside\n''' # out\n", "d = '''\n# inside\n''' \n");
    check_strip("p = rb'#x' + f\"{a}#\"", "p = rb'#x' + f\"{a}#\"");
    check_strip("# only\n# comments", "\n");
    check_strip("bar'#'#c", "bar'#'");
    /* a comment ends at a lone '\r' too (old Mac line ends, which Python reads as line
     * ends: the cell below is a comment and a statement), and before "\r\n" */
    check_strip("# load\rdf = 1\r", "\rdf = 1\r");
    check_strip("x = 1 # a\r\ny = 2", "x = 1 \r\ny = 2");
    check_strip("s = 'unterminated # x\ny = 1 # z", "s = 'unterminated # x\ny = 1 ");
    /* empty triple-quoted strings */
    check_strip("s = '''''' # c\nt = \"\"\"\"\"\" # d", "s = '''''' \nt = \"\"\"\"\"\" ");
}

/* The comment stripper as it was written before pysrc_comments (a byte-by-byte state
 * machine that also looks at string prefixes), kept here as the reference. */
static int ref_is_ident(int c)
{
    return (unsigned)((c | 0x20) - 'a') < 26 || (unsigned)(c - '0') < 10 || c == '_' || c >= 0x80;
}

static size_t ref_skip_string(const char *src, size_t len, size_t i)
{
    char q = src[i];
    int triple = i + 2 < len && src[i + 1] == q && src[i + 2] == q;
    size_t j = i + (triple ? 3 : 1);
    while (j < len) {
        char c = src[j];
        if (c == '\\') { j += 2; continue; }
        if (!triple && c == '\n') return j;
        if (c == q) {
            if (!triple) return j + 1;
            if (j + 2 < len && src[j + 1] == q && src[j + 2] == q) return j + 3;
        }
        j++;
    }
    return len;
}

static char *ref_strip(const char *src, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1);
    size_t o = 0, i = 0, q;
    while (i < len) {
        char c = src[i];
        if (c == '#') {
            while (i < len && src[i] != '\n' && src[i] != '\r') i++;
        } else if (strchr("\"'rRbBuUfF", c) && c && pysrc_string_start(src, len, i, &q)) {
            size_t end = ref_skip_string(src, len, q);
            memcpy(out + o, src + i, end - i);
            o += end - i;
            i = end;
        } else if (ref_is_ident((unsigned char)c)) {
            while (i < len && ref_is_ident((unsigned char)src[i])) out[o++] = src[i++];
        } else {
            out[o++] = src[i++];
        }
    }
    out[o] = 0;
    *out_len = o;
    return out;
}

/* pysrc_comments and pysrc_strip_comments (SIMD search for the special bytes) against
 * the reference on random text dense in quotes, prefixes, '#', backslashes and
 * newlines, lengths around the 16-byte steps; the comments are where the stripped
 * bytes are, each from a '#' to a newline or the end; pysrc_skip_string as the
 * reference's at every quote. */
static void comments_match_reference(void **state)
{
    (void)state;
    unsigned long long r = 777;
    static const char alpha[] = "ab rRbBfuU\"\"''###\\\\\n\n\r x=1(),.\t";
    for (int rep = 0; rep < 4000; rep++) {
        size_t n = (size_t)(r % (rep < 2000 ? 40 : 400));
        char *src = malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            src[i] = alpha[(r >> 16) % (sizeof alpha - 1)];
        }
        src[n] = 0;
        size_t want_n, got_n;
        char *want = ref_strip(src, n, &want_n), *got = pysrc_strip_comments(src, n, &got_n);
        assert_non_null(got);
        assert_int_equal(got_n, want_n);
        assert_memory_equal(got, want, want_n + 1);
        size_t k = pysrc_comments(src, n, NULL, 0), *pos = malloc((2 * k + 1) * sizeof *pos);
        assert_int_equal(pysrc_comments(src, n, pos, k), k);
        size_t kept = 0, from = 0;
        for (size_t c = 0; c < k; c++) {
            assert_true(pos[2 * c] >= from && pos[2 * c] < pos[2 * c + 1] && pos[2 * c + 1] <= n);
            assert_int_equal(src[pos[2 * c]], '#');
            assert_true(pos[2 * c + 1] == n || src[pos[2 * c + 1]] == '\n' || src[pos[2 * c + 1]] == '\r');
            assert_memory_equal(want + kept, src + from, pos[2 * c] - from);
            kept += pos[2 * c] - from;
            from = pos[2 * c + 1];
        }
        assert_int_equal(kept + (n - from), want_n);
        for (size_t i = 0; i < n; i++)
            if (src[i] == '"' || src[i] == '\'')
                assert_int_equal(pysrc_skip_string(src, n, i), ref_skip_string(src, n, i));
        free(pos);
        free(want);
        free(got);
        free(src);
        r += (unsigned long long)rep;
    }
}

static void blank_cells(void **state)
{
    (void)state;
    assert_int_equal(pysrc_is_blank("", 0), 1); /* 1, not any true value (pysrc.h) */
    assert_true(pysrc_is_blank("  \n\t\n", 5));
    assert_true(pysrc_is_blank("# a\n  # b\n", 10));
    assert_false(pysrc_is_blank("# a\nx", 5));
    assert_false(pysrc_is_blank("%matplotlib inline", 18));
    assert_false(pysrc_is_blank("# load\rdf = 1\r", 14)); /* a comment, then code: Python runs it */
    assert_true(pysrc_is_blank("# a\r# b\r\n", 9));
    /* White space as Python's str.isspace() has it, every code point tried: IPython runs
     * nothing for a cell of only U+3000 (a full-width space), so it gets no stage. */
    static const unsigned py_space[] = {0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0,
                                        0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
                                        0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000};
    size_t k = 0;
    for (unsigned cp = 1; cp < 0x110000; cp++) {
        if ((cp >= 0xd800 && cp < 0xe000) || cp == '#') continue; /* a surrogate; a comment */
        char u[8];
        size_t n = cp < 0x80 ? (u[0] = (char)cp, 1)
                   : cp < 0x800 ? (u[0] = (char)(0xc0 | cp >> 6), u[1] = (char)(0x80 | (cp & 0x3f)), 2)
                   : cp < 0x10000 ? (u[0] = (char)(0xe0 | cp >> 12), u[1] = (char)(0x80 | (cp >> 6 & 0x3f)),
                                     u[2] = (char)(0x80 | (cp & 0x3f)), 3)
                                  : (u[0] = (char)(0xf0 | cp >> 18), u[1] = (char)(0x80 | (cp >> 12 & 0x3f)),
                                     u[2] = (char)(0x80 | (cp >> 6 & 0x3f)), u[3] = (char)(0x80 | (cp & 0x3f)), 4);
        int want = k < sizeof py_space / sizeof *py_space && py_space[k] == cp;
        k += want;
        if (pysrc_is_blank(u, n) != want) fail_msg("U+%04X: blank %d, Python's isspace %d", cp, !want, want);
        u[n] = '\n';
        if (pysrc_is_blank(u, n + 1) != want) fail_msg("U+%04X and a newline", cp);
    }
    assert_int_equal(k, sizeof py_space / sizeof *py_space);
    assert_true(pysrc_is_blank("# a\n\xe3\x80\x80\xc2\xa0\n", 9));
    assert_false(pysrc_is_blank("\xe3\x80", 2)); /* a cut sequence is no space */
    assert_false(pysrc_is_blank("\xe2\x80\x8b", 3)); /* U+200B, zero width, is not Python's */
}

/* pysrc_string_start at each kind of byte: where the string's quote is, if one starts
 * there.  A prefix (up to two letters) counts only at the start of a token; after a
 * name, a quote still opens a string (pytoken.c's tokens start at the prefix). */
static void string_starts_at_prefix_or_quote(void **state)
{
    (void)state;
    static const struct { const char *src; size_t i; int yes; size_t quote; } c[] = {
        {"'a'", 0, 1, 0},    {"\"a\"", 0, 1, 0},   {"r'a'", 0, 1, 1},   {"rb'a'", 0, 1, 2},
        {"Rb\"a\"", 0, 1, 2}, {"x = rb'a'", 4, 1, 6}, {"x = f'a'", 4, 1, 5}, {"rbf'a'", 0, 0, 0},
        {"xr'a'", 1, 0, 0},  {"xr'a'", 2, 1, 2},    {"x'a'", 1, 1, 1},   {"9b'a'", 1, 0, 0},
        {"rb", 0, 0, 0},     {"r", 0, 0, 0},        {"(b'a')", 1, 1, 2}, {"_u'a'", 1, 0, 0},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        size_t q = 99;
        int yes = pysrc_string_start(c[k].src, strlen(c[k].src), c[k].i, &q);
        if (yes != c[k].yes || (yes && q != c[k].quote))
            fail_msg("pysrc_string_start(\"%s\", %zu): %d at %zu, want %d at %zu", c[k].src, c[k].i,
                     yes, q, c[k].yes, c[k].quote);
    }
}

/* SRC in a heap block of exactly its length (no NUL after it), so that under ASan a
 * read one byte past the end is an error. */
static size_t assignments_exact(const char *src)
{
    size_t len = strlen(src);
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, src, len);
    size_t n = pysrc_assignments(copy, len, NULL, 0);
    free(copy);
    return n;
}

/* WANT: the assignment offsets as "3,10" ("" for none). */
static void check_assign(const char *src, const char *want)
{
    size_t pos[16], n = pysrc_assignments(src, strlen(src), pos, 16);
    char got[256] = "";
    for (size_t i = 0; i < n && i < 16; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%zu", i ? "," : "", pos[i]);
    if (strcmp(got, want) != 0) fail_msg("assignments(\"%s\"): got \"%s\", want \"%s\"", src, got, want);
}

static void finds_statement_assignments(void **state)
{
    (void)state;
    check_assign("df = df.dropna()", "3");
    check_assign("x=1\ny = 2", "1,6");
    check_assign("a = b = c", "2,6");
    check_assign("x == 1\nx != 1\nx <= 1\nx >= 1", "");       /* comparisons */
    check_assign("y += 2\nz <<= 1\nw >>= 1\nv //= 2", "3,11,19,27");
    check_assign("f(a=1)\nd = dict(k=[v for v in w if v == 1])", "9"); /* keyword args */
    check_assign("x = (1,\n     y == 2)\nz = 3", "2,23");     /* brackets span lines */
    check_assign("s = 'a=b' \"c=d\" '''e\nf=g'''", "2");   /* strings */
    check_assign("x = 1  # y = 2", "2");                      /* comments */
    check_assign("!pip install a==1 b=2\n  %time x = 1\nq = 1", "38"); /* shell, magics */
    check_assign("x: int = 5\ndef f(a=1, *, b=2) -> int: pass", "7");
    check_assign(")) x = 1", "5");                             /* unbalanced closers */
    check_assign("", "");
    check_assign("x ==", "");                                  /* '==' at the very end */
    check_assign("a ==\n!b = 1", "");      /* the line after '==' still begins a statement */
    assert_int_equal(assignments_exact("a=1\n  "), 1);         /* blanks to the end */
    assert_int_equal(assignments_exact("a=1\n\t"), 1);
    assert_int_equal(assignments_exact("a = r"), 1);           /* a prefix letter at the end */
    assert_int_equal(assignments_exact("a = rb"), 1);
    assert_int_equal(assignments_exact("a = ''"), 1);          /* a string at the end */
    assert_int_equal(assignments_exact("a = 'x"), 1);          /* unterminated */
    assert_int_equal(assignments_exact("a = '''x''"), 1);
    assert_int_equal(assignments_exact("a = 1  # c"), 1);      /* a comment at the end */
    size_t pos[2];
    assert_int_equal(pysrc_assignments("a=1\nb=1\nc=1", 11, pos, 2), 3); /* counts past CAP */
    assert_int_equal(pos[0], 1);
    assert_int_equal(pos[1], 5);
}

/* Blocks as "|"-joined texts, to compare in one string. */
/* pysrc_assignments as it was written before its SIMD search (a byte-by-byte scanner
 * that also looks at string prefixes and skips names as runs), kept as the reference. */
static size_t ref_assignments(const char *src, size_t len, size_t *pos, size_t cap)
{
    size_t n = 0, i = 0, q;
    int depth = 0, line_start = 1;
    while (i < len) {
        char c = src[i];
        if (line_start) {
            while (i < len && (src[i] == ' ' || src[i] == '\t')) i++;
            line_start = 0;
            if (i < len && (src[i] == '%' || src[i] == '!' || src[i] == '?'))
                while (i < len && src[i] != '\n') i++;
        } else if (c == '\n') {
            line_start = depth == 0;
            i++;
        } else if (c == '=') {
            if (i + 1 < len && src[i + 1] == '=') { i += 2; continue; }
            char p = i ? src[i - 1] : 0;
            int compare = p == '!' || ((p == '<' || p == '>') && !(i >= 2 && src[i - 2] == p));
            if (!compare && depth == 0) {
                if (n < cap) pos[n] = i;
                n++;
            }
            i++;
        } else if (c == '#') {
            while (i < len && src[i] != '\n') i++;
        } else if (strchr("\"'rRbBuUfF", c) && c && pysrc_string_start(src, len, i, &q)) {
            i = ref_skip_string(src, len, q);
        } else if (ref_is_ident((unsigned char)c)) {
            while (i < len && ref_is_ident((unsigned char)src[i])) i++;
        } else {
            if (c == '(' || c == '[' || c == '{') depth++;
            else if ((c == ')' || c == ']' || c == '}') && depth > 0) depth--;
            i++;
        }
    }
    return n;
}

/* pysrc_assignments against the reference on random text dense in what it looks at
 * ('=', comparisons, brackets of both kinds, quotes and prefixes, '#', magics, line
 * ends), lengths around the 16-byte steps, in a heap block of exactly its length. */
static void assignments_match_reference(void **state)
{
    (void)state;
    unsigned long long r = 4242;
    static const char alpha[] = "ab rbfU==<>!%?\"'#\\\n\n x1()[]{}:.\t\x80";
    for (int rep = 0; rep < 20000; rep++) {
        size_t n = (size_t)(r % (rep < 10000 ? 48 : 300));
        char *src = malloc(n ? n : 1);
        assert_non_null(src);
        for (size_t i = 0; i < n; i++) {
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            src[i] = alpha[(r >> 16) % (sizeof alpha - 1)];
        }
        size_t want[64], got[64];
        size_t nw = ref_assignments(src, n, want, 64), ng = pysrc_assignments(src, n, got, 64);
        assert_int_equal(ng, nw);
        assert_memory_equal(got, want, (nw < 64 ? nw : 64) * sizeof *want);
        free(src);
        r += (unsigned long long)rep;
    }
}

static void check_blocks(const char *src, const char *want)
{
    size_t pos[32], n = pysrc_blocks(src, strlen(src), pos, 32), len = strlen(src);
    assert_true(n <= 32);
    assert_int_equal(pysrc_blocks(src, len, NULL, 0), n); /* counting alone agrees */
    char got[1024] = "";
    for (size_t k = 0; k < n; k++) {
        size_t z = k + 1 < n ? pos[k + 1] : len;
        snprintf(got + strlen(got), sizeof got - strlen(got), "%s%.*s", k ? "|" : "", (int)(z - pos[k]), src + pos[k]);
    }
    assert_string_equal(got, want);
}

static void finds_top_level_blocks(void **state)
{
    (void)state;
    /* comments before the first statement go with it; compound statements stay whole */
    check_blocks("# load\nimport a\ndf = a.read('x.csv')\nif df:\n    y = 1\nelse:\n    y = 2\n",
                 "# load\nimport a\n|df = a.read('x.csv')\n|if df:\n    y = 1\nelse:\n    y = 2\n");
    /* try/except/finally, decorators, brackets, backslashes and strings across lines */
    check_blocks("try:\n  f()\nexcept E:\n  g()\nfinally:\n  h()\n@dec\n@dec2\ndef f():\n  pass\n"
                 "x = (1,\n2)\ny = 1 + \\\n3\ns = '''\nz = 4\n'''\nelsewhere = 1\n",
                 "try:\n  f()\nexcept E:\n  g()\nfinally:\n  h()\n|@dec\n@dec2\ndef f():\n  pass\n"
                 "|x = (1,\n2)\n|y = 1 + \\\n3\n|s = '''\nz = 4\n'''\n|elsewhere = 1\n");
    /* magics and shell lines are statements; a cell magic owns the whole cell */
    check_blocks("%matplotlib inline\n!pip install x\nprint(1)", "%matplotlib inline\n|!pip install x\n|print(1)");
    check_blocks("%%time\nx = 1\ny = 2\n", "");
    /* one statement, none, and malformed input */
    check_blocks("df.head()\n\n# done\n", "df.head()\n\n# done\n");
    check_blocks("", "");
    check_blocks("# only a comment\n", "");
    check_blocks("x = (\ny = 2\n", "x = (\ny = 2\n");
    check_blocks("x = 'open\ny = 2", "x = 'open\n|y = 2");
    /* an indented line or an else before the first statement goes with it as comments
     * do: the blocks cover the cell (they once began at the first statement, and
     * label --statements lost those lines; fuzz_cellsource) */
    check_blocks("  x = 1\ny = 2\nz = 3\n", "  x = 1\ny = 2\n|z = 3\n");
    check_blocks("# c\nelse:\n  pass\ny = 2\nz = 3", "# c\nelse:\n  pass\ny = 2\n|z = 3");
    /* a keyword goes on the statement before only as a whole name: every letter and
     * digit at either end of the ranges continues a name */
    check_blocks("if x:\n  y = 1\nelse", "if x:\n  y = 1\nelse"); /* a keyword at the very end */
    /* an indented shell line is skipped whole too: its '(' opens nothing */
    check_blocks("if a:\n  !echo (\nc = 2\n", "if a:\n  !echo (\n|c = 2\n");
    check_blocks("x = 1\nelsez = 2\nelseZ = 3\nelse9 = 4\nelse0 = 5\nelsea = 6\nelse_ = 7\nelse:\n  pass\n",
                 "x = 1\n|elsez = 2\n|elseZ = 3\n|else9 = 4\n|else0 = 5\n|elsea = 6\n|else_ = 7\nelse:\n  pass\n");
}

static void stage_keys(void **state)
{
    (void)state;
    assert_int_equal(stage_from_key("load"), STAGE_LOAD);
    assert_int_equal(stage_from_key("imports"), STAGE_IMPORTS);
    assert_int_equal(stage_from_key("none"), STAGE_NONE);
    assert_int_equal(stage_from_key("nope"), -2);
    for (int s = 0; s < N_STAGES; s++) assert_int_equal(stage_from_key(stage_key[s]), s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strips_comments_not_strings),
        cmocka_unit_test(comments_match_reference),
        cmocka_unit_test(blank_cells),
        cmocka_unit_test(finds_statement_assignments),
        cmocka_unit_test(assignments_match_reference),
        cmocka_unit_test(string_starts_at_prefix_or_quote),
        cmocka_unit_test(finds_top_level_blocks),
        cmocka_unit_test(stage_keys),
    };
    return cmocka_run_group_tests_name("pysrc", tests, NULL, NULL);
}
