"""test_summary_more.py — `nbstage summary` on what a data scientist meets beyond
test_tag.py's summary tests: --svg given a notebook's name (the picture must not
replace a notebook), an --svg that cannot be written (refused before the run) and one
left as it was when no notebook could be read or there is no map to draw, a folder named like a notebook or a
folder without notebooks (said, not silently nothing), the map on narrow terminals,
standard input ('-'), --saved reading the stage kernel's tag outputs, many notebooks
shown in order as one at a time would show them (and a full disk said between the
maps), control characters in names kept from a terminal, and what --help promises.

Helpers, the notebooks and the model are test_tag.py's.
"""
import json
import os
import re
import shutil
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
    # a notebook under another name, given or piped in, and the model: inputs too
    j = tmp_path / "nb.json"
    j.write_text(make_nb(SIMPLE))
    m = tmp_path / "m.nbsm"
    shutil.copy(model, m)
    kept = j.read_bytes(), m.read_bytes()
    for args, stdin in ((["--svg", j, j], None), (["--svg", j, "-"], j), (["-m", m, "--svg", m, a], None)):
        with open(stdin or os.devnull, "rb") as f:
            r = subprocess.run([str(BIN), "summary", "-m", str(model)] + [str(x) for x in args], stdin=f,
                               capture_output=True, text=True, timeout=60)
        assert r.returncode == 2 and "the picture would replace the input" in r.stderr, (args, r.stderr)
    assert (j.read_bytes(), m.read_bytes()) == kept


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


# ------------------------------------------------------------------ terminals

