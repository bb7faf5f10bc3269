/* lstm.c — the end model's numerics: Keras-compatible initialisation, the batched
 * training forward pass and its hand-written backward pass, and prediction.
 *
 * Shapes (Keras layout, row-major): E vocab x D, Wx D x 4H, Wh H x 4H, b 4H, Wd H x C,
 * bd C; gate order i, f, c, o.  A batch is laid out time-major (row t*B + b) so that
 * one time step is a contiguous B x 4H block.  Every product goes through OpenBLAS.
 *
 * The input projection x W_x.  Without input dropout it is ONE product for the whole
 * batch over its distinct tokens (U x 512 by 512 x 4H, U <= B*T; padding, shared by
 * nearly every sequence, counted once), and so are dW_x and dX backward.  With
 * dropout, Keras' masks (SpatialDropout1D and the LSTM's input dropout) are one per
 * sequence and channel, the same at all 120 steps, so a sequence's inputs live on the
 * channels its masks keep (about 20 of 512 at the study's rates): each sequence's
 * projection is one product over its distinct tokens and kept channels, backward
 * likewise.  Same numbers as the dense (B*T) x 512 by 512 x 4H product of the masked
 * inputs, for a small fraction of its work.  The recurrent product, B x H by H x 4H, runs step
 * by step; dW_h is one product over all steps (per sequence on its kept units under
 * recurrent dropout).  Sequences are split over threads; elementwise work is in
 * lstm_cell.c.  Padding (id 0) is an ordinary token, as in Keras with mask_zero=False.
 */
#include "model/lstm.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "model/lstm_cell.h"
#include "model/train.h"

void lstm_params_free(struct lstm_params *p)
{
    if (!p) return;
    free(p->E); free(p->Wx); free(p->Wh); free(p->b); free(p->Wd); free(p->bd);
    p->E = p->Wx = p->Wh = p->b = p->Wd = p->bd = NULL;
}

int lstm_params_alloc(struct lstm_params *p)
{
    if (p->vocab < 1 || p->embed < 1 || p->hidden < 1 || p->classes < 2) return -1;
    size_t G = lstm_gates(p);
    p->E = calloc((size_t)p->vocab * p->embed, sizeof(float));
    p->Wx = calloc((size_t)p->embed * G, sizeof(float));
    p->Wh = calloc((size_t)p->hidden * G, sizeof(float));
    p->b = calloc(G, sizeof(float));
    p->Wd = calloc((size_t)p->hidden * p->classes, sizeof(float));
    p->bd = calloc((size_t)p->classes, sizeof(float));
    if (!p->E || !p->Wx || !p->Wh || !p->b || !p->Wd || !p->bd) {
        lstm_params_free(p);
        return -1;
    }
    return 0;
}

void lstm_params_copy(struct lstm_params *dst, const struct lstm_params *src)
{
    size_t G = lstm_gates(src);
    memcpy(dst->E, src->E, (size_t)src->vocab * src->embed * sizeof(float));
    memcpy(dst->Wx, src->Wx, (size_t)src->embed * G * sizeof(float));
    memcpy(dst->Wh, src->Wh, (size_t)src->hidden * G * sizeof(float));
    memcpy(dst->b, src->b, G * sizeof(float));
    memcpy(dst->Wd, src->Wd, (size_t)src->hidden * src->classes * sizeof(float));
    memcpy(dst->bd, src->bd, (size_t)src->classes * sizeof(float));
}

/* ---- initialisers ------------------------------------------------------------ */

static void fill_uniform(struct lstm_rng *r, float *a, size_t n, double limit)
{
    for (size_t i = 0; i < n; i++) a[i] = (float)((2 * lstm_rng_uniform(r) - 1) * limit);
}

