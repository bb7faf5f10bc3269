/* blockmem.c — see blockmem.h. */
#include "model/blockmem.h"

#include <stdlib.h>

struct memblock {
    struct memblock *next;
    size_t used, cap;
    char data[];
};

char *blockmem_take(struct blockmem *m, size_t n)
{
    struct memblock *b = m->in_use;
    if (!b || b->cap - b->used < n) {
        if (n <= m->block && m->spare) { /* a block of an earlier round */
            b = m->spare;
            m->spare = b->next;
        } else {
            size_t cap = n > m->block ? n : m->block;
            if (!(b = malloc(sizeof *b + cap))) return NULL;
            b->cap = cap;
        }
        b->used = 0;
        /* a block of its own goes behind the current one, which still has room */
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

void blockmem_rewind(struct blockmem *m)
{
    while (m->in_use) {
        struct memblock *b = m->in_use;
        m->in_use = b->next;
        if (b->cap > m->block) {
            free(b);
        } else {
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
