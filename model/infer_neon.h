/* infer_neon.h — the LSTM walk (H = 64) for 64-bit ARM (AArch64): AWS Graviton and
 * other ARM servers, a Raspberry Pi 4 or 5, and Linux on Apple silicon (a Docker
 * container on a Mac is such a Linux).
 *
 * Owns: one cell's walk and several cells' walk with NEON's 4-wide vectors, and the
 * sigmoid and tanh they evaluate.  model/infer_step.c chooses them (infer_run_choose,
 * infer_many_choose) on every AArch64 CPU (NEON and its fused multiply-add are part of
 * the architecture) unless NBSTAGE_PORTABLE is set; the portable walk they replace
 * calls expf and tanhf five times a hidden unit a step, and GCC leaves its sums scalar
 * at -O2 (no FMA either: -std=c11 forbids contracting a * b + c).
 *
 * As in the AVX2 walk (infer_avx2.h), each gate sum is the input sum plus
 * h[0]·Wh[0] + ... + h[63]·Wh[63], one FMA after another in that order, in both walks,
 * and the gates are the same code: a cell's numbers do not depend on the cells walked
 * beside it, nor on where a walk is cut.  test_infer_step holds it to the tolerance of
 * every walk against a double-precision step.
 */
#ifndef NBSTAGE_INFER_NEON_H
#define NBSTAGE_INFER_NEON_H

/* 1 on AArch64 (where these walks exist), 0 elsewhere. */
int infer_neon_usable(void);

/* infer_run_fn and infer_many_fn (model/infer_step.h) for H = 64; call only where
 * infer_neon_usable().  The many walk takes any number of cells (three at a time);
 * INFER_NEON_MAX is the batch model.c gives it. */
enum { INFER_NEON_MAX = 6 };
void infer_run_neon_h64(const float *table, const int *ids, int n, const float *Wh, int H, float *h, float *c);
void infer_many_neon_h64(const float *table, const int *const *ids, const int *n, int S, const float *Wh, int H,
                         float *h, float *c);

/* For tests: sigmoid(X[i]) and tanh(X[i]) as these walks evaluate them, N a multiple
 * of 4.  -1 (nothing written) where there is no NEON walk. */
int infer_acts_neon(const float *x, float *sig, float *tnh, int n);

#endif
