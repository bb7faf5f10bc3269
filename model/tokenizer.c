/* tokenizer.c — Keras' text_to_word_sequence on comment-stripped source (see tokenizer.h). */
#include "model/tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/ulower.h"
#include "nbformat/pysrc.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

const char tokenizer_filter[] = "!\"#$%&()*+,-./:;<=>?@[\\]^`{|}~\t\n";

/* 1 = separator: the filter characters, the split character ' ', NUL, and the other
 * ASCII white space ('\r', '\v', '\f'; tokenizer.h says why).  Kept in step with
 * tokenizer_filter by test_tokenizer. */
static const unsigned char sep[256] = {
    [0] = 1, [' '] = 1, ['!'] = 1, ['"'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1,
    ['('] = 1, [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1,
    [':'] = 1, [';'] = 1, ['<'] = 1, ['='] = 1, ['>'] = 1, ['?'] = 1, ['@'] = 1, ['['] = 1,
    ['\\'] = 1, [']'] = 1, ['^'] = 1, ['`'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1,
    ['\t'] = 1, ['\n'] = 1, ['\r'] = 1, ['\v'] = 1, ['\f'] = 1,
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
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static uint64_t classify64(const char *t, char *low, size_t rem, uint64_t *high)
{
    __mmask64 valid = rem >= 64 ? ~0ull : (1ull << rem) - 1;
    __m512i v = _mm512_maskz_loadu_epi8(valid, t);
    __m512i s = _mm512_permutex2var_epi8(_mm512_loadu_si512(sep), v, _mm512_loadu_si512(sep + 64));
    __mmask64 is_sep = _mm512_test_epi8_mask(s, s) & ~_mm512_movepi8_mask(v);
    __mmask64 upper = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8('A')), _mm512_set1_epi8('Z' - 'A'));
    _mm512_mask_storeu_epi8(low, valid, _mm512_mask_add_epi8(v, upper, v, _mm512_set1_epi8('a' - 'A')));
    *high = _mm512_movepi8_mask(v) & valid;
    return ~is_sep & valid;
}
#endif

enum { STACK_TEXT = 8192 };

/* Block B of TEXT[0..N) (bytes 64B .. 64B+63): its word characters as 1 bits, its
 * bytes lower-cased into LOW + 64B, and its bytes >= 0x80 as 1 bits in *HIGH. */
static uint64_t classify_block(const char *text, char *low, size_t n, size_t b, int simd, uint64_t *high)
{
#if defined(__x86_64__)
    if (simd) return classify64(text + 64 * b, low + 64 * b, n - 64 * b, high);
#else
    (void)simd;
#endif
    const unsigned char *t = (const unsigned char *)text + 64 * b;
    size_t end = n - 64 * b < 64 ? n - 64 * b : 64;
    uint64_t m = 0, h = 0;
    for (size_t j = 0; j < end; j++) {
        low[64 * b + j] = (char)lower_tab[t[j]];
        m |= (uint64_t)(sep[t[j]] ^ 1) << j;
        h |= (uint64_t)(t[j] >> 7) << j;
    }
    *high = h;
    return m; /* bits past N stay 0: the last word ends at N */
}

/* FLAGS' TOKENIZE_PORTABLE asks for the byte loop (NBSTAGE_PORTABLE: tests compare the two). */
static int have_simd(unsigned flags)
{
    if (flags & TOKENIZE_PORTABLE) return 0;
#if defined(__x86_64__)
    return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi");
#else
    return 0;
#endif
}

/* 1 when the word TEXT[0..N) has a byte >= 0x80: only then may it need ulower_word. */
static int has_high(const char *text, size_t n)
{
    uint64_t acc = 0, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) memcpy(&w, text + i, 8), acc |= w;
    for (; i < n; i++) acc |= (unsigned char)text[i];
    return (acc & 0x8080808080808080ull) != 0;
}

/* Gives FN the word TEXT[A..E), whose lower-cased bytes are LOW + A; when UNI and the
 * word has a byte >= 0x80, lower-cased as str.lower() does it (ulower.h) instead, in
 * a buffer padded as every word given to a token_fn is. */
static int give(const char *text, size_t n, const char *low, size_t a, size_t e, int uni, token_fn fn, void *ctx)
{
    if (!uni || !has_high(text + a, e - a)) return fn(low + a, e - a, ctx);
    char stack[256 + TOKENIZER_PAD], *buf = stack;
    if (ULOWER_MAX(e - a) > 256 && !(buf = malloc(ULOWER_MAX(e - a) + TOKENIZER_PAD))) return -1;
    size_t len = ulower_word(text, n, a, e, buf);
    memset(buf + len, 0, TOKENIZER_PAD);
    int r = fn(buf, len, ctx);
    if (buf != stack) free(buf);
    return r;
}

/* The assignment word, padded as every word given to a token_fn is. */
static const char assign_word[1 + TOKENIZER_PAD] = "=";

/* Gives FN the assignment word for each of MARKS[*AT..N) before offset BEFORE. */
static int emit_marks(const size_t *marks, size_t n, size_t *at, size_t before, token_fn fn, void *ctx)
{
    int r = 0;
    while (!r && *at < n && marks[*at] < before) r = fn(assign_word, 1, ctx), ++*at;
    return r;
}

/* Splits TEXT[0..N) and gives FN its words (lowered beyond ASCII when UNI_OK); and, when
 * N_MARKS > 0, the assignment word at each offset of MARKS (ascending, each a separator
 * byte) among them. */
static int split_lower(const char *text, size_t n, const size_t *marks, size_t n_marks, unsigned flags, token_fn fn, void *ctx)
{
    int uni_ok = !(flags & TOKENIZE_ASCII_LOWER);
    size_t at = 0;
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
    int simd = have_simd(flags);
    uint64_t high, any_high = 0;
    for (size_t b = 0; b < nb; b++) bits[b] = classify_block(text, low, n, b, simd, &high), any_high |= high;
    int uni = uni_ok && any_high;
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
            r = n_marks ? emit_marks(marks, n_marks, &at, pending, fn, ctx) : 0;
            if (!r) r = give(text, n, low, pending, e, uni, fn, ctx);
            pending = SIZE_MAX;
        }
        while (starts && !r) {
            size_t st = 64 * k + (size_t)__builtin_ctzll(starts);
            starts &= starts - 1;
            if (!ends) { pending = st; break; }
            size_t e = 64 * k + (size_t)__builtin_ctzll(ends) + 1;
            ends &= ends - 1;
            r = n_marks ? emit_marks(marks, n_marks, &at, st, fn, ctx) : 0;
            if (!r) r = give(text, n, low, st, e, uni, fn, ctx);
        }
    }
    if (!r && n_marks) r = emit_marks(marks, n_marks, &at, SIZE_MAX, fn, ctx);
    if (low != stack_low) { free(low); free(bits); }
    return r;
}

