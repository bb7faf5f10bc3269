/* test_relit.c — the rules' prefilter: required strings (labeling/relit.h) and the
 * automaton that finds them (labeling/litscan.h).
 *
 * The prefilter may only ever say "cannot match" when PCRE2 would not match: checked
 * on random patterns of the syntax the rules use (groups of every kind, alternation,
 * every quantifier, classes, escapes, (?i), comments, back-references) against random
 * subjects, with PCRE2 compiled as labeling/rules.c compiles it; and on the shipped
 * rules' own patterns against texts built from their strings.  The automaton must
 * find exactly what a naive search finds.  The hand cases pin what is required, so
 * that the prefilter keeps its use (a pattern read as requiring nothing is correct
 * but filters nothing).
 */
#include "unit.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labeling/litscan.h"
#include "labeling/relit.h"

/* The set of PATTERN as "a|b" (each string, "(i)" before a caseless one), "" when
 * none is required. */
static void describe(const char *pattern, char *out, size_t outlen)
{
    struct relit_set set;
    assert_int_equal(relit_required(pattern, strlen(pattern), &set), 0);
    size_t n = 0;
    out[0] = 0;
    for (size_t i = 0; i < set.n; i++)
        n += (size_t)snprintf(out + n, outlen - n, "%s%s%.*s", i ? "|" : "", set.v[i].caseless ? "(i)" : "",
                              (int)set.v[i].len, set.v[i].s);
    relit_set_free(&set);
}

static void test_what_is_required(void **state)
{
    (void)state;
    static const struct { const char *re, *want; } cases[] = {
        {"abc", "abc"},
        {"\\bread_(?:csv|table)\\s*\\(", "read_"},
        {"\\.fit\\s*\\(", ".fit"},
        {"ab?c", ""},                    /* "a", "c": each too short */
        {"abcd?e", "abc"},
        {"xy+z", "xy"},                  /* "xy" and "yz": the first of equal length */
        {"xyz+", "xyz"},
        {"(?:foo|barbaz)", "foo|barbaz"},
        {"(?:foo|)", ""},                /* an empty branch requires nothing */
        {"(?:foo)?bar", "bar"},
        {"(?:foo)*", ""},
        {"(?:foo){2,}", "foo"},
        {"(?:foo){0,3}xy", "xy"},
        {"(?i)Hello", "(i)Hello"},
        {"ab(?i:cd)", "ab"},             /* the longer of "ab" and the group's "(i)cd": equal, first kept */
        {"(?i:abc)defg", "(i)defg"},     /* (?i) counts to the end: a superset */
        {"(?=[^\\n]*\\bsklearn\\b)\\w+", "sklearn"},
        {"(?!foo)bar", "bar"},
        {"(?<=abc)de", "abc"},
        {"(?<!abc)de", "de"},
        {"\\Qa.b\\E+c", "a.b"},          /* the quantifier applies to the last quoted byte */
        {"a(?#note)bc", "abc"},
        {"(a)\\g{-1}bc", "bc"},
        {"\\x41bc", ""},                 /* \x not modelled: nothing */
        {"a{,3}bc", ""},                 /* a brace that is no quantifier in 10.42 */
        {"(?x)a b c", ""},               /* extended: not modelled */
        {"(*UTF)abc", ""},
        {"(?1)abc(x)", ""},
        {"[abc]def[gh]", "def"},
        {"[]x]yz", "yz"},
        {"[[:alpha:]]yz", "yz"},
        {"ab|cd|ef", "ab|cd|ef"},
        {"ab|c", ""},
        {"a.bc", "bc"},
        {"^import\\s", "import"},
        {"\\n\\tfoo", "\n\tfoo"},
        {"ab[c\\", ""},                   /* a class cut short: PCRE2 refuses it, and so does this */
    };
    char got[512];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        describe(cases[i].re, got, sizeof got);
        if (strcmp(got, cases[i].want) != 0) fail_msg("%s: got \"%s\", want \"%s\"", cases[i].re, got, cases[i].want);
    }
}

/* ---- random patterns against PCRE2 ---------------------------------------------------- */

