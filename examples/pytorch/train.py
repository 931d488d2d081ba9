"""A plain PyTorch trainer that follows mlform's artifact contract (docs/artifact.md).

Trains an MLP that predicts a car's miles per gallon from the cars data set (the quickstart's
problem, so the two can be compared), then writes to $AIP_MODEL_DIR:

- model.onnx       the network, exported with a dynamic batch axis
- preprocess.json  mlform's preprocessing description: the server turns raw feature values into the
                   network's input exactly as this script did (artifact/preprocess/)
- artifact.json    format onnx, regression, input kind `encoded`, output kind `value`
- metrics.json     val_mae, val_rmse, val_loss and the same for the naive baseline (train mean)
- samples.json     a few validation rows and this script's predictions for them (tests compare the
                   served predictions with these)

Run by mlform (`trainer.command: [python3, train.py]`) or by hand:

    AIP_MODEL_DIR=/tmp/out /usr/bin/python3 train.py --epochs=60 --lr=0.01 --hidden=32,16 --seed=42

Hyperparameters come as --name=value arguments (mlform appends them) or as JSON in
MLFORM_HYPERPARAMETERS; arguments win. Checkpoints go to $AIP_CHECKPOINT_DIR after every epoch and a
restarted run resumes from the last one. Needs only torch (Debian: python3-torch); TensorBoard
scalars are written only when torch.utils.tensorboard imports.
"""

import datetime
import json
import math
import os
import sys
import time

import torch

FEATURES = ["Cylinders", "Displacement", "Horsepower", "Weight_in_lbs", "Acceleration", "Year", "Origin"]
TYPES = {"Year": "date", "Origin": "categorical"}  # the others are numeric
TARGET = "Miles_per_Gallon"
MISSING_CATEGORY = "<missing>"
DEFAULTS = {
    "epochs": 60,
    "lr": 0.01,
    "hidden": "32,16",
    "seed": 42,
    "batch_size": 32,
    "validation_split": 0.2,
    "data": os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "cars.json"),
}
SAMPLES = 5


def hyperparameters(argv):
    """DEFAULTS overridden by MLFORM_HYPERPARAMETERS, then by --name=value arguments."""
    values = dict(DEFAULTS)
    values.update(json.loads(os.environ.get("MLFORM_HYPERPARAMETERS") or "{}"))
    extra = {}
    for arg in argv:
        if not arg.startswith("--") or "=" not in arg:
            sys.exit(f"train.py: unexpected argument {arg!r}; use --name=value")
        name, value = arg[2:].split("=", 1)
        extra[name.replace("-", "_")] = value
    values.update(extra)
    unknown = sorted(set(values) - set(DEFAULTS))
    if unknown:
        sys.exit(f"train.py: unknown hyperparameter(s) {', '.join(unknown)}; known: {', '.join(DEFAULTS)}")
    try:
        return {
            "epochs": int(values["epochs"]),
            "lr": float(values["lr"]),
            "hidden": [int(h) for h in str(values["hidden"]).split(",") if h.strip()],
            "seed": int(values["seed"]),
            "batch_size": int(values["batch_size"]),
            "validation_split": float(values["validation_split"]),
            "data": str(values["data"]),
        }
    except ValueError as e:
        sys.exit(f"train.py: bad hyperparameter: {e}")


def missing(value):
    """mlform's notion of a missing cell (artifact/preprocess/values.ts)."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or (
        isinstance(value, str) and value.strip() in ("", "NA", "NaN", "null")
    )


def epoch_days(text):
    """Days since 1970-01-01 of a YYYY-MM-DD date, as mlform's date features count them."""
    return float((datetime.date.fromisoformat(text[:10]) - datetime.date(1970, 1, 1)).days)


def raw_number(name, value):
    if missing(value):
        return math.nan
    return epoch_days(value) if TYPES.get(name) == "date" else float(value)


def median(values):
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2


def fit_scalar(name, column):
    """Median fill, then the population mean and std of the filled column (fit-encoding.ts)."""
    present = [v for v in column if not math.isnan(v)]
    if not present:
        return {"name": name, "type": TYPES.get(name, "numeric"), "mean": 0.0, "std": 1.0, "fill": 0.0}
    fill = median(present)
    filled = [fill if math.isnan(v) else v for v in column]
    mean = sum(filled) / len(filled)
    std = math.sqrt(sum((v - mean) ** 2 for v in filled) / len(filled))
    if not std > 1e-9 * max(1.0, abs(mean)):
        std = 1.0  # a constant column encodes as 0
    return {"name": name, "type": TYPES.get(name, "numeric"), "mean": mean, "std": std, "fill": fill}


