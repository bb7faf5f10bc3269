/* flowscan.h — what the three flow analyses share: labeling/flow.c (a model's
 * results), flowkept.c (changes kept and not kept) and flowhelpers.c (helpers called).
 * Private to them; flow.h is the analyses' interface.
 *
 * Owns: the scanner of Python names in a code view (struct word, flow_next_word and the
 * small tests on a word), the keywords that are no names, the name set's operations
 * (struct flow, flow.h) beyond init and free, a plain assignment's '=', and a pass
 * over whole notebooks on up to 8 threads (flow_mark_all).
 */
#ifndef NBSTAGE_FLOWSCAN_H
#define NBSTAGE_FLOWSCAN_H

#include <stddef.h>
#include <string.h>

#include "labeling/flow.h"

static inline int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static inline int name_start(unsigned char c)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}
static inline int name_char(unsigned char c) { return name_start(c) || is_digit(c); }

/* A name in a code view, and what surrounds it. */
struct word {
    const char *s;
    size_t len;
    int attr;   /* after a '.': an attribute or method, not a name of its own */
    int call;   /* followed by '(' */
    int assign; /* followed by one '=' (a target, or a keyword argument) */
};


static inline int word_is(const struct word *w, const char *name)
{
    return strlen(name) == w->len && memcmp(w->s, name, w->len) == 0;
}

static inline int word_in(const struct word *w, const char *const *list)
{
    for (; *list; list++)
        if (word_is(w, *list)) return 1;
    return 0;
}

static inline int word_ends(const struct word *w, const char *tail)
{
    size_t n = strlen(tail);
    return w->len > n && memcmp(w->s + w->len - n, tail, n) == 0;
}

/* Whether W names a constant (`FIG_SIZE`, `BATCH_SIZE`, `TRAIN_DIR`): two or more
 * characters, no lower-case letter. */
static inline int word_constant(const struct word *w)
{
    if (w->len < 2) return 0;
    int letter = 0;
    for (size_t i = 0; i < w->len; i++) {
        unsigned char c = (unsigned char)w->s[i];
        if ((c >= 'a' && c <= 'z') || c >= 0x80) return 0;
        letter |= c >= 'A' && c <= 'Z';
    }
    return letter;
}

/* The next name of S[*I..END) into W; 0 at the end.  Numbers (`1e5`, `0x1f`) are
 * skipped whole, so their letters are not names. */
int flow_next_word(const char *s, size_t *i, size_t end, struct word *w);

/* Python's keywords, and self and cls: never a name that holds anything; NULL-ended. */
extern const char *const flow_keywords[];

/* The name set (struct flow): emptied; a name's hash; the index of S[0..LEN) or -1;
 * S[0..LEN) added as holding KIND (FLOW_RESULTS, FLOW_TRAINED; a name held already
 * holds both; at most FLOW_MAX_NAMES), -1 when out of memory; a name dropped; DST
 * made a copy of SRC, -1 when out of memory. */
void flow_clear(struct flow *f);
unsigned flow_name_hash(const char *s, size_t len);
long flow_find(const struct flow *f, const char *s, size_t len);
int flow_add(struct flow *f, const char *s, size_t len, int kind);
void flow_drop(struct flow *f, const char *s, size_t len);
int flow_copy(struct flow *dst, const struct flow *src);

/* The first '=' of a plain assignment S[A..Z) (not `+=` and the like), or 0. */
size_t flow_plain_assignment(const char *s, size_t a, size_t z);

/* One thread's part of a pass: cells [LO, HI) (whole notebooks) and their statements,
 * rows [ST, ST_HI); the pass's per-cell input IN and its OUT. */
struct flow_job {
    const struct label_cell *cells;
    size_t lo, hi, st, st_hi;
    unsigned char *out;
    const unsigned char *in;
};
/* A pass over one job's cells: 0, or -1 when out of memory. */
typedef int (*flow_range_fn)(const struct flow_job *j);

/* RANGE over CELLS[0..N) (and statements CELLS[N..TOTAL)) in whole notebooks, on up to
 * JOBS threads (1 to 8; one that cannot start runs on the caller's); the statement rows
 * that follow no cell get 0.  0, or -1 when out of memory. */
int flow_mark_all(const struct label_cell *cells, size_t n, size_t total, int jobs, unsigned char *out,
                  flow_range_fn range, const unsigned char *in);

#endif
