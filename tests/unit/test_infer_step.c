/* test_infer_step.c — the inference step kernels (model/infer_step.c): the AVX-512
 * activations against double over a dense grid, and the AVX-512 step against the
 * portable step and a double-precision step over 120 recurrent steps.
 *
 * Tolerances (stated in infer_step.c): sigmoid 4e-7 relative for |x| <= 40 and 1e-17
 * absolute beyond (the clamp), tanh 4e-7 absolute; the state (h, c) after 120 steps
 * within 2e-6 of the double step, for both kernels.  And the bf16 kernel (weights all
 * bf16 values, packed) gives the fp32 AVX-512 kernel's numbers bit for bit.  The AMX
 * walk is held to the same 2e-6 against double, and to bit-identity with itself; so is
 * the AVX2 walk, whose activations meet the AVX-512 ones' bounds, and the NEON walk of
 * 64-bit ARM, which gives the AVX2 walk's numbers bit for bit (a digest of both, below). */
#include "tests/unit/unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/infer_avx2.h"
#include "model/infer_neon.h"
#include "model/infer_step.h"
#include "model/modelfile.h"

static void check_activations(int (*acts)(const float *, float *, float *, int), const char *what)
{
    enum { N = 16 * 4096 };
    static float x[N], s[N], t[N];
    double worst_s = 0, worst_t = 0, worst_tail = 0;
    for (double from = -60; from < 60; from += N * 1.1e-4) {
        for (int i = 0; i < N; i++) x[i] = (float)(from + i * 1.1e-4);
        if (acts(x, s, t, N)) skip();
        for (int i = 0; i < N; i++) {
            double X = x[i], ws = 1 / (1 + exp(-X)), wt = tanh(X);
            if (fabs(X) <= 40) worst_s = fmax(worst_s, fabs(s[i] - ws) / ws);
            else worst_tail = fmax(worst_tail, fabs(s[i] - ws));
            worst_t = fmax(worst_t, fabs(t[i] - wt));
        }
    }
    /* exact points and the extremes */
    float e[16] = {0, -0.0f, 1e-30f, -1e-30f, 1e-8f, 0.5f, -0.5f, 20, -20, 40, -40, 88, -88, 1e30f, -1e30f, 3};
    if (acts(e, s, t, 16)) skip();
    for (int i = 0; i < 16; i++) {
        double X = e[i], ws = 1 / (1 + exp(-X)), wt = tanh(X);
        if (fabs(X) <= 40) worst_s = fmax(worst_s, fabs(s[i] - ws) / ws);
        else worst_tail = fmax(worst_tail, fabs(s[i] - ws));
        worst_t = fmax(worst_t, fabs(t[i] - wt));
        assert_true(s[i] >= 0 && s[i] <= 1 && t[i] >= -1 && t[i] <= 1);
    }
    printf("%s sigmoid: max rel err %.3g (|x| <= 40), max abs err beyond %.3g; tanh: max abs err %.3g\n",
           what, worst_s, worst_tail, worst_t);
    assert_true(worst_s <= 4e-7);
    assert_true(worst_tail <= 1e-17);
    assert_true(worst_t <= 4e-7);
}

static void activations_match_double(void **state)
{
    (void)state;
    check_activations(infer_acts_avx512, "AVX-512");
}

static void avx2_activations_match_double(void **state)
{
    (void)state;
    check_activations(infer_acts_avx2, "AVX2");
}

static unsigned long long rng = 0x2545F4914F6CDD1Dull;
static float urand(float a)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return a * (2.0f * (float)((rng >> 11) * (1.0 / 9007199254740992.0)) - 1.0f);
}

static void step_double(const float *xg, const float *Wh, double *h, double *c)
{
    double g[256];
    for (int j = 0; j < 256; j++) {
        g[j] = xg[j];
        for (int k = 0; k < 64; k++) g[j] += h[k] * Wh[k * 256 + j];
    }
    for (int j = 0; j < 64; j++) {
        double i = 1 / (1 + exp(-g[j])), f = 1 / (1 + exp(-g[64 + j])), o = 1 / (1 + exp(-g[192 + j]));
        c[j] = f * c[j] + i * tanh(g[128 + j]);
        h[j] = o * tanh(c[j]);
    }
}

