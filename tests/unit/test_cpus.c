/* test_cpus.c — nbformat/cpus.h: the default thread count follows the CPUs the process
 * may run on (taskset, a cpuset), not the machine's. */
#include "unit.h"

#include <sched.h>

#include "nbformat/cpus.h"

static void counts_the_affinity_mask(void **state)
{
    (void)state;
    cpu_set_t all, one;
    assert_int_equal(sched_getaffinity(0, sizeof all, &all), 0);
    assert_int_equal(cpus_usable(), CPU_COUNT(&all));
    int first = 0;
    while (!CPU_ISSET(first, &all)) first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    assert_int_equal(sched_setaffinity(0, sizeof one, &one), 0);
    int n = cpus_usable();
    assert_int_equal(sched_setaffinity(0, sizeof all, &all), 0);
    assert_int_equal(n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_the_affinity_mask),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
