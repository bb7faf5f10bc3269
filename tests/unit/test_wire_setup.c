/* test_wire_setup.c — what the stage kernel reads before relaying anything: connection
 * files (kernel/connection.h), options (kernel/options.h) and the wrapped kernelspec
 * (kernel/kernelspec_find.h).  Bad input gives a message naming the file and reason. */
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kernel/connection.h"
#include "kernel/kernelspec_find.h"
#include "kernel/options.h"

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/nbstage-test-wire-setup-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char good_conn[] =
    "{\"shell_port\": 5001, \"iopub_port\": 5002, \"stdin_port\": 5003, \"control_port\": 5004,"
    " \"hb_port\": 5005, \"ip\": \"127.0.0.1\", \"key\": \"3d1e9b5a-7c2f-4e0b\","
    " \"transport\": \"tcp\", \"signature_scheme\": \"hmac-sha256\", \"kernel_name\": \"nbs\"}";

static void connection_read_write_round_trip(void **state)
{
    (void)state;
    char path[128], err[256], ep[128];
    snprintf(path, sizeof path, "%s/conn.json", dir);
    unit_write_file(path, good_conn);
    struct connection c;
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_string_equal(c.ip, "127.0.0.1");
    assert_int_equal(c.port[CH_CONTROL], 5004);
    assert_int_equal(c.key_len, 18);
    assert_memory_equal(c.key, "3d1e9b5a-7c2f-4e0b", 18);
    connection_endpoint(&c, CH_HB, ep, sizeof ep);
    assert_string_equal(ep, "tcp://127.0.0.1:5005");
    strcpy(c.transport, "ipc");
    strcpy(c.ip, "/tmp/x/k");
    connection_endpoint(&c, CH_SHELL, ep, sizeof ep);
    assert_string_equal(ep, "ipc:///tmp/x/k-5001");
    char out[128];
    snprintf(out, sizeof out, "%s/out.json", dir);
    assert_int_equal(connection_write(out, &c, err, sizeof err), 0);
    struct stat st;
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* it holds the key */
    struct connection d;
    assert_int_equal(connection_read(out, &d, err, sizeof err), 0);
    assert_string_equal(d.transport, "ipc");
    assert_int_equal(d.key_len, c.key_len);
    assert_memory_equal(d.key, c.key, c.key_len);
    connection_free(&c);
    connection_free(&d);
}

