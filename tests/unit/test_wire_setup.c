/* test_wire_setup.c — what the stage kernel reads before relaying anything: connection
 * files (kernel/connection.h), options (kernel/options.h) and the wrapped kernelspec
 * (kernel/kernelspec_find.h).  Bad input gives a message naming the file and reason. */
#include "unit.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
    char out[160], folder[128];
    snprintf(folder, sizeof folder, "%s/written", dir);
    assert_int_equal(mkdir(folder, 0755), 0);
    snprintf(out, sizeof out, "%s/out.json", folder);
    struct stat st;
    assert_int_equal(stat(folder, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    assert_int_equal(connection_write(out, &c, err, sizeof err), 0);
    assert_int_equal(stat(out, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* it holds the key */
    /* its folder made sticky, as jupyter_client's write_connection_file makes it */
    assert_int_equal(stat(folder, &st), 0);
    assert_int_equal(st.st_mode & 07777, 01755);
    /* not /dev, for a device written in place */
    struct stat dev_before, dev_after;
    assert_int_equal(stat("/dev", &dev_before), 0);
    assert_int_equal(connection_write("/dev/null", &c, err, sizeof err), 0);
    assert_int_equal(stat("/dev", &dev_after), 0);
    assert_int_equal(dev_after.st_mode, dev_before.st_mode);
    struct connection d;
    assert_int_equal(connection_read(out, &d, err, sizeof err), 0);
    assert_string_equal(d.transport, "ipc");
    assert_int_equal(d.key_len, c.key_len);
    assert_memory_equal(d.key, c.key, c.key_len);
    connection_free(&c);
    connection_free(&d);
}

/* Case I, TEXT as conn.json in the test folder, is refused, and the message names the
 * file and REASON. */
static void refused(size_t i, const char *text, const char *reason)
{
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/conn.json", dir);
    unit_write_file(path, text);
    struct connection c;
    assert_int_equal(connection_read(path, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "conn.json"));
    if (!strstr(err, reason)) fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, reason);
}

static void connection_read_names_file_and_reason(void **state)
{
    (void)state;
    static const struct { const char *text, *reason; } bad[] = {
        {"{not json", "conn.json: "},
        {"[1, 2]", "not a JSON object"},
        {"{\"ip\": \"127.0.0.1\", \"shell_port\": 1, \"iopub_port\": 1.5}", "\"iopub_port\" is not a port number"},
        {"{\"shell_port\": \"1\"}", "\"shell_port\" is not a port number"},
        {"{\"ip\": \"h\", \"transport\": \"udp\"}", "unknown transport \"udp\""},
        {"{\"ip\": \"h\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3, \"control_port\": 4,"
         " \"hb_port\": 70000}", "\"hb_port\" is not a port number"},
        {"{\"ip\": \"h\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3, \"control_port\": 4,"
         " \"hb_port\": 5, \"key\": \"k\", \"signature_scheme\": \"hmac-md5\"}", "hmac-md5"},
        {"{\"ip\": \"h\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3, \"control_port\": 4,"
         " \"hb_port\": 5, \"key\": 7}", "\"key\" is not a string"},
        /* jansson quotes the bytes near the error as they are: shown as '?' */
        {"{\"ip\": \"a\\\n", "invalid escape near '\"a\\?' (line 2)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) refused(i, bad[i].text, bad[i].reason);
    char err[256];
    struct connection c;
    assert_int_equal(connection_read(dir, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "is a directory, not a connection file"));
}

/* What the file lacks is made up as ipykernel makes it, and said (filled): no file at
 * all (created: the kernel's to remove), ports 0 or missing (tcp: bound to any; ipc:
 * the first numbers unused), no ip, no key (a random one as jupyter_client's new_id()
 * makes it, "1a2b3c4d-" and 24 hex digits; not an empty key). */
static void connection_read_fills_in_what_is_missing(void **state)
{
    (void)state;
    char path[160], err[256], ep[128];
    snprintf(path, sizeof path, "%s/none.json", dir);
    struct connection c, d;
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_true(c.created && c.filled);
    assert_string_equal(c.transport, "tcp");
    assert_string_equal(c.ip, "127.0.0.1");
    assert_string_equal(c.signature_scheme, "hmac-sha256");
    assert_int_equal(c.key_len, 33);
    for (int i = 0; i < 33; i++)
        if (i == 8 ? c.key[i] != '-' : !strchr("0123456789abcdef", c.key[i])) fail_msg("key[%d] = %c", i, c.key[i]);
    connection_endpoint(&c, CH_SHELL, ep, sizeof ep);
    assert_string_equal(ep, "tcp://127.0.0.1:*");
    assert_int_equal(connection_read(path, &d, err, sizeof err), 0);
    assert_memory_not_equal(c.key, d.key, 33); /* random */
    connection_free(&c);
    connection_free(&d);

    /* all given: nothing made up */
    snprintf(path, sizeof path, "%s/conn.json", dir);
    unit_write_file(path, "{\"ip\": \"h\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
                          " \"control_port\": 4, \"hb_port\": 5, \"key\": \"\"}");
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_true(!c.created && !c.filled && c.key_len == 0); /* an empty key is no signing */
    connection_free(&c);

    /* ipc: the ports made up skip those given and the sockets that exist */
    snprintf(path, sizeof path, "%s/k.json", dir);
    char sock[200];
    snprintf(sock, sizeof sock, "%s/k-ipc-1", dir);
    unit_write_file(sock, "");
    unit_write_file(path, "{\"transport\": \"ipc\", \"iopub_port\": 2, \"key\": \"k\"}");
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_true(c.filled && !c.created);
    char want[200];
    snprintf(want, sizeof want, "%s/k-ipc", dir);
    assert_string_equal(c.ip, want);
    assert_int_equal(c.port[CH_SHELL], 3);
    assert_int_equal(c.port[CH_IOPUB], 2);
    assert_int_equal(c.port[CH_STDIN], 4);
    assert_int_equal(c.port[CH_CONTROL], 5);
    assert_int_equal(c.port[CH_HB], 6);
    connection_free(&c);
    unlink(sock);
    /* none given, no socket there: numbered in the order ipykernel binds (shell, stdin,
     * control, iopub, heartbeat), 1 to 5 as ipykernel alone numbers them */
    unit_write_file(path, "{\"transport\": \"ipc\", \"key\": \"k\"}");
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_int_equal(c.port[CH_SHELL], 1);
    assert_int_equal(c.port[CH_STDIN], 2);
    assert_int_equal(c.port[CH_CONTROL], 3);
    assert_int_equal(c.port[CH_IOPUB], 4);
    assert_int_equal(c.port[CH_HB], 5);
    connection_free(&c);

    /* given relative, with "./" and "..": the prefix as os.path.abspath makes it */
    char here[4096], sub[200];
    assert_non_null(getcwd(here, sizeof here));
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(sub, 0755);
    assert_int_equal(chdir(sub), 0);
    unit_write_file("../r.json", "{\"transport\": \"ipc\", \"key\": \"k\"}");
    int rc = connection_read("./.././r.json", &c, err, sizeof err);
    assert_int_equal(chdir(here), 0);
    assert_int_equal(rc, 0);
    snprintf(want, sizeof want, "%s/r-ipc", dir);
    assert_string_equal(c.ip, want);
    connection_free(&c);
}

/* What Jupyter and other clients write, each accepted as it is meant (a mutation audit
 * found these unread): no transport is tcp, no signature_scheme is hmac-sha256,
 * hmac-sha512 is kept, ports 1 and 65535 are ports, an IPv6 address goes in brackets,
 * and the scheme and kernel name survive connection_write. */
static void connection_read_accepts_what_jupyter_writes(void **state)
{
    (void)state;
    char path[128], err[256], ep[128];
    snprintf(path, sizeof path, "%s/conn.json", dir);
    unit_write_file(path, "{\"ip\": \"::1\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
                          " \"control_port\": 4, \"hb_port\": 65535, \"key\": \"k\"}");
    struct connection c;
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_string_equal(c.transport, "tcp");
    assert_string_equal(c.signature_scheme, "hmac-sha256");
    assert_int_equal(c.port[CH_SHELL], 1);
    assert_int_equal(c.port[CH_HB], 65535);
    connection_endpoint(&c, CH_HB, ep, sizeof ep);
    assert_string_equal(ep, "tcp://[::1]:65535");
    connection_free(&c);

    unit_write_file(path, "{\"ip\": \"127.0.0.1\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
                          " \"control_port\": 4, \"hb_port\": 5, \"key\": \"k\","
                          " \"signature_scheme\": \"hmac-sha512\", \"kernel_name\": \"ir\"}");
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_string_equal(c.signature_scheme, "hmac-sha512");
    char out[128];
    snprintf(out, sizeof out, "%s/out.json", dir);
    assert_int_equal(connection_write(out, &c, err, sizeof err), 0);
    struct connection d;
    assert_int_equal(connection_read(out, &d, err, sizeof err), 0);
    assert_string_equal(d.signature_scheme, "hmac-sha512");
    assert_string_equal(d.kernel_name, "ir");
    connection_free(&d);
    connection_free(&c);

    /* a kernelspec name of 130 bytes (a folder's name may have 255): read, and passed on;
     * one longer than any folder's name, or not a string, is left out, not fatal (it
     * stopped the kernel at 128 bytes) */
    char name[300], text[700];
    const size_t lens[] = {130, 255, 256, 299};
    for (size_t i = 0; i < 4; i++) {
        memset(name, 'n', lens[i]);
        name[lens[i]] = 0;
        snprintf(text, sizeof text, "{\"ip\": \"127.0.0.1\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
                                    " \"control_port\": 4, \"hb_port\": 5, \"key\": \"k\", \"kernel_name\": \"%s\"}", name);
        unit_write_file(path, text);
        assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
        assert_string_equal(c.kernel_name, lens[i] <= 255 ? name : "");
        connection_free(&c);
    }
    unit_write_file(path, "{\"ip\": \"127.0.0.1\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
                          " \"control_port\": 4, \"hb_port\": 5, \"key\": \"k\", \"kernel_name\": 7}");
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_string_equal(c.kernel_name, "");
    connection_free(&c);
}

/* What ipykernel reads otherwise than it is written is read so, and written back so
 * (filled, even with nothing missing): an ip of "*" is 0.0.0.0 (jupyter_client's
 * _ip_changed), whatever the transport; a transport in any case is its lower case
 * (a CaselessStrEnum); a port below 0 is any port, as 0 is (ipykernel binds any for
 * one <= 0). */
static void connection_read_respells_as_ipykernel(void **state)
{
    (void)state;
    char path[128], err[256], ep[128];
    snprintf(path, sizeof path, "%s/conn.json", dir);
    unit_write_file(path, "{\"ip\": \"*\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
                          " \"control_port\": 4, \"hb_port\": 5, \"key\": \"k\"}");
    struct connection c;
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_string_equal(c.ip, "0.0.0.0");
    assert_true(c.filled);
    connection_endpoint(&c, CH_HB, ep, sizeof ep);
    assert_string_equal(ep, "tcp://0.0.0.0:5");
    connection_free(&c);
    unit_write_file(path, "{\"ip\": \"*\", \"transport\": \"ipc\", \"key\": \"k\"}");
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_string_equal(c.ip, "0.0.0.0");
    connection_free(&c);
    /* only "*" itself: an address, a name with a star in it, kept as written */
    unit_write_file(path, "{\"ip\": \"0.0.0.0\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
                          " \"control_port\": 4, \"hb_port\": 5, \"key\": \"k\"}");
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_true(!c.filled);
    connection_free(&c);
    unit_write_file(path, "{\"ip\": \"*x\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
                          " \"control_port\": 4, \"hb_port\": 5, \"key\": \"k\"}");
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_string_equal(c.ip, "*x");
    assert_true(!c.filled);
    connection_free(&c);
    static const struct { const char *given, *read; } transports[] = {
        {"TCP", "tcp"}, {"Tcp", "tcp"}, {"IPC", "ipc"}, {"iPc", "ipc"}};
    for (size_t i = 0; i < sizeof transports / sizeof *transports; i++) {
        char text[300];
        snprintf(text, sizeof text, "{\"ip\": \"/tmp/h\", \"transport\": \"%s\", \"shell_port\": 1,"
                 " \"iopub_port\": 2, \"stdin_port\": 3, \"control_port\": 4, \"hb_port\": 5,"
                 " \"key\": \"k\"}", transports[i].given);
        unit_write_file(path, text);
        assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
        assert_string_equal(c.transport, transports[i].read);
        assert_true(c.filled);
        connection_free(&c);
    }
    unit_write_file(path, "{\"ip\": \"h\", \"shell_port\": -1, \"iopub_port\": 2, \"stdin_port\": -65536,"
                          " \"control_port\": 4, \"hb_port\": 5, \"key\": \"k\"}");
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_true(c.filled);
    assert_int_equal(c.port[CH_SHELL], 0);
    assert_int_equal(c.port[CH_STDIN], 0);
    assert_int_equal(c.port[CH_IOPUB], 2);
    connection_endpoint(&c, CH_SHELL, ep, sizeof ep);
    assert_string_equal(ep, "tcp://h:*");
    connection_free(&c);
}

/* -f's file found where ipykernel finds it (IPKernelApp.init_connection_file): a
 * relative one in the working folder, else in Jupyter's runtime folder; a bare name in
 * neither is made in the runtime folder; anything at the path itself is that path. */
static void connection_locate_as_ipykernel(void **state)
{
    (void)state;
    char here[4096], cwd[160], rt[160], want[400], out[400], sub[200];
    assert_non_null(getcwd(here, sizeof here));
    snprintf(cwd, sizeof cwd, "%s/locate-cwd", dir);
    snprintf(rt, sizeof rt, "%s/locate-rt", dir);
    assert_int_equal(mkdir(cwd, 0755), 0);
    assert_int_equal(mkdir(rt, 0755), 0);
    snprintf(sub, sizeof sub, "%s/sub", rt);
    assert_int_equal(mkdir(sub, 0755), 0);
    char *saved[4];
    const char *vars[4] = {"JUPYTER_RUNTIME_DIR", "JUPYTER_DATA_DIR", "XDG_DATA_HOME", "HOME"};
    for (int i = 0; i < 4; i++) saved[i] = getenv(vars[i]) ? strdup(getenv(vars[i])) : NULL;
    setenv("JUPYTER_RUNTIME_DIR", rt, 1);
    assert_int_equal(chdir(cwd), 0);

    connection_locate("/abs/k.json", out, sizeof out);
    assert_string_equal(out, "/abs/k.json");
    connection_locate("k.json", out, sizeof out); /* nowhere: ipykernel's to make in rt */
    snprintf(want, sizeof want, "%s/k.json", rt);
    assert_string_equal(out, want);
    connection_locate("sub/k.json", out, sizeof out); /* not bare: made where it says */
    assert_string_equal(out, "sub/k.json");
    snprintf(want, sizeof want, "%s/sub/k.json", rt);
    unit_write_file(want, "{}");
    connection_locate("sub/k.json", out, sizeof out); /* found in rt */
    assert_string_equal(out, want);
    unit_write_file("k.json", "{}"); /* in the working folder: that one */
    connection_locate("k.json", out, sizeof out);
    assert_string_equal(out, "k.json");
    unlink("k.json");
    assert_int_equal(mkdir("k.json", 0755), 0); /* a folder there: refused later, named */
    connection_locate("k.json", out, sizeof out);
    assert_string_equal(out, "k.json");
    rmdir("k.json");
    snprintf(want, sizeof want, "%s/d.json", rt);
    assert_int_equal(mkdir(want, 0755), 0); /* a folder in rt is no file found there */
    connection_locate("sub/../d.json", out, sizeof out);
    assert_string_equal(out, "sub/../d.json");

    /* jupyter_runtime_dir()'s fallbacks, in order */
    unsetenv("JUPYTER_RUNTIME_DIR");
    setenv("JUPYTER_DATA_DIR", "/jd", 1);
    setenv("XDG_DATA_HOME", "/xdg", 1);
    setenv("HOME", "/home/u", 1);
    connection_locate("k.json", out, sizeof out);
    assert_string_equal(out, "/jd/runtime/k.json");
    setenv("JUPYTER_DATA_DIR", "", 1);
    connection_locate("k.json", out, sizeof out);
    assert_string_equal(out, "/xdg/jupyter/runtime/k.json");
    unsetenv("XDG_DATA_HOME");
    connection_locate("k.json", out, sizeof out);
    assert_string_equal(out, "/home/u/.local/share/jupyter/runtime/k.json");
    unsetenv("HOME");
    unsetenv("JUPYTER_DATA_DIR");
    connection_locate("k.json", out, sizeof out); /* none at all: the working folder */
    assert_string_equal(out, "k.json");
    /* too long for OUT: as given */
    setenv("JUPYTER_RUNTIME_DIR", rt, 1);
    char small[8];
    connection_locate("k.json", small, sizeof small);
    assert_string_equal(small, "k.json");

    assert_int_equal(chdir(here), 0);
    for (int i = 0; i < 4; i++) {
        if (saved[i]) setenv(vars[i], saved[i], 1);
        else unsetenv(vars[i]);
        free(saved[i]);
    }
}

/* Values a connection file may not hold, each named: ports 65536 and 2.5, an "ip" that is
 * not a string or does not fit, a transport of one letter or longer than any. */
static void connection_read_refuses_edges(void **state)
{
    (void)state;
    char ip256[300], text[600];
    memset(ip256, 'a', 256);
    ip256[256] = 0;
    const char *ports = "\"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3, \"control_port\": 4";
    struct { char text[600]; const char *reason; } bad[] = {
        {"", "\"hb_port\" is not a port number"}, {"", "\"hb_port\" is not a port number"},
        {"", "\"ip\" is not a string of at most 255 bytes"},
        {"", "\"ip\" is not a string of at most 255 bytes"},
        {"", "unknown transport \"x\""}, {"", "\"transport\" is not a string of at most 7 bytes"},
    };
    snprintf(bad[0].text, sizeof bad[0].text, "{\"ip\": \"h\", %s, \"hb_port\": 2.5}", ports);
    snprintf(bad[1].text, sizeof bad[1].text, "{\"ip\": \"h\", %s, \"hb_port\": 65536}", ports);
    snprintf(bad[2].text, sizeof bad[2].text, "{\"ip\": 5, %s, \"hb_port\": 5}", ports);
    snprintf(bad[3].text, sizeof bad[3].text, "{\"ip\": \"%s\", %s, \"hb_port\": 5}", ip256, ports);
    snprintf(bad[4].text, sizeof bad[4].text, "{\"ip\": \"h\", \"transport\": \"x\", %s, \"hb_port\": 5}", ports);
    snprintf(bad[5].text, sizeof bad[5].text, "{\"ip\": \"h\", \"transport\": \"tcpipcxy\", %s, \"hb_port\": 5}",
             ports);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) refused(i, bad[i].text, bad[i].reason);
    char path[128], err[256];
    snprintf(path, sizeof path, "%s/conn.json", dir);
    /* 255 bytes fit */
    ip256[255] = 0;
    snprintf(text, sizeof text, "{\"ip\": \"%s\", %s, \"hb_port\": 5}", ip256, ports);
    unit_write_file(path, text);
    struct connection c;
    assert_int_equal(connection_read(path, &c, err, sizeof err), 0);
    assert_int_equal(strlen(c.ip), 255);
    /* a file that cannot be written is a failure, named */
    snprintf(path, sizeof path, "%s/no/such/folder/c.json", dir);
    err[0] = 0;
    assert_int_equal(connection_write(path, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "no/such/folder/c.json: "));
    /* one whose writes fail (/dev/full: ENOSPC) too, without retrying for ever; and no
     * descriptor is left open, written or not */
    int before = dup(0);
    close(before);
    if (access("/dev/full", W_OK) == 0) {
        err[0] = 0;
        assert_int_equal(connection_write("/dev/full", &c, err, sizeof err), -1);
        assert_non_null(strstr(err, "/dev/full: write failed: "));
    }
    snprintf(path, sizeof path, "%s/written.json", dir);
    assert_int_equal(connection_write(path, &c, err, sizeof err), 0);
    int after = dup(0);
    close(after);
    assert_int_equal(after, before);
    connection_free(&c);
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
    /* a value, and a model's path in the reason, shown as messages show names: a newline
     * would split the line, an escape sequence reach the log and the notebook, and the
     * text \x1b read as ESC */
    char *odd[] = {"k", "-f", "c", "--tag-position=l\n\x1b[2J\\x1b", NULL};
    assert_int_equal(options_parse(4, odd, &o, err, sizeof err), 0);
    options_notice(&o, "/m\n\\.nbsm: truncated file (9 bytes)", out, sizeof out);
    assert_string_equal(out, "nbstage: no stage tags in this session: /m\\n\\\\.nbsm: truncated file (9 bytes)\n"
                             "nbstage: warning: --tag-position \"l\\n\\x1b[2J\\\\x1b\": expected top or bottom; "
                             "ignored\n");
}

/* Every documented spelling and edge, each once (a mutation audit found them unread):
 * 0 and 1 as minimum confidence, each yes/no word of NBSTAGE_NO_BADGE and
 * NBSTAGE_ANY_LANGUAGE, --tag-position top over NBSTAGE_TAG_POSITION=bottom,
 * NBSTAGE_WRAP and NBSTAGE_MODEL, --any-language, -h/--help/--version without -f, and
 * the message for -f or --connection-file given last, without its value. */
static void options_every_spelling_and_edge(void **state)
{
    (void)state;
    struct kernel_options o;
    char err[256];
    static const char *const vars[] = {"NBSTAGE_WRAP", "NBSTAGE_MODEL", "NBSTAGE_TAG_POSITION",
                                       "NBSTAGE_NO_BADGE", "NBSTAGE_ANY_LANGUAGE",
                                       "NBSTAGE_MIN_CONFIDENCE"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) unsetenv(vars[i]);

    char *zero[] = {"k", "-f", "c", "--min-confidence", "0", NULL};
    assert_int_equal(options_parse(5, zero, &o, err, sizeof err), 0);
    assert_string_equal(o.warnings, "");
    assert_true(o.display.min_confidence == 0);
    char *one[] = {"k", "-f", "c", "--min-confidence=1", NULL};
    assert_int_equal(options_parse(4, one, &o, err, sizeof err), 0);
    assert_string_equal(o.warnings, "");
    assert_true(o.display.min_confidence == 1);

    setenv("NBSTAGE_TAG_POSITION", "bottom", 1);
    char *top[] = {"k", "-f", "c", "--tag-position=top", NULL};
    assert_int_equal(options_parse(4, top, &o, err, sizeof err), 0);
    assert_string_equal(o.warnings, "");
    assert_int_equal(o.display.position_top, 1);
    unsetenv("NBSTAGE_TAG_POSITION");

    char *plain[] = {"k", "-f", "c", NULL};
    static const char *const yes[] = {"1", "true", "YES", "On"}, *const no[] = {"0", "False", "no", "OFF", ""};
    for (int want = 0; want < 2; want++) {
        const char *const *words = want ? yes : no;
        size_t n = want ? sizeof yes / sizeof *yes : sizeof no / sizeof *no;
        for (size_t i = 0; i < n; i++) {
            setenv("NBSTAGE_NO_BADGE", words[i], 1);
            setenv("NBSTAGE_ANY_LANGUAGE", words[i], 1);
            assert_int_equal(options_parse(3, plain, &o, err, sizeof err), 0);
            if (o.warnings[0]) fail_msg("\"%s\": %s", words[i], o.warnings);
            assert_int_equal(o.display.no_badge, want);
            assert_int_equal(o.any_language, want);
        }
    }
    unsetenv("NBSTAGE_NO_BADGE");
    unsetenv("NBSTAGE_ANY_LANGUAGE");
    char *any[] = {"k", "-f", "c", "--any-language", NULL};
    assert_int_equal(options_parse(4, any, &o, err, sizeof err), 0);
    assert_int_equal(o.any_language, 1);
    assert_int_equal(o.display.no_badge, 0);

    setenv("NBSTAGE_WRAP", "ir", 1);
    setenv("NBSTAGE_MODEL", "/m.nbsm", 1);
    assert_int_equal(options_parse(3, plain, &o, err, sizeof err), 0);
    assert_string_equal(o.wrap, "ir");
    assert_int_equal(o.wrap_from_env, 1); /* the log says where the name came from */
    assert_string_equal(o.model, "/m.nbsm");
    assert_int_equal(o.model_from_env, 1); /* errors name NBSTAGE_MODEL */
    char *wrap[] = {"k", "-f", "c", "--wrap=python3", NULL};
    assert_int_equal(options_parse(4, wrap, &o, err, sizeof err), 0);
    assert_string_equal(o.wrap, "python3");
    assert_int_equal(o.wrap_from_env, 0);
    assert_string_equal(o.model, "/m.nbsm");
    char *given[] = {"k", "-f", "c", "--model", "/n.nbsm", NULL};
    assert_int_equal(options_parse(5, given, &o, err, sizeof err), 0);
    assert_string_equal(o.model, "/n.nbsm");
    assert_int_equal(o.model_from_env, 0);
    unsetenv("NBSTAGE_WRAP");
    unsetenv("NBSTAGE_MODEL");
    assert_int_equal(options_parse(3, plain, &o, err, sizeof err), 0);
    assert_int_equal(o.wrap_from_env, 0);
    assert_null(o.model);

    char *help[][2] = {{"k", "-h"}, {"k", "--help"}, {"k", "--version"}};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(options_parse(2, help[i], &o, err, sizeof err), 0);
        assert_int_equal(o.help, i < 2);
        assert_int_equal(o.version, i == 2);
    }
    /* long lines cut at the end of the warnings, well inside it (under ASan, a write past
     * it is caught: the short lines of options_refuse_bad_values overflowed into the
     * struct's padding only) */
    static char long_opt[401];
    memset(long_opt, 'x', 400);
    memcpy(long_opt, "--", 2);
    char *longs[] = {"k", "-f", "c", long_opt, long_opt, long_opt, long_opt, NULL};
    assert_int_equal(options_parse(7, longs, &o, err, sizeof err), 0);
    size_t n = strlen(o.warnings);
    assert_true(n == sizeof o.warnings - 1 && o.warnings[n - 1] == '\n');

    char *last[][3] = {{"k", "--wrap=ir", "-f"}, {"k", "--wrap=ir", "--connection-file"}};
    const char *why[] = {"-f needs a value", "--connection-file needs a value"};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(options_parse(3, last[i], &o, err, sizeof err), -1);
        assert_string_equal(err, why[i]);
    }
}

/* 1 when S is UTF-8 throughout: each lead byte followed by as many continuation
 * bytes as it says, none without one. */
static int utf8_whole(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int k = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 : (*p & 0xf8) == 0xf0 ? 3 : -1;
        if (k < 0) return 0;
        for (p++; k > 0; k--, p++)
            if ((*p & 0xc0) != 0x80) return 0;
    }
    return 1;
}

