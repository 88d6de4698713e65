#!/usr/bin/python3
"""Every fixed rank average of up to 5 proxies (and the metadata score), on both bundled benchmarks at once.

A research check for issue 16, section 3: does a *fixed* consensus of estimators (the mean of their within-task
ranks, each rank scaled to (0, 1]) beat every single estimator's mean weighted Kendall tau on mini-VTAB and on
mini-experts? Inputs are the `scores.csv` files `./needle demo` and `./needle demo --benchmark mini-experts` write
(all proxies; `--out` to keep both) and the committed oracles. Weighted tau is scipy's `weightedtau(oracle, score)`
(as the SFDA paper and `needle evaluate`), relative regret [004]'s (best - picked) / (1 - picked); tasks marked
`exclude` in tasks.json are left out, as the demo does. The printed single-proxy figures equal the demo's table.

Usage: /usr/bin/python3 tools/research/rank_combos.py VTAB_SCORES.csv EXPERTS_SCORES.csv
"""
import csv, itertools, json, os, sys

import numpy as np
from scipy.stats import rankdata, weightedtau

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")


class Bench:
    def __init__(self, name, scores_csv):
        root = os.path.join(ROOT, name)
        self.tasks = [t["name"] for t in json.load(open(f"{root}/tasks/tasks.json"))["tasks"] if not t.get("exclude")]
        self.oracle = {(r["task"], r["expert"]): float(r["accuracy"]) for r in csv.DictReader(open(f"{root}/oracle.csv"))}
        self.experts = sorted({e for (_, e) in self.oracle})
        self.scores = {}
        for r in csv.DictReader(open(scores_csv)):
            if r["status"] == "ok":
                self.scores.setdefault(r["proxy"], {})[(r["task"], r["expert"])] = float(r["score"])
        meta = {}
        for e in json.load(open(f"{root}/zoo/zoo.json"))["experts"]:
            for a in e.get("adapters", {}).get("experts", []):
                meta[f"{e['id']}@{a['name']}"] = a.get("score", e.get("score"))
            meta.setdefault(e["id"], e.get("score"))
        self.scores["metadata"] = {(t, e): meta[e] for t in self.tasks for e in self.experts if meta.get(e) is not None}
        self.ranks = {p: self._ranks(s) for p, s in self.scores.items()}

    def _ranks(self, s):
        out = {}
        for t in self.tasks:
            keys = [(t, e) for e in self.experts if (t, e) in s]
            if keys:
                for k, r in zip(keys, rankdata([s[k] for k in keys]) / len(keys)):
                    out[k] = r
        return out

    def wtau(self, s):
        taus = []
        for t in self.tasks:
            es = [e for e in self.experts if (t, e) in self.oracle and (t, e) in s]
            if len(es) >= 3:
                taus.append(weightedtau([self.oracle[(t, e)] for e in es], [s[(t, e)] for e in es])[0])
        return float(np.mean(taus))

    def regret(self, s, budget):
        out = []
        for t in self.tasks:
            es = [e for e in self.experts if (t, e) in self.oracle]
            best = max(self.oracle[(t, e)] for e in es)
            picked = sorted(es, key=lambda e: -s.get((t, e), -1e30))[:budget]
            got = max(self.oracle[(t, e)] for e in picked)
            out.append((best - got) / (1 - got) if got < 1 else 0.0)
        return 100 * float(np.mean(out))

    def combo(self, proxies):
        keys = set().union(*(self.ranks[p] for p in proxies))
        return {k: sum(self.ranks[p].get(k, 0.5) for p in proxies) for k in keys}


def main():
    a, b = Bench("mini-vtab", sys.argv[1]), Bench("mini-experts", sys.argv[2])
    common = sorted(set(a.scores) & set(b.scores))
    for bench in (a, b):
        print(f"single proxies ({len(bench.tasks)} tasks):")
        for p in sorted(common, key=lambda p: -bench.wtau(bench.scores[p])):
            s = bench.scores[p]
            print(f"  {p:18s} w.tau {bench.wtau(s):.3f}  B=1 {bench.regret(s, 1):5.1f}%  B=2 {bench.regret(s, 2):5.1f}%")
    best_a = max(a.wtau(a.scores[p]) for p in common if p != "metadata")
    best_b = max(b.wtau(b.scores[p]) for p in common if p != "metadata")
    pool = [p for p in common if p not in ("epn", "kl", "leep", "nce")]  # undefined on one benchmark or near zero on both
    rows = []
    for k in range(2, 6):
        for ps in itertools.combinations(pool, k):
            ca, cb = a.combo(ps), b.combo(ps)
            rows.append((min(a.wtau(ca) - best_a, b.wtau(cb) - best_b), a.wtau(ca), b.wtau(cb),
                         a.regret(ca, 1), a.regret(ca, 2), b.regret(cb, 1), b.regret(cb, 2), "+".join(ps)))
    rows.sort(reverse=True)
    beat = [r for r in rows if r[0] > 0]
    print(f"\n{len(rows)} rank averages of 2-5 of {len(pool)} signals; {len(beat)} beat the best single estimator's "
          f"weighted tau on both (mini-VTAB {best_a:.3f}, mini-experts {best_b:.3f}); best 15:")
    print("  margin  w.tau vtab/experts   vtab B=1  B=2   experts B=1  B=2   signals")
    for r in rows[:15]:
        print("  %+.3f  %.3f / %.3f       %5.1f %5.1f       %5.1f %5.1f   %s" % r)
    print("lowest mini-VTAB B=2 regret of any: %.1f%%; of any beating both: %s" % (
        min(r[4] for r in rows), "%.1f%%" % min(r[4] for r in beat) if beat else "-"))


if __name__ == "__main__":
    main()
