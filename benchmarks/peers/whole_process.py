#!/usr/bin/python3
"""Whole-process side by side: Needle's CLI against FAISS-CPU and scikit-learn on a folder of experts' .npy files.

Writes E experts' embeddings (float32 N x D .npy, default 200 x 1000 x 2048, C = 10) and labels.npy into a
folder, then times each tool as a fresh process (interpreter or JVM start, imports, reading every file and
scoring it, all included), in interleaved rounds so each round's ratios compare runs made minutes apart at most:

  faiss     python3: numpy loads every .npy; ../shared/bench/cpu_peers.py's loo_faiss (IndexFlatL2, k = 2) on each
  needle    needle score --proxy knn-loo (java -jar java/target/needle.jar)
  sklearn   python3: numpy loads every .npy; cpu_peers.py's linear (LogisticRegression(lbfgs, max_iter=200),
            fitted on rows [:800], scored on [800:]) on each, its rows reordered so that those are exactly the
            train and validation rows of Needle's own split (written by io.needle.bench.SplitRun)
  needle    needle score --proxy linear

Data: as cpu_peers.py's generator (class centres N(0,1), examples = centre + 1.5 N(0,1)); expert 0 is exactly
cpu_peers.data(N, D, C, 0) and the labels are its labels; expert t > 0 has its own centres and noise (seeded t)
on the same labels. --noise-max ramps the noise scale from --noise to it over the experts (harder experts, so
accuracies differ and the agreement check means something).

Checks: knn-loo accuracies equal FAISS's exactly, expert by expert; linear within 1 point of scikit-learn's.
The peers' functions are taken from cpu_peers.py at run time (its def statements, parsed), not copied.
Every process runs under /usr/bin/time for its peak RSS. Files are in the page cache (read once before timing).

Needs Debian's python3-sklearn python3-faiss and a build (./mvnw -B install -DskipTests).
Usage: /usr/bin/python3 benchmarks/peers/whole_process.py [--experts 200] [--reps 3] [--sklearn-experts 200] ...
"""
import argparse, ast, glob, os, shutil, statistics, subprocess, sys, tempfile, time
import numpy as np

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEERS = os.path.normpath(os.path.join(root, "..", "shared", "bench", "cpu_peers.py"))
JAR = os.path.join(root, "java", "target", "needle.jar")
BENCH_JAR = os.path.join(root, "benchmarks", "target", "benchmarks.jar")


def peer_defs(*names):
    """The source of cpu_peers.py's top-level functions of these names (parsed, so its script part never runs)."""
    src = open(PEERS).read()
    defs = {n.name: ast.get_source_segment(src, n) for n in ast.parse(src).body if isinstance(n, ast.FunctionDef)}
    return "\n\n".join(defs[n] for n in names)


FAISS_CHILD = """
import glob, os, sys
import numpy as np
import faiss
exec(DEFS)
d = sys.argv[1]
y = np.load(os.path.join(d, "labels.npy"))
for f in sorted(glob.glob(os.path.join(d, "e*.npy"))):
    print(os.path.basename(f)[:-4], repr(loo_faiss(np.load(f), y)))
"""

SKLEARN_CHILD = """
import glob, os, sys
import numpy as np
from sklearn.linear_model import LogisticRegression
exec(DEFS)
d, k = sys.argv[1], int(sys.argv[2])
y = np.load(os.path.join(d, "labels.npy"))
val = np.load(sys.argv[3]) == 1
# cpu_peers.linear fits rows [:800] and scores rows [800:]: put Needle's train rows first, its validation rows last
perm = np.concatenate([np.flatnonzero(~val), np.flatnonzero(val)])
assert (~val).sum() == 800 and len(y) == 1000, "cpu_peers.linear needs N = 1000 with 200 validation rows"
for f in sorted(glob.glob(os.path.join(d, "e*.npy")))[:k]:
    x = np.load(f)
    print(os.path.basename(f)[:-4], repr(linear(x[perm], y[perm])))
"""

LOAD_CHILD = """
import glob, os, sys
import numpy as np
s = 0.0
for f in sorted(glob.glob(os.path.join(sys.argv[1], "e*.npy"))):
    s += float(np.load(f)[0, 0])
print(s)
"""


def make_data(folder, e, n, d, c, noise, noise_max):
    ns = {"np": np}
    exec(peer_defs("data"), ns)
    x0, y = ns["data"](n, d, c, 0)
    np.save(os.path.join(folder, "labels.npy"), y.astype(np.int64))
    for t in range(e):
        scale = noise if noise_max is None or e == 1 else noise + (noise_max - noise) * t / (e - 1)
        if t == 0 and scale == 1.5:
            x = x0
        else:
            rng = np.random.default_rng(t)
            centers = rng.normal(size=(c, d)).astype(np.float32)
            x = (centers[y] + scale * rng.normal(size=(n, d))).astype(np.float32)
        np.save(os.path.join(folder, f"e{t:04d}.npy"), x)
    return y


