/* nbsave.c — saving a file atomically.
 *
 * Owns: nb_save_atomic: a temporary file in the same folder, fsync, rename, the
 * folder synced, the old file's mode, owner, group and extended attributes (POSIX
 * ACLs among them: nbformat.write, writing in place, keeps them) kept, also in a
 * setgid folder, and no ACL a folder's default gives the temporary, symlinks
 * written through (one to nothing made at its target, as a shell's `>` does); an
 * empty name or one ending in '/' refused (nb_save_new_name); a read-only file (no
 * write bit, or not writable by us) refused, as writing it would be; on any error
 * the old file is untouched and the temporary removed.  nb_save_atomic_if: only while
 * the file is still the one read (nb_file_unchanged), else it is left as it is now.
 * nb_save_check: the same refusals, nothing written (tag --dry-run).  nb_save_atomic_flags with
 * NB_SAVE_DEFER_SYNC: the same without the two fsyncs, the durability left to one
 * nb_sync_fs per filesystem once a batch is written.
 *
 * Why deferring the fsyncs keeps the promise that matters.  Two different failures:
 *  - The process dies (kill -9, a crash, Ctrl-C): the kernel still holds every byte
 *    we wrote, and the page cache is what other readers see.  Each file is old or new,
 *    never cut, because the new bytes go to a temporary name and only a complete
 *    temporary is renamed over the old name, and rename(2) replaces a name in one step.
 *    fsync plays no part in that: it is the write-temp + rename alone.
 *  - The machine loses power or the OS crashes: only what reached the disk counts.
 *    This is all fsync is for.  With the default flags each save is durable when it
 *    returns (data fsynced before the rename, the folder after it).  With
 *    NB_SAVE_DEFER_SYNC nothing is promised until the caller's nb_sync_fs returns 0:
 *    syncfs(2) writes back every dirty page and commits the journal of the whole
 *    filesystem, so every rename made before it, and the data it points to, is on
 *    disk after it.  A power loss before that may lose the batch's changes (files old),
 *    and on filesystems that do not order a rename-over after the renamed file's data
 *    (xfs, btrfs without flushoncommit, ext4 mounted noauto_da_alloc or data=writeback)
 *    may leave some of the batch's files empty or short.  ext4's defaults (data=ordered,
 *    auto_da_alloc: a rename over an existing file flushes its data first) keep those
 *    old or new too.  A batch command (`tag`) may take that window for one syncfs
 *    instead of two fsyncs per file: it calls nb_sync_fs before it reports success,
 *    and a failed sync is an error (exit 2), so "done" still means "on disk".
 *  - Errors.  Since Linux 5.8 syncfs reports write-back errors of the filesystem
 *    (EIO, ENOSPC on thin storage) that happened after the descriptor passed to it
 *    was opened: open it (nb_sync_fs_open) before the first deferred save to that
 *    filesystem, so an error in background write-back of our files is not missed.
 *    The write() errors we can see at once (ENOSPC, EFBIG, EDQUOT) still fail the save
 *    and leave the old file untouched, as without the flag.
 *
 * Why the temporary is locked, and the sweep.  A kill (SIGKILL, the OOM killer) or a
 *    power cut before the rename leaves the temporary, which nothing of the dead run
 *    can remove (a caught signal's handler does: outfile.c).  nb_save_mktemp takes an
 *    exclusive flock of it at once, held (its callers keep a descriptor open) until the
 *    rename or the unlink, and the kernel drops it with the process: a temporary of
 *    our name that can be locked without waiting, and has been untouched for a minute
 *    (NB_LEFTOVER_AGE: the instant between mkostemp and flock, when a live save's is
 *    not yet locked, is that fresh), is a dead save's (nb_save_leftover).  Each save
 *    sweeps its folder first, once in a run (nb_save_sweep); tag's and fmt's walks
 *    read every folder anyway, note the leftovers there and remove them at the end of
 *    a run that writes (nbwalk.c), so their saves read no folder again: what the lock
 *    adds to a save is three system calls (flock, a dup, its close; tag of the
 *    corpus's 5,382 notebooks: 149,055 system calls against 133,046).  Only our
 *    names, only regular files (never a symlink followed), each removal said.  The
 *    names themselves stay mkostemp's: two runs never share a temporary, and none
 *    planted there is followed.
 *
 * Also nb_output_open_special: the other outputs (ingest's lines, a model file, the
 * learning curves...) are saved by a rename too (outfile.c), except into a device or
 * a FIFO, as tag -o's notebook is (nb_save_output).  And the parts of the save that
 * outfile.c shares (nbinternal.h): where the save of PATH goes and whether it may
 * (nb_save_target), the temporary beside it (nb_save_mktemp), the old owner and
 * attributes (nb_save_owner), the folder's fsync (nb_sync_dir), the words for an
 * output that is a folder (nb_output_is_dir).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "nbformat/nbinternal.h"

/* ---------------------------------------------------------------- atomic save */

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

