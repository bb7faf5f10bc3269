/* litscan.h — which of a fixed set of strings occur in a text, found in one pass.
 *
 * Owns: an Aho–Corasick automaton over strings added once (the rules' required
 * strings, labeling/relit.h), run over each view of a cell before its patterns, so
 * that a pattern none of whose strings occur is answered without PCRE2.  The
 * automaton reads the text with ASCII letters folded to lower case; a string that is
 * not caseless is confirmed byte for byte where it ends.  One pass costs about as
 * much as a few of the patterns it stands in for, whatever the number of strings.
 * Built once, then read-only: threads share it.
 */
#ifndef NBSTAGE_LITSCAN_H
#define NBSTAGE_LITSCAN_H

#include <stddef.h>
#include <stdint.h>

struct litscan;

struct litscan *litscan_new(void);
void litscan_free(struct litscan *ls);

/* The id of S[0..LEN) (LEN >= 1), caseless or not: the same id when the same string
 * is added again.  -1 when out of memory, or after litscan_build. */
int litscan_add(struct litscan *ls, const char *s, size_t len, int caseless);

/* Makes the automaton of every string added; 0, or -1 when out of memory (then
 * litscan_count is 0 and nothing is found). */
int litscan_build(struct litscan *ls);

/* How many strings were added: FOUND arrays hold (count + 63) / 64 words. */
size_t litscan_count(const struct litscan *ls);

/* Sets bit ID of FOUND for each string ID that occurs in TEXT[0..LEN) (the other
 * bits are cleared first). */
void litscan_run(const struct litscan *ls, const char *text, size_t len, uint64_t *found);

/* 1 when any of the strings occurs in TEXT[0..LEN), found at the first one; else 0. */
int litscan_any(const struct litscan *ls, const char *text, size_t len);

static inline int litscan_found(const uint64_t *found, int id)
{
    return (int)(found[id >> 6] >> (id & 63)) & 1;
}

#endif
