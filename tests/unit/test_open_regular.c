/* test_open_regular.c — nb_open_regular (nbformat/notebook.h), the one way a notebook
 * is opened for reading: a FIFO no one writes to refused at once, not waited on (in a
 * child given seconds, so that a blocking open() fails the test instead of hanging
 * it); a regular file and a symlink to one opened blocking, close-on-exec, with their
 * stat; a folder, /dev/null (a device) and a socket refused as the walk refuses them;
 * a missing file, a dangling symlink and a permission said with their reasons; no
 * descriptor left open by a refusal.  And nb_fopen_input, the same as a stdio stream
 * for every other file a user names (the model, the rules, the JSON Lines inputs):
 * the FIFO refused at once, a folder named with what it is not, the reason of a
 * missing file alone, as a notebook's ("cannot open: " before it made the JSON Lines
 * readers word it otherwise than the walkers), and its errno kept. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "nbformat/notebook.h"

static char *dir; /* the tests' folder (setup) */

static int setup(void **state)
{
    (void)state;
    dir = unit_make_tmpdir("open-regular");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unit_rm_rf(dir);
    free(dir);
    return 0;
}

/* DIR/NAME (a static buffer per slot: two at once). */
static const char *in_dir(const char *name)
{
    static char path[2][512];
    static int k;
    k ^= 1;
    snprintf(path[k], sizeof path[k], "%s/%s", dir, name);
    return path[k];
}

/* nb_open_regular(PATH) is -2 with "not a regular file" and leaves no descriptor
 * open: 0, else which of these failed (run in a child: it may never return). */
static int refused_as_not_regular(void *path)
{
    char why[256];
    struct stat st;
    int before = unit_open_fds();
    int fd = nb_open_regular(path, &st, why, sizeof why);
    if (fd != -2) return 1;
    if (strcmp(why, "not a regular file")) return 2;
    if (unit_open_fds() != before) return 3;
    return 0;
}

static void a_fifo_no_one_writes_to_is_refused_at_once(void **state)
{
    (void)state;
    const char *fifo = in_dir("f.ipynb");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    /* the old blocking open() never returned: -1, the child killed after 5 s */
    assert_int_equal(unit_child_within(5, refused_as_not_regular, (void *)fifo), 0);
    /* and through a symlink to it, as a folder's link.ipynb would be */
    const char *link = in_dir("link.ipynb");
    assert_int_equal(symlink(fifo, link), 0);
    assert_int_equal(unit_child_within(5, refused_as_not_regular, (void *)link), 0);
}

/* FD is open for reading, blocking (O_NONBLOCK cleared), close-on-exec, and holds
 * TEXT; closed. */
static void reads_blocking(int fd, const char *text)
{
    assert_true(fd >= 0);
    int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
    assert_true(fl >= 0 && fdfl >= 0);
    assert_int_equal(fl & O_NONBLOCK, 0);
    assert_int_equal(fl & O_ACCMODE, O_RDONLY);
    assert_true(fdfl & FD_CLOEXEC);
    char buf[64] = {0};
    assert_int_equal(read(fd, buf, sizeof buf - 1), (ssize_t)strlen(text));
    assert_string_equal(buf, text);
    assert_int_equal(close(fd), 0);
}

static void a_regular_file_and_a_symlink_to_one_are_opened(void **state)
{
    (void)state;
    const char *path = in_dir("a.ipynb"), *link = in_dir("to-a.ipynb");
    unit_write_file(path, "{\"cells\": []}");
    assert_int_equal(symlink("a.ipynb", link), 0);
    char why[256] = "";
    struct stat st, want;
    assert_int_equal(stat(path, &want), 0);
    int fd = nb_open_regular(path, &st, why, sizeof why);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_ino, want.st_ino);
    assert_int_equal(st.st_size, 13);
    reads_blocking(fd, "{\"cells\": []}");
    memset(&st, 0, sizeof st);
    fd = nb_open_regular(link, &st, why, sizeof why);
    assert_int_equal(st.st_ino, want.st_ino); /* the target's, as the walk's stat */
    reads_blocking(fd, "{\"cells\": []}");
    assert_string_equal(why, ""); /* WHY untouched when opened */
}

