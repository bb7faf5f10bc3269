"""test_nbformat_python.py — nbstage's notebook writer and ingest checked against
Python itself: Debian's nbformat and json modules are the reference the C code must
match byte for byte (floats, layout, split lines) and cell for cell (ingest ids)."""
import csv
import json
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from nbformat.v4 import nbjson

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT)) / "nbstage"
SHARED = Path(os.environ.get("NBSTAGE_SHARED", ROOT.parent / "shared"))

needs_shared = pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="../shared absent")


def nbformat_layout(text):
    """What nbformat.write(nbformat.read(f, NO_CONVERT)) writes, minus the random cell
    ids that nbformat's validate() adds to 4.5 notebooks lacking them."""
    out = nbjson.writes(nbjson.reads(text))
    return out if out.endswith("\n") else out + "\n"


def fmt_stdin(data: bytes):
    return subprocess.run([str(BIN), "fmt", "--nbformat", "-"], input=data, capture_output=True)


def fmt_many(files, folder: Path) -> list:
    """FILES copied into FOLDER and rewritten there by one `fmt --nbformat` run (one
    start-up instead of one a file: under ASan each costs ~0.1 s); their new texts."""
    copies = [folder / f"{k:04d}.ipynb" for k in range(len(files))]
    for f, c in zip(files, copies):
        c.write_bytes(f.read_bytes())
    r = subprocess.run([str(BIN), "fmt", "--nbformat", "-q", *map(str, copies)], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    return [c.read_text(encoding="utf-8") for c in copies]


def test_floats_print_as_python_repr():
    rng = random.Random(7)
    floats = []
    while len(floats) < 5000:
        k = rng.random()
        if k < 0.5:
            x = struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0]
        elif k < 0.8:
            x = rng.uniform(-1e6, 1e6)
        else:
            x = round(rng.uniform(0, 10), rng.randint(0, 8)) * 10.0 ** rng.randint(-30, 30)
        if x == x and abs(x) != float("inf"):
            floats.append(x)
    floats += [1e-05, 0.0001, 1e16, 1e15, 1e22, 5e-324, -0.0, 0.1, 2.5e-05, 1.0, 100.0]
    nb = {"cells": [], "metadata": {"floats": floats, "ints": [0, -1, 2**63 - 1, -(2**63)]},
          "nbformat": 4, "nbformat_minor": 5}
    text = json.dumps(nb)
    r = fmt_stdin(text.encode())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode() == nbformat_layout(text)


def test_strings_escape_as_python():
    s = "".join(chr(c) for c in range(0, 0x80)) + "é€😀\u2028\u2029\x85\ufeff"
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                     "source": s}], "metadata": {s[1:]: s}, "nbformat": 4, "nbformat_minor": 4}
    text = json.dumps(nb)
    r = fmt_stdin(text.encode())
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode() == nbformat_layout(text)


def test_refusals_say_why_and_exit_2():
    # jansson keeps NUL in values but not in keys: such a file is refused, not altered
    for data, why in [(b'{"nbformat": 4, "cells": [], "m": {"a\\u0000": 1}}', "object key"),
                      (b'{"nbformat": 4, "cells": [], "n": 1' + b"0" * 30 + b"}", "64 bits"),
                      (b'{"nbformat": 4, "cells": [], "n": NaN}', "NaN"),
                      (b'{"nbformat": 4, "cells": [', "<stdin>:1:"),
                      (b'{"nbformat": 4, "cells": [], "s": "\xff"}', "UTF-8")]:
        r = fmt_stdin(data)
        assert r.returncode == 2
        assert why in r.stderr.decode()



