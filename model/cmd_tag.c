/* cmd_tag.c — `nbstage tag`: write stage tags into saved notebooks.
 *
 * Owns: the command: finding the notebooks (model/tagfind.h), one job per notebook
 * on worker threads (model/workers.h), reading, tagging (model/tagging.h), writing
 * back atomically (nb_save_atomic: a kill at any moment leaves each file old or
 * new), the report of each notebook in the order given, the summary, and the exit
 * code.
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
 * the corpus's many duplicate cells are classified once.  Notebooks are done in
 * windows (see "Windows" below): read and scanned ahead, the cells the memo lacks
 * classified together in batches (model/tagbatch.h), then spliced and saved, one
 * window saved while the next is read and classified.
 *
 * Durability, batched: files rewritten in place are saved without an fsync each, and
 * each filesystem touched is synced once at the end (model/fssync.h); the replaced
 * files' descriptors are closed on threads of their own (model/closers.h).
 *
 * Why more threads than -j: a save may still wait on the disk (a full page cache
 * throttles write(); -o fsyncs), so -j N counts the notebooks being read, classified
 * and serialised at once (a semaphore, the "compute gate"), while up to WRITE_FANOUT x
 * N threads may sit in a save: the waits overlap.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "model/classcache.h"
#include "model/closers.h"
#include "model/commands.h"
#include "model/fssync.h"
#include "model/model.h"
#include "model/tagbatch.h"
#include "model/tagfast.h"
#include "model/tagfind.h"
#include "model/tagging.h"
#include "model/workers.h"
#include "nbformat/notebook.h"
#include "nbformat/progress.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: nbstage tag [OPTIONS] PATH...\n\n"
            "Classifies every code cell of every notebook (PATH: files, or folders walked\n"
            "recursively, skipping .ipynb_checkpoints and hidden folders) and writes the\n"
            "stage into the cell's metadata: metadata.workflow_stage = {\"stage\",\n"
            "\"confidence\", \"model\"} and a \"stage:<key>\" entry in metadata.tags (an older\n"
            "stage: tag is replaced, other tags are kept).  Empty and comment-only cells get\n"
            "no tag and lose a stale one.  Files are rewritten in place, atomically, in the\n"
            "layout `nbstage fmt` writes; a file that would not change is not touched.\n"
            "A notebook that cannot be read or written is reported and left alone.\n"
            "PATH '-' (alone) reads standard input and writes standard output.\n\n"
            "options:\n"
            "  -m, --model FILE      the model (default: the shipped one; NBSTAGE_MODEL)\n"
            "  -o, --output FILE     write the single notebook given to FILE ('-': stdout)\n"
            "      --check           change nothing; list notebooks whose tags are missing\n"
            "                        or stale (confidence or model changes alone do not count)\n"
            "                        and, with --strip-tag-outputs, those with tag outputs\n"
            "  -n, --dry-run         change nothing; say what would change, per cell\n"
            "                        (\"cell N\": the Nth cell from the top, markdown too)\n"
            "      --from-outputs    take each cell's stage from the live tag output the\n"
            "                        stage kernel left in it (no model needed); cells\n"
            "                        without one keep their tags\n"
            "      --strip-tag-outputs  remove the stage kernel's live tag outputs\n"
            "      --nbformat        also as nbformat.write: multi-line text as lists of\n"
            "                        lines, transient fields dropped (`fmt --nbformat`)\n"
            "  -j, --jobs N          notebooks read and classified at once (default: one\n"
            "                        per CPU); more may be waiting on the disk in a save\n"
            "  -q, --quiet           only errors and findings\n"
            "  -h, --help            this help\n\n"
            "exit: 0 done (or nothing stale), 1 --check found missing or stale tags,\n"
            "2 usage error, or some notebook could not be read or written.\n");
}

enum { WRITE_FANOUT = 4 };

/* Set by SIGINT/SIGTERM, read by every worker: an atomic (lock-free, so safe in the
 * handler), as a volatile sig_atomic_t only orders a handler against its own thread. */
static atomic_int interrupted;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be lock-free to be set in a signal handler");

/* The compute gate: held while a job reads and tags, let go before it saves. */
struct gate {
    sem_t *sem;
    int held;
};

static void gate_enter(struct gate *g, sem_t *sem)
{
    g->sem = sem;
    while (sem_wait(sem) && errno == EINTR) {}
    g->held = 1;
}

static void gate_leave(struct gate *g)
{
    if (g->held) sem_post(g->sem);
    g->held = 0;
}

static void on_signal(int sig)
{
    (void)sig;
    /* finish the files being written, start no new ones */
    atomic_store_explicit(&interrupted, 1, memory_order_relaxed);
}

