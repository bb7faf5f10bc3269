"""test_tag_language.py — notebooks in another language than Python (R, Julia...),
met in a crawl or among a course's submissions: `tag`, `summary`, `ingest` and
`classify FILE` leave them alone and say so, instead of giving their cells stages
that mean nothing.  The language is metadata.language_info.name, else
kernelspec.language (nbformat/nblang.h); a notebook with neither, and a Python one
spelled oddly ("Python 3", "PYTHON3"), are still Python.  The notebooks carry the
metadata IRkernel, IJulia and VS Code save; each is also written in another layout
than the canonical one (indent 2, an escaped key), so that both ways every command
reads a notebook (the byte scanners and jansson) are tried.

Helpers and the model are test_tag.py's.
"""
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

# model: test_tag.py's fixture, asked for by name
from stderr_packets import lines_cut, run_stderr_packets
from test_tag import BIN, SIMPLE, make_nb, model, nbstage, snapshot, tagged_cells  # noqa: F401

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built")

R_CODE = ["library(dplyr)\nlibrary(ggplot2)", "df <- read.csv('train.csv')",
          "df <- df %>% filter(!is.na(age))", "model <- lm(price ~ ., data = df)",
          "summary(model)\nplot(df$age, df$price)"]
JULIA_CODE = ["using CSV, DataFrames", "df = CSV.read(\"train.csv\", DataFrame)",
              "describe(df)", "model = lm(@formula(y ~ x), df)"]

# as Jupyter saves an IRkernel notebook
IRKERNEL = {"kernelspec": {"display_name": "R", "language": "R", "name": "ir"},
            "language_info": {"codemirror_mode": "r", "file_extension": ".r",
                              "mimetype": "text/x-r-source", "name": "R",
                              "pygments_lexer": "r", "version": "4.3.1"}}
# as VS Code saves an IJulia notebook
VSCODE_JULIA = {"kernelspec": {"display_name": "Julia 1.9.3", "language": "julia",
                               "name": "julia-1.9"},
                "language_info": {"file_extension": ".jl", "mimetype": "application/julia",
                                  "name": "julia", "version": "1.9.3"},
                "orig_nbformat": 4}
# a Python kernelspec written by hand, its language spelled oddly, no language_info
ODD_PYTHON = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "Python 3",
                             "name": "python3"}}


def other_layout(text: str) -> str:
    """The same notebook, indent 2 and an escaped key in a cell's metadata: neither byte
    scanner takes it, so the jansson reader does."""
    nb = json.loads(text)
    nb["cells"][1]["metadata"]["\x61uthor"] = "x"
    return json.dumps(nb, indent=2).replace('"author"', '"\\u0061uthor"') + "\n"


@pytest.fixture
def mixed(tmp_path):
    """A folder as a crawl leaves it: R and Julia notebooks beside Python ones, one of
    them without any metadata, one whose kernelspec says "Python 3"."""
    d = tmp_path / "crawl"
    d.mkdir()
    r = make_nb(R_CODE, IRKERNEL)
    (d / "analysis_r.ipynb").write_text(r)
    (d / "analysis_r2.ipynb").write_text(other_layout(r))
    (d / "julia.ipynb").write_text(make_nb(JULIA_CODE, VSCODE_JULIA))
    bare = json.loads(make_nb(SIMPLE))
    bare["metadata"] = {}
    (d / "no_metadata.ipynb").write_text(json.dumps(bare, indent=1, sort_keys=True,
                                                    ensure_ascii=False) + "\n")
    (d / "odd_python.ipynb").write_text(make_nb(SIMPLE, ODD_PYTHON))
    (d / "odd_python2.ipynb").write_text(other_layout(make_nb(SIMPLE, {
        "kernelspec": {"display_name": "py", "language": "PYTHON3", "name": "python3"}})))
    return d


OTHER = ["analysis_r.ipynb", "analysis_r2.ipynb", "julia.ipynb"]
PYTHON = ["no_metadata.ipynb", "odd_python.ipynb", "odd_python2.ipynb"]


