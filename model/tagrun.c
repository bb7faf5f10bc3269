/* tagrun.c — the notebooks of a `nbstage tag` run, done in windows on worker threads
 * (see tagrun.h: "Windows", and why more threads than -j).
 */
#include "model/tagrun.h"
#include "model/context.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "model/workers.h"
#include "nbformat/notebook.h"
#include "nbformat/sigcatch.h"

enum { WRITE_FANOUT = 4 };

/* Set by SIGINT/SIGTERM/SIGHUP/SIGPIPE, read by every worker: an atomic (lock-free,
 * so safe in the handler), as a volatile sig_atomic_t only orders a handler against
 * its own thread.  stdout_gone: set by SIGPIPE. */
static atomic_int interrupted, stdout_gone;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic_int must be lock-free to be set in a signal handler");

static void on_signal(int sig)
{
    /* finish the files being written, start no new ones */
    if (sig == SIGPIPE) atomic_store_explicit(&stdout_gone, 1, memory_order_relaxed);
    atomic_store_explicit(&interrupted, 1, memory_order_relaxed);
}

enum { WINDOW_NOTEBOOKS = 512 };
/* What a window may hold: its files and their scans (see "Memory"). */
#define WINDOW_BYTES ((long long)256 << 20)
/* The read room's blocks (model/blockmem.h): a notebook of the shared corpus is 17 KB
 * at the median, 143 KB at the 99th percentile, and a window of 512 of them ~14 MB; a
 * file over 4 MB gets a block of its own.  Past a window, up to READ_KEEP bytes of
 * blocks are kept for the next (a window of large files may take WINDOW_BYTES). */
#define READ_BLOCK ((size_t)4 << 20)
#define READ_KEEP ((size_t)64 << 20)

/* The scanners of the notebooks being prepared, one per thread at work: each grows to
 * the largest notebook it scanned and is kept for the run, and what a scan found is
 * copied to the window's room (see "Memory" in tagrun.h). */
struct scanners {
    pthread_mutex_t lock;
    struct canonscan *scan;
    unsigned char *busy;
    size_t n;
};

/* A free scanner of S, or NULL (none left: the caller scans with one of its own). */
static struct canonscan *scanner_take(struct scanners *s)
{
    struct canonscan *got = NULL;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n && !got; i++)
        if (!s->busy[i]) s->busy[i] = 1, got = &s->scan[i];
    pthread_mutex_unlock(&s->lock);
    return got;
}

static void scanner_give(struct scanners *s, struct canonscan *scan)
{
    pthread_mutex_lock(&s->lock);
    s->busy[scan - s->scan] = 0;
    pthread_mutex_unlock(&s->lock);
}

/* A window of notebooks (see "Windows"): jobs[first .. first + count), pool[i] read
 * ahead for job first + i, the bytes it may still hold (its files and scans, see
 * "Memory").  Two of them take turns, one being saved while the next is prepared. */
struct window {
    struct tagrun *r;
    size_t first, count;
    struct tagjob_prep *pool;
    long long budget;
    struct read_room room; /* the window's files and scans, rewound when the window is reused */
    struct scanners *scanners; /* (both windows') */
};

/* N bytes from SRC to DST (SRC may be NULL when N is 0, as an unused array is). */
static void *copy(void *dst, const void *src, size_t n)
{
    if (n) memcpy(dst, src, n);
    return dst;
}

/* P's copy of scan S, its arrays and its answers' in one piece of W's room: the
 * window's scans take the pages of a window's worth of them, reused from window to
 * window, where a growing buffer per slot took as many as the largest notebook each
 * slot saw (see "Memory").  The piece is charged to the window's budget as its file
 * was: a scan can be several times its file.  -1 when over the budget or out of
 * memory (then left charged: the window holds less, not more). */
