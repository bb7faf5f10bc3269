/* train_bench.c — bench driver for the C trainer (not installed; bench_train.sh
 * compiles it against the library).  Makes the synthetic data set both trainers use,
 * writes it for the PyTorch side, trains the study's architecture on it for a given
 * number of epochs and prints throughput, FLOP/s and peak memory as one line of
 * key=value pairs.
 *
 * usage: train_bench [--n N] [--batch B] [--epochs E] [--threads T] [--drop P]
 *                    [--rdrop R] [--pad F] [--seed S] [--write-data FILE] [--sgemm-peak]
 * --drop: spatial and input dropout (0.8); --rdrop: recurrent dropout (0); --pad: mean
 * fraction of front padding (0).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "model/blas_core.h"
#include "model/lstm.h"
#include "model/train.h"

enum { VOCAB = 8000, EMBED = 512, HIDDEN = 64, CLASSES = 6, SEQ = 120 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* N sequences: a front-padded fraction PAD of the 120 steps (on average), then tokens
 * drawn from a Zipf-like law over 1..7999 (code tokens are), the class planted as a
 * marker token so there is something to learn. */
static void make_data(int n, double pad, uint64_t seed, int *tok, float *tg)
{
    struct lstm_rng r;
    lstm_rng_seed(&r, seed);
    for (int s = 0; s < n; s++) {
        int cls = (int)(lstm_rng_next(&r) % CLASSES);
        int npad = pad > 0 ? (int)(lstm_rng_uniform(&r) * 2 * pad * SEQ) : 0;
        if (npad > SEQ - 1) npad = SEQ - 1;
        for (int t = 0; t < SEQ; t++) {
            double u = lstm_rng_uniform(&r);
            int id = 1 + (int)((VOCAB - 1) * u * u * u);   /* skewed to small ids */
            tok[(size_t)s * SEQ + t] = t < npad ? 0 : id >= VOCAB ? VOCAB - 1 : id;
        }
        tok[(size_t)s * SEQ + SEQ - 1 - (int)(lstm_rng_next(&r) % 8)] = 1 + cls;
        for (int k = 0; k < CLASSES; k++) tg[(size_t)s * CLASSES + k] = k == cls;
    }
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* OpenBLAS' large-sgemm throughput: the practical peak the FLOP/s are set against. */
static double sgemm_peak(void)
{
    int n = 2048;
    float *a = malloc((size_t)n * n * sizeof(float)), *b = malloc((size_t)n * n * sizeof(float)),
          *c = malloc((size_t)n * n * sizeof(float));
    if (!a || !b || !c) { free(a); free(b); free(c); return 0; }
    for (size_t i = 0; i < (size_t)n * n; i++) { a[i] = (float)(i % 7) * 0.1f; b[i] = (float)(i % 5) * 0.1f; }
    double best = 0;
    for (int rep = 0; rep < 4; rep++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
        double f = 2.0 * n * n * n / (now() - t0);
        if (f > best) best = f;
    }
    free(a); free(b); free(c);
    return best;
}

int main(int argc, char **argv)
{
    blas_core_reexec(argv, 1); /* as `nbstage train` does: what users get */
    int n = 3200, batch = 64, epochs = 1, threads = 2, peak = 0;
    double rdrop = 0, drop = 0.8, pad = 0;
    unsigned long seed = 1;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--sgemm-peak")) { peak = 1; continue; }
        if (!v) { fprintf(stderr, "train_bench: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "--n")) n = atoi(v);
        else if (!strcmp(a, "--batch")) batch = atoi(v);
        else if (!strcmp(a, "--epochs")) epochs = atoi(v);
        else if (!strcmp(a, "--threads")) threads = atoi(v);
        else if (!strcmp(a, "--rdrop")) rdrop = atof(v);
        else if (!strcmp(a, "--drop")) drop = atof(v);
        else if (!strcmp(a, "--pad")) pad = atof(v);
        else if (!strcmp(a, "--seed")) seed = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--write-data")) out = v;
        else { fprintf(stderr, "train_bench: unknown option %s\n", a); return 2; }
        i++;
    }
    if (n < 1 || batch < 1 || epochs < 1 || threads < 1) { fprintf(stderr, "train_bench: bad numbers\n"); return 2; }
    openblas_set_num_threads(threads);
    if (peak) {
        printf("sgemm_gflops=%.1f threads=%d core=%s\n", sgemm_peak() / 1e9, threads, openblas_get_corename());
        return 0;
    }

    int *tok = malloc((size_t)n * SEQ * sizeof(int));
    float *tg = malloc((size_t)n * CLASSES * sizeof(float));
    if (!tok || !tg) { fprintf(stderr, "train_bench: out of memory\n"); return 2; }
    make_data(n, pad, seed, tok, tg);
    if (out) {
        FILE *f = fopen(out, "wb");
        int head[3] = { n, SEQ, CLASSES };
        if (!f || fwrite(head, sizeof head, 1, f) != 1 || fwrite(tok, sizeof(int), (size_t)n * SEQ, f) != (size_t)n * SEQ ||
            fwrite(tg, sizeof(float), (size_t)n * CLASSES, f) != (size_t)n * CLASSES || fclose(f) != 0) {
            perror(out);
            return 2;
        }
        return 0;
    }

    struct lstm_params p;
    if (lstm_params_init(&p, VOCAB, EMBED, HIDDEN, CLASSES, seed) < 0) { fprintf(stderr, "train_bench: out of memory\n"); return 2; }
    struct train_config cfg = { 0 };
    cfg.spatial_dropout = (float)drop; cfg.dropout = (float)drop; cfg.recurrent_dropout = (float)rdrop;
    cfg.lr = 1e-3f; cfg.batch = batch; cfg.max_epochs = epochs; cfg.patience = epochs;
    cfg.seed = seed; cfg.threads = threads;
    struct train_data tr = { n, SEQ, tok, tg };
    struct train_result res;
    double t0 = now(), c0 = cpu_seconds();
    if (lstm_train(&p, &cfg, &tr, NULL, &res, stderr) < 0) return 1;
    double dt = now() - t0, cpu = cpu_seconds() - c0;
    /* Multiply-adds of the products per sequence, times 2 FLOP each, times 3 (forward,
     * and backward's weight and input gradients): x W_x and h W_h over 120 steps.
     * "dense" counts x W_x over all 512 channels, as a framework computes it;
     * "executed" over the channels the dropout masks keep (512 x 0.2 x 0.2 expected),
     * which is what this trainer multiplies at most (it also projects a repeated token
     * once, which this count leaves out). */
    double G = 4.0 * HIDDEN, kept = EMBED * (1 - cfg.spatial_dropout) * (1 - cfg.dropout);
    double dense = 3.0 * 2 * SEQ * (EMBED * G + HIDDEN * G), executed = 3.0 * 2 * SEQ * (kept * G + HIDDEN * G);
    double sps = (double)n * epochs / dt;
    printf("seq_per_s=%.1f seconds=%.3f cpu_seconds=%.3f sequences=%ld gflops_executed=%.1f "
           "gflops_dense_equivalent=%.1f peak_rss_mb=%.1f\n", sps, dt, cpu, (long)n * epochs,
           sps * executed / 1e9, sps * dense / 1e9, peak_rss_kb() / 1024.0);
    lstm_params_free(&p);
    free(tok); free(tg);
    return 0;
}
