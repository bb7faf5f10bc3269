/* proxy.h — the stage kernel's relay between Jupyter and the wrapped kernel.
 *
 * Owns: the client-side sockets (shell/control/stdin ROUTERs, iopub PUB, heartbeat
 * ROUTER), the child-side sockets (DEALERs sharing one routing id, iopub SUB, the
 * heartbeat's DEALER, both handed to kernel/heartbeat.h's thread),
 * the poll loop that forwards untouched frames byte for byte, signature checks on
 * client messages, the iopub readiness nudge (and, for an ipykernel child, telling it
 * Jupyter's connection file), reading the code of execute_requests,
 * and the end of life: shutdown, SIGTERM, the child dying (or ending as asked, after a
 * cell that ran `exit`: an ask_exit payload in its execute_reply).  Each stage tag goes out
 * between the child's execute_input and its idle for that request (as soon as it is
 * classified with --tag-position top, at the idle with bottom): kernel/tagorder.h,
 * which the loop hands the requests to tag, the worker's answers and the child's
 * iopub messages.  The notice (why there are no stage tags, which options were ignored)
 * goes out the same way, once, after the first such request's execute_input.
 */
#ifndef NBSTAGE_PROXY_H
#define NBSTAGE_PROXY_H

#include <sys/types.h>

#include "kernel/child.h"
#include "kernel/connection.h"
#include "model/stage_output.h"
#include "model/model.h"

struct proxy_config {
    struct connection *client;       /* from Jupyter's connection file; ports it left to
                                        the kernel (0) are filled in once bound */
    struct child *child;             /* started; its connection names our peer sockets */
    const nbs_model *model;          /* NULL: relay only, tag nothing */
    const struct stage_display_options *display;
    const char *notice;              /* NULL or "": nothing to say; else lines for the
                                        user, said once (kernel/tagorder.h) */
    int signal_fd;                   /* signalfd for SIGCHLD, SIGTERM, SIGHUP */
    const char *client_file;         /* Jupyter's connection file, absolute; NULL: unknown */
    int ipykernel;                   /* the child is ipykernel (kernelspec_runs_ipykernel) */
    pid_t parent;                    /* exit when our parent is no longer this (0: never) */
    int parent_fd;                   /* a pidfd of PARENT, readable when it exits; -1:
                                        none, getppid() is then checked every second */
};

/* Runs until the kernel is shut down, terminated, the child dies or the parent does;
 * stops and reaps the child.  Returns the process exit code: 0 after a shutdown, the
 * child's own status when it exited by itself (0 after a cell's `exit()`), 1 when a
 * signal killed it, the parent died or the sockets could not be set up.  *END_SIGNAL
 * is the SIGTERM or SIGHUP that ended it (the code is then 0), else 0: ipykernel
 * alone dies by either, so the caller, its cleanup done, ends by it too. */
int proxy_run(const struct proxy_config *cfg, int *end_signal);

#endif