static double rng_normal(struct lstm_rng *r)
{
    /* Box-Muller; 1 - u keeps log() away from 0. */
    double u = 1 - lstm_rng_uniform(r), v = lstm_rng_uniform(r);
    return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Keras' Orthogonal for a ROWS x COLS kernel with ROWS <= COLS: QR of a COLS x ROWS
 * Gaussian matrix, Q's columns signed so R's diagonal is positive (which is what
 * Gram-Schmidt gives), transposed.  So the ROWS rows come out orthonormal. */
static int fill_orthogonal(struct lstm_rng *r, float *a, int rows, int cols)
{
    int n = rows < cols ? cols : rows, k = rows < cols ? rows : cols;
    double *q = malloc((size_t)n * k * sizeof(double)); /* k vectors of length n */
    if (!q) return -1;
    for (size_t i = 0; i < (size_t)n * k; i++) q[i] = rng_normal(r);
    for (int j = 0; j < k; j++) {
        double *v = q + (size_t)j * n;
        for (int pass = 0; pass < 2; pass++)   /* twice: modified Gram-Schmidt, re-orthogonalised */
            for (int i = 0; i < j; i++) {
                const double *u = q + (size_t)i * n;
                double dot = 0;
                for (int e = 0; e < n; e++) dot += u[e] * v[e];
                for (int e = 0; e < n; e++) v[e] -= dot * u[e];
            }
        double norm = 0;
        for (int e = 0; e < n; e++) norm += v[e] * v[e];
        norm = sqrt(norm);
        for (int e = 0; e < n; e++) v[e] /= norm;
    }
    /* rows <= cols: row i of A is vector i.  rows > cols: column j of A is vector j. */
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            a[(size_t)i * cols + j] = (float)(rows <= cols ? q[(size_t)i * n + j] : q[(size_t)j * n + i]);
    free(q);
    return 0;
}

int lstm_params_init(struct lstm_params *p, int vocab, int embed, int hidden, int classes,
                     unsigned long seed)
{
    memset(p, 0, sizeof *p);
    p->vocab = vocab; p->embed = embed; p->hidden = hidden; p->classes = classes;
    if (lstm_params_alloc(p) < 0) return -1;
    struct lstm_rng r;
    lstm_rng_seed(&r, (uint64_t)seed);
    size_t G = lstm_gates(p);
    fill_uniform(&r, p->E, (size_t)vocab * embed, 0.05);
    fill_uniform(&r, p->Wx, (size_t)embed * G, sqrt(6.0 / (double)(embed + G)));
    if (fill_orthogonal(&r, p->Wh, hidden, (int)G) < 0) { lstm_params_free(p); return -1; }
    for (int j = 0; j < hidden; j++) p->b[hidden + j] = 1.0f;   /* unit_forget_bias */
    fill_uniform(&r, p->Wd, (size_t)hidden * classes, sqrt(6.0 / (double)(hidden + classes)));
    return 0;
}

/* ---- threads ------------------------------------------------------------------ */

struct part_job { void (*fn)(void *, int, int); void *ctx; int part, nparts; };

static void *part_main(void *arg)
{
    struct part_job *j = arg;
    j->fn(j->ctx, j->part, j->nparts);
    return NULL;
}

void lstm_parallel(int nparts, void (*fn)(void *ctx, int part, int nparts), void *ctx)
{
    if (nparts > LSTM_MAX_THREADS) nparts = LSTM_MAX_THREADS;
    if (nparts <= 1) { fn(ctx, 0, 1); return; }
    pthread_t tid[LSTM_MAX_THREADS];
    struct part_job job[LSTM_MAX_THREADS];
    int started[LSTM_MAX_THREADS] = { 0 };
    for (int i = 1; i < nparts; i++) {
        job[i] = (struct part_job){ fn, ctx, i, nparts };
        started[i] = pthread_create(&tid[i], NULL, part_main, &job[i]) == 0;
    }
    fn(ctx, 0, nparts);
    for (int i = 1; i < nparts; i++) {
        if (started[i]) pthread_join(tid[i], NULL);
        else fn(ctx, i, nparts);   /* no thread to be had: do its share here */
    }
}

/* ---- workspace ------------------------------------------------------------- */

void lstm_work_free(struct lstm_work *w)
{
    if (!w) return;
    free(w->in_mask); free(w->rec_mask); free(w->X); free(w->Z); free(w->C); free(w->Hm);
    free(w->hlast); free(w->probs); free(w->dZ); free(w->dh); free(w->dc);
    free(w->dlogits); free(w->active); free(w->nactive); free(w->touched); free(w->stamp);
    free(w->uniq); free(w->nuniq); free(w->pos2u); free(w->ZU);
    for (int i = 0; i < LSTM_MAX_THREADS; i++) {
        free(w->part[i]); free(w->wc[i]); free(w->dwc[i]); free(w->zu[i]); free(w->ustamp[i]); free(w->uslot[i]);
        free(w->hpart[i]); free(w->hscratch[i]); free(w->hkept[i]);
    }
    free(w);
}

int lstm_work_set_threads(struct lstm_work *w, const struct lstm_params *p, int n)
{
    if (n < 1) n = 1;
    if (n > LSTM_MAX_THREADS) n = LSTM_MAX_THREADS;
    size_t DG = (size_t)p->embed * lstm_gates(p);
    for (int i = 0; i < n; i++) {
        if (!w->part[i] && !(w->part[i] = malloc(DG * sizeof(float)))) return -1;
        if (!w->wc[i] && !(w->wc[i] = malloc(DG * sizeof(float)))) return -1;
        if (!w->dwc[i] && !(w->dwc[i] = malloc(DG * sizeof(float)))) return -1;
        if (!w->zu[i] && !(w->zu[i] = malloc((size_t)w->seq_len * lstm_gates(p) * sizeof(float)))) return -1;
        if (!w->ustamp[i] && !(w->ustamp[i] = calloc((size_t)p->vocab, sizeof(unsigned)))) return -1;
        if (!w->uslot[i] && !(w->uslot[i] = malloc((size_t)p->vocab * sizeof(int)))) return -1;
        size_t HG = (size_t)p->hidden * lstm_gates(p), TH = (size_t)w->seq_len * p->hidden;
        if (!w->hpart[i] && !(w->hpart[i] = malloc(HG * sizeof(float)))) return -1;
        if (!w->hscratch[i] && !(w->hscratch[i] = malloc((TH + HG) * sizeof(float)))) return -1;
        if (!w->hkept[i] && !(w->hkept[i] = malloc((size_t)p->hidden * sizeof(int)))) return -1;
    }
    w->threads = n;
    return 0;
}

/* TRAINING: also the buffers only the backward pass and the gathered inputs need. */
static struct lstm_work *work_new(const struct lstm_params *p, int max_batch, int seq_len, int training)
{
    if (max_batch < 1 || seq_len < 1) return NULL;
    struct lstm_work *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t B = (size_t)max_batch, T = (size_t)seq_len, D = (size_t)p->embed,
           H = (size_t)p->hidden, G = lstm_gates(p), C = (size_t)p->classes;
    w->max_batch = max_batch; w->seq_len = seq_len; w->threads = 1;
    w->in_mask = malloc(B * D * sizeof(float));
    w->rec_mask = malloc(B * H * sizeof(float));
    w->Z = malloc(T * B * G * sizeof(float));
    w->C = malloc((T + 1) * B * H * sizeof(float));
    w->Hm = malloc(T * B * H * sizeof(float));
    w->hlast = malloc(B * H * sizeof(float));
    w->probs = malloc(B * C * sizeof(float));
    w->dh = malloc(B * H * sizeof(float));
    w->dc = malloc(B * H * sizeof(float));
    w->dlogits = malloc(B * C * sizeof(float));
    int ok = w->in_mask && w->rec_mask && w->Z && w->C && w->Hm && w->hlast && w->probs &&
             w->dh && w->dc && w->dlogits;
    if (ok && training) {
        size_t rows = B * T < (size_t)p->vocab ? B * T : (size_t)p->vocab;
        w->X = malloc(T * B * D * sizeof(float));
        w->dZ = malloc(T * B * G * sizeof(float));
        w->active = malloc(B * D * sizeof(int));
        w->nactive = malloc(B * sizeof(int));
        w->touched = malloc(rows * sizeof(int));
        w->stamp = calloc((size_t)p->vocab, sizeof(unsigned));
        w->uniq = malloc(B * T * sizeof(int));
        w->ZU = malloc(rows * G * sizeof(float));
        w->nuniq = malloc(B * sizeof(int));
        w->pos2u = malloc(B * T * sizeof(int));
        ok = w->X && w->dZ && w->active && w->nactive && w->touched && w->stamp && w->uniq &&
             w->nuniq && w->pos2u && w->ZU &&
             lstm_work_set_threads(w, p, 1) == 0;
    }
    if (!ok) {
        lstm_work_free(w);
        return NULL;
    }
    return w;
}

struct lstm_work *lstm_work_new(const struct lstm_params *p, int max_batch, int seq_len)
{
    return work_new(p, max_batch, seq_len, 1);
}

/* ---- forward ---------------------------------------------------------------- */

/* Dense layer and softmax on the last hidden state; returns the summed cross-entropy
 * against TARGETS (Keras clips probabilities to [1e-7, 1 - 1e-7] before the log). */
static double dense_softmax(const struct lstm_params *p, int B, const float *h, float *probs,
                            const float *targets)
{
    int H = p->hidden, C = p->classes;
    double loss = 0;
    for (int bi = 0; bi < B; bi++) {
        float *pr = probs + (size_t)bi * C;
        const float *hb = h + (size_t)bi * H;
        float mx = -INFINITY;
        for (int k = 0; k < C; k++) {
            float s = p->bd[k];
            for (int j = 0; j < H; j++) s += hb[j] * p->Wd[(size_t)j * C + k];
            pr[k] = s;
            if (s > mx) mx = s;
        }
        double sum = 0;
        for (int k = 0; k < C; k++) { pr[k] = expf(pr[k] - mx); sum += pr[k]; }
        for (int k = 0; k < C; k++) pr[k] = (float)(pr[k] / sum);
        if (targets)
            for (int k = 0; k < C; k++) {
                double q = pr[k] < 1e-7f ? 1e-7 : pr[k] > 1 - 1e-7f ? 1 - 1e-7 : pr[k];
                loss -= targets[(size_t)bi * C + k] * log(q);
            }
    }
    return loss;
}

/* What the parallel phases of a pass share. */
struct pass {
    const struct lstm_params *p;
    struct lstm_work *w;
    struct lstm_params *g;
};

/* Sequence b's T x nactive[b] kept inputs (E[token] * mask on its kept channels). */
static float *seq_inputs(const struct lstm_work *w, int embed, int b)
{
    return w->X + (size_t)b * w->seq_len * embed;
}

/* The k x 4H rows of W_x for sequence b's kept channels (W_x itself when all are kept). */
static const float *seq_kernel(const struct pass *ps, int b, int part)
{
    const struct lstm_params *p = ps->p;
    struct lstm_work *w = ps->w;
    int k = w->nactive[b], G = 4 * p->hidden;
    if (k == p->embed) return p->Wx;
    const int *act = w->active + (size_t)b * p->embed;
    float *wc = w->wc[part];
    for (int j = 0; j < k; j++)
        memcpy(wc + (size_t)j * G, p->Wx + (size_t)act[j] * G, (size_t)G * sizeof(float));
    return wc;
}

/* A sequence's distinct tokens: uniq[0..U-1] in order of first appearance, and for
 * every step the index of its token among them.  A thread-private stamp per vocabulary
 * row makes this O(T) without clearing anything. */
static int distinct_tokens(struct lstm_work *w, int vocab, int part, int b)
{
    int T = w->seq_len, U = 0;
    const int *tok = w->tokens + (size_t)b * T;
    int *uniq = w->uniq + (size_t)b * T, *pos = w->pos2u + (size_t)b * T, *slot = w->uslot[part];
    unsigned *stamp = w->ustamp[part];
    if (++w->ucount[part] == 0) {   /* wrapped: forget every old stamp */
        memset(stamp, 0, (size_t)vocab * sizeof(unsigned));
        w->ucount[part] = 1;
    }
    unsigned now = w->ucount[part];
    for (int t = 0; t < T; t++) {
        int v = tok[t];
        if (stamp[v] != now) { stamp[v] = now; slot[v] = U; uniq[U++] = v; }
        pos[t] = slot[v];
    }
    w->nuniq[b] = U;
    return U;
}

/* Phase 1, per sequence: the kept channels, the inputs of its distinct tokens on them
 * (U x k), their projection (one U x k by k x 4H product: a token that recurs, padding
 * above all, is projected once), and Z = b + that row at every step (time-major). */
static void fwd_project(void *ctx, int part, int nparts)
{
    struct pass *ps = ctx;
    const struct lstm_params *p = ps->p;
    struct lstm_work *w = ps->w;
    int B = w->batch, T = w->seq_len, D = p->embed, G = 4 * p->hidden, lo, hi;
    lstm_share(B, part, nparts, &lo, &hi);
    float *zu = w->zu[part];
    for (int b = lo; b < hi; b++) {
        int *act = w->active + (size_t)b * D, k = 0;
        const float *m = w->in_mask + (size_t)b * D;
        if (w->use_in_mask) { for (int d = 0; d < D; d++) if (m[d] != 0) act[k++] = d; }
        else for (int d = 0; d < D; d++) act[k++] = d;
        w->nactive[b] = k;
        int U = distinct_tokens(w, p->vocab, part, b);
        const int *uniq = w->uniq + (size_t)b * T, *pos = w->pos2u + (size_t)b * T;
        float *x = seq_inputs(w, D, b);
        for (int u = 0; u < U; u++) {
            const float *e = p->E + (size_t)uniq[u] * D;
            float *xr = x + (size_t)u * k;
            if (!w->use_in_mask) memcpy(xr, e, (size_t)D * sizeof(float));
            else for (int j = 0; j < k; j++) xr[j] = e[act[j]] * m[act[j]];
        }
        if (k > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, U, G, k, 1.0f, x, k,
                        seq_kernel(ps, b, part), G, 0.0f, zu, G);
        for (int t = 0; t < T; t++) {
            float *z = w->Z + ((size_t)t * B + b) * G;
            const float *zr = zu + (size_t)pos[t] * G;
            if (k > 0) lstm_vec_add(z, p->b, zr, G);
            else memcpy(z, p->b, (size_t)G * sizeof(float));
        }
    }
}

/* Without input dropout every sequence reads the same rows of E, so the batch's input
 * projection is ONE product over its distinct tokens (padding, shared by nearly every
 * sequence, once): X_u (U x D) times W_x.  The batch's distinct tokens, serially. */
static void batch_distinct(struct lstm_work *w, int vocab)
{
    int n = w->batch * w->seq_len, U = 0;
    int *slot = w->uslot[0];
    unsigned *stamp = w->ustamp[0];
    if (++w->ucount[0] == 0) {
        memset(stamp, 0, (size_t)vocab * sizeof(unsigned));
        w->ucount[0] = 1;
    }
    unsigned now = w->ucount[0];
    for (int i = 0; i < n; i++) {   /* tokens are batch x T: i = b*T + t */
        int v = w->tokens[i];
        if (stamp[v] != now) { stamp[v] = now; slot[v] = U; w->uniq[U++] = v; }
        w->pos2u[i] = slot[v];
    }
    w->batch_uniq = U;
}

/* Rows [lo, hi) of the distinct tokens: gather E, then their share of the product. */
static void fwd_batch_project(void *ctx, int part, int nparts)
{
    struct pass *ps = ctx;
    const struct lstm_params *p = ps->p;
    struct lstm_work *w = ps->w;
    int D = p->embed, G = 4 * p->hidden, lo, hi;
    lstm_share(w->batch_uniq, part, nparts, &lo, &hi);
    if (hi <= lo) return;
    for (int u = lo; u < hi; u++)
        memcpy(w->X + (size_t)u * D, p->E + (size_t)w->uniq[u] * D, (size_t)D * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, hi - lo, G, D, 1.0f, w->X + (size_t)lo * D, D,
                p->Wx, G, 0.0f, w->ZU + (size_t)lo * G, G);
}

/* Per sequence: Z = b + its tokens' rows of the product, time-major. */
static void fwd_batch_fill(void *ctx, int part, int nparts)
{
    struct pass *ps = ctx;
    const struct lstm_params *p = ps->p;
    struct lstm_work *w = ps->w;
    int B = w->batch, T = w->seq_len, G = 4 * p->hidden, lo, hi;
    lstm_share(B, part, nparts, &lo, &hi);
    for (int b = lo; b < hi; b++)
        for (int t = 0; t < T; t++)
            lstm_vec_add(w->Z + ((size_t)t * B + b) * G, p->b, w->ZU + (size_t)w->pos2u[(size_t)b * T + t] * G, G);
}

/* Phase 2, per group of sequences: the recurrence over all steps. */
static void fwd_recur(void *ctx, int part, int nparts)
{
    struct pass *ps = ctx;
    const struct lstm_params *p = ps->p;
    struct lstm_work *w = ps->w;
    int B = w->batch, T = w->seq_len, H = p->hidden, G = 4 * H, lo, hi;
    lstm_share(B, part, nparts, &lo, &hi);
    if (hi <= lo) return;
    int n = hi - lo;
    memset(w->C + (size_t)lo * H, 0, (size_t)n * H * sizeof(float));
    const float *rmask = w->use_rec_mask ? w->rec_mask + (size_t)lo * H : NULL;
    for (int t = 0; t < T; t++) {
        float *z = w->Z + ((size_t)t * B + lo) * G;
        if (t > 0)  /* h(-1) = 0: no recurrent term at the first step */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, G, H,
                        1.0f, w->Hm + ((size_t)t * B + lo) * H, H, p->Wh, G, 1.0f, z, G);
        lstm_cell_forward(n, H, z, w->C + ((size_t)t * B + lo) * H, w->C + ((size_t)(t + 1) * B + lo) * H,
                  w->hlast + (size_t)lo * H, t + 1 < T ? w->Hm + ((size_t)(t + 1) * B + lo) * H : NULL, rmask);
    }
}

