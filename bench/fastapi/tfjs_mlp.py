"""The builtin trainer's MLP (a TensorFlow.js Sequential of Dense and Dropout layers: model.json +
weights.bin) rebuilt as a torch module with the same weights, for export_builtin.py and server.py.
"""

import json
import math
import os

import torch

ACTIVATIONS = {
    "linear": torch.nn.Identity,
    "relu": torch.nn.ReLU,
    "tanh": torch.nn.Tanh,
    "sigmoid": torch.nn.Sigmoid,
    "elu": torch.nn.ELU,
    "selu": torch.nn.SELU,
    "swish": torch.nn.SiLU,
    "softmax": lambda: torch.nn.Softmax(dim=-1),
}


def read_weights(folder, manifest):
    """name -> float32 tensor, from the weight files the manifest lists (in this folder only)."""
    tensors = {}
    for group in manifest:
        blob = b""
        for path in group["paths"]:
            full = os.path.realpath(os.path.join(folder, path))
            if os.path.dirname(full) != os.path.realpath(folder):
                raise ValueError(f"weights path {path!r} leaves the artifact folder")
            with open(full, "rb") as f:
                blob += f.read()
        offset = 0
        for spec in group["weights"]:
            if spec["dtype"] != "float32":
                raise ValueError(f"{spec['name']}: dtype {spec['dtype']} is not supported")
            count = math.prod(spec["shape"])
            values = torch.frombuffer(bytearray(blob[offset : offset + 4 * count]), dtype=torch.float32)
            tensors[spec["name"]] = values.reshape(spec["shape"])
            offset += 4 * count
    return tensors


def load_mlp(folder):
    """The Sequential in folder/model.json as torch.nn.Sequential (eval mode; dropout dropped)."""
    with open(os.path.join(folder, "model.json")) as f:
        model = json.load(f)
    topology = model["modelTopology"]
    if topology.get("class_name") != "Sequential":
        raise ValueError(f"expected a Sequential model, got {topology.get('class_name')}")
    weights = read_weights(folder, model["weightsManifest"])
    layers = []
    for layer in topology["config"]["layers"]:
        kind, config = layer["class_name"], layer["config"]
        if kind == "Dropout":
            continue  # inference: the identity
        if kind != "Dense":
            name = config.get("name")
            raise ValueError(f"layer {name}: {kind} is not supported (Dense and Dropout only)")
        kernel = weights[f"{config['name']}/kernel"]  # [in, out]; torch keeps [out, in]
        linear = torch.nn.Linear(kernel.shape[0], kernel.shape[1], bias=config.get("use_bias", True))
        with torch.no_grad():
            linear.weight.copy_(kernel.t())
            if linear.bias is not None:
                linear.bias.copy_(weights[f"{config['name']}/bias"])
        layers += [linear, ACTIVATIONS[config.get("activation", "linear")]()]
    return torch.nn.Sequential(*layers).eval()
