"""`layerlab sweep`: a grid trained in real processes, ranked, each run tagged with the sweep;
bad settings refused before anything trains."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
from layerlab.core import runs


def sweep(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "layerlab", "sweep", *args],
        cwd=cwd,
        env={**os.environ, "KERAS_BACKEND": "jax"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_learning_rate_by_batch_size_grid_is_trained_and_ranked(tmp_path):
    done = sweep(
        "linear_unit",
        "--set",
        "compile.learning_rate=0.001,0.05",
        "--set",
        "fit.batch_size=16,64",
        "--epochs",
        "3",
        "--parallel",
        "2",
        "--name",
        "lr-bs",
        "--runs-dir",
        "runs",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "4 combination(s) × 1 seed(s) = 4 runs, 2 at a time" in done.stdout
    table = pd.read_csv(tmp_path / "runs" / "lr-bs.sweep.csv")
    assert len(table) == 4 and list(table["rank"]) == [1, 2, 3, 4]
    assert table["best"].is_monotonic_increasing  # lowest val_loss first
    assert set(zip(table["learning_rate"], table["batch_size"], strict=True)) == {
        (0.001, 16),
        (0.001, 64),
        (0.05, 16),
        (0.05, 64),
    }
    # The faster learning rate fits the line far better in 3 epochs: the lesson's point.
    assert table.iloc[0]["learning_rate"] == 0.05
    folders = [r for r in runs.list_runs(tmp_path / "runs")]
    assert len(folders) == 4
    for record in folders:
        tag = runs.read_provenance(record.path)["sweep"]
        assert tag["name"] == "lr-bs" and set(tag["settings"]) == {
            "compile.learning_rate",
            "fit.batch_size",
        }
        assert record.status in ("completed", "finished")


def test_bad_settings_are_refused_before_anything_trains(tmp_path):
    cases = {
        "compile.learnin_rate=0.1": "compile.learnin_rate: unknown key",
        "fit.batch_size=32,big": "fit.batch_size: expected an integer, got a string 'big'",
        "layers[7].units=4": "layers has 1 entry, [0]",
        "compile.learning_rate": "expected KEY=V1,V2,...",
        "compile.learning_rate=-1": "compile.learning_rate",
    }
    for setting, said in cases.items():
        done = sweep("linear_unit", "--set", setting, "--runs-dir", "runs", cwd=tmp_path)
        assert done.returncode == 2, setting
        assert said in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "runs").exists()
    done = sweep("linear_unit", "--set", "fit.epochs=1", "--seeds", "0", cwd=tmp_path)
    assert done.returncode == 2 and "--seeds: expected 1 to 100, got 0" in done.stderr
