/* tagorder.c — where and when a request's stage tag goes in the iopub stream (see
 * tagorder.h, whose numbered rules the comments here refer to).
 *
 * Each child iopub message is classified once, by its msg_type (tagorder_iopub ->
 * route -> message_kind), and handled by one function per kind: on_execute_input,
 * on_comm, on_output, on_clear, on_idle.  A message of another kind only lets a held
 * clear of its request go first (an update_display_data, that request's tag before
 * it: on_update).  The notice (tagorder.h) rides on the same routing: the requests it
 * may go with are noted by tagorder_request (notice_candidate), it is sent by
 * on_execute_input, and its cell's clear_output, idle and Output-widget captures are
 * looked at by notice_route.
 */
#include "kernel/tagorder.h"
#include "kernel/cellchain.h"
#include "kernel/wire_json.h"
#include "model/context.h"
#include "nbformat/notebook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An execute_request being tagged, until its idle has been relayed. */
struct pending {
    char id[MSG_ID_CAP];      /* the request's msg_id (frame_id) */
    char *header;             /* the request's header frame, verbatim: the tag's parent_header */
    struct classify_job *job; /* our reference */
    int started;              /* the child published execute_input (aborted requests are not) */
    int seen;                 /* the child published its execute_input or idle (a dropped one: never) */
    unsigned long seq;        /* the order requests went to the child in */
    int held;                 /* its idle waits at the front of the queue */
    int upd_held;             /* an update_display_data waits there, behind its held clear */
    int published;            /* its tag is out (early publication), not cleared since */
    int clear_wait;           /* a clear_output(wait=True) of it is out, no output since */
    int captured;             /* ipywidgets Output widgets capturing its outputs now */
    struct chain_cell *cell;  /* a context model's cell run with history (cellchain.h) */
    int mid_line;             /* its last stream text ended inside a line (rule 11) ... */
    int line_wait;            /* ... and its early tag waits for the line's end */
    /* The tag message, built as soon as the cell is classified (tag_build), so that it
     * follows the execute_input (or precedes the idle) without a pause for the IO
     * thread to wake up twice: header in tag_header, or tag_slow when that is short. */
    int tag_ready;
    char tag_header[512], tag_sig[WIRE_SIG_HEX_MAX + 1];
    char *tag_slow;
};

struct qnode {
    struct mpart m;
    struct qnode *next;
};

struct tagorder {
    void *iopub;                     /* Jupyter's side */
    const struct wire_key *key;
    struct classify_worker *worker;
    int early;                       /* --tag-position top: rule 3 */
    unsigned long requests;          /* the last pending's seq */
    unsigned long dropped;           /* requests the child never answered, given up */
    char session[128], username[128], version[16];
    char *th;                        /* the tag header template (tag_header_fast) */
    size_t th_len, th_id, th_date;   /* its length, where msg_id and date go */
    struct pending *pend;
    size_t n_pend, cap_pend;
    unsigned clear_waits;            /* entries with clear_wait set: outputs are then looked at */
    struct mpart wclear;             /* a clear_output(wait=True) held back (rule 6) ... */
    char wclear_id[MSG_ID_CAP];      /* ... of this request */
    int in_input;                    /* the child asked for input, no answer or idle since */
    struct qnode *qhead, *qtail;     /* a held idle and what came after it (rule 9) */
    struct wire_frame *views;        /* of the message being routed */
    size_t views_cap;
    char *notice;                    /* the notice's content, while it is owed or its cell
                                      * runs (a clear there owes it again); NULL: none */
    int notice_owed;                 /* it goes out at the next candidate's execute_input */
    struct notice_req *cand;         /* the requests it may go with, not started yet */
    size_t n_cand, cap_cand;
    char notice_id[MSG_ID_CAP];      /* the request whose cell shows it, until its idle; "" */
    int notice_wait;                 /* a clear_output(wait=True) of that request is out */
    int notice_captured;             /* Output widgets capturing that request's outputs */
    struct cellchain *chain;         /* a model that reads context: what each cell is
                                      * read after (model/context.h); else NULL */
    char *text;                      /* the text made for a job, context and cell */
    size_t tcap;
};

/* A request the notice may go with: its msg_id and header frame, verbatim (the
 * notice's parent_header). */
struct notice_req {
    char id[MSG_ID_CAP];
    char *header;
};

static void say(const char *what)
{
    nb_say(stderr, "nbstage-kernel: %s", what);
}

/* ---- the requests being tagged ----------------------------------------------------- */

static struct pending *pending_find(struct tagorder *t, const char *id)
{
    for (size_t i = 0; i < t->n_pend; i++)
        if (strcmp(t->pend[i].id, id) == 0) return &t->pend[i];
    return NULL;
}

