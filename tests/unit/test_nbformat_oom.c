/* test_nbformat_oom.c — the canonical writer (nbformat/nbwrite.c), the two byte
 * scanners (nbformat/canonscan.c for tag, nbformat/cellscan.c for ingest and summary)
 * and the lines of messages (nbformat/nbwalk.c: nb_say's, nb_put_shown's text,
 * nb_line_begin's) when memory runs out.  Each growable buffer failing in turn: the
 * writer returns NULL, a scan says "take the jansson path" (-1), a message goes out
 * whole in pieces; never a half-filled result and never a write through NULL.
 * realloc is this binary's own, failing its Nth call when asked (all of them grow
 * their buffers with realloc), and so is malloc (nb_line_begin's state and stream). */
#include "tests/unit/unit.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include "nbformat/canonscan.h"
#include "nbformat/cellscan.h"
#include "nbformat/notebook.h"

/* realloc_calls counts the calls while realloc_armed; the realloc_fail_at-th fails.
 * Per thread: only the test's own calls count (another thread of the process, one
 * starting under ASan say, reallocs too: pthread_getattr_np does, and failing it
 * aborted the run). */
static _Thread_local int realloc_armed;
static _Thread_local size_t realloc_calls, realloc_fail_at;

void *realloc(void *p, size_t n)
{
    if (realloc_armed && ++realloc_calls == realloc_fail_at) {
        errno = ENOMEM;
        return NULL;
    }
    static void *(*real)(void *, size_t);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "realloc");
    return real(p, n);
}

/* malloc likewise (malloc_calls, malloc_fail_at while malloc_armed). */
static _Thread_local int malloc_armed;
static _Thread_local size_t malloc_calls, malloc_fail_at;

void *malloc(size_t n)
{
    if (malloc_armed && ++malloc_calls == malloc_fail_at) {
        errno = ENOMEM;
        return NULL;
    }
    static void *(*real)(size_t);
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "malloc");
    return real(n);
}

/* A canonical notebook (nb_dumps's bytes) whose code cells fill every buffer of both
 * scanners: sources and the NUL after each (text), metadata members (items), workflow_stage members and tags
 * (subs), the cells themselves, and keys (cellscan's duplicate check). */
static char *notebook(size_t *len)
{
    json_t *cells = json_array();
    /* first a code cell with no source: the NUL after it is the text's first byte */
    json_array_append_new(cells, json_pack("{s:s, s:n, s:{}, s:[], s:[]}", "cell_type", "code",
                                           "execution_count", "metadata", "outputs", "source"));
    for (int i = 0; i < 3; i++) {
        json_t *c = json_pack("{s:s, s:n, s:{s:[s,s], s:{s:s}, s:i}, s:[], s:[s,s]}",
                              "cell_type", "code", "execution_count", "metadata", "tags",
                              "a", "stage:load", "workflow_stage", "stage", "load", "n", i,
                              "outputs", "source", "import os\n", "x = 1");
        assert_non_null(c);
        json_array_append_new(cells, c);
    }
    json_t *nb = json_pack("{s:o, s:{}, s:i, s:i}", "cells", cells, "metadata", "nbformat", 4,
                           "nbformat_minor", 5);
    assert_non_null(nb);
    char *text = nb_dumps(nb, len);
    assert_non_null(text);
    json_decref(nb);
    return text;
}

/* Runs RUN on BUF failing the 1st, 2nd, ... realloc in turn, each time with new
 * buffers, until a run makes no more calls than the one that failed: every failure
 * must give -1; the run with no failure gives 0 and the 4 code cells, and so does the
 * next run with the buffers a failure left (a worker reuses them for its next
 * notebook: one that ran out must not make the scanner refuse the rest). */
