/* test_mpart.c — kernel/mpart.h over a real zmq pair (inproc): a message is received
 * whole, frame for frame (past the first 16 frames the array grows), sent on as it
 * came, viewed for kernel/wire.h, and a string member read from a JSON frame by the
 * light scanner or, where it gives up, by jansson, a message id whole or by a digest
 * (frame_id), and a message dropped whole when its frames find no memory.  Until now only the integration tests reached this module. */
#include "tests/unit/unit.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "kernel/mpart.h"

/* realloc: refuses one block of REFUSE_SIZE bytes, once, when asked (the frame array's
 * growth); anything else goes through. */
static size_t refuse_size;

void *realloc(void *p, size_t n)
{
    static void *(*real)(void *, size_t);
    if (refuse_size && n == refuse_size) {
        refuse_size = 0;
        errno = ENOMEM;
        return NULL;
    }
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "realloc");
    return real(p, n);
}

static void *ctx, *a, *b, *sub; /* sub: a socket that cannot send */

static int pair_up(void **state)
{
    (void)state;
    ctx = zmq_ctx_new();
    a = zmq_socket(ctx, ZMQ_PAIR);
    b = zmq_socket(ctx, ZMQ_PAIR);
    sub = zmq_socket(ctx, ZMQ_SUB);
    if (!ctx || !a || !b || !sub || zmq_bind(a, "inproc://mpart") || zmq_connect(b, "inproc://mpart"))
        return -1;
    return 0;
}

static int pair_down(void **state)
{
    (void)state;
    zmq_close(a);
    zmq_close(b);
    zmq_close(sub); /* here, not in the test: a failed test must not leave zmq_ctx_term waiting */
    zmq_ctx_term(ctx);
    return 0;
}

/* Frame I of the test messages: "frame I" with I's own length, the 3rd empty, every
 * 4th (the first among them) longer than zmq keeps inside the message (so a frame not
 * closed is a leak that ASan reports). */
static void frame_text(size_t i, char *out, size_t cap)
{
    if (i == 2) out[0] = 0;
    else snprintf(out, cap, "frame %zu%.*s", i, (int)(i % 4 == 0 ? 100 : i % 5),
                  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static void send_frames(void *sock, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char t[128];
        frame_text(i, t, sizeof t);
        assert_int_equal(zmq_send(sock, t, strlen(t), i + 1 < n ? ZMQ_SNDMORE : 0), (int)strlen(t));
    }
}

/* Waits up to a second for a message on SOCK (mpart_recv does not wait). */
static int recv_wait(void *sock, struct mpart *m)
{
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 1000) != 1) return 0;
    return mpart_recv(sock, m);
}

