/* jsonbytes.h — the byte-level facts of JSON strings that both byte scanners rely on.
 *
 * Owns: which bytes a string holds as they are (printable ASCII but '"' and '\\'),
 * finding the next byte that needs a look, many at a time, and UTF-8 validity as
 * jansson judges it.  cellscan.c (ingest, summary) and canonscan.c (tag) read notebooks
 * straight from their bytes and must accept exactly what jansson accepts; keeping
 * these checks in one place keeps the two scanners in step.  Header-only: they run
 * once per byte run or per non-ASCII character, inside the scanners' hot loops.
 * And the one escape of a byte the JSON writers need (json_escape_byte).
 */
#ifndef NBSTAGE_JSONBYTES_H
#define NBSTAGE_JSONBYTES_H

#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* 1 for the bytes a JSON string holds without a second look. */
static const unsigned char json_plain[256] = {
#define R8(x) x, x, x, x, x, x, x, x
    R8(0), R8(0), R8(0), R8(0),                 /* 0x00-0x1f: control characters */
    1, 1, 0, 1, 1, 1, 1, 1, R8(1), R8(1), R8(1), /* 0x20-0x3f, '"' = 0x22 */
    R8(1), R8(1), R8(1), 1, 1, 1, 1, 0, 1, 1, 1, /* 0x40-0x5f, '\\' = 0x5c */
    R8(1), R8(1), R8(1), R8(1),                 /* 0x60-0x7f */
#undef R8
};

/* The first byte from P on that is not plain ('"', '\\', a control byte or non-ASCII),
 * or END.  Most of a notebook's bytes are long plain strings (base64 images, outputs),
 * so 16 at a time with SSE2 (every x86-64: a signed "< 0x20" catches the control
 * bytes and, being negative, every byte >= 0x80 too), else the has-a-zero-byte /
 * has-a-byte-below-n tricks 8 at a time; the table finishes the last few. */
static inline const unsigned char *json_skip_plain(const unsigned char *p, const unsigned char *end)
{
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i bad = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
                                                _mm_cmpeq_epi8(x, bslash)),
                                   _mm_cmplt_epi8(x, space));
        int m = _mm_movemask_epi8(bad);
        if (m) return p + __builtin_ctz((unsigned)m);
        p += 16;
    }
#else
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    while (end - p >= 8) {
        uint64_t x, q, b;
        memcpy(&x, p, 8);
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        if ((((q - ones) & ~q) | ((b - ones) & ~b) | ((x - ones * 0x20) & ~x) | x) & highs)
            break; /* one of these 8 (the table finds which) */
        p += 8;
    }
#endif
    while (p < end && json_plain[*p]) p++;
    return p;
}

/* Length of the valid UTF-8 sequence at P (P[0] >= 0x80), 0 when invalid: the checks
 * of jansson's utf8_check_first/utf8_check_full (no overlongs, no surrogates, nothing
 * past U+10FFFF). */
static inline int json_utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], n;
    if (c < 0xc2) return 0;
    else if (c <= 0xdf) n = 2;
    else if (c <= 0xef) n = 3;
    else if (c <= 0xf4) n = 4;
    else return 0;
    if ((size_t)(end - p) < n) return 0;
    for (unsigned i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0;
    if (n == 3) {
        unsigned cp = ((c & 0x0f) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
        if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    } else if (n == 4) {
        unsigned cp = ((c & 0x07) << 18) | ((p[1] & 0x3fu) << 12) | ((p[2] & 0x3fu) << 6) |
                      (p[3] & 0x3fu);
        if (cp < 0x10000 || cp > 0x10ffff) return 0;
    }
    return (int)n;
}

/* The first '"' or '\\' from P on, everything before it checked (no control byte, valid
 * UTF-8), or NULL when a byte is invalid or END comes first: a string's unescaped run. */
static inline const unsigned char *json_scan_unescaped(const unsigned char *p,
                                                       const unsigned char *end)
{
    for (;;) {
        p = json_skip_plain(p, end);
        if (p >= end || *p < 0x20) return NULL;
        if (*p < 0x80) return p; /* '"' or '\\': the only other bytes skip_plain stops at */
        int n = json_utf8_len(p, end);
        if (!n) return NULL;
        p += n;
    }
}

/* The 4 hex digits of a \uXXXX escape at P (before END) as *V; -1 if they are not. */
static inline int json_hex4(const unsigned char *p, const unsigned char *end, unsigned *v)
{
    if (end - p < 4) return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return -1;
        *v = *v * 16 + d;
    }
    return 0;
}

/* Writes at D the escape of byte C: one a JSON string cannot hold as it is ('"', '\\',
 * a control character), as json.dumps writes it (\n \r \t \b \f by name, the others
 * \u00XX), or, where the caller found it is no UTF-8 (C >= 0x80), \udcXX, as Python's
 * surrogateescape reads such a byte.  At most 6 bytes; returns the end.  One escape
 * for the JSON the programs write (ingest's lines, file names in --json outputs). */
static inline char *json_escape_byte(char *d, unsigned c)
{
    static const char hex[] = "0123456789abcdef";
    *d++ = '\\';
    switch (c) {
    case '"': *d++ = '"'; return d;
    case '\\': *d++ = '\\'; return d;
    case '\n': *d++ = 'n'; return d;
    case '\r': *d++ = 'r'; return d;
    case '\t': *d++ = 't'; return d;
    case '\b': *d++ = 'b'; return d;
    case '\f': *d++ = 'f'; return d;
    }
    memcpy(d, c < 0x80 ? "u00" : "udc", 3);
    d += 3;
    *d++ = hex[c >> 4];
    *d++ = hex[c & 15];
    return d;
}

#endif
