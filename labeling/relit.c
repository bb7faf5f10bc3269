/* relit.c — the strings a pattern cannot match without (see relit.h).
 *
 * A recursive reader of the pattern's syntax.  Each item is a literal byte, something
 * else that consumes (a class, `.`, \w, a back-reference), an assertion, or a group
 * with its own requirement.  A sequence keeps its current run of literal bytes and the
 * best requirement seen so far; an alternation joins its branches' requirements.
 */
#include "labeling/relit.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* A requirement: one of V[0..N) occurs in every match; NONE: nothing known. */
struct req {
    struct relit *v;
    size_t n;
    int none;
};

struct reader {
    const char *p, *end;
    int caseless;  /* (?i) seen: every string from here on ignores case */
    int give_up;   /* syntax not modelled: the whole pattern gets no strings */
    int oom;
    int depth;
};

/* A run of literal bytes being read in a sequence. */
struct run {
    char buf[256];
    size_t len;
    int caseless;
    int overflow; /* longer than BUF: kept as its first 256 bytes, still required */
};

static struct req req_none(void) { return (struct req){NULL, 0, 1}; }

static void req_free(struct req *r)
{
    for (size_t i = 0; i < r->n; i++) free(r->v[i].s);
    free(r->v);
    *r = req_none();
}

/* The shortest string's length: how selective the requirement is (0: none). */
static size_t req_score(const struct req *r)
{
    if (r->none || r->n == 0) return 0;
    size_t m = r->v[0].len;
    for (size_t i = 1; i < r->n; i++)
        if (r->v[i].len < m) m = r->v[i].len;
    return m;
}

/* Keeps the better of *BEST and CAND in *BEST (longer shortest string, then fewer
 * strings), freeing the other. */
static void req_keep_better(struct req *best, struct req *cand)
{
    size_t a = req_score(best), b = req_score(cand);
    if (b > a || (b == a && b > 0 && cand->n < best->n)) {
        req_free(best);
        *best = *cand;
    } else {
        req_free(cand);
    }
    *cand = req_none();
}

static int push_string(struct reader *rd, struct req *r, const char *s, size_t len, int caseless)
{
    for (size_t i = 0; i < r->n; i++) /* the same string twice says nothing more */
        if (r->v[i].len == len && r->v[i].caseless == caseless && memcmp(r->v[i].s, s, len) == 0) return 0;
    struct relit *v = realloc(r->v, (r->n + 1) * sizeof *v);
    char *copy = malloc(len ? len : 1);
    if (!v || !copy) {
        if (v) r->v = v;
        free(copy);
        rd->oom = 1;
        return -1;
    }
    memcpy(copy, s, len);
    r->v = v;
    r->v[r->n++] = (struct relit){copy, len, caseless};
    r->none = 0;
    return 0;
}

/* A OR B, into *A; B is consumed.  None when either is, or when too many strings. */
static void req_union(struct reader *rd, struct req *a, struct req *b)
{
    if (a->none || b->none || a->n + b->n > RELIT_MAX_STRINGS) {
        req_free(a);
        req_free(b);
        return;
    }
    for (size_t i = 0; i < b->n && !rd->oom; i++) push_string(rd, a, b->v[i].s, b->v[i].len, b->v[i].caseless);
    req_free(b);
    if (rd->oom) req_free(a);
}

/* Ends RUN: a run of at least RELIT_MIN_LEN bytes is a requirement of its own. */
static void run_flush(struct reader *rd, struct run *run, struct req *best)
{
    if (run->len >= RELIT_MIN_LEN) {
        struct req cand = req_none();
        if (push_string(rd, &cand, run->buf, run->len, run->caseless) == 0) req_keep_better(best, &cand);
    }
    run->len = 0;
    run->caseless = 0;
    run->overflow = 0;
}

static void run_push(struct reader *rd, struct run *run, unsigned char c)
{
    if (run->len == sizeof run->buf) { run->overflow = 1; return; } /* a prefix is still required */
    run->buf[run->len++] = (char)c;
    if (rd->caseless) run->caseless = 1;
}

