/* model.c — the stage classifier the kernel and the tagger embed (see model.h).
 *
 * Owns: a loaded model (the model file, its vocabulary's hash table, the LSTM states
 * after k padding steps), single-cell inference and finding the shipped model.
 *
 * Why it is fast: the embedding and the LSTM's input kernel were multiplied into one
 * table when the file was written, so an input step is a row lookup; and since the
 * front padding is the same for every cell, the state after k padding steps is
 * computed once at load — a cell of n words costs n recurrent steps, not 120.  The
 * recurrent step (h·Wh, 64 x 256, then the gates) has an AVX-512 version for H = 64
 * and a portable one; both give the same numbers to ~1e-6.
 */
#include "model/model.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "model/modelfile.h"
#include "model/vocab.h"
#include "nbformat/pysrc.h"

/* REV: walk Wh's rows backwards (a hint for the cache, see step_avx512_h64). */
typedef void (*step_fn)(const float *xg, const float *Wh, int H, float *h, float *c, int rev);

struct nbs_model {
    struct modelfile mf;
    struct vocab v;
    int H, G, seq_len;
    float *pad_h, *pad_c; /* (seq_len+1) x H: the state after k padding steps */
    step_fn step;
    char name[32];
};

/* ------------------------------------------------------------------ one LSTM step */

static float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* gates = xg + h·Wh (Keras order i, f, c, o); c = f*c + i*tanh(g_c); h = o*tanh(c). */
static void step_portable(const float *xg, const float *Wh, int H, float *h, float *c, int rev)
{
    (void)rev;
    int G = 4 * H;
    float g[4 * 1024];
    memcpy(g, xg, (size_t)G * sizeof *g);
    for (int k = 0; k < H; k++) {
        float hk = h[k];
        const float *w = Wh + (size_t)k * G;
        for (int j = 0; j < G; j++) g[j] += hk * w[j];
    }
    for (int j = 0; j < H; j++) {
        float i = sigmoidf(g[j]), f = sigmoidf(g[H + j]), cc = tanhf(g[2 * H + j]),
              o = sigmoidf(g[3 * H + j]);
        c[j] = f * c[j] + i * cc;
        h[j] = o * tanhf(c[j]);
    }
}

#if defined(__x86_64__)
/* exp(x) for 16 floats: Cephes' expf polynomial, relative error ~1e-7. */
__attribute__((target("avx512f"))) static inline __m512 exp16(__m512 x)
{
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.0f)), _mm512_set1_ps(-88.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
    __m512 y = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(y, n);
}

__attribute__((target("avx512f"))) static inline __m512 sigmoid16(__m512 x)
{
    /* 1/d by a 14-bit estimate and one Newton step (~1e-7 relative): a division
     * would cost as much as the exponential. */
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), exp16(_mm512_sub_ps(_mm512_setzero_ps(), x)));
    __m512 r = _mm512_rcp14_ps(d);
    return _mm512_mul_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(2.0f)));
}

/* tanh(x) = 2·sigmoid(2x) - 1: one exp, and no cancellation worse than 1e-7 absolute. */
__attribute__((target("avx512f"))) static inline __m512 tanh16(__m512 x)
{
    __m512 s = sigmoid16(_mm512_add_ps(x, x));
    return _mm512_sub_ps(_mm512_add_ps(s, s), _mm512_set1_ps(1.0f));
}

/* H = 64: the 256 gate sums live in 16 registers for the whole product (the loops
 * must be unrolled, or the sums go through the stack: 4x slower).  Wh is 64 KB, more
 * than L1 (48 KB here); walking its rows forwards on one step and backwards on the
 * next finds the rows used last still in L1, where a cyclic walk would evict each one
 * just before its reuse (measured: ~860 against ~1,300 cycles a step). */
