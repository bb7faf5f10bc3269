/* trainsplit.c — which usable cells train and which validate (trainsplit.h).
 *
 * Why split by notebook: forks and copies put near-identical cells in sibling
 * notebooks; a random cell split would score the model on cells it trained on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/trainsplit.h"

/* Drops exact duplicate sources after their first appearance (in WEAK's order).
 * (size_t)-1 when out of memory: training on with the duplicates kept would weigh
 * them twice and let them straddle the split, unsaid. */
size_t trainsplit_dedupe(struct train_cells *cv)
{
    size_t size = 16;
    while (size < 2 * cv->n) size *= 2;
    uint64_t *seen = calloc(size, sizeof *seen);
    size_t *who = calloc(size, sizeof *who);
    if (!seen || !who) { free(seen); free(who); return (size_t)-1; }
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < cv->n; i++) {
        struct train_cell *c = &cv->v[i];
        uint64_t h = trainread_hash(c->src, c->len, 7) | 1;
        size_t j = h & (size - 1);
        int dup = 0;
        for (; seen[j]; j = (j + 1) & (size - 1))
            if (seen[j] == h) {
                const struct train_cell *o = &cv->v[who[j]];
                if (o->len == c->len && memcmp(o->src, c->src, c->len) == 0) { dup = 1; break; }
            }
        if (dup) { free(c->id); free(c->src); dropped++; continue; }
        seen[j] = h;
        who[j] = kept;
        cv->v[kept++] = *c;
    }
    cv->n = kept;
    free(seen);
    free(who);
    return dropped;
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

struct ranked { int stage; uint64_t key; size_t i; };

static int by_stage_key(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->stage != y->stage) return x->stage - y->stage;
    return (x->key > y->key) - (x->key < y->key);
}

/* At most CAP cells of each class, a seeded uniform sample; order kept.  COUNTS gets
 * the class sizes before the cap.  -1 when out of memory. */
long trainsplit_cap(struct train_cells *cv, int cap, uint64_t seed, long counts[N_STAGES])
{
    memset(counts, 0, N_STAGES * sizeof *counts);
    for (size_t i = 0; i < cv->n; i++) counts[cv->v[i].stage]++;
    if (cap <= 0) return 0;
    struct ranked *r = malloc((cv->n ? cv->n : 1) * sizeof *r);
    unsigned char *keep = calloc(cv->n ? cv->n : 1, 1);
    if (!r || !keep) { free(r); free(keep); return -1; }
    uint64_t s = seed ^ 0xC0FFEEull;
    for (size_t i = 0; i < cv->n; i++) r[i] = (struct ranked){cv->v[i].stage, rng_next(&s), i};
    qsort(r, cv->n, sizeof *r, by_stage_key);
    long in_class = 0;
    for (size_t j = 0; j < cv->n; j++) {
        in_class = (j > 0 && r[j].stage == r[j - 1].stage) ? in_class + 1 : 0;
        if (in_class < cap) keep[r[j].i] = 1;
    }
    size_t kept = 0;
    long dropped = 0;
    for (size_t i = 0; i < cv->n; i++) {
        if (keep[i]) cv->v[kept++] = cv->v[i];
        else { free(cv->v[i].id); free(cv->v[i].src); dropped++; }
    }
    cv->n = kept;
    free(r);
    free(keep);
    return dropped;
}

/* The one stage COUNTS has cells of, or -1 when it has none or several. */
int trainsplit_one_stage(const long counts[N_STAGES])
{
    int only = -1;
    for (int k = 0; k < N_STAGES; k++)
        if (counts[k]) {
            if (only >= 0) return -1;
            only = k;
        }
    return only;
}

/* Validation notebooks: notebooks in a seeded random order, taken until they hold
 * FRACTION of the cells, at least one (a fraction of a small corpus that rounds to no
 * cell would otherwise turn validation, and with it early stopping, off unsaid), never
 * the last one (a tiny corpus of one or two notebooks still trains: the split would
 * otherwise leave nothing to train on).  Sets IS_VAL[i]; returns the count of
 * validation cells. */
size_t trainsplit_by_notebook(const struct train_cells *cv, double fraction, uint64_t seed, unsigned char *is_val)
{
    /* A notebook's place in the random order is a keyed hash of its path. */
    struct ranked *r = malloc((cv->n ? cv->n : 1) * sizeof *r);
    if (!r) return (size_t)-1;
    for (size_t i = 0; i < cv->n; i++)
        r[i] = (struct ranked){0, trainread_hash((const char *)&cv->v[i].group, 8, seed + 1), i};
    qsort(r, cv->n, sizeof *r, by_stage_key);
    size_t want = (size_t)(fraction * (double)cv->n + 0.5), nval = 0;
    size_t last = cv->n ? cv->n - 1 : 0; /* the last notebook's first cell */
    while (last > 0 && r[last - 1].key == r[last].key) last--;
    for (size_t j = 0; j < last; j++) {
        /* whole notebooks: once started, a notebook is finished even past WANT */
        if (nval >= want && nval > 0 && r[j].key != r[j - 1].key) break;
        is_val[r[j].i] = 1;
        nval++;
    }
    free(r);
    return nval;
}
