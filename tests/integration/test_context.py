"""test_context.py — a model trained with `nbstage train --context` (each cell read
after the last 3 code lines of the cell before it, model/context.h), end to end: one
small model trained on a corpus of notebooks whose short cells take their stage from
the cell before them, then every way of classifying gives each cell the same
predecessor and so the same answer — `classify` of ingest's lines (1 and 2 threads, in
chunks), of a notebook FILE, `eval --model`, `tag` (the fast path and the jansson path
through a notebook that is not canonical), `summary`, and the wrapped kernel, which
reads each executed cell after the one run before it.  Lines of no notebook are read
alone.  The model is tiny (a few seconds to train): what is tested is the plumbing,
with the learning shown by one check that the context changes the answer."""
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from test_kernel import STAGE_MIME, stage_outputs
from test_kernel_notice import iopub_until_idle, run_plain

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT)) / "nbstage"
KBIN = Path(os.environ.get("NBSTAGE_BIN", ROOT)) / "nbstage-kernel"
KEYS = ["load", "prep", "train", "evaluate", "explore", "imports"]

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built")

# A notebook: (stage, source) pairs; the lone "result" cells are the stage of the cell
# before them (the stage is in the weak labels only: the cell's words are the same).
LEAD = {"load": "data = pd.read_csv('f{}.csv')", "prep": "data = data.dropna(subset=['c{}'])",
        "train": "model.fit(X_train, y_train, epochs={})", "evaluate": "score = accuracy_score(y, pred_{})",
        "explore": "data.describe(percentiles=[0.{}])", "imports": "import sklearn.m{}"}


def notebook_cells(n):
    cells = [("imports", "import pandas as pd\nimport numpy as np")]
    for k in range(8):
        stage = KEYS[(n + k) % 5]  # load .. explore
        cells.append((stage, LEAD[stage].format(n * 10 + k)))
        cells.append((stage, "result"))  # the follower: only its predecessor tells
        if k == 3:
            cells.append((None, "# a comment-only cell: no one's predecessor"))
            cells.append((None, "   "))
    return cells


def write_notebook(path, cells, indent=1):
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                     "source": src} for _, src in cells],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=indent) + "\n")


def run(*args, **kw):
    r = subprocess.run([str(BIN)] + [str(a) for a in args], capture_output=True, text=True, timeout=300, **kw)
    return r


@pytest.fixture(scope="module")
def world():
    d = Path(tempfile.mkdtemp(prefix="nbstage-context-test-"))
    corpus = d / "corpus"
    corpus.mkdir()
    for n in range(40):
        write_notebook(corpus / f"nb{n:02d}.ipynb", notebook_cells(n))
    r = run("ingest", "-q", "-o", d / "cells.jsonl", corpus)
    assert r.returncode == 0, r.stderr
    # weak labels: the stage each cell was written with, joined to ingest's ids
    weak = []
    for line in (d / "cells.jsonl").read_text().splitlines():
        c = json.loads(line)
        n = int(c["notebook"][2:4])
        src_cells = [x for x in notebook_cells(n) if x[0]]
        stage = dict(enumerate(s for s, _ in src_cells))[len([w for w in weak if w["notebook"] == c["notebook"]])]
        weak.append({"id": c["id"], "notebook": c["notebook"], "stage": stage,
                     "probabilities": {k: float(k == stage) for k in KEYS}})
    (d / "weak.jsonl").write_text("".join(json.dumps(w) + "\n" for w in weak))
    (d / "gold-none.tsv").write_text("cell_id\tlabel\n" + "".join(f"{w['id']}\t{w['stage']}\n" for w in weak[:5]))
    model = d / "ctx.nbsm"
    r = run("train", "--context", "--cells", d / "cells.jsonl", "--embed", "16", "--hidden", "8",
            "--vocab", "300", "--seq-len", "24", "--threads", "1", "--epochs", "40", "--batch", "16",
            "--val-split", "0", "--lr", "0.01", "-q", "-o", model, d / "weak.jsonl")
    assert r.returncode == 0, r.stderr
    yield d, model
    shutil.rmtree(d, ignore_errors=True)


