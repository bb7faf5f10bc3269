/* test_label.c — what the LFs read and how they vote (pytoken, lfset), and the
 * `nbstage label` command end to end on small files.
 *
 * Covers each LF kind: job rules and the furthest-stage order, show rules that never
 * decide, hint rules, the imports_only built-in judged on statements, the context
 * built-ins; the views (comments, strings, disabled code, magics); the command's
 * output lines, --votes mode, --gold report, bad input and bad rule files.
 */
#include "unit.h"
#include "tests/unit/unit_malloc.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "labeling/labelmodel.h"
#include "labeling/flow.h"
#include "labeling/lfset.h"
#include "labeling/pytoken.h"
#include "labeling/rules.h"
#include "labeling/stage.h"
#include "labeling/weaklabel.h"
#include "model/commands.h"

/* ---- views ---- */

static void test_views(void **state)
{
    (void)state;
    const char *src =
        "%matplotlib inline\n"
        "\"\"\"a docstring that mentions model.fit(X)\"\"\"\n"
        "df = pd.read_csv('train.csv')  # then model.fit(X)\n"
        "x = f\"{df.shape}\" + r'\\d'\n"
        "!pip install foo\n"
        "'disabled code: model.predict(X)'\n"
        "if a:\n    b = (1,\n         2); c = 3\n";
    struct pyview v;
    assert_int_equal(pyview_make(&v, src, strlen(src)), 0);
    assert_null(strstr(v.code, "fit"));        /* comment and docstring gone */
    assert_null(strstr(v.code, "predict"));    /* bare-string statement gone */
    assert_non_null(strstr(v.code, "pd.read_csv('')"));
    assert_non_null(strstr(v.code, "%matplotlib inline"));
    assert_non_null(strstr(v.code, "!pip install foo"));
    assert_non_null(strstr(v.strings, "train.csv\n"));
    assert_non_null(strstr(v.strings, "{df.shape}\n"));
    assert_null(strstr(v.strings, "docstring"));
    /* statements: magic, read, x=, its f-string's fields, pip, if, b = (...), c = 3 */
    assert_int_equal(v.n_stmts, 8);
    assert_memory_equal(v.code + v.stmts[3].start, "{df.shape}", 10);
    assert_memory_equal(v.code + v.stmts[6].start, "b = (1,", 7);
    assert_int_equal(v.stmts[6].indent, 4);
    assert_memory_equal(v.code + v.stmts[7].start, "c = 3", 5);
    pyview_free(&v);

    /* malformed input never fails: unterminated string and bracket, empty */
    const char *bad[] = {"x = 'abc\ny = (1,\n", "\"\"\"never closed", "", "\\", "((((("};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pyview_make(&v, bad[i], strlen(bad[i])), 0);
        pyview_free(&v);
    }
}

/* An f-string's replacement fields are code: a metric or a shape printed in one is
 * evidence.  The literal keeps reading "" where it stands, and the fields follow the
 * logical line as a statement of their own, at its indentation. */
static void test_fstring_fields(void **state)
{
    (void)state;
    const char *src =
        "print(f\"acc {accuracy_score(y, p):.3f} {{lit}} {a!r} {b=} {d['k']:>{w}} {x != 1}\")\n"
        "X[f\"lag_{i}\"] = y.shift(i)\n"
        "for w in ws:\n"
        "    print(F'''{w.shape}\n{w.nunique()}''', f(\n1))  # {not.code}\n"
        "print(f\"banner\")\n"
        "s = f'{f\"{inner()}\"}'";
    struct pyview v;
    assert_int_equal(pyview_make(&v, src, strlen(src)), 0);
    assert_string_equal(v.code,
        "print(\"\")\n{accuracy_score(y, p)}{a}{b}{d['']}{x != 1}\n"
        "X[\"\"] = y.shift(i)\n{i}\n"
        "for w in ws:\n"
        "    print('', f(\n1))  \n    {w.shape}{w.nunique()}\n"
        "print(\"\")\n"
        "s = ''\n{\"\" {inner()}}");
    assert_non_null(strstr(v.strings, "k\n"));         /* a field's own string literal */
    assert_non_null(strstr(v.strings, "lag_{i}\n"));   /* the literal's text, as before */
    assert_null(strstr(v.code, "not.code"));           /* comments stay out */
    pyview_free(&v);

    /* the "=" of f"{a\0=}" (a NUL byte before it) is self-documenting, as after any
     * byte but = ! < > ("==", "!=", "<=", ">="): strchr("=!<>", 0) took the NUL for
     * one of them and kept the "=" */
    static const char nul_src[] = "print(f\"{a\0=} {a<=}\")";
    static const char nul_code[] = "print(\"\")\n{a\0}{a<=}";
    assert_int_equal(pyview_make(&v, nul_src, sizeof nul_src - 1), 0);
    assert_int_equal(v.code_len, sizeof nul_code - 1);
    assert_memory_equal(v.code, nul_code, sizeof nul_code - 1);
    pyview_free(&v);

    /* unterminated fields and literals never fail */
    const char *bad[] = {"f'{", "f'{a", "f'{a:{b'", "f\"{'x}\"", "f'}}{{'", "rf'{a!'", "f'{x='"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(pyview_make(&v, bad[i], strlen(bad[i])), 0);
        pyview_free(&v);
    }
}

/* What a mutation audit of labeling/pytoken.c found the tests above let through:
 * a bare-string statement (disabled code, a docstring) followed by blanks, by
 * another literal (implicit concatenation, on the line or after a backslash), by ';',
 * '#', CRLF or the end of the cell is gone, its text in neither view (bare_string_end's
 * skip_blank dropped, its backslash test `j + 1 < len` read as `j + 2`/`j - 1`/`j`, its
 * `j >= len` read as `j > len`, each of its line-end tests inverted); a statement that
 * only starts with a literal is code (`return 0` read as `return 1` skipped a byte of
 * one at the start of the cell); in an f-string, a field's braces of a dict (the `}`
 * at depth 1 read as depth 2 ran the field to the end), a lone "{{" at the end of the
 * literal (`k + 1 < z` read as `k + 2 < z` made it a field), and the blanks before a
 * self-documenting "=" (`||` read as `&&` kept "x = " as an assignment). */
