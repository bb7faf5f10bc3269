/* litscan.c — an Aho–Corasick automaton, completed into a table (see litscan.h).
 *
 * States are the trie's nodes over the strings folded to lower case; bytes are read
 * through classes (the bytes that occur in some string, and one class for all the
 * others), so a row of the table is a few dozen entries, not 256.  Each state lists
 * the strings that end there, and links to the nearest shorter suffix state that has
 * some (the dictionary link), so a match position visits only states with strings.
 */
#include "labeling/litscan.h"

#include <stdlib.h>
#include <string.h>

struct lit {
    char *s;
    size_t len;
    int caseless;
    int next_out; /* the next string ending at the same state, or -1 */
};

struct litscan {
    struct lit *lits;
    size_t n, cap;
    int built;
    unsigned char lower[256];
    unsigned char cls[256]; /* a folded byte's class; 0: in no string */
    int nclass;
    int *delta;     /* [state * nclass + class]: the next state */
    int *first_out; /* [state]: the first string ending there, or -1 */
    int *dict;      /* [state]: the nearest proper suffix state with strings, or -1 */
    unsigned char *reports; /* [state]: first_out or dict is set */
    int nstates;
};

struct litscan *litscan_new(void)
{
    struct litscan *ls = calloc(1, sizeof *ls);
    if (!ls) return NULL;
    for (int b = 0; b < 256; b++) ls->lower[b] = (unsigned char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
    return ls;
}

static void drop_automaton(struct litscan *ls)
{
    free(ls->delta);
    free(ls->first_out);
    free(ls->dict);
    free(ls->reports);
    ls->delta = ls->first_out = ls->dict = NULL;
    ls->reports = NULL;
    ls->nstates = 0;
}

void litscan_free(struct litscan *ls)
{
    if (!ls) return;
    for (size_t i = 0; i < ls->n; i++) free(ls->lits[i].s);
    free(ls->lits);
    drop_automaton(ls);
    free(ls);
}

int litscan_add(struct litscan *ls, const char *s, size_t len, int caseless)
{
    if (ls->built || len == 0 || ls->n >= (size_t)INT32_MAX) return -1;
    caseless = caseless != 0;
    for (size_t i = 0; i < ls->n; i++)
        if (ls->lits[i].len == len && ls->lits[i].caseless == caseless && memcmp(ls->lits[i].s, s, len) == 0)
            return (int)i;
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? 2 * ls->cap : 64;
        struct lit *l = realloc(ls->lits, cap * sizeof *l);
        if (!l) return -1;
        ls->lits = l;
        ls->cap = cap;
    }
    char *copy = malloc(len);
    if (!copy) return -1;
    memcpy(copy, s, len);
    ls->lits[ls->n] = (struct lit){copy, len, caseless, -1};
    return (int)ls->n++;
}

size_t litscan_count(const struct litscan *ls) { return ls->nstates ? ls->n : 0; }

/* The trie of the folded strings; its states in DELTA, -1 where no edge. */
static int build_trie(struct litscan *ls, size_t max_states)
{
    size_t row = (size_t)ls->nclass;
    ls->delta = malloc(max_states * row * sizeof *ls->delta);
    ls->first_out = malloc(max_states * sizeof *ls->first_out);
    ls->dict = malloc(max_states * sizeof *ls->dict);
    ls->reports = calloc(max_states, 1);
    if (!ls->delta || !ls->first_out || !ls->dict || !ls->reports) return -1;
    memset(ls->delta, 0xff, max_states * row * sizeof *ls->delta); /* -1 everywhere */
    ls->first_out[0] = -1;
    ls->nstates = 1;
    for (size_t i = 0; i < ls->n; i++) {
        int s = 0;
        for (size_t k = 0; k < ls->lits[i].len; k++) {
            int c = ls->cls[ls->lower[(unsigned char)ls->lits[i].s[k]]];
            int *to = &ls->delta[(size_t)s * row + (size_t)c];
            if (*to < 0) {
                *to = ls->nstates;
                ls->first_out[ls->nstates++] = -1;
            }
            s = *to;
        }
        ls->lits[i].next_out = ls->first_out[s];
        ls->first_out[s] = (int)i;
    }
    return 0;
}

