/* test_outfile.c — the atomic writer of the programs' output files (nbformat/outfile.c):
 * commit and abort, the mode kept or 0666 & ~umask, read-only files and folders
 * refused, a symlink written through (one to nothing too), a FIFO written straight
 * into, a write error (EFBIG under RLIMIT_FSIZE) keeping the old file, and never a
 * temporary left; the temporary's name noted before the file is made (what the
 * signal handler reads); a name near NAME_MAX (the temporary's cut at a character's
 * start); the old file's extended attributes kept, and its group in a setgid folder,
 * and a folder's default ACL not added to a file that had none; an empty name or one ending in
 * '/' refused before any work, and "-" (standard output only where a command says
 * so); two names for one output told (outfile_same); the
 * temporary removed by a signal that had the program's own handler at an earlier
 * open; outfile_replace renaming only over the file read; the temporary locked until
 * its rename, and the temporaries of killed saves removed by the next save into their
 * folder, and only those (no live save's, no young one, no other file). */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <limits.h>
#include <time.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "nbformat/nbinternal.h"
#include "nbformat/outfile.h"

/* Entries of DIR other than . and .. */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n;
}

static void assert_content(const char *path, const char *want)
{
    char *got = unit_read_file(path, NULL);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_mode & 07777;
}

static void commit_writes_a_new_file_with_the_umask(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    mode_t old = umask(027);
    struct outfile o;
    nb_error err;
    assert_int_equal(outfile_open(&o, path, &err), 0);
    fprintf(o.f, "hello %d\n", 42);
    assert_int_equal(count_entries(dir), 1);       /* the temporary only */
    assert_int_equal(access(path, F_OK), -1);     /* nothing under PATH before the commit */
    assert_int_equal(outfile_commit(&o, &err), 0);
    umask(old);
    assert_content(path, "hello 42\n");
    assert_int_equal(mode_of(path), 0640);
    assert_int_equal(count_entries(dir), 1);
    outfile_abort(&o); /* after a commit: nothing */
    assert_content(path, "hello 42\n");
    unit_rm_rf(dir);
    free(dir);
}

static void commit_keeps_the_mode_abort_keeps_the_file(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    unit_write_file(path, "old\n");
    assert_int_equal(chmod(path, 0604), 0);
    struct outfile o;
    nb_error err;
    assert_int_equal(outfile_open(&o, path, &err), 0);
    fputs("new\n", o.f);
    outfile_abort(&o);
    assert_content(path, "old\n");
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(outfile_open(&o, path, &err), 0);
    fputs("new\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), 0);
    assert_content(path, "new\n");
    assert_int_equal(mode_of(path), 0604);
    assert_int_equal(count_entries(dir), 1);
    struct outfile z = {0};
    outfile_abort(&z); /* a zeroed struct: nothing */
    unit_rm_rf(dir);
    free(dir);
}

static void read_only_files_and_folders_are_refused(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512], want[600];
    snprintf(path, sizeof path, "%s/ro.txt", dir);
    unit_write_file(path, "keep\n");
    assert_int_equal(chmod(path, 0444), 0); /* refused even for root, who may write it */
    struct outfile o;
    nb_error err;
    assert_int_equal(outfile_open(&o, path, &err), -1);
    snprintf(want, sizeof want, "%s: read-only file, left untouched", path);
    assert_string_equal(err.msg, want);
    assert_null(o.f);
    outfile_abort(&o); /* after a failed open: nothing */
    assert_int_equal(outfile_check(path, &err), -1);
    assert_string_equal(err.msg, want);
    assert_content(path, "keep\n");
    assert_int_equal(outfile_open(&o, dir, &err), -1);
    snprintf(want, sizeof want, "%s: is a directory, not a file to write", dir);
    assert_string_equal(err.msg, want);
    assert_int_equal(outfile_check(dir, &err), -1);
    assert_string_equal(err.msg, want);
    assert_int_equal(count_entries(dir), 1);
    /* a folder that is not there: outfile_check says so before any work is done */
    snprintf(path, sizeof path, "%s/no-such-dir/x", dir);
    assert_int_equal(outfile_check(path, &err), -1);
    assert_non_null(strstr(err.msg, "cannot create"));
    assert_int_equal(outfile_open(&o, path, &err), -1);
    assert_non_null(strstr(err.msg, path));
    snprintf(path, sizeof path, "%s/new", dir);
    assert_int_equal(outfile_check(path, &err), 0);
    assert_int_equal(outfile_check("/dev/null", &err), 0);
    assert_int_equal(count_entries(dir), 1);
    unit_rm_rf(dir);
    free(dir);
}