static void test_bare_strings_and_fstring_edges(void **state)
{
    (void)state;
    static const struct { const char *src, *code, *strings; size_t stmts; } cases[] = {
        {"'''doc''' \nx = 1", "\nx = 1", "", 1},
        {"'a' 'b.fit(X)'\ny = 2", "\ny = 2", "", 1},
        {"'a' \\\n  'b.fit(X)'\ny = 2", "\ny = 2", "", 1},
        {"'''doc'''", "", "", 0},
        {"x = 0\n'''doc'''", "x = 0\n", "", 1},
        {"'doc'; z = 3", "; z = 3", "", 1},
        {"'doc'  # c\nw = 4", "\nw = 4", "", 1},
        {"'doc'\r\nv = 5", "\r\nv = 5", "", 1},
        {"'-'.join(p)\nu = 6", "''.join(p)\nu = 6", "-\n", 2},
        {"x = 1\n\"s\" in t", "x = 1\n\"\" in t", "s\n", 2},
        {"print(f\"{ {'a': 1}['a']:>3} {y}\")", "print(\"\")\n{ {'': 1}['']}{y}",
         "{ {'a': 1}['a']:>3} {y}\na\na\n", 2},
        {"print(f\"{{\")", "print(\"\")", "{{\n", 1},
        {"print(f\"{x = }\")", "print(\"\")\n{x }", "{x = }\n", 2},
        {"print(f\"{x=!r}\")", "print(\"\")\n{x}", "{x=!r}\n", 2},
        /* a backslash continuation in code; a magic line after a magic line is one statement */
        {"x = a + \\\n    b\ny = 3", "x = a + \\\n    b\ny = 3", "", 2},
        {"%a\n!pip x; y", "%a\n!pip x; y", "", 2},
        /* a shell line continued by a backslash, as IPython joins it, is one statement */
        {"!pip install a \\\n    -U b\nx = 1", "!pip install a \\\n    -U b\nx = 1", "", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pyview v;
        assert_int_equal(pyview_make(&v, cases[i].src, strlen(cases[i].src)), 0);
        if (strcmp(v.code, cases[i].code) || strcmp(v.strings, cases[i].strings))
            fail_msg("case %zu: code [%s] strings [%s], want [%s] [%s]", i, v.code, v.strings, cases[i].code,
                     cases[i].strings);
        assert_int_equal(v.code_len, strlen(cases[i].code));
        if (v.n_stmts != cases[i].stmts) fail_msg("case %zu: %zu statements, want %zu", i, v.n_stmts, cases[i].stmts);
        pyview_free(&v);
    }
}

/* A run of blanks longer than PYVIEW_BLANK_RUN keeps its first PYVIEW_BLANK_RUN in the
 * code view: a continuation line after a megabyte of spaces cost the shipped
 * `^\s*[\w, ]+=` patterns time quadratic in the run (minutes in `nbstage label`).
 * Shorter runs, the strings view and the statements are as before. */
static void test_blank_runs(void **state)
{
    (void)state;
    enum { BIG = 1 << 20, R = PYVIEW_BLANK_RUN };
    char *src = malloc(BIG + 4096), *want = malloc(4096);
    assert_non_null(src);
    assert_non_null(want);
    size_t n = 0, w = 0;
#define BOTH(text) do { memcpy(src + n, text, strlen(text)); n += strlen(text); \
                        memcpy(want + w, text, strlen(text)); w += strlen(text); } while (0)
#define RUN(c, k) do { memset(src + n, c, k); n += k; memset(want + w, c, (k) < R ? (k) : R); \
                       w += (k) < R ? (k) : R; } while (0)
    BOTH("x, y = foo(\n");
    RUN(' ', BIG);                 /* a continuation line pushed a megabyte right */
    BOTH("a,  b)\nif x:\n");
    RUN('\t', 3 * R);              /* an indentation of tabs */
    BOTH("y = 1");
    RUN(' ', R + 1);               /* trailing blanks, one over */
    BOTH("\nz = '");
    memset(src + n, ' ', 300); n += 300; /* a string's blanks: the strings view keeps them */
    BOTH("'\n");
    RUN(' ', R);                   /* exactly R: kept whole */
    BOTH("w = 2\n");
#undef BOTH
#undef RUN
    struct pyview v;
    assert_int_equal(pyview_make(&v, src, n), 0);
    assert_int_equal(v.code_len, w);
    assert_memory_equal(v.code, want, w);
    assert_int_equal(v.strings_len, 301);
    assert_int_equal(v.n_stmts, 5);
    assert_memory_equal(v.code + v.stmts[2].start, "y = 1", 5);
    assert_int_equal(v.stmts[2].indent, R);
    assert_memory_equal(v.code + v.stmts[4].start, "w = 2", 5);
    assert_int_equal(v.stmts[4].indent, R);
    pyview_free(&v);
    free(src);
    free(want);
}

/* ---- the LF set ---- */

static const char rules_text[] =
    "setup ^warnings\\.filterwarnings\\s*\\(\n"
    "setup ^(?:np\\.random\\.seed|sns\\.set)\\s*\\(\n"
    "setup ^%matplotlib\\b\n"
    "setup ^!pip\\b\n"
    "rule read load\n  any \\bread_csv\\s*\\(\n"
    "rule counts explore\n  any \\.value_counts\\s*\\(\n"
    "rule head explore show\n  any \\.head\\s*\\(\n"
    "rule drop prep\n  any \\.drop\\s*\\(\n"
    "rule fit train\n  any \\.fit\\s*\\(\n"
    "rule predict evaluate\n  any \\.predict\\s*\\(\n"
    "rule assign prep hint\n  any ^\\w+\\s*=\n"
    "rule seed_rule imports\n  any \\bseed\\b\n";

