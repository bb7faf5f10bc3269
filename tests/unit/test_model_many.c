/* test_model_many.c — batch inference (model_classify_ids_many, model_classify_many)
 * against single-cell inference, which test_model checks against a double reference:
 * random models (H = 64 on the AVX-512, AVX2 and portable walks, H = 20), lengths 0, 1,
 * 2, 119, 120 and longer in mixed batches of every size up to a few hundred, ids out
 * of range; and the shipped model on a few thousand real corpus cells.  The batch path
 * promises the same fp32 operations per cell, so the bound (1e-6) is loose: the
 * figures are expected to be identical, and the test prints the worst difference. */
#include "tests/unit/unit.h"
#include "tests/unit/unit_model.h"
#include "tests/unit/unit_corpus.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/infer_avx2.h"
#include "model/infer_neon.h"
#include "model/infer_step.h"
#include "model/lstm.h"
#include "model/model.h"
#include "model/modelfile.h"
#include "model/train.h"
#include "model/vocab.h"

static unsigned long long rng_state = 0x2545F4914F6CDD1Dull;
static unsigned next_u(void)
{
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (unsigned)(rng_state >> 32);
}
static float urand(float a) { return a * (2.0f * (float)(next_u() / 4294967296.0) - 1.0f); }

/* A model of P with words "w1".."w<vocab-1>", written to PATH and loaded. */
static nbs_model *make_model(const char *path, const struct lstm_params *p, struct vocab *v)
{
    struct vocab_counter *vc = vocab_counter_new();
    for (int i = 1; i < p->vocab; i++) {
        char w[16];
        int n = snprintf(w, sizeof w, "w%d", i);
        for (int r = 0; r < 1 + i % 3; r++) vocab_counter_add(vc, w, (size_t)n);
    }
    assert_int_equal(vocab_build(vc, p->vocab, v), 0);
    vocab_counter_free(vc);
    return unit_model_file(path, p, v, "test model");
}

/* The worst difference between the batch answers and the single-cell ones (and the
 * argmax must agree). */
static double compare_ids(const nbs_model *m, int *const *ids, const int *n, int count)
{
    float (*pm)[N_STAGES] = malloc(sizeof *pm * (size_t)(count + 1));
    int *bm = malloc(sizeof *bm * (size_t)(count + 1));
    model_classify_ids_many(m, (const int *const *)ids, n, count, pm, bm);
    double worst = 0;
    for (int i = 0; i < count; i++) {
        float p1[N_STAGES];
        int b1 = model_classify_ids(m, ids[i], n[i], p1);
        assert_int_equal(bm[i], b1);
        for (int s = 0; s < N_STAGES; s++) worst = fmax(worst, fabs((double)pm[i][s] - p1[s]));
    }
    free(pm);
    free(bm);
    return worst;
}

/* Under AddressSanitizer the portable step is ~40x slower than the AVX-512 one (47 s
 * for this file in `make test`'s sanitizer pass), so there it runs batches of up to 121
 * cells, not 300: every code path and edge still, the optimised build doing the rest. */
#if defined(__SANITIZE_ADDRESS__)
enum { SANITIZED = 1 };
#else
enum { SANITIZED = 0 };
#endif