static void pending_remove(struct tagorder *t, struct pending *p)
{
    if (p->clear_wait) t->clear_waits--;
    free(p->header);
    free(p->tag_slow);
    classify_job_release(p->job);
    chain_cell_free(p->cell);
    *p = t->pend[--t->n_pend];
}

/* P's request has a clear_output(wait=True) out, or no longer (rule 5). */
static void clear_wait_set(struct tagorder *t, struct pending *p)
{
    if (!p->clear_wait) {
        p->clear_wait = 1;
        t->clear_waits++;
    }
}

static void clear_wait_end(struct tagorder *t, struct pending *p)
{
    if (p->clear_wait) {
        p->clear_wait = 0;
        t->clear_waits--;
    }
}

/* 1 when P's cell is classified: the worker has run the job, or it had not started on
 * it and we ran it here rather than wait for the thread to be scheduled. */
static int classified(struct tagorder *t, struct pending *p)
{
    if (classify_job_done(p->job)) return 1;
    if (!classify_job_claim(p->job)) /* the worker is on it right now */
        return classify_job_wait(p->job);
    classify_worker_run(t->worker, p->job);
    return 1;
}

/* ---- the tag message (rule 10) -------------------------------------------------------- */

/* The header of a message of ours of type TYPE: the child's session, username and
 * version, msg_id ID and the date.  NULL when out of memory (or the session is not
 * UTF-8). */
static char *header_json(const struct tagorder *t, const char *type, const char *id,
                         const char *date)
{
    json_t *h = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "msg_id", id, "msg_type", type,
                          "session", t->session, "username", t->username, "date", date,
                          "version", t->version[0] ? t->version : "5.3");
    char *hs = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    return hs;
}

/* The header of a tag: a display_data, a fresh msg_id and the date. */
static char *tag_header_json(const struct tagorder *t, const char *id, const char *date)
{
    return header_json(t, "display_data", id, date);
}

/* Tag headers differ only in msg_id and date, both of fixed length: the header is
 * built once with placeholders and each tag's copy patched in place (packing and
 * dumping a JSON tree per tag was a tenth of the tag's CPU). */
#define ID_PLACEHOLDER "00000000000000000000000000000000"
#define DATE_PLACEHOLDER "0000-00-00T00:00:00.000000Z"

static void tag_header_forget(struct tagorder *t)
{
    free(t->th);
    t->th = NULL;
}

/* Fills OUT (CAP bytes) with a tag header; -1 when there is no template or it does
 * not fit. */
static int tag_header_fast(struct tagorder *t, const char *id, const char *date, char *out,
                           size_t cap)
{
    if (!t->th) {
        char *s = tag_header_json(t, ID_PLACEHOLDER, DATE_PLACEHOLDER);
        char *i = s ? strstr(s, "\"msg_id\":\"" ID_PLACEHOLDER "\"") : NULL;
        char *d = s ? strstr(s, "\"date\":\"" DATE_PLACEHOLDER "\"") : NULL;
        if (!i || !d) { free(s); return -1; }
        t->th = s, t->th_len = strlen(s);
        t->th_id = (size_t)(i - s) + 10, t->th_date = (size_t)(d - s) + 8;
    }
    if (t->th_len >= cap || strlen(id) != sizeof ID_PLACEHOLDER - 1 ||
        strlen(date) != sizeof DATE_PLACEHOLDER - 1)
        return -1;
    memcpy(out, t->th, t->th_len + 1);
    memcpy(out + t->th_id, id, sizeof ID_PLACEHOLDER - 1);
    memcpy(out + t->th_date, date, sizeof DATE_PLACEHOLDER - 1);
    return 0;
}

/* Builds P's tag message (header, signature) for publish_tag to send; -1 when out of
 * memory.  P's cell must be classified, with something to show. */
static int tag_build(struct tagorder *t, struct pending *p)
{
    if (p->tag_ready) return 0;
    char id[40], date[32];
    wire_new_id(id, sizeof id, NULL);
    wire_now_iso(date);
    free(p->tag_slow);
    p->tag_slow = NULL;
    const char *h = p->tag_header;
    if (tag_header_fast(t, id, date, p->tag_header, sizeof p->tag_header)) { /* a long session */
        if (!(p->tag_slow = tag_header_json(t, id, date))) return -1;
        h = p->tag_slow;
    }
    struct wire_frame fr[6];
    wire_build(t->key, h, p->header, "{}", classify_job_content(p->job), p->tag_sig, fr);
    p->tag_ready = 1;
    return 0;
}

