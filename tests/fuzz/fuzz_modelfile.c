/* fuzz_modelfile.c — libFuzzer target: any bytes as a model file (.nbsm), through
 * model/modelfile.c's validation and model/model.c's load, then classification.
 *
 * Owns: the property a downloaded model file may not break: whatever its bytes, a load
 * either succeeds with a model that classifies without a sanitizer report, or is
 * refused with "NAME: reason".  modelfile_parse (the bytes in memory) and model_load
 * (the same bytes as a file: a memfd through /proc/self/fd) must agree: what the
 * first refuses the second refuses with the same message; model_load refuses more
 * (the stage keys, the hidden size, the vocabulary).  A loaded model classifies a few
 * sources (its own words among them, so that every table row is read) one at a time,
 * together (model_classify_many: the same numbers) and from ids, through the AVX-512
 * and the portable step alternately.
 *
 * Structure-aware: the file ends in a CRC-32C of every byte before it, so random bytes
 * stop there.  A custom mutator runs libFuzzer's mutation and then, on most inputs,
 * mends what the mutation broke but validation should still see: the magic and
 * version, the header size, the section offsets and length that the header's sizes
 * imply (sizes brought into range first), the size field, and last the checksum.
 * Each is skipped on some inputs, so each check is reached both ways.
 *
 * FUZZ_SAY=1 prints each input's outcome (what a corpus reaches).
 *
 * Seeds: with FUZZ_WRITE_SEEDS=DIR in the environment, the initialisation writes small
 * models of random weights (tests/unit/unit_model.h) and truncated copies into DIR,
 * which tests/fuzz/run.sh then gives libFuzzer as its seed corpus.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include "model/model.h"
#include "model/modelfile.h"
#include "model/tokenizer.h"
#include "nbformat/pysrc.h"
#include "tests/unit/unit_model.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

#include "tests/fuzz/fuzz.h"

/* Header offsets (modelfile.c's, which the format fixes). */
enum { H_VERSION = 8, H_HEADER = 12, H_SIZE = 16, H_VOCAB = 24, H_WORDS = 28, H_HIDDEN = 36,
       H_CLASSES = 40, H_SEQ = 44, H_STRLEN = 52, H_STRINGS = 56, H_TABLE = 64, H_WH = 72,
       H_WD = 80, H_BD = 88 };

static int memfd = -1;
static char memfd_path[64];

static uint32_t get32(const uint8_t *h, size_t at) { uint32_t v; memcpy(&v, h + at, 4); return v; }
static void put32(uint8_t *h, size_t at, uint32_t v) { memcpy(h + at, &v, 4); }
static void put64(uint8_t *h, size_t at, uint64_t v) { memcpy(h + at, &v, 8); }
static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

/* ---------------------------------------------------------------- seeds */

static float seed_rand(float a)
{
    static uint64_t s = 0x9E3779B97F4A7C15ull;
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    return a * (2.0f * (float)(s >> 40) / (float)(1 << 24) - 1.0f);
}

static void write_bytes(const char *dir, const char *name, const void *buf, size_t len)
{
    char path[4096];
    CHECK(snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, len, f) == len && fclose(f) == 0);
}

/* A model of VOCAB ids over the first WORDS of a word list, written to DIR/NAME, and
 * some truncated copies. */
