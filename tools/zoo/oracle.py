#!/usr/bin/python3
"""The fine-tune oracle of a bundled benchmark: fine-tune every expert on every task and record test accuracy.

  /usr/bin/python3 tools/zoo/oracle.py [--benchmark mini-vtab|mini-experts] [--workers 2] [--seeds 5]   # resumable
  /usr/bin/python3 tools/zoo/oracle.py [--benchmark B] --summarize   # only rewrite oracle.csv & co. from runs.csv

Paths below are for mini-VTAB (examples/mini-vtab); --benchmark mini-experts uses examples/mini-experts, its
400 training and 100 validation examples, and its own rates, epochs and batch (PROTOCOLS).

Weights: every fine-tune starts from the committed ONNX expert of examples/mini-vtab/zoo, loaded into its
PyTorch architecture by onnx_experts.py (BatchNorm folded into the convolutions as in the ONNX files; checked
against ONNX Runtime by verify_onnx_experts.py). Nothing under tools/zoo/.build is needed.

Protocol (VTAB-1k style, scaled down): the full expert network plus a new linear head, Adam, batch BATCH,
EPOCHS epochs with cosine decay, on the task's training examples (800 for mini-VTAB), for every learning rate of LRS and every seed
0..SEEDS-1 (the seed sets the head's initialisation and the batch order).

Divergence: a run is `diverged` when its validation accuracy (200 examples for mini-VTAB) is not clearly above chance,
val_accuracy <= 1/C + 2*sqrt((1/C)(1-1/C)/V) for C classes and V validation examples (chance plus two standard errors of a random
guesser), or when its logits are not finite. Diverged runs stay in runs.csv (diverged=1) and their logits
are saved, but they are left out of every mean below.

Oracle value: the learning rate is the one with the best mean validation accuracy over its non-diverged seeds
(ties: the smaller rate; a rate whose seeds all diverged is not eligible); the oracle accuracy is the mean
test accuracy over the non-diverged seeds at that rate. If every run of a (task, expert) pair diverged, all
its runs are used instead (the expert is then at chance), and summary.csv says so.

Outputs (examples/mini-vtab/):
  oracle/runs.csv     every run: task,expert,lr,seed,val_accuracy,test_accuracy,diverged,seconds (CPU seconds)
  oracle/logits/<task>/<expert>.npz   each run's test-set logits: key "lr<lr>_seed<seed>" (lr as %g, e.g.
                      lr0.002_seed3), float16 [test_size, classes], rows in the order of the task's test IDX file
  oracle.csv          task,expert,accuracy (the oracle value above)
  oracle/summary.csv  task,expert,lr,seeds,diverged,accuracy,accuracy_std,val_accuracy,note
  oracle/cost.json    the CPU time of the exhaustive fine-tuning, the protocol, the machine

Soups (`needle zoo soup`): --soups DIR fine-tunes the soup experts of DIR/zoo.json (entries tagged "soup", with
"ingredients"; DIR is a copy of the benchmark's zoo to which `needle zoo soup` added them) with the same protocol,
each soup loaded from its ONNX file like any expert. Before fine-tuning, each soup's weights are checked against the
mean of its ingredients' PyTorch weights (max |difference| recorded; the ingredients' files must be the committed
ones). Nothing of the oracle above is touched: the rows go to
  oracle/soups.csv               task,expert,accuracy (as oracle.csv: append its rows to evaluate a pool with soups)
  oracle/soups/runs.csv, summary.csv, cost.json, logits/   as above, for the soups
  oracle/soups/soups.json        each soup: method, ingredients, parent, sha256 of its ONNX file, the weight check
--experts a,b limits the soups, --only-task T the tasks (a greedy soup is made for one task: fine-tune it on that one).

Resuming: a (task, expert) pair is one job; when it finishes, its logits file is replaced atomically, then its
runs are appended to runs.csv and fsync'd. A killed oracle loses only the pairs in flight; on restart it
redoes every (task, expert, lr, seed) run that runs.csv and the logits file do not both have (adding seeds
with --seeds runs only the new ones).
"""
import argparse
import copy
import csv
import hashlib
import io
import json
import math
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
import zipfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_experts  # noqa: E402
from build_zoo import ROOT, fit, tensor  # noqa: E402
from data import read_idx  # noqa: E402
from models import WithHead  # noqa: E402
from onnx_experts import expert_ids, load_expert  # noqa: E402

