/* connection.c — reading and writing Jupyter connection files (see connection.h). */
#include "kernel/connection.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h> /* strcasecmp */
#include <sys/stat.h>
#include <unistd.h>

#include "nbformat/notebook.h" /* nb_json_reason, nb_fopen_input */
#include "nbformat/jsonload.h"

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

/* ipykernel's key when the file has none: jupyter_client's new_id(), 16 random bytes
 * in hex with a "-" after the fourth: 8 digits, "-", 24 digits (not a uuid4). */
static int random_key(struct connection *c)
{
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    if (!(c->key = malloc(34))) return -1;
    char *o = (char *)c->key;
    for (int i = 0; i < 16; i++) o += sprintf(o, "%s%02x", i == 4 ? "-" : "", b[i]);
    c->key_len = 33;
    return 0;
}

/* PATH normalised in place as Python's os.path.normpath does it (an absolute path):
 * no "//", no "." and no ".." component. */
static void normalise(char *path)
{
    char *out = path, *p = path;
    while (*p) {
        while (*p == '/') p++;
        char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 0) break;
        if (n == 1 && p[0] == '.') {
            /* nothing */
        } else if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (out > path && *--out != '/') {}
        } else {
            *out++ = '/';
            memmove(out, p, n);
            out += n;
        }
        p += n;
    }
    if (out == path) *out++ = '/';
    *out = 0;
}

/* ipc's made-up "ip", as jupyter_client makes it: os.path.splitext of the connection
 * file's absolute path, then "-ipc" (a name's leading dots are no extension's).  -1:
 * too long. */
