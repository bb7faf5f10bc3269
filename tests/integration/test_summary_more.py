"""test_summary_more.py — `nbstage summary` on what a data scientist meets beyond
test_tag.py's summary tests: --svg given a notebook's name (the picture must not
replace a notebook).

Helpers, the notebooks and the model are test_tag.py's.
"""
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
