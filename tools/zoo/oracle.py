#!/usr/bin/python3
"""The fine-tune oracle of the mini-VTAB: fine-tune every expert on every task and record test accuracy.

  /usr/bin/python3 tools/zoo/oracle.py [--workers 2]      # after build_zoo.py; resumable

Protocol (VTAB-1k style, scaled down): the full expert network plus a new linear head, Adam, batch BATCH,
EPOCHS epochs with cosine decay, on the 800 training examples; the learning rate is chosen from LRS by the
mean validation accuracy (the 200 validation examples) over SEEDS; the oracle accuracy is the mean test
accuracy over SEEDS at that learning rate. Every run is appended to oracle/runs.csv as it finishes (so an
interrupted oracle resumes where it stopped); oracle.csv (task,expert,accuracy) and oracle/cost.json (the
CPU time the exhaustive fine-tuning took, on which machine) are written at the end.
"""
import argparse
import csv
import json
import multiprocessing as mp
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_zoo import BUILD, OUT, TRAIN, fit, accuracy  # noqa: E402
from data import read_idx  # noqa: E402
from models import WithHead  # noqa: E402,F401  (the pickled experts need the classes importable)

LRS = [2e-3, 5e-4]
SEEDS = [0, 1]
EPOCHS = 8
BATCH = 64
RUNS = os.path.join(OUT, "oracle", "runs.csv")
FIELDS = ["task", "expert", "lr", "seed", "val_accuracy", "test_accuracy", "seconds"]


def load_task(t):
    d = os.path.join(OUT, "tasks")
    lab = lambda p: p.replace("images-idx3", "labels-idx1")  # noqa: E731
    x, y = read_idx(os.path.join(d, t["train"])), read_idx(os.path.join(d, lab(t["train"]))).astype(np.int64)
    tx, ty = read_idx(os.path.join(d, t["test"])), read_idx(os.path.join(d, lab(t["test"]))).astype(np.int64)
    return (x[:TRAIN], y[:TRAIN]), (x[TRAIN:], y[TRAIN:]), (tx, ty)


def job(args):
    task, expert = args
    torch.set_num_threads(1)
    (x, y), (vx, vy), (tx, ty) = load_task(task)
    rows = []
    for lr in LRS:
        for seed in SEEDS:
            t0 = time.process_time()
            torch.manual_seed(seed)
            body = torch.load(os.path.join(BUILD, expert.replace("@", "_") + ".pt"))
            for p in body.parameters():
                p.requires_grad_(True)
            model = WithHead(body, task["classes"])
            fit(model, x, y, EPOCHS, lr, seed, batch=BATCH)
            rows.append(dict(task=task["name"], expert=expert, lr=lr, seed=seed,
                             val_accuracy=round(accuracy(model, vx, vy), 4),
                             test_accuracy=round(accuracy(model, tx, ty), 4),
                             seconds=round(time.process_time() - t0, 2)))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--only-task", default=None)
    a = ap.parse_args()
    tasks = json.load(open(os.path.join(OUT, "tasks", "tasks.json")))["tasks"]
    manifest = json.load(open(os.path.join(OUT, "zoo", "zoo.json")))["experts"]
    experts = []
    for e in manifest:
        if "adapters" in e:
            experts += [f"{e['id']}@{x['name']}" for x in e["adapters"]["experts"]]
        else:
            experts.append(e["id"])
    os.makedirs(os.path.dirname(RUNS), exist_ok=True)
    done = set()
    if os.path.exists(RUNS):
        with open(RUNS) as f:
            for r in csv.DictReader(f):
                done.add((r["task"], r["expert"]))
    todo = [(t, e) for t in tasks for e in experts
            if (t["name"], e) not in done and (a.only_task is None or t["name"] == a.only_task)]
    print(f"{len(todo)} of {len(tasks) * len(experts)} (task, expert) pairs to fine-tune, "
          f"{len(LRS) * len(SEEDS)} runs each, {a.workers} workers", flush=True)
    new = not os.path.exists(RUNS)
    t0 = time.time()
    with open(RUNS, "a", newline="") as f, mp.get_context("fork").Pool(a.workers) as pool:
        w = csv.DictWriter(f, FIELDS)
        if new:
            w.writeheader()
        for i, rows in enumerate(pool.imap_unordered(job, todo)):
            w.writerows(rows)       # a pair is written whole, so a resumed run never repeats half of one
            f.flush()
            os.fsync(f.fileno())
            print(f"[{i + 1}/{len(todo)}] {rows[0]['task']} {rows[0]['expert']}: "
                  f"{max(r['test_accuracy'] for r in rows):.3f} ({time.time() - t0:.0f} s)", flush=True)
    summarize(tasks, experts)


def summarize(tasks, experts):
    with open(RUNS) as f:
        runs = list(csv.DictReader(f))
    by = {}
    for r in runs:
        by.setdefault((r["task"], r["expert"]), []).append(r)
    rows = []
    for t in tasks:
        for e in experts:
            rs = by.get((t["name"], e))
            if not rs:
                continue
            def mean(lr, k):
                v = [float(r[k]) for r in rs if float(r["lr"]) == lr]
                return sum(v) / len(v)
            best = max(LRS, key=lambda lr: (mean(lr, "val_accuracy"), -lr))
            rows.append((t["name"], e, round(mean(best, "test_accuracy"), 4)))
    with open(os.path.join(OUT, "oracle.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "expert", "accuracy"])
        w.writerows(rows)
    cpu = sum(float(r["seconds"]) for r in runs)
    cost = dict(fine_tunes=len(runs), pairs=len(by), cpu_seconds=round(cpu, 1),
                cpu_seconds_per_pair=round(cpu / max(1, len(by)), 2),
                protocol=dict(learning_rates=LRS, seeds=SEEDS, epochs=EPOCHS, batch=BATCH, optimizer="Adam, cosine decay",
                              train=TRAIN, selection="mean validation accuracy over seeds", accuracy="mean test accuracy over seeds"),
                machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
                        "one thread per fine-tune (process CPU time)")
    with open(os.path.join(OUT, "oracle", "cost.json"), "w") as f:
        json.dump(cost, f, indent=1)
        f.write("\n")
    print(json.dumps(cost, indent=1))


if __name__ == "__main__":
    main()