double lstm_forward(const struct lstm_params *p, struct lstm_work *w,
                    const int *tokens, int B, const float *targets)
{
    struct pass ps = { p, w, NULL };
    w->batch = B;
    w->tokens = tokens;
    w->batch_path = !w->use_in_mask;
    if (w->batch_path) {
        batch_distinct(w, p->vocab);
        lstm_parallel(w->threads, fwd_batch_project, &ps);
        lstm_parallel(w->threads, fwd_batch_fill, &ps);
    } else {
        lstm_parallel(w->threads, fwd_project, &ps);
    }
    lstm_parallel(w->threads, fwd_recur, &ps);
    double loss = dense_softmax(p, B, w->hlast, w->probs, targets);
    return targets ? loss / B : 0;
}

/* ---- backward --------------------------------------------------------------- */

/* Backward through time for a group of sequences: dZ and, step by step,
 * dh(t-1) = (dz W_h^T) * rec_mask. */
static void bwd_recur(void *ctx, int part, int nparts)
{
    struct pass *ps = ctx;
    const struct lstm_params *p = ps->p;
    struct lstm_work *w = ps->w;
    int B = w->batch, T = w->seq_len, H = p->hidden, G = 4 * H, lo, hi;
    lstm_share(B, part, nparts, &lo, &hi);
    if (hi <= lo) return;
    int n = hi - lo;
    float *dhs = w->dh + (size_t)lo * H, *dcs = w->dc + (size_t)lo * H;
    memset(dcs, 0, (size_t)n * H * sizeof(float));
    const float *rmask = w->use_rec_mask ? w->rec_mask + (size_t)lo * H : NULL;
    for (int t = T - 1; t >= 0; t--) {
        const float *a = w->Z + ((size_t)t * B + lo) * G;
        float *dz = w->dZ + ((size_t)t * B + lo) * G;
        const float *cprev = w->C + ((size_t)t * B + lo) * H, *ccur = w->C + ((size_t)(t + 1) * B + lo) * H;
        lstm_cell_backward(n, H, a, cprev, ccur, dhs, dcs, dz);
        if (t > 0) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, H, G,
                        1.0f, dz, G, p->Wh, G, 0.0f, dhs, H);
            if (rmask)
                for (size_t e = 0; e < (size_t)n * H; e++) dhs[e] *= rmask[e];
        }
    }
}

