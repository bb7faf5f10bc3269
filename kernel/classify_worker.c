/* classify_worker.c — the classification thread and its jobs (see classify_worker.h).
 *
 * The PAIR carries job pointers to the thread (each with a reference the thread drops
 * when it is through with it; a NULL pointer asks it to stop) and the msg_ids of jobs
 * it has run back to the proxy.  A job's state goes QUEUED -> CLAIMED -> DONE; the
 * claim is a compare-and-swap, so exactly one thread runs it.
 */
#include "kernel/classify_worker.h"
#include "kernel/wire.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

enum { JOB_QUEUED, JOB_CLAIMED, JOB_DONE };

/* Cells up to this long are better classified by the relay thread itself, once their
 * request is on its way to the child (so in parallel with it): 9 us for `pass`, ~30
 * for 256 bytes, less than queueing the job and waking this thread costs on a busy
 * machine (the wake-ups, not the model, were most of the tag's CPU). */
#define INLINE_MAX_BYTES 256

struct classify_job {
    atomic_int state;
    atomic_int refs;
    atomic_int waiting; /* the proxy holds the idle: answer over the PAIR when done */
    char *src; /* in the same allocation, after the job */
    size_t len;
    char *content; /* written by the claimer before state becomes DONE */
    char id[MSG_ID_CAP];
};

struct classify_worker {
    void *ctx, *main_end, *thread_end;
    const nbs_model *model;
    struct stage_output *out; /* every stage's content, prebuilt */
    /* Test hooks that make the thread slow, so that tests reach both of the proxy's
     * paths: NBSTAGE_CLASSIFY_LATE_MS sleeps before claiming a job (the proxy then runs
     * it), NBSTAGE_CLASSIFY_DELAY_MS after claiming it (the proxy holds the idle). */
    long late_ms, delay_ms;
    pthread_t thread;
};

struct classify_job *classify_job_new(const char *id, const char *src, size_t len)
{
    struct classify_job *j = malloc(sizeof *j + len + 1); /* the source follows it */
    if (!j) return NULL;
    j->src = (char *)(j + 1);
    memcpy(j->src, src, len);
    j->src[len] = 0;
    j->len = len;
    j->content = NULL;
    size_t n = strnlen(id, sizeof j->id - 1); /* no snprintf: once per executed cell */
    memcpy(j->id, id, n);
    j->id[n] = 0;
    atomic_init(&j->state, JOB_QUEUED);
    atomic_init(&j->refs, 1);
    atomic_init(&j->waiting, 0);
    return j;
}

void classify_job_release(struct classify_job *j)
{
    if (j && atomic_fetch_sub(&j->refs, 1) == 1) {
        free(j->content);
        free(j);
    }
}

int classify_job_claim(struct classify_job *j)
{
    int queued = JOB_QUEUED;
    return atomic_compare_exchange_strong(&j->state, &queued, JOB_CLAIMED);
}

int classify_job_done(const struct classify_job *j)
{
    return atomic_load(&((struct classify_job *)j)->state) == JOB_DONE;
}

const char *classify_job_content(const struct classify_job *j) { return j->content; }

/* With the worker's store of DONE then load of WAITING (worker_main), sequentially
 * consistent both: either this load sees DONE, or the worker sees WAITING and answers. */
int classify_job_wait(struct classify_job *j)
{
    atomic_store(&j->waiting, 1);
    return classify_job_done(j);
}

void classify_worker_run(struct classify_worker *w, struct classify_job *j)
{
    float probs[N_STAGES];
    int stage = model_classify(w->model, j->src, j->len, probs);
    if (stage >= 0 && stage < N_STAGES) j->content = stage_output_text(w->out, stage, probs);
    atomic_store(&j->state, JOB_DONE);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    if (ms > 0) nanosleep(&ts, NULL);
}

static long env_ms(const char *name)
{
    const char *v = getenv(name);
    long ms = v ? strtol(v, NULL, 10) : 0;
    return ms > 0 && ms <= 60000 ? ms : 0;
}

