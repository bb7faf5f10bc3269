/* test_trainstop.c — model/trainstop.c, reached before only by the integration tests'
 * Ctrl-C (a mutation audit, helper 102, left all its mutants alive in the unit
 * tests): SIGINT and SIGTERM each set the stop flag, the flag starts cleared, a second
 * signal acts as usual (the handler resets itself), an ignored SIGINT stays ignored,
 * and release puts back the handlers there were before.
 */
#include "unit.h"

#include <signal.h>
#include <sys/wait.h>

#include "model/trainstop.h"
#include "nbformat/outfile.h"

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
        void (*stop_handler)(int) = action(SIGINT);
        assert_true(stop_handler != my_handler);
        assert_true(action(SIGTERM) == stop_handler);
        raise(sig ? SIGTERM : SIGINT);
        assert_int_equal(atomic_load(flag), 1);
        assert_int_equal(mine, 0);
        /* the second one acts as usual (it ends the program: the test below): the
         * stop handler reset itself; the other signal's is still set */
        assert_true(action(sig ? SIGTERM : SIGINT) != stop_handler);
        assert_true(action(sig ? SIGINT : SIGTERM) == stop_handler);
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

/* The second signal ends the program as the default action would, and removes the
 * temporary of a file opened while the stop handler was set: a checkpoint (~70 MB,
 * written after every epoch) was left behind, hidden, by a second Ctrl-C during its
 * write.  In a child, which the signal ends. */
static void test_a_second_signal_ends_the_program_and_removes_its_temporaries(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_trainstop.XXXXXX";
    assert_non_null(mkdtemp(dir));
    for (int twice = 0; twice < 2; twice++) {
        int sig = twice ? SIGINT : SIGTERM;
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            signal(sig, SIG_DFL);
            struct trainstop ts;
            atomic_int *flag = trainstop_catch(&ts);
            char path[64];
            snprintf(path, sizeof path, "%s/checkpoint", dir);
            struct outfile o;
            nb_error err;
            if (outfile_open(&o, path, &err) || fputs("part of a checkpoint", o.f) < 0 || fflush(o.f)) _exit(10);
            raise(sig);
            if (!atomic_load(flag)) _exit(11);
            raise(sig);
            _exit(12); /* not reached */
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), sig);
        DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) fail_msg("left behind: %s", e->d_name);
        closedir(d);
    }
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signals_set_the_flag_once),
        cmocka_unit_test(test_a_second_signal_ends_the_program_and_removes_its_temporaries),
        cmocka_unit_test(test_an_ignored_sigint_stays_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