/* Batches of random cells, lengths from a mix of edge cases and anything in 0..150. */
static void random_batches(const char *what, int hidden, int portable)
{
    int avx2 = portable == 2, was_set = getenv("NBSTAGE_NO_AVX512") != NULL;
    if (avx2) portable = 0, setenv("NBSTAGE_NO_AVX512", "1", 1); /* the AVX2 walk */
    if (portable) setenv("NBSTAGE_PORTABLE", "1", 1);
    char path[] = "/tmp/nbstage-test-many-XXXXXX";
    unit_make_tmpfile(path);
    struct lstm_params p;
    unit_random_params(&p, 300, 16, hidden, 0.3f, urand);
    struct vocab v;
    nbs_model *m = make_model(path, &p, &v);
    unsetenv("NBSTAGE_PORTABLE");
    if (avx2) assert_string_equal(model_walk(m), "AVX2, 3 cells a walk");
    if (!portable && hidden == 64 && infer_neon_usable()) assert_string_equal(model_walk(m), "NEON, 3 cells a walk");
    if (avx2 && !was_set) unsetenv("NBSTAGE_NO_AVX512");
    static const int edge[] = {0, 1, 2, 3, 119, 120, 121, 150, 64, 65};
    enum { MAXB = 300 };
    int *ids[MAXB], n[MAXB];
    for (int i = 0; i < MAXB; i++) ids[i] = malloc(150 * sizeof *ids[i]);
    double worst = 0;
    int sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 17, 64, MAXB};
    int small = portable && SANITIZED, big = small ? 121 : MAXB;
    for (size_t z = 0; z < sizeof sizes / sizeof sizes[0] - (size_t)small; z++) {
        for (int rep = 0; rep < 3; rep++) {
            int count = sizes[z];
            for (int i = 0; i < count; i++) {
                unsigned u = next_u();
                n[i] = rep == 0 ? edge[i % 10] : rep == 1 ? (int)(u % 151) : 100 + (int)(u % 21);
                for (int t = 0; t < 150; t++) {
                    unsigned r = next_u() % 100;
                    ids[i][t] = r == 0 ? -3 : r == 1 ? 300 + (int)(r % 7) : 1 + (int)(next_u() % 299);
                }
            }
            worst = fmax(worst, compare_ids(m, ids, n, count));
        }
    }
    /* every cell the same length, and all lengths 0..120 in one batch */
    for (int i = 0; i < big; i++) n[i] = i < 121 ? i : 120;
    worst = fmax(worst, compare_ids(m, ids, n, big));
    for (int i = 0; i < 16; i++) n[i] = 37;
    worst = fmax(worst, compare_ids(m, ids, n, 16));
    printf("  %s: worst |batch - single| = %.3g\n", what, worst);
    assert_true(worst <= 1e-6);
    for (int i = 0; i < MAXB; i++) free(ids[i]);
    model_free(m);
    vocab_free(&v);
    lstm_params_free(&p);
    unlink(path);
}

static void random_h64(void **state) { (void)state; random_batches("H=64", 64, 0); }
static void random_h64_portable(void **state) { (void)state; random_batches("H=64 portable", 64, 1); }
static void random_h20(void **state) { (void)state; random_batches("H=20", 20, 0); }
static void random_h64_avx2(void **state)
{
    (void)state;
    if (!infer_avx2_usable()) skip();
    random_batches("H=64 AVX2", 64, 2);
}

/* S cells (at most 8) of random words (V of them) and lengths from random states,
 * walked together by MANY and each alone by RUN: the same h and c to the bit.  PARITY
 * 0 or 1: every length of that parity (the AVX-512 walk's direction follows it, and
 * model.c groups cells by it); -1: any length. */
static void many_against_one(infer_run_fn run, infer_many_fn many, const float *table, const float *Wh, int V,
                             int S, int parity)
{
    enum { H = 64, SM = 8 };
    int idbuf[SM][120], n[SM];
    const int *rows[SM];
    float h[SM * H], c[SM * H], h0[SM * H], c0[SM * H], h1[H], c1[H];
    assert_true(S <= SM);
    for (int s = 0; s < S; s++) {
        n[s] = parity < 0 ? (int)(next_u() % 121) : 2 * (int)(next_u() % 60) + parity;
        for (int t = 0; t < 120; t++) idbuf[s][t] = (int)(next_u() % V);
        rows[s] = idbuf[s];
    }
    for (int i = 0; i < S * H; i++) { h[i] = urand(0.9f); c[i] = urand(2.0f); }
    memcpy(h0, h, sizeof h);
    memcpy(c0, c, sizeof c);
    many(table, rows, n, S, Wh, H, h, c);
    for (int s = 0; s < S; s++) {
        memcpy(h1, h0 + s * H, sizeof h1);
        memcpy(c1, c0 + s * H, sizeof c1);
        run(table, idbuf[s], n[s], Wh, H, h1, c1);
        assert_memory_equal(h + s * H, h1, sizeof h1);
        assert_memory_equal(c + s * H, c1, sizeof c1);
    }
}

