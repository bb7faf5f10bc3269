/* proxy.c — the relay loop between Jupyter and the wrapped kernel (see proxy.h).
 *
 * One thread polls everything (poll(2) on the sockets' ZMQ_FDs, see proxy_run); the
 * heartbeat is echoed by zmq_proxy in its own thread.  An execute_request is forwarded
 * first and read after (its code in place when it is a plain string), so the child
 * never waits for us; short cells are then classified here, while the child starts on
 * them, longer ones in kernel/classify_worker.c.  Frames are moved as zmq_msg_t
 * from one socket to the other, so what is forwarded is what was received, byte for
 * byte; only the stage output and the readiness nudges are built and signed here,
 * and a connect_reply edited (the child names its private ports).
 *
 * IOPub ordering: the tag must reach clients after the child's `execute_input` for its
 * request (a request the child aborts publishes none, and gets no tag) and before the
 * child's `status: idle` for it (nbclient stops collecting at the first idle).
 * With --tag-position top (the default) the tag goes out as soon as both the
 * execute_input has been relayed and the cell is classified: for a short cell, that is
 * right after the execute_input, while the child runs the cell, so that neither our
 * building of the tag nor the client's reading of it delays the idle, and the tag is
 * the cell's first output.  A `clear_output` for the request after that takes the tag
 * away in every frontend, so then it goes out again before the idle (one with
 * wait=True does so at the next output only, and is held back until the child's next
 * message, so that the tag does not become that output: see iopub_route); but while an
 * ipywidgets Output widget captures the request's outputs (`with out:`), they go to the
 * widget, a clear included, so then a clear is ignored and a tag waits for the capture
 * to end.  With bottom the tag goes out at the idle, after the cell's other outputs.
 * Either way, when the idle arrives before the cell is classified, it is held, and so
 * is every iopub message after it, until the answer comes; the queue is empty
 * otherwise.  The tag message is built and signed as soon as the cell is classified
 * (for a short cell, before the child's execute_input is in), so at publication it
 * follows the message before it at once, and the zmq IO thread mostly takes both in
 * one wake-up.
 */
#include "kernel/proxy.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "kernel/classify_worker.h"
#include "kernel/replay.h"
#include "kernel/wire.h"
#include "nbformat/pysrc.h"

#define NUDGE_PREFIX "nbstage-nudge-"
#define NUDGE_EVERY_MS 200
#define EXIT_GRACE_MS 3000 /* after the shutdown_reply, for the child to exit by itself */
#define BATCH 256          /* messages taken from one socket per poll round */

/* One multipart message, frames owned. */
struct mpart {
    zmq_msg_t *f;
    size_t n, cap;
};

struct qnode {
    struct mpart m;
    struct qnode *next;
};

/* An execute_request being classified, until its idle has been relayed. */
struct pending {
    char id[128];             /* the request's msg_id */
    char *header;             /* the request's header frame, verbatim: the tag's parent_header */
    struct classify_job *job; /* our reference */
    int started;              /* the child published execute_input (aborted requests are not) */
    int held;                 /* its idle waits at the front of the queue */
    int published;            /* its tag is out (early publication), not cleared since */
    int clear_wait;           /* a clear_output(wait=True) of it is out, no output since */
    int captured;             /* ipywidgets Output widgets capturing its outputs now */
    /* The tag message, built as soon as the cell is classified (tag_build), so that it
     * follows the execute_input (or precedes the idle) without a pause for the IO
     * thread to wake up twice: header in tag_header, or tag_slow when that is short. */
    int tag_ready;
    char tag_header[512], tag_sig[WIRE_SIG_HEX_MAX + 1];
    char *tag_slow;
};

/* The sockets the loop reads, in the order it serves them: the child's output first
 * (replies and idles before new requests), then the worker's answers, then clients. */
enum { P_K_IOPUB, P_K_SHELL, P_K_CONTROL, P_K_STDIN, P_WORKER, P_C_SHELL, P_C_CONTROL,
       P_C_STDIN, N_POLLED };

struct proxy {
    const struct proxy_config *cfg;
    struct wire_key key;
    struct replay_set *seen; /* signatures let through (NULL: empty key, nothing signed) */
    void *ctx;
    void *c_shell, *c_control, *c_stdin, *c_iopub, *c_hb; /* Jupyter's side */
    void *k_shell, *k_control, *k_stdin, *k_iopub;        /* the child's side */
    struct classify_worker *worker;
    int early; /* --tag-position top: publish each tag as soon as it may go out */
    pthread_t hb_thread;
    int hb_started;
    int ready; /* the child's iopub has answered a nudge */
    unsigned nudges;
    char session[128], username[128], version[16];
    char *th;                       /* the tag header template (tag_header_fast) */
    size_t th_len, th_id, th_date;  /* its length, where msg_id and date go */
    struct pending *pend;
    size_t n_pend, cap_pend;
    unsigned clear_waits;     /* entries with clear_wait set: outputs are then looked at */
    struct mpart wclear;      /* a clear_output(wait=True) held back (iopub_route) ... */
    char wclear_id[128];      /* ... of this request */
    int in_input;             /* the child asked for input, no answer or idle since */
    struct qnode *qhead, *qtail;
    struct mpart cur;
    struct wire_frame *views;
    size_t views_cap;
    int shutdown_requested, exiting;
    long long exit_deadline;
    unsigned long n_bad[2]; /* malformed; badly signed or replayed */
    void *polled[N_POLLED];
    int polled_fd[N_POLLED]; /* ZMQ_FD of each */
    /* 1: the socket may hold messages its ZMQ_FD will not announce, so it is read (to
     * EAGAIN) before the loop sleeps.  See proxy_run. */
    int dirty[N_POLLED];
};

/* Marks SOCK to be read before the next sleep: sending on a zmq socket may process its
 * pending commands, and with them consume the signal of a message that has come in. */
static void touch(struct proxy *px, void *sock)
{
    for (int i = 0; i < N_POLLED; i++)
        if (px->polled[i] == sock) px->dirty[i] = 1;
}

