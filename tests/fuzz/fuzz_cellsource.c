/* fuzz_cellsource.c — libFuzzer target: a code cell's source, any bytes, through every
 * reader of cell sources.
 *
 * Owns: the properties no source may break: no crash, leak or sanitizer report in
 * nbformat/pysrc.c (comments, blank cells, assignments, top-level statements),
 * model/tokenizer.c and model/vocab.c (the forward split, the reverse one tag's
 * encoder uses, the assignment words of --assign-words, the portable and AVX-512
 * loops, ASCII-only and full lower-casing), model/tagging.c's line count, and the
 * labeling path (labeling/pytoken.c's views, the shipped share/rules.txt through
 * labeling/lfset.c, the context LFs and model_output's name tracking (labeling/flow.c),
 * the `setup` patterns on each statement, and
 * label --statements' split, labeling/cellread.c).  And the cheap cross-checks:
 *   - pysrc_strip_comments removes exactly pysrc_comments' ranges;
 *   - pysrc_is_blank <=> the stripped text is all white space <=> no line of code;
 *   - pysrc_assignments' offsets are '=' bytes, ascending; pysrc_blocks' ascending,
 *     the first 0;
 *   - the reverse split gives the forward split's words, last first, for every flag;
 *     the portable loop gives the AVX-512 loop's words;
 *   - the assignment words are the plain words with one "=" per assignment, and
 *     the reverse split gives them too, last first;
 *   - vocab_encode's last 120 ids (the reverse split, with or without assignment
 *     words) are those of the forward words looked up one by one.
 * The rules are read once, from $NBSTAGE_RULES or share/rules.txt (run from the
 * repository's root, as tests/fuzz/run.sh does).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labeling/cellread.h"
#include "labeling/flow.h"
#include "labeling/lfset.h"
#include "labeling/pytoken.h"
#include "labeling/rules.h"
#include "labeling/stage.h"
#include "model/tagging.h"
#include "model/tokenizer.h"
#include "model/vocab.h"
#include "nbformat/pysrc.h"

#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/fuzz_context.h"

static struct lfset lfs;
static void *md;
static struct vocab voc[2]; /* counted without and with the assignment words */

enum { SEQ = 120 };

/* ---------------------------------------------------------------- words */

struct words {
    char *buf;   /* the words, each NUL-terminated, one after another */
    size_t len, cap;
    size_t *at;  /* where each starts in buf */
    size_t n, ncap;
};

static int add_word(const char *w, size_t len, void *ctx)
{
    struct words *ws = ctx;
    for (size_t i = 0; i < TOKENIZER_PAD; i++) (void)*(volatile const char *)(w + len + i);
    if (ws->len + len + 1 > ws->cap) {
        ws->cap = 2 * (ws->len + len + 1);
        CHECK((ws->buf = realloc(ws->buf, ws->cap)));
    }
    if (ws->n == ws->ncap) {
        ws->ncap = 2 * ws->ncap + 16;
        CHECK((ws->at = realloc(ws->at, ws->ncap * sizeof *ws->at)));
    }
    CHECK(len > 0);
    ws->at[ws->n++] = ws->len;
    memcpy(ws->buf + ws->len, w, len);
    ws->buf[ws->len + len] = 0;
    ws->len += len + 1;
    return 0;
}

static void words_free(struct words *ws) { free(ws->buf); free(ws->at); }

static const char *word(const struct words *ws, size_t i) { return ws->buf + ws->at[i]; }

static size_t word_len(const struct words *ws, size_t i)
{
    return (i + 1 < ws->n ? ws->at[i + 1] : ws->len) - ws->at[i] - 1;
}

static void split(const char *src, size_t len, unsigned flags, int reverse, struct words *ws)
{
    memset(ws, 0, sizeof *ws);
    int r = reverse ? tokenize_source_reverse_with(src, len, flags, add_word, ws)
                    : tokenize_source_with(src, len, flags, add_word, ws);
    CHECK(r == 0);
}

static void same_words(const struct words *a, const struct words *b, int reversed)
{
    CHECK(a->n == b->n);
    for (size_t i = 0; i < a->n; i++) {
        size_t j = reversed ? b->n - 1 - i : i;
        CHECK(word_len(a, i) == word_len(b, j));
        CHECK(!memcmp(word(a, i), word(b, j), word_len(a, i)));
    }
}

