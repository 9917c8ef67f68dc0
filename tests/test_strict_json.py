"""Events are strict JSON: no NaN or Infinity tokens, in --json lines and events.jsonl alike."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from layerlab.core import events, runs, words
from layerlab.core import spec as specs

from tests.test_cli import layerlab


def strict(text: str):
    """json.loads that refuses NaN, Infinity and -Infinity, as JavaScript's JSON.parse does."""

    def refuse(token):
        raise ValueError(f"not strict JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_strict_helper_refuses_what_python_json_writes_by_default():
    with pytest.raises(ValueError, match="not strict JSON: NaN"):
        strict(json.dumps({"loss": float("nan")}))


def test_non_finite_logs_become_null_and_are_named():
    event = events.EpochEnded(
        3,
        {"loss": float("nan"), "val_loss": float("inf"), "mae": -np.float32("inf"), "acc": 0.5},
        1.5,
    )
    data = strict(event.to_json())
    assert data["logs"] == {"loss": None, "val_loss": None, "mae": None, "acc": 0.5}
    assert data["non_finite"] == {"logs.loss": "nan", "logs.val_loss": "inf", "logs.mae": "-inf"}
    back = events.from_dict(data)
    assert isinstance(back, events.EpochEnded) and back.epoch == 3
    assert (
        math.isnan(back.logs["loss"])
        and back.logs["val_loss"] == math.inf
        and back.logs["mae"] == -math.inf
    )
    assert back.logs["acc"] == 0.5


def test_finite_events_carry_no_non_finite_key():
    data = strict(events.Finished(2, 2, {"val_loss": 0.25}, "runs/x").to_json())
    assert "non_finite" not in data
    assert events.from_dict(data) == events.Finished(2, 2, {"val_loss": 0.25}, "runs/x")


def test_numpy_numbers_in_a_batch_event_are_strict():
    data = strict(events.BatchEnded(1, 4, 10, np.float32("nan")).to_json())
    assert data["loss"] is None and data["non_finite"] == {"loss": "nan"}
    assert strict(events.BatchEnded(1, 4, 10, np.float32(0.5)).to_json())["loss"] == 0.5


def test_a_finished_event_with_a_nan_best_reads_back_for_the_summary(tmp_path):
    run = tmp_path / "20240101-000000-x"
    run.mkdir()
    specs.save(specs.Spec(name="x"), run / "spec.toml")
    done = events.Finished(1, 1, {"val_loss": float("nan")}, str(run), "nan", 1.0)
    (run / "events.jsonl").write_text(done.to_json() + "\n", encoding="utf-8")
    record = runs.read_run(run)
    assert record.problem is None
    assert math.isnan(record.finished["best"]["val_loss"])
    assert "best: val_loss nan" in words.summary_text(events.from_dict(record.finished))


def test_lines_written_before_strict_json_still_read(tmp_path):
    run = tmp_path / "20240101-000000-old"
    run.mkdir()
    specs.save(specs.Spec(name="old"), run / "spec.toml")
    (run / "events.jsonl").write_text(
        '{"event": "finished", "epochs_run": 1, "best_epoch": 1, "best": {"val_loss": NaN}, "run_dir": "x"}\n'
    )
    record = runs.read_run(run)
    assert record.problem is None and math.isnan(record.best["val_loss"])


DIVERGING = """
name = "diverge"
[data]
name = "diabetes"
[[layers]]
type = "Dense"
units = 16
activation = "relu"
[[layers]]
type = "Dense"
units = 1
[compile]
optimizer = "sgd"
learning_rate = 10
loss = "mse"
[fit]
epochs = 3
"""


def test_a_diverging_run_writes_strict_events(tmp_path):
    """sgd at learning rate 10 on the unscaled diabetes target: the loss overflows in the first epoch."""
    from layerlab.core.session import TrainingSession

    session = TrainingSession(specs.loads(DIVERGING), runs_dir=tmp_path / "runs")
    done = session.run()
    assert done.event == "finished" and done.reason == "nan"
    lines = [
        strict(line)
        for line in (session.run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert "nan_detected" in [line["event"] for line in lines]
    epoch = next(line for line in lines if line["event"] == "epoch_end")
    assert epoch["logs"]["loss"] is None and epoch["non_finite"]["logs.loss"] in ("nan", "inf")
    assert not math.isfinite(events.from_dict(epoch).logs["loss"])


def test_json_output_of_a_diverging_run_is_strict(tmp_path):
    spec = tmp_path / "diverge.toml"
    spec.write_text(DIVERGING)
    done = layerlab("train", str(spec), "--json", "--runs-dir", str(tmp_path / "r"))
    assert done.returncode == 1, done.stderr  # a NaN loss is a failed training
    lines = [strict(line) for line in done.stdout.splitlines()]
    kinds = [line["event"] for line in lines]
    assert kinds[0] == "run_started" and "nan_detected" in kinds and kinds[-1] == "finished"
    assert lines[-1]["reason"] == "nan"
    assert any(line.get("non_finite") for line in lines if line["event"] == "epoch_end")
