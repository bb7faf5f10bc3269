/* trainread.h — the cells `nbstage train` learns from, as read: the weak labels
 * (`nbstage label`'s lines) joined by id to their sources.
 *
 * Owns: reading --cells (`nbstage ingest`'s lines: id -> source, a string or nbformat's
 * list of lines) and refusing one id with two sources; reading the weak labels, each
 * line's target (the label model's probabilities renormalised, scaled first when beyond
 * a float's range, one-hot with hard targets), its source (its own "source", else the
 * one --cells has for its id) and its notebook group (the "notebook", else the id's part
 * before '#'); counting what is left out and why (abstained, no source, blank or
 * comment-only, below --min-confidence) and naming the first ids without a source; each
 * bad line named as file:line (a byte-order mark as such), and out of memory said as
 * such, never as a bad line or a label without a source.  '-' is standard input, named
 * trainread_stdin ("<stdin>") in messages and the model's provenance.
 */
#ifndef NBSTAGE_TRAINREAD_H
#define NBSTAGE_TRAINREAD_H

#include <stddef.h>
#include <stdint.h>

#include "labeling/stage.h"

/* The path of standard input: cmd_train gives this very pointer for '-' (compared as a
 * pointer, so a file named "<stdin>" is still a file). */
extern const char trainread_stdin[];

struct train_cell {
    char *id;
    char *src;        /* owned */
    size_t len;
    float target[N_STAGES];
    int stage;
    uint64_t group;   /* hash of the notebook path */
    size_t line;      /* the line it was read from (of --cells, or of the weak labels), for messages */
    const char *prev; /* --cells: the notebook's code cell before it (context_next), borrowed from
                       * another cell's src; NULL for the first */
    size_t prev_len;
};

struct train_cells { struct train_cell *v; size_t n, cap; };

struct train_srcmap {
    struct train_cell *v; size_t n; /* sorted by id */
    /* The first line whose ingest "index" is not above the one of the line before it
     * in the same notebook (0: none), and the two indices: the file is not in its
     * notebooks' order, which a context model's predecessors need. */
    size_t disorder_line;
    long long disorder_ix, disorder_after;
};

struct weak_stats {
    size_t lines, abstained, no_source, blank, low_conf;
    char *missing[3];   /* the first ids without a source, to name them (malloc'd) */
    size_t changed;     /* labels whose source_digest is not of --cells' source */
    char *changed_ids[3]; /* the first of them (malloc'd) */
    size_t no_probs;    /* labels kept that give no probabilities: their soft targets
                         * are one-hot (said in the log, not taken for the label model's) */
    size_t rescaled;    /* labels kept whose probabilities do not sum to 1 (within 0.01:
                         * a hand-made file, percentages): scaled to, and said in the log */
    size_t rescaled_line; /* the first of them: its line, and its sum */
    double rescaled_sum;
};

/* Reads `nbstage ingest` lines from PATH into MAP: 0, or -1 with the reason said on
 * stderr (what was read is in MAP all the same, for trainread_free).  Each cell's PREV
 * is the nearest earlier line of the same notebook (its "notebook", else its id's part
 * before '#'; ingest writes a notebook's cells together, in order) that counts as
 * context. */
int trainread_sources(const char *path, struct train_srcmap *map);

/* Reads the weak labels of PATH into OUT, their sources joined from MAP (empty without
 * --cells), the lines left out counted in ST: 0, or -1 with the reason said.  With
 * CONTEXT each source is the text a context model reads (model/context.h): a cell
 * joined from MAP after its predecessor there; a line with its own source whose id is
 * a statement's (`label --statements`: CELL.sK) after statement K-1 of that cell (the
 * last one read before it), the first statement after the cell's predecessor; any
 * other line with its own source after its id's predecessor in MAP, if it has one.
 * One id labeled with two stages is refused (-1, said). */
int trainread_weak(const char *path, double min_conf, int soft, int context, const struct train_srcmap *map,
                   struct train_cells *out, struct weak_stats *st);

/* Frees N cells' ids and sources, and V. */
void trainread_free(struct train_cell *v, size_t n);

/* The notebook a line belongs to, hashed: its "notebook" NB, else its ID's part before
 * '#'; 0 when both are NULL.  Train's groups and, for a context model, whose
 * predecessor a line can be (classify, eval). */
uint64_t trainread_group(const char *nb, const char *id);

/* The group whose lines a context model reads one after the other: trainread_group's,
 * but 0 (a cell of its own, read as a first cell) for an ID without '#' and no NB.
 * Such an id names no notebook: two lines of one id in a row (a program that sends
 * every query as "cell") are not one notebook's cells. */
uint64_t trainread_context_group(const char *nb, const char *id);

/* A keyed 64-bit hash of N bytes: the notebook groups here, and trainsplit.c's
 * duplicate table and order of notebooks. */
uint64_t trainread_hash(const char *s, size_t n, uint64_t seed);

#endif