static void received_whole_viewed_and_sent_on_as_it_came(void **state)
{
    (void)state;
    struct mpart m = {0};
    assert_int_equal(mpart_recv(b, &m), 0); /* nothing waiting: 0, at once */
    assert_int_equal(m.n, 0);
    struct wire_frame *views = NULL;
    size_t vcap = 0;
    static const size_t sizes[] = {1, 6, 16, 17, 40, 3};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        size_t n = sizes[s];
        send_frames(a, n);
        assert_int_equal(recv_wait(b, &m), 1);
        assert_int_equal(m.n, n);
        assert_int_equal(mpart_views(&m, &views, &vcap), 0);
        assert_true(vcap >= n);
        for (size_t i = 0; i < n; i++) {
            char t[128];
            frame_text(i, t, sizeof t);
            assert_int_equal(views[i].len, strlen(t));
            assert_memory_equal(views[i].data, t, views[i].len);
        }
        /* sent back: the same frames, in order, one message; M empty afterwards */
        assert_int_equal(mpart_send(b, &m), 0);
        assert_int_equal(m.n, 0);
        struct mpart back = {0};
        assert_int_equal(recv_wait(a, &back), 1);
        assert_int_equal(back.n, n);
        assert_int_equal(mpart_views(&back, &views, &vcap), 0);
        for (size_t i = 0; i < n; i++) {
            char t[128];
            frame_text(i, t, sizeof t);
            assert_int_equal(views[i].len, strlen(t));
            assert_memory_equal(views[i].data, t, views[i].len);
        }
        mpart_free(&back);
        assert_null(back.f);
        assert_int_equal(back.cap, 0);
    }
    /* two messages waiting: one at a time, each whole */
    send_frames(a, 3);
    send_frames(a, 18);
    assert_int_equal(recv_wait(b, &m), 1);
    assert_int_equal(m.n, 3);
    assert_int_equal(mpart_recv(b, &m), 1);
    assert_int_equal(m.n, 18);
    assert_int_equal(mpart_recv(b, &m), 0);
    assert_int_equal(m.n, 0);
    /* a send that fails (a SUB socket cannot send): -1, every frame closed, M empty */
    send_frames(a, 8);
    assert_int_equal(recv_wait(b, &m), 1);
    assert_int_equal(mpart_send(sub, &m), -1);
    assert_int_equal(m.n, 0);
    send_frames(a, 8);
    assert_int_equal(recv_wait(b, &m), 1);
    mpart_close(&m);
    assert_int_equal(m.n, 0);
    mpart_free(&m);
    free(views);
}

static void string_members_by_either_reader(void **state)
{
    (void)state;
    static const struct { const char *json, *key; size_t cap; const char *want; } cases[] = {
        {"{\"msg_type\": \"execute_request\"}", "msg_type", 64, "execute_request"},
        {"{\"msg_type\": \"execute_request\"}", "msg_type", 8, "execute"},    /* cut */
        {"{\"msg_type\": \"caf\\u00e9\"}", "msg_type", 64, "caf\xc3\xa9"},   /* jansson */
        {"{\"msg_type\": \"caf\\u00e9s\"}", "msg_type", 4, "caf"},            /* jansson, cut */
        {"{\"msg_type\": \"caf\\u00e9s\"}", "msg_type", 7, "caf\xc3\xa9s"},   /* just fits */
        {"{\"msg_type\": \"caf\\u00e9s\"}", "msg_type", 6, "caf\xc3\xa9"},    /* one too long */
        {"{\"m\\u0073g_type\": \"escaped key\"}", "msg_type", 64, "escaped key"},
        {"{\"msg_type\": 3}", "msg_type", 64, ""},                            /* not a string */
        {"{\"other\": \"x\"}", "msg_type", 64, ""},                           /* absent */
        {"not json", "msg_type", 64, ""},
        {"[\"msg_type\"]", "msg_type", 64, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct wire_frame f = {(const unsigned char *)cases[i].json, strlen(cases[i].json)};
        char out[64];
        memset(out, '#', sizeof out);
        frame_string(&f, cases[i].key, out, cases[i].cap);
        if (strcmp(out, cases[i].want)) fail_msg("case %zu: \"%s\", want \"%s\"", i, out, cases[i].want);
        for (size_t k = cases[i].cap; k < sizeof out; k++) assert_int_equal(out[k], '#');
    }
    struct wire_frame f = {(const unsigned char *)"{\"a\": [1, 2]}", 13};
    json_t *j = frame_json(&f);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "a")), 2);
    json_decref(j);
    /* a key given twice: the last one, as jansson and Python's json read it */
    struct wire_frame twice = {(const unsigned char *)"{\"a\": 1, \"a\": 2}", 16};
    j = frame_json(&twice);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "a")), 2);
    json_decref(j);
    struct wire_frame bad = {(const unsigned char *)"{\"a\": [1, 2]", 12};
    assert_null(frame_json(&bad));
}

