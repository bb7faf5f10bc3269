/* tokenizer.h — a cell's source to words, as the study's Keras pipeline split it.
 *
 * Owns: the word-splitting rule.  Comments are stripped (nbformat/pysrc.h), the text
 * is lower-cased, Keras' default filter characters
 *     !"#$%&()*+,-./:;<=>?@[\]^`{|}~\t\n      (Keras' list with '_' taken out)
 * become spaces, and the text is split on ' ' with empty pieces dropped — exactly
 * keras.preprocessing.text.text_to_word_sequence(s, filters=F, lower=True, split=" ").
 * Two differences from Keras: a NUL byte separates (Keras keeps it in the word), and
 * so do "\r", "\v" and "\f", which are not in Keras' list.  Why: a cell saved with
 * Windows line ends ("\r\n") is the same code as one saved with "\n", and must read
 * as the same words; under Keras' split "\r" became a word of its own or the end of
 * the word before it ("x\r"), and such a cell could change stage.  Model files keep
 * Keras' filter string (the check at load is unchanged); these four bytes separate
 * whatever the model, since no model counted words with them inside usefully.
 * Lower-casing is str.lower()'s beyond ASCII too (model/ulower.h: "ВАШ КОД" gives
 * "ваш код", "É" "é", a final "Σ" "ς"), for the words that have a byte >= 0x80;
 * models counted before 2026-11-30 lower-cased ASCII only, and say so in their file
 * (TOKENIZE_ASCII_LOWER below).  In ../shared/corpus that changes the words of 836 of
 * the 138,628 code cells (0.6%, mostly Russian strings and names).
 */
#ifndef NBSTAGE_TOKENIZER_H
#define NBSTAGE_TOKENIZER_H

#include <stddef.h>

/* The filter characters, as stored in model files (the `_`-less Keras default). */
extern const char tokenizer_filter[];

/* Called for each word (lower-cased, not NUL-terminated) in order.  Non-zero stops. */
typedef int (*token_fn)(const char *word, size_t len, void *ctx);

/* 1 when byte C separates words (a filter character, space or NUL). */
int tokenizer_is_separator(unsigned char c);

/* Splits TEXT[0..LEN) in place (it is lower-cased) WITHOUT comment stripping.
 * Returns what FN returned when it stopped, else 0. */
int tokenize_text(char *text, size_t len, token_fn fn, void *ctx);

/* Strips comments from SRC, then splits it as tokenize_text does, without changing SRC
 * and without allocating for texts up to 8 KB.  Each word given to FN is followed by
 * at least TOKENIZER_PAD readable bytes (so a hash may load it 8 bytes at a time).
 * -1 when out of memory. */
#define TOKENIZER_PAD 8
int tokenize_source(const char *src, size_t len, token_fn fn, void *ctx);

/* tokenize_source's words from the last to the first (same bytes, same padding), for a
 * caller that wants only the last ones: it stops when FN returns non-zero, and the text
 * before the words given is never split.  Returns what FN returned, else 0; -1 when out
 * of memory. */
int tokenize_source_reverse(const char *src, size_t len, token_fn fn, void *ctx);
/* The same with tokenize_source_with's FLAGS.  With TOKENIZE_ASSIGN_WORDS the whole text
 * is read once for its assignments (pysrc_assignments, on a copy without its comments
 * when it has any), and the words are still split and given from the last. */
int tokenize_source_reverse_with(const char *src, size_t len, unsigned flags, token_fn fn, void *ctx);

/* Departures from the study's split, chosen per model (the model file records them):
 * TOKENIZE_ASSIGN_WORDS gives the word "=" where a statement assigns (see
 * pysrc_assignments), in its place among the other words: "df = df.dropna()" is
 * "df = df dropna", "x == 1" stays "x 1", "f(a=1)" stays "f a 1".  Why: the study's
 * filter turns '=' into a space, so "df.dropna()" (a look) and "df = df.dropna()" (a
 * kept change, prep) read alike; the labeling guide tells them apart by exactly that.
 * "=" is a filter character, so the word can never come out of the split itself.
 * TOKENIZE_ASCII_LOWER lower-cases ASCII letters only, bytes >= 0x80 kept as they are:
 * the split that models written before 2026-11-30 were counted with (their files lack
 * MF_UNICODE_LOWER), kept so that they read cells as they were trained to.
 * TOKENIZE_PORTABLE is no departure: the same words from the plain byte loop instead of
 * the AVX-512 one (model_load sets it under NBSTAGE_PORTABLE, as it picks the portable
 * inference step; the tests compare the two, on CPUs that have both). */
enum { TOKENIZE_ASSIGN_WORDS = 1, TOKENIZE_ASCII_LOWER = 2, TOKENIZE_PORTABLE = 4 };
int tokenize_source_with(const char *src, size_t len, unsigned flags, token_fn fn, void *ctx);

#endif
