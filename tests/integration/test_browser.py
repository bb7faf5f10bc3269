"""The product as a person meets it: `make run`'s script, a browser, Run All, Save.

share/run-demo.sh starts Debian's classic Jupyter Notebook on loopback with a
temporary HOME and Jupyter folders (so the kernelspec it installs is a temporary one)
and a temporary copy of the demo notebook.  tests/browser/run_notebook.mjs drives
Debian's headless Chromium through playwright-core: opens the notebook, clicks Cell >
Run All, waits for a stage badge under every code cell, takes a screenshot
(tests/out/browser-demo.png) and clicks File > Save.  Then the saved file must carry
every code cell's workflow_stage and stage: tag, and the badges sit above the cells'
other outputs (position top, the default).  A second, small notebook on a kernelspec
installed with --tag-position bottom checks that the badge comes under the cell's
other outputs and that an older stage: tag is replaced, other tags kept.

Widgets (Debian's python3-ipywidgets 6 and its nbextension, which the temporary Jupyter
config enables as the package does system-wide): a notebook on the stage kernel shows
an IntSlider and a Label; the browser moves the slider with the keyboard (3 -> 5), and
the kernel's observer must answer by rewriting the Label ("kernel saw 5 squared 25")
and printing into the cell: comm messages both ways through the proxy.  The same
notebook on ipykernel alone (the python3 kernelspec) must give the same page.
(tests/out/browser-widgets.png, browser-widgets-ipykernel.png)

--no-badge (a third kernelspec): after Run All nothing of the tag can be seen (no
badge, its output area hidden), yet each cell's metadata carries workflow_stage and
its stage: tag, in the page and in the saved file, whose stage outputs have neither
text/html nor text/plain.  (tests/out/browser-nobadge.png)

Skipped only when nbstage/nbstage-kernel are not built or no model exists.
"""
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from badge import badge_percent
from kernel_tmpdir import SOCKET_PATH_MAX, short_tmp

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT))
PYTHON = "/usr/bin/python3"
BROWSER_DIR = ROOT / "tests" / "browser"
OUT = ROOT / "tests" / "out"
STAGE_MIME = "application/vnd.nbstage.stage+json"
STAGES = {"load", "prep", "train", "evaluate", "explore", "imports"}


def _model():
    m = os.environ.get("NBSTAGE_MODEL") or str(ROOT / "share" / "default.nbsm")
    return m if Path(m).is_file() else None


def _procs_mentioning(text):
    """PIDs whose command line contains TEXT (our temporary folders name our processes)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if text.encode() in (d / "cmdline").read_bytes():
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids



@contextlib.contextmanager
def _run_demo(env, log_path):
    """share/run-demo.sh started as `make run` starts it, its stderr in LOG_PATH; yields
    the (base URL, token) it printed, and stops it at the end: run-demo.sh passes
    SIGTERM on to the server, which shuts its kernels down."""
    log = open(log_path, "w")
    proc = subprocess.Popen(["sh", str(ROOT / "share" / "run-demo.sh")], env=env,
                            stdout=subprocess.PIPE, stderr=log, text=True,
                            start_new_session=True)
    try:
        url = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"(http://127\.0\.0\.1:\d+)/notebooks/demo\.ipynb\?token=(\w+)", line)
            if m:
                url = m.group(1), m.group(2)
                break
        assert url, "run-demo.sh printed no URL:\n" + log_path.read_text()
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """run-demo.sh's server: (base URL, token, work folder, env); stopped afterwards."""
    yield from serve(tmp_path_factory, "notebook")


