/* modelfile.c — writing, reading and validating .nbsm files (see modelfile.h). */
#include "model/modelfile.h"
#include "model/tokenizer.h"
#include "nbformat/notebook.h"
#include "nbformat/outfile.h"

#include <cblas.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the model file is little-endian and read in place"
#endif

/* ------------------------------------------------------------------ CRC-32C */

static uint32_t crc_table[256];

static void crc_init_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
        crc_table[i] = c;
    }
}

static uint32_t crc_soft(uint32_t c, const unsigned char *p, size_t n)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, crc_init_table);
    while (n--) c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t c, const unsigned char *p, size_t n)
{
    uint64_t c64 = c;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c64 = _mm_crc32_u64(c64, w);
    }
    c = (uint32_t)c64;
    for (; n; n--) c = _mm_crc32_u8(c, *p++);
    return c;
}
#endif

uint32_t modelfile_crc32c_more(uint32_t crc, const void *buf, size_t len)
{
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2")) return ~crc_hw(c, buf, len);
#endif
    return ~crc_soft(c, buf, len);
}

uint32_t modelfile_crc32c(const void *buf, size_t len)
{
    return modelfile_crc32c_more(0, buf, len);
}

/* ------------------------------------------------------------------ layout */

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

struct layout {
    size_t strings_off, table_off, wh_off, wd_off, bd_off, crc_off, size;
};

static struct layout layout_of(uint32_t vocab, uint32_t hidden, uint32_t classes, size_t strings_len)
{
    struct layout l;
    size_t g = 4 * (size_t)hidden;
    l.strings_off = MODELFILE_HEADER;
    l.table_off = align64(l.strings_off + strings_len);
    l.wh_off = align64(l.table_off + (size_t)vocab * g * 4);
    l.wd_off = align64(l.wh_off + (size_t)hidden * g * 4);
    l.bd_off = align64(l.wd_off + (size_t)hidden * classes * 4);
    l.crc_off = l.bd_off + (size_t)classes * 4;
    l.size = l.crc_off + 4;
    return l;
}

static void put32(unsigned char *h, size_t at, uint32_t v) { memcpy(h + at, &v, 4); }
static void put64(unsigned char *h, size_t at, uint64_t v) { memcpy(h + at, &v, 8); }
static uint32_t get32(const unsigned char *h, size_t at) { uint32_t v; memcpy(&v, h + at, 4); return v; }
static uint64_t get64(const unsigned char *h, size_t at) { uint64_t v; memcpy(&v, h + at, 8); return v; }

/* Header offsets. */
enum {
    H_VERSION = 8, H_HEADER = 12, H_SIZE = 16, H_VOCAB = 24, H_WORDS = 28, H_EMBED = 32,
    H_HIDDEN = 36, H_CLASSES = 40, H_SEQ = 44, H_FLAGS = 48, H_STRLEN = 52,
    H_STRINGS = 56, H_TABLE = 64, H_WH = 72, H_WD = 80, H_BD = 88,
};

void modelfile_round_bf16(float *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, w + i, sizeof u);
        if ((u & 0x7F800000u) == 0x7F800000u) { /* inf stays; a NaN keeps a payload bit */
            if (u & 0x007FFFFFu) u |= 0x00400000u;
        } else {
            u += 0x7FFFu + ((u >> 16) & 1u); /* to nearest, ties to even (may carry into the exponent) */
        }
        u &= 0xFFFF0000u;
        memcpy(w + i, &u, sizeof u);
    }
}

/* ------------------------------------------------------------------ writing */

static const char *const default_keys[] = {"load", "prep", "train", "evaluate", "explore", "imports"};

