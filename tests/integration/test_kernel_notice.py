"""test_kernel_notice.py — the stage kernel says in the notebook why it gives no tags.

A kernel that runs without stage tags (no model found, or one it cannot read) or with
options it ignored said so only in the Jupyter server's log: in the notebook, cells ran
with no badge and no reason.  Now the same reason is said once per kernel process, as
one stderr `stream` message of the first request that would get a tag (not silent,
not empty or comment-only), after the child's execute_input for it and before its
idle, with the tags' header (the child's session).  Everything of the child's is as
ipykernel alone sends it; a kernel with its model and good options says nothing, and
neither does one whose --no-badge or --min-confidence hides the tags (a user's choice).

Through nbclient the notice is saved in the first code cell's outputs as a stream,
which `nbstage tag --from-outputs` and `--strip-tag-outputs` leave alone.
"""
import json
import os
import subprocess
import time

import nbformat
import pytest
from jupyter_client import KernelManager
from nbclient import NotebookClient

from test_kernel import BIN, MODEL, Kernel, joined, logs, specs, stage_outputs  # noqa: F401

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built")
NBSTAGE = BIN.parent / "nbstage"


def notices(msgs):
    return [m for m in msgs if m["msg_type"] == "stream" and m["content"]["text"].startswith("nbstage")]


def spec(specs, name, extra=(), env=None):
    """Writes kernelspec NAME: the stage kernel wrapping python3, with EXTRA arguments."""
    s = {"argv": [str(BIN), "-f", "{connection_file}", "--wrap", "python3", *extra],
         "display_name": name, "language": "python", "env": env or {}}
    (specs / "kernels" / name).mkdir(parents=True, exist_ok=True)
    (specs / "kernels" / name / "kernel.json").write_text(json.dumps(s))
    return name


@pytest.fixture(scope="module")
def plain():
    """ipykernel alone, to compare the child's messages with."""
    km = KernelManager(kernel_name="python3")
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def iopub_until_idle(kc, mid):
    """The iopub messages of request MID, up to its idle."""
    msgs = []
    while True:
        m = kc.get_iopub_msg(timeout=30)
        if m["parent_header"].get("msg_id") != mid:
            continue
        msgs.append(m)
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return msgs


def run_plain(kc, code, **execute_options):
    return iopub_until_idle(kc, kc.execute(code, **execute_options))


def truncated_model(tmp_path):
    if not MODEL:
        pytest.skip("no model (NBSTAGE_MODEL or share/default.nbsm)")
    cut = tmp_path / "cut.nbsm"
    with open(MODEL, "rb") as f:
        cut.write_bytes(f.read(4096))
    return cut


CELL = "print('out'); import sys; print('err', file=sys.stderr); 6 * 7"


def check_first_cells(k, plain, says):
    """The first cell with code: the child's messages as ipykernel alone sends them, and
    the notice (whose lines contain each of SAYS) after the execute_input, before the
    idle and before the cell's tag if it has one; the second cell: no notice.  Returns
    the notice's text."""
    # silent, empty and comment-only requests get no tag, and no notice either
    for code, kw in (("x = 1", {"silent": True}), ("", {}), ("# a comment", {})):
        _, msgs, reply = k.run(code, **kw)
        assert reply["content"]["status"] == "ok" and notices(msgs) == [], code
    msg_id, msgs, reply = k.run(CELL)
    assert reply["content"]["status"] == "ok"
    [n] = notices(msgs)
    child = [m for m in msgs if m is not n and m not in stage_outputs(msgs)]
    assert joined(child) == joined(run_plain(plain, CELL))
    types = [m["msg_type"] for m in msgs]
    i = msgs.index(n)
    assert types.index("execute_input") < i < len(msgs) - 1 and types[-1] == "status"
    assert all(i < msgs.index(t) for t in stage_outputs(msgs))
    assert types.count("status") == 2  # no busy/idle of ours
    [inp] = [m for m in msgs if m["msg_type"] == "execute_input"]
    assert inp["content"]["execution_count"] == reply["content"]["execution_count"]
    assert n["content"]["name"] == "stderr"
    assert n["parent_header"]["msg_id"] == msg_id
    assert n["parent_header"]["msg_type"] == "execute_request"
    assert n["header"]["msg_type"] == "stream"
    assert n["header"]["session"] == msgs[0]["header"]["session"]
    assert n["header"]["msg_id"] not in {m["header"]["msg_id"] for m in child}
    text = n["content"]["text"]
    assert text.endswith("\n") and all(line.startswith("nbstage: ") for line in text.splitlines())
    for s in says:
        assert s in text, text
    _, msgs2, reply2 = k.run(CELL)
    assert reply2["content"]["execution_count"] == reply["content"]["execution_count"] + 1
    assert notices(msgs2) == []
    return text