/* The last SEQ ids of WS's known words, front-padded with 0, as vocab_encode promises. */
static void expected_ids(const struct vocab *v, const struct words *ws, int *ids)
{
    int known[SEQ], n = 0;
    for (size_t i = ws->n; i-- > 0 && n < SEQ;) {
        int id = vocab_lookup(v, word(ws, i), word_len(ws, i));
        if (id) known[n++] = id;
    }
    memset(ids, 0, SEQ * sizeof *ids);
    for (int k = 0; k < n; k++) ids[SEQ - 1 - k] = known[k];
}

static void check_tokenizer(const char *src, size_t len)
{
    static const unsigned flags[] = {0, TOKENIZE_ASCII_LOWER};
    struct words plain = {0};
    for (size_t f = 0; f < sizeof flags / sizeof *flags; f++) {
        struct words fwd, rev, port, rport;
        split(src, len, flags[f], 0, &fwd);
        split(src, len, flags[f], 1, &rev);
        split(src, len, flags[f] | TOKENIZE_PORTABLE, 0, &port);
        split(src, len, flags[f] | TOKENIZE_PORTABLE, 1, &rport);
        same_words(&fwd, &rev, 1);
        same_words(&fwd, &port, 0);
        same_words(&fwd, &rport, 1);
        words_free(&rev);
        words_free(&port);
        words_free(&rport);
        if (f == 0) plain = fwd;
        else words_free(&fwd);
    }
    /* tokenize_source is the plain split */
    struct words def = {0};
    CHECK(tokenize_source(src, len, add_word, &def) == 0);
    same_words(&plain, &def, 0);
    words_free(&def);

    /* the assignment words: the plain words, and "=" once per assignment */
    struct words asg, rasg;
    split(src, len, TOKENIZE_ASSIGN_WORDS, 0, &asg);
    split(src, len, TOKENIZE_ASSIGN_WORDS, 1, &rasg);
    same_words(&asg, &rasg, 1);
    words_free(&rasg);
    size_t stripped_len;
    char *stripped = pysrc_strip_comments(src, len, &stripped_len);
    CHECK(stripped);
    size_t n_assign = pysrc_assignments(stripped, stripped_len, NULL, 0), eq = 0, k = 0;
    free(stripped);
    for (size_t i = 0; i < asg.n; i++) {
        if (word_len(&asg, i) == 1 && word(&asg, i)[0] == '=') { eq++; continue; }
        CHECK(k < plain.n && word_len(&asg, i) == word_len(&plain, k) &&
              !memcmp(word(&asg, i), word(&plain, k), word_len(&plain, k)));
        k++;
    }
    CHECK(k == plain.n);
    CHECK(eq == n_assign);

    /* the encoders: last SEQ ids, from the reverse split (plain and assignment words) */
    int ids[SEQ], want[SEQ];
    const struct words *by[2] = {&plain, &asg};
    for (int v = 0; v < 2; v++) {
        int got = vocab_encode(&voc[v], src, len, ids, SEQ);
        CHECK(got >= 0);
        expected_ids(&voc[v], by[v], want);
        CHECK(!memcmp(ids, want, sizeof ids));
        int nz = 0;
        for (int i = 0; i < SEQ; i++) nz += want[i] != 0;
        CHECK(got == nz);
    }
    words_free(&asg);
    words_free(&plain);
}

/* ---------------------------------------------------------------- pysrc */

