/* kernelspec.c — writing and removing the stage kernel's kernelspec (see kernelspec.h). */
#include "kernel/kernelspec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbformat/notebook.h" /* nb_make_folders */
#include "nbformat/jsonload.h"

/* 1 for a file a spec folder may hold besides kernel.json: the resources Jupyter's
 * server offers a frontend (jupyter_server's kernelspec_model: kernel.js, kernel.css,
 * and every logo-*, e.g. logo-64x64.png, logo-svg.svg, logo-128x128.png).  They are
 * copied from the wrapped kernel; removal takes the whole folder (kernelspec_remove). */
static int is_resource(const char *name)
{
    return strcmp(name, "kernel.js") == 0 || strcmp(name, "kernel.css") == 0 ||
           strncmp(name, "logo-", 5) == 0;
}

int kernelspec_name_ok(const char *name)
{
    if (!name || !*name) return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    /* "." and ".." are valid by the character rule but name no folder of their own */
    return strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* OUT = BASE + SUFFIX, or -1 with a reason when it does not fit. */
static int join_path(char *out, size_t cap, const char *base, const char *suffix, char *err,
                     size_t errlen)
{
    int n = snprintf(out, cap, "%s%s", base, suffix);
    if (n < 0 || (size_t)n >= cap) {
        snprintf(err, errlen, "kernelspec folder path too long (%s)", base);
        return -1;
    }
    return 0;
}

int kernelspec_kernels_dir(enum kernelspec_scope scope, const char *prefix, char *out,
                           size_t cap, char *err, size_t errlen)
{
    const char *v;
    switch (scope) {
    case KS_USER:
        /* the order jupyter_core.paths.jupyter_data_dir() uses on Linux */
        if ((v = getenv("JUPYTER_DATA_DIR")) && *v)
            return join_path(out, cap, v, "/kernels", err, errlen);
        if ((v = getenv("XDG_DATA_HOME")) && *v)
            return join_path(out, cap, v, "/jupyter/kernels", err, errlen);
        if ((v = getenv("HOME")) && *v)
            return join_path(out, cap, v, "/.local/share/jupyter/kernels", err, errlen);
        snprintf(err, errlen, "--user: neither JUPYTER_DATA_DIR nor HOME is set");
        return -1;
    case KS_SYS_PREFIX:
        /* sys.prefix of the Python that runs Jupyter: the active environment's, else
         * Debian's /usr.  A venv activated over conda's base is the Python run, as
         * `python -m ipykernel install --sys-prefix` finds it: VIRTUAL_ENV first. */
        if ((v = getenv("VIRTUAL_ENV")) && *v)
            return join_path(out, cap, v, "/share/jupyter/kernels", err, errlen);
        if ((v = getenv("CONDA_PREFIX")) && *v)
            return join_path(out, cap, v, "/share/jupyter/kernels", err, errlen);
        return join_path(out, cap, "/usr", "/share/jupyter/kernels", err, errlen);
    case KS_PREFIX:
        if (!prefix || !*prefix) {
            snprintf(err, errlen, "--prefix needs a folder");
            return -1;
        }
        if (prefix[0] != '/') { /* absolute, as jupyter_client makes it (abspath) */
            char cwd[4096], abs[8192];
            if (!getcwd(cwd, sizeof cwd)) {
                snprintf(err, errlen, "--prefix %s: the current folder: %s", prefix, strerror(errno));
                return -1;
            }
            if (snprintf(abs, sizeof abs, "%s/%s", cwd, prefix) >= (int)sizeof abs) {
                snprintf(err, errlen, "kernelspec folder path too long (%s)", prefix);
                return -1;
            }
            return join_path(out, cap, abs, "/share/jupyter/kernels", err, errlen);
        }
        return join_path(out, cap, prefix, "/share/jupyter/kernels", err, errlen);
    }
    snprintf(err, errlen, "unknown kernelspec scope");
    return -1;
}

json_t *kernelspec_json(const struct kernelspec_spec *spec)
{
    /* jansson's *_new calls take their argument even when they fail, so only KS needs
     * releasing on an error */
    /* the wrapped kernel's metadata is kept (frontends read e.g. "debugger" from it) */
    json_t *ks = json_object(), *argv = json_array(),
           *meta = json_is_object(spec->metadata) ? json_deep_copy(spec->metadata) : json_object(),
           *ours = json_object();
    if (!ks || json_object_set_new(ks, "argv", argv) || json_object_set_new(ks, "metadata", meta) ||
        json_object_set_new(meta, "nbstage", ours))
        goto fail;
    /* jupyter_client substitutes {connection_file}; the rest is passed through as is */
    const char *fixed[] = {spec->kernel_path, "-f", "{connection_file}", "--wrap", spec->wrap};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (json_array_append_new(argv, json_string(fixed[i]))) goto fail;
    for (const char *const *o = spec->options; o && *o; o++)
        if (json_array_append_new(argv, json_string(*o))) goto fail;
    if (json_object_set_new(ours, "wraps", json_string(spec->wrap)) ||
        json_object_set_new(ks, "display_name", json_string(spec->display_name)) ||
        json_object_set_new(ks, "language", json_string(spec->language)) ||
        json_object_set_new(ks, "interrupt_mode",
                            json_string(spec->interrupt_mode ? spec->interrupt_mode : "signal")))
        goto fail;
    return ks;
fail:
    json_decref(ks);
    return NULL;
}


/* 1 when DIR/kernel.json exists and was written by nbstage, 0 when it exists and was
 * not, -1 when there is none. */
static int spec_is_ours(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/kernel.json", dir);
    if (access(path, F_OK) != 0) return -1;
    json_t *j = nb_json_load_file(path, 0, NULL);
    int ours = json_is_object(json_object_get(json_object_get(j, "metadata"), "nbstage"));
    json_decref(j);
    return ours;
}

/* 1 when DIR/NAME is a regular file (or a link to one). */
static int regular_file(const char *dir, const char *name)
{
    char path[4400];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) return 0;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A temporary for DIR/NAME (TMP, of TMPCAP bytes): a name no one can guess (mkostemp:
 * never a file or symlink planted there), given the mode a new file gets (mkostemp's is
 * 0600; a system install is read by every user's Jupyter).  The caller writes it and
 * renames it over DIR/NAME, so that a symlink there is replaced, never written through.
 * Its descriptor, or -1 and ERR. */
static int temp_for(const char *dir, const char *name, char *tmp, size_t tmpcap, char *err, size_t errlen)
{
    if (snprintf(tmp, tmpcap, "%s/.%s.XXXXXX", dir, name) >= (int)tmpcap) {
        snprintf(err, errlen, "%s/%s: path too long", dir, name);
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    mode_t um = umask(0);
    umask(um);
    if (fd >= 0 && fchmod(fd, 0666 & ~um)) {
        close(fd);
        unlink(tmp);
        fd = -1;
    }
    if (fd < 0) snprintf(err, errlen, "%s: cannot create a temporary file: %s", dir, strerror(errno));
    return fd;
}

/* TMP (written, closed: OK says whether all went well) renamed over DIR/NAME; 0, or -1,
 * ERR and TMP removed. */
static int temp_commit(const char *tmp, int ok, const char *dir, const char *name, char *err, size_t errlen)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (ok && rename(tmp, path) == 0) return 0;
    snprintf(err, errlen, "%s: %s", path, ok ? strerror(errno) : "write error");
    unlink(tmp);
    return -1;
}

/* FROM copied to a temporary in DIR for NAME, TMP (written, closed; renamed by the
 * caller); 0, or -1 and ERR with nothing left. */
static int copy_to_temp(const char *from, const char *dir, const char *name, char *tmp, size_t tmpcap,
                        char *err, size_t errlen)
{
    FILE *in = fopen(from, "rb");
    if (!in) {
        snprintf(err, errlen, "%s: %s", from, strerror(errno));
        return -1;
    }
    int fd = temp_for(dir, name, tmp, tmpcap, err, errlen);
    FILE *out = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!out) {
        if (fd >= 0) { /* fdopen's reason, before close and unlink can change errno */
            snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
        }
        fclose(in);
        return -1;
    }
    char buf[16384];
    size_t n;
    int why = 0; /* the first failure's errno: the reason said */
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) { why = errno ? errno : EIO; break; }
    if (!why && ferror(in)) why = errno ? errno : EIO;
    /* on disk before the rename: else a power loss can leave an empty file in place */
    if (!why && (fflush(out) != 0 || fsync(fileno(out)) != 0)) why = errno ? errno : EIO;
    if (fclose(out) != 0 && !why) why = errno ? errno : EIO;
    fclose(in);
    if (why) {
        unlink(tmp);
        snprintf(err, errlen, "%s/%s: could not copy from %s: %s", dir, name, from, strerror(why));
        return -1;
    }
    return 0;
}