/* Builds P's tag ahead of its publication, once its cell is classified. */
static void tag_prepare(struct tagorder *t, struct pending *p)
{
    if (classify_job_done(p->job) && classify_job_content(p->job)) tag_build(t, p);
}

/* ---- publication ------------------------------------------------------------------------ */

/* Sends P's tag, when its request has started (rule 1) and its cell is classified with
 * something to show. */
static void publish_tag(struct tagorder *t, struct pending *p)
{
    if (!p->started || !classify_job_done(p->job)) return;
    const char *content = classify_job_content(p->job);
    if (!content) return; /* below the minimum confidence, or no stage */
    if (tag_build(t, p)) { say("out of memory: stage output not published"); return; }
    static const char topic[] = "kernel.nbstage.display_data";
    const char *h = p->tag_slow ? p->tag_slow : p->tag_header;
    const char *part[7] = {topic, WIRE_DELIM, p->tag_sig, h, p->header, "{}", content};
    for (int i = 0; i < 7; i++)
        zmq_send(t->iopub, part[i], strlen(part[i]), i < 6 ? ZMQ_SNDMORE : 0);
    p->tag_ready = 0; /* sent again (after a clear_output), it is a new message */
    clear_wait_end(t, p); /* a waiting clear_output is done by the tag's arrival */
}

/* Sends the clear_output(wait=True) held back (rule 6), if any: from now on the
 * frontends clear the cell's outputs at its next one. */
static void clear_release(struct tagorder *t)
{
    if (!t->wclear.n) return;
    mpart_send(t->iopub, &t->wclear);
    struct pending *p = pending_find(t, t->wclear_id);
    if (p) clear_wait_set(t, p);
}

/* Early publication (rule 3): P's tag now, when its execute_input is out and its cell
 * is classified; otherwise the worker is asked to answer when it is done
 * (tagorder_classified).  Only for a request whose idle has not been relayed. */
static void publish_early(struct tagorder *t, struct pending *p)
{
    if (!t->early || p->published || !p->started || p->held || p->captured) return;
    if (!classify_job_done(p->job) && !classify_job_wait(p->job)) return;
    if (p->mid_line) { p->line_wait = 1; return; } /* rule 11: at the line's end */
    publish_tag(t, p);
    p->published = 1;
    if (t->wclear.n && strcmp(t->wclear_id, p->id) == 0) clear_release(t); /* after the tag */
}

/* ---- the notice (tagorder.h) --------------------------------------------------------- */

/* Notes the request of header H (msg_id ID) as one the notice may go with, while there
 * is a notice to give (owed, or out in a cell that may clear it). */
static void notice_candidate(struct tagorder *t, const struct wire_frame *h, const char *id)
{
    if (!t->notice || strcmp(t->notice_id, id) == 0) return;
    for (size_t i = 0; i < t->n_cand; i++)
        if (strcmp(t->cand[i].id, id) == 0) return;
    if (t->n_cand == t->cap_cand) {
        size_t cap = t->cap_cand ? 2 * t->cap_cand : 8;
        struct notice_req *nc = realloc(t->cand, cap * sizeof *nc);
        if (!nc) return; /* then with a later request */
        t->cand = nc, t->cap_cand = cap;
    }
    char *copy = malloc(h->len + 1);
    if (!copy) return;
    memcpy(copy, h->data, h->len);
    copy[h->len] = 0;
    struct notice_req *c = &t->cand[t->n_cand++];
    snprintf(c->id, sizeof c->id, "%s", id);
    c->header = copy;
}

/* The index of request ID among the candidates, or -1. */
static long notice_cand_find(const struct tagorder *t, const char *id)
{
    for (size_t i = 0; i < t->n_cand; i++)
        if (strcmp(t->cand[i].id, id) == 0) return (long)i;
    return -1;
}

/* Candidate I has started (or ended without starting: aborted): it is one no longer.
 * The order of the others is kept. */
static void notice_cand_remove(struct tagorder *t, size_t i)
{
    free(t->cand[i].header);
    memmove(&t->cand[i], &t->cand[i + 1], (t->n_cand - i - 1) * sizeof *t->cand);
    t->n_cand--;
}

/* The notice is said for good (its cell ended with it on show), or replaced: nothing
 * of it is kept. */
static void notice_forget(struct tagorder *t)
{
    free(t->notice);
    t->notice = NULL;
    t->notice_owed = 0;
    while (t->n_cand) notice_cand_remove(t, t->n_cand - 1);
    free(t->cand);
    t->cand = NULL;
    t->cap_cand = 0;
    t->notice_id[0] = 0;
    t->notice_wait = t->notice_captured = 0;
}

