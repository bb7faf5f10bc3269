/* main_kernel.c — `nbstage-kernel`, the Jupyter kernel that tags cells with their stage.
 *
 * Owns: the program's start and end: options, Jupyter's connection file, the wrapped
 * kernel's kernelspec, the model (optional: without one the kernel relays and tags
 * nothing), signal set-up, the child, and handing over to the proxy loop.
 *
 * A wrapped kernel whose language is not Python (its kernelspec's "language" by
 * nbformat/nblang.h's rule, which install-kernel refuses such a kernel by) is relayed
 * without a model, so untagged, unless --any-language: however the kernelspec came to
 * wrap it (written by hand, NBSTAGE_WRAP, install-kernel --any-language, which writes
 * --any-language into its argv), its cells' stages would be the Python model's guesses.
 * The log says so at start; the notebook is not told (the user gets the kernel they
 * chose, working, as without nbstage).
 *
 * Telling the user: why the kernel runs without stage tags (no model found, or one
 * that cannot be read) and which options it ignored go to stderr (the Jupyter
 * server's log) at start, and once, the same reasons, into the notebook: the proxy
 * shows them as a stderr stream in the first executed cell (options_notice,
 * kernel/tagorder.h "The notice").
 *
 * Signals: SIGINT, SIGCHLD, SIGTERM and SIGHUP (these two unless inherited ignored) are
 * blocked and read from a signalfd
 * by the proxy loop, which passes SIGINT (a signal-mode interrupt, to our pid alone or
 * to our process group) on to the child's own group (kernel/child.h).  The mask is set
 * before any thread or child exists.  A SIGTERM or SIGHUP ends the kernel as it ends
 * ipykernel alone, by that signal (a supervisor, jupyter_client, sees the kernel
 * killed by it, not an exit 0), once the child is stopped and everything is cleaned
 * up: end_by_signal.
 *
 * Parent: as ipykernel does when JPY_PARENT_PID is set (and not 1), the kernel exits
 * when the process that started it dies; a pidfd of the parent tells the proxy loop.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kernel/child.h"
#include "kernel/connection.h"
#include "kernel/kernelspec_find.h"
#include "kernel/options.h"
#include "kernel/proxy.h"
#include "model/blas_core.h"
#include "model/commands.h"
#include "model/model.h"
#include "model/version.h"
#include "nbformat/notebook.h"
#include "nbformat/sharefile.h"

/* The process id, kept.  libzmq calls getpid() each time one of its threads signals
 * another (its check that a context is not used across a fork), and glibc no longer
 * caches the id, so each is a system call: 41 in a `pass` round trip, which cost the
 * proxy 6-8% of its CPU there on the VMs measured (tests/bench/NOTES.md, "The
 * kernel's round trip").  This definition takes the place of libc's for the whole
 * program (the executable comes first in the dynamic linker's lookup; glibc's own
 * code does not go through it).  main sets it before any thread or child exists, a
 * fork's child sets its own (pthread_atfork: the proxy forks only with fork(), and
 * the handler makes one system call, safe there), and until then the system call
 * answers, as it always does when the handler could not be registered. */
static atomic_int own_pid;

pid_t getpid(void)
{
    int pid = atomic_load_explicit(&own_pid, memory_order_relaxed);
    return pid ? (pid_t)pid : (pid_t)syscall(SYS_getpid);
}

static void own_pid_note(void)
{
    atomic_store_explicit(&own_pid, (int)syscall(SYS_getpid), memory_order_relaxed);
}

/* The model at PATH (NULL: the default one), or NULL with the reason in WHY (as the
 * log gives it: "PATH: what is wrong"). */
static nbs_model *load_model(const char *path, char *why, size_t cap)
{
    if (!path) path = model_default_path();
    if (!path) { /* the shipped one gone: how to put it back, in every command's words */
        char missing[NB_ERROR_MAX];
        snprintf(why, cap, "no model found: %s",
                 share_file_missing("default.nbsm", "or give --model FILE or set NBSTAGE_MODEL", missing,
                                    sizeof missing));
    } else {
        nbs_model *m = model_load(path, why, cap);
        if (m) return m;
    }
    nb_say(stderr, "nbstage-kernel: %s; relaying without stage tags", why);
    return NULL;
}

/* 1 when this process was started as the wrapped kernel of a stage kernel: with the
 * connection file that stage kernel wrote for its child (kernel/child.h).  The wrapped
 * kernelspec then runs nbstage-kernel again by another name (/usr/bin/env, a script,
 * a symlink), and each would start the next, without end. */
