"""Samples per second of layerlab's training session against bare Keras, same model, on JAX (a GPU).

Two models: (a) the course's red-wine recipe (examples/red_wine.toml on examples/red-wine.csv:
Dense 512×3 + Dense 1, Adam, MAE, batch 256) and (b) a three-block convnet (Conv2D 32, 64, 128
with max pooling, then a dense head) on random 32×32×3 images in 10 classes, batch 128. Each
trains through layerlab's core (a TrainingSession on an in-memory Dataset, writing its run folder as
a user's run does) and through a bare `model.fit` on the same arrays, alternating A B A B for a few
rounds in one process. An epoch's time is from the end of one epoch to the end of the next (the
fit steps, validation and every callback); the first epoch, which traces and compiles, is left
out. It prints each round's samples per second, the medians and their ratio: the budget is
layerlab ÷ bare ≥ 0.97 (DESIGN.md section 7).

Needs JAX, not TensorFlow (KERAS_BACKEND defaults to jax here). On a CPU, a smoke run:

    python benchmarks/gpu.py --epochs 3 --rounds 2 --samples 2000 [--no-run-folder]
    python benchmarks/gpu.py                      # on a GPU: 8 epochs, 3 rounds, 20,000 images
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
from layerlab.core import spec as specs  # noqa: E402
from layerlab.core.data import Dataset, load_dataset  # noqa: E402
from layerlab.core.session import TrainingSession  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 0.97

CONVNET = """
name = "convnet_gpu"
[data]
name = "digits"  # not read: the session is given the random images
[[layers]]
type = "Conv2D"
filters = 32
kernel_size = 3
padding = "same"
activation = "relu"
[[layers]]
type = "MaxPool2D"
pool_size = 2
[[layers]]
type = "Conv2D"
filters = 64
kernel_size = 3
padding = "same"
activation = "relu"
[[layers]]
type = "MaxPool2D"
pool_size = 2
[[layers]]
type = "Conv2D"
filters = 128
kernel_size = 3
padding = "same"
activation = "relu"
[[layers]]
type = "MaxPool2D"
pool_size = 2
[[layers]]
type = "Flatten"
[[layers]]
type = "Dense"
units = 128
activation = "relu"
[[layers]]
type = "Dense"
units = 10
activation = "softmax"
[compile]
optimizer = "adam"
loss = "sparse_categorical_crossentropy"
metrics = ["accuracy"]
[fit]
batch_size = 128
"""


def bare_convnet() -> keras.Model:
    layers: list = [keras.Input((32, 32, 3))]
    for filters in (32, 64, 128):
        layers += [
            keras.layers.Conv2D(filters, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
        ]
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ]
    return keras.Sequential(layers)


def bare_wine(features: int) -> keras.Model:
    hidden = [keras.layers.Dense(512, activation="relu") for _ in range(3)]
    return keras.Sequential([keras.Input((features,)), *hidden, keras.layers.Dense(1)])


def steady_rate(stamps: list[float], samples: int) -> float:
    """Training samples per second from epoch-end times, the first epoch (tracing) left out."""
    if len(stamps) < 2:
        raise SystemExit("need --epochs 2 or more: the first epoch is left out")
    return samples * (len(stamps) - 1) / (stamps[-1] - stamps[0])


def ours(spec: specs.Spec, data: Dataset, runs_dir: str | None) -> tuple[float, int]:
    stamps: list[float] = []
    session = TrainingSession(spec, dataset=data, runs_dir=runs_dir, write_run=runs_dir is not None)
    session.subscribe(
        lambda event: stamps.append(time.perf_counter()) if event.event == "epoch_end" else None
    )
    done = session.run()
    if getattr(done, "reason", None) != "completed":
        raise SystemExit(f"layerlab's run did not complete: {done}")
    return steady_rate(stamps, len(data.x_train)), session.prep.model.count_params()


def bare(make, spec: specs.Spec, data: Dataset, loss: str, metrics: list[str]) -> tuple[float, int]:
    stamps: list[float] = []
    keras.utils.set_random_seed(spec.data.seed)
    model = make()
    model.compile(
        optimizer=keras.optimizers.Adam(spec.compile.learning_rate), loss=loss, metrics=metrics
    )
    tick = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter())
    )
    valid = (data.x_valid, data.y_valid) if data.has_valid else None
    model.fit(data.x_train, data.y_train, validation_data=valid, batch_size=spec.fit.batch_size,
              epochs=spec.fit.epochs, shuffle=True, verbose=0, callbacks=[tick])  # fmt: skip
    return steady_rate(stamps, len(data.x_train)), model.count_params()


def random_images(samples: int) -> Dataset:
    rng = np.random.default_rng(0)
    valid = max(1, samples // 5)
    x = rng.random((samples + valid, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, samples + valid).astype("int32")
    names = [str(i) for i in range(10)]
    return Dataset(
        "random 32×32×3", "multiclass", "given", x[:samples], y[:samples], x[samples:], y[samples:],
        (32, 32, 3), 10, names, [], "class", ["random pixels in [0, 1)"], is_image=True,
    )  # fmt: skip


def compare(
    title: str, spec: specs.Spec, data: Dataset, make, rounds: int, runs_dir: str | None
) -> float:
    """Alternate layerlab and bare Keras `rounds` times; print every rate and the medians' ratio."""
    # What layerlab compiles with (loss "auto" and the metrics resolved), so both do the same work.
    probe = TrainingSession(spec, dataset=data, write_run=False).prepare()
    loss, metrics = probe.loss, probe.metrics
    print(f"\n{title}: {len(data.x_train)} training samples, batch {spec.fit.batch_size}, "
          f"{spec.fit.epochs} epochs a run (first left out), loss {loss}, metrics {metrics or 'none'}")  # fmt: skip
    rates: dict[str, list[float]] = {"layerlab": [], "bare": []}
    for round_ in range(1, rounds + 1):
        mine, params = ours(spec, data, runs_dir)
        theirs, bare_params = bare(make, spec, data, loss, metrics)
        if params != bare_params:
            raise SystemExit(
                f"not the same model: layerlab {params} parameters, bare Keras {bare_params}"
            )
        rates["layerlab"].append(mine)
        rates["bare"].append(theirs)
        print(
            f"  round {round_}: layerlab {mine:12,.0f} samples/s   bare Keras {theirs:12,.0f} samples/s   ratio {mine / theirs:.3f}"
        )
    ratio = statistics.median(rates["layerlab"]) / statistics.median(rates["bare"])
    verdict = "within" if ratio >= BUDGET else "OUTSIDE"
    print(f"  median: layerlab {statistics.median(rates['layerlab']):,.0f}   bare {statistics.median(rates['bare']):,.0f}   "
          f"ratio {ratio:.3f} ({verdict} the budget of >= {BUDGET})")  # fmt: skip
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs", type=int, default=8, help="epochs a run, the first left out (default 8)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="A B rounds per model (default 3)")
    parser.add_argument(
        "--samples", type=int, default=20_000, help="convnet training images (default 20,000)"
    )
    parser.add_argument("--only", choices=("wine", "convnet"), help="run one model only")
    parser.add_argument(
        "--no-run-folder",
        action="store_true",
        help="layerlab writes no run folder (model.keras, history, events)",
    )
    args = parser.parse_args()
    import jax

    devices = jax.devices()
    print(f"Keras {keras.__version__} on {keras.backend.backend()}, JAX {jax.__version__}: "
          f"{len(devices)} × {devices[0].device_kind} ({devices[0].platform})")  # fmt: skip
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        runs_dir = None if args.no_run_folder else tmp
        print(
            f"layerlab {'writes no run folder' if runs_dir is None else 'writes its run folder, as a user run does'}"
        )
        if args.only in (None, "wine"):
            wine = specs.load(ROOT / "examples" / "red_wine.toml")
            wine.fit.early_stopping, wine.fit.epochs = None, args.epochs
            data = load_dataset(wine)
            ratios.append(
                compare(
                    "red wine, Dense 512×3 + 1",
                    wine,
                    data,
                    lambda: bare_wine(data.input_shape[0]),
                    args.rounds,
                    runs_dir,
                )
            )
        if args.only in (None, "convnet"):
            convnet = specs.loads(CONVNET)
            convnet.fit.epochs = args.epochs
            ratios.append(
                compare(
                    "convnet, Conv2D 32-64-128",
                    convnet,
                    random_images(args.samples),
                    bare_convnet,
                    args.rounds,
                    runs_dir,
                )
            )
    print(f"\ntensorflow imported: {'tensorflow' in sys.modules}")
    if min(ratios) < BUDGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
