"""test_pre_commit.py — the hooks of .pre-commit-hooks.yaml under the real pre-commit,
as a user runs them: a git repository in a temporary folder, a .pre-commit-config.yaml
naming nbstage's hooks by repo and rev, `pre-commit install`, then `git commit`.

- nbstage-tag-check: a commit of untagged notebooks is refused and the output names
  them; after `nbstage tag` it goes through; a cell edited afterwards so that its tag is
  stale is refused again (only that notebook named).
- nbstage-tag: the hook rewrites the notebooks and pre-commit refuses the commit with
  "files were modified by this hook", as it does for any fixer; the second commit passes.
- Many files: pre-commit splits them into batches run at once (one per CPU); every
  untagged notebook of every batch is named, the tagged ones are not, and the set is
  the one a single `nbstage tag --check` over all of them reports. Names with spaces.

The hooks repository is a git repository made here from this checkout's working
.pre-commit-hooks.yaml (what `pre-commit try-repo` does for a checkout with uncommitted
changes), so the file under test is the one in the tree, committed or not; `rev:` is its
commit. All local: no network, PRE_COMMIT_HOME in the temporary folder (nothing in
~/.cache), global and system git configuration ignored. The hooks are `language:
system`, so `nbstage` comes from the PATH: NBSTAGE_BIN (else the repo root) is put in
front, and the program finds its default model beside itself (or NBSTAGE_MODEL).

Skipped, with the reason, when pre-commit is not installed (tests/deps.sh installs
Debian's pre-commit).
"""
import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
BINDIR = Path(os.environ.get("NBSTAGE_BIN", ROOT)).resolve()
BIN = BINDIR / "nbstage"
SHARED = Path(os.environ.get("NBSTAGE_SHARED", ROOT.parent / "shared"))
PRE_COMMIT = shutil.which("pre-commit")
MODIFIED = "files were modified by this hook"

pytestmark = [
    pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built"),
    pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed "
                       "(apt-get install pre-commit; tests/deps.sh)"),
]


def make_nb(sources):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("# Notes"))
    for s in sources:
        nb.cells.append(nbformat.v4.new_code_cell(s))
    for i, c in enumerate(nb.cells):
        c.id = f"c{i}"
    return nbformat.writes(nb) + "\n"


CLEAN = ["import pandas as pd\nimport numpy as np", "df = pd.read_csv('train.csv')",
         "df.head()", "X = df.drop('y', axis=1)\ny = df['y']",
         "model = RandomForestClassifier()\nmodel.fit(X, y)",
         "print(accuracy_score(y_test, model.predict(X_test)))"]
EDA = ["import matplotlib.pyplot as plt\nimport seaborn as sns", "data = pd.read_json('data.json')",
       "data.describe()", "sns.countplot(x='label', data=data)\nplt.show()"]
# sources of clearly different stages, to make a cell's tag stale by editing its code
REPLACEMENTS = ["clf = LogisticRegression(C=1.0)\nclf.fit(X_train, y_train)",
                "df = pd.read_csv('other.csv')", "import os\nimport sys",
                "print(classification_report(y_test, clf.predict(X_test)))"]