/* An empty name, or one ending in '/' that is not there: refused by the check (train
 * ran the whole training, then failed at the rename with ": rename: No such file or
 * directory"), and by the open, with nothing made; nb_save_atomic (tag, fmt) too. */
static void empty_and_folder_names_are_refused_up_front(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512], want[640], cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    struct outfile o;
    nb_error err;
    assert_int_equal(outfile_check("", &err), -1);
    assert_string_equal(err.msg, "cannot create a file with an empty name");
    assert_int_equal(outfile_open(&o, "", &err), -1);
    assert_string_equal(err.msg, "cannot create a file with an empty name");
    assert_int_equal(nb_save_atomic("", "x", 1, &err), -1);
    assert_string_equal(err.msg, "cannot create a file with an empty name");
    snprintf(path, sizeof path, "%s/newdir/", dir);
    assert_int_equal(outfile_check(path, &err), -1);
    snprintf(want, sizeof want, "cannot create %s: a name that ends in '/' is a directory's, not a file's", path);
    assert_string_equal(err.msg, want);
    assert_int_equal(outfile_open(&o, path, &err), -1);
    assert_non_null(strstr(err.msg, "ends in '/'"));
    assert_int_equal(outfile_check("newdir/", &err), -1);
    assert_int_equal(count_entries(dir), 0);
    assert_int_equal(chdir(cwd), 0);
    unit_rm_rf(dir);
    free(dir);
}

/* "-" is standard output where a command takes it so (ingest -o, label -o, summary
 * --svg), which it says before calling outfile; anywhere else (train -o, eval --errors
 * and --svg, label --report and --svg) it made a file named "-", exit 0.  Refused by
 * the check and the open, with nothing made; "./-" still names that file. */
static void a_dash_is_no_file_name(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    struct outfile o;
    nb_error err;
    assert_int_equal(outfile_check("-", &err), -1);
    assert_non_null(strstr(err.msg, "standard output"));
    assert_non_null(strstr(err.msg, "./-"));
    assert_int_equal(outfile_open(&o, "-", &err), -1);
    assert_non_null(strstr(err.msg, "standard output"));
    assert_null(o.f);
    outfile_abort(&o);
    assert_int_equal(count_entries(dir), 0);
    assert_int_equal(outfile_check("./-", &err), 0);
    assert_int_equal(outfile_open(&o, "./-", &err), 0);
    fputs("x\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), 0);
    assert_content("-", "x\n");
    assert_int_equal(chdir(cwd), 0);
    unit_rm_rf(dir);
    free(dir);
}

/* Two output options naming one file: the same name, another spelling of it, a
 * symlink to it; not two names, not a device. */
static void two_names_for_one_output_are_told(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), a[512], a2[600], b[512], link[512];
    snprintf(a, sizeof a, "%s/a.svg", dir);
    snprintf(a2, sizeof a2, "%s/./a.svg", dir);
    snprintf(b, sizeof b, "%s/b.svg", dir);
    snprintf(link, sizeof link, "%s/l.svg", dir);
    assert_true(outfile_same(a, a));   /* neither there yet */
    assert_true(outfile_same(a, a2));
    assert_false(outfile_same(a, b));
    unit_write_file(a, "x");
    assert_int_equal(symlink("a.svg", link), 0);
    assert_true(outfile_same(a, link));
    assert_true(outfile_same(link, a2));
    assert_false(outfile_same(a, b));
    assert_false(outfile_same("/dev/null", "/dev/null"));
    unit_rm_rf(dir);
    free(dir);
}

static void ignore_signal(int sig) { (void)sig; }

/* A signal that ends the program removes the temporaries still open, also when it
 * had a handler of the program's own at the first open: train's, set while it trains
 * and writes its curves, then put back to the default for the model's write.  The
 * handlers were looked at once, at the first open, so a Ctrl-C during the model's
 * write left its temporary.  In a child, which the signal ends. */