#define EACH_FAILURE(type, run, free_fn, cells_n)                                              \
    do {                                                                                       \
        size_t failures = 0;                                                                   \
        for (size_t at = 1;; at++) {                                                           \
            type s;                                                                            \
            memset(&s, 0, sizeof s);                                                           \
            realloc_calls = 0, realloc_fail_at = at, realloc_armed = 1;                        \
            int rc = run(&s, buf, len);                                                        \
            realloc_armed = 0;                                                                 \
            if (realloc_calls < at) { /* nothing failed */                                     \
                assert_int_equal(rc, 0);                                                       \
                assert_int_equal(s.cells_n, 4);                                                \
                free_fn(&s);                                                                   \
                break;                                                                         \
            }                                                                                  \
            assert_int_equal(rc, -1);                                                          \
            failures++;                                                                        \
            assert_int_equal(run(&s, buf, len), 0);                                            \
            assert_int_equal(s.cells_n, 4);                                                    \
            free_fn(&s);                                                                       \
        }                                                                                      \
        assert_true(failures >= 3); /* at least text, cells and one more were allocated */     \
    } while (0)

static void canonscan_refuses_when_a_buffer_cannot_grow(void **state)
{
    (void)state;
    size_t len;
    char *buf = notebook(&len);
    EACH_FAILURE(struct canonscan, canonscan_run, canonscan_free, n);
    free(buf);
}

static void cellscan_refuses_when_a_buffer_cannot_grow(void **state)
{
    (void)state;
    size_t len;
    char *buf = notebook(&len);
    EACH_FAILURE(struct cellscan, cellscan_run, cellscan_free, n);
    free(buf);
}

static void dumps_returns_null_when_its_buffer_cannot_grow(void **state)
{
    (void)state;
    size_t len;
    char *want = notebook(&len);
    json_t *nb = nb_read_mem(want, len, "oom.ipynb", 0, NULL);
    assert_non_null(nb);
    /* a long source: the writer's buffer grows from 4096 to 16384 */
    json_t *src = json_object_get(nb_cell(nb, 1), "source");
    char big[10000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(json_array_append_new(src, json_string(big)), 0);
    realloc_armed = 0;
    size_t wlen;
    char *whole = nb_dumps(nb, &wlen);
    assert_non_null(whole);
    size_t failures = 0;
    for (size_t at = 1;; at++) {
        realloc_calls = 0, realloc_fail_at = at, realloc_armed = 1;
        size_t n = 0;
        char *out = nb_dumps(nb, &n);
        realloc_armed = 0;
        if (realloc_calls < at) {
            assert_non_null(out);
            assert_int_equal(n, wlen);
            assert_memory_equal(out, whole, wlen);
            free(out);
            break;
        }
        assert_null(out);
        failures++;
    }
    assert_int_equal(failures, 2); /* 4096, then 16384 (doubled twice at once) */
    free(whole);
    free(want);
    json_decref(nb);
}

/* What SAY(ARG) writes to stderr, with stderr (unbuffered, as at a program's start) a
 * pipe in packet mode (pipe(7)'s O_DIRECT: each write(2) is a packet of its own, one
 * past PIPE_BUF cut into PIPE_BUF-byte ones): the bytes (malloc'd, NUL-terminated),
 * and the count of packets into *PACKETS; *ONE_WRITE is 0 when a packet but the last
 * is short of PIPE_BUF, which one write never leaves.  NULL when the system has no
 * packet pipes. */
static char *said_on_stderr(void (*say)(const char *), const char *arg, size_t *packets, int *one_write)
{
    int fds[2];
    if (pipe2(fds, O_DIRECT | O_NONBLOCK)) return NULL; /* (non-blocking: a full pipe fails, not hangs) */
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fds[1], 2) == 2);
    say(arg);
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    clearerr(stderr);
    size_t cap = 1 << 16, n = 0;
    char *out = malloc(cap + 1);
    assert_non_null(out);
    ssize_t k;
    *packets = 0;
    *one_write = 1;
    while (n < cap && (k = read(fds[0], out + n, cap - n)) > 0) { /* a packet a read */
        if (n != *packets * PIPE_BUF) *one_write = 0; /* a packet before this one was short */
        n += (size_t)k;
        ++*packets;
    }
    close(fds[0]);
    out[n] = 0;
    return out;
}

