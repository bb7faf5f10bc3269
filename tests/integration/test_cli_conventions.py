"""test_cli_conventions.py — what every command does alike, as a user of small Unix
tools (jq, ripgrep, git) expects it: --help that fits an 80-column terminal and is laid
out as the others are, and one option (-j) named and worded alike in every command
that takes it.  What each command does with its own options is in its own test file."""
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

# model: test_tag.py's fixture (the shipped model, else a small one), asked for by name
from test_tag import as_nobody, model, skip_unless_nobody_can_run  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
BINDIR = Path(os.environ.get("NBSTAGE_BIN", ROOT))
BIN = BINDIR / "nbstage"
COMMANDS = ["ingest", "fmt", "label", "train", "eval", "classify", "tag", "summary", "install-kernel"]


def run(*args, **kw):
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, timeout=60, **kw)


@pytest.mark.parametrize("args", [["--help"]] + [[c, "--help"] for c in COMMANDS] + [["kernel"]])
def test_help_fits_80_columns(args):
    """label, train, eval, classify, install-kernel, nbstage-kernel and the top-level
    --help had lines of 81 to 103 columns (eval's usage lines): on a terminal of 80 each
    wrapped in the middle of a word, and the option column's layout was lost."""
    if args == ["kernel"]:
        r = subprocess.run([str(BINDIR / "nbstage-kernel"), "--help"], capture_output=True, text=True,
                           timeout=60)
    else:
        r = run(*args)
    assert r.returncode == 0 and r.stdout, r.stderr
    # classify and nbstage-kernel name the shipped model by its path, which is as long as
    # the checkout's or install's place: measured as a typical install path (47 columns),
    # as the help is laid out for.  Checked in CI's deeper checkout, classify's line had
    # 81 columns: the layout had room only for this checkout's path.
    text = re.sub(r"\S*/default\.nbsm", "/home/someone/.local/share/nbstage/default.nbsm", r.stdout)
    wide = [l for l in text.splitlines() if len(l) > 80]
    assert not wide, wide


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_lists_options_under_one_heading(cmd):
    """Each command's --help has its options under an "options" heading; install-kernel's
    had none (its options followed the description directly)."""
    r = run(cmd, "--help")
    assert r.returncode == 0
    assert any(l.startswith("options") and l.endswith(":") for l in r.stdout.splitlines()), r.stdout


JOBS = [("ingest", 256), ("label", 64), ("classify", 64), ("tag", 1024), ("train", 256)]


@pytest.mark.parametrize("cmd,most", JOBS)
@pytest.mark.parametrize("value", ["8x", "0", ""])
def test_a_bad_jobs_value_is_named_alike(tmp_path, cmd, most, value):
    """-j N with a bad N: ingest and tag said "-j wants a number of threads from 1 to
    256, not '8x'", classify "-j wants 1..64, not '8x'", and label "--jobs wants 1..64",
    without the value given.  One wording now, with each command's own range (train's
    --threads said "bad value '8x' for --threads: a whole number from 1 to 256")."""
    r = run(cmd, "-j", value, tmp_path)
    assert r.returncode == 2 and r.stdout == "", r
    assert r.stderr == f"nbstage {cmd}: -j wants a number of threads from 1 to {most}, not '{value}'\n", r.stderr
    if cmd == "train":  # its old name, still taken, is refused alike
        r = run(cmd, "--threads", value, tmp_path)
        assert r.returncode == 2 and r.stderr == f"nbstage {cmd}: -j wants a number of threads from 1 to {most}, " \
            f"not '{value}'\n", r.stderr


@pytest.mark.parametrize("cmd,most", JOBS)
def test_every_thread_count_is_j_and_jobs(cmd, most):
    """ingest, label, classify and tag took -j, --jobs N; train took --threads N (-j:
    invalid option), so a script setting one thread count for the whole pipeline
    needed two spellings.  Each --help now lists -j, --jobs N with its range."""
    r = run(cmd, "--help")
    assert r.returncode == 0
    line = next((l for l in r.stdout.splitlines() if l.startswith("  -j, --jobs N ")), None)
    assert line and f"1 to {most}" in line, r.stdout


