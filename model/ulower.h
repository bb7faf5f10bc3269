/* ulower.h — Python's str.lower() on the words of a UTF-8 text.
 *
 * Owns: lower-casing beyond ASCII, as the study's Keras Tokenizer does it (it calls
 * str.lower() on the whole text before it filters and splits).  One code point
 * lowers to one (1,432 of them: "É" -> "é", "Ж" -> "ж", the Kelvin sign -> "k"),
 * "İ" to two ("i" + U+0307), and "Σ" to "ς" at the end of a word and "σ" elsewhere
 * (Unicode's Final_Sigma rule, which reads the text around it, across separators:
 * "ΑΣ.Β" keeps "σ", as '.' is skipped as case-ignorable).  The tables are read off
 * Python 3.11 by model/ulower_gen.py.  Lower-casing never makes or removes a
 * separator, so it changes what a word holds, never where it is; the tokenizer calls
 * this only for words with a byte >= 0x80, and invalid UTF-8 is copied as it is.
 */
#ifndef NBSTAGE_ULOWER_H
#define NBSTAGE_ULOWER_H

#include <stddef.h>

/* The most bytes ulower_word writes for a word of LEN bytes (a 2-byte code point may
 * lower to 3 bytes). */
#define ULOWER_MAX(len) ((len) / 2 * 3 + 3)

/* Writes TEXT[A..E) lower-cased as str.lower() lowers it inside TEXT[0..N) to OUT
 * (room for ULOWER_MAX(E - A) bytes); returns the length written. */
size_t ulower_word(const char *text, size_t n, size_t a, size_t e, char *out);

#endif