def on_a_terminal(cmd, env=None, stty=""):
    """CMD's output on a pseudo-terminal (script(1)), with '\r\n' made '\n'.  Its size
    is none (script's stdin is no terminal) unless STTY gives one, and ENV's COLUMNS is
    the only width; ENV None is this environment without COLUMNS, which a shell that
    exports it (or COLUMNS=40 pytest) would have made every caller's width: the header
    of a summary whose path is past it was broken before its "8 code cells"."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    shell = " ".join(f"'{c}'" for c in map(str, cmd))
    if stty:
        shell = f"stty {stty}; {shell}"
    r = subprocess.run(["script", "-qec", shell, "/dev/null"], capture_output=True,
                       text=True, env=env, stdin=subprocess.DEVNULL, timeout=30)
    return r.returncode, r.stdout.replace("\r\n", "\n")


def test_map_fits_a_narrow_terminal(model, tmp_path):
    """The blocks went 60 a row and the sequence on one line whatever the terminal:
    in a 40-column pane every row wrapped at its edge.  On a terminal (COLUMNS, else the
    terminal's size) the rows are a multiple of 10 that fits and the sequence is broken
    before a ' > '; into a pipe the text is as before."""
    if not shutil.which("script"):
        pytest.skip("no script(1)")
    stages = ["import os", "df = pd.read_csv('a.csv')", "df.head()", "df = df.dropna()",
              "model.fit(X, y)", "print(accuracy_score(y, p))", "", "# c"]
    nb = tmp_path / "long.ipynb"
    nb.write_text(make_nb([stages[(i * 7 + i // 3) % 8] for i in range(523)]))
    piped = nbstage("summary", "-m", model, nb)
    assert piped.returncode == 0, piped.stderr
    plain = piped.stdout.splitlines()
    assert [len(l) for l in plain[1:10]] == [62] * 8 + [2 + 523 - 480]
    env = dict(os.environ, COLUMNS="40", NO_COLOR="1")
    assert nbstage("summary", "-m", model, nb, env=env).stdout == piped.stdout

    for env, stty in [(env, ""), ({k: v for k, v in env.items() if k != "COLUMNS"}, "cols 40")]:
        rc, out = on_a_terminal([BIN, "summary", "-m", model, nb], env=env, stty=stty)
        assert rc == 0, out
        lines = out.splitlines()
        head = next(i for i, l in enumerate(lines) if i and set(l[2:]) <= set("LPTEXI.?"))
        assert " ".join([lines[0]] + [l[2:] for l in lines[1:head]]) == plain[0]  # the header, fitted too
        rows = [l for l in lines[head:] if set(l[2:]) <= set("LPTEXI.?") and l[2:]]
        assert [len(r) for r in rows] == [32] * 17 + [2 + 523 - 510], (stty, lines[:20])
        assert "".join(r[2:] for r in rows) == "".join(l[2:] for l in plain[1:10])
        seq = lines[head + len(rows):lines.index(plain[11])]  # up to the table
        assert len(seq) > 1 and all(len(l) <= 40 for l in seq), seq
        assert all(l.startswith("  > ") for l in seq[1:])
        assert " ".join(l[2:] for l in seq) == plain[10][2:]
        assert lines[-7:] == plain[-7:]  # the table


@pytest.mark.parametrize("columns", [40, 30, 20])
def test_header_and_table_fit_a_narrow_terminal(tmp_path, columns):
    """Below some 80 columns the header line ran past a terminal's edge (the path, the
    model's name), below 36 the table did, where the blocks and the sequence were
    fitted.  The header is broken after a clause, a broken line indented as the
    sequence's are, and reads back as the one line; the table closes up and gives up
    its lines, then its cells column, its blocks, stages and shares kept.  Into a pipe
    the text is as before."""
    if not shutil.which("script"):
        pytest.skip("no script(1)")

    def tagged(src, stage):
        return (src, {"tags": [f"stage:{stage}"]})
    nb = tmp_path / "eda.ipynb"
    nb.write_text(make_nb([tagged("import os", "imports"), tagged("df = pd.read_csv(p)", "load"), "",
                           tagged("df.head()", "explore"), tagged("m.fit(X, y)", "train"), "x = 1"]))
    env = {**os.environ, "NBSTAGE_MODEL": str(tmp_path / "none.nbsm"), "NO_COLOR": "1"}
    piped = nbstage("summary", "--saved", nb, env=env)
    assert piped.returncode == 0, piped.stderr
    plain = piped.stdout.splitlines()
    assert plain[0] == f"{nb}: 6 code cells (1 blank, 1 untagged), 5 lines of code; stages from saved tags"
    rc, out = on_a_terminal([BIN, "summary", "--saved", nb], env={**env, "COLUMNS": str(columns)})
    assert rc == 0, out
    lines = out.splitlines()
    assert lines[0] == f"{nb}:"  # the name whole, on a line of its own
    assert all(len(l) <= columns for l in lines[1:]), lines
    head = next(i for i, l in enumerate(lines) if i and set(l[2:]) <= set("LPTEXI.?"))
    assert " ".join([lines[0]] + [l[2:] for l in lines[1:head]]) == plain[0]
    table = lines[-7:]
    want = {40: ["stage", "cells", "lines", "share"], 30: ["stage", "cells", "share"], 20: ["stage", "share"]}
    assert table[0].split() == want[columns], table
    if columns >= 36:
        assert table == plain[-7:]
    for got, was in zip(table[1:], plain[-6:]):
        block, stage, *_, share = was.split()
        assert got.split()[:2] == [block, stage] and got.split()[-1] == share, (got, was)
    # the shares of the four stages' one line each: 25.0% each, 100.0% in all
    assert sorted(l.split()[-1] for l in table[1:]) == ["0.0%", "0.0%", "25.0%", "25.0%", "25.0%", "25.0%"]


def test_shares_total_100_percent(tmp_path):
    """Each stage's share was rounded on its own: three stages of one line each showed
    33.3% (99.9% in all), and the JSON 0.3333 each.  Largest remainder: 33.4 + 33.3 +
    33.3, and 0.3334 + 0.3333 + 0.3333, the unit left over to the earliest in the table."""
    nb = tmp_path / "thirds.ipynb"
    nb.write_text(make_nb([(src, {"tags": [f"stage:{st}"]}) for src, st in
                           [("df = pd.read_csv(p)", "load"), ("df = df.dropna()", "prep"), ("m.fit(X, y)", "train")]]))
    env = {**os.environ, "NBSTAGE_MODEL": str(tmp_path / "none.nbsm")}
    r = nbstage("summary", "--saved", nb, env=env)
    assert r.returncode == 0, r.stderr
    shares = {l.split()[1]: l.split()[-1] for l in r.stdout.splitlines()[-6:]}
    assert shares == {"load": "33.4%", "prep": "33.3%", "train": "33.3%", "evaluate": "0.0%", "explore": "0.0%",
                      "imports": "0.0%"}, r.stdout
    r = nbstage("summary", "--saved", "--json", nb, env=env)
    assert r.returncode == 0, r.stderr
    stages = json.loads(r.stdout)["stages"]
    assert [stages[k]["share"] for k in ("load", "prep", "train", "evaluate")] == [0.3334, 0.3333, 0.3333, 0]
    assert re.search(r'"share":\s*0\.3334\b', r.stdout) and "0.3333" in r.stdout


def test_svg_titles_fit_and_keep_their_spaces(model, tmp_path):
    """An all-capitals name ran 80 px past the picture's edge (its width counted 7.5 px a
    byte; bold capitals are 9-11 px), and a name with a run of spaces was drawn with one
    (SVG folds white space), so two notebooks showed one title."""
    import xml.etree.ElementTree as ET
    caps = "MY_FINAL_MODEL_COMPARISON_RANDOM_FOREST_XGBOOST_LIGHTGBM_CATBOOST_HOUSE_PRICES_2024.ipynb"
    spaced = "report   final.ipynb"
    for name in (caps, spaced, "report final.ipynb"):
        (tmp_path / name).write_text(make_nb(SIMPLE[:2]))
    svg = tmp_path / "map.svg"
    r = nbstage("summary", "-m", model, "--svg", svg, *(tmp_path / n for n in (caps, spaced)))
    assert r.returncode == 0, r.stderr
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    titles = {t.text: t for t in root.iter(f"{ns}text") if t.get("font-weight") == "bold"}
    assert str(tmp_path / spaced) in titles, list(titles)
    assert titles[str(tmp_path / spaced)].get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
    # room for the capitals at 10 px each and the rest at 6 (DejaVu Sans Bold at 12 px:
    # 7.6-11.7 px a capital)
    need = sum(10 if c.isupper() else 6 for c in str(tmp_path / caps))
    assert int(root.get("width")) >= need, (root.get("width"), need)


def test_svg_that_cannot_be_written_fails_before_the_run(model, tmp_path):
    """--svg into a missing folder (or over a read-only file) was found out at the
    very end, after every notebook had been read and classified and the maps printed:
    a long run for nothing, its message after pages of maps.  It is refused first,
    nothing read, nothing printed, exit 2, nothing created."""
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    ro = tmp_path / "old.svg"
    ro.write_text("<svg/>")
    ro.chmod(0o444)
    for svg, why in [(tmp_path / "missing" / "map.svg", "missing"), (ro, "read-only")]:
        for extra in [[], ["--json"]]:
            r = nbstage("summary", "-m", model, *extra, "--svg", svg, nb)
            assert r.returncode == 2, r
            assert r.stdout == "", r.stdout
            assert str(svg) in r.stderr and why in r.stderr, r.stderr
    assert ro.read_text() == "<svg/>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ipynb", "old.svg"]
    # and written when it can be, atomically (no temporary left beside it)
    r = nbstage("summary", "-m", model, "--svg", tmp_path / "map.svg", nb)
    assert r.returncode == 0 and (tmp_path / "map.svg").read_text().startswith("<?xml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ipynb", "map.svg", "old.svg"]


def test_standard_input(model, tmp_path):
    """'-' is standard input, as for tag, fmt and classify (`curl .../nb.ipynb | nbstage
    summary -`, `jupytext --to ipynb ... | nbstage summary -`): it was a file named '-'
    ('-: No such file or directory').  Named <stdin>, as tag and fmt name it; once."""
    text = make_nb(SIMPLE)
    nb = tmp_path / "a.ipynb"
    nb.write_text(text)
    want = json.loads(nbstage("summary", "-m", model, "--json", nb).stdout)
    r = nbstage("summary", "-m", model, "--json", "-", input=text, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert got["notebook"] == "<stdin>"
    assert {**got, "notebook": str(nb)} == want
    r = nbstage("summary", "-m", model, "-", nb, input=text)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("<stdin>: 8 code cells (2 blank)") and f"\n{nb}: 8 code" in r.stdout
    r = nbstage("summary", "-m", model, "-", input="{")
    assert r.returncode == 2 and r.stderr.startswith("nbstage summary: <stdin>:"), r.stderr
    r = nbstage("summary", "-m", model, "-", "-", input=text)
    assert r.returncode == 2 and "standard input" in r.stderr and r.stdout == "", r


def test_help_names_the_model_variable_and_every_exit(model, tmp_path):
    """--help's default model left out NBSTAGE_MODEL (which summary honours, as tag's
    --help says), and its exit line only 'a notebook that could not be read', while a
    full disk or a closed stdout also exits 2."""
    h = nbstage("summary", "--help")
    assert h.returncode == 0 and "NBSTAGE_MODEL" in h.stdout
    assert "TERM=dumb" in h.stdout  # which turns the colours off, as NO_COLOR does
    assert "hidden files and folders" in h.stdout  # the walker's rule since 1310225
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    r = nbstage("summary", nb, env=dict(os.environ, NBSTAGE_MODEL=str(tmp_path / "none.nbsm")))
    assert r.returncode == 2 and "none.nbsm" in r.stderr
    with open("/dev/full", "w") as full:
        r = subprocess.run([str(BIN), "summary", "-m", str(model), str(nb)], stdout=full,
                           stderr=subprocess.PIPE, text=True)
    assert r.returncode == 2 and "No space left" in r.stderr
    exit_line = h.stdout[h.stdout.index("exit:"):]
    assert "written" in exit_line, exit_line


# ------------------------------------------------------------------ --saved

STAGE_MIME = "application/vnd.nbstage.stage+json"


def test_saved_reads_the_kernels_tag_outputs(tmp_path):
    """In JupyterLab, VS Code and nbclient the stage kernel's tag stays in the cell's
    output (README), until `tag --from-outputs` moves it into the metadata: summary
    --saved read the metadata only, so a notebook run there showed every cell '?'
    untagged although its stages were in the file.  --saved takes what tag
    --from-outputs would leave: the last tag output, else the cell's saved tag."""
    import nbformat
    nb = json.loads(make_nb(["model.fit(X, y)", "df.head()", "import os",
                             ("df = df.dropna()", {"workflow_stage": {
                                 "stage": "prep", "confidence": 0.9, "model": "m"},
                                 "tags": ["stage:prep"]}), "", "x = 1"]))

    def out(stage, conf):
        p = {"stage": stage, "confidence": conf, "model": "nbstage-lstm-abc"}
        return {"output_type": "display_data", "data": {"text/plain": [f"stage: {stage}"],
                                                         STAGE_MIME: p},
                "metadata": {"nbstage": p}}
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["ok\n"]},
                                 out("train", 0.8765)]
    nb["cells"][2]["outputs"] = [out("load", 0.5), out("explore", 0.91)]  # the last wins
    nb["cells"][3]["outputs"] = [out("imports", 0.99)]
    nb["cells"][5]["outputs"] = [out("load", 0.7)]  # a blank cell stays blank
    path = tmp_path / "lab.ipynb"
    path.write_text(nbformat.writes(nbformat.from_dict(nb)) + "\n")
    env = {**os.environ, "NBSTAGE_MODEL": str(tmp_path / "none.nbsm")}
    r = nbstage("summary", "--saved", "--json", path, env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [(c["stage"], c["confidence"]) for c in doc["cells"]] == [
        ("train", 0.877), ("explore", 0.91), ("imports", 0.99), ("prep", 0.9), (None, None),
        (None, None)]
    assert doc["untagged"] == 1 and doc["blank"] == 1
    # the same stages as the tags tag --from-outputs writes
    assert nbstage("tag", "--from-outputs", "-q", path, env=env).returncode == 0
    after = json.loads(nbstage("summary", "--saved", "--json", path, env=env).stdout)
    assert after["cells"] == doc["cells"]


def test_saved_confidence_is_a_probability_to_3_decimals_and_none_when_untagged(tmp_path):
    """--saved gave an untagged cell the confidence beside its unknown stage ("Load":
    {"stage": null, "confidence": 0.5}, the picture "untagged (50%)"), a confidence of
    1e300 as 1e+300 (a 300-digit percentage in the picture) and 0.123456789 as 0.123457.
    A confidence is one figure to 3 decimals everywhere; one that is no probability is
    none; an untagged cell has none.  A notebook without code cells is mapped clean
    (the scanner had no text: memcpy from NULL, which UBSan reports)."""
    def ws(stage, conf):
        return {"workflow_stage": {"stage": stage, "confidence": conf, "model": "m"}}
    nb = json.loads(make_nb([("x = 1", ws("Load", 0.5)), ("y = 2", ws("load", 1e300)),
                             ("z = 3", ws("prep", 0.123456789)),
                             ("w = 4", {**ws("bogus", 0.7), "tags": ["stage:train"]})]))
    path = tmp_path / "odd.ipynb"
    path.write_text(json.dumps(nb, indent=1, sort_keys=True) + "\n")
    env = {**os.environ, "NBSTAGE_MODEL": str(tmp_path / "none.nbsm")}
    r = nbstage("summary", "--saved", "--json", path, env=env)
    assert r.returncode == 0, r.stderr
    assert [(c["stage"], c["confidence"]) for c in json.loads(r.stdout)["cells"]] == [
        (None, None), ("load", None), ("prep", 0.123), ("train", None)]
    r = nbstage("summary", "--saved", "--svg", "-", path, env=env)
    assert r.returncode == 0 and "untagged (" not in r.stdout and "e+300" not in r.stdout, r.stdout
    empty = tmp_path / "no-code.ipynb"
    empty.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}) + "\n")
    r = nbstage("summary", "--json", empty)
    assert r.returncode == 0 and json.loads(r.stdout)["cells"] == [] and "runtime error" not in r.stderr, r.stderr


