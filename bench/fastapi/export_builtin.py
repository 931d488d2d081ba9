"""Exports a builtin mlform artifact (TensorFlow.js MLP) to ONNX, for the onnx-serving benchmark:

    /usr/bin/python3 bench/fastapi/export_builtin.py TFJS_DIR ONNX_DIR

Writes ONNX_DIR/model.onnx (the same weights through torch.onnx.export, dynamic batch axis), copies
of preprocess.json (and run.json), and artifact.json (`format: onnx`, input kind `encoded`), so
`mlform serve` applies the same preprocessing to the same network.
"""

import json
import os
import shutil
import sys

import torch

from tfjs_mlp import load_mlp


def main():
    source, target = sys.argv[1], sys.argv[2]
    os.makedirs(target, exist_ok=True)
    with open(os.path.join(source, "preprocess.json")) as f:
        preprocess = json.load(f)
    if preprocess.get("task") != "regression" or preprocess.get("window"):
        sys.exit("export_builtin.py: only tabular regression artifacts are supported")
    model = load_mlp(source)
    torch.onnx.export(
        model,
        torch.zeros(1, preprocess["encodedWidth"]),
        os.path.join(target, "model.onnx"),
        input_names=["input"],
        output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        opset_version=13,
    )
    for name in ("preprocess.json", "run.json"):
        if os.path.exists(os.path.join(source, name)):
            shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
    descriptor = {
        "formatVersion": 1,
        "format": "onnx",
        "model": "model.onnx",
        "task": "regression",
        "target": preprocess["target"]["name"],
        "input": {"kind": "encoded", "name": "input"},
        "output": {"kind": "value", "name": "output"},
        "framework": f"pytorch {torch.__version__} (exported from the builtin tfjs artifact)",
    }
    with open(os.path.join(target, "artifact.json"), "w") as f:
        json.dump(descriptor, f, indent=2)


if __name__ == "__main__":
    main()