def timed(cmd):
    """Runs cmd as a fresh process under /usr/bin/time; returns (seconds, peak RSS MiB, stdout, stderr)."""
    full = ["/usr/bin/time", "-f", "RSS_KB=%M"] + cmd
    t = time.perf_counter()
    p = subprocess.run(full, capture_output=True, text=True)
    s = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-3000:]}")
    rss = [int(l.split("=")[1]) for l in p.stderr.splitlines() if l.startswith("RSS_KB=")]
    err = "\n".join(l for l in p.stderr.splitlines() if not l.startswith("RSS_KB="))
    return s, rss[-1] / 1024 if rss else float("nan"), p.stdout, err


def pairs(out):
    return {a: float(b) for a, b in (l.split() for l in out.splitlines() if l.strip())}


def needle_scores(csv):
    out = {}
    for line in open(csv).read().splitlines()[1:]:
        expert, proxy, score, status = line.split(",")[:4]
        assert status == "ok", line
        out[expert] = float(score)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--experts", type=int, default=200)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--d", type=int, default=2048)
    ap.add_argument("--c", type=int, default=10)
    ap.add_argument("--noise", type=float, default=1.5, help="noise scale of the data (cpu_peers.py: 1.5)")
    ap.add_argument("--noise-max", type=float, default=None, help="ramp the noise scale up to this over the experts")
    ap.add_argument("--reps", type=int, default=3, help="rounds; each runs every tool once")
    ap.add_argument("--sklearn-experts", type=int, default=None,
                    help="run scikit-learn on the first K experts only and extrapolate to all (start-up measured apart)")
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--needle-args", default="", help="extra needle score arguments, e.g. '--batch 16'")
    ap.add_argument("--java-opts", default="", help="extra JVM options")
    ap.add_argument("--jar", default=JAR, help="the needle.jar to run (default: this checkout's)")
    ap.add_argument("--baseline-jar", default=None, help="also run this needle.jar (say, an earlier build), in the same rounds")
    ap.add_argument("--only", default="knn,linear", help="knn, linear, or both (comma separated)")
    ap.add_argument("--dir", default=None, help="use (and keep) this data folder; made if empty")
    a = ap.parse_args()
    only = a.only.split(",")

    tmp = None
    folder = a.dir
    if folder is None:
        tmp = tempfile.mkdtemp(prefix="needle-wp-")
        folder = tmp
    os.makedirs(folder, exist_ok=True)
    try:
        if not glob.glob(os.path.join(folder, "e*.npy")):
            t = time.perf_counter()
            make_data(folder, a.experts, a.n, a.d, a.c, a.noise, a.noise_max)
            print(f"wrote {a.experts} experts ({a.n} x {a.d} float32, C = {a.c}) in {time.perf_counter() - t:.1f} s to {folder}", flush=True)
        files = sorted(glob.glob(os.path.join(folder, "e*.npy")))
        e = len(files)
        labels = os.path.join(folder, "labels.npy")
        split = os.path.join(folder, "split.npy.flags")
        subprocess.run(["java", "-cp", BENCH_JAR, "io.needle.bench.SplitRun", labels, "0.2", "0", split], check=True)
        for f in files:  # into the page cache: every tool reads warm files
            with open(f, "rb") as fh:
                while fh.read(1 << 24):
                    pass
        def java_cmd(jar):
            return (["java", "--add-opens=java.base/java.nio=ALL-UNNAMED"] + a.java_opts.split()
                    + ["-jar", jar, "score", "--embeddings", folder, "--labels", labels, "--backend", a.backend] + a.needle_args.split())
        java = java_cmd(a.jar)
        csv = os.path.join(folder, "scores.csv")
        k_sk = min(a.sklearn_experts or e, e)
        runs = {}  # name -> list of (seconds, rss)
        results = {}

        def run(name, cmd, parse=None):
            s, rss, out, err = timed(cmd)
            runs.setdefault(name, []).append((s, rss))
            if parse:
                results[name] = parse(out)
            timing = [l for l in err.splitlines() if l.startswith("scored")]
            print(f"  {name:<16} {s:7.2f} s  RSS {rss:6.0f} MiB  {timing[0] if timing else ''}", flush=True)

        for r in range(a.reps):
            print(f"round {r + 1}", flush=True)
            run("numpy-load", ["/usr/bin/python3", "-c", LOAD_CHILD, folder])
            if "knn" in only:
                run("faiss", ["/usr/bin/python3", "-c", FAISS_CHILD.replace("exec(DEFS)", peer_defs("loo_faiss")), folder], pairs)
                run("needle-knn-loo", java + ["--proxy", "knn-loo", "--out", csv], lambda _: needle_scores(csv))
                if a.baseline_jar:
                    run("baseline-knn-loo", java_cmd(a.baseline_jar) + ["--proxy", "knn-loo", "--out", csv], lambda _: needle_scores(csv))
            if "linear" in only:
                child = SKLEARN_CHILD.replace("exec(DEFS)", peer_defs("linear"))
                run("sklearn", ["/usr/bin/python3", "-c", child, folder, str(k_sk), split], pairs)
                if k_sk < e:
                    run("sklearn-startup", ["/usr/bin/python3", "-c", child, folder, "0", split])
                run("needle-linear", java + ["--proxy", "linear", "--out", csv], lambda _: needle_scores(csv))
                if a.baseline_jar:
                    run("baseline-linear", java_cmd(a.baseline_jar) + ["--proxy", "linear", "--out", csv], lambda _: needle_scores(csv))

        def sk_time(i):
            s = runs["sklearn"][i][0]
            if k_sk < e:
                s0 = runs["sklearn-startup"][i][0]
                s = s0 + (s - s0) * e / k_sk
            return s

        cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].split(":", 1)[1].strip()
        import sklearn, faiss
        print()
        print(f"machine: {cpu}, {os.cpu_count()} cores; numpy {np.__version__}, scikit-learn {sklearn.__version__}, faiss {faiss.__version__}; "
              f"{e} experts, N = {a.n}, D = {a.d}, C = {a.c}, noise {a.noise}" + (f"..{a.noise_max}" if a.noise_max else "")
              + f"; needle --backend {a.backend} {a.needle_args}".rstrip())
        print()
        print("| process | seconds per round | min | median | peak RSS MiB |")
        print("|---|---|---|---|---|")
        for name, v in runs.items():
            ss = [x[0] for x in v]
            print(f"| {name} | {' / '.join(f'{x:.2f}' for x in ss)} | {min(ss):.2f} | {statistics.median(ss):.2f} | {max(x[1] for x in v):.0f} |")
        if k_sk < e and "sklearn" in runs:
            ext = [sk_time(i) for i in range(len(runs['sklearn']))]
            print(f"| sklearn, extrapolated to {e} experts | {' / '.join(f'{x:.2f}' for x in ext)} | {min(ext):.2f} | {statistics.median(ext):.2f} | |")
        print()
        if "knn" in only:
            rr = [f[0] / n[0] for f, n in zip(runs["faiss"], runs["needle-knn-loo"])]
            fa, ne = results["faiss"], results["needle-knn-loo"]
            diff = [x for x in fa if fa[x] != ne[x]]
            print(f"knn-loo: FAISS / Needle whole process per round {' / '.join(f'{x:.2f}x' for x in rr)} (median {statistics.median(rr):.2f}x); "
                  f"accuracies {'equal for all ' + str(len(fa)) if not diff else 'DIFFER for ' + str(diff)} experts "
                  f"(mean {np.mean(list(fa.values())):.4f}, min {min(fa.values()):.4f})")
            if a.baseline_jar:
                rb = [f[0] / n[0] for f, n in zip(runs["faiss"], runs["baseline-knn-loo"])]
                db = [x for x in fa if fa[x] != results["baseline-knn-loo"][x]]
                print(f"knn-loo, baseline jar: FAISS / baseline per round {' / '.join(f'{x:.2f}x' for x in rb)} (median {statistics.median(rb):.2f}x); "
                      f"baseline / Needle {' / '.join(f'{b[0] / n[0]:.2f}x' for b, n in zip(runs['baseline-knn-loo'], runs['needle-knn-loo']))}; "
                      f"accuracies {'equal' if not db else 'DIFFER for ' + str(db)}")
        if "linear" in only:
            rr = [sk_time(i) / n[0] for i, n in enumerate(runs["needle-linear"])]
            sk, ne = results["sklearn"], results["needle-linear"]
            d = [abs(sk[x] - ne[x]) for x in sk]
            print(f"linear: scikit-learn / Needle whole process per round {' / '.join(f'{x:.2f}x' for x in rr)} (median {statistics.median(rr):.2f}x)"
                  + (f" (scikit-learn on {k_sk} experts, extrapolated)" if k_sk < e else "")
                  + f"; validation accuracy on {len(sk)} experts: max |difference| {max(d) * 100:.2f} points, "
                  f"{sum(x > 0.01 + 1e-9 for x in d)} beyond 1 point; mean sklearn {np.mean(list(sk.values())):.4f}, "
                  f"needle {np.mean([ne[x] for x in sk]):.4f}")
            if a.baseline_jar:
                rb = [sk_time(i) / n[0] for i, n in enumerate(runs["baseline-linear"])]
                bl = results["baseline-linear"]
                print(f"linear, baseline jar: scikit-learn / baseline per round {' / '.join(f'{x:.2f}x' for x in rb)} (median {statistics.median(rb):.2f}x); "
                      f"baseline / Needle {' / '.join(f'{b[0] / n[0]:.2f}x' for b, n in zip(runs['baseline-linear'], runs['needle-linear']))}; "
                      f"max |baseline - Needle| {max(abs(bl[x] - ne[x]) for x in ne) * 100:.2f} points")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
