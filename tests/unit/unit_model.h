/* unit_model.h — small models for the tests that need a real one: random weights from
 * the test's own generator, a model file written and loaded back, and a
 * Keras-initialised model over a few common words. */
#ifndef NBSTAGE_UNIT_MODEL_H
#define NBSTAGE_UNIT_MODEL_H

#include <string.h>
#include <unistd.h>

#include "model/lstm.h"
#include "model/model.h"
#include "model/modelfile.h"
#include "model/train.h"
#include "model/vocab.h"
#include "tests/unit/unit.h"

/* Weights of the given sizes (6 classes), each uniform in (-a, a) from URAND(a), drawn
 * in this order: E, Wx and Wh with a = SCALE, b 0.5, Wd 1, bd 0.5.  Free with
 * lstm_params_free. */
static inline void unit_random_params(struct lstm_params *p, int vocab, int embed, int hidden, float scale,
                                      float (*urand)(float))
{
    int G = 4 * hidden;
    *p = (struct lstm_params){vocab, embed, hidden, 6, NULL, NULL, NULL, NULL, NULL, NULL};
    assert_int_equal(lstm_params_alloc(p), 0);
    for (int i = 0; i < vocab * embed; i++) p->E[i] = urand(scale);
    for (int i = 0; i < embed * G; i++) p->Wx[i] = urand(scale);
    for (int i = 0; i < hidden * G; i++) p->Wh[i] = urand(scale);
    for (int i = 0; i < G; i++) p->b[i] = urand(0.5f);
    for (int i = 0; i < hidden * 6; i++) p->Wd[i] = urand(1.0f);
    for (int i = 0; i < 6; i++) p->bd[i] = urand(0.5f);
}

/* P and V written to PATH (120 steps, INFO) and loaded; a failure fails the test. */
static inline nbs_model *unit_model_file(const char *path, const struct lstm_params *p, const struct vocab *v,
                                         const char *info)
{
    char err[256];
    if (modelfile_write(path, p, v, 120, info, err, sizeof err)) fail_msg("%s", err);
    nbs_model *m = model_load(path, err, sizeof err);
    if (!m) fail_msg("%s", err);
    return m;
}

/* A model with Keras-initialised weights (SEED; 100 ids, embedding 8, hidden 64) over
 * 14 common words, with INFO: real plumbing, arbitrary stages.  Its file is gone when
 * this returns. */
static inline nbs_model *unit_small_model(unsigned long seed, const char *info)
{
    static const char *words[] = {"df", "fit", "model", "import", "pd", "read_csv", "head",
                                  "predict", "plt", "np", "x", "y", "print", "shape"};
    char path[] = "/tmp/nbstage-test-small-model-XXXXXX";
    unit_make_tmpfile(path);
    struct vocab_counter *vc = vocab_counter_new();
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        vocab_counter_add(vc, words[i], strlen(words[i]));
    struct vocab v;
    struct lstm_params p;
    assert_int_equal(vocab_build(vc, 100, &v), 0);
    vocab_counter_free(vc);
    assert_int_equal(lstm_params_init(&p, 100, 8, 64, 6, seed), 0);
    nbs_model *m = unit_model_file(path, &p, &v, info);
    lstm_params_free(&p);
    vocab_free(&v);
    unlink(path);
    return m;
}

#endif
