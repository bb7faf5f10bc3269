/* closers.c — the replaced files' last closes, on closer threads (see closers.h for
 * why). */
#include "model/closers.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HELD_BYTES ((long long)1 << 30)

/* Handed over in batches: a closer is woken once per CLOSE_BATCH descriptors queued
 * and takes that many at once, not one wakeup and two lock round trips per file
 * (those were a third of the run's futex calls).  The last < CLOSE_BATCH of a run
 * wait for closers_end. */
enum { CLOSE_BATCH = 16 };

void closers_hold(struct closers *h, int fd, long long size)
{
    int wake = 0;
    pthread_mutex_lock(&h->lock);
    if (h->started && h->n - h->head < h->max && h->bytes + size <= HELD_BYTES) {
        if (h->n == h->cap && h->head) { /* reuse the closed front */
            memmove(h->q, h->q + h->head, (h->n - h->head) * sizeof *h->q);
            h->n -= h->head;
            h->head = 0;
        }
        if (h->n == h->cap) {
            size_t cap = h->cap ? h->cap * 2 : 256;
            struct held_fd *p = realloc(h->q, cap * sizeof *p);
            if (p) {
                h->q = p;
                h->cap = cap;
            }
        }
        if (h->n < h->cap) {
            h->q[h->n++] = (struct held_fd){fd, size};
            h->bytes += size;
            fd = -1;
            /* one wakeup as the queue reaches each multiple of a batch (it grows by
             * one here, so none is skipped); a closer at work takes it without */
            wake = (h->n - h->head) % CLOSE_BATCH == 0;
        }
    }
    pthread_mutex_unlock(&h->lock);
    /* (after the unlock: the closer woken need not wait for the lock, nor other
     * savers for the wakeup; it checks what is queued under the lock itself) */
    if (wake) pthread_cond_signal(&h->more);
    if (fd >= 0) close(fd);
}

static void *closer_main(void *v)
{
    struct closers *h = v;
    struct held_fd take[CLOSE_BATCH];
    pthread_mutex_lock(&h->lock);
    for (;;) {
        while (h->n - h->head < CLOSE_BATCH && !h->ending) pthread_cond_wait(&h->more, &h->lock);
        size_t k = h->n - h->head;
        if (k == 0) break; /* ending, nothing left */
        if (k > CLOSE_BATCH) k = CLOSE_BATCH;
        memcpy(take, h->q + h->head, k * sizeof *take);
        h->head += k;
        if (h->head == h->n) h->head = h->n = 0;
        pthread_mutex_unlock(&h->lock);
        long long bytes = 0;
        for (size_t i = 0; i < k; i++) {
            close(take[i].fd);
            bytes += take[i].size;
        }
        pthread_mutex_lock(&h->lock);
        h->bytes -= bytes;
    }
    pthread_mutex_unlock(&h->lock);
    return NULL;
}

void closers_start(struct closers *h, struct rlimit *old, int threads, size_t *ahead)
{
    struct rlimit rl;
    h->max = 0;
    if (getrlimit(RLIMIT_NOFILE, old)) {
        *ahead = 1; /* unknown limit: no more open at once than without windows */
        return;
    }
    rl = *old;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) rl.rlim_cur = rl.rlim_max;
    else if (rl.rlim_max == RLIM_INFINITY) rl.rlim_cur = 1 << 20;
    if (rl.rlim_cur > (1 << 20)) rl.rlim_cur = 1 << 20;
    if (setrlimit(RLIMIT_NOFILE, &rl)) rl = *old;
    /* leave room for the workers' own: a temporary and a read each, syncfs, stdio */
    rlim_t spare = 64 + 8 * (rlim_t)threads;
    size_t left = rl.rlim_cur > spare ? (size_t)(rl.rlim_cur - spare) : 0;
    if (*ahead > left / 2) *ahead = left / 2 ? left / 2 : 1;
    h->max = left > *ahead ? left - *ahead : 0;
    if (!h->max) return;
    for (int t = 0; t < CLOSERS; t++)
        if (!pthread_create(&h->tid[h->started], NULL, closer_main, h)) h->started++;
}

void closers_end(struct closers *h, const struct rlimit *old)
{
    pthread_mutex_lock(&h->lock);
    h->ending = 1;
    pthread_cond_broadcast(&h->more);
    pthread_mutex_unlock(&h->lock);
    for (int t = 0; t < h->started; t++) pthread_join(h->tid[t], NULL);
    h->started = 0;
    free(h->q);
    h->q = NULL;
    h->head = h->n = h->cap = 0;
    setrlimit(RLIMIT_NOFILE, old);
}