/* dW_h = sum over steps 1..T-1 of Hm^T dZ (without recurrent dropout), and db: split
 * by gate columns. */
static void bwd_recurrent_kernel(void *ctx, int part, int nparts)
{
    struct pass *ps = ctx;
    const struct lstm_params *p = ps->p;
    struct lstm_work *w = ps->w;
    int B = w->batch, T = w->seq_len, H = p->hidden, G = 4 * H, lo, hi;
    lstm_share(G / 16, part, nparts, &lo, &hi);   /* whole 16-column blocks */
    lo *= 16; hi = part == nparts - 1 ? G : hi * 16;
    if (hi <= lo) return;
    if (w->use_rec_mask) {
        /* bwd_project sums dW_h sequence by sequence, on each one's kept units only */
    } else if (T > 1) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, hi - lo, (T - 1) * B,
                    1.0f, w->Hm + (size_t)B * H, H, w->dZ + (size_t)B * G + lo, G, 0.0f, ps->g->Wh + lo, G);
    } else {
        for (int r = 0; r < H; r++) memset(ps->g->Wh + (size_t)r * G + lo, 0, (size_t)(hi - lo) * sizeof(float));
    }
    float *db = ps->g->b;
    for (int k = lo; k < hi; k++) db[k] = 0;
    for (size_t r = 0; r < (size_t)T * B; r++) lstm_vec_acc(db + lo, w->dZ + r * G + lo, hi - lo);
}

