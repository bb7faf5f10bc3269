"""test_label_more.py — `nbstage label` as a user who brings a corpus and writes rules of
their own: the rule-file format as share/rules.txt documents it, the outputs (and what
a failed one leaves), the LF analysis, ties, --statements, and --votes/--truth files as
a spreadsheet saves them.  Small synthetic cells only; the whole file runs in a few
seconds."""
import json
import os
import re
import resource
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT)) / "nbstage"

CELLS = [
    ("a.ipynb#0", "import pandas as pd"),
    ("a.ipynb#1", "df = pd.read_csv('x.csv')"),
    ("a.ipynb#2", "df.head()"),
    ("a.ipynb#3", "df = df.dropna()"),
    ("a.ipynb#4", "model.fit(X, y)"),
    ("a.ipynb#5", "print(accuracy_score(y, model.predict(X)))"),
]


# the shipped rules, wherever the programs were built (the sanitizer build's tree is deeper)
ENV = dict(os.environ, NBSTAGE_RULES=str(ROOT / "share" / "rules.txt"))


def run(args, stdin=None, **kw):
    kw.setdefault("env", ENV)
    return subprocess.run([str(BIN)] + [str(a) for a in args], input=stdin, capture_output=True, text=True,
                          timeout=60, **kw)


@pytest.fixture
def cells(tmp_path):
    p = tmp_path / "cells.jsonl"
    p.write_text("".join(json.dumps({"id": i, "notebook": i.split("#")[0], "source": s}) + "\n" for i, s in CELLS))
    return p


def refused(tmp_path, cells, rules_text, want):
    """The rule file is refused with WANT (file:line: reason), exit 2, -o untouched."""
    rules, out = tmp_path / "r.txt", tmp_path / "out.jsonl"
    rules.write_text(rules_text) if isinstance(rules_text, str) else rules.write_bytes(rules_text)
    out.write_text("keep\n")
    r = run(["label", "-q", "--rules", rules, "-o", out, cells])
    assert r.returncode == 2, r.stderr
    assert f"{rules}:{want}" in r.stderr, r.stderr
    assert out.read_text() == "keep\n"


def test_a_rule_defined_twice_in_one_file_is_refused(tmp_path, cells):
    """Two rules of the same name in one file: the second silently replaced the first
    (a copy-and-paste slip lost an LF without a word).  A later file still overrides
    a rule of an earlier one (the shipped rules), as documented."""
    refused(tmp_path, cells, "rule mine load\n  any read_csv\n\nrule mine prep\n  any dropna\n",
            "4: rule mine is already defined at line 1 of this file")
    rules = tmp_path / "over.txt"
    rules.write_text("rule load_read_file prep\n  any \\bread_csv\\(\n")
    r = run(["label", "-q", "--rules", rules, cells])
    assert r.returncode == 0, r.stderr
    line = json.loads(r.stdout.splitlines()[1])
    # the override votes prep in place of the shipped load rule (feeds_model adds its
    # prep vote beside it: the next prep cell reads df)
    assert line["votes"].get("load_read_file") == "prep" and set(line["votes"].values()) == {"prep"}, line


@pytest.mark.parametrize("name", ["imports_only", "prev_cell", "next_cell", "after_model", "model_output",
                                  "unkept_change", "feeds_model", "helper_call", "evaluate_call"])
def test_a_rule_named_like_a_builtin_lf_is_refused(tmp_path, cells, name):
    """A rule named imports_only (or another built-in LF) was taken: two LFs of one
    name, two rows of it in the LF analysis, and a "votes" object with the same key
    twice, which JSON readers collapse to one of the two."""
    refused(tmp_path, cells, f"rule {name} load\n  any read_csv\n",
            f"1: rule name '{name}' is a built-in LF's")


def test_pcre2_braces_are_not_taken_for_macros(tmp_path, cells):
    r"""{NAME} is a macro, but \p{L}, \P{N} and \g{NAME} / \k{NAME} are PCRE2's own
    syntax: they were refused as 'unknown macro {L} (define it first)'."""
    rules = tmp_path / "r.txt"
    rules.write_text("rule letters explore\n  any ^df\\.\\p{L}+\\(\\P{N}\n"
                     "rule twice prep\n  any (?<V>df) = \\g{V}\\.\n"
                     "rule twice_k prep\n  any (?<W>df) = \\k{W}\\.dropna\n")
    r = run(["label", "-q", "--no-default-rules", "--rules", rules, cells])
    assert r.returncode == 0, r.stderr
    votes = {json.loads(x)["id"]: json.loads(x)["votes"] for x in r.stdout.splitlines()}
    assert votes["a.ipynb#2"] == {"letters": "explore"}, votes
    assert votes["a.ipynb#3"] == {"twice": "prep", "twice_k": "prep"}, votes


def test_an_escaped_brace_is_text_not_a_macro(tmp_path, cells):
    r"""PCRE2 reads \{ as a brace: `\{PLOT}` pasted the PLOT macro after the backslash
    (a bad pattern: 'unmatched closing parenthesis ... with its macros expanded'), and
    `\{NAME}` of no macro was 'unknown macro {NAME}'; \Q...\E likewise."""
    src = tmp_path / "c.jsonl"
    src.write_text(json.dumps({"id": "b.ipynb#0", "source": "cfg = {PLOT}"}) + "\n")
    rules = tmp_path / "r.txt"
    rules.write_text("rule brace evaluate\n  any = \\{PLOT}$\n"
                     "rule brace_quoted evaluate\n  any \\Q{PLOT}\\E$\n"
                     "rule brace_unknown evaluate\n  any \\{NOPE}|\\{PLOT}\n")
    r = run(["label", "-q", "--rules", rules, src])
    assert r.returncode == 0, r.stderr
    votes = json.loads(r.stdout)["votes"]
    assert {k: votes.get(k) for k in ("brace", "brace_quoted", "brace_unknown")} == \
        {"brace": "evaluate", "brace_quoted": "evaluate", "brace_unknown": "evaluate"}, votes


def test_a_rule_file_named_with_a_newline_escape_and_backslash_is_one_escaped_line(tmp_path, cells):
    """label's messages name a rule file as every message names a file: a newline, ESC
    and a backslash in its name escaped (\\n, \\x1b, \\\\), so the message is one line,
    no escape sequence reaches the terminal, and a name holding the text \\x1b does not
    read as one holding ESC."""
    name = b"r\n\x1b[31m\\x1b.txt"
    with open(os.fsencode(tmp_path) + b"/" + name, "w") as f:
        f.write("load_x load: (unclosed\n")
    r = subprocess.run([str(BIN), "label", "-q", "--rules", os.fsencode(tmp_path) + b"/" + name,
                        "-o", str(tmp_path / "out.jsonl"), str(cells)], capture_output=True, env=ENV, timeout=60)
    assert r.returncode == 2, r.stderr
    assert b"\x1b" not in r.stderr, r.stderr
    lines = r.stderr.decode().splitlines()
    assert lines[0].startswith(f"nbstage label: {tmp_path}/r\\n\\x1b[31m\\\\x1b.txt:1: "), lines