/* A warning longer than the room left (the 1,024 bytes of warnings) is cut between
 * characters, its reason kept after a "...": it was cut at byte 1,022, inside a
 * character of a value written in Japanese, say, and the server's log and the
 * notebook's notice got its first bytes alone.  Three paddings put that byte at each
 * place in a 3-byte character. */
static void options_warning_cut_between_characters(void **state)
{
    (void)state;
    struct kernel_options o;
    char err[256], out[2048], value[1600];
    unsetenv("NBSTAGE_TAG_POSITION");
    unsetenv("NBSTAGE_MIN_CONFIDENCE");
    unsetenv("NBSTAGE_NO_BADGE");
    for (int pad = 0; pad < 3; pad++) {
        size_t n = (size_t)snprintf(value, sizeof value, "--%.*s", pad, "xx");
        for (int i = 0; i < 500; i++) n += (size_t)snprintf(value + n, sizeof value - n, "\xe6\x97\xa5");
        char *argv[] = {"k", "-f", "c", value, NULL};
        assert_int_equal(options_parse(4, argv, &o, err, sizeof err), 0);
        if (!utf8_whole(o.warnings)) fail_msg("padded by %d, the warning was cut inside a character", pad);
        size_t len = strlen(o.warnings);
        assert_true(len < sizeof o.warnings && len > sizeof o.warnings - 8);
        assert_non_null(strstr(o.warnings, "\xe6\x97\xa5..."));
        assert_string_equal(o.warnings + len - 12, "\xa5\"; ignored\n");
        assert_memory_equal(o.warnings, "unknown option or missing value: \"--", 36);
        options_notice(&o, NULL, out, sizeof out);
        assert_true(utf8_whole(out) && strlen(out) == len + strlen("nbstage: warning: "));
    }
}