static void logmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("nbstage-kernel: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- multipart messages ---------------------------------------------------------- */

static void mpart_close(struct mpart *m)
{
    for (size_t i = 0; i < m->n; i++) zmq_msg_close(&m->f[i]);
    m->n = 0;
}

static void mpart_free(struct mpart *m)
{
    mpart_close(m);
    free(m->f);
    m->f = NULL;
    m->cap = 0;
}

/* 1: a whole message received into M (emptied first); 0: none waiting; -1: error. */
static int mpart_recv(void *sock, struct mpart *m)
{
    mpart_close(m);
    for (;;) {
        if (m->n == m->cap) {
            size_t cap = m->cap ? 2 * m->cap : 16;
            zmq_msg_t *f = realloc(m->f, cap * sizeof *f);
            if (!f) { mpart_close(m); return -1; }
            m->f = f, m->cap = cap;
        }
        zmq_msg_t *part = &m->f[m->n];
        zmq_msg_init(part);
        if (zmq_msg_recv(part, sock, m->n ? 0 : ZMQ_DONTWAIT) < 0) {
            int e = zmq_errno();
            zmq_msg_close(part);
            mpart_close(m);
            return e == EAGAIN ? 0 : -1;
        }
        m->n++;
        if (!zmq_msg_more(part)) return 1;
    }
}

/* Sends every frame of M (zmq takes them); M is empty afterwards.  0 or -1. */
static int mpart_send(void *sock, struct mpart *m)
{
    int rc = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (rc == 0 && zmq_msg_send(&m->f[i], sock, i + 1 < m->n ? ZMQ_SNDMORE : 0) < 0)
            rc = -1;
        if (rc) zmq_msg_close(&m->f[i]);
    }
    m->n = 0;
    return rc;
}

/* Views of M's frames in px->views; -1 when out of memory. */
static int mpart_views(struct proxy *px, struct mpart *m)
{
    if (m->n > px->views_cap) {
        struct wire_frame *v = realloc(px->views, m->n * sizeof *v);
        if (!v) return -1;
        px->views = v, px->views_cap = m->n;
    }
    for (size_t i = 0; i < m->n; i++)
        px->views[i] = (struct wire_frame){zmq_msg_data(&m->f[i]), zmq_msg_size(&m->f[i])};
    return 0;
}

static json_t *frame_json(const struct wire_frame *f)
{
    return json_loadb((const char *)f->data, f->len, 0, NULL);
}

/* A string member of a JSON frame, copied into OUT (empty when absent).  On every
 * relayed message: the light scanner first, jansson only for what it leaves. */
static void frame_string(const struct wire_frame *f, const char *key, char *out, size_t cap)
{
    if (wire_json_string(f, key, out, cap) >= 0) return;
    out[0] = 0;
    json_t *j = frame_json(f);
    json_t *v = json_object_get(j, key);
    if (json_is_string(v)) { /* on every relayed header: no printf machinery */
        size_t n = json_string_length(v) < cap - 1 ? json_string_length(v) : cap - 1;
        memcpy(out, json_string_value(v), n);
        out[n] = 0;
    }
    json_decref(j);
}

static void count_bad(struct proxy *px, int kind, const char *chan, const char *what)
{
    unsigned long n = ++px->n_bad[kind];
    if (n <= 20 || n % 1000 == 0)
        logmsg("%s message on %s dropped (%lu so far)", what, chan, n);
}

/* ---- iopub: the queue and the stage tag ------------------------------------------ */

static struct pending *pending_find(struct proxy *px, const char *id)
{
    for (size_t i = 0; i < px->n_pend; i++)
        if (strcmp(px->pend[i].id, id) == 0) return &px->pend[i];
    return NULL;
}

static void pending_remove(struct proxy *px, struct pending *p)
{
    if (p->clear_wait) px->clear_waits--;
    free(p->header);
    free(p->tag_slow);
    classify_job_release(p->job);
    *p = px->pend[--px->n_pend];
}

/* 1 when P's tag is ready: the worker has run the job, or it had not started on it and
 * we ran it here rather than wait for the thread to be scheduled. */
static int tag_ready(struct proxy *px, struct pending *p)
{
    if (classify_job_done(p->job)) return 1;
    if (!classify_job_claim(p->job)) /* the worker is on it right now */
        return classify_job_wait(p->job);
    classify_worker_run(px->worker, p->job);
    return 1;
}

/* The header of a tag: the child's session, username and version, a fresh msg_id and
 * the date.  NULL when out of memory (or the session is not UTF-8). */
static char *tag_header_json(const struct proxy *px, const char *id, const char *date)
{
    json_t *h = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "msg_id", id, "msg_type", "display_data",
                          "session", px->session, "username", px->username, "date", date,
                          "version", px->version[0] ? px->version : "5.3");
    char *hs = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    return hs;
}

/* Tag headers differ only in msg_id and date, both of fixed length: the header is
 * built once with placeholders and each tag's copy patched in place (packing and
 * dumping a JSON tree per tag was a tenth of the tag's CPU). */
#define ID_PLACEHOLDER "00000000000000000000000000000000"
#define DATE_PLACEHOLDER "0000-00-00T00:00:00.000000Z"

static void tag_header_forget(struct proxy *px)
{
    free(px->th);
    px->th = NULL;
}

/* Fills OUT (CAP bytes) with a tag header; -1 when there is no template or it does
 * not fit. */
static int tag_header_fast(struct proxy *px, const char *id, const char *date, char *out,
                           size_t cap)
{
    if (!px->th) {
        char *t = tag_header_json(px, ID_PLACEHOLDER, DATE_PLACEHOLDER);
        char *i = t ? strstr(t, "\"msg_id\":\"" ID_PLACEHOLDER "\"") : NULL;
        char *d = t ? strstr(t, "\"date\":\"" DATE_PLACEHOLDER "\"") : NULL;
        if (!i || !d) { free(t); return -1; }
        px->th = t, px->th_len = strlen(t);
        px->th_id = (size_t)(i - t) + 10, px->th_date = (size_t)(d - t) + 8;
    }
    if (px->th_len >= cap || strlen(id) != sizeof ID_PLACEHOLDER - 1 ||
        strlen(date) != sizeof DATE_PLACEHOLDER - 1)
        return -1;
    memcpy(out, px->th, px->th_len + 1);
    memcpy(out + px->th_id, id, sizeof ID_PLACEHOLDER - 1);
    memcpy(out + px->th_date, date, sizeof DATE_PLACEHOLDER - 1);
    return 0;
}

