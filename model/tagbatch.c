/* tagbatch.c — a window's classifications in batches (see tagbatch.h).
 *
 * Each ask is one look in the memo (classcache_claim): answered there; or the first
 * ask of a new source claims it and becomes its owner (the batch classifies it); or a
 * later ask of a source claimed in this window follows that owner and copies its
 * answer at the end.  So no sort of the requests by their bytes to find duplicates,
 * and no second hash and probe to store the answers (both were in the profile).
 * Without a memo every ask is an owner.
 *
 * tagbatch_run then makes three passes over the owners, each on up to THREADS
 * threads that take chunks of CHUNK one at a time from a shared counter (a thread that
 * loses its core for a while leaves the others at most one chunk to wait for):
 *   1. encode: each owner's word ids into its thread's pool; blank sources
 *      (pysrc_is_blank) and failed encodings get STAGE_NONE and probability 0, as in
 *      model_classify, and are answered at once;
 *   2. shared prefixes (plan_prefixes): owners that begin with the same words and
 *      start from the same state run those steps once, here;
 *   3. classify: the encoded owners, each from its start state or its prefix's,
 *      ordered by the steps left, longest first (a counting sort: at most seq_len + 1
 *      keys), in chunks through model_run_many and model_output, the answers written
 *      to the requests and the memo.
 * Why encode them all first: the vocabulary's hash table stays in cache over a
 * window's lookups (when each chunk was encoded just before its LSTM walks, the walks'
 * table rows pushed it out and the lookups missed), and the chunks of the second pass
 * hold cells of equal word counts, so a 4-cell walk rarely spends steps on a cell not
 * yet started (3.8% of the corpus's steps with chunks made by byte length).  The
 * answers depend neither on the grouping nor on the sharing: the batch path is
 * bit-identical to one cell at a time, and so is a cell run in two parts cut after an
 * even number of steps (model.h).  With a gate (tagbatch_gate) each thread holds one unit of it
 * through each pass, from its first chunk to its last.
 */
#include "model/tagbatch.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/blockmem.h"
#include "model/context.h"
#include "nbformat/pysrc.h"

struct request {
    const char *src;
    size_t len;
    int *stage;
    float *prob;
    uint32_t rec;   /* an owner's record in the memo, or CLASSCACHE_NO_REC */
    uint32_t owner; /* the request that classifies this source: its own index for an owner */
};

enum { MAX_THREADS = 64, CHUNK = 256 };

/* One thread's encoded ids (pass 1) and its scratch row, kept from run to run (fresh
 * ones each window cost page faults). */
struct scratch {
    int *pool;
    size_t len, cap;
    int *row;    /* seq_len ids */
    float *h, *c; /* CHUNK states (pass 2) */
};

struct tagbatch {
    const nbs_model *model;
    struct scratch scratch[MAX_THREADS];
    struct classcache *cache;
    pthread_mutex_t lock;
    struct request *q;
    size_t n, cap;
    long hits; /* answered by the memo in tagbatch_ask */
    /* tagbatch_run's arrays over the owners, kept from run to run */
    uint32_t *own;   /* owner d is request own[d] */
    int *words;      /* its word count, or -1 when answered in pass 1 */
    uint32_t *at;    /* where its ids start in its thread's pool */
    uint8_t *thread; /* whose pool */
    uint32_t *order; /* the encoded owners, longest rest first (pass 2) */
    int32_t *run;    /* the shared prefix owner d starts from, or -1 */
    size_t own_cap;
    /* shared prefixes (pass 2): run r is ids BASE[r] .. BASE[r] + DEPTH[r] of owner
     * FIRST[r], run from the state of run PARENT[r] (or the start state when -1), at
     * nesting LEVEL[r]; its state after them in RH, RC.  WAVE: a level's runs. */
    uint32_t *first, *wave;
    int *depth, *base, *level;
    int32_t *parent;
    int *lcp; /* (planning) ids owners order[i] and order[i + 1] share */
    struct keyed { uint64_t key; uint32_t d; } *keys, *keys2; /* (planning) the sort's keys */
    float *rh, *rc;
    size_t runs, runs_cap;
    sem_t *gate; /* held by each classifying thread (tagbatch_gate), or NULL */
    /* a context model's texts (tagbatch_ask_after), until the run that answers them:
     * blocks that never move, so the requests' pointers stay good, reused from window
     * to window */
    struct blockmem texts;
};

