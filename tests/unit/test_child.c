/* test_child.c — starting the wrapped kernel: how its program is looked up (child.c).
 * Only refusals are tested here (no kernel is started); the kernel itself is started by
 * the integration tests. */
#include "tests/unit/unit.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_name_that_just_fits_an_empty_path_entry),
        cmocka_unit_test(a_path_too_long_is_not_cut_to_another_program),
        cmocka_unit_test(an_empty_last_path_entry_is_the_current_folder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
