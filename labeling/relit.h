/* relit.h — the strings a pattern cannot match without.
 *
 * Owns: reading a PCRE2 pattern, as labeling/rules.c compiles it (PCRE2_MULTILINE
 * only: no PCRE2_EXTENDED, no UTF, so a pattern's bytes are its code units and only
 * ASCII letters have case), for a set of strings at least one of which occurs in
 * every subject the pattern matches.  A subject that holds none of them cannot match:
 * the rules' prefilter (labeling/litscan.h) answers it without running PCRE2, which
 * is most of what `nbstage label` spends.
 *
 * Sound by construction, not by heuristics: a literal run is cut wherever the pattern
 * could put anything else (an optional or repeated item, a class, an assertion, a
 * group), a group's strings are kept only when it cannot be skipped, an alternation's
 * are the union of its branches' and exist only when every branch has some, and any
 * syntax this reader does not model (callouts, recursion, conditionals, verbs, \x,
 * \p, a brace that is no quantifier, PCRE2_EXTENDED turned on inside) gives the empty
 * set: the pattern is then always run.  Under (?i) a string is compared ignoring ASCII
 * case from there to the end of the pattern, a superset of where PCRE2 ignores it.
 * tests/unit/test_relit.c checks it against PCRE2 on random patterns and subjects.
 */
#ifndef NBSTAGE_RELIT_H
#define NBSTAGE_RELIT_H

#include <stddef.h>

struct relit {
    char *s;      /* the string (bytes, not NUL-terminated in meaning: LEN counts) */
    size_t len;
    int caseless; /* compared ignoring ASCII case */
};

struct relit_set {
    struct relit *v;
    size_t n; /* 0: no string is required (or the pattern was not understood) */
};

/* Fills SET with the strings one of which every match of PATTERN[0..LEN) contains, each
 * at least RELIT_MIN_LEN bytes long: the set whose shortest string is longest, among
 * the pattern's required items.  0, or -1 when out of memory (SET then empty). */
enum { RELIT_MIN_LEN = 2, RELIT_MAX_STRINGS = 64 };
int relit_required(const char *pattern, size_t len, struct relit_set *set);

void relit_set_free(struct relit_set *set);

#endif