/* Builds P's tag message (header, signature) for publish_tag to send; -1 when out of
 * memory.  P's cell must be classified, with something to show. */
static int tag_build(struct proxy *px, struct pending *p)
{
    if (p->tag_ready) return 0;
    char id[40], date[32];
    wire_new_id(id, sizeof id, NULL);
    wire_now_iso(date);
    free(p->tag_slow);
    p->tag_slow = NULL;
    const char *h = p->tag_header;
    if (tag_header_fast(px, id, date, p->tag_header, sizeof p->tag_header)) { /* a long session */
        if (!(p->tag_slow = tag_header_json(px, id, date))) return -1;
        h = p->tag_slow;
    }
    struct wire_frame fr[6];
    wire_build(&px->key, h, p->header, "{}", classify_job_content(p->job), p->tag_sig, fr);
    p->tag_ready = 1;
    return 0;
}

/* Builds P's tag ahead of its publication, once its cell is classified. */
static void tag_prepare(struct proxy *px, struct pending *p)
{
    if (classify_job_done(p->job) && classify_job_content(p->job)) tag_build(px, p);
}

static void publish_tag(struct proxy *px, struct pending *p)
{
    if (!p->started || !classify_job_done(p->job)) return;
    const char *content = classify_job_content(p->job);
    if (!content) return; /* below the minimum confidence, or no stage */
    if (tag_build(px, p)) { logmsg("out of memory: stage output not published"); return; }
    static const char topic[] = "kernel.nbstage.display_data";
    const char *h = p->tag_slow ? p->tag_slow : p->tag_header;
    const char *part[7] = {topic, WIRE_DELIM, p->tag_sig, h, p->header, "{}", content};
    for (int i = 0; i < 7; i++)
        zmq_send(px->c_iopub, part[i], strlen(part[i]), i < 6 ? ZMQ_SNDMORE : 0);
    p->tag_ready = 0; /* sent again (after a clear_output), it is a new message */
    if (p->clear_wait) { /* a waiting clear_output is done by the tag's arrival */
        p->clear_wait = 0;
        px->clear_waits--;
    }
}

/* Sends the clear_output(wait=True) held back by iopub_route, if any: from now on the
 * frontends clear the cell's outputs at its next one. */
static void clear_release(struct proxy *px)
{
    if (!px->wclear.n) return;
    mpart_send(px->c_iopub, &px->wclear);
    struct pending *p = pending_find(px, px->wclear_id);
    if (p && !p->clear_wait) {
        p->clear_wait = 1;
        px->clear_waits++;
    }
}

/* Early publication: P's tag now, when its execute_input is out and its cell is
 * classified; otherwise the worker is asked to answer when it is done (handle_worker).
 * Only for a request whose idle has not been relayed. */
static void publish_early(struct proxy *px, struct pending *p)
{
    if (!px->early || p->published || !p->started || p->held || p->captured) return;
    if (!classify_job_done(p->job) && !classify_job_wait(p->job)) return;
    publish_tag(px, p);
    p->published = 1;
    if (px->wclear.n && strcmp(px->wclear_id, p->id) == 0) clear_release(px); /* after the tag */
}

enum { IOPUB_SENT, IOPUB_HELD };

/* How a comm_msg (CONTENT) changes the number of ipywidgets Output widgets capturing
 * the outputs of request ID: +1 when one starts (`with out:` sets the widget's msg_id
 * to the request's), -1 when one stops (msg_id ""), else 0.  While one captures, the
 * frontend puts the request's outputs, a clear_output included, into the widget, not
 * the cell: a tag published then would land in the widget, and a clear then does not
 * take the cell's tag away. */
static int capture_change(const struct wire_frame *content, const char *id)
{
    size_t off, len;
    if (wire_json_member(content, "data", &off, &len) != 1) return 0;
    struct wire_frame data = {content->data + off, len};
    if (wire_json_member(&data, "state", &off, &len) != 1) return 0;
    struct wire_frame state = {data.data + off, len};
    char v[128];
    if (wire_json_string(&state, "msg_id", v, sizeof v) != 1) return 0;
    return !v[0] ? -1 : strcmp(v, id) == 0 ? 1 : 0;
}

/* 1 for the messages a frontend adds to a cell's outputs, and so clears them before
 * when a clear_output(wait=True) waits (nbclient's output(), Notebook's append_output). */
static int is_output(const char *type)
{
    return strcmp(type, "stream") == 0 || strcmp(type, "display_data") == 0 ||
           strcmp(type, "execute_result") == 0 || strcmp(type, "error") == 0;
}

/* Relays one child iopub message (taken from M), holding an idle whose tag is not
 * ready yet.  Assumes the queue is empty.
 *
 * A clear_output(wait=True) clears a cell's outputs only when the next one arrives,
 * and the tag sent at the idle (bottom, or top after a clear took the early tag away)
 * would be that one: a cell ending with `print(x); clear_output(wait=True)` would lose
 * the x that ipykernel alone leaves on show.  So such a clear, when the cell's tag is
 * not on show, is held back until the child's next message: then it goes out first,
 * unless that is the cell's idle with a tag to send, which goes out before the clear.
 * What the frontends show is unchanged by the wait, since the clear acts at the next
 * output in any case; but not while the child waits for input (JupyterLab adds the
 * answer to the outputs, and the child says nothing before it), so then none is held.
 * Costs nothing per message but a test, and a look at the parent of outputs while
 * some waiting clear is out (to know the tag was cleared). */