def test_two_files_may_disable_one_rule(tmp_path, cells):
    """A team's rule file and one's own both disable a noisy shipped rule (or one file is
    given twice): the second said 'disable: no rule named ...', exit 2, as if the rule
    never was.  Within one file a second disable is still a slip, named with its line;
    a built-in LF is said to be one."""
    team, mine = tmp_path / "team.txt", tmp_path / "mine.txt"
    team.write_text("disable load_read_file\n")
    mine.write_text("# mine\r\ndisable load_read_file\r\n")
    for files in ([team, mine], [team, team]):
        r = run(["label", "-q"] + [a for f in files for a in ("--rules", f)] + [cells])
        assert r.returncode == 0, r.stderr
        assert "load_read_file" not in json.loads(r.stdout.splitlines()[1])["votes"]
    refused(tmp_path, cells, "disable load_read_file\ndisable load_read_file\n",
            "2: rule load_read_file is already disabled at line 1 of this file")
    refused(tmp_path, cells, "disable imports_only\n", "1: disable: 'imports_only' is a built-in LF, not a rule")


def test_crlf_and_cr_only_rule_files_label_as_the_lf_file(tmp_path, cells):
    """A rule file saved with old Mac line ends (a CR alone) read as one line: refused as
    'FILE:1: expected: rule NAME STAGE ...', or, starting with a comment, as a file of
    comments.  LF, CRLF and CR files now label alike, and name the same line when wrong."""
    lines = ["# mine", "disable load_read_file", "", "define READ (?:\\bread_csv\\s*\\()",
             "rule my_reads prep", "  any {READ}", "rule my_heads train show", "  any \\.head\\("]
    outs = {}
    for name, eol in (("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")):
        rules = tmp_path / f"{name}.txt"
        rules.write_bytes(eol.join(lines).encode() + eol.encode())
        r = run(["label", "-q", "--rules", rules, cells])
        assert r.returncode == 0, (name, r.stderr)
        outs[name] = r.stdout
        refused(tmp_path, cells, eol.join(lines[:5] + ["  any x(", ""]).encode(), "6: bad pattern")
    assert outs["crlf"] == outs["lf"] and outs["cr"] == outs["lf"]
    votes = [json.loads(x)["votes"] for x in outs["lf"].splitlines()]
    assert votes[1].get("my_reads") == "prep" and "load_read_file" not in votes[1], votes[1]
    assert votes[2].get("my_heads") == "train", votes[2]


def test_an_over_long_word_is_named_with_its_limit(tmp_path, cells):
    """A 100 kB stage word said 'expected: rule NAME STAGE [job|show|hint] [silent]'."""
    big = "x" * 100_000
    refused(tmp_path, cells, f"rule mine load\n  any y\nrule other {big}\n  any z\n",
            "3: stage of 100000 characters (at most 31)")
    refused(tmp_path, cells, f"rule {big} load\n  any y\n", "1: rule name of 100000 characters (at most 127)")
    refused(tmp_path, cells, f"disable {big}\n", "1: disable: rule name of 100000 characters (at most 127)")


@pytest.mark.parametrize("other", [["--report"], ["--svg", "--gold"]])
def test_two_outputs_naming_one_file_are_refused(tmp_path, cells, other):
    """-o and --report (or --svg) naming the same file: the report was renamed over the
    labels, exit 0, and the weak labels were gone.  Also through a symlink."""
    gold = tmp_path / "gold.tsv"
    gold.write_text("cell_id\tlabel\na.ipynb#1\tload\n")
    out = tmp_path / "same.jsonl"
    link = tmp_path / "link.jsonl"
    link.symlink_to(out.name)
    for second in (out, link):
        out.write_text("keep\n")
        args = ["label", "-q", "-o", out, other[0], second] + ([other[1], gold] if len(other) > 1 else []) + [cells]
        r = run(args)
        assert r.returncode == 2, (args, r.stderr)
        assert "the same file" in r.stderr, r.stderr
        assert out.read_text() == "keep\n"
    r = run(["label", "-q", "-o", os.devnull, other[0], os.devnull] + ([other[1], gold] if len(other) > 1 else [])
            + [cells])
    assert r.returncode == 0, r.stderr


def test_an_output_over_the_default_rules_is_refused_with_every_rules_option_used(tmp_path, cells):
    """With 16 --rules files (the most label takes) the default rule file fell off the
    end of the inputs an output may not replace: `-o` over it wrote the labels there,
    exit 0, and every later run failed on its first line."""
    default = tmp_path / "mine.txt"
    default.write_text((ROOT / "share" / "rules.txt").read_text())
    extra = []
    for k in range(16):
        f = tmp_path / f"r{k}.txt"
        f.write_text(f"rule extra{k} load\nany zzzq{k}\n")
        extra += ["--rules", f]
    for n in (15, 16):
        r = run(["label", "-q", *extra[:2 * n], "-o", default, cells], env=dict(ENV, NBSTAGE_RULES=str(default)))
        assert r.returncode == 2, (n, r.stderr)
        assert f"the default rules {default} are the same file" in r.stderr, (n, r.stderr)
        assert default.read_text() == (ROOT / "share" / "rules.txt").read_text(), n


def test_an_output_over_the_default_rules_is_refused_without_them_too(tmp_path, cells):
    """`--no-default-rules` left the default rule file off the inputs an output may not
    replace: `-o` over it wrote the labels there, exit 0, and every later run that reads
    the default rules failed on its first line (found by the review that split cmd_label)."""
    default = tmp_path / "mine.txt"
    default.write_text((ROOT / "share" / "rules.txt").read_text())
    own = tmp_path / "own.txt"
    own.write_text("rule own load\nany read_csv\n")
    r = run(["label", "-q", "--no-default-rules", "--rules", own, "-o", default, cells],
            env=dict(ENV, NBSTAGE_RULES=str(default)))
    assert r.returncode == 2, r.stderr
    assert f"the default rules {default} are the same file" in r.stderr, r.stderr
    assert default.read_text() == (ROOT / "share" / "rules.txt").read_text()


def limit_file_size(nbytes):
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))


@pytest.mark.parametrize("mode", ["cells", "votes"])
def test_a_failed_report_leaves_the_labels_as_they_were(tmp_path, cells, mode):
    """The labels (-o) were renamed into place before the report was written, so a
    report that could not be written (a full disk; here the file size limit) ended
    the run with exit 2 and the old labels already replaced: half a run's outputs."""
    out, rep = tmp_path / "out.jsonl", tmp_path / "rep.txt"
    out.write_text("old labels\n")
    rep.write_text("old report\n")
    if mode == "cells":
        args = ["label", "--report", rep, "-o", out, cells]
        small = 3000  # the labels are ~1.5 KB, the report (86 LFs) ~8 KB
    else:
        m, t = tmp_path / "m.tsv", tmp_path / "t.txt"
        m.write_text("0\t0\n1\t-1\n")
        t.write_text("0\n1\n")
        args = ["label", "--votes", m, "--truth", t, "--report", rep, "-o", out]
        small = 200  # labels 2 x 44 bytes, report ~600
    r = run(args, preexec_fn=limit_file_size(small))
    assert r.returncode == 2, r.stderr
    assert "rep.txt: write error" in r.stderr, r.stderr
    assert out.read_text() == "old labels\n"
    assert rep.read_text() == "old report\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("out", "rep"))) == ["out.jsonl", "rep.txt"]


