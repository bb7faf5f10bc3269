/* unit.h — what every unit test includes: cmocka, the shared folder, reading and
 * writing files, scratch files and folders. */
#ifndef NBSTAGE_UNIT_H
#define NBSTAGE_UNIT_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ../shared relative to the repository root, or NULL when it is not there (tests
 * that read the corpus are skipped then). */
static inline const char *unit_shared_dir(void)
{
    const char *d = getenv("NBSTAGE_SHARED");
    if (!d) d = "../shared";
    struct stat st;
    return (stat(d, &st) == 0 && S_ISDIR(st.st_mode)) ? d : NULL;
}

/* The whole file at PATH, NUL-terminated (malloc'd; its length in *LEN when LEN is not
 * NULL), or NULL when it cannot be opened.  A short read fails the test. */
static inline char *unit_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    assert_true(n >= 0);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    s[n] = 0;
    if (len) *len = (size_t)n;
    return s;
}

/* A fresh folder /tmp/nbstage-test-NAME-XXXXXX (malloc'd path). */
static inline char *unit_make_tmpdir(const char *name)
{
    char *d = malloc(strlen(name) + 32);
    assert_non_null(d);
    sprintf(d, "/tmp/nbstage-test-%s-XXXXXX", name);
    assert_non_null(mkdtemp(d));
    return d;
}

/* An empty file made from the template PATH (ending in XXXXXX, filled in place); a
 * failure fails the test. */
static inline void unit_make_tmpfile(char *path)
{
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

/* Writes TEXT to PATH (replacing it); a failure fails the test. */
static inline void unit_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* Removes DIR and everything in it. */
static inline void unit_rm_rf(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* How many file descriptors this process holds (the entries of /proc/self/fd, "."
 * and ".." and the one opendir holds included: compare two counts, not one). */
static inline int unit_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

/* FN(ARG) in a child given SECONDS to end: what FN returned (0..255, its exit code),
 * or -1 when it had not ended by then (killed) or ended otherwise.  For a call that
 * could wait for ever (an open() of a FIFO): a regression fails its test instead of
 * hanging the suite. */
static inline int unit_child_within(int seconds, int (*fn)(void *), void *arg)
{
    fflush(NULL); /* nothing buffered written twice */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) _exit(fn(arg) & 0xff);
    int status;
    for (long waited = 0; waited < seconds * 1000L; waited += 10) {
        pid_t got = waitpid(pid, &status, WNOHANG);
        assert_true(got >= 0);
        if (got == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return -1;
}

#endif
