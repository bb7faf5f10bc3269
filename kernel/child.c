/* child.c — starting, watching and stopping the wrapped kernel (see child.h). */
#include "kernel/child.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "nbformat/notebook.h"

extern char **environ;

/* S with every {connection_file}, {resource_dir} and {prefix} (Jupyter's sys.prefix,
 * as jupyter_client's format_kernel_cmd has it; left as it is when not known)
 * replaced; malloc'd. */
static char *substitute(const char *s, const char *conn_file, const char *resource_dir, const char *prefix)
{
    static const char *const keys[3] = {"{connection_file}", "{resource_dir}", "{prefix}"};
    const char *vals[3] = {conn_file, resource_dir, prefix};
    int n_keys = prefix[0] ? 3 : 2;
    size_t cap = strlen(s) + 1;
    for (const char *p = s; *p; p++)
        if (*p == '{') cap += strlen(conn_file) + strlen(resource_dir) + strlen(prefix);
    char *out = malloc(cap), *o = out;
    if (!out) return NULL;
    while (*s) {
        int hit = 0;
        for (int k = 0; k < n_keys && !hit; k++) {
            size_t kl = strlen(keys[k]);
            if (strncmp(s, keys[k], kl) == 0) {
                size_t vl = strlen(vals[k]);
                memcpy(o, vals[k], vl);
                o += vl, s += kl, hit = 1;
            }
        }
        if (!hit) *o++ = *s++;
    }
    *o = 0;
    return out;
}

/* The program file for ARGV0, searched when it has no '/' on the PATH of ENVP, the
 * child's environment: a kernelspec's "env" may set PATH ("/opt/k/bin:$PATH"), and
 * jupyter_client's Popen looks the program up on the PATH it gives the kernel
 * (os.get_exec_path(env)).  Resolved before fork so the child needs nothing but
 * execve. */
static int resolve_program(const char *argv0, char *const *envp, char *out, size_t outlen)
{
    if (strchr(argv0, '/')) {
        /* one too long names no file: cut, it could name another program */
        int n = snprintf(out, outlen, "%s", argv0);
        if (n < 0 || (size_t)n >= outlen) return -1;
        return access(out, X_OK);
    }
    const char *path = NULL;
    for (char *const *e = envp; *e && !path; e++)
        if (strncmp(*e, "PATH=", 5) == 0) path = *e + 5;
    if (!path) path = "/usr/local/bin:/usr/bin:/bin";
    /* Every entry, the last one too: an empty one (PATH=":/x", "/x::/y", "/x:" or
     * "") is the current folder, as for glibc's execvp and Python's Popen. */
    for (;;) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        size_t l = len ? len : 1; /* an empty entry is ".", one byte more */
        if (l + strlen(argv0) + 2 <= outlen) {
            memcpy(out, len ? path : ".", l);
            out[l] = '/';
            strcpy(out + l + 1, argv0);
            if (access(out, X_OK) == 0) return 0;
        }
        if (!colon) break;
        path = colon + 1;
    }
    return -1;
}

