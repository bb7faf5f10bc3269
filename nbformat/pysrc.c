/* pysrc.c — comments and strings in Python source (see pysrc.h). */
#include "nbformat/pysrc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* isalnum in the C locale (the programs never set another), without the call */
static int is_ident(int c)
{
    return (unsigned)((c | 0x20) - 'a') < 26 || (unsigned)(c - '0') < 10 || c == '_' || c >= 0x80;
}

/* Bytes that may begin a string: a quote, or a prefix letter (r, b, u, f).  Any other
 * byte is no string start whatever follows (pysrc_string_start), so
 * pysrc_assignments asks only at these: it was a call and a strchr per byte. */
static int may_start_string(unsigned char c)
{
    switch (c) {
    case '"': case '\'': case 'r': case 'R': case 'b': case 'B': case 'u': case 'U': case 'f': case 'F':
        return 1;
    default:
        return 0;
    }
}

int pysrc_string_start(const char *src, size_t len, size_t i, size_t *quote)
{
    /* A prefix is only a prefix at the start of a token: "rb'x'" but not "foo'x'". */
    if (i > 0 && is_ident((unsigned char)src[i - 1])) {
        if (src[i] == '"' || src[i] == '\'') { *quote = i; return 1; }
        return 0;
    }
    size_t j = i;
    while (j < len && j - i < 2 && strchr("rRbBuUfF", src[j]) && src[j]) j++;
    if (j < len && (src[j] == '"' || src[j] == '\'')) { *quote = j; return 1; }
    if (src[i] == '"' || src[i] == '\'') { *quote = i; return 1; }
    return 0;
}

/* The first index from I on where SRC holds A, B or C, or LEN.  Comments and strings
 * are found by their few special bytes, 16 at a time with SSE2 (every x86-64): the
 * byte-by-byte state machine before was most of a cell's tokenizing time. */
static size_t find3(const char *src, size_t i, size_t len, char a, char b, char c)
{
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b), vc = _mm_set1_epi8(c);
    for (; i + 16 <= len; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)),
                                   _mm_cmpeq_epi8(x, vc));
        int m = _mm_movemask_epi8(hit);
        if (m) return i + (size_t)__builtin_ctz((unsigned)m);
    }
#endif
    while (i < len && src[i] != a && src[i] != b && src[i] != c) i++;
    return i;
}

size_t pysrc_skip_string(const char *src, size_t len, size_t i)
{
    char q = src[i];
    int triple = i + 2 < len && src[i + 1] == q && src[i + 2] == q;
    size_t j = i + (triple ? 3 : 1);
    while (j < len) {
        /* only a quote, a backslash and (one-line strings) a newline matter */
        j = find3(src, j, len, q, '\\', triple ? q : '\n');
        if (j >= len) break;
        char c = src[j];
        if (c == '\\') { j += 2; continue; }   /* escapes the quote even in raw strings */
        if (!triple && c == '\n') return j;     /* unterminated: stop at end of line */
        if (c == q) {
            if (!triple) return j + 1;
            if (j + 2 < len && src[j + 1] == q && src[j + 2] == q) return j + 3;
        }
        j++;
    }
    return len;
}

/* The end of the line at I: its '\n' or '\r' (an old Mac line end, which Python
 * reads as one: `# load\rdf = 1` is a comment and a statement), or LEN. */
static size_t line_end(const char *src, size_t i, size_t len)
{
    /* memchr twice, the second within the line: comment stripping is on every cell's path */
    const char *nl = memchr(src + i, '\n', len - i);
    size_t end = nl ? (size_t)(nl - src) : len;
    const char *cr = memchr(src + i, '\r', end - i);
    return cr ? (size_t)(cr - src) : end;
}

/* The next comment from *I on: 1 with it in [*A, *B) (and *I = *B), 0 when none is
 * left.  Outside comments and strings every quote opens a string: a prefix (rb, f, ...)
 * decides where the string token starts, never where it ends nor whether a '#' is in
 * it, so prefix letters need no look here (the stripper before copied them with their
 * string or as identifiers: the same bytes kept). */
static int next_comment(const char *src, size_t len, size_t *i, size_t *a, size_t *b)
{
    size_t j = *i;
    for (;;) {
        j = find3(src, j, len, '#', '"', '\'');
        if (j >= len) {
            *i = len;
            return 0;
        }
        if (src[j] == '#') {
            *a = j;
            *i = *b = line_end(src, j, len);
            return 1;
        }
        j = pysrc_skip_string(src, len, j);
    }
}

