/* connection.h — Jupyter connection files.
 *
 * Owns: finding and reading the connection file Jupyter hands the stage kernel (-f
 * FILE), turning its transport/ip/ports into ZeroMQ endpoints, and writing the child
 * kernel's own connection file (ipc transport, same key and signature scheme).
 */
#ifndef NBSTAGE_CONNECTION_H
#define NBSTAGE_CONNECTION_H

#include <stddef.h>

enum conn_channel { CH_SHELL, CH_IOPUB, CH_STDIN, CH_CONTROL, CH_HB, N_CHANNELS };

extern const char *const conn_port_key[N_CHANNELS]; /* "shell_port", ... */

struct connection {
    char transport[8];          /* "tcp" or "ipc" */
    char ip[256];               /* tcp: an address; ipc: a path prefix */
    int port[N_CHANNELS];
    unsigned char *key;         /* the signing key's bytes (malloc'd, may be empty) */
    size_t key_len;
    char signature_scheme[32];  /* "hmac-sha256" or "hmac-sha512" */
    char kernel_name[256];      /* a kernelspec's folder name: at most NAME_MAX bytes */
    int filled;                 /* something made up or respelt: write the file back once bound */
    int created;                /* PATH did not exist: ours, removed at exit once written */
    int written;                /* written back (kernel/proxy.c) */
};

/* Where ipykernel finds the connection file GIVEN (-f), into OUT: IPKernelApp looks
 * for a relative one in the working folder, then in Jupyter's runtime folder
 * (filefind(GIVEN, [".", jupyter_runtime_dir()])), and makes a bare name found in
 * neither there ($JUPYTER_RUNTIME_DIR, else $JUPYTER_DATA_DIR/runtime, else
 * $XDG_DATA_HOME/jupyter/runtime, else ~/.local/share/jupyter/runtime).  Anything at
 * GIVEN itself (a folder, a FIFO) is GIVEN, for connection_read to name; so is GIVEN
 * when absolute, or when OUT would not fit in CAP. */
void connection_locate(const char *given, char *out, size_t cap);

/* Reads PATH into C; 0 on success, -1 with "PATH: reason" in ERR (a FIFO, a folder:
 * refused, never waited on: nb_fopen_input).  Only hmac-sha256
 * (Jupyter's default) and hmac-sha512 (or an empty key) are accepted: jupyter_client's
 * Session takes any hashlib name, libsodium has these two.  What the file lacks is made
 * up as ipykernel makes it, and C->filled set: the whole file when it does not exist
 * (C->created), "ip" (127.0.0.1; for ipc, PATH without its extension and "-ipc"), a
 * port (0 or below: tcp binds any free one; ipc takes the first unused number from 1,
 * in ipykernel's order), "key" (a random one in jupyter_client's form, so that a
 * client that reads the file back can sign; a missing key is not an empty one).  What
 * ipykernel reads otherwise than it is written is read so and written back so (filled
 * too): an ip of "*" is 0.0.0.0, a transport in capitals ("TCP") is "tcp".  The file
 * is then written back once the ports are bound.  An IPv6 ip ("::1") is kept as it is
 * (kernel/proxy.c binds it with ZMQ_IPV6, in brackets), where ipykernel alone fails
 * to bind ("No such device": it never sets ZMQ_IPV6, ipykernel#584). */
int connection_read(const char *path, struct connection *c, char *err, size_t errlen);

/* The ZeroMQ endpoint of channel CH ("tcp://127.0.0.1:5555", "ipc:///d/k-1"; port 0:
 * "tcp://127.0.0.1:*", any free port). */
void connection_endpoint(const struct connection *c, int ch, char *out, size_t outlen);

/* Writes C to PATH (mode 0600) as Jupyter would, and sets the sticky bit on its
 * folder as jupyter_client does; 0 or -1 with a reason in ERR. */
int connection_write(const char *path, const struct connection *c, char *err, size_t errlen);

void connection_free(struct connection *c);

#endif