/* The kernels themselves, on raw states: each cell against infer_run_choose's version
 * alone, to the bit (same-parity lengths, as model.c groups them); and the AVX2 walk,
 * whose numbers follow no walk direction, on any lengths, up to INFER_AVX2_MAX cells a
 * call and more (three at a time); likewise the NEON walk on 64-bit ARM. */
static void kernels_bit_identical(void **state)
{
    (void)state;
    enum { H = 64, G = 4 * H, V = 50 };
    float *table = malloc(sizeof(float) * V * G), *Wh = malloc(sizeof(float) * H * G);
    for (int i = 0; i < V * G; i++) table[i] = urand(1.0f);
    for (int i = 0; i < H * G; i++) Wh[i] = urand(0.3f);
    for (int portable = 0; portable < 2; portable++)
        for (int S = 1; S <= INFER_MANY_MAX; S++)
            many_against_one(infer_run_choose(H, portable), infer_many_choose(H, portable), table, Wh, V, S, S & 1);
    if (infer_avx2_usable())
        for (int S = 1; S <= INFER_AVX2_MAX + 2; S++)
            many_against_one(infer_run_avx2_h64, infer_many_avx2_h64, table, Wh, V, S, -1);
    if (infer_neon_usable()) /* the same shape on 64-bit ARM */
        for (int S = 1; S <= INFER_NEON_MAX + 2; S++)
            many_against_one(infer_run_neon_h64, infer_many_neon_h64, table, Wh, V, S, -1);
    free(table);
    free(Wh);
}

/* ------------------------------------------------------------------ real cells */

static void shipped_model_on_corpus_cells(void **state)
{
    (void)state;
    const char *shared = unit_shared_dir();
    nbs_model *m = unit_shipped_model();
    if (!shared || !m) { model_free(m); skip(); return; }
    enum { CAP = 4000 };
    struct unit_cells cs = unit_corpus_cells(shared, CAP);
    assert_true(cs.n >= 3000);
    /* the batches a JSON Lines reader would make, and an odd size; edges by hand */
    static float pm[CAP][N_STAGES];
    static int bm[CAP];
    double worst = 0;
    int lens[121] = {0};
    for (int from = 0, chunk = 1000; from < cs.n; from += chunk, chunk = chunk == 1000 ? 333 : 1000) {
        int k = cs.n - from < chunk ? cs.n - from : chunk;
        model_classify_many(m, (const char *const *)cs.src + from, cs.len + from, k, pm + from, bm + from);
    }
    for (int i = 0; i < cs.n; i++) {
        float p1[N_STAGES];
        int b1 = model_classify(m, cs.src[i], cs.len[i], p1);
        assert_int_equal(bm[i], b1);
        for (int s = 0; s < N_STAGES; s++) worst = fmax(worst, fabs((double)pm[i][s] - p1[s]));
        int ids[120];
        int w = model_encode(m, cs.src[i], cs.len[i], ids);
        if (w >= 0 && w <= 120) lens[w]++;
    }
    /* real cells cover the edges: 0 and 1 word(s), 119, 120 (truncated) */
    printf("  %d corpus cells: %d of 0 words, %d of 1, %d of 119, %d of 120; worst |batch - single| = %.3g\n",
           cs.n, lens[0], lens[1], lens[119], lens[120], worst);
    assert_true(lens[1] > 0 && lens[120] > 0);
    assert_true(worst <= 1e-6);
    unit_cells_free(&cs);
    model_free(m);
}

/* How many pairs of lengths 0..120 model_start_class puts together; fails unless
 * each pair's start states are the same, bit for bit. */
static int same_start_states(const nbs_model *m)
{
    int H = model_hidden(m), shared = 0;
    float h1[1024], c1[1024], h2[1024], c2[1024];
    assert_true(H <= 1024);
    for (int a = 0; a <= 120; a++)
        for (int b = a + 1; b <= 120; b++) {
            if (model_start_class(m, a) != model_start_class(m, b)) continue;
            shared++;
            model_start_state(m, a, h1, c1);
            model_start_state(m, b, h2, c2);
            assert_memory_equal(h1, h2, (size_t)H * sizeof *h1);
            assert_memory_equal(c1, c2, (size_t)H * sizeof *c1);
        }
    return shared;
}