class Repo:
    """A user's git repository in D/repo with pre-commit installed for HOOK_IDS of a
    hooks repository made from this checkout's .pre-commit-hooks.yaml."""

    def __init__(self, d: Path, hook_ids, path_prefix=None):
        self.d = d
        self.path = d / "repo"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        (d / "gitconfig").write_text("")  # an empty global configuration, the user's ignored
        self.env.update(PRE_COMMIT_HOME=str(d / "pre-commit-home"),
                        GIT_CONFIG_GLOBAL=str(d / "gitconfig"), GIT_CONFIG_NOSYSTEM="1",
                        PATH=os.pathsep.join([*([str(path_prefix)] if path_prefix else []),
                                              str(BINDIR), os.environ.get("PATH", "")]))
        self.env.pop("PRE_COMMIT", None)
        self.env.pop("PRE_COMMIT_NO_CONCURRENCY", None)
        if not self.env.get("NBSTAGE_MODEL"):
            probe = d / "probe.ipynb"
            probe.write_text(make_nb(["df.head()"]))
            r = subprocess.run([str(BIN), "tag", "--check", "-q", str(probe)],
                               capture_output=True, text=True)
            probe.unlink()
            if "no model" in r.stderr:  # not beside the program: the checkout's
                self.env["NBSTAGE_MODEL"] = str(ROOT / "share" / "default.nbsm")
        hooks = d / "nbstage-hooks"
        hooks.mkdir()
        shutil.copy(ROOT / ".pre-commit-hooks.yaml", hooks)
        self.git("init", "-q", cwd=hooks)
        self.git("add", ".pre-commit-hooks.yaml", cwd=hooks)
        self.git("-c", "user.name=nbstage", "-c", "user.email=nbstage@example.com",
                 "commit", "-q", "-m", "hooks", cwd=hooks)
        rev = self.git("rev-parse", "HEAD", cwd=hooks).stdout.strip()
        self.path.mkdir()
        self.git("init", "-q")
        self.git("config", "user.name", "A User")
        self.git("config", "user.email", "user@example.com")
        (self.path / ".pre-commit-config.yaml").write_text(
            "repos:\n"
            f"- repo: {hooks}\n"
            f"  rev: {rev}\n"
            "  hooks:\n" + "".join(f"  - id: {h}\n" for h in hook_ids))
        r = self.run([PRE_COMMIT, "install"])
        assert r.returncode == 0 and "pre-commit installed" in r.stdout, r.stdout + r.stderr
        # the configuration goes in first, as a user commits it: no notebook, nothing to check
        r = self.commit(".pre-commit-config.yaml", msg="pre-commit")
        assert r.returncode == 0, r.out
        assert "(no files to check)Skipped" in r.out, r.out

    def run(self, cmd, cwd=None):
        return subprocess.run(cmd, cwd=cwd or self.path, env=self.env,
                              capture_output=True, text=True, timeout=120)

    def git(self, *args, cwd=None):
        r = self.run(["git", *args], cwd=cwd)
        assert r.returncode == 0, f"git {args}: {r.stderr}"
        return r

    def nbstage(self, *args):
        return self.run([str(BIN), *args])

    def write(self, rel, text):
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    def commit(self, *paths, msg="notebooks"):
        """git add PATHS, then a real `git commit` (the pre-commit hook runs in it)."""
        if paths:
            self.git("add", "--", *paths)
        r = self.run(["git", "commit", "-m", msg])
        r.out = r.stdout + r.stderr
        return r

    def head_count(self):
        return int(self.git("rev-list", "--count", "HEAD").stdout)

    def staged(self):
        return self.git("diff", "--cached", "--name-only").stdout.split("\n")[:-1]


def listed(out):
    """The notebooks `nbstage tag --check` names: 'PATH: N missing, M stale, ...'."""
    return {m.group(1) for m in re.finditer(r"^(.+?\.(?i:ipynb)): \d+ missing, \d+ stale", out, re.M)}


def stages(p: Path):
    return [c["metadata"].get("workflow_stage", {}).get("stage")
            for c in json.loads(p.read_text())["cells"] if c["cell_type"] == "code"]


