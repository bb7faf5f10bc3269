/* blockmem.h — memory handed out in pieces from blocks that never move, reused.
 *
 * Owns: a bump allocator over a chain of blocks for data that lives until one point
 * (a window of `nbstage tag`: its files read ahead and their scans, a context
 * model's texts), then is dropped all at once.  Rewinding keeps the blocks for the
 * next round instead of freeing them: on a VM a fresh page's first touch can cost 10
 * us (the host hands it in too), and a run that mallocs and frees its buffers
 * touches new pages again and again (glibc gives freed memory back, or cannot reuse
 * its holes).  What a rewind keeps is bounded: usual-size blocks up to KEEP bytes; a
 * piece larger than the block size gets a block of its own, let go at the rewind.  A
 * new block's pages are made present at once (MADV_POPULATE_WRITE, Linux 5.14;
 * without it they fault as before): on the PVM guest measured (tests/bench/NOTES.md,
 * "What the host charges") a page that faults in costs ~12.6 us, one the kernel
 * fills in a single call ~0.8 us, and a block is written whole (a window's files and
 * scans, a context model's texts).  Not thread-safe: the caller locks, and no piece
 * may be taken while the memory is rewound or freed.
 */
#ifndef NBSTAGE_BLOCKMEM_H
#define NBSTAGE_BLOCKMEM_H

#include <stddef.h>

struct blockmem {
    size_t block;             /* the usual block's size */
    size_t keep;              /* the most bytes of blocks a rewind keeps */
    struct memblock *in_use;  /* the current block first */
    struct memblock *spare;   /* rewound, for the next round */
};

/* N bytes (unaligned: for text), valid until the next blockmem_rewind or
 * blockmem_free; NULL when out of memory. */
char *blockmem_take(struct blockmem *m, size_t n);

/* The bytes handed out since the last rewind (the pieces as asked for, not the
 * blocks' free tails). */
size_t blockmem_used(const struct blockmem *m);

/* Every piece handed out is dropped; usual-size blocks kept for reuse, up to KEEP
 * bytes of them. */
void blockmem_rewind(struct blockmem *m);

/* Everything let go; M is empty (its sizes kept). */
void blockmem_free(struct blockmem *m);

#endif
