"""test_tag.py — `nbstage tag` and `nbstage summary` as users run them, on real files:
round trip and idempotence on ../shared/notebooks-with-outputs (diffs in tag lines
alone, Python's nbformat layout kept, a second run byte-identical), --check exit
codes, --dry-run, stale tags replaced, bad files reported and left untouched (bytes and
mtime), -o, -j 1 = -j 2, a kill at any moment leaving files old or new, --from-outputs
on a notebook executed through the stage kernel with nbclient, and the summary's text,
JSON and SVG.

The model is a real one: NBSTAGE_MODEL, else the shipped share/default.nbsm, else a
tiny one trained here with `nbstage train` on hand-written cells (a few seconds).
"""
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import nbjson

ROOT = Path(__file__).resolve().parents[2]
BINDIR = Path(os.environ.get("NBSTAGE_BIN", ROOT))
BIN = BINDIR / "nbstage"
KERNEL = BINDIR / "nbstage-kernel"
SHARED = Path(os.environ.get("NBSTAGE_SHARED", ROOT.parent / "shared"))
STAGES = ["load", "prep", "train", "evaluate", "explore", "imports"]
STAGE_MIME = "application/vnd.nbstage.stage+json"

needs_shared = pytest.mark.skipif(not (SHARED / "notebooks-with-outputs").is_dir(),
                                  reason="../shared absent")
pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built")


def nbstage(*args, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run([str(BIN), *map(str, args)], **kw)


# ------------------------------------------------------------------ the model

TEMPLATES = {
    "load": ["df = pd.read_csv('{f}.csv')", "data = pd.read_json('{f}.json')",
             "train = pd.read_csv('../input/{f}/train.csv')\ntest = pd.read_csv('../input/{f}/test.csv')",
             "with open('{f}.txt') as fh:\n    text = fh.read()", "X = np.load('{f}.npy')"],
    "prep": ["df = df.dropna()", "df['{c}'] = df['{c}'].fillna(0)",
             "X = df.drop('{c}', axis=1)\ny = df['{c}']",
             "X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)",
             "scaler = StandardScaler()\nX = scaler.fit_transform(X)",
             "df = pd.get_dummies(df, columns=['{c}'])"],
    "train": ["model = RandomForestClassifier(n_estimators={n})\nmodel.fit(X_train, y_train)",
              "clf = LogisticRegression(C={n})\nclf.fit(X, y)",
              "model = Sequential()\nmodel.add(Dense({n}, activation='relu'))\nmodel.compile(optimizer='adam', loss='mse')",
              "grid = GridSearchCV(SVC(), params, cv={n})\ngrid.fit(X_train, y_train)"],
    "evaluate": ["y_pred = model.predict(X_test)\nprint(accuracy_score(y_test, y_pred))",
                 "print(classification_report(y_test, clf.predict(X_test)))",
                 "cm = confusion_matrix(y_test, y_pred)\nsns.heatmap(cm)",
                 "scores = cross_val_score(model, X, y, cv={n})\nprint(scores.mean())"],
    "explore": ["df.head()", "df.describe()", "df['{c}'].value_counts()", "df.isnull().sum()",
                "sns.countplot(x='{c}', data=df)\nplt.show()", "df.info()", "print(df.shape)"],
    "imports": ["import pandas as pd\nimport numpy as np",
                "import matplotlib.pyplot as plt\nimport seaborn as sns\n%matplotlib inline",
                "from sklearn.model_selection import train_test_split",
                "import warnings\nwarnings.filterwarnings('ignore')"],
}


def train_tiny_model(d: Path) -> Path:
    rng = random.Random(3)
    lines, k = [], 0
    for _ in range(40):
        for st, ts in TEMPLATES.items():
            for t in ts:
                src = t.format(f=rng.choice(["train", "data", "titanic", "house"]),
                               c=rng.choice(["age", "price", "Survived", "label"]),
                               n=rng.randint(1, 300))
                probs = {s: float(s == st) for s in STAGES}
                lines.append(json.dumps({"id": f"nb{k % 50}.ipynb#{k}", "stage": st,
                                         "probabilities": probs, "source": src}))
                k += 1
    (d / "weak.jsonl").write_text("\n".join(lines) + "\n")
    out = d / "tiny.nbsm"
    r = nbstage("train", d / "weak.jsonl", "-o", out, "--epochs", 4, "--embed", 16,
                "--vocab", 300, "--cap", 0, "--keep-duplicates", "--dropout", 0,
                "--recurrent-dropout", 0, "--spatial-dropout", 0, "--lr", 0.01, "-q")
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="session")
def model(tmp_path_factory):
    for cand in (os.environ.get("NBSTAGE_MODEL"), BINDIR / "share" / "default.nbsm",
                 ROOT / "share" / "default.nbsm"):
        if cand and Path(cand).is_file():
            return Path(cand)
    return train_tiny_model(tmp_path_factory.mktemp("model"))


# ------------------------------------------------------------------ notebooks

