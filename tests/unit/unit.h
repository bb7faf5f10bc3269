/* unit.h — what every unit test includes: cmocka and the repository root. */
#ifndef NBSTAGE_UNIT_H
#define NBSTAGE_UNIT_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <sys/stat.h>

/* ../shared relative to the repository root, or NULL when it is not there (tests
 * that read the corpus are skipped then). */
static inline const char *unit_shared_dir(void)
{
    const char *d = getenv("NBSTAGE_SHARED");
    if (!d) d = "../shared";
    struct stat st;
    return (stat(d, &st) == 0 && S_ISDIR(st.st_mode)) ? d : NULL;
}

#endif
