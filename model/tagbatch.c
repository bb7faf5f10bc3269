/* tagbatch.c — a window's classifications in batches (see tagbatch.h).
 *
 * Distinct sources are found by sorting the requests by (length, bytes).  They are
 * classified in chunks of CHUNK consecutive ones (so of like length), which the
 * threads take one at a time from a shared counter, the longest first: a thread
 * encodes its chunk, runs model_classify_ids_many on its non-blank cells at once
 * (which sorts them by word count itself) and stores the answers in the memo.  Why
 * chunks and not a fixed share per thread (until now: thread t of T took the
 * sources t, t+T, ...): a fixed share ends when its thread ends, and a thread that
 * loses its core for a while (a busy machine) left the others waiting at the end of
 * every window; taken one at a time, the last to finish is at most one short chunk
 * behind.  256 cells a chunk still makes full groups of INFER_MANY_MAX cells of like
 * length, so the batched LSTM pays as before.  Blank sources (pysrc_is_blank) and
 * failed encodings get STAGE_NONE and zero probabilities, as in model_classify.
 * With a gate (tagbatch_gate) each thread holds one unit of it from its first chunk
 * to its last (one unit per chunk instead made the caller's other threads and these
 * hand the units back and forth every chunk, for no gain measured).
 */
#include "model/tagbatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "nbformat/pysrc.h"

struct request {
    const char *src;
    size_t len;
    int *stage;
    float *prob;
};

enum { MAX_THREADS = 64 };

/* One thread's working arrays for a chunk, kept from run to run (fresh ones each
 * window cost page faults). */
struct scratch {
    int *ids;            /* count x seq_len */
    const int **rows;
    int *n, *best;
    size_t *which;
    float (*probs)[N_STAGES];
    size_t cap;
};

struct tagbatch {
    const nbs_model *model;
    struct scratch scratch[MAX_THREADS];
    struct classcache *cache;
    pthread_mutex_t lock;
    struct request *q;
    size_t n, cap;
    long hits; /* answered by the memo in tagbatch_ask */
    sem_t *gate; /* held by each classifying thread (tagbatch_gate), or NULL */
};

struct tagbatch *tagbatch_new(const nbs_model *m, struct classcache *cache)
{
    struct tagbatch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->model = m;
    b->cache = cache;
    pthread_mutex_init(&b->lock, NULL);
    return b;
}

void tagbatch_gate(struct tagbatch *b, sem_t *gate) { b->gate = gate; }

void tagbatch_free(struct tagbatch *b)
{
    if (!b) return;
    pthread_mutex_destroy(&b->lock);
    free(b->q);
    for (int t = 0; t < MAX_THREADS; t++) {
        struct scratch *x = &b->scratch[t];
        free(x->ids);
        free(x->rows);
        free(x->n);
        free(x->best);
        free(x->which);
        free(x->probs);
    }
    free(b);
}

int tagbatch_ask(struct tagbatch *b, const char *src, size_t len, int *stage, float *prob)
{
    if (b->cache) {
        int s = classcache_lookup(b->cache, src, len, prob);
        if (s != CLASSCACHE_ABSENT) {
            *stage = s;
            __atomic_add_fetch(&b->hits, 1, __ATOMIC_RELAXED); /* (no lock for a count) */
            return 1;
        }
    }
    pthread_mutex_lock(&b->lock);
    int rc = 0;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        struct request *q = realloc(b->q, cap * sizeof *q);
        if (!q) {
            rc = -1;
            goto out;
        }
        b->q = q;
        b->cap = cap;
    }
    b->q[b->n++] = (struct request){src, len, stage, prob};
out:
    pthread_mutex_unlock(&b->lock);
    return rc;
}

static int cmp_request(const void *a, const void *b)
{
    const struct request *x = a, *y = b;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return memcmp(x->src, y->src, x->len);
}

/* A classifying thread's view of the run: the distinct sources (by length) in chunks
 * of CHUNK, taken one at a time from a shared counter, longest first; the answers
 * go to the request at each (the caller copies them to its duplicates). */
enum { CHUNK = 256 };

struct share {
    const nbs_model *model;
    struct classcache *cache; /* each thread stores its own answers (may be NULL) */
    struct request *q;
    const size_t *distinct; /* indexes into q */
    size_t nd, nchunks;
    size_t *taken; /* chunks handed out, shared */
    struct scratch *x;
    sem_t *gate; /* held while taking and classifying chunks, or NULL */
};

/* Room for COUNT cells in X; -1 when out of memory (X keeps what it had). */
static int scratch_room(struct scratch *x, size_t count, int L)
{
    if (count <= x->cap) return 0;
    size_t cap = count + count / 4;
#define GROW(f, per)                                                  \
    do {                                                              \
        void *p_ = realloc((void *)x->f, cap * (per) * sizeof *x->f); \
        if (!p_) return -1;                                           \
        x->f = p_;                                                    \
    } while (0)
    GROW(ids, (size_t)L);
    GROW(rows, 1);
    GROW(n, 1);
    GROW(best, 1);
    GROW(which, 1);
    GROW(probs, 1);
#undef GROW
    x->cap = cap;
    return 0;
}

