#!/usr/bin/python3
"""Do estimators on intermediate-layer features (Head2Toe's idea) rank the bundled experts better? Issue 16 check.

For every expert of a bundled benchmark (as PyTorch modules loaded from the committed ONNX files by
tools/zoo/onnx_experts.py) and every included task (its 1000 training images), records the output of every ReLU,
GELU and residual block: 4-D maps are averaged over space, 3-D token maps give their class token, 2-D ones are kept
if they are not the final embedding. Scores, per (task, expert), the shrinkage H-score (Ledoit-Wolf covariance,
constant columns dropped) and LogME (You et al.'s fixed-point evidence, float64) on: the final embedding alone;
each depth, then the best or mean over depths; all depths standardised and concatenated. Prints the mean weighted
Kendall tau (scipy, against the committed oracle) and each task's.

Needs Debian's python3-torch python3-onnx python3-sklearn python3-scipy.
Usage: /usr/bin/python3 tools/research/multi_depth.py mini-vtab|mini-experts
"""
import gzip, json, os, struct, sys

import numpy as np
import torch
import torch.nn as nn
from scipy.stats import weightedtau
from sklearn.covariance import ledoit_wolf

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "zoo"))
import models  # noqa: E402
import onnx_experts as ox  # noqa: E402


def idx(path):
    with gzip.open(path) as f:
        nd = struct.unpack(">I", f.read(4))[0] & 0xFF
        dims = struct.unpack(">" + "I" * nd, f.read(4 * nd))
        return np.frombuffer(f.read(), np.uint8).reshape(dims)


def hscore_shrinkage(f, y):
    f = f - f.mean(0)
    f = f[:, f.std(0) > 1e-8]
    cov, _ = ledoit_wolf(f)
    g = np.zeros_like(f)
    for c in np.unique(y):
        g[y == c] = f[y == c].mean(0)
    return float(np.trace(np.linalg.pinv(cov, rcond=1e-15) @ (g.T @ g / len(f))))


def logme(f, y):
    f = f.astype(np.float64)
    n, d = f.shape
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    sig = s ** 2
    total = 0.0
    for c in np.unique(y):
        t = (y == c).astype(np.float64)
        x2 = (u.T @ t) ** 2
        res2 = t @ t - x2.sum()
        a = b = 1.0
        for _ in range(11):
            lam = a / b
            gamma = (sig / (sig + lam)).sum()
            m2 = (sig * x2 / (lam + sig) ** 2).sum()
            r2 = (x2 / (1 + sig / lam) ** 2).sum() + res2
            a, b = gamma / (m2 + 1e-5), (n - gamma) / (r2 + 1e-5)
        lam = a / b
        m2 = (sig * x2 / (lam + sig) ** 2).sum()
        r2 = (x2 / (1 + sig / lam) ** 2).sum() + res2
        evidence = (n / 2 * np.log(b) + d / 2 * np.log(a) - n / 2 * np.log(2 * np.pi) - b / 2 * r2 - a / 2 * m2
                    - 0.5 * (np.log(a + b * sig).sum() + (d - len(sig)) * np.log(a)))
        total += evidence / n
    return total / len(np.unique(y))


def main():
    bench = sys.argv[1]
    if bench != "mini-vtab":
        ox.use_benchmark(bench)
    root = os.path.join(HERE, "..", "..", "examples", bench)
    torch.set_num_threads(1)
    tasks = [t for t in json.load(open(f"{root}/tasks/tasks.json"))["tasks"] if not t.get("exclude")]
    oracle = {}
    for line in open(f"{root}/oracle.csv").read().split("\n")[1:]:
        if line:
            t, e, a = line.split(",")
            oracle[(t, e)] = float(a)
    std = lambda a: (a - a.mean(0)) / (a.std(0) + 1e-6)
    scores = {}
    for task in tasks:
        x = torch.from_numpy(idx(f"{root}/tasks/{task['train']}")[:1000].astype(np.float32)[:, None] / 255.0)
        y = idx(f"{root}/tasks/{task['train'].replace('images-idx3', 'labels-idx1')}")[:1000]
        for e in ox.expert_ids():
            m = ox.load_expert(e)
            acts = []
            hooks = [mod.register_forward_hook(lambda mod, i, o: acts.append(o.detach())) for mod in m.modules()
                     if isinstance(mod, (nn.ReLU, nn.GELU, models.Res))]
            with torch.no_grad():
                z = m(x).numpy()
            for h in hooks:
                h.remove()
            inner = [a.mean((2, 3)).numpy() if a.dim() == 4 else a[:, 0].numpy() if a.dim() == 3 else a.numpy()
                     for a in acts if a.dim() in (3, 4) or a.shape[1] != z.shape[1]]
            hs = [hscore_shrinkage(a, y) for a in inner]
            cat = np.concatenate([std(a) for a in inner] + [std(z)], 1)
            v = {"hscore-shrinkage, final": hscore_shrinkage(z, y)}
            v["hscore-shrinkage, best depth"] = max([v["hscore-shrinkage, final"]] + hs)
            v["hscore-shrinkage, mean over depths"] = float(np.mean([v["hscore-shrinkage, final"]] + hs))
            v["hscore-shrinkage, all depths"] = hscore_shrinkage(cat, y)
            v["logme, final"] = logme(z, y)
            v["logme, all depths"] = logme(cat, y)
            for k, s in v.items():
                scores.setdefault(k, {})[(task["name"], e)] = s
        print(task["name"], file=sys.stderr)
    names = [t["name"] for t in tasks]
    print("weighted tau, mean | per task: " + " ".join(names))
    for k, s in scores.items():
        taus = []
        for t in names:
            es = [e for e in ox.expert_ids() if (t, e) in oracle]
            taus.append(weightedtau([oracle[(t, e)] for e in es], [s[(t, e)] for e in es])[0])
        print(f"{k:36s} {np.mean(taus):.3f} | " + " ".join(f"{x:.2f}" for x in taus))


if __name__ == "__main__":
    main()
