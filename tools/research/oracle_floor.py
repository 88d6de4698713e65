#!/usr/bin/python3
"""How low can any selector's regret be against a seed-averaged fine-tune oracle? Issue 16 check.

Two estimates per bundled benchmark, from the oracle's own runs (`examples/<bench>/oracle/runs.csv`; the oracle's rule:
the learning rate with the best mean validation accuracy over the non-diverged seeds, the mean test accuracy there, all
runs when every run diverged):

1. Split seeds: pick the top B experts of each task by an oracle built from half the seeds and judge the pick by an
   oracle built from the other half (every split). This is the oracle's own reproducibility.
2. Perfect knowledge: a selector that knows every expert's expected fine-tuned accuracy (taken as the oracle's mean)
   picks the top B; it is judged against a fresh oracle drawn with the same number of seeds, each expert's mean
   perturbed by its seeds' standard error (normal approximation, 2000 draws, seed 0).

Both print [004]'s mean relative regret, (best - s) / (1 - s), over the benchmark's included tasks.

Usage: /usr/bin/python3 tools/research/oracle_floor.py
"""
import csv, itertools, json, os

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")


def oracle_value(rows):
    ok = [r for r in rows if r["diverged"] == "0"] or rows
    if not ok:
        return None, 0.0, 0
    lrs = sorted({float(r["lr"]) for r in ok})
    lr = max(lrs, key=lambda x: (np.mean([float(r["val_accuracy"]) for r in ok if float(r["lr"]) == x]), -x))
    a = np.array([float(r["test_accuracy"]) for r in ok if float(r["lr"]) == lr])
    return a.mean(), (a.std(ddof=1) if len(a) > 1 else 0.0), len(a)


def relative(best, s):
    return (best - s) / (1 - s)


def main():
    rng = np.random.default_rng(0)
    for bench in ("mini-vtab", "mini-experts"):
        root = os.path.join(ROOT, bench)
        tasks = [t["name"] for t in json.load(open(f"{root}/tasks/tasks.json"))["tasks"] if not t.get("exclude")]
        runs = {}
        for r in csv.DictReader(open(f"{root}/oracle/runs.csv")):
            if r["task"] in tasks:
                runs.setdefault((r["task"], r["expert"]), []).append(r)
        seeds = sorted({int(r["seed"]) for rs in runs.values() for r in rs})
        split = {1: [], 2: []}
        for a in itertools.combinations(seeds, len(seeds) // 2):
            for b in (1, 2):
                rel = []
                for t in tasks:
                    ex = [e for (u, e) in runs if u == t]
                    va = {e: oracle_value([r for r in runs[(t, e)] if int(r["seed"]) in a])[0] for e in ex}
                    vb = {e: oracle_value([r for r in runs[(t, e)] if int(r["seed"]) not in a])[0] for e in ex}
                    ex = [e for e in ex if va[e] is not None and vb[e] is not None]
                    pick = sorted(ex, key=lambda e: -va[e])[:b]
                    rel.append(relative(max(vb[e] for e in ex), max(vb[e] for e in pick)))
                split[b].append(np.mean(rel))
        stats = {k: oracle_value(v) for k, v in runs.items()}
        perfect = {1: [], 2: []}
        for _ in range(2000):
            for b in (1, 2):
                rel = []
                for t in tasks:
                    ex = [e for (u, e) in stats if u == t]
                    draw = {e: stats[(t, e)][0] + rng.normal() * stats[(t, e)][1] / np.sqrt(stats[(t, e)][2]) for e in ex}
                    pick = sorted(ex, key=lambda e: -stats[(t, e)][0])[:b]
                    rel.append(relative(max(draw.values()), max(draw[e] for e in pick)))
                perfect[b].append(np.mean(rel))
        print(f"{bench} ({len(tasks)} tasks, {len(seeds)} seeds)")
        for b in (1, 2):
            print(f"  B={b}: oracle's top {b} from half its seeds, judged on the other half: {100 * np.mean(split[b]):.1f}% "
                  f"(splits {100 * min(split[b]):.1f}-{100 * max(split[b]):.1f}); perfect knowledge against a fresh oracle: "
                  f"{100 * np.mean(perfect[b]):.1f}% [95%: {100 * np.percentile(perfect[b], 2.5):.1f}, {100 * np.percentile(perfect[b], 97.5):.1f}]")


if __name__ == "__main__":
    main()
