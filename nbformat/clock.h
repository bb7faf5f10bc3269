/* clock.h — the clocks every timing figure reads: the run summaries of ingest, label
 * and tag, the progress bar, the training log.
 *
 * Owns: seconds on the monotonic clock (an interval is right across a change of the
 * wall clock) and seconds of the process's CPU time, all threads (honest on a busy
 * machine).  One definition, where six copies were.
 */
#ifndef NBSTAGE_CLOCK_H
#define NBSTAGE_CLOCK_H

#include <time.h>

static inline double nb_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline double nb_cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

#endif
