/* classcache.c — a memo of model_classify by source (see classcache.h).
 *
 * Open addressing over 64-bit hashes; the sources themselves sit back to back
 * in one growing arena (offsets, so a realloc moves nothing we point to).  The lock
 * is not held while classifying: two threads meeting the same new source both
 * classify it and the second insert finds the first.
 */
#include "model/classcache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    uint64_t hash; /* 0: empty slot */
    size_t off, len;
    int stage;
    float prob;
};

struct classcache {
    const nbs_model *model;
    pthread_mutex_t lock;
    struct entry *slots;
    size_t mask, used;
    char *arena;
    size_t arena_len, arena_cap;
    long hits, misses;
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
    return h ? h : 1; /* 0 marks an empty slot */
}

struct classcache *classcache_new(const nbs_model *m)
{
    struct classcache *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->model = m;
    c->mask = 4095;
    c->slots = calloc(c->mask + 1, sizeof *c->slots);
    if (!c->slots) { free(c); return NULL; }
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

void classcache_free(struct classcache *c)
{
    if (!c) return;
    pthread_mutex_destroy(&c->lock);
    free(c->slots);
    free(c->arena);
    free(c);
}

/* The slot holding SRC, or the empty slot where it would go.  Lock held. */
static struct entry *find(struct classcache *c, uint64_t h, const char *src, size_t len)
{
    for (size_t i = h & c->mask;; i = (i + 1) & c->mask) {
        struct entry *e = &c->slots[i];
        if (!e->hash) return e;
        if (e->hash == h && e->len == len && !memcmp(c->arena + e->off, src, len)) return e;
    }
}

/* Doubles the table; -1 when out of memory (the cache then just stops growing). */
static int rehash(struct classcache *c)
{
    size_t mask = c->mask * 2 + 1;
    struct entry *slots = calloc(mask + 1, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i <= c->mask; i++) {
        if (!c->slots[i].hash) continue;
        size_t j = c->slots[i].hash & mask;
        while (slots[j].hash) j = (j + 1) & mask;
        slots[j] = c->slots[i];
    }
    free(c->slots);
    c->slots = slots;
    c->mask = mask;
    return 0;
}

static void insert(struct classcache *c, uint64_t h, const char *src, size_t len, int stage,
                   float prob)
{
    if (c->arena_len + len > CLASSCACHE_MAX_BYTES) return;
    if ((c->used + 1) * 2 > c->mask + 1 && rehash(c)) return;
    struct entry *e = find(c, h, src, len);
    if (e->hash) return; /* another thread was first */
    if (c->arena_len + len > c->arena_cap) {
        size_t cap = c->arena_cap ? c->arena_cap : (size_t)1 << 20;
        while (cap < c->arena_len + len) cap *= 2;
        char *a = realloc(c->arena, cap);
        if (!a) return;
        c->arena = a;
        c->arena_cap = cap;
    }
    if (len) memcpy(c->arena + c->arena_len, src, len);
    *e = (struct entry){h, c->arena_len, len, stage, prob};
    c->arena_len += len;
    c->used++;
}

int classcache_classify(struct classcache *c, const char *src, size_t len, float *prob)
{
    uint64_t h = hash_bytes(src, len);
    pthread_mutex_lock(&c->lock);
    struct entry *e = find(c, h, src, len);
    if (e->hash) {
        int stage = e->stage;
        *prob = e->prob;
        c->hits++;
        pthread_mutex_unlock(&c->lock);
        return stage;
    }
    c->misses++;
    pthread_mutex_unlock(&c->lock);
    float probs[N_STAGES];
    int stage = model_classify(c->model, src, len, probs);
    *prob = stage >= 0 ? probs[stage] : 0.0f;
    pthread_mutex_lock(&c->lock);
    insert(c, h, src, len, stage, *prob);
    pthread_mutex_unlock(&c->lock);
    return stage;
}

int classcache_lookup(struct classcache *c, const char *src, size_t len, float *prob)
{
    uint64_t h = hash_bytes(src, len);
    pthread_mutex_lock(&c->lock);
    struct entry *e = find(c, h, src, len);
    int stage = e->hash ? e->stage : CLASSCACHE_ABSENT;
    if (e->hash) *prob = e->prob;
    pthread_mutex_unlock(&c->lock);
    return stage;
}

void classcache_store(struct classcache *c, const char *src, size_t len, int stage, float prob)
{
    uint64_t h = hash_bytes(src, len);
    pthread_mutex_lock(&c->lock);
    insert(c, h, src, len, stage, prob);
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