static void *worker_main(void *arg)
{
    struct classify_worker *w = arg;
    for (;;) {
        struct classify_job *j = NULL;
        int n = zmq_recv(w->thread_end, &j, sizeof j, 0);
        if (n != (int)sizeof j || !j) break; /* stop, or the context is gone */
        sleep_ms(w->late_ms);
        if (classify_job_claim(j)) {
            sleep_ms(w->delay_ms);
            classify_worker_run(w, j);
            /* Only a held idle needs the answer; otherwise the proxy finds the job done
             * at the idle, and neither thread is woken for nothing. */
            if (atomic_load(&j->waiting)) zmq_send(w->thread_end, j->id, strlen(j->id), 0);
        }
        classify_job_release(j);
    }
    return NULL;
}

struct classify_worker *classify_worker_start(void *zctx, const nbs_model *m,
                                              const struct stage_display_options *opt,
                                              char *err, size_t errlen)
{
    struct classify_worker *w = calloc(1, sizeof *w);
    if (!w) { snprintf(err, errlen, "out of memory"); return NULL; }
    w->ctx = zctx, w->model = m;
    if (!(w->out = stage_output_new(model_name(m), opt))) {
        snprintf(err, errlen, "out of memory");
        free(w);
        return NULL;
    }
    w->late_ms = env_ms("NBSTAGE_CLASSIFY_LATE_MS");
    w->delay_ms = env_ms("NBSTAGE_CLASSIFY_DELAY_MS");
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://nbstage-classify-%p", (void *)w);
    int zero = 0;
    w->main_end = zmq_socket(zctx, ZMQ_PAIR);
    w->thread_end = zmq_socket(zctx, ZMQ_PAIR);
    if (!w->main_end || !w->thread_end) goto fail;
    void *ends[2] = {w->main_end, w->thread_end};
    for (int i = 0; i < 2; i++) {
        zmq_setsockopt(ends[i], ZMQ_SNDHWM, &zero, sizeof zero);
        zmq_setsockopt(ends[i], ZMQ_RCVHWM, &zero, sizeof zero);
        zmq_setsockopt(ends[i], ZMQ_LINGER, &zero, sizeof zero);
    }
    if (zmq_bind(w->thread_end, ep) || zmq_connect(w->main_end, ep)) goto fail;
    int rc = pthread_create(&w->thread, NULL, worker_main, w);
    if (rc == 0) return w;
    /* pthread_create returns its error; errno is not it */
    snprintf(err, errlen, "classification worker: %s", strerror(rc));
    goto out;
fail:
    snprintf(err, errlen, "classification worker: %s", zmq_strerror(zmq_errno()));
out:
    if (w->main_end) zmq_close(w->main_end);
    if (w->thread_end) zmq_close(w->thread_end);
    stage_output_free(w->out);
    free(w);
    return NULL;
}

void *classify_worker_socket(struct classify_worker *w) { return w->main_end; }

int classify_worker_reads_context(const struct classify_worker *w) { return model_reads_context(w->model); }

int classify_worker_wants(const struct classify_worker *w, size_t len)
{
    /* the test hooks slow the thread down to reach the proxy's paths: every job goes */
    return len > INLINE_MAX_BYTES || w->late_ms || w->delay_ms;
}

int classify_worker_submit(struct classify_worker *w, struct classify_job *j)
{
    atomic_fetch_add(&j->refs, 1); /* the thread's */
    if (zmq_send(w->main_end, &j, sizeof j, 0) == (int)sizeof j) return 0;
    atomic_fetch_sub(&j->refs, 1);
    return -1;
}

int classify_worker_result(struct classify_worker *w, char *id, size_t id_cap)
{
    int n = zmq_recv(w->main_end, id, id_cap - 1, ZMQ_DONTWAIT);
    if (n < 0) return -1;
    id[(size_t)n < id_cap - 1 ? (size_t)n : id_cap - 1] = 0;
    return 0;
}

void classify_worker_stop(struct classify_worker *w)
{
    if (!w) return;
    struct classify_job *stop = NULL;
    zmq_send(w->main_end, &stop, sizeof stop, 0);
    pthread_join(w->thread, NULL);
    zmq_close(w->main_end);
    zmq_close(w->thread_end);
    stage_output_free(w->out);
    free(w);
}