int modelfile_write(const char *path, const struct lstm_params *p, const struct vocab *v,
                    int seq_len, const char *info, char *err, size_t errlen)
{
    if (p->classes != 6 || p->vocab < 2 || p->hidden < 1 || seq_len < 1 || v->n > p->vocab) {
        nb_error_fmt(err, errlen, "%s: cannot write: inconsistent model sizes", path);
        return -1;
    }
    if (!info) info = "";
    size_t words_len;
    char *words = vocab_to_blob(v, &words_len);
    if (!words) { nb_error_fmt(err, errlen, "%s: out of memory", path); return -1; }
    size_t strings_len = strlen(tokenizer_filter) + 1 + strlen(info) + 1 + words_len;
    for (int k = 0; k < p->classes; k++) strings_len += strlen(default_keys[k]) + 1;
    struct layout l = layout_of((uint32_t)p->vocab, (uint32_t)p->hidden, (uint32_t)p->classes, strings_len);
    unsigned char *buf = NULL;
    if (posix_memalign((void **)&buf, 64, l.size)) buf = NULL;
    if (!buf) { free(words); nb_error_fmt(err, errlen, "%s: out of memory", path); return -1; }
    memset(buf, 0, l.size);

    memcpy(buf, MODELFILE_MAGIC, 8);
    put32(buf, H_VERSION, MODELFILE_VERSION);
    put32(buf, H_HEADER, MODELFILE_HEADER);
    put64(buf, H_SIZE, l.size);
    put32(buf, H_VOCAB, (uint32_t)p->vocab);
    put32(buf, H_WORDS, (uint32_t)(v->n - 1));
    put32(buf, H_EMBED, (uint32_t)p->embed);
    put32(buf, H_HIDDEN, (uint32_t)p->hidden);
    put32(buf, H_CLASSES, (uint32_t)p->classes);
    put32(buf, H_SEQ, (uint32_t)seq_len);
    put32(buf, H_FLAGS, MF_LOWERCASE | MF_STRIP_COMMENTS | MF_PAD_PRE | MF_TRUNCATE_PRE |
                            (v->tokenize & TOKENIZE_ASSIGN_WORDS ? MF_ASSIGN_WORDS : 0) |
                            (v->tokenize & TOKENIZE_ASCII_LOWER ? 0 : MF_UNICODE_LOWER) |
                            (v->oov_id ? MF_OOV_WORD : 0) | (v->context ? MF_CONTEXT : 0));
    put32(buf, H_STRLEN, (uint32_t)strings_len);
    put64(buf, H_STRINGS, l.strings_off);
    put64(buf, H_TABLE, l.table_off);
    put64(buf, H_WH, l.wh_off);
    put64(buf, H_WD, l.wd_off);
    put64(buf, H_BD, l.bd_off);

    char *s = (char *)buf + l.strings_off;
    s = stpcpy(s, tokenizer_filter) + 1;
    s = stpcpy(s, info) + 1;
    for (int k = 0; k < p->classes; k++) s = stpcpy(s, default_keys[k]) + 1;
    memcpy(s, words, words_len);
    free(words);

    /* T = E·Wx + b: each token's whole input projection, bias included. */
    int g = 4 * p->hidden;
    float *T = (float *)(buf + l.table_off);
    for (int r = 0; r < p->vocab; r++) memcpy(T + (size_t)r * g, p->b, (size_t)g * sizeof *T);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p->vocab, g, p->embed, 1.0f, p->E,
                p->embed, p->Wx, g, 1.0f, T, g);
    memcpy(buf + l.wh_off, p->Wh, (size_t)p->hidden * g * sizeof(float));
    memcpy(buf + l.wd_off, p->Wd, (size_t)p->hidden * p->classes * sizeof(float));
    memcpy(buf + l.bd_off, p->bd, (size_t)p->classes * sizeof(float));
    put32(buf, l.crc_off, modelfile_crc32c(buf, l.crc_off));

    /* Atomically (outfile: a temporary beside PATH renamed over it): a crash or a
     * failed write never leaves half a model under PATH.  Except into a device or a
     * FIFO (`-o /dev/null`), which a rename would replace. */
    struct outfile o;
    nb_error oe;
    int rc = outfile_open(&o, path, &oe);
    if (rc == 0) {
        fwrite(buf, 1, l.size, o.f);
        rc = outfile_commit(&o, &oe);
    }
    if (rc) nb_error_copy(err, errlen, oe.msg);
    free(buf);
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------------ reading */

