/* nblang.h — a notebook's language: Python, or one whose cells nbstage cannot read.
 *
 * Owns: the one rule by which `tag`, `summary`, `ingest` and `classify FILE` tell a
 * Python notebook from another (R, Julia, Scala, SQL...).  The rules and the model
 * read Python, so another language's cells would get stages that mean nothing; the
 * commands leave such a notebook alone and say so.  The rule:
 *   - the language is metadata.language_info.name (what the kernel said it runs),
 *     else metadata.kernelspec.language, whichever is first a string with more than
 *     white space in it;
 *   - compared in ASCII lower case, white space left out: "python", "python2",
 *     "python3" (any "python" and a version, digits and dots: "python3.11") and
 *     "ipython" and "pyspark" (sparkmagic's PySpark kernel) are Python;
 *   - a notebook with neither is taken as Python: most notebooks written by scripts
 *     carry no language (55 of the shared corpus's 5,382).
 * Two ways in, one answer: a notebook's tree (nb_lang_of_tree), or the bytes of its
 * top-level "metadata" object as the byte scanners find it (nb_lang_of_metadata:
 * nbformat/canonscan.h, nbformat/cellscan.h, which have checked those bytes as JSON).
 * The same rule for a language given alone (nb_lang_of_name): a kernelspec's
 * "language", which `install-kernel` will not wrap unless Python.
 * And a tally of the languages left alone, for the commands' reports ("r 2, julia 1").
 */
#ifndef NBSTAGE_NBLANG_H
#define NBSTAGE_NBLANG_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define NB_LANG_NAME 32

struct nb_lang {
    int python; /* 1: Python, or no language given */
    char name[NB_LANG_NAME]; /* as said in messages: the language given, trimmed, in
                              * lower case, printable ASCII ('?' for other bytes), cut
                              * to fit; "" when none was given */
};

/* NB's language (NB, its top-level object, may be anything: not an object is no
 * language, so Python). */
void nb_lang_of_tree(const json_t *nb, struct nb_lang *out);

/* The same from the bytes of the top-level "metadata" object, META[0..LEN) (LEN 0:
 * the notebook has none).  The bytes must be JSON, as the scanners that give them
 * have checked.  0; or -1 when out of memory, the language unknown (never "Python":
 * tag would have tagged an R notebook): the caller reads the notebook whole instead
 * (nb_lang_of_tree), which fails as out of memory in turn. */
int nb_lang_of_metadata(const char *meta, size_t len, struct nb_lang *out);

/* The language named by S, N bytes (S NULL, or nothing but white space: none given,
 * so Python): a kernel.json's "language" (kernel/cmd_install_kernel.c). */
void nb_lang_of_name(const char *s, size_t n, struct nb_lang *out);

/* Notebooks left alone, by language, for a command's report. */
enum { NB_LANG_KINDS = 8 };
struct nb_lang_tally {
    long total;
    size_t n; /* kinds used */
    struct {
        char name[NB_LANG_NAME];
        long count;
    } kind[NB_LANG_KINDS];
    long other; /* of languages beyond NB_LANG_KINDS */
};

void nb_lang_tally_add(struct nb_lang_tally *t, const struct nb_lang *l);
/* "r 2, julia 1" (the most frequent first, then in the order met; "other N" last). */
void nb_lang_tally_print(FILE *to, const struct nb_lang_tally *t);

#endif
