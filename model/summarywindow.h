/* summarywindow.h — `nbstage summary`'s run in windows: what each notebook read gave,
 * kept until its window is shown, so that maps, notes and messages come in the
 * notebooks' order.
 *
 * Owns: the entries (a notebook's cells and their answers, or the message said in its
 * place: a read error, a note that it is not Python, "no notebooks found"), the
 * window's limits (SUMMARY_WINDOW_NOTEBOOKS, or SUMMARY_WINDOW_BYTES of sources asked
 * of the batch), and its flush: the batch run (model/tagbatch.h, as tag does: each
 * distinct source classified once, in batches, on all CPUs, the answers exactly
 * model_classify's), then each entry in order, its message on stderr (stdout flushed
 * before it, so a `2>&1` keeps the order) and, with --json, the record in its place,
 * or its map made (model/stagemap.h; the confidence rounded as tag saves it) and shown
 * (summaryshow.h).  What an entry holds is filled by summaryread.c.
 */
#ifndef NBSTAGE_SUMMARYWINDOW_H
#define NBSTAGE_SUMMARYWINDOW_H

#include <stddef.h>

#include "model/summarycmd.h"
#include "nbformat/bytebuf.h"
#include "nbformat/nblang.h"

enum { SUMMARY_WINDOW_NOTEBOOKS = 256 };
#define SUMMARY_WINDOW_BYTES ((size_t)32 << 20)

struct summary_cell {
    size_t off, len; /* the source: text.p[off .. off+len) */
    int stage;       /* the batch's answer, or known at once (blank, --saved) */
    float prob;
    double conf; /* the saved confidence (--saved), or -1 */
    long lines;
};

struct summary_entry {
    char *path;    /* the notebook, as shown (with an error MESSAGE: what failed) */
    char *message; /* instead of a map: said on stderr ("PATH: reason") */
    char *note;    /* before the map: said on stderr */
    int not_python; /* MESSAGE says so; --json gives a record in the map's place */
    char lang[NB_LANG_NAME];
    int error;     /* MESSAGE counts as an error */
    size_t reason; /* an error's reason: MESSAGE + REASON (for --json's record) */
    struct bytebuf text; /* the code cells' sources back to back, a NUL after them;
                          * lives until the batch ran */
    struct summary_cell *cells;
    size_t n;
};

/* Appends an empty entry to S's window; NULL when out of memory. */
struct summary_entry *summarywindow_add(struct summary *s);

/* Frees what E holds (not E, an element of the window). */
void summarywindow_free_entry(struct summary_entry *e);

/* A message in the window's order, FMT with A and B (B may be NULL); ERROR: it counts
 * as an error.  -1 when out of memory. */
int summarywindow_message(struct summary *s, int error, const char *fmt, const char *a,
                          const char *b);

/* A notebook, folder or PATH that could not be read, in the window's order: "PATH:
 * REASON" on stderr, and with --json a record on stdout too.  -1 when out of memory. */
int summarywindow_error(struct summary *s, const char *path, const char *reason);

/* Classifies what the window asked, then shows its maps and messages in order and
 * empties it.  -1 when out of memory (the window emptied all the same). */
int summarywindow_flush(struct summary *s);

#endif
