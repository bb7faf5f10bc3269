/* blas_core.c — OPENBLAS_CORETYPE for processors OpenBLAS does not know, and stopping
 * its idle worker threads (see blas_core.h). */
#include "model/blas_core.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

const char *blas_core_better(void)
{
    const char *core = openblas_get_corename();
    /* The generic fallbacks of DYNAMIC_ARCH builds: pre-AVX kernel sets. */
    static const char *const generic[] = {"Prescott", "Core2", "Penryn", "Dunnington",
                                          "Nehalem", "Katmai", "Coppermine", "Northwood"};
    int is_generic = 0;
    for (size_t i = 0; core && i < sizeof generic / sizeof generic[0]; i++)
        if (!strcmp(core, generic[i])) is_generic = 1;
    if (!is_generic) return NULL;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

/* Which variables the exec set, for the program run again to unset ("CN": coretype,
 * number of threads). */
#define BLAS_SET_MARK "NBSTAGE_BLAS_SET"

void blas_core_reexec(char **argv, int train)
{
    const char *mark = getenv(BLAS_SET_MARK);
    if (mark) { /* run again: OpenBLAS has read them, give the user's environment back */
        if (strchr(mark, 'C')) unsetenv("OPENBLAS_CORETYPE");
        if (strchr(mark, 'N')) unsetenv("OPENBLAS_NUM_THREADS");
        unsetenv(BLAS_SET_MARK);
        return;
    }
    char set[3] = "";
    const char *better = train && !getenv("OPENBLAS_CORETYPE") ? blas_core_better() : NULL;
    if (better && !setenv("OPENBLAS_CORETYPE", better, 1)) strcat(set, "C");
    struct rlimit as;
    if (!getenv("OPENBLAS_NUM_THREADS") && getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY &&
        !setenv("OPENBLAS_NUM_THREADS", "1", 1))
        strcat(set, "N");
    if (!set[0] || setenv(BLAS_SET_MARK, set, 1)) return;
    execv("/proc/self/exe", argv);
    /* the exec failed: carry on as we were */
    if (strchr(set, 'C')) unsetenv("OPENBLAS_CORETYPE");
    if (strchr(set, 'N')) unsetenv("OPENBLAS_NUM_THREADS");
    unsetenv(BLAS_SET_MARK);
}

/* Exported by OpenBLAS's pthread build (its fork handler uses it), not declared in
 * cblas.h; weak, so that a build without it (OpenMP, single-threaded) links too. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void blas_threads_stop(void)
{
    openblas_set_num_threads(1); /* first: it would start the workers again */
    if (blas_thread_shutdown_) blas_thread_shutdown_();
}
