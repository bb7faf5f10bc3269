/* test_rules.c — the rule-file parser and matcher (labeling/rules.h).
 *
 * Bad rule files must fail with "file:line: reason" (a name defined twice in one file
 * or taken from a built-in LF, a bad pattern shown with its macros expanded, a file
 * with no directive at all); macros (never PCRE2's own braces, \p{L}, \g{NAME}, an
 * escaped \{ or one in \Q...\E), levels, overrides and `disable` (a second one of a
 * rule an earlier file disabled is done already) must do what share/rules.txt
 * documents; patterns see the code view, so comments and strings never match; a
 * pattern that backtracks catastrophically must give up at the match limit, in
 * bounded time, and leave its rule undecided only where no other line decides it, in
 * the interpreter (a pattern not JIT-compiled) at its own step, depth and heap limits
 * too; and the shipped rule file must load.
 */
#include "unit.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labeling/pytoken.h"
#include "labeling/rules.h"
#include "labeling/stage.h"

static int load(struct ruleset *rs, const char *text, char *err, size_t n)
{
    return ruleset_load_text(rs, text, strlen(text), "t.rules", err, n);
}

/* RS := the rules of TEXT, which must load. */
static void must_load(struct ruleset *rs, const char *text)
{
    char err[512];
    memset(rs, 0, sizeof *rs);
    if (load(rs, text, err, sizeof err)) fail_msg("%s", err);
}

