/* nbinternal.h — what the parts of the notebook library share, and nobody else.
 *
 * Owns: nothing by itself; declares the helpers that nbread.c, nblines.c and nbv3.c
 * use across files.  Users of the library include notebook.h only.
 */
#ifndef NBSTAGE_NBINTERNAL_H
#define NBSTAGE_NBINTERNAL_H

#include "nbformat/notebook.h"

/* Fills ERR (when not NULL) printf-style. */
void nb_set_error(nb_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A string, or a list of strings joined (non-strings skipped); "" for anything else.
 * malloc'd and NUL-terminated (the text itself may hold NULs: see *LEN).  NULL only
 * when out of memory. */
char *nb_join_text(const json_t *v, size_t *len);

/* Length of the line break at S[I] as Python's str.splitlines sees it (\n, \r, \r\n,
 * \v, \f, \x1c-\x1e, U+0085, U+2028, U+2029 in UTF-8), 0 when there is none. */
size_t nb_line_break_len(const unsigned char *s, size_t n, size_t i);

/* Python's repr(float) of X, as the canonical writer prints reals (nbwrite.c); also
 * used by canonscan.c to tell a canonical real from another spelling. */
void nb_float_repr(double x, char *out, size_t outsz);

/* nbformat.v4.convert.upgrade from 3, in place (see nbv3.c). */
int nb_upgrade_v3(json_t *nb, const char *name, nb_error *err);

#endif
