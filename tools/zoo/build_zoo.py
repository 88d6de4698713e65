#!/usr/bin/python3
"""Builds Needle's bundled mini zoo and mini-VTAB (examples/mini-vtab) from offline data, seeded.

  apt-get install python3-torch python3-onnx python3-sklearn python3-pil dataset-fashion-mnist
  /usr/bin/python3 tools/zoo/build_zoo.py          # zoo + tasks, ~15 min on 2 cores
  /usr/bin/python3 tools/zoo/oracle.py             # fine-tune every expert on every task

Upstream data (22 classes, a two-level label hierarchy, see HIERARCHY): Fashion-MNIST *train* split
(55,000 for training, the last 5,000 held out), procedural shapes (15,000 + 1,500 held out) and procedural
textures (15,000 + 1,500 held out). Following [001] and [002], the experts are:

  baseline             B: CNN (width 16) trained on all upstream data; baseline-early: B after 1 epoch
  semantic/<slice>     B fine-tuned on a slice of the hierarchy (8 slices) with a new head
  adapters@<slice>     residual adapters on the frozen B, one per slice, packed in ONE model (6 adapters)
  architecture         cnn-wide, mlp, resnet-tiny, vit-tiny: trained on all upstream data
  objective            rotation (predict 0/90/180/270, self-supervised), autoencoder (reconstruction)
  upstream data        cnn-fashion, cnn-shapes, cnn-textures: trained from scratch on one family only
  initialisation       cnn-random: B's architecture at its seeded random initialisation, untrained

The task-agnostic `score` of every expert is its upstream linear-probe accuracy (22 classes, logistic
regression on 6,600 upstream training embeddings, tested on the 8,000 held-out upstream images), the
analogue of ImageNet accuracy in [004]. Also written for [001]'s other selectors (later issues):
selectors/expert-prediction.onnx (predicts which semantic slice an image belongs to),
selectors/generic-classifier.onnx (B with its 22-way upstream head) and selectors/label-priors.json
(each expert's upstream label distribution).

Torch modules of all experts are kept under tools/zoo/.build/ (not committed) for reference.py; oracle.py
fine-tunes the committed ONNX files instead (onnx_experts.py).
"""
import copy
import gzip
import hashlib
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
from models import (Adapters, Cnn, Decoder, Mlp, OneAdapter, ResNetTiny, VitTiny, WithHead,  # noqa: E402
                    parameters)

SEED = 20261122
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "examples", "mini-vtab")
BUILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".build")
THREADS = int(os.environ.get("ZOO_THREADS", "2"))

UPSTREAM_CLASSES = data.FASHION + data.SHAPES + data.TEXTURES          # 22 upstream labels
HIERARCHY = {                                                          # slice -> upstream labels
    "fashion": list(range(0, 10)),
    "fashion-tops": [0, 2, 4, 6],
    "fashion-footwear": [5, 7, 9],
    "fashion-other": [1, 3, 8],
    "shapes": list(range(10, 16)),
    "shapes-curves": [13, 14, 15],
    "textures": list(range(16, 22)),
    "textures-stripes": [16, 17, 18],
}
ADAPTER_SLICES = ["fashion", "fashion-tops", "fashion-footwear", "fashion-other", "shapes", "textures"]

TASKS = [  # name, group, classes
    ("fashion", "natural"), ("digits", "natural"), ("photo-patches", "natural"),
    ("cells", "specialized"), ("terrain", "specialized"), ("retina", "specialized"),
    ("sprites-loc", "structured"), ("sprites-orient", "structured"), ("clevr-count", "structured"),
]
TRAIN, VAL, TEST = 800, 200, 500


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def tensor(x):
    return torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)


