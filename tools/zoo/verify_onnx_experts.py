#!/usr/bin/python3
"""Checks that onnx_experts.load_expert reproduces the committed ONNX experts: embeds test images of every
task with every expert, once with the PyTorch module built from the ONNX weights and once with ONNX Runtime
(Java, the runtime Needle uses; its jar from the local Maven repository), and compares.

  /usr/bin/python3 tools/zoo/verify_onnx_experts.py [--benchmark mini-vtab] [--per-task 32] [--tol 1e-4]
                                                   [--zoo DIR --experts a,b]   # another zoo, e.g. one with soups

Prints the max absolute difference per expert and exits non-zero if any exceeds --tol.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from data import read_idx  # noqa: E402
import onnx_experts  # noqa: E402
from onnx_experts import ROOT, expert_ids, load_expert, manifest  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--benchmark", default="mini-vtab")
    ap.add_argument("--per-task", type=int, default=32)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--jar", default=None)
    ap.add_argument("--zoo", default=None, help="a zoo folder other than the benchmark's (same tasks)")
    ap.add_argument("--experts", default=None, help="only these experts, comma separated")
    a = ap.parse_args()
    onnx_experts.use_benchmark(a.benchmark)
    if a.zoo:
        onnx_experts.ZOO = os.path.abspath(a.zoo)
    jar = a.jar or sorted(glob.glob(os.path.expanduser("~/.m2/repository/com/microsoft/onnxruntime/onnxruntime/*/onnxruntime-*.jar")))[-1]
    tasks = json.load(open(os.path.join(ROOT, "examples", a.benchmark, "tasks", "tasks.json")))["tasks"]
    x = np.concatenate([read_idx(os.path.join(ROOT, "examples", a.benchmark, "tasks", t["test"]))[:a.per_task] for t in tasks])
    x = (x.astype(np.float32) / 255.0)[:, None]
    ids = expert_ids() if not a.experts else a.experts.split(",")
    specs = []
    for e in ids:
        base, _, ad = e.partition("@")
        entry = next(m for m in manifest() if m["id"] == base)
        path = os.path.join(onnx_experts.ZOO, entry["file"])
        if ad:
            path += "@%d" % next(m["index"] for m in entry["adapters"]["experts"] if m["name"] == ad)
        specs.append(path)
    with tempfile.TemporaryDirectory() as d:
        x.astype("<f4").tofile(os.path.join(d, "images.f32"))
        subprocess.run(["java", "-cp", jar, os.path.join(os.path.dirname(os.path.abspath(__file__)), "OnnxEmbed.java"),
                        os.path.join(d, "images.f32"), str(len(x)), d] + specs, check=True)
        worst = 0.0
        for k, e in enumerate(ids):
            with torch.no_grad():
                z = load_expert(e)(torch.from_numpy(x)).numpy()
            ref = np.fromfile(os.path.join(d, f"{k}.f32"), "<f4").reshape(z.shape)
            diff = float(np.abs(z - ref).max())
            worst = max(worst, diff)
            print(f"{e:28s} max|torch - onnxruntime| = {diff:.2e}   (max |embedding| {np.abs(ref).max():.2f})")
    print(f"{len(ids)} experts, {len(x)} images ({a.per_task} test images of each of {len(tasks)} tasks): "
          f"worst {worst:.2e}, tolerance {a.tol:g}")
    sys.exit(0 if worst <= a.tol else 1)


if __name__ == "__main__":
    main()
