/* mpart.c — one Jupyter message as the relay holds it (see mpart.h). */
#include "kernel/mpart.h"
#include "kernel/wire_json.h"
#include "nbformat/jsonload.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mpart_close(struct mpart *m)
{
    for (size_t i = 0; i < m->n; i++) zmq_msg_close(&m->f[i]);
    m->n = 0;
}

void mpart_free(struct mpart *m)
{
    mpart_close(m);
    free(m->f);
    m->f = NULL;
    m->cap = 0;
}

/* Out of memory for M's frames: the rest of its message is read and dropped, so that
 * SOCK is left at a message's start (a caller that stopped here, the socket taken as
 * drained, could wait for a ZMQ_FD edge that never comes); 1 with M empty, which every
 * caller drops as no Jupyter message.  -1 when nothing of it had been read yet. */
static int drop_rest(void *sock, struct mpart *m)
{
    int more = m->n && zmq_msg_more(&m->f[m->n - 1]);
    mpart_close(m);
    if (!more) return -1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, 0) < 0) { /* the rest of a message is there whole */
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
    return 1;
}

int mpart_recv(void *sock, struct mpart *m)
{
    mpart_close(m);
    for (;;) {
        if (m->n == m->cap) {
            size_t cap = m->cap ? 2 * m->cap : 16;
            zmq_msg_t *f = realloc(m->f, cap * sizeof *f);
            if (!f) return drop_rest(sock, m);
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

int mpart_send(void *sock, struct mpart *m)
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

int mpart_views(struct mpart *m, struct wire_frame **views, size_t *cap)
{
    if (m->n > *cap) {
        struct wire_frame *v = realloc(*views, m->n * sizeof *v);
        if (!v) return -1;
        *views = v, *cap = m->n;
    }
    for (size_t i = 0; i < m->n; i++)
        (*views)[i] = (struct wire_frame){zmq_msg_data(&m->f[i]), zmq_msg_size(&m->f[i])};
    return 0;
}

json_t *frame_json(const struct wire_frame *f)
{
    return nb_json_loadb((const char *)f->data, f->len, 0, NULL);
}

/* FNV-1a over N bytes of S, then its length: the key of an id too long to keep. */
static void id_digest(const unsigned char *s, size_t n, char out[MSG_ID_CAP])
{
    snprintf(out, MSG_ID_CAP, "#%016llx:%zu", (unsigned long long)frame_fnv1a(s, n), n);
}

void frame_id(const struct wire_frame *f, const char *key, char out[MSG_ID_CAP])
{
    size_t off, len;
    out[0] = 0;
    if (wire_json_member(f, key, &off, &len) == 1 && len >= 2 && f->data[off] == '"' &&
        !memchr(f->data + off, '\\', len)) { /* no escapes: the raw text is the id */
        if (len - 2 < MSG_ID_CAP) memcpy(out, f->data + off + 1, len - 2), out[len - 2] = 0;
        else id_digest(f->data + off + 1, len - 2, out);
        return;
    }
    json_t *j = frame_json(f);
    json_t *v = json_object_get(j, key);
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        /* no NUL inside: parsed without JSON_ALLOW_NUL */
        if (n < MSG_ID_CAP) memcpy(out, json_string_value(v), n + 1);
        else id_digest((const unsigned char *)json_string_value(v), n, out);
    }
    json_decref(j);
}

/* On every relayed message: the light scanner first, jansson only for what it leaves. */
void frame_string(const struct wire_frame *f, const char *key, char *out, size_t cap)
{
    if (wire_json_string(f, key, out, cap) >= 0) return;
    out[0] = 0;
    json_t *j = frame_json(f);
    json_t *v = json_object_get(j, key);
    if (json_is_string(v)) { /* no printf machinery: it was on every header once */
        size_t n = json_string_length(v) < cap - 1 ? json_string_length(v) : cap - 1;
        memcpy(out, json_string_value(v), n);
        out[n] = 0;
    }
    json_decref(j);
}
