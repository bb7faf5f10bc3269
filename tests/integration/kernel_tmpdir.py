"""A stage kernel of its own TMPDIR, for the tests that count or remove what the
kernel keeps there (its private folder: ipc files, connection file).

test_kernel.py's specs fixture writes the kernelspecs (nbs-signal among them) into a
JUPYTER_PATH folder; spec_with_own_tmpdir copies one under a new name with TMPDIR set,
so that the folder holds nothing but that kernel's.
"""
import json
import tempfile
from pathlib import Path


def spec_with_own_tmpdir(specs, name, prefix, base="nbs-signal"):
    """Writes kernelspec NAME in SPECS (the specs fixture's folder): BASE's, its env's
    TMPDIR a new empty folder (named PREFIX...: short, as the ipc paths in it must stay
    short, under the system's temporary folder).  Returns that folder."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    (specs / "kernels" / name).mkdir(parents=True, exist_ok=True)
    spec = json.loads((specs / "kernels" / base / "kernel.json").read_text())
    spec["env"] = {**spec["env"], "TMPDIR": str(tmp)}
    (specs / "kernels" / name / "kernel.json").write_text(json.dumps(spec))
    return tmp
