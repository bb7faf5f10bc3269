"""test_outputs.py — the programs' output files other than notebooks (ingest -o,
train's model and learning curves, label -o/--report, eval --errors/--svg, summary
--svg) are written atomically, by one writer (nbformat/outfile.c).

A write that fails (here: the file size limit of `ulimit -f`, with SIGXFSZ ignored, so
write(2) answers EFBIG as it would ENOSPC) must leave the previous file byte for byte,
exit non-zero naming the path, and leave no temporary beside it.  label -o, --report,
--svg, eval --errors and --svg opened the file with fopen "w" and lost the old content
(and wrote over a read-only file as root); the learning curves went through a fixed
name PATH.tmp, which fopen followed when a symlink was planted there; summary --svg
refused /dev/null and FIFOs.  (ingest -o, train -o, the curves and summary --svg kept
the old file on a failed write already; they are here so that they go on doing so.)"""
import json
import os
import resource
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT)) / "nbstage"
ENV = dict(os.environ, NBSTAGE_RULES=str(ROOT / "share" / "rules.txt"))
KEYS = ["load", "prep", "train", "evaluate", "explore", "imports"]
SOURCES = {
    "load": ["df = pd.read_csv('data/train{i}.csv')", "data = pd.read_json('p{i}.json')"],
    "prep": ["df = df.fillna({i})", "X = df.drop(columns=['target{i}'])"],
    "train": ["model.fit(X_train, y_train)  # {i}", "clf = RandomForestClassifier(n_estimators={i})"],
    "evaluate": ["print(accuracy_score(y_test, pred{i}))", "confusion_matrix(y_test, pred{i})"],
    "explore": ["df.head({i})", "sns.countplot(x='label{i}', data=df)"],
    "imports": ["import numpy as np  # {i}", "from sklearn.svm import SVC  # {i}"],
}
OLD = b"the previous file\n"
LIMIT = 1000  # bytes: every output below is larger

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built")


