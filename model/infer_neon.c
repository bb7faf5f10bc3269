/* infer_neon.c — the LSTM walk with AArch64's NEON (see infer_neon.h).
 *
 * The AVX2 walk (infer_avx2.c) with 4-wide vectors, for the same reason: without it an
 * ARM CPU runs the portable walk, scalar sums and five libm calls a hidden unit a step.
 *
 * One cell: a step goes over the 64 hidden units in four passes of 16; a pass keeps the
 * sums of its units' four gates in 16 registers (i, f, c, o; 4 x 4 units each), starting
 * from the input sums, and adds row k of Wh times h[k] for k = 0..63 (16 loads and 16
 * FMAs a row, h[k] taken from a lane of a register holding h[k..k+3]), then computes its
 * units' gates: no sums go through memory.  16 chains of FMAs cover the latency of the
 * widest cores (Neoverse V1/V2: 4 FMA pipes of 4 cycles); AArch64 has 32 vector
 * registers, so sums, h and a row's loads fit.  The new h goes to a second buffer (the
 * next passes still read the old h), swapped at the end of the step.
 * Several cells: three at a time, 4 units a pass: 4 sums a cell, 12 in registers, and
 * each row's 4 weight loads feed all three cells' FMAs (Wh, 64 KB, is larger than the L1
 * of most ARM cores).  Each cell walks alone until the shortest of its three starts
 * (ends aligned), and cells left over walk alone.  Each sum is xg + h[0]Wh[0] + ... +
 * h[63]Wh[63] in that order, one FMA at a time, and the gates are gates4: every cell
 * gets the one-cell walk's numbers bit for bit, whatever its company and wherever a
 * walk is cut.
 *
 * The activations are the AVX2 walk's, operation for operation (vrndnq rounds to
 * nearest even as _mm256_round_ps does; vdivq is IEEE division): sigmoid(x) =
 * 1 / (1 + e^-x), tanh(x) = (e^2x - 1) / (e^2x + 1), one division for a product of two,
 * the arguments clamped (e^-x to |x| <= 40, e^2x to |x| <= 20), e^y by Cephes' expf.
 * So on the same sums the two walks' gates agree bit for bit.
 *
 * Measured: correctness only, under qemu-user on x86-64 (`make test-arm`); no ARM
 * machine was at hand to time it.
 */
#include "model/infer_neon.h"

#include <string.h>

#include "model/infer_step.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define ALWAYS_INLINE __attribute__((always_inline))
#define K4(x) vdupq_n_f32(x)

