"""Classic Notebook 6 flows beyond test_browser.py's, with the same server and browser.

tests/browser/user_flows.mjs drives the page; the server is test_browser.py's fixture
(share/run-demo.sh with temporary HOME and Jupyter folders), so they skip as those do
when nbstage or the model is missing; without Chromium, node or playwright-core they
are skipped.

Opening a trusted notebook runs the saved stage outputs' scripts again.  They must
draw the badges but leave the cells' metadata as it was saved: a user who corrected a
cell's stage tag by hand (Tags toolbar), saved and opened the notebook again found the
kernel's tag back and the notebook marked changed (so autosave wrote the old tag).

File > Download as > HTML (nbconvert 6's lab template) runs the stage outputs' scripts
in the exported page, and gives every script output the same element id: each script
drew its badge into the first cell's output, so the export showed one badge, the last
cell's stage under the first cell.

File > Revert to Checkpoint loads the checkpoint into the page Notebook 6 already has,
so the saved stage outputs' scripts ran again in a page that counted as loaded, and put
the kernel's stage back over a tag the user had set by hand and saved, marking the
notebook changed (test_revert_to_checkpoint_keeps_stage_tags_set_by_hand).

A notebook run elsewhere and opened untrusted (never signed by this server) shows its
saved badges as plain text, runs none of their scripts, writes nothing and stays
unchanged; a cell run there is tagged as usual (README; was checked by hand only).

A day of editing (test_rerun_edit_interrupt_paste_undelete) passed before either fix
too; it guards the script's metadata writes that stay: re-runs, an edit that changes
the stage, an interrupt, and cells pasted or undeleted once the page is loaded.
"""
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from test_browser import BIN, BROWSER_DIR, STAGES, browser_env, server  # noqa: F401  (the module's server fixture)
from test_kernel import gone

from badge import badge_percent

# Without a browser to drive, skipped (test_browser.py's fixture would fail instead,
# naming `make deps`); the other reasons to skip are the fixture's own.
pytestmark = pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists() or shutil.which("node") is None
    or not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(),
    reason="needs Debian's chromium, node and tests/browser/node_modules/playwright-core (make deps)")

CELLS = ["import os\nimport sys", "data = open(os.devnull).read()\nprint(len(data))"]

# A cell the interrupt always ends: the flows interrupt it once it has printed, inside
# short sleeps (a SIGINT as a cell starts can be lost: see test_kernel.SLEEPING_CELL).
SLEEPER = "import time\nprint('sleeping', flush=True)\nfor _ in range(1200):\n    time.sleep(0.05)"


def _flows(url, tmp, name, *mode, console_ok=()):
    """user_flows.mjs's report; console errors that contain a CONSOLE_OK string are
    allowed (the page's own, not nbstage's)."""
    profile = tmp / f"chromium-{name}"
    profile.mkdir()
    with browser_env() as env:
        r = subprocess.run(["node", str(BROWSER_DIR / "user_flows.mjs"), url, str(profile), "30000", *mode],
                           cwd=BROWSER_DIR, capture_output=True, text=True, timeout=120, env=env)
    assert r.stdout.strip(), f"no report from the browser script (exit {r.returncode}):\n{r.stderr}"
    report = json.loads(r.stdout)
    assert r.returncode == 0 and "error" not in report, report.get("error", r.stderr)
    assert report["pageErrors"] == [], report["pageErrors"]
    errors = [e for e in report["consoleErrors"] if not any(ok in e for ok in console_ok)]
    assert errors == [], report["consoleErrors"]
    return report


def _notebook(prefix, cells=None):
    """A notebook on the stage kernel of CELLS (else code cells of the module's CELLS,
    ids PREFIX0, PREFIX1, ...)."""
    if cells is None:
        cells = [{"cell_type": "code", "execution_count": None, "id": f"{prefix}{i}", "outputs": [],
                  "metadata": {}, "source": src} for i, src in enumerate(CELLS)]
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "nbstage", "display_name": "Python 3 (workflow stages)",
                                        "language": "python"}}}


def _md(cell):
    """A cell's metadata without Notebook 6's own 'trusted' (which saving does not keep)."""
    return {k: v for k, v in cell["metadata"].items() if k != "trusted"}


