/* ulower.c — str.lower() beyond ASCII, for the tokenizer (see ulower.h). */
#include "model/ulower.h"

#include <stdint.h>

#include "model/ulower_tab.h"

/* The code point at S[*I], and *I past it; an invalid or cut sequence is its first
 * byte alone, as 0xFFFD (neither cased nor case-ignorable, never lowered). */
static uint32_t next_cp(const unsigned char *s, size_t n, size_t *i)
{
    unsigned c = s[*i];
    size_t len = c < 0x80 ? 1 : c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 && c < 0xF0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (len == 1) return ++*i, c;
    if (len == 0 || *i + len > n) return ++*i, 0xFFFD;
    uint32_t cp = c & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
        if ((s[*i + k] & 0xC0) != 0x80) return ++*i, 0xFFFD;
        cp = cp << 6 | (s[*i + k] & 0x3F);
    }
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[len] || (cp >= 0xD800 && cp < 0xE000) || cp > 0x10FFFF) return ++*i, 0xFFFD;
    *i += len;
    return cp;
}

/* The code point that ends just before S[*I], and *I at its start; a byte that is
 * not the end of a valid sequence is 0xFFFD alone. */
static uint32_t prev_cp(const unsigned char *s, size_t *i)
{
    size_t end = *i, start = end - 1;
    while (start > 0 && end - start < 4 && (s[start] & 0xC0) == 0x80) start--;
    size_t j = start;
    uint32_t cp = next_cp(s, end, &j);
    if (j != end) { *i = end - 1; return 0xFFFD; }
    *i = start;
    return cp;
}

static int in_ranges(const uint32_t (*r)[2], size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid][0]) hi = mid;
        else if (cp > r[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

#define COUNT(t) (sizeof t / sizeof t[0])

static int ignorable(uint32_t cp)
{
    if (cp < 0x80) return cp == '\'' || cp == '.' || cp == ':' || cp == '^' || cp == '`';
    return in_ranges(ulower_ignorable, COUNT(ulower_ignorable), cp);
}

static int cased(uint32_t cp) /* of a code point that is not case-ignorable */
{
    if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    return in_ranges(ulower_cased, COUNT(ulower_cased), cp);
}

static uint32_t lower_cp(uint32_t cp)
{
    if (cp < 0x80) return cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp;
    size_t lo = 0, hi = COUNT(ulower_map);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < ulower_map[mid][0]) hi = mid;
        else if (cp > ulower_map[mid][0]) lo = mid + 1;
        else return ulower_map[mid][1];
    }
    return cp;
}

/* Final_Sigma, as CPython's handle_capital_sigma reads it: the Σ that ends at AFTER
 * (and starts at AT) follows a cased letter and is not followed by one, case-ignorable
 * code points skipped both ways. */
static int final_sigma(const unsigned char *s, size_t n, size_t at, size_t after)
{
    uint32_t c = 0;
    size_t j = at;
    int found = 0;
    while (j > 0) {
        c = prev_cp(s, &j);
        if (!ignorable(c)) { found = 1; break; }
    }
    if (!found || !cased(c)) return 0;
    for (j = after; j < n;) {
        c = next_cp(s, n, &j);
        if (!ignorable(c)) return !cased(c);
    }
    return 1;
}

static size_t put_utf8(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) return o[0] = (unsigned char)cp, 1;
    if (cp < 0x800) return o[0] = (unsigned char)(0xC0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 0x3F)), 2;
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12), o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18), o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F)), o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t ulower_word(const char *text, size_t n, size_t a, size_t e, char *out)
{
    const unsigned char *s = (const unsigned char *)text;
    unsigned char *o = (unsigned char *)out;
    size_t len = 0;
    for (size_t i = a; i < e;) {
        size_t at = i;
        uint32_t cp = next_cp(s, e, &i);
        if (cp == 0xFFFD && !(i - at == 3 && s[at] == 0xEF && s[at + 1] == 0xBF && s[at + 2] == 0xBD)) {
            o[len++] = s[at]; /* an invalid byte, kept */
            continue;
        }
        if (cp == 0x130) {
            len += put_utf8('i', o + len);
            len += put_utf8(0x307, o + len);
        } else if (cp == 0x3A3) {
            len += put_utf8(final_sigma(s, n, at, i) ? 0x3C2 : 0x3C3, o + len);
        } else {
            len += put_utf8(lower_cp(cp), o + len);
        }
    }
    return len;
}