/* The largest of WORST and |GOT[j] - WANT[j]|.  A max by comparison, not fmax: GCC 12
 * for aarch64 stops with an internal compiler error vectorising an fmax reduction over
 * float - double differences (tree-vect-loop.cc:7457), so the tests did not build on ARM. */
static double worst_diff(double worst, const float *got, const double *want, int n)
{
    for (int j = 0; j < n; j++) {
        double d = fabs(got[j] - want[j]);
        if (d > worst) worst = d;
    }
    return worst;
}

/* 120 steps of each kernel from the same start: the AVX-512 run in one call and in
 * uneven pieces (its walk direction restarts with each call), the portable run, and
 * the double step. */
static void check_steps(float wscale, float xscale)
{
    static float Wh[64 * 256], table[121 * 256];
    static int ids[120];
    for (int i = 0; i < 64 * 256; i++) Wh[i] = urand(wscale);
    for (int i = 0; i < 121 * 256; i++) table[i] = urand(xscale);
    for (int t = 0; t < 120; t++) ids[t] = 1 + (t * 37) % 120;
    float hp[64] = {0}, cp[64] = {0}, ha[64] = {0}, ca[64] = {0}, hs[64] = {0}, cs[64] = {0};
    double hd[64] = {0}, cd[64] = {0};
    infer_run_fn fast = infer_run_choose(64, 0);
    if (fast == infer_run_portable) skip();
    assert_true(infer_run_choose(64, 1) == infer_run_portable);
    assert_true(infer_run_choose(20, 0) == infer_run_portable);
    for (int t = 0; t < 120; t++) step_double(table + 256 * ids[t], Wh, hd, cd);
    infer_run_portable(table, ids, 120, Wh, 64, hp, cp);
    fast(table, ids, 120, Wh, 64, ha, ca);
    static const int pieces[] = {1, 2, 7, 50, 60};
    for (int i = 0, at = 0; i < 5; at += pieces[i++]) fast(table, ids + at, pieces[i], Wh, 64, hs, cs);
    double worst_a = 0, worst_p = 0, worst_s = 0;
    worst_a = worst_diff(worst_diff(0, ha, hd, 64), ca, cd, 64);
    worst_p = worst_diff(worst_diff(0, hp, hd, 64), cp, cd, 64);
    worst_s = worst_diff(worst_diff(0, hs, hd, 64), cs, cd, 64);
    printf("weights +-%.2f, inputs +-%.1f: max |h, c - double| after 120 steps: avx512 %.3g (in pieces %.3g), portable %.3g\n",
           wscale, xscale, worst_a, worst_s, worst_p);
    assert_true(worst_a <= 2e-6);
    assert_true(worst_s <= 2e-6);
    assert_true(worst_p <= 2e-6);
}

static void avx512_step_matches_portable_and_double(void **state)
{
    (void)state;
    check_steps(0.15f, 1.0f);  /* Keras-like: orthogonal-scale recurrent weights */
    check_steps(0.5f, 4.0f);   /* large: saturated gates, |c| growing */
    check_steps(0.05f, 30.0f); /* inputs past the clamps */
}

/* Weights rounded to bf16 (modelfile_round_bf16), packed: the bf16 walk gives the fp32
 * walk's h and c bit for bit, in one call, one step a call and uneven pieces (odd and
 * even lengths: the walk direction), at three scales; weights not all bf16 values are
 * refused, and so is a hidden size other than 64. */
