/* test_modelfile.c — the .nbsm file: round trip, and every kind of bad file refused
 * with a message that names the file and the reason. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/classcache.h"
#include "model/context.h"
#include "model/model.h"
#include "model/modelfile.h"
#include "model/tagbatch.h"
#include "model/tokenizer.h"
#include "model/train.h"
#include "model/vocab.h"

static float val(int i, int salt) { return (float)(((i * 2654435761u + (unsigned)salt * 40503u) % 2001) / 1000.0 - 1.0); }

struct fixture {
    char path[64];
    struct lstm_params p;
    struct vocab v;
    unsigned char *bytes;
    size_t size;
};

static void make_file(struct fixture *f)
{
    int V = 40, D = 12, H = 8, G = 4 * H;
    f->p = (struct lstm_params){V, D, H, 6, NULL, NULL, NULL, NULL, NULL, NULL};
    assert_int_equal(lstm_params_alloc(&f->p), 0);
    for (int i = 0; i < V * D; i++) f->p.E[i] = val(i, 1);
    for (int i = 0; i < D * G; i++) f->p.Wx[i] = val(i, 2);
    for (int i = 0; i < H * G; i++) f->p.Wh[i] = val(i, 3);
    for (int i = 0; i < G; i++) f->p.b[i] = val(i, 4);
    for (int i = 0; i < H * 6; i++) f->p.Wd[i] = val(i, 5);
    for (int i = 0; i < 6; i++) f->p.bd[i] = val(i, 6);
    struct vocab_counter *vc = vocab_counter_new();
    const char *text = "import pandas as pd df = pd.read_csv('x.csv') df.head() model.fit(x_train, y_train)";
    assert_int_equal(vocab_counter_add_source(vc, text, strlen(text)), 0);
    assert_int_equal(vocab_build(vc, V, &f->v), 0);
    vocab_counter_free(vc);
    strcpy(f->path, "/tmp/nbstage-test-mf-XXXXXX");
    unit_make_tmpfile(f->path);
    char err[256];
    if (modelfile_write(f->path, &f->p, &f->v, 120, "unit test", err, sizeof err)) fail_msg("%s", err);
    f->bytes = (unsigned char *)unit_read_file(f->path, &f->size);
    assert_non_null(f->bytes);
}

static void free_fixture(struct fixture *f)
{
    lstm_params_free(&f->p);
    vocab_free(&f->v);
    free(f->bytes);
    unlink(f->path);
}

/* The fixture's file, loaded. */
static nbs_model *fixture_model(struct fixture *f)
{
    make_file(f);
    char err[256];
    nbs_model *m = model_load(f->path, err, sizeof err);
    if (!m) fail_msg("%s", err);
    return m;
}

