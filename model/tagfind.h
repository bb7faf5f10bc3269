/* tagfind.h — the notebooks a `nbstage tag` run is given.
 *
 * Owns: turning the PATH arguments into the list of notebooks to tag: files as given,
 * folders walked recursively (nbformat's nb_walk: *.ipynb in any case, skipping hidden files and
 * folders, .ipynb_checkpoints among them), a folder named like a notebook kept as a
 * file (so that its read reports the mistake), and later mentions of a file already
 * listed dropped, since two threads must never write one file.
 */
#ifndef NBSTAGE_TAGFIND_H
#define NBSTAGE_TAGFIND_H

#include <stddef.h>

/* {0} is an empty list. */
struct tagfind {
    char **path; /* path[0 .. n), malloc'd, in the order found */
    size_t n, cap;
    long failed; /* folders that could not be walked (each reported on stderr) */
};

/* Adds what the PATH argument ARG names ("-", standard input, as it is).  0, or -1
 * when out of memory. */
int tagfind_add(struct tagfind *f, const char *arg);

/* Drops later mentions of a file already listed (`tag dir dir/a.ipynb`).  0, or -1
 * when out of memory. */
int tagfind_dedup(struct tagfind *f);

/* Frees the paths still in F and its array. */
void tagfind_free(struct tagfind *f);

#endif