/* Each bad file and the start of the message it must produce. */
static void test_bad_files_name_the_line(void **state)
{
    (void)state;
    static const struct { const char *text, *want; } bad[] = {
        {"rule a load\nany (unclosed\n", "t.rules:2: bad pattern at offset 9: missing closing parenthesis"},
        /* PCRE2's offset is into the expanded pattern: the text before it is shown */
        {"define AB (?:ab+)\nrule a load\nany x{AB}[a-\n",
         "t.rules:3: bad pattern: missing terminating ] for character class, at offset 11 of it with its macros "
         "expanded, after 'x(?:ab+)[a-'"},
        {"define AB (?:ab+)\ndefine C {AB}(\n", "t.rules:2: bad pattern: missing closing parenthesis, at offset 8"},
        {"# c\n\nany x\n", "t.rules:3: 'any' outside a rule"},
        {"rule a nowhere\nany x\n", "t.rules:1: unknown stage 'nowhere'"},
        {"rule a load loud\nany x\n", "t.rules:1: unknown level 'loud'"},
        {"rule\n", "t.rules:1: expected: rule NAME STAGE"},
        {"rule a load\nany {NOPE}\n", "t.rules:2: unknown macro {NOPE}"},
        {"define lower x\n", "t.rules:1: expected: define NAME PATTERN"},
        {"rule a load\nfrobnicate x\n", "t.rules:2: unknown keyword 'frobnicate'"},
        {"rule a load\nnone x\n", "t.rules:1: rule a has no any/all/string pattern"},
        {"disable ghost\n", "t.rules:1: disable: no rule named 'ghost'"},
        /* a bare `disable` said "no rule named ''" */
        {"disable\n", "t.rules:1: expected: disable NAME"},
        {"rule a load\nany x\ndisable a b\n", "t.rules:3: expected: disable NAME"},
        {"rule a/b load\nany x\n", "t.rules:1: bad rule name 'a/b'"},
        {"setup\n", "t.rules:1: expected: setup PATTERN"},
        /* one file, one rule per name: the second lost the first without a word */
        {"rule a load\nany x\n\nrule a prep\nany y\n", "t.rules:4: rule a is already defined at line 1 of this file"},
        /* said as too long, not as "expected: rule NAME STAGE" */
        {"rule aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa load\n",
         "t.rules:1: rule name of 129 characters (at most 127)"},
        /* one over the limit is refused, not cut to 127 */
        {"rule aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa load\n",
         "t.rules:1: rule name of 128 characters (at most 127)"},
        {"rule a\nany x\n", "t.rules:1: expected: rule NAME STAGE [job|show|hint] [silent]"},
        /* after the level only `silent`, and nothing after it */
        {"rule a load job loud\nany x\n", "t.rules:1: expected: rule NAME STAGE [job|show|hint] [silent]"},
        {"rule a load job silent x\nany x\n", "t.rules:1: expected: rule NAME STAGE [job|show|hint] [silent]"},
        {"rule a load silent job\nany x\n", "t.rules:1: expected: rule NAME STAGE [job|show|hint] [silent]"},
        /* a disabled rule takes no more patterns: they are not added to the rule before */
        {"rule a load\nany x\nrule b prep\nany y\ndisable b\nany z\n", "t.rules:6: 'any' outside a rule"},
        {"define lower x\n", "t.rules:1: expected: define NAME PATTERN (NAME in capitals)"},
        {"define _X\n", "t.rules:1: expected: define NAME PATTERN (NAME in capitals)"},
        /* one file, one macro per name, as one rule per name: the second replaced the first */
        {"define FOO foo\ndefine FOO bar\n", "t.rules:2: macro FOO is already defined at line 1 of this file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct ruleset rs;
        memset(&rs, 0, sizeof rs);
        char err[512] = "";
        assert_int_equal(load(&rs, bad[i].text, err, sizeof err), -1);
        if (strncmp(err, bad[i].want, strlen(bad[i].want)) != 0)
            fail_msg("case %zu: got '%s', want prefix '%s'", i, err, bad[i].want);
        ruleset_free(&rs);
    }
    char err[512];
    struct ruleset rs;
    /* the caller's reserved names (the built-in LFs') */
    static const char *const reserved[] = {"imports_only", NULL};
    memset(&rs, 0, sizeof rs);
    rs.reserved = reserved;
    assert_int_equal(load(&rs, "rule imports_only load\nany x\n", err, sizeof err), -1);
    assert_string_equal(err, "t.rules:1: rule name 'imports_only' is a built-in LF's (pick another name)");
    ruleset_free(&rs);
    /* a file that says nothing: the wrong file, or a script's output that failed */
    memset(&rs, 0, sizeof rs);
    assert_int_equal(load(&rs, "", err, sizeof err), -1);
    assert_string_equal(err, "t.rules: no rules in it (an empty file)");
    assert_int_equal(load(&rs, "# mine\n\n   \r\n", err, sizeof err), -1);
    assert_string_equal(err, "t.rules: no rules in it (only comments and blank lines)");
    assert_int_equal(load(&rs, "\xef\xbb\xbf", err, sizeof err), -1);
    assert_string_equal(err, "t.rules: no rules in it (an empty file)");
    ruleset_free(&rs);
    /* a NUL inside a line is named, not read as the line's end */
    static const char nul[] = "rule a load\nany x\0y\n";
    memset(&rs, 0, sizeof rs);
    assert_int_equal(ruleset_load_text(&rs, nul, sizeof nul - 1, "t.rules", err, sizeof err), -1);
    assert_string_equal(err, "t.rules:2: NUL byte in line");
    ruleset_free(&rs);
    /* a macro's name may start with '_' */
    memset(&rs, 0, sizeof rs);
    assert_int_equal(load(&rs, "define _X x+\nrule a load\nany {_X}y\n", err, sizeof err), 0);
    /* a later file redefines a macro, as it overrides a rule */
    assert_int_equal(load(&rs, "define _X z+\nrule b load\nany {_X}y\n", err, sizeof err), 0);
    assert_string_equal(rs.defs[0].re, "z+");
    ruleset_free(&rs);
    memset(&rs, 0, sizeof rs);
    assert_int_equal(ruleset_load_file(&rs, "/nonexistent/rules.txt", err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/rules.txt: No such file or directory"); /* as a notebook's */
}

/* A rule file saved by a Windows editor: a UTF-8 byte-order mark (Notepad's "UTF-8"
 * before 2019) and CRLF line ends.  The mark used to make the first keyword unknown,
 * "unknown keyword 'rule'" with the mark invisible in the message. */
static int fires(const struct ruleset *rs, const char *name, const char *src);
static void test_windows_saved_file(void **state)
{
    (void)state;
    const char *text = "\xef\xbb\xbfrule parquet load\r\n  any \\bread_parquet\\s*\\(\r\n";
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[512] = "";
    if (load(&rs, text, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(rs.n, 1);
    assert_true(fires(&rs, "parquet", "df = pd.read_parquet(p)"));
    ruleset_free(&rs);
    /* the mark is only a mark at the very start */
    memset(&rs, 0, sizeof rs);
    assert_int_equal(load(&rs, "rule a load\n\xef\xbb\xbf  any x\n", err, sizeof err), -1);
    ruleset_free(&rs);
}

/* One rule file with its line ends written as EOL (LF, CRLF, or a CR alone, old Mac
 * line ends): a CR-only file read as one line and was refused as "t.rules:1:
 * expected: rule NAME STAGE ...".  Each must load the same rules, at the same lines,
 * and name the same line when one is wrong. */
static void test_line_ends(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "# mine", "", "define READ (?:\\bread_csv\\s*\\()", "rule reads load", "  any {READ}  ",
        "", "rule heads explore show", "  any \\.head\\(", "  none ^import\\b", "disable heads",
        "rule fits train silent", "  any \\.fit\\(",
    };
    static const char *const eols[] = {"\n", "\r\n", "\r"};
    char text[3][1024], err[512];
    for (int e = 0; e < 3; e++) {
        text[e][0] = 0;
        for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
            strcat(text[e], lines[i]);
            strcat(text[e], eols[e]);
        }
        struct ruleset rs;
        memset(&rs, 0, sizeof rs);
        if (load(&rs, text[e], err, sizeof err)) fail_msg("eol %d: %s", e, err);
        assert_int_equal(rs.n, 2);
        assert_string_equal(rs.rules[0].name, "reads");
        assert_int_equal(rs.rules[0].line, 4);
        assert_string_equal(rs.rules[1].name, "fits");
        assert_int_equal(rs.rules[1].line, 11);
        assert_true(rs.rules[1].silent);
        assert_int_equal(rs.n_disabled, 1);
        assert_int_equal(rs.disabled[0].line, 10);
        assert_true(fires(&rs, "reads", "df = pd.read_csv(p)"));
        assert_true(fires(&rs, "fits", "m.fit(X, y)"));
        ruleset_free(&rs);
        /* the last line without its line end, and an error named at its line */
        memset(&rs, 0, sizeof rs);
        char bad[128];
        snprintf(bad, sizeof bad, "rule a load%s%s  any x%srule b nowhere", eols[e], eols[e], eols[e]);
        assert_int_equal(load(&rs, bad, err, sizeof err), -1);
        if (strncmp(err, "t.rules:4: unknown stage 'nowhere'", 34) != 0) fail_msg("eol %d: %s", e, err);
        ruleset_free(&rs);
    }
}

/* A word far over its field's length is named with its length and the limit, at its
 * line: a 100 kB stage word was "expected: rule NAME STAGE [job|show|hint] [silent]". */
static void test_long_words_say_what_is_too_long(void **state)
{
    (void)state;
    size_t big = 100000;
    char *w = malloc(big + 1);
    assert_non_null(w);
    memset(w, 'l', big);
    w[big] = 0;
    static const struct { const char *before, *after, *want; } cases[] = {
        {"rule a load\n  any x\nrule b ", "\n  any y\n", "t.rules:3: stage of 100000 characters (at most 31)"},
        {"rule a ", " job\n  any y\n", "t.rules:1: stage of 100000 characters (at most 31)"},
        {"\n\trule a load ", "\n  any y\n", "t.rules:2: level of 100000 characters (at most 31)"},
        {"rule a load job ", "\n  any y\n", "t.rules:1: word after the level of 100000 characters (at most 31)"},
        {"rule ", " load\n  any y\n", "t.rules:1: rule name of 100000 characters (at most 127)"},
        {"rule a load\n  any x\ndisable ", "\n", "t.rules:3: disable: rule name of 100000 characters (at most 127)"},
        {"rule a load\n", " x\n",
         "t.rules:2: unknown keyword of 100000 characters, 'llllllllllllllllllll...' (rule, any, all"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].before) + big + strlen(cases[i].after);
        char *text = malloc(n + 1);
        assert_non_null(text);
        snprintf(text, n + 1, "%s%s%s", cases[i].before, w, cases[i].after);
        struct ruleset rs;
        memset(&rs, 0, sizeof rs);
        char err[512] = "";
        assert_int_equal(load(&rs, text, err, sizeof err), -1);
        if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: got '%.200s', want prefix '%s'", i, err, cases[i].want);
        ruleset_free(&rs);
        free(text);
    }
    /* at the limits, the words are read as words (and said wrong as such) */
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[512];
    char text[256];
    snprintf(text, sizeof text, "rule a %.31s\n  any y\n", w);
    assert_int_equal(load(&rs, text, err, sizeof err), -1);
    assert_string_equal(err, "t.rules:1: unknown stage 'lllllllllllllllllllllllllllllll' (load prep train evaluate "
                             "explore imports)");
    ruleset_free(&rs);
    memset(&rs, 0, sizeof rs);
    snprintf(text, sizeof text, "disable %.127s\n", w);
    assert_int_equal(load(&rs, text, err, sizeof err), -1);
    assert_true(strncmp(err, "t.rules:1: disable: no rule named 'lll", 38) == 0);
    ruleset_free(&rs);
    free(w);
}

static int fires(const struct ruleset *rs, const char *name, const char *src)
{
    struct pyview v;
    assert_int_equal(pyview_make(&v, src, strlen(src)), 0);
    void *md = rules_match_data();
    int hit = -1;
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->rules[i].name, name) == 0) hit = rule_matches(&rs->rules[i], &v, md);
    rules_match_data_free(md);
    pyview_free(&v);
    assert_true(hit >= 0);
    return hit;
}

