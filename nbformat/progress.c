/* progress.c — the terminal progress bar (see progress.h). */
#include "nbformat/progress.h"

#include "nbformat/clock.h"
#include "nbformat/notebook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The terminal's width: its own, else COLUMNS, else 80. */
static int columns(void)
{
    int c = nb_tty_columns(STDERR_FILENO);
    if (!c) c = nb_env_columns();
    return c ? c : 80;
}

void progress_start(struct progress *p, const char *what, long total, int quiet)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    p->what = what ? what : "";
    p->total = total;
    p->tty = !quiet && isatty(STDERR_FILENO);
    p->cols = p->tty ? columns() : 80;
    p->start = nb_now();
    p->last_draw = 0;
}

/* Puts LINE where the last one was: \r, the line, spaces over what is left of the
 * old one, \r-free ends so that the cursor stays after the text.  Called with the
 * lock held. */
static void put(struct progress *p, const char *line)
{
    int n = (int)strlen(line);
    /* spaces over the old line, no further than the width less one: the terminal may
     * have narrowed since it was drawn (and has wrapped it already) */
    int old = p->drawn < p->cols - 1 ? p->drawn : p->cols - 1;
    fprintf(stderr, "\r%s%*s", line, old > n ? old - n : 0, "");
    if (old > n) fprintf(stderr, "\r%s", line);
    fflush(stderr);
    p->drawn = n;
}

/* Called with the lock held. */
static void draw(struct progress *p, int force)
{
    double t = nb_now();
    if (!force && t - p->last_draw < 0.1) return;
    p->last_draw = t;
    char line[160], tail[96];
    double el = t - p->start;
    /* at most the width less one (a line that fills the last column wraps on some), the
     * width asked again each time: the terminal may have been resized */
    p->cols = columns();
    int room = p->cols - 1 < (int)sizeof line - 1 ? p->cols - 1 : (int)sizeof line - 1;
    if (room < 1) return;
    if (p->total > 0) {
        long d = p->done > p->total ? p->total : p->done;
        double eta = d > 0 ? el * (double)(p->total - d) / (double)d : 0;
        snprintf(tail, sizeof tail, " %ld/%ld %3d%%  %.0fs left", d, p->total,
                 (int)(100.0 * (double)d / (double)p->total), eta);
        /* the bar takes what the words leave, up to 30; under 5 there is none */
        int w = room - (int)strlen(p->what) - (int)strlen(tail) - 3;
        if (w > 30) w = 30;
        if (w >= 5) {
            char bar[31];
            int fill = (int)((double)d * w / (double)p->total);
            for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
            bar[w] = 0;
            snprintf(line, sizeof line, "%s [%s]%s", p->what, bar, tail);
        } else {
            snprintf(line, sizeof line, "%s%s", p->what, tail);
        }
    } else {
        snprintf(line, sizeof line, "%s: %ld  %.0fs", p->what, p->done, el);
    }
    line[room] = 0;
    put(p, line);
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

void progress_erase_locked(struct progress *p)
{
    if (p->tty && p->drawn) {
        int cols = columns();
        fprintf(stderr, "\r%*s\r", p->drawn < cols - 1 ? p->drawn : cols - 1, "");
        fflush(stderr);
    }
    p->drawn = 0;
}

void progress_end(struct progress *p)
{
    pthread_mutex_lock(&p->lock);
    progress_erase_locked(p);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_destroy(&p->lock);
}