/* The new files of an install, written as temporaries (each fsynced) and renamed into
 * place one after the other once all are written: a copy that fails leaves the
 * kernelspec that was there.  A rename that fails (an I/O error, all being in one
 * folder) can leave the resources renamed before it new beside the old kernel.json. */
struct staged {
    size_t n;
    struct { char tmp[4400], name[256]; } *file;
};

static int stage_resources(const char *dir, const char *resource_dir, struct staged *st, char *err,
                           size_t errlen)
{
    DIR *d = resource_dir ? opendir(resource_dir) : NULL;
    struct dirent *e;
    int rc = 0;
    while (d && rc == 0 && (e = readdir(d))) {
        if (!is_resource(e->d_name) || !regular_file(resource_dir, e->d_name)) continue;
        void *more = realloc(st->file, (st->n + 1) * sizeof *st->file);
        if (!more) {
            snprintf(err, errlen, "%s: out of memory", dir);
            rc = -1;
            break;
        }
        st->file = more;
        char from[4400];
        snprintf(from, sizeof from, "%s/%s", resource_dir, e->d_name);
        snprintf(st->file[st->n].name, sizeof st->file[st->n].name, "%s", e->d_name);
        rc = copy_to_temp(from, dir, e->d_name, st->file[st->n].tmp, sizeof st->file[st->n].tmp, err, errlen);
        if (rc == 0) st->n++;
    }
    if (d) closedir(d);
    return rc;
}