def fit_categorical(name, column):
    """Vocabulary by train frequency, most frequent first, ties by name (fit-encoding.ts)."""
    counts = {}
    for value in column:
        key = MISSING_CATEGORY if missing(value) else str(value)
        counts[key] = counts.get(key, 0) + 1
    vocabulary = sorted(counts, key=lambda k: (-counts[k], k))
    return {"name": name, "type": "categorical", "vocabulary": vocabulary}


def fit_preprocess(rows):
    features = []
    for name in FEATURES:
        if TYPES.get(name) == "categorical":
            features.append(fit_categorical(name, [row.get(name) for row in rows]))
        else:
            features.append(fit_scalar(name, [raw_number(name, row.get(name)) for row in rows]))
    targets = [float(row[TARGET]) for row in rows]
    mean = sum(targets) / len(targets)
    std = math.sqrt(sum((y - mean) ** 2 for y in targets) / len(targets))
    width = sum(len(f["vocabulary"]) if f["type"] == "categorical" else 1 for f in features)
    return {
        "formatVersion": 1,
        "task": "regression",
        "features": features,
        "target": {"type": "numeric", "name": TARGET, "mean": mean, "std": std},
        "encodedWidth": width,
        "inputShape": [width],
    }


def encode(preprocess, rows):
    """Raw rows -> [N, encodedWidth] float32, computed in float64 like mlform's RowEncoder."""
    out = []
    for row in rows:
        encoded = []
        for f in preprocess["features"]:
            value = row.get(f["name"])
            if f["type"] == "categorical":
                key = MISSING_CATEGORY if missing(value) else str(value)
                encoded += [1.0 if key == v else 0.0 for v in f["vocabulary"]]  # unknown: all zeros
            else:
                x = raw_number(f["name"], value)
                encoded.append(((f["fill"] if math.isnan(x) else x) - f["mean"]) / f["std"])
        out.append(encoded)
    return torch.tensor(out, dtype=torch.float64).to(torch.float32)


def split(n, fraction, seed):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    n_val = max(1, round(n * fraction))
    return sorted(order[n_val:]), sorted(order[:n_val])


def mlp(width, hidden):
    layers = []
    for units in hidden:
        layers += [torch.nn.Linear(width, units), torch.nn.ReLU()]
        width = units
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, 1))


def regression_metrics(predicted, actual, target):
    """MAE and RMSE in mpg, loss as the training loss (MSE of the standardised target)."""
    error = predicted.double() - actual.double()
    return {
        "val_mae": error.abs().mean().item(),
        "val_rmse": error.pow(2).mean().sqrt().item(),
        "val_loss": (error / target["std"]).pow(2).mean().item(),
    }


def local_dir(name):
    """A directory from the environment. Vertex AI passes gs:// URIs and mounts the buckets at /gcs."""
    value = os.environ.get(name)
    return "/gcs/" + value[len("gs://"):] if value and value.startswith("gs://") else value


def checkpoint_path():
    directory = local_dir("AIP_CHECKPOINT_DIR")
    return os.path.join(directory, "checkpoint.pt") if directory else None


def save_checkpoint(path, state):
    if path is None:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.save(state, path + ".tmp")
    os.replace(path + ".tmp", path)  # a crash mid-write leaves the previous checkpoint


def load_checkpoint(path, hp):
    if path is None or not os.path.exists(path):
        return None
    state = torch.load(path)
    # A checkpoint of other hyperparameters is another run's: start over rather than mix them.
    return state if state.get("hyperparameters") == hp else None


def tensorboard_writer():
    directory = local_dir("AIP_TENSORBOARD_LOG_DIR")
    if not directory:
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # Debian's torch comes without tensorboard: skip the scalars quietly
        return None
    return SummaryWriter(directory)


def emit(event):
    print(json.dumps(event), flush=True)


def write_json(directory, name, value):
    with open(os.path.join(directory, name), "w") as f:
        json.dump(value, f, indent=2)
        f.write("\n")