static int iopub_route(struct proxy *px, struct mpart *m)
{
    struct wire_parts wp;
    if (px->n_pend == 0 || mpart_views(px, m) || wire_split(px->views, m->n, &wp)) {
        clear_release(px);
        mpart_send(px->c_iopub, m);
        return IOPUB_SENT;
    }
    char type[64];
    frame_string(&px->views[wp.header], "msg_type", type, sizeof type);
    int idle = 0, input = strcmp(type, "execute_input") == 0;
    int cleared = strcmp(type, "clear_output") == 0;
    int comm = px->early && strcmp(type, "comm_msg") == 0;
    int output = px->clear_waits && is_output(type);
    if (strcmp(type, "status") == 0) {
        char state[16];
        frame_string(&px->views[wp.header + 3], "execution_state", state, sizeof state);
        idle = strcmp(state, "idle") == 0;
    }
    struct pending *p = NULL;
    if (idle || input || cleared || comm || output) {
        char parent[128];
        frame_string(&px->views[wp.header + 1], "msg_id", parent, sizeof parent);
        p = pending_find(px, parent);
    }
    /* a held clear goes first, but after the tag its request's idle brings */
    if (px->wclear.n && !(p && idle && strcmp(px->wclear_id, p->id) == 0)) clear_release(px);
    if (p && input) {
        p->started = 1;
        mpart_send(px->c_iopub, m); /* the tag goes after it */
        publish_early(px, p);
        return IOPUB_SENT;
    }
    if (p && comm) {
        int d = capture_change(&px->views[wp.header + 3], p->id);
        p->captured = p->captured + d > 0 ? p->captured + d : 0;
        if (d < 0 && !p->captured) { /* the cell's own outputs again: the tag may go */
            mpart_send(px->c_iopub, m);
            publish_early(px, p);
            return IOPUB_SENT;
        }
    }
    if (p && output && p->clear_wait && !p->captured) { /* the waiting clear is done now */
        p->clear_wait = 0;
        px->clear_waits--;
        p->published = 0; /* and took the tag with it */
    }
    /* the tag goes with the outputs: again at idle (not when a widget takes the clear) */
    if (p && cleared && !p->captured) {
        const struct wire_frame *c = &px->views[wp.header + 3];
        size_t off, len;
        int r = wire_json_member(c, "wait", &off, &len), waits;
        if (r >= 0) {
            waits = r == 1 && len == 4 && memcmp(c->data + off, "true", 4) == 0;
        } else { /* what the light scanner leaves */
            json_t *j = frame_json(c);
            waits = json_is_true(json_object_get(j, "wait"));
            json_decref(j);
        }
        if (!waits) {
            p->published = 0;
            if (p->clear_wait) p->clear_wait = 0, px->clear_waits--;
        } else if (!p->published && !px->in_input) { /* held back: see above */
            mpart_free(&px->wclear); /* sent (empty) by the clear_release above */
            px->wclear = *m;
            *m = (struct mpart){0};
            memcpy(px->wclear_id, p->id, sizeof p->id);
            return IOPUB_SENT;
        } else if (!p->clear_wait) {
            p->clear_wait = 1;
            px->clear_waits++;
        }
    }
    if (p && idle && p->published) {
        pending_remove(px, p);
    } else if (p && idle) {
        /* an aborted request (never started) gets no tag */
        if (p->started && !tag_ready(px, p)) {
            p->held = 1;
            struct qnode *q = malloc(sizeof *q);
            if (q) { /* hold: the front of the queue */
                q->m = *m;
                *m = (struct mpart){0};
                q->next = px->qhead;
                px->qhead = q;
                if (!px->qtail) px->qtail = q;
                return IOPUB_HELD;
            }
            logmsg("out of memory: an idle went out untagged");
        } else {
            publish_tag(px, p);
        }
        clear_release(px);
        pending_remove(px, p);
        px->in_input = 0; /* an input request ends with its request at the latest */
    }
    mpart_send(px->c_iopub, m);
    return IOPUB_SENT;
}

/* Takes M: queues it behind a held idle, or routes it. */
static void iopub_emit(struct proxy *px, struct mpart *m)
{
    if (!px->qhead) { iopub_route(px, m); return; }
    struct qnode *q = malloc(sizeof *q);
    if (!q) { logmsg("out of memory: iopub message lost"); mpart_close(m); return; }
    q->m = *m;
    *m = (struct mpart){0};
    q->next = NULL;
    px->qtail->next = q;
    px->qtail = q;
}

/* After the held idle's answer: publish its tag, then let the queue go until the
 * next idle that must wait. */
static void iopub_release(struct proxy *px, struct pending *p)
{
    publish_tag(px, p);
    clear_release(px); /* a wait-clear held back for P goes after its tag */
    pending_remove(px, p);
    px->in_input = 0;
    while (px->qhead) {
        struct qnode *q = px->qhead;
        px->qhead = q->next;
        if (!px->qhead) px->qtail = NULL;
        struct mpart m = q->m;
        free(q);
        int held = iopub_route(px, &m);
        mpart_free(&m);
        if (held == IOPUB_HELD) break;
    }
}

/* At the end: whatever waits in the queue goes out as it is. */
static void iopub_flush(struct proxy *px)
{
    clear_release(px);
    while (px->qhead) {
        struct qnode *q = px->qhead;
        px->qhead = q->next;
        mpart_send(px->c_iopub, &q->m);
        mpart_free(&q->m);
        free(q);
    }
    px->qtail = NULL;
}

static int handle_worker(struct proxy *px)
{
    char id[128];
    while (classify_worker_result(px->worker, id, sizeof id) == 0) {
        struct pending *p = pending_find(px, id);
        if (!p || !classify_job_done(p->job)) continue;
        if (p->held) iopub_release(px, p);
        else publish_early(px, p); /* its idle is not out yet, wherever it waits */
    }
    return 1; /* read to EAGAIN */
}

/* ---- the readiness nudge ------------------------------------------------------------- */

