/* test_model.c — single-cell inference (model.c) against an independent double-precision
 * forward pass that does not use the precomputed table or the padding-state shortcut;
 * truncation, blank cells, threads, the default-model search. */
#include "tests/unit/unit.h"
#include "tests/unit/unit_model.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/infer_avx2.h"
#include "model/infer_step.h"
#include "model/lstm.h"
#include "model/model.h"
#include "model/modelfile.h"
#include "model/train.h"
#include "model/vocab.h"

static unsigned long long rng_state = 88172645463325252ull;
static float urand(float a) /* uniform in (-a, a) */
{
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return a * (2.0f * (float)((rng_state >> 11) * (1.0 / 9007199254740992.0)) - 1.0f);
}

/* The textbook Keras LSTM over all SEQ ids (padding included), in double. */
static void reference(const struct lstm_params *p, const int *ids, int seq, double *probs)
{
    int H = p->hidden, G = 4 * H, D = p->embed;
    double h[256] = {0}, c[256] = {0}, g[1024];
    for (int t = 0; t < seq; t++) {
        const float *x = p->E + (size_t)ids[t] * D;
        for (int j = 0; j < G; j++) {
            double s = p->b[j];
            for (int d = 0; d < D; d++) s += (double)x[d] * p->Wx[(size_t)d * G + j];
            for (int k = 0; k < H; k++) s += h[k] * p->Wh[(size_t)k * G + j];
            g[j] = s;
        }
        for (int j = 0; j < H; j++) {
            double i = 1 / (1 + exp(-g[j])), f = 1 / (1 + exp(-g[H + j])), cc = tanh(g[2 * H + j]),
                   o = 1 / (1 + exp(-g[3 * H + j]));
            c[j] = f * c[j] + i * cc;
            h[j] = o * tanh(c[j]);
        }
    }
    double z[6], mx = -1e300, sum = 0;
    for (int s = 0; s < 6; s++) {
        z[s] = p->bd[s];
        for (int k = 0; k < H; k++) z[s] += h[k] * p->Wd[k * 6 + s];
        if (z[s] > mx) mx = z[s];
    }
    for (int s = 0; s < 6; s++) sum += (z[s] = exp(z[s] - mx));
    for (int s = 0; s < 6; s++) probs[s] = z[s] / sum;
}

static const char *words[] = {"df", "fit", "model", "x_train", "plt", "import", "pd", "read_csv",
                              "head", "predict", "score", "np", "sns", "y", "print", "shape"};
#define N_WORDS (int)(sizeof words / sizeof words[0])

/* A vocabulary of the 16 words above plus "w0".."w199", written with P to PATH. */
static nbs_model *make_model(const char *path, const struct lstm_params *p, struct vocab *v)
{
    struct vocab_counter *vc = vocab_counter_new();
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < N_WORDS; i++) vocab_counter_add(vc, words[i], strlen(words[i]));
    for (int i = 0; i < 200; i++) {
        char w[16];
        int n = snprintf(w, sizeof w, "w%d", i);
        vocab_counter_add(vc, w, (size_t)n);
    }
    assert_int_equal(vocab_build(vc, p->vocab, v), 0);
    vocab_counter_free(vc);
    return unit_model_file(path, p, v, "test model");
}

/* A model of random weights (urand) with make_model's vocabulary, in a file of its own. */
struct rig { char path[40]; struct lstm_params p; struct vocab v; nbs_model *m; };

static void rig_open(struct rig *r, int vocab, int embed, int hidden, float scale)
{
    strcpy(r->path, "/tmp/nbstage-test-model-XXXXXX");
    unit_make_tmpfile(r->path);
    unit_random_params(&r->p, vocab, embed, hidden, scale, urand);
    r->m = make_model(r->path, &r->p, &r->v);
}

static void rig_close(struct rig *r)
{
    model_free(r->m);
    vocab_free(&r->v);
    lstm_params_free(&r->p);
    unlink(r->path);
}

