"""test_train_more.py — `nbstage train` (with eval's and label's outputs) as a user
coming from Keras runs them, where the settings, inputs or output names are odd: an
output name that cannot be a file (empty, ending in '/'), two outputs naming one
file or an output naming an input, a validation fraction that rounds to no cell, a
weak file with too few usable cells, inputs from stdin, --cells with one id and two
sources, a byte-order mark, a long weak path in the model's provenance, Ctrl-C in an
epoch's last batch, early stopping's line, blank or comment-only sources with a
stage.  The models trained here are a few dozen to 300 cells, tiny layers, in well
under a second each."""
import json
import re
import os
import subprocess
from pathlib import Path

import pytest

from stderr_packets import lines_cut, run_stderr_packets

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT)) / "nbstage"


def rest_of_stderr(p, timeout):
    """What P writes to stderr from here until it exits.  Not p.communicate(): that
    reads the pipe's descriptor, and what readline() had already taken into the file
    object's buffer (the lines of epochs that ended meanwhile) was lost (CI, SIGHUP:
    epochs 3 and 4 finished, their lines gone, the best epoch 3 "not finished")."""
    import threading
    got = []
    reader = threading.Thread(target=lambda: got.append(p.stderr.read()), daemon=True)
    reader.start()
    reader.join(timeout)
    if reader.is_alive():
        p.kill()
        reader.join()
    p.wait(timeout=timeout)
    return got[0] if got else ""


KEYS = ["load", "prep", "train", "evaluate", "explore", "imports"]
SMALL = ["--embed", "8", "--hidden", "4", "--vocab", "200", "--seq-len", "12", "--threads", "1",
         "--epochs", "1", "--batch", "16"]
SOURCES = {
    "load": "df = pd.read_csv('data{}.csv')",
    "prep": "df = df.fillna({})",
    "train": "model.fit(X, y, epochs={})",
    "evaluate": "print(accuracy_score(y_test, pred), {})",
    "explore": "df.head({})",
    "imports": "import numpy as np{}",
}

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built")