/* With recurrent dropout, sequence b's h(t-1) reaches W_h only through the units its
 * mask keeps (about 20% at the study's 0.8), the same units at every step; so its
 * share of dW_h is a (kept units) x 4H product over steps 1..T-1, added into the
 * thread's partial dW_h: a fifth of the dense product's work. */
static void recurrent_kernel_grad(const struct pass *ps, int part, int b)
{
    const struct lstm_params *p = ps->p;
    struct lstm_work *w = ps->w;
    int B = w->batch, T = w->seq_len, H = p->hidden, G = 4 * H, r = 0;
    if (T < 2) return;
    int *kept = w->hkept[part];
    const float *rm = w->rec_mask + (size_t)b * H;
    for (int j = 0; j < H; j++) if (rm[j] != 0) kept[r++] = j;
    if (r == 0) return;
    float *hc = w->hscratch[part], *dwh = hc + (size_t)T * H;
    for (int t = 1; t < T; t++) {
        const float *hm = w->Hm + ((size_t)t * B + b) * H;
        for (int j = 0; j < r; j++) hc[(size_t)(t - 1) * r + j] = hm[kept[j]];
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r, G, T - 1, 1.0f, hc, r,
                w->dZ + ((size_t)B + b) * G, B * G, 0.0f, dwh, G);
    float *acc = w->hpart[part];
    for (int j = 0; j < r; j++) {
        float *dst = acc + (size_t)kept[j] * G;
        const float *src = dwh + (size_t)j * G;
        lstm_vec_acc(dst, src, G);
    }
}

