/* fssync.c — one syncfs per filesystem written to (see fssync.h for why). */
#include "model/fssync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nbformat/notebook.h"

int fssync_register(struct fssync *t, dev_t dev, const char *path)
{
    int rc = 0;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].dev == dev) goto out;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4;
        struct fssync_entry *p = realloc(t->v, cap * sizeof *p);
        if (!p) { rc = -1; goto out; }
        t->v = p;
        t->cap = cap;
    }
    nb_error e;
    char *name = strdup(path);
    int fd = name ? nb_sync_fs_open(path, &e) : -1;
    if (fd < 0) {
        free(name);
        rc = -1;
        goto out;
    }
    t->v[t->n++] = (struct fssync_entry){dev, fd, name};
out:
    pthread_mutex_unlock(&t->lock);
    return rc;
}

long fssync_end(struct fssync *t)
{
    long failed = 0;
    for (size_t i = 0; i < t->n; i++) {
        nb_error e;
        if (nb_sync_fs(t->v[i].fd, t->v[i].name, &e)) {
            nb_say(stderr, "nbstage tag: %s (the files rewritten there may not be on disk)",
                   e.msg);
            failed++;
        }
        close(t->v[i].fd);
        free(t->v[i].name);
    }
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
    return failed;
}