/* A quantifier after an item: *MIN and *MAX (-1: unbounded); 1 read, 0 none there.
 * A brace that is not one of PCRE2 10.42's quantifier forms ({n}, {n,}, {n,m}) is a
 * literal there, and later versions read more forms: left alone, and the caller
 * gives up when it meets the brace as an item. */
static int read_quantifier(struct reader *rd, long *min, long *max)
{
    const char *p = rd->p;
    if (p >= rd->end) return 0;
    if (*p == '?') { *min = 0; *max = 1; p++; }
    else if (*p == '*') { *min = 0; *max = -1; p++; }
    else if (*p == '+') { *min = 1; *max = -1; p++; }
    else if (*p == '{') {
        const char *q = p + 1;
        if (q >= rd->end || !isdigit((unsigned char)*q)) return 0;
        long a = 0, b;
        while (q < rd->end && isdigit((unsigned char)*q)) { if (a < 100000) a = a * 10 + (*q - '0'); q++; }
        b = a;
        if (q < rd->end && *q == ',') {
            q++;
            if (q < rd->end && isdigit((unsigned char)*q)) {
                b = 0;
                while (q < rd->end && isdigit((unsigned char)*q)) { if (b < 100000) b = b * 10 + (*q - '0'); q++; }
            } else {
                b = -1;
            }
        }
        if (q >= rd->end || *q != '}') return 0;
        *min = a;
        *max = b;
        p = q + 1;
    } else {
        return 0;
    }
    if (p < rd->end && (*p == '?' || *p == '+')) p++; /* lazy or possessive: the same set */
    rd->p = p;
    return 1;
}

/* Skips a character class; RD->p at its '[', then after its ']' (or gives up). */
static void skip_class(struct reader *rd)
{
    const char *p = rd->p + 1;
    if (p < rd->end && *p == '^') p++;
    if (p < rd->end && *p == ']') p++; /* a ']' first is a member */
    while (p < rd->end && *p != ']') {
        if (*p == '\\') {
            if (p + 1 >= rd->end || p[1] == 'Q') { rd->give_up = 1; return; } /* no pointer past the end */
            p += 2;
        } else if (*p == '[' && p + 1 < rd->end && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
            const char *q = p + 2;
            while (q + 1 < rd->end && !(q[0] == p[1] && q[1] == ']')) q++;
            if (q + 1 >= rd->end) { rd->give_up = 1; return; }
            p = q + 2;
        } else {
            p++;
        }
    }
    if (p >= rd->end) { rd->give_up = 1; return; }
    rd->p = p + 1;
}

/* Skips a back-reference's name or number after \g or \k; RD->p after the letter. */
static void skip_backref(struct reader *rd, char letter)
{
    const char *p = rd->p;
    if (p < rd->end && *p == '{') {
        while (p < rd->end && *p != '}') p++;
        if (p >= rd->end) { rd->give_up = 1; return; }
        rd->p = p + 1;
    } else if (letter == 'g' && p < rd->end && (isdigit((unsigned char)*p) || *p == '-' || *p == '+')) {
        if (*p == '-' || *p == '+') p++;
        while (p < rd->end && isdigit((unsigned char)*p)) p++;
        rd->p = p;
    } else if (letter == 'k' && p < rd->end && (*p == '<' || *p == '\'')) {
        char close = *p == '<' ? '>' : '\'';
        while (p < rd->end && *p != close) p++;
        if (p >= rd->end) { rd->give_up = 1; return; }
        rd->p = p + 1;
    } else { /* \g<name> and \g'name' call a group: not modelled */
        rd->give_up = 1;
    }
}

enum item { ITEM_NOTHING, ITEM_LITERAL, ITEM_OTHER, ITEM_GROUP };

static struct req read_alternation(struct reader *rd);

/* A group; RD->p after its '('.  Returns ITEM_GROUP with its requirement in *G (for
 * a lookahead or lookbehind too: what it looks at is in the subject), ITEM_OTHER for
 * a negative one, ITEM_NOTHING for a comment or an option setting. */