static void a_signal_after_the_programs_handler_removes_the_temporary(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512];
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sigaction own = {.sa_handler = ignore_signal}, dfl = {.sa_handler = SIG_DFL};
        sigemptyset(&own.sa_mask);
        sigemptyset(&dfl.sa_mask);
        struct outfile o;
        nb_error err;
        sigaction(SIGINT, &own, NULL);     /* the program's own handler: left alone */
        snprintf(path, sizeof path, "%s/curves.csv", dir);
        if (outfile_open(&o, path, &err) || outfile_commit(&o, &err)) _exit(3);
        struct sigaction now;
        sigaction(SIGINT, NULL, &now);
        if (now.sa_handler != ignore_signal) _exit(4);
        sigaction(SIGINT, &dfl, NULL);     /* its handler gone, as train's is for the model */
        snprintf(path, sizeof path, "%s/model.nbsm", dir);
        if (outfile_open(&o, path, &err)) _exit(5);
        fputs("half a model", o.f);
        fflush(o.f);
        raise(SIGINT);
        _exit(6);                          /* not reached: the signal ends the child */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGINT);
    assert_int_equal(count_entries(dir), 1); /* curves.csv; no temporary of the model */
    snprintf(path, sizeof path, "%s/curves.csv", dir);
    assert_int_equal(access(path, F_OK), 0);
    unit_rm_rf(dir);
    free(dir);
}

static void a_symlink_is_written_through(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512], link[512];
    snprintf(path, sizeof path, "%s/real.txt", dir);
    snprintf(link, sizeof link, "%s/link.txt", dir);
    unit_write_file(path, "old\n");
    assert_int_equal(symlink("real.txt", link), 0);
    struct outfile o;
    nb_error err;
    assert_int_equal(outfile_open(&o, link, &err), 0);
    fputs("new\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_content(path, "new\n");
    assert_int_equal(count_entries(dir), 2);
    unit_rm_rf(dir);
    free(dir);
}

/* Makes DIR/c1 -> c2 -> ... -> cN -> target.nbsm (N links, the target not there). */
static void link_chain(const char *dir, int n)
{
    for (int i = 1; i <= n; i++) {
        char from[512], to[64];
        snprintf(from, sizeof from, "%s/c%d", dir, i);
        if (i < n) snprintf(to, sizeof to, "c%d", i + 1);
        else snprintf(to, sizeof to, "target.nbsm");
        assert_int_equal(symlink(to, from), 0);
    }
}

/* A chain of symlinks to nothing, as long as the kernel follows (40 links: a shell's
 * `>` and Python's open(path, "w") make the target), is written through; one more
 * link is refused, as they refuse it (ELOOP), with nothing made. */
