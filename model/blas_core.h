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

/* Re-executes /proc/self/exe with ARGV once, with what OpenBLAS must read before main:
 *  - TRAIN: OPENBLAS_CORETYPE=blas_core_better() when that names a set and the user
 *    set none;
 *  - under an address-space limit (ulimit -v, a batch scheduler's h_vmem), unless the
 *    user set OPENBLAS_NUM_THREADS: OPENBLAS_NUM_THREADS=1.  Debian's OpenBLAS 0.3.21
 *    starts a worker thread per core before main, and each allocates a 128 MB buffer;
 *    one that cannot retries for ever, and blas_threads_stop() waits for it: every
 *    command hung at 100% CPU.  Nothing here multiplies in parallel through OpenBLAS
 *    (train's threads each call it single-threaded), so no worker is needed.
 * In the program run again, the variables it set are unset at once (OpenBLAS has read
 * them), so that the kernel's child and anything else started sees the user's
 * environment.  Returns when nothing was to be done, or the exec failed (then as
 * before: slower, or the hang OpenBLAS has). */
void blas_core_reexec(char **argv, int train);

/* For programs that never multiply in parallel (everything but `nbstage train`):
 * one BLAS thread, and OpenBLAS's worker threads stopped.  Debian's pthread build
 * starts its workers in its constructor, before main, and an idle worker spins in
 * sched_yield for 2^28 time-stamp ticks (~0.1 s of a core here) before it sleeps:
 * at every start, a second core busy for nothing, beside `tag -j 2`'s workers or the
 * kernel's child starting up.  A later threaded BLAS call starts them again. */
void blas_threads_stop(void);

#endif
