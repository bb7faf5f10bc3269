/* lstm.c — the end model's numerics: Keras-compatible initialisation, the batched
 * training forward pass and its hand-written backward pass, and plain prediction.
 *
 * Shapes (Keras layout, row-major): E vocab x D, Wx D x 4H, Wh H x 4H, b 4H, Wd H x C,
 * bd C; gate order i, f, c, o.  A batch is laid out time-major (row t*B + b) so that
 * one time step is a contiguous B x 4H block.  The big products go through OpenBLAS:
 * the input projection of the whole batch for every step is one sgemm, and so are
 * dWx, dWh and dX in the backward pass; only the B x H by H x 4H recurrent product is
 * done step by step.  Padding (id 0) is an ordinary token, as in Keras with
 * mask_zero=False.
 */
#include "model/lstm.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/train.h"

size_t lstm_params_count(const struct lstm_params *p)
{
    size_t G = lstm_gates(p);
    return (size_t)p->vocab * p->embed + (size_t)p->embed * G + (size_t)p->hidden * G + G +
           (size_t)p->hidden * p->classes + (size_t)p->classes;
}

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

/* ---- workspace ------------------------------------------------------------- */

void lstm_work_free(struct lstm_work *w)
{
    if (!w) return;
    free(w->in_mask); free(w->rec_mask); free(w->X); free(w->Z); free(w->C); free(w->Hm);
    free(w->hlast); free(w->probs); free(w->dZ); free(w->dh); free(w->dc); free(w->tmp);
    free(w->dlogits);
    free(w);
}

