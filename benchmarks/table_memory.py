"""Peak memory and wall time of `layerlab train` on a 200,000 × 100 CSV held in memory, against a
bare Keras script doing the course's steps, under TensorFlow and under JAX.

The CSV (float columns f0…f99 and a float target y, about 200 MB) is generated once in --workdir
and reused. Both commands run as subprocesses for one epoch of Dense(64, relu) + Dense(1), adam,
mse, batch size 256, with a 30% validation split and min-max scaled features:

- layerlab: a spec with [data] stream = false;
- bare: pandas `read_csv`, scikit-learn's `train_test_split`, min-max with pandas on the training
  rows, `to_numpy("float32")`, `fit` with `validation_data`.

Nothing is memory-mapped here, so peak memory is VmHWM (the kernel's peak resident set); the
sampled RssAnon is printed beside it. Wall time is the whole command, start to exit. Runs
alternate, and the ratios are of medians.

    python benchmarks/table_memory.py [--quick] [--runs 3] [--backend both] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from _peak import env, layerlab, median, mib, run
from stream_table import BATCH, COLUMNS, make_table

BUDGET_MEMORY = 1.05
BUDGET_WALL = 1.1

SPEC = """\
name = "table_memory"

[data]
path = "{path}"
target = "y"
task = "regression"
valid_fraction = 0.3
seed = 0
features_scale = "minmax"
stream = false

[[layers]]
type = "Dense"
units = 64
activation = "relu"

[[layers]]
type = "Dense"
units = 1

[compile]
optimizer = "adam"
loss = "mse"
metrics = []

[fit]
batch_size = {batch}
epochs = 1
"""

BARE = r"""
import sys
import keras, pandas as pd
from sklearn.model_selection import train_test_split
path, batch = sys.argv[1], int(sys.argv[2])
# not seeded: keras.utils.set_random_seed imports TensorFlow where installed, even under JAX
frame = pd.read_csv(path)
train, valid = train_test_split(frame, train_size=0.7, random_state=0)
x_train, x_valid = train.drop(columns="y"), valid.drop(columns="y")
lo, hi = x_train.min(), x_train.max()
x_train, x_valid = (x_train - lo) / (hi - lo), (x_valid - lo) / (hi - lo)
x_train, x_valid = x_train.to_numpy("float32"), x_valid.to_numpy("float32")
y_train, y_valid = train["y"].to_numpy("float32"), valid["y"].to_numpy("float32")
model = keras.Sequential([
    keras.Input((x_train.shape[1],)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer="adam", loss="mse")
model.fit(x_train, y_train, validation_data=(x_valid, y_valid), batch_size=batch, epochs=1, verbose=0)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 rows instead of 200,000")
    parser.add_argument("--runs", type=int, default=3, help="runs of each command (medians)")
    parser.add_argument("--backend", choices=("both", "tensorflow", "jax"), default="both")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "layerlab-bench"))
    args = parser.parse_args()
    rows = 20_000 if args.quick else 200_000
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    table = make_table(work, rows)
    print(f"data: {table} ({table.stat().st_size / 2**20:.0f} MiB), {rows:,} rows × {COLUMNS} + y")
    spec = work / "table_memory.toml"
    spec.write_text(SPEC.format(path=table.as_posix(), batch=BATCH))
    script = work / "bare_table_memory.py"
    script.write_text(BARE)
    backends = ("tensorflow", "jax") if args.backend == "both" else (args.backend,)
    verdicts = []
    for backend in backends:
        commands = {
            "layerlab": layerlab(spec, work / "runs"),
            "bare": [sys.executable, str(script), str(table), str(BATCH)],
        }
        results: dict[str, list] = {name: [] for name in commands}
        for i in range(args.runs):
            for name, command in commands.items():
                measured = run(command, env(backend))
                results[name].append((measured.wall, measured.hwm, measured.peak_anon))
                print(
                    f"[{backend}] run {i + 1} {name}: whole command {measured.wall:.1f} s, "
                    f"VmHWM {mib(measured.hwm)}, peak RssAnon {mib(measured.peak_anon)}",
                    flush=True,
                )
        ours, bare = ([median([r[k] for r in rows]) for k in range(3)] for rows in results.values())
        wall, memory = ours[0] / bare[0], ours[1] / bare[1]
        print(f"[{backend}] medians of {args.runs} run(s), layerlab ÷ bare:")
        print(
            f"  peak memory (VmHWM): layerlab {mib(ours[1])}, bare {mib(bare[1])}, "
            f"ratio {memory:.3f} (budget ≤ {BUDGET_MEMORY})"
        )
        print(
            f"  peak RssAnon: layerlab {mib(ours[2])}, bare {mib(bare[2])}, ratio {ours[2] / bare[2]:.3f}"
        )
        print(
            f"  wall: layerlab {ours[0]:.1f} s, bare {bare[0]:.1f} s, ratio {wall:.3f} (budget ≤ {BUDGET_WALL})"
        )
        verdicts.append(
            {
                "backend": backend,
                "memory_ratio": memory,
                "wall_ratio": wall,
                "memory_ok": memory <= BUDGET_MEMORY,
                "wall_ok": wall <= BUDGET_WALL,
            }
        )
    print(json.dumps(verdicts))


if __name__ == "__main__":
    main()
