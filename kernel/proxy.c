/* proxy.c — the relay loop between Jupyter and the wrapped kernel (see proxy.h).
 *
 * One thread polls everything (poll(2) on the sockets' ZMQ_FDs, see relay_loop); the
 * heartbeat is passed on to the child's and back in its own thread (kernel/heartbeat.h).  An execute_request is forwarded
 * first and read after (its code in place when it is a plain string), so the child
 * never waits for us; short cells are then classified at once, while the child starts
 * on them, longer ones in kernel/classify_worker.c.  Frames are moved as zmq_msg_t
 * (kernel/mpart.h) from one socket to the other, so what is forwarded is what was
 * received, byte for byte; only the readiness nudges (and the request that tells an
 * ipykernel child Jupyter's connection file) are built and signed here, and two
 * replies edited: connect_reply (the child names its private ports) and usage_reply
 * (its pid, its memory without ours).
 *
 * Where and when each stage tag goes in the iopub stream is kernel/tagorder.c's (its
 * rules are in tagorder.h): every child iopub message is handed to it (relay_iopub),
 * and it is told of each execute_request to tag, of the worker's answers and of input
 * requests and replies; it builds, signs and publishes the tags, and the notice
 * (cfg->notice: why this session has no stage tags, which options were ignored) in the
 * first such request's outputs (again in the next one's when that cell clears it).
 * Without a model there is no worker, and no request is read but while the notice is
 * owed or out in a cell still running (tagorder_notice_owed).
 */
#include "kernel/proxy.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "kernel/classify_worker.h"
#include "kernel/heartbeat.h"
#include "kernel/mpart.h"
#include "kernel/replay.h"
#include "kernel/tagorder.h"
#include "kernel/wire.h"
#include "kernel/wire_json.h"
#include "nbformat/pysrc.h"
#include "nbformat/jsonload.h"
#include "nbformat/notebook.h" /* nb_say */

#define NUDGE_PREFIX "nbstage-nudge-"
#define NUDGE_EVERY_MS 200
#define EXIT_GRACE_MS 3000 /* for the child to exit by itself when the parent went after a
                            * shutdown_request (see parent_gone) */
#define PARENT_SETTLE_MS 300 /* relaying on once the parent is gone (see parent_gone) */
#define HUNG_END_MS 15000  /* a child ending, its heartbeat silent this long, is stuck
                            * (see ending_but_stuck) */
#define BATCH 256          /* messages taken from one socket per poll round */

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
    void *k_shell, *k_control, *k_stdin, *k_iopub, *k_hb; /* the child's side */
    struct classify_worker *worker;
    struct tagorder *tags; /* the stage tags' place in iopub */
    struct heartbeat *hb; /* its thread has c_hb and k_hb (kernel/heartbeat.h) */
    int ready; /* the child's iopub has answered a nudge */
    /* The msg_id prefix of our own requests: NUDGE_PREFIX and this process's random
     * hex, so that a client's request cannot pass for one of ours by its id. */
    char own_prefix[sizeof NUDGE_PREFIX + 16];
    unsigned nudges;
    struct mpart cur;
    struct wire_frame *views;
    size_t views_cap;
    /* A shutdown_request went to the child: its exit, whenever it comes, is the end.
     * Nothing hurries it: ipykernel replies at once but exits only when the cell it
     * is running ends (the shutdown stops its loop, not the cell), and alone it would
     * be left to finish that cell too.  Jupyter interrupts the kernel before its
     * request (a SIGINT, passed on to the child, or an interrupt_request relayed) and
     * sends us SIGTERM when it is still there half its shutdown_wait_time later
     * (handle_signals stops the child then), as it does to ipykernel alone whose cell
     * missed that interrupt (CPython can miss a SIGINT that comes as the cell enters
     * a sleep: see SLEEPING_CELL in tests/integration/test_kernel.py). */
    int shutdown_requested;
    /* The child is ending by itself, as asked: it replied to a cell that ran `exit` or
     * `quit` with an ask_exit payload that keeps no kernel (note_ask_exit).  Its exit is
     * then the end, not a death, and nothing is said of it, as nothing is by ipykernel
     * alone; its exit status is ours. */
    int exit_asked;
    int parent_exited; /* seen gone: we relay on until parent_deadline, then exit */
    int end_signal;    /* SIGTERM or SIGHUP ended the loop: the process ends by it (proxy.h) */
    long long parent_deadline;
    unsigned long n_bad[2]; /* malformed; badly signed or replayed */
    unsigned long n_untagged; /* execute_requests passed on whose code could not be read */
    void *polled[N_POLLED];
    int polled_fd[N_POLLED]; /* ZMQ_FD of each */
    /* 1: the socket may hold messages its ZMQ_FD will not announce, so it is read (to
     * EAGAIN) before the loop sleeps.  See relay_loop. */
    int dirty[N_POLLED];
};

/* Marks SOCK to be read before the next sleep: sending on a zmq socket may process its
 * pending commands, and with them consume the signal of a message that has come in. */
static void touch(struct proxy *px, void *sock)
{
    for (int i = 0; i < N_POLLED; i++)
        if (px->polled[i] == sock) px->dirty[i] = 1;
}

/* A line of the server's log: its strings shown as every message shows them (nb_say:
 * a reason or an address from the wire may hold a newline or an escape sequence).
 * The prefix is part of the format (which must be a literal), so that the line is
 * nb_say's one write: the log also gets the wrapped kernel's stderr, which could land
 * between a prefix written on its own and the rest. */
#define logmsg(...) nb_say(stderr, "nbstage-kernel: " __VA_ARGS__)

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Views of px->cur's frames in px->views; -1 when out of memory. */
static int cur_views(struct proxy *px)
{
    return mpart_views(&px->cur, &px->views, &px->views_cap);
}

/* A client message of px->cur dropped: said in the log with the peer's address (TCP;
 * libzmq knows it for the frames it received), the first 20 and then every 1000th. */
