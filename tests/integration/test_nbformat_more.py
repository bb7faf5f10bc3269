"""test_nbformat_more.py — the nbformat library and the two commands on it (ingest, fmt)
as a user with a messy folder of notebooks meets them: broken symlinks, hidden files
(editors' locks, macOS' ._ files), notebooks Python reads that cannot be written back,
names that give one id, empty files and folders, a file saved while fmt ran, repeated
cell ids, control characters in names, and the like.  Python's json and Debian's
nbformat are the reference."""
import json
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from lost_stdout import LOST_STDOUT, run_lost_stdout

# model: test_tag.py's fixture (for tag), asked for by name
from test_tag import as_nobody, model, nbstage, skip_unless_nobody_can_run  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT)) / "nbstage"


def notebook(*sources, minor=4, metadata=None):
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": s} for s in sources]
    return {"cells": cells, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": minor}


def run(*args, **kw):
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, **kw)


def test_ingest_skips_a_dangling_notebook_symlink_and_writes_the_rest(tmp_path):
    """A broken symlink named *.ipynb (a notebook moved away) or a symlink loop is a bad
    notebook like an unreadable one: listed with its reason, skipped, the other
    notebooks' lines written (exit 2, as for any notebook that cannot be read).  It was
    an I/O error with no -o file."""
    d = tmp_path / "nbs"
    (d / "sub").mkdir(parents=True)
    (d / "a.ipynb").write_text(json.dumps(notebook("x = 1")))
    (d / "sub" / "b.ipynb").write_text(json.dumps(notebook("y = 2")))
    (d / "sub" / "moved.ipynb").symlink_to("gone.ipynb")
    (d / "loop.ipynb").symlink_to("loop.ipynb")
    out = tmp_path / "cells.jsonl"
    r = run("ingest", "-o", out, d)
    assert r.returncode == 2, r.stderr
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert ids == ["a.ipynb#0", "sub/b.ipynb#0"]
    assert f"bad notebook skipped: {d}/sub/moved.ipynb: dangling symlink (its target gone.ipynb does not exist)" in r.stderr
    assert f"bad notebook skipped: {d}/loop.ipynb: Too many levels" in r.stderr
    assert "2 notebooks in 2 groups" in r.stderr and "2 bad" in r.stderr
    # the PATH itself missing is still a usage error
    r = run("ingest", "-o", out, tmp_path / "missing")
    assert r.returncode == 2


def test_ingest_writes_the_readable_notebooks_and_exits_2_for_the_others(tmp_path):
    """A crawl with broken files: ingest exited 0 after skipping them, where tag, summary
    and fmt exit 2 for a notebook they could not read.  It now exits 2 too, after
    writing every readable notebook's cells (-o committed, stdout alike), each bad one
    named with its path and reason and the count said last, with -q too.  A PATH that
    does not exist still leaves -o's old file (most often a typo)."""
    d = tmp_path / "crawl"
    (d / "u").mkdir(parents=True)
    (d / "a.ipynb").write_text(json.dumps(notebook("x = 1")))
    (d / "u" / "b.ipynb").write_text(json.dumps(notebook("y = 2", "z = 3")))
    (d / "cut.ipynb").write_text(json.dumps(notebook("w = 4"))[:40])
    (d / "u" / "empty.ipynb").write_text("")
    out = tmp_path / "cells.jsonl"
    for quiet in ([], ["-q"]):
        out.write_text("old\n")
        r = run("ingest", *quiet, "-o", out, d)
        assert r.returncode == 2, r.stderr
        assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == \
            ["a.ipynb#0", "u/b.ipynb#0", "u/b.ipynb#1"]
        assert re.search(rf"^nbstage ingest: bad notebook skipped: {re.escape(str(d))}/cut\.ipynb:1:\d+: .+$", r.stderr, re.M), r.stderr
        assert f"ingest: bad notebook skipped: {d}/u/empty.ipynb: empty file\n" in r.stderr, r.stderr
        assert r.stderr.endswith(f"nbstage ingest: 2 notebooks could not be read (named above); "
                                 f"the cells of the 2 notebooks read are written to {out}\n"), r.stderr
        assert (" 2 bad" in r.stderr) == (not quiet), r.stderr
    r = run("ingest", "-q", d)  # stdout: the same lines, the same exit
    assert r.returncode == 2 and len(r.stdout.splitlines()) == 3, r
    assert r.stderr.endswith("the cells of the 2 notebooks read are written\n"), r.stderr
    out.write_text("old\n")
    r = run("ingest", "-q", "-o", out, d, tmp_path / "typo")
    assert r.returncode == 2 and out.read_text() == "old\n", r.stderr
    assert f"nbstage ingest: {tmp_path}/typo: No such file or directory" in r.stderr
    # only readable notebooks: exit 0, nothing more said
    r = run("ingest", "-q", "-o", out, d / "a.ipynb", d / "u" / "b.ipynb")
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_ingest_names_a_folder_it_cannot_read_and_writes_the_rest(tmp_path):
    """A folder of the crawl that cannot be read (another user's, mode 700) is input
    not read, as a bad notebook is: named with its reason, the rest written, exit 2.
    It stopped the run: no -o file."""
    skip_unless_nobody_can_run()
    d = Path(tempfile.mkdtemp(prefix="nbstage-ingest-perm-"))
    try:
        d.chmod(0o777)
        (d / "a.ipynb").write_text(json.dumps(notebook("x = 1")))
        (d / "a.ipynb").chmod(0o644)
        (d / "private").mkdir()
        (d / "private" / "p.ipynb").write_text(json.dumps(notebook("y = 2")))
        (d / "private").chmod(0o700)
        out = d / "cells.jsonl"
        r = run("ingest", "-q", "-o", out, d, **as_nobody())
        assert r.returncode == 2, r.stderr
        assert f"nbstage ingest: {d}/private: Permission denied\n" in r.stderr, r.stderr
        assert r.stderr.endswith(f"nbstage ingest: 1 folder could not be read (named above); the cells "
                                 f"of the 1 notebook read are written to {out}\n"), r.stderr
        assert [json.loads(x)["id"] for x in out.read_text().splitlines()] == ["a.ipynb#0"]
    finally:
        subprocess.run(["rm", "-rf", str(d)])