/* Failure links by breadth, folded into the table: an edge the trie lacks goes where
 * the failure state's edge goes. */
static int complete(struct litscan *ls)
{
    size_t row = (size_t)ls->nclass;
    int *fail = malloc((size_t)ls->nstates * sizeof *fail);
    int *queue = malloc((size_t)ls->nstates * sizeof *queue);
    if (!fail || !queue) { free(fail); free(queue); return -1; }
    int head = 0, tail = 0;
    fail[0] = 0;
    ls->dict[0] = -1;
    for (size_t c = 0; c < row; c++) {
        int t = ls->delta[c];
        if (t < 0) { ls->delta[c] = 0; continue; }
        fail[t] = 0;
        ls->dict[t] = -1;
        queue[tail++] = t;
    }
    while (head < tail) {
        int s = queue[head++];
        for (size_t c = 0; c < row; c++) {
            int *to = &ls->delta[(size_t)s * row + c];
            int f = ls->delta[(size_t)fail[s] * row + c]; /* complete already: fail[s] is shallower */
            if (*to < 0) { *to = f; continue; }
            int t = *to;
            fail[t] = f;
            ls->dict[t] = ls->first_out[f] >= 0 ? f : ls->dict[f];
            queue[tail++] = t;
        }
    }
    for (int s = 0; s < ls->nstates; s++) ls->reports[s] = ls->first_out[s] >= 0 || ls->dict[s] >= 0;
    free(fail);
    free(queue);
    return 0;
}

int litscan_build(struct litscan *ls)
{
    if (ls->built) return 0;
    ls->built = 1;
    memset(ls->cls, 0, sizeof ls->cls);
    ls->nclass = 1;
    size_t max_states = 1;
    for (size_t i = 0; i < ls->n; i++) {
        max_states += ls->lits[i].len;
        for (size_t k = 0; k < ls->lits[i].len; k++) {
            unsigned char b = ls->lower[(unsigned char)ls->lits[i].s[k]];
            if (!ls->cls[b]) ls->cls[b] = (unsigned char)ls->nclass++;
        }
    }
    if (ls->n == 0) return 0; /* nothing to find: litscan_count 0 */
    if (max_states > (size_t)INT32_MAX / (size_t)ls->nclass || build_trie(ls, max_states) != 0 || complete(ls) != 0) {
        drop_automaton(ls);
        return -1;
    }
    return 0;
}

/* Whether the string ID ends at TEXT[I] (the automaton has read its folded bytes). */
static int ends_here(const struct litscan *ls, int id, const unsigned char *t, size_t i)
{
    const struct lit *l = &ls->lits[id];
    return l->caseless || memcmp(t + i + 1 - l->len, l->s, l->len) == 0;
}

/* The walk of both searches.  With FOUND: every string's bit set, 0.  Without: 1 at
 * the first string found, else 0. */
static int walk(const struct litscan *ls, const char *text, size_t len, uint64_t *found)
{
    const unsigned char *t = (const unsigned char *)text;
    const size_t row = (size_t)ls->nclass;
    int s = 0;
    for (size_t i = 0; i < len; i++) {
        s = ls->delta[(size_t)s * row + ls->cls[ls->lower[t[i]]]];
        if (!ls->reports[s]) continue;
        for (int r = ls->first_out[s] >= 0 ? s : ls->dict[s]; r >= 0; r = ls->dict[r])
            for (int id = ls->first_out[r]; id >= 0; id = ls->lits[id].next_out) {
                if ((found && litscan_found(found, id)) || !ends_here(ls, id, t, i)) continue;
                if (!found) return 1;
                found[id >> 6] |= (uint64_t)1 << (id & 63);
            }
    }
    return 0;
}

int litscan_any(const struct litscan *ls, const char *text, size_t len)
{
    return ls->nstates ? walk(ls, text, len, NULL) : 0;
}

void litscan_run(const struct litscan *ls, const char *text, size_t len, uint64_t *found)
{
    memset(found, 0, (litscan_count(ls) + 63) / 64 * sizeof *found);
    if (ls->nstates) walk(ls, text, len, found);
}
