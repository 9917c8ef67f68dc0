"""The course's numbers, from the shipped examples as a new user runs them: `layerlab train
NAME` on JAX (the quicker backend on a CPU for these small models), seed 0.

benchmarks/course.py runs the same over three seeds and prints the spread.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest


def train(name: str, tmp_path: Path) -> SimpleNamespace:
    """Trains the example `name` headless; its history, closing event and run folder."""
    done = subprocess.run(
        [sys.executable, "-m", "layerlab", "train", name, "--json", "--runs-dir", str(tmp_path)],
        env={**os.environ, "KERAS_BACKEND": "jax"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    history = [line["logs"] for line in lines if line["event"] == "epoch_end"]
    started = next(line for line in lines if line["event"] == "run_started")
    return SimpleNamespace(history=history, started=started, finished=lines[-1])


def lowest(run: SimpleNamespace, name: str) -> float:
    return min(row[name] for row in run.history)


def test_red_wine_reaches_the_course_validation_mae(tmp_path):
    """The course prints a minimum validation MAE of about 0.090–0.092."""
    run = train("red_wine", tmp_path)
    assert lowest(run, "val_loss") <= 0.095
    assert run.finished["extreme"]["value"] == pytest.approx(lowest(run, "val_loss"))


def test_ionosphere_reaches_the_course_validation_accuracy(tmp_path):
    """The course's notebook ends near 0.886 validation accuracy; good is 0, bad is 1, as there."""
    run = train("ion", tmp_path)
    said = "\n".join(run.started["preparation"])
    assert "good → 0, bad → 1" in said
    assert "constant column(s), which cannot help predict: V2" in said
    assert "'Unnamed: 0' (an unnamed first column, a saved index)" in said
    assert max(row["val_binary_accuracy"] for row in run.history) >= 0.85


def test_the_linear_unit_learns_w_and_b(tmp_path):
    import keras
    from layerlab.core.data.builtin import LINEAR_B, LINEAR_W

    run = train("linear_unit", tmp_path)
    model = keras.saving.load_model(Path(run.finished["run_dir"]) / "model.keras")
    kernel, bias = model.layers[-1].get_weights()
    assert float(kernel.ravel()[0]) == pytest.approx(LINEAR_W, rel=0.02)
    assert float(bias[0]) == pytest.approx(LINEAR_B, rel=0.02)


def test_on_the_spiral_depth_beats_width(tmp_path):
    """Capacity: about as many weights, three layers of 16 against one of 128; the spiral's arms
    need bends that width alone draws poorly (three seeds: benchmarks/course.py)."""
    wide = lowest(train("capacity_wide", tmp_path), "val_loss")
    deep = lowest(train("capacity_deep", tmp_path), "val_loss")
    assert deep < wide / 3, (deep, wide)