/* A cell run in parts (model_run_many: an even number of steps from its start state,
 * then the rest in another batch) gives exactly what model_classify_ids gives it
 * whole; cells of one start class start from the same state, bit for bit.  The
 * shipped model on corpus cells (what tagbatch.c's shared prefixes rely on). */
static void parts_equal_whole(void **state)
{
    (void)state;
    const char *shared = unit_shared_dir();
    nbs_model *m = unit_shipped_model();
    if (!shared || !m) { model_free(m); skip(); return; }
    enum { CAP = 1500 };
    struct unit_cells cs = unit_corpus_cells(shared, CAP);
    int H = model_hidden(m);
    static int ids[CAP][120], n[CAP], cut[CAP];
    static float h[CAP * 1024], c[CAP * 1024]; /* H floats a cell, back to back */
    assert_true(H <= 1024);
    const int *rows[CAP];
    int cells = 0;
    for (int i = 0; i < cs.n; i++) {
        int w = model_encode(m, cs.src[i], cs.len[i], ids[cells]);
        if (w < 0) continue;
        memmove(ids[cells], ids[cells] + (120 - w), (size_t)w * sizeof(int));
        n[cells] = w;
        cut[cells] = (int)(next_u() % (unsigned)(w + 1)) & ~1;
        model_start_state(m, w, h + (size_t)cells * H, c + (size_t)cells * H);
        cells++;
    }
    static int rest[CAP];
    for (int i = 0; i < cells; i++) rows[i] = ids[i], rest[i] = n[i] - cut[i];
    model_run_many(m, rows, cut, cells, h, c); /* the prefixes */
    for (int i = 0; i < cells; i++) rows[i] = ids[i] + cut[i];
    model_run_many(m, rows, rest, cells, h, c); /* the rests */
    for (int i = 0; i < cells; i++) {
        float pw[N_STAGES], pp[N_STAGES];
        int bw = model_classify_ids(m, ids[i], n[i], pw), bp = model_output(m, h + (size_t)i * H, pp);
        assert_int_equal(bp, bw);
        assert_memory_equal(pp, pw, sizeof pw);
    }
    printf("  %d cells in two parts; %d pairs of lengths share a start state\n", cells, same_start_states(m));
    unit_cells_free(&cs);
    model_free(m);
}

/* Lengths of one start class start from the same state, bit for bit, in the shipped
 * model (whose padding state may reach no fixed point within 120 steps: then every
 * length is a class of its own) and in one with small random weights, whose padding
 * state does reach one, so that classes of several lengths are always tested. */
static void start_classes_share_states(void **state)
{
    (void)state;
    nbs_model *m = unit_shipped_model();
    if (m) printf("  shipped model: %d pairs of lengths share a start state\n", same_start_states(m));
    model_free(m);
    char path[] = "/tmp/nbstage-test-many-XXXXXX";
    unit_make_tmpfile(path);
    struct lstm_params p;
    struct vocab v;
    unit_random_params(&p, 300, 16, 64, 0.05f, urand); /* contracting: a fixed point soon */
    m = make_model(path, &p, &v);
    int shared = same_start_states(m);
    printf("  small random weights: %d pairs of lengths share a start state\n", shared);
    assert_true(shared > 0);
    model_free(m);
    lstm_params_free(&p);
    vocab_free(&v);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kernels_bit_identical),
        cmocka_unit_test(random_h64),
        cmocka_unit_test(random_h64_portable),
        cmocka_unit_test(random_h64_avx2),
        cmocka_unit_test(random_h20),
        cmocka_unit_test(shipped_model_on_corpus_cells),
        cmocka_unit_test(parts_equal_whole),
        cmocka_unit_test(start_classes_share_states),
    };
    return cmocka_run_group_tests_name("model_many", tests, NULL, NULL);
}