def test_the_lf_analysis_columns_are_defined_and_an_idle_lf_has_no_estimate(tmp_path, cells):
    """The table's columns were named but defined nowhere (coverage of what: cells, or
    voted cells?), and an LF that never voted showed est.acc 0.667 (its prior's), or
    0.000 on no cells, read as an estimate.  --help defines them in Snorkel's terms, and
    an LF without a vote shows '-'."""
    h = run(["label", "--help"]).stdout
    for col in ("coverage", "overlaps", "conflicts", "est.acc", "gold.n", "gold.acc"):
        assert f"\n  {col} " in h, col
    assert "Snorkel's LFAnalysis" in h and "percentages of all cells" in h
    rules = tmp_path / "r.txt"
    rules.write_text("rule reads load\n  any read_csv\nrule never train\n  any no_such_call\n")
    rep = tmp_path / "rep.txt"
    r = run(["label", "--no-default-rules", "--rules", rules, "--report", rep, "-o", os.devnull, cells])
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line.split() for line in rep.read_text().splitlines() if line.split()}
    assert rows["never"][3:7] == ["0.00%", "0.00%", "0.00%", "-"], rows["never"]
    # a rule of one's own that never voted is said with its file and line, not only as
    # one 0.00% row among ~150 (unless -q); the shipped rules are not the user's to mend
    said = (f"nbstage label: {rules}:3: rule never voted on no cell (its patterns matched none, or a stronger "
            "rule held the vote wherever they did)")
    assert said in r.stderr.splitlines(), r.stderr
    assert "reads voted on no cell" not in r.stderr and r.stderr.count("voted on no cell") == 1, r.stderr
    r = run(["label", "-q", "--no-default-rules", "--rules", rules, "-o", os.devnull, cells])
    assert "voted on no cell" not in r.stderr, r.stderr
    assert rows["after_model"][-1] == "-"
    assert float(rows["reads"][6]) > 0.5, rows["reads"]


def test_no_cells_to_label_is_an_error_and_keeps_the_output(tmp_path, cells):
    """The wrong file given (classify's lines, an empty file) replaced the weak labels
    already in -o with an empty file, exit 1 or 0, with a line on stderr for every line
    of the input.  Now: exit 2, the output and the report as they were, and at most ten
    skipped lines said, then their count."""
    out, rep = tmp_path / "weak.jsonl", tmp_path / "rep.txt"
    r = run(["label", "-q", "-o", out, "--report", rep, cells])
    assert r.returncode == 0, r.stderr
    before = out.read_bytes(), rep.read_bytes()
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    stages = tmp_path / "stages.jsonl"  # classify's output: ids, no sources
    stages.write_text("".join(f'{{"id": "a.ipynb#{i}", "stage": "load"}}\n' for i in range(25)))
    for wrong in (empty, stages):
        r = run(["label", "-o", out, "--report", rep, wrong])
        assert r.returncode == 2, r.stderr
        assert f"{wrong}: no cells" in r.stderr and "nothing written" in r.stderr, r.stderr
        assert (out.read_bytes(), rep.read_bytes()) == before
    said = [line for line in r.stderr.splitlines() if "skipped, needs" in line]
    assert len(said) == 10 and "15 more lines skipped (25 in all)" in r.stderr, r.stderr


@pytest.mark.parametrize("text,why", [(b"", "an empty file"), (b"\xef\xbb\xbf", "an empty file"),
                                      (b"# my rules, to do\r\n\r\n", "only comments and blank lines")])
def test_a_rule_file_with_no_rules_is_refused(tmp_path, cells, text, why):
    """`--rules mine.txt` naming an empty file (the wrong one, or a script's output that
    failed) ran on the shipped rules alone, exit 0, nothing said."""
    rules, out = tmp_path / "r.txt", tmp_path / "out.jsonl"
    rules.write_bytes(text)
    out.write_text("keep\n")
    r = run(["label", "-q", "--rules", rules, "-o", out, cells])
    assert r.returncode == 2 and f"{rules}: no rules in it ({why})" in r.stderr, r.stderr
    assert out.read_text() == "keep\n"


def test_votes_and_truth_files_as_a_spreadsheet_saves_them(tmp_path):
    """--votes/--truth: a UTF-8 byte-order mark (a spreadsheet's "UTF-8" export) made
    the first row 'expected tab-separated integers'; a blank line in --truth was
    skipped uncounted, so an error named the wrong line; one class too many was called
    'expected one class 0..5'."""
    m, t = tmp_path / "m.tsv", tmp_path / "t.txt"
    m.write_bytes(b"\xef\xbb\xbf0\t0\r\n1\t-1\r\n-1\t-1\r\n")
    t.write_bytes(b"\xef\xbb\xbf0\r\n\r\n1\r\n0\r\n")
    r = run(["label", "--votes", m, "--truth", t])
    assert r.returncode == 0, r.stderr
    assert [line.split("\t")[0] for line in r.stdout.splitlines()] == ["0", "1", "-1"]
    assert "label model accuracy 1.0000 coverage 0.6667" in r.stderr, r.stderr
    for text, want in (("0\n\n\nx\n1\n0\n", "t.txt:4: expected one class 0..5"),
                       ("0\n1\n\n0\n2\n", "t.txt:5: more classes than the 3 matrix rows")):
        t.write_text(text)
        r = run(["label", "--votes", m, "--truth", t])
        assert r.returncode == 2 and want in r.stderr, r.stderr


def test_small_option_slips_are_named(tmp_path, cells):
    """--min-confidence '' (an empty shell variable) was read as 0; NBSTAGE_RULES naming
    a missing file said 'no default rule file (set NBSTAGE_RULES ...)', set as it was."""
    r = run(["label", "-q", "--min-confidence", "", cells])
    assert r.returncode == 2 and "--min-confidence wants a probability" in r.stderr, r.stderr
    env = dict(ENV, NBSTAGE_RULES=str(tmp_path / "gone.txt"))
    r = run(["label", "-q", cells], env=env)
    assert r.returncode == 2, r.stderr
    assert f"NBSTAGE_RULES={tmp_path / 'gone.txt'}: No such file or directory\n" in r.stderr, r.stderr
    # a mistake in the file it names is said with the variable too; --rules' without it
    bad = tmp_path / "bad.txt"
    bad.write_text("rule bad_re explore\n  any foo(bar\n")
    r = run(["label", "-q", cells], env=dict(ENV, NBSTAGE_RULES=str(bad)))
    assert r.returncode == 2 and f"label: NBSTAGE_RULES={bad}: {bad}:2: bad pattern" in r.stderr, r.stderr
    r = run(["label", "-q", "--no-default-rules", "--rules", bad, cells])
    assert r.returncode == 2 and f"label: {bad}:2: bad pattern" in r.stderr, r.stderr


@pytest.mark.parametrize("mode", ["cells", "votes"])
def test_labels_are_in_place_before_the_report_goes_to_stderr(tmp_path, cells, mode):
    """With the labels committed together with --report, a report on stderr must still
    come after them: `nbstage label -o weak.jsonl cells 2>&1 | head` (the reader of
    stderr gone) must not end the run before the labels are in place."""
    out = tmp_path / "out.jsonl"
    if mode == "cells":
        args = ["label", "-o", out, cells]
    else:
        m = tmp_path / "m.tsv"
        m.write_text("0\t0\n1\t-1\n")
        args = ["label", "--votes", m, "-o", out]
    rfd, wfd = os.pipe()
    os.close(rfd)
    try:
        p = subprocess.run([str(BIN)] + [str(a) for a in args], stderr=wfd, stdout=subprocess.DEVNULL, env=ENV,
                           timeout=60)
    finally:
        os.close(wfd)
    assert p.returncode != 0  # the report could not be written
    assert out.read_text().count("\n") == (6 if mode == "cells" else 2)