size_t pysrc_comments(const char *src, size_t len, size_t *pos, size_t cap)
{
    size_t n = 0, i = 0, a, b;
    while (next_comment(src, len, &i, &a, &b)) {
        if (n < cap) {
            pos[2 * n] = a;
            pos[2 * n + 1] = b;
        }
        n++;
    }
    return n;
}

char *pysrc_strip_comments(const char *src, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1);
    if (!out) return NULL;
    size_t o = 0, i = 0, a, b, from = 0;
    while (next_comment(src, len, &i, &a, &b)) {
        memcpy(out + o, src + from, a - from);
        o += a - from;
        from = b;
    }
    memcpy(out + o, src + from, len - from);
    o += len - from;
    out[o] = 0;
    if (out_len) *out_len = o;
    return out;
}

/* Index past the comment, string literal, name or single byte at I (not a newline),
 * keeping the bracket DEPTH: the statement scanners' step over what is not their
 * business. */
static size_t skip_code(const char *src, size_t len, size_t i, int *depth)
{
    unsigned char c = (unsigned char)src[i];
    size_t q;
    if (c == '#') {
        i = line_end(src, i, len);
    } else if (may_start_string(c) && pysrc_string_start(src, len, i, &q)) {
        i = pysrc_skip_string(src, len, q);
    } else if (is_ident(c)) {
        while (i < len && is_ident((unsigned char)src[i])) i++;
    } else {
        if (c == '(' || c == '[' || c == '{') (*depth)++;
        else if ((c == ')' || c == ']' || c == '}') && *depth > 0) (*depth)--; /* an unbalanced closer does not hide the rest */
        i++;
    }
    return i;
}

/* 1 for the bytes pysrc_assignments must look at: a newline, '=', a comment, a quote,
 * a bracket.  Every other byte (names, prefix letters, spaces, operators) is passed
 * over: a quote opens a string wherever it is (a prefix decides where the string token
 * begins, never where it ends), and no '=' is inside a name. */
static int assign_stop(unsigned char c)
{
    switch (c) {
    case '\n': case '=': case '#': case '"': case '\'':
    case '(': case '[': case '{': case ')': case ']': case '}':
        return 1;
    default:
        return 0;
    }
}

/* The first index from I on of a byte assign_stop takes, or LEN; 16 bytes at a time
 * with SSE2 (the byte loop before took most of a cell's encoding with "=" words). */
static size_t find_assign_stop(const char *src, size_t i, size_t len)
{
#if defined(__SSE2__)
    /* ( ) and " # differ in their last bit; [ ] and { } differ from each other by 0x20 */
    const __m128i fe = _mm_set1_epi8((char)0xFE), x20 = _mm_set1_epi8(0x20);
    const __m128i paren = _mm_set1_epi8('('), quote2 = _mm_set1_epi8('"'), quote1 = _mm_set1_epi8('\'');
    const __m128i curly_open = _mm_set1_epi8('{'), curly_close = _mm_set1_epi8('}');
    const __m128i eq = _mm_set1_epi8('='), nl = _mm_set1_epi8('\n');
    for (; i + 16 <= len; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(src + i));
        __m128i even = _mm_and_si128(x, fe), low = _mm_or_si128(x, x20);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(even, paren), _mm_cmpeq_epi8(even, quote2)),
                                   _mm_or_si128(_mm_cmpeq_epi8(low, curly_open), _mm_cmpeq_epi8(low, curly_close)));
        hit = _mm_or_si128(hit, _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote1), _mm_cmpeq_epi8(x, eq)),
                                             _mm_cmpeq_epi8(x, nl)));
        int m = _mm_movemask_epi8(hit);
        if (m) return i + (size_t)__builtin_ctz((unsigned)m);
    }
#endif
    while (i < len && !assign_stop((unsigned char)src[i])) i++;
    return i;
}