def serve(tmp_path_factory, frontend):
    """The server fixture's body; FRONTEND is run-demo.sh's NBSTAGE_FRONTEND: notebook
    (Notebook 6's own server) or nbclassic (the same page on jupyter_server, used by
    test_browser_nbclassic.py)."""
    for prog in ("nbstage", "nbstage-kernel"):
        if not os.access(BIN / prog, os.X_OK):
            pytest.skip(f"{BIN / prog} is not built yet")
    if not _model():
        pytest.skip("no model: neither NBSTAGE_MODEL nor share/default.nbsm exists")
    assert Path("/usr/bin/chromium").exists(), "Debian's chromium is missing: run `make deps`"
    assert (BROWSER_DIR / "node_modules" / "playwright-core").is_dir(), \
        "tests/browser/node_modules/playwright-core is missing: run `make deps`"

    tmp = tmp_path_factory.mktemp(f"nbserver-{frontend}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "XDG_"))}
    env.update(HOME=str(tmp / "home"), JUPYTER_CONFIG_DIR=str(tmp / "config"),
               JUPYTER_DATA_DIR=str(tmp / "data"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               NBSTAGE_BIN=str(BIN), NBSTAGE_DEMO_DIR=str(tmp / "work"),
               NBSTAGE_MODEL=_model(), PYTHON=PYTHON, NBSTAGE_FRONTEND=frontend)
    if frontend == "nbclassic":  # a token of the user's own: token_is_secret checks it too
        env["NBSTAGE_TOKEN"] = "given" + uuid.uuid4().hex
    (tmp / "home").mkdir()
    # two more kernelspecs: for the position-bottom notebook and the no-badge one
    for name, display, opts in (("nbstage-bottom", "stages at the bottom", ["--tag-position", "bottom"]),
                                ("nbstage-nobadge", "stages without badges", ["--no-badge"])):
        r = subprocess.run([str(BIN / "nbstage"), "install-kernel", "--name", name,
                            "--display-name", display, *opts],
                           env=env, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
    # The widgets nbextension (Debian's jupyter-nbextension-jupyter-js-widgets) is
    # enabled system-wide by the package in /etc/jupyter/nbconfig/notebook.d; the
    # temporary config says so too, so the widget test does not rest on that.
    (tmp / "config" / "nbconfig").mkdir(parents=True)
    (tmp / "config" / "nbconfig" / "notebook.json").write_text(
        json.dumps({"load_extensions": {"jupyter-js-widgets/extension": True}}))
    # A user's config with a token of its own: the demo's token (on no command line)
    # must still outrank it, as --NotebookApp.token did.
    for name, app in (("jupyter_notebook_config.py", "NotebookApp"), ("jupyter_server_config.py", "ServerApp")):
        (tmp / "config" / name).write_text(f"c.{app}.token = 'a-token-of-the-users-config'\n")
    try:
        with _run_demo(env, tmp / "run-demo.log") as url:
            yield url[0], url[1], tmp / "work", env, tmp
    finally:
        # nothing may outlive the server: not the server, not a kernel, not its child
        for _ in range(50):
            left = _procs_mentioning(str(tmp))
            if not left:
                break
            time.sleep(0.2)
        what = {}
        for pid in left:
            try:
                what[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:300]
                os.kill(pid, signal.SIGKILL)
            except (OSError, ProcessLookupError):
                pass
        assert not left, f"processes left running after the server stopped: {what or left}"


def test_run_demo_keeps_the_demo_already_in_its_work_folder(tmp_path):
    """NBSTAGE_DEMO_DIR names a folder kept from one `make run` to the next: the
    demo.ipynb the person ran, edited and saved there is theirs, and the next run
    opens it as it is.  (run-demo.sh copied the shipped demo over it, every time,
    without a word: the saved stages and edits were gone.)  Needs no browser."""
    for prog in ("nbstage", "nbstage-kernel"):
        if not os.access(BIN / prog, os.X_OK):
            pytest.skip(f"{BIN / prog} is not built yet")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "XDG_"))}
    env.update(HOME=str(tmp_path / "home"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_DATA_DIR=str(tmp_path / "data"), JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               NBSTAGE_BIN=str(BIN), NBSTAGE_DEMO_DIR=str(tmp_path / "work"), PYTHON=PYTHON)
    (tmp_path / "home").mkdir()
    (tmp_path / "work").mkdir()
    mine = json.loads((ROOT / "share" / "demo.ipynb").read_text())
    mine["cells"].append({"cell_type": "markdown", "id": "mine", "metadata": {},
                          "source": "My own notes, saved in the last session"})
    mine["cells"][1]["metadata"] = {"tags": ["stage:imports"], "workflow_stage": {
        "stage": "imports", "confidence": 0.986, "model": "nbstage-lstm-c65b97a2"}}
    saved = json.dumps(mine, indent=1) + "\n"
    (tmp_path / "work" / "demo.ipynb").write_text(saved)
    with _run_demo(env, tmp_path / "run-demo.log"):
        pass  # started, its URL printed: the demo it opens is the one in the folder
    assert (tmp_path / "work" / "demo.ipynb").read_text() == saved
    said = (tmp_path / "run-demo.log").read_text()
    assert f"keeping {tmp_path / 'work' / 'demo.ipynb'}" in said, said


def test_run_demo_refuses_a_token_that_would_not_survive(tmp_path):
    """A token goes into the printed URL as it is, and Jupyter's option parser rewrites
    a leading '~' or surrounding quotes: such an NBSTAGE_TOKEN made the server want
    another token than the one printed, and run-demo.sh waited 60 s on 403s.  It is
    refused at once, saying why.  Needs no browser."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "XDG_"))}
    env.update(HOME=str(tmp_path), NBSTAGE_BIN=str(BIN), NBSTAGE_DEMO_DIR=str(tmp_path / "work"),
               PYTHON=PYTHON)
    for token in ("'abc'", "~", "a&b=c"):
        r = subprocess.run(["sh", str(ROOT / "share" / "run-demo.sh")], env={**env, "NBSTAGE_TOKEN": token},
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 1 and "NBSTAGE_TOKEN: use letters, digits" in r.stderr, (token, r.stderr)
    # refused before anything was made: no kernelspec installed, no work folder
    assert not (tmp_path / "work").exists() and not (tmp_path / ".local").exists()


def token_is_secret(base, token):
    """The server wants the token, and no command line on the machine shows it: any
    user may read another's (ps), and with the token run code as its owner.
    (run-demo.sh passed it as --NotebookApp.token=..., a local user's way in.)  Nor
    does a kernel's environment hold it (a cell printing os.environ would save it in
    the notebook)."""
    import urllib.error
    import urllib.request
    req = urllib.request.Request(f"{base}/api/kernels?token={token}", method="POST",
                                 data=json.dumps({"name": "nbstage"}).encode())
    with urllib.request.urlopen(req, timeout=30) as r:
        kernel_id = json.loads(r.read())["id"]
    try:
        pids = []
        for _ in range(100):
            pids = _procs_mentioning(f"kernel-{kernel_id}.json")
            if pids:
                break
            time.sleep(0.1)
        assert pids, "the kernel the server started was not found"
        for pid in pids:
            assert token.encode() not in Path(f"/proc/{pid}/environ").read_bytes(), \
                Path(f"/proc/{pid}/cmdline").read_bytes()
    finally:
        urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/kernels/{kernel_id}?token={token}", method="DELETE"), timeout=30).close()
    with urllib.request.urlopen(f"{base}/api/contents?token={token}", timeout=10) as r:
        assert r.status == 200
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"{base}/api/contents", timeout=10)
    assert e.value.code == 403
    shown = {}
    for d in Path("/proc").iterdir():
        try:
            line = (d / "cmdline").read_bytes() if d.name.isdigit() else b""
        except OSError:
            continue
        if token.encode() in line:
            shown[d.name] = line.replace(b"\0", b" ").decode(errors="replace")[:300]
    assert not shown, f"the server's token is on these command lines: {shown}"


def test_the_token_is_on_no_command_line(server):
    token_is_secret(server[0], server[1])


@contextlib.contextmanager
def browser_env():
    """The environment of a browser script: TMPDIR a folder of its own, short enough
    for Chromium's TMPDIR/org.chromium.Chromium.XXXXXX/SingletonSocket, and removed
    after.  In a deep TMPDIR (a CI job's) Chromium stopped at its start, "Socket path
    too long", and every browser test failed."""
    d = short_tmp("nbs-chromium-", SOCKET_PATH_MAX - len("/org.chromium.Chromium.XXXXXX/SingletonSocket"))
    try:
        yield {**os.environ, "TMPDIR": str(d)}
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _drive(url, screenshot, tmp, name, mode="badge", steps=2):
    """Runs the browser script on URL in MODE (see run_notebook.mjs); its JSON report."""
    profile = tmp / f"chromium-{name}"
    profile.mkdir()
    with browser_env() as env:
        r = subprocess.run(["node", str(BROWSER_DIR / "run_notebook.mjs"), url, str(screenshot),
                            str(profile), "60000", mode, str(steps)], cwd=BROWSER_DIR,
                           capture_output=True, text=True, timeout=180, env=env)
    assert r.stdout.strip(), f"no report from the browser script (exit {r.returncode}):\n{r.stderr}"
    report = json.loads(r.stdout)
    assert r.returncode == 0 and "error" not in report, \
        f"{report.get('error', r.stderr)}\nat the failure: {report.get('atFailure')}" \
        f"{report.get('atFailureError', '')}; menu retries: {report.get('menuRetries')}"
    assert report["pageErrors"] == [], report["pageErrors"]
    assert report["saved"] is True and report["dirtyAfterSave"] is False
    return report


def _check_badges(report):
    """Every code cell: one visible badge that says what its metadata says."""
    assert report["cells"]
    for cell in report["cells"]:
        assert len(cell["badges"]) == 1, cell
        assert cell["badgeVisible"], cell
        ws = cell["metadata"]["workflow_stage"]
        stage, pct = cell["badges"][0].split()
        assert stage == ws["stage"] and stage in STAGES
        assert pct == f"{badge_percent(ws['confidence'])}%"
        assert ws["model"]
        assert [t for t in cell["metadata"]["tags"] if t.startswith("stage:")] == [f"stage:{stage}"]


def _saved_code_cells(path):
    nb = json.loads(path.read_text())
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def test_demo_run_all_badges_and_saved_metadata(server):
    demo_run_all(server, "browser-demo.png")


def demo_run_all(server, shot_name):
    """The demo as a person runs it on SERVER: Run All, Save, opened again."""
    base, token, work, env, tmp = server
    shipped = (ROOT / "share" / "demo.ipynb").read_bytes()
    OUT.mkdir(exist_ok=True)
    shot = OUT / shot_name
    if shot.exists():
        shot.unlink()
    report = _drive(f"{base}/notebooks/demo.ipynb?token={token}", shot, tmp, "demo")

    assert report["kernelName"] == "nbstage"
    assert report["kernelDisplayName"] == "Python 3 (workflow stages)"
    assert len(report["cells"]) == 6
    _check_badges(report)
    for cell in report["cells"]:
        # position top (the default): above the cell's other outputs
        assert cell["badgePosition"] == 0, cell
    assert report["dirtyBeforeSave"] is True  # the script marked the notebook changed
    # opened again: every badge is back, and nothing counts as changed
    assert report["reopened"]["badges"] == [1] * 6, report["reopened"]
    assert report["reopened"]["dirty"] is False, report["reopened"]
    # saved by the user's session, the notebook is trusted, so the scripts did run again
    assert report["reopened"]["trusted"] is True, report["reopened"]

    saved = _saved_code_cells(work / "demo.ipynb")
    assert len(saved) == 6
    for live, cell in zip(report["cells"], saved):
        md = cell["metadata"]
        assert set(md["workflow_stage"]) == {"stage", "confidence", "model"}
        assert md["workflow_stage"] == live["metadata"]["workflow_stage"]
        assert md["tags"] == [f"stage:{md['workflow_stage']['stage']}"]
        assert "trusted" not in md
        payloads = [o["metadata"]["nbstage"] for o in cell["outputs"]
                    if STAGE_MIME in o.get("data", {})]
        assert len(payloads) == 1 and payloads[0]["stage"] == md["workflow_stage"]["stage"]
    # tagged live as `nbstage tag` tags it: re-classifying with the same model finds
    # nothing to change (the kernel's confidences once had 4 decimals, tag's 3)
    r = subprocess.run([str(BIN / "nbstage"), "tag", "--dry-run", str(work / "demo.ipynb")],
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
    assert "0 cell tags would change" in r.stderr, r.stderr
    # the user's run changed the copy, never the shipped notebook
    assert (ROOT / "share" / "demo.ipynb").read_bytes() == shipped
    assert shot.is_file() and shot.stat().st_size > 20000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_position_bottom_and_an_older_stage_tag(server):
    base, token, work, env, tmp = server
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": "a1", "outputs": [],
             "metadata": {"tags": ["keep-me", "stage:bogus", "also-kept"],
                          "workflow_stage": {"stage": "bogus", "confidence": 1, "model": "old"}},
             "source": "from IPython.display import display\ndisplay(1)\ndisplay(2)"},
            {"cell_type": "code", "execution_count": None, "id": "a2", "outputs": [],
             "metadata": {}, "source": "import os\nimport sys"},
        ],
        "metadata": {"kernelspec": {"name": "nbstage-bottom", "display_name": "stages at the bottom",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (work / "bottom.ipynb").write_text(json.dumps(nb))
    report = _drive(f"{base}/notebooks/bottom.ipynb?token={token}", tmp / "bottom.png", tmp,
                    "bottom")
    assert report["kernelName"] == "nbstage-bottom"
    _check_badges(report)
    first = report["cells"][0]
    assert first["outputAreas"] == 3 and first["badgePosition"] == 2, first
    stage = first["metadata"]["workflow_stage"]["stage"]
    # the stale tag is replaced where it stood; the others stay
    assert first["metadata"]["tags"] == ["keep-me", f"stage:{stage}", "also-kept"]

    saved = _saved_code_cells(work / "bottom.ipynb")
    assert saved[0]["metadata"]["tags"] == ["keep-me", f"stage:{stage}", "also-kept"]
    assert saved[0]["metadata"]["workflow_stage"]["model"] != "old"
    assert saved[1]["metadata"]["tags"] == [f"stage:{saved[1]['metadata']['workflow_stage']['stage']}"]


def _shot(name):
    OUT.mkdir(exist_ok=True)
    shot = OUT / name
    if shot.exists():
        shot.unlink()
    return shot


# ipywidgets (Debian's 6.0) in a notebook on the stage kernel: a slider whose observer,
# in the kernel, rewrites a Label (class nbstage-echo) with the value and its square and
# prints the value.  Moving the slider in the browser is a comm_msg from the page to
# the kernel through the proxy; the Label's new text is a comm_msg back, and the print
# a stream whose parent is that comm_msg.
WIDGET_CELLS = [
    "import ipywidgets as widgets\nfrom IPython.display import display",
    "slider = widgets.IntSlider(value=3, min=0, max=10, description='n')\n"
    "echo = widgets.Label(value='nothing yet', layout=widgets.Layout(width='20em'))\n"
    "echo.add_class('nbstage-echo')\n"
    "def on_value(change):\n"
    "    n = change['new']\n"
    "    echo.value = 'kernel saw %d squared %d' % (n, n * n)\n"
    "    print('callback got', n)\n"
    "slider.observe(on_value, names='value')\n"
    "display(slider, echo)",
]


def _widget_run(server, kernel, name, mode):
    """The widget notebook on KERNEL, run in the browser, the slider moved 3 -> 5."""
    base, token, work, env, tmp = server
    nb = {
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"w{i}", "outputs": [],
                   "metadata": {}, "source": src} for i, src in enumerate(WIDGET_CELLS)],
        "metadata": {"kernelspec": {"name": kernel, "display_name": kernel, "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (work / f"{name}.ipynb").write_text(json.dumps(nb))
    shot = _shot(f"browser-{name}.png")
    report = _drive(f"{base}/notebooks/{name}.ipynb?token={token}", shot, tmp, name,
                    mode=mode, steps=2)
    assert report["kernelName"] == kernel
    assert shot.is_file() and shot.stat().st_size > 10000
    return report


def test_widgets_both_ways_as_with_ipykernel_alone(server):
    assert subprocess.run([PYTHON, "-c", "import ipywidgets"]).returncode == 0, \
        "Debian's python3-ipywidgets is missing: run `make deps`"
    assert Path("/usr/share/jupyter/nbextensions/jupyter-js-widgets/extension.js").is_file(), \
        "Debian's jupyter-nbextension-jupyter-js-widgets is missing: run `make deps`"
    report = _widget_run(server, "nbstage", "widgets", "widget")
    _check_badges(report)
    w = report["widget"]
    # the nbextension drew the slider, the browser moved it, the kernel answered
    assert w["extensionLoaded"] is True, w
    assert w["readoutBefore"] == "3" and w["readoutAfter"] == "5", w
    assert w["echoBefore"] == "nothing yet", w
    assert w["echoAfter"] == "kernel saw 5 squared 25", w
    assert w["outputText"][-1] == "callback got 4\ncallback got 5\n", w
    # and the page shows what it shows with ipykernel alone (Debian's ipywidgets 6 warns
    # "Widget Javascript not detected" on a kernel's first widgets with either: the page
    # asks for the widgets' version when it connects, before the kernel imported them)
    plain = _widget_run(server, "python3", "widgets-ipykernel", "plainwidget")
    assert w == plain["widget"]


def test_a_display_updated_after_a_clear_keeps_its_stage(server):
    """clear_output(wait=True) then a display update (a progress display): Notebook 6
    clears the cell at the update, badge and all, as it does without nbstage.  The stage
    script wrote the cell's metadata one tick after its output was added, looking for
    the output's record then; cleared by the update in between, about half such cells
    were left untagged (h1's count: 9 of 20).  It now writes in the tick the output is
    added (OutputArea's output_added)."""
    base, token, work, env, tmp = server
    progress = ("from IPython.display import display, clear_output\n"
                "h = display('start', display_id=True)\n"
                "for i in range(3):\n    clear_output(wait=True)\n    h.update(i)")
    once = ("from IPython.display import display, clear_output\n"
            "h = display('a', display_id=True)\nclear_output(wait=True)\nh.update('done')")
    sources = [progress, once, progress, once, progress, once]
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": f"c{i}", "outputs": [],
                     "metadata": {"tags": ["mine"]}, "source": src} for i, src in enumerate(sources)],
          "metadata": {"kernelspec": {"name": "nbstage", "display_name": "Python 3 (workflow stages)",
                                      "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (work / "cleared.ipynb").write_text(json.dumps(nb))
    report = _drive(f"{base}/notebooks/cleared.ipynb?token={token}", tmp / "cleared.png", tmp, "cleared",
                    mode="nobadge")
    saved = _saved_code_cells(work / "cleared.ipynb")
    assert len(saved) == 6
    for live, cell in zip(report["cells"], saved):
        assert not [o for o in cell["outputs"] if STAGE_MIME in o.get("data", {})], cell["outputs"]
        ws = cell["metadata"]["workflow_stage"]
        assert ws == live["metadata"]["workflow_stage"] and ws["stage"] in STAGES
        assert cell["metadata"]["tags"] == ["mine", f"stage:{ws['stage']}"]


def test_no_badge_metadata_only(server):
    """--no-badge: nothing of the tag shows in Notebook 6, the metadata is written and saved."""
    base, token, work, env, tmp = server
    nb = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": "n1", "outputs": [],
             "metadata": {"tags": ["keep-me"]}, "source": "import os\nimport sys"},
            {"cell_type": "code", "execution_count": None, "id": "n2", "outputs": [],
             "metadata": {}, "source": "data = open(os.devnull).read()\nprint('visible output')"},
        ],
        "metadata": {"kernelspec": {"name": "nbstage-nobadge", "display_name": "stages without badges",
                                    "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    (work / "nobadge.ipynb").write_text(json.dumps(nb))
    shot = _shot("browser-nobadge.png")
    report = _drive(f"{base}/notebooks/nobadge.ipynb?token={token}", shot, tmp, "nobadge",
                    mode="nobadge")
    assert report["kernelName"] == "nbstage-nobadge"
    cells = report["cells"]
    assert len(cells) == 2
    for cell in cells:
        # the stage output is in the cell, but draws nothing and takes no room
        assert cell["badges"] == [], cell
        assert cell["outputTypes"][0] == f"application/javascript,{STAGE_MIME}", cell
        ws = cell["metadata"]["workflow_stage"]
        assert ws["stage"] in STAGES and ws["model"] and 0 < ws["confidence"] <= 1
    assert cells[0]["visibleOutputAreas"] == 0 and cells[0]["visibleText"] == "", cells[0]
    assert cells[1]["visibleOutputAreas"] == 1, cells[1]
    assert cells[1]["visibleText"] == "visible output\n", cells[1]
    stages = [c["metadata"]["workflow_stage"]["stage"] for c in cells]
    assert cells[0]["metadata"]["tags"] == ["keep-me", f"stage:{stages[0]}"]
    assert cells[1]["metadata"]["tags"] == [f"stage:{stages[1]}"]
    assert report["dirtyBeforeSave"] is True
    # opened again (trusted): still nothing to see, and nothing counts as changed
    assert report["reopened"]["badges"] == [0, 0], report["reopened"]
    assert report["reopened"]["visibleOutputAreas"] == [0, 1], report["reopened"]
    assert report["reopened"]["dirty"] is False, report["reopened"]

    saved = _saved_code_cells(work / "nobadge.ipynb")
    for live, cell in zip(cells, saved):
        md = cell["metadata"]
        assert md["workflow_stage"] == live["metadata"]["workflow_stage"]
        assert md["tags"] == live["metadata"]["tags"]
        tag_outputs = [o for o in cell["outputs"] if STAGE_MIME in o.get("data", {})]
        assert len(tag_outputs) == 1
        # no badge in the file either: no text/html or text/plain for exports to show
        assert set(tag_outputs[0]["data"]) == {"application/javascript", STAGE_MIME}
        assert tag_outputs[0]["metadata"]["nbstage"] == md["workflow_stage"]
    assert shot.is_file() and shot.stat().st_size > 10000
