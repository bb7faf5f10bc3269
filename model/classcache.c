/* classcache.c — a memo of model_classify by source (see classcache.h).
 *
 * Records in insertion order (so an index stays valid while the table grows), an
 * open-addressing table of 8-byte slots pointing at them (the record's index and its
 * hash's high half, so a probe touches one small slot and reads a record only when
 * the halves agree: the table of 40-byte entries it replaces was 10 MB on the corpus
 * and each probe a cache miss), and the sources back to back in one growing arena
 * (offsets, so a realloc moves nothing we point to).  The arena is one mapping of
 * CLASSCACHE_MAX_BYTES reserved at the start (a growing malloc'd arena moved on each
 * doubling; malloc'd growth remains when the mapping cannot be had), its pages made
 * ready a little ahead of use, outside the lock (populate_ahead).  Transparent huge
 * pages, asked for until 2026-12-02 to cut the arena's page faults (~14k on the
 * corpus), were slower on the VMs measured: a 2 MB page comes back from the host
 * whole (see populate_ahead), 4 KB ones mostly from pages the guest still holds (tag
 * -j 1 6% and -j 2 3.5% less wall time without them).  The lock is not
 * held while classifying: two threads meeting the same new source both classify it
 * and the second insert finds the first.  A claimed record (classcache_claim) is one
 * a batch will answer: the other callers take it as absent until then.
 */
#include "model/classcache.h"
#include "model/context.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct rec {
    uint64_t hash;
    size_t off, len;
    const void *owner; /* the batch that claimed it and has not answered, or NULL */
    uint32_t ticket;   /* the owner's name for it */
    int stage;
    float prob;
};

struct slot {
    uint32_t rec1; /* record index + 1; 0: empty */
    uint32_t tag;  /* the record's hash >> 32 */
};

struct classcache {
    const nbs_model *model;
    pthread_mutex_t lock;
    struct slot *slots;
    size_t mask, used;
    struct rec *recs;
    size_t recs_cap;
    char *arena;
    size_t arena_len, arena_cap;
    int mapped; /* arena is the reserved mapping (arena_cap = CLASSCACHE_MAX_BYTES) */
    long hits, misses;
    /* The mapping's pages are made ready ahead of the sources, outside the lock (see
     * populate_ahead): arena_mark is arena_len as the lock's holder last left it,
     * populated how far the pages are ready, populating set while a thread readies. */
    atomic_size_t arena_mark, populated;
    atomic_flag populating;
};

/* A multiply-xorshift hash eight bytes at a time (FNV's byte loop showed in the
 * profile); collisions only cost a compare, never a wrong answer. */
static uint64_t hash_bytes(const char *s, size_t n)
{
    const uint64_t k = 0x9e3779b97f4a7c15u;
    uint64_t h = n * k, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        h = (h ^ w) * k;
        h ^= h >> 29;
    }
    if (i < n) {
        w = 0;
        memcpy(&w, s + i, n - i);
        h = (h ^ w) * k;
    }
    h ^= h >> 32;
    h *= 0xd6e8feb86659fd93u;
    h ^= h >> 32;
    return h;
}

