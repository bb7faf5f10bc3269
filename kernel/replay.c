/* replay.c — a bounded set of seen signatures in two generations (see replay.h).
 *
 * Each generation is an open-addressing table with twice as many slots as entries
 * (linear probing; at most half full, so probes stay short), cleared wholesale when it
 * is recycled: no deletions, no tombstones.  The tables are calloc'ed, so pages are
 * only touched as they fill.
 */
#include "kernel/replay.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEEP 16                            /* bytes of a signature kept */
#define SLOTS (2 * REPLAY_GENERATION)      /* a power of two */

struct generation {
    unsigned char (*digest)[KEEP];
    unsigned char *used;
    size_t n;
};

struct replay_set {
    struct generation gen[2]; /* gen[cur] takes inserts; the other is the older */
    int cur;
};

static int gen_init(struct generation *g)
{
    g->digest = calloc(SLOTS, KEEP);
    g->used = calloc(SLOTS, 1);
    g->n = 0;
    return g->digest && g->used ? 0 : -1;
}

static void gen_clear(struct generation *g)
{
    memset(g->used, 0, SLOTS);
    g->n = 0;
}

struct replay_set *replay_new(void)
{
    struct replay_set *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    if (gen_init(&r->gen[0]) || gen_init(&r->gen[1])) {
        replay_free(r);
        return NULL;
    }
    return r;
}

void replay_free(struct replay_set *r)
{
    if (!r) return;
    for (int i = 0; i < 2; i++) {
        free(r->gen[i].digest);
        free(r->gen[i].used);
    }
    free(r);
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The slot holding D in G, or the empty slot where it would go. */
static size_t gen_find(const struct generation *g, const unsigned char d[KEEP], int *found)
{
    uint64_t h;
    memcpy(&h, d, sizeof h);
    for (size_t i = (size_t)h & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
        if (!g->used[i]) {
            *found = 0;
            return i;
        }
        if (memcmp(g->digest[i], d, KEEP) == 0) {
            *found = 1;
            return i;
        }
    }
}

int replay_seen(struct replay_set *r, const unsigned char *sig, size_t len)
{
    unsigned char d[KEEP];
    if (len < 2 * KEEP) return 0;
    for (size_t i = 0; i < KEEP; i++) {
        int hi = hexval(sig[2 * i]), lo = hexval(sig[2 * i + 1]);
        if (hi < 0 || lo < 0) return 0;
        d[i] = (unsigned char)(hi << 4 | lo);
    }
    int found;
    (void)gen_find(&r->gen[1 - r->cur], d, &found);
    if (found) return 1;
    struct generation *g = &r->gen[r->cur];
    size_t slot = gen_find(g, d, &found);
    if (found) return 1;
    if (g->n == REPLAY_GENERATION) { /* full: it becomes the older, the older is recycled */
        r->cur = 1 - r->cur;
        g = &r->gen[r->cur];
        gen_clear(g);
        slot = gen_find(g, d, &found);
    }
    memcpy(g->digest[slot], d, KEEP);
    g->used[slot] = 1;
    g->n++;
    return 0;
}
