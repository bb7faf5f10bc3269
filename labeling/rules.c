/* rules.c — parsing and matching rule files (see rules.h, share/rules.txt).
 *
 * Patterns are compiled once with PCRE2 (multi-line, JIT when available) and matched
 * against the code view of a cell, or its strings view for `string` lines.  Files
 * saved on Windows read the same (a leading UTF-8 byte-order mark, CRLF line ends),
 * and so do files with old Mac line ends (a CR alone).
 * Matches run under PCRE2 limits (rules.h) so that a pattern that backtracks
 * catastrophically costs bounded time; a rule whose answer hangs on a match PCRE2
 * gave up on says so (a negative code), and `nbstage label` names it and abstains.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "labeling/rules.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "labeling/litscan.h"
#include "labeling/relit.h"
#include "labeling/stage.h"
#include "nbformat/notebook.h"
#include "nbformat/sharefile.h"

static void free_list(void **l, int n)
{
    for (int i = 0; i < n; i++) pcre2_code_free(l[i]);
    free(l);
}

/* The lists hold the ruleset's patterns (freed with it), not their own. */
static void rule_clear(struct rule *r)
{
    free(r->name);
    free(r->any);
    free(r->all);
    free(r->none);
    free(r->str);
    memset(r, 0, sizeof *r);
}

void ruleset_free(struct ruleset *rs)
{
    for (size_t i = 0; i < rs->n; i++) rule_clear(&rs->rules[i]);
    free(rs->rules);
    free_list(rs->setup, (int)rs->n_setup);
    for (size_t i = 0; i < rs->n_setup; i++) free(rs->setup_re[i]);
    free(rs->setup_re);
    pcre2_code_free(rs->setup_any);
    free(rs->setup_at);
    for (int i = 0; i < rs->files; i++) free(rs->paths[i]);
    free(rs->paths);
    for (size_t i = 0; i < rs->n_defs; i++) { free(rs->defs[i].name); free(rs->defs[i].re); }
    free(rs->defs);
    for (size_t i = 0; i < rs->n_disabled; i++) free(rs->disabled[i].name);
    free(rs->disabled);
    for (size_t i = 0; i < rs->n_patterns; i++) {
        pcre2_code_free(rs->patterns[i]->code);
        free(rs->patterns[i]->text);
        free(rs->patterns[i]->need);
        free(rs->patterns[i]);
    }
    free(rs->patterns);
    litscan_free(rs->lits);
    litscan_free(rs->setup_lits);
    memset(rs, 0, sizeof *rs);
}

/* Whether the '{' at P (in RE) is PCRE2's own, after an escape that takes braces:
 * \p{L} and \P{N} (Unicode properties), \g{NAME} and \k{NAME} (back-references by
 * name), \x{AB} and \o{17}, \N{U+41}.  The letter counts as an escape when an odd
 * number of backslashes precedes it. */
static int escape_brace(const char *re, const char *p)
{
    if (p - re < 2 || !strchr("pPgkxoN", p[-1])) return 0;
    size_t bs = 0, i = (size_t)(p - re) - 1; /* the letter's index */
    while (i > 0 && re[i - 1] == '\\') { bs++; i--; }
    return bs % 2 == 1;
}

/* Expands {NAME} macros in RE (defined earlier with `define`); NULL with ERR set when
 * a name is unknown.  A brace PCRE2 reads as text is left alone: an escaped one
 * (\{NAME} is the text "{NAME}") and any inside \Q...\E. */
static char *expand(const struct ruleset *rs, const char *re, char *err, size_t errlen)
{
    size_t cap = strlen(re) + 1, n = 0;
    char *out = malloc(cap);
    if (!out) { nb_error_fmt(err, errlen, "out of memory"); return NULL; }
    for (const char *p = re; *p;) {
        const char *add = p;
        size_t addn = 1;
        if (p[0] == '\\' && p[1] == 'Q') { /* quoted up to \E (or the end) */
            const char *e = strstr(p + 2, "\\E");
            addn = e ? (size_t)(e + 2 - p) : strlen(p);
            p += addn;
            goto append;
        }
        if (p[0] == '\\' && p[1]) { /* an escape pair: \{ is a brace, \\ a backslash */
            addn = 2;
            p += 2;
            goto append;
        }
        if (p[0] == '{' && (isupper((unsigned char)p[1]) || p[1] == '_') && !escape_brace(re, p)) {
            const char *e = p + 1;
            while (isupper((unsigned char)*e) || isdigit((unsigned char)*e) || *e == '_') e++;
            if (*e == '}') {
                size_t k;
                for (k = 0; k < rs->n_defs; k++)
                    if (strlen(rs->defs[k].name) == (size_t)(e - p - 1) &&
                        memcmp(rs->defs[k].name, p + 1, e - p - 1) == 0) break;
                if (k == rs->n_defs) {
                    nb_error_fmt(err, errlen, "unknown macro {%.*s} (define it first)", (int)(e - p - 1), p + 1);
                    free(out);
                    return NULL;
                }
                add = rs->defs[k].re;
                addn = strlen(add);
                p = e + 1;
                goto append;
            }
        }
        p++;
    append:
        if (n + addn + 1 > cap) {
            while (n + addn + 1 > cap) cap *= 2;
            char *q = realloc(out, cap);
            if (!q) { free(out); nb_error_fmt(err, errlen, "out of memory"); return NULL; }
            out = q;
        }
        memcpy(out + n, add, addn);
        n += addn;
    }
    out[n] = 0;
    return out;
}