static int id_start(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int id_char(char c) { return id_start(c) || (c >= '0' && c <= '9'); }

/* KV ("NAME=value") with $NAME, ${NAME} and $$ in its value replaced from our
 * environment, as Python's string.Template.safe_substitute does: jupyter_client expands
 * a kernelspec's env so ("PATH": "/opt/x/bin:$PATH"), and the wrapped kernel must get
 * what it would get alone.  An unset name, or a $ that starts neither form, stays as
 * written.  malloc'd; NULL when out of memory. */
static char *expand_env_entry(const char *kv)
{
    const char *eq = strchr(kv, '=');
    size_t cap = strlen(kv) + 1, n = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    for (const char *s = kv; *s;) {
        const char *add = s, *next = s + 1;
        size_t len = 1;
        if (*s == '$' && eq && s > eq) {
            const char *name = s + 1, *end;
            int braced = *name == '{';
            if (braced) name++;
            for (end = name; id_char(*end); end++) {}
            if (s[1] == '$') { /* $$ is one $ */
                len = 1, next = s + 2;
            } else if (id_start(*name) && (!braced || *end == '}')) {
                char key[256];
                size_t kl = (size_t)(end - name);
                next = end + braced;
                const char *val = NULL;
                if (kl < sizeof key) {
                    memcpy(key, name, kl);
                    key[kl] = 0;
                    val = getenv(key);
                }
                if (val) add = val, len = strlen(val);
                else len = (size_t)(next - s); /* unknown: as written */
            }
        }
        if (n + len + 1 > cap) {
            cap = 2 * (n + len + 1);
            char *bigger = realloc(out, cap);
            if (!bigger) { free(out); return NULL; }
            out = bigger;
        }
        memcpy(out + n, add, len);
        n += len;
        s = next;
    }
    out[n] = 0;
    return out;
}

/* Our environment plus JPY_PARENT_PID and the kernelspec's env (which override),
 * expanded into EXPANDED (ks->n_env entries, the caller's to free), and
 * NBSTAGE_CHILD_CONNECTION_FILE=CONN_FILE: a wrapped kernelspec that runs
 * nbstage-kernel again by another name (/usr/bin/env, a shell script, a symlink) would
 * start stage kernels without end; the one started with this very file refuses to
 * (main_kernel.c).  A stage kernel started from a cell (another Jupyter, nbclient) gets
 * a connection file of its own and runs. */
static char **child_environment(const struct found_kernelspec *ks, char **expanded,
                                const char *conn_file)
{
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + ks->n_env + 3, sizeof *env);
    if (!env) return NULL;
    for (size_t j = 0; j < ks->n_env; j++)
        if (!(expanded[j] = expand_env_entry(ks->env[j]))) {
            free(env);
            return NULL;
        }
    size_t m = 0;
    static char ppid[40];
    snprintf(ppid, sizeof ppid, "JPY_PARENT_PID=%ld", (long)getpid());
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(environ[i], '=');
        size_t kl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        int overridden = strncmp(environ[i], "JPY_PARENT_PID=", 15) == 0 ||
                         strncmp(environ[i], CHILD_CONNECTION_ENV "=", sizeof CHILD_CONNECTION_ENV) == 0;
        for (size_t j = 0; j < ks->n_env && !overridden; j++)
            overridden = strncmp(ks->env[j], environ[i], kl + 1) == 0;
        if (!overridden) env[m++] = environ[i];
    }
    for (size_t j = 0; j < ks->n_env; j++) env[m++] = expanded[j];
    env[m++] = ppid;
    static char inner[sizeof CHILD_CONNECTION_ENV + sizeof ((struct child *)0)->conn_file];
    snprintf(inner, sizeof inner, "%s=%s", CHILD_CONNECTION_ENV, conn_file);
    env[m++] = inner;
    env[m] = NULL;
    return env;
}

/* Removes DIR and the files in it (no subfolders are ever made).  Plain syscalls
 * (getdents64, not readdir's malloc): the keeper runs it too. */
static void remove_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        struct ent { /* the kernel's linux_dirent64 */
            unsigned long long ino;
            long long off;
            unsigned short reclen;
            unsigned char type;
            char name[];
        };
        _Alignas(8) char buf[4096];
        long n;
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
            for (long at = 0; at < n;) {
                const struct ent *e = (const struct ent *)(buf + at);
                if (strcmp(e->name, ".") && strcmp(e->name, "..")) unlinkat(fd, e->name, 0);
                at += e->reclen;
            }
        close(fd);
    }
    rmdir(dir);
}

/* A proxy killed with SIGKILL cannot remove its folder; the next one to start removes
 * the folders of ours whose owner process is gone (the folder name carries its pid). */
static void sweep_stale(const char *tmp)
{
    DIR *d = opendir(tmp);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        long pid;
        char rest[16], path[200];
        struct stat st;
        if (sscanf(e->d_name, "nbstage-kernel-%ld-%15s", &pid, rest) != 2 || pid <= 0) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours */
        snprintf(path, sizeof path, "%s/%.150s", tmp, e->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid()) remove_dir(path);
    }
    closedir(d);
}

/* The keeper's life (child.h): in the child's group GROUP, every signal it can block
 * blocked, every file closed but its end of the socket pair RFD; one byte is our ordinary end
 * (nothing to do), end of file our death (remove DIR, kill the group).  Plain
 * syscalls only, as between fork and exec. */
static _Noreturn void keeper_run(int rfd, pid_t group, const char *dir)
{
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    prctl(PR_SET_NAME, "nbstage-keeper");
    if (setpgid(0, group) != 0) _exit(0); /* the group is gone: nothing to guard */
    if ((rfd > 0 && close_range(0, (unsigned)rfd - 1, 0) != 0) ||
        close_range((unsigned)rfd + 1, ~0U, 0) != 0)
        for (int fd = 0; fd < 1024; fd++) /* a kernel without close_range (before 5.9) */
            if (fd != rfd) close(fd);
    char byte;
    ssize_t r;
    while ((r = read(rfd, &byte, 1)) < 0 && errno == EINTR) {}
    if (r != 0) _exit(0); /* the byte, or an error: do nothing */
    remove_dir(dir);
    killpg(group, SIGKILL); /* itself too, last */
    _exit(0);
}

