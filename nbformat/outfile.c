/* outfile.c — the programs' output files other than notebooks, written atomically
 * (see outfile.h).
 *
 * Owns: the stdio stream over the temporary (fopencookie, so that the first write
 * error's errno is kept for the message: stdio keeps only ferror, and once a failed
 * flush has dropped the buffer a later fflush succeeds, with errno whatever the
 * program did since), the commit (flush, fsync, rename, the folder's fsync) and
 * the abort, and the temporary's lock (nbsave.c) kept past the stream's close until
 * the rename or unlink, by a second descriptor (HOLD).  Where the file goes and
 * whether it may be written, the temporary's name and lock and the old owner are
 * nb_save_atomic's own code (nbsave.c, nbinternal.h), so the two writers cannot
 * drift apart.  And the temporaries still open when Ctrl-C, SIGTERM or
 * SIGHUP ends the program (ingest -o of a large corpus is a hidden file of ~100 MB):
 * a handler, installed where the signal's action is the default one, removes them and
 * lets the signal end the program as before (git's tempfile.c does the same).
 * Also the test of two output options naming one file (outfile_same), or an output
 * naming the file piped in as standard input (outfile_is_stdin).
 */
#include "nbformat/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbformat/nbinternal.h"

/* ---- temporaries removed when a signal ends the program */

enum { LIVE_MAX = 8 }; /* open at once: 3 at most today (train's model and curves) */
static char *_Atomic live[LIVE_MAX];
static const int end_signals[] = {SIGINT, SIGTERM, SIGHUP};

static void on_end_signal(int sig)
{
    int saved = errno;
    for (int i = 0; i < LIVE_MAX; i++) {
        char *t = atomic_load(&live[i]);
        if (t) unlink(t); /* async-signal-safe */
    }
    signal(sig, SIG_DFL); /* and end as the signal would have */
    raise(sig);
    errno = saved;
}

/* Handlers only where nothing else handles the signal (tag, train have their own),
 * looked at on every open, not once: train's own handlers, set while it trains (when
 * it writes its curves), are gone again when it writes its model, and a second Ctrl-C
 * during that write left the model's temporary (megabytes, hidden) behind. */