static uint64_t rng = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

struct buf {
    char s[1024];
    size_t n;
};
static void put(struct buf *b, const char *s)
{
    size_t k = strlen(s);
    if (b->n + k < sizeof b->s) { memcpy(b->s + b->n, s, k); b->n += k; b->s[b->n] = 0; }
}

/* A small alphabet, so that random subjects often match. */
static const char *const atoms[] = {"a", "b", "c", "A", "B", "ab", "ba", "abc", "aB", "bc", "a", "b", "\\.", ".", "[ab]", "[^a]",
                                    "\\w", "\\s", " ", "\\b", "^", "$", "\\n", "\\Qa.\\E", "\\Q\\E", "(?#x)"};
static const char *const quants[] = {"", "", "", "", "", "", "?", "*", "+", "{2}", "{1,2}", "{0,1}", "{2,}", "??", "*+", "+?"};
static const char *const opens[] = {"(", "(?:", "(?>", "(?|", "(?i:", "(?-i:", "(?=", "(?!", "(?<=", "(?<!", "(?<n>"};

static void gen_alternation(struct buf *b, int depth);

static void gen_sequence(struct buf *b, int depth)
{
    int n = (int)rnd(5);
    for (int i = 0; i < n; i++) {
        unsigned k = rnd(20);
        if (k < 14 || depth > 2) {
            put(b, atoms[rnd(sizeof atoms / sizeof atoms[0])]);
        } else if (k < 16) {
            put(b, rnd(2) ? "(?i)" : "(?-i)");
            continue;
        } else {
            const char *open = opens[rnd(sizeof opens / sizeof opens[0])];
            /* PCRE2 wants a lookbehind of bounded length: keep theirs to atoms */
            if (!strncmp(open, "(?<=", 4) || !strncmp(open, "(?<!", 4)) {
                put(b, open);
                put(b, rnd(2) ? "ab" : "a|bc");
                put(b, ")");
            } else {
                put(b, open);
                gen_alternation(b, depth + 1);
                put(b, ")");
            }
        }
        put(b, quants[rnd(sizeof quants / sizeof quants[0])]);
    }
}

static void gen_alternation(struct buf *b, int depth)
{
    gen_sequence(b, depth);
    while (rnd(4) == 0) {
        put(b, "|");
        gen_sequence(b, depth);
    }
}

static int occurs(const struct relit *l, const char *s, size_t n)
{
    for (size_t i = 0; i + l->len <= n; i++) {
        size_t k = 0;
        if (l->caseless)
            while (k < l->len && tolower((unsigned char)s[i + k]) == tolower((unsigned char)l->s[k])) k++;
        else
            while (k < l->len && s[i + k] == l->s[k]) k++;
        if (k == l->len) return 1;
    }
    return 0;
}

static void test_never_says_no_where_pcre2_matches(void **state)
{
    (void)state;
    pcre2_match_data *md = pcre2_match_data_create(4, NULL);
    assert_non_null(md);
    long patterns = 0, with_strings = 0, matches = 0, filtered = 0;
    static const char subject_bytes[] = "aabbcABC. \n_x";
    for (int round = 0; round < 20000; round++) {
        struct buf b = {.n = 0};
        b.s[0] = 0;
        gen_alternation(&b, 0);
        int err;
        PCRE2_SIZE off;
        pcre2_code *re = pcre2_compile((PCRE2_SPTR)b.s, b.n, PCRE2_MULTILINE, &err, &off, NULL);
        if (!re) continue;
        patterns++;
        struct relit_set set;
        assert_int_equal(relit_required(b.s, b.n, &set), 0);
        if (set.n) with_strings++;
        for (int t = 0; t < 40; t++) {
            char subj[24];
            size_t n = rnd(sizeof subj);
            for (size_t i = 0; i < n; i++) subj[i] = subject_bytes[rnd(sizeof subject_bytes - 1)];
            /* half the subjects hold one of the strings, so matches are many */
            if (set.n && rnd(2)) {
                const struct relit *l = &set.v[rnd((unsigned)set.n)];
                if (l->len <= n) memcpy(subj + rnd((unsigned)(n - l->len + 1)), l->s, l->len);
            }
            int m = pcre2_match(re, (PCRE2_SPTR)subj, n, 0, 0, md, NULL) >= 0;
            int may = set.n == 0;
            for (size_t i = 0; !may && i < set.n; i++) may = occurs(&set.v[i], subj, n);
            matches += m;
            filtered += !may;
            if (m && !may) fail_msg("pattern %s matches \"%.*s\", which holds none of its strings", b.s, (int)n, subj);
        }
        relit_set_free(&set);
        pcre2_code_free(re);
    }
    pcre2_match_data_free(md);
    /* the check has teeth: many patterns have strings, many subjects match, many are filtered */
    assert_true(patterns > 10000);
    assert_true(with_strings > patterns / 5);
    assert_true(matches > 20000);
    assert_true(filtered > 20000);
}