static int keep_scan(struct window *w, struct tagjob_prep *p, const struct canonscan *s)
{
    size_t cells = s->n * sizeof *s->cells, items = s->nitems * sizeof *s->items;
    size_t subs = s->nsubs * sizeof *s->subs, answers = s->n * (sizeof *p->stage + sizeof *p->prob);
    _Static_assert(sizeof(struct canon_cell) % sizeof(size_t) == 0 &&
                   sizeof(struct canon_item) % sizeof(size_t) == 0 && sizeof(int) == sizeof(float),
                   "the arrays follow each other aligned");
    size_t align = sizeof(size_t) - 1, n = cells + items + subs + answers + s->text.n + align;
    if (tagjob_charge(&w->budget, (long long)n)) return -1;
    pthread_mutex_lock(&w->room.lock);
    char *m = blockmem_take(&w->room.mem, n);
    pthread_mutex_unlock(&w->room.lock);
    if (!m) return -1;
    m += (align + 1 - (uintptr_t)m % (align + 1)) % (align + 1);
    p->scan = *s;
    p->scan.cells = copy(m, s->cells, cells);
    p->scan.items = copy(m + cells, s->items, items);
    p->scan.subs = copy(m + cells + items, s->subs, subs);
    p->stage = (int *)(m + cells + items + subs);
    p->prob = (float *)(p->stage + s->n);
    p->scan.text.p = copy(p->prob + s->n, s->text.p, s->text.n);
    p->scan.cap = p->scan.items_cap = p->scan.subs_cap = p->scan.text.cap = 0; /* not to grow */
    return 0;
}

/* Worker thread, first step of a window: job first + I read and scanned with SCAN,
 * its classifications asked for (inside the compute gate: see prepare_job). */
