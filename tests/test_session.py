"""Real (tiny) training through the session: events in order, run folders, early stopping, stop, pause, NaN."""

import csv
import json
import threading
import time

import keras
from layerlab.core import events
from layerlab.core import spec as specs
from layerlab.core.runs import list_runs, read_run
from layerlab.core.session import TrainingSession

SMALL = """
name = "small"
[data]
name = "breast_cancer"
[[layers]]
type = "Dense"
units = 8
activation = "relu"
[[layers]]
type = "Dense"
units = 1
activation = "sigmoid"
[fit]
batch_size = 64
epochs = 3
"""


def train(text, **kwargs):
    session = TrainingSession(specs.loads(text), **kwargs)
    seen = []
    session.subscribe(seen.append)
    session.run()
    return session, seen


def names(seen):
    return [e.event for e in seen if not e.per_batch]


def test_events_arrive_in_order_and_the_run_folder_is_complete(tmp_path):
    session, seen = train(SMALL, runs_dir=tmp_path / "runs")
    assert names(seen) == [
        "run_started",
        "epoch_started",
        "epoch_end",
        "epoch_started",
        "epoch_end",
        "epoch_started",
        "epoch_end",
        "finished",
    ]
    epochs = [e for e in seen if isinstance(e, events.EpochEnded)]
    assert [e.epoch for e in epochs] == [1, 2, 3]
    assert {"loss", "val_loss", "binary_accuracy", "val_binary_accuracy"} <= set(epochs[0].logs)
    batches = [e for e in seen if isinstance(e, events.BatchEnded) and e.epoch == 1]
    assert [b.batch for b in batches] == list(range(1, session.steps_per_epoch + 1))

    done = seen[-1]
    assert done.reason == "completed" and done.epochs_run == 3
    assert done.best["val_loss"] == min(e.logs["val_loss"] for e in epochs)

    run = session.run_dir
    assert {p.name for p in run.iterdir()} >= {
        "spec.toml",
        "history.csv",
        "events.jsonl",
        "model.keras",
        "summary.txt",
    }
    assert specs.load(run / "spec.toml").layers == session.spec.layers
    with open(run / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert abs(float(rows[-1]["val_loss"]) - epochs[-1].logs["val_loss"]) < 1e-6
    logged = [json.loads(line)["event"] for line in (run / "events.jsonl").read_text().splitlines()]
    assert logged == names(seen)
    assert "best epoch: " in (run / "summary.txt").read_text()
    # The saved model holds the best epoch's weights and loads in safe mode.
    saved = keras.models.load_model(run / "model.keras", safe_mode=True)
    x, y = session.dataset.x_valid, session.dataset.y_valid
    assert abs(saved.evaluate(x, y, verbose=0)[0] - done.best["val_loss"]) < 1e-4
    record = read_run(run)
    assert record.status == "completed" and len(record.history) == 3
    assert [r.path for r in list_runs(tmp_path / "runs")] == [run]


def test_early_stopping_fires_and_restores_the_best_weights(tmp_path):
    text = (
        SMALL.replace("epochs = 3", "epochs = 50")
        + """
[fit.early_stopping]
min_delta = 10.0
patience = 2
restore_best_weights = true
"""
    )
    session, seen = train(text, runs_dir=tmp_path)
    fired = [e for e in seen if isinstance(e, events.EarlyStopped)]
    assert len(fired) == 1
    # min_delta 10 means nothing counts as an improvement after the first epoch.
    assert fired[0].best_epoch == 1 and fired[0].stopped_epoch == 3 and fired[0].restored
    done = seen[-1]
    assert done.reason == "early_stopping" and done.epochs_run == 3
    epoch_ends = [e for e in seen if isinstance(e, events.EpochEnded)]
    assert [(e.wait, e.patience) for e in epoch_ends] == [(0, 2), (1, 2), (2, 2)]
    x, y = session.dataset.x_valid, session.dataset.y_valid
    restored_loss = session.model.evaluate(x, y, verbose=0)[0]
    assert abs(restored_loss - epoch_ends[0].logs["val_loss"]) < 1e-4


def test_stop_ends_training_within_a_batch_and_keeps_the_best_weights(tmp_path):
    text = SMALL.replace("epochs = 3", "epochs = 100").replace("batch_size = 64", "batch_size = 4")
    session = TrainingSession(specs.loads(text), runs_dir=tmp_path)
    seen = []
    session.subscribe(seen.append)

    def stop_in_epoch_3(event):
        if isinstance(event, events.BatchEnded) and event.epoch == 3 and event.batch == 5:
            session.stop()

    session.subscribe(stop_in_epoch_3)
    session.run()
    done = seen[-1]
    assert done.reason == "stopped"
    assert done.epochs_run == 3  # the epoch in progress ends, no further epoch starts
    batches = [e for e in seen if isinstance(e, events.BatchEnded) and e.epoch == 3]
    assert (
        len(batches) <= 7 < session.steps_per_epoch
    )  # stop asked at batch 5; reports can trail by one
    stopped = next(e for e in seen if isinstance(e, events.Stopped))
    assert stopped.epoch == 3 and stopped.restored_epoch == done.best_epoch
    x, y = session.dataset.x_valid, session.dataset.y_valid
    assert abs(session.model.evaluate(x, y, verbose=0)[0] - done.best["val_loss"]) < 1e-4


def test_pause_holds_between_batches_and_resume_continues(tmp_path):
    session = TrainingSession(
        specs.loads(SMALL.replace("epochs = 3", "epochs = 2")), runs_dir=tmp_path
    )
    seen = []
    session.subscribe(seen.append)
    paused = threading.Event()
    session.subscribe(lambda e: paused.set() if isinstance(e, events.Paused) else None)
    session.pause()
    session.start()
    assert paused.wait(60)
    count = len(seen)
    time.sleep(0.5)
    assert len(seen) == count and session.result is None
    session.resume()
    result = session.join(60)
    assert result.reason == "completed" and result.epochs_run == 2
    assert "resumed" in names(seen)


def test_a_huge_learning_rate_is_reported_as_nan(tmp_path):
    text = """
[data]
name = "linear"
features_scale = "none"
[[layers]]
type = "Dense"
units = 1
[compile]
optimizer = "sgd"
learning_rate = 10.0
loss = "mse"
[fit]
batch_size = 8
epochs = 20
"""
    session, seen = train(text, runs_dir=tmp_path)
    nan = [e for e in seen if isinstance(e, events.NanDetected)]
    assert len(nan) == 1 and nan[0].epoch >= 1
    assert seen[-1].reason == "nan"
    assert seen[-1].epochs_run < 20


def test_a_failure_is_an_event_not_an_exception(tmp_path):
    session, seen = train(
        '[data]\nname = "no_such_set"\n[[layers]]\ntype = "Dense"\nunits = 1\n', runs_dir=tmp_path
    )
    assert isinstance(seen[-1], events.Failed)
    assert "no_such_set" in seen[-1].error
    assert session.state == "failed"
