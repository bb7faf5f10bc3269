/* test_child.c — starting the wrapped kernel: how its program is looked up (child.c),
 * what the child says when its exec fails, and what its keeper does when the stage kernel ends or is killed (a shell script
 * stands in for the kernel); the kernel itself is started by the integration tests. */
#include "tests/unit/unit.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kernel/child.h"

/* child_start on a kernelspec whose argv is ARGV0 alone and env ENV (NULL: none). */
static int start(const char *argv0, const char *env, struct child *c, char *err, size_t errlen)
{
    char *argv[] = {(char *)argv0, NULL}, *envv[] = {(char *)env, NULL};
    static struct found_kernelspec ks; /* 4 KB of folder name: not on the stack */
    memset(&ks, 0, sizeof ks);
    strcpy(ks.dir, "/nonexistent/kernels/k");
    ks.argv = argv;
    ks.argc = 1;
    ks.env = envv;
    ks.n_env = env ? 1 : 0;
    unsigned char key[] = "k";
    struct connection parent = {.transport = "tcp", .ip = "127.0.0.1", .key = key, .key_len = 1,
                                .signature_scheme = "hmac-sha256"};
    return child_start(c, &ks, &parent, err, errlen);
}

/* A program name looked up in a PATH entry that is empty (the current folder, as a
 * trailing ':' gives it): the name that just fits "DIR/NAME" in the 4096 bytes had
 * its NUL written one byte past them ("." is one byte longer than the empty entry);
 * ASan's stack-buffer-overflow in make unit-san. */
static void a_name_that_just_fits_an_empty_path_entry(void **state)
{
    (void)state;
    char *tmp = unit_make_tmpdir("child");
    setenv("TMPDIR", tmp, 1);
    char name[4095];
    memset(name, 'x', sizeof name - 1);
    name[sizeof name - 1] = 0; /* 4094 bytes: with "/" and the NUL, 4096 */
    struct child c;
    char err[8192];
    assert_int_equal(start(name, "PATH=:/nonexistent", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "not found or not executable"));
    child_cleanup(&c);
    unsetenv("TMPDIR");
    rmdir(tmp);
    free(tmp);
}

/* A path too long for the buffer was cut to its first 4095 bytes and run if they named
 * a program: here "/////.../usr/bin/true" of "/////.../usr/bin/true-not-a-program". */
static void a_path_too_long_is_not_cut_to_another_program(void **state)
{
    (void)state;
    char *tmp = unit_make_tmpdir("child");
    setenv("TMPDIR", tmp, 1);
    static const char prog[] = "usr/bin/true", rest[] = "-not-a-program";
    char path[4095 + sizeof rest];
    size_t slashes = 4095 - (sizeof prog - 1);
    memset(path, '/', slashes);
    strcpy(path + slashes, prog);
    strcat(path, rest);
    struct child c;
    char err[16384];
    int rc = start(path, NULL, &c, err, sizeof err);
    if (rc == 0) child_stop(&c, 1000); /* it started /usr/bin/true */
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "not found or not executable"));
    child_cleanup(&c);
    unsetenv("TMPDIR");
    rmdir(tmp);
    free(tmp);
}

/* The program in the current folder, found through an empty PATH entry at the end of
 * PATH ("/nonexistent:") or through an empty PATH, as glibc's execvp and Python's Popen
 * (jupyter_client's) find it; a leading one (":/nonexistent") was the only one searched.
 * The program exits 7: it is the one that ran. */
static void an_empty_last_path_entry_is_the_current_folder(void **state)
{
    (void)state;
    static const char *const paths[] = {"PATH=/nonexistent:", "PATH=", "PATH=:/nonexistent",
                                        "PATH=/nonexistent::/nonexistent2"};
    char *tmp = unit_make_tmpdir("child");
    setenv("TMPDIR", tmp, 1);
    char cwd[4096], prog[600];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(prog, sizeof prog, "%s/nbstage-test-prog", tmp);
    unit_write_file(prog, "#!/bin/sh\nexit 7\n");
    assert_int_equal(chmod(prog, 0755), 0);
    assert_int_equal(chdir(tmp), 0);
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        struct child c;
        char err[8192] = "";
        int rc = start("nbstage-test-prog", paths[i], &c, err, sizeof err);
        if (rc != 0) print_error("%s: %s\n", paths[i], err);
        assert_int_equal(rc, 0);
        assert_int_equal(child_wait(&c, 10000), 1);
        assert_int_equal(child_exit_code(&c), 7);
        child_cleanup(&c);
    }
    assert_int_equal(chdir(cwd), 0);
    unsetenv("TMPDIR");
    unit_rm_rf(tmp);
    free(tmp);
}