def test_help_describes_the_json_and_the_share(model, tmp_path):
    """--json is 'for scripts', but --help named none of its fields but "index", nor
    what a line of code is and what a share is of."""
    h = nbstage("summary", "--help").stdout
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    doc = json.loads(nbstage("summary", "-m", model, "--json", nb).stdout)
    described = h[h.index("--json"):h.index("--svg")]
    for key in [*doc, *doc["stages"]["load"], *doc["cells"][0]]:
        assert key in described, key
    assert "comment" in h and "share" in h


# ------------------------------------------------------------------ many notebooks

def test_many_notebooks_in_order_and_as_one_at_a_time(model, tmp_path):
    """summary reads notebooks in windows and classifies their cells together (as tag
    does: a memo of the sources, batches on every CPU; it took 8.4 s on the 5,382
    corpus notebooks where tag -n took 1.7 s): the maps, errors and 'no notebooks'
    messages still come in the order of the notebooks, and every map is the one a
    run on that notebook alone gives."""
    d = tmp_path / "many"
    d.mkdir()
    cells = [s for s in SIMPLE if s.strip()] + ["df.describe()", "plt.show()"]
    names = []
    for i in range(300):
        p = d / f"nb{i:03d}.ipynb"
        if i in (7, 260):
            p.write_text("{")  # bad, in the first window and in the second
        else:
            p.write_text(make_nb([cells[(i + k) % len(cells)] for k in range(i % 9)]))
        names.append(p)
    (tmp_path / "empty").mkdir()
    r = subprocess.run([str(BIN), "summary", "-m", str(model), "--json", str(d),
                        str(tmp_path / "empty"), str(names[3])],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert r.returncode == 2
    lines = r.stdout.splitlines()
    # 298 maps, 2 errors (each said, then its --json record), 'no notebooks' (names[3]
    # named again is the same file: passed over)
    assert len(lines) == 300 + 2 + 1
    at = {}  # the notebook's map or record: its line
    k = 0
    for i in range(300):
        if i in (7, 260):
            assert lines[k].startswith(f"nbstage summary: {names[i]}:1:"), lines[k]
            k += 1
            assert json.loads(lines[k])["error"].startswith("1:"), lines[k]
        assert json.loads(lines[k])["notebook"] == str(names[i]), (i, lines[k])
        at[i] = lines[k]
        k += 1
    assert lines[k] == f"nbstage summary: {tmp_path / 'empty'}: no notebooks (.ipynb) found"
    for i in (0, 5, 8, 150, 299):
        alone = nbstage("summary", "-m", model, "--json", names[i])
        assert json.loads(alone.stdout) == json.loads(at[i]), i


def test_a_full_disk_is_said_with_messages_between_maps(model, tmp_path):
    """Messages wait for the maps before them (stdout flushed first, for `2>&1`): a
    write error in that flush must still be said and exit 2 at the end."""
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    (tmp_path / "empty").mkdir()
    for extra in [[], ["--json"]]:
        with open("/dev/full", "w") as full:
            r = subprocess.run([str(BIN), "summary", "-m", str(model), *extra, str(nb),
                                str(tmp_path / "empty"), str(nb)],
                               stdout=full, stderr=subprocess.PIPE, text=True)
        assert r.returncode == 2, r
        assert r.stderr.endswith("nbstage summary: <stdout>: write error: No space left on device\n"), r.stderr


def test_svg_kept_when_no_notebook_could_be_read(model, tmp_path):
    """Re-drawing a map of a notebook that is broken at the moment (a merge conflict
    in it) replaced the old picture with an empty one (the legend alone), exit 2.  When
    no notebook could be read the old picture is left as it was and it is said; with
    some read, the picture has those."""
    bad, good = tmp_path / "bad.ipynb", tmp_path / "good.ipynb"
    bad.write_text("<<<<<<< HEAD\n{")
    good.write_text(make_nb(SIMPLE))
    svg = tmp_path / "map.svg"
    assert nbstage("summary", "-m", model, "--svg", svg, good).returncode == 0
    before = svg.read_bytes()
    r = nbstage("summary", "-m", model, "--svg", svg, bad)
    assert r.returncode == 2
    assert f"{svg}: not written" in r.stderr, r.stderr
    assert svg.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.ipynb", "good.ipynb", "map.svg"]
    r = nbstage("summary", "-m", model, "--svg", svg, bad, good)
    assert r.returncode == 2 and "not written" not in r.stderr
    assert svg.read_bytes() == before


def test_svg_kept_when_there_is_no_map_to_draw(model, tmp_path):
    """The same empty picture (the legend alone) replaced the last good one, exit 0,
    when nothing failed but there was no map to draw: a folder given by mistake (no
    notebooks in it, said) or notebooks none of which is Python (each noted).  It is
    left as it was and said; --svg - still writes its picture on stdout."""
    good, r_nb = tmp_path / "good.ipynb", tmp_path / "r.ipynb"
    good.write_text(make_nb(SIMPLE))
    doc = json.loads(make_nb(["library(dplyr)"]))
    doc["metadata"] = {"kernelspec": {"name": "ir", "language": "R", "display_name": "R"}}
    r_nb.write_text(json.dumps(doc))
    empty = tmp_path / "empty"
    empty.mkdir()
    svg = tmp_path / "map.svg"
    assert nbstage("summary", "-m", model, "--svg", svg, good).returncode == 0
    before = svg.read_bytes()
    for args in ([empty], [r_nb], [empty, r_nb]):
        r = nbstage("summary", "-m", model, "--svg", svg, *args)
        assert r.returncode == 0, r.stderr
        assert r.stderr.endswith(f"nbstage summary: {svg}: not written (no stage map to draw)\n"), r.stderr
        assert svg.read_bytes() == before
    # one map among them: the picture is drawn, of it alone
    r = nbstage("summary", "-m", model, "--svg", svg, empty, r_nb, good)
    assert r.returncode == 0 and "not written" not in r.stderr, r.stderr
    assert svg.read_bytes() == before
    r = nbstage("summary", "-m", model, "--svg", "-", empty)
    assert r.returncode == 0 and r.stdout.startswith("<?xml"), r


def test_control_characters_in_names_not_sent_to_a_terminal(model, tmp_path):
    """A file name is bytes: one from a crawl may hold an escape sequence (ESC ] 52 sets
    the terminal's clipboard, ESC [ 2 J clears it).  On a terminal the text map showed
    the name as it is, so the terminal obeyed it; then as '?' there but as it is into a
    pipe.  Now escaped, \\x1b, as every message shows a name, on a terminal and into a
    pipe alike."""
    if not shutil.which("script"):
        pytest.skip("no script(1)")
    name = "evil\x1b]52;c;SGVsbG8=\x07\x1b[2J.ipynb"
    nb = tmp_path / name
    nb.write_text(make_nb(SIMPLE))
    rc, out = on_a_terminal([BIN, "summary", "-m", model, "--color", "never", nb])
    assert rc == 0, out
    assert "\x1b" not in out and "\x07" not in out, repr(out[:200])
    shown = f"{tmp_path}/evil\\x1b]52;c;SGVsbG8=\\x07\\x1b[2J.ipynb"
    assert out.startswith(f"{shown}: 8 code cells")
    piped = nbstage("summary", "-m", model, nb)
    assert piped.stdout.startswith(f"{shown}: 8 code cells")


# ------------------------------------------------------------------ --json and failures

def test_json_has_a_record_for_each_notebook_that_failed(model, tmp_path):
    """`summary --json` printed the maps of the notebooks it read and nothing about
    the others (their reasons went to stderr only): a script reading stdout could not
    tell a notebook that failed from one never given.  Each failure is now a line of
    its own, in the notebooks' order: {"notebook": PATH, "error": REASON} (the reason
    as stderr says it, which still says it); exit 2 still."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.ipynb").write_text(make_nb(SIMPLE))
    (d / "b.ipynb").write_text('{"cells": [}')
    (d / "c.ipynb").write_text("")
    (d / "d.ipynb").symlink_to("nowhere.ipynb")
    (d / "e.ipynb").write_text(make_nb(["import os"]))
    (tmp_path / "empty").mkdir()
    missing = tmp_path / "missing.ipynb"
    r = nbstage("summary", "--json", "-m", model, d, missing, tmp_path / "empty")
    assert r.returncode == 2, r
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert [x["notebook"] for x in lines] == [f"{d}/{n}.ipynb" for n in "abcde"] + [str(missing)]
    errors = {x["notebook"]: x["error"] for x in lines if "error" in x}
    assert all(sorted(x) == ["error", "notebook"] for x in lines if "error" in x)
    assert re.match(r"1:\d+: ", errors[f"{d}/b.ipynb"]), errors
    assert errors[f"{d}/c.ipynb"] == "empty file"
    assert errors[str(missing)] == "No such file or directory"
    assert errors[f"{d}/d.ipynb"] == "dangling symlink (its target nowhere.ipynb does not exist)"
    assert "error" not in lines[0] and lines[0]["code_cells"] == len(SIMPLE)
    for path, why in errors.items():  # stderr says each as before
        assert f"nbstage summary: {path}:" in r.stderr and why in r.stderr
    assert "no notebooks (.ipynb) found" in r.stderr  # a remark, not a record
    # standard input too, and the help says it
    r = nbstage("summary", "--json", "-m", model, "-", input="{")
    assert r.returncode == 2 and json.loads(r.stdout)["notebook"] == "<stdin>", r
    h = nbstage("summary", "--help").stdout
    described = h[h.index("--json"):h.index("--svg")]
    assert '"error"' in described and "could not be read" in described, described


def test_a_file_and_its_symlinks_give_one_map_as_tag_takes_them(model, tmp_path):
    """A folder holding a notebook and a symlink to it (a-link.ipynb -> b.ipynb), or a
    notebook named again after its folder: summary showed one map per name, the same
    file twice, where tag and fmt take one file once.  Now one map per file, under the
    name met first (tag's rule: equal realpaths); a hard link is still another file;
    --help says it."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "b.ipynb").write_text(make_nb(SIMPLE))
    (d / "a-link.ipynb").symlink_to("b.ipynb")
    (d / "c.ipynb").write_text(make_nb(["import os"]))
    for args, want in [([d], ["a-link", "c"]), ([d, d / "b.ipynb", d / "a-link.ipynb"], ["a-link", "c"]),
                       ([d / "b.ipynb", d], ["b", "c"])]:
        r = nbstage("summary", "--json", "-m", model, *args)
        assert r.returncode == 0 and r.stderr == "", r
        assert [json.loads(x)["notebook"] for x in r.stdout.splitlines()] == \
            [f"{d}/{n}.ipynb" for n in want], r.stdout
    os.link(d / "c.ipynb", d / "hard.ipynb")
    r = nbstage("summary", "--json", "--saved", d)
    assert [json.loads(x)["notebook"] for x in r.stdout.splitlines()] == \
        [f"{d}/{n}.ipynb" for n in ["a-link", "c", "hard"]], r
    assert "symlink to it, or named twice" in " ".join(nbstage("summary", "--help").stdout.split())
