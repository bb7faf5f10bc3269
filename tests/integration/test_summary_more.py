"""test_summary_more.py — `nbstage summary` on what a data scientist meets beyond
test_tag.py's summary tests: --svg given a notebook's name (the picture must not
replace a notebook), a folder named like a notebook or a folder without notebooks
(said, not silently nothing), and the map on narrow terminals.

Helpers, the notebooks and the model are test_tag.py's.
"""
import json
import os
import subprocess

import pytest

# model: test_tag.py's fixture, asked for by name
from test_tag import BIN, SIMPLE, make_nb, model, nbstage  # noqa: F401

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built")


# ------------------------------------------------------------------ --svg and notebooks

def test_svg_never_replaces_a_notebook(model, tmp_path):
    """`nbstage summary --svg a.ipynb b.ipynb` (the picture's name forgotten, two
    notebooks meant) took a.ipynb as the picture's file and replaced the notebook with
    an SVG, exit 0.  A --svg FILE named like a notebook is refused before anything is
    read or written."""
    a, b = tmp_path / "a.ipynb", tmp_path / "b.IPYNB"
    a.write_text(make_nb(SIMPLE))
    b.write_text(make_nb(["import os"]))
    before = a.read_bytes(), b.read_bytes()
    for svg, nbs in [(a, [b]), (b, [a])]:
        r = nbstage("summary", "-m", model, "--svg", svg, *nbs)
        assert r.returncode == 2, r
        assert f"--svg {svg}" in r.stderr and "notebook" in r.stderr, r.stderr
        assert r.stdout == ""
    assert (a.read_bytes(), b.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ipynb", "b.IPYNB"]


# ------------------------------------------------------------------ what is read

def test_folder_named_like_a_notebook_is_said(model, tmp_path):
    """A directory x.ipynb given by name is no notebook: tag says 'is a directory, not
    a notebook' and exits 2; summary walked it and, finding nothing, printed nothing
    with exit 0.  The notebooks given with it are still summarised."""
    d = tmp_path / "x.ipynb"
    d.mkdir()
    good = tmp_path / "good.ipynb"
    good.write_text(make_nb(["import os"]))
    r = nbstage("summary", "-m", model, d, good)
    assert r.returncode == 2, r
    assert f"{d}: is a directory, not a notebook" in r.stderr, r.stderr
    assert r.stdout.startswith(f"{good}: 1 code cell")
    # the same folder inside a folder that is walked is walked as a folder
    (d / "inner.ipynb").write_text(make_nb(["df.head()"]))
    r = nbstage("summary", "-m", model, "--json", tmp_path)
    assert r.returncode == 0, r.stderr
    assert [json.loads(l)["notebook"] for l in r.stdout.splitlines()] == \
        [f"{tmp_path}/good.ipynb", f"{d}/inner.ipynb"]


def test_folder_without_notebooks_is_said(model, tmp_path):
    """Pointed at the wrong folder (no .ipynb in it), summary printed nothing at all,
    exit 0: with --json, a script read an empty list as 'no notebooks here' without a
    word.  It is said on stderr (as ingest says it); exit 0 still, as tag's and
    ingest's."""
    empty = tmp_path / "scripts"
    empty.mkdir()
    (empty / "a.py").write_text("import os\n")
    good = tmp_path / "good.ipynb"
    good.write_text(make_nb(["import os"]))
    for args in [[empty], ["--json", empty], [empty, good]]:
        r = nbstage("summary", "-m", model, *args)
        assert r.returncode == 0, r
        assert r.stderr == f"nbstage summary: {empty}: no notebooks (.ipynb) found\n", r.stderr
    assert r.stdout.startswith(f"{good}: 1 code cell")