/* A program that passes the lookup (a file we may execute) but that execve refuses
 * (no #! line, no ELF header: ENOEXEC): the child says so on stderr in one write(2),
 * where it wrote the line in three (its head, the path, the newline), and another
 * process writing to the same log (the stage kernel itself) could land inside it.
 * stderr is a pipe in packet mode (pipe(7)'s O_DIRECT: each write(2) a packet).  The
 * line gives the reason (it gave none) and shows the path as messages do: the escape
 * character in its name as \x1b (it went to the log raw). */
static void an_exec_failure_is_said_in_one_write(void **state)
{
    (void)state;
    int fds[2];
    if (pipe2(fds, O_DIRECT | O_NONBLOCK)) skip(); /* (non-blocking: a full pipe fails, not hangs) */
    char *tmp = unit_make_tmpdir("child");
    setenv("TMPDIR", tmp, 1);
    char prog[600], want[800];
    snprintf(prog, sizeof prog, "%s/not\x1b-a-program", tmp); /* an escape in its name, shown escaped */
    unit_write_file(prog, "this is no program\n");
    assert_int_equal(chmod(prog, 0755), 0);
    int saved = dup(2);
    assert_true(saved >= 0);
    assert_true(dup2(fds[1], 2) == 2);
    struct child c;
    char err[1024] = "";
    int rc = start(prog, NULL, &c, err, sizeof err);
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    if (rc) print_error("%s\n", err);
    assert_int_equal(rc, 0);
    assert_int_equal(child_wait(&c, 10000), 1);
    assert_int_equal(child_exit_code(&c), 127);
    child_cleanup(&c); /* the keeper, which holds stderr too, gone */
    char got[2 * PIPE_BUF];
    size_t n = 0, packets = 0;
    ssize_t k;
    while (n < sizeof got - 1 && (k = read(fds[0], got + n, sizeof got - 1 - n)) > 0) { /* a packet a read */
        n += (size_t)k;
        packets++;
    }
    close(fds[0]);
    got[n] = 0;
    snprintf(want, sizeof want,
             "nbstage-kernel: cannot start the wrapped kernel: exec failed: %s/not\\x1b-a-program: "
             "Exec format error (not a program this system runs)\n", tmp);
    assert_string_equal(got, want);
    assert_int_equal(packets, 1);
    unsetenv("TMPDIR");
    unit_rm_rf(tmp);
    free(tmp);
}

/* 1 when PID is gone or a zombie within 5 s. */
static int pid_gone(pid_t pid)
{
    struct timespec step = {0, 20 * 1000 * 1000};
    for (int i = 0; i < 250; i++) {
        char path[64], stat[512] = "";
        snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
        FILE *f = fopen(path, "r");
        if (!f) return 1;
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = 0;
        const char *st = strrchr(stat, ')');
        if (st && st[1] == ' ' && st[2] == 'Z') return 1;
        nanosleep(&step, NULL);
    }
    return 0;
}

/* A "stage kernel" process that starts a child (a script that leaves a background
 * sleep in its group, writes its pid to TMP/bg, then sleeps) and then either ends as
 * the proxy ends (child_stop, child_cleanup: KILLED 0) or waits to be SIGKILLed.
 * Returns the background sleep's pid; *DIR gets the private folder. */