def test_ingest_reads_what_python_reads_but_cannot_be_written_back(tmp_path):
    """NaN and Infinity (Python's json writes them: a DataFrame's NaN in an output's
    application/json, a widget's state), integers beyond 64 bits, 1e400 and lone
    surrogate escapes are legal for Python's json and nbformat.read, so ingest, which
    writes nothing back, reads such notebooks (fmt and tag still refuse them: they could
    not be written back exactly).  Each was 'bad notebook skipped'."""
    import nbformat
    out = ('{"output_type": "execute_result", "execution_count": 1, "metadata": {},'
           ' "data": {"application/json": {"a": NaN, "b": [Infinity, -Infinity]},'
           ' "text/plain": "x"}}')
    texts = {
        "nan.ipynb": '{"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {},'
                     ' "outputs": [%s], "source": "df.describe()"}], "metadata": {},'
                     ' "nbformat": 4, "nbformat_minor": 4}' % out,
        "big.ipynb": '{"cells": [{"cell_type": "code", "execution_count": 2, "metadata":'
                     ' {"n": 123456789012345678901234567890, "r": 1e400, "s": -2e999},'
                     ' "outputs": [], "source": ["x = 1\\n", "y = 2"]}], "metadata": {},'
                     ' "nbformat": 4, "nbformat_minor": 4}',
        "surrogate.ipynb": '{"cells": [{"cell_type": "code", "execution_count": null,'
                           ' "metadata": {"m": "\\udc00 \\ud83d\\ude00"}, "outputs": [],'
                           ' "source": "s = \'\\ud800\'"}], "metadata": {"k": "\\ud83d"},'
                           ' "nbformat": 4, "nbformat_minor": 4}',
    }
    for name, text in texts.items():
        (tmp_path / name).write_text(text)
        nb = nbformat.reads(text, as_version=nbformat.NO_CONVERT)  # Python reads it
        assert nb.cells[0].cell_type == "code"
    r = run("ingest", tmp_path)
    assert r.returncode == 0, r.stderr
    assert " 0 bad" in r.stderr, r.stderr
    got = {d["id"]: (d["source"], d["execution_count"])
           for d in map(json.loads, r.stdout.splitlines())}
    assert got == {"big.ipynb#0": ("x = 1\ny = 2", 2), "nan.ipynb#0": ("df.describe()", 1),
                   "surrogate.ipynb#0": ("s = '\ufffd'", None)}
    for name in texts:  # fmt still refuses to rewrite them, with the reason
        r = run("fmt", "--check", tmp_path / name)
        assert r.returncode == 2 and name in r.stderr


def test_ingest_refuses_two_names_that_give_one_id(tmp_path):
    """A file name is bytes and an id is UTF-8 text: each byte that is not UTF-8 becomes
    U+FFFD, so caf\\xe9.ipynb and caf\\xe8.ipynb (Latin-1 names from an old archive)
    both gave the id 'caf\\ufffd.ipynb#0', twice in the output without a word, and
    label and train join cells by id.  Now the run stops as for two PATHs sharing ids.
    (Ids are now written losslessly, caf\\udce9.ipynb#0, but label, train, eval and
    classify read them with jansson, which holds UTF-8 only: U+FFFD to them, so the
    two still collide there.)"""
    d = tmp_path / "nbs"
    d.mkdir()
    text = json.dumps(notebook("x = 1"))
    for name in (b"caf\xe9.ipynb", b"caf\xe8.ipynb", b"ok.ipynb"):
        Path(os.fsdecode(os.fsencode(d) + b"/" + name)).write_text(text)
    r = subprocess.run([str(BIN), "ingest", "-o", str(tmp_path / "c.jsonl"), str(d)],
                       capture_output=True)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 2, err
    assert "both give the id caf\ufffd.ipynb#k (a file name that is not UTF-8)" in err
    assert "rename these notebooks" in err
    assert not (tmp_path / "c.jsonl").exists()
    # one such name alone is fine: its id has \udce8, the byte as os.fsdecode has it
    Path(os.fsdecode(os.fsencode(d) + b"/caf\xe8.ipynb")).unlink()
    r = run("ingest", d)
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["id"] for x in r.stdout.splitlines()] == ["caf\udce9.ipynb#0", "ok.ipynb#0"]


def test_hidden_files_are_skipped_like_hidden_folders(tmp_path):
    """Emacs, editing a.ipynb, leaves a lock: a dangling symlink .#a.ipynb; a folder
    copied from macOS has AppleDouble files ._a.ipynb (binary).  Jupyter's file browser
    shows neither; fmt --check and tag --check exited 2 on them ('No such file or
    directory', 'invalid UTF-8') and ingest counted them as bad notebooks.  Hidden files
    in a folder are now skipped as hidden folders are; given by name, one is read."""
    d = tmp_path / "nbs"
    d.mkdir()
    canonical = json.dumps(notebook("x = 1"), indent=1, sort_keys=True) + "\n"
    (d / "a.ipynb").write_text(canonical)
    (d / ".#a.ipynb").symlink_to("user@host.4242:1700000000")
    (d / "._a.ipynb").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        ")
    r = run("fmt", "--check", d)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run("ingest", d)
    assert r.returncode == 0 and " 0 bad" in r.stderr, r.stderr
    assert [json.loads(x)["id"] for x in r.stdout.splitlines()] == ["a.ipynb#0"]
    r = run("fmt", "--check", d / "._a.ipynb")
    assert r.returncode == 2 and "._a.ipynb" in r.stderr


