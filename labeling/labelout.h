/* labelout.h — the files `nbstage label` writes (-o, --report), committed together.
 *
 * Owns: opening each output through nbformat/outfile.h (atomic: a write error or a
 * failed run leaves the old file as it was), saying what failed as label does
 * ("nbstage label: cannot write the labels: ..."), and the order of the end of a run:
 * every output's buffer flushed before any is committed, so that a write error shows
 * while every old file is still in place; only a failing fsync or rename after that
 * could leave one replaced and not another.  Which file is committed when (the labels
 * last; an SVG between) is the caller's.
 */
#ifndef NBSTAGE_LABELOUT_H
#define NBSTAGE_LABELOUT_H

#include <stdio.h>

#include "nbformat/outfile.h"

/* Opens PATH into OF; its FILE, or NULL with "cannot write the WHAT: reason" said. */
FILE *labelout_open(struct outfile *of, const char *path, const char *what);

/* Flushes OF's buffer: 0; or -1, the reason said and OF's temporary removed (the old
 * file kept).  0 when OF is not open. */
int labelout_flush(struct outfile *of);

/* Commits OF over its file: 0; or -1, the reason said.  0 when OF is not open. */
int labelout_commit(struct outfile *of);

#endif
