/* test_closers.c — model/closers.c: every descriptor handed over is closed by
 * closers_end, a batch is taken when its sixteenth arrives (not before), a backlog past
 * the byte bound or the descriptor share is closed at once, and the descriptor limit
 * is raised for the run, shared out with the caller's read-ahead, and restored. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "model/closers.h"

#define INIT_CLOSERS {.lock = PTHREAD_MUTEX_INITIALIZER, .more = PTHREAD_COND_INITIALIZER}

static int null_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    return fd;
}

static int is_open(int fd) { return fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

/* Waits up to 5 s for FD[0 .. N) all to be closed; 1 when they are. */
static int all_closed_soon(const int *fd, int n)
{
    for (int tries = 0; tries < 500; tries++) {
        int open_left = 0;
        for (int i = 0; i < n; i++) open_left += is_open(fd[i]);
        if (!open_left) return 1;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return 0;
}

static void every_descriptor_is_closed_and_the_limit_restored(void **state)
{
    (void)state;
    struct rlimit was, low, during, old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &was), 0);
    if (was.rlim_max != RLIM_INFINITY && was.rlim_max <= 1000) skip();
    low = was;
    low.rlim_cur = 256; /* below the hard limit: raised for the run, then restored */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);

    struct closers h = INIT_CLOSERS;
    size_t ahead = 8;
    closers_start(&h, &old, 2, &ahead);
    assert_int_equal(old.rlim_cur, 256);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &during), 0);
    rlim_t want = was.rlim_max == RLIM_INFINITY || was.rlim_max > (1 << 20) ? (1 << 20) : was.rlim_max;
    assert_int_equal(during.rlim_cur, want);
    assert_int_equal(ahead, 8); /* room enough: kept */
    assert_int_equal(h.max, (size_t)want - (64 + 8 * 2) - 8);
    assert_int_equal(h.started, CLOSERS);

    /* more than the queue's first 256 slots, while the closers take batches */
    enum { N = 700 };
    int fd[N];
    for (int i = 0; i < N; i++) {
        fd[i] = null_fd();
        closers_hold(&h, fd[i], i + 1);
    }
    closers_end(&h, &old);
    for (int i = 0; i < N; i++) assert_false(is_open(fd[i]));
    assert_int_equal(h.bytes, 0);
    assert_int_equal(h.started, 0);
    assert_null(h.q);
    assert_int_equal(h.n, 0);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &during), 0);
    assert_int_equal(during.rlim_cur, 256);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &was), 0);
}

