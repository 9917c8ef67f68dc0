"""One error base, failures logged with their traceback, every run's log.txt, and early stopping's direction."""

import logging
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from layerlab.core import events
from layerlab.core import spec as specs
from layerlab.core.callbacks import EarlyStopping, maximised
from layerlab.core.data import DataError
from layerlab.core.errors import LayerlabError, log_failure
from layerlab.core.model import ModelError, compile_model
from layerlab.core.playground import InspectError
from layerlab.core.runlog import RunLogHandler
from layerlab.core.session import ResumeError, TrainingSession
from layerlab.core.strategy import AcceleratorError
from layerlab.tui.jobs import load_data
from layerlab.tui.widgets.train_feed import error_words

ROOT = Path(__file__).resolve().parents[1]

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


# -- one error base ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error, message",
    [
        (
            specs.SpecError("must be at least 1", "layers[2].units", "exp.toml"),
            "exp.toml: layers[2].units: must be at least 1",
        ),
        (DataError("no column 'quality'", "wine.csv"), "wine.csv: no column 'quality'"),
        (
            ModelError("expects 4 dimensions", 2, "add Flatten"),
            "layers[2]: expects 4 dimensions — add Flatten",
        ),
        (ModelError("the model has no layers"), "the model has no layers"),
        (AcceleratorError("no GPU here; choose device 'cpu'"), "no GPU here; choose device 'cpu'"),
        (InspectError("a kernel is a small 2-D array"), "a kernel is a small 2-D array"),
        (ResumeError("is not a run folder", "", "runs/x"), "runs/x: is not a run folder"),
    ],
)
def test_every_bad_input_error_is_a_layerlab_error_that_says_where(error, message):
    assert isinstance(error, LayerlabError)
    assert isinstance(error, ValueError)  # old `except ValueError` keeps catching it
    assert error.message == message == str(error)


def test_error_words_give_bad_input_alone_and_a_failure_with_its_type():
    assert (
        error_words(DataError("no column 'quality'", "wine.csv")) == "wine.csv: no column 'quality'"
    )
    assert (
        error_words(InspectError("a picture size must be positive"))
        == "a picture size must be positive"
    )
    assert error_words(RuntimeError("CUDA out of memory")) == "RuntimeError: CUDA out of memory"
    assert error_words(ValueError("x")) == "ValueError: x"


def test_bad_input_is_logged_in_one_line_and_a_failure_with_its_traceback(caplog):
    caplog.set_level(logging.INFO, logger="layerlab")
    log_failure("loading the data", DataError("no column 'quality'", "wine.csv"))
    try:
        raise RuntimeError("disk on fire")
    except RuntimeError as exc:
        log_failure("loading the data", exc)
    bad_input, failure = caplog.records
    assert (bad_input.levelno, bad_input.exc_info) == (logging.INFO, None)
    assert bad_input.getMessage() == "loading the data: wine.csv: no column 'quality'"
    assert failure.levelno == logging.ERROR and failure.exc_info[1].args == ("disk on fire",)
    assert "Traceback" in caplog.text and "raise RuntimeError" in caplog.text


def test_a_data_loader_crash_shows_words_and_logs_the_traceback(monkeypatch, caplog):
    def crash(spec):
        raise KeyError("dtype")

    monkeypatch.setattr("layerlab.core.data.load_dataset", crash)
    with caplog.at_level(logging.INFO, logger="layerlab"):
        result = load_data(specs.Spec(data=specs.DataSpec(name="wine")))
    assert result.error == "could not load the data: KeyError: 'dtype'"
    assert "Traceback" in caplog.text and "in crash" in caplog.text


def test_bad_data_shows_its_own_words_without_a_traceback(monkeypatch, caplog):
    def refuse(spec):
        raise DataError("has no column 'quality'", "wine.csv")

    monkeypatch.setattr("layerlab.core.data.load_dataset", refuse)
    with caplog.at_level(logging.INFO, logger="layerlab"):
        result = load_data(specs.Spec(data=specs.DataSpec(name="wine")))
    assert result.error == "wine.csv: has no column 'quality'"
    assert "wine.csv: has no column 'quality'" in caplog.text and "Traceback" not in caplog.text


# -- the event bus -------------------------------------------------------------------------


def test_a_subscriber_that_raises_is_logged_and_still_gets_later_events(caplog):
    bus = events.EventBus()
    calls, others = [], []

    def broken(event):
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("a broken view")

    bus.subscribe(broken)
    bus.subscribe(others.append)
    with caplog.at_level(logging.ERROR, logger="layerlab"):
        bus.publish(events.EpochStarted(1))
        bus.publish(events.EpochStarted(2))
    assert [e.epoch for e in calls] == [1, 2]
    assert [e.epoch for e in others] == [1, 2]  # the others never miss an event
    (record,) = caplog.records
    assert record.exc_info[1].args == ("a broken view",)
    assert "epoch_started" in record.getMessage()


