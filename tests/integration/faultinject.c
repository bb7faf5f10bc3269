/* faultinject.c — an LD_PRELOAD library that makes one libc call fail, for
 * test_io_faults.py: the Nth call of one function on a file under one folder returns
 * an error, as a full disk, a failing device or a lost permission would make it.
 *
 * Environment:
 *   FAULT_FN     the function: open, read, write, close, fsync, syncfs, fchmod, rename,
 *                mkostemp, unlink, fcntl
 *   FAULT_DIR    the folder (absolute, no trailing '/'): only calls on paths under it,
 *                or on descriptors open on such paths, are counted
 *   FAULT_NTH    which counted call fails (1 = the first); 0 counts only
 *   FAULT_ERRNO  the errno it fails with
 *   FAULT_COUNT  a file that receives the number of counted calls at exit
 *   FAULT_STOP   when set, the Nth call does not fail: the program stops itself there
 *                (SIGSTOP), before the call, which it makes once continued, so that a
 *                test finds it at that point of a save (to SIGKILL it there)
 *
 * Only the program's own calls are seen: libc's internal ones (stdio's writes,
 * opendir) do not go through these symbols.  Counting is atomic, so a run with
 * worker threads is counted too, but which call is the Nth is then the scheduler's.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *fault_fn, *fault_dir;
static long fault_nth, fault_errno;
static int fault_stop;
static long counted;

__attribute__((constructor)) static void fault_init(void)
{
    fault_fn = getenv("FAULT_FN");
    fault_dir = getenv("FAULT_DIR");
    const char *n = getenv("FAULT_NTH"), *e = getenv("FAULT_ERRNO");
    fault_nth = n ? atol(n) : 0;
    fault_errno = e ? atol(e) : EIO;
    fault_stop = getenv("FAULT_STOP") != NULL;
}

__attribute__((destructor)) static void fault_report(void)
{
    const char *path = getenv("FAULT_COUNT");
    if (!path) return;
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "%ld\n", __atomic_load_n(&counted, __ATOMIC_SEQ_CST));
    fclose(f);
}

static int under_dir(const char *path)
{
    if (!fault_dir || !path) return 0;
    size_t n = strlen(fault_dir);
    return strncmp(path, fault_dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static int fd_under_dir(int fd)
{
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n < 0) return 0;
    target[n] = '\0';
    return under_dir(target);
}

/* 1 when this call (of FN, on something under the folder) is the one to fail (with
 * FAULT_STOP: 0, after the stop). */
static int hit(const char *fn, int relevant)
{
    if (!relevant || !fault_fn || strcmp(fn, fault_fn) != 0) return 0;
    long k = __atomic_add_fetch(&counted, 1, __ATOMIC_SEQ_CST);
    if (fault_nth > 0 && k == fault_nth) {
        if (fault_stop) { /* the whole program, whichever thread calls */
            raise(SIGSTOP);
            return 0;
        }
        errno = (int)fault_errno;
        return 1;
    }
    return 0;
}

#define REAL(ret, name, ...) \
    static ret (*real)(__VA_ARGS__); \
    if (!real) real = (ret (*)(__VA_ARGS__))dlsym(RTLD_NEXT, name)

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

/* open, open64, openat, openat64: a path is taken as it is given (the tests give
 * absolute ones), and the call passed on with its mode. */
#define OPEN_AT(name, ...) \
    int name(__VA_ARGS__ const char *path, int flags, ...) \
    { \
        va_list ap; \
        va_start(ap, flags); \
        mode_t mode = mode_arg(flags, ap); \
        va_end(ap); \
        if (hit("open", under_dir(path))) return -1; \
        REAL(int, #name, __VA_ARGS__ const char *, int, ...); \
        return real(OPEN_DIRFD_##name path, flags, mode); \
    }
#define OPEN_DIRFD_open
#define OPEN_DIRFD_open64
#define OPEN_DIRFD_openat dirfd,
#define OPEN_DIRFD_openat64 dirfd,
OPEN_AT(open)
OPEN_AT(open64)
OPEN_AT(openat, int dirfd,)
OPEN_AT(openat64, int dirfd,)

ssize_t read(int fd, void *buf, size_t n)
{
    REAL(ssize_t, "read", int, void *, size_t);
    if (fd > 2 && hit("read", fd_under_dir(fd))) return -1;
    return real(fd, buf, n);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(ssize_t, "write", int, const void *, size_t);
    if (fd > 2 && hit("write", fd_under_dir(fd))) return -1;
    return real(fd, buf, n);
}

int close(int fd)
{
    REAL(int, "close", int);
    if (fd > 2 && hit("close", fd_under_dir(fd))) {
        /* as Linux does on EIO: the descriptor is released all the same */
        int e = errno;
        real(fd);
        errno = e;
        return -1;
    }
    return real(fd);
}

/* fcntl, fcntl64: the third argument, an int or a pointer as CMD takes it, read and
 * passed on as a pointer, as glibc's own fcntl reads it (none given: unused). */
#define FCNTL(name) \
    int name(int fd, int cmd, ...) \
    { \
        va_list ap; \
        va_start(ap, cmd); \
        void *arg = va_arg(ap, void *); \
        va_end(ap); \
        if (fd > 2 && hit("fcntl", fd_under_dir(fd))) return -1; \
        REAL(int, #name, int, int, ...); \
        return real(fd, cmd, arg); \
    }
FCNTL(fcntl)
FCNTL(fcntl64)

int fsync(int fd)
{
    REAL(int, "fsync", int);
    if (hit("fsync", fd_under_dir(fd))) return -1;
    return real(fd);
}

int syncfs(int fd)
{
    REAL(int, "syncfs", int);
    if (hit("syncfs", fd_under_dir(fd))) return -1;
    return real(fd);
}

int fchmod(int fd, mode_t mode)
{
    REAL(int, "fchmod", int, mode_t);
    if (hit("fchmod", fd_under_dir(fd))) return -1;
    return real(fd, mode);
}

int rename(const char *from, const char *to)
{
    REAL(int, "rename", const char *, const char *);
    if (hit("rename", under_dir(from) || under_dir(to))) return -1;
    return real(from, to);
}

int mkostemp(char *template, int flags)
{
    REAL(int, "mkostemp", char *, int);
    if (hit("mkostemp", under_dir(template))) return -1;
    return real(template, flags);
}

int unlink(const char *path)
{
    REAL(int, "unlink", const char *);
    if (hit("unlink", under_dir(path))) return -1;
    return real(path);
}