struct options {
    const nbs_model *model;
    struct classcache *cache; /* the model's answers, shared by the workers */
    const char *output; /* -o */
    int check, dry_run, from_outputs, strip_outputs, nbformat_layout, quiet, jobs;
    struct fssync *fs;     /* deferred sync of in-place saves */
    struct closers *held;  /* replaced files, closed by the closers */
};

/* A notebook read and scanned ahead of its job, its cells' classifications asked
 * for (see "Windows" below).  Reused from window to window: buffers grow once. */
struct prep {
    char *buf; /* the file (handed to tag_file), NULL when the read failed */
    size_t len;
    struct stat st;
    int old_fd;
    char why[512]; /* why the read failed */
    int fast;      /* tagfast_scan's answer: 0 scanned (classifications below), 1 not
                    * for the fast path, -1 take tagfast_notebook as without a prep */
    struct canonscan scan;
    struct tag_answers ans; /* per code cell, filled by tagbatch_ask or tagbatch_run */
};

/* One notebook: its path, and what came of it (filled on a worker thread). */
struct job {
    char *path;
    struct prep *prep; /* read ahead (NULL: tag_file reads it) */
    char *out, *err; /* what to print on stdout and stderr, in order */
    size_t out_len, err_len;
    int failed, rewritten, findings, skipped;
    int spliced; /* tagged on the fast path (model/tagfast.h) */
    struct tag_result res;
};

struct run {
    struct options opt;
    struct job *jobs;
    size_t n;
    struct progress bar;
    sem_t compute; /* -j: jobs past the gate at once */
    struct tagbatch *batch; /* the classifications asked for (see "Windows") */
    /* totals, kept by the delivering thread */
    long failed, rewritten, unchanged, with_findings, skipped, sync_failed, spliced;
    long code_cells, tagged, blank, kept, changed_cells, stripped;
    long per_stage[N_STAGES];
};

/* A window of notebooks (see "Windows"): jobs[first .. first + count), pool[i] read
 * ahead for job first + i, the bytes it may still read ahead.  Two of them take
 * turns, one being saved while the next is prepared. */
struct window {
    struct run *r;
    size_t first, count;
    struct prep *pool;
    long long budget;
};

/* ---------------------------------------------------------------- one notebook */

/* The file's bytes and its identity (to notice a file changed while we worked).
 * PATH "-" is standard input.  KEEP (may be NULL) gets the open descriptor instead of
 * its being closed (see model/closers.h). */