/* ST's temporaries renamed into place (COMMIT) or removed; the first failure in ERR. */
static int staged_end(struct staged *st, int commit, const char *dir, char *err, size_t errlen)
{
    int rc = 0;
    for (size_t i = 0; i < st->n; i++) {
        if (commit && rc == 0) rc = temp_commit(st->file[i].tmp, 1, dir, st->file[i].name, err, errlen);
        else unlink(st->file[i].tmp);
    }
    free(st->file);
    *st = (struct staged){0};
    return rc;
}

int kernelspec_install(const char *kernels_dir, const struct kernelspec_spec *spec,
                       char *dir_out, size_t dir_cap, char *err, size_t errlen)
{
    if (!kernelspec_name_ok(spec->name)) {
        snprintf(err, errlen, "kernel name \"%s\": use letters, digits, '.', '_' and '-'",
                 spec->name ? spec->name : "");
        return -1;
    }
    char dir[4096], path[4400], tmp[4200];
    if (snprintf(dir, sizeof dir, "%s/%s", kernels_dir, spec->name) >= (int)sizeof dir) {
        snprintf(err, errlen, "%s: path too long", kernels_dir);
        return -1;
    }
    if (spec_is_ours(dir) == 0) {
        snprintf(err, errlen, "%s holds a kernelspec nbstage did not write; not replacing it "
                              "(choose another --name)", dir);
        return -1;
    }
    /* made before the folder: one refused leaves no empty folder behind */
    json_t *ks = kernelspec_json(spec);
    if (!ks) {
        snprintf(err, errlen, "kernel.json: a name or path is not valid UTF-8 (or out of memory)");
        return -1;
    }
    int existed = access(dir, F_OK) == 0;
    if (nb_make_folders(dir, 0755, err, errlen)) { json_decref(ks); return -1; }
    int fd = temp_for(dir, "kernel.json", tmp, sizeof tmp, err, errlen);
    if (fd < 0) {
        json_decref(ks);
        if (!existed) rmdir(dir);
        return -1;
    }
    /* jupyter_client writes kernel.json with indent 1 as well.  Dumped to memory and
     * written here: json_dumpfd (jansson 2.14) ignores a failed write of an object's
     * key, and a full disk then left a kernel.json without "argv" and said nothing. */
    char *text = json_dumps(ks, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(ks);
    int why = text ? 0 : ENOMEM; /* the first failure's errno: the reason said */
    for (size_t off = 0, len = text ? strlen(text) : 0; !why && off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) why = w < 0 ? errno : EIO;
        else off += (size_t)w;
    }
    free(text);
    /* an empty kernel.json after a power loss: Jupyter would drop the kernel */
    if (!why && fsync(fd) != 0) why = errno;
    if (close(fd) != 0 && !why) why = errno;
    int ok = !why;
    /* The wrapped kernel's resources, all written before any is renamed into place,
     * and kernel.json last: a copy that fails leaves the kernelspec that was there (it
     * left the new kernel.json, or new resources, beside the old ones), and a first
     * install that fails no folder (one without kernel.json that remove calls not
     * installed). */
    struct staged st = {0};
    if (!ok) snprintf(err, errlen, "%s/kernel.json: %s", dir, strerror(why));
    if (!ok || stage_resources(dir, spec->resource_dir, &st, err, errlen) ||
        staged_end(&st, 1, dir, err, errlen)) {
        staged_end(&st, 0, dir, err, errlen);
        unlink(tmp);
        if (!existed) rmdir(dir);
        return -1;
    }
    if (temp_commit(tmp, 1, dir, "kernel.json", err, errlen)) return -1;
    /* and none left from a kernel wrapped before */
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (is_resource(e->d_name) && !(spec->resource_dir && regular_file(spec->resource_dir, e->d_name))) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    if (d) closedir(d);
    if (nb_sync_dir(dir)) { /* the renames and removals durable too */
        snprintf(err, errlen, "%s: installed, but syncing the folder failed: %s", dir, strerror(errno));
        return -1;
    }
    if (dir_out) snprintf(dir_out, dir_cap, "%s", dir);
    return 0;
}

