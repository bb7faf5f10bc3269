/* rules.h — the rule file: labeling functions written as PCRE2 patterns.
 *
 * Owns: parsing a rule file (share/rules.txt documents the format), compiling its
 * patterns, and deciding whether one rule matches a cell's views (labeling/pytoken.h).
 * A rule names a stage and a level; the level says how it yields to other rules on
 * the same cell (see labeling/lfset.h).  Rules loaded later override earlier rules
 * of the same name, so a user file extends or overrides the shipped one; within one
 * file a name is defined once, no rule takes a reserved name (the built-in LFs', set
 * by the caller), and a file with no directive at all is refused.  Matches run under
 * PCRE2 limits (below), so that a pattern that backtracks catastrophically costs
 * bounded time; a rule that cannot say because of one gives the error back.
 */
#ifndef NBSTAGE_RULES_H
#define NBSTAGE_RULES_H

#include <stddef.h>

#include "labeling/pytoken.h"

struct litscan;

enum lf_level {
    LF_JOB = 0,  /* the cell does this stage's work; the furthest job stage wins */
    LF_SHOW = 1, /* showing or inspecting: votes only when no other stage's job fired */
    LF_HINT = 2, /* weak evidence: votes only when no job or show rule fired at all */
    LF_CONTEXT = 3, /* the built-in context LFs: vote beside the rules (lfset.h) */
};

/* A compiled pattern, one per distinct text (macros expanded) and view: the
 * ruleset's lines that say the same thing share it ({MODELCLASSDEF} is in 27 rules),
 * so that a cell's answer to it is found once (rules_match_begin; `label --profile`
 * charges that match to the first rule that asks).  Measured 2026-12-03 on 20,000
 * corpus cells, `label -j 1`: 7% less CPU, the same labels byte for byte. */
struct rule_pattern {
    void *code;  /* pcre2_code * */
    int jit;     /* compiled by PCRE2's JIT (else its interpreter runs it) */
    int strings; /* matched against the strings view (a `string` line), not the code */
    int id;      /* its index in the ruleset's patterns */
    char *text;  /* with macros expanded: what tells two patterns apart */
    /* The prefilter: a view in which none of the strings NEED[0..N_NEED) occur
     * (ids in LITS, the ruleset's automaton) cannot match, and is answered without
     * PCRE2 (labeling/relit.h).  N_NEED 0: always matched. */
    const struct litscan *lits;
    int *need;
    int n_need;
};

struct rule {
    char *name;
    int stage;
    int level;
    int silent;               /* `silent`: its abstains are no evidence against its stage
                                 (lm_options.no_abstain_evidence) */
    int line;                 /* where it starts in its file, for messages */
    int file;                 /* which ruleset_load_text call defined it (1, 2, ...) */
    struct rule_pattern **any, **all, **none, **str; /* in four lists; the ruleset's */
    int n_any, n_all, n_none, n_str;
};

struct ruleset {
    struct rule *rules;
    size_t n;
    void **setup;             /* statements the imports built-in counts as set-up */
    size_t n_setup;
    char **setup_re;          /* [n_setup]: each with its macros expanded */
    void *setup_any;          /* all of them as one alternation, tried first; NULL:
                                 none, or one that cannot join (ruleset_is_setup) */
    struct { int file, line; } *setup_at; /* [n_setup]: where each is, for messages */
    struct { char *name, *re; int file, line; } *defs; /* `define` macros, expanded as {NAME} */
    size_t n_defs;
    /* Rules removed by `disable`, and where: a later file's `disable` of one is done
     * already (two files may each disable it, a file may be given twice). */
    struct { char *name; int file, line; } *disabled;
    size_t n_disabled;
    int files;                /* ruleset_load_text calls so far */
    char **paths;             /* [files]: the PATH each call named; a rule's file is paths[file - 1] */
    /* Names no rule may take (the built-in LFs'), NULL-terminated; set by the caller
     * before loading, or NULL. */
    const char *const *reserved;
    struct rule_pattern **patterns; /* every rule line's, distinct; freed with the set */
    size_t n_patterns;
    struct litscan *lits; /* the patterns' required strings, found in one pass; or NULL */
    struct litscan *setup_lits; /* the setup patterns' (each has some), or NULL: a
                                   statement with none of them is no set-up */
};

/* Adds the rules of PATH (or of TEXT[0..LEN), named PATH in messages) to RS.  On error
 * returns -1 with "path:line: reason" in ERR; RS keeps what was loaded before.  A rule
 * overrides one of the same name from an earlier file; two of one name in the same
 * file, or a name in RS->reserved, are errors; so is a macro defined twice in one file
 * (a later file redefines it).  `disable` of a rule an earlier file disabled does
 * nothing; twice in one file it is an error, as a name defined twice. */