static void count_bad(struct proxy *px, int kind, const char *chan, const char *what, const char *detail)
{
    unsigned long n = ++px->n_bad[kind];
    if (n <= 20 || n % 1000 == 0) {
        const char *peer = px->cur.n ? zmq_msg_gets(&px->cur.f[0], "Peer-Address") : NULL;
        if (peer && !*peer) peer = NULL; /* ipc: no address */
        logmsg("%s message on %s%s%s dropped (%s%s%lu so far)", what, chan, peer ? " from " : "",
               peer ? peer : "", detail ? detail : "", detail ? "; " : "", n);
    }
}

/* What is wrong with px->cur, for the log: SPLIT is wire_split's answer, or 1 when
 * its views could not be made. */
static const char *malformed_why(const struct proxy *px, int split)
{
    if (split > 0 || !px->cur.n) return "out of memory"; /* no views, or mpart_recv's */
    return split == WIRE_TOO_FEW ? "fewer than five frames after <IDS|MSG>" : "no <IDS|MSG> delimiter";
}

/* An execute_request passed on to the child whose code could not be read here (its
 * content not JSON, a part that Python's json would refuse, or no memory): the cell
 * goes untagged, which the log says (as count_bad, the first 20 and then every
 * 1000th). */
static void untagged(struct proxy *px, const char *why)
{
    unsigned long n = ++px->n_untagged;
    if (n <= 20 || n % 1000 == 0)
        logmsg("an execute_request's code could not be read (%s): its cell is not tagged (%lu so far)",
               why, n);
}

/* The worker's answers: cells it has classified, whose tags may go out now. */
static int handle_worker(struct proxy *px)
{
    char id[MSG_ID_CAP];
    while (classify_worker_result(px->worker, id, sizeof id) == 0)
        tagorder_classified(px->tags, id);
    return 1; /* read to EAGAIN */
}

/* ---- the proxy's own requests ------------------------------------------------------- */

/* Sends the child a request of our own on shell: msg_id px->own_prefix..., so that its
 * reply (no client identity) and its iopub messages are dropped, not relayed. */
static void send_own(struct proxy *px, const char *type, const char *content)
{
    char id[96], date[32], sig[WIRE_SIG_HEX_MAX + 1];
    wire_new_id(id, sizeof id, px->own_prefix);
    wire_now_iso(date);
    json_t *h = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "msg_id", id, "msg_type", type,
                          "session", "nbstage-kernel", "username", "nbstage", "date", date,
                          "version", "5.3");
    char *hs = h ? json_dumps(h, JSON_COMPACT) : NULL;
    json_decref(h);
    if (!hs) return;
    struct wire_frame fr[6];
    wire_build(&px->key, hs, "{}", "{}", content, sig, fr);
    for (int i = 0; i < 6; i++)
        zmq_send(px->k_shell, fr[i].data, fr[i].len, (i < 5 ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT);
    free(hs);
    touch(px, px->k_shell);
}

/* The readiness nudge: a kernel_info_request, until the child's iopub answers. */
static void nudge(struct proxy *px)
{
    send_own(px, "kernel_info_request", "{}");
    px->nudges++;
}

/* A Python string literal of S (a JSON string without JSON_ENSURE_ASCII is one);
 * malloc'd, NULL when S is not UTF-8 or out of memory. */
static char *py_literal(const char *s)
{
    json_t *j = json_string(s);
    char *lit = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    return lit;
}

/* In a cell, ipykernel names the connection file it was started with: %connect_info,
 * get_connection_file() and %qtconsole read IPKernelApp.connection_file, sys.argv (and
 * sys.orig_argv) has it after -f, and so has the config the app was given, as
 * config['IPKernelApp']['connection_file'] (get_ipython().config, the kernel's and its
 * session's are that one object).  Code that looks for its notebook reads the kernel
 * id in any of them (public code reads the config's, or tells Voila by it).  For
 * the child that is its private file (ipc, ports 1 to 5); ipykernel alone names
 * Jupyter's.  So the child is told Jupyter's path, by a silent execute_request sent
 * before any client request: no execute_input, execution count or history entry, its
 * output dropped with its iopub messages, and the code runs through exec in a
 * namespace of its own, so it leaves no name behind.  Only for an ipykernel child
 * (the code is Python); its files and sockets are set up already, and it reads the
 * path only when asked.  IPKernelApp's transport, ip and ports are set to Jupyter's
 * too (read only when its sockets were bound, and by code that looks for where
 * clients connect).  The same code takes CHILD_CONNECTION_ENV out of the child's
 * environment: it served at the child's exec (kernel/child.h), and ipykernel alone has
 * no such variable for a cell, `!env` or a subprocess to see. */
static void tell_connection_file(struct proxy *px)
{
    if (!px->cfg->ipykernel || !px->cfg->client_file) return;
    static const char inner[] =
        "import os, sys\n"
        "os.environ.pop('" CHILD_CONNECTION_ENV "', None)\n"
        "from ipykernel.kernelapp import IPKernelApp as A\n"
        "if A.initialized():\n"
        "    a = A.instance()\n"
        "    a.connection_file = %s\n"
        "    for v in (sys.argv, getattr(sys, 'orig_argv', [])):\n"
        "        v[:] = [%s if x == %s else x for x in v]\n"
        "    c = a.config['IPKernelApp'] if 'IPKernelApp' in a.config else {}\n"
        "    if c.get('connection_file') == %s:\n"
        "        c['connection_file'] = %s\n"
        "    a.transport, a.ip = %s, %s\n"
        "    a.shell_port, a.iopub_port, a.stdin_port, a.control_port, a.hb_port = %d, %d, %d, %d, %d\n";
    static const char outer[] = "try:\n    exec(%s, {})\nexcept Exception:\n    pass\n";
    const struct connection *cl = px->cfg->client;
    char *ours = py_literal(px->cfg->client_file), *theirs = py_literal(px->cfg->child->conn_file);
    char *tr = py_literal(cl->transport), *ip = py_literal(cl->ip);
    char *code = NULL, *lit = NULL, *cs = NULL;
    size_t n = ours && theirs && tr && ip ? sizeof inner + 3 * strlen(ours) + 2 * strlen(theirs) +
                                                strlen(tr) + strlen(ip) + N_CHANNELS * 12 : 0;
    if (n && (code = malloc(n)))
        snprintf(code, n, inner, ours, ours, theirs, theirs, ours, tr, ip, cl->port[CH_SHELL], cl->port[CH_IOPUB],
                 cl->port[CH_STDIN], cl->port[CH_CONTROL], cl->port[CH_HB]);
    if (code && (lit = py_literal(code))) {
        n = sizeof outer + strlen(lit);
        free(code);
        if ((code = malloc(n))) snprintf(code, n, outer, lit);
    }
    json_t *c = code && lit ? json_pack("{s:s,s:b,s:b,s:{},s:b,s:b}", "code", code, "silent", 1,
                                        "store_history", 0, "user_expressions", "allow_stdin",
                                        0, "stop_on_error", 0)
                            : NULL;
    if (c) cs = json_dumps(c, JSON_COMPACT);
    if (cs) send_own(px, "execute_request", cs);
    else logmsg("the wrapped kernel still names its own connection file (not UTF-8, or out of memory)");
    json_decref(c);
    free(cs);
    free(code);
    free(lit);
    free(ours);
    free(theirs);
    free(tr);
    free(ip);
}

