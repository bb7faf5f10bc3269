/* workers.h — a small thread pool for per-file jobs, with results taken in order.
 *
 * Owns: spreading N independent jobs over T threads (`nbstage tag -j N`) while the
 * calling thread receives each finished job in index order, so reports print in the
 * order the files were given whatever the thread count.  Workers run at most a
 * bounded window ahead of delivery, which caps the memory held by finished results.
 */
#ifndef NBSTAGE_WORKERS_H
#define NBSTAGE_WORKERS_H

#include <stddef.h>

/* Runs on a worker thread; must be safe to run concurrently for different I. */
typedef void (*workers_job)(size_t i, void *ctx);
/* Runs on the calling thread, for I = 0, 1, ... in order, once job I is done. */
typedef void (*workers_done)(size_t i, void *ctx);

/* Runs JOB for 0..N-1 on THREADS threads (1 or less: all on the calling thread) and
 * DONE for each in order.  Falls back to fewer threads if some cannot be started.
 * Returns the number of threads actually used. */
int workers_run(int threads, size_t n, workers_job job, workers_done done, void *ctx);

/* The number of CPUs the process may run on (its affinity mask, as nproc counts;
 * else the online CPUs), at least 1: the default for -j. */
int workers_default(void);

#endif
