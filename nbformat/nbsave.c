/* nbsave.c — saving a file atomically.
 *
 * Owns: nb_save_atomic: a temporary file in the same folder, fsync, rename, the
 * folder synced, the old file's mode kept, symlinks written through; on any error the
 * old file is untouched and the temporary removed.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

int nb_save_atomic(const char *path, const char *buf, size_t len, nb_error *err)
{
    /* Write through a symlink to its target, so the link survives the rename. */
    char *real = realpath(path, NULL);
    const char *target = real ? real : path;
    struct stat st;
    mode_t mode;
    if (stat(target, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            nb_set_error(err, "%s: not a regular file", path);
            free(real);
            return -1;
        }
        mode = st.st_mode & 07777;
    } else if (errno == ENOENT) {
        mode_t um = umask(0);
        umask(um);
        mode = 0666 & ~um;
    } else {
        nb_set_error(err, "%s: %s", path, strerror(errno));
        free(real);
        return -1;
    }
    char *dcopy = strdup(target), *bcopy = strdup(target);
    char *tmp = NULL;
    int fd = -1, rc = -1;
    if (!dcopy || !bcopy) { nb_set_error(err, "%s: out of memory", path); goto out; }
    const char *dir = dirname(dcopy), *base = basename(bcopy);
    size_t tn = strlen(dir) + strlen(base) + 32;
    tmp = malloc(tn);
    if (!tmp) { nb_set_error(err, "%s: out of memory", path); goto out; }
    snprintf(tmp, tn, "%s/.%s.nbstage-XXXXXX", dir, base);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        nb_set_error(err, "%s: cannot create a temporary file in %s: %s", path, dir, strerror(errno));
        goto out;
    }
    if (write_all(fd, buf, len) || fchmod(fd, mode) || fsync(fd)) {
        nb_set_error(err, "%s: writing %s: %s", path, tmp, strerror(errno));
        goto fail;
    }
    if (close(fd)) {
        fd = -1;
        nb_set_error(err, "%s: writing %s: %s", path, tmp, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, target)) {
        nb_set_error(err, "%s: rename: %s", path, strerror(errno));
        goto fail;
    }
    /* The rename itself is durable only once the folder is synced. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
    rc = 0;
    goto out;
fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
out:
    free(tmp);
    free(dcopy);
    free(bcopy);
    free(real);
    return rc;
}