size_t pysrc_assignments(const char *src, size_t len, size_t *pos, size_t cap)
{
    size_t n = 0, i = 0;
    int depth = 0, line_start = 1;
    while (i < len) {
        if (line_start) { /* a statement's first byte: a magic or a shell line? */
            while (i < len && (src[i] == ' ' || src[i] == '\t')) i++;
            line_start = 0;
            if (i < len && (src[i] == '%' || src[i] == '!' || src[i] == '?'))
                i = line_end(src, i, len);
            continue;
        }
        i = find_assign_stop(src, i, len);
        if (i >= len) break;
        char c = src[i];
        if (c == '\n') {
            line_start = depth == 0; /* inside brackets a line goes on the statement */
            i++;
        } else if (c == '=') {
            if (i + 1 < len && src[i + 1] == '=') { i += 2; continue; } /* == */
            char p = i ? src[i - 1] : 0;
            /* "<=", ">=" and "!=" compare; "<<=" and ">>=" assign */
            int compare = p == '!' || ((p == '<' || p == '>') && !(i >= 2 && src[i - 2] == p));
            if (!compare && depth == 0) {
                if (n < cap) pos[n] = i;
                n++;
            }
            i++;
        } else if (c == '"' || c == '\'') {
            i = pysrc_skip_string(src, len, i);
        } else {
            i = skip_code(src, len, i, &depth); /* a comment or a bracket */
        }
    }
    return n;
}

/* The length of the white space character Python's str.isspace() sees at S (UTF-8),
 * or 0: C's six, the separators 0x1c-0x1f, and U+0085, U+00A0, U+1680, U+2000-U+200A,
 * U+2028, U+2029, U+202F, U+205F, U+3000.  IPython runs nothing for a cell that is
 * all such white space (a full-width space typed into an empty cell), so it has no
 * stage to tag, and ipykernel gives it no execution count. */
size_t pysrc_space_len(const char *src, size_t n)
{
    const unsigned char *s = (const unsigned char *)src;
    if (isspace(s[0]) || (s[0] >= 0x1c && s[0] <= 0x1f)) return 1;
    if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0)) return 2;
    if (n < 3) return 0;
    unsigned cp = (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu);
    if ((s[0] & 0xf0) != 0xe0 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) return 0;
    return cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f ||
                   cp == 0x205f || cp == 0x3000
               ? 3
               : 0;
}

int pysrc_is_blank(const char *src, size_t len)
{
    const unsigned char *s = (const unsigned char *)src;
    for (size_t i = 0; i < len;) {
        size_t w;
        if (s[i] == '#') {
            i = line_end(src, i, len);
        } else if ((w = pysrc_space_len(src + i, len - i))) {
            i += w;
        } else {
            return 0;
        }
    }
    return 1;
}

/* 1 when the line at I (its first non-blank byte) goes on the compound statement
 * before it: else, elif, except, finally (and case of a match). */
static int continues_compound(const char *src, size_t len, size_t i)
{
    static const char *const kw[] = {"else", "elif", "except", "finally"};
    for (size_t k = 0; k < sizeof kw / sizeof kw[0]; k++) {
        size_t n = strlen(kw[k]);
        if (i + n <= len && memcmp(src + i, kw[k], n) == 0 && (i + n == len || !is_ident((unsigned char)src[i + n])))
            return 1;
    }
    return 0;
}

size_t pysrc_blocks(const char *src, size_t len, size_t *pos, size_t cap)
{
    size_t n = 0, i = 0;
    int depth = 0, line_start = 1, decorated = 0, first = 1;
    while (i < len) {
        unsigned char c = (unsigned char)src[i];
        if (line_start) {
            line_start = 0;
            size_t j = i;
            while (j < len && (src[j] == ' ' || src[j] == '\t')) j++;
            if (j == len || src[j] == '\n' || src[j] == '\r' || src[j] == '#') continue; /* blank or comment */
            if (first && j + 1 < len && src[j] == '%' && src[j + 1] == '%') return 0; /* a cell magic owns the cell */
            /* a top-level line of code starts a block, unless it goes on the one before */
            if (j == i && !decorated && !continues_compound(src, len, j)) {
                /* what comes before the first (comments, an indented line, an else with
                 * nothing to go on) goes with it: the blocks cover the cell */
                if (n < cap) pos[n] = n == 0 ? 0 : i;
                n++;
            }
            first = 0;
            decorated = j == i && src[j] == '@';
            if (src[j] == '%' || src[j] == '!' || src[j] == '?') /* magic or shell: to the line's end */
                j = line_end(src, j, len);
            i = j;
            continue;
        }
        if (c == '\n') {
            /* inside brackets, or after a backslash, a line goes on the statement */
            line_start = depth == 0 && !(i > 0 && src[i - 1] == '\\');
            i++;
        } else {
            i = skip_code(src, len, i, &depth);
        }
    }
    return n;
}
