/* closers.h — the replaced files' last closes, on closer threads beside the work.
 *
 * Owns: the descriptors of the old files that `nbstage tag`'s in-place saves replace
 * (model/tagjob.h), the closer threads that close them, and the descriptor limit,
 * raised for the run.
 *
 * Why not close in the saving thread: the last close of a replaced file frees its
 * blocks, and on ext4 without a journal mounted with `discard` (this project's
 * machines) that waits for the block device's discard (blkdev_issue_discard in
 * ext4_free_blocks): 0.04-0.6 ms each, the device taking few at once.  A save thread
 * that waited there would hold up its window's last step, which other windows'
 * classifications do not overlap.  So each in-place save keeps the old file's
 * descriptor (tagjob_read's KEEP: the rename then frees nothing) and hands it to the
 * closers, who close while the next windows are read and classified; the few left at
 * the end are closed during and after the final syncfs.  (Until now all of them were
 * held to the end of the run, so new inodes would not search past recently freed
 * ones; measured on today's kernel that search costs nothing here, a freed inode being
 * reused by the next temporary made in the same second, while the closes at the end
 * were a serial tail of 0.2-0.6 s on the corpus.)  The backlog is bounded by the
 * descriptor limit (raised to its hard limit for the run) and by the disk space the
 * old files keep (HELD_BYTES in closers.c, 1 GiB); past either, or without closer
 * threads, closed at once.
 */
#ifndef NBSTAGE_CLOSERS_H
#define NBSTAGE_CLOSERS_H

#include <pthread.h>
#include <stddef.h>
#include <sys/resource.h>

enum { CLOSERS = 4 };

struct held_fd {
    int fd;
    long long size;
};

/* {.lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER} before
 * closers_start. */
struct closers {
    pthread_mutex_t lock;
    pthread_cond_t more; /* CLOSE_BATCH descriptors queued, or the run ended */
    struct held_fd *q;   /* q[head .. n) wait to be closed */
    size_t head, n, cap, max;
    long long bytes;     /* the sizes queued */
    int ending, started;
    pthread_t tid[CLOSERS];
};

/* Raises the descriptor limit for the run, sets how many may wait to be closed and
 * starts the closers; OLD gets the limit to restore.  THREADS: the caller's threads
 * that may hold descriptors of their own.  *AHEAD: how many descriptors the caller
 * keeps open at once besides (model/tagrun.h: the notebooks read ahead, each keeping
 * its descriptor until its save); lowered to half of what the limit leaves, and kept
 * out of the closers' share. */
void closers_start(struct closers *h, struct rlimit *old, int threads, size_t *ahead);

/* FD, a replaced file of SIZE bytes, closed by the closers, or here at once when they
 * are not running or the backlog is full.  Safe from many threads. */
void closers_hold(struct closers *h, int fd, long long size);

/* Waits for the closers to close what is left, and restores the descriptor limit. */
void closers_end(struct closers *h, const struct rlimit *old);

#endif
