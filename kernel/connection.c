/* connection.c — reading and writing Jupyter connection files (see connection.h). */
#include "kernel/connection.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nbformat/notebook.h" /* nb_json_reason */

const char *const conn_port_key[N_CHANNELS] = {"shell_port", "iopub_port", "stdin_port",
                                               "control_port", "hb_port"};

static int copy_str(json_t *root, const char *name, char *dst, size_t cap, int required,
                    const char *path, char *err, size_t errlen)
{
    json_t *v = json_object_get(root, name);
    if (!v) {
        if (required) { snprintf(err, errlen, "%s: no \"%s\"", path, name); return -1; }
        dst[0] = 0;
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) >= cap) {
        snprintf(err, errlen, "%s: \"%s\" is not a string of at most %zu bytes", path, name,
                 cap - 1);
        return -1;
    }
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

int connection_read(const char *path, struct connection *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        nb_json_reason(&je); /* one line, no escapes */
        snprintf(err, errlen, "%s: %s (line %d)", path, je.text, je.line);
        return -1;
    }
    int rc = -1;
    if (!json_is_object(root)) { snprintf(err, errlen, "%s: not a JSON object", path); goto out; }
    if (copy_str(root, "transport", c->transport, sizeof c->transport, 0, path, err, errlen) ||
        copy_str(root, "ip", c->ip, sizeof c->ip, 1, path, err, errlen) ||
        copy_str(root, "signature_scheme", c->signature_scheme, sizeof c->signature_scheme, 0,
                 path, err, errlen))
        goto out;
    /* Only passed on to the child's connection file: one that is no kernelspec's name
     * (longer than a folder's name may be, not a string) is left out, not fatal; at 128
     * bytes it stopped the kernel, where ipykernel alone starts. */
    json_t *kn = json_object_get(root, "kernel_name");
    if (json_is_string(kn) && json_string_length(kn) < sizeof c->kernel_name)
        memcpy(c->kernel_name, json_string_value(kn), json_string_length(kn) + 1);
    if (!c->transport[0]) strcpy(c->transport, "tcp");
    if (strcmp(c->transport, "tcp") != 0 && strcmp(c->transport, "ipc") != 0) {
        snprintf(err, errlen, "%s: unknown transport \"%s\"", path, c->transport);
        goto out;
    }
    for (int ch = 0; ch < N_CHANNELS; ch++) {
        json_t *v = json_object_get(root, conn_port_key[ch]);
        if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > 65535) {
            snprintf(err, errlen, "%s: \"%s\" is not a port number", path, conn_port_key[ch]);
            goto out;
        }
        c->port[ch] = (int)json_integer_value(v);
    }
    json_t *key = json_object_get(root, "key");
    if (key && !json_is_string(key)) { snprintf(err, errlen, "%s: \"key\" is not a string", path); goto out; }
    const char *k = key ? json_string_value(key) : "";
    c->key_len = key ? json_string_length(key) : 0;
    c->key = malloc(c->key_len + 1);
    if (!c->key) { snprintf(err, errlen, "%s: out of memory", path); goto out; }
    memcpy(c->key, k, c->key_len + 1);
    /* jupyter_client's Session takes any hashlib name; libsodium has these two */
    if (c->key_len > 0 && c->signature_scheme[0] && strcmp(c->signature_scheme, "hmac-sha256") != 0 &&
        strcmp(c->signature_scheme, "hmac-sha512") != 0) {
        snprintf(err, errlen,
                 "%s: signature scheme \"%s\" is not supported (hmac-sha256 and hmac-sha512 only)",
                 path, c->signature_scheme);
        goto out;
    }
    if (!c->signature_scheme[0]) strcpy(c->signature_scheme, "hmac-sha256");
    rc = 0;
out:
    json_decref(root);
    if (rc) connection_free(c);
    return rc;
}

void connection_endpoint(const struct connection *c, int ch, char *out, size_t outlen)
{
    if (strcmp(c->transport, "ipc") == 0)
        snprintf(out, outlen, "ipc://%s-%d", c->ip, c->port[ch]);
    else if (strchr(c->ip, ':')) /* IPv6 literal */
        snprintf(out, outlen, "tcp://[%s]:%d", c->ip, c->port[ch]);
    else
        snprintf(out, outlen, "tcp://%s:%d", c->ip, c->port[ch]);
}

int connection_write(const char *path, const struct connection *c, char *err, size_t errlen)
{
    json_t *root = json_object();
    json_object_set_new(root, "transport", json_string(c->transport));
    json_object_set_new(root, "ip", json_string(c->ip));
    for (int ch = 0; ch < N_CHANNELS; ch++)
        json_object_set_new(root, conn_port_key[ch], json_integer(c->port[ch]));
    json_object_set_new(root, "key", json_stringn((const char *)c->key, c->key_len));
    json_object_set_new(root, "signature_scheme", json_string(c->signature_scheme));
    json_object_set_new(root, "kernel_name", json_string(c->kernel_name));
    char *text = json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text) { snprintf(err, errlen, "%s: out of memory", path); return -1; }
    int rc = -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600); /* holds the key */
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    } else {
        size_t n = strlen(text), off = 0;
        while (off < n) {
            ssize_t w = write(fd, text + off, n - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += (size_t)w;
        }
        if (off == n && close(fd) == 0) rc = 0;
        else { snprintf(err, errlen, "%s: write failed: %s", path, strerror(errno)); if (off != n) close(fd); }
    }
    free(text);
    return rc;
}

void connection_free(struct connection *c)
{
    free(c->key);
    c->key = NULL;
    c->key_len = 0;
}