def test_fmt_says_a_file_is_empty(tmp_path):
    """A 0-byte notebook (a crashed save, a touch) is 'empty file' for fmt as for tag and
    ingest; fmt said "1:0: '[' or '{' expected near end of file"."""
    (tmp_path / "e.ipynb").write_bytes(b"")
    for args in (["fmt", tmp_path / "e.ipynb"], ["fmt", "--check", tmp_path]):
        r = run(*args)
        assert r.returncode == 2 and r.stderr == f"nbstage fmt: {tmp_path}/e.ipynb: empty file\n"
    r = run("fmt", "-", input="")
    assert r.returncode == 2 and r.stderr == "nbstage fmt: <stdin>: empty file\n"
    assert (tmp_path / "e.ipynb").read_bytes() == b""


def test_fmt_says_a_folder_has_no_notebooks(tmp_path):
    """`nbstage fmt --check notebook/` with the folder's name mistyped for an empty one
    (or one whose notebooks are all in hidden folders) passed silently, exit 0: a CI gate
    that checks nothing.  It is said on stderr, even with -q (exit 0, as tag, ingest and
    summary do), and a folder named *.ipynb given by name is an error, as tag says."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "dir.ipynb").mkdir()
    r = run("fmt", "--check", "-q", tmp_path / "empty")
    assert r.returncode == 0 and r.stderr == f"nbstage fmt: {tmp_path}/empty: no notebooks (.ipynb) found\n"
    r = run("fmt", tmp_path / "dir.ipynb")
    assert r.returncode == 2 and r.stderr == f"nbstage fmt: {tmp_path}/dir.ipynb: is a directory, not a notebook\n"
    (tmp_path / "empty" / "a.ipynb").write_text(json.dumps(notebook("x = 1")))
    r = run("fmt", "--check", tmp_path / "empty")
    assert r.returncode == 1 and r.stderr == ""


def test_fmt_leaves_a_file_saved_while_it_ran(tmp_path):
    """Jupyter autosaves while `nbstage fmt` runs: a save made after fmt read the file
    and before it wrote it back was replaced by the old text reformatted (the user's
    last edits lost).  fmt now checks the file is the one it read, as tag does, and
    else leaves it and says so (exit 2).  A large notebook gives the moment: once fmt
    has read it all (/proc/PID/io), it is still parsing when the save comes."""
    nb = notebook(*[f"x{k} = {k}\n" * 50 for k in range(3000)])
    for k, c in enumerate(nb["cells"]):
        c["outputs"] = [{"output_type": "stream", "name": "stdout", "text": [f"{k} " * 400]}]
    f = tmp_path / "big.ipynb"
    f.write_text(json.dumps(nb))  # one line: fmt rewrites it
    size = f.stat().st_size
    saved = json.dumps(notebook("edited = True"), indent=1, sort_keys=True) + "\n"
    for attempt in range(3):
        p = subprocess.Popen([str(BIN), "fmt", "-q", str(f)], stderr=subprocess.PIPE, text=True)
        while p.poll() is None:
            try:
                io = Path(f"/proc/{p.pid}/io").read_text()
            except OSError:
                break
            if int(io.split("rchar: ")[1].split()[0]) >= size:
                break
        if p.poll() is None:
            f.write_text(saved)  # the autosave: in place, as Jupyter writes
            break
        p.wait()
        f.write_text(json.dumps(nb))  # finished before the save: try again
    else:
        pytest.skip("fmt finished before the save three times")
    err = p.communicate(timeout=60)[1]
    assert f.read_text() == saved, err
    assert p.returncode == 2 and "changed while being formatted, left as it is now" in err, err


def test_control_characters_in_names_not_sent_to_a_terminal(tmp_path):
    """A crawled file's name may hold an escape sequence (ESC ] 52 sets the terminal's
    clipboard, ESC [ 2 J clears the screen); so may the bytes of a malformed file that a
    reason quotes.  fmt's and ingest's lines named it as it is, so the terminal obeyed
    it.  On a terminal control characters were then shown as '?', but into a pipe names
    went as they were; now a name's are escaped (\\x1b, \\xc2\\x9b for U+009B) on a
    terminal and into a pipe alike.  A reason's quote of the file's bytes is no name and
    still shows them as '?'."""
    import shutil
    if not shutil.which("script"):
        import pytest
        pytest.skip("no script(1)")
    evil = "evil\x1b]52;c;SGVsbG8=\x07\x1b[2J\u009b"
    d = tmp_path / "nbs"
    d.mkdir()
    (d / f"{evil}.ipynb").write_text(json.dumps(notebook("x = 1")))  # not canonical
    (d / "bad.ipynb").write_text('{"cells": [\x1b[31m')  # quoted in the reason
    shown = "evil\\x1b]52;c;SGVsbG8=\\x07\\x1b[2J\\xc2\\x9b"

    def on_a_terminal(*args):
        shell = " ".join(f"'{a}'" for a in [BIN, *map(str, args)])
        r = subprocess.run(["script", "-qec", shell, "/dev/null"], capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=30)
        return r.stdout
    out = on_a_terminal("fmt", "--check", d)
    assert "\x1b" not in out and "\x07" not in out and "\u009b" not in out, repr(out)
    assert f"would reformat {d}/{shown}.ipynb" in out, repr(out)
    assert f"{d}/bad.ipynb:1:" in out
    out = on_a_terminal("ingest", "-o", tmp_path / "c.jsonl", d)  # (its progress bar: ESC [ K)
    assert "\x1b[31m" not in out, repr(out)
    assert f"bad notebook skipped: {d}/bad.ipynb:1:12: invalid token near '?'" in out, repr(out)
    # into a pipe: the name escaped as well (the exact bytes are --json's); the reason's
    # quote of the file's bytes is no name, and shows control characters as '?'
    # everywhere, so that a quoted newline cannot split the line (6899dea)
    r = run("fmt", "--check", d)
    assert f"would reformat {d}/{shown}.ipynb\n" in r.stdout and "near '?'\n" in r.stderr, r.stderr


def test_fmt_nbformat_says_repeated_cell_ids(tmp_path):
    """A 4.5 notebook whose cells repeat an id (a cell copied by a tool): nbformat.read
    gives each repeat a random new id (DuplicateCellId), so nbformat.write's bytes
    change from run to run and Jupyter rewrites the ids at its next save.  fmt --nbformat
    wrote the file with the repeats kept and said nothing, --check passed it.  It still
    keeps them (deterministic output) but names each cell nbformat would change."""
    import warnings
    import nbformat
    nb = notebook("a = 1", "b = 2", "c = 3", "d = 4", minor=5)
    for cell, i in zip(nb["cells"], ["x", "y", "x", "x"]):
        cell["id"] = i
    text = json.dumps(nb, indent=1, sort_keys=True) + "\n"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    corrected = sorted(str(x.message) for x in w if "Non-unique cell id" in str(x.message))
    assert len(corrected) == 2
    r = run("fmt", "--nbformat", "--check", "-", input=text)
    assert r.returncode == 1, r.stderr  # (split lines)
    said = [line for line in r.stderr.splitlines() if "random new one" in line]
    assert said == ['nbstage fmt: <stdin>: cells[2].id "x" is cells[0]\'s too: nbformat.write '
                    'would give it a random new one (kept)',
                    'nbstage fmt: <stdin>: cells[3].id "x" is cells[0]\'s too: nbformat.write '
                    'would give it a random new one (kept)']
    nb["nbformat_minor"] = 4  # no ids before 4.5: nbformat leaves them
    r = run("fmt", "--nbformat", "--check", "-", input=json.dumps(nb))
    assert "random" not in r.stderr


def test_fmt_lists_a_file_and_its_symlinks_once_as_tag_does(model, tmp_path):
    """A folder holding a notebook and symlinks to it (a-link.ipynb -> b.ipynb): `fmt
    --check` listed the one file three times, once per name, where tag --check lists it
    once (its first name in the walk; later mentions of the same real file are passed
    over, `dir dir/b.ipynb` too).  fmt now passes them over as tag does, and writes the
    file once, through the first name, the links kept.  A hard link is another file to
    both (a rewrite is a rename): listed."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "b.ipynb").write_text(json.dumps(notebook("x = 1")))  # not canonical
    (d / "a-link.ipynb").symlink_to("b.ipynb")
    (d / "c-link.ipynb").symlink_to("b.ipynb")
    want = [f"{d}/a-link.ipynb"]
    tagged = re.compile(r"^(.*): \d+ missing", re.M)
    for args in ([d], [d, d / "b.ipynb", d / "c-link.ipynb"]):
        r = run("fmt", "--check", *args)
        assert r.returncode == 1 and r.stdout.splitlines() == [f"would reformat {p}" for p in want], r
        r = nbstage("tag", "--check", "-q", "-m", model, *args)
        assert r.returncode == 1 and tagged.findall(r.stdout) == want, r
    r = run("fmt", d)
    assert r.returncode == 0 and r.stdout == f"reformatted {d}/a-link.ipynb\n", r
    assert (d / "a-link.ipynb").is_symlink() and (d / "c-link.ipynb").is_symlink()
    assert run("fmt", "--check", d).returncode == 0
    # a hard link: two files once one is rewritten, so listed by both
    os.link(d / "b.ipynb", d / "hard.ipynb")
    (d / "b.ipynb").write_text(json.dumps(notebook("x = 1")))
    want = [f"{d}/a-link.ipynb", f"{d}/hard.ipynb"]
    r = run("fmt", "--check", d)
    assert r.stdout.splitlines() == [f"would reformat {p}" for p in want], r
    r = nbstage("tag", "--check", "-q", "-m", model, d)
    assert tagged.findall(r.stdout) == want, r