def run(args, limit=None, stdin=None):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return subprocess.run([str(BIN), *map(str, args)], input=stdin, capture_output=True, text=True,
                          timeout=300, env=ENV, preexec_fn=pre if limit else None)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Cells, weak labels, a gold file, predictions that are all wrong, a tiny model."""
    d = tmp_path_factory.mktemp("outputs")
    cells, gold, preds = [], ["cell_id\tlabel"], []
    for i in range(40):
        for k, (stage, srcs) in enumerate(SOURCES.items()):
            cid = f"nb{i % 7}.ipynb#{i * 6 + k}"
            cells.append({"id": cid, "notebook": f"nb{i % 7}.ipynb", "index": i * 6 + k,
                          "source": srcs[i % 2].format(i=i)})
            gold.append(f"{cid}\t{stage}")
            wrong = KEYS[(k + 1) % 6]
            preds.append({"id": cid, "stage": wrong, "probabilities": {wrong: 0.9}})
    (d / "cells.jsonl").write_text("".join(json.dumps(c) + "\n" for c in cells))
    (d / "gold.tsv").write_text("\n".join(gold) + "\n")
    (d / "preds.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))
    r = run(["label", "-q", "-o", d / "weak.jsonl", d / "cells.jsonl"])
    assert r.returncode == 0, r.stderr
    r = run(["train", "-q", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1",
             "--cells", d / "cells.jsonl", "-o", d / "tiny.nbsm", d / "weak.jsonl"])
    assert r.returncode == 0, r.stderr
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                     "source": c["source"]} for c in cells[:60]],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (d / "nb.ipynb").write_text(json.dumps(nb))
    return d


def commands(d, out):
    """(name, arguments) of each command writing the file OUT, all larger than LIMIT."""
    train = ["train", "-q", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1",
             "--cells", d / "cells.jsonl"]
    return [
        ("label -o", ["label", "-q", "-o", out, d / "cells.jsonl"]),
        ("label --report", ["label", "--report", out, d / "cells.jsonl"]),
        ("label --svg", ["label", "-q", "--gold", d / "gold.tsv", "--svg", out, d / "cells.jsonl"]),
        ("eval --errors", ["eval", "-q", "--predictions", "--gold", d / "gold.tsv", "--errors", out,
                           d / "preds.jsonl"]),
        ("eval --svg", ["eval", "-q", "--predictions", "--gold", d / "gold.tsv", "--svg", out, d / "preds.jsonl"]),
        ("summary --svg", ["summary", "-m", d / "tiny.nbsm", "--svg", out, d / "nb.ipynb"]),
        ("ingest -o", ["ingest", "-q", "-o", out, d / "nb.ipynb"]),
        ("train -o", [*train, "-o", out, d / "weak.jsonl"]),
    ]


@pytest.mark.parametrize("name", [c[0] for c in commands(Path("."), "x")])
def test_a_failed_write_keeps_the_previous_file(data, tmp_path, name):
    """Under `ulimit -f` the write fails: the old file is untouched, the exit is
    non-zero with the path named, and no temporary is left.  label -o, label --report,
    label --svg, eval --errors and eval --svg truncated the old file first (fopen "w")."""
    out = tmp_path / "out"
    args = dict(commands(data, out))[name]
    r = run(args)  # without the limit: the output is larger than the limit
    assert r.returncode in (0, 1), (name, r.stderr)
    assert out.stat().st_size > LIMIT, name
    out.write_bytes(OLD)
    out.chmod(0o640)
    r = run(args, limit=LIMIT)
    assert r.returncode == 2, (name, r.stderr)
    assert str(out) in r.stderr, (name, r.stderr)
    assert out.read_bytes() == OLD, name
    assert stat.S_IMODE(out.stat().st_mode) == 0o640
    assert sorted(os.listdir(tmp_path)) == ["out"], name


def test_a_failed_curves_write_keeps_the_previous_curves(data, tmp_path):
    """The learning curves too: the SVG (larger than the limit) stays as it was, the
    run stops with its name, and no temporary is left."""
    base = tmp_path / "c"
    csv, svg = Path(f"{base}.csv"), Path(f"{base}.svg")
    args = ["train", "-q", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1",
            "--cells", data / "cells.jsonl", "--curves", base, "-o", "/dev/null", data / "weak.jsonl"]
    assert run(args).returncode == 0
    assert csv.stat().st_size < LIMIT < svg.stat().st_size  # so the SVG is the one that fails
    csv.write_bytes(OLD)
    svg.write_bytes(OLD)
    r = run(args, limit=LIMIT)
    assert r.returncode == 2 and str(svg) in r.stderr, r.stderr
    assert svg.read_bytes() == OLD
    assert sorted(os.listdir(tmp_path)) == ["c.csv", "c.svg"]


def test_curves_do_not_follow_a_symlink_at_the_old_temporary_name(data, tmp_path):
    """curves.c wrote PATH.tmp with fopen and renamed it: a symlink planted at
    PATH.tmp was followed (its target overwritten), and two runs clobbered each other's
    temporary.  Now a fresh temporary each time: the link and its target stay."""
    victim = tmp_path / "victim"
    victim.write_bytes(OLD)
    base = tmp_path / "c"
    for ext in ("csv", "svg"):
        os.symlink(victim, f"{base}.{ext}.tmp")
    r = run(["train", "-q", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1",
             "--cells", data / "cells.jsonl", "--curves", base, "-o", "/dev/null", data / "weak.jsonl"])
    assert r.returncode == 0, r.stderr
    assert victim.read_bytes() == OLD
    for ext in ("csv", "svg"):
        assert os.path.islink(f"{base}.{ext}.tmp")
        assert stat.S_ISREG(os.lstat(f"{base}.{ext}").st_mode)
    assert Path(f"{base}.csv").read_text().startswith("epoch,loss")
    assert sorted(os.listdir(tmp_path)) == ["c.csv", "c.csv.tmp", "c.svg", "c.svg.tmp", "victim"]


def test_outputs_into_a_fifo_are_written_not_replaced(data, tmp_path):
    """A FIFO (or /dev/null) is written into, as a shell's `>` would: summary --svg
    refused it ("not a regular file"); label, eval replaced nothing either way."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for name, args in commands(data, fifo):
        got = []
        t = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
        t.start()
        r = run(args)
        if r.returncode not in (0, 1):
            open(fifo, "wb").close()  # release the reader
        t.join(60)
        assert r.returncode in (0, 1), (name, r.stderr)
        assert len(got[0]) > LIMIT, name
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.listdir(tmp_path) == ["fifo"], name
    r = run(["summary", "-m", data / "tiny.nbsm", "--svg", "/dev/null", data / "nb.ipynb"])
    assert r.returncode == 0, r.stderr
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_read_only_output_or_a_folder_is_refused(data, tmp_path):
    """An existing read-only file is left alone (a rename would replace it), and a
    folder is refused by name, by every writer."""
    ro = tmp_path / "ro"
    ro.write_bytes(OLD)
    ro.chmod(0o444)
    for target, why in ((ro, "read-only file"), (tmp_path, "is a directory, not a file to write")):
        for name, args in commands(data, target):
            r = run(args)
            assert r.returncode == 2 and f"{target}: {why}" in r.stderr, (name, r.stderr)
            assert ro.read_bytes() == OLD, name
    assert sorted(os.listdir(tmp_path)) == ["ro"]


