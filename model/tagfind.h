/* tagfind.h — the notebooks a `nbstage tag` run is given.
 *
 * Owns: turning the PATH arguments into the list of notebooks to tag: files as given,
 * folders walked recursively (nbformat's nb_walk: *.ipynb in any case, skipping hidden files and
 * folders, .ipynb_checkpoints among them), a folder named like a notebook kept as a
 * file (so that its read reports the mistake), and a file met again under another name
 * (`tag dir dir/a.ipynb`, a symlink beside its target) passed over, since two threads
 * must never write one file.  "The same file" is nbformat/fileonce.h's rule, the one
 * fmt, summary and ingest walk by: equal realpaths; a hard link is another file.
 */
#ifndef NBSTAGE_TAGFIND_H
#define NBSTAGE_TAGFIND_H

#include <stddef.h>

#include "nbformat/fileonce.h"

/* {0} is an empty list. */
struct tagfind {
    char **path; /* path[0 .. n), malloc'd, in the order found, each file once */
    size_t n, cap;
    long failed;          /* paths that could not be looked at, not folders (each reported
                           * on stderr): a dangling symlink, a PATH that does not exist */
    long folders_failed;  /* folders that could not be walked (each reported on stderr) */
    long found;           /* the files the walks met, those met again included */
    struct fileonce met;  /* the files listed */
};

/* Adds what the PATH argument ARG names ("-", standard input, as it is), but the files
 * listed already under another name.  A folder without notebooks is said on stderr, as
 * fmt, summary and ingest say it (most often the wrong folder, which --check would pass).
 * 0, or -1 when out of memory. */
int tagfind_add(struct tagfind *f, const char *arg);

/* Frees the paths still in F, its array and its set of files met. */
void tagfind_free(struct tagfind *f);

#endif
