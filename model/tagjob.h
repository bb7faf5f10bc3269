/* tagjob.h — one notebook of a `nbstage tag` run: read, tagged, reported, saved.
 *
 * Owns: reading a notebook (the file's bytes and identity; its descriptor kept for
 * model/closers.h when it is to be replaced), tagging it (model/tagging.h), its
 * report (--check's findings, --dry-run's changes per cell, the "tagged" line, the
 * cells whose tag output cannot be read, the reason it failed), and writing it back: in place, atomically (nb_save_atomic: a
 * kill at any moment leaves each file old or new) and only if it did not change
 * while being tagged, or to -o, or to standard output.  A notebook that is not Python
 * (nbformat/nblang.h's rule) is left byte for byte as it is (or copied as it came to -o
 * or standard output), and said, unless --any-language.
 *
 * Output is the canonical layout `nbstage fmt` writes (json.dumps with indent 1 and
 * sorted keys, the tree kept as it is), so a canonical notebook's diff is its tag lines
 * alone, and a file whose bytes would not change is not rewritten at all (its mtime
 * stays).  --nbformat also does what nbformat.write does (lines split, transient
 * fields dropped), as `fmt --nbformat`.
 *
 * Two ways to tag one notebook, same bytes out.  A notebook already in the canonical
 * layout (every file of the shared corpus) is tagged from its bytes and spliced
 * (model/tagfast.h: no JSON tree, no full re-serialisation); anything else, and
 * --from-outputs, --strip-tag-outputs and --nbformat, goes through jansson
 * (nb_read_mem, tag_notebook, nb_dumps), which also gives the reason a file is
 * refused.  Both ask the model through one memo per run (model/classcache.h), so
 * the corpus's many duplicate cells are classified once.  A notebook may come read,
 * scanned and classified ahead (struct tagjob_prep, model/tagrun.h's windows).
 */
#ifndef NBSTAGE_TAGJOB_H
#define NBSTAGE_TAGJOB_H

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/stat.h>

#include "model/blockmem.h"
#include "model/classcache.h"
#include "model/closers.h"
#include "model/fssync.h"
#include "model/model.h"
#include "model/tagfast.h"
#include "model/tagging.h"
#include "nbformat/nblang.h"

/* The command's options, shared by every job. */
struct tagjob_options {
    const nbs_model *model;
    struct classcache *cache; /* the model's answers, shared by the workers */
    const char *output; /* -o */
    int check, dry_run, from_outputs, strip_outputs, nbformat_layout, quiet, jobs;
    int any_language; /* tag notebooks that are not Python too (--any-language) */
    struct fssync *fs;     /* deferred sync of in-place saves */
    struct closers *held;  /* replaced files, closed by the closers */
};

/* A notebook read and scanned ahead of its job, its cells' classifications asked
 * for (see "Windows" in model/tagrun.h).  Its file (when IN_ROOM), its scan's arrays
 * and its answers are in the window's read room: nothing here to free but a file
 * read to the heap. */
struct tagjob_prep {
    char *buf; /* the file (handed to tagjob_tag), NULL when the read failed */
    size_t len;
    int in_room; /* BUF is in the window's read room (struct read_room), not malloc'd */
    struct stat st;
    int old_fd;
    char why[512]; /* why the read failed */
    int fast;      /* tagfast_scan's answer: 0 scanned (classifications below), 1 not
                    * for the fast path, -1 take tagfast_notebook as without a prep
                    * (also when the scan did not fit in the window's budget) */
    struct canonscan scan;  /* a copy whose arrays are in the room (canonscan_free: no) */
    int *stage;             /* per code cell, with PROB: filled by tagbatch_ask or */
    float *prob;            /* tagbatch_run */
    struct nb_lang lang;    /* when scanned: not Python is not classified (always Python
                             * with --any-language) */
};

/* One notebook: its path, and what came of it (filled on a worker thread). */
struct tagjob {
    char *path;
    struct tagjob_prep *prep; /* read ahead (NULL: tagjob_tag reads it) */
    char *out, *err; /* what to print on stdout and stderr, in order */
    size_t out_len, err_len;
    int failed, rewritten, findings, skipped;
    int spliced; /* tagged on the fast path (model/tagfast.h) */
    int not_python; /* left as it is: LANG is not Python (nbformat/nblang.h) */
    struct nb_lang lang;
    int to_stdout; /* OUT holds the notebook itself (-o -, or '-' alone): its
                    * delivery is checked (model/tagrun.c) */
    struct tag_result res;
};

/* The compute gate (-j, model/tagrun.h): held while a job reads and tags, let go
 * before it saves. */
struct tag_gate {
    sem_t *sem;
    int held;
};

static inline void tag_gate_enter(struct tag_gate *g, sem_t *sem)
{
    g->sem = sem;
    while (sem_wait(sem) && errno == EINTR) {}
    g->held = 1;
}

static inline void tag_gate_leave(struct tag_gate *g)
{
    if (g->held) sem_post(g->sem);
    g->held = 0;
}

/* Where a window's files are read (model/tagrun.h), rewound when the window's
 * buffers are reused: a window's worth of pages touched once per run, not once per
 * file (model/blockmem.h says why that matters). */
struct read_room {
    struct blockmem mem;
    pthread_mutex_t lock;
};

/* N bytes taken from BUDGET, the bytes a window may still hold (its files and their
 * scans: model/tagrun.h, "Memory"), if it has them: 0.  Else -1, BUDGET as it was:
 * one large piece would otherwise leave the window's smaller ones all to be read at
 * their save.  Atomic: the window's threads take from it at once. */
static inline int tagjob_charge(long long *budget, long long n)
{
    if (__atomic_sub_fetch(budget, n, __ATOMIC_RELAXED) >= 0) return 0;
    __atomic_add_fetch(budget, n, __ATOMIC_RELAXED);
    return -1;
}

/* The file's bytes (*LEN of them, NUL after) and its identity in *ST (to notice a
 * file changed while we worked).  PATH "-" is standard input.  KEEP (may be NULL) gets
 * the open descriptor instead of its being closed (see model/closers.h).  BUDGET (may
 * be NULL): what a window may still hold, the bytes the file takes of ROOM (or its
 * size) taken (tagjob_charge).
 * ROOM (may be NULL): where to put the bytes, taken under its lock (never for
 * standard input, nor for a file that grew while read); *IN_ROOM (may be NULL) says
 * whether they went there (else they are malloc'd, the caller's to free), and means
 * nothing when NULL is returned.  No read may overlap a rewind of ROOM.  NULL and WHY
 * when the file cannot be read, WHY "" when over the budget. */
char *tagjob_read(const char *path, size_t *len, struct stat *st, char *why, size_t whylen,
                  int *keep, long long *budget, struct read_room *room, int *in_room);

/* Tags J's notebook with options O (read here, or taken from J->prep), its report
 * written to OUT and ERR, the outcome in J.  Called inside GATE, which it leaves before
 * a save's file-system calls. */
void tagjob_tag(struct tagjob *j, const struct tagjob_options *o, FILE *out, FILE *err,
                struct tag_gate *gate);

/* Frees the calling thread's fast-path buffers (a worker's are freed when it ends). */
void tagjob_thread_end(void);

#endif
