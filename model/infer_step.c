/* infer_step.c — the LSTM step of single-cell inference (see infer_step.h).
 *
 * The AVX-512 step (H = 64) is what one-cell latency is made of: 120 of them per cell.
 * Per step it does 1,024 16-wide FMAs (h·Wh, 64 KB of weights) and 20 16-wide
 * exponentials.  Measured on the Sapphire Rapids here (rdtsc, 2.1 GHz TSC, best of
 * many, real model weights): ~750 TSC ticks a step now (was ~1,000, then ~830 before
 * the table exp below); with the old exp, the same code without the gate math ~640, and with Wh shrunk to fit L1 ~690: the rest of Wh
 * streaming from L2 each step (it is 64 KB, L1 is 48 KB) costs ~20%, and exact fp32
 * weights cannot avoid it.  The gate math spends ~36% fewer uops than the first
 * version (Cephes expf, one reciprocal per activation, 2-uop roundscale): 69 per 16
 * hidden units, 276 a step (was 81 and 324 before the table exp, 2026-11-29):
 *   - exp as 2^floor(n) * 2^(j/32) * e^r: n = kx/ln2 rounded to 1/32 by the
 *     1.5*2^18 rounding trick, whose low mantissa bits index a 32-entry table of
 *     2^(j/32) (two registers, one vpermi2ps on p5), |r| <= ln2/64 with one fp32 ln2,
 *     e^r - 1 by a degree-3 minimax polynomial (rel. error 7e-11), reconstruction by
 *     vscalefps: 10 uops (rel. error 1.1e-7 for |kx| <= 1, 1.4e-7 to 10, 2.2e-7 at 40);
 *   - the argument clamp is one vrangeps (|x| limited, sign kept);
 *   - the sign/doubling of the argument (e^-x for sigmoid, e^2x for tanh) is folded
 *     into the constants;
 *   - one reciprocal (rcp14 + a Newton step) serves a product of two activations:
 *     i*tanh(g) = (e^2g - 1) / ((1 + e^-i)(1 + e^2g)), and likewise o*tanh(c); the
 *     product (1 + a)(1 + b) is one FMA, (1 + a) * b + (1 + a).
 * Accuracy against double (test_infer_step): sigmoid 2.9e-7 relative, tanh 2.4e-7
 * absolute (tanh near 0 loses relative accuracy to the e^2x - 1 cancellation, as
 * before); 120 steps within 1.1e-7 to 4.4e-7 of the double step.
 * The table exp (2026-11-29; in-process interleaved A/B, shipped weights, 64 cells x
 * 120 steps, 2,000 interleaved runs a round, 5 rounds, TSC ticks a step, min): one
 * cell 742-757 against 808-825 for the degree-6 exp (-8%), four cells 557-575 against
 * 607-620 a cell-step (-8%).  It changes the numbers (h within 6e-7, c within 1.9e-6
 * of the old kernel over 2,000 random cells of the shipped model; the 949 dev cells'
 * stages and 4-decimal probabilities the same).  Variants measured in the same A/B:
 * the old exp with a degree-5 polynomial (11 uops, rel. error 2e-7; without the FMA
 * products): 786-799 (-3%), 769-780 (-5%) with one fp32 ln2 (10 uops);
 * the table with a degree-2 polynomial (9 uops, rel. error 1.9e-7, sigmoid 3.1e-7):
 * 730-743 (-10%), but the model shipped then had its padding state cycle with period 2
 * instead of reaching a fixed point (test_model_many; the shared start states of
 * model_start_class need it; with the degree-3 polynomial it is reached after ~55
 * steps, as before); the table with a two-part ln2 (10 uops with the degree-2
 * polynomial): 747-761 (-7.5%), period 4.  Of the 8%, the FMA products (8 uops a step)
 * give ~1%.
 * Clamps: e^-x for |x| <= 40 and e^2x for |x| <= 20 keep the products below 1e35, so
 * the reciprocal never sees infinity or a denormal result; outside, sigmoid and tanh are
 * within 5e-18 of their limits.
 * And h stays in registers from step to step, h[k] spread to 16 lanes by vpermps (see
 * ROW16), and the last rows of a walk are split so that gates overlap FMAs (ROW8).
 * Tried and dropped (slower or no faster, measured): software prefetch of Wh rows or
 * of the next table row, a fixed L1-resident part of Wh with the rest streamed,
 * cldemote (traps in this VM: 6x slower), fp16-stored Wh through vcvtph2ps (1.8x
 * slower: the conversions compete with the FMAs for ports; h off by 1.5e-3),
 * bf16 Wh and h with vdpbf16ps (no faster, h off by 3e-2 after 120 steps), Estrin's
 * scheme for the polynomial, broadcast indices from a table, huge pages for the table;
 * the degree-6 exp on [-ln2/2, ln2/2] with a two-part ln2 (12 uops, rel. error 7e-8;
 * the kernel until 2026-11-29): 8% slower than the table exp (above).
 * Also (in-process interleaved A/B, same sums bit for bit, TSC ticks a step, best):
 * Wh stored block-major (a row's 16 lines in one L1 set, so that with LRU a walk's
 * misses spread evenly), with or without a row's 16 loads reversed on alternate
 * steps: same; h[k]
 * broadcast from memory for the rows whose h was finished a block earlier (half the
 * vpermps/vpbroadcastd pairs): +2%; the split walk over the last 32 rows: +5%; split
 * 3+1 or 1+1+1+1 gate blocks instead of 2+2: +20% and +30% (spills); the same table
 * row for every step: same (the table gather costs nothing measurable); the last two
 * gate blocks of a step computed in 14 stages between the next step's first 16 rows
 * (software pipelining, so the gate uops do not pile up behind the FMAs): +2%.
 * Where the ~850-900 ticks went before the table exp (this and every measurement
 * below predate it; this VM: 1 TSC tick = ~1.24 core cycles by an
 * imul chain, 2.47 16-wide FMAs a tick): 1,024 FMAs need 512 cycles; with the 128
 * broadcast uops and ~324 gate uops on the same two ports, ~740 cycles (~600 ticks)
 * is the port bound.  The parts: without the gate math and with Wh shrunk to 32 KB,
 * ~510 ticks (90% of its bound); gates add ~230 ticks (~120 beyond their port share,
 * but not from their ~150-cycle latency chain: see below); Wh beyond L1 adds ~115, and
 * the cost follows the bytes refilled, not their order (no gates: 32 KB 571, 40 KB
 * 588, 48 KB 620, 52 KB 665, 56 KB 715, 60 KB 721 ticks), ~0.4 ticks a refilled line
 * with at least 256 lines a step.  h·Wh runs at ~47% of FMA peak (~79 of ~166 GFLOP/s).
 * The gate latency is already hidden (same A/B, 3 rounds of 1,500 interleaved 120-step
 * cells, time over this kernel's, min and p10): with step t+1 not depending on step
 * t's gates at all (h frozen, the gates still computed and kept live) the step is no
 * faster (1.01-1.06, 1.01-1.02): out-of-order execution overlaps the gate chains with
 * the next step's rows, and the gates cost uops, not latency.  Accordingly, carrying
 * the last two gate blocks in registers into the next step and computing them in 14
 * stages between its first 16 rows (bit-identical): 1.01-1.04 (GCC spills ~45-95 zmm
 * registers in the loop); the same with the next step's first 16 rows as two ROW8
 * passes (8 sums live, not 16): 1.00-1.02, and 1.01-1.02 (2 rounds) with every gate
 * constant read from memory, none held in a register.  Also no faster: the vpermps index
 * from memory instead of a vpbroadcastd from a register (half the p5 broadcast uops):
 * 1.02 by vpbroadcastd m32, 1.04 by a 64-byte index load (the load ports are the other
 * bound); h[k] by vbroadcastss from a stored copy of h on every row (no vpermps):
 * 0.97-1.02; the gate constants as {1to16} operands instead of 64-byte constants: 1.01
 * (2 rounds); the k loops fully unrolled: GCC spills (~1,900 zmm moves).  No
 * bit-identical way to fewer gate uops was found (the rounding trick, the two-part ln2
 * and rcp14 + Newton each fix their result bits); the gates' ~324 uops a step were
 * what was left to cut, and the table exp above cut them to 276, not bit-identically
 * (~70 ticks a step: the gates now cost ~160).
 * The bf16 walk (run_bf16_avx512_h64, 2026-12-06, the AMD Zen 4 VM, whose L1 is 32 KB):
 * when every weight of Wh is a bf16 value (a model written by `train --round-recurrent`;
 * the loader checks), Wh is packed two weights to a 32-bit lane, 32 KB, and each 64-byte
 * load gives two registers of fp32 weights by a shift and a mask: the same FMAs on the
 * same values, bit for bit (test_infer_step), from a matrix that stays in L1.  Unlike
 * fp16 through vcvtph2ps above, the widening is two integer uops, which Zen 4 issues
 * beside the FMAs.  Measured (TSC ticks a step, p50, bench_infer's interleaved series,
 * shipped weights): 982-1,185 -> 650-728; one cell from text, p50 46.5-56.3 us ->
 * 31.4-35.5 us (four alternating runs); in a microbenchmark of the step alone, with
 * nothing else touching L1, p50 707-740 -> 568-591 (the minimum the same, ~540: the
 * gain is the L1 misses, which the f32 walk suffers most when anything else ran
 * between cells).  The same packing for the several-cell kernel (two packed loads a
 * row and quarter instead of four): bit-identical, but no faster (batch of 4 cells a
 * walk: 29,300-36,700 seq/s against 32,400-36,100 on 1 thread; `tag -j 2` in memory
 * 1.81-2.19 s against 1.88-2.30 s, three alternating runs each): each row's loads
 * there already feed 16 FMAs, so it was not held up by them; not kept.
 * Tried and dropped for the several-cell kernel (2026-11-29, an Emerald Rapids VM): a
 * 256-bit twin (EVEX ymm: per lane the same vrangeps, vscalefps, vrcp14ps and FMAs,
 * column eighths where run_many_avx512_h64 has quarters, 16 sums in registers), chosen
 * by NBSTAGE_VECTOR_WIDTH or a start-up calibration.  It is bit-identical (unit test
 * on S = 1..4 cells of unequal lengths, random and real weights, also under ASan/UBSan;
 * `nbstage tag` output byte for byte the same) but slower: it was meant for hosts whose
 * 512-bit FMAs run at under half the 256-bit rate, and this host is not one.  The
 * reading that it was (0.65 zmm vs 2.1-2.4 ymm FMAs a tick) came from a benchmark that
 * kept its 16 sums in memory, one 64-byte store per FMA; with the sums in registers
 * both widths issue ~1.5-2.5 FMAs a tick here, so zmm does twice the lanes.  Measured:
 * the kernel alone (real weights, 4 cells x 120 steps, best of 50 interleaved, 6 runs)
 * 3,424-3,839 TSC ticks a step at 512 bits, 5,017-5,365 at 256; bench_infer's
 * batch_many_threads_1 (4 alternating runs, median) 16,131 vs 9,808 seq/s; `nbstage
 * tag -j 2` on tmpfs (3 alternating runs, median) 1.80 vs 2.10 s wall, 3.28 vs 3.96 s
 * user+sys.  The calibration itself (5 rounds of 16-step walks) cost ~0.5-0.65 ms.
 * Also tried and dropped (2026-11-29, same VM): kernels with one cell per lane (16 or
 * 32 cells a walk; a column's sums for all cells in one or two registers, each weight
 * one broadcast load feeding 1-2 FMAs, h kept transposed, the input sums gathered, Wh
 * rearranged into 2 KB blocks: read in place at its 1 KB row stride, a block's 256
 * lines fell into 16 L1 sets and missed).  Bit-identical, but 821-849 TSC ticks a
 * cell-step at 32 lanes against 673-707 for run_many_avx512_h64 (microbenchmark, 32
 * cells x 120 steps, best of 30): its FMAs ran at their bound (45% of the time), the
 * gates took 31% and vgatherdps 22%.  Both designs have the same bound, 1,024 FMAs and
 * ~324 gate uops a cell-step on the two FMA ports (~540 ticks), and the four-cell
 * kernel already runs at ~80% of it.
 */