struct tagbatch *tagbatch_new(const nbs_model *m, struct classcache *cache)
{
    struct tagbatch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->model = m;
    b->cache = cache;
    b->texts.block = (size_t)1 << 20;
    b->texts.keep = (size_t)64 << 20; /* a corpus window's texts take a few MB */
    pthread_mutex_init(&b->lock, NULL);
    return b;
}

void tagbatch_gate(struct tagbatch *b, sem_t *gate) { b->gate = gate; }

void tagbatch_free(struct tagbatch *b)
{
    if (!b) return;
    blockmem_free(&b->texts);
    pthread_mutex_destroy(&b->lock);
    free(b->q);
    for (int t = 0; t < MAX_THREADS; t++) {
        free(b->scratch[t].pool);
        free(b->scratch[t].row);
        free(b->scratch[t].h);
        free(b->scratch[t].c);
    }
    free(b->run);
    free(b->first);
    free(b->wave);
    free(b->depth);
    free(b->base);
    free(b->level);
    free(b->parent);
    free(b->lcp);
    free(b->keys);
    free(b->keys2);
    free(b->rh);
    free(b->rc);
    free(b->own);
    free(b->words);
    free(b->at);
    free(b->thread);
    free(b->order);
    free(b);
}

int tagbatch_ask(struct tagbatch *b, const char *src, size_t len, int *stage, float *prob)
{
    pthread_mutex_lock(&b->lock);
    int rc = 0;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        struct request *q = cap <= UINT32_MAX ? realloc(b->q, cap * sizeof *q) : NULL;
        if (!q) {
            rc = -1;
            goto out;
        }
        b->q = q;
        b->cap = cap;
    }
    uint32_t ticket = (uint32_t)b->n, rec = CLASSCACHE_NO_REC, owner = ticket;
    if (b->cache) {
        int s = classcache_claim(b->cache, b, ticket, src, len, prob, &rec, &owner);
        if (s != CLASSCACHE_ABSENT && s != CLASSCACHE_PENDING) {
            *stage = s;
            b->hits++;
            rc = 1;
            goto out;
        }
    }
    b->q[b->n++] = (struct request){src, len, stage, prob, rec, owner};
out:
    pthread_mutex_unlock(&b->lock);
    return rc;
}

int tagbatch_ask_after(struct tagbatch *b, const char *prev, size_t plen, const char *src, size_t len,
                       int *stage, float *prob)
{
    if (!model_reads_context(b->model)) return tagbatch_ask(b, src, len, stage, prob);
    struct context_plan pl;
    size_t n = context_plan(&pl, prev, plen, src, len);
    pthread_mutex_lock(&b->lock);
    char *text = blockmem_take(&b->texts, n + 1);
    pthread_mutex_unlock(&b->lock);
    if (!text) return -1;
    context_plan_put(&pl, text, prev, src, len);
    return tagbatch_ask(b, text, n, stage, prob);
}

/* ---------------------------------------------------------------- the passes */

struct share {
    struct tagbatch *b;
    void (*chunk)(const struct share *sh, size_t from, size_t to);
    size_t count, nchunks; /* the pass's items, in chunks of CHUNK */
    size_t *taken;         /* chunks handed out, shared */
    int t;                 /* this thread's index (its scratch) */
};

/* Answers request R (an owner) with STAGE and PROB. */
static void set(struct request *r, int stage, float prob)
{
    *r->stage = stage;
    *r->prob = prob;
}