/* ---- relaying ------------------------------------------------------------------------- */

/* 1 when the member of raw JSON text V[0..N) is the literal true, 0 for false, -1 for
 * anything else. */
static int json_literal_bool(const unsigned char *v, size_t n)
{
    if (n == 4 && memcmp(v, "true", 4) == 0) return 1;
    if (n == 5 && memcmp(v, "false", 5) == 0) return 0;
    return -1;
}

/* Python's bool(V) for a JSON value (NULL, absent: false). */
static int py_truthy(const json_t *v)
{
    if (!v) return 0;
    switch (json_typeof(v)) {
    case JSON_TRUE: return 1;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0;
    case JSON_STRING: return json_string_length(v) != 0;
    case JSON_ARRAY: return json_array_size(v) != 0;
    case JSON_OBJECT: return json_object_size(v) != 0;
    default: return 0; /* false, null */
    }
}

/* The code of an execute_request's content C when it may be classified: not silent,
 * not blank; *HISTORY is 0 when it says store_history false (the spec's default is
 * true).  Read in place when "code" is a plain ASCII string without escapes and
 * "silent" and "store_history" literals or absent (every `pass`-like cell: no JSON
 * tree); otherwise through jansson, and then *TREE holds what SRC points into (the
 * caller's to free). */
static const char *request_code(const struct wire_frame *c, size_t *len, int *history,
                                json_t **tree, json_error_t *je)
{
    *tree = NULL;
    je->text[0] = 0;
    size_t off, n, soff, sn, hoff, hn;
    int has_code = wire_json_member(c, "code", &off, &n);
    int has_silent = has_code == 1 ? wire_json_member(c, "silent", &soff, &sn) : -1;
    int has_hist = has_silent >= 0 ? wire_json_member(c, "store_history", &hoff, &hn) : -1;
    if (has_code == 1 && has_silent >= 0 && has_hist >= 0 && n >= 2 && c->data[off] == '"') {
        const unsigned char *v = c->data + off + 1;
        size_t k = 0;
        while (k < n - 2 && v[k] >= 0x20 && v[k] < 0x7f && v[k] != '\\' && v[k] != '"') k++;
        int silent = has_silent == 0 ? 0 : json_literal_bool(c->data + soff, sn);
        int hist = has_hist == 0 ? 1 : json_literal_bool(c->data + hoff, hn);
        if (k == n - 2 && silent >= 0 && hist >= 0) {
            if (silent) return NULL;
            *len = k;
            *history = hist;
            return pysrc_is_blank((const char *)v, k) ? NULL : (const char *)v;
        }
    }
    /* A NUL in the code (\u0000) is kept, as the notebook reader keeps it (nbread.c):
     * without JSON_ALLOW_NUL jansson refuses the whole content, and a cell that the
     * child starts (execute_input) would go untagged. */
    json_t *content = nb_json_loadb((const char *)c->data, c->len, JSON_ALLOW_NUL, je);
    if (!content && !je->text[0]) snprintf(je->text, sizeof je->text, "out of memory");
    json_t *code = json_object_get(content, "code");
    const char *src = json_string_value(code);
    *len = json_string_length(code);
    /* as ipykernel reads them: by Python's truth (0 and null are false), absent the default */
    json_t *hv = json_object_get(content, "store_history");
    *history = hv ? py_truthy(hv) : 1;
    if (!src || py_truthy(json_object_get(content, "silent")) || pysrc_is_blank(src, *len)) {
        json_decref(content);
        return NULL;
    }
    *tree = content;
    return src;
}

/* The frontend's cellId in metadata MD, as the key cellchain compares (into OUT, CAP >=
 * 40 bytes; "" when none): a digest of its whole JSON text.  A copy cut at some length
 * made every cell of a notebook one cell where the ids differ only at their end:
 * VS Code's are the notebook's URI, then '#' and the cell's fragment. */
static void cell_key(const struct wire_frame *md, char *out, size_t cap)
{
    size_t off, n;
    out[0] = 0;
    int found = wire_json_member(md, "cellId", &off, &n);
    if (found < 0) { /* not understood here: jansson's copy, cut (one frontend in a thousand) */
        frame_string(md, "cellId", out, cap);
        return;
    }
    if (found == 0 || n <= 2 || md->data[off] != '"') return; /* none, "", or not a string */
    /* over the raw text, quotes and all */
    snprintf(out, cap, "id:%016llx:%zu", (unsigned long long)frame_fnv1a(md->data + off, n), n);
}

/* An execute_request (HEADER, PARENT header, METADATA and CONTENT frames), just
 * forwarded: with real code, its tag is owed (tagorder_request classifies a short cell
 * at once, hands a longer one to the worker), and the notice when it is owed still.
 * The metadata's cellId (JupyterLab and Notebook 7 send one) tells a cell run again.
 * A request with a part that Python's json cannot read, ipykernel drops unrun ("Invalid
 * Message"): awaited here, it was a cell the next one was read after, and its entry
 * waited for an idle that never came (QA, 2026-12-06). */