static void a_dangling_chain_of_40_links_is_written_through(void **state)
{
    (void)state;
    nb_error err;
    struct stat st;
    char *dir = unit_make_tmpdir("outfile"), first[512], target[512];
    snprintf(first, sizeof first, "%s/c1", dir);
    snprintf(target, sizeof target, "%s/target.nbsm", dir);
    link_chain(dir, 40);
    if (nb_save_atomic(first, "forty\n", 6, &err)) fail_msg("%s", err.msg);
    assert_content(target, "forty\n");
    assert_int_equal(lstat(first, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    unit_rm_rf(dir);
    free(dir);
    dir = unit_make_tmpdir("outfile");
    snprintf(first, sizeof first, "%s/c1", dir);
    snprintf(target, sizeof target, "%s/target.nbsm", dir);
    link_chain(dir, 41);
    assert_int_equal(nb_save_atomic(first, "41\n", 3, &err), -1);
    assert_non_null(strstr(err.msg, "oo many levels of symbolic links")); /* ours or ELOOP */
    assert_int_equal(access(target, F_OK), -1);
    assert_int_equal(count_entries(dir), 41);
    unit_rm_rf(dir);
    free(dir);
}

/* A symlink to nothing is written through, as a shell's `>` writes: the file is made
 * at its target (through a chain of links), the link kept; it was replaced by a file
 * of its own.  A target whose folder is not there is refused by the check, before any
 * work, and by the open, with nothing made. */
static void a_dangling_symlink_is_written_through(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512], link[512], want[600];
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(link, sizeof link, "%s/model.nbsm", dir);
    assert_int_equal(symlink("sub/new.nbsm", link), 0);
    struct outfile o;
    nb_error err;
    assert_int_equal(outfile_check(link, &err), 0);
    assert_int_equal(outfile_open(&o, link, &err), 0);
    fputs("model\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), 0);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    snprintf(path, sizeof path, "%s/sub/new.nbsm", dir);
    assert_content(path, "model\n");
    /* a chain: link2 -> link3 -> sub/chain.nbsm */
    char link2[512], link3[512];
    snprintf(link2, sizeof link2, "%s/link2", dir);
    snprintf(link3, sizeof link3, "%s/link3", dir);
    assert_int_equal(symlink("link3", link2), 0);
    assert_int_equal(symlink("sub/chain.nbsm", link3), 0);
    assert_int_equal(nb_save_atomic(link2, "chain\n", 6, &err), 0);
    snprintf(path, sizeof path, "%s/sub/chain.nbsm", dir);
    assert_content(path, "chain\n");
    assert_int_equal(lstat(link2, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    /* a target in a folder that is not there */
    snprintf(link, sizeof link, "%s/lost.nbsm", dir);
    assert_int_equal(symlink("missing/x.nbsm", link), 0);
    snprintf(want, sizeof want, "%s: a symlink to %s/missing/x.nbsm, whose folder is not there", link, dir);
    assert_int_equal(outfile_check(link, &err), -1);
    assert_string_equal(err.msg, want);
    assert_int_equal(outfile_open(&o, link, &err), -1);
    assert_string_equal(err.msg, want);
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(count_entries(dir), 5); /* sub, model.nbsm, link2, link3, lost.nbsm */
    snprintf(path, sizeof path, "%s/sub", dir);
    assert_int_equal(count_entries(path), 2);
    unit_rm_rf(dir);
    free(dir);
}

static void a_fifo_is_written_straight_into(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512];
    snprintf(path, sizeof path, "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    int rfd = open(path, O_RDONLY | O_NONBLOCK); /* a reader, so the open for writing does not wait */
    assert_true(rfd >= 0);
    struct outfile o;
    nb_error err;
    assert_int_equal(outfile_open(&o, path, &err), 0);
    assert_null(o.tmp);
    fputs("through the fifo\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), 0);
    char buf[64] = {0};
    assert_int_equal(read(rfd, buf, sizeof buf - 1), 17);
    assert_string_equal(buf, "through the fifo\n");
    close(rfd);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISFIFO(st.st_mode));
    assert_int_equal(count_entries(dir), 1);
    /* /dev/null: written into, never replaced */
    assert_int_equal(outfile_open(&o, "/dev/null", &err), 0);
    fputs("nothing\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), 0);
    assert_int_equal(stat("/dev/null", &st), 0);
    assert_true(S_ISCHR(st.st_mode));
    unit_rm_rf(dir);
    free(dir);
}

/* A write past RLIMIT_FSIZE fails with EFBIG (SIGXFSZ ignored), as ENOSPC would. */
static void a_write_error_keeps_the_old_file(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    unit_write_file(path, "old\n");
    struct rlimit old_lim, lim = {100000, RLIM_INFINITY};
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old_lim), 0);
    if (old_lim.rlim_max != RLIM_INFINITY) lim.rlim_max = old_lim.rlim_max;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_sa;
    sigemptyset(&ign.sa_mask);
    assert_int_equal(sigaction(SIGXFSZ, &ign, &old_sa), 0);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    struct outfile o;
    nb_error err;
    assert_int_equal(outfile_open(&o, path, &err), 0);
    char line[100];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 2] = '\n';
    line[sizeof line - 1] = 0;
    for (int i = 0; i < 3000; i++) fputs(line, o.f); /* 300 KB */
    /* A failed flush drops stdio's buffer: the commit's own fflush then succeeds, and
     * errno is whatever came since; the message must still give the write's reason. */
    int flushed = fflush(o.f);
    errno = ENOENT;
    int rc = outfile_commit(&o, &err);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old_lim), 0);
    assert_int_equal(sigaction(SIGXFSZ, &old_sa, NULL), 0);
    assert_int_equal(flushed, EOF);
    assert_int_equal(rc, -1);
    char want[600];
    snprintf(want, sizeof want, "%s: write error: %s", path, strerror(EFBIG));
    assert_string_equal(err.msg, want);
    assert_content(path, "old\n");
    assert_int_equal(count_entries(dir), 1);
    unit_rm_rf(dir);
    free(dir);
}

/* What nb_save_mktemp tells its NOTE: the name's buffer before the file exists (so a
 * signal handler knows it from the moment it is made), and on failure before the buffer
 * is freed. */
static const char *noted_dir;
static char *noted_buf;
static int noted_on, noted_off, noted_entries_then;
static void note(char *tmp, int live)
{
    if (live) {
        noted_on++;
        noted_buf = tmp;
        noted_entries_then = noted_dir ? count_entries(noted_dir) : -1;
    } else {
        noted_off++;
        assert_ptr_equal(tmp, noted_buf);
    }
}

