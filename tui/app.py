"""The layerlab App: six screens as modes, the app-wide keys, and Keras loading in the background.

This module and the screens import neither keras nor tensorflow (nor pandas, scikit-learn,
core.model or core.data) at module level: the first screen paints first, then a thread worker
loads the engine while the status bar says so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from layerlab.core.errors import log_failure
from layerlab.core.handle import RunHandle, SessionRun
from layerlab.tui import jobs, recovery, startup
from layerlab.tui.dialogs import (
    SAVE_DISCARD_CANCEL,
    Choice,
    ChoiceDialog,
    HelpScreen,
    open_dialog,
    save_dialog,
)
from layerlab.tui.lifeline import Lifeline
from layerlab.tui.messages import FollowRequested, TrainRequested
from layerlab.tui.registry import FIRST_MODE, PLACES
from layerlab.tui.widgets.settings import SettingsPanel
from layerlab.tui.workspace import Workspace
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.worker import Worker, WorkerState

log = logging.getLogger("layerlab")


class LayerlabApp(App[None]):
    """Build, train and look inside Keras models with the keyboard alone."""

    TITLE = "layerlab"
    CSS_PATH = Path(__file__).with_name("app.tcss")
    """Absolute, so subclasses (tests, embedders) find it too."""
    ENABLE_COMMAND_PALETTE = False
    MODES = {place.mode: place.make for place in PLACES}
    DEFAULT_MODE = FIRST_MODE
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        *(
            Binding(
                p.key,
                f"show('{p.mode}')",
                p.title,
                show=False,
                tooltip=f"Go to the {p.title} screen",
            )
            for p in PLACES
        ),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="Show every key"),
        Binding(
            "ctrl+s", "save", "Save", tooltip="Save the spec (TOML); the first time, ask where"
        ),
        Binding("ctrl+o", "open", "Open", tooltip="Open another spec"),
        Binding("t", "train", "Train", tooltip="Train the spec on the Train screen"),
        Binding("q", "quit", "Quit", tooltip="Quit (asks while training or with unsaved changes)"),
        Binding(
            "escape",
            "leave_field",
            "Leave field",
            show=False,
            tooltip="Leave a text field, so that letters and numbers are keys again",
        ),
    ]

    current_run: RunHandle | None = None
    """The run the Train, Inspect and Runs screens show (core.handle): a session training here,
    a folder another process writes, or a finished one. The Train screen sets it when it trains."""

    @property
    def training(self) -> bool:
        """Whether a training session of this process is being prepared or trained (quitting asks)."""
        return isinstance(self.current_run, SessionRun) and self.current_run.live

    engine_status: reactive[str] = reactive("loading Keras…")
    """The status bar's engine words: loading, then the backend and the devices."""

    class EngineLoaded(Message):
        """Keras and the model builder are imported (posted from the engine worker)."""

        def __init__(self, info: jobs.EngineInfo) -> None:
            super().__init__()
            self.info = info

    class EngineFailed(Message):
        """Keras could not be imported (posted from the engine worker)."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(
        self,
        spec_path: str | Path | None = None,
        *,
        engine_probe: Callable[[], jobs.EngineInfo] = jobs.probe_engine,
        watch: Path | None = None,
    ) -> None:
        """Open `spec_path` (None: the last experiment), or follow the run folder `watch`.

        With `watch` the first screen is the Train screen, following the run (`layerlab watch`).
        """
        self.watching = Path(watch) if watch is not None else None
        """The run folder `layerlab watch` follows; None when the app was opened on a spec."""
        if self.watching is not None:
            self.DEFAULT_MODE = "train"  # the first screen painted is the run's
        super().__init__()
        self.engine_probe = engine_probe
        self.engine: jobs.EngineInfo | None = None
        """What the loaded engine runs on; None until it has loaded."""
        self.workspace = Workspace(self)
        """The experiment every screen works on (see tui.workspace)."""
        self.lifeline = Lifeline()
        """What SIGHUP, SIGTERM and SIGINT do; tui.main installs it on the app's loop."""
        # Signals come as the loop's callbacks, outside Textual's context: the app's queue takes them.
        self.lifeline.end_ui = lambda signum: self.call_later(self._end_by_signal)
        self._kept = recovery.take_note()  # before a signal can write a note of its own
        self._start = (
            startup.following(self.watching) if self.watching else startup.choose(spec_path)
        )
        self.workspace.replace(
            self._start.spec, self._start.path, saved=self._start.saved, load=False
        )

    def get_driver_class(self):
        """Textual's terminal driver; on Linux and macOS one that outlives its terminal."""
        driver = super().get_driver_class()
        try:
            from layerlab.tui.terminal_driver import TerminalDriver
            from textual.drivers.linux_driver import LinuxDriver
        except ImportError:  # Windows: no termios, and no SIGHUP either
            return driver
        return TerminalDriver if driver is LinuxDriver else driver

    def on_mount(self) -> None:
        if self._kept:
            self.notify(
                self._kept, title="Unsaved changes were kept", severity="warning", timeout=30
            )
        if self._start.error:
            self.notify(
                self._start.error,
                title="The spec could not be opened",
                severity="error",
                timeout=20,
            )
        elif self._start.note:
            self.notify(self._start.note, timeout=8)
        if self.watching is not None:
            self.call_later(self.follow, self.watching)
        # Start the slow work only once the first frame is on screen: a thread importing
        # TensorFlow holds the GIL long enough to delay that frame.
        self.call_after_refresh(self._start_engine)

    def on_unmount(self) -> None:
        self.lifeline.end_ui = None

    def _end_by_signal(self) -> None:
        """A signal ends the app: unsaved changes are kept; training stops (or, detached, goes on)."""
        try:
            for panel in self.screen.query(SettingsPanel):
                panel.commit()  # what is typed is what is kept
        except Exception:  # nothing may keep a signal from ending the app
            log.exception("committing the settings being typed failed")
        if self.workspace.dirty:
            recovery.keep(self.workspace.spec, self.workspace.path)
        self._exit_once_shown(self.lifeline.exit_code)

    def _exit_once_shown(self, code: int | None) -> None:
        """Exit, but not while the first screen is still being put together (Textual then fails)."""
        try:
            shown = self.screen.is_mounted
        except Exception:  # no screen yet
            shown = False
        if shown:
            self.exit(return_code=code)
        else:
            self.set_timer(0.05, lambda: self._exit_once_shown(code))

    def _start_engine(self) -> None:
        self.load_engine()
        self.workspace.reload_data()

    @work(
        thread=True,
        exclusive=True,
        exit_on_error=False,
        group="engine",
        description="loading Keras",
    )
    def load_engine(self) -> None:
        try:
            info = self.engine_probe()
        except Exception as exc:  # shown as words in the status bar, never as a traceback
            log_failure("loading Keras", exc)
            self.post_message(self.EngineFailed(f"{type(exc).__name__}: {exc}"))
            return
        self.post_message(self.EngineLoaded(info))

    def on_layerlab_app_engine_loaded(self, message: EngineLoaded) -> None:
        self.engine = message.info
        self.engine_status = message.info.label
        self.workspace.set_engine_ready()

    def on_layerlab_app_engine_failed(self, message: EngineFailed) -> None:
        self.engine_status = "✗ Keras did not load"
        self.notify(f"Keras could not be loaded: {message.error}", severity="error", timeout=30)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            worker = event.worker
            if worker.error is not None:
                log_failure(f"the worker {worker.description or worker.name!r}", worker.error)
            self.notify(
                f"{worker.description or worker.name} failed: {worker.error}", severity="error"
            )

    # -- keys ----------------------------------------------------------------------------

    def action_show(self, mode: str) -> None:
        """Switch to one of the six screens."""
        self.switch_mode(mode)

    def action_leave_field(self) -> None:
        """Typing goes to a focused text field; escape hands the keys back to the shell."""
        from textual.widgets import Input, TextArea

        if isinstance(self.focused, Input | TextArea):
            self.screen.set_focus(None)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.screen, self.focused))

    def action_save(self) -> None:
        self._dialog(self._save())

    def action_open(self) -> None:
        self._dialog(self._open())

    async def action_quit(self) -> None:
        self._dialog(self._quit())

    async def action_train(self) -> None:
        """Go to the Train screen and ask it to train the current spec."""
        if self.training:
            self.notify("Training is already running.")
            await self.switch_mode("train")
            return
        report = self.workspace.report  # None while a check runs: the new one may build
        if report is not None and not report.ok:
            self.notify(f"The model cannot be built yet: {report.error}", severity="error")
            return
        await self.switch_mode("train")
        self.screen.post_message(TrainRequested(self.workspace.spec.copy(), self.workspace.path))

    async def follow(self, run_dir: Path) -> None:
        """Show a run folder on the Train screen, following it while another process writes it."""
        await self.switch_mode("train")
        self.screen.post_message(FollowRequested(Path(run_dir)))

    def on_follow_requested(self, message: FollowRequested) -> None:
        """Reached only when no Train screen handled the request."""
        self.notify("The Train screen cannot show runs yet.", severity="warning")

    def on_train_requested(self, message: TrainRequested) -> None:
        """Reached only when no Train screen handled the request."""
        self.notify("The Train screen cannot train yet.", severity="warning")

    # -- dialogs -------------------------------------------------------------------------

    def _dialog(self, flow) -> None:
        self.run_worker(
            flow, group="dialog", exclusive=True, exit_on_error=False, description="a dialog"
        )

    async def _save(self, ask: bool = False) -> bool:
        """Save the spec, asking for a path the first time; True if it was written."""
        workspace = self.workspace
        for panel in self.screen.query(SettingsPanel):
            panel.commit()  # what is typed is what is saved
        path = workspace.path
        if path is None or ask:
            path = await self.push_screen_wait(save_dialog(f"./{workspace.spec.name}.toml"))
            if path is None:
                return False
            current = workspace.path.resolve() if workspace.path else None
            if path.exists() and path.resolve() != current:
                question = f"{path} exists. Overwrite it?"
                answer = await self.push_screen_wait(
                    ChoiceDialog(
                        question,
                        [Choice("o", "overwrite", "Overwrite"), Choice("c", "cancel", "Cancel")],
                    )
                )
                if answer != "overwrite":
                    return False
        try:
            saved = workspace.save(path)
        except OSError as exc:
            log_failure(f"saving the spec to {path}", exc)
            self.notify(
                f"Could not write {path}: {exc.strerror or exc}", severity="error", timeout=15
            )
            return False
        self.notify(f"Saved {saved}")
        return True

    async def _keep_changes(self, doing: str) -> bool:
        """Before `doing` something that drops unsaved changes: True to go on."""
        if not self.workspace.dirty:
            return True
        name = self.workspace.path.name if self.workspace.path else self.workspace.spec.name
        question = f"{name} has unsaved changes. Save them before {doing}?"
        answer = await self.push_screen_wait(
            ChoiceDialog(question, SAVE_DISCARD_CANCEL, "Unsaved changes")
        )
        if answer == "save":
            return await self._save()
        return answer == "discard"

    async def _open(self) -> None:
        from layerlab.core.spec import SpecError

        path = await self.push_screen_wait(open_dialog(self.workspace.path))
        if path is None or not await self._keep_changes("opening another spec"):
            return
        try:
            self.workspace.open(path)
        except SpecError as exc:
            log_failure(f"opening {path}", exc)
            self.notify(exc.message, title="Not opened", severity="error", timeout=20)
            return
        self.notify(f"Opened {path}")

    async def _quit(self) -> None:
        if self.training:
            question = "Training is running. Quit and stop it? The best weights so far are kept in its run folder."
            choices = [Choice("q", "quit", "Quit"), Choice("c", "cancel", "Keep training")]
            if await self.push_screen_wait(ChoiceDialog(question, choices, "Training")) != "quit":
                return
        if await self._keep_changes("quitting"):
            self.exit()
