/* classcache.h — one run's memo of model_classify, keyed by the cell's source.
 *
 * Owns: remembering, for each distinct source classified during a run of `nbstage tag`
 * or `nbstage summary`, the stage model_classify gave and its probability, so an exact
 * duplicate cell (the shared corpus has ~22k: forks, course templates) costs a hash
 * and a compare instead of a tokenizer and 120 LSTM steps.  Keys are the whole source,
 * compared byte for byte (no trust in the hash alone), so a hit gives exactly what
 * model_classify would.  Safe from many threads (one lock: a lookup is ~100 ns, a
 * classification ~15 us).  Bounded: past CLASSCACHE_MAX_BYTES of stored sources new
 * ones are classified but not kept.
 */
#ifndef NBSTAGE_CLASSCACHE_H
#define NBSTAGE_CLASSCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

#define CLASSCACHE_MAX_BYTES ((size_t)64 << 20)

struct classcache;

/* A cache in front of M (borrowed, must outlive it); NULL when out of memory. */
struct classcache *classcache_new(const nbs_model *m);
void classcache_free(struct classcache *c);

/* model_classify(M, SRC, LEN, probs): the stage (or STAGE_NONE for a blank source),
 * with probs[stage] in *PROB (0 for STAGE_NONE). */
int classcache_classify(struct classcache *c, const char *src, size_t len, float *prob);

/* The same for cell SRC after PREV (model_classify_after): for a context model the
 * memo's key is the text it reads, predecessor's lines included.  STAGE_NONE when out
 * of memory. */
int classcache_classify_after(struct classcache *c, const char *prev, size_t plen, const char *src, size_t len,
                              float *prob);

/* The pieces of classcache_classify, for callers that classify many sources together
 * (model/tagbatch.h).  classcache_lookup: the stored stage (prob in *PROB), or
 * CLASSCACHE_ABSENT (also for a source claimed and not answered yet); counts nothing.
 * classcache_store: keeps what model_classify gave for SRC (nothing if already there,
 * claimed, or past the bound).  classcache_count: adds to the hit and miss counts. */
#define CLASSCACHE_ABSENT (-100)
int classcache_lookup(struct classcache *c, const char *src, size_t len, float *prob);
void classcache_store(struct classcache *c, const char *src, size_t len, int stage, float prob);
void classcache_count(struct classcache *c, long hits, long misses);

/* A batch's one look per source (tagbatch.h): SRC's stage (*PROB set) when the memo
 * has it; else, when OWNER (the batch) already claimed it and has not answered,
 * CLASSCACHE_PENDING with the TICKET it claimed it under in *CLAIMER (the batch copies
 * that request's answer); else CLASSCACHE_ABSENT, SRC now claimed by OWNER under
 * TICKET: *REC names the record to answer with classcache_answer, which OWNER must do
 * before another batch asks; *REC = CLASSCACHE_NO_REC when the memo cannot keep SRC
 * (past the bound, out of memory) or another batch claimed it: classify it anyway,
 * nothing to answer.  Until answered, other callers take a claimed source as absent
 * (classcache_classify classifies it itself: the same numbers).  Counts nothing. */
#define CLASSCACHE_PENDING (-101)
#define CLASSCACHE_NO_REC UINT32_MAX
int classcache_claim(struct classcache *c, const void *owner, uint32_t ticket, const char *src,
                     size_t len, float *prob, uint32_t *rec, uint32_t *claimer);
/* Answers the claimed records REC[i] (CLASSCACHE_NO_REC ones skipped), one lock.  An
 * answer of MODEL_NO_MEMORY is none: the source is absent to lookups again, and the
 * next batch that asks claims it (a passing shortage failed every later notebook with
 * that cell). */
void classcache_answer(struct classcache *c, const uint32_t *rec, const int *stage, const float *prob,
                       size_t n);

/* Lookups answered from the cache, and sources classified. */
void classcache_stats(const struct classcache *c, long *hits, long *misses);

#endif