/* A notice line goes in whole or not at all: with room for its text but not its NUL,
 * snprintf cuts its newline, so it is left out. */
static void options_notice_line_needs_room_for_its_nul(void **state)
{
    (void)state;
    struct kernel_options o;
    char err[256], out[256];
    unsetenv("NBSTAGE_TAG_POSITION");
    char *bad[] = {"k", "-f", "c", "--bogus", NULL};
    assert_int_equal(options_parse(4, bad, &o, err, sizeof err), 0);
    const char line[] = "nbstage: warning: unknown option or missing value: \"--bogus\"; ignored\n";
    options_notice(&o, NULL, out, sizeof line);
    assert_string_equal(out, line);
    options_notice(&o, NULL, out, sizeof line - 1);
    assert_string_equal(out, "");
}

/* A frontend's extra arguments (jupyter_client appends them to the kernelspec's argv):
 * traitlets settings are the wrapped kernel's, in order, in either of the forms
 * traitlets takes, "--Class.trait=value" and "--Class.trait value", with the keys and
 * values it takes (checked against ipykernel 6.17's parser, traitlets 5.5); anything
 * else is warned about. */
static void options_keep_traitlets_settings_for_the_child(void **state)
{
    (void)state;
    struct kernel_options o;
    char err[256];
    unsetenv("NBSTAGE_TAG_POSITION");
    char *argv[] = {"k", "--InteractiveShell.autocall=2", "-f", "c", "--HistoryManager.hist_file=:memory:",
                    "--IPKernelApp.matplotlib=inline", "--P.x_1.y=", "--x=1", "--a.b", "--.a=1", "--a..b=1",
                    "--a.1=2", "--_P.x=1", "--a.b.=1", "--a.b-c=1", "--Session.key", "v", "-P.q=1",
                    "--P.q", "", "--P.q", "-", "--P.q", "-1", "--P.q", "-.5", "--P.q", "-x y", "--P.q", "--x y",
                    NULL};
    int argc = (int)(sizeof argv / sizeof *argv) - 1;
    assert_int_equal(options_parse(argc, argv, &o, err, sizeof err), 0);
    static const char *const kept[] = {"--InteractiveShell.autocall=2", "--HistoryManager.hist_file=:memory:",
                                       "--IPKernelApp.matplotlib=inline", "--P.x_1.y=", "--a.1=2",
                                       "--Session.key", "v", "-P.q=1", "--P.q", "", "--P.q", "-", "--P.q", "-1",
                                       "--P.q", "-.5", "--P.q", "-x y", "--P.q", "--x y"};
    assert_int_equal(o.n_child_args, (int)(sizeof kept / sizeof *kept));
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) assert_string_equal(o.child_args[i], kept[i]);
    static const char *const said[] = {"--x=1", "--a.b", "--.a=1", "--a..b=1", "--_P.x=1", "--a.b.=1",
                                       "--a.b-c=1"};
    for (size_t i = 0; i < sizeof said / sizeof *said; i++) {
        char want[64];
        snprintf(want, sizeof want, "\"%s\"; ignored", said[i]);
        if (!strstr(o.warnings, want)) fail_msg("%s not warned about: %s", said[i], o.warnings);
    }
    assert_string_equal(o.connection_file, "c");
    /* a key alone whose next argument is no value for argparse: both warned about, the
     * key as missing its value, the next read as what it is (here our own --no-badge) */
    char *novalue[] = {"k", "-f", "c", "--P.a", "--no-badge", "--P.b", "-x", "--P.c", "-c y", "--P.d",
                       "--P.e=a b", "--P.f", "-1e3", "--P.g", NULL};
    assert_int_equal(options_parse(14, novalue, &o, err, sizeof err), 0);
    assert_int_equal(o.n_child_args, 1);
    assert_string_equal(o.child_args[0], "--P.e=a b");
    assert_int_equal(o.display.no_badge, 1);
    static const char *const missing[] = {"--P.a", "--P.b", "-x", "--P.c", "-c y", "--P.d", "--P.f",
                                          "-1e3", "--P.g"};
    for (size_t i = 0; i < sizeof missing / sizeof *missing; i++) {
        char want[64];
        snprintf(want, sizeof want, "missing value: \"%s\"; ignored", missing[i]);
        if (!strstr(o.warnings, want)) fail_msg("%s not warned about: %s", missing[i], o.warnings);
    }
    /* past the 64 kept, a setting is said as one too many, not as an unknown option;
     * a key and its value are kept both or neither */
    char *many[3 + OPTIONS_CHILD_ARGS + 3];
    char names[OPTIONS_CHILD_ARGS + 1][32];
    many[0] = "k", many[1] = "-f", many[2] = "c";
    for (int i = 0; i < OPTIONS_CHILD_ARGS - 1; i++) {
        snprintf(names[i], sizeof names[i], "--C.t%d=1", i);
        many[3 + i] = names[i];
    }
    many[3 + OPTIONS_CHILD_ARGS - 1] = "--C.x", many[3 + OPTIONS_CHILD_ARGS] = "1";
    many[3 + OPTIONS_CHILD_ARGS + 1] = "--C.y=1";
    many[3 + OPTIONS_CHILD_ARGS + 2] = NULL;
    assert_int_equal(options_parse(3 + OPTIONS_CHILD_ARGS + 2, many, &o, err, sizeof err), 0);
    assert_int_equal(o.n_child_args, OPTIONS_CHILD_ARGS);
    assert_string_equal(o.child_args[OPTIONS_CHILD_ARGS - 1], "--C.y=1");
    char want[128];
    snprintf(want, sizeof want, "too many --Class.trait settings (at most %d arguments): \"--C.x\" and its "
             "value; ignored", OPTIONS_CHILD_ARGS);
    if (!strstr(o.warnings, want)) fail_msg("\"%s\" lacks \"%s\"", o.warnings, want);
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
    unit_write_file(path, "{\"argv\": [\"a\\\x1b[2J");   /* not JSON: said on one line, no escape */
    assert_int_equal(kernelspec_find("broken", &ks, err, sizeof err), -1);
    assert_non_null(strstr(err, "broken/kernel.json: invalid escape near '\"a\\?'"));
    assert_int_equal(kernelspec_find("absent", &ks, err, sizeof err), -1);
    assert_non_null(strstr(err, "kernelspec \"absent\" not found"));
    assert_int_equal(kernelspec_find("../a", &ks, err, sizeof err), -1);
    unsetenv("JUPYTER_PATH");
}