static void the_temporary_is_noted_before_it_is_made(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    char *tmp, *tdir;
    nb_error err;
    noted_dir = dir;
    int fd = nb_save_mktemp(path, path, &tmp, &tdir, note, &err);
    assert_true(fd >= 0);
    assert_int_equal(noted_on, 1);
    assert_int_equal(noted_off, 0);
    assert_int_equal(noted_entries_then, 0); /* noted while the folder was still empty */
    assert_ptr_equal(noted_buf, tmp);        /* the buffer mkostemp filled in place */
    assert_int_equal(access(tmp, F_OK), 0);
    close(fd);
    unlink(tmp);
    free(tmp);
    free(tdir);
    /* a folder that does not exist: noted, then told before the name is freed */
    snprintf(path, sizeof path, "%s/missing/out.txt", dir);
    noted_dir = NULL;
    assert_int_equal(nb_save_mktemp(path, path, &tmp, &tdir, note, &err), -1);
    assert_int_equal(noted_on, 2);
    assert_int_equal(noted_off, 1);
    assert_null(tmp);
    assert_non_null(strstr(err.msg, "cannot create a temporary file"));
    unit_rm_rf(dir);
    free(dir);
}

/* A file named NAME_MAX bytes, 2-byte characters ("é") but for its last 7 bytes:
 * ".NAME.nbstage-XXXXXX" would not fit, so NAME is cut, never inside a character. */
