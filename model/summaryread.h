/* summaryread.h — `nbstage summary`: each notebook read into the window.
 *
 * Owns: a notebook's bytes (a file, or standard input for '-', named <stdin> as tag and
 * fmt name it), a file met again under another name passed over (nbformat/fileonce.h:
 * one map per file, as tag and fmt take it), its code cells: from the byte scanner
 * (nbformat/cellscan.h, as ingest: no JSON tree, which took most of the time) for
 * nearly every notebook, else from the jansson reader (nbformat 3, odd corners,
 * --saved), which also says why a bad one is bad (read as ingest reads: what Python
 * reads, NaN and duplicate keys, is read); its language (nbformat/nblang.h, handed to
 * summarylang.c when not Python); with --saved each cell's saved stage, as `tag
 * --from-outputs` would leave it (the stage kernel's last tag output, else the cell's
 * stage tag; model/tagging.h); each cell's lines of code, blank cells said blank, and
 * the rest asked of the batch (not --saved).  A notebook's, folder's or PATH's error
 * goes into the window in its order.  Reads only; never writes a notebook.
 */
#ifndef NBSTAGE_SUMMARYREAD_H
#define NBSTAGE_SUMMARYREAD_H

#include "model/summarycmd.h"

/* nb_walk's callbacks (nbformat/notebook.h), VS a struct summary.  The first reads one
 * notebook (PATH "-": standard input) into the window, shown when full; -1 when out of
 * memory (the run stops).  The second puts a walk's error into the window. */
int summaryread_notebook(const char *path, const char *rel, void *vs);
void summaryread_walk_error(const char *path, const char *reason, void *vs);

#endif