def test_check_hook_refuses_untagged_and_stale_notebooks(tmp_path):
    repo = Repo(tmp_path, ["nbstage-tag-check"])
    a = repo.write("clean.ipynb", make_nb(CLEAN))
    b = repo.write("analysis/eda notes.ipynb", make_nb(EDA))

    # untagged: refused, both named, nothing committed, nothing changed
    before = (a.read_bytes(), b.read_bytes())
    r = repo.commit("clean.ipynb", "analysis/eda notes.ipynb")
    assert r.returncode != 0, r.out
    assert re.search(r"^nbstage tag --check\.+Failed$", r.out, re.M), r.out
    assert "- exit code: 1" in r.out, r.out
    assert listed(r.out) == {"clean.ipynb", "analysis/eda notes.ipynb"}, r.out
    assert repo.head_count() == 1
    assert (a.read_bytes(), b.read_bytes()) == before, "the check changes nothing"

    # tagged with `nbstage tag`: the commit goes through
    t = repo.nbstage("tag", "-q", "clean.ipynb", "analysis/eda notes.ipynb")
    assert t.returncode == 0, t.stderr
    assert None not in stages(a) + stages(b)
    r = repo.commit("clean.ipynb", "analysis/eda notes.ipynb")
    assert r.returncode == 0, r.out
    assert re.search(r"^nbstage tag --check\.+Passed$", r.out, re.M), r.out
    assert repo.head_count() == 2 and repo.staged() == []

    # one cell's code edited so its tag is stale: refused again, that notebook alone named
    nb = json.loads(b.read_text())
    cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
    old = cell["metadata"]["workflow_stage"]["stage"]
    for src in REPLACEMENTS:
        cell["source"] = src
        b.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        t = repo.nbstage("tag", "-o", "-", "analysis/eda notes.ipynb")
        assert t.returncode == 0, t.stderr
        new = [c for c in json.loads(t.stdout)["cells"] if c["cell_type"] == "code"][0]
        if new["metadata"]["workflow_stage"]["stage"] != old:
            break
    else:
        pytest.fail(f"no replacement source classified other than {old!r}")
    r = repo.commit("analysis/eda notes.ipynb", msg="edit")
    assert r.returncode != 0, r.out
    assert listed(r.out) == {"analysis/eda notes.ipynb"}, r.out
    assert re.search(r"^analysis/eda notes\.ipynb: 0 missing, 1 stale", r.out, re.M), r.out
    assert repo.head_count() == 2

    # re-tagged: goes through
    assert repo.nbstage("tag", "-q", "analysis/eda notes.ipynb").returncode == 0
    r = repo.commit("analysis/eda notes.ipynb", msg="edit")
    assert r.returncode == 0, r.out
    assert repo.head_count() == 3


def test_tag_hook_rewrites_the_notebooks_then_the_commit_passes(tmp_path):
    """-o.ipynb at the top: pre-commit passes the names after the entry's options, and
    without a `--` it was read as `-o .ipynb` (the hook 'Passed', nothing tagged, a
    stray .ipynb written)."""
    repo = Repo(tmp_path, ["nbstage-tag"])
    a = repo.write("clean.ipynb", make_nb(CLEAN))
    b = repo.write("analysis/eda notes.ipynb", make_nb(EDA))
    c = repo.write("-o.ipynb", make_nb(EDA))
    r = repo.commit("clean.ipynb", "analysis/eda notes.ipynb", "-o.ipynb")
    # pre-commit's way with a fixer: it changed files, so this commit is refused ...
    assert r.returncode != 0, r.out
    assert re.search(r"^nbstage tag\.+Failed$", r.out, re.M), r.out
    assert MODIFIED in r.out, r.out
    assert repo.head_count() == 1
    # ... and the files in the tree are tagged (the staged ones are not, yet)
    assert None not in stages(a) + stages(b) + stages(c)
    assert not (repo.path / ".ipynb").exists()
    assert repo.nbstage("tag", "--check", "--", "clean.ipynb",
                        "analysis/eda notes.ipynb", "-o.ipynb").returncode == 0
    assert sorted(repo.git("diff", "--name-only").stdout.splitlines()) == \
        ["-o.ipynb", "analysis/eda notes.ipynb", "clean.ipynb"]
    # the user adds the hook's changes: the second commit passes, the hook changes nothing
    tagged = (a.read_bytes(), b.read_bytes())
    r = repo.commit("clean.ipynb", "analysis/eda notes.ipynb", "-o.ipynb")
    assert r.returncode == 0, r.out
    assert re.search(r"^nbstage tag\.+Passed$", r.out, re.M), r.out
    assert repo.head_count() == 2
    assert (a.read_bytes(), b.read_bytes()) == tagged
    assert repo.git("status", "--porcelain").stdout == ""


def many_notebooks(repo, n):
    names = []
    for i in range(n):
        rel = f"nb {i:02d}/notebook {i}.ipynb" if i % 3 == 0 else f"nbs/n{i:02d}.ipynb"
        repo.write(rel, make_nb(CLEAN if i % 2 else EDA))
        names.append(rel)
    return names


