#!/usr/bin/python3
"""draw.py — draws notebooks and cells of ../shared/corpus for hand labeling, as the
files beside it were made (README.md): N notebooks at random for SEED (none of dev.tsv's,
none of this folder's label files, none listed in a batch*.ids beside OUT), at most
PER_REPO from one repository; 6 non-blank code cells of each.  Writes OUT/batchK.md (each notebook's
whole code, the cells to label marked `<<< LABEL THIS: id`) and OUT/batchK.ids for K
labelers, and OUT/PROMPT.md (labeler-prompt.md with OUT filled in).

    /usr/bin/python3 tests/labels/draw.py OUT SEED [N] [--repos all|dev|not-dev]
        [--cells MIN-MAX] [--per-repo K] [--labelers K] [--again FILE...]

Draws 1-2 were `--repos not-dev --cells 4-40 --per-repo 3`, draw 3 `--repos dev --cells
4-40 --per-repo 4`, draws 4-9 `--repos all --cells 3-60 --per-repo 3` (draws 4-5 also
cut a marked cell's shown text at 6,000 characters).  With `--again FILE...` it draws
among the notebooks those label files drew, and only cells no file has drawn: draws 57
on were made so, the corpus's notebooks having all been drawn once by draw 56."""
import argparse
import collections
import csv
import glob
import json
import os
import random
from pathlib import Path

SHARED = Path(__file__).resolve().parents[3] / "shared"


def blank(src):
    return all(not line.strip() or line.strip().startswith("#") for line in src.split("\n"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("seed", type=int)
    ap.add_argument("n", type=int, nargs="?", default=100)
    ap.add_argument("--repos", choices=["all", "dev", "not-dev"], default="all")
    ap.add_argument("--cells", default="3-60")
    ap.add_argument("--per-repo", type=int, default=3)
    ap.add_argument("--labelers", type=int, default=8)
    ap.add_argument("--again", nargs="+", metavar="FILE",
                    help="draw the notebooks these label files drew, and cells of theirs no file has drawn")
    a = ap.parse_args()
    lo, hi = map(int, a.cells.split("-"))
    manifest = {r["path"]: r for r in csv.DictReader(open(SHARED / "corpus/MANIFEST.tsv"), delimiter="\t")}
    drawn = {line.split("\t")[0] for line in open(SHARED / "labeled/dev.tsv")} - {"cell_id"}  # cell ids
    dev_repos = {manifest[c.split("#")[0]]["repo"] for c in drawn}
    for f in glob.glob(os.path.join(os.path.dirname(os.path.abspath(a.out)), "*", "batch*.ids")):
        drawn |= {line.strip() for line in open(f)}
    for f in Path(__file__).parent.glob("*.tsv"):  # the cells labeled already
        drawn |= {line.split("\t")[0] for line in open(f)}
    used = {c.split("#")[0] for c in drawn}
    if a.again:  # notebooks drawn before, for their cells not drawn yet
        pool = {line.split("\t")[0].split("#")[0] for f in a.again for line in open(f)} - {"cell_id"}
    else:
        pool = set(manifest) - used
    cand = [p for p, r in manifest.items() if p in pool and lo <= int(r["n_code_cells"]) <= hi
            and (a.repos == "all" or (r["repo"] in dev_repos) == (a.repos == "dev"))]
    rng = random.Random(a.seed)
    rng.shuffle(cand)
    per, pick = collections.Counter(), []
    for p in cand:
        if per[manifest[p]["repo"]] >= a.per_repo:
            continue
        nb = json.load(open(SHARED / "corpus" / p))
        lang = (nb.get("metadata", {}).get("kernelspec", {}) or {}).get("language", "python")
        if lang and lang != "python":
            continue
        # a cell whose source is null (seen in the corpus) is an empty cell, as ingest reads it
        srcs = ["".join(c["source"]) if isinstance(c.get("source"), list) else (c.get("source") or "")
                for c in nb["cells"] if c["cell_type"] == "code"]
        idx = [k for k, s in enumerate(srcs) if not blank(s) and f"{p}#{k}" not in drawn]
        if a.again and not idx:
            continue
        per[manifest[p]["repo"]] += 1
        pick.append((p, srcs, idx))
        if len(pick) == a.n:
            break
    os.makedirs(a.out, exist_ok=True)
    batches = [[] for _ in range(a.labelers)]
    for i, (p, srcs, idx) in enumerate(pick):
        batches[i % a.labelers].append((p, srcs, sorted(rng.sample(idx, min(6, len(idx))))))
    for b, items in enumerate(batches, 1):
        with open(f"{a.out}/batch{b}.md", "w") as md, open(f"{a.out}/batch{b}.ids", "w") as ids:
            for p, srcs, sel in items:
                md.write(f"\n\n======== NOTEBOOK {p} ({len(srcs)} code cells) ========\n")
                for k, s in enumerate(srcs):
                    mark = f"   <<< LABEL THIS: {p}#{k}" if k in sel else ""
                    md.write(f"\n---- code cell {k}{mark}\n{s}\n")
                ids.writelines(f"{p}#{k}\n" for k in sel)
    prompt = (Path(__file__).parent / "labeler-prompt.md").read_text().replace("OUT/", a.out.rstrip("/") + "/")
    Path(a.out, "PROMPT.md").write_text(prompt)
    print(f"{len(pick)} notebooks from {len(per)} repositories into {a.labelers} batches in {a.out}")


if __name__ == "__main__":
    main()