/* Per sequence: dz summed over the steps of each distinct token (U x 4H); the dW_x
 * rows of its kept channels += x^T dz (into this thread's partial sum); and
 * dx = dz W_x^T over the kept channels, which overwrites x. */
static void bwd_project(void *ctx, int part, int nparts)
{
    struct pass *ps = ctx;
    const struct lstm_params *p = ps->p;
    struct lstm_work *w = ps->w;
    int B = w->batch, T = w->seq_len, D = p->embed, G = 4 * p->hidden, lo, hi;
    lstm_share(B, part, nparts, &lo, &hi);
    float *acc = w->part[part], *dzu = w->zu[part];
    memset(acc, 0, (size_t)D * G * sizeof(float));
    for (int b = lo; b < hi; b++) {
        int k = w->nactive[b], U = w->nuniq[b];
        if (k == 0) continue;
        float *x = seq_inputs(w, D, b);
        const int *pos = w->pos2u + (size_t)b * T;
        memset(dzu, 0, (size_t)U * G * sizeof(float));
        for (int t = 0; t < T; t++) {
            const float *dz = w->dZ + ((size_t)t * B + b) * G;
            float *dst = dzu + (size_t)pos[t] * G;
            lstm_vec_acc(dst, dz, G);
        }
        const float *wk = seq_kernel(ps, b, part);
        if (k == D) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, G, U, 1.0f, x, D, dzu, G, 1.0f, acc, G);
        } else {
            float *dwk = w->dwc[part];
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, G, U, 1.0f, x, k, dzu, G, 0.0f, dwk, G);
            const int *act = w->active + (size_t)b * D;
            for (int j = 0; j < k; j++) {
                float *dst = acc + (size_t)act[j] * G;
                const float *src = dwk + (size_t)j * G;
                lstm_vec_acc(dst, src, G);
            }
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, U, k, G, 1.0f, dzu, G, wk, G, 0.0f, x, k);
    }
}

/* Batch path, backward: dZ summed per distinct token (this part's tokens [lo, hi)). */
static void bwd_batch_sum(void *ctx, int part, int nparts)
{
    struct pass *ps = ctx;
    struct lstm_work *w = ps->w;
    int B = w->batch, T = w->seq_len, G = 4 * ps->p->hidden, lo, hi;
    lstm_share(w->batch_uniq, part, nparts, &lo, &hi);
    if (hi <= lo) return;
    memset(w->ZU + (size_t)lo * G, 0, (size_t)(hi - lo) * G * sizeof(float));
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            int u = w->pos2u[(size_t)b * T + t];
            if (u >= lo && u < hi) lstm_vec_acc(w->ZU + (size_t)u * G, w->dZ + ((size_t)t * B + b) * G, G);
        }
}

