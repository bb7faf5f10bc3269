/* model.h — the trained stage classifier, as the kernel and the batch tagger use it.
 *
 * Owns: loading a model file (versioned, checksummed; see model/modelfile.h) and
 * classifying one cell's source: comment stripping, tokenizing, embedding lookup
 * through the precomputed embedding x input-kernel table, 120 LSTM steps, softmax.
 * A loaded model is read-only: model_classify is safe from many threads at once.
 * Batches: model_classify_many / model_classify_ids_many run several cells together.
 */
#ifndef NBSTAGE_MODEL_H
#define NBSTAGE_MODEL_H

#include <stddef.h>

#include "labeling/stage.h"

typedef struct nbs_model nbs_model;

/* Loads PATH; NULL with a reason in ERR ("path: truncated file", ...). */
nbs_model *model_load(const char *path, char *err, size_t errlen);
void model_free(nbs_model *m);

/* Probabilities per stage (guide order) for one cell's source; returns the argmax,
 * or STAGE_NONE when the source is empty or comments only (PROBS then all 0), or
 * MODEL_NO_MEMORY when a buffer could not be had: no answer, which a caller must not
 * take for a blank cell (tag would remove the cell's tag), nor keep in a memo. */
#define MODEL_NO_MEMORY (-3)
int model_classify(const nbs_model *m, const char *src, size_t len, float probs[N_STAGES]);

/* Whether M reads a cell after the last lines of the cell before it (model/context.h;
 * `nbstage train --context`).  Such a model classifies context_text(prev, cell), which
 * model_classify_after builds; a cell alone is a notebook's first (PREV NULL: the text
 * starts with the separator word), never the bare cell, which such a model was not
 * trained on.  Callers that walk a notebook give each cell its predecessor (context_next). */
int model_reads_context(const nbs_model *m);

/* model_classify of cell SRC after PREV (PLEN bytes; NULL: the first cell); the same as
 * model_classify of SRC for a model without context (MODEL_NO_MEMORY too). */
int model_classify_after(const nbs_model *m, const char *prev, size_t plen, const char *src, size_t len,
                         float probs[N_STAGES]);

/* A short name for the model, written into cell metadata ("nbstage-lstm-1a2b3c4d"). */
const char *model_name(const nbs_model *m);

/* Additions for eval, bench and tests (compatible with the original contract): */
/* The provenance line stored in the file (how and on what it was trained). */
const char *model_info(const nbs_model *m);
/* The sequence length the model reads (120): the size IDS needs below. */
int model_seq_len(const nbs_model *m);
/* SRC's word ids, front-padded to model_seq_len(); returns the count of real words
 * (at the end of IDS), -1 when out of memory. */
int model_encode(const nbs_model *m, const char *src, size_t len, int *ids);
/* The word of vocabulary id ID (1..), or NULL past the end. */
const char *model_word(const nbs_model *m, int id);
/* model_classify on ids already encoded: the last N ids of a cell (N <= seq_len). */
int model_classify_ids(const nbs_model *m, const int *ids, int n, float probs[N_STAGES]);

/* Many cells at once, each with exactly the numbers model_classify_ids gives it alone:
 * cell i is the last N[i] ids at IDS[i]; its probabilities go to PROBS[i], its argmax
 * to BEST[i].  Faster per cell than one at a time: cells of similar length are run
 * together (model/infer_step.h, infer_many_fn), whatever the order given. */
void model_classify_ids_many(const nbs_model *m, const int *const *ids, const int *n, int count,
                             float (*probs)[N_STAGES], int *best);
/* model_classify on COUNT sources SRC[i] of LEN[i] bytes, the same numbers. */
void model_classify_many(const nbs_model *m, const char *const *src, const size_t *len, int count,
                         float (*probs)[N_STAGES], int *best);

/* The pieces of model_classify_ids_many, for a caller that runs cells in parts (a
 * prefix several cells share, then each one's rest: model/tagbatch.c).  A cell of N
 * words starts from model_start_state(N); cells whose model_start_class is equal
 * start from the same state, bit for bit (the padding state reaches a fixed point).
 * model_run_many advances COUNT states (H, C: COUNT x model_hidden floats each, in
 * place) by N[i] steps over IDS[i]; a cell run as a prefix of an even number of steps
 * and then its rest gets exactly the numbers of one run (the AVX-512 walk direction
 * follows the parity of the step, see infer_step.h).  A state it could not advance
 * (out of memory, which only a cell of over 4,096 words, whose ids are copied to the
 * heap, or the run's own buffers can meet) it marks NaN.  model_output: the
 * probabilities and the argmax from a cell's last state; MODEL_NO_MEMORY for a marked
 * one. */
int model_hidden(const nbs_model *m);
/* The recurrent walk this model runs here, for reports: "AMX, 10 cells a walk",
 * "AVX-512, 4 cells a walk" or "portable". */
const char *model_walk(const nbs_model *m);
/* Encoded ids are below this (1 .. n-1 are words). */
int model_vocab_ids(const nbs_model *m);
int model_start_class(const nbs_model *m, int n);
void model_start_state(const nbs_model *m, int n, float *h, float *c);
void model_run_many(const nbs_model *m, const int *const *ids, const int *n, int count, float *h, float *c);
int model_output(const nbs_model *m, const float *h, float probs[N_STAGES]);

/* The shipped default model: share/default.nbsm beside the program in a build tree,
 * or PREFIX/share/nbstage/default.nbsm for an installed one (nbformat/sharefile.h
 * lists the places).  NBSTAGE_MODEL in the environment overrides.  Returns a static path, or NULL when none is found. */
const char *model_default_path(void);

#endif
