"""Peak memory and samples per second of `layerlab train` streaming a folder of 20,000 JPEG images of
128×128, against bare Keras' `image_dataset_from_directory` + `fit`, under TensorFlow.

The folder (two class sub-folders of RGB JPEGs) is generated once in --workdir and reused. Both
commands run as subprocesses for one epoch of the same small convnet (Conv2D 16 3×3 relu,
MaxPool2D, Conv2D 32 3×3 relu, MaxPool2D, GlobalAveragePooling2D, Dense 1 sigmoid; adam, binary
cross-entropy, batch size 64, no validation split). layerlab streams the folder ([data] stream =
true: decoded per batch with PIL in Keras' PyDataset worker threads) and divides pixels by 255;
the bare pipeline does the same division in a tf.data map, and prefetches.

Peak memory is the sampled RssAnon; VmHWM is printed beside it. Samples per second are of the
epoch alone (on_epoch_begin to on_epoch_end in both); the whole command's wall time also counts
layerlab's up-front check of every file and the bare pipeline's listing of the folder.

    python benchmarks/stream_images.py [--quick] [--runs 1] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
from _peak import EPOCH_TIMER, bare_epoch, env, layerlab, layerlab_epoch, median, mib, run

BATCH = 64
SIDE = 128
CLASSES = ("bright", "dark")
BUDGET_MEMORY = 1.5 * 2**30
BUDGET_SPEED = 0.9

SPEC = """\
name = "stream_images"

[data]
path = "{path}"
valid_fraction = 0
stream = true

[[layers]]
type = "Conv2D"
filters = 16
kernel_size = 3
padding = "same"
activation = "relu"

[[layers]]
type = "MaxPool2D"
pool_size = 2

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
type = "GlobalAveragePooling2D"

[[layers]]
type = "Dense"
units = 1
activation = "sigmoid"

[compile]
optimizer = "adam"
loss = "binary_crossentropy"
metrics = []

[fit]
batch_size = {batch}
epochs = 1
"""

BARE = (
    r"""
import json, sys, time
import keras
import tensorflow as tf
folder, batch, side = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# not seeded: keras.utils.set_random_seed imports TensorFlow where installed, even under JAX
"""
    + EPOCH_TIMER
    + r"""
data = keras.utils.image_dataset_from_directory(
    folder, image_size=(side, side), batch_size=batch, label_mode="binary", seed=0, verbose=False)
samples = len(data.file_paths)
data = data.map(lambda x, y: (x / 255.0, y), num_parallel_calls=tf.data.AUTOTUNE)
data = data.prefetch(tf.data.AUTOTUNE)
model = keras.Sequential([
    keras.Input((side, side, 3)),
    keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
    keras.layers.MaxPool2D(2),
    keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
    keras.layers.MaxPool2D(2),
    keras.layers.GlobalAveragePooling2D(),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy")
timer = EpochTimer()
model.fit(data, epochs=1, verbose=0, callbacks=[timer])
print(json.dumps({"epoch_seconds": timer.seconds, "samples": samples}), flush=True)
"""
)


def make_folder(work: Path, count: int) -> Path:
    """`count` JPEGs, half per class, written once and reused: smooth random colour fields,
    brighter in one class, with a little noise."""
    from PIL import Image

    folder = work / f"images-{count}x{SIDE}"
    done = folder / ".complete"
    if done.exists():
        return folder
    print(f"writing {folder} …", flush=True)
    rng = np.random.default_rng(0)
    for code, name in enumerate(CLASSES):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(count // len(CLASSES)):
            coarse = rng.integers(0, 160, size=(8, 8, 3), dtype=np.uint8) + (80 if code == 0 else 0)
            picture = Image.fromarray(coarse.astype(np.uint8)).resize(
                (SIDE, SIDE), Image.Resampling.BILINEAR
            )
            pixels = np.asarray(picture, dtype=np.int16) + rng.integers(
                -12, 13, size=(SIDE, SIDE, 3), dtype=np.int16
            )
            Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
                folder / name / f"{i:05d}.jpg", quality=90
            )
    done.touch()
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 images instead of 20,000")
    parser.add_argument("--runs", type=int, default=1, help="runs of each command (medians)")
    parser.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "layerlab-bench"))
    args = parser.parse_args()
    count = 2_000 if args.quick else 20_000
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    folder = make_folder(work, count)
    print(f"data: {folder}, {count:,} JPEGs of {SIDE}×{SIDE} RGB in {len(CLASSES)} classes")
    spec = work / "stream_images.toml"
    spec.write_text(SPEC.format(path=folder.as_posix(), batch=BATCH))
    script = work / "bare_images.py"
    script.write_text(BARE)
    commands = {
        "layerlab": (layerlab(spec, work / "runs"), env("tensorflow", LAYERLAB_CACHE=str(work / "cache"))),
        "bare image_dataset_from_directory": (
            [sys.executable, str(script), str(folder), str(BATCH), str(SIDE)], env("tensorflow")),
    }  # fmt: skip
    results: dict[str, list] = {name: [] for name in commands}
    for i in range(args.runs):
        for name, (command, environment) in commands.items():
            measured = run(command, environment)
            seconds, samples = (layerlab_epoch if name == "layerlab" else bare_epoch)(measured)
            results[name].append(
                (samples / seconds, measured.wall, measured.peak_anon, measured.hwm)
            )
            print(
                f"run {i + 1} {name}: epoch {seconds:.1f} s = {samples / seconds:,.0f} samples/s, "
                f"whole command {measured.wall:.1f} s, peak RssAnon {mib(measured.peak_anon)}, "
                f"VmHWM {mib(measured.hwm)}",
                flush=True,
            )
    ours, bare = ([median([r[k] for r in rows]) for k in range(4)] for rows in results.values())
    speed = ours[0] / bare[0]
    print(
        f"medians of {args.runs} run(s), layerlab vs bare image_dataset_from_directory (TensorFlow):"
    )
    print(
        f"  peak RssAnon: layerlab {mib(ours[2])} (budget ≤ {mib(BUDGET_MEMORY)}), bare {mib(bare[2])}"
    )
    print(f"  VmHWM: layerlab {mib(ours[3])}, bare {mib(bare[3])}")
    print(
        f"  epoch samples/s: layerlab {ours[0]:,.0f}, bare {bare[0]:,.0f}, ratio {speed:.2f} (budget ≥ {BUDGET_SPEED})"
    )
    print(
        f"  whole command: layerlab {ours[1]:.1f} s, bare {bare[1]:.1f} s, speed ratio bare/layerlab {bare[1] / ours[1]:.2f}"
    )
    print(
        json.dumps(
            {
                "peak_anon_mib": ours[2] / 2**20,
                "speed_ratio": speed,
                "memory_ok": ours[2] <= BUDGET_MEMORY,
                "speed_ok": speed >= BUDGET_SPEED,
            }
        )
    )


if __name__ == "__main__":
    main()