/* RE compiled, with the macros expanded into X (the caller's, freed by it). */
static pcre2_code *compile_expanded(const char *re, const char *x, char *err, size_t errlen)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)x, PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE, &code, &off, NULL);
    if (!c) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(code, msg, sizeof msg);
        if (strcmp(re, x) == 0) {
            nb_error_fmt(err, errlen, "bad pattern at offset %zu: %s", (size_t)off, (char *)msg);
        } else {
            /* the offset is PCRE2's, into the pattern with its macros expanded: 325 in
             * a pattern written as '{PLOT}[a-' said nothing; the text before it does */
            size_t from = off > 40 ? off - 40 : 0;
            nb_error_fmt(err, errlen, "bad pattern: %s, at offset %zu of it with its macros expanded, after '%s%.*s'",
                     (char *)msg, (size_t)off, from ? "..." : "", (int)(off - from), x + from);
        }
    } else {
        pcre2_jit_compile(c, PCRE2_JIT_COMPLETE); /* best effort: the interpreter is correct too */
    }
    return c;
}

static pcre2_code *compile(const struct ruleset *rs, const char *re, char *err, size_t errlen)
{
    char *x = expand(rs, re, err, errlen);
    if (!x) return NULL;
    pcre2_code *c = compile_expanded(re, x, err, errlen);
    free(x);
    return c;
}

/* RS's pattern for RE on the strings view (STRINGS) or the code: the one already
 * compiled from the same expanded text for the same view, or a new one.  NULL with
 * the reason in ERR. */
static struct rule_pattern *intern(struct ruleset *rs, const char *re, int strings, char *err, size_t errlen)
{
    char *x = expand(rs, re, err, errlen);
    if (!x) return NULL;
    for (size_t i = 0; i < rs->n_patterns; i++) {
        struct rule_pattern *p = rs->patterns[i];
        if (p->strings == strings && strcmp(p->text, x) == 0) { free(x); return p; }
    }
    struct rule_pattern *p = NULL, **q = realloc(rs->patterns, (rs->n_patterns + 1) * sizeof *q);
    if (q) rs->patterns = q;
    if (!q || !(p = calloc(1, sizeof *p))) {
        free(x);
        nb_error_fmt(err, errlen, "out of memory");
        return NULL;
    }
    if (!(p->code = compile_expanded(re, x, err, errlen))) { free(x); free(p); return NULL; }
    size_t jit = 0;
    pcre2_pattern_info(p->code, PCRE2_INFO_JITSIZE, &jit);
    p->jit = jit != 0;
    p->strings = strings;
    p->id = (int)rs->n_patterns;
    p->text = x;
    q[rs->n_patterns++] = p;
    return p;
}

static int push(struct rule_pattern ***list, int *n, struct rule_pattern *item)
{
    struct rule_pattern **p = realloc(*list, (size_t)(*n + 1) * sizeof **list);
    if (!p) return -1;
    p[(*n)++] = item;
    *list = p;
    return 0;
}

/* Finds rule NAME, or -1. */
static long find_rule(const struct ruleset *rs, const char *name)
{
    for (size_t i = 0; i < rs->n; i++)
        if (strcmp(rs->rules[i].name, name) == 0) return (long)i;
    return -1;
}

static int valid_name(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return 0;
    return 1;
}

/* Whether pattern X may stand as one branch of an alternation and mean there what it
 * means alone.  Not when it has a verb: some must open a whole pattern ((*NO_JIT)),
 * others act beyond their branch ((*COMMIT) fails the whole match); nor when it
 * names a group by its number (\1, \g2, \g{3}, \g<4>, a condition (?(1)...), a call
 * (?1) or (?+1), (?R)): the branches before it shift the numbers (relative \g{-1}
 * stays right); nor a branch reset (?|...).  Cautious: a false no only costs speed. */
static int joinable(const char *x)
{
    if (strstr(x, "(*")) return 0;
    for (const char *p = x; *p; p++) {
        if (p[0] == '(' && p[1] == '?' &&
            (p[2] == '(' || p[2] == '|' || p[2] == '+' || p[2] == 'R' || (p[2] >= '0' && p[2] <= '9')))
            return 0;
        if (*p != '\\') continue;
        const char *q = p + 1;
        if (*q == 'g') q += q[1] == '{' || q[1] == '<' || q[1] == '\'' ? 2 : 1;
        if (*q >= '1' && *q <= '9') return 0;
        if (!*++p) break; /* the escaped character is not a backslash of its own */
    }
    return 1;
}

/* RS->setup_any: every `setup` pattern as one alternation, so that a statement is
 * matched once instead of once per pattern (~130 shipped: imports_only was the
 * costliest LF, ~100 us a cell).  It answers as the list does: a branch matches
 * where its pattern alone matches, and none matches only where no pattern does;
 * when PCRE2 gives up on the whole, or a pattern cannot join, the list decides.
 * Nothing is lost when it cannot be built. */
static void join_setup(struct ruleset *rs)
{
    pcre2_code_free(rs->setup_any);
    rs->setup_any = NULL;
    size_t len = 1;
    for (size_t i = 0; i < rs->n_setup; i++) {
        if (!joinable(rs->setup_re[i])) return;
        len += strlen(rs->setup_re[i]) + 6;
    }
    char *all = rs->n_setup > 1 ? malloc(len) : NULL;
    if (!all) return;
    size_t k = 0;
    for (size_t i = 0; i < rs->n_setup; i++)
        k += (size_t)sprintf(all + k, "%s(?:%s)", i ? "|" : "", rs->setup_re[i]);
    int code;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)all, k, PCRE2_MULTILINE, &code, &off, NULL);
    free(all);
    if (!c) return;
    pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    rs->setup_any = c;
}

