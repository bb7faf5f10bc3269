/* lstm_cell.h — the LSTM's elementwise work at one time step, forward and backward,
 * for a block of rows (sequences).  Gate order i, f, c, o; each row of z is 4H wide.
 * An AVX2+FMA version is chosen at run time where the processor has it (a vector exp
 * good to about 2 ulp); elsewhere plain C with libm.
 */
#ifndef NBSTAGE_LSTM_CELL_H
#define NBSTAGE_LSTM_CELL_H

/* Z (n x 4H) holds x W_x + h W_h + b on entry and the activations i f g o on return;
 * c_next = f c_prev + i g; h_out = o tanh(c_next); when HM_NEXT is not NULL it gets
 * h * RMASK (or h when RMASK is NULL), the next step's recurrent input. */
void lstm_cell_forward(int n, int H, float *z, const float *c_prev, float *c_next,
                       float *h_out, float *hm_next, const float *rmask);

/* From the activations A (n x 4H) and the cell states C_PREV, C_CUR, and the incoming
 * gradients DH (of h) and DC (of c, carried from the step after): the pre-activation
 * gradients DZ (n x 4H), and DC replaced by the gradient for the step before. */
void lstm_cell_backward(int n, int H, const float *a, const float *c_prev, const float *c_cur,
                        const float *dh, float *dc, float *dz);

/* DST = A + B and DST += SRC over N floats: the row sums of the projection's
 * bookkeeping, vectorised on the same terms. */
void lstm_vec_add(float *dst, const float *a, const float *b, int n);
void lstm_vec_acc(float *dst, const float *src, int n);

/* 1 when this CPU runs the AVX2+FMA paths (checked once; the optimiser uses it too). */
int lstm_cpu_has_avx2_fma(void);

#endif