# The protocol of each bundled benchmark. mini-experts fine-tunes 400 examples, so longer (15 epochs of batch 32,
# 195 steps) and at lower rates: a pilot at 1e-4 and 10 epochs left the new head underfitted (test accuracy 0.2-0.5
# where 1e-3 reached 0.6-0.7 on fashion-tops).
PROTOCOLS = {"mini-vtab": dict(lrs=[2e-3, 5e-4], seeds=5, epochs=8, batch=64),
             "mini-experts": dict(lrs=[1e-3, 3e-4], seeds=3, epochs=15, batch=32)}
BENCHMARK = "mini-vtab"
LRS, SEEDS, EPOCHS, BATCH = (PROTOCOLS[BENCHMARK][k] for k in ("lrs", "seeds", "epochs", "batch"))
OUT = os.path.join(ROOT, "examples", BENCHMARK)
ORACLE = os.path.join(OUT, "oracle")
RUNS = os.path.join(ORACLE, "runs.csv")
LOGITS = os.path.join(ORACLE, "logits")
ORACLE_CSV, SUMMARY, COST = os.path.join(OUT, "oracle.csv"), os.path.join(ORACLE, "summary.csv"), os.path.join(ORACLE, "cost.json")
SOUPS = False

def use_benchmark(name):
    """Points every path and the protocol at examples/<name> (set before the worker pool forks)."""
    global BENCHMARK, LRS, SEEDS, EPOCHS, BATCH, OUT, ORACLE, RUNS, LOGITS, ORACLE_CSV, SUMMARY, COST
    BENCHMARK = name
    LRS, SEEDS, EPOCHS, BATCH = (PROTOCOLS[name][k] for k in ("lrs", "seeds", "epochs", "batch"))
    OUT = os.path.join(ROOT, "examples", name)
    ORACLE = os.path.join(OUT, "oracle")
    RUNS = os.path.join(ORACLE, "runs.csv")
    LOGITS = os.path.join(ORACLE, "logits")
    ORACLE_CSV, SUMMARY, COST = os.path.join(OUT, "oracle.csv"), os.path.join(ORACLE, "summary.csv"), os.path.join(ORACLE, "cost.json")
    onnx_experts.use_benchmark(name)


def use_soups(zoo):
    """Soups mode: experts are read from zoo (the benchmark's zoo plus soups); results go under oracle/soups."""
    global RUNS, LOGITS, ORACLE_CSV, SUMMARY, COST, SOUPS
    SOUPS = True
    d = os.path.join(ORACLE, "soups")
    RUNS, LOGITS = os.path.join(d, "runs.csv"), os.path.join(d, "logits")
    ORACLE_CSV, SUMMARY, COST = os.path.join(ORACLE, "soups.csv"), os.path.join(d, "summary.csv"), os.path.join(d, "cost.json")
    onnx_experts.ZOO = os.path.abspath(zoo)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check_soups(ids):
    """Each soup's ONNX weights against the mean of its ingredients' PyTorch weights; records them in soups.json."""
    committed = os.path.join(ROOT, "examples", BENCHMARK, "zoo")
    entries = {e["id"]: e for e in onnx_experts.manifest()}
    path = os.path.join(ORACLE, "soups", "soups.json")
    record = json.load(open(path)) if os.path.exists(path) else {}
    for sid in ids:
        e = entries[sid]
        for i in e["ingredients"]:
            f = entries[i]["file"]
            assert sha256(os.path.join(onnx_experts.ZOO, f)) == sha256(os.path.join(committed, f)), \
                f"{sid}: ingredient {i} ({f}) is not the committed expert"
        states = [load_expert(i).state_dict() for i in e["ingredients"]]
        soup = load_expert(sid).state_dict()
        assert set(soup) == set(states[0]), f"{sid}: parameters {sorted(soup)} vs {sorted(states[0])}"
        diff = max(float((soup[k] - torch.stack([s[k] for s in states]).mean(0)).abs().max()) for k in soup)
        print(f"{sid}: {len(states)} ingredients; max |ONNX soup - mean of the ingredients' torch weights| = {diff:.1e}", flush=True)
        assert diff <= 1e-6, f"{sid}: the ONNX soup is not the mean of its ingredients ({diff:g})"
        record[sid] = dict(method=next((t for t in e.get("tags", []) if t != "soup"), "?"), ingredients=e["ingredients"],
                           parent=e.get("parent"), file=e["file"], sha256=sha256(os.path.join(onnx_experts.ZOO, e["file"])),
                           max_abs_diff_to_torch_mean=diff)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(dict(sorted(record.items())), f, indent=1)
        f.write("\n")