def test_reopening_keeps_stage_tags_set_by_hand(server):
    base, token, work, env, tmp = server
    nb = _notebook("h")
    (work / "hand.ipynb").write_text(json.dumps(nb))
    report = _flows(f"{base}/notebooks/hand.ipynb?token={token}", tmp, "hand")

    run = report["run"]["cells"]
    stages = [c["metadata"]["workflow_stage"]["stage"] for c in run]
    assert [c["metadata"]["tags"] for c in run] == [[f"stage:{s}"] for s in stages]
    assert report["savedRun"] is True
    # opened again, trusted: badges back, metadata as saved, nothing changed
    again = report["reopened"]
    assert again["trusted"] is True and again["dirty"] is False, again
    assert [c["badges"] for c in again["cells"]] == [1, 1]
    assert [_md(c) for c in again["cells"]] == [_md(c) for c in run]

    # the hand-set tags survive the next opening, which changes nothing
    hand = report["handTags"]
    assert report["savedHand"] is True
    saved = json.loads((work / "hand.ipynb").read_text())
    assert saved["cells"][0]["metadata"]["tags"] == hand
    final = report["reopenedHand"]
    assert final["trusted"] is True, final
    assert [c["badges"] for c in final["cells"]] == [1, 1]
    assert final["cells"][0]["metadata"]["tags"] == hand, final["cells"][0]
    assert _md(final["cells"][1]) == _md(run[1])
    assert final["dirty"] is False, final

    # the HTML export: each code cell shows its own badge, nothing else
    pct = [f"{badge_percent(c['metadata']['workflow_stage']['confidence'])}%" for c in run]
    assert report["exported"] == [[f"{s} {p}"] for s, p in zip(stages, pct)], report["exported"]
    assert report["exportErrors"] == [], report["exportErrors"]


def test_revert_to_checkpoint_keeps_stage_tags_set_by_hand(server):
    base, token, work, env, tmp = server
    nb = _notebook("r")
    (work / "revert.ipynb").write_text(json.dumps(nb))
    report = _flows(f"{base}/notebooks/revert.ipynb?token={token}", tmp, "revert", "revert")

    run = report["run"]["cells"]
    stages = [c["metadata"]["workflow_stage"]["stage"] for c in run]
    assert [c["metadata"]["tags"] for c in run] == [[f"stage:{s}"] for s in stages]
    hand = report["handTags"]
    assert report["savedHand"] is True and report["checkpointMade"] is True
    assert report["beforeRevert"]["dirty"] is False
    saved = json.loads((work / "revert.ipynb").read_text())
    assert saved["cells"][0]["metadata"]["tags"] == hand
    assert len(saved["cells"][0]["outputs"]) == 1  # the stage output the revert replays

    # reverted: badges back, the hand-set tags and everything else as saved, unchanged
    assert report["reverted"] is True
    after = report["afterRevert"]
    assert after["trusted"] is True, after
    assert [c["badges"] for c in after["cells"]] == [1, 1]
    assert after["cells"][0]["metadata"]["tags"] == hand, after["cells"][0]
    assert after["cells"][0]["metadata"]["workflow_stage"] == run[0]["metadata"]["workflow_stage"]
    assert _md(after["cells"][1]) == _md(run[1])
    assert after["dirty"] is False, after

    # a live run in the reverted page still tags the cell: the kernel's stage in place
    # of the hand-set one, the user's own tag kept
    rerun = report["rerun"]
    first = rerun["cells"][0]["metadata"]
    assert first["tags"] == ["checked", f"stage:{first['workflow_stage']['stage']}"], first
    assert rerun["cells"][0]["badges"] == 1
    assert rerun["dirty"] is True, rerun


TRAIN = "from sklearn.linear_model import LogisticRegression\nmodel = LogisticRegression()\nmodel.fit(X, y)"


def test_rerun_edit_interrupt_paste_undelete(server):
    """A day of editing: one badge per run, the stage: tag replaced where it stood and
    the user's tags kept, no tag for a comment-only or markdown cell, a badge on an
    interrupted cell, metadata travelling with a pasted and an undeleted cell."""
    base, token, work, env, tmp = server
    nb = _notebook("e", [
            {"cell_type": "code", "execution_count": None, "id": "e0", "outputs": [],
             "metadata": {"tags": ["mine", "stage:bogus", "other"]},
             "source": "import pandas as pd\nimport numpy as np"},
            {"cell_type": "code", "execution_count": None, "id": "e1", "outputs": [],
             "metadata": {}, "source": "# only a comment\n# and another"},
            {"cell_type": "markdown", "id": "e2", "metadata": {}, "source": "# Notes"},
            {"cell_type": "code", "execution_count": None, "id": "e3", "outputs": [],
             "metadata": {}, "source": SLEEPER},
    ])
    (work / "edit.ipynb").write_text(json.dumps(nb))
    report = _flows(f"{base}/notebooks/edit.ipynb?token={token}", tmp, "edit", "edit", TRAIN)

    twice = report["afterTwice"]["cells"][0]
    assert twice["badges"] == 1
    first = twice["metadata"]["workflow_stage"]["stage"]
    assert twice["metadata"]["tags"] == ["mine", f"stage:{first}", "other"]

    cells = report["edited"]
    assert [c["type"] for c in cells] == ["code", "code", "markdown", "code", "code"]
    edited, comment, md, slept, pasted = cells
    assert edited["source"] == TRAIN and len(edited["badges"]) == 1, edited
    assert edited["metadata"]["workflow_stage"]["stage"] == "train", edited
    assert edited["metadata"]["tags"] == ["mine", "stage:train", "other"]
    assert edited["badges"][0].startswith("train ")
    assert comment["badges"] == [] and comment["outputs"] == [], comment
    assert _md(comment) == {} and _md(md) == {}
    assert len(slept["badges"]) == 1 and slept["outputs"][-1] == "error:KeyboardInterrupt", slept
    assert [t for t in slept["metadata"]["tags"] if t.startswith("stage:")] == \
        [f"stage:{slept['metadata']['workflow_stage']['stage']}"]
    assert pasted["source"] == TRAIN and pasted["badges"] == edited["badges"], pasted
    assert _md(pasted) == _md(edited)