static void maybe_classify(struct proxy *px, const struct wire_frame *h, const struct wire_frame *parent,
                           const struct wire_frame *md, const struct wire_frame *c)
{
    if (!wire_json_valid(h) || !wire_json_valid(parent) || !wire_json_valid(md) || !wire_json_valid(c)) {
        untagged(px, "a part of it is not JSON that ipykernel reads, so ipykernel drops it unrun");
        return;
    }
    json_t *tree;
    json_error_t je;
    size_t len;
    int history = 1;
    const char *src = request_code(c, &len, &history, &tree, &je);
    if (!src && je.text[0]) untagged(px, je.text);
    char cell_id[128];
    if (src) cell_key(md, cell_id, sizeof cell_id);
    if (src && tagorder_request(px->tags, h, src, len, history, cell_id))
        touch(px, classify_worker_socket(px->worker));
    json_decref(tree);
}

enum chan { SHELL, CONTROL, STDIN };
static const char *const chan_name[] = {"shell", "control", "stdin"};

/* Client -> child on one channel: checked, then forwarded untouched. */
static int relay_client(struct proxy *px, void *from, void *to, enum chan ch)
{
    int k;
    for (k = 0; k < BATCH && mpart_recv(from, &px->cur) == 1; k++) {
        struct wire_parts wp;
        int split = cur_views(px) ? 1 : wire_split(px->views, px->cur.n, &wp);
        if (split) {
            count_bad(px, 0, chan_name[ch], "malformed", malformed_why(px, split));
            mpart_close(&px->cur);
            continue;
        }
        if (!wire_verify(&px->key, px->views, &wp)) {
            count_bad(px, 1, chan_name[ch], "badly signed", NULL);
            mpart_close(&px->cur);
            continue;
        }
        if (px->seen && replay_seen(px->seen, px->views[wp.sig].data, px->views[wp.sig].len)) {
            count_bad(px, 1, chan_name[ch], "replayed", "its signature was seen before");
            mpart_close(&px->cur);
            continue;
        }
        /* An execute_request goes to the child first and is looked at after: its four
         * JSON parts stay readable through references of their own (zmq shares the
         * buffer of all but the shortest frames, no copy). */
        zmq_msg_t keep[4];
        int kept = 0;
        if (ch == STDIN) {
            tagorder_input_reply(px->tags); /* answered */
        } else {
            char type[64];
            frame_string(&px->views[wp.header], "msg_type", type, sizeof type);
            if (ch == SHELL && (px->worker || tagorder_notice_owed(px->tags)) &&
                strcmp(type, "execute_request") == 0) {
                kept = 1; /* header, parent header, metadata, content */
                for (int i = 0; i < 4; i++) {
                    zmq_msg_init(&keep[i]);
                    kept = kept && zmq_msg_copy(&keep[i], &px->cur.f[wp.header + i]) == 0;
                }
                if (!kept) {
                    for (int i = 0; i < 4; i++) zmq_msg_close(&keep[i]);
                    untagged(px, "out of memory");
                }
            } else if (strcmp(type, "shutdown_request") == 0) {
                px->shutdown_requested = 1;
            }
        }
        mpart_send(to, &px->cur);
        touch(px, to);
        if (kept) {
            struct wire_frame f[4];
            for (int i = 0; i < 4; i++)
                f[i] = (struct wire_frame){zmq_msg_data(&keep[i]), zmq_msg_size(&keep[i])};
            maybe_classify(px, &f[0], &f[1], &f[2], &f[3]);
            for (int i = 0; i < 4; i++) zmq_msg_close(&keep[i]);
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

/* The reply in px->cur given the content C (taken; NULL: left as it was) and signed
 * again; WHAT names it in the log when memory runs out. */
static void put_content(struct proxy *px, const struct wire_parts *wp, json_t *c, const char *what)
{
    char *text = c ? json_dumps(c, JSON_COMPACT) : NULL;
    if (c && !text) logmsg("out of memory: %s relayed as the child wrote it", what);
    json_decref(c);
    if (!text) return;
    char sig[WIRE_SIG_HEX_MAX + 1];
    if (replace_frame(px, wp->header + 3, text, strlen(text)) == 0 && cur_views(px) == 0) {
        wire_sign(&px->key, &px->views[wp->header], sig);
        if (replace_frame(px, wp->sig, sig, strlen(sig))) logmsg("out of memory: %s unsigned", what);
    }
    free(text);
}

/* A connect_reply names the ports of the kernel that wrote it: for the child, its
 * private ipc ones (1 to 5).  ipykernel alone names the ports its clients connect to,
 * so those go in. */
static void fix_connect_reply(struct proxy *px, const struct wire_parts *wp)
{
    json_t *c = frame_json(&px->views[wp->header + 3]);
    int changed = 0, bad = 0;
    for (int ch = 0; ch < N_CHANNELS && json_is_object(c) && !bad; ch++)
        if (json_is_integer(json_object_get(c, conn_port_key[ch]))) {
            bad = json_object_set_new(c, conn_port_key[ch], json_integer(px->cfg->client->port[ch]));
            changed = 1;
        }
    /* Out of memory halfway: the reply goes on as the child wrote it, not half fixed. */
    if (bad) logmsg("out of memory: connect_reply relayed with the child's ports");
    if (!changed || bad) json_decref(c), c = NULL;
    put_content(px, wp, c, "connect_reply");
}

/* Our memory in bytes as ipykernel's usage_reply counts a process's: its proportional
 * set size (psutil's memory_full_info().pss: /proc/self/smaps_rollup), else its
 * resident set (/proc/self/statm); -1 when neither can be read. */
static long long own_memory(void)
{
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    char line[256];
    long long kb = -1;
    while (f && kb < 0 && fgets(line, sizeof line, f))
        if (sscanf(line, "Pss: %lld kB", &kb) != 1) kb = -1;
    if (f) fclose(f);
    if (kb >= 0) return kb * 1024;
    long long size, resident;
    f = fopen("/proc/self/statm", "r");
    int ok = f && fscanf(f, "%lld %lld", &size, &resident) == 2;
    if (f) fclose(f);
    return ok ? resident * sysconf(_SC_PAGESIZE) : -1;
}

/* A usage_reply (ipykernel 6.11+, on control) is about the process that wrote it and
 * its children: for the child, its pid, and its memory without ours.  ipykernel alone
 * gives the pid Jupyter started, and that process's memory with its children's: so
 * our pid goes in, and our memory is added (a tool such as
 * jupyter-resource-usage shows it).  kernel_cpu is left as it is: ours is a sample over
 * an interval, which a reply cannot take, and small beside the kernel's. */
static void fix_usage_reply(struct proxy *px, const struct wire_parts *wp)
{
    json_t *c = frame_json(&px->views[wp->header + 3]);
    json_t *mem = json_object_get(c, "kernel_memory");
    long long rss = own_memory();
    int bad = !json_is_integer(json_object_get(c, "pid")) ||
              json_object_set_new(c, "pid", json_integer((json_int_t)getpid()));
    if (!bad && json_is_number(mem) && rss > 0)
        bad = json_is_integer(mem) ? json_object_set_new(c, "kernel_memory", json_integer(json_integer_value(mem) + rss))
                                   : json_object_set_new(c, "kernel_memory", json_real(json_number_value(mem) + (double)rss));
    if (bad) json_decref(c), c = NULL; /* not ipykernel's reply, or out of memory: as it came */
    put_content(px, wp, c, "usage_reply");
}

/* An execute_reply's CONTENT, relayed: ipykernel, after a cell that ran `exit` or `quit`
 * (ZMQExitAutocall -> ZMQInteractiveShell.ask_exit), says so in an ask_exit payload,
 * and unless it says keepkernel (exit(keep_kernel=True)) it stops 0.1 s later and exits
 * with status 0 (exit_now), without a shutdown_request: a notebook sends none, and
 * jupyter console sends its own after this reply, which may reach us after the child
 * has gone.  Before, that exit was taken for the kernel dying, and said in the server's
 * log or the terminal of the console that started the kernel ("the wrapped kernel
 * exited with status 0; exiting so that Jupyter restarts the kernel"), where ipykernel
 * alone says nothing (tests/integration/test_console_existing.py).  A JSON tree only
 * for a reply that names ask_exit. */
static void note_ask_exit(struct proxy *px, const struct wire_frame *content)
{
    if (!memmem(content->data, content->len, "ask_exit", 8)) return;
    json_t *c = frame_json(content), *item;
    size_t i;
    json_array_foreach(json_object_get(c, "payload"), i, item) {
        const char *source = json_string_value(json_object_get(item, "source"));
        if (source && strcmp(source, "ask_exit") == 0)
            px->exit_asked = !json_is_true(json_object_get(item, "keepkernel"));
    }
    json_decref(c);
}

/* Child -> client on shell, control or stdin: replies carry the client's identities. */
static int relay_child(struct proxy *px, void *from, void *to, enum chan ch)
{
    int k;
    for (k = 0; k < BATCH && mpart_recv(from, &px->cur) == 1; k++) {
        struct wire_parts wp;
        if (cur_views(px) || wire_split(px->views, px->cur.n, &wp) || wp.n_ids == 0) {
            mpart_close(&px->cur); /* replies to our own requests, or nothing routable */
            continue;
        }
        if (ch == STDIN) { /* an input_request */
            tagorder_input_request(px->tags);
        } else {
            char type[64];
            frame_string(&px->views[wp.header], "msg_type", type, sizeof type);
            if (strcmp(type, "connect_reply") == 0) fix_connect_reply(px, &wp);
            else if (strcmp(type, "usage_reply") == 0) fix_usage_reply(px, &wp);
            else if (ch == SHELL && strcmp(type, "execute_reply") == 0)
                note_ask_exit(px, &px->views[wp.header + 3]);
        }
        mpart_send(to, &px->cur);
        touch(px, to);
    }
    return k < BATCH;
}

/* Whether PARENT (a header) is one of send_own's requests: its msg_id starts with
 * px->own_prefix.  The text anywhere else (a client's username "nbstage-nudge-bot"),
 * or NUDGE_PREFIX alone in a client's msg_id, is the client's: its output was
 * dropped.  The search first, the lookup only then. */
static int is_own_parent(const struct proxy *px, const struct wire_frame *parent)
{
    char id[96];
    size_t n = strlen(px->own_prefix);
    return memmem(parent->data, parent->len, px->own_prefix, n) &&
           wire_json_string(parent, "msg_id", id, sizeof id) == 1 && !strncmp(id, px->own_prefix, n);
}

static int relay_iopub(struct proxy *px)
{
    int k;
    for (k = 0; k < BATCH && mpart_recv(px->k_iopub, &px->cur) == 1; k++) {
        struct wire_parts wp;
        if (cur_views(px) || wire_split(px->views, px->cur.n, &wp)) {
            /* not ours to judge, but in its place: behind a held idle (tagorder rule 9) */
            tagorder_iopub(px->tags, &px->cur);
            continue;
        }
        const struct wire_frame *parent = &px->views[wp.header + 1];
        if (is_own_parent(px, parent)) {
            if (!px->ready) {
                tagorder_learn_session(px->tags, &px->views[wp.header]);
                tell_connection_file(px); /* before any client request */
                px->ready = 1;
                /* clients are read from now on; what waits was never announced */
                px->dirty[P_C_SHELL] = px->dirty[P_C_CONTROL] = px->dirty[P_C_STDIN] = 1;
            }
            mpart_close(&px->cur); /* our own requests' busy/idle are not the clients' */
            continue;
        }
        if (!tagorder_knows_session(px->tags))
            tagorder_learn_session(px->tags, &px->views[wp.header]);
        tagorder_iopub(px->tags, &px->cur);
    }
    return k < BATCH;
}

/* ---- set-up and end ------------------------------------------------------------------- */

/* A socket of TYPE bound or connected to ENDPOINT.  UNBOUNDED: no high-water mark (the
 * relayed channels); else libzmq's 1,000 messages a peer, as ipykernel's heartbeat has. */
static void *new_socket(struct proxy *px, int type, const char *endpoint, int bind, int unbounded,
                        char *err, size_t errlen)
{
    void *s = zmq_socket(px->ctx, type);
    if (!s) { snprintf(err, errlen, "zmq_socket: %s", zmq_strerror(zmq_errno())); return NULL; }
    int zero = 0, linger = 1000, ivl = 10, one = 1;
    /* Never drop or block relayed output.  The price, measured 2026-12-05: a subscriber
     * that stops reading (a suspended `jupyter console --existing`) has its iopub queued
     * here, ~8 kB a message, until it reads or goes (171 MB over 20,000 lines of 1 kB).
     * A limit per client (libzmq's 1,000, as ipykernel has; or 10,000) drops a fast
     * cell's output for a client that does read: at 10,000, a cell printing 40,000
     * lines lost the idle, and the client waited for ever.  Not the heartbeat: anyone
     * who reaches its port (nothing there is signed) grew the echo's queue by all it
     * sent, by not reading (8,000 pings of 64 kB: 18 -> 528 MB, QA 2026-12-06).  Like
     * ipykernel's, it now keeps at most libzmq's 1,000 messages a peer each way and
     * drops the rest; pings of any size are still echoed, as ipykernel echoes them. */
    if (unbounded) {
        zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero);
        zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero);
    }
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
    struct connection *cc = px->cfg->client;
    const struct connection *kc = &px->cfg->child->conn;
    char ep[400];
    static const int client_type[N_CHANNELS] = {ZMQ_ROUTER, ZMQ_PUB, ZMQ_ROUTER, ZMQ_ROUTER, ZMQ_ROUTER};
    void **client[N_CHANNELS] = {&px->c_shell, &px->c_iopub, &px->c_stdin, &px->c_control, &px->c_hb};
    for (int ch = 0; ch < N_CHANNELS; ch++) {
        connection_endpoint(cc, ch, ep, sizeof ep);
        if (!(*client[ch] = new_socket(px, client_type[ch], ep, 1, ch != CH_HB, err, errlen))) return -1;
        if (!cc->port[ch]) { /* tcp://ip:*: the port libzmq chose */
            char last[400];
            size_t n = sizeof last;
            const char *colon;
            if (zmq_getsockopt(*client[ch], ZMQ_LAST_ENDPOINT, last, &n) || !(colon = strrchr(last, ':'))) {
                snprintf(err, errlen, "bind %s: no port known", ep);
                return -1;
            }
            cc->port[ch] = atoi(colon + 1);
        }
    }
    /* What the connection file lacked, made up as ipykernel makes it, written back for
     * the clients to read (kernel/connection.h) */
    if (cc->filled && px->cfg->client_file) {
        if (connection_write(px->cfg->client_file, cc, err, errlen)) return -1;
        cc->written = 1;
    }
    static const int child_type[N_CHANNELS] = {ZMQ_DEALER, ZMQ_SUB, ZMQ_DEALER, ZMQ_DEALER, ZMQ_DEALER};
    void **child[N_CHANNELS] = {&px->k_shell, &px->k_iopub, &px->k_stdin, &px->k_control, &px->k_hb};
    for (int ch = 0; ch < N_CHANNELS; ch++) {
        connection_endpoint(kc, ch, ep, sizeof ep);
        if (!(*child[ch] = new_socket(px, child_type[ch], ep, 0, ch != CH_HB, err, errlen))) return -1;
    }
    if (!(px->hb = heartbeat_start(px->c_hb, px->k_hb, err, errlen))) return -1;
    px->c_hb = px->k_hb = NULL; /* the thread's now */
    if (px->cfg->model) {
        px->worker = classify_worker_start(px->ctx, px->cfg->model, px->cfg->display, err, errlen);
        if (!px->worker) return -1;
    }
    int early = px->cfg->display && px->cfg->display->position_top;
    if (!(px->tags = tagorder_new(px->c_iopub, &px->key, px->worker, early))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (tagorder_set_notice(px->tags, px->cfg->notice))
        logmsg("out of memory: what is said above is not said in the notebook");
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
                     px->k_shell, px->k_control, px->k_stdin, px->k_iopub, px->k_hb};
    int zero = 0;
    for (size_t i = 0; i < sizeof socks / sizeof *socks; i++) {
        if (!socks[i]) continue;
        if (i >= 5) zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero); /* child is gone */
        zmq_close(socks[i]);
    }
    zmq_ctx_shutdown(px->ctx); /* ends the heartbeat's thread */
    heartbeat_join(px->hb);
    zmq_ctx_term(px->ctx);
    tagorder_free(px->tags);
    wire_key_release(&px->key);
    replay_free(px->seen);
    mpart_free(&px->cur);
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
        if (si.ssi_signo == SIGINT) { /* an interrupt: the child's (kernel/child.h) */
            child_signal(px->cfg->child, SIGINT);
            continue;
        }
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGHUP) {
            child_signal(px->cfg->child, SIGTERM); /* its group, as Jupyter's killpg reached it */
            child_stop(px->cfg->child, 1000);
            tagorder_flush(px->tags);
            px->end_signal = (int)si.ssi_signo;
            return 0;
        }
        if (si.ssi_signo == SIGCHLD && child_reaped(px->cfg->child)) {
            drain_child(px, 300);
            tagorder_flush(px->tags);
            if (px->shutdown_requested) return 0;
            if (px->exit_asked && WIFEXITED(px->cfg->child->status))
                return child_exit_code(px->cfg->child); /* as asked: not a death */
            char how[96];
            child_describe_exit(px->cfg->child, how, sizeof how);
            logmsg("the wrapped kernel %s; exiting so that Jupyter restarts the kernel", how);
            /* Jupyter's restart kills a dead ipykernel's group, leftovers too; ours it
             * cannot reach once we are gone (kernel/child.h) */
            child_kill_group(px->cfg->child);
            return child_exit_code(px->cfg->child); /* the keeper's SIGCHLD is not a 2nd death */
        }
    }
    return code;
}

