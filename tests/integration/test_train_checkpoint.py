"""`nbstage train --checkpoint FILE`: a run stopped by SIGTERM (a batch scheduler's
time limit) and started again with the same command goes on from its last epoch, to
the same model file, byte for byte, as a run never stopped; the checkpoint is removed
once the model is written; another run's checkpoint, a damaged one, and outputs that
name one file are refused, with nothing written and the checkpoint left as it was."""
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from test_io_faults import killed_save_cleaned, shim  # noqa: F401  (shim: a fixture)
from test_train_more import KEYS, SOURCES, rest_of_stderr

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("NBSTAGE_BIN", ROOT)) / "nbstage"
# Epochs of ~0.25 s here (1,200 cells, 225 batches each): a SIGTERM sent on epoch 1's
# line lands in epoch 2 or, late, in a later one, with the run's 7 more epochs ahead.
SETTINGS = ["--vocab", "300", "--embed", "128", "--hidden", "64", "--seq-len", "100", "--batch", "4",
            "--threads", "1", "--epochs", "8", "--patience", "100", "--seed", "5"]
ENV = dict(os.environ, SOURCE_DATE_EPOCH="1700000000")

pytestmark = pytest.mark.skipif(not BIN.exists(), reason=f"{BIN} not built")


def run(args, timeout=300):
    return subprocess.run([str(BIN)] + [str(a) for a in args], capture_output=True, text=True, timeout=timeout,
                          env=ENV)


def write_weak(path, notebooks):
    """Weak labels of NOTEBOOKS synthetic notebooks of 12 cells each, written to PATH."""
    lines = []
    for n in range(notebooks):
        for k in range(12):
            stage = KEYS[(n * 7 + k) % len(KEYS)]
            p = {s: (0.9 if s == stage else 0.02) for s in KEYS}
            lines.append({"id": f"nb{n}.ipynb#{k}", "stage": stage, "probabilities": p,
                          "source": SOURCES[stage].format(f"{n}_{k}")})
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


@pytest.fixture
def weak(tmp_path):
    return write_weak(tmp_path / "weak.jsonl", 100)


def stopped_by_sigterm(weak, out, ckpt, after_epoch, more=()):
    """`train --checkpoint CKPT` with SIGTERM a little after epoch AFTER_EPOCH's line is
    out (most likely in the next epoch's batches, past its checkpoint's write); its stderr."""
    p = subprocess.Popen([str(BIN), "train", *SETTINGS, *map(str, more), "-o", str(out), "--checkpoint", str(ckpt),
                          str(weak)], stderr=subprocess.PIPE, text=True, env=ENV)
    seen, deadline = [], time.monotonic() + 120
    while time.monotonic() < deadline:
        seen.append(p.stderr.readline())
        if not seen[-1] or seen[-1].startswith(f"epoch {after_epoch}/"):
            break
    time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    log = "".join(seen) + rest_of_stderr(p, 120)
    assert p.returncode == 0, log
    return log


def test_a_run_stopped_by_sigterm_resumes_to_the_same_model(weak, tmp_path):
    whole = tmp_path / "whole.nbsm"
    r = run(["train", *SETTINGS, "-o", whole, "--curves", tmp_path / "whole", weak])
    assert r.returncode == 0, r.stderr
    out, ckpt = tmp_path / "m.nbsm", tmp_path / "run.ckpt"
    log = stopped_by_sigterm(weak, out, ckpt, 1, ["--curves", tmp_path / "m"])
    curves_then = (tmp_path / "m.csv").read_text().splitlines()
    stopped = re.search(r"^epoch (\d+)/8: interrupted after \d+ of \d+ sequences$", log, re.M)
    assert stopped, log
    done = int(stopped.group(1)) - 1
    assert 1 <= done < 8, log
    assert f"train: the same command resumes the run from {ckpt}" in log, log
    assert ckpt.exists() and out.exists()  # the best weights so far, as without a checkpoint

    r = run(["train", *SETTINGS, "-o", out, "--checkpoint", ckpt, "--curves", tmp_path / "m", weak])
    assert r.returncode == 0, r.stderr
    assert f"resuming from {ckpt}: {done} of 8 epochs done" in r.stderr, r.stderr
    assert not re.search(rf"^epoch {done}/8:", r.stderr, re.M), r.stderr  # not run again
    assert out.read_bytes() == whole.read_bytes()
    assert not ckpt.exists(), "the finished run's checkpoint is removed"
    # the curves hold every epoch, those before the stop as they were (their seconds
    # too), and their numbers are the unstopped run's
    curves = (tmp_path / "m.csv").read_text().splitlines()
    assert curves[:done + 1] == curves_then
    def numbers(lines):
        return [line.rsplit(",", 1)[0] for line in lines]
    assert numbers(curves) == numbers((tmp_path / "whole.csv").read_text().splitlines())


def test_a_checkpoint_through_a_symlink_is_removed_where_it_was_written(weak, tmp_path):
    (tmp_path / "scratch").mkdir()
    target, link, out = tmp_path / "scratch" / "run.ckpt", tmp_path / "run.ckpt", tmp_path / "m.nbsm"
    link.symlink_to(target)
    log = stopped_by_sigterm(weak, out, link, 1)
    assert "interrupted" in log and target.is_file() and link.is_symlink(), log
    r = run(["train", *SETTINGS, "-o", out, "--checkpoint", link, weak])
    assert r.returncode == 0 and f"resuming from {link}" in r.stderr, r.stderr
    assert not target.exists(), "the checkpoint written through the link is removed"
    assert link.is_symlink()