static void check_pysrc(const char *src, size_t len)
{
    size_t n;
    char *stripped = pysrc_strip_comments(src, len, &n);
    CHECK(stripped && stripped[n] == 0);
    size_t nc = pysrc_comments(src, len, NULL, 0);
    size_t *pos = malloc((2 * nc + 1) * sizeof *pos);
    CHECK(pos);
    CHECK(pysrc_comments(src, len, pos, nc) == nc);
    /* the source without those ranges is the stripped copy */
    size_t at = 0, out = 0;
    for (size_t c = 0; c < nc; c++) {
        CHECK(pos[2 * c] >= at && pos[2 * c] < pos[2 * c + 1] && pos[2 * c + 1] <= len);
        CHECK(src[pos[2 * c]] == '#');
        CHECK(out + pos[2 * c] - at <= n && !memcmp(stripped + out, src + at, pos[2 * c] - at));
        out += pos[2 * c] - at;
        at = pos[2 * c + 1];
    }
    CHECK(n - out == len - at && !memcmp(stripped + out, src + at, len - at));
    free(pos);

    int only_space = 1;
    for (size_t i = 0; i < n; i++) only_space &= isspace((unsigned char)stripped[i]) != 0;
    int blank = pysrc_is_blank(src, len);
    CHECK(blank == only_space);
    CHECK(blank == (tag_code_lines(src, len) == 0));

    size_t na = pysrc_assignments(stripped, n, NULL, 0);
    size_t *ap = malloc((na + 1) * sizeof *ap);
    CHECK(ap && pysrc_assignments(stripped, n, ap, na) == na);
    for (size_t i = 0; i < na; i++) CHECK(ap[i] < n && stripped[ap[i]] == '=' && (i == 0 || ap[i] > ap[i - 1]));
    free(ap);
    free(stripped);

    size_t nb = pysrc_blocks(src, len, NULL, 0);
    size_t *bp = malloc((nb + 1) * sizeof *bp);
    CHECK(bp && pysrc_blocks(src, len, bp, nb) == nb);
    for (size_t i = 0; i < nb; i++) CHECK(bp[i] < len && (i ? bp[i] > bp[i - 1] : bp[i] == 0));
    free(bp);
}

/* ---------------------------------------------------------------- labeling */

static void check_view(const struct pyview *v)
{
    for (size_t i = 0; i < v->n_stmts; i++) {
        const struct pystmt *s = &v->stmts[i];
        CHECK(s->start <= s->end && s->end <= v->code_len);
        CHECK(s->indent >= 0 && s->indent <= PYVIEW_BLANK_RUN);
    }
}

/* The cell's votes from the rules and built-ins, then the context LFs after each
 * kind of neighbour; and the setup patterns on every statement. */
static void vote(const char *src, size_t len, int context)
{
    struct pyview v;
    CHECK(pyview_make(&v, src, len) == 0);
    check_view(&v);
    signed char *votes = malloc((size_t)lfs.n), *again = malloc((size_t)lfs.n);
    int *code = calloc((size_t)lfs.n, sizeof *code);
    CHECK(votes && again && code);
    struct lf_cellinfo info;
    struct lf_gave_up gu = {code, 0, 0};
    int nv = lfset_votes(&lfs, &v, md, votes, &info, &gu, NULL);
    CHECK(nv == info.n_votes && info.job_votes <= info.n_votes);
    for (int j = 0; j < lfs.n; j++) CHECK(votes[j] == STAGE_NONE || (votes[j] >= 0 && votes[j] < N_STAGES));
    int maj = lfset_rule_majority(&lfs, votes);
    CHECK(maj == STAGE_NONE || (maj >= 0 && maj < N_STAGES));
    if (context) {
        for (int prev = STAGE_NONE; prev < N_STAGES; prev++) {
            memcpy(again, votes, (size_t)lfs.n);
            struct lf_context ctx = fuzz_context(prev);
            lfset_context(&lfs, &info, &ctx, again);
            int m = lf_majority(again, lfs.n);
            CHECK(m == STAGE_NONE || (m >= 0 && m < N_STAGES));
        }
    }
    /* model_output's name tracking, twice: the second pass starts from the names the
     * first left, so the source reads its own results */
    struct flow fl;
    flow_init(&fl);
    CHECK(flow_step(&fl, &v, 1) >= 0);
    int r2 = flow_step(&fl, &v, 0);
    CHECK(r2 >= 0 && r2 <= (FLOW_RESULTS | FLOW_TRAINED | FLOW_WHOLE) && (!(r2 & FLOW_WHOLE) || (r2 & FLOW_RESULTS)));
    for (size_t i = 0; i < fl.n; i++) CHECK(fl.names[i][0] && !strchr(fl.names[i], ' '));
    flow_free(&fl);
    /* unkept_change's walk back: the source as both cells of a notebook (the first
     * read by the second or not, each marked 0 or 1) */
    struct label_cell two[2] = {
        {.id = (char *)"c#0", .notebook = (char *)"c", .src = (char *)src, .src_len = len, .index = 0},
        {.id = (char *)"c#1", .notebook = (char *)"c", .src = (char *)src, .src_len = len, .index = 1},
    };
    unsigned char kept[2] = {9, 9};
    const unsigned char modelling[2] = { 1, 1 };
    CHECK(flow_mark_kept(two, 2, modelling, 2, kept) == 0 && kept[0] <= FLOW_FEEDS_MODEL && kept[1] <= FLOW_FEEDS_MODEL);
    /* helper_call's walk: the first cell's definitions (as explore) called by the second */
    const unsigned char stage1[2] = { 1 + STAGE_EXPLORE, 0 };
    unsigned char helped[2] = {9, 9};
    CHECK(flow_mark_helpers(two, 2, stage1, 1, helped) == 0 && helped[0] == 0 &&
          (helped[1] == 0 || helped[1] == 1 + STAGE_EXPLORE));
    for (size_t i = 0; i < v.n_stmts; i++) {
        size_t which = 0;
        int r = ruleset_is_setup(&lfs.rules, v.code + v.stmts[i].start,
                                 v.stmts[i].end - v.stmts[i].start, md, &which);
        CHECK(r >= 0 || which < lfs.rules.n_setup);
    }
    free(votes);
    free(again);
    free(code);
    pyview_free(&v);
}

