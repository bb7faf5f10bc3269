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
 */
#ifndef NBSTAGE_PYTOKEN_H
#define NBSTAGE_PYTOKEN_H

#include <stddef.h>

struct pyview {
    char *code;
    size_t code_len;
    char *strings;
    size_t strings_len;
    /* Statements of the code view: [start, end) byte ranges, trimmed of white space;
     * INDENT is the column of the first character (0 for top level). */
    struct pystmt { size_t start, end; int indent; } *stmts;
    size_t n_stmts;
};

/* Builds the views of SRC[0..LEN).  Returns 0, or -1 when out of memory (V is then
 * empty and safe to free).  Never fails on malformed Python: an unterminated string
 * or bracket simply runs to the end. */
int pyview_make(struct pyview *v, const char *src, size_t len);
void pyview_free(struct pyview *v);

#endif