/* TRAINING: also the buffers only the backward pass and the gathered inputs need. */
static struct lstm_work *work_new(const struct lstm_params *p, int max_batch, int seq_len, int training)
{
    if (max_batch < 1 || seq_len < 1) return NULL;
    struct lstm_work *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t B = (size_t)max_batch, T = (size_t)seq_len, D = (size_t)p->embed,
           H = (size_t)p->hidden, G = lstm_gates(p), C = (size_t)p->classes;
    w->max_batch = max_batch; w->seq_len = seq_len;
    w->in_mask = malloc(B * D * sizeof(float));
    w->rec_mask = malloc(B * H * sizeof(float));
    w->X = training ? malloc(T * B * D * sizeof(float)) : NULL;
    w->Z = malloc(T * B * G * sizeof(float));
    w->C = malloc((T + 1) * B * H * sizeof(float));
    w->Hm = malloc(T * B * H * sizeof(float));
    w->hlast = malloc(B * H * sizeof(float));
    w->probs = malloc(B * C * sizeof(float));
    w->dZ = training ? malloc(T * B * G * sizeof(float)) : NULL;
    w->dh = malloc(B * H * sizeof(float));
    w->dc = malloc(B * H * sizeof(float));
    w->tmp = malloc(B * H * sizeof(float));
    w->dlogits = malloc(B * C * sizeof(float));
    if (!w->in_mask || !w->rec_mask || (training && (!w->X || !w->dZ)) || !w->Z || !w->C ||
        !w->Hm || !w->hlast || !w->probs || !w->dh || !w->dc || !w->tmp || !w->dlogits) {
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

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

/* Gathers the batch's (masked) embeddings time-major: X[t*B + b] = E[tok[b][t]] * m[b]. */
static void gather_inputs(const struct lstm_params *p, struct lstm_work *w, const int *tokens, int B)
{
    int T = w->seq_len, D = p->embed;
    for (int t = 0; t < T; t++)
        for (int bi = 0; bi < B; bi++) {
            const float *e = p->E + (size_t)tokens[(size_t)bi * T + t] * D;
            float *x = w->X + ((size_t)t * B + bi) * D;
            if (w->use_in_mask) {
                const float *m = w->in_mask + (size_t)bi * D;
                for (int d = 0; d < D; d++) x[d] = e[d] * m[d];
            } else {
                memcpy(x, e, (size_t)D * sizeof(float));
            }
        }
}

/* One step's gates and states, in place: z (B x 4H) holds x W + h W_h + b on entry,
 * the activations i f g o on return; c_prev -> c_next; h written to h_out (unmasked)
 * and, when hm_next is not NULL, h * rec_mask to hm_next. */
static void lstm_cell(int B, int H, float *z, const float *c_prev, float *c_next,
                      float *h_out, float *hm_next, const float *rmask)
{
    int G = 4 * H;
    for (int bi = 0; bi < B; bi++) {
        float *zi = z + (size_t)bi * G, *zf = zi + H, *zg = zi + 2 * H, *zo = zi + 3 * H;
        const float *cp = c_prev + (size_t)bi * H;
        float *cn = c_next + (size_t)bi * H, *h = h_out + (size_t)bi * H;
        for (int j = 0; j < H; j++) {
            float i = sigmoidf(zi[j]), f = sigmoidf(zf[j]), g = tanhf(zg[j]), o = sigmoidf(zo[j]);
            float c = f * cp[j] + i * g;
            zi[j] = i; zf[j] = f; zg[j] = g; zo[j] = o;
            cn[j] = c;
            h[j] = o * tanhf(c);
        }
        if (hm_next) {
            float *hm = hm_next + (size_t)bi * H;
            const float *rm = rmask ? rmask + (size_t)bi * H : NULL;
            for (int j = 0; j < H; j++) hm[j] = rm ? h[j] * rm[j] : h[j];
        }
    }
}

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

/* The recurrence over Z (which holds x W + b for every step) and the dense softmax. */
static double recur_forward(const struct lstm_params *p, struct lstm_work *w, int B, const float *targets)
{
    int T = w->seq_len, H = p->hidden, G = 4 * H;
    memset(w->C, 0, (size_t)B * H * sizeof(float));
    const float *rmask = w->use_rec_mask ? w->rec_mask : NULL;
    for (int t = 0; t < T; t++) {
        float *z = w->Z + (size_t)t * B * G;
        if (t > 0)  /* h(-1) = 0: no recurrent term at the first step */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, G, H,
                        1.0f, w->Hm + (size_t)t * B * H, H, p->Wh, G, 1.0f, z, G);
        lstm_cell(B, H, z, w->C + (size_t)t * B * H, w->C + (size_t)(t + 1) * B * H, w->hlast,
                  t + 1 < T ? w->Hm + (size_t)(t + 1) * B * H : NULL, rmask);
    }
    double loss = dense_softmax(p, B, w->hlast, w->probs, targets);
    return targets ? loss / B : 0;
}

double lstm_forward(const struct lstm_params *p, struct lstm_work *w,
                    const int *tokens, int B, const float *targets)
{
    int T = w->seq_len, D = p->embed, G = 4 * p->hidden;
    w->batch = B;
    w->tokens = tokens;
    gather_inputs(p, w, tokens, B);

    /* Z = X Wx + b for every step at once: one (T*B) x D by D x 4H product. */
    for (size_t r = 0; r < (size_t)T * B; r++) memcpy(w->Z + r * G, p->b, (size_t)G * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T * B, G, D,
                1.0f, w->X, D, p->Wx, G, 1.0f, w->Z, G);
    return recur_forward(p, w, B, targets);
}

/* ---- backward --------------------------------------------------------------- */

void lstm_backward(const struct lstm_params *p, struct lstm_work *w, const float *targets,
                   struct lstm_params *g)
{
    int B = w->batch, T = w->seq_len, D = p->embed, H = p->hidden, G = 4 * H, C = p->classes;

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
    memset(w->dc, 0, (size_t)B * H * sizeof(float));

    /* Through time.  Z holds the activations; dZ gets the pre-activation gradients. */
    const float *rmask = w->use_rec_mask ? w->rec_mask : NULL;
    for (int t = T - 1; t >= 0; t--) {
        const float *a = w->Z + (size_t)t * B * G;
        float *dz = w->dZ + (size_t)t * B * G;
        const float *cprev = w->C + (size_t)t * B * H, *ccur = w->C + (size_t)(t + 1) * B * H;
        for (int bi = 0; bi < B; bi++) {
            const float *ai = a + (size_t)bi * G, *af = ai + H, *ag = ai + 2 * H, *ao = ai + 3 * H;
            float *di = dz + (size_t)bi * G, *df = di + H, *dg = di + 2 * H, *dout = di + 3 * H;
            const float *cp = cprev + (size_t)bi * H, *cc = ccur + (size_t)bi * H;
            float *dh = w->dh + (size_t)bi * H, *dc = w->dc + (size_t)bi * H;
            for (int j = 0; j < H; j++) {
                float tc = tanhf(cc[j]);
                float i = ai[j], f = af[j], gg = ag[j], o = ao[j];
                float dcj = dc[j] + dh[j] * o * (1 - tc * tc);
                dout[j] = dh[j] * tc * o * (1 - o);
                di[j] = dcj * gg * i * (1 - i);
                df[j] = dcj * cp[j] * f * (1 - f);
                dg[j] = dcj * i * (1 - gg * gg);
                dc[j] = dcj * f;
            }
        }
        if (t > 0) {
            /* dh(t-1) = (dz Wh^T) * rec_mask */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, H, G,
                        1.0f, dz, G, p->Wh, G, 0.0f, w->dh, H);
            if (rmask)
                for (size_t e = 0; e < (size_t)B * H; e++) w->dh[e] *= rmask[e];
        }
    }

