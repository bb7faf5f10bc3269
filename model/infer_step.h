/* infer_step.h — one LSTM step of single-cell inference, and the activations it uses.
 *
 * Owns: gates = xg + h·Wh (Keras order i, f, c, o; Wh is H x 4H, row k multiplies
 * h[k]), c = f*c + i*tanh(g_c), h = o*tanh(c), in fp32.  Two versions here: a portable
 * one (expf/tanhf) for any H, and an AVX-512 one for H = 64 (the study's size) chosen at
 * run time when the CPU has avx512f and avx512dq (and NBSTAGE_NO_AVX512 is not set);
 * where it has not, but has AVX2 and FMA, the choosers give model/infer_avx2.h's walk
 * for H = 64 instead of the portable one, and on 64-bit ARM model/infer_neon.h's.  All compute the same sums in fp32;
 * they differ only in how sigmoid and tanh are evaluated (see infer_step.c), by at most
 * a few 1e-7 per step (test_infer_step checks both against a double reference).  And
 * an AMX walk (H = 64, bf16 recurrent weights) for CPUs with Intel's tile unit, whose
 * sums round differently (within ~1e-7; below).
 */
#ifndef NBSTAGE_INFER_STEP_H
#define NBSTAGE_INFER_STEP_H

#include <stdint.h>

/* N steps: step t reads the 4H input-side gate sums at TABLE + IDS[t] * 4H (every
 * id valid); H and C (H floats each) are the state, updated in place.  The AVX-512
 * version walks Wh's rows forwards and backwards on alternate steps (it keeps most of
 * Wh in L1, see infer_step.c): the result depends on that only through fp32 rounding
 * order, so one call of N steps and N calls of one step agree to ~1e-7. */
typedef void (*infer_run_fn)(const float *table, const int *ids, int n, const float *Wh, int H,
                             float *h, float *c);

void infer_run_portable(const float *table, const int *ids, int n, const float *Wh, int H, float *h, float *c);

/* The fastest version for H on this CPU; the portable one when PORTABLE is set. */
infer_run_fn infer_run_choose(int H, int portable);

/* Recurrent weights that are all bf16 values (their low 16 bits zero: a model written
 * with `train --round-recurrent`) can be walked from half the bytes.  infer_pack_bf16
 * packs such a WH (H = 64) into OUT (H * 2H uint32_t, 32 KB, 64-byte aligned for
 * speed): 0, or -1 when H is not 64 or a weight is not a bf16 value (OUT then
 * unspecified).  infer_run_choose_bf16 gives the kernel that reads it, to be called
 * with OUT (cast) as its Wh: the same numbers, bit for bit, as infer_run_choose's on
 * WH; NULL when there is none for H on this CPU, or PORTABLE is set. */
int infer_pack_bf16(const float *Wh, int H, uint32_t *out);
infer_run_fn infer_run_choose_bf16(int H, int portable);

/* Several cells advanced together, so that each row of Wh read feeds several cells'
 * sums (a single cell's step is bound by loading Wh, not by the FMAs).  Cell s (of S,
 * 1 <= S <= INFER_MANY_MAX) runs its N[s] steps on IDS[s] from the state in
 * H + s*H, C + s*H (updated in place); the ends are aligned, so a shorter cell starts
 * later.  Each cell gets exactly the fp32 operations infer_run_choose's version would
 * do on it alone (the same sums in the same order, the same activations), provided
 * all N[s] have the same parity: the AVX-512 walk direction follows a cell's own step
 * count, and one walk serves all cells (other parities: ~1e-7 differences only). */
enum { INFER_MANY_MAX = 4 };
typedef void (*infer_many_fn)(const float *table, const int *const *ids, const int *n, int S, const float *Wh,
                              int H, float *h, float *c);

void infer_many_portable(const float *table, const int *const *ids, const int *n, int S, const float *Wh, int H,
                         float *h, float *c);
infer_many_fn infer_many_choose(int H, int portable);

/* The batch walk of the AVX2 and NEON walks (H = 64), for their kernels: S cells three
 * at a time, each alone (ONE) until the shortest of its three starts (ends aligned),
 * then the three together (THREE, all from step 0 for N steps; H and C pointers per
 * cell), and the cells left over alone.  Their kernels give a cell the same numbers
 * alone and together, so the grouping changes nothing but speed. */
typedef void (*infer_walk_one_fn)(const float *table, const int *ids, int n, const float *Wh, float *h, float *c);
typedef void (*infer_walk_three_fn)(const float *table, const int *const *ids, int n, const float *Wh,
                                    float *const *h, float *const *c);
void infer_many_in_threes(infer_walk_one_fn one, infer_walk_three_fn three, const float *table,
                          const int *const *ids, const int *n, int S, const float *Wh, float *h, float *c);

/* The AMX walk (infer_step.c): up to INFER_AMX_MAX cells, on Wh packed by
 * infer_pack_amx (H = 64 and every weight a bf16 value, else -1; OUT: 16,384
 * uint16_t, 32 KB, 64-byte aligned), called with OUT (cast) as its Wh.  Its numbers are
 * within ~1e-7 of the AVX-512 walk's, not bit-identical to them; a cell's numbers do
 * not depend on the cells beside it or on where a walk is cut.  The choosers give
 * NULL where the CPU or Linux has no AMX, or PORTABLE or NBSTAGE_NO_AMX is set;
 * infer_run_choose_amx's one-cell walk is the same kernel. */
enum { INFER_AMX_MAX = 10 };
int infer_pack_amx(const float *Wh, int H, uint16_t *out);
infer_many_fn infer_many_choose_amx(int H, int portable);
infer_run_fn infer_run_choose_amx(int H, int portable);
/* 1 when the AVX-512 step can run here (and NBSTAGE_NO_AVX512 is not set). */
int infer_step_have_avx512(void);

/* For tests: sigmoid(X[i]) and tanh(X[i]) as the AVX-512 step evaluates them, N a
 * multiple of 16.  Returns -1 (and writes nothing) when the CPU lacks AVX-512. */
int infer_acts_avx512(const float *x, float *sig, float *tnh, int n);

#endif
