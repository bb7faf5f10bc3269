/* cpus.h — how many CPUs this process may use: the default thread count of every
 * command (-j).
 *
 * Owns: counting the CPUs of the process's affinity mask, as nproc does, so that a
 * run confined by taskset, a container's cpuset or a batch scheduler starts as many
 * threads as it has CPUs, not as many as the machine has (sysconf's online count,
 * used only when the mask cannot be read).
 */
#ifndef NBSTAGE_CPUS_H
#define NBSTAGE_CPUS_H

/* The CPUs this process may run on, at least 1. */
int cpus_usable(void);

/* cpus_usable(), at most CAP: a command's default -j where more threads buy nothing
 * (ingest's and label's 8). */
static inline int cpus_usable_up_to(int cap)
{
    int n = cpus_usable();
    return n > cap ? cap : n;
}

#endif