@pytest.mark.parametrize("opt", ["-o", "--report", "--svg"])
def test_label_refuses_an_unwritable_output_before_it_reads_the_cells(data, tmp_path, opt):
    """label checks its outputs first, as train does: a read-only target is named at
    once, not after the whole run (its input here is a pipe that never ends)."""
    ro = tmp_path / "ro"
    ro.write_bytes(OLD)
    ro.chmod(0o444)
    extra = ["--gold", data / "gold.tsv"] if opt == "--svg" else []
    rfd, wfd = os.pipe()  # held open: the input never ends
    p = subprocess.Popen([str(BIN), "label", "-q", *map(str, extra), opt, str(ro)], env=ENV,
                         stdin=rfd, stderr=subprocess.PIPE, text=True)
    os.close(rfd)
    try:
        err = p.communicate(timeout=10)[1]
    finally:
        p.kill()
        os.close(wfd)
    assert p.returncode == 2 and f"{ro}: read-only file" in err, err
    assert ro.read_bytes() == OLD


SHARED = Path(os.environ.get("NBSTAGE_SHARED", ROOT.parent / "shared"))


@pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="../shared absent")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_a_write_leaves_the_old_file_and_no_temporary(tmp_path, sig):
    """Ctrl-C (or SIGTERM, SIGHUP) while ingest -o writes: the program still ends by
    the signal, the old file is as it was, and its temporary (~100 MB for the corpus)
    is removed, not left hidden beside it (it was before)."""
    out = tmp_path / "cells.jsonl"
    out.write_bytes(OLD)
    # The signal's default action in the child, as from a terminal: an ignored signal
    # stays ignored (outfile.c; under nohup, SIGHUP is), and then ingest rightly went on.
    p = subprocess.Popen([str(BIN), "ingest", "-q", "-j", "1", "-o", str(out), str(SHARED / "corpus")],
                         env=ENV, stderr=subprocess.PIPE, preexec_fn=lambda: signal.signal(sig, signal.SIG_DFL))
    # The signal goes in once the temporary has data, so while it is written: sent the
    # moment the file appeared, it could land before the program had noted the name
    # for its handler (a window of a few instructions after the file's creation, which
    # the busy loop here hit once in the sanitizer pass on a loaded machine: ended by
    # SIGHUP, the temporary left).
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline:
        tmps = [n for n in os.listdir(tmp_path) if ".nbstage-" in n]
        try:
            if tmps and (tmp_path / tmps[0]).stat().st_size > 0:
                break
        except FileNotFoundError:
            pass
    assert p.poll() is None, "ingest ended before its temporary was written"
    p.send_signal(sig)
    p.communicate(timeout=60)
    assert p.returncode == -sig
    assert os.listdir(tmp_path) == ["cells.jsonl"] and out.read_bytes() == OLD


@pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="../shared absent")
def test_under_nohup_a_hangup_does_not_stop_a_write(tmp_path):
    """`nohup nbstage ingest -o ...`: SIGHUP comes in ignored, and stays ignored (the
    program's own handler is for signals left at their default), so the hang-up of the
    terminal does not cost the run: it ends normally with the new file in place."""
    out = tmp_path / "cells.jsonl"
    out.write_bytes(OLD)
    p = subprocess.Popen([str(BIN), "ingest", "-q", "-j", "1", "-o", str(out), str(SHARED / "corpus")],
                         env=ENV, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    deadline = time.monotonic() + 60
    while p.poll() is None and time.monotonic() < deadline:
        if any(".nbstage-" in n for n in os.listdir(tmp_path)):
            break
    p.send_signal(signal.SIGHUP)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    assert os.listdir(tmp_path) == ["cells.jsonl"] and out.read_bytes() != OLD
    assert out.read_bytes().count(b"\n") > 100000