FIELDS = ["task", "expert", "lr", "seed", "val_accuracy", "test_accuracy", "diverged", "seconds"]


def key(lr, seed):
    return f"lr{lr:g}_seed{seed}"


def logits_path(task, expert):
    return os.path.join(LOGITS, task, expert + ".npz")


def chance_threshold(classes, n):
    p = 1.0 / classes
    return p + 2 * math.sqrt(p * (1 - p) / n)


def load_task(t):
    d = os.path.join(OUT, "tasks")
    lab = lambda p: p.replace("images-idx3", "labels-idx1")  # noqa: E731
    x, y = read_idx(os.path.join(d, t["train"])), read_idx(os.path.join(d, lab(t["train"]))).astype(np.int64)
    tx, ty = read_idx(os.path.join(d, t["test"])), read_idx(os.path.join(d, lab(t["test"]))).astype(np.int64)
    n = t["train_size"]
    return (x[:n], y[:n]), (x[n:], y[n:]), (tx, ty)


@torch.no_grad()
def logits_of(model, x, batch=500):
    model.eval()
    return np.concatenate([model(tensor(x[i:i + batch])).numpy() for i in range(0, len(x), batch)])


def job(args):
    task, expert, runs = args
    torch.set_num_threads(1)
    (x, y), (vx, vy), (tx, ty) = load_task(task)
    body = load_expert(expert)
    rows, logits = [], {}
    for lr, seed in runs:
        t0 = time.process_time()
        torch.manual_seed(seed)
        model = WithHead(copy.deepcopy(body), task["classes"])
        for p in model.parameters():
            p.requires_grad_(True)
        fit(model, x, y, EPOCHS, lr, seed, batch=BATCH)
        vl, tl = logits_of(model, vx), logits_of(model, tx)
        val, test = float((vl.argmax(1) == vy).mean()), float((tl.argmax(1) == ty).mean())
        diverged = not (np.isfinite(vl).all() and np.isfinite(tl).all()) or val <= chance_threshold(task["classes"], len(vy))
        logits[key(lr, seed)] = tl.astype(np.float16)
        rows.append(dict(task=task["name"], expert=expert, lr=lr, seed=seed, val_accuracy=round(val, 4),
                         test_accuracy=round(test, 4), diverged=int(diverged),
                         seconds=round(time.process_time() - t0, 2)))
    return task["name"], expert, rows, logits


def read_logits(path):
    if not os.path.exists(path):
        return {}
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile):
        return {}                                 # unreadable: its runs are redone