def classify_lines(model, cells_path, jobs=2):
    r = run("classify", "-m", model, "-j", jobs, cells_path)
    assert r.returncode == 0, r.stderr
    return {x["id"]: x for x in map(json.loads, r.stdout.splitlines())}


def test_the_model_file_says_it_reads_context_and_the_context_matters(world):
    d, model = world
    r = run("eval", "--model", model, "--gold", d / "gold-none.tsv", d / "cells.jsonl")
    assert "; context" in r.stdout + r.stderr  # the provenance line eval shows
    preds = classify_lines(model, d / "cells.jsonl")
    # a "result" cell after a training cell and after a loading cell: different answers
    # from the same words, and (the model learned it) the stage of the one before
    got = {}
    for line in (d / "cells.jsonl").read_text().splitlines():
        c = json.loads(line)
        got[c["id"]] = c
    followers = [(i, p) for i, p in preds.items() if got[i]["source"] == "result"]
    assert len({tuple(sorted(p["probabilities"].items())) for _, p in followers}) > 1
    weak = {w["id"]: w["stage"] for w in map(json.loads, (d / "weak.jsonl").read_text().splitlines())}
    # one answer for all of them would be right on a fifth (the stages are even)
    right = sum(p["stage"] == weak[i] for i, p in followers)
    assert right >= 0.5 * len(followers), (right, len(followers))
    # the same words alone (no notebook, no '#' in the id) are read as a first cell
    alone = d / "alone.jsonl"
    alone.write_text(json.dumps({"id": "solo", "source": "result"}) + "\n" +
                     json.dumps({"id": "solo2", "source": "result"}) + "\n")
    a = classify_lines(model, alone)
    assert a["solo"]["probabilities"] == a["solo2"]["probabilities"]
    # ... also after a line of the same id without '#' (a program's every query "cell"):
    # such an id names no notebook (it was hashed whole, so the two lines were one's)
    for jobs in (1, 2):
        same = d / "same-id.jsonl"
        same.write_text(json.dumps({"id": "cell", "source": LEAD["train"].format(3)}) + "\n" +
                        json.dumps({"id": "cell", "source": "result"}) + "\n")
        r = run("classify", "-m", model, "-j", jobs, same)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout.splitlines()[1])["probabilities"] == a["solo"]["probabilities"]
    # and so is a file of code given by name (it was read bare, without the separator)
    py = d / "result.py"
    py.write_text("result")
    r = run("classify", "-m", model, "--json", py)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["probabilities"] == a["solo"]["probabilities"]


def test_train_refuses_cells_out_of_their_notebooks_order(world, tmp_path):
    """`sort cells.jsonl` puts #10 before #2, and each cell was then trained after
    another notebook line than its predecessor, without a word.  train --context now
    refuses cells whose ingest index goes back within a notebook; without --context
    the order does not matter and the same file trains."""
    d, _ = world
    lines = (d / "cells.jsonl").read_text().splitlines()
    first_nb = json.loads(lines[0])["notebook"]
    ours = [x for x in lines if json.loads(x)["notebook"] == first_nb]
    assert len(ours) >= 3
    swapped = [ours[1], ours[0]] + ours[2:] + [x for x in lines if x not in ours]
    cells = tmp_path / "sorted.jsonl"
    cells.write_text("".join(x + "\n" for x in swapped))
    common = ["--cells", cells, "--embed", "8", "--hidden", "4", "--vocab", "100", "--seq-len", "12",
              "--threads", "1", "--epochs", "1", "-q", "-o", tmp_path / "m.nbsm", d / "weak.jsonl"]
    r = run("train", "--context", *common)
    i0, i1 = (json.loads(x)["index"] for x in ours[:2])
    assert r.returncode == 2, r.stderr
    assert f"sorted.jsonl:2: cell index {i0} after {i1} of the same notebook" in r.stderr, r.stderr
    assert not (tmp_path / "m.nbsm").exists()
    r = run("train", *common)
    assert r.returncode == 0, r.stderr