/* Counts NAME (a folder's, when DIR) in R, and adds it to R->others when it fits whole
 * (", " between names; a folder's ends in '/'). */
static void note_other(struct kernelspec_removal *r, const char *name, int dir)
{
    size_t used = strlen(r->others), cap = sizeof r->others;
    r->n_others++;
    if (r->n_listed + 1 < r->n_others) return; /* one already left out: the list is cut there */
    int n = snprintf(r->others + used, cap - used, "%s%s%s", used ? ", " : "", name, dir ? "/" : "");
    if (n >= 0 && (size_t)n < cap - used) r->n_listed++;
    else r->others[used] = 0;
}

/* Folders nested deeper than this in a spec folder are refused: each level is a
 * frame of empty_folder (4.5 KB) and an open descriptor, and a folder nested some
 * thousands deep overflowed the stack (SIGSEGV, half removed). */
#define REMOVE_MAX_DEPTH 256

/* 1 when NAME in the folder open at DIRFD is where a file system is mounted, a bind
 * mount of the same one too (its st_dev is the folder's own, so that comparison alone
 * missed it: the folder mounted there, the user's elsewhere, was emptied).  statx says
 * so from Linux 5.8; before, the st_dev comparison is all there is. */
static int mount_root(int dirfd, const char *name)
{
#ifdef STATX_ATTR_MOUNT_ROOT
    struct statx sx;
    if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT, STATX_TYPE, &sx) == 0 &&
        (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT))
        return 1;
#else
    (void)dirfd, (void)name;
#endif
    return 0;
}

/* Empties the folder open at FD (PATH, for messages; it is closed here), depth first,
 * never following a symbolic link (one is removed as a file) nor leaving the file
 * system DEV (a folder mounted there is refused) nor going deeper than
 * REMOVE_MAX_DEPTH (DEPTH: FD's), and leaving KEEP (a name, or NULL) for the caller.
 * Names the entries it removes at the top (R not NULL) but kernel.json and the
 * resources in R->others.  DRY: removes nothing, only walks the tree for what it would
 * refuse (run first, so that a refusal leaves everything in place).  0, or -1 with ERR
 * naming what would not go. */