/* Forks the keeper of C's child (child.h).  Without one (no socket, no fork) the kernel
 * runs as before it had one, and says so. */
static void start_keeper(struct child *c)
{
    int fds[2]; /* a socket pair, not a pipe: send's MSG_NOSIGNAL needs no SIGPIPE set-up */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        nb_say(stderr, "nbstage-kernel: no keeper for the wrapped kernel: socketpair: %s",
               strerror(errno));
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        nb_say(stderr, "nbstage-kernel: no keeper for the wrapped kernel: fork: %s", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) keeper_run(fds[0], c->pid, c->dir);
    /* in the child's group before we return, whichever runs first: until then a
     * SIGKILL of our group would take it too */
    setpgid(pid, c->pid);
    close(fds[0]);
    c->keeper = pid;
    c->keeper_fd = fds[1];
}

/* Our ordinary end, for the keeper: the byte, then up to a second for it to exit (it
 * does at once; one stopped is left to init). */
static void stop_keeper(struct child *c)
{
    if (c->keeper_fd >= 0) {
        ssize_t w = send(c->keeper_fd, "x", 1, MSG_NOSIGNAL); /* EPIPE when it is gone */
        (void)w;
        close(c->keeper_fd);
        c->keeper_fd = -1;
    }
    struct timespec step = {0, 5 * 1000 * 1000};
    for (int waited = 0; c->keeper && waited <= 1000; waited += 5) {
        pid_t r = waitpid(c->keeper, NULL, WNOHANG);
        if (r == c->keeper || (r < 0 && errno != EINTR)) c->keeper = 0;
        else nanosleep(&step, NULL);
    }
}

/* Where the child's folder goes: TMPDIR as Python's tempfile takes it; where it is
 * missing or too long for the sockets' paths (DIR/k-5 within sun_path's 108 bytes),
 * /tmp.  (One that cannot be written falls back to /tmp in make_child_dir.) */
static const char *tmp_base(void)
{
    const char *tmp = getenv("TMPDIR");
    char probe[64];
    int probe_len = snprintf(probe, sizeof probe, "/nbstage-kernel-%ld-XXXXXX/k-5", (long)getpid());
    if (!tmp || !*tmp || strlen(tmp) + (size_t)probe_len >= sizeof ((struct sockaddr_un *)0)->sun_path) tmp = "/tmp";
    return tmp;
}

/* C's connection: PARENT's, key copied, over ipc endpoints 1 to 5 (their path is set
 * once the folder is made).  -1 with the reason in ERR when out of memory. */
static int child_connection(struct child *c, const struct connection *parent, char *err, size_t errlen)
{
    c->conn = *parent;
    c->conn.key = malloc(parent->key_len + 1);
    if (!c->conn.key) { snprintf(err, errlen, "out of memory"); return -1; }
    memcpy(c->conn.key, parent->key, parent->key_len + 1);
    strcpy(c->conn.transport, "ipc");
    for (int ch = 0; ch < N_CHANNELS; ch++) c->conn.port[ch] = ch + 1;
    return 0;
}

/* Makes C's private folder in TMP and writes its connection file there; where TMP
 * fails, once more in /tmp (a stale TMPDIR, a cleaned-up job folder, kept the kernel
 * from starting, where ipykernel alone starts).  -1 with the reason in ERR and no
 * folder left. */
static int make_child_dir(struct child *c, const char *tmp, char *err, size_t errlen)
{
    for (int attempt = 0;; attempt++) {
        sweep_stale(tmp);
        snprintf(c->dir, sizeof c->dir, "%s/nbstage-kernel-%ld-XXXXXX", tmp, (long)getpid());
        if (mkdtemp(c->dir)) { /* mkdtemp makes it 0700: the endpoints are ours alone */
            snprintf(c->conn_file, sizeof c->conn_file, "%s/connection.json", c->dir);
            snprintf(c->conn.ip, sizeof c->conn.ip, "%s/k", c->dir);
            if (connection_write(c->conn_file, &c->conn, err, errlen) == 0) return 0;
            /* A folder but no file: a full filesystem (Python's tempfile writes a file
             * to tell whether a folder can be written, and so goes on to /tmp) */
            unlink(c->conn_file);
            rmdir(c->dir);
        } else {
            snprintf(err, errlen, "%s: %s", c->dir, strerror(errno));
        }
        if (attempt == 0 && strcmp(tmp, "/tmp")) { tmp = "/tmp"; continue; }
        c->dir[0] = 0;
        return -1;
    }
}