#include "model/infer_step.h"
#include "model/infer_avx2.h"
#include "model/infer_neon.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* ------------------------------------------------------------------ portable */

static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* The new state from the finished gate sums G. */
static void gates_portable(const float *g, int H, float *h, float *c)
{
    for (int j = 0; j < H; j++) {
        float i = sigmoidf(g[j]), f = sigmoidf(g[H + j]), cc = tanhf(g[2 * H + j]),
              o = sigmoidf(g[3 * H + j]);
        c[j] = f * c[j] + i * cc;
        h[j] = o * tanhf(c[j]);
    }
}

static void step_portable(const float *xg, const float *Wh, int H, float *h, float *c)
{
    int G = 4 * H;
    float g[4 * 1024];
    memcpy(g, xg, (size_t)G * sizeof *g);
    for (int k = 0; k < H; k++) {
        float hk = h[k];
        const float *w = Wh + (size_t)k * G;
        for (int j = 0; j < G; j++) g[j] += hk * w[j];
    }
    gates_portable(g, H, h, c);
}

void infer_run_portable(const float *table, const int *ids, int n, const float *Wh, int H, float *h, float *c)
{
    for (int t = 0; t < n; t++) step_portable(table + (size_t)ids[t] * 4 * H, Wh, H, h, c);
}