static void prepare_one(struct window *w, size_t i, struct canonscan *scan)
{
    struct tagrun *r = w->r;
    const struct tagjob_options *o = &r->opt;
    struct tagjob *j = &r->jobs[w->first + i];
    struct tagjob_prep *p = &w->pool[i];
    j->prep = NULL;
    if (atomic_load_explicit(&interrupted, memory_order_relaxed) || !strcmp(j->path, "-")) return;
    int in_place = !o->check && !o->dry_run && !o->output;
    p->old_fd = -1;
    p->buf = tagjob_read(j->path, &p->len, &p->st, p->why, sizeof p->why,
                         in_place ? &p->old_fd : NULL, &w->budget, &w->room, &p->in_room);
    if (!p->buf && !p->why[0]) return; /* over the window's budget: run_job reads it */
    j->prep = p;
    if (!p->buf) return; /* the reason is reported by tagjob_tag */
    struct tag_options to = {.model = o->model, .cache = o->cache};
    p->fast = tagfast_scan(scan, p->buf, p->len, &to);
    if (p->fast) return;
    p->lang = (struct nb_lang){.python = 1};
    if (!o->any_language) { /* not Python: left alone by tagjob_tag, not classified */
        if (nb_lang_of_metadata(p->buf + scan->meta_off, scan->meta_end - scan->meta_off, &p->lang)) {
            p->fast = 1; /* the language unknown: tagjob_tag reads the notebook whole */
            return;
        }
        if (!p->lang.python) return;
    }
    if (keep_scan(w, p, scan)) { /* past the budget (or no memory): run_job scans it again */
        p->fast = -1;
        return;
    }
    struct context_cursor cur = {0}; /* each cell after its predecessor, for a context model */
    for (size_t c = 0; c < p->scan.n; c++) {
        const struct canon_cell *cell = &p->scan.cells[c];
        const char *prev;
        size_t plen;
        context_next(&cur, p->scan.text.p + cell->src_off, cell->src_len, &prev, &plen);
        if (tagbatch_ask_after(r->batch, prev, plen, p->scan.text.p + cell->src_off, cell->src_len,
                               &p->stage[c], &p->prob[c]) < 0) {
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
    struct tag_gate gate;
    size_t from = step * PREPARE_STEP;
    size_t to = from + PREPARE_STEP < w->count ? from + PREPARE_STEP : w->count;
    struct canonscan own = {0}, *scan = scanner_take(w->scanners);
    tag_gate_enter(&gate, &w->r->compute);
    for (size_t i = from; i < to; i++) prepare_one(w, i, scan ? scan : &own);
    tag_gate_leave(&gate);
    if (scan) scanner_give(w->scanners, scan);
    canonscan_free(&own);
}

static void deliver_nothing(size_t i, void *vrun)
{
    (void)i;
    (void)vrun;
}

/* The notebook J's window read ahead, and the descriptor of its old file, let go. */
static void drop_read_ahead(struct tagjob *j)
{
    if (!j->prep) return;
    if (!j->prep->in_room) free(j->prep->buf);
    j->prep->buf = NULL;
    if (j->prep->old_fd >= 0) close(j->prep->old_fd);
    j->prep->old_fd = -1;
}

/* Worker thread: one notebook, its report into memory. */
static void run_job(size_t i, void *vwin)
{
    struct window *w = vwin;
    struct tagrun *r = w->r;
    struct tagjob *j = &r->jobs[w->first + i];
    if (atomic_load_explicit(&interrupted, memory_order_relaxed)) {
        j->skipped = 1;
        drop_read_ahead(j); /* never to be written */
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
            drop_read_ahead(j);
            j->failed = 1; /* reported by deliver() */
        } else {
            struct tag_gate gate;
            tag_gate_enter(&gate, &r->compute);
            tagjob_tag(j, &r->opt, out, err, &gate);
            tag_gate_leave(&gate);
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
    struct tagrun *r = w->r;
    struct tagjob *j = &r->jobs[w->first + i];
    /* the reports name files, and a crawled file's name may hold an escape sequence */
    int out_errno = 0;
    if (!j->to_stdout) {
        if (j->out_len) { /* on the bar's terminal: the bar erased first, as for stderr below */
            pthread_mutex_lock(&r->bar.lock);
            if (isatty(STDOUT_FILENO)) progress_erase_locked(&r->bar);
            nb_show(stdout, j->out, j->out_len);
            pthread_mutex_unlock(&r->bar.lock);
        }
    } else if (!j->failed) {
        /* The notebook itself on stdout (-o -, '-' alone: the one job of the run) is
         * flushed here, so that one that did not reach stdout (a full disk, a closed
         * stdout) is counted failed, not rewritten, and said with the failed write's
         * errno (a notebook larger than stdio's buffer is written past it, and the
         * final flush had nothing left to fail on: "Input/output error"). */
        errno = 0;
        nb_show(stdout, j->out, j->out_len);
        if (fflush(stdout) || ferror(stdout)) out_errno = errno ? errno : EIO;
    }
    if (j->err_len || out_errno || (j->failed && !j->err)) {
        /* erase the bar first so the message starts on a clean line */
        pthread_mutex_lock(&r->bar.lock);
        progress_erase_locked(&r->bar);
        if (j->err_len) nb_show(stderr, j->err, j->err_len);
        else if (j->failed && !j->err) nb_say(stderr, "nbstage tag: %s: out of memory", j->path);
        if (out_errno) nb_say(stderr, "nbstage tag: <stdout>: write error: %s", strerror(out_errno));
        pthread_mutex_unlock(&r->bar.lock);
    }
    if (out_errno) {
        j->failed = 1;
        r->stdout_said = 1;
    }
    if (j->skipped) r->skipped++;
    else if (j->failed) r->failed++;
    else if (j->not_python) nb_lang_tally_add(&r->not_python, &j->lang);
    else if (j->rewritten) r->rewritten++;
    else r->unchanged++;
    if (j->findings) r->with_findings++;
    if (!j->failed && !j->skipped) {
        r->spliced += j->spliced;
        r->code_cells += j->res.code_cells;
        r->tagged += j->res.tagged;
        r->blank += j->res.blank;
        r->kept += j->res.kept;
        r->unreadable += (long)j->res.n_unreadable;
        r->stripped += j->res.outputs_stripped;
        r->changed_cells += j->res.missing + j->res.stale + j->res.removed + j->res.refreshed +
                            j->res.noncode_cleared;
        r->refreshed += j->res.refreshed;
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

/* The signals a run catches, and what each did before (see "Ctrl-C" in tagrun.h). */
struct caught {
    struct sigaction old_int, old_term, old_hup, old_pipe;
};

/* SIGINT, SIGTERM, SIGHUP and SIGPIPE sent to on_signal while the run goes on (a signal
 * ignored when the run starts stays ignored), their handlers before kept in C. */
static void catch_signals(struct caught *c)
{
    /* A second Ctrl-C (SIGTERM, SIGHUP) ends the program as it would have.  The
     * reader of stdout gone (`nbstage tag repo | head`): the SIGPIPE of the next
     * report written ends the run in the same way (it killed it in the middle of the
     * saves, their temporaries left), and the later ones, whose writes just fail, are
     * no signal of ours to die of. */
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND};
    sigemptyset(&sa.sa_mask);
    struct sigaction pipe_sa = {.sa_handler = on_signal};
    sigemptyset(&pipe_sa.sa_mask);
    sig_catch_unless_ignored(SIGINT, &sa, &c->old_int);
    sig_catch_unless_ignored(SIGTERM, &sa, &c->old_term);
    sig_catch_unless_ignored(SIGHUP, &sa, &c->old_hup);
    sig_catch_unless_ignored(SIGPIPE, &pipe_sa, &c->old_pipe);
    atomic_store(&interrupted, 0);
    atomic_store(&stdout_gone, 0);
}

/* The handlers of C back, but SIGPIPE ignored when it ended the run: what stdout
 * still holds (an EPIPE) is the caller's to report.  R->stdout_gone set. */
static void release_signals(struct tagrun *r, const struct caught *c)
{
    sigaction(SIGINT, &c->old_int, NULL);
    sigaction(SIGTERM, &c->old_term, NULL);
    sigaction(SIGHUP, &c->old_hup, NULL);
    if (atomic_load(&stdout_gone)) signal(SIGPIPE, SIG_IGN);
    else sigaction(SIGPIPE, &c->old_pipe, NULL);
    r->stdout_gone = atomic_load(&stdout_gone);
}

/* tagrun_all's own while it runs, beside R's: what every save shares (the filesystems
 * to sync, the closers of the replaced files), the two windows, their scanners, and
 * the saver of the window before. */
struct run {
    struct tagrun *r;
    struct caught caught;
    struct fssync fs;
    struct closers held;
    struct rlimit old_nofile; /* the descriptor limit to restore (closers_start) */
    int ahead; /* notebooks read ahead and batched (else each read by run_job) */
    size_t window; /* the notebooks of a window */
    struct scanners scanners;
    struct window win[2];
    struct saver sv;
    int threads; /* the most threads at work at once */
};

/* The shared state of the run: the saves' sync and closers, the progress bar, the
 * compute gate (-j), the saves' fan-out, and the notebooks of a window (0: none read
 * ahead). */
static void start_run(struct run *run)
{
    struct tagrun *r = run->r;
    r->opt.fs = &run->fs;
    r->opt.held = &run->held;
    progress_start(&r->bar, "tag", (long)r->n, r->opt.quiet);
    sem_init(&r->compute, 0, (unsigned)r->opt.jobs);
    int writes = !r->opt.check && !r->opt.dry_run;
    /* the threads a window's saves may use: more than -j when writing */
    run->sv.fanout = r->opt.jobs * (writes ? WRITE_FANOUT : 1);
    /* read ahead and batch only where the fast path and the model are used */
    run->ahead = r->opt.model && !r->opt.nbformat_layout && !r->opt.strip_outputs;
    size_t window = run->ahead ? (r->n < WINDOW_NOTEBOOKS ? r->n : WINDOW_NOTEBOOKS) : 0;
    /* two windows are read ahead at once (one saved, the next prepared), each notebook
     * saved in place keeping its file's descriptor until its save: fewer notebooks a
     * window when the descriptor limit leaves fewer */
    size_t ahead_fds = 2 * window;
    closers_start(&run->held, &run->old_nofile, run->sv.fanout, &ahead_fds);
    if (window) window = ahead_fds / 2 ? ahead_fds / 2 : 1;
    run->window = window;
}

/* The windows' pools of read-ahead slots, the scanners (one per -j) and the batch, its
 * classifications inside the gate.  -1 without a pool or the batch (out of memory):
 * then neither is kept. */
static int set_up_read_ahead(struct run *run)
{
    struct tagrun *r = run->r;
    struct window *win = run->win;
    struct scanners *scanners = &run->scanners;
    win[0].pool = calloc(run->window, sizeof *win[0].pool);
    win[1].pool = calloc(run->window, sizeof *win[1].pool);
    /* (none: each step of prepare_job scans with one of its own) */
    scanners->scan = calloc((size_t)r->opt.jobs, sizeof *scanners->scan);
    scanners->busy = calloc((size_t)r->opt.jobs, 1);
    if (scanners->scan && scanners->busy) scanners->n = (size_t)r->opt.jobs;
    r->batch = tagbatch_new(r->opt.model, r->opt.cache);
    if (!win[0].pool || !win[1].pool || !r->batch) {
        free(win[0].pool);
        free(win[1].pool);
        tagbatch_free(r->batch);
        win[0].pool = win[1].pool = NULL;
        r->batch = NULL;
        return -1;
    }
    tagbatch_gate(r->batch, &r->compute);
    return 0;
}

/* The two windows, their rooms ready, and read-ahead set up where the run reads ahead;
 * else one window of every notebook, each classified one cell at a time. */
static void set_up_windows(struct run *run)
{
    struct tagrun *r = run->r;
    for (int b = 0; b < 2; b++) {
        run->win[b] = (struct window){.r = r, .scanners = &run->scanners};
        run->win[b].room.mem.block = READ_BLOCK;
        run->win[b].room.mem.keep = READ_KEEP;
        pthread_mutex_init(&run->win[b].room.lock, NULL);
    }
    if (!run->ahead || !run->window) run->window = r->n;
    if (run->ahead && run->window > 0 && set_up_read_ahead(run)) run->window = r->n;
}

/* The first two steps of window W, while the window before is saved: each notebook
 * read and scanned (prepare_job), then the classifications asked for, together. */
static void prepare_window(struct window *w)
{
    struct tagrun *r = w->r;
    w->budget = r->window_bytes > 0 ? r->window_bytes : WINDOW_BYTES;
    blockmem_rewind(&w->room.mem); /* (its jobs were all saved: see "Windows") */
    workers_run(r->opt.jobs, (w->count + PREPARE_STEP - 1) / PREPARE_STEP, prepare_job,
                deliver_nothing, w);
    /* the room's most (it grows no more: run_job reads to the heap) */
    size_t in_room = blockmem_used(&w->room.mem);
    if (in_room > r->window_held) r->window_held = in_room;
    tagbatch_run(r->batch, r->opt.jobs);
}

/* The last step of window W handed to the saver once the window before is saved: on
 * the saver's thread while the next window is prepared, or here and at once (W not
 * read ahead: the run's one window, or no thread to be had). */
static void hand_to_saver(struct saver *sv, struct window *w, int *threads)
{
    saver_join(sv, threads);
    sv->w = w;
    if (w->pool && !pthread_create(&sv->tid, NULL, saver_main, sv)) {
        sv->running = 1;
    } else { /* (no thread: here, before the next window) */
        saver_main(sv);
        saver_join(sv, threads);
    }
}

/* Every notebook, a window at a time, the two windows taking turns (see "Windows"). */
static void run_windows(struct run *run)
{
    struct tagrun *r = run->r;
    int k = 0;
    for (size_t first = 0; first < r->n; first += run->window, k ^= 1) {
        struct window *w = &run->win[k];
        w->first = first;
        w->count = r->n - first < run->window ? r->n - first : run->window;
        if (w->pool) prepare_window(w);
        hand_to_saver(&run->sv, w, &run->threads);
    }
    saver_join(&run->sv, &run->threads);
}

/* The windows, their scanners and the batch freed (every window saved). */
static void free_windows(struct run *run)
{
    struct scanners *scanners = &run->scanners;
    for (size_t i = 0; i < scanners->n; i++) canonscan_free(&scanners->scan[i]);
    free(scanners->scan);
    free(scanners->busy);
    pthread_mutex_destroy(&scanners->lock);
    for (int b = 0; b < 2; b++) {
        free(run->win[b].pool);
        blockmem_free(&run->win[b].room.mem);
        pthread_mutex_destroy(&run->win[b].room.lock);
    }
    tagbatch_free(run->r->batch);
}

/* The run's end: the gate and the bar gone, every in-place save synced, the replaced
 * files closed and the descriptor limit restored. */
static void end_run(struct run *run)
{
    struct tagrun *r = run->r;
    tagjob_thread_end(); /* (jobs run here with one thread) */
    sem_destroy(&r->compute);
    progress_end(&r->bar);
    /* the durability of every in-place save, before any success is reported (also
     * after an interrupt: what was renamed should reach the disk) */
    r->sync_failed = fssync_end(&run->fs); /* (the closers finish meanwhile) */
    closers_end(&run->held, &run->old_nofile);
    r->opt.fs = NULL;
    r->opt.held = NULL;
}

/* The last reports flushed, while a SIGPIPE is still ours: into a pipe whose reader
 * left after the run's last flush, an error to report too, not a signal to die of.
 * Its errno is kept in R->stdout_errno for the caller's message: glibc does not write
 * the failed buffer again, so a second fflush succeeds and says nothing (ferror
 * stays). */
static void flush_reports(struct tagrun *r)
{
    errno = 0;
    r->stdout_errno = fflush(stdout) ? (errno ? errno : EIO) : 0;
}

int tagrun_all(struct tagrun *r)
{
    struct run run = {.r = r,
                      .fs = {.lock = PTHREAD_MUTEX_INITIALIZER},
                      .held = {.lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER},
                      .scanners = {.lock = PTHREAD_MUTEX_INITIALIZER}};
    catch_signals(&run.caught);
    start_run(&run);
    set_up_windows(&run);
    run_windows(&run);
    free_windows(&run);
    end_run(&run);
    flush_reports(r);
    release_signals(r, &run.caught);
    /* the threads past -j only waited on saves */
    return run.threads < r->opt.jobs ? run.threads : r->opt.jobs;
}
