/* test_trainstop.c — model/trainstop.c, reached before only by the integration tests'
 * Ctrl-C (a mutation audit, helper 102, left all its mutants alive in the unit
 * tests): SIGINT and SIGTERM each set the stop flag, the flag starts cleared, a second
 * signal acts as usual (the handler resets itself), an ignored SIGINT stays ignored,
 * and release puts back the handlers there were before.
 */
#include "unit.h"

#include <signal.h>

#include "model/trainstop.h"

static volatile sig_atomic_t mine;
static void my_handler(int sig) { (void)sig; mine++; }

static void (*action(int sig))(int)
{
    struct sigaction now;
    assert_int_equal(sigaction(sig, NULL, &now), 0);
    return now.sa_handler;
}

static void test_signals_set_the_flag_once(void **state)
{
    (void)state;
    struct sigaction before = { .sa_handler = my_handler };
    sigemptyset(&before.sa_mask);
    assert_int_equal(sigaction(SIGINT, &before, NULL), 0);
    assert_int_equal(sigaction(SIGTERM, &before, NULL), 0);
    for (int sig = 0; sig < 2; sig++) {
        struct trainstop ts;
        atomic_int *flag = trainstop_catch(&ts);
        assert_int_equal(atomic_load(flag), 0);
        assert_true(action(SIGINT) != my_handler);
        assert_true(action(SIGTERM) != my_handler);
        raise(sig ? SIGTERM : SIGINT);
        assert_int_equal(atomic_load(flag), 1);
        assert_int_equal(mine, 0);
        /* the second one acts as usual: the handler reset itself */
        assert_true(action(sig ? SIGTERM : SIGINT) == SIG_DFL);
        assert_true(action(sig ? SIGINT : SIGTERM) != SIG_DFL);
        trainstop_release(&ts);
        assert_true(action(SIGINT) == my_handler);
        assert_true(action(SIGTERM) == my_handler);
        raise(SIGINT);
        assert_int_equal(mine, 1);
        mine = 0;
        /* a flag left set by one run is cleared by the next catch */
        assert_int_equal(atomic_load(flag), 1);
    }
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
}

static void test_an_ignored_sigint_stays_ignored(void **state)
{
    (void)state;
    signal(SIGINT, SIG_IGN);
    struct trainstop ts;
    atomic_int *flag = trainstop_catch(&ts);
    assert_true(action(SIGINT) == SIG_IGN);
    raise(SIGINT);
    assert_int_equal(atomic_load(flag), 0);
    raise(SIGTERM);
    assert_int_equal(atomic_load(flag), 1);
    trainstop_release(&ts);
    assert_true(action(SIGINT) == SIG_IGN);
    assert_true(action(SIGTERM) == SIG_DFL);
    signal(SIGINT, SIG_DFL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signals_set_the_flag_once),
        cmocka_unit_test(test_an_ignored_sigint_stays_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