/* A kernelspec folder SUB/kernels/NAME under the test's folder, whose argv[0] is WHO. */
static void spec_in(const char *sub, const char *name, const char *who)
{
    char path[512], cmd[640];
    snprintf(path, sizeof path, "%s/%s/kernels/%s", dir, sub, name);
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
    strcat(path, "/kernel.json");
    char text[256];
    snprintf(text, sizeof text, "{\"argv\": [\"%s\", \"{connection_file}\"]}", who);
    unit_write_file(path, text);
}

static const char *const data_vars[] = {"JUPYTER_PATH", "JUPYTER_DATA_DIR", "XDG_DATA_HOME", "HOME",
                                        "CONDA_PREFIX", "VIRTUAL_ENV", "JPY_PARENT_PID", "PYTHONUSERBASE",
                                        "PYTHONNOUSERSITE", "JUPYTER_PREFER_ENV_PATH"};

/* argv[0] of the spec kernelspec_find gives for NAME ("" when none). */
static const char *found_by(const char *name, char *out, size_t cap)
{
    struct found_kernelspec ks;
    char err[2048];
    out[0] = 0;
    if (kernelspec_find(name, &ks, err, sizeof err) == 0) {
        snprintf(out, cap, "%s", ks.argv[0]);
        kernelspec_found_free(&ks);
    }
    return out;
}

