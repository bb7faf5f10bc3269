/* fuzz_rules.c — libFuzzer target: any bytes as a user's rule file (`nbstage label
 * --rules FILE`), through labeling/rules.c's parser, PCRE2's compiler, and the rules'
 * votes on a few fixed cells (labeling/lfset.c).
 *
 * Owns: the property a rule file may not break: whatever its bytes, it is either
 * parsed, or refused with "user.txt:LINE: reason" (LINE one of its lines) or
 * "user.txt: reason" (no directive at all, out of memory), and never leaves a sanitizer
 * report or a leak.  The input is read twice: alone, and as a second file after a small
 * base file of macros, `setup` patterns and rules (as `--rules` follows the shipped
 * rules: overrides by name, `disable` of an earlier file's rule, macros defined before).
 * When it is parsed, the set votes on fixed cells (lfset_votes, the context LFs, the
 * setup patterns on each statement), each vote a stage or none, each rule that gave up
 * with a PCRE2 error code.  And the rules' prefilter (labeling/relit.h) never rules
 * out a view a pattern matches: each pattern against each cell's views and against
 * the input's own bytes (a subject that holds the pattern's strings more often than
 * not), the prefilter's answer beside PCRE2's.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labeling/lfset.h"
#include "labeling/litscan.h"
#include "labeling/pytoken.h"
#include "labeling/rules.h"
#include "labeling/stage.h"

#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_context.h"

static const char base[] =
    "# the base file: what a user's file may build on\n"
    "define IMP (?:^[ \\t]*(?:from|import)\\b)\n"
    "define PLOT (?:\\b(?:plt|sns)\\.\\w+\\s*\\()\n"
    "setup ^%matplotlib\\b\n"
    "setup ^warnings\\.\\w+\n"
    "rule base_load load\n"
    "any \\bread_csv\\s*\\(\n"
    "string \\.csv$\n"
    "rule base_show explore show\n"
    "any \\.head\\s*\\(\n"
    "none {IMP}\n"
    "rule base_plot explore hint\n"
    "any {PLOT}\n"
    "rule base_fit train\n"
    "any \\.fit\\s*\\(\n"
    "all ^(?!.*predict)\n";

static const char *const cells[] = {
    "import pandas as pd\ndf = pd.read_csv('train.csv')\ndf.head()\n",
    "%matplotlib inline\nimport warnings\nwarnings.filterwarnings('ignore')\n",
    "model.fit(X_train, y_train)\npred = model.predict(X_test)\nprint(accuracy_score(y_test, pred))\n",
    "for epoch in range(10):\n    loss.backward()\n    optimizer.step()\n",
    "plt.plot(x, y)\nsns.heatmap(df.corr(), annot=True)\n",
    "# only a comment\n\n",
    "df['a'] = df['a'].astype(int)\ndf = pd.get_dummies(df)  # é ü \xe2\x80\x94\n",
    "x = \"\xff\xfe not UTF-8\"\nprint(f'{x!r:>10}')\n",
    "",
};
enum { N_CELLS = sizeof cells / sizeof *cells };

static struct pyview views[N_CELLS];
static void *md;

static int count_lines(const char *s, size_t n)
{
    int k = 1;
    for (size_t i = 0; i < n; i++) k += s[i] == '\n';
    return k;
}

/* ERR is "user.txt:LINE: reason" with LINE in 1..MAXLINE, or "user.txt: reason". */
static void check_refusal(const char *err, int maxline)
{
    static const char name[] = "user.txt";
    CHECK(strncmp(err, name, sizeof name - 1) == 0);
    const char *p = err + sizeof name - 1;
    CHECK(*p == ':');
    p++;
    if (*p == ' ') { CHECK(p[1]); return; }
    char *end;
    long line = strtol(p, &end, 10);
    CHECK(end > p && *end == ':' && end[1] == ' ' && end[2]);
    CHECK(line >= 1 && line <= maxline);
}

static void vote(const struct lfset *lfs)
{
    signed char *votes = malloc((size_t)lfs->n), *again = malloc((size_t)lfs->n);
    int *code = calloc((size_t)lfs->n, sizeof *code);
    CHECK(votes && again && code);
    for (int c = 0; c < N_CELLS; c++) {
        const struct pyview *v = &views[c];
        struct lf_cellinfo info;
        memset(code, 0, (size_t)lfs->n * sizeof *code);
        struct lf_gave_up gu = {code, 0, 0};
        int nv = lfset_votes(lfs, v, md, votes, &info, &gu, NULL);
        CHECK(nv == info.n_votes && info.job_votes <= info.n_votes);
        int gave = 0;
        for (int j = 0; j < lfs->n; j++) {
            CHECK(votes[j] == STAGE_NONE || (votes[j] >= 0 && votes[j] < N_STAGES));
            CHECK(code[j] <= 0);
            gave += code[j] != 0;
            if (code[j]) CHECK(votes[j] == STAGE_NONE);
        }
        CHECK(gave == gu.n);
        CHECK(gu.setup == 0 || gu.setup < lfs->rules.n_setup);
        int maj = lfset_rule_majority(lfs, votes);
        CHECK(maj == STAGE_NONE || (maj >= 0 && maj < N_STAGES));
        for (int prev = STAGE_NONE; prev < N_STAGES; prev++) {
            memcpy(again, votes, (size_t)lfs->n);
            struct lf_context ctx = fuzz_context(prev);
            lfset_context(lfs, &info, &ctx, again);
            int m = lf_majority(again, lfs->n);
            CHECK(m == STAGE_NONE || (m >= 0 && m < N_STAGES));
        }
        for (size_t i = 0; i < v->n_stmts; i++) {
            size_t which = 0;
            int r = ruleset_is_setup(&lfs->rules, v->code + v->stmts[i].start,
                                     v->stmts[i].end - v->stmts[i].start, md, &which);
            CHECK(r >= 0 || which < lfs->rules.n_setup);
        }
    }
    free(votes);
    free(again);
    free(code);
}