/* One ruleset_load_text call's progress: what its directives read and move. */
struct loader {
    struct ruleset *rs;
    int file;      /* this call's number, as a rule's file (1, 2, ...) */
    int lineno;    /* the line being read, from 1 */
    long cur;      /* index of the rule being filled, or -1 */
    char why[512]; /* what is wrong with the line, said as "path:line: why" */
};

/* The longest rule name (a `rule` line's, a `disable` line's). */
#define RULE_NAME_MAX 127

/* A `rule` line's fields, checked. */
struct rule_header {
    char name[RULE_NAME_MAX + 1];
    int stage, level, silent;
};

/* Records PATH as RS's next file, the one its rules name (rule.file, paths[file - 1]);
 * that file's number, or -1 when out of memory. */
static int add_path(struct ruleset *rs, const char *path)
{
    char **paths = realloc(rs->paths, (size_t)(rs->files + 1) * sizeof *paths);
    if (paths) rs->paths = paths;
    if (!paths || !(rs->paths[rs->files] = strdup(path))) return -1;
    return ++rs->files;
}

/* Where TEXT's first line starts: after the byte-order mark a Windows editor's UTF-8
 * starts with (CRLF and CR line ends are read in next_line). */
static size_t skip_bom(const char *text, size_t len)
{
    return len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3) ? 3 : 0;
}

/* A copy of the line at *POS in TEXT[0..LEN), its line end and trailing blanks cut,
 * *N its length; *POS moved past it.  NULL when out of memory.  A line ends at LF,
 * CRLF or a CR alone, as Python's universal newlines read a file: one saved with old
 * Mac line ends (CR alone) read as a single line, refused as "FILE:1: expected: rule
 * NAME STAGE ...", which hid the cause; now it reads as the LF file, line for line. */
static char *next_line(const char *text, size_t len, size_t *pos, size_t *np)
{
    size_t e = *pos;
    while (e < len && text[e] != '\n' && text[e] != '\r') e++;
    size_t n = e - *pos;
    char *line = malloc(n + 1);
    if (!line) return NULL;
    memcpy(line, text + *pos, n);
    line[n] = 0;
    *pos = e + (e + 1 < len && text[e] == '\r' && text[e + 1] == '\n' ? 2 : 1);
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t')) line[--n] = 0;
    *np = n;
    return line;
}

