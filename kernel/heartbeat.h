/* heartbeat.h — the stage kernel's heartbeat: Jupyter's pings passed on to the wrapped
 * kernel's heartbeat and its echoes passed back, once that kernel has answered.
 *
 * Owns: the thread that serves Jupyter's heartbeat socket (a ROUTER) and the DEALER
 * to the child's heartbeat, and, once the proxy watches a child that is ending
 * (heartbeat_watch), how long that heartbeat has been silent.  Why both ways:
 *   - Passed on, a ping is answered only while the wrapped kernel answers it: one
 *     frozen whole (SIGSTOP, `docker pause`, a debugger attached) goes unanswered, as
 *     it does alone, and a client that watches the heartbeat (jupyter console
 *     --existing, a KernelClient without a manager) sees it.  An echo of our own hid it.
 *   - But the stage kernel writes a connection file it completes before its child has
 *     bound anything, where ipykernel alone writes it once its heartbeat is bound; and
 *     jupyter_client's wait_for_ready (without a manager) takes one second without an
 *     echo for a kernel that died.  So until the child's heartbeat has answered a
 *     probe of ours, pings are echoed here, as ipykernel's would be by then.
 * Sends never block: a message past libzmq's 1,000 a peer is dropped, as ipykernel's
 * heartbeat drops it, so a client that pings and never reads cannot grow us.
 */
#ifndef NBSTAGE_HEARTBEAT_H
#define NBSTAGE_HEARTBEAT_H

#include <stddef.h>

struct heartbeat;

/* Starts the thread on CLIENT (Jupyter's heartbeat, a bound ROUTER) and CHILD (a
 * DEALER connected to the child's heartbeat), which it takes and closes at its end.
 * NULL and ERR when the thread cannot start (the sockets are then still the caller's). */
struct heartbeat *heartbeat_start(void *client, void *child, char *err, size_t errlen);

/* From now on the child's heartbeat is probed every second, and heartbeat_quiet_ms
 * counts from its last answer (from the first call at most; later calls do nothing;
 * NULL: nothing).  The proxy's way to see a
 * child that is ending but does not end: ipykernel's teardown ends its heartbeat
 * first (IPKernelApp.close), and a child still running a cell, or ignoring an
 * ask_exit, goes on answering. */
void heartbeat_watch(struct heartbeat *hb);

/* Milliseconds since the child's heartbeat last answered, counting only time in which
 * probes were sent (a second per probe unanswered: a freeze of this process counts
 * for none); 0 for NULL, or while it has never answered (a kernel without a working
 * heartbeat is not taken for a stuck one). */
long long heartbeat_quiet_ms(struct heartbeat *hb);

/* Waits for the thread, which ends once the sockets' context is shut down
 * (zmq_ctx_shutdown), and frees HB.  NULL: nothing. */
void heartbeat_join(struct heartbeat *hb);

#endif
