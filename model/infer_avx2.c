/* infer_avx2.c — the LSTM walk with AVX2 and FMA (see infer_avx2.h).
 *
 * Why it exists: where the CPU has no AVX-512, the walk was the portable C one, whose
 * gates call expf and tanhf per hidden unit (320 calls a step) and whose sums GCC
 * vectorises 4 wide without FMA.  `nbstage tag -j 2` of the corpus took 14.4 s there
 * against 1.31 s with the AVX-512 walk (measured on the Xeon of model 167 with
 * NBSTAGE_PORTABLE=1; user 27.8 against 2.0 s).
 *
 * One cell: a step goes over the 64 hidden units in three passes (24, 24 and 16
 * units); a pass keeps the sums of its units' four gates in 12 registers (i, f, c, o;
 * 3 x 8 units each), starting from the input sums, and adds row k of Wh times h[k] for
 * k = 0..63 (one broadcast and 12 loads a row, 12 FMAs), then computes its units'
 * gates at once: no sums go through memory.  The new h goes to a second buffer (the
 * next passes still read the old h), swapped at the end of the step.
 * Several cells: three at a time, 8 units a pass: 4 sums a cell, 12 in registers, and
 * each row's 4 weight loads feed all three cells' FMAs.  Each cell walks alone until
 * the shortest of its three starts (ends aligned), and cells left over walk alone.
 * Each sum is still xg + h[0]Wh[0] + ... + h[63]Wh[63] in that order, one FMA at a
 * time, and the gates are gates8: every cell gets the one-cell walk's numbers bit for
 * bit, whatever its company and wherever a walk is cut.
 * Measured (the Xeon of model 167, a loop over the kernels with random weights, 120
 * steps, best of 200, ns a cell-step): one cell 760 in passes of 24 units, 910 in
 * passes of 16 (8 sums: the FMA's 4-cycle latency bare); three 756; two at a time (8
 * sums in registers) 1,025, so not kept.  Whole `tag -j 2` runs with the three-cell
 * walk for batches took 4% less CPU than with the one-cell walk for all (five
 * alternating pairs, 4.24 against 4.42 s user): a weight loaded once serves three
 * cells where Wh (64 KB) does not fit L1.  With a 12-bit
 * reciprocal and a Newton step instead of the divisions: 928 and 782 (the divisions
 * are not the bound: the FMA ports are, ~2,770 uops a cell-step of which the matrix
 * product is 2,048 and the gates ~720).
 *
 * The activations, as in the AVX-512 walk (infer_step.c): sigmoid(x) = 1 / (1 + e^-x),
 * tanh(x) = (e^2x - 1) / (e^2x + 1), and one division for a product of two:
 * i*tanh(g) = (e^2g - 1) / ((1 + e^-i)(1 + e^2g)), o*tanh(c) likewise; the arguments
 * clamped (e^-x to |x| <= 40, e^2x to |x| <= 20) so that products stay below 1e35.
 * e^y is Cephes' expf: y = n ln2 + r (n rounded, ln2 in two parts), e^r by a degree-6
 * polynomial (relative error ~1.2e-7), 2^n added into the exponent bits.  Divisions,
 * not rcp + Newton: 3 per 8 units a step, off the FMA ports' critical mix.
 */
#include "model/infer_avx2.h"

#include <string.h>

#include "model/infer_step.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define ALWAYS_INLINE __attribute__((always_inline))
#define K8(x) _mm256_set1_ps(x)

