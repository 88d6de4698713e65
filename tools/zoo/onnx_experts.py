#!/usr/bin/python3
"""The committed ONNX experts of examples/mini-vtab/zoo as trainable PyTorch modules.

  from onnx_experts import load_expert; body = load_expert("adapters@fashion")

The module is the architecture of models.py for the expert's `architecture` in zoo.json, with every
BatchNorm2d folded into the convolution before it (replaced by an identity), because the ONNX export folded
them: the committed files hold the folded convolution weights, not the BatchNorm parameters. Every weight is
then copied from the ONNX initializers: by name where the export kept the PyTorch name (fc.1.weight, down1,
patch.weight, ...), otherwise, for the initializers the exporter renamed (onnx::Conv_33, onnx::MatMul_262),
in the order the graph first uses them, matched to the module's remaining parameters in registration order
(which is also the forward order in models.py), shapes checked, MatMul weights transposed into Linear
weights. Every initializer must be used and every parameter set, or loading fails.

So in eval mode the module computes exactly the committed ONNX graph (checked against ONNX Runtime by
verify_onnx_experts.py); fine-tuning it fine-tunes the committed expert, all its weights trainable.
"""
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import Adapters, Cnn, Mlp, OneAdapter, ResNetTiny, VitTiny, WithHead  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ZOO = os.path.join(ROOT, "examples", "mini-vtab", "zoo")


def use_benchmark(name):
    """Loads experts from examples/<name>/zoo from now on (default: mini-vtab)."""
    global ZOO
    ZOO = os.path.join(ROOT, "examples", name, "zoo")

ARCHITECTURES = {"cnn-w16": lambda: Cnn(16), "cnn-w32": lambda: Cnn(32), "mlp": Mlp,
                 "resnet-tiny": ResNetTiny, "vit-tiny": VitTiny}


def fold_batchnorm(module):
    """Replaces every BatchNorm2d by an identity (the ONNX export folded each into the Conv2d before it)."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.BatchNorm2d):
            setattr(module, name, nn.Identity())
        else:
            fold_batchnorm(child)
    return module


def initializers_in_use_order(graph):
    """[(name, array, op_type of the first node using it)] in the order the graph first uses them."""
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    out, seen = [], set()
    for node in graph.node:
        for x in node.input:
            if x in init and x not in seen:
                seen.add(x)
                out.append((x, init[x], node.op_type))
    unused = set(init) - seen
    assert not unused, f"initializers no node uses: {sorted(unused)}"
    return out


def load_weights(module, path):
    """Copies the ONNX file's initializers into module's parameters (see the module docstring)."""
    inits = initializers_in_use_order(onnx.load(path).graph)
    params = dict(module.named_parameters())
    assigned = {}
    rest = []
    for name, arr, op in inits:
        if name in params:
            assigned[name] = arr
        else:
            rest.append((name, arr, op))
    remaining = [n for n in params if n not in assigned]
    assert len(remaining) == len(rest), f"{path}: {len(remaining)} parameters {remaining} for {len(rest)} initializers"
    for pname, (iname, arr, op) in zip(remaining, rest):
        if op == "MatMul":                      # x @ W in ONNX is Linear's x @ weight.T
            arr = arr.T
        assert tuple(arr.shape) == tuple(params[pname].shape), \
            f"{path}: initializer {iname} {arr.shape} does not fit parameter {pname} {tuple(params[pname].shape)}"
        assigned[pname] = arr
    with torch.no_grad():
        for pname, arr in assigned.items():
            assert tuple(arr.shape) == tuple(params[pname].shape), f"{path}: {pname} shape"
            params[pname].copy_(torch.from_numpy(np.array(arr, dtype=np.float32)))
    assert not list(module.buffers()), f"{path}: buffers left after folding"
    return module


def manifest():
    with open(os.path.join(ZOO, "zoo.json")) as f:
        return json.load(f)["experts"]


def expert_ids():
    ids = []
    for e in manifest():
        ids += [f"{e['id']}@{x['name']}" for x in e["adapters"]["experts"]] if "adapters" in e else [e["id"]]
    return ids


def load_expert(expert):
    """The expert (an id of zoo.json, or "adapters@<name>") as an eval-mode PyTorch module, weights from ONNX."""
    base, _, adapter = expert.partition("@")
    entry = next(e for e in manifest() if e["id"] == base)
    path = os.path.join(ZOO, entry["file"])
    if "adapters" in entry:
        names = [x["name"] for x in entry["adapters"]["experts"]]
        index = next(x["index"] for x in entry["adapters"]["experts"] if x["name"] == adapter)
        assert entry["architecture"] == "cnn-w16+adapters"
        packed = fold_batchnorm(Adapters(Cnn(16), len(names)))
        load_weights(packed, path)
        body = OneAdapter(packed, index)
    elif "logits" in entry:
        # an expert exported with its upstream head (mini-experts): the graph holds the head's weights too
        assert not adapter, expert
        out = next(o for o in onnx.load(path).graph.output if o.name == entry["logits"])
        classes = out.type.tensor_type.shape.dim[1].dim_value
        body = load_weights(fold_batchnorm(WithHead(ARCHITECTURES[entry["architecture"]](), classes)), path).body
    else:
        assert not adapter, expert
        body = load_weights(fold_batchnorm(ARCHITECTURES[entry["architecture"]]()), path)
    assert body.dim == entry["dimension"]
    return body.eval()
