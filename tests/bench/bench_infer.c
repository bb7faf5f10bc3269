/* bench_infer.c — the driver of bench_infer.sh: model load time, one-cell latency
 * (p50/p99, 120 words, one thread) and batch throughput on threads, for a model file,
 * or for a study-size model with random weights when no file is given (the cost does
 * not depend on the weights).
 *
 *   bench_infer [MODEL.nbsm]      prints "key value" lines
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "model/blas_core.h"
#include "model/model.h"
#include "model/modelfile.h"
#include "model/train.h"
#include "model/vocab.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The time-stamp counter (constant rate, 2.1 GHz here; the VM exposes no core-cycle
 * counter to perf), 0 where there is none. */
static unsigned long long ticks_now(void)
{
#if defined(__x86_64__)
    return __rdtsc();
#else
    return 0;
#endif
}

static int cmp_ull(const void *a, const void *b)
{
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* A study-size model (8000 x 512 -> LSTM 64 -> 6) with Keras-initialised weights. */
static int random_model(const char *path)
{
    struct lstm_params p;
    if (lstm_params_init(&p, 8000, 512, 64, 6, 1)) return -1;
    struct vocab_counter *vc = vocab_counter_new();
    char w[32];
    for (int k = 0; k < 7999; k++) vocab_counter_add(vc, w, (size_t)sprintf(w, "tok%d", k));
    struct vocab v;
    vocab_build(vc, 8000, &v);
    vocab_counter_free(vc);
    char err[256];
    int r = modelfile_write(path, &p, &v, 120, "bench: random weights", err, sizeof err);
    if (r) fprintf(stderr, "bench_infer: %s\n", err);
    vocab_free(&v);
    lstm_params_free(&p);
    return r;
}

static unsigned long long rng = 0x9E3779B97F4A7C15ull;
static unsigned next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (unsigned)(rng >> 32); }

/* A cell of 150 in-vocabulary words joined by ".", "(", " ": the last 120 count. */
static char *make_cell(const nbs_model *m, int nwords)
{
    int vocab = 1;
    while (model_word(m, vocab)) vocab++;
    size_t cap = 64, at = 0;
    char *s = malloc(cap);
    for (int i = 0; i < 150; i++) {
        const char *w = model_word(m, 1 + (int)(next() % (unsigned)(vocab - 1 < nwords ? vocab - 1 : nwords)));
        size_t l = strlen(w);
        if (at + l + 2 > cap) { cap = 2 * (at + l + 2); s = realloc(s, cap); }
        memcpy(s + at, w, l);
        at += l;
        s[at++] = ".( \n"[next() % 4];
    }
    s[at] = 0;
    return s;
}

