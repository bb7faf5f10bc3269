"""test_readme_commands.py — the README's Usage commands as a newcomer runs them:
copied from README.md's code blocks, word for word, into a shell whose PATH finds the
programs under test, on notebooks and labels made here.  Each must exit as the README
and its --help say, and leave the files it names.  A flag renamed in the code, or
mistyped in the README, fails here.  Also what the commands' --help texts promise a
newcomer about their defaults, and that `make fuzz`, a target the README lists and
`make test` does not otherwise build, still builds and runs.  And that every option and
source file the README names still exists, so a renamed one cannot leave it stale.

Helpers, the notebooks and the model are test_tag.py's.
"""
import json
import os
import random
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

# model: test_tag.py's fixture, asked for by name
from test_tag import BIN, BINDIR, ROOT, SIMPLE, TEMPLATES, make_nb, model, nbstage  # noqa: F401

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built")

README = ROOT / "README.md"


def readme_block(section: str, n: int = 0) -> list:
    """The command lines of the Nth (from 0) indented code block after the line SECTION
    (a heading, or a line of its own such as "Commands for these rows:"), within that
    section."""
    text = README.read_text(encoding="utf-8").splitlines()
    i = text.index(section) + 1
    for k in range(n + 1):
        while not text[i].startswith("    "):
            assert not text[i].startswith("#"), f"{section}: no code block {n}"
            i += 1
        lines = []
        while i < len(text) and text[i].startswith("    "):
            lines.append(text[i][4:])
            i += 1
    # a line ending in a backslash goes on in the next one, as in a shell
    return [l for l in "\n".join(lines).replace("\\\n", " ").splitlines() if l.strip()]