#define ROW16(k)                                                                        \
    do {                                                                                \
        __m512 hk = _mm512_set1_ps(h[k]);                                               \
        const float *w = Wh + 256 * (k);                                                \
        _Pragma("GCC unroll 16") for (int j = 0; j < 16; j++)                           \
            a[j] = _mm512_fmadd_ps(hk, _mm512_loadu_ps(w + 16 * j), a[j]);              \
    } while (0)

__attribute__((target("avx512f"))) static void step_avx512_h64(const float *xg, const float *Wh, int H,
                                                                 float *h, float *c, int rev)
{
    __m512 a[16];
    (void)H;
    _Pragma("GCC unroll 16") for (int j = 0; j < 16; j++) a[j] = _mm512_loadu_ps(xg + 16 * j);
    if (rev) for (int k = 63; k >= 0; k--) ROW16(k);
    else for (int k = 0; k < 64; k++) ROW16(k);
    _Pragma("GCC unroll 4") for (int q = 0; q < 4; q++) {
        __m512 i = sigmoid16(a[q]), f = sigmoid16(a[4 + q]), cc = tanh16(a[8 + q]),
               o = sigmoid16(a[12 + q]);
        __m512 cn = _mm512_fmadd_ps(f, _mm512_loadu_ps(c + 16 * q), _mm512_mul_ps(i, cc));
        _mm512_storeu_ps(c + 16 * q, cn);
        _mm512_storeu_ps(h + 16 * q, _mm512_mul_ps(o, tanh16(cn)));
    }
}
#endif

static step_fn choose_step(int H)
{
#if defined(__x86_64__)
    if (H == 64 && __builtin_cpu_supports("avx512f") && !getenv("NBSTAGE_PORTABLE")) return step_avx512_h64;
#endif
    return step_portable;
}

/* ------------------------------------------------------------------ loading */

nbs_model *model_load(const char *path, char *err, size_t errlen)
{
    nbs_model *m = calloc(1, sizeof *m);
    if (!m) { snprintf(err, errlen, "%s: out of memory", path); return NULL; }
    if (modelfile_read(path, &m->mf, err, errlen)) { free(m); return NULL; }
    const struct modelfile *mf = &m->mf;
    if (mf->classes != N_STAGES) {
        snprintf(err, errlen, "%s: model has %u classes, nbstage has %d stages", path, mf->classes, N_STAGES);
        goto fail;
    }
    for (int s = 0; s < N_STAGES; s++)
        if (strcmp(mf->stage_keys[s], stage_key[s]) != 0) {
            snprintf(err, errlen, "%s: stage %d is '%s' in the model, '%s' here", path, s,
                     mf->stage_keys[s], stage_key[s]);
            goto fail;
        }
    if (mf->hidden > 1024) { snprintf(err, errlen, "%s: hidden size %u too large", path, mf->hidden); goto fail; }
    int r = vocab_from_blob(&m->v, mf->words_blob, mf->words_len, (int)mf->words);
    if (r) {
        snprintf(err, errlen, "%s: %s", path, r == -2 ? "out of memory" : "bad vocabulary section");
        goto fail;
    }
    m->H = (int)mf->hidden;
    m->G = 4 * m->H;
    m->seq_len = (int)mf->seq_len;
    m->step = choose_step(m->H);
    m->pad_h = calloc((size_t)(m->seq_len + 1) * m->H, sizeof *m->pad_h);
    m->pad_c = calloc((size_t)(m->seq_len + 1) * m->H, sizeof *m->pad_c);
    if (!m->pad_h || !m->pad_c) { snprintf(err, errlen, "%s: out of memory", path); goto fail; }
    for (int k = 1; k <= m->seq_len; k++) {
        float *h = m->pad_h + (size_t)k * m->H, *c = m->pad_c + (size_t)k * m->H;
        memcpy(h, h - m->H, (size_t)m->H * sizeof *h);
        memcpy(c, c - m->H, (size_t)m->H * sizeof *c);
        m->step(mf->table, mf->Wh, m->H, h, c, k & 1); /* row 0: the padding id */
    }
    snprintf(m->name, sizeof m->name, "nbstage-lstm-%08x", mf->checksum);
    return m;
fail:
    model_free(m);
    return NULL;
}