static struct lfset set;

static int setup_set(void **state)
{
    (void)state;
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[256];
    if (ruleset_load_text(&rs, rules_text, strlen(rules_text), "t", err, sizeof err) != 0) return -1;
    return lfset_init(&set, &rs);
}

static int teardown_set(void **state)
{
    (void)state;
    lfset_free(&set);
    return 0;
}

static int idx(const char *name)
{
    for (int j = 0; j < set.n; j++)
        if (strcmp(set.name[j], name) == 0) return j;
    fail_msg("no LF %s", name);
    return -1;
}

/* Votes of SRC as "name=stage,..." in LF order; RESULTS: the cell reads a name holding
 * a model's results, UNKEPT: no later cell reads what it assigns (flow.h). */
static int helper_stage = STAGE_NONE; /* votes_of_notebook's ctx.helper_stage */
static int calls_evaluate;            /* and its ctx.calls_evaluate */
static int feeds_evaluate_only;       /* and its ctx.feeds_evaluate_only */

static const char *votes_of_notebook(const char *src, int prev, int next, int results, int kept)
{
    static char out[512];
    signed char v[64];
    struct pyview pv;
    struct lf_cellinfo info;
    assert_int_equal(pyview_make(&pv, src, strlen(src)), 0);
    void *md = rules_match_data();
    lfset_votes(&set, &pv, md, v, &info, NULL, NULL);
    struct lf_context ctx = { prev, next, results, kept == FLOW_UNKEPT, kept == FLOW_FEEDS_MODEL, helper_stage,
                              calls_evaluate, feeds_evaluate_only };
    lfset_context(&set, &info, &ctx, v);
    rules_match_data_free(md);
    pyview_free(&pv);
    out[0] = 0;
    for (int j = 0; j < set.n; j++)
        if (v[j] >= 0)
            snprintf(out + strlen(out), sizeof out - strlen(out), "%s%s=%s", out[0] ? "," : "",
                     set.name[j], stage_key[(int)v[j]]);
    return out;
}

static const char *votes_of_flow(const char *src, int prev, int next, int results)
{
    return votes_of_notebook(src, prev, next, results, 0);
}

static const char *votes_of_ctx(const char *src, int prev, int next)
{
    return votes_of_flow(src, prev, next, 0);
}

static const char *votes_of(const char *src, int prev)
{
    return votes_of_ctx(src, prev, STAGE_NONE);
}

static void test_levels(void **state)
{
    (void)state;
    assert_int_equal(set.n, 8 + N_LF_BUILTINS);
    /* job: the furthest stage reached wins; earlier job rules abstain */
    assert_string_equal(votes_of("df = pd.read_csv(p)\nX = df.drop('y', axis=1)", -1), "drop=prep");
    assert_string_equal(votes_of("m.fit(X, y)\np = m.predict(X)", -1), "predict=evaluate");
    assert_string_equal(votes_of("df = pd.read_csv(p)\ndf.value_counts()", -1), "counts=explore");
    /* show: never decides; votes only when no other stage's job fired */
    assert_string_equal(votes_of("df = pd.read_csv(p)\ndf.head()", -1), "read=load");
    assert_string_equal(votes_of("df.head()", -1), "head=explore");
    assert_string_equal(votes_of("df.value_counts()\ndf.head()", -1), "counts=explore,head=explore");
    /* hint: only when no job or show rule fired */
    assert_string_equal(votes_of("x = 3", -1), "assign=prep");
    assert_string_equal(votes_of("x = df.head()", -1), "head=explore");
    /* imports-stage rules lose to any other job */
    assert_string_equal(votes_of("seed = 1\nm.fit(X)", -1), "fit=train");
    /* comments and strings vote nothing */
    assert_string_equal(votes_of("# m.fit(X)\nprint('m.predict(X)')", -1), "");
}

/* `rule NAME STAGE [LEVEL] silent` reaches the label model as the LF's silent flag
 * (lm_options.no_abstain_evidence), and only for that rule; model_output,
 * feeds_model and evaluate_call are silent, the other built-ins are not. */
static void test_silent_rules(void **state)
{
    (void)state;
    static const char text[] = "rule loud prep\n  any \\bdropna\\b\n"
                               "rule quiet prep silent\n  any \\bdel\\b\n"
                               "rule quiet_show explore show silent\n  any \\.head\\b\n";
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    char err[256];
    if (ruleset_load_text(&rs, text, strlen(text), "t", err, sizeof err) != 0) fail_msg("%s", err);
    struct lfset s;
    assert_int_equal(lfset_init(&s, &rs), 0);
    for (int j = 0; j < s.n; j++) {
        int want = !strcmp(s.name[j], "quiet") || !strcmp(s.name[j], "quiet_show") ||
                   !strcmp(s.name[j], "model_output") || !strcmp(s.name[j], "feeds_model") ||
                   !strcmp(s.name[j], "evaluate_call");
        if (s.silent[j] != want) fail_msg("LF %s: silent %d, want %d", s.name[j], s.silent[j], want);
    }
    assert_int_equal(s.level[2], LF_SHOW);
    lfset_free(&s);
}

static void test_imports_only(void **state)
{
    (void)state;
    int imp = idx("imports_only");
    (void)imp;
    assert_string_equal(votes_of("import numpy as np\nfrom sklearn import svm\n%matplotlib inline\n"
                                 "warnings.filterwarnings('ignore')\nnp.random.seed(0)\n", 3),
                        "imports_only=imports");
    assert_string_equal(votes_of("try:\n    import xgboost\nexcept ImportError:\n    pass\n", -1),
                        "imports_only=imports");
    assert_string_equal(votes_of("!pip install -q timm\nimport timm", -1), "imports_only=imports");
    /* imports plus real work: labeled by the work, and the built-in abstains */
    assert_string_equal(votes_of("import pandas as pd\ndf = pd.read_csv(p)", -1), "read=load");
    /* an import inside a string or comment is no import */
    assert_string_equal(votes_of("# import os\nx = 'import os'", -1), "assign=prep");
    /* `from x import` only; "from_a = 1" is not an import */
    assert_string_equal(votes_of("from_a = 1", -1), "assign=prep");
}