static void bf16_walk_equals_the_fp32_walk(void **state)
{
    (void)state;
    infer_run_fn fast = infer_run_choose(64, 0), bf16 = infer_run_choose_bf16(64, 0);
    if (!infer_step_have_avx512()) skip(); /* the bf16 walk is AVX-512's */
    assert_non_null(bf16);
    assert_null(infer_run_choose_bf16(64, 1));
    assert_null(infer_run_choose_bf16(32, 0));
    static float Wh[64 * 256], table[121 * 256];
    static uint32_t packed[64 * 128] __attribute__((aligned(64)));
    static int ids[120];
    const float scales[][2] = {{0.15f, 1.0f}, {0.5f, 4.0f}, {0.05f, 30.0f}};
    for (int sc = 0; sc < 3; sc++) {
        for (int i = 0; i < 64 * 256; i++) Wh[i] = urand(scales[sc][0]);
        for (int i = 0; i < 121 * 256; i++) table[i] = urand(scales[sc][1]);
        for (int t = 0; t < 120; t++) ids[t] = 1 + (t * 41 + sc) % 120;
        assert_int_equal(infer_pack_bf16(Wh, 64, packed), -1); /* fp32 weights: refused */
        modelfile_round_bf16(Wh, 64 * 256);
        assert_int_equal(infer_pack_bf16(Wh, 32, packed), -1);
        assert_int_equal(infer_pack_bf16(Wh, 64, packed), 0);
        const float *Wp = (const float *)(const void *)packed;
        static const int lengths[] = {1, 2, 7, 119, 120};
        for (int li = 0; li < 5; li++) {
            int n = lengths[li];
            float hf[64] = {0}, cf[64] = {0}, hb[64] = {0}, cb[64] = {0}, h1[64] = {0}, c1[64] = {0};
            fast(table, ids, n, Wh, 64, hf, cf);
            bf16(table, ids, n, Wp, 64, hb, cb);
            for (int t = 0; t < n; t++) bf16(table, ids + t, 1, Wp, 64, h1, c1);
            float h2[64] = {0}, c2[64] = {0};
            for (int t = 0; t < n; t++) fast(table, ids + t, 1, Wh, 64, h2, c2);
            assert_memory_equal(hf, hb, sizeof hf);
            assert_memory_equal(cf, cb, sizeof cf);
            assert_memory_equal(h1, h2, sizeof h1);
            assert_memory_equal(c1, c2, sizeof c1);
        }
    }
    /* one weight off a bf16 value, anywhere: refused */
    for (int at = 0; at < 64 * 256; at += 4093) {
        float keep = Wh[at];
        Wh[at] = nextafterf(Wh[at], 1.0f);
        assert_int_equal(infer_pack_bf16(Wh, 64, packed), -1);
        Wh[at] = keep;
    }
}

/* A walk's checks at one weight scale: ten cells of 120 down to 3 steps (both
 * parities, so later starts) from random states, walked together by MANY on WALK (the
 * walk's form of WH: packed, or WH itself), each within 2e-6 of the double step on WH
 * (the worst difference is returned), and bit for bit the same alone (ONE), run in two
 * parts cut at steps 1 .. n - 1, and in any slot of calls of 1 to 10 cells. */