/* dW_x = X_u^T dZ_u, ONE product, split by rows of dW_x (input channels). */
static void bwd_batch_kernel(void *ctx, int part, int nparts)
{
    struct pass *ps = ctx;
    const struct lstm_params *p = ps->p;
    struct lstm_work *w = ps->w;
    int D = p->embed, G = 4 * p->hidden, lo, hi;
    lstm_share(D, part, nparts, &lo, &hi);
    if (hi <= lo) return;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hi - lo, G, w->batch_uniq, 1.0f, w->X + lo, D,
                w->ZU, G, 0.0f, ps->g->Wx + (size_t)lo * G, G);
}

/* dX_u = dZ_u W_x^T, ONE product, split by distinct tokens; overwrites X_u. */
static void bwd_batch_inputs(void *ctx, int part, int nparts)
{
    struct pass *ps = ctx;
    const struct lstm_params *p = ps->p;
    struct lstm_work *w = ps->w;
    int D = p->embed, G = 4 * p->hidden, lo, hi;
    lstm_share(w->batch_uniq, part, nparts, &lo, &hi);
    if (hi <= lo) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, hi - lo, D, G, 1.0f, w->ZU + (size_t)lo * G, G,
                p->Wx, G, 0.0f, w->X + (size_t)lo * D, D);
}

/* dW_h per sequence under recurrent dropout (see recurrent_kernel_grad). */
static void bwd_recurrent_masked(void *ctx, int part, int nparts)
{
    struct pass *ps = ctx;
    struct lstm_work *w = ps->w;
    int lo, hi;
    lstm_share(w->batch, part, nparts, &lo, &hi);
    memset(w->hpart[part], 0, (size_t)ps->p->hidden * 4 * ps->p->hidden * sizeof(float));
    for (int b = lo; b < hi; b++) recurrent_kernel_grad(ps, part, b);
}

void lstm_backward(const struct lstm_params *p, struct lstm_work *w, const float *targets,
                   struct lstm_params *g)
{
    int B = w->batch, T = w->seq_len, D = p->embed, H = p->hidden, G = 4 * H, C = p->classes;
    struct pass ps = { p, w, g };

    /* Softmax + cross-entropy: dL/dlogits = p * sum(t) - t, averaged over the batch. */
    for (int bi = 0; bi < B; bi++) {
        const float *tg = targets + (size_t)bi * C;
        float st = 0;
        for (int k = 0; k < C; k++) st += tg[k];
        for (int k = 0; k < C; k++)
            w->dlogits[(size_t)bi * C + k] = (w->probs[(size_t)bi * C + k] * st - tg[k]) / B;
    }
    /* Dense layer. */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, C, B,
                1.0f, w->hlast, H, w->dlogits, C, 0.0f, g->Wd, C);
    for (int k = 0; k < C; k++) {
        float s = 0;
        for (int bi = 0; bi < B; bi++) s += w->dlogits[(size_t)bi * C + k];
        g->bd[k] = s;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, C,
                1.0f, w->dlogits, C, p->Wd, C, 0.0f, w->dh, H);

    lstm_parallel(w->threads, bwd_recur, &ps);
    lstm_parallel(w->threads, bwd_recurrent_kernel, &ps);
    if (w->use_rec_mask) {   /* dW_h: the threads' partial sums, in thread order */
        lstm_parallel(w->threads, bwd_recurrent_masked, &ps);
        memcpy(g->Wh, w->hpart[0], (size_t)H * G * sizeof(float));
        for (int i = 1; i < w->threads; i++) lstm_vec_acc(g->Wh, w->hpart[i], H * G);
    }

    w->nbatch++;
    if (w->nbatch == 0) { memset(w->stamp, 0, (size_t)p->vocab * sizeof(unsigned)); w->nbatch = 1; }
    w->ntouched = 0;
    if (w->batch_path) {
        lstm_parallel(w->threads, bwd_batch_sum, &ps);
        lstm_parallel(w->threads, bwd_batch_kernel, &ps);
        lstm_parallel(w->threads, bwd_batch_inputs, &ps);
        for (int u = 0; u < w->batch_uniq; u++) {   /* distinct tokens: each row once */
            int tok = w->uniq[u];
            w->touched[w->ntouched++] = tok;
            lstm_vec_acc(g->E + (size_t)tok * D, w->X + (size_t)u * D, D);
        }
        return;
    }

    lstm_parallel(w->threads, bwd_project, &ps);
    /* dW_x: the threads' partial sums, in thread order. */
    memcpy(g->Wx, w->part[0], (size_t)D * G * sizeof(float));
    for (int i = 1; i < w->threads; i++) lstm_vec_acc(g->Wx, w->part[i], D * G);
    /* dE: scatter the kept channels' dx, times their mask, into the tokens' rows. */
    for (int b = 0; b < B; b++) {
        int k = w->nactive[b], U = w->nuniq[b];
        const float *dx = seq_inputs(w, D, b);
        const int *act = w->active + (size_t)b * D, *uniq = w->uniq + (size_t)b * T;
        const float *m = w->in_mask + (size_t)b * D;
        for (int u = 0; u < U; u++) {
            int tok = uniq[u];
            if (w->stamp[tok] != w->nbatch) { w->stamp[tok] = w->nbatch; w->touched[w->ntouched++] = tok; }
            if (k == 0) continue;
            float *ge = g->E + (size_t)tok * D;
            const float *dxr = dx + (size_t)u * k;
            for (int j = 0; j < k; j++) ge[act[j]] += dxr[j] * m[act[j]];
        }
    }
}

