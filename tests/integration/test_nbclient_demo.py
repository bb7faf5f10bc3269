"""The shipped demo notebook executed headless through the stage kernel.

`python3 -m nbconvert --to notebook --execute` (nbclient underneath) runs a temporary
copy of share/demo.ipynb on the kernelspec that `nbstage install-kernel` writes into a
temporary Jupyter data folder.  Every code cell must come back with its own results
and, last, the stage output; `nbstage tag --from-outputs` then moves the stages into
the cells' metadata, as it would for a JupyterLab user.

Needs NBSTAGE_BIN/nbstage and nbstage-kernel, and a model (NBSTAGE_MODEL or
share/default.nbsm): without them the test is skipped and says which is missing.
"""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from badge import badge_percent

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT))
PYTHON = "/usr/bin/python3"
STAGE_MIME = "application/vnd.nbstage.stage+json"
STAGES = {"load", "prep", "train", "evaluate", "explore", "imports"}


def _model():
    m = os.environ.get("NBSTAGE_MODEL") or str(ROOT / "share" / "default.nbsm")
    return m if Path(m).is_file() else None


def _need_programs():
    for prog in ("nbstage", "nbstage-kernel"):
        if not os.access(BIN / prog, os.X_OK):
            pytest.skip(f"{BIN / prog} is not built yet")
    if not _model():
        pytest.skip("no model: neither NBSTAGE_MODEL nor share/default.nbsm exists")


@pytest.fixture(scope="module")
def jupyter_env(tmp_path_factory):
    """A Jupyter with its own data/config/runtime folders and the stage kernel installed."""
    _need_programs()
    tmp_path = tmp_path_factory.mktemp("jupyter")
    env = dict(os.environ)
    env.update(
        HOME=str(tmp_path / "home"),
        JUPYTER_DATA_DIR=str(tmp_path / "data"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        NBSTAGE_MODEL=_model(),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    env.pop("JUPYTER_PATH", None)
    (tmp_path / "home").mkdir()
    r = subprocess.run([str(BIN / "nbstage"), "install-kernel", "--user"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return env


def _text(v):
    """A saved MIME value: nbformat stores text as a string or a list of lines."""
    return "".join(v) if isinstance(v, list) else v


def _execute(env, src, out, timeout=240):
    r = subprocess.run(
        [PYTHON, "-Xfrozen_modules=off", "-m", "nbconvert", "--to", "notebook", "--execute",
         "--ExecutePreprocessor.timeout=120", "--output", out.name, str(src)],
        cwd=src.parent, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def executed(jupyter_env, tmp_path_factory):
    """A copy of the demo, executed once for all the tests here: (path, notebook)."""
    tmp_path = tmp_path_factory.mktemp("demo")
    shipped = ROOT / "share" / "demo.ipynb"
    before = shipped.read_bytes()
    src = tmp_path / "demo.ipynb"
    shutil.copy(shipped, src)
    out = tmp_path / "executed.ipynb"
    nb = _execute(jupyter_env, src, out)
    assert shipped.read_bytes() == before
    return out, nb


def test_demo_every_code_cell_is_tagged(executed):
    nb = executed[1]
    assert nb["metadata"]["kernelspec"]["name"] == "nbstage"

    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) == 6
    for i, cell in enumerate(code):
        tags = [o for o in cell["outputs"]
                if o["output_type"] == "display_data" and STAGE_MIME in o.get("data", {})]
        assert len(tags) == 1, f"code cell {i}: {len(tags)} stage outputs\n{cell['source']}"
        tag = tags[0]
        # position top, the default: the tag goes out as soon as the cell has started
        # and is classified.  A cell of up to 256 bytes is classified by the proxy before
        # the child can publish anything for it, so its tag is its first output; a
        # longer one, on the worker thread, may come after the first few.
        if len(_text(cell["source"]).encode()) <= 256:
            assert cell["outputs"][0] is tag, f"code cell {i}: the tag is not first"
        payload = tag["data"][STAGE_MIME]
        # the output's metadata: what the cell's workflow_stage is to hold (the payload
        # without the probabilities)
        assert tag["metadata"]["nbstage"] == {k: payload[k] for k in ("stage", "confidence", "model")}
        assert payload["stage"] in STAGES
        assert 0.0 <= payload["confidence"] <= 1.0
        assert set(payload["probabilities"]) == STAGES
        assert abs(sum(payload["probabilities"].values()) - 1.0) < 0.01
        # the confidence: 3 decimals, as `nbstage tag` writes it; the probabilities: 4
        assert abs(payload["confidence"] - max(payload["probabilities"].values())) <= 5.01e-4
        assert payload["confidence"] == round(payload["confidence"], 3)
        assert payload["model"]
        pct = badge_percent(payload["confidence"])
        assert _text(tag["data"]["text/plain"]) == f"stage: {payload['stage']} ({pct}%)"
        assert "nbstage-badge" in _text(tag["data"]["text/html"])
        assert "workflow_stage" in _text(tag["data"]["application/javascript"])
        # nbclient cannot touch cell metadata: the stage rides in the output only
        assert "workflow_stage" not in cell["metadata"]

    # the wrapped ipykernel's own results are all there
    outs = lambda c: [o for o in c["outputs"] if STAGE_MIME not in o.get("data", {})]
    assert any(o["output_type"] == "execute_result" and "text/html" in o["data"]
               for o in outs(code[1])), "df.head() lost its table"
    assert "(178, 14)" in "".join(_text(o.get("text", "")) for o in outs(code[2]))
    assert "accuracy: " in "".join(_text(o.get("text", "")) for o in outs(code[5]))
    assert not any(o["output_type"] == "error" for c in code for o in c["outputs"])


def test_tag_from_outputs_moves_the_stages_into_metadata(jupyter_env, executed, tmp_path):
    out = tmp_path / "tagged.ipynb"
    shutil.copy(executed[0], out)
    nb = executed[1]
    r = subprocess.run([str(BIN / "nbstage"), "tag", "--from-outputs", str(out)],
                       env=jupyter_env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    tagged = json.loads(out.read_text())
    for before, after in zip(nb["cells"], tagged["cells"]):
        if before["cell_type"] != "code":
            continue
        payload = next(o["data"][STAGE_MIME] for o in before["outputs"]
                       if STAGE_MIME in o.get("data", {}))
        ws = after["metadata"]["workflow_stage"]
        assert ws["stage"] == payload["stage"]
        assert ws["confidence"] == payload["confidence"]
        assert f"stage:{payload['stage']}" in after["metadata"]["tags"]
    # The kernel's confidence is the one `tag` writes (3 decimals, rounded once):
    # re-classifying the cells with the same model finds nothing to change.  (With 4
    # decimals from the kernel, tag rewrote every confidence, some to another value.)
    r = subprocess.run([str(BIN / "nbstage"), "tag", "--dry-run", str(out)],
                       env=jupyter_env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr
    assert "0 cell tags would change" in r.stderr, r.stderr


def test_the_shipped_model_sees_the_demos_six_stages(executed):
    """The demo is written to show each stage once; the shipped model must agree."""
    if os.environ.get("NBSTAGE_MODEL"):
        pytest.skip("NBSTAGE_MODEL names another model than the shipped one")
    code = [c for c in executed[1]["cells"] if c["cell_type"] == "code"]
    got = [next(o["data"][STAGE_MIME]["stage"] for o in c["outputs"]
                if STAGE_MIME in o.get("data", {})) for c in code]
    assert got == ["imports", "load", "explore", "prep", "train", "evaluate"]
