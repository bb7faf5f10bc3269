/* tokenizer.c — Keras' text_to_word_sequence on comment-stripped source (see tokenizer.h). */
#include "model/tokenizer.h"

#include <stdlib.h>
#include <string.h>

#include "nbformat/pysrc.h"

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

int tokenize_source(const char *src, size_t len, token_fn fn, void *ctx)
{
    size_t n = len;
    char *text;
    if (memchr(src, '#', len)) {
        text = pysrc_strip_comments(src, len, &n);
    } else {
        /* No '#': nothing to strip, and the lexer is most of a short cell's cost. */
        text = malloc(len + 1);
        if (text) memcpy(text, src, len);
    }
    if (!text) return -1;
    int r = tokenize_text(text, n, fn, ctx);
    free(text);
    return r;
}