static void round_trip(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    struct modelfile mf;
    char err[256];
    if (modelfile_read(f.path, &mf, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(mf.version, MODELFILE_VERSION);
    assert_int_equal(mf.vocab, 40);
    assert_int_equal(mf.embed, 12);
    assert_int_equal(mf.hidden, 8);
    assert_int_equal(mf.classes, 6);
    assert_int_equal(mf.seq_len, 120);
    assert_int_equal(mf.words, f.v.n - 1);
    assert_string_equal(mf.filter, tokenizer_filter);
    assert_string_equal(mf.info, "unit test");
    assert_string_equal(mf.stage_keys[0], "load");
    assert_string_equal(mf.stage_keys[5], "imports");
    struct vocab w;
    assert_int_equal(vocab_from_blob(&w, mf.words_blob, mf.words_len, (int)mf.words), 0);
    for (int id = 1; id < w.n; id++) assert_string_equal(w.words[id], f.v.words[id]);
    vocab_free(&w);
    /* the table is E·Wx + b */
    int G = 32;
    for (int r = 0; r < 40; r++)
        for (int j = 0; j < G; j++) {
            double s = f.p.b[j];
            for (int d = 0; d < 12; d++) s += (double)f.p.E[r * 12 + d] * f.p.Wx[d * G + j];
            assert_float_equal(mf.table[r * G + j], s, 1e-5);
        }
    assert_memory_equal(mf.Wh, f.p.Wh, sizeof(float) * 8 * G);
    assert_memory_equal(mf.Wd, f.p.Wd, sizeof(float) * 8 * 6);
    assert_memory_equal(mf.bd, f.p.bd, sizeof(float) * 6);
    assert_int_equal(((uintptr_t)mf.table) % 64, 0);
    assert_int_equal(mf.checksum, modelfile_crc32c(f.bytes, f.size - 4));
    modelfile_free(&mf);
    free_fixture(&f);
}

/* Parses BYTES[0..N) and wants a refusal whose message has WANT and the name. */
static void refused(const void *bytes, size_t n, const char *want)
{
    struct modelfile mf;
    char err[256] = "";
    if (modelfile_parse(bytes, n, "m.nbsm", &mf, err, sizeof err) == 0)
        fail_msg("a bad file (%zu bytes, expecting '%s') was accepted", n, want);
    if (!strstr(err, want) || strncmp(err, "m.nbsm: ", 8) != 0)
        fail_msg("message '%s' does not say '%s'", err, want);
}

static void truncated_files_refused(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    /* An empty file (a copy that ran out of space, a `>` by mistake) or one cut inside
     * the magic is a truncated model, not "not an nbstage model file (bad magic)". */
    refused(f.bytes, 0, "empty file");
    refused(f.bytes, 1, "truncated");
    refused(f.bytes, 5, "truncated");
    refused("NBSMX", 5, "bad magic");
    refused("", 1, "bad magic");
    size_t cuts[] = {8, 64, 127, 128, 131, 200, f.size / 2, f.size - 5, f.size - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) refused(f.bytes, cuts[i], "truncated");
    free_fixture(&f);
}

static void corrupted_files_refused(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    size_t at[] = {20, 30, 130, 400, f.size / 2, f.size - 10, f.size - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        unsigned char *b = malloc(f.size);
        memcpy(b, f.bytes, f.size);
        b[at[i]] ^= 0x10;
        refused(b, f.size, at[i] == 20 ? "truncated" : "checksum"); /* byte 20 is in the size field */
        free(b);
    }
    unsigned char *longer = calloc(1, f.size + 3);
    memcpy(longer, f.bytes, f.size);
    refused(longer, f.size + 3, "after the end");
    free(longer);
    unsigned char *bad = malloc(f.size);
    memcpy(bad, f.bytes, f.size);
    bad[0] = 'X';
    refused(bad, f.size, "bad magic");
    free(bad);
    free_fixture(&f);
}

/* A model file says how its words were lower-cased: MF_UNICODE_LOWER (str.lower(), the
 * default) or, lacking it, ASCII only (models written before 2026-11-30); a model loaded
 * from it reads "ÉTÉ" as "été" only in the first case. */
static void lower_case_flag_round_trips(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    char err[256];
    const char *text = "\xc3\xa9t\xc3\xa9 x"; /* été x */
    for (int ascii = 0; ascii < 2; ascii++) {
        struct vocab_counter *vc = vocab_counter_new();
        if (ascii) vocab_counter_set_tokenize(vc, TOKENIZE_ASCII_LOWER);
        assert_int_equal(vocab_counter_add_source(vc, text, strlen(text)), 0);
        struct vocab v;
        assert_int_equal(vocab_build(vc, 40, &v), 0);
        vocab_counter_free(vc);
        if (modelfile_write(f.path, &f.p, &v, 120, "unit test", err, sizeof err)) fail_msg("%s", err);
        struct modelfile mf;
        if (modelfile_read(f.path, &mf, err, sizeof err)) fail_msg("%s", err);
        assert_int_equal(mf.flags & MF_UNICODE_LOWER, ascii ? 0 : MF_UNICODE_LOWER);
        modelfile_free(&mf);
        nbs_model *m = model_load(f.path, err, sizeof err);
        if (!m) fail_msg("%s", err);
        float upper[N_STAGES], lower[N_STAGES];
        model_classify(m, "\xc3\x89T\xc3\x89", 6, upper);
        model_classify(m, "\xc3\xa9t\xc3\xa9", 6, lower);
        if (ascii) assert_memory_not_equal(upper, lower, sizeof upper);
        else assert_memory_equal(upper, lower, sizeof upper);
        model_free(m);
        vocab_free(&v);
    }
    free_fixture(&f);
}

/* A vocabulary counted with assignment words is written with MF_ASSIGN_WORDS, and a
 * model loaded from it classifies with them: "a = b" differs from "a b" only then. */
static void assignment_words_flag_round_trips(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    struct modelfile mf;
    char err[256];
    if (modelfile_read(f.path, &mf, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(mf.flags & MF_ASSIGN_WORDS, 0);
    modelfile_free(&mf);
    nbs_model *plain = model_load(f.path, err, sizeof err);
    if (!plain) fail_msg("%s", err);

    struct vocab_counter *vc = vocab_counter_new();
    vocab_counter_set_tokenize(vc, TOKENIZE_ASSIGN_WORDS);
    const char *text = "df = pd.read_csv('x.csv') df.head() model.fit(x, y)";
    assert_int_equal(vocab_counter_add_source(vc, text, strlen(text)), 0);
    struct vocab v;
    assert_int_equal(vocab_build(vc, 40, &v), 0);
    vocab_counter_free(vc);
    if (modelfile_write(f.path, &f.p, &v, 120, "unit test", err, sizeof err)) fail_msg("%s", err);
    if (modelfile_read(f.path, &mf, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(mf.flags & MF_ASSIGN_WORDS, MF_ASSIGN_WORDS);
    modelfile_free(&mf);
    nbs_model *m = model_load(f.path, err, sizeof err);
    if (!m) fail_msg("%s", err);
    float p1[N_STAGES], p2[N_STAGES];
    model_classify(m, "df = df", 7, p1);
    model_classify(m, "df df", 5, p2);
    assert_memory_not_equal(p1, p2, sizeof p1);
    model_classify(plain, "df = df", 7, p1); /* the study's split: '=' is a space */
    model_classify(plain, "df df", 5, p2);
    assert_memory_equal(p1, p2, sizeof p1);
    model_free(m);
    model_free(plain);
    vocab_free(&v);
    free_fixture(&f);
}

/* F's bytes with the 32-bit field at AT set to VALUE and the checksum made right
 * again: refused all the same, with WANT. */
static void refused_resealed(const struct fixture *f, size_t at, uint32_t value, const char *want)
{
    unsigned char *b = malloc(f->size);
    memcpy(b, f->bytes, f->size);
    memcpy(b + at, &value, 4);
    uint32_t crc = modelfile_crc32c(b, f->size - 4);
    memcpy(b + f->size - 4, &crc, 4);
    refused(b, f->size, want);
    free(b);
}

/* A vocabulary with the out-of-vocabulary word (Keras' oov_token) is written with
 * MF_OOV_WORD, and a model loaded from it reads an unknown word as that word: "zz df"
 * differs from "df" only then.  A file that claims the word without having it first
 * is refused. */
static void oov_word_flag_round_trips(void **state)
{
    (void)state;
    struct fixture f;
    char err[256];
    nbs_model *plain = fixture_model(&f);
    float p1[N_STAGES], p2[N_STAGES];
    model_classify(plain, "zz df", 5, p1); /* the study's: an unknown word is dropped */
    model_classify(plain, "df", 2, p2);
    assert_memory_equal(p1, p2, sizeof p1);
    /* the fixture's flags word with MF_OOV_WORD added, its word 1 being "import": refused */
    uint32_t flags;
    memcpy(&flags, f.bytes + 48, 4);
    refused_resealed(&f, 48, flags | MF_OOV_WORD, "out-of-vocabulary word is not the vocabulary's first");

    struct vocab_counter *vc = vocab_counter_new();
    vocab_counter_set_oov(vc, 1);
    const char *text = "df = pd.read_csv('x.csv') df.head() model.fit(x, y)";
    assert_int_equal(vocab_counter_add_source(vc, text, strlen(text)), 0);
    struct vocab v;
    assert_int_equal(vocab_build(vc, 40, &v), 0);
    vocab_counter_free(vc);
    assert_string_equal(v.words[1], VOCAB_OOV_WORD);
    if (modelfile_write(f.path, &f.p, &v, 120, "unit test", err, sizeof err)) fail_msg("%s", err);
    struct modelfile mf;
    if (modelfile_read(f.path, &mf, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(mf.flags & MF_OOV_WORD, MF_OOV_WORD);
    modelfile_free(&mf);
    nbs_model *m = model_load(f.path, err, sizeof err);
    if (!m) fail_msg("%s", err);
    model_classify(m, "zz df", 5, p1);
    model_classify(m, "df", 2, p2);
    assert_memory_not_equal(p1, p2, sizeof p1);
    int ids[120];
    assert_int_equal(model_encode(m, "zz df <oov>", 11, ids), 3); /* "<oov>" is "oov", unknown too */
    assert_int_equal(ids[117], 1);
    assert_int_equal(ids[118], vocab_lookup(&v, "df", 2));
    assert_int_equal(ids[119], 1);
    model_free(m);
    model_free(plain);
    vocab_free(&v);
    free_fixture(&f);
}

/* A model trained with --context (MF_CONTEXT): the flag round-trips, and every way
 * of classifying a cell after its predecessor reads context_text's text: the model,
 * the run's memo and the batch, bit for bit.  A model without the flag reads the cell
 * alone, whatever the predecessor. */
static void context_flag_round_trips(void **state)
{
    (void)state;
    struct fixture f;
    char err[256];
    nbs_model *plain = fixture_model(&f);
    const char *prev = "df = pd.read_csv('x.csv')\nmodel.fit(x_train, y_train)", *src = "df.head()";
    float p1[N_STAGES], p2[N_STAGES];
    assert_false(model_reads_context(plain));
    int s1 = model_classify_after(plain, prev, strlen(prev), src, strlen(src), p1);
    int s2 = model_classify(plain, src, strlen(src), p2);
    assert_int_equal(s1, s2);
    assert_memory_equal(p1, p2, sizeof p1);

    f.v.context = 1;
    if (modelfile_write(f.path, &f.p, &f.v, 120, "unit test", err, sizeof err)) fail_msg("%s", err);
    struct modelfile mf;
    if (modelfile_read(f.path, &mf, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(mf.flags & MF_CONTEXT, MF_CONTEXT);
    modelfile_free(&mf);
    nbs_model *m = model_load(f.path, err, sizeof err);
    if (!m) fail_msg("%s", err);
    assert_true(model_reads_context(m));
    char *text = NULL;
    size_t cap = 0, n = context_text(prev, strlen(prev), src, strlen(src), &text, &cap);
    s1 = model_classify_after(m, prev, strlen(prev), src, strlen(src), p1);
    s2 = model_classify(m, text, n, p2);
    assert_int_equal(s1, s2);
    assert_memory_equal(p1, p2, sizeof p1);
    /* the context changes what the model reads: "df" and "model" are words it knows */
    float alone[N_STAGES];
    model_classify_after(m, NULL, 0, src, strlen(src), alone);
    assert_memory_not_equal(p1, alone, sizeof p1);
    /* a blank cell is none, context or not */
    assert_int_equal(model_classify_after(m, prev, strlen(prev), "# x", 3, p2), STAGE_NONE);

    struct classcache *cc = classcache_new(m);
    float prob;
    for (int round = 0; round < 2; round++) { /* classified, then from the memo */
        assert_int_equal(classcache_classify_after(cc, prev, strlen(prev), src, strlen(src), &prob), s1);
        assert_memory_equal(&prob, &p1[s1], sizeof prob);
    }
    struct tagbatch *b = tagbatch_new(m, NULL);
    int st[2];
    float pr[2];
    char copy[64];
    strcpy(copy, src); /* the batch keeps its own text: the caller's may change */
    assert_int_equal(tagbatch_ask_after(b, prev, strlen(prev), copy, strlen(copy), &st[0], &pr[0]), 0);
    memset(copy, 'x', strlen(copy));
    assert_int_equal(tagbatch_ask_after(b, NULL, 0, src, strlen(src), &st[1], &pr[1]), 0);
    tagbatch_run(b, 2);
    assert_int_equal(st[0], s1);
    assert_memory_equal(&pr[0], &p1[s1], sizeof pr[0]);
    assert_memory_equal(&pr[1], &alone[st[1]], sizeof pr[1]);
    tagbatch_free(b);
    classcache_free(cc);
    free(text);
    model_free(m);
    model_free(plain);
    free_fixture(&f);
}

static void other_versions_refused(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    refused_resealed(&f, 8, 2, "format version 2"); /* a well-formed file of version 2 */
    /* a consistent checksum does not excuse inconsistent sizes: hidden 9 */
    refused_resealed(&f, 36, 9, "inconsistent");
    free_fixture(&f);
}

/* The file's tokenizer filter is checked, not just stored: a well-formed file whose
 * filter differs from this nbstage's (here '_' in place of '!', as Keras' own default
 * list has '_'; e.g. a model converted from Keras) would be read with other words
 * than it was trained on, so it is refused. */
static void other_filters_refused(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    assert_int_equal(f.bytes[MODELFILE_HEADER], '!');
    unsigned char *b = malloc(f.size);
    memcpy(b, f.bytes, f.size);
    b[MODELFILE_HEADER] = '_';
    uint32_t crc = modelfile_crc32c(b, f.size - 4);
    memcpy(b + f.size - 4, &crc, 4);
    refused(b, f.size, "filter");
    free(b);
    free_fixture(&f);
}

static void io_errors_name_the_file(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    char err[256];
    struct modelfile mf;
    assert_int_equal(modelfile_read("/nonexistent/x.nbsm", &mf, err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/x.nbsm: No such file or directory"); /* as every input file's */
    assert_int_equal(modelfile_read("/tmp", &mf, err, sizeof err), -1);
    assert_non_null(strstr(err, "/tmp: is a directory, not a model file"));
    /* below a regular file (ENOTDIR), which no one can write into, root included: a
     * folder like /nonexistent/dir may come to exist (the kernel makes a connection
     * file's missing folders, as ipykernel does) */
    char below[sizeof f.path + 16];
    snprintf(below, sizeof below, "%s/m.nbsm", f.path);
    assert_int_equal(modelfile_write(below, &f.p, &f.v, 120, "", err, sizeof err), -1);
    assert_non_null(strstr(err, below));
    free_fixture(&f);
}

static void crc32c_known_answer(void **state)
{
    (void)state;
    assert_int_equal(modelfile_crc32c("123456789", 9), 0xE3069283u); /* the standard check value */
    assert_int_equal(modelfile_crc32c("", 0), 0);
}

/* CRC-32C bit by bit, as its definition has it (reflected, polynomial 0x82F63B78). */
static uint32_t crc32c_bitwise(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

/* Every length from 0 to 80 and every start within 8 bytes: the 8-byte steps and the
 * byte steps after them (the known answer, 9 bytes, has a tail of one byte only). */
static void crc32c_every_length_and_alignment(void **state)
{
    (void)state;
    unsigned char buf[96];
    for (int i = 0; i < 96; i++) buf[i] = (unsigned char)(i * 37 + 11);
    for (size_t at = 0; at < 8; at++)
        for (size_t n = 0; n <= 80; n++)
            if (modelfile_crc32c(buf + at, n) != crc32c_bitwise(buf + at, n))
                fail_msg("crc32c of %zu bytes at %zu: %#x, want %#x", n, at, modelfile_crc32c(buf + at, n),
                         crc32c_bitwise(buf + at, n));
}

static uint64_t field64(const unsigned char *b, size_t at) { uint64_t v; memcpy(&v, b + at, 8); return v; }
static uint32_t field32(const unsigned char *b, size_t at) { uint32_t v; memcpy(&v, b + at, 4); return v; }
static size_t up64(size_t x) { return (x + 63) / 64 * 64; }

/* The layout modelfile.h describes, computed here on its own: a writer and a reader
 * that moved a section together would still agree with each other, and refuse every
 * model written before (share/default.nbsm among them). */
static void layout_is_the_documented_one(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    size_t V = 40, H = 8, G = 4 * H, C = 6, strlen_ = field32(f.bytes, 52);
    size_t table = up64(MODELFILE_HEADER + strlen_), wh = up64(table + V * G * 4);
    size_t wd = up64(wh + H * G * 4), bd = up64(wd + H * C * 4), size = bd + C * 4 + 4;
    assert_int_equal(field64(f.bytes, 16), size);
    assert_int_equal(f.size, size);
    assert_int_equal(field64(f.bytes, 56), MODELFILE_HEADER);
    assert_int_equal(field64(f.bytes, 64), table);
    assert_int_equal(field64(f.bytes, 72), wh);
    assert_int_equal(field64(f.bytes, 80), wd);
    assert_int_equal(field64(f.bytes, 88), bd);
    assert_memory_equal(f.bytes + wh, f.p.Wh, H * G * 4);
    assert_memory_equal(f.bytes + wd, f.p.Wd, H * C * 4);
    assert_memory_equal(f.bytes + bd, f.p.bd, C * 4);
    free_fixture(&f);
}

/* A weight that is not a finite number, in any section, is refused at load even with
 * its checksum made right (a file written by other code): it gave every cell NaN
 * probabilities, stage 'load', printed as JSON that is not JSON.  The last float of
 * each section and the first of the table, each a NaN and an infinity. */
static void non_finite_weights_refused(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    size_t V = 40, H = 8, G = 4 * H, C = 6;
    size_t table = field64(f.bytes, 64), wh = field64(f.bytes, 72), wd = field64(f.bytes, 80),
           bd = field64(f.bytes, 88);
    const struct { size_t at; const char *section; } where[] = {
        {table, "embedding table"}, {table + (V * G - 1) * 4, "embedding table"},
        {wh + (H * G - 1) * 4, "LSTM recurrent"}, {wd + (H * C - 1) * 4, "output section"},
        {bd + (C - 1) * 4, "output bias"},
    };
    const uint32_t bits[] = {0x7fc00000u /* NaN */, 0xff800000u /* -inf */};
    for (size_t i = 0; i < sizeof where / sizeof *where; i++)
        for (size_t k = 0; k < 2; k++) {
            char want[64];
            snprintf(want, sizeof want, "not a finite number (%s", where[i].section);
            refused_resealed(&f, where[i].at, bits[k], want);
        }
    /* the largest finite float is a weight like any other */
    unsigned char *b = malloc(f.size);
    memcpy(b, f.bytes, f.size);
    uint32_t big = 0x7f7fffffu, crc;
    memcpy(b + bd, &big, 4);
    crc = modelfile_crc32c(b, f.size - 4);
    memcpy(b + f.size - 4, &crc, 4);
    struct modelfile mf;
    char err[256];
    assert_int_equal(modelfile_parse(b, f.size, "m.nbsm", &mf, err, sizeof err), 0);
    modelfile_free(&mf);
    free(b);
    free_fixture(&f);
}

/* The model shipped in the tree (tracked in git) is read: the tests that use it fall
 * back to a random model when it cannot be loaded, so a reader that no longer reads it
 * would go unnoticed there. */
static void shipped_model_is_read(void **state)
{
    (void)state;
    if (access("share/default.nbsm", R_OK) != 0) { skip(); return; }
    struct modelfile mf;
    char err[512];
    if (modelfile_read("share/default.nbsm", &mf, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(mf.classes, 6);
    assert_string_equal(mf.stage_keys[0], "load");
    assert_string_equal(mf.stage_keys[5], "imports");
    struct vocab w;
    assert_int_equal(vocab_from_blob(&w, mf.words_blob, mf.words_len, (int)mf.words), 0);
    vocab_free(&w);
    modelfile_free(&mf);
}

/* The writer refuses sizes its reader would refuse (-1, the file left alone), and
 * takes the smallest it accepts: 2 ids (padding and one word), 1 unit, 1 step. */
static void write_refuses_inconsistent_sizes(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    char err[256];
    struct lstm_params good = f.p, bad;
    bad = good; bad.classes = 5;
    assert_int_equal(modelfile_write(f.path, &bad, &f.v, 120, "", err, sizeof err), -1);
    assert_non_null(strstr(err, "inconsistent model sizes"));
    bad = good; bad.vocab = 1;
    assert_int_equal(modelfile_write(f.path, &bad, &f.v, 120, "", err, sizeof err), -1);
    bad = good; bad.hidden = 0;
    assert_int_equal(modelfile_write(f.path, &bad, &f.v, 120, "", err, sizeof err), -1);
    assert_int_equal(modelfile_write(f.path, &good, &f.v, 0, "", err, sizeof err), -1);
    bad = good; bad.vocab = f.v.n - 1; /* fewer rows than words */
    assert_int_equal(modelfile_write(f.path, &bad, &f.v, 120, "", err, sizeof err), -1);
    size_t n;
    char *still = unit_read_file(f.path, &n);
    assert_non_null(still);
    assert_int_equal(n, f.size);
    assert_memory_equal(still, f.bytes, n);
    free(still);

    struct lstm_params tiny = {2, 1, 1, 6, NULL, NULL, NULL, NULL, NULL, NULL};
    assert_int_equal(lstm_params_alloc(&tiny), 0);
    struct vocab one;
    assert_int_equal(vocab_from_blob(&one, "df", 3, 1), 0);
    if (modelfile_write(f.path, &tiny, &one, 1, "", err, sizeof err)) fail_msg("%s", err);
    struct modelfile mf;
    if (modelfile_read(f.path, &mf, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(mf.vocab, 2);
    assert_int_equal(mf.words, 1);
    assert_int_equal(mf.seq_len, 1);
    modelfile_free(&mf);
    vocab_free(&one);
    lstm_params_free(&tiny);
    free_fixture(&f);
}

/* F's bytes with the 32-bit fields AT[i] set to VALUE[i] and the checksum made right
 * again, parsed: NULL when accepted, else the message (static). */
static const char *parse_resealed(const struct fixture *f, int n, const size_t *at, const uint32_t *value)
{
    static char err[256];
    unsigned char *b = malloc(f->size);
    memcpy(b, f->bytes, f->size);
    for (int i = 0; i < n; i++) memcpy(b + at[i], &value[i], 4);
    uint32_t crc = modelfile_crc32c(b, f->size - 4);
    memcpy(b + f->size - 4, &crc, 4);
    struct modelfile mf;
    int rc = modelfile_parse(b, f->size, "m.nbsm", &mf, err, sizeof err);
    free(b);
    if (rc == 0) { modelfile_free(&mf); return NULL; }
    return err;
}

/* The header's limits, each at its edge: a value just inside passes the header check
 * (to be refused, if at all, by the section offsets it implies, which the file's do not
 * match), one just outside is refused by it.  Both messages say "inconsistent": the
 * words after it tell which check spoke. */
static void header_limits_at_their_edges(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    static const char sizes[] = "m.nbsm: inconsistent sizes in the header";
    static const char offsets[] = "m.nbsm: inconsistent section offsets";
    static const struct { size_t at[2]; uint32_t value[2]; int n; const char *want; } cases[] = {
        {{44}, {65536}, 1, NULL}, /* seq_len: no section depends on it */
        {{44}, {65537}, 1, sizes},
        {{44}, {1}, 1, NULL},
        {{44}, {0}, 1, sizes},
        {{40}, {2}, 1, offsets}, /* classes */
        {{40}, {1}, 1, sizes},
        {{40}, {16}, 1, offsets},
        {{40}, {17}, 1, sizes},
        {{36}, {4096}, 1, offsets}, /* hidden */
        {{36}, {4097}, 1, sizes},
        {{36}, {1}, 1, offsets},
        {{36}, {0}, 1, sizes},
        {{24, 28}, {2, 1}, 2, offsets}, /* vocab, words */
        {{24, 28}, {1, 0}, 2, sizes},
        {{24}, {1u << 22}, 1, offsets},
        {{24}, {(1u << 22) + 1}, 1, sizes},
        {{28}, {39}, 1, NULL}, /* words < vocab (40); the blob is read later, by the model */
        {{28}, {40}, 1, sizes},
        {{12}, {MODELFILE_HEADER + 64}, 1, sizes}, /* header size */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = parse_resealed(&f, cases[i].n, cases[i].at, cases[i].value);
        const char *want = cases[i].want;
        if (!want && got) fail_msg("field %zu = %u: refused: %s", cases[i].at[0], cases[i].value[0], got);
        if (want && (!got || strcmp(got, want) != 0))
            fail_msg("field %zu = %u: '%s', want '%s'", cases[i].at[0], cases[i].value[0], got ? got : "accepted", want);
    }
    /* the strings section's length: not past the end of the file */
    size_t at52 = 52;
    uint32_t past = (uint32_t)f.size + 1;
    const char *got = parse_resealed(&f, 1, &at52, &past);
    assert_non_null(got);
    assert_string_equal(got, sizes);
    free_fixture(&f);
}

/* The provenance line and the stage keys come from the file, and messages and `eval`
 * print them: a downloaded model could put a terminal's escape sequences there.  They
 * are read with control characters as '?' (the checksum is over the bytes as stored). */
static void control_characters_in_strings_are_shown_as_marks(void **state)
{
    (void)state;
    struct fixture f;
    make_file(&f);
    char err[256];
    if (modelfile_write(f.path, &f.p, &f.v, 120, "from \x1b[2J\nweak.jsonl\x07", err, sizeof err)) fail_msg("%s", err);
    struct modelfile mf;
    if (modelfile_read(f.path, &mf, err, sizeof err)) fail_msg("%s", err);
    assert_string_equal(mf.info, "from ?[2J?weak.jsonl?");
    modelfile_free(&mf);
    /* a stage key with an escape in it, the file resealed: refused, the key shown safely */
    size_t n = 0;
    unsigned char *b = (unsigned char *)unit_read_file(f.path, &n);
    assert_non_null(b);
    unsigned char *k = memmem(b, n, "\0load\0", 6);
    assert_non_null(k);
    k[2] = 0x1b;
    uint32_t crc = modelfile_crc32c(b, n - 4);
    memcpy(b + n - 4, &crc, 4);
    FILE *fp = fopen(f.path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
    free(b);
    assert_null(model_load(f.path, err, sizeof err));
    assert_non_null(strstr(err, "stage 0 is 'l?ad' in the model, 'load' here"));
    assert_null(strchr(err, 0x1b));
    free_fixture(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(truncated_files_refused),
        cmocka_unit_test(corrupted_files_refused),
        cmocka_unit_test(other_versions_refused),
        cmocka_unit_test(other_filters_refused),
        cmocka_unit_test(non_finite_weights_refused),
        cmocka_unit_test(assignment_words_flag_round_trips),
        cmocka_unit_test(lower_case_flag_round_trips),
        cmocka_unit_test(oov_word_flag_round_trips),
        cmocka_unit_test(context_flag_round_trips),
        cmocka_unit_test(io_errors_name_the_file),
        cmocka_unit_test(crc32c_known_answer),
        cmocka_unit_test(crc32c_every_length_and_alignment),
        cmocka_unit_test(layout_is_the_documented_one),
        cmocka_unit_test(shipped_model_is_read),
        cmocka_unit_test(write_refuses_inconsistent_sizes),
        cmocka_unit_test(header_limits_at_their_edges),
        cmocka_unit_test(control_characters_in_strings_are_shown_as_marks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
