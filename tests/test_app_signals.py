"""The real app under a real pseudo-terminal: a closed terminal, SIGTERM and SIGINT, as users meet them.

Each test starts `python -m layerlab SPEC` as a session leader whose controlling terminal is a pty
(as an SSH login's shell is), types `t`, and watches the run folder the session writes. Closing the
pty's master side is what a dropped SSH connection does: the kernel sends SIGHUP and the terminal
answers no more.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
from layerlab.core import runs
from layerlab.core import spec as specs
from layerlab.core.spec import DataSpec, FitSpec, LayerSpec, Spec
from layerlab.tui import recovery
from layerlab.tui.lifeline import Lifeline
from layerlab.tui.terminal_driver import _Forgiving

from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX terminals and signals")

# Make the pty the child's controlling terminal (it is a new session's leader), then become the app.
CONTROLLING = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
    "os.execv(sys.executable, [sys.executable, '-m', 'layerlab', *sys.argv[1:]])"
)


def iris_spec(epochs: int) -> Spec:
    """A small softmax classifier on iris: a fraction of a second an epoch."""
    return Spec(
        name="iris_signals",
        data=DataSpec(name="iris", seed=0),
        layers=[
            LayerSpec("Dense", {"units": 16, "activation": "relu"}),
            LayerSpec("Dense", {"units": 3, "activation": "softmax"}),
        ],
        fit=FitSpec(batch_size=16, epochs=epochs),
    )


class AppInTerminal:
    """The app in a pseudo-terminal of 100×30, its screen output drained by a thread."""

    def __init__(self, tmp_path: Path, spec_path: Path) -> None:
        self.runs = tmp_path / "runs"
        self.state = tmp_path / "state"
        env = dict(os.environ, LAYERLAB_RUNS=str(self.runs), LAYERLAB_STATE=str(self.state))
        env.update(TERM="xterm-256color", TF_CPP_MIN_LOG_LEVEL="3")
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CONTROLLING, str(spec_path)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.output = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # closed, or the other side hung up
                return
            if not chunk:
                return
            self.output += chunk

    def press(self, key: bytes) -> None:
        os.write(self.master, key)

    def hang_up(self) -> None:
        """What a dropped SSH connection does: the terminal's other side closes."""
        os.close(self.master)
        self.master = -1

    def run_dir(self) -> Path | None:
        found = sorted(self.runs.glob("*/history.csv")) if self.runs.exists() else []
        return found[-1].parent if found else None

    def start_training(self, timeout: float = 60.0) -> Path:
        """Wait for the first frame, press t, and return the run folder once an epoch is in it."""
        wait_for(lambda: b"\x1b[?1049h" in self.output, timeout, "the app never drew")
        deadline = time.monotonic() + timeout
        pressed = 0.0
        while True:
            run = self.run_dir()
            if run is not None and len(history(run)) >= 1:
                return run
            assert self.proc.poll() is None, f"the app ended: {self.proc.returncode}"
            assert time.monotonic() < deadline, "no epoch was written"
            if run is None and time.monotonic() - pressed > 10:
                self.press(b"t")  # again, in case the first came before the app read keys
                pressed = time.monotonic()
            time.sleep(0.1)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.master >= 0:
            os.close(self.master)