enum { WALK_CELLS = 10 };
static double check_walk(infer_run_fn one, infer_many_fn many, const float *walk, const float *table,
                         const float *Wh, int sc)
{
    static int ids[WALK_CELLS][120];
    const int *rows[WALK_CELLS];
    int n[WALK_CELLS];
    float h0[WALK_CELLS][64], c0[WALK_CELLS][64], hg[WALK_CELLS][64], cg[WALK_CELLS][64];
    for (int s = 0; s < WALK_CELLS; s++) {
        n[s] = 120 - 13 * s;
        for (int t = 0; t < n[s]; t++) ids[s][t] = 1 + (t * 37 + 11 * s + sc) % 120;
        rows[s] = ids[s];
        for (int j = 0; j < 64; j++) h0[s][j] = urand(0.5f), c0[s][j] = urand(2.0f);
    }
    memcpy(hg, h0, sizeof hg);
    memcpy(cg, c0, sizeof cg);
    many(table, rows, n, WALK_CELLS, walk, 64, hg[0], cg[0]);
    double worst = 0;
    for (int s = 0; s < WALK_CELLS; s++) {
        double hd[64], cd[64];
        for (int j = 0; j < 64; j++) hd[j] = h0[s][j], cd[j] = c0[s][j];
        for (int t = 0; t < n[s]; t++) step_double(table + 256 * ids[s][t], Wh, hd, cd);
        worst = worst_diff(worst_diff(worst, hg[s], hd, 64), cg[s], cd, 64);
        float h1[64], c1[64];
        memcpy(h1, h0[s], sizeof h1), memcpy(c1, c0[s], sizeof c1);
        one(table, ids[s], n[s], walk, 64, h1, c1);
        assert_memory_equal(h1, hg[s], sizeof h1);
        assert_memory_equal(c1, cg[s], sizeof c1);
        int cut = 1 + (7 * s) % (n[s] - 1); /* 1 .. n - 1, odd and even */
        memcpy(h1, h0[s], sizeof h1), memcpy(c1, c0[s], sizeof c1);
        one(table, ids[s], cut, walk, 64, h1, c1);
        one(table, ids[s] + cut, n[s] - cut, walk, 64, h1, c1);
        assert_memory_equal(h1, hg[s], sizeof h1);
        assert_memory_equal(c1, cg[s], sizeof c1);
    }
    for (int S = 1; S <= WALK_CELLS; S++) { /* calls of every size, the cells in reverse slots */
        const int *r2[WALK_CELLS];
        int n2[WALK_CELLS];
        float h3[WALK_CELLS][64], c3[WALK_CELLS][64];
        for (int i = 0; i < S; i++) {
            int s = S - 1 - i;
            r2[i] = rows[s], n2[i] = n[s];
            memcpy(h3[i], h0[s], sizeof h3[i]), memcpy(c3[i], c0[s], sizeof c3[i]);
        }
        many(table, r2, n2, S, walk, 64, h3[0], c3[0]);
        for (int i = 0; i < S; i++) {
            assert_memory_equal(h3[i], hg[S - 1 - i], sizeof h3[i]);
            assert_memory_equal(c3[i], cg[S - 1 - i], sizeof c3[i]);
        }
    }
    return worst;
}

static const float walk_scales[][2] = {{0.15f, 1.0f}, {0.5f, 4.0f}, {0.05f, 30.0f}};

/* The AMX walk (where the CPU and Linux have AMX; skipped elsewhere), on bf16 weights
 * at three scales: check_walk's checks (each cell within 2e-6 of the double step, as
 * the AVX-512 walk is; bit for bit the same alone, through infer_run_choose_amx's
 * one-cell walk, in any slot of a group of any size, and run in two parts).  fp32
 * weights and H != 64 are refused by the packing. */
static void amx_walk_matches_double_and_itself(void **state)
{
    (void)state;
    _Static_assert((int)INFER_AMX_MAX == (int)WALK_CELLS, "one AMX walk takes the ten cells");
    infer_many_fn amx = infer_many_choose_amx(64, 0);
    infer_run_fn one = infer_run_choose_amx(64, 0);
    if (!amx) skip();
    assert_non_null(one);
    assert_null(infer_many_choose_amx(64, 1));
    assert_null(infer_many_choose_amx(32, 0));
    setenv("NBSTAGE_NO_AMX", "1", 1); /* the user's way back to the AVX-512 walk */
    assert_null(infer_many_choose_amx(64, 0));
    assert_null(infer_run_choose_amx(64, 0));
    unsetenv("NBSTAGE_NO_AMX");
    static float Wh[64 * 256], table[121 * 256];
    static uint16_t packed[16384] __attribute__((aligned(64)));
    for (int sc = 0; sc < 3; sc++) {
        for (int i = 0; i < 64 * 256; i++) Wh[i] = urand(walk_scales[sc][0]);
        for (int i = 0; i < 121 * 256; i++) table[i] = urand(walk_scales[sc][1]);
        assert_int_equal(infer_pack_amx(Wh, 64, packed), -1); /* fp32 weights: refused */
        modelfile_round_bf16(Wh, 64 * 256);
        assert_int_equal(infer_pack_amx(Wh, 32, packed), -1);
        assert_int_equal(infer_pack_amx(Wh, 64, packed), 0);
        double worst = check_walk(one, amx, (const float *)(const void *)packed, table, Wh, sc);
        printf("AMX walk, weights +-%.2f, inputs +-%.1f: max |h, c - double| %.3g\n", walk_scales[sc][0],
               walk_scales[sc][1], worst);
        assert_true(worst <= 2e-6);
    }
}