def logging_nbstage(d: Path):
    """A folder with an `nbstage` that logs each invocation's argument count, then runs
    the real one (which finds its model beside itself as before)."""
    wrap = d / "wrap"
    wrap.mkdir()
    log = d / "invocations"
    script = wrap / "nbstage"
    script.write_text(f'#!/bin/sh\necho "$#" >> "{log}"\nexec "{BIN}" "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return wrap, log


def test_check_hook_on_many_files_in_batches(tmp_path):
    wrap, log = logging_nbstage(tmp_path)
    repo = Repo(tmp_path, ["nbstage-tag-check"], path_prefix=wrap)
    names = many_notebooks(repo, 40)
    untagged = set(names[::7])
    t = repo.nbstage("tag", "-q", *[n for n in names if n not in untagged])
    assert t.returncode == 0, t.stderr
    log.write_text("")
    r = repo.commit(*names)
    assert r.returncode != 0, r.out
    assert listed(r.out) == untagged, r.out
    calls = [int(x) for x in log.read_text().split()]
    # pre-commit passes the files in batches, one per CPU, run at once; each batch is
    # `nbstage tag --check --quiet -- f1 f2 ...` (4 arguments before the files)
    assert sum(calls) == len(calls) * 4 + len(names), calls
    if (os.cpu_count() or 1) > 1:  # (a hook with require_serial: true gets one batch)
        assert len(calls) > 1, f"pre-commit ran one batch, not one per CPU: {calls}"
    assert repo.nbstage("tag", "-q", *untagged).returncode == 0
    r = repo.commit(*untagged)
    assert r.returncode == 0, r.out
    assert repo.head_count() == 2


def test_check_hook_takes_notebooks_named_in_any_case(tmp_path):
    """A notebook committed as NOTES.IPYNB (saved so on a case-insensitive filesystem)
    is one to `nbstage tag` and to every command walking a folder, but the hooks'
    `files: \\.ipynb$` never gave it to them: committed untagged, unchecked.  The
    hooks take the suffix in any case, as the walk does; other files still are not
    given."""
    repo = Repo(tmp_path, ["nbstage-tag-check"])
    repo.write("NOTES.IPYNB", make_nb(CLEAN))
    repo.write("a.ipynb", make_nb(EDA))
    repo.write("notes.txt", "not a notebook\n")
    r = repo.commit("NOTES.IPYNB", "a.ipynb", "notes.txt")
    assert r.returncode != 0, r.out
    assert listed(r.out) == {"NOTES.IPYNB", "a.ipynb"}, r.out
    assert repo.nbstage("tag", "-q", ".").returncode == 0
    r = repo.commit("NOTES.IPYNB", "a.ipynb", "notes.txt")
    assert r.returncode == 0, r.out


def test_hooks_pass_over_hidden_files_as_the_walk_does(tmp_path):
    """A committed .ipynb_checkpoints/ copy, macOS's ._a.ipynb (AppleDouble, binary) and
    a notebook in a hidden folder match `files: \\.ipynb$`, but `nbstage tag --check .`
    (the walk, as in CI) passes them over as Jupyter's file browser hides them.  The
    hooks were given them by name: the checkpoint's missing tags refused the commit,
    the AppleDouble file failed it (exit 2, "a NUL byte"), and nbstage-tag rewrote the
    checkpoint.  The hooks exclude them, as the walk does."""
    repo = Repo(tmp_path, ["nbstage-tag-check", "nbstage-tag"])
    a = repo.write("nbs/a.ipynb", make_nb(CLEAN))
    assert repo.nbstage("tag", "-q", "nbs/a.ipynb").returncode == 0
    hidden = {"nbs/.ipynb_checkpoints/a-checkpoint.ipynb": make_nb(EDA).encode(),
              "nbs/._a.ipynb": b"\0\5\26\7\0\2\0\0Mac OS X        \0\0",
              ".scratch/b.ipynb": make_nb(EDA).encode()}
    for rel, data in hidden.items():
        repo.write(rel, "")
        (repo.path / rel).write_bytes(data)
    walk = repo.nbstage("tag", "--check", ".")
    assert walk.returncode == 0, walk.stdout + walk.stderr
    r = repo.commit("nbs", ".scratch")
    assert r.returncode == 0, r.out
    assert re.search(r"^nbstage tag --check\.+Passed$", r.out, re.M), r.out
    assert re.search(r"^nbstage tag\.+Passed$", r.out, re.M), r.out
    assert sorted(repo.git("show", "--name-only", "--format=", "HEAD").stdout.split("\n")[:-1]) \
        == sorted(["nbs/a.ipynb", *hidden]), "all of them committed"
    assert {rel: (repo.path / rel).read_bytes() for rel in hidden} == hidden, "left as they were"
    assert stages(a) and None not in stages(a)


def test_check_hook_on_a_merge_left_with_conflict_markers(tmp_path):
    """A real merge whose notebooks conflict, one added with git's markers still in it:
    the hook fails (exit 2), names that file and says it holds a merge conflict marker
    (it said "invalid token near '<'"), leaves it as it is, and still lists the other
    conflicted notebook, resolved by hand without its tags."""
    repo = Repo(tmp_path, ["nbstage-tag-check"])
    a = repo.write("a.ipynb", make_nb(CLEAN))
    b = repo.write("b.ipynb", make_nb(EDA))
    assert repo.nbstage("tag", "-q", "a.ipynb", "b.ipynb").returncode == 0
    assert repo.commit("a.ipynb", "b.ipynb").returncode == 0
    base = repo.git("branch", "--show-current").stdout.strip()
    for branch, k in (("other", 0), (base, 1)):
        if branch == "other":
            repo.git("checkout", "-q", "-b", "other")
        else:
            repo.git("checkout", "-q", base)
        for p in (a, b):
            nb = json.loads(p.read_text())
            next(c for c in nb["cells"] if c["cell_type"] == "code")["source"] = REPLACEMENTS[k]
            p.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
        assert repo.nbstage("tag", "-q", "a.ipynb", "b.ipynb").returncode == 0
        assert repo.commit("a.ipynb", "b.ipynb", msg=branch).returncode == 0
    m = repo.run(["git", "merge", "other"])
    assert m.returncode != 0 and "CONFLICT" in m.stdout, m.stdout + m.stderr
    assert "<<<<<<< " in a.read_text()
    b.write_text(make_nb(EDA))  # resolved by hand, its tags not written
    conflicted = a.read_bytes()
    r = repo.commit("a.ipynb", "b.ipynb")
    assert r.returncode != 0, r.out
    assert "- exit code: 2" in r.out, r.out
    assert re.search(r"^nbstage tag: a\.ipynb:\d+:1: a merge conflict marker", r.out, re.M), r.out
    assert listed(r.out) == {"b.ipynb"}, r.out
    assert a.read_bytes() == conflicted


@pytest.mark.skipif(not (SHARED / "notebooks-with-outputs").is_dir(), reason="../shared absent")
def test_check_hook_on_real_notebooks(tmp_path):
    """../shared/notebooks-with-outputs committed at once: the hook, in pre-commit's
    batches, names the same notebooks as one `nbstage tag --check` over the folder;
    after `nbstage tag` the commit goes through."""
    repo = Repo(tmp_path, ["nbstage-tag-check"])
    shutil.copytree(SHARED / "notebooks-with-outputs", repo.path / "nbs")
    for p in [repo.path / "nbs", *(repo.path / "nbs").rglob("*")]:  # ../shared has no write bits
        p.chmod(p.stat().st_mode | stat.S_IWUSR)
    direct = repo.nbstage("tag", "--check", "-q", "nbs")
    assert direct.returncode == 1, direct.stderr
    expected = listed(direct.stdout + direct.stderr)
    assert len(expected) > 100
    r = repo.commit("nbs")
    assert r.returncode != 0, r.out
    assert listed(r.out) == expected
    assert repo.nbstage("tag", "-q", "nbs").returncode == 0
    r = repo.commit("nbs")
    assert r.returncode == 0, r.out
    assert re.search(r"^nbstage tag --check\.+Passed$", r.out, re.M), r.out