/* Pass 1: owners FROM .. TO encoded into this thread's pool, or answered. */
static void encode_chunk(const struct share *sh, size_t from, size_t to)
{
    struct tagbatch *b = sh->b;
    const nbs_model *m = b->model;
    struct scratch *x = &b->scratch[sh->t];
    int L = model_seq_len(m);
    uint32_t recs[CHUNK];
    int stages[CHUNK];
    float probs[CHUNK];
    size_t k = 0;
    for (size_t d = from; d < to; d++) {
        struct request *r = &b->q[b->own[d]];
        int blank = pysrc_is_blank(r->src, r->len);
        int w = blank ? -1 : model_encode(m, r->src, r->len, x->row);
        /* (a pool even for w = 0, a cell of unknown words only: memcpy wants one) */
        if (w >= 0 && (x->len + (size_t)w > x->cap || !x->pool)) {
            size_t cap = 2 * (x->len + (size_t)w) + 4096;
            int *p = cap <= UINT32_MAX ? realloc(x->pool, cap * sizeof *p) : NULL;
            if (p) {
                x->pool = p;
                x->cap = cap;
            } else { /* this one alone: the same numbers */
                float p1[N_STAGES];
                int s = model_classify_ids(m, x->row + (L - w), w, p1);
                float ps = s >= 0 ? p1[s] : 0.0f;
                set(r, s, ps);
                b->words[d] = -1;
                recs[k] = r->rec, stages[k] = s, probs[k++] = ps;
                continue;
            }
        }
        b->words[d] = w;
        if (w < 0) { /* blank, or no memory to encode: model_classify's answers */
            int s = blank ? STAGE_NONE : MODEL_NO_MEMORY;
            set(r, s, 0.0f);
            recs[k] = r->rec, stages[k] = s, probs[k++] = 0.0f;
            continue;
        }
        memcpy(x->pool + x->len, x->row + (L - w), (size_t)w * sizeof *x->pool);
        b->at[d] = (uint32_t)x->len;
        b->thread[d] = (uint8_t)sh->t;
        x->len += (size_t)w;
    }
    if (k && b->cache) classcache_answer(b->cache, recs, stages, probs, k);
}

/* The ids of encoded owner D. */
static const int *ids_of(const struct tagbatch *b, uint32_t d)
{
    return b->scratch[b->thread[d]].pool + b->at[d];
}

/* Pass 2a: the shared prefixes WAVE[FROM .. TO) (one level), each run once from its
 * start state or its parent's. */
static void prefix_chunk(const struct share *sh, size_t from, size_t to)
{
    struct tagbatch *b = sh->b;
    struct scratch *x = &b->scratch[sh->t];
    int H = model_hidden(b->model), n[CHUNK];
    const int *rows[CHUNK];
    int k = (int)(to - from);
    rows[0] = NULL, n[0] = 0; /* (k >= 1; for the compiler's flow analysis) */
    for (int i = 0; i < k; i++) {
        uint32_t r = b->wave[from + (size_t)i], d = b->first[r];
        float *h = x->h + (size_t)i * H, *c = x->c + (size_t)i * H;
        if (b->parent[r] >= 0) {
            memcpy(h, b->rh + (size_t)b->parent[r] * H, (size_t)H * sizeof *h);
            memcpy(c, b->rc + (size_t)b->parent[r] * H, (size_t)H * sizeof *c);
        } else {
            model_start_state(b->model, b->words[d], h, c);
        }
        rows[i] = ids_of(b, d) + b->base[r];
        n[i] = b->depth[r];
    }
    model_run_many(b->model, rows, n, k, x->h, x->c);
    for (int i = 0; i < k; i++) {
        uint32_t r = b->wave[from + (size_t)i];
        memcpy(b->rh + (size_t)r * H, x->h + (size_t)i * H, (size_t)H * sizeof *x->h);
        memcpy(b->rc + (size_t)r * H, x->c + (size_t)i * H, (size_t)H * sizeof *x->c);
    }
}

/* Pass 2b: the owners ORDER[FROM .. TO), each from its start state or its shared
 * prefix's, classified together. */
static void classify_chunk(const struct share *sh, size_t from, size_t to)
{
    struct tagbatch *b = sh->b;
    struct scratch *x = &b->scratch[sh->t];
    int H = model_hidden(b->model);
    const int *rows[CHUNK];
    int n[CHUNK], stages[CHUNK];
    float prob[CHUNK];
    uint32_t recs[CHUNK];
    int k = (int)(to - from);
    rows[0] = NULL, n[0] = 0; /* (k >= 1; for the compiler's flow analysis) */
    for (int i = 0; i < k; i++) {
        uint32_t d = b->order[from + (size_t)i];
        int32_t r = b->run[d], skip = r >= 0 ? b->base[r] + b->depth[r] : 0;
        float *h = x->h + (size_t)i * H, *c = x->c + (size_t)i * H;
        if (r >= 0) {
            memcpy(h, b->rh + (size_t)r * H, (size_t)H * sizeof *h);
            memcpy(c, b->rc + (size_t)r * H, (size_t)H * sizeof *c);
        } else {
            model_start_state(b->model, b->words[d], h, c);
        }
        rows[i] = ids_of(b, d) + skip;
        n[i] = b->words[d] - skip;
    }
    model_run_many(b->model, rows, n, k, x->h, x->c);
    for (int i = 0; i < k; i++) {
        struct request *r = &b->q[b->own[b->order[from + (size_t)i]]];
        float probs[N_STAGES];
        int best = model_output(b->model, x->h + (size_t)i * H, probs);
        set(r, best, best >= 0 ? probs[best] : 0.0f); /* MODEL_NO_MEMORY: no answer */
        recs[i] = r->rec;
        stages[i] = best;
        prob[i] = best >= 0 ? probs[best] : 0.0f;
    }
    if (b->cache) classcache_answer(b->cache, recs, stages, prob, (size_t)k);
}