/* Out of memory halfway through a message (its frame array cannot grow past 16): the
 * rest of it is read and dropped, and an empty message returned, which the relay drops
 * as malformed; the next message comes whole.  It returned -1 with the rest still in
 * the socket: the relay took the socket as drained, and the rest came later as a
 * message of its own (review, 2026-12-06). */
static void a_message_without_memory_is_dropped_whole(void **state)
{
    (void)state;
    struct mpart m = {0};
    send_frames(a, 20);
    send_frames(a, 2);
    refuse_size = 32 * sizeof(zmq_msg_t);
    assert_int_equal(recv_wait(b, &m), 1);
    assert_int_equal(refuse_size, 0); /* it was asked for, and refused */
    assert_int_equal(m.n, 0);
    assert_int_equal(recv_wait(b, &m), 1);
    assert_int_equal(m.n, 2);
    char t[128];
    frame_text(1, t, sizeof t);
    assert_int_equal(zmq_msg_size(&m.f[1]), strlen(t));
    assert_memory_equal(zmq_msg_data(&m.f[1]), t, strlen(t));
    assert_int_equal(mpart_recv(b, &m), 0);
    mpart_free(&m);
}

/* frame_id: an id shorter than MSG_ID_CAP as it is, by either reader; a longer one as
 * a digest of the whole, the same by either reader (escaped or not), and different
 * for ids that differ only past the first 127 bytes. */
static void message_ids_whole_or_by_digest(void **state)
{
    (void)state;
    char out[MSG_ID_CAP], other[MSG_ID_CAP], json[1200], esc[1200];
    const char *plain = "{\"msg_id\": \"abc_1_2\"}", *escaped = "{\"msg_id\": \"ab\\u0063_1_2\"}";
    struct wire_frame f = {(const unsigned char *)plain, strlen(plain)};
    frame_id(&f, "msg_id", out);
    assert_string_equal(out, "abc_1_2");
    f = (struct wire_frame){(const unsigned char *)escaped, strlen(escaped)};
    frame_id(&f, "msg_id", out);
    assert_string_equal(out, "abc_1_2");
    f = (struct wire_frame){(const unsigned char *)"{\"msg_type\": \"x\"}", 17}; /* no id */
    frame_id(&f, "msg_id", out);
    assert_string_equal(out, "");
    char id[600];
    memset(id, 's', 500);
    for (int last = 0; last < 2; last++) {
        snprintf(id + 500, sizeof id - 500, "_4242_%d", last);
        snprintf(json, sizeof json, "{\"session\": \"s\", \"msg_id\": \"%s\"}", id);
        f = (struct wire_frame){(const unsigned char *)json, strlen(json)};
        frame_id(&f, "msg_id", last ? other : out);
    }
    assert_int_equal(out[0], '#');
    assert_true(strlen(out) < MSG_ID_CAP);
    assert_string_not_equal(out, other);
    /* the same long id with an escape in it: jansson's reading, the same digest */
    snprintf(id + 500, sizeof id - 500, "_4242_%d", 1);
    snprintf(esc, sizeof esc, "{\"msg_id\": \"\\u0073%s\"}", id + 1);
    f = (struct wire_frame){(const unsigned char *)esc, strlen(esc)};
    frame_id(&f, "msg_id", out);
    assert_string_equal(out, other);
    /* just short enough: as it is */
    memset(id, 'a', MSG_ID_CAP - 1);
    id[MSG_ID_CAP - 1] = 0;
    snprintf(json, sizeof json, "{\"msg_id\": \"%s\"}", id);
    f = (struct wire_frame){(const unsigned char *)json, strlen(json)};
    frame_id(&f, "msg_id", out);
    assert_string_equal(out, id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(received_whole_viewed_and_sent_on_as_it_came),
        cmocka_unit_test(string_members_by_either_reader),
        cmocka_unit_test(message_ids_whole_or_by_digest),
        cmocka_unit_test(a_message_without_memory_is_dropped_whole),
    };
    return cmocka_run_group_tests(tests, pair_up, pair_down);
}
