/* progress.h — a progress bar on stderr, drawn only when stderr is a terminal.
 *
 * Owns: the one-line bar of long runs (`nbstage ingest`, `nbstage tag -j N`).  On a
 * pipe or a file nothing is written, so logs stay clean, nor with -q.  The line fits
 * the terminal's width (a line that wrapped left a trail of bars, as \r goes back to
 * the start of the last row only), and is redrawn with \r and spaces, no escape
 * sequence, so that TERM=dumb and any terminal show it alike.  Every call is
 * thread-safe: worker threads may report at once.
 */
#ifndef NBSTAGE_PROGRESS_H
#define NBSTAGE_PROGRESS_H

#include <pthread.h>

struct progress {
    pthread_mutex_t lock;
    const char *what;  /* e.g. "ingest" */
    long total;        /* 0 or less: unknown, the bar shows a count only */
    long done;
    int tty;           /* stderr is a terminal, and not -q: draw */
    int drawn;         /* the length of what is on the line */
    int cols;          /* the terminal's width */
    double start, last_draw;
};

/* Starts a bar for TOTAL items labelled WHAT (kept by pointer: a literal or a string
 * that outlives the bar); QUIET (-q): none drawn. */
void progress_start(struct progress *p, const char *what, long total, int quiet);
/* DONE items so far (a smaller value than already reported is ignored, so threads
 * may report their own view of a shared counter). Redraws at most ~10 times a second. */
void progress_update(struct progress *p, long done);
/* Adds N done items: for workers that count their own. */
void progress_add(struct progress *p, long n);
/* Erases the bar; the next line of stderr starts clean. */
void progress_end(struct progress *p);
/* Erases the bar for a line of the caller's (redrawn at the next update); the caller
 * holds P->lock. */
void progress_erase_locked(struct progress *p);

#endif