/* Each row of Wh is applied to every started cell before the next row: the same
 * additions per sum, in the same order, as step_portable. */
void infer_many_portable(const float *table, const int *const *ids, const int *n, int S, const float *Wh, int H,
                         float *h, float *c)
{
    int G = 4 * H, maxn = 0;
    float g[INFER_MANY_MAX][4 * 1024]; /* 64 KB at H = 1024 */
    for (int s = 0; s < S; s++) if (n[s] > maxn) maxn = n[s];
    for (int step = 0; step < maxn; step++) {
        int on[INFER_MANY_MAX];
        for (int s = 0; s < S; s++) {
            int t = step - (maxn - n[s]); /* ends aligned: a shorter cell starts later */
            on[s] = t >= 0;
            if (on[s]) memcpy(g[s], table + (size_t)ids[s][t] * G, (size_t)G * sizeof *g[s]);
        }
        for (int k = 0; k < H; k++) {
            const float *w = Wh + (size_t)k * G;
            for (int s = 0; s < S; s++) {
                if (!on[s]) continue;
                float hk = h[(size_t)s * H + k];
                for (int j = 0; j < G; j++) g[s][j] += hk * w[j];
            }
        }
        for (int s = 0; s < S; s++)
            if (on[s]) gates_portable(g[s], H, h + (size_t)s * H, c + (size_t)s * H);
    }
}

void infer_many_in_threes(infer_walk_one_fn one, infer_walk_three_fn three, const float *table,
                          const int *const *ids, const int *n, int S, const float *Wh, float *h, float *c)
{
    int s = 0;
    for (; s + 3 <= S; s += 3) {
        int together = n[s] < n[s + 1] ? n[s] : n[s + 1];
        if (n[s + 2] < together) together = n[s + 2];
        const int *rest[3];
        float *hp[3], *cp[3];
        for (int i = 0; i < 3; i++) {
            hp[i] = h + 64 * (s + i), cp[i] = c + 64 * (s + i);
            one(table, ids[s + i], n[s + i] - together, Wh, hp[i], cp[i]);
            rest[i] = ids[s + i] + (n[s + i] - together);
        }
        three(table, rest, together, Wh, hp, cp);
    }
    for (; s < S; s++) one(table, ids[s], n[s], Wh, h + 64 * s, c + 64 * s);
}

/* ------------------------------------------------------------------ AVX-512, H = 64 */

#if defined(__x86_64__)
#define AVX512 __attribute__((target("avx512f,avx512dq")))
#define K(x) _mm512_set1_ps(x)
/* GCC leaves gates16 out of line (4 calls), passing the sums through the stack: ~10%. */
#define ALWAYS_INLINE __attribute__((always_inline))

/* 2^(j/32), j = 0..31: two registers, one vpermi2ps picks a lane's entry. */
static const float exp2_32[32] __attribute__((aligned(64))) = {
    1.000000000e+00f, 1.021897149e+00f, 1.044273782e+00f, 1.067140401e+00f,
    1.090507733e+00f, 1.114386743e+00f, 1.138788635e+00f, 1.163724859e+00f,
    1.189207115e+00f, 1.215247360e+00f, 1.241857812e+00f, 1.269050957e+00f,
    1.296839555e+00f, 1.325236643e+00f, 1.354255547e+00f, 1.383909882e+00f,
    1.414213562e+00f, 1.445180807e+00f, 1.476826146e+00f, 1.509164428e+00f,
    1.542210825e+00f, 1.575980845e+00f, 1.610490332e+00f, 1.645755478e+00f,
    1.681792831e+00f, 1.718619298e+00f, 1.756252160e+00f, 1.794709075e+00f,
    1.834008086e+00f, 1.874167634e+00f, 1.915206561e+00f, 1.957144124e+00f};