/* jupyter_client's order, most specific first: JUPYTER_PATH, then the user's data dir
 * (JUPYTER_DATA_DIR, else $XDG_DATA_HOME/jupyter, else ~/.local/share/jupyter: one of
 * them), sys.prefix's (VIRTUAL_ENV, then CONDA_PREFIX: a venv activated over conda's
 * base is the Python run); kernelspec_dir_searched agrees, by any path to the
 * folder; a name not found lists the folders searched, in that order.  A mutation audit
 * found only JUPYTER_PATH tested. */
static void kernelspec_data_dirs_in_jupyters_order(void **state)
{
    (void)state;
    char buf[64], path[512], want[1024], err[2048];
    static const char *const subs[] = {"jp", "dd", "xdg/jupyter", "home/.local/share/jupyter",
                                       "conda/share/jupyter", "venv/share/jupyter"};
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) spec_in(subs[i], "order", subs[i]);
    for (size_t i = 0; i < sizeof data_vars / sizeof *data_vars; i++) unsetenv(data_vars[i]);
    static const char *const vars[][2] = {{"JUPYTER_PATH", "jp"}, {"JUPYTER_DATA_DIR", "dd"},
                                          {"XDG_DATA_HOME", "xdg"}, {"HOME", "home"},
                                          {"CONDA_PREFIX", "conda"}, {"VIRTUAL_ENV", "venv"}};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, vars[i][1]);
        setenv(vars[i][0], path, 1);
    }
    assert_string_equal(found_by("order", buf, sizeof buf), "jp");
    unsetenv("JUPYTER_PATH");
    assert_string_equal(found_by("order", buf, sizeof buf), "dd");
    /* with JUPYTER_DATA_DIR set, XDG_DATA_HOME is not searched; HOME's .local/share/
     * jupyter is, as Python's user site (Jupyter searches it after the data dir, unless
     * PYTHONNOUSERSITE; $PYTHONUSERBASE/share/jupyter in its place) */
    snprintf(path, sizeof path, "%s/dd/kernels/order", dir);
    unit_rm_rf(path);
    assert_string_equal(found_by("order", buf, sizeof buf), "home/.local/share/jupyter");
    setenv("PYTHONNOUSERSITE", "1", 1);
    assert_string_equal(found_by("order", buf, sizeof buf), "venv/share/jupyter");
    unsetenv("PYTHONNOUSERSITE");
    snprintf(path, sizeof path, "%s/conda", dir);
    setenv("PYTHONUSERBASE", path, 1);
    assert_string_equal(found_by("order", buf, sizeof buf), "conda/share/jupyter");
    unsetenv("PYTHONUSERBASE");
    unsetenv("JUPYTER_DATA_DIR");
    assert_string_equal(found_by("order", buf, sizeof buf), "xdg/jupyter");
    unsetenv("XDG_DATA_HOME");
    assert_string_equal(found_by("order", buf, sizeof buf), "home/.local/share/jupyter");
    /* JUPYTER_PREFER_ENV_PATH: the environment's folders before the user's */
    setenv("JUPYTER_PREFER_ENV_PATH", "1", 1);
    assert_string_equal(found_by("order", buf, sizeof buf), "venv/share/jupyter");
    setenv("JUPYTER_PREFER_ENV_PATH", "Off", 1); /* jupyter_core's no, n, false, off, 0, 0.0 */
    assert_string_equal(found_by("order", buf, sizeof buf), "home/.local/share/jupyter");
    unsetenv("JUPYTER_PREFER_ENV_PATH");
    unsetenv("HOME");
    assert_string_equal(found_by("order", buf, sizeof buf), "venv/share/jupyter");
    unsetenv("VIRTUAL_ENV");
    assert_string_equal(found_by("order", buf, sizeof buf), "conda/share/jupyter");

    /* the folders searched, named in order when the name is not found */
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, vars[i][1]);
        setenv(vars[i][0], path, 1);
    }
    struct found_kernelspec ks;
    assert_int_equal(kernelspec_find("absent", &ks, err, sizeof err), -1);
    snprintf(want, sizeof want, "kernelspec \"absent\" not found in %s/jp/kernels, %s/dd/kernels, "
             "%s/home/.local/share/jupyter/kernels, %s/venv/share/jupyter/kernels, "
             "%s/conda/share/jupyter/kernels, /usr/local/share/jupyter/kernels, /usr/share/jupyter/kernels",
             dir, dir, dir, dir, dir);
    assert_string_equal(err, want);

    /* kernelspec_dir_searched: each of them, by another path too; not another folder */
    for (size_t i = 0; i < sizeof subs / sizeof *subs; i++) {
        if (i == 2) continue; /* not searched while JUPYTER_DATA_DIR is set */
        snprintf(path, sizeof path, "%s/%s/kernels", dir, subs[i]);
        if (!kernelspec_dir_searched(path)) fail_msg("%s not searched", path);
    }
    snprintf(path, sizeof path, "%s/jp/../jp/kernels", dir);
    assert_int_equal(kernelspec_dir_searched(path), 1);
    snprintf(path, sizeof path, "%s/xdg/jupyter/kernels", dir);
    assert_int_equal(kernelspec_dir_searched(path), 0);
    snprintf(path, sizeof path, "%s/no-such-folder", dir);
    assert_int_equal(kernelspec_dir_searched(path), 0);
    unsetenv("JUPYTER_DATA_DIR");
    snprintf(path, sizeof path, "%s/xdg/jupyter/kernels", dir);
    assert_int_equal(kernelspec_dir_searched(path), 1);
    for (size_t i = 0; i < sizeof data_vars / sizeof *data_vars; i++) unsetenv(data_vars[i]);
}