/* The index of the first of N floats at P whose exponent bits are all ones (an
 * infinity or a NaN), SIZE_MAX if none: bit tests, which vectorize, and no float
 * compares, which -ffast-math builds of a caller could fold away. */
static size_t first_non_finite(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, p + 4 * i, 4);
        if ((v & 0x7f800000u) == 0x7f800000u) return i;
    }
    return SIZE_MAX;
}

static const char *section_of(const struct layout *l, size_t at)
{
    return at < l->wh_off ? "embedding table" : at < l->wd_off ? "LSTM recurrent" : at < l->bd_off ? "output" : "output bias";
}

#define FAIL(...) do { nb_error_fmt(err, errlen, __VA_ARGS__); return -1; } while (0)

/* The memory a model file is read into: SIZE bytes, 64-byte aligned.  A model of the
 * study's size (8.3 MB) goes on transparent huge pages where the system gives them for
 * the asking (THP "madvise"): a mapping of whole 2 MB blocks, 5 pages instead of 2,000.
 * On the AMD Zen 4 VM a load in a new process took 45-48 ms, most of it faulting in and
 * TLB-missing 4 KB pages (the read, then the checksum), and 1.9-2.4 ms so (the tail past
 * the last whole block on small pages: ~10 ms).  The price is up to 2 MB of address
 * space past the file's end: not taken under an address-space limit (ulimit -v), where
 * the programs already run close to it (OpenBLAS, threads' stacks and arenas), nor when
 * the mapping cannot be had.  *MAP_LEN: the mapping's length (model_mem_free's
 * munmap), 0 when malloc'd. */