/* e^-x (DOUBLE = 0, |x| clamped to 40) or e^2x (DOUBLE = 1, |x| clamped to 20), as
 * 2^floor(n) * 2^(j/32) * e^r: n = kx/ln2 rounded to a multiple of 1/32 (k = -1 or 2),
 * j its fraction's 32nds, |r| <= ln2/64.  10 uops; relative error 1.1e-7 for |kx| <= 1,
 * 1.4e-7 to 10, 2.2e-7 at 40 (the rest from ln2's fp32 rounding times n). */
AVX512 ALWAYS_INLINE static inline __m512 exp_neg_or_double(__m512 x, int dbl)
{
    const __m512 magic = K(393216.0f); /* 1.5 * 2^18: adding it rounds to a multiple of 1/32 */
    x = _mm512_range_ps(x, K(dbl ? 20.0f : 40.0f), 2); /* min(|x|, lim), sign of x */
    __m512 y = _mm512_fmadd_ps(x, K(dbl ? 2.88539008177792681f : -1.44269504088896341f), magic);
    __m512 n = _mm512_sub_ps(y, magic); /* y's low 5 mantissa bits are j */
    /* r = kx - n*ln2 (for e^2x, r/2, and the coefficients carry the powers of 2) with
     * one fp32 ln2 (off by 1.9e-9): a two-part (Cody-Waite) ln2 would cost a uop to
     * gain 1e-7 at |kx| = 40 only. */
    __m512 r = dbl ? _mm512_fnmadd_ps(n, K(0.693147180559945309f * 0.5f), x)
                   : _mm512_fnmsub_ps(n, K(0.693147180559945309f), x); /* -x - n*ln2 */
    const float s = dbl ? 2.0f : 1.0f;
    __m512 t = _mm512_permutex2var_ps(_mm512_load_ps(exp2_32), _mm512_castps_si512(y), _mm512_load_ps(exp2_32 + 16));
    /* e^r - 1 by a degree-3 minimax polynomial, r * (c1 + c2 r + c3 r^2) (relative
     * error 7e-11), and t * e^r as t + t * (e^r - 1) */
    __m512 q = _mm512_fmadd_ps(K(1.666656853910e-01f * s * s * s), r, K(5.000049069490e-01f * s * s));
    q = _mm512_mul_ps(_mm512_fmadd_ps(q, r, K(1.000000000159e+00f * s)), r);
    return _mm512_scalef_ps(_mm512_fmadd_ps(t, q, t), n);
}

/* 1/d: a 14-bit estimate and one Newton step (a division costs as much as an exp). */
AVX512 ALWAYS_INLINE static inline __m512 recip(__m512 d)
{
    __m512 r = _mm512_rcp14_ps(d);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, K(2.0f)));
}

/* The new h of hidden units 16Q..16Q+15 from the finished sums A; C is updated. */
AVX512 ALWAYS_INLINE static inline __m512 gates16(const __m512 *a, int q, float *c)
{
    const __m512 one = K(1.0f);
    __m512 ei = exp_neg_or_double(a[q], 0), ef = exp_neg_or_double(a[4 + q], 0);
    __m512 eg = exp_neg_or_double(a[8 + q], 1), eo = exp_neg_or_double(a[12 + q], 0);
    /* (1 + a)(1 + b) as one FMA: (1 + a) * b + (1 + a) */
    __m512 ei1 = _mm512_add_ps(ei, one), eo1;
    __m512 ic = _mm512_mul_ps(_mm512_sub_ps(eg, one), recip(_mm512_fmadd_ps(ei1, eg, ei1)));
    __m512 cn = _mm512_fmadd_ps(recip(_mm512_add_ps(ef, one)), _mm512_loadu_ps(c + 16 * q), ic);
    __m512 ec = exp_neg_or_double(cn, 1);
    _mm512_storeu_ps(c + 16 * q, cn);
    eo1 = _mm512_add_ps(eo, one);
    return _mm512_mul_ps(_mm512_sub_ps(ec, one), recip(_mm512_fmadd_ps(eo1, ec, eo1)));
}

/* The 256 gate sums live in 16 registers for the whole product (the loops must be
 * unrolled, or the sums go through the stack: 4x slower).  h stays in 4 registers from
 * step to step (the steps run in one call), and h[k] reaches all lanes by a vpermps;
 * broadcast loads of h[k] from memory stalled on store forwarding from the previous
 * step's 64-byte stores (18% of the step), and a call per step cost another ~4%.  Wh is 64 KB, more than L1 (48 KB
 * here): walking its rows forwards on one step and backwards on the next finds the
 * rows used last still in L1, where a cyclic walk evicts each one just before its
 * reuse (~1.35x slower).  The next step starts on the rows of the hidden units
 * finished first, so the gates are computed in the order the next walk reads them. */
#define ROW16(q, k)                                                                     \
    do {                                                                                \
        __m512 hk = _mm512_permutexvar_ps(_mm512_set1_epi32(k), hv[q]);                 \
        if (bf16) { /* 8 loads of 32 packed weights, each widened to 2 registers */     \
            const uint32_t *w = Wp + 128 * (16 * (q) + (k));                            \
            _Pragma("GCC unroll 8") for (int m = 0; m < 8; m++) {                       \
                __m512i x = _mm512_loadu_si512(w + 16 * m);                             \
                a[2 * m] = _mm512_fmadd_ps(hk, _mm512_castsi512_ps(_mm512_slli_epi32(x, 16)), a[2 * m]); \
                a[2 * m + 1] = _mm512_fmadd_ps(hk, _mm512_castsi512_ps(_mm512_and_si512(x, hi16)), a[2 * m + 1]); \
            }                                                                           \
        } else {                                                                        \
            const float *w = Wh + 256 * (16 * (q) + (k));                               \
            _Pragma("GCC unroll 16") for (int j = 0; j < 16; j++)                       \
                a[j] = _mm512_fmadd_ps(hk, _mm512_loadu_ps(w + 16 * j), a[j]);          \
        }                                                                               \
    } while (0)

/* Row K of h-block QH, columns of gate blocks Q and Q+1 only (8 sums, 8 FMA chains:
 * still two FMAs a cycle; Q even, so with bf16 the two blocks are one packed pair). */