/* The child was asked to end: a shutdown_request passed on, or a cell's `exit` it
 * replied to (see the two fields). */
static int asked_to_end(const struct proxy *px)
{
    return px->shutdown_requested || px->exit_asked;
}

/* The child is ending, as a shutdown_request or a cell's `exit` asked, but is stuck:
 * its heartbeat has been silent HUNG_END_MS, and it is still there.  ipykernel 6.17
 * can deadlock in its own teardown: when the shutdown_request that jupyter console
 * sends after an `exit` reaches the control thread as the main thread, 0.1 s after
 * that `exit`, closes the IOPub thread, the control thread blocks for good sending to
 * that thread's closed event pipe, and the main thread joins it for good (seen in CI,
 * and at will by sending the request 0.11 s after the `exit`'s reply; ipykernel alone
 * hangs so too, more rarely, as the request reaches it sooner).  Jupyter kills such a
 * kernel when it asked for the shutdown itself, but not when another client did, or
 * a notebook's `exit`: the kernel then hung there for good, its sockets closed, and a
 * notebook waited for the restart.  The heartbeat tells that end from a long one:
 * IPKernelApp.close ends it first, while a cell still running (a shutdown_request
 * waits for it) or the user's atexit handlers (they run before close) leave it
 * answering, as does a kernel that ignores an ask_exit. */