static void write_seed(const char *dir, const char *name, int vocab, int embed, int hidden, int words,
                       unsigned tokenize, const char *info)
{
    static const char *const list[] = {"df", "fit", "model", "import", "pd", "read_csv", "head", "predict",
                                       "plt", "np", "x", "y", "print", "shape", "é", "=", "train", "test"};
    struct vocab_counter *vc = vocab_counter_new();
    CHECK(vc);
    for (int i = 0; i < words && i < (int)(sizeof list / sizeof *list); i++)
        for (int k = 0; k <= i; k++) vocab_counter_add(vc, list[i], strlen(list[i])); /* distinct counts */
    struct vocab v;
    CHECK(vocab_build(vc, vocab, &v) == 0);
    vocab_counter_free(vc);
    v.tokenize = tokenize;
    struct lstm_params p;
    unit_random_params(&p, vocab, embed, hidden, 0.5f, seed_rand);
    char path[4096], err[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (modelfile_write(path, &p, &v, 1 + vocab % 7 * 20, info, err, sizeof err)) {
        fprintf(stderr, "fuzz_modelfile: %s\n", err);
        exit(2);
    }
    lstm_params_free(&p);
    vocab_free(&v);
    size_t len;
    char *buf = unit_read_file(path, &len);
    CHECK(buf);
    const size_t cuts[] = {0, 5, 100, 132, len / 2, len - 1};
    for (size_t c = 0; c < sizeof cuts / sizeof *cuts; c++) {
        char cut[4200];
        if (cuts[c] >= len) continue;
        snprintf(cut, sizeof cut, "%s.cut%zu", name, cuts[c]);
        write_bytes(dir, cut, buf, cuts[c]);
    }
    free(buf);
}

static void write_seeds(const char *dir)
{
    write_seed(dir, "tiny.nbsm", 2, 1, 1, 1, 0, "");
    write_seed(dir, "small.nbsm", 12, 4, 3, 10, TOKENIZE_ASSIGN_WORDS, "seed: assign words");
    write_seed(dir, "ascii.nbsm", 16, 2, 8, 16, TOKENIZE_ASCII_LOWER, "seed: ascii lower-casing");
    write_seed(dir, "h64.nbsm", 20, 4, 64, 18, 0, "seed: hidden 64, the AVX-512 step");
}

/* ---------------------------------------------------------------- mutator */

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13; *s ^= *s >> 17; *s ^= *s << 5;
    return *s;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
    uint32_t r = seed | 1;
    size = LLVMFuzzerMutate(data, size, max);
    if (next_rand(&r) % 16 == 0) return size; /* some inputs as libFuzzer made them */
    if (size >= 12 && next_rand(&r) % 8) {
        memcpy(data, MODELFILE_MAGIC, 8);
        put32(data, H_VERSION, MODELFILE_VERSION);
    }
    if (size >= 16 && next_rand(&r) % 8) put32(data, H_HEADER, MODELFILE_HEADER);
    if (size >= MODELFILE_HEADER + 4 && next_rand(&r) % 4) {
        /* the layout the header's sizes imply, sizes first brought into range */
        uint32_t vocab = get32(data, H_VOCAB), hidden = get32(data, H_HIDDEN),
                 classes = get32(data, H_CLASSES), strlen_ = get32(data, H_STRLEN);
        if (vocab > 64) put32(data, H_VOCAB, vocab = 2 + vocab % 63);
        if (hidden > 80) put32(data, H_HIDDEN, hidden = 1 + hidden % 80);
        if (classes > 16) put32(data, H_CLASSES, classes = 2 + classes % 15);
        if (strlen_ > 4096) put32(data, H_STRLEN, strlen_ = strlen_ % 4096);
        if (vocab && get32(data, H_WORDS) >= vocab && next_rand(&r) % 2)
            put32(data, H_WORDS, get32(data, H_WORDS) % vocab);
        if (get32(data, H_SEQ) > 4096) put32(data, H_SEQ, get32(data, H_SEQ) % 4096);
        size_t g = 4 * (size_t)hidden;
        size_t strings = MODELFILE_HEADER, table = align64(strings + strlen_);
        size_t wh = align64(table + (size_t)vocab * g * 4), wd = align64(wh + (size_t)hidden * g * 4);
        size_t bd = align64(wd + (size_t)hidden * classes * 4), total = bd + (size_t)classes * 4 + 4;
        if (total <= max) {
            if (total > size) memset(data + size, 0, total - size);
            size = total;
            put64(data, H_STRINGS, strings);
            put64(data, H_TABLE, table);
            put64(data, H_WH, wh);
            put64(data, H_WD, wd);
            put64(data, H_BD, bd);
        }
    }
    if (size >= 24 && next_rand(&r) % 8) put64(data, H_SIZE, size);
    if (size >= 4 && next_rand(&r) % 16) put32(data, size - 4, modelfile_crc32c(data, size - 4));
    return size;
}

/* ---------------------------------------------------------------- the target */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    setenv("CMOCKA_TEST_ABORT", "1", 1);
    const char *dir = getenv("FUZZ_WRITE_SEEDS");
    if (dir && *dir) write_seeds(dir);
    memfd = memfd_create("fuzz_modelfile.nbsm", MFD_CLOEXEC);
    CHECK(memfd >= 0);
    snprintf(memfd_path, sizeof memfd_path, "/proc/self/fd/%d", memfd);
    return 0;
}