static void test_context(void **state)
{
    (void)state;
    /* prev_cell votes the previous cell's stage where no rule voted */
    assert_string_equal(votes_of("x = 3", STAGE_EXPLORE), "assign=prep");
    assert_string_equal(votes_of("df.head()", STAGE_LOAD), "head=explore");
    assert_string_equal(votes_of("foo(bar)", STAGE_LOAD), "prev_cell=load");
    /* after a model, a cell that only shows things is read as evaluation */
    assert_string_equal(votes_of("print(score)", STAGE_TRAIN), "prev_cell=train,after_model=evaluate");
    assert_string_equal(votes_of("x = score", STAGE_TRAIN), "assign=prep");
    /* no context after an imports cell, none for an imports-only cell, none for the first */
    assert_string_equal(votes_of("x = 3", STAGE_IMPORTS), "assign=prep");
    assert_string_equal(votes_of("import os", STAGE_EVALUATE), "imports_only=imports");
    assert_string_equal(votes_of("x = 3", STAGE_NONE), "assign=prep");
    /* next_cell fills gaps only: it votes when no rule did */
    assert_string_equal(votes_of_ctx("df.head()", STAGE_NONE, STAGE_TRAIN), "head=explore");
    /* ... and prev_cell only where next_cell does not */
    assert_string_equal(votes_of_ctx("foo(bar)", STAGE_LOAD, STAGE_TRAIN), "next_cell=train");
    assert_string_equal(votes_of_ctx("foo(bar)", STAGE_LOAD, STAGE_IMPORTS), "prev_cell=load");
    assert_string_equal(votes_of_ctx("foo(bar)", STAGE_NONE, STAGE_IMPORTS), "");
    /* model_output: a cell reading a model's results (names followed by flow.h) that
     * the rules call explore is evaluate, and the explore votes yield, as to an
     * evaluate job rule */
    assert_string_equal(votes_of_flow("df.value_counts()", STAGE_NONE, STAGE_NONE, 1), "model_output=evaluate");
    assert_string_equal(votes_of_flow("df.head()", STAGE_EVALUATE, STAGE_NONE, 1),
                        "after_model=evaluate,model_output=evaluate");
    assert_string_equal(votes_of_flow("foo(preds)", STAGE_NONE, STAGE_LOAD, 1), "next_cell=load,model_output=evaluate");
    assert_string_equal(votes_of_flow("m.predict(X)", STAGE_NONE, STAGE_NONE, 1), "predict=evaluate,model_output=evaluate");
    /* ... but not where a rule saw other work (stacking predictions is prep), nor on
     * an imports cell, nor on an empty one */
    assert_string_equal(votes_of_flow("X = preds.drop('a')\nX.head()", STAGE_NONE, STAGE_NONE, 1), "drop=prep");
    assert_string_equal(votes_of_flow("import os", STAGE_NONE, STAGE_NONE, 1), "imports_only=imports");
    assert_string_equal(votes_of_flow("# preds", STAGE_NONE, STAGE_NONE, 1), "");
    assert_string_equal(votes_of_flow("df.value_counts()", STAGE_NONE, STAGE_NONE, 0), "counts=explore");
    /* unkept_change: a cell that draws what it derived, where an explore job rule
     * yielded to a prep one, is explore when nothing it assigned is read later: the
     * prep votes yield; read later, or not drawn, it stays prep */
    const char *drawn = "s = df.drop('a')\ns.value_counts()\nplt.hist(s)";
    assert_string_equal(votes_of_notebook(drawn, STAGE_NONE, STAGE_NONE, 0, 1), "unkept_change=explore");
    assert_string_equal(votes_of_notebook(drawn, STAGE_NONE, STAGE_NONE, 0, 0), "drop=prep");
    assert_string_equal(votes_of_notebook("s = df.drop('a')\ns.value_counts()", STAGE_NONE, STAGE_NONE, 0, 1),
                        "drop=prep");
    assert_string_equal(votes_of_notebook("s = df.drop('a')\nplt.hist(s)", STAGE_NONE, STAGE_NONE, 0, 1), "drop=prep");
    /* ... before model_output, which may then take the cell */
    assert_string_equal(votes_of_notebook(drawn, STAGE_NONE, STAGE_NONE, 1, 1),
                        "model_output=evaluate,unkept_change=explore");
    /* model_output on a cell that reads only what a train cell made: where the rules
     * saw it show (as for results); with no rule vote, not (its neighbours decide) */
    const int T = FLOW_TRAINED;
    assert_string_equal(votes_of_flow("svm_model.head()", STAGE_NONE, STAGE_NONE, T), "model_output=evaluate");
    assert_string_equal(votes_of_flow("print(svm_model)", STAGE_NONE, STAGE_EXPLORE, T), "next_cell=explore");
    assert_string_equal(votes_of_flow("print(svm_model)", STAGE_NONE, STAGE_EXPLORE, FLOW_RESULTS),
                        "next_cell=explore,model_output=evaluate");
    /* helper_call: on a cell no rule voted on, the helper's stage, and the neighbours
     * keep out; where a rule voted, or another context LF spoke, not */
    helper_stage = STAGE_EXPLORE;
    assert_string_equal(votes_of_ctx("graph_by('a', cols)", STAGE_PREP, STAGE_PREP), "helper_call=explore");
    assert_string_equal(votes_of_ctx("graph_by(df.head())", STAGE_PREP, STAGE_PREP), "head=explore");
    assert_string_equal(votes_of_flow("graph_by(preds)", STAGE_NONE, STAGE_NONE, FLOW_RESULTS), "model_output=evaluate");
    helper_stage = STAGE_NONE;
    assert_string_equal(votes_of_ctx("graph_by('a', cols)", STAGE_PREP, STAGE_PREP), "next_cell=prep");
    /* evaluate_call: a fit, a split or a plot, then one's own evaluate helper run, is
     * evaluate, and the other votes yield; not where a rule saw evaluate already, nor
     * where helper_call speaks */
    calls_evaluate = 1;
    assert_string_equal(votes_of_ctx("clf = SVC().fit(X, y)\nprint_results(clf, X_val, y_val)", STAGE_NONE,
                                     STAGE_NONE), "evaluate_call=evaluate");
    assert_string_equal(votes_of_ctx("print_results(clf, clf.predict(X))", STAGE_NONE, STAGE_NONE),
                        "predict=evaluate");
    helper_stage = STAGE_EVALUATE;
    assert_string_equal(votes_of_ctx("print_results(clf)", STAGE_NONE, STAGE_NONE), "helper_call=evaluate");
    helper_stage = STAGE_NONE;
    calls_evaluate = 0;
    assert_string_equal(votes_of_ctx("clf = SVC().fit(X, y)\nprint_results(clf, X_val, y_val)", STAGE_NONE,
                                     STAGE_NONE), "fit=train");
    /* feeds_model: what a later modelling cell reads is prep.  Where the rules saw
     * only showing, the show votes yield; beside a prep job rule it is one more prep
     * vote; not beside an explore job rule, nor where the cell draws, nor where
     * model_output spoke */
    const int F = FLOW_FEEDS_MODEL;
    assert_string_equal(votes_of_notebook("X = df[cols]\nX.head()", STAGE_NONE, STAGE_NONE, 0, F), "feeds_model=prep");
    assert_string_equal(votes_of_notebook("X = df[cols]\nX.head()", STAGE_NONE, STAGE_NONE, 0, 0), "head=explore");
    assert_string_equal(votes_of_notebook("X = df.drop('a')", STAGE_NONE, STAGE_NONE, 0, F), "drop=prep,feeds_model=prep");
    assert_string_equal(votes_of_notebook("c = df.value_counts()", STAGE_NONE, STAGE_NONE, 0, F), "counts=explore");
    assert_string_equal(votes_of_notebook("X = df[cols]\nX.head()\nplt.hist(X)", STAGE_NONE, STAGE_NONE, 0, F),
                        "head=explore");
    assert_string_equal(votes_of_notebook("X = preds[cols]\nX.head()", STAGE_NONE, STAGE_NONE, 1, F),
                        "model_output=evaluate");
    /* model_output and prep work on whole results: read by a later model (stacking), prep;
     * read only by later evaluate cells that fit nothing (a submission written), evaluate */
    const int W = FLOW_RESULTS | FLOW_WHOLE;
    assert_string_equal(votes_of_notebook("X = preds.drop('a')", STAGE_NONE, STAGE_NONE, W, 0), "model_output=evaluate");
    assert_string_equal(votes_of_notebook("X = preds.drop('a')", STAGE_NONE, STAGE_NONE, W, F), "drop=prep,feeds_model=prep");
    feeds_evaluate_only = 1;
    assert_string_equal(votes_of_notebook("X = preds.drop('a')", STAGE_NONE, STAGE_NONE, W, F), "model_output=evaluate");
    feeds_evaluate_only = 0;
    /* no rule vote: only where the neighbours' stage (next_cell's, else prev_cell's)
     * is explore, and not where after_model would read the cell as evaluate */
    assert_string_equal(votes_of_notebook("a, b = g(d)", STAGE_NONE, STAGE_EXPLORE, 0, F), "feeds_model=prep");
    assert_string_equal(votes_of_notebook("a, b = g(d)", STAGE_EXPLORE, STAGE_NONE, 0, F), "feeds_model=prep");
    assert_string_equal(votes_of_notebook("a, b = g(d)", STAGE_NONE, STAGE_TRAIN, 0, F), "next_cell=train");
    assert_string_equal(votes_of_notebook("a, b = g(d)", STAGE_EXPLORE, STAGE_IMPORTS, 0, F), "feeds_model=prep");
    assert_string_equal(votes_of_notebook("print(a)", STAGE_TRAIN, STAGE_NONE, 0, F),
                        "prev_cell=train,after_model=evaluate");
    signed char v[4] = {STAGE_LOAD, STAGE_PREP, STAGE_PREP, STAGE_NONE};
    assert_int_equal(lf_majority(v, 4), STAGE_PREP);
    signed char t[2] = {STAGE_TRAIN, STAGE_LOAD};     /* tie: the furthest stage */
    assert_int_equal(lf_majority(t, 2), STAGE_TRAIN);
}