static int ending_but_stuck(struct proxy *px)
{
    if (!asked_to_end(px)) return 0;
    heartbeat_watch(px->hb); /* the first call starts the watch, the others do nothing */
    /* A child that has just exited, its SIGCHLD not read yet, is not stuck: its end
     * is handle_signals' to tell (its status, what it still has to say).  Reaped here,
     * it is reaped there too (child_reaped). */
    return heartbeat_quiet_ms(px->hb) >= HUNG_END_MS && !child_reaped(px->cfg->child);
}

/* Our parent is gone: ipykernel alone exits then (its ParentPollerUnix, when
 * JPY_PARENT_PID is set), and so must we, or a Jupyter server killed with -9 would
 * leave us and the child running for good.  Returns the exit code, ipykernel's.
 *
 * The parent may have asked for the shutdown as its last act: `jupyter console` sends
 * a shutdown_request on exit and ends without waiting for the reply, so its pidfd can
 * be readable before that request is (zmq's I/O thread may not have queued it yet).
 * So the loop relays on for PARENT_SETTLE_MS once the parent is seen gone (ipykernel's
 * poller looks once a second); a shutdown_request that comes in that time reaches the
 * child, whose exit then ends us as any other.  Here, the child is shutting down as
 * with ipykernel alone and has EXIT_GRACE_MS to exit by itself (its atexit handlers,
 * its history), and nothing is said in the terminal the user just left.  Seen before: on
 * `exit` in jupyter console, "the process ... is gone" printed under "Shutting down
 * kernel" (tests/integration/test_console.py), and the child sent SIGTERM if it had
 * not exited yet. */
