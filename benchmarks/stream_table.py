"""Peak memory and samples per second of `layerlab train` streaming a 1,000,000 × 100 CSV, against
bare Keras pipelines feeding the same model.

A CSV of float columns f0…f99 and a float target y (about 1 GB) is generated once in --workdir
and reused. Each command runs as a subprocess for one epoch of Dense(64, relu) + Dense(1), adam,
mse, batch size 256, no validation split:

- layerlab: a spec with [data] stream = true, features_scale = "minmax" (layerlab also scales;
  the generated features already lie in 0–1, so the bare pipelines need not);
- bare, under TensorFlow: `tf.data.experimental.make_csv_dataset` (parallel parsing, shuffle
  buffer, prefetch) + fit;
- bare, under JAX: pandas `read_csv(chunksize=…)` into a `keras.utils.PyDataset` (two worker
  threads handing out the batches of the chunks in file order) + fit.

Peak memory is the sampled RssAnon (layerlab keeps its float32 copy of the table in a mapped
file, whose pages are not anonymous); VmHWM, which counts them, is printed beside it. Samples per
second are of the epoch alone (on_epoch_begin to on_epoch_end in both). layerlab parses the file
once, up front, before the first epoch, and the bare pipelines parse it during every epoch: the
whole command's wall time is printed too, which charges that pass to a single epoch.

    python benchmarks/stream_table.py [--quick] [--runs 1] [--backend both] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from _peak import EPOCH_TIMER, bare_epoch, env, layerlab, layerlab_epoch, median, mib, run

BATCH = 256
COLUMNS = 100
BUDGET_MEMORY = 1.2 * 2**30
BUDGET_SPEED = 0.9

SPEC = """\
name = "stream_table"

[data]
path = "{path}"
target = "y"
task = "regression"
valid_fraction = 0
features_scale = "minmax"
stream = true

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

BARE_HEAD = (
    r"""
import json, os, sys, time
import keras
path, rows, columns, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
# not seeded: keras.utils.set_random_seed imports TensorFlow where installed, even under JAX
"""
    + EPOCH_TIMER
)

BARE_TAIL = r"""
model = keras.Sequential([
    keras.Input((columns,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dense(1),
])
model.compile(optimizer="adam", loss="mse")
timer = EpochTimer()
model.fit(data, epochs=1, verbose=0, callbacks=[timer])
print(json.dumps({"epoch_seconds": timer.seconds, "samples": rows}), flush=True)
"""

BARE_TF = (
    BARE_HEAD
    + r"""
import tensorflow as tf
data = tf.data.experimental.make_csv_dataset(
    path, batch_size=batch, label_name="y", column_defaults=[0.0] * (columns + 1),
    num_epochs=1, shuffle=True, shuffle_seed=0, num_parallel_reads=tf.data.AUTOTUNE,
    prefetch_buffer_size=tf.data.AUTOTUNE,
)
data = data.map(lambda features, y: (tf.stack(list(features.values()), axis=1), y),
                num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
"""
    + BARE_TAIL
)

BARE_JAX = (
    BARE_HEAD
    + r"""
import collections, math, threading
import numpy as np, pandas as pd

class Chunks(keras.utils.PyDataset):
    # Batches cut from pandas chunks in file order; each call takes the next one (Keras asks
    # for one more up front to learn the shapes, so the reader starts over when it runs out).
    def __init__(self):
        super().__init__(workers=2, use_multiprocessing=False)
        self.lock = threading.Lock()
        self.ready = collections.deque()
        self.chunks = iter(())
    def __len__(self):
        return math.ceil(rows / batch)
    def __getitem__(self, i):
        with self.lock:
            if not self.ready:
                chunk = next(self.chunks, None)
                if chunk is None:
                    self.chunks = pd.read_csv(path, chunksize=batch * 64, dtype=np.float32)
                    chunk = next(self.chunks)
                x, y = chunk.drop(columns="y").to_numpy(), chunk["y"].to_numpy()
                for start in range(0, len(chunk), batch):
                    self.ready.append((x[start:start + batch], y[start:start + batch]))
            return self.ready.popleft()

data = Chunks()
"""
    + BARE_TAIL
)