/* the three ways a message goes to stderr, NAME shown in each */
static void say_tail(const char *name) { nb_say(stderr, "%s: %s", name, "tail"); }
static void put_shown(const char *name) { nb_put_shown(stderr, name, strlen(name)); }
static size_t line_malloc_fail_at; /* line_in_pieces' malloc_fail_at; 0: none fails */
static void line_in_pieces(const char *name)
{
    malloc_calls = 0;
    malloc_fail_at = line_malloc_fail_at;
    malloc_armed = 1;
    struct nb_line l;
    FILE *to = nb_line_begin(&l, stderr);
    fputs("note:", to);
    for (int i = 0; i < 2; i++) {
        fputc(' ', to);
        nb_put_shown(to, name, strlen(name));
    }
    fprintf(to, " (%d)\n", 2);
    nb_line_end(&l);
    malloc_armed = 0;
}

/* A name of 3000 a's, ESC, 3000 b's: longer than a message's first buffer (1 KiB). */
static const char *long_name(void)
{
    static char name[6002];
    memset(name, 'a', 3000);
    name[3000] = '\x1b';
    memset(name + 3001, 'b', 3000);
    name[6001] = 0;
    return name;
}

/* SAY of the long name gives WANT in one write (two packets: 4096 bytes and the
 * rest), and WANT all the same, in pieces, when each realloc fails in turn; their
 * count, the growths, into *GROWTHS. */
static void long_one_write_or_whole(void (*say)(const char *), const char *want, size_t *growths)
{
    size_t packets;
    int one;
    char *got = said_on_stderr(say, long_name(), &packets, &one);
    assert_string_equal(got, want);
    assert_int_equal(packets, (strlen(want) + PIPE_BUF - 1) / PIPE_BUF);
    assert_true(one);
    free(got);
    for (size_t fail_at = 1;; fail_at++) {
        realloc_calls = 0;
        realloc_fail_at = fail_at;
        realloc_armed = 1;
        got = said_on_stderr(say, long_name(), &packets, &one);
        realloc_armed = 0;
        assert_string_equal(got, want);
        free(got);
        if (realloc_calls < fail_at) break;
        assert_true(fail_at < 8);
    }
    *growths = realloc_fail_at - 1;
}

/* nb_say writes its line in one write(2): on the unbuffered stderr it wrote each piece
 * (the format's text, each argument's runs and escapes, the newline) in a write of its
 * own, and another process writing to the same file (the Jupyter server's log gets
 * the stage kernel's stderr and the wrapped kernel's) could land inside the line.  A
 * line longer than its first buffer (1 KiB) grows it by realloc; when that fails, at
 * each growth in turn, the line still goes out whole, its escapes the same, in pieces. */
static void say_writes_its_line_in_one_write(void **state)
{
    (void)state;
    size_t packets;
    int one;
    char *got = said_on_stderr(say_tail, "d/caf\xc3\xa9\x1b.ipynb", &packets, &one);
    if (!got) skip();
    assert_string_equal(got, "d/caf\xc3\xa9\\x1b.ipynb: tail\n");
    assert_int_equal(packets, 1);
    free(got);
    /* 6011 bytes said, in two packets (4096 and the rest) */
    char want[6016];
    const char *name = long_name();
    snprintf(want, sizeof want, "%.3000s\\x1b%s: tail\n", name, name + 3001);
    size_t growths;
    long_one_write_or_whole(say_tail, want, &growths);
    assert_int_equal(growths, 2); /* 1 KiB to 4 KiB, then 8 KiB */
}