#define ROW8(qh, k, q)                                                                  \
    do {                                                                                \
        __m512 hk = _mm512_permutexvar_ps(_mm512_set1_epi32(k), hv[qh]);                \
        if (bf16) {                                                                     \
            const uint32_t *w = Wp + 128 * (16 * (qh) + (k));                           \
            _Pragma("GCC unroll 4") for (int g = 0; g < 16; g += 4) {                   \
                __m512i x = _mm512_loadu_si512(w + 8 * (g + q));                        \
                a[g + q] = _mm512_fmadd_ps(hk, _mm512_castsi512_ps(_mm512_slli_epi32(x, 16)), a[g + q]); \
                a[g + q + 1] = _mm512_fmadd_ps(hk, _mm512_castsi512_ps(_mm512_and_si512(x, hi16)), a[g + q + 1]); \
            }                                                                           \
        } else {                                                                        \
            const float *w = Wh + 256 * (16 * (qh) + (k));                              \
            _Pragma("GCC unroll 2") for (int b = q; b < q + 2; b++)                     \
                _Pragma("GCC unroll 4") for (int g = 0; g < 16; g += 4)                 \
                    a[g + b] = _mm512_fmadd_ps(hk, _mm512_loadu_ps(w + 16 * (g + b)), a[g + b]); \
        }                                                                               \
    } while (0)

/* The last 16 rows of each walk first finish the columns of the two gate blocks the
 * next walk reads first; their gates then run beside the other columns' FMAs, and the
 * next step can start before the last two blocks' gates are done (~4%). */
AVX512 ALWAYS_INLINE static inline void walk_avx512_h64(const float *table, const int *ids, int n, const float *Wh,
                                                        float *h, float *c, int bf16)
{
    const uint32_t *Wp = (const uint32_t *)(const void *)Wh; /* with BF16: infer_pack_bf16's array */
    const __m512i hi16 = _mm512_set1_epi32((int)0xFFFF0000u);
    __m512 hv[4], hn[4];
    _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) hv[q] = _mm512_loadu_ps(h + 16 * q);
    for (int t = 0; t < n; t++) {
        const float *xg = table + 256 * (size_t)ids[t];
        __m512 a[16];
        _Pragma("GCC unroll 16") for (int j = 0; j < 16; j++) a[j] = _mm512_loadu_ps(xg + 16 * j);
        if (t & 1) { /* backwards; the next walk is forwards: hidden units 0..31 first */
            _Pragma("GCC unroll 3") for (int q = 3; q >= 1; q--) for (int k = 15; k >= 0; k--) ROW16(q, k);
            for (int k = 15; k >= 0; k--) ROW8(0, k, 0);
            hn[0] = gates16(a, 0, c); hn[1] = gates16(a, 1, c);
            for (int k = 15; k >= 0; k--) ROW8(0, k, 2);
            hn[2] = gates16(a, 2, c); hn[3] = gates16(a, 3, c);
        } else { /* forwards; backwards next: units 32..63 first */
            _Pragma("GCC unroll 3") for (int q = 0; q < 3; q++) for (int k = 0; k < 16; k++) ROW16(q, k);
            for (int k = 0; k < 16; k++) ROW8(3, k, 2);
            hn[3] = gates16(a, 3, c); hn[2] = gates16(a, 2, c);
            for (int k = 0; k < 16; k++) ROW8(3, k, 0);
            hn[1] = gates16(a, 1, c); hn[0] = gates16(a, 0, c);
        }
        /* hn, not hv, above: the last rows still read the old h */
        _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) hv[q] = hn[q];
    }
    _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) _mm512_storeu_ps(h + 16 * q, hv[q]);
}

AVX512 static void run_avx512_h64(const float *table, const int *ids, int n, const float *Wh, int H,
                                  float *h, float *c)
{
    (void)H;
    walk_avx512_h64(table, ids, n, Wh, h, c, 0);
}

/* The single-cell walk over Wh stored as bf16 pairs (infer_pack_bf16): each 64-byte
 * load carries 32 weights, widened to two registers of fp32 by a shift and a mask
 * (integer uops, off the FMA ports on Zen 4).  Wh is then 32 KB instead of 64 and
 * stays in L1 where it streamed from L2.  The weights are the same fp32 values, the
 * sums the same, in the same order: bit-identical to run_avx512_h64 on Wh. */
AVX512 static void run_bf16_avx512_h64(const float *table, const int *ids, int n, const float *Wpacked, int H,
                                       float *h, float *c)
{
    (void)H;
    walk_avx512_h64(table, ids, n, Wpacked, h, c, 1);
}

/* Four cells together: per step, for each quarter of the 256 gate columns, the 4 x 4
 * sums (4 cells x 4 registers of 16 columns) stay in 16 registers over all 64 rows
 * of Wh, and each row's 4 loads feed 16 FMAs (h[s][k] broadcast from memory) —
 * a single cell's step needs one load per FMA.  Wh's rows are walked in the direction
 * the single-cell version would walk them for these cells (same sums, same order);
 * the gates are gates16, as there.  Cells not yet started compute on row 0 and keep
 * their state (their start is at most a few steps away after sorting by length). */
