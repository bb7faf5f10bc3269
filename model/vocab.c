/* vocab.c — word counting, Keras' frequency ranking, hash lookup, encoding (see vocab.h). */
#include "model/vocab.h"

#include <stdlib.h>
#include <string.h>

#include "model/tokenizer.h"

static uint64_t hash_word(const char *w, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)w[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

/* ------------------------------------------------------------------ lookup */

/* The lookup hash: 8-byte little-endian chunks (the last zero-padded) through a
 * multiply, instead of FNV-1a's multiply per byte.  CHUNK(w, i, rem) loads chunk I. */
static inline uint64_t chunk_safe(const char *w, size_t rem)
{
    uint64_t x = 0;
    memcpy(&x, w, rem < 8 ? rem : 8);
    return x;
}

/* W is followed by at least 8 readable bytes (TOKENIZER_PAD): one load, masked. */
static inline uint64_t chunk_padded(const char *w, size_t rem)
{
    uint64_t x;
    memcpy(&x, w, 8);
    return rem >= 8 ? x : x & ((1ull << (8 * rem)) - 1);
}

#define HASH_WORD(name, chunk)                                                          \
    static inline uint64_t name(const char *w, size_t len, uint64_t *head, uint64_t *tail) \
    {                                                                                   \
        uint64_t h = 0x243F6A8885A308D3ull ^ len, x = len ? chunk(w, len) : 0;          \
        *head = x;                                                                      \
        *tail = 0;                                                                      \
        for (size_t i = 8;; i += 8) {                                                   \
            h = (h ^ x) * 0x9E3779B97F4A7C15ull;                                        \
            if (i >= len) break;                                                        \
            x = chunk(w + i, len - i);                                                  \
            if (i == 8) *tail = x;                                                      \
        }                                                                               \
        h ^= h >> 32;                                                                   \
        h *= 0xD6E8FEB86659FD93ull;                                                     \
        return h ^ (h >> 29);                                                           \
    }
HASH_WORD(lookup_hash_safe, chunk_safe)
HASH_WORD(lookup_hash_padded, chunk_padded)

/* A word's first 16 bytes are in its slot: only longer words are compared with the
 * stored word (a call and a miss in the word storage for each before, when the slot
 * held 8 bytes). */
static inline int probe(const struct vocab *v, const char *w, size_t len, uint64_t h, uint64_t head,
                        uint64_t tail)
{
    for (uint32_t i = (uint32_t)h & v->mask;; i = (i + 1) & v->mask) {
        const struct vocab_slot *s = &v->slots[i];
        if (s->id == 0) return 0;
        if (s->len == len && s->head == head && s->tail == tail &&
            (len <= 16 || memcmp(v->words[s->id] + 16, w + 16, len - 16) == 0))
            return s->id;
    }
}

int vocab_lookup(const struct vocab *v, const char *w, size_t len)
{
    if (!v->slots) return 0;
    uint64_t head, tail, h = lookup_hash_safe(w, len, &head, &tail);
    return probe(v, w, len, h, head, tail);
}

/* vocab_lookup for a word followed by TOKENIZER_PAD readable bytes. */
static inline __attribute__((always_inline)) int lookup_padded(const struct vocab *v, const char *w,
                                                               size_t len)
{
    if (!v->slots) return 0;
    uint64_t head, tail, h = lookup_hash_padded(w, len, &head, &tail);
    return probe(v, w, len, h, head, tail);
}

/* Fills lens and the hash table from words[1..n-1]. */
static int index_words(struct vocab *v)
{
    uint32_t size = 16;
    while (size < 2u * (uint32_t)v->n) size *= 2; /* load factor <= 1/2 */
    v->mask = size - 1;
    v->slots = calloc(size, sizeof *v->slots);
    v->lens = calloc((size_t)v->n, sizeof *v->lens);
    if (!v->slots || !v->lens) return -2;
    for (int id = 1; id < v->n; id++) {
        size_t len = strlen(v->words[id]);
        v->lens[id] = (uint32_t)len;
        uint64_t head, tail, h = lookup_hash_safe(v->words[id], len, &head, &tail);
        /* A repeated word would shadow a later id: the file is not ours. */
        if (probe(v, v->words[id], len, h, head, tail)) return -1;
        uint32_t i = (uint32_t)h & v->mask;
        while (v->slots[i].id) i = (i + 1) & v->mask;
        v->slots[i] = (struct vocab_slot){id, (uint32_t)len, head, tail};
    }
    return 0;
}

int vocab_from_blob(struct vocab *v, const char *blob, size_t len, int count)
{
    memset(v, 0, sizeof *v);
    if (count < 0) return -1;
    v->n = count + 1;
    v->words = malloc((size_t)v->n * sizeof *v->words);
    if (!v->words) { vocab_free(v); return -2; }
    v->words[0] = "";
    size_t at = 0;
    for (int id = 1; id < v->n; id++) {
        const char *end = at < len ? memchr(blob + at, 0, len - at) : NULL;
        if (!end || end == blob + at) { vocab_free(v); return -1; } /* missing or empty word */
        v->words[id] = blob + at;
        at = (size_t)(end - blob) + 1;
    }
    if (at != len) { vocab_free(v); return -1; }
    int r = index_words(v);
    if (r) vocab_free(v);
    return r;
}

char *vocab_to_blob(const struct vocab *v, size_t *len)
{
    size_t total = 0;
    for (int id = 1; id < v->n; id++) total += strlen(v->words[id]) + 1;
    char *out = malloc(total ? total : 1), *p = out;
    if (!out) return NULL;
    for (int id = 1; id < v->n; id++) {
        size_t l = strlen(v->words[id]) + 1;
        memcpy(p, v->words[id], l);
        p += l;
    }
    *len = total;
    return out;
}

void vocab_free(struct vocab *v)
{
    free(v->words);
    free(v->lens);
    free(v->slots);
    free(v->own);
    memset(v, 0, sizeof *v);
}

/* ------------------------------------------------------------------ counting */

struct counted {
    char *word;
    size_t len;
    long count;
    long first; /* order of first sight */
};

struct vocab_counter {
    struct counted *items; /* open addressing; word == NULL: empty */
    size_t size, used;
    unsigned tokenize;
    int oov;
};

void vocab_counter_set_tokenize(struct vocab_counter *c, unsigned flags) { c->tokenize = flags; }
void vocab_counter_set_oov(struct vocab_counter *c, int oov) { c->oov = oov != 0; }

struct vocab_counter *vocab_counter_new(void)
{
    struct vocab_counter *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->size = 1 << 16;
    c->items = calloc(c->size, sizeof *c->items);
    if (!c->items) { free(c); return NULL; }
    return c;
}

void vocab_counter_free(struct vocab_counter *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->size; i++) free(c->items[i].word);
    free(c->items);
    free(c);
}