static void a_name_near_name_max_gets_a_shorter_temporary(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[1024], name[NAME_MAX + 1];
    size_t n = 0;
    while (n + 2 <= NAME_MAX - 7) { name[n++] = (char)0xc3; name[n++] = (char)0xa9; }
    while (n < NAME_MAX) name[n++] = 'x';
    name[n] = 0;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *tmp, *tdir;
    nb_error err;
    int fd = nb_save_mktemp(path, path, &tmp, &tdir, NULL, &err);
    assert_true(fd >= 0);
    close(fd);
    const char *base = strrchr(tmp, '/') + 1;
    size_t bl = strlen(base);
    assert_true(bl <= NAME_MAX);
    assert_int_equal(base[0], '.');
    assert_memory_equal(base + bl - 15, ".nbstage-", 9);
    size_t kept = bl - 16; /* NAME's bytes kept: whole characters, all "é" */
    assert_true(kept > 0 && kept % 2 == 0 && kept <= NAME_MAX - 16);
    assert_memory_equal(base + 1, name, kept);
    unlink(tmp);
    free(tmp);
    free(tdir);
    /* and a save under that name works */
    unit_write_file(path, "old\n");
    struct outfile o;
    assert_int_equal(outfile_open(&o, path, &err), 0);
    fputs("new\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), 0);
    assert_content(path, "new\n");
    assert_int_equal(count_entries(dir), 1);
    unit_rm_rf(dir);
    free(dir);
}

static void extended_attributes_are_kept(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    unit_write_file(path, "old\n");
    char big[3000]; /* past the stack buffer nb_save_owner tries first */
    memset(big, 'v', sizeof big);
    if (setxattr(path, "user.small", "1", 1, 0)) {
        assert_true(errno == ENOTSUP || errno == EPERM);
        unit_rm_rf(dir);
        free(dir);
        skip(); /* a filesystem without user attributes */
    }
    assert_int_equal(setxattr(path, "user.big", big, sizeof big, 0), 0);
    assert_int_equal(setxattr(path, "user.empty", "", 0, 0), 0); /* a value of 0 bytes */
    struct outfile o;
    nb_error err;
    assert_int_equal(outfile_open(&o, path, &err), 0);
    fputs("new\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), 0);
    assert_content(path, "new\n");
    char got[4000];
    assert_int_equal(getxattr(path, "user.small", got, sizeof got), 1);
    assert_memory_equal(got, "1", 1);
    assert_int_equal(getxattr(path, "user.big", got, sizeof got), (ssize_t)sizeof big);
    assert_memory_equal(got, big, sizeof big);
    assert_int_equal(nb_save_atomic(path, "newer\n", 6, &err), 0);
    assert_content(path, "newer\n");
    assert_int_equal(getxattr(path, "user.big", got, sizeof got), (ssize_t)sizeof big);
    assert_int_equal(getxattr(path, "user.empty", got, sizeof got), 0);
    unit_rm_rf(dir);
    free(dir);
}

/* A path through a file (no folder there) is refused with the system's reason. */
static void a_path_through_a_file_is_refused_with_the_reason(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512], want[600];
    snprintf(path, sizeof path, "%s/file.txt", dir);
    unit_write_file(path, "x\n");
    snprintf(path, sizeof path, "%s/file.txt/nb.ipynb", dir);
    nb_error err;
    err.msg[0] = 0;
    assert_int_equal(nb_save_atomic(path, "new\n", 4, &err), -1);
    snprintf(want, sizeof want, "%s: %s", path, strerror(ENOTDIR));
    assert_string_equal(err.msg, want);
    assert_int_equal(count_entries(dir), 1);
    unit_rm_rf(dir);
    free(dir);
}

/* A file of another owner and group (root rewriting a user's file) keeps both.  Only
 * root may give a file away: skipped otherwise. */
static void owner_and_group_are_kept(void **state)
{
    (void)state;
    if (geteuid() != 0) skip();
    char *dir = unit_make_tmpdir("outfile"), path[512];
    snprintf(path, sizeof path, "%s/theirs.ipynb", dir);
    unit_write_file(path, "old\n");
    assert_int_equal(chown(path, 4321, 4322), 0);
    nb_error err;
    assert_int_equal(nb_save_atomic(path, "new\n", 4, &err), 0);
    assert_content(path, "new\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_uid, 4321);
    assert_int_equal(st.st_gid, 4322);
    unit_rm_rf(dir);
    free(dir);
}

/* In a setgid folder a new file takes the folder's group: a rewrite must keep the old
 * file's group all the same, or the folder's group gains access to it (by tag and by
 * fmt -o alike: both save through nb_save_owner).  The folder's group is one the
 * program need not belong to, so only root can set the scene: skipped otherwise. */
static void the_group_is_kept_in_a_setgid_folder(void **state)
{
    (void)state;
    if (geteuid() != 0) skip();
    char *dir = unit_make_tmpdir("outfile"), path[512];
    snprintf(path, sizeof path, "%s/mine.ipynb", dir);
    unit_write_file(path, "old\n");
    assert_int_equal(chmod(path, 0660), 0);
    assert_int_equal(chown(dir, (uid_t)-1, 4322), 0);
    assert_int_equal(chmod(dir, 02777), 0);
    struct stat was, st;
    assert_int_equal(stat(path, &was), 0);
    assert_int_not_equal(was.st_gid, 4322);
    nb_error err;
    assert_int_equal(nb_save_atomic(path, "new\n", 4, &err), 0);
    assert_content(path, "new\n");
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_gid, was.st_gid);
    assert_int_equal(st.st_uid, was.st_uid);
    assert_int_equal(st.st_mode & 07777, 0660);
    struct outfile o;
    assert_int_equal(outfile_open(&o, path, &err), 0);
    fputs("newer\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_gid, was.st_gid);
    unit_rm_rf(dir);
    free(dir);
}

/* A POSIX ACL in its xattr form: version 2, then (tag, permissions, id) entries in
 * tag order.  Here user::rwx user:65534:rw- group::r-x mask::rwx other::r-x. */
static size_t acl_giving_65534_rw(unsigned char *buf)
{
    static const struct { unsigned tag, perm, id; } e[] = {
        {0x01, 7, 0xffffffffu}, {0x02, 6, 65534}, {0x04, 5, 0xffffffffu},
        {0x10, 7, 0xffffffffu}, {0x20, 5, 0xffffffffu}};
    size_t n = 0;
    buf[n++] = 2, buf[n++] = 0, buf[n++] = 0, buf[n++] = 0;
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++) {
        buf[n++] = (unsigned char)e[i].tag, buf[n++] = (unsigned char)(e[i].tag >> 8);
        buf[n++] = (unsigned char)e[i].perm, buf[n++] = 0;
        for (int b = 0; b < 32; b += 8) buf[n++] = (unsigned char)(e[i].id >> b);
    }
    return n;
}

/* A folder's default ACL is inherited by every new file, so by the temporary too: a
 * file that had no ACL must come back without one (the folder's would let another
 * user read a 0640 file), with its mode; a file that had one keeps its own. */
static void a_folders_default_acl_is_not_added_to_the_file(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512], withacl[512];
    snprintf(path, sizeof path, "%s/secret.ipynb", dir);
    snprintf(withacl, sizeof withacl, "%s/shared.ipynb", dir);
    unit_write_file(path, "old\n");
    unit_write_file(withacl, "old\n");
    assert_int_equal(chmod(path, 0640), 0);
    unsigned char acl[64];
    size_t acl_len = acl_giving_65534_rw(acl);
    if (setxattr(withacl, "system.posix_acl_access", acl, acl_len, 0)) {
        assert_true(errno == ENOTSUP || errno == EOPNOTSUPP);
        unit_rm_rf(dir);
        free(dir);
        skip(); /* a filesystem without POSIX ACLs */
    }
    struct stat shared_was;
    assert_int_equal(stat(withacl, &shared_was), 0);
    assert_int_equal(setxattr(dir, "system.posix_acl_default", acl, acl_len, 0), 0);
    nb_error err;
    char got[256];
    assert_int_equal(nb_save_atomic(path, "new\n", 4, &err), 0);
    assert_content(path, "new\n");
    assert_int_equal(getxattr(path, "system.posix_acl_access", got, sizeof got), -1);
    assert_int_equal(errno, ENODATA);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    struct outfile o;
    assert_int_equal(outfile_open(&o, path, &err), 0);
    fputs("newer\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), 0);
    assert_int_equal(getxattr(path, "system.posix_acl_access", got, sizeof got), -1);
    assert_int_equal(errno, ENODATA);
    /* the file with an ACL of its own keeps it, and its mode */
    assert_int_equal(nb_save_atomic(withacl, "new\n", 4, &err), 0);
    assert_int_equal(getxattr(withacl, "system.posix_acl_access", got, sizeof got), (ssize_t)acl_len);
    assert_memory_equal(got, acl, acl_len);
    assert_int_equal(stat(withacl, &st), 0);
    assert_int_equal(st.st_mode & 07777, shared_was.st_mode & 07777);
    unit_rm_rf(dir);
    free(dir);
}

/* outfile_replace (fmt's notebooks): the rename happens only while the name is still
 * the file read.  A file put in its place meanwhile, or the name pointed at another
 * file between the read and the write (a symlink swapped in a tree someone else may
 * change), is left as it is, and no temporary stays; a FIFO is refused, not written
 * into; the file read, unchanged, is replaced. */
static void a_replace_renames_only_over_the_file_read(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512], other[512], link[512], fifo[512];
    snprintf(path, sizeof path, "%s/nb.ipynb", dir);
    snprintf(other, sizeof other, "%s/other.txt", dir);
    snprintf(link, sizeof link, "%s/link.ipynb", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo.ipynb", dir);
    unit_write_file(path, "read\n");
    struct stat was;
    assert_int_equal(stat(path, &was), 0);
    nb_error err;
    struct outfile o;

    /* unchanged: replaced */
    assert_int_equal(outfile_replace(&o, path, &was, &err), 0);
    fputs("new\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), 0);
    assert_content(path, "new\n");

    /* another file renamed into its place while the new text was written: kept */
    assert_int_equal(stat(path, &was), 0);
    assert_int_equal(outfile_replace(&o, path, &was, &err), 0);
    fputs("newer\n", o.f);
    unit_write_file(other, "someone else's\n");
    assert_int_equal(rename(other, path), 0);
    assert_int_equal(outfile_commit(&o, &err), -1);
    assert_non_null(strstr(err.msg, "changed while being written, left as it is now"));
    assert_content(path, "someone else's\n");
    assert_int_equal(count_entries(dir), 1);

    /* the name read was a link to NB; it points at OTHER by the time of the write */
    assert_int_equal(stat(path, &was), 0);
    unit_write_file(other, "private\n");
    assert_int_equal(symlink(other, link), 0);
    assert_int_equal(outfile_replace(&o, link, &was, &err), 0);
    fputs("planted\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), -1);
    assert_content(other, "private\n");
    assert_content(path, "someone else's\n");
    assert_int_equal(count_entries(dir), 3);

    /* a FIFO is no notebook to rewrite: refused before any work (it would block, or
     * be written into) */
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(outfile_replace(&o, fifo, &was, &err), -1);
    assert_non_null(strstr(err.msg, "not a regular file"));
    assert_int_equal(count_entries(dir), 4);
    unit_rm_rf(dir);
    free(dir);
}

/* PATH made a regular file holding TEXT, its mtime AGE seconds ago. */
static void write_aged(const char *path, const char *text, int age)
{
    unit_write_file(path, text);
    struct timespec t[2] = {{.tv_sec = time(NULL) - age}, {.tv_sec = time(NULL) - age}};
    assert_int_equal(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW), 0);
}

/* A save killed before its rename (SIGKILL, a power cut) leaves its temporary; the
 * next save into that folder removes it: one of our names, a regular file no live
 * save holds (its flock free), untouched for a minute.  Not one a live save holds (a
 * flock of another open file, as another run's), nor a fresh one (a save between
 * its mkostemp and its flock), nor a hidden file of another name, nor a symlink or a
 * folder of our name (the symlink's target neither); and a folder is swept once in a
 * run: a leftover made there after the first save's sweep stays. */
static void a_killed_saves_temporary_is_removed_a_live_or_young_one_is_not(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512], p[8][600];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    const char *names[] = {".out.txt.nbstage-Old123", ".out.txt.nbstage-Young1", ".out.txt.nbstage-Held12",
                           ".notes.nbstage-backup1", "out.txt.nbstage-Vis123", ".lnk.nbstage-Lnk123",
                           ".dir.nbstage-Dir123", "target"};
    for (int i = 0; i < 8; i++) snprintf(p[i], sizeof p[i], "%s/%s", dir, names[i]);
    write_aged(p[0], "killed\n", 120);
    write_aged(p[1], "young\n", 5);
    write_aged(p[2], "held\n", 120);
    write_aged(p[3], "other\n", 120);
    write_aged(p[4], "visible\n", 120);
    write_aged(p[7], "target\n", 120);
    assert_int_equal(symlink("target", p[5]), 0);
    assert_int_equal(mkdir(p[6], 0700), 0);
    int held = open(p[2], O_RDONLY | O_CLOEXEC);
    assert_true(held >= 0);
    assert_int_equal(flock(held, LOCK_EX), 0);

    struct outfile o;
    nb_error err;
    assert_int_equal(outfile_open(&o, path, &err), 0);
    fputs("new\n", o.f);
    assert_int_equal(outfile_commit(&o, &err), 0);
    assert_int_equal(access(p[0], F_OK), -1);
    for (int i = 1; i < 8; i++) assert_int_equal(access(p[i], F_OK), 0);
    assert_content(p[2], "held\n");
    assert_content(p[5], "target\n");

    write_aged(p[0], "killed later\n", 120); /* the folder was swept in this run */
    assert_int_equal(outfile_open(&o, path, &err), 0);
    outfile_abort(&o);
    assert_int_equal(access(p[0], F_OK), 0);
    close(held);
    unit_rm_rf(dir);
    free(dir);
}

/* What the sweep knows a live save by: its temporary stays locked from its making to
 * its rename (or its removal), so another open of it cannot lock it. */
static void the_temporary_is_locked_until_its_rename(void **state)
{
    (void)state;
    char *dir = unit_make_tmpdir("outfile"), path[512];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    struct outfile o;
    nb_error err;
    for (int commit = 0; commit < 2; commit++) {
        assert_int_equal(outfile_open(&o, path, &err), 0);
        fputs("new\n", o.f);
        int fd = open(o.tmp, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
        assert_int_equal(errno, EWOULDBLOCK);
        /* and so the sweep passes it over, however old it looks */
        struct timespec t[2] = {{.tv_sec = time(NULL) - 600}, {.tv_sec = time(NULL) - 600}};
        assert_int_equal(futimens(fd, t), 0);
        assert_int_equal(nb_save_leftover(o.tmp, 1), 0);
        if (commit) assert_int_equal(outfile_commit(&o, &err), 0);
        else outfile_abort(&o);
        close(fd);
        assert_int_equal(count_entries(dir), commit);
    }
    unit_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(commit_writes_a_new_file_with_the_umask),
        cmocka_unit_test(commit_keeps_the_mode_abort_keeps_the_file),
        cmocka_unit_test(read_only_files_and_folders_are_refused),
        cmocka_unit_test(empty_and_folder_names_are_refused_up_front),
        cmocka_unit_test(a_dash_is_no_file_name),
        cmocka_unit_test(two_names_for_one_output_are_told),
        cmocka_unit_test(a_signal_after_the_programs_handler_removes_the_temporary),
        cmocka_unit_test(a_symlink_is_written_through),
        cmocka_unit_test(a_dangling_symlink_is_written_through),
        cmocka_unit_test(a_dangling_chain_of_40_links_is_written_through),
        cmocka_unit_test(a_fifo_is_written_straight_into),
        cmocka_unit_test(a_write_error_keeps_the_old_file),
        cmocka_unit_test(the_temporary_is_noted_before_it_is_made),
        cmocka_unit_test(a_name_near_name_max_gets_a_shorter_temporary),
        cmocka_unit_test(extended_attributes_are_kept),
        cmocka_unit_test(owner_and_group_are_kept),
        cmocka_unit_test(the_group_is_kept_in_a_setgid_folder),
        cmocka_unit_test(a_folders_default_acl_is_not_added_to_the_file),
        cmocka_unit_test(a_replace_renames_only_over_the_file_read),
        cmocka_unit_test(a_path_through_a_file_is_refused_with_the_reason),
        cmocka_unit_test(a_killed_saves_temporary_is_removed_a_live_or_young_one_is_not),
        cmocka_unit_test(the_temporary_is_locked_until_its_rename),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
