/* model.c — the stage classifier the kernel and the tagger embed (see model.h).
 *
 * Owns: a loaded model (the model file, its vocabulary's hash table, the LSTM states
 * after k padding steps), single-cell inference, several cells at once
 * (model_classify_many, and model_run_many in parts: tag's and summary's batches) and
 * finding the shipped model.
 *
 * Why it is fast: the embedding and the LSTM's input kernel were multiplied into one
 * table when the file was written, so an input step is a row lookup; and since the
 * front padding is the same for every cell, the state after k padding steps is
 * computed once at load — a cell of n words costs n recurrent steps, not 120.  The
 * recurrent step (h·Wh, 64 x 256, then the gates) is model/infer_step.c: an AVX-512
 * version for H = 64, an AVX2 one where the CPU has no AVX-512 (model/infer_avx2.c;
 * NBSTAGE_NO_AVX512=1 chooses it on one that has), a NEON one on 64-bit ARM
 * (model/infer_neon.c), and a portable one
 * (NBSTAGE_PORTABLE=1 forces it); where the CPU
 * has AMX and the recurrent weights are bf16 values (the shipped model), every walk,
 * one cell or many, goes through the AMX kernel instead (NBSTAGE_NO_AMX=1 keeps the
 * AVX-512 one), so that one cell and a batch still give the same numbers.
 */
#include "model/model.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "model/context.h"
#include "model/infer_avx2.h"
#include "model/infer_neon.h"
#include "model/infer_step.h"
#include "model/modelfile.h"
#include "model/tokenizer.h"
#include "model/vocab.h"
#include "nbformat/notebook.h"
#include "nbformat/pysrc.h"
#include "nbformat/sharefile.h"

struct nbs_model {
    struct modelfile mf;
    struct vocab v;
    int H, G, seq_len;
    float *pad_h, *pad_c; /* (seq_len+1) x H: the state after k padding steps */
    int pad_fixed; /* from this many padding steps on the state no longer changes (bit for bit) */
    infer_many_fn many;
    const float *Wh_many; /* many's weights: mf.Wh, or the AMX kernel's packing */
    int many_max;         /* cells a call of many takes */
    /* a single cell's walk (and the padding states'): the fp32 walk on mf.Wh, or the
     * bf16 kernel on Wh packed (when every recurrent weight is a bf16 value), the same
     * numbers either way; or, with AMX, the AMX kernel, as for many cells */
    infer_run_fn run_one;
    const float *Wh_one;
    /* the packed weights (H = 64: 32 KB), at a 64-byte boundary inside: part of the
     * model's one allocation, so packing them cannot fail */
    unsigned char bf16_space[64 * 128 * sizeof(uint32_t) + 64];
    unsigned char amx_space[64 * 256 * sizeof(uint16_t) + 64]; /* likewise, for the AMX kernel */
    char name[32];
};

/* ------------------------------------------------------------------ loading */

/* model_default_path's, below; FROM_ENV when NBSTAGE_MODEL named it. */
static char default_path[PATH_MAX];
static int default_from_env;

static nbs_model *load_file(const char *path, char *err, size_t errlen);

nbs_model *model_load(const char *path, char *err, size_t errlen)
{
    nbs_model *m = load_file(path, err, errlen);
    /* A bad NBSTAGE_MODEL, set for the kernel and forgotten, is named as such: the
     * user never typed the path the message begins with. */
    static const char env[] = "NBSTAGE_MODEL=";
    size_t k = sizeof env - 1;
    if (!m && path == default_path && default_from_env && strlen(err) + k < errlen) {
        memmove(err + k, err, strlen(err) + 1);
        memcpy(err, env, k);
    }
    return m;
}

