"""test_fuzz_replay.py — every fuzz target of tests/fuzz, built without libFuzzer and run
on its committed seeds.

`make fuzz` needs clang's libFuzzer and a minute a target, so `make test` leaves it to
`make test-long`; the targets then rotted unseen once (a struct grew a field, a file
was split and run.sh's list of sources no longer linked).  Here each target is compiled
with the system's cc (-Wall -Wextra -Werror, ASan and UBSan) against the library `make`
built, with tests/fuzz/replay.c as its main, and replays its seeds: it must build
against today's code, and its checks (the wire scanner against jansson, tag's fast path
against its jansson path, a model file used or refused, a rule file parsed or refused
naming its line, label's and train's JSON Lines) must hold on them.  A few seconds.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
B = Path(os.environ.get("NBSTAGE_B", ROOT / "build"))
LIB = B / "libnbstage.a"
FUZZ = ROOT / "tests" / "fuzz"
SHARED = ROOT.parent / "shared"
PKGS = ["libzmq", "jansson", "libsodium", "openblas", "libpcre2-8", "cmocka"]

pytestmark = [pytest.mark.skipif(not LIB.exists(), reason=f"{LIB} not built"),
              pytest.mark.skipif(shutil.which("cc") is None or shutil.which("pkg-config") is None,
                                 reason="no cc or pkg-config")]


def pkg(flag):
    r = subprocess.run(["pkg-config", flag, *PKGS], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


def build(target, out):
    exe = out / target
    r = subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-g", "-O1",
                        "-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", f"-I{ROOT}",
                        *pkg("--cflags"), str(FUZZ / f"{target}.c"), str(FUZZ / "replay.c"), str(LIB),
                        *pkg("--libs"), "-lm", "-pthread", "-o", str(exe)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"{target} does not build against today's code:\n{r.stderr}"
    return exe


def replay(exe, *inputs, env=None):
    r = subprocess.run([str(exe), *map(str, inputs)], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1", **(env or {})))
    assert r.returncode == 0, f"{exe.name}: exit {r.returncode}\n{r.stderr[-4000:]}"
    n = int(r.stdout.strip().split()[-2])
    assert n >= 1, r.stdout
    return n


def small_notebooks(d):
    """Up to 12 small notebooks of ../shared, as run.sh adds them to the seeds."""
    d.mkdir()
    src = SHARED / "notebooks-with-outputs"
    if src.is_dir():
        for i, f in enumerate(sorted(p for p in src.rglob("*.ipynb") if p.stat().st_size < 24 * 1024)[:12]):
            shutil.copy(f, d / f"{i}.ipynb")
    return d


def test_every_fuzz_target_is_replayed_here():
    """A target added to tests/fuzz must be added below too."""
    targets = sorted(p.stem for p in FUZZ.glob("fuzz_*.c"))
    assert targets == sorted(CASES), targets


def case_nbformat(exe, tmp):
    return replay(exe, FUZZ / "seeds", small_notebooks(tmp / "nb"))


def case_wire(exe, tmp):
    seeds = tmp / "wire"
    seeds.mkdir()
    (seeds / "content").write_text('{"code":"pass","silent":false,"store_history":true,'
                                   '"user_expressions":{},"allow_stdin":true}')
    (seeds / "header").write_text('{"msg_id":"a","msg_type":"execute_request","username":"u","session":"s",'
                                  '"date":"2026-11-29T10:00:00.000000Z","version":"5.3"}')
    (seeds / "twice").write_text('{"msg_type":"a","msg_type":"b","code":"x\\u0041"}')
    return replay(exe, seeds)


def case_tagfast(exe, tmp):
    return replay(exe, FUZZ / "tagfast-seeds", FUZZ / "seeds", small_notebooks(tmp / "nb"))


def case_cellsource(exe, tmp):
    return replay(exe, FUZZ / "cellsource-seeds")


def case_modelfile(exe, tmp):
    seeds = tmp / "models"
    seeds.mkdir()
    replay(exe, FUZZ / "seeds", env={"FUZZ_WRITE_SEEDS": str(seeds)})  # writes the seeds
    assert len(list(seeds.iterdir())) >= 10
    return replay(exe, seeds)


def case_rules(exe, tmp):
    return replay(exe, FUZZ / "rules-seeds", ROOT / "share" / "rules.txt")


def case_jsonl(exe, tmp):
    return replay(exe, FUZZ / "jsonl-seeds")


CASES = {"fuzz_nbformat": case_nbformat, "fuzz_wire": case_wire, "fuzz_tagfast": case_tagfast,
         "fuzz_cellsource": case_cellsource, "fuzz_modelfile": case_modelfile, "fuzz_rules": case_rules,
         "fuzz_jsonl": case_jsonl}


@pytest.mark.plain_build_only  # built with the sanitizers here already
@pytest.mark.parametrize("target", sorted(CASES))
def test_fuzz_target_builds_and_holds_on_its_seeds(target, tmp_path):
    exe = build(target, tmp_path)
    assert CASES[target](exe, tmp_path) >= 1