def run(line: str, cwd: Path, model: Path, env=None):
    env = dict(env or os.environ, PATH=f"{BINDIR.resolve()}:{os.environ['PATH']}", NBSTAGE_MODEL=str(model))
    return subprocess.run(["sh", "-c", line], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


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
    # the pipe the next paragraph shows: label's weak labels scored from stdin
    text = " ".join(README.read_text(encoding="utf-8").split())
    pipes = re.findall(r"`(nbstage label [^`]*\| *nbstage eval [^`]*)`", text)
    assert pipes, "the README's label | eval example is gone"
    for line in pipes:
        r = run(line, tmp_path, model)
        assert r.returncode == 0, (line, r.stdout, r.stderr)
        assert r.stdout.startswith("predictions: <stdin>\n"), r.stdout
        assert re.search(r"^accuracy \d\.\d{4}, macro-F1 \d\.\d{4}", r.stdout, re.M), r.stdout


def test_the_default_models_recipe_is_make_models_and_runs(model, tmp_path):
    """The README's recipe for training as the default model was trained, on one's own
    corpus: its train options are make-model.sh's TRAIN_OPTS (all but --seed, whose
    default is the same 1), so that the two cannot drift apart; and the three lines
    run as written (fewer epochs and a small embedding, for time) and write the model,
    which records the assignment words, the context and the rounding."""
    lines = readme_block("trains once more on every notebook, with `--val-split 0` and the best epoch count):")
    assert [l.split()[:2] for l in lines] == [["nbstage", "ingest"], ["nbstage", "label"], ["nbstage", "train"]], lines
    script = (ROOT / "share/make-model.sh").read_text(encoding="utf-8")
    m = re.search(r"TRAIN_OPTS=\$\{TRAIN_OPTS:-(.*?)\}\n", script, re.S)
    assert m, "make-model.sh: no TRAIN_OPTS default"
    shipped = m.group(1).replace("\\\n", " ").split()
    assert shipped[-2:] == ["--seed", "1"], shipped
    words = lines[2].split()
    readme_opts = [w for w in words[2:] if w not in ("weak.jsonl", "--cells", "cells.jsonl", "-o", "my.nbsm")]
    assert readme_opts == shipped[:-2], (readme_opts, shipped)
    assert "--statements" in lines[1].split()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    rng = random.Random(7)
    for n in range(8):
        srcs = [rng.choice(TEMPLATES[st]).format(f="data", c="age", n=rng.randint(1, 99))
                for st in ("imports", "load", "explore", "prep", "train", "evaluate")]
        (corpus / f"nb{n}.ipynb").write_text(make_nb(srcs))
    for line in lines:
        if line.split()[1] == "train":
            line = line.replace("--epochs 6", "--epochs 2 --embed 16")
        r = run(line, tmp_path, model)
        assert r.returncode == 0, (line, r.stdout, r.stderr)
    r = run("nbstage classify --model my.nbsm cells.jsonl", tmp_path, model)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 8 * 6 and '"stage": null' not in r.stdout, r.stdout[:500]
    data = (tmp_path / "my.nbsm").read_bytes()
    assert b"assignment words" in data and b"; context" in data
    assert b"; recurrent weights rounded to bf16" in data


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


@pytest.mark.long  # builds the library again with clang
@pytest.mark.plain_build_only
@pytest.mark.skipif(shutil.which("clang") is None, reason="clang absent (make deps)")
def test_make_fuzz_builds_and_runs(tmp_path):
    """`make fuzz`, one of the README's targets, stopped at its first compile since
    35d815e: tests/fuzz/fuzz_nbformat.c still compared canonscan's cells[k].index, a
    member that commit removed, and nothing in `make test` built the fuzz targets.
    Here all of them are built as `make fuzz` builds them and run for a second each."""
    r = subprocess.run(["make", "--no-print-directory", "fuzz", f"B={tmp_path}"],
                       cwd=ROOT, env=dict(os.environ, FUZZ_SECONDS="1", SHARED=str(tmp_path / "none")),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "fuzz: no crash, leak or sanitizer report" in r.stdout, r.stdout


def includers(header: str) -> set:
    """The library's and programs' .c files that include HEADER, directly or through
    other headers (every include in the tree is "folder/file.h", from the root)."""
    srcs = [p for d in ("nbformat", "labeling", "model", "kernel") for p in sorted((ROOT / d).glob("*.[ch]"))]
    incs = {p.relative_to(ROOT).as_posix(): set(re.findall(r'^\s*#\s*include\s+"([^"]+)"',
                                                         p.read_text(encoding="utf-8"), re.M))
            for p in srcs}
    reach = {header}
    while True:
        more = {f for f, i in incs.items() if i & reach} - reach
        if not more:
            return {f for f in reach if f.endswith(".c")}
        reach |= more


@pytest.mark.long  # builds the tree again
@pytest.mark.plain_build_only
def test_a_header_edit_rebuilds_only_what_includes_it(tmp_path):
    """The Makefile made every object depend on every header, so that any header edit
    rebuilt the whole tree.  The compiles now write their dependencies (-MMD -MP): after
    a build (here at -O0, in a scratch B), a newer nbformat/nblang.h remakes just the
    objects whose source includes it, directly or not, and the links; a newer .c just its
    object; an object with no .d yet (built by the older Makefile) still every header's.
    Read with make -n -W (a file taken as new), so nothing in the tree is touched."""
    mk = ["make", "--no-print-directory", f"B={tmp_path}", f"BIN={tmp_path}", "CFLAGS=-O0"]
    r = subprocess.run(mk + ["-j2", "all"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]

    def remade(new: str) -> list:
        r = subprocess.run(mk + ["-n", "-W", new, "all"], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return sorted(re.findall(r'^echo "CC (\S+)"', r.stdout, re.M)), r.stdout

    want = includers("nbformat/nblang.h")
    assert {"nbformat/nblang.c", "model/tagjob.c", "kernel/main_kernel.c"} <= want, want  # through headers
    got, out = remade("nbformat/nblang.h")
    assert got == sorted(want), (got, sorted(want))
    assert f"-o {tmp_path}/nbstage " in out and f"-o {tmp_path}/nbstage-kernel " in out, out
    assert remade("model/tagrun.c")[0] == ["model/tagrun.c"]
    (tmp_path / "labeling" / "rules.d").unlink()  # as if labeling/rules.o were built before the .d files
    assert remade("nbformat/nblang.h")[0] == sorted(want | {"labeling/rules.c"})
    # the sanitizer build's objects alike (two of them: its whole build is slow)
    san = [f"{tmp_path}/san/nbformat/nblang.o", f"{tmp_path}/san/labeling/rules.o"]
    r = subprocess.run(mk + ["-j2"] + san, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    r = subprocess.run(mk + ["-n", "-W", "nbformat/nblang.h"] + san, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert re.findall(r'^echo "CC \[san\] (\S+)"', r.stdout, re.M) == ["nbformat/nblang.c"], r.stdout


def jupyter_env(tmp_path: Path) -> dict:
    """An environment whose Jupyter folders are TMP_PATH's own (no user's kernelspecs)."""
    e = {k: v for k, v in os.environ.items()
         if k not in ("JUPYTER_PATH", "JUPYTER_DATA_DIR", "XDG_DATA_HOME", "CONDA_PREFIX", "VIRTUAL_ENV")}
    e.update(HOME=str(tmp_path / "home"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
             JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), PYDEVD_DISABLE_FILE_VALIDATION="1")
    (tmp_path / "home").mkdir()
    return e


@pytest.mark.skipif(shutil.which("jupyter") is None, reason="no jupyter command (make deps)")
def test_in_jupyter_commands_as_written(model, tmp_path):
    """### In Jupyter, both code blocks as written, with a HOME of their own: install-kernel,
    `jupyter kernelspec list` shows nbstage, --remove takes it away; then, installed
    again, nbconvert on the stage kernel and `tag --from-outputs`, after which every code
    cell holds its stage (metadata and tag) and `tag --check` finds nothing to change."""
    env = jupyter_env(tmp_path)
    lines = readme_block("### In Jupyter")
    assert [l.split("#")[0].split()[:2] for l in lines] == \
        [["nbstage", "install-kernel"], ["jupyter", "kernelspec"], ["nbstage", "install-kernel"]], lines
    for line in lines:
        r = run(line, tmp_path, model, env)
        assert r.returncode == 0, (line, r.stdout, r.stderr)
        if "kernelspec list" in line:   # "# shows nbstage"
            assert re.search(r"^\s*nbstage\s", r.stdout, re.M), r.stdout
    r = run("jupyter kernelspec list", tmp_path, model, env)   # "# undo"
    assert not re.search(r"^\s*nbstage\s", r.stdout, re.M), r.stdout

    assert run(lines[0], tmp_path, model, env).returncode == 0
    (tmp_path / "run.ipynb").write_text(make_nb(["import math", "x = [3, 1, 2]\nx.sort()",
                                                  "print(math.fsum(x))"]))
    block = readme_block("### In Jupyter", 1)
    assert len(block) == 2 and "nbconvert" in block[0], block
    for line in block:
        r = run(line, tmp_path, model, env)
        assert r.returncode == 0, (line, r.stdout, r.stderr)
    nb = json.loads((tmp_path / "run.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    for c in code:
        ws = c["metadata"]["workflow_stage"]
        assert f"stage:{ws['stage']}" in c["metadata"]["tags"], c["metadata"]
    r = run("nbstage tag --check run.ipynb", tmp_path, model, env)
    assert r.returncode == 0, (r.stdout, r.stderr)


def test_figures_commands_as_written(model, tmp_path):
    """Figures' "Commands for these rows", the nbstage lines as written, from a checkout
    beside a ../shared made here (a corpus folder and labeled/dev.tsv in the labeling
    guide's format: header row, `none` rows, more columns): ingest, then label --gold,
    which prints the label model's and majority vote's accuracy and coverage, as the
    README reads them.  `make model` (the slow one) is not run."""
    rng = random.Random(8)
    corpus = tmp_path / "shared" / "corpus"
    corpus.mkdir(parents=True)
    gold = ["cell_id\tlabel\tsecondary\tconfidence\tnote"]
    for n in range(6):
        sts = ["imports", "load", "explore", "prep", "train", "evaluate"]
        srcs = [rng.choice(TEMPLATES[st]).format(f="data", c="age", n=rng.randint(1, 99)) for st in sts]
        (corpus / f"repo{n % 2}" / f"nb{n}.ipynb").parent.mkdir(exist_ok=True)
        (corpus / f"repo{n % 2}" / f"nb{n}.ipynb").write_text(make_nb(srcs + ["print('done')"]))
        gold += [f"repo{n % 2}/nb{n}.ipynb#{k}\t{st}\t\th\t" for k, st in enumerate(sts)]
        gold.append(f"repo{n % 2}/nb{n}.ipynb#6\tnone\t\tm\tnot a stage")
    (tmp_path / "shared" / "labeled").mkdir()
    (tmp_path / "shared" / "labeled" / "dev.tsv").write_text("\n".join(gold) + "\n")
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    lines = readme_block("Commands for these rows:")
    assert [l.split()[0] for l in lines] == ["nbstage", "nbstage", "make"], lines
    for line in lines[:2]:
        r = run(line, checkout, model)
        assert r.returncode == 0, (line, r.stdout, r.stderr)
    assert len((checkout / "cells.jsonl").read_text().splitlines()) == 6 * 7
    assert re.search(r"^ *label model +accuracy \d\.\d{3} +coverage \d\.\d{3} ", r.stderr, re.M), r.stderr
    assert re.search(r"^ *majority vote +accuracy \d\.\d{3} +coverage \d\.\d{3} ", r.stderr, re.M), r.stderr
    assert "against 36 hand-labeled items" in r.stderr, r.stderr   # the 6 `none` left out
    assert (checkout / "weak.jsonl").stat().st_size > 0


def test_the_pre_commit_sample_names_hooks_that_exist():
    """The .pre-commit-config.yaml sample of ### Saved notebooks names hooks that
    .pre-commit-hooks.yaml provides (test_pre_commit.py runs them)."""
    sample = readme_block("### Saved notebooks", 1)
    ids = [l.split("id:")[1].strip() for l in sample if l.strip().startswith("- id:")]
    provided = re.findall(r"^- id: (\S+)", (ROOT / ".pre-commit-hooks.yaml").read_text(), re.M)
    assert ids and set(ids) <= set(provided), (ids, provided)
    text = README.read_text(encoding="utf-8")
    for hook in provided:
        assert f"`{hook}`" in text, f"README does not name the hook {hook}"


# Options the README gives to other programs than ours (nbconvert, jupyter console).
NOT_OURS = {"--to", "--execute", "--inplace", "--ExecutePreprocessor", "--existing",
            "--ZMQTerminalInteractiveShell", "--HistoryManager",
            "--Class"}  # traitlets' --Class.trait=value, which the stage kernel passes on


def test_every_option_the_readme_names_is_in_a_help():
    """Each --option the README names is in the --help of some command (or of
    nbstage-kernel): an option renamed or removed leaves no stale name behind."""
    helps = []
    for cmd in ("ingest", "fmt", "label", "train", "eval", "classify", "tag", "summary",
                "install-kernel"):
        r = nbstage(cmd, "--help")
        assert r.returncode == 0, (cmd, r.stderr)
        helps.append(r.stdout)
    r = subprocess.run([str(BINDIR / "nbstage-kernel"), "--help"], capture_output=True, text=True)
    helps.append(r.stdout)
    helps = "\n".join(helps)
    named = set(re.findall(r"(?<![\w-])--[A-Za-z][\w-]*", README.read_text(encoding="utf-8")))
    stale = sorted(o for o in named - NOT_OURS if not re.search(re.escape(o) + r"(?![\w-])", helps))
    assert not stale, f"options the README names that no --help knows: {stale}"


def test_every_source_file_the_readme_names_exists():
    """Each source or script the README names (`model/infer_step.c`, `tagfind.c`,
    `share/rules.txt`, ...) is in the tree: a path with a folder where it says, a bare
    name in some folder of the tree."""
    text = README.read_text(encoding="utf-8")
    names = set(re.findall(r"`([\w./-]+\.(?:c|h|py|sh|txt|md|yaml|mjs))`", text))
    files = {str(p.relative_to(ROOT)) for d in ("nbformat", "labeling", "model", "kernel", "tests", "share")
             for p in (ROOT / d).rglob("*") if "node_modules" not in p.parts}
    missing = []
    for n in sorted(names):
        if n.startswith(("../", "/", "~")) or n in ("mine.txt", ".pre-commit-config.yaml"):  # yours
            continue
        if "/" in n:
            ok = (ROOT / n).exists()
        else:
            ok = (ROOT / n).exists() or any(f.endswith("/" + n) for f in files)
        if not ok:
            missing.append(n)
    assert not missing, f"files the README names that are not in the tree: {missing}"


def test_make_run_runs_the_programs_it_built(tmp_path):
    """`make run`, the README's first command, builds the programs into BIN and must run
    those: with `make run B=... BIN=...` (as parallel work trees build) share/run-demo.sh
    ran the checkout's ./nbstage and ./nbstage-kernel instead, stale or missing ("is not
    built"), since it was not told BIN as `make model` and `make bench` tell theirs.
    The recipe is read with make -n, nothing is built or started."""
    r = subprocess.run(["make", "-n", "--no-print-directory", "run", f"B={tmp_path}", f"BIN={tmp_path}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    demo = [l for l in r.stdout.splitlines() if "run-demo.sh" in l]
    assert demo and f"NBSTAGE_BIN={tmp_path}" in shlex.split(demo[-1]), demo  # quoted: a path may hold a space


# Each command's source, where its option table is.
COMMAND_SOURCES = {"ingest": "nbformat/cmd_ingest.c", "fmt": "nbformat/cmd_fmt.c",
                   "label": "labeling/cmd_label.c", "train": "model/cmd_train.c",
                   "eval": "model/cmd_eval.c", "classify": "model/cmd_classify.c",
                   "tag": "model/cmd_tag.c", "summary": "model/cmd_summary.c",
                   "install-kernel": "kernel/cmd_install_kernel.c",
                   "nbstage-kernel": "kernel/options.c"}  # the other program, not a command


def command_help(cmd: str):
    """`nbstage CMD --help`, or `nbstage-kernel --help` for the other program."""
    if cmd == "nbstage-kernel":
        return subprocess.run([str(BINDIR / cmd), "--help"], capture_output=True, text=True, timeout=10)
    return nbstage(cmd, "--help")


def accepted_options(src: str) -> set:
    """The options a command's source accepts: getopt_long's long-option table and
    short-option string, or install-kernel's or nbstage-kernel's own parser's literals
    (strcmp(arg, "--x"), value_of("--x", ...))."""
    text = (ROOT / src).read_text(encoding="utf-8")
    opts = set()
    m = re.search(r'getopt_long\(argc, argv, "([^"]*)"', text)
    if m:
        opts |= {f"-{ch}" for ch in m.group(1) if ch != ":"}
        table = re.search(r"struct option \w+\[\] = \{(.*?)\};", text, re.S).group(1)
        opts |= {f"--{name}" for name in re.findall(r'\{"([\w-]+)",', table)}
    else:
        opts |= set(re.findall(r'\{"(--[\w-]+)", offsetof', text))
        opts |= set(re.findall(r'strcmp\((?:arg|a), "(-[\w-]+)"\)', text))
        opts |= set(re.findall(r'value_of\("(-[\w-]+)"', text))
    return opts


@pytest.mark.parametrize("cmd", sorted(COMMAND_SOURCES))
def test_every_option_a_command_accepts_is_in_its_help(cmd):
    """An option the command takes but its --help does not name is found only by
    reading the source: eval took -m and -g, classify -m (tag and summary document
    their -m), and summary --colour, none of them in --help; nbstage-kernel -h and
    --connection-file (its usage line gave -f alone)."""
    accepted = accepted_options(COMMAND_SOURCES[cmd])
    assert "--help" in accepted and len(accepted) > 3, accepted  # the table was read
    if cmd == "nbstage-kernel":
        assert {"-f", "--wrap", "--model", "--min-confidence"} <= accepted, accepted
    h = command_help(cmd)
    assert h.returncode == 0, h.stderr
    missing = sorted(o for o in accepted if not re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", h.stdout))
    assert not missing, f"{cmd} accepts {missing}, which its --help does not name"


@pytest.mark.parametrize("cmd", sorted(COMMAND_SOURCES))
def test_every_option_a_command_accepts_is_described_in_its_help(cmd):
    """Named in the usage line alone is not enough: nbstage-kernel --help listed
    --wrap NAME and --model FILE in its usage and described every other option, so
    a user (sent there by install-kernel --help for --model) learnt nothing of them.
    Each option must be in a line of the help's text, not in its usage lines."""
    accepted = accepted_options(COMMAND_SOURCES[cmd])
    h = command_help(cmd)
    assert h.returncode == 0, h.stderr
    usage = True
    text = []
    for line in h.stdout.splitlines():
        # the usage lines: "usage: ..." and its continuations ("   [--x] ..." or a
        # second form, "       nbstage cmd ...")
        if line.startswith("usage:") or (usage and line.startswith(" ") and
                                         (line.lstrip().startswith(("[", "nbstage")))):
            continue
        usage = False
        text.append(line)
    text = "\n".join(text)
    undescribed = sorted(o for o in accepted
                         if not re.search(r"(?<![\w-])" + re.escape(o) + r"(?![\w-])", text))
    assert not undescribed, f"{cmd} --help names {undescribed} only in its usage line"


@pytest.mark.parametrize("cmd", sorted(COMMAND_SOURCES))
def test_no_help_line_runs_two_entries_together(cmd):
    """A C string without its \\n joins two lines of the options list: train --help
    printed "...give each cell its predecessor  --embed N, --hidden N    layer sizes",
    and no line named --embed.  Every option entry starts its own line."""
    h = command_help(cmd)
    assert h.returncode == 0, h.stderr
    joined = [line for line in h.stdout.splitlines() if re.search(r"[^\s.] {2,}--?[a-z]", line)]
    assert not joined, f"{cmd} --help: an option entry inside a line: {joined}"


@pytest.mark.parametrize("cmd", sorted(COMMAND_SOURCES))
def test_a_usage_line_that_lists_options_lists_them_all(cmd):
    """`nbstage fmt --help`'s usage line, "[--check] [--nbformat] PATH...", left out -q,
    which its option list describes; eval's left out -q too.  A usage error now prints
    the usage lines alone, so what they list is all a user sees there: either they say
    [OPTIONS] (tag, summary, label, train) or they name every option the command takes
    (in its short or its long form), but -h, --help and --version."""
    h = command_help(cmd)
    assert h.returncode == 0, h.stderr
    lines = h.stdout.splitlines()
    n = 1
    while n < len(lines) and lines[n].startswith(" "):
        n += 1
    usage = "\n".join(lines[:n])
    if "[options]" in usage.lower():
        return
    same = {}
    for short, long in re.findall(r"(?<![\w-])(-\w), (--[\w-]+)", h.stdout):
        same[short], same[long] = long, short
    unnamed = sorted(o for o in accepted_options(COMMAND_SOURCES[cmd]) - {"-h", "--help", "--version"}
                     if not any(re.search(r"(?<![\w-])" + re.escape(x) + r"(?![\w-])", usage)
                                for x in (o, same.get(o, o))))
    assert not unnamed, f"{cmd}'s usage lines leave out {unnamed}:\n{usage}"


def test_the_readmes_counts_of_languages_are_what_tag_and_ingest_print(model, tmp_path):
    """The README's examples of the not-Python counts said "(r 1, julia 1)", and tag
    and ingest print the most frequent first, then in the order met: "(julia 1, r 1)"
    for a julia notebook named first.  Each example, made of notebooks met in the
    reverse of its order, is what the program prints."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    tag_said = re.search(r"`(\d+) skipped as not Python \(([^;)]*)", text)
    ingest_said = re.search(r"`nbstage ingest: (\d+) notebooks skipped, not Python \(([^)]*)\)`", text)
    assert tag_said and ingest_said, "the README's examples were not found"
    for cmd, said in ((["tag", "-m", model], tag_said), (["ingest", "-o", os.devnull], ingest_said)):
        d = tmp_path / cmd[0]
        d.mkdir()
        counts = [(lang, int(n)) for lang, n in (x.split() for x in said.group(2).split(", "))]
        assert sum(n for _, n in counts) == int(said.group(1)), said.group(0)
        k = 0
        for lang, n in reversed(counts):  # the last language named is met first
            for _ in range(n):
                meta = {"kernelspec": {"display_name": lang, "language": lang, "name": lang}}
                (d / f"{k:02d}.ipynb").write_text(json.dumps(
                    {"cells": [], "metadata": meta, "nbformat": 4, "nbformat_minor": 5}))
                k += 1
        r = nbstage(*cmd, d)
        assert r.returncode == 0, r.stderr
        assert f"{said.group(1)} skipped as not Python ({said.group(2)}" in r.stderr or \
            f"{said.group(1)} notebooks skipped, not Python ({said.group(2)})" in r.stderr, (said.group(0), r.stderr)


def test_every_environment_variable_the_readme_names_is_read():
    """Each variable the README tells a user to set (`NBSTAGE_MODEL`, `NBSTAGE_DEMO_DIR`,
    `SOURCE_DATE_EPOCH`, `TRAIN_OPTS`, ...) is read by the programs (getenv) or by the
    share/ script the README sends it to: one renamed in the code cannot leave the
    README telling users to set a variable nothing reads."""
    named = set(re.findall(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]*[A-Z0-9]\b", README.read_text(encoding="utf-8")))
    assert {"NBSTAGE_MODEL", "NBSTAGE_WRAP", "SOURCE_DATE_EPOCH"} <= named, named  # the README was read
    c = "\n".join(p.read_text(encoding="utf-8") for d in ("nbformat", "labeling", "model", "kernel")
                  for p in sorted((ROOT / d).glob("*.[ch]")))
    sh = "\n".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "share").glob("*.sh")))
    unread = sorted(v for v in named
                    if f'getenv("{v}")' not in c and not re.search(r"\$\{?" + v + r"\b", sh))
    assert not unread, f"variables the README names that nothing reads: {unread}"


def test_the_layers_the_readme_states():
    """The README's departures say the folders are layers (nbformat <- labeling <- model
    <- kernel) and name the exceptions: a file that includes a higher layer's header is
    allowed only when the README names it or that header.  An include added across the
    layers fails here until the README says so (model/tagging.c's of
    kernel/stage_output.h and every folder's commands' of model/commands.h were there,
    unsaid, while the README gave the layers as strict)."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    m = re.search(r"The layers are (\w+(?: ← \w+)+)(.*?)(?=- \*\*|$)", text)
    assert m, "the README no longer states the layers"
    layers = m.group(1).split(" ← ")
    assert sorted(layers) == ["kernel", "labeling", "model", "nbformat"], layers
    named = set(re.findall(r"`([\w/]+\.[ch])`", m.group(2)))
    rank = {d: i for i, d in enumerate(layers)}
    upward = []
    for d in layers:
        for p in sorted((ROOT / d).glob("*.[ch]")):
            f = f"{d}/{p.name}"
            for inc in re.findall(r'^#include "(\w+)/([\w.]+)"', p.read_text(encoding="utf-8"), re.M):
                h = "/".join(inc)
                if inc[0] in rank and rank[inc[0]] > rank[d] and f not in named and h not in named:
                    upward.append(f"{f} includes {h}")
    assert not upward, f"includes against the README's layers, which it does not name: {upward}"


@pytest.mark.parametrize("cmd,flag,hi", [("classify", "-j", 64), ("label", "-j", 64),
                                         ("ingest", "-j", 256), ("train", "-j", 256),
                                         ("tag", "-j", 1024)])
def test_each_thread_count_limit_is_said_in_help_and_kept(cmd, flag, hi, tmp_path):
    """The thread-count options differ in their limits (tag's jobs may wait on the
    disk; classify's and label's are CPU work in fixed arrays), which no --help said:
    a user met them only as a refusal.  Each --help now says its range, and the
    program refuses one more than it."""
    r = nbstage(cmd, "--help")
    assert r.returncode == 0 and f"1 to {hi}" in " ".join(r.stdout.split()), r.stdout
    args = {"classify": [], "label": [tmp_path / "c.jsonl"], "ingest": [tmp_path],
            "train": [tmp_path / "w.jsonl", "-o", tmp_path / "m.nbsm"], "tag": [tmp_path]}[cmd]
    for bad in (0, hi + 1):
        r = nbstage(cmd, flag, bad, *args, input="")
        assert r.returncode == 2 and r.stderr, (bad, r.stderr)