/* Its cell's outputs were cleared: it goes out again with the next candidate to start. */
static void notice_owe_again(struct tagorder *t)
{
    t->notice_owed = 1;
    t->notice_id[0] = 0;
    t->notice_wait = t->notice_captured = 0;
}

/* Sends the notice, a stderr stream of candidate I, just after that request's
 * execute_input; from then on that cell is watched for a clear (notice_route). */
static void notice_publish(struct tagorder *t, size_t i)
{
    char id[40], date[32], sig[WIRE_SIG_HEX_MAX + 1];
    wire_new_id(id, sizeof id, NULL);
    wire_now_iso(date);
    char *h = header_json(t, "stream", id, date);
    if (h) {
        static const char topic[] = "stream.stderr"; /* ipykernel's, for a stream */
        struct wire_frame fr[6];
        wire_build(t->key, h, t->cand[i].header, "{}", t->notice, sig, fr);
        zmq_send(t->iopub, topic, sizeof topic - 1, ZMQ_SNDMORE);
        for (int k = 0; k < 6; k++) zmq_send(t->iopub, fr[k].data, fr[k].len, k < 5 ? ZMQ_SNDMORE : 0);
    } else {
        say("out of memory: the notice is only in this log");
    }
    free(h);
    t->notice_owed = 0;
    memcpy(t->notice_id, t->cand[i].id, sizeof t->notice_id);
    t->notice_wait = t->notice_captured = 0;
    notice_cand_remove(t, i);
}

/* ---- routing one iopub message -------------------------------------------------------- */

enum { IOPUB_SENT, IOPUB_HELD };

/* What a child iopub message is to the tag's order. */
enum kind {
    K_OTHER,
    K_EXECUTE_INPUT, /* the request has started (rule 1) */
    K_IDLE,          /* the request is done (rule 2) */
    K_CLEAR,         /* clear_output (rules 4 to 8) */
    K_OUTPUT,        /* an output, while some waiting clear is out (rule 5) or an
                      * early tag is owed (rule 11) */
    K_STREAM,        /* a stream output, then */
    K_COMM,          /* a comm_msg, with early tags: a capture may begin or end (rule 8) */
};

/* 1 for the messages a frontend adds to a cell's outputs, and so clears them before
 * when a clear_output(wait=True) waits (nbclient's output(), Notebook's append_output). */
static int is_output(const char *type)
{
    return strcmp(type, "stream") == 0 || strcmp(type, "display_data") == 0 ||
           strcmp(type, "execute_result") == 0 || strcmp(type, "error") == 0;
}

/* 1 when some started request's early tag is not out yet: its outputs are looked at
 * (rule 11).  Once out, the relay of a print flood does not read them. */
static int early_tag_owed(const struct tagorder *t)
{
    if (!t->early) return 0;
    for (size_t i = 0; i < t->n_pend; i++)
        if (t->pend[i].started && !t->pend[i].published && !t->pend[i].captured) return 1;
    return 0;
}

/* The kind of the split message in t->views: its msg_type read in place, and for a
 * status its execution_state. */
static enum kind message_kind(struct tagorder *t, const struct wire_parts *wp)
{
    char type[64];
    frame_string(&t->views[wp->header], "msg_type", type, sizeof type);
    if (strcmp(type, "execute_input") == 0) return K_EXECUTE_INPUT;
    if (strcmp(type, "clear_output") == 0) return K_CLEAR;
    if ((t->early || t->notice_id[0]) && strcmp(type, "comm_msg") == 0) return K_COMM;
    if ((t->clear_waits || t->notice_wait || early_tag_owed(t)) && is_output(type))
        return strcmp(type, "stream") == 0 ? K_STREAM : K_OUTPUT;
    if (strcmp(type, "status") == 0) {
        char state[16];
        frame_string(&t->views[wp->header + 3], "execution_state", state, sizeof state);
        if (strcmp(state, "idle") == 0) return K_IDLE;
    }
    return K_OTHER;
}

static int send_on(struct tagorder *t, struct mpart *m)
{
    mpart_send(t->iopub, m);
    return IOPUB_SENT;
}

/* Rules 1 and 3: the tag goes after the execute_input, at once when it may; the
 * notice, when it is this request's (candidate NOTICE, else -1), goes first.  P is NULL
 * for a request with no tag to give (no worker) and the notice to give. */