static enum item read_group(struct reader *rd, struct req *g)
{
    const char *p = rd->p;
    int negative = 0;
    if (p < rd->end && *p == '*') { rd->give_up = 1; return ITEM_OTHER; } /* verbs, (*UTF) */
    if (p < rd->end && *p == '?') {
        p++;
        if (p >= rd->end) { rd->give_up = 1; return ITEM_OTHER; }
        char c = *p;
        if (c == ':' || c == '|' || c == '>' || c == '=') {
            p++;
        } else if (c == '!') {
            negative = 1;
            p++;
        } else if (c == '<' && p + 1 < rd->end && (p[1] == '=' || p[1] == '!')) {
            negative = p[1] == '!';
            p += 2;
        } else if (c == '<' || c == '\'' || (c == 'P' && p + 1 < rd->end && p[1] == '<')) {
            char close = c == '\'' ? '\'' : '>';
            while (p < rd->end && *p != close) p++;
            if (p >= rd->end) { rd->give_up = 1; return ITEM_OTHER; }
            p++;
        } else if (c == '#') {
            while (p < rd->end && *p != ')') p++;
            if (p >= rd->end) { rd->give_up = 1; return ITEM_OTHER; }
            rd->p = p + 1;
            return ITEM_NOTHING;
        } else if (isalpha((unsigned char)c) || c == '-' || c == '^') {
            int off = 0;
            while (p < rd->end && (isalpha((unsigned char)*p) || *p == '-' || *p == '^')) {
                if (*p == '-') off = 1;
                else if (*p == 'x') { rd->give_up = 1; return ITEM_OTHER; } /* extended: spaces mean nothing */
                else if (*p == 'i' && !off) rd->caseless = 1;
                else if (!strchr("imsnUJ^", *p)) { rd->give_up = 1; return ITEM_OTHER; }
                p++;
            }
            if (p >= rd->end) { rd->give_up = 1; return ITEM_OTHER; }
            if (*p == ')') { rd->p = p + 1; return ITEM_NOTHING; } /* a setting: no item */
            if (*p != ':') { rd->give_up = 1; return ITEM_OTHER; }
            p++;
        } else { /* conditionals, recursion, subroutine calls, callouts, (?P=name) */
            rd->give_up = 1;
            return ITEM_OTHER;
        }
    }
    rd->p = p;
    if (++rd->depth > 200) { rd->give_up = 1; return ITEM_OTHER; }
    struct req inner = read_alternation(rd);
    rd->depth--;
    if (rd->give_up || rd->oom || rd->p >= rd->end || *rd->p != ')') {
        req_free(&inner);
        rd->give_up = 1;
        return ITEM_OTHER;
    }
    rd->p++;
    if (negative) { req_free(&inner); return ITEM_OTHER; }
    *g = inner;
    return ITEM_GROUP;
}

/* An escape; RD->p after its '\\'.  ITEM_LITERAL with the byte in *C, else ITEM_OTHER. */
static enum item read_escape(struct reader *rd, unsigned char *c)
{
    if (rd->p >= rd->end) { rd->give_up = 1; return ITEM_OTHER; }
    unsigned char e = (unsigned char)*rd->p++;
    if (!isalnum(e)) { *c = e; return ITEM_LITERAL; } /* \. \( \\ and any other sign */
    switch (e) {
    case 'n': *c = '\n'; return ITEM_LITERAL;
    case 't': *c = '\t'; return ITEM_LITERAL;
    case 'r': *c = '\r'; return ITEM_LITERAL;
    case 'f': *c = '\f'; return ITEM_LITERAL;
    case 'e': *c = 0x1b; return ITEM_LITERAL;
    case 'a': *c = 0x07; return ITEM_LITERAL;
    case 'd': case 'D': case 'w': case 'W': case 's': case 'S': case 'h': case 'H':
    case 'v': case 'V': case 'R': case 'N': case 'X':
    case 'b': case 'B': case 'A': case 'z': case 'Z': case 'G': case 'K':
        return ITEM_OTHER;
    case 'g': case 'k':
        skip_backref(rd, (char)e);
        return ITEM_OTHER;
    default: /* \x, \o, \c, \p, \Q (the caller's), digits, ... */
        rd->give_up = 1;
        return ITEM_OTHER;
    }
}