static void nudge(struct proxy *px)
{
    char id[64], date[32], sig[WIRE_SIG_HEX_MAX + 1];
    wire_new_id(id, sizeof id, NUDGE_PREFIX);
    wire_now_iso(date);
    json_t *h = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "msg_id", id, "msg_type",
                          "kernel_info_request", "session", "nbstage-kernel", "username",
                          "nbstage", "date", date, "version", "5.3");
    char *hs = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    if (!hs) return;
    struct wire_frame fr[6];
    wire_build(&px->key, hs, "{}", "{}", "{}", sig, fr);
    for (int i = 0; i < 6; i++)
        zmq_send(px->k_shell, fr[i].data, fr[i].len, (i < 5 ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
    free(hs);
    px->nudges++;
    touch(px, px->k_shell);
}

/* ---- relaying ------------------------------------------------------------------------- */

/* The code of an execute_request's content C when it may be classified: not silent,
 * not blank.  Read in place when "code" is a plain ASCII string without escapes and
 * "silent" a literal (every `pass`-like cell: no JSON tree); otherwise through jansson,
 * and then *TREE holds what SRC points into (the caller's to free). */
static const char *request_code(const struct wire_frame *c, size_t *len, json_t **tree)
{
    *tree = NULL;
    size_t off, n, soff, sn;
    int has_code = wire_json_member(c, "code", &off, &n);
    int has_silent = has_code == 1 ? wire_json_member(c, "silent", &soff, &sn) : -1;
    if (has_code == 1 && has_silent >= 0 && n >= 2 && c->data[off] == '"') {
        const unsigned char *v = c->data + off + 1;
        size_t k = 0;
        while (k < n - 2 && v[k] >= 0x20 && v[k] < 0x7f && v[k] != '\\' && v[k] != '"') k++;
        int literal = has_silent == 0 || (sn == 4 && memcmp(c->data + soff, "true", 4) == 0) ||
                      (sn == 5 && memcmp(c->data + soff, "false", 5) == 0);
        if (k == n - 2 && literal) {
            if (has_silent == 1 && sn == 4) return NULL; /* silent: true */
            *len = k;
            return pysrc_is_blank((const char *)v, k) ? NULL : (const char *)v;
        }
    }
    /* A NUL in the code (\u0000) is kept, as the notebook reader keeps it (nbread.c):
     * without JSON_ALLOW_NUL jansson refuses the whole content, and a cell that the
     * child starts (execute_input) would go untagged. */
    json_t *content = json_loadb((const char *)c->data, c->len, JSON_ALLOW_NUL, NULL);
    json_t *code = json_object_get(content, "code");
    const char *src = json_string_value(code);
    *len = json_string_length(code);
    if (!src || json_is_true(json_object_get(content, "silent")) || pysrc_is_blank(src, *len)) {
        json_decref(content);
        return NULL;
    }
    *tree = content;
    return src;
}

/* An execute_request (HEADER and CONTENT frames) with real code: remember it and hand
 * its source to the worker; or, for a short cell, return its entry, whose job
 * (unclaimed) the caller runs. */
static struct pending *maybe_classify(struct proxy *px, const struct wire_frame *h,
                                      const struct wire_frame *c)
{
    struct pending *inline_p = NULL;
    json_t *tree;
    size_t len;
    const char *src = request_code(c, &len, &tree);
    if (src) {
        char id[128];
        frame_string(h, "msg_id", id, sizeof id);
        if (id[0] && !pending_find(px, id)) {
            if (px->n_pend == px->cap_pend) {
                size_t cap = px->cap_pend ? 2 * px->cap_pend : 16;
                struct pending *np = realloc(px->pend, cap * sizeof *np);
                if (np) px->pend = np, px->cap_pend = cap;
            }
            char *hcopy = malloc(h->len + 1);
            struct classify_job *job = classify_job_new(id, src, len);
            if (px->n_pend < px->cap_pend && hcopy && job) {
                memcpy(hcopy, h->data, h->len);
                hcopy[h->len] = 0;
                struct pending *p = &px->pend[px->n_pend++];
                memset(p, 0, sizeof *p);
                memcpy(p->id, id, strlen(id) + 1); /* both 128 bytes */
                p->header = hcopy;
                p->job = job;
                if (!classify_worker_wants(px->worker, len)) {
                    inline_p = p;
                } else {
                    /* Should the queue refuse it, the job stays unclaimed and runs here
                     * at the cell's idle. */
                    classify_worker_submit(px->worker, job);
                    touch(px, classify_worker_socket(px->worker));
                }
            } else {
                free(hcopy);
                classify_job_release(job);
                logmsg("out of memory; cell not tagged");
            }
        }
    }
    json_decref(tree);
    return inline_p;
}

enum chan { SHELL, CONTROL, STDIN };
static const char *const chan_name[] = {"shell", "control", "stdin"};

/* Client -> child on one channel: checked, then forwarded untouched. */
static int relay_client(struct proxy *px, void *from, void *to, enum chan ch)
{
    int k;
    for (k = 0; k < BATCH && mpart_recv(from, &px->cur) == 1; k++) {
        struct wire_parts wp;
        if (mpart_views(px, &px->cur) || wire_split(px->views, px->cur.n, &wp)) {
            count_bad(px, 0, chan_name[ch], "malformed");
            mpart_close(&px->cur);
            continue;
        }
        if (!wire_verify(&px->key, px->views, &wp)) {
            count_bad(px, 1, chan_name[ch], "badly signed");
            mpart_close(&px->cur);
            continue;
        }
        if (px->seen && replay_seen(px->seen, px->views[wp.sig].data, px->views[wp.sig].len)) {
            count_bad(px, 1, chan_name[ch], "replayed (its signature was seen before)");
            mpart_close(&px->cur);
            continue;
        }
        /* An execute_request goes to the child first and is looked at after: its
         * header and content stay readable through references of their own (zmq
         * shares the buffer of all but the shortest frames, no copy). */
        zmq_msg_t keep[2];
        int kept = 0;
        if (ch == STDIN) {
            px->in_input = 0; /* answered (see iopub_route) */
        } else {
            char type[64];
            frame_string(&px->views[wp.header], "msg_type", type, sizeof type);
            if (ch == SHELL && px->worker && strcmp(type, "execute_request") == 0) {
                zmq_msg_init(&keep[0]);
                zmq_msg_init(&keep[1]);
                kept = zmq_msg_copy(&keep[0], &px->cur.f[wp.header]) == 0 &&
                       zmq_msg_copy(&keep[1], &px->cur.f[wp.header + 3]) == 0;
                if (!kept) { zmq_msg_close(&keep[0]); zmq_msg_close(&keep[1]); }
            } else if (strcmp(type, "shutdown_request") == 0) {
                px->shutdown_requested = 1;
            }
        }
        mpart_send(to, &px->cur);
        touch(px, to);
        if (kept) {
            struct wire_frame h = {zmq_msg_data(&keep[0]), zmq_msg_size(&keep[0])};
            struct wire_frame c = {zmq_msg_data(&keep[1]), zmq_msg_size(&keep[1])};
            struct pending *now = maybe_classify(px, &h, &c);
            zmq_msg_close(&keep[0]);
            zmq_msg_close(&keep[1]);
            /* the pending entry holds the job's reference; nobody else has seen it */
            if (now && classify_job_claim(now->job)) {
                classify_worker_run(px->worker, now->job);
                tag_prepare(px, now); /* while the child starts on the cell */
            }
        }
    }
    return k < BATCH;
}

/* A frame of px->cur replaced by LEN bytes of DATA; -1 when out of memory. */
static int replace_frame(struct proxy *px, size_t i, const char *data, size_t len)
{
    zmq_msg_t f;
    if (zmq_msg_init_size(&f, len)) return -1;
    memcpy(zmq_msg_data(&f), data, len);
    zmq_msg_close(&px->cur.f[i]);
    px->cur.f[i] = f;
    return 0;
}

/* A connect_reply names the ports of the kernel that wrote it: for the child, its
 * private ipc ones (1 to 5).  ipykernel alone names the ports its clients connect to,
 * so those go in, and the reply is signed again. */
static void fix_connect_reply(struct proxy *px, const struct wire_parts *wp)
{
    json_t *c = frame_json(&px->views[wp->header + 3]);
    int changed = 0;
    for (int ch = 0; ch < N_CHANNELS && json_is_object(c); ch++)
        if (json_is_integer(json_object_get(c, conn_port_key[ch]))) {
            json_object_set_new(c, conn_port_key[ch], json_integer(px->cfg->client->port[ch]));
            changed = 1;
        }
    char *text = changed ? json_dumps(c, JSON_COMPACT) : NULL;
    json_decref(c);
    if (!text) return;
    char sig[WIRE_SIG_HEX_MAX + 1];
    if (replace_frame(px, wp->header + 3, text, strlen(text)) == 0 && mpart_views(px, &px->cur) == 0) {
        wire_sign(&px->key, &px->views[wp->header], sig);
        if (replace_frame(px, wp->sig, sig, strlen(sig))) logmsg("out of memory: connect_reply unsigned");
    }
    free(text);
}

/* Child -> client on shell, control or stdin: replies carry the client's identities. */
static int relay_child(struct proxy *px, void *from, void *to, enum chan ch)
{
    int k;
    for (k = 0; k < BATCH && mpart_recv(from, &px->cur) == 1; k++) {
        struct wire_parts wp;
        if (mpart_views(px, &px->cur) || wire_split(px->views, px->cur.n, &wp) || wp.n_ids == 0) {
            mpart_close(&px->cur); /* our own nudges' replies, or nothing routable */
            continue;
        }
        if (ch == STDIN) { /* an input_request: a waiting clear goes out before it */
            clear_release(px);
            px->in_input = 1;
        } else {
            char type[64];
            frame_string(&px->views[wp.header], "msg_type", type, sizeof type);
            if (strcmp(type, "connect_reply") == 0) {
                fix_connect_reply(px, &wp);
            } else if (px->shutdown_requested && !px->exiting && strcmp(type, "shutdown_reply") == 0) {
                px->exiting = 1;
                px->exit_deadline = now_ms() + EXIT_GRACE_MS;
            }
        }
        mpart_send(to, &px->cur);
        touch(px, to);
    }
    return k < BATCH;
}

static void learn_session(struct proxy *px, const struct wire_frame *header)
{
    json_t *h = frame_json(header);
    const char *s = json_string_value(json_object_get(h, "session"));
    const char *u = json_string_value(json_object_get(h, "username"));
    const char *v = json_string_value(json_object_get(h, "version"));
    if (s) {
        tag_header_forget(px);
        snprintf(px->session, sizeof px->session, "%s", s);
        snprintf(px->username, sizeof px->username, "%s", u ? u : "");
        snprintf(px->version, sizeof px->version, "%s", v ? v : "5.3");
    }
    json_decref(h);
}

static int relay_iopub(struct proxy *px)
{
    int k;
    for (k = 0; k < BATCH && mpart_recv(px->k_iopub, &px->cur) == 1; k++) {
        struct wire_parts wp;
        if (mpart_views(px, &px->cur) || wire_split(px->views, px->cur.n, &wp)) {
            mpart_send(px->c_iopub, &px->cur); /* not ours to judge */
            continue;
        }
        const struct wire_frame *parent = &px->views[wp.header + 1];
        if (memmem(parent->data, parent->len, NUDGE_PREFIX, sizeof NUDGE_PREFIX - 1)) {
            if (!px->ready) {
                learn_session(px, &px->views[wp.header]);
                px->ready = 1;
                /* clients are read from now on; what waits was never announced */
                px->dirty[P_C_SHELL] = px->dirty[P_C_CONTROL] = px->dirty[P_C_STDIN] = 1;
            }
            mpart_close(&px->cur); /* the nudges' busy/idle are ours, not the clients' */
            continue;
        }
        if (!px->session[0]) learn_session(px, &px->views[wp.header]);
        iopub_emit(px, &px->cur);
    }
    return k < BATCH;
}

/* ---- set-up and end ------------------------------------------------------------------- */

static void *hb_main(void *arg)
{
    void *hb = arg;
    zmq_proxy(hb, hb, NULL); /* an echo: returns when the context is shut down */
    int zero = 0;
    zmq_setsockopt(hb, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(hb);
    return NULL;
}

static void *new_socket(struct proxy *px, int type, const char *endpoint, int bind, char *err,
                        size_t errlen)
{
    void *s = zmq_socket(px->ctx, type);
    if (!s) { snprintf(err, errlen, "zmq_socket: %s", zmq_strerror(zmq_errno())); return NULL; }
    int zero = 0, linger = 1000, ivl = 10, one = 1;
    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero); /* never drop or block relayed output */
    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl); /* the child binds late */
    if (strncmp(endpoint, "tcp://[", 7) == 0) zmq_setsockopt(s, ZMQ_IPV6, &one, sizeof one);
    if (type == ZMQ_SUB) zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0);
    /* A client that reconnects with the routing id of a connection the ROUTER still
     * holds (jupyter_client gives every client of one KernelManager its session id,
     * e.g. a frontend reconnecting after a restart) must take it over; otherwise libzmq
     * leaves the new connection unrouted and its requests are never answered.
     * ipykernel sets the same on its ROUTERs (ipykernel#270, libzmq#2892). */
    if (type == ZMQ_ROUTER) zmq_setsockopt(s, ZMQ_ROUTER_HANDOVER, &one, sizeof one);
    if (type == ZMQ_DEALER) {
        /* shell, stdin and control share one identity: ipykernel sends input_request
         * with the shell request's identities. */
        char rid[64];
        snprintf(rid, sizeof rid, "nbstage-kernel-%ld", (long)getpid());
        zmq_setsockopt(s, ZMQ_ROUTING_ID, rid, strlen(rid));
    }
    if ((bind ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint)) != 0) {
        snprintf(err, errlen, "%s %s: %s", bind ? "bind" : "connect", endpoint,
                 zmq_strerror(zmq_errno()));
        zmq_close(s);
        return NULL;
    }
    return s;
}

