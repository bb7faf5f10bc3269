/* context.h — what a model trained with context reads for a cell: the last code lines
 * of the cell before it, a separator word, then the cell.
 *
 * Owns: the one definition of that text, shared by training (model/trainread.c) and by
 * every caller that classifies (classify, eval, tag, summary, the kernel), so that they
 * cannot drift apart.
 *
 *   text = <the last CONTEXT_LINES code lines of PREV> "\n" CONTEXT_WORD "\n" <SRC>
 *
 * A code line is one with a non-white character that is not a comment line ('#' first
 * after white space); lines are split at '\n' and kept as they are.  PREV is the
 * nearest earlier code cell of the notebook that is not blank or comments only
 * (context_counts), in the kernel the last such cell run; NULL for the first (the text
 * then starts with the word).  A blank or comment-only SRC (pysrc_is_blank) is read alone: it gets no stage
 * either way.  The model reads the last seq_len words of the text (Keras' truncation
 * at the front), so a long cell pushes its context out, and a short one is read after
 * the few words that set it up.
 *
 * Why: short cells (`df.columns`, `score_bagging`, `wcss` plotted) are explore, prep or
 * evaluate by what came just before them.  The label model sees the notebook
 * (labeling/flow.h); the study's LSTM saw only the cell, and trailed its teacher on
 * cells of up to 10 words.  Measured 2026-12-04 (same weak labels and settings, seeds 2
 * and 3): dev +1.1 and +1.2 points, the fourteen never-read label files +0.8 and +0.8,
 * the read ones +0.7 and +0.8 (share/default.nbsm.txt).  Why text and not ids: the
 * tokenizer's assignment words need whole lines, and one function then serves the
 * trainer and every classifier.
 */
#ifndef NBSTAGE_CONTEXT_H
#define NBSTAGE_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#define CONTEXT_LINES 3
#define CONTEXT_WORD "nbstagectx" /* letters only: the tokenizer keeps it as one word */

/* 1 when SRC can be the context of the cells after it: it is not blank or comments
 * only (pysrc_is_blank).  Such cells are not in ingest's output, which the model was
 * trained from, so they are skipped here too. */
int context_counts(const char *src, size_t len);

/* The text for cell SRC (LEN bytes) after PREV (PLEN bytes; NULL: none), written to *BUF
 * (malloc'd or grown with realloc; *CAP its size, 0 with *BUF NULL to start), NUL-
 * terminated.  Returns its length, or (size_t)-1 when out of memory (*BUF is then still
 * the caller's to free). */
size_t context_text(const char *prev, size_t plen, const char *src, size_t len, char **buf, size_t *cap);

/* The same in two steps, for a caller with its own storage: context_plan finds the
 * text's pieces once and returns its length (its NUL not counted); context_plan_put
 * writes it to DST, which has room for it and the NUL, from the same PREV and SRC. */
struct context_plan { size_t at[CONTEXT_LINES][2]; int k, blank; };
size_t context_plan(struct context_plan *pl, const char *prev, size_t plen, const char *src, size_t len);
void context_plan_put(const struct context_plan *pl, char *dst, const char *prev, const char *src,
                      size_t len);

/* A cursor over one notebook's code cells in order: context_next gives the PREV of
 * the cell it is told about, then remembers that cell when it counts.  The pointers
 * are borrowed: the earlier cell's source must stay valid while the cursor holds it. */
struct context_cursor { const char *prev; size_t plen; };
void context_next(struct context_cursor *cur, const char *src, size_t len, const char **prev, size_t *plen);

/* The same for cells whose sources do not outlive the call (eval's lines): each one
 * that counts is copied.  GROUP names the cell's notebook (trainread_group; 0: one of
 * its own); *PREV stays valid until the next call.  -1 when out of memory. */
struct context_trail { uint64_t group; char *buf[2]; size_t len[2], cap[2]; int which, have; };
int context_trail_next(struct context_trail *t, uint64_t group, const char *src, size_t len,
                       const char **prev, size_t *plen);
void context_trail_free(struct context_trail *t);

#endif