static int parent_gone(struct proxy *px)
{
    if (asked_to_end(px)) {
        if (!child_wait(px->cfg->child, EXIT_GRACE_MS)) child_stop(px->cfg->child, 1000);
        tagorder_flush(px->tags);
        return 0;
    }
    logmsg("the process that started the kernel (pid %ld) is gone; shutting down",
           (long)px->cfg->parent);
    child_stop(px->cfg->child, 1000);
    return 1;
}

/* The parent is seen gone: relay on a little, with the clients' sockets read (see
 * parent_gone), then exit. */
static void note_parent_gone(struct proxy *px)
{
    if (px->parent_exited) return;
    px->parent_exited = 1;
    px->parent_deadline = now_ms() + PARENT_SETTLE_MS;
    px->dirty[P_C_SHELL] = px->dirty[P_C_CONTROL] = px->dirty[P_C_STDIN] = 1;
}

/* This process's msg_id prefix for its own requests (own_prefix): NUDGE_PREFIX and 8
 * random bytes in hex. */
static void make_own_prefix(struct proxy *px)
{
    unsigned char r[8];
    char hex[2 * sizeof r + 1];
    randombytes_buf(r, sizeof r);
    sodium_bin2hex(hex, sizeof hex, r, sizeof r);
    snprintf(px->own_prefix, sizeof px->own_prefix, "%s%s", NUDGE_PREFIX, hex);
}

/* The signing key, the replay set, the zmq context and the sockets (setup).  -1 when
 * the loop can run, else the exit code, the child stopped. */
static int start_relay(struct proxy *px)
{
    const struct proxy_config *cfg = px->cfg;
    make_own_prefix(px);
    px->key = (struct wire_key){cfg->client->key, cfg->client->key_len, NULL};
    int sha512 = strcmp(cfg->client->signature_scheme, "hmac-sha512") == 0;
    int no_key = wire_key_prepare_scheme(&px->key, sha512);
    if (no_key && !sha512) logmsg("out of memory: signing the slow way");
    if (px->key.len && !(px->seen = replay_new()))
        logmsg("out of memory: replayed messages go to the kernel, which drops them");
    px->ctx = zmq_ctx_new();
    char err[512];
    if (no_key && sha512) { /* only the prepared key knows the scheme */
        logmsg("out of memory");
        child_stop(cfg->child, 1000);
        return 1;
    }
    if (!px->ctx || setup(px, err, sizeof err)) {
        logmsg("%s", px->ctx ? err : "zmq_ctx_new failed");
        child_stop(cfg->child, 1000);
        return 1;
    }
    return -1;
}

/* The relay loop's timers, in ms of now_ms(). */
struct loop_clock {
    long long next_nudge, started, next_parent_check;
    int warned_slow;
    int poll_parent; /* no pidfd: getppid() each second */
};

/* Without a pidfd, the parent is looked for by getppid() once a second. */
static void check_parent(struct proxy *px, struct loop_clock *lc, long long t)
{
    if (lc->poll_parent && !px->parent_exited && t >= lc->next_parent_check) {
        if (getppid() != px->cfg->parent) note_parent_gone(px);
        lc->next_parent_check = t + 1000;
    }
}

/* Ends a child stuck in its own end (ending_but_stuck). */
static void stop_stuck_child(struct proxy *px)
{
    logmsg("the wrapped kernel was asked to end (%s) and has not, its heartbeat silent "
           "for %d s: stuck in its own shutdown; stopping it",
           px->exit_asked ? "a cell ran exit" : "a shutdown_request", HUNG_END_MS / 1000);
    child_stop(px->cfg->child, 1000);
    /* a forced end, as Jupyter's kill of a kernel that did not end: its group
     * goes too, the processes its cells started (kernel/child.h) */
    child_kill_group(px->cfg->child);
    tagorder_flush(px->tags);
}

/* Until the child's iopub answers: a nudge every NUDGE_EVERY_MS, and a line in the log
 * once it has been 30 s. */