/* PCRE2 must not match S[0..LEN) where P's prefilter rules it out (a match PCRE2
 * gives up on, at the limit in MCTX, proves nothing either way). */
static void check_prefilter_on(const struct rule_pattern *p, const char *s, size_t len, uint64_t *found,
                               pcre2_match_data *mdata, pcre2_match_context *mctx)
{
    litscan_run(p->lits, s, len, found);
    for (int i = 0; i < p->n_need; i++)
        if (litscan_found(found, p->need[i])) return; /* a string is there: PCRE2 decides */
    CHECK(pcre2_match(p->code, (PCRE2_SPTR)s, len, 0, 0, mdata, mctx) < 0);
}

static void check_prefilter(const struct ruleset *rs, const char *text, size_t len)
{
    uint64_t *found = malloc(((rs->lits ? litscan_count(rs->lits) : 0) + 63) / 64 * sizeof *found + 8);
    pcre2_match_data *mdata = pcre2_match_data_create(4, NULL);
    pcre2_match_context *mctx = pcre2_match_context_create(NULL);
    CHECK(found && mdata && mctx);
    pcre2_set_match_limit(mctx, 100000);
    pcre2_set_depth_limit(mctx, 10000);
    for (size_t i = 0; rs->lits && i < rs->n_patterns; i++) {
        const struct rule_pattern *p = rs->patterns[i];
        if (!p->n_need) continue;
        CHECK(p->lits == rs->lits);
        for (int c = 0; c < N_CELLS; c++)
            check_prefilter_on(p, p->strings ? views[c].strings : views[c].code,
                               p->strings ? views[c].strings_len : views[c].code_len, found, mdata, mctx);
        check_prefilter_on(p, text, len, found, mdata, mctx);
    }
    /* the setup patterns' prefilter, on each statement and on the input */
    for (size_t i = 0; rs->setup_lits && i < rs->n_setup; i++) {
        for (int c = 0; c < N_CELLS; c++)
            for (size_t k = 0; k < views[c].n_stmts; k++) {
                const char *st = views[c].code + views[c].stmts[k].start;
                size_t n = views[c].stmts[k].end - views[c].stmts[k].start;
                if (!litscan_any(rs->setup_lits, st, n))
                    CHECK(pcre2_match(rs->setup[i], (PCRE2_SPTR)st, n, 0, 0, mdata, mctx) < 0);
            }
        if (!litscan_any(rs->setup_lits, text, len))
            CHECK(pcre2_match(rs->setup[i], (PCRE2_SPTR)text, len, 0, 0, mdata, mctx) < 0);
    }
    pcre2_match_context_free(mctx);
    pcre2_match_data_free(mdata);
    free(found);
}

/* The input as a rule file: after the base file when AFTER_BASE, else alone. */
static void load(const char *text, size_t len, int after_base)
{
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    rs.reserved = lfset_builtin_names();
    char err[1024];
    if (after_base) {
        int r = ruleset_load_text(&rs, base, sizeof base - 1, "base.txt", err, sizeof err);
        if (r) fprintf(stderr, "fuzz_rules: %s\n", err);
        CHECK(r == 0);
    }
    err[0] = 0;
    int r = ruleset_load_text(&rs, text, len, "user.txt", err, sizeof err);
    if (getenv("FUZZ_SAY")) fprintf(stderr, "fuzz_rules: %s\n", r ? err : "parsed");
    if (r) {
        check_refusal(err, count_lines(text, len));
        ruleset_free(&rs);
        return;
    }
    for (size_t i = 0; i < rs.n; i++) {
        const struct rule *ru = &rs.rules[i];
        CHECK(ru->name && ru->stage >= 0 && ru->stage < N_STAGES && ru->level >= LF_JOB && ru->level <= LF_HINT);
        CHECK(ru->file >= 1 && ru->file <= rs.files && ru->n_any + ru->n_all + ru->n_str > 0);
    }
    check_prefilter(&rs, text, len);
    struct lfset lfs;
    CHECK(lfset_init(&lfs, &rs) == 0);
    CHECK(lfs.n == (int)lfs.rules.n + N_LF_BUILTINS);
    vote(&lfs);
    lfset_free(&lfs);
}

static void cleanup(void)
{
    for (int c = 0; c < N_CELLS; c++) pyview_free(&views[c]);
    rules_match_data_free(md);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    for (int c = 0; c < N_CELLS; c++) CHECK(pyview_make(&views[c], cells[c], strlen(cells[c])) == 0);
    CHECK((md = rules_match_data()));
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    load((const char *)data, size, 0);
    load((const char *)data, size, 1);
    return 0;
}