def test_classify_in_chunks_on_threads_gives_each_line_its_predecessor(world):
    """Over 4,096 lines the reader works in chunks: a notebook cut by a chunk's end
    still gives its next line the last cell of the chunk before."""
    d, model = world
    lines = (d / "cells.jsonl").read_text().splitlines()
    many = d / "many.jsonl"
    with open(many, "w") as f:  # the corpus 120 times over, each copy its own notebooks
        for rep in range(120):
            for line in lines:
                c = json.loads(line)
                c["notebook"] = f"r{rep}/{c['notebook']}"
                c["id"] = f"r{rep}/{c['id']}"
                f.write(json.dumps(c) + "\n")
    one = classify_lines(model, d / "cells.jsonl", jobs=1)
    for jobs in (1, 2):
        got = classify_lines(model, many, jobs=jobs)
        assert len(got) == 120 * len(lines)
        for i, p in got.items():
            assert p == {**one[i.split("/", 1)[1]], "id": i}, i


def test_eval_file_tag_and_summary_agree_with_classify(world, tmp_path):
    d, model = world
    preds = classify_lines(model, d / "cells.jsonl")
    # classify FILE.ipynb: k counts code cells, blank ones included, as ingest's ids do
    for n in (0, 7):
        r = run("classify", "-m", model, "--json", d / "corpus" / f"nb{n:02d}.ipynb")
        assert r.returncode == 0, r.stderr
        for x in map(json.loads, r.stdout.splitlines()):
            k = x["id"].rsplit("#", 1)[1]
            want = preds.get(f"nb{n:02d}.ipynb#{k}")
            if want is None:
                assert x["stage"] is None  # a blank or comment-only cell
            else:
                assert x["stage"] == want["stage"] and x["probabilities"] == want["probabilities"]
    # eval --model scores what classify answers
    gold = tmp_path / "gold.tsv"
    weak = [json.loads(x) for x in (d / "weak.jsonl").read_text().splitlines()]
    gold.write_text("cell_id\tlabel\n" + "".join(f"{w['id']}\t{w['stage']}\n" for w in weak))
    pred_file = tmp_path / "pred.jsonl"
    pred_file.write_text("".join(json.dumps(p) + "\n" for p in preds.values()))
    a = run("eval", "--model", model, "--gold", gold, d / "cells.jsonl")
    b = run("eval", "--predictions", "--gold", gold, pred_file)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    acc = [l for l in a.stdout.splitlines() if l.startswith("accuracy")]
    assert acc and acc == [l for l in b.stdout.splitlines() if l.startswith("accuracy")]
    # tag: the canonical notebooks (spliced) and one written otherwise (the jansson path)
    tagged = tmp_path / "tagged"
    shutil.copytree(d / "corpus", tagged)
    write_notebook(tagged / "nb03.ipynb", notebook_cells(3), indent=None)
    r = run("tag", "-m", model, "-j", "2", tagged)
    assert r.returncode == 0, r.stderr
    for n in range(40):
        nb = json.loads((tagged / f"nb{n:02d}.ipynb").read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        for k, c in enumerate(code):
            want = preds.get(f"nb{n:02d}.ipynb#{k}")
            ws = c["metadata"].get("workflow_stage")
            if want is None:
                assert ws is None
            else:
                assert ws["stage"] == want["stage"] and ws["confidence"] == want["confidence"], (n, k)
    # tag --check finds nothing to change; summary counts the same stages
    r = run("tag", "-m", model, "--check", tagged)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run("summary", "-m", model, "--json", tagged / "nb05.ipynb")
    assert r.returncode == 0, r.stderr
    cells = json.loads(r.stdout)["cells"]
    assert len(cells) == len(notebook_cells(5))
    for c in cells:
        want = preds.get(f"nb05.ipynb#{c['index']}")
        if want is None:  # blank or comment-only
            assert c["stage"] not in KEYS, c
        else:
            assert c["stage"] == want["stage"] and c["confidence"] == want["confidence"], c


@contextlib.contextmanager
def context_kernel(d, model):
    """A started stage kernel (ipykernel child) with MODEL; yields its client."""
    from jupyter_client import KernelManager
    spec_dir = d / "specs"
    (spec_dir / "kernels" / "nbs-ctx").mkdir(parents=True, exist_ok=True)
    spec = {"argv": [str(KBIN), "-f", "{connection_file}", "--wrap", "python3"],
            "display_name": "ctx", "language": "python", "env": {"NBSTAGE_MODEL": str(model)}}
    (spec_dir / "kernels" / "nbs-ctx" / "kernel.json").write_text(json.dumps(spec))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(spec_dir)
    km = KernelManager(kernel_name="nbs-ctx")
    log = open(d / f"kernel-{uuid.uuid4().hex[:6]}.log", "w")
    km.start_kernel(stderr=log)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        log.close()
        if old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old


def tags_of(msgs):
    return [m["content"]["data"][STAGE_MIME] for m in stage_outputs(msgs)]


@pytest.mark.skipif(not KBIN.exists(), reason=f"{KBIN} not built")
def test_the_kernel_reads_each_cell_after_the_one_run_before(world):
    d, model = world
    preds = classify_lines(model, d / "cells.jsonl")
    with context_kernel(d, model) as kc:
        # notebook 2's cells, run in order, with its blank and comment-only cells
        # (not tagged, and nobody's predecessor): each tag is classify's for that cell.
        # The cells define nothing they use, so most fail; the tag does not depend on
        # the outcome.  Sent with stop_on_error false: after an error ipykernel aborts
        # the requests that reach it before its abort window closes (the next cell,
        # sent at the idle, on a slow machine), and an aborted request is not run, so
        # gets no tag.
        # Between the cells a tool runs code of its own, without history, as a variable
        # inspector does after every cell: tagged, but no cell's predecessor (its words
        # are a load cell's, which would turn the "result" followers into load).  Its
        # store_history false, 0 or null: each false to ipykernel (Python's truth); the
        # proxy took 0 and null for true, and the tool's code for the next predecessor.
        code = [src for _, src in notebook_cells(2)]
        tool = LEAD["load"].format(999)
        k = 0
        for src in code:
            msgs = run_plain(kc, tool, stop_on_error=False, store_history=(False, 0, None)[k % 3])
            assert len(stage_outputs(msgs)) == 1  # the tool's code is tagged too
            msgs = run_plain(kc, src, stop_on_error=False)
            assert any(m["msg_type"] == "execute_input" for m in msgs), (k, src, msgs)
            tags = tags_of(msgs)
            want = preds.get(f"nb02.ipynb#{k}")
            if want is None:
                assert tags == [], src
            else:
                assert len(tags) == 1 and tags[0]["stage"] == want["stage"], (k, src, tags, want)
                assert abs(tags[0]["confidence"] - want["confidence"]) < 1e-9
            k += 1


@pytest.mark.skipif(not KBIN.exists(), reason=f"{KBIN} not built")
def test_after_an_error_the_kernel_reads_a_cell_after_the_last_that_ran(world, tmp_path):
    """Run All stops at an error: ipykernel aborts the cells queued behind it, which
    never run.  The next cell run is read after the last cell that ran (the failing
    one), not after the last one queued."""
    d, model = world
    failing = "import time\ntime.sleep(0.5)\n" + LEAD["train"].format(5)  # NameError
    queued = LEAD["load"].format(7)
    lines = tmp_path / "ran.jsonl"
    lines.write_text("".join(json.dumps({"id": f"ran#{i}", "notebook": "ran", "source": s}) + "\n"
                             for i, s in enumerate([failing, "result"])))
    want = classify_lines(model, lines)["ran#1"]
    lines.write_text("".join(json.dumps({"id": f"q#{i}", "notebook": "q", "source": s}) + "\n"
                             for i, s in enumerate([queued, "result"])))
    after_queued = classify_lines(model, lines)["q#1"]
    assert after_queued["probabilities"] != want["probabilities"]  # so the test can tell
    with context_kernel(d, model) as kc:
        first = kc.execute(failing)  # stop_on_error: the default, as Run All sends it
        second = kc.execute(queued)
        replies = {}
        while len(replies) < 2:
            r = kc.get_shell_msg(timeout=30)
            # only these two: a kernel_info reply of the start-up may still be waiting
            # (wait_for_ready asks again on a loaded machine; seen in a run of make test)
            if r["parent_header"].get("msg_id") in (first, second):
                replies[r["parent_header"]["msg_id"]] = r["content"]["status"]
        assert replies == {first: "error", second: "aborted"}
        # ipykernel ends its abort window at its next turn; the stage kernel is not
        # what is tested here, so wait for it: a silent `pass` (no tag, no place in
        # the chain) until one is not aborted (a fixed sleep could be too short on a
        # loaded host)
        deadline = time.monotonic() + 30
        while True:
            probe = kc.execute("pass", silent=True)
            r = kc.get_shell_msg(timeout=30)
            while r["parent_header"].get("msg_id") != probe:
                r = kc.get_shell_msg(timeout=30)
            if r["content"]["status"] != "aborted" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        tags = tags_of(run_plain(kc, "result", stop_on_error=False))
        assert len(tags) == 1 and tags[0]["stage"] == want["stage"], (tags, want, after_queued)
        assert abs(tags[0]["confidence"] - want["confidence"]) < 1e-9


def run_cell(kc, code, cell_id):
    """Executes CODE as JupyterLab runs a cell: metadata.cellId CELL_ID."""
    msg = kc.session.msg("execute_request",
                         {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                          "allow_stdin": False, "stop_on_error": False},
                         metadata={"cellId": cell_id})
    kc.shell_channel.send(msg)
    return iopub_until_idle(kc, msg["header"]["msg_id"])


@pytest.mark.skipif(not KBIN.exists(), reason=f"{KBIN} not built")
def test_a_cell_run_again_is_read_as_it_was_the_last_time(world, tmp_path):
    """Re-running a cell keeps its tag: it is read after what it was read after the
    last time, not after itself.  Without ids, a cell run again is the same code; with
    the frontend's cellId (JupyterLab, Notebook 7), the same cell, edited or not."""
    d, model = world
    lead = LEAD["train"].format(3)
    edited = "result\nresult"

    def expected(cells):
        lines = tmp_path / "exp.jsonl"
        lines.write_text("".join(json.dumps({"id": f"e#{i}", "notebook": "e", "source": s}) + "\n"
                                 for i, s in enumerate(cells)))
        return classify_lines(model, lines)[f"e#{len(cells) - 1}"]

    want = expected([lead, "result"])
    want_edited = expected([lead, edited])
    # what the fixes are not: each cell read after itself, or after its old version
    assert expected(["result", "result"])["probabilities"] != want["probabilities"]
    assert expected(["result", edited])["probabilities"] != want_edited["probabilities"]

    def check(tags, w):
        assert len(tags) == 1 and tags[0]["stage"] == w["stage"], (tags, w)
        assert abs(tags[0]["confidence"] - w["confidence"]) < 1e-9

    with context_kernel(d, model) as kc:
        run_plain(kc, lead, stop_on_error=False)
        for _ in range(3):
            check(tags_of(run_plain(kc, "result", stop_on_error=False)), want)
    with context_kernel(d, model) as kc:
        run_cell(kc, lead, "cell-lead")
        check(tags_of(run_cell(kc, "result", "cell-r")), want)
        check(tags_of(run_cell(kc, edited, "cell-r")), want_edited)
        check(tags_of(run_cell(kc, "result", "cell-r")), want)
    # VS Code's ids: the notebook's URI, then '#' and the cell's fragment.  Cut to 127
    # bytes, a long path made every cell one cell: each read as the one run before.
    uri = "vscode-notebook-cell:/home/user/" + "project/" * 15 + "analysis.ipynb#"
    assert len(uri) > 127
    with context_kernel(d, model) as kc:
        run_cell(kc, lead, uri + "W0sZmlsZQ==")
        check(tags_of(run_cell(kc, "result", uri + "W1sZmlsZQ==")), want)
        check(tags_of(run_cell(kc, "result", uri + "W1sZmlsZQ==")), want)  # run again
        check(tags_of(run_cell(kc, "result", uri + "W2sZmlsZQ==")), expected([lead, "result", "result"]))
