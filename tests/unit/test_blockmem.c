/* test_blockmem.c — pieces from reused blocks (model/blockmem.h): pieces do not
 * overlap and keep their bytes until the rewind, a rewind hands the same blocks out
 * again (the point: no fresh pages), a piece above the block size gets a block of its
 * own that the rewind lets go, the current block keeps its room meanwhile (the bytes
 * in use count the pieces, not the blocks), a rewind keeps no more than its bound, a
 * kept block too small for a piece is passed over, and a new block's pages are present
 * before anything is written to them. */
#include "tests/unit/unit.h"

#include "model/blockmem.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static void pieces_keep_their_bytes_until_the_rewind(void **state)
{
    (void)state;
    struct blockmem m = {.block = 1000, .keep = 1 << 20};
    char *p[50];
    for (int i = 0; i < 50; i++) { /* 50 x 97 bytes: five blocks */
        p[i] = blockmem_take(&m, 97);
        assert_non_null(p[i]);
        memset(p[i], 'a' + i % 26, 97);
    }
    for (int i = 0; i < 50; i++)
        for (int k = 0; k < 97; k++) assert_int_equal(p[i][k], 'a' + i % 26);
    blockmem_free(&m);
    assert_null(m.in_use);
    assert_null(m.spare);
}

static void a_rewind_hands_the_same_blocks_out_again(void **state)
{
    (void)state;
    struct blockmem m = {.block = 1000, .keep = 1 << 20};
    char *first[30], *again[30];
    for (int i = 0; i < 30; i++) first[i] = blockmem_take(&m, 300); /* 3 a block */
    blockmem_rewind(&m);
    assert_null(m.in_use);
    for (int i = 0; i < 30; i++) again[i] = blockmem_take(&m, 300);
    /* every piece of the second round lies in a block of the first */
    for (int i = 0; i < 30; i++) {
        int found = 0;
        for (int k = 0; k < 30 && !found; k++) found = again[i] == first[k];
        assert_true(found);
    }
    assert_null(m.spare); /* all ten reused, none new */
    blockmem_free(&m);
}

static void a_large_piece_has_a_block_of_its_own(void **state)
{
    (void)state;
    struct blockmem m = {.block = 1000, .keep = 1 << 20};
    char *a = blockmem_take(&m, 100);
    char *big = blockmem_take(&m, 5000);
    char *b = blockmem_take(&m, 100);
    assert_non_null(a), assert_non_null(big), assert_non_null(b);
    memset(big, 'x', 5000);
    assert_ptr_equal(b, a + 100); /* the current block kept its room */
    assert_int_equal(blockmem_used(&m), 5200); /* the pieces, not the blocks' free tails */
    memset(a, 'y', 200);
    for (int k = 0; k < 5000; k++) assert_int_equal(big[k], 'x');
    blockmem_rewind(&m);
    assert_int_equal(blockmem_used(&m), 0);
    /* the usual block is handed out again first (the large one was let go) */
    assert_ptr_equal(blockmem_take(&m, 10), a);
    blockmem_free(&m);
}

static void a_rewind_keeps_no_more_than_keep(void **state)
{
    (void)state;
    struct blockmem m = {.block = 1000, .keep = 3000};
    char *first[10];
    for (int i = 0; i < 10; i++) first[i] = blockmem_take(&m, 1000); /* ten full blocks */
    blockmem_rewind(&m);
    /* three kept: the next three pieces are in blocks of the first round */
    for (int i = 0; i < 3; i++) {
        char *p = blockmem_take(&m, 1000);
        int found = 0;
        for (int k = 0; k < 10 && !found; k++) found = p == first[k];
        assert_true(found);
    }
    assert_null(m.spare);
    blockmem_free(&m);
}

static void a_spare_block_too_small_is_not_handed_out(void **state)
{
    (void)state;
    struct blockmem m = {.block = 100, .keep = 1 << 20};
    assert_non_null(blockmem_take(&m, 100));
    blockmem_rewind(&m);
    m.block = 200; /* blocks made before are smaller than a piece may now be */
    char *p = blockmem_take(&m, 200);
    assert_non_null(p);
    memset(p, 'z', 200); /* ASan: a 100-byte block here would overflow */
    blockmem_free(&m);
}

/* 1 when this kernel has MADV_POPULATE_WRITE (Linux 5.14); else the pages fault as
 * before and there is nothing to test. */
static int kernel_populates(void)
{
#ifdef MADV_POPULATE_WRITE
    long page = sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 0;
    int ok = !madvise(p, (size_t)page, MADV_POPULATE_WRITE);
    munmap(p, (size_t)page);
    return ok;
#else
    return 0;
#endif
}

static void a_new_block_is_present_before_it_is_written(void **state)
{
    (void)state;
    if (!kernel_populates() || sysconf(_SC_PAGESIZE) != 4096) skip();
    size_t size = (size_t)1 << 20; /* malloc maps a block this large afresh */
    struct blockmem m = {.block = size, .keep = size};
    char *p = blockmem_take(&m, 1);
    assert_non_null(p);
    /* the whole pages of the block after the piece, none written yet */
    uintptr_t from = ((uintptr_t)p + 4096) & ~(uintptr_t)4095, to = ((uintptr_t)p + size) & ~(uintptr_t)4095;
    size_t pages = (to - from) / 4096;
    unsigned char *in = malloc(pages);
    assert_non_null(in);
    assert_int_equal(mincore((void *)from, to - from, in), 0);
    size_t present = 0;
    for (size_t i = 0; i < pages; i++) present += in[i] & 1;
    assert_int_equal(present, pages);
    free(in);
    blockmem_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pieces_keep_their_bytes_until_the_rewind),
        cmocka_unit_test(a_rewind_hands_the_same_blocks_out_again),
        cmocka_unit_test(a_large_piece_has_a_block_of_its_own),
        cmocka_unit_test(a_rewind_keeps_no_more_than_keep),
        cmocka_unit_test(a_spare_block_too_small_is_not_handed_out),
        cmocka_unit_test(a_new_block_is_present_before_it_is_written),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