static int setup(struct proxy *px, char *err, size_t errlen)
{
    const struct connection *cc = px->cfg->client, *kc = &px->cfg->child->conn;
    char ep[400];
    static const int client_type[N_CHANNELS] = {ZMQ_ROUTER, ZMQ_PUB, ZMQ_ROUTER, ZMQ_ROUTER, ZMQ_ROUTER};
    void **client[N_CHANNELS] = {&px->c_shell, &px->c_iopub, &px->c_stdin, &px->c_control, &px->c_hb};
    for (int ch = 0; ch < N_CHANNELS; ch++) {
        connection_endpoint(cc, ch, ep, sizeof ep);
        if (!(*client[ch] = new_socket(px, client_type[ch], ep, 1, err, errlen))) return -1;
    }
    static const int child_type[N_CHANNELS - 1] = {ZMQ_DEALER, ZMQ_SUB, ZMQ_DEALER, ZMQ_DEALER};
    void **child[N_CHANNELS - 1] = {&px->k_shell, &px->k_iopub, &px->k_stdin, &px->k_control};
    for (int ch = 0; ch < N_CHANNELS - 1; ch++) {
        connection_endpoint(kc, ch, ep, sizeof ep);
        if (!(*child[ch] = new_socket(px, child_type[ch], ep, 0, err, errlen))) return -1;
    }
    if (pthread_create(&px->hb_thread, NULL, hb_main, px->c_hb)) {
        snprintf(err, errlen, "heartbeat thread: %s", strerror(errno));
        return -1;
    }
    px->hb_started = 1;
    px->c_hb = NULL; /* the thread's now */
    if (px->cfg->model) {
        px->worker = classify_worker_start(px->ctx, px->cfg->model, px->cfg->display, err, errlen);
        if (!px->worker) return -1;
    }
    void *polled[N_POLLED] = {px->k_iopub, px->k_shell, px->k_control, px->k_stdin,
                              px->worker ? classify_worker_socket(px->worker) : NULL,
                              px->c_shell, px->c_control, px->c_stdin};
    for (int i = 0; i < N_POLLED; i++) {
        px->polled[i] = polled[i];
        px->dirty[i] = 1;
        size_t len = sizeof px->polled_fd[i];
        if (polled[i] && zmq_getsockopt(polled[i], ZMQ_FD, &px->polled_fd[i], &len)) {
            snprintf(err, errlen, "ZMQ_FD: %s", zmq_strerror(zmq_errno()));
            return -1;
        }
    }
    return 0;
}

