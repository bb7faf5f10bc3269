/* tokenizer.c — Keras' text_to_word_sequence on comment-stripped source (see tokenizer.h). */
#include "model/tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nbformat/pysrc.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

const char tokenizer_filter[] = "!\"#$%&()*+,-./:;<=>?@[\\]^`{|}~\t\n";

/* 1 = separator: the filter characters, the split character ' ', and NUL.  Kept in
 * step with tokenizer_filter by test_tokenizer. */
static const unsigned char sep[256] = {
    [0] = 1, [' '] = 1, ['!'] = 1, ['"'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1,
    ['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1,
    [':'] = 1, [';'] = 1, ['<'] = 1, ['='] = 1, ['>'] = 1, ['?'] = 1, ['@'] = 1, ['['] = 1,
    ['\\'] = 1, [']'] = 1, ['^'] = 1, ['`'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1,
    ['\t'] = 1, ['\n'] = 1,
};

int tokenizer_is_separator(unsigned char c) { return sep[c]; }

int tokenize_text(char *text, size_t len, token_fn fn, void *ctx)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && sep[(unsigned char)text[i]]) i++;
        size_t start = i;
        for (; i < len && !sep[(unsigned char)text[i]]; i++)
            if (text[i] >= 'A' && text[i] <= 'Z') text[i] = (char)(text[i] + ('a' - 'A'));
        if (i > start) {
            int r = fn(text + start, i - start, ctx);
            if (r) return r;
        }
    }
    return 0;
}

/* Word characters as 1 bits (64 bytes to a word of BITS) and the text lower-cased into
 * LOW, in one branch-free pass; then the words are the runs of 1 bits, found with
 * count-trailing-zeros.  A loop that branches on every byte mispredicts at every word
 * boundary: this was ~9 TSC ticks a byte, most of a short cell's encoding time. */
static const unsigned char lower_tab[256] = {
#define L4(x) L1(x), L1(x + 1), L1(x + 2), L1(x + 3)
#define L16(x) L4(x), L4(x + 4), L4(x + 8), L4(x + 12)
#define L1(x) (unsigned char)((x) >= 'A' && (x) <= 'Z' ? (x) + ('a' - 'A') : (x))
    L16(0), L16(16), L16(32), L16(48), L16(64), L16(80), L16(96), L16(112),
    L16(128), L16(144), L16(160), L16(176), L16(192), L16(208), L16(224), L16(240),
#undef L1
#undef L4
#undef L16
};

#if defined(__x86_64__)
/* The same for 64 bytes at once (the first MIN(REM, 64) of T): a separator table
 * lookup on the low 7 bits (bytes >= 0x80 are never separators), a masked add for
 * 'A'..'Z'.  ~1 TSC tick per 64 bytes against ~5 a byte for the scalar loop. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static uint64_t classify64(const char *t, char *low, size_t rem)
{
    __mmask64 valid = rem >= 64 ? ~0ull : (1ull << rem) - 1;
    __m512i v = _mm512_maskz_loadu_epi8(valid, t);
    __m512i s = _mm512_permutex2var_epi8(_mm512_loadu_si512(sep), v, _mm512_loadu_si512(sep + 64));
    __mmask64 is_sep = _mm512_test_epi8_mask(s, s) & ~_mm512_movepi8_mask(v);
    __mmask64 upper = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8('A')), _mm512_set1_epi8('Z' - 'A'));
    _mm512_mask_storeu_epi8(low, valid, _mm512_mask_add_epi8(v, upper, v, _mm512_set1_epi8('a' - 'A')));
    return ~is_sep & valid;
}
#endif

enum { STACK_TEXT = 8192 };

static int split_lower(const char *text, size_t n, token_fn fn, void *ctx)
{
    char stack_low[STACK_TEXT + TOKENIZER_PAD];
    uint64_t stack_bits[STACK_TEXT / 64];
    char *low = stack_low;
    uint64_t *bits = stack_bits;
    size_t nb = (n + 63) / 64;
    if (n > STACK_TEXT) {
        low = malloc(n + TOKENIZER_PAD);
        bits = malloc(nb * sizeof *bits);
        if (!low || !bits) { free(low); free(bits); return -1; }
    }
    size_t b = 0;
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi"))
        for (; b < nb; b++) bits[b] = classify64(text + 64 * b, low + 64 * b, n - 64 * b);
#endif
    for (; b < nb; b++) {
        const unsigned char *t = (const unsigned char *)text + 64 * b;
        size_t end = n - 64 * b < 64 ? n - 64 * b : 64;
        uint64_t m = 0;
        for (size_t j = 0; j < end; j++) {
            low[64 * b + j] = (char)lower_tab[t[j]];
            m |= (uint64_t)(sep[t[j]] ^ 1) << j;
        }
        bits[b] = m; /* bits past N stay 0: the last word ends at N */
    }
    memset(low + n, 0, TOKENIZER_PAD);
    /* Per block, the bits where words start and where they end (last character);
     * they alternate, a word may run on into later blocks (PENDING).  One loop exit a
     * block to mispredict, not one or two a word. */
    int r = 0;
    size_t pending = SIZE_MAX;
    for (size_t k = 0; k < nb && !r; k++) {
        uint64_t w = bits[k], before = k ? bits[k - 1] >> 63 : 0, after = k + 1 < nb ? bits[k + 1] & 1 : 0;
        uint64_t starts = w & ~((w << 1) | before), ends = w & ~((w >> 1) | (after << 63));
        if (pending != SIZE_MAX && ends) {
            size_t e = 64 * k + (size_t)__builtin_ctzll(ends) + 1;
            ends &= ends - 1;
            r = fn(low + pending, e - pending, ctx);
            pending = SIZE_MAX;
        }
        while (starts && !r) {
            size_t st = 64 * k + (size_t)__builtin_ctzll(starts);
            starts &= starts - 1;
            if (!ends) { pending = st; break; }
            size_t e = 64 * k + (size_t)__builtin_ctzll(ends) + 1;
            ends &= ends - 1;
            r = fn(low + st, e - st, ctx);
        }
    }
    if (low != stack_low) { free(low); free(bits); }
    return r;
}

int tokenize_source(const char *src, size_t len, token_fn fn, void *ctx)
{
    if (!memchr(src, '#', len)) return split_lower(src, len, fn, ctx); /* nothing to strip */
    size_t n = len;
    char *text = pysrc_strip_comments(src, len, &n);
    if (!text) return -1;
    int r = split_lower(text, n, fn, ctx);
    free(text);
    return r;
}
