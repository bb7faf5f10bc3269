"""test_kernel_soak.py — a long session on the stage kernel must not make it grow.

One stage kernel, driven by jupyter_client as a frontend drives it: 200 small cells of
every kind the proxy relays differently (nothing, stdout, a display, a result, an
error, a comm the kernel opens and closes, one long enough for the worker thread), then
3 signal-mode interrupts, then 3 restarts (hard and graceful).  What is counted after
the first 50 cells must not be more at the end, on the same proxy and on the one the
last restart started: the proxy's open fds and threads, the files in its private
folder in TMPDIR (and no second folder there), the processes in the kernel's groups
(the proxy's, and the child's with the keeper: none left by a restart, in the old
groups either) and zombies (none).  Counts, not sizes: RSS moves with the allocator.
An audit measured the proxy flat over 20k executes and 30 restarts; this keeps it so.
"""
import os
import shutil
import time
from pathlib import Path

import pytest

from kernel_tmpdir import spec_with_own_tmpdir
from test_kernel import (BIN, SLEEPING_CELL, Kernel, cell_started, child_dir, gone,  # noqa: F401
                         keeper_of, logs, specs)

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built")

# {i} is the cell's number.  The last is over 256 bytes: classified on the worker thread.
CELLS = [
    "pass",
    "print({i})",
    "from IPython.display import display, HTML\ndisplay(HTML('<b>{i}</b>'))",
    "x = {i} * 2\nx",
    "1/0",
    "from ipykernel.comm import Comm\n_c = Comm(target_name='soak', data={{'i': {i}}})\n_c.close()",
    "values = [{i}, 2, 3]\n" + "# a longer cell, which the proxy classifies on its worker\n" * 6
    + "sum(values)",
]


def processes():
    """pid -> (ppid, process group, state, start time in clock ticks since boot) of every
    process."""
    out = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        rest = stat[stat.rindex(")") + 2:].split()
        out[int(p.name)] = (int(rest[1]), int(rest[2]), rest[0], int(rest[19]))
    return out


def ticks():
    """Now, as processes() gives start times."""
    return float(Path("/proc/uptime").read_text().split()[0]) * os.sysconf("SC_CLK_TCK")


def finished(k, msg_id, timeout=30):
    """The shell reply of MSG_ID, once its idle is on iopub."""
    deadline = time.monotonic() + timeout
    while True:
        m = k.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status" \
                and m["content"]["execution_state"] == "idle":
            return k.shell_reply(msg_id, timeout)


def run_cells(k, start, n):
    for i in range(start, start + n):
        code = CELLS[i % len(CELLS)].format(i=i)
        # after an error ipykernel aborts the requests that come in the next moment (its
        # _abort_queues, with or without nbstage): the next cell would be aborted or not
        reply = finished(k, k.kc.execute(code, stop_on_error=code != "1/0"))["content"]
        assert reply["status"] == ("error" if code == "1/0" else "ok"), (code, reply)


def counts(k, tmp):
    """What must not grow, and the pids and groups it was counted on."""
    proxy = k.pid
    child, keeper = keeper_of(proxy)
    assert keeper, "no keeper"
    d = child_dir(child)
    assert d.parent == tmp
    ps = processes()
    groups = {ps[proxy][1], ps[child][1]}
    members = [p for p, (_, g, _, _) in ps.items() if g in groups]
    ours = [e for e in tmp.iterdir() if e.name.startswith("nbstage-kernel-")]
    c = {"fds": len(os.listdir(f"/proc/{proxy}/fd")),
         "threads": len(os.listdir(f"/proc/{proxy}/task")),
         "private files": len(list(d.iterdir())),
         "private folders": len(ours),
         "processes in the groups": len(members),
         "zombies": sorted(p for p, (pp, g, st, _) in ps.items()
                           if st == "Z" and (g in groups or pp in members))}
    return c, {proxy, child, keeper}, groups, d


def assert_no_growth(before, after, when):
    grown = {k: (before[k], after[k]) for k in ("fds", "threads", "private files")
             if after[k] > before[k]}
    assert not grown, f"{when}: grown since the first 50 cells (before, after): {grown}"
    assert after["private folders"] == 1, (when, after)
    assert after["processes in the groups"] == before["processes in the groups"], (when, before, after)
    assert after["zombies"] == [], (when, after)


def test_a_long_session_leaves_the_proxy_as_it_was(specs, logs):
    tmp = spec_with_own_tmpdir(specs, "nbs-soak", "nbs-soak-")
    k = Kernel("nbs-soak", logs)
    try:
        run_cells(k, 0, 50)
        checkpoint, pids, groups, _ = counts(k, tmp)
        assert checkpoint["processes in the groups"] == 3, checkpoint  # proxy, child, keeper
        assert checkpoint["zombies"] == [], checkpoint

        run_cells(k, 50, 150)
        for _ in range(3):  # signal mode: Jupyter's SIGINT to the group, passed on
            msg_id = cell_started(k, SLEEPING_CELL, printed="sleeping")
            k.km.interrupt_kernel()
            reply = finished(k, msg_id)["content"]
            assert reply.get("ename") == "KeyboardInterrupt", reply
        run_cells(k, 200, 7)
        now, again, _, _ = counts(k, tmp)
        assert again == pids, "the same proxy, child and keeper"
        assert_no_growth(checkpoint, now, "after 200 cells and 3 interrupts")

        ended = {}  # the groups of kernels restarted, and when
        for hard in (True, False, True):
            old, old_dir = pids, counts(k, tmp)[3]
            ended.update(dict.fromkeys(groups, ticks()))
            k.km.restart_kernel(now=hard)
            k.kc.wait_for_ready(timeout=60)
            left = [p for p in old if not gone(p, 5)]
            assert not left, f"restart(now={hard}) left {left}"
            assert not old_dir.exists(), f"restart(now={hard}) left {old_dir}"
            run_cells(k, 0, len(CELLS))
            _, pids, groups, _ = counts(k, tmp)
        run_cells(k, 0, 50)  # as many as before the checkpoint, on the last proxy
        end, pids, _, _ = counts(k, tmp)
        assert_no_growth(checkpoint, end, "after 3 restarts")
        # Left in an old group: a process that lives, or a zombie one of ours does not
        # reap.  A zombie of init's is init's to reap (this machine's reaps orphans up to
        # 2 s late), and a process that started after its group's kernel was restarted
        # took a freed id (another's process group, not ours).
        stale = {p: (g, st) for p, (pp, g, st, t0) in processes().items()
                 if g in ended and t0 <= ended[g] and (st != "Z" or pp in pids)}
        assert not stale, f"processes left in the groups of kernels restarted: {stale}"
    finally:
        k.close()
        shutil.rmtree(tmp, ignore_errors=True)