void model_free(nbs_model *m)
{
    if (!m) return;
    vocab_free(&m->v);
    modelfile_free(&m->mf);
    free(m->pad_h);
    free(m->pad_c);
    free(m);
}

const char *model_name(const nbs_model *m) { return m ? m->name : "none"; }
const char *model_info(const nbs_model *m) { return m ? m->mf.info : ""; }
int model_seq_len(const nbs_model *m) { return m->seq_len; }
const char *model_word(const nbs_model *m, int id) { return id >= 1 && id < m->v.n ? m->v.words[id] : NULL; }

/* ------------------------------------------------------------------ inference */

int model_classify_ids(const nbs_model *m, const int *ids, int n, float probs[N_STAGES])
{
    int H = m->H;
    float h[1024], c[1024];
    if (n > m->seq_len) { ids += n - m->seq_len; n = m->seq_len; }
    memcpy(h, m->pad_h + (size_t)(m->seq_len - n) * H, (size_t)H * sizeof *h);
    memcpy(c, m->pad_c + (size_t)(m->seq_len - n) * H, (size_t)H * sizeof *c);
    for (int t = 0; t < n; t++) {
        int id = ids[t];
        if (id < 0 || (unsigned)id >= m->mf.vocab) id = 0;
        m->step(m->mf.table + (size_t)id * m->G, m->mf.Wh, H, h, c, t & 1);
    }
    float z[N_STAGES], mx = -INFINITY, sum = 0;
    for (int s = 0; s < N_STAGES; s++) {
        z[s] = m->mf.bd[s];
        for (int k = 0; k < H; k++) z[s] += h[k] * m->mf.Wd[(size_t)k * N_STAGES + s];
        if (z[s] > mx) mx = z[s];
    }
    int best = 0;
    for (int s = 0; s < N_STAGES; s++) sum += (z[s] = expf(z[s] - mx));
    for (int s = 0; s < N_STAGES; s++) {
        probs[s] = z[s] / sum;
        if (probs[s] > probs[best]) best = s;
    }
    return best;
}

int model_classify(const nbs_model *m, const char *src, size_t len, float probs[N_STAGES])
{
    for (int s = 0; s < N_STAGES; s++) probs[s] = 0;
    if (!m || !src || pysrc_is_blank(src, len)) return STAGE_NONE;
    int ids[4096], *buf = m->seq_len <= 4096 ? ids : malloc((size_t)m->seq_len * sizeof *buf);
    if (!buf) return STAGE_NONE;
    int n = vocab_encode(&m->v, src, len, buf, m->seq_len);
    int best = n < 0 ? STAGE_NONE : model_classify_ids(m, buf + (m->seq_len - n), n, probs);
    if (buf != ids) free(buf);
    return best;
}

int model_encode(const nbs_model *m, const char *src, size_t len, int *ids)
{
    return vocab_encode(&m->v, src, len, ids, m->seq_len);
}

/* ------------------------------------------------------------------ the shipped model */

static char default_path[PATH_MAX];

static void find_default(void)
{
    const char *env = getenv("NBSTAGE_MODEL");
    if (env && *env) {
        snprintf(default_path, sizeof default_path, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = 0;
    /* build tree (programs in the repo root), BIN=dir one level down, installed prefix */
    static const char *const rel[] = {"/share/default.nbsm", "/../share/default.nbsm",
                                      "/../share/nbstage/default.nbsm", "/../../share/default.nbsm"};
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char p[PATH_MAX + 64];
        snprintf(p, sizeof p, "%s%s", exe, rel[i]);
        if (access(p, R_OK) == 0 && realpath(p, default_path)) return;
    }
    default_path[0] = 0;
}

const char *model_default_path(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, find_default);
    return default_path[0] ? default_path : NULL;
}