static nbs_model *load_file(const char *path, char *err, size_t errlen)
{
    nbs_model *m = calloc(1, sizeof *m);
    if (!m) { nb_error_fmt(err, errlen, "%s: out of memory", path); return NULL; }
    if (modelfile_read(path, &m->mf, err, errlen)) { free(m); return NULL; }
    const struct modelfile *mf = &m->mf;
    if (mf->classes != N_STAGES) {
        nb_error_fmt(err, errlen, "%s: model has %u classes, nbstage has %d stages", path, mf->classes, N_STAGES);
        goto fail;
    }
    for (int s = 0; s < N_STAGES; s++)
        if (strcmp(mf->stage_keys[s], stage_key[s]) != 0) {
            nb_error_fmt(err, errlen, "%s: stage %d is '%s' in the model, '%s' here", path, s,
                     mf->stage_keys[s], stage_key[s]);
            goto fail;
        }
    if (mf->hidden > 1024) { nb_error_fmt(err, errlen, "%s: hidden size %u too large", path, mf->hidden); goto fail; }
    int r = vocab_from_blob(&m->v, mf->words_blob, mf->words_len, (int)mf->words);
    if (r) {
        nb_error_fmt(err, errlen, "%s: %s", path, r == -2 ? "out of memory" : "bad vocabulary section");
        goto fail;
    }
    if (mf->flags & MF_OOV_WORD) m->v.oov_id = 1; /* modelfile_parse checked word 1 */
    m->v.context = (mf->flags & MF_CONTEXT) != 0;
    m->v.tokenize = (mf->flags & MF_ASSIGN_WORDS ? TOKENIZE_ASSIGN_WORDS : 0) |
                    (mf->flags & MF_UNICODE_LOWER ? 0 : TOKENIZE_ASCII_LOWER) |
                    (getenv("NBSTAGE_PORTABLE") ? TOKENIZE_PORTABLE : 0);
    m->H = (int)mf->hidden;
    m->G = 4 * m->H;
    m->seq_len = (int)mf->seq_len;
    int portable = getenv("NBSTAGE_PORTABLE") != NULL;
    m->many = infer_many_choose(m->H, portable);
    m->run_one = infer_run_choose(m->H, portable);
    m->Wh_one = mf->Wh;
    infer_run_fn bf16 = infer_run_choose_bf16(m->H, portable);
    if (bf16) { /* else, or when a weight is not a bf16 value: the fp32 walk */
        uint32_t *packed = (uint32_t *)(void *)(m->bf16_space + (64 - (uintptr_t)m->bf16_space % 64));
        if (infer_pack_bf16(mf->Wh, m->H, packed) == 0) {
            m->run_one = bf16;
            m->Wh_one = (const float *)(const void *)packed;
        }
    }
    m->Wh_many = mf->Wh;
    m->many_max = m->many == infer_many_avx2_h64   ? INFER_AVX2_MAX
                  : m->many == infer_many_neon_h64 ? INFER_NEON_MAX
                                                   : INFER_MANY_MAX;
    infer_many_fn amx = infer_many_choose_amx(m->H, portable);
    uint16_t *amx_packed = (uint16_t *)(void *)(m->amx_space + (64 - (uintptr_t)m->amx_space % 64));
    if (amx && infer_pack_amx(mf->Wh, m->H, amx_packed) == 0) {
        /* every walk through the one kernel: one cell and many give the same numbers */
        m->run_one = infer_run_choose_amx(m->H, 0);
        m->many = amx;
        m->Wh_one = m->Wh_many = (const float *)(const void *)amx_packed;
        m->many_max = INFER_AMX_MAX;
    }
    m->pad_h = calloc((size_t)(m->seq_len + 1) * m->H, sizeof *m->pad_h);
    m->pad_c = calloc((size_t)(m->seq_len + 1) * m->H, sizeof *m->pad_c);
    if (!m->pad_h || !m->pad_c) { nb_error_fmt(err, errlen, "%s: out of memory", path); goto fail; }
    for (int k = 1; k <= m->seq_len; k++) {
        float *h = m->pad_h + (size_t)k * m->H, *c = m->pad_c + (size_t)k * m->H;
        memcpy(h, h - m->H, (size_t)m->H * sizeof *h);
        memcpy(c, c - m->H, (size_t)m->H * sizeof *c);
        static const int pad_id = 0;
        m->run_one(mf->table, &pad_id, 1, m->Wh_one, m->H, h, c);
    }
    /* the padding state's fixed point, if fp32 reaches one (the shipped model's does
     * after 56 steps): cells of up to seq_len - pad_fixed words all start from it */
    m->pad_fixed = m->seq_len;
    while (m->pad_fixed > 0 &&
           !memcmp(m->pad_h + (size_t)(m->pad_fixed - 1) * m->H, m->pad_h + (size_t)m->seq_len * m->H,
                   (size_t)m->H * sizeof *m->pad_h) &&
           !memcmp(m->pad_c + (size_t)(m->pad_fixed - 1) * m->H, m->pad_c + (size_t)m->seq_len * m->H,
                   (size_t)m->H * sizeof *m->pad_c))
        m->pad_fixed--;
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

static int output(const nbs_model *m, const float *h, float probs[N_STAGES]);
static int clamp_len(const nbs_model *m, int n) { return n < 0 ? 0 : n > m->seq_len ? m->seq_len : n; }

int model_classify_ids(const nbs_model *m, const int *ids, int n, float probs[N_STAGES])
{
    int H = m->H;
    float h[1024], c[1024];
    int k = clamp_len(m, n);
    if (n > k) ids += n - k; /* the last ids */
    n = k;
    model_start_state(m, n, h, c);
    if (n > 0) { /* ids out of range read the padding row */
        int safe[512], *buf = n <= 512 ? safe : malloc((size_t)n * sizeof *buf);
        if (!buf) {
            for (int s = 0; s < N_STAGES; s++) probs[s] = 0;
            return MODEL_NO_MEMORY;
        }
        for (int t = 0; t < n; t++) buf[t] = ids[t] < 0 || (unsigned)ids[t] >= m->mf.vocab ? 0 : ids[t];
        m->run_one(m->mf.table, buf, n, m->Wh_one, H, h, c);
        if (buf != safe) free(buf);
    }
    return output(m, h, probs);
}

/* The dense layer and softmax on a cell's last h; the argmax.  The sums run over k
 * for all stages at once: each z[s] still adds its terms in the order k = 0, 1, ...
 * (the same numbers), but the six chains of dependent adds overlap instead of running
 * one after the other (a cell's output took ~1,000 cycles, mostly add latency). */
static int output(const nbs_model *m, const float *h, float probs[N_STAGES])
{
    if (isnan(h[0])) { /* a state model_run_many could not advance (out of memory) */
        for (int s = 0; s < N_STAGES; s++) probs[s] = 0;
        return MODEL_NO_MEMORY;
    }
    int H = m->H;
    float z[N_STAGES], mx = -INFINITY, sum = 0;
    const float *Wd = m->mf.Wd;
    for (int s = 0; s < N_STAGES; s++) z[s] = m->mf.bd[s];
#if defined(__SSE2__)
    /* stages 0-3 and 4-5 in two registers: the compiler's own version kept z in
     * memory, each k a store and a reload on the chain (same mul, then add: same bits) */
    _Static_assert(N_STAGES == 6, "two registers of stages");
    __m128 za = _mm_loadu_ps(z), zb = _mm_castpd_ps(_mm_load_sd((const double *)(const void *)(z + 4)));
    for (int k = 0; k < H; k++) {
        const float *w = Wd + (size_t)k * N_STAGES;
        __m128 hk = _mm_set1_ps(h[k]);
        za = _mm_add_ps(za, _mm_mul_ps(hk, _mm_loadu_ps(w)));
        zb = _mm_add_ps(zb, _mm_mul_ps(hk, _mm_castpd_ps(_mm_load_sd((const double *)(const void *)(w + 4)))));
    }
    _mm_storeu_ps(z, za);
    _mm_store_sd((double *)(void *)(z + 4), _mm_castps_pd(zb));
#else
    for (int k = 0; k < H; k++)
        for (int s = 0; s < N_STAGES; s++) z[s] += h[k] * Wd[(size_t)k * N_STAGES + s];
#endif
    for (int s = 0; s < N_STAGES; s++)
        if (z[s] > mx) mx = z[s];
    int best = 0;
    for (int s = 0; s < N_STAGES; s++) sum += (z[s] = expf(z[s] - mx));
    for (int s = 0; s < N_STAGES; s++) {
        probs[s] = z[s] / sum;
        if (probs[s] > probs[best]) best = s;
    }
    return best;
}

/* Each cell from its padding state through model_run_many, which groups the cells
 * (model_classify_ids gives a cell the same start state and the same steps alone). */
void model_classify_ids_many(const nbs_model *m, const int *const *ids, const int *n, int count,
                             float (*probs)[N_STAGES], int *best)
{
    int H = m->H;
    size_t k = count > 0 ? (size_t)count : 1;
    float *h = malloc(k * H * sizeof *h), *c = malloc(k * H * sizeof *c);
    const int **rows = calloc(k, sizeof *rows); /* (calloc: GCC cannot see count > 0 below) */
    int *len = calloc(k, sizeof *len);
    if (!h || !c || !rows || !len) { /* one at a time: the same numbers */
        for (int i = 0; i < count; i++) best[i] = model_classify_ids(m, ids[i], n[i], probs[i]);
        goto done;
    }
    for (int i = 0; i < count; i++) {
        len[i] = clamp_len(m, n[i]);
        rows[i] = ids[i] + (n[i] > len[i] ? n[i] - len[i] : 0); /* the last ids */
        model_start_state(m, len[i], h + (size_t)i * H, c + (size_t)i * H);
    }
    model_run_many(m, rows, len, count, h, c);
    for (int i = 0; i < count; i++) best[i] = output(m, h + (size_t)i * H, probs[i]);
done:
    free(h);
    free(c);
    free(rows);
    free(len);
}

void model_classify_many(const nbs_model *m, const char *const *src, const size_t *len, int count,
                         float (*probs)[N_STAGES], int *best)
{
    enum { CHUNK = 256 }; /* encoded ids held at once: 120 KB */
    int L = m ? m->seq_len : 0;
    int *ids = m ? malloc((size_t)CHUNK * (size_t)(L > 0 ? L : 1) * sizeof *ids) : NULL;
    if (!ids) {
        for (int i = 0; i < count; i++) best[i] = model_classify(m, src[i], len[i], probs[i]);
        return;
    }
    for (int from = 0; from < count; from += CHUNK) {
        int k = count - from < CHUNK ? count - from : CHUNK, nrun = 0, n[CHUNK], at[CHUNK];
        const int *rows[CHUNK];
        float (*p)[N_STAGES] = probs + from;
        for (int i = 0; i < k; i++) {
            const char *s = src[from + i];
            for (int j = 0; j < N_STAGES; j++) p[i][j] = 0;
            best[from + i] = STAGE_NONE;
            if (!s || pysrc_is_blank(s, len[from + i])) continue;
            int *row = ids + (size_t)nrun * L;
            int w = vocab_encode(&m->v, s, len[from + i], row, L);
            if (w < 0) { /* the tokenizer's malloc */
                best[from + i] = MODEL_NO_MEMORY;
                continue;
            }
            rows[nrun] = row + (L - w);
            n[nrun] = w;
            at[nrun++] = from + i;
        }
        float pr[CHUNK][N_STAGES];
        int b[CHUNK];
        model_classify_ids_many(m, rows, n, nrun, pr, b);
        for (int r = 0; r < nrun; r++) {
            memcpy(probs[at[r]], pr[r], sizeof pr[r]);
            best[at[r]] = b[r];
        }
    }
    free(ids);
}

int model_hidden(const nbs_model *m) { return m->H; }
const char *model_walk(const nbs_model *m)
{
    _Static_assert(INFER_AMX_MAX == 10 && INFER_MANY_MAX == 4, "the names below");
    return m->many_max == INFER_AMX_MAX        ? "AMX, 10 cells a walk"
           : m->run_one == infer_run_portable  ? "portable"
           : m->run_one == infer_run_avx2_h64  ? "AVX2, 3 cells a walk"
           : m->run_one == infer_run_neon_h64  ? "NEON, 3 cells a walk"
                                               : "AVX-512, 4 cells a walk";
}
int model_vocab_ids(const nbs_model *m) { return m->v.n; }


int model_start_class(const nbs_model *m, int n)
{
    n = clamp_len(m, n);
    return m->seq_len - n >= m->pad_fixed ? m->seq_len + 1 : n;
}

void model_start_state(const nbs_model *m, int n, float *h, float *c)
{
    size_t k = (size_t)(m->seq_len - clamp_len(m, n));
    memcpy(h, m->pad_h + k * m->H, (size_t)m->H * sizeof *h);
    memcpy(c, m->pad_c + k * m->H, (size_t)m->H * sizeof *c);
}

int model_output(const nbs_model *m, const float *h, float probs[N_STAGES]) { return output(m, h, probs); }

void model_run_many(const nbs_model *m, const int *const *ids, const int *n, int count, float *h, float *c)
{
    int S = m->many_max, H = m->H, L = m->seq_len;
    int *order = count > 0 ? malloc((size_t)count * sizeof *order) : NULL;
    int *start = calloc(2 * (size_t)L + 3, sizeof *start);
    int *buf = malloc((size_t)S * (size_t)(L > 0 ? L : 1) * sizeof *buf);
    float *hg = malloc((size_t)S * H * sizeof *hg), *cg = malloc((size_t)S * H * sizeof *cg);
    if (!order || !start || !buf || !hg || !cg) { /* one at a time: the same numbers */
        for (int i = 0; i < count; i++) {
            int k = clamp_len(m, n[i]);
            int safe[4096], *one = k <= 4096 ? safe : malloc((size_t)k * sizeof *one);
            if (!one) { /* not run: marked, so that model_output answers MODEL_NO_MEMORY */
                h[(size_t)i * H] = c[(size_t)i * H] = NAN;
                continue;
            }
            for (int t = 0; t < k; t++) one[t] = ids[i][t] < 0 || (unsigned)ids[i][t] >= m->mf.vocab ? 0 : ids[i][t];
            if (k) m->run_one(m->mf.table, one, k, m->Wh_one, H, h + (size_t)i * H, c + (size_t)i * H);
            if (one != safe) free(one);
        }
        goto done;
    }
    /* Sorted by length, so that the cells run together start within a few steps of
     * each other, and by the parity of the length first: the AVX-512 walk direction
     * follows a cell's step count, and cells of one parity share their walks
     * (infer_step.h).  A counting sort: at most 2 (L + 1) keys, and stable. */
    for (int i = 0; i < count; i++) {
        int k = clamp_len(m, n[i]);
        start[(k & 1) * (L + 1) + k + 1]++;
    }
    for (int k = 1; k <= 2 * L + 2; k++) start[k] += start[k - 1];
    for (int i = 0; i < count; i++) {
        int k = clamp_len(m, n[i]);
        order[start[(k & 1) * (L + 1) + k]++] = i;
    }
    for (int at = 0; at < count;) {
        int g = 0, len[INFER_AMX_MAX]; /* S <= INFER_AMX_MAX */
        const int *rows[INFER_AMX_MAX];
        int par = clamp_len(m, n[order[at]]) & 1;
        while (g < S && at + g < count && (clamp_len(m, n[order[at + g]]) & 1) == par) g++;
        for (int s2 = 0; s2 < g; s2++) {
            int i = order[at + s2], k = len[s2] = clamp_len(m, n[i]);
            int *dst = buf + (size_t)s2 * L;
            for (int t = 0; t < k; t++) dst[t] = ids[i][t] < 0 || (unsigned)ids[i][t] >= m->mf.vocab ? 0 : ids[i][t];
            rows[s2] = dst;
            memcpy(hg + (size_t)s2 * H, h + (size_t)i * H, (size_t)H * sizeof *hg);
            memcpy(cg + (size_t)s2 * H, c + (size_t)i * H, (size_t)H * sizeof *cg);
        }
        m->many(m->mf.table, rows, len, g, m->Wh_many, H, hg, cg);
        for (int s2 = 0; s2 < g; s2++) {
            int i = order[at + s2];
            memcpy(h + (size_t)i * H, hg + (size_t)s2 * H, (size_t)H * sizeof *hg);
            memcpy(c + (size_t)i * H, cg + (size_t)s2 * H, (size_t)H * sizeof *cg);
        }
        at += g;
    }
done:
    free(order);
    free(start);
    free(buf);
    free(hg);
    free(cg);
}

int model_classify(const nbs_model *m, const char *src, size_t len, float probs[N_STAGES])
{
    for (int s = 0; s < N_STAGES; s++) probs[s] = 0;
    if (!m || !src || pysrc_is_blank(src, len)) return STAGE_NONE;
    int ids[4096], *buf = m->seq_len <= 4096 ? ids : malloc((size_t)m->seq_len * sizeof *buf);
    if (!buf) return MODEL_NO_MEMORY;
    int n = vocab_encode(&m->v, src, len, buf, m->seq_len); /* -1: the tokenizer's malloc */
    int best = n < 0 ? MODEL_NO_MEMORY : model_classify_ids(m, buf + (m->seq_len - n), n, probs);
    if (buf != ids) free(buf);
    return best;
}

int model_reads_context(const nbs_model *m) { return m && m->v.context; }

int model_classify_after(const nbs_model *m, const char *prev, size_t plen, const char *src, size_t len,
                         float probs[N_STAGES])
{
    if (!model_reads_context(m) || !src) return model_classify(m, src, len, probs);
    char stack[2048], *text = stack;
    struct context_plan pl;
    size_t n = context_plan(&pl, prev, plen, src, len);
    if (n >= sizeof stack && !(text = malloc(n + 1))) {
        for (int s = 0; s < N_STAGES; s++) probs[s] = 0;
        return MODEL_NO_MEMORY;
    }
    context_plan_put(&pl, text, prev, src, len);
    int best = model_classify(m, text, n, probs);
    if (text != stack) free(text);
    return best;
}

int model_encode(const nbs_model *m, const char *src, size_t len, int *ids)
{
    return vocab_encode(&m->v, src, len, ids, m->seq_len);
}

/* ------------------------------------------------------------------ the shipped model */

static void find_default(void)
{
    const char *env = getenv("NBSTAGE_MODEL");
    if (env && *env) {
        snprintf(default_path, sizeof default_path, "%s", env);
        default_from_env = 1;
        return;
    }
    share_file_find("default.nbsm", default_path, sizeof default_path);
}

const char *model_default_path(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, find_default);
    return default_path[0] ? default_path : NULL;
}
