/* blas_core.h — making sure OpenBLAS runs its kernels for this processor.
 *
 * Owns: the choice of OPENBLAS_CORETYPE.  Debian's OpenBLAS 0.3.21 picks its kernels
 * at load time from the CPU's model number; on processors newer than it knows (the
 * Sapphire Rapids Xeons we train on) it falls back to "Prescott", SSE3 kernels, and
 * training runs at ~60% of the speed the same library reaches with its AVX-512
 * ("SkylakeX") kernels.  OpenBLAS reads OPENBLAS_CORETYPE in its constructor, before
 * main, so the only way to change the choice from inside the program is to set the
 * variable and exec the program again.  A user's own OPENBLAS_CORETYPE always wins.
 */
#ifndef NBSTAGE_BLAS_CORE_H
#define NBSTAGE_BLAS_CORE_H

/* The kernel set OpenBLAS should use here, or NULL when its own choice is fine (it
 * is not the generic fallback, or the CPU has nothing better). */
const char *blas_core_better(void);

/* If blas_core_better() names a set and OPENBLAS_CORETYPE is unset, sets it and
 * re-executes /proc/self/exe with ARGV; returns only when nothing was done or the
 * exec failed (then OpenBLAS's own choice stands: slower, still correct). */
void blas_core_reexec_if_generic(char **argv);

/* For programs that never multiply in parallel (everything but `nbstage train`):
 * one BLAS thread, and OpenBLAS's worker threads stopped.  Debian's pthread build
 * starts its workers in its constructor, before main, and an idle worker spins in
 * sched_yield for 2^28 time-stamp ticks (~0.1 s of a core here) before it sleeps:
 * at every start, a second core busy for nothing, beside `tag -j 2`'s workers or the
 * kernel's child starting up.  A later threaded BLAS call starts them again. */
void blas_threads_stop(void);

#endif