def test_another_runs_or_a_damaged_checkpoint_is_refused_and_kept(weak, tmp_path):
    out, ckpt = tmp_path / "m.nbsm", tmp_path / "run.ckpt"
    log = stopped_by_sigterm(weak, out, ckpt, 1)
    assert "interrupted" in log, log
    out.unlink()
    kept = ckpt.read_bytes()
    for extra, said in [(["--lr", "0.002"], "--lr 0.001 there, 0.002 here"),
                        (["--cap", "30"], "training cells"),
                        (["--seed", "6"], "--seed 5 there, 6 here")]:
        args = SETTINGS + extra  # a later option wins
        r = run(["train", *args, "-o", out, "--checkpoint", ckpt, weak])
        assert r.returncode == 2 and said in r.stderr, (extra, r.stderr)
        assert str(ckpt) in r.stderr
        assert ckpt.read_bytes() == kept and not out.exists()
    ckpt.write_bytes(kept[: len(kept) // 2])
    r = run(["train", *SETTINGS, "-o", out, "--checkpoint", ckpt, weak])
    assert r.returncode == 2 and f"{ckpt}: truncated" in r.stderr, r.stderr
    assert not out.exists()
    bad = bytearray(kept)
    bad[len(bad) // 3] ^= 1
    ckpt.write_bytes(bytes(bad))
    r = run(["train", *SETTINGS, "-o", out, "--checkpoint", ckpt, weak])
    assert r.returncode == 2 and f"{ckpt}: checksum mismatch" in r.stderr, r.stderr
    assert ckpt.read_bytes() == bytes(bad) and not out.exists()


def test_a_checkpoint_over_another_output_or_an_input_is_refused(weak, tmp_path):
    out = tmp_path / "m.nbsm"
    for args, said in [(["-o", out, "--checkpoint", out], f"-o {out} and --checkpoint {out} are the same file"),
                       (["-o", out, "--curves", tmp_path / "c", "--checkpoint", tmp_path / "c.csv"],
                        "are the same file"),
                       (["-o", out, "--checkpoint", weak], f"--checkpoint {weak} and WEAK.jsonl {weak}"),
                       (["-o", out, "--checkpoint", "-"], "--checkpoint '-'"),
                       (["-o", out, "--checkpoint", tmp_path / "no" / "c"], str(tmp_path / "no"))]:
        r = run(["train", *SETTINGS, *args, weak])
        assert r.returncode == 2 and said in r.stderr, (args, r.stderr)
        assert "epoch 1/" not in r.stderr and not out.exists()


def test_what_cannot_be_a_checkpoint_is_refused_before_the_inputs_are_read(weak, tmp_path):
    """A FIFO blocked the run (after reading its inputs) until it was killed; /dev/null
    and another file were refused only once the inputs were read."""
    fifo, other = tmp_path / "fifo", tmp_path / "notes.txt"
    os.mkfifo(fifo)
    other.write_text("not a checkpoint\n")
    for ckpt, said in [(fifo, "a device, FIFO or socket, not a checkpoint"),
                       ("/dev/null", "a device, FIFO or socket, not a checkpoint"),
                       (other, "not an nbstage training checkpoint"),
                       (tmp_path, "is a directory, not a file to write")]:
        r = run(["train", *SETTINGS, "-o", tmp_path / "m.nbsm", "--checkpoint", ckpt, weak], timeout=60)
        assert r.returncode == 2 and f"{ckpt}: {said}" in r.stderr, (ckpt, r.stderr)
        assert "weak labels" not in r.stderr, r.stderr  # the inputs were not read
    assert other.read_text() == "not a checkpoint\n"



def test_a_killed_runs_checkpoint_temporary_is_removed_by_the_next_run(shim, tmp_path):  # noqa: F811
    """A SIGKILL (or the OOM killer, a power cut) during the checkpoint's write leaves
    its hidden temporary (the checkpoint's size, ~70 MB for a real run) beside it, for
    ever.  The write holds a flock on it until its rename, so another run writing a
    checkpoint into the folder removes a killed run's (an old one no one holds) but
    not a live run's, however old, nor a fresh one; once killed, the run's own next
    start removes it.  Stopped at the rename of epoch 1's checkpoint, then killed."""
    weak = write_weak(tmp_path / "weak.jsonl", 10)  # small: each run takes a few hundredths of a second
    d = tmp_path / "ckpts"
    d.mkdir()
    quick = [*SETTINGS[:SETTINGS.index("--epochs")], "--epochs", "2", "--seed", "5"]

    def train(ckpt, model):
        return ["train", *quick, "-o", tmp_path / model, "--checkpoint", d / ckpt, weak]
    killed_save_cleaned(shim, d, train("run.ckpt", "m.nbsm"), "run.ckpt", train("other.ckpt", "other.nbsm"),
                        train("run.ckpt", "m.nbsm"), env=ENV)