# -- every run writes log.txt --------------------------------------------------------------


def test_a_run_in_process_writes_log_txt_with_its_lines_failures_and_warnings(tmp_path):
    session = TrainingSession(specs.loads(SMALL), runs_dir=tmp_path / "runs")

    def broken_view(event):
        if isinstance(event, events.RunStarted):
            warnings.warn("a warning while training", UserWarning, stacklevel=1)
            other = threading.Thread(
                target=lambda: logging.getLogger("layerlab").error("the app's own news")
            )
            other.start()
            other.join()
        if isinstance(event, events.EpochEnded) and event.epoch == 2:
            raise RuntimeError("the view broke")

    session.subscribe(broken_view)
    with pytest.warns(UserWarning, match="a warning while training"):  # still shown where it was
        done = session.run()

    assert isinstance(done, events.Finished) and (done.reason, done.epochs_run) == ("completed", 3)
    text = (session.run_dir / "log.txt").read_text()
    assert (
        f"INFO layerlab.run: ▶ training small: 3 epochs × {session.steps_per_epoch} batches" in text
    )
    assert "INFO layerlab.run: epoch 3/3" in text
    assert "INFO layerlab.run: ✓ finished: ran every epoch; 3 epochs" in text
    assert "ERROR layerlab: a subscriber failed on the epoch_end event" in text
    assert 'raise RuntimeError("the view broke")' in text and "RuntimeError: the view broke" in text
    assert "UserWarning: a warning while training" in text
    assert "the app's own news" not in text  # another thread's record is not this run's
    # The run is over: nothing more reaches its log.
    assert not any(isinstance(h, RunLogHandler) for h in logging.getLogger("layerlab").handlers)
    logging.getLogger("layerlab").error("after the run")
    with pytest.warns(UserWarning):
        warnings.warn("a warning after the run", UserWarning, stacklevel=1)
    assert (session.run_dir / "log.txt").read_text() == text


def test_a_crashed_run_leaves_its_traceback_in_log_txt(tmp_path, monkeypatch):
    session = TrainingSession(specs.loads(SMALL), runs_dir=tmp_path / "runs")
    session.prepare()

    def crash(*args, **kwargs):
        raise RuntimeError("the GPU fell off")

    monkeypatch.setattr(session.prepared.model, "fit", crash)
    done = session.run()
    assert isinstance(done, events.Failed)
    text = (Path(done.run_dir) / "log.txt").read_text()
    assert "WARNING layerlab.run: ✗ training failed: RuntimeError: the GPU fell off" in text
    assert "Traceback" in text and "in crash" in text


def test_the_headless_command_writes_each_log_line_once(tmp_path):
    spec = tmp_path / "small.toml"
    spec.write_text(SMALL)
    done = subprocess.run(
        [sys.executable, "-m", "layerlab", "train", str(spec), "--runs-dir", str(tmp_path / "r")],
        cwd=ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "r").iterdir()
    text = (run_dir / "log.txt").read_text()
    for line in ("▶ training small", "epoch 1/3", "epoch 3/3", "✓ finished"):
        assert text.count(line) == 1, line


# -- early stopping's direction ------------------------------------------------------------

DIRECTIONS = [
    ("mae", "regression", False),
    ("mse", "regression", False),
    ("rmse", "regression", False),
    ("accuracy", "binary", True),
    ("binary_accuracy", "binary", True),
    ("auc", "binary", True),
    ("precision", "binary", True),
    ("recall", "binary", True),
    ("accuracy", "multiclass", True),
    ("sparse_categorical_accuracy", "multiclass", True),
]


def test_every_metric_a_spec_takes_has_its_direction_checked():
    assert {metric for metric, _, _ in DIRECTIONS} == set(specs.METRICS) - {"auto"}


@pytest.mark.parametrize("metric, task, bigger_is_better", DIRECTIONS)
def test_keras_auto_mode_and_layerlab_agree_on_the_direction(metric, task, bigger_is_better):
    rng = np.random.default_rng(0)
    x = rng.random((32, 3), dtype=np.float32)
    if task == "regression":
        y, head = rng.random(32, dtype=np.float32), keras.layers.Dense(1)
    elif task == "binary":
        y, head = rng.integers(0, 2, 32), keras.layers.Dense(1, activation="sigmoid")
    else:
        y, head = rng.integers(0, 3, 32), keras.layers.Dense(3, activation="softmax")
    model = keras.Sequential([keras.Input((3,)), head])
    spec = specs.Spec(compile=specs.CompileSpec(metrics=[metric]))
    _, metrics = compile_model(model, spec, task)
    early = EarlyStopping(monitor=f"val_{metrics[0]}", mode="auto", patience=5)
    model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0, callbacks=[early])
    assert bool(early.monitor_op(1.0, 0.0)) is bigger_is_better  # Keras' own inference
    assert maximised(metric) is bigger_is_better  # what BestEpoch uses
