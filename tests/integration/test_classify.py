"""test_classify.py — `nbstage train`, `classify` and `eval` as a user runs them, on a
tiny model trained here in seconds; the answers are checked against an independent
NumPy reading of the model file (header, vocabulary, table, weights) with a Python
version of Keras' text_to_word_sequence, so the file format, the tokenizer and the
inference are tested together from outside.  Also `label` where its output feeds
`train`, and what all commands share: option errors that begin with the command's
name, and the read-only commands (classify, summary) reading what Python's json
reads."""
import json
import os
import re
import select
import shutil
import stat
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from test_train_more import rest_of_stderr

from lost_stdout import LOST_STDOUT, run_lost_stdout

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT)) / "nbstage"
KEYS = ["load", "prep", "train", "evaluate", "explore", "imports"]
FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^`{|}~\t\n'  # Keras' default minus "_"

PROTOTYPES = {
    "load": ["df = pd.read_csv('data/train.csv')", "data = pd.read_json(path)", "raw = np.load('x.npy')"],
    "prep": ["df = df.fillna(0)", "X = df.drop(columns=['target'])", "df['age'] = df['age'].astype(int)"],
    "train": ["model.fit(X_train, y_train)", "clf = RandomForestClassifier(n_estimators=100)", "model.compile(optimizer='adam')"],
    "evaluate": ["print(accuracy_score(y_test, pred))", "pred = model.predict(X_test)", "confusion_matrix(y_test, pred)"],
    # "ΠΙΝΑΚΑΣ": a word only str.lower() lowers, to "πινακασ" (no final sigma: it reads
    # past the '.' to "describe")
    "explore": ["df.head()", "df.describe()", "sns.countplot(x='label', data=df)", "ΠΙΝΑΚΑΣ.describe()"],
    "imports": ["import numpy as np", "import pandas as pd\nimport seaborn as sns", "from sklearn.svm import SVC"],
}


def run(args, stdin=None):
    return subprocess.run([str(BIN)] + args, input=stdin, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A model trained on weak lines that carry their own source (no --cells)."""
    d = tmp_path_factory.mktemp("classify")
    lines, k = [], 0
    for rep in range(6):
        for stage, cells in PROTOTYPES.items():
            for i, src in enumerate(cells):
                p = {s: (0.9 if s == stage else 0.02) for s in KEYS}
                # variants: a comment and a trailing word make the duplicates distinct
                text = f"# step {rep}\n{src}\nv{rep}_{i}"
                lines.append({"id": f"nb{k % 9}.ipynb#{k}", "stage": stage, "probabilities": p, "source": text})
                k += 1
    lines.append({"id": "nbx.ipynb#0", "stage": None, "probabilities": {}, "source": "x = 1"})
    weak = d / "weak.jsonl"
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    model = d / "tiny.nbsm"
    r = run(["train", "--embed", "16", "--hidden", "8", "--epochs", "40", "--batch", "16", "--lr", "0.02",
             "--spatial-dropout", "0", "--dropout", "0", "--recurrent-dropout", "0", "--patience", "40",
             "--val-split", "0.2", "--seed", "3", "--threads", "1", "--curves", str(d / "curves"),
             "-o", str(model), str(weak)])
    assert r.returncode == 0, r.stderr
    assert "training cells" in r.stderr and "epoch 1/40" in r.stderr
    assert (d / "curves.csv").exists() and (d / "curves.svg").read_text().startswith("<")
    return d, model


# ---------------------------------------------------------------- the reference

def read_model(path):
    b = Path(path).read_bytes()
    assert b[:8] == b"NBSMODL\n"
    version, header, size = struct.unpack_from("<IIQ", b, 8)
    vocab, words, embed, hidden, classes, seq_len, flags, strlen = struct.unpack_from("<8I", b, 24)
    s_off, t_off, wh_off, wd_off, bd_off = struct.unpack_from("<5Q", b, 56)
    assert version == 1 and size == len(b) and classes == 6
    strings = b[s_off:s_off + strlen].split(b"\0")
    filt, info, keys, toks = strings[0].decode(), strings[1], strings[2:8], strings[8:8 + words]
    assert filt == FILTERS and [k.decode() for k in keys] == KEYS
    G = 4 * hidden
    arr = lambda off, n: np.frombuffer(b, dtype="<f4", count=n, offset=off).astype(np.float64)
    return {
        "seq": seq_len, "H": hidden,
        "index": {t.decode(): i + 1 for i, t in enumerate(toks)},
        "T": arr(t_off, vocab * G).reshape(vocab, G), "Wh": arr(wh_off, hidden * G).reshape(hidden, G),
        "Wd": arr(wd_off, hidden * 6).reshape(hidden, 6), "bd": arr(bd_off, 6),
    }


def keras_words(src):
    src = re.sub(r"#[^\n]*", "", src)  # the test cells have no '#' inside strings
    text = src.lower().translate(str.maketrans({c: " " for c in FILTERS}))
    return [w for w in text.split(" ") if w]


def reference_probs(m, src):
    ids = [m["index"][w] for w in keras_words(src) if w in m["index"]][-m["seq"]:]
    ids = [0] * (m["seq"] - len(ids)) + ids
    H = m["H"]
    h, c = np.zeros(H), np.zeros(H)
    sig = lambda x: 1 / (1 + np.exp(-x))
    for t in ids:
        g = m["T"][t] + h @ m["Wh"]
        i, f, cc, o = sig(g[:H]), sig(g[H:2 * H]), np.tanh(g[2 * H:3 * H]), sig(g[3 * H:])
        c = f * c + i * cc
        h = o * np.tanh(c)
    z = h @ m["Wd"] + m["bd"]
    e = np.exp(z - z.max())
    return e / e.sum()


# ---------------------------------------------------------------- tests

def test_stdin_answers_in_order_and_match_reference(tiny):
    d, model = tiny
    ref = read_model(model)
    cells = []
    for stage, srcs in PROTOTYPES.items():
        for src in srcs:
            cells.append({"id": f"{stage}:{src[:10]}", "source": src})
    cells.append({"id": 7, "source": ["import os\n", "df = pd.read_csv(p)  # then look\n"]})
    cells.append({"id": "long", "source": " ".join(["df.head()"] * 200) + " model.fit(X, y)"})
    cells.append({"id": "greek", "source": "Πινακας.head()\nπινακασ = ΠΙΝΑΚΑΣ"})  # "πινακασ" known, "πινακας" not
    r = run(["classify", "--model", str(model), "-j", "2"], "".join(json.dumps(c) + "\n" for c in cells))
    assert r.returncode == 0, r.stderr
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert [o["id"] for o in out] == [c["id"] for c in cells]
    right = 0
    for c, o in zip(cells, out):
        src = c["source"] if isinstance(c["source"], str) else "".join(c["source"])
        p = [o["probabilities"][k] for k in KEYS]
        assert abs(sum(p) - 1) < 1e-3
        # the confidence is tag's (3 decimals), the probabilities have 4
        assert o["stage"] == KEYS[int(np.argmax(p))] and abs(o["confidence"] - max(p)) <= 0.00051
        assert o["confidence"] == round(o["confidence"], 3)
        want = reference_probs(ref, src)
        assert np.max(np.abs(np.array(p) - want)) < 1e-4 + 1e-6, (c["id"], p, want)
        right += isinstance(c["id"], str) and ":" in c["id"] and o["stage"] == c["id"].split(":")[0]
    assert right >= 16, f"the tiny model got only {right} of 19 training prototypes"
    assert "πινακασ" in ref["index"] and "πινακας" not in ref["index"]
    r = run(["classify", "-", "--model", str(model)], json.dumps(cells[0]) + "\n")  # "-" is stdin
    assert r.returncode == 0 and json.loads(r.stdout)["id"] == cells[0]["id"], r.stderr


def test_a_line_written_is_answered_before_the_next_comes():
    """classify read 4,096 lines, or its input to the end, before it answered: a program
    that writes a cell to a long-lived classify and waits for the answer waited for
    ever.  Each line is answered once no more have come; the answers are those of the
    whole input read at once, the shipped model's reading of a cell after the one
    before it included."""
    model = ROOT / "share" / "default.nbsm"
    lines = [{"id": "nb.ipynb#0", "source": "import pandas as pd"},
             {"id": "nb.ipynb#1", "source": "df = pd.read_csv('a.csv')"},
             {"id": "nb.ipynb#2", "source": "score"},
             {"id": "nb.ipynb#3", "source": "df.head()"}]
    whole = run(["classify", "--model", str(model)], stdin="".join(json.dumps(x) + "\n" for x in lines))
    assert whole.returncode == 0 and whole.stdout.count("\n") == len(lines), whole.stderr
    p = subprocess.Popen([str(BIN), "classify", "--model", str(model)], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    got = []
    try:
        for x in lines:
            p.stdin.write(json.dumps(x) + "\n")
            p.stdin.flush()
            assert select.select([p.stdout], [], [], 60)[0], f"no answer to {x} while the input stays open"
            got.append(p.stdout.readline())
        p.stdin.close()
        assert p.wait(60) == 0 and p.stdout.read() == "", p.stderr.read()
    finally:
        p.kill()
        p.wait()
    assert "".join(got) == whole.stdout


def test_bad_lines_and_blank_cells(tiny):
    _, model = tiny
    # blank lines, also of spaces, tabs or a CR (Windows line ends), carry no cell
    stdin = ('{"id": "a", "source": "# only a comment"}\nnot json\n\n \t\r\n{"id": "b"}\n'
             '{"id": "c", "source": "df.head()"}\n  \n')
    r = run(["classify", "--model", str(model)], stdin)
    assert r.returncode == 1
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(out) == 4
    assert out[0] == {"id": "a", "stage": None, "confidence": 0, "probabilities": {}}
    assert out[1]["id"] is None and "line 2" in out[1]["error"]
    assert out[2]["id"] == "b" and "source" in out[2]["error"]
    assert out[3]["stage"] in KEYS
    # stderr names the input and the first bad line with its reason (it said only "2 bad
    # input lines", leaving the user to search the output for the error objects)
    assert r.stderr.startswith("nbstage classify: <stdin>: 2 bad input lines; the first, line 2: "), r.stderr
    assert r.stderr.count("\n") == 1 and out[1]["error"] in r.stderr, r.stderr


def test_lines_without_an_id_or_with_a_list_of_non_strings_are_bad(tiny):
    """A line with no "id", or whose "source" list holds something other than strings,
    is a bad line as the usage says ({"id", "source"}; "a string or a list of
    strings"): an error answer in its place and exit 1.  Before, the first was
    classified under "id": null, which reads like a line that had no answer, and
    ["a", 5] was classified as "a" and [1, 2] as a blank cell ("stage": null)."""
    _, model = tiny
    stdin = ('{"source": "df.head()"}\n{"id": "l1", "source": [1, 2]}\n'
             '{"id": "l2", "source": ["import os\\n", 5]}\n{"id": "ok", "source": ["import os\\n", "import sys"]}\n'
             '{"id": null, "source": "df.head()"}\n')
    r = run(["classify", "--model", str(model)], stdin)
    assert r.returncode == 1, r.stderr
    out = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(out) == 5
    assert out[0]["id"] is None and "line 1" in out[0]["error"] and '"id"' in out[0]["error"]
    assert out[1]["id"] == "l1" and "line 2" in out[1]["error"] and "list of strings" in out[1]["error"]
    assert out[2]["id"] == "l2" and "line 3" in out[2]["error"] and "list of strings" in out[2]["error"]
    assert out[3]["id"] == "ok" and out[3]["stage"] in KEYS
    assert out[4]["id"] is None and out[4]["stage"] in KEYS  # an id given as null is an id
    assert "3 bad input lines" in r.stderr


def test_file_mode(tiny):
    d, model = tiny
    py = d / "cell.py"
    py.write_text("import numpy as np\nimport pandas as pd\n")
    r = run(["classify", "--model", str(model), str(py)])
    assert r.returncode == 0 and r.stdout.strip() in KEYS
    r = run(["classify", "--model", str(model), "--json", str(py)])
    assert json.loads(r.stdout)["id"] == str(py)
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ["df.head()"]},
                    {"cell_type": "markdown", "metadata": {}, "source": "text"},
                    {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ""}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    ipynb = d / "n.ipynb"
    ipynb.write_text(json.dumps(nb))
    r = run(["classify", "--model", str(model), str(ipynb)])
    assert r.returncode == 0, r.stderr
    rows = [x.split("\t") for x in r.stdout.splitlines()]
    assert [x[0] for x in rows] == ["0", "1"] and rows[0][1] in KEYS and rows[1][1] == "none"
    r = run(["classify", "--model", str(model), str(d / "missing.py")])
    assert r.returncode == 2 and "missing.py" in r.stderr


def test_classify_confidence_is_the_one_tag_saves(tiny, tmp_path):
    """classify printed the confidence with 4 decimals where tag saves it (and summary
    and the kernel show it) with 3: `classify nb.ipynb` said 0.9985 of a cell tag
    saved as 0.998, and a user rounding classify's figure got 0.999 (7,000 of the
    corpus' 138,628 cells, 5%).  Its confidence, in both modes, is now tag's value;
    the probabilities keep their 4 decimals."""
    d, model = tiny
    srcs = [s for cells in PROTOTYPES.values() for s in cells] + ["", "x = df.shape  # look"]
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": s}
                    for s in srcs], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    ipynb = tmp_path / "c.ipynb"
    ipynb.write_text(json.dumps(nb))
    text = run(["classify", "--model", str(model), str(ipynb)])
    js = run(["classify", "--model", str(model), "--json", str(ipynb)])
    tag = run(["tag", "--model", str(model), "-o", "-", str(ipynb)])
    assert text.returncode == 0 and js.returncode == 0 and tag.returncode == 0, (text.stderr, js.stderr, tag.stderr)
    saved = [c["metadata"].get("workflow_stage") for c in json.loads(tag.stdout)["cells"]]
    rows = [x.split("\t") for x in text.stdout.splitlines()]
    objs = [json.loads(x) for x in js.stdout.splitlines()]
    assert len(rows) == len(objs) == len(saved) == len(srcs)
    for row, o, ws in zip(rows, objs, saved):
        if ws is None:
            assert row[1] == "none" and o["stage"] is None, (row, o)
            continue
        assert row[1] == o["stage"] == ws["stage"], (row, o, ws)
        assert float(row[2]) == o["confidence"] == ws["confidence"], (row, o, ws)
        assert re.fullmatch(r"\d\.\d{3}", row[2]), row
    assert all(re.search(r'"probabilities": \{("\w+": \d\.\d{4}(, |\}))+', x) or '"stage": null' in x
               for x in js.stdout.splitlines()), js.stdout


def test_file_mode_upper_case_suffix_and_no_code(tiny):
    """A notebook named X.IPYNB is read as a notebook, not classified as one cell of
    JSON text; a notebook with no code cells prints nothing and says why."""
    d, model = tiny
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": ["df.head()"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    upper = d / "NOTES.IPYNB"
    upper.write_text(json.dumps(nb))
    r = run(["classify", "--model", str(model), str(upper)])
    assert r.returncode == 0, r.stderr
    assert r.stdout.split("\t")[0] == "0" and len(r.stdout.splitlines()) == 1
    nb["cells"] = [{"cell_type": "markdown", "metadata": {}, "source": "only text"}]
    prose = d / "prose.ipynb"
    prose.write_text(json.dumps(nb))
    r = run(["classify", "--model", str(model), str(prose)])
    assert r.returncode == 0 and r.stdout == ""
    assert "prose.ipynb: no code cells" in r.stderr


def classify_by_name(model, tmp_path, text, names):
    """`classify < TEXT`'s result (exit 0), and `classify FILE`'s for a file of each of
    NAMES holding TEXT."""
    piped = run(["classify", "--model", str(model)], text)
    assert piped.returncode == 0, piped.stderr
    named = []
    for name in names:
        (tmp_path / name).write_text(text)
        named.append(run(["classify", "--model", str(model), str(tmp_path / name)]))
    return piped, named


def test_a_cells_file_given_by_name_is_read_line_by_line(tiny, tmp_path):
    """`classify cells.jsonl`, the cells file named as label, train and eval take it,
    answers each line as `classify < cells.jsonl` does.  It was classified as one cell
    of Python (the whole JSON text): one stage for the corpus, exit 0."""
    _, model = tiny
    cells = [{"id": "a.ipynb#0", "source": "import numpy as np"}, {"id": "a.ipynb#1", "source": "df.head()"},
             {"id": "a.ipynb#2", "source": ["model.fit(X_train, y_train)\n"]}]
    text = "".join(json.dumps(c) + "\n" for c in cells)
    piped, named = classify_by_name(model, tmp_path, text, ("cells.jsonl", "CELLS.JSONL"))
    for r in named:
        assert r.returncode == 0, r.stderr
        assert r.stdout == piped.stdout and [json.loads(x)["id"] for x in r.stdout.splitlines()] == [
            c["id"] for c in cells], r.stdout
    # a bad line is answered in its place and named with the file's name, exit 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text(text + '{"id": "a.ipynb#3"}\n')
    r = run(["classify", "--model", str(model), str(bad)])
    assert r.returncode == 1 and len(r.stdout.splitlines()) == 4, (r.stdout, r.stderr)
    assert r.stderr.startswith(f"nbstage classify: {bad}: 1 bad input line; the first, line 4: "), r.stderr
    r = run(["classify", "--model", str(model), str(tmp_path / "missing.jsonl")])
    assert r.returncode == 2 and r.stderr == f"nbstage classify: {tmp_path / 'missing.jsonl'}: No such file or " \
        "directory\n", r.stderr


def test_a_cells_file_or_notebook_under_another_name_is_said(tiny, tmp_path):
    """JSON Lines' other common suffix, .ndjson, is read line by line as .jsonl is.  A
    cells file named cells.json, or a notebook saved as nb.json, is still one cell of
    code (a file of any other name is), but it printed one stage that meant nothing,
    exit 0, without a word: a note on stderr now says what the text looks like and how
    to give it."""
    _, model = tiny
    cells = [{"id": "a.ipynb#0", "source": "import numpy as np"}, {"id": "a.ipynb#1", "source": "df.head()"}]
    text = "".join(json.dumps(c) + "\n" for c in cells)
    piped, named = classify_by_name(model, tmp_path, text, ("cells.ndjson", "CELLS.NDJSON"))
    for r in named:
        assert (r.returncode, r.stdout, r.stderr) == (0, piped.stdout, ""), r.stderr
    f = tmp_path / "cells.json"
    f.write_text(text)
    r = run(["classify", "--model", str(model), str(f)])
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1, (r.stdout, r.stderr)
    assert (f"nbstage classify: {f}: classified as one cell of code, but it looks like JSON Lines of "
            "cells: give them on stdin") in r.stderr, r.stderr
    nb = tmp_path / "nb.json"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": "df.head()", "metadata": {},
                                         "outputs": [], "execution_count": None}],
                              "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1))
    r = run(["classify", "--model", str(model), str(nb)])
    assert r.returncode == 0 and len(r.stdout.splitlines()) == 1, (r.stdout, r.stderr)
    assert f"nbstage classify: {nb}: classified as one cell of code, but it looks like a notebook: name it *.ipynb" \
        in r.stderr, r.stderr
    # code, a dict literal or a non-ASCII string among it, is not remarked on
    for code in ("df = pd.read_csv('x.csv')\n", '{"a": 1}\n', "{'source': 1}\n", "print('café ≥ 1')\n"):
        f = tmp_path / "cell.py"
        f.write_text(code, encoding="utf-8")
        r = run(["classify", "--model", str(model), str(f)])
        assert (r.returncode, r.stderr) == (0, ""), (code, r.stderr)
    # a binary file (a program, a pickle) or text in another encoding: one stage, as
    # for any file, but said (it printed a stage without a word; QA, 2026-12-06)
    for name, data in (("prog", b"\x7fELF\x02\x01\x01\x00\x00\x00import os\n"),
                       ("latin1.py", "print('café')\n".encode("latin-1"))):
        f = tmp_path / name
        f.write_bytes(data)
        r = run(["classify", "--model", str(model), str(f)])
        assert r.returncode == 0 and len(r.stdout.splitlines()) == 1, (name, r.stdout, r.stderr)
        assert r.stderr == (f"nbstage classify: {f}: classified as one cell of code, but it looks like binary "
                            "data, not UTF-8 text: give a file of Python code, or a notebook\n"), r.stderr


def test_bad_models_refused(tiny):
    d, model = tiny
    r = run(["classify", "--model", str(d / "nope.nbsm")], "")
    assert r.returncode == 2 and f"{d / 'nope.nbsm'}: No such file or directory" in r.stderr, r.stderr
    # NBSTAGE_MODEL, perhaps set for the kernel long ago, is named (as label names NBSTAGE_RULES)
    for cmd in (["classify", "-"], ["tag", "--check", "-"], ["summary", "-"]):
        r = subprocess.run([str(BIN), *cmd], input="", capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, NBSTAGE_MODEL=str(d / "nope.nbsm")))
        assert r.returncode == 2 and f"NBSTAGE_MODEL={d / 'nope.nbsm'}: No such file" in r.stderr, (cmd, r.stderr)
    b = bytearray(model.read_bytes())
    b[len(b) // 2] ^= 1
    bad = d / "bad.nbsm"
    bad.write_bytes(bytes(b))
    r = run(["classify", "--model", str(bad)], "")
    assert r.returncode == 2 and "checksum" in r.stderr
    bad.write_bytes(model.read_bytes()[:1000])
    r = run(["classify", "--model", str(bad)], "")
    assert r.returncode == 2 and "truncated" in r.stderr


def test_eval_scores_against_gold(tiny):
    d, model = tiny
    cells = d / "cells.jsonl"
    gold = d / "gold.tsv"
    rows, lines = ["cell_id\tlabel\tsecondary\tconfidence\tnote"], []
    for stage, srcs in PROTOTYPES.items():
        for i, src in enumerate(srcs):
            lines.append(json.dumps({"id": f"g.ipynb#{stage}{i}", "source": src}))
            rows.append(f"g.ipynb#{stage}{i}\t{stage}\t\th\t")
    rows.append("g.ipynb#none0\tnone\t\th\t")
    lines.append(json.dumps({"id": "g.ipynb#none0", "source": "print('hello')"}))
    cells.write_text("\n".join(lines) + "\n")
    gold.write_text("\n".join(rows) + "\n")
    r = run(["eval", "--model", str(model), "--gold", str(gold), "--svg", str(d / "cm.svg"), str(cells)])
    assert r.returncode == 0, r.stderr
    m = re.search(r"^accuracy ([0-9.]+), macro-F1 ([0-9.]+) over 19 cells", r.stdout, re.M)
    assert m, r.stdout
    assert "1 labeled none" in r.stdout and "macro avg" in r.stdout and "true\\pred" in r.stdout
    assert (d / "cm.svg").read_text().lstrip().startswith("<")
    # the same numbers from the predictions path
    c = run(["classify", "--model", str(model)], cells.read_text())
    (d / "pred.jsonl").write_text(c.stdout)
    p = run(["eval", "--predictions", "--gold", str(gold), str(d / "pred.jsonl")])
    assert p.returncode == 0 and re.search(r"^accuracy " + re.escape(m.group(1)), p.stdout, re.M), p.stdout


def test_eval_reports_by_the_labels_confidence_and_secondary(tmp_path):
    """Where the hand labels fill the guide's confidence and secondary columns, eval
    adds the accuracy per confidence and the accuracy that counts the secondary stage
    as right too; without them, neither line."""
    pred = tmp_path / "pred.jsonl"
    pred.write_text("".join(json.dumps({"id": i, "stage": s}) + "\n" for i, s in [
        ("n#1", "load"), ("n#2", "explore"), ("n#3", "evaluate"), ("n#4", "explore"), ("n#5", None)]))
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\tsecondary\tconfidence\tnote\n"
                    "n#1\tload\t\th\t\n"
                    "n#2\tprep\texplore\tm\tplot after a small change\n"
                    "n#3\ttrain\t\tl\t\n"
                    "n#4\texplore\t\t\t\n"
                    "n#5\tload\tprep\th\tno prediction: a miss\n")
    r = run(["eval", "--predictions", "--gold", str(gold), str(pred)])
    assert r.returncode == 0, r.stderr
    assert "by the labels' confidence: h (sure) 0.5000 over 2, m 0.0000 over 1, l 0.0000 over 1 cells" in r.stdout
    assert "the label or its secondary: accuracy 0.6000 (2 of 5 cells name a secondary stage)" in r.stdout
    assert "accuracy 0.4000" in r.stdout
    q = run(["eval", "-q", "--predictions", "--gold", str(gold), str(pred)])
    assert q.stdout.count("\n") == 1 and q.stdout.startswith("accuracy 0.4000"), q.stdout
    gold.write_text("cell_id\tlabel\n" + "".join(f"n#{i}\tload\n" for i in range(1, 6)))
    r = run(["eval", "--predictions", "--gold", str(gold), str(pred)])
    assert r.returncode == 0 and "confidence" not in r.stdout and "secondary" not in r.stdout, r.stdout


def test_eval_predictions_names_the_stage_keys_when_refusing_one(tmp_path):
    """eval --predictions with a stage that is not a key says which keys there are, as
    the hand labels' reader and train do (it said only "unknown stage 'Imports'")."""
    pred = tmp_path / "pred.jsonl"
    pred.write_text('{"id": "n#1", "stage": "Imports"}\n')
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\nn#1\timports\n")
    r = run(["eval", "--predictions", "--gold", str(gold), str(pred)])
    assert r.returncode == 2, r.stderr
    assert (f"nbstage eval: {pred}:1: unknown stage 'Imports' (load prep train evaluate explore imports, "
            "or null)\n") in r.stderr, r.stderr


def test_eval_refuses_a_source_that_is_not_text(tiny):
    """A cell whose "source" is not a string or a list of strings stops eval with its
    line, as a missing "source" does; it was scored as a cell without a prediction
    (a blank cell), quietly lowering the accuracy."""
    d, model = tiny
    gold = d / "src-gold.tsv"
    gold.write_text("cell_id\tlabel\na#0\tload\nb#0\tprep\n")
    for bad in ('5', '[1]', '["df = pd.read_csv(p)", 5]', 'null'):
        cells = d / "src-cells.jsonl"
        cells.write_text('{"id": "b#0", "source": "df = df.dropna()"}\n{"id": "a#0", "source": %s}\n' % bad)
        r = run(["eval", "--model", str(model), "--gold", str(gold), str(cells)])
        assert r.returncode == 2, (bad, r.stdout, r.stderr)
        assert f"{cells}:2:" in r.stderr and "source" in r.stderr, (bad, r.stderr)


def test_eval_predictions_without_a_stage_count_as_misses(tiny):
    """eval --predictions with a null stage: the first line says both figures count a
    cell without a prediction as wrong, but its macro-F1 was the one over predicted
    cells (0.6667 here); sklearn, "no prediction" a label of its own, gives 0.5833:
    f1_score(["load", "load", "prep", "prep"], ["load", "-", "prep", "load"],
    labels=["load", "prep"], average="macro")."""
    d, _ = tiny
    gold, preds = d / "miss-gold.tsv", d / "miss-preds.jsonl"
    gold.write_text("cell_id\tlabel\na#0\tload\na#1\tload\na#2\tprep\na#3\tprep\n")
    stages = ["load", None, "prep", "load"]
    preds.write_text("".join(json.dumps({"id": f"a#{i}", "stage": s}) + "\n" for i, s in enumerate(stages)))
    r = run(["eval", "--predictions", "--gold", str(gold), str(preds)])
    assert r.returncode == 0, r.stderr
    assert "accuracy 0.5000, macro-F1 0.5833 over 4 cells (cells without a prediction count as wrong; " \
           "0.6667 and 0.6667 over predicted ones)" in r.stdout, r.stdout
    # --errors leaves the cell without a prediction its predicted and confidence fields
    # empty: it wrote "none", which in a hand-label file is a stage of its own
    errors = d / "miss-errors.tsv"
    r = run(["eval", "-q", "--predictions", "--gold", str(gold), "--errors", str(errors), str(preds)])
    assert r.returncode == 0, r.stderr
    assert errors.read_text() == ("cell_id\ttrue\tpredicted\tconfidence\n"
                                  "a#1\tload\t\t\na#3\tprep\tload\t0.000\n"), errors.read_text()


def test_eval_errors_ids_are_escaped_as_tsv(tiny):
    """--errors wrote a cell's id as it is: a backslash, a return or a tab in a name
    (an id is path#K) made the row read as other fields or another id.  Now the id
    field is escaped as TSV's own convention has it (PostgreSQL's COPY text format):
    \\t, \\n, \\r and \\\\, every other byte as it is (ESC too: the file is data, as
    --json is; messages are where the terminal escapes go).  A hand-label file is split
    on tabs and lines, so an id with a tab or a newline cannot be labeled; a return
    inside one can."""
    d, _ = tiny
    gold, preds, errors = d / "esc-gold.tsv", d / "esc-preds.jsonl", d / "esc-errors.tsv"
    ids = ["n\\x1b\x1b[1m\rz\\.ipynb#0", "plain.ipynb#1"]
    gold.write_bytes(("cell_id\tlabel\n" + "".join(f"{i}\tload\n" for i in ids)).encode())
    preds.write_text("".join(json.dumps({"id": i, "stage": "prep"}) + "\n" for i in ids))
    r = run(["eval", "-q", "--predictions", "--gold", str(gold), "--errors", str(errors), str(preds)])
    assert r.returncode == 0, r.stderr
    assert errors.read_bytes() == (b"cell_id\ttrue\tpredicted\tconfidence\n"
                                   b"n\\\\x1b\x1b[1m\\rz\\\\.ipynb#0\tload\tprep\t0.000\n"
                                   b"plain.ipynb#1\tload\tprep\t0.000\n"), errors.read_bytes()


def test_eval_notes_classes_without_support_as_sklearn_warns(tiny):
    """A class predicted but never true (recall 0/0) or true but never predicted
    (precision 0/0): the report shows 0.000 as sklearn's does (figures checked against
    classification_report), and now says why, where sklearn raises its
    UndefinedMetricWarning; nothing said it before."""
    d, _ = tiny
    gold, preds = d / "ill-gold.tsv", d / "ill-preds.jsonl"
    gold.write_text("cell_id\tlabel\na#0\tload\na#1\tload\na#2\tprep\na#3\tevaluate\n")
    stages = ["load", "train", "prep", "explore"]
    preds.write_text("".join(json.dumps({"id": f"a#{i}", "stage": s}) + "\n" for i, s in enumerate(stages)))
    r = run(["eval", "--predictions", "--gold", str(gold), str(preds)])
    assert r.returncode == 0, r.stderr
    assert "       train      0.000     0.000     0.000         0\n" in r.stdout, r.stdout
    assert "   macro avg      0.400     0.300     0.333         4\n" in r.stdout, r.stdout
    assert "note: evaluate: precision is ill-defined (no predicted cells) and set to 0.0" in r.stdout, r.stdout
    assert "note: train, explore: recall is ill-defined (no true cells) and set to 0.0" in r.stdout, r.stdout
    r = run(["eval", "--predictions", "--gold", str(d / "miss-gold.tsv"), str(d / "miss-preds.jsonl")])
    assert r.returncode == 0 and "note:" not in r.stdout, r.stdout


def test_eval_gold_with_a_cell_twice(tiny):
    """A cell listed twice in the gold file (two annotators' files concatenated): the
    same label counts once; different labels are refused with both lines, not scored
    with whichever row the sort put first (and the cell reported "not in" the cells)."""
    d, model = tiny
    cells = d / "dup-cells.jsonl"
    cells.write_text("".join(json.dumps({"id": f"g.ipynb#{i}", "source": s}) + "\n"
                             for i, s in enumerate(["import os", "df.head()", "model.fit(X, y)"])))
    gold = d / "dup-gold.tsv"
    rows = ["cell_id\tlabel\tsecondary\tconfidence\tnote", "g.ipynb#0\timports\t\th\t",
            "g.ipynb#1\texplore\t\th\t", "g.ipynb#2\ttrain\t\th\t", "g.ipynb#1\texplore\t\tm\tagain"]
    gold.write_text("\n".join(rows) + "\n")
    r = run(["eval", "--model", str(model), "--gold", str(gold), str(cells)])
    assert r.returncode == 0, r.stderr
    assert "3 cells labeled, 0 labeled none (left out), 0 not in" in r.stdout, r.stdout
    assert re.search(r"^accuracy [0-9.]+, macro-F1 [0-9.]+ over 3 cells", r.stdout, re.M), r.stdout
    gold.write_text("\n".join(rows[:4] + ["g.ipynb#1\tprep\t\th\t"]) + "\n")
    for cmd in (["eval", "--model", str(model), "--gold", str(gold), str(cells)],
                ["label", "-q", "--no-default-rules", "--gold", str(gold), "-o", str(d / "dup-weak.jsonl"),
                 str(cells)]):
        r = run(cmd)
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        assert f"{gold}:5: g.ipynb#1 is labeled explore on line 3" in r.stderr, r.stderr


def test_eval_gold_saved_by_a_spreadsheet(tiny):
    """Hand labels kept in a spreadsheet come back as UTF-8 with a byte-order mark and
    CRLF line ends (Excel's "Unicode text" / "CSV UTF-8"): the same scores as the plain
    file, the header still recognised, the first row not lost to the mark."""
    d, model = tiny
    cells = d / "bom-cells.jsonl"
    cells.write_text("".join(json.dumps({"id": f"g.ipynb#{i}", "source": s}) + "\n"
                             for i, s in enumerate(["import os", "df.head()", "model.fit(X, y)"])))
    rows = ["g.ipynb#0\timports\t\th\t", "g.ipynb#1\texplore\t\th\t", "g.ipynb#2\ttrain\t\th\t"]
    plain = d / "plain-gold.tsv"
    plain.write_text("\n".join(rows) + "\n")
    want = run(["eval", "--model", str(model), "--gold", str(plain), str(cells)])
    assert want.returncode == 0 and "3 cells labeled" in want.stdout, want.stderr
    for name, text in (("bom-header.tsv", ["cell_id\tlabel\tsecondary\tconfidence\tnote"] + rows),
                       ("bom-rows.tsv", rows)):
        gold = d / name
        gold.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(text).encode() + b"\r\n")
        r = run(["eval", "--model", str(model), "--gold", str(gold), str(cells)])
        assert r.returncode == 0, (name, r.stderr)
        assert r.stdout.replace(str(gold), str(plain)) == want.stdout, name


def test_train_on_one_notebook(tiny):
    """A first try on one's own corpus may be one notebook: the validation split takes
    whole notebooks, and taking the only one left nothing to train on (exit 2).  The
    last notebook stays for training: no validation set, as with --val-split 0."""
    d, _ = tiny
    weak = d / "one-notebook.jsonl"
    lines = []
    for stage, srcs in PROTOTYPES.items():
        for src in srcs:  # one id per cell (3 * k + i gave two cells one id, two stages)
            p = {s: (0.9 if s == stage else 0.02) for s in KEYS}
            lines.append({"id": f"solo.ipynb#{len(lines)}", "stage": stage, "probabilities": p, "source": src})
    weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = d / "solo.nbsm"
    r = run(["train", "--embed", "8", "--hidden", "4", "--epochs", "2", "--threads", "1",
             "-o", str(out), str(weak)])
    assert r.returncode == 0, r.stderr
    assert "19 training cells, 0 validation cells" in r.stderr, r.stderr
    assert "nan" not in r.stderr and "(best epoch 2, no validation set)" in r.stderr, r.stderr
    (d / "solo-cells.jsonl").write_text(json.dumps({"id": "s.ipynb#0", "source": "import os"}) + "\n")
    (d / "solo-gold.tsv").write_text("s.ipynb#0\timports\n")
    e = run(["eval", "--model", str(out), "--gold", str(d / "solo-gold.tsv"), str(d / "solo-cells.jsonl")])
    assert e.returncode == 0 and "nan" not in e.stdout and "no validation set" in e.stdout, e
    c = run(["classify", "--model", str(out)], json.dumps({"id": 1, "source": "df.head()"}) + "\n")
    assert c.returncode == 0 and json.loads(c.stdout)["stage"] in KEYS, c.stderr


def test_train_refuses_bad_input(tiny):
    d, _ = tiny
    bad = d / "bad.jsonl"
    bad.write_text('{"id": "a#0", "stage": "train"}\n')
    r = run(["train", "-o", str(d / "x.nbsm"), str(bad)])
    assert r.returncode == 2 and "without source" in r.stderr and "--cells" in r.stderr
    bad.write_text('{"id": "a#0", "stage": "dancing", "source": "x"}\n')
    r = run(["train", "-o", str(d / "x.nbsm"), str(bad)])
    assert r.returncode == 2 and "bad.jsonl:1: unknown stage" in r.stderr
    r = run(["train", "--epochs", "zero", "-o", str(d / "x.nbsm"), str(bad)])
    assert r.returncode == 2 and "--epochs" in r.stderr


def test_train_refuses_a_source_that_is_not_text(tiny):
    """A weak line's or a --cells line's "source" that is not a string or a list of
    strings is refused with its file and line (exit 2), as an unknown stage is.  It
    was left out as a cell "without source" ("give --cells", which was given or not
    the point) or, as a list with other values, trained on as the strings it had."""
    d, _ = tiny
    good = '{"id": "b#0", "stage": "prep", "source": "df = df.dropna()"}\n'
    bad = d / "src-weak.jsonl"
    for src in ('5', '[1, 2]', '["df.head()", 5]', '{"a": 1}'):
        bad.write_text(good + '{"id": "a#0", "stage": "explore", "source": %s}\n' % src)
        r = run(["train", "-q", "--epochs", "1", "-o", str(d / "x.nbsm"), str(bad)])
        assert r.returncode == 2 and "src-weak.jsonl:2:" in r.stderr and "source" in r.stderr, (src, r.stderr)
        cells = d / "src-cells.jsonl"
        cells.write_text('{"id": "b#0", "source": "x = 1"}\n{"id": "a#0", "source": %s}\n' % src)
        weak = d / "src-weak2.jsonl"
        weak.write_text('{"id": "a#0", "stage": "explore"}\n{"id": "b#0", "stage": "prep"}\n')
        r = run(["train", "-q", "--epochs", "1", "--cells", str(cells), "-o", str(d / "x.nbsm"), str(weak)])
        assert r.returncode == 2 and "src-cells.jsonl:2:" in r.stderr and "source" in r.stderr, (src, r.stderr)


def through_label_train_and_eval(d, model, cells, stem, gold_id):
    """label, train --cells and eval --model on CELLS, each exit 0 (eval scoring the one
    hand label GOLD_ID: load); label's lines."""
    weak, gold = d / f"{stem}-weak.jsonl", d / f"{stem}-gold.tsv"
    r = run(["label", "-q", "-o", str(weak), str(cells)])
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = run(["train", "-q", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1", "--val-split", "0",
             "--cells", str(cells), "-o", str(d / f"{stem}.nbsm"), str(weak)])
    assert r.returncode == 0, r.stderr
    gold.write_text(f"cell_id\tlabel\n{gold_id}\tload\n")
    r = run(["eval", "-q", "--model", str(model), "--gold", str(gold), str(cells)])
    assert r.returncode == 0 and "over 1 cells" in r.stdout, r.stderr
    return [json.loads(x) for x in weak.read_text().splitlines()]


def test_cells_with_a_nul_character_go_through_the_pipeline(tiny):
    """ingest writes a cell whose source holds a NUL character as "\\u0000" (valid JSON,
    as nbformat reads it); label skipped that line (exit 1), train --cells stopped at
    it (exit 2), eval stopped at it, classify answered an error: jansson refuses
    \\u0000 unless asked.  Now each reads it like any other cell."""
    d, model = tiny
    cells = d / "nul-cells.jsonl"
    srcs = ["import pandas as pd", "df = pd.read_csv('a\0.csv')\ndf.head()", "model.fit(X, y)"]
    cells.write_text("".join(json.dumps({"id": f"n.ipynb#{i}", "notebook": "n.ipynb", "index": i, "source": s}) + "\n"
                             for i, s in enumerate(srcs)))
    assert "\\u0000" in cells.read_text()
    rows = through_label_train_and_eval(d, model, cells, "nul", "n.ipynb#1")
    assert [x["id"] for x in rows] == ["n.ipynb#0", "n.ipynb#1", "n.ipynb#2"] and rows[1]["stage"] == "load", rows
    r = run(["classify", "--model", str(model)], cells.read_text())
    answers = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 0 and all(a["stage"] in KEYS for a in answers) and len(answers) == 3, r.stdout + r.stderr


def test_lines_python_wrote_with_nan_in_another_field_are_read(tiny):
    """Python's json.dumps writes NaN, Infinity and integers beyond 64 bits, which
    jansson refuses; in a field these commands ignore ("score", "n"), the line was
    refused all the same: classify answered {"id": null, "error": ...}, label skipped
    it, train and eval stopped.  They read it as the notebook reader does (NB_LENIENT):
    those values as null."""
    d, model = tiny
    cells, gold, preds = d / "nan-cells.jsonl", d / "nan-gold.tsv", d / "nan-preds.jsonl"
    srcs = ["import pandas as pd", "df = pd.read_csv('a.csv')", "model.fit(X, y)"]
    cells.write_text("".join(json.dumps({"id": f"q.ipynb#{i}", "notebook": "q.ipynb", "source": s,
                                         "score": float("nan"), "n": 2 ** 70, "w": float("-inf")}) + "\n"
                             for i, s in enumerate(srcs)))
    assert "NaN" in cells.read_text() and "-Infinity" in cells.read_text()
    r = run(["classify", "--model", str(model)], cells.read_text())
    answers = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 0, r.stdout + r.stderr
    assert [a["id"] for a in answers] == ["q.ipynb#0", "q.ipynb#1", "q.ipynb#2"] and all(a["stage"] in KEYS for a in answers)
    assert len(through_label_train_and_eval(d, model, cells, "nan", "q.ipynb#1")) == 3
    preds.write_text("".join(json.dumps({**a, "score": float("nan")}) + "\n" for a in answers))
    r = run(["eval", "-q", "--predictions", "--gold", str(gold), str(preds)])
    assert r.returncode == 0 and "over 1 cells" in r.stdout, r.stderr
    # what no reading makes JSON is still refused with its line
    r = run(["classify", "--model", str(model)], '{"id": "x", "source": "a", "s": NaNa}\n')
    assert r.returncode == 1 and json.loads(r.stdout)["error"], r.stdout


def test_label_takes_a_source_as_a_list_of_lines(tiny):
    """A cell whose "source" is nbformat's list of lines (as in the .ipynb itself):
    classify, eval and train join it; label skipped the line (exit 1).  Now it votes
    on the joined text; a list holding something else than strings is still refused."""
    d, _ = tiny
    cells = d / "list-cells.jsonl"
    lines = ["import pandas as pd\n", "df = pd.read_csv('a.csv')"]
    cells.write_text(json.dumps({"id": "l.ipynb#0", "source": lines}) + "\n" +
                     json.dumps({"id": "l.ipynb#1", "source": "".join(lines)}) + "\n")
    r = run(["label", "-q", str(cells)])
    assert r.returncode == 0 and r.stderr == "", r.stderr
    a, b = [json.loads(x) for x in r.stdout.splitlines()]
    assert a["votes"] == b["votes"] and "load" in a["votes"].values(), r.stdout
    r = run(["label", "-q"], json.dumps({"id": "x#0", "source": ["x", 3]}) + "\n")
    assert r.returncode == 2 and "<stdin>:1: skipped" in r.stderr and "<stdin>: no cells" in r.stderr, r.stderr


def test_label_statements_feed_train(tiny):
    """`label --statements` writes, after each cell of two or more top-level statements,
    one line per statement with its own "source" (id CELL.sK), labeled by the rules
    without context; the cells' own lines are as without the option, and `train` reads
    the statements' text from their lines while the cells' comes from --cells."""
    d, _ = tiny
    cells, weak = d / "st-cells.jsonl", d / "st-weak.jsonl"
    srcs = ["import pandas as pd\nfrom sklearn.svm import SVC", "df = pd.read_csv('a.csv')\nif df.empty:\n    x = 1\n"
            "else:\n    x = 2\ndf.head()", "%%time\nmodel.fit(X, y)\npred = model.predict(X)", "model.fit(X, y)"]
    cells.write_text("".join(json.dumps({"id": f"s.ipynb#{i}", "notebook": "s.ipynb", "index": i, "source": t}) + "\n"
                             for i, t in enumerate(srcs)))
    plain = run(["label", "-q", str(cells)])
    r = run(["label", "--statements", "-o", str(weak), str(cells)])
    assert plain.returncode == 0 and r.returncode == 0, r.stderr
    assert "--statements: 5 statements of cells with two or more" in r.stderr, r.stderr
    rows = [json.loads(x) for x in weak.read_text().splitlines()]
    assert [x["id"] for x in rows] == ["s.ipynb#0", "s.ipynb#0.s0", "s.ipynb#0.s1", "s.ipynb#1", "s.ipynb#1.s0",
                                       "s.ipynb#1.s1", "s.ipynb#1.s2", "s.ipynb#2", "s.ipynb#3"], rows
    whole = [x for x in rows if ".s" not in x["id"]]
    assert whole == [json.loads(x) for x in plain.stdout.splitlines()]  # the cells' labels unchanged
    assert all("source" not in x for x in whole)
    st = {x["id"]: x for x in rows if ".s" in x["id"]}
    assert st["s.ipynb#1.s1"]["source"] == "if df.empty:\n    x = 1\nelse:\n    x = 2\n"
    assert st["s.ipynb#0.s1"]["source"] == "from sklearn.svm import SVC"
    assert st["s.ipynb#1.s0"]["votes"] == {"load_read_file": "load"}, st
    assert "explore" in st["s.ipynb#1.s2"]["votes"].values() and "next_cell" not in st["s.ipynb#1.s2"]["votes"]
    r = run(["train", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1", "--val-split", "0",
             "--min-confidence", "0", "--cells", str(cells), "-o", str(d / "st.nbsm"), str(weak)])
    assert r.returncode == 0 and "0 without source" in r.stderr, r.stderr
    r = run(["label", "--statements", "--votes", str(weak)])
    assert r.returncode == 2 and "--statements" in r.stderr


def test_lines_of_white_space_are_skipped_by_label_train_and_eval(tiny):
    """A JSON Lines file whose last line is "\\r\\n" (a Windows editor) or holds a few
    spaces: classify skips such lines; label called them bad lines (exit 1), train
    (weak labels or --cells) and eval stopped at them (exit 2)."""
    d, model = tiny
    rows = [json.loads(x) for x in (d / "weak.jsonl").read_text().splitlines()]
    weak, cells, gold = d / "ws-weak.jsonl", d / "ws-cells.jsonl", d / "ws-gold.tsv"
    weak.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "source"}) + "\n" for r in rows) + "\r\n")
    cells.write_text("".join(json.dumps({"id": r["id"], "source": r["source"]}) + "\n" for r in rows) + " \t\n\r\n")
    gold.write_text(f"cell_id\tlabel\n{rows[0]['id']}\t{rows[0]['stage']}\n")
    r = run(["label", "-q", "-o", str(d / "ws-labels.jsonl"), str(cells)])
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = run(["train", "-q", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1",
             "--cells", str(cells), "-o", str(d / "ws.nbsm"), str(weak)])
    assert r.returncode == 0, r.stderr
    r = run(["eval", "-q", "--model", str(model), "--gold", str(gold), str(cells)])
    assert r.returncode == 0 and "over 1 cells" in r.stdout, r.stderr


def test_label_says_when_a_rule_hits_the_match_limit(tiny):
    """A user's rule that backtracks catastrophically: PCRE2's match limit stops each
    match (no hang); nothing said so, and for a `none` line it silently made the rule
    fire.  Now a warning, -q or not, names the rule (file:line), how many cells and the
    first; the rule abstains on them, and label exits 1 (test_label_more.py has more)."""
    d, _ = tiny
    rules, cells = d / "evil-rules.txt", d / "evil-cells.jsonl"
    rules.write_text("rule evil train\n  any \\bfit\\(\n  none ^(\\w+\\s?)*$\n")
    src = "fit()\n" + "aaaa " * 12 + "a" * 30 + "!"
    cells.write_text("".join(json.dumps({"id": f"e.ipynb#{i}", "source": src}) + "\n" for i in range(3)))
    r = run(["label", "-q", "--no-default-rules", "--rules", str(rules), "-o", str(d / "evil.jsonl"), str(cells)])
    assert r.returncode == 1, r.stderr
    assert f"{rules}:1: rule evil: PCRE2 gave up (match limit exceeded) on 3 of 3 cells, the first e.ipynb#0" \
        in r.stderr, r.stderr
    assert all(json.loads(line)["votes"] == {} for line in (d / "evil.jsonl").read_text().splitlines())


def test_train_is_byte_identical_with_source_date_epoch(tiny):
    """Same data, seed and --threads give the same weights, but the model's description
    holds the minute it was written, so `cmp` of two runs failed once a minute turned.
    SOURCE_DATE_EPOCH (reproducible-builds.org) now fixes that date."""
    d, _ = tiny
    env = dict(os.environ, SOURCE_DATE_EPOCH="86400")
    outs = [d / "repro-a.nbsm", d / "repro-b.nbsm"]
    for out in outs:
        r = subprocess.run([str(BIN), "train", "-q", "--embed", "8", "--hidden", "4", "--epochs", "2", "--threads", "1",
                            "--seed", "9", "-o", str(out), str(d / "weak.jsonl")],
                           capture_output=True, text=True, timeout=120, env=env)
        assert r.returncode == 0, r.stderr
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert b"nbstage train 1970-01-02 00:00 UTC" in outs[0].read_bytes()


def test_train_checks_its_outputs_before_training(tiny):
    """-o or --curves in a folder that does not exist, -o naming a folder or a read-only
    file: found out only when the run ended (the whole training lost), and the
    read-only file was replaced.  Now refused before the first epoch."""
    d, _ = tiny
    ro = d / "read-only.nbsm"
    ro.write_text("keep me")
    ro.chmod(0o444)
    cases = [(["-o", str(d / "no-such-dir" / "m.nbsm")], "cannot create"),
             (["-o", str(d)], f"{d}: is a directory, not a file to write"),
             (["-o", str(ro)], "read-only file, left untouched"),
             (["-o", str(d / "ok.nbsm"), "--curves", str(d / "no-such-dir" / "c")], "c.csv")]
    for args, why in cases:
        r = run(["train", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1", *args, str(d / "weak.jsonl")])
        assert r.returncode == 2 and why in r.stderr and "epoch 1/" not in r.stderr, (args, r.stderr)
    assert ro.read_text() == "keep me"
    r = run(["train", "-q", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1", "-o", "/dev/null",
             str(d / "weak.jsonl")])
    assert r.returncode == 0, r.stderr


def test_train_names_weak_labels_missing_from_cells(tiny):
    """A --cells file that lacks some weak labels' ids (another ingest, a stale file):
    the run said only '... N without source' among its progress lines, nothing with
    -q, and trained on what was left.  Now a line on stderr, -q or not, says how many
    and names the first ones; and a stage it does not know is quoted."""
    d, _ = tiny
    weak, cells = d / "weak-ids.jsonl", d / "some-cells.jsonl"
    rows = [json.loads(x) for x in (d / "weak.jsonl").read_text().splitlines()]
    rows = [r for r in rows if r["stage"]]
    weak.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "source"}) + "\n" for r in rows))
    cells.write_text("".join(json.dumps({"id": r["id"], "source": r["source"]}) + "\n" for r in rows[5:]))
    r = run(["train", "-q", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1",
             "--cells", str(cells), "-o", str(d / "partial.nbsm"), str(weak)])
    assert r.returncode == 0, r.stderr
    want = f"5 of {len(rows)} weak labels have no source in {cells} ({rows[0]['id']}, {rows[1]['id']}, {rows[2]['id']}, ...)"
    assert want in r.stderr, r.stderr
    bad = d / "bad-stage.jsonl"
    bad.write_text(json.dumps({"id": "a#0", "stage": "Train", "source": "x"}) + "\n")
    r = run(["train", "-o", str(d / "x.nbsm"), str(bad)])
    assert r.returncode == 2 and 'bad-stage.jsonl:1: unknown stage "Train" (load prep' in r.stderr, r.stderr


def test_ctrl_c_keeps_the_best_weights(tiny):
    """A real SIGINT in the middle of `nbstage train`: it stops after the current batch,
    exits 0, and writes a model with the best finished epoch's weights (the learning
    curves say which epoch that is), which classify then loads and uses."""
    import signal
    import time
    d, _ = tiny
    out, curves = d / "interrupted.nbsm", d / "interrupted"
    p = subprocess.Popen([str(BIN), "train", "--embed", "16", "--hidden", "8", "--epochs", "100000",
                          "--patience", "100000", "--batch", "16", "--lr", "0.02", "--val-split", "0.2",
                          "--seed", "5", "--threads", "1", "--curves", str(curves), "-o", str(out),
                          str(d / "weak.jsonl")], stderr=subprocess.PIPE, text=True)
    seen, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline:  # wait for three finished epochs
        line = p.stderr.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("epoch 3/"):
            break
    assert any(x.startswith("epoch 3/") for x in seen), "".join(seen)
    p.send_signal(signal.SIGINT)
    rest = rest_of_stderr(p, 60)
    log = "".join(seen) + rest
    assert p.returncode == 0, log
    assert "interrupted after" in rest, log
    best = int(re.search(r"wrote .* \(best epoch (\d+), val_acc ([0-9.]+), interrupted\)", rest).group(1))
    # the best epoch is the first with the highest validation accuracy of those finished
    rows = [r.split(",") for r in (d / "interrupted.csv").read_text().splitlines()[1:]]
    accs = [float(r[4]) for r in rows]
    assert len(rows) >= 3 and best == 1 + accs.index(max(accs)), (best, accs)
    r = run(["classify", "--model", str(out)], '{"id": 1, "source": "import pandas as pd"}\n')
    assert r.returncode == 0 and json.loads(r.stdout)["id"] == 1, r.stderr


def slow_weak(d):
    """Weak labels for a run whose first epoch takes seconds (wide layers, batch 1)."""
    weak = d / "slow-weak.jsonl"
    if not weak.exists():
        lines = []
        for k in range(1500):
            stage = KEYS[k % 6]
            src = PROTOTYPES[stage][k % 3] + f"\nv{k} = {k}"
            lines.append({"id": f"nb{k % 7}.ipynb#{k}", "stage": stage, "source": src})
        weak.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return weak


def catches_sigint(p, timeout=60):
    """True once process P has a SIGINT handler of its own (bit 2 of SigCgt in
    /proc/PID/status), False if it ends or TIMEOUT passes first."""
    import signal
    import time
    deadline = time.monotonic() + timeout
    while p.poll() is None and time.monotonic() < deadline:
        status = Path(f"/proc/{p.pid}/status").read_text()
        cgt = int(re.search(r"^SigCgt:\s*([0-9a-f]+)", status, re.M).group(1), 16)
        if cgt >> (signal.SIGINT - 1) & 1:
            return True
        time.sleep(0.005)
    return False


def start_slow_train(d, out, extra=()):
    return subprocess.Popen([str(BIN), "train", "--embed", "256", "--hidden", "128", "--batch", "1",
                             "--epochs", "100000", "--patience", "100000", "--threads", "1",
                             *extra, "-o", str(out), str(slow_weak(d))],
                            stderr=subprocess.PIPE, text=True)


def test_ctrl_c_in_the_first_epoch_writes_nothing(tiny):
    """Ctrl-C before the first epoch has ended: there are no validated weights to keep.
    Writing the part-epoch weights (as it did, exit 0, 'best epoch 0, val_acc nan')
    replaced the user's earlier model with an untrained one; now the old file stays,
    the message says so, and the exit code is 2."""
    import signal
    d, _ = tiny
    out = d / "earlier.nbsm"
    out.write_bytes(b"an earlier model")
    p = start_slow_train(d, out)
    seen = []
    while not seen or "training cells" not in seen[-1]:  # the training starts after it
        seen.append(p.stderr.readline())
        assert seen[-1], "".join(seen)
    # The handler is set a few ms later, just before the first epoch (which lasts
    # seconds): wait for it, as a fixed 0.5 s was once too short under ASan on a
    # loaded machine (the signal's default action ended the run, with no message).
    if not catches_sigint(p):
        p.kill()
        pytest.fail("train set no SIGINT handler:\n" + "".join(seen) + rest_of_stderr(p, 60))
    p.send_signal(signal.SIGINT)
    rest = rest_of_stderr(p, 120)
    log = "".join(seen) + rest
    assert "epoch 1/100000: interrupted after" in rest, log
    assert p.returncode == 2 and f"no model written ({out} left as it was)" in rest, log
    assert out.read_bytes() == b"an earlier model"


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_sigterm_keeps_the_best_weights_as_ctrl_c_does(tiny, signame):
    """A batch scheduler's time limit sends SIGTERM: like Ctrl-C, it stops after the
    current batch and writes the best finished epoch (it killed the run, nothing
    written, exit -15).  A closed terminal or a dropped ssh session sends SIGHUP, which
    killed the run as well."""
    import signal
    d, _ = tiny
    out = d / f"terminated-{signame}.nbsm"
    p = start_slow_train(d, out, ["--embed", "16", "--hidden", "8", "--batch", "64"])
    seen = []
    while not seen or not seen[-1].startswith("epoch 2/"):
        seen.append(p.stderr.readline())
        assert seen[-1], "".join(seen)
    p.send_signal(getattr(signal, signame))
    rest = rest_of_stderr(p, 120)
    log = "".join(seen) + rest
    assert p.returncode == 0 and "interrupted" in rest, log
    # the best of the epochs that finished: epochs this small (0.1 s) may finish a third
    # before the signal lands (seen in CI's sanitizer pass)
    m = re.search(r"wrote .* \(best epoch (\d+), val_acc [0-9.]+, interrupted\)", rest)
    finished = {int(e) for e in re.findall(r"^epoch (\d+)/\d+: loss .* val_acc", log, flags=re.M)}
    assert m and int(m.group(1)) in finished and {1, 2} <= finished, log
    r = run(["classify", "--model", str(out)], '{"id": 1, "source": "df.head()"}\n')
    assert r.returncode == 0 and json.loads(r.stdout)["stage"] in KEYS, r.stderr


def test_a_reader_that_goes_away_stops_nothing(tiny):
    """`nbstage train ... 2>&1 | head -4`, or a tee killed with its terminal: the next
    progress line met a pipe with no reader, and SIGPIPE killed the run, no model
    written.  Now the lines go unread and the model is written, exit 0."""
    d, _ = tiny
    out = d / "unread.nbsm"
    p = subprocess.Popen([str(BIN), "train", "--embed", "16", "--hidden", "8", "--epochs", "3",
                          "--batch", "64", "--threads", "1", "-o", str(out), str(slow_weak(d))],
                         stderr=subprocess.PIPE, text=True)
    first = p.stderr.readline()
    assert first, "no line at all"
    p.stderr.close()  # the reader goes; at least three epoch lines are still to come
    assert p.wait(timeout=120) == 0, p.returncode
    r = run(["classify", "--model", str(out)], '{"id": 1, "source": "df.head()"}\n')
    assert r.returncode == 0 and json.loads(r.stdout)["stage"] in KEYS, r.stderr


def test_an_ignored_ctrl_c_stays_ignored(tiny):
    """`nbstage train ... &` in a script, as any background job of a non-interactive
    shell, starts with SIGINT ignored, so that a Ctrl-C meant for the foreground
    leaves it alone.  train caught it anyway and stopped at the next batch;
    now a signal ignored at the start stays ignored (as tag's do), SIGTERM still stops."""
    import signal
    d, _ = tiny
    out = d / "background.nbsm"
    p = subprocess.Popen([str(BIN), "train", "--embed", "16", "--hidden", "8", "--epochs", "4",
                          "--patience", "100", "--batch", "64", "--threads", "1", "-o", str(out),
                          str(slow_weak(d))], stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    seen = []
    while not seen or not seen[-1].startswith("epoch 1/"):  # the handlers are set by then
        seen.append(p.stderr.readline())
        assert seen[-1], "".join(seen)
    status = Path(f"/proc/{p.pid}/status").read_text()
    ign, cgt = (int(re.search(rf"^{k}:\s*([0-9a-f]+)", status, re.M).group(1), 16) for k in ("SigIgn", "SigCgt"))
    p.send_signal(signal.SIGINT)
    rest = rest_of_stderr(p, 120)
    log = "".join(seen) + rest
    assert ign >> (signal.SIGINT - 1) & 1 and not cgt >> (signal.SIGINT - 1) & 1, log
    assert cgt >> (signal.SIGTERM - 1) & 1, log
    assert p.returncode == 0 and "interrupted" not in rest and "epoch 4/4" in rest, log


def test_shipped_model_is_found():
    shipped = ROOT / "share" / "default.nbsm"
    if not shipped.exists():
        pytest.skip("share/default.nbsm not built yet")
    env = {k: v for k, v in os.environ.items() if k != "NBSTAGE_MODEL"}
    r = subprocess.run([str(BIN), "classify"], input='{"id": 1, "source": "import pandas as pd"}\n',
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["stage"] == "imports"



def test_a_checkout_uses_its_own_share_not_its_parents(tmp_path):
    """A checkout's ./nbstage looked for ../share/nbstage/ first: with the checkout in
    ~/nbstage and an earlier `make install PREFIX=$HOME`, it took that installed model
    (or, here, a broken file) over its own share/, without a word.  Only a program in a
    folder named bin (PREFIX/bin) takes ../share/nbstage first."""
    tree = tmp_path / "nbstage"
    (tree / "nbformat").mkdir(parents=True)
    (tree / "share").mkdir()
    (tree / "nbformat" / "sharefile.h").write_text("")  # the source tree's mark
    shutil.copy(BIN, tree / "nbstage")
    shutil.copy(ROOT / "share" / "default.nbsm", tree / "share" / "default.nbsm")
    (tmp_path / "share" / "nbstage").mkdir(parents=True)
    (tmp_path / "share" / "nbstage" / "default.nbsm").write_text("not a model\n")
    env = {k: v for k, v in os.environ.items() if k != "NBSTAGE_MODEL"}
    r = subprocess.run([str(tree / "nbstage"), "classify"], input='{"id": 1, "source": "import os"}\n',
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and json.loads(r.stdout)["stage"] == "imports", r.stderr
    # a checkout whose folder is named bin is a checkout all the same
    named_bin = tmp_path / "b" / "bin"
    shutil.copytree(tree, named_bin)
    (tmp_path / "b" / "share" / "nbstage").mkdir(parents=True)
    (tmp_path / "b" / "share" / "nbstage" / "default.nbsm").write_text("not a model\n")
    r = subprocess.run([str(named_bin / "nbstage"), "classify"], input='{"id": 1, "source": "import os"}\n',
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0 and json.loads(r.stdout)["stage"] == "imports", r.stderr
    # a program in PREFIX/bin takes PREFIX/share/nbstage, not a source tree around it
    (tmp_path / "bin").mkdir()
    shutil.copy(BIN, tmp_path / "bin" / "nbstage")
    r = subprocess.run([str(tmp_path / "bin" / "nbstage"), "classify", "--help"], capture_output=True, text=True,
                       env=env, timeout=60)
    assert str(tmp_path / "share" / "nbstage" / "default.nbsm") in r.stdout, r.stdout


@pytest.mark.plain_build_only  # reads the whole corpus: the sanitizer pass reads it elsewhere
@pytest.mark.skipif(not (ROOT.parent / "shared" / "corpus").is_dir(), reason="../shared/corpus is not here")
def test_the_shipped_model_scores_no_worse_than_measured(tmp_path):
    """share/default.nbsm on the hand labels, as `make model` and the README score it:
    dev.tsv (88.6% / 0.886 on 2026-12-04; the goal is 88% and macro-F1 0.86) and the
    never-read held-out file of tests/labels (84.8%), each at least the measured figure
    less a third of a point.  Nothing else checked the shipped model's accuracy: a worse
    file committed, or a change to the words or the context that the CLI and the kernel
    share (so that they would still agree), showed nowhere.  Ingesting the corpus and
    scoring take a few seconds."""
    shared = ROOT.parent / "shared"
    env = {k: v for k, v in os.environ.items() if k != "NBSTAGE_MODEL"}
    cells = tmp_path / "cells.jsonl"
    r = subprocess.run([str(BIN), "ingest", "-q", "-o", str(cells), str(shared / "corpus")],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    for gold, acc_floor, f1_floor in ((shared / "labeled" / "dev.tsv", 0.883, 0.86),
                                      (ROOT / "tests" / "labels" / "unseen-held-out.tsv", 0.845, 0.85)):
        r = subprocess.run([str(BIN), "eval", "--model", str(ROOT / "share" / "default.nbsm"), "--gold", str(gold),
                            str(cells)], capture_output=True, text=True, env=env, timeout=300)
        assert r.returncode == 0, r.stderr
        m = re.search(r"^accuracy ([0-9.]+), macro-F1 ([0-9.]+) over (\d+) cells", r.stdout, re.M)
        assert m and int(m.group(3)) > 900, r.stdout
        acc, f1 = float(m.group(1)), float(m.group(2))
        assert acc >= acc_floor and f1 >= f1_floor, f"{gold.name}: {acc:.4f} / {f1:.4f}, under {acc_floor} / {f1_floor}"


def test_windows_line_ends_read_as_the_same_code(tmp_path):
    """A notebook saved with "\\r\\n" in its sources is the same code as with "\\n": every
    cell gets the same stage and probabilities, each cell after the one before it too
    (the shipped model reads the last lines of the cell before).  Under Keras' split "\\r"
    was a word of its own (it is in the shipped model's vocabulary) or stuck to the word
    before it: a corpus notebook turned to "\\r\\n" had 27 of its 30 cells read otherwise.
    Old Mac line ends ("\\r" alone, which Python reads as line ends) too: a cell that
    began with a comment was read as all comment, "empty or comments only", and `tag`
    removed its stage."""
    shipped = ROOT / "share" / "default.nbsm"
    if not shipped.exists():
        pytest.skip("share/default.nbsm not built yet")
    srcs = ["import pandas as pd\nimport numpy as np\n",
            "ids = [\n'a',\n'b',\n'c',\n'd'\n]\n",
            "# load the data\ndf = pd.read_csv('train.csv')\ndf = df.dropna()\n",
            "df.head()\n", "X = df.drop(columns=['y'])\ny = df['y']\n",
            "model.fit(X, y)\n", "print(accuracy_score(y, model.predict(X)))\n"]
    answers = {}
    for name, eol in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")):
        nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {},
              "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None,
                         "outputs": [], "source": s.replace("\n", eol)} for i, s in enumerate(srcs)]}
        path = tmp_path / f"{name}.ipynb"
        path.write_text(json.dumps(nb))
        r = run(["classify", "--model", str(shipped), "--json", str(path)])
        assert r.returncode == 0, r.stderr
        answers[name] = [(a["stage"], a["probabilities"]) for a in map(json.loads, r.stdout.splitlines())]
    assert "\\r\\n" in (tmp_path / "crlf.ipynb").read_text()  # JSON's escape of "\r\n"
    assert len(answers["lf"]) == len(srcs) and answers["crlf"] == answers["lf"] == answers["cr"]
    assert all(stage for stage, _ in answers["cr"]), answers["cr"]


def test_train_uses_openblas_kernels_for_this_cpu(tiny):
    """Debian's OpenBLAS 0.3.21 falls back to SSE3 'Prescott' kernels on CPUs newer than
    it knows; `nbstage train` re-executes itself with OPENBLAS_CORETYPE set then, and a
    user's own OPENBLAS_CORETYPE is left alone."""
    d, _ = tiny
    weak = d / "weak.jsonl"
    args = ["train", "--embed", "8", "--hidden", "4", "--epochs", "1", "--val-split", "0.2",
            "-o", str(d / "core.nbsm"), str(weak)]
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    r = subprocess.run([str(BIN)] + args, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    core = re.search(r"OpenBLAS (\S+) kernels", r.stderr).group(1)
    flags = open("/proc/cpuinfo").read()
    if " avx512f" in flags and " avx512bw" in flags:
        assert core not in ("Prescott", "Core2", "Nehalem"), core
    r = subprocess.run([str(BIN)] + args, capture_output=True, text=True, timeout=120,
                       env=dict(env, OPENBLAS_CORETYPE="Haswell"))
    assert r.returncode == 0 and "OpenBLAS Haswell kernels" in r.stderr, r.stderr


@pytest.mark.plain_build_only  # installs the plain build's programs with make
def test_make_install_runs_from_its_prefix_alone(tmp_path):
    """`make install PREFIX=P` gives programs that find their model under P/share/nbstage
    (never in this source tree), a kernelspec that starts the installed kernel, and
    `make uninstall` takes it all away again.  PREFIX is given with a trailing slash, as
    tab completion writes it: its DATADIR check compared "P//share" with "P/share"."""
    shipped = ROOT / "share" / "default.nbsm"
    if not shipped.exists():
        pytest.skip("share/default.nbsm not built yet")
    prefix = tmp_path / "prefix"
    mk = ["make", "-s", "-C", str(ROOT), f"PREFIX={prefix}/"]
    # the programs and objects make test built (NBSTAGE_B, the Makefile's B), or a work
    # tree's own build folder (make B=x BIN=x); never objects built again in the sources
    if "NBSTAGE_BIN" in os.environ:
        b = os.environ.get("NBSTAGE_B", os.environ["NBSTAGE_BIN"])
        if Path(b).resolve() == ROOT:  # the tree's own programs (NBSTAGE_BIN=.): its build folder
            b = str(ROOT / "build")
        mk += [f"BIN={os.environ['NBSTAGE_BIN']}", f"B={b}"]
    r = subprocess.run(mk + ["install"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    nbstage = prefix / "bin" / "nbstage"
    for f in [nbstage, prefix / "bin" / "nbstage-kernel"]:
        assert os.access(f, os.X_OK), f
    model = prefix / "share" / "nbstage" / "default.nbsm"
    assert model.read_bytes() == shipped.read_bytes()
    assert (prefix / "share" / "nbstage" / "rules.txt").exists()

    env = {k: v for k, v in os.environ.items() if k not in ("NBSTAGE_MODEL", "NBSTAGE_SHARED")}
    h = subprocess.run([str(nbstage), "classify", "--help"], capture_output=True, text=True,
                       env=env, cwd=tmp_path, timeout=30)
    assert f"the shipped one, {model}" in " ".join(h.stdout.split()), h.stdout  # (the path on a line of its own)
    h = subprocess.run([str(prefix / "bin" / "nbstage-kernel"), "--help"], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=30)
    assert f"the shipped one, {model})" in " ".join(h.stdout.split()), h.stdout  # (said share/default.nbsm)
    r = subprocess.run([str(nbstage), "classify"], input='{"id": 1, "source": "import pandas as pd"}\n',
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 0 and json.loads(r.stdout)["stage"] == "imports", r.stderr

    # the kernelspec written by the installed program names the installed kernel
    jp = tmp_path / "jupyter"
    r = subprocess.run([str(nbstage), "install-kernel", "--prefix", str(jp)], capture_output=True,
                       text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    spec = json.loads((jp / "share" / "jupyter" / "kernels" / "nbstage" / "kernel.json").read_text())
    assert spec["argv"][0] == str(prefix / "bin" / "nbstage-kernel"), spec["argv"]

    # without its model, the installed program says so, and nothing is read elsewhere
    model.unlink()
    r = subprocess.run([str(nbstage), "classify"], input='{"id": 1, "source": "x = 1"}\n',
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 2 and "no model" in r.stderr and r.stdout == "", r.stderr

    # nor in a share folder that is not nbstage's: PREFIX/share or the one above
    # (/usr/local/share, /usr/share for /usr/local/bin), where other packages put files
    for decoy in (prefix / "share", tmp_path / "share"):
        decoy.mkdir(exist_ok=True)
        shutil.copy(shipped, decoy / "default.nbsm")
        shutil.copy(ROOT / "share" / "rules.txt", decoy / "rules.txt")
    r = subprocess.run([str(nbstage), "classify"], input='{"id": 1, "source": "x = 1"}\n',
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 2 and "no model" in r.stderr and r.stdout == "", r.stderr
    (prefix / "share" / "nbstage" / "rules.txt").unlink()
    env_rules = {k: v for k, v in env.items() if k != "NBSTAGE_RULES"}
    r = subprocess.run([str(nbstage), "label"], input='{"id": "a#0", "source": "import os"}\n',
                       capture_output=True, text=True, env=env_rules, cwd=tmp_path, timeout=60)
    assert r.returncode == 2 and "no default rule file" in r.stderr, r.stdout + r.stderr
    for decoy in (prefix / "share", tmp_path / "share"):
        (decoy / "default.nbsm").unlink()
        (decoy / "rules.txt").unlink()

    # a user's own file beside the shipped ones stays (uninstall was rm -rf of the folder)
    mine = prefix / "share" / "nbstage" / "mine.nbsm"
    mine.write_text("a user's model\n")
    r = subprocess.run(mk + ["uninstall"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stdout + r.stderr
    assert not (prefix / "bin" / "nbstage").exists()
    assert sorted(p.name for p in (prefix / "share" / "nbstage").iterdir()) == ["mine.nbsm"]
    mine.unlink()
    r = subprocess.run(mk + ["uninstall"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == "", r.stdout + r.stderr
    assert not (prefix / "share" / "nbstage").exists()


def _read_fifo(path):
    """Starts a reader of the FIFO at PATH; returns a function giving all it read."""
    import threading
    got = []
    t = threading.Thread(target=lambda: got.append(Path(path).read_bytes()), daemon=True)
    t.start()
    return lambda: (t.join(60), got[0])[1]


def test_outputs_into_a_device_or_fifo_are_written_not_replaced(tiny, tmp_path):
    """`-o /dev/null` must not replace /dev/null with a file: ingest's lines and train's
    model go into a FIFO (and, as root, a device node) as a shell's `>` would put them,
    and the node stays what it was; a folder is refused by name."""
    d, _ = tiny
    nb = tmp_path / "n.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "metadata": {},
                                         "outputs": [], "source": "df.head()"}],
                              "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = _read_fifo(fifo)
    r = run(["ingest", "-q", "-o", str(fifo), str(nb)])
    assert r.returncode == 0, r.stderr
    assert json.loads(done())["id"] == "n.ipynb#0"
    done = _read_fifo(fifo)
    r = run(["train", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1",
             "-o", str(fifo), str(d / "weak.jsonl")])
    assert r.returncode == 0, r.stderr
    b = done()
    assert b[:8] == b"NBSMODL\n" and struct.unpack_from("<Q", b, 16)[0] == len(b)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and sorted(os.listdir(tmp_path)) == ["fifo", "n.ipynb"]
    if os.geteuid() == 0:  # a character device like /dev/null (mknod needs root)
        null = tmp_path / "null"
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        for args in (["ingest", "-q", "-o", str(null), str(nb)],
                     ["train", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1",
                      "-o", str(null), str(d / "weak.jsonl")]):
            r = run(args)
            assert r.returncode == 0, r.stderr
            assert stat.S_ISCHR(os.lstat(null).st_mode), args[0]
        assert sorted(os.listdir(tmp_path)) == ["fifo", "n.ipynb", "null"]
    r = run(["ingest", "-q", "-o", str(tmp_path), str(nb)])
    assert r.returncode == 2 and f"{tmp_path}: is a directory, not a file to write" in r.stderr, r.stderr
    r = run(["train", "--epochs", "1", "-o", str(tmp_path), str(d / "weak.jsonl")])
    assert r.returncode == 2 and f"{tmp_path}: is a directory, not a file to write" in r.stderr, r.stderr


def test_inputs_that_cannot_be_read_are_named_with_the_reason(tiny, tmp_path):
    """A hand-label or rules file that is missing said only "cannot open" (no reason,
    where the cells' files said "No such file or directory"); a folder given as the
    hand labels was read as an empty file ("none of the 0 hand-labeled cells of DIR is
    in ..."), as --rules it was a bare "read error", and as train's or eval's cells a
    "read error" without the reason.  Each now names the file and why, exit 2."""
    d, model = tiny
    gold, cells, weak = d / "rd-gold.tsv", d / "rd-cells.jsonl", d / "weak.jsonl"
    gold.write_text("cell_id\tlabel\na#0\tload\n")
    cells.write_text(json.dumps({"id": "a#0", "source": "df = pd.read_csv(p)"}) + "\n")
    missing, folder = tmp_path / "no-such.tsv", tmp_path
    for path, why in ((missing, "No such file or directory"), (folder, "is a directory, not a")):
        for args in (["eval", "--model", str(model), "--gold", str(path), str(cells)],
                     ["label", "-q", "--gold", str(path), "-o", str(d / "rd-weak.jsonl"), str(cells)],
                     ["label", "-q", "--rules", str(path), "-o", str(d / "rd-weak.jsonl"), str(cells)],
                     ["eval", "--model", str(model), "--gold", str(gold), str(path)],
                     ["train", "-q", "--epochs", "1", "-o", str(d / "rd.nbsm"), str(path)],
                     ["train", "-q", "--epochs", "1", "--cells", str(path), "-o", str(d / "rd.nbsm"), str(weak)]):
            r = run(args)
            assert r.returncode == 2 and f"{path}: " in r.stderr and why in r.stderr, (args, r.stderr)
    # "--gold -" said "-: cannot open: No such file or directory"
    for args in (["eval", "--model", str(model), "--gold", "-", str(cells)],
                 ["label", "-q", "--gold", "-", "-o", str(d / "rd-weak.jsonl"), str(cells)]):
        r = run(args, gold.read_text())
        assert r.returncode == 2 and r.stderr == f"nbstage {args[0]}: --gold -: the hand labels are read from a " \
            "file, not standard input (./- names a file called -)\n", (args, r.stderr)
    r = run(["label", "-q", "--rules", "-", "-o", str(d / "rd-weak.jsonl"), str(cells)], "rule x load /x/\n")
    assert r.returncode == 2 and r.stderr == "nbstage label: --rules -: rules are read from a file, not standard " \
        "input (./- names a file called -)\n", r.stderr
    fd = os.open(folder, os.O_RDONLY)
    try:
        r = subprocess.run([str(BIN), "classify", "--model", str(model)], stdin=fd, capture_output=True, text=True,
                           timeout=60)
    finally:
        os.close(fd)
    # <stdin>, as label, train and eval name it (classify said "stdin"); a file that
    # opens but cannot be read gives its reason (it said only "read error")
    assert r.returncode == 2 and r.stderr == "nbstage classify: <stdin>: read error: Is a directory\n", r.stderr
    r = run(["classify", "--model", str(model), "/proc/self/mem"])  # a regular file; reading it is EIO
    assert r.returncode == 2 and r.stderr == "nbstage classify: /proc/self/mem: read error: Input/output error\n", r.stderr
    # an empty --cells file is read (qsort was given its NULL array: UBSan stopped it)
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "ids.jsonl").write_text('{"id": "a#0", "stage": "load"}\n{"id": "b#0", "stage": "prep"}\n')
    r = run(["train", "-q", "--epochs", "1", "--cells", str(tmp_path / "empty.jsonl"), "-o", str(d / "rd.nbsm"),
             str(tmp_path / "ids.jsonl")])
    assert r.returncode == 2 and "0 usable cells" in r.stderr and "runtime error" not in r.stderr, r.stderr


def test_a_fifo_or_folder_given_as_an_input_is_refused_at_once(tiny, tmp_path):
    """Every file read by a path the user gave is opened without waiting and refused
    unless a regular file (nb_fopen_input, as notebooks are): a FIFO no one writes to as
    the model (--model, NBSTAGE_MODEL, install-kernel's --model), the rules (--rules,
    NBSTAGE_RULES), the hand labels, the cells or weak labels, --votes or --truth made
    the run wait for a writer for ever (refused, if at all, once one came).  Each is now
    refused at once, named with "not a regular file", exit 2 as a missing one; a folder
    is named as one (here where the test above does not give one).  The runs' short
    timeout fails the test instead of hanging it; label runs without the shipped rules
    where it can, which the sanitizer build takes a second to compile."""
    d, model = tiny
    gold, cells, weak = d / "ff-gold.tsv", d / "ff-cells.jsonl", d / "weak.jsonl"
    gold.write_text("cell_id\tlabel\na#0\tload\n")
    cells.write_text(json.dumps({"id": "a#0", "source": "df = pd.read_csv(p)"}) + "\n")
    votes = tmp_path / "votes.tsv"
    votes.write_text("0\t1\n1\t1\n")
    fifo, folder = tmp_path / "fifo.jsonl", tmp_path / "dir.jsonl"  # classify reads a *.jsonl as cells
    os.mkfifo(fifo)
    folder.mkdir()
    label = ["label", "-q", "--no-default-rules", "-o", str(tmp_path / "out")]
    train = ["train", "-q", "--epochs", "1", "-o", str(tmp_path / "out")]
    for path, why in ((fifo, "not a regular file"), (folder, "is a directory, not a")):
        p = str(path)
        for args, env, folder_too in (
                (["classify", "--model", p, str(cells)], None, True),
                (["classify", str(cells)], {"NBSTAGE_MODEL": p}, True),
                (["classify", "--model", str(model), p], None, True),
                ([*label, "--rules", p, str(cells)], None, False),
                (["label", "-q", "-o", str(tmp_path / "out"), str(cells)], {"NBSTAGE_RULES": p}, True),
                ([*label, "--gold", p, str(cells)], None, False),
                ([*label, p], None, True),
                (["label", "-q", "--votes", p], None, True),
                (["label", "-q", "--votes", str(votes), "--truth", p], None, True),
                ([*train, p], None, False),
                ([*train, "--cells", p, str(weak)], None, False),
                (["eval", "--model", str(model), "--gold", p, str(cells)], None, False),
                (["eval", "--model", str(model), "--gold", str(gold), p], None, False),
                (["eval", "--predictions", "--gold", str(gold), p], None, True)):
            if path == folder and not folder_too:
                continue
            r = subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
                               env=dict(os.environ, **env) if env else None)
            said = f"NBSTAGE_MODEL={p}: " if env and "NBSTAGE_MODEL" in env else f"{p}: "
            assert r.returncode == 2 and f"{said}{why}" in r.stderr, (args, env, r.stderr)
    # install-kernel reads the model it is given to warn of one the kernel cannot read
    r = subprocess.run([str(BIN), "install-kernel", "--prefix", str(tmp_path / "p"), "--model", str(fifo)],
                       capture_output=True, text=True, timeout=10, env=dict(os.environ, HOME=str(tmp_path)))
    assert r.returncode == 0 and f"{fifo}: not a regular file" in r.stderr, r.stderr


def test_a_missing_or_extra_argument_is_named(tiny):
    """train without -o or without WEAK.jsonl, eval without --gold, label or classify
    given two inputs: each printed its whole --help and nothing else, leaving the user
    to find what was wrong (ingest says "no PATH given").  Now the first line says it."""
    d, model = tiny
    weak, gold = str(d / "weak.jsonl"), str(d / "arg-gold.tsv")
    (d / "arg-gold.tsv").write_text("cell_id\tlabel\na#0\tload\n")
    cases = [(["train", weak], "nbstage train: no -o MODEL.nbsm given"),
             (["train", "-o", str(d / "x.nbsm")], "nbstage train: no WEAK.jsonl given"),
             (["train", "-o", str(d / "x.nbsm"), weak, weak], "nbstage train: one WEAK.jsonl, not 2 files"),
             (["eval", "--model", str(model), weak], "nbstage eval: no --gold LABELS.tsv given"),
             (["eval", "--model", str(model), "--gold", gold], "nbstage eval: no CELLS.jsonl given"),
             (["eval", "--model", str(model), "--gold", gold, weak, weak], "nbstage eval: one CELLS.jsonl, not 2 files"),
             (["eval", "--predictions", "--model", str(model), "--gold", gold, weak],
              "nbstage eval: --predictions scores the file's own stages: no --model with it"),
             (["label", weak, weak], "nbstage label: one CELLS.jsonl, not 2 files"),
             (["label", "--votes", weak, weak], "nbstage label: --votes reads MATRIX.tsv, not"),
             (["classify", "--model", str(model), weak, weak], "nbstage classify: one FILE, not 2 files")]
    for args, first in cases:
        r = run(args)
        assert r.returncode == 2 and r.stderr.startswith(first), (args, r.stderr[:200])
        assert "usage: nbstage" in r.stderr, args


def test_eval_checks_its_svg_before_scoring(tiny, tmp_path):
    """eval --svg into a folder that does not exist printed the whole report, then
    failed (exit 2) when it came to the picture; label and train check their outputs
    before the work.  Now eval does too: nothing on stdout."""
    d, model = tiny
    (d / "svg-cells.jsonl").write_text(json.dumps({"id": "a#0", "source": "df = pd.read_csv(p)"}) + "\n")
    (d / "svg-gold.tsv").write_text("cell_id\tlabel\na#0\tload\n")
    svg = tmp_path / "no-such-dir" / "cm.svg"
    for args in (["--model", str(model)], ["--predictions"]):
        r = run(["eval", *args, "--gold", str(d / "svg-gold.tsv"), "--svg", str(svg), str(d / "svg-cells.jsonl")])
        assert r.returncode == 2 and str(svg) in r.stderr and r.stdout == "", (args, r.stdout, r.stderr)


def test_train_says_what_a_bad_value_should_be(tiny):
    """`--val-split 1` (Keras' validation_split takes any fraction below 1) was refused
    with "bad value '1' for --val-split" and no word of what would do; the ranges are
    not in --help either.  The message now gives the range."""
    d, _ = tiny
    cases = [(["--val-split", "1"], "bad value '1' for --val-split: a number from 0 to 0.9"),
             (["--dropout", "1"], "bad value '1' for --dropout: a number from 0 to 0.99"),
             (["--epochs", "0"], "bad value '0' for --epochs: a whole number from 1 to 100000"),
             (["--targets", "probs"], "bad value 'probs' for --targets: soft or hard")]
    for args, msg in cases:
        r = run(["train", *args, "-o", str(d / "x.nbsm"), str(d / "weak.jsonl")])
        assert r.returncode == 2 and r.stderr == f"nbstage train: {msg}\n", (args, r.stderr)


def test_label_reads_stdin_from_dash(tiny):
    """label reads its cells from stdin when no file is given, and `-o -` writes to
    stdout, but `label -` (as `classify -` reads stdin) said "-: cannot open"."""
    d, _ = tiny
    cells = "".join(json.dumps({"id": f"s.ipynb#{i}", "notebook": "s.ipynb", "source": s}) + "\n"
                    for i, s in enumerate(["import os", "df = pd.read_csv(p)", "df.head()"]))
    want = run(["label", "-q"], cells)
    r = run(["label", "-q", "-o", "-", "-"], cells)
    assert want.returncode == 0 and r.returncode == 0, r.stderr
    assert r.stdout == want.stdout and len(r.stdout.splitlines()) == 3


def test_eval_and_label_with_a_gold_file_without_labels(tiny, tmp_path):
    """An empty hand-label file, or one with the header alone (a spreadsheet saved
    before the first row was typed): eval said "none of the 0 hand-labeled cells of
    FILE is in CELLS", as if the ids did not match; and gold.c gave qsort and bsearch
    their NULL array (UBSan stopped eval and label there).  eval now says the file has
    no labels; so does label (it exited 0 with a report of zeros), exit 2 for both,
    before any work, nothing written."""
    d, model = tiny
    cells = tmp_path / "cells.jsonl"
    cells.write_text(json.dumps({"id": "a#0", "source": "df = pd.read_csv(p)"}) + "\n")
    for name, text in (("empty.tsv", ""), ("header.tsv", "cell_id\tlabel\tsecondary\tconfidence\tnote\n"),
                       ("none.tsv", "a#0\tnone\n")):
        gold = tmp_path / name
        gold.write_text(text)
        r = run(["eval", "--model", str(model), "--gold", str(gold), str(cells)])
        assert r.returncode == 2 and r.stderr == f"nbstage eval: {gold}: no cell labeled with a stage\n", (name, r.stderr)
        r = run(["label", "-q", "--gold", str(gold), "-o", str(tmp_path / "weak.jsonl"), str(cells)])
        assert r.returncode == 2 and r.stderr == f"nbstage label: {gold}: no cell labeled with a stage\n", (name, r.stderr)
        assert not (tmp_path / "weak.jsonl").exists(), name


def test_a_gold_label_it_does_not_know_lists_the_keys(tiny, tmp_path):
    """A hand label outside the guide's keys ("Preprocessing", "Load") stopped eval and
    label with "unknown stage 'Preprocessing'" and no word of what the keys are, where
    train's message for a weak label lists them."""
    d, model = tiny
    cells = tmp_path / "cells.jsonl"
    cells.write_text(json.dumps({"id": "a#0", "source": "df = pd.read_csv(p)"}) + "\n")
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\tsecondary\na#0\tload\tPreprocessing\n")
    want = f"{gold}:2: unknown stage 'Preprocessing' (load prep train evaluate explore imports, or none)\n"
    for args in (["eval", "--model", str(model), "--gold", str(gold), str(cells)],
                 ["label", "-q", "--gold", str(gold), "-o", str(tmp_path / "w.jsonl"), str(cells)]):
        r = run(args)
        assert r.returncode == 2 and r.stderr == f"nbstage {args[0]}: {want}", (args, r.stderr)
    # a header under other names (pandas' "id<TAB>label") is said as a header, not as
    # a stage called "label"
    for header in ("id\tlabel", "cell\tstage\tsecondary"):
        gold.write_text(header + "\na#0\tload\n")
        want = f"{gold}:1: a header row must start with cell_id (cell_id<TAB>label...), or be left out\n"
        for args in (["eval", "--model", str(model), "--gold", str(gold), str(cells)],
                     ["label", "-q", "--gold", str(gold), "-o", str(tmp_path / "w.jsonl"), str(cells)]):
            r = run(args)
            assert r.returncode == 2 and r.stderr == f"nbstage {args[0]}: {want}", (args, r.stderr)


def test_ids_that_never_match_are_shown(tiny, tmp_path):
    """Hand labels made with ids relative to another folder than the one given to
    ingest (`ingest corpus` against labels that start with "corpus/"): eval said
    "none of the 2 hand-labeled cells of G is in C" and label "2 of 2 ... are not in the
    input", leaving the user to find out why.  Both now show an id of each side."""
    d, model = tiny
    cells = tmp_path / "cells.jsonl"
    cells.write_text("".join(json.dumps({"id": f"hw/a.ipynb#{i}", "source": s}) + "\n"
                             for i, s in enumerate(["import os", "df.head()"])))
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\ncorpus/hw/a.ipynb#0\timports\ncorpus/hw/a.ipynb#1\texplore\n")
    hint = "the hand labels' ids look like 'corpus/hw/a.ipynb#0', the cells' like 'hw/a.ipynb#0'"
    r = run(["eval", "--model", str(model), "--gold", str(gold), str(cells)])
    assert r.returncode == 2 and hint in r.stderr, r.stderr
    # label, as eval: the scoring asked for cannot happen, an error of --gold (exit 2,
    # as a bad row of it), said before the work; no weak labels written
    r = run(["label", "-q", "--gold", str(gold), "-o", str(tmp_path / "w.jsonl"), str(cells)])
    assert r.returncode == 2 and hint in r.stderr, r.stderr
    assert f"none of the 2 hand-labeled cells of {gold} is in {cells}" in r.stderr
    assert not (tmp_path / "w.jsonl").exists()


def test_eval_gold_saved_as_utf16_is_named_as_such(tiny, tmp_path):
    """Excel's "Unicode Text" export is UTF-16 with a byte-order mark: eval and label
    said "GOLD:1: expected at least 2 tab-separated fields", of a file that has them.
    Now they say what the file is and what to save it as."""
    d, model = tiny
    cells = tmp_path / "cells.jsonl"
    cells.write_text(json.dumps({"id": "a#0", "source": "import os"}) + "\n")
    for enc in ("utf-16", "utf-16-be"):
        gold = tmp_path / f"{enc}.tsv"
        body = "cell_id\tlabel\r\na#0\timports\r\n".encode(enc)
        gold.write_bytes(body if enc == "utf-16" else b"\xfe\xff" + body)
        want = f"{gold}: UTF-16 text (a spreadsheet's \"Unicode Text\"): save it as UTF-8\n"
        for args in (["eval", "--model", str(model), "--gold", str(gold), str(cells)],
                     ["label", "-q", "--gold", str(gold), "-o", str(tmp_path / "w.jsonl"), str(cells)]):
            r = run(args)
            assert r.returncode == 2 and r.stderr == f"nbstage {args[0]}: {want}", (enc, args, r.stderr)


def test_curves_given_as_a_file_name(tiny, tmp_path):
    """--curves takes a prefix; Keras' CSVLogger a file name, so `--curves curves.csv`
    wrote curves.csv.csv and curves.csv.svg.  A .csv or .svg ending is now dropped."""
    d, _ = tiny
    for given in ("curves.csv", "curves.svg", "curves"):
        out = tmp_path / given.replace(".", "-")
        out.mkdir()
        r = run(["train", "-q", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1",
                 "--curves", str(out / given), "-o", str(out / "m.nbsm"), str(d / "weak.jsonl")])
        assert r.returncode == 0, r.stderr
        assert sorted(p.name for p in out.iterdir()) == ["curves.csv", "curves.svg", "m.nbsm"], given


def test_curves_that_cannot_be_written_cost_no_model(tiny, tmp_path):
    """The curves are rewritten after every epoch.  One that could not be written (a
    full disk here: curves.csv is /dev/full) ended the training with "training failed"
    and no model, whatever epochs had finished.  It is now said once, the training goes
    on, the model is written, and the exit is 2 so that a script sees the curves are
    missing."""
    d, _ = tiny
    (tmp_path / "curves.csv").symlink_to("/dev/full")
    r = run(["train", "--embed", "8", "--hidden", "4", "--epochs", "3", "--patience", "3", "--threads", "1",
             "--curves", str(tmp_path / "curves"), "-o", str(tmp_path / "m.nbsm"), str(d / "weak.jsonl")])
    assert r.returncode == 2, r.stderr
    assert "No space left on device; no more learning curves are written, training goes on" in r.stderr, r.stderr
    assert "epoch 3/3" in r.stderr and "training failed" not in r.stderr, r.stderr
    assert f"{tmp_path / 'm.nbsm'} is written, but its learning curves are not" in r.stderr, r.stderr
    c = run(["classify", "--model", str(tmp_path / "m.nbsm"), "-"], stdin='{"id": "a#0", "source": "x = 1"}\n')
    assert c.returncode == 0 and c.stdout.strip(), c.stderr


def test_context_without_the_cells_is_refused(tiny, tmp_path):
    """`train --context` on weak lines that carry their own source, without --cells,
    trained every cell as a notebook's first (no lines before it) while its log said
    "each cell after its predecessor's last lines"; classify, tag and the kernel then
    read each cell after its predecessor.  It is refused before any work."""
    d, _ = tiny
    r = run(["train", "--context", "--epochs", "1", "-o", str(tmp_path / "m.nbsm"), str(d / "weak.jsonl")])
    assert r.returncode == 2 and "--context needs --cells" in r.stderr, r.stderr
    assert not (tmp_path / "m.nbsm").exists()


def test_eval_quiet_still_says_gold_cells_not_found(tmp_path):
    """`eval -q` printed the accuracy line alone, which then passed for a score of every
    hand-labeled cell when some were not in the cells given (without -q the "gold:"
    line says how many).  The count now goes to stderr."""
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\na#0\tload\na#1\tprep\nb#0\ttrain\n")
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"id": "a#0", "stage": "load"}) + "\n" + json.dumps({"id": "a#1", "stage": "prep"}) + "\n")
    r = run(["eval", "-q", "--predictions", "--gold", str(gold), str(preds)])
    assert r.returncode == 0 and r.stdout == "accuracy 1.0000, macro-F1 1.0000 over 2 cells\n", r.stdout
    assert r.stderr == f"nbstage eval: 1 of the 3 cells labeled in {gold} are not in {preds}: scored without them " \
                       f"(the first, {gold}:4: b#0)\n"
    preds.write_text(preds.read_text() + json.dumps({"id": "b#0", "stage": "train"}) + "\n")
    r = run(["eval", "-q", "--predictions", "--gold", str(gold), str(preds)])
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_hand_labeled_cells_not_found_are_named_by_the_first(tmp_path):
    """`eval` and `label --gold` said how many hand-labeled cells were not among the
    cells ("2 of 4 ... are not in cells.jsonl"), not which: a mistyped id, or one of a
    notebook left out of the ingest, had to be found by hand among the rows.  They name
    the first in the file now, with its line (rows labeled none are not missed)."""
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\na#0\tload\nz#9\tnone\nb#7\ttrain\na#1\tprep\nb#3\ttrain\n")
    cells = tmp_path / "cells.jsonl"
    cells.write_text(json.dumps({"id": "a#0", "source": "df = pd.read_csv('a.csv')", "stage": "load"}) + "\n" +
                     json.dumps({"id": "a#1", "source": "df = df.dropna()", "stage": "prep"}) + "\n")
    r = run(["eval", "--predictions", "--gold", str(gold), str(cells)])
    assert r.returncode == 0 and f"gold: {gold}: 4 cells labeled, 1 labeled none (left out), 2 not in {cells} " \
                                 "(the first, line 4: b#7)\n" in r.stdout, r.stdout
    r = run(["label", "-q", "--gold", str(gold), "-o", str(tmp_path / "w.jsonl"), str(cells)])
    assert r.returncode == 0 and f"nbstage label: 2 of 4 hand-labeled cells are not in {cells} " \
                                 f"(the first, {gold}:4: b#7)\n" in r.stderr, r.stderr


def test_eval_predictions_without_a_stage_field_are_refused(tiny, tmp_path):
    """`eval --predictions` on ingest's cells (no "stage" at all, the wrong file) scored
    every cell as a miss: "accuracy 0.0000", exit 0.  A line without "stage" now stops
    it with its line, as a missing "source" does without --predictions; "stage": null
    (label's abstention) and classify's error lines are still no prediction."""
    d, _ = tiny
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\na#0\tload\na#1\tprep\n")
    cells = tmp_path / "cells.jsonl"
    cells.write_text("".join(json.dumps({"id": f"a#{i}", "source": s}) + "\n"
                             for i, s in enumerate(["df = pd.read_csv(p)", "df = df.dropna()"])))
    r = run(["eval", "--predictions", "--gold", str(gold), str(cells)])
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert f"{cells}:1: no \"stage\"" in r.stderr, r.stderr
    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"id": "a#0", "stage": None}) + "\n" + json.dumps({"id": "a#1", "error": "bad"}) + "\n")
    r = run(["eval", "--predictions", "--gold", str(gold), str(preds)])
    assert r.returncode == 0 and "coverage 0.0000" in r.stdout, r.stderr
    # a class index (as scikit-learn's predict gives), true or a list was scored as no
    # prediction, "accuracy 0.0000", exit 0: it is refused with its line, as train does
    for bad in (0, True, ["train"]):
        preds.write_text(json.dumps({"id": "a#0", "stage": "load"}) + "\n" + json.dumps({"id": "a#1", "stage": bad}) + "\n")
        r = run(["eval", "--predictions", "--gold", str(gold), str(preds)])
        assert r.returncode == 2 and r.stdout == "", (bad, r.stdout)
        assert f"{preds}:2: \"stage\" is not a stage key" in r.stderr, r.stderr


@pytest.mark.parametrize("cmd", ["ingest", "fmt", "label", "train", "eval", "classify", "tag", "summary",
                                 "install-kernel"])
def test_option_errors_name_the_command_as_every_message_does(cmd):
    """getopt names argv[0]: its errors read 'summary: unrecognized option' where every
    other message of the command begins 'nbstage summary:'.  install-kernel, which
    parses its own options, said 'unknown argument' instead: now worded as the others."""
    r = run([cmd, "--no-such-option"])
    assert r.returncode == 2
    assert r.stderr.startswith(f"nbstage {cmd}: unrecognized option '--no-such-option'"), r.stderr
    r = run(["help", cmd])
    assert r.returncode == 0 and f"usage: nbstage {cmd}" in r.stdout


@pytest.mark.parametrize("cmd", ["ingest", "label", "classify", "tag"])
def test_a_thread_count_beyond_int_is_refused(cmd, tmp_path):
    """ingest cast strtol's long to int before its range check: -j 4294967297 became
    1 and ran, where 0 or 257 are refused.  Every -j is now refused past its range
    (label, classify and tag already were), exit 2, before any work."""
    nb = tmp_path / "a.ipynb"
    nb.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    for j in ("4294967297", "99999999999999999999"):
        r = run([cmd, "-j", j, str(nb)] if cmd in ("ingest", "tag") else [cmd, "-j", j], "")
        assert r.returncode == 2 and r.stdout == "", (j, r.stdout, r.stderr)
        assert "-j" in r.stderr or "--jobs" in r.stderr, r.stderr


def test_a_model_given_to_a_mode_without_one_is_refused(tiny, tmp_path):
    """tag --from-outputs and summary --saved use no model, and dropped a --model given
    to them without a word (exit 0), where eval --predictions --model and label --votes
    --rules are refused: the user meant one of the two.  Now refused alike, exit 2,
    the notebook untouched."""
    _, model = tiny
    nb = tmp_path / "a.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "id": "c0",
                                         "metadata": {}, "outputs": [], "source": "import os"}],
                              "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n")
    before = nb.read_bytes()
    for args, says in ((["tag", "--from-outputs", "--model", str(model)], "nbstage tag: --from-outputs"),
                       (["tag", "--from-outputs", "-n", "-m", str(model)], "nbstage tag: --from-outputs"),
                       (["summary", "--saved", "--model", str(model)], "nbstage summary: --saved"),
                       (["summary", "-m", str(model), "--saved", "--json"], "nbstage summary: --saved")):
        r = run([*args, str(nb)])
        assert r.returncode == 2 and r.stdout == "", (args, r.stdout, r.stderr)
        assert r.stderr.startswith(says) and "no --model" in r.stderr, (args, r.stderr)
        assert nb.read_bytes() == before
    # each alone is as before
    assert run(["tag", "--from-outputs", "-n", str(nb)]).returncode == 0
    assert run(["summary", "--saved", str(nb)]).returncode == 0
    assert run(["summary", "--model", str(model), str(nb)]).returncode == 0


def test_an_unknown_command_suggests_the_close_one():
    """`nbstage tga` said only "unknown command 'tga'" and the list, and an option
    before the command (`nbstage -q tag`) was an "unknown command '-q'" too.  Now a
    typo or the start of a name gets the command meant (as git suggests one), a word
    near none gets none, and an option is said to go after its command; exit 2, the
    usage on stderr, nothing on stdout, as before."""
    cases = [(["tga"], "nbstage: unknown command 'tga'; did you mean 'tag'?\n"),
             (["lable", "x.jsonl"], "nbstage: unknown command 'lable'; did you mean 'label'?\n"),
             (["sumary"], "nbstage: unknown command 'sumary'; did you mean 'summary'?\n"),
             (["install"], "nbstage: unknown command 'install'; did you mean 'install-kernel'?\n"),
             (["help", "clasify"], "nbstage: unknown command 'clasify'; did you mean 'classify'?\n"),
             (["nope"], "nbstage: unknown command 'nope'\n"),
             (["x"], "nbstage: unknown command 'x'\n"),
             (["-q", "tag"], "nbstage: unknown option '-q' (a command's options go after it: "
                             "nbstage COMMAND [OPTIONS])\n")]
    for args, first in cases:
        r = run(args)
        assert r.returncode == 2 and r.stdout == "", (args, r.stdout)
        assert r.stderr.startswith(first) and "usage: nbstage COMMAND" in r.stderr, (args, r.stderr)


def test_read_only_commands_read_what_python_reads(tiny, tmp_path):
    """NaN in a cell's metadata (pandas' to_json writes it into outputs, Python's json
    reads it) and a key twice: classify and summary only read, as ingest does, so they
    read such a notebook (fmt and tag refuse it: they could not write it back)."""
    d, model = tiny
    nb = tmp_path / "nan.ipynb"
    nb.write_text('{"cells": [{"cell_type": "code", "execution_count": null, "metadata": {"x": NaN},'
                  ' "outputs": [], "source": "df.head()"}], "metadata": {"a": 1, "a": 2},'
                  ' "nbformat": 4, "nbformat_minor": 5}')
    r = run(["classify", "--model", str(model), str(nb)])
    assert r.returncode == 0, r.stderr
    k, stage, _ = r.stdout.split("\t")
    assert k == "0" and stage in KEYS
    for args in (["summary", "--model", str(model), "--json", str(nb)], ["summary", "--saved", "--json", str(nb)]):
        r = run(args)
        assert r.returncode == 0, (args, r.stderr)
        assert json.loads(r.stdout)["cells"][0]["index"] == 0
    r = run(["fmt", "--check", str(nb)])
    assert r.returncode == 2 and "NaN" in r.stderr


def _three_cells(tmp_path):
    """cells.jsonl of three cells of one notebook a.ipynb (imports, load, explore)."""
    cells = tmp_path / "cells.jsonl"
    cells.write_text("".join(json.dumps({"id": f"a.ipynb#{i}", "notebook": "a.ipynb", "source": s}) + "\n"
                             for i, s in enumerate(["import os", "df = pd.read_csv(p)", "df.head()"])))
    return cells


def test_a_stdout_that_cannot_be_written_is_named_with_the_reason(tiny, tmp_path):
    """label, eval and classify said "stdout: write error" and no more into a full disk
    or a closed stdout (ingest, tag, summary and fmt give the reason); classify also
    said it after "out of memory".  Each now says why, exit 2."""
    d, model = tiny
    cells = _three_cells(tmp_path)
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\na.ipynb#0\timports\n")
    votes = tmp_path / "votes.tsv"
    votes.write_text("0\t0\n1\t-1\n")
    nb = tmp_path / "n.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                                         "source": "df.head()"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    env = dict(os.environ, NBSTAGE_RULES=str(ROOT / "share" / "rules.txt"))
    cases = [(["label", "-q", str(cells)], "nbstage label"), (["label", "-q", "--votes", str(votes)], "nbstage label"),
             (["eval", "--model", str(model), "--gold", str(gold), str(cells)], "nbstage eval"),
             (["classify", "--model", str(model)], "nbstage classify"),
             (["classify", "--model", str(model), str(nb)], "nbstage classify"),
             (["classify", "--model", str(model), "--json", str(nb)], "nbstage classify")]
    for args, who in cases:
        for target, why in LOST_STDOUT:
            stdin = cells.read_text() if args[-1] == str(model) else None
            r = run_lost_stdout([BIN] + args, target, input=stdin, env=env)
            assert r.returncode == 2 and r.stderr == f"{who}: <stdout>: write error: {why}\n", (args, target, r.stderr)


def test_eval_reads_stdin_from_dash(tiny, tmp_path):
    """`nbstage label cells.jsonl | nbstage eval --predictions --gold G -` said
    "nbstage eval: -: cannot open: No such file or directory", where label, train and
    classify take '-' for standard input.  eval does too, naming it <stdin>; the
    scores are those of the same file given by name."""
    d, model = tiny
    cells = _three_cells(tmp_path)
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\na.ipynb#0\timports\na.ipynb#1\tload\n")
    env = dict(os.environ, NBSTAGE_RULES=str(ROOT / "share" / "rules.txt"))
    weak = subprocess.run([str(BIN), "label", "-q", str(cells)], capture_output=True, text=True, env=env, timeout=60)
    assert weak.returncode == 0, weak.stderr
    (tmp_path / "weak.jsonl").write_text(weak.stdout)
    for args, text in ((["--predictions"], weak.stdout), (["--model", str(model)], cells.read_text())):
        named = str(tmp_path / "weak.jsonl") if args == ["--predictions"] else str(cells)
        want = run(["eval", *args, "--gold", str(gold), named])
        r = run(["eval", *args, "--gold", str(gold), "-"], text)
        assert want.returncode == 0 and r.returncode == 0, (args, r.stderr)
        assert r.stdout == want.stdout.replace(named, "<stdin>"), (r.stdout, want.stdout)
    r = run(["eval", "--model", str(model), "--gold", str(gold), "-"], cells.read_text() + "{\n")
    assert r.returncode == 2 and r.stderr.startswith("nbstage eval: <stdin>:4: "), r.stderr


def test_a_dash_where_standard_output_is_not_taken_makes_no_file(tiny, tmp_path):
    """`train -o -`, `train --curves -`, `eval --errors -` / `--svg -` and `label
    --report -` / `--svg -` made a file named "-" (or "-.csv" and "-.svg"), exit 0,
    where ingest -o, label -o and summary --svg take '-' for standard output.  Each is
    now refused before any work, exit 2, nothing made; "./-" still names such a file."""
    d, model = tiny
    cells = _three_cells(tmp_path)
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\na.ipynb#0\timports\na.ipynb#1\tload\n")
    weak = d / "weak.jsonl"
    env = dict(os.environ, NBSTAGE_RULES=str(ROOT / "share" / "rules.txt"))
    small = ["--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1"]
    cases = [["train", *small, "-o", "-", str(weak)],
             ["train", *small, "-o", "m.nbsm", "--curves", "-", str(weak)],
             ["eval", "--model", str(model), "--gold", str(gold), "--errors", "-", str(cells)],
             ["eval", "--model", str(model), "--gold", str(gold), "--svg", "-", str(cells)],
             ["label", "-q", "--report", "-", "-o", "w.jsonl", str(cells)],
             ["label", "-q", "--gold", str(gold), "--svg", "-", "-o", "w.jsonl", str(cells)]]
    for args in cases:
        r = subprocess.run([str(BIN)] + args, cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.startswith(f"nbstage {args[0]}: ") and ("'-'" in r.stderr), (args, r.stderr)
        assert r.stdout == "", (args, r.stdout)
        made = sorted(p.name for p in tmp_path.iterdir() if p.name not in ("cells.jsonl", "gold.tsv"))
        assert made == [], (args, made)
    r = subprocess.run([str(BIN), "train", *small, "-o", "./-", str(weak)], cwd=tmp_path, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and (tmp_path / "-").read_bytes()[:8] == b"NBSMODL\n", r.stderr


def test_a_notebook_on_stdin_is_said_to_be_one(tiny, tmp_path):
    """`nbstage classify < analysis.ipynb` (a notebook where JSON Lines are read) said
    "111 bad input lines; the first, line 1: ..." and no more, leaving the user to
    guess.  When the first bad line is a lone '{' (a notebook as Jupyter saves it) or
    an object with "cells" or "nbformat" (one on a single line), the message now says
    it looks like a notebook and how one is given.  Exit code and answers unchanged;
    other bad lines get no such words."""
    _, model = tiny
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                     "source": ["import pandas as pd\n", "df = pd.read_csv('a.csv')"]},
                    {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    hint = ("(it looks like a notebook: JSON Lines are read here, one {\"id\", \"source\"} object a line; "
            "give a notebook as FILE, `nbstage classify NOTEBOOK.ipynb`, or make such lines of it with "
            "`nbstage ingest`)")
    saved = json.dumps(nb, indent=1) + "\n"
    for text, bad in ((saved, len(saved.splitlines())), (json.dumps(nb) + "\n", 1)):
        r = run(["classify", "--model", str(model)], text)
        assert r.returncode == 1 and len(r.stdout.splitlines()) == bad, (r.stdout, r.stderr)
        assert r.stderr.startswith(f"nbstage classify: <stdin>: {bad} bad input line"), r.stderr
        assert r.stderr.endswith(f" {hint}\n") and r.stderr.count("\n") == 1, r.stderr
        assert "notebook" not in r.stdout
    # a .jsonl file that holds a notebook: the same words
    f = tmp_path / "cells.jsonl"
    f.write_text(saved)
    r = run(["classify", "--model", str(model), str(f)])
    assert r.returncode == 1 and r.stderr.endswith(f" {hint}\n"), r.stderr
    # JSON Lines with bad lines, and a good line with a "cells" field: no such words
    text = ('{"id": "a", "source": "df.head()", "cells": 3}\n{"id": "b"}\nnot json\n{"cells": 1\n'
            '{"id": "c", "source": "import os", "nbformat": 4}\n')
    r = run(["classify", "--model", str(model)], text)
    assert r.returncode == 1 and "3 bad input lines; the first, line 2: " in r.stderr, r.stderr
    assert "notebook" not in r.stderr, r.stderr
    r = run(["classify", "--model", str(model)], '[\n{"id": "a", "source": "x = 1"}\n]\n')
    assert r.returncode == 1 and "notebook" not in r.stderr, r.stderr


def test_code_on_stdin_is_said_to_be_given_as_a_file(tiny):
    """`echo 'df.head()' | nbstage classify` (one cell of code where JSON Lines are
    read, while `classify cell.py` takes it) said only "'[' or '{' expected near 'df'".
    When the first bad line is not even begun as JSON, the message now says JSON Lines
    are read here and how a cell of code is given.  Exit code and answers unchanged;
    a bad line that is JSON, or begun as JSON, or a byte-order mark (its own words),
    gets no such hint."""
    _, model = tiny
    hint = ("(it is not JSON: JSON Lines are read here, one {\"id\", \"source\"} object a line; "
            "give a cell of code as FILE, `nbstage classify cell.py`)")
    for code in ("df.head()\n", "import pandas as pd\ndf = pd.read_csv('a.csv')\n", "  # a comment\n"):
        r = run(["classify", "--model", str(model)], code)
        n = len(code.splitlines())
        assert r.returncode == 1 and len(r.stdout.splitlines()) == n, (r.stdout, r.stderr)
        assert r.stderr.startswith(f"nbstage classify: <stdin>: {n} bad input line"), r.stderr
        assert r.stderr.endswith(f" {hint}\n") and r.stderr.count("\n") == 1, r.stderr
        assert "cell.py" not in r.stdout
    for text in ('{"id": "a"}\n', '{"id": "a", "source": \n', "[1, 2]\n", '"x"\n', "\ufeff" + '{"id": "a", "source": "x"}\n'):
        r = run(["classify", "--model", str(model)], text)
        assert r.returncode == 1 and "cell.py" not in r.stderr, (text, r.stderr)


def test_eval_with_no_prediction_at_all_reports_no_figures_of_nothing(tiny):
    """Every scored cell without a prediction (label's output with a --min-confidence
    nothing passes): the first line went on '(...; 0.0000 and 0.0000 over predicted
    ones)' and the report printed its header, no rows and averages of 0.000 over 0
    cells, where sklearn has no report to give.  Now both say no cell has one; the
    figures over all cells (misses) stay."""
    d, _ = tiny
    gold, preds = d / "null-gold.tsv", d / "null-preds.jsonl"
    gold.write_text("cell_id\tlabel\na#0\tload\na#1\tprep\n")
    preds.write_text('{"id": "a#0", "stage": null}\n{"id": "a#1", "stage": null}\n')
    r = run(["eval", "--predictions", "--gold", str(gold), str(preds)])
    assert r.returncode == 0, r.stderr
    assert "accuracy 0.0000, macro-F1 0.0000 over 2 cells (no cell has a prediction)\n" in r.stdout, r.stdout
    assert "\nno cell has a prediction: no classification report\n" in r.stdout, r.stdout
    assert "precision" not in r.stdout and "macro avg" not in r.stdout, r.stdout
    assert "unlabeled (no prediction): 2\n" in r.stdout, r.stdout


def test_eval_says_a_line_that_is_not_json_on_one_line(tiny, tmp_path):
    """jansson's reason quotes the bytes near the error as they are: a line cut after a
    backslash printed eval's message over two lines (the second naming no file), and an
    escape sequence in the line reached the terminal.  Label and train already passed
    the reason through nb_unctrl (6a21c05); eval now does too."""
    d, model = tiny
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\na#0\tload\n")
    for bad in (b'{"id": "n\\\n', b'{"id": "\x1b[2J\x07\n'):
        cells = tmp_path / "cells.jsonl"
        cells.write_bytes(bad)
        r = subprocess.run([str(BIN), "eval", "--model", str(model), "--gold", str(gold),
                            str(cells)], capture_output=True, timeout=60)
        err = r.stderr.decode("utf-8", "replace")
        assert r.returncode == 2, (bad, err)
        said = err.splitlines()
        assert len(said) == 1 and said[0].startswith(f"nbstage eval: {cells}:1: "), (bad, err)
        assert "\x1b" not in err and "\x07" not in err, (bad, err)


def test_classify_says_a_bad_line_on_one_line(tiny):
    """classify's summary on stderr quotes the first bad line's reason, which jansson
    takes from the bytes near the error as they are: a line cut after a backslash split
    it over two lines, and an escape sequence would reach the terminal.  The reason is
    now shown as label, train and eval show it (control characters as '?'), in the
    error answer on stdout too."""
    _, model = tiny
    r = subprocess.run([str(BIN), "classify", "--model", str(model)], input=b'{"id": "b\\\n{"id": "\x1b[2J\x07\n',
                       capture_output=True, timeout=60)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 1, err
    assert len(err.splitlines()) == 1 and "2 bad input lines; the first, line 1: invalid escape" in err, err
    assert "\x1b" not in err and "\x07" not in err, err
    answers = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert len(answers) == 2 and all(a["id"] is None for a in answers), answers
    assert "\n" not in answers[0]["error"] and "\x1b" not in answers[1]["error"], answers