/* A cell's source as the splits read it: without its comments (a copy, when it has
 * any) and, when asked for, the offsets of its assignments in that text (for the
 * assignment words; none to look for without an '='). */
struct marked_text {
    const char *text;
    size_t n;
    char *stripped;
    size_t stack_marks[64], *marks, n_marks;
};

static int marked_text_open(const char *src, size_t len, int want_marks, struct marked_text *t)
{
    t->text = src;
    t->n = len;
    t->stripped = NULL;
    t->marks = t->stack_marks;
    t->n_marks = 0;
    if (memchr(src, '#', len)) { /* else nothing to strip */
        if (!(t->stripped = pysrc_strip_comments(src, len, &t->n))) return -1;
        t->text = t->stripped;
    }
    if (want_marks && memchr(t->text, '=', t->n))
        t->n_marks = pysrc_assignments(t->text, t->n, t->stack_marks, 64);
    if (t->n_marks > 64) {
        if (!(t->marks = malloc(t->n_marks * sizeof *t->marks))) {
            free(t->stripped);
            return -1;
        }
        pysrc_assignments(t->text, t->n, t->marks, t->n_marks);
    }
    return 0;
}

static void marked_text_close(struct marked_text *t)
{
    if (t->marks != t->stack_marks) free(t->marks);
    free(t->stripped);
}

int tokenize_source_with(const char *src, size_t len, unsigned flags, token_fn fn, void *ctx)
{
    struct marked_text t;
    if (marked_text_open(src, len, flags & TOKENIZE_ASSIGN_WORDS, &t)) return -1;
    int r = split_lower(t.text, t.n, t.marks, t.n_marks, flags, fn, ctx);
    marked_text_close(&t);
    return r;
}

int tokenize_source(const char *src, size_t len, token_fn fn, void *ctx)
{
    return tokenize_source_with(src, len, 0, fn, ctx);
}

/* Bits A .. B-1 of a block (0 <= A <= B <= 64). */
static uint64_t bit_range(size_t a, size_t b)
{
    uint64_t below_b = b >= 64 ? ~0ull : (1ull << b) - 1;
    return below_b & ~((1ull << a) - 1);
}

enum { STACK_COMMENTS = 32 };

/* Gives FN, reading backwards, the assignment words of MARKS[0 .. *LEFT) after offset A
 * (marks are separators, so none lies inside the word), then the word TEXT[A..E). */
static int give_after_marks(const char *text, size_t n, const char *low, size_t a, size_t e, int uni,
                            const size_t *marks, size_t *left, token_fn fn, void *ctx)
{
    while (*left && marks[*left - 1] > a) {
        --*left;
        int r = fn(assign_word, 1, ctx);
        if (r) return r;
    }
    return give(text, n, low, a, e, uni, fn, ctx);
}