def test_train_takes_j_and_its_old_threads(tmp_path):
    """train -j N, --jobs N and --threads N (its former name, kept for the scripts that
    give it) make the same model, byte for byte; --help says --threads is the old name."""
    weak = tmp_path / "weak.jsonl"
    srcs = ["df = pd.read_csv('x.csv')", "df = df.dropna()", "model.fit(X, y)", "import numpy as np"]
    stages = ["load", "prep", "train", "imports"]
    weak.write_text("".join(json.dumps({"id": f"n{k % 2}.ipynb#{k}", "stage": st, "probabilities": {st: 1.0},
                                        "source": s}) + "\n" for k, (s, st) in enumerate(zip(srcs, stages))))
    env = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")
    made = []
    for i, flag in enumerate(["-j", "--jobs", "--threads"]):
        out = tmp_path / f"m{i}.nbsm"
        r = run("train", "-q", "--embed", "8", "--hidden", "4", "--epochs", "1", flag, "2", "-o", out, weak,
                env=env)
        assert r.returncode == 0, (flag, r.stderr)
        made.append(out.read_bytes())
    assert made[0] == made[1] == made[2]
    h = run("train", "--help").stdout
    assert re.search(r"^  --threads N +the former name of -j", h, re.M), h


def test_label_names_a_bad_min_confidence(tmp_path):
    """label --min-confidence 2 said what it wants but not what it was given."""
    r = run("label", "--min-confidence", "1.5", tmp_path)
    assert r.returncode == 2
    assert r.stderr == "nbstage label: --min-confidence wants a probability, 0..1, not '1.5'\n", r.stderr


def test_install_kernel_parses_options_as_the_other_commands_do(tmp_path):
    """install-kernel had a hand-made option loop: `--sys` or `--disp` (an unambiguous
    start of an option, which getopt_long takes in every other command: `tag --dry`)
    were unrecognized, and -Z was worded otherwise than getopt words it.  Under a
    --prefix of its own, so that nothing outside tmp_path is touched."""
    env = dict(os.environ, HOME=str(tmp_path / "home"), JUPYTER_PATH=str(tmp_path / "p" / "share" / "jupyter"))
    r = run("install-kernel", "--pre", tmp_path / "p", "--nam", "mine", "--disp", "Mine", env=env)
    assert r.returncode == 0, r.stderr
    spec = json.loads((tmp_path / "p" / "share" / "jupyter" / "kernels" / "mine" / "kernel.json").read_text())
    assert spec["display_name"] == "Mine"
    r = run("install-kernel", "--prefix", tmp_path / "p", "--name", "mine", "--rem", env=env)
    assert r.returncode == 0 and not (tmp_path / "p" / "share" / "jupyter" / "kernels" / "mine").exists(), r.stderr
    for cmd in ("tag", "install-kernel"):
        r = run(cmd, "-Z", env=env)
        assert r.returncode == 2 and r.stderr.startswith(f"nbstage {cmd}: invalid option -- 'Z'\n"), r.stderr
    r = run("install-kernel", "--n", "x", env=env)  # --name or --no-badge
    assert r.returncode == 2 and "'--n' is ambiguous" in r.stderr, r.stderr
    assert not (tmp_path / "home" / ".local").exists()