void outfile_catch_end_signals(void)
{
    for (size_t i = 0; i < sizeof end_signals / sizeof *end_signals; i++) {
        struct sigaction old;
        if (sigaction(end_signals[i], NULL, &old) || old.sa_handler != SIG_DFL ||
            (old.sa_flags & SA_SIGINFO))
            continue;
        struct sigaction sa = {.sa_handler = on_end_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(end_signals[i], &sa, NULL);
    }
}

static void live_add(char *tmp)
{
    for (int i = 0; i < LIVE_MAX; i++) {
        char *expected = NULL;
        if (atomic_compare_exchange_strong(&live[i], &expected, tmp)) return;
    }
    /* more than LIVE_MAX at once: this one is only not removed on a signal */
}

static void live_remove(const char *tmp)
{
    for (int i = 0; tmp && i < LIVE_MAX; i++) {
        char *expected = (char *)tmp;
        if (atomic_compare_exchange_strong(&live[i], &expected, NULL)) return;
    }
}

static void live_note(char *tmp, int on)
{
    if (on) live_add(tmp);
    else live_remove(tmp);
}

/* ---- the stream */

static ssize_t cookie_write(void *cookie, const char *buf, size_t len)
{
    struct outfile *o = cookie;
    size_t done = 0;
    while (done < len) {
        ssize_t w = write(o->fd, buf + done, len - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (!o->werr) o->werr = errno;
            return -1;
        }
        done += (size_t)w;
    }
    return (ssize_t)len;
}

static int cookie_close(void *cookie)
{
    struct outfile *o = cookie;
    int r = close(o->fd);
    if (r && !o->werr) o->werr = errno;
    o->fd = -1;
    return r;
}

static void release(struct outfile *o)
{
    live_remove(o->tmp); /* before its name is freed */
    if (o->hold > STDERR_FILENO) close(o->hold); /* after the rename or unlink: a zeroed struct's 0 is none */
    free(o->path);
    free(o->tmp);
    free(o->target);
    free(o->dir);
    *o = (struct outfile){.fd = -1};
}

/* "-" is standard output where a command takes it so, said before it calls us (ingest
 * -o, label -o, summary --svg); here it would be a file named "-" that no one meant. */
static int dash_refused(const char *path, nb_error *err)
{
    if (strcmp(path, "-")) return 0;
    nb_set_error(err, "-: not standard output here: give a file name (./- for a file named '-')");
    return -1;
}

static int open_as(struct outfile *o, const char *path, const struct stat *was, nb_error *err)
{
    *o = (struct outfile){.fd = -1};
    if (dash_refused(path, err)) return -1;
    int special = was ? 0 : nb_output_open_special(path, &o->fd, err);
    if (special < 0) return -1;
    if (was) {
        o->replacing = 1;
        o->was = *was;
    }
    if (!(o->path = strdup(path))) {
        nb_set_error(err, "%s: out of memory", path);
        goto fail;
    }
    if (!special) {
        struct nb_save_target t;
        if (nb_save_target(path, &t, err)) goto fail;
        o->target = t.real ? t.real : strdup(path);
        if (!o->target) {
            nb_set_error(err, "%s: out of memory", path);
            goto fail;
        }
        /* The name is noted before the file exists, so that a signal, on whichever
         * thread it lands, finds it from the moment it is made (until then unlink
         * finds nothing, barring a clash with another program's temporary of the same
         * random name during mkostemp's retry); the handlers first, for the same reason. */
        outfile_catch_end_signals();
        if ((o->fd = nb_save_mktemp(path, o->target, &o->tmp, &o->dir, live_note, err)) < 0) goto fail;
        o->hold = fcntl(o->fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
        nb_save_owner(o->fd, &t);
        if (fchmod(o->fd, t.mode)) {
            nb_set_error(err, "%s: writing %s: %s", path, o->tmp, strerror(errno));
            goto fail;
        }
    }
    static const cookie_io_functions_t io = {.write = cookie_write, .close = cookie_close};
    if (!(o->f = fopencookie(o, "w", io))) {
        nb_set_error(err, "%s: %s", path, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    if (o->fd >= 0) close(o->fd);
    if (o->tmp) unlink(o->tmp);
    release(o);
    return -1;
}

int outfile_open(struct outfile *o, const char *path, nb_error *err)
{
    return open_as(o, path, NULL, err);
}

int outfile_replace(struct outfile *o, const char *path, const struct stat *was, nb_error *err)
{
    return open_as(o, path, was, err);
}

int outfile_commit(struct outfile *o, nb_error *err)
{
    if (!o->f) {
        nb_set_error(err, "%s: not open", o->path ? o->path : "output");
        return -1;
    }
    int e = 0;
    if (fflush(o->f) || ferror(o->f)) e = o->werr ? o->werr : errno ? errno : EIO;
    /* a device refuses fsync; a FIFO has nothing to sync */
    if (!e && o->tmp && fsync(o->fd)) e = errno;
    if (fclose(o->f) && !e) e = o->werr ? o->werr : errno ? errno : EIO;
    o->f = NULL;
    if (e) {
        nb_set_error(err, "%s: write error: %s", o->path, strerror(e));
    } else if (o->replacing && !nb_file_unchanged(o->target, &o->was)) {
        /* looked at last, so the window left is the rename's own (as nb_save_atomic_if) */
        e = ESTALE;
        nb_set_error(err, "%s: changed while being written, left as it is now", o->path);
    } else if (o->tmp && rename(o->tmp, o->target)) {
        e = errno;
        nb_set_error(err, "%s: rename: %s", o->path, strerror(e));
    } else if (o->tmp) {
        if (nb_sync_dir(o->dir)) { /* the rename durable too */
            e = errno;
            nb_set_error(err, "%s: written, but syncing its folder %s failed: %s (the new "
                              "file may not be on disk)", o->path, o->dir, strerror(e));
        }
        live_remove(o->tmp);
        free(o->tmp);
        o->tmp = NULL;
    }
    if (o->tmp) unlink(o->tmp);
    release(o);
    return e ? -1 : 0;
}

void outfile_abort(struct outfile *o)
{
    if (o->f) fclose(o->f);
    if (o->tmp) unlink(o->tmp);
    release(o);
}

int outfile_check(const char *path, nb_error *err)
{
    struct stat st;
    if (dash_refused(path, err)) return -1;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return nb_output_is_dir(path, err);
        if (!S_ISREG(st.st_mode)) return 0; /* a device or a FIFO: written straight into */
        struct nb_save_target t;
        if (nb_save_target(path, &t, err)) return -1;
        free(t.real);
        return 0;
    }
    if (errno != ENOENT) {
        nb_set_error(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (nb_save_new_name(path, err)) return -1;
    /* a symlink to nothing: the file is made where it points (nbsave.c) */
    struct nb_save_target t = {0};
    struct stat lst;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && nb_save_target(path, &t, err)) return -1;
    char *copy = strdup(t.real ? t.real : path);
    free(t.real);
    if (!copy) {
        nb_set_error(err, "%s: out of memory", path);
        return -1;
    }
    const char *dir = dirname(copy);
    int bad = access(dir, W_OK | X_OK);
    if (bad) nb_set_error(err, "cannot create %s: %s: %s", path, dir, strerror(errno));
    free(copy);
    return bad ? -1 : 0;
}

/* ---- two outputs, one file */

/* Where PATH would be written: "its folder's real path/its name" (a symlink at PATH
 * followed); malloc'd, or NULL. */
static char *out_target(const char *path)
{
    char *real = realpath(path, NULL);
    if (real) return real;
    char *copy = strdup(path), *copy2 = strdup(path);
    char *dir = copy ? realpath(dirname(copy), NULL) : NULL, *res = NULL;
    if (dir && copy2) {
        const char *base = basename(copy2);
        size_t len = strlen(dir) + strlen(base) + 2;
        if ((res = malloc(len))) snprintf(res, len, "%s/%s", dir, base);
    }
    free(dir); free(copy); free(copy2);
    return res;
}

int outfile_same(const char *a, const char *b)
{
    struct stat sa, sb;
    int ea = stat(a, &sa), eb = stat(b, &sb);
    if (ea == 0 && eb == 0) return S_ISREG(sa.st_mode) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea == 0 || eb == 0) return 0;
    char *ta = out_target(a), *tb = out_target(b);
    int same = ta && tb ? strcmp(ta, tb) == 0 : strcmp(a, b) == 0;
    free(ta); free(tb);
    return same;
}

int outfile_is_stdin(const char *path)
{
    struct stat si, sp;
    return fstat(STDIN_FILENO, &si) == 0 && S_ISREG(si.st_mode) && stat(path, &sp) == 0 &&
           si.st_dev == sp.st_dev && si.st_ino == sp.st_ino;
}