static void connection_read_names_file_and_reason(void **state)
{
    (void)state;
    static const struct { const char *text, *reason; } bad[] = {
        {"{not json", "conn.json: "},
        {"[1, 2]", "not a JSON object"},
        {"{\"ip\": \"127.0.0.1\", \"shell_port\": 1}", "\"iopub_port\" is not a port number"},
        {"{\"shell_port\": 1}", "no \"ip\""},
        {"{\"ip\": \"h\", \"transport\": \"udp\"}", "unknown transport \"udp\""},
        {"{\"ip\": \"h\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3, \"control_port\": 4,"
         " \"hb_port\": 70000}", "\"hb_port\" is not a port number"},
        {"{\"ip\": \"h\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3, \"control_port\": 4,"
         " \"hb_port\": 5, \"key\": \"k\", \"signature_scheme\": \"hmac-md5\"}", "hmac-md5"},
        {"{\"ip\": \"h\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3, \"control_port\": 4,"
         " \"hb_port\": 5, \"key\": 7}", "\"key\" is not a string"},
    };
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/conn.json", dir);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        unit_write_file(path, bad[i].text);
        struct connection c;
        assert_int_equal(connection_read(path, &c, err, sizeof err), -1);
        assert_non_null(strstr(err, "conn.json"));
        if (!strstr(err, bad[i].reason)) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].reason);
    }
    struct connection c;
    assert_int_equal(connection_read("/nonexistent/c.json", &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/c.json"));
}

static void options_from_argv_and_environment(void **state)
{
    (void)state;
    struct kernel_options o;
    char err[256];
    unsetenv("NBSTAGE_WRAP");
    unsetenv("NBSTAGE_MODEL");
    unsetenv("NBSTAGE_TAG_POSITION");
    char *a0[] = {"k", "-f", "c.json", NULL};
    assert_int_equal(options_parse(3, a0, &o, err, sizeof err), 0);
    assert_int_equal(o.display.position_top, 1); /* top is the default */
    setenv("NBSTAGE_TAG_POSITION", "bottom", 1);
    assert_int_equal(options_parse(3, a0, &o, err, sizeof err), 0);
    assert_int_equal(o.display.position_top, 0);
    setenv("NBSTAGE_TAG_POSITION", "top", 1);
    setenv("NBSTAGE_MIN_CONFIDENCE", "0.5", 1);
    char *a1[] = {"k", "-f", "c.json", NULL};
    assert_int_equal(options_parse(3, a1, &o, err, sizeof err), 0);
    assert_string_equal(o.connection_file, "c.json");
    assert_string_equal(o.wrap, "python3");
    assert_null(o.model);
    assert_int_equal(o.display.position_top, 1);
    assert_true(o.display.min_confidence == 0.5);
    /* the command line wins over the environment */
    char *a2[] = {"k", "--connection-file=c2.json", "--wrap", "ir", "--model=m.nbsm",
                  "--tag-position", "bottom", "--no-badge", "--min-confidence", "0.25", NULL};
    assert_int_equal(options_parse(10, a2, &o, err, sizeof err), 0);
    assert_string_equal(o.connection_file, "c2.json");
    assert_string_equal(o.wrap, "ir");
    assert_string_equal(o.model, "m.nbsm");
    assert_int_equal(o.display.position_top, 0);
    assert_int_equal(o.display.no_badge, 1);
    assert_true(o.display.min_confidence == 0.25);
    unsetenv("NBSTAGE_TAG_POSITION");
    unsetenv("NBSTAGE_MIN_CONFIDENCE");
}

/* Jupyter restarts a kernel that exits at once, five times, and then shows it dead:
 * a bad display value or an unknown option is a warning and the kernel runs without it;
 * only what leaves nothing to run (no -f, no --wrap value) is an error. */
static void options_refuse_bad_values(void **state)
{
    (void)state;
    struct kernel_options o;
    char err[256];
    char *cases[][4] = {
        {"k", "-f", "c", "--bogus"}, {"k", "-f", "c", "--tag-position=left"},
        {"k", "-f", "c", "--min-confidence=1.5"}, {"k", "-f", "c", "--min-confidence=x"},
        {"k", "-f", "c", "--model="},
    };
    const char *why[] = {"unknown option or missing value: \"--bogus\"; ignored\n",
                         "--tag-position \"left\": expected top or bottom; ignored\n",
                         "--min-confidence \"1.5\": expected a number in [0, 1]; ignored\n",
                         "[0, 1]", "--model \"\": no file named; ignored\n"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        assert_int_equal(options_parse(4, cases[i], &o, err, sizeof err), 0);
        if (!strstr(o.warnings, why[i])) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, o.warnings, why[i]);
        assert_int_equal(o.display.position_top, 1); /* the defaults stand */
        assert_true(o.display.min_confidence == 0);
        assert_null(o.model);
    }
    char *errors[][4] = {{"k", "-f", "c", "--wrap="}, {"k", "--wrap", "python3", "--no-badge"},
                         {"k", "-f", "c", "--wrap"}};
    const char *fatal[] = {"empty kernel name", "no connection file", "--wrap needs a value"};
    for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
        assert_int_equal(options_parse(4, errors[i], &o, err, sizeof err), -1);
        if (!strstr(err, fatal[i])) fail_msg("error %zu: \"%s\" lacks \"%s\"", i, err, fatal[i]);
    }
    char *missing[] = {"k", "-f", NULL};
    assert_int_equal(options_parse(2, missing, &o, err, sizeof err), -1);
    /* a bad environment value is ignored, and a good one on the command line wins */
    setenv("NBSTAGE_NO_BADGE", "maybe", 1);
    setenv("NBSTAGE_TAG_POSITION", "middle", 1);
    char *ok[] = {"k", "-f", "c", "--tag-position", "bottom", NULL};
    assert_int_equal(options_parse(5, ok, &o, err, sizeof err), 0);
    assert_non_null(strstr(o.warnings, "NBSTAGE_NO_BADGE \"maybe\": expected 1 or 0; ignored\n"));
    assert_non_null(strstr(o.warnings, "NBSTAGE_TAG_POSITION \"middle\""));
    assert_int_equal(o.display.position_top, 0);
    assert_int_equal(o.display.no_badge, 0);
    setenv("NBSTAGE_NO_BADGE", "True", 1); /* as Python writes it */
    unsetenv("NBSTAGE_TAG_POSITION");
    assert_int_equal(options_parse(3, ok, &o, err, sizeof err), 0);
    assert_string_equal(o.warnings, "");
    assert_int_equal(o.display.no_badge, 1);
    unsetenv("NBSTAGE_NO_BADGE");
    /* many warnings are cut, each line still ends in a newline */
    char *many[64] = {"k", "-f", "c"};
    for (int i = 3; i < 64; i++) many[i] = "--an-unknown-option-of-some-length";
    assert_int_equal(options_parse(64, many, &o, err, sizeof err), 0);
    size_t n = strlen(o.warnings);
    assert_true(n > 0 && n < sizeof o.warnings && o.warnings[n - 1] == '\n');
}

/* What the user is told in the notebook (options_notice): why there are no stage
 * tags, then each ignored option, one "nbstage: " line each; nothing when all is well,
 * and whole lines only when the buffer is short. */