def test_long_paths_in_messages_whole(model, tmp_path):
    """A message naming a notebook under a long path (deep folders of accented names,
    1.6 kB, which the system opens) was cut at 1,024 bytes: in the middle of a
    character, the reason lost.  Every command says it whole; a path too long to open
    at all is cut visibly ("..."), between characters, the reason kept."""
    d = tmp_path
    for _ in range(8):
        d = d / ("é" * 100)
    d.mkdir(parents=True)
    bad = d / "bad.ipynb"
    bad.write_text('{"cells": [}')
    whole = os.fsencode(bad) + b":1:"
    for cmd in (["tag", "-m", model], ["fmt"], ["summary", "-m", model],
                ["ingest", "-o", os.devnull], ["classify", "-m", model]):
        r = subprocess.run([str(BIN), *map(str, cmd), str(bad)], capture_output=True)
        line = next(x for x in r.stderr.splitlines() if os.fsencode(tmp_path) in x)
        line.decode("utf-8")  # whole characters
        assert whole in line and line.endswith(b"'}'"), (cmd, line[-80:])
    far = tmp_path / ("é" * 3000 + ".ipynb")  # 6 kB: no system opens it
    r = subprocess.run([str(BIN), "classify", "-m", str(model), str(far)], capture_output=True)
    err = r.stderr.decode("utf-8")
    assert r.returncode == 2 and "..." in err and err.endswith(".ipynb: File name too long\n"), err[-80:]
    assert err.startswith(f"nbstage classify: {tmp_path}/éé")


