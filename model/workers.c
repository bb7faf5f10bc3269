/* workers.c — the thread pool of workers.h: jobs taken from a shared counter,
 * delivered in order on the caller's thread. */
#include "model/workers.h"

#include "nbformat/cpus.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

/* Wakeups are the cost here (a futex call each way), so the delivering thread is
 * woken per batch, not per job: it sleeps until job next_deliver is done and at
 * least `batch` (half the window) have finished past it, counting any order, or all
 * have; then it delivers the whole finished run at once.  Since the batch is less
 * than the window, workers all waiting for room means every job taken is done, which
 * wakes the deliverer: the batching cannot stall them.  Workers wake it only for
 * that, and it wakes them only when some wait for room. */
struct pool {
    pthread_mutex_t lock;
    pthread_cond_t finished; /* what the delivering thread waits for came true */
    pthread_cond_t room;     /* delivery moved on: workers may take more */
    size_t n, next_take, next_deliver, window, batch;
    size_t finished_jobs; /* jobs done, in any order */
    size_t want;          /* the deliverer sleeps until finished_jobs >= want and
                           * done[next_deliver]; 0: it is not asleep */
    size_t room_waiters;  /* workers waiting for room */
    unsigned char *done;
    workers_job job;
    void *ctx;
};

static void *worker_main(void *arg)
{
    struct pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (p->next_take < p->n && p->next_take >= p->next_deliver + p->window) {
            p->room_waiters++;
            pthread_cond_wait(&p->room, &p->lock);
            p->room_waiters--;
        }
        if (p->next_take >= p->n) break;
        size_t i = p->next_take++;
        pthread_mutex_unlock(&p->lock);

        p->job(i, p->ctx);

        pthread_mutex_lock(&p->lock);
        p->done[i] = 1;
        p->finished_jobs++;
        if (p->want && p->finished_jobs >= p->want && p->done[p->next_deliver]) {
            p->want = 0;
            pthread_cond_signal(&p->finished);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static int run_inline(size_t n, workers_job job, workers_done done, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        job(i, ctx);
        done(i, ctx);
    }
    return 1;
}

int workers_run(int threads, size_t n, workers_job job, workers_done done, void *ctx)
{
    if (threads <= 1 || n <= 1) return run_inline(n, job, done, ctx);
    if ((size_t)threads > n) threads = (int)n;
    struct pool p = {.n = n, .job = job, .ctx = ctx};
    /* A few jobs per thread ahead: enough to keep every thread busy behind one slow
     * file, few enough that finished results do not pile up in memory. */
    p.window = (size_t)threads * 8;
    p.batch = p.window / 2;
    p.done = calloc(n, 1);
    pthread_t *tid = malloc((size_t)threads * sizeof *tid);
    if (!p.done || !tid) {
        free(p.done);
        free(tid);
        return run_inline(n, job, done, ctx);
    }
    pthread_mutex_init(&p.lock, NULL);
    pthread_cond_init(&p.finished, NULL);
    pthread_cond_init(&p.room, NULL);
    int started = 0;
    for (int t = 0; t < threads; t++) {
        if (pthread_create(&tid[started], NULL, worker_main, &p) != 0) break;
        started++;
    }
    if (started == 0) {
        /* no thread at all: the caller does the work itself */
        pthread_cond_destroy(&p.room);
        pthread_cond_destroy(&p.finished);
        pthread_mutex_destroy(&p.lock);
        free(p.done);
        free(tid);
        return run_inline(n, job, done, ctx);
    }
    pthread_mutex_lock(&p.lock);
    for (size_t d = 0; d < n;) {
        size_t want = d + p.batch < n ? d + p.batch : n;
        while (!p.done[d] || p.finished_jobs < want) {
            p.want = want;
            pthread_cond_wait(&p.finished, &p.lock);
        }
        p.want = 0;
        size_t end = d + 1;
        while (end < n && p.done[end]) end++;
        pthread_mutex_unlock(&p.lock);
        for (; d < end; d++) done(d, ctx);
        pthread_mutex_lock(&p.lock);
        p.next_deliver = end;
        if (p.room_waiters) pthread_cond_broadcast(&p.room);
    }
    pthread_mutex_unlock(&p.lock);
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    pthread_cond_destroy(&p.room);
    pthread_cond_destroy(&p.finished);
    pthread_mutex_destroy(&p.lock);
    free(p.done);
    free(tid);
    return started;
}

int workers_default(void)
{
    return cpus_usable();
}
