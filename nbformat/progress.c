/* progress.c — the terminal progress bar (see progress.h). */
#include "nbformat/progress.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void progress_start(struct progress *p, const char *what, long total)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    p->what = what ? what : "";
    p->total = total;
    p->tty = isatty(STDERR_FILENO);
    p->start = now();
    p->last_draw = 0;
}

/* Called with the lock held. */
static void draw(struct progress *p, int force)
{
    double t = now();
    if (!force && t - p->last_draw < 0.1) return;
    p->last_draw = t;
    char line[160];
    double el = t - p->start;
    if (p->total > 0) {
        enum { W = 30 };
        long d = p->done > p->total ? p->total : p->done;
        int fill = (int)((double)d * W / (double)p->total);
        char bar[W + 1];
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
        bar[W] = 0;
        double eta = d > 0 ? el * (double)(p->total - d) / (double)d : 0;
        snprintf(line, sizeof line, "%s [%s] %ld/%ld %3d%%  %.0fs left", p->what, bar, d,
                 p->total, (int)(100.0 * (double)d / (double)p->total), eta);
    } else {
        snprintf(line, sizeof line, "%s: %ld  %.0fs", p->what, p->done, el);
    }
    /* \r and erase-to-end: the bar overwrites itself in place */
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    p->drawn = 1;
}

void progress_update(struct progress *p, long done)
{
    if (!p->tty) return; /* nothing to draw: no lock needed either */
    pthread_mutex_lock(&p->lock);
    if (done > p->done) p->done = done;
    draw(p, p->done == p->total);
    pthread_mutex_unlock(&p->lock);
}

void progress_add(struct progress *p, long n)
{
    pthread_mutex_lock(&p->lock);
    p->done += n;
    if (p->tty) draw(p, p->done == p->total);
    pthread_mutex_unlock(&p->lock);
}

void progress_end(struct progress *p)
{
    pthread_mutex_lock(&p->lock);
    if (p->tty && p->drawn) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    p->drawn = 0;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_destroy(&p->lock);
}