/* The AVX2 walk (CPUs without AVX-512; NBSTAGE_NO_AVX512 chooses it on one with):
 * chosen as documented, and check_walk's checks at three scales on fp32 weights. */
static void avx2_walk_matches_double_and_itself(void **state)
{
    (void)state;
    if (!infer_avx2_usable()) skip();
    int was_set = getenv("NBSTAGE_NO_AVX512") != NULL; /* (a run as on a CPU without AVX-512) */
    setenv("NBSTAGE_NO_AVX512", "1", 1);
    assert_true(infer_run_choose(64, 0) == infer_run_avx2_h64);
    assert_true(infer_many_choose(64, 0) == infer_many_avx2_h64);
    assert_true(infer_run_choose(64, 1) == infer_run_portable);
    assert_true(infer_run_choose(20, 0) == infer_run_portable);
    assert_null(infer_run_choose_bf16(64, 0));
    assert_null(infer_many_choose_amx(64, 0));
    if (!was_set) unsetenv("NBSTAGE_NO_AVX512");
    static float Wh[64 * 256], table[121 * 256];
    for (int sc = 0; sc < 3; sc++) {
        for (int i = 0; i < 64 * 256; i++) Wh[i] = urand(walk_scales[sc][0]);
        for (int i = 0; i < 121 * 256; i++) table[i] = urand(walk_scales[sc][1]);
        double worst = check_walk(infer_run_avx2_h64, infer_many_avx2_h64, Wh, table, Wh, sc);
        printf("AVX2 walk, weights +-%.2f, inputs +-%.1f: max |h, c - double| %.3g\n", walk_scales[sc][0],
               walk_scales[sc][1], worst);
        assert_true(worst <= 2e-6);
    }
}

/* A digest (FNV-1a over the bits) of what the walk ONE and its batch MANY leave in h and
 * c after walking four cells of 120 down to 21 words over fixed pseudo-random weights,
 * and of the activations ACTS over a grid of 4,096 points from -50 to 50.  The AVX2 and
 * NEON walks do the same fp32 operations in the same order (FMAs in row order, Cephes'
 * exp, IEEE divisions), so their digests are equal; each test below holds its walk to
 * the digest the other one gave.  (Before either walk existed the portable walk, which
 * calls libm, had no such fixed answer.) */
static uint64_t fnv(uint64_t d, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++) d = (d ^ ((const unsigned char *)p)[i]) * 0x100000001b3ull;
    return d;
}
static uint64_t walk_digest(infer_run_fn one, infer_many_fn many, int (*acts)(const float *, float *, float *, int))
{
    static float Wh[64 * 256], table[121 * 256], x[4096], sg[4096], th[4096];
    unsigned long long r = 0x9E3779B97F4A7C15ull;
    for (int i = 0; i < 64 * 256 + 121 * 256; i++) {
        r ^= r << 13; r ^= r >> 7; r ^= r << 17;
        float u = 2.0f * (float)((r >> 40) * (1.0 / 16777216.0)) - 1.0f; /* exact: 24 bits */
        if (i < 64 * 256) Wh[i] = 0.2f * u;
        else table[i - 64 * 256] = 2.0f * u;
    }
    static int ids[4][120];
    const int *rows[4];
    int n[4];
    float h[4][64] = {{0}}, c[4][64] = {{0}}, h1[64] = {0}, c1[64] = {0};
    for (int s = 0; s < 4; s++) {
        n[s] = 120 - 33 * s;
        for (int t = 0; t < n[s]; t++) ids[s][t] = 1 + (t * 53 + 7 * s) % 120;
        rows[s] = ids[s];
    }
    many(table, rows, n, 4, Wh, 64, h[0], c[0]);
    one(table, ids[0], n[0], Wh, 64, h1, c1);
    assert_memory_equal(h1, h[0], sizeof h1);
    for (int i = 0; i < 4096; i++) x[i] = -50.0f + (float)i * (100.0f / 4096.0f);
    assert_int_equal(acts(x, sg, th, 4096), 0);
    uint64_t d = 0xcbf29ce484222325ull;
    d = fnv(d, h, sizeof h), d = fnv(d, c, sizeof c), d = fnv(d, sg, sizeof sg), d = fnv(d, th, sizeof th);
    return d;
}
/* The digest both walks give (the AVX2 walk on an x86-64 host, 2026-12-07; the NEON walk
 * under qemu-aarch64 the same day). */