/* Classifies the distinct sources FROM .. TO and stores them in the memo. */
static void chunk_work(const struct share *sh, size_t from, size_t to)
{
    const nbs_model *m = sh->model;
    int L = model_seq_len(m);
    struct scratch *x = sh->x;
    if (scratch_room(x, to - from, L)) {
        /* one at a time: the same numbers */
        for (size_t d = from; d < to; d++) {
            struct request *r = &sh->q[sh->distinct[d]];
            float p[N_STAGES];
            *r->stage = model_classify(m, r->src, r->len, p);
            *r->prob = *r->stage >= 0 ? p[*r->stage] : 0.0f;
        }
        goto done;
    }
    int *ids = x->ids, *n = x->n, *best = x->best;
    const int **rows = x->rows;
    size_t *which = x->which;
    float(*probs)[N_STAGES] = x->probs;
    int k = 0;
    for (size_t d = from; d < to; d++) {
        struct request *r = &sh->q[sh->distinct[d]];
        *r->stage = STAGE_NONE;
        *r->prob = 0;
        if (pysrc_is_blank(r->src, r->len)) continue;
        int *row = ids + (size_t)k * L;
        int w = model_encode(m, r->src, r->len, row);
        if (w < 0) continue;
        rows[k] = row + (L - w);
        n[k] = w;
        which[k++] = sh->distinct[d];
    }
    model_classify_ids_many(m, rows, n, k, probs, best);
    for (int i = 0; i < k; i++) {
        struct request *r = &sh->q[which[i]];
        *r->stage = best[i];
        *r->prob = probs[i][best[i]];
    }
done:
    if (sh->cache)
        for (size_t d = from; d < to; d++) {
            const struct request *r = &sh->q[sh->distinct[d]];
            classcache_store(sh->cache, r->src, r->len, *r->stage, *r->prob);
        }
}

static void *run_share(void *v)
{
    const struct share *sh = v;
    if (sh->gate)
        while (sem_wait(sh->gate) && errno == EINTR) {}
    for (;;) {
        size_t c = __atomic_fetch_add(sh->taken, 1, __ATOMIC_RELAXED);
        if (c >= sh->nchunks) break;
        size_t to = sh->nd - c * CHUNK; /* chunk c from the long end */
        chunk_work(sh, to > CHUNK ? to - CHUNK : 0, to);
    }
    if (sh->gate) sem_post(sh->gate);
    return NULL;
}

void tagbatch_run(struct tagbatch *b, int threads)
{
    struct request *q = b->q;
    size_t n = b->n, nd = 0;
    long hits = b->hits;
    size_t *distinct = n ? malloc(n * sizeof *distinct) : NULL;
    if (n) qsort(q, n, sizeof *q, cmp_request);
    if (n && !distinct) { /* one at a time: the same numbers */
        for (size_t i = 0; i < n; i++) {
            float p[N_STAGES];
            *q[i].stage = model_classify(b->model, q[i].src, q[i].len, p);
            *q[i].prob = *q[i].stage >= 0 ? p[*q[i].stage] : 0.0f;
        }
    } else if (n) {
        for (size_t i = 0; i < n; i++)
            if (!i || cmp_request(&q[i - 1], &q[i])) distinct[nd++] = i;
        if (threads < 1) threads = 1;
        if (threads > MAX_THREADS) threads = MAX_THREADS;
        size_t nchunks = (nd + CHUNK - 1) / CHUNK, taken = 0;
        if ((size_t)threads > nchunks) threads = (int)nchunks;
        struct share sh[MAX_THREADS];
        pthread_t tid[MAX_THREADS];
        int started[MAX_THREADS] = {0};
        for (int t = 0; t < threads; t++)
            sh[t] = (struct share){b->model, b->cache, q, distinct, nd, nchunks, &taken,
                                   &b->scratch[t], b->gate};
        for (int t = 1; t < threads; t++)
            started[t] = !pthread_create(&tid[t], NULL, run_share, &sh[t]);
        run_share(&sh[0]);
        for (int t = 1; t < threads; t++) {
            if (started[t]) pthread_join(tid[t], NULL);
            else run_share(&sh[t]); /* (no thread: nothing left for it by now) */
        }
        /* a duplicate takes the answer of the first of its run */
        for (size_t i = 1; i < n; i++)
            if (!cmp_request(&q[i - 1], &q[i])) {
                *q[i].stage = *q[i - 1].stage;
                *q[i].prob = *q[i - 1].prob;
            }
        hits += (long)(n - nd);
    }
    if (b->cache) {
        if (n && !distinct) /* (the threads stored theirs) */
            for (size_t i = 0; i < n; i++)
                if (!i || cmp_request(&q[i - 1], &q[i]))
                    classcache_store(b->cache, q[i].src, q[i].len, *q[i].stage, *q[i].prob);
        classcache_count(b->cache, hits, distinct ? (long)nd : (long)n);
    }
    free(distinct);
    b->n = 0;
    b->hits = 0;
}
