/* test_classcache_oom.c — the memo (model/classcache.c) when memory runs short: without
 * its 64 MB mapping (mmap refused, as under a tight `ulimit -v`) the arena of sources
 * grows by realloc and still finds every source byte for byte; and when one of its
 * growths fails (the arena's, the records', the slot table's), the source at hand is
 * just not kept: what was kept is still found, the same source is kept by a later
 * store, and nothing leaks (the sanitizer build checks).  mmap, realloc and calloc are
 * this binary's own, failing when asked. */
#include "tests/unit/unit.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/mman.h>

#include "model/classcache.h"

static int mmap_refuses, realloc_refuses, calloc_refuses;
static size_t realloc_min; /* realloc refuses only blocks of at least this many bytes */
static long mmap_refused;

/* mmap: refuses the memo's one big mapping when asked; anything else goes through. */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    static void *(*real)(void *, size_t, int, int, int, off_t);
    if (mmap_refuses && len == CLASSCACHE_MAX_BYTES) {
        mmap_refused++;
        errno = ENOMEM;
        return MAP_FAILED;
    }
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "mmap");
    return real(addr, len, prot, flags, fd, off);
}

void *realloc(void *p, size_t n)
{
    static void *(*real)(void *, size_t);
    if (realloc_refuses && n >= realloc_min) {
        errno = ENOMEM;
        return NULL;
    }
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "realloc");
    return real(p, n);
}

/* calloc (unit_calloc.h) fails while calloc_refuses is set */
static int refusing(size_t nmemb, size_t size) { (void)nmemb; (void)size; return calloc_refuses; }
#include "tests/unit/unit_calloc.h"

/* Source I: 100 bytes ('b's, then I in decimal), so that 20,000 of them (2 MB) make a
 * malloc'd arena grow from its first 1 MB, twice. */
static size_t source(int i, char *buf)
{
    memset(buf, 'b', 100);
    int n = sprintf(buf, "%d", i);
    buf[n] = 'b'; /* (sprintf's NUL) */
    return 100;
}

static void all_found(struct classcache *c, int from, int to, int absent)
{
    char buf[128];
    float p;
    for (int i = from; i < to; i++) {
        size_t n = source(i, buf);
        int want = i == absent ? CLASSCACHE_ABSENT : i % 6;
        assert_int_equal(classcache_lookup(c, buf, n, &p), want);
        if (want != CLASSCACHE_ABSENT) assert_true(p == (float)i / 32768.0f);
    }
}

static void store(struct classcache *c, int i)
{
    char buf[128];
    size_t n = source(i, buf);
    classcache_store(c, buf, n, i % 6, (float)i / 32768.0f);
}

static void test_without_the_mapping_the_arena_grows(void **state)
{
    (void)state;
    mmap_refuses = 1;
    mmap_refused = 0;
    struct classcache *c = classcache_new(NULL);
    mmap_refuses = 0;
    assert_non_null(c);
    assert_int_equal(mmap_refused, 1); /* the mapping was asked for, and refused */
    enum { MANY = 25000 }; /* 2.5 MB of sources: the arena grows 1 -> 2 -> 4 MB */
    for (int i = 0; i < MANY; i++) store(c, i);
    all_found(c, 0, MANY, -1);
    classcache_free(c);
}

/* Store 0..N-1, but with ALLOC refusing while source K is stored: K alone is not kept;
 * stored again afterwards, it is.  MAPPED: the arena is the mapping (else malloc'd). */
static void refused_once(int n, int k, int *alloc, int mapped, size_t min)
{
    realloc_min = min;
    mmap_refuses = !mapped;
    struct classcache *c = classcache_new(NULL);
    mmap_refuses = 0;
    assert_non_null(c);
    for (int i = 0; i < n; i++) {
        if (i == k) *alloc = 1;
        store(c, i);
        *alloc = 0;
    }
    all_found(c, 0, n, k);
    store(c, k);
    all_found(c, 0, n, -1);
    classcache_free(c);
}

static void test_a_failed_growth_keeps_what_was_kept(void **state)
{
    (void)state;
    /* (the records' blocks are under 1 MB, the malloc'd arena's are 1 MB and more) */
    /* the arena's first block (1 MB, with the mapping refused): the first source */
    refused_once(10, 0, &realloc_refuses, 0, (size_t)1 << 20);
    /* its growth to 2 MB: source 10,486 is the first past 1 MB (100 bytes each) */
    refused_once(11000, 10485, &realloc_refuses, 0, (size_t)1 << 20);
    /* the records' first block, with the first source (mapped arena) */
    refused_once(10, 0, &realloc_refuses, 1, 0);
    /* the slot table doubles (a calloc) when the 2,049th source comes */
    refused_once(3000, 2048, &calloc_refuses, 1, 0);
    /* the records double (a realloc) with the 4,097th; the table doubles first */
    refused_once(5000, 4096, &realloc_refuses, 1, 0);
}

int main(void)
{
    calloc_fails = refusing;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_without_the_mapping_the_arena_grows),
        cmocka_unit_test(test_a_failed_growth_keeps_what_was_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
