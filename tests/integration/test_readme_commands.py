"""test_readme_commands.py — the README's Usage commands as a newcomer runs them:
copied from README.md's code blocks, word for word, into a shell whose PATH finds the
programs under test, on notebooks and labels made here.  Each must exit as the README
and its --help say, and leave the files it names.  A flag renamed in the code, or
mistyped in the README, fails here.  Also what the commands' --help texts promise a
newcomer about their defaults, and that `make fuzz`, a target the README lists and
`make test` does not otherwise build, still builds and runs.

Helpers, the notebooks and the model are test_tag.py's.
"""
import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

# model: test_tag.py's fixture, asked for by name
from test_tag import BIN, BINDIR, ROOT, SIMPLE, TEMPLATES, make_nb, model, nbstage  # noqa: F401

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built")

README = ROOT / "README.md"


def readme_block(section: str) -> list:
    """The command lines of the first indented code block after the heading SECTION."""
    text = README.read_text(encoding="utf-8").splitlines()
    i = text.index(section)
    while not text[i].startswith("    "):
        i += 1
    lines = []
    while i < len(text) and text[i].startswith("    "):
        lines.append(text[i][4:])
        i += 1
    # a line ending in a backslash goes on in the next one, as in a shell
    return [l for l in "\n".join(lines).replace("\\\n", " ").splitlines() if l.strip()]


def run(line: str, cwd: Path, model: Path):
    env = dict(os.environ, PATH=f"{BINDIR.resolve()}:{os.environ['PATH']}", NBSTAGE_MODEL=str(model))
    return subprocess.run(["sh", "-c", line], cwd=cwd, env=env, capture_output=True, text=True)


def test_saved_notebooks_commands_as_written(model, tmp_path):
    """### Saved notebooks, each line as the README gives it, in order: tag, then
    --check finds nothing (0), --dry-run prints `path#K: add STAGE (P)`, --from-outputs
    on a notebook without tag outputs keeps its cells, summary's text, picture and
    JSON Lines, classify's `index<TAB>stage<TAB>confidence`, fmt --check on tag's
    output (canonical: 0)."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "nbs").mkdir()
    for name in ("notebooks/one.ipynb", "notebooks/two.ipynb", "nbs/three.ipynb",
                 "analysis.ipynb", "run.ipynb", "a.ipynb"):
        (tmp_path / name).write_text(make_nb(SIMPLE))
    lines = readme_block("### Saved notebooks")
    assert len(lines) >= 9, lines
    for line in lines:  # every line exits 0 here, --check included: tag ran first
        assert line.startswith("nbstage "), line
        r = run(line, tmp_path, model)
        assert r.returncode == 0, (line, r.stdout, r.stderr)
        words = line.split("#")[0].split()
        if "--dry-run" in words:
            assert re.fullmatch(r"(analysis\.ipynb#\d+: add \w+ \(\d\.\d{3}\)\n)+", r.stdout), r.stdout
        if "--svg" in words:
            svg = tmp_path / words[words.index("--svg") + 1]
            assert svg.read_text().startswith("<?xml"), svg
        if "--json" in words:
            objs = [json.loads(l) for l in r.stdout.splitlines()]
            assert [o["notebook"] for o in objs] == ["nbs/three.ipynb"], objs
        if words[1] == "classify":
            rows = [l.split("\t") for l in r.stdout.splitlines()]
            assert [int(row[0]) for row in rows] == list(range(len(SIMPLE))), r.stdout
    # tag --check on the tagged folder said nothing was missing; the notebooks hold tags
    cells = json.loads((tmp_path / "notebooks/one.ipynb").read_text())["cells"]
    assert any(t.startswith("stage:") for c in cells for t in c["metadata"].get("tags", []))


def test_training_commands_as_written(model, tmp_path):
    """### Training a classifier on your own corpus, each line as written: ingest a
    folder corpus/, label (with and without hand labels in the format the README
    describes: id and stage, no header), train with --cells and --curves, eval with
    --svg, classify from stdin.  Each exits 0 and writes the files it names."""
    rng = random.Random(5)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    gold = []
    for n in range(8):
        srcs, stages = [], []
        for st in ("imports", "load", "explore", "prep", "train", "evaluate"):
            t = rng.choice(TEMPLATES[st])
            srcs.append(t.format(f="data", c="age", n=rng.randint(1, 99)))
            stages.append(st)
        (corpus / f"nb{n}.ipynb").write_text(make_nb(srcs))
        gold += [f"nb{n}.ipynb#{k}\t{st}" for k, st in enumerate(stages)]
    (tmp_path / "labels.tsv").write_text("\n".join(gold) + "\n")
    lines = readme_block("### Training a classifier on your own corpus")
    assert len(lines) >= 6, lines
    for line in lines:
        assert line.startswith("nbstage "), line
        # the README trains with the study's settings (15 epochs); a test needs fewer
        if line.split()[1] == "train":
            line = line.replace(" -o my.nbsm", " --epochs 2 --embed 16 -o my.nbsm")
        r = run(line, tmp_path, model)
        assert r.returncode == 0, (line, r.stdout, r.stderr)
    for f in ("cells.jsonl", "weak.jsonl", "my.nbsm", "curves.csv", "curves.svg",
              "confusion.svg", "stages.jsonl"):
        assert (tmp_path / f).stat().st_size > 0, f
    assert len((tmp_path / "stages.jsonl").read_text().splitlines()) == len(gold)


def test_train_help_says_which_defaults_are_the_study_s():
    """`nbstage train --help` said 'study's settings in brackets where they differ from
    the default', but showed no brackets, so every default read as the study's; one is
    not: the default --targets is soft (the label model's probabilities), the study
    trained on one-hot labels (hard).  The help must say which."""
    r = nbstage("train", "--help")
    assert r.returncode == 0
    assert "brackets" not in r.stdout, r.stdout
    targets = next(l for l in r.stdout.splitlines() if l.lstrip().startswith("--targets"))
    assert "(soft" in targets and "study" in targets and "hard" in targets.split("(soft")[1], targets


@pytest.mark.plain_build_only
@pytest.mark.skipif(shutil.which("clang") is None, reason="clang absent (make deps)")
def test_make_fuzz_builds_and_runs(tmp_path):
    """`make fuzz`, one of the README's targets, stopped at its first compile since
    35d815e: tests/fuzz/fuzz_nbformat.c still compared canonscan's cells[k].index, a
    member that commit removed, and nothing in `make test` built the fuzz targets.
    Here both are built as `make fuzz` builds them and run for a second each."""
    r = subprocess.run(["make", "--no-print-directory", "fuzz", f"B={tmp_path}"],
                       cwd=ROOT, env=dict(os.environ, FUZZ_SECONDS="1", SHARED=str(tmp_path / "none")),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "fuzz: no crash, leak or sanitizer report" in r.stdout, r.stdout