static void a_folder_a_device_and_a_socket_are_refused(void **state)
{
    (void)state;
    char why[256];
    struct stat st;
    int before = unit_open_fds();
    assert_int_equal(nb_open_regular(dir, &st, why, sizeof why), -2);
    assert_string_equal(why, "is a directory, not a notebook"); /* as tag, fmt and summary said it */
    /* /dev/null, a character device: no notebook, as the walk says when named
     * directly ("not a regular file or folder") or in a folder */
    assert_int_equal(nb_open_regular("/dev/null", &st, why, sizeof why), -2);
    assert_string_equal(why, "not a regular file");
    /* a socket cannot be opened at all (ENXIO): said as what it is */
    const char *sock_path = in_dir("s.ipynb");
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(sock >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "%s", sock_path);
    assert_int_equal(bind(sock, (struct sockaddr *)&addr, sizeof addr), 0);
    assert_int_equal(nb_open_regular(sock_path, &st, why, sizeof why), -2);
    assert_string_equal(why, "not a regular file");
    close(sock);
    assert_int_equal(unit_open_fds(), before);
}

static void what_cannot_be_opened_says_why(void **state)
{
    (void)state;
    char why[256];
    struct stat st;
    assert_int_equal(nb_open_regular(in_dir("missing.ipynb"), &st, why, sizeof why), -1);
    assert_string_equal(why, strerror(ENOENT));
    const char *dangling = in_dir("dangling.ipynb");
    assert_int_equal(symlink("gone.ipynb", dangling), 0);
    assert_int_equal(nb_open_regular(dangling, &st, why, sizeof why), -1);
    assert_non_null(strstr(why, "dangling symlink")); /* nb_path_strerror's words */
    if (geteuid() != 0) { /* root reads a mode 000 file */
        const char *locked = in_dir("locked.ipynb");
        unit_write_file(locked, "{}");
        assert_int_equal(chmod(locked, 0), 0);
        assert_int_equal(nb_open_regular(locked, &st, why, sizeof why), -1);
        assert_string_equal(why, strerror(EACCES));
    }
    /* a reason longer than WHY is cut, still NUL-terminated */
    char small[8];
    assert_int_equal(nb_open_regular(dir, &st, small, sizeof small), -2);
    assert_string_equal(small, "is a di");
}

/* nb_fopen_input(PATH) is NULL with "not a regular file" and leaves no descriptor
 * open: 0, else which of these failed (run in a child: it may never return). */
static int stream_refused_as_not_regular(void *path)
{
    char why[256];
    int before = unit_open_fds();
    errno = ENOENT; /* a stale one: the connection file would be taken as missing */
    FILE *f = nb_fopen_input(path, "a rules file", why, sizeof why);
    if (f) return 1;
    if (strcmp(why, "not a regular file")) return 2;
    if (unit_open_fds() != before) return 3;
    if (errno != ENXIO) return 4;
    return 0;
}

static void every_input_is_opened_so(void **state)
{
    (void)state;
    const char *fifo = in_dir("rules-fifo.txt");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    /* fopen() never returned: -1, the child killed after 5 s */
    assert_int_equal(unit_child_within(5, stream_refused_as_not_regular, (void *)fifo), 0);
    char why[256];
    int before = unit_open_fds();
    assert_null(nb_fopen_input(dir, "a rules file", why, sizeof why));
    assert_string_equal(why, "is a directory, not a rules file");
    assert_int_equal(errno, EISDIR);
    errno = 0;
    assert_null(nb_fopen_input(in_dir("missing.txt"), "a rules file", why, sizeof why));
    assert_int_equal(errno, ENOENT); /* the connection file's test for "none yet" */
    char want[128];
    snprintf(want, sizeof want, "%s", strerror(ENOENT));
    assert_string_equal(why, want);
    assert_int_equal(unit_open_fds(), before);
    const char *path = in_dir("rules.txt");
    unit_write_file(path, "rule r load\n");
    FILE *f = nb_fopen_input(path, "a rules file", why, sizeof why);
    assert_non_null(f);
    reads_blocking(fcntl(fileno(f), F_DUPFD_CLOEXEC, 0), "rule r load\n"); /* as the stream has it */
    assert_int_equal(fclose(f), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_fifo_no_one_writes_to_is_refused_at_once),
        cmocka_unit_test(a_regular_file_and_a_symlink_to_one_are_opened),
        cmocka_unit_test(a_folder_a_device_and_a_socket_are_refused),
        cmocka_unit_test(what_cannot_be_opened_says_why),
        cmocka_unit_test(every_input_is_opened_so),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
