/* fssync.h — one syncfs(2) per filesystem written to, instead of an fsync per file.
 *
 * Owns: the filesystems `nbstage tag` rewrites notebooks on in place (model/tagjob.h),
 * one open descriptor each, and their sync at the end of the run.
 *
 * Why.  Files rewritten in place are saved with NB_SAVE_DEFER_SYNC: temporary file +
 * rename, no fsync per file (nbformat/nbsave.c has the argument).  A kill at any
 * moment still leaves each file old or new: that is the rename's doing, not fsync's.
 * What fsync added was surviving a power loss or an OS crash, and that is now one
 * syncfs per filesystem touched, after the workers finish and before the summary and
 * the exit code: a successful exit still means every rewritten file is on disk, and a
 * failed sync is reported and makes the exit code 2.  Until that sync returns, a power
 * loss may lose the run's changes (see nbsave.c for which filesystems may then also
 * leave files short).  Each filesystem's descriptor is opened before the first save to
 * it, so syncfs also reports write-back errors (EIO, ENOSPC) of our files that the
 * kernel met in the background (Linux >= 5.8).  -o FILE is a single save and keeps
 * the per-file fsyncs.
 */
#ifndef NBSTAGE_FSSYNC_H
#define NBSTAGE_FSSYNC_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

struct fssync_entry {
    dev_t dev;
    int fd;
    char *name; /* the first file saved there, for messages */
};

/* {.lock = PTHREAD_MUTEX_INITIALIZER} is an empty one. */
struct fssync {
    pthread_mutex_t lock;
    struct fssync_entry *v;
    size_t n, cap;
};

/* Makes sure DEV (PATH's filesystem) has a descriptor to sync at the end; 0, or -1
 * when none could be had (the caller then saves with an fsync of its own).  Safe from
 * many threads. */
int fssync_register(struct fssync *t, dev_t dev, const char *path);

/* syncfs of every filesystem registered, each failure reported on stderr; the
 * descriptors are closed and T emptied.  How many failed. */
long fssync_end(struct fssync *t);

#endif
