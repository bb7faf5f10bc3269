/* heartbeat.c — Jupyter's heartbeat passed on to the wrapped kernel's (heartbeat.h). */
#include "kernel/heartbeat.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "nbformat/clock.h"

/* What we send the child's heartbeat to learn it is up: an empty delimiter and PROBE,
 * as a REQ client sends a ping, so that a kernel whose heartbeat is a REP socket (the
 * messaging spec's; ipykernel's is a ROUTER echo) answers it too: a REP drops a
 * request without the delimiter.  No client's ping comes back so: a ROUTER puts its
 * peer's (non-empty) id first. */
static const char PROBE[] = "nbstage-heartbeat-probe";

/* Until it is answered, the probe is sent again this often (ms): one lost (a child
 * that bound its heartbeat late and dropped what came first) must not leave the
 * echo ours for the whole session. */
enum { PROBE_EVERY_MS = 1000 };

struct heartbeat {
    void *client, *child;
    pthread_t thread;
    atomic_int watching;          /* heartbeat_watch was called: probe every second */
    atomic_llong last_answer_ms;  /* nb_now in ms when the child last answered */
    atomic_int answered;          /* it has, once at least */
    atomic_int unanswered;        /* probes sent since its last answer (or the watch) */
};

static long long clock_ms(void) { return (long long)(nb_now() * 1e3); }

enum { MAX_FRAMES = 16 };

/* One message from FROM, into F (its frame count in *N; frames past MAX_FRAMES are
 * read and dropped).  0, or -1 when the context is ending (or any other failure). */
static int recv_message(void *from, zmq_msg_t *f, int *n)
{
    int more = 1;
    *n = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, from, 0) < 0) {
            zmq_msg_close(&m);
            if (zmq_errno() == EINTR) continue;
            for (int i = 0; i < *n; i++) zmq_msg_close(&f[i]);
            *n = 0;
            return -1;
        }
        more = zmq_msg_more(&m);
        if (*n < MAX_FRAMES) f[(*n)++] = m;
        else zmq_msg_close(&m);
    }
    return 0;
}

/* F[0..N) sent on TO without waiting: a peer whose queue is full loses the message
 * (a ROUTER drops it by itself; a DEALER says EAGAIN at the first frame).  The frames
 * are closed either way. */
static void send_message(void *to, zmq_msg_t *f, int n)
{
    int i = 0;
    for (; i < n; i++)
        if (zmq_msg_send(&f[i], to, (i + 1 < n ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0) break;
    for (; i < n; i++) zmq_msg_close(&f[i]);
}

/* The probe on the DEALER to the child (queued until the child binds its heartbeat;
 * the DEALER connects on its own); a full queue drops it, and the next one goes. */
static void probe(void *child)
{
    if (zmq_send(child, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0)
        zmq_send(child, PROBE, sizeof PROBE - 1, ZMQ_DONTWAIT);
}

static int is_probe(zmq_msg_t *f, int n)
{
    return n == 2 && zmq_msg_size(&f[0]) == 0 && zmq_msg_size(&f[1]) == sizeof PROBE - 1 &&
           memcmp(zmq_msg_data(&f[1]), PROBE, sizeof PROBE - 1) == 0;
}

static void *run(void *arg)
{
    struct heartbeat *h = arg;
    int ready = 0; /* the child's heartbeat has answered the probe */
    probe(h->child);
    double next_probe = nb_now() + PROBE_EVERY_MS / 1e3;
    zmq_pollitem_t items[2] = {{h->client, 0, ZMQ_POLLIN, 0}, {h->child, 0, ZMQ_POLLIN, 0}};
    zmq_msg_t f[MAX_FRAMES];
    int n;
    for (;;) {
        /* by the clock, not by a quiet poll: a client pings every second too.  Once
         * ready, a wake-up a second still, to see whether the proxy asked to watch
         * (heartbeat_watch): one cheap wake-up, where a socket to be told would be a
         * third to serve. */
        long wait_ms = PROBE_EVERY_MS;
        if (!ready || atomic_load_explicit(&h->watching, memory_order_relaxed)) {
            double left = next_probe - nb_now();
            if (left <= 0) {
                probe(h->child);
                atomic_fetch_add_explicit(&h->unanswered, 1, memory_order_relaxed);
                next_probe = nb_now() + PROBE_EVERY_MS / 1e3;
                left = PROBE_EVERY_MS / 1e3;
            }
            wait_ms = (long)(left * 1e3) + 1;
        }
        if (zmq_poll(items, 2, wait_ms) < 0) {
            if (zmq_errno() == EINTR) continue;
            break; /* ETERM: the context is shut down */
        }
        if (items[0].revents & ZMQ_POLLIN) {
            if (recv_message(h->client, f, &n)) break;
            send_message(ready ? h->child : h->client, f, n); /* on, or echoed while it starts */
        }
        if (items[1].revents & ZMQ_POLLIN) {
            if (recv_message(h->child, f, &n)) break;
            atomic_store_explicit(&h->last_answer_ms, clock_ms(), memory_order_relaxed);
            atomic_store_explicit(&h->answered, 1, memory_order_relaxed);
            atomic_store_explicit(&h->unanswered, 0, memory_order_relaxed);
            if (is_probe(f, n)) { /* the first answer, or a later one to a probe sent again */
                ready = 1;
                for (int i = 0; i < n; i++) zmq_msg_close(&f[i]);
            } else {
                send_message(h->client, f, n);
            }
        }
    }
    int zero = 0;
    zmq_setsockopt(h->client, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(h->child, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(h->client);
    zmq_close(h->child);
    return NULL;
}

struct heartbeat *heartbeat_start(void *client, void *child, char *err, size_t errlen)
{
    struct heartbeat *h = malloc(sizeof *h);
    if (!h) {
        snprintf(err, errlen, "heartbeat: out of memory");
        return NULL;
    }
    h->client = client;
    h->child = child;
    atomic_init(&h->watching, 0);
    atomic_init(&h->answered, 0);
    atomic_init(&h->unanswered, 0);
    atomic_init(&h->last_answer_ms, clock_ms());
    int rc = pthread_create(&h->thread, NULL, run, h);
    if (rc) { /* returned: errno is not it */
        snprintf(err, errlen, "heartbeat thread: %s", strerror(rc));
        free(h);
        return NULL;
    }
    return h;
}

void heartbeat_join(struct heartbeat *hb)
{
    if (!hb) return;
    pthread_join(hb->thread, NULL);
    free(hb);
}

void heartbeat_watch(struct heartbeat *hb)
{
    if (!hb || atomic_load(&hb->watching)) return;
    atomic_store(&hb->last_answer_ms, clock_ms()); /* the quiet is counted from now */
    atomic_store(&hb->unanswered, 0);
    atomic_store(&hb->watching, 1);
}

long long heartbeat_quiet_ms(struct heartbeat *hb)
{
    if (!hb || !atomic_load(&hb->answered)) return 0; /* a heartbeat that never answered says nothing */
    /* Silence is only what probes actually sent went unanswered: time that passed
     * while we were not running (our process SIGSTOPped, a cgroup frozen: `docker
     * pause`) sent none, and must not count, or the check made first thing after the
     * thaw, before the probe it prompts is answered, would take a healthy child for a
     * stuck one. */
    long long quiet = clock_ms() - atomic_load(&hb->last_answer_ms);
    long long probed = (long long)atomic_load(&hb->unanswered) * PROBE_EVERY_MS;
    return quiet < probed ? quiet : probed;
}