static void options_notice_says_why_in_whole_lines(void **state)
{
    (void)state;
    struct kernel_options o;
    char err[256], out[512];
    unsetenv("NBSTAGE_TAG_POSITION");
    unsetenv("NBSTAGE_MIN_CONFIDENCE");
    unsetenv("NBSTAGE_NO_BADGE");
    char *good[] = {"k", "-f", "c", "--no-badge", "--min-confidence", "0.9", NULL};
    assert_int_equal(options_parse(6, good, &o, err, sizeof err), 0);
    options_notice(&o, NULL, out, sizeof out);
    assert_string_equal(out, ""); /* the user's choices: nothing to say */
    options_notice(&o, "/m.nbsm: truncated file (9 bytes)", out, sizeof out);
    assert_string_equal(out, "nbstage: no stage tags in this session: /m.nbsm: truncated file (9 bytes)\n");
    char *bad[] = {"k", "-f", "c", "--tag-position=left", "--bogus", NULL};
    assert_int_equal(options_parse(5, bad, &o, err, sizeof err), 0);
    options_notice(&o, "no model found", out, sizeof out);
    assert_string_equal(out, "nbstage: no stage tags in this session: no model found\n"
                             "nbstage: warning: --tag-position \"left\": expected top or bottom; ignored\n"
                             "nbstage: warning: unknown option or missing value: \"--bogus\"; ignored\n");
    options_notice(&o, NULL, out, 100); /* room for the first line only */
    assert_string_equal(out, "nbstage: warning: --tag-position \"left\": expected top or bottom; ignored\n");
    options_notice(&o, NULL, out, 10);
    assert_string_equal(out, "");
}

static void kernelspec_found_through_jupyter_path(void **state)
{
    (void)state;
    char path[256], jp[300], err[512];
    snprintf(path, sizeof path, "%s/a/kernels/MyKernel", dir);
    char cmd[640];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' '%s/b/kernels/broken'", path, dir);
    assert_int_equal(system(cmd), 0);
    strcat(path, "/kernel.json");
    unit_write_file(path, "{\"argv\": [\"python3\", \"-m\", \"k\", \"-f\", \"{connection_file}\"],"
                     " \"env\": {\"A\": \"1\", \"B\": \"two\"}, \"display_name\": \"x\"}");
    snprintf(path, sizeof path, "%s/b/kernels/broken/kernel.json", dir);
    unit_write_file(path, "{\"argv\": []}");
    snprintf(jp, sizeof jp, "%s/nowhere:%s/a:%s/b", dir, dir, dir);
    setenv("JUPYTER_PATH", jp, 1);
    struct found_kernelspec ks;
    assert_int_equal(kernelspec_find("mykernel", &ks, err, sizeof err), 0); /* any case */
    assert_int_equal(ks.argc, 5);
    assert_string_equal(ks.argv[4], "{connection_file}");
    assert_null(ks.argv[5]);
    assert_int_equal(ks.n_env, 2);
    assert_non_null(strstr(ks.dir, "/a/kernels/MyKernel"));
    kernelspec_found_free(&ks);
    assert_int_equal(kernelspec_find("broken", &ks, err, sizeof err), -1);
    assert_non_null(strstr(err, "broken/kernel.json"));
    assert_int_equal(kernelspec_find("absent", &ks, err, sizeof err), -1);
    assert_non_null(strstr(err, "kernelspec \"absent\" not found"));
    assert_int_equal(kernelspec_find("../a", &ks, err, sizeof err), -1);
    unsetenv("JUPYTER_PATH");
}

/* An ipykernel child is told Jupyter's connection file (kernel/proxy.c); others run
 * no Python of ours. */
static void kernelspec_tells_ipykernel_apart(void **state)
{
    (void)state;
    char *launcher[] = {"/usr/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"};
    char *module[] = {"python", "-m", "ipykernel", "-f", "{connection_file}"};
    char *script[] = {"python", "/opt/lib/ipykernel_launcher.py", "-f", "{connection_file}"};
    char *other[] = {"python", "-m", "xpython_launcher", "-f", "{connection_file}"};
    char *r[] = {"R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"};
    struct { char **argv; size_t argc; int want; } cases[] = {
        {launcher, 5, 1}, {module, 5, 1}, {script, 4, 1}, {other, 5, 0}, {r, 6, 0}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct found_kernelspec ks = {.argv = cases[i].argv, .argc = cases[i].argc};
        assert_int_equal(kernelspec_runs_ipykernel(&ks), cases[i].want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connection_read_write_round_trip),
        cmocka_unit_test(connection_read_names_file_and_reason),
        cmocka_unit_test(options_from_argv_and_environment),
        cmocka_unit_test(options_refuse_bad_values),
        cmocka_unit_test(options_notice_says_why_in_whole_lines),
        cmocka_unit_test(kernelspec_found_through_jupyter_path),
        cmocka_unit_test(kernelspec_tells_ipykernel_apart),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
