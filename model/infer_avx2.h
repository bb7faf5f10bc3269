/* infer_avx2.h — the LSTM walk (H = 64) for x86-64 CPUs with AVX2 and FMA but no
 * AVX-512: most laptops and desktops (Intel's client cores, AMD before Zen 4).
 *
 * Owns: one cell's walk and several cells' walk with 8-wide vectors, and the sigmoid
 * and tanh they evaluate.  model/infer_step.c chooses them (infer_run_choose,
 * infer_many_choose) where the CPU has AVX2 and FMA and no AVX-512 (or
 * NBSTAGE_NO_AVX512 is set); the portable walk they replace calls expf and tanhf five
 * times a hidden unit a step and was ~11x slower on `tag` (see infer_avx2.c).
 *
 * Each gate sum is the input sum plus h[0]·Wh[0] + ... + h[63]·Wh[63], one FMA after
 * another in that order, in both walks, and the gates are the same code: so a cell's
 * numbers do not depend on the cells walked beside it, nor on where a walk is cut
 * (the batch path stays bit-identical to one cell at a time).  They differ from the
 * AVX-512 walk's by ~1e-7 (another exp); test_infer_step holds both to the same
 * tolerance against a double-precision step.
 */
#ifndef NBSTAGE_INFER_AVX2_H
#define NBSTAGE_INFER_AVX2_H

/* 1 when the CPU (and the OS, for the YMM state) has AVX2 and FMA. */
int infer_avx2_usable(void);

/* infer_run_fn and infer_many_fn (model/infer_step.h) for H = 64; call only where
 * infer_avx2_usable().  The many walk takes any number of cells (three at a time);
 * INFER_AVX2_MAX is the batch model.c gives it. */
enum { INFER_AVX2_MAX = 6 };
void infer_run_avx2_h64(const float *table, const int *ids, int n, const float *Wh, int H, float *h, float *c);
void infer_many_avx2_h64(const float *table, const int *const *ids, const int *n, int S, const float *Wh, int H,
                         float *h, float *c);

/* For tests: sigmoid(X[i]) and tanh(X[i]) as these walks evaluate them, N a multiple
 * of 8.  -1 (nothing written) where the CPU lacks AVX2 or FMA. */
int infer_acts_avx2(const float *x, float *sig, float *tnh, int n);

#endif