void lstm_grad_clear_rows(const struct lstm_params *p, const struct lstm_work *w,
                          struct lstm_params *g)
{
    for (int i = 0; i < w->ntouched; i++)
        memset(g->E + (size_t)w->touched[i] * p->embed, 0, (size_t)p->embed * sizeof(float));
}

/* ---- prediction ------------------------------------------------------------- */

/* Without dropout the input projection of a token is always the same row of
 * E Wx + b, so prediction computes that vocab x 4H table once (when the sequences
 * hold more tokens than the vocabulary has) and then looks rows up. */
struct predict_job {
    const struct lstm_params *p;
    const int *tokens;
    int n, seq_len;
    float *probs, *table;
    struct lstm_work *work[LSTM_MAX_THREADS];
};

/* Rows [lo, hi) of the table: b + E[v] W_x. */
static void predict_table(void *ctx, int part, int nparts)
{
    struct predict_job *j = ctx;
    const struct lstm_params *p = j->p;
    int G = 4 * p->hidden, lo, hi;
    lstm_share(p->vocab, part, nparts, &lo, &hi);
    if (hi <= lo) return;
    for (int v = lo; v < hi; v++) memcpy(j->table + (size_t)v * G, p->b, (size_t)G * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, hi - lo, G, p->embed,
                1.0f, p->E + (size_t)lo * p->embed, p->embed, p->Wx, G, 1.0f, j->table + (size_t)lo * G, G);
}

/* This part's chunks of 64 sequences: chunk c goes to part c mod nparts. */
static void predict_chunks(void *ctx, int part, int nparts)
{
    struct predict_job *j = ctx;
    const struct lstm_params *p = j->p;
    struct lstm_work *w = j->work[part];
    int G = 4 * p->hidden, T = j->seq_len, chunk = w->max_batch;
    for (int s = part * chunk; s < j->n; s += nparts * chunk) {
        int B = j->n - s < chunk ? j->n - s : chunk;
        const int *tok = j->tokens + (size_t)s * T;
        if (j->table) {
            w->batch = B;
            w->tokens = tok;
            for (int t = 0; t < T; t++)
                for (int bi = 0; bi < B; bi++)
                    memcpy(w->Z + ((size_t)t * B + bi) * G, j->table + (size_t)tok[(size_t)bi * T + t] * G,
                           (size_t)G * sizeof(float));
            struct pass ps = { p, w, NULL };
            fwd_recur(&ps, 0, 1);
            dense_softmax(p, B, w->hlast, w->probs, NULL);
        } else {
            lstm_forward(p, w, tok, B, NULL);
        }
        memcpy(j->probs + (size_t)s * p->classes, w->probs, (size_t)B * p->classes * sizeof(float));
    }
}

int lstm_predict_threads(const struct lstm_params *p, const int *tokens, int n, int seq_len,
                         float *probs, int threads)
{
    if (n < 0 || seq_len < 1) return -1;
    if (n == 0) return 0;
    for (size_t i = 0; i < (size_t)n * seq_len; i++)
        if (tokens[i] < 0 || tokens[i] >= p->vocab) return -1;
    int chunk = n < 64 ? n : 64, nchunks = (n + chunk - 1) / chunk;
    if (threads < 1) threads = 1;
    if (threads > LSTM_MAX_THREADS) threads = LSTM_MAX_THREADS;
    if (threads > nchunks) threads = nchunks;
    int use_table = (size_t)n * seq_len > (size_t)p->vocab;
    struct predict_job j = { p, tokens, n, seq_len, probs, NULL, { NULL } };
    int ok = 1;
    if (use_table) ok = (j.table = malloc((size_t)p->vocab * lstm_gates(p) * sizeof(float))) != NULL;
    for (int i = 0; ok && i < threads; i++) ok = (j.work[i] = work_new(p, chunk, seq_len, !use_table)) != NULL;
    if (ok) {
        if (use_table) lstm_parallel(threads, predict_table, &j);
        lstm_parallel(threads, predict_chunks, &j);
    }
    for (int i = 0; i < threads; i++) lstm_work_free(j.work[i]);
    free(j.table);
    return ok ? 0 : -1;
}

int lstm_predict(const struct lstm_params *p, const int *tokens, int n, int seq_len, float *probs)
{
    return lstm_predict_threads(p, tokens, n, seq_len, probs, 1);
}