static int on_execute_input(struct tagorder *t, struct pending *p, struct mpart *m, long notice)
{
    mpart_send(t->iopub, m);
    if (notice >= 0) notice_publish(t, (size_t)notice);
    if (p) {
        p->started = 1;
        if (p->cell) cellchain_started(t->chain, p->cell); /* what ran last */
        publish_early(t, p);
    }
    return IOPUB_SENT;
}

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
    char v[MSG_ID_CAP];
    size_t moff, mlen; /* a string member: "" (the capture ends) or a request's id */
    if (wire_json_member(&state, "msg_id", &moff, &mlen) != 1 || state.data[moff] != '"') return 0;
    if (mlen == 2) return -1;
    frame_id(&state, "msg_id", v);
    return v[0] && strcmp(v, id) == 0 ? 1 : 0; /* "": not read (a state jansson refuses) */
}

/* Rule 8: a capture begins or ends; at its end the early tag may go. */
static int on_comm(struct tagorder *t, struct pending *p, struct mpart *m,
                   const struct wire_parts *wp)
{
    int d = capture_change(&t->views[wp->header + 3], p->id);
    p->captured = p->captured + d > 0 ? p->captured + d : 0;
    mpart_send(t->iopub, m);
    if (d < 0 && !p->captured) publish_early(t, p); /* the cell's own outputs again */
    return IOPUB_SENT;
}

/* Rule 5: the waiting clear is done now, and took the tag with it.  Rule 11: an early
 * tag that waited for the end of a line goes after the output that ends it. */
static int on_output(struct tagorder *t, struct pending *p, struct mpart *m, int ends_line)
{
    if (p->clear_wait && !p->captured) {
        clear_wait_end(t, p);
        p->published = 0;
    }
    if (ends_line >= 0) p->mid_line = !ends_line && t->early && !p->published && !p->captured;
    send_on(t, m);
    if (p->line_wait && !p->mid_line) {
        p->line_wait = 0;
        publish_early(t, p);
    }
    return IOPUB_SENT;
}

/* 1 when the clear_output's CONTENT says wait=True. */
static int clear_says_wait(const struct wire_frame *c)
{
    size_t off, len;
    int r = wire_json_member(c, "wait", &off, &len);
    if (r >= 0) return r == 1 && len == 4 && memcmp(c->data + off, "true", 4) == 0;
    json_t *j = frame_json(c); /* what the light scanner leaves */
    int waits = json_is_true(json_object_get(j, "wait"));
    json_decref(j);
    return waits;
}

/* Rules 4 to 8: the tag goes with the outputs, and so again at the idle; not when a
 * widget takes the clear. */
static int on_clear(struct tagorder *t, struct pending *p, struct mpart *m,
                    const struct wire_parts *wp)
{
    if (p->captured) return send_on(t, m); /* rule 8 */
    if (!clear_says_wait(&t->views[wp->header + 3])) { /* rule 4 */
        p->published = 0;
        clear_wait_end(t, p);
    } else if (!p->published && !t->in_input) { /* rules 6 and 7: held back */
        mpart_free(&t->wclear); /* sent (empty) by route's clear_release */
        t->wclear = *m;
        *m = (struct mpart){0};
        memcpy(t->wclear_id, p->id, sizeof p->id);
        return IOPUB_SENT;
    } else { /* rule 5 */
        clear_wait_set(t, p);
    }
    return send_on(t, m);
}

/* The notice (tagorder.h): a message of kind KIND of request PARENT (the split message
 * in t->views, WP).  A candidate's execute_input: the index of the candidate when the
 * notice is to follow it, else -1.  The cell that shows the notice: a clear_output
 * takes it away (a waiting one, at the cell's next output; not one an Output widget
 * captures), and the notice is owed again; at its idle, with the notice on show, it is
 * said for good.  Nothing is sent or held here. */
static long notice_route(struct tagorder *t, enum kind kind, const char *parent,
                         const struct wire_parts *wp)
{
    if (!t->notice || kind == K_OTHER) return -1;
    long i = notice_cand_find(t, parent);
    if (i >= 0) {
        if (kind == K_EXECUTE_INPUT && t->notice_owed) return i;
        if (kind == K_EXECUTE_INPUT || kind == K_IDLE) notice_cand_remove(t, (size_t)i);
        return -1; /* started, with the notice out elsewhere; or aborted */
    }
    if (!t->notice_id[0] || strcmp(parent, t->notice_id) != 0) return -1;
    switch (kind) {
    case K_COMM: {
        int n = t->notice_captured + capture_change(&t->views[wp->header + 3], parent);
        t->notice_captured = n > 0 ? n : 0;
        break;
    }
    case K_CLEAR:
        if (t->notice_captured) break;
        if (clear_says_wait(&t->views[wp->header + 3])) t->notice_wait = 1;
        else notice_owe_again(t);
        break;
    case K_OUTPUT:
    case K_STREAM:
        if (t->notice_wait && !t->notice_captured) notice_owe_again(t);
        break;
    case K_IDLE:
        notice_forget(t); /* its cell is done, the notice on show there */
        break;
    default:
        break;
    }
    return -1;
}