/* KS's argv, {connection_file} and the others substituted, into ARGV (ks->argc
 * entries, the caller's to free), and the program file it runs into PROG, looked up on
 * the PATH of ENVP.  -1 with the reason in ERR: out of memory, no such program, or
 * nbstage-kernel itself (it would start stage kernels without end). */
static int child_command(const struct found_kernelspec *ks, const char *conn_file, char **argv,
                         char *const *envp, char *prog, size_t proglen, char *err, size_t errlen)
{
    for (size_t i = 0; i < ks->argc; i++)
        if (!(argv[i] = substitute(ks->argv[i], conn_file, ks->dir, ks->prefix))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    if (resolve_program(argv[0], envp, prog, proglen)) {
        snprintf(err, errlen, "%s: program \"%s\" not found or not executable%s",
                 ks->origin, argv[0], strchr(argv[0], '/') ? "" : " on the kernel's PATH");
        return -1;
    }
    const char *base = strrchr(prog, '/');
    if (strcmp(base ? base + 1 : prog, "nbstage-kernel") == 0) {
        snprintf(err, errlen, "%s: wraps nbstage-kernel itself; --wrap a plain kernel", ks->origin);
        return -1;
    }
    return 0;
}

/* The program's path: child_start's buffer. */
enum { PROG_MAX = 4096 };

/* Why an exec failed, for the few reasons it can once the parent found the program
 * (strerror may not run here: it is not async-signal-safe); NULL for another. */
static const char *exec_reason(int e)
{
    switch (e) {
    case ENOENT: return "No such file or directory (or its interpreter is missing)";
    case EACCES: return "Permission denied";
    case ENOEXEC: return "Exec format error (not a program this system runs)";
    case ENOMEM: return "Cannot allocate memory";
    case E2BIG: return "Argument list too long";
    case ETXTBSY: return "Text file busy (being written)";
    case ELOOP: return "Too many levels of symbolic links";
    case ENOTDIR: return "Not a directory";
    case EISDIR: return "Is a directory";
    default: return NULL;
    }
}

/* The child's exec failure, on stderr in one write(2): in three (head, path, newline)
 * another process writing to the same log (the stage kernel itself, a second kernel)
 * could land inside the line.  SHOWN is the program's path as messages show it (made
 * by the parent, nb_shown: a control character in it is escaped), E the exec's errno.
 * Made by hand in a buffer on the stack, for only async-signal-safe calls may run here
 * (no stdio, no snprintf, no malloc). */
static void say_exec_failed(const char *shown, int e)
{
    static const char head[] = "nbstage-kernel: cannot start the wrapped kernel: exec failed: ";
    char line[sizeof head + NB_SHOWN_MAX + 96];
    const char *why = exec_reason(e);
    size_t n = sizeof head - 1;
    memcpy(line, head, n);
    size_t k = strnlen(shown, NB_SHOWN_MAX);
    memcpy(line + n, shown, k);
    n += k;
    line[n++] = ':';
    line[n++] = ' ';
    if (why) {
        k = strlen(why);
        memcpy(line + n, why, k);
        n += k;
    } else { /* "error N" */
        memcpy(line + n, "error ", 6);
        n += 6;
        char digits[12];
        int d = 0;
        unsigned u = e < 0 ? 0u : (unsigned)e;
        do digits[d++] = (char)('0' + u % 10); while ((u /= 10));
        while (d) line[n++] = digits[--d];
    }
    line[n++] = '\n';
    ssize_t r = write(2, line, n);
    (void)r; /* nowhere to say it */
}

/* The child, between fork and exec: async-signal-safe calls only (child.h).  It dies
 * with PARENT_PID, leads its own group, gets SIGINT and SIGPIPE back to their default
 * and nothing blocked, then runs PROG; 127 when it cannot. */
static _Noreturn void child_exec(pid_t parent_pid, const char *prog, const char *shown, char *const *argv,
                                 char *const *envp)
{
    /* The child dies with us, even after kill -9 of the proxy. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent_pid) _exit(127);
    setpgid(0, 0); /* its own process group: see child.h */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGINT, &dfl, NULL); /* the proxy ignores it; the kernel must not */
    sigaction(SIGPIPE, &dfl, NULL);
    /* SIGTERM and SIGHUP as we got them: ignored only if our starter ignored them */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(prog, argv, envp);
    say_exec_failed(shown, errno);
    _exit(127);
}