/* The backward split of SRC, its comments at POS (NC of them, as pysrc_comments gives
 * them), with the assignment words at MARKS (N_MARKS, ascending) among its words.
 * The blocks are read from the last one down, so a caller that stops early (the
 * encoder, once it has its last SEQ_LEN words) never lower-cases or splits the rest.
 * Comments are not cut out of a copy: their bytes count as separators, which gives
 * the same words, as a comment runs from a '#' to just before a newline or the end,
 * and '#' and the newline are separators themselves.  Words across blocks: PENDING
 * is the end of a word that reaches down to the bottom of the block read before. */
static int split_reverse(const char *src, size_t len, unsigned flags, const size_t *pos, size_t nc,
                         const size_t *marks, size_t n_marks, token_fn fn, void *ctx)
{
    /* UNI: a byte >= 0x80 in the blocks read so far, which hold every word given so far
     * (each lies in the block being read and the ones above it) */
    int uni_ok = !(flags & TOKENIZE_ASCII_LOWER), uni = 0;
    size_t left = n_marks; /* marks [0, left) not given yet */
    char stack_low[STACK_TEXT + TOKENIZER_PAD], *low = stack_low;
    if (len > STACK_TEXT && !(low = malloc(len + TOKENIZER_PAD))) return -1;
    memset(low + len, 0, TOKENIZER_PAD);
    int simd = have_simd(flags), r = 0;
    size_t ci = nc, pending = 0; /* comments [0, ci) may reach the blocks left */
    for (size_t k = (len + 63) / 64; k-- > 0 && !r;) {
        size_t base = 64 * k;
        uint64_t high, w = classify_block(src, low, len, k, simd, &high);
        uni |= uni_ok && high;
        while (ci && pos[2 * (ci - 1)] >= base + 64) ci--;
        for (size_t c = ci; c-- > 0 && pos[2 * c + 1] > base;) {
            size_t a = pos[2 * c], e = pos[2 * c + 1];
            w &= ~bit_range(a > base ? a - base : 0, e - base < 64 ? e - base : 64);
        }
        if (pending) {
            if (!(w >> 63)) { /* the word began at this block's end */
                r = give_after_marks(src, len, low, base + 64, pending, uni, marks, &left, fn, ctx);
            } else {
                if (!~w) continue; /* the whole block is in the word */
                size_t z = 63 - (size_t)__builtin_clzll(~w); /* the space before it */
                r = give_after_marks(src, len, low, base + z + 1, pending, uni, marks, &left, fn, ctx);
                w &= (1ull << z) - 1;
            }
            pending = 0;
        }
        while (w && !r) { /* the words from the top, each the run below its top bit */
            size_t top = 63 - (size_t)__builtin_clzll(w), end = base + top + 1;
            uint64_t gaps = ~w & bit_range(0, top);
            if (!gaps) { /* down to bit 0: it may go on in the block below */
                if (k) pending = end;
                else r = give_after_marks(src, len, low, 0, end, uni, marks, &left, fn, ctx);
                break;
            }
            size_t z = 63 - (size_t)__builtin_clzll(gaps);
            r = give_after_marks(src, len, low, base + z + 1, end, uni, marks, &left, fn, ctx);
            w &= (1ull << z) - 1;
        }
    }
    if (!r && pending) r = give_after_marks(src, len, low, 0, pending, uni, marks, &left, fn, ctx);
    while (!r && left) left--, r = fn(assign_word, 1, ctx); /* before the first word */
    if (low != stack_low) free(low);
    return r;
}

/* With the assignment words the marks are where the forward split finds them: in the
 * text without its comments, which is then split backwards as it is (it has no
 * comment left). */
static int reverse_with_marks(const char *src, size_t len, unsigned flags, token_fn fn, void *ctx)
{
    struct marked_text t;
    if (marked_text_open(src, len, 1, &t)) return -1;
    int r = split_reverse(t.text, t.n, flags, NULL, 0, t.marks, t.n_marks, fn, ctx);
    marked_text_close(&t);
    return r;
}

int tokenize_source_reverse_with(const char *src, size_t len, unsigned flags, token_fn fn, void *ctx)
{
    if (flags & TOKENIZE_ASSIGN_WORDS) return reverse_with_marks(src, len, flags, fn, ctx);
    size_t stack_pos[2 * STACK_COMMENTS], *pos = stack_pos, nc = 0;
    if (memchr(src, '#', len)) { /* else no comment */
        nc = pysrc_comments(src, len, pos, STACK_COMMENTS);
        if (nc > STACK_COMMENTS) {
            if (!(pos = malloc(2 * nc * sizeof *pos))) return -1;
            pysrc_comments(src, len, pos, nc);
        }
    }
    int r = split_reverse(src, len, flags, pos, nc, NULL, 0, fn, ctx);
    if (pos != stack_pos) free(pos);
    return r;
}

int tokenize_source_reverse(const char *src, size_t len, token_fn fn, void *ctx)
{
    return tokenize_source_reverse_with(src, len, 0, fn, ctx);
}