#define MANY_NS 4
AVX512 static void run_many_avx512_h64(const float *table, const int *const *ids, const int *n, int S,
                                       const float *Wh, int H, float *h, float *c)
{
    float hs[MANY_NS][64] __attribute__((aligned(64))), cs[MANY_NS][64] __attribute__((aligned(64)));
    float sums[MANY_NS][256] __attribute__((aligned(64)));
    int start[MANY_NS], maxn = 0;
    (void)H;
    for (int s = 0; s < S; s++) if (n[s] > maxn) maxn = n[s];
    for (int s = 0; s < MANY_NS; s++) {
        if (s < S) {
            memcpy(hs[s], h + 64 * s, sizeof hs[s]);
            memcpy(cs[s], c + 64 * s, sizeof cs[s]);
        } else {
            memset(hs[s], 0, sizeof hs[s]);
            memset(cs[s], 0, sizeof cs[s]);
        }
        start[s] = s < S ? maxn - n[s] : maxn; /* the unused slots never start */
    }
    for (int step = 0; step < maxn; step++) {
        const float *xg[MANY_NS];
        int back = 0;
        for (int s = 0; s < MANY_NS; s++) {
            int t = step - start[s];
            xg[s] = t >= 0 ? table + 256 * (size_t)ids[s][t] : table;
            if (t >= 0) back = t & 1;
        }
        _Pragma("GCC unroll 1") for (int cq = 0; cq < 4; cq++) {
            __m512 acc[MANY_NS][4];
            _Pragma("GCC unroll 4") for (int s = 0; s < MANY_NS; s++)
                _Pragma("GCC unroll 4") for (int b = 0; b < 4; b++)
                    acc[s][b] = _mm512_loadu_ps(xg[s] + 64 * cq + 16 * b);
            const float *wq = Wh + 64 * cq;
#define MANY_ROW(k)                                                                             \
    do {                                                                                        \
        const float *w = wq + 256 * (k);                                                        \
        __m512 w0 = _mm512_loadu_ps(w), w1 = _mm512_loadu_ps(w + 16), w2 = _mm512_loadu_ps(w + 32), \
               w3 = _mm512_loadu_ps(w + 48);                                                    \
        _Pragma("GCC unroll 4") for (int s = 0; s < MANY_NS; s++) {                             \
            __m512 hk = _mm512_set1_ps(hs[s][k]);                                               \
            acc[s][0] = _mm512_fmadd_ps(hk, w0, acc[s][0]);                                     \
            acc[s][1] = _mm512_fmadd_ps(hk, w1, acc[s][1]);                                     \
            acc[s][2] = _mm512_fmadd_ps(hk, w2, acc[s][2]);                                     \
            acc[s][3] = _mm512_fmadd_ps(hk, w3, acc[s][3]);                                     \
        }                                                                                       \
    } while (0)
            if (back) {
                _Pragma("GCC unroll 2") for (int k = 63; k >= 0; k--) MANY_ROW(k);
            } else {
                _Pragma("GCC unroll 2") for (int k = 0; k < 64; k++) MANY_ROW(k);
            }
#undef MANY_ROW
            _Pragma("GCC unroll 4") for (int s = 0; s < MANY_NS; s++)
                _Pragma("GCC unroll 4") for (int b = 0; b < 4; b++)
                    _mm512_store_ps(sums[s] + 64 * cq + 16 * b, acc[s][b]);
        }
        for (int s = 0; s < MANY_NS; s++) {
            if (step < start[s]) continue;
            __m512 a[16];
            _Pragma("GCC unroll 16") for (int j = 0; j < 16; j++) a[j] = _mm512_load_ps(sums[s] + 16 * j);
            __m512 hn[4];
            _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) hn[q] = gates16(a, q, cs[s]);
            _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) _mm512_store_ps(hs[s] + 16 * q, hn[q]);
        }
    }
    for (int s = 0; s < S; s++) {
        memcpy(h + 64 * s, hs[s], sizeof hs[s]);
        memcpy(c + 64 * s, cs[s], sizeof cs[s]);
    }
}


/* ------------------------------------------------------------------ AMX, H = 64 */

/* Several cells' recurrent sums on the AMX tile unit (Sapphire Rapids and later), for
 * recurrent weights that are all bf16 values (the shipped model's: `train
 * --round-recurrent`).  A tile product multiplies bf16 by bf16 into fp32 sums; h is
 * fp32, so each h is split exactly into three bf16 parts, h = h1 + h2 + h3 (the top 8
 * significant bits, the next 8, the rest: 24 in all), and a cell takes three rows of
 * the left tile.  The products of bf16 values are exact in fp32; what differs from the
 * AVX-512 walk is only where the sums round (three partial sums of 64 products each,
 * added to the input sums at the end, where the walk does one FMA chain): ~1e-7, as
 * between any two orders of the same sum (test_infer_step checks the AMX walk against
 * a double reference with the AVX-512 walk's tolerance).  A cell's numbers depend on
 * nothing but its own state and words (not on the cells beside it, its row, the
 * parity of its steps, or where a walk was cut), so on a host with AMX every walk,
 * one cell or many, goes through this kernel and the batch path stays bit-identical
 * to one cell at a time, as on other hosts.
 * Layout: the left tiles (A) hold five cells of three rows each (row 15 zero) over 32
 * of the 64 hidden units (two tiles per group, "k chunks"); two groups, ten cells.
 * The right tiles (B) are Wh in the tile unit's pair layout, 2 k chunks x 16 column
 * tiles of 16 gate columns, 1 KB each, 32 KB in all (infer_pack_amx): they stay in L1.
 * A step loads A, then goes by hidden block (16 units: the column tiles of its i, f, c
 * and o gates): per column tile two products per group into a zeroed sum tile (C),
 * stored; then each cell's gate sums for the block are its input sums plus its three
 * rows, and its gates are gates16, as in the AVX-512 walk; the new h is split into A's
 * rows for the next step once the step is done.
 * Tiles: 0-1 group 0's A, 2-3 group 1's, 4-5 B, 6-7 the two groups' C.
 * Measured (tests/bench/NOTES.md, "The AMX walk"): the tile products and the vector
 * gates do not overlap on the host measured (56 and 93 ns a cell-step alone, ~150
 * together), so the walk is ~1.8x the AVX-512 one's speed, not more; the variants
 * tried are listed there. */
#define AMX __attribute__((target("avx512f,avx512dq,avx512bw,amx-tile,amx-bf16")))
struct amx_config { /* the tile configuration, palette 1 (Intel SDM, LDTILECFG) */
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};
enum { AMX_GROUP = 5, AMX_GROUPS = INFER_AMX_MAX / AMX_GROUP };

