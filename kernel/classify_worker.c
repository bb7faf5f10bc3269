/* classify_worker.c — the classification thread (see classify_worker.h).
 *
 * A job is two frames [msg_id, source]; an answer is [msg_id, content-json or empty].
 * An empty msg_id asks the thread to stop.
 */
#include "kernel/classify_worker.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

struct classify_worker {
    void *ctx, *main_end, *thread_end;
    const nbs_model *model;
    const struct stage_display_options *opt;
    long delay_ms; /* NBSTAGE_CLASSIFY_DELAY_MS: a test hook that makes the model slow, so
                    * that tests reach the proxy's held-idle path */
    pthread_t thread;
};

static char *recv_frame(void *sock, size_t *len, int *more)
{
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, sock, 0) < 0) { zmq_msg_close(&m); return NULL; }
    *len = zmq_msg_size(&m);
    *more = zmq_msg_more(&m);
    char *s = malloc(*len + 1);
    if (s) { memcpy(s, zmq_msg_data(&m), *len); s[*len] = 0; }
    zmq_msg_close(&m);
    return s;
}

static char *classify(const struct classify_worker *w, const char *src, size_t len)
{
    float probs[N_STAGES];
    int stage = model_classify(w->model, src, len, probs);
    if (stage < 0 || stage >= N_STAGES) return NULL;
    json_t *content = stage_output_content(stage, probs, model_name(w->model), w->opt);
    if (!content) return NULL;
    char *text = json_dumps(content, JSON_COMPACT);
    json_decref(content);
    return text;
}

static void *worker_main(void *arg)
{
    struct classify_worker *w = arg;
    for (;;) {
        size_t id_len = 0, src_len = 0;
        int more = 0;
        char *id = recv_frame(w->thread_end, &id_len, &more), *src = NULL;
        if (id && more) src = recv_frame(w->thread_end, &src_len, &more);
        while (more) { /* a job has two frames; drop any surplus */
            size_t l;
            free(recv_frame(w->thread_end, &l, &more));
        }
        if (!id || id_len == 0) { free(id); free(src); break; }
        if (w->delay_ms > 0) {
            struct timespec ts = {w->delay_ms / 1000, (w->delay_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
        char *content = src ? classify(w, src, src_len) : NULL;
        zmq_send(w->thread_end, id, id_len, ZMQ_SNDMORE);
        zmq_send(w->thread_end, content ? content : "", content ? strlen(content) : 0, 0);
        free(content);
        free(id);
        free(src);
    }
    return NULL;
}

struct classify_worker *classify_worker_start(void *zctx, const nbs_model *m,
                                              const struct stage_display_options *opt,
                                              char *err, size_t errlen)
{
    struct classify_worker *w = calloc(1, sizeof *w);
    if (!w) { snprintf(err, errlen, "out of memory"); return NULL; }
    w->ctx = zctx, w->model = m, w->opt = opt;
    const char *delay = getenv("NBSTAGE_CLASSIFY_DELAY_MS");
    if (delay) w->delay_ms = strtol(delay, NULL, 10);
    if (w->delay_ms < 0 || w->delay_ms > 60000) w->delay_ms = 0;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://nbstage-classify-%p", (void *)w);
    int zero = 0;
    w->main_end = zmq_socket(zctx, ZMQ_PAIR);
    w->thread_end = zmq_socket(zctx, ZMQ_PAIR);
    if (!w->main_end || !w->thread_end) goto fail;
    zmq_setsockopt(w->main_end, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(w->main_end, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(w->thread_end, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(w->thread_end, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(w->main_end, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(w->thread_end, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(w->thread_end, ep) || zmq_connect(w->main_end, ep)) goto fail;
    if (pthread_create(&w->thread, NULL, worker_main, w)) goto fail;
    return w;
fail:
    snprintf(err, errlen, "classification worker: %s", zmq_strerror(zmq_errno()));
    if (w->main_end) zmq_close(w->main_end);
    if (w->thread_end) zmq_close(w->thread_end);
    free(w);
    return NULL;
}

void *classify_worker_socket(struct classify_worker *w) { return w->main_end; }

int classify_worker_submit(struct classify_worker *w, const char *id, size_t id_len,
                           const char *code, size_t code_len)
{
    if (id_len == 0) return -1; /* reserved: stop */
    if (zmq_send(w->main_end, id, id_len, ZMQ_SNDMORE) < 0) return -1;
    return zmq_send(w->main_end, code, code_len, 0) < 0 ? -1 : 0;
}

int classify_worker_result(struct classify_worker *w, char *id, size_t id_cap, char **content)
{
    zmq_msg_t a, b;
    zmq_msg_init(&a);
    if (zmq_msg_recv(&a, w->main_end, ZMQ_DONTWAIT) < 0) { zmq_msg_close(&a); return -1; }
    size_t n = zmq_msg_size(&a) < id_cap - 1 ? zmq_msg_size(&a) : id_cap - 1;
    memcpy(id, zmq_msg_data(&a), n);
    id[n] = 0;
    int more = zmq_msg_more(&a);
    zmq_msg_close(&a);
    *content = NULL;
    if (!more) return 0;
    zmq_msg_init(&b);
    if (zmq_msg_recv(&b, w->main_end, 0) >= 0 && zmq_msg_size(&b) > 0) {
        *content = malloc(zmq_msg_size(&b) + 1);
        if (*content) {
            memcpy(*content, zmq_msg_data(&b), zmq_msg_size(&b));
            (*content)[zmq_msg_size(&b)] = 0;
        }
    }
    zmq_msg_close(&b);
    return 0;
}

void classify_worker_stop(struct classify_worker *w)
{
    if (!w) return;
    zmq_send(w->main_end, "", 0, ZMQ_SNDMORE);
    zmq_send(w->main_end, "", 0, 0);
    pthread_join(w->thread, NULL);
    zmq_close(w->main_end);
    zmq_close(w->thread_end);
    free(w);
}