/* A folder of the right name without a kernel.json is not a kernelspec: jupyter_client
 * (_is_kernel_dir) passes over it to the next data dir, and so does kernelspec_find.
 * It stopped there and failed ("kernel.json: unable to open"), so that an empty folder
 * left in ~/.local/share/jupyter/kernels/python3 broke the stage kernel while Jupyter
 * listed /usr/share's python3 (found by a mutation audit of kernelspec_find.c). */
static void kernelspec_folder_without_kernel_json_is_passed_over(void **state)
{
    (void)state;
    char buf[64], path[512], jp[600];
    for (size_t i = 0; i < sizeof data_vars / sizeof *data_vars; i++) unsetenv(data_vars[i]);
    spec_in("e2", "Skip", "e2");
    snprintf(path, sizeof path, "mkdir -p '%s/e1/kernels/skip' '%s/e0/kernels/skip/kernel.json'", dir, dir);
    assert_int_equal(system(path), 0);
    snprintf(path, sizeof path, "%s/e1/kernels/skip/logo-64x64.png", dir);
    unit_write_file(path, "not a kernelspec");
    snprintf(jp, sizeof jp, "%s/e0:%s/e1:%s/e2", dir, dir, dir);
    setenv("JUPYTER_PATH", jp, 1);
    assert_string_equal(found_by("skip", buf, sizeof buf), "e2");
    unsetenv("JUPYTER_PATH");
}

/* A process whose command line starts with ARGV0 (sleep, exec'd under that name), once
 * /proc shows it. */
static pid_t spawn_in(const char *cwd, const char *argv0)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (cwd && chdir(cwd)) _exit(127);
        /* it dies with the test, and does not hold the test's output open if the test
         * crashes: whoever reads that output would wait for it */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl("/bin/sleep", argv0, "30", (char *)NULL);
        _exit(127);
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
    for (int i = 0; i < 400; i++) {
        char line[512] = "";
        FILE *f = fopen(path, "rb");
        if (f) { size_t n = fread(line, 1, sizeof line - 1, f); line[n] = 0; fclose(f); }
        if (strcmp(line, argv0) == 0) return pid;
        usleep(5000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fail_msg("%s did not start", argv0);
    return -1;
}

static pid_t spawn_as(const char *argv0) { return spawn_in(NULL, argv0); }

static void end(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* What kernelspec_find makes of things in a process of its own, written into OUT. */
typedef size_t (*probe_fn)(const void *arg, char *out, size_t cap);

/* PROBE's OUT, as a kernel started by Jupyter sees things: run in a process whose
 * parent's command line starts with ARGV0 (sleep exec'd under that name, in CWD when
 * not NULL) and whose JPY_PARENT_PID is that parent's pid, or STALE's when STALE is
 * not 0 (a live process that is not its parent: the variable inherited).
 * kernelspec_find takes JPY_PARENT_PID only when it is the parent (getppid()), so the
 * test's own process cannot stand for the kernel. */
static void under_parent(const char *cwd, const char *argv0, pid_t stale, probe_fn probe, const void *arg,
                         char *out, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe2(fds, O_CLOEXEC), 0); /* only the prober keeps the writing end */
    pid_t parent = fork();
    assert_true(parent >= 0);
    if (parent == 0) {
        pid_t prober = fork();
        if (prober < 0) _exit(127);
        if (prober == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            close(fds[0]);
            char path[64], pid[32], line[512];
            snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)getppid());
            for (int i = 0; i < 400; i++) { /* until its parent runs as ARGV0 */
                FILE *f = fopen(path, "rb");
                size_t n = f ? fread(line, 1, sizeof line - 1, f) : 0;
                if (f) fclose(f);
                line[n] = 0;
                if (strcmp(line, argv0) == 0) break;
                usleep(5000);
            }
            snprintf(pid, sizeof pid, "%ld", (long)(stale ? stale : getppid()));
            setenv("JPY_PARENT_PID", pid, 1);
            char got[8192];
            size_t used = strcmp(line, argv0) ? (size_t)snprintf(got, sizeof got, "no parent") :
                                                probe(arg, got, sizeof got);
            if (write(fds[1], got, used) != (ssize_t)used) _exit(1);
            _exit(0);
        }
        if (cwd && chdir(cwd)) _exit(127);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* as spawn_in's */
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execl("/bin/sleep", argv0, "30", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < cap && (k = read(fds[0], out + n, cap - 1 - n)) > 0) n += (size_t)k;
    out[n] = 0;
    close(fds[0]);
    end(parent); /* the prober is gone: its output ended */
}

/* found_by(ARG) */
static size_t argv0_found(const void *arg, char *out, size_t cap)
{
    found_by(arg, out, cap);
    return strlen(out);
}

/* found_by("parent-spec"), and whether ARG (a kernels folder) is searched */
static size_t parent_spec_found(const void *arg, char *out, size_t cap)
{
    char buf[512];
    found_by("parent-spec", buf, sizeof buf);
    return (size_t)snprintf(out, cap, "%s %d", buf, kernelspec_dir_searched(arg));
}

