"""The Train screen: real tiny runs on built-in data, watched through the curves, the log and the panels."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from layerlab.core import events
from layerlab.core.spec import CompileSpec, DataSpec, EarlyStoppingSpec, FitSpec, LayerSpec, Spec
from layerlab.core.words import duration, event_line, logs_text, number
from layerlab.screens.train import TrainScreen
from layerlab.tui.dialogs import ChoiceDialog
from layerlab.tui.widgets.train_feed import Feed, error_words
from layerlab.tui.widgets.train_progress import ProgressTracker
from layerlab.tui.widgets.train_summary import TrainSummary
from textual.widgets import Static

from tests.conftest_app import make_app, settle, write_spec


def tiny_spec(name: str, data: str = "iris", *, epochs: int = 6, batch: int = 32, **fit) -> Spec:
    """A small Dense stack on a built-in data set; the head and loss follow its task."""
    head = {
        "iris": {"units": 3, "activation": "softmax"},
        "breast_cancer": {"units": 1, "activation": "sigmoid"},
    }
    return Spec(
        name=name,
        data=DataSpec(name=data, seed=0),
        layers=[
            LayerSpec("Dense", {"units": 8, "activation": "relu"}),
            LayerSpec("Dense", head[data]),
        ],
        fit=FitSpec(batch_size=batch, epochs=epochs, **fit),
    )


async def start(pilot) -> TrainScreen:
    """Settle the workspace, press t, and return the Train screen."""
    await settle(pilot)
    await pilot.press("t")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, TrainScreen)
    return screen


async def until(pilot, condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await pilot.pause(0.05)


async def finish(pilot, screen: TrainScreen) -> events.Finished:
    """Wait until the run is over and everything it sent is on screen."""
    await until(pilot, lambda: not screen.active)
    await pilot.pause()
    result = screen.run.session.result
    assert isinstance(result, events.Finished), result
    return result


async def test_a_run_shows_every_epoch_progress_summary_and_tells_inspect(tmp_path):
    app = make_app(write_spec(tmp_path, tiny_spec("iris_six")))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        kinds: list[str] = []
        app.workspace.changed.subscribe(app, lambda change: kinds.append(change.kind))
        assert not app.training
        screen = await start(pilot)
        assert app.training  # quitting asks while it is True
        done = await finish(pilot, screen)
        assert not app.training
        assert done.reason == "completed" and done.epochs_run == 6
        assert screen.curves.epochs == [1, 2, 3, 4, 5, 6]
        assert set(screen.curves.series) >= {"loss", "val_loss", "accuracy", "val_accuracy"}
        text = screen.log_view.text
        assert "▶ training iris_six" in text
        assert all(f"epoch {n}/6  loss " in text for n in range(1, 7)), text
        assert "✓ finished: ran every epoch" in text
        summary = str(screen.query_one(TrainSummary).render())
        assert "epochs run: 6" in summary and "why it stopped: ran every epoch" in summary
        assert "5 inspect" in summary and "6 runs" in summary
        assert (Path(done.run_dir) / "summary.txt").is_file()
        assert screen.progress.view.epochs_done == 6 and screen.progress.view.epochs == 6
        assert str(screen.query_one("#train-diagnosis", Static).render())
        run = app.current_run
        assert run is screen.run and run.session.model is not None
        assert run.history == [e.logs for e in run.events if isinstance(e, events.EpochEnded)]
        assert run.status == "completed" and not run.live
        assert kinds.count("run") == 2 and "epoch" in kinds  # asked for, then started


async def test_early_stopping_is_logged_marked_and_a_retrain_follows(tmp_path):
    early = EarlyStoppingSpec(min_delta=10.0, patience=1)  # no epoch can improve by 10
    spec = tiny_spec("early", "breast_cancer", epochs=30, early_stopping=early)
    app = make_app(write_spec(tmp_path, spec))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await start(pilot)
        done = await finish(pilot, screen)
        assert done.reason == "early_stopping" and done.epochs_run == 2
        text = screen.log_view.text
        assert "■ early stopping at epoch 2" in text
        assert "weights restored to epoch 1" in text
        assert "no improvement 1/1" in text
        assert (screen.curves.best_epoch, screen.curves.stop_epoch) == (1, 2)
        assert (screen.progress.view.wait, screen.progress.view.patience) == (1, 1)
        assert "why it stopped: early stopping" in str(screen.query_one(TrainSummary).render())
        first = screen.run
        await pilot.press("r")
        await until(pilot, lambda: screen.run is not first)
        again = await finish(pilot, screen)
        assert again.run_dir != done.run_dir and screen.curves.epochs == [1, 2]


async def test_pause_holds_and_stop_ends_within_the_epoch(tmp_path):
    spec = tiny_spec("long", "iris", epochs=300, batch=1)  # 105 batches an epoch
    app = make_app(write_spec(tmp_path, spec))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: len(screen.curves.epochs) >= 1)
        assert screen.progress.view.steps == 105
        await pilot.press("space")
        await until(pilot, lambda: "⏸ paused in epoch" in screen.log_view.text)
        held = len(screen.curves.epochs)
        await pilot.pause(0.4)
        assert len(screen.curves.epochs) == held and screen.run.paused
        await pilot.press("t")  # already training: the app says so, nothing restarts
        assert any("already running" in n.message for n in app._notifications)
        await pilot.press("space")
        await until(pilot, lambda: "▶ resumed" in screen.log_view.text)
        await until(pilot, lambda: len(screen.curves.epochs) > held)
        session, seen, at_stop = screen.run.session, [], []
        session.subscribe(seen.append)  # every event, batches too, as training publishes them
        stop = session.stop

        def stop_noting_when() -> None:
            at_stop.append(len(seen))
            stop()

        session.stop = stop_noting_when
        await pilot.press("s")
        done = await finish(pilot, screen)
        after = [e for e in seen[at_stop[0] :] if isinstance(e, events.BatchEnded)]
        assert done.reason == "stopped" and len(after) <= 3  # the batch in flight, not the epoch
        assert "■ stopped in epoch" in screen.log_view.text


async def test_a_huge_learning_rate_is_reported_as_diverged(tmp_path):
    spec = Spec(
        name="too_fast",
        data=DataSpec(name="linear", valid_fraction=0.2, features_scale="none"),
        layers=[LayerSpec("Dense", {"units": 1})],
        compile=CompileSpec(optimizer="sgd", learning_rate=10.0, loss="mse", metrics=[]),
        fit=FitSpec(batch_size=16, epochs=20),
    )
    app = make_app(write_spec(tmp_path, spec))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await start(pilot)
        done = await finish(pilot, screen)
        assert done.reason == "nan" and done.epochs_run < 20
        assert "✗ the loss became NaN" in screen.log_view.text
        diagnosis = screen.query_one("#train-diagnosis", Static)
        assert str(diagnosis.render()).startswith("diverged") and diagnosis.has_class("-diverged")
        assert screen.query_one(TrainSummary).border_title == "diverged"


async def test_bad_data_is_said_in_words_and_nothing_trains(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="layerlab")
    spec = tiny_spec("missing")
    spec.data = DataSpec(path="nowhere.csv", target="y")
    app = make_app(write_spec(tmp_path, spec))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: not screen.active)
        await pilot.pause()
        assert not app.training
        text = screen.log_view.text
        assert "✗ cannot train:" in text and "nowhere.csv" in text and "Traceback" not in text
        assert any(n.title == "Cannot train" for n in app._notifications)
        # Bad input goes to the log as one line (layerlab.core.errors.log_failure), without a traceback.
        logged = [r for r in caplog.records if r.getMessage().startswith("preparing the training")]
        assert logged and "nowhere.csv" in logged[0].getMessage() and logged[0].exc_info is None
        assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


async def test_quitting_while_training_asks_then_stops_the_run(tmp_path):
    spec = tiny_spec("endless", "breast_cancer", epochs=2000, batch=8)
    app = make_app(write_spec(tmp_path, spec))
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await start(pilot)
        await until(pilot, lambda: len(screen.curves.epochs) >= 1)
        session = screen.run.session
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog) and app.is_running
        await pilot.press("q")
        await pilot.pause()
    deadline = time.monotonic() + 30
    while session.result is None and time.monotonic() < deadline:
        time.sleep(0.05)
    result = session.result
    assert isinstance(result, events.Finished) and result.reason == "stopped"
    assert result.epochs_run < 2000


def test_events_are_gathered_batches_coalesced_and_read_as_words():
    posted: list[tuple] = []
    feed = Feed(posted.append, lambda gathered: gathered)
    feed(events.RunStarted("", {}, 3, 100))  # not gathered: posted at once
    for epoch in (1, 2):
        feed(events.EpochStarted(epoch))
        for n in range(1, 101):
            feed(events.BatchEnded(epoch, n, 100, 0.5))
        feed(events.EpochEnded(epoch, {"loss": 0.5}, 0.01))
    feed(events.NanDetected(3, 1))  # said at once, with everything gathered before it
    assert len(posted) == 2 and len(posted[0]) == 1
    kinds = [type(e).__name__ for e in posted[1]]
    assert kinds == ["EpochStarted", "BatchEnded", "EpochEnded"] * 2 + ["NanDetected"]
    assert [e.batch for e in posted[1] if e.per_batch] == [100, 100]  # each epoch's latest only
    assert error_words(ValueError("x")) == "ValueError: x"
    logs = {"accuracy": 0.9, "loss": 0.25, "val_accuracy": 0.85, "val_loss": 0.3}
    assert logs_text(logs) == "loss 0.2500 val 0.3000  accuracy 0.9000 val 0.8500"
    ended = events.EpochEnded(7, logs, 0.5, best_epoch=3, wait=4, patience=20)
    assert event_line(ended, 40)[0].startswith("epoch 7/40  loss 0.2500")
    assert "no improvement 4/20" in event_line(ended, 40)[0]
    stopped = events.EarlyStopped(24, 17, True, "val_loss", 0.3)
    assert "weights restored to epoch 17" in event_line(stopped)[0]
    assert event_line(events.BatchEnded(1, 3, 10, 0.5)) is None
    assert [number(v) for v in (0.25, 3.1e-05, 2.6e32, float("nan"))] == [
        "0.2500",
        "3.1e-05",
        "2.6e+32",
        "nan",
    ]
    assert duration(5) == "5 s" and duration(185) == "3:05" and duration(3723) == "1:02:03"


def test_time_left_follows_recent_epochs():
    tracker = ProgressTracker()
    tracker.begin()
    spec = {"early_stopping": True}
    tracker.feed(events.RunStarted("", spec, epochs=10, steps_per_epoch=4, train_samples=400), 0.0)
    for epoch in range(1, 4):
        tracker.feed(events.EpochStarted(epoch), float(epoch))
        tracker.feed(
            events.EpochEnded(epoch, {"loss": 1.0 / epoch}, 2.0 if epoch == 1 else 0.5),
            float(epoch),
        )
    tracker.feed(events.EpochStarted(4), 3.0)
    tracker.feed(events.BatchEnded(4, 2, 4, 0.2), 3.25)
    view = tracker.view(3.25)
    assert view.samples_per_s == 800  # 400 samples in 0.5 s; the first epoch (tracing) left out
    assert view.seconds_left == (10 - 3 - 0.5) * 0.5 and view.at_most


def test_no_tensorflow_line_reaches_the_terminal(tmp_path):
    """The real command in a terminal (a pty), TensorFlow asked to log everything: none of it shows."""
    import fcntl
    import os
    import pty
    import re
    import select
    import struct
    import subprocess
    import sys
    import termios

    spec_path = write_spec(tmp_path, tiny_spec("quiet", epochs=3))
    env = {
        **os.environ,
        "TF_CPP_MIN_LOG_LEVEL": "0",
        "TERM": "xterm-256color",
        "LAYERLAB_STATE": str(tmp_path / "state"),
        "LAYERLAB_RUNS": str(tmp_path / "runs"),
    }
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "layerlab", str(spec_path)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=root,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    raw = bytearray()

    def screen_text() -> str:
        return re.sub(
            r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Z]|.)",
            "",
            raw.decode("utf-8", "replace"),
        )

    def read_until(word: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while word not in screen_text():
            assert time.monotonic() < deadline and proc.poll() is None, f"{word!r} never showed"
            if select.select([master], [], [], 0.1)[0]:
                try:
                    raw.extend(os.read(master, 65536))
                except OSError:
                    break

    try:
        read_until("Keras on")
        os.write(master, b"t")
        read_until("finished:")
        os.write(master, b"q")
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    raw.extend(os.read(master, 65536))
                except OSError:
                    break
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        os.close(master)
    shown = screen_text()
    for word in ("I0000", "oneDNN", "cuda", "tensorflow/", "absl", "WARNING: All log"):
        assert word not in shown, f"{word!r} reached the terminal"
    logged = (tmp_path / "state" / "app.log").read_text(errors="replace")
    assert "oneDNN" in logged or "I0000" in logged  # TensorFlow did log: into the app's log file