static int empty_folder(int fd, const char *path, dev_t dev, int depth, const char *keep, int dry,
                        struct kernelspec_removal *r, char *err, size_t errlen)
{
    DIR *d = fdopendir(fd);
    if (!d) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    /* read again until a pass removes nothing: entries removed while a folder is read
     * may make readdir skip others */
    int rc = 0, removed = 1;
    while (rc == 0 && removed) {
        removed = 0;
        rewinddir(d);
        struct dirent *e;
        while (rc == 0 && (e = readdir(d))) {
            const char *n = e->d_name;
            if (!strcmp(n, ".") || !strcmp(n, "..") || (keep && !strcmp(n, keep))) continue;
            char sub[4400];
            snprintf(sub, sizeof sub, "%s/%s", path, n);
            struct stat st;
            if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) != 0) {
                if (errno == ENOENT) continue;
                snprintf(err, errlen, "%s: %s", sub, strerror(errno));
                rc = -1;
            } else if (S_ISDIR(st.st_mode) && (st.st_dev != dev || mount_root(dirfd(d), n))) {
                snprintf(err, errlen, "%s: another file system is mounted there; not removing it", sub);
                rc = -1;
            } else if (S_ISDIR(st.st_mode) && depth >= REMOVE_MAX_DEPTH) {
                snprintf(err, errlen, "%s: folders nested more than %d deep; not removing it", sub,
                         REMOVE_MAX_DEPTH);
                rc = -1;
            } else if (S_ISDIR(st.st_mode)) {
                int sfd = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sfd < 0) snprintf(err, errlen, "%s: %s", sub, strerror(errno)), rc = -1;
                else rc = empty_folder(sfd, sub, dev, depth + 1, NULL, dry, NULL, err, errlen);
                if (rc == 0 && !dry && unlinkat(dirfd(d), n, AT_REMOVEDIR) != 0)
                    snprintf(err, errlen, "%s: %s", sub, strerror(errno)), rc = -1;
            } else if (!dry && unlinkat(dirfd(d), n, 0) != 0) {
                snprintf(err, errlen, "%s: %s", sub, strerror(errno));
                rc = -1;
            }
            if (rc == 0 && !dry) {
                removed = 1;
                if (r && !is_resource(n)) note_other(r, n, S_ISDIR(st.st_mode));
            }
        }
    }
    closedir(d);
    return rc;
}

/* Removes the spec folder DIR whose kernel.json is ours, as `jupyter kernelspec remove`
 * does (shutil.rmtree): with whatever else it holds, named in R->others.  kernel.json
 * goes last, so that a folder that cannot be emptied stays a whole kernelspec, which
 * Jupyter still lists and --remove can take again.  0, or -1 with ERR. */
static int remove_folder(const char *dir, struct kernelspec_removal *r, char *err, size_t errlen)
{
    char path[4400];
    struct stat st;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (mount_root(AT_FDCWD, dir)) { /* a folder mounted there: it is another's, as a link's target is */
        snprintf(err, errlen, "%s: a file system is mounted there; not removing it", dir);
        close(fd);
        return -1;
    }
    /* first the whole tree looked at: a mount or a depth it would refuse, found half
     * way, left what came before it removed */
    int look = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (look < 0 || empty_folder(look, dir, st.st_dev, 0, "kernel.json", 1, NULL, err, errlen)) {
        if (look < 0) snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, "; nothing removed");
        close(fd);
        return -1;
    }
    if (empty_folder(fd, dir, st.st_dev, 0, "kernel.json", 0, r, err, errlen)) {
        size_t n = strlen(err);
        snprintf(err + n, errlen - n, "; the kernelspec is still there, its kernel.json kept");
        return -1;
    }
    snprintf(path, sizeof path, "%s/kernel.json", dir);
    if (unlink(path) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (rmdir(dir) != 0) {
        snprintf(err, errlen, "%s: kernel.json removed, folder kept: %s", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int kernelspec_remove(const char *kernels_dir, const char *name, struct kernelspec_removal *r, char *err,
                      size_t errlen)
{
    struct kernelspec_removal ignored;
    if (!r) r = &ignored;
    memset(r, 0, sizeof *r);
    if (!kernelspec_name_ok(name)) {
        snprintf(err, errlen, "kernel name \"%s\": use letters, digits, '.', '_' and '-'",
                 name ? name : "");
        return -1;
    }
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s/%s", kernels_dir, name) >= (int)sizeof dir) {
        snprintf(err, errlen, "%s: path too long", kernels_dir);
        return -1;
    }
    int ours = spec_is_ours(dir);
    if (ours < 0) return 1;
    if (ours == 0) {
        snprintf(err, errlen, "%s is not an nbstage kernelspec; not removing it", dir);
        return -1;
    }
    struct stat st;
    if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode)) {
        /* jupyter_client removes the link alone; what it points to is not Jupyter's */
        r->link = 1;
        if (unlink(dir) == 0) return 0;
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    return remove_folder(dir, r, err, errlen);
}