/* P past its spaces and tabs. */
static char *skip_blanks(char *p)
{
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

/* Ends the word at S with a NUL; what follows it, blanks skipped. */
static char *split_word(char *s)
{
    while (*s && *s != ' ' && *s != '\t') s++;
    if (*s) *s++ = 0;
    return skip_blanks(s);
}

/* Whether NAME is one of RS->reserved (a built-in LF's). */
static int is_reserved(const struct ruleset *rs, const char *name)
{
    for (const char *const *b = rs->reserved; b && *b; b++)
        if (strcmp(*b, name) == 0) return 1;
    return 0;
}

/* H from a `rule` line's ARG, `NAME STAGE [job|show|hint] [silent]`; -1 with WHY set
 * when a field is missing, extra or wrong. */
static int parse_rule_header(const char *arg, struct rule_header *h, char *why, size_t whylen)
{
    char stage[32], level[32] = "job", flag[32] = "", extra[8];
    /* each word measured against its field first, as sscanf splits them: it cuts a
     * longer one and reads the rest as the next word, so that a 100 kB stage was
     * "expected: rule NAME STAGE ...", which did not say what was wrong */
    static const char *const field[] = {"rule name", "stage", "level", "word after the level"};
    const size_t most[] = {sizeof h->name - 1, sizeof stage - 1, sizeof level - 1, sizeof flag - 1};
    const char *w = arg;
    for (int i = 0; i < 4; i++) {
        while (isspace((unsigned char)*w)) w++;
        size_t n = 0;
        while (w[n] && !isspace((unsigned char)w[n])) n++;
        if (n > most[i]) {
            nb_error_fmt(why, whylen, "%s of %zu characters (at most %zu)", field[i], n, most[i]);
            return -1;
        }
        w += n;
    }
    int k = sscanf(arg, "%127s %31s %31s %31s %7s", h->name, stage, level, flag, extra);
    if (k == 3 && strcmp(level, "silent") == 0) { /* the level left out */
        strcpy(flag, level);
        strcpy(level, "job");
        k = 4;
    }
    if (k < 2 || k > 4 || (k == 4 && strcmp(flag, "silent") != 0)) {
        nb_error_fmt(why, whylen, "expected: rule NAME STAGE [job|show|hint] [silent]");
        return -1;
    }
    if (!valid_name(h->name)) { nb_error_fmt(why, whylen, "bad rule name '%s' (letters, digits, _ - .)", h->name); return -1; }
    h->stage = stage_from_key(stage);
    if (h->stage < 0) { nb_error_fmt(why, whylen, "unknown stage '%s' (load prep train evaluate explore imports)", stage); return -1; }
    h->level = strcmp(level, "job") == 0 ? LF_JOB : strcmp(level, "show") == 0 ? LF_SHOW
             : strcmp(level, "hint") == 0 ? LF_HINT : -1;
    if (h->level < 0) { nb_error_fmt(why, whylen, "unknown level '%s' (job, show or hint)", level); return -1; }
    h->silent = k == 4;
    return 0;
}

/* The index of the rule to fill for a name found at CUR (-1: not found): that one
 * cleared (a later file overrides), or a new empty one at the end; -1 when out of
 * memory. */
static long rule_slot(struct ruleset *rs, long cur)
{
    if (cur >= 0) {
        rule_clear(&rs->rules[cur]); /* a later file overrides */
        return cur;
    }
    void *q = realloc(rs->rules, (rs->n + 1) * sizeof *rs->rules);
    if (!q) return -1;
    rs->rules = q;
    cur = (long)rs->n++;
    memset(&rs->rules[cur], 0, sizeof rs->rules[cur]);
    return cur;
}

/* `rule NAME STAGE [LEVEL] [silent]`: starts rule NAME, which the pattern lines after
 * it fill. */
static int load_rule(struct loader *ld, const char *arg)
{
    struct ruleset *rs = ld->rs;
    struct rule_header h;
    if (parse_rule_header(arg, &h, ld->why, sizeof ld->why) < 0) return -1;
    if (is_reserved(rs, h.name)) {
        nb_error_fmt(ld->why, sizeof ld->why, "rule name '%s' is a built-in LF's (pick another name)", h.name);
        return -1;
    }
    ld->cur = find_rule(rs, h.name);
    /* a later file overrides by name; within one file a second rule of the
     * same name is a slip (a copy pasted and not renamed) that lost an LF */
    if (ld->cur >= 0 && rs->rules[ld->cur].file == ld->file) {
        nb_error_fmt(ld->why, sizeof ld->why, "rule %s is already defined at line %d of this file", h.name,
                     rs->rules[ld->cur].line);
        return -1;
    }
    if ((ld->cur = rule_slot(rs, ld->cur)) < 0) { nb_error_fmt(ld->why, sizeof ld->why, "out of memory"); return -1; }
    struct rule *r = &rs->rules[ld->cur];
    r->name = strdup(h.name);
    if (!r->name) { nb_error_fmt(ld->why, sizeof ld->why, "out of memory"); return -1; }
    r->stage = h.stage;
    r->level = h.level;
    r->silent = h.silent;
    r->line = ld->lineno;
    r->file = ld->file;
    return 0;
}

/* Whether NM is a macro name: capitals, digits and _, not starting with a digit. */
static int valid_macro_name(const char *nm)
{
    int ok = isupper((unsigned char)nm[0]) || nm[0] == '_';
    for (const char *c = nm; *c; c++)
        if (!isupper((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '_') ok = 0;
    return ok;
}

/* The index of macro NM in RS->defs, or RS->n_defs when there is none. */
static size_t find_macro(const struct ruleset *rs, const char *nm)
{
    size_t k;
    for (k = 0; k < rs->n_defs; k++)
        if (strcmp(rs->defs[k].name, nm) == 0) break;
    return k;
}

/* Sets macro K of RS (a new one named NM when K is n_defs) to X, which it then owns;
 * -1 when out of memory, X still the caller's. */
static int set_macro(struct loader *ld, size_t k, const char *nm, char *x)
{
    struct ruleset *rs = ld->rs;
    if (k == rs->n_defs) {
        void *q = realloc(rs->defs, (rs->n_defs + 1) * sizeof *rs->defs);
        if (q) rs->defs = q;
        /* a def without its name would crash the next lookup (strcmp, strlen) */
        char *name = q ? strdup(nm) : NULL;
        if (!name) return -1;
        rs->defs[k].name = name;
        rs->n_defs++;
    } else {
        free(rs->defs[k].re);
    }
    rs->defs[k].re = x;
    rs->defs[k].file = ld->file;
    rs->defs[k].line = ld->lineno;
    return 0;
}

/* `define NAME PATTERN`: macro {NAME}, which may use earlier macros; stored expanded,
 * checked by compiling. */
static int load_define(struct loader *ld, char *arg)
{
    struct ruleset *rs = ld->rs;
    const char *nm = arg;
    char *v = split_word(arg);
    if (!valid_macro_name(nm) || !*v) {
        nb_error_fmt(ld->why, sizeof ld->why, "expected: define NAME PATTERN (NAME in capitals)");
        return -1;
    }
    /* a later file redefines by name, as it overrides a rule; within one file a
     * second define of a name is a slip, as a second rule of a name is */
    size_t k = find_macro(rs, nm);
    if (k < rs->n_defs && rs->defs[k].file == ld->file) {
        nb_error_fmt(ld->why, sizeof ld->why, "macro %s is already defined at line %d of this file", nm,
                     rs->defs[k].line);
        return -1;
    }
    char *x = expand(rs, v, ld->why, sizeof ld->why);
    if (!x) return -1;
    pcre2_code *chk = compile(rs, v, ld->why, sizeof ld->why);
    if (!chk) { free(x); return -1; }
    pcre2_code_free(chk);
    if (set_macro(ld, k, nm, x) < 0) { free(x); nb_error_fmt(ld->why, sizeof ld->why, "out of memory"); return -1; }
    return 0;
}

/* Room in RS's three setup arrays for one more pattern; -1 when out of memory (the
 * arrays that grew stay, their length unchanged). */
static int setup_room(struct ruleset *rs)
{
    void **q = realloc(rs->setup, (rs->n_setup + 1) * sizeof *q);
    if (q) rs->setup = q;
    char **qr = q ? realloc(rs->setup_re, (rs->n_setup + 1) * sizeof *qr) : NULL;
    if (qr) rs->setup_re = qr;
    void *at = qr ? realloc(rs->setup_at, (rs->n_setup + 1) * sizeof *rs->setup_at) : NULL;
    if (!at) return -1;
    rs->setup_at = at;
    return 0;
}

/* `setup PATTERN`: a statement the imports built-in counts as set-up. */
static int load_setup(struct loader *ld, const char *arg)
{
    struct ruleset *rs = ld->rs;
    if (!*arg) { nb_error_fmt(ld->why, sizeof ld->why, "expected: setup PATTERN"); return -1; }
    char *x = expand(rs, arg, ld->why, sizeof ld->why);
    if (!x) return -1;
    pcre2_code *c = compile_expanded(arg, x, ld->why, sizeof ld->why);
    if (!c) { free(x); return -1; }
    if (setup_room(rs) < 0) {
        pcre2_code_free(c);
        free(x);
        nb_error_fmt(ld->why, sizeof ld->why, "out of memory");
        return -1;
    }
    rs->setup_re[rs->n_setup] = x;
    rs->setup_at[rs->n_setup].file = ld->file;
    rs->setup_at[rs->n_setup].line = ld->lineno;
    rs->setup[rs->n_setup++] = c;
    /* the alternation and the prefilter lack this one until the file has loaded
     * (join_setup, setup_prefilter_build); should the file fail, the list answers
     * alone (a prefilter without its strings would rule this pattern's statements out) */
    pcre2_code_free(rs->setup_any);
    rs->setup_any = NULL;
    litscan_free(rs->setup_lits);
    rs->setup_lits = NULL;
    return 0;
}

/* The index of NAME in RS->disabled, or RS->n_disabled when it is not there. */
static size_t find_disabled(const struct ruleset *rs, const char *name)
{
    size_t d;
    for (d = 0; d < rs->n_disabled; d++)
        if (strcmp(rs->disabled[d].name, name) == 0) break;
    return d;
}

/* Notes NAME as disabled at the loader's line, in entry D of RS->disabled (a new one
 * when D is n_disabled); -1 when out of memory. */
static int note_disabled(struct loader *ld, size_t d, const char *name)
{
    struct ruleset *rs = ld->rs;
    if (d == rs->n_disabled) {
        void *q = realloc(rs->disabled, (d + 1) * sizeof *rs->disabled);
        char *nm = q ? strdup(name) : NULL;
        if (q) rs->disabled = q;
        if (!nm) return -1;
        rs->disabled[d].name = nm;
        rs->n_disabled++;
    }
    rs->disabled[d].file = ld->file;
    rs->disabled[d].line = ld->lineno;
    return 0;
}

/* Removes rule K from RS, the rules after it moved down (they keep their order). */
static void remove_rule(struct ruleset *rs, long k)
{
    rule_clear(&rs->rules[k]);
    memmove(&rs->rules[k], &rs->rules[k + 1], (rs->n - (size_t)k - 1) * sizeof *rs->rules);
    rs->n--;
}

/* `disable NAME`: removes rule NAME, loaded before; no rule is being filled after it. */
static int load_disable(struct loader *ld, const char *arg)
{
    struct ruleset *rs = ld->rs;
    /* a bare `disable` (or two names) is a slip in the line, not a rule named '' */
    if (!*arg || arg[strcspn(arg, " \t")]) {
        nb_error_fmt(ld->why, sizeof ld->why, "expected: disable NAME");
        return -1;
    }
    size_t len = strlen(arg);
    if (len > RULE_NAME_MAX) { /* no rule has such a name: say why, not "no rule named" it */
        nb_error_fmt(ld->why, sizeof ld->why, "disable: rule name of %zu characters (at most %d)", len, RULE_NAME_MAX);
        return -1;
    }
    long k = find_rule(rs, arg);
    size_t d = find_disabled(rs, arg);
    if (k < 0 && d < rs->n_disabled) {
        /* "no rule named" read as if the rule never was: an earlier file
         * disabled it, so this file's wish is done; within one file it is a
         * slip, said as a name defined twice is */
        if (rs->disabled[d].file != ld->file) { ld->cur = -1; return 0; }
        nb_error_fmt(ld->why, sizeof ld->why, "rule %s is already disabled at line %d of this file", arg,
                     rs->disabled[d].line);
        return -1;
    }
    if (k < 0) {
        if (is_reserved(rs, arg))
            nb_error_fmt(ld->why, sizeof ld->why, "disable: '%s' is a built-in LF, not a rule (only rules can be "
                         "disabled)", arg);
        else
            nb_error_fmt(ld->why, sizeof ld->why, "disable: no rule named '%s'", arg);
        return -1;
    }
    if (note_disabled(ld, d, arg) < 0) { nb_error_fmt(ld->why, sizeof ld->why, "out of memory"); return -1; }
    remove_rule(rs, k);
    ld->cur = -1;
    return 0;
}

/* `any`, `all`, `none` or `string` (KW) PATTERN: a line of the rule being filled. */
static int load_pattern(struct loader *ld, const char *kw, const char *arg)
{
    if (ld->cur < 0) {
        nb_error_fmt(ld->why, sizeof ld->why, "'%s' outside a rule (start one with: rule NAME STAGE)", kw);
        return -1;
    }
    if (!*arg) { nb_error_fmt(ld->why, sizeof ld->why, "expected: %s PATTERN", kw); return -1; }
    struct rule_pattern *c = intern(ld->rs, arg, kw[0] == 's', ld->why, sizeof ld->why);
    if (!c) return -1;
    struct rule *r = &ld->rs->rules[ld->cur];
    int rc = kw[0] == 'a' && kw[1] == 'n' ? push(&r->any, &r->n_any, c)
           : kw[0] == 'a' ? push(&r->all, &r->n_all, c)
           : kw[0] == 'n' ? push(&r->none, &r->n_none, c)
           : push(&r->str, &r->n_str, c);
    if (rc < 0) { nb_error_fmt(ld->why, sizeof ld->why, "out of memory"); return -1; }
    return 0;
}

/* The directive KW with its argument ARG (the rest of the line); -1 with LD->why set. */
static int load_directive(struct loader *ld, const char *kw, char *arg)
{
    if (strcmp(kw, "rule") == 0) return load_rule(ld, arg);
    if (strcmp(kw, "define") == 0) return load_define(ld, arg);
    if (strcmp(kw, "setup") == 0) return load_setup(ld, arg);
    if (strcmp(kw, "disable") == 0) return load_disable(ld, arg);
    if (strcmp(kw, "any") == 0 || strcmp(kw, "all") == 0 || strcmp(kw, "none") == 0 ||
        strcmp(kw, "string") == 0)
        return load_pattern(ld, kw, arg);
    size_t len = strlen(kw);
    if (len > 32) /* a word of kilobytes (a pattern's line run into it) shown in full said little */
        nb_error_fmt(ld->why, sizeof ld->why, "unknown keyword of %zu characters, '%.20s...' (rule, any, all, none, "
                     "string, define, setup, disable)", len, kw);
    else
        nb_error_fmt(ld->why, sizeof ld->why, "unknown keyword '%s' (rule, any, all, none, string, define, setup, "
                     "disable)", kw);
    return -1;
}

/* LINE, of N bytes trimmed at its end: 1 when it is a directive, 0 when it is blank
 * or a comment, -1 with LD->why set when it is wrong. */
static int load_line(struct loader *ld, char *line, size_t n)
{
    char *kw = skip_blanks(line);
    if (*kw == 0 || *kw == '#') return 0;
    if (memchr(line, 0, n) != NULL && strlen(line) != n) {
        nb_error_fmt(ld->why, sizeof ld->why, "NUL byte in line");
        return -1;
    }
    char *arg = split_word(kw); /* the rest of the line, a pattern may contain spaces */
    return load_directive(ld, kw, arg) < 0 ? -1 : 1;
}

/* 0, or -1 with ERR naming RS's first rule with no any/all/string pattern: one that
 * could never fire. */
static int check_rules_can_fire(const struct ruleset *rs, const char *path, char *err, size_t errlen)
{
    for (size_t i = 0; i < rs->n; i++) {
        const struct rule *r = &rs->rules[i];
        if (r->n_any + r->n_all + r->n_str == 0) {
            nb_error_fmt(err, errlen, "%s:%d: rule %s has no any/all/string pattern, it could never fire",
                         path, r->line, r->name);
            return -1;
        }
    }
    return 0;
}

static void prefilter_clear(struct ruleset *rs)
{
    for (size_t i = 0; i < rs->n_patterns; i++) {
        struct rule_pattern *p = rs->patterns[i];
        free(p->need);
        p->need = NULL;
        p->n_need = 0;
        p->lits = NULL;
    }
    litscan_free(rs->lits);
    rs->lits = NULL;
    litscan_free(rs->setup_lits);
    rs->setup_lits = NULL;
}

/* The setup patterns' prefilter: every string of every one of them, or none when one
 * pattern has none (it could match any statement).  0, or -1 when out of memory. */
static int setup_prefilter_build(struct ruleset *rs)
{
    struct litscan *ls = litscan_new();
    if (!ls) return -1;
    for (size_t i = 0; i < rs->n_setup; i++) {
        struct relit_set set;
        if (relit_required(rs->setup_re[i], strlen(rs->setup_re[i]), &set) != 0) { litscan_free(ls); return -1; }
        int ok = set.n > 0;
        for (size_t k = 0; ok && k < set.n; k++) ok = litscan_add(ls, set.v[k].s, set.v[k].len, set.v[k].caseless) >= 0;
        int none = set.n == 0;
        relit_set_free(&set);
        if (!ok) { litscan_free(ls); return none ? 0 : -1; }
    }
    if (litscan_build(ls) != 0 || litscan_count(ls) == 0) { litscan_free(ls); return 0; }
    rs->setup_lits = ls;
    return 0;
}

/* The patterns' prefilter (rules.h, relit.h): made again after each file, as an
 * automaton takes no strings once built.  `label` spent 78% of its time in PCRE2
 * (2026-12-03), mostly on patterns whose words a cell does not have; one pass over
 * a view now rules those out.  Out of memory, no pattern is filtered: slower, the
 * same answers. */
static void prefilter_build(struct ruleset *rs)
{
    prefilter_clear(rs);
    struct litscan *ls = litscan_new();
    int ok = ls != NULL;
    for (size_t i = 0; ok && i < rs->n_patterns; i++) {
        struct rule_pattern *p = rs->patterns[i];
        struct relit_set set;
        if (relit_required(p->text, strlen(p->text), &set) != 0) { ok = 0; break; }
        if (set.n && (p->need = malloc(set.n * sizeof *p->need)) == NULL) ok = 0;
        for (size_t k = 0; ok && k < set.n; k++)
            if ((p->need[k] = litscan_add(ls, set.v[k].s, set.v[k].len, set.v[k].caseless)) < 0) ok = 0;
        if (ok) p->n_need = (int)set.n;
        relit_set_free(&set);
    }
    if (!ok || litscan_build(ls) != 0 || litscan_count(ls) == 0) {
        litscan_free(ls);
        prefilter_clear(rs);
        return;
    }
    rs->lits = ls;
    for (size_t i = 0; i < rs->n_patterns; i++) rs->patterns[i]->lits = ls;
}

int ruleset_load_text(struct ruleset *rs, const char *text, size_t len, const char *path,
                      char *err, size_t errlen)
{
    struct loader ld = { .rs = rs, .cur = -1 };
    int directives = 0;
    if ((ld.file = add_path(rs, path)) < 0) { nb_error_fmt(err, errlen, "%s: out of memory", path); return -1; }
    size_t pos = skip_bom(text, len);
    while (pos < len) {
        size_t n;
        ld.lineno++;
        char *line = next_line(text, len, &pos, &n);
        if (!line) { nb_error_fmt(err, errlen, "%s: out of memory", path); return -1; }
        int rc = load_line(&ld, line, n);
        free(line);
        if (rc < 0) { nb_error_fmt(err, errlen, "%s:%d: %s", path, ld.lineno, ld.why); return -1; }
        directives += rc;
    }
    /* `--rules mine.txt` naming an empty file (a script's output that failed, the
     * wrong file) ran on the other rules without a word */
    if (!directives) {
        nb_error_fmt(err, errlen, "%s: no rules in it (%s)", path,
                     ld.lineno ? "only comments and blank lines" : "an empty file");
        return -1;
    }
    if (check_rules_can_fire(rs, path, err, errlen) < 0) return -1;
    join_setup(rs);
    prefilter_build(rs);
    setup_prefilter_build(rs); /* failing, every statement is matched */
    return 0;
}

int ruleset_load_file(struct ruleset *rs, const char *path, char *err, size_t errlen)
{
    char why[PATH_MAX + 64];
    FILE *f = nb_fopen_input(path, "a rules file", why, sizeof why); /* a FIFO refused, not waited on */
    if (!f) { nb_error_fmt(err, errlen, "%s: %s", path, why); return -1; }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n + 65536 > cap) {
            cap = cap ? 2 * cap : 65536;
            char *q = realloc(buf, cap);
            if (!q) { free(buf); fclose(f); nb_error_fmt(err, errlen, "%s: out of memory", path); return -1; }
            buf = q;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f) ? errno : 0;
    fclose(f);
    if (bad) { free(buf); nb_error_fmt(err, errlen, "%s: read error: %s", path, strerror(bad)); return -1; }
    int rc = ruleset_load_text(rs, buf ? buf : "", n, path, err, errlen);
    free(buf);
    return rc;
}

/* A thread's scratch: PCRE2's match data, and match contexts with the limits, for
 * JIT-compiled patterns and for the interpreter (which counts its steps its own way);
 * the answers of the rule patterns on the current view (rules_match_begin):
 * answer[id] holds for it when stamp[id] == gen; and which of the prefilter's
 * strings occur in the view's code ([0]) and strings ([1]), found when a pattern
 * first asks (found_gen[k] == gen, by the automaton found_by[k]). */
struct matcher {
    pcre2_match_data *md;
    pcre2_match_context *jit, *interp;
    pcre2_jit_stack *jit_stack; /* NULL where PCRE2 has no JIT */
    const struct pyview *view;
    unsigned gen;
    unsigned *stamp;
    int *answer;
    size_t cap;
    uint64_t *found[2];
    size_t found_words;
    unsigned found_gen[2];
    const struct litscan *found_by[2];
};

void *rules_match_data(void)
{
    struct matcher *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->md = pcre2_match_data_create(4, NULL);
    m->jit = pcre2_match_context_create(NULL);
    m->interp = pcre2_match_context_create(NULL);
    if (!m->md || !m->jit || !m->interp) { rules_match_data_free(m); return NULL; }
    pcre2_set_depth_limit(m->interp, RULES_DEPTH_LIMIT);
    pcre2_set_heap_limit(m->interp, RULES_HEAP_LIMIT);
    m->jit_stack = pcre2_jit_stack_create(32 * 1024, RULES_JIT_STACK, NULL);
    if (m->jit_stack) pcre2_jit_stack_assign(m->jit, NULL, m->jit_stack);
    return m;
}

void rules_match_data_free(void *md)
{
    struct matcher *m = md;
    if (!m) return;
    pcre2_match_data_free(m->md);
    pcre2_match_context_free(m->jit);
    pcre2_match_context_free(m->interp);
    pcre2_jit_stack_free(m->jit_stack);
    free(m->stamp);
    free(m->answer);
    free(m->found[0]);
    free(m->found[1]);
    free(m);
}

void rules_match_begin(void *md, const struct pyview *v)
{
    struct matcher *m = md;
    m->view = v;
    if (++m->gen == 0) { /* wrapped: no stamp may look current */
        if (m->cap) memset(m->stamp, 0, m->cap * sizeof *m->stamp);
        m->found_gen[0] = m->found_gen[1] = 0;
        m->gen = 1;
    }
}

void rules_error_message(int code, char *out, size_t outlen)
{
    if (pcre2_get_error_message(code, (PCRE2_UCHAR *)out, outlen) < 0 && outlen)
        snprintf(out, outlen, "PCRE2 error %d", code);
}

int rules_error_is_limit(int code)
{
    return code == PCRE2_ERROR_MATCHLIMIT || code == PCRE2_ERROR_DEPTHLIMIT ||
           code == PCRE2_ERROR_HEAPLIMIT || code == PCRE2_ERROR_JIT_STACKLIMIT;
}

/* The match limit for a view of LEN bytes: LIMIT, or PER_BYTE steps a byte on a view
 * long enough for that to be more (rules.h). */
static uint32_t limit_for(uint32_t limit, uint32_t per_byte, size_t len)
{
    uint64_t scaled = (uint64_t)len * per_byte;
    if (scaled <= limit) return limit;
    return scaled < UINT32_MAX ? (uint32_t)scaled : UINT32_MAX;
}

/* 1 match, 0 no match, or PCRE2's negative error code when it gave up. */
static int match(void *re, int jit, const char *s, size_t len, struct matcher *m)
{
    pcre2_match_context *ctx = jit ? m->jit : m->interp;
    pcre2_set_match_limit(ctx, jit ? limit_for(RULES_MATCH_LIMIT, RULES_MATCH_PER_BYTE, len)
                                   : limit_for(RULES_MATCH_LIMIT_INTERP, RULES_MATCH_PER_BYTE_INTERP, len));
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, m->md, ctx);
    return rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : rc;
}

static int hit(void *re, const char *s, size_t len, void *md)
{
    size_t jit = 0;
    pcre2_pattern_info(re, PCRE2_INFO_JITSIZE, &jit);
    return match(re, jit != 0, s, len, md);
}

/* 1 when none of P's required strings occur in S[0..LEN), its view of the current
 * one (kind K: 0 code, 1 strings): P cannot match there.  The strings found are
 * looked for once per view, at the first pattern that asks. */
static int ruled_out(const struct rule_pattern *p, int k, const char *s, size_t len, struct matcher *m)
{
    if (!p->n_need) return 0;
    size_t words = (litscan_count(p->lits) + 63) / 64;
    if (words > m->found_words) {
        for (int i = 0; i < 2; i++) {
            uint64_t *f = realloc(m->found[i], words * sizeof *f);
            if (!f) return 0; /* out of memory: matched, as without the prefilter */
            m->found[i] = f;
            m->found_gen[i] = 0;
        }
        m->found_words = words;
    }
    if (m->found_gen[k] != m->gen || m->found_by[k] != p->lits) {
        litscan_run(p->lits, s, len, m->found[k]);
        m->found_gen[k] = m->gen;
        m->found_by[k] = p->lits;
    }
    for (int i = 0; i < p->n_need; i++)
        if (litscan_found(m->found[k], p->need[i])) return 0;
    return 1;
}

/* Whether P matches its view of V, found once per view begun (rules_match_begin). */
static int pattern_hit(const struct rule_pattern *p, const struct pyview *v, struct matcher *m)
{
    const char *s = p->strings ? v->strings : v->code;
    size_t len = p->strings ? v->strings_len : v->code_len;
    if (m->view != v) return match(p->code, p->jit, s, len, m);
    size_t id = (size_t)p->id;
    if (id >= m->cap) {
        size_t cap = 2 * id + 64;
        unsigned *st = realloc(m->stamp, cap * sizeof *st);
        if (st) m->stamp = st;
        int *an = st ? realloc(m->answer, cap * sizeof *an) : NULL;
        if (!an) return match(p->code, p->jit, s, len, m); /* out of memory: not kept */
        m->answer = an;
        memset(m->stamp + m->cap, 0, (cap - m->cap) * sizeof *st);
        m->cap = cap;
    }
    if (m->stamp[id] != m->gen) {
        m->answer[id] = ruled_out(p, p->strings, s, len, m) ? 0 : match(p->code, p->jit, s, len, m);
        m->stamp[id] = m->gen;
    }
    return m->answer[id];
}

/* A rule is (any_1 or any_2 ...) and all_1 and ... and string_1 ... and not none_1 ...,
 * each line yes, no or unknown (PCRE2 gave up): a line that decides the rule decides
 * it whatever the unknown ones would have said, so the answer is the same in any
 * order of evaluation; else one unknown leaves the rule unknown (its first code). */
int rule_matches(const struct rule *r, const struct pyview *v, void *md)
{
    int unknown = 0, h;
    if (r->n_any) {
        int ok = 0;
        for (int i = 0; !ok && i < r->n_any; i++) {
            h = pattern_hit(r->any[i], v, md);
            if (h > 0) ok = 1;
            else if (h < 0 && !unknown) unknown = h;
        }
        if (ok) unknown = 0; /* one `any` that matches decides them all */
        else if (!unknown) return 0;
    }
    for (int i = 0; i < r->n_all; i++) {
        h = pattern_hit(r->all[i], v, md);
        if (h == 0) return 0;
        if (h < 0 && !unknown) unknown = h;
    }
    for (int i = 0; i < r->n_str; i++) {
        h = pattern_hit(r->str[i], v, md);
        if (h == 0) return 0;
        if (h < 0 && !unknown) unknown = h;
    }
    for (int i = 0; i < r->n_none; i++) {
        h = pattern_hit(r->none[i], v, md);
        if (h > 0) return 0;
        if (h < 0 && !unknown) unknown = h;
    }
    return unknown ? unknown : 1;
}

int ruleset_is_setup(const struct ruleset *rs, const char *s, size_t len, void *md, size_t *which)
{
    if (rs->setup_lits && !litscan_any(rs->setup_lits, s, len)) return 0; /* no setup pattern can match */
    if (rs->setup_any) {
        int h = hit(rs->setup_any, s, len, md);
        if (h >= 0) return h; /* else the list says which pattern gave up, if one does */
    }
    int unknown = 0;
    for (size_t i = 0; i < rs->n_setup; i++) {
        int h = hit(rs->setup[i], s, len, md);
        if (h > 0) return 1;
        if (h < 0 && !unknown) {
            unknown = h;
            if (which) *which = i;
        }
    }
    return unknown;
}

static int readable(const char *p) { return access(p, R_OK) == 0; }

int rules_default_path(char *out, size_t outlen)
{
    const char *env = getenv("NBSTAGE_RULES");
    if (env && *env) { snprintf(out, outlen, "%s", env); return readable(out) ? 0 : -1; }
    return share_file_find("rules.txt", out, outlen);
}
