"""The command line end to end, in a real subprocess: JSON events, exit codes, no TensorFlow noise."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from layerlab.core import events
from layerlab.core import spec as specs
from layerlab.core.cli import _HumanPrinter

ROOT = Path(__file__).resolve().parents[1]

TINY = """
name = "tiny"
[data]
name = "iris"
[[layers]]
type = "Dense"
units = 8
activation = "relu"
[[layers]]
type = "Dense"
units = 3
activation = "softmax"
[fit]
batch_size = 32
epochs = 50
"""


def layerlab(*args, cwd=None, env=None):
    env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "layerlab", *args],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


def test_train_json_prints_events_and_nothing_else(tmp_path):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY)
    done = layerlab(
        "train",
        str(spec),
        "--epochs",
        "3",
        "--seed",
        "1",
        "--json",
        "--runs-dir",
        str(tmp_path / "r"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # not one line of TensorFlow's own logging
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = [line["event"] for line in lines]
    assert kinds == ["run_started", "epoch_end", "epoch_end", "epoch_end", "finished"]
    assert [line["epoch"] for line in lines if line["event"] == "epoch_end"] == [1, 2, 3]
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(lines[1]["logs"])
    finished = lines[-1]
    assert finished["epochs_run"] == 3 and "val_loss" in finished["best"]
    run_dir = Path(finished["run_dir"])
    assert run_dir.parent == tmp_path / "r"
    saved = specs.load(run_dir / "spec.toml")
    assert saved.fit.epochs == 3 and saved.data.seed == 1
    assert (run_dir / "log.txt").exists()  # TensorFlow's lines went here instead
    assert not list((tmp_path / "r").glob(".layerlab-*.log"))


def test_train_human_output_has_a_line_per_epoch_and_a_summary(tmp_path):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY)
    done = layerlab("train", str(spec), "--epochs", "2", env={"LAYERLAB_RUNS": str(tmp_path / "r")})
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "epoch 1/2" in done.stdout and "epoch 2/2" in done.stdout
    assert "best epoch:" in done.stdout and "why it stopped: ran every epoch" in done.stdout
    assert str(tmp_path / "r") in done.stdout


@pytest.mark.parametrize(
    ("contents", "args", "message"),
    [
        (
            TINY.replace("units = 8", "units = -8"),
            [],
            "tiny.toml: layers[0].units: -8 is too small",
        ),
        (TINY, ["--data", "missing.csv"], "--data: no such file or folder: missing.csv"),
        (TINY.replace('name = "iris"', 'name = "irises"'), [], "irises"),
        (TINY.replace("units = 3\n", 'units = 3\n[[layers]]\ntype = "Conv2D"\n'), [], "layers[2]"),
        (TINY, ["--epochs", "zero"], "expected a whole number"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(tmp_path, contents, args, message):
    spec = tmp_path / "tiny.toml"
    spec.write_text(contents)
    done = layerlab(
        "train", str(spec), *args, cwd=tmp_path, env={"LAYERLAB_RUNS": str(tmp_path / "r")}
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not any((tmp_path / "r").glob("2*"))  # no run folder for a run that never started


def test_missing_spec_and_bad_csv(tmp_path):
    done = layerlab("train", str(tmp_path / "nope.toml"))
    assert done.returncode == 2 and "nope.toml: no such file" in done.stderr
    csv = tmp_path / "bad.csv"
    csv.write_text("a,b\n1,2\n3,4\n")
    spec = tmp_path / "s.toml"
    spec.write_text(
        '[data]\npath = "bad.csv"\ntarget = "quality"\n[[layers]]\ntype = "Dense"\nunits = 1\n'
    )
    done = layerlab("train", str(spec), env={"LAYERLAB_RUNS": str(tmp_path / "r")})
    assert done.returncode == 2
    assert "quality" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_datasets_and_examples_are_listed():
    listed = layerlab("datasets")
    assert listed.returncode == 0
    for name in ("linear", "breast_cancer", "digits", "stripes"):
        assert name in listed.stdout
    examples = layerlab("examples")
    assert (
        examples.returncode == 0 and "red_wine" in examples.stdout and "convnet" in examples.stdout
    )


def test_human_printer_says_early_stopping_and_restored_weights():
    printer = _HumanPrinter(specs.loads("[fit]\nepochs = 40\n"))
    line = printer.line(
        events.EarlyStopped(stopped_epoch=37, best_epoch=17, restored=True, best_value=0.25)
    )
    assert line == (
        "■ early stopping at epoch 37: val_loss did not improve by min_delta within patience; "
        "weights restored to epoch 17 (val_loss 0.2500)"
    )
    line = printer.line(events.EpochEnded(5, {"loss": 0.5, "val_loss": 0.25}, 0.08, 3, 2, 20))
    assert line == "epoch 5/40  loss 0.5000 val 0.2500  0.08s  no improvement 2/20"