static void classify(const nbs_model *m)
{
    char own[4096];
    size_t n = 0;
    int ids = model_vocab_ids(m);
    CHECK(ids >= 1); /* the padding id; a vocabulary of no words is a model too (every
                      * cell is then read as padding, and gets one answer) */
    for (int id = 1; id < ids; id++) {
        const char *w = model_word(m, id);
        CHECK(w && *w);
        size_t l = strlen(w);
        if (n + l + 2 > sizeof own) break;
        memcpy(own + n, w, l);
        n += l;
        own[n++] = id % 3 ? ' ' : '\n';
    }
    CHECK(model_word(m, 0) == NULL && model_word(m, ids) == NULL);
    const char *src[] = {"import pandas as pd\ndf = pd.read_csv('train.csv')\ndf.head()", own,
                         "# a comment only\n", "model.fit(x, y)\nprint(model.score(x, y))\nplt.plot(x)"};
    size_t len[] = {strlen(src[0]), n, strlen(src[2]), strlen(src[3])};
    enum { N = sizeof src / sizeof *src };
    float one[N][N_STAGES], many[N][N_STAGES];
    int best[N];
    for (int i = 0; i < N; i++) {
        int s = model_classify(m, src[i], len[i], one[i]);
        CHECK(s == STAGE_NONE || (s >= 0 && s < N_STAGES));
    }
    model_classify_many(m, src, len, N, many, best);
    CHECK(!memcmp(one, many, sizeof one));
    int seq = model_seq_len(m), *enc = malloc((size_t)seq * sizeof *enc);
    CHECK(enc);
    int k = model_encode(m, own, n, enc);
    CHECK(k >= 0 && k <= seq);
    for (int i = 0; i < seq; i++) CHECK(enc[i] >= 0 && enc[i] < ids && (i >= seq - k || enc[i] == 0));
    float probs[N_STAGES];
    int s = model_classify_ids(m, enc + seq - k, k, probs);
    CHECK(s == STAGE_NONE || (s >= 0 && s < N_STAGES));
    /* model_classify is encode + classify_ids, for a text with code (a blank one gets
     * STAGE_NONE, as ours is with a vocabulary of no words) */
    if (!pysrc_is_blank(own, n)) CHECK(!memcmp(probs, one[1], sizeof probs));
    free(enc);
    CHECK(strncmp(model_name(m), "nbstage-lstm-", 13) == 0);
    (void)model_info(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct modelfile mf;
    char err[512], lerr[512];
    int parsed = modelfile_parse(data, size, "fuzz.nbsm", &mf, err, sizeof err);
    if (parsed == 0) {
        /* what validation promises the loader */
        CHECK(mf.size == size && mf.classes >= 2 && mf.classes <= 16 && mf.words < mf.vocab);
        CHECK((const uint8_t *)mf.words_blob + mf.words_len <= (const uint8_t *)mf.mem + size);
        CHECK((const uint8_t *)(mf.bd + mf.classes) <= (const uint8_t *)mf.mem + size - 4);
        CHECK(mf.filter && mf.info);
        for (uint32_t k = 0; k < mf.classes; k++) CHECK(mf.stage_keys[k]);
        modelfile_free(&mf);
    } else {
        CHECK(strncmp(err, "fuzz.nbsm: ", 11) == 0 && err[11]);
    }

    /* the same bytes as a file */
    CHECK(ftruncate(memfd, 0) == 0);
    CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);
    int portable = size && data[size / 2] & 1; /* alternately the portable step */
    if (portable) setenv("NBSTAGE_PORTABLE", "1", 1);
    nbs_model *m = model_load(memfd_path, lerr, sizeof lerr);
    unsetenv("NBSTAGE_PORTABLE");
    size_t pl = strlen(memfd_path);
    if (getenv("FUZZ_SAY")) fprintf(stderr, "fuzz_modelfile: %s\n", m ? "loaded" : lerr + pl + 2);
    if (!m) {
        CHECK(strncmp(lerr, memfd_path, pl) == 0 && lerr[pl] == ':' && lerr[pl + 1] == ' ' && lerr[pl + 2]);
        if (parsed) CHECK(strcmp(lerr + pl, err + 9) == 0); /* modelfile_parse's message */
        return 0;
    }
    CHECK(parsed == 0);
    classify(m);
    model_free(m);
    return 0;
}