static char *read_notebook(const char *path, size_t *len, struct stat *st, char *why,
                           size_t whylen, int *keep, long long *budget)
{
    int is_stdin = !strcmp(path, "-");
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    if (is_stdin) {
        memset(st, 0, sizeof *st); /* a pipe: no size to go by, no identity to keep */
    } else if (fstat(fd, st)) {
        snprintf(why, whylen, "%s", strerror(errno));
        close(fd);
        return NULL;
    }
    if (!is_stdin && S_ISDIR(st->st_mode)) {
        snprintf(why, whylen, "is a directory, not a notebook");
        close(fd);
        return NULL;
    }
    if (!is_stdin && !S_ISREG(st->st_mode)) {
        snprintf(why, whylen, "not a regular file");
        close(fd);
        return NULL;
    }
    /* a read ahead within a window's byte budget only ("" in WHY: over it) */
    if (budget && __atomic_sub_fetch(budget, (long long)st->st_size, __ATOMIC_RELAXED) < 0) {
        why[0] = 0;
        close(fd);
        return NULL;
    }
    size_t cap = (size_t)st->st_size + 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) { /* the file grew while we read it */
            char *p = realloc(buf, cap * 2);
            if (!p) { free(buf); buf = NULL; break; }
            buf = p;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            snprintf(why, whylen, "%s", strerror(errno));
            free(buf);
            if (!is_stdin) close(fd);
            return NULL;
        }
        if (got == 0) break;
        n += (size_t)got;
    }
    if (!is_stdin) {
        if (keep && buf && n) *keep = fd;
        else close(fd);
    }
    if (!buf) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    if (n == 0) {
        snprintf(why, whylen, "empty file");
        free(buf);
        return NULL;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static const char *stage_or_none(int s) { return s >= 0 ? stage_key[s] : "none"; }

static void print_changes(FILE *out, const char *path, const struct tag_result *res)
{
    for (size_t i = 0; i < res->n_changes; i++) {
        const struct tag_cell_change *c = &res->changes[i];
        fprintf(out, "%s: cell %zu: ", path, c->cell + 1);
        switch (c->kind) {
        case TAG_MISSING:
            fprintf(out, "add %s (%.3f)\n", stage_key[c->new_stage], c->new_conf);
            break;
        case TAG_STALE:
            if (c->old_stage == c->new_stage)
                fprintf(out, "repair %s (metadata and tags disagree)\n", stage_key[c->new_stage]);
            else
                fprintf(out, "%s -> %s (%.3f)\n", stage_or_none(c->old_stage),
                        stage_key[c->new_stage], c->new_conf);
            break;
        case TAG_REMOVE:
            fprintf(out, "remove %s (empty or comments only)\n", stage_or_none(c->old_stage));
            break;
        case TAG_REFRESH:
            if (c->old_conf >= 0)
                fprintf(out, "%s confidence %.3f -> %.3f\n", stage_key[c->new_stage], c->old_conf,
                        c->new_conf);
            else
                fprintf(out, "%s confidence %.3f (model or metadata refreshed)\n",
                        stage_key[c->new_stage], c->new_conf);
            break;
        case TAG_SAME: break;
        }
    }
}

/* Same file as when we read it?  Editors save while batch jobs run. */
static int same_file(const char *path, const struct stat *before)
{
    struct stat now;
    return stat(path, &now) == 0 && now.st_ino == before->st_ino &&
           now.st_dev == before->st_dev && now.st_size == before->st_size &&
           now.st_mtim.tv_sec == before->st_mtim.tv_sec &&
           now.st_mtim.tv_nsec == before->st_mtim.tv_nsec;
}

/* Each thread's fast-path buffers, kept across its notebooks, freed when it ends
 * (the calling thread's by cmd_tag). */
static pthread_key_t tagfast_key;
static pthread_once_t tagfast_once = PTHREAD_ONCE_INIT;

static void tagfast_destroy(void *tf)
{
    tagfast_free(tf);
    free(tf);
}

static void tagfast_key_make(void) { pthread_key_create(&tagfast_key, tagfast_destroy); }

static struct tagfast *thread_tagfast(void)
{
    pthread_once(&tagfast_once, tagfast_key_make);
    struct tagfast *tf = pthread_getspecific(tagfast_key);
    if (!tf && (tf = calloc(1, sizeof *tf)) && pthread_setspecific(tagfast_key, tf)) {
        free(tf);
        tf = NULL;
    }
    return tf;
}

static void tag_file(struct job *j, const struct options *o, FILE *out, FILE *err,
                     struct gate *gate)
{
    char why[512];
    struct stat st;
    size_t len, outlen = 0;
    int is_stdin = !strcmp(j->path, "-");
    const char *name = is_stdin ? "<stdin>" : j->path;
    int in_place = !o->check && !o->dry_run && !o->output && !is_stdin, old_fd = -1;
    struct prep *prep = j->prep;
    char *buf;
    if (prep) { /* read ahead: the file is ours now */
        buf = prep->buf;
        len = prep->len;
        st = prep->st;
        old_fd = prep->old_fd;
        prep->buf = NULL;
        prep->old_fd = -1;
        if (!buf) snprintf(why, sizeof why, "%s", prep->why);
    } else {
        buf = read_notebook(j->path, &len, &st, why, sizeof why, in_place ? &old_fd : NULL, NULL);
    }
    if (!buf) {
        fprintf(err, "nbstage tag: %s: %s\n", name, why);
        j->failed = 1;
        return;
    }
    nb_error e;
    json_t *nb = NULL;
    char *bytes = NULL, *owned = NULL;
    int same = 0;
    struct tag_options to = {
        .model = o->model,
        .cache = o->cache,
        .from_outputs = o->from_outputs,
        .strip_outputs = o->strip_outputs,
        .record = o->dry_run,
    };
    /* The fast path first: a canonical notebook spliced, no tree (tagfast.h).  The
     * --nbformat layout is not its business. */
    int fast = 1;
    if (!o->nbformat_layout) {
        struct tagfast *tf = thread_tagfast();
        int changed = 0;
        if (!tf || (prep && prep->fast == 1)) /* (the scan said no already) */
            fast = 1;
        else if (prep && prep->fast == 0) /* scanned and classified ahead */
            fast = tagfast_splice(tf, &prep->scan, buf, len, &to, prep->ans.stage, prep->ans.prob,
                                  !o->check, &j->res, &changed);
        else
            fast = tagfast_notebook(tf, buf, len, &to, !o->check, &j->res, &changed);
        if (fast < 0) {
            fprintf(err, "nbstage tag: %s: out of memory\n", name);
            j->failed = 1;
            goto done;
        }
        if (fast == 0) {
            j->spliced = 1;
            /* as the jansson path decides it: by the bytes */
            same = !changed || (!o->check && tf->out_len == len && !memcmp(tf->out, buf, len));
            if (!o->check) {
                bytes = changed ? tf->out : buf;
                outlen = changed ? tf->out_len : len;
            }
        }
    }
    if (fast) {
        nb = nb_read_mem(buf, len, name, 0, &e);
        if (!nb) {
            fprintf(err, "nbstage tag: %s\n", e.msg);
            j->failed = 1;
            goto done;
        }
        if (o->nbformat_layout) { /* nbformat.write's layout, as `fmt --nbformat` */
            nb_rejoin_lines(nb);
            nb_strip_transient(nb);
            nb_split_lines(nb);
        }
        /* --check needs the findings only, not the bytes */
        if (tag_notebook(nb, &to, &j->res) ||
            (!o->check && !(bytes = owned = nb_dumps(nb, &outlen)))) {
            fprintf(err, "nbstage tag: %s: out of memory\n", name);
            j->failed = 1;
            goto done;
        }
        same = bytes && outlen == len && !memcmp(bytes, buf, len);
    }
    /* with --strip-tag-outputs, tag outputs left in the file are findings too: the
     * check is what a run with the same options would change */
    j->findings = tag_findings(&j->res) > 0 || j->res.outputs_stripped > 0;
    if (o->check) {
        if (j->findings) {
            fprintf(out, "%s: %ld missing, %ld stale, %ld on blank cells", name, j->res.missing,
                    j->res.stale, j->res.removed);
            if (j->res.outputs_stripped)
                fprintf(out, ", %ld tag output%s to remove", j->res.outputs_stripped,
                        j->res.outputs_stripped == 1 ? "" : "s");
            fputc('\n', out);
        }
    } else if (o->dry_run) {
        print_changes(out, name, &j->res);
        if (j->res.outputs_stripped)
            fprintf(out, "%s: remove %ld tag outputs\n", name, j->res.outputs_stripped);
        if (!same && !j->res.n_changes && !j->res.outputs_stripped)
            fprintf(out, "%s: rewrite in the canonical layout (tags unchanged)\n", name);
        j->rewritten = !same;
    } else if ((o->output && !strcmp(o->output, "-")) || (is_stdin && !o->output)) {
        if (fwrite(bytes, 1, outlen, out) != outlen) {
            fprintf(err, "nbstage tag: <stdout>: %s\n", strerror(errno));
            j->failed = 1;
        }
        j->rewritten = !same;
    } else if (o->output) {
        gate_leave(gate);
        if (nb_save_atomic(o->output, bytes, outlen, &e)) {
            fprintf(err, "nbstage tag: %s\n", e.msg);
            j->failed = 1;
        } else {
            j->rewritten = 1;
        }
    } else if (!same) {
        /* From here on only the file system: the checks below look paths up in a
         * folder other threads are creating and renaming files in, and may wait on
         * its lock (measured: access() was the longest wait inside the gate). */
        gate_leave(gate);
        /* (a read-only file, or one we may not write, nb_save_atomic refuses: rename()
         * would replace it) */
        if (!same_file(j->path, &st)) {
            fprintf(err, "nbstage tag: %s: changed while being tagged, left as it is now\n",
                    j->path);
            j->failed = 1;
        } else {
            /* deferred sync (model/fssync.h), unless no descriptor on the
             * file's filesystem could be had for the final syncfs */
            unsigned flags = fssync_register(o->fs, st.st_dev, j->path) ? 0 : NB_SAVE_DEFER_SYNC;
            if (nb_save_atomic_flags(j->path, bytes, outlen, flags, &e)) {
                fprintf(err, "nbstage tag: %s\n", e.msg);
                j->failed = 1;
            } else {
                j->rewritten = 1;
                long n = j->res.missing + j->res.stale + j->res.removed + j->res.refreshed;
                if (!o->quiet)
                    fprintf(out, "tagged %s (%ld cell%s changed)\n", j->path, n, n == 1 ? "" : "s");
            }
        }
    }
done:
    if (old_fd >= 0) {
        if (j->rewritten) closers_hold(o->held, old_fd, (long long)st.st_size); /* the closers' */
        else close(old_fd);
    }
    free(owned);
    json_decref(nb);
    free(buf);
}

/* ---------------------------------------------------------------- windows
 *
 * Windows.  The notebooks are done WINDOW_NOTEBOOKS at a time, in three steps: each
 * is read and scanned (prepare_job, -j threads), the code cells the memo cannot
 * answer are classified together (tagbatch_run: each distinct source once, in
 * batches of similar length, -j threads), then each is spliced, written and
 * reported as before (run_job).  Batching across notebooks is what makes the
 * batched LSTM pay (model/tagbatch.h).  The third step of window k runs on a thread
 * of its own (struct saver) while window k + 1 does the first two: a step's end,
 * where the last thread still works and the others would wait (the slower share of
 * a classification, a window's last saves, the serial sort in tagbatch_run), is
 * filled with the other window's work.  All three steps pass the one compute gate,
 * so -j still counts the threads at work; a save lets go of it before its file
 * system calls, as before.  Saves are the same temporary + rename, only earlier
 * beside the next window's reads: a kill still leaves each file old or new.  The
 * two windows take turns with two pools of read-ahead slots; window k + 2 starts
 * only after window k's saver is joined, so a slot is never in use twice, and
 * the reports still come in order (window k's all delivered before k + 1's).
 * Memory: a window holds its files (two at once now); past
 * WINDOW_BYTES of them the rest of the window is read by run_job itself and
 * classified one cell at a time through the memo, as is any notebook not for the
 * fast path (jansson path), standard input and --from-outputs / --nbformat runs. */
enum { WINDOW_NOTEBOOKS = 512 };
#define WINDOW_BYTES ((long long)256 << 20)

static void prep_free(struct prep *p)
{
    canonscan_free(&p->scan);
    tag_answers_free(&p->ans);
}

/* Worker thread, first step of a window: job first + I read and scanned, its
 * classifications asked for (inside the compute gate: see prepare_job). */
static void prepare_one(struct window *w, size_t i)
{
    struct run *r = w->r;
    const struct options *o = &r->opt;
    struct job *j = &r->jobs[w->first + i];
    struct prep *p = &w->pool[i];
    j->prep = NULL;
    if (atomic_load_explicit(&interrupted, memory_order_relaxed) || !strcmp(j->path, "-")) return;
    int in_place = !o->check && !o->dry_run && !o->output;
    p->old_fd = -1;
    p->buf = read_notebook(j->path, &p->len, &p->st, p->why, sizeof p->why,
                           in_place ? &p->old_fd : NULL, &w->budget);
    if (!p->buf && !p->why[0]) return; /* over the window's budget: run_job reads it */
    j->prep = p;
    if (!p->buf) return; /* the reason is reported by tag_file */
    struct tag_options to = {.model = o->model, .cache = o->cache};
    p->fast = tagfast_scan(&p->scan, p->buf, p->len, &to);
    if (p->fast) return;
    if (tag_answers_room(&p->ans, p->scan.n)) {
        p->fast = -1;
        return;
    }
    for (size_t c = 0; c < p->scan.n; c++) {
        const struct canon_cell *cell = &p->scan.cells[c];
        if (tagbatch_ask(r->batch, p->scan.text + cell->src_off, cell->src_len, &p->ans.stage[c],
                         &p->ans.prob[c]) < 0) {
            /* (requests already queued still get answered, into p: harmless) */
            p->fast = -1;
            return;
        }
    }
}

/* The gate, as run_job's: the previous window's jobs run meanwhile (see "Windows"),
 * and -j still counts every thread reading, scanning or classifying.  Taken once per
 * PREPARE_STEP notebooks, and the pool hands them out that many at a time: a pass of
 * the gate wakes a saver waiting for it, which often found it taken again at once
 * (the most frequent futex calls of a run after the closers' and the pool's). */
enum { PREPARE_STEP = 8 };

static void prepare_job(size_t step, void *vwin)
{
    struct window *w = vwin;
    struct gate gate;
    size_t from = step * PREPARE_STEP;
    size_t to = from + PREPARE_STEP < w->count ? from + PREPARE_STEP : w->count;
    gate_enter(&gate, &w->r->compute);
    for (size_t i = from; i < to; i++) prepare_one(w, i);
    gate_leave(&gate);
}

static void deliver_nothing(size_t i, void *vrun)
{
    (void)i;
    (void)vrun;
}

/* Worker thread: one notebook, its report into memory. */
static void run_job(size_t i, void *vwin)
{
    struct window *w = vwin;
    struct run *r = w->r;
    struct job *j = &r->jobs[w->first + i];
    if (atomic_load_explicit(&interrupted, memory_order_relaxed)) {
        j->skipped = 1;
        if (j->prep) { /* read ahead, never to be written */
            free(j->prep->buf);
            j->prep->buf = NULL;
            if (j->prep->old_fd >= 0) close(j->prep->old_fd);
            j->prep->old_fd = -1;
        }
    } else {
        FILE *out = open_memstream(&j->out, &j->out_len);
        FILE *err = open_memstream(&j->err, &j->err_len);
        if (!out || !err) {
            if (out) fclose(out);
            if (err) fclose(err);
            free(j->out);
            free(j->err);
            j->out = j->err = NULL;
            j->out_len = j->err_len = 0;
            j->failed = 1; /* reported by deliver() */
        } else {
            struct gate gate;
            gate_enter(&gate, &r->compute);
            tag_file(j, &r->opt, out, err, &gate);
            gate_leave(&gate);
            fclose(out);
            fclose(err);
        }
    }
    progress_add(&r->bar, 1);
}

/* Calling thread, in order: print the job's report, add it to the totals. */
static void deliver(size_t i, void *vwin)
{
    struct window *w = vwin;
    struct run *r = w->r;
    struct job *j = &r->jobs[w->first + i];
    if (j->out_len) fwrite(j->out, 1, j->out_len, stdout);
    if (j->err_len || (j->failed && !j->err)) {
        /* erase the bar first so the message starts on a clean line */
        pthread_mutex_lock(&r->bar.lock);
        if (r->bar.tty && r->bar.drawn) fputs("\r\033[K", stderr);
        r->bar.drawn = 0;
        if (j->err_len) fwrite(j->err, 1, j->err_len, stderr);
        else fprintf(stderr, "nbstage tag: %s: out of memory\n", j->path);
        pthread_mutex_unlock(&r->bar.lock);
    }
    if (j->skipped) r->skipped++;
    else if (j->failed) r->failed++;
    else if (j->rewritten) r->rewritten++;
    else r->unchanged++;
    if (j->findings) r->with_findings++;
    if (!j->failed && !j->skipped) {
        r->spliced += j->spliced;
        r->code_cells += j->res.code_cells;
        r->tagged += j->res.tagged;
        r->blank += j->res.blank;
        r->kept += j->res.kept;
        r->stripped += j->res.outputs_stripped;
        r->changed_cells += j->res.missing + j->res.stale + j->res.removed + j->res.refreshed;
        for (int s = 0; s < N_STAGES; s++) r->per_stage[s] += j->res.per_stage[s];
    }
    tag_result_free(&j->res);
    free(j->out);
    free(j->err);
    free(j->path);
    j->out = j->err = j->path = NULL;
}

/* The last step of a window, run_job and deliver, on a thread of its own so the next
 * window is read and classified meanwhile (see "Windows"). */
struct saver {
    struct window *w;
    int fanout, threads, running;
    pthread_t tid;
};

static void *saver_main(void *v)
{
    struct saver *s = v;
    s->threads = workers_run(s->fanout, s->w->count, run_job, deliver, s->w);
    return NULL;
}

/* Waits for the window being saved, if any; *THREADS: the most threads used. */
static void saver_join(struct saver *s, int *threads)
{
    if (s->running) pthread_join(s->tid, NULL);
    s->running = 0;
    if (s->threads > *threads) *threads = s->threads;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void print_summary(const struct run *r, double secs, int threads)
{
    const struct options *o = &r->opt;
    long total = r->rewritten + r->unchanged + r->failed + r->skipped;
    if (o->check) {
        fprintf(stderr, "nbstage tag: %ld notebook%s: %ld with missing or stale tags%s, %ld failed",
                total, total == 1 ? "" : "s", r->with_findings,
                o->strip_outputs ? " or tag outputs" : "", r->failed);
    } else {
        fprintf(stderr, "nbstage tag: %ld notebook%s: %ld %s, %ld unchanged, %ld failed", total,
                total == 1 ? "" : "s", r->rewritten, o->dry_run ? "to rewrite" : "rewritten", r->unchanged, r->failed);
    }
    if (r->skipped) fprintf(stderr, ", %ld not done (interrupted)", r->skipped);
    if (r->sync_failed)
        fprintf(stderr, ", %ld filesystem%s failed to sync", r->sync_failed,
                r->sync_failed == 1 ? "" : "s");
    fprintf(stderr, "\nnbstage tag: %ld code cells: %ld tagged, %ld blank", r->code_cells,
            r->tagged, r->blank);
    if (o->from_outputs) fprintf(stderr, ", %ld without a tag output (kept)", r->kept);
    fprintf(stderr, "; %ld cell tags %s", r->changed_cells,
            (o->check || o->dry_run) ? "would change" : "changed");
    if (o->strip_outputs)
        fprintf(stderr, "; %ld tag output%s %s", r->stripped, r->stripped == 1 ? "" : "s",
                (o->check || o->dry_run) ? "would be removed" : "removed");
    fprintf(stderr, "\nnbstage tag:");
    for (int s = 0; s < N_STAGES; s++)
        fprintf(stderr, " %s %ld (%.0f%%)%s", stage_key[s], r->per_stage[s],
                r->tagged ? 100.0 * (double)r->per_stage[s] / (double)r->tagged : 0.0,
                s + 1 < N_STAGES ? "," : "");
    fprintf(stderr, "\nnbstage tag: %.2f s, %.1f notebooks/s, %.0f cells/s, %d thread%s, %s",
            secs, secs > 0 ? (double)total / secs : 0.0,
            secs > 0 ? (double)r->code_cells / secs : 0.0, threads, threads == 1 ? "" : "s",
            o->from_outputs ? "stages from tag outputs" : model_name(o->model));
    /* how the work was done: notebooks spliced without a tree (tagfast.h), cells
     * answered by the run's memo (classcache.h) */
    long hits, misses;
    classcache_stats(o->cache, &hits, &misses);
    fprintf(stderr, "; %ld spliced", r->spliced);
    if (o->cache) fprintf(stderr, ", %ld of %ld classifications memoised", hits, hits + misses);
    fputc('\n', stderr);
}

static int parse_jobs(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 1024) return -1;
    *out = (int)v;
    return 0;
}

int cmd_tag(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"model", required_argument, NULL, 'm'},
        {"output", required_argument, NULL, 'o'},
        {"check", no_argument, NULL, 'c'},
        {"dry-run", no_argument, NULL, 'n'},
        {"from-outputs", no_argument, NULL, 'F'},
        {"strip-tag-outputs", no_argument, NULL, 'S'},
        {"nbformat", no_argument, NULL, 'N'},
        {"jobs", required_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct run r = {0};
    struct fssync fs = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct closers held = {.lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER};
    struct rlimit old_nofile;
    r.opt.fs = &fs;
    r.opt.held = &held;
    const char *model_path = NULL;
    r.opt.jobs = workers_default();
    int c;
    optind = 0; /* glibc: a full re-initialisation, so tests may call us twice */
    while ((c = getopt_long(argc, argv, "m:o:nj:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'o': r.opt.output = optarg; break;
        case 'c': r.opt.check = 1; break;
        case 'n': r.opt.dry_run = 1; break;
        case 'F': r.opt.from_outputs = 1; break;
        case 'S': r.opt.strip_outputs = 1; break;
        case 'N': r.opt.nbformat_layout = 1; break;
        case 'q': r.opt.quiet = 1; break;
        case 'j':
            if (parse_jobs(optarg, &r.opt.jobs)) {
                fprintf(stderr, "nbstage tag: -j wants a number of threads from 1 to 1024, "
                                "not '%s'\n", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "nbstage tag: no PATH given\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    if (r.opt.check + r.opt.dry_run + (r.opt.output != NULL) > 1) {
        fprintf(stderr, "nbstage tag: --check, --dry-run and -o do not go together\n");
        return EXIT_USAGE;
    }
    if (r.opt.output && argc - optind != 1) {
        fprintf(stderr, "nbstage tag: -o takes exactly one notebook\n");
        return EXIT_USAGE;
    }

    struct tagfind found = {0};
    for (int a = optind; a < argc; a++) {
        if (!strcmp(argv[a], "-") && argc - optind != 1) {
            fprintf(stderr, "nbstage tag: '-' (standard input) must be the only PATH\n");
            tagfind_free(&found);
            return EXIT_USAGE;
        }
        if (tagfind_add(&found, argv[a])) goto oom;
    }
    if (tagfind_dedup(&found)) goto oom;
    r.failed = found.failed; /* folders that could not be walked */
    if (r.opt.output && found.n != 1) {
        fprintf(stderr, "nbstage tag: -o takes exactly one notebook; %s is not one\n",
                argv[optind]);
        tagfind_free(&found);
        return EXIT_USAGE;
    }
    /* one job per notebook, in the order found (the jobs take the paths) */
    if (found.n && !(r.jobs = calloc(found.n, sizeof *r.jobs))) goto oom;
    for (size_t i = 0; i < found.n; i++) r.jobs[i].path = found.path[i];
    r.n = found.n;
    free(found.path);

    nbs_model *model = NULL;
    if (!r.opt.from_outputs) {
        if (!model_path) model_path = model_default_path();
        if (!model_path) {
            fprintf(stderr, "nbstage tag: no model: none shipped beside the program and "
                            "NBSTAGE_MODEL unset; give one with --model FILE\n");
            for (size_t i = 0; i < r.n; i++) free(r.jobs[i].path);
            free(r.jobs);
            return EXIT_USAGE;
        }
        char why[512];
        model = model_load(model_path, why, sizeof why);
        if (!model) {
            fprintf(stderr, "nbstage tag: %s\n", why);
            for (size_t i = 0; i < r.n; i++) free(r.jobs[i].path);
            free(r.jobs);
            return EXIT_USAGE;
        }
        r.opt.model = model;
        if (!(r.opt.cache = classcache_new(model))) {
            fprintf(stderr, "nbstage tag: out of memory\n");
            model_free(model);
            for (size_t i = 0; i < r.n; i++) free(r.jobs[i].path);
            free(r.jobs);
            return EXIT_USAGE;
        }
    }

    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int, old_term;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    atomic_store(&interrupted, 0);

    double t0 = now();
    progress_start(&r.bar, "tag", (long)r.n);
    sem_init(&r.compute, 0, (unsigned)r.opt.jobs);
    int writes = !r.opt.check && !r.opt.dry_run;
    int threads = 0, fanout = r.opt.jobs * (writes ? WRITE_FANOUT : 1);
    /* read ahead and batch only where the fast path and the model are used */
    int ahead = r.opt.model && !r.opt.nbformat_layout && !r.opt.strip_outputs;
    size_t window = ahead ? (r.n < WINDOW_NOTEBOOKS ? r.n : WINDOW_NOTEBOOKS) : 0;
    /* two windows are read ahead at once (one saved, the next prepared) */
    size_t ahead_fds = 2 * window;
    closers_start(&held, &old_nofile, fanout, &ahead_fds);
    if (window) window = ahead_fds / 2 ? ahead_fds / 2 : 1;
    struct window win[2] = {{.r = &r}, {.r = &r}};
    if (!ahead || !window) window = r.n;
    if (ahead && window > 0) {
        win[0].pool = calloc(window, sizeof *win[0].pool);
        win[1].pool = calloc(window, sizeof *win[1].pool);
        r.batch = tagbatch_new(r.opt.model, r.opt.cache);
        if (!win[0].pool || !win[1].pool || !r.batch) { /* without: one cell at a time */
            free(win[0].pool);
            free(win[1].pool);
            tagbatch_free(r.batch);
            win[0].pool = win[1].pool = NULL;
            r.batch = NULL;
            window = r.n;
        } else {
            tagbatch_gate(r.batch, &r.compute);
        }
    }
    struct saver sv = {.fanout = fanout};
    int k = 0;
    for (size_t first = 0; first < r.n; first += window, k ^= 1) {
        struct window *w = &win[k];
        w->first = first;
        w->count = r.n - first < window ? r.n - first : window;
        if (w->pool) { /* while the window before is saved */
            w->budget = WINDOW_BYTES;
            workers_run(r.opt.jobs, (w->count + PREPARE_STEP - 1) / PREPARE_STEP, prepare_job,
                        deliver_nothing, w);
            tagbatch_run(r.batch, r.opt.jobs);
        }
        saver_join(&sv, &threads);
        sv.w = w;
        if (w->pool && !pthread_create(&sv.tid, NULL, saver_main, &sv)) {
            sv.running = 1;
        } else { /* (no thread: here, before the next window) */
            saver_main(&sv);
            saver_join(&sv, &threads);
        }
    }
    saver_join(&sv, &threads);
    for (int b = 0; b < 2; b++) {
        if (win[b].pool)
            for (size_t i = 0; i < window; i++) prep_free(&win[b].pool[i]);
        free(win[b].pool);
    }
    tagbatch_free(r.batch);
    if (threads > r.opt.jobs) threads = r.opt.jobs; /* the others only wait on saves */
    pthread_once(&tagfast_once, tagfast_key_make);
    struct tagfast *own_tf = pthread_getspecific(tagfast_key); /* jobs run here with one thread */
    if (own_tf) {
        tagfast_destroy(own_tf);
        pthread_setspecific(tagfast_key, NULL);
    }
    sem_destroy(&r.compute);
    progress_end(&r.bar);
    /* the durability of every in-place save, before any success is reported (also
     * after an interrupt: what was renamed should reach the disk) */
    r.sync_failed = fssync_end(&fs); /* (the closers finish meanwhile) */
    closers_end(&held, &old_nofile);
    double secs = now() - t0;

    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (!r.opt.quiet || r.failed || r.skipped || r.sync_failed)
        print_summary(&r, secs, threads);
    classcache_free(r.opt.cache);
    model_free(model);
    free(r.jobs);
    if (fflush(stdout)) return EXIT_USAGE;
    if (r.failed || r.skipped || r.sync_failed) return EXIT_USAGE;
    return (r.opt.check && r.with_findings) ? EXIT_FINDINGS : EXIT_OK;
oom: /* (while finding the notebooks) */
    fprintf(stderr, "nbstage tag: out of memory\n");
    tagfind_free(&found);
    return EXIT_USAGE;
}