/* nb_put_shown writes a name in one write(2), as nb_say its line: it wrote each run
 * and each escape in a write of its own (here three: "d/caf\xc3\xa9", "\\x1b",
 * ".ipynb"). */
static void put_shown_writes_a_name_in_one_write(void **state)
{
    (void)state;
    size_t packets;
    int one;
    char *got = said_on_stderr(put_shown, "d/caf\xc3\xa9\x1b.ipynb", &packets, &one);
    if (!got) skip();
    assert_string_equal(got, "d/caf\xc3\xa9\\x1b.ipynb");
    assert_int_equal(packets, 1);
    free(got);
    char want[6016];
    const char *name = long_name();
    snprintf(want, sizeof want, "%.3000s\\x1b%s", name, name + 3001);
    size_t growths;
    long_one_write_or_whole(put_shown, want, &growths);
    assert_int_equal(growths, 2);
}

/* 1 when another thread can take stderr's lock (a thread's own lock is recursive:
 * only another one tells that nb_line_end gave it back). */
static void *try_stderr_lock(void *unused)
{
    (void)unused;
    if (ftrylockfile(stderr)) return NULL;
    funlockfile(stderr);
    return stderr;
}

static int stderr_unlocked(void)
{
    pthread_t t;
    void *got = NULL;
    assert_int_equal(pthread_create(&t, NULL, try_stderr_lock, NULL), 0);
    assert_int_equal(pthread_join(t, &got), 0);
    return got != NULL;
}

/* A line made of pieces (fputs, fputc, nb_put_shown, fprintf) on nb_line_begin's
 * stream reaches stderr in one write(2), as the notes of install-kernel (an old argv's
 * words) and train (the ids left out) are made.  Out of memory for its state or its
 * stream (malloc), or to grow its buffer (realloc), the line is written whole all the
 * same, in pieces, and stderr's lock is given back. */
static void a_line_in_pieces_is_one_write(void **state)
{
    (void)state;
    size_t packets;
    int one;
    static const char shown[] = "note: d/caf\xc3\xa9\\x1b.ipynb d/caf\xc3\xa9\\x1b.ipynb (2)\n";
    char *got = said_on_stderr(line_in_pieces, "d/caf\xc3\xa9\x1b.ipynb", &packets, &one);
    if (!got) skip();
    assert_string_equal(got, shown);
    assert_int_equal(packets, 1);
    free(got);
    size_t failures = 0;
    for (line_malloc_fail_at = 1;; line_malloc_fail_at++) {
        got = said_on_stderr(line_in_pieces, "d/caf\xc3\xa9\x1b.ipynb", &packets, &one);
        assert_string_equal(got, shown);
        free(got);
        assert_true(stderr_unlocked());
        if (malloc_calls < line_malloc_fail_at) break; /* nothing failed */
        failures++;
        assert_true(failures < 8);
    }
    line_malloc_fail_at = 0;
    assert_true(failures >= 2); /* the state and the stream */
    char want[12100];
    const char *name = long_name();
    snprintf(want, sizeof want, "note: %.3000s\\x1b%s %.3000s\\x1b%s (2)\n", name, name + 3001, name,
             name + 3001);
    size_t growths;
    long_one_write_or_whole(line_in_pieces, want, &growths);
    /* the line's buffer, 1 KiB to 8 KiB, then 16 KiB, and each nb_put_shown's, 1 KiB
     * to 4 KiB, then 8 KiB */
    assert_int_equal(growths, 6);
    assert_true(stderr_unlocked());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonscan_refuses_when_a_buffer_cannot_grow),
        cmocka_unit_test(cellscan_refuses_when_a_buffer_cannot_grow),
        cmocka_unit_test(dumps_returns_null_when_its_buffer_cannot_grow),
        cmocka_unit_test(say_writes_its_line_in_one_write),
        cmocka_unit_test(put_shown_writes_a_name_in_one_write),
        cmocka_unit_test(a_line_in_pieces_is_one_write),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
