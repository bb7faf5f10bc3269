/* fuzz.h — what the fuzz targets share: CHECK, a property that must hold.
 *
 * A failed CHECK names its line and aborts, so that libFuzzer saves the input.  It
 * writes with dprintf to FUZZ_CHECK_FD (default 2): a target that sends stderr
 * elsewhere to read what the code under test says there defines it first. */
#ifndef NBSTAGE_FUZZ_H
#define NBSTAGE_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

#ifndef FUZZ_CHECK_FD
#define FUZZ_CHECK_FD 2
#endif

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            dprintf(FUZZ_CHECK_FD, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#endif
