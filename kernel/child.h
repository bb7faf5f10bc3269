/* child.h — the wrapped kernel, running as the stage kernel's child process.
 *
 * Owns: the private 0700 folder with the child's ipc endpoints and connection file
 * (same key and signature scheme as ours), starting the child from its kernelspec argv
 * ({connection_file} and {resource_dir} substituted) and env ($NAME and ${NAME}
 * expanded from ours, as jupyter_client expands them), the child's safety net
 * (PR_SET_PDEATHSIG, JPY_PARENT_PID, SIGINT back to default), its process group
 * (child_signal), the keeper that ends that group when we are killed (below), and
 * reaping both.  The program is
 * looked up on the PATH the child gets (the kernelspec's env may set it), as
 * jupyter_client looks it up.  The child's environment names its connection file in
 * CHILD_CONNECTION_ENV, so that a wrapped kernelspec running nbstage-kernel again
 * under another name is caught (main_kernel.c) instead of starting stage kernels
 * without end.
 */
#ifndef NBSTAGE_CHILD_H
#define NBSTAGE_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#include "kernel/connection.h"
#include "kernel/kernelspec_find.h"

#define CHILD_CONNECTION_ENV "NBSTAGE_CHILD_CONNECTION_FILE"

struct child {
    pid_t pid;              /* 0 once reaped */
    int status;             /* waitpid status, valid once reaped */
    char dir[200];          /* the private folder */
    char conn_file[300];    /* DIR/connection.json */
    struct connection conn; /* the child's connection: ipc in DIR */
    pid_t keeper;           /* the keeper (below); 0 when none, or once reaped */
    int keeper_fd;          /* our end of its socket pair; -1 when none */
    pid_t group;            /* the child's process group (its pid), kept after reaping */
};

/* Creates the private folder, writes the connection file and starts the child and its
 * keeper.  Call before any thread exists (the child only calls async-signal-safe
 * functions between fork and exec, the keeper plain syscalls).  0, or -1 with a reason
 * in ERR. */
int child_start(struct child *c, const struct found_kernelspec *ks,
                const struct connection *parent, char *err, size_t errlen);

/* Reaps the child if it has exited (never blocks); 1 when it has (now or before). */
int child_reaped(struct child *c);

/* Waits up to TIMEOUT_MS for the child to exit; 1 when it has. */
int child_wait(struct child *c, int timeout_ms);

/* The child leads a process group of its own, as ipykernel alone leads the one
 * Jupyter starts it in, and the proxy passes the signals it gets on to that group
 * (child_signal): a signal-mode interrupt sent to our pid alone (VS Code's
 * kill(pid, SIGINT), `kill -INT PID`) reaches the kernel and the processes its cell
 * started, as one sent to our whole group (jupyter_client's killpg) does, and that
 * one reaches them once, not twice; and ipykernel's own message-mode interrupt
 * (killpg of its group when it leads one) reaches its subprocesses too.
 *
 * The keeper.  A SIGKILL of our group (jupyter_client's restart_kernel(now=True),
 * shutdown_kernel(now=True), a kernel that did not exit in time) cannot be passed on:
 * the child died by PR_SET_PDEATHSIG and the processes its cells started were left
 * running, where the same SIGKILL of ipykernel alone's group ends them.  So a tiny
 * process forked with the child (plain syscalls, no zmq) joins the child's group and
 * blocks reading a socket whose other end only we hold (close-on-exec).  child_cleanup,
 * our every ordinary end, writes it one byte first: it exits and does nothing (a
 * graceful shutdown leaves what ipykernel alone leaves).  End of file without the
 * byte means we were killed (SIGKILL of our group, or of our pid alone, which it cannot
 * tell apart and Jupyter never sends alone, or a crash): it removes the
 * private folder and SIGKILLs the child's group, itself with it.  Being a member, it
 * keeps that group's id from being freed and reused while it waits, so its killpg can
 * only reach the child's group.  It blocks every catchable signal, those sent to the
 * child's group too; ipykernel does not see it (not its descendant).
 * The child that dies by itself (os._exit, the OOM killer, a segfault) ends us
 * normally, but Jupyter's restart then SIGKILLs our group, where ipykernel alone's
 * leftovers die: so the proxy calls child_kill_group first, while the keeper still
 * holds the group's id. */
void child_signal(struct child *c, int sig);

/* SIGKILLs the child's group once the child has ended without being asked to, as
 * Jupyter's restart of a dead ipykernel kills its group: the processes its cells
 * started, and the keeper (reaped here).  Only while the keeper, unreaped, is in
 * that group (its id then cannot have been reused); else nothing. */
void child_kill_group(struct child *c);

/* SIGTERM, up to GRACE_MS to exit, then SIGKILL; always reaps. */
void child_stop(struct child *c, int grace_ms);

/* "exited with status 1", "killed by signal 9" */
void child_describe_exit(const struct child *c, char *out, size_t outlen);

/* The code for us to exit with so that our end looks like the child's: its own exit
 * status (0 after a cell's `exit()`, as ipykernel alone exits), or 1 when a signal
 * killed it (a shell's 128 + N would look like our own death by that signal). */
int child_exit_code(const struct child *c);

/* Our ordinary end: tells the keeper to do nothing and reaps it, removes the private
 * folder and everything in it, frees the connection. */
void child_cleanup(struct child *c);

#endif
