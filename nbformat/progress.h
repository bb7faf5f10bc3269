/* progress.h — a progress bar on stderr, drawn only when stderr is a terminal.
 *
 * Owns: the one-line bar of long runs (`nbstage ingest`, `nbstage tag -j N`).  On a
 * pipe or a file nothing is written, so logs stay clean.  Every call is thread-safe:
 * worker threads may report at once.
 */
#ifndef NBSTAGE_PROGRESS_H
#define NBSTAGE_PROGRESS_H

#include <pthread.h>

struct progress {
    pthread_mutex_t lock;
    const char *what;  /* e.g. "ingest" */
    long total;        /* 0 or less: unknown, the bar shows a count only */
    long done;
    int tty;           /* stderr is a terminal: draw */
    int drawn;         /* something is on the line */
    double start, last_draw;
};

/* Starts a bar for TOTAL items labelled WHAT (kept by pointer: a literal or a string
 * that outlives the bar). */
void progress_start(struct progress *p, const char *what, long total);
/* DONE items so far (a smaller value than already reported is ignored, so threads
 * may report their own view of a shared counter). Redraws at most ~10 times a second. */
void progress_update(struct progress *p, long done);
/* Adds N done items: for workers that count their own. */
void progress_add(struct progress *p, long n);
/* Erases the bar; the next line of stderr starts clean. */
void progress_end(struct progress *p);

#endif
