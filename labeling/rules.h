/* rules.h — the rule file: labeling functions written as PCRE2 patterns.
 *
 * Owns: parsing a rule file (share/rules.txt documents the format), compiling its
 * patterns, and deciding whether one rule matches a cell's views (labeling/pytoken.h).
 * A rule names a stage and a level; the level says how it yields to other rules on
 * the same cell (see labeling/lfset.h).  Rules loaded later override earlier rules
 * of the same name, so a user file extends or overrides the shipped one; within one
 * file a name is defined once, no rule takes a reserved name (the built-in LFs', set
 * by the caller), and a file with no directive at all is refused.
 */
#ifndef NBSTAGE_RULES_H
#define NBSTAGE_RULES_H

#include <stddef.h>

#include "labeling/pytoken.h"

enum lf_level {
    LF_JOB = 0,  /* the cell does this stage's work; the furthest job stage wins */
    LF_SHOW = 1, /* showing or inspecting: votes only when no other stage's job fired */
    LF_HINT = 2, /* weak evidence: votes only when no job or show rule fired at all */
    LF_CONTEXT = 3, /* the built-in context LFs: vote beside the rules (lfset.h) */
};

struct rule {
    char *name;
    int stage;
    int level;
    int line;                 /* where it starts in its file, for messages */
    int file;                 /* which ruleset_load_text call defined it (1, 2, ...) */
    void **any, **all, **none, **str; /* pcre2_code *, in four lists */
    int n_any, n_all, n_none, n_str;
};

struct ruleset {
    struct rule *rules;
    size_t n;
    void **setup;             /* statements the imports built-in counts as set-up */
    size_t n_setup;
    struct { char *name, *re; } *defs; /* `define` macros, expanded as {NAME} */
    size_t n_defs;
    int files;                /* ruleset_load_text calls so far */
    /* Names no rule may take (the built-in LFs'), NULL-terminated; set by the caller
     * before loading, or NULL. */
    const char *const *reserved;
};

/* Adds the rules of PATH (or of TEXT[0..LEN), named PATH in messages) to RS.  On error
 * returns -1 with "path:line: reason" in ERR; RS keeps what was loaded before.  A rule
 * overrides one of the same name from an earlier file; two of one name in the same
 * file, or a name in RS->reserved, are errors. */
int ruleset_load_file(struct ruleset *rs, const char *path, char *err, size_t errlen);
int ruleset_load_text(struct ruleset *rs, const char *text, size_t len, const char *path,
                      char *err, size_t errlen);
void ruleset_free(struct ruleset *rs);

/* Per-thread scratch for matching. */
void *rules_match_data(void);
void rules_match_data_free(void *md);
/* How many matches with MD ended in an error (PCRE2's match limit: a pattern that
 * backtracks catastrophically) and so counted as no match; *FIRST (may be NULL) gets
 * the name of the first such rule, "setup" for a setup pattern. */
unsigned long rules_match_errors(const void *md, const char **first);

/* 1 when rule R fires on V. */
int rule_matches(const struct rule *r, const struct pyview *v, void *md);
/* 1 when statement text S[0..LEN) matches one of the `setup` patterns. */
int ruleset_is_setup(const struct ruleset *rs, const char *s, size_t len, void *md);

/* The default rule file: $NBSTAGE_RULES, else share/rules.txt found from the program's
 * own location (repository or build tree), else DATADIR/nbstage/rules.txt of an
 * installation.  Writes the path into OUT; -1 when none is found. */
int rules_default_path(char *out, size_t outlen);

#endif
