/* tagrun.h — the notebooks of a `nbstage tag` run, done in windows on worker threads.
 *
 * Owns: the jobs (model/tagjob.h, one per notebook) from start to report: reading,
 * scanning and classifying them ahead a window at a time, tagging and saving them on
 * worker threads (model/workers.h), the compute gate, the progress bar, each
 * notebook's report printed in the order given and added to the totals, Ctrl-C, and
 * at the end the sync of the filesystems written to (model/fssync.h) and the last
 * closes of the replaced files (model/closers.h).
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
 * Memory: a window holds its files (two at once now), read into blocks that are
 * kept for the window after next (model/blockmem.h: no fresh pages each window, up
 * to READ_KEEP bytes of them), and beside them what each notebook's scan found (its
 * cells, their sources and metadata members, room for their answers), copied there
 * from one scanner per thread at work, which grows to the largest notebook it saw:
 * so a run touches about two windows' worth of scans, where 1,024 slots that each
 * kept growing buffers touched the largest notebook each slot saw (on the corpus 54
 * MB of slot buffers at their high-water marks, against 25 MB more of the rooms'
 * blocks, whose pages come in one call each).  WINDOW_BYTES bounds what a window
 * holds, its files and their scans together: each is charged to the window's budget
 * as it comes (a file before it is read, a scan when it is copied), and one that
 * would go past it is not taken, while a smaller one after it still may be.  A scan
 * can be several times its file (a tag of a few letters is ~10 bytes of the file and
 * a 40-byte member of the scan), so files alone did not bound it.  A notebook not
 * read ahead is read by run_job itself and classified one cell at a time through the
 * memo, as is one read ahead whose scan did not fit (run_job scans it again), any
 * notebook not for the fast path (jansson path), standard input and --from-outputs
 * / --nbformat / --strip-tag-outputs runs.  So the two windows' rooms hold at most
 * 2 x WINDOW_BYTES (and 2 bytes a file: the room for a read's end), beside their
 * blocks' unused tails and the scanners.
 *
 * Why more threads than -j: a save may still wait on the disk (a full page cache
 * throttles write(); -o fsyncs), so -j N counts the notebooks being read, classified
 * and serialised at once (a semaphore, the "compute gate"), while up to WRITE_FANOUT x
 * N threads may sit in a save: the waits overlap.
 *
 * Ctrl-C (SIGINT, SIGTERM, SIGHUP: the terminal closed) while the run goes on: the
 * files being written are finished, no new ones started; the notebooks not done are
 * counted as skipped.  The reader of stdout gone (SIGPIPE at the next report) ends
 * the run the same way; SIGPIPE is then ignored and stdout_gone set (the reports not
 * read are the caller's write error to report).  A signal ignored when the run starts
 * (nohup's SIGHUP, SIGINT for a background job) stays ignored.
 */
#ifndef NBSTAGE_TAGRUN_H
#define NBSTAGE_TAGRUN_H

#include <semaphore.h>
#include <stddef.h>

#include "labeling/stage.h"
#include "model/tagbatch.h"
#include "model/tagjob.h"
#include "nbformat/progress.h"

struct tagrun {
    struct tagjob_options opt;
    struct tagjob *jobs; /* jobs[0 .. n), each with its path */
    size_t n;
    /* tagrun_all's own while it runs */
    struct progress bar;
    sem_t compute; /* -j: jobs past the gate at once */
    struct tagbatch *batch; /* the classifications asked for (see "Windows") */
    /* totals, kept by the delivering thread (failed may start above 0) */
    long failed, rewritten, unchanged, with_findings, skipped, sync_failed, spliced;
    long folders_failed; /* folders the walk could not read (model/tagfind.h): exit 2 too */
    struct nb_lang_tally not_python; /* left as they are (model/tagjob.h) */
    int stdout_gone; /* a SIGPIPE ended the run (set by tagrun_all) */
    int stdout_errno; /* why the run's last flush of stdout failed, or 0 (ditto) */
    int stdout_said; /* a notebook for stdout that did not reach it: said, counted failed */
    long long window_bytes; /* what a window may hold (0: WINDOW_BYTES; the tests set less) */
    size_t window_held;     /* the most a window's room held (set by tagrun_all, for the tests) */
    long code_cells, tagged, blank, kept, unreadable, changed_cells, stripped;
    long refreshed; /* of changed_cells: the same stage, its model name or confidence new */
    long per_stage[N_STAGES];
};

/* Does every job of R with R->opt, each job's report printed on stdout and stderr in
 * the order of R->jobs, its outcome added to R's totals, the filesystems written to
 * synced.  Each job's path is freed when it is reported.  Returns the most threads
 * at work at once (for the summary). */
int tagrun_all(struct tagrun *r);

#endif
