"""Per-epoch cost of LayerlabCallback in a plain Keras script, on the course's red-wine recipe.

One process trains the same model in alternating rounds, with and without the callback (a fresh
model each round, same seed); a timing callback placed last stamps each epoch's end, so an
epoch's time includes everything the callback does, the best model handed to its writer thread
included. The first epochs of each round (tracing, warm-up) are left out; the ratio is of the
medians over all rounds. Budget: 1.02.

On a shared machine the epochs of bare Keras alone vary by more than 2%, so the script also
times the callback's own hooks in the training thread (their median per epoch over the bare
median epoch): the cost the callback adds, without the noise of the epochs around it.

    python benchmarks/callback_cost.py [--data examples/red-wine.csv] [--rounds 4] [--epochs 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 3


def red_wine(path: str):
    """The course's split and min-max scaling of red-wine.csv (70% to train, seed 0)."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    frame = pd.read_csv(path)
    train, valid = train_test_split(frame, train_size=0.7, random_state=0)
    lo, hi = train.min(), train.max()
    train, valid = (train - lo) / (hi - lo), (valid - lo) / (hi - lo)

    def split(part):
        return part.drop(columns="quality").to_numpy("float32"), part["quality"].to_numpy("float32")

    return split(train), split(valid)


def epoch_times(data, epochs: int, extra: list) -> list[float]:
    """Train a fresh red-wine model; the time between consecutive epoch ends, after warm-up."""
    import keras

    (x_train, y_train), valid = data
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((x_train.shape[1],)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer="adam", loss="mae")
    stamps: list[float] = []
    tick = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: stamps.append(time.perf_counter())
    )
    model.fit(
        x_train,
        y_train,
        validation_data=valid,
        batch_size=256,
        epochs=epochs,
        verbose=0,
        callbacks=[*extra, tick],
    )
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    return gaps[WARMUP:]


def timed_callback(folder: str, spent: list[float]):
    """A LayerlabCallback that adds the time its epoch hooks take, per epoch, to `spent`."""
    from layerlab import LayerlabCallback

    class Timed(LayerlabCallback):
        def on_epoch_begin(self, epoch, logs=None):
            started = time.perf_counter()
            super().on_epoch_begin(epoch, logs)
            self._spent = time.perf_counter() - started

        def on_epoch_end(self, epoch, logs=None):
            started = time.perf_counter()
            super().on_epoch_end(epoch, logs)
            spent.append(self._spent + time.perf_counter() - started)

    return Timed(folder, name="bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "examples" / "red-wine.csv"))
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    data = red_wine(args.data)
    ours: list[float] = []
    bare: list[float] = []
    hooks: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        epoch_times(data, WARMUP + 2, [])  # the first model of a process pays for the imports
        for i in range(args.rounds):
            spent: list[float] = []
            with_cb = epoch_times(data, args.epochs, [timed_callback(tmp, spent)])
            hooks += spent[WARMUP:]
            without = epoch_times(data, args.epochs, [])
            ours += with_cb
            bare += without
            print(
                f"round {i + 1}: with the callback {statistics.median(with_cb) * 1000:.2f} ms/epoch,"
                f" bare keras {statistics.median(without) * 1000:.2f} ms/epoch"
            )
    ratio = statistics.median(ours) / statistics.median(bare)
    print(
        f"median epoch: with the callback {statistics.median(ours) * 1000:.2f} ms,"
        f" bare keras {statistics.median(bare) * 1000:.2f} ms ({len(ours)} epochs each)"
    )
    print(f"ratio with callback / bare: {ratio:.3f} (budget 1.02)")
    own = statistics.median(hooks)
    print(
        f"the callback's own hooks: median {own * 1000:.3f} ms/epoch,"
        f" {own / statistics.median(bare) * 100:.2f}% of a bare epoch"
        f" (ratio {1 + own / statistics.median(bare):.4f}, budget 1.02)"
    )


if __name__ == "__main__":
    main()