def make_nb(sources, metadata=None):
    """A canonical notebook (nbformat.writes) with one code cell per source; a source
    given as (text, cell_metadata) sets the cell's metadata."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# A notebook"))
    for i, s in enumerate(sources):
        text, meta = s if isinstance(s, tuple) else (s, {})
        cell = nbformat.v4.new_code_cell(text, metadata=meta)
        cell.id = f"cell-{i}"
        nb.cells.append(cell)
    nb.cells[0].id = "md"
    if metadata:
        nb.metadata.update(metadata)
    return nbformat.writes(nb) + "\n"


SIMPLE = ["import pandas as pd\nimport numpy as np", "df = pd.read_csv('train.csv')",
          "df.head()", "# only a comment", "", "X = df.drop('y', axis=1)\ny = df['y']",
          "model = RandomForestClassifier()\nmodel.fit(X, y)",
          "print(accuracy_score(y_test, model.predict(X_test)))"]


def snapshot(d: Path):
    """{relative path: (bytes, mtime_ns)} of every file under D."""
    out = {}
    for p in sorted(d.rglob("*")):
        if p.is_file() and not p.is_symlink():
            st = p.stat()
            out[str(p.relative_to(d))] = (p.read_bytes(), st.st_mtime_ns)
    return out


def temporaries_said(stderr):
    """STDERR's lines about temporary files a killed save left: found by the message's
    words, not by "temporary" alone, which a path they name may hold (a TMPDIR of that
    name made train's "wrote PATH" one of them)."""
    return [ln for ln in stderr.splitlines() if re.search(r"temporary files? left by", ln)]


def copy_tree(src: Path, dst: Path):
    shutil.copytree(src, dst)
    for p in [dst, *dst.rglob("*")]:  # ../shared has no write bits
        p.chmod(p.stat().st_mode | stat.S_IWUSR)
    return dst


def strip_tags(nb):
    """NB with what `nbstage tag` adds taken out again."""
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        m = c["metadata"]
        m.pop("workflow_stage", None)
        if "tags" in m:
            m["tags"] = [t for t in m["tags"] if not t.startswith("stage:")]
            if not m["tags"]:
                del m["tags"]
    return nb


def tagged_cells(nb):
    """(stage from workflow_stage, the stage: tags) for each code cell."""
    out = []
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            m = c["metadata"]
            out.append((m.get("workflow_stage", {}).get("stage"),
                        [t for t in m.get("tags", []) if t.startswith("stage:")]))
    return out


def is_blank(src):
    return all(not l.strip() or l.strip().startswith("#") for l in src.splitlines())


# ------------------------------------------------------------------ round trip

@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_cell_of_unknown_words_only_is_tagged(model, tmp_path, jobs):
    """A cell none of whose words is in the vocabulary encodes to no ids at all; as a
    thread's first cell it once reached memcpy with no buffer (UBSan, in the
    sanitizer pass of CI: 'null pointer passed as argument 1')."""
    f = tmp_path / "a.ipynb"
    f.write_text(make_nb(["qqzzyy_foo_bar", "zzqqxx.wwvvuu()"]))
    r = nbstage("tag", "-m", model, "-j", jobs, f)
    assert r.returncode == 0 and r.stderr.count("runtime error") == 0, r.stderr
    cells = [c for c in json.loads(f.read_text())["cells"] if c["cell_type"] == "code"]
    assert all(c["metadata"]["workflow_stage"]["stage"] for c in cells)


@needs_shared
def test_round_trip_and_idempotence(model, tmp_path):
    src = SHARED / "notebooks-with-outputs"
    d = copy_tree(src, tmp_path / "nbs")
    before = snapshot(d)
    canonical = {rel for rel, (b, _) in before.items() if rel.endswith(".ipynb")
                 and nbjson.writes(nbjson.reads(b.decode())) + "\n" == b.decode()}
    assert len(canonical) > 100
    r = nbstage("tag", "-m", model, "-j", 2, d)
    assert r.returncode == 0, r.stderr
    assert "150 notebooks" in r.stderr and "0 failed" in r.stderr
    after = snapshot(d)
    assert after.keys() == before.keys(), "no stray files (temporaries) left behind"
    n_tagged_cells = 0
    for rel, (b, _) in after.items():
        if not rel.endswith(".ipynb"):
            assert b == before[rel][0], rel
            continue
        new = json.loads(b)
        # the layout `nbstage fmt` writes: json.dumps, indent 1, sorted keys...
        assert json.dumps(new, indent=1, sort_keys=True, ensure_ascii=False) + "\n" == \
            b.decode(), rel
        # ...and, tags taken out, the notebook as it was
        assert strip_tags(json.loads(b)) == strip_tags(json.loads(before[rel][0])), rel
        if rel in canonical:  # nbformat would write it so too
            assert nbjson.writes(nbjson.reads(b.decode())) + "\n" == b.decode(), rel
        for cell, (stage, tags) in zip([c for c in new["cells"] if c["cell_type"] == "code"],
                                       tagged_cells(new)):
            text = "".join(cell["source"])
            if is_blank(text):
                assert stage is None and tags == [], (rel, text)
            else:
                assert stage in STAGES and tags == [f"stage:{stage}"], (rel, text)
                ws = cell["metadata"]["workflow_stage"]
                assert set(ws) == {"stage", "confidence", "model"}
                assert 0 <= ws["confidence"] <= 1 and len(repr(ws["confidence"])) <= 5
                n_tagged_cells += 1
        if rel in canonical:
            # a canonical notebook diffs in tag lines alone: every removed line comes
            # back (give or take a trailing comma) or is an empty metadata or tag list
            olds = before[rel][0].decode().splitlines()
            news = b.decode().splitlines()
            added = {l.rstrip(",") for l in news}
            for line in set(olds) - set(news):
                assert line.rstrip(",") in added or \
                    line.strip().rstrip(",") in ('"metadata": {}', '"tags": []'), (rel, line)
    assert n_tagged_cells > 1000
    # a second run changes nothing, not even an mtime
    r = nbstage("tag", "-m", model, "-j", 2, d)
    assert r.returncode == 0, r.stderr
    assert "0 rewritten, 150 unchanged" in r.stderr
    assert snapshot(d) == after
    r = nbstage("tag", "-m", model, "--check", d)
    assert r.returncode == 0 and r.stdout == "", r.stdout
    # --nbformat: nbformat.write's layout for every notebook
    r = nbstage("tag", "-m", model, "--nbformat", d)
    assert r.returncode == 0, r.stderr
    for rel, (b, _) in snapshot(d).items():
        if rel.endswith(".ipynb"):
            text = b.decode()
            assert nbjson.writes(nbjson.reads(text)) + "\n" == text, rel
            if rel in canonical:
                assert b == after[rel][0], rel


def test_jobs_give_the_same_bytes(model, tmp_path):
    for j in (1, 2):
        d = tmp_path / f"j{j}"
        d.mkdir()
        for k in range(12):
            (d / f"nb{k:02}.ipynb").write_text(make_nb(SIMPLE[k % 3:] + SIMPLE[:k % 3]))
        r = nbstage("tag", "-m", model, "-j", j, d)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines == [f"tagged {d}/nb{k:02}.ipynb (6 cells changed)" for k in range(12)]
    a, b = snapshot(tmp_path / "j1"), snapshot(tmp_path / "j2")
    assert {k: v[0] for k, v in a.items()} == {k: v[0] for k, v in b.items()}


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs two CPUs to leave one out")
def test_default_jobs_are_the_cpus_it_may_run_on(model, tmp_path):
    """-j's default, one thread per CPU, counts the CPUs the process may run on (its
    affinity: taskset, a container's or a batch job's cpuset), as nproc does.  It counted
    every online CPU: on one allowed CPU of this 2-CPU machine it ran 2 threads."""
    for k in range(4):
        (tmp_path / f"nb{k}.ipynb").write_text(make_nb(SIMPLE[k:]))
    cpu = min(os.sched_getaffinity(0))
    r = nbstage("tag", "-m", model, "--check", tmp_path,
                preexec_fn=lambda: os.sched_setaffinity(0, {cpu}))
    assert r.returncode == 1, r.stderr
    assert ", 1 thread," in r.stderr.splitlines()[-1]


def test_a_run_that_read_no_notebook_says_so_not_0_threads(model, tmp_path):
    """`nbstage tag missing.ipynb` ended its summary with "..., 2139.1 notebooks/s, 0
    cells/s, 0 threads, MODEL; 0 spliced, ...": the line tells how the reading and
    classifying went, and none was done.  Now it says no notebook was read (the model
    still named); a run that read one still gives its rates and threads."""
    r = nbstage("tag", "-m", model, tmp_path / "missing.ipynb")
    last = r.stderr.splitlines()[-1]
    assert r.returncode == 2 and re.fullmatch(r"nbstage tag: \d+\.\d\d s, no notebook read, \S+", last), r.stderr
    assert "thread" not in r.stderr and "notebooks/s" not in r.stderr, r.stderr
    (tmp_path / "a.ipynb").write_text(make_nb(SIMPLE))
    r = nbstage("tag", "-m", model, "-j", "1", tmp_path / "missing.ipynb", tmp_path / "a.ipynb")
    assert r.returncode == 2 and ", 1 thread, " in r.stderr.splitlines()[-1], r.stderr


def test_one_file_named_twice_is_tagged_once(model, tmp_path):
    """A file reached twice (named again, or through a symlink) is one job; a hard
    link is a file of its own name: both names end up tagged."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.ipynb").write_text(make_nb(SIMPLE))
    (d / "b.ipynb").write_text(make_nb(SIMPLE[1:]))
    os.symlink("a.ipynb", d / "link.ipynb")
    os.link(d / "b.ipynb", tmp_path / "hard.ipynb")
    r = nbstage("tag", "-m", model, "-j", 2, d, d / "a.ipynb", str(d) + "/./b.ipynb",
                tmp_path / "hard.ipynb")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"tagged {d}/a.ipynb (6 cells changed)",
                                     f"tagged {d}/b.ipynb (5 cells changed)",
                                     f"tagged {tmp_path}/hard.ipynb (5 cells changed)"]
    assert "3 notebooks: 3 rewritten" in r.stderr
    assert (d / "link.ipynb").is_symlink()
    assert (tmp_path / "hard.ipynb").read_bytes() == (d / "b.ipynb").read_bytes()


def test_the_name_met_first_is_the_one_tagged(model, tmp_path):
    """The one-file-once rule (nbformat/fileonce.h, as fmt, summary and ingest take it)
    keeps the name met first: a symlink named before its target is the name listed and
    written through (the link stays a link); a folder named like a notebook, named twice
    and through a symlink, is one failure; a missing path is one per mention."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.ipynb").write_text(make_nb(SIMPLE))
    os.symlink("a.ipynb", d / "link.ipynb")
    r = nbstage("tag", "-m", model, d / "link.ipynb", d)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"tagged {d}/link.ipynb (6 cells changed)"]
    assert "1 notebook: 1 rewritten" in r.stderr
    assert (d / "link.ipynb").is_symlink()
    (tmp_path / "x.ipynb").mkdir()
    os.symlink("x.ipynb", tmp_path / "y.ipynb")
    r = nbstage("tag", "-m", model, tmp_path / "x.ipynb", tmp_path / "x.ipynb",
                tmp_path / "y.ipynb", tmp_path / "missing.ipynb", tmp_path / "missing.ipynb")
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert lines.count(f"nbstage tag: {tmp_path}/x.ipynb: is a directory, not a notebook") == 1
    assert not [l for l in lines if "y.ipynb" in l], r.stderr
    assert lines.count(f"nbstage tag: {tmp_path}/missing.ipynb: No such file or directory") == 2
    assert "3 notebooks: 0 rewritten, 0 unchanged, 3 failed" in r.stderr, r.stderr


