/* trainsets.h — `nbstage train`'s cells as the network's input.
 *
 * Owns: the vocabulary, fitted on the training cells only (validation words stay
 * unknown, as they would be to the model in use); each cell's last SEQ_LEN word ids,
 * front-padded, and its target row, for the training set or the validation set.
 */
#ifndef NBSTAGE_TRAINSETS_H
#define NBSTAGE_TRAINSETS_H

#include "model/train.h"
#include "model/trainread.h"
#include "model/vocab.h"

/* The vocabulary of the cells with IS_VAL[i] == 0, at most MAX_IDS ids (padding
 * included), words split with TOKENIZE's flags (model/tokenizer.h), with the
 * out-of-vocabulary word when OOV is non-zero (model/vocab.h).  -1 when out of memory. */
int trainsets_vocab(const struct train_cells *cv, const unsigned char *is_val, int max_ids,
                    unsigned tokenize, int oov, struct vocab *v);

/* The set of the cells with IS_VAL[i] == WANT_VAL into D, its sequences in *TOK and
 * targets in *TGT (malloc'd, the caller's to free even when it fails).  -1 when out of
 * memory. */
int trainsets_make(const struct train_cells *cv, const unsigned char *is_val, int want_val,
                   const struct vocab *v, int seq_len, struct train_data *d, int **tok, float **tgt);

#endif