/* ---- the command ---- */

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *name)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f) return NULL;
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static int run(const char *args)
{
    char line[1024], *argv[32];
    int argc = 0;
    snprintf(line, sizeof line, "label %s", args);
    for (char *t = strtok(line, " "); t && argc < 31; t = strtok(NULL, " ")) {
        static char store[32][256];
        if (t[0] == '@') snprintf(store[argc], sizeof store[argc], "%s/%s", dir, t + 1);
        else snprintf(store[argc], sizeof store[argc], "%s", t);
        argv[argc] = store[argc];
        argc++;
    }
    argv[argc] = NULL;
    return cmd_label(argc, argv);
}

/* --votes/--truth with each allocation failing in turn: a run either succeeds or says
 * "out of memory" (or ENOMEM's strerror, where fopen failed), never blames a file that
 * is fine (a failed allocation for the classes read "0 classes for 5 matrix rows") */
static void test_votes_without_memory_blames_no_file(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_label_XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_file("m.tsv", "0\t-1\t0\n1\t1\t-1\n-1\t-1\t-1\n2\t-1\t2\n0\t0\t0\n");
    write_file("t.txt", "0\n1\n0\n2\n0\n");
    char errpath[160];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    int failed_runs = 0, left;
    for (int n = 1;; n++) {
        fflush(stderr);
        int saved = dup(2), fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(saved >= 0 && fd >= 0);
        dup2(fd, 2);
        malloc_fails_in = n;
        int rc = run("--votes @m.tsv --truth @t.txt -q -o @p.tsv --report @vrep.txt");
        left = malloc_fails_in;
        malloc_fails_in = 0;
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        close(fd);
        const char *err = read_file("stderr.txt"); /* read_file's own buffer */
        assert_non_null(err);
        if (rc != EXIT_OK) {
            failed_runs++;
            if ((!strstr(err, "out of memory") && !strstr(err, strerror(ENOMEM))) ||
                strstr(err, "classes for"))
                fail_msg("allocation %d failed: exit %d, said:\n%s", n, rc, err);
        }
        if (left > 0) break;
    }
    assert_true(failed_runs > 3);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_command(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_label_XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_file("r.txt", rules_text);
    write_file("cells.jsonl",
        "{\"id\": \"a.ipynb#0\", \"notebook\": \"a.ipynb\", \"index\": 0, \"source\": \"import os\"}\n"
        "{\"id\": \"a.ipynb#1\", \"notebook\": \"a.ipynb\", \"index\": 1, \"source\": \"df = pd.read_csv('x.csv')\\ndf.head()\"}\n"
        "\n"
        "{\"id\": \"a.ipynb#2\", \"notebook\": \"a.ipynb\", \"index\": 2, \"source\": \"# only a comment\"}\n"
        "{\"id\": \"a.ipynb#3\", \"notebook\": \"a.ipynb\", \"index\": 3, \"source\": \"m.fit(X, y)\"}\n"
        "{\"id\": \"b.ipynb#0\", \"source\": \"m.predict(X)\"}\n");
    write_file("gold.tsv", "cell_id\tlabel\tsecondary\tconfidence\tnote\n"
                           "a.ipynb#1\tload\t\th\t\na.ipynb#3\ttrain\t\th\t\nb.ipynb#0\tevaluate\t\th\t\n");
    assert_int_equal(run("--no-default-rules --rules @r.txt -q -j 2 -o @out.jsonl --gold @gold.tsv "
                         "--min-confidence 0 --report @rep.txt @cells.jsonl"), EXIT_OK);
    char *out = read_file("out.jsonl");
    assert_non_null(out);
    /* input order, one line per cell, the stated fields */
    const char *l0 = strstr(out, "{\"id\": \"a.ipynb#0\""), *l1 = strstr(out, "{\"id\": \"a.ipynb#1\"");
    const char *l2 = strstr(out, "{\"id\": \"a.ipynb#2\""), *l4 = strstr(out, "{\"id\": \"b.ipynb#0\"");
    assert_true(l0 == out && l1 > l0 && l2 > l1 && l4 > l2);
    assert_non_null(strstr(l0, "\"stage\": \"imports\""));
    assert_non_null(strstr(l1, "\"stage\": \"load\""));
    assert_non_null(strstr(l1, "\"votes\": {\"read\": \"load\"}"));
    assert_non_null(strstr(l2, "\"stage\": null, \"probabilities\": {}, \"votes\": {}"));
    assert_non_null(strstr(l4, "\"stage\": \"evaluate\""));
    assert_non_null(strstr(l1, "\"probabilities\": {\"load\": "));
    char *rep = read_file("rep.txt");
    assert_non_null(rep);
    assert_non_null(strstr(rep, "label model    accuracy 1.000  coverage 1.000"));
    assert_non_null(strstr(rep, "              precision    recall  f1-score   support"));
    assert_non_null(strstr(rep, "imports_only"));

    /* an unsure label is withheld, its probabilities kept */
    assert_int_equal(run("--no-default-rules --rules @r.txt -q -o @out2.jsonl --min-confidence 0.9999 "
                         "@cells.jsonl"), EXIT_OK);
    out = read_file("out2.jsonl");
    assert_non_null(strstr(out, "\"stage\": null, \"probabilities\": {\"load\": "));
    assert_int_equal(run("--min-confidence 1.5 @cells.jsonl"), EXIT_USAGE);

    /* --votes: the label model alone */
    write_file("m.tsv", "0\t-1\t0\n1\t1\t-1\n-1\t-1\t-1\n2\t-1\t2\n0\t0\t0\n");
    write_file("t.txt", "0\n1\n0\n2\n0\n");
    assert_int_equal(run("--votes @m.tsv --truth @t.txt -q -o @p.tsv --report @vrep.txt"), EXIT_OK);
    char *p = read_file("p.tsv");
    assert_non_null(p);
    assert_int_equal(strncmp(p, "0\t", 2), 0);
    assert_non_null(strstr(p, "\n-1\t0.0000\t0.0000\t0.0000\t0.0000\t0.0000\t0.0000\n"));
    assert_non_null(strstr(read_file("vrep.txt"), "label model accuracy 1.0000 coverage 0.8000"));

    /* bad input: a bad line is skipped and named (exit 1); bad rules and matrices: 2 */
    write_file("bad.jsonl", "{\"id\": \"x#0\", \"source\": \"df.head()\"}\nnot json\n{\"id\": 3}\n");
    assert_int_equal(run("--no-default-rules --rules @r.txt -q -o @o2.jsonl @bad.jsonl"), EXIT_FINDINGS);
    assert_non_null(strstr(read_file("o2.jsonl"), "\"id\": \"x#0\""));
    write_file("badrules.txt", "rule a load\nany (\n");
    assert_int_equal(run("--no-default-rules --rules @badrules.txt -q @cells.jsonl"), EXIT_USAGE);
    write_file("badm.tsv", "0\t1\n0\t7\n");
    assert_int_equal(run("--votes @badm.tsv -q"), EXIT_USAGE);
    write_file("ragged.tsv", "0\t1\n0\n");
    assert_int_equal(run("--votes @ragged.tsv -q"), EXIT_USAGE);
    assert_int_equal(run("--votes @m.tsv --truth @cells.jsonl -q -o @p.tsv"), EXIT_USAGE);
    assert_int_equal(run("--no-default-rules -q @missing.jsonl"), EXIT_USAGE);
    assert_int_equal(run("--bogus"), EXIT_USAGE);
    assert_int_equal(run("--truth @t.txt @cells.jsonl"), EXIT_USAGE);
    /* options the mode would ignore are refused, not silently dropped */
    assert_int_equal(run("--no-default-rules --rules @r.txt -q --svg @x.svg @cells.jsonl"), EXIT_USAGE);
    assert_int_equal(run("--votes @m.tsv -q --gold @gold.tsv"), EXIT_USAGE);
    assert_int_equal(run("--votes @m.tsv -q --rules @r.txt"), EXIT_USAGE);
    assert_int_equal(run("--votes @m.tsv -q --no-default-rules"), EXIT_USAGE);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* How often NEEDLE occurs in HAY. */
static int occurrences(const char *hay, const char *needle)
{
    int k = 0;
    for (const char *h = strstr(hay, needle); h; h = strstr(h + 1, needle)) k++;
    return k;
}

/* The report's "no --min-confidence" line scores the labels `label --min-confidence 0`
 * writes.  Two rules of two stages, fitted on cells that make them mirror images, vote
 * together on x.foo(): the posterior ties, load against prep, and the label is
 * withheld.  That line took the model's argmax instead (prep, an ulp ahead), and so
 * counted a cell the labels leave unlabeled: accuracy 0.500, coverage 1.000 where the
 * labels have 1.000 and 0.500. */
static void test_report_scores_a_tie_as_the_labels_do(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_label_XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_file("tie.txt", "rule ra load show\n  any \\.(?:foo|aaa)\\(\n"
                          "rule rb prep show\n  any \\.(?:foo|bbb)\\(\n");
    write_file("tie.jsonl", /* no "notebook": the context LFs stay out */
        "{\"id\": \"t#0\", \"source\": \"x.foo()\"}\n{\"id\": \"t#1\", \"source\": \"x.foo()\"}\n"
        "{\"id\": \"t#2\", \"source\": \"x.aaa()\"}\n{\"id\": \"t#3\", \"source\": \"x.aaa()\"}\n"
        "{\"id\": \"t#4\", \"source\": \"x.bbb()\"}\n{\"id\": \"t#5\", \"source\": \"x.bbb()\"}\n");
    write_file("tiegold.tsv", "cell_id\tlabel\tsecondary\tconfidence\tnote\nt#0\tload\t\th\t\nt#2\tload\t\th\t\n");
    assert_int_equal(run("--no-default-rules --rules @tie.txt -q -j 1 -o @tie.out --gold @tiegold.tsv "
                         "--min-confidence 0 --report @tierep.txt @tie.jsonl"), EXIT_OK);
    const char *out = read_file("tie.out");
    assert_non_null(out);
    /* the tie is there, and withheld */
    const char *foo = strstr(out, "{\"id\": \"t#0\"");
    assert_non_null(foo);
    assert_non_null(strstr(foo, "\"stage\": null, \"probabilities\": {\"load\": 0.5000, \"prep\": 0.5000"));
    const char *rep = read_file("tierep.txt");
    assert_non_null(rep);
    /* both lines: t#2 right, t#0 unlabeled */
    if (occurrences(rep, "label model    accuracy 1.000  coverage 0.500  macro-F1") != 2)
        fail_msg("the report's two label-model lines differ:\n%.260s", strstr(rep, "  label model    accuracy"));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Runs `label ARGS` with its stderr into the directory's stderr.txt; returns the exit
 * code, and the text said in *ERR (read_file's buffer). */
static int run_said(const char *args, const char **err)
{
    char errpath[160];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    int rc = run(args);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    *err = read_file("stderr.txt");
    assert_non_null(*err);
    return rc;
}

/* A fit that stops at the label model's limit (100 EM iterations) still climbing was
 * silent.  The matrix of test_label_model.c's test_a_fit_stopped_at_the_limit_says_so
 * (52 rows "1 0", 32 rows "0 -1") needs 237: `label` says so on stderr in one line,
 * even with -q, with the last change; the labels and the exit code stay as they were.
 * A matrix that converges says nothing. */
static void test_the_iteration_limit_is_said(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_label_XXXXXX");
    assert_non_null(mkdtemp(dir));
    char slow[84 * 6 + 1], *w = slow;
    for (int i = 0; i < 84; i++) w += sprintf(w, "%s", i < 52 ? "1\t0\n" : "0\t-1\n");
    write_file("slow.tsv", slow);
    const char *err;
    assert_int_equal(run_said("--votes @slow.tsv -q -o @slow.out", &err), EXIT_OK);
    const char *line = strstr(err, "nbstage label: the label model stopped at its limit of 100 EM iterations "
                                   "without converging (the mean log-likelihood still moved 0.000");
    if (!line) fail_msg("not said; stderr:\n%s", err);
    assert_ptr_equal(strchr(line, '\n'), err + strlen(err) - 1); /* one line, the only one */
    assert_non_null(strstr(read_file("slow.out"), "1\t0.0675\t0.9325\t")); /* the labels as before */
    write_file("m.tsv", "0\t-1\t0\n1\t1\t-1\n-1\t-1\t-1\n2\t-1\t2\n0\t0\t0\n");
    assert_int_equal(run_said("--votes @m.tsv -q -o @p.tsv", &err), EXIT_OK);
    assert_string_equal(err, "");
    /* and a report says it beside the iterations */
    assert_int_equal(run_said("--votes @slow.tsv -q -o @slow.out --report @slow.rep", &err), EXIT_OK);
    assert_non_null(strstr(read_file("slow.rep"), "EM, 100 iterations (the limit, not converged), mean"));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* An LF that votes one stage on every item is next to no evidence, but makes every
 * item voted: the two items of this matrix only col1 votes on are labeled (load, 0.54)
 * where with no vote they would be unlabeled.  The LF analysis says so, once, for
 * that LF; not for col2, which votes on some items, nor for an LF voting several
 * stages on every item (col1 of the second matrix), whose stage says something. */
static void test_an_lf_voting_on_every_item_is_noted(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_label_XXXXXX");
    assert_non_null(mkdtemp(dir));
    write_file("always.tsv", "0\t1\t-1\n0\t-1\t0\n0\t-1\t-1\n0\t1\t-1\n0\t-1\t-1\n0\t-1\t0\n");
    assert_int_equal(run("--votes @always.tsv -q -o @always.out --report @always.rep"), EXIT_OK);
    const char *rep = read_file("always.rep");
    const char *note = strstr(rep, "note: col1 votes on every item, so its vote is next to no evidence");
    if (!note) fail_msg("no note:\n%.600s", rep);
    assert_non_null(strstr(note, "the 2 items only it votes on are labeled"));
    assert_int_equal(occurrences(rep, "note: "), 1);
    write_file("several.tsv", "0\t1\n1\t-1\n0\t-1\n1\t1\n");
    assert_int_equal(run("--votes @several.tsv -q -o @several.out --report @several.rep"), EXIT_OK);
    assert_null(strstr(read_file("several.rep"), "note: "));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* Two LFs that vote alike break the label model's independence assumption (it counts
 * their evidence twice): the LF analysis names each pair that votes the same on 99%
 * of the items either votes on.  col2 is col1; col4 is col1 but for one abstain (99
 * of 100); col3 overlaps col1 on a third of its items.  Six copies of one column make
 * 15 pairs: ten named, then how many more. */
static void test_lfs_voting_alike_are_named(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/test_label_XXXXXX");
    assert_non_null(mkdtemp(dir));
    static char dup[200 * 16], six[40 * 24]; /* rows of at most 12 and 18 bytes */
    char *w = dup;
    for (int i = 0; i < 200; i++) {
        int c1 = i % 2 == 0 ? 0 : -1, c3 = i % 3 == 0 ? 1 : -1, c4 = i == 0 ? -1 : c1;
        w += sprintf(w, "%d\t%d\t%d\t%d\n", c1, c1, c3, c4);
    }
    write_file("dup.tsv", dup);
    assert_int_equal(run("--votes @dup.tsv -q -o @dup.out --report @dup.rep"), EXIT_OK);
    const char *rep = read_file("dup.rep");
    const char *want[] = {
        "duplicates: col1 and col2 vote alike on 100.0% of the 100 items either votes on: the label model counts "
        "their evidence twice\n",
        "duplicates: col1 and col4 vote alike on 99.0% of the 100 items either votes on",
        "duplicates: col2 and col4 vote alike on 99.0% of the 100 items either votes on",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(rep, want[i])) fail_msg("not said: %s\nreport:\n%.900s", want[i], rep);
    assert_int_equal(occurrences(rep, "duplicates: "), 3);
    w = six;
    for (int i = 0; i < 40; i++) w += sprintf(w, i % 4 ? "-1\t-1\t-1\t-1\t-1\t-1\n" : "2\t2\t2\t2\t2\t2\n");
    write_file("six.tsv", six);
    assert_int_equal(run("--votes @six.tsv -q -o @six.out --report @six.rep"), EXIT_OK);
    rep = read_file("six.rep");
    assert_int_equal(occurrences(rep, "duplicates: "), 11);
    assert_non_null(strstr(rep, "duplicates: col2 and col4 vote alike"));
    assert_non_null(strstr(rep, "duplicates: and 5 more pairs\n"));
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- writing a probability ---- */

/* A NaN posterior was written 0.0000 (weak_fmt4 took NaN for 0): six zeros and "stage":
 * null looked like an abstain and hid the label model's bug fbbea5b fixed.  A NaN is
 * written NaN now, and the writers refuse a posterior that is not a distribution
 * before writing (weak_is_distribution, an internal error). */
static void test_a_nan_is_never_written_as_a_number(void **state)
{
    (void)state;
    char b[8];
    b[weak_fmt4(b, 0.25)] = 0;
    assert_string_equal(b, "0.2500");
    b[weak_fmt4(b, 1.0)] = 0;
    assert_string_equal(b, "1.0000");
    b[weak_fmt4(b, 0.0)] = 0;
    assert_string_equal(b, "0.0000");
    b[weak_fmt4(b, NAN)] = 0;
    assert_string_equal(b, "NaN");
    const double ok[LM_K] = {0.5, 0.25, 0.25, 0, 0, 0}, one[LM_K] = {0, 0, 0, 0, 0, 1};
    assert_true(weak_is_distribution(ok));
    assert_true(weak_is_distribution(one));
    const double bad[][LM_K] = {
        {NAN, NAN, NAN, NAN, NAN, NAN}, {NAN, 1, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0},
        {0.5, 0.5, 0.5, 0, 0, 0}, {1.5, -0.5, 0, 0, 0, 0}, {INFINITY, 0, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (weak_is_distribution(bad[i])) fail_msg("row %zu taken for a distribution", i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_fstring_fields),
        cmocka_unit_test(test_bare_strings_and_fstring_edges),
        cmocka_unit_test(test_blank_runs),
        cmocka_unit_test_setup_teardown(test_levels, setup_set, teardown_set),
        cmocka_unit_test_setup_teardown(test_imports_only, setup_set, teardown_set),
        cmocka_unit_test_setup_teardown(test_context, setup_set, teardown_set),
        cmocka_unit_test(test_silent_rules),
        cmocka_unit_test(test_command),
        cmocka_unit_test(test_votes_without_memory_blames_no_file),
        cmocka_unit_test(test_report_scores_a_tie_as_the_labels_do),
        cmocka_unit_test(test_the_iteration_limit_is_said),
        cmocka_unit_test(test_an_lf_voting_on_every_item_is_noted),
        cmocka_unit_test(test_lfs_voting_alike_are_named),
        cmocka_unit_test(test_a_nan_is_never_written_as_a_number),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