def main():
    hp = hyperparameters(sys.argv[1:])
    out_dir = local_dir("AIP_MODEL_DIR")
    if not out_dir:
        sys.exit("train.py: AIP_MODEL_DIR is not set (mlform sets it; by hand: AIP_MODEL_DIR=/tmp/out)")
    os.makedirs(out_dir, exist_ok=True)
    started = time.time()
    torch.manual_seed(hp["seed"])
    torch.set_num_threads(1)  # deterministic sums, and the model is far too small to gain from more

    with open(hp["data"]) as f:
        rows = [row for row in json.load(f) if not missing(row.get(TARGET))]
    train_idx, val_idx = split(len(rows), hp["validation_split"], hp["seed"])
    train_rows, val_rows = [rows[i] for i in train_idx], [rows[i] for i in val_idx]
    preprocess = fit_preprocess(train_rows)  # fitted on the training split only
    target = preprocess["target"]
    x, x_val = encode(preprocess, train_rows), encode(preprocess, val_rows)
    y = torch.tensor([(float(r[TARGET]) - target["mean"]) / target["std"] for r in train_rows])
    y = y.unsqueeze(1)
    y_val = torch.tensor([float(r[TARGET]) for r in val_rows], dtype=torch.float64)

    model = mlp(preprocess["encodedWidth"], hp["hidden"])
    optimizer = torch.optim.Adam(model.parameters(), lr=hp["lr"])
    shuffle = torch.Generator().manual_seed(hp["seed"] + 1)
    first_epoch, best = 1, None
    ckpt = checkpoint_path()
    resumed = load_checkpoint(ckpt, hp)
    if resumed:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        shuffle.set_state(resumed["shuffle"])
        first_epoch, best = resumed["epoch"] + 1, resumed["best"]
    start = {"type": "start", "epochs": hp["epochs"]}
    emit({**start, "resumedFromEpoch": first_epoch - 1} if resumed else start)
    writer = tensorboard_writer()

    def predict(inputs):
        model.eval()
        with torch.no_grad():
            return model(inputs).squeeze(1).double() * target["std"] + target["mean"]

    for epoch in range(first_epoch, hp["epochs"] + 1):
        model.train()
        total = 0.0
        for batch in torch.randperm(len(x), generator=shuffle).split(hp["batch_size"]):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x[batch]), y[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        metrics = regression_metrics(predict(x_val), y_val, target)
        train_loss = total / len(x)
        if best is None or metrics["val_loss"] < best["metrics"]["val_loss"]:
            # state_dict() aliases the live tensors: copy them.
            weights = {k: v.clone() for k, v in model.state_dict().items()}
            best = {"epoch": epoch, "loss": train_loss, "metrics": metrics, "model": weights}
        emit({"type": "epoch", "epoch": epoch, "epochs": hp["epochs"], "loss": train_loss,
              "metrics": metrics})
        if writer:
            writer.add_scalar("loss", train_loss, epoch)
            for name, value in metrics.items():
                writer.add_scalar(name, value, epoch)
        save_checkpoint(ckpt, {
            "hyperparameters": hp, "epoch": epoch, "best": best, "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "shuffle": shuffle.get_state(),
        })
    if writer:
        writer.close()

    # The artifact is the epoch with the lowest validation loss.
    model.load_state_dict(best["model"])
    model.eval()
    predicted = predict(x_val)
    metrics = regression_metrics(predicted, y_val, target)
    baseline = regression_metrics(torch.full_like(y_val, target["mean"]), y_val, target)

    torch.onnx.export(
        model, x_val[:1], os.path.join(out_dir, "model.onnx"),
        input_names=["input"], output_names=["output"],
        dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=13,
    )
    write_json(out_dir, "preprocess.json", preprocess)
    write_json(out_dir, "artifact.json", {
        "formatVersion": 1,
        "format": "onnx",
        "model": "model.onnx",
        "task": "regression",
        "target": TARGET,
        "input": {"kind": "encoded", "name": "input"},
        "output": {"kind": "value", "name": "output"},
        "framework": f"pytorch {torch.__version__}",
    })
    picked = list(range(0, len(val_rows), max(1, len(val_rows) // SAMPLES)))[:SAMPLES]
    write_json(out_dir, "samples.json", {
        "instances": [{name: val_rows[i].get(name) for name in FEATURES} for i in picked],
        "predictions": [predicted[i].item() for i in picked],
    })
    # metrics.json last: mlform reads the artifact once the process exits 0.
    write_json(out_dir, "metrics.json", {
        "formatVersion": 1,
        "task": "regression",
        "metrics": {**metrics, "loss": best["loss"]},
        "baseline": baseline,
        "baselineKind": "mean",
        "training": {"epochs": hp["epochs"], "bestEpoch": best["epoch"],
                     "seconds": round(time.time() - started, 3)},
    })
    emit({"type": "done", "metrics": metrics, "seconds": time.time() - started})


if __name__ == "__main__":
    main()