def fit(model, x, y, epochs, lr, seed, batch=128, params=None, loss_fn=None, max_steps=None):
    """Adam with cosine decay; x uint8 [N,28,28], y int64 [N] (or any target loss_fn accepts)."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(params if params is not None else model.parameters(), lr=lr)
    n = len(x)
    steps = epochs * ((n + batch - 1) // batch)
    if max_steps:
        steps = min(steps, max_steps)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    done = 0
    while done < steps:
        perm = torch.randperm(n, generator=g)
        for i in range(0, n, batch):
            j = perm[i:i + batch].numpy()
            xb = tensor(x[j])
            out = model(xb)
            loss = loss_fn(out, j, xb) if loss_fn else F.cross_entropy(out, torch.from_numpy(y[j]))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            done += 1
            if done >= steps:
                break
    model.eval()
    return model


@torch.no_grad()
def embed(body, x, batch=1000):
    body.eval()
    return np.concatenate([body(tensor(x[i:i + batch])).numpy() for i in range(0, len(x), batch)])


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    model.eval()
    pred = np.concatenate([model(tensor(x[i:i + batch])).argmax(1).numpy() for i in range(0, len(x), batch)])
    return float((pred == y).mean())


def export(model, path, adapter=False, output="embedding"):
    model.eval()
    args = (torch.zeros(2, 1, 28, 28),) + ((torch.tensor(0),) if adapter else ())
    names = ["image"] + (["adapter"] if adapter else [])
    torch.onnx.export(model, args, path, input_names=names, output_names=[output],
                      dynamic_axes={"image": {0: "batch"}, output: {0: "batch"}}, opset_version=13)
    onnx.checker.check_model(onnx.load(path))


def write_idx(path, arr):
    """IDX file of unsigned bytes, gzip'd with a fixed mtime so rebuilds are byte-identical."""
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=9) as f:
        f.write(header + np.ascontiguousarray(arr, dtype=np.uint8).tobytes())


def stratified(y, n, rng):
    """n indices, as equal per class as possible, shuffled."""
    classes = np.unique(y)
    per = [rng.permutation(np.flatnonzero(y == c)) for c in classes]
    take, k = [], 0
    while len(take) < n:
        for p in per:
            if k < len(p) and len(take) < n:
                take.append(p[k])
        k += 1
    return rng.permutation(np.array(take))


def split_train_val(x, y, rng):
    """1000 examples ordered as 800 train then 200 validation, both stratified."""
    idx = stratified(y, TRAIN + VAL, rng)
    val = stratified(y[idx], VAL, rng)
    val_set = idx[val]
    rest = np.setdiff1d(idx, val_set)
    order = np.concatenate([rng.permutation(rest), val_set])
    return x[order], y[order]


# ------------------------------------------------------------------ data
def upstream(rng):
    fx, fy = data.fashion("train")
    sx, sy = data.shapes(16500, rng)
    tx, ty = data.textures(16500, rng)
    sy, ty = sy + 10, ty + 16
    train = (np.concatenate([fx[:55000], sx[:15000], tx[:15000]]), np.concatenate([fy[:55000], sy[:15000], ty[:15000]]))
    test = (np.concatenate([fx[55000:], sx[15000:], tx[15000:]]), np.concatenate([fy[55000:], sy[15000:], ty[15000:]]))
    return train, test


def tasks(rng):
    out = {}
    fx, fy = data.fashion("test")
    i = stratified(fy, TRAIN + VAL + TEST, rng)
    out["fashion"] = (split_train_val(fx[i[:1000]], fy[i[:1000]], rng), (fx[i[1000:]], fy[i[1000:]]))
    dx, dy = data.digits()
    i = stratified(dy, len(dy), rng)
    out["digits"] = (split_train_val(dx[i[:1000]], dy[i[:1000]], rng), (dx[i[1000:]], dy[i[1000:]]))
    (px, py), (qx, qy) = data.photo_patches(TRAIN + VAL, TEST, rng)
    out["photo-patches"] = (split_train_val(px, py, rng), (qx, qy))
    gens = {"cells": data.cells, "terrain": data.terrain, "retina": data.retina,
            "sprites-loc": lambda n, r: data.sprites_task(n, r, "loc"),
            "sprites-orient": lambda n, r: data.sprites_task(n, r, "orient"),
            "clevr-count": data.clevr_count}
    for name, gen in gens.items():
        x, y = gen(TRAIN + VAL + TEST + 300, rng)          # extra so stratification has room
        i = stratified(y, TRAIN + VAL + TEST, rng)
        out[name] = (split_train_val(x[i[:1000]], y[i[:1000]], rng), (x[i[1000:]], y[i[1000:]]))
    return out


