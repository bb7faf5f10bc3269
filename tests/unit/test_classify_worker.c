/* test_classify_worker.c — the stage kernel's classification thread (classify_worker.c):
 * starting it, and the reason given when its thread cannot be started. */
#include "tests/unit/unit.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <zmq.h>

#include "kernel/classify_worker.h"
#include "tests/unit/unit_model.h"

/* pthread_create, failing when asked as glibc's does when a thread's stack cannot be
 * mapped: EAGAIN returned, errno left at mmap's ENOMEM (pthread_create never reports
 * through errno).  Otherwise the real one (this binary's definition is the one the
 * library's objects link to; the real one is the next). */
static int pthread_create_fails;

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    if (pthread_create_fails) {
        errno = ENOMEM;
        return EAGAIN;
    }
    int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
    *(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
    return real ? real(t, attr, fn, arg) : ENOSYS;
}

static void the_worker_starts_and_stops(void **state)
{
    (void)state;
    nbs_model *m = unit_small_model(1, "test");
    struct stage_display_options opt = {0, 0, 0.0};
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    char err[256] = "";
    struct classify_worker *w = classify_worker_start(ctx, m, &opt, err, sizeof err);
    if (!w) fail_msg("%s", err);
    classify_worker_stop(w);
    zmq_ctx_term(ctx);
    model_free(m);
}

/* The thread that cannot be started was said with a ZeroMQ error, whatever errno held
 * ("Cannot allocate memory" here); now with pthread_create's own code. */
static void a_thread_that_cannot_start_is_said_with_its_reason(void **state)
{
    (void)state;
    nbs_model *m = unit_small_model(1, "test");
    struct stage_display_options opt = {0, 0, 0.0};
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    void *first = zmq_socket(ctx, ZMQ_PAIR); /* the context's own threads start here */
    assert_non_null(first);
    char err[256] = "";
    pthread_create_fails = 1;
    struct classify_worker *w = classify_worker_start(ctx, m, &opt, err, sizeof err);
    pthread_create_fails = 0;
    assert_null(w);
    assert_string_equal(err, "classification worker: Resource temporarily unavailable");
    zmq_close(first);
    zmq_ctx_term(ctx);
    model_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_worker_starts_and_stops),
        cmocka_unit_test(a_thread_that_cannot_start_is_said_with_its_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
