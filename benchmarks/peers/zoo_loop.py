#!/usr/bin/python3
"""The loop a Python user would write instead of `needle select`: PyTorch inference of the same weights + FAISS LOO-1NN.

For a zoo written by `needle zoo generate` (CNNs, MLPs and packed adapters; their ONNX initializers are loaded into
equivalent torch modules, the first expert checked against ONNX-free reference arithmetic by construction: same
weights, same ops), on the same images Needle is given (an IDX file; the same stratified subsample is not needed for
timing, but the first N images are used and their count printed). Per expert: build the module, load its weights,
embed every image (batches of --batch, torch.no_grad, all cores), then FAISS IndexFlatL2 leave-one-out 1-NN accuracy.
Prints the best expert and the whole process's time is what to compare (run it under /usr/bin/time).

Needs Debian's python3-torch python3-onnx python3-faiss.
Usage: /usr/bin/python3 benchmarks/peers/zoo_loop.py ZOO IDX_IMAGES [N] [--batch B]
"""
import argparse, gzip, json, os, struct, time

import faiss
import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn.functional as F


def idx_images(path, n):
    op = gzip.open if path.endswith(".gz") else open
    with op(path, "rb") as f:
        _, count, h, w = struct.unpack(">IIII", f.read(16))
        x = np.frombuffer(f.read(), dtype=np.uint8).reshape(count, 1, h, w)[:n]
    lab = path.replace("images-idx3", "labels-idx1")
    with op(lab, "rb") as f:
        f.read(8)
        y = np.frombuffer(f.read(), dtype=np.uint8)[:n]
    return torch.from_numpy(x.astype(np.float32) / 255.0), y.astype(np.int64)


def weights(path):
    m = onnx.load(path)
    return {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}


def forward(arch, w, x, adapter):
    if arch.startswith("cnn"):
        depth = int(arch[3])
        for l in range(depth):
            x = F.relu(F.conv2d(x, w[f"conv{l}.weight"], w[f"conv{l}.bias"], padding=1))
            if l < depth - 1:
                x = F.max_pool2d(x, 2)
        return x.mean(dim=(2, 3))
    x = x.flatten(1)
    if arch.startswith("mlp-adapters"):
        h = F.relu(x @ w["shared.weight"] + w["shared.bias"])
        return F.relu(h @ w["adapters.weight"][adapter])
    h = F.relu(x @ w["fc1.weight"] + w["fc1.bias"])
    return F.relu(h @ w["fc2.weight"] + w["fc2.bias"])


def loo_faiss(x, y):
    idx = faiss.IndexFlatL2(x.shape[1]); idx.add(x)
    _, nn = idx.search(x, 2)
    pick = np.where(nn[:, 0] == np.arange(len(x)), nn[:, 1], nn[:, 0])
    return float((y[pick] == y).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("zoo"); ap.add_argument("images"); ap.add_argument("n", type=int, nargs="?", default=1000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores; this torch starts with 1)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.time()
    x, y = idx_images(a.images, a.n)
    entries = json.load(open(os.path.join(a.zoo, "zoo.json")))["experts"]
    best, count = (-1.0, None), 0
    with torch.no_grad():
        for e in entries:
            w = weights(os.path.join(a.zoo, e["file"]))
            adapters = [(f'{e["id"]}@{ad["name"]}', ad["index"]) for ad in e["adapters"]["experts"]] if "adapters" in e else [(e["id"], None)]
            for name, k in adapters:
                emb = torch.cat([forward(e["architecture"], w, x[i:i + a.batch], k) for i in range(0, len(x), a.batch)]).numpy()
                acc = loo_faiss(np.ascontiguousarray(emb, dtype=np.float32), y)
                best = max(best, (acc, name))
                count += 1
    print(f"{count} experts, {len(x)} images, torch {torch.__version__} ({torch.get_num_threads()} threads), faiss {faiss.__version__}: "
          f"best {best[1]} knn-loo {best[0]:.4f}; {time.time() - t0:.1f} s after imports")


if __name__ == "__main__":
    main()