def test_train_prefixes_its_messages_as_every_command_does(tmp_path):
    """train's own checks said "nbstage train: ...", but its statistics, the line
    saying the model was written, and the errors of the run said "train: ...": one
    run's stderr held both, and `2>&1 | grep '^nbstage train'` missed half.  Every
    line now begins "nbstage train: ", but the epochs' progress lines."""
    weak = tmp_path / "weak.jsonl"
    srcs = ["df = pd.read_csv('x.csv')", "df = df.dropna()", "model.fit(X, y)", "import numpy as np"]
    stages = ["load", "prep", "train", "imports"]
    weak.write_text("".join(json.dumps({"id": f"n{k % 2}.ipynb#{k}", "stage": st, "probabilities": {st: 1.0},
                                        "source": s}) + "\n" for k, (s, st) in enumerate(zip(srcs, stages))))
    r = run("train", "--embed", "8", "--hidden", "4", "--epochs", "1", "-j", "1", "-o", tmp_path / "m.nbsm",
            weak)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stderr.splitlines() if l and not l.startswith("epoch ")]
    assert lines and all(l.startswith("nbstage train: ") for l in lines), r.stderr
    assert any(l.startswith("nbstage train: wrote ") for l in lines), r.stderr


def test_label_takes_g_for_gold_as_eval_does(tmp_path):
    """eval takes the hand labels as -g or --gold; label, which scores against the same
    file, took --gold only (-g: invalid option)."""
    cells = tmp_path / "cells.jsonl"
    cells.write_text('{"id": "a.ipynb#0", "source": "import pandas as pd"}\n'
                     '{"id": "a.ipynb#1", "source": "df = pd.read_csv(\'x.csv\')"}\n')
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\tsecondary\tconfidence\tnote\na.ipynb#0\timports\t\th\t\n")
    short, long_ = run("label", "-q", "-g", gold, cells), run("label", "-q", "--gold", gold, cells)
    assert short.returncode == 0, short.stderr
    # (the analysis, less its line of timings)
    said = [[l for l in r.stderr.splitlines() if " s, " not in l] for r in (short, long_)]
    assert (short.stdout, said[0]) == (long_.stdout, said[1]) and "gold" in short.stderr, short.stderr


def shipped_layout(tmp_path, layout, program="nbstage"):
    """A copy of PROGRAM (nbstage, nbstage-kernel) where it finds no shipped model or
    rules: in a source tree (beside nbformat/sharefile.h, its mark) or an installation's
    PREFIX/bin.  (the program, the share folder it looks in, the environment without
    overrides)"""
    if layout == "tree":
        prog, share = tmp_path / "tree" / program, tmp_path / "tree" / "share"
        (tmp_path / "tree" / "nbformat").mkdir(parents=True)
        (tmp_path / "tree" / "nbformat" / "sharefile.h").write_text("")
    else:
        prog, share = tmp_path / "prefix" / "bin" / program, tmp_path / "prefix" / "share" / "nbstage"
    prog.parent.mkdir(parents=True, exist_ok=True)
    share.mkdir(parents=True)
    prog.write_bytes((BINDIR / program).read_bytes())
    prog.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("NBSTAGE_MODEL", "NBSTAGE_RULES")}
    return prog, share, env


MISSING_SHIPPED = [  # (command, its arguments, the file, what else the user may do)
    ("tag", ["--check", "a.ipynb"], "default.nbsm", "or give --model FILE or set NBSTAGE_MODEL"),
    ("classify", ["cells.jsonl"], "default.nbsm", "or give --model FILE or set NBSTAGE_MODEL"),
    ("eval", ["--gold", "gold.tsv", "cells.jsonl"], "default.nbsm", "or give --model FILE or set NBSTAGE_MODEL"),
    ("summary", ["a.ipynb"], "default.nbsm", "give --model FILE or set NBSTAGE_MODEL, or use --saved"),
    ("label", ["cells.jsonl"], "rules.txt", "set NBSTAGE_RULES, or give --no-default-rules --rules FILE"),
]


