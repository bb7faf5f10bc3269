# gen_votes.py — synthetic label matrices for bench_label.sh (and anyone's checks).
#
# N items, M LFs, 6 classes.  Each item's true class is drawn from a skewed prior;
# each LF has one stage it votes for, fires with probability `cov_in` on items of that
# stage (and `cov_out` on others, where it is wrong), like real single-stage LFs; a
# few LFs vote any class with a per-LF accuracy.  Writes MATRIX.tsv (-1 = abstain) and
# TRUTH.txt (one class per line).  Deterministic for the seed.
import sys
import numpy as np

def main():
    n, m, out, truth = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    k = 6
    rng = np.random.default_rng(seed)
    prior = np.array([0.10, 0.20, 0.12, 0.15, 0.33, 0.10])
    y = rng.choice(k, size=n, p=prior)
    L = np.full((n, m), -1, dtype=np.int8)
    for j in range(m):
        if j % 10 == 9:  # a multi-class LF: fires on 30%, right with its accuracy
            acc = rng.uniform(0.5, 0.8)
            fire = rng.random(n) < 0.3
            right = rng.random(n) < acc
            wrong = (y + rng.integers(1, k, size=n)) % k
            L[fire, j] = np.where(right, y, wrong)[fire]
        else:
            s = j % k
            cov_in = rng.uniform(0.2, 0.6)
            cov_out = rng.uniform(0.01, 0.08)
            p = np.where(y == s, cov_in, cov_out)
            L[rng.random(n) < p, j] = s
    tok = np.array([b"-1", b"0", b"1", b"2", b"3", b"4", b"5"], dtype=object)
    with open(out, "wb") as f:
        chunk = 100000
        for a in range(0, n, chunk):
            t = tok[L[a:a + chunk] + 1]
            f.write(b"\n".join(b"\t".join(r) for r in t) + b"\n")
    np.savetxt(truth, y, fmt="%d")

main()