def test_tag_leaves_other_languages_as_they_are_and_says_so(model, mixed):
    before = snapshot(mixed)
    r = nbstage("tag", "--dry-run", "-m", model, mixed)
    assert r.returncode == 0, r.stderr
    for name in OTHER:
        lang = "julia" if "julia" in name else "r"
        assert f"{mixed / name}: skip, not Python ({lang})\n" in r.stdout
        assert f"{mixed / name}#" not in r.stdout  # no cell of it would change
    for name in PYTHON:
        assert f"{mixed / name}#0: add " in r.stdout
    assert "6 notebooks: 3 to rewrite, 0 unchanged, 0 failed, 3 skipped as not Python " \
           "(r 2, julia 1; --any-language tags them)" in r.stderr

    r = nbstage("tag", "-m", model, mixed)
    assert r.returncode == 0, r.stderr
    after = snapshot(mixed)
    for name in OTHER:
        assert after[name] == before[name], f"{name} was touched"  # bytes and mtime
        assert f"skipped {mixed / name} (not Python: " in r.stdout
    for name in PYTHON:
        tags = tagged_cells(json.loads((mixed / name).read_text()))
        assert any(st for st, _ in tags), f"{name}: no cell tagged"
    assert "3 rewritten, 0 unchanged, 0 failed, 3 skipped as not Python (r 2, julia 1" in r.stderr
    # the code cells counted are the Python notebooks' only
    n_code = 3 * len(SIMPLE)
    assert f"nbstage tag: {n_code} code cells:" in r.stderr

    # --check: nothing to do, the R and Julia notebooks no finding; -q says nothing
    r = nbstage("tag", "--check", "-m", model, mixed)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == ""
    assert "0 with missing or stale tags, 0 failed, 3 skipped as not Python" in r.stderr
    r = nbstage("tag", "-q", "-m", model, mixed)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert snapshot(mixed) == after


def test_tag_any_language_tags_them_anyway(model, mixed):
    assert "--any-language" in nbstage("tag", "--help").stdout
    r = nbstage("tag", "--any-language", "-m", model, mixed / "analysis_r.ipynb",
                mixed / "analysis_r2.ipynb", mixed / "julia.ipynb")
    assert r.returncode == 0, r.stderr
    assert "not Python" not in r.stdout + r.stderr
    for name in OTHER:
        tags = tagged_cells(json.loads((mixed / name).read_text()))
        assert all(st for st, _ in tags), f"{name}: {tags}"


def test_from_outputs_takes_an_any_language_kernels_stages(tmp_path):
    """An R notebook run headless on an `install-kernel --any-language` stage kernel holds
    tag outputs; `tag --from-outputs` (no model) skipped it as not Python, so the
    README's headless recipe left the stages in the outputs.  It now takes them, and
    strips them with --strip-tag-outputs, in any language."""
    from test_tag import STAGE_MIME
    nb = json.loads(make_nb(R_CODE[:2], metadata=IRKERNEL))
    payload = {"stage": "load", "confidence": 0.9, "model": "nbstage-lstm-abc"}
    nb["cells"][2]["outputs"] = [
        {"output_type": "display_data", "data": {"text/plain": ["stage: load"], STAGE_MIME: payload},
         "metadata": {"nbstage": payload}}]
    path = tmp_path / "r.ipynb"
    path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    none = {**os.environ, "NBSTAGE_MODEL": str(tmp_path / "none.nbsm")}
    r = nbstage("tag", "--from-outputs", "--check", "--strip-tag-outputs", path, env=none)
    assert r.returncode == 1 and "1 tag output to remove" in r.stdout, (r.stdout, r.stderr)
    r = nbstage("tag", "--from-outputs", "--strip-tag-outputs", path, env=none)
    assert r.returncode == 0 and "not Python" not in r.stdout + r.stderr, r.stderr
    cells = json.loads(path.read_text())["cells"]
    assert cells[2]["metadata"]["tags"] == ["stage:load"] and cells[2]["outputs"] == []
    assert "tags" not in cells[1]["metadata"]  # no tag output: left as it was


