"""`layerlab watch`: the app follows a run folder that a separate process writes, as it grows.

The writer is a real process (core.runs.RunWriter, as the training session uses it) that writes
one epoch each time the test asks, so the test knows what is on disk at each step; a writer
killed with SIGKILL is shown as killed; watching again shows every epoch.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from layerlab.core import events, runs
from layerlab.core.follow import NoRun, find_run
from layerlab.core.handle import FolderRun
from layerlab.core.words import event_line
from layerlab.tui.app import LayerlabApp
from layerlab.tui.jobs import EngineInfo

ROOT = Path(__file__).resolve().parents[1]
NAME = "20260101-120000-tiny"
SPEC = """name = "tiny"
[data]
name = "iris"
[[layers]]
type = "Dense"
units = 3
activation = "softmax"
[fit]
epochs = 6
[fit.early_stopping]
patience = 3
"""
WRITER = r"""
import sys
from pathlib import Path
from layerlab.core import events, runs, spec as specs

run_dir = Path(sys.argv[1])
spec = specs.loads(sys.argv[2])
writer = runs.RunWriter(run_dir, spec)
writer.write_event(events.RunStarted(str(run_dir), spec.summary(), 6, 4, 120, 30))
history = open(run_dir / "history.csv", "a", encoding="utf-8")
if history.tell() == 0:
    history.write("epoch,loss,val_loss\n")
    history.flush()
epoch = int(sys.argv[3])
print("started", flush=True)
for line in sys.stdin:
    if line.strip() == "epoch":
        epoch += 1
        loss, val = 1.0 / epoch, 1.25 / epoch + 0.01 * epoch
        writer.write_event(events.EpochStarted(epoch))
        history.write(f"{epoch - 1},{loss},{val}\n")
        history.flush()
        logs = {"loss": loss, "val_loss": val}
        writer.write_event(events.EpochEnded(epoch, logs, 0.2, epoch, 0, 3))
    elif line.strip() == "end":
        best = {"loss": 1.0 / epoch, "val_loss": 1.25 / epoch + 0.01 * epoch}
        writer.write_event(events.Finished(epoch, epoch, best, str(run_dir)))
        writer.close()
        print("ended", flush=True)
        break
    print(epoch, flush=True)
"""


class Writer:
    """A separate process writing a run folder, an epoch at a time."""

    def __init__(self, run_dir: Path, epochs_before: int = 0):
        self.run_dir = run_dir
        self.process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(run_dir), SPEC, str(epochs_before)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.read() == "started"

    def read(self) -> str:
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip()

    def say(self, line: str) -> str:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.read()

    def epoch(self) -> int:
        return int(self.say("epoch"))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def writer():
    started: list[Writer] = []

    def start(epochs_before: int = 0) -> Writer:
        started.append(Writer(runs.runs_root() / NAME, epochs_before))
        return started[-1]

    yield start
    for each in started:
        each.close()


def quick_engine() -> EngineInfo:
    """The status bar's engine, without importing Keras: following a run does not need it."""
    return EngineInfo("tensorflow", ("CPU",))


def watch_app(given: str | None = None) -> LayerlabApp:
    return LayerlabApp(None, engine_probe=quick_engine, watch=find_run(given))