def test_a_tie_between_stages_is_no_label(tmp_path):
    """Two LFs always voting together for different stages leave the label model at
    0.5 / 0.5: the lowest stage id won, so "load" was written (and counted right or
    wrong by --truth) where Snorkel's LabelModel.predict abstains by default, and where
    majority vote, beside it in the report, leaves the tie unlabeled."""
    rules, cells = tmp_path / "r.txt", tmp_path / "c.jsonl"
    rules.write_text("rule a load show\n  any ^X\nrule b prep show\n  any ^X\n")
    cells.write_text("".join(json.dumps({"id": f"t#{i}", "source": f"X + {i}"}) + "\n" for i in range(3)))
    r = run(["label", "--no-default-rules", "--rules", rules, cells])
    assert r.returncode == 0, r.stderr
    for line in map(json.loads, r.stdout.splitlines()):
        assert line["stage"] is None and line["probabilities"]["load"] == line["probabilities"]["prep"] == 0.5, line
    assert "0 cells labeled" in r.stderr, r.stderr
    m, t = tmp_path / "m.tsv", tmp_path / "t.txt"
    m.write_text("0\t1\n1\t0\n" * 3)
    t.write_text("0\n1\n" * 3)
    r = run(["label", "--votes", m, "--truth", t])
    assert r.returncode == 0, r.stderr
    assert [line.split("\t")[:3] for line in r.stdout.splitlines()] == [["-1", "0.5000", "0.5000"]] * 6
    assert "label model accuracy 0.0000 coverage 0.0000; majority vote accuracy 0.0000 coverage 0.0000" in r.stderr


def test_statements_keep_a_nul_in_their_source(tmp_path):
    """--statements writes each statement's "source"; one holding a NUL (JSON's \\u0000,
    which a notebook's source may carry) was cut there, so `train` learned a
    statement that is not in the notebook."""
    src = 'df = pd.read_csv("a\x00b")\ndf.head()'
    cells = tmp_path / "c.jsonl"
    cells.write_text(json.dumps({"id": "z#0", "source": src}) + "\n")
    r = run(["label", "-q", "--statements", cells])
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["id"] for x in lines] == ["z#0", "z#0.s0", "z#0.s1"]
    assert "".join(x["source"] for x in lines[1:]) == src, lines
    # control characters escaped as Python's json.dumps and ingest escape them
    src = 'x = 1\nprint("\b\f\x01")'
    cells.write_text(json.dumps({"id": "z#0", "source": src}) + "\n")
    r = run(["label", "-q", "--statements", cells])
    assert r.returncode == 0, r.stderr
    last = r.stdout.splitlines()[-1]
    assert json.dumps('print("\b\f\x01")') in last, last


def test_statements_of_cells_no_lf_votes_get_probabilities_that_sum_to_1(tmp_path):
    """A statement is labeled by the model fitted on the cells; when no LF voted on any
    cell (one cell, `import os` then `foo = 1`, voted on by nothing as a whole), every
    class had prior 0 and the statement `import os`, which imports_only votes, came out
    NaN: written as 0.0000 for every stage, "stage": null.  Now its probabilities are
    a distribution and its stage their argmax."""
    cells = tmp_path / "c.jsonl"
    cells.write_text(json.dumps({"id": "a#0", "notebook": "a", "source": "import os\nfoo = 1"}) + "\n")
    for args in ([], ["--min-confidence", "0"]):
        r = run(["label", "-q", "--statements", *args, cells])
        assert r.returncode == 0, r.stderr
        lines = [json.loads(x) for x in r.stdout.splitlines()]
        assert [x["id"] for x in lines] == ["a#0", "a#0.s0", "a#0.s1"]
        assert lines[0]["stage"] is None and lines[0]["probabilities"] == {} and lines[0]["votes"] == {}
        st = lines[1]
        assert st["votes"] == {"imports_only": "imports"}, st
        assert abs(sum(st["probabilities"].values()) - 1) < 1e-3, st
        assert st["stage"] == "imports" == max(st["probabilities"], key=st["probabilities"].get), st
        assert lines[2]["stage"] is None and lines[2]["probabilities"] == {}


