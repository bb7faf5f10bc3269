/* nbinternal.h — what the parts of the notebook library share, and nobody else.
 *
 * Owns: nothing by itself; declares the helpers that nbread.c, nblines.c and nbv3.c
 * use across files, and the parts of nbsave.c's atomic save that outfile.c shares.
 * Users of the library include notebook.h only.
 */
#ifndef NBSTAGE_NBINTERNAL_H
#define NBSTAGE_NBINTERNAL_H

#include <sys/stat.h>

#include "nbformat/notebook.h"

/* Fills ERR (when not NULL) printf-style. */
void nb_set_error(nb_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A string, or a list of strings joined (non-strings skipped); "" for anything else.
 * malloc'd and NUL-terminated (the text itself may hold NULs: see *LEN).  NULL only
 * when out of memory. */
char *nb_join_text(const json_t *v, size_t *len);

/* Length of the line break at S[I] as Python's str.splitlines sees it (\n, \r, \r\n,
 * \v, \f, \x1c-\x1e, U+0085, U+2028, U+2029 in UTF-8), 0 when there is none. */
size_t nb_line_break_len(const unsigned char *s, size_t n, size_t i);

/* Python's repr(float) of X, as the canonical writer prints reals (nbwrite.c); also
 * used by canonscan.c to tell a canonical real from another spelling. */
void nb_float_repr(double x, char *out, size_t outsz);

/* What nb_save_atomic (nbsave.c) and outfile.c share.  nb_save_target: where a
 * save of PATH goes (through a symlink at PATH to its target) and whether it may: an
 * existing file must be a regular one with a write bit that we may write ("PATH:
 * read-only file, left untouched"); the mode the new file gets (the old one's, else
 * 0666 & ~umask).  0, or -1 and ERR; T->real is malloc'd (free it) on success. */
struct nb_save_target {
    char *real;         /* what a symlink at PATH points to, else NULL */
    const char *target; /* real, or PATH */
    struct stat st;     /* the existing file's, when existed */
    mode_t mode;        /* for the new file */
    int existed;
};
int nb_save_target(const char *path, struct nb_save_target *t, nb_error *err);
/* An output PATH that is a folder, refused: -1 and ERR "PATH: is a directory, not a
 * file to write", the word an input that is one gets ("PATH: is a directory, not a
 * notebook": nb_open_input).  One wording for every writer: outfile_check's early
 * check and the open of nb_output_open_special (outfile_open, tag -o). */
int nb_output_is_dir(const char *path, nb_error *err);
/* Whether PATH, which is not there, can name a new file: -1 and ERR for an empty
 * name or one ending in '/' (a folder's), which a save would otherwise find only at
 * its rename, after all the work; 0 otherwise. */
int nb_save_new_name(const char *path, nb_error *err);
/* A temporary .NAME.nbstage-XXXXXX beside TARGET (mkostemp, O_CLOEXEC; NAME cut to
 * fit NAME_MAX, at a character's start): its descriptor, with *TMP and *DIR (TARGET's
 * folder) malloc'd; -1 and ERR naming PATH.  The descriptor holds an exclusive flock
 * of the file: the caller keeps it, or a descriptor dup'd from it, open until the
 * temporary is renamed or removed.  The folder is swept first, once in a run
 * (nb_save_sweep).
 * NOTE (may be NULL) is told the name's buffer before the file is made (LIVE 1: mkostemp
 * fills it in place) and, if making it fails, before the buffer is freed (LIVE 0). */
int nb_save_mktemp(const char *path, const char *target, char **tmp, char **dir,
                   void (*note)(char *tmp, int live), nb_error *err);

/* The temporaries a save killed before its rename left (SIGKILL, the OOM killer, a
 * power cut): nb_save_temp_name, whether NAME is one of nb_save_mktemp's
 * (".NAME.nbstage-" and six of mkostemp's letters).  nb_save_leftover, whether PATH is
 * a leftover: a regular file of that name (no symlink followed) that we can open and
 * lock without waiting (no live save holds it) and untouched for NB_LEFTOVER_AGE
 * seconds (a live save's is fresh in the instant between its mkostemp and its flock);
 * 0 when not, 1 when it is, 2 when REMOVE removed it, said on stderr, one line.
 * nb_save_sweep: removes the leftovers in folder DIR (nb_save_leftover), the first
 * time it is asked in the run for DIR (the same spelling, a trailing '/' aside) and
 * never again.  nb_save_swept: DIR is taken as swept from now on (a walk read it and
 * noted its leftovers, removed at the end of the run: nbwalk.c), so no save reads it
 * again. */
#define NB_LEFTOVER_AGE 60
int nb_save_temp_name(const char *name);
int nb_save_leftover(const char *path, int remove);
void nb_save_sweep(const char *dir);
void nb_save_swept(const char *dir);
/* Gives FD the old file's owner and group (the group alone if the owner cannot be;
 * compared with FD's own, which a setgid folder sets) and its extended attributes
 * (POSIX ACLs among them; those we may not set left out), after removing the access
 * ACL FD inherited from a folder's default ACL. */
void nb_save_owner(int fd, const struct nb_save_target *t);

/* nbformat.v4.convert.upgrade from 3, in place (see nbv3.c). */
int nb_upgrade_v3(json_t *nb, const char *name, nb_error *err);

#endif
