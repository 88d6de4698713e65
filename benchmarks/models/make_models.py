#!/usr/bin/python3
"""Models for the embedding-throughput benchmark (EmbedRun); committed (3.7 MB) so the benchmark needs no Python; rebuilt by:

  apt-get install python3-torch python3-torchvision python3-onnx
  /usr/bin/python3 benchmarks/models/make_models.py

mobilenet_v3_small.onnx: torchvision's MobileNetV3-Small (2.5M parameters), seeded random initialisation
(throughput does not depend on the weights), classifier removed so the output is the 576-d pooled
embedding; input float[B,3,224,224], dynamic batch, opset 13.
"""
import os

import torch
import torchvision

torch.manual_seed(0)
m = torchvision.models.mobilenet_v3_small()
m.classifier = torch.nn.Identity()
m.eval()
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mobilenet_v3_small.onnx")
torch.onnx.export(m, torch.zeros(1, 3, 224, 224), out, input_names=["image"], output_names=["embedding"],
                  dynamic_axes={"image": {0: "batch"}, "embedding": {0: "batch"}}, opset_version=13)
print(out, os.path.getsize(out), "bytes")