def run(args, cwd=None):
    return subprocess.run([str(BIN)] + [str(a) for a in args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def weak_lines(notebooks, per_notebook):
    """Weak labels with their own source: NOTEBOOKS notebooks of PER_NOTEBOOK cells."""
    out = []
    for n in range(notebooks):
        for k in range(per_notebook):
            stage = KEYS[(n + k) % len(KEYS)]
            p = {s: (0.9 if s == stage else 0.02) for s in KEYS}
            out.append({"id": f"nb{n}.ipynb#{k}", "stage": stage, "probabilities": p,
                        "source": SOURCES[stage].format(f"{n}_{k}")})
    return out


@pytest.fixture
def weak(tmp_path):
    path = tmp_path / "weak.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in weak_lines(10, 4)))
    return path


def test_an_output_name_that_cannot_be_a_file_is_refused_before_training(weak, tmp_path):
    """-o '' (a script's unset "$MODEL") or -o new/ passed the check made before
    training, trained every epoch, then failed at the rename: "nbstage train: :
    rename: No such file or directory".  Now refused first, nothing trained or made;
    the same for eval's --svg, which printed its report first, and label's -o."""
    for out, says in (("", "empty name"), ("newdir/", "cannot create newdir/: a name that ends in '/' is a directory's, not a file's")):
        r = run(["train"] + SMALL + ["-o", out, weak], cwd=tmp_path)
        assert r.returncode == 2 and says in r.stderr and "epoch" not in r.stderr, r.stderr
        assert "rename" not in r.stderr
    assert not (tmp_path / "newdir").exists()
    for curves in ("", "out/"):
        r = run(["train"] + SMALL + ["-o", tmp_path / "m.nbsm", "--curves", curves, weak], cwd=tmp_path)
        assert r.returncode == 2 and "--curves" in r.stderr and "epoch" not in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weak.jsonl"]
    gold = tmp_path / "gold.tsv"
    gold.write_text("nb0.ipynb#0\tload\n")
    r = run(["eval", "--predictions", "--gold", gold, "--svg", "", weak])
    assert r.returncode == 2 and "empty name" in r.stderr and r.stdout == "", (r.stdout, r.stderr)
    r = run(["label", "-q", "-o", "", weak])
    assert r.returncode == 2 and "empty name" in r.stderr, r.stderr


def test_two_outputs_naming_one_file_are_refused(weak, tmp_path):
    """-o curves.svg --curves curves: the model, written last, replaced the curves'
    picture (exit 0); eval --svg X --errors X: the errors replaced the picture.  label
    refused its own such pairs already; train and eval now do as well."""
    for out, curves in (("c.svg", "c"), ("c.csv", "c.svg"), ("./c.csv", "c")):
        r = run(["train"] + SMALL + ["-o", out, "--curves", curves, weak], cwd=tmp_path)
        assert r.returncode == 2 and "same file" in r.stderr and "epoch" not in r.stderr, r.stderr
    (tmp_path / "target.csv").write_text("")
    (tmp_path / "link.nbsm").symlink_to("target.csv")
    r = run(["train"] + SMALL + ["-o", "link.nbsm", "--curves", "target", weak], cwd=tmp_path)
    assert r.returncode == 2 and "same file" in r.stderr, r.stderr
    r = run(["train"] + SMALL + ["-q", "-o", "m.nbsm", "--curves", "m", weak], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "m.csv").read_text().startswith("epoch,") and (tmp_path / "m.nbsm").exists()
    gold = tmp_path / "gold.tsv"
    gold.write_text("nb0.ipynb#0\tload\nnb0.ipynb#1\tload\n")
    r = run(["eval", "--predictions", "--gold", gold, "--svg", "e.out", "--errors", "./e.out", weak], cwd=tmp_path)
    assert r.returncode == 2 and "same file" in r.stderr and r.stdout == "", r.stderr
    r = run(["eval", "--predictions", "-q", "--gold", gold, "--svg", "e.svg", "--errors", "e.tsv", weak], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "e.svg").read_text().startswith("<") and (tmp_path / "e.tsv").read_text().startswith("cell_id")


def test_a_small_val_split_still_validates_on_one_notebook(tmp_path):
    """--val-split 0.01 of 40 cells rounds to no cell: the split took none, so training
    ran without validation (no val_acc, no early stopping, the last epoch kept), the
    log saying only "0 validation cells".  As Keras refuses a validation_split that
    leaves no sample, a fraction above 0 now takes at least one notebook.  A corpus
    of one notebook is still never split, and the log says why there is no val_acc."""
    path = tmp_path / "weak.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in weak_lines(10, 4)))
    r = run(["train"] + SMALL + ["--epochs", "2", "--val-split", "0.01", "-o", tmp_path / "m.nbsm", path])
    assert r.returncode == 0, r.stderr
    assert "36 training cells, 4 validation cells" in r.stderr, r.stderr
    assert "epoch 2/2:" in r.stderr and "val_acc" in r.stderr.split("epoch 2/2:")[1]
    # the usual fraction: the same split as before (whole notebooks, at least a quarter)
    r = run(["train"] + SMALL + ["-o", tmp_path / "m.nbsm", path])
    assert r.returncode == 0 and "28 training cells, 12 validation cells" in r.stderr, r.stderr
    one = tmp_path / "one.jsonl"
    one.write_text("".join(json.dumps(x) + "\n" for x in weak_lines(1, 5)))
    r = run(["train"] + SMALL + ["-o", tmp_path / "m.nbsm", one])
    assert r.returncode == 0 and "5 training cells, 0 validation cells" in r.stderr, r.stderr
    assert "one notebook" in r.stderr and "no validation set" in r.stderr


def test_too_few_usable_cells_says_every_reason(tmp_path):
    """A weak file whose lines all have one source: "1 usable cells (40 lines, 0
    abstained, 0 without source; give --cells)", the duplicates it dropped unsaid and
    --cells asked for though every line had its source.  Now each reason is counted,
    and --cells is asked for only when sources are missing."""
    lines = weak_lines(10, 4)
    for x in lines:
        x["source"] = "df.head()"
    path = tmp_path / "weak.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = run(["train"] + SMALL + ["-o", tmp_path / "m.nbsm", path])
    assert r.returncode == 2 and "1 usable cells" in r.stderr and "39 duplicates" in r.stderr, r.stderr
    assert "give --cells" not in r.stderr
    lines = weak_lines(2, 3)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = run(["train"] + SMALL + ["--min-confidence", "0.95", "-o", tmp_path / "m.nbsm", path])
    assert r.returncode == 2 and "0 usable cells" in r.stderr and "6 below --min-confidence" in r.stderr, r.stderr
    for x in lines:
        del x["source"]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = run(["train"] + SMALL + ["-o", tmp_path / "m.nbsm", path])
    assert r.returncode == 2 and "6 without source; give --cells" in r.stderr, r.stderr
    assert not (tmp_path / "m.nbsm").exists()


def test_weak_labels_or_cells_from_stdin(tmp_path):
    """`nbstage label cells.jsonl | nbstage train - ...`, as label and classify take '-'
    for standard input, failed: "nbstage train: -: cannot open: No such file or
    directory".  WEAK.jsonl or --cells may now be '-' (not both), named <stdin> in
    messages and in the model's provenance."""
    lines = weak_lines(4, 3)
    text = "".join(json.dumps(x) + "\n" for x in lines)
    model = tmp_path / "m.nbsm"
    r = subprocess.run([str(BIN), "train"] + SMALL + ["-o", str(model), "-"], input=text, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and model.exists(), r.stderr
    assert b"cells from <stdin>;" in model.read_bytes()
    cells = "".join(json.dumps({"id": x["id"], "source": x["source"]}) + "\n" for x in lines)
    weak = tmp_path / "weak.jsonl"
    weak.write_text("".join(json.dumps({k: v for k, v in x.items() if k != "source"}) + "\n" for x in lines))
    r = subprocess.run([str(BIN), "train"] + SMALL + ["-q", "--cells", "-", "-o", str(model), str(weak)],
                       input=cells, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = subprocess.run([str(BIN), "train"] + SMALL + ["--cells", "-", "-o", str(model), "-"], input=cells,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "both be standard input" in r.stderr, r.stderr
    r = subprocess.run([str(BIN), "train"] + SMALL + ["-o", str(model), "-"], input='{"id": "a#0"}\n',
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "<stdin>:1:" in r.stderr, r.stderr


def test_cells_with_one_id_and_two_sources_are_refused(tmp_path):
    """Two ingest outputs joined with cat (each PATH's ids relative to it) can hold one
    id twice with two sources; the join gave every weak line of that id the one cell
    bsearch happened to find, so a label computed on one notebook's cell trained on
    another's source, unsaid.  Refused now, with both lines; the same cell twice (one
    file concatenated with itself) still trains."""
    lines = weak_lines(3, 4)
    cells = [{"id": x["id"], "source": x["source"]} for x in lines]
    other = [dict(c, source="import os  # another notebook's cell") for c in cells[:2]]
    weak = tmp_path / "weak.jsonl"
    weak.write_text("".join(json.dumps({k: v for k, v in x.items() if k != "source"}) + "\n" for x in lines))
    joined = tmp_path / "cells.jsonl"
    joined.write_text("".join(json.dumps(c) + "\n" for c in cells + other))
    r = run(["train"] + SMALL + ["--cells", joined, "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 2 and "cells.jsonl:1 and 13: one id, two sources (nb0.ipynb#0)" in r.stderr, r.stderr
    assert "epoch" not in r.stderr and not (tmp_path / "m.nbsm").exists()
    joined.write_text("".join(json.dumps(c) + "\n" for c in cells + cells))
    r = run(["train"] + SMALL + ["-q", "--cells", joined, "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_one_id_with_two_stages_is_refused(tmp_path):
    """Two weak files joined with cat, one of them edited, gave a cell two labels, and
    it was trained towards both without a word (with --keep-duplicates, as the README's
    recipe runs it; without, whichever came first).  Refused now, with both lines; the
    same label twice still trains."""
    lines = weak_lines(3, 4)
    other = dict(lines[5], stage="train" if lines[5]["stage"] != "train" else "load")
    weak = tmp_path / "weak.jsonl"
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines + [other]))
    for extra in ([], ["--keep-duplicates"]):
        r = run(["train"] + SMALL + extra + ["-o", tmp_path / "m.nbsm", weak])
        assert r.returncode == 2, r.stderr
        assert (f"weak.jsonl:6 and 13: one id, two stages (nb1.ipynb#1: {lines[5]['stage']}, then "
                f"{other['stage']})") in r.stderr, r.stderr
        assert "epoch" not in r.stderr and not (tmp_path / "m.nbsm").exists()
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines + [lines[5]]))
    r = run(["train"] + SMALL + ["-q", "--keep-duplicates", "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_weak_labels_of_notebooks_changed_since_label_ran_are_left_out(tmp_path):
    """Ids are positions (PATH#K): a notebook edited (a cell inserted at the top) and
    ingested again gave each weak label of it the source of the cell before, and train
    said only that one label had no source.  label now writes each cell's
    source_digest; train leaves out, and names, the labels whose --cells source is
    another, even with -q."""
    def notebook(path, sources):
        cells = [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "metadata": {},
                  "outputs": [], "source": src} for i, src in enumerate(sources)]
        path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for n in range(6):
        notebook(corpus / f"nb{n}.ipynb", [SOURCES[k].format(n) for k in KEYS])
    cells, weak = tmp_path / "cells.jsonl", tmp_path / "weak.jsonl"
    assert run(["ingest", "-q", "-o", cells, corpus]).returncode == 0
    r = run(["label", "-q", "-o", weak, cells])
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in weak.read_text().splitlines()]
    assert all(len(x["source_digest"]) == 16 for x in lines)
    r = run(["train"] + SMALL + ["--cells", cells, "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 0, r.stderr
    used = lambda log: sum(map(int, re.search(r"(\d+) training cells, (\d+) validation cells", log).groups()))
    before = used(r.stderr)
    notebook(corpus / "nb2.ipynb", ["import os"] + [SOURCES[k].format(2) for k in KEYS])
    assert run(["ingest", "-q", "-o", cells, corpus]).returncode == 0
    r = run(["train"] + SMALL + ["-q", "--cells", cells, "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 0, r.stderr
    r_log = run(["train"] + SMALL + ["--cells", cells, "-o", tmp_path / "m2.nbsm", weak])
    n_changed = sum(1 for x in lines if x["id"].startswith("nb2.ipynb#") and x["stage"])
    assert used(r_log.stderr) == before - n_changed, r_log.stderr  # left out, not trained on
    said = [x for x in r.stderr.splitlines() if "another source" in x]
    n_labeled = sum(1 for x in lines if x["id"].startswith("nb2.ipynb#") and x["stage"])
    assert said and said[0].startswith(f"nbstage train: {n_labeled} of {len(lines)} weak labels were made from "
                                       f"another source than {cells} has (nb2.ipynb#0, nb2.ipynb#1, nb2.ipynb#2, "
                                       "...): left out"), r.stderr


def test_the_lines_naming_labels_left_out_reach_stderr_in_one_write(tmp_path):
    """The line naming the weak labels without a source (and the one naming those of a
    changed source, made the same way) was written an id at a time, each piece a
    write(2) of its own on the unbuffered stderr: another process writing to the same
    log (a parallel run) could land inside it.  stderr is a packet-mode pipe here
    (stderr_packets.py)."""
    lines = weak_lines(10, 4)
    for x in lines[:5]:
        del x["source"]
    weak = tmp_path / "weak.jsonl"
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    got = run_stderr_packets([BIN, "train"] + SMALL + ["-q", "-o", tmp_path / "m.nbsm", weak])
    if got is None:
        pytest.skip("no packet-mode pipes here")
    rc, packets = got
    assert rc == 0, packets
    assert not lines_cut(packets), packets
    assert packets == [b"nbstage train: 5 of 40 weak labels have no source; give --cells (nb0.ipynb#0, "
                       b"nb0.ipynb#1, nb0.ipynb#2, ...): left out\n"], packets


def test_a_byte_order_mark_is_named_by_train_eval_and_classify(tmp_path):
    """A JSON Lines file saved with a UTF-8 byte-order mark (Notepad, Excel) made train,
    eval and classify quote the invisible mark: "'[' or '{' expected near ''".  label
    names it plainly; now train (the weak labels and --cells) and eval stop with the
    same words, exit 2, and classify answers the line with them, exit 1."""
    bom = "\ufeff"
    lines = weak_lines(3, 4)
    weak = tmp_path / "weak.jsonl"
    weak.write_text(bom + "".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    says = "starts with a UTF-8 byte-order mark (bytes EF BB BF)"
    r = run(["train"] + SMALL + ["-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 2 and f"weak.jsonl:1: the file {says}" in r.stderr, r.stderr
    cells = tmp_path / "cells.jsonl"
    cells.write_text(bom + "".join(json.dumps({"id": x["id"], "source": x["source"]}) + "\n" for x in lines),
                     encoding="utf-8")
    weak.write_text("".join(json.dumps({k: v for k, v in x.items() if k != "source"}) + "\n" for x in lines))
    r = run(["train"] + SMALL + ["--cells", cells, "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 2 and f"cells.jsonl:1: the file {says}" in r.stderr, r.stderr
    gold = tmp_path / "gold.tsv"
    gold.write_text("nb0.ipynb#0\tload\n")
    r = run(["eval", "--predictions", "--gold", gold, cells])
    assert r.returncode == 2 and f"cells.jsonl:1: the file {says}" in r.stderr, r.stderr
    model = tmp_path / "m.nbsm"  # a model of its own: the program may be far from share/
    (tmp_path / "plain.jsonl").write_text(cells.read_text(encoding="utf-8").lstrip(bom), encoding="utf-8")
    r = run(["train"] + SMALL + ["-q", "-o", model, "--cells", tmp_path / "plain.jsonl", weak])
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(BIN), "classify", "--model", str(model)], input=cells.read_text(encoding="utf-8"),
                       capture_output=True, text=True, timeout=60)
    first = json.loads(r.stdout.splitlines()[0])
    assert r.returncode == 1 and f"line 1: the file {says}" in first["error"], r.stdout
    assert len(r.stdout.splitlines()) == len(lines) and "error" not in r.stdout.splitlines()[1]


def test_ctrl_c_in_the_last_batch_keeps_that_epoch(tmp_path):
    """A Ctrl-C that came while the epoch's last batch ran threw the whole trained epoch
    away: "epoch 2/1000: interrupted after 300 of 300 sequences", the model the epoch
    before's.  That epoch is now validated and counted as any, and the next one stops
    before its first batch.  Here every epoch is one batch (--batch above the cell
    count), so any Ctrl-C after epoch 1 lands in a batch, which ends its epoch, or
    between epochs: the stop is always "after 0 of 300", whatever the timing."""
    import signal
    import time
    lines = weak_lines(30, 10)
    weak = tmp_path / "weak.jsonl"
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "m.nbsm"
    p = subprocess.Popen([str(BIN), "train", "--vocab", "100", "--embed", "32", "--hidden", "96", "--seq-len",
                          "60", "--batch", "1024", "--val-split", "0", "--epochs", "1000", "--threads", "1",
                          "-o", str(out), str(weak)], stderr=subprocess.PIPE, text=True)
    seen, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline:
        seen.append(p.stderr.readline())
        if not seen[-1] or seen[-1].startswith("epoch 1/"):
            break
    assert seen[-1].startswith("epoch 1/"), "".join(seen)
    time.sleep(0.03)  # most likely within epoch 2's batch (0.1 s here), where it was lost
    p.send_signal(signal.SIGINT)
    rest = rest_of_stderr(p, 120)
    log = "".join(seen) + rest
    stopped = re.search(r"^epoch (\d+)/1000: interrupted after (\d+) of 300 sequences$", rest, re.M)
    assert p.returncode == 0 and stopped and stopped.group(2) == "0", log
    last = int(stopped.group(1)) - 1
    assert re.search(rf"^epoch {last}/1000: loss", log, re.M), log
    assert f"wrote {out} (best epoch {last}, no validation set, interrupted)" in rest, log


def test_the_model_records_its_settings_after_a_long_weak_path(tmp_path):
    """The model's provenance line (eval prints it) is the weak file's path, then the
    settings; it was cut at 1,024 bytes, so a weak file deep in folders of long
    (non-ASCII) names lost its epochs, val_acc, dropout and seed, and could be cut
    within a character.  Now the path and the settings are whole."""
    deep = tmp_path
    for _ in range(5):
        deep = deep / ("é" * 120)  # 240 bytes a folder
    deep.mkdir(parents=True)
    weak = deep / "weak.jsonl"
    weak.write_text("".join(json.dumps(x) + "\n" for x in weak_lines(4, 3)))
    model = tmp_path / "m.nbsm"
    r = run(["train"] + SMALL + ["-q", "--seed", "7", "-o", model, weak])
    assert r.returncode == 0, r.stderr
    gold = tmp_path / "gold.tsv"
    gold.write_text("nb0.ipynb#0\tload\n")
    cells = tmp_path / "cells.jsonl"
    cells.write_text(json.dumps({"id": "nb0.ipynb#0", "source": "df = pd.read_csv('a.csv')"}) + "\n")
    r = subprocess.run([str(BIN), "eval", "--model", str(model), "--gold", str(gold), str(cells)],
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    info = r.stdout.decode("utf-8").splitlines()[1]  # strict: a character cut in two fails here
    assert f"cells from {weak}; soft targets; epochs 1 of 1" in info and info.endswith("cap 5000, seed 7"), info


def test_early_stopping_says_how_many_epochs_it_waited(weak, tmp_path):
    """--patience 0 stops at the first epoch without a better val_acc, as Keras'
    EarlyStopping(patience=0) does; the line said "no better val_acc for 0 epochs".
    It now says the epochs waited (1 with patience 0 or 1, one more with 2).  The 12
    validation cells allow at most 12 better epochs, so 30 epochs always stop early."""
    for patience, waited in (("0", "1 epoch,"), ("1", "1 epoch,"), ("2", "2 epochs,")):
        r = run(["train"] + SMALL + ["--epochs", "30", "--patience", patience, "-o", tmp_path / "m.nbsm", weak])
        assert r.returncode == 0 and f"early stopping: no better val_acc for {waited} best epoch" in r.stderr, \
            (patience, r.stderr)


def test_an_output_over_an_input_is_refused(weak, tmp_path):
    """`train weak.jsonl -o weak.jsonl` (a slip of the tab key) replaced the weak labels
    with the model, exit 0; so did -o over --cells (or a symlink to it), eval --errors
    over the cells or --svg over the hand labels, label -o over its cells or --report
    over a rule file.  Each is refused before any work, the input left as it was."""
    before = weak.read_bytes()
    cells = tmp_path / "cells.jsonl"
    cells.write_text("".join(json.dumps({"id": x["id"], "source": x["source"]}) + "\n"
                             for x in map(json.loads, before.decode().splitlines())))
    (tmp_path / "link.nbsm").symlink_to("cells.jsonl")
    gold = tmp_path / "gold.tsv"
    gold.write_text("nb0.ipynb#0\tload\n")
    rules = tmp_path / "mine.txt"
    rules.write_text("# no rule\n")
    labels_csv = tmp_path / "labels.csv"  # weak labels under a name --curves labels writes
    labels_csv.write_bytes(before)
    kept = {p: p.read_bytes() for p in (weak, cells, gold, rules, labels_csv)}
    for args in (["train"] + SMALL + ["-o", weak, weak],
                 ["train"] + SMALL + ["--cells", cells, "-o", tmp_path / "link.nbsm", weak],
                 ["train"] + SMALL + ["-o", tmp_path / "m.nbsm", "--curves", tmp_path / "labels", labels_csv],
                 ["eval", "--predictions", "--gold", gold, "--errors", weak, weak],
                 ["eval", "--predictions", "--gold", gold, "--svg", gold, weak],
                 ["label", "-q", "-o", cells, cells],
                 ["label", "-q", "--rules", rules, "--report", rules, cells]):
        r = run(args)
        assert r.returncode == 2 and "the output would replace the input" in r.stderr, (args, r.stderr)
        assert "epoch" not in r.stderr and r.stdout == "", (args, r.stderr)
    assert {p: p.read_bytes() for p in kept} == kept
    # --curves weak.jsonl writes weak.jsonl.csv and .svg: not the input
    r = run(["train"] + SMALL + ["-q", "-o", tmp_path / "m.nbsm", "--curves", weak, weak])
    assert r.returncode == 0 and weak.read_bytes() == before, r.stderr
    assert (tmp_path / "weak.jsonl.csv").exists()


def test_an_output_over_the_model_or_the_file_piped_in_is_refused(weak, tmp_path):
    """eval --svg m.nbsm (or --errors) over the model it scores replaced the model, exit 0;
    and an input given as '-' was never compared with the outputs: `label - -o c.jsonl <
    c.jsonl`, `eval - --errors c.jsonl < c.jsonl`, `train - -o w.jsonl < w.jsonl` and
    `train --cells -` replaced the file piped in.  `ingest a.ipynb -o a.ipynb` replaced
    the notebook with its cells' lines.  `tag -o` and `summary --svg` over the model
    taken from NBSTAGE_MODEL (or the shipped one), and `label -o`/`--report` over the
    default rules (NBSTAGE_RULES, or share/rules.txt), replaced them, exit 0: every later
    run failed.  Each is refused before any work, nothing changed."""
    model = tmp_path / "m.nbsm"
    r = run(["train"] + SMALL + ["-q", "-o", model, weak])
    assert r.returncode == 0, r.stderr
    cells = tmp_path / "cells.jsonl"
    cells.write_text("".join(json.dumps({"id": x["id"], "source": x["source"]}) + "\n"
                             for x in map(json.loads, weak.read_text().splitlines())))
    gold = tmp_path / "gold.tsv"
    gold.write_text("nb0.ipynb#0\tload\n")
    nb = tmp_path / "a.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {},
                                         "outputs": [], "execution_count": None}],
                              "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    rules = tmp_path / "rules.txt"
    rules.write_bytes((ROOT / "share" / "rules.txt").read_bytes())
    kept = {p: p.read_bytes() for p in (model, cells, weak, gold, nb, rules)}
    by_env = dict(os.environ, NBSTAGE_MODEL=str(model), NBSTAGE_RULES=str(rules))
    for args, stdin in ((["eval", "--model", model, "--gold", gold, "--svg", model, cells], None),
                        (["eval", "--model", model, "--gold", gold, "--errors", model, cells], None),
                        (["eval", "--model", model, "--gold", gold, "--errors", cells, "-"], cells),
                        (["label", "-q", "-", "-o", cells], cells),
                        (["label", "-q", "-o", cells], cells),
                        (["train"] + SMALL + ["-o", weak, "-"], weak),
                        (["train"] + SMALL + ["--cells", "-", "-o", cells, weak], cells),
                        (["ingest", nb, "-o", nb], None),
                        (["ingest", "-", "-o", cells], cells),
                        (["tag", "-o", model, nb], None),
                        (["tag", "-m", model, "-o", tmp_path / "." / "m.nbsm", nb], None),
                        (["summary", "--svg", model, nb], None),
                        (["label", "-q", cells, "-o", rules], None),
                        (["label", "-q", cells, "--report", rules], None)):
        with open(stdin or os.devnull, "rb") as f:
            r = subprocess.run([str(BIN)] + [str(a) for a in args], stdin=f, capture_output=True, text=True,
                               timeout=120, env=by_env)
        assert r.returncode == 2 and "would replace" in r.stderr, (args, r.stderr)
        assert "epoch" not in r.stderr and r.stdout == "", (args, r.stderr)
    assert {p: p.read_bytes() for p in kept} == kept
    # a file that is not the one piped in is written as before
    r = subprocess.run([str(BIN), "label", "-q", "-", "-o", tmp_path / "weak2.jsonl"], stdin=open(cells, "rb"),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and (tmp_path / "weak2.jsonl").stat().st_size > 0, r.stderr


def test_a_source_date_epoch_that_is_no_time_is_refused_before_training(weak, tmp_path):
    """SOURCE_DATE_EPOCH past year 9999 crashed train at its very end (gmtime's NULL
    given to strftime: SIGSEGV, no model), and one that is no number of seconds
    ("2024-01-01") was ignored unsaid, the file not reproducible after all.  Both are
    refused before training now, as reproducible-builds.org asks; a good value still
    dates the model."""
    model = tmp_path / "m.nbsm"
    for bad in ("999999999999999999", "2024-01-01", "-5"):
        r = subprocess.run([str(BIN), "train"] + [str(a) for a in SMALL] + ["-o", str(model), str(weak)],
                           env=dict(os.environ, SOURCE_DATE_EPOCH=bad), capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "SOURCE_DATE_EPOCH" in r.stderr and "epoch 1" not in r.stderr, (bad, r.stderr)
    assert not model.exists()
    r = subprocess.run([str(BIN), "train"] + [str(a) for a in SMALL] + ["-q", "-o", str(model), str(weak)],
                       env=dict(os.environ, SOURCE_DATE_EPOCH="253402300799"), capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and b"nbstage train 9999-12-31 23:59 UTC:" in model.read_bytes(), r.stderr


def test_probabilities_beyond_float_range_are_scaled(tmp_path):
    """Soft targets are the line's probabilities renormalised, whatever their scale
    (90 for 0.9 trains the same); a value beyond a float's range (1e300, a hand-made
    file) became inf, the targets NaN, and the run ended in "training data: sequence
    1 has target -nan outside [0, 1]" / "training failed".  It is scaled first now."""
    lines = weak_lines(4, 3)
    for x in lines:
        x["probabilities"] = {k: (1e300 if v > 0.5 else 0.0) for k, v in x["probabilities"].items()}
    weak = tmp_path / "weak.jsonl"
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = run(["train"] + SMALL + ["-q", "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_the_log_says_the_threads_it_uses(weak, tmp_path):
    """--threads above train's cap of 16 runs 16 threads (the same weights as
    --threads 16); the log said the number asked for ("40 threads")."""
    r = run(["train"] + SMALL[:-6] + ["--epochs", "1", "--threads", "40", "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 0 and "kernels, 16 threads" in r.stderr, r.stderr


def test_blank_and_comment_only_sources_are_left_out(tmp_path):
    """A weak line with a stage whose source is blank or only comments (a user's own
    weak file, or a line joined from --cells) was trained on as an all-padding
    sequence, though classify, tag and the kernel give such a cell no stage and the
    labeling guide says it carries none.  Now it is left out and counted, whether its
    source is its own or joined from --cells.  Code without a word ("{}", "...") and
    words the vocabulary lacks are kept: classify gives those cells a stage."""
    lines = weak_lines(10, 4)
    blank = ["", "   \n\n", "# a comment", "# one\n   # two\n"]
    for k, src in enumerate(blank):
        p = {s: (0.9 if s == "explore" else 0.02) for s in KEYS}
        lines.append({"id": f"nb{k}.ipynb#{10 + k}", "stage": "explore", "probabilities": p, "source": src})
    kept = ["{}", "...\n# no words", "zzqx_only_here_1"]
    for k, src in enumerate(kept):
        p = {s: (0.9 if s == "evaluate" else 0.02) for s in KEYS}
        lines.append({"id": f"nb{k}.ipynb#{20 + k}", "stage": "evaluate", "probabilities": p, "source": src})
    weak = tmp_path / "weak.jsonl"
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = run(["train"] + SMALL + ["--val-split", "0", "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 0, r.stderr
    assert "47 weak labels: 0 abstained, 0 without source, 4 blank or comment-only" in r.stderr, r.stderr
    assert "43 training cells, 0 validation cells" in r.stderr, r.stderr
    # the same sources joined from --cells
    cells = tmp_path / "cells.jsonl"
    cells.write_text("".join(json.dumps({"id": x["id"], "source": x["source"]}) + "\n" for x in lines))
    weak.write_text("".join(json.dumps({k: v for k, v in x.items() if k != "source"}) + "\n" for x in lines))
    r = run(["train"] + SMALL + ["--val-split", "0", "--cells", cells, "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 0, r.stderr
    assert "4 blank or comment-only" in r.stderr and "43 training cells" in r.stderr, r.stderr
    # only blank ones: too few usable cells, the reason named
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines[40:44]))
    r = run(["train"] + SMALL + ["-o", tmp_path / "none.nbsm", weak])
    assert r.returncode == 2 and "0 usable cells" in r.stderr and "4 blank or comment-only" in r.stderr, r.stderr
    assert not (tmp_path / "none.nbsm").exists()


def test_weak_labels_of_one_stage_are_refused_before_training(tmp_path):
    """Weak labels whose usable cells all have one stage trained silently (exit 0) a
    model that can only ever answer that stage; scikit-learn refuses such data ("needs
    samples of at least 2 classes").  Now refused before training, the file and its
    one stage named, exit 2, no model made; so is a --min-confidence that leaves one
    stage, and a validation split that leaves the training cells one stage (the other
    stages all in validation notebooks).  The cap keeps at least one cell of a class,
    so it cannot leave one stage."""
    model = tmp_path / "m.nbsm"
    weak = tmp_path / "weak.jsonl"
    lines = weak_lines(3, 4)
    for x in lines:
        x["stage"] = "load"
        x["probabilities"] = {s: (0.9 if s == "load" else 0.02) for s in KEYS}
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    for extra in ([], ["--cap", "1"], ["--val-split", "0"]):
        r = run(["train"] + SMALL + extra + ["-o", model, weak])
        assert r.returncode == 2, (extra, r.stderr)
        assert f"{weak}: every one of the 12 usable cells has the stage load" in r.stderr, (extra, r.stderr)
        assert "epoch" not in r.stderr and not model.exists(), (extra, r.stderr)
    # other stages there, but all below --min-confidence: the reason is counted
    lines = weak_lines(6, 4)
    for x in lines:
        if x["stage"] != "load":
            x["probabilities"] = {s: (0.3 if s == x["stage"] else 0.14) for s in KEYS}
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = run(["train"] + SMALL + ["--min-confidence", "0.5", "-o", model, weak])
    assert r.returncode == 2 and "every one of the 4 usable cells has the stage load" in r.stderr, r.stderr
    assert "20 below --min-confidence" in r.stderr and not model.exists(), r.stderr
    # two notebooks of one stage each: the split takes one for validation, the
    # training cells are left with the other's stage alone
    lines = weak_lines(2, 4)
    for x in lines:
        st = "load" if x["id"].startswith("nb0") else "train"
        x["stage"] = st
        x["probabilities"] = {s: (0.9 if s == st else 0.02) for s in KEYS}
        x["source"] += f"  # {x['id']}"
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = run(["train"] + SMALL + ["-o", model, weak])
    assert r.returncode == 2 and "epoch" not in r.stderr and not model.exists(), r.stderr
    said = re.escape(f"{weak}: ") + (r"after the validation split, the 4 training cells all have the stage "
                                     r"(load|train) \(the validation notebooks hold the other stages\).*--val-split 0")
    assert re.search(said, r.stderr), r.stderr
    r = run(["train"] + SMALL + ["-q", "--val-split", "0", "-o", model, weak])
    assert r.returncode == 0 and model.exists(), r.stderr


def test_soft_targets_from_labels_without_probabilities_are_said_to_be_one_hot(tmp_path):
    """A user's own weak file may give a stage without the label model's probabilities:
    those targets are one-hot, and the log said "soft targets" all the same."""
    lines = weak_lines(10, 4)
    for i, x in enumerate(lines):
        if i % 4 == 0:
            del x["probabilities"]
    some, none = tmp_path / "some.jsonl", tmp_path / "none.jsonl"
    some.write_text("".join(json.dumps(x) + "\n" for x in lines))
    none.write_text("".join(json.dumps({k: v for k, v in x.items() if k != "probabilities"}) + "\n"
                            for x in lines))
    for weak, said in [(some, "soft targets (one-hot for the 10 labels without probabilities)"),
                       (none, "soft targets (no label gives probabilities: one-hot)")]:
        r = run(["train", *SMALL, "-o", tmp_path / "m.nbsm", weak])
        assert r.returncode == 0 and said in r.stderr, r.stderr
    r = run(["train", *SMALL, "--targets", "hard", "-o", tmp_path / "m.nbsm", none])
    assert r.returncode == 0 and "hard targets;" in r.stderr, r.stderr


def test_probabilities_that_do_not_sum_to_one_are_scaled_and_said(tmp_path):
    """A hand-made weak file may give percentages, or numbers that sum to 3: each label's
    probabilities are scaled to sum to 1, as before, but now the log says so, naming the
    first line and its sum.  label's own files (4 decimals, 0.9 + 5 x 0.02) say nothing."""
    lines = weak_lines(10, 4)
    for i, x in enumerate(lines):
        if i in (2, 5):
            x["probabilities"] = {s: v * 100 for s, v in x["probabilities"].items()}
        if i == 7:
            x["probabilities"] = {s: v * 3 for s, v in x["probabilities"].items()}
    weak = tmp_path / "w.jsonl"
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = run(["train", *SMALL, "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 0, r.stderr
    said = f"train: 3 labels' probabilities do not sum to 1 (the first, line 3 of {weak}, sums to 100): " \
           "each scaled to sum to 1"
    assert said in r.stderr, r.stderr
    plain = tmp_path / "plain.jsonl"
    plain.write_text("".join(json.dumps(x) + "\n" for x in weak_lines(10, 4)))
    r = run(["train", *SMALL, "-o", tmp_path / "m.nbsm", plain])
    assert r.returncode == 0 and "do not sum to 1" not in r.stderr, r.stderr


def test_an_epoch_line_is_one_write(tmp_path):
    """train's progress line for each epoch was three write(2)s on the unbuffered
    stderr (its losses, its validation, its time)."""
    weak = tmp_path / "weak.jsonl"
    weak.write_text("".join(json.dumps(x) + "\n" for x in weak_lines(10, 4)))
    got = run_stderr_packets([BIN, "train"] + SMALL + ["--epochs", "3", "--val-split", "0.25",
                                                       "-o", tmp_path / "m.nbsm", weak])
    if got is None:
        pytest.skip("no packet-mode pipes here")
    rc, packets = got
    epochs = [pk for pk in packets if pk.startswith(b"epoch ")]
    assert rc == 0 and len(epochs) == 3 and not lines_cut(packets), packets
    assert all(b" - val_acc " in pk and pk.endswith(b" s\n") for pk in epochs), packets


@pytest.mark.parametrize("probs, said", [
    ({"preparation": 1}, '3: "probabilities" has the unknown stage "preparation"'),
    ({"Load": 0.9, "prep": 0.1}, '3: "probabilities" has the unknown stage "Load"'),
    ({"load": "0.9"}, '3: the probability of "load" is "0.9": not a number >= 0'),
    ({"load": -1, "prep": 2}, '3: the probability of "load" is -1: not a number >= 0'),
    ({"load": float("nan")}, '3: the probability of "load" is null (as NaN, Infinity'),
    ([0.9, 0.1], '3: "probabilities" is not an object of stage: number'),
    ({"prep": 1}, '3: the stage is "load", but its probability is 0'),
])
def test_probabilities_that_cannot_be_targets_are_named_with_their_line(tmp_path, probs, said):
    """A user's own weak file with a probability under a key that is no stage (a typo, a
    capital), a value that is no number >= 0, a list, or none for the label's own stage
    trained all the same: the key or value was dropped without a word, the label learned
    one-hot or as another stage's cell.  Refused now, file:line, before training."""
    lines = weak_lines(10, 4)
    lines[2]["stage"] = "load"
    lines[2]["probabilities"] = probs
    weak = tmp_path / "w.jsonl"
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = run(["train", *SMALL, "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 2 and f"nbstage train: {weak}:{said}" in r.stderr, r.stderr
    assert not (tmp_path / "m.nbsm").exists() and "epoch" not in r.stderr
    lines[2]["probabilities"] = {"load": 90, "prep": 10, "train": 0}
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = run(["train", *SMALL, "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 0, r.stderr
