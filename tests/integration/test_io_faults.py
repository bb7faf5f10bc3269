"""test_io_faults.py — `nbstage tag` and `nbstage fmt` when a system call fails.

A full disk, a failing device or a permission lost mid-run make one call fail: the
read of a notebook, the temporary's creation, a write, its close, the rename, the
final sync.  faultinject.c (an LD_PRELOAD library, built here with the system's cc)
fails the Nth call of one function on the files of the test's folder, for every N
the run makes.  Each time the run must not crash, and must keep the promises the
README makes: every notebook is either its old bytes or exactly what a clean run
writes, no temporary is left behind, a failure is reported with the notebook's path
and the system's reason and makes the exit code 2, and a run that exits 0 has
written every notebook.  The libraries' own calls (stdio, opendir) are not seen by
the shim; the model and the rules are outside the folder and not failed.

In the sanitizer pass (the programs built under ASan+UBSan) the shim is preloaded after
ASan's runtime, which must come first in the preload list: every failure path then runs
under ASan and LeakSanitizer, and a leak on the way out is a failure.
"""
import errno
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from test_tag import BIN, SIMPLE, make_nb, model, temporaries_said  # noqa: F401  (model: a fixture)

pytestmark = [pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built"),
              pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")]

HERE = Path(__file__).resolve().parent

# function -> the errno it fails with (what that call meets on a sick system)
FAULTS = {
    "open": errno.EACCES,
    "read": errno.EIO,
    "mkostemp": errno.ENOSPC,
    "write": errno.ENOSPC,
    "fchmod": errno.EPERM,
    "close": errno.EIO,
    "fsync": errno.EIO,
    "rename": errno.EXDEV,
    "syncfs": errno.EIO,
    "unlink": errno.EIO,
}


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    out = tmp_path_factory.mktemp("shim") / "faultinject.so"
    r = subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-O1", "-shared",
                        "-fPIC", "-o", str(out), str(HERE / "faultinject.c"), "-ldl"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out


def notebooks(d: Path):
    """Three notebooks to tag, as {name: bytes}: the old bytes."""
    d.mkdir(parents=True)
    old = {}
    for i, name in enumerate(("a.ipynb", "b.ipynb", "c.ipynb")):
        text = make_nb(SIMPLE[i:] + SIMPLE[:i]).encode()
        (d / name).write_bytes(text)
        old[name] = text
    return old


def files(d: Path):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def asan_runtime():
    """The ASan runtime BIN is linked with, or None (the plain build)."""
    r = subprocess.run(["ldd", str(BIN)], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if "libasan.so" in line and "=>" in line:
            return line.split("=>")[1].split()[0]
    return None


PRELOAD_FIRST = asan_runtime()


def run(shim, d: Path, args, fn, nth, count_file, err=None):
    """BIN ARGS with the Nth call of FN under D failing (with errno ERR, else FAULTS')."""
    preload = f"{PRELOAD_FIRST}:{shim}" if PRELOAD_FIRST else str(shim)
    env = dict(os.environ, LD_PRELOAD=preload, FAULT_FN=fn, FAULT_DIR=str(d.resolve()),
               FAULT_NTH=str(nth), FAULT_ERRNO=str(FAULTS[fn] if err is None else err),
               FAULT_COUNT=str(count_file))
    return subprocess.run([str(BIN), *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=120)


def sweep(shim, tmp_path, args_for, expect_used, make=notebooks):
    """For each function: a counting run, then one run per counted call with that call
    failing; yields (fn, nth, result, folder, old bytes, clean bytes).  MAKE writes the
    notebooks into a folder."""
    clean_dir = tmp_path / "clean"
    old = make(clean_dir)
    r = subprocess.run([str(BIN), *map(str, args_for(clean_dir))], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    clean = files(clean_dir)
    assert clean != old, "the clean run writes something"
    seen_used = set()
    for fn in FAULTS:
        d = tmp_path / f"count-{fn}"
        make(d)
        count_file = tmp_path / f"count-{fn}.txt"
        r = run(shim, d, args_for(d), fn, 0, count_file)
        assert r.returncode == 0, (fn, r.stderr)
        assert files(d) == clean, f"counting {fn} changed the result"
        calls = int(count_file.read_text())
        if calls:
            seen_used.add(fn)
        for nth in range(1, calls + 1):
            d = tmp_path / f"{fn}-{nth}"
            make(d)
            r = run(shim, d, args_for(d), fn, nth, tmp_path / "ignored.txt")
            yield fn, nth, r, d, old, clean
    assert expect_used <= seen_used, f"never called on the folder: {expect_used - seen_used}"


def check(fn, nth, r, d, old, clean, reason):
    what = f"{fn} #{nth} failing ({reason}): rc {r.returncode}\n{r.stderr}"
    assert r.returncode in (0, 2), what  # never a crash (a signal is a negative code)
    now = files(d)
    temporaries = [n for n in now if n not in old]
    if fn != "unlink":  # a failed unlink of a temporary is the one way to leave it
        assert not temporaries, what
    for name in old:
        assert now[name] in (old[name], clean[name]), f"{name} cut or wrong; {what}"
    if r.returncode == 0:
        assert {n: now[n] for n in old} == clean, f"exit 0 but not every notebook written; {what}"
        assert reason not in r.stderr, what
    else:
        assert reason in r.stderr, f"the reason is not said; {what}"
        assert str(d.resolve()) in r.stderr or str(d) in r.stderr, f"no path named; {what}"


@pytest.mark.parametrize("jobs", [1, 2])
def test_tag_in_place_survives_each_failing_call(shim, model, tmp_path, jobs):
    """`nbstage tag -j N FOLDER`: every notebook old or new, reasons and paths said.
    With two workers, which notebook's call is the Nth is the scheduler's choice, and
    the same must hold."""
    failures = 0
    for fn, nth, r, d, old, clean in sweep(
            shim, tmp_path, lambda d: ["tag", "-q", "-m", model, "-j", jobs, d],
            expect_used={"open", "read", "mkostemp", "write", "fchmod", "close", "rename",
                         "syncfs"}):
        check(fn, nth, r, d, old, clean, os.strerror(FAULTS[fn]))
        if fn in ("read", "mkostemp", "write", "fchmod", "rename", "syncfs"):
            assert r.returncode == 2, (fn, nth, r.stderr)  # none of these is ignorable
        if r.returncode == 2:
            failures += 1
            if fn != "syncfs":
                # one notebook failed, the others were still tagged
                now = files(d)
                assert sum(now[n] == clean[n] for n in old) >= 2, (fn, nth, r.stderr)
                assert "1 failed" in r.stderr, (fn, nth, r.stderr)
    assert failures > 10


def check_single_output(fn, nth, r, d, old, clean, out, not_ignorable):
    """A run that writes one new file OUT in D (and leaves the inputs alone): OUT is
    absent or complete, complete when the exit code is 0; a failure of one of
    NOT_IGNORABLE is an error (exit 2) that names its reason.  The save is synced when
    it succeeds: the data's fsync (#1) and, after the rename, the folder's (#2)."""
    what = f"{fn} #{nth}: rc {r.returncode}\n{r.stderr}"
    assert r.returncode in (0, 2), what
    now = files(d)
    for name in old:
        assert now[name] == old[name], f"the input changed; {what}"
    if fn != "unlink":
        assert set(now) - set(old) <= {out}, what
    if out in now:
        assert now[out] == clean[out], f"{out} cut; {what}"
    if r.returncode == 0:
        assert out in now, what
    else:
        assert os.strerror(FAULTS[fn]) in r.stderr, what
    if fn in not_ignorable:
        assert r.returncode == 2, what
    if fn == "fsync" and nth == 2:
        assert out in now and "may not be on disk" in r.stderr, what


def test_tag_to_a_file_survives_each_failing_call(shim, model, tmp_path):
    """`nbstage tag -o OUT IN`: a single save."""
    def args(d):
        return ["tag", "-q", "-m", model, "-o", d / "out.ipynb", d / "a.ipynb"]
    for fn, nth, r, d, old, clean in sweep(
            shim, tmp_path, args, expect_used={"open", "read", "mkostemp", "write", "close",
                                               "fsync", "rename"}):
        check_single_output(fn, nth, r, d, old, clean, "out.ipynb",
                            {"read", "mkostemp", "write", "fchmod", "fsync", "rename"})


def test_an_output_file_survives_each_failing_call(shim, tmp_path):
    """`nbstage ingest -o OUT FOLDER` writes its lines through stdio into a temporary
    (nbformat/outfile.c, shared by label, train, eval and classify's outputs).  The
    notebook is opened with open() (nb_open_regular), not stdio, so its open is failed
    too: ingest then skips it as a bad notebook, says why, and writes the cells of the
    notebooks it read (none), exit 2."""
    def args(d):
        return ["ingest", "-q", "-o", d / "cells.jsonl", d]

    def one_notebook(d):
        old = notebooks(d)
        for name in ("b.ipynb", "c.ipynb"):
            (d / name).unlink()
        return {"a.ipynb": old["a.ipynb"]}
    for fn, nth, r, d, old, clean in sweep(
            shim, tmp_path, args, make=one_notebook,
            expect_used={"open", "mkostemp", "fchmod", "fsync", "rename"}):
        if fn == "open" and f"bad notebook skipped: {d / 'a.ipynb'}: " in r.stderr:
            assert r.returncode == 2 and os.strerror(FAULTS[fn]) in r.stderr, r.stderr
            assert files(d) == {**old, "cells.jsonl": b""}, r.stderr
            continue
        check_single_output(fn, nth, r, d, old, clean, "cells.jsonl",
                            {"mkostemp", "fchmod", "fsync", "rename"})


def test_a_failing_fcntl_after_the_open_is_said(shim, tmp_path):
    """Every file a user names is opened without waiting (O_NONBLOCK: a FIFO), then made
    blocking again, F_GETFL then F_SETFL (nb_open_input).  Either failing, the file is
    not read and the reason is said as for an open that fails, exit 2: a notebook fmt
    reads (left as it was), and the rules file label reads (through nb_fopen_input).
    Not in the sweeps above: neither call fails but on a descriptor gone, and each
    fcntl run would cost a whole run per notebook."""
    cells = tmp_path / "cells.jsonl"
    cells.write_text('{"id": "a#0", "source": "df = pd.read_csv(p)"}\n')
    why = os.strerror(errno.EBADF)
    for nth in (1, 2):  # F_GETFL, F_SETFL
        d = tmp_path / f"fcntl-{nth}"
        old = notebooks(d)
        (d / "rules.txt").write_text("rule own load\n  any read_csv\n")
        r = run(shim, d, ["fmt", d / "a.ipynb"], "fcntl", nth, tmp_path / "ignored.txt", errno.EBADF)
        assert r.returncode == 2 and r.stderr == f"nbstage fmt: {d / 'a.ipynb'}: {why}\n", (nth, r.stderr)
        assert (d / "a.ipynb").read_bytes() == old["a.ipynb"]
        r = run(shim, d, ["label", "-q", "--rules", d / "rules.txt", cells], "fcntl", nth, tmp_path / "ignored.txt",
                errno.EBADF)
        assert r.returncode == 2 and f"{d / 'rules.txt'}: {why}\n" in r.stderr, (nth, r.stderr)
        assert r.stdout == "", r.stdout


def test_fmt_survives_each_failing_call(shim, tmp_path):
    """`nbstage fmt FILE...` rewrites in nbformat's layout, in place: given notebooks
    with CRLF line ends, which it changes."""
    def crlf(d):
        old = notebooks(d)
        for name, text in old.items():
            (d / name).write_bytes(text.replace(b"\n", b"\r\n"))
        return files(d)

    def args(d):
        return ["fmt", *(d / n for n in ("a.ipynb", "b.ipynb", "c.ipynb"))]
    for fn, nth, r, d, old, clean in sweep(
            shim, tmp_path, args, make=crlf,
            expect_used={"open", "mkostemp", "write", "rename"}):  # it reads by stdio
        check(fn, nth, r, d, old, clean, os.strerror(FAULTS[fn]))


def stopped_at(shim, d: Path, args, fn):
    """BIN ARGS, stopped (SIGSTOP, faultinject's FAULT_STOP) at its first call of FN on
    D's files, before it: the Popen, its stderr a pipe."""
    preload = f"{PRELOAD_FIRST}:{shim}" if PRELOAD_FIRST else str(shim)
    env = dict(os.environ, LD_PRELOAD=preload, FAULT_FN=fn, FAULT_DIR=str(d.resolve()), FAULT_NTH="1",
               FAULT_STOP="1")
    p = subprocess.Popen([str(BIN), *map(str, args)], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (status := os.waitpid(p.pid, os.WUNTRACED | os.WNOHANG))[0]:
        assert time.monotonic() < deadline, f"not at its {fn} in time"
        time.sleep(0.01)
    assert os.WIFSTOPPED(status[1]), f"ended before its {fn}: {status[1]}; {p.stderr.read()}"
    return p


def aged(path: Path, text=None):
    """PATH (written with TEXT first, if given) untouched for ten minutes."""
    if text is not None:
        path.write_text(text)
    os.utime(path, (time.time() - 600, time.time() - 600))
    return path


def killed_save_cleaned(shim, d: Path, writer_args, name, later_args, last_args, env=None):
    """A save of D/NAME stopped at its rename (the temporary whole, the old file in
    place) is a live one: a save into D by another run (LATER_ARGS, which writes there)
    removes a killed save's temporary (an old one that no one holds) but neither that
    live one, though as old, nor a fresh one; once the writer is killed (SIGKILL), the
    old file is still there byte for byte, its temporary too, and the next run that
    writes there (LAST_ARGS) removes it, each removal said in one line on stderr.
    D/NAME may be missing (a first write): it stays so."""
    def now():
        return (d / name).read_bytes() if (d / name).exists() else None
    old = now()
    writer = stopped_at(shim, d, writer_args, "rename")
    try:
        (tmp,) = [p for p in d.iterdir() if p.name.startswith(f".{name}.nbstage-")]
        aged(tmp)
        killed = aged(d / f".{name}.nbstage-Kill01", "part of a file")
        young = d / f".{name}.nbstage-Young1"
        young.write_text("fresh")
        r = subprocess.run([str(BIN), *map(str, later_args)], capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, r.stderr
        removed = temporaries_said(r.stderr)
        assert removed == [f"nbstage {later_args[0]}: {killed}: removed, a temporary file left by a save that "
                           "was killed"], r.stderr
        assert tmp.exists() and young.exists() and not killed.exists()
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=60)
    assert writer.returncode == -signal.SIGKILL
    assert now() == old and tmp.exists()  # a kill leaves the file old, and its temporary
    aged(tmp)
    r = subprocess.run([str(BIN), *map(str, last_args)], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    removed = temporaries_said(r.stderr)
    assert removed == [f"nbstage {last_args[0]}: {tmp}: removed, a temporary file left by a save that was "
                       "killed"], r.stderr
    assert not tmp.exists() and young.exists()


def test_a_killed_tag_or_fmt_leaves_a_temporary_the_next_save_removes(shim, model, tmp_path):  # noqa: F811
    """A SIGKILL (or the OOM killer, a power cut) mid-save leaves its hidden temporary
    (nothing can remove it then); they piled up.  The save holds an exclusive flock on
    its temporary from its making to its rename, through the close before the rename
    (tag's nb_save_atomic_if, fmt's outfile), and the next save into its folder removes
    those no one holds, untouched for a minute.  tag: a file argument (the save's own
    sweep), then a folder walked; fmt likewise."""
    d = tmp_path / "tag"
    notebooks(d)
    killed_save_cleaned(shim, d, ["tag", "--model", model, d / "a.ipynb"], "a.ipynb",
                        ["tag", "-q", "--model", model, d / "b.ipynb"], ["tag", "-q", "--model", model, d])
    d = tmp_path / "fmt"
    for name, text in notebooks(d).items():
        (d / name).write_bytes(text.replace(b"\n", b"\r\n"))  # for fmt to rewrite
    killed_save_cleaned(shim, d, ["fmt", d / "a.ipynb"], "a.ipynb", ["fmt", d / "b.ipynb"], ["fmt", d])


def spec_files(d: Path):
    """The files under D's kernelspec folders, as {relative path: bytes}."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_install_kernel_survives_each_failing_call(shim, tmp_path):
    """`nbstage install-kernel --prefix P` over an older install of it: kernel.json and
    the logos are written as temporaries, fsynced, renamed, and the folder synced.
    Whatever call fails, kernel.json is the old file or the new one, never cut; no
    temporary is left; exit 0 means the new spec is in place, exit 2 says the reason."""
    env0 = dict(os.environ, HOME=str(tmp_path / "home"))
    (tmp_path / "home").mkdir()

    def install(d, display, extra_env=None):
        return subprocess.run([str(BIN), "install-kernel", "--prefix", str(d / "p"),
                               "--display-name", display], capture_output=True, text=True,
                              timeout=60, env=dict(env0, **(extra_env or {})))

    def old_install(d):
        d.mkdir(parents=True)
        r = install(d, "old name")
        assert r.returncode == 0, r.stderr
        return spec_files(d)

    spec = "p/share/jupyter/kernels/nbstage/kernel.json"
    clean_dir = tmp_path / "clean"
    old = old_install(clean_dir)
    assert install(clean_dir, "new name").returncode == 0
    clean = spec_files(clean_dir)
    assert clean[spec] != old[spec] and set(clean) == set(old)
    seen = set()
    preload = f"{PRELOAD_FIRST}:{shim}" if PRELOAD_FIRST else str(shim)

    def fault(fn, d, nth, count_file):
        return dict(LD_PRELOAD=preload, FAULT_FN=fn, FAULT_DIR=str(d.resolve()),
                    FAULT_ERRNO=str(FAULTS[fn]), FAULT_NTH=str(nth), FAULT_COUNT=str(count_file))
    for fn in ("open", "mkostemp", "write", "fchmod", "close", "fsync", "rename", "unlink"):
        d = tmp_path / f"count-{fn}"
        old_install(d)
        count_file = tmp_path / f"count-{fn}.txt"
        r = install(d, "new name", fault(fn, d, 0, count_file))
        assert r.returncode == 0 and spec_files(d) == clean, (fn, r.stderr)
        calls = int(count_file.read_text())
        seen.add(fn) if calls else None
        for nth in range(1, calls + 1):
            d = tmp_path / f"{fn}-{nth}"
            old_install(d)
            r = install(d, "new name", fault(fn, d, nth, tmp_path / "ignored.txt"))
            what = f"{fn} #{nth}: rc {r.returncode}\n{r.stderr}"
            assert r.returncode in (0, 2), what
            now = spec_files(d)
            assert now[spec] in (old[spec], clean[spec]), f"kernel.json cut; {what}"
            if fn != "unlink":  # a failed unlink of a temporary is the one way to leave one
                assert set(now) == set(old), f"a temporary left, or a file lost; {what}"
            if r.returncode == 0:
                assert now[spec] == clean[spec], what
            else:
                assert os.strerror(FAULTS[fn]) in r.stderr, what
            if fn in ("mkostemp", "write", "fsync", "rename"):
                assert r.returncode == 2, what
    assert {"mkostemp", "write", "fsync", "rename"} <= seen, seen


@pytest.mark.plain_build_only  # ASan reserves terabytes of address space: no limit fits it
def test_every_program_runs_under_an_address_space_limit(tmp_path, model):  # noqa: F811
    """Under `ulimit -v` (a batch scheduler's h_vmem) every program hung at 100% CPU
    before doing anything, even `--help`: Debian's OpenBLAS starts a worker thread per
    core before main, each allocates a 128 MB buffer, one that cannot retries for ever,
    and the program waits for it to stop (blas_threads_stop, or the library's own exit).
    Under such a limit the programs now run again with OPENBLAS_NUM_THREADS=1 (no
    worker; nothing multiplies in parallel through OpenBLAS)."""
    import resource
    limit = 150 << 20

    def limited():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    d = tmp_path / "nbs"
    d.mkdir()
    (d / "a.ipynb").write_text(make_nb(SIMPLE))
    env = dict(os.environ, NBSTAGE_MODEL=str(model))
    env.pop("OPENBLAS_NUM_THREADS", None)
    for args in (["tag", "-q", str(d)], ["fmt", "--check", str(d)], ["summary", str(d)], ["--help"]):
        r = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120, env=env,
                           preexec_fn=limited)
        assert r.returncode == 0, (args, r.stderr)
    assert "stage:" in (d / "a.ipynb").read_text()
    r = subprocess.run([BIN.parent / "nbstage-kernel", "--help"], capture_output=True, text=True, timeout=120,
                       env=env, preexec_fn=limited)
    assert r.returncode == 0 and "usage" in r.stdout.lower(), r.stderr
