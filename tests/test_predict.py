"""`layerlab predict` and `layerlab evaluate`: a run's own validation rows, raw from the CSV,
give back its validation loss and metric; bad input is one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from layerlab.core import runs
from layerlab.core.data.base import split

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def layerlab(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    return subprocess.run(
        [sys.executable, "-m", "layerlab", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, Path]:
    """A red-wine run of 4 epochs, and its validation rows as they are in the CSV."""
    folder = tmp_path_factory.mktemp("predict")
    spec = (EXAMPLES / "red_wine.toml").read_text().replace("units = 512", "units = 32")
    (folder / "red_wine.toml").write_text(spec)
    (folder / "red-wine.csv").write_bytes((EXAMPLES / "red-wine.csv").read_bytes())
    done = layerlab("train", "red_wine.toml", "--epochs", "4", "--runs-dir", "runs", cwd=folder)
    assert done.returncode == 0, done.stderr
    run_dir = next((folder / "runs").iterdir())
    table = pd.read_csv(folder / "red-wine.csv")
    _, valid, _ = split(len(table), None, 0.3, 0, "red-wine.csv")
    table.iloc[valid].to_csv(folder / "valid.csv", index=False)
    return run_dir, folder


def test_evaluate_on_the_runs_validation_rows_gives_its_best_val_loss(trained):
    run_dir, folder = trained
    record = runs.read_run(run_dir)
    best = min(record.history, key=lambda row: row["val_loss"])
    done = layerlab("evaluate", str(run_dir), "--data", "valid.csv", "--json", cwd=folder)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["rows"] == 480
    assert figures["loss"] == pytest.approx(best["val_loss"], rel=1e-4, abs=1e-6)


def test_predict_gives_values_in_the_targets_units(trained):
    run_dir, folder = trained
    done = layerlab(
        "predict", str(run_dir), "--data", "valid.csv", "-o", "predicted.csv", cwd=folder
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 480 predictions to predicted.csv" in done.stdout
    predicted = pd.read_csv(folder / "predicted.csv")["predicted_quality"].to_numpy()
    truth = pd.read_csv(folder / "valid.csv")["quality"].to_numpy()
    assert 3 <= predicted.mean() <= 8  # quality units, not the scaled 0–1
    # The run's val_loss is the MAE of the min-max scaled target: quality spans 3..8 in training.
    record = runs.read_run(run_dir)
    best = min(record.history, key=lambda row: row["val_loss"])
    train_range = json.loads((run_dir / "preparation.json").read_text())["target_scaling"]
    spread = 1 / train_range["factor"][0]
    assert np.abs(predicted - truth).mean() == pytest.approx(best["val_loss"] * spread, rel=1e-3)


def test_predict_refuses_what_it_cannot_use(trained, tmp_path):
    run_dir, folder = trained
    pd.read_csv(folder / "valid.csv").drop(columns=["alcohol"]).to_csv(
        tmp_path / "short.csv", index=False
    )
    done = layerlab("predict", str(run_dir), "--data", str(tmp_path / "short.csv"), cwd=folder)
    assert done.returncode == 2
    assert "lacks the column(s) 'alcohol' the run was trained on" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    done = layerlab("evaluate", str(tmp_path), "--data", "valid.csv", cwd=folder)
    assert done.returncode == 2 and "has no preparation.json" in done.stderr
    done = layerlab("predict", str(run_dir), cwd=folder)
    assert done.returncode == 2 and "--data" in done.stderr