def wait_for(condition, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def history(run: Path) -> list[str]:
    """history.csv's epoch rows (its header left out)."""
    try:
        return (run / "history.csv").read_text().splitlines()[1:]
    except FileNotFoundError:
        return []


def event_names(run: Path) -> list[str]:
    lines = (run / "events.jsonl").read_text().splitlines()
    return [json.loads(line)["event"] for line in lines]


def finished(run: Path) -> dict:
    last = json.loads((run / "events.jsonl").read_text().splitlines()[-1])
    assert last["event"] == "finished", last
    return last


def loads_safely(model_path: Path) -> None:
    import keras

    model = keras.saving.load_model(model_path, safe_mode=True)
    assert model.output_shape == (None, 3)


@pytest.fixture
def app_in_terminal(tmp_path):
    apps: list[AppInTerminal] = []

    def start(spec: Spec | None = None, name: str = "iris_signals.toml") -> AppInTerminal:
        path = tmp_path / name
        if spec is not None:
            specs.save(spec, path)
        app = AppInTerminal(tmp_path, path)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.close()


def test_a_closed_terminal_leaves_the_run_to_finish_detached(app_in_terminal):
    epochs = 50
    app = app_in_terminal(iris_spec(epochs))
    run = app.start_training()
    assert len(history(run)) < epochs - 5, "the run is too quick to close the terminal mid-way"
    app.hang_up()
    # The app handles the hangup and leaves once the run is over (killed by it, the status is -1).
    assert app.proc.wait(timeout=90) == 128 + signal.SIGHUP
    done = finished(run)
    assert done["reason"] == "completed" and done["epochs_run"] == epochs
    assert "stopped" not in event_names(run)
    assert len(history(run)) == epochs
    assert "ran every epoch" in (run / "summary.txt").read_text()
    assert runs.read_run(run).status == "completed"  # what the Runs screen shows
    loads_safely(run / "model.keras")
    assert "terminal went away" in (app.state / "app.log").read_text()


@pytest.mark.parametrize(
    ("signum", "detached"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["sigterm", "sigint", "sigterm-after-the-terminal-closed"],
)
def test_sigterm_and_sigint_stop_the_run_as_s_does_and_end_the_app(
    app_in_terminal, signum, detached
):
    app = app_in_terminal(iris_spec(2000))
    run = app.start_training()
    if detached:
        app.hang_up()
        time.sleep(1.0)
        assert app.proc.poll() is None, "the app died with its terminal"
    app.proc.send_signal(signum)
    assert app.proc.wait(timeout=60) == 128 + signum
    assert event_names(run)[-2:] == ["stopped", "finished"]
    assert finished(run)["reason"] == "stopped"
    assert "stopped by the user" in (run / "summary.txt").read_text()
    assert runs.read_run(run).status == "stopped"
    loads_safely(run / "model.keras")


@pytest.mark.parametrize("how", ["hangup", "sigterm"])
def test_a_signal_without_training_ends_the_app_and_keeps_the_unsaved_spec(
    app_in_terminal, monkeypatch, how
):
    app = app_in_terminal(name="not_saved_yet.toml")  # a new experiment, never written
    wait_for(lambda: b"\x1b[?1049h" in app.output, 60, "the app never drew")
    if how == "hangup":
        app.hang_up()
    else:
        app.proc.send_signal(signal.SIGTERM)
    code = 128 + (signal.SIGHUP if how == "hangup" else signal.SIGTERM)
    assert app.proc.wait(timeout=30) == code
    kept = list((app.state / "recovered").glob("*-not_saved_yet.toml"))
    assert len(kept) == 1
    assert specs.load(kept[0]).data.name == "breast_cancer"  # the ready example it started from
    monkeypatch.setenv("LAYERLAB_STATE", str(app.state))  # as the next start reads it
    note = recovery.take_note()
    assert note is not None and str(kept[0]) in note
    assert recovery.take_note() is None  # told once


# -- the parts, without a terminal ------------------------------------------------------------


class FakeSession:
    def __init__(self) -> None:
        self.stopped = 0

    def stop(self) -> None:
        self.stopped += 1


def test_the_lifeline_stops_followed_sessions_and_those_made_after_the_signal():
    lifeline = Lifeline()
    ended: list[int] = []
    lifeline.end_ui = ended.append
    running, done = FakeSession(), FakeSession()
    lifeline.follow(running)
    lifeline.follow(done)
    lifeline.forget(done)
    lifeline.received(signal.SIGTERM)
    assert (running.stopped, done.stopped) == (1, 0)
    assert lifeline.exit_code == 143 and ended == [signal.SIGTERM]
    late = FakeSession()  # its worker was still making it when the signal came
    lifeline.follow(late)
    assert late.stopped == 1
    lifeline.received(signal.SIGINT)
    assert lifeline.exit_code == 130 and ended == [signal.SIGTERM], "the UI ends once"


def test_a_hangup_detaches_once_and_a_later_sigterm_still_stops():
    lifeline = Lifeline()
    ended: list[int] = []
    lifeline.end_ui = ended.append
    session = FakeSession()
    lifeline.follow(session)
    lifeline.received(signal.SIGHUP)
    assert lifeline.detached and lifeline.exit_code == 129 and session.stopped == 0
    lifeline.received(signal.SIGHUP)
    assert ended == [signal.SIGHUP]
    lifeline.received(signal.SIGTERM)
    assert session.stopped == 1 and lifeline.exit_code == 143


def test_the_terminal_driver_drops_writes_once_the_terminal_has_hung_up():
    class DeadTerminal:
        writes = 0

        def write(self, text):
            self.writes += 1
            raise OSError(errno.EIO, "Input/output error")

        def flush(self):
            raise AssertionError("nothing is flushed to a dead terminal")

    dead = DeadTerminal()
    stream = _Forgiving(dead)
    stream.write("\x1b[?1049h")
    stream.write("frame")
    stream.flush()
    assert stream.gone and dead.writes == 1


async def test_the_next_start_tells_what_was_kept(tmp_path):
    from tests.conftest_app import make_app

    kept = recovery.keep(iris_spec(5), tmp_path / "iris.toml")
    assert kept is not None and kept.parent == tmp_path / "state" / "recovered"
    app = make_app(None)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        notes = [n.message for n in app._notifications]
    assert any(str(kept) in note and "iris.toml" in note for note in notes), notes
    assert recovery.take_note() is None


async def test_sigterm_in_the_app_keeps_unsaved_changes_and_exits_143(tmp_path):
    from tests.conftest_app import make_app

    app = make_app(tmp_path / "brand_new.toml")  # does not exist: an unsaved experiment
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.lifeline.received(signal.SIGTERM)
        await pilot.pause(0.3)
    assert app.return_code == 143
    assert len(list((tmp_path / "state" / "recovered").glob("*-brand_new.toml"))) == 1