def test_a_statement_voted_only_stages_no_cell_was_voted_is_unlabeled(tmp_path):
    """A statement is labeled by the model fitted on the cells.  On a small notebook whose
    cells LFs voted only load and prep, the statement `import pandas as pd` (of a cell
    `import pandas as pd` / `foo = 1`), whose one vote is imports_only's imports, came
    out load with 0.80: the stages no cell was voted have prior 0 in that model, so it
    could only contradict the vote, and `train` learned `import pandas as pd` as load.
    Now the statement is unlabeled (stage null, no probabilities, its vote kept), the
    summary says why, and train counts it with the abstentions."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    srcs = ["df = pd.read_csv('x.csv')", "df = df.dropna()", "import pandas as pd\nfoo = 1"]
    (nbs / "small.ipynb").write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
                   "source": s} for i, s in enumerate(srcs)]}))
    cells, weak = tmp_path / "cells.jsonl", tmp_path / "weak.jsonl"
    r = run(["ingest", "-q", "-o", cells, nbs])
    assert r.returncode == 0, r.stderr
    for args in ([], ["--min-confidence", "0"]):
        r = run(["label", "--statements", *args, "-o", weak, cells])
        assert r.returncode == 0, r.stderr
        lines = [json.loads(x) for x in weak.read_text().splitlines()]
        assert [x["id"] for x in lines] == ["small.ipynb#0", "small.ipynb#1", "small.ipynb#2",
                                            "small.ipynb#2.s0", "small.ipynb#2.s1"]
        assert [x["stage"] for x in lines[:2]] == ["load", "prep"], lines
        assert not any("imports" in x["votes"].values() for x in lines[:3]), lines  # no cell voted imports
        st = lines[3]
        assert st["source"] == "import pandas as pd\n" and st["votes"] == {"imports_only": "imports"}, st
        assert st["stage"] is None and st["probabilities"] == {}, st
        assert "; 0 labeled; 1 voted on but unlabeled: their votes name only stages no cell was voted" in r.stderr, \
            r.stderr
    r = run(["train", "--embed", "8", "--hidden", "4", "--epochs", "1", "--threads", "1", "--val-split", "0",
             "--cells", cells, "-o", tmp_path / "m.nbsm", weak])
    assert r.returncode == 0, r.stderr
    assert "train: 5 weak labels: 2 abstained," in r.stderr, r.stderr
    assert "train: classes before the cap: load 2 prep 1 train 0 evaluate 0 explore 0 imports 0" in r.stderr, r.stderr


def test_a_hand_label_scores_one_cell_when_ids_repeat(tmp_path, cells):
    """`label --gold` of a cells file given twice (cat a b) scored each hand label twice,
    the report's count doubled, without a word; eval scores an id once.  Now the cells
    met again are labeled but scored once, and stderr says so."""
    gold = tmp_path / "g.tsv"
    gold.write_text("cell_id\tlabel\n" + "".join(f"{i}\t{s}\n" for i, s in
                                                    (("a.ipynb#0", "imports"), ("a.ipynb#1", "load"))))
    twice = tmp_path / "twice.jsonl"
    twice.write_text(cells.read_text() * 2)
    once = run(["label", "--gold", gold, "-o", tmp_path / "once.jsonl", cells])
    both = run(["label", "--gold", gold, "-o", tmp_path / "both.jsonl", twice])
    assert once.returncode == 0 and both.returncode == 0, both.stderr
    count = re.compile(r"against (\d+) hand-labeled items")
    assert count.findall(once.stderr) == ["2"] and count.findall(both.stderr) == ["2"], both.stderr
    assert f"{twice}: 2 hand-labeled ids met again, each scored once against --gold" in both.stderr
    assert "scored once" not in once.stderr
    # every cell is still labeled (the label model fits on all of them)
    assert len((tmp_path / "both.jsonl").read_text().splitlines()) == 2 * len(cells.read_text().splitlines())


def test_one_id_with_two_sources_is_refused_by_label_and_eval(tmp_path, cells):
    """Two ingest outputs joined with cat, each PATH's ids relative to it, give two cells
    one id.  `label --gold` and `eval` scored the first line met against the hand label
    (a wrong accuracy, exit 0, "(duplicate ids ignored)"); `train` refuses the same join.
    Now both refuse it too, naming both lines, before writing anything."""
    gold = tmp_path / "g.tsv"
    gold.write_text("cell_id\tlabel\na.ipynb#1\tload\n")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"id": "a.ipynb#1", "notebook": "a.ipynb", "source": "model.fit(X, y)"}) + "\n")
    joined = tmp_path / "joined.jsonl"
    joined.write_text(cells.read_text() + other.read_text())
    n = len(cells.read_text().splitlines())
    want = f"{joined}:2 and {n + 1}: one id, two sources (a.ipynb#1)"
    out = tmp_path / "out.jsonl"
    r = run(["label", "--gold", gold, "-o", out, joined])
    assert r.returncode == 2 and want in r.stderr, r.stderr
    assert not out.exists()
    r = run(["eval", "--gold", gold, joined])
    assert r.returncode == 2 and want in r.stderr and "accuracy" not in r.stdout, (r.stdout, r.stderr)
    # `label` without --gold refuses it too (it accepted it, and `train` refused its
    # labels), as does `label --statements`
    weak = tmp_path / "weak.jsonl"
    for extra in ([], ["--statements"]):
        r = run(["label", "-q", *extra, "-o", weak, joined])
        assert r.returncode == 2 and want in r.stderr and "a weak label could go with either" in r.stderr, r.stderr
        assert not weak.exists()
    # predictions carry no source: two stages for the id say the same (label's lines of
    # each part, joined)
    parts = [tmp_path / "w1.jsonl", tmp_path / "w2.jsonl"]
    for part, src in zip(parts, (cells, other)):
        assert run(["label", "-q", "-o", part, src]).returncode == 0
    weak.write_text(parts[0].read_text() + parts[1].read_text())
    r = run(["eval", "--predictions", "--gold", gold, weak])
    assert r.returncode == 2 and f"{weak}:2 and {n + 1}: one id, two predictions (a.ipynb#1)" in r.stderr, r.stderr
    # lines with a source, the same one, and two stages: two predictions too
    two = tmp_path / "two.jsonl"
    two.write_text("".join(json.dumps({"id": "a.ipynb#1", "source": "x = 1", "stage": s}) + "\n"
                           for s in ("load", "train")))
    r = run(["eval", "--predictions", "--gold", gold, two])
    assert r.returncode == 2 and f"{two}:1 and 2: one id, two predictions (a.ipynb#1)" in r.stderr, r.stderr
    # two sources, one stage: said as two sources
    two.write_text("".join(json.dumps({"id": "a.ipynb#1", "source": src, "stage": "load"}) + "\n"
                           for src in ("x = 1", "y = 2")))
    r = run(["eval", "--predictions", "--gold", gold, two])
    assert r.returncode == 2 and f"{two}:1 and 2: one id, two sources (a.ipynb#1)" in r.stderr, r.stderr
    # the same cell given twice is still scored once, by both
    twice = tmp_path / "twice.jsonl"
    twice.write_text(cells.read_text() * 2)
    r = run(["eval", "--gold", gold, twice])
    assert r.returncode == 0 and "over 1 cells" in r.stdout and "(duplicate ids ignored)" in r.stdout, r.stdout


def test_a_failed_svg_leaves_the_labels_as_they_were(tmp_path, cells):
    """--svg is written after the labels are flushed and before they are committed: an
    SVG that cannot be written leaves the old labels and the old picture."""
    gold, out, svg = tmp_path / "g.tsv", tmp_path / "out.jsonl", tmp_path / "c.svg"
    gold.write_text("cell_id\tlabel\na.ipynb#1\tload\n")
    out.write_text("old labels\n")
    svg.write_text("old svg\n")
    r = run(["label", "-q", "--gold", gold, "--svg", svg, "-o", out, cells], preexec_fn=limit_file_size(3000))
    assert r.returncode == 2 and "c.svg: write error" in r.stderr, r.stderr
    assert out.read_text() == "old labels\n" and svg.read_text() == "old svg\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.svg", "cells.jsonl", "g.tsv", "out.jsonl"]


def backtracking_cells(tmp_path, n_bad):
    """The six cells, then N_BAD cells of one long word that `(a+)+$` and `(\\w+\\s?)*x`
    backtrack on catastrophically (a!, and no x after the last word)."""
    p = tmp_path / "bad.jsonl"
    rows = [{"id": i, "notebook": i.split("#")[0], "source": s} for i, s in CELLS]
    rows += [{"id": f"b.ipynb#{k}", "notebook": "b.ipynb", "source": "x = 1\n" + "a" * (40 + k) + "!\n"}
             for k in range(n_bad)]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


def test_a_rule_that_backtracks_catastrophically_gives_up_in_bounded_time(tmp_path):
    """A user's pattern that backtracks catastrophically ran to PCRE2's default match
    limit (10,000,000) on each cell, ~35 ms of CPU a cell (an hour and more on a corpus),
    said in one line with neither the rule's file:line nor how many cells, exit 0, and
    a `none` line that gave up made its rule fire.  Now: a limit a few ms long, one
    warning per rule (file:line, name, cells given up on, the first), the rule abstains
    on those cells, the others vote as before, and exit 1 (done, with findings)."""
    cells = backtracking_cells(tmp_path, 60)
    rules = tmp_path / "mine.txt"
    rules.write_text("# mine\nrule slow explore\n  any (a+)+$\n\n"
                     "rule slow_none train\n  any ^x\\b\n  none ^(\\w+\\s?)*$\n\n"
                     "rule fine_or prep\n  any (a+)+$\n  any ^x =\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = run(["label", "-q", "-j", "1", "--rules", rules, cells])
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert r.returncode == 1, r.stderr
    warned = [line for line in r.stderr.splitlines() if "gave up" in line]
    assert len(warned) == 2, r.stderr
    assert f"{rules}:2: rule slow: PCRE2 gave up (match limit exceeded) on 60 of 66 cells, " \
           "the first b.ipynb#0; it abstains on them" in warned[0], r.stderr
    assert "backtracks catastrophically" in warned[0]
    assert f"{rules}:5: rule slow_none: PCRE2 gave up (match limit exceeded) on 60 of 66 cells, " \
           "the first b.ipynb#0" in warned[1], r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(out) == 66
    for c in out[6:]:  # given up on: no vote; fine_or's other `any` decides it
        assert "slow" not in c["votes"] and "slow_none" not in c["votes"], c
        assert c["votes"].get("fine_or") == "prep", c
    assert out[1]["votes"]["load_read_file"] == "load"  # the shipped rules vote as ever
    # 180 matches that give up: ~0.6 s of CPU with the limit, ~6 s at PCRE2's default
    assert cpu < 3.0, cpu


def test_the_shipped_rules_read_long_ordinary_cells_to_the_end(tmp_path):
    """Long code that is not pathological must not make a rule give up: a chain of
    3,000 attribute names and one of 3,000 subscripts on a line (explore_print's
    `\\w+(?:\\.\\w+)*` overflowed PCRE2's default JIT stack), a dict of 20,000 lines
    written in the cell (prep_dataset_objects' lookahead at every position needed more
    than the 1,000,000 steps of the match limit, which now grows with the cell), and a
    string of a megabyte.  label exits 0, says nothing of giving up, and votes."""
    srcs = ["df" + ".x" * 3000 + "\n",
            "df" + "[0]" * 3000 + "\n",
            "d = {\n" + "".join(f"    'k{i}': {i},\n" for i in range(20000)) + "}\n",
            "s = '" + "x" * 1000000 + "'\n"]
    cells = tmp_path / "long.jsonl"
    cells.write_text("".join(json.dumps({"id": f"long.ipynb#{k}", "notebook": "long.ipynb", "source": s}) + "\n"
                             for k, s in enumerate(srcs)))
    r = run(["label", "-q", "-j", "1", cells])
    assert r.returncode == 0, r.stderr
    assert "gave up" not in r.stderr, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o["stage"] for o in out[:3]] == ["explore", "explore", "load"], [(o["stage"], o["votes"]) for o in out]
    assert out[0]["votes"].get("explore_print") == "explore"
    assert out[2]["votes"].get("load_long_literal") == "load"
    # the limits as label --help, the README and share/rules.txt quote them
    h = (ROOT / "labeling/rules.h").read_text()
    limit = int(re.search(r"#define RULES_MATCH_LIMIT (\d+)u", h).group(1))
    per_byte = int(re.search(r"#define RULES_MATCH_PER_BYTE (\d+)u", h).group(1))
    kb = f"{limit / per_byte / 1000:.1f} kB"
    quoted = f"{limit:,} steps, or {per_byte} a byte on a cell over {kb}"
    assert quoted in " ".join(run(["label", "--help"]).stdout.split()), quoted
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert f"({limit:,} steps," in readme and f"on a cell over {kb}, {per_byte} steps a byte" in readme
    rules_txt = " ".join((ROOT / "share/rules.txt").read_text().split())
    assert f"{limit:,} steps, or {per_byte} a byte # on a cell over {kb}" in rules_txt


def test_a_setup_pattern_that_backtracks_names_its_line(tmp_path):
    """A `setup` pattern (imports_only's) that gives up is named by its file:line;
    imports_only abstains on that cell and the rules vote on it instead."""
    cells = tmp_path / "c.jsonl"
    cells.write_text(json.dumps({"id": "s.ipynb#0", "source": "import os\n" + "a" * 60 + "!\n"}) + "\n"
                     + json.dumps({"id": "s.ipynb#1", "source": "import os\n"}) + "\n")
    rules = tmp_path / "mine.txt"
    rules.write_text("rule mine explore\n  any ^a\n\nsetup (a+)+$\n")
    r = run(["label", "-q", "--rules", rules, cells])
    assert r.returncode == 1, r.stderr
    assert f"{rules}:4: setup pattern of LF imports_only: PCRE2 gave up (match limit exceeded) on 1 of 2 " \
           "cells, the first s.ipynb#0" in r.stderr, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert out[0]["votes"] == {"mine": "explore"}, out[0]
    assert out[1]["votes"] == {"imports_only": "imports"}, out[1]


def test_a_cells_file_with_a_byte_order_mark_says_so(tmp_path, cells):
    """A cells file saved with a UTF-8 byte-order mark (Notepad, PowerShell's Out-File)
    was reported as "'[' or '{' expected near ''", the mark itself being the
    invisible text quoted.  JSON Lines has no BOM, and nbstage refuses it as it does
    in a notebook (and as Python's json.loads does): the line is skipped, exit 1,
    and the message says what is wrong."""
    text = cells.read_bytes()
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + text)
    r = run(["label", "-q", bom])
    assert r.returncode == 1, r.stderr
    assert f"{bom}:1: skipped, the file starts with a UTF-8 byte-order mark (bytes EF BB BF)" in r.stderr, r.stderr
    assert "\ufeff" not in r.stderr
    assert [json.loads(line)["id"] for line in r.stdout.splitlines()] == [i for i, _ in CELLS[1:]]
    joined = tmp_path / "joined.jsonl"  # a second file with one, joined with cat
    joined.write_bytes(text + b"\xef\xbb\xbf" + text.splitlines(keepends=True)[0])
    r = run(["label", "-q", joined])
    assert r.returncode == 1 and f"{joined}:7: skipped, the line starts with a UTF-8 byte-order mark" in r.stderr, \
        r.stderr


def test_a_long_rule_name_keeps_the_lf_analysis_in_columns(tmp_path, cells):
    """A rule name may take 127 characters, but the table's name column was 26 wide:
    a longer name pushed its row's stage, level and numbers out from under their
    headings.  Now the column is as wide as the longest name."""
    long_name = "explore_custom_plotting_library_calls"
    rules = tmp_path / "r.txt"
    rules.write_text(f"rule {long_name} explore\n  any \\.head\\(\n")
    rep = tmp_path / "rep.txt"
    r = run(["label", "--rules", rules, "--report", rep, "-o", os.devnull, cells])
    assert r.returncode == 0, r.stderr
    lines = rep.read_text().splitlines()
    head = next(x for x in lines if x.startswith("lf "))
    rows = [x for x in lines if x.split() and x.split()[0] in (long_name, "load_read_file", "prev_cell")]
    assert len(rows) == 3, lines
    for col in ("stage", "level", "coverage", "est.acc"):
        end = head.index(col) + len(col)
        for row in rows:  # each column's entries end where its heading does (right) or start there (left)
            if col in ("stage", "level"):
                assert row[head.index(col)] != " " and row[head.index(col) - 1] == " ", (col, head, row)
            else:
                assert row[end - 1] != " " and (end == len(row) or row[end] == " "), (col, head, row)


def test_the_lf_analysis_marks_the_silent_lfs(tmp_path, cells):
    """A rule declared `silent` (its abstains no evidence against its stage) looks like
    any other in the LF analysis unless it is marked: its level and model_output's carry
    a '*', explained under the table; the other rules' levels do not."""
    rules = tmp_path / "r.txt"
    rules.write_text("rule my_quiet_head explore show silent\n  any \\.head\\(\n")
    rep = tmp_path / "rep.txt"
    r = run(["label", "--rules", rules, "--report", rep, "-o", os.devnull, cells])
    assert r.returncode == 0, r.stderr
    rows = {x.split()[0]: x.split() for x in rep.read_text().splitlines() if x.split()}
    assert rows["my_quiet_head"][1:3] == ["explore", "show*"], rows["my_quiet_head"]
    assert rows["model_output"][2] == "ctx*" and rows["load_read_file"][2] == "job", rows
    assert "(*: silent, its abstains are no evidence against its stage)" in rep.read_text()


def test_votes_prints_the_lf_analysis_of_its_columns(tmp_path):
    """`label --votes MATRIX.tsv` printed only the label model's timings (and with
    --truth its accuracy): no LF analysis, which --help promises for the command and
    Snorkel's LFAnalysis gives for any label matrix.  Now its table names each column
    (col1 ...), the one stage it votes (any: more than one; '-': none), coverage,
    overlaps, conflicts, est.acc, and with --truth gold.n and gold.acc."""
    m, t = tmp_path / "m.tsv", tmp_path / "t.txt"
    m.write_text("0\t-1\t0\t-1\n1\t1\t-1\t-1\n-1\t-1\t-1\t-1\n2\t-1\t-1\t-1\n0\t0\t0\t-1\n0\t1\t-1\t-1\n")
    t.write_text("0\n1\n0\n2\n0\n0\n")
    r = run(["label", "--votes", m, "--truth", t, "-o", os.devnull])
    assert r.returncode == 0, r.stderr
    assert "LF analysis: 6 items, 5 with at least one vote (83.3%)" in r.stderr, r.stderr
    rows = {line.split()[0]: line.split() for line in r.stderr.splitlines() if line.startswith("col")}
    assert rows["col1"][1:6] == ["any", "-", "83.33%", "66.67%", "16.67%"], rows
    assert rows["col1"][7:] == ["5", "1.000"], rows
    assert rows["col2"][1:6] == ["any", "-", "50.00%", "50.00%", "16.67%"] and rows["col2"][7:] == ["3", "0.667"]
    assert rows["col3"][1:6] == ["load", "-", "33.33%", "33.33%", "0.00%"] and rows["col3"][7:] == ["2", "1.000"]
    assert rows["col4"][1:] == ["-", "-", "0.00%", "0.00%", "0.00%", "-", "0", "-"], rows
    assert 0 < float(rows["col3"][6]) <= 1
    # the --truth lines are still there, and no second summary of the same accuracy
    assert "label --votes: label model accuracy" in r.stderr and "hand-labeled" not in r.stderr, r.stderr
    # without --truth: no gold columns; with -q: no report
    r = run(["label", "--votes", m, "-o", os.devnull])
    assert r.returncode == 0 and "gold.n" not in r.stderr, r.stderr
    assert [line.split() for line in r.stderr.splitlines() if line.startswith("col3")][0][1:] == \
        rows["col3"][1:7], r.stderr
    r = run(["label", "-q", "--votes", m, "-o", os.devnull])
    assert r.returncode == 0 and r.stderr == "", r.stderr


def test_est_acc_of_a_column_voting_several_stages_is_its_votes_mean_posterior(tmp_path):
    """A column voting several stages, always right, had est.acc 0.484 beside gold.acc
    1.000: its confusion rows weighed each class by its prior, though the model does
    not fit where such a column fires.  Its estimate is now the mean posterior the
    label model gives the stage it voted, over the items it voted on (-o's own
    probabilities); a one-stage column keeps its fitted estimate."""
    import random
    rng = random.Random(7)
    rows, truth = [], []
    for _ in range(600):
        y = rng.randrange(6)
        v = [(y if rng.random() < 0.85 else rng.randrange(6)) if rng.random() < 0.2 else -1 for _ in range(6)]
        v = [c if c < 0 else (k if c == k else -1) for k, c in enumerate(v)]  # column k votes stage k only
        v.append(y if y in (0, 1) and rng.random() < 0.5 else -1)  # several stages, always right
        rows.append(v)
        truth.append(y)
    m, t, out = tmp_path / "m.tsv", tmp_path / "t.txt", tmp_path / "out.tsv"
    m.write_text("".join("\t".join(map(str, v)) + "\n" for v in rows))
    t.write_text("".join(f"{y}\n" for y in truth))
    r = run(["label", "--votes", m, "--truth", t, "-o", out])
    assert r.returncode == 0, r.stderr
    col7 = next(line.split() for line in r.stderr.splitlines() if line.startswith("col7"))
    assert col7[1] == "any" and col7[-1] == "1.000", col7
    probs = [list(map(float, line.split("\t")[1:])) for line in out.read_text().splitlines()]
    voted = [p[v[6]] for v, p in zip(rows, probs) if v[6] >= 0]
    assert float(col7[6]) == pytest.approx(sum(voted) / len(voted), abs=6e-4), (col7, sum(voted) / len(voted))
    assert float(col7[6]) > 0.8


def test_gold_that_cannot_score_is_exit_2_as_in_eval(tmp_path, cells):
    """The same --gold file, given to label and to eval: ids that match none of the
    cells, or only `none` rows among the matching ones, made eval exit 2 ("none of the
    N hand-labeled cells of G is in C") but label exit 1 after writing its labels (and
    exit 0 with a report of zeros when the one matching row was labeled none).  Both
    now exit 2 with the same words, label before any work, leaving -o as it was; a
    partly matching file is scored by both (exit 0)."""
    out = tmp_path / "out.jsonl"
    cases = [("cell_id\tlabel\nb.ipynb#0\timports\nb.ipynb#1\tload\n", "none of the 2 hand-labeled cells of {g} is in {c}"),
             ("cell_id\tlabel\na.ipynb#0\tnone\nb.ipynb#1\tload\n", "none of the 1 hand-labeled cells of {g} is in {c}"),
             ("cell_id\tlabel\na.ipynb#0\tnone\n", "{g}: no cell labeled with a stage")]
    for k, (text, want) in enumerate(cases):
        gold = tmp_path / f"g{k}.tsv"
        gold.write_text(text)
        out.write_text("keep\n")
        msg = want.format(g=gold, c=cells)
        r = run(["label", "-q", "--gold", gold, "-o", out, cells])
        assert r.returncode == 2 and r.stderr.startswith(f"nbstage label: {msg}\n"), (k, r.returncode, r.stderr)
        assert out.read_text() == "keep\n", k
        r = run(["eval", "--predictions", "--gold", gold, cells])
        assert r.returncode == 2 and r.stderr.startswith(f"nbstage eval: {msg}\n"), (k, r.returncode, r.stderr)
    gold = tmp_path / "part.tsv"
    gold.write_text("cell_id\tlabel\na.ipynb#0\timports\nb.ipynb#1\tload\n")
    r = run(["label", "-q", "--gold", gold, "-o", out, cells])
    assert r.returncode == 0 and f"1 of 2 hand-labeled cells are not in {cells}" in r.stderr, r.stderr
    assert len(out.read_text().splitlines()) == len(CELLS)


def test_gold_report_notes_ill_defined_figures_as_eval_does(tmp_path, cells):
    """label --gold's classification report showed 0.000 for a class true but never
    labeled (precision 0/0) and one labeled but never true (recall 0/0) without a word,
    where scikit-learn warns and `eval` prints a note: the same report, scored on
    label's own output by eval --predictions, said it.  Now both say it alike."""
    gold, out = tmp_path / "gold.tsv", tmp_path / "out.jsonl"
    # df.head() is explore to the rules: called train here, train is never labeled
    # among the scored cells and explore never true
    gold.write_text("cell_id\tlabel\na.ipynb#0\timports\na.ipynb#1\tload\na.ipynb#2\ttrain\na.ipynb#3\tprep\n")
    r = run(["label", "--gold", gold, "-o", out, cells])
    assert r.returncode == 0, r.stderr
    assert "       train      0.000     0.000     0.000         1\n" in r.stderr, r.stderr
    notes = [line for line in r.stderr.splitlines() if line.startswith("note: ")]
    assert notes == ["note: train: precision is ill-defined (no predicted cells) and set to 0.0, as scikit-learn does",
                     "note: explore: recall is ill-defined (no true cells) and set to 0.0, as scikit-learn does"], r.stderr
    e = run(["eval", "--predictions", "--gold", gold, out])
    assert e.returncode == 0, e.stderr
    assert [line for line in e.stdout.splitlines() if line.startswith("note: ")] == notes, e.stdout
    # every class shown with both true and labeled cells: no note
    gold.write_text("cell_id\tlabel\na.ipynb#0\timports\na.ipynb#1\tload\na.ipynb#3\tprep\n")
    r = run(["label", "--gold", gold, "-o", out, cells])
    assert r.returncode == 0 and "note:" not in r.stderr, r.stderr


def test_every_message_of_label_begins_nbstage_label(tmp_path):
    """label's errors began "nbstage label:" and its statistics "label:" (cells, LFs,
    timings), on the same stderr.  Now one prefix, as every other command has; in a
    --report FILE too."""
    cells = tmp_path / "c.jsonl"
    cells.write_text(json.dumps({"id": "a#0", "source": "import pandas as pd\ndf = pd.read_csv('x')"})
                     + "\nnot json\n")
    rep = tmp_path / "rep.txt"
    for args, out in ((["label", "--statements", cells], None), (["label", "--report", rep, cells], rep)):
        r = run(args)
        text = out.read_text() if out else r.stderr
        assert r.returncode == 1 and "nbstage label: " + str(cells) + ":2: skipped" in r.stderr, r.stderr
        prefixed = [line for line in text.splitlines() if re.match(r"[\w ]*label: ", line)]
        assert len(prefixed) >= 3 and all(x.startswith("nbstage label: ") for x in prefixed), text
        assert any(x.startswith("nbstage label: read ") for x in prefixed), text


def test_label_gold_reports_the_labels_doubt_as_eval_does(tmp_path, cells):
    """label --gold printed the label model's accuracy but not, as eval does, its
    accuracy per hand-label confidence and with the secondary stage counted: the
    figures the README gives for the label model had to be taken by eval from label's
    output.  Now label says them, the same numbers as eval on its own output."""
    gold, out = tmp_path / "gold.tsv", tmp_path / "out.jsonl"
    gold.write_text("cell_id\tlabel\tsecondary\tconfidence\tnote\n"
                    "a.ipynb#0\timports\t\th\t\n"
                    "a.ipynb#1\tload\t\th\t\n"
                    "a.ipynb#2\tload\texplore\tm\tshown after the read\n"
                    "a.ipynb#3\tprep\t\th\t\n"
                    "a.ipynb#4\ttrain\t\tl\t\n"
                    "a.ipynb#5\tevaluate\t\th\t\n")
    r = run(["label", "--gold", gold, "-o", out, cells])
    assert r.returncode == 0, r.stderr
    mine = [line[len("  label model, "):] for line in r.stderr.splitlines() if line.startswith("  label model, ")]
    assert len(mine) == 2 and mine[0].startswith("by the labels' confidence: h (sure) ") \
        and mine[1].startswith("the label or its secondary: accuracy "), r.stderr
    e = run(["eval", "--predictions", "--gold", gold, out])
    assert e.returncode == 0, e.stderr
    assert [line for line in e.stdout.splitlines() if line.startswith(("by the labels'", "the label or"))] == mine
    # a file without those columns: neither line
    gold.write_text("cell_id\tlabel\na.ipynb#0\timports\na.ipynb#1\tload\n")
    r = run(["label", "--gold", gold, "-o", out, cells])
    assert r.returncode == 0 and "  label model, " not in r.stderr, r.stderr


def test_profile_names_the_slow_rule_first_and_changes_no_label(tmp_path):
    """`label --profile` times each LF: the report lists them slowest first, each with
    the file:line that defines it, its time, its share (together 100%) and its cost per
    cell; with -q that table alone.  The labels are those of a run without it.  A rule
    that scans the rest of a 6 kB cell from each of its characters (a negative
    lookahead in a loop: quadratic) costs some 10 ms a cell, an anchored literal some
    0.1 us: 0.2 s in all, so that a run preempted for a few milliseconds (three pytest
    runs share two cores in `make test`) still puts it first (the rule that scanned a
    20 kB cell once took 1 ms in all, and a preemption put imports_only first in CI)."""
    cells = tmp_path / "long.jsonl"
    rows = [{"id": f"p.ipynb#{k}", "notebook": "p.ipynb", "source": "y = 1\n" + "abc def " * 750}
            for k in range(20)] + [{"id": i, "notebook": i.split("#")[0], "source": s} for i, s in CELLS]
    cells.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rules = tmp_path / "r.txt"
    rules.write_text("rule slow_scan explore\n  any \\A(?:(?![a-z =\\n\\d]*+[#%])[a-z =\\n\\d])*+\\z\n\n"
                     "rule quick_anchor train\n  any \\Aqqq\n")
    plain, timed = tmp_path / "plain.jsonl", tmp_path / "timed.jsonl"
    r = run(["label", "-q", "--no-default-rules", "--rules", rules, "-o", plain, cells])
    assert r.returncode == 0 and r.stderr == "", r.stderr
    r = run(["label", "-q", "--profile", "--no-default-rules", "--rules", rules, "-o", timed, cells])
    assert r.returncode == 0, r.stderr
    assert timed.read_bytes() == plain.read_bytes()
    assert "LF analysis" not in r.stderr  # -q: the times alone
    lines = r.stderr.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("LF time (--profile):"))
    assert head == 0, r.stderr  # nothing before them (it said the three summary lines first)
    assert f"over {len(rows)} cells" in lines[head], lines[head]
    assert lines[head + 2].split() == ["LF", "stage", "defined", "at", "time", "s", "share", "us/cell"]
    table = []
    for line in lines[head + 3:]:
        if not line.strip():
            break
        table.append(line.split())
    assert table[0][:3] == ["slow_scan", "explore", "r.txt:1"], table
    names = [row[0] for row in table]
    assert "quick_anchor" in names and "imports_only" in names, names
    assert len(names) == 3, names  # the two rules and imports_only (the built-in set-up rules)
    assert not {"prev_cell", "next_cell", "after_model", "model_output"} & set(names)  # not matched, not timed
    shares = [float(row[-2].rstrip("%")) for row in table]
    assert abs(sum(shares) - 100) < 1.5, shares
    slow_us, quick_us = float(table[0][-1]), float(table[names.index("quick_anchor")][-1])
    assert slow_us > 10 * quick_us, table
    # with --report the times go there, before the LF analysis
    report = tmp_path / "report.txt"
    r = run(["label", "--profile", "--no-default-rules", "--rules", rules, "--report", report, "-o", timed, cells])
    # stderr has only the note on the rule that matched nothing (\Aqqq), a warning, not analysis
    assert r.returncode == 0 and r.stderr == (f"nbstage label: {rules}:4: rule quick_anchor voted on no cell (its "
                                              "patterns matched none, or a stronger rule held the vote wherever "
                                              "they did)\n"), r.stderr
    text = report.read_text()
    assert text.index("LF time (--profile):") < text.index("LF analysis"), text
    # the shipped rules: the slowest 25, then the others summed
    r = run(["label", "-q", "--profile", "-o", timed, cells])
    lines = r.stderr.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("LF time (--profile):"))
    rows = [line.split() for line in lines[head + 3:] if line.strip()]
    assert len(rows) == 26 and rows[-1][:2] == ["(the", "others)"], rows
    assert all(row[2].startswith("rules.txt:") or row[2] == "built-in" for row in rows[:-1]), rows
    # --votes has no LFs to time
    votes = tmp_path / "v.tsv"
    votes.write_text("0\t-1\n")
    r = run(["label", "--votes", votes, "--profile"])
    assert r.returncode == 2 and "--profile" in r.stderr, r.stderr
