/* fileonce.c — one file once: a notebook met again under another name (fileonce.h). */
#include "nbformat/fileonce.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A slot holds one of two things, told by KEY.  KEY 0: the first path met with an
 * inode (PATH as met; ENTERED once its entry is in the table too).  Else an entry, a
 * path met with an inode met before: PATH is its realpath's last name, FDEV:FINO the
 * folder that holds it, KEY their hash.  Entries have keys of their own, not one
 * chain per inode: each path compared with every other of its inode made a folder of
 * 20,000 hard links to one notebook (a crawl deduplicated by hard links) quadratic,
 * 3.5 s to walk, and 4,000 links all named a.ipynb, in as many folders, 10 s (two
 * stats a pair). */
struct fileonce_slot {
    dev_t dev, fdev;
    ino_t ino, fino;
    uint64_t key;
    char *path;
    int entered;
};

static size_t slot_of(const struct fileonce *o, dev_t dev, ino_t ino, uint64_t key)
{
    uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15u) ^ ((uint64_t)ino * 0xff51afd7ed558ccdu) ^
                 (key * 0xc4ceb9fe1a85ec53u);
    return (size_t)(h ^ (h >> 29)) & (o->cap - 1);
}

static int grow(struct fileonce *o)
{
    size_t cap = o->cap ? o->cap * 2 : 1024;
    struct fileonce_slot *old = o->slot, *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    size_t oldcap = o->cap;
    o->slot = t;
    o->cap = cap;
    for (size_t i = 0; i < oldcap; i++) {
        if (!old[i].path) continue;
        size_t k = slot_of(o, old[i].dev, old[i].ino, old[i].key);
        while (t[k].path) k = (k + 1) & (cap - 1);
        t[k] = old[i];
    }
    free(old);
    return 0;
}

void fileonce_free(struct fileonce *o)
{
    for (size_t i = 0; i < o->cap; i++) free(o->slot[i].path);
    free(o->slot);
    *o = (struct fileonce){0};
}

/* The directory entry PATH names, one key for one entry: its realpath's last name
 * (malloc'd, in *NAME) in the folder of device and inode *FDEV:*FINO (a bind mount
 * shows a folder at a second path with the same ones; a hard link is another entry).
 * A folder that cannot be stat'd: the whole realpath is the name, folder 0:0, so that
 * only that realpath is the same entry.  Returns the key (never 0), 0 out of memory. */
static uint64_t entry_of(const char *path, char **name, dev_t *fdev, ino_t *fino)
{
    char *real = realpath(path, NULL);
    if (!real && !(real = strdup(path))) return 0;
    *fdev = 0;
    *fino = 0;
    char *slash = strrchr(real, '/');
    if (slash) {
        char *end = slash + (slash == real), was = *end; /* "/a.ipynb": the folder is "/" */
        struct stat st;
        *end = 0;
        int ok = stat(real, &st) == 0;
        *end = was;
        if (ok) {
            memmove(real, slash + 1, strlen(slash + 1) + 1);
            *fdev = st.st_dev;
            *fino = st.st_ino;
        }
    }
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a */
    for (const char *c = real; *c; c++) h = (h ^ (unsigned char)*c) * 0x100000001b3u;
    h ^= ((uint64_t)*fdev * 0x9e3779b97f4a7c15u) ^ ((uint64_t)*fino * 0xff51afd7ed558ccdu);
    *name = real;
    return h | 1;
}

/* Notes the entry PATH names (its inode DEV:INO): 1 when noted before, 0 when new, -1
 * out of memory.  The table has room for it. */
static int enter(struct fileonce *o, dev_t dev, ino_t ino, const char *path)
{
    char *name;
    dev_t fdev;
    ino_t fino;
    uint64_t key = entry_of(path, &name, &fdev, &fino);
    if (!key) return -1;
    size_t k = slot_of(o, dev, ino, key);
    for (; o->slot[k].path; k = (k + 1) & (o->cap - 1)) {
        struct fileonce_slot *d = &o->slot[k];
        if (d->key == key && d->dev == dev && d->ino == ino && d->fdev == fdev && d->fino == fino &&
            !strcmp(d->path, name)) {
            free(name);
            return 1;
        }
    }
    o->slot[k] = (struct fileonce_slot){.dev = dev, .ino = ino, .fdev = fdev, .fino = fino,
                                        .key = key, .path = name};
    o->n++;
    return 0;
}

int fileonce_met(struct fileonce *o, const char *path)
{
    struct stat st;
    if (stat(path, &st)) return 0;
    if ((o->n + 2) * 2 > o->cap && grow(o)) return -1; /* room for two entries */
    size_t k = slot_of(o, st.st_dev, st.st_ino, 0);
    for (; o->slot[k].path; k = (k + 1) & (o->cap - 1))
        if (!o->slot[k].key && o->slot[k].dev == st.st_dev && o->slot[k].ino == st.st_ino) break;
    struct fileonce_slot *first = &o->slot[k];
    if (!first->path) { /* an inode not met: no realpath paid */
        if (!(first->path = strdup(path))) return -1;
        first->dev = st.st_dev;
        first->ino = st.st_ino;
        o->n++;
        return 0;
    }
    if (!first->entered) { /* (the table does not grow in between: FIRST stays) */
        if (enter(o, first->dev, first->ino, first->path) < 0) return -1;
        first->entered = 1;
    }
    return enter(o, st.st_dev, st.st_ino, path);
}