@pytest.mark.parametrize("how", ["missing", "truncated", "from the environment", "a FIFO"])
def test_a_model_that_cannot_be_read_is_said_once_in_the_first_cell(specs, logs, plain, tmp_path, how):
    """A model named by NBSTAGE_MODEL (a kernelspec's env here) is named as such: the
    user may have set it long ago and never typed the path.  A FIFO there (from the
    environment too) kept the kernel from starting: its load waited for a writer for
    ever, and the kernel never answered (a short wait for it here fails the test)."""
    if how == "truncated":
        path, why = truncated_model(tmp_path), "truncated file"
    elif how == "a FIFO":
        path, why = tmp_path / "fifo.nbsm", "not a regular file"
        os.mkfifo(path)
    else:
        path, why = tmp_path / "no-such.nbsm", "No such file or directory"
    if how in ("from the environment", "a FIFO"):
        name = spec(specs, "nbs-notice-fifo" if how == "a FIFO" else "nbs-notice-env",
                    env={"NBSTAGE_MODEL": str(path)})
        path = f"NBSTAGE_MODEL={path}"
    else:
        name = spec(specs, f"nbs-notice-{how}", ["--model", str(path)])
    k = Kernel(name, logs, ready_within=30 if how == "a FIFO" else 60)
    try:
        text = check_first_cells(k, plain, [f"nbstage: no stage tags in this session: {path}: {why}"])
        assert len(text.splitlines()) == 1
        if how == "missing":  # a restart is a new kernel process: it says so again, once
            k.km.restart_kernel(now=True)
            k.kc.wait_for_ready(timeout=60)
            for n in (1, 0):
                _, msgs, _ = k.run(CELL)
                assert [m["content"]["text"] for m in notices(msgs)] == [text] * n
    finally:
        k.close()
    # the same reason as the log's
    assert f"nbstage-kernel: {path}: {why}" in k.log.read_text()


@pytest.mark.parametrize("layout", ["installed", "tree"])
def test_no_model_found_is_said(specs, logs, plain, tmp_path, layout):
    """No --model, no NBSTAGE_MODEL and no share/default.nbsm beside the program (a copy
    of it elsewhere).  The advice was "(set NBSTAGE_MODEL or --model)", nothing on how
    to put the shipped one back: now the other commands' (nbformat/sharefile.h), by
    where it was looked for, still without tags (a plain proxy, as before)."""
    if layout == "installed":  # a program in PREFIX/bin
        alone, share = tmp_path / "bin" / "nbstage-kernel", tmp_path / "share" / "nbstage"
        how = "reinstall nbstage"
    else:  # a source tree's, by its mark
        alone, share = tmp_path / "tree" / "nbstage-kernel", tmp_path / "tree" / "share"
        (tmp_path / "tree" / "nbformat").mkdir(parents=True)
        (tmp_path / "tree" / "nbformat" / "sharefile.h").write_text("")
        how = "`git checkout share/default.nbsm` or `make model` in the source tree"
    alone.parent.mkdir(exist_ok=True)
    alone.write_bytes(BIN.read_bytes())
    alone.chmod(0o755)
    name = f"nbs-notice-none-{layout}"
    s = {"argv": [str(alone), "-f", "{connection_file}"], "display_name": "no model",
         "language": "python", "env": {"NBSTAGE_MODEL": ""}}
    (specs / "kernels" / name).mkdir(parents=True, exist_ok=True)
    (specs / "kernels" / name / "kernel.json").write_text(json.dumps(s))
    k = Kernel(name, logs)
    why = (f"no model found: {share / 'default.nbsm'} is missing ({how}, or give --model FILE or set "
           "NBSTAGE_MODEL)")
    try:
        # where the shipped model was looked for is named, and how to put it back there
        check_first_cells(k, plain, [f"nbstage: no stage tags in this session: {why}"])
    finally:
        k.close()
    assert f"nbstage-kernel: {why}; relaying without stage tags" in k.log.read_text()


