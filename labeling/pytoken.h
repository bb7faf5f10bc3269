/* pytoken.h — what the labeling functions read of a cell's Python source.
 *
 * Owns: turning a cell's source into the views the LFs match against, so that a
 * "# model.fit" comment or a "predict" string votes nothing:
 *   code     the source with comments removed, every string literal reduced to its
 *            quotes ("" or ''), and bare-string statements (code disabled inside a
 *            string, docstrings) removed; IPython magics and shell lines kept as code.
 *            An f-string's replacement fields are code: they follow its quotes, each
 *            in braces (`f"acc {score(y, p):.3f}"` reads `""{score(y, p)}`).
 *   strings  the contents of the string literals that are kept, one per line (file
 *            names such as 'train.csv' live here).
 * and splitting the code view into statements (logical lines, `;` splits) for the
 * built-in LFs that judge a cell statement by statement.
 *
 * In the code view a run of more than PYVIEW_BLANK_RUN blanks (spaces and tabs) keeps
 * only its first PYVIEW_BLANK_RUN.  No rule counts blanks: a deep indentation or a
 * continuation line pushed far right reads as an indented line still.  But a shipped
 * pattern such as `^\s*[\w, ]+=` tries every split of a line's leading spaces between
 * its two quantifiers, time quadratic in the run, which PCRE2's JIT match limit does
 * not bound (a continuation line after 256k spaces held `label` 46 s, 1M some 12 min).
 */
#ifndef NBSTAGE_PYTOKEN_H
#define NBSTAGE_PYTOKEN_H

#include <stddef.h>

/* The longest run of blanks the code view keeps (see above). */
#define PYVIEW_BLANK_RUN 64

struct pyview {
    char *code;
    size_t code_len;
    char *strings;
    size_t strings_len;
    /* Statements of the code view: [start, end) byte ranges, trimmed of white space;
     * INDENT is the column of the first character (0 for top level; at most
     * PYVIEW_BLANK_RUN). */
    struct pystmt { size_t start, end; int indent; } *stmts;
    size_t n_stmts;
};

/* Builds the views of SRC[0..LEN).  Returns 0, or -1 when out of memory (V is then
 * empty and safe to free).  Never fails on malformed Python: an unterminated string
 * or bracket simply runs to the end. */
int pyview_make(struct pyview *v, const char *src, size_t len);
void pyview_free(struct pyview *v);

#endif