async def until(pilot, condition, what: str, timeout: float = 15.0) -> None:
    """Pause the app until `condition()` holds (the follower posts within a second of a write)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def shown_epochs(app) -> int:
    return len(app.current_run.history) if isinstance(app.current_run, FolderRun) else 0


def assert_screen_matches_files(app, run_dir: Path) -> None:
    """The curves hold history.csv's numbers; the log holds events.jsonl's events, in words."""
    screen = app.screen
    history = runs.read_history(run_dir / "history.csv")
    curves = screen.curves
    assert curves.epochs == [int(row["epoch"]) + 1 for row in history]
    for key in ("loss", "val_loss"):
        assert all(
            math.isclose(a, b)
            for a, b in zip(curves.series[key], [r[key] for r in history], strict=True)
        )
    written = [events.from_dict(e) for e in runs.read_events(run_dir / "events.jsonl")]
    lines = [event_line(e, 6) for e in written]
    shown = screen.log_view.text
    for worded in lines:
        if worded is not None:
            assert worded[0] in shown


async def test_watch_follows_a_growing_run_to_its_end(writer):
    run = writer()
    run.epoch()
    app = watch_app()  # no argument: the newest run in $LAYERLAB_RUNS
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: shown_epochs(app) == 1, "the first epoch")
        screen = app.screen
        assert screen.MODE == "train" and app.current_run.folder == run.run_dir
        assert app.current_run.live and not app.training  # another process trains it
        for epoch in (2, 3):
            assert run.epoch() == epoch
            await until(pilot, lambda e=epoch: shown_epochs(app) == e, f"epoch {epoch}")
        await pilot.pause(0.3)  # the next repaint shows it
        assert screen.progress.view.epochs_done == 3 and screen.progress.view.epochs == 6
        assert screen.query_one("#train-diagnosis").diagnosis is not None
        assert run.say("end") == "ended"
        await until(pilot, lambda: app.current_run.ending is not None, "the run's end")
        await pilot.pause(0.3)
        assert app.current_run.status == "completed" and not app.current_run.live
        assert screen.has_class("-done")
        assert screen.query_one("#train-summary").border_title == "finished"
        assert_screen_matches_files(app, run.run_dir)
        await pilot.press("s")  # nothing of this process trains: says so, changes nothing
        assert app.current_run.status == "completed"


async def test_a_killed_writer_is_shown_killed_and_watching_again_shows_every_epoch(writer):
    run = writer()
    for _ in range(3):
        run.epoch()
    app = watch_app(str(run.run_dir))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: shown_epochs(app) == 3, "three epochs")
        assert app.current_run.status == "running"
        run.kill()  # SIGKILL: no ending written, the lock goes with the process
        await until(pilot, lambda: app.current_run.status == "killed", "the killed status")
        await until(
            pilot, lambda: app.screen.progress.tracker.view_state.state == "killed", "it said"
        )
        assert app.screen.query_one("#train-summary").border_title == "killed"
        assert "killed" in app.screen.log_view.text
    again = watch_app(str(runs.runs_root()))  # quit, then watch again
    async with again.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: shown_epochs(again) == 3, "every epoch again")
        await until(pilot, lambda: again.screen.has_class("-done"), "killed again")
        assert again.current_run.status == "killed"
        assert_screen_matches_files(again, run.run_dir)


async def test_a_resumed_run_is_shown_again_from_its_start(writer):
    run = writer()
    run.epoch()
    run.epoch()
    app = watch_app(str(run.run_dir))
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: shown_epochs(app) == 2, "two epochs")
        run.kill()
        await until(pilot, lambda: app.current_run.status == "killed", "killed")
        runs.keep_epochs(run.run_dir, 1)  # what --resume does: the events file is written anew
        resumed = writer(epochs_before=1)
        resumed.epoch()
        await until(pilot, lambda: app.current_run.status == "running", "running again")
        await until(pilot, lambda: shown_epochs(app) == 2, "epochs 1 and 2, once each")
        assert [e.epoch for e in app.current_run.events if isinstance(e, events.EpochEnded)] == [
            1,
            2,
        ]
        assert not app.screen.has_class("-done")


def test_find_run_takes_a_run_a_folder_of_runs_or_the_newest_in_runs(tmp_path):
    root = runs.runs_root()
    with pytest.raises(NoRun, match="no runs yet"):
        find_run(None)
    older, newer = root / "20260101-120000-a", root / "20260102-090000-b"
    for folder in (newer, older):
        folder.mkdir(parents=True)
        (folder / "spec.toml").write_text(SPEC)
    assert find_run(None) == newer and find_run(str(root)) == newer
    assert find_run(str(older)) == older
    other = tmp_path / "somewhere"
    other.mkdir()
    with pytest.raises(NoRun, match="no runs in"):
        find_run(str(other))
    with pytest.raises(NoRun, match="is a file, not a run folder"):
        find_run(str(older / "spec.toml"))
    with pytest.raises(NoRun, match="no such folder"):
        find_run(str(tmp_path / "nothing"))


@pytest.mark.parametrize(
    "given, words",
    [
        ("nothing-here", "no such folder: nothing-here"),
        ("a-file.txt", "a-file.txt is a file, not a run folder"),
        ("empty", "no runs in empty"),
    ],
)
def test_watch_with_a_bad_argument_says_so_in_one_line(tmp_path, given, words):
    (tmp_path / "a-file.txt").write_text("not a run\n")
    (tmp_path / "empty").mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "layerlab.tui.main", "watch", given],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT.parent)},
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]
    assert done.stderr.startswith("layerlab watch: ") and words in done.stderr
    assert "Traceback" not in done.stderr