struct classcache *classcache_new(const nbs_model *m)
{
    struct classcache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->model = m;
    c->mask = 4095;
    c->slots = calloc(c->mask + 1, sizeof *c->slots);
    if (!c->slots) { free(c); return NULL; }
    void *a = mmap(NULL, CLASSCACHE_MAX_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (a != MAP_FAILED) {
        c->arena = a;
        c->arena_cap = CLASSCACHE_MAX_BYTES;
        c->mapped = 1;
    }
    atomic_init(&c->arena_mark, 0);
    atomic_init(&c->populated, 0);
    atomic_flag_clear(&c->populating);
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void classcache_free(struct classcache *c)
{
    if (!c) return;
    pthread_mutex_destroy(&c->lock);
    free(c->slots);
    free(c->recs);
    if (c->mapped) munmap(c->arena, c->arena_cap);
    else free(c->arena);
    free(c);
}

/* Makes the mapping's pages ready ahead of the sources stored (as far ahead as they
 * reach, between 256 kB and 4 MB, so that a run of a few notebooks readies little),
 * before the caller takes the lock.  A page's first write faults it in, and inside the lock every
 * other thread waited for it: on a VM a transparent huge page took 10-25 ms to come
 * (host faults behind the guest's zeroing: the guest hands whole free 2 MB blocks back
 * to the host), and `tag -j 2` ran on one thread meanwhile; 4 KB pages cost less each
 * but as much together.
 * MADV_POPULATE_WRITE faults the pages in without writing to them, so it is safe
 * beside a thread copying into the same pages; one thread at a time does it, the
 * others go on.  Where the kernel lacks it (before Linux 5.14) pages fault as before. */
enum { POPULATE_MIN = 256 << 10, POPULATE_MAX = 4 << 20 };

static void populate_ahead(struct classcache *c)
{
#ifdef MADV_POPULATE_WRITE
    if (!c->mapped) return;
    size_t mark = atomic_load_explicit(&c->arena_mark, memory_order_relaxed);
    size_t ahead = mark < POPULATE_MIN ? POPULATE_MIN : mark > POPULATE_MAX ? POPULATE_MAX : mark;
    size_t want = mark + ahead < CLASSCACHE_MAX_BYTES ? mark + ahead : CLASSCACHE_MAX_BYTES;
    if (want <= atomic_load_explicit(&c->populated, memory_order_relaxed) ||
        atomic_flag_test_and_set_explicit(&c->populating, memory_order_acquire))
        return;
    size_t from = atomic_load_explicit(&c->populated, memory_order_relaxed);
    size_t to = (mark + 2 * ahead + 65535) & ~(size_t)65535; /* twice as far: fewer calls */
    if (to > CLASSCACHE_MAX_BYTES) to = CLASSCACHE_MAX_BYTES;
    if (to > from) {
        if (madvise(c->arena + from, to - from, MADV_POPULATE_WRITE)) to = CLASSCACHE_MAX_BYTES;
        atomic_store_explicit(&c->populated, to, memory_order_relaxed); /* (failed: not again) */
    }
    atomic_flag_clear_explicit(&c->populating, memory_order_release);
#else
    (void)c;
#endif
}

/* The slot holding SRC, or the empty slot where it would go.  Lock held. */
static struct slot *find(struct classcache *c, uint64_t h, const char *src, size_t len)
{
    uint32_t tag = (uint32_t)(h >> 32);
    for (size_t i = h & c->mask;; i = (i + 1) & c->mask) {
        struct slot *s = &c->slots[i];
        if (!s->rec1) return s;
        if (s->tag != tag) continue;
        const struct rec *r = &c->recs[s->rec1 - 1];
        if (r->hash == h && r->len == len && !memcmp(c->arena + r->off, src, len)) return s;
    }
}

/* Doubles the table; -1 when out of memory (the cache then just stops growing). */
static int rehash(struct classcache *c)
{
    size_t mask = c->mask * 2 + 1;
    struct slot *slots = calloc(mask + 1, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i <= c->mask; i++) {
        if (!c->slots[i].rec1) continue;
        size_t j = c->recs[c->slots[i].rec1 - 1].hash & mask;
        while (slots[j].rec1) j = (j + 1) & mask;
        slots[j] = c->slots[i];
    }
    free(c->slots);
    c->slots = slots;
    c->mask = mask;
    return 0;
}

/* A new record for SRC at the empty slot *S (found for hash H); NULL when it cannot
 * be kept (past the bound, out of memory).  Lock held; *S may move (rehash). */
static struct rec *insert(struct classcache *c, uint64_t h, const char *src, size_t len)
{
    if (c->arena_len + len > CLASSCACHE_MAX_BYTES || c->used >= UINT32_MAX - 1) return NULL;
    if ((c->used + 1) * 2 > c->mask + 1 && rehash(c)) return NULL;
    if (c->used == c->recs_cap) {
        size_t cap = c->recs_cap ? c->recs_cap * 2 : 4096;
        struct rec *r = realloc(c->recs, cap * sizeof *r);
        if (!r) return NULL;
        c->recs = r;
        c->recs_cap = cap;
    }
    if (c->arena_len + len > c->arena_cap) {
        size_t cap = c->arena_cap ? c->arena_cap : (size_t)1 << 20;
        while (cap < c->arena_len + len) cap *= 2;
        char *a = realloc(c->arena, cap);
        if (!a) return NULL;
        c->arena = a;
        c->arena_cap = cap;
    }
    struct slot *s = find(c, h, src, len); /* (the table may have grown) */
    if (len) memcpy(c->arena + c->arena_len, src, len);
    struct rec *r = &c->recs[c->used];
    *r = (struct rec){h, c->arena_len, len, NULL, 0, STAGE_NONE, 0};
    *s = (struct slot){(uint32_t)(c->used + 1), (uint32_t)(h >> 32)};
    c->arena_len += len;
    atomic_store_explicit(&c->arena_mark, c->arena_len, memory_order_relaxed);
    c->used++;
    return r;
}

/* The answered record for SRC, or NULL (absent or claimed).  Lock held. */
static const struct rec *answered(struct classcache *c, uint64_t h, const char *src, size_t len)
{
    struct slot *s = find(c, h, src, len);
    if (!s->rec1) return NULL;
    const struct rec *r = &c->recs[s->rec1 - 1];
    /* claimed and not answered yet, or answered MODEL_NO_MEMORY (no answer: asked again) */
    return r->owner || r->stage == MODEL_NO_MEMORY ? NULL : r;
}

/* Keeps STAGE and PROB for SRC unless it is there already (answered or claimed: a
 * claim is answered by its batch with the same numbers).  Lock held. */
static void keep(struct classcache *c, uint64_t h, const char *src, size_t len, int stage, float prob)
{
    struct slot *s = find(c, h, src, len);
    if (s->rec1) { /* another thread was first; or a batch had no answer, which this is */
        struct rec *was = &c->recs[s->rec1 - 1];
        if (!was->owner && was->stage == MODEL_NO_MEMORY) was->stage = stage, was->prob = prob;
        return;
    }
    struct rec *r = insert(c, h, src, len);
    if (r) {
        r->stage = stage;
        r->prob = prob;
    }
}

int classcache_classify(struct classcache *c, const char *src, size_t len, float *prob)
{
    uint64_t h = hash_bytes(src, len);
    pthread_mutex_lock(&c->lock);
    const struct rec *r = answered(c, h, src, len);
    if (r) {
        int stage = r->stage;
        *prob = r->prob;
        c->hits++;
        pthread_mutex_unlock(&c->lock);
        return stage;
    }
    c->misses++;
    pthread_mutex_unlock(&c->lock);
    float probs[N_STAGES];
    int stage = model_classify(c->model, src, len, probs);
    *prob = stage >= 0 ? probs[stage] : 0.0f;
    populate_ahead(c);
    pthread_mutex_lock(&c->lock);
    if (stage != MODEL_NO_MEMORY) keep(c, h, src, len, stage, *prob); /* no answer to keep */
    pthread_mutex_unlock(&c->lock);
    return stage;
}

int classcache_classify_after(struct classcache *c, const char *prev, size_t plen, const char *src, size_t len,
                              float *prob)
{
    if (!model_reads_context(c->model)) return classcache_classify(c, src, len, prob);
    char stack[2048], *text = stack;
    struct context_plan pl;
    size_t n = context_plan(&pl, prev, plen, src, len);
    if (n >= sizeof stack && !(text = malloc(n + 1))) { *prob = 0; return MODEL_NO_MEMORY; }
    context_plan_put(&pl, text, prev, src, len);
    int stage = classcache_classify(c, text, n, prob);
    if (text != stack) free(text);
    return stage;
}

int classcache_lookup(struct classcache *c, const char *src, size_t len, float *prob)
{
    uint64_t h = hash_bytes(src, len);
    pthread_mutex_lock(&c->lock);
    const struct rec *r = answered(c, h, src, len);
    int stage = r ? r->stage : CLASSCACHE_ABSENT;
    if (r) *prob = r->prob;
    pthread_mutex_unlock(&c->lock);
    return stage;
}

void classcache_store(struct classcache *c, const char *src, size_t len, int stage, float prob)
{
    uint64_t h = hash_bytes(src, len);
    populate_ahead(c);
    pthread_mutex_lock(&c->lock);
    keep(c, h, src, len, stage, prob);
    pthread_mutex_unlock(&c->lock);
}

int classcache_claim(struct classcache *c, const void *owner, uint32_t ticket, const char *src,
                     size_t len, float *prob, uint32_t *rec, uint32_t *claimer)
{
    uint64_t h = hash_bytes(src, len);
    int stage;
    populate_ahead(c);
    pthread_mutex_lock(&c->lock);
    struct slot *s = find(c, h, src, len);
    if (s->rec1) {
        struct rec *r = &c->recs[s->rec1 - 1];
        if (!r->owner && r->stage == MODEL_NO_MEMORY) { /* no answer was had: ask again */
            stage = CLASSCACHE_ABSENT;
            *rec = (uint32_t)(r - c->recs);
            r->owner = owner;
            r->ticket = ticket;
        } else if (!r->owner) {
            stage = r->stage;
            *prob = r->prob;
        } else if (r->owner == owner) {
            stage = CLASSCACHE_PENDING;
            *claimer = r->ticket;
        } else { /* another batch's: not ours to wait for */
            stage = CLASSCACHE_ABSENT;
            *rec = CLASSCACHE_NO_REC;
        }
    } else {
        struct rec *r = insert(c, h, src, len);
        stage = CLASSCACHE_ABSENT;
        *rec = r ? (uint32_t)(r - c->recs) : CLASSCACHE_NO_REC;
        if (r) {
            r->owner = owner;
            r->ticket = ticket;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return stage;
}

void classcache_answer(struct classcache *c, const uint32_t *rec, const int *stage, const float *prob,
                       size_t n)
{
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < n; i++) {
        if (rec[i] == CLASSCACHE_NO_REC) continue;
        struct rec *r = &c->recs[rec[i]];
        r->stage = stage[i];
        r->prob = prob[i];
        r->owner = NULL;
    }
    pthread_mutex_unlock(&c->lock);
}

void classcache_count(struct classcache *c, long hits, long misses)
{
    pthread_mutex_lock(&c->lock);
    c->hits += hits;
    c->misses += misses;
    pthread_mutex_unlock(&c->lock);
}

void classcache_stats(const struct classcache *c, long *hits, long *misses)
{
    *hits = c ? c->hits : 0;
    *misses = c ? c->misses : 0;
}