def test_ignored_options_are_said_and_the_cell_is_still_tagged(specs, logs, plain):
    if not MODEL:
        pytest.skip("no model (NBSTAGE_MODEL or share/default.nbsm)")
    name = spec(specs, "nbs-notice-opts", ["--tag-position", "middle", "--frobnicate"],
                {"NBSTAGE_MODEL": MODEL, "NBSTAGE_MIN_CONFIDENCE": "80%"})
    k = Kernel(name, logs)
    try:
        text = check_first_cells(k, plain, [
            'nbstage: warning: --tag-position "middle": expected top or bottom; ignored',
            'nbstage: warning: unknown option or missing value: "--frobnicate"; ignored',
            'nbstage: warning: NBSTAGE_MIN_CONFIDENCE "80%": expected a number in [0, 1]; ignored'])
        assert "no stage tags" not in text and len(text.splitlines()) == 3
        # the model is fine: every cell is tagged
        _, msgs, _ = k.run("import numpy as np")
        assert [m["msg_type"] for m in msgs] == ["status", "execute_input", "display_data", "status"]
    finally:
        k.close()


@pytest.mark.parametrize("name", ["nbs-signal", "nbs-opts", "nbs-min"])
def test_a_kernel_with_its_model_and_good_options_says_nothing(specs, logs, name):
    """nbs-opts: --no-badge; nbs-min: NBSTAGE_MIN_CONFIDENCE=1 (no tag at all): the
    user's choices, nothing to tell.  The first cell's messages are what they were."""
    if not MODEL:
        pytest.skip("no model (NBSTAGE_MODEL or share/default.nbsm)")
    k = Kernel(name, logs)
    try:
        _, msgs, reply = k.run("import numpy as np")
        assert reply["content"]["status"] == "ok"
        tag = [] if name == "nbs-min" else ["display_data"]
        assert [m["msg_type"] for m in msgs] == ["status", "execute_input", *tag, "status"]
        _, msgs, _ = k.run(CELL)
        assert notices(msgs) == [] and not any("nbstage" in m["content"].get("text", "") for m in msgs)
    finally:
        k.close()


