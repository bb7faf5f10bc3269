/* unit_malloc.h — a malloc seam for the allocation-failure tests: this binary's own
 * malloc, whose Nth call from the moment malloc_fails_in is set to N fails (ENOMEM;
 * the count then back at 0, none failing), the others passed to the next malloc (ASan's
 * under the sanitizers, see the Makefile's SAN_LDFLAGS; glibc's otherwise).  A test
 * tries N = 1, 2, ... until a run leaves malloc_fails_in above 0: every allocation of
 * that run has failed once.  Include it in one test file per binary. */
#ifndef NBSTAGE_UNIT_MALLOC_H
#define NBSTAGE_UNIT_MALLOC_H

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

static int malloc_fails_in; /* 0: none fails; N: the Nth call from now */

/* The malloc under this one, never failed (for allocations a test leaves alone). */
static void *real_malloc(size_t n)
{
    static void *(*real)(size_t);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "malloc");
    return real(n);
}

void *malloc(size_t n)
{
    if (malloc_fails_in && --malloc_fails_in == 0) {
        errno = ENOMEM;
        return NULL;
    }
    return real_malloc(n);
}

#endif
