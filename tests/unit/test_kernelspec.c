/* test_kernelspec.c — where kernelspecs go, what kernel.json says, install and remove. */
#include "tests/unit/unit.h"

#include <stdio.h>
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
    unsetenv("VIRTUAL_ENV");

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

    assert_int_equal(kernelspec_remove(kdir, "stages", err, sizeof err), 0);
    assert_int_not_equal(access(path, F_OK), 0);
    assert_int_equal(kernelspec_remove(kdir, "stages", err, sizeof err), 1);
    assert_int_equal(kernelspec_remove(kdir, "../x", err, sizeof err), -1);

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
    assert_int_equal(kernelspec_remove(kdir, "stages", err, sizeof err), -1);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(kernels_dirs_follow_jupyter),
        cmocka_unit_test(kernel_json_content),
        cmocka_unit_test(install_replace_remove),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
