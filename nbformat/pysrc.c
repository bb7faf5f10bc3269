/* pysrc.c — comments and strings in Python source (see pysrc.h). */
#include "nbformat/pysrc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* isalnum in the C locale (the programs never set another), without the call */
static int is_ident(int c)
{
    return (unsigned)((c | 0x20) - 'a') < 26 || (unsigned)(c - '0') < 10 || c == '_' || c >= 0x80;
}

/* Bytes that may begin a string: a quote, or a prefix letter (r, b, u, f).  Any other
 * byte is no string start whatever follows (pysrc_string_start), so the comment
 * stripper asks only at these: it was a call and a strchr per byte of punctuation. */
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

size_t pysrc_skip_string(const char *src, size_t len, size_t i)
{
    char q = src[i];
    int triple = i + 2 < len && src[i + 1] == q && src[i + 2] == q;
    size_t j = i + (triple ? 3 : 1);
    while (j < len) {
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

char *pysrc_strip_comments(const char *src, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1);
    if (!out) return NULL;
    size_t o = 0, i = 0, q;
    while (i < len) {
        char c = src[i];
        if (c == '#') {
            while (i < len && src[i] != '\n') i++;
        } else if (may_start_string((unsigned char)c) && pysrc_string_start(src, len, i, &q)) {
            size_t end = pysrc_skip_string(src, len, q);
            if (end > len) end = len;
            memcpy(out + o, src + i, end - i);
            o += end - i;
            i = end;
        } else if (is_ident((unsigned char)c)) {
            /* copy a whole identifier so a prefix test never splits one */
            while (i < len && is_ident((unsigned char)src[i])) out[o++] = src[i++];
        } else {
            out[o++] = src[i++];
        }
    }
    out[o] = 0;
    if (out_len) *out_len = o;
    return out;
}

size_t pysrc_assignments(const char *src, size_t len, size_t *pos, size_t cap)
{
    size_t n = 0, i = 0, q;
    int depth = 0, line_start = 1;
    while (i < len) {
        unsigned char c = (unsigned char)src[i];
        if (line_start) { /* a statement's first byte: a magic or a shell line? */
            while (i < len && (src[i] == ' ' || src[i] == '\t')) i++;
            line_start = 0;
            if (i < len && (src[i] == '%' || src[i] == '!' || src[i] == '?'))
                while (i < len && src[i] != '\n') i++;
            continue;
        }
        if (c == '\n') {
            line_start = depth == 0; /* inside brackets a line goes on the statement */
            i++;
        } else if (c == '#') {
            while (i < len && src[i] != '\n') i++;
        } else if (may_start_string(c) && pysrc_string_start(src, len, i, &q)) {
            i = pysrc_skip_string(src, len, q);
        } else if (is_ident(c)) {
            while (i < len && is_ident((unsigned char)src[i])) i++;
        } else if (c == '(' || c == '[' || c == '{') {
            depth++, i++;
        } else if (c == ')' || c == ']' || c == '}') {
            if (depth > 0) depth--; /* an unbalanced closer does not hide the rest */
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
        } else {
            i++;
        }
    }
    return n;
}

int pysrc_is_blank(const char *src, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (src[i] == '#') {
            while (i < len && src[i] != '\n') i++;
        } else if (!isspace((unsigned char)src[i])) {
            return 0;
        }
    }
    return 1;
}