static void test_directives(void **state)
{
    (void)state;
    const char *text =
        "# a comment\n"
        "define READ (?:\\bread_csv\\s*\\()\n"
        "define READ2 (?:{READ}|\\bread_json\\s*\\()\n"
        "setup ^np\\.random\\.seed\\s*\\(\n"
        "rule read load\n"
        "  any {READ2}\n"
        "  none \\.fit\\s*\\(\n"
        "rule csv_string load show\n"
        "  any \\bopen\\s*\\(\n"
        "  string \\.csv\\b\n"
        "rule both explore hint\n"
        "  all \\.head\\s*\\(\n"
        "  all \\.tail\\s*\\(\n"
        "rule narrow prep silent\n"
        "  any \\bdel\\b\n"
        "rule narrow_hint prep hint silent\n"
        "  any \\bdropna\\b\n";
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[512];
    if (load(&rs, text, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(rs.n, 5);
    assert_int_equal(rs.rules[0].stage, STAGE_LOAD);
    assert_int_equal(rs.rules[0].level, LF_JOB);
    assert_int_equal(rs.rules[1].level, LF_SHOW);
    assert_int_equal(rs.rules[2].level, LF_HINT);
    assert_int_equal(rs.rules[2].line, 11);
    /* `silent`, with the level or without it (then job) */
    assert_false(rs.rules[2].silent);
    assert_int_equal(rs.rules[3].level, LF_JOB);
    assert_true(rs.rules[3].silent);
    assert_int_equal(rs.rules[4].level, LF_HINT);
    assert_true(rs.rules[4].silent);
    assert_true(fires(&rs, "read", "df = pd.read_csv('x.csv')"));
    assert_true(fires(&rs, "read", "df = pd.read_json(p)"));        /* nested macro */
    assert_false(fires(&rs, "read", "df = pd.read_csv(p)\nm.fit(df)")); /* none */
    assert_false(fires(&rs, "read", "# df = pd.read_csv(p)\nx = 1")); /* comment */
    assert_false(fires(&rs, "read", "s = 'pd.read_csv(p)'"));       /* string */
    assert_false(fires(&rs, "read", "'''\ndf = pd.read_csv(p)\n'''\nx = 2")); /* disabled code */
    assert_true(fires(&rs, "csv_string", "f = open('data/train.csv')"));
    assert_false(fires(&rs, "csv_string", "f = open('notes.md')"));
    assert_true(fires(&rs, "both", "df.head()\ndf.tail()"));
    assert_false(fires(&rs, "both", "df.head()"));
    void *md = rules_match_data();
    assert_true(ruleset_is_setup(&rs, "np.random.seed(1)", 17, md, NULL));
    assert_false(ruleset_is_setup(&rs, "x = np.random.rand(3)", 21, md, NULL));
    rules_match_data_free(md);

    /* A second file overrides by name, adds new names, disables old ones. */
    const char *user =
        "rule read prep\n  any \\bread_parquet\\s*\\(\n"
        "rule mine train\n  any \\bmy_fit\\s*\\(\n"
        "rule narrow prep\n  any \\bdel\\b\n"
        "disable both\n";
    if (load(&rs, user, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(rs.n, 5);
    for (size_t i = 0; i < rs.n; i++) /* overridden without `silent`; the other kept */
        if (!strcmp(rs.rules[i].name, "narrow") || !strcmp(rs.rules[i].name, "narrow_hint"))
            assert_int_equal(rs.rules[i].silent, !strcmp(rs.rules[i].name, "narrow_hint"));
    assert_int_equal(rs.rules[0].stage, STAGE_PREP);
    assert_false(fires(&rs, "read", "pd.read_csv(p)"));
    assert_true(fires(&rs, "read", "pd.read_parquet(p)"));
    assert_true(fires(&rs, "mine", "my_fit(X, y)"));
    ruleset_free(&rs);

    /* PCRE2's own braces are not macros: \p{L}, \g{NAME}, \k{NAME}, \x{AB}; an
     * escaped backslash before the letter leaves {NAME} a macro */
    memset(&rs, 0, sizeof rs);
    const char *braces =
        "define V df\n"
        "rule prop explore\n  any ^df\\.\\p{L}+\\(\\P{N}\n"
        "rule named prep\n  any (?<X>\\w+) = \\g{X}\\.\\w+\\(\\)\n"
        "rule named_k prep\n  any (?<Y>\\w+) = \\k{Y}\\.dropna\n"
        "rule hex explore\n  any \\x{AB}\n"
        "rule macro load\n  any \\\\p{V}\n";
    if (load(&rs, braces, err, sizeof err) != 0) fail_msg("%s", err);
    assert_true(fires(&rs, "prop", "df.head()"));
    assert_false(fires(&rs, "prop", "df.head2()"));
    assert_true(fires(&rs, "named", "df = df.dropna()"));
    assert_false(fires(&rs, "named", "df = dg.dropna()"));
    assert_true(fires(&rs, "named_k", "df = df.dropna()"));
    assert_false(fires(&rs, "hex", "df.head()"));
    assert_true(fires(&rs, "macro", "x = a\\pdf"));
    ruleset_free(&rs);
}

/* A pattern that backtracks catastrophically stops at the match limit of rules.h, in
 * bounded time (PCRE2's default let one cell take a second and more): the rule cannot
 * say, and rule_matches returns PCRE2's code for its caller to abstain.  A `none`
 * line that gives up no longer makes the rule fire; a line that decides the rule
 * decides it whatever the others gave up on. */
static void test_match_limit_gives_up(void **state)
{
    (void)state;
    struct ruleset rs;
    must_load(&rs, "rule fine load\n  any ^x\n"
                   "rule evil train\n  any ^(\\w+\\s?)*$\n"
                   "rule evil_none train\n  any a\n  none ^(\\w+\\s?)*$\n"
                   "rule evil_or train\n  any ^(\\w+\\s?)*$\n  any aaaa\n"
                   "rule evil_and train\n  any ^(\\w+\\s?)*$\n  all zzz\n"
                   "setup ^(\\w+\\s?)*$\n");
    char src[4096];
    memset(src, 'a', sizeof src);
    for (int i = 0; i < 60; i++) src[5 * i + 4] = ' ';
    memcpy(src + sizeof src - 2, "!", 2);
    struct pyview v;
    assert_int_equal(pyview_make(&v, src, strlen(src)), 0);
    void *md = rules_match_data();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(rule_matches(&rs.rules[0], &v, md), 0);
    assert_int_equal(rule_matches(&rs.rules[1], &v, md), PCRE2_ERROR_MATCHLIMIT);
    assert_int_equal(rule_matches(&rs.rules[2], &v, md), PCRE2_ERROR_MATCHLIMIT);
    assert_int_equal(rule_matches(&rs.rules[3], &v, md), 1);
    assert_int_equal(rule_matches(&rs.rules[4], &v, md), 0);
    size_t which = 99;
    assert_int_equal(ruleset_is_setup(&rs, src, strlen(src), md, &which), PCRE2_ERROR_MATCHLIMIT);
    assert_int_equal(which, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* six matches at the limit: a few ms each with JIT (sanitizers and a busy machine
     * take more), where the default limit took seconds */
    double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    assert_true(s < 2.0);
    assert_int_equal(rs.setup_at[0].line, 14);
    assert_string_equal(rs.paths[rs.rules[1].file - 1], "t.rules");
    char msg[128];
    rules_error_message(PCRE2_ERROR_MATCHLIMIT, msg, sizeof msg);
    assert_string_equal(msg, "match limit exceeded");
    assert_true(rules_error_is_limit(PCRE2_ERROR_MATCHLIMIT));
    assert_false(rules_error_is_limit(PCRE2_ERROR_UTF8_ERR1));
    rules_match_data_free(md);
    pyview_free(&v);
    ruleset_free(&rs);
}

/* Long but ordinary code: a pattern that is linear, not catastrophic, finishes however
 * long the cell.  A repetition a frame deep on JIT's stack (`\w+(?:\.\w+)*` on a chain
 * of 3,000 names overflowed PCRE2's default 32 KiB), and a lookahead tried at every
 * position of a 300 kB cell (over 1,000,000 steps, the floor of the match limit, which
 * grows with the cell: RULES_MATCH_PER_BYTE); a catastrophic pattern on that cell still
 * gives up. */
static void test_long_cells_are_matched_not_given_up(void **state)
{
    (void)state;
    struct ruleset rs;
    must_load(&rs, "rule chain explore\n  any ^\\s*\\w+(?:\\.\\w+)*\\s*$\n"
                   "rule scan prep\n  any \\A(?!(?s:.*?)\\b(?:epochs|lr)\\s*=\\s*\\d)(?s:.*?)\\bDMatrix\\(\n"
                   "rule evil train\n  any ^(\\w+\\s?)*$\n");
    void *md = rules_match_data();
    size_t n = 3000, len = 2 + 2 * n;
    char *chain = malloc(len + 1);
    assert_non_null(chain);
    memcpy(chain, "df", 2);
    for (size_t i = 0; i < n; i++) memcpy(chain + 2 + 2 * i, ".x", 2);
    chain[len] = 0;
    struct pyview v;
    assert_int_equal(pyview_make(&v, chain, len), 0);
    assert_int_equal(rule_matches(&rs.rules[0], &v, md), 1);
    pyview_free(&v);
    free(chain);
    /* 24,000 lines of `    'k1': 1,` (a dict written out), then the call the scan looks for */
    size_t lines = 24000;
    char *big = malloc(lines * 16 + 64);
    assert_non_null(big);
    size_t at = 0;
    for (size_t i = 0; i < lines; i++) at += (size_t)sprintf(big + at, "    'k%zu': 1,\n", i % 1000);
    at += (size_t)sprintf(big + at, "d = xgb.DMatrix(X)\n");
    assert_true(at > 300000);
    assert_int_equal(pyview_make(&v, big, at), 0);
    assert_int_equal(rule_matches(&rs.rules[1], &v, md), 1);
    /* the same length of words and spaces ending in '!': (\w+\s?)* tries every split */
    memset(big, 'a', at - 1);
    for (size_t i = 0; i < 60; i++) big[5 * i + 4] = ' ';
    big[at - 1] = '!';
    pyview_free(&v);
    assert_int_equal(pyview_make(&v, big, at), 0);
    assert_int_equal(rule_matches(&rs.rules[2], &v, md), PCRE2_ERROR_MATCHLIMIT);
    pyview_free(&v);
    free(big);
    rules_match_data_free(md);
    ruleset_free(&rs);
}

/* A cell of N copies of C followed by TAIL, its views made. */
static void make_cell(struct pyview *v, char **src, size_t n, char c, const char *tail)
{
    *src = malloc(n + strlen(tail) + 1);
    assert_non_null(*src);
    memset(*src, c, n);
    strcpy(*src + n, tail);
    assert_int_equal(pyview_make(v, *src, strlen(*src)), 0);
}

/* The matcher picks the match context by whether the pattern was JIT-compiled
 * (PCRE2_INFO_JITSIZE): a pattern JIT cannot or may not compile, as (*NO_JIT) makes
 * one, runs in the interpreter under its own limits (rules.h: 3,000,000 steps, depth
 * 100,000, 32 MiB of heap), each of which must give up here, and not the JIT's
 * 1,000,000 steps, which count differently.  (a+)+$ before a '!' takes 2.5 * 2^N
 * interpreter steps for N a's (PCRE2 10.42); ^(a|b)*$ two frames an 'a'; 200 capture
 * groups make each frame ~3 KiB. */
static void test_interpreter_limits_give_up(void **state)
{
    (void)state;
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[512], text[2048];
    int k = snprintf(text, sizeof text, "rule steps train\n  any (*NO_JIT)(a+)+$\n"
                                         "rule deep train\n  any (*NO_JIT)^(a|b)*$\n"
                                         "rule wide train\n  any (*NO_JIT)^(a|b)*$|");
    for (int i = 0; i < 200; i++) k += snprintf(text + k, sizeof text - (size_t)k, "(c)");
    snprintf(text + k, sizeof text - (size_t)k, "\nrule jit train\n  any (a+)+$\n");
    if (load(&rs, text, err, sizeof err)) fail_msg("%s", err);
    for (int i = 0; i < 3; i++) {
        size_t jit = 1;
        assert_int_equal(pcre2_pattern_info(rs.rules[i].any[0]->code, PCRE2_INFO_JITSIZE, &jit), 0);
        assert_int_equal(jit, 0); /* the interpreter's */
    }
    uint32_t have_jit = 0;
    pcre2_config(PCRE2_CONFIG_JIT, &have_jit);
    void *md = rules_match_data();
    struct pyview v;
    char *src;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    /* 19 a's: 1,310,720 steps, over JIT's limit and under the interpreter's */
    make_cell(&v, &src, 19, 'a', "!");
    assert_int_equal(rule_matches(&rs.rules[0], &v, md), 0);
    if (have_jit) assert_int_equal(rule_matches(&rs.rules[3], &v, md), PCRE2_ERROR_MATCHLIMIT);
    pyview_free(&v); free(src);
    /* 21 a's: 5,242,880 steps */
    make_cell(&v, &src, 21, 'a', "!");
    assert_int_equal(rule_matches(&rs.rules[0], &v, md), PCRE2_ERROR_MATCHLIMIT);
    pyview_free(&v); free(src);
    /* depth: 40,000 a's (80,000 frames) match; 60,000 give up */
    make_cell(&v, &src, 40000, 'a', "");
    assert_int_equal(rule_matches(&rs.rules[1], &v, md), 1);
    pyview_free(&v); free(src);
    make_cell(&v, &src, 60000, 'a', "");
    assert_int_equal(rule_matches(&rs.rules[1], &v, md), PCRE2_ERROR_DEPTHLIMIT);
    pyview_free(&v); free(src);
    /* heap: 4,000 a's (~25 MiB of frames) match; 20,000 (~130 MiB) give up */
    make_cell(&v, &src, 4000, 'a', "");
    assert_int_equal(rule_matches(&rs.rules[2], &v, md), 1);
    pyview_free(&v); free(src);
    make_cell(&v, &src, 20000, 'a', "");
    assert_int_equal(rule_matches(&rs.rules[2], &v, md), PCRE2_ERROR_HEAPLIMIT);
    assert_true(rules_error_is_limit(PCRE2_ERROR_DEPTHLIMIT) && rules_error_is_limit(PCRE2_ERROR_HEAPLIMIT));
    pyview_free(&v); free(src);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* well under a second in all (0.1 s here); under PCRE2's defaults (10,000,000
     * steps, depth 10,000,000, 20 GiB of heap) each of the three would have finished */
    double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    assert_true(s < 5.0);
    rules_match_data_free(md);
    ruleset_free(&rs);
}

/* A brace PCRE2 reads as text is not a macro: an escaped one (\{NAME} matches the
 * text "{NAME}", as PCRE2 reads it) and one inside \Q...\E.  The expander took
 * \{PLOT} for the macro, pasting its group after the backslash (a bad pattern, or
 * one that matched something else), and \{NAME} of no macro for an unknown one. */
static void test_escaped_braces_are_text(void **state)
{
    (void)state;
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[512];
    const char *text =
        "define AB (?:ab)\n"
        "rule esc evaluate\n  any ^x = \\{AB}$\n"
        "rule esc_unknown evaluate\n  any ^x = \\{NOPE}$\n"
        "rule quoted evaluate\n  any ^x = \\Q{AB}\\E$\n"
        "rule quoted_open evaluate\n  any ^x = \\Q{AB}\n"
        "rule after_quote evaluate\n  any ^\\Q{\\E{AB}$\n"
        "rule escaped_bs evaluate\n  any ^a\\\\{AB}$\n";
    if (load(&rs, text, err, sizeof err) != 0) fail_msg("%s", err);
    assert_true(fires(&rs, "esc", "x = {AB}"));
    assert_false(fires(&rs, "esc", "x = ab"));
    assert_true(fires(&rs, "esc_unknown", "x = {NOPE}"));
    assert_true(fires(&rs, "quoted", "x = {AB}"));
    assert_false(fires(&rs, "quoted", "x = ab"));
    assert_true(fires(&rs, "quoted_open", "x = {AB}"));
    assert_true(fires(&rs, "after_quote", "{ab"));   /* the macro after \E is one */
    assert_true(fires(&rs, "escaped_bs", "a\\ab")); /* \\ is a backslash: {AB} a macro */
    ruleset_free(&rs);
}

/* Lines that say the same pattern once macros are expanded share one compiled
 * pattern (per view: an `any` and a `string` line of the same text do not), and its
 * answer on a view is remembered from rules_match_begin(V) to its end (begin NULL):
 * a new view at the same address, begun again, is matched afresh, and after the end
 * nothing is answered from memory. */
static void test_shared_patterns_remember_one_view(void **state)
{
    (void)state;
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[512];
    const char *text = "define FIT \\.fit\\(\n"
                       "rule a train\n  any {FIT}\n"
                       "rule b train\n  any \\.fit\\(\n  none plot\n"
                       "rule c evaluate\n  string \\.fit\\(\n";
    if (load(&rs, text, err, sizeof err) != 0) fail_msg("%s", err);
    assert_int_equal(rs.n, 3);
    assert_ptr_equal(rs.rules[0].any[0], rs.rules[1].any[0]);
    assert_ptr_not_equal(rs.rules[0].any[0], rs.rules[2].str[0]);
    assert_int_equal(rs.n_patterns, 3);
    void *md = rules_match_data();
    assert_non_null(md);
    static const struct { const char *src; int a, b, c; } cells[] = {
        {"m.fit(x, y)", 1, 1, 0},
        {"m.fit(x, y)\nplot(m)", 1, 0, 0},
        {"print('.fit(')", 0, 0, 1},
        {"m.predict(x)", 0, 0, 0},
    };
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof cells / sizeof *cells; i++) {
            struct pyview v; /* the same address every time */
            assert_int_equal(pyview_make(&v, cells[i].src, strlen(cells[i].src)), 0);
            if (round == 0) rules_match_begin(md, &v);
            for (int twice = 0; twice < 2; twice++) {
                assert_int_equal(rule_matches(&rs.rules[0], &v, md), cells[i].a);
                assert_int_equal(rule_matches(&rs.rules[1], &v, md), cells[i].b);
                assert_int_equal(rule_matches(&rs.rules[2], &v, md), cells[i].c);
            }
            if (round == 0) rules_match_begin(md, NULL);
            pyview_free(&v);
        }
    rules_match_data_free(md);
    ruleset_free(&rs);
}

/* The `setup` patterns are tried as one alternation, which must answer as the list
 * does; a pattern that would mean something else as a branch (a numbered
 * back-reference, a verb) leaves the list to answer alone. */
static void test_setup_patterns_joined(void **state)
{
    (void)state;
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[512];
    if (load(&rs, "setup ^%matplotlib\\b\nsetup ^(?s)with warnings\\..*:\nsetup ^(\\w+)\\.seed\\(\\g{-1}\\)\n",
             err, sizeof err))
        fail_msg("%s", err);
    assert_non_null(rs.setup_any);
    static const struct { const char *stmt; int want; } cases[] = {
        {"%matplotlib inline", 1}, {"%matplotlibx", 0}, {"with warnings.catch():\n    pass", 1},
        {"rng.seed(rng)", 1}, {"rng.seed(np)", 0}, {"x = 1\n%matplotlib inline", 1}, {"df.head()", 0},
        {"aa", 0},
    };
    void *md = rules_match_data();
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        assert_int_equal(ruleset_is_setup(&rs, cases[i].stmt, strlen(cases[i].stmt), md, NULL), cases[i].want);
    /* a file that fails after a setup line leaves that line in the list, which then
     * answers alone: the alternation of the lines before would miss it */
    const char *broken = "setup ^tqdm\\.pandas\\(\nsetup (\n";
    assert_int_equal(ruleset_load_text(&rs, broken, strlen(broken), "broken.rules", err, sizeof err), -1);
    assert_null(rs.setup_any);
    assert_int_equal(ruleset_is_setup(&rs, "tqdm.pandas()", 13, md, NULL), 1);
    assert_int_equal(ruleset_is_setup(&rs, "%matplotlib inline", 18, md, NULL), 1);
    /* a second file's \1 cannot join (in the alternation it would name group 2) */
    if (ruleset_load_text(&rs, "setup ^(a)\\1$\n", 14, "more.rules", err, sizeof err)) fail_msg("%s", err);
    assert_null(rs.setup_any);
    assert_int_equal(ruleset_is_setup(&rs, "aa", 2, md, NULL), 1);
    assert_int_equal(ruleset_is_setup(&rs, "rng.seed(rng)", 13, md, NULL), 1);
    assert_int_equal(ruleset_is_setup(&rs, "df.head()", 9, md, NULL), 0);
    ruleset_free(&rs);
    static const char *const alone[] = {"setup x\nsetup (*COMMIT)y\n", "setup x\nsetup (a)(?1)\n",
                                        "setup x\nsetup (?|(a)|(b))\\g{1}\n", "setup x\nsetup \\g<1>(b)\n"};
    for (size_t i = 0; i < sizeof alone / sizeof *alone; i++) {
        memset(&rs, 0, sizeof rs);
        if (load(&rs, alone[i], err, sizeof err)) fail_msg("%s: %s", alone[i], err);
        assert_null(rs.setup_any);
        ruleset_free(&rs);
    }
    rules_match_data_free(md);
}

/* `disable NAME` of a rule an earlier file disabled (two files that both disable a
 * noisy shipped rule, or one file given twice) said "no rule named", as if the
 * rule never was; now it is done already, and said so only within one file.  A
 * built-in LF's name is said to be one. */
static void test_disable_twice(void **state)
{
    (void)state;
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    static const char *const reserved[] = {"imports_only", NULL};
    rs.reserved = reserved;
    char err[512] = "";
    if (load(&rs, "rule a load\n  any x\nrule b prep\n  any y\n", err, sizeof err)) fail_msg("%s", err);
    const char *mine = "# mine\ndisable a\n";
    if (ruleset_load_text(&rs, mine, strlen(mine), "mine.rules", err, sizeof err)) fail_msg("%s", err);
    if (ruleset_load_text(&rs, mine, strlen(mine), "mine.rules", err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(rs.n, 1);
    assert_string_equal(rs.rules[0].name, "b");
    const char *twice = "disable b\n\ndisable b\n";
    assert_int_equal(ruleset_load_text(&rs, twice, strlen(twice), "t2.rules", err, sizeof err), -1);
    assert_string_equal(err, "t2.rules:3: rule b is already disabled at line 1 of this file");
    ruleset_free(&rs);
    /* a rule defined again after it was disabled is a rule: disabling it works */
    memset(&rs, 0, sizeof rs);
    rs.reserved = reserved;
    if (load(&rs, "rule a load\n  any x\n", err, sizeof err)) fail_msg("%s", err);
    const char *again = "disable a\nrule a train\n  any z\ndisable a\n";
    if (ruleset_load_text(&rs, again, strlen(again), "u.rules", err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(rs.n, 0);
    assert_int_equal(ruleset_load_text(&rs, "disable imports_only\n", 21, "v.rules", err, sizeof err), -1);
    assert_string_equal(err, "v.rules:1: disable: 'imports_only' is a built-in LF, not a rule (only rules can be disabled)");
    assert_int_equal(ruleset_load_text(&rs, "disable ghost\n", 14, "w.rules", err, sizeof err), -1);
    assert_string_equal(err, "w.rules:1: disable: no rule named 'ghost'");
    ruleset_free(&rs);
}

/* strdup, failing for one argument when asked: the rule parser's out-of-memory paths
 * (this binary's definition is the one the library's objects link to). */
static const char *strdup_fails_for;

char *strdup(const char *s)
{
    if (strdup_fails_for && !strcmp(s, strdup_fails_for)) {
        errno = ENOMEM;
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* A `define` whose name could not be copied (out of memory) was kept with a NULL
 * name, and the next define or {MACRO} compared against it: a crash.  Now the file
 * is refused at that line, as every other out-of-memory in it is. */
static void test_define_out_of_memory(void **state)
{
    (void)state;
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[512] = "";
    strdup_fails_for = "LOADER";
    int rc = load(&rs, "define LOADER read_csv\ndefine PLOT plot\nrule a load\n  any {LOADER}\n", err,
                  sizeof err);
    strdup_fails_for = NULL;
    assert_int_equal(rc, -1);
    assert_string_equal(err, "t.rules:1: out of memory");
    ruleset_free(&rs);
}

static void test_shipped_rules_load(void **state)
{
    (void)state;
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[512];
    if (ruleset_load_file(&rs, "share/rules.txt", err, sizeof err) != 0) fail_msg("%s", err);
    assert_true(rs.n >= 41);
    int per[N_STAGES] = {0};
    for (size_t i = 0; i < rs.n; i++) per[rs.rules[i].stage]++;
    for (int s = 0; s < N_STAGES; s++)
        if (s != STAGE_IMPORTS && per[s] < 4) fail_msg("stage %s has %d rules", stage_key[s], per[s]);
    assert_true(rs.n_setup >= 10);
    /* every setup pattern joins the alternation (else each runs alone: slower, not wrong) */
    assert_non_null(rs.setup_any);
    /* a few cells every notebook has, with the stage the guide gives them */
    assert_true(fires(&rs, "load_read_file", "train = pd.read_csv('../input/train.csv')"));
    assert_true(fires(&rs, "train_fit", "model.fit(X_train, y_train)"));
    assert_false(fires(&rs, "train_fit", "scaler.fit(X_train)"));   /* a transformer: prep */
    assert_true(fires(&rs, "prep_transform", "scaler.fit(X_train)"));
    assert_true(fires(&rs, "eval_metrics", "print(accuracy_score(y_test, pred))"));
    assert_false(fires(&rs, "eval_metrics", "g = GridSearchCV(m, p)\ng.fit(X, y)\nprint(accuracy_score(y, g.predict(X)))"));
    assert_true(fires(&rs, "explore_plot", "sns.countplot(x='Survived', data=df)"));
    assert_false(fires(&rs, "train_network", "pat = re.compile('[a-z]+')"));
    ruleset_free(&rs);
}

/* What a mutation audit of labeling/rules.c found unchecked: blanks at a line's end
 * are not part of its pattern (the trim's space or tab test read past the line
 * end, `line[n]` for `line[n - 1]`: `any \bfoo\(  ` kept its two spaces), and
 * a macro is found by its whole name (comparing one byte fewer, `e - p - 2`, took
 * {AC} for the AB defined first). */
static void test_trailing_blanks_and_macro_names(void **state)
{
    (void)state;
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[512];
    const char *text =
        "define AB read_csv\n"
        "define AC read_json\n"
        "rule spaces load\n  any \\bfoo\\(  \n"
        "rule tabs load\n  any \\bbar\\(\t\t\n"
        "rule json load\n  any {AC}\n";
    if (load(&rs, text, err, sizeof err) != 0) fail_msg("%s", err);
    assert_true(fires(&rs, "spaces", "foo(x)"));
    assert_true(fires(&rs, "tabs", "bar(x)"));
    assert_true(fires(&rs, "json", "pd.read_json(p)"));
    assert_false(fires(&rs, "json", "pd.read_csv(p)"));
    ruleset_free(&rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_files_name_the_line),
        cmocka_unit_test(test_directives),
        cmocka_unit_test(test_windows_saved_file),
        cmocka_unit_test(test_line_ends),
        cmocka_unit_test(test_long_words_say_what_is_too_long),
        cmocka_unit_test(test_escaped_braces_are_text),
        cmocka_unit_test(test_shared_patterns_remember_one_view),
        cmocka_unit_test(test_setup_patterns_joined),
        cmocka_unit_test(test_disable_twice),
        cmocka_unit_test(test_define_out_of_memory),
        cmocka_unit_test(test_shipped_rules_load),
        cmocka_unit_test(test_trailing_blanks_and_macro_names),
        cmocka_unit_test(test_match_limit_gives_up),
        cmocka_unit_test(test_long_cells_are_matched_not_given_up),
        cmocka_unit_test(test_interpreter_limits_give_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
