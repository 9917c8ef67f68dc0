"""The shell: instant start, the six screens by key, help, quitting, files that fail, the command."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import layerlab.tui.main as tui_main
from layerlab.core.handle import SessionRun
from layerlab.tui.app import LayerlabApp
from layerlab.tui.dialogs import ChoiceDialog, HelpScreen
from layerlab.tui.jobs import EngineInfo
from layerlab.tui.messages import TrainRequested
from layerlab.tui.registry import PLACES
from layerlab.tui.screen import ShellScreen
from textual import on
from textual.binding import Binding
from textual.widgets import Static

from tests.conftest_app import fixed_engine, make_app, settle, text_of, write_spec

ROOT = Path(__file__).resolve().parents[1]


async def test_number_keys_reach_every_screen_from_every_screen(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.current_mode == "build"
        for place in (*PLACES, *reversed(PLACES)):
            # A screen may start in a text field: escape hands the keys back to the shell.
            await pilot.press("escape", place.key)
            assert app.current_mode == place.mode
            assert type(app.screen).__name__ == f"{place.title}Screen"
            assert place.title == app.screen.TITLE
            active = app.screen.query_one(".tab.-active", Static)
            assert str(active.render()) == f"{place.key} {place.title}"
        # The mouse works too: a click on a tab.
        await pilot.click("#tab-runs")
        assert app.current_mode == "runs"


async def test_help_lists_every_key(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = text_of(app.screen.query_one("#help-table", Static))
        classes = [type(app), *(place.screen_class() for place in PLACES)]
        keys = [b for cls in classes for b in Binding.make_bindings(cls.BINDINGS)]
        assert len(keys) > 20
        for binding in keys:
            shown = app.get_key_display(Binding(binding.key, binding.action))
            assert shown in text, f"{binding.key} ({binding.description}) is not in the help"
            assert (binding.tooltip or binding.description) in text
        for word in ("Layer palette", "Layer form", "Open and save", "Questions", "Moving around"):
            assert word in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_help_lists_the_keys_of_the_panels_on_screen(tmp_path):
    """The learning curves' own keys (m, l, z) are listed, the focused panel's first."""
    from layerlab.tui.widgets.curves import LearningCurves

    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("escape", "4")
        app.screen.query_one(LearningCurves).focus()
        await pilot.pause()
        await pilot.press("question_mark")
        text = text_of(app.screen.query_one("#help-table", Static))
        first = text.splitlines()[0]
        assert first.startswith("This screen:") and "(focused)" in first
        for binding in Binding.make_bindings(LearningCurves.BINDINGS):
            assert (binding.tooltip or binding.description) in text, binding.key
        assert text.index("This screen:") < text.index("Everywhere")


async def test_every_footer_key_is_readable_at_80_and_100_columns(tmp_path):
    from layerlab.tui.widgets.keys_footer import KeysFooter
    from textual.widgets._footer import FooterKey

    for size in ((80, 24), (100, 30)):
        app = make_app(write_spec(tmp_path))
        async with app.run_test(size=size) as pilot:
            for place in PLACES:
                await pilot.press("escape", place.key)
                await pilot.pause(0.1)
                footer = app.screen.query_one(KeysFooter)
                keys = list(footer.query(FooterKey))
                assert keys, place.title
                for key in keys:
                    needed = len(key.key_display) + len(key.description)
                    assert key.region.right <= footer.region.right, (
                        size,
                        place.title,
                        key.description,
                    )
                    assert key.region.width >= needed, (size, place.title, key.description)


async def test_quit_asks_while_training(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        app.current_run = SessionRun(app.workspace.spec)  # being prepared: a live run
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceDialog) and app.return_code is None
        assert "Training is running" in str(app.screen.query_one("#question", Static).render())
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, ChoiceDialog) and app.is_running
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0


async def test_quit_with_unsaved_changes_asks_and_can_save(tmp_path):
    path = write_spec(tmp_path)
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.return_code is None
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0  # nothing unsaved, not training: no question
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("x", "q")
        await pilot.pause()
        assert "unsaved changes" in str(app.screen.query_one("#question", Static).render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.is_running and app.workspace.dirty
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert app.return_code == 0
    from layerlab.core import spec as specs

    assert len(specs.load(path).layers) == 2


async def test_a_spec_that_fails_to_load_still_opens_the_app(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[layers]]\ntype = 'Dense'\nunits = 'many'\n")
    before = bad.read_bytes()
    app = make_app(bad)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        messages = [n.message for n in app._notifications]
        assert any("layers[0].units" in m and "expected" in m for m in messages), messages
        assert app.workspace.path is None and app.workspace.spec.layers
        assert app.current_mode == "build"
    assert bad.read_bytes() == before


async def test_a_new_file_name_starts_from_the_example(tmp_path):
    app = make_app(tmp_path / "fresh.toml")
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.workspace.path == tmp_path / "fresh.toml" and app.workspace.dirty
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert (tmp_path / "fresh.toml").is_file()


class RecordingTrainScreen(ShellScreen):
    """Stands in for the Train screen: keeps every TrainRequested it gets."""

    MODE = "train"
    TITLE = "Train"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TrainRequested] = []

    @on(TrainRequested)
    def _requested(self, message: TrainRequested) -> None:
        message.stop()
        self.requests.append(message)


class SilentTrainScreen(ShellScreen):
    """A Train screen that does not handle TrainRequested."""

    MODE = "train"


async def test_train_key_switches_to_train_and_requests(tmp_path):
    class TrainingApp(LayerlabApp):
        MODES = {**LayerlabApp.MODES, "train": RecordingTrainScreen}

    app = TrainingApp(write_spec(tmp_path), engine_probe=fixed_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert app.current_mode == "train" and isinstance(screen, RecordingTrainScreen)
        [request] = screen.requests
        assert request.spec.name == "three_dense" and request.path == tmp_path / "three_dense.toml"
        assert request.spec is not app.workspace.spec  # a copy: later edits do not reach the run
        # While training, t only brings the Train screen back.
        app.current_run = SessionRun(app.workspace.spec)  # being prepared: a live run
        await pilot.press("2", "t")
        await pilot.pause()
        assert app.current_mode == "train" and len(screen.requests) == 1
        assert any("already running" in n.message for n in app._notifications)


async def test_train_request_nobody_handles_is_said(tmp_path):
    class UntrainedApp(LayerlabApp):
        MODES = {**LayerlabApp.MODES, "train": SilentTrainScreen}

    app = UntrainedApp(write_spec(tmp_path), engine_probe=fixed_engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("t")
        await pilot.pause()
        assert any("cannot train yet" in n.message for n in app._notifications)


async def test_engine_failure_is_said_in_words(tmp_path):
    def broken() -> EngineInfo:
        raise ImportError("no module named keras (pretend)")

    app = LayerlabApp(write_spec(tmp_path), engine_probe=broken)
    async with app.run_test(size=(100, 30)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.engine_status == "✗ Keras did not load"
        assert any("pretend" in n.message for n in app._notifications)


async def test_status_bar_shows_loading_then_the_backend(tmp_path):
    app = make_app(write_spec(tmp_path))
    async with app.run_test(size=(100, 30)) as pilot:
        engine = app.screen.query_one("#engine", Static)
        await settle(pilot)
        assert str(engine.render()).startswith("Keras on ")
        assert "✓ the model builds" in str(app.screen.query_one("#activity", Static).render())


def test_headless_commands_go_to_core_cli(monkeypatch):
    import layerlab.core.cli

    calls = []
    monkeypatch.setattr(layerlab.core.cli, "main", lambda argv: calls.append(argv) or 7)
    assert tui_main.main(["datasets"]) == 7
    assert calls == [["datasets"]]


FIRST_FRAME = textwrap.dedent(
    """
    import asyncio, importlib.abc, sys, threading

    release = threading.Event()
    imported_by = []

    class Gate(importlib.abc.MetaPathFinder):
        # Holds keras/tensorflow imports until the first screen has been checked.
        def find_spec(self, name, path=None, target=None):
            if name in ("keras", "tensorflow"):
                imported_by.append(threading.current_thread().name)
                release.wait(60)
            return None

    sys.meta_path.insert(0, Gate())
    from layerlab.tui.app import LayerlabApp

    async def main():
        app = LayerlabApp(sys.argv[1])
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            first = (
                "keras" not in sys.modules and "tensorflow" not in sys.modules,
                type(app.screen).__name__,
                app.engine_status,
                len(app.screen.query("LayerTable")),
            )
            release.set()
            await app.workers.wait_for_complete()
            await pilot.pause()
            print("FIRST", *first)
            print("AFTER", "keras" in sys.modules, app.engine_status.startswith("Keras on"))
            print("MAIN_THREAD_IMPORTED", "MainThread" in imported_by)

    asyncio.run(main())
    """
)


def test_first_screen_is_up_before_keras_is_imported(tmp_path):
    spec = write_spec(tmp_path)
    script = tmp_path / "first_frame.py"
    script.write_text(FIRST_FRAME)
    done = subprocess.run(
        [sys.executable, str(script), str(spec)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT)},
    )
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "FIRST" in lines, done.stdout + done.stderr[-3000:]
    assert lines["FIRST"] == "FIRST True BuildScreen loading Keras… 1"
    assert lines["AFTER"] == "AFTER True True"
    assert lines["MAIN_THREAD_IMPORTED"] == "MAIN_THREAD_IMPORTED False"


def test_snapshot_help(tmp_path, snap_compare):
    """The help screen over the builder at 100×30."""
    app = make_app(write_spec(tmp_path))

    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_no_tensorflow_log_line_reaches_the_terminal(tmp_path):
    """The real command in a real pty: the screen shows Keras loaded, and no C++ log line."""
    import fcntl
    import os
    import select
    import signal
    import struct
    import termios
    import time

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the command must quiet TensorFlow by itself
    proc = subprocess.Popen(
        [sys.executable, "-m", "layerlab", str(write_spec(tmp_path))],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    try:
        while b"Keras on" not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    seen += os.read(master, 1 << 16)
                except OSError:
                    break
        time.sleep(1.0)  # TensorFlow logs a little after its import, too
        while select.select([master], [], [], 0.1)[0]:
            try:
                seen += os.read(master, 1 << 16)
            except OSError:
                break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        os.close(master)
    assert b"Keras on" in seen, seen[-2000:]
    for noise in (b"I0000", b"W0000", b"E0000", b"oneDNN", b"cuda", b"absl", b"Traceback"):
        assert noise not in seen
    log = (tmp_path / "state" / "app.log").read_text()
    assert "layerlab starting" in log
