/* modelfile.h — the model file (.nbsm): one versioned, checksummed binary.
 *
 * Owns: the on-disk layout and its validation.  A file holds the hyper-parameters, the
 * preprocessing settings (sequence length, lower-casing, filter characters, comment
 * stripping, pre-padding), the stage keys in column order, a provenance line, the
 * vocabulary, and the inference weights: the table T = E·Wx + b (vocab x 4H, the
 * embedding already multiplied into the LSTM's input kernel), Wh, Wd, bd.
 *
 * Why the table and not E: E alone is 8000x512 floats = 16 MB; T is 8 MB and makes a
 * load one read plus pointer fix-ups (no 1-GFLOP product at start-up).  The price: a
 * model file cannot resume training (E and Wx are not recoverable from T).
 *
 * Layout (little-endian): a 128-byte header (magic "NBSMODL\n", format version, sizes,
 * section offsets), then a NUL-separated strings section, then the float arrays, each
 * at a 64-byte aligned offset, and last a CRC-32C of every byte before it.  A file that
 * is truncated, has trailing bytes, fails the checksum, has another format version,
 * inconsistent sizes, or preprocessing settings (flags, filter characters) this
 * version's tokenizer does not apply is refused with a message naming the file and
 * the reason.  Control characters in the provenance line and the stage keys are read
 * as '?' (they reach messages and reports).
 */
#ifndef NBSTAGE_MODELFILE_H
#define NBSTAGE_MODELFILE_H

#include <stddef.h>
#include <stdint.h>

#include "model/lstm.h"
#include "model/vocab.h"

#define MODELFILE_MAGIC "NBSMODL\n"
#define MODELFILE_VERSION 1u
#define MODELFILE_HEADER 128u

enum { /* preprocessing flags: the first four always set by this version's writer */
    MF_LOWERCASE = 1,
    MF_STRIP_COMMENTS = 2,
    MF_PAD_PRE = 4,
    MF_TRUNCATE_PRE = 8,
    MF_ASSIGN_WORDS = 16, /* the "=" word (tokenizer.h TOKENIZE_ASSIGN_WORDS) */
    MF_UNICODE_LOWER = 32, /* str.lower() beyond ASCII; absent: TOKENIZE_ASCII_LOWER */
    MF_OOV_WORD = 64,      /* word 1 is VOCAB_OOV_WORD, read for every unknown word */
    MF_CONTEXT = 128,      /* a cell is read after the previous cell's last lines (model/context.h) */
};

struct modelfile {
    void *mem;          /* the whole file, 64-byte aligned; everything below points in */
    size_t size;
    size_t map_len;     /* mem is a mapping of this length (huge pages), 0: malloc'd */
    uint32_t version, vocab, words, embed, hidden, classes, seq_len, flags;
    uint32_t checksum;  /* CRC-32C of the file but its last 4 bytes */
    const char *filter; /* the tokenizer's filter characters */
    const char *info;   /* provenance: how and on what the model was trained */
    const char *stage_keys[16];
    const char *words_blob; /* vocab_from_blob's input: WORDS words */
    size_t words_len;
    const float *table; /* vocab x 4*hidden */
    const float *Wh;    /* hidden x 4*hidden */
    const float *Wd;    /* hidden x classes */
    const float *bd;    /* classes */
};

/* Writes P (its E, Wx, b folded into the table), the vocabulary V and SEQ_LEN to
 * PATH, atomically (nbformat/outfile.h: temporary file + rename).  INFO is a free-text provenance line.
 * -1 with ERR on failure. */
int modelfile_write(const char *path, const struct lstm_params *p, const struct vocab *v,
                    int seq_len, const char *info, char *err, size_t errlen);

/* Reads and validates PATH.  -1 with "PATH: reason" in ERR. */
int modelfile_read(const char *path, struct modelfile *mf, char *err, size_t errlen);
/* The same from bytes in memory (copied); NAME is used in messages. */
int modelfile_parse(const void *buf, size_t len, const char *name, struct modelfile *mf,
                    char *err, size_t errlen);
void modelfile_free(struct modelfile *mf);

/* Rounds W[0..N) to bf16 values (the nearest, ties to even; 8 bits of mantissa, fp32's
 * exponent), in place: what `train --round-recurrent` does to Wh before writing, so
 * that single-cell inference can read it from half the bytes (infer_pack_bf16) with
 * the same numbers.  Infinities stay; a NaN stays a NaN. */
void modelfile_round_bf16(float *w, size_t n);

/* CRC-32C (Castagnoli), hardware-accelerated where the CPU has SSE4.2. */
uint32_t modelfile_crc32c(const void *buf, size_t len);
/* The CRC-32C of the bytes before (CRC, 0 for none) and then BUF: a file's checksum
 * taken a piece at a time, as the training checkpoint writes and reads it. */
uint32_t modelfile_crc32c_more(uint32_t crc, const void *buf, size_t len);

#endif
