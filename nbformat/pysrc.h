/* pysrc.h — the lexical minimum about a cell's Python source.
 *
 * Owns: telling comments and string literals apart from code, so that "# model.fit"
 * or "'#'" are read for what they are.  Knows Python's string prefixes (r, b, u, f and
 * pairs), triple quotes and backslash escapes; an unterminated one-line string ends at
 * the newline, as Python's tokenizer would give up there.  IPython magics and shell
 * lines (%, !) are code.  Richer tokenizing for the labeling functions is in
 * labeling/pytoken.h.
 */
#ifndef NBSTAGE_PYSRC_H
#define NBSTAGE_PYSRC_H

#include <stddef.h>

/* A copy of SRC[0..LEN) with every '#' comment removed (newlines kept), NUL-terminated;
 * its length in *OUT_LEN when not NULL.  NULL only when out of memory. */
char *pysrc_strip_comments(const char *src, size_t len, size_t *out_len);

/* Where SRC's '#' comments are: comment k is SRC[POS[2k] .. POS[2k+1]), from its '#' to
 * just before the '\n' or '\r' that ends it (or LEN).  Writes the first CAP comments, in
 * order, to POS (2 * CAP entries) and returns how many there are (possibly more than
 * CAP).  pysrc_strip_comments removes exactly these ranges.  Why both: the tokenizer
 * reads the words around the comments in place instead of from a stripped copy. */
size_t pysrc_comments(const char *src, size_t len, size_t *pos, size_t cap);

/* The length of the white space character Python's str.isspace() sees at SRC (N
 * bytes, UTF-8: U+3000 and U+00A0 too), or 0. */
size_t pysrc_space_len(const char *src, size_t n);

/* 1 when SRC has nothing but white space (Python's: U+3000 and U+00A0 too) and comments
 * (the pipeline drops such cells, and the kernel and tag give them no stage). */
int pysrc_is_blank(const char *src, size_t len);

/* 1 when S[I] (of LEN bytes) ends a line: a '\n', or a '\r' not before one (an old Mac
 * line end, which Python reads as one; in "\r\n" the '\n' ends it). */
static inline int pysrc_ends_line(const char *s, size_t i, size_t len)
{
    return s[i] == '\n' || (s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n'));
}

/* Where SRC assigns at statement level: the offsets of the '=' of every assignment
 * outside strings, comments and brackets (so not a keyword argument or a def's default;
 * a top-level lambda's default, `f = lambda x, y=2: x`, is counted: no bracket holds it),
 * augmented ones included ("+=", "<<=": the offset of their '='), comparisons
 * ("==", "!=", "<=", ">=") not.  A line that is an IPython magic or shell escape (first
 * non-blank byte %, ! or ?, outside brackets) has none.  Writes the first CAP offsets,
 * in order, to POS and returns how many there are (possibly more than CAP).  Used by
 * the tokenizer's assignment words (model/tokenizer.h). */
size_t pysrc_assignments(const char *src, size_t len, size_t *pos, size_t cap);

/* Where SRC's top-level statements start: the offset of each line of code at column 0
 * outside strings and brackets that begins a statement of its own (not else, elif,
 * except or finally, not the def or class under a decorator, which go with the lines
 * before them).  Block k is SRC[POS[k] .. POS[k+1]) (the last to LEN); whatever comes
 * before the first statement (comments, blank lines, an indented line, an else) goes
 * with it (its offset is 0), so the blocks cover SRC.  A cell that
 * starts with a cell magic (%%time, %%writefile) is one body and has no blocks (0).
 * Writes the first CAP offsets to POS and returns how many there are (possibly more
 * than CAP).  Used by `nbstage label --statements` (labeling/cellread.c). */
size_t pysrc_blocks(const char *src, size_t len, size_t *pos, size_t cap);

/* Index just past the string literal whose opening quote is at SRC[I] (after any
 * prefix).  Used by both functions above and by labeling/pytoken.c. */
size_t pysrc_skip_string(const char *src, size_t len, size_t i);

/* 1 when SRC[I] starts a string literal, possibly with a prefix such as rb or f; sets
 * *QUOTE to the index of the opening quote.  PREV is the character before I (or 0). */
int pysrc_string_start(const char *src, size_t len, size_t i, size_t *quote);

#endif