/* Puts M at the front of the queue (rule 9): 0, or -1 when out of memory. */
static int hold_front(struct tagorder *t, struct mpart *m)
{
    struct qnode *q = malloc(sizeof *q);
    if (!q) return -1;
    q->m = *m;
    *m = (struct mpart){0};
    q->next = t->qhead;
    t->qhead = q;
    if (!t->qtail) t->qtail = q;
    return 0;
}

/* Rule 2 (and 9): the tag goes before the idle, which waits for the cell's
 * classification when it must.  An aborted request (never started) gets no tag. */
static int on_idle(struct tagorder *t, struct pending *p, struct mpart *m)
{
    if (p->published) {
        pending_remove(t, p);
        return send_on(t, m);
    }
    if (p->started && !classified(t, p)) {
        p->held = 1;
        if (hold_front(t, m) == 0) return IOPUB_HELD;
        say("out of memory: an idle went out untagged");
    } else if (p->started) {
        publish_tag(t, p);
    } else {
        if (p->cell) cellchain_aborted(t->chain, p->cell); /* rule 1: no tag */
    }
    clear_release(t); /* a clear held back for P goes after its tag (rule 6) */
    pending_remove(t, p);
    t->in_input = 0; /* an input request ends with its request at the latest */
    return send_on(t, m);
}

/* Rule 6: an update_display_data (the split message in t->views) while a clear is held
 * back.  It adds no output, so nbclient and JupyterLab leave the clear waiting through
 * it (Notebook 6 clears at it): the tag sent later, at the idle, would be the output
 * that clears the cell.  So the held clear's request gets its tag now, before the
 * clear, waiting for its classification when it must (the update held at the front
 * of the queue, until tagorder_classified).  IOPUB_HELD when it waits. */
static int on_update(struct tagorder *t, struct mpart *m, const struct wire_parts *wp)
{
    char type[32];
    frame_string(&t->views[wp->header], "msg_type", type, sizeof type);
    if (strcmp(type, "update_display_data")) return IOPUB_SENT;
    struct pending *w = pending_find(t, t->wclear_id);
    if (!w || !w->started || w->published || w->captured) return IOPUB_SENT;
    if (!classified(t, w)) {
        if (hold_front(t, m) == 0) {
            w->upd_held = 1;
            return IOPUB_HELD;
        }
        say("out of memory: an update went out before the tag");
        return IOPUB_SENT;
    }
    publish_tag(t, w);
    w->published = 1;
    return IOPUB_SENT;
}

/* The child's first execute_input or idle for a request after the one of sequence SEQ:
 * ipykernel (6, which Debian has) serves shell requests one after the other, so an
 * earlier request it has said nothing of will never be answered (subshells, in
 * ipykernel 7, would run some side by side: this would then give up one still queued
 * and leave it untagged).  It dropped it unrun: a part Session.deserialize refused
 * that the proxy's checks let through (proxy.c: wire_json_valid), such as an integer
 * of more than 4,300 digits or a header date that is no date.  Its entry is freed, or
 * every such request would stay until the kernel ends, with its code. */
static void drop_unanswered(struct tagorder *t, unsigned long seq)
{
    for (size_t i = 0; i < t->n_pend;) {
        struct pending *q = &t->pend[i];
        if (q->seen || q->seq > seq) {
            i++;
            continue;
        }
        if (q->cell) cellchain_aborted(t->chain, q->cell);
        unsigned long n = ++t->dropped;
        if (n <= 20 || n % 1000 == 0) {
            char line[160];
            snprintf(line, sizeof line, "an execute_request the wrapped kernel never answered "
                     "(it dropped it unrun) is no longer awaited (%lu so far)", n);
            say(line);
        }
        pending_remove(t, q); /* the last entry moves into slot i */
    }
}

/* Relays one child iopub message (taken from M), or holds it back.  Assumes the queue
 * is empty. */