int nb_output_is_dir(const char *path, nb_error *err)
{
    nb_set_error(err, "%s: is a directory, not a file to write", path);
    return -1;
}

int nb_output_open_special(const char *path, int *fd, nb_error *err)
{
    struct stat st;
    *fd = -1;
    if (stat(path, &st) != 0 || S_ISREG(st.st_mode)) return 0; /* new, or a file: rename */
    if (S_ISDIR(st.st_mode)) return nb_output_is_dir(path, err);
    *fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (*fd < 0) {
        nb_set_error(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 1;
}

int nb_save_output(const char *path, const char *buf, size_t len, nb_error *err)
{
    int fd, special = nb_output_open_special(path, &fd, err);
    if (special == 0) return nb_save_atomic(path, buf, len, err);
    if (special < 0) return -1;
    int rc = write_all(fd, buf, len);
    if (rc) nb_set_error(err, "%s: write error: %s", path, strerror(errno));
    if (close(fd) && !rc && errno != EINTR) {
        nb_set_error(err, "%s: write error: %s", path, strerror(errno));
        rc = -1;
    }
    return rc;
}

int nb_save_atomic(const char *path, const char *buf, size_t len, nb_error *err)
{
    return nb_save_atomic_flags(path, buf, len, 0, err);
}

int nb_save_new_name(const char *path, nb_error *err)
{
    size_t n = strlen(path);
    if (n == 0) {
        nb_set_error(err, "cannot create a file with an empty name");
        return -1;
    }
    if (path[n - 1] == '/') {
        nb_set_error(err, "cannot create %s: a name that ends in '/' is a directory's, not a file's", path);
        return -1;
    }
    return 0;
}

/* "DIR/NAME" with DIR made absolute and free of links, the file NAME need not exist;
 * malloc'd, or NULL with errno (DIR not there). */
static char *real_folder_join(const char *file)
{
    char *c1 = strdup(file), *c2 = strdup(file), *res = NULL;
    char *dir = c1 && c2 ? realpath(dirname(c1), NULL) : NULL;
    if (dir) {
        const char *base = basename(c2);
        size_t len = strlen(dir) + strlen(base) + 2;
        if ((res = malloc(len))) snprintf(res, len, "%s/%s", dir, base);
    }
    int e = errno;
    free(dir); free(c1); free(c2);
    errno = e;
    return res;
}

/* Where a write through PATH, a symlink to nothing, goes: its target, through any
 * further links, created as a shell's `>` or Python's open(PATH, "w") creates it (it
 * was replaced by a file of its own: a model meant for the link's far folder stayed
 * beside the link).  malloc'd; NULL and ERR when the target's folder is not there or
 * the links loop. */
static char *dangling_target(const char *path, nb_error *err)
{
    char *cur = strdup(path), buf[PATH_MAX];
    /* 40 links followed, as the kernel follows (its ELOOP limit, a shell's `>` too):
     * the 41st name looked at is their end, or one link too many */
    for (int hops = 0; cur && hops <= 40; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) {
            char *res = real_folder_join(cur);
            if (!res) nb_set_error(err, "%s: a symlink to %s, whose folder is not there", path, cur);
            free(cur);
            return res;
        }
        ssize_t n = readlink(cur, buf, sizeof buf - 1);
        if (n < 0) { /* a link gone or unreadable since the lstat: its own reason */
            nb_set_error(err, "%s: %s: %s", path, cur, strerror(errno));
            free(cur);
            return NULL;
        }
        buf[n] = 0;
        char *next;
        if (buf[0] == '/') {
            next = strdup(buf);
        } else { /* relative to the link's own folder */
            char *c = strdup(cur);
            const char *dir = c ? dirname(c) : NULL;
            size_t len = dir ? strlen(dir) + strlen(buf) + 2 : 0;
            next = dir ? malloc(len) : NULL;
            if (next) snprintf(next, len, "%s/%s", dir, buf);
            free(c);
        }
        free(cur);
        cur = next;
    }
    if (cur) nb_set_error(err, "%s: too many levels of symbolic links", path);
    else nb_set_error(err, "%s: %s", path, strerror(errno ? errno : ENOMEM));
    free(cur);
    return NULL;
}

int nb_save_target(const char *path, struct nb_save_target *t, nb_error *err)
{
    /* Write through a symlink to its target, so the link survives the rename.  Only
     * a link as the last component needs resolving (a rename works through linked
     * folders): lstat first spares realpath's readlink of every component and its
     * getcwd (a sixth of the system calls of `nbstage tag` on a folder). */
    struct stat *st = &t->st;
    int linked = lstat(path, st) == 0 ? S_ISLNK(st->st_mode) : -1;
    t->real = linked == 1 ? realpath(path, NULL) : NULL;
    if (linked == 1 && !t->real && errno == ENOENT && !(t->real = dangling_target(path, err))) return -1;
    t->target = t->real ? t->real : path;
    t->existed = 0;
    if (linked == 0 || stat(t->target, st) == 0) {
        if (!S_ISREG(st->st_mode)) {
            nb_set_error(err, "%s: not a regular file", path);
            goto fail;
        }
        t->mode = st->st_mode & 07777;
        t->existed = 1;
        /* rename() replaces a file whatever its mode (and root may write anything):
         * a read-only file, or one we may not write, is left alone, as a write to
         * it would be */
        if (!(t->mode & 0222) || access(t->target, W_OK)) {
            nb_set_error(err, "%s: %s, left untouched", path,
                         !(t->mode & 0222) ? "read-only file" : strerror(errno));
            goto fail;
        }
        /* In a sticky folder (/tmp, a shared 1777 one) only the file's owner, the
         * folder's or root may replace it: the rename would fail at the end, as
         * "Operation not permitted", a colleague's notebook that is ours to write
         * but not to replace.  Said before any work. */
        uid_t me = geteuid();
        struct stat dir;
        char *copy = strdup(t->target);
        if (me != 0 && st->st_uid != me && copy && stat(dirname(copy), &dir) == 0 && (dir.st_mode & S_ISVTX) &&
            dir.st_uid != me) {
            free(copy);
            nb_set_error(err, "%s: owned by another user in a folder with the sticky bit (as /tmp): only "
                              "its owner may replace it, left untouched", path);
            goto fail;
        }
        free(copy);
    } else if (errno == ENOENT) {
        if (nb_save_new_name(path, err)) goto fail;
        mode_t um = umask(0);
        umask(um);
        t->mode = 0666 & ~um;
    } else {
        nb_set_error(err, "%s: %s", path, strerror(errno));
        goto fail;
    }
    return 0;
fail:
    free(t->real);
    t->real = NULL;
    return -1;
}

int nb_save_check(const char *path, nb_error *err)
{
    struct nb_save_target t = {0};
    if (nb_save_target(path, &t, err)) return -1;
    /* The temporary goes beside the target: a folder we may not write (a file ours in
     * a folder that is not, a read-only filesystem) fails the save at nb_save_mktemp,
     * so the preview says it as the save would. */
    char *copy = strdup(t.target);
    const char *d = copy ? dirname(copy) : NULL;
    int rc = 0;
    if (d && access(d, W_OK | X_OK)) {
        nb_set_error(err, "%s: cannot create a temporary file in %s: %s", path, d, strerror(errno));
        rc = -1;
    }
    free(copy);
    free(t.real);
    return rc;
}

/* ---------------------------------------------------------------- leftovers */

static char say_as[64] = "nbstage";

void nb_save_say_as(const char *who)
{
    snprintf(say_as, sizeof say_as, "%s", who);
}

int nb_save_temp_name(const char *name)
{
    static const char tag[] = ".nbstage-";
    size_t n = strlen(name), t = sizeof tag - 1;
    if (name[0] != '.' || n < 1 + t + 6 || memcmp(name + n - 6 - t, tag, t)) return 0;
    for (size_t i = n - 6; i < n; i++) /* mkostemp's letters */
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9')))
            return 0;
    return 1;
}

int nb_save_leftover(const char *path, int remove)
{
    const char *slash = strrchr(path, '/');
    if (!nb_save_temp_name(slash ? slash + 1 : path)) return 0;
    /* O_NOFOLLOW: a symlink of that name is nobody's temporary; O_NONBLOCK: nor is a
     * FIFO put there, which is not waited on */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return 0;
    struct stat st, now;
    int r = 0;
    /* Locked, it is a live save's (nb_save_mktemp); free, its writer has ended.  The
     * age, looked at once we hold the lock, covers the instant between a writer's
     * mkostemp and its flock.  A link count of 0: another sweep removed it between
     * our open and our lock. */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0 &&
        st.st_nlink > 0 && time(NULL) - st.st_mtime > NB_LEFTOVER_AGE) {
        r = 1;
        /* still this file under that name (not one made since by a new save that drew
         * the same letters), and removed while we hold its lock */
        if (remove && lstat(path, &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino &&
            unlink(path) == 0) {
            nb_say(stderr, "%s: %s: removed, a temporary file left by a save that was killed", say_as, path);
            r = 2;
        }
    }
    close(fd);
    return r;
}

/* The folders swept in this run (nb_save_sweep, nb_save_swept): a set of their names,
 * as given less a trailing '/', for the saves of any thread.  Another spelling of one
 * folder is swept again, which only costs its reading. */
static pthread_mutex_t swept_lock = PTHREAD_MUTEX_INITIALIZER;
static char **swept;
static size_t swept_n, swept_cap; /* cap: a power of two, or 0 */

static uint64_t name_hash(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037u; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

/* The slot of NAME's first N bytes in SET (CAP slots, a power of two): its own, or the
 * free one where it goes. */
static size_t swept_slot(char **set, size_t cap, const char *name, size_t n)
{
    size_t i = name_hash(name, n) & (cap - 1);
    while (set[i] && (strlen(set[i]) != n || memcmp(set[i], name, n))) i = (i + 1) & (cap - 1);
    return i;
}

static int swept_grow(void)
{
    size_t cap = swept_cap ? 2 * swept_cap : 64;
    char **set = calloc(cap, sizeof *set);
    if (!set) return -1;
    for (size_t i = 0; i < swept_cap; i++)
        if (swept[i]) set[swept_slot(set, cap, swept[i], strlen(swept[i]))] = swept[i];
    free(swept);
    swept = set;
    swept_cap = cap;
    return 0;
}

/* 1 when DIR was not swept yet in this run (now noted; also when it cannot be noted,
 * out of memory: swept again), 0 when it was. */
static int sweep_first(const char *dir)
{
    int first = 1;
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--; /* "d/" given to the walk is dirname's "d" */
    pthread_mutex_lock(&swept_lock);
    if (2 * (swept_n + 1) <= swept_cap || swept_grow() == 0) { /* at most half full */
        size_t i = swept_slot(swept, swept_cap, dir, n);
        if (swept[i]) first = 0;
        else if ((swept[i] = strndup(dir, n))) swept_n++;
    }
    pthread_mutex_unlock(&swept_lock);
    return first;
}

void nb_save_swept(const char *dir)
{
    (void)sweep_first(dir);
}

void nb_save_sweep(const char *dir)
{
    if (!sweep_first(dir)) return;
    DIR *d = opendir(dir);
    if (!d) return; /* the save says why, if it matters to it */
    size_t dn = strlen(dir);
    struct dirent *de;
    while ((de = readdir(d))) {
        /* our names only (hidden), and no folder or symlink; a type the folder does
         * not tell is looked at by the open */
        if (de->d_name[0] != '.' || (de->d_type != DT_REG && de->d_type != DT_UNKNOWN) ||
            !nb_save_temp_name(de->d_name))
            continue;
        size_t len = dn + strlen(de->d_name) + 2;
        char *path = malloc(len);
        if (!path) break;
        snprintf(path, len, "%s/%s", dir, de->d_name);
        nb_save_leftover(path, 1);
        free(path);
    }
    closedir(d);
}

int nb_save_mktemp(const char *path, const char *target, char **tmp, char **dir,
                   void (*note)(char *tmp, int live), nb_error *err)
{
    *tmp = *dir = NULL;
    char *dcopy = strdup(target), *bcopy = strdup(target);
    int fd = -1;
    if (!dcopy || !bcopy) { nb_set_error(err, "%s: out of memory", path); goto out; }
    const char *d = dirname(dcopy), *base = basename(bcopy);
    size_t tn = strlen(d) + strlen(base) + 32;
    if (!(*tmp = malloc(tn)) || !(*dir = strdup(d))) {
        nb_set_error(err, "%s: out of memory", path);
        goto out;
    }
    /* ".NAME.nbstage-XXXXXX" is 16 bytes longer than NAME: a NAME within 16 bytes of
     * NAME_MAX is cut, at a character's start, or no temporary could be made */
    size_t bl = strlen(base);
    if (bl > NAME_MAX - 16) {
        bl = NAME_MAX - 16;
        while (bl && ((unsigned char)base[bl] & 0xC0) == 0x80) bl--; /* UTF-8 continuation */
    }
    snprintf(*tmp, tn, "%s/.%.*s.nbstage-XXXXXX", d, (int)bl, base);
    nb_save_sweep(d);
    if (note) note(*tmp, 1);
    fd = mkostemp(*tmp, O_CLOEXEC);
    if (fd < 0) {
        nb_set_error(err, "%s: cannot create a temporary file in %s: %s", path, d, strerror(errno));
        if (note) note(*tmp, 0);
    } else {
        /* Held until the rename or the unlink (the callers keep a descriptor of it
         * open until then), so that a sweep knows a live save's from a killed one's.
         * Waited on: only a sweep that took it in the instant since mkostemp holds it,
         * for the time of an fstat.  A filesystem without flock fails it here and in
         * the sweep alike, which then removes nothing. */
        while (flock(fd, LOCK_EX) && errno == EINTR) {
        }
    }
out:
    if (fd < 0) {
        free(*tmp);
        free(*dir);
        *tmp = *dir = NULL;
    }
    free(dcopy);
    free(bcopy);
    return fd;
}

/* getxattr/listxattr of PATH's NAME (NULL: the names) into BUF of SIZE bytes, or into
 * *OUT, malloc'd, when it is too small; the length, or -1. */
static ssize_t xattr_get(const char *path, const char *name, char *buf, size_t size, char **out)
{
    *out = buf;
    ssize_t n = name ? getxattr(path, name, buf, size) : listxattr(path, buf, size);
    if (n >= 0 || errno != ERANGE) return n;
    n = name ? getxattr(path, name, NULL, 0) : listxattr(path, NULL, 0);
    if (n <= 0 || !(*out = malloc((size_t)n))) {
        *out = buf;
        return -1;
    }
    n = name ? getxattr(path, name, *out, (size_t)n) : listxattr(path, *out, (size_t)n);
    if (n < 0) {
        free(*out);
        *out = buf;
    }
    return n;
}

void nb_save_owner(int fd, const struct nb_save_target *t)
{
    if (!t->existed) return;
    /* The old file's owner and group, too (root re-tagging users' files, a folder
     * shared by a group): as `sed -i` does, the group alone when the owner cannot be
     * given away.  Compared with what the temporary got, not with our own ids: in a
     * setgid folder (or on a grpid mount) it has the folder's group.  Before fchmod:
     * a chown may clear set-id bits. */
    struct stat made;
    if ((fstat(fd, &made) || made.st_uid != t->st.st_uid || made.st_gid != t->st.st_gid) &&
        fchown(fd, t->st.st_uid, t->st.st_gid))
        (void)!fchown(fd, (uid_t)-1, t->st.st_gid);
    /* The temporary inherited the folder's default ACL, if it has one, as its access
     * ACL: gone, so that the file has the old one's below or none (the folder's could
     * give others access the old file did not). */
    (void)fremovexattr(fd, "system.posix_acl_access");
    /* And its extended attributes: a user's (user.*) and a POSIX ACL (an extra user
     * or group with write access in a shared folder, system.posix_acl_access), which
     * a new file would not have.  Best effort, as the owner: one we may not set
     * (trusted.*, security.* without the capability) is left out.  The ACL agrees
     * with the mode the caller's fchmod gives afterwards, the old file's. */
    char names_buf[512], *names;
    ssize_t n = xattr_get(t->target, NULL, names_buf, sizeof names_buf, &names);
    for (ssize_t at = 0; at < n; at += (ssize_t)strlen(names + at) + 1) {
        char value_buf[512], *value;
        ssize_t len = xattr_get(t->target, names + at, value_buf, sizeof value_buf, &value);
        if (len >= 0) (void)fsetxattr(fd, names + at, value, (size_t)len, 0);
        if (value != value_buf) free(value);
    }
    if (names != names_buf) free(names);
}

int nb_save_atomic_flags(const char *path, const char *buf, size_t len, unsigned flags,
                         nb_error *err)
{
    return nb_save_atomic_if(path, buf, len, flags, NULL, err);
}

int nb_file_unchanged(const char *path, const struct stat *was)
{
    struct stat now;
    return was->st_ino && stat(path, &now) == 0 && now.st_ino == was->st_ino && now.st_dev == was->st_dev &&
           now.st_size == was->st_size && now.st_mtim.tv_sec == was->st_mtim.tv_sec &&
           now.st_mtim.tv_nsec == was->st_mtim.tv_nsec;
}

int nb_save_atomic_if(const char *path, const char *buf, size_t len, unsigned flags,
                      const struct stat *was, nb_error *err)
{
    int sync_now = !(flags & NB_SAVE_DEFER_SYNC);
    struct nb_save_target t;
    if (nb_save_target(path, &t, err)) return -1;
    char *tmp, *dir;
    int rc = -1, hold = -1;
    int fd = nb_save_mktemp(path, t.target, &tmp, &dir, NULL, err);
    if (fd < 0) goto out;
    /* FD is closed before the rename (its errors are the save's): HOLD keeps the open
     * file, and so its lock, until the rename or the unlink (-1 out of descriptors:
     * the temporary's age alone then covers the instant between) */
    hold = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    nb_save_owner(fd, &t);
    if (write_all(fd, buf, len) || fchmod(fd, t.mode) || (sync_now && fsync(fd))) {
        nb_set_error(err, "%s: writing %s: %s", path, tmp, strerror(errno));
        goto fail;
    }
    if (close(fd)) {
        fd = -1;
        nb_set_error(err, "%s: writing %s: %s", path, tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    /* Writing the temporary takes a while (a large file, a slow disk): a save in place
     * meanwhile would be replaced by the old text's new version.  Looked at last, the
     * window left is the rename's own. */
    if (was && !nb_file_unchanged(t.target, was)) {
        nb_set_error(err, "%s: changed while being written, left as it is now", path);
        rc = -3;
        goto fail;
    }
    if (rename(tmp, t.target)) {
        nb_set_error(err, "%s: rename: %s", path, strerror(errno));
        goto fail;
    }
    /* The rename itself is durable only once the folder is synced (deferred: by the
     * caller's nb_sync_fs).  A failed sync is the caller's error too, as a failed
     * fsync of the data is, though the new file is in place: -2, and ERR says so. */
    if (sync_now && nb_sync_dir(dir)) {
        nb_set_error(err, "%s: written, but syncing its folder %s failed: %s (the new file "
                          "may not be on disk)", path, dir, strerror(errno));
        rc = -2;
        goto out;
    }
    rc = 0;
    goto out;
fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
out:
    if (hold >= 0) close(hold);
    free(tmp);
    free(dir);
    free(t.real);
    return rc;
}

int nb_sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return 0;
    int rc = fsync(dfd), e = errno;
    close(dfd);
    errno = e;
    return rc ? -1 : 0;
}

/* ---------------------------------------------------------------- deferred sync */

int nb_sync_fs_open(const char *path, nb_error *err)
{
    /* the file itself if we may read it, else its folder (any descriptor on the
     * filesystem will do for syncfs) */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd >= 0) return fd;
    int e = errno;
    char *dcopy = strdup(path);
    if (dcopy) {
        fd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) e = errno;
        free(dcopy);
    } else {
        e = ENOMEM;
    }
    if (fd < 0) nb_set_error(err, "%s: cannot open to sync its filesystem: %s", path, strerror(e));
    return fd;
}

int nb_sync_fs(int fd, const char *name, nb_error *err)
{
    if (syncfs(fd)) {
        nb_set_error(err, "%s: syncing its filesystem: %s", name, strerror(errno));
        return -1;
    }
    return 0;
}