/* Random cell text: words, rare words, punctuation, comments, sometimes > 120 words. */
static char *random_cell(int nwords)
{
    size_t cap = (size_t)nwords * 24 + 16, at = 0;
    char *s = malloc(cap);
    for (int i = 0; i < nwords; i++) {
        float u = urand(1.0f);
        if (u > 0.9f) at += (size_t)sprintf(s + at, "zzrare%d ", i);
        else if (u > 0.8f) at += (size_t)sprintf(s + at, "w%d(", (int)((urand(1) + 1) * 120));
        else if (u < -0.95f) at += (size_t)sprintf(s + at, "# %s comment\n", words[i % N_WORDS]);
        else at += (size_t)sprintf(s + at, "%s.", words[(int)((urand(1) + 1) * 8) % N_WORDS]);
    }
    s[at] = 0;
    return s;
}

static void check_against_reference(int vocab, int embed, int hidden, float scale)
{
    struct rig r;
    rig_open(&r, vocab, embed, hidden, scale);
    double worst = 0;
    for (int t = 0; t < 40; t++) {
        int nwords = t == 0 ? 0 : t < 30 ? 1 + t * 3 : 130 + t * 5;
        char *src = random_cell(nwords);
        if (t == 0) { free(src); src = strdup("zzrare only_rare_words"); } /* no known word: all padding */
        int ids[120];
        int n = vocab_encode(&r.v, src, strlen(src), ids, 120);
        assert_true(n >= 0 && n <= 120);
        double want[6];
        reference(&r.p, ids, 120, want);
        float got[6];
        int best = model_classify(r.m, src, strlen(src), got);
        int want_best = 0;
        for (int s = 0; s < 6; s++) {
            double d = fabs(got[s] - want[s]);
            if (d > worst) worst = d;
            if (want[s] > want[want_best]) want_best = s;
        }
        assert_int_equal(best, want_best);
        free(src);
    }
    printf("hidden %d (%s step): max |p - reference| = %.2g over 40 cells\n", hidden,
           getenv("NBSTAGE_PORTABLE") ? "portable" : getenv("NBSTAGE_NO_AVX512") ? "AVX2" : "default", worst);
    if (worst > 1e-5) fail_msg("hidden %d: max |p - reference| = %g > 1e-5", hidden, worst);
    rig_close(&r);
}

static void matches_reference_h64(void **state) { (void)state; check_against_reference(300, 48, 64, 0.3f); }
static void matches_reference_h20(void **state) { (void)state; check_against_reference(250, 16, 20, 0.5f); }

static void matches_reference_avx2(void **state)
{
    (void)state;
    int was_set = getenv("NBSTAGE_NO_AVX512") != NULL;
    setenv("NBSTAGE_NO_AVX512", "1", 1); /* the AVX2 walk, chosen at load */
    int avx2 = infer_run_choose(64, 0) == infer_run_avx2_h64;
    if (avx2) check_against_reference(300, 32, 64, 0.3f);
    if (!was_set) unsetenv("NBSTAGE_NO_AVX512");
    if (!avx2) skip();
}

static void matches_reference_portable(void **state)
{
    (void)state;
    setenv("NBSTAGE_PORTABLE", "1", 1); /* the non-AVX-512 step, chosen at load */
    check_against_reference(300, 32, 64, 0.3f);
    unsetenv("NBSTAGE_PORTABLE");
}

/* model_classify against C1's batch path (lstm_predict), at the study's sizes with
 * Keras-initialised weights and with larger random ones. */
static void check_against_lstm_predict(struct lstm_params *p, const char *what)
{
    char path[] = "/tmp/nbstage-test-model-XXXXXX";
    unit_make_tmpfile(path);
    struct vocab v;
    nbs_model *m = make_model(path, p, &v);
    enum { N = 24 };
    static int ids[N * 120];
    char *cells[N];
    for (int i = 0; i < N; i++) {
        cells[i] = random_cell(i * 7);
        assert_true(vocab_encode(&v, cells[i], strlen(cells[i]), ids + i * 120, 120) >= 0);
    }
    static float want[N * 6];
    assert_int_equal(lstm_predict(p, ids, N, 120, want), 0);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        float got[6];
        int best = model_classify(m, cells[i], strlen(cells[i]), got);
        if (i == 0) { assert_int_equal(best, STAGE_NONE); continue; } /* an empty cell */
        for (int s = 0; s < 6; s++) if (fabs(got[s] - want[i * 6 + s]) > worst) worst = fabs(got[s] - want[i * 6 + s]);
        free(cells[i]);
    }
    free(cells[0]);
    printf("%s: max |model_classify - lstm_predict| = %.2g over %d cells\n", what, worst, N - 1);
    if (worst > 1e-5) fail_msg("%s: max difference %g > 1e-5", what, worst);
    model_free(m);
    vocab_free(&v);
    unlink(path);
}