@pytest.mark.parametrize("layout", ["tree", "installed"])
@pytest.mark.parametrize("cmd,args,name,also", MISSING_SHIPPED)
def test_a_missing_shipped_file_says_how_to_get_it_back_where_it_was_looked_for(tmp_path, layout, cmd, args,
                                                                                 name, also):
    """Without share/default.nbsm or share/rules.txt every command said "reinstall
    nbstage", in a source checkout too, where the file is in git (`git checkout`) and
    the model is rebuilt by `make model`.  The advice now follows where it was looked
    for, in one wording for the five commands (nbformat/sharefile.h)."""
    prog, share, env = shipped_layout(tmp_path, layout)
    (tmp_path / "a.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4,
                                                  "nbformat_minor": 5}))
    (tmp_path / "cells.jsonl").write_text('{"id": "a.ipynb#0", "source": "import os"}\n')
    (tmp_path / "gold.tsv").write_text("cell_id\tlabel\na.ipynb#0\timports\n")
    r = subprocess.run([str(prog), cmd, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    if layout == "tree":
        how = f"`git checkout share/{name}`" + (" or `make model`" if name == "default.nbsm" else "") + \
            " in the source tree"
    else:
        how = "reinstall nbstage"
    what = "no model" if name == "default.nbsm" else "no default rule file"
    assert r.returncode == 2 and r.stdout == "", r
    assert r.stderr == f"nbstage {cmd}: {what}: {share / name} is missing ({how}, {also})\n", r.stderr


@pytest.mark.parametrize("layout", ["tree", "installed"])
@pytest.mark.parametrize("program,args", [("nbstage", ["classify", "--help"]), ("nbstage-kernel", ["--help"])])
def test_help_names_a_missing_shipped_model_by_its_path(tmp_path, layout, program, args):
    """classify --help said "default: the shipped one, not found" when it was missing:
    not where it was looked for.  It names the path now, as nbstage-kernel --help does,
    and says that it is missing (and only then).  nbstage-kernel --help named the path
    but never said it was missing: now as classify's."""
    prog, share, env = shipped_layout(tmp_path, layout, program)
    r = subprocess.run([str(prog), *args], env=env, capture_output=True, text=True, timeout=60)
    said = " ".join(r.stdout.split())
    assert r.returncode == 0 and f"default: the shipped one, {share / 'default.nbsm'}, which is missing)" in said, \
        r.stdout
    (share / "default.nbsm").write_bytes(b"")  # there (whether it loads is not --help's business)
    r = subprocess.run([str(prog), *args], env=env, capture_output=True, text=True, timeout=60)
    said = " ".join(r.stdout.split())
    assert f"default: the shipped one, {share / 'default.nbsm'})" in said and "is missing" not in said, r.stdout


# Every input a command reads by a path the user gives: (command, its arguments with
# {f} for the file under test, the file's name, the environment variable naming it).
# The others are good files (see files_for); the checks before it pass.
INPUTS = [
    ("ingest", ["-q", "-o", "-", "{f}"], "x.ipynb", None),
    ("fmt", ["--check", "{f}"], "x.ipynb", None),
    ("tag", ["--check", "-m", "{model}", "{f}"], "x.ipynb", None),
    ("summary", ["--saved", "{f}"], "x.ipynb", None),
    ("classify", ["-m", "{model}", "{f}"], "x.ipynb", None),
    ("classify", ["-m", "{model}", "{f}"], "x.py", None),
    ("classify", ["-m", "{model}", "{f}"], "x.jsonl", None),
    ("classify", ["-m", "{f}", "cells.jsonl"], "x.nbsm", None),
    ("classify", ["cells.jsonl"], "x.nbsm", "NBSTAGE_MODEL"),
    ("tag", ["--check", "-m", "{f}", "a.ipynb"], "x.nbsm", None),
    ("summary", ["-m", "{f}", "a.ipynb"], "x.nbsm", None),
    ("eval", ["-m", "{f}", "--gold", "gold.tsv", "cells.jsonl"], "x.nbsm", None),
    ("eval", ["-m", "{model}", "--gold", "gold.tsv", "{f}"], "x.jsonl", None),
    ("eval", ["-m", "{model}", "--gold", "{f}", "cells.jsonl"], "x.tsv", None),
    ("eval", ["--predictions", "--gold", "gold.tsv", "{f}"], "x.jsonl", None),
    ("label", ["-q", "--no-default-rules", "{f}"], "x.jsonl", None),
    ("label", ["-q", "--no-default-rules", "--gold", "{f}", "cells.jsonl"], "x.tsv", None),
    ("label", ["-q", "--no-default-rules", "--rules", "{f}", "cells.jsonl"], "x.txt", None),
    ("label", ["-q", "cells.jsonl"], "x.txt", "NBSTAGE_RULES"),
    ("label", ["-q", "--votes", "{f}"], "x.tsv", None),
    ("label", ["-q", "--votes", "votes.tsv", "--truth", "{f}"], "x.txt", None),
    ("train", ["-q", "-o", "m.nbsm", "{f}"], "x.jsonl", None),
    ("train", ["-q", "-o", "m.nbsm", "--cells", "{f}", "weak.jsonl"], "x.jsonl", None),
]


def files_for(d, model):
    """The good inputs of INPUTS' commands, in D, readable by anyone."""
    shutil.copy(model, d / "model.nbsm")
    (d / "a.ipynb").write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    (d / "cells.jsonl").write_text('{"id": "a.ipynb#0", "source": "import os"}\n')
    (d / "gold.tsv").write_text("cell_id\tlabel\na.ipynb#0\timports\n")
    (d / "votes.tsv").write_text("0\t1\n1\t1\n")
    (d / "weak.jsonl").write_text('{"id": "a.ipynb#0", "stage": "imports", "probabilities": {"imports": 1.0}}\n')
    for p in d.iterdir():
        p.chmod(0o644)


def input_id(case):
    """'label --truth', 'classify NBSTAGE_MODEL', 'classify x.py': the input under test."""
    cmd, args, name, var = case
    k = args.index("{f}") if "{f}" in args else -1
    flag = args[k - 1] if k > 0 and args[k - 1] in ("-m", "--gold", "--rules", "--votes", "--truth", "--cells") else ""
    return f"{cmd} {var or flag or ('--predictions' if '--predictions' in args else name)}"


@pytest.mark.parametrize("kind", ["missing", "unreadable", "a directory"])
@pytest.mark.parametrize("cmd,args,name,var", INPUTS, ids=[input_id(c) for c in INPUTS])
def test_an_input_that_cannot_be_opened_is_said_alike_by_every_command(model, kind, cmd, args, name, var):
    """A missing notebook was "PATH: No such file or directory" (the walkers, classify's
    notebook), a missing JSON Lines file, model, rule or hand-label file "PATH: cannot
    open: No such file or directory" (classify's cells or .py file, eval, label, train,
    the model of every command), NBSTAGE_RULES's "cannot read: ...", and classify said
    of a folder "not a regular file".  One wording now, as cat and grep say it:
    "PATH: REASON", and "PATH: is a directory, not WHAT" (ingest, which goes on with the
    other notebooks, still says first that it skipped one).  Unreadable: mode 000, read
    as nobody when the tests run as root (who reads any file)."""
    if kind == "a directory" and var == "NBSTAGE_RULES":
        pytest.skip("a variable's bad file is named twice, NBSTAGE_RULES=PATH: PATH: ... (test_label_more.py)")
    d = Path(tempfile.mkdtemp(prefix="nbstage-inputs-"))
    try:
        d.chmod(0o777)  # nobody writes train's -o there
        files_for(d, model)
        f = d / name
        if kind == "unreadable":
            f.write_text("x\n")
            f.chmod(0)
        elif kind == "a directory":
            f.mkdir()
        words = [w.format(f=f, model=d / "model.nbsm") for w in args]
        env = {k: v for k, v in os.environ.items() if k not in ("NBSTAGE_MODEL", "NBSTAGE_RULES")}
        if var:
            env[var] = str(f)
        drop = {}
        if kind == "unreadable" and os.geteuid() == 0:  # (the other kinds are alike for any user)
            skip_unless_nobody_can_run()
            drop = as_nobody()
        r = subprocess.run([str(BIN), cmd, *words], cwd=d, env=env, capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL, **drop)
        said = f"{var}={f}" if var else f"{f}"
        why = {"missing": "No such file or directory", "unreadable": "Permission denied",
               "a directory": "is a directory, not "}[kind]
        skipped = "bad notebook skipped: " if cmd == "ingest" and kind != "missing" else ""
        assert r.returncode == 2, r
        assert re.search(f"^nbstage {cmd}: {re.escape(skipped + said)}: {re.escape(why)}", r.stderr, re.M), r.stderr
        if kind != "a directory":
            assert f"{said}: {why}\n" in r.stderr, r.stderr  # the reason alone, nothing after it
    finally:
        subprocess.run(["rm", "-rf", str(d)])


def notebook_json(sources, language=None):
    """A notebook of code cells SOURCES, its kernel's language LANGUAGE (None: Python)."""
    meta = {"language_info": {"name": language}} if language else {}
    return json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                                  "outputs": [], "source": s} for i, s in enumerate(sources)],
                       "metadata": meta, "nbformat": 4, "nbformat_minor": 5})