static void nudge_if_due(struct proxy *px, struct loop_clock *lc, long long t)
{
    if (!px->ready && t >= lc->next_nudge) {
        nudge(px);
        lc->next_nudge = t + NUDGE_EVERY_MS;
        if (!lc->warned_slow && t - lc->started > 30000) {
            logmsg("the wrapped kernel has not answered for 30 s; still waiting");
            lc->warned_slow = 1;
        }
    }
}

/* What is due at T, before the sockets are served: the parent's check and, once it is
 * gone, its settle time; a child stuck in its end; the nudges.  -1 to go on, else the
 * exit code. */
static int on_clock(struct proxy *px, struct loop_clock *lc, long long t)
{
    check_parent(px, lc, t);
    if (px->parent_exited && t >= px->parent_deadline) return parent_gone(px);
    if (ending_but_stuck(px)) {
        stop_stuck_child(px);
        return 0;
    }
    nudge_if_due(px, lc, t);
    return -1;
}

/* One pass over the sockets that may hold messages (dirty), each read until EAGAIN or
 * a full batch; the clients' wait until the child is ready. */
static void serve_dirty(struct proxy *px)
{
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
}

/* A socket served now is still dirty after the pass (a full batch, or a send touched
 * it): poll(2) must not sleep. */
static int any_dirty(const struct proxy *px)
{
    int busy = 0;
    for (int i = 0; i < N_POLLED; i++)
        if (px->dirty[i] && px->polled[i] && (i < P_C_SHELL || px->ready)) busy = 1;
    return busy;
}

/* The poll set: the signalfd first (MAP -1), the parent's pidfd while it is watched
 * (-2), then the ZMQ_FD of each socket served now (its P_ index).  Returns its size. */
static int fill_pollset(const struct proxy *px, struct pollfd *pfd, int *map)
{
    const struct proxy_config *cfg = px->cfg;
    int n = 0;
    pfd[n] = (struct pollfd){cfg->signal_fd, POLLIN, 0}, map[n++] = -1;
    if (cfg->parent && cfg->parent_fd >= 0 && !px->parent_exited) /* readable for good once gone */
        pfd[n] = (struct pollfd){cfg->parent_fd, POLLIN, 0}, map[n++] = -2;
    for (int i = 0; i < N_POLLED; i++) {
        if (!px->polled[i] || (i >= P_C_SHELL && !px->ready)) continue;
        pfd[n] = (struct pollfd){px->polled_fd[i], POLLIN, 0}, map[n++] = i;
    }
    return n;
}

/* How long poll(2) may sleep, in ms: until the next nudge, parent check or the parent's
 * deadline, a second at most while the child is asked to end, 0 when BUSY; -1: until
 * something comes. */
static int poll_timeout(const struct proxy *px, const struct loop_clock *lc, int busy)
{
    long long t = now_ms();
    int timeout = -1;
    if (!px->ready) timeout = lc->next_nudge - t > 0 ? (int)(lc->next_nudge - t) : 0;
    if (lc->poll_parent && !px->parent_exited && (timeout < 0 || lc->next_parent_check - t < timeout))
        timeout = lc->next_parent_check - t > 0 ? (int)(lc->next_parent_check - t) : 0;
    if (px->parent_exited && (timeout < 0 || px->parent_deadline - t < timeout))
        timeout = px->parent_deadline - t > 0 ? (int)(px->parent_deadline - t) : 0;
    if (asked_to_end(px) && (timeout < 0 || timeout > 1000))
        timeout = 1000; /* ending_but_stuck, once a second (set in this pass, maybe) */
    if (busy) timeout = 0;
    return timeout;
}

/* What poll(2) found: readable sockets marked dirty, the signals read, the parent's
 * exit noted.  -1 to go on, else the exit code (handle_signals). */
static int take_events(struct proxy *px, const struct pollfd *pfd, const int *map, int n)
{
    int code = -1, parent_exited = 0;
    for (int k = 1; k < n; k++)
        if (pfd[k].revents) {
            if (map[k] == -2) parent_exited = 1; /* a pidfd is readable once it exits */
            else px->dirty[map[k]] = 1;
        }
    if (pfd[0].revents) code = handle_signals(px);
    if (code < 0 && parent_exited) note_parent_gone(px);
    return code;
}

/* Relays until the end; returns the exit code.
 *
 * Each round serves every socket that may hold messages, each until EAGAIN.  That last
 * recv processes the socket's pending commands, so from then on its ZMQ_FD is readable
 * exactly when something new comes; sleeping in poll(2) on the ZMQ_FDs therefore
 * misses nothing, and unlike zmq_poll it costs no ZMQ_EVENTS round (two syscalls per
 * socket, twice per call) on sockets with nothing to say.  One pass, then poll(2)
 * without waiting when some socket is still dirty, so that signals and deadlines are
 * seen in a flood. */
static int relay_loop(struct proxy *px)
{
    const struct proxy_config *cfg = px->cfg;
    struct loop_clock lc = {.next_nudge = 0, .started = now_ms(), .next_parent_check = 0,
                            .warned_slow = 0, .poll_parent = cfg->parent && cfg->parent_fd < 0};
    int code = -1;
    while (code < 0) {
        if ((code = on_clock(px, &lc, now_ms())) >= 0) break;
        serve_dirty(px);
        int busy = any_dirty(px);
        struct pollfd pfd[2 + N_POLLED];
        int map[2 + N_POLLED];
        int n = fill_pollset(px, pfd, map);
        if (poll(pfd, n, poll_timeout(px, &lc, busy)) < 0) {
            if (errno == EINTR) continue;
            logmsg("poll: %s", strerror(errno));
            child_stop(cfg->child, 1000);
            return 1;
        }
        code = take_events(px, pfd, map, n);
    }
    return code;
}

int proxy_run(const struct proxy_config *cfg, int *end_signal)
{
    *end_signal = 0;
    struct proxy *px = calloc(1, sizeof *px);
    if (!px) { logmsg("out of memory"); child_stop(cfg->child, 1000); return 1; }
    px->cfg = cfg;
    int code = start_relay(px);
    if (code < 0) code = relay_loop(px);
    teardown(px);
    *end_signal = px->end_signal;
    free(px);
    return code;
}