def write_logits(path, arrays):
    """Atomically (a temporary file in the same folder, then rename), so a kill never leaves half a file."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, **dict(sorted(arrays.items())))
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(buf.getvalue())
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def read_runs():
    if not os.path.exists(RUNS):
        return []
    with open(RUNS) as f:
        text = f.read()
    if not text.endswith("\n"):
        text = text[:text.rfind("\n") + 1]      # a torn last line (killed mid-write) is dropped
    return list(csv.DictReader(io.StringIO(text)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--benchmark", default="mini-vtab", choices=sorted(PROTOCOLS))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 per (task, expert, lr)")
    ap.add_argument("--only-task", default=None)
    ap.add_argument("--summarize", action="store_true", help="only rewrite oracle.csv, summary.csv and cost.json")
    ap.add_argument("--soups", default=None, metavar="DIR", help="fine-tune the soups of DIR/zoo.json into oracle/soups*")
    ap.add_argument("--experts", default=None, help="with --soups: only these soups, comma separated")
    a = ap.parse_args()
    use_benchmark(a.benchmark)
    if a.seeds is None:
        a.seeds = SEEDS
    tasks = json.load(open(os.path.join(OUT, "tasks", "tasks.json")))["tasks"]
    experts = expert_ids()
    seeds = list(range(a.seeds))
    if a.soups:
        use_soups(a.soups)
        experts = [e["id"] for e in onnx_experts.manifest() if "soup" in e.get("tags", []) and e.get("ingredients")]
        if a.experts:
            wanted = a.experts.split(",")
            assert set(wanted) <= set(experts), f"not soups of {a.soups}: {sorted(set(wanted) - set(experts))}"
            experts = [e for e in experts if e in wanted]
        assert experts, f"{a.soups}/zoo.json has no soup"
    if a.summarize:
        summarize(tasks, expert_ids() if a.soups else experts, seeds)   # soups: every soup with runs
        return
    if a.soups:
        check_soups(experts)
    os.makedirs(os.path.dirname(RUNS), exist_ok=True)
    done = {}
    for r in read_runs():
        done.setdefault((r["task"], r["expert"]), set()).add(key(float(r["lr"]), int(r["seed"])))
    todo = []
    for t in tasks:
        if a.only_task is not None and t["name"] != a.only_task:
            continue
        for e in experts:
            have = done.get((t["name"], e), set())
            if have:
                have = have & set(read_logits(logits_path(t["name"], e)))
            runs = [(lr, s) for lr in LRS for s in seeds if key(lr, s) not in have]
            if runs:
                todo.append((t, e, runs))
    total = len(tasks) * len(experts) * len(LRS) * len(seeds)
    print(f"{sum(len(r) for _, _, r in todo)} of {total} runs to do, in {len(todo)} (task, expert) jobs, "
          f"{a.workers} workers", flush=True)
    repair_tail(RUNS)
    for d, _, fs in os.walk(LOGITS):            # temporary files of a killed write_logits
        for x in fs:
            if x.endswith(".tmp"):
                os.remove(os.path.join(d, x))
    new = not os.path.exists(RUNS) or os.path.getsize(RUNS) == 0
    t0 = time.time()
    n = 0
    with open(RUNS, "a", newline="") as f, mp.get_context("fork").Pool(a.workers) as pool:
        w = csv.DictWriter(f, FIELDS)
        if new:
            w.writeheader()
            f.flush()
        for i, (task, expert, rows, logits) in enumerate(pool.imap_unordered(job, todo)):
            path = logits_path(task, expert)
            write_logits(path, {**read_logits(path), **logits})   # logits first: a run in runs.csv has its logits
            w.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
            n += len(rows)
            el = time.time() - t0
            left = sum(len(r) for _, _, r in todo) - n
            print(f"[{i + 1}/{len(todo)}] {time.strftime('%H:%M:%S')} {task} {expert}: test "
                  f"{np.mean([r['test_accuracy'] for r in rows]):.3f}, {sum(r['diverged'] for r in rows)} diverged; "
                  f"{n} runs in {el:.0f} s, ~{left * el / n / 60:.0f} min left", flush=True)
    if a.only_task is None or a.soups:
        summarize(tasks, expert_ids() if a.soups else experts, seeds)
    else:
        print("--only-task: oracle.csv, summary.csv and cost.json left as they are (run --summarize when complete)")


def repair_tail(path):
    """Cuts a torn last line (the oracle killed mid-write) so the next append starts on a line of its own."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return
    with open(path, "rb+") as f:
        data = f.read()
        if not data.endswith(b"\n"):
            f.truncate(data.rfind(b"\n") + 1)