/* The order of pass 2's plan: by start class, then ids (so cells with a common
 * prefix are neighbours), then length. */
static int cmp_cells(const void *pa, const void *pb, void *vb)
{
    const struct tagbatch *b = vb;
    uint32_t da = *(const uint32_t *)pa, db = *(const uint32_t *)pb;
    int na = b->words[da], nb = b->words[db];
    int ca = model_start_class(b->model, na), cb = model_start_class(b->model, nb);
    if (ca != cb) return ca < cb ? -1 : 1;
    const int *ia = ids_of(b, da), *ib = ids_of(b, db);
    for (int t = 0; t < na && t < nb; t++)
        if (ia[t] != ib[t]) return ia[t] < ib[t] ? -1 : 1;
    return (na > nb) - (na < nb);
}

/* A[0 .. N) by key, stable: a radix sort a byte at a time from the lowest (bytes all
 * keys share are skipped); TMP has room for N.  Returns where the result is. */
static struct keyed *radix_sort(struct keyed *a, struct keyed *tmp, size_t n)
{
    for (int shift = 0; shift < 64; shift += 8) {
        size_t at[257] = {0};
        for (size_t i = 0; i < n; i++) at[((a[i].key >> shift) & 255) + 1]++;
        int one = 0;
        for (int k = 1; k <= 256 && !one; k++) one = at[k] == n;
        if (one) continue; /* this byte is the same in every key */
        for (int k = 1; k <= 256; k++) at[k] += at[k - 1];
        for (size_t i = 0; i < n; i++) tmp[at[(a[i].key >> shift) & 255]++] = a[i];
        struct keyed *t = a;
        a = tmp;
        tmp = t;
    }
    return a;
}

/* cmp_cells' order, sorted on a key first: the start class and the first three ids
 * (16 bits each; a missing one is 0, below every id), so most comparisons are one
 * integer compare instead of a walk over two cells' ids in memory; cells whose keys
 * tie are then sorted by cmp_cells.  Vocabularies of more ids: cmp_cells alone. */
static void sort_cells(struct tagbatch *b, uint32_t *c, size_t ne)
{
    if (model_vocab_ids(b->model) > 65536 || model_seq_len(b->model) > 65535) {
        qsort_r(c, ne, sizeof *c, cmp_cells, b);
        return;
    }
    for (size_t i = 0; i < ne; i++) {
        uint32_t d = c[i];
        int n = b->words[d];
        const int *ids = ids_of(b, d);
        uint64_t key = (uint64_t)(unsigned)model_start_class(b->model, n) << 48;
        for (int t = 0; t < 3 && t < n; t++) key |= (uint64_t)(unsigned)ids[t] << (32 - 16 * t);
        b->keys[i] = (struct keyed){key, d};
    }
    const struct keyed *k = radix_sort(b->keys, b->keys2, ne);
    for (size_t i = 0; i < ne; i++) c[i] = k[i].d;
    for (size_t i = 0, j; i < ne; i = j) {
        for (j = i + 1; j < ne && k[j].key == k[i].key; j++) {}
        if (j - i > 1) qsort_r(c + i, j - i, sizeof *c, cmp_cells, b);
    }
}

/* How many leading ids owners DA and DB share when they start from the same state. */
static int common(const struct tagbatch *b, uint32_t da, uint32_t db)
{
    int na = b->words[da], nb = b->words[db], t = 0;
    if (model_start_class(b->model, na) != model_start_class(b->model, nb)) return 0;
    const int *ia = ids_of(b, da), *ib = ids_of(b, db);
    while (t < na && t < nb && ia[t] == ib[t]) t++;
    return t;
}

static void *run_share(void *v)
{
    const struct share *sh = v;
    sem_t *gate = sh->b->gate;
    if (gate)
        while (sem_wait(gate) && errno == EINTR) {}
    for (;;) {
        size_t c = __atomic_fetch_add(sh->taken, 1, __ATOMIC_RELAXED);
        if (c >= sh->nchunks) break;
        size_t from = c * CHUNK, to = from + CHUNK < sh->count ? from + CHUNK : sh->count;
        sh->chunk(sh, from, to);
    }
    if (gate) sem_post(gate);
    return NULL;
}

