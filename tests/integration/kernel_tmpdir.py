"""A stage kernel of its own TMPDIR, for the tests that count or remove what the
kernel keeps there (its private folder: ipc files, connection file), and folders
short enough for ipc sockets.

test_kernel.py's specs fixture writes the kernelspecs (nbs-signal among them) into a
JUPYTER_PATH folder; spec_with_own_tmpdir copies one under a new name with TMPDIR set,
so that the folder holds nothing but that kernel's.
"""
import json
import os
import tempfile
from pathlib import Path

# A socket's path: 107 bytes at most (sun_path's 108, its NUL included).
SOCKET_PATH_MAX = 107
# What the stage kernel adds to its TMPDIR for a socket: /nbstage-kernel-PID-XXXXXX/k-5
# (a pid of up to 7 digits); past that it takes /tmp (kernel/child.c, tmp_base).
KERNEL_SOCKET_TAIL = len("/nbstage-kernel-4194304-XXXXXX/k-5")


def short_tmp(prefix, most):
    """A new empty folder PREFIX... whose path has MOST bytes at most: under the
    system's temporary folder where it fits, else under /tmp.  A deep TMPDIR (a CI
    job's folder) made a test's sockets' paths too long: the stage kernel (and
    ipykernel) then could not bind them there, and the kernel took /tmp instead of
    the folder the test counts."""
    base = tempfile.gettempdir()
    if len(os.fsencode(base)) + len("/") + len(prefix) + 8 > most:  # mkdtemp adds 8
        base = "/tmp"
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def spec_with_own_tmpdir(specs, name, prefix, base="nbs-signal"):
    """Writes kernelspec NAME in SPECS (the specs fixture's folder): BASE's, its env's
    TMPDIR a new empty folder (named PREFIX...: short, as the ipc paths in it must stay
    short, under the system's temporary folder where they fit).  Returns that folder."""
    tmp = short_tmp(prefix, SOCKET_PATH_MAX - KERNEL_SOCKET_TAIL)
    (specs / "kernels" / name).mkdir(parents=True, exist_ok=True)
    spec = json.loads((specs / "kernels" / base / "kernel.json").read_text())
    spec["env"] = {**spec["env"], "TMPDIR": str(tmp)}
    (specs / "kernels" / name / "kernel.json").write_text(json.dumps(spec))
    return tmp