/* e^Y for |Y| <= 80 (callers clamp): Cephes' expf with FMAs. */
AVX2 ALWAYS_INLINE static inline __m256 exp8(__m256 y)
{
    __m256 n = _mm256_round_ps(_mm256_mul_ps(y, K8(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, K8(0.693359375f), y); /* ln2 in two parts: the first exact times n */
    r = _mm256_fnmadd_ps(n, K8(-2.12194440e-4f), r);
    __m256 p = _mm256_fmadd_ps(K8(1.9875691500e-4f), r, K8(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, K8(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, K8(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, K8(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, K8(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, K8(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

AVX2 ALWAYS_INLINE static inline __m256 clamp8(__m256 x, float lim)
{
    return _mm256_min_ps(_mm256_max_ps(x, K8(-lim)), K8(lim));
}

/* e^-x, |x| clamped to 40, and e^2x, |x| clamped to 20. */
AVX2 ALWAYS_INLINE static inline __m256 exp_neg8(__m256 x)
{
    return exp8(_mm256_sub_ps(_mm256_setzero_ps(), clamp8(x, 40.0f)));
}
AVX2 ALWAYS_INLINE static inline __m256 exp_double8(__m256 x)
{
    return exp8(_mm256_add_ps(clamp8(x, 20.0f), clamp8(x, 20.0f)));
}

/* The new h of 8 hidden units from their gate sums I, F, G, O; *C updated. */
AVX2 ALWAYS_INLINE static inline __m256 gates8(__m256 i, __m256 f, __m256 g, __m256 o, float *c)
{
    const __m256 one = K8(1.0f);
    __m256 ei1 = _mm256_add_ps(exp_neg8(i), one), eg = exp_double8(g);
    /* (1 + a)(1 + b) as one FMA: (1 + a) * b + (1 + a) */
    __m256 ic = _mm256_div_ps(_mm256_sub_ps(eg, one), _mm256_fmadd_ps(ei1, eg, ei1));
    __m256 cn = _mm256_add_ps(_mm256_div_ps(_mm256_loadu_ps(c), _mm256_add_ps(exp_neg8(f), one)), ic);
    _mm256_storeu_ps(c, cn);
    __m256 eo1 = _mm256_add_ps(exp_neg8(o), one), ec = exp_double8(cn);
    return _mm256_div_ps(_mm256_sub_ps(ec, one), _mm256_fmadd_ps(eo1, ec, eo1));
}

/* Units U0 .. U0 + 8 NB - 1 of one cell's step: their 4 NB gate sums in registers over
 * the 64 rows, then their gates; the new h into HN. */
AVX2 ALWAYS_INLINE static inline void pass_one(const float *xg, const float *Wh, const float *ho, float *hn,
                                               float *c, int u0, int nb)
{
    __m256 a[12]; /* gate m of block e: a[nb m + e], units u0 + 8e .. + 7 */
    _Pragma("GCC unroll 12") for (int j = 0; j < 4 * nb; j++)
        a[j] = _mm256_loadu_ps(xg + 64 * (j / nb) + u0 + 8 * (j % nb));
    const float *w = Wh + u0;
    _Pragma("GCC unroll 2") for (int k = 0; k < 64; k++, w += 256) {
        __m256 hk = _mm256_broadcast_ss(ho + k);
        _Pragma("GCC unroll 12") for (int j = 0; j < 4 * nb; j++)
            a[j] = _mm256_fmadd_ps(hk, _mm256_loadu_ps(w + 64 * (j / nb) + 8 * (j % nb)), a[j]);
    }
    _Pragma("GCC unroll 3") for (int e = 0; e < nb; e++) {
        int u = u0 + 8 * e;
        _mm256_store_ps(hn + u, gates8(a[e], a[nb + e], a[2 * nb + e], a[3 * nb + e], c + u));
    }
}

/* One cell, N steps (see the top of this file). */
AVX2 static void walk_one(const float *table, const int *ids, int n, const float *Wh, float *h, float *c)
{
    float buf[2][64] __attribute__((aligned(32)));
    float *ho = buf[0], *hn = buf[1];
    memcpy(ho, h, sizeof buf[0]);
    for (int t = 0; t < n; t++) {
        const float *xg = table + 256 * (size_t)ids[t];
        /* 24, 24 and 16 units: 12 sums in registers (8 left the FMA's latency bare) */
        pass_one(xg, Wh, ho, hn, c, 0, 3);
        pass_one(xg, Wh, ho, hn, c, 24, 3);
        pass_one(xg, Wh, ho, hn, c, 48, 2);
        float *swap = ho;
        ho = hn;
        hn = swap;
    }
    memcpy(h, ho, sizeof buf[0]);
}

/* Three cells, N steps each, all from step 0 (the caller aligns them). */
AVX2 static void walk_three(const float *table, const int *const *ids, int n, const float *Wh, float *const *hp,
                            float *const *cp)
{
    float buf[2][3][64] __attribute__((aligned(32))); /* [old/new][cell] */
    float(*ho)[64] = buf[0], (*hn)[64] = buf[1];
    for (int s = 0; s < 3; s++) memcpy(ho[s], hp[s], sizeof ho[s]);
    for (int t = 0; t < n; t++) {
        const float *xg[3];
        for (int s = 0; s < 3; s++) xg[s] = table + 256 * (size_t)ids[s][t];
        _Pragma("GCC unroll 1") for (int p = 0; p < 8; p++) {
            __m256 a[3][4]; /* gate m of units 8p .. 8p + 7 of cell s */
            _Pragma("GCC unroll 3") for (int s = 0; s < 3; s++)
                _Pragma("GCC unroll 4") for (int m = 0; m < 4; m++) a[s][m] = _mm256_loadu_ps(xg[s] + 64 * m + 8 * p);
            const float *w = Wh + 8 * p;
            _Pragma("GCC unroll 2") for (int k = 0; k < 64; k++, w += 256) {
                _Pragma("GCC unroll 3") for (int s = 0; s < 3; s++) {
                    __m256 hk = _mm256_broadcast_ss(ho[s] + k);
                    _Pragma("GCC unroll 4") for (int m = 0; m < 4; m++)
                        a[s][m] = _mm256_fmadd_ps(hk, _mm256_loadu_ps(w + 64 * m), a[s][m]);
                }
            }
            _Pragma("GCC unroll 3") for (int s = 0; s < 3; s++)
                _mm256_store_ps(hn[s] + 8 * p, gates8(a[s][0], a[s][1], a[s][2], a[s][3], cp[s] + 8 * p));
        }
        float(*swap)[64] = ho;
        ho = hn;
        hn = swap;
    }
    for (int s = 0; s < 3; s++) memcpy(hp[s], ho[s], sizeof ho[s]);
}

AVX2 static void acts(const float *x, float *sig, float *tnh, int n)
{
    const __m256 one = K8(1.0f);
    for (int i = 0; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        _mm256_storeu_ps(sig + i, _mm256_div_ps(one, _mm256_add_ps(exp_neg8(v), one)));
        __m256 e = exp_double8(v);
        _mm256_storeu_ps(tnh + i, _mm256_div_ps(_mm256_sub_ps(e, one), _mm256_add_ps(e, one)));
    }
}

int infer_avx2_usable(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

void infer_run_avx2_h64(const float *table, const int *ids, int n, const float *Wh, int H, float *h, float *c)
{
    (void)H;
    walk_one(table, ids, n, Wh, h, c);
}

void infer_many_avx2_h64(const float *table, const int *const *ids, const int *n, int S, const float *Wh, int H,
                         float *h, float *c)
{
    (void)H;
    infer_many_in_threes(walk_one, walk_three, table, ids, n, S, Wh, h, c);
}

int infer_acts_avx2(const float *x, float *sig, float *tnh, int n)
{
    if (!infer_avx2_usable()) return -1;
    acts(x, sig, tnh, n);
    return 0;
}

#else /* not x86-64: never chosen */

int infer_avx2_usable(void) { return 0; }
void infer_run_avx2_h64(const float *table, const int *ids, int n, const float *Wh, int H, float *h, float *c)
{
    infer_run_portable(table, ids, n, Wh, H, h, c);
}
void infer_many_avx2_h64(const float *table, const int *const *ids, const int *n, int S, const float *Wh, int H,
                         float *h, float *c)
{
    infer_many_portable(table, ids, n, S, Wh, H, h, c);
}
int infer_acts_avx2(const float *x, float *sig, float *tnh, int n)
{
    (void)x; (void)sig; (void)tnh; (void)n;
    return -1;
}

#endif