def test_untrusted_notebook_shows_saved_badges_as_text_and_tags_cells_run(server):
    """A notebook run elsewhere (nbconvert on the stage kernel, `tag --from-outputs`)
    with one cell's tags then set by hand: never signed by this server, so opened
    untrusted.  Its saved badges show as plain text (the text/html sanitized, no style,
    the script not run), nothing is written into the cells and the notebook is not
    marked changed; a cell run there is tagged as usual (its live output is trusted),
    the user's own tag kept, and the notebook is then changed."""
    base, token, work, env, tmp = server
    nb = _notebook("u")
    path = work / "untrusted.ipynb"
    path.write_text(json.dumps(nb))
    for cmd in (["/usr/bin/python3", "-m", "nbconvert", "--to", "notebook", "--execute", "--inplace",
                 "--ExecutePreprocessor.kernel_name=nbstage", path],
                [BIN / "nbstage", "tag", "--from-outputs", "-q", path]):
        r = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    saved = json.loads(path.read_text())
    ws = [c["metadata"]["workflow_stage"] for c in saved["cells"]]
    other = "explore" if ws[0]["stage"] == "prep" else "prep"
    saved["cells"][0]["metadata"]["tags"] = ["checked", f"stage:{other}"]  # set by hand
    path.write_text(json.dumps(saved, indent=1))
    report = _flows(f"{base}/notebooks/untrusted.ipynb?token={token}", tmp, "untrusted", "untrusted")

    opened = report["opened"]
    assert opened["trusted"] is False and opened["dirty"] is False, opened
    for c, s, w in zip(opened["cells"], saved["cells"], ws):
        assert c["text"].splitlines()[0] == f"{w['stage']} {badge_percent(w['confidence'])}%", c
        assert c["styled"] == 0 and c["scripts"] == 0, c
        assert _md(c) == s["metadata"], (c, s["metadata"])

    rerun = report["rerun"]
    first, second = rerun["cells"]
    live = first["metadata"]["workflow_stage"]["stage"]
    assert first["metadata"]["tags"] == ["checked", f"stage:{live}"], first
    assert first["styled"] == 1 and first["scripts"] == 1, first
    assert second == opened["cells"][1]
    assert rerun["dirty"] is True, rerun


def interrupt_and_restart(server, console_ok=()):
    """Kernel > Interrupt of a time.sleep, then Kernel > Restart, on SERVER's page
    (user_flows.mjs restart).  The sleeping cell has its badge and stops on
    KeyboardInterrupt within seconds; after the restart the old kernel (the stage
    kernel and its child, whose pids the first cell printed) is gone, and the first
    cell, run again on the new one, prints other pids and is tagged again.  Also
    test_browser_nbclassic.py's, for the same page on jupyter_server."""
    base, token, work, env, tmp = server
    nb = _notebook("r", [
        {"cell_type": "code", "execution_count": None, "id": "r0", "outputs": [], "metadata": {},
         "source": "import os\nprint(os.getpid(), os.getppid())"},
        {"cell_type": "code", "execution_count": None, "id": "r1", "outputs": [], "metadata": {},
         "source": SLEEPER},
    ])
    (work / "restart.ipynb").write_text(json.dumps(nb))
    report = _flows(f"{base}/notebooks/restart.ipynb?token={token}", tmp, "restart", "restart",
                    console_ok=console_ok)

    printer, sleeper = report["interrupted"]
    assert report["interruptMs"] < 10000, report["interruptMs"]
    assert len(sleeper["badges"]) == 1 and sleeper["outputs"][-1] == "error:KeyboardInterrupt", sleeper
    assert sleeper["metadata"]["workflow_stage"]["stage"] in STAGES
    assert len(printer["badges"]) == 1
    before = [int(x) for x in printer["outputs"][-1].split()]
    assert report["restarted"] is True
    rerun = report["rerun"][0]
    assert len(rerun["badges"]) == 1 and rerun["outputs"][0] == "display_data", rerun
    after = [int(x) for x in rerun["outputs"][-1].split()]
    assert len(before) == 2 and len(after) == 2 and set(before).isdisjoint(after), (before, after)
    assert _md(rerun)["workflow_stage"] == printer["metadata"]["workflow_stage"]
    for pid in before:  # the restarted kernel: the stage kernel and its child
        assert gone(pid, 10), f"process {pid} of the kernel before the restart is still running"


def test_interrupt_and_restart_from_the_kernel_menu(server):
    interrupt_and_restart(server)