static void teardown(struct proxy *px)
{
    classify_worker_stop(px->worker);
    void *socks[] = {px->c_shell, px->c_control, px->c_stdin, px->c_iopub, px->c_hb,
                     px->k_shell, px->k_control, px->k_stdin, px->k_iopub};
    int zero = 0;
    for (size_t i = 0; i < sizeof socks / sizeof *socks; i++) {
        if (!socks[i]) continue;
        if (i >= 5) zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero); /* child is gone */
        zmq_close(socks[i]);
    }
    zmq_ctx_shutdown(px->ctx); /* ends the heartbeat's zmq_proxy */
    if (px->hb_started) pthread_join(px->hb_thread, NULL);
    zmq_ctx_term(px->ctx);
    while (px->qhead) {
        struct qnode *q = px->qhead;
        px->qhead = q->next;
        mpart_free(&q->m);
        free(q);
    }
    while (px->n_pend) pending_remove(px, &px->pend[0]);
    free(px->pend);
    tag_header_forget(px);
    wire_key_release(&px->key);
    replay_free(px->seen);
    mpart_free(&px->cur);
    mpart_free(&px->wclear);
    free(px->views);
}

/* Relays whatever the child still has to say, for up to MS. */
static void drain_child(struct proxy *px, int ms)
{
    long long end = now_ms() + ms;
    for (long long t = now_ms(); t < end; t = now_ms()) {
        zmq_pollitem_t it[4] = {{px->k_iopub, 0, ZMQ_POLLIN, 0}, {px->k_shell, 0, ZMQ_POLLIN, 0},
                                {px->k_control, 0, ZMQ_POLLIN, 0}, {px->k_stdin, 0, ZMQ_POLLIN, 0}};
        int n = zmq_poll(it, 4, end - t < 50 ? end - t : 50);
        if (n <= 0) break; /* quiet for 50 ms: nothing more is coming */
        if (it[0].revents) relay_iopub(px);
        if (it[1].revents) relay_child(px, px->k_shell, px->c_shell, SHELL);
        if (it[2].revents) relay_child(px, px->k_control, px->c_control, CONTROL);
        if (it[3].revents) relay_child(px, px->k_stdin, px->c_stdin, STDIN);
    }
}

/* Reads the signalfd: -1 to go on, else the exit code. */
static int handle_signals(struct proxy *px)
{
    struct signalfd_siginfo si;
    int code = -1;
    while (read(px->cfg->signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP) {
            child_stop(px->cfg->child, 1000);
            iopub_flush(px);
            return 0;
        }
        if (si.ssi_signo == SIGCHLD && child_reaped(px->cfg->child)) {
            drain_child(px, 300);
            iopub_flush(px);
            if (px->exiting || px->shutdown_requested) return 0;
            char how[96];
            child_describe_exit(px->cfg->child, how, sizeof how);
            logmsg("the wrapped kernel %s; exiting so that Jupyter restarts the kernel", how);
            code = child_exit_code(px->cfg->child);
        }
    }
    return code;
}