def test_few_descriptors_many_notebooks(model, tmp_path):
    """Under a low descriptor limit the run reads fewer notebooks ahead (several
    windows of them, sources repeated across windows) and gives the same bytes."""
    for name, limit in (("free", None), ("tight", 300)):
        d = tmp_path / name
        d.mkdir()
        for k in range(200):
            (d / f"nb{k:03}.ipynb").write_text(make_nb(SIMPLE[k % 5:] + [f"x{k} = {k}"]))
        cmd = [str(BIN), "tag", "-q", "-m", str(model), "-j", "2", str(d)]
        if limit:
            cmd = ["sh", "-c", f'ulimit -n {limit} && exec "$@"', "sh", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    a, b = snapshot(tmp_path / "free"), snapshot(tmp_path / "tight")
    assert {k: v[0] for k, v in a.items()} == {k: v[0] for k, v in b.items()}
    assert len(a) == 200 and all(b"stage:" in v[0] for v in a.values())


def many_notebooks(d: Path, n: int):
    """N small canonical notebooks in D, sources repeated across them and one of
    each notebook's own (so every window has cells to classify)."""
    d.mkdir()
    for k in range(n):
        (d / f"nb{k:04}.ipynb").write_text(make_nb(SIMPLE[k % 7:] + SIMPLE[:k % 7] +
                                                   [f"x{k} = f({k % 97})"]))
    return d


def test_windows_saved_while_the_next_is_prepared(model, tmp_path):
    """Over several windows (512 notebooks each; one is saved while the next is read
    and classified) the reports come in the order given and the bytes are those of
    -j 1, and of a run that reads few notebooks ahead (tight descriptor limit)."""
    n = 1300
    runs = {}
    src = many_notebooks(tmp_path / "src", n)  # made once (nbformat takes seconds), copied
    for name, j, limit in (("j1", 1, None), ("j2", 2, None), ("tight", 2, 200)):
        d = tmp_path / name
        copy_tree(src, d)
        cmd = [str(BIN), "tag", "-m", str(model), "-j", str(j), str(d)]
        if limit:
            cmd = ["sh", "-c", f'ulimit -n {limit} && exec "$@"', "sh", *cmd]
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert f"{n} notebooks: {n} rewritten" in r.stderr
        lines = r.stdout.splitlines()
        assert [l.split(" (")[0] for l in lines] == [f"tagged {d}/nb{k:04}.ipynb" for k in range(n)]
        runs[name] = {k: v[0] for k, v in snapshot(d).items()}
    assert runs["j1"] == runs["j2"] == runs["tight"]
    assert all(b"stage:" in v for v in runs["j1"].values())


# ------------------------------------------------------------------ check, dry run, stale

def test_check_exit_codes_and_changes_nothing(model, tmp_path):
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    (tmp_path / "sub").mkdir()
    other = tmp_path / "sub" / "b.ipynb"
    other.write_text(make_nb(["import os"]))
    before = snapshot(tmp_path)
    r = nbstage("tag", "-m", model, "--check", tmp_path)
    assert r.returncode == 1, r.stderr
    assert r.stdout.splitlines() == [f"{nb}: 6 missing, 0 stale, 0 on blank cells",
                                     f"{other}: 1 missing, 0 stale, 0 on blank cells"]
    assert snapshot(tmp_path) == before
    assert nbstage("tag", "-m", model, "-q", tmp_path).returncode == 0
    r = nbstage("tag", "-m", model, "--check", tmp_path)
    assert (r.returncode, r.stdout) == (0, "")
    # --check and -o, or no path: usage errors
    assert nbstage("tag", "-m", model, "--check", "-o", tmp_path / "x.ipynb", nb).returncode == 2
    assert nbstage("tag", "-m", model).returncode == 2
    assert nbstage("tag", "-m", model, "-j", "0", nb).returncode == 2
    assert nbstage("tag", "-m", tmp_path / "no-such-model", nb).returncode == 2


def test_stale_tags_replaced_others_kept(model, tmp_path):
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    assert nbstage("tag", "-m", model, nb).returncode == 0
    tagged = json.loads(nb.read_text())
    truth = tagged_cells(tagged)
    code = [c for c in tagged["cells"] if c["cell_type"] == "code"]
    # cell 0: wrong stage, with user tags around it; cell 3 (a comment): a stale tag;
    # cell 2: metadata and tags disagree
    wrong = next(s for s in STAGES if s != truth[0][0])
    code[0]["metadata"]["tags"] = ["mine", f"stage:{wrong}", "also-mine", "stage:load"]
    code[0]["metadata"]["workflow_stage"]["stage"] = wrong
    code[3]["metadata"] = {"tags": ["stage:train"], "workflow_stage": {
        "stage": "train", "confidence": 0.5, "model": "old"}}
    code[2]["metadata"]["tags"] = ["stage:" + next(s for s in STAGES if s != truth[2][0])]
    nb.write_text(nbformat.writes(nbformat.from_dict(tagged)) + "\n")
    r = nbstage("tag", "-m", model, "--check", nb)
    assert r.returncode == 1
    assert r.stdout == f"{nb}: 0 missing, 2 stale, 1 on blank cells\n"
    r = nbstage("tag", "-m", model, "--dry-run", nb)
    assert r.returncode == 0
    assert r.stdout.splitlines() == [
        f"{nb}#0: {wrong} -> {truth[0][0]} ({code[0]['metadata']['workflow_stage']['confidence']:.3f})",
        f"{nb}#2: repair {truth[2][0]} (metadata and tags disagree)",
        f"{nb}#3: remove train (empty or comments only)",
    ]
    r = nbstage("tag", "-m", model, nb)
    assert r.returncode == 0
    assert r.stdout == f"tagged {nb} (3 cells changed)\n"
    fixed = json.loads(nb.read_text())
    assert tagged_cells(fixed) == truth
    fixed_code = [c for c in fixed["cells"] if c["cell_type"] == "code"]
    assert fixed_code[0]["metadata"]["tags"] == ["mine", f"stage:{truth[0][0]}", "also-mine"]
    assert fixed_code[3]["metadata"] == {}
    assert fixed == json.loads(nbformat.writes(nbformat.from_dict(tagged_with(tagged, truth))))


def tagged_with(nb, truth):
    """NB as it should look: the user's tags kept, the stage tags of TRUTH."""
    nb = json.loads(json.dumps(nb))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    code[0]["metadata"]["tags"] = ["mine", f"stage:{truth[0][0]}", "also-mine"]
    code[0]["metadata"]["workflow_stage"]["stage"] = truth[0][0]
    code[2]["metadata"]["tags"] = [f"stage:{truth[2][0]}"]
    code[3]["metadata"] = {}
    return nb


def test_confidence_or_model_change_is_refreshed_not_a_finding(model, tmp_path):
    """Another model version or BLAS may move a confidence: `tag` refreshes it, but
    --check (for CI) fails on missing or stale stages only."""
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    assert nbstage("tag", "-m", model, "-q", nb).returncode == 0
    good = nb.read_text()
    d = json.loads(good)
    code = [c for c in d["cells"] if c["cell_type"] == "code"]
    code[0]["metadata"]["workflow_stage"]["confidence"] = 0.5
    code[1]["metadata"]["workflow_stage"]["model"] = "nbstage-lstm-older"
    nb.write_text(json.dumps(d, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    r = nbstage("tag", "-m", model, "--check", nb)
    assert (r.returncode, r.stdout) == (0, "")
    r = nbstage("tag", "-m", model, "-n", nb)
    assert r.stdout.splitlines()[0].startswith(f"{nb}#0: ")
    assert " confidence 0.500 -> " in r.stdout.splitlines()[0]
    assert r.stdout.splitlines()[1].startswith(f"{nb}#1: ")
    # the model alone changed: said as such (it said "confidence 1.000 -> 1.000")
    assert r.stdout.splitlines()[1].endswith(" (model or metadata refreshed)"), r.stdout
    assert nbstage("tag", "-m", model, nb).stdout == f"tagged {nb} (2 cells changed)\n"
    assert nb.read_text() == good


def test_refreshes_are_said_beside_the_cells_that_would_change(model, tmp_path):
    """Tags from an older model: --check said "0 with missing or stale tags" and, on the
    next line, "7 cell tags would change", which read as a contradiction (a refresh is
    by design no finding).  The cells' line says how many of them are refreshes, in
    --check, --dry-run and the run; the exit codes are as they were."""
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    assert nbstage("tag", "-m", model, "-q", nb).returncode == 0
    good = nb.read_text()
    older = json.loads(good)
    for c in older["cells"]:
        if "workflow_stage" in c.get("metadata", {}):
            c["metadata"]["workflow_stage"]["model"] = "nbstage-lstm-older"
    n = sum("workflow_stage" in c.get("metadata", {}) for c in older["cells"])
    assert n > 1
    nb.write_text(json.dumps(older, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    refresh = "(the same stage, a new model name or confidence"
    r = nbstage("tag", "-m", model, "--check", nb)
    assert r.returncode == 0 and r.stdout == "", r.stdout
    lines = r.stderr.splitlines()
    assert ": 0 with missing or stale tags, 0 failed" in lines[0], lines
    assert lines[1].endswith(f"; {n} cell tags would change, {n} of them refreshes {refresh}: not findings)"), lines
    r = nbstage("tag", "-m", model, "--dry-run", nb)
    assert r.returncode == 0
    assert f"; {n} cell tags would change, {n} of them refreshes {refresh})\n" in r.stderr, r.stderr
    # one refresh among other changes, and one alone
    mixed = json.loads(good)
    code = [c for c in mixed["cells"] if c["cell_type"] == "code"]
    code[0]["metadata"]["workflow_stage"]["confidence"] = 0.5
    del code[1]["metadata"]["workflow_stage"], code[1]["metadata"]["tags"]
    nb.write_text(json.dumps(mixed, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    r = nbstage("tag", "-m", model, "--check", nb)
    assert r.returncode == 1
    assert f"; 2 cell tags would change, 1 of them a refresh {refresh}: not a finding)\n" in r.stderr, r.stderr
    code[1]["metadata"] = json.loads(good)["cells"][2]["metadata"]
    nb.write_text(json.dumps(mixed, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    r = nbstage("tag", "-m", model, nb)
    assert r.returncode == 0
    assert f"; 1 cell tag changed, a refresh {refresh})\n" in r.stderr, r.stderr
    assert nb.read_text() == good
    r = nbstage("tag", "-m", model, "--check", nb)
    assert "; 0 cell tags would change\n" in r.stderr, r.stderr


def test_dry_run_changes_nothing(model, tmp_path):
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    before = snapshot(tmp_path)
    r = nbstage("tag", "-m", model, "-n", nb)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    # each cell named by its id, as ingest and label write it: code cells from 0 (3 and 4
    # are blank and need no tag)
    assert [l.split(": ")[0] for l in lines] == [f"{nb}#{k}" for k in (0, 1, 2, 5, 6, 7)]
    assert all(" add " in f" {l.split(': ')[1]}" for l in lines)
    assert snapshot(tmp_path) == before


def test_dry_run_and_report_say_the_layout_changes_too(model, tmp_path):
    """A notebook saved by another tool (indent 2, or compact JSON) is written back in
    the canonical layout, so its diff is the whole file, not the tag lines.  --dry-run
    listed the cells' tags alone (it named the layout only when no tag changed) and the
    run said "tagged X (N cells changed)": nothing warned of the whole-file diff.  Both
    say it now; a canonical notebook, on either path (--strip-tag-outputs takes the
    jansson one), gets no such word."""
    text = make_nb(SIMPLE)
    tree = json.loads(text)
    (tmp_path / "canonical.ipynb").write_text(text)
    (tmp_path / "indent2.ipynb").write_text(json.dumps(tree, indent=2) + "\n")
    (tmp_path / "compact.ipynb").write_text(json.dumps(tree, separators=(",", ":")))
    names = ["canonical.ipynb", "indent2.ipynb", "compact.ipynb"]
    for extra in ([], ["--strip-tag-outputs"]):
        r = nbstage("tag", "-m", model, "-n", *extra, *names, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        added = [l for l in r.stdout.splitlines() if ": add " in l]
        assert len(added) == 3 * 6, r.stdout  # the tags, as before
        assert [l for l in r.stdout.splitlines() if "#" not in l] == [
            f"{n}: also rewrite in the canonical layout (the file is not in it: more than "
            "the tag lines change)" for n in names[1:]], r.stdout
    r = nbstage("tag", "-m", model, *names, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "tagged canonical.ipynb (6 cells changed)",
        "tagged indent2.ipynb (6 cells changed; rewritten in the canonical layout)",
        "tagged compact.ipynb (6 cells changed; rewritten in the canonical layout)"], r.stdout
    # and all three are now the same bytes: a second run changes nothing, says nothing
    assert len({(tmp_path / n).read_bytes() for n in names}) == 1
    r = nbstage("tag", "-m", model, "-n", *names, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "", r.stdout


# ------------------------------------------------------------------ -o

def test_output_file_and_stdout(model, tmp_path):
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    before = snapshot(tmp_path)
    out = tmp_path / "out" / "b.ipynb"
    out.parent.mkdir()
    r = nbstage("tag", "-m", model, "-o", out, nb)
    assert r.returncode == 0, r.stderr
    assert snapshot(tmp_path)["a.ipynb"] == before["a.ipynb"]
    r2 = nbstage("tag", "-m", model, "-o", "-", nb)
    assert r2.returncode == 0
    assert r2.stdout == out.read_text()
    assert all(s in STAGES for s, _ in tagged_cells(json.loads(out.read_text()))
               if s is not None)
    # -o wants one notebook
    assert nbstage("tag", "-m", model, "-o", out, tmp_path).returncode == 2


def test_output_into_a_device_or_fifo_is_written_into(model, tmp_path):
    """`tag -o /dev/null`, `-o /dev/stdout` and a FIFO (`-o >(gzip > a.gz)`) failed,
    exit 2, "cannot create a temporary file in /proc/.../fd": a rename cannot put a file
    there.  They are written straight into, as ingest's -o and summary's --svg are."""
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    before = nb.read_bytes()
    want = nbstage("tag", "-m", model, "-o", "-", nb).stdout
    assert nbstage("tag", "-q", "-m", model, "-o", os.devnull, nb).returncode == 0
    r = nbstage("tag", "-q", "-m", model, "-o", "/dev/stdout", nb)
    assert r.returncode == 0 and r.stdout == want, r.stderr
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    r = nbstage("tag", "-q", "-m", model, "-o", fifo, nb)
    got = reader.communicate(timeout=60)[0].decode()
    assert r.returncode == 0 and got == want, r.stderr
    assert fifo.is_fifo() and nb.read_bytes() == before
    r = nbstage("tag", "-q", "-m", model, "-o", tmp_path, nb)  # a folder is still no output
    assert r.returncode == 2 and f"{tmp_path}: is a directory, not a file to write" in r.stderr


def test_output_onto_a_read_only_file_refused(model, tmp_path):
    """-o onto a read-only file (the input itself, or another), and fmt of a read-only
    notebook, are refused as tag in place refuses it: rename() would replace it."""
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    old = tmp_path / "old.ipynb"
    old.write_text("{}\n")
    for p in (nb, old):
        p.chmod(0o444)
    before = snapshot(tmp_path)
    for dest in (nb, old):
        r = nbstage("tag", "-m", model, "-o", dest, nb)
        assert r.returncode == 2, r.stderr
        assert f"{dest}: read-only file" in r.stderr
    crlf = tmp_path / "crlf.ipynb"  # not canonical: fmt would rewrite it
    crlf.write_bytes(make_nb(SIMPLE).replace("\n", "\r\n").encode())
    crlf.chmod(0o444)
    before["crlf.ipynb"] = snapshot(tmp_path)["crlf.ipynb"]
    r = nbstage("fmt", crlf)
    assert r.returncode == 2 and f"{crlf}: read-only file" in r.stderr
    assert snapshot(tmp_path) == before
    # a writable destination is still written
    nb.chmod(0o644)
    assert nbstage("tag", "-m", model, "-o", nb, nb).returncode == 0


@pytest.mark.skipif(not shutil.which("strace"), reason="strace not installed")
@pytest.mark.plain_build_only
def test_in_place_saves_sync_once_per_filesystem(model, tmp_path):
    """Batched durability: no fsync per rewritten file, one syncfs before the summary;
    -o FILE (a single save) keeps its fsyncs."""
    d = tmp_path / "nbs"
    d.mkdir()
    for k in range(20):
        (d / f"nb{k:02}.ipynb").write_text(make_nb(SIMPLE))
    log = tmp_path / "strace.log"
    r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync,syncfs,rename,write",
                        "-o", str(log), str(BIN), "tag", "-m", str(model), "-j", "2", str(d)],
                       capture_output=True, text=True)
    if r.returncode != 0 and "ptrace" in r.stderr:
        pytest.skip("ptrace not permitted here")
    assert r.returncode == 0, r.stderr
    calls = log.read_text().splitlines()
    assert sum(" rename(" in c for c in calls) == 20
    assert not [c for c in calls if "fsync(" in c or "fdatasync(" in c]
    syncs = [i for i, c in enumerate(calls) if " syncfs(" in c]
    assert len(syncs) == 1 and "= 0" in calls[syncs[0]]
    last_rename = max(i for i, c in enumerate(calls) if " rename(" in c)
    summary = next(i for i, c in enumerate(calls) if "write(2" in c and "notebooks:" in c)
    assert last_rename < syncs[0] < summary
    out = tmp_path / "out.ipynb"
    subprocess.run(["strace", "-f", "-qq", "-e", "trace=fsync,syncfs", "-o", str(log), str(BIN),
                    "tag", "-m", str(model), "-o", str(out), str(d / "nb00.ipynb")], check=True,
                   capture_output=True)
    calls = log.read_text()
    assert "fsync(" in calls and "syncfs(" not in calls


def test_stdin_to_stdout(model, tmp_path):
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    want = nbstage("tag", "-m", model, "-o", "-", nb).stdout
    r = nbstage("tag", "-m", model, "-q", "-", input=nb.read_text())
    assert (r.returncode, r.stdout) == (0, want)
    r = nbstage("tag", "-m", model, "--check", "-", input=nb.read_text())
    assert (r.returncode, r.stdout) == (1, "<stdin>: 6 missing, 0 stale, 0 on blank cells\n")
    r = nbstage("tag", "-m", model, "-", input="{")
    assert r.returncode == 2 and "<stdin>:" in r.stderr and r.stdout == ""
    assert nbstage("tag", "-m", model, "-", nb, input="").returncode == 2


# ------------------------------------------------------------------ bad files

BAD = {
    "malformed.ipynb": b'{"cells": [}',
    "truncated.ipynb": None,  # a good notebook cut in half, filled in below
    "v3.ipynb": json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                            "worksheets": [{"cells": []}]}).encode(),
    "junk.ipynb": bytes(range(256)) * 4,
    "latin1.ipynb": make_nb(["x = 'caf\u00e9'"]).encode("latin-1"),
    "empty.ipynb": b"",
    "not-a-notebook.ipynb": b"[1, 2, 3]\n",
    # nbformat_minor not an integer: Python's nbformat.read fails on both; in the
    # canonical layout, so that tag's fast path meets them first
    "minor-real.ipynb": make_nb(["import os"]).replace('"nbformat_minor": 5', '"nbformat_minor": 5.0').encode(),
    "minor-text.ipynb": make_nb(["import os"]).replace('"nbformat_minor": 5', '"nbformat_minor": "5"').encode(),
    # a code cell's "tags" that is not a list (nbformat.validate refuses it): the stage
    # tag replaced it, the user's value lost.  Canonical (the fast path) and indent 2.
    "tags-text.ipynb": make_nb([("import os", {"tags": ["mine"]})]).replace('"tags": [\n     "mine"\n    ]',
                                                                            '"tags": "mine"').encode(),
    "tags-object.ipynb": make_nb(["import os", ("df.head()", {"tags": ["a"]})]).replace(
        '"tags": [\n     "a"\n    ]', '"tags": {"owner": "ann"}').replace('\n ', '\n  ').encode(),
    # a list with a number in it (nbformat.validate refuses it too): the stage tag was
    # added and the list written back as it was
    "tags-number.ipynb": make_nb(["import os", ("df.head()", {"tags": ["mine"]})]).replace(
        '"tags": [\n     "mine"\n    ]', '"tags": [\n     "mine",\n     1\n    ]').encode(),
}
REASONS = {
    "malformed.ipynb": "malformed.ipynb:1:",
    "truncated.ipynb": "truncated.ipynb:",
    "v3.ipynb": "nbformat 3 is not supported",
    "junk.ipynb": "junk.ipynb:",
    "latin1.ipynb": "invalid UTF-8",
    "empty.ipynb": "empty file",
    "not-a-notebook.ipynb": "not a notebook",
    "minor-real.ipynb": '"nbformat_minor" is not an integer',
    "minor-text.ipynb": '"nbformat_minor" is not an integer',
    "tags-text.ipynb": "tags-text.ipynb#0: cells[1].metadata.tags is not a list of strings",
    "tags-object.ipynb": "tags-object.ipynb#1: cells[2].metadata.tags is not a list of strings",
    "tags-number.ipynb": "tags-number.ipynb#1: cells[2].metadata.tags is not a list of strings",
    "readonly.ipynb": "read-only file, left untouched",
}


def test_bad_files_reported_and_untouched(model, tmp_path):
    d = tmp_path / "nbs"
    d.mkdir()
    good = make_nb(SIMPLE)
    (d / "good.ipynb").write_text(good)
    for name, data in BAD.items():
        (d / name).write_bytes(data if data is not None else good.encode()[:len(good) // 2])
    (d / "readonly.ipynb").write_text(make_nb(["import os"]))
    (d / "readonly.ipynb").chmod(0o444)
    (d / "x.ipynb").mkdir()  # a folder with a notebook's name
    (d / "zz-good.ipynb").write_text(good)
    before = snapshot(d)
    r = nbstage("tag", "-m", model, "-j", 2, d)
    assert r.returncode == 2
    for name, why in REASONS.items():
        line = [l for l in r.stderr.splitlines() if f"{d}/{name}" in l]
        assert line and why in line[0], (name, r.stderr)
    after = snapshot(d)
    for name in [*BAD, "readonly.ipynb"]:
        assert after[name] == before[name], name
    for name in ("good.ipynb", "zz-good.ipynb"):
        assert after[name][0] != before[name][0]
        assert all(s in STAGES for s, _ in tagged_cells(json.loads(after[name][0]))
                   if s is not None)
    assert "13 failed" in r.stderr
    assert oct((d / "readonly.ipynb").stat().st_mode & 0o777) == "0o444"
    # --check and --dry-run say it too: the run they preview would refuse the file
    for mode in ("--check", "--dry-run"):
        r = nbstage("tag", "-m", model, mode, d / "tags-text.ipynb")
        assert r.returncode == 2 and "metadata.tags is not a list" in r.stderr, (mode, r.stderr)
    # --dry-run names the read-only file the run refuses (it listed it to rewrite, exit 0)
    r = nbstage("tag", "-m", model, "--dry-run", d / "readonly.ipynb")
    assert r.returncode == 2 and f"{d}/readonly.ipynb: read-only file, left untouched" in r.stderr, r.stderr
    assert r.stdout == "" and "1 failed" in r.stderr, (r.stdout, r.stderr)
    # the folder named like a notebook, given by name
    r = nbstage("tag", "-m", model, d / "x.ipynb")
    assert r.returncode == 2 and f"{d}/x.ipynb: is a directory, not a notebook" in r.stderr
    # a path that does not exist
    r = nbstage("tag", "-m", model, d / "missing.ipynb")
    assert r.returncode == 2 and "No such file or directory" in r.stderr


def as_nobody():
    """subprocess arguments that drop root, so file permissions apply."""
    return {"user": "nobody", "group": "nogroup", "extra_groups": []}


_nobody_runs = {}


def skip_unless_nobody_can_run(prog=None):
    """Skips the test unless it runs as root and nobody can run PROG (BIN by default)
    in the system's temporary folder, where folder_for_nobody's folders are.  With the
    programs under a folder closed to others (a checkout in /root, a home of mode 0750)
    or such a TMPDIR, every test that drops to nobody failed with PermissionError (73
    of them), for no defect of the programs."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to nobody")
    prog = str(prog or BIN)
    if prog not in _nobody_runs:
        try:  # (Popen's cwd is entered before the user changes: cd does it as nobody)
            r = subprocess.run(["sh", "-c", 'cd "$1" && exec "$2" --version', "sh", tempfile.gettempdir(), prog],
                               capture_output=True, timeout=60, **as_nobody())
            _nobody_runs[prog] = r.returncode == 0
        except PermissionError:
            _nobody_runs[prog] = False
    if not _nobody_runs[prog]:
        pytest.skip(f"nobody cannot run {prog} in {tempfile.gettempdir()}: a folder above one of them is closed "
                    "to others")


def folder_for_nobody(model, prefix):
    """A world-writable folder (nobody could not enter pytest's own) holding a copy of
    MODEL that nobody may read: (the folder, the model)."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o777)
    m = d / "model.nbsm"
    shutil.copy(model, m)
    m.chmod(0o644)
    return d, m


def test_a_folder_it_cannot_read_is_named_on_a_terminal_without_its_control_characters(model):
    """A folder the walk cannot open was named with fprintf: its name's escape sequences
    (a window title, a colour) reached the terminal raw.  Every message now shows a
    control character escaped, \\x1b, on a terminal and into a pipe alike."""
    import pty
    skip_unless_nobody_can_run()
    d, m = folder_for_nobody(model, "nbstage-tag-esc-")
    bad = d / "evil\x1b]0;TITLE\x07\x1b[31mRED"
    try:
        bad.mkdir()
        bad.chmod(0o000)
        master, slave = pty.openpty()
        r = subprocess.run([str(BIN), "tag", "-m", str(m), str(d)], stdin=slave, stdout=slave, stderr=slave,
                           timeout=60, **as_nobody())
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        os.close(master)
        assert r.returncode == 2, out
        assert b"evil\\x1b]0;TITLE\\x07\\x1b[31mRED: " in out and b"\x1b" not in out, out
    finally:
        if bad.exists():
            bad.chmod(0o700)
        shutil.rmtree(d, ignore_errors=True)


def test_permission_errors_as_another_user(model, tmp_path):
    skip_unless_nobody_can_run()
    d, m = folder_for_nobody(model, "nbstage-tag-perm-")
    try:
        good = d / "good.ipynb"
        good.write_text(make_nb(SIMPLE))
        os.chown(good, 65534, 65534)
        secret = d / "unreadable.ipynb"
        secret.write_text(make_nb(SIMPLE))
        secret.chmod(0o000)
        theirs = d / "not-mine.ipynb"  # readable, not writable by nobody
        theirs.write_text(make_nb(SIMPLE))
        theirs.chmod(0o644)
        locked = d / "locked"
        locked.mkdir()
        (locked / "c.ipynb").write_text(make_nb(SIMPLE))
        os.chown(locked / "c.ipynb", 65534, 65534)
        locked.chmod(0o555)  # the file is nobody's, but the folder takes no temporaries
        closed = d / "closed"  # a folder nobody may not read: said as a folder, not a notebook
        closed.mkdir()
        (closed / "d.ipynb").write_text(make_nb(SIMPLE))
        closed.chmod(0o700)
        half = d / "half"  # listed, not searchable: its folder cannot even be stat'd
        (half / "sub").mkdir(parents=True)
        os.symlink("elsewhere", half / "lnk")  # not notebooks: passed over, as anywhere else
        os.mkfifo(half / "fifo")
        half.chmod(0o744)
        before = snapshot(d)
        r = nbstage("tag", "-m", m, d, **as_nobody())
        assert r.returncode == 2, r.stderr
        err = r.stderr
        assert f"{secret}: Permission denied" in err
        assert f"{theirs}: Permission denied, left untouched" in err
        assert f"{locked}/c.ipynb: cannot create a temporary file" in err
        after = snapshot(d)
        for p in (secret, theirs, locked / "c.ipynb"):
            rel = str(p.relative_to(d))
            assert after[rel] == before[rel], rel
        assert after["good.ipynb"][0] != before["good.ipynb"][0]
        assert f"{closed}: Permission denied" in err
        assert f"{half}/sub: Permission denied" in err and "lnk" not in err and "fifo" not in err, err
        assert "nbstage tag: 4 notebooks: 1 rewritten, 0 unchanged, 3 failed, 2 folders could not be read\n" in err, err
        # --dry-run previews the same failures: the folder that takes no temporary too
        # (it listed c.ipynb to rewrite, exit 0, where the run fails)
        r = nbstage("tag", "-m", m, "--dry-run", locked / "c.ipynb", **as_nobody())
        assert r.returncode == 2 and f"{locked}/c.ipynb: cannot create a temporary file in {locked}: " \
            "Permission denied" in r.stderr and r.stdout == "", (r.stdout, r.stderr)
    finally:
        subprocess.run(["chmod", "-R", "u+rwx", str(d)])
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own files as others")
def test_owner_group_and_mode_kept(model, tmp_path):
    """A rewrite is a new file renamed over the old one: it keeps the old file's owner
    and group (root re-tagging users' files) and its mode, in place and with fmt."""
    files = {"theirs.ipynb": (65534, 65534, 0o664), "grouped.ipynb": (0, 65534, 0o640),
             "mine.ipynb": (0, 0, 0o600)}
    for name, (uid, gid, mode) in files.items():
        f = tmp_path / name
        f.write_text(make_nb(SIMPLE))
        os.chown(f, uid, gid)
        f.chmod(mode)
    r = nbstage("tag", "-m", model, tmp_path)
    assert r.returncode == 0 and "3 rewritten" in r.stderr, r.stderr
    for name, (uid, gid, mode) in files.items():
        st = (tmp_path / name).stat()
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (uid, gid, mode), name
        assert b"stage:" in (tmp_path / name).read_bytes()
    f = tmp_path / "theirs.ipynb"
    f.write_text(make_nb(SIMPLE).replace("\n", "\r\n"))  # a layout fmt rewrites
    os.chown(f, 65534, 65534)
    r = nbstage("fmt", f)
    assert r.returncode == 0 and b"\r\n" not in f.read_bytes(), r.stderr
    st = f.stat()
    assert (st.st_uid, st.st_gid) == (65534, 65534)


def inodes(d: Path):
    """{path under D: inode} of every entry, read from the directory alone."""
    out, stack = {}, [d]
    while stack:
        for e in os.scandir(stack.pop()):
            out[e.path] = e.inode()
            if e.is_dir(follow_symlinks=False):
                stack.append(Path(e.path))
    return out


def kill_after_replaced(p, d: Path, before, target):
    """SIGKILL P once TARGET files under D have been replaced (a save renames a new
    file over the old: a new inode under the old name), or once it has ended.  The
    moment is picked by progress, not by the clock: a sleep timed from a cold first
    run once killed six finished runs on a CI machine."""
    while p.poll() is None and sum(
            before.get(k, i) != i for k, i in inodes(d).items()) < target:
        pass
    p.send_signal(signal.SIGKILL)
    p.wait()


# ------------------------------------------------------------------ kill

@needs_shared
@pytest.mark.plain_build_only
def test_kill_leaves_every_file_old_or_new(model, tmp_path):
    src = tmp_path / "src"
    for k in range(3):  # 450 notebooks: long enough a run for the kills to land in it
        copy_tree(SHARED / "notebooks-with-outputs", src / f"copy{k}")
    ref = copy_tree(src, tmp_path / "ref")
    assert nbstage("tag", "-m", model, "-q", "-j", "2", ref).returncode == 0
    old, new = snapshot(src), snapshot(ref)
    rng = random.Random(11)
    killed_mid_run = 0
    for trial in range(6):
        d = tmp_path / f"t{trial}"
        copy_tree(src, d)
        before = inodes(d)
        p = subprocess.Popen([str(BIN), "tag", "-m", str(model), "-q", "-j", "2", str(d)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kill_after_replaced(p, d, before, rng.randrange(0, 400))
        killed_mid_run += p.returncode == -signal.SIGKILL
        now = snapshot(d)
        for rel, (b, _) in now.items():
            if Path(rel).name.startswith(".") and ".nbstage-" in rel:
                continue  # a temporary the kill left: never a notebook's name
            assert b == old[rel][0] or b == new[rel][0], rel
        assert {k for k in now if ".nbstage-" not in k} == set(old)
    assert killed_mid_run >= 1


@pytest.mark.plain_build_only
def test_kill_across_windows_leaves_every_file_old_or_new(model, tmp_path):
    """Killed while one window is being saved and the next read and classified:
    each file is still the old or the new, whatever the moment (K files replaced,
    K random across the windows)."""
    n = 1300
    src = many_notebooks(tmp_path / "src", n)
    ref = copy_tree(src, tmp_path / "ref")
    assert nbstage("tag", "-m", model, "-q", "-j", "2", ref).returncode == 0
    old, new = snapshot(src), snapshot(ref)
    rng = random.Random(12)
    mixed = 0  # kills that left some files old and some new
    for trial in range(6):
        d = copy_tree(src, tmp_path / f"t{trial}")
        before = inodes(d)
        p = subprocess.Popen([str(BIN), "tag", "-m", str(model), "-q", "-j", "2", str(d)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kill_after_replaced(p, d, before, rng.randrange(1, n - 100))
        now = snapshot(d)
        olds = news = 0
        for rel, (b, _) in now.items():
            if Path(rel).name.startswith(".") and ".nbstage-" in rel:
                continue  # a temporary the kill left: never a notebook's name
            assert b == old[rel][0] or b == new[rel][0], rel
            olds += b == old[rel][0]
            news += b == new[rel][0]
        assert {k for k in now if ".nbstage-" not in k} == set(old)
        mixed += olds > 0 and news > 0
    assert mixed >= 3


# ------------------------------------------------------------------ from outputs

def kernel_usable():
    if not KERNEL.exists():
        return False
    r = subprocess.run([str(KERNEL), "--help"], capture_output=True, text=True)
    return "not built yet" not in r.stdout + r.stderr


def execute_with_stage_kernel(cells, model, folder, **kw):
    """A notebook of CELLS executed by nbclient through the stage kernel (a kernelspec
    in FOLDER/jupyter, found through JUPYTER_PATH for the run); KW goes to nbclient."""
    from nbclient import NotebookClient
    kdir = Path(folder) / "jupyter"
    (kdir / "kernels" / "nbs-tag").mkdir(parents=True)
    spec = {"argv": [str(KERNEL), "-f", "{connection_file}", "--wrap", "python3",
                     "--model", str(model)],
            "display_name": "nbstage", "language": "python"}
    (kdir / "kernels" / "nbs-tag" / "kernel.json").write_text(json.dumps(spec))
    old = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = str(kdir)
    try:
        nb = nbformat.reads(make_nb(cells), as_version=4)
        NotebookClient(nb, kernel_name="nbs-tag", timeout=60, **kw).execute()
    finally:
        if old is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = old
    return nb


@pytest.mark.skipif(not kernel_usable(), reason="nbstage-kernel not built")
def test_from_outputs_of_the_stage_kernel(model, tmp_path):
    nb = execute_with_stage_kernel([
        "import json\nimport os", "data = [1, 2, 3]\nprint(len(data))",
        "data2 = [x * 2 for x in data]", "# just a comment", "print(sum(data2))"], model, tmp_path)
    path = tmp_path / "run.ipynb"
    nbformat.write(nb, str(path))
    payloads = []
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        ps = [o["metadata"]["nbstage"] for o in c.get("outputs", [])
              if o.get("output_type") == "display_data" and STAGE_MIME in o.get("data", {})]
        payloads.append(ps[-1] if ps else None)
    assert sum(p is not None for p in payloads) >= 4, payloads
    r = nbstage("tag", "--from-outputs", path)
    assert r.returncode == 0, r.stderr
    tagged = json.loads(path.read_text())
    code = [c for c in tagged["cells"] if c["cell_type"] == "code"]
    for c, p in zip(code, payloads):
        if p is None:
            continue
        ws = c["metadata"]["workflow_stage"]
        assert ws["stage"] == p["stage"]
        assert ws["confidence"] == round(p["confidence"], 3)
        assert ws["model"] == p["model"]
        assert c["metadata"]["tags"] == [f"stage:{p['stage']}"]
        # the live output stays unless asked
        assert any(STAGE_MIME in o.get("data", {}) for o in c["outputs"])
    # the same stages as the model gives in batch
    r = nbstage("tag", "-m", model, "--check", path)
    assert r.returncode == 0, r.stdout
    r = nbstage("tag", "--from-outputs", "--strip-tag-outputs", path)
    assert r.returncode == 0, r.stderr
    assert "tag outputs removed" in r.stderr or "tag output removed" in r.stderr
    stripped = json.loads(path.read_text())
    for c in stripped["cells"]:
        for o in c.get("outputs", []):
            assert STAGE_MIME not in o.get("data", {})
    assert tagged_cells(stripped) == tagged_cells(tagged)
    assert any(o.get("output_type") == "stream" for c in stripped["cells"]
               for o in c.get("outputs", [])), "the cells' own outputs stay"


def test_from_outputs_without_a_model(tmp_path):
    """--from-outputs needs no model: a saved notebook with tag outputs in it."""
    nb = json.loads(make_nb(["model.fit(X, y)", "df.head()"]))
    payload = {"stage": "train", "confidence": 0.8765, "model": "nbstage-lstm-abc",
               "probabilities": {s: 0.0 for s in STAGES}}
    nb["cells"][1]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": ["fitted\n"]},
        {"output_type": "display_data", "data": {"text/plain": ["stage: train (88%)"],
                                                 STAGE_MIME: payload},
         "metadata": {"nbstage": payload}}]
    path = tmp_path / "a.ipynb"
    path.write_text(nbformat.writes(nbformat.from_dict(nb)) + "\n")
    r = nbstage("tag", "--from-outputs", "--strip-tag-outputs", path,
                env={**os.environ, "NBSTAGE_MODEL": str(tmp_path / "none.nbsm")})
    assert r.returncode == 0, r.stderr
    out = json.loads(path.read_text())
    c1, c2 = out["cells"][1], out["cells"][2]
    assert c1["metadata"]["workflow_stage"] == {"stage": "train", "confidence": 0.877,
                                                "model": "nbstage-lstm-abc"}
    assert c1["metadata"]["tags"] == ["stage:train"]
    assert c1["outputs"] == [{"output_type": "stream", "name": "stdout", "text": ["fitted\n"]}]
    assert c2["metadata"] == {}  # no tag output: left as it was
    assert "1 without a tag output (kept)" in r.stderr


def test_check_and_dry_run_with_strip_tag_outputs(model, tmp_path):
    """--check --strip-tag-outputs (a pre-commit hook keeping the kernel's live tags out
    of the repository) lists a notebook that still holds tag outputs, tags current or
    not, and exits 1; neither it nor --dry-run says outputs were removed."""
    nb = json.loads(make_nb(["model.fit(X, y)", "df.head()"]))
    payload = {"stage": "train", "confidence": 0.9, "model": "nbstage-lstm-abc"}
    nb["cells"][1]["outputs"] = [
        {"output_type": "display_data", "data": {"text/plain": ["stage: train"], STAGE_MIME: payload},
         "metadata": {"nbstage": payload}}]
    path = tmp_path / "a.ipynb"
    path.write_text(nbformat.writes(nbformat.from_dict(nb)) + "\n")
    assert nbstage("tag", "--from-outputs", "-q", path).returncode == 0  # tags current
    before = snapshot(tmp_path)
    r = nbstage("tag", "--from-outputs", "--check", path)
    assert r.returncode == 0 and r.stdout == "", r
    r = nbstage("tag", "--from-outputs", "--check", "--strip-tag-outputs", path)
    assert r.returncode == 1, r
    assert r.stdout == f"{path}: 0 missing, 0 stale, 0 on blank cells, 1 tag output to remove\n"
    assert "1 with missing or stale tags or tag outputs" in r.stderr
    assert "1 tag output would be removed" in r.stderr and "output removed" not in r.stderr
    r = nbstage("tag", "--from-outputs", "--dry-run", "--strip-tag-outputs", path)
    assert r.returncode == 0 and r.stdout == f"{path}: remove 1 tag output\n", r
    assert "1 tag output would be removed" in r.stderr and "output removed" not in r.stderr
    assert snapshot(tmp_path) == before
    r = nbstage("tag", "--from-outputs", "--strip-tag-outputs", path)
    assert r.returncode == 0 and "1 tag output removed" in r.stderr, r.stderr
    assert r.stdout == f"tagged {path} (0 cells changed, 1 tag output removed)\n", r
    r = nbstage("tag", "--from-outputs", "--check", "--strip-tag-outputs", path)
    assert r.returncode == 0 and r.stdout == "", r


# ------------------------------------------------------------------ summary

def test_summary_text_json_svg(model, tmp_path):
    nb = tmp_path / "a.ipynb"
    nb.write_text(make_nb(SIMPLE))
    r = nbstage("summary", "-m", model, nb)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "\033" not in r.stdout, "no colours into a pipe"
    assert lines[0].startswith(f"{nb}: 8 code cells (2 blank), 9 lines of code; stages from ")
    blocks = lines[1].strip()
    assert len(blocks) == 8 and blocks[3:5] == ".." and set(blocks) <= set("LPTEXI.")
    table = {l.split()[1]: l.split()[2:] for l in lines[4:10]}
    assert list(table) == STAGES
    assert sum(int(v[0]) for v in table.values()) == 6
    assert sum(int(v[1]) for v in table.values()) == 9
    r = nbstage("summary", "-m", model, "--color", "always", nb)
    assert "\033[" in r.stdout

    j = nbstage("summary", "-m", model, "--json", nb)
    assert j.returncode == 0
    doc = json.loads(j.stdout)
    assert doc["notebook"] == str(nb) and doc["code_cells"] == 8 and doc["blank"] == 2
    assert [c["index"] for c in doc["cells"]] == list(range(8))
    seq = [c["stage"] for c in doc["cells"] if c["stage"]]
    runs = []
    for s in seq:
        if runs and runs[-1][0] == s:
            runs[-1][1] += 1
        else:
            runs.append([s, 1])
    assert doc["sequence"] == " > ".join(s + (f" x{n}" if n > 1 else "") for s, n in runs)
    assert blocks.replace(".", "") == "".join("LPTEXI"[STAGES.index(s)] for s in seq)
    assert abs(sum(v["share"] for v in doc["stages"].values()) - 1) < 1e-3

    # after tagging, the saved tags tell the same story
    assert nbstage("tag", "-m", model, "-q", nb).returncode == 0
    saved = json.loads(nbstage("summary", "--saved", "--json", nb).stdout)
    assert [c["stage"] for c in saved["cells"]] == [c["stage"] for c in doc["cells"]]
    assert saved["model"] == "saved tags"

    svg = tmp_path / "map.svg"
    other = tmp_path / "b.ipynb"
    other.write_text(make_nb(["import os", "df.head()"]))
    r = nbstage("summary", "-m", model, "--svg", svg, nb, other)
    assert r.returncode == 0, r.stderr
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    assert len(root.findall(f"{ns}g")) == 2
    assert len(root.findall(f".//{ns}g/{ns}rect")) == 8 + 2
    assert r.stdout.count("code cells") == 2

    # --svg -: the picture alone, on stdout (it wrote a file named '-')
    r = nbstage("summary", "-m", model, "--svg", "-", nb, other, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert ET.fromstring(r.stdout).tag == f"{ns}svg" and not (tmp_path / "-").exists()
    r = nbstage("summary", "-m", model, "--svg", "-", "--json", nb)
    assert r.returncode == 2 and "stdout" in r.stderr


def test_summary_json_counts_code_cells_from_0(model, tmp_path):
    """summary --help: the JSON's "index" counts code cells from 0, as the cell ids of
    ingest and label do (path#index), tag --dry-run and the SVG's titles too.  (Once
    it gave the index among all cells, 1, 3, 4 here; then code cells from 1, while
    tag --dry-run counted all cells from 1 and classify code cells from 0.)"""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# a"),
                nbformat.v4.new_code_cell("import os"),
                nbformat.v4.new_markdown_cell("b"),
                nbformat.v4.new_code_cell("df = pd.read_csv('x.csv')"),
                nbformat.v4.new_code_cell("df.head()")]
    p = tmp_path / "m.ipynb"
    p.write_text(nbformat.writes(nb) + "\n")
    r = nbstage("summary", "-m", model, "--json", p)
    assert r.returncode == 0, r.stderr
    assert [c["index"] for c in json.loads(r.stdout)["cells"]] == [0, 1, 2]


def test_summary_bad_input(model, tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{")
    good = tmp_path / "good.ipynb"
    good.write_text(make_nb(["import os"]))
    r = nbstage("summary", "-m", model, bad, good)
    assert r.returncode == 2
    assert f"{bad}:1:" in r.stderr
    assert f"{good}: 1 code cell" in r.stdout
    assert nbstage("summary", "-m", model, "--color", "sometimes", good).returncode == 2
    assert nbstage("summary").returncode == 2


def test_summary_file_names_not_utf8(model, tmp_path):
    """A file name that is not UTF-8 (a Latin-1 crawl, an old zip) is shown in the SVG
    as every message shows it (\\xe9; it was U+FFFD, the byte lost), which must stay
    valid XML; the notebooks after it are still done.  In the
    JSON of summary, ingest and classify it was U+FFFD too, the name lost; it is now
    written as Python's json writes os.fsdecode(name), the byte 0xe9 as \\udce9, which
    json.loads reads back and os.fsencode turns into the name's bytes."""
    d = tmp_path / "nbs"
    d.mkdir()
    bad = os.fsencode(d) + b"/caf\xe9 \x01.ipynb"
    with open(bad, "w") as f:
        f.write(make_nb(["import os"]))
    (d / "z.ipynb").write_text(make_nb(["df.head()"]))
    r = subprocess.run([str(BIN), "summary", "-m", str(model), "--json", str(d)],
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    docs = [json.loads(l) for l in r.stdout.decode("utf-8").splitlines()]
    assert [x["notebook"] for x in docs] == [f"{d}/caf\udce9 \x01.ipynb", f"{d}/z.ipynb"]
    assert os.fsencode(docs[0]["notebook"]) == bad
    assert b'caf\\udce9 \\u0001.ipynb"' in r.stdout  # as json.dumps(os.fsdecode(name)) writes it
    svg = tmp_path / "map.svg"
    r = subprocess.run([str(BIN), "summary", "-m", str(model), "--svg", str(svg), str(d)],
                       capture_output=True)
    assert r.returncode == 0, r.stderr
    # the text map shows the name as every message does: control characters and bytes
    # that are not UTF-8 escaped (as it is, 0xe9 and 0x01 went to the terminal raw)
    assert b"/caf\\xe9 \\x01.ipynb: 1 code cell" in r.stdout, r.stdout
    titles = [t.text for t in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert f"{d}/caf\\xe9 \\x01.ipynb" in titles
    # ingest's ids are JSON too, and the rest of nbstage reads them back
    r = subprocess.run([str(BIN), "ingest", "-q", str(d)], capture_output=True)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(l) for l in r.stdout.decode("utf-8").splitlines()]
    assert [x["id"] for x in lines] == ["caf\udce9 \x01.ipynb#0", "z.ipynb#0"]
    assert os.fsencode(lines[0]["notebook"]) == os.path.basename(bad)
    r = subprocess.run([str(BIN), "classify", "-m", str(model), "--json", bad], capture_output=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.decode("utf-8"))["id"] == f"{d}/caf\udce9 \x01.ipynb#0"
    # an error's line and a line of a notebook that is not Python name it the same way
    (d / "z.ipynb").unlink()
    with open(bad, "w") as f:
        f.write("{")
    with open(os.fsencode(d) + b"/r\xff.ipynb", "w") as f:
        f.write(make_nb(["x <- 1"], {"kernelspec": {"name": "ir", "language": "R", "display_name": "R"}}))
    r = subprocess.run([str(BIN), "summary", "-m", str(model), "--json", str(d)], capture_output=True)
    docs = [json.loads(l) for l in r.stdout.decode("utf-8").splitlines()]
    assert [(os.fsencode(x["notebook"]), "error" in x, x.get("language")) for x in docs] == \
        [(bad, True, None), (os.fsencode(d) + b"/r\xff.ipynb", False, "r")], docs
    # label reads ingest's lines with jansson (UTF-8 only), the \\udce9 as U+FFFD, as it
    # read the U+FFFD ingest wrote before
    e = tmp_path / "py"
    e.mkdir()
    with open(os.fsencode(e) + b"/p\xff.ipynb", "w") as f:
        f.write(make_nb(["import os"]))
    r = subprocess.run([str(BIN), "summary", "-m", str(model), "--json", str(e)], capture_output=True)
    assert r.returncode == 0 and r.stdout.startswith(b'{"notebook":"' + os.fsencode(e) + b'/p\\udcff.ipynb",')
    assert os.fsencode(json.loads(r.stdout)["notebook"]) == os.fsencode(e) + b"/p\xff.ipynb"
    cells = tmp_path / "cells.jsonl"
    cells.write_bytes(subprocess.run([str(BIN), "ingest", "-q", str(e)], capture_output=True).stdout)
    assert b'"p\\udcff.ipynb#0"' in cells.read_bytes()
    r = subprocess.run([str(BIN), "label", str(cells)], capture_output=True)
    assert r.returncode == 0, r.stderr
    assert [json.loads(l)["id"] for l in r.stdout.decode().splitlines()] == ["p\ufffd.ipynb#0"]


def test_help_and_usage_errors():
    """Every command: --help on stdout with exit 0, an unknown option or a missing
    argument on stderr with exit 2; `nbstage help CMD` is `nbstage CMD --help`, as git's."""
    for cmd in ["ingest", "fmt", "label", "train", "eval", "classify", "tag", "summary",
                "install-kernel"]:
        h = nbstage(cmd, "--help")
        assert h.returncode == 0 and h.stdout.startswith(f"usage: nbstage {cmd}"), cmd
        assert nbstage("help", cmd).stdout == h.stdout, cmd
        r = nbstage(cmd, "--no-such-option", stdin=subprocess.DEVNULL)
        assert r.returncode == 2 and "no-such-option" in r.stderr and r.stdout == "", cmd
    assert nbstage("help").returncode == 0
    r = nbstage("help", "nope")
    assert r.returncode == 2 and "unknown command 'nope'" in r.stderr
    v = nbstage("--version")
    assert v.returncode == 0 and re.fullmatch(r"nbstage \d+\.\d+\.\d+\n", v.stdout), v.stdout
    assert nbstage("version").stdout == v.stdout


def usage_lines(help_text):
    """A --help's usage lines: "usage: ..." and the indented lines that continue it."""
    lines = help_text.splitlines()
    n = 1
    while n < len(lines) and lines[n].startswith(" "):
        n += 1
    return lines[:n]


def test_a_usage_error_is_said_with_the_usage_lines_only():
    """`nbstage tag -o` or `tag --bogus` printed its one-line error, then the whole
    --help (50-60 lines) on stderr, which buried it.  Now, as GNU tools and git: the
    error, the command's usage lines, "Try 'nbstage CMD --help' for more.", exit 2;
    for every command, an unknown option, an option without its value or a missing
    argument alike, and for nbstage-kernel."""
    cases = [(["tag", "-o"], "option requires an argument"), (["tag", "--bogus"], "--bogus"),
             (["tag"], "no PATH given"), (["fmt"], "no PATH given"), (["ingest", "-j"], "requires"),
             (["summary"], "no NOTEBOOK given"), (["classify", "a", "b"], "one FILE, not 2"),
             (["label", "a", "b"], "one CELLS.jsonl"), (["train", "w.jsonl"], "no -o MODEL.nbsm"),
             (["eval", "x.jsonl"], "no --gold"), (["install-kernel", "x"], "unexpected argument 'x'")]
    cases += [([c, "--no-such-option"], "no-such-option")
              for c in ["ingest", "fmt", "label", "train", "eval", "classify", "tag", "summary",
                        "install-kernel"]]
    for args, why in cases:
        r = nbstage(*args, stdin=subprocess.DEVNULL)
        usage = usage_lines(nbstage(args[0], "--help").stdout)
        lines = r.stderr.splitlines()
        assert r.returncode == 2 and r.stdout == "", (args, r)
        assert lines[0].startswith(f"nbstage {args[0]}: ") and why in lines[0], (args, r.stderr)
        assert lines[1:] == usage + [f"Try 'nbstage {args[0]} --help' for more."], (args, r.stderr)
    r = subprocess.run([str(KERNEL)], capture_output=True, text=True, timeout=10)
    h = subprocess.run([str(KERNEL), "--help"], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and len(usage_lines(h.stdout)) == 3, (r, h.stdout)
    assert r.stderr.splitlines() == ["nbstage-kernel: no connection file (-f FILE)",
                                     *usage_lines(h.stdout), "Try 'nbstage-kernel --help' for more."]


def test_dash_output_is_stdout(tmp_path):
    """`-o -` is standard output for ingest and label, as for tag: no file named '-'."""
    nb = tmp_path / "n.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "metadata": {},
                                         "outputs": [], "source": "import pandas as pd"}],
                              "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    r = nbstage("ingest", "-q", "-o", "-", nb, cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout)["id"] == "n.ipynb#0", r.stderr
    r = nbstage("label", "-o", "-", cwd=tmp_path, input=r.stdout)
    assert r.returncode == 0 and json.loads(r.stdout)["id"] == "n.ipynb#0", r.stderr
    assert not (tmp_path / "-").exists()


def test_pre_commit_hook_runs_the_check():
    import yaml
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    check = next(h for h in hooks if h["id"] == "nbstage-tag-check")
    assert check["entry"].split()[:3] == ["nbstage", "tag", "--check"]
    assert check["language"] == "system" and check["files"] == r"(?i)\.ipynb$"
