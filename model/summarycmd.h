/* summarycmd.h — what `nbstage summary` (cmd_summary.c: its options, their checks and
 * the dispatch over its arguments) hands the modules that do the run: summaryread.c
 * (each notebook read into the window), summarywindow.c (the window, shown in order),
 * summaryshow.c (stdout), summarylang.c (a notebook that is not Python) and
 * summarysvg.c (the maps kept for --svg, and the picture).
 *
 * Owns: struct summary, the options as parsed and checked and the run's state that
 * those modules share: the counts that decide the exit code, the memo's batch and the
 * byte scanner reused across notebooks, the window, stdout's first write error, the
 * files met.
 */
#ifndef NBSTAGE_SUMMARYCMD_H
#define NBSTAGE_SUMMARYCMD_H

#include <stddef.h>

#include "model/model.h"
#include "model/stagemap.h"
#include "nbformat/cellscan.h"
#include "nbformat/fileonce.h"

struct tagbatch;
struct summary_entry;

struct summary {
    const nbs_model *model;
    int saved, json, color;
    int quiet; /* -q: no notes (a notebook not in Python), as tag -q; errors still said */
    int columns; /* the terminal's width; 0 when stdout is no terminal */
    int svg_only; /* --svg -: the picture is the only output */
    struct stagemap *maps; /* kept for --svg */
    size_t n, cap;
    int keep; /* keep maps (for --svg) */
    long errors;
    long seen; /* notebooks found (read or not) */
    long said; /* errors found (said now or with their window) */
    struct tagbatch *batch; /* the classifications a window asks for (not --saved) */
    int threads;
    struct cellscan scan; /* reused across notebooks */
    struct summary_entry *pending; /* the window, in order */
    size_t npending, cappending, window_bytes;
    int out_errno; /* stdout's first write error seen before the end */
    struct fileonce met; /* the files read: one met again is passed over */
};

#endif