static const uint64_t VECTOR_WALK_DIGEST = 0x48aed13e1de8ebafull;

static void avx2_walk_gives_the_shared_digest(void **state)
{
    (void)state;
    if (!infer_avx2_usable()) skip();
    uint64_t d = walk_digest(infer_run_avx2_h64, infer_many_avx2_h64, infer_acts_avx2);
    printf("AVX2 walk digest %016llx\n", (unsigned long long)d);
    assert_int_equal(d, VECTOR_WALK_DIGEST);
}

/* The NEON walk (64-bit ARM; `make test-arm` runs it under qemu-user): chosen as
 * documented, its activations within the AVX-512 ones' bounds, check_walk's checks at
 * three scales, and the AVX2 walk's numbers bit for bit. */
static void neon_walk_matches_double_itself_and_avx2(void **state)
{
    (void)state;
    if (!infer_neon_usable()) skip();
    assert_true(infer_run_choose(64, 0) == infer_run_neon_h64);
    assert_true(infer_many_choose(64, 0) == infer_many_neon_h64);
    assert_true(infer_run_choose(64, 1) == infer_run_portable);
    assert_true(infer_many_choose(64, 1) == infer_many_portable);
    assert_true(infer_run_choose(20, 0) == infer_run_portable);
    check_activations(infer_acts_neon, "NEON");
    static float Wh[64 * 256], table[121 * 256];
    for (int sc = 0; sc < 3; sc++) {
        for (int i = 0; i < 64 * 256; i++) Wh[i] = urand(walk_scales[sc][0]);
        for (int i = 0; i < 121 * 256; i++) table[i] = urand(walk_scales[sc][1]);
        double worst = check_walk(infer_run_neon_h64, infer_many_neon_h64, Wh, table, Wh, sc);
        printf("NEON walk, weights +-%.2f, inputs +-%.1f: max |h, c - double| %.3g\n", walk_scales[sc][0],
               walk_scales[sc][1], worst);
        assert_true(worst <= 2e-6);
    }
    uint64_t d = walk_digest(infer_run_neon_h64, infer_many_neon_h64, infer_acts_neon);
    printf("NEON walk digest %016llx\n", (unsigned long long)d);
    assert_int_equal(d, VECTOR_WALK_DIGEST);
}

/* Round to nearest, ties to even, on the bits; infinities and NaN kept. */
static void round_bf16_to_nearest_even(void **state)
{
    (void)state;
    uint32_t in[] = {0x3F800000u, 0x3F808000u, 0x3F818000u, 0x3F807FFFu, 0x3F808001u, 0x7F7FFFFFu,
                     0x7F800000u, 0xFF800000u, 0x7FC00001u, 0x00000001u, 0x80000000u};
    uint32_t want[] = {0x3F800000u, 0x3F800000u, 0x3F820000u, 0x3F800000u, 0x3F810000u, 0x7F800000u,
                       0x7F800000u, 0xFF800000u, 0x7FC00000u, 0x00000000u, 0x80000000u};
    float f[11];
    memcpy(f, in, sizeof f);
    modelfile_round_bf16(f, 11);
    for (int i = 0; i < 11; i++) {
        uint32_t got;
        memcpy(&got, f + i, sizeof got);
        if (i == 8) assert_true(isnan(f[i]));
        else assert_int_equal(got, want[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(activations_match_double),
        cmocka_unit_test(avx2_activations_match_double),
        cmocka_unit_test(avx2_walk_matches_double_and_itself),
        cmocka_unit_test(avx2_walk_gives_the_shared_digest),
        cmocka_unit_test(neon_walk_matches_double_itself_and_avx2),
        cmocka_unit_test(avx512_step_matches_portable_and_double),
        cmocka_unit_test(bf16_walk_equals_the_fp32_walk),
        cmocka_unit_test(round_bf16_to_nearest_even),
        cmocka_unit_test(amx_walk_matches_double_and_itself),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