def make_table(folder: Path, rows: int) -> Path:
    """The CSV of `rows` rows, written once (pyarrow's writer, float32 values) and reused."""
    path = folder / f"table-{rows}x{COLUMNS}.csv"
    if path.exists():
        return path
    import pyarrow as pa
    import pyarrow.csv as pacsv

    print(f"writing {path} …", flush=True)
    rng = np.random.default_rng(0)
    weights = rng.normal(size=COLUMNS).astype(np.float32)
    names = [f"f{i}" for i in range(COLUMNS)] + ["y"]
    partial = path.with_suffix(".partial")
    with pacsv.CSVWriter(partial, pa.schema([(n, pa.float32()) for n in names])) as writer:
        for start in range(0, rows, 100_000):
            x = rng.random((min(100_000, rows - start), COLUMNS), dtype=np.float32)
            y = x @ weights + rng.normal(scale=0.1, size=len(x)).astype(np.float32)
            columns = [pa.array(x[:, j]) for j in range(COLUMNS)] + [pa.array(y)]
            writer.write_table(pa.Table.from_arrays(columns, names=names))
    partial.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 rows instead of 1,000,000")
    parser.add_argument("--runs", type=int, default=1, help="runs of each command (medians)")
    parser.add_argument("--backend", choices=("both", "tensorflow", "jax"), default="both")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "layerlab-bench"))
    args = parser.parse_args()
    rows = 100_000 if args.quick else 1_000_000
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    table = make_table(work, rows)
    print(f"data: {table} ({table.stat().st_size / 2**30:.2f} GiB), {rows:,} rows × {COLUMNS} + y")
    spec = work / "stream_table.toml"
    spec.write_text(SPEC.format(path=table.as_posix(), batch=BATCH))
    backends = ("tensorflow", "jax") if args.backend == "both" else (args.backend,)
    verdicts = []
    for backend in backends:
        script = work / f"bare_table_{backend}.py"
        script.write_text(BARE_TF if backend == "tensorflow" else BARE_JAX)
        bare_name = (
            "make_csv_dataset" if backend == "tensorflow" else "read_csv(chunksize)+PyDataset"
        )
        ours_env = env(backend, LAYERLAB_CACHE=str(work / "cache"))
        ours_cmd = layerlab(spec, work / "runs")
        bare_cmd = [sys.executable, str(script), str(table), str(rows), str(COLUMNS), str(BATCH)]
        results: dict[str, list] = {"ours": [], "bare": []}
        for i in range(args.runs):
            for who, command in (("ours", ours_cmd), ("bare", bare_cmd)):
                measured = run(command, ours_env if who == "ours" else env(backend))
                seconds, samples = (layerlab_epoch if who == "ours" else bare_epoch)(measured)
                results[who].append(
                    (samples / seconds, measured.wall, measured.peak_anon, measured.hwm)
                )
                name = "layerlab" if who == "ours" else f"bare {bare_name}"
                print(
                    f"[{backend}] run {i + 1} {name}: epoch {seconds:.1f} s = {samples / seconds:,.0f} samples/s, "
                    f"whole command {measured.wall:.1f} s, peak RssAnon {mib(measured.peak_anon)}, "
                    f"VmHWM {mib(measured.hwm)}",
                    flush=True,
                )
        ours = [median([r[k] for r in results["ours"]]) for k in range(4)]
        bare = [median([r[k] for r in results["bare"]]) for k in range(4)]
        speed, wall = ours[0] / bare[0], bare[1] / ours[1]
        print(f"[{backend}] medians of {args.runs} run(s), layerlab vs bare {bare_name}:")
        print(
            f"  peak RssAnon: layerlab {mib(ours[2])} (budget ≤ {mib(BUDGET_MEMORY)}), bare {mib(bare[2])}"
        )
        print(
            f"  VmHWM (counts the mapped copy's resident pages): layerlab {mib(ours[3])}, bare {mib(bare[3])}"
        )
        print(
            f"  epoch samples/s: layerlab {ours[0]:,.0f}, bare {bare[0]:,.0f}, "
            f"ratio {speed:.2f} (budget ≥ {BUDGET_SPEED})"
        )
        print(
            f"  whole command (layerlab's includes its one pass over the file): layerlab {ours[1]:.1f} s, "
            f"bare {bare[1]:.1f} s, speed ratio bare/layerlab {wall:.2f}"
        )
        verdicts.append(
            {
                "backend": backend,
                "peak_anon_mib": ours[2] / 2**20,
                "speed_ratio": speed,
                "memory_ok": ours[2] <= BUDGET_MEMORY,
                "speed_ok": speed >= BUDGET_SPEED,
            }
        )
    print(json.dumps(verdicts))


if __name__ == "__main__":
    main()