static pid_t run_proxy(const char *tmp, int killed, char *dir, size_t dirlen)
{
    char prog[600], bg[600], cmd[2048];
    snprintf(prog, sizeof prog, "%s/kernel.sh", tmp);
    snprintf(bg, sizeof bg, "%s/bg", tmp);
    snprintf(cmd, sizeof cmd, "#!/bin/sh\nsleep 1000 >/dev/null 2>&1 &\necho $! > %s.new\n"
             "mv %s.new %s\nexec sleep 1000\n", bg, bg, bg);
    unit_write_file(prog, cmd);
    assert_int_equal(chmod(prog, 0755), 0);
    unlink(bg);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t proxy = fork();
    assert_true(proxy >= 0);
    if (proxy == 0) {
        struct child c;
        char err[1024];
        if (start(prog, NULL, &c, err, sizeof err)) _exit(3);
        if (write(fds[1], c.dir, strlen(c.dir) + 1) < 0) _exit(4);
        for (int i = 0; i < 500 && access(bg, F_OK) != 0; i++) usleep(10000);
        if (killed) pause();
        pid_t keeper = c.keeper;
        child_stop(&c, 1000);
        child_cleanup(&c);
        _exit(keeper > 0 && c.keeper == 0 && kill(keeper, 0) != 0 ? 0 : 5); /* reaped */
    }
    close(fds[1]);
    ssize_t n = read(fds[0], dir, dirlen);
    close(fds[0]);
    assert_true(n > 0);
    for (int i = 0; i < 500 && access(bg, F_OK) != 0; i++) usleep(10000);
    FILE *f = fopen(bg, "r");
    assert_non_null(f);
    long pid = 0;
    assert_int_equal(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    int st;
    if (killed) kill(proxy, SIGKILL);
    assert_int_equal(waitpid(proxy, &st, 0), proxy);
    if (killed) assert_true(WIFSIGNALED(st));
    else assert_int_equal(WEXITSTATUS(st), 0);
    return (pid_t)pid;
}

/* The stage kernel SIGKILLed (as Jupyter kills its group): the keeper kills the
 * child's group, the process its "cell" left in the background too, as the same
 * SIGKILL of ipykernel alone's group does, and removes the private folder.  Before,
 * the child died by PR_SET_PDEATHSIG and the background sleep ran on. */
static void a_killed_kernel_takes_its_cells_processes_and_folder(void **state)
{
    (void)state;
    char *tmp = unit_make_tmpdir("child");
    setenv("TMPDIR", tmp, 1);
    char dir[200];
    pid_t bg = run_proxy(tmp, 1, dir, sizeof dir);
    int bg_gone = pid_gone(bg);
    if (!bg_gone) kill(bg, SIGKILL);
    assert_true(bg_gone);
    for (int i = 0; i < 250 && access(dir, F_OK) == 0; i++) usleep(20000);
    assert_int_not_equal(access(dir, F_OK), 0);
    unsetenv("TMPDIR");
    unit_rm_rf(tmp);
    free(tmp);
}

/* The stage kernel's ordinary end (child_cleanup): the keeper does nothing and is
 * reaped; what the cell left in the background runs on, as after ipykernel alone's
 * own exit.  The private folder is removed. */
static void an_ordinary_end_leaves_them_as_ipykernel_alone(void **state)
{
    (void)state;
    char *tmp = unit_make_tmpdir("child");
    setenv("TMPDIR", tmp, 1);
    char dir[200];
    pid_t bg = run_proxy(tmp, 0, dir, sizeof dir);
    usleep(200000);
    int alive = kill(bg, 0) == 0;
    kill(bg, SIGKILL);
    assert_true(alive);
    assert_int_not_equal(access(dir, F_OK), 0);
    unsetenv("TMPDIR");
    unit_rm_rf(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_name_that_just_fits_an_empty_path_entry),
        cmocka_unit_test(a_path_too_long_is_not_cut_to_another_program),
        cmocka_unit_test(an_empty_last_path_entry_is_the_current_folder),
        cmocka_unit_test(an_exec_failure_is_said_in_one_write),
        cmocka_unit_test(a_killed_kernel_takes_its_cells_processes_and_folder),
        cmocka_unit_test(an_ordinary_end_leaves_them_as_ipykernel_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
