"""test_nbformat_more.py — the nbformat library and the two commands on it (ingest,
fmt) as a user with a messy folder of notebooks meets them: broken symlinks, notebooks
Python reads that cannot be written back, and the like.  Python's json and Debian's
nbformat are the reference."""
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT)) / "nbstage"


def notebook(*sources, minor=4, metadata=None):
    cells = [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
              "source": s} for s in sources]
    return {"cells": cells, "metadata": metadata or {}, "nbformat": 4, "nbformat_minor": minor}


def run(*args, **kw):
    return subprocess.run([str(BIN), *map(str, args)], capture_output=True, text=True, **kw)


def test_ingest_skips_a_dangling_notebook_symlink_and_writes_the_rest(tmp_path):
    """A broken symlink named *.ipynb (a notebook moved away) or a symlink loop is a bad
    notebook like an unreadable one: listed with its reason, skipped, the other
    notebooks' lines written (exit 0).  It was an I/O error: exit 2 and no -o file."""
    d = tmp_path / "nbs"
    (d / "sub").mkdir(parents=True)
    (d / "a.ipynb").write_text(json.dumps(notebook("x = 1")))
    (d / "sub" / "b.ipynb").write_text(json.dumps(notebook("y = 2")))
    (d / "sub" / "moved.ipynb").symlink_to("gone.ipynb")
    (d / "loop.ipynb").symlink_to("loop.ipynb")
    out = tmp_path / "cells.jsonl"
    r = run("ingest", "-o", out, d)
    assert r.returncode == 0, r.stderr
    ids = [json.loads(line)["id"] for line in out.read_text().splitlines()]
    assert ids == ["a.ipynb#0", "sub/b.ipynb#0"]
    assert f"bad notebook skipped: {d}/sub/moved.ipynb: No such file" in r.stderr
    assert f"bad notebook skipped: {d}/loop.ipynb: Too many levels" in r.stderr
    assert "2 notebooks in 2 groups" in r.stderr and "2 bad" in r.stderr
    # the PATH itself missing is still a usage error
    r = run("ingest", "-o", out, tmp_path / "missing")
    assert r.returncode == 2