/* e^Y for |Y| <= 80 (callers clamp): Cephes' expf with FMAs, as exp8 in infer_avx2.c. */
ALWAYS_INLINE static inline float32x4_t exp4(float32x4_t y)
{
    float32x4_t n = vrndnq_f32(vmulq_f32(y, K4(1.44269504088896341f)));
    float32x4_t r = vfmsq_f32(y, n, K4(0.693359375f)); /* ln2 in two parts: the first exact times n */
    r = vfmsq_f32(r, n, K4(-2.12194440e-4f));
    float32x4_t p = vfmaq_f32(K4(1.3981999507e-3f), K4(1.9875691500e-4f), r);
    p = vfmaq_f32(K4(8.3334519073e-3f), p, r);
    p = vfmaq_f32(K4(4.1665795894e-2f), p, r);
    p = vfmaq_f32(K4(1.6666665459e-1f), p, r);
    p = vfmaq_f32(K4(5.0000001201e-1f), p, r);
    p = vfmaq_f32(vaddq_f32(r, K4(1.0f)), p, vmulq_f32(r, r));
    int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

ALWAYS_INLINE static inline float32x4_t clamp4(float32x4_t x, float lim)
{
    return vminq_f32(vmaxq_f32(x, K4(-lim)), K4(lim));
}

/* e^-x, |x| clamped to 40, and e^2x, |x| clamped to 20. */
ALWAYS_INLINE static inline float32x4_t exp_neg4(float32x4_t x)
{
    return exp4(vsubq_f32(vdupq_n_f32(0.0f), clamp4(x, 40.0f)));
}
ALWAYS_INLINE static inline float32x4_t exp_double4(float32x4_t x)
{
    return exp4(vaddq_f32(clamp4(x, 20.0f), clamp4(x, 20.0f)));
}

/* The new h of 4 hidden units from their gate sums I, F, G, O; *C updated. */
ALWAYS_INLINE static inline float32x4_t gates4(float32x4_t i, float32x4_t f, float32x4_t g, float32x4_t o, float *c)
{
    const float32x4_t one = K4(1.0f);
    float32x4_t ei1 = vaddq_f32(exp_neg4(i), one), eg = exp_double4(g);
    /* (1 + a)(1 + b) as one FMA: (1 + a) * b + (1 + a) */
    float32x4_t ic = vdivq_f32(vsubq_f32(eg, one), vfmaq_f32(ei1, ei1, eg));
    float32x4_t cn = vaddq_f32(vdivq_f32(vld1q_f32(c), vaddq_f32(exp_neg4(f), one)), ic);
    vst1q_f32(c, cn);
    float32x4_t eo1 = vaddq_f32(exp_neg4(o), one), ec = exp_double4(cn);
    return vdivq_f32(vsubq_f32(ec, one), vfmaq_f32(eo1, eo1, ec));
}

/* Units U0 .. U0 + 15 of one cell's step: their 16 gate sums in registers over the 64
 * rows, then their gates; the new h into HN. */
ALWAYS_INLINE static inline void pass_one(const float *xg, const float *Wh, const float *ho, float *hn, float *c,
                                          int u0)
{
    float32x4_t a[16]; /* gate m of block e: a[4m + e], units u0 + 4e .. + 3 */
    _Pragma("GCC unroll 16") for (int j = 0; j < 16; j++) a[j] = vld1q_f32(xg + 64 * (j / 4) + u0 + 4 * (j % 4));
    const float *w = Wh + u0;
    /* four rows per h load; the lane index must be a constant, hence the four calls */
#define ROW(L)                                                                                                         \
    do {                                                                                                               \
        _Pragma("GCC unroll 16") for (int j = 0; j < 16; j++)                                                          \
            a[j] = vfmaq_laneq_f32(a[j], vld1q_f32(w + 64 * (j / 4) + 4 * (j % 4)), hk, L);                            \
        w += 256;                                                                                                      \
    } while (0)
    _Pragma("GCC unroll 1") for (int k = 0; k < 64; k += 4) {
        float32x4_t hk = vld1q_f32(ho + k);
        ROW(0);
        ROW(1);
        ROW(2);
        ROW(3);
    }
#undef ROW
    _Pragma("GCC unroll 4") for (int e = 0; e < 4; e++) {
        int u = u0 + 4 * e;
        vst1q_f32(hn + u, gates4(a[e], a[4 + e], a[8 + e], a[12 + e], c + u));
    }
}

/* One cell, N steps (see the top of this file). */
static void walk_one(const float *table, const int *ids, int n, const float *Wh, float *h, float *c)
{
    float buf[2][64] __attribute__((aligned(16)));
    float *ho = buf[0], *hn = buf[1];
    memcpy(ho, h, sizeof buf[0]);
    for (int t = 0; t < n; t++) {
        const float *xg = table + 256 * (size_t)ids[t];
        for (int u0 = 0; u0 < 64; u0 += 16) pass_one(xg, Wh, ho, hn, c, u0);
        float *swap = ho;
        ho = hn;
        hn = swap;
    }
    memcpy(h, ho, sizeof buf[0]);
}

/* Three cells, N steps each, all from step 0 (the caller aligns them). */
static void walk_three(const float *table, const int *const *ids, int n, const float *Wh, float *const *hp,
                       float *const *cp)
{
    float buf[2][3][64] __attribute__((aligned(16))); /* [old/new][cell] */
    float(*ho)[64] = buf[0], (*hn)[64] = buf[1];
    for (int s = 0; s < 3; s++) memcpy(ho[s], hp[s], sizeof ho[s]);
    for (int t = 0; t < n; t++) {
        const float *xg[3];
        for (int s = 0; s < 3; s++) xg[s] = table + 256 * (size_t)ids[s][t];
        _Pragma("GCC unroll 1") for (int p = 0; p < 16; p++) {
            float32x4_t a[3][4]; /* gate m of units 4p .. 4p + 3 of cell s */
            _Pragma("GCC unroll 3") for (int s = 0; s < 3; s++)
                _Pragma("GCC unroll 4") for (int m = 0; m < 4; m++) a[s][m] = vld1q_f32(xg[s] + 64 * m + 4 * p);
            const float *w = Wh + 4 * p;
#define ROW(L)                                                                                                         \
    do {                                                                                                               \
        float32x4_t w0 = vld1q_f32(w), w1 = vld1q_f32(w + 64), w2 = vld1q_f32(w + 128), w3 = vld1q_f32(w + 192);       \
        _Pragma("GCC unroll 3") for (int s = 0; s < 3; s++) {                                                          \
            a[s][0] = vfmaq_laneq_f32(a[s][0], w0, hk[s], L);                                                          \
            a[s][1] = vfmaq_laneq_f32(a[s][1], w1, hk[s], L);                                                          \
            a[s][2] = vfmaq_laneq_f32(a[s][2], w2, hk[s], L);                                                          \
            a[s][3] = vfmaq_laneq_f32(a[s][3], w3, hk[s], L);                                                          \
        }                                                                                                              \
        w += 256;                                                                                                      \
    } while (0)
            _Pragma("GCC unroll 1") for (int k = 0; k < 64; k += 4) {
                float32x4_t hk[3];
                for (int s = 0; s < 3; s++) hk[s] = vld1q_f32(ho[s] + k);
                ROW(0);
                ROW(1);
                ROW(2);
                ROW(3);
            }
#undef ROW
            _Pragma("GCC unroll 3") for (int s = 0; s < 3; s++)
                vst1q_f32(hn[s] + 4 * p, gates4(a[s][0], a[s][1], a[s][2], a[s][3], cp[s] + 4 * p));
        }
        float(*swap)[64] = ho;
        ho = hn;
        hn = swap;
    }
    for (int s = 0; s < 3; s++) memcpy(hp[s], ho[s], sizeof ho[s]);
}

int infer_neon_usable(void) { return 1; }

void infer_run_neon_h64(const float *table, const int *ids, int n, const float *Wh, int H, float *h, float *c)
{
    (void)H;
    walk_one(table, ids, n, Wh, h, c);
}

void infer_many_neon_h64(const float *table, const int *const *ids, const int *n, int S, const float *Wh, int H,
                         float *h, float *c)
{
    (void)H;
    infer_many_in_threes(walk_one, walk_three, table, ids, n, S, Wh, h, c);
}

int infer_acts_neon(const float *x, float *sig, float *tnh, int n)
{
    const float32x4_t one = K4(1.0f);
    for (int i = 0; i + 4 <= n; i += 4) {
        float32x4_t v = vld1q_f32(x + i);
        vst1q_f32(sig + i, vdivq_f32(one, vaddq_f32(exp_neg4(v), one)));
        float32x4_t e = exp_double4(v);
        vst1q_f32(tnh + i, vdivq_f32(vsubq_f32(e, one), vaddq_f32(e, one)));
    }
    return 0;
}

#else /* not AArch64: never chosen */

int infer_neon_usable(void) { return 0; }
void infer_run_neon_h64(const float *table, const int *ids, int n, const float *Wh, int H, float *h, float *c)
{
    infer_run_portable(table, ids, n, Wh, H, h, c);
}
void infer_many_neon_h64(const float *table, const int *const *ids, const int *n, int S, const float *Wh, int H,
                         float *h, float *c)
{
    infer_many_portable(table, ids, n, S, Wh, H, h, c);
}
int infer_acts_neon(const float *x, float *sig, float *tnh, int n)
{
    (void)x; (void)sig; (void)tnh; (void)n;
    return -1;
}

#endif