static void matches_lstm_predict(void **state)
{
    (void)state;
    struct lstm_params p;
    assert_int_equal(lstm_params_init(&p, 400, 512, 64, 6, 7), 0); /* Keras initialisers */
    check_against_lstm_predict(&p, "keras init, 512/64");
    lstm_params_free(&p);
    unit_random_params(&p, 300, 64, 64, 0.4f, urand); /* larger weights: saturated gates, peaked outputs */
    check_against_lstm_predict(&p, "random +-0.4, 64/64");
    lstm_params_free(&p);
}

static void blank_and_truncated_cells(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 300, 16, 64, 0.3f);
    const nbs_model *m = r.m;
    float probs[6];
    assert_int_equal(model_classify(m, "", 0, probs), STAGE_NONE);
    assert_int_equal(model_classify(m, "  # only a comment\n\n", 20, probs), STAGE_NONE);
    for (int s = 0; s < 6; s++) assert_true(probs[s] == 0.0f);
    /* Only the last 120 words count: a long prefix changes nothing. */
    char *tail = random_cell(119), *prefix = random_cell(300);
    char *both = malloc(strlen(prefix) + strlen(tail) + 8);
    sprintf(both, "%s fit %s", prefix, tail);
    char *tail120 = malloc(strlen(tail) + 8);
    sprintf(tail120, "fit %s", tail);
    float a[6], b[6];
    int ids[120];
    if (model_encode(m, tail120, strlen(tail120), ids) == 120) { /* 120 in-vocabulary words */
        model_classify(m, both, strlen(both), a);
        model_classify(m, tail120, strlen(tail120), b);
        for (int s = 0; s < 6; s++) assert_float_equal(a[s], b[s], 0);
    }
    float sum = 0;
    assert_true(model_classify(m, "df.head()", 9, probs) >= 0);
    for (int s = 0; s < 6; s++) sum += probs[s];
    assert_float_equal(sum, 1.0f, 1e-5);
    assert_non_null(strstr(model_name(m), "nbstage-lstm-"));
    assert_string_equal(model_info(m), "test model");
    free(tail); free(prefix); free(both); free(tail120);
    rig_close(&r);
}

struct job { const nbs_model *m; char **cells; float (*out)[6]; int n; };
static void *classify_all(void *arg)
{
    struct job *j = arg;
    for (int i = 0; i < j->n; i++) model_classify(j->m, j->cells[i], strlen(j->cells[i]), j->out[i]);
    return NULL;
}

static void same_answers_from_many_threads(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, 300, 16, 64, 0.3f);
    const nbs_model *m = r.m;
    enum { N = 64, T = 4 };
    char *cells[N];
    for (int i = 0; i < N; i++) cells[i] = random_cell(1 + i * 3);
    static float out[T][N][6], want[N][6];
    struct job one = {m, cells, want, N};
    classify_all(&one);
    pthread_t th[T];
    struct job jobs[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (struct job){m, cells, out[t], N};
        pthread_create(&th[t], NULL, classify_all, &jobs[t]);
    }
    for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < T; t++) assert_memory_equal(out[t], want, sizeof want);
    for (int i = 0; i < N; i++) free(cells[i]);
    rig_close(&r);
}

static void load_errors_name_the_file(void **state)
{
    (void)state;
    char err[256];
    assert_null(model_load("/nonexistent/model.nbsm", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/model.nbsm"));
}

static void default_path_follows_env(void **state)
{
    (void)state;
    /* The first call decides (it is cached), so set the override before it. */
    setenv("NBSTAGE_MODEL", "/some/where/m.nbsm", 1);
    assert_string_equal(model_default_path(), "/some/where/m.nbsm");
    unsetenv("NBSTAGE_MODEL");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_reference_h64),
        cmocka_unit_test(matches_reference_h20),
        cmocka_unit_test(matches_reference_portable),
        cmocka_unit_test(matches_reference_avx2),
        cmocka_unit_test(matches_lstm_predict),
        cmocka_unit_test(blank_and_truncated_cells),
        cmocka_unit_test(same_answers_from_many_threads),
        cmocka_unit_test(load_errors_name_the_file),
        cmocka_unit_test(default_path_follows_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