/* Forks C's child to run PROG; C's pid and group set.  -1 with the reason in ERR. */
static int fork_child(struct child *c, const char *prog, char *const *argv, char *const *envp,
                      char *err, size_t errlen)
{
    pid_t parent_pid = getpid();
    char buf[NB_SHOWN_MAX];
    const char *shown = nb_shown(prog, buf, sizeof buf);
    pid_t pid = fork();
    if (pid < 0) { snprintf(err, errlen, "fork: %s", strerror(errno)); return -1; }
    if (pid == 0) child_exec(parent_pid, prog, shown, argv, envp);
    setpgid(pid, pid); /* as the child does: whichever runs first */
    c->pid = c->group = pid;
    return 0;
}

int child_start(struct child *c, const struct found_kernelspec *ks,
                const struct connection *parent, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->keeper_fd = -1;
    const char *tmp = tmp_base();
    if (child_connection(c, parent, err, errlen) || make_child_dir(c, tmp, err, errlen)) return -1;

    char prog[PROG_MAX];
    char **argv = calloc(ks->argc + 1, sizeof *argv);
    char **expanded = calloc(ks->n_env + 1, sizeof *expanded);
    char **envp = expanded ? child_environment(ks, expanded, c->conn_file) : NULL;
    int rc = -1;
    if (!argv || !envp)
        snprintf(err, errlen, "out of memory");
    else if (child_command(ks, c->conn_file, argv, envp, prog, sizeof prog, err, errlen) == 0 &&
             fork_child(c, prog, argv, envp, err, errlen) == 0) {
        start_keeper(c);
        rc = 0;
    }
    for (size_t i = 0; argv && i < ks->argc; i++) free(argv[i]);
    free(argv);
    free(envp);
    for (size_t j = 0; expanded && j < ks->n_env; j++) free(expanded[j]);
    free(expanded);
    return rc;
}

int child_reaped(struct child *c)
{
    if (c->pid == 0) return 1;
    int st;
    pid_t r = waitpid(c->pid, &st, WNOHANG);
    if (r == c->pid || (r < 0 && errno == ECHILD)) {
        c->status = r == c->pid ? st : 0;
        c->pid = 0;
        return 1;
    }
    return 0;
}

int child_wait(struct child *c, int timeout_ms)
{
    struct timespec step = {0, 5 * 1000 * 1000};
    for (int waited = 0; ; waited += 5) {
        if (child_reaped(c)) return 1;
        if (waited >= timeout_ms) return 0;
        nanosleep(&step, NULL);
    }
}

void child_stop(struct child *c, int grace_ms)
{
    if (child_reaped(c)) return;
    kill(c->pid, SIGTERM);
    if (child_wait(c, grace_ms)) return;
    kill(c->pid, SIGKILL);
    child_wait(c, 5000);
}

void child_signal(struct child *c, int sig)
{
    if (c->pid == 0) return;
    if (kill(-c->pid, sig) != 0) kill(c->pid, sig); /* not its group's leader after all */
}

void child_kill_group(struct child *c)
{
    if (!c->keeper || !c->group || getpgid(c->keeper) != c->group) return;
    killpg(c->group, SIGKILL);
    /* it dies at once (SIGKILL): reaped here, so child_cleanup has nothing to wait for */
    while (waitpid(c->keeper, NULL, 0) < 0 && errno == EINTR) {}
    c->keeper = 0;
    if (c->keeper_fd >= 0) close(c->keeper_fd);
    c->keeper_fd = -1;
}

void child_describe_exit(const struct child *c, char *out, size_t outlen)
{
    if (WIFSIGNALED(c->status))
        snprintf(out, outlen, "was killed by signal %d (%s)", WTERMSIG(c->status),
                 strsignal(WTERMSIG(c->status)));
    else
        snprintf(out, outlen, "exited with status %d", WEXITSTATUS(c->status));
}

int child_exit_code(const struct child *c)
{
    return WIFEXITED(c->status) ? WEXITSTATUS(c->status) : 1;
}

void child_cleanup(struct child *c)
{
    stop_keeper(c);
    if (c->dir[0]) {
        remove_dir(c->dir);
        c->dir[0] = 0;
    }
    connection_free(&c->conn);
}
