#!/usr/bin/python3
"""Bundled synthetic example for Needle: one labelled task, 16 experts of clearly different quality.

Writes, relative to the repository root:
  examples/synthetic/labels.npy                  int64[1000], classes 0..9, balanced-ish
  examples/synthetic/embeddings/<expert>.npy     float32[1000, D], C order, D in {32, 64, 128}
  examples/synthetic/README.md                   how it was made + each expert's exact LOO 1-NN accuracy

The LOO 1-NN accuracy in the README is computed exactly: float64 Euclidean distances, (a_d-b_d)^2
accumulated sequentially over d, self excluded by setting the diagonal to +inf by index, ties to the
lowest index (np.argmin).  It is cross-checked against sklearn.metrics.pairwise_distances
(diagonal filled with +inf, argmin); disagreements are printed.

Rerun from the repo root (Debian's python3-numpy and python3-sklearn):
    /usr/bin/python3 tools/examples/make_synthetic.py
Seeded and deterministic (numpy default_rng / PCG64): same bytes on the same numpy version.
"""
import os

import numpy as np

SEED = 7001
N = 1000
C = 10
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
OUT = os.path.join(REPO, "examples", "synthetic")


def main():
    import sklearn
    from sklearn.metrics import pairwise_distances

    rng = np.random.default_rng(SEED)
    p = rng.dirichlet(np.full(C, 30.0))
    y = rng.choice(C, size=N, p=p).astype(np.int64)

    def centres(d, s):
        return s * rng.normal(size=(C, d))

    def gauss(d, s, noise=1.0):
        return centres(d, s)[y] + noise * rng.normal(size=(N, d))

    experts = []  # (name, description, array)

    def add(name, desc, x):
        experts.append((name, desc, np.ascontiguousarray(x, dtype=np.float32)))

    add("expert-01-strong-d128", "Gaussian class clusters, centre scale 0.55, unit noise", gauss(128, 0.55))
    add("expert-02-strong-d64", "Gaussian class clusters, centre scale 0.6, unit noise", gauss(64, 0.6))
    add("expert-03-good-d32", "Gaussian class clusters, centre scale 0.7, unit noise", gauss(32, 0.7))
    add("expert-04-medium-d128", "Gaussian class clusters, centre scale 0.3, unit noise", gauss(128, 0.3))
    add("expert-05-medium-d64", "Gaussian class clusters, centre scale 0.35, unit noise", gauss(64, 0.35))
    z = gauss(64, 0.5)
    r = rng.normal(size=(64, 64)) / np.sqrt(64)
    add("expert-06-warped-d64", "clusters (scale 0.5) pushed through a random linear map and tanh(2*.)",
        np.tanh(2.0 * z @ r))
    u = centres(128, 0.45)
    sign = rng.choice([-1.0, 1.0], size=N)
    add("expert-07-antipodal-d128", "each class is 2 sub-clusters at +u_c and -u_c (scale 0.45), so every class "
        "mean is ~0: fine for k-NN, near chance for a linear probe", sign[:, None] * u[y] + rng.normal(size=(N, 128)))
    x = np.empty((N, 128))
    x[:, :8] = centres(8, 0.4)[y] + 0.15 * rng.normal(size=(N, 8))
    x[:, 8:] = 3.0 * rng.normal(size=(N, 120))
    add("expert-08-lowvar-signal-d128", "signal only in 8 low-variance dims; 120 high-variance noise dims "
        "dominate distances (a linear probe can find it, k-NN mostly cannot)", x)
    cm = centres(64, 0.6)
    add("expert-09-merged-classes-d64", "classes 2k and 2k+1 share one cluster centre (scale 0.6): "
        "ceiling about 50%", cm[y // 2] + rng.normal(size=(N, 64)))
    wrong = rng.random(N) < 0.3
    src = np.where(wrong, (y + rng.integers(1, C, size=N)) % C, y)
    add("expert-10-mislabeled-d32", "clusters (scale 0.7) but 30% of points sit in another class's cluster",
        centres(32, 0.7)[src] + rng.normal(size=(N, 32)))
    add("expert-11-weak-d128", "Gaussian class clusters, centre scale 0.15, unit noise", gauss(128, 0.15))
    z = gauss(32, 0.5)
    add("expert-12-weak-warped-d32", "clusters (scale 0.5) through sin(2*.) elementwise", np.sin(2.0 * z))
    x = rng.normal(size=(N, 64))
    x[:, :4] += centres(4, 1.0)[y]
    add("expert-13-sparse-signal-d64", "4 informative dims (centre scale 1.0) among 64 unit-noise dims", x)
    add("expert-14-very-weak-d64", "Gaussian class clusters, centre scale 0.1, unit noise", gauss(64, 0.1))
    add("expert-15-near-random-d32", "Gaussian class clusters, centre scale 0.05, unit noise", gauss(32, 0.05))
    add("expert-16-random-d128", "pure noise, no class signal", rng.normal(size=(N, 128)))

    os.makedirs(os.path.join(OUT, "embeddings"), exist_ok=True)
    np.save(os.path.join(OUT, "labels.npy"), y.astype("<i8"))
    rows = []
    for name, desc, x in experts:
        np.save(os.path.join(OUT, "embeddings", name + ".npy"), x)
        q = x.astype(np.float64)
        acc = np.zeros((N, N))
        for d in range(q.shape[1]):
            t = q[:, d][:, None] - q[:, d][None, :]
            acc += t * t
        dist = np.sqrt(acc)
        np.fill_diagonal(dist, np.inf)
        nn = np.argmin(dist, axis=1)
        correct = int((y[nn] == y).sum())
        dsk = pairwise_distances(q, metric="euclidean")
        np.fill_diagonal(dsk, np.inf)
        nsk = np.argmin(dsk, axis=1)
        if not np.array_equal(nsk, nn):
            print(f"{name}: sklearn pairwise_distances differs on {int((nsk != nn).sum())} rows "
                  f"(sklearn correct={int((y[nsk] == y).sum())})")
        rows.append((name, x.shape[1], correct, desc))
        print(f"{name}\tD={x.shape[1]}\tloo1nn={correct / N:.3f}\t({correct}/{N})")

    counts = np.bincount(y, minlength=C)
    with open(os.path.join(OUT, "README.md"), "w", newline="\n") as f:
        f.write(f"""# Synthetic example task

A bundled, fully synthetic task for trying Needle: one labelled dataset, with 16 "experts" whose
embeddings range from strong to useless.

* `labels.npy`: int64[{N}], classes 0..{C - 1}. Class sizes: {', '.join(str(int(c)) for c in counts)}.
* `embeddings/<expert>.npy`: float32[{N}, D], C order, one file per expert.

Generated by `tools/examples/make_synthetic.py` (seed {SEED}), run from the repository root:

```
/usr/bin/python3 tools/examples/make_synthetic.py
```

Versions: numpy {np.__version__}, scikit-learn {sklearn.__version__}. The script is seeded and deterministic.

## Reference: leave-one-out 1-NN accuracy

To check Needle's output: the distances are exact float64 Euclidean, with each row's own distance (the diagonal) excluded by
index and ties going to the lowest index. The results agree with scikit-learn's
`pairwise_distances` + `fill_diagonal(inf)` + `argmin`.

| expert | D | LOO 1-NN accuracy | correct / {N} | how it was made |
| --- | --- | --- | --- | --- |
""")
        for name, d, correct, desc in rows:
            f.write(f"| `{name}` | {d} | {correct / N:.3f} | {correct} | {desc} |\n")
        pc = counts / N
        f.write(f"\nFor comparison: a 1-NN that ignores the embedding scores about sum_c p_c^2 = {(pc * pc).sum():.3f}, "
                f"and always predicting the largest class scores {pc.max():.3f}.\n")


if __name__ == "__main__":
    main()
