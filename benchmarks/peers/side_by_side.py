#!/usr/bin/python3
"""Needle against scikit-learn and FAISS-CPU, side by side in one run, on the same matrices.

Uses ../shared/bench/cpu_peers.py's data and peer functions (imported, not copied), saves each matrix as
.npy, runs the peers (best of 3) and then Needle's PeerRun (best of 5 after warm-up, one JVM) on the same
files, and prints a markdown table of seconds per expert, accuracies and speed-up ratios.

Needs Debian's python3-sklearn python3-faiss and a built benchmarks jar (./mvnw -B install -DskipTests).
Usage: /usr/bin/python3 benchmarks/peers/side_by_side.py [BACKEND ...]   (default: cpu)
"""
import importlib.util, os, subprocess, sys, tempfile
import numpy as np

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
spec = importlib.util.spec_from_file_location("cpu_peers_lib", os.path.join(root, "..", "shared", "bench", "cpu_peers.py"))
src = open(spec.origin).read().split('print("what')[0]  # the definitions only, not the script's own run
peers = {}
exec(compile(src, spec.origin, "exec"), peers)

configs = [(1000, 128, 10), (1000, 512, 10), (1000, 2048, 10), (1000, 2048, 100), (4000, 2048, 10)]
backends = sys.argv[1:] or ["cpu"]
rows = {}
with tempfile.TemporaryDirectory() as tmp:
    dirs = []
    for n, d, c in configs:
        x, y = peers["data"](n, d, c)
        p = os.path.join(tmp, f"n{n}_d{d}_c{c}")
        os.makedirs(p)
        np.save(os.path.join(p, "x.npy"), x)
        np.save(os.path.join(p, "y.npy"), y.astype(np.int64))
        dirs.append(p)
        t, a = peers["best"](lambda: peers["loo_sklearn"](x, y)); rows[("loo", n, d, c, "sklearn")] = (t, a)
        t, a = peers["best"](lambda: peers["loo_faiss"](x, y)); rows[("loo", n, d, c, "faiss")] = (t, a)
        if n == 1000:
            t, a = peers["best"](lambda: peers["linear"](x, y), reps=1); rows[("linear", n, d, c, "sklearn")] = (t, a)
    jar = os.path.join(root, "benchmarks", "target", "benchmarks.jar")
    for b in backends:
        out = subprocess.run(["java", "--add-opens=java.base/java.nio=ALL-UNNAMED", "-cp", jar, "io.needle.bench.PeerRun", b, "5"] + dirs,
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            what, n, d, c, t, a = line.split("\t")
            kind = "loo" if what.startswith("loo") else "linear"
            rows[(kind, int(n), int(d), int(c), "needle-" + b)] = (float(t), float(a))

cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].split(":", 1)[1].strip()
print(f"machine: {cpu}, {os.cpu_count()} cores; numpy {np.__version__}")
print("| proxy | N | D | C | scikit-learn s | FAISS s | " + " | ".join(f"needle {b} s" for b in backends)
      + " | accuracy (sklearn / faiss / needle) | needle vs sklearn | needle vs faiss |")
print("|---" * (9 + len(backends)) + "|")
for kind in ["loo", "linear"]:
    for n, d, c in configs:
        sk = rows.get((kind, n, d, c, "sklearn")); fa = rows.get((kind, n, d, c, "faiss"))
        if sk is None:
            continue
        ne = [rows.get((kind, n, d, c, "needle-" + b)) for b in backends]
        best = min(ne, key=lambda r: r[0])
        accs = " / ".join(f"{r[1]:.4f}" for r in [sk, fa] + ne if r)
        print(f"| {kind} | {n} | {d} | {c} | {sk[0]:.4f} | {fa[0]:.4f} | " if fa else f"| {kind} | {n} | {d} | {c} | {sk[0]:.4f} | - | ", end="")
        print(" | ".join(f"{r[0]:.4f}" for r in ne) + f" | {accs} | {sk[0] / best[0]:.1f}x | " + (f"{fa[0] / best[0]:.1f}x |" if fa else "- |"))