def test_ingest_takes_a_file_and_its_symlinks_once_as_tag_does(tmp_path):
    """A notebook and a symlink to it in one folder were ingested twice, its cells
    under two ids (a-link.ipynb#k and b.ipynb#k), weighing twice in training data; the
    folder and a notebook in it both given (`ingest d d/b.ipynb`) stopped the run (one
    id given twice).  A file met again under another name is skipped, as tag, fmt and
    summary pass it over (equal realpaths, the name met first kept), and counted in the
    statistics; --help says it."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "b.ipynb").write_text(json.dumps(notebook("x = 1", "y = 2")))
    (d / "a-link.ipynb").symlink_to("b.ipynb")
    (d / "c.ipynb").write_text(json.dumps(notebook("z = 3")))
    for args in ([d], [d, d / "b.ipynb", d / "c.ipynb"]):
        r = run("ingest", *args)
        assert r.returncode == 0, r
        ids = [json.loads(line)["id"] for line in r.stdout.splitlines()]
        assert ids == ["a-link.ipynb#0", "a-link.ipynb#1", "c.ipynb#0"], r
        assert "2 notebooks in 1 group " in r.stderr and "no notebooks" not in r.stderr, r.stderr
        skipped = len(args) - 1 + 1
        assert f"ingest: {skipped} notebook{'s' if skipped > 1 else ''} skipped, met again " \
               "under another name" in r.stderr, r.stderr
    r = run("ingest", "-q", d)
    assert r.returncode == 0 and r.stderr == "", r
    assert "symlink to a notebook read" in " ".join(run("ingest", "--help").stdout.split())


def test_long_paths_whole_in_model_rules_and_gold_errors(model, tmp_path):
    """The model, rules and hand-label file loaders wrote their messages into buffers
    of 512 to 1,024 bytes: a path of 1.6 kB (deep folders of accented names, which the
    system opens) was cut silently, mid-character, its reason lost.  They are whole
    now; a path too long to open is cut visibly ("..."), between characters, the reason
    kept (nb_error_fmt, as nbformat's own messages)."""
    d = tmp_path
    for _ in range(8):
        d = d / ("é" * 100)
    d.mkdir(parents=True)
    (d / "x.rules").write_text("rule my_rule train\nfrobnicate x\n")
    (d / "gold.tsv").write_text("a.ipynb#0\tnowhere\n")
    cells = tmp_path / "cells.jsonl"
    cells.write_text('{"id": "a.ipynb#0", "source": "import os"}\n')
    gold = tmp_path / "gold.tsv"
    gold.write_text("a.ipynb#0\timports\n")
    nbsm = d / "missing.nbsm"
    cases = [(["classify", "-m", nbsm], f"{nbsm}: No such file or directory"),
             (["tag", "-m", nbsm, "--check", cells], f"{nbsm}: No such"),
             (["summary", "-m", nbsm, cells], f"{nbsm}: No such"),
             (["eval", "-m", nbsm, "--gold", gold, cells], f"{nbsm}: No such"),
             (["eval", "-m", model, "--gold", d / "gold.tsv", cells], f"{d}/gold.tsv:1: unknown stage 'nowhere'"),
             (["label", "--no-default-rules", "--rules", d / "x.rules", cells], f"{d}/x.rules:2: unknown keyword 'frobnicate'"),
             (["label", "--no-default-rules", "--gold", d / "gold.tsv", cells], f"{d}/gold.tsv:1: unknown stage 'nowhere'")]
    for cmd, want in cases:
        r = subprocess.run([str(BIN), *map(str, cmd)], capture_output=True, stdin=subprocess.DEVNULL)
        err = r.stderr.decode("utf-8")  # whole characters
        assert r.returncode == 2 and f"nbstage {cmd[0]}: {want}" in err, (cmd, err[-200:])
    far = tmp_path / ("é" * 3000 + ".nbsm")  # 6 kB: no system opens it
    for cmd in (["classify", "-m", far], ["label", "--no-default-rules", "--rules", far]):
        r = subprocess.run([str(BIN), *map(str, cmd)], capture_output=True, stdin=subprocess.DEVNULL)
        err = r.stderr.decode("utf-8")
        assert r.returncode == 2 and "..." in err and err.startswith(f"nbstage {cmd[0]}: {tmp_path}/éé"), err[:200]
        assert err.endswith(".nbsm: File name too long\n"), err[-80:]


def test_fmt_says_why_its_list_could_not_be_written(tmp_path):
    """`fmt --check` (or fmt's "reformatted" list) into a full disk or a closed stdout
    exited 2 with nothing on stderr: a CI gate failing without a word.  It names
    stdout and the reason, once; `fmt -` said it already, and still says it once."""
    nb = tmp_path / "a.ipynb"
    text = json.dumps(notebook("x = 1"))  # not canonical
    for args in (["--check", nb], [nb], ["-"]):
        for target, why in LOST_STDOUT:
            nb.write_text(text)
            r = run_lost_stdout([BIN, "fmt", *args], target, input=text)
            assert r.returncode == 2 and r.stderr == f"nbstage fmt: <stdout>: write error: {why}\n", (args, target, r.stderr)


def test_help_and_version_into_a_stdout_that_cannot_be_written(tmp_path):
    """`nbstage --version`, `nbstage --help`, `nbstage help CMD` and every `CMD --help`
    into a full disk or a closed stdout exited 0, the text lost without a word (as
    coreutils' close_stdout would not let pass).  main now checks stdout after any
    command: said with the reason, exit 2; a command that said it already is not
    repeated (fmt's own line, once)."""
    cmds = ["ingest", "fmt", "label", "train", "eval", "classify", "tag", "summary", "install-kernel"]
    lines = [(["--version"], "nbstage"), (["--help"], "nbstage"), (["help", "tag"], "nbstage tag")]
    lines += [([c, "--help"], f"nbstage {c}") for c in cmds]
    for args, who in lines:
        for target, why in LOST_STDOUT:
            r = run_lost_stdout([BIN] + args, target)
            assert r.returncode == 2 and r.stderr == f"{who}: <stdout>: write error: {why}\n", (args, target, r.stderr)
    nb = tmp_path / "a.ipynb"
    nb.write_text(json.dumps(notebook("x = 1")))
    with open("/dev/full", "w") as out:
        r = subprocess.run([str(BIN), "fmt", "--check", str(nb)], stdout=out, stderr=subprocess.PIPE, text=True)
    assert r.returncode == 2 and r.stderr == "nbstage fmt: <stdout>: write error: No space left on device\n", r.stderr


def test_a_file_that_opens_but_cannot_be_read_is_named_with_the_reason(tmp_path):
    """A notebook for ingest, or label's --votes matrix, that opens but fails to read
    (an I/O error: /proc/self/mem is a regular file whose read is EIO) was "read error"
    with no reason, where a file that cannot be opened gets strerror's."""
    r = run("ingest", "-q", "-o", tmp_path / "c.jsonl", "/proc/self/mem")
    assert r.returncode == 2 and r.stderr == (
        "nbstage ingest: bad notebook skipped: /proc/self/mem: Input/output error\n"
        f"nbstage ingest: 1 notebook could not be read (named above); the cells of the 0 notebooks "
        f"read are written to {tmp_path / 'c.jsonl'}\n"), r.stderr
    r = run("label", "-q", "--votes", "/proc/self/mem")
    assert r.returncode == 2 and r.stderr == "nbstage label: /proc/self/mem: read error: Input/output error\n", r.stderr


def test_ingest_counts_one_notebook_in_the_singular(tmp_path):
    """`ingest` of one notebook said "1 notebooks in 1 groups"."""
    nb = tmp_path / "a.ipynb"
    nb.write_text(json.dumps(notebook("x = 1")))
    r = run("ingest", "-o", tmp_path / "cells.jsonl", nb)
    assert r.returncode == 0, r.stderr
    assert "ingest: 1 notebook in 1 group (1.0 notebooks per group), 0 bad\n" in r.stderr, r.stderr


def test_ingest_counts_the_groups_of_the_notebooks_it_read(tmp_path):
    """Groups are PATH's top-level folders, PATH itself the group of the notebooks right
    in it.  They were counted as runs of the sorted walk, so notebooks in PATH sorting
    on both sides of a folder made two groups, and a bad notebook's folder counted with
    no notebook read in it ("1 notebook in 2 groups (0.5 notebooks per group)")."""
    d = tmp_path / "nbs"
    for name in ("a.ipynb", "m/x.ipynb", "n/y.ipynb", "z.ipynb"):
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(json.dumps(notebook("x = 1")))
    r = run("ingest", "-o", tmp_path / "c.jsonl", d)
    assert r.returncode == 0 and "ingest: 4 notebooks in 3 groups (1.3 notebooks per group), 0 bad" in r.stderr, \
        r.stderr
    (d / "n" / "y.ipynb").write_text("")
    r = run("ingest", "-o", tmp_path / "c.jsonl", d)
    assert r.returncode == 2 and "ingest: 3 notebooks in 2 groups (1.5 notebooks per group), 1 bad" in r.stderr, \
        r.stderr


def test_a_fifo_named_like_a_notebook_is_refused_not_waited_on(model, tmp_path, monkeypatch):
    """`classify x.ipynb` on a FIFO no one writes to waited for ever in open(); the
    other commands stat a PATH first and refuse it, and so does classify a FIFO not
    named like a notebook: 'not a regular file', exit 2."""
    fifo = tmp_path / "x.ipynb"
    os.mkfifo(fifo)
    r = run("classify", "--model", model, fifo, timeout=20)
    assert r.returncode == 2 and "x.ipynb: not a regular file" in r.stderr, r.stderr
    # a socket: open() fails (ENXIO), which said "No such device or address"
    import socket
    sock = socket.socket(socket.AF_UNIX)
    try:
        # bound by a name relative to its folder: a socket's path has 107 bytes at most,
        # which tmp_path in a deep TMPDIR is past ("AF_UNIX path too long")
        monkeypatch.chdir(tmp_path)
        sock.bind("s.ipynb")
        r = run("classify", "--model", model, tmp_path / "s.ipynb", timeout=20)
        assert r.returncode == 2 and r.stderr == f"nbstage classify: {tmp_path}/s.ipynb: not a regular file\n", \
            r.stderr
    finally:
        sock.close()


def test_a_zero_filled_notebook_is_said_to_hold_a_nul_byte(model, tmp_path):
    """A notebook a crash left zero-filled, or with zeros after its end, was refused as
    "'[' or '{' expected near end of file" or "end of file expected near end of file"
    (jansson takes a NUL byte for the end of the input), which hides what is there."""
    good = json.dumps(notebook("x = 1")).encode()
    (tmp_path / "zeros.ipynb").write_bytes(b"\0" * 4096)
    (tmp_path / "tail.ipynb").write_bytes(good + b"\0" * 100)
    for args in (["tag", "-q", "-m", model], ["fmt", "--check"], ["summary", "--saved"],
                 ["ingest", "-q", "-o", tmp_path / "c.jsonl"]):
        for name, col in (("zeros.ipynb", 1), ("tail.ipynb", len(good) + 1)):
            r = run(*args, tmp_path / name)
            assert r.returncode == 2, (args, r.stderr)
            assert f"{name}:1:{col}: a NUL byte outside any string: not JSON" in r.stderr, \
                (args, r.stderr)
            assert "end of file" not in r.stderr, (args, r.stderr)


def test_every_message_of_ingest_begins_nbstage_ingest(tmp_path):
    """ingest's statistics and its bad-notebook lines began "ingest:", its other errors
    "nbstage ingest:", on the same stderr.  Now one prefix, as every other command has."""
    d = tmp_path / "nbs"
    d.mkdir()
    (d / "a.ipynb").write_text(json.dumps({"cells": [{"cell_type": "code", "source": "import os",
                                                      "metadata": {}, "outputs": [],
                                                      "execution_count": None}],
                                           "metadata": {}, "nbformat": 4, "nbformat_minor": 4}))
    (d / "cut.ipynb").write_text('{"cells": [')
    r = run("ingest", "-o", tmp_path / "c.jsonl", d)
    lines = r.stderr.splitlines()
    assert r.returncode == 2 and len(lines) >= 6, r.stderr
    assert all(x.startswith("nbstage ingest: ") for x in lines), r.stderr


def test_fmt_stopped_by_a_signal_has_listed_every_file_it_rewrote(tmp_path):
    """`fmt many > fmt.log`, stopped by Ctrl-C or SIGTERM: the list of rewritten files,
    buffered into the file, lost its last lines (547 listed, 593 rewritten; the log cut
    mid-line), so the user could not tell which files changed.  It is written a line at
    a time now: the log is whole lines, and names every file rewritten (the last one
    may be rewritten just before its line)."""
    import signal
    import time
    d = tmp_path / "many"
    d.mkdir()
    text = json.dumps(notebook("import os", "x = 1"), indent=2)  # not canonical
    for i in range(3000):
        (d / f"nb{i:04d}.ipynb").write_text(text)
    log = tmp_path / "fmt.log"
    # stopped once its list is past four stdio buffers and 100 lines: a line names a
    # file by its whole path, 170 bytes in a deep TMPDIR, where 16 KiB were 96 lines
    line = len(f"reformatted {d}/nb0000.ipynb\n".encode())
    enough = max(4 * 4096, 101 * line)
    with open(log, "wb") as out:
        p = subprocess.Popen([str(BIN), "fmt", str(d)], stdout=out, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while log.stat().st_size < enough and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        p.send_signal(signal.SIGINT)
        p.communicate(timeout=60)
    listed = log.read_text()
    assert listed.endswith("\n"), listed[-200:]
    lines = listed.splitlines()
    assert all(l.startswith("reformatted ") for l in lines), lines[-3:]
    rewritten = {str(f) for f in d.iterdir() if f.read_text() != text}
    named = {l[len("reformatted "):] for l in lines}
    assert named <= rewritten and len(rewritten - named) <= 1, (len(named), len(rewritten))
    assert len(named) > 100
    assert not [f for f in d.iterdir() if not f.name.endswith(".ipynb")]  # no temporaries left


def test_ingest_counts_a_cell_of_unicode_white_space_as_empty(tmp_path):
    """A cell of a full-width space or a no-break space is empty (Python's str.strip()
    leaves nothing), as the kernel and tag already read it; ingest counted it among
    the comment-only cells."""
    nb = tmp_path / "spaces.ipynb"
    nb.write_text(json.dumps(notebook("\u3000", "\u00a0\n", " \t", "# a comment", "x = 1")))
    r = run("ingest", nb, "-o", tmp_path / "cells.jsonl")
    assert r.returncode == 0, r.stderr
    assert "dropped 3 empty and 1 comment-only cells" in r.stderr, r.stderr


VERSIONS = ["4", "4.0", "4.5", '"4"', "true", "null"]  # "nbformat", then "nbformat_minor"
MINORS = ["5", "5.0", '"5"', "true", "null"]


def python_reads(text):
    """Whether Debian's nbformat.read(f, as_version=4) gives a notebook (its schema
    errors are logged, not raised; a version that is no int fails in its validator)."""
    import io
    import logging
    import nbformat
    logging.disable(logging.CRITICAL)
    try:
        nbformat.read(io.StringIO(text), as_version=4)
        return True
    except Exception:
        return False
    finally:
        logging.disable(logging.NOTSET)


def test_a_version_that_is_not_an_integer_is_refused_as_python_refuses_it(model, tmp_path):
    """Some tools write "nbformat": 4.0.  Python's nbformat refuses it (read and write
    assert isinstance(version, int): an AssertionError, nbformat 5.5 to 5.10), and so
    did we, but as 'not a notebook: "nbformat" is not an integer', which did not say
    what the value was nor that the notebook was otherwise fine.  Now the value is
    named, with the fix for a real of an integer's value; every command, the fast paths
    of tag (canonscan) and summary and ingest (cellscan) included, takes exactly the
    versions Python takes, but the bools (Python's bool is an int: "nbformat": true is
    its version 1, a minor of true is read and logged invalid by its schema), and a
    refused notebook is left as it was."""
    d = tmp_path / "nbs"
    d.mkdir()
    base = json.loads(nbstage("fmt", "--nbformat", "-", input=json.dumps(notebook("import os"))).stdout)
    base["cells"][0]["id"] = "c0"  # (4.5 has ids)
    files = {}
    for major in VERSIONS:
        for minor in (MINORS if major == "4" else ["5"]):
            # in nbformat's layout, so that tag's and summary's fast paths meet them first
            text = json.dumps({**base, "nbformat_minor": 5}, indent=1, sort_keys=True,
                              ensure_ascii=False) + "\n"
            text = text.replace('"nbformat": 4,', f'"nbformat": {major},').replace(
                '"nbformat_minor": 5', f'"nbformat_minor": {minor}')
            name = f"v{major}-{minor}.ipynb".replace('"', "q")
            (d / name).write_text(text)
            files[name] = (major, minor, text)
    for name, (major, minor, text) in files.items():
        f = d / name
        expect = python_reads(text) and "true" not in (major, minor)
        assert expect == (major == "4" and minor == "5"), (name, expect)
        for args in (["tag", "-m", model], ["tag", "--check", "-m", model], ["summary", "-m", model],
                     ["summary", "--json", "-m", model], ["fmt", "--check"], ["fmt"], ["ingest"],
                     ["classify", "-m", model]):
            r = run(*args, f)
            assert (r.returncode != 2) == expect, (name, args, r.stderr)
            if not expect:
                key = "nbformat" if major != "4" else "nbformat_minor"
                assert f'"{key}" is not an integer but ' in r.stderr, (name, args, r.stderr)
            if args[0] in ("tag", "fmt") and not expect:
                assert f.read_text() == text, (name, args)
    r = run("fmt", "--check", d / "v4.0-5.ipynb")
    assert r.stderr == (f'nbstage fmt: {d}/v4.0-5.ipynb: "nbformat" is not an integer but the real '
                        'number 4.0 (Python\'s nbformat.read refuses it too; write it without ".0")\n'), r.stderr
    r = run("summary", "-m", model, d / "v4-5.0.ipynb")
    assert '"nbformat_minor" is not an integer but the real number 5.0 (' in r.stderr, r.stderr
    r = run("ingest", d / "v4-true.ipynb")
    assert "\"nbformat_minor\" is not an integer but true (the notebook format's schema wants an integer)" \
        in r.stderr, r.stderr


def test_a_fifo_named_like_a_notebook_in_a_folder_is_said_and_counted_not_opened(model, tmp_path):
    """A FIFO named x.ipynb in a folder walked (a socket, a device: the same) was passed
    over without a word by tag, summary, fmt and ingest: 'tag DIR' said '1 notebook: 1
    rewritten, 0 failed', exit 0, and the user never learnt of it.  Now each command
    names it, 'not a regular file', counts it as a notebook that failed (exit 2), and
    never opens it (a writer waiting on it would be let through); a symlink to it the
    same.  A symlink to a regular notebook is read as before; given by name, a FIFO was
    and is refused ('not a regular file or folder')."""
    import threading
    d = tmp_path / "nbs"
    (d / "sub").mkdir(parents=True)
    (d / "a.ipynb").write_text(json.dumps(notebook("import os")))
    os.mkfifo(d / "sub" / "f.ipynb")
    (d / "link.ipynb").symlink_to("sub/f.ipynb")
    (d / "ok.ipynb").symlink_to(tmp_path / "outside.ipynb")
    (tmp_path / "outside.ipynb").write_text(json.dumps(notebook("df.head()")))
    opened = []  # a writer's open() returns once a reader opens the FIFO

    def writer():
        fd = os.open(d / "sub" / "f.ipynb", os.O_WRONLY)
        opened.append(True)
        os.close(fd)
    t = threading.Thread(target=writer, daemon=True)
    t.start()
    fifo, link = f"{d}/sub/f.ipynb", f"{d}/link.ipynb"
    try:
        for args in (["tag", "--check", "-m", model], ["tag", "--dry-run", "-m", model],
                     ["tag", "-m", model], ["summary", "-m", model], ["summary", "--json", "-m", model],
                     ["fmt", "--check"], ["fmt"], ["ingest", "-q"]):
            r = run(*args, d, timeout=30)
            assert r.returncode == 2, (args, r.stderr)
            # (ingest lists a file met again under another name once: the first name)
            for p in (fifo, link) if args[0] != "ingest" else (link,):
                assert f"{p}: not a regular file\n" in r.stderr, (args, r.stderr)
            if args[0] == "tag" and "--check" not in args:
                assert ", 2 failed" in r.stderr, (args, r.stderr)
            if "--json" in args:
                errors = [json.loads(l) for l in r.stdout.splitlines() if '"error"' in l]
                assert errors == [{"notebook": link, "error": "not a regular file"},
                                  {"notebook": fifo, "error": "not a regular file"}], r.stdout
            if args[0] == "ingest":
                assert {json.loads(l)["notebook"] for l in r.stdout.splitlines()} == {"a.ipynb", "ok.ipynb"}
        r = run("ingest", d, timeout=30)
        assert "2 notebooks in 1 group" in r.stderr and " 1 bad" in r.stderr, r.stderr
        assert f"bad notebook skipped: {link}: not a regular file\n" in r.stderr, r.stderr
        assert not opened, "a command opened the FIFO"
        assert "stage:" in (tmp_path / "outside.ipynb").read_text()  # through the symlink, as before
        for cmd in (["tag", "-m", model], ["summary", "-m", model], ["fmt"], ["ingest"]):
            r = run(*cmd, fifo, timeout=30)
            assert r.returncode == 2 and f"{fifo}: not a regular file or folder" in r.stderr, (cmd, r.stderr)
            assert "(a pipe: '-' reads standard input)" in r.stderr, (cmd, r.stderr)  # what was meant
        assert not opened
    finally:
        fd = os.open(d / "sub" / "f.ipynb", os.O_RDONLY | os.O_NONBLOCK)  # lets the writer go
        t.join(5)
        os.close(fd)