/* The prefix of the Python that started the kernel (JPY_PARENT_PID's command line:
 * PREFIX/bin/python...) is searched, an unactivated venv's too; nothing else is taken
 * for one.  Untested before (a mutation audit): every check in parent_prefix could go.
 * JPY_PARENT_PID naming a live process that is not the kernel's parent (inherited: a
 * kernel started with jupyter_client's independent=True, or from a shell that has
 * the variable) is no Python that started it; its prefix was searched. */
static void kernelspec_found_in_the_parent_pythons_prefix(void **state)
{
    (void)state;
    char buf[64], got[600], path[512], kdir[512], pid[32];
    for (size_t i = 0; i < sizeof data_vars / sizeof *data_vars; i++) unsetenv(data_vars[i]);
    spec_in("pp/share/jupyter", "parent-spec", "pp");
    snprintf(kdir, sizeof kdir, "%s/pp/share/jupyter/kernels", dir);
    snprintf(path, sizeof path, "%s/pp/bin/python3.11", dir);
    under_parent(NULL, path, 0, parent_spec_found, kdir, got, sizeof got);
    assert_string_equal(got, "pp 1");
    /* the same Python alive, but not the parent: of a sleep, and of this process */
    pid_t p = spawn_as(path);
    char other[512], stale[sizeof got];
    snprintf(other, sizeof other, "%s/other/bin/sleep", dir);
    under_parent(NULL, other, p, parent_spec_found, kdir, stale, sizeof stale);
    snprintf(pid, sizeof pid, "%ld", (long)p);
    setenv("JPY_PARENT_PID", pid, 1);
    found_by("parent-spec", buf, sizeof buf);
    int searched = kernelspec_dir_searched(kdir);
    end(p); /* before any assertion: a failed test leaves no process behind */
    assert_string_equal(stale, " 0");
    assert_string_equal(buf, "");
    assert_int_equal(searched, 0);
    unsetenv("JPY_PARENT_PID");
    assert_string_equal(found_by("parent-spec", buf, sizeof buf), "");
    assert_int_equal(kernelspec_dir_searched(kdir), 0);
    /* a relative path, from the parent's working folder (`venv/bin/python -m notebook`);
     * a bare name, from the PATH (`python -m notebook` in an activated venv) */
    char bin[512], exe[600];
    snprintf(bin, sizeof bin, "%s/pp/bin", dir);
    snprintf(exe, sizeof exe, "%s/python3", bin);
    mkdir(bin, 0755);
    assert_int_equal(symlink("/bin/sleep", exe), 0); /* as a venv's python: a symlink to the program */
    const char *old_path = getenv("PATH");
    char *saved = old_path ? strdup(old_path) : NULL;
    char path_var[1200]; /* a trailing slash, and a relative entry first, as shells take them */
    snprintf(path_var, sizeof path_var, "%s/:/bin", bin);
    setenv("PATH", path_var, 1);
    for (int i = 0; i < 3; i++) {
        if (i == 2) setenv("PATH", "pp/bin:/bin", 1); /* from the parent's working folder */
        under_parent(dir, i ? "python3" : "pp/bin/python3", 0, argv0_found, "parent-spec", buf, sizeof buf);
        if (strcmp(buf, "pp")) fail_msg("not found through %s", i ? "python3 on PATH" : "pp/bin/python3 from its cwd");
    }
    if (saved) setenv("PATH", saved, 1); else unsetenv("PATH");
    free(saved);
    unlink(exe);
    /* not a python, not in a bin/ folder, a relative path from elsewhere */
    const char *not_python[] = {"%s/pp/bin/ruby", "%s/pp/python3", "pp/bin/python3"};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, not_python[i], dir);
        if (i == 2) snprintf(path, sizeof path, "%s", not_python[i]);
        under_parent(NULL, path, 0, argv0_found, "parent-spec", buf, sizeof buf);
        if (buf[0]) fail_msg("found through %s", path);
    }
}

/* argv[0] of kernelspecs spec0 ... spec(N-1), N = *ARG, one a line */
static size_t programs_found(const void *arg, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = 0;
    for (size_t i = 0; i < *(const size_t *)arg && used < cap; i++) {
        char spec[32], buf[512];
        snprintf(spec, sizeof spec, "spec%zu", i);
        used += (size_t)snprintf(out + used, cap - used, "%s\n", found_by(spec, buf, sizeof buf));
    }
    return used < cap ? used : cap - 1;
}

/* jupyter_client's format_kernel_cmd: a kernelspec's program "python", "python3" or
 * "python3.11" (Jupyter's own version) is Jupyter's own Python, found as above; no other
 * name is, and nothing is replaced when no Python started us, nor under a
 * JPY_PARENT_PID that is not the parent (it ran that process's Python).  Before, the
 * PATH's "python" ran: a venv's kernelspec (ipykernel's wheel writes "python") started
 * another environment's Python, or none, under a Jupyter run from an unactivated venv. */
static void kernelspec_python_is_jupyters_python(void **state)
{
    (void)state;
    char jp[300], python[512], other[512];
    for (size_t i = 0; i < sizeof data_vars / sizeof *data_vars; i++) unsetenv(data_vars[i]);
    snprintf(jp, sizeof jp, "%s/names", dir);
    setenv("JUPYTER_PATH", jp, 1);
    static const char *const names[] = {"python", "python3", "python3.11", "python3.10", "python2",
                                        "python3.11.2", "/usr/bin/python", "pythonw", "ruby"};
    enum { N_NAMES = sizeof names / sizeof *names };
    const size_t n_names = N_NAMES;
    for (size_t i = 0; i < N_NAMES; i++) {
        char spec[32];
        snprintf(spec, sizeof spec, "spec%zu", i);
        spec_in("names", spec, names[i]);
    }
    /* the version from the name Jupyter's Python was run by (python3.11), or from the
     * program's real name (here /bin/sleep's: none, so "python3" stands for the major);
     * the last: python3.11 alive, not the parent */
    static const char *const parents[] = {"%s/pp/bin/python3.11", "%s/pp/bin/python3", "%s/pp/bin/python3.11"};
    static const int replaced[][N_NAMES] = {
        {1, 1, 1, 0, 0, 0, 0, 0, 0}, {1, 1, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0, 0}};
    snprintf(other, sizeof other, "%s/other/bin/sleep", dir);
    for (int p = 0; p < 3; p++) {
        snprintf(python, sizeof python, parents[p], dir);
        char got[8192], want[8192] = "";
        size_t used = 0;
        if (p < 2) {
            under_parent(NULL, python, 0, programs_found, &n_names, got, sizeof got);
        } else {
            pid_t stale = spawn_as(python);
            under_parent(NULL, other, stale, programs_found, &n_names, got, sizeof got);
            end(stale);
        }
        for (size_t i = 0; i < N_NAMES; i++)
            used += (size_t)snprintf(want + used, sizeof want - used, "%s\n", replaced[p][i] ? python : names[i]);
        if (strcmp(got, want))
            fail_msg("under %s%s, the programs run were\n%s, not\n%s", python, p == 2 ? " (not the parent)" : "",
                     got, want);
    }
    for (size_t i = 0; i < N_NAMES; i++) {
        char spec[32], buf[512];
        snprintf(spec, sizeof spec, "spec%zu", i);
        assert_string_equal(found_by(spec, buf, sizeof buf), names[i]);
    }
    unsetenv("JUPYTER_PATH");
}

/* In a mount namespace of its own (as root, or in a user namespace), the system's
 * kernels folders hidden under empty ones; 0 when done. */
static int hide_system_kernels(void)
{
    if (unshare(CLONE_NEWNS) && unshare(CLONE_NEWUSER | CLONE_NEWNS)) return -1;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) return -1;
    static const char *const kernels[] = {"/usr/share/jupyter/kernels", "/usr/local/share/jupyter/kernels"};
    for (size_t i = 0; i < sizeof kernels / sizeof *kernels; i++) {
        struct stat st;
        if (stat(kernels[i], &st) == 0 && mount("none", kernels[i], "tmpfs", 0, NULL)) return -1;
    }
    return 0;
}

