/* blockmem.c — see blockmem.h. */
#include "model/blockmem.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct memblock {
    struct memblock *next;
    size_t used, cap;
    char data[];
};

/* The whole pages in [P, P + N) made present in one call (see blockmem.h); on a
 * kernel without MADV_POPULATE_WRITE, or when it fails, they fault as before. */
static void populate(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    long size = sysconf(_SC_PAGESIZE); /* (4 KB here; 16 or 64 KB on some arm64 kernels) */
    uintptr_t page = size > 0 ? (uintptr_t)size : 4096;
    uintptr_t from = ((uintptr_t)p + page - 1) & ~(page - 1), to = ((uintptr_t)p + n) & ~(page - 1);
    if (to > from) (void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

char *blockmem_take(struct blockmem *m, size_t n)
{
    struct memblock *b = m->in_use;
    if (!b || b->cap - b->used < n) {
        if (m->spare && m->spare->cap >= n) { /* a block of an earlier round */
            b = m->spare;
            m->spare = b->next;
        } else {
            size_t cap = n > m->block ? n : m->block;
            if (cap > SIZE_MAX - sizeof *b || !(b = malloc(sizeof *b + cap))) return NULL;
            b->cap = cap;
            populate(b->data, cap); /* (the partial pages at its ends are malloc's) */
        }
        b->used = 0;
        /* A piece above the block size fills a block of its own: that goes behind the
         * current block, whose room (if any) is left for the next pieces. */
        if (m->in_use && n > m->block) {
            b->next = m->in_use->next;
            m->in_use->next = b;
        } else {
            b->next = m->in_use;
            m->in_use = b;
        }
    }
    char *p = b->data + b->used;
    b->used += n;
    return p;
}

size_t blockmem_used(const struct blockmem *m)
{
    size_t used = 0;
    for (const struct memblock *b = m->in_use; b; b = b->next) used += b->used;
    return used;
}

void blockmem_rewind(struct blockmem *m)
{
    size_t kept = 0;
    for (struct memblock *b = m->spare; b; b = b->next) kept += b->cap;
    while (m->in_use) {
        struct memblock *b = m->in_use;
        m->in_use = b->next;
        if (b->cap > m->block || kept + b->cap > m->keep) {
            free(b);
        } else {
            kept += b->cap;
            b->next = m->spare;
            m->spare = b;
        }
    }
}

void blockmem_free(struct blockmem *m)
{
    blockmem_rewind(m);
    while (m->spare) {
        struct memblock *b = m->spare;
        m->spare = b->next;
        free(b);
    }
}