    /* Whole-sequence products.  Step 0 has h(-1) = 0, so dWh sums steps 1..T-1. */
    if (T > 1)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, H, G, (T - 1) * B,
                    1.0f, w->Hm + (size_t)B * H, H, w->dZ + (size_t)B * G, G, 0.0f, g->Wh, G);
    else
        memset(g->Wh, 0, (size_t)H * G * sizeof(float));
    memset(g->b, 0, (size_t)G * sizeof(float));
    for (size_t r = 0; r < (size_t)T * B; r++) {
        const float *dz = w->dZ + r * G;
        for (int k = 0; k < G; k++) g->b[k] += dz[k];
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, D, G, T * B,
                1.0f, w->X, D, w->dZ, G, 0.0f, g->Wx, G);
    /* dX = dZ Wx^T overwrites X (no longer needed), then scatters into E's rows. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T * B, D, G,
                1.0f, w->dZ, G, p->Wx, G, 0.0f, w->X, D);
    for (int t = 0; t < T; t++)
        for (int bi = 0; bi < B; bi++) {
            float *ge = g->E + (size_t)w->tokens[(size_t)bi * T + t] * D;
            const float *dx = w->X + ((size_t)t * B + bi) * D;
            if (w->use_in_mask) {
                const float *m = w->in_mask + (size_t)bi * D;
                for (int d = 0; d < D; d++) ge[d] += dx[d] * m[d];
            } else {
                for (int d = 0; d < D; d++) ge[d] += dx[d];
            }
        }
}

void lstm_grad_clear_rows(const struct lstm_params *p, const struct lstm_work *w,
                          struct lstm_params *g)
{
    size_t n = (size_t)w->batch * w->seq_len;
    for (size_t i = 0; i < n; i++)
        memset(g->E + (size_t)w->tokens[i] * p->embed, 0, (size_t)p->embed * sizeof(float));
}

/* ---- prediction ------------------------------------------------------------- */

/* Without dropout the input projection of a token is always the same row of
 * E Wx + b, so prediction computes that vocab x 4H table once (when the sequences
 * hold more tokens than the vocabulary has) and then looks rows up. */
int lstm_predict(const struct lstm_params *p, const int *tokens, int n, int seq_len, float *probs)
{
    if (n < 0 || seq_len < 1) return -1;
    if (n == 0) return 0;
    for (size_t i = 0; i < (size_t)n * seq_len; i++)
        if (tokens[i] < 0 || tokens[i] >= p->vocab) return -1;
    int G = 4 * p->hidden, T = seq_len, D = p->embed, V = p->vocab;
    int chunk = n < 64 ? n : 64;
    int use_table = (size_t)n * seq_len > (size_t)V;
    struct lstm_work *w = work_new(p, chunk, seq_len, !use_table);
    float *table = use_table ? malloc((size_t)V * G * sizeof(float)) : NULL;
    if (!w || (use_table && !table)) { lstm_work_free(w); free(table); return -1; }
    if (use_table) {
        for (int v = 0; v < V; v++) memcpy(table + (size_t)v * G, p->b, (size_t)G * sizeof(float));
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, V, G, D,
                    1.0f, p->E, D, p->Wx, G, 1.0f, table, G);
    }
    for (int s = 0; s < n; s += chunk) {
        int B = n - s < chunk ? n - s : chunk;
        const int *tok = tokens + (size_t)s * seq_len;
        if (use_table) {
            w->batch = B;
            w->tokens = tok;
            for (int t = 0; t < T; t++)
                for (int bi = 0; bi < B; bi++)
                    memcpy(w->Z + ((size_t)t * B + bi) * G, table + (size_t)tok[(size_t)bi * T + t] * G,
                           (size_t)G * sizeof(float));
            recur_forward(p, w, B, NULL);
        } else {
            lstm_forward(p, w, tok, B, NULL);
        }
        memcpy(probs + (size_t)s * p->classes, w->probs, (size_t)B * p->classes * sizeof(float));
    }
    lstm_work_free(w);
    free(table);
    return 0;
}