def nbclient_run(name, tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# a run"),
                nbformat.v4.new_code_cell("import numpy as np\nx = np.arange(3)"),
                nbformat.v4.new_code_cell("print(x.sum())")]
    NotebookClient(nb, kernel_name=name, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = tmp_path / "run.ipynb"
    nbformat.write(nb, str(path))
    return path, nb


def stderr_text(cell):
    return "".join(o["text"] for o in cell["outputs"]
                   if o["output_type"] == "stream" and o["name"] == "stderr")


def nbstage(*args):
    return subprocess.run([str(NBSTAGE), *args], capture_output=True, text=True, timeout=60)


def test_through_nbclient_the_notice_is_in_the_first_code_cell(specs, logs, tmp_path):
    """No tags: the notice is saved in the first code cell as a stream, which `tag
    --from-outputs` does not take for a tag output and `--strip-tag-outputs` leaves."""
    if not NBSTAGE.exists():
        pytest.skip(f"{NBSTAGE} not built")
    cut = truncated_model(tmp_path)
    path, nb = nbclient_run(spec(specs, "nbs-notice-nbclient", ["--model", str(cut)]), tmp_path)
    code = nb.cells[1:]
    said = stderr_text(code[0])
    assert said.startswith(f"nbstage: no stage tags in this session: {cut}: truncated file (4096 of ")
    assert said.endswith(" bytes)\n") and said.count("\n") == 1
    assert stderr_text(code[1]) == "" and code[1].outputs[0]["text"] == "3\n"
    before = path.read_bytes()
    r = nbstage("tag", "--from-outputs", str(path))
    assert r.returncode == 0 and "cannot be read" not in r.stderr, r.stderr
    assert path.read_bytes() == before  # no tag output: nothing to take
    r = nbstage("tag", "--from-outputs", "--strip-tag-outputs", str(path))
    assert r.returncode == 0 and "cannot be read" not in r.stderr, r.stderr
    assert path.read_bytes() == before  # and nothing to strip


def test_through_nbclient_a_notice_beside_a_tag(specs, logs, tmp_path):
    """An ignored option, the model fine: the first code cell has the notice and the tag;
    `tag --from-outputs --strip-tag-outputs` takes the stage and removes the tag output
    only, the notice stays."""
    if not MODEL or not NBSTAGE.exists():
        pytest.skip("no model, or nbstage not built")
    name = spec(specs, "nbs-notice-nbclient2", ["--frobnicate"], {"NBSTAGE_MODEL": MODEL})
    path, nb = nbclient_run(name, tmp_path)
    code = nb.cells[1:]
    assert stderr_text(code[0]) == 'nbstage: warning: unknown option or missing value: "--frobnicate"; ignored\n'
    assert stderr_text(code[1]) == ""
    assert all(sum(o["output_type"] == "display_data" for o in c.outputs) == 1 for c in code)
    r = nbstage("tag", "--from-outputs", "--strip-tag-outputs", str(path))
    assert r.returncode == 0, r.stderr
    after = nbformat.read(str(path), as_version=4)
    for c in after.cells[1:]:
        assert c.metadata["workflow_stage"]["stage"]
        assert not any(o["output_type"] == "display_data" for o in c.outputs)
    assert stderr_text(after.cells[1]) == stderr_text(code[0])
    assert [o["output_type"] for o in after.cells[1].outputs] == ["stream"]


# ---- a clear_output in the notice's cell ---------------------------------------------

CLEARS = "from IPython.display import clear_output\nprint('before')\nclear_output()\nprint('after')"


def no_model_spec(specs, tmp_path, name):
    return spec(specs, name, ["--model", str(tmp_path / "no-such.nbsm")])


def child_messages(msgs):
    """MSGS without the notices and the stage tags: what the child sent."""
    return [m for m in msgs if m not in notices(msgs) and m not in stage_outputs(msgs)]


def run_many(k, codes, timeout=60):
    """Sends CODES at once (a Run All); returns each request's iopub messages, to its idle."""
    ids = [k.kc.execute(c) for c in codes]
    got = {i: [] for i in ids}
    idle = set()
    deadline = time.monotonic() + timeout
    while idle != set(ids):
        m = k.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        i = m["parent_header"].get("msg_id")
        if i in got:
            got[i].append(m)
            if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
                idle.add(i)
    for i in ids:
        k.shell_reply(i)
    return [got[i] for i in ids]


@pytest.mark.parametrize("how", ["no-model", "ignored-option"])
def test_a_cleared_notice_goes_out_again_with_the_next_cell(specs, logs, plain, tmp_path, how):
    """The first cell clears its outputs (clear_output(), as a progress display does):
    that takes the notice away with the rest, so it is owed again, and goes out with the
    next cell as it went out the first time (after its execute_input, before its tag).
    Before, it was never said again.  A later cell's clear_output does not bring it
    back.  The child's messages are ipykernel's throughout."""
    if how == "no-model":
        name = no_model_spec(specs, tmp_path, "nbs-notice-clear")
    else:
        if not MODEL:
            pytest.skip("no model (NBSTAGE_MODEL or share/default.nbsm)")
        name = spec(specs, "nbs-notice-clear-opt", ["--frobnicate"], {"NBSTAGE_MODEL": MODEL})
    k = Kernel(name, logs)
    try:
        _, msgs, reply = k.run(CLEARS)
        assert reply["content"]["status"] == "ok"
        [n] = notices(msgs)
        types = [m["msg_type"] for m in msgs]
        assert types.index("execute_input") < msgs.index(n) < types.index("clear_output")
        assert joined(child_messages(msgs)) == joined(run_plain(plain, CLEARS))
        msg_id, msgs2, _ = k.run(CELL)
        [n2] = notices(msgs2)
        assert n2["content"] == n["content"] and n2["parent_header"]["msg_id"] == msg_id
        assert n2["header"]["msg_id"] != n["header"]["msg_id"]
        types = [m["msg_type"] for m in msgs2]
        assert types.index("execute_input") + 1 == msgs2.index(n2) < len(msgs2) - 1
        assert all(msgs2.index(n2) < msgs2.index(t) for t in stage_outputs(msgs2))
        assert joined(child_messages(msgs2)) == joined(run_plain(plain, CELL))
        if how == "ignored-option":
            assert len(stage_outputs(msgs)) == 2 and len(stage_outputs(msgs2)) == 1
        # said again once: a later cell that clears does not owe it again
        for code in (CLEARS, CELL):
            _, msgs3, _ = k.run(code)
            assert notices(msgs3) == [], code
    finally:
        k.close()


WIDGET = ("import ipywidgets as w\nfrom IPython.display import display, clear_output\n"
          "out = w.Output()\ndisplay(out)\nwith out:\n    print(1)\n    clear_output()\n")


@pytest.mark.parametrize("code, again", [
    # a waiting clear acts at the cell's next output: the notice goes with it
    ("from IPython.display import clear_output\nclear_output(wait=True)\nprint('x')", True),
    ("from IPython.display import clear_output, display\n"
     "for i in range(3):\n    clear_output(wait=True)\n    display(i)", True),
    # a cell ending in a waiting clear keeps its outputs, the notice with them
    ("from IPython.display import clear_output\nprint('x')\nclear_output(wait=True)", False),
    # an Output widget takes the clear: the cell keeps the notice
    (WIDGET, False),
], ids=["wait-then-output", "wait-loop", "wait-at-the-end", "output-widget"])
def test_a_waiting_clear_takes_the_notice_at_the_next_output(specs, logs, tmp_path, code, again):
    k = Kernel(no_model_spec(specs, tmp_path, "nbs-notice-wait"), logs)
    try:
        _, msgs, reply = k.run(code)
        assert reply["content"]["status"] == "ok" and len(notices(msgs)) == 1
        assert "clear_output" in [m["msg_type"] for m in msgs]
        _, msgs2, _ = k.run(CELL)
        assert len(notices(msgs2)) == (1 if again else 0)
        _, msgs3, _ = k.run(CELL)
        assert notices(msgs3) == []
    finally:
        k.close()


def test_run_all_the_notice_cleared_goes_with_the_next_queued_cell(specs, logs, tmp_path):
    """Run All sends every request before the first has run: the notice the first cell
    clears goes out with the second, already queued, not with a cell run later.  A
    restart is a new kernel process, which says it once again, as before."""
    k = Kernel(no_model_spec(specs, tmp_path, "nbs-notice-runall"), logs)
    try:
        cells = run_many(k, [CLEARS, "x = 1", CELL, "y = 2"])
        assert [len(notices(msgs)) for msgs in cells] == [1, 1, 0, 0]
        [n] = notices(cells[1])
        assert [m["msg_type"] for m in cells[1]] == ["status", "execute_input", "stream", "status"]
        assert cells[1].index(n) == 2
        _, msgs, _ = k.run(CELL)
        assert notices(msgs) == []
        # a clear before a restart: the new process says it in its first cell, once
        k.run(CLEARS)
        k.km.restart_kernel(now=True)
        k.kc.wait_for_ready(timeout=60)
        for count in (1, 0):
            _, msgs, _ = k.run(CELL)
            assert len(notices(msgs)) == count
    finally:
        k.close()


def test_through_nbclient_a_first_cell_that_clears_leaves_the_notice_in_the_next(specs, logs, tmp_path):
    """The saved notebook has the notice exactly once: in the second code cell, the first
    having cleared its outputs; the third cell's clear changes nothing."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# a run"),
                nbformat.v4.new_code_cell("from IPython.display import clear_output\n"
                                          "print('working')\nclear_output()\nx = 3"),
                nbformat.v4.new_code_cell("print(x)"),
                nbformat.v4.new_code_cell("clear_output()\nprint('done')")]
    name = no_model_spec(specs, tmp_path, "nbs-notice-nbclient-clear")
    NotebookClient(nb, kernel_name=name, timeout=60, resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = nb.cells[1:]
    assert code[0].outputs == []
    said = [stderr_text(c) for c in code]
    assert said[0] == said[2] == "" and said[1].startswith("nbstage: no stage tags in this session: ")
    assert [o["output_type"] for o in code[1].outputs] == ["stream", "stream"]
    assert code[1].outputs[1]["text"] == "3\n"
    assert sum(o.get("text", "").count("nbstage: ") for c in code for o in c.outputs) == 1


def test_a_frontends_extra_arguments_reach_the_wrapped_kernel(specs, logs):
    """KernelManager.start_kernel(extra_arguments=...) appends them to the kernelspec's
    argv (nbconvert's --ExecutePreprocessor.extra_arguments, jupyter console's extra
    arguments).  The stage kernel warned about each in the first cell ("unknown option
    ... ignored", saved into the notebook) and dropped them; traitlets settings now go
    to the wrapped kernel after its own argv, as with ipykernel alone.  Anything else
    is still warned about and ignored.  Both of traitlets' forms: "--Class.trait value"
    (two arguments) was dropped with a warning for each of the two, where ipykernel
    alone takes it as it takes "--Class.trait=value"."""
    args = ["--InteractiveShell.autocall", "2", "--HistoryManager.hist_file=:memory:", "--frobnicate"]
    code = "ip = get_ipython(); print(ip.autocall, ip.history_manager.hist_file)"
    seen = {}
    for name in ("python3", "nbs-signal"):
        k = Kernel(name, logs, start_kw={"extra_arguments": args[:3] if name == "python3" else args})
        try:
            _, msgs, reply = k.run(code)
            assert reply["content"]["status"] == "ok", reply["content"]
            seen[name] = "".join(m["content"]["text"] for m in msgs
                                 if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")
            if name == "nbs-signal":
                said = [m["content"]["text"] for m in notices(msgs)]
                assert said == ['nbstage: warning: unknown option or missing value: "--frobnicate"; ignored\n'], said
        finally:
            k.close()
    assert seen["python3"] == "2 :memory:\n" == seen["nbs-signal"], seen


def test_prefix_in_the_wrapped_kernelspec_is_jupyters(specs, logs):
    """jupyter_client puts its sys.prefix for {prefix} in a kernelspec's argv; the stage
    kernel ran "{prefix}/bin/python3" as it was written ("program not found")."""
    d = specs / "kernels" / "pfx"
    d.mkdir(parents=True, exist_ok=True)
    (d / "kernel.json").write_text(json.dumps(
        {"argv": ["{prefix}/bin/python3", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
         "display_name": "pfx", "language": "python"}))
    name = spec(specs, "nbs-pfx", ["--wrap", "pfx"])
    for n in ("pfx", name):
        k = Kernel(n, logs)
        try:
            _, msgs, reply = k.run("import sys; print(sys.executable)")
            assert reply["content"]["status"] == "ok", reply["content"]
        finally:
            k.close()