static void check_labeling(const char *src, size_t len)
{
    vote(src, len, 1);
    /* label --statements: the cell's top-level statements, each voted on as a cell */
    size_t n_sub;
    struct label_cell *cells = malloc(sizeof *cells);
    char *copy = malloc(len + 1);
    CHECK(cells && copy);
    memcpy(copy, src, len);
    copy[len] = 0;
    cells[0] = (struct label_cell){strdup("nb.ipynb#0"), NULL, copy, len, 0, 0, 0, 0};
    CHECK(cells[0].id);
    CHECK(cells_add_statements(&cells, 1, &n_sub) == 0);
    CHECK(n_sub != 1);
    size_t total = 0;
    for (size_t i = 1; i <= n_sub; i++) {
        CHECK(cells[i].statement && cells[i].parent == 0);
        total += cells[i].src_len;
        vote(cells[i].src, cells[i].src_len, 0);
    }
    CHECK(n_sub == 0 || total == len); /* the statements cover the cell */
    cells_free(cells, 1 + n_sub);
}

/* ---------------------------------------------------------------- libFuzzer */

static void cleanup(void)
{
    lfset_free(&lfs);
    rules_match_data_free(md);
    vocab_free(&voc[0]);
    vocab_free(&voc[1]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *path = getenv("NBSTAGE_RULES");
    if (!path) path = "share/rules.txt";
    struct ruleset rs;
    memset(&rs, 0, sizeof rs);
    rs.reserved = lfset_builtin_names();
    char err[512];
    if (ruleset_load_file(&rs, path, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_cellsource: %s (run from the repository's root, or set NBSTAGE_RULES)\n", err);
        exit(2);
    }
    CHECK(lfset_init(&lfs, &rs) == 0);
    CHECK((md = rules_match_data()));
    /* Two vocabularies of common words (and "=" with the assignment words), small
     * enough that many words of an input are unknown. */
    static const char *const text =
        "import pandas as pd\nimport numpy as np\ndf = pd.read_csv('train.csv')\n"
        "df.head()\nx = df.drop('y', axis=1)\nmodel.fit(x, y)\nprint(model.score(x, y))\n"
        "plt.plot(x)\nплот = ВАШ_КОД\nÉtat = 1\n";
    for (int v = 0; v < 2; v++) {
        struct vocab_counter *c = vocab_counter_new();
        CHECK(c);
        vocab_counter_set_tokenize(c, v ? TOKENIZE_ASSIGN_WORDS : 0);
        CHECK(vocab_counter_add_source(c, text, strlen(text)) == 0);
        CHECK(vocab_build(c, 24, &voc[v]) == 0);
        vocab_counter_free(c);
    }
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;
    check_pysrc(src, size);
    check_tokenizer(src, size);
    check_labeling(src, size);
    return 0;
}