/* \Q...\E: its bytes into RUN but the last, which is returned in *C as the item a
 * quantifier would apply to; ITEM_NOTHING for an empty quote. */
static enum item read_quoted(struct reader *rd, struct run *run, unsigned char *c)
{
    const char *start = rd->p, *q = start;
    while (q < rd->end && !(q[0] == '\\' && q + 1 < rd->end && q[1] == 'E')) q++;
    rd->p = q < rd->end ? q + 2 : rd->end;
    if (q == start) return ITEM_NOTHING;
    for (const char *s = start; s + 1 < q; s++) run_push(rd, run, (unsigned char)*s);
    *c = (unsigned char)q[-1];
    return ITEM_LITERAL;
}

/* A sequence of items up to '|', ')' or the end: its best requirement. */
static struct req read_sequence(struct reader *rd)
{
    struct req best = req_none();
    struct run run = {.len = 0};
    while (rd->p < rd->end && *rd->p != '|' && *rd->p != ')' && !rd->give_up && !rd->oom) {
        unsigned char ch = 0;
        struct req group = req_none();
        enum item it;
        char c = *rd->p++;
        if (c == '\\') {
            if (rd->p < rd->end && *rd->p == 'Q') { rd->p++; it = read_quoted(rd, &run, &ch); }
            else it = read_escape(rd, &ch);
        } else if (c == '.' || c == '^' || c == '$') {
            it = ITEM_OTHER;
        } else if (c == '[') {
            rd->p--;
            skip_class(rd);
            it = ITEM_OTHER;
        } else if (c == '(') {
            it = read_group(rd, &group);
        } else if (c == '*' || c == '+' || c == '?' || c == '{') {
            rd->give_up = 1; /* a quantifier with nothing before it, or a literal brace */
            break;
        } else {
            ch = (unsigned char)c;
            it = ITEM_LITERAL;
        }
        if (rd->give_up || rd->oom) { req_free(&group); break; }
        if (it == ITEM_NOTHING) continue;
        long min = 1, max = 1;
        int quantified = read_quantifier(rd, &min, &max);
        if (it == ITEM_LITERAL) {
            if (!quantified || (min == 1 && max == 1)) {
                run_push(rd, &run, ch);
            } else if (min == 0) {
                run_flush(rd, &run, &best); /* the byte may be absent */
            } else {
                run_push(rd, &run, ch); /* at least once: the run ends with it ... */
                run_flush(rd, &run, &best);
                run_push(rd, &run, ch); /* ... and the next starts with its last copy */
            }
            if (run.overflow) run_flush(rd, &run, &best);
            continue;
        }
        run_flush(rd, &run, &best);
        if (it == ITEM_GROUP && (!quantified || min > 0)) req_keep_better(&best, &group);
        else req_free(&group);
    }
    run_flush(rd, &run, &best);
    return best;
}

static struct req read_alternation(struct reader *rd)
{
    struct req all = read_sequence(rd);
    while (rd->p < rd->end && *rd->p == '|' && !rd->give_up && !rd->oom) {
        rd->p++;
        struct req branch = read_sequence(rd);
        req_union(rd, &all, &branch);
    }
    return all;
}

int relit_required(const char *pattern, size_t len, struct relit_set *set)
{
    struct reader rd = {.p = pattern, .end = pattern + len};
    struct req r = read_alternation(&rd);
    set->v = NULL;
    set->n = 0;
    if (rd.p != rd.end) rd.give_up = 1; /* an unmatched ')' */
    if (rd.give_up || rd.oom || r.none) {
        req_free(&r);
        return rd.oom ? -1 : 0;
    }
    set->v = r.v;
    set->n = r.n;
    return 0;
}

void relit_set_free(struct relit_set *set)
{
    for (size_t i = 0; i < set->n; i++) free(set->v[i].s);
    free(set->v);
    set->v = NULL;
    set->n = 0;
}
