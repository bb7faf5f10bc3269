/* test_kernelspec.c — where kernelspecs go, what kernel.json says, install and remove. */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <string.h>
#include <unistd.h>

#include "kernel/kernelspec.h"

static void names(void **state)
{
    (void)state;
    assert_true(kernelspec_name_ok("nbstage"));
    assert_true(kernelspec_name_ok("Py-3.11_stages"));
    assert_false(kernelspec_name_ok(""));
    assert_false(kernelspec_name_ok(NULL));
    assert_false(kernelspec_name_ok("a/b"));
    assert_false(kernelspec_name_ok("a b"));
    assert_false(kernelspec_name_ok(".."));
    assert_false(kernelspec_name_ok("."));
    assert_false(kernelspec_name_ok("caf\xc3\xa9"));
}

static void kernels_dirs_follow_jupyter(void **state)
{
    (void)state;
    char out[4096], err[256];
    setenv("HOME", "/home/u", 1);
    unsetenv("JUPYTER_DATA_DIR");
    unsetenv("XDG_DATA_HOME");
    assert_int_equal(kernelspec_kernels_dir(KS_USER, NULL, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "/home/u/.local/share/jupyter/kernels");
    setenv("XDG_DATA_HOME", "/x", 1);
    assert_int_equal(kernelspec_kernels_dir(KS_USER, NULL, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "/x/jupyter/kernels");
    setenv("JUPYTER_DATA_DIR", "/j", 1);
    assert_int_equal(kernelspec_kernels_dir(KS_USER, NULL, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "/j/kernels");
    unsetenv("JUPYTER_DATA_DIR");
    unsetenv("XDG_DATA_HOME");
    unsetenv("HOME");
    assert_int_equal(kernelspec_kernels_dir(KS_USER, NULL, out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "HOME"));

    unsetenv("CONDA_PREFIX");
    unsetenv("VIRTUAL_ENV");
    assert_int_equal(kernelspec_kernels_dir(KS_SYS_PREFIX, NULL, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "/usr/share/jupyter/kernels");
    setenv("VIRTUAL_ENV", "/venv", 1);
    assert_int_equal(kernelspec_kernels_dir(KS_SYS_PREFIX, NULL, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "/venv/share/jupyter/kernels");
    /* a venv activated over conda's base: the venv's, as ipykernel install --sys-prefix */
    setenv("CONDA_PREFIX", "/conda", 1);
    assert_int_equal(kernelspec_kernels_dir(KS_SYS_PREFIX, NULL, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "/venv/share/jupyter/kernels");
    unsetenv("VIRTUAL_ENV");
    assert_int_equal(kernelspec_kernels_dir(KS_SYS_PREFIX, NULL, out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "/conda/share/jupyter/kernels");
    unsetenv("CONDA_PREFIX");

    assert_int_equal(kernelspec_kernels_dir(KS_PREFIX, "/opt/p", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "/opt/p/share/jupyter/kernels");
    assert_int_equal(kernelspec_kernels_dir(KS_PREFIX, "", out, sizeof out, err, sizeof err), -1);
    char small[8];
    assert_int_equal(kernelspec_kernels_dir(KS_PREFIX, "/opt/p", small, sizeof small, err, sizeof err), -1);
}

static const char *const extra[] = {"--tag-position", "top", NULL};
static const struct kernelspec_spec spec = {
    .name = "stages", .display_name = "Python 3 (workflow stages)", .language = "python",
    .kernel_path = "/opt/bin/nbstage-kernel", .wrap = "python3", .options = extra,
    .resource_dir = NULL,
};

static void kernel_json_content(void **state)
{
    (void)state;
    json_t *j = kernelspec_json(&spec);
    assert_non_null(j);
    json_t *want = json_loads(
        "{\"argv\": [\"/opt/bin/nbstage-kernel\", \"-f\", \"{connection_file}\", \"--wrap\","
        " \"python3\", \"--tag-position\", \"top\"],"
        " \"display_name\": \"Python 3 (workflow stages)\", \"language\": \"python\","
        " \"interrupt_mode\": \"signal\", \"metadata\": {\"nbstage\": {\"wraps\": \"python3\"}}}",
        0, NULL);
    assert_true(json_equal(j, want));
    json_decref(want);
    json_decref(j);

    struct kernelspec_spec bad = spec;
    bad.display_name = "\xff";
    assert_null(kernelspec_json(&bad));
}

static void install_replace_remove(void **state)
{
    (void)state;
    char root[] = "/tmp/nbstage-test-kernelspec.XXXXXX";
    assert_non_null(mkdtemp(root));
    char kdir[256], dir[4096], err[4400], path[4400];
    snprintf(kdir, sizeof kdir, "%s/deep/share/jupyter/kernels", root);

    assert_int_equal(kernelspec_install(kdir, &spec, dir, sizeof dir, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/stages", kdir);
    assert_string_equal(dir, path);
    snprintf(path, sizeof path, "%s/stages/kernel.json", kdir);
    json_t *j = json_load_file(path, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "display_name")),
                        "Python 3 (workflow stages)");
    json_decref(j);

    /* again, with another display name: replaced */
    struct kernelspec_spec again = spec;
    again.display_name = "again";
    assert_int_equal(kernelspec_install(kdir, &again, NULL, 0, err, sizeof err), 0);
    j = json_load_file(path, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "display_name")), "again");
    json_decref(j);

    assert_int_equal(kernelspec_remove(kdir, "stages", NULL, err, sizeof err), 0);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(kernelspec_remove(kdir, "stages", NULL, err, sizeof err), 1);
    assert_int_equal(kernelspec_remove(kdir, "../x", NULL, err, sizeof err), -1);

    /* a kernelspec someone else wrote is neither replaced nor removed */
    snprintf(path, sizeof path, "%s/stages", kdir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/stages/kernel.json", kdir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"argv\": [\"python3\"], \"display_name\": \"theirs\", \"language\": \"python\"}", f);
    fclose(f);
    assert_int_equal(kernelspec_install(kdir, &spec, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "did not write"));
    assert_int_equal(kernelspec_remove(kdir, "stages", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "not an nbstage kernelspec"));
    unlink(path);
    snprintf(path, sizeof path, "%s/stages", kdir);
    rmdir(path);

    /* a file where a folder should be */
    snprintf(path, sizeof path, "%s/file", root);
    f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(kdir, sizeof kdir, "%s/file/kernels", root);
    assert_int_equal(kernelspec_install(kdir, &spec, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "/file"));
    unlink(path);

    char rm[512];
    snprintf(rm, sizeof rm, "rm -rf '%s'", root);
    assert_int_equal(system(rm), 0);
}

/* The edges a mutation audit found untested: each end of the name's character ranges,
 * a relative --prefix (made absolute, as jupyter_client's abspath makes it), a scope
 * that is none, the reason for a folder path that does not fit. */
/* --remove takes the folder whole, as Jupyter does, and names what else it held: as
 * many names as fit, the rest counted. */
static void remove_names_what_else_the_folder_held(void **state)
{
    (void)state;
    char root[] = "/tmp/nbstage-test-kernelspec.XXXXXX";
    assert_non_null(mkdtemp(root));
    char kdir[256], dir[4096], err[4400], path[4400];
    snprintf(kdir, sizeof kdir, "%s/kernels", root);
    assert_int_equal(kernelspec_install(kdir, &spec, dir, sizeof dir, err, sizeof err), 0);
    enum { N = 200 };
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "%s/a-file-of-the-users-own-%03d.txt", dir, i);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
    }
    struct kernelspec_removal r;
    assert_int_equal(kernelspec_remove(kdir, "stages", &r, err, sizeof err), 0);
    assert_int_not_equal(access(dir, F_OK), 0);
    assert_int_equal(r.link, 0);
    assert_int_equal(r.n_others, N);
    assert_true(r.n_listed > 10 && r.n_listed < N);
    assert_true(strlen(r.others) < sizeof r.others);
    int names = 1;
    for (const char *c = r.others; (c = strstr(c, ", ")); c++) names++;
    assert_int_equal(names, r.n_listed);
    assert_int_equal(rmdir(kdir), 0);
    assert_int_equal(rmdir(root), 0);
}

static void names_and_dirs_at_their_edges(void **state)
{
    (void)state;
    assert_true(kernelspec_name_ok("azAZ09._-"));
    static const char *const not_ok[] = {"`", "{", "@", "[", "/", ":", "a,b"};
    for (size_t i = 0; i < sizeof not_ok / sizeof *not_ok; i++)
        if (kernelspec_name_ok(not_ok[i])) fail_msg("\"%s\" taken for a name", not_ok[i]);
    char out[4096], err[256], cwd[4096], want[4200];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(kernelspec_kernels_dir(KS_PREFIX, "rel/p", out, sizeof out, err, sizeof err), 0);
    snprintf(want, sizeof want, "%s/rel/p/share/jupyter/kernels", cwd);
    assert_string_equal(out, want);
    err[0] = 0;
    assert_int_equal(kernelspec_kernels_dir((enum kernelspec_scope)7, NULL, out, sizeof out, err, sizeof err), -1);
    assert_string_equal(err, "unknown kernelspec scope");
    char small[8];
    assert_int_equal(kernelspec_kernels_dir(KS_PREFIX, "/opt/p", small, sizeof small, err, sizeof err), -1);
    assert_string_equal(err, "kernelspec folder path too long (/opt/p)");
    /* a path fits when its NUL does too */
    char exact[sizeof "/opt/p/share/jupyter/kernels"];
    assert_int_equal(kernelspec_kernels_dir(KS_PREFIX, "/opt/p", exact, sizeof exact, err, sizeof err), 0);
    assert_string_equal(exact, "/opt/p/share/jupyter/kernels");
    assert_int_equal(kernelspec_kernels_dir(KS_PREFIX, "/opt/p", exact, sizeof exact - 1, err, sizeof err), -1);
}

/* The wrapped kernel's resources: kernel.js, kernel.css and each logo-* regular file are
 * copied byte for byte (one larger than the copy's 16 KB buffer), nothing else (a
 * README, "logos.txt", a folder named logo-x); installed again from a folder without
 * kernel.css, the old one goes; removing the spec takes them all.  kernel.json and the
 * resources get a new file's mode and leave no temporary; a symlink at their names is
 * replaced, not written through.  Resources were only
 * tested through Jupyter (test_install_kernel.py). */
static void resources_copied_replaced_and_removed(void **state)
{
    (void)state;
    char root[] = "/tmp/nbstage-test-kernelspec-res.XXXXXX";
    assert_non_null(mkdtemp(root));
    char res[300], kdir[300], path[4200], err[4400];
    snprintf(res, sizeof res, "%s/wrapped", root);
    snprintf(kdir, sizeof kdir, "%s/kernels", root);
    snprintf(path, sizeof path, "%s/logo-x", res);
    assert_int_equal(mkdir(res, 0755), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    static const char *const files[] = {"kernel.js", "kernel.css", "logo-64x64.png", "README", "logos.txt"};
    static char big[40000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + (i * 7 + i / 13) % 26);
    big[sizeof big - 1] = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", res, files[i]);
        unit_write_file(path, i == 2 ? big : files[i]);
    }
    struct kernelspec_spec sp = spec;
    sp.resource_dir = res;
    mode_t old_mask = umask(022);
    char dir[4096];
    assert_int_equal(kernelspec_install(kdir, &sp, dir, sizeof dir, err, sizeof err), 0);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        char *got = unit_read_file(path, NULL);
        if (i < 3) {
            if (!got) fail_msg("%s not copied", files[i]);
            assert_string_equal(got, i == 2 ? big : files[i]);
        } else if (got) {
            fail_msg("%s copied", files[i]);
        }
        free(got);
    }
    snprintf(path, sizeof path, "%s/logo-x", dir);
    assert_int_not_equal(access(path, F_OK), 0);
    struct stat st; /* folders made as `mkdir -p` makes them, 0755 under a umask of 022 */
    assert_int_equal(stat(kdir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0755);
    /* kernel.json as a new file is made (0644 here: every user's Jupyter reads a system
     * install), though its temporary is mkostemp's 0600; no temporary left */
    snprintf(path, sizeof path, "%s/kernel.json", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (!strncmp(e->d_name, ".kernel.json", 12)) fail_msg("temporary %s left", e->d_name);
    closedir(d);
    /* a symlink where a resource is copied (planted, or a user's) is replaced by the
     * new file, not written through */
    char victim[300];
    snprintf(victim, sizeof victim, "%s/victim.txt", root);
    unit_write_file(victim, "mine\n");
    snprintf(path, sizeof path, "%s/kernel.js", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink(victim, path), 0);
    assert_int_equal(kernelspec_install(kdir, &sp, NULL, 0, err, sizeof err), 0);
    char *kept = unit_read_file(victim, NULL);
    assert_string_equal(kept, "mine\n");
    free(kept);
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0644);
    char *js = unit_read_file(path, NULL);
    assert_string_equal(js, "kernel.js");
    free(js);
    umask(old_mask);

    snprintf(path, sizeof path, "%s/kernel.css", res);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(kernelspec_install(kdir, &sp, NULL, 0, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/kernel.css", dir);
    assert_int_not_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/kernel.js", dir);
    assert_int_equal(access(path, F_OK), 0);

    assert_int_equal(kernelspec_remove(kdir, "stages", NULL, err, sizeof err), 0);
    assert_int_not_equal(access(dir, F_OK), 0);
    char rm[512];
    snprintf(rm, sizeof rm, "rm -rf '%s'", root);
    assert_int_equal(system(rm), 0);
}

/* A resource that cannot be copied (here a file-size limit stops its write) fails the
 * install and leaves the kernelspec that was there, every file as it was: kernel.json
 * was renamed into place first, and each resource once copied, so that the failure
 * left the new kernel.json, or the new kernel.js, beside the old kernel's other files.
 * A first install that fails leaves no folder (remove would call it not installed). */
static void a_resource_that_cannot_be_copied_leaves_the_spec_there(void **state)
{
    (void)state;
    char root[] = "/tmp/nbstage-test-kernelspec-fail.XXXXXX";
    assert_non_null(mkdtemp(root));
    char old_res[300], new_res[300], kdir[300], path[4200], err[4400], dir[4096];
    snprintf(old_res, sizeof old_res, "%s/old", root);
    snprintf(new_res, sizeof new_res, "%s/new", root);
    snprintf(kdir, sizeof kdir, "%s/kernels", root);
    assert_int_equal(mkdir(old_res, 0755), 0);
    assert_int_equal(mkdir(new_res, 0755), 0);
    /* the big one fails; whichever order readdir gives, the others are small */
    static const char *const names[] = {"kernel.js", "kernel.css", "logo-32x32.png", "logo-64x64.png", "logo-svg.svg"};
    static char big[40000];
    memset(big, 'x', sizeof big - 1);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", old_res, names[i]);
        unit_write_file(path, "old");
        snprintf(path, sizeof path, "%s/%s", new_res, names[i]);
        unit_write_file(path, i == 2 ? big : "new");
    }
    struct kernelspec_spec one = spec, other = spec;
    one.resource_dir = old_res;
    other.display_name = "Another kernel";
    other.resource_dir = new_res;
    assert_int_equal(kernelspec_install(kdir, &one, dir, sizeof dir, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/kernel.json", dir);
    char *before = unit_read_file(path, NULL);

    struct rlimit old, small = {.rlim_cur = 10000};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    small.rlim_max = old.rlim_max;
    void (*was)(int) = signal(SIGXFSZ, SIG_IGN); /* the write fails with EFBIG instead */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
    int rc = kernelspec_install(kdir, &other, NULL, 0, err, sizeof err);
    struct kernelspec_spec first = other;
    first.name = "first";
    int rc_first = kernelspec_install(kdir, &first, NULL, 0, err, sizeof err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, was);

    assert_int_equal(rc, -1);
    char *after = unit_read_file(path, NULL);
    assert_string_equal(after, before);
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *kept = unit_read_file(path, NULL);
        if (strcmp(kept, "old")) fail_msg("%s was replaced by the install that failed", names[i]);
        free(kept);
    }
    DIR *d = opendir(dir);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            fail_msg("temporary %s left", e->d_name);
    closedir(d);
    assert_int_equal(rc_first, -1);
    snprintf(path, sizeof path, "%s/first", kdir);
    assert_int_not_equal(access(path, F_OK), 0);
    free(before);
    free(after);
    char rm[512];
    snprintf(rm, sizeof rm, "rm -rf '%s'", root);
    assert_int_equal(system(rm), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(kernels_dirs_follow_jupyter),
        cmocka_unit_test(kernel_json_content),
        cmocka_unit_test(install_replace_remove),
        cmocka_unit_test(remove_names_what_else_the_folder_held),
        cmocka_unit_test(names_and_dirs_at_their_edges),
        cmocka_unit_test(resources_copied_replaced_and_removed),
        cmocka_unit_test(a_resource_that_cannot_be_copied_leaves_the_spec_there),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