static int route(struct tagorder *t, struct mpart *m)
{
    struct wire_parts wp;
    if (t->n_pend == 0 && !t->n_cand && !t->notice_id[0]) {
        clear_release(t);
        return send_on(t, m);
    }
    /* not a Jupyter message: no request's output, so a held clear stays held (rule 6) */
    if (mpart_views(m, &t->views, &t->views_cap) || wire_split(t->views, m->n, &wp)) return send_on(t, m);
    enum kind kind = message_kind(t, &wp);
    struct pending *p = NULL;
    char parent[MSG_ID_CAP] = "";
    if (kind != K_OTHER || t->wclear.n) {
        frame_id(&t->views[wp.header + 1], "msg_id", parent);
        if (kind != K_OTHER) p = pending_find(t, parent);
        if (p && !p->seen) {
            p->seen = 1;
            drop_unanswered(t, p->seq - 1);
            p = pending_find(t, parent); /* entries moved */
        }
    }
    /* rule 6: a held clear goes out before its request's next message, but after the
     * tag its idle brings, or an update_display_data brings (on_update).  Another
     * request's messages (a control request's status, ...) touch no outputs of its
     * cell: the clear stays held. */
    if (t->wclear.n && strcmp(parent, t->wclear_id) == 0) {
        if (kind == K_OTHER && on_update(t, m, &wp) == IOPUB_HELD) return IOPUB_HELD;
        if (kind != K_IDLE) clear_release(t);
    }
    long notice = notice_route(t, kind, parent, &wp);
    if (notice >= 0) return on_execute_input(t, p, m, notice);
    if (!p) return send_on(t, m);
    switch (kind) {
    case K_EXECUTE_INPUT: return on_execute_input(t, p, m, -1);
    case K_IDLE: return on_idle(t, p, m);
    case K_CLEAR: return on_clear(t, p, m, &wp);
    case K_OUTPUT: return on_output(t, p, m, 1);
    case K_STREAM: return on_output(t, p, m, wire_text_ends_line(&t->views[wp.header + 3]));
    case K_COMM: return t->early ? on_comm(t, p, m, &wp) : send_on(t, m); /* rule 8 */
    case K_OTHER: break;
    }
    return send_on(t, m);
}

/* Rule 9: the queue, until a message that must wait again. */
static void drain_queue(struct tagorder *t)
{
    while (t->qhead) {
        struct qnode *q = t->qhead;
        t->qhead = q->next;
        if (!t->qhead) t->qtail = NULL;
        struct mpart m = q->m;
        free(q);
        int held = route(t, &m);
        mpart_free(&m);
        if (held == IOPUB_HELD) break;
    }
}

/* Rule 9: after the held idle's answer, its tag, then the queue until the next idle
 * that must wait. */
static void release_held(struct tagorder *t, struct pending *p)
{
    publish_tag(t, p);
    clear_release(t); /* a wait-clear held back for P goes after its tag */
    pending_remove(t, p);
    t->in_input = 0;
    drain_queue(t);
}

/* Rule 6 (on_update): after the answer, P's tag, its held clear, then the update and
 * the queue behind it. */
static void release_update(struct tagorder *t, struct pending *p)
{
    p->upd_held = 0;
    publish_tag(t, p);
    p->published = 1;
    clear_release(t);
    drain_queue(t);
}

/* ---- the interface ------------------------------------------------------------------------ */

struct tagorder *tagorder_new(void *iopub, const struct wire_key *key,
                              struct classify_worker *worker, int early)
{
    struct tagorder *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->iopub = iopub, t->key = key, t->worker = worker, t->early = early;
    if (worker && classify_worker_reads_context(worker) && !(t->chain = cellchain_new())) {
        free(t);
        return NULL;
    }
    return t;
}

void tagorder_free(struct tagorder *t)
{
    if (!t) return;
    while (t->qhead) {
        struct qnode *q = t->qhead;
        t->qhead = q->next;
        mpart_free(&q->m);
        free(q);
    }
    while (t->n_pend) pending_remove(t, &t->pend[0]);
    free(t->pend);
    tag_header_forget(t);
    mpart_free(&t->wclear);
    free(t->views);
    notice_forget(t);
    cellchain_free(t->chain);
    free(t->text);
    free(t);
}

int tagorder_set_notice(struct tagorder *t, const char *text)
{
    notice_forget(t);
    if (!text || !*text) return 0;
    json_t *c = json_pack("{s:s,s:s}", "name", "stderr", "text", text);
    if (!c) { /* not UTF-8 (a path, an argument): its bytes past ASCII as '?' */
        char *ascii = strdup(text);
        if (!ascii) return -1;
        for (char *q = ascii; *q; q++)
            if ((unsigned char)*q >= 0x80) *q = '?';
        c = json_pack("{s:s,s:s}", "name", "stderr", "text", ascii);
        free(ascii);
    }
    t->notice = c ? json_dumps(c, JSON_COMPACT) : NULL;
    json_decref(c);
    t->notice_owed = t->notice != NULL;
    return t->notice ? 0 : -1;
}

int tagorder_notice_owed(const struct tagorder *t)
{
    return t->notice != NULL; /* owed, or out in a cell that may clear it */
}