def summarize(tasks, experts, seeds):
    latest = {}
    for r in read_runs():                         # a run redone after a kill counts once (the latest)
        latest[(r["task"], r["expert"], float(r["lr"]), int(r["seed"]))] = r
    runs = list(latest.values())
    by = {}
    for r in runs:
        by.setdefault((r["task"], r["expert"]), []).append(r)
    rows, summary = [], []
    for t in tasks:
        for e in experts:
            rs = by.get((t["name"], e))
            if not rs:
                continue
            ok = [r for r in rs if r["diverged"] == "0"]
            note = ""
            if not ok:
                ok, note = rs, "all runs diverged: means over all runs"
            lrs = sorted({float(r["lr"]) for r in ok})

            def at(lr, k):
                return [float(r[k]) for r in ok if float(r["lr"]) == lr]
            best = max(lrs, key=lambda lr: (np.mean(at(lr, "val_accuracy")), -lr))
            acc = at(best, "test_accuracy")
            div = sum(r["diverged"] == "1" for r in rs if float(r["lr"]) == best)
            rows.append((t["name"], e, round(float(np.mean(acc)), 4)))
            summary.append((t["name"], e, best, len(acc), div, round(float(np.mean(acc)), 4),
                            round(float(np.std(acc)), 4), round(float(np.mean(at(best, "val_accuracy"))), 4), note))
    with open(ORACLE_CSV, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "expert", "accuracy"])
        w.writerows(rows)
    with open(SUMMARY, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "expert", "lr", "seeds", "diverged", "accuracy", "accuracy_std", "val_accuracy", "note"])
        w.writerows(summary)
    cpu = sum(float(r["seconds"]) for r in runs)
    size = sum(os.path.getsize(os.path.join(d, x)) for d, _, fs in os.walk(LOGITS) for x in fs) if os.path.isdir(LOGITS) else 0
    cost = dict(fine_tunes=len(runs), diverged=sum(r["diverged"] == "1" for r in runs), pairs=len(by),
                cpu_seconds=round(cpu, 1), cpu_seconds_per_pair=round(cpu / max(1, len(by)), 2),
                protocol=dict(weights="the soups' ONNX files (needle zoo soup; checked against the mean of the ingredients' "
                                      "weights, soups/soups.json), tools/zoo/onnx_experts.py" if SOUPS else
                              "the committed ONNX experts (BatchNorm folded), tools/zoo/onnx_experts.py",
                              learning_rates=LRS, seeds=seeds, epochs=EPOCHS, batch=BATCH,
                              optimizer="Adam, cosine decay", train=tasks[0]["train_size"],
                              diverged=f"val_accuracy <= 1/C + 2*sqrt((1/C)(1-1/C)/{tasks[0]['val_size']}), "
                                       "or non-finite logits",
                              selection="mean validation accuracy over the non-diverged seeds",
                              accuracy="mean test accuracy over the non-diverged seeds"),
                logits=dict(path=("oracle/soups/logits" if SOUPS else "oracle/logits") + "/<task>/<expert>.npz", key="lr<lr %g>_seed<seed>",
                            dtype="float16", shape="[test_size, classes]", bytes=size),
                machine=f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
                        "one thread per fine-tune (process CPU time)")
    with open(COST, "w") as f:
        json.dump(cost, f, indent=1)
        f.write("\n")
    print(json.dumps(cost, indent=1))


if __name__ == "__main__":
    main()
