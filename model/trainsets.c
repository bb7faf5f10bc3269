/* trainsets.c — the training and validation cells as the network's input (trainsets.h). */
#include <stdlib.h>
#include <string.h>

#include "model/trainsets.h"

int trainsets_vocab(const struct train_cells *cv, const unsigned char *is_val, int max_ids,
                    unsigned tokenize, int oov, struct vocab *v)
{
    struct vocab_counter *vc = vocab_counter_new();
    if (!vc) return -1;
    vocab_counter_set_tokenize(vc, tokenize);
    vocab_counter_set_oov(vc, oov);
    for (size_t i = 0; i < cv->n; i++)
        if (!is_val[i] && vocab_counter_add_source(vc, cv->v[i].src, cv->v[i].len)) {
            vocab_counter_free(vc);
            return -1;
        }
    int r = vocab_build(vc, max_ids, v);
    vocab_counter_free(vc);
    return r;
}

/* Sequences and targets of the cells with IS_VAL[i] == WANT_VAL. */
int trainsets_make(const struct train_cells *cv, const unsigned char *is_val, int want_val,
                   const struct vocab *v, int seq_len, struct train_data *d, int **tok, float **tgt)
{
    size_t n = 0;
    for (size_t i = 0; i < cv->n; i++) n += is_val[i] == want_val;
    *tok = malloc((n ? n : 1) * (size_t)seq_len * sizeof **tok);
    *tgt = malloc((n ? n : 1) * N_STAGES * sizeof **tgt);
    if (!*tok || !*tgt) return -1;
    size_t k = 0;
    for (size_t i = 0; i < cv->n; i++) {
        if (is_val[i] != want_val) continue;
        if (vocab_encode(v, cv->v[i].src, cv->v[i].len, *tok + k * seq_len, seq_len) < 0) return -1;
        memcpy(*tgt + k * N_STAGES, cv->v[i].target, sizeof cv->v[i].target);
        k++;
    }
    *d = (struct train_data){(int)n, seq_len, *tok, *tgt};
    return 0;
}
