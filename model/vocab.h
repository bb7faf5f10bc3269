/* vocab.h — the vocabulary: words to ids, as Keras' Tokenizer(num_words=N) numbers them.
 *
 * Owns: counting words over the training cells, keeping the N-1 most frequent as ids
 * 1..N-1 (0 is padding; rarer words are dropped, as Keras does without an oov_token,
 * or, with the out-of-vocabulary word, all read as id 1, as Keras' oov_token does),
 * the word -> id hash table used at inference, and turning a cell's source into its
 * id sequence, front-padded and front-truncated (Keras `pre`/`pre`) to SEQ_LEN.
 * Ties in frequency go to the word seen first, which is what Keras' stable sort over
 * its insertion-ordered word_counts gives.
 */
#ifndef NBSTAGE_VOCAB_H
#define NBSTAGE_VOCAB_H

#include <stddef.h>
#include <stdint.h>

/* A hash slot holds what a lookup compares first, so a word of up to 16 bytes costs
 * one cache line: its length and first 16 bytes (zero-padded).  id 0: an empty slot. */
struct vocab_slot {
    int32_t id;
    uint32_t len;
    uint64_t head, tail; /* bytes 0..7 and 8..15 */
};

struct vocab {
    int n;              /* ids 1..n-1 are words (n-1 words); n = 1 when empty */
    const char **words; /* words[id], NUL-terminated; words[0] = "" */
    uint32_t *lens;
    struct vocab_slot *slots; /* open addressing */
    uint32_t mask;      /* slots has mask+1 entries, a power of two */
    char *own;          /* the words' storage when the vocab owns it, else NULL */
    unsigned tokenize;  /* tokenize_source_with flags the words were counted with */
    int oov_id;         /* the id every unknown word reads as (1), or 0: dropped */
    int context;        /* 1: a cell is read after its predecessor's last lines (model/context.h) */
};

/* The out-of-vocabulary word, id 1 of a vocabulary that has one (Keras' Tokenizer with
 * oov_token: the N-2 most frequent words are then ids 2..N-1).  Its '<' and '>' are
 * filter characters, so no word of a cell can be it. */
#define VOCAB_OOV_WORD "<oov>"


/* The id of a word, 0 when it is not in the vocabulary. */
int vocab_lookup(const struct vocab *v, const char *w, size_t len);

/* A vocabulary over COUNT NUL-terminated words packed in BLOB[0..LEN) in id order
 * (id 1 first).  The words are NOT copied: BLOB must outlive V.  -1 when BLOB does not
 * hold exactly COUNT words, -2 when out of memory. */
int vocab_from_blob(struct vocab *v, const char *blob, size_t len, int count);

/* The words packed as vocab_from_blob reads them; malloc'd, size in *LEN. */
char *vocab_to_blob(const struct vocab *v, size_t *len);

void vocab_free(struct vocab *v);

/* Counting words over a corpus. */
struct vocab_counter;
struct vocab_counter *vocab_counter_new(void);
void vocab_counter_free(struct vocab_counter *c);
int vocab_counter_add(struct vocab_counter *c, const char *w, size_t len); /* -1: OOM */
/* The tokenize_source_with flags for vocab_counter_add_source (default 0, the study's
 * split); a vocabulary built from C encodes with the same. */
void vocab_counter_set_tokenize(struct vocab_counter *c, unsigned flags);
/* With OOV non-zero, vocab_build gives the vocabulary the out-of-vocabulary word. */
void vocab_counter_set_oov(struct vocab_counter *c, int oov);
/* Tokenizes SRC (model/tokenizer.h) and counts its words.  -1: out of memory. */
int vocab_counter_add_source(struct vocab_counter *c, const char *src, size_t len);
size_t vocab_counter_distinct(const struct vocab_counter *c);

/* Keeps the MAX_IDS-1 most frequent words (ties: first seen first) as ids 1... (with
 * the out-of-vocabulary word: it is id 1, and the MAX_IDS-2 most frequent ids 2...).
 * -1 when out of memory. */
int vocab_build(const struct vocab_counter *c, int max_ids, struct vocab *v);

/* SRC's ids: the last SEQ_LEN in-vocabulary words (every word, unknown ones as
 * oov_id, when the vocabulary has the out-of-vocabulary word), front-padded with 0, into IDS.
 * Returns how many of the SEQ_LEN are words (the rest, at the front, are 0), or -1 when
 * out of memory. */
int vocab_encode(const struct vocab *v, const char *src, size_t len, int *ids, int seq_len);

#endif
