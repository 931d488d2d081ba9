"""The peer a Python team would write, for the onnx-serving benchmark: FastAPI + PyTorch under
uvicorn (one worker, uvloop, httptools), serving a builtin mlform artifact's MLP (tfjs_mlp.py) with
the preprocessing of its preprocess.json implemented here, behind the same TensorFlow Serving-style
JSON API as `mlform serve`:

    /usr/bin/python3 bench/fastapi/server.py ARTIFACT_DIR [MODEL_NAME]

POST /v1/models/{name}:predict {"instances": [{feature: value, ...}]} -> {"predictions": [number]}.
Prints {"url": ...} on stdout once listening; stops on SIGTERM. Debian: python3-fastapi,
python3-uvicorn, python3-uvloop, python3-httptools, python3-torch.
"""

import datetime
import json
import math
import os
import socket
import sys
from typing import Any, Dict, List

import torch
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from tfjs_mlp import load_mlp

MISSING_TEXT = ("", "NA", "NaN", "null")
MISSING_CATEGORY = "<missing>"
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class PredictRequest(BaseModel):
    instances: List[Dict[str, Any]]


def is_missing(value):
    return value is None or (isinstance(value, str) and value.strip() in MISSING_TEXT)


def fnv1a(text):
    """FNV-1a over UTF-16 code units, as artifact/preprocess/hash.ts hashes categories."""
    h = 0x811C9DC5
    units = text.encode("utf-16-le")
    for i in range(0, len(units), 2):
        h = ((h ^ (units[i] | units[i + 1] << 8)) * 0x01000193) & 0xFFFFFFFF
    return h


def scalar(feature, value):
    """A numeric, date or boolean request value as a number; NaN when missing."""
    name, kind = feature["name"], feature["type"]
    if is_missing(value):
        return math.nan
    if kind == "boolean":
        if isinstance(value, bool) or value in (0, 1):
            return float(value)
        raise HTTPException(400, f"{name}: expected a boolean")
    if kind == "date":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value / 86_400_000
        if isinstance(value, str):
            try:
                moment = datetime.datetime.fromisoformat(value)
            except ValueError:
                raise HTTPException(400, f'{name}: expected an ISO 8601 date such as "2024-01-31"')
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=datetime.timezone.utc)
            return (moment - EPOCH).total_seconds() / 86_400
        raise HTTPException(400, f"{name}: expected an ISO 8601 date string")
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    raise HTTPException(400, f"{name}: expected a finite number")


def encode(preprocess, instances):
    """Raw instances -> [N, encodedWidth] float32, as mlform's RowEncoder computes it (float64 first)."""
    names = {f["name"] for f in preprocess["features"]}
    rows = []
    for index, instance in enumerate(instances):
        unknown = set(instance) - names
        if unknown:
            raise HTTPException(400, f"instances[{index}]: unknown features {sorted(unknown)}")
        row = []
        for f in preprocess["features"]:
            value = instance.get(f["name"])
            if f["type"] == "categorical":
                key = MISSING_CATEGORY if is_missing(value) else str(value)
                if isinstance(value, bool):
                    key = "true" if value else "false"
                width = f.get("hashBuckets") or len(f["vocabulary"])
                one_hot = [0.0] * width
                slot = fnv1a(key) % width if f.get("hashBuckets") else f["_index"].get(key, -1)
                if slot >= 0:
                    one_hot[slot] = 1.0
                row += one_hot
            else:
                x = scalar(f, value)
                x = f["fill"] if math.isnan(x) else x
                row.append(x if f["type"] == "boolean" else (x - f["mean"]) / f["std"])
        rows.append(row)
    return torch.tensor(rows, dtype=torch.float64).to(torch.float32)


def create_app(folder, model_name):
    with open(os.path.join(folder, "preprocess.json")) as f:
        preprocess = json.load(f)
    if preprocess["task"] != "regression" or preprocess.get("window"):
        raise SystemExit("server.py: only tabular regression artifacts are supported")
    for f in preprocess["features"]:
        if f["type"] == "categorical":
            f["_index"] = {v: i for i, v in enumerate(f["vocabulary"])}
    target = preprocess["target"]
    model = load_mlp(folder)
    app = FastAPI()

    @app.get("/")
    def health():
        return {"status": "ok"}

    @app.post(f"/v1/models/{model_name}:predict")
    def predict(request: PredictRequest):
        x = encode(preprocess, request.instances)
        with torch.inference_mode():
            y = model(x).reshape(-1).double() * target["std"] + target["mean"]
        return {"predictions": y.tolist()}

    return app


def main():
    folder = sys.argv[1]
    model_name = sys.argv[2] if len(sys.argv) > 2 else "mpg"
    torch.set_num_threads(1)  # one worker on one core, like the node server it is compared with
    app = create_app(folder, model_name)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)  # connections made before uvicorn starts wait in the backlog
    config = uvicorn.Config(
        app, loop="uvloop", http="httptools", workers=1, access_log=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    print(json.dumps({"url": f"http://127.0.0.1:{sock.getsockname()[1]}"}), flush=True)
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