/* With the system's kernels hidden, what kernelspec_find gives for "python3" and
 * "Python3" with JPY_PARENT_PID as set (the parent), then naming ARG's pid (a live
 * process, not the parent), then unset; and for "python2".  "skip" when no mount
 * namespace can be had. */
static size_t builtin_specs_found(const void *arg, char *out, size_t cap)
{
    size_t used = 0;
    if (hide_system_kernels()) return (size_t)snprintf(out, cap, "skip");
    struct found_kernelspec ks;
    char err[4400];
    for (int parent = 2; parent >= 0; parent--) {
        if (parent == 1) setenv("JPY_PARENT_PID", arg, 1);
        if (parent == 0) unsetenv("JPY_PARENT_PID");
        for (int spelled = 0; spelled < 2; spelled++) {
            if (kernelspec_find(spelled ? "Python3" : "python3", &ks, err, sizeof err)) {
                used += (size_t)snprintf(out + used, cap - used, "not found: %s|", err);
                continue;
            }
            for (size_t i = 0; i < ks.argc; i++) used += (size_t)snprintf(out + used, cap - used, "%s ", ks.argv[i]);
            used += (size_t)snprintf(out + used, cap - used, "[%d %d %s] %s|", ks.builtin, ks.lang.python, ks.dir,
                                     ks.origin);
            kernelspec_found_free(&ks);
        }
    }
    if (kernelspec_find("python2", &ks, err, sizeof err) == 0) kernelspec_found_free(&ks);
    else used += (size_t)snprintf(out + used, cap - used, "%s|", err);
    return used < cap ? used : cap - 1;
}

/* No "python3" kernelspec anywhere: jupyter_client lists ipykernel's built-in one,
 * `sys.executable -m ipykernel_launcher -f {connection_file}`, and so the stage kernel
 * wraps Jupyter's Python's ipykernel (the PATH's python3 when no Python started it,
 * JPY_PARENT_PID naming another process too); before, --wrap python3 was "not found".
 * Any other name is still not found, "Python3" too (jupyter_client 7.4 fails on it:
 * FileNotFoundError, ipykernel's resources/kernel.json).  Run under a parent with the
 * system's kernels hidden (skipped where no namespace can be had). */
static void kernelspec_python3_is_ipykernels_own_when_none_is_installed(void **state)
{
    (void)state;
    char python[512], pid[32], got[8192];
    for (size_t i = 0; i < sizeof data_vars / sizeof *data_vars; i++) unsetenv(data_vars[i]);
    snprintf(python, sizeof python, "%s/pp/bin/python3.11", dir);
    pid_t stale = spawn_as(python); /* the same Python, alive, but not the parent */
    snprintf(pid, sizeof pid, "%ld", (long)stale);
    under_parent(NULL, python, 0, builtin_specs_found, pid, got, sizeof got);
    end(stale);
    if (strcmp(got, "skip") == 0) skip();
    /* (the folders searched: the parent Python's prefix's first, when there is one) */
    const char *searched = "(none in /usr/local/share/jupyter/kernels, /usr/share/jupyter/kernels)";
    char want[4096], searched_too[1024], without[1024];
    snprintf(searched_too, sizeof searched_too, "(none in %s/pp/share/jupyter/kernels, %s", dir, searched + 9);
    snprintf(without, sizeof without,
             "python3 -m ipykernel_launcher -f {connection_file} [1 1 ] ipykernel's built-in python3 kernelspec %s|"
             "not found: kernelspec \"Python3\" not found in %.*s|",
             searched, (int)strlen(searched) - 10, searched + 9); /* (the folders: no "(none in " nor ")") */
    snprintf(want, sizeof want,
             "%s -m ipykernel_launcher -f {connection_file} [1 1 ] ipykernel's built-in python3 kernelspec %s|"
             "not found: kernelspec \"Python3\" not found in %.*s|%s%s"
             "kernelspec \"python2\" not found in /usr/local/share/jupyter/kernels, /usr/share/jupyter/kernels|",
             python, searched_too, (int)strlen(searched_too) - 10, searched_too + 9, without, without);
    assert_string_equal(got, want);
}

/* What load_spec makes of a kernel.json: "env" as NAME=value strings (a value that is
 * not a string skipped), and a refusal naming the file for an argv that is not an
 * array of strings; an empty name is no name. */
static void kernelspec_contents_read_and_refused(void **state)
{
    (void)state;
    char path[512], jp[300], err[512];
    for (size_t i = 0; i < sizeof data_vars / sizeof *data_vars; i++) unsetenv(data_vars[i]);
    snprintf(jp, sizeof jp, "%s/c", dir);
    setenv("JUPYTER_PATH", jp, 1);
    spec_in("c", "envs", "x");
    spec_in("c", "argv-str", "x");
    spec_in("c", "argv-num", "x");
    snprintf(path, sizeof path, "%s/c/kernels/envs/kernel.json", dir);
    unit_write_file(path, "{\"argv\": [\"k\"], \"env\": {\"A\": \"1\", \"N\": 5, \"LONG\": \"two words\"}}");
    snprintf(path, sizeof path, "%s/c/kernels/argv-str/kernel.json", dir);
    unit_write_file(path, "{\"argv\": \"python3 -m k\"}");
    snprintf(path, sizeof path, "%s/c/kernels/argv-num/kernel.json", dir);
    unit_write_file(path, "{\"argv\": [\"python3\", 3]}");
    struct found_kernelspec ks;
    assert_int_equal(kernelspec_find("envs", &ks, err, sizeof err), 0);
    assert_int_equal(ks.n_env, 2);
    assert_string_equal(ks.env[0], "A=1");
    assert_string_equal(ks.env[1], "LONG=two words");
    assert_null(ks.env[2]);
    kernelspec_found_free(&ks);
    assert_int_equal(kernelspec_find("argv-str", &ks, err, sizeof err), -1);
    assert_non_null(strstr(err, "argv-str/kernel.json: \"argv\" is not a non-empty array"));
    assert_int_equal(kernelspec_find("argv-num", &ks, err, sizeof err), -1);
    assert_non_null(strstr(err, "argv-num/kernel.json: \"argv\" has a non-string entry"));
    assert_int_equal(kernelspec_find("", &ks, err, sizeof err), -1);
    assert_string_equal(err, "kernelspec name \"\" is not valid");
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
        cmocka_unit_test(connection_read_accepts_what_jupyter_writes),
        cmocka_unit_test(connection_read_refuses_edges),
        cmocka_unit_test(connection_read_respells_as_ipykernel),
        cmocka_unit_test(connection_locate_as_ipykernel),
        cmocka_unit_test(connection_read_fills_in_what_is_missing),
        cmocka_unit_test(options_from_argv_and_environment),
        cmocka_unit_test(options_refuse_bad_values),
        cmocka_unit_test(options_notice_says_why_in_whole_lines),
        cmocka_unit_test(options_every_spelling_and_edge),
        cmocka_unit_test(options_notice_line_needs_room_for_its_nul),
        cmocka_unit_test(options_warning_cut_between_characters),
        cmocka_unit_test(options_keep_traitlets_settings_for_the_child),
        cmocka_unit_test(kernelspec_found_through_jupyter_path),
        cmocka_unit_test(kernelspec_data_dirs_in_jupyters_order),
        cmocka_unit_test(kernelspec_folder_without_kernel_json_is_passed_over),
        cmocka_unit_test(kernelspec_found_in_the_parent_pythons_prefix),
        cmocka_unit_test(kernelspec_python_is_jupyters_python),
        cmocka_unit_test(kernelspec_python3_is_ipykernels_own_when_none_is_installed),
        cmocka_unit_test(kernelspec_contents_read_and_refused),
        cmocka_unit_test(kernelspec_tells_ipykernel_apart),
    };
    return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