/* H (64 floats) split into its three parts, rows ROW .. ROW + 2 of a group's A (A). */
AMX ALWAYS_INLINE static inline void amx_split(const float *h, uint16_t (*a)[16][32], int row)
{
    const __m512i hi16 = _mm512_set1_epi32((int)0xFFFF0000u);
    /* word i of the result: the high half of lane i of LO (i < 16) or of HI */
    const __m512i odd = _mm512_set_epi16(63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43, 41, 39, 37, 35, 33,
                                         31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    _Pragma("GCC unroll 2") for (int kc = 0; kc < 2; kc++) {
        __m512 part[3][2];
        _Pragma("GCC unroll 2") for (int i = 0; i < 2; i++) {
            __m512 v = _mm512_loadu_ps(h + 32 * kc + 16 * i);
            /* truncations and exact differences: h1 + h2 + h3 = h, each a bf16 value */
            part[0][i] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(v), hi16));
            __m512 r = _mm512_sub_ps(v, part[0][i]);
            part[1][i] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(r), hi16));
            part[2][i] = _mm512_sub_ps(r, part[1][i]);
        }
        _Pragma("GCC unroll 3") for (int j = 0; j < 3; j++)
            _mm512_store_si512(a[kc][row + j], _mm512_permutex2var_epi16(_mm512_castps_si512(part[j][0]), odd,
                                                                           _mm512_castps_si512(part[j][1])));
    }
}

struct amx_walk {
    const float *table;
    const uint16_t *B;
    const int *const *ids;
    int S, groups, start[INFER_AMX_MAX];
    float *h, *c;
    uint16_t a[AMX_GROUPS][2][16][32] __attribute__((aligned(64))); /* [group][k chunk][row][k] */
    /* [buffer][group][gate][row][column]: one hidden block's sums, double-buffered */
    float sums[2][AMX_GROUPS][4][16][16] __attribute__((aligned(64)));
};

/* The sums of hidden block Q (column tiles Q, 4 + Q, 8 + Q, 12 + Q: its i, f, c and o
 * gates) for every group into buffer Q & 1.  Only a block's sums are kept (8 KB, where
 * the step's were 32 KB): with Wh's 32 KB they stay in L1, and out of it the tile
 * loads and stores ran at under half their speed. */
AMX ALWAYS_INLINE static inline void amx_block_sums(struct amx_walk *w, int q)
{
    const uint16_t *B = w->B;
    _Pragma("GCC unroll 1") for (int m = 0; m < 4; m++) {
        int nt = 4 * m + q;
        _tile_loadd(4, B + 512 * nt, 64);
        _tile_loadd(5, B + 512 * (16 + nt), 64);
        _tile_zero(6);
        _tile_dpbf16ps(6, 0, 4);
        _tile_dpbf16ps(6, 1, 5);
        _tile_stored(6, w->sums[q & 1][0][m], 64);
        if (w->groups == 2) {
            _tile_zero(7);
            _tile_dpbf16ps(7, 2, 4);
            _tile_dpbf16ps(7, 3, 5);
            _tile_stored(7, w->sums[q & 1][1][m], 64);
        }
    }
}

/* Hidden block Q of cell S's step STEP (if it has started) from its sums. */
AMX ALWAYS_INLINE static inline void amx_cell_block(struct amx_walk *w, int s, int q, int step)
{
    int t = step - w->start[s];
    if (t < 0) return; /* not started: its state, and its rows of A, wait */
    const float *xg = w->table + 256 * (size_t)w->ids[s][t] + 16 * q;
    int r = 3 * (s % AMX_GROUP);
    float(*p)[16][16] = w->sums[q & 1][s / AMX_GROUP];
    __m512 sa[16];
    /* gate m of the block: its input sums plus its three rows, the small parts first */
    _Pragma("GCC unroll 4") for (int m = 0; m < 4; m++)
        sa[4 * m + q] = _mm512_add_ps(_mm512_loadu_ps(xg + 64 * m),
                                      _mm512_add_ps(_mm512_add_ps(_mm512_load_ps(p[m][r + 2]), _mm512_load_ps(p[m][r + 1])),
                                                    _mm512_load_ps(p[m][r])));
    _mm512_storeu_ps(w->h + 64 * s + 16 * q, gates16(sa, q, w->c + 64 * s));
}

AMX static void run_many_amx_h64(const float *table, const int *const *ids, const int *n, int S,
                                 const float *Wpacked, int H, float *h, float *c)
{
    struct amx_config cfg __attribute__((aligned(64))) = {.palette = 1};
    for (int t = 0; t < 8; t++) cfg.colsb[t] = 64, cfg.rows[t] = 16;
    struct amx_walk w0, *w = &w0;
    int maxn = 0;
    (void)H;
    w->table = table, w->ids = ids, w->S = S, w->h = h, w->c = c;
    w->B = (const uint16_t *)(const void *)Wpacked;
    w->groups = S > AMX_GROUP ? 2 : 1;
    memset(w->a, 0, sizeof w->a);
    for (int s = 0; s < S; s++) if (n[s] > maxn) maxn = n[s];
    for (int s = 0; s < S; s++) {
        w->start[s] = maxn - n[s];
        amx_split(h + 64 * s, w->a[s / AMX_GROUP], 3 * (s % AMX_GROUP));
    }
    _tile_loadconfig(&cfg);
    for (int step = 0; step < maxn; step++) {
        __asm__ volatile("" ::: "memory"); /* A's stores before the tile loads (they name no memory) */
        _tile_loadd(0, w->a[0][0], 64);
        _tile_loadd(1, w->a[0][1], 64);
        if (w->groups == 2) {
            _tile_loadd(2, w->a[1][0], 64);
            _tile_loadd(3, w->a[1][1], 64);
        }
        /* A is in the tiles now, h can change: each block's gates run while the tile
         * unit makes the next block's sums (issued first, so that they overlap) */
        amx_block_sums(w, 0);
        _Pragma("GCC unroll 1") for (int q = 0; q < 4; q++) {
            if (q < 3) amx_block_sums(w, q + 1);
            for (int s = 0; s < S; s++) amx_cell_block(w, s, q, step);
        }
        for (int s = 0; s < S; s++)
            if (step >= w->start[s]) amx_split(h + 64 * s, w->a[s / AMX_GROUP], 3 * (s % AMX_GROUP));
    }
    _tile_release(); /* back to the init state: a thread switch then saves no tile data */
}