/* ---- the automaton against a naive search ---------------------------------------------- */

static void test_the_automaton_finds_what_a_search_finds(void **state)
{
    (void)state;
    static const char alphabet[] = "abAB.(";
    for (int round = 0; round < 300; round++) {
        struct litscan *ls = litscan_new();
        assert_non_null(ls);
        struct relit lits[40];
        char store[40][6];
        int ids[40];
        int n = 1 + (int)rnd(40);
        for (int i = 0; i < n; i++) {
            size_t len = 1 + rnd(5);
            for (size_t k = 0; k < len; k++) store[i][k] = alphabet[rnd(sizeof alphabet - 1)];
            lits[i] = (struct relit){store[i], len, (int)rnd(2)};
            ids[i] = litscan_add(ls, lits[i].s, lits[i].len, lits[i].caseless);
            assert_true(ids[i] >= 0);
        }
        assert_int_equal(litscan_build(ls), 0);
        assert_int_equal(litscan_add(ls, "x", 1, 0), -1); /* built: nothing more */
        uint64_t found[2];
        for (int t = 0; t < 50; t++) {
            char text[64];
            size_t len = rnd(sizeof text);
            for (size_t k = 0; k < len; k++) text[k] = alphabet[rnd(sizeof alphabet - 1)];
            litscan_run(ls, text, len, found);
            int any = 0;
            for (int i = 0; i < n; i++) any |= occurs(&lits[i], text, len);
            assert_int_equal(litscan_any(ls, text, len), any);
            for (int i = 0; i < n; i++)
                if (litscan_found(found, ids[i]) != occurs(&lits[i], text, len))
                    fail_msg("\"%.*s\" (%s) in \"%.*s\": automaton %d", (int)lits[i].len, lits[i].s,
                             lits[i].caseless ? "caseless" : "exact", (int)len, text, litscan_found(found, ids[i]));
        }
        litscan_free(ls);
    }
}

static void test_the_same_string_has_one_id(void **state)
{
    (void)state;
    struct litscan *ls = litscan_new();
    assert_non_null(ls);
    int a = litscan_add(ls, "fit", 3, 0), b = litscan_add(ls, "fit", 3, 0), c = litscan_add(ls, "fit", 3, 1);
    assert_int_equal(a, b);
    assert_int_not_equal(a, c);
    assert_int_equal(litscan_add(ls, "", 0, 0), -1);
    assert_int_equal(litscan_build(ls), 0);
    assert_int_equal(litscan_count(ls), 2);
    uint64_t found[1];
    litscan_run(ls, "model.FIT(x)", 12, found);
    assert_false(litscan_found(found, a));
    assert_true(litscan_found(found, c));
    litscan_free(ls);
    /* nothing added: nothing found, and no automaton to run */
    ls = litscan_new();
    assert_int_equal(litscan_build(ls), 0);
    assert_int_equal(litscan_count(ls), 0);
    litscan_run(ls, "abc", 3, found);
    litscan_free(ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_what_is_required),
        cmocka_unit_test(test_never_says_no_where_pcre2_matches),
        cmocka_unit_test(test_the_automaton_finds_what_a_search_finds),
        cmocka_unit_test(test_the_same_string_has_one_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