# ------------------------------------------------------------------ experts
def supervised(body, x, y, classes, epochs, seed, lr=2e-3, max_steps=None):
    torch.manual_seed(seed)
    m = WithHead(body, classes)
    fit(m, x, y, epochs, lr, seed, max_steps=max_steps)
    return m


def main():
    torch.set_num_threads(THREADS)
    rng = np.random.default_rng(SEED)
    os.makedirs(BUILD, exist_ok=True)
    zoo_dir = os.path.join(OUT, "zoo")
    os.makedirs(os.path.join(zoo_dir, "selectors"), exist_ok=True)
    t0 = time.time()
    (ux, uy), (vx, vy) = upstream(rng)
    log(f"upstream: {len(ux)} train, {len(vx)} held out, 22 classes")
    task_data = tasks(np.random.default_rng(SEED + 1))

    # no image may be both upstream and downstream
    up_hashes = {hashlib.sha1(im.tobytes()).digest() for im in np.concatenate([ux, vx])}
    for name, ((x, _), (tx, _)) in task_data.items():
        shared = sum(hashlib.sha1(im.tobytes()).digest() in up_hashes for im in np.concatenate([x, tx]))
        assert shared == 0, f"task {name}: {shared} images also upstream"
    log("tasks: no image shared with upstream")

    experts = {}       # id -> dict(module, meta)

    def add(eid, body, arch, upstream_name, upstream_size, tags, labels):
        experts[eid] = dict(body=body, architecture=arch, upstream=upstream_name, upstream_size=int(upstream_size),
                            tags=tags, labels=labels)

    all_labels = list(range(22))
    # B and its early checkpoint
    torch.manual_seed(SEED)
    base = WithHead(Cnn(16), 22)
    fit(base, ux, uy, 1, 2e-3, SEED)
    add("baseline-early", copy.deepcopy(base.body), "cnn-w16", "upstream-all (1 epoch)", len(ux), ["baseline", "init"], all_labels)
    fit(base, ux, uy, 2, 1e-3, SEED + 1)
    add("baseline", base.body, "cnn-w16", "upstream-all", len(ux), ["baseline"], all_labels)
    log(f"baseline: upstream head accuracy {accuracy(base, vx, vy):.3f}")

    # semantic experts: B fine-tuned on hierarchy slices, new head (zoo.json: "parent": "baseline", for soups)
    for k, (sl, labels) in enumerate(HIERARCHY.items()):
        mask = np.isin(uy, labels)
        remap = {l: i for i, l in enumerate(labels)}
        sy = np.array([remap[v] for v in uy[mask]])
        m = WithHead(copy.deepcopy(base.body), len(labels))
        fit(m, ux[mask], sy, 2, 1e-3, SEED + 10 + k, max_steps=300)
        add(f"semantic-{sl}", m.body, "cnn-w16", f"upstream-all > {sl}", mask.sum(), ["semantic", sl.split("-")[0]], labels)
        log(f"semantic-{sl}: {mask.sum()} images, slice accuracy {accuracy(m, vx[np.isin(vy, labels)], np.array([remap[v] for v in vy[np.isin(vy, labels)]])):.3f}")

    # adapters: frozen B, one adapter set + head per slice, packed in one model
    # Known flaw of the bundled build (kept so the bundle stays reproducible from this script): the backbone's BatchNorm
    # running statistics were re-estimated on each slice in turn, and all adapters share those of the last slice
    # (textures). The backbone's weights and the other adapters' parameters do stay unchanged.
    packed = train_adapters(base.body, ADAPTER_SLICES, HIERARCHY, ux, uy, SEED, 300, freeze_statistics=False)
    packed.eval()
    for k, sl in enumerate(ADAPTER_SLICES):
        add(f"adapters@{sl}", OneAdapter(packed, k), "cnn-w16+adapters", f"upstream-all > {sl} (adapter)",
            np.isin(uy, HIERARCHY[sl]).sum(), ["adapter", sl.split("-")[0]], HIERARCHY[sl])
    log("adapters trained")

    # architectures, on all upstream data
    for k, (eid, make, arch, ep) in enumerate([("cnn-wide", lambda: Cnn(32), "cnn-w32", 2), ("mlp", Mlp, "mlp", 3),
                                               ("resnet-tiny", ResNetTiny, "resnet-tiny", 2),
                                               ("vit-tiny", VitTiny, "vit-tiny", 3)]):
        torch.manual_seed(SEED + 20 + k)
        m = supervised(make(), ux, uy, 22, ep, SEED + 20 + k)
        add(eid, m.body, arch, "upstream-all", len(ux), ["architecture"], all_labels)
        log(f"{eid}: upstream head accuracy {accuracy(m, vx, vy):.3f}")

    # objectives: rotation prediction and autoencoding (no labels)
    rot = rotation_pretext(ux, uy, SEED)
    add("rotation", rot.body, "cnn-w16", "upstream-all, unlabelled (rotation pretext)", len(ux), ["self-supervised"], all_labels)
    log("rotation trained")

    torch.manual_seed(SEED + 50)
    enc, dec = Cnn(16), Decoder(64)
    ae = nn.Sequential(enc, dec)
    fit(ae, ux, uy, 2, 2e-3, SEED + 51, loss_fn=lambda out, j, xb: F.mse_loss(out, xb))
    add("autoencoder", enc, "cnn-w16", "upstream-all, unlabelled (reconstruction)", len(ux), ["self-supervised"], all_labels)
    log("autoencoder trained")

    # upstream data: one family only, from scratch
    for k, fam in enumerate(["fashion", "shapes", "textures"]):
        labels = HIERARCHY[fam]
        mask = np.isin(uy, labels)
        m = supervised(Cnn(16), ux[mask], uy[mask] - labels[0], len(labels), 3 if fam != "fashion" else 2, SEED + 60 + k)
        add(f"cnn-{fam}", m.body, "cnn-w16", f"{fam} only", mask.sum(), ["upstream-data", fam], labels)
    log("single-family experts trained")

    torch.manual_seed(SEED + 70)
    add("cnn-random", Cnn(16).eval(), "cnn-w16", "none (random init)", 0, ["init"], [])

    # task-agnostic score: upstream linear-probe accuracy, same protocol for every expert
    entries = []
    priors = score_experts(experts, ux, uy, vx, vy, 22, SEED, BUILD)

    for eid, e in experts.items():
        if eid.startswith("adapters@"):
            continue
        export(e["body"], os.path.join(zoo_dir, eid + ".onnx"))
        entries.append(dict(id=eid, file=eid + ".onnx", architecture=e["architecture"], parameters=e["parameters"],
                            dimension=e["body"].dim, upstream=e["upstream"], upstream_size=e["upstream_size"],
                            score=round(e["score"], 4), tags=e["tags"],
                            **({"parent": "baseline"} if eid.startswith("semantic-") else {})))
    export(packed, os.path.join(zoo_dir, "adapters.onnx"), adapter=True)
    entries.append(adapters_entry(packed, experts, ADAPTER_SLICES))
    manifest = dict(experts=entries)
    with open(os.path.join(zoo_dir, "zoo.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")

    # [001]'s other selectors
    write_selectors(zoo_dir, base, ux, uy, HIERARCHY, ADAPTER_SLICES, UPSTREAM_CLASSES, priors, SEED,
                    lambda m, p: export(m, p, output="logits"))

    write_task_files(os.path.join(OUT, "tasks"), TASKS, task_data, TRAIN, VAL)
    log(f"done in {time.time() - t0:.0f} s")


def write_task_files(tdir, tasks, task_data, train, val):
    """Each task's train file (train + validation examples, in that order) and test file as gzip'd IDX, and
    tasks.json listing them; tasks: (name, group) pairs, task_data: name -> ((x, y), (test_x, test_y))."""
    listing = []
    for name, group in tasks:
        (x, y), (tx, ty) = task_data[name]
        d = os.path.join(tdir, name)
        os.makedirs(os.path.join(d, "test"), exist_ok=True)
        write_idx(os.path.join(d, "train-images-idx3-ubyte.gz"), x)
        write_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"), y.astype(np.uint8))
        write_idx(os.path.join(d, "test", "test-images-idx3-ubyte.gz"), tx)
        write_idx(os.path.join(d, "test", "test-labels-idx1-ubyte.gz"), ty.astype(np.uint8))
        listing.append(dict(name=name, group=group, classes=int(y.max()) + 1,
                            train=f"{name}/train-images-idx3-ubyte.gz", train_size=train, val_size=val,
                            test=f"{name}/test/test-images-idx3-ubyte.gz", test_size=int(len(tx))))
    with open(os.path.join(tdir, "tasks.json"), "w") as f:
        json.dump(dict(note=f"train files hold {train + val} examples: the first {train} are the training split, "
                            f"the last {val} the validation split the oracle chose learning rates on", tasks=listing),
                  f, indent=1)
        f.write("\n")


# ------------------------------------------------------------------ shared by build_zoo.py and build_experts.py

def train_adapters(body, slices, hierarchy, ux, uy, seed, max_steps, freeze_statistics):
    """[001]'s adapter experts: residual adapters on a frozen copy of `body`, one set (and head) per slice, trained in
    turn (Adam 3e-3, at most 2 epochs of the slice or max_steps), packed in one model. With freeze_statistics the
    backbone's BatchNorm statistics stay as they are; without (mini-VTAB's build), fit()'s training mode re-estimates
    them on each slice in turn."""
    packed = Adapters(copy.deepcopy(body), len(slices))
    for p in packed.backbone.parameters():
        p.requires_grad_(False)

    class Frozen(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def train(self, mode=True):
            super().train(mode)
            packed.backbone.eval()
            return self

        def forward(self, x):
            return self.inner(x)

    for k, sl in enumerate(slices):
        labels = hierarchy[sl]
        mask = np.isin(uy, labels)
        remap = {l: i for i, l in enumerate(labels)}
        sy = np.array([remap[v] for v in uy[mask]])
        torch.manual_seed(seed + 30 + k)
        head = nn.Linear(packed.dim, len(labels))
        model = nn.Sequential(OneAdapter(packed, k), head)
        fit(Frozen(model) if freeze_statistics else model, ux[mask], sy, 2, 3e-3, seed + 30 + k,
            params=[packed.down1, packed.up1, packed.down2, packed.up2] + list(head.parameters()), max_steps=max_steps)
    packed.eval()
    return packed

def rotation_pretext(ux, uy, seed):
    """B's architecture trained to predict the rotation (0/90/180/270) of unlabelled upstream images."""
    torch.manual_seed(seed + 40)
    rot = WithHead(Cnn(16), 4)

    class Rotated(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m
            self.g = torch.Generator().manual_seed(seed + 41)

        def forward(self, xb):
            k = torch.randint(0, 4, (xb.shape[0],), generator=self.g)
            xr = xb.clone()
            for r in range(1, 4):
                xr[k == r] = torch.rot90(xb[k == r], r, dims=(2, 3))
            self.k = k
            return self.m(xr)

    wrapped = Rotated(rot)
    fit(wrapped, ux, uy, 2, 2e-3, seed + 42, loss_fn=lambda out, j, xb: F.cross_entropy(out, wrapped.k))
    return rot


def score_experts(experts, ux, uy, vx, vy, classes, seed, build):
    """Sets each expert's task-agnostic `score` (upstream linear-probe accuracy: logistic regression on 6,600
    stratified upstream training embeddings, tested on the held-out upstream images) and `parameters`, saves its
    torch module under build/, and returns every expert's upstream label prior (its training label distribution)."""
    from sklearn.linear_model import LogisticRegression
    probe = stratified(uy, 6600, np.random.default_rng(seed + 80))
    priors = {}
    for eid, e in experts.items():
        body = e["body"]
        body.eval()
        a, b = embed(body, ux[probe]), embed(body, vx)
        mu, sd = a.mean(0), a.std(0) + 1e-6
        clf = LogisticRegression(max_iter=500, C=1.0).fit((a - mu) / sd, uy[probe])
        e["score"] = float(clf.score((b - mu) / sd, vy))
        e["parameters"] = parameters(body) if not isinstance(body, OneAdapter) else \
            parameters(body.packed.backbone) + body.packed.adapter_parameters()
        torch.save(body, os.path.join(build, eid.replace("@", "_") + ".pt"))
        prior = np.zeros(classes)
        if e["labels"]:
            counts = np.bincount(uy[np.isin(uy, e["labels"])], minlength=classes)
            prior = counts / counts.sum()
        priors[eid] = [round(float(p), 6) for p in prior]
        log(f"{eid}: score {e['score']:.4f}, {e['parameters']} parameters")
    return priors


def adapters_entry(packed, experts, slices):
    """The zoo.json entry of the packed adapters model, one adapter expert per slice."""
    return dict(id="adapters", file="adapters.onnx", architecture="cnn-w16+adapters", dimension=packed.dim,
                adapters=dict(input="adapter", experts=[
                    dict(name=sl, index=k, parameters=experts[f"adapters@{sl}"]["parameters"],
                         upstream=experts[f"adapters@{sl}"]["upstream"],
                         upstream_size=experts[f"adapters@{sl}"]["upstream_size"],
                         score=round(experts[f"adapters@{sl}"]["score"], 4),
                         tags=experts[f"adapters@{sl}"]["tags"]) for k, sl in enumerate(slices)]))


def write_selectors(zoo_dir, base, ux, uy, hierarchy, adapter_slices, upstream_classes, priors, seed, export_fn):
    """[001]'s selectors: the generic classifier (B with its upstream head), the expert-prediction network over the
    hierarchy's slices (multi-label), and selectors.json with every expert's label prior."""
    classes = len(upstream_classes)
    export_fn(base, os.path.join(zoo_dir, "selectors", "generic-classifier.onnx"))
    slices = list(hierarchy)
    member = np.array([[l in hierarchy[s] for s in slices] for l in range(classes)], np.float32)
    torch.manual_seed(seed + 90)
    pred = WithHead(Cnn(16), len(slices))
    fit(pred, ux, uy, 1, 2e-3, seed + 91,
        loss_fn=lambda out, j, xb: F.binary_cross_entropy_with_logits(out, torch.from_numpy(member[uy[j]])))
    export_fn(pred, os.path.join(zoo_dir, "selectors", "expert-prediction.onnx"))
    with open(os.path.join(zoo_dir, "selectors", "selectors.json"), "w") as f:
        json.dump(dict(
            upstream_classes=upstream_classes,
            generic_classifier=dict(file="generic-classifier.onnx", input="image", output="logits",
                                    note=f"baseline B with its {classes}-way upstream head; softmax gives p(upstream label | image)"),
            expert_prediction=dict(file="expert-prediction.onnx", input="image", output="logits",
                                   experts=[[f"semantic-{s}", f"adapters@{s}"] if s in adapter_slices else f"semantic-{s}"
                                            for s in slices],
                                   note="multi-label: sigmoid(logits)[k] = p(image belongs to slice k); an entry lists "
                                        "the experts trained on that slice (full and adapter)"),
            label_priors=priors), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