/* One cell: the same kernel, so that one cell and many get the same numbers. */
AMX static void run_amx_h64(const float *table, const int *ids, int n, const float *Wpacked, int H, float *h,
                            float *c)
{
    run_many_amx_h64(table, &ids, &n, 1, Wpacked, H, h, c);
}

/* The tile unit's registers are off for a process until it asks Linux for them
 * (arch_prctl ARCH_REQ_XCOMP_PERM for XTILEDATA, once per process; Linux 5.16 on). */
static int amx_on;
static void amx_ask(void)
{
    unsigned eax, ebx, ecx, edx;
    int cpu = __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (edx >> 22 & 1) /* AMX-BF16 */ &&
              (edx >> 24 & 1) /* AMX-TILE */ && __builtin_cpu_supports("avx512bw") &&
              __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq"); /* the CPU's, once */
    amx_on = cpu && syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0;
}

static int amx_usable(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, amx_ask);
    return amx_on;
}
#endif

int infer_pack_amx(const float *Wh, int H, uint16_t *out)
{
    if (H != 64) return -1;
    for (int kc = 0; kc < 2; kc++)
        for (int nt = 0; nt < 16; nt++)
            for (int p = 0; p < 16; p++)
                for (int col = 0; col < 16; col++)
                    for (int e = 0; e < 2; e++) {
                        uint32_t w;
                        memcpy(&w, Wh + 256 * (32 * kc + 2 * p + e) + 16 * nt + col, sizeof w);
                        if (w & 0xFFFFu) return -1; /* not a bf16 value */
                        out[512 * (16 * kc + nt) + 32 * p + 2 * col + e] = (uint16_t)(w >> 16);
                    }
    return 0;
}

infer_many_fn infer_many_choose_amx(int H, int portable)
{
#if defined(__x86_64__)
    if (H == 64 && !portable && !getenv("NBSTAGE_NO_AMX") && infer_step_have_avx512() && amx_usable())
        return run_many_amx_h64;
#endif
    (void)H; (void)portable;
    return NULL;
}

infer_run_fn infer_run_choose_amx(int H, int portable)
{
#if defined(__x86_64__)
    if (infer_many_choose_amx(H, portable)) return run_amx_h64;
#endif
    return NULL;
}

#if defined(__x86_64__)

AVX512 static void acts_avx512(const float *x, float *sig, float *tnh, int n)
{
    const __m512 one = K(1.0f);
    for (int i = 0; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        _mm512_storeu_ps(sig + i, recip(_mm512_add_ps(exp_neg_or_double(v, 0), one)));
        __m512 e = exp_neg_or_double(v, 1);
        _mm512_storeu_ps(tnh + i, _mm512_mul_ps(_mm512_sub_ps(e, one), recip(_mm512_add_ps(e, one))));
    }
}
#endif

int infer_step_have_avx512(void)
{
#if defined(__x86_64__)
    /* NBSTAGE_NO_AVX512: the AVX2 walk (or the portable one) as on a CPU without it */
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") && !getenv("NBSTAGE_NO_AVX512");
#else
    return 0;
#endif
}

infer_run_fn infer_run_choose(int H, int portable)
{
#if defined(__x86_64__)
    if (H == 64 && !portable && infer_step_have_avx512()) return run_avx512_h64;
    if (H == 64 && !portable && infer_avx2_usable()) return infer_run_avx2_h64;
#endif
    if (H == 64 && !portable && infer_neon_usable()) return infer_run_neon_h64;
    return infer_run_portable;
}

int infer_pack_bf16(const float *Wh, int H, uint32_t *out)
{
    if (H != 64) return -1;
    for (int k = 0; k < 64; k++)
        for (int m = 0; m < 8; m++)
            for (int i = 0; i < 16; i++) {
                uint32_t lo, hi;
                memcpy(&lo, Wh + 256 * k + 32 * m + i, sizeof lo);
                memcpy(&hi, Wh + 256 * k + 32 * m + 16 + i, sizeof hi);
                if ((lo | hi) & 0xFFFFu) return -1; /* not a bf16 value: the fp32 walk */
                out[128 * k + 16 * m + i] = hi | lo >> 16;
            }
    return 0;
}

infer_run_fn infer_run_choose_bf16(int H, int portable)
{
#if defined(__x86_64__)
    if (H == 64 && !portable && infer_step_have_avx512()) return run_bf16_avx512_h64;
#endif
    (void)H; (void)portable;
    return NULL;
}

infer_many_fn infer_many_choose(int H, int portable)
{
#if defined(__x86_64__)
    if (H == 64 && !portable && infer_step_have_avx512()) return run_many_avx512_h64;
    if (H == 64 && !portable && infer_avx2_usable()) return infer_many_avx2_h64;
#endif
    if (H == 64 && !portable && infer_neon_usable()) return infer_many_neon_h64;
    return infer_many_portable;
}

int infer_acts_avx512(const float *x, float *sig, float *tnh, int n)
{
#if defined(__x86_64__)
    if (!infer_step_have_avx512()) return -1;
    acts_avx512(x, sig, tnh, n);
    return 0;
#else
    (void)x; (void)sig; (void)tnh; (void)n;
    return -1;
#endif
}
