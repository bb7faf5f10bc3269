/* unit_calloc.h — a calloc seam for the allocation-failure tests: this binary's own
 * calloc, which fails (ENOMEM) when calloc_fails(NMEMB, SIZE) says so and otherwise
 * returns zeroed memory from malloc.  Not from the next calloc: dlsym, which finding
 * it would take, may call calloc itself.  Include it in one test file per binary. */
#ifndef NBSTAGE_UNIT_CALLOC_H
#define NBSTAGE_UNIT_CALLOC_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int (*calloc_fails)(size_t nmemb, size_t size); /* NULL: never */

void *calloc(size_t nmemb, size_t size)
{
    if ((calloc_fails && calloc_fails(nmemb, size)) || (size && nmemb > (size_t)-1 / size)) {
        errno = ENOMEM;
        return NULL;
    }
    /* through a volatile pointer: gcc would turn malloc then memset into calloc, this */
    void *(*volatile zero)(void *, int, size_t) = memset;
    void *p = malloc(nmemb * size);
    if (p) zero(p, 0, nmemb * size);
    return p;
}

#endif