/* CHUNK_FN over COUNT items on up to THREADS threads (the calling one included). */
static void pass(struct tagbatch *b, int threads, size_t count,
                 void (*chunk_fn)(const struct share *, size_t, size_t))
{
    size_t nchunks = (count + CHUNK - 1) / CHUNK, taken = 0;
    if (!nchunks) return;
    if ((size_t)threads > nchunks) threads = (int)nchunks;
    struct share sh[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 0; t < threads; t++) sh[t] = (struct share){b, chunk_fn, count, nchunks, &taken, t};
    for (int t = 1; t < threads; t++) started[t] = !pthread_create(&tid[t], NULL, run_share, &sh[t]);
    run_share(&sh[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
        else run_share(&sh[t]); /* (no thread: nothing left for it by now) */
    }
}

/* Room for N owners and the threads' rows and states; -1 when out of memory. */
static int room(struct tagbatch *b, size_t n, int threads)
{
    int L = model_seq_len(b->model), H = model_hidden(b->model);
    for (int t = 0; t < threads; t++) {
        struct scratch *x = &b->scratch[t];
        if (!x->row && !(x->row = malloc((size_t)(L > 0 ? L : 1) * sizeof(int)))) return -1;
        if (!x->h && !(x->h = malloc((size_t)CHUNK * H * sizeof *x->h))) return -1;
        if (!x->c && !(x->c = malloc((size_t)CHUNK * H * sizeof *x->c))) return -1;
    }
    if (n <= b->own_cap) return 0;
    size_t cap = n + n / 4;
#define GROW(f)                                                   \
    do {                                                          \
        void *p_ = realloc((void *)b->f, cap * sizeof *b->f);     \
        if (!p_) return -1;                                       \
        b->f = p_;                                                \
    } while (0)
    GROW(own);
    GROW(words);
    GROW(at);
    GROW(thread);
    GROW(order);
    GROW(run);
    GROW(lcp);
    GROW(keys);
    GROW(keys2);
#undef GROW
    b->own_cap = cap;
    return 0;
}

/* Room for N shared prefixes; -1 when out of memory. */
static int room_runs(struct tagbatch *b, size_t n)
{
    if (n <= b->runs_cap) return 0;
    size_t cap = 2 * n + 1024, H = (size_t)model_hidden(b->model);
#define GROW(f, per)                                                  \
    do {                                                              \
        void *p_ = realloc((void *)b->f, cap * (per) * sizeof *b->f); \
        if (!p_) return -1;                                           \
        b->f = p_;                                                    \
    } while (0)
    GROW(first, 1);
    GROW(wave, 1);
    GROW(depth, 1);
    GROW(base, 1);
    GROW(level, 1);
    GROW(parent, 1);
    GROW(rh, H);
    GROW(rc, H);
#undef GROW
    b->runs_cap = cap;
    return 0;
}

/* Pass 2's plan: which owners share a prefix and how deep.  The encoded owners are
 * sorted so that those with a common prefix (and the same start state) are
 * neighbours; a run of neighbours shares the first DEPTH ids they all have, rounded
 * down to an even count (the walk direction follows the step's parity, so the rest
 * then starts as a fresh run does: the same numbers); a run takes every neighbour
 * that shares at least MIN_SHARE more ids, and within it the rests are planned the
 * same way (nested runs, run one level after another), so a deeper prefix a few of
 * its cells share is still run once.  (Runs cut where the steps saved would fall,
 * without nesting: 8.1% of the corpus's steps saved; nested: 10.2%; maximal runs
 * from 2 shared ids: 12.4%.)  Without memory for it: less or no sharing (the same
 * numbers).  Plans the NE owners in b->order (which it sorts). */
enum { MIN_SHARE = 2, MAX_LEVELS = 64 };

/* Plans order[LO .. HI] (all sharing the first BASE ids, from run PARENT's state). */
static void plan_range(struct tagbatch *b, size_t lo, size_t hi, int base, int32_t parent, int lvl)
{
    const uint32_t *c = b->order;
    for (size_t i = lo; i <= hi;) {
        size_t j = i;
        int depth = 0;
        while (j + 1 <= hi) {
            int l = (b->lcp[j] - base) & ~1;
            int nd = j == i ? l : (l < depth ? l : depth);
            if (nd < MIN_SHARE) break;
            depth = nd;
            j++;
        }
        if (j > i && lvl < MAX_LEVELS && !room_runs(b, b->runs + 1)) {
            size_t r = b->runs++;
            b->first[r] = c[i];
            b->depth[r] = depth;
            b->base[r] = base;
            b->parent[r] = parent;
            b->level[r] = lvl;
            for (size_t m = i; m <= j; m++) b->run[c[m]] = (int32_t)r;
            plan_range(b, i, j, base + depth, (int32_t)r, lvl + 1);
        }
        i = j + 1;
    }
}

static void plan_prefixes(struct tagbatch *b, size_t ne)
{
    uint32_t *c = b->order;
    b->runs = 0;
    for (size_t i = 0; i < ne; i++) b->run[c[i]] = -1;
    if (!ne) return;
    sort_cells(b, c, ne);
    for (size_t i = 0; i + 1 < ne; i++) b->lcp[i] = common(b, c[i], c[i + 1]);
    plan_range(b, 0, ne - 1, 0, -1, 0);
}

void tagbatch_run(struct tagbatch *b, int threads)
{
    struct request *q = b->q;
    size_t n = b->n, nd = 0;
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    for (size_t i = 0; i < n; i++) nd += q[i].owner == i;
    if (n && room(b, nd, threads)) { /* one at a time: the same numbers */
        for (size_t i = 0; i < n; i++) {
            if (q[i].owner != i) continue;
            float p[N_STAGES];
            int s = model_classify(b->model, q[i].src, q[i].len, p);
            set(&q[i], s, s >= 0 ? p[s] : 0.0f);
            if (b->cache) classcache_answer(b->cache, &q[i].rec, q[i].stage, q[i].prob, 1);
        }
    } else if (n) {
        size_t d = 0;
        for (size_t i = 0; i < n; i++)
            if (q[i].owner == i) b->own[d++] = (uint32_t)i;
        for (int t = 0; t < threads; t++) b->scratch[t].len = 0;
        pass(b, threads, nd, encode_chunk);
        /* counting sort by word count, longest first (stable: queue order within) */
        int L = model_seq_len(b->model);
        size_t *start = calloc((size_t)L + 2, sizeof *start), ne = 0;
        if (!start) { /* one at a time, from the encoded ids: the same numbers */
            for (d = 0; d < nd; d++) {
                if (b->words[d] < 0) continue;
                struct request *r = &q[b->own[d]];
                float p[N_STAGES];
                int s = model_classify_ids(b->model, b->scratch[b->thread[d]].pool + b->at[d], b->words[d], p);
                float ps = s >= 0 ? p[s] : 0.0f;
                set(r, s, ps);
                if (b->cache) classcache_answer(b->cache, &r->rec, &s, &ps, 1);
            }
        } else {
            for (d = 0; d < nd; d++)
                if (b->words[d] >= 0) b->order[ne++] = (uint32_t)d;
            plan_prefixes(b, ne);
            for (int lvl = 0;; lvl++) { /* one level after another: a run needs its parent */
                size_t nw = 0;
                for (size_t r = 0; r < b->runs; r++)
                    if (b->level[r] == lvl) b->wave[nw++] = (uint32_t)r;
                if (!nw) break;
                pass(b, threads, nw, prefix_chunk);
            }
            /* counting sort by the steps left, longest first (stable) */
#define LEFT(d) (b->words[d] - (b->run[d] >= 0 ? b->base[b->run[d]] + b->depth[b->run[d]] : 0))
            for (d = 0; d < nd; d++)
                if (b->words[d] >= 0) start[L - LEFT(d) + 1]++;
            for (int k = 1; k <= L + 1; k++) start[k] += start[k - 1];
            ne = 0;
            for (d = 0; d < nd; d++)
                if (b->words[d] >= 0) b->order[start[L - LEFT(d)]++] = (uint32_t)d, ne++;
#undef LEFT
            free(start);
            pass(b, threads, ne, classify_chunk);
        }
    }
    /* a follower takes its owner's answer (each way above answers the owners alone) */
    for (size_t i = 0; i < n; i++)
        if (q[i].owner != i) set(&q[i], *q[q[i].owner].stage, *q[q[i].owner].prob);
    if (b->cache) classcache_count(b->cache, b->hits + (long)(n - nd), (long)nd);
    b->n = 0;
    b->hits = 0;
    blockmem_rewind(&b->texts);
}
