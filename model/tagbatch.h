/* tagbatch.h — the classifications a group of notebooks needs, made together.
 *
 * Owns: collecting the code-cell sources that `nbstage tag` (or `summary`) must
 * classify for a window of notebooks (those the run's memo, model/classcache.h, does
 * not hold yet), classifying each distinct one once, in batches of cells of similar
 * length (model_run_many: several cells per walk over the recurrent weights), the
 * steps of word prefixes several cells share run once, on several threads, and
 * answering every request and the memo.  Why across notebooks: a notebook has a few
 * dozen cells of scattered lengths, so batches of one notebook's cells mostly run one
 * or two cells per walk (measured on the corpus: 5% faster than one at a time, against
 * 1.7x for the corpus's cells sorted by length together).  Each answer is exactly
 * model_classify's (the batch path is bit-identical to it, see model.h), so the tags
 * written do not depend on how notebooks were grouped.  A caller that runs other work
 * beside (model/tagrun.c saves one window while the next is classified) can make the
 * classifying threads pass its gate (tagbatch_gate).
 */
#ifndef NBSTAGE_TAGBATCH_H
#define NBSTAGE_TAGBATCH_H

#include <semaphore.h>
#include <stddef.h>

#include "model/classcache.h"
#include "model/model.h"

struct tagbatch;

/* A batch in front of M and CACHE (both borrowed; CACHE may be NULL); NULL when out of
 * memory. */
struct tagbatch *tagbatch_new(const nbs_model *m, struct classcache *cache);
void tagbatch_free(struct tagbatch *b);

/* From now on each thread of tagbatch_run holds one unit of GATE (borrowed) while it
 * classifies: the caller's -j counts them with its other work.  NULL: no gate. */
void tagbatch_gate(struct tagbatch *b, sem_t *gate);

/* Asks for model_classify(SRC[0..LEN)): answered at once from the memo (returns 1,
 * *STAGE and *PROB set: the stage or STAGE_NONE, and its probability or 0), or queued
 * (returns 0) for tagbatch_run to answer; SRC, STAGE and PROB must stay valid until
 * then.  -1: out of memory.  Safe from many threads. */
int tagbatch_ask(struct tagbatch *b, const char *src, size_t len, int *stage, float *prob);

/* tagbatch_ask for cell SRC after PREV (model_classify_after): for a model that reads
 * context, the text is made and kept here until tagbatch_run (PREV and SRC need not
 * outlive the call then; STAGE and PROB must); the same as tagbatch_ask otherwise. */
int tagbatch_ask_after(struct tagbatch *b, const char *prev, size_t plen, const char *src, size_t len,
                       int *stage, float *prob);

/* Answers every queued request, each distinct source classified once on up to
 * THREADS threads, and stores the answers in the memo; the queue is then empty.
 * Falls back to one cell at a time when memory is short: same answers. */
void tagbatch_run(struct tagbatch *b, int threads);

#endif