def _shapes():
    """Valid notebooks of the shapes the corpus hardly has: every minor of 4 with and
    without cell ids, every output type, the mime types nbformat splits, joins or leaves
    (a JSON mime's list stays a list, image/png is joined but not split), attachments,
    every line break str.splitlines knows in every text field, transient fields, keys
    whose UTF-16 order is not their code-point order."""
    breaks = "a\vb\fc\x1cd\x1de\x1ef\x85g\u2028h\u2029i\r\nj\rk\nl"
    png = "iVBORw0KGgo=\n" * 3
    keys = {"\uffff": 1, "\U0001F600": 2, "\ue000": 3, "é": 4, "Z": 5, "": 6, "\U00010000": 7}
    outputs = [
        {"output_type": "execute_result", "execution_count": 1, "metadata": {"image/png": {"width": 9}},
         "data": {"text/plain": ["a\n", "b"], "text/html": breaks, "image/svg+xml": breaks,
                  "application/javascript": breaks, "image/png": png, "application/pdf": ["JV\n", "B"],
                  "application/json": ["a\n", "b"], "application/vnd.x+json": {"k": "a\nb"},
                  "text/json": ["a\n", "b"], "text/x-mixed": ["a", 1], "application/x-foo": breaks}},
        {"output_type": "display_data", "metadata": {}, "data": {"image/png": png.splitlines(True)},
         "transient": {"display_id": "d"}},
        {"output_type": "stream", "name": "stdout", "text": breaks},
        {"output_type": "stream", "name": "stderr", "text": ["", "x\n", "", "y"]},
        {"output_type": "error", "ename": "E", "evalue": "a\nb", "traceback": ["\x1b[31mE\n", "b"]},
    ]
    for minor in range(6):
        for ids in (False, True):
            cells = [{"cell_type": "code", "execution_count": 1, "metadata": {"trusted": True, "k": keys},
                      "outputs": outputs, "source": breaks},
                     {"cell_type": "markdown", "metadata": {}, "source": ["![a](attachment:a.png)", ""],
                      "attachments": {"a.png": {"image/png": png, "text/plain": ["u\n", "v"]}}},
                     {"cell_type": "raw", "metadata": {"raw_mimetype": "text/latex", "n": [-0.0, 1e-7]},
                      "source": ["a\n", "b"]}]
            for k, c in enumerate(cells if ids and minor == 5 else []):
                c["id"] = f"c{k}"
            nb = {"nbformat_minor": minor, "nbformat": 4, "cells": cells,
                  "metadata": {"signature": "sha256:0", "orig_nbformat": 3, **keys}}
            yield json.dumps(nb, indent=2)
            yield json.dumps(nb, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def test_fmt_matches_nbformat_on_every_minor_output_and_text_field(tmp_path):
    texts = list(_shapes())
    files = [tmp_path / f"in{k}.ipynb" for k in range(len(texts))]
    for f, t in zip(files, texts):
        f.write_text(t, encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    for f, t, got in zip(files, texts, fmt_many(files, out)):
        assert got == nbformat_layout(t), f
    r = subprocess.run([str(BIN), "fmt", "-q", *map(str, files)], capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    for f, t in zip(files, texts):  # the default layout: json.dumps of the notebook as it is
        assert f.read_text(encoding="utf-8") == json.dumps(
            json.loads(t), indent=1, sort_keys=True, ensure_ascii=False) + "\n", f


@needs_shared
def test_fmt_matches_nbformat_on_notebooks_with_outputs(tmp_path):
    files = sorted((SHARED / "notebooks-with-outputs").rglob("*.ipynb"))
    assert len(files) >= 150
    for f, got in zip(files, fmt_many(files, tmp_path)):
        assert got == nbformat_layout(f.read_text(encoding="utf-8")), f


@needs_shared
@pytest.mark.plain_build_only  # the corpus: unit-san's test_nbformat_corpus reads it
def test_fmt_matches_nbformat_on_a_corpus_sample(tmp_path):
    files = random.Random(3).sample(sorted((SHARED / "corpus").rglob("*.ipynb")), 200)
    for f, got in zip(files, fmt_many(files, tmp_path)):
        data = f.read_bytes()
        # the corpus is json.dumps-canonical already: a dump without split_lines
        assert data.decode() == json.dumps(json.loads(data), indent=1, sort_keys=True,
                                           ensure_ascii=False) + "\n", f
        assert got == nbformat_layout(data.decode()), f


@needs_shared
@pytest.mark.plain_build_only  # the corpus: unit-san's test_nbformat_corpus reads it
def test_fmt_check_passes_on_the_canonical_corpus():
    """Every corpus file is in the canonical layout: fmt --check changes nothing."""
    r = subprocess.run([str(BIN), "fmt", "--check", "-q", str(SHARED / "corpus")],
                       capture_output=True)
    assert r.returncode == 0, r.stdout.decode()[:2000] + r.stderr.decode()[:2000]


def test_ingest_reads_v3_as_nbformat_upgrades_it(tmp_path):
    import nbformat
    from nbformat import v3
    nb = v3.new_notebook(worksheets=[v3.new_worksheet(cells=[
        v3.new_heading_cell("Title\nmore", level=2),
        v3.new_code_cell(input="import os\nos.getcwd()", prompt_number=3,
                         outputs=[v3.new_output("pyout", output_text="'/'", prompt_number=3)]),
        v3.new_text_cell("markdown", source="text"),
        v3.new_code_cell(input="# only\n"),
        v3.new_code_cell(input="x = 1\ny = 2\n", prompt_number=None)])])
    text = nbformat.writes(nb, version=3)
    (tmp_path / "old.ipynb").write_text(text, encoding="utf-8")
    r = subprocess.run([str(BIN), "ingest", str(tmp_path / "old.ipynb")], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    got = [json.loads(line) for line in r.stdout.splitlines()]
    code = [c for c in nbformat.reads(text, as_version=4).cells if c.cell_type == "code"]
    want = [(f"old.ipynb#{k}", c.source, c.execution_count) for k, c in enumerate(code)
            if not comment_only(c.source)]
    assert [(d["id"], d["source"], d["execution_count"]) for d in got] == want
    assert len(want) == 2


def comment_only(src):
    """Blank or comment-only: every line empty or starting with '#' (a '#' line cannot
    sit inside a string, which would have to open on an earlier, non-comment line)."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in src.splitlines())


@needs_shared
@pytest.mark.plain_build_only  # the corpus: unit-san's test_nbformat_corpus reads it
def test_ingest_gives_every_cell_with_its_id(tmp_path):
    out = tmp_path / "cells.jsonl"
    r = subprocess.run([str(BIN), "ingest", "-o", str(out), str(SHARED / "corpus")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert " 0 bad" in r.stderr
    got = {}
    for line in out.read_text(encoding="utf-8").splitlines():
        d = json.loads(line)
        assert list(d) == ["id", "notebook", "index", "execution_count", "source"]
        assert d["id"] == f'{d["notebook"]}#{d["index"]}'
        got[d["id"]] = d
    want = {}
    for f in sorted((SHARED / "corpus").rglob("*.ipynb")):
        rel = f.relative_to(SHARED / "corpus").as_posix()
        nb = json.loads(f.read_bytes())
        code = [c for c in nb["cells"] if c.get("cell_type") == "code"]
        for k, c in enumerate(code):
            src = c.get("source") or ""
            src = src if isinstance(src, str) else "".join(src)
            if not comment_only(src):
                ec = c.get("execution_count")
                want[f"{rel}#{k}"] = (src, ec if isinstance(ec, int) else None)
    assert set(got) == set(want)
    for i, (src, ec) in want.items():
        assert got[i]["source"] == src and got[i]["execution_count"] == ec, i
    assert f"{len(want)} kept" in r.stderr

    # every hand-labelled cell of the development set is there, under the same id
    with open(SHARED / "labeled" / "dev.tsv", encoding="utf-8") as fh:
        ids = [row["cell_id"] for row in csv.DictReader(fh, delimiter="\t")]
    assert ids and all(i in got for i in ids)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
