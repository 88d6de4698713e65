#!/usr/bin/python3
"""Merges the two bundled benchmarks into one folder that `needle evaluate` reads as a single benchmark. Issue 16 check.

Why: `fused` is trained leave-one-task-out on the benchmark it is evaluated on, so on mini-VTAB it learns from 7
mixed-architecture tasks and on mini-experts from 7 one-architecture tasks. Evaluated on the merged folder, each
held-out task is scored by a model trained on the other 15 tasks of both kinds: does one learned selector then hold on
both? Task and expert ids get a prefix (`v-` mini-VTAB, `e-` mini-experts; both zoos have a `baseline`), groups too;
expert files and task folders are hard links (Needle refuses links that leave a zoo or tasks folder), so the copy is
cheap and must be on the same file system as the checkout.

Inputs: the `scores.csv` that `./needle demo --out DIR` and `./needle demo --benchmark mini-experts --out DIR` write.
Usage: /usr/bin/python3 tools/research/merge_benchmarks.py VTAB_SCORES.csv EXPERTS_SCORES.csv OUT
then:  ./needle evaluate --scores OUT/scores.csv --oracle OUT/oracle.csv --zoo OUT/zoo --tasks OUT/tasks/tasks.json --out OUT/eval
and per benchmark, the mean of correlation.csv's weighted_tau and regret.csv's relative_regret over the rows whose
task starts with `v-` or `e-`.
"""
import csv, json, os, shutil, sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")


def main(vtab_scores, experts_scores, out):
    os.makedirs(f"{out}/zoo", exist_ok=True)
    os.makedirs(f"{out}/tasks", exist_ok=True)
    zoo, tasks, oracle, scores, header = [], [], [], [], None
    for bench, p, scores_csv in (("mini-vtab", "v", vtab_scores), ("mini-experts", "e", experts_scores)):
        root = os.path.join(ROOT, bench)
        for e in json.load(open(f"{root}/zoo/zoo.json"))["experts"]:
            e = dict(e, id=f"{p}-{e['id']}", file=f"{p}-{e['file']}")
            dst = f"{out}/zoo/{e['file']}"
            if not os.path.exists(dst):
                os.link(f"{root}/zoo/{e['file'][2:]}", dst)
            zoo.append(e)
        if not os.path.exists(f"{out}/tasks/{p}"):
            shutil.copytree(f"{root}/tasks", f"{out}/tasks/{p}", copy_function=os.link)
        for t in json.load(open(f"{root}/tasks/tasks.json"))["tasks"]:
            t = dict(t, name=f"{p}-{t['name']}", group=f"{p}-{t.get('group', 'all')}")
            for k in ("train", "test"):
                if k in t:
                    t[k] = f"{p}/{t[k]}"
            tasks.append(t)
        for r in csv.DictReader(open(f"{root}/oracle.csv")):
            oracle.append([f"{p}-{r['task']}", f"{p}-{r['expert']}", r["accuracy"]])
        with open(scores_csv) as f:
            rd = csv.DictReader(f)
            header = header or rd.fieldnames
            for r in rd:
                scores.append(dict(r, task=f"{p}-{r['task']}", expert=f"{p}-{r['expert']}"))
    json.dump({"experts": zoo}, open(f"{out}/zoo/zoo.json", "w"), indent=1)
    json.dump({"tasks": tasks}, open(f"{out}/tasks/tasks.json", "w"), indent=1)
    with open(f"{out}/oracle.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["task", "expert", "accuracy"])
        w.writerows(oracle)
    with open(f"{out}/scores.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(scores)
    print(f"{out}: {len(zoo)} zoo entries, {len(tasks)} tasks, {len(oracle)} oracle rows, {len(scores)} scores")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