# (command, its arguments, the file and its text, the note on stderr without -q)
NOTES = [
    (["classify"], "r.ipynb", notebook_json(["x <- 1"], "R"), "r.ipynb: not Python (r): not classified"),
    (["classify"], "empty.ipynb", notebook_json([]), "empty.ipynb: no code cells"),
    (["classify", "--json"], "cells.txt", '{"id": "a#0", "source": "import os"}\n',
     "cells.txt: classified as one cell of code, but it looks like JSON Lines"),
    (["summary"], "r.ipynb", notebook_json(["x <- 1"], "R"), "r.ipynb: not Python (r): no stage map"),
    (["summary", "--json"], "r.ipynb", notebook_json(["x <- 1"], "R"), "r.ipynb: not Python (r): no stage map"),
    (["summary", "--saved"], "r.ipynb", notebook_json(["x <- 1"], "R"), "r.ipynb: not Python (r): the stages saved"),
]


@pytest.mark.parametrize("args,name,text,note", NOTES, ids=[" ".join(n[0]) + " " + n[1] for n in NOTES])
def test_q_silences_the_notes_of_classify_and_summary_as_of_the_others(model, tmp_path, args, name, text, note):
    """tag, ingest, label, fmt, eval and train take -q for a run that says on stderr
    only what went wrong; classify and summary had no -q, and their notes (a notebook
    not in Python, one without code cells, a file classified as code that looks like
    JSON Lines) could not be silenced in a script that treats any stderr as a failure.
    -q now drops the notes and nothing else: the same output, the same exit, and an
    error still said."""
    f = tmp_path / name
    f.write_text(text)
    cmd = [args[0], "-m", model, *args[1:]] if "--saved" not in args else args
    loud, quiet = run(*cmd, f), run(*cmd, "-q", f)
    assert loud.returncode == 0 and note in loud.stderr, loud
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, loud.stdout, ""), quiet
    r = run(*cmd, "-q", tmp_path / "missing.ipynb")  # an error is not a note
    assert r.returncode == 2 and r.stderr == f"nbstage {args[0]}: {tmp_path / 'missing.ipynb'}: No such file or " \
        "directory\n", r.stderr


def test_summary_q_still_says_a_folder_without_notebooks(model, tmp_path):
    """As ingest says a PATH without notebooks even with -q (and tag without -q): most
    often the wrong folder, and the run has nothing else to show for it."""
    r = run("summary", "-q", "-m", model, tmp_path)
    assert r.returncode == 0 and r.stderr == f"nbstage summary: {tmp_path}: no notebooks (.ipynb) found\n", r.stderr
