#!/usr/bin/python3
"""Reference knn-loo scores for the bundled benchmark, computed without Needle or ONNX Runtime.

  /usr/bin/python3 tools/zoo/reference.py          # after build_zoo.py

For every expert (the PyTorch modules kept in tools/zoo/.build) and every task: embed the 1000 training
examples of the IDX file with PyTorch, then leave-one-out 1-NN accuracy (Euclidean, self excluded) with
scikit-learn. Written to examples/mini-vtab/reference/knn_loo.csv (task,expert,accuracy); Needle's test
compares its own scores (ONNX Runtime embeddings, Needle's kernels) against it.
"""
import csv
import json
import os
import sys

import numpy as np
import torch
from sklearn.neighbors import KNeighborsClassifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_zoo import BUILD, OUT, embed  # noqa: E402
from data import read_idx  # noqa: E402
import models  # noqa: E402,F401


def knn_loo(z, y):
    knn = KNeighborsClassifier(n_neighbors=2, algorithm="brute").fit(z, y)
    _, idx = knn.kneighbors(z, n_neighbors=2)
    # drop the example itself wherever it appears among its two nearest (duplicates may come first)
    nn = np.where(idx[:, 0] == np.arange(len(y)), idx[:, 1], idx[:, 0])
    return float((y[nn] == y).mean())


def main():
    torch.set_num_threads(2)
    tasks = json.load(open(os.path.join(OUT, "tasks", "tasks.json")))["tasks"]
    manifest = json.load(open(os.path.join(OUT, "zoo", "zoo.json")))["experts"]
    experts = []
    for e in manifest:
        experts += [f"{e['id']}@{x['name']}" for x in e["adapters"]["experts"]] if "adapters" in e else [e["id"]]
    rows = []
    for t in tasks:
        path = os.path.join(OUT, "tasks", t["train"])
        x = read_idx(path)
        y = read_idx(path.replace("images-idx3", "labels-idx1")).astype(np.int64)
        for e in experts:
            body = torch.load(os.path.join(BUILD, e.replace("@", "_") + ".pt"))
            rows.append((t["name"], e, round(knn_loo(embed(body, x), y), 4)))
        print(t["name"], "done", flush=True)
    os.makedirs(os.path.join(OUT, "reference"), exist_ok=True)
    with open(os.path.join(OUT, "reference", "knn_loo.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "expert", "accuracy"])
        w.writerows(rows)


if __name__ == "__main__":
    main()
