"""Epoch time of `layerlab train` against a bare Keras script, on the course's red-wine recipe.

Both run as subprocesses that print one line per epoch; this script timestamps each line as it
arrives, so an epoch's time is everything between two epochs: the fit step, validation, and every
callback, log line and file write. Early stopping is off and the epoch count fixed; the first
epochs (tracing, warm-up) are left out. Runs alternate, and the ratio is of medians.

    python benchmarks/headless_epoch.py [--data examples/red-wine.csv] [--runs 3] [--epochs 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 3

BARE = r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras, pandas as pd
from sklearn.model_selection import train_test_split
path, epochs = sys.argv[1], int(sys.argv[2])
keras.utils.set_random_seed(0)
frame = pd.read_csv(path)
train, valid = train_test_split(frame, train_size=0.7, random_state=0)
lo, hi = train.min(), train.max()
train, valid = (train - lo) / (hi - lo), (valid - lo) / (hi - lo)
x_train, y_train = train.drop(columns="quality").to_numpy("float32"), train["quality"].to_numpy("float32")
x_valid, y_valid = valid.drop(columns="quality").to_numpy("float32"), valid["quality"].to_numpy("float32")
model = keras.Sequential([
    keras.Input((x_train.shape[1],)),
    keras.layers.Dense(512, activation="relu"),
    keras.layers.Dense(512, activation="relu"),
    keras.layers.Dense(512, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer="adam", loss="mae")
tick = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print("epoch", epoch, flush=True))
model.fit(x_train, y_train, validation_data=(x_valid, y_valid), batch_size=256, epochs=epochs,
          verbose=0, callbacks=[tick])
"""


def epoch_times(command: list[str], marker: str) -> list[float]:
    """Run `command`, timestamp each stdout line containing `marker`, return the gaps."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    stamps = []
    for line in proc.stdout:
        if marker in line:
            stamps.append(time.perf_counter())
    if proc.wait() != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    return gaps[WARMUP:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT / "examples" / "red-wine.csv"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    spec_text = (ROOT / "examples" / "red_wine.toml").read_text()
    spec_text = spec_text.split("[fit.early_stopping]")[0] + '\n[accelerator]\ndevice = "auto"\n'
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "red_wine_fixed.toml"
        spec.write_text(spec_text)
        bare_script = Path(tmp) / "bare.py"
        bare_script.write_text(BARE)
        ours_cmd = [
            sys.executable,
            "-m",
            "layerlab",
            "train",
            str(spec),
            "--data",
            args.data,
            "--epochs",
            str(args.epochs),
            "--json",
            "--runs-dir",
            str(Path(tmp) / "runs"),
        ]
        bare_cmd = [sys.executable, str(bare_script), args.data, str(args.epochs)]
        ours, bare = [], []
        for i in range(args.runs):
            ours.append(statistics.median(epoch_times(ours_cmd, '"epoch_end"')))
            bare.append(statistics.median(epoch_times(bare_cmd, "epoch ")))
            print(
                f"run {i + 1}: layerlab {ours[-1] * 1000:.1f} ms/epoch, bare keras {bare[-1] * 1000:.1f} ms/epoch"
            )
    ratio = statistics.median(ours) / statistics.median(bare)
    print(
        f"median epoch: layerlab {statistics.median(ours) * 1000:.1f} ms, bare keras {statistics.median(bare) * 1000:.1f} ms"
    )
    print(f"ratio layerlab / bare: {ratio:.3f} (budget 1.02)")


if __name__ == "__main__":
    main()
