/* ingest.h — the engine of `nbstage ingest`: notebooks to cell lines, on worker
 * threads, delivered in order.
 *
 * Owns: what one notebook gives (nothing when it is not Python, by nbformat/nblang.h's
 * rule: its cells would be training data in another language; else its code cells as
 * JSON lines with ids `<rel>#<k>`, k counting every code cell from 0, dropped ones
 * included, so ids stay stable whatever the dropping rules; empty and comment-only
 * cells dropped), the per-notebook statistics, and the thread pool.  The command
 * (cmd_ingest.c) owns paths, the output file and the report.
 */
#ifndef NBSTAGE_INGEST_H
#define NBSTAGE_INGEST_H

#include <stddef.h>

#include "nbformat/nblang.h"

struct ingest_item {
    char *path; /* to open ("-": standard input, named <stdin> in messages) */
    char *rel;  /* path relative to the PATH given: the id's first half, bytes
                 * (written by nb_json_path's rule: a byte that is not UTF-8 \udcXX) */
    char *why;  /* NULL, or why the walk found it unreadable (a dangling symlink, a
                 * FIFO): a bad notebook with that reason, never opened */
};

struct ingest_stats {
    long notebooks, bad, code_cells, kept, dropped_empty, dropped_comment, duplicates;
    long one_cell_notebooks, empty_notebooks, lines;
    long long bytes;
    struct nb_lang_tally not_python; /* notebooks skipped: not Python (nbformat/nblang.h),
                                      * counted in none of the above but bytes */
};

/* Receives item I's lines (LEN bytes, possibly 0) or, for a bad notebook, ERROR
 * ("path:line:col: reason") — always from the thread that called ingest_run, in
 * item order, after ingest_run's ST counts item I.  Non-zero stops the run (e.g. a
 * write error). */
typedef int (*ingest_sink)(size_t i, const char *lines, size_t len, const char *error, void *ctx);

/* Ingests ITEMS[0..N) with JOBS worker threads (1 or more).  ST gets the totals;
 * exact-duplicate cells are counted over the whole run.  Returns the sink's non-zero
 * value, -1 when out of memory or threads, else 0. */
int ingest_run(const struct ingest_item *items, size_t n, int jobs, ingest_sink sink, void *ctx,
               struct ingest_stats *st);

#endif