static int started_by_a_stage_kernel(const char *connection_file)
{
    const char *inner = getenv(CHILD_CONNECTION_ENV);
    struct stat a, b;
    if (!inner || !*inner) return 0;
    if (strcmp(inner, connection_file) == 0) return 1;
    return stat(inner, &a) == 0 && stat(connection_file, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/* PATH made absolute, as ipykernel makes the connection file it is given
 * (IPKernelApp.init_connection_file, os.path.abspath): a relative one joined to the
 * working directory, leading "./" dropped (Jupyter gives an absolute one).  malloc'd;
 * NULL when out of memory or the directory is unknown. */
static char *absolute(const char *path)
{
    if (path[0] == '/') return strdup(path);
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return NULL;
    while (path[0] == '.' && path[1] == '/') path += 2;
    size_t n = strlen(cwd) + strlen(path) + 2;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s/%s", cwd, path);
    return out;
}

/* The parent to outlive no longer than ipykernel would (see the header): sets *PARENT
 * (0: none to watch) and returns a pidfd of it, or -1 (then the loop polls getppid). */
static int watch_parent(pid_t *parent)
{
    const char *v = getenv("JPY_PARENT_PID");
    long handle = v ? strtol(v, NULL, 10) : 0;
    *parent = 0;
    if (handle == 0 || handle == 1) return -1; /* ipykernel's condition for its poller */
    pid_t p = getppid();
    *parent = p == 1 ? -1 : p; /* already gone: -1 is never a parent, so the loop exits */
    if (p == 1) return -1;
    int fd = (int)syscall(SYS_pidfd_open, p, 0); /* close-on-exec by definition */
    if (fd >= 0 && getppid() != p) { /* it died before the pidfd was taken */
        close(fd);
        return -1;
    }
    return fd;
}

/* 0 when --help's or --version's text reached stdout, else 2 with the reason on stderr,
 * as nbstage says it for its commands (a full disk, a closed stdout). */
static int stdout_written(void)
{
    return nb_stdout_flush("nbstage-kernel") ? 2 : 0;
}

/* How the log names the wrapped kernel's choice, before its name: as the user made it
 * ("NBSTAGE_WRAP=ir", from a kernelspec's "env"; "--wrap ir" on the command line or
 * the default python3), so one who never typed --wrap is not sent looking for it. */
static const char *wrap_source(const struct kernel_options *o)
{
    return o->wrap_from_env ? "NBSTAGE_WRAP=" : "--wrap ";
}

/* Ends the process by SIG, as ipykernel alone ends by it (Python leaves SIGTERM and
 * SIGHUP at their default): the default action restored, the signal (blocked, as the
 * signalfd reads it) raised and unblocked.  Only returns, 1, if SIG did not end it. */
static int end_by_signal(int sig)
{
    fflush(NULL); /* the default action flushes nothing */
    signal(sig, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    raise(sig); /* pending until unblocked, in this thread */
    sigprocmask(SIG_UNBLOCK, &only, NULL);
    return 1;
}

/* The process's first steps, in this order, before anything else runs. */
static void start_process(char **argv)
{
    nb_hold_std_fds(); /* before any file or socket is opened (nbformat/notebook.h) */
    blas_core_reexec(argv, 0); /* first: OpenBLAS's threads can hang even the exit (model/blas_core.h) */
    /* the pid after the re-exec, before any thread or child (own_pid), kept only once
     * a fork's child is sure to note its own: were the handler not registered
     * (pthread_atfork out of memory), getpid() in a child (the keeper, the wrapped
     * kernel before its exec) would answer its parent's pid; the system call then
     * answers throughout, slower but right */
    if (pthread_atfork(NULL, NULL, own_pid_note) == 0) own_pid_note();
}

/* The options into O: -1 to go on, else the exit code (a usage error said, or --help's
 * or --version's text written). */
static int read_options(int argc, char **argv, struct kernel_options *o)
{
    char err[1024];
    if (options_parse(argc, argv, o, err, sizeof err)) {
        nb_say(stderr, "nbstage-kernel: %s", err);
        return cmd_usage_error("nbstage-kernel", options_usage);
    }
    if (o->help) {
        char shipped[4096], found[4096];
        printf(options_usage, share_file_expected("default.nbsm", shipped, sizeof shipped),
               share_file_find("default.nbsm", found, sizeof found) ? ",\n                         which is missing" : "");
        return stdout_written();
    }
    if (o->version) { printf("nbstage-kernel %s\n", NBSTAGE_VERSION); return stdout_written(); }
    /* ignored options: said in the server's log (and in the notebook, the notice of
     * run_kernel), the kernel runs (kernel/options.h) */
    for (const char *w = o->warnings, *nl; (nl = strchr(w, '\n')); w = nl + 1)
        fprintf(stderr, "nbstage-kernel: warning: %.*s\n", (int)(nl - w), w);
    return -1;
}

/* Jupyter's connection file into CONN and the wrapped kernel's kernelspec into KS,
 * with the frontend's extra arguments for the kernel (traitlets settings) after its
 * argv: 0, or 1 (the exit code) with the reason said and nothing left to free.  A
 * stage kernel started as the wrapped kernel of one is refused first. */
static int read_connection_and_spec(const struct kernel_options *o, struct connection *conn,
                                    struct found_kernelspec *ks)
{
    char err[1024];
    if (started_by_a_stage_kernel(o->connection_file)) {
        fprintf(stderr, "nbstage-kernel: started as the wrapped kernel of a stage kernel (the "
                        "kernelspec it wraps runs nbstage-kernel again): a stage kernel cannot wrap "
                        "a stage kernel; --wrap a plain kernel\n");
        return 1;
    }
    if (connection_read(o->connection_file, conn, err, sizeof err)) {
        nb_say(stderr, "nbstage-kernel: %s", err);
        return 1;
    }
    if (kernelspec_find(o->wrap, ks, err, sizeof err)) {
        nb_say(stderr, "nbstage-kernel: %s%s: %s", wrap_source(o), o->wrap, err);
        connection_free(conn);
        return 1;
    }
    if (kernelspec_append_args(ks, o->child_args, (size_t)o->n_child_args)) {
        fprintf(stderr, "nbstage-kernel: out of memory\n");
        kernelspec_found_free(ks);
        connection_free(conn);
        return 1;
    }
    return 0;
}

/* SIGPIPE ignored; SIGINT, SIGCHLD, SIGTERM and SIGHUP blocked, to be read from the
 * signalfd returned (-1 on failure) by the proxy loop (see the header).  Called before
 * any thread or child exists, which inherit the mask. */
static int block_signals(void)
{
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGCHLD);
    /* A hang-up or termination the kernel's starter ignores (nohup, a script's
     * background job) stays ignored, by us and (inherited) by the child, as by the
     * wrapped kernel alone: a blocked signal is queued for the signalfd even when
     * ignored, and would end the kernel. */
    struct sigaction inherited;
    if (sigaction(SIGTERM, NULL, &inherited) || inherited.sa_handler != SIG_IGN) sigaddset(&set, SIGTERM);
    if (sigaction(SIGHUP, NULL, &inherited) || inherited.sa_handler != SIG_IGN) sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* What main gathers for the proxy loop: the options, the connection, the wrapped
 * kernel's spec, the parent to watch and the signalfd; the model, once loaded, and the
 * signal that ended the loop, for main to free and end by. */
struct kernel {
    struct kernel_options opt;
    struct connection conn;
    struct found_kernelspec ks;
    pid_t parent;
    int parent_fd, sfd;
    nbs_model *model;
    int end_signal;
};

/* Starts the wrapped kernel, loads the model while it starts up (none for a kernel
 * that is not Python, unless --any-language; see the header), and relays until the
 * end (proxy_run).  The exit code; the child is cleaned up. */
static int run_kernel(struct kernel *k)
{
    const struct kernel_options *opt = &k->opt;
    char err[1024];
    struct child child;
    if (child_start(&child, &k->ks, &k->conn, err, sizeof err)) {
        nb_say(stderr, "nbstage-kernel: cannot start the wrapped kernel \"%s\": %s", opt->wrap, err);
        child_cleanup(&child);
        return 1;
    }
    static char why[NB_ERROR_MAX], notice[NB_ERROR_MAX + 2048];
    int tags = k->ks.lang.python || opt->any_language;
    if (!tags)
        nb_say(stderr, "nbstage-kernel: %s%s: its language is %s, not Python; relaying "
                       "without stage tags (--any-language tags its cells all the same)",
               wrap_source(opt), opt->wrap, k->ks.lang.name);
    else
        k->model = load_model(opt->model_from_env ? NULL : opt->model, why, sizeof why); /* while the child starts up */
    options_notice(opt, k->model || !tags ? NULL : why, notice, sizeof notice);
    char *client_file = absolute(opt->connection_file);
    struct proxy_config cfg = {.client = &k->conn, .child = &child, .model = k->model,
                               .display = &opt->display, .notice = notice, .signal_fd = k->sfd,
                               .client_file = client_file,
                               .ipykernel = kernelspec_runs_ipykernel(&k->ks),
                               .parent = k->parent, .parent_fd = k->parent_fd};
    int code = proxy_run(&cfg, &k->end_signal);
    if (k->conn.created && k->conn.written && client_file) unlink(client_file); /* made here: ours to remove */
    free(client_file);
    child_cleanup(&child);
    return code;
}

/* The start-up steps in their order, the kernel run, then everything freed: the exit
 * code, or the end by the signal that ended the loop. */
int main(int argc, char **argv)
{
    struct kernel k = {.model = NULL};
    start_process(argv);
    int code = read_options(argc, argv, &k.opt);
    if (code >= 0) return code;
    blas_threads_stop(); /* the proxy multiplies nothing through BLAS (model/blas_core.h) */
    if (sodium_init() < 0) { fprintf(stderr, "nbstage-kernel: libsodium failed to start\n"); return 1; }
    static char conn_path[8200]; /* where ipykernel would find -f's file (kernel/connection.h) */
    connection_locate(k.opt.connection_file, conn_path, sizeof conn_path);
    k.opt.connection_file = conn_path;
    if (read_connection_and_spec(&k.opt, &k.conn, &k.ks)) return 1;
    k.parent_fd = watch_parent(&k.parent);
    k.sfd = block_signals(); /* before any thread or child exists */
    code = 1;
    if (k.sfd < 0)
        perror("nbstage-kernel: signalfd");
    else
        code = run_kernel(&k);
    if (k.parent_fd >= 0) close(k.parent_fd);
    model_free(k.model);
    kernelspec_found_free(&k.ks);
    connection_free(&k.conn);
    return k.end_signal ? end_by_signal(k.end_signal) : code;
}
