/* adam.c — the Adam update rule (Keras' formulation, see adam.h).
 *
 * The dense embedding update (8000 x 512 weights every mini-batch, as Keras does it)
 * is memory-bound and the largest loop of a training step, so there is an AVX2 path,
 * picked at run time (the build has no -march flags); the trainer also splits the
 * arrays over its threads.
 */
#include "model/adam.h"
#include "model/lstm_cell.h"

#include <math.h>

void adam_init(struct adam *a, double lr)
{
    a->lr = lr; a->beta1 = 0.9; a->beta2 = 0.999; a->eps = 1e-7;
    a->step = 0; a->lr_t = 0;
}

void adam_begin_step(struct adam *a)
{
    a->step++;
    a->lr_t = a->lr * sqrt(1 - pow(a->beta2, (double)a->step)) / (1 - pow(a->beta1, (double)a->step));
}

static void update_c(size_t i0, size_t n, float *w, const float *g, float *m, float *v,
                     float b1, float b2, float c1, float c2, float lr, float eps)
{
    for (size_t i = i0; i < n; i++) {
        float gi = g[i];
        float mi = b1 * m[i] + c1 * gi, vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi; v[i] = vi;
        w[i] -= lr * mi / (sqrtf(vi) + eps);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define HAVE_X86_PATH 1

__attribute__((target("avx2,fma")))
static void update_avx2(size_t n, float *w, const float *g, float *m, float *v,
                        float b1, float b2, float c1, float c2, float lr, float eps)
{
    __m256 B1 = _mm256_set1_ps(b1), B2 = _mm256_set1_ps(b2), C1 = _mm256_set1_ps(c1),
           C2 = _mm256_set1_ps(c2), LR = _mm256_set1_ps(lr), EPS = _mm256_set1_ps(eps);
    size_t n8 = n & ~(size_t)7;
    for (size_t i = 0; i < n8; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i);
        __m256 mi = _mm256_fmadd_ps(B1, _mm256_loadu_ps(m + i), _mm256_mul_ps(C1, gi));
        __m256 vi = _mm256_fmadd_ps(B2, _mm256_loadu_ps(v + i), _mm256_mul_ps(C2, _mm256_mul_ps(gi, gi)));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        __m256 step = _mm256_div_ps(_mm256_mul_ps(LR, mi), _mm256_add_ps(_mm256_sqrt_ps(vi), EPS));
        _mm256_storeu_ps(w + i, _mm256_sub_ps(_mm256_loadu_ps(w + i), step));
    }
    update_c(n8, n, w, g, m, v, b1, b2, c1, c2, lr, eps);
}

#else
#define HAVE_X86_PATH 0
#endif

void adam_update(const struct adam *a, float *restrict w, const float *restrict g,
                 float *restrict m, float *restrict v, size_t n)
{
    const float b1 = (float)a->beta1, b2 = (float)a->beta2, c1 = (float)(1 - a->beta1),
                c2 = (float)(1 - a->beta2), lr = (float)a->lr_t, eps = (float)a->eps;
#if HAVE_X86_PATH
    if (lstm_cpu_has_avx2_fma()) { update_avx2(n, w, g, m, v, b1, b2, c1, c2, lr, eps); return; }
#endif
    update_c(0, n, w, g, m, v, b1, b2, c1, c2, lr, eps);
}
