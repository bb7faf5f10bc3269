/* test_tagjob_read.c — a notebook's bytes read by tagjob_read (model/tagjob.h): into a
 * window's read room, pieces of the room's blocks holding each file's bytes; a file
 * that holds more than its size said (a /proc file, whose size is 0, stands for one
 * that grew while read) moved to the heap with every byte; the heap alone without a
 * room; the window's budget; the reasons for a folder and an empty file; a FIFO in
 * a notebook's place refused, not waited on. */
#include "tests/unit/unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "model/tagjob.h"

static char *dir; /* the tests' folder (setup) */

/* DIR/NAME holding BYTES (a static buffer: the next call reuses it). */
static char *write_file(const char *name, const char *bytes)
{
    static char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    unit_write_file(path, bytes);
    return path;
}

static int setup(void **state)
{
    (void)state;
    dir = unit_make_tmpdir("tagjob-read");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unit_rm_rf(dir);
    free(dir);
    return 0;
}

/* A read room of 4 KB blocks, as a window's (model/tagrun.c) with smaller blocks. */
static void room_init(struct read_room *room)
{
    *room = (struct read_room){.mem = {.block = 4096, .keep = 1 << 20}};
    pthread_mutex_init(&room->lock, NULL);
}

static void room_free(struct read_room *room)
{
    blockmem_free(&room->mem);
    pthread_mutex_destroy(&room->lock);
}

static void files_are_read_into_the_room(void **state)
{
    (void)state;
    struct read_room room;
    room_init(&room);
    char why[256];
    struct stat st;
    size_t len_a, len_b;
    int in_a, in_b;
    char *a = tagjob_read(write_file("a.ipynb", "{\"cells\": []}\n"), &len_a, &st, why, sizeof why, NULL,
                          NULL, &room, &in_a);
    char *b = tagjob_read(write_file("b.ipynb", "{}"), &len_b, &st, why, sizeof why, NULL, NULL, &room,
                          &in_b);
    assert_non_null(a), assert_non_null(b);
    assert_true(in_a), assert_true(in_b);
    assert_int_equal(len_a, 14), assert_int_equal(len_b, 2);
    assert_string_equal(a, "{\"cells\": []}\n"); /* NUL-terminated */
    assert_string_equal(b, "{}");
    assert_ptr_equal(b, a + 14 + 2); /* the next piece of the same block */
    room_free(&room);
}

/* The bytes of PATH as read with plain stdio, NUL after them, for comparison
 * (unit_read_file goes by the file's size, which a /proc file says is 0). */
static size_t slurp(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = 0;
    return n;
}

static void a_file_longer_than_its_size_moves_to_the_heap(void **state)
{
    (void)state;
    struct read_room room;
    room_init(&room);
    char why[256], want[65536];
    struct stat st;
    size_t len;
    int in_room = -1;
    const char *path = "/proc/self/maps"; /* size 0, and thousands of bytes */
    char *got = tagjob_read(path, &len, &st, why, sizeof why, NULL, NULL, &room, &in_room);
    assert_non_null(got);
    assert_int_equal(in_room, 0); /* malloc'd: the caller's to free */
    assert_true(len > 100);
    /* the same first lines as stdio reads (the maps themselves may differ a little
     * from one read to the next: compare the first line, the program's own text) */
    size_t n = slurp(path, want, sizeof want);
    assert_true(n > 100);
    const char *nl = strchr(want, '\n');
    assert_non_null(nl);
    assert_memory_equal(got, want, (size_t)(nl - want) + 1);
    assert_int_equal(got[len], 0);
    free(got);
    /* without a room, the heap as before */
    got = tagjob_read(path, &len, &st, why, sizeof why, NULL, NULL, NULL, &in_room);
    assert_non_null(got);
    assert_int_equal(in_room, 0);
    assert_memory_equal(got, want, (size_t)(nl - want) + 1);
    free(got);
    room_free(&room);
}

static void the_budget_and_the_reasons(void **state)
{
    (void)state;
    struct read_room room;
    room_init(&room);
    char why[256];
    struct stat st;
    size_t len;
    int in_room;
    long long budget = 10;
    const char *big = write_file("big.ipynb", "{\"cells\": [], \"metadata\": {}}");
    assert_null(tagjob_read(big, &len, &st, why, sizeof why, NULL, &budget, &room, &in_room));
    assert_string_equal(why, ""); /* over the budget: not a failure */
    /* and the budget is given back: a smaller file after it is still read ahead (a
     * large one took it below zero for the rest of its window) */
    assert_int_equal(budget, 10);
    char *small = tagjob_read(write_file("small.ipynb", "{}"), &len, &st, why, sizeof why, NULL, &budget, &room,
                              &in_room);
    assert_non_null(small);
    assert_int_equal(len, 2);
    assert_int_equal(budget, 6); /* what it takes of the room: its 2 bytes and 2 past them */
    if (!in_room) free(small);
    assert_null(tagjob_read(dir, &len, &st, why, sizeof why, NULL, NULL, &room, &in_room));
    assert_string_equal(why, "is a directory, not a notebook");
    assert_null(tagjob_read(write_file("empty.ipynb", ""), &len, &st, why, sizeof why, NULL, NULL, &room,
                            &in_room));
    assert_string_equal(why, "empty file");
    room_free(&room);
}

/* tagjob_read of PATH fails with "not a regular file": 0, else 1 (in a child: a
 * blocking open() would never return). */
static int read_refused(void *path)
{
    char why[256];
    struct stat st;
    size_t len;
    char *got = tagjob_read(path, &len, &st, why, sizeof why, NULL, NULL, NULL, NULL);
    return got || strcmp(why, "not a regular file");
}

/* A notebook the walk listed, replaced by a FIFO before tag reads it: its open()
 * waited for a writer for ever; now refused at once, as the walk would say it. */
static void a_fifo_in_a_notebooks_place_is_refused_not_waited_on(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/fifo.ipynb", dir);
    assert_int_equal(mkfifo(path, 0644), 0);
    assert_int_equal(unit_child_within(5, read_refused, path), 0);
    assert_int_equal(unit_child_within(5, read_refused, "/dev/null"), 0); /* a device */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(files_are_read_into_the_room),
        cmocka_unit_test(a_file_longer_than_its_size_moves_to_the_heap),
        cmocka_unit_test(the_budget_and_the_reasons),
        cmocka_unit_test(a_fifo_in_a_notebooks_place_is_refused_not_waited_on),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