/* Our parent is gone: ipykernel alone exits then (its ParentPollerUnix, when
 * JPY_PARENT_PID is set), and so must we, or a Jupyter server killed with -9 would
 * leave us and the child running for good.  Returns the exit code, ipykernel's. */
static int parent_gone(struct proxy *px)
{
    logmsg("the process that started the kernel (pid %ld) is gone; shutting down",
           (long)px->cfg->parent);
    child_stop(px->cfg->child, 1000);
    return 1;
}

int proxy_run(const struct proxy_config *cfg)
{
    struct proxy *px = calloc(1, sizeof *px);
    if (!px) { logmsg("out of memory"); child_stop(cfg->child, 1000); return 1; }
    px->cfg = cfg;
    px->early = cfg->display && cfg->display->position_top;
    px->key = (struct wire_key){cfg->client->key, cfg->client->key_len, NULL};
    int sha512 = strcmp(cfg->client->signature_scheme, "hmac-sha512") == 0;
    int no_key = wire_key_prepare_scheme(&px->key, sha512);
    if (no_key && !sha512) logmsg("out of memory: signing the slow way");
    if (px->key.len && !(px->seen = replay_new()))
        logmsg("out of memory: replayed messages go to the kernel, which drops them");
    px->ctx = zmq_ctx_new();
    char err[512];
    int code = -1;
    if (no_key && sha512) { /* only the prepared key knows the scheme */
        logmsg("out of memory");
        child_stop(cfg->child, 1000);
        code = 1;
    } else if (!px->ctx || setup(px, err, sizeof err)) {
        logmsg("%s", px->ctx ? err : "zmq_ctx_new failed");
        child_stop(cfg->child, 1000);
        code = 1;
    }
    long long next_nudge = 0, started = now_ms(), next_parent_check = 0;
    int warned_slow = 0;
    int poll_parent = cfg->parent && cfg->parent_fd < 0; /* no pidfd: getppid() each second */
    while (code < 0) {
        long long t = now_ms();
        if (poll_parent && t >= next_parent_check) {
            if (getppid() != cfg->parent) { code = parent_gone(px); break; }
            next_parent_check = t + 1000;
        }
        if (!px->ready && t >= next_nudge) {
            nudge(px);
            next_nudge = t + NUDGE_EVERY_MS;
            if (!warned_slow && t - started > 30000) {
                logmsg("the wrapped kernel has not answered for 30 s; still waiting");
                warned_slow = 1;
            }
        }
        if (px->exiting && t >= px->exit_deadline) {
            child_stop(cfg->child, 1000); /* did not exit by itself after shutdown_reply */
            iopub_flush(px);
            code = 0;
            break;
        }
        /* Serve every socket that may hold messages, each until EAGAIN.  That last
         * recv processes the socket's pending commands, so from then on its ZMQ_FD is
         * readable exactly when something new comes; sleeping in poll(2) on the
         * ZMQ_FDs therefore misses nothing, and unlike zmq_poll it costs no
         * ZMQ_EVENTS round (two syscalls per socket, twice per call) on sockets
         * with nothing to say.  One pass, then poll(2) without waiting when some
         * socket is still dirty, so that signals and deadlines are seen in a flood. */
        for (int i = 0; i < N_POLLED; i++) {
            if (!px->dirty[i] || !px->polled[i]) continue;
            if (i >= P_C_SHELL && !px->ready) continue; /* clients wait for the child */
            px->dirty[i] = 0;
            int drained = 1;
            switch (i) {
            case P_K_IOPUB: drained = relay_iopub(px); break;
            case P_K_SHELL: drained = relay_child(px, px->k_shell, px->c_shell, SHELL); break;
            case P_K_CONTROL: drained = relay_child(px, px->k_control, px->c_control, CONTROL); break;
            case P_K_STDIN: drained = relay_child(px, px->k_stdin, px->c_stdin, STDIN); break;
            case P_WORKER: drained = handle_worker(px); break;
            case P_C_SHELL: drained = relay_client(px, px->c_shell, px->k_shell, SHELL); break;
            case P_C_CONTROL: drained = relay_client(px, px->c_control, px->k_control, CONTROL); break;
            case P_C_STDIN: drained = relay_client(px, px->c_stdin, px->k_stdin, STDIN); break;
            }
            if (!drained) px->dirty[i] = 1; /* a full batch: the others get a turn first */
        }
        int busy = 0;
        for (int i = 0; i < N_POLLED; i++)
            if (px->dirty[i] && px->polled[i] && (i < P_C_SHELL || px->ready)) busy = 1;
        struct pollfd pfd[2 + N_POLLED];
        int map[2 + N_POLLED], n = 0;
        pfd[n] = (struct pollfd){cfg->signal_fd, POLLIN, 0}, map[n++] = -1;
        if (cfg->parent && cfg->parent_fd >= 0)
            pfd[n] = (struct pollfd){cfg->parent_fd, POLLIN, 0}, map[n++] = -2;
        for (int i = 0; i < N_POLLED; i++) {
            if (!px->polled[i] || (i >= P_C_SHELL && !px->ready)) continue;
            pfd[n] = (struct pollfd){px->polled_fd[i], POLLIN, 0}, map[n++] = i;
        }
        t = now_ms();
        int timeout = -1;
        if (!px->ready) timeout = next_nudge - t > 0 ? (int)(next_nudge - t) : 0;
        if (px->exiting) timeout = px->exit_deadline - t > 0 ? (int)(px->exit_deadline - t) : 0;
        if (poll_parent && (timeout < 0 || next_parent_check - t < timeout))
            timeout = next_parent_check - t > 0 ? (int)(next_parent_check - t) : 0;
        if (busy) timeout = 0;
        if (poll(pfd, n, timeout) < 0) {
            if (errno == EINTR) continue;
            logmsg("poll: %s", strerror(errno));
            child_stop(cfg->child, 1000);
            code = 1;
            break;
        }
        int parent_exited = 0;
        for (int k = 1; k < n; k++)
            if (pfd[k].revents) {
                if (map[k] == -2) parent_exited = 1; /* a pidfd is readable once it exits */
                else px->dirty[map[k]] = 1;
            }
        if (pfd[0].revents) code = handle_signals(px);
        if (code < 0 && parent_exited) code = parent_gone(px);
    }
    teardown(px);
    free(px);
    return code;
}