static int ipc_prefix(const char *path, char *out, size_t cap)
{
    char cwd[4096] = "", whole[8200];
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    if (snprintf(whole, sizeof whole, "%s/%s", cwd, path) >= (int)sizeof whole) return -1;
    normalise(whole); /* os.path.abspath: "./k.json" and "../k.json" as Python has them */
    const char *name = strrchr(whole, '/') + 1; /* normalised: absolute, so a '/' there is */
    while (*name == '.') name++;
    const char *dot = strrchr(name, '.');
    int stem = dot ? (int)(dot - whole) : (int)strlen(whole);
    int n = snprintf(out, cap, "%.*s-ipc", stem, whole);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* The JSON of the connection file at PATH; where there is none, an empty object and
 * C->created set (ipykernel's way: it is ours to create).  NULL with the reason in ERR:
 * a file it cannot read (a FIFO refused, not waited on), bad JSON, out of memory. */
static json_t *load_file(const char *path, struct connection *c, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = NULL;
    char why[PATH_MAX + 64];
    FILE *f = nb_fopen_input(path, "a connection file", why, sizeof why);
    if (!f && errno == ENOENT) {
        c->created = 1;
        root = json_object();
    } else if (!f) {
        snprintf(err, errlen, "%s: %s", path, why);
        return NULL;
    } else {
        root = nb_json_loadf(f, 0, &je);
        fclose(f);
        if (!root) {
            nb_json_reason(&je); /* one line, no escapes */
            snprintf(err, errlen, "%s: %s (line %d)", path, je.text, je.line);
            return NULL;
        }
    }
    if (!root) snprintf(err, errlen, "%s: out of memory", path);
    return root;
}

/* jupyter_core's jupyter_runtime_dir() on Linux into OUT; -1 when there is none (no
 * variable, no HOME) or it does not fit. */
static int runtime_dir(char *out, size_t cap)
{
    const char *v;
    int n;
    if ((v = getenv("JUPYTER_RUNTIME_DIR")) && *v) n = snprintf(out, cap, "%s", v);
    else if ((v = getenv("JUPYTER_DATA_DIR")) && *v) n = snprintf(out, cap, "%s/runtime", v);
    else if ((v = getenv("XDG_DATA_HOME")) && *v) n = snprintf(out, cap, "%s/jupyter/runtime", v);
    else if ((v = getenv("HOME")) && *v) n = snprintf(out, cap, "%s/.local/share/jupyter/runtime", v);
    else return -1;
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void connection_locate(const char *given, char *out, size_t cap)
{
    char rt[4096], there[8200];
    struct stat st;
    snprintf(out, cap, "%s", given);
    if (given[0] == '/' || lstat(given, &st) == 0 || errno != ENOENT || runtime_dir(rt, sizeof rt)) return;
    int n = snprintf(there, sizeof there, "%s/%s", rt, given);
    if (n < 0 || (size_t)n >= sizeof there || (size_t)n >= cap) return;
    /* found there (os.path.isfile: a regular file, or a link to one), or a bare name
     * that is ipykernel's to make there (abs_connection_file) */
    if ((stat(there, &st) == 0 && S_ISREG(st.st_mode)) || !strchr(given, '/')) memcpy(out, there, (size_t)n + 1);
}

/* The strings of ROOT into C: transport, ip, signature_scheme and kernel_name. */
static int read_strings(json_t *root, struct connection *c, const char *path, char *err, size_t errlen)
{
    if (copy_str(root, "transport", c->transport, sizeof c->transport, 0, path, err, errlen) ||
        copy_str(root, "ip", c->ip, sizeof c->ip, 0, path, err, errlen) ||
        copy_str(root, "signature_scheme", c->signature_scheme, sizeof c->signature_scheme, 0,
                 path, err, errlen))
        return -1;
    /* Only passed on to the child's connection file: one that is no kernelspec's name
     * (longer than a folder's name may be, not a string) is left out, not fatal; at 128
     * bytes it stopped the kernel, where ipykernel alone starts. */
    json_t *kn = json_object_get(root, "kernel_name");
    if (json_is_string(kn) && json_string_length(kn) < sizeof c->kernel_name)
        memcpy(c->kernel_name, json_string_value(kn), json_string_length(kn) + 1);
    return 0;
}

/* C's transport, tcp when none is given: 1 for ipc, 0 for tcp, -1 for any other.
 * Its case does not matter ("TCP"): jupyter_client's transport is a CaselessStrEnum,
 * so ipykernel takes it and writes the file back with "tcp"; so is it here (filled). */
static int read_transport(struct connection *c, const char *path, char *err, size_t errlen)
{
    if (!c->transport[0]) strcpy(c->transport, "tcp");
    int ipc = strcasecmp(c->transport, "ipc") == 0;
    if (strcasecmp(c->transport, "tcp") != 0 && !ipc) {
        snprintf(err, errlen, "%s: unknown transport \"%s\"", path, c->transport);
        return -1;
    }
    const char *canon = ipc ? "ipc" : "tcp";
    if (strcmp(c->transport, canon) != 0) {
        strcpy(c->transport, canon);
        c->filled = 1;
    }
    return ipc;
}

/* jupyter_client's default ip when ROOT has none: 127.0.0.1 for tcp, a prefix beside
 * the file at PATH for ipc.  An ip of "*" is 0.0.0.0, for any transport, as
 * jupyter_client's ConnectionFileMixin makes it (its _ip_changed): ipykernel binds
 * there and writes the file back with 0.0.0.0, an address a client can connect to
 * (a client other than jupyter_client's cannot connect to "*"); so here (filled). */
static int default_ip(json_t *root, struct connection *c, int ipc, const char *path, char *err,
                      size_t errlen)
{
    if (strcmp(c->ip, "*") == 0) {
        strcpy(c->ip, "0.0.0.0");
        c->filled = 1;
    }
    if (json_object_get(root, "ip")) return 0;
    if (!ipc) strcpy(c->ip, "127.0.0.1");
    else if (ipc_prefix(path, c->ip, sizeof c->ip)) {
        snprintf(err, errlen, "%s: too long a path for the ipc sockets beside it", path);
        return -1;
    }
    c->filled = 1;
    return 0;
}

/* The ports of ROOT into C; one missing, 0 or negative is left 0, made up when bound:
 * ipykernel binds any port for one <= 0 (its _try_bind_socket), as jupyter_client's
 * write_connection_file picks one for it. */
static int read_ports(json_t *root, struct connection *c, const char *path, char *err, size_t errlen)
{
    for (int ch = 0; ch < N_CHANNELS; ch++) {
        json_t *v = json_object_get(root, conn_port_key[ch]);
        if (!v || (json_is_integer(v) && json_integer_value(v) <= 0)) {
            c->filled = 1;
            continue;
        }
        if (!json_is_integer(v) || json_integer_value(v) > 65535) {
            snprintf(err, errlen, "%s: \"%s\" is not a port number", path, conn_port_key[ch]);
            return -1;
        }
        c->port[ch] = (int)json_integer_value(v);
    }
    return 0;
}

/* ipc's missing port numbers, as ipykernel makes them: the first unused, from 1 (no
 * other channel's, no socket file there), in the order ipykernel binds its sockets:
 * shell, stdin, control, iopub, then the heartbeat (ipykernel alone numbers 1 to 5
 * so; a given number is skipped here, where ipykernel bound a second socket on it). */
static void number_ipc_ports(struct connection *c)
{
    static const int bind_order[N_CHANNELS] = {CH_SHELL, CH_STDIN, CH_CONTROL, CH_IOPUB, CH_HB};
    for (int i = 0, next = 1; i < N_CHANNELS; i++) {
        int ch = bind_order[i];
        char sock[300];
        for (; !c->port[ch]; next++) {
            int taken = 0;
            for (int k = 0; k < N_CHANNELS; k++) taken |= c->port[k] == next;
            snprintf(sock, sizeof sock, "%s-%d", c->ip, next);
            if (!taken && access(sock, F_OK) != 0) c->port[ch] = next;
        }
    }
}

/* ROOT's key into C, copied; a random one when there is none. */
static int read_key(json_t *root, struct connection *c, const char *path, char *err, size_t errlen)
{
    json_t *key = json_object_get(root, "key");
    if (key && !json_is_string(key)) { snprintf(err, errlen, "%s: \"key\" is not a string", path); return -1; }
    if (!key) {
        if (random_key(c)) { snprintf(err, errlen, "%s: out of memory", path); return -1; }
        c->filled = 1;
    } else {
        c->key_len = json_string_length(key);
        if (!(c->key = malloc(c->key_len + 1))) { snprintf(err, errlen, "%s: out of memory", path); return -1; }
        memcpy(c->key, json_string_value(key), c->key_len + 1);
    }
    return 0;
}

/* C's signature scheme, hmac-sha256 when none is given; any other than the two
 * libsodium has is refused (jupyter_client's Session takes any hashlib name), unless
 * the key is empty: nothing is signed then. */
static int read_scheme(struct connection *c, const char *path, char *err, size_t errlen)
{
    if (c->key_len > 0 && c->signature_scheme[0] && strcmp(c->signature_scheme, "hmac-sha256") != 0 &&
        strcmp(c->signature_scheme, "hmac-sha512") != 0) {
        snprintf(err, errlen,
                 "%s: signature scheme \"%s\" is not supported (hmac-sha256 and hmac-sha512 only)",
                 path, c->signature_scheme);
        return -1;
    }
    if (!c->signature_scheme[0]) strcpy(c->signature_scheme, "hmac-sha256");
    return 0;
}

int connection_read(const char *path, struct connection *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    json_t *root = load_file(path, c, err, errlen);
    if (!root) return -1;
    int rc = -1, ipc;
    if (!json_is_object(root)) { snprintf(err, errlen, "%s: not a JSON object", path); goto out; }
    if (read_strings(root, c, path, err, errlen) || (ipc = read_transport(c, path, err, errlen)) < 0 ||
        default_ip(root, c, ipc, path, err, errlen) || read_ports(root, c, path, err, errlen))
        goto out;
    if (ipc) number_ipc_ports(c);
    if (read_key(root, c, path, err, errlen) || read_scheme(c, path, err, errlen)) goto out;
    rc = 0;
out:
    json_decref(root);
    if (rc) connection_free(c);
    return rc;
}

void connection_endpoint(const struct connection *c, int ch, char *out, size_t outlen)
{
    char port[16] = "*";
    if (c->port[ch]) snprintf(port, sizeof port, "%d", c->port[ch]);
    if (strcmp(c->transport, "ipc") == 0)
        snprintf(out, outlen, "ipc://%s-%d", c->ip, c->port[ch]);
    else if (strchr(c->ip, ':')) /* IPv6 literal */
        snprintf(out, outlen, "tcp://[%s]:%s", c->ip, port);
    else
        snprintf(out, outlen, "tcp://%s:%s", c->ip, port);
}


/* The folders above the file PATH that do not exist, made 0700 (ipykernel:
 * os.makedirs(..., 0o700)); 0, or -1. */
static int make_parent(const char *path)
{
    char d[4200], why[4400];
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return 0;
    if (snprintf(d, sizeof d, "%.*s", (int)(slash - path), path) >= (int)sizeof d) return -1;
    return nb_make_folders(d, 0700, why, sizeof why);
}

/* The sticky bit on the folder of the file PATH, as jupyter_client's
 * write_connection_file sets it after writing (ipykernel's write-back too): in a
 * folder others may write to, only the file's owner may then remove or replace it
 * (it holds the key, and says where clients connect).  Not for a device written in
 * place (/dev is no folder of ours); a folder we may not change is left as it is
 * (jupyter_client passes over EPERM): the file is written, nothing fails here. */
static void make_folder_sticky(const char *path)
{
    char d[4200];
    struct stat st;
    const char *slash = strrchr(path, '/');
    if (!slash || lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) return; /* no dirname: none, as in jupyter_client */
    if (snprintf(d, sizeof d, "%.*s", slash == path ? 1 : (int)(slash - path), path) >= (int)sizeof d) return;
    if (stat(d, &st) == 0 && !(st.st_mode & S_ISVTX)) (void)chmod(d, (st.st_mode & 07777) | S_ISVTX);
}

int connection_write(const char *path, const struct connection *c, char *err, size_t errlen)
{
    /* Every member checked: a file written without its key (out of memory) would start
     * a kernel that rejects every message, a hang with no error. */
    json_t *root = json_object();
    int bad = !root || json_object_set_new(root, "transport", json_string(c->transport)) ||
              json_object_set_new(root, "ip", json_string(c->ip));
    for (int ch = 0; ch < N_CHANNELS && !bad; ch++)
        bad = json_object_set_new(root, conn_port_key[ch], json_integer(c->port[ch]));
    bad = bad || json_object_set_new(root, "key", json_stringn((const char *)c->key, c->key_len)) ||
          json_object_set_new(root, "signature_scheme", json_string(c->signature_scheme)) ||
          json_object_set_new(root, "kernel_name", json_string(c->kernel_name));
    char *text = bad ? NULL : json_dumps(root, JSON_INDENT(1) | JSON_SORT_KEYS);
    json_decref(root);
    if (!text) { snprintf(err, errlen, "%s: out of memory", path); return -1; }
    /* A temporary renamed over PATH (a regular file, a symlink, or none yet): a client
     * polling for the file (one written back with the ports bound) never reads half of
     * it.  A symlink is replaced, not written through, as ipykernel's secure_write
     * removes it first: its target may be readable by others (a 0644 file), and the
     * file holds the key, so it is a new 0600 one.  A device is written in place. */
    int rc = -1;
    char tmp[4200];
    struct stat st;
    int atomic = lstat(path, &st) == 0 ? S_ISREG(st.st_mode) || S_ISLNK(st.st_mode) : errno == ENOENT;
    if (atomic && snprintf(tmp, sizeof tmp, "%s.XXXXXX", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: too long a path", path);
        free(text);
        return -1;
    }
    int fd = atomic ? mkostemp(tmp, O_CLOEXEC) : -1;
    if (fd < 0 && atomic && errno == ENOENT && c->created && !make_parent(path)) { /* ipykernel's makedirs */
        snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
        fd = mkostemp(tmp, O_CLOEXEC);
    }
    int private_err = 0;
    if (fd < 0) { /* a folder that takes no temporary (ipykernel writes in place), a device */
        atomic = 0;
        /* Never through a symlink (it would not be replaced here), and an existing file,
         * which keeps its mode on open, made 0600 before it is cut and written, or
         * refused: ipykernel's secure_write raises on a mode it cannot set. */
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            if (((st.st_mode & 077) && fchmod(fd, 0600)) || ftruncate(fd, 0)) {
                private_err = errno;
                close(fd);
                fd = -1;
            }
        }
    }
    if (fd < 0 && private_err) {
        snprintf(err, errlen, "%s: cannot make it private (mode %04o): %s; it would hold the key",
                 path, (unsigned)(st.st_mode & 07777), strerror(private_err));
    } else if (fd < 0 && errno == ELOOP) {
        snprintf(err, errlen, "%s: a symlink in a folder where no new file can be made: "
                              "not written through (it would hold the key)", path);
    } else if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    } else {
        size_t n = strlen(text), off = 0;
        while (off < n) {
            ssize_t w = write(fd, text + off, n - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += (size_t)w;
        }
        int werr = off == n ? 0 : errno ? errno : EIO;
        int closed = close(fd);
        /* the folder made sticky before the file appears under its name (the temporary
         * is in the same folder): a client that sees the file sees the bit too (after
         * the rename, a test reading the folder as soon as the file came saw it unset
         * under ASan, where the gap is wider) */
        if (!werr && closed == 0) make_folder_sticky(atomic ? tmp : path);
        if (!werr && closed == 0 && (!atomic || rename(tmp, path) == 0)) {
            rc = 0;
        } else {
            snprintf(err, errlen, "%s: %s failed: %s", path, werr || closed ? "write" : "rename",
                     strerror(werr ? werr : errno));
            if (atomic) unlink(tmp);
        }
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