void tagorder_learn_session(struct tagorder *t, const struct wire_frame *header)
{
    json_t *h = frame_json(header);
    const char *s = json_string_value(json_object_get(h, "session"));
    const char *u = json_string_value(json_object_get(h, "username"));
    const char *v = json_string_value(json_object_get(h, "version"));
    if (s) {
        tag_header_forget(t);
        snprintf(t->session, sizeof t->session, "%s", s);
        snprintf(t->username, sizeof t->username, "%s", u ? u : "");
        snprintf(t->version, sizeof t->version, "%s", v ? v : "5.3");
    }
    json_decref(h);
}

int tagorder_knows_session(const struct tagorder *t)
{
    return t->session[0] != 0;
}

int tagorder_request(struct tagorder *t, const struct wire_frame *h, const char *src, size_t len,
                     int history, const char *cell_id)
{
    char id[MSG_ID_CAP];
    frame_id(h, "msg_id", id);
    if (!id[0]) return 0;
    notice_candidate(t, h, id);
    if (!t->worker || pending_find(t, id)) return 0;
    if (t->n_pend == t->cap_pend) {
        size_t cap = t->cap_pend ? 2 * t->cap_pend : 16;
        struct pending *np = realloc(t->pend, cap * sizeof *np);
        if (np) t->pend = np, t->cap_pend = cap;
    }
    char *hcopy = malloc(h->len + 1);
    /* A context model reads the cell after the one cellchain.h says: a restart is a
     * new process, with no predecessor. */
    const char *text = src;
    size_t tlen = len;
    struct chain_cell *cell = NULL;
    if (t->chain) {
        const char *before;
        size_t blen;
        if (history) cell = cellchain_ask(t->chain, cell_id, src, len, &before, &blen);
        else cellchain_last(t->chain, &before, &blen);
        if (history && !cell) say("out of memory: the next cell may be read after another");
        tlen = context_text(before, blen, src, len, &t->text, &t->tcap);
        text = tlen == (size_t)-1 ? NULL : t->text;
    }
    struct classify_job *job = text ? classify_job_new(id, text, tlen) : NULL;
    if (t->n_pend == t->cap_pend || !hcopy || !job) {
        free(hcopy);
        classify_job_release(job);
        if (cell) cellchain_aborted(t->chain, cell); /* asked, but never awaited */
        chain_cell_free(cell);
        say("out of memory; cell not tagged");
        return 0;
    }
    memcpy(hcopy, h->data, h->len);
    hcopy[h->len] = 0;
    struct pending *p = &t->pend[t->n_pend++];
    memset(p, 0, sizeof *p);
    p->seq = ++t->requests;
    memcpy(p->id, id, strlen(id) + 1); /* both MSG_ID_CAP bytes */
    p->header = hcopy;
    p->job = job;
    p->cell = cell;
    if (classify_worker_wants(t->worker, tlen)) {
        /* Should the queue refuse it, the job stays unclaimed and runs here at the
         * cell's idle. */
        classify_worker_submit(t->worker, job);
        return 1;
    }
    /* the pending entry holds the job's reference; nobody else has seen it */
    if (classify_job_claim(job)) {
        classify_worker_run(t->worker, job);
        tag_prepare(t, p); /* while the child starts on the cell */
    }
    return 0;
}

void tagorder_classified(struct tagorder *t, const char *id)
{
    struct pending *p = pending_find(t, id);
    if (!p || !classify_job_done(p->job)) return;
    if (p->held) release_held(t, p);
    else if (p->upd_held) release_update(t, p);
    else publish_early(t, p); /* its idle is not out yet, wherever it waits */
}

void tagorder_iopub(struct tagorder *t, struct mpart *m)
{
    if (!t->qhead) { route(t, m); return; }
    struct qnode *q = malloc(sizeof *q); /* rule 9: behind a held idle */
    if (!q) { say("out of memory: iopub message lost"); mpart_close(m); return; }
    q->m = *m;
    *m = (struct mpart){0};
    q->next = NULL;
    t->qtail->next = q;
    t->qtail = q;
}

void tagorder_input_request(struct tagorder *t)
{
    clear_release(t); /* rule 7: a waiting clear goes out before it */
    t->in_input = 1;
}

void tagorder_input_reply(struct tagorder *t)
{
    t->in_input = 0;
}

void tagorder_flush(struct tagorder *t)
{
    clear_release(t);
    while (t->qhead) {
        struct qnode *q = t->qhead;
        t->qhead = q->next;
        mpart_send(t->iopub, &q->m);
        mpart_free(&q->m);
        free(q);
    }
    t->qtail = NULL;
}
