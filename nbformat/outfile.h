/* outfile.h — every output file of the programs, other than tag's notebooks, written
 * atomically by one writer.
 *
 * Owns: the writing of ingest -o, train's model (-o) and learning curves (--curves),
 * label -o / --report / --svg, eval --errors / --svg, summary --svg and the notebooks
 * fmt rewrites (tag saves its own with nb_save_atomic_flags).  The promise
 * is nb_save_atomic's (nbsave.c), for a file written a piece at a time through stdio:
 * the bytes go to a fresh temporary beside the file (mkostemp, so two runs never share
 * one and no symlink planted there is followed; locked until its rename or removal, so
 * that the next save into the folder tells it from a killed run's leftover, which it
 * removes: nb_save_sweep), fsynced and renamed over it only once all are written; a write error (ENOSPC, EFBIG), a refusal or a caller's change of
 * mind (outfile_abort) leaves the old file byte for byte and no temporary.  As in
 * nb_save_atomic: a symlink at PATH is written through (one to nothing makes its
 * target, as `>` does, if the target's folder is there); an existing file keeps its
 * mode, owner, group and extended attributes (ACLs), a new one gets 0666 & ~umask;
 * an existing read-only file (no write bit, even for root) or one we may not write
 * is refused, and a folder too.  A device or a FIFO (/dev/null, /dev/stdout) is
 * written straight into, as a shell's `>` does (nb_output_open_special): a rename
 * would replace the node.  "-" is refused (a file named "-" is never what was meant;
 * "./-" names one): callers that take it for stdout say so themselves, before.
 *
 * Why one writer: these outputs had six ways to be written, two of them (fopen "w")
 * losing the old file on any error and one following a symlink at a fixed PATH.tmp.
 */
#ifndef NBSTAGE_OUTFILE_H
#define NBSTAGE_OUTFILE_H

#include <stdio.h>
#include <sys/stat.h>

#include "nbformat/notebook.h"

struct outfile {
    FILE *f;      /* write into this between outfile_open and outfile_commit */
    /* the rest is the writer's */
    char *path;   /* as given, for messages */
    char *tmp;    /* the temporary; NULL when writing straight into a device or FIFO */
    char *target; /* what the temporary is renamed over (a symlink at PATH resolved) */
    char *dir;    /* the target's folder, fsynced after the rename */
    int fd;       /* under F */
    int hold;     /* the temporary again, open until its rename or unlink, after F is
                   * closed: its flock says a live save (nbsave.c); 3 or more when open */
    int werr;     /* the first write error's errno (stdio's own is not kept) */
    int replacing;       /* outfile_replace: the rename only while TARGET is WAS */
    struct stat was;
};

/* Opens PATH for writing: 0, or -1 and ERR ("PATH: read-only file, left untouched",
 * "PATH: is a directory, not a file to write", "PATH: cannot create a temporary file in DIR: reason"...).
 * The struct must stay where it is until committed or aborted (F refers to it). */
int outfile_open(struct outfile *o, const char *path, nb_error *err);

/* outfile_open for a file read before and now rewritten (fmt's notebooks): PATH must
 * be a regular file (a device or FIFO is refused, never written into), and the commit
 * renames over it only while it is still the file WAS describes (its stat when read:
 * nb_file_unchanged), looked at just before the rename; else -1 and ERR "PATH:
 * changed while being written, left as it is now", the temporary removed.  Someone
 * who may change the folder (a colleague's tree, a Jupyter autosave) cannot have the
 * name point elsewhere between the read and the write and get another file replaced. */
int outfile_replace(struct outfile *o, const char *path, const struct stat *was, nb_error *err);

/* Flushes, checks every write, fsyncs and renames over PATH (into a device or FIFO:
 * flushes and closes).  0; or -1 and ERR ("PATH: write error: reason"), the old file
 * untouched and the temporary removed; or -1 and ERR "PATH: written, but syncing its
 * folder DIR failed: reason": the new file in place, its rename maybe not on disk.
 * Either way O is released. */
int outfile_commit(struct outfile *o, nb_error *err);

/* Drops what was written: the temporary removed, PATH untouched.  A no-op on a
 * zeroed struct, after a failed outfile_open and after outfile_commit, so a cleanup
 * path may call it on every outfile. */
void outfile_abort(struct outfile *o);

/* Sets the handler that removes the temporaries still open and then ends the program
 * as the signal would have, for each of SIGINT, SIGTERM and SIGHUP whose action is the
 * default one (outfile_open does it on every open).  Async-signal-safe: a command's
 * own handler that resets itself (train's) calls it, so that the second signal, which
 * ends the program, removes a temporary opened while that handler was set. */
void outfile_catch_end_signals(void);

/* Whether outfile_open(PATH) would be refused, without creating anything: for a long
 * run (train) to fail before its first epoch rather than at its end.  0, or -1 and ERR
 * as outfile_open's, or "cannot create PATH: DIR: reason" when PATH's folder is
 * missing or not writable. */
int outfile_check(const char *path, nb_error *err);

/* Whether output paths A and B are one regular file (or would be), so that the one
 * written second would replace the other: the same inode, or the same place for a new
 * file (a symlink followed).  A device (/dev/null) or a FIFO may take both.  For the
 * commands with more than one output option (label, train, eval) to refuse. */
int outfile_same(const char *a, const char *b);

/* Whether output PATH is the regular file standard input reads (`label - -o c.jsonl
 * < c.jsonl`): the input given as '-' has no name to compare with outfile_same. */
int outfile_is_stdin(const char *path);

#endif
