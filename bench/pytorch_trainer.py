"""The PyTorch side of bench/trainer.ts: the same network, data, batch size, optimizer and thread
count, trained on the CPU with a plain PyTorch loop.

    /usr/bin/python3 bench/pytorch_trainer.py JOB.json

JOB.json (written by bench/trainer.ts) names float32 files holding the prepared splits, exactly the
arrays mlform trains on. Prints one JSON line. Needs only torch (Debian: python3-torch).
"""

import json
import sys
import time

import torch


def tensor(path, shape):
    with open(path, "rb") as f:
        return torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(shape)


class LastStepLstm(torch.nn.Module):
    """nn.LSTM (sigmoid gates, two bias vectors) then Linear on the last step's output."""

    def __init__(self, inputs, units, outputs):
        super().__init__()
        self.lstm = torch.nn.LSTM(inputs, units, batch_first=True)
        self.out = torch.nn.Linear(units, outputs)

    def forward(self, x):
        sequence, _ = self.lstm(x)
        return self.out(sequence[:, -1])


def network(arch, input_shape, outputs):
    if arch["kind"] == "lstm":
        return LastStepLstm(input_shape[-1], arch["units"], outputs)
    layers, width = [], input_shape[0]
    for units in arch["hidden"]:
        layers += [torch.nn.Linear(width, units), torch.nn.ReLU()]
        width = units
    return torch.nn.Sequential(*layers, torch.nn.Linear(width, outputs))


def main():
    job = json.load(open(sys.argv[1]))
    torch.set_num_threads(job["threads"])
    torch.set_num_interop_threads(job["threads"])
    torch.manual_seed(job["seed"])
    shape, n, n_val = job["inputShape"], job["trainCount"], job["validationCount"]
    x, y = tensor(job["trainX"], [n, *shape]), tensor(job["trainY"], [n, -1])
    x_val, y_val = tensor(job["validationX"], [n_val, *shape]), tensor(job["validationY"], [n_val, -1])
    model = network(job["arch"], shape, y.shape[1])
    optimizer = torch.optim.Adam(model.parameters(), lr=job["learningRate"])
    batch = job["batchSize"]

    # Like mlform's train(): per step the batch loss and MAE are read back; per epoch, a
    # validation pass. Warm-up as in bench/trainer-worker.ts (EpochClock): until the end of the
    # epoch that completes warmupSteps steps or warmupSeconds; then measured epochs until the
    # first epoch end past the budget.
    steps_per_epoch = -(-n // batch)
    warmup, epochs, cpu_epochs, step_seconds, started = None, [], [], [], time.perf_counter()
    while len(epochs) < job["maxEpochs"]:
        start, cpu_start = time.perf_counter(), time.process_time()
        order = torch.randperm(n)
        for first in range(0, n, batch):
            index = order[first : first + batch]
            pred = model(x[index])
            loss = torch.nn.functional.mse_loss(pred, y[index])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss.item(), (pred.detach() - y[index]).abs().mean().item()
        step_seconds.append(time.perf_counter() - start)
        with torch.no_grad():
            for first in range(0, n_val, 1024):
                pred = model(x_val[first : first + 1024])
                torch.nn.functional.mse_loss(pred, y_val[first : first + 1024]).item()
        epochs.append(time.perf_counter() - start)
        cpu_epochs.append(time.process_time() - cpu_start)
        elapsed = time.perf_counter() - started
        if warmup is not None and len(epochs) > warmup and elapsed > job["budgetSeconds"]:
            break
        if warmup is None and (
            len(epochs) * steps_per_epoch >= job["warmupSteps"] or elapsed >= job["warmupSeconds"]
        ):
            warmup = len(epochs)

    steady = epochs[warmup:]
    print(
        json.dumps(
            {
                "samplesPerSecond": n * len(steady) / sum(steady),
                "cpuSamplesPerSecond": n * len(steady) / sum(cpu_epochs[warmup:]),
                "stepSamplesPerSecond": n * len(steady) / sum(step_seconds[warmup:]),
                "epochs": len(epochs),
                "threads": torch.get_num_threads(),
                "version": torch.__version__,
            }
        )
    )


if __name__ == "__main__":
    main()