static void a_batch_is_taken_at_its_sixteenth(void **state)
{
    (void)state;
    struct closers h = INIT_CLOSERS;
    struct rlimit old;
    size_t ahead = 1;
    closers_start(&h, &old, 1, &ahead);
    assert_true(h.max >= 32);
    int fd[32];
    for (int i = 0; i < 15; i++) closers_hold(&h, fd[i] = null_fd(), 10);
    nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    for (int i = 0; i < 15; i++) assert_true(is_open(fd[i])); /* woken at 16, not before */
    closers_hold(&h, fd[15] = null_fd(), 10);
    assert_true(all_closed_soon(fd, 16)); /* without waiting for closers_end */
    for (int tries = 0; tries < 500; tries++) { /* their sizes taken off the backlog */
        pthread_mutex_lock(&h.lock);
        long long b = h.bytes;
        pthread_mutex_unlock(&h.lock);
        if (b == 0) break;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    assert_int_equal(h.bytes, 0);
    /* and the next batch again at its sixteenth */
    for (int i = 16; i < 31; i++) closers_hold(&h, fd[i] = null_fd(), 10);
    nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    for (int i = 16; i < 31; i++) assert_true(is_open(fd[i]));
    closers_hold(&h, fd[31] = null_fd(), 10);
    assert_true(all_closed_soon(fd + 16, 16));
    closers_end(&h, &old);
}

static void past_the_byte_bound_closed_at_once(void **state)
{
    (void)state;
    struct closers h = INIT_CLOSERS;
    struct rlimit old;
    size_t ahead = 1;
    closers_start(&h, &old, 1, &ahead);
    int a = null_fd(), b = null_fd(), c = null_fd();
    closers_hold(&h, a, (long long)1 << 30); /* exactly the bound: held */
    assert_true(is_open(a));
    closers_hold(&h, b, 1); /* one byte past it: closed here */
    assert_false(is_open(b));
    closers_end(&h, &old);
    assert_false(is_open(a));
    closers_start(&h, &old, 1, &ahead);
    closers_hold(&h, c, ((long long)1 << 30) + 1);
    assert_false(is_open(c));
    closers_end(&h, &old);
}

/* In a child, with the hard limit HARD (lowering it cannot be undone): after
 * closers_start(THREADS, AHEAD), the read-ahead and share must be WANT_AHEAD and
 * WANT_MAX, and a descriptor past the share closed at once.  Exit status 0 when so. */
static int in_child_with_limit(rlim_t hard, int threads, size_t ahead, size_t want_ahead,
                               size_t want_max)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {hard, hard}, old;
        if (setrlimit(RLIMIT_NOFILE, &rl)) _exit(10);
        struct closers h = INIT_CLOSERS;
        closers_start(&h, &old, threads, &ahead);
        if (ahead != want_ahead) _exit(11);
        if (h.max != want_max) _exit(12);
        if (h.started != (want_max ? CLOSERS : 0)) _exit(13);
        int fd[8];
        if (want_max > 7) _exit(17);
        for (size_t i = 0; i < want_max; i++) {
            closers_hold(&h, fd[i] = null_fd(), 1);
            if (!is_open(fd[i])) _exit(14); /* within the share: held */
        }
        close(0); /* descriptor 0 too (a run with stdin closed) */
        if ((fd[7] = null_fd()) != 0) _exit(18);
        closers_hold(&h, fd[7], 1);
        if (is_open(fd[7])) _exit(15); /* past it: closed at once */
        closers_end(&h, &old);
        for (size_t i = 0; i < want_max; i++)
            if (is_open(fd[i])) _exit(16);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void a_low_limit_is_shared_with_the_read_ahead(void **state)
{
    (void)state;
    /* 100 - (64 + 8*4) = 4 left: the read-ahead gets half, the closers the rest */
    assert_int_equal(in_child_with_limit(100, 4, 10, 2, 2), 0);
    assert_int_equal(in_child_with_limit(100, 4, 2, 2, 2), 0); /* half exactly: kept */
    assert_int_equal(in_child_with_limit(100, 4, 1, 1, 3), 0); /* less wanted: kept */
    assert_int_equal(in_child_with_limit(100, 4, 3, 2, 2), 0);
    assert_int_equal(in_child_with_limit(108, 4, 5, 5, 7), 0); /* 12 left: 5 kept */
    assert_int_equal(in_child_with_limit(108, 4, 7, 6, 6), 0);
    /* nothing left: one read ahead, no closers, every descriptor closed at once */
    assert_int_equal(in_child_with_limit(96, 4, 10, 1, 0), 0);
    assert_int_equal(in_child_with_limit(97, 4, 10, 1, 0), 0);
}

/* The queue itself, with no closer taking from it (started set by hand): it grows from
 * 256 slots by doubling, and when full with its front already taken it moves what is
 * left to the front instead of growing. */
static void the_queue_grows_and_reuses_its_front(void **state)
{
    (void)state;
    struct closers h = INIT_CLOSERS;
    h.started = 1; /* no thread: closers_end is not called */
    h.max = 100000;
    enum { FAKE = 1 << 24 }; /* descriptor numbers never open: nothing here closes them */
    for (int i = 0; i < 256; i++) closers_hold(&h, FAKE + i, 1);
    assert_int_equal(h.cap, 256);
    assert_int_equal(h.n, 256);
    h.head = 16; /* as if a closer had taken the first batch */
    h.bytes -= 16;
    closers_hold(&h, FAKE + 256, 1);
    assert_int_equal(h.cap, 256); /* moved, not grown */
    assert_int_equal(h.head, 0);
    assert_int_equal(h.n, 241);
    for (size_t i = 0; i < h.n; i++) assert_int_equal(h.q[i].fd, FAKE + 16 + (int)i);
    assert_int_equal(h.bytes, 241);
    for (int i = 257; i < 272; i++) closers_hold(&h, FAKE + i, 1);
    assert_int_equal(h.n, 256);
    closers_hold(&h, FAKE + 272, 1); /* full, nothing taken: doubled */
    assert_int_equal(h.cap, 512);
    assert_int_equal(h.n, 257);
    assert_int_equal(h.q[256].fd, FAKE + 272);
    assert_int_equal(h.q[0].fd, FAKE + 16);
    free(h.q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_descriptor_is_closed_and_the_limit_restored),
        cmocka_unit_test(a_batch_is_taken_at_its_sixteenth),
        cmocka_unit_test(past_the_byte_bound_closed_at_once),
        cmocka_unit_test(a_low_limit_is_shared_with_the_read_ahead),
        cmocka_unit_test(the_queue_grows_and_reuses_its_front),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