int ruleset_load_file(struct ruleset *rs, const char *path, char *err, size_t errlen);
int ruleset_load_text(struct ruleset *rs, const char *text, size_t len, const char *path,
                      char *err, size_t errlen);
void ruleset_free(struct ruleset *rs);

/* Per-thread scratch for matching, with the limits below set on PCRE2's match context.
 * NULL when out of memory. */
void *rules_match_data(void);
void rules_match_data_free(void *md);
/* Tells MD that the rules are now matched against the views V: each pattern's answer
 * on V is found once and remembered until the next call; V NULL ends that.  Matches
 * against any other view remember nothing.  End it (or begin again) before V is
 * freed: a new view made at the same address is another view. */
void rules_match_begin(void *md, const struct pyview *v);

/* PCRE2's limits on one match, so that a pattern that backtracks catastrophically
 * (nested quantifiers such as (a+)+ or (\w+\s?)*) costs bounded time on a cell: some
 * 3.5 ms of CPU with JIT, where PCRE2's default match limit (10,000,000) took 35 ms
 * and more a cell.  On the 138,628 cells of ../shared/corpus and their statements
 * (--statements) the shipped rules need at most 58,575 steps with JIT
 * (prep_filter_rows on an 11.7 kB cell), at most 300,000 in the interpreter (used
 * for a pattern JIT could not compile), a depth of 300 and 30 KiB of heap
 * (2026-11-30): each limit leaves ten times that and more.  The depth and heap limits
 * bind the interpreter only; JIT has its own stack, whose overflow is one more error
 * that gives up.  label --help, the README and share/rules.txt quote the JIT limit.
 * A view longer than 15.6 kB gets RULES_MATCH_PER_BYTE steps a byte instead, so that
 * the bound is on the time a byte of code costs, not a cell: a pattern that is linear
 * but scans with a lookahead at every position (prep_dataset_objects' `(?s:.*?)`
 * before its hyper-parameter test) needs more than 1,000,000 steps on a 300 kB cell
 * of data written out (a dict literal of 20,000 lines), and gave up on it. */
#define RULES_MATCH_LIMIT 1000000u        /* PCRE2's unit, with JIT: backtracking steps */
#define RULES_MATCH_LIMIT_INTERP 3000000u /* the interpreter's steps are its own: ~70 ms */
#define RULES_MATCH_PER_BYTE 64u          /* with JIT; ~0.2 us a byte */
#define RULES_MATCH_PER_BYTE_INTERP 192u  /* the interpreter's, in the same ratio */
#define RULES_DEPTH_LIMIT 100000u         /* backtracking frames (interpreter) */
#define RULES_HEAP_LIMIT 32768u           /* KiB for those frames (interpreter) */
/* The JIT's stack, per thread, which grows as a match needs it up to this size.  A
 * pattern that is linear, not catastrophic, can still keep a frame per repetition:
 * explore_print's `\w+(?:\.\w+)*` on a line `df.x.x.x...` 3,000 names deep overflowed
 * PCRE2's default 32 KiB, and the rule gave up on the cell (label then exits 1).  What
 * bounds a match's work is the match limit above, not the stack. */
#define RULES_JIT_STACK (8u << 20)

/* 1 when rule R fires on V, 0 when it does not, or a negative PCRE2 error code
 * (PCRE2_ERROR_MATCHLIMIT, _DEPTHLIMIT, _HEAPLIMIT, ...) when PCRE2 gave up on one
 * of its patterns and the others do not decide without it: the rule cannot say, and
 * its caller abstains.  (An `any` pattern that matches decides its line whatever
 * another gave up on; an `all`, `string` or `none` that rules the cell out decides
 * the rule.) */
int rule_matches(const struct rule *r, const struct pyview *v, void *md);
/* 1 when statement text S[0..LEN) matches one of the `setup` patterns, 0 when none
 * does, or a negative PCRE2 error code when none matched and PCRE2 gave up on one;
 * then *WHICH (may be NULL) gets that pattern's index in RS->setup. */
int ruleset_is_setup(const struct ruleset *rs, const char *s, size_t len, void *md, size_t *which);

/* PCRE2's message for a match error CODE ("match limit exceeded"), into OUT. */
void rules_error_message(int code, char *out, size_t outlen);
/* 1 when CODE is one of PCRE2's limits (match, depth, heap, JIT stack): the sign of
 * a pattern that backtracks catastrophically, not of a bad subject. */
int rules_error_is_limit(int code);

/* The default rule file: $NBSTAGE_RULES, else share/rules.txt found from the program's
 * own location (repository, build tree or installation: nbformat/sharefile.h; not
 * another installation's, which may be another version's).  Writes the path into OUT;
 * -1 when none is found. */
int rules_default_path(char *out, size_t outlen);

#endif