struct job { const nbs_model *m; char **cells; int from, to, many; };
static void *run(void *arg)
{
    struct job *j = arg;
    float probs[N_STAGES];
    if (!j->many) {
        for (int i = j->from; i < j->to; i++) model_classify(j->m, j->cells[i], strlen(j->cells[i]), probs);
        return NULL;
    }
    /* model_classify_many in chunks of 256, as nbstage classify would hand them */
    enum { CH = 256 };
    static _Thread_local float pr[CH][N_STAGES];
    int best[CH];
    size_t len[CH];
    for (int i = j->from; i < j->to; i += CH) {
        int k = j->to - i < CH ? j->to - i : CH;
        for (int q = 0; q < k; q++) len[q] = strlen(j->cells[i + q]);
        model_classify_many(j->m, (const char *const *)j->cells + i, len, k, pr, best);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/nbstage-bench-XXXXXX";
    const char *path = argc > 1 ? argv[1] : NULL;
    if (!path) {
        int fd = mkstemp(tmp);
        if (fd < 0) return 2;
        close(fd);
        if (random_model(tmp)) { unlink(tmp); return 2; }
        path = tmp;
    }
    char err[512];
    double best_load = 1e9;
    nbs_model *m = NULL;
    for (int r = 0; r < 5; r++) {
        double t = now();
        nbs_model *x = model_load(path, err, sizeof err);
        t = now() - t;
        if (!x) { fprintf(stderr, "bench_infer: %s\n", err); return 2; }
        if (t < best_load) best_load = t;
        if (m) model_free(m);
        m = x;
    }
    printf("model %s\nload_ms %.2f\nwalk %s\n", model_info(m), best_load * 1e3, model_walk(m));
    /* the OpenBLAS kernel set nbstage train would pick, for PyTorch's side */
    const char *core = blas_core_better();
    printf("blas_core %s\n", core ? core : "");

    /* one cell, one thread: 120 in-vocabulary words after tokenizing 150 */
    enum { CELLS = 512, REPS = 4000 };
    char *cells[CELLS];
    for (int i = 0; i < CELLS; i++) cells[i] = make_cell(m, 2000);
    int ids[120];
    printf("words_per_cell %d\n", model_encode(m, cells[0], strlen(cells[0]), ids));
    /* The three series (from text; encoding alone; the model alone from the encoded ids:
     * steps and output layer) take turns cell by cell, so that the machine's drift
     * during the run falls on all three alike (one series after another, the first
     * was often the one a noisy neighbour hit). */
    static double lat[REPS], lat_enc[REPS], lat_ids[REPS];
    static unsigned long long ticks[REPS];
    static int enc[CELLS][120];
    float probs[N_STAGES];
    for (int i = 0; i < 200; i++) model_classify(m, cells[i % CELLS], strlen(cells[i % CELLS]), probs);
    for (int i = 0; i < CELLS; i++) model_encode(m, cells[i], strlen(cells[i]), enc[i]);
    for (int i = 0; i < REPS; i++) { /* the order alternates: the second finds the rows warm */
        const char *c = cells[i % CELLS];
        for (int part = 0; part < 3; part++) {
            double t = now();
            switch (i & 1 ? 2 - part : part) {
            case 0:
                model_classify(m, c, strlen(c), probs);
                lat[i] = now() - t;
                break;
            case 1:
                model_encode(m, c, strlen(c), enc[i % CELLS]);
                lat_enc[i] = now() - t;
                break;
            default: {
                unsigned long long t0 = ticks_now();
                model_classify_ids(m, enc[i % CELLS], 120, probs);
                ticks[i] = ticks_now() - t0;
                lat_ids[i] = now() - t;
            }
            }
        }
    }
    qsort(lat, REPS, sizeof lat[0], cmp_double);
    qsort(lat_enc, REPS, sizeof lat_enc[0], cmp_double);
    qsort(lat_ids, REPS, sizeof lat_ids[0], cmp_double);
    qsort(ticks, REPS, sizeof ticks[0], cmp_ull);
    printf("latency_p50_us %.1f\nlatency_p99_us %.1f\n", lat[REPS / 2] * 1e6, lat[REPS * 99 / 100] * 1e6);
    printf("latency_encode_p50_us %.2f\n", lat_enc[REPS / 2] * 1e6);
    printf("latency_ids_p50_us %.1f\n", lat_ids[REPS / 2] * 1e6);
    if (ticks[REPS / 2]) printf("tsc_per_step_p50 %.0f\ntsc_per_step_min %.0f\n", ticks[REPS / 2] / 120.0, ticks[0] / 120.0);
    /* the same with the portable step (expf/tanhf, no AVX-512), for comparison */
    setenv("NBSTAGE_PORTABLE", "1", 1);
    nbs_model *mp = model_load(path, err, sizeof err);
    unsetenv("NBSTAGE_PORTABLE");
    if (mp) {
        for (int i = 0; i < REPS / 4; i++) {
            double t = now();
            model_classify_ids(mp, enc[i % CELLS], 120, probs);
            lat[i] = now() - t;
        }
        qsort(lat, REPS / 4, sizeof lat[0], cmp_double);
        printf("latency_ids_portable_p50_us %.1f\n", lat[REPS / 8] * 1e6);
        model_free(mp);
    }

    /* batch: every cell many times over, on 1 and on all CPUs */
    enum { N = 16384 };
    char **batch = malloc(N * sizeof *batch);
    for (int i = 0; i < N; i++) batch[i] = cells[i % CELLS];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int tmax = ncpu > 0 ? (int)(ncpu > 16 ? 16 : ncpu) : 1;
    for (int many = 0; many < 2; many++)
    for (int t = 1;; t = tmax) {
        pthread_t th[16];
        struct job jobs[16];
        double t0 = now();
        for (int k = 0; k < t; k++) {
            jobs[k] = (struct job){m, batch, N * k / t, N * (k + 1) / t, many};
            pthread_create(&th[k], NULL, run, &jobs[k]);
        }
        for (int k = 0; k < t; k++) pthread_join(th[k], NULL);
        printf("batch%s_threads_%d_seq_per_s %.0f\n", many ? "_many" : "", t, N / (now() - t0));
        if (t == tmax) break;
    }
    free(batch);
    for (int i = 0; i < CELLS; i++) free(cells[i]);
    model_free(m);
    if (path == tmp) unlink(tmp);
    return 0;
}
