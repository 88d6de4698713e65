#!/usr/bin/python3
"""Does the fine-tuning history of similar tasks rank the experts of a new task? Issue 16 check.

For a held-out task t, each expert's history is its within-task standardised fine-tuned accuracy on the other tasks,
averaged with weights exp(T (s_u - max s)), where s_u is the mean over proxies of the Spearman correlation between
t's and u's scores across the experts (no oracle of t is read). T = 0 is the plain mean over past tasks. The selector
blends ranks: (1 - w) rank(proxy) + w rank(history), with (w, T) chosen by an inner leave-one-task-out search over the
other tasks for the best mean weighted Kendall tau, either greedily (the best inner mean) or by the one-standard-error
rule (the smallest w whose inner mean is within one standard error of the best: history is used only where it clearly
helps). Prints the fixed-T history alone and both blends, with the mean weighted tau (scipy's weightedtau, as
`needle evaluate`) and [004]'s relative regret at B = 1 and 2, on the full pool and within the `cnn-w16` architecture
of mini-VTAB. Inputs: the `scores.csv` the two demos write (`./needle demo --out DIR`,
`./needle demo --benchmark mini-experts --out DIR`) and the committed oracles.

Usage: /usr/bin/python3 tools/research/history_blend.py VTAB_SCORES.csv EXPERTS_SCORES.csv
"""
import csv, itertools, json, os, sys

import numpy as np
from scipy.stats import rankdata, spearmanr, weightedtau

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")
WEIGHTS, TEMPERATURES = [0, 0.25, 0.5, 0.75, 1.0], [0, 2, 5, 10]


def unit_ranks(d):
    keys = list(d)
    r = rankdata([d[k] for k in keys])
    return {k: (x - 1) / (len(keys) - 1) for k, x in zip(keys, r)}


class Bench:
    def __init__(self, name, scores_csv, arch=None):
        root = os.path.join(ROOT, name)
        archs = {}
        for e in json.load(open(f"{root}/zoo/zoo.json"))["experts"]:
            archs[e["id"]] = e["architecture"]
            for a in e.get("adapters", {}).get("experts", []):
                archs[f"{e['id']}@{a['name']}"] = e["architecture"]
        self.tasks = [t["name"] for t in json.load(open(f"{root}/tasks/tasks.json"))["tasks"] if not t.get("exclude")]
        self.oracle = {t: {} for t in self.tasks}
        for r in csv.DictReader(open(f"{root}/oracle.csv")):
            if r["task"] in self.oracle and (arch is None or archs[r["expert"]] == arch):
                self.oracle[r["task"]][r["expert"]] = float(r["accuracy"])
        self.scores = {}
        for r in csv.DictReader(open(scores_csv)):
            if r["status"] == "ok" and r["task"] in self.oracle and r["expert"] in self.oracle[r["task"]]:
                self.scores.setdefault(r["proxy"], {}).setdefault(r["task"], {})[r["expert"]] = float(r["score"])
        self.proxies = [p for p, s in self.scores.items() if all(len(s.get(t, {})) > 2 for t in self.tasks)]
        self.z = {}
        for t, acc in self.oracle.items():
            v = np.array(list(acc.values()))
            self.z[t] = {e: (a - v.mean()) / v.std() for e, a in acc.items()}
        self._sim = {}

    def sim(self, t, u):
        if (t, u) not in self._sim:
            rs = []
            for p in self.proxies:
                common = [e for e in self.oracle[t] if e in self.scores[p][t] and e in self.scores[p][u]]
                r = spearmanr([self.scores[p][t][e] for e in common], [self.scores[p][u][e] for e in common])[0]
                if np.isfinite(r):
                    rs.append(r)
            self._sim[(t, u)] = np.mean(rs) if rs else 0.0
        return self._sim[(t, u)]

    def history(self, t, past, temp):
        s = np.array([self.sim(t, u) for u in past])
        w = np.exp(temp * (s - s.max()))
        w /= w.sum()
        return {e: sum(wi * self.z[u].get(e, 0) for wi, u in zip(w, past)) for e in self.oracle[t]}

    def blend(self, t, proxy, w, temp, past):
        rp = unit_ranks({e: self.scores[proxy][t].get(e, -1e300) for e in self.oracle[t]})
        rh = unit_ranks(self.history(t, past, temp))
        return {e: (1 - w) * rp[e] + w * rh[e] for e in self.oracle[t]}

    def wtau(self, t, rank):
        ex = sorted(self.oracle[t])
        return weightedtau(np.array([self.oracle[t][e] for e in ex]), np.array([rank[e] for e in ex]))[0]

    def regret(self, t, rank, b):
        best = max(self.oracle[t].values())
        s = max(self.oracle[t][e] for e in sorted(self.oracle[t], key=lambda e: -rank[e])[:b])
        return (best - s) / (1 - s)

    def report(self, label, ranker):
        taus, r1, r2 = [], [], []
        for t in self.tasks:
            rank = ranker(t, [u for u in self.tasks if u != t])
            taus.append(self.wtau(t, rank))
            r1.append(self.regret(t, rank, 1))
            r2.append(self.regret(t, rank, 2))
        print(f"  {label:42s} w.tau {np.mean(taus):.3f}  B=1 {100 * np.mean(r1):5.1f}%  B=2 {100 * np.mean(r2):5.1f}%")

    def learned(self, proxy, one_se):
        def ranker(t, train):
            res = []
            for w, temp in itertools.product(WEIGHTS, TEMPERATURES):
                f = [self.wtau(h, self.blend(h, proxy, w, temp, [u for u in train if u != h])) for h in train]
                res.append((np.mean(f), np.std(f, ddof=1) / np.sqrt(len(f)), w, temp))
            best = max(res, key=lambda r: r[0])
            if one_se:
                pick = min((r for r in res if r[0] >= best[0] - best[1]), key=lambda r: (r[2], -r[0]))
            else:
                pick = best
            return self.blend(t, proxy, pick[2], pick[3], train)
        return ranker


def main(vtab, experts):
    for name, scores, arch in (("mini-vtab", vtab, None), ("mini-experts", experts, None), ("mini-vtab", vtab, "cnn-w16")):
        b = Bench(name, scores, arch)
        print(f"{name}{' (arch=' + arch + ')' if arch else ''}: {len(b.tasks)} tasks, similarity over {len(b.proxies)} proxies")
        for temp in TEMPERATURES:
            b.report(f"history alone, T = {temp}", lambda t, past, temp=temp: b.history(t, past, temp))
        for proxy in ("logme", "hscore-shrinkage", "sfda"):
            b.report(f"{proxy} alone", lambda t, past, p=proxy: {e: b.scores[p][t].get(e, -1e300) for e in b.oracle[t]})
            b.report(f"{proxy} + history, best inner (w, T)", b.learned(proxy, False))
            b.report(f"{proxy} + history, one-SE rule", b.learned(proxy, True))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