def test_tag_writes_one_to_stdout_or_o_as_it_came(model, mixed, tmp_path):
    for name in ("analysis_r.ipynb", "analysis_r2.ipynb"):
        text = (mixed / name).read_bytes()
        r = subprocess.run([str(BIN), "tag", "-m", str(model), "-"], input=text,
                           capture_output=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout == text
        assert b"1 skipped as not Python (r 1" in r.stderr
        out = tmp_path / f"out-{name}"
        r = nbstage("tag", "-m", model, "-o", out, mixed / name)
        assert r.returncode == 0, r.stderr
        assert out.read_bytes() == text


def test_ingest_skips_them_and_counts_them(mixed, tmp_path):
    out = tmp_path / "cells.jsonl"
    r = nbstage("ingest", "-o", out, mixed)
    assert r.returncode == 0, r.stderr
    notebooks = {json.loads(l)["notebook"] for l in out.read_text().splitlines()}
    assert notebooks == set(PYTHON)
    assert "ingest: 3 notebooks in 1 group" in r.stderr
    assert "ingest: 3 notebooks skipped, not Python (r 2, julia 1)" in r.stderr
    # one at a time, by name, through both readers
    for name in OTHER:
        r = nbstage("ingest", mixed / name)
        assert (r.returncode, r.stdout) == (0, ""), r.stderr
        assert "1 notebook skipped, not Python (" in r.stderr


def test_summary_notes_them_instead_of_a_map(model, mixed):
    r = nbstage("summary", "-m", model, mixed)
    assert r.returncode == 0, r.stderr
    for name in OTHER:
        assert f"{mixed / name}:" not in r.stdout
        lang = "julia" if "julia" in name else "r"
        assert (f"nbstage summary: {mixed / name}: not Python ({lang}): no stage map "
                "(the model reads Python)") in r.stderr
    for name in PYTHON:
        assert f"{mixed / name}: {len(SIMPLE)} code cells" in r.stdout

    r = nbstage("summary", "--json", "-m", model, mixed)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert [l["notebook"] for l in lines] == [str(mixed / n) for n in sorted(OTHER + PYTHON)]
    skipped = [l for l in lines if "skipped" in l]
    assert skipped == [{"notebook": str(mixed / n), "language": "julia" if "julia" in n else "r",
                        "skipped": "not Python"} for n in sorted(OTHER)]

    # --saved shows what is saved, after the note: here, nothing (all untagged)
    r = nbstage("summary", "--saved", mixed / "analysis_r.ipynb")
    assert r.returncode == 0, r.stderr
    assert f"{len(R_CODE)} code cells ({len(R_CODE)} untagged)" in r.stdout
    assert "not Python (r): the stages saved in it, as saved" in r.stderr


def test_classify_a_notebook_says_so_and_the_lines_mode_is_unchanged(model, mixed):
    for name in OTHER:
        r = nbstage("classify", "-m", model, mixed / name)
        assert (r.returncode, r.stdout) == (0, ""), r.stderr
        assert f"{mixed / name}: not Python (" in r.stderr
    r = nbstage("classify", "-m", model, mixed / "odd_python.ipynb")
    assert r.returncode == 0 and len(r.stdout.splitlines()) == len(SIMPLE), r.stderr
    # JSON Lines carry no notebook metadata: every line is classified, as before
    lines = "".join(json.dumps({"id": f"r#{i}", "source": s}) + "\n" for i, s in enumerate(R_CODE))
    r = nbstage("classify", "-m", model, input=lines)
    assert r.returncode == 0, r.stderr
    assert [json.loads(l)["id"] for l in r.stdout.splitlines()] == [f"r#{i}" for i in range(len(R_CODE))]


def test_fmt_formats_them_and_the_readme_names_the_commands_that_do_not(model, mixed):
    """The README said such a notebook "is left alone by every command that reads
    notebooks", and its Design that fmt tells the languages apart too; fmt, a layout
    tool, formats an R notebook as any other (nbformat/nblang.h names tag, summary,
    ingest and classify alone).  The README's list is checked against what each
    command does with an R notebook in another layout."""
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8").split())
    m = re.search(r"\) is left alone by ((?:`\w+`(?:, | and )?)+)", readme)
    assert m, "the README does not name the commands that leave another language alone"
    named = set(re.findall(r"`(\w+)`", m.group(1)))
    r_nb = mixed / "analysis_r2.ipynb"  # indent 2: fmt and tag would rewrite a Python one
    before = r_nb.read_bytes()
    alone = set()
    for cmd, args in {"tag": ["-m", model], "summary": ["-m", model],
                      "classify": ["-m", model], "ingest": [], "fmt": []}.items():
        r = nbstage(cmd, *args, r_nb)
        assert r.returncode == 0, (cmd, r.stderr)
        if r_nb.read_bytes() == before and "not Python" in r.stderr:
            alone.add(cmd)
        r_nb.write_bytes(before)
    assert alone == {"tag", "summary", "classify", "ingest"}, alone
    assert named == alone, f"the README names {sorted(named)}; {sorted(alone)} leave it alone"


def test_ingests_not_python_line_is_one_write(mixed, tmp_path):
    """The line naming the languages skipped was a write(2) a piece (its start, each
    language and count, its end) on the unbuffered stderr."""
    got = run_stderr_packets([BIN, "ingest", "-o", tmp_path / "cells.jsonl", mixed])
    if got is None:
        pytest.skip("no packet-mode pipes here")
    rc, packets = got
    assert rc == 0 and not lines_cut(packets), packets
    assert b"nbstage ingest: 3 notebooks skipped, not Python (r 2, julia 1): the rules and the model read Python\n" \
        in packets, packets