static void *model_mem_alloc(size_t size, size_t *map_len)
{
    const size_t huge = (size_t)2 << 20;
    struct rlimit as;
    *map_len = 0;
    if (size >= 2 * huge && getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur == RLIM_INFINITY) {
        size_t len = (size + huge - 1) / huge * huge;
        char *p = mmap(NULL, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) { /* the 2 MB-aligned LEN bytes inside kept, the rest unmapped */
            char *a = (char *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
            if (a > p) munmap(p, (size_t)(a - p));
            if (p + len + huge > a + len) munmap(a + len, (size_t)(p + len + huge - (a + len)));
            (void)madvise(a, len, MADV_HUGEPAGE); /* a hint: refused, small pages */
            *map_len = len;
            return a;
        }
    }
    void *mem = NULL;
    return posix_memalign(&mem, 64, size ? size : 1) ? NULL : mem;
}

static void model_mem_free(void *mem, size_t map_len)
{
    if (map_len) munmap(mem, map_len);
    else free(mem);
}

/* MEM[0..SIZE)'s frame: the magic, the format version, the size and the checksum
 * (into *CRC), before anything the header says is believed. */
static int check_frame(const unsigned char *mem, size_t size, const char *name, uint32_t *crc,
                       char *err, size_t errlen)
{
    /* Empty, or cut inside the magic: a truncated model (a copy that ran out of
     * space), not some other kind of file. */
    if (size == 0) FAIL("%s: empty file (0 bytes), not a model", name);
    if (size < 8 && memcmp(mem, MODELFILE_MAGIC, size) == 0) FAIL("%s: truncated file (%zu bytes)", name, size);
    if (size < 8 || memcmp(mem, MODELFILE_MAGIC, 8) != 0)
        FAIL("%s: not an nbstage model file (bad magic)", name);
    if (size < MODELFILE_HEADER + 4) FAIL("%s: truncated file (%zu bytes)", name, size);
    uint32_t version = get32(mem, H_VERSION);
    if (version != MODELFILE_VERSION)
        FAIL("%s: model file format version %u; this nbstage reads version %u", name, version,
             MODELFILE_VERSION);
    uint64_t want = get64(mem, H_SIZE);
    if (want > size) FAIL("%s: truncated file (%zu of %llu bytes)", name, size, (unsigned long long)want);
    if (want < size) FAIL("%s: %zu bytes after the end of the model", name, size - (size_t)want);
    memcpy(crc, mem + size - 4, 4);
    if (*crc != modelfile_crc32c(mem, size - 4)) FAIL("%s: checksum mismatch (corrupted file)", name);
    return 0;
}

/* The header's sizes and flags into MF, and the layout they give into *L (with the
 * strings section's length, *STRINGS_LEN).  A checksum only proves the bytes are the
 * writer's; the sizes must still agree, with each other, the file's size and the
 * offsets the header gives. */
static int read_header(const unsigned char *mem, size_t size, const char *name, struct modelfile *mf,
                       struct layout *l, uint32_t *strings_len, char *err, size_t errlen)
{
    mf->version = get32(mem, H_VERSION);
    mf->vocab = get32(mem, H_VOCAB);
    mf->words = get32(mem, H_WORDS);
    mf->embed = get32(mem, H_EMBED);
    mf->hidden = get32(mem, H_HIDDEN);
    mf->classes = get32(mem, H_CLASSES);
    mf->seq_len = get32(mem, H_SEQ);
    mf->flags = get32(mem, H_FLAGS);
    *strings_len = get32(mem, H_STRLEN);
    if (get32(mem, H_HEADER) != MODELFILE_HEADER || mf->vocab < 2 || mf->vocab > (1u << 22) ||
        mf->words >= mf->vocab || mf->hidden < 1 || mf->hidden > 4096 || mf->classes < 2 ||
        mf->classes > 16 || mf->seq_len < 1 || mf->seq_len > 65536 || *strings_len > size)
        FAIL("%s: inconsistent sizes in the header", name);
    *l = layout_of(mf->vocab, mf->hidden, mf->classes, *strings_len);
    if (l->size != size || get64(mem, H_STRINGS) != l->strings_off || get64(mem, H_TABLE) != l->table_off ||
        get64(mem, H_WH) != l->wh_off || get64(mem, H_WD) != l->wd_off || get64(mem, H_BD) != l->bd_off)
        FAIL("%s: inconsistent section offsets", name);
    const uint32_t all = MF_LOWERCASE | MF_STRIP_COMMENTS | MF_PAD_PRE | MF_TRUNCATE_PRE;
    if ((mf->flags & ~(uint32_t)(MF_ASSIGN_WORDS | MF_UNICODE_LOWER | MF_OOV_WORD | MF_CONTEXT)) != all) FAIL("%s: preprocessing flags %#x are not supported", name, mf->flags);
    return 0;
}

/* The strings section, STRINGS_LEN bytes from L's offset, into MF: the tokenizer's
 * filter (checked), the provenance line and the stage keys (made printable in place),
 * then the vocabulary's words. */
static int read_strings(unsigned char *mem, const struct layout *l, uint32_t strings_len, const char *name,
                        struct modelfile *mf, char *err, size_t errlen)
{
    const char *s = (const char *)mem + l->strings_off, *end = s + strings_len;
    const char *fields[2 + 16];
    uint32_t nfields = 2 + mf->classes;
    for (uint32_t k = 0; k < nfields; k++) {
        const char *z = s < end ? memchr(s, 0, (size_t)(end - s)) : NULL;
        if (!z) FAIL("%s: strings section cut short", name);
        fields[k] = s;
        s = z + 1;
    }
    mf->filter = fields[0];
    /* Stored to be checked: words split with other filter characters (Keras' own
     * default list has '_') are not the ones the vocabulary was counted with. */
    if (strcmp(mf->filter, tokenizer_filter) != 0)
        FAIL("%s: the tokenizer's filter characters differ from this nbstage's (preprocessing not supported)", name);
    /* The provenance line and the stage keys reach messages and `eval`'s report: a
     * control character there (an escape sequence from a model of unknown origin, a
     * newline from a path) is shown as '?'.  After the checksum, which is over the
     * bytes as stored; MEM is our own copy. */
    for (uint32_t k = 1; k < nfields; k++) {
        char *f = (char *)mem + (fields[k] - (const char *)mem);
        f[nb_unctrl(f, strlen(f), 0)] = 0;
    }
    mf->info = fields[1];
    for (uint32_t k = 0; k < mf->classes; k++) mf->stage_keys[k] = fields[2 + k];
    mf->words_blob = s;
    mf->words_len = (size_t)(end - s);
    if ((mf->flags & MF_OOV_WORD) &&
        (mf->words < 1 || mf->words_len < sizeof VOCAB_OOV_WORD || memcmp(s, VOCAB_OOV_WORD, sizeof VOCAB_OOV_WORD)))
        FAIL("%s: the out-of-vocabulary word is not the vocabulary's first", name);
    return 0;
}

/* The weight sections of MEM, laid out as L, into MF, once they are all finite. */
static int read_weights(const unsigned char *mem, const struct layout *l, const char *name, struct modelfile *mf,
                        char *err, size_t errlen)
{
    /* A NaN or an infinity (a file written by other code: train never keeps one) would
     * give every cell NaN probabilities, stage 'load', and print them as JSON that is
     * not JSON.  The sections and the zeros aligning them run from the table to the
     * checksum: one pass, about a millisecond for the shipped model. */
    size_t bad = first_non_finite(mem + l->table_off, (l->crc_off - l->table_off) / 4);
    if (bad != SIZE_MAX)
        FAIL("%s: a weight is not a finite number (%s section)", name,
             section_of(l, l->table_off + 4 * bad));
    mf->table = (const float *)(mem + l->table_off);
    mf->Wh = (const float *)(mem + l->wh_off);
    mf->Wd = (const float *)(mem + l->wd_off);
    mf->bd = (const float *)(mem + l->bd_off);
    return 0;
}

/* Validates MEM[0..SIZE) (ours to keep on success, freed on failure: model_mem_alloc's,
 * MAP_LEN its mapping's length). */
static int parse_owned(unsigned char *mem, size_t size, size_t map_len, const char *name, struct modelfile *mf,
                       char *err, size_t errlen)
{
    memset(mf, 0, sizeof *mf);
    uint32_t crc, strings_len;
    struct layout l;
    if (check_frame(mem, size, name, &crc, err, errlen) ||
        read_header(mem, size, name, mf, &l, &strings_len, err, errlen) ||
        read_strings(mem, &l, strings_len, name, mf, err, errlen) ||
        read_weights(mem, &l, name, mf, err, errlen)) {
        model_mem_free(mem, map_len);
        memset(mf, 0, sizeof *mf);
        return -1;
    }
    mf->checksum = crc;
    mf->mem = mem;
    mf->size = size;
    mf->map_len = map_len;
    return 0;
}

int modelfile_parse(const void *buf, size_t len, const char *name, struct modelfile *mf,
                    char *err, size_t errlen)
{
    size_t map_len;
    void *mem = model_mem_alloc(len, &map_len);
    if (!mem) {
        nb_error_fmt(err, errlen, "%s: out of memory", name);
        return -1;
    }
    if (len) memcpy(mem, buf, len);
    return parse_owned(mem, len, map_len, name, mf, err, errlen);
}

int modelfile_read(const char *path, struct modelfile *mf, char *err, size_t errlen)
{
    memset(mf, 0, sizeof *mf);
    struct stat st;
    char why[PATH_MAX + 64];
    int fd = nb_open_input(path, "a model file", &st, why, sizeof why); /* a FIFO refused, not waited on */
    if (fd < 0) {
        nb_error_fmt(err, errlen, "%s: %s", path, why); /* worded as every input (nb_open_input) */
        return -1;
    }
    if (st.st_size > (off_t)1 << 32) {
        nb_error_fmt(err, errlen, "%s: too large for a model file", path);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size, map_len;
    void *mem = model_mem_alloc(size, &map_len);
    if (!mem) {
        nb_error_fmt(err, errlen, "%s: out of memory", path);
        close(fd);
        return -1;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, (char *)mem + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            nb_error_fmt(err, errlen, "%s: read error: %s", path, strerror(errno));
            model_mem_free(mem, map_len);
            close(fd);
            return -1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    close(fd);
    return parse_owned(mem, got, map_len, path, mf, err, errlen);
}

void modelfile_free(struct modelfile *mf)
{
    if (mf->mem) model_mem_free(mf->mem, mf->map_len);
    memset(mf, 0, sizeof *mf);
}
