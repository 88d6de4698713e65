#!/usr/bin/python3
"""Needle's estimators against their authors' own Python code, whole process (load + score), one run, same files.

  /usr/bin/python3 benchmarks/peers/estimators.py [--experts 200] [--peer-experts 20] [--n 1000] [--d 2048] [--c 10]
      [--backend cpu] [--out benchmarks/results/estimators-DATE.md]

Writes --experts expert matrices (float32 N x D, seeded Gaussian classes, each expert with its own noise level) and
labels into a temporary folder, then for each estimator:
  * the authors' code (thuml/LogME, thuml/Transfer-Learning-Library, TencentARC/SFDA, imported at run time from the
    git snapshots that the `fetch` tool brought to /work/.mirror, never copied) in one fresh Python process that loads
    the first --peer-experts files with numpy and scores them, timed by the process's wall clock;
  * `needle score --proxy <id> --backend <backend>` on the same first --peer-experts files (a fresh JVM: the ratio
    includes JVM start-up, to Needle's disadvantage), and on all --experts files;
and checks that the values agree (relative difference, max over experts). Needs the runnable jar (java/target/needle.jar).
"""
import argparse, datetime, json, os, platform, subprocess, sys, tempfile, time
import numpy as np

MIRROR = "/work/.mirror"
PEERS = {  # needle id -> (python expression over x, y; modules loaded below)
    "logme": "logme.LogME(regression=False).fit(x, y)",
    "hscore": "hs.h_score(x, y)",
    "hscore-shrinkage": "hs.regularized_h_score(x, y)",
    "transrate": "tr.transrate(x, y)",
    "sfda": "sfda.SFDA_Score(x, y)",
    "parc": "sfda.PARC_Score(x, y)",
}
LOADER = r'''
import importlib.util, io, contextlib, os, subprocess, sys, tempfile, time, numpy as np
t0 = time.perf_counter()
tmp = tempfile.mkdtemp()
def export(gitdir, path, name):
    src = subprocess.run(["git", f"--git-dir={gitdir}", "show", f"HEAD:{path}"], capture_output=True, check=True).stdout
    p = os.path.join(tmp, name); open(p, "wb").write(src); return p
def load(p, name):
    sys.path.insert(0, os.path.dirname(p)); spec = importlib.util.spec_from_file_location(name, p)
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); return m
M = "%(mirror)s"
logme = load(export(M + "/thuml+LogME/repo", "LogME.py", "peer_logme.py"), "peer_logme")
export(M + "/thuml+Transfer-Learning-Library/repo", "tllib/ranking/hscore.py", "peer_hscore.py")
export(M + "/thuml+Transfer-Learning-Library/repo", "tllib/ranking/transrate.py", "peer_transrate.py")
hs = load(os.path.join(tmp, "peer_hscore.py"), "peer_hscore"); tr = load(os.path.join(tmp, "peer_transrate.py"), "peer_transrate")
export(M + "/TencentARC+SFDA/repo", "utils.py", "utils.py")
os.makedirs(os.path.join(tmp, "models", "group1")); open(os.path.join(tmp, "models", "__init__.py"), "w").close()
open(os.path.join(tmp, "models", "group1", "__init__.py"), "w").close()
sfda = load(export(M + "/TencentARC+SFDA/repo", "metrics.py", "peer_sfda.py"), "peer_sfda")
import sklearn, sklearn.decomposition, sklearn.preprocessing, scipy, scipy.stats; sfda.sklearn = sklearn; sfda.scipy = scipy
y = np.load("%(dir)s/labels.npy")
out = []
for f in %(files)r:
    x = np.load(f).astype(np.float64)
    with contextlib.redirect_stdout(io.StringIO()):
        out.append(float(%(expr)s))
print(repr(out)); print(time.perf_counter() - t0, file=sys.stderr)
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--experts", type=int, default=200)
    ap.add_argument("--peer-experts", type=int, default=20)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--d", type=int, default=2048)
    ap.add_argument("--c", type=int, default=10)
    ap.add_argument("--backend", default="cpu")
    ap.add_argument("--only", default=",".join(PEERS))
    ap.add_argument("--jar", default="java/target/needle.jar")
    ap.add_argument("--out", default=f"benchmarks/results/estimators-{datetime.date.today()}.md")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="needle-est-")
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(a.c), a.n // a.c)[: a.n]
    np.save(f"{d}/labels.npy", y.astype(np.int64))
    centres = rng.standard_normal((a.c, a.d)).astype(np.float32)
    files = []
    for e in range(a.experts):
        noise = 0.5 + 2.5 * e / max(1, a.experts - 1)
        x = centres[y] + noise * rng.standard_normal((a.n, a.d)).astype(np.float32)
        f = f"{d}/expert-{e:04d}.npy"
        np.save(f, x.astype(np.float32))
        files.append(f)
    peer_dir = f"{d}/peer"
    os.makedirs(peer_dir)
    for f in files[: a.peer_experts]:
        os.symlink(f, os.path.join(peer_dir, os.path.basename(f)))
    os.symlink(f"{d}/labels.npy", f"{peer_dir}/labels.npy")
    all_dir = f"{d}/all"
    os.makedirs(all_dir)
    for f in files:
        os.symlink(f, os.path.join(all_dir, os.path.basename(f)))
    os.symlink(f"{d}/labels.npy", f"{all_dir}/labels.npy")
    rows = []
    for pid in a.only.split(","):
        code = LOADER % {"mirror": MIRROR, "dir": d, "files": files[: a.peer_experts], "expr": PEERS[pid]}
        t0 = time.perf_counter()
        p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True)
        peer_s = time.perf_counter() - t0
        if p.returncode != 0:
            print(pid, "peer failed:", p.stderr[-2000:], file=sys.stderr)
            continue
        peer = eval(p.stdout.strip().splitlines()[-1])
        def needle(folder, tag):
            outf = f"{d}/{pid}-{tag}.csv"
            t = time.perf_counter()
            q = subprocess.run(["java", "--add-opens=java.base/java.nio=ALL-UNNAMED", "-jar", a.jar, "score", "--embeddings", folder,
                                "--labels", f"{folder}/labels.npy", "--proxy", pid, "--backend", a.backend, "--quiet", "--out", outf],
                               capture_output=True, text=True)
            s = time.perf_counter() - t
            vals = {}
            for line in open(outf).read().splitlines()[1:]:
                f = line.split(",")
                vals[f[0]] = float(f[2]) if f[2] else float("nan")
            return s, vals, q.returncode
        ns, nv, rc = needle(peer_dir, "peer")
        ns_all, _, rc_all = needle(all_dir, "all")
        names = [os.path.basename(f)[:-4] for f in files[: a.peer_experts]]
        rel = max(abs(nv[n] - v) / max(1e-12, abs(v)) for n, v in zip(names, peer))
        rows.append((pid, a.peer_experts, peer_s, ns, peer_s / ns, rel, a.experts, ns_all, rc, rc_all))
        print(pid, f"peer {peer_s:.1f} s, needle {ns:.1f} s ({peer_s / ns:.1f}x), max rel diff {rel:.1e}, all {a.experts}: {ns_all:.1f} s", flush=True)
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    model = next((l.split(":", 1)[1].strip() for l in lscpu.splitlines() if l.startswith("Model name")), platform.processor())
    with open(a.out, "w") as o:
        o.write(f"# Estimators: Needle ({a.backend} backend) against the authors' Python code\n\n")
        o.write(f"{datetime.datetime.now().isoformat(timespec='minutes')}, {model}, {os.cpu_count()} cores; N={a.n}, D={a.d}, C={a.c}; numpy "
                f"{np.__version__}. Whole process each: a fresh python3 (import, load .npy, score) and a fresh JVM (`needle score`).\n\n")
        o.write("| estimator | experts | authors' code, s | Needle, s | speed-up | max rel. diff | Needle, all experts | s |\n|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            o.write(f"| {r[0]} | {r[1]} | {r[2]:.1f} | {r[3]:.1f} | {r[4]:.1f}x | {r[5]:.1e} | {r[6]} | {r[7]:.1f} |\n")
    print("wrote", a.out)


if __name__ == "__main__":
    main()