size_t vocab_counter_distinct(const struct vocab_counter *c) { return c->used; }

static int grow(struct vocab_counter *c)
{
    size_t size = c->size * 2;
    struct counted *items = calloc(size, sizeof *items);
    if (!items) return -1;
    for (size_t i = 0; i < c->size; i++) {
        if (!c->items[i].word) continue;
        size_t j = hash_word(c->items[i].word, c->items[i].len) & (size - 1);
        while (items[j].word) j = (j + 1) & (size - 1);
        items[j] = c->items[i];
    }
    free(c->items);
    c->items = items;
    c->size = size;
    return 0;
}

int vocab_counter_add(struct vocab_counter *c, const char *w, size_t len)
{
    if (2 * (c->used + 1) > c->size && grow(c)) return -1;
    size_t i = hash_word(w, len) & (c->size - 1);
    for (; c->items[i].word; i = (i + 1) & (c->size - 1))
        if (c->items[i].len == len && memcmp(c->items[i].word, w, len) == 0) {
            c->items[i].count++;
            return 0;
        }
    char *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, w, len);
    copy[len] = 0;
    c->items[i] = (struct counted){copy, len, 1, (long)c->used};
    c->used++;
    return 0;
}

static int count_one(const char *w, size_t len, void *ctx)
{
    return vocab_counter_add(ctx, w, len);
}

int vocab_counter_add_source(struct vocab_counter *c, const char *src, size_t len)
{
    return tokenize_source_with(src, len, c->tokenize, count_one, c) ? -1 : 0;
}

static int by_rank(const void *a, const void *b)
{
    const struct counted *x = *(const struct counted *const *)a, *y = *(const struct counted *const *)b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return (x->first > y->first) - (x->first < y->first);
}

int vocab_build(const struct vocab_counter *c, int max_ids, struct vocab *v)
{
    memset(v, 0, sizeof *v);
    struct counted **all = malloc((c->used ? c->used : 1) * sizeof *all);
    if (!all) return -1;
    size_t k = 0;
    for (size_t i = 0; i < c->size; i++)
        if (c->items[i].word) all[k++] = &c->items[i];
    qsort(all, k, sizeof *all, by_rank);
    size_t room = max_ids - 1 > c->oov ? (size_t)(max_ids - 1 - c->oov) : 0;
    size_t keep = k < room ? k : room;
    size_t bytes = c->oov ? sizeof VOCAB_OOV_WORD : 0;
    for (size_t i = 0; i < keep; i++) bytes += all[i]->len + 1;
    v->n = (int)keep + 1 + c->oov;
    v->tokenize = c->tokenize;
    v->oov_id = c->oov;
    v->own = malloc(bytes ? bytes : 1);
    v->words = malloc((size_t)v->n * sizeof *v->words);
    if (!v->own || !v->words) { free(all); vocab_free(v); return -1; }
    v->words[0] = "";
    char *p = v->own;
    if (c->oov) {
        memcpy(p, VOCAB_OOV_WORD, sizeof VOCAB_OOV_WORD);
        v->words[1] = p;
        p += sizeof VOCAB_OOV_WORD;
    }
    for (size_t i = 0; i < keep; i++) {
        memcpy(p, all[i]->word, all[i]->len + 1);
        v->words[i + 1 + c->oov] = p;
        p += all[i]->len + 1;
    }
    free(all);
    if (index_words(v)) { vocab_free(v); return -1; }
    return 0;
}

/* ------------------------------------------------------------------ encoding */

/* The split read backwards: the ids go into IDS from its end, and the words before the
 * last SEQ_LEN known ones are never looked up (40% of the corpus's words are in the 4%
 * of cells longer than that). */
struct rev_encoding {
    const struct vocab *v;
    int *ids;
    int left; /* ids[0 .. left) not filled yet */
};

static int encode_rev(const char *w, size_t len, void *ctx)
{
    struct rev_encoding *e = ctx;
    int id = lookup_padded(e->v, w, len); /* tokenize_source_reverse pads every word */
    if (!id) id = e->v->oov_id;
    if (id) e->ids[--e->left] = id;
    return e->left == 0; /* full: stop */
}

int vocab_encode(const struct vocab *v, const char *src, size_t len, int *ids, int seq_len)
{
    if (seq_len <= 0) return 0;
    struct rev_encoding r = {v, ids, seq_len};
    if (tokenize_source_reverse_with(src, len, v->tokenize, encode_rev, &r) < 0) return -1;
    memset(ids, 0, (size_t)r.left * sizeof *ids);
    return seq_len - r.left;
}
